//! Renderers. Only this module knows output formats: human (miette), JSON,
//! Markdown and HTML. A [`Report`] is plain data; every renderer is a pure
//! function of it, so the same input gives the same bytes.

pub mod bytemap;
pub mod causes;
pub mod config;
pub mod dump;
pub mod dump_diff;
pub mod escape;
pub mod fleet;
pub mod fleet_html;
pub mod fleet_human;
pub mod fleet_json;
pub mod fleet_markdown;
pub mod header;
pub mod html;
pub mod human;
pub mod json;
pub mod layout;
pub mod markdown;
pub mod openmetrics;
pub mod owners;

use serde::Serialize;

use crate::model::finding::{Finding, MapRef, Severity};

/// Version of the JSON report shape (`docs/report.md`).
pub const REPORT_VERSION: u32 = 1;

/// One input the analysis looked at and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputSummary {
    /// Path as given (or inside the bundle).
    pub path: String,
    /// What it was taken for: `bundle`, `bpf-object`, `btf`, `go-source`, `dwarf`,
    /// `schema`, `dump-json`, `dump-text`, `map-show`, ...
    pub kind: String,
    /// `read`, or `unreadable` (an `input/unreadable` finding says why).
    pub status: String,
}

/// One map the analysis knows about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapSummary {
    pub id: Option<u32>,
    pub name: String,
    #[serde(rename = "type")]
    pub map_type: Option<String>,
    pub key_size: Option<u64>,
    pub value_size: Option<u64>,
    pub max_entries: Option<u32>,
    /// Key and value type names where a layout is known.
    pub key_type: Option<String>,
    pub value_type: Option<String>,
    /// Entries in the dump, when there is one.
    pub entries: Option<u64>,
    /// The loaded programs that use the map (a bundle's `map_ids`).
    pub programs: Vec<ProgramRef>,
    /// The processes that hold an fd of the map (a bundle's fdinfo).
    pub holders: Vec<Holder>,
    /// Where the map is pinned under bpffs.
    pub pins: Vec<String>,
    /// The key and value layouts, for the byte maps of the HTML and
    /// Markdown reports (not in the JSON: findings carry their evidence).
    #[serde(skip)]
    pub key_layout: Option<std::sync::Arc<crate::model::layout::Layout>>,
    #[serde(skip)]
    pub value_layout: Option<std::sync::Arc<crate::model::layout::Layout>>,
}

/// A loaded program, as a map's user (`maps[].programs`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ProgramRef {
    pub id: u32,
    pub name: String,
    #[serde(rename = "type")]
    pub prog_type: String,
    pub tag: String,
}

/// A process fd that holds a map or a program.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Holder {
    pub pid: u32,
    pub comm: String,
    pub fd: u32,
}

/// A loaded program of the node (`programs[]`): what it is, the maps it
/// uses, and who holds it (process fds, pins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramSummary {
    pub id: u32,
    pub name: String,
    #[serde(rename = "type")]
    pub prog_type: String,
    pub tag: String,
    pub map_ids: Vec<u32>,
    pub holders: Vec<Holder>,
    pub pins: Vec<String>,
}

/// One user-type-against-BTF comparison and its verdict, with the
/// equivalences that were accepted (so a `match` says what it relied on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckSummary {
    pub map: Option<String>,
    /// `key` or `value`.
    pub role: String,
    pub user_type: String,
    pub user_origin: String,
    pub btf_type: String,
    pub btf_origin: String,
    /// `match` or `differs`.
    pub verdict: String,
    pub notes: Vec<String>,
    /// Where the user type is declared (`types.go:12`, a DWARF
    /// `decl_file:line`), when its source says.
    pub user_location: Option<String>,
}

/// One dump and what was checked with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpSummary {
    /// The dump file as named (in a bundle: `bundle!path`).
    pub file: String,
    /// The map it was checked as; null when it belongs to no map of the inputs.
    pub map: Option<MapRef>,
    pub entries: u64,
    /// `checked` (with its map's layouts and limits), `no-map` (only checks
    /// that need no layout; an `input/unused` finding says why) or
    /// `excluded` (its map is outside `--map`).
    pub status: String,
}

