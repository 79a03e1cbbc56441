#!/usr/bin/env bash
# bpfcase corpus: libbpf's global data maps, loaded for real.
#
# Builds datasec_globals.bpf.o (clang -O2 -g -target bpf), loads it with
# `bpftool prog loadall ... pinmaps` (libbpf 1.1 inside bpftool 7.1 creates
# one single-entry array map per global data section, fills it from the
# object, fills .kconfig, and freezes the read-only ones), then captures for
# every such map bpftool's `-j map dump` (with `formatted`), `-j map show`,
# and the map's BTF as the kernel holds it (raw, via btf-raw from
# corpora/dumps/btf-raw.c, and as `bpftool btf dump` text). Then the .bss
# and .data variables are written twice (snapshots for `diff`), and a real
# bundle is written with `bpfcase collect --pinned`.
#
# MUST RUN AS ROOT (CAP_BPF/CAP_SYS_ADMIN, a bpffs at /sys/fs/bpf). Leaves
# /sys/fs/bpf as it found it. Usage: corpora/globals/make-globals.sh (or
# `just corpora-globals` from the repository root).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=${BPFCASE:-$ROOT/target/release/bpfcase}
P=/sys/fs/bpf/bpfcase-globals
TMP=$(mktemp -d)
[ "$(id -u)" = 0 ] || { echo "make-globals.sh: needs root (CAP_BPF)" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
cleanup() { rm -rf "$P" "$TMP"; }
cleanup
TMP=$(mktemp -d)
trap cleanup EXIT

cd "$HERE"
clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
	-c datasec_globals.bpf.c -o datasec_globals.bpf.o
bpftool btf dump file datasec_globals.bpf.o > datasec_globals.bpf.btf.txt
# pahole 1.24 prints structs and unions only: no DATASEC, no VAR.
pahole -F btf datasec_globals.bpf.o > datasec_globals.bpf.pahole.txt 2>&1 || true
gcc -O2 -o "$TMP/btf-raw" "$ROOT/corpora/dumps/btf-raw.c" -lbpf

mkdir -p "$P"
bpftool prog loadall datasec_globals.bpf.o "$P/progs" pinmaps "$P/maps"

# capture FILE_IN_BPFFS STEM: dump (formatted), show, once per map
capture() {
	bpftool -j map dump pinned "$P/maps/$1" > "dumps/$2.json"
	bpftool -j map show pinned "$P/maps/$1" > "dumps/$2.show.json"
}
rm -rf dumps && mkdir -p dumps
# bpffs names: libbpf writes the map name with '.' turned into '_'.
capture datasec__rodata rodata
capture datasec__bss bss
capture datasec__data data
capture datasec_kconfig kconfig
capture _data_custom data.custom
capture _rodata_str rodata.str
btf_id=$(jq -r '.btf_id' dumps/rodata.show.json)
"$TMP/btf-raw" "$btf_id" > dumps/map.btf
bpftool btf dump id "$btf_id" > dumps/map.btf.txt

# Snapshots for diff: .bss counter (offset 8) 3 then 7, last_pid 42 then
# 43; .data version (offset 0) 3 then 4. Whole values, little-endian.
bss() { # bss COUNTER PID
	local v
	v=$(printf '%02x 00 00 00 00 00 00 00 %02x 00 00 00 00 00 00 00 01 ' "$2" "$1")
	v+=$(printf '%02x ' $(printf 'bash' | od -An -tu1))
	v+='00 00 00 00 00 00 00 00 00 00 00 00'
	bpftool map update pinned "$P/maps/datasec__bss" key hex 00 00 00 00 value hex $v
}
bss 3 42
bpftool -j map dump pinned "$P/maps/datasec__bss" > dumps/bss.1.json
bss 7 43
bpftool -j map dump pinned "$P/maps/datasec__bss" > dumps/bss.2.json
bpftool -j map dump pinned "$P/maps/datasec__data" > dumps/data.1.json
bpftool map update pinned "$P/maps/datasec__data" key hex 00 00 00 00 \
	value hex 04 00 00 00 05 00 00 00 d6 ff ff ff ff ff ff ff
bpftool -j map dump pinned "$P/maps/datasec__data" > dumps/data.2.json

# A real bundle of these maps (their BTF, fdinfo, program, pins).
# --pid $$ limits the process scan to this shell (it holds no BPF fd), so
# only the pinned maps are dumped; their BTF is standalone (no vmlinux base).
"$B" collect --pinned "$P" --pid $$ --no-kernel-btf --elf datasec_globals.bpf.o -o case.tar
# A later bundle of the same maps: .bss counter 9, last_pid 44 (for
# `bpfcase diff case.tar case.later.tar`).
bss 9 44
"$B" collect --pinned "$P" --pid $$ --no-kernel-btf -o case.later.tar
ls -l case.tar case.later.tar dumps
