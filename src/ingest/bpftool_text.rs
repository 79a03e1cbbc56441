//! bpftool's plain-text `map dump`, read line by line (never held whole).
//!
//! Two forms exist, chosen by bpftool per map:
//!
//! - **hex** (maps without BTF): `key: 01 00 00 00  value: 11 11 ..` on one
//!   line when key + value ≤ 24 bytes and neither is over 16; otherwise
//!   `key:`/`value:` labels followed by hex wrapped at 16 bytes a line;
//!   per-CPU maps print `value (CPU 00): ..` per CPU; a failed lookup prints
//!   `value: <no entry>`; the dump ends with `Found N elements`.
//! - **BTF-formatted** (maps with BTF): a JSON-like array whose bitfields
//!   are bare hex (`"a": 0x5`), which is not valid JSON. Bare hex is quoted
//!   (`"0x5"`, as `bpftool -j` prints it) and each entry is kept as compact
//!   JSON text; this form has no raw bytes, so padding cannot be seen.
//!
//! `Error: ..` lines (stderr merged into the capture) are recorded where they
//! occur. A cut dump yields the complete entries before the cut plus a
//! [`ProblemKind::Truncated`] problem at its line.

use std::io::BufRead;

use crate::model::dump::{DumpForm, EntryValue, MapDump, ProblemKind};
use crate::model::finding::Position;

/// Largest formatted entry accepted, in bytes of text:
/// [`crate::limits::MAX_TEXT_ENTRY_BYTES`].
pub use crate::limits::MAX_TEXT_ENTRY_BYTES as MAX_FORMATTED_ENTRY;
/// Longest line accepted: [`crate::limits::MAX_TEXT_LINE_BYTES`].
pub use crate::limits::MAX_TEXT_LINE_BYTES as MAX_LINE;

/// Why a line of a text dump could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextDumpError {
    #[error("line {line}: `{text}` is not a hex byte")]
    BadHex { line: u32, text: String },
    #[error("line {line}: hex bytes before any `key:` label")]
    BytesWithoutLabel { line: u32 },
    #[error("line {line}: `{text}` is not part of a bpftool map dump")]
    Unexpected { line: u32, text: String },
    #[error("line {line}: formatted entry is not valid JSON: {reason}")]
    BadFormatted { line: u32, reason: String },
    #[error("line {line}: longer than {limit} bytes")]
    TooLong { line: u32, limit: usize },
}

impl TextDumpError {
    /// 1-based line of the problem.
    pub fn line(&self) -> u32 {
        match self {
            TextDumpError::BadHex { line, .. }
            | TextDumpError::BytesWithoutLabel { line }
            | TextDumpError::Unexpected { line, .. }
            | TextDumpError::BadFormatted { line, .. }
            | TextDumpError::TooLong { line, .. } => *line,
        }
    }
}

/// Reads a text dump (either form) from `reader`. Never fails: problems are
/// recorded in the returned dump.
pub fn read_dump<R: BufRead>(reader: R) -> MapDump {
    let mut lines = Lines::new(reader);
    // Find the form from the first non-blank line.
    loop {
        match lines.next() {
            LineRead::Eof => {
                let mut d = MapDump::new(DumpForm::TextHex);
                d.problem(
                    ProblemKind::Truncated,
                    Position::Line(lines.line.max(1)),
                    "empty dump (no entries, no `Found N elements`)",
                );
                return d;
            }
            LineRead::Err(d) => return d,
            LineRead::Line => {
                let t = lines.buf.trim();
                if t.is_empty() {
                    continue;
                }
                if t.starts_with('[') {
                    return read_formatted(lines);
                }
                if let Some(msg) = t.strip_prefix("Error:") {
                    // An error before any entry: could be either form; treat as hex.
                    let mut d = MapDump::new(DumpForm::TextHex);
                    d.problem(
                        ProblemKind::ErrorLine,
                        Position::Line(lines.line),
                        format!("bpftool reported an error: {}", msg.trim()),
                    );
                    let rest = read_hex(lines, false);
                    d.append(rest);
                    return d;
                }
                return read_hex(lines, true);
            }
        }
    }
}

