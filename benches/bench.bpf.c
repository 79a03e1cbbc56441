// The benchmark map of `just bench-map`: a 1,000,000-entry hash map whose
// key (12 bytes) has a 2-byte hole and whose value is 24 bytes, with BTF so
// that bpftool prints `formatted` entries.
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

struct bench_key {
	__u32 saddr;
	__u16 sport;
	/* 2-byte hole */
	__u32 daddr;
};

struct bench_value {
	__u64 packets;
	__u64 bytes;
	__u32 flags;
	__u16 ifindex;
	/* 2 bytes trailing padding */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1000000);
	__type(key, struct bench_key);
	__type(value, struct bench_value);
} bench_flows SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int bench_touch(void *ctx)
{
	struct bench_key k = {};
	struct bench_value *v = bpf_map_lookup_elem(&bench_flows, &k);
	if (v)
		__sync_fetch_and_add(&v->packets, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
