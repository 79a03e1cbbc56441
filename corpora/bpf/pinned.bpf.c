// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: a LIBBPF_PIN_BY_NAME map and a map-in-map
 * (array_of_maps with __array(values, ...) statically initialised).
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c pinned.bpf.c -o pinned.bpf.o
 *
 * NOTE: libbpf pins 'bpfcase_pinned' at <pin_root>/bpfcase_pinned
 * (default pin root /sys/fs/bpf) at load time; this conflicts with
 * 'bpftool prog loadall ... pinmaps DIR' (libbpf: "already has pin path ...
 * different from ..."), so make-dumps.sh loads this object WITHOUT pinmaps.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* same layout as flows.bpf.c: 16 bytes, hole at 6..7, padding 13..15 */
struct flow_key {
	__u32 saddr;
	__u16 sport;
	__u32 daddr;
	__u8  proto;
};

/* same layout as flows.bpf.c: 24 bytes, padding 22..23 */
struct flow_value {
	__u64 packets;
	__u64 bytes;
	__u32 flags;
	__u16 ifindex;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bpfcase_pinned SEC(".maps");

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [1] = &inner_b },
};

SEC("tracepoint/syscalls/sys_enter_getpid")
int pinned_on_getpid(void *ctx)
{
	__u32 idx = 1, slot = 0;
	struct flow_key k = {};
	struct flow_value *v;
	__u64 *cnt;
	void *inner;

	k.proto = 17;
	v = bpf_map_lookup_elem(&bpfcase_pinned, &k);
	if (v)
		v->packets++;

	inner = bpf_map_lookup_elem(&outer, &idx);
	if (inner) {
		cnt = bpf_map_lookup_elem(inner, &slot);
		if (cnt)
			(*cnt)++;
	}
	cnt = bpf_map_lookup_elem(&inner_a, &slot);
	if (cnt)
		(*cnt)++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
