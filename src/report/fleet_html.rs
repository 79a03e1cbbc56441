//! The fleet report as one self-contained HTML page (no external assets, no
//! script), laid out as analyze's (`html.rs`): a viewport for phones,
//! tables whose rows become stacked cards below 700 px, long values that
//! wrap. Totals, then findings (nodes per code), map layouts (a row is
//! tinted only where its layout differs from the majority's; stale
//! instances apart), nodes folded into groups of identical nodes (each
//! group's node list in a `<details>`), maps some nodes lack, and the
//! per-bundle table last, folded.
//!
//! Every string from a bundle or a file name goes through
//! [`super::escape::html`]; titles with backtick spans through
//! [`super::escape::html_prose`] (`<code>`).

use std::io::{self, Write};

use super::escape::{html as esc, html_prose};
use super::fleet::{
    difference, finding_groups, fold, group_codes, group_layouts, group_title, kind, nodes,
    partial_rows, FleetReport, TypeShape, FOLD_SHOWN,
};
use super::{findings_summary, plural};

/// The minimal part of analyze's page style (`html.rs`), copied: body,
/// cards, code, tables that wrap and, at phone width, stack.
const STYLE: &str = "*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;padding:12px;max-width:1200px;color:#1c1e21;background:#f3f4f6}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin:.2em 0 .4em}h3{font-size:1.05em;margin:.3em 0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace;font-size:.92em;background:#eef0f3;padding:0 .2em;border-radius:3px}
.card{background:#fff;border:1px solid #d5d9df;border-radius:6px;padding:10px 14px;margin:12px 0;overflow-wrap:break-word;min-width:0;overflow-x:auto}
.sev{font-weight:700;text-transform:uppercase;letter-spacing:.03em}.sev.error{color:#a93226}.sev.warning{color:#a04000}.sev.info{color:#1f618d}
table{border-collapse:collapse;margin:.4em 0;max-width:100%}table.wide{width:100%}
th,td{border:1px solid #d5d9df;padding:3px 7px;text-align:left;vertical-align:top;overflow-wrap:break-word}
td.nw{white-space:nowrap}
th{background:#f3f4f6;font-weight:600}
tr.differs>td{background:#fff4e0}tr.stale>td{color:#4a4f57;font-style:italic}
details>summary{cursor:pointer;margin:.2em 0}
.group{border-top:1px solid #e4e7eb;padding:.4em 0}.group:first-of-type{border-top:0}
@media (max-width:700px){body{padding:6px;font-size:14px}.card{padding:8px 9px;overflow-wrap:anywhere}td.nw{white-space:normal}
table.wide,table.wide>tbody,table.wide>tbody>tr,table.wide>tbody>tr>td{display:block;width:100%}
table.wide{border:0}table.wide>tbody>tr:first-child{display:none}
table.wide>tbody>tr{border:1px solid #d5d9df;border-radius:4px;margin:.4em 0}
table.wide>tbody>tr>td{border:0;border-top:1px dotted #d5d9df}
table.wide>tbody>tr>td::before{content:attr(data-label) ': ';font-weight:600;font-style:normal}}";

/// Columns whose cells stay on one line on wide screens.
const NOWRAP: &[&str] = &["severity", "code", "map"];

/// A table whose rows become stacked cards at phone width (each cell
/// labelled with its column's name), as analyze's `wide_table`; each row
/// may have a class. Cells are HTML.
fn wide_table<W: Write>(
    out: &mut W,
    headers: &[&str],
    rows: &[(Option<&str>, Vec<String>)],
) -> io::Result<()> {
    write!(out, "<table class=\"wide\"><tr>")?;
    for h in headers {
        write!(out, "<th>{}</th>", esc(h))?;
    }
    writeln!(out, "</tr>")?;
    for (class, row) in rows {
        match class {
            Some(c) => write!(out, "<tr class=\"{c}\">")?,
            None => write!(out, "<tr>")?,
        }
        for (h, c) in headers.iter().zip(row) {
            // Short names that read badly broken: kept on one line on wide
            // screens (they wrap at phone width).
            let nw = if NOWRAP.contains(h) {
                " class=\"nw\""
            } else {
                ""
            };
            write!(out, "<td data-label=\"{}\"{nw}>{c}</td>", esc(h))?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</table>")
}

fn code(s: &str) -> String {
    format!("<code>{}</code>", esc(s))
}

/// A node list: inline when short, else its first names with the whole list
/// one click away.
fn node_list(names: &[String]) -> String {
    if names.len() <= FOLD_SHOWN + 1 {
        return esc(&names.join(", "));
    }
    format!(
        "<details><summary>{}</summary>{}</details>",
        esc(&fold(names, FOLD_SHOWN)),
        esc(&names.join(", "))
    )
}

fn shape(s: Option<&TypeShape>) -> String {
    match s {
        Some(s) => format!(
            "{}<br><code>{}</code>",
            esc(&s.summary),
            esc(&s.fingerprint)
        ),
        None => "—".into(),
    }
}

/// Writes the HTML fleet report.
pub fn write<W: Write>(out: &mut W, report: &FleetReport) -> io::Result<()> {
    let names = report.names();
    let s = &report.summary;
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>bpfcase fleet report</title><style>{STYLE}</style></head><body>"
    )?;
    writeln!(out, "<h1>bpfcase fleet report</h1>")?;
    writeln!(
        out,
        "<p>{} ({} read, {} unreadable) from {}, in {} of identical nodes; <b>{} with errors, {} with warnings</b>; {} with several layouts; {}. bpfcase {}.</p>",
        esc(&plural(s.bundles as u64, "bundle", "bundles")),
        s.read,
        s.unreadable,
        esc(&plural(s.hosts as u64, "host", "hosts")),
        esc(&plural(s.groups as u64, "group", "groups")),
        s.bundles_with_errors,
        s.bundles_with_warnings,
        esc(&plural(s.maps_with_variants as u64, "map name", "map names")),
        esc(&plural(s.stale_instances as u64, "stale map instance", "stale map instances")),
        esc(report.bpfcase_version)
    )?;

    writeln!(out, "<section class=\"card\"><h2>Findings</h2>")?;
    if report.findings.is_empty() {
        writeln!(out, "<p>None.</p>")?;
    } else {
        let rows: Vec<(Option<&str>, Vec<String>)> = report
            .findings
            .iter()
            .map(|f| {
                let seen: Vec<String> = f
                    .bundles
                    .iter()
                    .map(|b| names.name(b.host.as_deref(), &b.path))
                    .collect();
                let example = f
                    .bundles
                    .first()
                    .map(|b| {
                        if f.nodes > 1 {
                            format!("{}: {}", esc(&seen[0]), html_prose(&b.title))
                        } else {
                            html_prose(&b.title)
                        }
                    })
                    .unwrap_or_default();
                let maps: Vec<String> = f.maps.iter().map(|m| code(m)).collect();
                (
                    None,
                    vec![
                        format!("<span class=\"sev {0}\">{0}</span>", f.severity.as_str()),
                        code(f.code.as_str()),
                        format!(
                            "{}: {}{}",
                            esc(&nodes(f.nodes)),
                            esc(&finding_groups(report, f, FOLD_SHOWN)),
                            if f.nodes > 1 {
                                format!(
                                    "<details><summary>the {}</summary>{}</details>",
                                    esc(&nodes(f.nodes)),
                                    esc(&seen.join(", "))
                                )
                            } else {
                                String::new()
                            }
                        ),
                        if maps.is_empty() {
                            "—".into()
                        } else {
                            maps.join(", ")
                        },
                        example,
                    ],
                )
            })
            .collect();
        wide_table(
            out,
            &["severity", "code", "nodes", "maps", "first seen"],
            &rows,
        )?;
    }
    writeln!(out, "</section>")?;

    if !report.maps.is_empty() {
        writeln!(
            out,
            "<section class=\"card\"><h2>Map layouts</h2><p>Variants by key/value layout, the majority's (A) first; a tinted row differs from A. Stale instances (used by no program while one of the same name on the node is) are listed apart and are no variant.</p>"
        )?;
        let mut rows: Vec<(Option<&str>, Vec<String>)> = Vec::new();
        for m in &report.maps {
            let a = m.variants.first();
            for v in &m.variants {
                let differs = !v.differs_from_a.is_empty();
                let label = match a {
                    Some(a) if differs => format!(
                        "{} — differs from A: {}",
                        esc(&v.label),
                        esc(&difference(a, v))
                    ),
                    _ => esc(&v.label),
                };
                rows.push((
                    differs.then_some("differs"),
                    vec![
                        code(&m.name),
                        label,
                        format!(
                            "{}: {}",
                            esc(&nodes(v.nodes)),
                            node_list(&names.list(&v.seen_in))
                        ),
                        shape(v.key.as_ref()),
                        shape(v.value.as_ref()),
                        esc(&kind(v)),
                        if v.prog_tags.is_empty() {
                            "none".into()
                        } else {
                            code(&v.prog_tags.join(" "))
                        },
                    ],
                ));
            }
            for st in &m.stale {
                let same = st.same_as.as_deref().map_or_else(
                    || "stale, a layout no used instance has".to_string(),
                    |l| format!("stale, layout {l}"),
                );
                rows.push((
                    Some("stale"),
                    vec![
                        code(&m.name),
                        esc(&same),
                        format!(
                            "{}: {}",
                            esc(&nodes(st.nodes)),
                            node_list(&names.list(&st.seen_in))
                        ),
                        shape(st.key.as_ref()),
                        shape(st.value.as_ref()),
                        "—".into(),
                        "none".into(),
                    ],
                ));
            }
        }
        wide_table(
            out,
            &[
                "map",
                "layout",
                "nodes",
                "key",
                "value",
                "type, max_entries",
                "program tags",
            ],
            &rows,
        )?;
        writeln!(out, "</section>")?;
    }

    writeln!(
        out,
        "<section class=\"card\"><h2>Nodes in {}</h2><p>Nodes with the same findings and the same layouts.</p>",
        esc(&plural(report.groups.len() as u64, "group", "groups"))
    )?;
    for g in &report.groups {
        writeln!(
            out,
            "<div class=\"group\"><h3>{}</h3>",
            esc(&group_title(g))
        )?;
        if g.status == "read" {
            let mut what = esc(&findings_summary(
                g.findings.error,
                g.findings.warning,
                g.findings.info,
            ));
            if !g.codes.is_empty() {
                what.push_str(": ");
                what.push_str(&esc(&group_codes(g)));
            }
            writeln!(out, "<p>{what}</p>")?;
            let layouts = group_layouts(g);
            if !layouts.is_empty() {
                writeln!(
                    out,
                    "<p>Maps apart from the majority: {}</p>",
                    esc(&layouts)
                )?;
            }
        }
        let all = names.refs(&g.nodes);
        writeln!(
            out,
            "<details><summary>the {}</summary><p>{}</p></details></div>",
            esc(&nodes(all.len())),
            esc(&all.join(", "))
        )?;
    }
    writeln!(out, "</section>")?;

    let partial = partial_rows(report);
    if !partial.is_empty() {
        writeln!(
            out,
            "<section class=\"card\"><h2>Maps on some nodes only</h2>"
        )?;
        let rows: Vec<(Option<&str>, Vec<String>)> = partial
            .iter()
            .map(|(maps, present, absent)| {
                let m: Vec<String> = maps.iter().map(|m| code(m)).collect();
                (
                    None,
                    vec![
                        m.join(", "),
                        format!(
                            "{}: {}",
                            esc(&nodes(present.len())),
                            node_list(&names.refs(present))
                        ),
                        format!(
                            "{}: {}",
                            esc(&nodes(absent.len())),
                            node_list(&names.refs(absent))
                        ),
                    ],
                )
            })
            .collect();
        wide_table(out, &["maps", "on", "absent on"], &rows)?;
        writeln!(out, "</section>")?;
    }

    writeln!(
        out,
        "<section class=\"card\"><h2>Bundles</h2><details><summary>All {}</summary>",
        esc(&plural(report.bundles.len() as u64, "bundle", "bundles"))
    )?;
    let rows: Vec<(Option<&str>, Vec<String>)> = report
        .bundles
        .iter()
        .map(|b| match &b.error {
            Some(why) => (
                None,
                vec![
                    code(&b.path),
                    "—".into(),
                    "—".into(),
                    format!("<span class=\"sev error\">unreadable</span>: {}", esc(why)),
                    "—".into(),
                ],
            ),
            None => (
                None,
                vec![
                    code(&b.path),
                    esc(b.host.as_deref().unwrap_or("?")),
                    esc(b.kernel.as_deref().unwrap_or("?")),
                    esc(&findings_summary(
                        b.findings.error,
                        b.findings.warning,
                        b.findings.info,
                    )),
                    esc(&b.group),
                ],
            ),
        })
        .collect();
    wide_table(
        out,
        &["bundle", "host", "kernel", "findings", "group"],
        &rows,
    )?;
    writeln!(out, "</details></section>")?;
    if !report.ignored.is_empty() {
        writeln!(
            out,
            "<section class=\"card\"><h2>Not bundles (ignored)</h2><ul>"
        )?;
        for i in &report.ignored {
            writeln!(out, "<li>{}: {}</li>", code(&i.path), esc(&i.reason))?;
        }
        writeln!(out, "</ul></section>")?;
    }
    writeln!(out, "</body></html>")
}
