// SPDX-License-Identifier: GPL-2.0
/*
 * bpfcase collect --trace-pid: records the bpf() map element calls of the
 * target processes. Loaded by src/collect/trace/loader.rs (no libbpf at run
 * time); rebuild the checked-in object with `just trace-bpf`.
 *
 * sys_enter_bpf saves the call (command, fd, flags, key and value bytes read
 * from the caller's memory) per thread; sys_exit_bpf adds the return value
 * and hands the record to user space through a ring buffer. Records are
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

SEC("tracepoint/syscalls/sys_enter_bpf")
int bpf_calls_enter(struct enter_ctx *ctx)
{
	/* The syscall's cmd is an int: only the low 32 bits count. */
	__u32 cmd = (__u32)ctx->cmd;
	__u64 id, size;
	__u32 tgid, tid, zero = 0;
	struct elem_attr a = {};
	struct call *c;

	if (cmd != CMD_LOOKUP && cmd != CMD_UPDATE && cmd != CMD_DELETE &&
	    cmd != CMD_GET_NEXT_KEY && cmd != CMD_LOOKUP_AND_DELETE)
		return 0;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	tid = (__u32)id;
	if (!bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	c = bpf_map_lookup_elem(&scratch, &zero);
	if (!c)
		return 0;

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
	size = ctx->size;
	if (bpf_probe_read_user(&a, 32, (const void *)ctx->uattr) != 0 &&
	    bpf_probe_read_user(&a, 24, (const void *)ctx->uattr) != 0 &&
	    bpf_probe_read_user(&a, 16, (const void *)ctx->uattr) != 0 &&
	    bpf_probe_read_user(&a, 8, (const void *)ctx->uattr) != 0)
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
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_bpf")
int bpf_calls_exit(struct exit_ctx *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call *c = bpf_map_lookup_elem(&inflight, &tid);

	if (!c)
		return 0;
	c->ret = ctx->ret;
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
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
