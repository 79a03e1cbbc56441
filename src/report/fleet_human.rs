//! The fleet report for a terminal: bundles, findings per code with the
//! nodes they were seen on, map names with more than one definition across
//! nodes (each variant with its layouts and nodes), maps some nodes lack.
//!
//! Every string from a bundle or a file name (paths, hosts, kernels, map
//! names, titles, type summaries, reasons) goes through
//! [`escape::terminal`].

use std::io::{self, Write};

use super::escape::{self, terminal};
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
        terminal(v.map_type.as_deref().unwrap_or("?")),
        opt(v.key_size),
        opt(v.value_size),
        opt(v.max_entries),
        if v.prog_tags.is_empty() {
            ", no program".to_string()
        } else {
            format!(", program tag {}", terminal(&v.prog_tags.join(" ")))
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
                terminal(&b.path),
                paint(
                    &format!("UNREADABLE: {}", terminal(why)),
                    Severity::Error,
                    color
                )
            )?,
            None => writeln!(
                out,
                "  {}  {}  {}  {}, {}",
                terminal(&b.path),
                terminal(b.host.as_deref().unwrap_or("?")),
                terminal(b.kernel.as_deref().unwrap_or("?")),
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
                terminal(&report.node_name(seen.host.as_deref(), &seen.path)),
                seen.count,
                if seen.maps.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", terminal(&seen.maps.join(", ")))
                },
                terminal(&seen.title)
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
                terminal(&m.name),
                plural(m.bundles as u64, "bundle", "bundles"),
                variant_head(v)
            )?;
            continue;
        }
        writeln!(
            out,
            "  {}: {} in {}, differing in {}",
            terminal(&m.name),
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
            let shape = |s| escape::terminal(&shape_short(s)).into_owned();
            writeln!(out, "       key    {}", shape(v.key.as_ref()))?;
            writeln!(out, "       value  {}", shape(v.value.as_ref()))?;
            writeln!(
                out,
                "       on     {} ({})",
                terminal(&report.variant_nodes(v)),
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
                terminal(&p.name),
                p.present.len(),
                p.present.len() + p.absent.len(),
                terminal(&report.node_names(&p.present)),
                terminal(&report.node_names(&p.absent))
            )?;
        }
    }
    if !report.ignored.is_empty() {
        writeln!(out, "\nnot bundles (ignored):")?;
        for i in &report.ignored {
            writeln!(out, "  {}: {}", terminal(&i.path), terminal(&i.reason))?;
        }
    }
    Ok(())
}
