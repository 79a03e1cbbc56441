// Package main mirrors the bpfcase corpus BPF structs (corpora/bpf/*.bpf.c)
// in Go.  Types without a "Bad"/"Wrong" style suffix are exact mirrors; the
// others each plant ONE classic mistake, documented on the type.
package main

// Be16 / Be32 hold values in network byte order (mirror __be16 / __be32).
type Be16 uint16
type Be32 uint32

// ---------------------------------------------------------------- correct

// FlowKey mirrors struct flow_key (16 bytes): explicit hole and tail padding.
type FlowKey struct {
	Saddr uint32
	Sport uint16
	_     [2]byte // hole, C offset 6
	Daddr uint32
	Proto uint8
	_     [3]byte // trailing padding, C offset 13
}

// FlowKeyImplicitPad mirrors struct flow_key WITHOUT explicit padding fields:
// Go inserts the same padding, so the layout is still correct (but the
// padding bytes are not addressable / zeroed explicitly).
type FlowKeyImplicitPad struct {
	Saddr uint32
	Sport uint16
	Daddr uint32
	Proto uint8
}

// FlowKeyBE mirrors struct flow_key_be (16 bytes), network-order fields typed.
type FlowKeyBE struct {
	Saddr Be32
	Daddr Be32
	Sport Be16
	Dport Be16
	Proto uint8
	_     [3]byte
}

// FlowValue mirrors struct flow_value (24 bytes).  Alignment is 8 on amd64
// but 4 on 386/arm (Go aligns uint64 to 4 there); offsets are unchanged.
type FlowValue struct {
	Packets uint64
	Bytes   uint64
	Flags   uint32
	Ifindex uint16
	_       [2]byte
}

// CpuStat mirrors struct cpu_stat (24 bytes).
type CpuStat struct {
	Count   uint64
	Delta   int64
	LastErr int32
	Active  bool // C _Bool
	_       [3]byte
}

// ProcKey mirrors struct proc_key (20 bytes).
type ProcKey struct {
	Pid  uint32
	Comm [16]byte
}

// ProcStat mirrors struct proc_stat (24 bytes).
type ProcStat struct {
	Calls uint64
	V     [4]uint32
}

// Policy mirrors struct policy (24 bytes) with the 4-byte hole spelled out,
// so Flags stays at offset 8 on 386/arm too.
type Policy struct {
	Verdict int32 // enum verdict
	_       [4]byte
	Flags   uint64 // enum big_flags
	Prio    int16
	Weight  int8
	Enabled bool
	_       [4]byte
}

// Bits mirrors struct bits (8 bytes); Go has no bitfields:
// Word = a:3 | b:5<<3 | c:24<<8, LoHi = lo:4 | hi:4<<4.
type Bits struct {
	Word uint32
	LoHi uint8
	Tag  uint8
	Port uint16
}

// AddrRec mirrors struct addr_rec (32 bytes); the anonymous union is a
// [16]byte, the named union ident is a uint64.
type AddrRec struct {
	Family uint32
	Addr   [16]byte
	_      [4]byte
	ID     uint64
}

// PackedHdr mirrors the packed struct packed_hdr (15 bytes, align 1) using
// byte arrays for the unaligned multi-byte fields.
type PackedHdr struct {
	Ver uint8
	Len [4]byte
	ID  [2]byte
	Seq [8]byte
}

// Arrays mirrors struct arrays (60 bytes).
type Arrays struct {
	Comm   [16]byte
	V      [4]uint32
	Matrix [3][4]uint16
	Small  [3]int8
	_      [1]byte
}

// Misc mirrors struct misc (32 bytes).
type Misc struct {
	H   uint32
	Ch  uint32
	V   int64
	Neg int32
	Ok  bool
	Sc  int8
	S   int16
	LL  int64
}

// Fam mirrors struct fam (8 bytes) by leaving the flexible array out.
type Fam struct {
	Len  uint32
	Kind uint16
	N    uint16
}

// TaskComm mirrors struct task_comm (20 bytes): comm is char[15].
type TaskComm struct {
	Pid   uint32
	Comm  [15]byte
	State uint8
}

// ---------------------------------------------------------------- mistakes

// FlowKeyGoInt: Go `int` for C __u32 saddr/daddr.  amd64: int is 8 bytes ->
// size 32, offsets 0/8/16/24.  386/arm: int is 4 bytes -> happens to match.
type FlowKeyGoInt struct {
	Saddr int
	Sport uint16
	Daddr int
	Proto uint8
}

// FlowValueMissingFlags: the `flags` field is missing.  Size is still 24
// (padding), but Ifindex lands at offset 16 instead of 20.
type FlowValueMissingFlags struct {
	Packets uint64
	Bytes   uint64
	Ifindex uint16
}

// ProcKeyComm15: [15]byte where C has char comm[16].  Size is still 20
// (tail padding), Comm is 15 bytes instead of 16.
type ProcKeyComm15 struct {
	Pid  uint32
	Comm [15]byte
}

// FlowKeyBoolProto: Go bool where C has __u8 proto (layout identical, but
// proto=6/17 is not a valid Go bool).
type FlowKeyBoolProto struct {
	Saddr uint32
	Sport uint16
	_     [2]byte
	Daddr uint32
	Proto bool
	_     [3]byte
}

// FlowKeyBEHostOrder: plain host-order uint16/uint32 where C has
// __be16/__be32 (layout identical, byte order wrong on little-endian).
type FlowKeyBEHostOrder struct {
	Saddr uint32
	Daddr uint32
	Sport uint16
	Dport uint16
	Proto uint8
	_     [3]byte
}

// PolicyNoPad: relies on implicit padding before a uint64.  amd64: Flags at 8
// (correct, size 24).  386/arm: Go aligns uint64 to 4 -> Flags at 4, size 16.
type PolicyNoPad struct {
	Verdict int32
	Flags   uint64
	Prio    int16
	Weight  int8
	Enabled bool
}

// PackedHdrNatural: forgets that packed_hdr is __attribute__((packed)).
// amd64: offsets 0/4/8/16 size 24; 386/arm: 0/4/8/12 size 20 (C: 0/1/5/7, 15).
type PackedHdrNatural struct {
	Ver uint8
	Len uint32
	ID  uint16
	Seq uint64
}

// FamZeroArray: mirrors the flexible array member with a trailing [0]byte;
// Go pads a struct that ends in a zero-size field -> size 12, not 8.
type FamZeroArray struct {
	Len  uint32
	Kind uint16
	N    uint16
	Data [0]byte
}

// TaskCommComm16: [16]byte where C has char comm[15] -> State at 20 (C: 19),
// size 24 (C: 20).
type TaskCommComm16 struct {
	Pid   uint32
	Comm  [16]byte
	State uint8
}
