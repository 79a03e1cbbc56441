#!/bin/sh
# Build the Go layout corpus for amd64, 386 and arm (GOARM=7) and record the
# offsets printed by the binaries this machine can run.  No network access:
# GOPROXY=off, no module requirements.
set -eu
cd "$(dirname "$0")"
export GO111MODULE=on GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=0
gofmt -l . | grep . && { echo "gofmt needed" >&2; exit 1; } || true
GOOS=linux GOARCH=amd64 go build -trimpath -buildvcs=false -o layouts.amd64 .
GOOS=linux GOARCH=386 go build -trimpath -buildvcs=false -o layouts.386 .
GOOS=linux GOARCH=arm GOARM=7 go build -trimpath -buildvcs=false -o layouts.arm .
./layouts.amd64 > offsets.amd64.json
if ./layouts.386 > offsets.386.json.tmp 2> /dev/null; then
	mv offsets.386.json.tmp offsets.386.json
else
	rm -f offsets.386.json.tmp
	echo "note: cannot run 386 binary here; offsets.386.json not refreshed" >&2
fi
ls -l layouts.amd64 layouts.386 layouts.arm
# arm cannot run here: its ground truth is the DWARF; extract it for reference
./dwarf-layouts.sh layouts.arm > offsets.arm.dwarf.txt
