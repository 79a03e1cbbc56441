#!/bin/sh
# Rebuild the objects of the cilium/ebpf examples copied here, with this
# machine's clang, from a cilium/ebpf checkout's examples/headers.
# Usage: CILIUM_EBPF=/path/to/cilium/ebpf corpora/bpf2go/cilium/build.sh
set -eu
cd "$(dirname "$0")"
: "${CILIUM_EBPF:?set CILIUM_EBPF to a cilium/ebpf checkout (examples/headers is read)}"
CLANG=${CLANG:-clang}
for ex in tcprtt_sockops fentry; do
	"$CLANG" -O2 -g -target bpf -D__TARGET_ARCH_x86 -I "$CILIUM_EBPF/examples/headers" \
		-c "$ex/$ex.c" -o "$ex/$ex.bpf.o"
	echo "built $ex/$ex.bpf.o ($(wc -c < "$ex/$ex.bpf.o") bytes)"
done
