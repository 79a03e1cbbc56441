//! The Markdown report, for pasting into tickets: GitHub-flavoured, and
//! plain enough to read wherever it lands (tables only for the lists of
//! what was compared; byte maps in code blocks; long evidence folded in
//! `<details>`).
//!
//! Code spans follow CommonMark: a span that holds backticks is fenced with
//! a longer run than any inside it (`` `` a `b` `` ``), so evidence that
//! quotes code (`(Go `int` is 8 bytes…)`) stays one span.
//!
//! Every string from an input goes through a rule of [`super::escape`]:
//! code spans ([`code`]), inline text ([`escape_text`], [`text`] for text
//! with backtick spans), table cells, and in the byte maps' code blocks the
//! terminal rule under a fence longer than any backtick run in the block.
//! The only raw HTML is the report's own (`<details>`, `<summary>`, `<br>`).

use std::io::{self, Write};

use super::bytemap::{self, ByteMap};
use super::escape::{
    md_code as code, md_code_cell as code_cell, md_prose as text, md_prose_cell as text_cell,
    md_text as escape_text, terminal,
};
use super::Report;

/// `flows`, or `flows` (id 52) for a live map, in a table cell.
fn map_name(m: &crate::model::finding::MapRef) -> String {
    match m.id {
        Some(id) => format!("{} (id {id})", code_cell(&m.name)),
        None => code_cell(&m.name),
    }
}

/// [`map_name`] outside a table (no `|` to escape).
fn map_name_inline(m: &crate::model::finding::MapRef) -> String {
    match m.id {
        Some(id) => format!("{} (id {id})", code(&m.name)),
        None => code(&m.name),
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
                .map(|l| format!(" at {}", code_cell(l)))
                .unwrap_or_default();
            writeln!(
                out,
                "| {} | {} | {} | {}{at} | {} | {} | {} | {} |",
                c.map
                    .as_deref()
                    .map(code_cell)
                    .unwrap_or_else(|| "(\\-\\-pair)".into()),
                text_cell(&c.role),
                code_cell(&c.user_type),
                text_cell(&c.user_origin),
                code_cell(&c.btf_type),
                text_cell(&c.btf_origin),
                text_cell(&c.verdict),
                if c.notes.is_empty() {
                    "-".to_string()
                } else {
                    c.notes
                        .iter()
                        .map(|n| text_cell(n))
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
                "| {} | {} | {} | {} |",
                code_cell(&d.file),
                d.map.as_ref().map(map_name).unwrap_or_else(|| "-".into()),
                d.entries,
                text_cell(&d.status)
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
                "| {} | {} | {} | {} |",
                code_cell(&t.file),
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

/// A byte map as a fenced text block: the text report's byte map
/// ([`bytemap::block_lines`]: one line per row with each side's field and
/// the byte values, marked cells in brackets, a legend line per kind of
/// mark), so Markdown and text draw the same marks. Names in the block are
/// terminal text ([`super::escape::terminal`]: no line of their own), and the fence is
/// longer than any backtick run in the block.
fn write_byte_map<W: Write>(out: &mut W, map: &ByteMap) -> io::Result<()> {
    let mut block = Vec::new();
    write_byte_map_block(&mut block, map)?;
    let block = String::from_utf8_lossy(&block);
    let fence = super::escape::md_fence(&block);
    writeln!(
        out,
        "\n{}:\n\n{fence}text\n{block}{fence}",
        escape_text(&map.caption)
    )
}

/// The inside of [`write_byte_map`]'s code block.
fn write_byte_map_block<W: Write>(out: &mut W, map: &ByteMap) -> io::Result<()> {
    for line in bytemap::block_lines(map, bytemap::MARKDOWN_WIDTH) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Evidence as a nested list (renders anywhere, unlike a table of tables).
fn evidence_list(out: &mut String, v: &serde_json::Value, depth: usize, skip: &[&str]) {
    use serde_json::Value;
    let indent = "  ".repeat(depth);
    let scalar = |v: &Value| -> String {
        match v {
            Value::String(s) if s.contains('`') => text(s),
            Value::String(s) => code(s),
            Value::Null => "-".into(),
            other => code(&other.to_string()),
        }
    };
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if skip.contains(&k.as_str()) {
                    continue;
                }
                match v {
                    Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
                        out.push_str(&format!("{indent}- {}:\n", escape_text(k)));
                        for (n, i) in items.iter().enumerate() {
                            out.push_str(&format!("{indent}  - {}:\n", n + 1));
                            evidence_list(out, i, depth + 2, &[]);
                        }
                    }
                    Value::Object(_) => {
                        out.push_str(&format!("{indent}- {}:\n", escape_text(k)));
                        evidence_list(out, v, depth + 1, &[]);
                    }
                    Value::Array(items) if items.is_empty() => {
                        out.push_str(&format!("{indent}- {}: none\n", escape_text(k)));
                    }
                    Value::Array(items) => {
                        let parts: Vec<String> = items.iter().map(scalar).collect();
                        out.push_str(&format!(
                            "{indent}- {}: {}\n",
                            escape_text(k),
                            parts.join(", ")
                        ));
                    }
                    other => {
                        out.push_str(&format!(
                            "{indent}- {}: {}\n",
                            escape_text(k),
                            scalar(other)
                        ));
                    }
                }
            }
        }
        other => out.push_str(&format!("{indent}- {}\n", scalar(other))),
    }
}

/// The line above a group's maps: who owns them and with which programs.
fn owner_line(g: &super::owners::OwnerGroup) -> String {
    use super::owners::Owner;
    let head = match g.owner {
        Owner::Process { pid, comm } => format!("**{}** (pid {pid})", code(comm)),
        Owner::NoProcess => "**Held by no process** (links or pins keep them)".to_string(),
        Owner::Unused => "**Used by no program, held by no process**".to_string(),
    };
    if g.programs.is_empty() {
        return head;
    }
    let progs: Vec<String> = g
        .programs
        .iter()
        .map(|p| {
            format!(
                "{} {} ({}, tag {})",
                p.id,
                code(&p.name),
                text(&p.prog_type),
                code(&p.tag)
            )
        })
        .collect();
    format!("{head}: {}", progs.join(", "))
}

/// A table of maps, one row each.
fn write_map_table<W: Write>(out: &mut W, maps: &[&super::MapSummary]) -> io::Result<()> {
    writeln!(
        out,
        "| id | name | type | key size | value size | max entries | key type | value type | entries |\n|---|---|---|---|---|---|---|---|---|"
    )?;
    for m in maps {
        let o = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
        let t = |v: Option<&str>| v.map(code_cell).unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            m.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
            code_cell(&m.name),
            m.map_type
                .as_deref()
                .map(text_cell)
                .unwrap_or_else(|| "-".into()),
            o(m.key_size),
            o(m.value_size),
            o(m.max_entries.map(u64::from)),
            t(m.key_type.as_deref()),
            t(m.value_type.as_deref()),
            o(m.entries),
        )?;
    }
    writeln!(out)
}

