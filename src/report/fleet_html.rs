//! The fleet report as one self-contained HTML page (no external assets):
//! bundles, findings per code, map variants (a map name with several
//! definitions is marked), maps some nodes lack.

use std::io::{self, Write};

use super::fleet::{FleetReport, TypeShape};
use super::html::esc;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
code{font-family:ui-monospace,monospace}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
.error{color:#c0392b;font-weight:bold}.warning{color:#e67e22;font-weight:bold}.info{color:#2980b9}
tr.differs td{background:#fff4e0}";

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

fn shape(s: Option<&TypeShape>) -> String {
    match s {
        Some(s) => format!(
            "{}<br><code>{}</code>",
            esc(&s.summary),
            esc(&s.fingerprint)
        ),
        None => "-".into(),
    }
}

/// Writes the HTML fleet report.
pub fn write<W: Write>(out: &mut W, report: &FleetReport) -> io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bpfcase fleet report</title><style>{STYLE}</style></head><body>"
    )?;
    writeln!(out, "<h1>bpfcase fleet report</h1>")?;
    writeln!(
        out,
        "<p>{} bundles ({} read, {} unreadable) from {} hosts; {} with errors, {} with warnings; {} map names with several variants. bpfcase {}.</p>",
        s.bundles, s.read, s.unreadable, s.hosts, s.bundles_with_errors, s.bundles_with_warnings, s.maps_with_variants, esc(report.bpfcase_version)
    )?;
    writeln!(out, "<h2>Bundles</h2>\n<table><tr><th>bundle</th><th>host</th><th>kernel</th><th>maps</th><th>errors</th><th>warnings</th><th>info</th></tr>")?;
    for b in &report.bundles {
        match &b.error {
            Some(why) => writeln!(
                out,
                "<tr><td><code>{}</code></td><td colspan=\"6\" class=\"error\">unreadable: {}</td></tr>",
                esc(&b.path),
                esc(why)
            )?,
            None => writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&b.path),
                esc(b.host.as_deref().unwrap_or("?")),
                esc(b.kernel.as_deref().unwrap_or("?")),
                b.maps,
                b.findings.error,
                b.findings.warning,
                b.findings.info
            )?,
        }
    }
    writeln!(out, "</table>\n<h2>Findings by code</h2>")?;
    if report.findings.is_empty() {
        writeln!(out, "<p>None.</p>")?;
    }
    for f in &report.findings {
        writeln!(
            out,
            "<h3><code>{}</code> <span class=\"{}\">{}</span>, {} bundles</h3>\n<table><tr><th>node</th><th>count</th><th>maps</th><th>first</th></tr>",
            esc(f.code.as_str()),
            f.severity.as_str(),
            f.severity.as_str(),
            f.bundles.len()
        )?;
        for seen in &f.bundles {
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&report.node_name(seen.host.as_deref(), &seen.path)),
                seen.count,
                esc(&seen.maps.join(", ")),
                esc(&seen.title)
            )?;
        }
        writeln!(out, "</table>")?;
    }
    writeln!(out, "<h2>Maps</h2>\n<table><tr><th>map</th><th>variant</th><th>type</th><th>key</th><th>value</th><th>max_entries</th><th>program tags</th><th>nodes</th></tr>")?;
    for m in &report.maps {
        let differs = m.variants.len() > 1;
        for v in &m.variants {
            writeln!(
                out,
                "<tr{}><td><code>{}</code></td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                if differs { " class=\"differs\"" } else { "" },
                esc(&m.name),
                v.label,
                if differs {
                    format!(" (differs in {})", m.differs.join(", "))
                } else {
                    String::new()
                },
                esc(v.map_type.as_deref().unwrap_or("?")),
                shape(v.key.as_ref()),
                shape(v.value.as_ref()),
                opt(v.max_entries),
                esc(&v.prog_tags.join(" ")),
                esc(&report.variant_nodes(v))
            )?;
        }
    }
    writeln!(out, "</table>")?;
    if !report.partial_maps.is_empty() {
        writeln!(out, "<h2>Maps on some nodes only</h2>\n<table><tr><th>map</th><th>on</th><th>absent on</th></tr>")?;
        for p in &report.partial_maps {
            writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&p.name),
                esc(&report.node_names(&p.present)),
                esc(&report.node_names(&p.absent))
            )?;
        }
        writeln!(out, "</table>")?;
    }
    if !report.ignored.is_empty() {
        writeln!(out, "<h2>Not bundles (ignored)</h2>\n<ul>")?;
        for i in &report.ignored {
            writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                esc(&i.path),
                esc(&i.reason)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</body></html>")
}
