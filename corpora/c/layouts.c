/* bpfcase corpus: C user-space mirrors of the corpus BPF structs
 * (corpora/bpf/NAME.bpf.c), correct copies and variants with planted mistakes.
 * Prints sizeof/_Alignof of each struct and offsetof/sizeof of each member
 * as JSON.  Bitfield members get bit offsets/widths measured at run time.
 *
 * Build: gcc -g -O0 -o layouts.x86_64 layouts.c
 *        gcc -g -O0 -m32 -o layouts.i386 layouts.c
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>

/* ------------------------------------------------ exact copies of BPF side */
struct flow_key {
	__u32 saddr;
	__u16 sport;
	__u32 daddr;
	__u8  proto;
};

struct flow_key_be {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8   proto;
};

struct flow_value {
	__u64 packets;
	__u64 bytes;
	__u32 flags;
	__u16 ifindex;
};

struct cpu_stat {
	__u64 count;
	__s64 delta;
	__s32 last_err;
	_Bool active;
};

struct proc_key {
	__u32 pid;
	char  comm[16];
};

struct proc_stat {
	__u64 calls;
	__u32 v[4];
};

enum verdict {
	VERDICT_UNKNOWN  = -1,
	VERDICT_PASS     = 0,
	VERDICT_DROP     = 1,
	VERDICT_REDIRECT = 2,
};

enum big_flags {
	BIG_NONE = 0,
	BIG_LOW  = 0x1ULL,
	BIG_MID  = 0x80000000ULL,
	BIG_HIGH = 0x100000000ULL,
	BIG_TOP  = 0x8000000000000000ULL,
};

struct policy {
	enum verdict   verdict;
	enum big_flags flags;
	__s16          prio;
	__s8           weight;
	_Bool          enabled;
};

struct bits {
	unsigned int a:3;
	unsigned int b:5;
	unsigned int c:24;
	__u8 lo:4;
	__u8 hi:4;
	__u8 tag;
	__u16 port;
};

/* MISTAKE: bits with the first storage unit declared in the opposite order
 * (c:24 first), as when copying from a big-endian header definition: every
 * bitfield of the first unit sits at a different bit position. */
struct bits_swapped {
	unsigned int c:24;
	unsigned int b:5;
	unsigned int a:3;
	__u8 lo:4;
	__u8 hi:4;
	__u8 tag;
	__u16 port;
};

struct addr_rec {
	__u32 family;
	union {
		__be32 v4;
		__u8   v6[16];
	};
	union ident {
		__u64 raw;
		struct {
			__u32 lo;
			__u32 hi;
		} parts;
	} id;
};

struct packed_hdr {
	__u8  ver;
	__u32 len;
	__u16 id;
	__u64 seq;
} __attribute__((packed));

struct arrays {
	char  comm[16];
	__u32 v[4];
	__u16 matrix[3][4];
	__s8  small[3];
};

typedef __u32 obj_id_t;
typedef obj_id_t handle_t;
typedef const handle_t chandle_t;

struct misc {
	handle_t        h;
	chandle_t       ch;
	volatile __s64  v;
	const __s32     neg;
	_Bool           ok;
	signed char     sc;
	short           s;
	long long       ll;
};

struct fam {
	__u32 len;
	__u16 kind;
	__u16 n;
	__u8  data[];
};

struct task_comm {
	__u32 pid;
	char  comm[15];
	__u8  state;
};

/* ------------------------------------------------ correct but hardened */

/* policy with the hole explicit and flags forced to 8-byte alignment, so the
 * layout is identical on i386 (where a 64-bit member is only 4-aligned). */
struct policy_aligned {
	enum verdict   verdict;
	__u32          _pad;
	enum big_flags flags __attribute__((aligned(8)));
	__s16          prio;
	__s8           weight;
	_Bool          enabled;
};

/* ------------------------------------------------ planted mistakes */

/* `long` for __u32 saddr/daddr: 8 bytes on LP64 (size 32), 4 on i386 */
struct flow_key_long {
	long  saddr;
	__u16 sport;
	long  daddr;
	__u8  proto;
};

/* missing `flags`: ifindex at 16 instead of 20 */
struct flow_value_missing_flags {
	__u64 packets;
	__u64 bytes;
	__u16 ifindex;
};

