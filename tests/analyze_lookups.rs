//! `bpfcase analyze` on the lookups corpus case (`corpora/cases/lookups`): a
//! real bundle whose bpf() call trace was recorded by `collect --trace-pid`
//! while the corpus workload made calls that fail in known ways, and an
//! strace log of the same process with a bundle of the same moment. One insta
//! snapshot per finding code the trace gives.

mod support;

use support::{bpfcase, corpus};

/// Runs analyze with JSON output and returns the report.
fn analyze(inputs: &[&str]) -> serde_json::Value {
    let out = bpfcase()
        .arg("analyze")
        .args(inputs.iter().map(|i| corpus(i)))
        .args(["--format", "json", "--fail-on", "never"])
        .output()
        .expect("run bpfcase");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = format!("{}/", env!("CARGO_MANIFEST_DIR"));
    let text = String::from_utf8_lossy(&out.stdout).replace(&root, "");
    serde_json::from_str(&text).expect("JSON report")
}

/// The findings with `code`.
fn findings(report: &serde_json::Value, code: &str) -> Vec<serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .cloned()
        .collect()
}

/// The one finding with `code` from the traced bundle.
fn traced(code: &str) -> serde_json::Value {
    let f = findings(&analyze(&["cases/lookups/case.tar"]), code);
    assert_eq!(f.len(), 1, "{code}: {f:#?}");
    f.into_iter().next().unwrap()
}

#[test]
fn padding_miss() {
    let f = traced("lookup/padding-miss");
    assert_eq!(f["evidence"]["padding_offsets"][0]["offset"], 7);
    insta::assert_json_snapshot!("lookups_padding_miss", f);
}

#[test]
fn byte_order_miss() {
    let f = traced("lookup/byte-order-miss");
    assert_eq!(f["evidence"]["swapped_fields"][0], "dport");
    insta::assert_json_snapshot!("lookups_byte_order_miss", f);
}

#[test]
fn index_out_of_range() {
    let f = traced("lookup/index-out-of-range");
    assert_eq!(
        f["evidence"]["indexes"]["seen"],
        serde_json::json!([8, 1000])
    );
    insta::assert_json_snapshot!("lookups_index_out_of_range", f);
}

#[test]
fn key_deleted() {
    let f = traced("lookup/key-deleted");
    assert_eq!(
        f["evidence"]["examples"][0]["deleted_by"]["cmd"],
        "map_delete_elem"
    );
    insta::assert_json_snapshot!("lookups_key_deleted", f);
}

#[test]
fn key_absent() {
    let f = traced("lookup/key-absent");
    assert_eq!(f["severity"], "info");
    insta::assert_json_snapshot!("lookups_key_absent", f);
}

#[test]
fn wrong_map() {
    let f = traced("lookup/wrong-map");
    assert!(f["evidence"]["map"]["prog_ids"]
        .as_array()
        .unwrap()
        .is_empty());
    insta::assert_json_snapshot!("lookups_wrong_map", f);
}

#[test]
fn update_map_full() {
    let f = traced("update/map-full");
    assert_eq!(f["evidence"]["max_entries"], 4);
    insta::assert_json_snapshot!("lookups_update_map_full", f);
}

#[test]
fn update_exists() {
    let f = traced("update/exists");
    assert_eq!(f["evidence"]["examples"][0]["flags"], 1);
    insta::assert_json_snapshot!("lookups_update_exists", f);
}

