//! The mark check: every byte map of every corpus case, read back from the
//! rendered HTML (the grid's `<mark>`s and marked blocks), the Markdown code
//! block and the text report's byte map (marked cells in brackets), and each
//! marked byte compared with the bytes drawn and the finding's evidence by
//! the rule its legend states. Unmarked bytes that the legend's rule covers
//! are checked too (a dirty padding byte left unmarked fails as a clean one
//! marked does). Every finding code that draws a byte map must appear in
//! some case.
//!
//! The check knows the legends by their words (what a reader sees), not by
//! the renderer's types: a legend it does not know fails it.

use std::collections::{BTreeMap, BTreeSet};

use bpfcase::model::finding::{Code, Finding};
use bpfcase::report::{bytemap, Report};
use clap::Parser;

/// Cases besides [`super::CASES`]: the shipped bundles with the inputs
/// `just demo` / `just demo-reload` use, and the corpora whose findings
/// draw byte maps (dumps with padding garbage, per-CPU values, bitfields,
/// a byte-order pair).
const MORE_CASES: &[(&str, &[&str])] = &[
    (
        "demo_reload",
        &["corpora/cases/reload/case.tar", "corpora/go"],
    ),
    (
        "lookups_strace",
        &[
            "corpora/cases/lookups/strace-case.tar",
            "corpora/cases/lookups/workload.strace",
        ],
    ),
    ("node", &["corpora/cases/node/case.tar"]),
    ("globals", &["corpora/globals/case.tar"]),
    ("globals_later", &["corpora/globals/case.later.tar"]),
    (
        "byte_order_pair",
        &[
            "corpora/bpf/flows.bpf.o",
            "corpora/go",
            "corpora/c/layouts.x86_64",
            "--pair",
            "FlowKeyBEHostOrder=flow_key_be",
            "--pair",
            "flow_key_be_host=flow_key_be",
            "--pair",
            "flow_key_long=flow_key",
        ],
    ),
    (
        "dumps_flows",
        &[
            "corpora/bpf/flows.bpf.o",
            "--dump",
            "flows=corpora/dumps/flows/flows.json",
            "--dump",
            "flows_lru=corpora/dumps/flows/flows_lru.json",
            "--dump",
            "flows_small=corpora/dumps/flows/flows_small.json",
        ],
    ),
    (
        "dumps_stats",
        &[
            "corpora/bpf/stats.bpf.o",
            "--dump",
            "cpu_stats=corpora/dumps/stats/cpu_stats.json",
            "--dump",
            "policies=corpora/dumps/stats/policies.json",
            "--dump",
            "proc_stats=corpora/dumps/stats/proc_stats.json",
        ],
    ),
    (
        "dumps_layouts",
        &[
            "corpora/bpf/layouts.bpf.o",
            "--dump",
            "addr_map=corpora/dumps/layouts/addr_map.json",
            "--dump",
            "bits_map=corpora/dumps/layouts/bits_map.json",
            "--dump",
            "comm_map=corpora/dumps/layouts/comm_map.json",
            "--dump",
            "misc_map=corpora/dumps/layouts/misc_map.json",
            "--dump",
            "packed_map=corpora/dumps/layouts/packed_map.json",
            "--dump",
            "fam_map=corpora/dumps/layouts/fam_map.json",
        ],
    ),
    (
        "dumps_wide",
        &[
            "corpora/dumps/wide/u128.bpf.o",
            "--dump",
            "wide_map=corpora/dumps/wide/wide_map.json",
        ],
    ),
];

/// Width the text byte maps are asked to fit.
const TEXT_WIDTH: usize = 80;

/// `analyze ARGS` run in this process (paths relative to the repository,
/// the test's working directory), the report not yet rendered.
fn analyze(args: &[&str]) -> Report {
    let argv = ["bpfcase", "analyze"].iter().chain(args);
    let cli = bpfcase::cli::Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let bpfcase::cli::Command::Analyze(a) = cli.command else {
        unreachable!()
    };
    bpfcase::engine::analyze(&a.options()).unwrap_or_else(|e| panic!("{args:?}: {e:?}"))
}

