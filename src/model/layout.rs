//! The layout model: how one struct or union is laid out in memory, whatever
//! described it (BTF, DWARF, Go source, a YAML schema).
//!
//! Every source builds [`Layout`]s; holes and padding are derived here, once,
//! by [`Layout::finish`], so that all sources agree on what a hole is.

use std::sync::Arc;

/// Struct, union, or a BTF data section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AggregateKind {
    Struct,
    Union,
    /// A BTF `DATASEC` (`.rodata`, `.bss`, `.data`, `.kconfig`, `.data.*`,
    /// `.rodata.*`): the value of one of libbpf's global data maps. Its
    /// members are the section's variables (`VAR`s) at their offsets; the
    /// gaps between them are holes, laid out as a struct's are.
    Datasec,
}

impl AggregateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateKind::Struct => "struct",
            AggregateKind::Union => "union",
            AggregateKind::Datasec => "datasec",
        }
    }
}

/// Byte order of an integer field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ByteOrder {
    /// The host's order (what `__u16`, Go `uint16` mean).
    #[default]
    Host,
    /// Network order: `__be16`, `__be32`, `__be64`.
    Big,
}

/// How an integer is meant to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntEncoding {
    #[default]
    Plain,
    Char,
    Bool,
}

/// Where a declaration is in source: a Go file line, a DWARF decl_file:line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceLoc {
    pub file: String,
    pub line: u32,
}

/// An enumeration type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnumType {
    pub name: String,
    pub size: u64,
    pub signed: bool,
    pub values: Vec<(String, i128)>,
}

/// The type of a member, as far as layout and decoding need it.
///
/// `Eq` (not just `PartialEq`) so that comparing two `Arc`s of one shared
/// nested type stops at the pointer: without it comparing a type whose
/// members share a sub-type costs time exponential in its depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Int {
        size: u64,
        signed: bool,
        encoding: IntEncoding,
        byte_order: ByteOrder,
    },
    Float {
        size: u64,
    },
    Enum(Arc<EnumType>),
    Pointer {
        size: u64,
    },
    Array {
        elem: Arc<FieldType>,
        len: u64,
    },
    Aggregate(Arc<Layout>),
    /// A type with a size but nothing to decode (function pointer target, forward
    /// declaration, void).
    Opaque {
        size: u64,
        what: String,
    },
}

impl FieldType {
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            FieldType::Int { size, .. }
            | FieldType::Float { size }
            | FieldType::Pointer { size }
            | FieldType::Opaque { size, .. } => *size,
            FieldType::Enum(e) => e.size,
            FieldType::Array { elem, len } => elem.size().saturating_mul(*len),
            FieldType::Aggregate(l) => l.size,
        }
    }

    /// Natural alignment: what the compiler would align this type to unpacked.
    pub fn natural_align(&self) -> u64 {
        match self {
            FieldType::Int { size, .. }
            | FieldType::Float { size }
            | FieldType::Pointer { size } => (*size).max(1),
            FieldType::Enum(e) => e.size.max(1),
            FieldType::Array { elem, .. } => elem.natural_align(),
            FieldType::Aggregate(l) => l.natural_align.max(1),
            FieldType::Opaque { .. } => 1,
        }
    }

    /// A short kind word: int, float, enum, pointer, array, struct, union, opaque.
    pub fn kind_str(&self) -> &'static str {
        match self {
            FieldType::Int {
                encoding: IntEncoding::Bool,
                ..
            } => "bool",
            FieldType::Int { .. } => "int",
            FieldType::Float { .. } => "float",
            FieldType::Enum(_) => "enum",
            FieldType::Pointer { .. } => "pointer",
            FieldType::Array { .. } => "array",
            FieldType::Aggregate(l) => l.kind.as_str(),
            FieldType::Opaque { .. } => "opaque",
        }
    }
}

/// One member of a struct or union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Empty for anonymous struct/union members.
    pub name: compact_str::CompactString,
    /// Byte offset of the member (for a bitfield: of its storage unit).
    pub offset: u64,
    /// Absolute offset in bits from the start of the aggregate.
    pub bit_offset: u64,
    /// Size in bytes of the member's type (for a bitfield: of its storage unit).
    pub size: u64,
    /// Width of a bitfield, `None` for ordinary members.
    pub bit_size: Option<u32>,
    /// The type, spelled the way its source spells it (`__be16`, `uint32`, `char[16]`).
    /// Shared: one allocation per distinct spelling, not per member.
    pub type_name: Arc<str>,
    pub ty: FieldType,
    /// Boxed: most members (all of BTF's) have none, and members are many.
    pub source: Option<Box<SourceLoc>>,
}

