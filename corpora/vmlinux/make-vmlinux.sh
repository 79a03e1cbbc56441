#!/bin/sh
# Copy the running kernel's BTF and record its identity.  No root needed
# (/sys/kernel/btf/vmlinux is world-readable).
set -eu
cd "$(dirname "$0")"
cp /sys/kernel/btf/vmlinux vmlinux.btf
{
	echo "uname_r: $(uname -r)"
	echo "size_bytes: $(wc -c < vmlinux.btf)"
	echo "sha256: $(sha256sum vmlinux.btf | cut -d' ' -f1)"
	echo "bpftool: $(bpftool version | head -1)"
	echo "bpftool_btf_dump_lines: $(bpftool btf dump file vmlinux.btf | wc -l)"
	echo "btf_type_count: $(bpftool btf dump file vmlinux.btf | grep -c '^\[')"
	echo "kinds:"
	bpftool btf dump file vmlinux.btf | grep '^\[' | awk '{print $2}' | sort | uniq -c |
		awk '{printf "  %s: %s\n", $2, $1}'
} > vmlinux.info.txt
cat vmlinux.info.txt