/// What a lane draws at one byte.
#[derive(Debug, Clone, Default, PartialEq)]
struct Cell {
    /// A bytes lane's value (hex).
    value: Option<String>,
    /// A fields lane's block there: its name (`hole`, `padding`, `past the
    /// end` for gaps) and the first byte of the block it belongs to.
    region: Option<(String, u64)>,
    /// The legend of its mark.
    mark: Option<String>,
}

#[derive(Debug, Default)]
struct DrawnLane {
    title: String,
    fields: bool,
    cells: BTreeMap<u64, Cell>,
}

/// One byte map as read back from a rendering.
#[derive(Debug, Default)]
struct Drawn {
    /// Where it was read: format, case, finding heading.
    at: String,
    /// The heading of the finding it is drawn under (tags and escapes gone).
    heading: String,
    lanes: Vec<DrawnLane>,
    /// Rows whose offset cell is marked (HTML's `✱`).
    marked_rows: Vec<(u64, u64, bool)>,
}

impl Drawn {
    fn lane(&self, title: &str) -> Option<&DrawnLane> {
        self.lanes.iter().find(|l| l.title == title)
    }
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let a = s.find(open)? + open.len();
    let b = s[a..].find(close)? + a;
    Some(&s[a..b])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// `7` or `0–3` (or `0-3`) as `(start, end)`.
fn range(s: &str) -> (u64, u64) {
    let s = s.trim();
    match s.split_once(['–', '-']) {
        Some((a, b)) => (a.parse().unwrap(), b.parse::<u64>().unwrap() + 1),
        None => {
            let a: u64 = s.parse().unwrap_or_else(|_| panic!("offset {s:?}"));
            (a, a + 1)
        }
    }
}

/// `grid-area:R/C` or `grid-area:R0/C/R1/C1` as numbers.
fn grid_area(div: &str) -> Vec<usize> {
    let a = &div[div.find("grid-area:").unwrap() + "grid-area:".len()..];
    let a: String = a
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '/')
        .collect();
    a.split('/').map(|x| x.parse().unwrap()).collect()
}

/// The tokens of a hex cell: `<mark ...>xx</mark>`, `xx` or `·`.
fn hex_tokens(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let end = if rest.starts_with("<mark") {
            rest.find("</mark>").unwrap() + "</mark>".len()
        } else {
            rest.find(' ').unwrap_or(rest.len())
        };
        out.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    out
}

/// Every byte map of an HTML report.
fn parse_html(case: &str, html: &str) -> Vec<Drawn> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = html[from..].find("<figure class=\"bm\">") {
        let start = from + i;
        let end = start + html[start..].find("</figure>").unwrap();
        from = end;
        let fig = &html[start..end];
        let section = html[..start].rfind("<section").unwrap_or(0);
        let heading = strip_tags(&html[section..start]);
        let mut d = Drawn {
            at: format!("html {case}: {}", heading.lines().next().unwrap_or("")),
            heading,
            ..Drawn::default()
        };
        // The legend: class → words.
        let mut legend: BTreeMap<String, String> = BTreeMap::new();
        for part in fig.split("<span class=\"lg ").skip(1) {
            let class = part[..part.find('"').unwrap()].to_string();
            let words = unescape(between(part, "✱ ", "</span>").unwrap());
            legend.insert(class, words);
        }
        let legend_of = |classes: &str| -> Option<String> {
            let class = classes.split_whitespace().find(|c| c.starts_with("m-"))?;
            Some(
                legend
                    .get(class)
                    .cloned()
                    .unwrap_or_else(|| format!("<no legend for {class}>")),
            )
        };
        let mut rows: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
        for div in fig.split("<div ").skip(1) {
            let div = &div[..div.find("</div>").unwrap_or(div.len())];
            let class = between(div, "class=\"", "\"").unwrap_or("");
            let body = &div[div.find('>').unwrap() + 1..];
            let classes: Vec<&str> = class.split_whitespace().collect();
            if classes.contains(&"hd") {
                if !classes.contains(&"off") {
                    let col = grid_area(div)[1];
                    while d.lanes.len() < col - 1 {
                        d.lanes.push(DrawnLane::default());
                    }
                    let title = strip_tags(body.split(" <code>").next().unwrap());
                    d.lanes[col - 2].title = title;
                    d.lanes[col - 2].fields = body.contains("<code>");
                }
            } else if classes.contains(&"off") {
                let r = grid_area(div)[0];
                let text = strip_tags(body);
                let (s, e) = range(text.trim_end_matches('✱'));
                rows.insert(r, (s, e));
                d.marked_rows.push((s, e, text.contains('✱')));
            } else if classes.contains(&"fld") || classes.contains(&"gap") {
                let g = grid_area(div);
                let (r0, col, r1) = (g[0], g[1], g[2]);
                let first = rows[&r0].0;
                let name = if classes.contains(&"fld") {
                    strip_tags(between(body, "<b>", "</b>").unwrap())
                } else {
                    let t = strip_tags(body);
                    if t.contains("type ends") {
                        "past the end".into()
                    } else if t.contains("hole") {
                        "hole".into()
                    } else {
                        "padding".into()
                    }
                };
                let mark = classes.contains(&"mk").then(|| legend_of(class)).flatten();
                let lane = &mut d.lanes[col - 2];
                for r in r0..r1 {
                    let (s, e) = rows[&r];
                    for b in s..e {
                        lane.cells.insert(
                            b,
                            Cell {
                                value: None,
                                region: Some((name.clone(), first)),
                                mark: mark.clone(),
                            },
                        );
                    }
                }
            } else if classes.contains(&"hex") {
                let g = grid_area(div);
                let (s, _) = rows[&g[0]];
                let lane = &mut d.lanes[g[1] - 2];
                let mut b = s;
                for tok in hex_tokens(body) {
                    if tok == "·" {
                        b += 1;
                        continue;
                    }
                    let mark = tok
                        .starts_with("<mark")
                        .then(|| legend_of(between(tok, "class=\"", "\"").unwrap_or("")))
                        .flatten();
                    lane.cells.insert(
                        b,
                        Cell {
                            value: Some(strip_tags(tok)),
                            region: None,
                            mark,
                        },
                    );
                    b += 1;
                }
            }
        }
        out.push(d);
    }
    out
}

