#!/bin/sh
# Split BTF as a kernel module carries it: pahole encodes demo_module.c's
# DWARF over corpora/vmlinux/vmlinux.btf (--btf_base), so its ids and strings
# continue the base's. No root needed. Needs gcc, pahole, binutils.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -g -c demo_module.c -o "$tmp/demo_module.o"
pahole -J --btf_base vmlinux.btf "$tmp/demo_module.o"
objcopy --dump-section .BTF=demo_module.btf "$tmp/demo_module.o"
