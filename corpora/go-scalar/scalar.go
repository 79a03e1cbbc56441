// Package scalar holds user-space mirrors of map keys and values that are
// plain integers in BTF (`__u32` keys of array maps, `__u64` counters), as Go
// programs commonly wrap them, and two mistakes.
package scalar

// CpuIndex mirrors a `__u32` key (4 bytes).
type CpuIndex struct {
	Cpu uint32
}

// CpuIndexSigned: `int32` where the key is `__u32` (same size, signedness differs).
type CpuIndexSigned struct {
	Cpu int32
}

// Counter mirrors a `__u64` value (8 bytes).
type Counter struct {
	N uint64
}

// PortPair: two fields, 4 bytes in all, against a `__u32` key (raw bytes).
type PortPair struct {
	Src uint16
	Dst uint16
}

// Wide: 16 bytes where the key is a 4-byte `__u32`.
type Wide struct {
	Hi uint64
	Lo uint64
}

// StateBox mirrors a value that is `enum conn_state` (4 bytes, unsigned).
type StateBox struct {
	State uint32
}