/// The brackets of a marked cell in a text block, and the legend line
/// prefixes.
const BRACKETS: [(char, char); 3] = [('[', ']'), ('{', '}'), ('<', '>')];

/// One text block (the lines after the caption, without indentation):
/// the header, one line per row, then the legend lines.
fn parse_block(at: String, heading: String, lines: &[&str]) -> Drawn {
    let mut d = Drawn {
        at,
        heading,
        ..Drawn::default()
    };
    let header: Vec<char> = lines[0].chars().collect();
    assert!(lines[0].starts_with("bytes"), "{}: {lines:?}", d.at);
    // Column starts: a run of two or more spaces ends a header cell; the
    // next cell starts one before its first letter (a marked cell's bracket).
    let mut starts = vec![0usize];
    let mut i = 0;
    while i < header.len() {
        if header[i] == ' ' && header.get(i + 1) == Some(&' ') {
            let mut j = i;
            while j < header.len() && header[j] == ' ' {
                j += 1;
            }
            if j < header.len() {
                starts.push(j - 1);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    let cell_of = |line: &[char], c: usize| -> String {
        let a = starts[c].min(line.len());
        let b = starts
            .get(c + 1)
            .copied()
            .unwrap_or(line.len())
            .min(line.len());
        line[a..b].iter().collect::<String>().trim().to_string()
    };
    for c in 1..starts.len() {
        let title = cell_of(&header, c);
        let fields = title.ends_with(')') && title.contains(" (");
        let title = if fields {
            title[..title.find(" (").unwrap()].to_string()
        } else {
            title
        };
        d.lanes.push(DrawnLane {
            title,
            fields,
            cells: BTreeMap::new(),
        });
    }
    let legend_start = lines
        .iter()
        .position(|l| {
            BRACKETS
                .iter()
                .any(|(o, c)| l.starts_with(&format!("{o}..{c} ")))
                || l.starts_with("no byte is marked")
        })
        .unwrap_or_else(|| panic!("{}: no legend line in {lines:#?}", d.at));
    let mut legend: BTreeMap<char, String> = BTreeMap::new();
    for l in &lines[legend_start..] {
        if let Some(&(o, _)) = BRACKETS
            .iter()
            .find(|(o, c)| l.starts_with(&format!("{o}..{c} ")))
        {
            legend.insert(o, l[5..].to_string());
        }
    }
    let mut last_region: Vec<Option<(String, u64)>> = vec![None; d.lanes.len()];
    for line in &lines[1..legend_start] {
        let chars: Vec<char> = line.chars().collect();
        let (s, e) = range(&cell_of(&chars, 0));
        for (li, lane) in d.lanes.iter_mut().enumerate() {
            let raw = cell_of(&chars, li + 1);
            let (text, mark) = match BRACKETS
                .iter()
                .find(|(o, c)| raw.starts_with(*o) && raw.ends_with(*c) && raw.len() >= 2)
            {
                Some(&(o, _)) => (
                    raw[1..raw.len() - 1].to_string(),
                    Some(
                        legend
                            .get(&o)
                            .cloned()
                            .unwrap_or_else(|| format!("<no legend for {o}>")),
                    ),
                ),
                None => (raw.clone(), None),
            };
            if lane.fields {
                let region = if text == "|" {
                    last_region[li].clone().expect("a continuation first")
                } else {
                    let name = match text.as_str() {
                        "(hole)" => "hole".to_string(),
                        "(padding)" => "padding".to_string(),
                        "(past the end)" => "past the end".to_string(),
                        t => t.to_string(),
                    };
                    (name, s)
                };
                last_region[li] = Some(region.clone());
                for b in s..e {
                    lane.cells.insert(
                        b,
                        Cell {
                            value: None,
                            region: Some(region.clone()),
                            mark: mark.clone(),
                        },
                    );
                }
            } else {
                for (k, v) in text.split_whitespace().enumerate() {
                    lane.cells.insert(
                        s + k as u64,
                        Cell {
                            value: Some(v.to_string()),
                            region: None,
                            mark: mark.clone(),
                        },
                    );
                }
            }
        }
    }
    d
}

/// Every byte map of a Markdown report: each ```` ```text ```` block under
/// a finding heading.
fn parse_markdown(case: &str, md: &str) -> Vec<Drawn> {
    let mut out = Vec::new();
    let lines: Vec<&str> = md.lines().collect();
    let mut heading = String::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with("#") {
            heading = l.replace(['\\', '`'], "");
        }
        if l.starts_with("```") && l.ends_with("text") {
            let fence = l.trim_end_matches("text");
            let end = i + lines[i..].iter().position(|x| *x == fence).unwrap();
            out.push(parse_block(
                format!("md {case}: {heading}"),
                heading.clone(),
                &lines[i + 1..end],
            ));
            i = end;
        }
        i += 1;
    }
    out
}

/// The text byte maps of one finding: after each caption line, the block
/// indented by two.
fn parse_text(case: &str, heading: &str, lines: &[String]) -> Vec<Drawn> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        // Caption lines, then the indented block.
        while i < lines.len() && !lines[i].starts_with("  ") {
            i += 1;
        }
        let start = i;
        while i < lines.len() && lines[i].starts_with("  ") {
            i += 1;
        }
        if start < i {
            let block: Vec<&str> = lines[start..i].iter().map(|l| &l[2..]).collect();
            out.push(parse_block(
                format!("text {case}: {heading}"),
                heading.to_string(),
                &block,
            ));
        }
    }
    out
}

