// SPDX-License-Identifier: GPL-2.0
/* bpfcase fleet corpus: the canary release of corpora/bpf/flows.bpf.c.
 * Same maps and program; `struct flow_value` gains `last_seen_ns`, so the
 * value grows from 24 to 32 bytes: nodes still on flows.bpf.o run the old
 * layout. Built with:
 *   clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c flows_v2.bpf.c -o flows_v2.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* 16 bytes, align 4: 2-byte hole at offset 6, 3 bytes trailing padding at 13..15 */
struct flow_key {
	__u32 saddr;    /* off 0,  size 4 */
	__u16 sport;    /* off 4,  size 2 */
	/* 2-byte hole (off 6..7) */
	__u32 daddr;    /* off 8,  size 4 */
	__u8  proto;    /* off 12, size 1 */
	/* 3 bytes trailing padding (off 13..15) */
};

/* 16 bytes, align 4: network-byte-order fields, 3 bytes trailing padding */
struct flow_key_be {
	__be32 saddr;   /* off 0  */
	__be32 daddr;   /* off 4  */
	__be16 sport;   /* off 8  */
	__be16 dport;   /* off 10 */
	__u8   proto;   /* off 12 */
	/* 3 bytes trailing padding (off 13..15) */
};

/* v2: 32 bytes, align 8: a 2-byte hole at 22..23, then last_seen_ns */
struct flow_value {
	__u64 packets;       /* off 0  */
	__u64 bytes;         /* off 8  */
	__u32 flags;         /* off 16 */
	__u16 ifindex;       /* off 20 */
	/* 2-byte hole (off 22..23) */
	__u64 last_seen_ns;  /* off 24 */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
	__uint(max_entries, 64);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct flow_key_be);
	__type(value, struct flow_value);
	__uint(max_entries, 32);
} flows_lru SEC(".maps");

/* small, no-prealloc hash: the dump script fills it completely (8/8) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} flows_small SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int flows_on_getpid(void *ctx)
{
	struct flow_key k = {};
	struct flow_key_be kb = {};
	struct flow_value zero = {}, *v;

	k.saddr = 0x0a000001;
	k.sport = 1234;
	k.daddr = 0x0a000002;
	k.proto = 6;
	v = bpf_map_lookup_elem(&flows, &k);
	if (v) {
		__sync_fetch_and_add(&v->packets, 1);
		__sync_fetch_and_add(&v->bytes, 64);
		v->last_seen_ns = bpf_ktime_get_ns();
	} else {
		bpf_map_update_elem(&flows, &k, &zero, BPF_NOEXIST);
	}

	kb.saddr = bpf_htonl(0x0a000001);
	kb.daddr = bpf_htonl(0x0a000002);
	kb.sport = bpf_htons(1234);
	kb.dport = bpf_htons(80);
	kb.proto = 6;
	v = bpf_map_lookup_elem(&flows_lru, &kb);
	if (v)
		v->flags |= 1;
	else
		bpf_map_update_elem(&flows_lru, &kb, &zero, BPF_ANY);

	v = bpf_map_lookup_elem(&flows_small, &k);
	if (v)
		v->ifindex = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