/// One trace of map calls and how much of it was replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceSummary {
    pub file: String,
    /// Map calls read from it.
    pub calls: u64,
    /// Calls on a map of the inputs, replayed against that map.
    pub replayed: u64,
    /// The maps the replayed calls went to.
    pub maps: Vec<MapRef>,
}

/// Everything a renderer needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub report_version: u32,
    pub bpfcase_version: &'static str,
    pub inputs: Vec<InputSummary>,
    pub maps: Vec<MapSummary>,
    /// The loaded programs a bundle lists (none for loose files).
    pub programs: Vec<ProgramSummary>,
    /// Layout comparisons made, matching or not.
    pub checks: Vec<CheckSummary>,
    /// Dumps read, and the map each was checked as.
    pub dumps: Vec<DumpSummary>,
    /// Traces read, and how many of their calls were replayed.
    pub traces: Vec<TraceSummary>,
    /// Where and when each bundle among the inputs was collected (the
    /// report header, with the version and inputs).
    pub bundles: Vec<header::BundleContext>,
    pub findings: Vec<Finding>,
    /// Each finding's id and the cause it is folded under, in the order of
    /// `findings` (`causes::build`). The JSON report writes them into each
    /// finding (`json.rs`).
    #[serde(skip)]
    pub links: Vec<causes::FindingLink>,
    /// The root causes, in index order: what every format opens with.
    #[serde(skip)]
    pub causes: Vec<causes::Cause>,
    pub summary: Summary,
    /// The frozen `.rodata` sections of the programs, decoded: what each
    /// was loaded with (`config::MapConfig`). Left out when there is none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configuration: Vec<config::MapConfig>,
    /// The collection the case came from (the first bundle among the
    /// inputs). Not in the JSON report (version 1): the `openmetrics`
    /// renderer exposes it.
    #[serde(skip)]
    pub collection: Option<CollectionSummary>,
    /// Traced map calls counted by map, command and result. Not in the JSON
    /// report (version 1): the `openmetrics` renderer exposes it.
    #[serde(skip)]
    pub calls: Vec<CallCount>,
}

/// What a bundle's manifest says about its collection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionSummary {
    pub hostname: String,
    pub kernel_release: String,
    /// When the collection started, RFC 3339 (`manifest.created`).
    pub created: String,
    /// Interrupted or cut by a limit.
    pub partial: bool,
    /// Entries of `manifest.limits_hit` and `manifest.errors`.
    pub limits_hit: usize,
    pub errors: usize,
    /// The `--trace-pid` window, when there was one, and the calls it lost.
    pub trace_duration_ms: Option<u64>,
    pub trace_lost: u64,
}

/// Traced calls of one command on one map with one result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CallCount {
    /// The map the calls went to; `None` when the trace could not tell.
    pub map: Option<MapRef>,
    /// `map_lookup_elem`, `map_update_elem`, ...
    pub cmd: &'static str,
    /// `None` for calls that succeeded, else the errno's name (`ENOENT`).
    pub errno: Option<String>,
    pub calls: u64,
}

/// Finding counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

impl Report {
    /// Builds a report; findings are put in a stable order (severity, root
    /// causes before the rest, then code, map, title) so output does not
    /// depend on analysis order and a pair's first divergence leads.
    pub fn new(
        inputs: Vec<InputSummary>,
        maps: Vec<MapSummary>,
        mut findings: Vec<Finding>,
    ) -> Self {
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.root_cause.cmp(&a.root_cause))
                .then(a.code.cmp(&b.code))
                .then(a.map.cmp(&b.map))
                .then(a.title.cmp(&b.title))
        });
        let mut summary = Summary::default();
        for f in &findings {
            match f.severity {
                Severity::Error => summary.error += 1,
                Severity::Warning => summary.warning += 1,
                Severity::Info => summary.info += 1,
            }
        }
        let (links, causes) = causes::build(&findings);
        Report {
            tool: "bpfcase",
            report_version: REPORT_VERSION,
            bpfcase_version: env!("CARGO_PKG_VERSION"),
            inputs,
            programs: Vec::new(),
            maps,
            checks: Vec::new(),
            dumps: Vec::new(),
            traces: Vec::new(),
            bundles: Vec::new(),
            findings,
            links,
            causes,
            summary,
            configuration: Vec::new(),
            collection: None,
            calls: Vec::new(),
        }
    }

    /// Whether any finding is at or above `level`.
    pub fn has_at_least(&self, level: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= level)
    }
}

