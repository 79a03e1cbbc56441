# bpfcase tasks. `just --list` shows them all.

import 'corpora/corpora.just'
import 'benches/map.just'
import 'benches/dumps.just'
import 'benches/collect.just'
import 'benches/layout.just'
import 'benches/dwarf.just'
import 'benches/schema.just'

# Build the release binary.
build:
    cargo build --release

# Format, lint and run every test (what CI runs).
test:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    cargo test --release

# Run the main job on a shipped example: analyze a corpus BPF object.
demo:
    cargo run --release -q -- analyze corpora/bpf/flows.bpf.o --fail-on never
