//! Byte maps: the bytes a finding is about, laid out against the fields that
//! cover them, for the HTML, Markdown and text reports.
//!
//! A [`ByteMap`] is a column of byte ranges (rows) shared by several lanes: a
//! type's fields (one lane per side of a layout comparison, or the key type
//! of a missed lookup) and byte values (the looked-up and the present key, a
//! dumped entry). Rows are split at every field boundary of every lane and
//! at every run of marked bytes, and hold at most [`ROW_BYTES`] bytes, so the
//! lanes line up by offset however they are drawn. Like pahole's annotated
//! text, gaps between fields are explicit rows (`hole`, `padding`); like
//! go-tools' structlayout-svg, a field is one block spanning its bytes.
//!
//! Marks are made here and only here: each marked byte of a lane carries its
//! [`Mark`] (why it is marked, with the legend that says so), by one rule per
//! kind: a dumped entry's byte only where that entry's own padding bits are
//! not zero, a missed key's byte only where the two keys differ, a layout
//! finding's field only on the side and bytes it names. The renderers draw
//! the marks they are given: HTML (`<mark>`, marked blocks), and the text
//! block ([`block_lines`]) the Markdown report and the text report share.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::escape::terminal;
use super::{EvidenceLayout, MapSummary, Report};
use crate::model::finding::{Code, Finding};
use crate::model::layout::Layout;

/// Most bytes one row holds (a hexdump line).
pub const ROW_BYTES: u64 = 8;

/// Bytes drawn at most; a longer type is drawn up to here and says so.
pub const MAX_BYTES: u64 = 1024;

/// One field of a type, or several that overlap (a union's members, the
/// bitfields of one storage unit), as one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub type_name: String,
    pub offset: u64,
    pub size: u64,
}

/// A type's size and fields, in offset order, overlaps merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLayout {
    pub name: String,
    pub size: u64,
    pub fields: Vec<Field>,
}

/// A stretch of a type: a field, or bytes no field covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Index into [`FieldLayout::fields`].
    Field(usize),
    /// Between two fields.
    Hole,
    /// After the last field.
    Padding,
    /// Past the end of this type (the other side is longer).
    Beyond,
}

impl FieldLayout {
    fn from_fields(name: String, size: u64, mut fields: Vec<Field>) -> Self {
        fields.sort_by_key(|f| (f.offset, std::cmp::Reverse(f.size)));
        let mut merged: Vec<Field> = Vec::new();
        for f in fields {
            match merged.last_mut() {
                Some(last) if f.offset < last.offset + last.size.max(1) => {
                    last.name = format!("{} / {}", last.name, f.name);
                    if last.type_name != f.type_name {
                        last.type_name = format!("{} / {}", last.type_name, f.type_name);
                    }
                    last.size = last.size.max(f.offset + f.size - last.offset);
                }
                _ => merged.push(f),
            }
        }
        FieldLayout {
            name,
            size,
            fields: merged,
        }
    }

    /// From a model layout (a map's key or value type).
    pub fn from_layout(l: &Layout) -> Self {
        let fields = l
            .members
            .iter()
            .map(|m| Field {
                name: match (m.name.is_empty(), m.bit_size) {
                    (true, _) => format!("({})", m.ty.kind_str()),
                    (false, Some(w)) => format!("{}:{w}", m.name),
                    (false, None) => m.name.to_string(),
                },
                type_name: m.type_name.to_string(),
                offset: m.offset,
                size: m.size,
            })
            .collect();
        Self::from_fields(l.display_name(), l.size, fields)
    }

    /// From the layout picture a layout finding carries.
    pub(crate) fn from_evidence(l: &EvidenceLayout) -> Self {
        let fields = l
            .fields
            .iter()
            .map(|f| Field {
                name: f.name.clone(),
                type_name: f.type_name.clone(),
                offset: f.offset,
                size: f.size,
            })
            .collect();
        Self::from_fields(l.name.clone(), l.size, fields)
    }

    /// A type known only by its size and padding ranges (a dump finding's
    /// evidence where the map's layout is not in the report).
    fn from_padding(name: String, size: u64, padding: &[(u64, u64)]) -> Self {
        let mut fields = Vec::new();
        let mut at = 0;
        for &(o, s) in padding {
            if o > at {
                fields.push(Field {
                    name: "(data)".into(),
                    type_name: String::new(),
                    offset: at,
                    size: o - at,
                });
            }
            at = at.max(o + s);
        }
        if at < size {
            fields.push(Field {
                name: "(data)".into(),
                type_name: String::new(),
                offset: at,
                size: size - at,
            });
        }
        Self::from_fields(name, size, fields)
    }

