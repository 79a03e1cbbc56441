// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: the shapes cilium/ebpf's bpf2go turns into Go types, one
 * map per shape (corpora/bpf2go/ holds the Go side in bpf2go's generated-file
 * form): padding, an anonymous union, a named top-level union, a nested
 * struct, arrays, an enum, __be16/__be32 fields, a ring-buffer event, and
 * record types that belong to no map (bpf2go `-type unused_event -type
 * perf_rec`, kept in BTF through pointers): a perf-event record and an event.
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c bpf2go.bpf.c -o bpf2go.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* padding: 12 bytes, holes after proto (3) and sport (2 trailing) */
struct conn_key {
	__u8 proto;     /* off 0 */
	__u32 saddr;    /* off 4 */
	__u16 sport;    /* off 8 */
};

/* 16 bytes: a u64 after a u32 (4-byte hole) */
struct conn_stats {
	__u32 packets;  /* off 0 */
	__u64 bytes;    /* off 8 */
};

/* anonymous union: bpf2go keeps v4 and pads to the union's 16 bytes */
struct addr_val {
	__u32 family;   /* off 0 */
	union {         /* off 4, 16 bytes */
		__u32 v4;
		__u8 v6[16];
	};
	__u32 ifindex;  /* off 20 */
};

/* named top-level union: bpf2go writes `A uint32; _ [4]byte` */
union slot {
	__u32 small;
	__u64 big;
};

/* nested struct */
struct endpoint {
	__u32 addr;
	__u16 port;
	__u8 proto;
};

struct flow {
	struct endpoint src;   /* off 0, 8 bytes */
	struct endpoint dst;   /* off 8 */
	__u64 started_ns;      /* off 16 */
};

/* arrays and an enum */
enum conn_state {
	STATE_NEW = 0,
	STATE_ESTABLISHED = 1,
	STATE_CLOSED = 2,
};

struct proc_info {
	char comm[16];            /* off 0 */
	__u32 counts[4];          /* off 16 */
	enum conn_state state;    /* off 32 */
	__u16 ports[3];           /* off 36 */
};

/* network byte order */
struct tuple {
	__be32 saddr;   /* off 0 */
	__be32 daddr;   /* off 4 */
	__be16 sport;   /* off 8 */
	__be16 dport;   /* off 10 */
	__u8 proto;     /* off 12, 3 bytes trailing padding */
};

/* a ring-buffer record */
struct event {
	__u32 pid;       /* off 0 */
	__u8 comm[16];   /* off 4 */
	__u64 ts_ns;     /* off 24 */
};

/* a perf-event record */
struct perf_rec {
	__u64 cookie;
	__s32 ret;
	__u16 cpu;
};

/* a ring-buffer record declared only for bpf2go's -type */
struct unused_event {
	__u16 kind;
	__u32 value;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct conn_key);
	__type(value, struct conn_stats);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct addr_val);
} addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, union slot);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow);
	__type(value, struct proc_info);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tuple);
	__type(value, __u64);
} tuples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct event);
} events SEC(".maps");

/* A perf event array's value is a perf fd (4 bytes): the kernel, libbpf and
 * cilium/ebpf (MapSpec fixupMagicFields) refuse any other value_size, so its
 * record type reaches bpf2go through `-type perf_rec` and a BTF reference. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

/* Keep struct unused_event and struct perf_rec in BTF for bpf2go's -type. */
struct unused_event *unused __attribute__((unused));
struct perf_rec *unused_perf_rec __attribute__((unused));

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	struct conn_key ck = { .proto = 6 };
	struct conn_stats *cs;
	struct flow fl = {};
	struct proc_info *pi;
	struct tuple tu = {};
	struct event *e;
	struct perf_rec pr = {};
	union slot *sl;
	struct addr_val *av;
	__u32 idx = 0;
	__u64 *n;

	cs = bpf_map_lookup_elem(&conns, &ck);
	if (cs)
		cs->packets++;
	av = bpf_map_lookup_elem(&addrs, &idx);
	if (av)
		av->v4 = 1;
	sl = bpf_map_lookup_elem(&slots, &idx);
	if (sl)
		sl->small++;
	pi = bpf_map_lookup_elem(&flows, &fl);
	if (pi)
		pi->state = STATE_ESTABLISHED;
	n = bpf_map_lookup_elem(&tuples, &tu);
	if (n)
		(*n)++;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &pr, sizeof(pr));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
