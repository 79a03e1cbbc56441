#!/bin/bash
# bpfcase corpus: load the corpus BPF objects, fill their maps with known
# deterministic contents, and capture real bpftool dumps.
#
# MUST RUN AS ROOT (needs CAP_BPF/CAP_SYS_ADMIN and a bpffs at /sys/fs/bpf).
# Usage: corpora/dumps/make-dumps.sh        (or: just corpora-dumps)
#
# Everything is pinned below /sys/fs/bpf/bpfcase-corpus and removed again at
# the end (also on error).  pinned.bpf.o's LIBBPF_PIN_BY_NAME map is pinned by
# libbpf at /sys/fs/bpf/bpfcase_pinned; it is moved (rename) into
# /sys/fs/bpf/bpfcase-corpus/pinned/maps/ right after loading, and removed too.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BPFDIR=$(cd "$HERE/../bpf" && pwd)
PIN=/sys/fs/bpf/bpfcase-corpus
BYNAME=/sys/fs/bpf/bpfcase_pinned
TMP=$(mktemp -d)

if [ "$(id -u)" != 0 ]; then
	echo "make-dumps.sh: must run as root" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

cleanup() {
	rm -rf "$PIN" "$BYNAME" "$TMP"
}
cleanup
TMP=$(mktemp -d)
trap cleanup EXIT
mkdir -p "$PIN"