/// Evidence lines up to which the list is shown open.
const OPEN_EVIDENCE_LINES: usize = 8;

/// One finding under a heading of `level` (`###` for a cause's head,
/// `####` for a finding folded under it), numbered `label` (`2`, `2.1`).
fn write_finding<W: Write>(
    out: &mut W,
    report: &Report,
    level: &str,
    label: &str,
    i: usize,
) -> io::Result<()> {
    let f = &report.findings[i];
    writeln!(
        out,
        "{level} {label}. {} `{}` — {}\n",
        f.severity.as_str(),
        f.code.as_str(),
        text(&f.title)
    )?;
    if let Some(l) = report.links.get(i) {
        match &l.caused_by {
            Some(c) => writeln!(out, "Id: {}, folded under {}.\n", code(&l.id), code(c))?,
            None => writeln!(out, "Id: {}\n", code(&l.id))?,
        }
    }
    if f.root_cause {
        writeln!(out, "Root cause: fix this first.\n")?;
    }
    if let Some(m) = &f.map {
        writeln!(out, "Map: {}\n", map_name_inline(m))?;
    }
    for src in &f.sources {
        let at = super::source_location(src);
        writeln!(out, "- {}: {}", code(&at), text(&src.label))?;
    }
    for map in bytemap::for_finding(report, f) {
        write_byte_map(out, &map)?;
    }
    if let Some(fix) = &f.fix {
        // A suggested command is a block of its own, whole, to paste.
        let (prose, commands) = super::human::split_commands(fix);
        writeln!(out, "\n**Fix:** {}", text(&prose))?;
        if !commands.is_empty() {
            let body: Vec<String> = commands.iter().map(|c| terminal(c).into_owned()).collect();
            let body = body.join("\n");
            let run = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            let fence = "`".repeat(run.max(2) + 1);
            writeln!(out, "\n{fence}sh\n{body}\n{fence}")?;
        }
    }
    let mut ev = String::new();
    if f.evidence.is_object() {
        evidence_list(&mut ev, &f.evidence, 0, &["layouts"]);
    }
    if !ev.is_empty() {
        let lines = ev.lines().count();
        if lines > OPEN_EVIDENCE_LINES {
            writeln!(
                out,
                "\n<details><summary>Evidence ({lines} lines)</summary>\n\n{ev}\n</details>"
            )?;
        } else {
            writeln!(out, "\nEvidence:\n\n{ev}")?;
        }
    }
    writeln!(out)
}

