//! Raw BTF: the kernel's `/sys/kernel/btf/vmlinux`, module BTF (split BTF over a
//! base), a map's BTF blob, and the `.BTF` section of BPF ELF objects.
//!
//! [`Btf::parse`] validates the whole blob in one pass (header, every record's
//! length, every string offset and every referenced type id) and keeps only a
//! table of record offsets; records are decoded on access, borrowing the input.
//! After a successful parse the accessors cannot fail or read out of bounds.
//! Format: <https://docs.kernel.org/bpf/btf.html>.

use std::fmt;

use super::cursor::{Cursor, Endian, Truncated};

/// `BTF_MAGIC` as read in the blob's own byte order.
const BTF_MAGIC: u16 = 0xeb9f;
/// Size of `struct btf_header` for version 1.
const HEADER_LEN: usize = 24;
/// Size of `struct btf_type`.
const TYPE_HEADER_LEN: usize = 12;

/// A BTF type id. Id 0 is `void`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct TypeId(pub u32);

impl fmt::Display for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.0)
    }
}

/// The kinds of `btf_type`, numbered as in `include/uapi/linux/btf.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BtfKind {
    Int = 1,
    Ptr = 2,
    Array = 3,
    Struct = 4,
    Union = 5,
    Enum = 6,
    Fwd = 7,
    Typedef = 8,
    Volatile = 9,
    Const = 10,
    Restrict = 11,
    Func = 12,
    FuncProto = 13,
    Var = 14,
    Datasec = 15,
    Float = 16,
    DeclTag = 17,
    TypeTag = 18,
    Enum64 = 19,
}

impl BtfKind {
    fn from_raw(raw: u32) -> Option<Self> {
        use BtfKind::*;
        Some(match raw {
            1 => Int,
            2 => Ptr,
            3 => Array,
            4 => Struct,
            5 => Union,
            6 => Enum,
            7 => Fwd,
            8 => Typedef,
            9 => Volatile,
            10 => Const,
            11 => Restrict,
            12 => Func,
            13 => FuncProto,
            14 => Var,
            15 => Datasec,
            16 => Float,
            17 => DeclTag,
            18 => TypeTag,
            19 => Enum64,
            _ => return None,
        })
    }

    /// Bytes that follow the 12-byte `btf_type` header for this kind.
    fn extra_len(self, vlen: usize) -> usize {
        use BtfKind::*;
        match self {
            Int => 4,
            Array => 12,
            Struct | Union => 12 * vlen,
            Enum => 8 * vlen,
            FuncProto => 8 * vlen,
            Var => 4,
            Datasec => 12 * vlen,
            DeclTag => 4,
            Enum64 => 12 * vlen,
            Ptr | Fwd | Typedef | Volatile | Const | Restrict | Func | Float | TypeTag => 0,
        }
    }

    /// Kinds whose third word is a type id (rather than a size).
    fn refers_to_type(self) -> bool {
        use BtfKind::*;
        matches!(
            self,
            Ptr | Typedef
                | Volatile
                | Const
                | Restrict
                | Func
                | FuncProto
                | Var
                | DeclTag
                | TypeTag
        )
    }

    /// The C-ish keyword used when printing this kind.
    pub fn as_str(self) -> &'static str {
        use BtfKind::*;
        match self {
            Int => "int",
            Ptr => "ptr",
            Array => "array",
            Struct => "struct",
            Union => "union",
            Enum => "enum",
            Fwd => "fwd",
            Typedef => "typedef",
            Volatile => "volatile",
            Const => "const",
            Restrict => "restrict",
            Func => "func",
            FuncProto => "func_proto",
            Var => "var",
            Datasec => "datasec",
            Float => "float",
            DeclTag => "decl_tag",
            TypeTag => "type_tag",
            Enum64 => "enum64",
        }
    }
}

