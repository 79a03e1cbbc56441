//! The YAML layout schema: a hand-writable description of struct layouts
//! (documented in `docs/schema.md`), read into [`Layout`]s and written from them.
//!
//! A file is either one type (`name`, `size`, `fields`, ...) or a `types:`
//! list; a field's `type` is a spelled scalar (`u32`, `be16`, `bool`, ...), an
//! array of one (`u8[16]`, `u16[4][3]`), `bytes`, `ptr`, or the name of
//! another type of the same file.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::layout::{
    AggregateKind, ByteOrder, FieldType, IntEncoding, Layout, Member, SourceLoc,
};

use crate::limits::MAX_TYPE_DEPTH;
/// Most array dimensions in one spelled type (`u8[2][3]` has two).
const MAX_DIMS: usize = 16;

/// Why a schema could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// Not YAML, or not the schema's shape (serde_yaml's message and place).
    #[error("{}{message}", at_line(*.line, *.column))]
    Yaml {
        line: Option<u32>,
        column: Option<u32>,
        message: String,
    },
    /// A value that breaks the schema's rules.
    #[error("{}type {type_name}{}: {reason}", at_line(*.line, None), field_suffix(.field))]
    Invalid {
        type_name: String,
        field: Option<String>,
        line: Option<u32>,
        reason: String,
    },
    /// A field's `type` is neither a known scalar nor a type of the file.
    #[error("{}type {type_name}, field {field}: unknown type `{spelled}`", at_line(*.line, None))]
    UnknownType {
        type_name: String,
        field: String,
        spelled: String,
        line: Option<u32>,
    },
    /// A type contains itself (directly or through other types).
    #[error("{}type {name} contains itself", at_line(*.line, None))]
    Cycle { name: String, line: Option<u32> },
    /// Two types of one file have the same name.
    #[error("{}type {name} is defined twice", at_line(*.line, None))]
    Duplicate { name: String, line: Option<u32> },
    /// Nesting deeper than [`MAX_TYPE_DEPTH`]: YAML flow brackets, or types
    /// nesting types.
    #[error("{}{what} nests more than {limit} levels deep (limit MAX_TYPE_DEPTH)", at_line(*.line, *.column))]
    TooDeep {
        what: String,
        line: Option<u32>,
        column: Option<u32>,
        limit: usize,
    },
    /// A `types:` list with nothing in it.
    #[error("the schema defines no types")]
    Empty,
}

fn at_line(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

fn field_suffix(field: &Option<String>) -> String {
    field
        .as_ref()
        .map(|f| format!(", field {f}"))
        .unwrap_or_default()
}

impl SchemaError {
    /// The 1-based line the problem is on, when known.
    pub fn line(&self) -> Option<u32> {
        match self {
            SchemaError::Yaml { line, .. }
            | SchemaError::Invalid { line, .. }
            | SchemaError::UnknownType { line, .. }
            | SchemaError::Cycle { line, .. }
            | SchemaError::Duplicate { line, .. }
            | SchemaError::TooDeep { line, .. } => *line,
            SchemaError::Empty => None,
        }
    }
}

/// One type as the YAML spells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeDoc {
    pub name: String,
    /// `struct` (default) or `union`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AggregateKind>,
    /// An anonymous nested type: its name only links it to the fields using it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub align: Option<u64>,
    /// `file:line` of the declaration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub fields: Vec<FieldDoc>,
}

/// One field as the YAML spells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDoc {
    pub name: String,
    pub offset: u64,
    pub size: u64,
    #[serde(rename = "type")]
    pub ty: String,
    /// Absolute bit offset from the start of the type (bitfields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_offset: Option<u64>,
    /// Width of a bitfield.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_order: Option<ByteOrder>,
    /// The type as its source spells it (`__be16`, `Port`, `enum verdict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// `file:line` of the field's declaration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MultiDoc {
    types: Vec<TypeDoc>,
}

/// The types of one schema file, laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// In file order; anonymous types keep their schema name here.
    pub types: Vec<(String, Arc<Layout>)>,
}

