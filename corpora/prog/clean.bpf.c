// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus (prog/): programs whose keys and values are fully written
 * before every map helper reads them. `bpfcase analyze` must stay silent.
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c clean.bpf.c -o clean.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct task_key {
	__u32 pid;   /* off 0 */
	/* hole 4..7 */
	__u64 start; /* off 8 */
};

struct task_val {
	__u64 runtime;
	__u8 state;
};

struct comm_key {
	char comm[16];
};

struct event {
	__u32 pid;
	__u64 ts;
	char comm[12];
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
	__type(key, struct comm_key);
	__type(value, __u64);
} comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct task_key);
	__type(value, struct task_key);
} links SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* `= {}`: every byte written, padding included. */
SEC("tracepoint/sched/sched_process_fork")
int on_fork(void *ctx)
{
	struct task_key key = {};
	struct task_val val = {};

	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.start = bpf_ktime_get_ns();
	val.state = 1;
	bpf_map_update_elem(&tasks, &key, &val, BPF_ANY);
	return 0;
}

/* memset, then a bounded loop of lookups. */
SEC("tracepoint/sched/sched_switch")
int on_switch(void *ctx)
{
	struct task_key key;
	struct task_val *v;

	__builtin_memset(&key, 0, sizeof(key));
	key.pid = bpf_get_current_pid_tgid() >> 32;
#pragma clang loop unroll(disable)
	for (int i = 0; i < 8; i++) {
		key.start = i;
		v = bpf_map_lookup_elem(&tasks, &key);
		if (v)
			v->runtime++;
	}
	return 0;
}

/* Keys filled by helpers: get_current_comm and probe_read_kernel. */
SEC("kprobe/do_exit")
int on_exit(void *ctx)
{
	struct comm_key ck;
	struct task_key tk;
	__u64 one = 1;

	bpf_get_current_comm(&ck.comm, sizeof(ck.comm));
	bpf_map_update_elem(&comms, &ck, &one, BPF_ANY);
	bpf_probe_read_kernel(&tk, sizeof(tk), ctx);
	bpf_map_delete_elem(&tasks, &tk);
	return 0;
}

/* A pointer into a map value used as a key: not on the stack, not analysed. */
SEC("kprobe/do_fork")
int on_link(void *ctx)
{
	struct task_key key = {};
	struct task_key *next;

	next = bpf_map_lookup_elem(&links, &key);
	if (next)
		bpf_map_delete_elem(&tasks, next);
	return 0;
}

/* A BPF-to-BPF call fills the whole key. */
static __attribute__((noinline)) void fill_key(struct task_key *k, __u32 pid)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->pid = pid;
}

SEC("kprobe/do_wait")
int on_wait(void *ctx)
{
	struct task_key key;
	struct event e = {};

	fill_key(&key, bpf_get_current_pid_tgid() >> 32);
	bpf_map_delete_elem(&tasks, &key);
	e.pid = key.pid;
	bpf_ringbuf_output(&events, &e, sizeof(e), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
