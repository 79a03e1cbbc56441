#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned short __u16;

typedef unsigned int __u32;

typedef struct {
	__u16 port;
	__u32 addr;
} conn_key_t;

typedef unsigned long long __u64;

typedef struct {
	__u64 packets;
	__u32 flags;
} conn_stats_t;

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
