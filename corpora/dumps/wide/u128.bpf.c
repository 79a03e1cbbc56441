#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct wide { unsigned __int128 a; __int128 b; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, struct wide); } wide_map SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_getpid") int p(void *ctx) { __u32 k = 0; struct wide *w = bpf_map_lookup_elem(&wide_map, &k); if (w) w->a++; return 0; }
char LICENSE[] SEC("license") = "GPL";
