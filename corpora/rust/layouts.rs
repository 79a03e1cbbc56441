//! bpfcase corpus: Rust #[repr(C)] mirrors of the corpus BPF structs
//! (corpora/bpf/NAME.bpf.c), correct copies and variants with planted
//! mistakes.  Prints size/align of each struct and offset/size/align of each
//! field as JSON (offsets via std::mem::offset_of!).
//!
//! Build: see build.sh (rustc -g -C opt-level=0 --edition 2021, DWARF zlib-compressed at link time)
#![allow(dead_code)]

use std::mem::{align_of, offset_of, size_of, MaybeUninit};

/// network-byte-order wrappers (mirror __be16 / __be32)
#[repr(transparent)]
pub struct Be16(pub u16);
#[repr(transparent)]
pub struct Be32(pub u32);

// ------------------------------------------------------------ correct

/// struct flow_key (16 bytes)
#[repr(C)]
pub struct FlowKey {
    pub saddr: u32,
    pub sport: u16,
    pub _hole: [u8; 2],
    pub daddr: u32,
    pub proto: u8,
    pub _pad: [u8; 3],
}

/// struct flow_key_be (16 bytes)
#[repr(C)]
pub struct FlowKeyBe {
    pub saddr: Be32,
    pub daddr: Be32,
    pub sport: Be16,
    pub dport: Be16,
    pub proto: u8,
    pub _pad: [u8; 3],
}

/// struct flow_value (24 bytes)
#[repr(C)]
pub struct FlowValue {
    pub packets: u64,
    pub bytes: u64,
    pub flags: u32,
    pub ifindex: u16,
    pub _pad: [u8; 2],
}

/// struct cpu_stat (24 bytes)
#[repr(C)]
pub struct CpuStat {
    pub count: u64,
    pub delta: i64,
    pub last_err: i32,
    pub active: bool,
    pub _pad: [u8; 3],
}

/// struct proc_key (20 bytes)
#[repr(C)]
pub struct ProcKey {
    pub pid: u32,
    pub comm: [u8; 16],
}

/// struct proc_stat (24 bytes)
#[repr(C)]
pub struct ProcStat {
    pub calls: u64,
    pub v: [u32; 4],
}

/// struct policy (24 bytes); enum verdict as i32, enum big_flags as u64
#[repr(C)]
pub struct Policy {
    pub verdict: i32,
    pub _hole: [u8; 4],
    pub flags: u64,
    pub prio: i16,
    pub weight: i8,
    pub enabled: bool,
    pub _pad: [u8; 4],
}

/// struct bits (8 bytes): word = a:3 | b:5<<3 | c:24<<8, lo_hi = lo:4 | hi:4<<4
#[repr(C)]
pub struct Bits {
    pub word: u32,
    pub lo_hi: u8,
    pub tag: u8,
    pub port: u16,
}

