#!/bin/sh
# Rebuild the corpus BPF objects and their pahole reference output.
# Usage: corpora/bpf/build.sh   (from anywhere; works in its own directory)
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
for src in flows stats layouts pinned typedefs; do
	"$CLANG" -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
		-c "$src.bpf.c" -o "$src.bpf.o"
	pahole -F btf "$src.bpf.o" > "$src.bpf.pahole.txt"
	bpftool btf dump file "$src.bpf.o" > "$src.bpf.btf.txt"
	bpftool btf dump file "$src.bpf.o" format c > "$src.bpf.btf.h"
	# raw .BTF section bytes (the blob libbpf loads, before libbpf sanitising)
	llvm-objcopy --dump-section ".BTF=$src.bpf.btf" "$src.bpf.o" /dev/null
	echo "built $src.bpf.o ($(wc -c < "$src.bpf.o") bytes)"
done
