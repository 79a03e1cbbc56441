//! The terminal rendering: one miette diagnostic per finding (with the source
//! line where one exists: Go file:line, DWARF decl_file:line, dump line), its
//! evidence, and both layouts side by side for layout findings.

use std::fmt::Write as _;
use std::io::{self, Write};

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};

use super::{evidence_layouts, evidence_scalar, Report};
use crate::model::finding::{Finding, Severity};

/// Writes the human report. `color` adds ANSI colours (terminals only).
pub fn write<W: Write>(out: &mut W, report: &Report, color: bool) -> io::Result<()> {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let s = &report.summary;
    writeln!(
        out,
        "bpfcase {}: {} error(s), {} warning(s), {} info",
        report.bpfcase_version, s.error, s.warning, s.info
    )?;
    writeln!(out, "inputs:")?;
    for i in &report.inputs {
        writeln!(out, "  {} ({}, {})", i.path, i.kind, i.status)?;
    }
    if !report.maps.is_empty() {
        writeln!(out, "maps:")?;
        for m in &report.maps {
            writeln!(
                out,
                "  {}{} {} key {} value {} max_entries {}{}{}",
                m.id.map(|i| format!("{i}: ")).unwrap_or_default(),
                m.name,
                m.map_type.as_deref().unwrap_or("?"),
                opt(m.key_size, "B"),
                opt(m.value_size, "B"),
                m.max_entries
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into()),
                match (&m.key_type, &m.value_type) {
                    (None, None) => String::new(),
                    (k, v) => format!(
                        " ({} → {})",
                        k.as_deref().unwrap_or("?"),
                        v.as_deref().unwrap_or("?")
                    ),
                },
                m.entries
                    .map(|n| format!(", {n} entries dumped"))
                    .unwrap_or_default(),
            )?;
        }
    }
    write_compared(out, report)?;
    for (i, f) in report.findings.iter().enumerate() {
        writeln!(out)?;
        let show_layouts = !super::repeats_previous_layouts(&report.findings, i);
        out.write_all(render_finding(&handler, f, show_layouts).as_bytes())?;
    }
    if report.findings.is_empty() {
        writeln!(out, "\nno findings")?;
    }
    Ok(())
}

/// What was compared: user types against BTF types, dumps, trace calls.
fn write_compared<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    if report.checks.is_empty() && report.dumps.is_empty() && report.traces.is_empty() {
        return writeln!(
            out,
            "compared: nothing (no user-space type, dump or trace was compared)"
        );
    }
    writeln!(out, "compared:")?;
    for c in &report.checks {
        let what = match &c.map {
            Some(m) => format!("map {m} {}", c.role),
            None => "--pair".to_string(),
        };
        writeln!(
            out,
            "  {what}: {} against BTF {}: {}",
            c.user_type, c.btf_type, c.verdict
        )?;
        match &c.user_location {
            Some(at) => writeln!(out, "    user: {at} ({})", c.user_origin)?,
            None => writeln!(out, "    user: {}", c.user_origin)?,
        }
        writeln!(out, "    BTF:  {}", c.btf_origin)?;
        for n in &c.notes {
            writeln!(out, "    accepted: {n}")?;
        }
    }
    for d in &report.dumps {
        let map = d.map.as_ref().map(map_name).unwrap_or_default();
        let what = match d.status.as_str() {
            "checked" => format!("checked as map {map}"),
            "excluded" => format!("map {map} is outside --map, not checked"),
            _ => "belongs to no map: layout-free checks only".to_string(),
        };
        let entries = if d.entries == 1 { "entry" } else { "entries" };
        writeln!(out, "  dump {}: {} {entries}, {what}", d.file, d.entries)?;
    }
    for t in &report.traces {
        let maps: Vec<String> = t.maps.iter().map(map_name).collect();
        writeln!(
            out,
            "  trace {}: {} calls, {} replayed against {}",
            t.file,
            t.calls,
            t.replayed,
            if maps.is_empty() {
                "no map".to_string()
            } else {
                format!("map {}", maps.join(", "))
            }
        )?;
    }
    Ok(())
}