impl Member {
    /// First bit past this member.
    pub fn bit_end(&self) -> u64 {
        match self.bit_size {
            Some(w) => self.bit_offset + w as u64,
            None => self.bit_offset + self.size * 8,
        }
    }
}

/// A run of whole bytes between two members that no member covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Hole {
    pub offset: u64,
    pub size: u64,
}

/// A run of bits, inside a bitfield's storage, that no member covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BitHole {
    pub bit_offset: u64,
    pub bits: u64,
}

/// A laid-out struct or union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Empty for anonymous aggregates.
    pub name: compact_str::CompactString,
    pub kind: AggregateKind,
    pub size: u64,
    /// The largest natural alignment of any member (1 for an empty type).
    pub natural_align: u64,
    /// Inferred or declared packing: members at unnatural offsets, or a size
    /// that is not a multiple of the natural alignment.
    pub packed: bool,
    pub members: Vec<Member>,
    /// Byte holes between members (structs only), as pahole counts them.
    pub holes: Vec<Hole>,
    /// Bit holes inside bitfield storage units, as pahole counts them.
    pub bit_holes: Vec<BitHole>,
    /// Trailing bytes after the last member.
    pub padding: u64,
    /// Trailing bits after a final bitfield, inside its storage unit.
    pub bit_padding: u64,
    pub source: Option<SourceLoc>,
    /// `name` is a typedef's (`typedef struct { … } foo_t;`), spelled
    /// without `struct`.
    pub named_by_typedef: bool,
}

impl Layout {
    /// A layout with members placed; call [`Layout::finish`] to derive holes.
    pub fn new(
        name: impl Into<compact_str::CompactString>,
        kind: AggregateKind,
        size: u64,
        members: Vec<Member>,
    ) -> Self {
        Layout {
            name: name.into(),
            kind,
            size,
            natural_align: 1,
            packed: false,
            members,
            holes: Vec::new(),
            bit_holes: Vec::new(),
            padding: 0,
            bit_padding: 0,
            source: None,
            named_by_typedef: false,
        }
    }

    /// The alignment this type has when used as a member.
    pub fn align(&self) -> u64 {
        if self.packed {
            1
        } else {
            self.natural_align
        }
    }

    /// Whether this is a global data section (a BTF `DATASEC`).
    pub fn is_datasec(&self) -> bool {
        self.kind == AggregateKind::Datasec
    }

    /// `struct foo`, `union bar`, `datasec .rodata`, or `struct (anonymous)`.
    pub fn display_name(&self) -> String {
        if self.named_by_typedef {
            self.name.to_string()
        } else if self.name.is_empty() {
            format!("{} (anonymous)", self.kind.as_str())
        } else {
            format!("{} {}", self.kind.as_str(), self.name)
        }
    }