/// Parses a text dump already in memory.
pub fn parse_dump(text: &[u8]) -> MapDump {
    read_dump(text)
}

enum LineRead {
    Line,
    Eof,
    /// A read error or an over-long line: the dump so far is all there is.
    Err(MapDump),
}

/// A line reader with a bounded line length and a line counter.
struct Lines<R> {
    reader: R,
    buf: String,
    raw: Vec<u8>,
    /// 1-based number of the line in `buf`.
    line: u32,
    /// Keep lines as bytes in `raw` only (no UTF-8 conversion into `buf`).
    raw_only: bool,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Lines {
            reader,
            buf: String::new(),
            raw: Vec::new(),
            line: 0,
            raw_only: false,
        }
    }

    fn next(&mut self) -> LineRead {
        use std::io::Read;
        self.raw.clear();
        let limit = MAX_LINE as u64 + 1;
        let r = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.raw);
        match r {
            Ok(0) => LineRead::Eof,
            Ok(_) => {
                self.line = self.line.saturating_add(1);
                if self.raw.len() > MAX_LINE {
                    let mut d = MapDump::new(DumpForm::TextHex);
                    let e = TextDumpError::TooLong {
                        line: self.line,
                        limit: MAX_LINE,
                    };
                    d.problem(
                        ProblemKind::Unreadable,
                        Position::Line(self.line),
                        e.to_string(),
                    );
                    return LineRead::Err(d);
                }
                if !self.raw_only {
                    self.buf.clear();
                    self.buf.push_str(&String::from_utf8_lossy(&self.raw));
                }
                LineRead::Line
            }
            Err(e) => {
                let mut d = MapDump::new(DumpForm::TextHex);
                d.problem(
                    ProblemKind::Unreadable,
                    Position::Line(self.line + 1),
                    format!("read error: {e}"),
                );
                LineRead::Err(d)
            }
        }
    }
}

/// Which part of a hex-form entry the following hex bytes belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Key,
    Value,
    Cpu,
}

/// A hex-form entry being read.
struct HexEntry {
    line: u32,
    key: Vec<u8>,
    value: Vec<u8>,
    /// Byte length of each per-CPU value seen so far (per-CPU maps).
    cpu_lens: Vec<usize>,
    field: Field,
    missing: Option<String>,
    saw_value: bool,
}

/// Sizes of the entries read so far, to tell a cut entry from a whole one.
#[derive(Default)]
struct Shape {
    key: Option<usize>,
    value: Option<usize>,
    cpus: Option<usize>,
}

/// Reads the hex form; the current line of `lines` is the first to parse
/// when `current` is set.
fn read_hex<R: BufRead>(mut lines: Lines<R>, current: bool) -> MapDump {
    let mut dump = MapDump::new(DumpForm::TextHex);
    let mut entry: Option<HexEntry> = None;
    let mut shape = Shape::default();
    let mut pending = current;
    loop {
        if !pending {
            match lines.next() {
                LineRead::Line => {}
                LineRead::Eof => break,
                LineRead::Err(d) => {
                    dump.append(d);
                    return dump;
                }
            }
        }
        pending = false;
        let n = lines.line;
        let text = lines.buf.trim_end().to_string();
        if let Err(e) = hex_line(&text, n, &mut entry, &mut dump, &mut shape) {
            if !lines.raw.ends_with(b"\n") {
                // The file ends inside this line: a cut, not garbage.
                dump.problem(
                    ProblemKind::Truncated,
                    Position::Line(n),
                    format!("the dump ends inside line {n}"),
                );
            } else {
                dump.problem(ProblemKind::Unreadable, Position::Line(n), e.to_string());
            }
            return dump;
        }
    }
    let last = lines.line;
    match entry.take() {
        // Without the trailer, the last entry is whole only if it has the
        // sizes of the entries before it (a first entry cannot be judged).
        Some(e) if is_complete(&e, &shape) && (dump.found.is_some() || shape.key.is_some()) => {
            finish(e, &mut dump, &mut shape)
        }
        Some(e) => {
            dump.problem(
                ProblemKind::Truncated,
                Position::Line(e.line),
                format!("the dump ends inside the entry starting at line {}", e.line),
            );
        }
        None => {}
    }
    match dump.found {
        None if dump.problem_count(ProblemKind::Truncated) == 0 => {
            dump.problem(
                ProblemKind::Truncated,
                Position::Line(last.saturating_add(1)),
                "the dump ends without bpftool's `Found N elements` line",
            );
        }
        Some(found) if found != dump.len() as u64 => {
            dump.problem(
                ProblemKind::Truncated,
                Position::Line(last),
                format!(
                    "bpftool says `Found {found} elements`, {} were read",
                    dump.len()
                ),
            );
        }
        _ => {}
    }
    dump
}