/* char comm[15] for char comm[16]: sizeof still 20 */
struct proc_key_comm15 {
	__u32 pid;
	char  comm[15];
};

/* _Bool for __u8 proto */
struct flow_key_bool_proto {
	__u32 saddr;
	__u16 sport;
	__u32 daddr;
	_Bool proto;
};

/* host-order __u32/__u16 for __be32/__be16 (layout identical) */
struct flow_key_be_host {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8  proto;
};

/* forgot __attribute__((packed)) */
struct packed_hdr_natural {
	__u8  ver;
	__u32 len;
	__u16 id;
	__u64 seq;
};

/* pre-C99 "struct hack": data[1] instead of a flexible array member */
struct fam_one {
	__u32 len;
	__u16 kind;
	__u16 n;
	__u8  data[1];
};

/* char comm[16] for char comm[15]: state at 20, size 24 */
struct task_comm_comm16 {
	__u32 pid;
	char  comm[16];
	__u8  state;
};

/* ------------------------------------------------ JSON printer */
static int first_struct = 1, first_field;

static void begin(const char *name, size_t size, size_t align,
		  const char *mirrors, const char *variant)
{
	printf("%s\n    {\"name\": \"%s\", \"mirrors\": \"%s\", \"variant\": \"%s\", "
	       "\"size\": %zu, \"align\": %zu, \"fields\": [",
	       first_struct ? "" : ",", name, mirrors, variant, size, align);
	first_struct = 0;
	first_field = 1;
}

static void field(const char *name, size_t off, size_t size, size_t align)
{
	printf("%s\n      {\"name\": \"%s\", \"offset\": %zu, \"size\": %zu, \"align\": %zu}",
	       first_field ? "" : ",", name, off, size, align);
	first_field = 0;
}

static void bitfield(const char *name, const unsigned char *p, size_t n)
{
	size_t i, lo = (size_t)-1, hi = 0;

	for (i = 0; i < n * 8; i++)
		if (p[i / 8] & (1u << (i % 8))) {
			if (lo == (size_t)-1)
				lo = i;
			hi = i;
		}
	printf("%s\n      {\"name\": \"%s\", \"bit_offset\": %zu, \"bit_size\": %zu}",
	       first_field ? "" : ",", name, lo, hi - lo + 1);
	first_field = 0;
}

static void end(void)
{
	printf("\n    ]}");
}

#define S(T, mirrors, variant) begin(#T, sizeof(struct T), _Alignof(struct T), mirrors, variant)
#define F(T, m) field(#m, offsetof(struct T, m), sizeof(((struct T *)0)->m), \
		      __alignof__(((struct T *)0)->m))