    /// Derives natural alignment, packing, holes, bit holes and padding from the
    /// placed members. Hole accounting follows pahole's `class__find_holes`, so
    /// that our figures and pahole's can be compared line by line.
    pub fn finish(mut self) -> Self {
        self.natural_align = self
            .members
            .iter()
            .map(|m| m.ty.natural_align())
            .max()
            .unwrap_or(1)
            .max(1);
        self.holes.clear();
        self.bit_holes.clear();
        if self.kind == AggregateKind::Union {
            let end = self.members.iter().map(|m| m.bit_end()).max().unwrap_or(0);
            self.padding = self.size.saturating_sub(end.div_ceil(8));
            self.bit_padding = 0;
            self.packed = self.size % self.natural_align != 0;
            return self;
        }

        let size_bits = self.size.saturating_mul(8);
        let mut last_seen_bit: u64 = 0;
        let mut in_bitfield = false;
        let mut cur_bitfield_end: u64 = size_bits;
        let mut cur_bitfield_size: u64 = 0;
        for m in &self.members {
            let bit_start = m.bit_offset;
            let bit_end = m.bit_end();
            let mut bit_holes: u64 = 0;
            let mut byte_holes: u64 = 0;
            let mut hole_start = last_seen_bit;
            if in_bitfield {
                let bitfield_end = bit_start.min(cur_bitfield_end);
                bit_holes = bitfield_end.saturating_sub(last_seen_bit);
                last_seen_bit = bitfield_end;
            }
            if m.bit_size.is_some() {
                let aligned_start = m.offset * 8;
                if last_seen_bit < aligned_start && aligned_start <= bit_start {
                    byte_holes = m.offset - last_seen_bit / 8;
                    hole_start = last_seen_bit;
                    last_seen_bit = aligned_start;
                }
                bit_holes += bit_start.saturating_sub(last_seen_bit);
            } else {
                byte_holes = (bit_start / 8).saturating_sub(last_seen_bit / 8);
                hole_start = last_seen_bit;
            }
            if byte_holes > 0 {
                self.holes.push(Hole {
                    offset: hole_start.div_ceil(8),
                    size: byte_holes,
                });
            }
            if bit_holes > 0 {
                self.bit_holes.push(BitHole {
                    bit_offset: bit_start.saturating_sub(bit_holes),
                    bits: bit_holes,
                });
            }
            last_seen_bit = bit_end;
            if let Some(_w) = m.bit_size {
                in_bitfield = true;
                let storage_bits = m.size * 8;
                if bit_end > cur_bitfield_end || storage_bits > cur_bitfield_size {
                    cur_bitfield_size = storage_bits;
                    cur_bitfield_end = m.offset * 8 + cur_bitfield_size;
                    if bit_end > cur_bitfield_end {
                        cur_bitfield_end += cur_bitfield_size;
                    }
                }
            } else {
                in_bitfield = false;
                cur_bitfield_size = 0;
                cur_bitfield_end = bit_end;
            }
        }
        if in_bitfield {
            let bitfield_end = size_bits.min(cur_bitfield_end);
            self.bit_padding = bitfield_end.saturating_sub(last_seen_bit);
            last_seen_bit = bitfield_end;
        } else {
            self.bit_padding = 0;
        }
        self.padding = self.size.saturating_sub(last_seen_bit / 8);

        // Packing, as pahole infers it when nothing else says so. A data
        // section is never packed: the loader sizes it to its last
        // variable (`.kconfig` of an int and a bool is 5 bytes).
        self.packed =
            if self.kind == AggregateKind::Datasec || !self.holes.is_empty() || self.padding != 0 {
                false
            } else {
                let misplaced = self.members.iter().any(|m| {
                    let a = m.ty.natural_align();
                    a > 1 && m.bit_size.is_none() && m.offset % a != 0
                });
                misplaced || self.size % self.natural_align != 0
            };
        self
    }