/// Letters and digits only: titles compared across escapings.
fn norm(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The finding a byte map is drawn for: of the findings whose code its
/// heading names (and whose title it holds, where one does), the one whose
/// evidence has the bytes drawn.
fn finding_of<'r>(report: &'r Report, d: &Drawn) -> Result<&'r Finding, String> {
    let h = norm(&d.heading);
    let by_code: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| d.heading.contains(f.code.as_str()))
        .collect();
    let by_title: Vec<&Finding> = by_code
        .iter()
        .copied()
        .filter(|f| h.contains(&norm(&f.title)))
        .collect();
    let candidates = if by_title.is_empty() {
        by_code
    } else {
        by_title
    };
    candidates
        .iter()
        .copied()
        .find(|f| same_bytes(f, d))
        .ok_or_else(|| format!("{}: no finding has the bytes drawn", d.at))
}

/// The bytes of a drawn lane, in offset order.
fn lane_hex(l: &DrawnLane) -> String {
    l.cells
        .values()
        .filter_map(|c| c.value.clone())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The example of a dump finding a lane titled `entry N` or `entry N cpu C`
/// draws, and its bytes there.
fn example_of<'f>(f: &'f Finding, title: &str) -> Option<(&'f serde_json::Value, String)> {
    let rest = title.strip_prefix("entry ")?;
    let (index, cpu) = match rest.split_once(" cpu ") {
        Some((i, c)) => (i.parse::<u64>().ok()?, Some(c.parse::<usize>().ok()?)),
        None => (rest.parse::<u64>().ok()?, None),
    };
    let ex = f.evidence["examples"]
        .as_array()?
        .iter()
        .find(|e| e["index"].as_u64() == Some(index))?;
    let hex = match cpu {
        Some(c) => ex["hex"][c].as_str()?,
        None => ex["hex"].as_str()?,
    };
    Some((ex, hex.to_string()))
}

