#!/usr/bin/env python3
"""Writes N fleet bundles into DIR for `just bench-fleet`: copies of the real
bundles of corpora/fleet/bundles (node-01 … node-20, in turn), each with its
own host name (`bench-NNN`) written into its manifest (the manifest lists
every other file's SHA-256, not its own, so the copy verifies as the
original does). With KERNEL_BTF=yes each also carries this machine's
/sys/kernel/btf/vmlinux (listed in the manifest with its SHA-256), as a
collect without --no-kernel-btf writes it.

Usage: fleet_bundles.py DIR N yes|no
"""
import hashlib
import io
import json
import pathlib
import sys
import tarfile


def main():
    out, n, kernel_btf = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "yes"
    src = sorted(pathlib.Path("corpora/fleet/bundles").glob("node-[0-9][0-9].tar"))
    if not src:
        sys.exit("no bundles in corpora/fleet/bundles (run `just corpus-fleet`)")
    vmlinux = pathlib.Path("/sys/kernel/btf/vmlinux").read_bytes() if kernel_btf else None
    out.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        with tarfile.open(src[i % len(src)]) as t:
            members = [(m, t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]
        files = {m.name: data for m, data in members}
        manifest = json.loads(files.pop("manifest.json"))
        manifest["host"]["hostname"] = f"bench-{i + 1:03d}"
        if vmlinux is not None:
            files["btf/vmlinux.btf"] = vmlinux
            manifest["files"].append({
                "path": "btf/vmlinux.btf",
                "size": len(vmlinux),
                "sha256": hashlib.sha256(vmlinux).hexdigest(),
            })
            manifest["btf"].append({"id": 0, "name": "vmlinux", "path": "btf/vmlinux.btf", "base": None})
        files["manifest.json"] = json.dumps(manifest, indent=2).encode()
        with tarfile.open(out / f"bench-{i + 1:03d}.tar", "w", format=tarfile.USTAR_FORMAT) as t:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o600
                t.addfile(info, io.BytesIO(data))


main()
