#!/usr/bin/env bash
# Collects corpora/cases/node/case.tar: a real node running 17 of Debian's
# libbpf-tools and a bpftrace script, programs nobody here wrote (README.md).
# ROOT REQUIRED; needs the packages libbpf-tools and bpftrace (.ci/setup).
# `just corpora-node` runs it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bpfcase=${BPFCASE:-$root/target/release/bpfcase}

# The same tools as tests/real_node.rs: tracepoint or raw-tracepoint
# attaches (no kprobes in this kernel, fentry refused).
tools=(execsnoop opensnoop runqlat biolatency tcplife hardirqs cpudist syscount
       exitsnoop sigsnoop softirqs runqslower mountsnoop tcpstates killsnoop
       drsnoop bitesize)
script='tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); } tracepoint:sched:sched_process_exec { @execs[comm] = count(); }'

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# Each tool in its own mount namespace with tracefs mounted there; collect
# runs here, where tracefs is not mounted.
in_ns='{ mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing; } && exec "$0" "$@"'
for t in "${tools[@]}"; do
    unshare --mount --propagation private sh -c "$in_ns" "/usr/sbin/$t" >/dev/null 2>"$tmp/$t.err" &
    pids+=($!)
done
unshare --mount --propagation private sh -c "$in_ns" bpftrace -e "$script" >/dev/null 2>"$tmp/bpftrace.err" &
pids+=($!)

# Loaded when every process holds a program (a prog fd or a link's).
for _ in $(seq 1 160); do
    ready=1
    for p in "${pids[@]}"; do
        kill -0 "$p" 2>/dev/null || { echo "pid $p exited:" >&2; cat "$tmp"/*.err >&2; exit 1; }
        grep -qs '^prog_id:' /proc/"$p"/fdinfo/* || ready=0
    done
    [ "$ready" = 1 ] && break
    sleep 0.25
done
[ "$ready" = 1 ] || { echo "the tools did not load within 40 s" >&2; exit 1; }
sleep 2  # a little traffic in the maps

# The kernel's BTF is left out (5 MB, the same on every node of one kernel):
# the maps' own BTF is kept. --max-entries bounds every dump; on this quiet
# machine no map reaches it (a cut would make the bundle partial, and
# analyze would say so).
"$bpfcase" collect -o "$here/case.tar" --no-kernel-btf --max-entries 1000
