#!/usr/bin/env bash
# Builds corpora/cases/reload/case.tar, a real bundle written by
# `bpfcase collect` on this machine: flows.bpf.o was loaded (v1), its maps
# filled with the corpus entries (three keys carry garbage in their padding),
# its program unloaded while the maps stayed pinned, then loaded again (v2),
# whose maps got a few entries. Needs root and bpffs; leaves /sys/fs/bpf as
# it found it. Run from anywhere: `just corpora-cases`.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BPFCASE:-target/release/bpfcase}
D=/sys/fs/bpf/bpfcase-case-reload
OUT=corpora/cases/reload/case.tar
[ "$(id -u)" = 0 ] || { echo "make-cases.sh: needs root (CAP_BPF)" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
trap 'rm -rf "$D"' EXIT
rm -rf "$D"
mkdir -p "$D"

fill() { # fill DIR [N]: replay the corpus updates into the maps pinned in DIR
    grep '^bpftool map update' corpora/dumps/flows/updates.log |
        head -n "${2:-1000}" |
        sed -e "s#pinned flows/maps/#pinned $1/#" |
        while read -r line; do sh -c "$line" 2>/dev/null || true; done
}

bpftool prog loadall corpora/bpf/flows.bpf.o "$D/v1" pinmaps "$D/v1_maps"
fill "$D/v1_maps"
rm -rf "$D/v1"
bpftool prog loadall corpora/bpf/flows.bpf.o "$D/v2" pinmaps "$D/v2_maps"
fill "$D/v2_maps" 3
"$B" collect --pinned "$D" --elf corpora/bpf/flows.bpf.o -o "$OUT"
ls -l "$OUT"