/// What went wrong while reading a BTF blob. `offset()` is a byte offset from
/// the start of the blob (or of the `.BTF` section, for ELF objects).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    #[error("truncated: needed {needed} bytes at offset {offset}, only {available} left")]
    Truncated {
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("bad magic 0x{found:04x} (expected 0xeb9f in either byte order)")]
    BadMagic { found: u16 },
    #[error("unsupported BTF version {version}")]
    UnsupportedVersion { version: u8 },
    #[error("header length {hdr_len} is shorter than the 24-byte BTF header")]
    HeaderTooShort { hdr_len: u32 },
    #[error("{section} section [{start}, {start}+{len}) lies outside the {blob_len}-byte blob")]
    SectionOutOfBounds {
        section: &'static str,
        start: u64,
        len: u64,
        blob_len: usize,
    },
    #[error("string section does not start and end with a NUL byte")]
    BadStringSection { offset: usize },
    /// Split BTF (a kernel module's) read without its base: its string
    /// section continues the base's, so it does not start with the empty
    /// string.
    #[error("this is split BTF (a kernel module's): its strings and type ids continue a base BTF (vmlinux) that was not given")]
    SplitWithoutBase { offset: usize },
    #[error("type {id} has unknown kind {kind}")]
    UnknownKind { id: u32, kind: u32, offset: usize },
    #[error("type {id} ({kind}) with vlen {vlen} needs {needed} bytes but the type section has {available} left")]
    VlenOverrun {
        id: u32,
        kind: &'static str,
        vlen: usize,
        needed: usize,
        available: usize,
        offset: usize,
    },
    #[error("type {id} names string offset {str_off}, past the {str_len}-byte string section")]
    StrOffsetOutOfRange {
        id: u32,
        str_off: u32,
        str_len: u32,
        offset: usize,
    },
    #[error("type {id} refers to type id {target}, but the last type id is {last}")]
    TypeIdOutOfRange {
        id: u32,
        target: u32,
        last: u32,
        offset: usize,
    },
    #[error("type {id} is part of a reference cycle through typedef/qualifier/array types")]
    ReferenceCycle { id: u32, offset: usize },
    #[error("the size of type {id} overflows 64 bits")]
    SizeOverflow { id: u32, offset: usize },
    #[error("type {id} nests types more than {limit} levels deep (limit MAX_TYPE_DEPTH)")]
    TooDeep {
        id: u32,
        offset: usize,
        limit: usize,
    },
    #[error("type {id} starts a typedef/qualifier chain longer than {limit} (limit MAX_CHAIN)")]
    ChainTooLong {
        id: u32,
        offset: usize,
        limit: usize,
    },
    #[error("type id {id} does not exist in this BTF")]
    NoSuchType { id: u32 },
    /// A DATASEC as clang writes it into an object: size 0 and every
    /// variable at offset 0, left for the loader (libbpf) to place from
    /// the ELF symbol table.
    #[error("DATASEC `{name}` (type {id}) is not placed yet: size 0 with its {vars} variables all at offset 0, as clang leaves a global data section for libbpf to place at load; lay out the BTF the kernel holds for the loaded map instead (a bundle's `btf/ID.btf`, saved by `bpfcase collect`)")]
    UnplacedDatasec {
        id: u32,
        name: String,
        vars: usize,
        offset: usize,
    },
}

impl BtfError {
    /// Byte offset in the blob the error refers to, where one is known.
    pub fn offset(&self) -> Option<usize> {
        use BtfError::*;
        match self {
            Truncated { offset, .. }
            | BadStringSection { offset }
            | SplitWithoutBase { offset }
            | UnknownKind { offset, .. }
            | VlenOverrun { offset, .. }
            | StrOffsetOutOfRange { offset, .. }
            | TypeIdOutOfRange { offset, .. }
            | ReferenceCycle { offset, .. }
            | SizeOverflow { offset, .. }
            | TooDeep { offset, .. }
            | ChainTooLong { offset, .. }
            | UnplacedDatasec { offset, .. } => Some(*offset),
            BadMagic { .. } | UnsupportedVersion { .. } | HeaderTooShort { .. } => Some(0),
            SectionOutOfBounds { .. } => Some(8),
            NoSuchType { .. } => None,
        }
    }
}

impl From<Truncated> for BtfError {
    fn from(t: Truncated) -> Self {
        BtfError::Truncated {
            offset: t.offset,
            needed: t.needed,
            available: t.available,
        }
    }
}

/// `struct btf_header`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct BtfHeader {
    pub version: u8,
    pub flags: u8,
    pub hdr_len: u32,
    pub type_off: u32,
    pub type_len: u32,
    pub str_off: u32,
    pub str_len: u32,
}

/// A parsed BTF blob. Split BTF borrows its base.
#[derive(Debug)]
pub struct Btf<'a> {
    data: &'a [u8],
    endian: Endian,
    header: BtfHeader,
    /// Absolute offset of each local type record; index 0 is the first local type.
    type_offsets: Vec<u32>,
    /// Kind of each local type, same index: lets whole-blob filters (every
    /// struct and union) skip reading 126k scattered records again.
    type_kinds: Vec<BtfKind>,
    strings: &'a [u8],
    /// The string section as text when all of it is valid UTF-8 (checked once
    /// at parse, so name lookups need not validate each name again).
    strings_utf8: Option<&'a str>,
    base: Option<&'a Btf<'a>>,
    /// Id of the first local type: 1 for base BTF, base's count for split BTF.
    first_id: u32,
    /// Offset of the first local string: 0 for base BTF, base's string length for split.
    first_str: u32,
}

impl<'a> Btf<'a> {
    /// Parses base BTF (vmlinux, a map's BTF, an object's `.BTF` section).
    pub fn parse(data: &'a [u8]) -> Result<Self, BtfError> {
        Self::parse_inner(data, None)
    }

