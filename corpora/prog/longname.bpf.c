// SPDX-License-Identifier: GPL-2.0
/* Map names longer than the kernel keeps. libbpf creates a map under the
 * first 15 bytes of its name (BPF_OBJ_NAME_LEN is 16 with the NUL), so the
 * live maps of this object are `established_ses` and, twice,
 * `conntrack_flows`: analyze ties the first to this object's
 * `established_sessions` (one 15-byte copy, same type and sizes), and
 * leaves the two `conntrack_flows_by_tuple*` apart (their copies collide).
 * Written in the shape of a libbpf-tools program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct session_key {
	__u32 saddr;
	__u16 sport;
	__u8 proto; /* one byte of tail padding follows */
};

struct tuple4 {
	__u32 saddr, daddr;
	__u16 sport, dport;
};

struct tuple6 {
	__u8 saddr[16], daddr[16];
	__u16 sport, dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct session_key);
	__type(value, __u64);
} established_sessions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tuple4);
	__type(value, __u64);
} conntrack_flows_by_tuple SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tuple6);
	__type(value, __u64);
} conntrack_flows_by_tuple6 SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	struct session_key s = {};
	struct tuple4 t4 = {};
	struct tuple6 t6 = {};
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 one = 1;

	s.saddr = pid_tgid >> 32;
	s.sport = (__u16)pid_tgid;
	s.proto = 6;
	bpf_map_update_elem(&established_sessions, &s, &one, BPF_ANY);
	t4.saddr = pid_tgid >> 32;
	bpf_map_update_elem(&conntrack_flows_by_tuple, &t4, &one, BPF_ANY);
	t6.sport = (__u16)pid_tgid;
	bpf_map_update_elem(&conntrack_flows_by_tuple6, &t6, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
