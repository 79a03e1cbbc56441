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

/// One entry as a line of text: `[index] <compact JSON>`.
pub fn write_text_entry<W: Write>(out: &mut W, index: usize, json: &str) -> io::Result<()> {
    writeln!(out, "[{index}] {json}")
}

/// Findings as text lines: `severity code: title`, then evidence and fix.
pub fn write_findings_text<W: Write>(out: &mut W, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        writeln!(
            out,
            "{} {}: {}",
            f.severity.as_str(),
            f.code.as_str(),
            f.title
        )?;
        writeln!(out, "    evidence: {}", f.evidence)?;
        if let Some(fix) = &f.fix {
            writeln!(out, "    fix: {fix}")?;
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