    /// Parses split BTF (a kernel module's) whose ids and strings continue `base`.
    pub fn parse_split(data: &'a [u8], base: &'a Btf<'a>) -> Result<Self, BtfError> {
        Self::parse_inner(data, Some(base))
    }

    fn parse_inner(data: &'a [u8], base: Option<&'a Btf<'a>>) -> Result<Self, BtfError> {
        if data.len() < 2 {
            return Err(Truncated {
                offset: 0,
                needed: 2,
                available: data.len(),
            }
            .into());
        }
        let endian = if u16::from_le_bytes([data[0], data[1]]) == BTF_MAGIC {
            Endian::Little
        } else if u16::from_be_bytes([data[0], data[1]]) == BTF_MAGIC {
            Endian::Big
        } else {
            return Err(BtfError::BadMagic {
                found: u16::from_le_bytes([data[0], data[1]]),
            });
        };
        let mut c = Cursor::new(data, 0, endian);
        c.u16()?;
        let version = c.u8()?;
        if version != 1 {
            return Err(BtfError::UnsupportedVersion { version });
        }
        let flags = c.u8()?;
        let hdr_len = c.u32()?;
        if (hdr_len as usize) < HEADER_LEN {
            return Err(BtfError::HeaderTooShort { hdr_len });
        }
        let header = BtfHeader {
            version,
            flags,
            hdr_len,
            type_off: c.u32()?,
            type_len: c.u32()?,
            str_off: c.u32()?,
            str_len: c.u32()?,
        };
        let types = section(
            data,
            "type",
            header.hdr_len,
            header.type_off,
            header.type_len,
        )?;
        let strings = section(
            data,
            "string",
            header.hdr_len,
            header.str_off,
            header.str_len,
        )?;
        let str_start = header.hdr_len as usize + header.str_off as usize;
        // Base BTF strings start with the empty string; every string ends in NUL.
        let bad_strings = match (strings.first(), strings.last()) {
            (Some(first), Some(0)) => base.is_none() && *first != 0,
            (None, None) => base.is_none(),
            _ => true,
        };
        if bad_strings {
            // Strings that end well but do not start with the empty string
            // continue another blob's: split BTF without its base.
            if base.is_none() && strings.last() == Some(&0) {
                return Err(BtfError::SplitWithoutBase { offset: str_start });
            }
            return Err(BtfError::BadStringSection { offset: str_start });
        }

        let (first_id, first_str) = match base {
            Some(b) => (b.type_count(), b.first_str + b.strings.len() as u32),
            None => (1, 0),
        };
        let types_start = header.hdr_len as usize + header.type_off as usize;
        let mut btf = Btf {
            data,
            endian,
            header,
            type_offsets: Vec::new(),
            type_kinds: Vec::new(),
            strings,
            // Set with the reference check, which validates it in parallel.
            strings_utf8: None,
            base,
            first_id,
            first_str,
        };
        btf.index_types(types, types_start)?;
        btf.check_references_and_strings()?;
        Ok(btf)
    }

    /// First pass: find every record, check its kind, length and name.
    fn index_types(&mut self, types: &'a [u8], types_start: usize) -> Result<(), BtfError> {
        // Every record is at least 12 bytes, so the table is bounded by the
        // input's length, never by a count read from it.
        let mut offsets = Vec::with_capacity(types.len() / TYPE_HEADER_LEN);
        let mut kinds = Vec::with_capacity(types.len() / TYPE_HEADER_LEN);
        // Fast path over whole, well-formed records (this pass is serial, and
        // vmlinux has 126k). The first record it does not like is left to
        // the checked loop below, which reports it with the same error.
        let little = self.endian == Endian::Little;
        let word = |at: usize| -> Option<u32> {
            let b: [u8; 4] = types.get(at..at + 4)?.try_into().ok()?;
            Some(if little {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            })
        };
        let mut pos = 0;
        while pos + TYPE_HEADER_LEN <= types.len() {
            let (Some(name_off), Some(info)) = (word(pos), word(pos + 4)) else {
                break;
            };
            let Some(kind) = BtfKind::from_raw((info >> 24) & 0x1f) else {
                break;
            };
            let end = pos + TYPE_HEADER_LEN + kind.extra_len((info & 0xffff) as usize);
            if end > types.len() || !self.str_in_range(name_off) {
                break;
            }
            offsets.push((types_start + pos) as u32);
            kinds.push(kind);
            pos = end;
        }
        let rest = types.get(pos..).unwrap_or(&[]);
        let mut c = Cursor::new(rest, types_start + pos, self.endian);
        while c.remaining() > 0 {
            let id = self.first_id + offsets.len() as u32;
            let offset = c.offset();
            let name_off = c.u32()?;
            let info = c.u32()?;
            c.u32()?;
            let raw_kind = (info >> 24) & 0x1f;
            let kind = BtfKind::from_raw(raw_kind).ok_or(BtfError::UnknownKind {
                id,
                kind: raw_kind,
                offset,
            })?;
            let vlen = (info & 0xffff) as usize;
            let extra = kind.extra_len(vlen);
            if c.remaining() < extra {
                return Err(BtfError::VlenOverrun {
                    id,
                    kind: kind.as_str(),
                    vlen,
                    needed: extra,
                    available: c.remaining(),
                    offset,
                });
            }
            self.check_str(id, name_off, offset)?;
            offsets.push(offset as u32);
            kinds.push(kind);
            c.bytes(extra)?;
        }
        self.type_offsets = offsets;
        self.type_kinds = kinds;
        Ok(())
    }

