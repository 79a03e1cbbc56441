#!/bin/sh
# Build the C layout corpus (x86_64 and, with gcc-multilib, i386) and record
# the offsets the binaries print.
set -eu
cd "$(dirname "$0")"
gcc -g -O0 -Wall -fdebug-prefix-map="$PWD"=. -o layouts.x86_64 layouts.c
./layouts.x86_64 > offsets.x86_64.json
if gcc -g -O0 -Wall -m32 -fdebug-prefix-map="$PWD"=. -o layouts.i386 layouts.c; then
	./layouts.i386 > offsets.i386.json
else
	echo "note: gcc -m32 failed (gcc-multilib missing?); i386 variant skipped" >&2
fi
ls -l layouts.x86_64 layouts.i386 2>/dev/null || true
