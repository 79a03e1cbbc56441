//! The self-contained HTML report: one file, no external assets, no script.
//!
//! Every finding about bytes (layout divergences, key padding, padding
//! garbage in dumps, missed lookups) gets a byte map ([`super::bytemap`]):
//! rows of byte offsets shared by its lanes, so the two sides of a
//! comparison, or the two keys of a missed lookup and the key type's fields,
//! line up; fields are outlined blocks named in full, holes and padding
//! hatched and named, the finding's bytes marked with a symbol as well as a
//! colour, a legend under every map and a sentence saying what is marked.
//! Evidence is shown as tables. The page reflows to a phone's width: wide
//! tables become stacked cards, long values wrap.

use std::io::{self, Write};

use super::bytemap::{self, ByteMap, FieldLayout, Lane, Region};
use super::Report;

/// HTML-escapes text for element content and attribute values; text with
/// backtick spans as `<code>` ([`super::escape`], the one rule for HTML).
pub(crate) use super::escape::{html as esc, html_prose as inline_md};

const STYLE: &str = "*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;padding:12px;max-width:1100px;color:#1c1e21;background:#f3f4f6}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin:1.2em 0 .4em}h3{font-size:1.05em;margin:.3em 0 .5em}
code,.mono,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace;font-size:.92em}
code{background:#eef0f3;padding:0 .2em;border-radius:3px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f7f9;padding:4px 8px;margin:.3em 0}
.card{background:#fff;border:1px solid #d5d9df;border-radius:6px;padding:10px 14px;margin:12px 0;overflow-wrap:anywhere;min-width:0}
.finding{border-left:6px solid #888}.finding.error{border-left-color:#c0392b}.finding.warning{border-left-color:#d35400}.finding.info{border-left-color:#2471a3}
pre.cmd{white-space:pre;overflow-wrap:normal;overflow-x:auto}.finding.part{margin-left:18px}.index ol{padding-left:1.6em;margin:4px 0}.index li{margin:3px 0}
.sev{font-weight:700;text-transform:uppercase;letter-spacing:.03em}.error .sev{color:#a93226}.warning .sev{color:#a04000}.info .sev{color:#1f618d}
table{border-collapse:collapse;margin:.4em 0;max-width:100%}
th,td{border:1px solid #d5d9df;padding:3px 7px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f4f6;font-weight:600}
table.ev{width:100%}table.ev>tbody>tr>th{width:11em;overflow-wrap:normal;font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:500;font-size:.88em}
ol.evl{margin:0;padding-left:1.6em}ol.evl>li{margin:.2em 0}
details>summary{cursor:pointer;font-weight:600;margin:.3em 0}
figure.bm{margin:.6em 0 .9em}figure.bm figcaption{font-weight:600;margin:.2em 0}
.bmg{display:grid;border:1px solid #9aa1ab;font-size:14px;line-height:1.3}
.bmg>div{padding:3px 6px;min-width:0;overflow-wrap:anywhere;border-top:1px solid #e4e7eb}
.bmg>.hd{background:#eef0f3;font-weight:600;border-top:0;border-bottom:1px solid #9aa1ab}
.bmg>.off{font-family:ui-monospace,Menlo,Consolas,monospace;text-align:right;white-space:nowrap;color:#4a4f57;border-right:1px solid #9aa1ab}
.bmg>.off.mk{background:#fadbd8;color:#922b21;font-weight:700}
.bmg>.fld{border:2px solid #2c3e50;border-radius:4px;margin:1px 2px}
.bmg>.fld .ty{color:#3d4450;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}.bmg>.fld .sz{color:#5d6470;font-size:.88em;white-space:nowrap}
.bmg>.gap{background:repeating-linear-gradient(135deg,#fff 0 5px,#cfd3d9 5px 7px);font-style:italic;color:#3d4450}
.bmg>.gap span{background:#fff;padding:0 .2em}
.bmg>.fld.mk,.bmg>.gap.mk{box-shadow:inset 0 0 0 3px #c0392b}.bmg>.gap.mk span{color:#641e16;font-weight:700}
.bmg>.hex{font-family:ui-monospace,Menlo,Consolas,monospace}
mark{background:#f5b7b1;color:#641e16;font-weight:700;box-shadow:inset 0 -2px 0 #c0392b}
.legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em;font-size:13px;margin:.35em 0}
.legend .sw{display:inline-block;width:1.6em;height:1em;vertical-align:-.15em;margin-right:.35em;border:1px solid #9aa1ab}
.legend .sw.fld{border:2px solid #2c3e50;border-radius:3px;background:#d6eaf8}
.legend .sw.gap{background:repeating-linear-gradient(135deg,#fff 0 3px,#cfd3d9 3px 5px)}
.legend .sw.mk{background:#f5b7b1;border-color:#c0392b}
p.bmt{font-size:13px;margin:.2em 0;color:#3d4450}
@media (max-width:700px){body{padding:6px;font-size:14px}.card{padding:8px 9px}
table.wide,table.wide>tbody,table.wide>tbody>tr,table.wide>tbody>tr>td{display:block;width:100%}
table.wide{border:0}table.wide>tbody>tr:first-child{display:none}
table.wide>tbody>tr{border:1px solid #d5d9df;border-radius:4px;margin:.4em 0}
table.wide>tbody>tr>td{border:0;border-top:1px dotted #d5d9df}
table.wide>tbody>tr>td::before{content:attr(data-label) ': ';font-weight:600;font-family:system-ui,sans-serif}
table.ev,table.ev>tbody,table.ev>tbody>tr,table.ev>tbody>tr>th,table.ev>tbody>tr>td{display:block;width:auto}table.ev>tbody>tr>th{border-bottom:0}table.ev>tbody>tr>td{border-top:0;padding-left:12px}.bmg{font-size:13px}.bmg>div{padding:2px 4px}}";

/// A stable pastel colour for a field name (case and `_` ignored, so Go's
/// `SrcPort` and C's `src_port` match), so a field has one colour on both
/// sides.
fn color(name: &str) -> String {
    let h = name
        .bytes()
        .filter(|&b| b != b'_')
        .map(|b| b.to_ascii_lowercase())
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
    format!("hsl({},65%,86%)", h % 360)
}

/// A table whose rows become stacked cards at phone width: each cell is
/// labelled with its column's name (`data-label`) so nothing depends on the
/// hidden header row. Cells are HTML.
fn wide_table<W: Write>(out: &mut W, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    write!(out, "<table class=\"wide\"><tr>")?;
    for h in headers {
        write!(out, "<th>{}</th>", esc(h))?;
    }
    writeln!(out, "</tr>")?;
    for row in rows {
        write!(out, "<tr>")?;
        for (h, c) in headers.iter().zip(row) {
            write!(out, "<td data-label=\"{}\">{c}</td>", esc(h))?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</table>")
}

fn mono(s: &str) -> String {
    format!("<span class=\"mono\">{}</span>", esc(s))
}

/// One byte map: a grid whose rows are byte ranges and whose columns are
/// the map's lanes, then its legend and a sentence naming the marked bytes.
/// A marked byte value is a `<mark class="m-KIND">`, a marked stretch of a
/// fields lane a block of its own with class `mk m-KIND` and a `✱`; the
/// legend names each kind the map uses (`<span class="lg m-KIND">`).
fn write_byte_map<W: Write>(out: &mut W, map: &ByteMap) -> io::Result<()> {
    let rows = map.rows();
    writeln!(
        out,
        "<figure class=\"bm\"><figcaption>{}</figcaption>",
        esc(&map.caption)
    )?;
    writeln!(
        out,
        "<div class=\"bmg\" style=\"grid-template-columns:max-content repeat({},minmax(0,1fr))\">",
        map.lanes.len()
    )?;
    write!(
        out,
        "<div class=\"hd off\" style=\"grid-area:1/1\">bytes</div>"
    )?;
    for (c, lane) in map.lanes.iter().enumerate() {
        let title = match lane {
            Lane::Fields { title, layout } => {
                format!("{} <code>{}</code>", esc(title), esc(&layout.name))
            }
            Lane::Bytes { title, .. } => esc(title),
        };
        write!(
            out,
            "<div class=\"hd\" style=\"grid-area:1/{}\">{title}</div>",
            c + 2
        )?;
    }
    writeln!(out)?;
    for (r, row) in rows.iter().enumerate() {
        let n = row.end - row.start;
        writeln!(
            out,
            "<div class=\"off{}\" style=\"grid-area:{}/1;min-height:{}px\">{}{}</div>",
            if row.marked() { " mk" } else { "" },
            r + 2,
            18 + 3 * n.min(8),
            bytemap::range_text(row.start, row.end),
            if row.marked() { " ✱" } else { "" }
        )?;
    }
    for (c, lane) in map.lanes.iter().enumerate() {
        match lane {
            Lane::Fields { layout, .. } => write_field_lane(out, layout, &rows, c)?,
            Lane::Bytes { bytes, .. } => {
                for (r, row) in rows.iter().enumerate() {
                    let cells: Vec<String> = (row.start..row.end)
                        .map(|b| match (bytes.get(b as usize), map.mark(c, b)) {
                            (Some(x), Some(m)) => {
                                format!("<mark class=\"m-{}\">{}</mark>", m.class(), esc(x))
                            }
                            (Some(x), None) => esc(x),
                            (None, _) => "·".into(),
                        })
                        .collect();
                    writeln!(
                        out,
                        "<div class=\"hex\" style=\"grid-area:{}/{}\">{}</div>",
                        r + 2,
                        c + 2,
                        cells.join(" ")
                    )?;
                }
            }
        }
    }
    writeln!(out, "</div>")?;
    let marks: String = map
        .kinds()
        .iter()
        .map(|k| {
            format!(
                "<span class=\"lg m-{}\"><span class=\"sw mk\"></span>✱ {}</span>",
                k.class(),
                esc(k.legend())
            )
        })
        .collect();
    writeln!(
        out,
        "<div class=\"legend\"><span><span class=\"sw fld\"></span>a field (outlined; name, type, size, offset)</span><span><span class=\"sw gap\"></span>hole or padding: no field covers these bytes</span>{marks}</div>",
    )?;
    writeln!(out, "<p class=\"bmt\">{}</p>", esc(&marked_sentence(map)))?;
    if map.cut > 0 {
        writeln!(
            out,
            "<p class=\"bmt\">The first {} bytes are drawn; {} more are not.</p>",
            map.size, map.cut
        )?;
    }
    writeln!(out, "</figure>")
}

/// The text equivalent of the marks: each stretch of bytes with the same
/// marks, what the unmarked fields lanes have there, and each marked lane
/// (a field's name, or the byte values); the legend of each stretch when
/// the map uses more than one kind of mark.
fn marked_sentence(map: &ByteMap) -> String {
    let kinds = map.kinds();
    if kinds.is_empty() {
        return "No byte is marked.".into();
    }
    // Stretches: rows with the same marks and the same region in each fields lane.
    let rows = map.rows();
    let region = |l: &Lane, b: u64| match l {
        Lane::Fields { layout, .. } => Some(layout.region_at(b)),
        Lane::Bytes { .. } => None,
    };
    let mut stretches: Vec<(u64, u64, &bytemap::Row)> = Vec::new();
    for row in &rows {
        match stretches.last_mut() {
            Some((_, end, first))
                if first.marks == row.marks
                    && map
                        .lanes
                        .iter()
                        .all(|l| region(l, first.start) == region(l, row.start)) =>
            {
                *end = row.end
            }
            _ => stretches.push((row.start, row.end, row)),
        }
    }
    let parts: Vec<String> = stretches
        .iter()
        .filter(|(_, _, row)| row.marked())
        .map(|&(s, e, row)| {
            let mut context = Vec::new();
            let mut marked = Vec::new();
            let mut why = Vec::new();
            for (i, lane) in map.lanes.iter().enumerate() {
                let what = match lane {
                    Lane::Fields { title, layout } => {
                        (title, layout.region_name(layout.region_at(s)))
                    }
                    Lane::Bytes { title, bytes } => {
                        let v: Vec<&str> = (s..e)
                            .filter_map(|b| bytes.get(b as usize).map(String::as_str))
                            .collect();
                        (title, v.join(" "))
                    }
                };
                match row.marks[i] {
                    Some(m) => {
                        marked.push(format!("{} ({})", what.0, what.1));
                        if !why.contains(&m.legend()) {
                            why.push(m.legend());
                        }
                    }
                    None if matches!(lane, Lane::Fields { .. }) => {
                        context.push(format!("{}: {}", what.0, what.1))
                    }
                    None => {}
                }
            }
            let label = if e > s + 1 { "bytes" } else { "byte" };
            let mut part = format!("{label} {}", bytemap::range_text(s, e));
            if !context.is_empty() {
                part.push_str(&format!(" ({})", context.join("; ")));
            }
            part.push_str(&format!(", in {}", marked.join(" and ")));
            if kinds.len() > 1 {
                part.push_str(&format!(" — {}", why.join(", ")));
            }
            part
        })
        .collect();
    format!("Marked ✱: {}.", parts.join("; "))
}

/// Fields lane `lane` of `map`: each field, hole or padding one block over
/// its rows; a stretch of it that is marked is a block of its own (class
/// `mk` and the kind's class, with a `✱`).
fn write_field_lane<W: Write>(
    out: &mut W,
    layout: &FieldLayout,
    rows: &[bytemap::Row],
    lane: usize,
) -> io::Result<()> {
    let col = lane + 2;
    let mut r = 0;
    while r < rows.len() {
        let region = layout.region_at(rows[r].start);
        let mark = rows[r].marks[lane];
        let mut end = r + 1;
        while end < rows.len()
            && layout.region_at(rows[end].start) == region
            && rows[end].marks[lane] == mark
        {
            end += 1;
        }
        let (start_b, end_b) = (rows[r].start, rows[end - 1].end);
        let area = format!("grid-area:{}/{col}/{}/{}", r + 2, end + 2, col + 1);
        let (mk, star) = match mark {
            Some(m) => (format!(" mk m-{}", m.class()), "✱ "),
            None => (String::new(), ""),
        };
        match region {
            Region::Field(i) => {
                let f = &layout.fields[i];
                writeln!(
                    out,
                    "<div class=\"fld{mk}\" style=\"{area};background:{}\">{star}<b>{}</b> <span class=\"ty\">{}</span> <span class=\"sz\">{} B @{}</span></div>",
                    color(&f.name),
                    esc(&f.name),
                    esc(&f.type_name),
                    f.size,
                    f.offset
                )?;
            }
            Region::Hole | Region::Padding => writeln!(
                out,
                "<div class=\"gap{mk}\" style=\"{area}\"><span>{star}{} ({} B)</span></div>",
                layout.region_name(region),
                end_b - start_b
            )?,
            Region::Beyond => writeln!(
                out,
                "<div class=\"gap{mk}\" style=\"{area}\"><span>— (type ends at {})</span></div>",
                layout.size
            )?,
        }
        r = end;
    }
    Ok(())
}

/// Evidence as nested key/value tables: lists of scalars inline, lists of
/// objects as numbered lists of tables; strings as the analyses wrote them,
/// backtick spans as code.
fn evidence_html(v: &serde_json::Value, skip: &[&str]) -> String {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            let mut s = String::from("<table class=\"ev\">");
            for (k, v) in o {
                if skip.contains(&k.as_str()) {
                    continue;
                }
                s.push_str(&format!(
                    "<tr><th>{}</th><td>{}</td></tr>",
                    esc(k),
                    evidence_html(v, &[])
                ));
            }
            s.push_str("</table>");
            s
        }
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let parts: Vec<String> = items.iter().map(|i| evidence_html(i, &[])).collect();
            parts.join(", ")
        }
        Value::Array(items) => {
            let mut s = String::from("<ol class=\"evl\">");
            for i in items {
                s.push_str(&format!("<li>{}</li>", evidence_html(i, &[])));
            }
            s.push_str("</ol>");
            s
        }
        Value::String(s) if s.contains('`') => inline_md(s),
        Value::String(s) => mono(s),
        Value::Null => "—".into(),
        other => esc(&other.to_string()),
    }
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
    writeln!(out, "<section class=\"card\"><h2>Compared</h2>")?;
    if report.checks.is_empty() && report.dumps.is_empty() && report.traces.is_empty() {
        return writeln!(
            out,
            "<p>Nothing: no user-space type, dump or trace was compared.</p></section>"
        );
    }
    if !report.checks.is_empty() {
        let rows: Vec<Vec<String>> = report
            .checks
            .iter()
            .map(|c| {
                let at = c
                    .user_location
                    .as_deref()
                    .map(|l| format!(" at <code>{}</code>", esc(l)))
                    .unwrap_or_default();
                let notes: Vec<String> = c.notes.iter().map(|n| inline_md(n)).collect();
                vec![
                    mono(c.map.as_deref().unwrap_or("(--pair)")),
                    esc(&c.role),
                    mono(&c.user_type),
                    format!("{}{at}", esc(&c.user_origin)),
                    mono(&c.btf_type),
                    esc(&c.btf_origin),
                    esc(&c.verdict),
                    if notes.is_empty() {
                        "—".into()
                    } else {
                        notes.join("<br>")
                    },
                ]
            })
            .collect();
        wide_table(
            out,
            &[
                "map",
                "side",
                "user type",
                "from",
                "BTF type",
                "from",
                "verdict",
                "accepted",
            ],
            &rows,
        )?;
    }
    if !report.dumps.is_empty() {
        let rows: Vec<Vec<String>> = report
            .dumps
            .iter()
            .map(|d| {
                vec![
                    mono(&d.file),
                    d.map
                        .as_ref()
                        .map(|m| mono(&map_name(m)))
                        .unwrap_or_else(|| "—".into()),
                    d.entries.to_string(),
                    esc(&d.status),
                ]
            })
            .collect();
        wide_table(out, &["dump", "map", "entries", "status"], &rows)?;
    }
    if !report.traces.is_empty() {
        let rows: Vec<Vec<String>> = report
            .traces
            .iter()
            .map(|t| {
                let maps: Vec<String> = t.maps.iter().map(map_name).collect();
                vec![
                    mono(&t.file),
                    t.calls.to_string(),
                    t.replayed.to_string(),
                    if maps.is_empty() {
                        "—".into()
                    } else {
                        mono(&maps.join(", "))
                    },
                ]
            })
            .collect();
        wide_table(out, &["trace", "calls", "replayed", "maps"], &rows)?;
    }
    writeln!(out, "</section>")
}

/// Evidence with up to this many fields is shown open.
const OPEN_EVIDENCE_FIELDS: usize = 8;

/// One owner's programs and maps, collapsible.
fn write_owner_group<W: Write>(
    out: &mut W,
    g: &super::owners::OwnerGroup,
    open: bool,
) -> io::Result<()> {
    use super::owners::Owner;
    let head = match g.owner {
        Owner::Process { pid, comm } => format!("{} (pid {pid})", mono(comm)),
        Owner::NoProcess => "held by no process (links or pins keep them)".to_string(),
        Owner::Unused => "used by no program, held by no process".to_string(),
    };
    writeln!(
        out,
        "<details{}><summary>{head}: {}, {}</summary>",
        if open { " open" } else { "" },
        esc(&super::plural(
            g.programs.len() as u64,
            "program",
            "programs"
        )),
        esc(&super::plural(g.maps.len() as u64, "map", "maps")),
    )?;
    if !g.programs.is_empty() {
        let rows: Vec<Vec<String>> = g
            .programs
            .iter()
            .map(|p| {
                vec![
                    p.id.to_string(),
                    mono(&p.name),
                    esc(&p.prog_type),
                    mono(&p.tag),
                ]
            })
            .collect();
        wide_table(out, &["program", "name", "type", "tag"], &rows)?;
    }
    if !g.maps.is_empty() {
        write_map_table(out, &g.maps)?;
    }
    writeln!(out, "</details>")
}

/// A table of maps, one row each.
fn write_map_table<W: Write>(out: &mut W, maps: &[&super::MapSummary]) -> io::Result<()> {
    let o = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
    let rows: Vec<Vec<String>> = maps
        .iter()
        .map(|m| {
            vec![
                m.id.map(|i| i.to_string()).unwrap_or_else(|| "—".into()),
                mono(&m.name),
                esc(m.map_type.as_deref().unwrap_or("—")),
                o(m.key_size),
                o(m.value_size),
                o(m.max_entries.map(u64::from)),
                mono(m.key_type.as_deref().unwrap_or("—")),
                mono(m.value_type.as_deref().unwrap_or("—")),
                o(m.entries),
            ]
        })
        .collect();
    wide_table(
        out,
        &[
            "id",
            "name",
            "type",
            "key size",
            "value size",
            "max entries",
            "key type",
            "value type",
            "entries",
        ],
        &rows,
    )
}

/// One finding's card, numbered `label` (`2` for a cause's head, `2.1`
/// for a finding folded under it); its anchor is the finding's id.
fn write_finding<W: Write>(out: &mut W, report: &Report, label: &str, i: usize) -> io::Result<()> {
    let f = &report.findings[i];
    let sev = f.severity.as_str();
    let link = report.links.get(i);
    let id = link.map_or(String::new(), |l| format!(" id=\"{}\"", esc(&l.id)));
    let under = match link.and_then(|l| l.caused_by.as_deref()) {
        Some(c) => format!(
            " — folded under <a href=\"#{}\"><code>{}</code></a>",
            esc(c),
            esc(c)
        ),
        None => String::new(),
    };
    writeln!(
        out,
        "<section class=\"card finding {sev}{}\"{id}><div>{label}. <span class=\"sev\">{sev}</span> <code>{}</code>{}{under}</div><h3>{}</h3>",
        if under.is_empty() { "" } else { " part" },
        f.code.as_str(),
        if f.root_cause { " — <b>root cause</b>" } else { "" },
        inline_md(&f.title)
    )?;
    if let Some(m) = &f.map {
        writeln!(out, "<p>Map <code>{}</code></p>", esc(&map_name(m)))?;
    }
    for src in &f.sources {
        let at = super::source_location(src);
        writeln!(
            out,
            "<p><code>{}</code>: {}</p>",
            esc(&at),
            inline_md(&src.label)
        )?;
        if let (Some(text), Some(line)) = (&src.text, src.line) {
            if let Some(l) = text.lines().nth(line.saturating_sub(1) as usize) {
                writeln!(out, "<pre>{line:>5} | {}</pre>", esc(l))?;
            }
        }
    }
    for map in bytemap::for_finding(report, f) {
        write_byte_map(out, &map)?;
    }
    if let Some(fix) = &f.fix {
        // A suggested command is a line of its own, never wrapped.
        let (prose, commands) = super::human::split_commands(fix);
        writeln!(out, "<p><b>Fix:</b> {}</p>", inline_md(&prose))?;
        for c in commands {
            writeln!(out, "<pre class=\"cmd\">{}</pre>", esc(&c))?;
        }
    }
    if let Some(o) = f.evidence.as_object().filter(|o| !o.is_empty()) {
        // Short evidence is shown; long evidence (a byte map already shows
        // its substance) is folded, one click away, no script needed.
        let fields = o.keys().filter(|k| *k != "layouts").count();
        writeln!(
            out,
            "<details{}><summary>Evidence ({fields} fields)</summary>{}</details>",
            if fields <= OPEN_EVIDENCE_FIELDS {
                " open"
            } else {
                ""
            },
            evidence_html(&f.evidence, &["layouts"])
        )?;
    }
    writeln!(out, "</section>")
}

/// The index: one line per root cause (severity, code, maps, title,
/// findings folded), each a link to its cause's card.
fn write_index<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    if report.causes.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section class=\"card index\"><h2>Index</h2><p>{} of {}</p><ol>",
        esc(&super::plural(
            report.causes.len() as u64,
            "root cause",
            "root causes"
        )),
        esc(&super::plural(
            report.findings.len() as u64,
            "finding",
            "findings"
        ))
    )?;
    for c in &report.causes {
        let sev = c.severity.as_str();
        let maps: Vec<String> = c.map_names().iter().map(|m| mono(m)).collect();
        writeln!(
            out,
            "<li class=\"{sev}\"><span class=\"sev\">{sev}</span> <a href=\"#{}\"><code>{}</code></a>{}{}: {}{}</li>",
            esc(&c.id),
            c.code.as_str(),
            if maps.is_empty() { "" } else { " " },
            maps.join(", "),
            inline_md(&c.title),
            if c.members.len() > 1 {
                format!(" ({} findings)", c.members.len())
            } else {
                String::new()
            }
        )?;
    }
    writeln!(out, "</ol></section>")
}

/// Writes the report as one HTML page.
pub fn write<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>bpfcase report</title><style>{STYLE}</style></head><body>")?;
    // Header first (version, inputs, where and when), then the summary,
    // as in every format.
    writeln!(out, "<h1>bpfcase report</h1>")?;
    super::header::write_html(out, report)?;
    writeln!(
        out,
        "<p><b>{}</b></p>",
        esc(&super::findings_summary(s.error, s.warning, s.info))
    )?;
    write_index(out, report)?;
    writeln!(out, "<h2>Findings</h2>")?;
    if report.findings.is_empty() {
        writeln!(out, "<section class=\"card\"><p>No findings.</p></section>")?;
    }
    // In the index's order, each cause's folded findings under it.
    for (n, c) in report.causes.iter().enumerate() {
        write_finding(out, report, &(n + 1).to_string(), c.head())?;
        for (k, &i) in c.folded().iter().enumerate() {
            write_finding(out, report, &format!("{}.{}", n + 1, k + 1), i)?;
        }
    }
    write_compared(out, report)?;
    let groups = super::owners::groups(report);
    if !groups.is_empty() {
        writeln!(
            out,
            "<section class=\"card\"><h2>Maps under their owners</h2>"
        )?;
        let with_findings = super::owners::maps_with_findings(report);
        for g in &groups {
            // A group with a finding on one of its maps is open; healthy
            // ones are one line until clicked.
            let open = g
                .maps
                .iter()
                .any(|m| m.id.is_some_and(|id| with_findings.contains(&id)));
            write_owner_group(out, g, open)?;
        }
        writeln!(out, "</section>")?;
    } else if !report.maps.is_empty() {
        writeln!(out, "<section class=\"card\"><h2>Maps</h2>")?;
        let all: Vec<&super::MapSummary> = report.maps.iter().collect();
        write_map_table(out, &all)?;
        writeln!(out, "</section>")?;
    }
    super::config::write_html(out, &report.configuration)?;
    writeln!(out, "<section class=\"card\"><h2>Inputs</h2>")?;
    let rows: Vec<Vec<String>> = report
        .inputs
        .iter()
        .map(|i| vec![mono(&i.path), esc(&i.kind), esc(&i.status)])
        .collect();
    wide_table(out, &["path", "kind", "status"], &rows)?;
    writeln!(out, "</section>")?;
    writeln!(out, "</body></html>")
}

#[cfg(test)]
mod tests {
    use super::inline_md;

    #[test]
    fn backtick_spans_become_code_and_unmatched_ones_stay_text() {
        assert_eq!(
            inline_md("`a` and `b<c>`"),
            "<code>a</code> and <code>b&lt;c&gt;</code>"
        );
        assert_eq!(
            inline_md("x `` (Go `int`) `` y"),
            "x <code>(Go `int`)</code> y"
        );
        assert_eq!(inline_md("a ` b"), "a ` b");
        assert_eq!(inline_md("no code"), "no code");
    }
}
