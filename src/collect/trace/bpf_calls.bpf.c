// SPDX-License-Identifier: GPL-2.0
/*
 * bpfcase collect --trace-pid: records the bpf() map element calls of the
 * target processes. Loaded by src/collect/trace/loader.rs (no libbpf at run
 * time); rebuild the checked-in object with `just trace-bpf`.
 *
 * At syscall entry the call (command, fd, flags, key and value bytes read
 * from the caller's memory) is saved per thread; at exit the return value is
 * added and the record handed to user space through a ring buffer. Two
 * attaches share that body: raw tracepoints sys_enter/sys_exit (the default,
 * no tracefs needed) and the tracefs syscall tracepoints (the fallback). Records are
 * fixed-size `struct call` (576 bytes), whose layout src/collect/trace/event.rs
 * parses: keep the two in step.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CAPTURE 256
#define MAX_TARGETS 64
#define MAX_INFLIGHT 4096

/* bpf(2) commands traced (uapi enum bpf_cmd). */
#define CMD_LOOKUP 1
#define CMD_UPDATE 2
#define CMD_DELETE 3
#define CMD_GET_NEXT_KEY 4
#define CMD_LOOKUP_AND_DELETE 21

struct call {
	__u64 time_ns;   /* bpf_ktime_get_ns() at entry */
	__s64 ret;       /* syscall return value */
	__u64 flags;     /* attr->flags */
	__u32 pid;       /* tgid */
	__u32 tid;
	__u32 cmd;
	__s32 map_fd;
	__u16 key_len;   /* key bytes captured */
	__u16 value_len; /* value bytes captured */
	__u8 key_ok;     /* 1 when key[] holds key_len bytes read from the caller */
	__u8 value_ok;
	__u8 _pad[2];
	char comm[16];
	__u8 key[CAPTURE];
	__u8 value[CAPTURE];
};
_Static_assert(sizeof(struct call) == 576, "layout shared with event.rs");

/* Traced thread group ids, filled by user space before attaching. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* Calls between enter and exit, by thread id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, struct call);
} inflight SEC(".maps");

/* One struct call per CPU to build a record in: it is over the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct call);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* Calls that could not be recorded (ring buffer or inflight map full). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/*
 * How the raw tracepoint programs find the syscall's number and arguments in
 * the `struct pt_regs` the kernel hands them: filled by user space (loader)
 * before attaching, from the running kernel's BTF or the architecture's
 * fixed layout. The tracefs tracepoint programs do not use it.
 */
