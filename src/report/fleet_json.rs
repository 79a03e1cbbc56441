//! The fleet report as JSON (`docs/fleet-report.md`).

use std::io::{self, Write};

use super::fleet::FleetReport;

/// Writes the fleet report as pretty JSON followed by a newline.
pub fn write<W: Write>(out: &mut W, report: &FleetReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
