//! Byte maps: the bytes a finding is about, laid out against the fields that
//! cover them, for the HTML and Markdown reports.
//!
//! A [`ByteMap`] is a column of byte ranges (rows) shared by several lanes: a
//! type's fields (one lane per side of a layout comparison, or the key type
//! of a missed lookup) and byte values (the looked-up and the present key, a
//! dumped entry). Rows are split at every field boundary of every lane and
//! at every run of marked bytes, and hold at most [`ROW_BYTES`] bytes, so the
//! lanes line up by offset however they are drawn. Like pahole's annotated
//! text, gaps between fields are explicit rows (`hole`, `padding`); like
//! go-tools' structlayout-svg, a field is one block spanning its bytes.

use std::collections::BTreeSet;

use serde_json::Value;

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

/// One column of a byte map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lane {
    /// A type's fields, each a block over its rows.
    Fields { title: String, layout: FieldLayout },
    /// Byte values (hex), one per offset; shorter than the map where the
    /// bytes end early.
    Bytes { title: String, bytes: Vec<String> },
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
    /// The bytes the finding is about (diverging, different, garbage).
    pub marked: BTreeSet<u64>,
    /// What a marked byte means, for the legend ("differs between the two keys").
    pub mark_meaning: String,
}

/// One row: bytes `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub start: u64,
    pub end: u64,
    pub marked: bool,
}

impl ByteMap {
    fn new(caption: String, lanes: Vec<Lane>, marked: BTreeSet<u64>, meaning: &str) -> Self {
        let full = lanes
            .iter()
            .map(|l| match l {
                Lane::Fields { layout, .. } => layout.size,
                Lane::Bytes { bytes, .. } => bytes.len() as u64,
            })
            .max()
            .unwrap_or(0);
        let size = full.min(MAX_BYTES);
        ByteMap {
            caption,
            size,
            cut: full - size,
            lanes,
            marked: marked.into_iter().filter(|&b| b < size).collect(),
            mark_meaning: meaning.to_string(),
        }
    }

    /// The rows, split at every field boundary of every lane, where marked
    /// bytes start and stop, and every [`ROW_BYTES`] bytes.
    pub fn rows(&self) -> Vec<Row> {
        let mut cuts: BTreeSet<u64> = BTreeSet::new();
        for lane in &self.lanes {
            if let Lane::Fields { layout, .. } = lane {
                cuts.insert(layout.size);
                for f in &layout.fields {
                    cuts.insert(f.offset);
                    cuts.insert(f.offset + f.size);
                }
            }
        }
        for (s, e) in self.marked_ranges() {
            cuts.insert(s);
            cuts.insert(e);
        }
        let mut rows = Vec::new();
        let mut start = 0;
        while start < self.size {
            let next_cut = cuts.range(start + 1..).next().copied().unwrap_or(self.size);
            let end = next_cut.min(start + ROW_BYTES).min(self.size);
            rows.push(Row {
                start,
                end,
                marked: self.marked.contains(&start),
            });
            start = end;
        }
        rows
    }

