#!/bin/sh
# Capture longname-live/: a bundle (as a directory) of longname.bpf.o's
# three maps as the kernel holds them (names cut to 15 bytes by libbpf:
# `established_ses`, `conntrack_flows` twice), empty, with their program's
# translated code. Loaded by bpftool (libbpf), not attached, pinned under a
# temporary bpffs directory and unpinned afterwards. Needs root and a
# built bpfcase.
# Usage: corpora/prog/capture-longname.sh   (BPFCASE=path/to/bpfcase to override)
set -eu
cd "$(dirname "$0")"
BPFCASE=${BPFCASE:-../../target/release/bpfcase}
pins=/sys/fs/bpf/bpfcase-longname
tmp=$(mktemp -d)
trap 'rm -rf "$pins" "$tmp"' EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
rm -rf "$pins"
bpftool prog loadall longname.bpf.o "$pins" pinmaps "$pins/maps"
ids=""
for m in established_sessions conntrack_flows_by_tuple conntrack_flows_by_tuple6; do
	ids="$ids --map $(bpftool -j map show pinned "$pins/maps/$m" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
done
# shellcheck disable=SC2086
"$BPFCASE" collect --no-bpftool --no-kernel-btf $ids -o "$tmp/live.tar"
rm -rf longname-live
mkdir longname-live
tar -xf "$tmp/live.tar" -C longname-live
echo "captured longname-live/ ($(ls longname-live/maps | wc -l) map members)"
