//! The fleet report for a terminal, laid out for `style.width` columns
//! (`COLUMNS`, else the terminal's, as analyze's text): totals, then each
//! finding code with how many nodes it is on (a few named, "and N more"),
//! then each map name's layouts (the majority's first, a differing one with
//! what differs, stale instances apart), then the nodes folded into groups
//! of identical nodes, then maps some nodes lack. No per-bundle line: a
//! fleet of 1,000 nodes is as long as one of 20 with the same groups.
//!
//! Every string from a bundle or a file name (paths, hosts, map names,
//! titles, type summaries, reasons) goes through [`escape::terminal`].

use std::io::{self, Write};

use super::escape::terminal;
use super::fleet::{
    difference, finding_groups, fold, group_codes, group_layouts, group_title, kind, nodes,
    partial_rows, shape_long, shape_name, stale_rows, FleetReport, NodeNames, FOLD_SHOWN,
};
use super::human::wrap_after;
use super::{findings_summary, plural, TextStyle};
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

/// Writes `text` after `lead`, wrapped to `width`, continuation lines
/// indented by `indent`.
fn line<W: Write>(
    out: &mut W,
    lead: &str,
    indent: usize,
    text: &str,
    width: usize,
) -> io::Result<()> {
    for l in wrap_after(lead, indent, text, width) {
        writeln!(out, "{l}")?;
    }
    Ok(())
}

/// Writes the human fleet report.
pub fn write<W: Write>(out: &mut W, report: &FleetReport, style: TextStyle) -> io::Result<()> {
    let (w, color) = (style.width, style.color);
    let names = report.names();
    let s = &report.summary;
    line(
        out,
        "",
        2,
        &format!(
            "bpfcase {} fleet: {} ({} read, {} unreadable) from {}, in {} of identical nodes; {} with errors, {} with warnings; {} with several layouts; {}",
            report.bpfcase_version,
            plural(s.bundles as u64, "bundle", "bundles"),
            s.read,
            s.unreadable,
            plural(s.hosts as u64, "host", "hosts"),
            plural(s.groups as u64, "group", "groups"),
            s.bundles_with_errors,
            s.bundles_with_warnings,
            plural(s.maps_with_variants as u64, "map name", "map names"),
            plural(s.stale_instances as u64, "stale map instance", "stale map instances"),
        ),
        w,
    )?;

    writeln!(out)?;
    line(
        out,
        "",
        2,
        "findings (each code, the nodes it is on, by group):",
        w,
    )?;
    if report.findings.is_empty() {
        writeln!(out, "  none")?;
    }
    for f in &report.findings {
        let seen: Vec<String> = f
            .bundles
            .iter()
            .map(|b| names.name(b.host.as_deref(), &b.path))
            .collect();
        let lead = format!(
            "  {} {} ",
            paint(f.severity.as_str(), f.severity, color),
            f.code.as_str()
        );
        line(
            out,
            &lead,
            6,
            &terminal(&format!(
                "on {}: {}",
                nodes(f.nodes),
                finding_groups(report, f, FOLD_SHOWN)
            )),
            w,
        )?;
        if let Some(first) = f.bundles.first() {
            let text = if f.nodes > 1 {
                format!("{}: {}", seen[0], first.title)
            } else {
                first.title.clone()
            };
            line(out, "    ", 6, &terminal(&text), w)?;
        }
    }

    write_maps(out, report, &names, style)?;

    writeln!(out)?;
    line(
        out,
        "",
        2,
        &format!(
            "nodes in {} (same findings, same layouts):",
            plural(report.groups.len() as u64, "group", "groups")
        ),
        w,
    )?;
    for g in &report.groups {
        let all = names.refs(&g.nodes);
        let title = group_title(g);
        let head = if g.nodes.len() > 1 || g.status != "read" {
            format!("{title}: {}", fold(&all, FOLD_SHOWN))
        } else {
            title
        };
        line(out, "  ", 4, &terminal(&head), w)?;
        if g.status != "read" {
            continue;
        }
        let mut what = findings_summary(g.findings.error, g.findings.warning, g.findings.info);
        if !g.codes.is_empty() {
            what.push_str(": ");
            what.push_str(&group_codes(g));
        }
        let layouts = group_layouts(g);
        if !layouts.is_empty() {
            what.push_str("; ");
            what.push_str(&layouts);
        }
        line(out, "    ", 6, &terminal(&what), w)?;
    }

    let rows = partial_rows(report);
    if !rows.is_empty() {
        writeln!(out, "\nmaps on some nodes only:")?;
    }
    for (maps, present, absent) in rows {
        let total = present.len() + absent.len();
        let text = if present.len() <= absent.len() {
            format!(
                "{}: on {} of {total}: {}",
                maps.join(", "),
                present.len(),
                fold(&names.refs(present), FOLD_SHOWN)
            )
        } else {
            format!(
                "{}: on {} of {total}; absent on {}",
                maps.join(", "),
                present.len(),
                fold(&names.refs(absent), FOLD_SHOWN)
            )
        };
        line(out, "  ", 4, &terminal(&text), w)?;
    }
    if !report.ignored.is_empty() {
        writeln!(out, "\nnot bundles (ignored):")?;
        for i in report.ignored.iter().take(FOLD_SHOWN) {
            line(
                out,
                "  ",
                4,
                &terminal(&format!("{}: {}", i.path, i.reason)),
                w,
            )?;
        }
        if report.ignored.len() > FOLD_SHOWN {
            writeln!(
                out,
                "  and {} more (JSON lists them all)",
                report.ignored.len() - FOLD_SHOWN
            )?;
        }
    }
    Ok(())
}