#[repr(C)]
pub union AddrU {
    pub v4: u32,
    pub v6: [u8; 16],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct IdentParts {
    pub lo: u32,
    pub hi: u32,
}

#[repr(C)]
pub union Ident {
    pub raw: u64,
    pub parts: IdentParts,
}

/// struct addr_rec (32 bytes) with real unions
#[repr(C)]
pub struct AddrRec {
    pub family: u32,
    pub addr: AddrU,
    pub _hole: [u8; 4],
    pub id: Ident,
}

/// struct packed_hdr (15 bytes, packed)
#[repr(C, packed)]
pub struct PackedHdr {
    pub ver: u8,
    pub len: u32,
    pub id: u16,
    pub seq: u64,
}

/// struct arrays (60 bytes)
#[repr(C)]
pub struct Arrays {
    pub comm: [u8; 16],
    pub v: [u32; 4],
    pub matrix: [[u16; 4]; 3],
    pub small: [i8; 3],
    pub _pad: [u8; 1],
}

/// struct misc (32 bytes)
#[repr(C)]
pub struct Misc {
    pub h: u32,
    pub ch: u32,
    pub v: i64,
    pub neg: i32,
    pub ok: bool,
    pub sc: i8,
    pub s: i16,
    pub ll: i64,
}

/// struct fam (8 bytes): trailing [u8; 0] adds no size in repr(C) Rust
#[repr(C)]
pub struct Fam {
    pub len: u32,
    pub kind: u16,
    pub n: u16,
    pub data: [u8; 0],
}

/// struct task_comm (20 bytes): comm is char[15]
#[repr(C)]
pub struct TaskComm {
    pub pid: u32,
    pub comm: [u8; 15],
    pub state: u8,
}

// ------------------------------------------------------------ mistakes

/// [u8; 16] for char comm[15]: state at 20 (C: 19), size 24 (C: 20)
#[repr(C)]
pub struct TaskCommComm16 {
    pub pid: u32,
    pub comm: [u8; 16],
    pub state: u8,
}

/// usize for __u32 saddr/daddr: size 32 on 64-bit targets
#[repr(C)]
pub struct FlowKeyUsize {
    pub saddr: usize,
    pub sport: u16,
    pub daddr: usize,
    pub proto: u8,
}

/// missing `flags`: ifindex at 16 instead of 20, size still 24
#[repr(C)]
pub struct FlowValueMissingFlags {
    pub packets: u64,
    pub bytes: u64,
    pub ifindex: u16,
}

/// [u8; 15] for char comm[16]: size still 20
#[repr(C)]
pub struct ProcKeyComm15 {
    pub pid: u32,
    pub comm: [u8; 15],
}

/// bool for __u8 proto (layout identical; proto=6 is UB as a Rust bool)
#[repr(C)]
pub struct FlowKeyBoolProto {
    pub saddr: u32,
    pub sport: u16,
    pub _hole: [u8; 2],
    pub daddr: u32,
    pub proto: bool,
    pub _pad: [u8; 3],
}

/// host-order u32/u16 for __be32/__be16 (layout identical)
#[repr(C)]
pub struct FlowKeyBeHostOrder {
    pub saddr: u32,
    pub daddr: u32,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub _pad: [u8; 3],
}

/// forgot `packed`: offsets 0/4/8/16, size 24
#[repr(C)]
pub struct PackedHdrNatural {
    pub ver: u8,
    pub len: u32,
    pub id: u16,
    pub seq: u64,
}

/// forgot #[repr(C)]: the Rust compiler is free to reorder fields
/// (rustc sorts by alignment, giving size 12 here) - the layout is
/// unspecified and may change between compiler versions.
pub struct FlowKeyReprRust {
    pub saddr: u32,
    pub sport: u16,
    pub daddr: u32,
    pub proto: u8,
}

// ------------------------------------------------------------ JSON output

struct Field {
    name: &'static str,
    offset: usize,
    size: usize,
    align: usize,
}

fn sz<F>(_: *const F) -> (usize, usize) {
    (size_of::<F>(), align_of::<F>())
}

macro_rules! mirror {
    ($out:ident, $t:ident, $mirrors:expr, $variant:expr, [$($f:ident),* $(,)?]) => {{
        let u = MaybeUninit::<$t>::uninit();
        let p = u.as_ptr();
        let mut fields: Vec<Field> = Vec::new();
        $(
            // SAFETY: only the address is computed, nothing is read.
            let (size, align) = sz(unsafe { std::ptr::addr_of!((*p).$f) });
            fields.push(Field { name: stringify!($f), offset: offset_of!($t, $f), size, align });
        )*
        $out.push((stringify!($t), $mirrors, $variant, size_of::<$t>(), align_of::<$t>(), fields));
    }};
}

fn main() {
    let mut v: Vec<(&str, &str, &str, usize, usize, Vec<Field>)> = Vec::new();
    mirror!(v, FlowKey, "struct flow_key", "correct", [saddr, sport, _hole, daddr, proto, _pad]);
    mirror!(v, FlowKeyBe, "struct flow_key_be", "correct", [saddr, daddr, sport, dport, proto, _pad]);
    mirror!(v, FlowValue, "struct flow_value", "correct", [packets, bytes, flags, ifindex, _pad]);
    mirror!(v, CpuStat, "struct cpu_stat", "correct", [count, delta, last_err, active, _pad]);
    mirror!(v, ProcKey, "struct proc_key", "correct", [pid, comm]);
    mirror!(v, ProcStat, "struct proc_stat", "correct", [calls, v]);
    mirror!(v, Policy, "struct policy", "correct", [verdict, _hole, flags, prio, weight, enabled, _pad]);
    mirror!(v, Bits, "struct bits", "correct (bitfields folded into word/lo_hi)", [word, lo_hi, tag, port]);
    mirror!(v, AddrRec, "struct addr_rec", "correct (repr(C) unions)", [family, addr, _hole, id]);
    mirror!(v, PackedHdr, "struct packed_hdr", "correct (repr(C, packed))", [ver, len, id, seq]);
    mirror!(v, Arrays, "struct arrays", "correct", [comm, v, matrix, small, _pad]);
    mirror!(v, Misc, "struct misc", "correct", [h, ch, v, neg, ok, sc, s, ll]);
    mirror!(v, Fam, "struct fam", "correct (trailing [u8; 0])", [len, kind, n, data]);
    mirror!(v, TaskComm, "struct task_comm", "correct", [pid, comm, state]);
    mirror!(v, FlowKeyUsize, "struct flow_key", "mistake: usize for __u32 saddr/daddr", [saddr, sport, daddr, proto]);
    mirror!(v, FlowValueMissingFlags, "struct flow_value", "mistake: missing field flags", [packets, bytes, ifindex]);
    mirror!(v, ProcKeyComm15, "struct proc_key", "mistake: [u8; 15] for char comm[16]", [pid, comm]);
    mirror!(v, FlowKeyBoolProto, "struct flow_key", "mistake: bool for __u8 proto", [saddr, sport, _hole, daddr, proto, _pad]);
    mirror!(v, FlowKeyBeHostOrder, "struct flow_key_be", "mistake: host-order u32/u16 for __be32/__be16", [saddr, daddr, sport, dport, proto, _pad]);
    mirror!(v, PackedHdrNatural, "struct packed_hdr", "mistake: packed struct without repr(packed)", [ver, len, id, seq]);
    mirror!(v, FlowKeyReprRust, "struct flow_key", "mistake: no #[repr(C)] (fields reordered by rustc)", [saddr, sport, daddr, proto]);

    mirror!(v, TaskCommComm16, "struct task_comm", "mistake: [u8; 16] for char comm[15]", [pid, comm, state]);

    let mut s = String::new();
    s.push_str("{\n  \"lang\": \"rust\",\n");
    s.push_str(&format!("  \"arch\": \"{}\",\n", std::env::consts::ARCH));
    s.push_str(&format!("  \"ptr_size\": {},\n  \"structs\": [", size_of::<usize>()));
    for (i, (name, mirrors, variant, size, align, fields)) in v.iter().enumerate() {
        s.push_str(if i == 0 { "\n" } else { ",\n" });
        s.push_str(&format!(
            "    {{\"name\": \"{}\", \"mirrors\": \"{}\", \"variant\": \"{}\", \"size\": {}, \"align\": {}, \"fields\": [",
            name, mirrors, variant, size, align
        ));
        for (j, f) in fields.iter().enumerate() {
            s.push_str(if j == 0 { "\n" } else { ",\n" });
            s.push_str(&format!(
                "      {{\"name\": \"{}\", \"offset\": {}, \"size\": {}, \"align\": {}}}",
                f.name, f.offset, f.size, f.align
            ));
        }
        s.push_str("\n    ]}");
    }
    s.push_str("\n  ]\n}\n");
    print!("{}", s);
}