struct config {
	__u64 nr_bpf;   /* the bpf syscall's number on this architecture */
	__u32 off_arg0; /* pt_regs offsets of the first three syscall arguments */
	__u32 off_arg1;
	__u32 off_arg2;
	__u32 off_nr;   /* pt_regs offset of the syscall number (4 bytes read) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} config SEC(".maps");

/*
 * Tracepoint records (/sys/kernel/tracing/events/syscalls/sys_{enter,exit}_bpf/format):
 * 8 bytes of common fields, __syscall_nr at 8, then each argument in 8 bytes
 * from offset 16. The loader checks these offsets against the format files.
 */
struct enter_ctx {
	__u64 common;
	__s64 syscall_nr;
	__u64 cmd;   /* offset 16 */
	__u64 uattr; /* offset 24 */
	__u64 size;  /* offset 32 */
};

struct exit_ctx {
	__u64 common;
	__s64 syscall_nr;
	__s64 ret; /* offset 16 */
};

/* The BPF_MAP_*_ELEM part of union bpf_attr. */
struct elem_attr {
	__u32 map_fd;
	__u32 pad;
	__u64 key;
	__u64 value;
	__u64 flags;
};

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/*
 * Reads up to CAPTURE bytes of a key or value. A read that crosses into an
 * unmapped page fails as a whole, and the caller's buffer is usually much
 * shorter than CAPTURE, so shorter reads are tried in turn.
 */
static __always_inline __u16 read_user(__u8 *dst, __u64 src)
{
	const void *p = (const void *)src;

	if (bpf_probe_read_user(dst, CAPTURE, p) == 0)
		return CAPTURE;
	if (bpf_probe_read_user(dst, 64, p) == 0)
		return 64;
	if (bpf_probe_read_user(dst, 16, p) == 0)
		return 16;
	if (bpf_probe_read_user(dst, 8, p) == 0)
		return 8;
	if (bpf_probe_read_user(dst, 4, p) == 0)
		return 4;
	if (bpf_probe_read_user(dst, 1, p) == 0)
		return 1;
	return 0;
}

/* A bpf(cmd, uattr, size) call is entering: save it if it is a traced
 * process's map element call. */
static __always_inline void on_enter(__u64 cmd64, __u64 uattr, __u64 size)
{
	/* The syscall's cmd is an int: only the low 32 bits count. */
	__u32 cmd = (__u32)cmd64;
	__u64 id;
	__u32 tgid, tid, zero = 0;
	struct elem_attr a = {};
	struct call *c;

	if (cmd != CMD_LOOKUP && cmd != CMD_UPDATE && cmd != CMD_DELETE &&
	    cmd != CMD_GET_NEXT_KEY && cmd != CMD_LOOKUP_AND_DELETE)
		return;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	tid = (__u32)id;
	if (!bpf_map_lookup_elem(&targets, &tgid))
		return;
	c = bpf_map_lookup_elem(&scratch, &zero);
	if (!c)
		return;

	c->time_ns = bpf_ktime_get_ns();
	c->ret = 0;
	c->pid = tgid;
	c->tid = tid;
	c->cmd = cmd;
	c->key_len = 0;
	c->value_len = 0;
	c->key_ok = 0;
	c->value_ok = 0;
	bpf_get_current_comm(c->comm, sizeof(c->comm));

	/*
	 * The caller passes `size` bytes of attr; the kernel treats the rest
	 * as zero. Read the 32 bytes we need, or a shorter prefix when the
	 * attr sits at the end of a page, and zero what lies past `size`.
	 */
	if (bpf_probe_read_user(&a, 32, (const void *)uattr) != 0 &&
	    bpf_probe_read_user(&a, 24, (const void *)uattr) != 0 &&
	    bpf_probe_read_user(&a, 16, (const void *)uattr) != 0 &&
	    bpf_probe_read_user(&a, 8, (const void *)uattr) != 0)
		a.map_fd = (__u32)-1;
	if (size < 32)
		a.flags = 0;
	if (size < 24)
		a.value = 0;
	if (size < 16)
		a.key = 0;
	c->map_fd = (__s32)a.map_fd;
	c->flags = a.flags;

	/* GET_NEXT_KEY with a NULL key asks for the first key: no key bytes. */
	if (a.key) {
		c->key_len = read_user(c->key, a.key);
		c->key_ok = c->key_len > 0;
	}
	if (cmd == CMD_UPDATE && a.value) {
		c->value_len = read_user(c->value, a.value);
		c->value_ok = c->value_len > 0;
	}
	if (bpf_map_update_elem(&inflight, &tid, c, BPF_ANY) != 0)
		count_lost();
}

/* A bpf() call is returning `ret`: hand its saved record to user space. */
static __always_inline void on_exit(__s64 ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call *c = bpf_map_lookup_elem(&inflight, &tid);

	if (!c)
		return;
	c->ret = ret;
	/* Only updates carry a value: other calls leave the value slot out of
	 * the record, so the ring holds nearly twice as many of them. */
	__u32 n = offsetof(struct call, value);
	if (c->value_ok)
		n += c->value_len & (2 * CAPTURE - 1);
	if (n > sizeof(*c))
		n = sizeof(*c);
	if (bpf_ringbuf_output(&events, c, n, 0) != 0)
		count_lost();
	bpf_map_delete_elem(&inflight, &tid);
}

/*
 * The default attach: raw tracepoints on every syscall's entry and exit.
 * They need no tracefs (absent on a new machine and in most pods) and no
 * tracepoint id; the price is that they run on every syscall of the node,
 * so the first thing each does is compare the syscall number.
 * args[0] is the caller's `struct pt_regs *`; args[1] the syscall number at
 * entry and the return value at exit.
 */
SEC("raw_tracepoint/sys_enter")
int bpf_calls_raw_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	const __u8 *regs = (const __u8 *)ctx->args[0];
	__u64 cmd = 0, uattr = 0, size = 0;

	if (!cfg || ctx->args[1] != cfg->nr_bpf)
		return 0;
	if (bpf_probe_read_kernel(&cmd, 8, regs + (cfg->off_arg0 & 0xfff)) != 0 ||
	    bpf_probe_read_kernel(&uattr, 8, regs + (cfg->off_arg1 & 0xfff)) != 0 ||
	    bpf_probe_read_kernel(&size, 8, regs + (cfg->off_arg2 & 0xfff)) != 0)
		return 0;
	on_enter(cmd, uattr, size);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int bpf_calls_raw_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0, nr = 0;
	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	const __u8 *regs = (const __u8 *)ctx->args[0];

	if (!cfg)
		return 0;
	if (bpf_probe_read_kernel(&nr, 4, regs + (cfg->off_nr & 0xfff)) != 0 ||
	    nr != cfg->nr_bpf)
		return 0;
	on_exit((__s64)ctx->args[1]);
	return 0;
}

/* The fallback attach, where raw tracepoints cannot be used: the syscall
 * tracepoints of tracefs, which fire for bpf() only. */
SEC("tracepoint/syscalls/sys_enter_bpf")
int bpf_calls_enter(struct enter_ctx *ctx)
{
	on_enter(ctx->cmd, ctx->uattr, ctx->size);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_bpf")
int bpf_calls_exit(struct exit_ctx *ctx)
{
	on_exit(ctx->ret);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