    /// The marked bytes as ranges (`7`, `0–3`), for text.
    pub fn marked_ranges(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for &b in &self.marked {
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

/// The report's layout of a map's key (or value) type, when it has one.
fn map_layout(report: &Report, f: &Finding, value: bool) -> Option<FieldLayout> {
    let m = f.map.as_ref()?;
    let summary: &MapSummary = report
        .maps
        .iter()
        .find(|s| s.name == m.name && s.id == m.id)
        .or_else(|| report.maps.iter().find(|s| s.name == m.name))?;
    let l = if value {
        summary.value_layout.as_deref()
    } else {
        summary.key_layout.as_deref()
    }?;
    Some(FieldLayout::from_layout(l))
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

/// The byte maps of a finding: none for findings that are not about bytes.
pub fn for_finding(report: &Report, f: &Finding) -> Vec<ByteMap> {
    match f.code {
        Code::LayoutKeyPadding => key_padding(report, f).into_iter().collect(),
        Code::DumpKeyPaddingGarbage | Code::DumpValuePaddingGarbage => dump_garbage(report, f),
        _ if f.evidence.get("layouts").is_some() => layout_pair(f).into_iter().collect(),
        _ => missed_lookup(report, f).into_iter().collect(),
    }
}

/// Both layouts of a layout finding, the finding's own bytes marked.
fn layout_pair(f: &Finding) -> Option<ByteMap> {
    let (ln, l, rn, r) = super::evidence_layouts(f)?;
    let (l, r) = (
        FieldLayout::from_evidence(&l),
        FieldLayout::from_evidence(&r),
    );
    let e = &f.evidence;
    let mut marked = BTreeSet::new();
    for side in ["btf", "user"] {
        if let (Some(o), Some(s)) = (
            e[format!("{side}_offset")].as_u64(),
            e[format!("{side}_size")].as_u64(),
        ) {
            marked.extend(o..o + s.min(MAX_BYTES));
        }
    }
    if marked.is_empty() {
        // A size mismatch (or a finding without a field): the bytes one side
        // has and the other has not.
        let (a, b) = (l.size.min(r.size), l.size.max(r.size));
        marked.extend(a..b.min(a + MAX_BYTES));
    }
    if marked.is_empty() {
        // Otherwise every byte whose field differs in place or size.
        for b in 0..l.size.max(r.size).min(MAX_BYTES) {
            let place = |x: &FieldLayout| match x.region_at(b) {
                Region::Field(i) => Some((x.fields[i].offset, x.fields[i].size)),
                _ => None,
            };
            if place(&l) != place(&r) {
                marked.insert(b);
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
    Some(ByteMap::new(
        caption,
        lanes,
        marked,
        "the bytes this finding is about",
    ))
}

/// The key type with its padding marked.
fn key_padding(report: &Report, f: &Finding) -> Option<ByteMap> {
    let e = &f.evidence;
    let size = e["key_size"].as_u64()?;
    let name = e["key_type"].as_str().unwrap_or("key").to_string();
    let padding = ranges(&e["padding"]);
    let layout = map_layout(report, f, false)
        .filter(|l| l.size == size)
        .unwrap_or_else(|| FieldLayout::from_padding(name.clone(), size, &padding));
    let marked = padding
        .iter()
        .flat_map(|&(o, s)| o..o + s.min(MAX_BYTES))
        .collect();
    Some(ByteMap::new(
        format!("key type {name} ({size} bytes), its padding marked"),
        vec![Lane::Fields {
            title: "key".into(),
            layout,
        }],
        marked,
        "padding the kernel compares: zero it before every lookup",
    ))
}

/// The first examples of dumped entries, their garbage bytes marked.
fn dump_garbage(report: &Report, f: &Finding) -> Vec<ByteMap> {
    let e = &f.evidence;
    let value = f.code == Code::DumpValuePaddingGarbage;
    let Some(size) = e["size"].as_u64() else {
        return Vec::new();
    };
    let name = e["type"].as_str().unwrap_or("entry").to_string();
    let layout = map_layout(report, f, value)
        .filter(|l| l.size == size)
        .unwrap_or_else(|| FieldLayout::from_padding(name.clone(), size, &ranges(&e["padding"])));
    let mut lanes = vec![Lane::Fields {
        title: if value { "value" } else { "key" }.into(),
        layout,
    }];
    let mut marked = offsets(&e["garbage_offsets"]);
    let examples = e["examples"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for ex in examples.iter().take(3) {
        let Some(hex) = ex["hex"].as_str() else {
            continue;
        };
        marked.extend(offsets(&ex["garbage_offsets"]));
        let title = match ex["index"].as_u64() {
            Some(i) => format!("entry {i}"),
            None => "entry".into(),
        };
        lanes.push(Lane::Bytes {
            title,
            bytes: hex_bytes(hex),
        });
    }
    vec![ByteMap::new(
        format!(
            "{} of {name} ({size} bytes) in the dump, non-zero padding marked",
            if value { "values" } else { "keys" }
        ),
        lanes,
        marked,
        "padding that is not zero",
    )]
}

/// The looked-up key over the present key it was compared with, aligned
/// with the key type's fields; the bytes that differ marked.
fn missed_lookup(report: &Report, f: &Finding) -> Option<ByteMap> {
    let ex = f.evidence["examples"].get(0)?;
    let key = ex["key"].as_str()?;
    let (present_title, present) = match ex["present_key"].as_str() {
        Some(p) => ("present key", p),
        None => ("nearest present key", ex["nearest_present_key"].as_str()?),
    };
    let (k, p) = (hex_bytes(key), hex_bytes(present));
    let marked: BTreeSet<u64> = (0..k.len().max(p.len()))
        .filter(|&i| k.get(i) != p.get(i))
        .map(|i| i as u64)
        .collect();
    let mut lanes = Vec::new();
    let type_name = f.evidence["key_type"].as_str().unwrap_or("key");
    if let Some(layout) = map_layout(report, f, false).filter(|l| l.size == k.len() as u64) {
        lanes.push(Lane::Fields {
            title: "field".into(),
            layout,
        });
    }
    lanes.push(Lane::Bytes {
        title: "looked-up key".into(),
        bytes: k,
    });
    lanes.push(Lane::Bytes {
        title: present_title.into(),
        bytes: p,
    });
    Some(ByteMap::new(
        format!("the looked-up key against the {present_title}, {type_name}"),
        lanes,
        marked,
        "differs between the two keys",
    ))
}

/// The text byte map of a finding, as lines for the terminal report
/// (`human.rs` calls it under each finding it renders in full).
// replaced by the marks branch
pub fn text_lines(
    _report: &super::Report,
    _finding: &crate::model::finding::Finding,
    _width: usize,
) -> Vec<String> {
    Vec::new()
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
            [5].into(),
            "",
        );
        let rows: Vec<(u64, u64, bool)> = map
            .rows()
            .iter()
            .map(|r| (r.start, r.end, r.marked))
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
}