#define B(T, m) do { struct T x; memset(&x, 0, sizeof(x)); x.m--; \
		     bitfield(#m, (const unsigned char *)&x, sizeof(x)); } while (0)

int main(void)
{
	printf("{\n  \"lang\": \"c\",\n  \"compiler\": \"gcc %d.%d.%d\",\n"
	       "  \"arch\": \"%s\",\n  \"ptr_size\": %zu,\n  \"structs\": [",
	       __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#if defined(__x86_64__)
	       "x86_64",
#elif defined(__i386__)
	       "i386",
#else
	       "unknown",
#endif
	       sizeof(void *));

	S(flow_key, "struct flow_key", "correct");
	F(flow_key, saddr); F(flow_key, sport); F(flow_key, daddr); F(flow_key, proto); end();
	S(flow_key_be, "struct flow_key_be", "correct");
	F(flow_key_be, saddr); F(flow_key_be, daddr); F(flow_key_be, sport); F(flow_key_be, dport);
	F(flow_key_be, proto); end();
	S(flow_value, "struct flow_value", "correct");
	F(flow_value, packets); F(flow_value, bytes); F(flow_value, flags); F(flow_value, ifindex); end();
	S(cpu_stat, "struct cpu_stat", "correct");
	F(cpu_stat, count); F(cpu_stat, delta); F(cpu_stat, last_err); F(cpu_stat, active); end();
	S(proc_key, "struct proc_key", "correct");
	F(proc_key, pid); F(proc_key, comm); end();
	S(proc_stat, "struct proc_stat", "correct");
	F(proc_stat, calls); F(proc_stat, v); end();
	S(policy, "struct policy", "correct copy (but flags is 4-aligned on i386)");
	F(policy, verdict); F(policy, flags); F(policy, prio); F(policy, weight); F(policy, enabled); end();
	S(bits, "struct bits", "correct");
	B(bits, a); B(bits, b); B(bits, c); B(bits, lo); B(bits, hi); F(bits, tag); F(bits, port); end();
	S(bits_swapped, "struct bits", "first unit's bitfields in reverse order");
	B(bits_swapped, c); B(bits_swapped, b); B(bits_swapped, a); B(bits_swapped, lo); B(bits_swapped, hi);
	F(bits_swapped, tag); F(bits_swapped, port); end();
	S(addr_rec, "struct addr_rec", "correct copy (but id is 4-aligned on i386)");
	F(addr_rec, family); F(addr_rec, v4); F(addr_rec, v6); F(addr_rec, id); end();
	S(packed_hdr, "struct packed_hdr", "correct");
	F(packed_hdr, ver); F(packed_hdr, len); F(packed_hdr, id); F(packed_hdr, seq); end();
	S(arrays, "struct arrays", "correct");
	F(arrays, comm); F(arrays, v); F(arrays, matrix); F(arrays, small); end();
	S(misc, "struct misc", "correct");
	F(misc, h); F(misc, ch); F(misc, v); F(misc, neg); F(misc, ok); F(misc, sc); F(misc, s);
	F(misc, ll); end();
	S(fam, "struct fam", "correct");
	F(fam, len); F(fam, kind); F(fam, n); field("data", offsetof(struct fam, data), 0, 1); end();
	S(task_comm, "struct task_comm", "correct");
	F(task_comm, pid); F(task_comm, comm); F(task_comm, state); end();
	S(policy_aligned, "struct policy", "correct (explicit pad + aligned(8), same on i386)");
	F(policy_aligned, verdict); F(policy_aligned, _pad); F(policy_aligned, flags);
	F(policy_aligned, prio); F(policy_aligned, weight); F(policy_aligned, enabled); end();

	S(flow_key_long, "struct flow_key", "mistake: long for __u32 saddr/daddr");
	F(flow_key_long, saddr); F(flow_key_long, sport); F(flow_key_long, daddr);
	F(flow_key_long, proto); end();
	S(flow_value_missing_flags, "struct flow_value", "mistake: missing field flags");
	F(flow_value_missing_flags, packets); F(flow_value_missing_flags, bytes);
	F(flow_value_missing_flags, ifindex); end();
	S(proc_key_comm15, "struct proc_key", "mistake: char comm[15] for char comm[16]");
	F(proc_key_comm15, pid); F(proc_key_comm15, comm); end();
	S(flow_key_bool_proto, "struct flow_key", "mistake: _Bool for __u8 proto");
	F(flow_key_bool_proto, saddr); F(flow_key_bool_proto, sport); F(flow_key_bool_proto, daddr);
	F(flow_key_bool_proto, proto); end();
	S(flow_key_be_host, "struct flow_key_be", "mistake: host-order __u32/__u16 for __be32/__be16");
	F(flow_key_be_host, saddr); F(flow_key_be_host, daddr); F(flow_key_be_host, sport);
	F(flow_key_be_host, dport); F(flow_key_be_host, proto); end();
	S(packed_hdr_natural, "struct packed_hdr", "mistake: packed struct without __attribute__((packed))");
	F(packed_hdr_natural, ver); F(packed_hdr_natural, len); F(packed_hdr_natural, id);
	F(packed_hdr_natural, seq); end();
	S(fam_one, "struct fam", "mistake: data[1] instead of flexible array member");
	F(fam_one, len); F(fam_one, kind); F(fam_one, n); F(fam_one, data); end();

	S(task_comm_comm16, "struct task_comm", "mistake: char comm[16] for char comm[15]");
	F(task_comm_comm16, pid); F(task_comm_comm16, comm); F(task_comm_comm16, state); end();

	printf("\n  ]\n}\n");
	return 0;
}
