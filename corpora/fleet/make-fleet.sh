#!/usr/bin/env bash
# Builds corpora/fleet/bundles/: 20 real bundles written by `bpfcase collect`
# on this machine, one per simulated node (node-01 … node-20, each collect
# run in its own UTS namespace with its own host name), with the corpus
# workloads in different states (see README.md), plus node-21-truncated.tar,
# node-01's bundle cut short as an interrupted upload would leave it.
# Needs root, bpffs, clang, cc, libbpf-dev and bpftool; leaves /sys/fs/bpf as
# it found it. Run from anywhere: `just corpus-fleet`.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BPFCASE:-target/release/bpfcase}
F=corpora/fleet
OUT=$F/bundles
ROOT=/sys/fs/bpf/bpfcase-fleet
W=target/corpora/fleet
LK=corpora/cases/lookups
[ "$(id -u)" = 0 ] || { echo "make-fleet.sh: needs root (CAP_BPF)" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir -p "$W" "$OUT"
rm -f "$OUT"/*.tar

clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c $F/flows_v2.bpf.c -o $F/flows_v2.bpf.o
cc -O2 -g -Wall $LK/workload.c -lbpf -o "$W/workload"

pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$ROOT"
}
trap cleanup EXIT
rm -rf "$ROOT"

UPDATES=corpora/dumps/flows/updates.log
# fill DIR LINES: replay lines (sed ranges, e.g. "1p;5,9p") of the corpus
# updates into the maps pinned in DIR.
fill() {
    grep '^bpftool map update' $UPDATES | sed -n "$2" |
        sed -e "s#pinned flows/maps/#pinned $1/#" |
        while read -r line; do sh -c "$line" >/dev/null; done
}
# Lines of $UPDATES: 1,5,6 clean `flows` keys; 2-4 keys with garbage in the
# padding (4 also in the value's); 7-9,11 clean `flows_lru`; 10 garbage;
# 12-19 the 8 entries that fill `flows_small`.
CLEAN="1p;5,9p;11,13p"
GARBAGE="1,11p;12,13p"
FULL="1p;5,9p;11,19p"

# fill_v2 DIR: clean entries with v2's 32-byte values (last_seen_ns set).
fill_v2() {
    bpftool map update pinned "$1/flows" \
        key hex 01 00 00 0a d2 04 00 00 02 00 00 0a 06 00 00 00 \
        value hex 0a 00 00 00 00 00 00 00 dc 05 00 00 00 00 00 00 01 00 00 00 02 00 00 00 00 10 a5 d4 e8 00 00 00
    bpftool map update pinned "$1/flows" \
        key hex 01 01 a8 c0 35 00 00 00 08 08 08 08 11 00 00 00 \
        value hex 03 00 00 00 00 00 00 00 b4 00 00 00 00 00 00 00 00 00 00 00 04 00 00 00 00 20 4a a9 d1 01 00 00
    bpftool map update pinned "$1/flows_lru" \
        key hex 0a 00 00 01 c0 a8 01 01 01 bb c7 38 06 00 00 00 \
        value hex 01 00 00 00 00 00 00 00 3c 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00 00 30 ef 7d ba 02 00 00
}

# settle: wait (at most 5 s) until the kernel has freed the maps of the
# node before (pins removed, freed asynchronously): collect lists every map
# sharing a name with a chosen one, and a dying one would look like a
# duplicate on this node.
settle() {
    for _ in $(seq 50); do
        bpftool map show 2>/dev/null | grep -Eq " name (flows|flows_lru|flows_small|conns|slots|tiny) " || return 0
        sleep 0.1
    done
    echo "make-fleet.sh: maps of an earlier node are still alive" >&2
}

# collect NODE ARGS..: `bpfcase collect` as host NODE (its own UTS namespace).
collect() {
    local node=$1
    shift
    unshare --uts sh -c 'hostname "$0" && exec "$@"' "$node" \
        "$B" collect --no-kernel-btf --no-bpftool -o "$OUT/$node.tar" "$@"
}

# v1 NODE LINES: flows.bpf.o loaded, its maps pinned and filled.
v1() {
    local d=$ROOT/$1
    settle
    mkdir -p "$d"
    bpftool prog loadall corpora/bpf/flows.bpf.o "$d/prog" pinmaps "$d/maps"
    fill "$d/maps" "$2"
    collect "$1" --pinned "$d"
    rm -rf "$d"
}

# v2 NODE [garbage]: the canary, flows_v2.bpf.o; with `garbage`, also a
# flows_lru key with bytes in its trailing padding (line 10's key).
v2() {
    local d=$ROOT/$1
    settle
    mkdir -p "$d"
    bpftool prog loadall $F/flows_v2.bpf.o "$d/prog" pinmaps "$d/maps"
    fill_v2 "$d/maps"
    if [ "${2:-}" = garbage ]; then
        bpftool map update pinned "$d/maps/flows_lru" \
            key hex 0a 00 00 01 0a 00 00 02 1f 90 00 01 06 11 22 33 \
            value hex 04 00 00 00 00 00 00 00 f0 00 00 00 00 00 00 00 01 00 00 00 04 00 00 00 00 40 93 4f a3 03 00 00
    fi
    collect "$1" --pinned "$d"
    rm -rf "$d"
}

# reload NODE: v1 loaded and filled, its program unloaded with the maps
# left pinned, then loaded again: stale pins and duplicate names.
reload() {
    local d=$ROOT/$1
    settle
    mkdir -p "$d"
    bpftool prog loadall corpora/bpf/flows.bpf.o "$d/v1" pinmaps "$d/v1_maps"
    fill "$d/v1_maps" "$CLEAN"
    rm -rf "$d/v1"
    bpftool prog loadall corpora/bpf/flows.bpf.o "$d/v2" pinmaps "$d/v2_maps"
    fill "$d/v2_maps" "1p"
    collect "$1" --pinned "$d"
    rm -rf "$d"
}

# lookups NODE: corpora/cases/lookups' workload, traced for 2 s: padding and
# byte-order misses, deleted and absent keys, an index past max_entries,
# E2BIG, EEXIST, calls on a stale pin's map.
lookups() {
    local d=$ROOT/$1
    settle
    mkdir -p "$d"
    bpftool prog loadall $LK/lookups.bpf.o "$d/v1" pinmaps "$d/v1_maps"
    rm -rf "$d/v1"
    "$W/workload" $LK/lookups.bpf.o 30 "$d/v1_maps/conns" > "$W/ready" &
    pid=$!
    for _ in $(seq 100); do grep -q ready "$W/ready" 2>/dev/null && break; sleep 0.1; done
    grep -q "^$pid ready" "$W/ready" || { echo "make-fleet.sh: workload did not start" >&2; exit 1; }
    collect "$1" --trace-pid "$pid" --trace-for 2s --pinned "$d"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    rm -rf "$d"
}

mkdir -p "$ROOT"
for n in 01 02 03 04 05; do v1 node-$n "$CLEAN"; done   # clean, old release
for n in 06 07 08 09 10; do v2 node-$n; done             # clean, canary release
v2 node-11 garbage                                         # canary, a garbage flows_lru key
for n in 12 13; do v1 node-$n "$GARBAGE"; done           # padding garbage
for n in 14 15; do v1 node-$n "$FULL"; done              # flows_small full
for n in 16 17; do reload node-$n; done                  # stale pins, duplicate names
for n in 18 19 20; do lookups node-$n; done              # missed lookups, traced
# An upload cut short: the first 6 KiB of node-01's bundle (no manifest).
head -c 6144 "$OUT/node-01.tar" > "$OUT/node-21-truncated.tar"
ls -l "$OUT"
du -sh "$OUT"