/// Map names with several layouts (the majority's, then each other one with
/// what differs and its nodes), the one-layout names on one line, then the
/// stale instances, merged where their nodes agree.
fn write_maps<W: Write>(
    out: &mut W,
    report: &FleetReport,
    names: &NodeNames,
    style: TextStyle,
) -> io::Result<()> {
    let (w, color) = (style.width, style.color);
    if report.maps.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    line(
        out,
        "",
        2,
        "map layouts (variants by key and value layout):",
        w,
    )?;
    let mut single: Vec<String> = Vec::new();
    for m in &report.maps {
        let Some(a) = m.variants.first() else {
            continue;
        };
        if m.variants.len() == 1 {
            single.push(format!("{} ({})", m.name, nodes(a.nodes)));
            continue;
        }
        let head = format!(
            "{}: {} on {}, differing in {}",
            terminal(&m.name),
            plural(m.variants.len() as u64, "layout", "layouts"),
            nodes(m.bundles),
            m.differs.join(", ")
        );
        line(out, "  ", 4, &paint(&head, Severity::Warning, color), w)?;
        line(
            out,
            &format!("    {}  ", a.label),
            7,
            &terminal(&format!(
                "{}: {}, key {}, value {}",
                nodes(a.nodes),
                kind(a),
                shape_name(a.key.as_ref()),
                shape_name(a.value.as_ref())
            )),
            w,
        )?;
        for v in &m.variants[1..] {
            let on = names.list(&v.seen_in);
            let kind_v = if kind(v) == kind(a) {
                String::new()
            } else {
                format!(", {}", kind(v))
            };
            line(
                out,
                &format!("    {}  ", v.label),
                7,
                &terminal(&format!(
                    "{}: {}{kind_v}: {}",
                    nodes(v.nodes),
                    difference(a, v),
                    fold(&on, FOLD_SHOWN)
                )),
                w,
            )?;
            if v.differs_from_a.iter().any(|d| d.starts_with("key")) {
                let text = format!("key {}", shape_long(v.key.as_ref()));
                line(out, "       ", 7, &terminal(&text), w)?;
            }
            if v.differs_from_a.iter().any(|d| d.starts_with("value")) {
                let text = format!("value {}", shape_long(v.value.as_ref()));
                line(out, "       ", 7, &terminal(&text), w)?;
            }
        }
    }
    if !single.is_empty() {
        line(
            out,
            "  ",
            4,
            &terminal(&format!("one layout: {}", single.join(", "))),
            w,
        )?;
    }
    let stale = stale_rows(report);
    if stale.is_empty() {
        return Ok(());
    }
    line(
        out,
        "  ",
        4,
        "stale instances (used by no program while one of the same name on the node is; not variants):",
        w,
    )?;
    for row in &stale {
        let on: Vec<String> = row
            .on
            .iter()
            .map(|n| names.name(n.host.as_deref(), &n.path))
            .collect();
        let layout = match row.same_as {
            Some(l) => format!("layout {l}"),
            None => format!(
                "a layout no used instance has: key {}, value {}",
                shape_long(row.layout.key.as_ref()),
                shape_long(row.layout.value.as_ref())
            ),
        };
        line(
            out,
            "    ",
            6,
            &terminal(&format!(
                "{} ({layout}): {} on {}: {}",
                row.maps.join(", "),
                row.count,
                nodes(on.len()),
                fold(&on, FOLD_SHOWN)
            )),
            w,
        )?;
    }
    Ok(())
}
