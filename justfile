# bpfcase tasks. `just --list` shows them all.

import 'corpora/corpora.just'
import 'benches/map.just'
import 'benches/dumps.just'
import 'benches/collect.just'
import 'benches/layout.just'
import 'benches/dwarf.just'
import 'benches/schema.just'
import 'benches/trace.just'
import 'deploy/deploy.just'
import 'benches/fleet.just'
import 'docs/screenshots.just'
import 'benches/analyze.just'
import 'benches/prog.just'
import 'fuzz/fuzz.just'
import 'install.just'

# Build the release binary.
build:
    cargo build --release

# Format, lint and run every test (what CI runs).
test:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    just image
    just alerts-test
    cargo test --release

# Rebuild the --trace-pid tracepoint program (checked in, embedded with
# include_bytes!); see src/collect/trace/README.md.
trace-bpf:
    clang -O2 -g -target bpf -fdebug-prefix-map={{justfile_directory()}}=. \
        -I/usr/include/$(uname -m)-linux-gnu \
        -c src/collect/trace/bpf_calls.bpf.c -o src/collect/trace/bpf_calls.bpf.o

# Run the main job on a shipped example: analyze a real bundle whose
# collect traced an agent's map calls, and explain why each failed call failed.
demo:
    cargo run --release -q -- analyze corpora/cases/lookups/case.tar --fail-on never

# The other shipped case: a program reloaded while its old maps stayed
# pinned, with the Go package mirroring its structs.
demo-reload:
    cargo run --release -q -- analyze corpora/cases/reload/case.tar corpora/go --fail-on never

# Every benchmark: our commands against their peers on the same inputs, with
# ratios. The map benchmarks need root (they create a 1M-entry map).
bench:
    #!/usr/bin/env bash
    set -euo pipefail
    just bench-layout
    just bench-dwarf
    just bench-schema
    [ -e /sys/fs/bpf/bpfcase-bench/maps/bench_flows ] || just bench-map
    just bench-dumps
    just bench-collect
    just bench-trace
    just bench-prog