    /// Second pass: every type id and string offset a record mentions must
    /// exist, so that later accessors never fail. Also validates the string
    /// section as UTF-8 once (name lookups then need not).
    ///
    /// vmlinux has ~130k types and 2.5 MB of strings: the check runs in two
    /// parts on two cores, the second core also validating the strings. The
    /// first part's error wins, so the reported error does not depend on
    /// timing.
    fn check_references_and_strings(&mut self) -> Result<(), BtfError> {
        let n = self.type_offsets.len();
        if n < 16 * 1024 || crate::cores() < 2 {
            self.strings_utf8 = std::str::from_utf8(self.strings).ok();
            return self.check_references_in(0..n);
        }
        // The helper also validates the strings, so it checks fewer types.
        let split = n * 9 / 16;
        let strings = self.strings;
        let this = &*self;
        let (first, second) = std::thread::scope(|s| {
            let second = s.spawn(move || {
                let utf8 = std::str::from_utf8(strings).ok();
                (this.check_references_in(split..n), utf8)
            });
            let first = this.check_references_in(0..split);
            (first, second.join())
        });
        let (second, utf8) = second.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        self.strings_utf8 = utf8;
        first?;
        second
    }

    fn check_references_in(&self, range: std::ops::Range<usize>) -> Result<(), BtfError> {
        let last = self.type_count() - 1;
        for idx in range {
            let t = self.local_type_unnamed(idx);
            let check_id = |target: u32| {
                if target > last {
                    Err(BtfError::TypeIdOutOfRange {
                        id: t.id.0,
                        target,
                        last,
                        offset: t.offset,
                    })
                } else {
                    Ok(())
                }
            };
            if t.kind.refers_to_type() {
                check_id(t.size_or_type)?;
            }
            match t.kind {
                BtfKind::Array => {
                    let a = t.array().expect("array kind");
                    check_id(a.elem_type.0)?;
                    check_id(a.index_type.0)?;
                }
                BtfKind::Struct | BtfKind::Union => {
                    for m in t.raw_records(12) {
                        self.check_str(t.id.0, m[0], t.offset)?;
                        check_id(m[1])?;
                    }
                }
                BtfKind::Enum | BtfKind::Enum64 => {
                    let stride = if t.kind == BtfKind::Enum { 8 } else { 12 };
                    for m in t.raw_records(stride) {
                        self.check_str(t.id.0, m[0], t.offset)?;
                    }
                }
                BtfKind::FuncProto => {
                    for m in t.raw_records(8) {
                        self.check_str(t.id.0, m[0], t.offset)?;
                        check_id(m[1])?;
                    }
                }
                BtfKind::Datasec => {
                    for m in t.raw_records(12) {
                        check_id(m[0])?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// In range is enough: the section ends in NUL, so every in-range offset
    /// starts a terminated string. The base's strings were checked with it.
    fn str_in_range(&self, str_off: u32) -> bool {
        if str_off < self.first_str {
            self.base.is_some()
        } else {
            ((str_off - self.first_str) as usize) < self.strings.len()
        }
    }

    fn check_str(&self, id: u32, str_off: u32, offset: usize) -> Result<(), BtfError> {
        if !self.str_in_range(str_off) {
            return Err(BtfError::StrOffsetOutOfRange {
                id,
                str_off,
                str_len: self.first_str + self.strings.len() as u32,
                offset,
            });
        }
        Ok(())
    }

    /// The string at `off`, searching the base for split BTF. `None` when out of range.
    fn str_at(&self, off: u32) -> Option<&'a str> {
        if off < self.first_str {
            return self.base.and_then(|b| b.str_at(off));
        }
        let start = (off - self.first_str) as usize;
        let rest = self.strings.get(start..)?;
        // The section ends in NUL (checked at parse), so a terminator exists;
        // memchr's SIMD search: names are looked up ~100k times for vmlinux.
        let len = memchr::memchr(0, rest)?;
        match self.strings_utf8 {
            // NUL is ASCII, so [start, start+len) lies on char boundaries
            // whenever `start` does; `get` checks that cheaply.
            Some(text) => Some(text.get(start..start + len).unwrap_or("<non-utf8>")),
            None => Some(std::str::from_utf8(&rest[..len]).unwrap_or("<non-utf8>")),
        }
    }

    /// The string section from type `id`'s name on (the name, its NUL and
    /// whatever follows), in place, the base's for base ids; empty for an
    /// unknown id. The name checks below read it without decoding.
    fn name_rest(&self, id: TypeId) -> &'a [u8] {
        match self.locate(id) {
            Ok(Ok(base)) => base.name_rest(id),
            Ok(Err(idx)) => self.str_bytes_from(self.word_at(self.type_offsets[idx] as usize)),
            Err(_) => &[],
        }
    }

    /// The raw name bytes of type `id` (no NUL), without UTF-8 decoding: for
    /// hot checks against known names. Empty when the id or name is invalid.
    pub fn name_bytes(&self, id: TypeId) -> &'a [u8] {
        let rest = self.name_rest(id);
        memchr::memchr(0, rest).map_or(&[], |len| &rest[..len])
    }

    /// True when type `id` has a non-empty name (read in place).
    pub fn has_name(&self, id: TypeId) -> bool {
        self.name_rest(id).first().is_some_and(|&b| b != 0)
    }

    /// True when type `id`'s name is one of `names`, compared in place: no
    /// length search, no UTF-8 check.
    pub fn name_is_one_of(&self, id: TypeId, names: &[&str]) -> bool {
        let rest = self.name_rest(id);
        names.iter().any(|n| {
            let n = n.as_bytes();
            rest.get(..n.len()) == Some(n) && rest.get(n.len()) == Some(&0)
        })
    }

    /// The string section from offset `off` to its end (the base's for split
    /// BTF offsets below ours); empty when out of range.
    fn str_bytes_from(&self, off: u32) -> &'a [u8] {
        if off < self.first_str {
            return self.base.map_or(&[], |b| b.str_bytes_from(off));
        }
        self.strings
            .get((off - self.first_str) as usize..)
            .unwrap_or(&[])
    }

    /// Kind and third word of type `id` without decoding its name: the fast
    /// path for walking typedef and qualifier chains.
    pub fn kind_and_ref(&self, id: TypeId) -> Result<(BtfKind, u32), BtfError> {
        if id.0 < self.first_id {
            return match self.base {
                Some(b) if id.0 > 0 => b.kind_and_ref(id),
                _ => Err(BtfError::NoSuchType { id: id.0 }),
            };
        }
        let idx = (id.0 - self.first_id) as usize;
        let Some(&offset) = self.type_offsets.get(idx) else {
            return Err(BtfError::NoSuchType { id: id.0 });
        };
        let word = |i: usize| self.word_at(offset as usize + i * 4);
        let kind = BtfKind::from_raw((word(1) >> 24) & 0x1f).unwrap_or(BtfKind::Int);
        Ok((kind, word(2)))
    }

    /// The 32-bit word at `offset`; callers pass offsets of indexed records,
    /// whose length was checked at parse.
    fn word_at(&self, offset: usize) -> u32 {
        let b = &self.data[offset..offset + 4];
        let b = [b[0], b[1], b[2], b[3]];
        match self.endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// Byte order of the blob.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// The header as read.
    pub fn header(&self) -> &BtfHeader {
        &self.header
    }

    /// Size in bytes of the whole blob.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the blob declares no types of its own.
    pub fn is_empty(&self) -> bool {
        self.type_offsets.is_empty()
    }

    /// One past the last valid type id (void, id 0, counts), including the base's types.
    pub fn type_count(&self) -> u32 {
        self.first_id + self.type_offsets.len() as u32
    }

    /// Id of the first type this blob declares itself (1, or base's count for split BTF).
    pub fn first_local_id(&self) -> u32 {
        self.first_id
    }

    /// The base this split BTF continues, if any.
    pub fn base(&self) -> Option<&'a Btf<'a>> {
        self.base
    }

    fn local_type(&self, idx: usize) -> BtfType<'a> {
        let offset = self.type_offsets[idx] as usize;
        let name_off = self.word_at(offset);
        BtfType {
            name: self.str_at(name_off).unwrap_or(""),
            ..self.local_type_unnamed(idx)
        }
    }

    /// Decodes a record without looking up its name (left empty): for passes
    /// over every type that only need kinds and references.
    fn local_type_unnamed(&self, idx: usize) -> BtfType<'a> {
        let offset = self.type_offsets[idx] as usize;
        let info = self.word_at(offset + 4);
        let size_or_type = self.word_at(offset + 8);
        // Kinds and lengths were checked while indexing.
        let kind = self.type_kinds[idx];
        let vlen = (info & 0xffff) as usize;
        let start = offset + TYPE_HEADER_LEN;
        let extra = self
            .data
            .get(start..start + kind.extra_len(vlen))
            .unwrap_or(&[]);
        BtfType {
            id: TypeId(self.first_id + idx as u32),
            name: "",
            kind,
            kind_flag: info >> 31 == 1,
            vlen,
            size_or_type,
            extra,
            endian: self.endian,
            offset,
        }
    }

