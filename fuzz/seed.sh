#!/usr/bin/env bash
# Copies seeds from corpora/ into each fuzz target's working corpus
# (fuzz/corpus/TARGET, not committed). Idempotent: existing files are kept,
# so a corpus grown by earlier campaigns stays. Run from the repository root
# (`just fuzz-seed`); schema seeds need the release binary (built if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
c=fuzz/corpus
mkdir -p "$c"/{btf,btf_structured,elf_maps,dwarf,go_src,yaml_schema,dump_json,dump_text,trace_jsonl,strace,manifest,bundle,prog_object}
seed() { # TARGET FILE..: copy each file in under a name that keeps its origin
    local t=$1; shift
    for f in "$@"; do
        cp -n "$f" "$c/$t/$(echo "$f" | tr / _)"
    done
}
shopt -s nullglob globstar
seed btf corpora/bpf/*.btf corpora/dumps/*/btf.kernel.btf corpora/vmlinux/demo_module.btf
seed elf_maps corpora/bpf/*.bpf.o corpora/cases/lookups/lookups.bpf.o
seed dwarf corpora/c/layouts.x86_64 corpora/c/layouts.i386
seed go_src corpora/go/*.go corpora/go-scalar/*.go corpora/bpf2go/**/*.go
seed dump_json corpora/dumps/**/*.json
seed dump_text corpora/dumps/**/*.txt
seed strace corpora/cases/lookups/workload.strace
seed prog_object corpora/prog/*.bpf.o

# Bundle members and small bundles: the shipped cases without vmlinux's
# 5 MB of BTF (the manifest still lists it; analyze reports it absent).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for case in reload lookups; do
    mkdir -p "$tmp/$case"
    tar -xf "corpora/cases/$case/case.tar" -C "$tmp/$case"
    rm -f "$tmp/$case/btf/vmlinux.btf"
    cp -n "$tmp/$case/manifest.json" "$c/manifest/$case-manifest.json"
    (cd "$tmp/$case" && tar -cf "$tmp/$case.tar" --sort=name --mtime=@0 --owner=0 --group=0 *)
    gzip -9n -c "$tmp/$case.tar" > "$tmp/$case.tar.gz"
    cp -n "$tmp/$case.tar" "$tmp/$case.tar.gz" "$c/bundle/"
done
cp -n "$tmp/lookups/trace/bpf-calls.jsonl" "$c/trace_jsonl/lookups-bpf-calls.jsonl"
head -n 40 "$tmp/lookups/trace/bpf-calls.jsonl" > "$c/trace_jsonl/lookups-head.jsonl"
head -n 60 corpora/cases/lookups/workload.strace > "$c/strace/workload-head.strace"

# YAML schemas as `bpfcase schema` writes them, from the BPF objects' BTF
# (every named struct) and from the Go mirrors.
bin=target/release/bpfcase
[ -x "$bin" ] || cargo build --release -q
for btf in corpora/bpf/*.btf; do
    for t in $("$bin" layout "$btf" --format json | jq -r '.[].name' | grep -v '^$' | sort -u); do
        out="$c/yaml_schema/$(basename "$btf" .btf)-$t.yaml"
        [ -e "$out" ] || "$bin" schema --btf "$btf" --type "$t" > "$out" 2>/dev/null || rm -f "$out"
    done
done
for t in $(grep -ho '^type [A-Z][A-Za-z0-9]* struct' corpora/go/*.go | awk '{print $2}' | sort -u); do
    out="$c/yaml_schema/go-$t.yaml"
    [ -e "$out" ] || "$bin" schema --go-src corpora/go --type "$t" > "$out" 2>/dev/null || rm -f "$out"
done
for t in "$c"/*; do
    echo "fuzz-seed: $(basename "$t"): $(ls "$t" | wc -l) inputs"
done
