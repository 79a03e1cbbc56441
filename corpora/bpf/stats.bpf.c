// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: per-CPU statistics maps (percpu_array, percpu_hash) and a
 * policy array with a signed enum and a 64-bit-valued enum.
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c stats.bpf.c -o stats.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* 24 bytes, align 8: signed ints and _Bool, 3 bytes trailing padding */
struct cpu_stat {
	__u64 count;     /* off 0  */
	__s64 delta;     /* off 8  */
	__s32 last_err;  /* off 16 */
	_Bool active;    /* off 20 */
	/* 3 bytes trailing padding (off 21..23) */
};

/* 20 bytes, align 4 (key longer than 16 bytes -> bpftool multi-line hex) */
struct proc_key {
	__u32 pid;       /* off 0 */
	char  comm[16];  /* off 4 */
};

/* 24 bytes, align 8 */
struct proc_stat {
	__u64 calls;     /* off 0 */
	__u32 v[4];      /* off 8, 16 bytes */
};

/* plain enum with a negative enumerator (signed, 4 bytes) */
enum verdict {
	VERDICT_UNKNOWN  = -1,
	VERDICT_PASS     = 0,
	VERDICT_DROP     = 1,
	VERDICT_REDIRECT = 2,
};

/* enumerators above 2^32: the C type is 8 bytes wide.  A BTF-aware compiler
 * (clang >= 15) emits BTF_KIND_ENUM64; clang 14 emits a BTF_KIND_ENUM of
 * size 8 whose 32-bit enumerator values are TRUNCATED (see README). */
enum big_flags {
	BIG_NONE = 0,
	BIG_LOW  = 0x1ULL,
	BIG_MID  = 0x80000000ULL,
	BIG_HIGH = 0x100000000ULL,
	BIG_TOP  = 0x8000000000000000ULL,
};

/* 24 bytes, align 8 */
struct policy {
	enum verdict   verdict;   /* off 0,  size 4 */
	/* 4-byte hole (off 4..7) */
	enum big_flags flags;     /* off 8,  size 8 */
	__s16          prio;      /* off 16 */
	__s8           weight;    /* off 18 */
	_Bool          enabled;   /* off 19 */
	/* 4 bytes trailing padding (off 20..23) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cpu_stat);
	__uint(max_entries, 4);
} cpu_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct proc_key);
	__type(value, struct proc_stat);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} proc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct policy);
	__uint(max_entries, 8);
} policies SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int stats_on_getpid(void *ctx)
{
	__u32 idx = 0;
	struct cpu_stat *cs;
	struct proc_key pk = {};
	struct proc_stat zero = {}, *ps;
	struct policy *pol;

	cs = bpf_map_lookup_elem(&cpu_stats, &idx);
	if (cs) {
		cs->count++;
		cs->delta -= 1;
		cs->active = 1;
	}

	pk.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(pk.comm, sizeof(pk.comm));
	ps = bpf_map_lookup_elem(&proc_stats, &pk);
	if (ps)
		ps->calls++;
	else
		bpf_map_update_elem(&proc_stats, &pk, &zero, BPF_NOEXIST);

	pol = bpf_map_lookup_elem(&policies, &idx);
	if (pol && pol->verdict == VERDICT_DROP && (pol->flags & BIG_HIGH))
		pol->prio++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
