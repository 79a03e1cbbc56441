#!/bin/sh
# Derive the broken copies of ok/bpf_bpfel.go, one planted mistake each,
# every other byte identical to bpf2go's output.
# Usage: corpora/bpf2go/make-broken.sh   (works in its own directory)
set -eu
cd "$(dirname "$0")"

# broken <dir> <sed script>: ok/bpf_bpfel.go with one edit, gofmt'ed, checked to differ.
broken() {
	mkdir -p "$1"
	sed "$2" ok/bpf_bpfel.go > "$1/bpf_bpfel.go"
	gofmt -w "$1/bpf_bpfel.go"
	if cmp -s ok/bpf_bpfel.go "$1/bpf_bpfel.go"; then
		echo "$1: the edit changed nothing" >&2
		exit 1
	fi
}

# field order swapped: the ring-buffer event's pid and comm
broken broken-order '/^type bpfEvent struct/,/^}/{
/\tPid /{h;d}
/\tComm /G
}'
# width changed: conn_stats.packets as uint64 instead of uint32
broken broken-width '/^type bpfConnStats struct/,/^}/s/\(\tPackets *\)uint32/\1uint64/'
# pad wrong: conn_key's hole after proto as 7 bytes instead of 3
broken broken-pad '/^type bpfConnKey struct/,/^}/s/_ *\[3\]byte/_ [7]byte/'
# field renamed: flow.started_ns as StartTime (bpf2go writes StartedNs)
broken broken-rename '/^type bpfFlow struct/,/^}/s/\tStartedNs /\tStartTime /'
# union pad wrong: addr_val's anonymous union padded to 12 bytes instead of 16
broken broken-union '/^type bpfAddrVal struct/,/^}/s/_ *\[12\]byte/_ [8]byte/'
# __be16 width changed: tuple.sport as uint32
broken broken-be16 '/^type bpfTuple struct/,/^}/s/\(\tSport *\)uint16/\1uint32/'
# stale: a generated type whose C struct the object no longer has (old_event)
broken stale '/^type bpfPerfRec struct {/i\
type bpfOldEvent struct {\
	_     structs.HostLayout\
	Pid   uint32\
	Flags uint32\
}\

'
echo "made $(ls -d broken-* | wc -l) broken copies and stale/"