fn is_complete(e: &HexEntry, shape: &Shape) -> bool {
    if !e.saw_value {
        return false;
    }
    if e.missing.is_some() {
        return true;
    }
    if e.value.is_empty() {
        return false;
    }
    if shape.key.is_some_and(|k| k != e.key.len()) {
        return false;
    }
    if e.cpu_lens.is_empty() {
        shape.value.map_or(true, |v| v == e.value.len())
    } else {
        let one = e.cpu_lens[0];
        shape.cpus.map_or(true, |c| c == e.cpu_lens.len())
            && e.cpu_lens.iter().all(|&l| l == one)
            && shape.value.map_or(true, |v| v == one)
    }
}

fn finish(e: HexEntry, dump: &mut MapDump, shape: &mut Shape) {
    shape.key.get_or_insert(e.key.len());
    let pos = e.line as u64;
    if let Some(msg) = e.missing {
        dump.push_entry(pos, &e.key, EntryValue::Missing);
        dump.problem(
            ProblemKind::LookupFailed,
            Position::Line(e.line),
            format!("value lookup failed: {msg}"),
        );
        return;
    }
    if e.cpu_lens.is_empty() {
        shape.value.get_or_insert(e.value.len());
        dump.push_entry(pos, &e.key, EntryValue::Single(&e.value));
    } else {
        let len = e.cpu_lens[0];
        shape.value.get_or_insert(len);
        shape.cpus.get_or_insert(e.cpu_lens.len());
        dump.push_entry(
            pos,
            &e.key,
            EntryValue::PerCpu {
                bytes: &e.value,
                len,
            },
        );
    }
}

/// One line of the hex form.
fn hex_line(
    text: &str,
    n: u32,
    entry: &mut Option<HexEntry>,
    dump: &mut MapDump,
    shape: &mut Shape,
) -> Result<(), TextDumpError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(());
    }
    if let Some(msg) = t.strip_prefix("Error:") {
        // The entry before the error line is done if it is whole.
        if entry.as_ref().is_some_and(|e| is_complete(e, shape)) {
            if let Some(e) = entry.take() {
                finish(e, dump, shape);
            }
        }
        dump.problem(
            ProblemKind::ErrorLine,
            Position::Line(n),
            format!("bpftool reported an error: {}", msg.trim()),
        );
        return Ok(());
    }
    if let Some(rest) = t.strip_prefix("Found ") {
        // bpftool: "Found %u element%s" ("s" unless the count is 1).
        let parsed = match (
            rest.strip_suffix(" elements"),
            rest.strip_suffix(" element"),
        ) {
            (Some(num), _) => num.trim().parse::<u64>().ok().filter(|&v| v != 1),
            (None, Some(num)) => num.trim().parse::<u64>().ok().filter(|&v| v == 1),
            _ => None,
        };
        {
            if let Some(v) = parsed {
                if let Some(e) = entry.take() {
                    if is_complete(&e, shape) {
                        finish(e, dump, shape);
                    } else {
                        dump.problem(
                            ProblemKind::Truncated,
                            Position::Line(e.line),
                            format!("the entry starting at line {} is incomplete", e.line),
                        );
                    }
                }
                dump.found = Some(v);
                return Ok(());
            }
        }
    }
    let mut rest = t;
    if let Some(r) = rest.strip_prefix("key:") {
        if let Some(e) = entry.take() {
            if is_complete(&e, shape) {
                finish(e, dump, shape);
            } else {
                dump.problem(
                    ProblemKind::Truncated,
                    Position::Line(e.line),
                    format!("the entry starting at line {} is incomplete", e.line),
                );
            }
        }
        *entry = Some(HexEntry {
            line: n,
            key: Vec::new(),
            value: Vec::new(),
            cpu_lens: Vec::new(),
            field: Field::Key,
            missing: None,
            saw_value: false,
        });
        rest = r;
    }
    let Some(e) = entry.as_mut() else {
        return Err(if is_hex_bytes(t) {
            TextDumpError::BytesWithoutLabel { line: n }
        } else {
            TextDumpError::Unexpected {
                line: n,
                text: t.chars().take(60).collect(),
            }
        });
    };
    // A line may carry `key: .. value: ..`; split at each label.
    loop {
        let (chunk, next) = split_label(rest);
        read_hex_into(chunk, n, e)?;
        let Some((label, after)) = next else { break };
        e.saw_value = true;
        e.field = if label == "value" {
            Field::Value
        } else {
            e.cpu_lens.push(0);
            Field::Cpu
        };
        rest = after;
    }
    Ok(())
}

