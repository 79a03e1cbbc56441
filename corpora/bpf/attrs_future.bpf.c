// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: a map definition with an attribute bpfcase (and libbpf
 * 1.1) does not know, `future_knob`, and a malformed known one (`numa_node`
 * spelled with __type), beside a padded-key hash map that must still be read.
 * libbpf refuses unknown attributes by default, so this object only parses.
 *
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c attrs_future.bpf.c -o attrs_future.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct conn_key {
	__u32 addr;
	__u16 port;
	__u8  proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct conn_key);
	__type(value, __u64);
	__uint(max_entries, 16);
	__uint(future_knob, 7);
	__type(numa_node, struct conn_key);
} future SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct conn_key);
	__type(value, __u64);
	__uint(max_entries, 16);
} plain SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int future_on_getpid(void *ctx)
{
	struct conn_key k;
	__u64 one = 1;

	__builtin_memset(&k, 0, sizeof(k));
	bpf_map_update_elem(&future, &k, &one, BPF_ANY);
	bpf_map_update_elem(&plain, &k, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