# ---------------------------------------------------------------- helpers
# le N VALUE : N little-endian bytes of VALUE as "xx xx .." (bash 64-bit math)
le() {
	local n=$1 v=$(( $2 )) i out=""
	for ((i = 0; i < n; i++)); do
		out+=$(printf '%02x ' $(( (v >> (8 * i)) & 0xff )))
	done
	echo -n "${out% }"
}
# be N VALUE : N big-endian (network order) bytes
be() {
	local n=$1 v=$(( $2 )) i out=""
	for ((i = n - 1; i >= 0; i--)); do
		out+=$(printf '%02x ' $(( (v >> (8 * i)) & 0xff )))
	done
	echo -n "${out% }"
}
# str N STRING [FILLBYTE] : STRING's bytes, then FILLBYTE (default 00) up to N
str() {
	local n=$1 s=$2 fill=${3:-00} i out=""
	for ((i = 0; i < ${#s} && i < n; i++)); do
		out+=$(printf '%02x ' "'${s:i:1}")
	done
	for ((; i < n; i++)); do out+="$fill "; done
	echo -n "${out% }"
}

LOG=/dev/null
# upd MAPPATH KEYHEX VALUEHEX : bpftool map update, logged (path relative to $PIN)
upd() {
	echo "bpftool map update pinned ${1#$PIN/} key hex $2 value hex $3" >> "$LOG"
	bpftool map update pinned "$1" key hex $2 value hex $3
}

# dump MAPPATH OUTPREFIX : the four standard captures of one map
dump() {
	bpftool map dump pinned "$1" > "$2.txt"
	bpftool -j map dump pinned "$1" > "$2.json"
	bpftool -p map dump pinned "$1" > "$2.pretty.json"
	bpftool -j map show pinned "$1" > "$2.show.json"
}

# save_btf MAPPATH OUTDIR : record the map's btf_id and save that BTF
save_btf() {
	local id
	id=$(bpftool -j map show pinned "$1" | jq -r '.btf_id // empty')
	[ -n "$id" ] || return 0
	echo "$id" > "$2/btf_id.txt"
	bpftool btf dump id "$id" > "$2/btf.kernel.txt"
	bpftool btf dump id "$id" format c > "$2/btf.kernel.h"
	if [ -x "$TMP/btf-raw" ]; then
		"$TMP/btf-raw" "$id" > "$2/btf.kernel.btf"
	fi
}

# loadobj NAME [nopinmaps]
loadobj() {
	mkdir -p "$PIN/$1"
	if [ "${2:-}" = nopinmaps ]; then
		bpftool prog loadall "$BPFDIR/$1.bpf.o" "$PIN/$1/progs"
	else
		bpftool prog loadall "$BPFDIR/$1.bpf.o" "$PIN/$1/progs" pinmaps "$PIN/$1/maps"
	fi
}

if gcc -O2 -o "$TMP/btf-raw" "$HERE/btf-raw.c" -lbpf 2> "$TMP/btf-raw.err"; then
	:
else
	echo "note: could not build btf-raw helper; raw kernel BTF blobs skipped" >&2
	cat "$TMP/btf-raw.err" >&2
fi

# ================================================================ flows
O=$HERE/flows; mkdir -p "$O"; LOG=$O/updates.log; : > "$LOG"
loadobj flows
M=$PIN/flows/maps

# struct flow_key (16B): saddr u32 | sport u16 | HOLE 2 | daddr u32 | proto u8 | PAD 3
fk() { echo -n "$(le 4 $1) $(le 2 $2) $5 $(le 4 $3) $(le 1 $4) $6"; }
# struct flow_value (24B): packets u64 | bytes u64 | flags u32 | ifindex u16 | PAD 2
fv() { echo -n "$(le 8 $1) $(le 8 $2) $(le 4 $3) $(le 2 $4) $5"; }

# flows: 6 entries
upd $M/flows "$(fk 0x0a000001 1234 0x0a000002 6  '00 00' '00 00 00')" "$(fv 10 1500 0x1 2 '00 00')"
upd $M/flows "$(fk 0x0a000001 1234 0x0a000003 17 'de ad' '00 00 00')" "$(fv 20 3000 0x2 2 '00 00')"   # garbage in hole
upd $M/flows "$(fk 0x0a000001 1234 0x0a000004 6  '00 00' 'be ef 99')" "$(fv 30 4500 0x3 3 '00 00')"   # garbage in trailing pad
upd $M/flows "$(fk 0x0a000005 80   0x0a000001 6  'ff ff' 'ff ff ff')" "$(fv 40 6000 0x4 3 'aa bb')"   # garbage everywhere + value pad
upd $M/flows "$(fk 0xc0a80101 53   0x08080808 17 '00 00' '00 00 00')" "$(fv -1 0x10000000000 0x80000000 65535 '00 00')" # max values
upd $M/flows "$(fk 0x7f000001 0    0x7f000001 1  '00 00' '00 00 00')" "$(fv 0 0 0 0 '00 00')"          # icmp, all-zero value

# lookups: the zero-padded twin of a garbage-hole key is NOT found
{
	echo "# bpftool map lookup on flows: key with hole=00 00 (twin of the 'de ad' entry)"
	bpftool map lookup pinned $M/flows key hex $(fk 0x0a000001 1234 0x0a000003 17 '00 00' '00 00 00') 2>&1 || echo "(exit status $?)"
	echo "# same key with hole=de ad as stored"
	bpftool map lookup pinned $M/flows key hex $(fk 0x0a000001 1234 0x0a000003 17 'de ad' '00 00 00') 2>&1 || echo "(exit status $?)"
} > "$O/flows.lookup.txt"

# flows_lru: struct flow_key_be (16B): saddr be32 | daddr be32 | sport be16 | dport be16 | proto u8 | PAD 3
fkb() { echo -n "$(be 4 $1) $(be 4 $2) $(be 2 $3) $(be 2 $4) $(le 1 $5) $6"; }
upd $M/flows_lru "$(fkb 0x0a000001 0xc0a80101 443   51000 6  '00 00 00')" "$(fv 1 60 0 2 '00 00')"
upd $M/flows_lru "$(fkb 0x0a000001 0xc0a80101 51000 443   6  '00 00 00')" "$(fv 2 120 0 2 '00 00')"   # reversed ports
upd $M/flows_lru "$(fkb 0xc0a80002 0x08080808 53    53    17 '00 00 00')" "$(fv 3 180 1 4 '00 00')"
upd $M/flows_lru "$(fkb 0x0a000001 0x0a000002 8080  1     6  '11 22 33')" "$(fv 4 240 1 4 '00 00')"   # garbage pad
upd $M/flows_lru "$(fkb 0xffffffff 0x00000000 65535 0     17 '00 00 00')" "$(fv 5 300 0 1 '00 00')"

# flows_small: max_entries 8, filled completely, then one more (must fail)
for i in 1 2 3 4 5 6 7 8; do
	upd $M/flows_small "$(fk $((0x0a000100 + i)) $((1000 + i)) 0x0a0000fe 6 '00 00' '00 00 00')" "$(fv $i $((i * 100)) 0 1 '00 00')"
done
{
	echo "# 9th insert into flows_small (max_entries 8, BPF_F_NO_PREALLOC)"
	echo "bpftool map update pinned flows/maps/flows_small key hex $(fk 0x0a000109 1009 0x0a0000fe 6 '00 00' '00 00 00') value hex $(fv 9 900 0 1 '00 00')"
	bpftool map update pinned $M/flows_small key hex $(fk 0x0a000109 1009 0x0a0000fe 6 '00 00' '00 00 00') value hex $(fv 9 900 0 1 '00 00') 2>&1 || echo "(exit status $?)"
} > "$O/flows_small.overflow.txt"

for m in flows flows_lru flows_small; do dump $M/$m "$O/$m"; done
save_btf $M/flows "$O"

# ================================================================ stats
O=$HERE/stats; mkdir -p "$O"; LOG=$O/updates.log; : > "$LOG"
loadobj stats
M=$PIN/stats/maps

# struct cpu_stat (24B): count u64 | delta s64 | last_err s32 | active _Bool | PAD 3
upd $M/cpu_stats "$(le 4 0)" "$(le 8 100) $(le 8 -5)   $(le 4 -22) 01 00 00 00"
upd $M/cpu_stats "$(le 4 1)" "$(le 8 200) $(le 8 5)    $(le 4 0)   00 00 00 00"
upd $M/cpu_stats "$(le 4 2)" "$(le 8 0)   $(le 8 -1)   $(le 4 -1)  01 ff ff ff"   # garbage pad
upd $M/cpu_stats "$(le 4 3)" "$(le 8 -1)  $(le 8 0x7fffffffffffffff) $(le 4 0x7fffffff) 02 00 00 00"  # _Bool = 2 (invalid)

# struct proc_key (20B): pid u32 | comm char[16]
# struct proc_stat (24B): calls u64 | v u32[4]
upd $M/proc_stats "$(le 4 1)     $(str 16 systemd)"              "$(le 8 7)  $(le 4 1) $(le 4 2) $(le 4 3) $(le 4 4)"
upd $M/proc_stats "$(le 4 4242)  $(str 16 nginx)"                "$(le 8 99) $(le 4 0) $(le 4 0) $(le 4 0) $(le 4 0xffffffff)"
upd $M/proc_stats "$(le 4 4243)  $(str 6 nginx) $(str 10 XXXXXXXXXX)" "$(le 8 1)  $(le 4 5) $(le 4 6) $(le 4 7) $(le 4 8)"  # garbage after NUL
upd $M/proc_stats "$(le 4 0)     $(str 16 swapper/0)"            "$(le 8 0)  $(le 4 0) $(le 4 0) $(le 4 0) $(le 4 0)"
upd $M/proc_stats "$(le 4 31337) $(str 16 abcdefghijklmnop)"     "$(le 8 3)  $(le 4 9) $(le 4 9) $(le 4 9) $(le 4 9)"  # no NUL terminator

# struct policy (24B): verdict enum(4) | HOLE 4 | flags enum big_flags(8) | prio s16 | weight s8 | enabled _Bool | PAD 4
upd $M/policies "$(le 4 0)" "$(le 4 0)  00 00 00 00 $(le 8 0x1)                $(le 2 10) $(le 1 -3) 01 00 00 00 00"   # PASS, BIG_LOW
upd $M/policies "$(le 4 1)" "$(le 4 1)  00 00 00 00 $(le 8 0x100000000)        $(le 2 20) $(le 1 5)  01 00 00 00 00"   # DROP, BIG_HIGH
upd $M/policies "$(le 4 2)" "$(le 4 -1) de ad be ef $(le 8 0x8000000000000000) $(le 2 -1) $(le 1 -128) 00 00 00 00 00" # UNKNOWN, BIG_TOP, garbage hole
upd $M/policies "$(le 4 3)" "$(le 4 2)  00 00 00 00 $(le 8 0x80000001)         $(le 2 32767) $(le 1 127) 01 00 00 00 00" # REDIRECT, BIG_MID|BIG_LOW
upd $M/policies "$(le 4 4)" "$(le 4 7)  00 00 00 00 $(le 8 0x80000000)         $(le 2 0) $(le 1 0) 01 00 00 00 00"     # verdict 7 (no enumerator), BIG_MID

for m in cpu_stats proc_stats policies; do dump $M/$m "$O/$m"; done
save_btf $M/policies "$O"

# ================================================================ layouts
O=$HERE/layouts; mkdir -p "$O"; LOG=$O/updates.log; : > "$LOG"
loadobj layouts
M=$PIN/layouts/maps

# struct bits (8B): u32 word{a:3 b:5 c:24} | u8 {lo:4 hi:4} | tag u8 | port u16
bitsv() { echo -n "$(le 4 $(( $1 | ($2 << 3) | ($3 << 8) ))) $(le 1 $(( $4 | ($5 << 4) ))) $(le 1 $6) $(le 2 $7)"; }
upd $M/bits_map "$(le 4 0)" "$(bitsv 5 17 0xabcdef 3 12 0x7f 8080)"
upd $M/bits_map "$(le 4 1)" "$(bitsv 7 31 0xffffff 15 0 0 0)"
upd $M/bits_map "$(le 4 2)" "$(bitsv 1 0 1 0 1 1 1)"
upd $M/bits_map "$(le 4 3)" "$(bitsv 0 0 0 0 0 0 0)"

# struct addr_rec (32B): family u32 | union{v4 be32; v6 u8[16]} | HOLE 4 | union ident{raw u64; parts{lo,hi}}
upd $M/addr_map "$(le 4 1)" "$(le 4 2)  $(be 4 0xc0a80001) $(str 12 '') 00 00 00 00 $(le 8 0x1122334455667788)"
upd $M/addr_map "$(le 4 2)" "$(le 4 10) 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 de ad be ef $(le 4 1) $(le 4 2)"   # v6, garbage hole
upd $M/addr_map "$(le 4 3)" "$(le 4 2)  $(be 4 0x7f000001) 55 55 55 55 55 55 55 55 55 55 55 55 00 00 00 00 $(le 8 -1)"       # v4 + stale v6 tail bytes

# struct packed_hdr (15B, packed): ver u8 | len u32 | id u16 | seq u64
# struct arrays (60B): comm char[16] | v u32[4] | matrix u16[3][4] | small s8[3] | PAD 1
mat() { local i o=""; for ((i = 0; i < 12; i++)); do o+="$(le 2 $(( $1 + i ))) "; done; echo -n "${o% }"; }
upd $M/packed_map "$(le 1 1) $(le 4 0x01020304) $(le 2 7)      $(le 8 1)" \
	"$(str 16 hello) $(le 4 1) $(le 4 2) $(le 4 3) $(le 4 4) $(mat 0) $(le 1 -1) $(le 1 0) $(le 1 1) 00"
upd $M/packed_map "$(le 1 2) $(le 4 0xffffffff) $(le 2 0xbeef) $(le 8 0x0102030405060708)" \
	"$(str 16 bpfcase-corpus!!) $(le 4 10) $(le 4 20) $(le 4 30) $(le 4 40) $(mat 100) $(le 1 -128) $(le 1 127) $(le 1 0) ee"  # no NUL, garbage pad
upd $M/packed_map "$(le 1 0) $(le 4 0) $(le 2 0) $(le 8 0)" \
	"$(str 16 '') $(le 4 0) $(le 4 0) $(le 4 0) $(le 4 0) $(mat 0xfff0) 00 00 00 00"

# struct misc (32B): h u32 | ch u32 | v s64 | neg s32 | ok _Bool | sc s8 | s s16 | ll s64
upd $M/misc_map "$(le 4 0)" "$(le 4 42) $(le 4 0xffffffff) $(le 8 -1) $(le 4 -2147483648) 01 $(le 1 -1) $(le 2 -32768) $(le 8 0x7fffffffffffffff)"
upd $M/misc_map "$(le 4 1)" "$(le 4 1)  $(le 4 2)          $(le 8 3)  $(le 4 -4)          02 $(le 1 5)  $(le 2 6)      $(le 8 -7)"   # _Bool = 2

# struct fam (8B): len u32 | kind u16 | n u16 | data u8[] (0 bytes)
upd $M/fam_map "$(le 4 0)" "$(le 4 3) $(le 2 1) $(le 2 3)"
upd $M/fam_map "$(le 4 1)" "$(le 4 0xffffffff) $(le 2 0xffff) $(le 2 0)"

# struct task_comm (20B): pid u32 | comm char[15] | state u8
upd $M/comm_map "$(le 4 1)" "$(le 4 100) $(str 15 bash) $(le 1 1)"
upd $M/comm_map "$(le 4 2)" "$(le 4 200) $(str 15 abcdefghijklmno) $(le 1 2)"     # 15 chars, no NUL
upd $M/comm_map "$(le 4 3)" "$(le 4 300) $(str 15 kworker/0:1H) $(le 1 0x80)"

for m in bits_map addr_map packed_map misc_map fam_map comm_map; do dump $M/$m "$O/$m"; done
save_btf $M/bits_map "$O"

# ================================================================ pinned (pin-by-name + map-in-map)
O=$HERE/pinned; mkdir -p "$O"; LOG=$O/updates.log; : > "$LOG"
loadobj pinned nopinmaps
M=$PIN/pinned/maps; mkdir -p "$M"
mv "$BYNAME" "$M/bpfcase_pinned"        # bpffs supports rename
# the program references bpfcase_pinned, outer and inner_a, but inner_b is only
# reachable through outer: pin every map that shares this object's BTF id.
PBTF=$(bpftool -j map show pinned "$M/bpfcase_pinned" | jq -r .btf_id)
for id in $(bpftool -j map show | jq -r ".[] | select(.btf_id == $PBTF) | .id"); do
	name=$(bpftool -j map show id "$id" | jq -r .name)
	[ -e "$M/$name" ] || bpftool map pin id "$id" "$M/$name"
done
upd $M/bpfcase_pinned "$(fk 0 0 0 17 '00 00' '00 00 00')" "$(fv 1 2 3 4 '00 00')"
upd $M/bpfcase_pinned "$(fk 0x0a000001 22 0x0a000002 6 '00 00' '00 00 00')" "$(fv 100 200 0 5 '00 00')"
upd $M/bpfcase_pinned "$(fk 0x0a000001 22 0x0a000002 6 '12 34' '00 00 00')" "$(fv 101 201 0 5 '00 00')"  # same fields, hole garbage
upd $M/inner_a "$(le 4 0)" "$(le 8 0xaaaa)"
upd $M/inner_a "$(le 4 3)" "$(le 8 -1)"
upd $M/inner_b "$(le 4 1)" "$(le 8 0xbbbb)"
for m in bpfcase_pinned inner_a inner_b outer; do dump $M/$m "$O/$m"; done
{
	echo "# map ids at capture time (inner map ids appear as values of 'outer')"
	for m in bpfcase_pinned inner_a inner_b outer; do
		echo "$m $(bpftool -j map show pinned $M/$m | jq -r .id)"
	done
} > "$O/map_ids.txt"
save_btf $M/bpfcase_pinned "$O"

# ================================================================ raw (no BTF): hex forms
O=$HERE/raw; mkdir -p "$O"; LOG=$O/updates.log; : > "$LOG"
M=$PIN/raw; mkdir -p "$M"
# key 16 + value 24 > 24 bytes  -> "key:\n..\nvalue:\n.." multi-line form
bpftool map create $M/rawflows type hash key 16 value 24 entries 64 name rawflows
# key 4 + value 8 <= 24 bytes   -> single-line "key: .. value: .." form
bpftool map create $M/rawsmall type hash key 4 value 8 entries 8 name rawsmall
# key 20 (> 16 bytes)           -> key/value hex wrapped at 16 bytes per line
bpftool map create $M/rawlong type hash key 20 value 24 entries 8 name rawlong
# per-CPU hash / array          -> "value (CPU 00): .." form
bpftool map create $M/rawpcpu type percpu_hash key 4 value 8 entries 8 name rawpcpu
bpftool map create $M/rawpcpu_arr type percpu_array key 4 value 24 entries 2 name rawpcpu_arr
# plain array without BTF (all slots dumped, zero-filled ones included)
bpftool map create $M/rawarray type array key 4 value 24 entries 4 name rawarray
{
	echo "# bpftool map create commands used (maps have no BTF)"
	echo "bpftool map create raw/rawflows type hash key 16 value 24 entries 64 name rawflows"
	echo "bpftool map create raw/rawsmall type hash key 4 value 8 entries 8 name rawsmall"
	echo "bpftool map create raw/rawlong type hash key 20 value 24 entries 8 name rawlong"
	echo "bpftool map create raw/rawpcpu type percpu_hash key 4 value 8 entries 8 name rawpcpu"
	echo "bpftool map create raw/rawpcpu_arr type percpu_array key 4 value 24 entries 2 name rawpcpu_arr"
	echo "bpftool map create raw/rawarray type array key 4 value 24 entries 4 name rawarray"
} > "$LOG"
# rawflows: same bytes as flows (struct flow_key / struct flow_value layout)
upd $M/rawflows "$(fk 0x0a000001 1234 0x0a000002 6  '00 00' '00 00 00')" "$(fv 10 1500 0x1 2 '00 00')"
upd $M/rawflows "$(fk 0x0a000001 1234 0x0a000003 17 'de ad' '00 00 00')" "$(fv 20 3000 0x2 2 '00 00')"
upd $M/rawflows "$(fk 0x0a000001 1234 0x0a000004 6  '00 00' 'be ef 99')" "$(fv 30 4500 0x3 3 '00 00')"
upd $M/rawflows "$(fk 0x0a000005 80   0x0a000001 6  'ff ff' 'ff ff ff')" "$(fv 40 6000 0x4 3 'aa bb')"
upd $M/rawflows "$(fk 0xc0a80101 53   0x08080808 17 '00 00' '00 00 00')" "$(fv -1 0x10000000000 0x80000000 65535 '00 00')"
for i in 1 2 3 4 5; do upd $M/rawsmall "$(le 4 $i)" "$(le 8 $((i * 0x1111)))"; done
upd $M/rawlong "$(le 4 1) $(str 16 systemd)" "$(le 8 7) $(le 4 1) $(le 4 2) $(le 4 3) $(le 4 4)"
upd $M/rawlong "$(le 4 31337) $(str 16 abcdefghijklmnop)" "$(le 8 3) $(le 4 9) $(le 4 9) $(le 4 9) $(le 4 9)"
upd $M/rawpcpu "$(le 4 1)" "$(le 8 0x1122334455667788)"
upd $M/rawpcpu "$(le 4 2)" "$(le 8 -2)"
upd $M/rawpcpu_arr "$(le 4 0)" "$(le 8 100) $(le 8 -5) $(le 4 -22) 01 00 00 00"
upd $M/rawarray "$(le 4 1)" "$(fv 1 2 3 4 '00 00')"
upd $M/rawarray "$(le 4 3)" "$(fv -1 -1 -1 65535 'ff ff')"
for m in rawflows rawsmall rawlong rawpcpu rawpcpu_arr rawarray; do dump $M/$m "$O/$m"; done

# ================================================================ machine-wide views
O=$HERE/system; mkdir -p "$O"
bpftool -j map show > "$O/map_show.json"
bpftool -j prog show > "$O/prog_show.json"
bpftool -j btf show > "$O/btf_show.json"
bpftool map show > "$O/map_show.txt"
bpftool prog show > "$O/prog_show.txt"
bpftool btf show > "$O/btf_show.txt"
find "$PIN" | sort | sed "s|^$PIN|bpfcase-corpus|" > "$O/pins.txt"
{
	echo "date_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel: $(uname -r)"
	echo "nproc_possible: $(cat /sys/devices/system/cpu/possible)"
	echo "bpftool: $(bpftool version | head -1)"
	echo "libbpf: $(bpftool version | sed -n 2p)"
	echo "clang: $(clang --version | head -1)"
} > "$O/capture-info.txt"

echo "dumps written under $HERE; cleaning up $PIN"
