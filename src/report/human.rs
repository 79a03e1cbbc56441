//! The terminal rendering: one miette diagnostic per finding (with the source
//! line where one exists: Go file:line, DWARF decl_file:line, dump line), its
//! evidence, and both layouts side by side for layout findings.
//!
//! Every string from an input (names, paths, host, titles, evidence, the
//! source snippet) goes through [`escape::terminal`] (or
//! [`escape::terminal_lines`] for a snippet) before it is laid out or
//! handed to miette: no control character of the input reaches the
//! terminal.

use std::fmt::Write as _;
use std::io::{self, Write};

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};

use super::escape::{self, terminal};
use super::{evidence_layouts, Report};
use super::{findings_summary, plural, TextStyle};
use crate::model::finding::{Finding, Severity};

/// Writes the human report, laid out for `style.width` columns (text
/// wraps at word boundaries) with ANSI colours when `style.color`.
pub fn write<W: Write>(out: &mut W, report: &Report, style: TextStyle) -> io::Result<()> {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(style.width);
    let w = style.width;
    let bold = |t: &str| paint(style.color, BOLD, t);
    // The header: version, inputs, and where and when each bundle was taken.
    let mut rows = super::header::text_lines(report);
    let s = &report.summary;
    rows.push((
        "summary".to_string(),
        findings_summary(s.error, s.warning, s.info),
    ));
    let label_width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (label, value) in &rows {
        let pad = " ".repeat(label_width - label.len());
        let lead = format!("{}{pad}  ", bold(label));
        let indent = label_width + 2;
        for line in wrap_after(&lead, indent, &terminal(value), w) {
            writeln!(out, "{line}")?;
        }
    }
    for (i, f) in report.findings.iter().enumerate() {
        writeln!(out)?;
        let show_layouts = !super::repeats_previous_layouts(&report.findings, i);
        out.write_all(render_finding(&handler, f, show_layouts, style).as_bytes())?;
    }
    if report.findings.is_empty() {
        writeln!(out, "\nno findings")?;
    }
    // What was checked comes after what was found (as in Markdown and
    // HTML): the findings, root cause first, are what a reader wants first.
    writeln!(out)?;
    write_compared(out, report, style)?;
    let groups = super::owners::groups(report);
    if !groups.is_empty() && !style.verbose {
        write_owners(out, report, &groups, style)?;
    } else if !report.maps.is_empty() {
        writeln!(out, "{}", bold("maps:"))?;
        for m in &report.maps {
            write_wrapped(out, 2, 4, &map_line(m), w)?;
        }
    }
    super::config::write_text(out, &report.configuration, w)?;
    Ok(())
}

/// A map on one line: id, name, type, sizes, types, entries dumped, and
/// (where a bundle says) its programs, holders and pins.
fn map_line(m: &super::MapSummary) -> String {
    let mut text = format!(
        "{}{} {} key {} value {} max_entries {}{}{}",
        m.id.map(|i| format!("{i}: ")).unwrap_or_default(),
        terminal(&m.name),
        terminal(m.map_type.as_deref().unwrap_or("?")),
        opt(m.key_size, "B"),
        opt(m.value_size, "B"),
        m.max_entries
            .map(|n| n.to_string())
            .unwrap_or_else(|| "?".into()),
        match (&m.key_type, &m.value_type) {
            (None, None) => String::new(),
            (k, v) => format!(
                " ({} → {})",
                terminal(k.as_deref().unwrap_or("?")),
                terminal(v.as_deref().unwrap_or("?"))
            ),
        },
        m.entries
            .map(|n| format!(", {} dumped", plural(n, "entry", "entries")))
            .unwrap_or_default(),
    );
    if !m.programs.is_empty() {
        let progs: Vec<String> = m
            .programs
            .iter()
            .map(|p| {
                format!(
                    "{} {} ({}, tag {})",
                    p.id,
                    terminal(&p.name),
                    terminal(&p.prog_type),
                    terminal(&p.tag)
                )
            })
            .collect();
        text.push_str(&format!("; used by {}", progs.join(", ")));
    }
    if !m.holders.is_empty() {
        let held: Vec<String> = m
            .holders
            .iter()
            .map(|h| format!("{} (pid {}) fd {}", terminal(&h.comm), h.pid, h.fd))
            .collect();
        text.push_str(&format!("; held by {}", held.join(", ")));
    }
    if !m.pins.is_empty() {
        let pins: Vec<String> = m.pins.iter().map(|p| terminal(p).into_owned()).collect();
        text.push_str(&format!("; pinned at {}", pins.join(", ")));
    }
    text
}