/// How terminal text is laid out: its width and whether it has colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStyle {
    pub width: usize,
    pub color: bool,
    /// Every piece of evidence (`--verbose`): each map and dump on its own line.
    pub verbose: bool,
}

/// `1 entry`, `2 entries`: `count` and the noun in the right number.
pub fn plural(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `3 findings (1 error, 2 warnings)`, `no findings`.
pub fn findings_summary(error: usize, warning: usize, info: usize) -> String {
    let total = (error + warning + info) as u64;
    if total == 0 {
        return "no findings".to_string();
    }
    let parts: Vec<String> = [
        (error, "error", "errors"),
        (warning, "warning", "warnings"),
        (info, "info", "info"),
    ]
    .iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| plural(*n as u64, one, many))
    .collect();
    format!(
        "{} ({})",
        plural(total, "finding", "findings"),
        parts.join(", ")
    )
}

/// Renders evidence values for terminal text ([`evidence_lines`]): scalars
/// plainly, arrays of scalars inline, everything else as compact JSON;
/// strings through [`escape::terminal`].
pub(crate) fn evidence_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => escape::terminal(s).into_owned(),
        serde_json::Value::Null => "-".to_string(),
        serde_json::Value::Array(items)
            if items.iter().all(|i| !i.is_object() && !i.is_array()) =>
        {
            let parts: Vec<String> = items.iter().map(evidence_scalar).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// Evidence as text lines (terminal, decode's findings): scalars as aligned
/// `key  value` lines, nested objects and lists of objects indented under
/// their key, byte strings (`"0a 00 …"`) as hex rows with offsets, and
/// under the last byte string of an object a caret line marking the bytes
/// its `*_offsets` list names (or, for two byte strings of one length such
/// as a missed key and the present one, the bytes that differ). Never JSON.
pub(crate) fn evidence_lines(
    obj: &serde_json::Map<String, serde_json::Value>,
    indent: usize,
    width: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    object_lines(obj, indent, width, &mut lines);
    lines
}

/// Bytes per hex row.
fn hex_row_len(avail: usize) -> usize {
    // "0000  " plus 3 columns per byte.
    if avail >= 6 + 16 * 3 {
        16
    } else {
        8
    }
}

/// The bytes of a `"0a 00 ff"` string, if it is one.
fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let bytes: Option<Vec<u8>> = s
        .split(' ')
        .map(|t| {
            (t.len() == 2)
                .then(|| u8::from_str_radix(t, 16).ok())
                .flatten()
        })
        .collect();
    bytes.filter(|b| !b.is_empty())
}

fn is_inline(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Array(items) => items.iter().all(|i| !i.is_object() && !i.is_array()),
        // A small record of scalars (`at: {offset: 301}`) reads best on one line.
        serde_json::Value::Object(o) => {
            o.len() <= 3 && o.values().all(|x| !x.is_object() && !x.is_array())
        }
        _ => true,
    }
}

/// An inline value as text: `none` for an empty list or record, a small
/// record as `key value, key value`.
fn inline_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Array(a) if a.is_empty() => "none".to_string(),
        serde_json::Value::Object(o) if o.is_empty() => "none".to_string(),
        serde_json::Value::Object(o) => o
            .iter()
            .map(|(k, x)| format!("{} {}", escape::terminal(k), evidence_scalar(x)))
            .collect::<Vec<_>>()
            .join(", "),
        v => evidence_scalar(v),
    }
}

