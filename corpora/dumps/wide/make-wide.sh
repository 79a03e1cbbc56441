#!/bin/bash
# bpfcase corpus: a map whose value holds 128-bit integers, dumped by bpftool
# (reference for how bpftool prints __int128: `0x` + hex without leading zeros).
# MUST RUN AS ROOT. Usage: corpora/dumps/wide/make-wide.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PIN=/sys/fs/bpf/bpfcase-wide
[ "$(id -u)" = 0 ] || { echo "make-wide.sh: must run as root" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
cleanup() { rm -rf "$PIN"; }
cleanup
trap cleanup EXIT
clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$HERE/u128.bpf.c" -o "$HERE/u128.bpf.o"
mkdir -p "$PIN"
bpftool prog loadall "$HERE/u128.bpf.o" "$PIN" pinmaps "$PIN/maps"
M=$PIN/maps/wide_map
# a = 0x0101010a, b = -1 (all ones)
bpftool map update pinned "$M" key hex 00 00 00 00 value hex 0a 01 01 01 00 00 00 00 00 00 00 00 00 00 00 00 ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff
# a = 2 << 64 | 1, b = 0
bpftool map update pinned "$M" key hex 01 00 00 00 value hex 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
bpftool -j map dump pinned "$M" > "$HERE/wide_map.json"
bpftool map dump pinned "$M" > "$HERE/wide_map.txt"
