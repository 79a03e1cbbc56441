//! The fleet report in Markdown, for tickets: the same order as the other
//! renderings (totals, findings, map layouts, groups of identical nodes,
//! maps some nodes lack), as GitHub-flavoured tables; node lists folded
//! ("node-01, node-02, node-03 and 14 more"); the per-bundle table last,
//! inside `<details>` (GitHub folds it; CommonMark shows it).
//!
//! Every string from a bundle or a file name goes through a rule of
//! [`super::escape`]: paths and names as code spans, hosts, kernels, titles
//! and reasons as text, both escaped for a table cell.

use std::io::{self, Write};

use super::escape::{md_code, md_code_cell as code, md_prose as prose, md_prose_cell as cell};
use super::fleet::{
    difference, finding_groups, fold, group_codes, group_layouts, group_title, kind, nodes,
    partial_rows, FleetReport, TypeShape, FOLD_SHOWN,
};
use super::{findings_summary, plural};

fn shape(s: Option<&TypeShape>) -> String {
    match s {
        Some(s) => format!("{} {}", cell(&s.summary), code(&s.fingerprint)),
        None => "-".into(),
    }
}

/// `3 nodes: a, b, c and 4 more`, for a cell.
fn on(names: &[String]) -> String {
    format!("{}: {}", nodes(names.len()), cell(&fold(names, FOLD_SHOWN)))
}

/// Writes the Markdown fleet report.
pub fn write<W: Write>(out: &mut W, report: &FleetReport) -> io::Result<()> {
    let names = report.names();
    let s = &report.summary;
    writeln!(out, "# bpfcase fleet report\n")?;
    writeln!(
        out,
        "{} ({} read, {} unreadable) from {}, in {} of identical nodes; **{} with errors, {} with warnings**; {} with several layouts; {}. bpfcase {}.",
        plural(s.bundles as u64, "bundle", "bundles"),
        s.read,
        s.unreadable,
        plural(s.hosts as u64, "host", "hosts"),
        plural(s.groups as u64, "group", "groups"),
        s.bundles_with_errors,
        s.bundles_with_warnings,
        plural(s.maps_with_variants as u64, "map name", "map names"),
        plural(s.stale_instances as u64, "stale map instance", "stale map instances"),
        report.bpfcase_version
    )?;

    writeln!(out, "\n## Findings\n")?;
    if report.findings.is_empty() {
        writeln!(out, "None.")?;
    } else {
        writeln!(
            out,
            "| severity | code | nodes | maps | first seen |\n|---|---|---|---|---|"
        )?;
        for f in &report.findings {
            let seen: Vec<String> = f
                .bundles
                .iter()
                .map(|b| names.name(b.host.as_deref(), &b.path))
                .collect();
            let first = f
                .bundles
                .first()
                .map(|b| {
                    if f.nodes > 1 {
                        format!("{}: {}", cell(&seen[0]), cell(&b.title))
                    } else {
                        cell(&b.title)
                    }
                })
                .unwrap_or_default();
            let maps: Vec<String> = f.maps.iter().map(|m| code(m)).collect();
            writeln!(
                out,
                "| {} | {} | {}: {} | {} | {} |",
                f.severity.as_str(),
                code(f.code.as_str()),
                nodes(f.nodes),
                cell(&finding_groups(report, f, FOLD_SHOWN)),
                if maps.is_empty() {
                    "-".into()
                } else {
                    maps.join(", ")
                },
                first
            )?;
        }
    }

    if !report.maps.is_empty() {
        writeln!(out, "\n## Map layouts\n")?;
        writeln!(
            out,
            "Variants by key/value layout, the majority's (A) first; stale instances (used by no program while one of the same name on the node is) apart, not variants.\n"
        )?;
        writeln!(
            out,
            "| map | layout | nodes | key | value | type, max_entries |\n|---|---|---|---|---|---|"
        )?;
        for m in &report.maps {
            let a = m.variants.first();
            for v in &m.variants {
                let label = match a {
                    Some(a) if !v.differs_from_a.is_empty() => {
                        format!("**{}: {}**", v.label, cell(&difference(a, v)))
                    }
                    _ => v.label.clone(),
                };
                writeln!(
                    out,
                    "| {} | {label} | {} | {} | {} | {} |",
                    code(&m.name),
                    on(&names.list(&v.seen_in)),
                    shape(v.key.as_ref()),
                    shape(v.value.as_ref()),
                    cell(&kind(v))
                )?;
            }
            for st in &m.stale {
                let same = st.same_as.as_deref().map_or_else(
                    || "stale, a layout no used instance has".to_string(),
                    |l| format!("stale, layout {l}"),
                );
                writeln!(
                    out,
                    "| {} | {same} | {} | {} | {} | - |",
                    code(&m.name),
                    on(&names.list(&st.seen_in)),
                    shape(st.key.as_ref()),
                    shape(st.value.as_ref())
                )?;
            }
        }
    }

    writeln!(
        out,
        "\n## Nodes in {}\n",
        plural(report.groups.len() as u64, "group", "groups")
    )?;
    writeln!(out, "Nodes with the same findings and the same layouts.\n")?;
    writeln!(
        out,
        "| group | nodes | findings | maps apart from the majority |\n|---|---|---|---|"
    )?;
    for g in &report.groups {
        let (what, maps) = if g.status == "read" {
            let mut what = findings_summary(g.findings.error, g.findings.warning, g.findings.info);
            if !g.codes.is_empty() {
                what.push_str(": ");
                what.push_str(&group_codes(g));
            }
            (cell(&what), cell(&group_layouts(g)))
        } else {
            ("unreadable".to_string(), "-".to_string())
        };
        writeln!(
            out,
            "| {} | {} | {what} | {} |",
            cell(&group_title(g)),
            on(&names.refs(&g.nodes)),
            if maps.is_empty() { "-".into() } else { maps }
        )?;
    }

    let partial = partial_rows(report);
    if !partial.is_empty() {
        writeln!(out, "\n## Maps on some nodes only\n")?;
        writeln!(out, "| maps | on | absent on |\n|---|---|---|")?;
        for (maps, present, absent) in partial {
            let m: Vec<String> = maps.iter().map(|m| code(m)).collect();
            writeln!(
                out,
                "| {} | {} | {} |",
                m.join(", "),
                on(&names.refs(present)),
                on(&names.refs(absent))
            )?;
        }
    }

    writeln!(out, "\n## Bundles\n")?;
    writeln!(
        out,
        "<details><summary>All {}</summary>\n",
        plural(report.bundles.len() as u64, "bundle", "bundles")
    )?;
    writeln!(
        out,
        "| bundle | host | kernel | findings | group |\n|---|---|---|---|---|"
    )?;
    for b in &report.bundles {
        match &b.error {
            Some(why) => writeln!(
                out,
                "| {} | - | - | unreadable: {} | - |",
                code(&b.path),
                cell(why)
            )?,
            None => writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                code(&b.path),
                cell(b.host.as_deref().unwrap_or("?")),
                cell(b.kernel.as_deref().unwrap_or("?")),
                findings_summary(b.findings.error, b.findings.warning, b.findings.info),
                cell(&b.group)
            )?,
        }
    }
    writeln!(out, "\n</details>")?;
    if !report.ignored.is_empty() {
        writeln!(out, "\n## Not bundles (ignored)\n")?;
        for i in &report.ignored {
            writeln!(out, "- {}: {}", md_code(&i.path), prose(&i.reason))?;
        }
    }
    Ok(())
}
