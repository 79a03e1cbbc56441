// Prints, as JSON, the size/alignment of every corpus mirror struct and the
// offset/size of each of its fields, as laid out by the Go compiler for the
// running GOARCH.  unsafe.Sizeof/Alignof are taken per type; per-field
// offsets come from reflect (StructField.Offset == unsafe.Offsetof).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"unsafe"
)

type fieldOut struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Offset uintptr `json:"offset"`
	Size   uintptr `json:"size"`
	Align  int     `json:"align"`
}

type structOut struct {
	Name    string     `json:"name"`
	Mirrors string     `json:"mirrors"`
	Variant string     `json:"variant"`
	Size    uintptr    `json:"size"`
	Align   uintptr    `json:"align"`
	Fields  []fieldOut `json:"fields"`
}

type out struct {
	Lang     string      `json:"lang"`
	Compiler string      `json:"compiler"`
	GOOS     string      `json:"goos"`
	GOARCH   string      `json:"goarch"`
	PtrSize  uintptr     `json:"ptr_size"`
	Structs  []structOut `json:"structs"`
}

var res out

func add(v interface{}, size, align uintptr, mirrors, variant string) {
	t := reflect.TypeOf(v)
	if t.Size() != size || uintptr(t.Align()) != align {
		fmt.Fprintf(os.Stderr, "reflect/unsafe mismatch for %s\n", t.Name())
		os.Exit(1)
	}
	s := structOut{Name: t.Name(), Mirrors: mirrors, Variant: variant, Size: size, Align: align}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		s.Fields = append(s.Fields, fieldOut{
			Name: f.Name, Type: f.Type.String(), Offset: f.Offset,
			Size: f.Type.Size(), Align: f.Type.FieldAlign(),
		})
	}
	res.Structs = append(res.Structs, s)
}

func main() {
	res = out{Lang: "go", Compiler: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		PtrSize: unsafe.Sizeof(uintptr(0))}

	add(FlowKey{}, unsafe.Sizeof(FlowKey{}), unsafe.Alignof(FlowKey{}), "struct flow_key", "correct")
	add(FlowKeyImplicitPad{}, unsafe.Sizeof(FlowKeyImplicitPad{}), unsafe.Alignof(FlowKeyImplicitPad{}), "struct flow_key", "correct (implicit padding)")
	add(FlowKeyBE{}, unsafe.Sizeof(FlowKeyBE{}), unsafe.Alignof(FlowKeyBE{}), "struct flow_key_be", "correct")
	add(FlowValue{}, unsafe.Sizeof(FlowValue{}), unsafe.Alignof(FlowValue{}), "struct flow_value", "correct")
	add(CpuStat{}, unsafe.Sizeof(CpuStat{}), unsafe.Alignof(CpuStat{}), "struct cpu_stat", "correct")
	add(ProcKey{}, unsafe.Sizeof(ProcKey{}), unsafe.Alignof(ProcKey{}), "struct proc_key", "correct")
	add(ProcStat{}, unsafe.Sizeof(ProcStat{}), unsafe.Alignof(ProcStat{}), "struct proc_stat", "correct")
	add(Policy{}, unsafe.Sizeof(Policy{}), unsafe.Alignof(Policy{}), "struct policy", "correct")
	add(Bits{}, unsafe.Sizeof(Bits{}), unsafe.Alignof(Bits{}), "struct bits", "correct (bitfields folded into Word/LoHi)")
	add(AddrRec{}, unsafe.Sizeof(AddrRec{}), unsafe.Alignof(AddrRec{}), "struct addr_rec", "correct (unions as [16]byte / uint64)")
	add(PackedHdr{}, unsafe.Sizeof(PackedHdr{}), unsafe.Alignof(PackedHdr{}), "struct packed_hdr", "correct (byte arrays for unaligned fields)")
	add(Arrays{}, unsafe.Sizeof(Arrays{}), unsafe.Alignof(Arrays{}), "struct arrays", "correct")
	add(Misc{}, unsafe.Sizeof(Misc{}), unsafe.Alignof(Misc{}), "struct misc", "correct")
	add(Fam{}, unsafe.Sizeof(Fam{}), unsafe.Alignof(Fam{}), "struct fam", "correct (flexible array omitted)")
	add(TaskComm{}, unsafe.Sizeof(TaskComm{}), unsafe.Alignof(TaskComm{}), "struct task_comm", "correct")

	add(FlowKeyGoInt{}, unsafe.Sizeof(FlowKeyGoInt{}), unsafe.Alignof(FlowKeyGoInt{}), "struct flow_key", "mistake: Go int for __u32 saddr/daddr")
	add(FlowValueMissingFlags{}, unsafe.Sizeof(FlowValueMissingFlags{}), unsafe.Alignof(FlowValueMissingFlags{}), "struct flow_value", "mistake: missing field flags")
	add(ProcKeyComm15{}, unsafe.Sizeof(ProcKeyComm15{}), unsafe.Alignof(ProcKeyComm15{}), "struct proc_key", "mistake: [15]byte for char comm[16]")
	add(FlowKeyBoolProto{}, unsafe.Sizeof(FlowKeyBoolProto{}), unsafe.Alignof(FlowKeyBoolProto{}), "struct flow_key", "mistake: bool for __u8 proto")
	add(FlowKeyBEHostOrder{}, unsafe.Sizeof(FlowKeyBEHostOrder{}), unsafe.Alignof(FlowKeyBEHostOrder{}), "struct flow_key_be", "mistake: host-order uint16/uint32 for __be16/__be32")
	add(PolicyNoPad{}, unsafe.Sizeof(PolicyNoPad{}), unsafe.Alignof(PolicyNoPad{}), "struct policy", "mistake: implicit hole before uint64 (4-aligned on 386/arm)")
	add(PackedHdrNatural{}, unsafe.Sizeof(PackedHdrNatural{}), unsafe.Alignof(PackedHdrNatural{}), "struct packed_hdr", "mistake: packed struct mirrored with natural alignment")
	add(FamZeroArray{}, unsafe.Sizeof(FamZeroArray{}), unsafe.Alignof(FamZeroArray{}), "struct fam", "mistake: trailing [0]byte for flexible array (Go pads it)")

	add(TaskCommComm16{}, unsafe.Sizeof(TaskCommComm16{}), unsafe.Alignof(TaskCommComm16{}), "struct task_comm", "mistake: [16]byte for char comm[15]")

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
