//! The Markdown report, for pasting into tickets.

use std::io::{self, Write};

use super::{evidence_layouts, evidence_scalar, Report};

/// Escapes the characters that break a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `flows`, or `flows` (id 52) for a live map.
fn map_name(m: &crate::model::finding::MapRef) -> String {
    match m.id {
        Some(id) => format!("`{}` (id {id})", cell(&m.name)),
        None => format!("`{}`", cell(&m.name)),
    }
}

/// The "Compared" section: user types against BTF types, dumps, traces.
fn write_compared<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    writeln!(out, "\n## Compared\n")?;
    if report.checks.is_empty() && report.dumps.is_empty() && report.traces.is_empty() {
        return writeln!(
            out,
            "Nothing: no user-space type, dump or trace was compared."
        );
    }
    if !report.checks.is_empty() {
        writeln!(
            out,
            "| map | side | user type | from | BTF type | from | verdict | accepted |\n|---|---|---|---|---|---|---|---|"
        )?;
        for c in &report.checks {
            let at = c
                .user_location
                .as_deref()
                .map(|l| format!(" at `{}`", cell(l)))
                .unwrap_or_default();
            writeln!(
                out,
                "| {} | {} | `{}` | {}{at} | `{}` | {} | {} | {} |",
                c.map
                    .as_deref()
                    .map(|m| format!("`{}`", cell(m)))
                    .unwrap_or_else(|| "(--pair)".into()),
                c.role,
                cell(&c.user_type),
                cell(&c.user_origin),
                cell(&c.btf_type),
                cell(&c.btf_origin),
                c.verdict,
                if c.notes.is_empty() {
                    "-".to_string()
                } else {
                    c.notes
                        .iter()
                        .map(|n| cell(n))
                        .collect::<Vec<_>>()
                        .join("<br>")
                },
            )?;
        }
        writeln!(out)?;
    }
    if !report.dumps.is_empty() {
        writeln!(out, "| dump | map | entries | status |\n|---|---|---|---|")?;
        for d in &report.dumps {
            writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                cell(&d.file),
                d.map.as_ref().map(map_name).unwrap_or_else(|| "-".into()),
                d.entries,
                d.status
            )?;
        }
        writeln!(out)?;
    }
    if !report.traces.is_empty() {
        writeln!(
            out,
            "| trace | calls | replayed | maps |\n|---|---|---|---|"
        )?;
        for t in &report.traces {
            let maps: Vec<String> = t.maps.iter().map(map_name).collect();
            writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                cell(&t.file),
                t.calls,
                t.replayed,
                if maps.is_empty() {
                    "-".to_string()
                } else {
                    maps.join(", ")
                }
            )?;
        }
    }
    Ok(())
}

/// Writes the report as GitHub-flavoured Markdown.
pub fn write<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "# bpfcase report\n")?;
    super::header::write_markdown(out, report)?;
    writeln!(
        out,
        "**{} error(s), {} warning(s), {} info** — bpfcase {}\n",
        s.error, s.warning, s.info, report.bpfcase_version
    )?;
    writeln!(out, "## Inputs\n\n| path | kind | status |\n|---|---|---|")?;
    for i in &report.inputs {
        writeln!(out, "| `{}` | {} | {} |", cell(&i.path), i.kind, i.status)?;
    }
    if !report.maps.is_empty() {
        writeln!(
            out,
            "\n## Maps\n\n| id | name | type | key | value | max_entries | key type | value type | entries |\n|---|---|---|---|---|---|---|---|---|"
        )?;
        for m in &report.maps {
            let o = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} |",
                m.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
                cell(&m.name),
                m.map_type.as_deref().unwrap_or("-"),
                o(m.key_size),
                o(m.value_size),
                m.max_entries
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
                m.key_type
                    .as_deref()
                    .map(cell)
                    .unwrap_or_else(|| "-".into()),
                m.value_type
                    .as_deref()
                    .map(cell)
                    .unwrap_or_else(|| "-".into()),
                o(m.entries),
            )?;
        }
    }
    write_compared(out, report)?;
    writeln!(out, "\n## Findings\n")?;
    if report.findings.is_empty() {
        writeln!(out, "No findings.")?;
    }
    for (n, f) in report.findings.iter().enumerate() {
        writeln!(
            out,
            "### {}. {} `{}` — {}\n",
            n + 1,
            f.severity.as_str(),
            f.code.as_str(),
            f.title
        )?;
        if let Some(m) = &f.map {
            match m.id {
                Some(id) => writeln!(out, "Map: `{}` (id {id})\n", m.name)?,
                None => writeln!(out, "Map: `{}`\n", m.name)?,
            }
        }
        for src in &f.sources {
            let at = super::source_location(src);
            writeln!(out, "- `{}`: {}", cell(&at), src.label)?;
        }
        if let Some(obj) = f.evidence.as_object() {
            writeln!(out, "\n| evidence | |\n|---|---|")?;
            for (k, v) in obj {
                if k != "layouts" {
                    writeln!(out, "| {k} | `{}` |", cell(&evidence_scalar(v)))?;
                }
            }
        }
        let repeated = super::repeats_previous_layouts(&report.findings, n);
        if let Some((ln, l, rn, r)) = evidence_layouts(f).filter(|_| !repeated) {
            writeln!(
                out,
                "\n| {ln}: `{}` ({} B) | offset | size | {rn}: `{}` ({} B) | offset | size |\n|---|---|---|---|---|---|",
                cell(&l.name),
                l.size,
                cell(&r.name),
                r.size
            )?;
            for i in 0..l.fields.len().max(r.fields.len()) {
                let a = l.fields.get(i);
                let b = r.fields.get(i);
                let diff = match (a, b) {
                    (Some(x), Some(y)) => x.offset != y.offset || x.size != y.size,
                    _ => true,
                };
                let fmt = |x: Option<&super::EvidenceField>| match x {
                    Some(x) => {
                        let name = if diff {
                            format!("**{}**", cell(&x.name))
                        } else {
                            cell(&x.name)
                        };
                        format!("{name} | {} | {}", x.offset, x.size)
                    }
                    None => "— | | ".to_string(),
                };
                writeln!(out, "| {} | {} |", fmt(a), fmt(b))?;
            }
        }
        if let Some(fix) = &f.fix {
            writeln!(out, "\n**Fix:** {fix}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}