/// Whether finding `f`'s evidence holds the bytes `d` draws.
fn same_bytes(f: &Finding, d: &Drawn) -> bool {
    let e = &f.evidence;
    let bytes: Vec<&DrawnLane> = d.lanes.iter().filter(|l| !l.fields).collect();
    match f.code {
        Code::DumpKeyPaddingGarbage | Code::DumpValuePaddingGarbage => bytes
            .iter()
            .all(|l| example_of(f, &l.title).is_some_and(|(_, hex)| hex == lane_hex(l))),
        Code::LookupPaddingMiss | Code::LookupByteOrderMiss | Code::LookupKeyAbsent => {
            let ex = &e["examples"][0];
            let present = ex["present_key"]
                .as_str()
                .or_else(|| ex["nearest_present_key"].as_str());
            d.lane("looked-up key").map(lane_hex).as_deref() == ex["key"].as_str()
                && bytes.get(1).map(|l| lane_hex(l)).as_deref() == present
        }
        _ => true,
    }
}

/// Byte offsets of `[{offset, size}]`.
fn range_set(v: &serde_json::Value) -> BTreeSet<u64> {
    v.as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| {
            let o = r["offset"].as_u64().unwrap();
            o..o + r["size"].as_u64().unwrap()
        })
        .collect()
}

fn num_set(v: &serde_json::Value) -> BTreeSet<u64> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_u64())
        .collect()
}

/// The bytes side `btf`/`user` of a layout finding names (a bitfield's:
/// the bytes holding its bits).
fn side_range(e: &serde_json::Value, side: &str) -> Option<(u64, u64)> {
    let get = |k: &str| e[format!("{side}_{k}")].as_u64();
    if let (Some(bo), Some(bs)) = (get("bit_offset"), get("bit_size")) {
        return Some((bo / 8, (bo + bs).div_ceil(8)));
    }
    Some((get("offset")?, get("offset")? + get("size")?))
}

/// A layout side's type size, from the finding's evidence.
fn side_size(e: &serde_json::Value, side: &str) -> Option<u64> {
    e["layouts"][side]["size"].as_u64()
}

/// The legends the check knows, each with its rule.
const LEGENDS: &[&str] = &[
    "padding that is not zero",
    "differs between the two keys",
    "padding the kernel compares: zero it before every lookup",
    "the field this finding is about, on this side",
    "bytes only this side has: the other type ends before them",
    "a field not at the same offset and size on the other side",
];