    /// What covers byte `b`.
    pub fn region_at(&self, b: u64) -> Region {
        if b >= self.size {
            return Region::Beyond;
        }
        if let Some(i) = self
            .fields
            .iter()
            .position(|f| f.offset <= b && b < f.offset + f.size.max(1))
        {
            return Region::Field(i);
        }
        if self.fields.iter().any(|f| f.offset > b) {
            Region::Hole
        } else {
            Region::Padding
        }
    }

    /// Words for a region: the field's name, `hole`, `padding`, `past the end`.
    pub fn region_name(&self, r: Region) -> String {
        match r {
            Region::Field(i) => self.fields[i].name.clone(),
            Region::Hole => "hole".into(),
            Region::Padding => "padding".into(),
            Region::Beyond => format!("past the end of {}", self.name),
        }
    }
}

/// Why a byte is marked. Every mark of every byte map is made here, by the
/// one rule of its kind, and carries its kind to the renderers: HTML,
/// Markdown and text draw the same marks and the same legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    /// A layout finding's own field, on the lane of the side it names: its
    /// bytes (for a bitfield, the bytes holding its bits).
    Field,
    /// A size mismatch: bytes the longer type has and the shorter has not,
    /// on the longer type's lane.
    OneSide,
    /// A layout finding without a field or a size difference: a field that
    /// is not at the same offset with the same size on the other side.
    Misplaced,
    /// A key type's padding (bytes with bits no field covers), which the
    /// kernel hashes and compares.
    KeyPadding,
    /// A dumped entry's byte whose padding bits are not zero.
    NonZeroPadding,
    /// A byte of one key that differs from the other key's byte there.
    Differs,
}

impl Mark {
    /// Every kind, in legend order.
    pub const ALL: &'static [Mark] = &[
        Mark::Field,
        Mark::OneSide,
        Mark::Misplaced,
        Mark::KeyPadding,
        Mark::NonZeroPadding,
        Mark::Differs,
    ];

    /// What a marked byte of this kind means, for the legend.
    pub fn legend(self) -> &'static str {
        match self {
            Mark::Field => "the field this finding is about, on this side",
            Mark::OneSide => "bytes only this side has: the other type ends before them",
            Mark::Misplaced => "a field not at the same offset and size on the other side",
            Mark::KeyPadding => "padding the kernel compares: zero it before every lookup",
            Mark::NonZeroPadding => "padding that is not zero",
            Mark::Differs => "differs between the two keys",
        }
    }

    /// A class name for HTML (`m-differs`).
    pub fn class(self) -> &'static str {
        match self {
            Mark::Field => "field",
            Mark::OneSide => "one-side",
            Mark::Misplaced => "misplaced",
            Mark::KeyPadding => "key-padding",
            Mark::NonZeroPadding => "nonzero-padding",
            Mark::Differs => "differs",
        }
    }
}

/// One column of a byte map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lane {
    /// A type's fields, each a block over its rows.
    Fields { title: String, layout: FieldLayout },
    /// Byte values (hex), one per offset; shorter than the map where the
    /// bytes end early.
    Bytes { title: String, bytes: Vec<String> },
}

impl Lane {
    /// Whether the lane has something at byte `b` (a byte value, or a part
    /// of its type): only there can a byte of the lane be marked.
    fn holds(&self, b: u64) -> bool {
        match self {
            Lane::Fields { layout, .. } => b < layout.size,
            Lane::Bytes { bytes, .. } => b < bytes.len() as u64,
        }
    }
}

/// The bytes of one finding, drawn against fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteMap {
    /// What the map shows (one sentence).
    pub caption: String,
    /// Bytes drawn (the longest lane, at most [`MAX_BYTES`]).
    pub size: u64,
    /// Bytes left out past [`MAX_BYTES`].
    pub cut: u64,
    pub lanes: Vec<Lane>,
    /// Per lane (same index as `lanes`), its marked bytes and why each is
    /// marked. A lane is marked only where it holds something.
    pub marks: Vec<BTreeMap<u64, Mark>>,
}

/// One row: bytes `start..end`, each lane's mark there (rows are split
/// wherever a lane's mark changes, so one mark holds for the whole row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub start: u64,
    pub end: u64,
    pub marks: Vec<Option<Mark>>,
}

impl Row {
    /// Whether some lane is marked on this row.
    pub fn marked(&self) -> bool {
        self.marks.iter().any(Option::is_some)
    }
}

