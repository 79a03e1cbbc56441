#!/bin/sh
# Rebuild the program-code corpus: clang -O2 -g -target bpf, with the source
# directory mapped to `.` so the line info (and so the findings' source
# lines) do not depend on where the repository is checked out; and
# uninit_loader, the libbpf-skeleton loader of uninit.bpf.o
# (`bpftool gen skeleton`, then cc against libbpf).
# Usage: corpora/prog/build.sh [NAME...]   (default: every object, then the loader)
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
CC=${CC:-cc}
for src in ${*:-uninit clean ringbuf longname uninit_loader}; do
	if [ "$src" = uninit_loader ]; then
		bpftool gen skeleton uninit.bpf.o name uninit > uninit.skel.h
		"$CC" -O2 -g uninit_loader.c -lbpf -o uninit_loader
		echo "built uninit_loader ($(wc -c < uninit_loader) bytes)"
		continue
	fi
	"$CLANG" -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
		-fdebug-prefix-map="$PWD=." -c "$src.bpf.c" -o "$src.bpf.o"
	llvm-objdump -d -l --no-show-raw-insn "$src.bpf.o" > "$src.bpf.objdump.txt"
	echo "built $src.bpf.o ($(wc -c < "$src.bpf.o") bytes)"
done
