//! The JSON report: the stable, documented shape of `docs/report.md`.

use std::io::{self, Write};

use super::Report;

/// Writes the report as pretty JSON followed by a newline.
pub fn write<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