/// Splits `s` at the first `value:` or `value (CPU nn):` label: (before,
/// Some((label kind, after))).
fn split_label(s: &str) -> (&str, Option<(&'static str, &str)>) {
    let Some(i) = s.find("value") else {
        return (s, None);
    };
    let after = &s[i + 5..];
    if let Some(r) = after.strip_prefix(':') {
        return (&s[..i], Some(("value", r)));
    }
    if let Some(r) = after.strip_prefix(" (CPU ") {
        if let Some(j) = r.find("):") {
            return (&s[..i], Some(("cpu", &r[j + 2..])));
        }
    }
    (s, None)
}

fn is_hex_bytes(s: &str) -> bool {
    s.split_ascii_whitespace()
        .all(|w| w.len() == 2 && w.bytes().all(|c| c.is_ascii_hexdigit()))
}

fn read_hex_into(chunk: &str, n: u32, e: &mut HexEntry) -> Result<(), TextDumpError> {
    let chunk = chunk.trim();
    if chunk.is_empty() {
        return Ok(());
    }
    // `<no entry>` or strerror() text (words, not hex digits).
    let is_message = chunk.starts_with('<')
        || chunk
            .chars()
            .any(|c| !c.is_ascii_hexdigit() && !c.is_ascii_whitespace());
    if e.field != Field::Key && is_message {
        // `<no entry>` or strerror() text where the value would be.
        if e.value.is_empty() && e.missing.is_none() {
            e.missing = Some(chunk.to_string());
            return Ok(());
        }
    }
    for w in chunk.split_ascii_whitespace() {
        let b = (w.len() == 2)
            .then(|| u8::from_str_radix(w, 16).ok())
            .flatten()
            .ok_or_else(|| TextDumpError::BadHex {
                line: n,
                text: w.chars().take(20).collect(),
            })?;
        match e.field {
            Field::Key => e.key.push(b),
            Field::Value => e.value.push(b),
            Field::Cpu => {
                e.value.push(b);
                if let Some(l) = e.cpu_lens.last_mut() {
                    *l += 1;
                }
            }
        }
    }
    Ok(())
}

/// Reads the BTF-formatted form; the current line starts with `[`.
fn read_formatted<R: BufRead>(mut lines: Lines<R>) -> MapDump {
    let mut dump = MapDump::new(DumpForm::TextFormatted);
    let mut scan = Scan::default();
    let mut elem: Vec<u8> = Vec::new();
    let mut elem_line = 0u32;
    let mut pending = true;
    lines.raw_only = true;
    loop {
        if !pending {
            match lines.next() {
                LineRead::Line => {}
                LineRead::Eof => break,
                LineRead::Err(d) => {
                    dump.append(d);
                    return dump;
                }
            }
        }
        pending = false;
        let n = lines.line;
        let bytes: &[u8] = &lines.raw;
        if let Some(msg) = bytes.trim_ascii_start().strip_prefix(b"Error:") {
            dump.problem(
                ProblemKind::ErrorLine,
                Position::Line(n),
                format!(
                    "bpftool reported an error: {}",
                    String::from_utf8_lossy(msg).trim()
                ),
            );
            continue;
        }
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if scan.in_string {
                if scan.escape {
                    scan.escape = false;
                } else if c == b'\\' {
                    scan.escape = true;
                } else if c == b'"' {
                    scan.in_string = false;
                }
                if scan.depth >= 2 {
                    elem.push(c);
                }
                i += 1;
                continue;
            }
            match c {
                // Minify as we go: whitespace outside strings is dropped.
                b' ' | b'\n' | b'\r' | b'\t' => {
                    i += 1;
                    continue;
                }
                b'"' => scan.in_string = true,
                b'[' | b'{' => {
                    scan.depth += 1;
                    if scan.depth == 2 {
                        elem.clear();
                        elem_line = n;
                    }
                }
                b']' | b'}' => {
                    if scan.depth == 0 {
                        let e = TextDumpError::Unexpected {
                            line: n,
                            text: (c as char).to_string(),
                        };
                        dump.problem(ProblemKind::Unreadable, Position::Line(n), e.to_string());
                        return dump;
                    }
                    scan.depth -= 1;
                    if scan.depth == 1 {
                        elem.push(c);
                        if let Err(e) = push_formatted_entry(&elem, elem_line, &mut dump) {
                            dump.problem(
                                ProblemKind::Unreadable,
                                Position::Line(e.line()),
                                e.to_string(),
                            );
                            return dump;
                        }
                        elem.clear();
                        i += 1;
                        continue;
                    }
                    if scan.depth == 0 {
                        scan.closed = true;
                    }
                }
                b'0' if scan.depth >= 2 && bytes.get(i + 1) == Some(&b'x') => {
                    // Bare hex (a bitfield): quote it.
                    let end = bytes[i + 2..]
                        .iter()
                        .position(|b| !b.is_ascii_hexdigit())
                        .map_or(bytes.len(), |p| i + 2 + p);
                    elem.push(b'"');
                    elem.extend_from_slice(&bytes[i..end]);
                    elem.push(b'"');
                    i = end;
                    continue;
                }
                _ => {}
            }
            if scan.depth >= 2 {
                elem.push(c);
            }
            i += 1;
        }
        if elem.len() > MAX_FORMATTED_ENTRY {
            let e = TextDumpError::TooLong {
                line: elem_line,
                limit: MAX_FORMATTED_ENTRY,
            };
            dump.problem(ProblemKind::Unreadable, Position::Line(n), e.to_string());
            return dump;
        }
    }
    if !scan.closed {
        let (line, what) = if scan.depth >= 2 {
            (
                elem_line,
                format!("the dump ends inside the entry starting at line {elem_line}"),
            )
        } else {
            (
                lines.line.saturating_add(1),
                "the dump ends without closing `]`".to_string(),
            )
        };
        dump.problem(ProblemKind::Truncated, Position::Line(line), what);
    }
    dump
}

