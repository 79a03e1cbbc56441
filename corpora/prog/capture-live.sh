#!/bin/sh
# Capture live/: a bundle (as a directory) of uninit_loader's programs as
# the kernel holds them, for the tests of `ingest::prog_xlated` and of
# analyze's reading of translated code. Needs root (CAP_BPF, CAP_PERFMON,
# kallsyms addresses) and a built bpfcase.
# Usage: corpora/prog/capture-live.sh   (BPFCASE=path/to/bpfcase to override)
set -eu
cd "$(dirname "$0")"
BPFCASE=${BPFCASE:-../../target/release/bpfcase}
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
./uninit_loader > "$tmp/out" &
pid=$!
while ! grep -q loaded "$tmp/out"; do sleep 0.1; done
"$BPFCASE" collect --no-bpftool --no-kernel-btf --pid "$pid" -o "$tmp/live.tar"
rm -rf live
mkdir live
tar -xf "$tmp/live.tar" -C live
echo "captured live/ ($(ls live/progs | wc -l) program members)"