impl ByteMap {
    /// A map of `lanes` with `marks` as `(lane, byte, why)`; marks past the
    /// drawn bytes or where their lane holds nothing are dropped.
    pub fn new(
        caption: String,
        lanes: Vec<Lane>,
        marks: impl IntoIterator<Item = (usize, u64, Mark)>,
    ) -> Self {
        let full = lanes
            .iter()
            .map(|l| match l {
                Lane::Fields { layout, .. } => layout.size,
                Lane::Bytes { bytes, .. } => bytes.len() as u64,
            })
            .max()
            .unwrap_or(0);
        let size = full.min(MAX_BYTES);
        let mut per_lane = vec![BTreeMap::new(); lanes.len()];
        for (lane, b, why) in marks {
            if b < size && lanes.get(lane).is_some_and(|l| l.holds(b)) {
                per_lane[lane].insert(b, why);
            }
        }
        ByteMap {
            caption,
            size,
            cut: full - size,
            lanes,
            marks: per_lane,
        }
    }

    /// Why byte `b` of lane `lane` is marked, if it is.
    pub fn mark(&self, lane: usize, b: u64) -> Option<Mark> {
        self.marks.get(lane)?.get(&b).copied()
    }

    /// Whether some lane marks byte `b`.
    pub fn is_marked(&self, b: u64) -> bool {
        self.marks.iter().any(|m| m.contains_key(&b))
    }

    /// The kinds of mark the map uses, in legend order.
    pub fn kinds(&self) -> Vec<Mark> {
        let kinds: BTreeSet<Mark> = self
            .marks
            .iter()
            .flat_map(|m| m.values().copied())
            .collect();
        kinds.into_iter().collect()
    }

    /// The rows, at most [`ROW_BYTES`] bytes each: see [`ByteMap::rows_of`].
    pub fn rows(&self) -> Vec<Row> {
        self.rows_of(ROW_BYTES)
    }

    /// The rows, split at every field boundary of every lane, wherever a
    /// lane's mark changes, and every `most` bytes.
    pub fn rows_of(&self, most: u64) -> Vec<Row> {
        let most = most.max(1);
        let mut cuts: BTreeSet<u64> = BTreeSet::new();
        for lane in &self.lanes {
            if let Lane::Fields { layout, .. } = lane {
                cuts.insert(layout.size);
                for f in &layout.fields {
                    cuts.insert(f.offset);
                    // A zero-size field (a flexible array) is drawn on one byte.
                    cuts.insert(f.offset + f.size.max(1));
                }
            }
        }
        for (l, marks) in self.marks.iter().enumerate() {
            for (&b, &m) in marks {
                if b == 0 || self.mark(l, b - 1) != Some(m) {
                    cuts.insert(b);
                }
                if self.mark(l, b + 1) != Some(m) {
                    cuts.insert(b + 1);
                }
            }
        }
        let mut rows = Vec::new();
        let mut start = 0;
        while start < self.size {
            let next_cut = cuts.range(start + 1..).next().copied().unwrap_or(self.size);
            let end = next_cut.min(start + most).min(self.size);
            rows.push(Row {
                start,
                end,
                marks: (0..self.lanes.len()).map(|l| self.mark(l, start)).collect(),
            });
            start = end;
        }
        rows
    }

    /// The bytes some lane marks, as ranges (`7`, `0–3`).
    pub fn marked_ranges(&self) -> Vec<(u64, u64)> {
        let all: BTreeSet<u64> = self.marks.iter().flat_map(|m| m.keys().copied()).collect();
        let mut out: Vec<(u64, u64)> = Vec::new();
        for b in all {
            match out.last_mut() {
                Some(last) if last.1 == b => last.1 = b + 1,
                _ => out.push((b, b + 1)),
            }
        }
        out
    }
}

/// `7` or `0–3` for bytes `start..end`.
pub fn range_text(start: u64, end: u64) -> String {
    if end <= start + 1 {
        start.to_string()
    } else {
        format!("{start}–{}", end - 1)
    }
}

/// `7` or `0-3`: [`range_text`] in ASCII, for the text block.
pub fn range_ascii(start: u64, end: u64) -> String {
    if end <= start + 1 {
        start.to_string()
    } else {
        format!("{start}-{}", end - 1)
    }
}

/// The report's map summary of a finding's map: by name and id, else by
/// name.
fn map_summary<'r>(report: &'r Report, f: &Finding) -> Option<&'r MapSummary> {
    let m = f.map.as_ref()?;
    report
        .maps
        .iter()
        .find(|s| s.name == m.name && s.id == m.id)
        .or_else(|| report.maps.iter().find(|s| s.name == m.name))
}

/// The report's layout of a map's key (or value) type, when it has one.
fn model_layout<'r>(report: &'r Report, f: &Finding, value: bool) -> Option<&'r Layout> {
    let summary = map_summary(report, f)?;
    if value {
        summary.value_layout.as_deref()
    } else {
        summary.key_layout.as_deref()
    }
}

