// SPDX-License-Identifier: GPL-2.0
/* bpfcase corpus: types known only by a typedef of an anonymous struct
 * (`typedef struct { … } name_t;`, common in C code bases), as map key and value.
 * Built with: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c typedefs.bpf.c -o typedefs.bpf.o
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* 8 bytes, align 4: 2-byte hole at offset 2 */
typedef struct {
	__u16 port;     /* off 0 */
	/* 2-byte hole (off 2..3) */
	__u32 addr;     /* off 4 */
} conn_key_t;

/* 16 bytes, align 8 */
typedef struct {
	__u64 packets;  /* off 0 */
	__u32 flags;    /* off 8 */
	/* 4 bytes trailing padding (off 12..15) */
} conn_stats_t;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, conn_key_t);
	__type(value, conn_stats_t);
} conns SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_conn(void *ctx)
{
	conn_key_t k = {};
	conn_stats_t *s;

	k.port = 80;
	s = bpf_map_lookup_elem(&conns, &k);
	if (s)
		__sync_fetch_and_add(&s->packets, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
