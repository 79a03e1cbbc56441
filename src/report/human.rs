//! The terminal rendering: the header, the index of root causes
//! (`causes.rs`), then one section per cause: its head finding as a miette
//! diagnostic (with the source line where one exists: Go file:line, DWARF
//! decl_file:line, dump line), a few evidence lines (the raw trees with
//! `--verbose`), both layouts side by side for layout findings, and the
//! findings folded under it. bpfcase wraps the text itself, at spaces only
//! ([`wrap_after`]); miette only indents it.
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
    // Text is wrapped here ([`wrap_after`]: at spaces only, never inside a
    // path, a code span or a command); miette only indents it.
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_wrap_lines(false);
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
    if report.findings.is_empty() {
        writeln!(out, "\nno findings")?;
    } else {
        writeln!(out)?;
        write_index(out, report, style)?;
    }
    for (n, cause) in report.causes.iter().enumerate() {
        writeln!(out)?;
        write_cause(out, &handler, report, n + 1, cause, style)?;
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

/// `text` after `lead` (which may hold colour codes), wrapped to `width`
/// columns at spaces only; continuation lines are indented by `indent`
/// spaces. A word is never cut: not at a hyphen, not in a path, an
/// identifier or a hex run, and a backtick code span (a command, a type
/// name with spaces) is one word. A word longer than the line overflows it.
pub(crate) fn wrap_after(lead: &str, indent: usize, text: &str, width: usize) -> Vec<String> {
    let visible = |s: &str| strip_ansi(s).chars().count();
    let mut lines = Vec::new();
    let mut line = lead.to_string();
    let mut len = visible(lead);
    let mut at_start = true;
    for word in words(text) {
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

/// The words of `text`: split at spaces, except inside a backtick code
/// span (a run of n backticks up to the next run of exactly n), which stays
/// with the word around it. Empty words (double spaces) are dropped.
fn words(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' => {
                if start < i {
                    out.push(&text[start..i]);
                }
                i += 1;
                start = i;
            }
            b'`' => {
                let n = b[i..].iter().take_while(|&&c| c == b'`').count();
                let mut j = i + n;
                let mut close = None;
                while j < b.len() {
                    if b[j] == b'`' {
                        let m = b[j..].iter().take_while(|&&c| c == b'`').count();
                        if m == n {
                            close = Some(j + m);
                            break;
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                }
                // An unmatched run is an ordinary character.
                i = close.unwrap_or(i + n);
            }
            _ => i += 1,
        }
    }
    if start < b.len() {
        out.push(&text[start..]);
    }
    out
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

/// A finding as a miette diagnostic (no code line: the caller heads it),
/// its other sources (`↳`), its byte map, its evidence (the raw trees with
/// `--verbose`, else [`short_evidence`]) and its layouts.
fn render_finding(
    handler: &GraphicalReportHandler,
    report: &Report,
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
    // Wrapped here, at spaces only: miette indents (`  × `, `  │ `).
    let head = wrap_after(
        "",
        0,
        &format!("{title}{map}"),
        style.width.saturating_sub(4),
    )
    .join("\n");
    let mut diag = MietteDiagnostic::new(head).with_severity(match f.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Info => miette::Severity::Advice,
    });
    if let Some(fix) = &f.fix {
        diag = diag.with_help(help_text(&terminal(fix), style.width));
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
    // The byte map, indented under the finding; when it is drawn, it shows
    // the keys or entry the short evidence would repeat.
    let byte_map = super::bytemap::text_lines(report, f, style.width.saturating_sub(2));
    let drawn = !byte_map.is_empty();
    for line in byte_map {
        let _ = writeln!(text, "  {line}");
    }
    let (label, shown) = match f.evidence.as_object() {
        Some(obj) if style.verbose => (
            "evidence:",
            obj.iter()
                .filter(|(k, _)| k.as_str() != "layouts")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => ("", short_evidence(f, drawn)),
    };
    if !shown.is_empty() {
        let indent = if label.is_empty() {
            2
        } else {
            let _ = writeln!(text, "  {}", paint(style.color, BOLD, label));
            4
        };
        for line in super::evidence_lines(&shown, indent, style.width) {
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

/// The severity's mark, as miette draws it.
fn severity_mark(s: Severity) -> &'static str {
    match s {
        Severity::Error => "×",
        Severity::Warning => "⚠",
        Severity::Info => "☞",
    }
}

/// `(7 findings)` after a cause that folds others, else nothing.
fn folded_count(cause: &super::causes::Cause) -> String {
    if cause.members.len() > 1 {
        format!(
            " ({})",
            plural(cause.members.len() as u64, "finding", "findings")
        )
    } else {
        String::new()
    }
}

/// The index: one line per root cause (number, severity, code, maps,
/// title, how many findings it folds), in the order of the sections below.
fn write_index<W: Write>(out: &mut W, report: &Report, style: TextStyle) -> io::Result<()> {
    let head = format!(
        "{} {} of {}",
        paint(style.color, BOLD, "index:"),
        plural(report.causes.len() as u64, "root cause", "root causes"),
        plural(report.findings.len() as u64, "finding", "findings"),
    );
    writeln!(out, "{head}")?;
    let digits = report.causes.len().to_string().len();
    for (n, c) in report.causes.iter().enumerate() {
        let sev = c.severity.as_str();
        let lead = format!("  {:>digits$}. {sev:<7}  ", n + 1);
        let maps: Vec<String> = c
            .map_names()
            .iter()
            .map(|m| terminal(m).into_owned())
            .collect();
        let text = format!(
            "{}{}{}: {}{}",
            c.code.as_str(),
            if maps.is_empty() { "" } else { "  " },
            maps.join(", "),
            terminal(&c.title),
            folded_count(c)
        );
        for line in wrap_after(&lead, 6 + digits, &text, style.width) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// One cause: a heading line (number, code, maps, findings folded), its
/// head finding in full, then the findings folded under it: in full with
/// `--verbose`, else one line per distinct title (its maps listed), with
/// their sources and the commands their fixes suggest.
fn write_cause<W: Write>(
    out: &mut W,
    handler: &GraphicalReportHandler,
    report: &Report,
    n: usize,
    cause: &super::causes::Cause,
    style: TextStyle,
) -> io::Result<()> {
    let w = style.width;
    let maps: Vec<String> = cause.maps.iter().map(map_name).collect();
    let heading = format!(
        "{n}. {}{}{}",
        cause.code.as_str(),
        if maps.is_empty() { "" } else { " · " },
        maps.join(", ")
    );
    let heading = format!("{heading}{}", folded_count(cause));
    for line in wrap_after("", 3, &heading, w) {
        writeln!(out, "{}", paint(style.color, BOLD, &line))?;
    }
    // A reload's title (what the parts say together) is the index's.
    let head = &report.findings[cause.head()];
    let show = |i: usize| !super::repeats_previous_layouts(&report.findings, i);
    out.write_all(render_finding(handler, report, head, show(cause.head()), style).as_bytes())?;
    if cause.folded().is_empty() {
        return Ok(());
    }
    let mut commands: Vec<String> = head
        .fix
        .as_deref()
        .map(|f| split_commands(f).1)
        .unwrap_or_default();
    writeln!(
        out,
        "  {}",
        paint(
            style.color,
            BOLD,
            &format!("folded here ({}):", cause.folded().len())
        )
    )?;
    if style.verbose {
        for (k, &i) in cause.folded().iter().enumerate() {
            let f = &report.findings[i];
            let heading = format!("{n}.{}. {}", k + 1, f.code.as_str());
            writeln!(out, "\n  {}", paint(style.color, BOLD, &heading))?;
            out.write_all(render_finding(handler, report, f, show(i), style).as_bytes())?;
        }
        return Ok(());
    }
    // Parts with one code, severity and title are one line listing their maps.
    let mut lines: Vec<(&Finding, Vec<&Finding>)> = Vec::new();
    for &i in cause.folded() {
        let f = &report.findings[i];
        match lines
            .iter_mut()
            .find(|(g, _)| g.code == f.code && g.severity == f.severity && g.title == f.title)
        {
            Some((_, all)) => all.push(f),
            None => lines.push((f, vec![f])),
        }
    }
    for (f, all) in lines {
        let maps: Vec<String> = all
            .iter()
            .filter_map(|g| g.map.as_ref())
            .map(map_name)
            .collect();
        // Where the title names the map (`map id 34521 (`conns`)`), the
        // `[map …]` would say it twice.
        let named = all.len() == 1
            && f.map.as_ref().is_some_and(|m| {
                m.id.is_some_and(|id| f.title.contains(&id.to_string()))
                    && f.title.contains(&format!("`{}`", m.name))
            });
        let on = if maps.is_empty() || named {
            String::new()
        } else {
            format!(" [map {}]", maps.join(", "))
        };
        let lead = format!("    {} ", severity_mark(f.severity));
        let text = format!("{}: {}{on}", f.code.as_str(), terminal(&f.title));
        for line in wrap_after(&lead, 6, &text, w) {
            writeln!(out, "{line}")?;
        }
        for g in &all {
            for src in &g.sources {
                let at = terminal(&super::source_location(src)).into_owned();
                let text = format!("{at}: {}", terminal(&src.label));
                for line in wrap_after("      ↳ ", 8, &text, w) {
                    writeln!(out, "{line}")?;
                }
            }
            for c in g
                .fix
                .as_deref()
                .map(|f| split_commands(f).1)
                .unwrap_or_default()
            {
                if !commands.contains(&c) {
                    writeln!(out, "      $ {}", terminal(&c))?;
                    commands.push(c);
                }
            }
        }
    }
    Ok(())
}

/// A fix as miette's help: the prose wrapped at spaces to `width` (less
/// the `  help: ` indent), each suggested command on its own line after it,
/// whole, prefixed `$ `.
fn help_text(fix: &str, width: usize) -> String {
    let (prose, commands) = split_commands(fix);
    let mut lines = wrap_after("", 0, &prose, width.saturating_sub(8));
    lines.extend(commands.iter().map(|c| format!("$ {c}")));
    lines.join("\n")
}

/// The commands a text suggests in parentheses, `(bpftool map pin id 5
/// /sys/fs/bpf/x)`, taken out (the sentence says `(command below)`) to be
/// shown on lines of their own. Commands in backticks stay in the sentence:
/// [`wrap_after`] never breaks inside a code span.
pub(crate) fn split_commands(text: &str) -> (String, Vec<String>) {
    const TOOLS: &[&str] = &["(bpftool ", "(bpfcase "];
    let mut prose = String::new();
    let mut commands = Vec::new();
    let mut rest = text;
    while let Some(at) = TOOLS.iter().filter_map(|t| rest.find(t)).min() {
        let Some(len) = rest[at..].find(')') else {
            break;
        };
        // A template (`bpftool map pin id ID PATH`) is no command to paste:
        // it stays in the sentence.
        let cmd = &rest[at + 1..at + len];
        if cmd
            .split(' ')
            .any(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase()))
        {
            prose.push_str(&rest[..at + len + 1]);
            rest = &rest[at + len + 1..];
            continue;
        }
        prose.push_str(&rest[..at]);
        prose.push_str("(command below)");
        commands.push(rest[at + 1..at + len].to_string());
        rest = &rest[at + len + 1..];
    }
    prose.push_str(rest);
    (prose, commands)
}

/// The few evidence lines a person reads by default: the first example's
/// key beside the present (or nearest) key, `^^` under the bytes that
/// differ; a dumped entry's bytes with its garbage marked; who deleted a
/// key. The raw evidence trees are `--verbose`.
fn short_evidence(f: &Finding, byte_map: bool) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    let ev = &f.evidence;
    let Some(ex) = ev
        .get("examples")
        .and_then(|e| e.get(0))
        .filter(|e| e.is_object())
    else {
        return out;
    };
    let at_line = |e: &Value| e.get("line").and_then(|l| l.as_u64());
    if let Some(key) = ex.get("key").filter(|k| k.is_string() && !byte_map) {
        let label = match at_line(ex) {
            Some(l) => format!("key (line {l})"),
            None => "key".to_string(),
        };
        out.insert(label, key.clone());
        for other in ["present_key", "nearest_present_key"] {
            if let Some(k) = ex.get(other).filter(|k| k.is_string()) {
                out.insert(other.replace('_', " "), k.clone());
            }
        }
    }
    if let (Some(hex), Some(offs), false) = (ex.get("hex"), ex.get("garbage_offsets"), byte_map) {
        let label = match ex.get("index").and_then(|i| i.as_u64()) {
            Some(i) => format!("entry {i}"),
            None => "entry".to_string(),
        };
        out.insert(label, hex.clone());
        out.insert("garbage_offsets".to_string(), offs.clone());
    }
    if let Some(d) = ex.get("deleted_by").filter(|d| d.is_object()) {
        let s = |k: &str| d.get(k).map(super::evidence_scalar).unwrap_or_default();
        out.insert(
            "deleted by".to_string(),
            Value::String(format!(
                "{} by {} (pid {}) at line {}",
                s("cmd"),
                s("comm"),
                s("pid"),
                s("line")
            )),
        );
    }
    out
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
            verbose: true,
        };
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_width(100)
                .with_wrap_lines(false);
        let report = super::Report::new(Vec::new(), Vec::new(), vec![f.clone()]);
        let text = super::render_finding(&handler, &report, &f, true, style);
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

    /// Wrapping breaks at spaces only: a path, an identifier with hyphens
    /// or a hex run longer than the line overflows it whole.
    #[test]
    fn wrap_never_splits_a_path_a_hyphenated_word_or_a_hex_run() {
        let path = "/sys/fs/bpf/bpfcase-case-reload/v1_maps/flows_lru";
        let text = format!("re-pin the live map at {path} with 0a00000101bb06a5 then re-open it");
        for width in 8..60 {
            let lines = super::wrap_after("", 2, &text, width);
            let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
            assert_eq!(
                words,
                text.split(' ').collect::<Vec<_>>(),
                "width {width}: {lines:?}"
            );
            for l in &lines {
                let t = l.trim();
                assert!(
                    l.chars().count() <= width || !t.contains(' '),
                    "width {width}: {l:?} is too long and holds a space"
                );
            }
        }
        // "re-" never ends a line.
        let lines = super::wrap_after("", 0, "Readers see the old map: re-pin the live map", 27);
        assert_eq!(lines, ["Readers see the old map:", "re-pin the live map"]);
    }

    /// A backtick code span is one word even with spaces in it.
    #[test]
    fn wrap_keeps_a_code_span_whole() {
        let text = "Dump it again with `bpftool -j map dump` (hex bytes) and compare";
        for width in 10..70 {
            let lines = super::wrap_after("  ", 4, text, width);
            assert!(
                lines.iter().any(|l| l.contains("`bpftool -j map dump`")),
                "width {width}: {lines:?}"
            );
        }
        assert_eq!(
            super::words("a `b c` d ``e ` f`` `g"),
            ["a", "`b c`", "d", "``e ` f``", "`g"]
        );
    }

    /// A suggested command leaves the sentence and is its own line, whole,
    /// however narrow the help.
    #[test]
    fn commands_go_on_their_own_line_unwrapped() {
        let fix = "Readers that open /sys/fs/bpf/x/v1_maps/flows_lru see the old map: re-pin \
                   the live map (bpftool map pin id 16277 /sys/fs/bpf/x/v1_maps/flows_lru) or \
                   have the loader reuse the pin.";
        let (prose, cmds) = super::split_commands(fix);
        assert_eq!(
            cmds,
            ["bpftool map pin id 16277 /sys/fs/bpf/x/v1_maps/flows_lru"]
        );
        assert!(
            prose.contains("re-pin the live map (command below) or have"),
            "{prose}"
        );
        for width in [20, 40, 80] {
            let help = super::help_text(fix, width);
            let last = help.lines().last().unwrap();
            assert_eq!(
                last,
                "$ bpftool map pin id 16277 /sys/fs/bpf/x/v1_maps/flows_lru"
            );
            assert_eq!(help.matches("bpftool").count(), 1, "{help}");
        }
    }

    #[test]
    fn line_span_skips_indentation() {
        let t = "a\n\tfoo bar\nz";
        assert_eq!(line_span(t, 2), Some((3, 7)));
        assert_eq!(line_span(t, 9), None);
    }
}
