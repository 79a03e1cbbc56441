// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: the maps behind corpora/cases/lookups (see README.md).
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c lookups.bpf.c -o lookups.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* 12 bytes, align 4: a 1-byte hole at offset 7 */
struct conn_key {
	__be32 daddr;   /* off 0,  size 4 */
	__be16 dport;   /* off 4,  size 2 */
	__u8   proto;   /* off 6,  size 1 */
	/* 1-byte hole (off 7) */
	__u32  ifindex; /* off 8,  size 4 */
};

struct conn_val {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct conn_key);
	__type(value, struct conn_val);
	__uint(max_entries, 64);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} slots SEC(".maps");

/* preallocated and small: the workload fills it, the next new key gets E2BIG */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4);
} tiny SEC(".maps");

/* Counts a connection per getpid(); loaded, never attached: it only ties
 * the three maps to a program, as a real agent's would be. */
SEC("tracepoint/syscalls/sys_enter_getpid")
int lookups_on_getpid(void *ctx)
{
	struct conn_key k = {};
	struct conn_val *v;
	__u32 slot = 0, one = 1;
	__u64 *s;

	k.daddr = bpf_htonl(0x0a000001);
	k.dport = bpf_htons(443);
	k.proto = 6;
	k.ifindex = 2;
	v = bpf_map_lookup_elem(&conns, &k);
	if (v)
		__sync_fetch_and_add(&v->packets, 1);
	s = bpf_map_lookup_elem(&slots, &slot);
	if (s)
		__sync_fetch_and_add(s, 1);
	bpf_map_update_elem(&tiny, &one, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
