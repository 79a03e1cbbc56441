#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned char __u8;

typedef unsigned int __u32;

typedef unsigned short __u16;

struct conn_key {
	__u8 proto;
	__u32 saddr;
	__u16 sport;
};

typedef unsigned long long __u64;

struct conn_stats {
	__u32 packets;
	__u64 bytes;
};

struct addr_val {
	__u32 family;
	union {
		__u32 v4;
		__u8 v6[16];
	};
	__u32 ifindex;
};

union slot {
	__u32 small;
	__u64 big;
};

struct endpoint {
	__u32 addr;
	__u16 port;
	__u8 proto;
};

struct flow {
	struct endpoint src;
	struct endpoint dst;
	__u64 started_ns;
};

enum conn_state {
	STATE_NEW = 0,
	STATE_ESTABLISHED = 1,
	STATE_CLOSED = 2,
};

struct proc_info {
	char comm[16];
	__u32 counts[4];
	enum conn_state state;
	__u16 ports[3];
};

typedef __u32 __be32;

typedef __u16 __be16;

struct tuple {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
};

struct event {
	__u32 pid;
	__u8 comm[16];
	__u64 ts_ns;
};

struct unused_event {
	__u16 kind;
	__u32 value;
};

typedef int __s32;

struct perf_rec {
	__u64 cookie;
	__s32 ret;
	__u16 cpu;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
