#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int __u32;

typedef unsigned char __u8;

typedef unsigned short __u16;

struct bits {
	unsigned int a: 3;
	unsigned int b: 5;
	unsigned int c: 24;
	__u8 lo: 4;
	__u8 hi: 4;
	__u8 tag;
	__u16 port;
};

typedef __u32 __be32;

typedef unsigned long long __u64;

union ident {
	__u64 raw;
	struct {
		__u32 lo;
		__u32 hi;
	} parts;
};

struct addr_rec {
	__u32 family;
	union {
		__be32 v4;
		__u8 v6[16];
	};
	union ident id;
};

struct packed_hdr {
	__u8 ver;
	__u32 len;
	__u16 id;
	__u64 seq;
} __attribute__((packed));

typedef signed char __s8;

struct arrays {
	char comm[16];
	__u32 v[4];
	__u16 matrix[3][4];
	__s8 small[3];
};

typedef __u32 obj_id_t;

typedef obj_id_t handle_t;

typedef const handle_t chandle_t;

typedef long long __s64;

typedef int __s32;

struct misc {
	handle_t h;
	chandle_t ch;
	volatile __s64 v;
	const __s32 neg;
	_Bool ok;
	signed char sc;
	short s;
	long long ll;
};

struct fam {
	__u32 len;
	__u16 kind;
	__u16 n;
	__u8 data[0];
};

struct task_comm {
	__u32 pid;
	char comm[15];
	__u8 state;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