/// Maps under their owners, a group in two wrapped lines: the process (or
/// "no process") with its programs, then its maps, each `id name` with how
/// full its dump showed it and a mark where a finding concerns it.
fn write_owners<W: Write>(
    out: &mut W,
    report: &Report,
    groups: &[super::owners::OwnerGroup],
    style: TextStyle,
) -> io::Result<()> {
    use super::owners::{fill, program_types, Owner};
    let w = style.width;
    let with_findings = super::owners::maps_with_findings(report);
    let maps_total = report.maps.len();
    let lead = format!("{} ", paint(style.color, BOLD, "maps under their owners:"));
    let text = format!(
        "{}, {} (--verbose: a line per map)",
        plural(report.programs.len() as u64, "program", "programs"),
        plural(maps_total as u64, "map", "maps"),
    );
    for line in wrap_after(&lead, 2, &text, w) {
        writeln!(out, "{line}")?;
    }
    for g in groups {
        let head = match g.owner {
            Owner::Process { pid, comm } => format!("{} (pid {pid})", terminal(comm)),
            Owner::NoProcess => "held by no process (links or pins keep them)".to_string(),
            Owner::Unused => "used by no program, held by no process".to_string(),
        };
        let progs = if g.programs.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = g
                .programs
                .iter()
                .map(|p| format!("{} {}", p.id, terminal(&p.name)))
                .collect();
            let types: Vec<String> = program_types(&g.programs)
                .iter()
                .map(|t| terminal(t).into_owned())
                .collect();
            format!(
                ": {} {} ({})",
                if g.programs.len() == 1 {
                    "program"
                } else {
                    "programs"
                },
                list.join(", "),
                types.join(", ")
            )
        };
        write_wrapped(out, 2, 6, &format!("{head}{progs}"), w)?;
        if g.maps.is_empty() {
            continue;
        }
        let maps: Vec<String> = g
            .maps
            .iter()
            .map(|m| {
                let mut item = format!(
                    "{}{}",
                    m.id.map(|i| format!("{i} ")).unwrap_or_default(),
                    terminal(&m.name)
                );
                if let Some(f) = fill(m) {
                    item.push(' ');
                    item.push_str(&f);
                }
                if m.id.is_some_and(|id| with_findings.contains(&id)) {
                    item.push_str(" (finding above)");
                }
                item
            })
            .collect();
        write_wrapped(out, 4, 6, &format!("maps {}", maps.join(", ")), w)?;
    }
    Ok(())
}

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";

