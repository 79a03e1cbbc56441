// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: the maps behind corpora/cases/growing (see README.md).
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c growing.bpf.c -o growing.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* 16 bytes, align 8: a 3-byte hole at offset 5 */
struct task_key {
	__u32 pid;      /* off 0, size 4 */
	__u8  state;    /* off 4, size 1 */
	/* 3-byte hole (off 5..7) */
	__u64 start_ns; /* off 8, size 8 */
};

/* Entries per task, meant to be removed when the task exits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct task_key);
	__type(value, __u64);
	__uint(max_entries, 2048);
} tasks SEC(".maps");

/* The same churn, removed correctly: stays level. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct task_key);
	__type(value, __u64);
	__uint(max_entries, 2048);
} sessions SEC(".maps");

/* Small on purpose: full, evicting. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u64);
	__type(value, __u64);
	__uint(max_entries, 128);
} recent SEC(".maps");

/* Counts a task per getpid(); loaded, never attached: it only ties the
 * maps to a program, as a real agent's would be. */
SEC("tracepoint/syscalls/sys_enter_getpid")
int growing_on_getpid(void *ctx)
{
	struct task_key k = {};
	__u64 one = 1, now = bpf_ktime_get_ns();

	k.pid = bpf_get_current_pid_tgid() >> 32;
	k.start_ns = now;
	bpf_map_update_elem(&tasks, &k, &one, BPF_ANY);
	bpf_map_update_elem(&sessions, &k, &one, BPF_ANY);
	bpf_map_update_elem(&recent, &now, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
