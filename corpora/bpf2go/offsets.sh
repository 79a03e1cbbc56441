#!/bin/sh
# Record what the Go compiler makes of every generated type of every package
# here (ok/ and broken-*/): offsets.amd64.json and offsets.386.json.
#
# The files import "structs" (Go 1.23+) and github.com/cilium/ebpf, which the
# installed Go (Debian's 1.19) and this offline machine do not have. So each
# package's type declarations (from the end of the import block to bpf2go's
# "// Names of all BPF objects" comment, untouched otherwise) are copied into
# a scratch module with `structs.HostLayout` replaced by a local stand-in of
# the same layout (an empty struct: size 0, align 1), next to a generated
# main.go printing, per type, unsafe.Sizeof/Alignof and each field's offset
# (reflect's StructField.Offset, which is unsafe.Offsetof).
# Usage: corpora/bpf2go/offsets.sh   (works in its own directory)
set -eu
cd "$(dirname "$0")"
export GO111MODULE=on GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for arch in amd64 386; do
	out="offsets.$arch.json"
	printf '{"compiler": "%s", "goos": "linux", "goarch": "%s", "packages": [' "$(go env GOVERSION)" "$arch" > "$out.tmp"
	sep=""
	for dir in ok broken-* stale; do
		work="$scratch/$dir"
		mkdir -p "$work"
		printf 'module offsets\n\ngo 1.19\n' > "$work/go.mod"
		{
			echo "package main"
			echo
			echo "type hostLayout struct{}"
			awk '/^\/\/ Names of all BPF objects/ { exit } /^type / { on = 1 } on' "$dir/bpf_bpfel.go" |
				sed 's/structs\.HostLayout/hostLayout/'
		} > "$work/types.go"
		types=$(sed -n 's/^type \(bpf[A-Za-z0-9_]*\) struct {$/\1/p' "$work/types.go")
		{
			cat <<'GO'
package main

import (
	"encoding/json"
	"os"
	"reflect"
	"unsafe"
)

type fieldOut struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Offset uintptr `json:"offset"`
	Size   uintptr `json:"size"`
}

type structOut struct {
	Name   string     `json:"name"`
	Size   uintptr    `json:"size"`
	Align  uintptr    `json:"align"`
	Fields []fieldOut `json:"fields"`
}

var res []structOut

func add(v interface{}, size, align uintptr) {
	t := reflect.TypeOf(v)
	if t.Size() != size || uintptr(t.Align()) != align {
		panic("reflect and unsafe disagree on " + t.Name())
	}
	s := structOut{Name: t.Name(), Size: size, Align: align}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		ty := f.Type.String()
		if f.Type.Name() == "hostLayout" {
			ty = "structs.HostLayout"
		}
		s.Fields = append(s.Fields, fieldOut{Name: f.Name, Type: ty, Offset: f.Offset, Size: f.Type.Size()})
	}
	res = append(res, s)
}

func main() {
GO
			for t in $types; do
				echo "	add($t{}, unsafe.Sizeof($t{}), unsafe.Alignof($t{}))"
			done
			cat <<'GO'
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		panic(err)
	}
}
GO
		} > "$work/main.go"
		(cd "$work" && GOOS=linux GOARCH=$arch go build -trimpath -buildvcs=false -o offsets .)
		printf '%s{"dir": "%s", "structs": %s}' "$sep" "$dir" "$("$work/offsets")" >> "$out.tmp"
		sep=","
	done
	printf ']}\n' >> "$out.tmp"
	python3 -m json.tool --indent 2 "$out.tmp" > "$out"
	rm "$out.tmp"
	echo "wrote $out"
done
