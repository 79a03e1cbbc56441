#!/bin/sh
# Build the single-file Rust layout corpus (no cargo, no deps) and record the
# offsets it prints.  Needs rustc >= 1.77 (std::mem::offset_of!).
set -eu
cd "$(dirname "$0")"
rustc -g -C opt-level=0 --edition 2021 --remap-path-prefix="$PWD"=. \
	-C link-arg=-Wl,--compress-debug-sections=zlib \
	layouts.rs -o layouts.x86_64
./layouts.x86_64 > offsets.x86_64.json
rustc --version > rustc-version.txt
ls -l layouts.x86_64