    /// For each of the first `max_bytes` bytes, its padding bits (bits no
    /// member covers, at any depth, per [`Layout::uncovered_bits`]): the
    /// mask key and value bytes are tested against, or cleared with.
    pub fn padding_mask(&self, max_bytes: u64) -> Vec<u8> {
        let size = self.size.min(max_bytes);
        let mut mask = vec![0u8; size as usize];
        for (start, bits) in self.uncovered_bits() {
            for bit in start.min(size * 8)..start.saturating_add(bits).min(size * 8) {
                mask[(bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        mask
    }

    /// Every bit range of the type, at any depth, that no member covers: the
    /// bytes (and bits) user space must zero in a key. Ranges are
    /// `(bit_offset, bits)` from the start of this type, sorted and merged.
    ///
    /// At most [`MAX_LAYOUT_WALK`](crate::limits::MAX_LAYOUT_WALK) members
    /// and elements are looked into; past that each is counted covered whole,
    /// so a type nesting many copies of one struct (its size doubling per
    /// level) costs bounded work and may under-report padding, never invent it.
    pub fn uncovered_bits(&self) -> Vec<(u64, u64)> {
        let mut covered = Vec::new();
        let mut left = crate::limits::MAX_LAYOUT_WALK;
        collect_covered(self, 0, &mut covered, &mut left);
        covered.sort_unstable();
        let mut out = Vec::new();
        let mut pos = 0u64;
        for (start, end) in covered {
            if start > pos {
                out.push((pos, start - pos));
            }
            pos = pos.max(end);
        }
        let total = self.size * 8;
        if total > pos {
            out.push((pos, total - pos));
        }
        out
    }
}

/// Totals over many layouts, for `layout --format summary`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LayoutStats {
    pub structs: u64,
    pub unions: u64,
    /// Global data sections (BTF `DATASEC`s) laid out by name.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub datasecs: u64,
    pub members: u64,
    pub bitfields: u64,
    pub with_holes: u64,
    pub holes: u64,
    pub hole_bytes: u64,
    pub with_padding: u64,
    pub padding_bytes: u64,
    pub bit_holes: u64,
    pub packed: u64,
    pub total_size: u64,
    /// The types wasting the most bytes (holes + padding): (bytes, size, name).
    pub worst: Vec<(u64, u64, String)>,
    /// Waste below the tenth-worst kept so far cannot enter `worst`:
    /// skipping it saves formatting a name for most types.
    #[serde(skip)]
    bar: u64,
}

impl LayoutStats {
    /// How many of the most wasteful types are kept.
    pub const WORST: usize = 10;

    pub fn of<'l>(layouts: impl Iterator<Item = (&'l str, &'l Layout)>) -> Self {
        let mut s = LayoutStats::default();
        for (name, l) in layouts {
            s.add(name, l);
        }
        s
    }

    /// Counts one layout, shown under `name`.
    pub fn add(&mut self, name: &str, l: &Layout) {
        match l.kind {
            AggregateKind::Struct => self.structs += 1,
            AggregateKind::Union => self.unions += 1,
            AggregateKind::Datasec => self.datasecs += 1,
        }
        self.members += l.members.len() as u64;
        self.bitfields += l.members.iter().filter(|m| m.bit_size.is_some()).count() as u64;
        let hole_bytes: u64 = l.holes.iter().map(|h| h.size).sum();
        self.with_holes += u64::from(!l.holes.is_empty());
        self.holes += l.holes.len() as u64;
        self.hole_bytes += hole_bytes;
        self.with_padding += u64::from(l.padding > 0);
        self.padding_bytes += l.padding;
        self.bit_holes += l.bit_holes.len() as u64;
        self.packed += u64::from(l.packed);
        self.total_size += l.size;
        let waste = hole_bytes + l.padding;
        if waste > 0 && waste >= self.bar {
            self.worst
                .push((waste, l.size, format!("{} {name}", l.kind.as_str())));
            if self.trim_worst() {
                self.bar = self.worst.last().map_or(0, |w| w.0);
            }
        }
    }

    /// Adds another partial total (from another worker).
    pub fn merge(&mut self, o: LayoutStats) {
        self.structs += o.structs;
        self.unions += o.unions;
        self.datasecs += o.datasecs;
        self.members += o.members;
        self.bitfields += o.bitfields;
        self.with_holes += o.with_holes;
        self.holes += o.holes;
        self.hole_bytes += o.hole_bytes;
        self.with_padding += o.with_padding;
        self.padding_bytes += o.padding_bytes;
        self.bit_holes += o.bit_holes;
        self.packed += o.packed;
        self.total_size += o.total_size;
        self.worst.extend(o.worst);
        self.trim_worst();
    }

    /// Keeps only the [`Self::WORST`] most wasteful once the list has grown;
    /// true when it trimmed (the list is then sorted, least waste last).
    fn trim_worst(&mut self) -> bool {
        if self.worst.len() > 4 * Self::WORST {
            self.worst
                .sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            self.worst.truncate(Self::WORST);
            return true;
        }
        false
    }

    /// The most wasteful types, most waste first (ties: larger, then by name).
    pub fn worst(&self) -> Vec<(u64, u64, String)> {
        let mut w = self.worst.clone();
        w.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        w.truncate(Self::WORST);
        w
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `left` counts the members and elements still to look into (see
/// [`Layout::uncovered_bits`]); offsets saturate rather than wrap.
fn collect_covered(layout: &Layout, base: u64, out: &mut Vec<(u64, u64)>, left: &mut usize) {
    for m in &layout.members {
        let start = base.saturating_add(m.bit_offset);
        if *left > 0 && m.bit_size.is_none() {
            *left -= 1;
            if collect_type(&m.ty, start, out, left) {
                continue;
            }
        }
        out.push((start, base.saturating_add(m.bit_end())));
    }
}

/// Adds the covered ranges of a value of type `ty` at `start`. Returns false
/// when the type has no inner structure (the caller covers it whole).
fn collect_type(ty: &FieldType, start: u64, out: &mut Vec<(u64, u64)>, left: &mut usize) -> bool {
    match ty {
        FieldType::Aggregate(inner) => {
            collect_covered(inner, start, out, left);
            true
        }
        FieldType::Array { elem, len } => {
            let stride = elem.size().saturating_mul(8);
            if !matches!(**elem, FieldType::Aggregate(_) | FieldType::Array { .. }) {
                return false;
            }
            // Arrays of structs repeat the element's holes; cap the walk so a huge
            // array cannot make this unbounded (the tail is then counted as covered).
            let mut n = (*len).min(4096);
            for i in 0..n {
                if *left == 0 {
                    n = i;
                    break;
                }
                *left -= 1;
                let at = start.saturating_add(i.saturating_mul(stride));
                if !collect_type(elem, at, out, left) {
                    out.push((at, at.saturating_add(stride)));
                }
            }
            if n < *len {
                out.push((
                    start.saturating_add(n.saturating_mul(stride)),
                    start.saturating_add(len.saturating_mul(stride)),
                ));
            }
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(size: u64) -> FieldType {
        FieldType::Int {
            size,
            signed: false,
            encoding: IntEncoding::Plain,
            byte_order: ByteOrder::Host,
        }
    }

    fn member(name: &str, offset: u64, size: u64) -> Member {
        Member {
            name: name.into(),
            offset,
            bit_offset: offset * 8,
            size,
            bit_size: None,
            type_name: format!("u{}", size * 8).into(),
            ty: int(size),
            source: None,
        }
    }

    fn bitfield(name: &str, unit_offset: u64, bit_offset: u64, width: u32) -> Member {
        Member {
            bit_offset,
            bit_size: Some(width),
            ..member(name, unit_offset, 4)
        }
    }

    #[test]
    fn flow_key_has_one_hole_and_trailing_padding() {
        let l = Layout::new(
            "flow_key",
            AggregateKind::Struct,
            16,
            vec![
                member("saddr", 0, 4),
                member("sport", 4, 2),
                member("daddr", 8, 4),
                member("proto", 12, 1),
            ],
        )
        .finish();
        assert_eq!(l.holes, vec![Hole { offset: 6, size: 2 }]);
        assert_eq!(l.padding, 3);
        assert!(!l.packed);
        assert_eq!(l.uncovered_bits(), vec![(48, 16), (104, 24)]);
    }

    #[test]
    fn bitfield_gap_counts_as_bit_hole_like_pahole() {
        // unsigned c:3, d:5; short e at byte 10 (pahole: "XXX 8 bits hole").
        let mut e = member("e", 10, 2);
        e.ty = int(2);
        let l = Layout::new(
            "t",
            AggregateKind::Struct,
            12,
            vec![bitfield("c", 8, 64, 3), bitfield("d", 8, 67, 5), e],
        )
        .finish();
        assert_eq!(l.holes, vec![Hole { offset: 0, size: 8 }]);
        assert_eq!(
            l.bit_holes,
            vec![BitHole {
                bit_offset: 72,
                bits: 8
            }]
        );
    }

    #[test]
    fn packed_struct_is_inferred() {
        let l = Layout::new(
            "pk",
            AggregateKind::Struct,
            5,
            vec![member("a", 0, 1), member("b", 1, 4)],
        )
        .finish();
        assert!(l.packed);
        assert_eq!(l.align(), 1);
        assert!(l.holes.is_empty());
    }

    /// `u32 x[2][3]` covers its 24 bytes: the rows, arrays of scalars, used
    /// to add nothing, so a two-dimensional array read as padding.
    #[test]
    fn two_dimensional_scalar_array_is_covered() {
        let row = FieldType::Array {
            elem: Arc::new(int(4)),
            len: 3,
        };
        let m = Member {
            ty: FieldType::Array {
                elem: Arc::new(row),
                len: 2,
            },
            ..member("x", 0, 24)
        };
        let l = Layout::new("t", AggregateKind::Struct, 24, vec![m]).finish();
        assert_eq!(l.uncovered_bits(), vec![]);
    }
}