/// Checks every mark of `d` against finding `f` by its legend's rule, and
/// the bytes each rule covers for being marked. Returns what is wrong.
fn check(f: &Finding, d: &Drawn) -> Vec<String> {
    let mut bad = Vec::new();
    let e = &f.evidence;
    let at = &d.at;
    let mut err = |s: String| bad.push(format!("{at}: {s}"));
    // Which legends may appear, by the finding's code.
    let allowed: &[&str] = match f.code {
        Code::DumpKeyPaddingGarbage | Code::DumpValuePaddingGarbage => &[LEGENDS[0]],
        Code::LookupPaddingMiss | Code::LookupByteOrderMiss | Code::LookupKeyAbsent => {
            &[LEGENDS[1]]
        }
        Code::LayoutKeyPadding => &[LEGENDS[2]],
        _ => &[LEGENDS[3], LEGENDS[4], LEGENDS[5]],
    };
    for lane in &d.lanes {
        for (&b, c) in &lane.cells {
            if let Some(m) = &c.mark {
                if !allowed.contains(&m.as_str()) {
                    err(format!(
                        "lane {:?} byte {b}: legend {m:?} is not one of a {} map",
                        lane.title,
                        f.code.as_str()
                    ));
                }
            }
        }
    }
    let marked = |lane: &DrawnLane| -> BTreeSet<u64> {
        lane.cells
            .iter()
            .filter(|(_, c)| c.mark.is_some())
            .map(|(b, _)| *b)
            .collect()
    };
    match f.code {
        Code::DumpKeyPaddingGarbage | Code::DumpValuePaddingGarbage => {
            let padding = range_set(&e["padding"]);
            let mut drawn = 0;
            for lane in &d.lanes {
                if lane.fields {
                    if let Some(b) = marked(lane).first() {
                        err(format!(
                            "the type lane is marked at byte {b}: only entries hold padding values"
                        ));
                    }
                    continue;
                }
                let Some((ex, _)) = example_of(f, &lane.title) else {
                    err(format!(
                        "lane {:?} is no example of the evidence",
                        lane.title
                    ));
                    continue;
                };
                drawn += 1;
                let listed = num_set(&ex["garbage_offsets"]);
                let per_cpu = ex["hex"].is_array();
                for (&b, c) in &lane.cells {
                    let v = c.value.as_deref().unwrap_or("");
                    let dirty = v != "00" && padding.contains(&b) && listed.contains(&b);
                    if c.mark.is_some() && !dirty {
                        err(format!(
                            "{} byte {b} = {v} is marked as padding that is not zero (padding {}, listed {})",
                            lane.title,
                            padding.contains(&b),
                            listed.contains(&b)
                        ));
                    }
                    // A byte partly padding (next to a bitfield) may be non-zero in
                    // its used bits on one CPU and in its padding bits on another.
                    if c.mark.is_none() && dirty && !per_cpu {
                        err(format!(
                            "{} byte {b} = {v} is non-zero padding the evidence lists, not marked",
                            lane.title
                        ));
                    }
                }
                if !per_cpu && marked(lane) != listed {
                    err(format!(
                        "{}: marked {:?}, the evidence's garbage_offsets {listed:?}",
                        lane.title,
                        marked(lane)
                    ));
                }
            }
            if drawn == 0 {
                err("no entry is drawn".into());
            }
        }
        Code::LookupPaddingMiss | Code::LookupByteOrderMiss | Code::LookupKeyAbsent => {
            let keys: Vec<&DrawnLane> = d.lanes.iter().filter(|l| !l.fields).collect();
            if keys.len() != 2 {
                err(format!("{} key lanes, not 2", keys.len()));
                return bad;
            }
            let end = keys
                .iter()
                .flat_map(|l| l.cells.keys())
                .max()
                .map_or(0, |b| b + 1);
            let mut differ = BTreeSet::new();
            for b in 0..end {
                let v = |l: &DrawnLane| l.cells.get(&b).and_then(|c| c.value.clone());
                let (x, y) = (v(keys[0]), v(keys[1]));
                if x != y {
                    differ.insert(b);
                }
                for l in &keys {
                    let m = l.cells.get(&b).is_some_and(|c| c.mark.is_some());
                    if m != (x != y) && l.cells.contains_key(&b) {
                        err(format!(
                            "{} byte {b}: marked {m}, but the keys have {x:?} and {y:?}",
                            l.title
                        ));
                    }
                }
            }
            let ex = &e["examples"][0];
            if ex.get("differing_offsets").is_some() && num_set(&ex["differing_offsets"]) != differ
            {
                err(format!(
                    "the keys differ at {differ:?}, the evidence says {}",
                    ex["differing_offsets"]
                ));
            }
            if f.code == Code::LookupByteOrderMiss {
                // Only the swapped fields' bytes can differ.
                let swapped: Vec<String> = ex["swapped_fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                let Some(field) = d.lanes.iter().find(|l| l.fields) else {
                    err("a byte-order miss without the key's fields".into());
                    return bad;
                };
                for b in &differ {
                    let name = field.cells.get(b).and_then(|c| c.region.clone());
                    let name =
                        name.map(|(n, _)| n.split([' ', ':']).next().unwrap_or("").to_string());
                    if !name.is_some_and(|n| swapped.contains(&n)) {
                        err(format!(
                            "byte {b} differs outside the swapped fields {swapped:?}"
                        ));
                    }
                }
            }
        }
        Code::LayoutKeyPadding => {
            let padding = range_set(&e["padding"]);
            let Some(lane) = d.lanes.iter().find(|l| l.fields) else {
                err("no key type lane".into());
                return bad;
            };
            if marked(lane) != padding {
                err(format!(
                    "marked {:?}, the evidence's padding {padding:?}",
                    marked(lane)
                ));
            }
            for (&b, c) in &lane.cells {
                let gap = c
                    .region
                    .as_ref()
                    .is_some_and(|(n, _)| n == "hole" || n == "padding");
                if gap && c.mark.is_none() {
                    err(format!(
                        "byte {b} is drawn as a hole or padding but not marked"
                    ));
                }
            }
        }
        _ => {
            // Layout findings: both sides' lanes, titled `btf` and `user`.
            for lane in &d.lanes {
                let side = lane.title.as_str();
                let own = side_range(e, side);
                let this = side_size(e, side).unwrap_or(0);
                let other = side_size(e, if side == "btf" { "user" } else { "btf" }).unwrap_or(0);
                for (&b, c) in &lane.cells {
                    let Some(m) = c.mark.as_deref() else {
                        continue;
                    };
                    let region = c.region.clone().unwrap_or_default().0;
                    if m == LEGENDS[3] {
                        if !own.is_some_and(|(s, e)| s <= b && b < e) {
                            err(format!("{side} byte {b} is marked as the finding's field, which is at {own:?}"));
                        }
                        // The field named (its first path component) is the block there.
                        let path = if side == "user" && e.get("user_field").is_some() {
                            &e["user_field"]
                        } else {
                            &e["field"]
                        };
                        let top = path.as_str().unwrap_or("").split('.').next().unwrap_or("");
                        let names: Vec<&str> = region
                            .split(" / ")
                            .map(|n| n.split([' ', ':']).next().unwrap_or(""))
                            .collect();
                        if !names.contains(&top) {
                            err(format!(
                                "{side} byte {b} is marked as field {top:?} but lies in {region:?}"
                            ));
                        }
                    } else if m == LEGENDS[4] {
                        if !(other <= b && b < this) {
                            err(format!("{side} byte {b} is marked as only this side's, sizes {this} and {other}"));
                        }
                    } else if m == LEGENDS[5]
                        && (region.is_empty() || region == "hole" || region == "padding")
                    {
                        err(format!(
                            "{side} byte {b} is marked as a misplaced field but is {region:?}"
                        ));
                    }
                }
                // Unmarked bytes the rule covers.
                let kinds: BTreeSet<&str> = lane
                    .cells
                    .values()
                    .filter_map(|c| c.mark.as_deref())
                    .collect();
                if let Some((s, e)) = own {
                    for b in s..e.min(this) {
                        if lane.cells.get(&b).is_some_and(|c| c.mark.is_none()) {
                            err(format!(
                                "{side} byte {b} of the finding's field is not marked"
                            ));
                        }
                    }
                } else if f.code == Code::LayoutSizeMismatch || kinds.contains(LEGENDS[4]) {
                    for b in other..this {
                        if lane.cells.get(&b).is_some_and(|c| c.mark.is_none()) {
                            err(format!("{side} byte {b} only this side has is not marked"));
                        }
                    }
                }
            }
        }
    }
    // HTML's offset column: a row is starred exactly where a lane is marked.
    for &(s, e_, starred) in &d.marked_rows {
        let any = d
            .lanes
            .iter()
            .any(|l| (s..e_).any(|b| l.cells.get(&b).is_some_and(|c| c.mark.is_some())));
        if any != starred {
            err(format!(
                "row {s}..{e_}: starred {starred}, lanes marked {any}"
            ));
        }
    }
    bad
}