fn object_lines(
    obj: &serde_json::Map<String, serde_json::Value>,
    indent: usize,
    width: usize,
    lines: &mut Vec<String>,
) {
    use serde_json::Value;
    let pad = " ".repeat(indent);
    let key_width = obj
        .iter()
        .filter(|(_, v)| is_inline(v))
        .map(|(k, _)| escape::terminal(k).chars().count())
        .max()
        .unwrap_or(0);
    let value_col = indent + key_width + 2;
    // Offsets to mark under the last byte string: a `*_offsets` list of
    // integers, else the bytes where two byte strings of one length differ.
    let hex_fields: Vec<(&String, Vec<u8>)> = obj
        .iter()
        .filter_map(|(k, v)| v.as_str().and_then(hex_bytes).map(|b| (k, b)))
        .collect();
    let mut marks: Vec<u64> = obj
        .iter()
        .filter(|(k, _)| k.ends_with("_offsets"))
        .filter_map(|(_, v)| v.as_array())
        .flat_map(|a| a.iter().filter_map(|x| x.as_u64()))
        .collect();
    if marks.is_empty() {
        if let [(_, a), (_, b)] = hex_fields.as_slice() {
            if a.len() == b.len() {
                marks = (0..a.len() as u64)
                    .filter(|&i| a[i as usize] != b[i as usize])
                    .collect();
            }
        }
    }
    let last_hex = hex_fields.last().map(|(k, _)| k.as_str());
    for (key, v) in obj {
        let mark_here = if Some(key.as_str()) == last_hex {
            marks.as_slice()
        } else {
            &[]
        };
        // Evidence keys are the analyses' own words, but a key can be a name
        // from the input.
        let k = escape::terminal(key);
        match v {
            Value::String(s) if hex_bytes(s).is_some() => {
                let bytes = hex_bytes(s).unwrap_or_default();
                if value_col + s.len() <= width {
                    lines.push(format!("{pad}{k:<key_width$}  {s}"));
                    if !mark_here.is_empty() {
                        lines.push(caret_line(value_col, 0, bytes.len(), mark_here));
                    }
                } else {
                    lines.push(format!("{pad}{k}:"));
                    let per_row = hex_row_len(width.saturating_sub(indent + 2));
                    for (row, chunk) in bytes.chunks(per_row).enumerate() {
                        let at = row * per_row;
                        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                        lines.push(format!("{pad}  {at:04x}  {}", hex.join(" ")));
                        if mark_here
                            .iter()
                            .any(|&m| (at as u64..(at + chunk.len()) as u64).contains(&m))
                        {
                            lines.push(caret_line(indent + 8, at, chunk.len(), mark_here));
                        }
                    }
                }
            }
            v if is_inline(v) => {
                let text = inline_text(v);
                let first_word = text.split(' ').next().map_or(0, |w| w.chars().count());
                if value_col + first_word > width && key_width > 0 {
                    // A long path or token: under its key rather than past the edge.
                    lines.push(format!("{pad}{k}:"));
                    let lead = format!("{pad}  ");
                    lines.extend(human::wrap_after(&lead, indent + 2, &text, width));
                } else {
                    let lead = format!("{pad}{k:<key_width$}  ");
                    lines.extend(human::wrap_after(&lead, value_col, &text, width));
                }
            }
            Value::Object(o) => {
                lines.push(format!("{pad}{k}:"));
                object_lines(o, indent + 2, width, lines);
            }
            Value::Array(items) => {
                lines.push(format!("{pad}{k}:"));
                for item in items {
                    let mut sub = Vec::new();
                    match item {
                        Value::Object(o) => object_lines(o, indent + 4, width, &mut sub),
                        other => {
                            let lead = " ".repeat(indent + 4);
                            sub.extend(human::wrap_after(
                                &lead,
                                indent + 4,
                                &evidence_scalar(other),
                                width,
                            ))
                        }
                    }
                    // The item's first line starts with "- " two columns in.
                    if let Some(first) = sub.first_mut() {
                        first.replace_range(indent + 2..indent + 4, "- ");
                    }
                    lines.extend(sub);
                }
            }
            _ => {}
        }
    }
}