    /// Id and kind of the local types among `ids`, without decoding names
    /// (read from the index): a cheap filter before [`Btf::type_by_id`].
    pub fn local_kinds_in(
        &self,
        ids: std::ops::Range<u32>,
    ) -> impl Iterator<Item = (TypeId, BtfKind)> + '_ {
        let start = ids.start.saturating_sub(self.first_id) as usize;
        let end = ids.end.saturating_sub(self.first_id) as usize;
        let kinds = self.type_kinds.get(start..end.min(self.type_kinds.len()));
        kinds
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(move |(i, &kind)| (TypeId(self.first_id + (start + i) as u32), kind))
    }

    /// Where type `id` lives: in the base, or at this index of our own table.
    fn locate(&self, id: TypeId) -> Result<Result<&'a Btf<'a>, usize>, BtfError> {
        if id.0 < self.first_id {
            return match self.base {
                Some(b) if id.0 > 0 => Ok(Ok(b)),
                _ => Err(BtfError::NoSuchType { id: id.0 }),
            };
        }
        let idx = (id.0 - self.first_id) as usize;
        if idx >= self.type_offsets.len() {
            return Err(BtfError::NoSuchType { id: id.0 });
        }
        Ok(Err(idx))
    }

    /// The type with this id. Id 0 (`void`) and ids past the end are `NoSuchType`.
    pub fn type_by_id(&self, id: TypeId) -> Result<BtfType<'a>, BtfError> {
        match self.locate(id)? {
            Ok(base) => base.type_by_id(id),
            Err(idx) => Ok(self.local_type(idx)),
        }
    }

    /// Like [`Btf::type_by_id`] but leaves `name` empty: for hot paths that
    /// only need the kind, size and references.
    pub fn type_by_id_unnamed(&self, id: TypeId) -> Result<BtfType<'a>, BtfError> {
        match self.locate(id)? {
            Ok(base) => base.type_by_id_unnamed(id),
            Err(idx) => Ok(self.local_type_unnamed(idx)),
        }
    }

    /// Every type this blob declares itself, in id order (not the base's).
    pub fn local_types(&self) -> impl Iterator<Item = BtfType<'a>> + '_ {
        (0..self.type_offsets.len()).map(|i| self.local_type(i))
    }

    /// Every type including the base's, in id order.
    pub fn all_types(&self) -> Box<dyn Iterator<Item = BtfType<'a>> + '_> {
        match self.base {
            Some(b) => Box::new(b.all_types().chain(self.local_types())),
            None => Box::new(self.local_types()),
        }
    }

    /// The error for a typedef/qualifier/array chain from `id` that did not
    /// end within [`MAX_CHAIN`](crate::limits::MAX_CHAIN) hops: a reference
    /// cycle when the chain comes back to an id it passed, else a chain
    /// longer than the limit.
    pub fn chain_error(&self, id: TypeId) -> BtfError {
        use crate::limits::MAX_CHAIN;
        let offset = self.type_by_id_unnamed(id).map_or(0, |t| t.offset);
        let mut seen: Vec<u32> = Vec::with_capacity(MAX_CHAIN + 1);
        let mut cur = id.0;
        for _ in 0..=MAX_CHAIN {
            if seen.contains(&cur) {
                return BtfError::ReferenceCycle { id: id.0, offset };
            }
            seen.push(cur);
            let Ok(t) = self.type_by_id_unnamed(TypeId(cur)) else {
                break;
            };
            cur = match t.kind {
                BtfKind::Typedef
                | BtfKind::Const
                | BtfKind::Volatile
                | BtfKind::Restrict
                | BtfKind::TypeTag => t.size_or_type,
                BtfKind::Array => match t.array() {
                    Some(a) => a.elem_type.0,
                    None => break,
                },
                _ => break,
            };
        }
        BtfError::ChainTooLong {
            id: id.0,
            offset,
            limit: MAX_CHAIN,
        }
    }

    /// Byte size of type `id`: follows typedefs and qualifiers, multiplies out
    /// arrays (checked), counts pointers as 8 bytes; 0 for void, functions and
    /// forward declarations.
    pub fn size_of(&self, id: TypeId) -> Result<u64, BtfError> {
        let mut cur = id;
        let mut mult: u64 = 1;
        // Each hop strictly follows a reference; more hops than types is a cycle.
        for _ in 0..=self.type_count() {
            if cur.0 == 0 {
                return Ok(0);
            }
            let t = self.type_by_id(cur)?;
            let overflow = || BtfError::SizeOverflow {
                id: id.0,
                offset: t.offset,
            };
            match t.kind {
                BtfKind::Int
                | BtfKind::Enum
                | BtfKind::Enum64
                | BtfKind::Struct
                | BtfKind::Union
                | BtfKind::Float
                | BtfKind::Datasec => {
                    return mult.checked_mul(t.size_or_type as u64).ok_or_else(overflow)
                }
                BtfKind::Ptr => return mult.checked_mul(8).ok_or_else(overflow),
                BtfKind::Array => {
                    let a = t.array().expect("array kind");
                    mult = mult.checked_mul(a.nelems as u64).ok_or_else(overflow)?;
                    cur = a.elem_type;
                }
                BtfKind::Typedef
                | BtfKind::Const
                | BtfKind::Volatile
                | BtfKind::Restrict
                | BtfKind::TypeTag
                | BtfKind::Var => cur = TypeId(t.size_or_type),
                BtfKind::Fwd | BtfKind::Func | BtfKind::FuncProto | BtfKind::DeclTag => {
                    return Ok(0)
                }
            }
        }
        let t = self.type_by_id(id)?;
        Err(BtfError::ReferenceCycle {
            id: id.0,
            offset: t.offset,
        })
    }

    /// Ids of all types with this name (any kind), base first.
    pub fn find_by_name(&self, name: &str) -> Vec<TypeId> {
        self.all_types()
            .filter(|t| t.name == name)
            .map(|t| t.id)
            .collect()
    }
}

