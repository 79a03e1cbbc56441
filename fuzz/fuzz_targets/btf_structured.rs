//! Structure-aware BTF: a valid header and string table around type records
//! built from arbitrary data (kinds, member offsets, bitfields, array
//! counts, references that land on real type ids), so every input gets past
//! the header checks into the layout engine, schema YAML, decoding and the
//! `.maps` reader — where deep nesting, doubling sizes and huge arrays live.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use bpfcase::ingest::btf::Btf;
use libfuzzer_sys::fuzz_target;

/// Names the records may carry: C-ish names, and those `.maps` uses.
const NAMES: &[&str] = &[
    "",
    "int",
    "s",
    "a",
    "b",
    "top",
    "u32",
    "__u32",
    ".maps",
    "flows",
    "type",
    "key",
    "value",
    "max_entries",
    "key_size",
    "value_size",
    "map_flags",
    "unsigned char",
    "char",
    "long",
    "x",
];

#[derive(Debug, Arbitrary)]
struct Member {
    name: u8,
    ty: u16,
    /// Byte offset; times 8, plus `bit` when the struct has bitfields.
    offset: u16,
    bit: u8,
    bitfield_size: u8,
}

#[derive(Debug, Arbitrary)]
enum Rec {
    Int {
        name: u8,
        size: u8,
        offset: u8,
        bits: u8,
        encoding: u8,
    },
    Ptr {
        to: u16,
    },
    Array {
        elem: u16,
        index: u16,
        nelems: u32,
    },
    Struct {
        name: u8,
        size: u32,
        bitfields: bool,
        members: Vec<Member>,
    },
    Union {
        name: u8,
        size: u32,
        bitfields: bool,
        members: Vec<Member>,
    },
    Enum {
        name: u8,
        size: u8,
        signed: bool,
        values: Vec<(u8, i32)>,
    },
    Fwd {
        name: u8,
        union: bool,
    },
    Typedef {
        name: u8,
        to: u16,
    },
    Volatile {
        to: u16,
    },
    Const {
        to: u16,
    },
    Restrict {
        to: u16,
    },
    Func {
        name: u8,
        proto: u16,
        linkage: u8,
    },
    FuncProto {
        ret: u16,
        params: Vec<(u8, u16)>,
    },
    Var {
        name: u8,
        ty: u16,
        linkage: u8,
    },
    Datasec {
        name: u8,
        size: u32,
        vars: Vec<(u16, u32, u32)>,
    },
    Float {
        name: u8,
        size: u8,
    },
    DeclTag {
        name: u8,
        ty: u16,
        component: i32,
    },
    TypeTag {
        name: u8,
        to: u16,
    },
    Enum64 {
        name: u8,
        size: u8,
        signed: bool,
        values: Vec<(u8, u64)>,
    },
    /// A raw record: kind, vlen and kind_flag as given, for what the
    /// typed ones do not make.
    Raw {
        info: u32,
        size_or_type: u32,
        extra: Vec<u32>,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    big_endian: bool,
    types: Vec<Rec>,
    entry: Vec<u8>,
}

struct Writer {
    big: bool,
    out: Vec<u8>,
    /// Type ids are 1..=count; a reference above 0xff00 is kept as given
    /// (out of range on purpose), others land on a real id.
    count: u32,
    name_offsets: Vec<u32>,
}

impl Writer {
    fn u32(&mut self, v: u32) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.extend_from_slice(&b);
    }
    fn id(&self, r: u16) -> u32 {
        if r >= 0xff00 {
            u32::from(r)
        } else {
            u32::from(r) % (self.count + 1)
        }
    }
    fn name(&self, n: u8) -> u32 {
        self.name_offsets[usize::from(n) % self.name_offsets.len()]
    }
    fn info(kind: u32, vlen: usize, flag: bool) -> u32 {
        (kind << 24) | (vlen.min(0xffff) as u32) | (u32::from(flag) << 31)
    }
    fn aggregate(&mut self, kind: u32, name: u8, size: u32, bitfields: bool, m: &[Member]) {
        let m = &m[..m.len().min(0xffff)];
        self.u32(self.name(name));
        self.u32(Self::info(kind, m.len(), bitfields));
        self.u32(size);
        for x in m {
            self.u32(self.name(x.name));
            self.u32(self.id(x.ty));
            let bits = u32::from(x.offset) * 8;
            if bitfields {
                self.u32((u32::from(x.bitfield_size) << 24) | (bits + u32::from(x.bit % 8)));
            } else {
                self.u32(bits);
            }
        }
    }
    fn rec(&mut self, r: &Rec) {
        match r {
            Rec::Int {
                name,
                size,
                offset,
                bits,
                encoding,
            } => {
                self.u32(self.name(*name));
                self.u32(Self::info(1, 0, false));
                self.u32(u32::from(*size));
                self.u32(
                    (u32::from(encoding % 8) << 24) | (u32::from(*offset) << 16) | u32::from(*bits),
                );
            }
            Rec::Ptr { to } => self.reference(2, 0, *to),
            Rec::Array {
                elem,
                index,
                nelems,
            } => {
                self.u32(0);
                self.u32(Self::info(3, 0, false));
                self.u32(0);
                self.u32(self.id(*elem));
                self.u32(self.id(*index));
                self.u32(*nelems);
            }
            Rec::Struct {
                name,
                size,
                bitfields,
                members,
            } => self.aggregate(4, *name, *size, *bitfields, members),
            Rec::Union {
                name,
                size,
                bitfields,
                members,
            } => self.aggregate(5, *name, *size, *bitfields, members),
            Rec::Enum {
                name,
                size,
                signed,
                values,
            } => {
                let v = &values[..values.len().min(0xffff)];
                self.u32(self.name(*name));
                self.u32(Self::info(6, v.len(), *signed));
                self.u32(u32::from(*size));
                for (n, x) in v {
                    self.u32(self.name(*n));
                    self.u32(*x as u32);
                }
            }
            Rec::Fwd { name, union } => {
                self.u32(self.name(*name));
                self.u32(Self::info(7, 0, *union));
                self.u32(0);
            }
            Rec::Typedef { name, to } => self.reference(8, *name, *to),
            Rec::Volatile { to } => self.reference(9, 0, *to),
            Rec::Const { to } => self.reference(10, 0, *to),
            Rec::Restrict { to } => self.reference(11, 0, *to),
            Rec::Func {
                name,
                proto,
                linkage,
            } => {
                self.u32(self.name(*name));
                self.u32(Self::info(12, usize::from(linkage % 3), false));
                self.u32(self.id(*proto));
            }
            Rec::FuncProto { ret, params } => {
                let p = &params[..params.len().min(0xffff)];
                self.u32(0);
                self.u32(Self::info(13, p.len(), false));
                self.u32(self.id(*ret));
                for (n, t) in p {
                    self.u32(self.name(*n));
                    self.u32(self.id(*t));
                }
            }
            Rec::Var { name, ty, linkage } => {
                self.u32(self.name(*name));
                self.u32(Self::info(14, 0, false));
                self.u32(self.id(*ty));
                self.u32(u32::from(*linkage % 3));
            }
            Rec::Datasec { name, size, vars } => {
                let v = &vars[..vars.len().min(0xffff)];
                self.u32(self.name(*name));
                self.u32(Self::info(15, v.len(), false));
                self.u32(*size);
                for (t, off, sz) in v {
                    self.u32(self.id(*t));
                    self.u32(*off);
                    self.u32(*sz);
                }
            }
            Rec::Float { name, size } => {
                self.u32(self.name(*name));
                self.u32(Self::info(16, 0, false));
                self.u32(u32::from(*size));
            }
            Rec::DeclTag {
                name,
                ty,
                component,
            } => {
                self.u32(self.name(*name));
                self.u32(Self::info(17, 0, false));
                self.u32(self.id(*ty));
                self.u32(*component as u32);
            }
            Rec::TypeTag { name, to } => self.reference(18, *name, *to),
            Rec::Enum64 {
                name,
                size,
                signed,
                values,
            } => {
                let v = &values[..values.len().min(0xffff)];
                self.u32(self.name(*name));
                self.u32(Self::info(19, v.len(), *signed));
                self.u32(u32::from(*size));
                for (n, x) in v {
                    self.u32(self.name(*n));
                    self.u32(*x as u32);
                    self.u32((*x >> 32) as u32);
                }
            }
            Rec::Raw {
                info,
                size_or_type,
                extra,
            } => {
                self.u32(0);
                self.u32(*info);
                self.u32(*size_or_type);
                for w in extra.iter().take(64) {
                    self.u32(*w);
                }
            }
        }
    }
    fn reference(&mut self, kind: u32, name: u8, to: u16) {
        self.u32(self.name(name));
        self.u32(Self::info(kind, 0, false));
        self.u32(self.id(to));
    }
}