impl Schema {
    /// Reads a schema file's text.
    pub fn parse(text: &str) -> Result<Schema, SchemaError> {
        check_flow_depth(text)?;
        let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(yaml_error)?;
        let docs = if value.get("types").is_some() {
            serde_yaml::from_str::<MultiDoc>(text)
                .map_err(yaml_error)?
                .types
        } else {
            vec![serde_yaml::from_str::<TypeDoc>(text).map_err(yaml_error)?]
        };
        if docs.is_empty() {
            return Err(SchemaError::Empty);
        }
        let lines = LineFinder::new(text);
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, d) in docs.iter().enumerate() {
            if index.insert(d.name.as_str(), i).is_some() {
                return Err(SchemaError::Duplicate {
                    name: d.name.clone(),
                    line: lines.nth_type(&d.name, 1),
                });
            }
        }
        let mut b = Builder {
            docs: &docs,
            index,
            lines,
            done: HashMap::new(),
            in_progress: HashSet::new(),
        };
        let mut types = Vec::with_capacity(docs.len());
        for d in &docs {
            types.push((d.name.clone(), b.layout(&d.name, None)?));
        }
        Ok(Schema { types })
    }

    /// The type named `name` (its schema name).
    pub fn get(&self, name: &str) -> Option<&Arc<Layout>> {
        self.types.iter().find(|(n, _)| n == name).map(|(_, l)| l)
    }
}