fn section<'a>(
    data: &'a [u8],
    name: &'static str,
    hdr_len: u32,
    off: u32,
    len: u32,
) -> Result<&'a [u8], BtfError> {
    let start = hdr_len as u64 + off as u64;
    let end = start + len as u64;
    if end > data.len() as u64 {
        return Err(BtfError::SectionOutOfBounds {
            section: name,
            start,
            len: len as u64,
            blob_len: data.len(),
        });
    }
    Ok(&data[start as usize..end as usize])
}

/// One decoded `btf_type` record, borrowing the blob.
#[derive(Debug, Clone, Copy)]
pub struct BtfType<'a> {
    pub id: TypeId,
    /// The type's name; empty for anonymous types.
    pub name: &'a str,
    pub kind: BtfKind,
    pub kind_flag: bool,
    pub vlen: usize,
    /// `size` for INT, ENUM, STRUCT, UNION, DATASEC, FLOAT, ENUM64; `type` otherwise.
    pub size_or_type: u32,
    extra: &'a [u8],
    endian: Endian,
    /// Byte offset of the record in the blob.
    pub offset: usize,
}

/// The `__u32` that follows a `BTF_KIND_INT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfInt {
    pub signed: bool,
    pub char: bool,
    pub bool: bool,
    /// Bit offset of the value inside its storage (always 0 from modern compilers).
    pub offset: u8,
    pub bits: u8,
}