/// The bytes a layout draws as holes or padding.
fn gap_bytes(l: &FieldLayout) -> BTreeSet<u64> {
    (0..l.size.min(MAX_BYTES))
        .filter(|&b| matches!(l.region_at(b), Region::Hole | Region::Padding))
        .collect()
}

/// The fields lane of a key or value type `size` bytes long whose padding
/// the evidence gives as byte ranges: the map's own layout where the report
/// has it and it agrees (every hole or padding it draws is padding), else
/// one drawn from the padding ranges.
fn type_lane(model: Option<&Layout>, name: &str, size: u64, padding: &[(u64, u64)]) -> FieldLayout {
    let pad: BTreeSet<u64> = padding.iter().flat_map(|&(o, s)| o..o + s).collect();
    model
        .filter(|l| l.size == size)
        .map(FieldLayout::from_layout)
        .filter(|l| gap_bytes(l).is_subset(&pad))
        .unwrap_or_else(|| FieldLayout::from_padding(name.to_string(), size, padding))
}

fn hex_bytes(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// A `[{offset, size}]` list of evidence as pairs.
fn ranges(v: &Value) -> Vec<(u64, u64)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| Some((r["offset"].as_u64()?, r["size"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn offsets(v: &Value) -> BTreeSet<u64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// Whether findings of `code` draw a byte map (when their evidence has the
/// bytes: both layouts, padding ranges, entry or key bytes). Every code is
/// named, so a new code needs a decision here.
pub fn draws_byte_map(code: Code) -> bool {
    use Code::*;
    match code {
        LayoutSizeMismatch
        | LayoutOffsetMismatch
        | LayoutTypeMismatch
        | LayoutMissingField
        | LayoutArrayLength
        | LayoutBitfield
        | LayoutByteOrder
        | LayoutKeyPadding
        | DumpKeyPaddingGarbage
        | DumpValuePaddingGarbage
        | LookupPaddingMiss
        | LookupByteOrderMiss
        | LookupKeyAbsent => true,
        LayoutPercpuValueSize
        | DumpDuplicateKeys
        | DumpMapFull
        | DumpTruncated
        | DumpGrowing
        | LookupIndexOutOfRange
        | LookupKeyDeleted
        | LookupWrongMap
        | UpdateMapFull
        | UpdateExists
        | SyscallSizeMismatch
        | MapsStalePin
        | MapsDuplicateName
        | InputUnreadable
        | InputUnused
        // Their evidence names unwritten byte runs with the fields they
        // cover, not the bytes themselves.
        | ProgKeyUninit
        | ProgValueUninit => false,
    }
}

/// The byte maps of a finding: none for findings that are not about bytes.
pub fn for_finding(report: &Report, f: &Finding) -> Vec<ByteMap> {
    use Code::*;
    if !draws_byte_map(f.code) {
        return Vec::new();
    }
    match f.code {
        LayoutKeyPadding => key_padding(report, f).into_iter().collect(),
        DumpKeyPaddingGarbage | DumpValuePaddingGarbage => dump_garbage(report, f),
        LookupPaddingMiss | LookupByteOrderMiss | LookupKeyAbsent => {
            missed_lookup(report, f).into_iter().collect()
        }
        _ => layout_pair(f).into_iter().collect(),
    }
}

/// The bytes `side` (`btf`, `user`) of a layout finding names: its field's
/// bytes, for a bitfield the bytes holding its bits.
fn side_bytes(e: &Value, side: &str) -> Option<(u64, u64)> {
    let get = |k: &str| e[format!("{side}_{k}")].as_u64();
    if let (Some(bo), Some(bs)) = (get("bit_offset"), get("bit_size")) {
        return Some((bo / 8, (bo + bs).div_ceil(8)));
    }
    let (o, s) = (get("offset")?, get("size")?);
    Some((o, o + s))
}

/// Both layouts of a layout finding, each side's own field marked on its
/// lane; for a size mismatch the bytes only the longer side has.
fn layout_pair(f: &Finding) -> Option<ByteMap> {
    let (ln, l, rn, r) = super::evidence_layouts(f)?;
    let (l, r) = (
        FieldLayout::from_evidence(&l),
        FieldLayout::from_evidence(&r),
    );
    let e = &f.evidence;
    let mut marks: Vec<(usize, u64, Mark)> = Vec::new();
    for (lane, side) in [(0, &ln), (1, &rn)] {
        if let Some((a, b)) = side_bytes(e, side) {
            marks.extend((a..b.min(a + MAX_BYTES)).map(|x| (lane, x, Mark::Field)));
        }
    }
    if marks.is_empty() && l.size != r.size {
        let (lane, a, b) = if l.size > r.size {
            (0, r.size, l.size)
        } else {
            (1, l.size, r.size)
        };
        marks.extend((a..b.min(a + MAX_BYTES)).map(|x| (lane, x, Mark::OneSide)));
    }
    if marks.is_empty() {
        let place = |x: &FieldLayout, b: u64| match x.region_at(b) {
            Region::Field(i) => Some((x.fields[i].offset, x.fields[i].size)),
            _ => None,
        };
        for b in 0..l.size.max(r.size).min(MAX_BYTES) {
            let (pl, pr) = (place(&l, b), place(&r, b));
            if pl != pr {
                for (lane, p) in [(0, pl), (1, pr)] {
                    if p.is_some() {
                        marks.push((lane, b, Mark::Misplaced));
                    }
                }
            }
        }
    }
    let caption = format!(
        "{ln} type {} ({} bytes) against {rn} type {} ({} bytes)",
        l.name, l.size, r.name, r.size
    );
    let lanes = vec![
        Lane::Fields {
            title: ln,
            layout: l,
        },
        Lane::Fields {
            title: rn,
            layout: r,
        },
    ];
    Some(ByteMap::new(caption, lanes, marks))
}

/// The key type with its padding marked.
fn key_padding(report: &Report, f: &Finding) -> Option<ByteMap> {
    let e = &f.evidence;
    let size = e["key_size"].as_u64()?;
    let name = e["key_type"].as_str().unwrap_or("key").to_string();
    let padding = ranges(&e["padding"]);
    let layout = type_lane(model_layout(report, f, false), &name, size, &padding);
    let marks: Vec<(usize, u64, Mark)> = padding
        .iter()
        .flat_map(|&(o, s)| o..o + s.min(MAX_BYTES))
        .map(|b| (0, b, Mark::KeyPadding))
        .collect();
    Some(ByteMap::new(
        format!("key type {name} ({size} bytes), its padding marked"),
        vec![Lane::Fields {
            title: "key".into(),
            layout,
        }],
        marks,
    ))
}

/// Byte lanes drawn at most for a dump's entries (per-CPU values count one
/// lane per CPU).
const ENTRY_LANES: usize = 3;

/// The first examples of dumped entries, each byte whose padding bits are
/// not zero marked in its own entry (and CPU) only.
fn dump_garbage(report: &Report, f: &Finding) -> Vec<ByteMap> {
    let e = &f.evidence;
    let value = f.code == Code::DumpValuePaddingGarbage;
    let Some(size) = e["size"].as_u64() else {
        return Vec::new();
    };
    let name = e["type"].as_str().unwrap_or("entry").to_string();
    let padding = ranges(&e["padding"]);
    let model = model_layout(report, f, value).filter(|l| l.size == size);
    let layout = type_lane(model, &name, size, &padding);
    // The padding bits of each byte: from the map's layout where it agrees
    // with the evidence, else whole bytes of the evidence's ranges.
    let pad_bytes: BTreeSet<u64> = padding.iter().flat_map(|&(o, s)| o..o + s).collect();
    let mask = model.map(|l| l.padding_mask(MAX_BYTES)).filter(|m| {
        let from_mask: BTreeSet<u64> = (0..m.len() as u64)
            .filter(|&b| m[b as usize] != 0)
            .collect();
        from_mask
            == pad_bytes
                .iter()
                .copied()
                .filter(|&b| b < MAX_BYTES)
                .collect()
    });
    let mut lanes = vec![Lane::Fields {
        title: if value { "value" } else { "key" }.into(),
        layout,
    }];
    let mut marks = Vec::new();
    let examples = e["examples"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    'examples: for ex in examples {
        let title = match ex["index"].as_u64() {
            Some(i) => format!("entry {i}"),
            None => "entry".into(),
        };
        let listed = offsets(&ex["garbage_offsets"]);
        let parts: Vec<(String, &str)> = match &ex["hex"] {
            Value::String(h) => vec![(title, h.as_str())],
            Value::Array(cpus) => cpus
                .iter()
                .enumerate()
                .filter_map(|(c, h)| Some((format!("{title} cpu {c}"), h.as_str()?)))
                .collect(),
            _ => Vec::new(),
        };
        let per_cpu = parts.len() > 1;
        for (title, hex) in parts {
            if lanes.len() > ENTRY_LANES {
                break 'examples;
            }
            let bytes = hex_bytes(hex);
            let garbage: Vec<u64> = bytes
                .iter()
                .enumerate()
                .filter_map(|(b, x)| {
                    let v = u8::from_str_radix(x, 16).ok()?;
                    let b = b as u64;
                    let bits = match &mask {
                        Some(m) => m.get(b as usize).copied().unwrap_or(0),
                        None if pad_bytes.contains(&b) && listed.contains(&b) => 0xff,
                        None => 0,
                    };
                    (v & bits != 0).then_some(b)
                })
                .collect();
            // A per-CPU value is drawn on the CPUs whose padding is dirty.
            if per_cpu && garbage.is_empty() {
                continue;
            }
            let lane = lanes.len();
            marks.extend(garbage.into_iter().map(|b| (lane, b, Mark::NonZeroPadding)));
            lanes.push(Lane::Bytes { title, bytes });
        }
    }
    vec![ByteMap::new(
        format!(
            "{} of {name} ({size} bytes) in the dump, non-zero padding marked",
            if value { "values" } else { "keys" }
        ),
        lanes,
        marks,
    )]
}

/// The looked-up key over the present key it was compared with, aligned
/// with the key type's fields; the bytes that differ marked in both keys.
fn missed_lookup(report: &Report, f: &Finding) -> Option<ByteMap> {
    let ex = f.evidence["examples"].get(0)?;
    let key = ex["key"].as_str()?;
    let (present_title, present) = match ex["present_key"].as_str() {
        Some(p) => ("present key", p),
        None => ("nearest present key", ex["nearest_present_key"].as_str()?),
    };
    let (k, p) = (hex_bytes(key), hex_bytes(present));
    let differ: Vec<u64> = (0..k.len().max(p.len()))
        .filter(|&i| k.get(i) != p.get(i))
        .map(|i| i as u64)
        .collect();
    let mut lanes = Vec::new();
    let type_name = f.evidence["key_type"].as_str().unwrap_or("key");
    if let Some(layout) = model_layout(report, f, false)
        .map(FieldLayout::from_layout)
        .filter(|l| l.size == k.len() as u64)
    {
        lanes.push(Lane::Fields {
            title: "field".into(),
            layout,
        });
    }
    let first = lanes.len();
    lanes.push(Lane::Bytes {
        title: "looked-up key".into(),
        bytes: k,
    });
    lanes.push(Lane::Bytes {
        title: present_title.into(),
        bytes: p,
    });
    let marks = differ
        .iter()
        .flat_map(|&b| [(first, b, Mark::Differs), (first + 1, b, Mark::Differs)]);
    Some(ByteMap::new(
        format!("the looked-up key against the {present_title}, {type_name}"),
        lanes,
        marks.collect::<Vec<_>>(),
    ))
}

/// Width of a byte map's text block in Markdown (a code block does not
/// wrap; GitHub shows about this many columns).
pub const MARKDOWN_WIDTH: usize = 100;

/// The brackets of each kind of mark in a text block, by its place in the
/// map's [`ByteMap::kinds`].
const BRACKETS: [(char, char); 3] = [('[', ']'), ('{', '}'), ('<', '>')];

fn brackets(kinds: &[Mark], m: Mark) -> (char, char) {
    let i = kinds.iter().position(|k| *k == m).unwrap_or(0);
    BRACKETS[i.min(BRACKETS.len() - 1)]
}

/// Pads `s` to `w` characters.
fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}

/// The table of a text block with rows of at most `most` bytes: a header,
/// then one line per row with each lane's cell. A fields lane names a
/// field, `(hole)` or `(padding)` on its first row and `|` on the rows it
/// continues over; a bytes lane has the row's byte values. A marked cell is
/// in its kind's brackets (`[de ad]`), an unmarked one after a space.
fn table_lines(map: &ByteMap, most: u64, kinds: &[Mark]) -> Vec<String> {
    let rows = map.rows_of(most);
    let cell = |text: &str, mark: Option<Mark>| match mark {
        Some(m) => {
            let (o, c) = brackets(kinds, m);
            format!("{o}{text}{c}")
        }
        None if text.is_empty() => String::new(),
        None => format!(" {text}"),
    };
    let mut header = vec!["bytes".to_string()];
    let mut cols: Vec<Vec<String>> =
        vec![rows.iter().map(|r| range_ascii(r.start, r.end)).collect()];
    for (li, lane) in map.lanes.iter().enumerate() {
        match lane {
            Lane::Fields { title, layout } => {
                header.push(format!(" {} ({})", terminal(title), terminal(&layout.name)));
                let mut prev: Option<Region> = None;
                cols.push(
                    rows.iter()
                        .map(|r| {
                            let region = layout.region_at(r.start);
                            let text = if prev == Some(region) {
                                "|".to_string()
                            } else {
                                match region {
                                    Region::Field(i) => {
                                        let f = &layout.fields[i];
                                        let (name, ty) =
                                            (terminal(&f.name), terminal(&f.type_name));
                                        format!("{name} {ty}").trim_end().to_string()
                                    }
                                    Region::Beyond => "(past the end)".to_string(),
                                    other => format!("({})", layout.region_name(other)),
                                }
                            };
                            prev = Some(region);
                            cell(&text, r.marks[li])
                        })
                        .collect(),
                );
            }
            Lane::Bytes { title, bytes } => {
                header.push(format!(" {}", terminal(title)));
                cols.push(
                    rows.iter()
                        .map(|r| {
                            let hex: Vec<String> = (r.start..r.end)
                                .filter_map(|b| bytes.get(b as usize))
                                .map(|x| terminal(x).into_owned())
                                .collect();
                            cell(&hex.join(" "), r.marks[li])
                        })
                        .collect(),
                );
            }
        }
    }
    let widths: Vec<usize> = header
        .iter()
        .zip(&cols)
        .map(|(h, c)| {
            c.iter()
                .map(|s| s.chars().count())
                .chain([h.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let l: String = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| pad(c, *w + 1))
            .collect();
        l.trim_end().to_string()
    };
    let mut out = vec![line(header.iter().map(String::as_str).collect())];
    for r in 0..rows.len() {
        out.push(line(cols.iter().map(|c| c[r].as_str()).collect()));
    }
    out
}

/// A byte map as plain text lines (the Markdown code block and the text
/// report draw this): the table (rows of 8 bytes, or 4, 2, 1 when that is
/// what fits `width`, or narrows it where nothing fits), then one legend line per kind of mark (`[..] padding
/// that is not zero`). Names are terminal text ([`terminal`]); the block's
/// own characters are ASCII.
pub fn block_lines(map: &ByteMap, width: usize) -> Vec<String> {
    let kinds = map.kinds();
    let widest = |t: &[String]| t.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    // The longest rows that fit; where none fits (long names), the narrowest
    // table with the longest rows among equals.
    let mut lines = table_lines(map, ROW_BYTES, &kinds);
    if widest(&lines) > width {
        for most in [4, 2, 1] {
            let t = table_lines(map, most, &kinds);
            if widest(&t) < widest(&lines) {
                lines = t;
            }
            if widest(&lines) <= width {
                break;
            }
        }
    }
    for &k in &kinds {
        let (o, c) = brackets(&kinds, k);
        lines.push(format!("{o}..{c} {}", k.legend()));
    }
    if kinds.is_empty() {
        lines.push("no byte is marked".into());
    }
    if map.cut > 0 {
        lines.push(format!(
            "(first {} bytes; {} more not shown)",
            map.size, map.cut
        ));
    }
    lines
}

/// Words of `text` in lines of at most `width` characters (a longer word
/// stays whole on its own line).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// The byte maps of a finding for the text report: for each, its caption
/// (`…:`) and, indented by two, its [`block_lines`]. Empty for a finding
/// that is not about bytes. Lines are at most `width` characters where the
/// names allow.
pub fn text_lines(report: &Report, finding: &Finding, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for map in for_finding(report, finding) {
        out.extend(wrap_words(
            &format!("{}:", terminal(&map.caption)),
            width.max(20),
        ));
        out.extend(
            block_lines(&map, width.saturating_sub(2))
                .into_iter()
                .map(|l| format!("  {l}")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, offset: u64, size: u64) -> Field {
        Field {
            name: name.into(),
            type_name: "t".into(),
            offset,
            size,
        }
    }

    #[test]
    fn rows_split_at_fields_marks_and_eight_bytes() {
        let layout = FieldLayout::from_fields(
            "k".into(),
            24,
            vec![field("a", 0, 4), field("b", 4, 2), field("c", 8, 16)],
        );
        let map = ByteMap::new(
            String::new(),
            vec![Lane::Fields {
                title: "key".into(),
                layout,
            }],
            [(0, 5, Mark::KeyPadding)],
        );
        let rows: Vec<(u64, u64, bool)> = map
            .rows()
            .iter()
            .map(|r| (r.start, r.end, r.marked()))
            .collect();
        assert_eq!(
            rows,
            [
                (0, 4, false),
                (4, 5, false),
                (5, 6, true),
                (6, 8, false),
                (8, 16, false),
                (16, 24, false)
            ]
        );
        assert_eq!(map.marked_ranges(), [(5, 6)]);
    }

    #[test]
    fn overlapping_members_are_one_block_and_gaps_are_named() {
        let l = FieldLayout::from_fields(
            "u".into(),
            12,
            vec![field("x", 0, 4), field("y", 0, 2), field("z", 6, 2)],
        );
        assert_eq!(l.fields.len(), 2);
        assert_eq!(l.fields[0].name, "x / y");
        assert_eq!(l.region_at(4), Region::Hole);
        assert_eq!(l.region_at(9), Region::Padding);
        assert_eq!(l.region_at(12), Region::Beyond);
    }

    fn report() -> Report {
        Report::new(Vec::new(), Vec::new(), Vec::new())
    }

    /// The bug of issue 23: a dumped entry's zero padding was marked because
    /// another entry's padding at that offset is not zero. Each entry marks
    /// only its own non-zero padding bytes.
    #[test]
    fn dump_garbage_marks_each_entry_own_dirty_padding_only() {
        let f = Finding::new(Code::DumpKeyPaddingGarbage, crate::model::finding::Severity::Error, "t")
            .with_evidence(serde_json::json!({
                "type": "struct flow_key", "size": 16,
                "padding": [{"offset": 6, "size": 2}, {"offset": 13, "size": 3}],
                "garbage_offsets": [6, 7, 13, 14, 15],
                "examples": [
                    {"index": 1, "hex": "01 00 00 0a d2 04 de ad 03 00 00 0a 11 00 00 00", "garbage_offsets": [6, 7]},
                    {"index": 5, "hex": "01 00 00 0a d2 04 00 00 04 00 00 0a 06 be ef 99", "garbage_offsets": [13, 14, 15]},
                ],
            }));
        let maps = for_finding(&report(), &f);
        assert_eq!(maps.len(), 1);
        let m = &maps[0];
        let marked = |lane: usize| m.marks[lane].keys().copied().collect::<Vec<_>>();
        assert_eq!(
            marked(0),
            Vec::<u64>::new(),
            "the type lane holds no values"
        );
        assert_eq!(marked(1), [6, 7]);
        assert_eq!(marked(2), [13, 14, 15]);
        assert!(m
            .marks
            .iter()
            .flat_map(|l| l.values())
            .all(|k| *k == Mark::NonZeroPadding));
        let text = block_lines(m, 80).join("\n");
        assert!(
            text.contains("\n6-7    (hole)                [de ad]             00 00\n"),
            "{text}"
        );
        assert!(
            text.contains("\n13-15  (padding)              00 00 00          [be ef 99]\n"),
            "{text}"
        );
        assert!(text.ends_with("\n[..] padding that is not zero"), "{text}");
    }

    /// A layout finding marks each side's own field on its own lane: the
    /// BTF `saddr` (4 bytes) and the user `Saddr` (Go `int`, 8 bytes).
    #[test]
    fn layout_finding_marks_each_side_on_its_own_lane() {
        let side = |name: &str, size: u64, fields: serde_json::Value| serde_json::json!({"name": name, "size": size, "fields": fields});
        let f = Finding::new(
            Code::LayoutTypeMismatch,
            crate::model::finding::Severity::Error,
            "t",
        )
        .with_evidence(serde_json::json!({
            "field": "saddr", "user_field": "Saddr",
            "btf_offset": 0, "btf_size": 4, "user_offset": 0, "user_size": 8,
            "layouts": {
                "btf": side("flow_key", 16, serde_json::json!([
                    {"name": "saddr", "offset": 0, "size": 4, "type": "__u32"},
                    {"name": "sport", "offset": 4, "size": 2, "type": "__u16"}])),
                "user": side("FlowKeyGoInt", 32, serde_json::json!([
                    {"name": "Saddr", "offset": 0, "size": 8, "type": "int"}])),
            },
        }));
        let m = &for_finding(&report(), &f)[0];
        assert_eq!(m.marks[0].keys().copied().collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(
            m.marks[1].keys().copied().collect::<Vec<_>>(),
            (0..8).collect::<Vec<_>>()
        );
        let text = block_lines(m, 80).join("\n");
        assert!(text.contains("\n4-5    sport __u16    [|]\n"), "{text}");
    }

    /// Where no row length fits the width, the narrowest table is kept,
    /// with the longest rows among equals.
    #[test]
    fn text_block_fits_the_width_or_is_as_narrow_as_it_gets() {
        let bytes = |t: &str| Lane::Bytes {
            title: t.into(),
            bytes: vec!["00".into(); 16],
        };
        let m = ByteMap::new(
            "c".into(),
            vec![
                bytes("a fairly long lane title"),
                bytes("another long lane title"),
            ],
            [(0, 3, Mark::Differs), (1, 3, Mark::Differs)],
        );
        let rows = |w: usize| block_lines(&m, w).len();
        assert_eq!(rows(200), 2 + 3 + 1, "8-byte rows, split at the mark");
        assert!(block_lines(&m, 40).iter().all(|l| l.chars().count() <= 60));
        assert!(rows(10) < 16, "not one line per byte for nothing");
    }
}
