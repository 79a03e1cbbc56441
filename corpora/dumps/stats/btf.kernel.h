#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int __u32;

typedef unsigned long long __u64;

typedef long long __s64;

typedef int __s32;

struct cpu_stat {
	__u64 count;
	__s64 delta;
	__s32 last_err;
	_Bool active;
};

struct proc_key {
	__u32 pid;
	char comm[16];
};

struct proc_stat {
	__u64 calls;
	__u32 v[4];
};

enum verdict {
	VERDICT_UNKNOWN = 4294967295,
	VERDICT_PASS = 0,
	VERDICT_DROP = 1,
	VERDICT_REDIRECT = 2,
};

enum big_flags {
	BIG_NONE = 0,
	BIG_LOW = 1,
	BIG_MID = 2147483648,
	BIG_HIGH = 0,
	BIG_TOP = 0,
};

typedef short __s16;

typedef signed char __s8;

struct policy {
	enum verdict verdict;
	enum big_flags flags;
	__s16 prio;
	__s8 weight;
	_Bool enabled;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