/// Depth/string state of the formatted-form scanner.
#[derive(Default)]
struct Scan {
    depth: usize,
    in_string: bool,
    escape: bool,
    closed: bool,
}

fn push_formatted_entry(elem: &[u8], line: u32, dump: &mut MapDump) -> Result<(), TextDumpError> {
    let bad = |reason: String| TextDumpError::BadFormatted { line, reason };
    // `elem` is already minified by the scanner. Validate without building a tree; member order is kept as bpftool
    // printed it (serde_json's map would sort it).
    serde_json::from_slice::<serde::de::IgnoredAny>(elem).map_err(|e| bad(e.to_string()))?;
    let members = top_members(elem).ok_or_else(|| bad("an entry is not an object".into()))?;
    let get = |name: &[u8]| members.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let Some(key) = get(b"key") else {
        if let Some(err) = get(b"error") {
            dump.problem(
                ProblemKind::ErrorLine,
                Position::Line(line),
                format!(
                    "bpftool reported an error: {}",
                    String::from_utf8_lossy(err)
                ),
            );
            return Ok(());
        }
        return Err(bad("an entry without `key`".into()));
    };
    let (value, per_cpu) = match (get(b"values"), get(b"value")) {
        (Some(v), _) => (v, true),
        (None, Some(v)) => (v, false),
        (None, None) => return Err(bad("an entry without `value`".into())),
    };
    dump.push_formatted(
        line as u64,
        &String::from_utf8_lossy(key),
        &String::from_utf8_lossy(value),
        per_cpu,
    );
    Ok(())
}

