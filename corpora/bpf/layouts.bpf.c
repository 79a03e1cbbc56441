// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: unusual layouts - bitfields, anonymous and named unions,
 * a packed struct, arrays (1-D, char, 2-D), typedef chains, const/volatile
 * members, signed ints, _Bool, a flexible-array-member struct, char[15].
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c layouts.bpf.c -o layouts.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* 8 bytes, align 4 */
struct bits {
	unsigned int a:3;   /* bit off 0,  3 bits */
	unsigned int b:5;   /* bit off 3,  5 bits */
	unsigned int c:24;  /* bit off 8, 24 bits */
	__u8 lo:4;          /* bit off 32, 4 bits (byte 4) */
	__u8 hi:4;          /* bit off 36, 4 bits (byte 4) */
	__u8 tag;           /* off 5 */
	__u16 port;         /* off 6 */
};

/* 32 bytes, align 8 */
struct addr_rec {
	__u32 family;               /* off 0 */
	union {                     /* anonymous union, off 4, size 16 */
		__be32 v4;
		__u8   v6[16];
	};
	/* 4-byte hole (off 20..23) */
	union ident {               /* named union, off 24, size 8 */
		__u64 raw;
		struct {
			__u32 lo;
			__u32 hi;
		} parts;
	} id;
};

/* 15 bytes, align 1 */
struct packed_hdr {
	__u8  ver;   /* off 0 */
	__u32 len;   /* off 1 */
	__u16 id;    /* off 5 */
	__u64 seq;   /* off 7 */
} __attribute__((packed));

/* 60 bytes, align 4 */
struct arrays {
	char  comm[16];       /* off 0,  16 bytes */
	__u32 v[4];           /* off 16, 16 bytes */
	__u16 matrix[3][4];   /* off 32, 24 bytes */
	__s8  small[3];       /* off 56,  3 bytes */
	/* 1 byte trailing padding (off 59) */
};

/* typedef chain: handle_t -> obj_id_t -> __u32 -> __u32's base 'unsigned int' */
typedef __u32 obj_id_t;
typedef obj_id_t handle_t;
typedef const handle_t chandle_t;

/* 32 bytes, align 8 */
struct misc {
	handle_t        h;     /* off 0  */
	chandle_t       ch;    /* off 4  (const via typedef) */
	volatile __s64  v;     /* off 8  */
	const __s32     neg;   /* off 16 */
	_Bool           ok;    /* off 20 */
	signed char     sc;    /* off 21 */
	short           s;     /* off 22 */
	long long       ll;    /* off 24 */
};

/* 8 bytes, align 4: flexible array member contributes 0 bytes */
struct fam {
	__u32 len;     /* off 0 */
	__u16 kind;    /* off 4 */
	__u16 n;       /* off 6 */
	__u8  data[];  /* off 8, flexible */
};

/* 20 bytes, align 4: odd-length char array, no padding at all */
struct task_comm {
	__u32 pid;       /* off 0  */
	char  comm[15];  /* off 4, 15 bytes */
	__u8  state;     /* off 19 */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bits);
	__uint(max_entries, 4);
} bits_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct addr_rec);
	__uint(max_entries, 16);
} addr_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct packed_hdr);
	__type(value, struct arrays);
	__uint(max_entries, 16);
} packed_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct misc);
	__uint(max_entries, 4);
} misc_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct fam);
	__uint(max_entries, 4);
} fam_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct task_comm);
	__uint(max_entries, 8);
} comm_map SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int layouts_on_getpid(void *ctx)
{
	__u32 idx = 0;
	struct bits *b;
	struct addr_rec *ar;
	struct packed_hdr ph = {};
	struct arrays *arr;
	struct misc *m;
	struct fam *f;
	struct task_comm *tc;

	b = bpf_map_lookup_elem(&bits_map, &idx);
	if (b) {
		b->a = 5;
		b->c += 1;
		b->hi = 3;
	}
	ar = bpf_map_lookup_elem(&addr_map, &idx);
	if (ar)
		ar->id.parts.hi++;
	ph.ver = 1;
	arr = bpf_map_lookup_elem(&packed_map, &ph);
	if (arr)
		arr->matrix[1][2]++;
	m = bpf_map_lookup_elem(&misc_map, &idx);
	if (m)
		m->v = m->h + m->ch;
	f = bpf_map_lookup_elem(&fam_map, &idx);
	if (f)
		f->n++;
	tc = bpf_map_lookup_elem(&comm_map, &idx);
	if (tc)
		tc->state = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
