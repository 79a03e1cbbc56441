#!/bin/sh
# Rebuild the corpus BPF objects and their pahole reference output.
# Usage: corpora/bpf/build.sh [NAME...]   (from anywhere; works in its own
# directory; default: every object)
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
for src in ${*:-flows stats layouts pinned typedefs attrs attrs_future bpf2go}; do
	"$CLANG" -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
		-c "$src.bpf.c" -o "$src.bpf.o"
	pahole -F btf "$src.bpf.o" > "$src.bpf.pahole.txt"
	bpftool btf dump file "$src.bpf.o" > "$src.bpf.btf.txt"
	bpftool btf dump file "$src.bpf.o" format c > "$src.bpf.btf.h"
	# raw .BTF section bytes (the blob libbpf loads, before libbpf sanitising)
	llvm-objcopy --dump-section ".BTF=$src.bpf.btf" "$src.bpf.o" /dev/null
	if [ "$src" = attrs ]; then
		# libbpf's own reading of the map definitions (bpftool -d prints
		# libbpf's debug log). bpftool 7.1's libbpf 1.1 stops at `arena`
		# (it predates __ulong), so the object is opened, never loaded.
		{ bpftool -d prog loadall attrs.bpf.o /sys/fs/bpf/bpfcase-attrs-probe 2>&1 || true; } |
			grep "^libbpf: map '" > attrs.bpf.libbpf.txt
	fi
	echo "built $src.bpf.o ($(wc -c < "$src.bpf.o") bytes)"
done
