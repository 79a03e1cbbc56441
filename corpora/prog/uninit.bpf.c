// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus (prog/): programs that hand a map helper key or value bytes
 * they never wrote. Each program is one planted case; see README.md.
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c uninit.bpf.c -o uninit.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* 16 bytes: a 4-byte hole after `pid`, 3 bytes tail padding after `cpu`. */
struct task_key {
	__u32 pid;   /* off 0 */
	/* hole 4..7 */
	__u64 start; /* off 8 */
};

struct task_val {
	__u64 runtime; /* off 0 */
	__u8 state;    /* off 8 */
	/* 7 bytes tail padding 9..15 */
};

/* 8 bytes: hole 2..3 */
struct cpu_key {
	__u16 cpu;   /* off 0 */
	/* hole 2..3 */
	__u32 tgid;  /* off 4 */
};

struct event {
	__u32 pid;      /* off 0 */
	/* hole 4..7 */
	__u64 ts;       /* off 8 */
	char comm[12];  /* off 16 */
	/* tail padding 28..31 */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct task_key);
	__type(value, struct task_val);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct cpu_key);
	__type(value, __u64);
} cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* The bug: the key filled field by field, its hole left as stack garbage;
 * the value's tail padding too. */
SEC("tracepoint/sched/sched_process_fork")
int on_fork(void *ctx)
{
	struct task_key key;
	struct task_val val;

	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.start = bpf_ktime_get_ns();
	val.runtime = 0;
	val.state = 1;
	bpf_map_update_elem(&tasks, &key, &val, BPF_ANY);
	return 0;
}

/* Padding zeroed on one path only: the other path leaves the hole unwritten. */
SEC("tracepoint/sched/sched_switch")
int on_switch(void *ctx)
{
	struct cpu_key key;
	__u64 zero = 0;

	if (bpf_get_smp_processor_id() == 0)
		__builtin_memset(&key, 0, sizeof(key));
	key.cpu = bpf_get_smp_processor_id();
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_map_update_elem(&cpus, &key, &zero, BPF_ANY);
	return 0;
}

/* A record sent to user space with its hole and tail padding unwritten:
 * kernel stack bytes leave the kernel. */
SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct event e;

	e.pid = bpf_get_current_pid_tgid() >> 32;
	e.ts = bpf_ktime_get_ns();
	bpf_probe_read_kernel(e.comm, sizeof(e.comm), ctx);
	bpf_ringbuf_output(&events, &e, sizeof(e), 0);
	return 0;
}

/* A BPF-to-BPF call fills the key but misses the hole. */
static __attribute__((noinline)) void fill_key(struct task_key *k, __u32 pid)
{
	k->pid = pid;
	k->start = 42;
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx)
{
	struct task_key key;

	fill_key(&key, bpf_get_current_pid_tgid() >> 32);
	bpf_map_delete_elem(&tasks, &key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
