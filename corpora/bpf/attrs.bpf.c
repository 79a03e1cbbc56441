// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: every libbpf map attribute beside a padded-key hash map.
 *
 * - `arena`: BPF_MAP_TYPE_ARENA (33) with `__ulong(map_extra, ...)`, which
 *   libbpf >= 1.4 encodes as a one-enumerator ENUM (not a pointer to an
 *   array); Debian's libbpf-dev 1.1 headers lack the macro, so it is defined
 *   here as libbpf defines it. clang 14 has no ENUM64: a value must fit 32 bits.
 * - `bloom`: BPF_MAP_TYPE_BLOOM_FILTER with `__uint(map_extra, 3)` (number of
 *   hash functions, the pointer-to-array encoding), no key.
 * - `conns`: hash map with a padded key (`struct conn_key`, 1 byte of
 *   trailing padding), `numa_node`, `BPF_F_NUMA_NODE`, `pinning`.
 * - `sized`: key_size/value_size given as numbers, no BTF types.
 * - `outer`: hash-of-maps with an inner map definition `__array(values, ...)`.
 * - `states`: array whose value is an enum (a scalar value type).
 *
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c attrs.bpf.c -o attrs.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef __ulong
#define __ulong(name, val) enum { ___bpf_concat(__unique_value, __COUNTER__) = val } name
#endif

#define MAP_TYPE_ARENA 33

struct {
	__uint(type, MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2); /* pages */
	__ulong(map_extra, 0x40000000); /* user-space address of the arena */
} arena SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__type(value, __u32);
	__uint(max_entries, 64);
	__uint(map_extra, 3); /* hash functions */
} bloom SEC(".maps");

/* 8 bytes: addr 0..3, port 4..5, proto 6, 1 byte trailing padding at 7 */
struct conn_key {
	__u32 addr;
	__u16 port;
	__u8  proto;
};

struct conn_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct conn_key);
	__type(value, struct conn_value);
	__uint(max_entries, 32);
	__uint(map_flags, BPF_F_NUMA_NODE);
	__uint(numa_node, 0);
	__uint(pinning, LIBBPF_PIN_NONE);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 12);
	__uint(max_entries, 4);
} sized SEC(".maps");

struct inner_def {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_def);
} outer SEC(".maps");

enum conn_state {
	CONN_NEW = 0,
	CONN_ESTABLISHED = 1,
	CONN_CLOSED = 2,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, enum conn_state);
	__uint(max_entries, 4);
} states SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int attrs_on_getpid(void *ctx)
{
	struct conn_key k;
	struct conn_value v = { .packets = 1, .bytes = 64 };
	__u32 idx = 0, h = 7;
	void *inner;
	enum conn_state st = CONN_ESTABLISHED;

	__builtin_memset(&k, 0, sizeof(k));
	k.addr = 0x0100007f;
	k.port = 80;
	k.proto = 6;
	bpf_map_update_elem(&conns, &k, &v, BPF_ANY);
	bpf_map_update_elem(&states, &idx, &st, BPF_ANY);
	bpf_map_push_elem(&bloom, &h, BPF_ANY);
	if (bpf_map_lookup_elem(&sized, &idx))
		h++;
	inner = bpf_map_lookup_elem(&outer, &idx);
	if (inner)
		bpf_map_lookup_elem(inner, &idx);
	return h == 0 ? bpf_map_lookup_elem(&arena, &idx) != 0 : 0;
}

char LICENSE[] SEC("license") = "GPL";
