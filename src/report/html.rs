//! The self-contained HTML report: no external assets, with a byte-map
//! picture of both layouts for every layout finding, and of the looked-up
//! and the present key for every traced call that missed.

use std::io::{self, Write};

use super::{evidence_layouts, evidence_scalar, EvidenceLayout, Report};

/// HTML-escapes text for element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
code,td.mono{font-family:ui-monospace,monospace}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
.finding{border:1px solid #ddd;border-left:6px solid #999;padding:.5em 1em;margin:1em 0}
.error{border-left-color:#c0392b}.warning{border-left-color:#e67e22}.info{border-left-color:#2980b9}
.sev{font-weight:bold;text-transform:uppercase}
.bytemap{display:flex;flex-wrap:wrap;margin:2px 0 8px}
.byte{width:26px;height:34px;border:1px solid #fff;font-size:9px;text-align:center;overflow:hidden;box-sizing:border-box}
.byte .n{display:block;color:#555}.pad{background:repeating-linear-gradient(45deg,#eee,#eee 3px,#ccc 3px,#ccc 6px)}
.diff{outline:2px solid #c0392b;outline-offset:-2px}
.legend span{display:inline-block;margin-right:8px;padding:0 4px}";

/// A stable pastel colour for a field name, so the same field has the same
/// colour in both layouts.
fn color(name: &str) -> String {
    let h = name
        .bytes()
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
    format!("hsl({},70%,78%)", h % 360)
}

fn byte_map<W: Write>(
    out: &mut W,
    title: &str,
    l: &EvidenceLayout,
    other: &EvidenceLayout,
) -> io::Result<()> {
    writeln!(
        out,
        "<div><b>{}</b>: <code>{}</code> ({} bytes)</div><div class=\"bytemap\">",
        esc(title),
        esc(&l.name),
        l.size
    )?;
    let size = l.size.min(4096);
    for b in 0..size {
        let field = l
            .fields
            .iter()
            .find(|f| f.offset <= b && b < f.offset + f.size.max(1));
        match field {
            Some(f) => {
                let same = other.fields.iter().any(|o| {
                    o.name.eq_ignore_ascii_case(&f.name) && o.offset == f.offset && o.size == f.size
                }) || other
                    .fields
                    .iter()
                    .any(|o| o.offset == f.offset && o.size == f.size);
                write!(
                    out,
                    "<div class=\"byte{}\" style=\"background:{}\" title=\"{} @{} ({} B) {}\"><span class=\"n\">{b}</span>{}</div>",
                    if same { "" } else { " diff" },
                    color(&f.name.to_ascii_lowercase().replace('_', "")),
                    esc(&f.name),
                    f.offset,
                    f.size,
                    esc(&f.type_name),
                    if b == f.offset { esc(&f.name.chars().take(4).collect::<String>()) } else { String::new() }
                )?;
            }
            None => write!(
                out,
                "<div class=\"byte pad\" title=\"padding\"><span class=\"n\">{b}</span></div>"
            )?,
        }
    }
    writeln!(out, "</div>")
}

/// For a traced call that missed: the looked-up key over the present key it
/// was compared with, byte by byte, the bytes that differ outlined. Drawn
/// from the first example of the finding's evidence.
fn key_pair_map<W: Write>(out: &mut W, f: &crate::model::finding::Finding) -> io::Result<()> {
    let Some(ex) = f.evidence["examples"].get(0) else {
        return Ok(());
    };
    let (Some(key), Some((present_label, present))) = (
        ex["key"].as_str(),
        ex["present_key"]
            .as_str()
            .map(|p| ("present key", p))
            .or_else(|| {
                ex["nearest_present_key"]
                    .as_str()
                    .map(|p| ("nearest present key", p))
            }),
    ) else {
        return Ok(());
    };
    let bytes = |hex: &str| -> Vec<String> { hex.split_whitespace().map(str::to_string).collect() };
    let (k, p) = (bytes(key), bytes(present));
    for (label, row) in [("looked-up key", &k), (present_label, &p)] {
        writeln!(out, "<div><b>{label}</b></div><div class=\"bytemap\">")?;
        for (i, b) in row.iter().enumerate().take(4096) {
            let differs = k.get(i) != p.get(i);
            write!(
                out,
                "<div class=\"byte{}\" title=\"byte {i}\"><span class=\"n\">{i}</span>{}</div>",
                if differs { " diff" } else { "" },
                esc(b)
            )?;
        }
        writeln!(out, "</div>")?;
    }
    writeln!(
        out,
        "<div class=\"legend\"><span class=\"diff\">differs between the two keys</span></div>"
    )
}

/// `flows`, or `flows (id 52)` for a live map.
fn map_name(m: &crate::model::finding::MapRef) -> String {
    match m.id {
        Some(id) => format!("{} (id {id})", m.name),
        None => m.name.clone(),
    }
}

/// The "Compared" section: user types against BTF types, dumps, traces.
fn write_compared<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    writeln!(out, "<h2>Compared</h2>")?;
    if report.checks.is_empty() && report.dumps.is_empty() && report.traces.is_empty() {
        return writeln!(
            out,
            "<p>Nothing: no user-space type, dump or trace was compared.</p>"
        );
    }
    if !report.checks.is_empty() {
        writeln!(out, "<table><tr><th>map</th><th>side</th><th>user type</th><th>from</th><th>BTF type</th><th>from</th><th>verdict</th><th>accepted</th></tr>")?;
        for c in &report.checks {
            let at = c
                .user_location
                .as_deref()
                .map(|l| format!(" at <code>{}</code>", esc(l)))
                .unwrap_or_default();
            let notes: Vec<String> = c.notes.iter().map(|n| esc(n)).collect();
            writeln!(
                out,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}{at}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(c.map.as_deref().unwrap_or("(--pair)")),
                esc(&c.role),
                esc(&c.user_type),
                esc(&c.user_origin),
                esc(&c.btf_type),
                esc(&c.btf_origin),
                esc(&c.verdict),
                notes.join("<br>")
            )?;
        }
        writeln!(out, "</table>")?;
    }
    if !report.dumps.is_empty() {
        writeln!(
            out,
            "<table><tr><th>dump</th><th>map</th><th>entries</th><th>status</th></tr>"
        )?;
        for d in &report.dumps {
            writeln!(
                out,
                "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&d.file),
                esc(&d.map.as_ref().map(map_name).unwrap_or_default()),
                d.entries,
                esc(&d.status)
            )?;
        }
        writeln!(out, "</table>")?;
    }
    if !report.traces.is_empty() {
        writeln!(
            out,
            "<table><tr><th>trace</th><th>calls</th><th>replayed</th><th>maps</th></tr>"
        )?;
        for t in &report.traces {
            let maps: Vec<String> = t.maps.iter().map(map_name).collect();
            writeln!(
                out,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                esc(&t.file),
                t.calls,
                t.replayed,
                esc(&maps.join(", "))
            )?;
        }
        writeln!(out, "</table>")?;
    }
    Ok(())
}

/// Writes the report as one HTML page.
pub fn write<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bpfcase report</title><style>{STYLE}</style></head><body>")?;
    writeln!(
        out,
        "<h1>bpfcase report</h1><p><b>{} error(s), {} warning(s), {} info</b> — bpfcase {}</p>",
        s.error,
        s.warning,
        s.info,
        esc(report.bpfcase_version)
    )?;
    super::header::write_html(out, report)?;
    writeln!(
        out,
        "<h2>Inputs</h2><table><tr><th>path</th><th>kind</th><th>status</th></tr>"
    )?;
    for i in &report.inputs {
        writeln!(
            out,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&i.path),
            esc(&i.kind),
            esc(&i.status)
        )?;
    }
    writeln!(out, "</table>")?;
    if !report.maps.is_empty() {
        writeln!(out, "<h2>Maps</h2><table><tr><th>id</th><th>name</th><th>type</th><th>key</th><th>value</th><th>max_entries</th><th>key type</th><th>value type</th><th>entries</th></tr>")?;
        for m in &report.maps {
            let o = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
            writeln!(
                out,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                m.id.map(|i| i.to_string()).unwrap_or_default(),
                esc(&m.name),
                esc(m.map_type.as_deref().unwrap_or("")),
                o(m.key_size),
                o(m.value_size),
                m.max_entries.map(|n| n.to_string()).unwrap_or_default(),
                esc(m.key_type.as_deref().unwrap_or("")),
                esc(m.value_type.as_deref().unwrap_or("")),
                o(m.entries)
            )?;
        }
        writeln!(out, "</table>")?;
    }
    write_compared(out, report)?;
    writeln!(out, "<h2>Findings</h2>")?;
    if report.findings.is_empty() {
        writeln!(out, "<p>No findings.</p>")?;
    }
    for (i, f) in report.findings.iter().enumerate() {
        let sev = f.severity.as_str();
        writeln!(out, "<div class=\"finding {sev}\"><div><span class=\"sev\">{sev}</span> <code>{}</code></div><h3>{}</h3>", f.code.as_str(), esc(&f.title))?;
        if let Some(m) = &f.map {
            writeln!(
                out,
                "<p>Map <code>{}</code>{}</p>",
                esc(&m.name),
                m.id.map(|i| format!(" (id {i})")).unwrap_or_default()
            )?;
        }
        for src in &f.sources {
            let at = super::source_location(src);
            writeln!(out, "<p><code>{}</code>: {}</p>", esc(&at), esc(&src.label))?;
            if let (Some(text), Some(line)) = (&src.text, src.line) {
                if let Some(l) = text.lines().nth(line.saturating_sub(1) as usize) {
                    writeln!(out, "<pre>{line:>5} | {}</pre>", esc(l))?;
                }
            }
        }
        let repeated = super::repeats_previous_layouts(&report.findings, i);
        if let Some((ln, l, rn, r)) = evidence_layouts(f).filter(|_| !repeated) {
            byte_map(out, &ln, &l, &r)?;
            byte_map(out, &rn, &r, &l)?;
            writeln!(out, "<div class=\"legend\"><span class=\"pad\">padding / hole</span><span class=\"diff\">differs from the other side</span></div>")?;
        }
        key_pair_map(out, f)?;
        if let Some(obj) = f.evidence.as_object() {
            writeln!(out, "<table>")?;
            for (k, v) in obj {
                if k != "layouts" {
                    writeln!(
                        out,
                        "<tr><th>{}</th><td class=\"mono\">{}</td></tr>",
                        esc(k),
                        esc(&evidence_scalar(v))
                    )?;
                }
            }
            writeln!(out, "</table>")?;
        }
        if let Some(fix) = &f.fix {
            writeln!(out, "<p><b>Fix:</b> {}</p>", esc(fix))?;
        }
        writeln!(out, "</div>")?;
    }
    writeln!(out, "</body></html>")
}
