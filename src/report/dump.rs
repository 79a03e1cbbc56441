//! Rendering decoded dump entries and dump findings (`bpfcase decode`).

use std::io::{self, Write};

use crate::model::decode::Decoded;
use crate::model::finding::Finding;

/// Writes entries as one JSON array, one object per entry, streamed.
pub struct JsonEntries<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonEntries<W> {
    pub fn begin(mut out: W) -> io::Result<Self> {
        out.write_all(b"[")?;
        Ok(JsonEntries { out, first: true })
    }

    /// One entry (already in bpftool's `formatted` shape).
    pub fn entry(&mut self, e: &Decoded) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",\n")?;
        }
        self.first = false;
        serde_json::to_writer(&mut self.out, e)?;
        Ok(())
    }

    /// An entry given as JSON text (bpftool's own formatted text).
    pub fn raw(&mut self, json: &str) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",\n")?;
        }
        self.first = false;
        self.out.write_all(json.as_bytes())
    }

    pub fn end(mut self) -> io::Result<W> {
        self.out.write_all(b"]\n")?;
        Ok(self.out)
    }
}

/// One entry as a line of text: `[index] <compact JSON>`. The JSON is
/// terminal text too: serde_json leaves DEL and C1 characters raw, and a
/// formatted-text dump's entry is the input's own text; every control
/// character goes through [`super::escape::terminal`].
pub fn write_text_entry<W: Write>(out: &mut W, index: usize, json: &str) -> io::Result<()> {
    writeln!(out, "[{index}] {}", super::escape::terminal(json))
}

/// Findings as text lines: `severity code: title`, then the evidence as
/// aligned key/value lines and hex rows, and the fix, wrapped to
/// `style.width`.
pub fn write_findings_text<W: Write>(
    out: &mut W,
    findings: &[Finding],
    style: super::TextStyle,
) -> io::Result<()> {
    use super::escape::terminal;
    use super::human::wrap_after;
    for f in findings {
        let severity = f.severity.as_str();
        let severity = if style.color {
            let code = match f.severity {
                crate::model::finding::Severity::Error => "\x1b[1;31m",
                crate::model::finding::Severity::Warning => "\x1b[1;33m",
                crate::model::finding::Severity::Info => "\x1b[1;36m",
            };
            format!("{code}{severity}\x1b[0m")
        } else {
            severity.to_string()
        };
        let lead = format!("{severity} {}: ", f.code.as_str());
        for line in wrap_after(&lead, 4, &terminal(&f.title), style.width) {
            writeln!(out, "{line}")?;
        }
        if let Some(obj) = f.evidence.as_object() {
            writeln!(out, "    evidence:")?;
            for line in super::evidence_lines(obj, 6, style.width) {
                writeln!(out, "{line}")?;
            }
        }
        if let Some(fix) = &f.fix {
            for line in wrap_after("    fix: ", 9, &terminal(fix), style.width) {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

/// Summary of a dump check: entry count and findings, as JSON.
pub fn write_summary_json<W: Write>(
    out: &mut W,
    entries: usize,
    decoded: usize,
    undecodable: usize,
    findings: &[Finding],
) -> io::Result<()> {
    let v = serde_json::json!({
        "entries": entries,
        "decoded": decoded,
        "undecodable": undecodable,
        "findings": findings,
    });
    serde_json::to_writer_pretty(&mut *out, &v)?;
    writeln!(out)
}
