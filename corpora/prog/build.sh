#!/bin/sh
# Rebuild the program-code corpus: clang -O2 -g -target bpf, with the source
# directory mapped to `.` so the line info (and so the findings' source
# lines) do not depend on where the repository is checked out.
# Usage: corpora/prog/build.sh [NAME...]   (default: every object)
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
for src in ${*:-uninit clean ringbuf}; do
	"$CLANG" -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
		-fdebug-prefix-map="$PWD=." -c "$src.bpf.c" -o "$src.bpf.o"
	llvm-objdump -d -l --no-show-raw-insn "$src.bpf.o" > "$src.bpf.objdump.txt"
	echo "built $src.bpf.o ($(wc -c < "$src.bpf.o") bytes)"
done