/// A whole BTF blob: header, the records, the string table.
fn blob(input: &Input) -> Vec<u8> {
    let mut strings = Vec::new();
    let mut name_offsets = Vec::new();
    for n in NAMES {
        name_offsets.push(strings.len() as u32);
        strings.extend_from_slice(n.as_bytes());
        strings.push(0);
    }
    let mut w = Writer {
        big: input.big_endian,
        out: Vec::new(),
        count: input.types.len() as u32,
        name_offsets,
    };
    for r in &input.types {
        w.rec(r);
    }
    let types = std::mem::take(&mut w.out);
    let magic = if w.big {
        0xeb9fu16.to_be_bytes()
    } else {
        0xeb9fu16.to_le_bytes()
    };
    w.out.extend_from_slice(&magic);
    w.out.extend_from_slice(&[1, 0]);
    let tl = types.len() as u32;
    for v in [24, 0, tl, tl, strings.len() as u32] {
        w.u32(v);
    }
    w.out.extend_from_slice(&types);
    w.out.extend_from_slice(&strings);
    w.out
}

fuzz_target!(|input: Input| {
    let data = blob(&input);
    let Ok(btf) = Btf::parse(&data) else {
        return;
    };
    common::exercise_btf(&btf, &input.entry);
    let path = common::write("t.btf", &data);
    common::btf_commands(&path, &btf, &input.entry);
});