/// `struct btf_array`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfArray {
    pub elem_type: TypeId,
    pub index_type: TypeId,
    pub nelems: u32,
}

/// A struct or union member with its offset decoded per `kind_flag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfMember<'a> {
    pub name: &'a str,
    pub type_id: TypeId,
    /// Offset in bits from the start of the aggregate.
    pub bit_offset: u32,
    /// Bitfield width; 0 for ordinary members.
    pub bitfield_size: u32,
}

/// An enumerator, widened to 64 bits; `signed` says how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfEnumValue<'a> {
    pub name: &'a str,
    /// The raw 64 bits (for ENUM, the 32-bit value sign- or zero-extended).
    pub value: i128,
}

/// A FUNC_PROTO parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfParam<'a> {
    pub name: &'a str,
    pub type_id: TypeId,
}

/// A DATASEC entry: a variable of the section with its placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfVarSecinfo {
    pub type_id: TypeId,
    pub offset: u32,
    pub size: u32,
}

impl<'a> BtfType<'a> {
    fn word(&self, i: usize) -> u32 {
        let b = &self.extra[i * 4..i * 4 + 4];
        let b = [b[0], b[1], b[2], b[3]];
        match self.endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// Records of `stride` bytes after the header, as words. Lengths were
    /// checked at parse, so this never reads out of bounds.
    fn raw_records(&self, stride: usize) -> impl Iterator<Item = [u32; 3]> + '_ {
        // The byte order is decided once, not per word: the reference check
        // reads every member and parameter of vmlinux (~300k records).
        let little = self.endian == Endian::Little;
        let words = stride / 4;
        self.extra
            .chunks_exact(stride.max(4))
            .take(self.vlen)
            .map(move |record| {
                let mut out = [0u32; 3];
                for (slot, b) in out.iter_mut().zip(record.chunks_exact(4)).take(words) {
                    let b = [b[0], b[1], b[2], b[3]];
                    *slot = if little {
                        u32::from_le_bytes(b)
                    } else {
                        u32::from_be_bytes(b)
                    };
                }
                out
            })
    }

