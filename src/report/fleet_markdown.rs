//! The fleet report in Markdown, for tickets: the same sections as the
//! terminal rendering, as tables.
//!
//! Every string from a bundle or a file name goes through a rule of
//! [`super::escape`]: paths and names as code spans, hosts, kernels, titles
//! and reasons as text, both escaped for a table cell.

use std::io::{self, Write};

use super::escape::{md_code, md_code_cell as code, md_prose as prose, md_prose_cell as cell};
use super::fleet::{FleetReport, TypeShape};

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

fn shape(s: Option<&TypeShape>) -> String {
    match s {
        Some(s) => format!("{} {}", cell(&s.summary), code(&s.fingerprint)),
        None => "-".into(),
    }
}

/// Writes the Markdown fleet report.
pub fn write<W: Write>(out: &mut W, report: &FleetReport) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "# bpfcase fleet report\n")?;
    writeln!(
        out,
        "{} bundles ({} read, {} unreadable) from {} hosts; {} with errors, {} with warnings; {} map names with several variants. bpfcase {}.",
        s.bundles, s.read, s.unreadable, s.hosts, s.bundles_with_errors, s.bundles_with_warnings, s.maps_with_variants, report.bpfcase_version
    )?;
    writeln!(out, "\n## Bundles\n")?;
    writeln!(
        out,
        "| bundle | host | kernel | maps | errors | warnings | info |\n|---|---|---|---|---|---|---|"
    )?;
    for b in &report.bundles {
        match &b.error {
            Some(why) => writeln!(
                out,
                "| {} | - | - | - | unreadable: {} | | |",
                code(&b.path),
                cell(why)
            )?,
            None => writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                code(&b.path),
                cell(b.host.as_deref().unwrap_or("?")),
                cell(b.kernel.as_deref().unwrap_or("?")),
                b.maps,
                b.findings.error,
                b.findings.warning,
                b.findings.info
            )?,
        }
    }
    writeln!(out, "\n## Findings by code\n")?;
    if report.findings.is_empty() {
        writeln!(out, "None.")?;
    }
    for f in &report.findings {
        writeln!(
            out,
            "### `{}` ({}, {} bundles)\n",
            f.code.as_str(),
            f.severity.as_str(),
            f.bundles.len()
        )?;
        writeln!(out, "| node | count | maps | first |\n|---|---|---|---|")?;
        for seen in &f.bundles {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&report.node_name(seen.host.as_deref(), &seen.path)),
                seen.count,
                cell(&seen.maps.join(", ")),
                cell(&seen.title)
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "## Maps\n")?;
    writeln!(
        out,
        "| map | variant | type | key | value | max_entries | program tags | nodes |\n|---|---|---|---|---|---|---|---|"
    )?;
    for m in &report.maps {
        for v in &m.variants {
            writeln!(
                out,
                "| {} | {}{} | {} | {} | {} | {} | {} | {} |",
                code(&m.name),
                v.label,
                if m.variants.len() > 1 {
                    format!(" (differs in {})", m.differs.join(", "))
                } else {
                    String::new()
                },
                cell(v.map_type.as_deref().unwrap_or("?")),
                shape(v.key.as_ref()),
                shape(v.value.as_ref()),
                opt(v.max_entries),
                cell(&v.prog_tags.join(" ")),
                cell(&report.variant_nodes(v))
            )?;
        }
    }
    if !report.partial_maps.is_empty() {
        writeln!(out, "\n## Maps on some nodes only\n")?;
        writeln!(out, "| map | on | absent on |\n|---|---|---|")?;
        for p in &report.partial_maps {
            writeln!(
                out,
                "| {} | {} | {} |",
                code(&p.name),
                cell(&report.node_names(&p.present)),
                cell(&report.node_names(&p.absent))
            )?;
        }
    }
    if !report.ignored.is_empty() {
        writeln!(out, "\n## Not bundles (ignored)\n")?;
        for i in &report.ignored {
            writeln!(out, "- {}: {}", md_code(&i.path), prose(&i.reason))?;
        }
    }
    Ok(())
}
