//! The fleet report for a terminal: bundles, findings per code with the
//! nodes they were seen on, map names with more than one definition across
//! nodes (each variant with its layouts and nodes), maps some nodes lack.

use std::io::{self, Write};

use super::fleet::{shape_short, FleetReport, MapVariant};
use super::{findings_summary, plural};
use crate::model::finding::Severity;

fn paint(s: &str, sev: Severity, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match sev {
        Severity::Error => "31",
        Severity::Warning => "33",
        Severity::Info => "34",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

/// `hash key 16 B value 24 B max_entries 64`, and the program tags.
fn variant_head(v: &MapVariant) -> String {
    format!(
        "{} key {} B value {} B max_entries {}{}",
        v.map_type.as_deref().unwrap_or("?"),
        opt(v.key_size),
        opt(v.value_size),
        opt(v.max_entries),
        if v.prog_tags.is_empty() {
            ", no program".to_string()
        } else {
            format!(", program tag {}", v.prog_tags.join(" "))
        }
    )
}

/// Writes the human fleet report. `color` adds ANSI colours (terminals only).
pub fn write<W: Write>(out: &mut W, report: &FleetReport, color: bool) -> io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "bpfcase {} fleet: {} bundles ({} read, {} unreadable) from {} hosts; {} with errors, {} with warnings; {} map names with several variants",
        report.bpfcase_version,
        s.bundles,
        s.read,
        s.unreadable,
        s.hosts,
        s.bundles_with_errors,
        s.bundles_with_warnings,
        s.maps_with_variants
    )?;
    writeln!(out, "\nbundles:")?;
    for b in &report.bundles {
        match &b.error {
            Some(why) => writeln!(
                out,
                "  {}  {}",
                b.path,
                paint(&format!("UNREADABLE: {why}"), Severity::Error, color)
            )?,
            None => writeln!(
                out,
                "  {}  {}  {}  {}, {}",
                b.path,
                b.host.as_deref().unwrap_or("?"),
                b.kernel.as_deref().unwrap_or("?"),
                plural(b.maps as u64, "map", "maps"),
                findings_summary(b.findings.error, b.findings.warning, b.findings.info)
            )?,
        }
    }
    writeln!(out, "\nfindings by code:")?;
    if report.findings.is_empty() {
        writeln!(out, "  none")?;
    }
    for f in &report.findings {
        writeln!(
            out,
            "  {} {} in {}",
            paint(f.severity.as_str(), f.severity, color),
            f.code.as_str(),
            plural(f.bundles.len() as u64, "bundle", "bundles")
        )?;
        for seen in &f.bundles {
            writeln!(
                out,
                "    {}: {}×{}  {}",
                report.node_name(seen.host.as_deref(), &seen.path),
                seen.count,
                if seen.maps.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", seen.maps.join(", "))
                },
                seen.title
            )?;
        }
    }
    writeln!(out, "\nmaps:")?;
    for m in &report.maps {
        if m.variants.len() == 1 {
            let v = &m.variants[0];
            writeln!(
                out,
                "  {}: one variant in {}: {}",
                m.name,
                plural(m.bundles as u64, "bundle", "bundles"),
                variant_head(v)
            )?;
            continue;
        }
        writeln!(
            out,
            "  {}: {} in {}, differing in {}",
            m.name,
            paint(
                &format!("{} variants", m.variants.len()),
                Severity::Warning,
                color
            ),
            plural(m.bundles as u64, "bundle", "bundles"),
            m.differs.join(", ")
        )?;
        for v in &m.variants {
            writeln!(out, "    {}  {}", v.label, variant_head(v))?;
            writeln!(out, "       key    {}", shape_short(v.key.as_ref()))?;
            writeln!(out, "       value  {}", shape_short(v.value.as_ref()))?;
            writeln!(
                out,
                "       on     {} ({})",
                report.variant_nodes(v),
                plural(v.seen_in.len() as u64, "instance", "instances")
            )?;
        }
    }
    if !report.partial_maps.is_empty() {
        writeln!(out, "\nmaps on some nodes only:")?;
        for p in &report.partial_maps {
            writeln!(
                out,
                "  {}: on {} of {} ({}); absent on {}",
                p.name,
                p.present.len(),
                p.present.len() + p.absent.len(),
                report.node_names(&p.present),
                report.node_names(&p.absent)
            )?;
        }
    }
    if !report.ignored.is_empty() {
        writeln!(out, "\nnot bundles (ignored):")?;
        for i in &report.ignored {
            writeln!(out, "  {}: {}", i.path, i.reason)?;
        }
    }
    Ok(())
}