/// `flows`, or `flows (id 52)` for a live map.
fn map_name(m: &crate::model::finding::MapRef) -> String {
    match m.id {
        Some(id) => format!("{} (id {id})", m.name),
        None => m.name.clone(),
    }
}

fn opt(v: Option<u64>, unit: &str) -> String {
    v.map(|n| format!("{n}{unit}"))
        .unwrap_or_else(|| "?".into())
}

fn render_finding(handler: &GraphicalReportHandler, f: &Finding, show_layouts: bool) -> String {
    let map = f
        .map
        .as_ref()
        .map(|m| match m.id {
            Some(id) => format!(" [map {} (id {id})]", m.name),
            None => format!(" [map {}]", m.name),
        })
        .unwrap_or_default();
    let mut diag = MietteDiagnostic::new(format!("{}{map}", f.title))
        .with_code(f.code.as_str())
        .with_severity(match f.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        });
    if let Some(fix) = &f.fix {
        diag = diag.with_help(fix.clone());
    }
    let mut text = String::new();
    // The first source with text becomes the miette snippet; others are listed.
    let mut snippet_used = false;
    let mut extra_sources = Vec::new();
    for src in &f.sources {
        match (&src.text, src.line, snippet_used) {
            (Some(body), Some(line), false) => {
                if let Some((start, len)) = line_span(body, line) {
                    diag = diag.with_label(LabeledSpan::at(start..start + len, src.label.clone()));
                    let report = miette::Report::new(diag.clone())
                        .with_source_code(NamedSource::new(src.file.clone(), body.to_string()));
                    let _ = handler.render_report(&mut text, report.as_ref());
                    snippet_used = true;
                    continue;
                }
                extra_sources.push(src)
            }
            _ => extra_sources.push(src),
        }
    }
    if !snippet_used {
        let _ = handler.render_report(&mut text, &diag);
    }
    for src in extra_sources {
        let at = super::source_location(src);
        let _ = writeln!(text, "  ↳ {at}: {}", src.label);
    }
    if let Some(obj) = f.evidence.as_object() {
        let _ = writeln!(text, "  evidence:");
        for (k, v) in obj {
            if k == "layouts" {
                continue;
            }
            let _ = writeln!(text, "    {k}: {}", evidence_scalar(v));
        }
    }
    if let Some((ln, l, rn, r)) = evidence_layouts(f).filter(|_| show_layouts) {
        let _ = writeln!(text, "  layouts ({ln} | {rn}):");
        let rows = l.fields.len().max(r.fields.len());
        let cell = |x: Option<&super::EvidenceField>| {
            x.map(|x| format!("{:>4} {:>3}  {}", x.offset, x.size, x.name))
                .unwrap_or_default()
        };
        let left = format!("{} ({} B)", l.name, l.size);
        let _ = writeln!(text, "    {left:<36} | {} ({} B)", r.name, r.size);
        for i in 0..rows {
            let a = cell(l.fields.get(i));
            let b = cell(r.fields.get(i));
            let mark = match (l.fields.get(i), r.fields.get(i)) {
                (Some(x), Some(y)) if x.offset != y.offset || x.size != y.size => " ◀",
                (Some(_), None) | (None, Some(_)) => " ◀",
                _ => "",
            };
            let _ = writeln!(text, "    {a:<36} | {b}{mark}");
        }
    }
    text
}

/// Byte start and length of 1-based `line` in `text`.
fn line_span(text: &str, line: u32) -> Option<(usize, usize)> {
    let mut start = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let trimmed = l.trim_end_matches(['\n', '\r']);
            let indent = trimmed.len() - trimmed.trim_start().len();
            return Some((start + indent, trimmed.trim_start().len().max(1)));
        }
        start += l.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::line_span;

    #[test]
    fn line_span_skips_indentation() {
        let t = "a\n\tfoo bar\nz";
        assert_eq!(line_span(t, 2), Some((3, 7)));
        assert_eq!(line_span(t, 9), None);
    }
}