    /// The referenced type for PTR, TYPEDEF, qualifiers, FUNC, VAR, DECL_TAG, TYPE_TAG.
    pub fn ref_type(&self) -> Option<TypeId> {
        self.kind
            .refers_to_type()
            .then_some(TypeId(self.size_or_type))
    }

    /// The byte size for kinds that carry one.
    pub fn size(&self) -> Option<u32> {
        use BtfKind::*;
        matches!(
            self.kind,
            Int | Enum | Struct | Union | Datasec | Float | Enum64
        )
        .then_some(self.size_or_type)
    }

    pub fn int(&self) -> Option<BtfInt> {
        if self.kind != BtfKind::Int {
            return None;
        }
        let w = self.word(0);
        let enc = (w >> 24) & 0x0f;
        Some(BtfInt {
            signed: enc & 1 != 0,
            char: enc & 2 != 0,
            bool: enc & 4 != 0,
            offset: ((w >> 16) & 0xff) as u8,
            bits: (w & 0xff) as u8,
        })
    }

    pub fn array(&self) -> Option<BtfArray> {
        (self.kind == BtfKind::Array).then(|| BtfArray {
            elem_type: TypeId(self.word(0)),
            index_type: TypeId(self.word(1)),
            nelems: self.word(2),
        })
    }

    /// Members of a STRUCT or UNION (empty for other kinds); names need `btf`.
    pub fn members<'b>(&'b self, btf: &'b Btf<'a>) -> impl Iterator<Item = BtfMember<'a>> + 'b {
        let is_agg = matches!(self.kind, BtfKind::Struct | BtfKind::Union);
        let n = if is_agg { self.vlen } else { 0 };
        (0..n).map(move |i| {
            let off = self.word(i * 3 + 2);
            let (bit_offset, bitfield_size) = if self.kind_flag {
                (off & 0x00ff_ffff, off >> 24)
            } else {
                (off, 0)
            };
            BtfMember {
                name: btf.str_at(self.word(i * 3)).unwrap_or(""),
                type_id: TypeId(self.word(i * 3 + 1)),
                bit_offset,
                bitfield_size,
            }
        })
    }

    /// Enumerators of ENUM or ENUM64; `kind_flag` marks signed enums.
    pub fn enum_values<'b>(
        &'b self,
        btf: &'b Btf<'a>,
    ) -> impl Iterator<Item = BtfEnumValue<'a>> + 'b {
        let (n, stride) = match self.kind {
            BtfKind::Enum => (self.vlen, 2),
            BtfKind::Enum64 => (self.vlen, 3),
            _ => (0, 2),
        };
        let signed = self.kind_flag;
        (0..n).map(move |i| {
            let name = btf.str_at(self.word(i * stride)).unwrap_or("");
            let value = if stride == 2 {
                let v = self.word(i * 2 + 1);
                if signed {
                    v as i32 as i128
                } else {
                    v as i128
                }
            } else {
                let v = (self.word(i * 3 + 2) as u64) << 32 | self.word(i * 3 + 1) as u64;
                if signed {
                    v as i64 as i128
                } else {
                    v as i128
                }
            };
            BtfEnumValue { name, value }
        })
    }

    /// Parameters of a FUNC_PROTO.
    pub fn params<'b>(&'b self, btf: &'b Btf<'a>) -> impl Iterator<Item = BtfParam<'a>> + 'b {
        let n = if self.kind == BtfKind::FuncProto {
            self.vlen
        } else {
            0
        };
        (0..n).map(move |i| BtfParam {
            name: btf.str_at(self.word(i * 2)).unwrap_or(""),
            type_id: TypeId(self.word(i * 2 + 1)),
        })
    }

    /// Variables of a DATASEC.
    pub fn datasec_vars(&self) -> impl Iterator<Item = BtfVarSecinfo> + '_ {
        let n = if self.kind == BtfKind::Datasec {
            self.vlen
        } else {
            0
        };
        (0..n).map(move |i| BtfVarSecinfo {
            type_id: TypeId(self.word(i * 3)),
            offset: self.word(i * 3 + 1),
            size: self.word(i * 3 + 2),
        })
    }

    /// `component_idx` of a DECL_TAG (-1 for the whole declaration).
    pub fn decl_tag_component(&self) -> Option<i32> {
        (self.kind == BtfKind::DeclTag).then(|| self.word(0) as i32)
    }

    /// Linkage of a VAR (0 static, 1 global, 2 extern).
    pub fn var_linkage(&self) -> Option<u32> {
        (self.kind == BtfKind::Var).then(|| self.word(0))
    }
}

#[cfg(test)]
#[path = "btf_tests.rs"]
mod tests;