/// Every byte map of one case in the three renderings, with the finding
/// each is drawn for.
struct Rendered {
    report: Report,
    maps: Vec<Drawn>,
    /// Byte maps the renderer made (one per map, per format).
    expected: usize,
}

fn render(name: &str, args: &[&str]) -> Rendered {
    let report = analyze(args);
    let mut html = Vec::new();
    bpfcase::report::html::write(&mut html, &report).unwrap();
    let mut md = Vec::new();
    bpfcase::report::markdown::write(&mut md, &report).unwrap();
    let mut maps = parse_html(name, &String::from_utf8(html).unwrap());
    maps.extend(parse_markdown(name, &String::from_utf8(md).unwrap()));
    let mut per_format = 0;
    for (n, f) in report.findings.iter().enumerate() {
        per_format += bytemap::for_finding(&report, f).len();
        let lines = bytemap::text_lines(&report, f, TEXT_WIDTH);
        for l in &lines {
            assert!(
                l.chars().count() <= TEXT_WIDTH,
                "text {name}: finding {}: a line wider than {TEXT_WIDTH}: {l:?}",
                n + 1
            );
        }
        let heading = format!("{} {}", f.code.as_str(), f.title);
        maps.extend(parse_text(name, &heading, &lines));
    }
    Rendered {
        report,
        maps,
        expected: per_format * 3,
    }
}