/// The index: one numbered line per root cause (severity, code, maps,
/// title, findings folded), in the order of the sections below.
fn write_index<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    if report.causes.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "## Index\n\n{} of {}:\n",
        super::plural(report.causes.len() as u64, "root cause", "root causes"),
        super::plural(report.findings.len() as u64, "finding", "findings")
    )?;
    for (n, c) in report.causes.iter().enumerate() {
        let maps: Vec<String> = c.map_names().iter().map(|m| code(m)).collect();
        writeln!(
            out,
            "{}. **{}** `{}`{}{}: {}{}",
            n + 1,
            c.severity.as_str(),
            c.code.as_str(),
            if maps.is_empty() { "" } else { " — " },
            maps.join(", "),
            text(&c.title),
            if c.members.len() > 1 {
                format!(" ({} findings)", c.members.len())
            } else {
                String::new()
            }
        )?;
    }
    writeln!(out)
}

/// Writes the report as GitHub-flavoured Markdown.
pub fn write<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "# bpfcase report\n")?;
    super::header::write_markdown(out, report)?;
    // The version is in the header just above.
    writeln!(
        out,
        "**{}**\n",
        super::findings_summary(s.error, s.warning, s.info)
    )?;
    write_index(out, report)?;
    writeln!(out, "## Findings\n")?;
    if report.findings.is_empty() {
        writeln!(out, "No findings.")?;
    }
    // In the index's order, each cause's folded findings under it.
    for (n, c) in report.causes.iter().enumerate() {
        write_finding(out, report, "###", &(n + 1).to_string(), c.head())?;
        for (k, &i) in c.folded().iter().enumerate() {
            write_finding(out, report, "####", &format!("{}.{}", n + 1, k + 1), i)?;
        }
    }
    write_compared(out, report)?;
    let groups = super::owners::groups(report);
    if !groups.is_empty() {
        writeln!(out, "\n## Maps under their owners\n")?;
        for g in &groups {
            writeln!(out, "{}\n", owner_line(g))?;
            write_map_table(out, &g.maps)?;
        }
    } else if !report.maps.is_empty() {
        writeln!(out, "\n## Maps\n")?;
        let all: Vec<&super::MapSummary> = report.maps.iter().collect();
        write_map_table(out, &all)?;
    }
    super::config::write_markdown(out, &report.configuration)?;
    writeln!(
        out,
        "\n## Inputs\n\n| path | kind | status |\n|---|---|---|"
    )?;
    for i in &report.inputs {
        writeln!(
            out,
            "| {} | {} | {} |",
            code_cell(&i.path),
            text_cell(&i.kind),
            text_cell(&i.status)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::bytemap::{ByteMap, Field, FieldLayout, Lane, Mark};

    /// A BTF member name holding a fence and a line feed neither closes the
    /// byte map's code block nor starts a line of its own.
    #[test]
    fn byte_map_block_is_fenced_longer_than_a_fence_in_a_name() {
        let name = "a\n```\n# forged";
        let map = ByteMap {
            caption: format!("key type {name}"),
            size: 4,
            cut: 0,
            lanes: vec![Lane::Fields {
                title: "key".into(),
                layout: FieldLayout {
                    name: format!("struct {name}"),
                    size: 4,
                    fields: vec![Field {
                        name: name.into(),
                        type_name: "__u32".into(),
                        offset: 0,
                        size: 4,
                    }],
                },
            }],
            marks: vec![[(0, Mark::KeyPadding)].into()],
        };
        let mut out = Vec::new();
        super::write_byte_map(&mut out, &map).unwrap();
        let md = String::from_utf8(out).unwrap();
        assert!(md.contains("\n````text\n"), "{md}");
        assert!(md.ends_with("\n````\n"), "{md}");
        assert!(
            md.contains("\n0     [a\\x0a```\\x0a# forged __u32]\n"),
            "{md}"
        );
        assert_eq!(md.matches("````").count(), 2, "{md}");
        assert!(
            md.starts_with("\nkey type a\\\\x0a\\`\\`\\`\\\\x0a# forged:\n"),
            "{md}"
        );
    }
}
