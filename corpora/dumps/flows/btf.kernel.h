#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int __u32;

typedef unsigned short __u16;

typedef unsigned char __u8;

struct flow_key {
	__u32 saddr;
	__u16 sport;
	__u32 daddr;
	__u8 proto;
};

typedef unsigned long long __u64;

struct flow_value {
	__u64 packets;
	__u64 bytes;
	__u32 flags;
	__u16 ifindex;
};

typedef __u32 __be32;

typedef __u16 __be16;

struct flow_key_be {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