/// A line of `^` under the bytes at `marks` of a hex row starting at byte
/// `start` (`len` bytes) whose first byte is printed at column `col`.
fn caret_line(col: usize, start: usize, len: usize, marks: &[u64]) -> String {
    let mut line = " ".repeat(col);
    for i in 0..len {
        let marked = marks.contains(&((start + i) as u64));
        line.push_str(if marked { "^^" } else { "  " });
        if i + 1 < len {
            line.push(' ');
        }
    }
    line.trim_end().to_string()
}

/// `file:line`, `file @ byte N`, or just `file`, for text renderings.
pub(crate) fn source_location(src: &crate::model::finding::SourceRef) -> String {
    match (src.line, src.offset) {
        (Some(l), _) => format!("{}:{l}", src.file),
        (None, Some(o)) => format!("{} @ byte {o}", src.file),
        _ => src.file.clone(),
    }
}

/// A layout picture carried in evidence (`evidence.layouts.user` /
/// `evidence.layouts.kernel`): fields with offsets and sizes.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub(crate) struct EvidenceLayout {
    pub name: String,
    pub size: u64,
    pub fields: Vec<EvidenceField>,
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub(crate) struct EvidenceField {
    pub name: String,
    pub offset: u64,
    pub size: u64,
    #[serde(default, rename = "type")]
    pub type_name: String,
}

/// Whether finding `i` repeats the layout picture last shown (findings of one
/// pair share it, possibly with picture-less findings between): renderers
/// show each picture once.
pub(crate) fn repeats_previous_layouts(findings: &[Finding], i: usize) -> bool {
    let Some(mine) = findings[i].evidence.get("layouts") else {
        return false;
    };
    findings[..i]
        .iter()
        .rev()
        .find_map(|f| f.evidence.get("layouts"))
        .is_some_and(|last| last == mine)
}

/// The two layouts of a layout finding, if its evidence carries them.
pub(crate) fn evidence_layouts(
    f: &Finding,
) -> Option<(String, EvidenceLayout, String, EvidenceLayout)> {
    let obj = f.evidence.get("layouts")?.as_object()?;
    let mut it = obj.iter();
    let (ln, lv) = it.next()?;
    let (rn, rv) = it.next()?;
    Some((
        ln.clone(),
        serde_json::from_value(lv.clone()).ok()?,
        rn.clone(),
        serde_json::from_value(rv.clone()).ok()?,
    ))
}

/// A piece of text as the analyses write it (titles, fixes, notes).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Span<'a> {
    Text(&'a str),
    /// The inside of a backtick code span.
    Code(&'a str),
}

/// Splits `s` at its backtick code spans by CommonMark's rule: a run of n
/// backticks closes at the next run of exactly n, and one space is stripped
/// from each end of a span that has both and is not blank. An unmatched run
/// stays in the text. Markdown re-fences the spans, HTML makes them `<code>`.
pub(crate) fn code_spans(s: &str) -> Vec<Span<'_>> {
    let b = s.as_bytes();
    let run_at = |i: usize| b[i..].iter().take_while(|&&c| c == b'`').count();
    let mut spans = Vec::new();
    let mut text_from = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'`' {
            i += 1;
            continue;
        }
        let n = run_at(i);
        let mut j = i + n;
        let mut close = None;
        while j < b.len() {
            if b[j] == b'`' {
                let m = run_at(j);
                if m == n {
                    close = Some(j);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match close {
            Some(j) => {
                if text_from < i {
                    spans.push(Span::Text(&s[text_from..i]));
                }
                let mut inner = &s[i + n..j];
                if inner.len() > 2
                    && inner.starts_with(' ')
                    && inner.ends_with(' ')
                    && !inner.trim().is_empty()
                {
                    inner = &inner[1..inner.len() - 1];
                }
                spans.push(Span::Code(inner));
                i = j + n;
                text_from = i;
            }
            None => i += n,
        }
    }
    if text_from < s.len() {
        spans.push(Span::Text(&s[text_from..]));
    }
    spans
}
