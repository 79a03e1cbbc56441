// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus (prog/): event records reserved in a ring buffer with
 * bpf_ringbuf_reserve, filled through the returned pointer and submitted.
 * One is planted (its hole and tail padding never written); the others are
 * written whole and must stay silent. See README.md.
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c ringbuf.bpf.c -o ringbuf.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* 40 bytes: a 4-byte hole after `pid`, 7 bytes tail padding after `kind`. */
struct event {
	__u32 pid;     /* off 0 */
	/* hole 4..7 */
	__u64 ts;      /* off 8 */
	char comm[16]; /* off 16 */
	__u8 kind;     /* off 32 */
	/* tail padding 33..39 */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* The bug: the record filled field by field in the ring, its hole and tail
 * padding left as whatever the ring held before (an earlier record). */
SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->kind = 1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Clean: the record zeroed with memset before its fields are filled. */
SEC("tracepoint/sched/sched_process_fork")
int on_fork(void *ctx)
{
	struct event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->kind = 2;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Clean: the record assigned whole from `= {}`, then filled. */
SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx)
{
	struct event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	*e = (struct event){};
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->kind = 3;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Clean: discarded unwritten on one path (nothing leaves the kernel),
 * zeroed and submitted on the other. */
SEC("tracepoint/sched/sched_switch")
int on_switch(void *ctx)
{
	struct event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	if (bpf_get_smp_processor_id() != 0) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = 4;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
