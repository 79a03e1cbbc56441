//! The Markdown and HTML reports on the shipped cases, with a finding of
//! every byte-level kind: Markdown snapshots, read back by a CommonMark
//! parser (pulldown-cmark) to check that no code span is broken, and the
//! HTML laid out by headless Chromium at desktop and phone width, checked
//! from the DOM (nothing overflows its card; every byte map has its grid,
//! legend and text).

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use support::{bpfcase, require_tool};

/// The cases: a name and `analyze`'s arguments (paths relative to the
/// repository, so reports name them the same everywhere).
const CASES: &[(&str, &[&str])] = &[
    // Traced calls: padding and byte-order misses, an absent key; key padding.
    ("lookups", &["corpora/cases/lookups/case.tar"]),
    // A reload: padding garbage in dumped keys and values, key padding.
    (
        "reload_flows",
        &[
            "corpora/cases/reload/case.tar",
            "corpora/go",
            "--map",
            "flows",
        ],
    ),
    // Type mismatches (Go `int`) and a missing field, with a dump's garbage.
    (
        "flows_go_int",
        &[
            "corpora/bpf/flows.bpf.o",
            "corpora/go",
            "--map",
            "flows",
            "--key-type",
            "FlowKeyGoInt",
            "--value-type",
            "FlowValueMissingFlags",
            "--dump",
            "flows=corpora/dumps/flows/flows.json",
        ],
    ),
    // Offset, size and array-length mismatches; bitfields.
    (
        "layout_pairs",
        &[
            "corpora/bpf/layouts.bpf.o",
            "corpora/bpf/stats.bpf.o",
            "corpora/go",
            "corpora/c/layouts.x86_64",
            "--pair",
            "PackedHdrNatural=packed_hdr",
            "--pair",
            "FamZeroArray=fam",
            "--pair",
            "ProcKeyComm15=proc_key",
            "--pair",
            "bits_swapped=bits",
        ],
    ),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn report(args: &[&str], format: &str) -> String {
    let out = bpfcase()
        .current_dir(root())
        .arg("analyze")
        .args(args)
        .args(["--format", format, "--fail-on", "never"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Findings whose report must carry a byte map: layout findings with both
/// layouts, key padding, padding garbage in dumps, and missed lookups with
/// the two keys.
fn byte_findings(json: &serde_json::Value) -> Vec<usize> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            let e = &f["evidence"];
            let code = f["code"].as_str().unwrap();
            e.get("layouts").is_some()
                || code == "layout/key-padding"
                || code.ends_with("-padding-garbage")
                || (e["examples"][0]["key"].is_string()
                    && (e["examples"][0]["present_key"].is_string()
                        || e["examples"][0]["nearest_present_key"].is_string()))
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// Every string, number and boolean of a JSON tree, with the contents of
/// the backtick spans inside its strings (as pulldown-cmark reads them).
fn json_texts(v: &serde_json::Value, out: &mut HashSet<String>) {
    match v {
        serde_json::Value::String(s) => {
            out.insert(s.clone());
            for e in pulldown_cmark::Parser::new(s) {
                if let pulldown_cmark::Event::Code(c) = e {
                    out.insert(c.to_string());
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|i| json_texts(i, out)),
        serde_json::Value::Object(o) => o.values().for_each(|i| json_texts(i, out)),
        serde_json::Value::Null => {}
        other => {
            out.insert(other.to_string());
        }
    }
}

/// Reads `md` with a CommonMark parser (GFM tables) and checks that every
/// inline code span holds exactly a value of the JSON report (a whole
/// string or number, a backtick span inside one, a `file:line`, a map
/// `name`), that no backtick is left in text, and that `<details>` blocks
/// are closed.
fn check_commonmark(name: &str, md: &str, json: &serde_json::Value) {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut meant = HashSet::new();
    json_texts(json, &mut meant);
    for f in json["findings"].as_array().unwrap() {
        for s in f["sources"].as_array().unwrap() {
            if let Some(l) = s["line"].as_u64() {
                meant.insert(format!("{}:{l}", s["file"].as_str().unwrap()));
            }
        }
    }
    let mut in_block = false;
    let (mut opened, mut closed, mut spans) = (0, 0, 0);
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_block = true,
            Event::End(TagEnd::CodeBlock) => in_block = false,
            Event::Code(c) => {
                spans += 1;
                assert!(
                    meant.contains(c.as_ref()),
                    "{name}: code span {c:?} is not a value of the report: a span was split or merged"
                );
            }
            Event::Text(t) if !in_block => {
                assert!(!t.contains('`'), "{name}: stray backtick in text {t:?}");
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                opened += h.matches("<details>").count();
                closed += h.matches("</details>").count();
            }
            _ => {}
        }
    }
    assert!(spans > 0, "{name}: no code span at all");
    assert_eq!(opened, closed, "{name}: unbalanced <details>");
}

#[test]
fn markdown_of_shipped_cases_is_valid_commonmark_with_intact_code_spans() {
    for (name, args) in CASES {
        let md = report(args, "md");
        let json: serde_json::Value = serde_json::from_str(&report(args, "json")).unwrap();
        check_commonmark(name, &md, &json);
        // One text block per byte finding, under its heading.
        let blocks = md.matches("```text\n").count();
        assert_eq!(blocks, byte_findings(&json).len(), "{name}:\n{md}");
        insta::assert_snapshot!(format!("md_{name}"), md);
    }
}

/// A code span fenced too short for the backticks it holds is caught.
#[test]
fn commonmark_check_catches_a_broken_span() {
    let json = serde_json::json!({"findings": [{"sources": [], "evidence": {
        "difference": "8 bytes (Go `int` is 8)"}}]});
    let broken = std::panic::catch_unwind(|| {
        check_commonmark("broken", "x `8 bytes (Go `int` is 8)` y", &json)
    });
    assert!(broken.is_err());
    check_commonmark("fenced", "x `` 8 bytes (Go `int` is 8) `` y", &json);
}

/// A page that holds the report in an iframe `{width}` px wide (headless
/// Chromium's window is at least 500 px wide; an iframe's viewport is what
/// media queries see) and, when it has loaded, walks its DOM and writes the
/// verdict as JSON into `<pre id="verdict">`. The report itself is not
/// touched and has no script.
const CHECKER: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><script>
function check(frame) {
  var doc = frame.contentDocument, win = frame.contentWindow;
  var bad = [];
  var cards = Array.prototype.slice.call(doc.querySelectorAll('.card'));
  cards.forEach(function (c) {
    var cr = c.getBoundingClientRect();
    c.querySelectorAll('*').forEach(function (e) {
      var r = e.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) return;
      if (r.left < cr.left - 0.5 || r.right > cr.right + 0.5) {
        bad.push({card: c.id || (c.querySelector('h2') || c).textContent.slice(0, 40),
                  element: e.tagName + '.' + e.className,
                  text: (e.textContent || '').slice(0, 60),
                  left: r.left, right: r.right, card_left: cr.left, card_right: cr.right});
      }
    });
  });
  var maps = {};
  doc.querySelectorAll('section.finding').forEach(function (s) {
    maps[s.id] = Array.prototype.map.call(s.querySelectorAll('figure.bm'), function (f) {
      return {grid: !!f.querySelector('.bmg'), legend: !!f.querySelector('.legend'),
              text: (f.querySelector('p.bmt') || {textContent: ''}).textContent,
              rows: f.querySelectorAll('.bmg > .off:not(.hd)').length,
              fields: Array.prototype.map.call(f.querySelectorAll('.bmg > .fld b'), function (b) { return b.textContent; })};
    });
  });
  var v = document.createElement('pre');
  v.className = 'verdict';
  v.textContent = JSON.stringify({name: frame.dataset.name, width: win.innerWidth, cards: cards.length, bad: bad.slice(0, 10),
    bad_count: bad.length, page_scrolls: doc.documentElement.scrollWidth > win.innerWidth,
    titles: doc.querySelectorAll('[title]').length, scripts: doc.scripts.length, maps: maps});
  document.body.appendChild(v);
}
</script></head><body style="margin:0">FRAMES</body></html>"#;

/// Chromium's flags: headless, no network, no first-run work, a fresh profile.
fn chromium(profile: &Path) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.arg("120").arg("chromium").args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// Lays every report out in one headless Chromium run, each at every
/// width, and returns the verdicts (each names its report and width).
fn chromium_verdicts(
    reports: &[(&str, String)],
    widths: &[u32],
    dir: &Path,
) -> Vec<serde_json::Value> {
    let mut frames = String::new();
    for (name, html) in reports {
        std::fs::write(dir.join(format!("{name}.html")), html).unwrap();
        for w in widths {
            frames.push_str(&format!(
                "<iframe data-name=\"{name}\" src=\"{name}.html\" onload=\"check(this)\" scrolling=\"no\" style=\"display:block;border:0;width:{w}px;height:30000px\"></iframe>"
            ));
        }
    }
    let page = dir.join("check.html");
    std::fs::write(&page, CHECKER.replace("FRAMES", &frames)).unwrap();
    let widest = widths.iter().max().copied().unwrap_or(0).max(500);
    let out = chromium(&dir.join("profile"))
        .arg(format!("--window-size={},900", widest + 20))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let verdicts: Vec<serde_json::Value> = dom
        .split("<pre class=\"verdict\">")
        .skip(1)
        .map(|part| {
            let text = part[..part.find("</pre>").unwrap()]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&");
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        })
        .collect();
    assert_eq!(
        verdicts.len(),
        reports.len() * widths.len(),
        "a report was not laid out (Chromium exit {:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    verdicts
}

#[test]
fn html_reports_lay_out_in_chromium_at_desktop_and_phone_width() {
    if !require_tool("chromium", "html_reports_lay_out_in_chromium") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("bpfcase-chromium-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let started = std::time::Instant::now();
    let widths = [1400, 390];
    let mut reports = Vec::new();
    let mut wanted = Vec::new();
    for (name, args) in CASES {
        let html = report(args, "html");
        assert!(html.contains("<meta name=\"viewport\""), "{name}");
        assert!(!html.contains("<script"), "{name}: the report has a script");
        let json: serde_json::Value = serde_json::from_str(&report(args, "json")).unwrap();
        let want = byte_findings(&json);
        assert!(!want.is_empty(), "{name}: no byte finding");
        // Cards are anchored by finding id: the JSON's order numbers them.
        let ids: Vec<String> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect();
        wanted.push((want, ids));
        reports.push((*name, html));
    }
    let verdicts = chromium_verdicts(&reports, &widths, &dir);
    for ((name, _), (want, findings)) in reports.iter().zip(&wanted) {
        for width in widths {
            let at = format!("{name} at {width}px");
            let v = verdicts
                .iter()
                .find(|v| v["name"] == *name && v["width"] == width)
                .unwrap_or_else(|| panic!("{at}: no verdict"));
            assert_eq!(v["width"], width, "{at}: {v}");
            assert_eq!(
                v["bad_count"], 0,
                "{at}: elements overflow their card: {v:#}"
            );
            assert_eq!(v["page_scrolls"], false, "{at}: the page scrolls sideways");
            assert_eq!(v["titles"], 0, "{at}: meaning in title tooltips");
            assert_eq!(v["scripts"], 0, "{at}: the report has a script");
            let maps = v["maps"].as_object().unwrap();
            assert_eq!(maps.len(), findings.len(), "{at}");
            for (id, figures) in maps {
                let n = 1 + findings
                    .iter()
                    .position(|f| f == id)
                    .unwrap_or_else(|| panic!("{at}: card {id} is no finding"));
                let figures = figures.as_array().unwrap();
                assert_eq!(
                    !figures.is_empty(),
                    want.contains(&n),
                    "{at}: finding {n} byte maps: {figures:?}"
                );
                for f in figures {
                    assert_eq!(f["grid"], true, "{at}: finding {n}: {f}");
                    assert_eq!(f["legend"], true, "{at}: finding {n}: no legend");
                    assert!(f["rows"].as_u64().unwrap() > 0, "{at}: finding {n}: {f}");
                    let text = f["text"].as_str().unwrap();
                    assert!(
                        text.starts_with("Marked ✱: byte"),
                        "{at}: finding {n}: {text}"
                    );
                }
            }
            if *name == "lookups" {
                // Field names are drawn whole: `conn_key`'s, for the padding miss.
                assert_eq!(
                    v["maps"][&findings[1]][0]["fields"],
                    serde_json::json!(["daddr", "dport", "proto", "ifindex"]),
                    "{at}"
                );
            }
        }
    }
    eprintln!(
        "chromium: {} reports at 2 widths in {:.1} s",
        CASES.len(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The two shipped cases as `just demo` and `just demo-reload` run them.
const DEMO_CASES: &[(&str, &[&str])] = &[
    ("lookups", &["corpora/cases/lookups/case.tar"]),
    ("reload", &["corpora/cases/reload/case.tar", "corpora/go"]),
];

/// Every format opens with the index of root causes, and the findings
/// follow in its order with the folded ones under their cause: text,
/// Markdown, HTML (its body, without the style sheet) and JSON.
#[test]
fn every_format_opens_with_the_index_of_root_causes() {
    for (name, args) in DEMO_CASES {
        let json: serde_json::Value = serde_json::from_str(&report(args, "json")).unwrap();
        let causes = json["causes"].as_array().unwrap();
        let findings = json["findings"].as_array().unwrap();
        let parts: usize = causes
            .iter()
            .map(|c| c["parts"].as_array().unwrap().len())
            .sum();
        assert_eq!(
            parts,
            findings.len(),
            "{name}: every finding is in one cause"
        );
        let text = report(args, "text");
        let md = report(args, "md");
        let html = report(args, "html");
        // The index comes before the first finding, in every format.
        let first = findings[0]["code"].as_str().unwrap();
        for (fmt, doc, index) in [
            ("text", &text, "index: "),
            ("md", &md, "## Index"),
            ("html", &html, "<h2>Index</h2>"),
        ] {
            let at = doc
                .find(index)
                .unwrap_or_else(|| panic!("{name} {fmt}: no index"));
            assert!(
                at < doc.find(first).unwrap(),
                "{name} {fmt}: index after a finding"
            );
            // One index line per cause, in the causes' order.
            let mut from = at;
            for c in causes {
                let title = c["title"].as_str().unwrap();
                let word = title.split(' ').take(3).collect::<Vec<_>>().join(" ");
                let code = c["code"].as_str().unwrap();
                let next = doc[from..]
                    .find(code)
                    .unwrap_or_else(|| panic!("{name} {fmt}: {code} out of order"));
                from += next;
                assert!(doc[from..].contains(&word), "{name} {fmt}: {word:?}");
            }
        }
        insta::assert_snapshot!(format!("index_{name}_text"), text);
        insta::assert_snapshot!(format!("index_{name}_md"), md);
        let body = html.split_once("</style>").map(|(_, b)| b).unwrap_or(&html);
        // Each index entry links to its cause's card.
        for c in causes {
            let id = c["id"].as_str().unwrap();
            assert!(
                body.contains(&format!("href=\"#{id}\"")),
                "{name}: no link to {id}"
            );
            assert!(
                body.contains(&format!(" id=\"{id}\"")),
                "{name}: no card {id}"
            );
        }
        insta::assert_snapshot!(format!("index_{name}_html"), body);
        let index = serde_json::json!({
            "causes": causes,
            "links": findings.iter().map(|f| serde_json::json!({
                "id": f["id"], "code": f["code"], "map": f["map"], "caused_by": f["caused_by"],
            })).collect::<Vec<_>>(),
        });
        insta::assert_json_snapshot!(format!("index_{name}_json"), index);
    }
}

/// `just demo-reload`: the reload (three stale pins, three duplicate
/// names) is one cause; `just demo`'s reload adds the wrong-map call.
#[test]
fn one_reload_is_one_cause() {
    for (name, args, want) in [
        ("reload", DEMO_CASES[1].1, 6),
        ("lookups", DEMO_CASES[0].1, 7),
    ] {
        let json: serde_json::Value = serde_json::from_str(&report(args, "json")).unwrap();
        let reload: Vec<&serde_json::Value> =
            json["causes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| {
                    c["parts"].as_array().unwrap().iter().any(|p| {
                        json["findings"].as_array().unwrap().iter().any(|f| {
                            f["id"] == *p && f["code"].as_str().unwrap().starts_with("maps/")
                        })
                    })
                })
                .collect();
        assert_eq!(reload.len(), 1, "{name}: {reload:#?}");
        assert_eq!(reload[0]["parts"].as_array().unwrap().len(), want, "{name}");
    }
}

/// Over every corpus case: each finding has an id, unique in its report,
/// every `caused_by` names a finding of the report, and each cause's id is
/// its first part's (a head, itself caused by nothing).
#[test]
fn finding_ids_are_unique_and_every_caused_by_points_at_one() {
    let mut cases: Vec<Vec<String>> = Vec::new();
    for dir in ["corpora/cases", "corpora/fleet/bundles"] {
        let mut found: Vec<String> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter_map(|p| {
                let tar = if p.is_dir() { p.join("case.tar") } else { p };
                (tar.extension().is_some_and(|x| x == "tar") && tar.exists())
                    .then(|| tar.strip_prefix(root()).unwrap().display().to_string())
            })
            .collect();
        found.sort();
        assert!(!found.is_empty(), "no bundle in {dir}");
        cases.extend(found.into_iter().map(|t| vec![t]));
    }
    for (_, args) in CASES.iter().chain(DEMO_CASES) {
        cases.push(args.iter().map(|a| a.to_string()).collect());
    }
    for dump in [
        "flows=corpora/dumps/flows/flows.json",
        "flows_small=corpora/dumps/flows/flows_small.json",
        "flows=corpora/dumps/derived/flows.duplicate.json",
        "flows=corpora/dumps/broken/flows.truncated.json",
    ] {
        cases.push(
            ["corpora/bpf/flows.bpf.o", "--dump", dump]
                .iter()
                .map(|a| a.to_string())
                .collect(),
        );
    }
    let (mut with_causes, mut refused) = (0, 0);
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = bpfcase()
            .current_dir(root())
            .arg("analyze")
            .args(&args)
            .args(["--format", "json", "--fail-on", "never"])
            .output()
            .unwrap();
        if !out.status.success() {
            // A bundle analyze refuses (the fleet's truncated one) has no
            // report; the refusal names it.
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(String::from_utf8_lossy(&out.stderr).contains(args[0]));
            refused += 1;
            continue;
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let findings = json["findings"].as_array().unwrap();
        let ids: HashSet<&str> = findings.iter().map(|f| f["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), findings.len(), "{args:?}: ids not unique");
        for f in findings {
            if let Some(c) = f["caused_by"].as_str() {
                assert!(ids.contains(c), "{args:?}: caused_by {c} is no finding");
                let head = findings.iter().find(|g| g["id"] == c).unwrap();
                assert!(
                    head["caused_by"].is_null(),
                    "{args:?}: {c} is itself folded"
                );
            }
        }
        let causes = json["causes"].as_array().unwrap();
        let mut parts = 0;
        for c in causes {
            let p = c["parts"].as_array().unwrap();
            assert_eq!(c["id"], p[0], "{args:?}: a cause's id is its head's");
            parts += p.len();
        }
        assert_eq!(
            parts,
            findings.len(),
            "{args:?}: every finding in one cause"
        );
        with_causes += usize::from(causes.len() < findings.len());
    }
    assert!(with_causes >= 2, "no case folds anything");
    assert!(refused <= 1, "{refused} cases refused");
}

#[path = "report_formats/marks.rs"]
mod marks;