/// strace shows no key bytes: what it can say is said (full map, create-only
/// conflicts, out-of-range array lookups, the wrong instance), the rest is
/// an honest "no key bytes".
#[test]
fn strace_log_with_a_bundle_of_the_same_moment() {
    let report = analyze(&[
        "cases/lookups/strace-case.tar",
        "cases/lookups/workload.strace",
    ]);
    let codes: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["evidence"]["trace"]
                .as_str()
                .is_some_and(|t| t.ends_with(".strace"))
        })
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["map"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = [
        ("lookup/index-out-of-range", "slots"),
        ("lookup/wrong-map", "conns"),
        ("update/map-full", "tiny"),
        ("update/exists", "conns"),
        ("lookup/key-absent", "conns"),
    ];
    for (code, map) in want {
        assert!(
            codes.iter().any(|(c, m)| c == code && m == map),
            "{code} on {map} missing from {codes:?}"
        );
    }
    let absent = findings(&report, "lookup/key-absent");
    assert!(absent[0]["title"]
        .as_str()
        .unwrap()
        .contains("no key bytes"));
    insta::assert_json_snapshot!(
        "lookups_strace_wrong_map",
        findings(&report, "lookup/wrong-map")
    );
}

#[test]
fn a_bad_trace_line_costs_only_itself() {
    let dir = std::env::temp_dir().join(format!("bpfcase-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = std::fs::read_to_string(corpus("cases/lookups/workload.strace")).unwrap();
    let mut lines: Vec<&str> = log.lines().collect();
    let bad = lines
        .iter()
        .position(|l| l.contains("BPF_MAP_LOOKUP_ELEM"))
        .unwrap();
    let broken = lines[bad].replace("map_fd=", "map_fd=x");
    lines[bad] = &broken;
    let path = dir.join("broken.strace");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = bpfcase()
        .arg("analyze")
        .arg(corpus("cases/lookups/strace-case.tar"))
        .arg(&path)
        .args(["--format", "json", "--fail-on", "never"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let unreadable = findings(&report, "input/unreadable");
    let f = unreadable
        .iter()
        .find(|f| {
            f["evidence"]["file"]
                .as_str()
                .is_some_and(|p| p.ends_with("broken.strace"))
        })
        .expect("the broken line is reported");
    assert_eq!(f["evidence"]["line"], bad as u64 + 1);
    assert!(
        f["title"].as_str().unwrap().contains("map_fd"),
        "{}",
        f["title"]
    );
    // The other calls are still explained.
    assert_eq!(findings(&report, "update/map-full").len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The HTML report draws the looked-up key beside the present one, aligned
/// with `struct conn_key`'s fields, the padding byte that differs marked.
#[test]
fn html_shows_the_two_keys_byte_by_byte() {
    let out = bpfcase()
        .arg("analyze")
        .arg(corpus("cases/lookups/case.tar"))
        .args(["--format", "html", "--fail-on", "never"])
        .output()
        .expect("run bpfcase");
    let html = String::from_utf8_lossy(&out.stdout);
    let at = html
        .find("lookup/padding-miss")
        .expect("padding miss in the report");
    let section = &html[at..];
    let section = &section[..section
        .find("class=\"card finding")
        .unwrap_or(section.len())];
    assert!(section.contains(">looked-up key</div>"), "{section}");
    assert!(section.contains(">present key</div>"), "{section}");
    // Row 7 (the hole after `proto`) is marked, its two bytes in <mark>.
    assert!(
        section.contains("<div class=\"off mk\" style=\"grid-area:5/1;min-height:21px\">7 ✱</div>"),
        "{section}"
    );
    assert!(
        section.contains("grid-area:5/3\"><mark>a5</mark></div>"),
        "{section}"
    );
    assert!(
        section.contains("grid-area:5/4\"><mark>00</mark></div>"),
        "{section}"
    );
    assert!(section.contains("grid-area:4/3\">06</div>"), "{section}");
    assert!(section.contains("<span>hole (1 B)</span>"), "{section}");
    assert!(section.contains("<b>proto</b>"), "{section}");
}

/// `--map ID` keeps only that instance's findings, the map-level ones
/// (stale pins, duplicate names) included.
#[test]
fn map_selection_covers_every_kind_of_finding() {
    let out = bpfcase()
        .arg("analyze")
        .arg(corpus("cases/lookups/case.tar"))
        .args(["--map", "34524", "--format", "json", "--fail-on", "never"])
        .output()
        .expect("run bpfcase");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["map"]["id"])
        .collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| *id == 34524), "{ids:?}");
}