/// Refuses YAML whose flow collections (`[`, `{`) nest deeper than
/// [`MAX_TYPE_DEPTH`] before the YAML parser sees it: its cost grows with
/// the square of that depth (100k levels took 25 s before it gave up).
/// Quoted scalars and comments are skipped; a bracket inside a plain
/// scalar (`u8[4]`) opens and closes, so it never adds up.
fn check_flow_depth(text: &str) -> Result<(), SchemaError> {
    let mut depth = 0usize;
    let (mut line, mut column) = (1u32, 0u32);
    let mut quote: Option<u8> = None;
    let mut prev = b'\n';
    let mut in_comment = false;
    let mut escaped = false;
    for &c in text.as_bytes() {
        column += 1;
        if c == b'\n' {
            line += 1;
            column = 0;
            in_comment = false;
        } else if in_comment {
        } else if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == b'"' && c == b'\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                b'#' if prev.is_ascii_whitespace() => in_comment = true,
                b'"' | b'\'' if !prev.is_ascii_alphanumeric() => quote = Some(c),
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_TYPE_DEPTH {
                        return Err(SchemaError::TooDeep {
                            what: "the YAML".into(),
                            line: Some(line),
                            column: Some(column),
                            limit: MAX_TYPE_DEPTH,
                        });
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        prev = c;
    }
    Ok(())
}

fn yaml_error(e: serde_yaml::Error) -> SchemaError {
    let loc = e.location();
    let mut message = e.to_string();
    // serde_yaml appends the place; we lead with it instead.
    if let Some(l) = &loc {
        let suffix = format!(" at line {} column {}", l.line(), l.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    SchemaError::Yaml {
        line: loc.as_ref().map(|l| l.line() as u32),
        column: loc.as_ref().map(|l| l.column() as u32),
        message,
    }
}

/// Finds the line of a type's or field's `name:` key, so our own validation
/// errors point into the file (serde_yaml keeps no positions in values).
struct LineFinder<'t> {
    /// (1-based line, name value) of every `name:` key.
    names: Vec<(u32, &'t str)>,
}

impl<'t> LineFinder<'t> {
    fn new(text: &'t str) -> Self {
        let names = text
            .lines()
            .enumerate()
            .filter_map(|(i, l)| {
                // Block (`- name: x`) and flow (`- {name: x, ...}`) styles.
                let t = l.trim_start().trim_start_matches("- ").trim_start();
                let t = t.strip_prefix('{').unwrap_or(t).trim_start();
                let v = t.strip_prefix("name:")?;
                let v = v.split([',', '}']).next().unwrap_or(v).trim();
                let v = v.trim_matches(|c| c == '"' || c == '\'');
                Some((i as u32 + 1, v))
            })
            .collect();
        LineFinder { names }
    }

    /// Line of the `n`-th (0-based) `name: <ty>`.
    fn nth_type(&self, ty: &str, n: usize) -> Option<u32> {
        self.names
            .iter()
            .filter(|(_, v)| *v == ty)
            .nth(n)
            .map(|(l, _)| *l)
    }

    /// Line of `name: <field>` after type `ty`'s `name:` line.
    fn field(&self, ty: &str, field: &str) -> Option<u32> {
        let start = self.nth_type(ty, 0)?;
        self.names
            .iter()
            .find(|(l, v)| *l > start && *v == field)
            .map(|(l, _)| *l)
    }
}

struct Builder<'d> {
    docs: &'d [TypeDoc],
    index: HashMap<&'d str, usize>,
    lines: LineFinder<'d>,
    done: HashMap<String, Arc<Layout>>,
    in_progress: HashSet<String>,
}

impl<'d> Builder<'d> {
    fn layout(&mut self, name: &str, used_at: Option<u32>) -> Result<Arc<Layout>, SchemaError> {
        if let Some(l) = self.done.get(name) {
            return Ok(l.clone());
        }
        let doc = &self.docs[self.index[name]];
        if self.in_progress.len() >= MAX_TYPE_DEPTH && !self.in_progress.contains(name) {
            return Err(SchemaError::TooDeep {
                what: format!("type {name}"),
                line: used_at.or_else(|| self.lines.nth_type(name, 0)),
                column: None,
                limit: MAX_TYPE_DEPTH,
            });
        }
        if !self.in_progress.insert(name.to_string()) {
            return Err(SchemaError::Cycle {
                name: name.into(),
                line: used_at.or_else(|| self.lines.nth_type(name, 0)),
            });
        }
        let r = self.build(doc);
        self.in_progress.remove(name);
        let l = Arc::new(r?);
        self.done.insert(name.to_string(), l.clone());
        Ok(l)
    }

    fn build(&mut self, doc: &'d TypeDoc) -> Result<Layout, SchemaError> {
        let kind = doc.kind.unwrap_or(AggregateKind::Struct);
        let type_line = self.lines.nth_type(&doc.name, 0);
        let invalid =
            |field: Option<&FieldDoc>, line: Option<u32>, reason: String| SchemaError::Invalid {
                type_name: doc.name.clone(),
                field: field.map(|f| f.name.clone()),
                line,
                reason,
            };
        let size_bits = doc
            .size
            .checked_mul(8)
            .ok_or_else(|| invalid(None, type_line, format!("size {} is too large", doc.size)))?;
        let mut members = Vec::with_capacity(doc.fields.len());
        let mut prev_end: u64 = 0;
        for f in &doc.fields {
            let line = self.lines.field(&doc.name, &f.name);
            let bad = |reason: String| invalid(Some(f), line, reason);
            let ty = self.field_type(doc, f, line)?;
            if !matches!(ty, FieldType::Opaque { .. } | FieldType::Pointer { .. })
                && ty.size() != f.size
            {
                return Err(bad(format!(
                    "size {} does not match type `{}` ({} bytes)",
                    f.size,
                    f.ty,
                    ty.size()
                )));
            }
            let unit_bits = f
                .offset
                .checked_add(f.size)
                .and_then(|e| e.checked_mul(8))
                .ok_or_else(|| bad("offset + size overflows".into()))?;
            let bit_offset = match (f.bit_size, f.bit_offset) {
                (Some(w), Some(b)) => {
                    if !matches!(ty, FieldType::Int { .. } | FieldType::Enum(_)) {
                        return Err(bad("only integer fields can be bitfields".into()));
                    }
                    if w == 0 || u64::from(w) > f.size * 8 {
                        return Err(bad(format!(
                            "bit_size {w} does not fit a {}-byte unit",
                            f.size
                        )));
                    }
                    let end = b
                        .checked_add(u64::from(w))
                        .ok_or_else(|| bad("bit_offset overflows".into()))?;
                    if end > size_bits {
                        return Err(bad(format!(
                            "bits {b}..{end} end past the type's {} bytes",
                            doc.size
                        )));
                    }
                    b
                }
                (Some(_), None) => return Err(bad("bit_size needs a bit_offset".into())),
                (None, Some(b)) if b != f.offset * 8 => {
                    return Err(bad(format!(
                        "bit_offset {b} without bit_size must be offset*8 = {}",
                        f.offset * 8
                    )))
                }
                (None, _) => {
                    if unit_bits > size_bits {
                        return Err(bad(format!(
                            "offset {} + size {} ends past the type's size {}",
                            f.offset, f.size, doc.size
                        )));
                    }
                    f.offset * 8
                }
            };
            let member = Member {
                name: f.name.as_str().into(),
                offset: f.offset,
                bit_offset,
                size: f.size,
                bit_size: f.bit_size,
                type_name: f.source_type.as_deref().unwrap_or(&f.ty).into(),
                ty,
                source: f.source.as_deref().and_then(parse_source).map(Box::new),
            };
            if kind == AggregateKind::Struct {
                if member.bit_offset < prev_end {
                    return Err(bad(format!(
                        "overlaps the previous field (starts at bit {}, previous ends at bit {prev_end}); fields of a struct are listed in offset order",
                        member.bit_offset
                    )));
                }
                prev_end = member.bit_end();
            }
            members.push(member);
        }
        let name = if doc.anonymous {
            String::new()
        } else {
            doc.name.clone()
        };
        let mut layout = Layout::new(name, kind, doc.size, members).finish();
        layout.source = doc.source.as_deref().and_then(parse_source);
        if let Some(a) = doc.align {
            if a == 0 || !a.is_power_of_two() {
                return Err(invalid(
                    None,
                    type_line,
                    format!("align {a} is not a power of two"),
                ));
            }
            if doc.size % a != 0 {
                return Err(invalid(
                    None,
                    type_line,
                    format!("size {} is not a multiple of align {a}", doc.size),
                ));
            }
            if a == 1 && layout.natural_align > 1 {
                layout.packed = true;
            } else {
                // The declared alignment wins (Go aligns uint64 to 4 on 386/arm).
                for (m, f) in layout.members.iter().zip(&doc.fields) {
                    let need = m.ty.natural_align().min(a);
                    if m.bit_size.is_none() && m.offset % need != 0 {
                        return Err(invalid(
                            Some(f),
                            self.lines.field(&doc.name, &m.name),
                            format!(
                                "offset {} is not aligned to {need} in a type aligned to {a} (use align: 1 for a packed type)",
                                m.offset
                            ),
                        ));
                    }
                }
                layout.natural_align = a;
                layout.packed = false;
            }
        }
        Ok(layout)
    }

    fn field_type(
        &mut self,
        doc: &TypeDoc,
        f: &FieldDoc,
        line: Option<u32>,
    ) -> Result<FieldType, SchemaError> {
        let invalid = |reason: String| SchemaError::Invalid {
            type_name: doc.name.clone(),
            field: Some(f.name.clone()),
            line,
            reason,
        };
        let spelled = f.ty.trim();
        let (base, dims) = match spelled.find('[') {
            Some(i) => (&spelled[..i], &spelled[i..]),
            None => (spelled, ""),
        };
        let mut lens = Vec::new();
        let mut rest = dims;
        while !rest.is_empty() {
            let Some(close) = rest.find(']').filter(|_| rest.starts_with('[')) else {
                return Err(invalid(format!("bad array type `{spelled}`")));
            };
            let n: u64 = rest[1..close]
                .trim()
                .parse()
                .map_err(|_| invalid(format!("bad array length in `{spelled}`")))?;
            lens.push(n);
            if lens.len() > MAX_DIMS {
                return Err(invalid(format!("more than {MAX_DIMS} array dimensions")));
            }
            rest = &rest[close + 1..];
        }
        let count = lens
            .iter()
            .try_fold(1u64, |a, &n| a.checked_mul(n))
            .ok_or_else(|| invalid(format!("`{spelled}` is too large")))?;
        let order = f.byte_order.unwrap_or_default();
        let int = |size: u64, signed: bool, order: ByteOrder| FieldType::Int {
            size,
            signed,
            encoding: IntEncoding::Plain,
            byte_order: order,
        };
        let mut elem = match base {
            "u8" => int(1, false, order),
            "u16" => int(2, false, order),
            "u32" => int(4, false, order),
            "u64" => int(8, false, order),
            "i8" => int(1, true, order),
            "i16" => int(2, true, order),
            "i32" => int(4, true, order),
            "i64" => int(8, true, order),
            "be16" => int(2, false, ByteOrder::Big),
            "be32" => int(4, false, ByteOrder::Big),
            "be64" => int(8, false, ByteOrder::Big),
            "bool" => FieldType::Int {
                size: 1,
                signed: false,
                encoding: IntEncoding::Bool,
                byte_order: ByteOrder::Host,
            },
            "char" => FieldType::Int {
                size: 1,
                signed: false,
                encoding: IntEncoding::Char,
                byte_order: ByteOrder::Host,
            },
            "f32" => FieldType::Float { size: 4 },
            "f64" => FieldType::Float { size: 8 },
            "bytes" => {
                if !lens.is_empty() {
                    return Err(invalid(
                        "`bytes` takes its length from `size`; write `bytes`, not an array of it"
                            .into(),
                    ));
                }
                FieldType::Opaque {
                    size: f.size,
                    what: f.source_type.clone().unwrap_or_else(|| "bytes".into()),
                }
            }
            "ptr" => {
                let size = f.size.checked_div(count).unwrap_or(8);
                if !matches!(size, 4 | 8) || size * count != f.size {
                    return Err(invalid(format!(
                        "a pointer is 4 or 8 bytes, not {}",
                        f.size
                    )));
                }
                FieldType::Pointer { size }
            }
            name if self.index.contains_key(name) => FieldType::Aggregate(self.layout(name, line)?),
            _ => {
                return Err(SchemaError::UnknownType {
                    type_name: doc.name.clone(),
                    field: f.name.clone(),
                    spelled: spelled.into(),
                    line,
                })
            }
        };
        for &n in lens.iter().rev() {
            elem = FieldType::Array {
                elem: Arc::new(elem),
                len: n,
            };
        }
        Ok(elem)
    }
}

fn parse_source(s: &str) -> Option<SourceLoc> {
    let (file, line) = s.rsplit_once(':')?;
    Some(SourceLoc {
        file: file.to_string(),
        line: line.trim().parse().ok()?,
    })
}

/// Writes `root` and every struct or union it nests, as one schema file: the
/// single-type form when nothing is nested, a `types:` list (root first) otherwise.
pub fn to_yaml(root: &Layout) -> String {
    let mut w = Writer::default();
    let root_name = if root.name.is_empty() {
        "anonymous".to_string()
    } else {
        root.name.to_string()
    };
    w.reserve(root, root_name.clone());
    w.queue.push((root_name, root.clone()));
    let mut docs = Vec::new();
    let mut i = 0;
    while i < w.queue.len() {
        let (name, layout) = w.queue[i].clone();
        docs.push(w.doc(&name, &layout));
        i += 1;
    }
    let text = if docs.len() == 1 {
        serde_yaml::to_string(&docs[0])
    } else {
        serde_yaml::to_string(&MultiDoc { types: docs })
    };
    text.expect("schema documents are plain data")
}

#[derive(Default)]
struct Writer {
    /// Names given to layouts so far (by content, so shared types are written once).
    named: Vec<(Layout, String)>,
    /// The same names by the address of a shared layout: a type reached
    /// many times (`struct S { struct T a, b; }`, nested) is looked up
    /// without comparing contents, so the work follows the number of
    /// distinct types, not the number of paths to them.
    by_address: HashMap<*const Layout, String>,
    used: HashSet<String>,
    queue: Vec<(String, Layout)>,
}

impl Writer {
    fn reserve(&mut self, l: &Layout, name: String) {
        self.used.insert(name.clone());
        self.named.push((l.clone(), name));
    }

    fn name_of(&mut self, l: &Layout, hint: String) -> String {
        if let Some((_, n)) = self.named.iter().find(|(k, _)| k == l) {
            return n.clone();
        }
        let base = if l.name.is_empty() {
            hint
        } else {
            l.name.to_string()
        };
        let mut name = base.clone();
        let mut k = 2;
        while self.used.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.reserve(l, name.clone());
        self.queue.push((name.clone(), l.clone()));
        name
    }

    fn doc(&mut self, name: &str, l: &Layout) -> TypeDoc {
        let mut anon = 0;
        let fields = l
            .members
            .iter()
            .map(|m| {
                let hint = if m.name.is_empty() {
                    anon += 1;
                    format!("{name}.anon{anon}")
                } else {
                    format!("{name}.{}", m.name)
                };
                let spelled = self.spell(&m.ty, hint);
                let ty = spelled.clone().unwrap_or_else(|| "bytes".into());
                let natural = ty.clone();
                FieldDoc {
                    name: m.name.to_string(),
                    offset: m.offset,
                    size: m.size,
                    ty,
                    bit_offset: m.bit_size.map(|_| m.bit_offset),
                    bit_size: m.bit_size,
                    byte_order: None,
                    source_type: (*m.type_name != *natural && !m.type_name.is_empty())
                        .then(|| m.type_name.to_string()),
                    source: m.source.as_ref().map(|s| format!("{}:{}", s.file, s.line)),
                }
            })
            .collect();
        TypeDoc {
            name: name.to_string(),
            kind: (l.kind == AggregateKind::Union).then_some(AggregateKind::Union),
            anonymous: l.name.is_empty(),
            size: l.size,
            align: Some(l.align()),
            source: l.source.as_ref().map(|s| format!("{}:{}", s.file, s.line)),
            fields,
        }
    }

    /// The schema spelling of `ty`, `None` when only `bytes` describes it.
    fn spell(&mut self, ty: &FieldType, hint: String) -> Option<String> {
        let int = |size: u64, signed: bool| -> Option<String> {
            matches!(size, 1 | 2 | 4 | 8)
                .then(|| format!("{}{}", if signed { 'i' } else { 'u' }, size * 8))
        };
        match ty {
            FieldType::Int {
                size: 1,
                encoding: IntEncoding::Bool,
                ..
            } => Some("bool".into()),
            FieldType::Int {
                size: 1,
                signed: false,
                encoding: IntEncoding::Char,
                ..
            } => Some("char".into()),
            FieldType::Int {
                size,
                byte_order: ByteOrder::Big,
                ..
            } if matches!(size, 2 | 4 | 8) => Some(format!("be{}", size * 8)),
            FieldType::Int { size, signed, .. } => int(*size, *signed),
            FieldType::Enum(e) => int(e.size, e.signed),
            FieldType::Float { size: 4 } => Some("f32".into()),
            FieldType::Float { size: 8 } => Some("f64".into()),
            FieldType::Float { .. } | FieldType::Opaque { .. } => None,
            FieldType::Pointer { .. } => Some("ptr".into()),
            FieldType::Array { elem, len } => {
                let inner = self.spell(elem, hint)?;
                // C order: the outer length comes first (`u16[4][3]`).
                Some(match inner.find('[') {
                    Some(i) => format!("{}[{len}]{}", &inner[..i], &inner[i..]),
                    None => format!("{inner}[{len}]"),
                })
            }
            FieldType::Aggregate(l) => {
                if let Some(n) = self.by_address.get(&Arc::as_ptr(l)) {
                    return Some(n.clone());
                }
                let name = self.name_of(l, hint);
                self.by_address.insert(Arc::as_ptr(l), name.clone());
                Some(name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOW_KEY: &str = "\
name: flow_key
size: 16
align: 4
fields:
  - name: saddr
    offset: 0
    size: 4
    type: be32
  - name: sport
    offset: 4
    size: 2
    type: u16
    byte_order: big
  - name: daddr
    offset: 8
    size: 4
    type: u32
  - name: proto
    offset: 12
    size: 1
    type: u8
";

    #[test]
    fn single_type_form_reads_and_round_trips() {
        let s = Schema::parse(FLOW_KEY).unwrap();
        let l = s.get("flow_key").unwrap();
        assert_eq!(l.size, 16);
        assert_eq!(l.holes.len(), 1);
        assert_eq!(l.padding, 3);
        assert!(matches!(
            l.members[1].ty,
            FieldType::Int {
                byte_order: ByteOrder::Big,
                ..
            }
        ));
        let again = Schema::parse(&to_yaml(l)).unwrap();
        assert_eq!(again.get("flow_key").unwrap().as_ref(), l.as_ref());
    }

    #[test]
    fn types_list_with_nested_union_arrays_and_bitfields() {
        let text = "\
types:
  - name: rec
    size: 32
    fields:
      - {name: w, offset: 0, size: 4, type: u32, bit_offset: 3, bit_size: 5}
      - {name: u, offset: 4, size: 16, type: rec.u}
      - {name: m, offset: 20, size: 12, type: 'u16[2][3]'}
  - name: rec.u
    kind: union
    anonymous: true
    size: 16
    fields:
      - {name: v4, offset: 0, size: 4, type: be32}
      - {name: v6, offset: 0, size: 16, type: 'u8[16]'}
";
        let s = Schema::parse(text).unwrap();
        let l = s.get("rec").unwrap();
        let FieldType::Aggregate(u) = &l.members[1].ty else {
            panic!("not nested")
        };
        assert_eq!((u.kind, u.name.as_str()), (AggregateKind::Union, ""));
        assert_eq!(l.members[0].bit_size, Some(5));
        let FieldType::Array { elem, len: 2 } = &l.members[2].ty else {
            panic!("not an array")
        };
        assert!(matches!(**elem, FieldType::Array { len: 3, .. }));
        let out = to_yaml(l);
        assert!(out.contains("u16[2][3]"), "{out}");
        assert_eq!(Schema::parse(&out).unwrap().get("rec").unwrap(), l);
    }

    #[test]
    fn yaml_errors_carry_line_and_column() {
        let e = Schema::parse("name: x\nsize: [\n").unwrap_err();
        assert!(matches!(e, SchemaError::Yaml { line: Some(_), .. }), "{e}");
        let e = Schema::parse(
            "name: x\nsize: 4\nfields:\n  - name: a\n    offset: 0\n    size: 4\n    typo: u32\n",
        )
        .unwrap_err();
        assert_eq!(e.line(), Some(7), "{e}");
        assert!(
            e.to_string()
                .starts_with("line 7, column 5: fields[0]: unknown field `typo`"),
            "{e}"
        );
        assert!(!e.to_string().contains("at line"), "{e}");
    }

    #[test]
    fn invalid_field_names_the_field_and_its_line() {
        let text = FLOW_KEY.replace("offset: 12\n    size: 1", "offset: 16\n    size: 1");
        let e = Schema::parse(&text).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 18: type flow_key, field proto: offset 16 + size 1 ends past the type's size 16"
        );
        let e =
            Schema::parse(&FLOW_KEY.replace("size: 4\n    type: u32", "size: 2\n    type: u32"))
                .unwrap_err();
        assert!(
            matches!(e, SchemaError::Invalid { ref field, .. } if field.as_deref() == Some("daddr")),
            "{e}"
        );
        let e = Schema::parse(&FLOW_KEY.replace("offset: 8", "offset: 5")).unwrap_err();
        assert!(e.to_string().contains("overlaps"), "{e}");
        let e = Schema::parse(&FLOW_KEY.replace("offset: 8", "offset: 6")).unwrap_err();
        assert!(e.to_string().contains("not aligned"), "{e}");
        let e = Schema::parse(&FLOW_KEY.replace("align: 4", "align: 3")).unwrap_err();
        assert!(e.to_string().contains("power of two"), "{e}");
    }

    #[test]
    fn unknown_type_cycle_duplicate_empty() {
        let e = Schema::parse(&FLOW_KEY.replace("type: u32", "type: u24")).unwrap_err();
        assert!(
            matches!(e, SchemaError::UnknownType { line: Some(14), .. }),
            "{e}"
        );
        let cyc = "types:\n  - name: a\n    size: 4\n    fields:\n      - {name: b, offset: 0, size: 4, type: b}\n  - name: b\n    size: 4\n    fields:\n      - {name: a, offset: 0, size: 4, type: a}\n";
        assert!(matches!(
            Schema::parse(cyc).unwrap_err(),
            SchemaError::Cycle { .. }
        ));
        let dup = "types:\n  - {name: a, size: 0}\n  - {name: a, size: 0}\n";
        assert_eq!(Schema::parse(dup).unwrap_err().line(), Some(3));
        assert_eq!(
            Schema::parse("types: []\n").unwrap_err(),
            SchemaError::Empty
        );
    }

    #[test]
    fn truncated_and_garbage_schemas_never_panic() {
        let full = Schema::parse(FLOW_KEY).unwrap();
        let text = to_yaml(full.get("flow_key").unwrap());
        for cut in 0..text.len() {
            let _ = Schema::parse(&text[..cut]);
        }
        for g in [
            "",
            "[",
            "types: 3",
            "name: x",
            "types:\n  - {}",
            "size: -1",
            "\u{0}",
        ] {
            let _ = Schema::parse(g);
        }
        let huge = "name: h\nsize: 18446744073709551615\nfields:\n  - {name: a, offset: 0, size: 8, type: 'u64[4611686018427387904][4]'}\n";
        assert!(Schema::parse(huge).is_err());
        let deep = format!(
            "name: d\nsize: 1\nfields:\n  - {{name: a, offset: 0, size: 1, type: 'u8{}'}}\n",
            "[1]".repeat(100_000)
        );
        assert!(Schema::parse(&deep)
            .unwrap_err()
            .to_string()
            .contains("dimensions"));
    }

    #[test]
    fn packed_and_go_32_bit_alignment_survive() {
        let packed = "name: p\nsize: 5\nalign: 1\nfields:\n  - {name: a, offset: 0, size: 1, type: u8}\n  - {name: b, offset: 1, size: 4, type: u32}\n";
        let l = Schema::parse(packed).unwrap().types[0].1.clone();
        assert!(l.packed);
        let go386 = "name: g\nsize: 12\nalign: 4\nfields:\n  - {name: a, offset: 0, size: 4, type: i32}\n  - {name: b, offset: 4, size: 8, type: u64}\n";
        let l = Schema::parse(go386).unwrap().types[0].1.clone();
        assert_eq!((l.packed, l.align()), (false, 4));
        assert!(to_yaml(&l).contains("align: 4"));
    }

    #[test]
    fn flow_nesting_past_the_limit_is_refused_before_parsing() {
        let deep = format!(
            "name: x\nsize: 4\nfields: {}{}\n",
            "[".repeat(200),
            "]".repeat(200)
        );
        let e = Schema::parse(&deep).unwrap_err();
        assert!(
            matches!(
                e,
                SchemaError::TooDeep {
                    line: Some(3),
                    column: Some(137),
                    ..
                }
            ),
            "{e}"
        );
        // Brackets in quotes and comments, and balanced ones in type names, do not count.
        let fine = format!(
            "# {}\nname: \"{}\"\nsize: 4\nfields: []\n",
            "[".repeat(200),
            "{".repeat(200)
        );
        assert!(Schema::parse(&fine).is_ok());
    }
}
