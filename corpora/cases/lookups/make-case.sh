#!/usr/bin/env bash
# Builds corpora/cases/lookups/case.tar, a real bundle written by
# `bpfcase collect --trace-pid` on this machine while workload.c made map
# calls that fail in known ways (see README.md); and workload.strace, an
# strace log of the same process, with strace-case.tar collected next to it.
# Needs root, bpffs, clang, cc, strace and libbpf-dev; leaves /sys/fs/bpf
# as it found it.
# Run from anywhere: `just corpora-cases`.
set -euo pipefail
cd "$(dirname "$0")/../../.."
B=${BPFCASE:-target/release/bpfcase}
C=corpora/cases/lookups
D=/sys/fs/bpf/bpfcase-case-lookups
W=target/corpora/lookups
OUT=$C/case.tar
[ "$(id -u)" = 0 ] || { echo "make-case.sh: needs root (CAP_BPF)" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir -p "$W"
clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c $C/lookups.bpf.c -o $C/lookups.bpf.o
cc -O2 -g -Wall $C/workload.c -lbpf -o "$W/workload"

pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$D"
}
trap cleanup EXIT
rm -rf "$D"
mkdir -p "$D"

# v1: loaded with its maps pinned, then its program unloaded: the maps stay.
bpftool prog loadall $C/lookups.bpf.o "$D/v1" pinmaps "$D/v1_maps"
rm -rf "$D/v1"
# v2: the workload loads the object again and works on its own maps, and
# also on v1's `conns` through the old pin.
"$W/workload" $C/lookups.bpf.o 60 "$D/v1_maps/conns" > "$W/ready" &
pid=$!
for _ in $(seq 100); do grep -q ready "$W/ready" 2>/dev/null && break; sleep 0.1; done
grep -q "^$pid ready" "$W/ready" || { echo "make-case.sh: workload did not start" >&2; exit 1; }

# The same calls as strace sees them (pointers, no key bytes), with a
# bundle of the same moment whose fdinfo ties the log's fds to map ids.
strace -f -tt -y -e trace=bpf -p "$pid" -o $C/workload.strace &
spid=$!
sleep 2
kill -INT "$spid"
wait "$spid" || true
"$B" collect --pid "$pid" --pinned "$D" --elf $C/lookups.bpf.o -o $C/strace-case.tar

"$B" collect --trace-pid "$pid" --trace-for 2s --snapshots 3 --interval 300ms \
    --pinned "$D" --elf $C/lookups.bpf.o -o "$OUT"
ls -l "$OUT" $C/strace-case.tar $C/workload.strace
