#!/usr/bin/env bash
# Builds corpora/cases/growing/case.tar, a real bundle written by
# `bpfcase collect --snapshots 4 --interval 2s` on this machine while
# workload.c leaked entries of `tasks` (see README.md). Needs root, bpffs,
# clang, cc and libbpf-dev; leaves /sys/fs/bpf as it found it.
# Run from anywhere: `just corpora-growing`.
set -euo pipefail
cd "$(dirname "$0")/../../.."
B=${BPFCASE:-target/release/bpfcase}
C=corpora/cases/growing
D=/sys/fs/bpf/bpfcase-case-growing
W=target/corpora/growing
OUT=$C/case.tar
[ "$(id -u)" = 0 ] || { echo "make-case.sh: needs root (CAP_BPF)" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir -p "$W"
clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c $C/growing.bpf.c -o $C/growing.bpf.o
cc -O2 -g -Wall $C/workload.c -lbpf -o "$W/workload"

pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$D"
}
trap cleanup EXIT
rm -rf "$D"
mkdir -p "$D"
bpftool prog loadall $C/growing.bpf.o "$D/progs" pinmaps "$D/maps"
"$W/workload" "$D/maps" 30 > "$W/ready" &
pid=$!
for _ in $(seq 100); do grep -q ready "$W/ready" 2>/dev/null && break; sleep 0.1; done
grep -q "^$pid ready" "$W/ready" || { echo "make-case.sh: workload did not start" >&2; exit 1; }
# Let the LRU map fill and the leak build up before the first snapshot.
sleep 4
"$B" collect --snapshots 4 --interval 2s --pinned "$D" --elf $C/growing.bpf.o -o "$OUT"
ls -l "$OUT"