fn cases() -> Vec<(&'static str, &'static [&'static str])> {
    super::CASES.iter().chain(MORE_CASES).copied().collect()
}

#[test]
fn every_mark_of_every_corpus_case_is_true_to_its_legend() {
    let mut checked: BTreeMap<&str, usize> = BTreeMap::new();
    let mut bad = Vec::new();
    let mut total = 0;
    for (name, args) in cases() {
        let r = render(name, args);
        assert_eq!(
            r.maps.len(),
            r.expected,
            "{name}: byte maps read back from HTML, Markdown and text"
        );
        for d in &r.maps {
            match finding_of(&r.report, d) {
                Ok(f) => {
                    *checked.entry(f.code.as_str()).or_default() += 1;
                    total += d.lanes.iter().map(|l| l.cells.len()).sum::<usize>();
                    bad.extend(check(f, d));
                }
                Err(e) => bad.push(e),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} wrong marks:\n{}",
        bad.len(),
        bad.join("\n")
    );
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| bytemap::draws_byte_map(**c))
        .map(|c| c.as_str())
        .filter(|c| !checked.contains_key(c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes that draw a byte map but no corpus case shows one: {missing:?}"
    );
    eprintln!("mark check: {total} drawn bytes in {checked:?} byte maps (HTML, Markdown, text)");
}

/// The check fails on the marks of the bug it was written for (zero
/// padding of one entry marked because another entry's padding there is
/// not zero), on a dirty byte left unmarked, and on a mark outside the
/// finding's field.
#[test]
fn the_mark_check_catches_wrong_and_missing_marks() {
    let r = render("demo_reload", MORE_CASES[0].1);
    let garbage = r
        .maps
        .iter()
        .find(|d| d.at.starts_with("html") && d.heading.contains("dump/key-padding-garbage"))
        .unwrap();
    let f = finding_of(&r.report, garbage).unwrap();
    assert!(check(f, garbage).is_empty());
    let mark = garbage
        .lanes
        .iter()
        .flat_map(|l| l.cells.values())
        .find_map(|c| c.mark.clone())
        .unwrap();
    // A zero padding byte marked.
    let mut wrong = Drawn {
        at: "tampered".into(),
        heading: garbage.heading.clone(),
        lanes: Vec::new(),
        marked_rows: Vec::new(),
    };
    for l in &garbage.lanes {
        wrong.lanes.push(DrawnLane {
            title: l.title.clone(),
            fields: l.fields,
            cells: l.cells.clone(),
        });
    }
    let zero = wrong
        .lanes
        .iter_mut()
        .filter(|l| !l.fields)
        .find_map(|l| {
            let pad = range_set(&f.evidence["padding"]);
            l.cells
                .iter_mut()
                .find(|(b, c)| pad.contains(b) && c.value.as_deref() == Some("00"))
                .map(|(_, c)| c)
        })
        .unwrap();
    zero.mark = Some(mark.clone());
    assert!(check(f, &wrong)
        .iter()
        .any(|e| e.contains("is marked as padding that is not zero")));
    // A dirty byte unmarked.
    let dirty = wrong
        .lanes
        .iter_mut()
        .flat_map(|l| l.cells.values_mut())
        .find(|c| c.mark.is_some() && c.value.as_deref() != Some("00"))
        .unwrap();
    dirty.mark = None;
    assert!(check(f, &wrong).iter().any(|e| e.contains("not marked")));
}