/// `text` in `code` when colouring.
fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("{code}{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Writes `text` wrapped to `width`: the first line indented by `first`,
/// the rest by `rest` spaces.
fn write_wrapped<W: Write>(
    out: &mut W,
    first: usize,
    rest: usize,
    text: &str,
    width: usize,
) -> io::Result<()> {
    for line in wrap_after(&" ".repeat(first), rest, text, width) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `text` after `lead` (which may hold colour codes), wrapped at word
/// boundaries to `width` columns; continuation lines are indented by
/// `indent` spaces. A word longer than a line stays whole (a path, a hex
/// run): never cut mid-word.
pub(crate) fn wrap_after(lead: &str, indent: usize, text: &str, width: usize) -> Vec<String> {
    let visible = |s: &str| strip_ansi(s).chars().count();
    let mut lines = Vec::new();
    let mut line = lead.to_string();
    let mut len = visible(lead);
    let mut at_start = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let wl = word.chars().count();
        if !at_start && len + 1 + wl > width {
            lines.push(std::mem::replace(&mut line, " ".repeat(indent)));
            len = indent;
            at_start = true;
        }
        if !at_start {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += wl;
        at_start = false;
    }
    lines.push(line.trim_end().to_string());
    lines
}

/// `s` without ANSI escape sequences (for measuring).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What was compared: user types against BTF types, dumps, trace calls.
fn write_compared<W: Write>(out: &mut W, report: &Report, style: TextStyle) -> io::Result<()> {
    let w = style.width;
    let label = paint(style.color, BOLD, "compared:");
    if report.checks.is_empty() && report.dumps.is_empty() && report.traces.is_empty() {
        for line in wrap_after(
            &format!("{label} "),
            2,
            "nothing (no user-space type, dump or trace was compared)",
            w,
        ) {
            writeln!(out, "{line}")?;
        }
        return Ok(());
    }
    writeln!(out, "{label}")?;
    for c in &report.checks {
        let what = match &c.map {
            Some(m) => format!("map {} {}", terminal(m), terminal(&c.role)),
            None => "--pair".to_string(),
        };
        let text = format!(
            "{what}: {} against BTF {}: {}",
            terminal(&c.user_type),
            terminal(&c.btf_type),
            terminal(&c.verdict)
        );
        write_wrapped(out, 2, 6, &text, w)?;
        let user = match &c.user_location {
            Some(at) => format!("{} ({})", terminal(at), terminal(&c.user_origin)),
            None => terminal(&c.user_origin).into_owned(),
        };
        let btf = terminal(&c.btf_origin);
        // Labels are part of the lead so their alignment spaces survive wrapping.
        for (lead, text) in [("    user: ", &*user), ("    BTF:  ", &*btf)] {
            for line in wrap_after(lead, 10, text, w) {
                writeln!(out, "{line}")?;
            }
        }
        for n in &c.notes {
            write_wrapped(out, 4, 14, &format!("accepted: {}", terminal(n)), w)?;
        }
    }
    // With the owners view, a checked dump is shown with its map (entries
    // against max_entries); the list of dump files is --verbose.
    let folded = !style.verbose && !report.programs.is_empty();
    let checked = report
        .dumps
        .iter()
        .filter(|d| d.status == "checked")
        .count();
    if folded && checked > 0 {
        let text = format!(
            "{} checked, each with its map below",
            plural(checked as u64, "dump", "dumps")
        );
        write_wrapped(out, 2, 6, &text, w)?;
    }
    for d in &report.dumps {
        if folded && d.status == "checked" {
            continue;
        }
        let map = d.map.as_ref().map(map_name).unwrap_or_default();
        let what = match d.status.as_str() {
            "checked" => format!("checked as map {map}"),
            "excluded" => format!("map {map} is outside --map, not checked"),
            _ => "belongs to no map: layout-free checks only".to_string(),
        };
        let text = format!(
            "dump {}: {}, {what}",
            terminal(&d.file),
            plural(d.entries, "entry", "entries")
        );
        write_wrapped(out, 2, 6, &text, w)?;
    }
    for t in &report.traces {
        let maps: Vec<String> = t.maps.iter().map(map_name).collect();
        let text = format!(
            "trace {}: {}, {} replayed against {}",
            terminal(&t.file),
            plural(t.calls, "call", "calls"),
            t.replayed,
            if maps.is_empty() {
                "no map".to_string()
            } else {
                format!("map {}", maps.join(", "))
            }
        );
        write_wrapped(out, 2, 6, &text, w)?;
    }
    Ok(())
}

/// `flows`, or `flows (id 52)` for a live map (escaped for the terminal).
fn map_name(m: &crate::model::finding::MapRef) -> String {
    match m.id {
        Some(id) => format!("{} (id {id})", terminal(&m.name)),
        None => terminal(&m.name).into_owned(),
    }
}

fn opt(v: Option<u64>, unit: &str) -> String {
    v.map(|n| format!("{n}{unit}"))
        .unwrap_or_else(|| "?".into())
}

fn render_finding(
    handler: &GraphicalReportHandler,
    f: &Finding,
    show_layouts: bool,
    style: TextStyle,
) -> String {
    let map = f
        .map
        .as_ref()
        .map(|m| format!(" [map {}]", map_name(m)))
        .unwrap_or_default();
    let title = terminal(&f.title);
    let mut diag = MietteDiagnostic::new(format!("{title}{map}"))
        .with_code(f.code.as_str())
        .with_severity(match f.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        });
    if let Some(fix) = &f.fix {
        diag = diag.with_help(terminal(fix).into_owned());
    }
    let mut text = String::new();
    // The first source with text becomes the miette snippet; others are listed.
    let mut snippet_used = false;
    let mut extra_sources = Vec::new();
    for src in &f.sources {
        match (&src.text, src.line, snippet_used) {
            (Some(body), Some(line), false) => {
                // The snippet keeps its lines and tabs; CRLF line ends are
                // read as LF, any other control character is escaped.
                let body = escape::terminal_lines(&body.replace("\r\n", "\n")).into_owned();
                if let Some((start, len)) = line_span(&body, line) {
                    let label = terminal(&src.label).into_owned();
                    diag = diag.with_label(LabeledSpan::at(start..start + len, label));
                    let report = miette::Report::new(diag.clone())
                        .with_source_code(NamedSource::new(terminal(&src.file), body));
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
        let at = terminal(&super::source_location(src)).into_owned();
        let label = terminal(&src.label);
        for line in wrap_after("  ↳ ", 4, &format!("{at}: {label}"), style.width) {
            let _ = writeln!(text, "{line}");
        }
    }
    if let Some(obj) = f.evidence.as_object() {
        let _ = writeln!(text, "  {}", paint(style.color, BOLD, "evidence:"));
        let shown: serde_json::Map<String, serde_json::Value> = obj
            .iter()
            .filter(|(k, _)| k.as_str() != "layouts")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for line in super::evidence_lines(&shown, 4, style.width) {
            let line = if style.color && line.trim_start().starts_with('^') {
                paint(true, RED, &line)
            } else {
                line
            };
            let _ = writeln!(text, "{line}");
        }
    }
    if let Some((ln, l, rn, r)) = evidence_layouts(f).filter(|_| show_layouts) {
        let _ = writeln!(
            text,
            "  {} ({} | {}):",
            paint(style.color, BOLD, "layouts"),
            terminal(&ln),
            terminal(&rn)
        );
        let rows = l.fields.len().max(r.fields.len());
        // Each side gets half the width; names longer than that are cut
        // with an ellipsis rather than wrapping a table row.
        let side = ((style.width.saturating_sub(8)) / 2).clamp(24, 48);
        let cell = |x: Option<&super::EvidenceField>| {
            x.map(|x| {
                let name = terminal(&x.name);
                fit(&format!("{:>4} {:>3}  {name}", x.offset, x.size), side)
            })
            .unwrap_or_default()
        };
        let left = fit(&format!("{} ({} B)", terminal(&l.name), l.size), side);
        let right = fit(&format!("{} ({} B)", terminal(&r.name), r.size), side);
        let _ = writeln!(text, "    {left:<side$} | {right}");
        for i in 0..rows {
            let a = cell(l.fields.get(i));
            let b = cell(r.fields.get(i));
            let mark = match (l.fields.get(i), r.fields.get(i)) {
                (Some(x), Some(y)) if x.offset != y.offset || x.size != y.size => " ◀",
                (Some(_), None) | (None, Some(_)) => " ◀",
                _ => "",
            };
            let _ = writeln!(
                text,
                "    {a:<side$} | {b}{}",
                paint(style.color && !mark.is_empty(), RED, mark)
            );
        }
    }
    text
}

/// `s` cut to `n` characters, with `…` when cut.
fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
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
    use crate::model::finding::{Code, Finding, MapRef, Severity, SourceRef};

    /// Title, map, fix, source file name, label, snippet and evidence of a
    /// finding all carry ESC/BEL/CR/LF; none reaches the terminal, and the
    /// snippet keeps its lines and tabs.
    #[test]
    fn no_control_character_of_a_finding_reaches_the_terminal() {
        let bad = "x\r\n\x1b]52;c;aGk=\x07\x1b[2J\u{9b}";
        let f = Finding::new(Code::LayoutSizeMismatch, Severity::Error, format!("t{bad}"))
            .with_map(Some(MapRef {
                id: Some(1),
                name: format!("m{bad}"),
            }))
            .with_fix(format!("f{bad}"))
            .with_evidence(serde_json::json!({ format!("k{bad}"): format!("v{bad}") }))
            .with_source(SourceRef {
                file: format!("s{bad}.go"),
                line: Some(2),
                offset: None,
                label: format!("l{bad}"),
                text: Some(format!("package p\r\n\ttype T{bad} struct{{}}\r\n").into()),
            });
        let style = super::TextStyle {
            width: 100,
            color: false,
            verbose: false,
        };
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_width(100);
        let text = super::render_finding(&handler, &f, true, style);
        for c in text.chars() {
            assert!(!c.is_control() || c == '\n', "{c:?} in:\n{text}");
        }
        // The snippet is the file's own lines: its CRLF is a line end, the
        // rest escaped.
        assert!(text.contains("type Tx\n"), "{text}");
        assert!(
            text.contains("\\x1b]52;c;aGk=\\x07\\x1b[2J\\x9b struct{}"),
            "{text}"
        );
        for what in ["t", "m", "f", "k", "v", "l", "s"] {
            assert!(
                text.contains(&format!("{what}x\\x0d\\x0a\\x1b]52;c;aGk=\\x07")),
                "{what} not shown escaped:\n{text}"
            );
        }
    }

    #[test]
    fn line_span_skips_indentation() {
        let t = "a\n\tfoo bar\nz";
        assert_eq!(line_span(t, 2), Some((3, 7)));
        assert_eq!(line_span(t, 9), None);
    }
}
