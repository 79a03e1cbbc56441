// Fills the pinned benchmark map with N deterministic entries using
// BPF_MAP_UPDATE_BATCH. Every 1000th key carries garbage in its 2-byte hole,
// so the padding analyses have something to find in the benchmark too.
// Usage: fillmap PINNED_PATH N
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

struct bench_key { __u32 saddr; __u16 sport; __u16 hole; __u32 daddr; };
struct bench_value { __u64 packets; __u64 bytes; __u32 flags; __u16 ifindex; __u16 pad; };

#define CHUNK 10000

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s PINNED_MAP N\n", argv[0]);
		return 2;
	}
	int fd = bpf_obj_get(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "bpf_obj_get(%s): %s\n", argv[1], strerror(errno));
		return 1;
	}
	long n = atol(argv[2]);
	static struct bench_key keys[CHUNK];
	static struct bench_value vals[CHUNK];
	for (long base = 0; base < n; base += CHUNK) {
		__u32 count = 0;
		for (long i = base; i < n && i < base + CHUNK; i++, count++) {
			struct bench_key *k = &keys[count];
			struct bench_value *v = &vals[count];
			memset(k, 0, sizeof(*k));
			memset(v, 0, sizeof(*v));
			k->saddr = 0x0a000000u + (__u32)i;
			k->sport = (__u16)(i % 65536);
			k->hole = (i % 1000 == 0) ? 0xdead : 0;
			k->daddr = 0xc0a80000u + (__u32)(i / 7);
			v->packets = (__u64)i;
			v->bytes = (__u64)i * 1500;
			v->flags = (__u32)(i & 0xff);
			v->ifindex = (__u16)(1 + i % 4);
		}
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		int err = bpf_map_update_batch(fd, keys, vals, &count, &opts);
		if (err) {
			fprintf(stderr, "update_batch at %ld: %s\n", base, strerror(errno));
			return 1;
		}
	}
	printf("filled %ld entries\n", n);
	return 0;
}