/// `"name":value` into (name, value).
fn split_member(m: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = m.iter().position(|&b| b == b':')?;
    let name = m[..colon].strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    Some((name, &m[colon + 1..]))
}

/// The members of a compact (already validated) JSON object: (name, value
/// text) with the name's quotes removed.
fn top_members(c: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let inner = c.strip_prefix(b"{")?.strip_suffix(b"}")?;
    let mut out = Vec::new();
    let (mut depth, mut in_string, mut escape) = (0usize, false, false);
    let mut start = 0;
    for (i, &b) in inner.iter().enumerate() {
        if in_string {
            if escape {
                escape = false;
            } else if b == b'\\' {
                escape = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(split_member(&inner[start..i])?);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < inner.len() {
        out.push(split_member(&inner[start..])?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> String {
        let d = parse_dump(text.as_bytes());
        d.problems[0].message.clone()
    }

    #[test]
    fn single_line_and_wrapped_forms() {
        let d =
            parse_dump(b"key: 01 00  value: 02 03\nkey:\n04 00\nvalue:\n05 06\nFound 2 elements\n");
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(d.len(), 2);
        assert_eq!(d.get(1).unwrap().value, EntryValue::Single(&[5, 6]));
        assert_eq!(d.get(1).unwrap().position, Position::Line(2));
    }

    #[test]
    fn per_cpu_and_no_entry() {
        let d = parse_dump(
            b"key:\n01 00 00 00\nvalue (CPU 00): 01\nvalue (CPU 01):\n02\nkey: 02 00 00 00  value: <no entry>\nFound 2 elements\n",
        );
        assert_eq!(d.len(), 2);
        assert_eq!(
            d.get(0).unwrap().value.cpu_values(),
            vec![&[1u8][..], &[2][..]]
        );
        assert_eq!(d.get(1).unwrap().value, EntryValue::Missing);
        assert_eq!(d.problems[0].kind, ProblemKind::LookupFailed);
    }

    #[test]
    fn every_error_variant_is_reported() {
        assert_eq!(problem("key: 01 zz\n"), "line 1: `zz` is not a hex byte");
        assert_eq!(
            problem("01 02\n"),
            "line 1: hex bytes before any `key:` label"
        );
        assert_eq!(
            problem("hello\n"),
            "line 1: `hello` is not part of a bpftool map dump"
        );
        assert!(
            problem("[{\"key\": 1 2}]\n").starts_with("line 1: formatted entry is not valid JSON")
        );
        let e = TextDumpError::TooLong { line: 3, limit: 9 };
        assert_eq!(e.line(), 3);
        assert_eq!(e.to_string(), "line 3: longer than 9 bytes");
    }

    #[test]
    fn found_count_mismatch_and_missing_trailer_are_truncation() {
        let d = parse_dump(b"key: 01  value: 02\nFound 3 elements\n");
        assert_eq!(d.problems[0].kind, ProblemKind::Truncated);
        // Without the trailer a lone entry cannot be judged whole: dropped.
        let d = parse_dump(b"key: 01  value: 02\n");
        assert_eq!(d.problems[0].kind, ProblemKind::Truncated);
        assert_eq!(d.len(), 0);
        // With an entry before it, a last entry of the same sizes is kept.
        let d = parse_dump(b"key: 01  value: 02\nkey: 03  value: 04\n");
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn formatted_bare_hex_is_quoted_and_errors_recorded() {
        let d = parse_dump(b"[{\n \"key\": 0,\n \"value\": {\"a\": 0x5, \"s\": \"0x1\"}\n},\nError: oops\n{\"key\": 1, \"value\": {\"a\": 0x0, \"s\": \"\"}}]\n");
        assert_eq!(d.len(), 2, "{:?}", d.problems);
        let e = d.get(0).unwrap();
        assert!(e.formatted);
        assert_eq!(e.value.cpu_values()[0], br#"{"a":"0x5","s":"0x1"}"#);
        assert_eq!(d.problems[0].kind, ProblemKind::ErrorLine);
        assert_eq!(d.problems[0].position, Position::Line(5));
    }
}
