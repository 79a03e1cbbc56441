// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: a user-space agent whose map calls go wrong in known ways
 * (see README.md). Loads lookups.bpf.o with libbpf, prints "PID ready",
 * then every 100 ms makes one round of calls, for SECONDS (default 30);
 * a few entries change every round, so snapshots of the maps differ.
 * Given STALE_PIN, the path of a `conns` map pinned by an earlier load of
 * the object, it also writes and reads its entry there: an agent that
 * still opens the old pin after the program was reloaded.
 *
 * Built with: cc -O2 -g -Wall workload.c -lbpf -o workload
 * Run:        ./workload lookups.bpf.o [SECONDS [STALE_PIN]]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct conn_key {
	__be32 daddr;
	__be16 dport;
	__u8 proto;
	/* 1-byte hole (off 7) */
	__u32 ifindex;
};

struct conn_val {
	__u64 packets;
	__u64 bytes;
};

static int conns, slots, tiny, stale = -1;

/* A key with every byte set, padding zeroed: what a careful caller passes. */
static struct conn_key base_key(__u32 daddr, __u16 dport, __u8 proto)
{
	struct conn_key k;

	memset(&k, 0, sizeof(k));
	k.daddr = htonl(daddr);
	k.dport = htons(dport);
	k.proto = proto;
	k.ifindex = 2;
	return k;
}

static void one_round(unsigned int round)
{
	struct conn_val v = { .packets = 1, .bytes = 64 };
	struct conn_key a = base_key(0x0a000001, 443, 6);
	struct conn_key k;
	__u64 slot_val;
	__u32 idx, t, tv = 1;

	/* the entry every miss below is about */
	bpf_map_update_elem(conns, &a, &v, BPF_ANY);

	/* 1. same fields, garbage in the hole at offset 7 (a struct not zeroed) */
	k = a;
	((unsigned char *)&k)[7] = 0xa5;
	bpf_map_lookup_elem(conns, &k, &v);

	/* 2. the port in host order: the program stores it with bpf_htons */
	k = a;
	k.dport = 443;
	bpf_map_lookup_elem(conns, &k, &v);

	/* 3. inserted, deleted, then looked up */
	k = base_key(0x0a000002, 443, 6);
	bpf_map_update_elem(conns, &k, &v, BPF_ANY);
	bpf_map_delete_elem(conns, &k);
	bpf_map_lookup_elem(conns, &k, &v);

	/* 4. never inserted */
	k = base_key(0xc0a80001, 53, 17);
	bpf_map_lookup_elem(conns, &k, &v);

	/* 5. array indexes past max_entries (8), and one inside */
	idx = 8;
	bpf_map_lookup_elem(slots, &idx, &slot_val);
	idx = 1000;
	bpf_map_lookup_elem(slots, &idx, &slot_val);
	idx = 3;
	bpf_map_lookup_elem(slots, &idx, &slot_val);

	/* 6. fill tiny (4 entries), then one key more: E2BIG */
	for (t = 0; t < 4; t++)
		bpf_map_update_elem(tiny, &t, &tv, BPF_ANY);
	t = 99;
	bpf_map_update_elem(tiny, &t, &tv, BPF_ANY);

	/* 7. create-only update of a key that exists: EEXIST */
	bpf_map_update_elem(conns, &a, &v, BPF_NOEXIST);

	/* 8. and the lookup that works */
	bpf_map_lookup_elem(conns, &a, &v);

	/* 9. state that moves, so snapshots differ: slot round % 8 counts
	 * rounds; in conns, key 10.2.0.(round % 16):8080 is written (its
	 * value counts rounds) and the key written 8 rounds ago is deleted */
	idx = round % 8;
	slot_val = round;
	bpf_map_update_elem(slots, &idx, &slot_val, BPF_ANY);
	k = base_key(0x0a020000 + round % 16, 8080, 6);
	v.packets = round;
	v.bytes = 64ULL * round;
	bpf_map_update_elem(conns, &k, &v, BPF_ANY);
	if (round >= 8) {
		k = base_key(0x0a020000 + (round + 8) % 16, 8080, 6);
		bpf_map_delete_elem(conns, &k);
	}

	/* 10. the old instance, through its pin */
	if (stale >= 0) {
		bpf_map_update_elem(stale, &a, &v, BPF_ANY);
		bpf_map_lookup_elem(stale, &a, &v);
	}
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct timespec start, now;
	double seconds;
	unsigned int round = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s lookups.bpf.o [SECONDS [STALE_PIN]]\n", argv[0]);
		return 2;
	}
	seconds = argc > 2 ? atof(argv[2]) : 30;
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "workload: cannot load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	conns = bpf_object__find_map_fd_by_name(obj, "conns");
	slots = bpf_object__find_map_fd_by_name(obj, "slots");
	tiny = bpf_object__find_map_fd_by_name(obj, "tiny");
	if (conns < 0 || slots < 0 || tiny < 0) {
		fprintf(stderr, "workload: maps missing from %s\n", argv[1]);
		return 1;
	}
	if (argc > 3) {
		stale = bpf_obj_get(argv[3]);
		if (stale < 0) {
			fprintf(stderr, "workload: cannot open %s: %s\n", argv[3], strerror(errno));
			return 1;
		}
	}
	printf("%d ready\n", getpid());
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		one_round(round++);
		usleep(100 * 1000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
	bpf_object__close(obj);
	return 0;
}
