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
    // The findings, after the index (which names the padding miss too).
    let html = &html[html.find("<h2>Findings</h2>").expect("findings")..];
    let at = html
        .find("lookup/padding-miss")
        .expect("padding miss in the report");
    let section = &html[at..];
    let section = &section[..section
        .find("class=\"card finding")
        .unwrap_or(section.len())];
    assert!(section.contains(">looked-up key</div>"), "{section}");
    assert!(section.contains(">present key</div>"), "{section}");
    // Row 7 (the hole after `proto`) is marked, its two bytes in <mark> (why: they differ).
    assert!(
        section.contains("<div class=\"off mk\" style=\"grid-area:5/1;min-height:21px\">7 ✱</div>"),
        "{section}"
    );
    assert!(
        section.contains("grid-area:5/3\"><mark class=\"m-differs\">a5</mark></div>"),
        "{section}"
    );
    assert!(
        section.contains("grid-area:5/4\"><mark class=\"m-differs\">00</mark></div>"),
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

/// `analyze --format openmetrics` of the traced case, with the repository
/// path taken out.
fn metrics_of_case() -> String {
    let out = bpfcase()
        .arg("analyze")
        .arg(corpus("cases/lookups/case.tar"))
        .args(["--format", "openmetrics", "--fail-on", "never"])
        .output()
        .expect("run bpfcase");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The case's known figures (README, and the JSON report): v2's `conns`
/// (id 34524) holds 9 of 64 entries, `tiny` (34526) is full (4 of 4), the
/// workload's `tiny` updates failed with E2BIG and its `slots` lookups past
/// max_entries with ENOENT; 9 errors, 6 warnings, 2 info.
#[test]
fn metrics_carry_the_case_figures() {
    let text = metrics_of_case();
    for line in [
        r#"bpfcase_map_entries{map_id="34524",map_name="conns",map_type="hash"} 9"#,
        r#"bpfcase_map_max_entries{map_id="34524",map_name="conns",map_type="hash"} 64"#,
        r#"bpfcase_map_fill_ratio{map_id="34524",map_name="conns",map_type="hash"} 0.140625"#,
        r#"bpfcase_map_fill_ratio{map_id="34526",map_name="tiny",map_type="hash"} 1"#,
        r#"bpfcase_map_padding_garbage_entries{map_id="34524",map_name="conns",map_type="hash",side="key"} 0"#,
        r#"bpfcase_map_duplicate_keys{map_id="34524",map_name="conns",map_type="hash"} 0"#,
        r#"bpfcase_findings{code="update/map-full",severity="error"} 1"#,
        r#"bpfcase_findings_by_severity{severity="error"} 9"#,
        r#"bpfcase_findings_by_severity{severity="warning"} 6"#,
        r#"bpfcase_findings_by_severity{severity="info"} 2"#,
        r#"bpfcase_collection_partial 0"#,
        r#"# TYPE bpfcase_trace_failed_calls gauge"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line} in\n{text}");
    }
    // Arrays list every slot: a fill ratio would always be 1.
    assert!(!text.contains(r#"bpfcase_map_fill_ratio{map_id="34525""#));
    assert!(text.contains(
        r#"bpfcase_trace_failed_calls{map_id="34526",map_name="tiny",cmd="map_update_elem",errno="E2BIG"} "#
    ));
    // Failed calls are a part of all calls, per series.
    let value = |prefix: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or_else(|| panic!("no {prefix}"))
            .parse()
            .unwrap()
    };
    let all = value(r#"bpfcase_trace_calls{map_id="34526",map_name="tiny",cmd="map_update_elem"}"#);
    let e2big = value(
        r#"bpfcase_trace_failed_calls{map_id="34526",map_name="tiny",cmd="map_update_elem",errno="E2BIG"}"#,
    );
    assert!(0 < e2big && e2big < all, "{e2big} of {all}");
    // The trace's 440 calls are all counted.
    let traced: u64 = text
        .lines()
        .filter(|l| l.starts_with("bpfcase_trace_calls{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(traced, 440);
    insta::assert_snapshot!("lookups_openmetrics", text);
}

/// Prometheus's own linter (`promtool check metrics`, Debian's `prometheus`
/// package) accepts the file: format, HELP/TYPE, names and suffixes.
#[test]
fn promtool_accepts_the_metrics() {
    if !support::require_tool("promtool", "promtool_accepts_the_metrics") {
        return;
    }
    use std::io::Write;
    let text = metrics_of_case();
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

/// Kills node_exporter however the test ends.
struct Exporter(std::process::Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GET /metrics from 127.0.0.1:`port` over plain HTTP/1.0; `None` while
/// nothing listens yet.
fn scrape(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    let (head, body) = body.split_once("\r\n\r\n")?;
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    Some(body.to_string())
}

/// The real consumer: Debian's node_exporter with only its textfile
/// collector, on a free localhost port, pointed at a directory holding the
/// metrics `analyze -o` wrote; its /metrics serves the case's series with
/// their values, and reports no textfile error.
#[test]
fn node_exporter_serves_the_metrics() {
    let exporter = "prometheus-node-exporter";
    if !support::require_tool(exporter, "node_exporter_serves_the_metrics") {
        return;
    }
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("textfile");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let prom = dir.join("bpfcase.prom");
    let out = bpfcase()
        .arg("analyze")
        .arg(corpus("cases/lookups/case.tar"))
        .args(["--format", "openmetrics", "--fail-on", "never", "-o"])
        .arg(&prom)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Written atomically: the file and nothing else in the directory.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["bpfcase.prom"]);

    // A port nobody holds now; node_exporter may still lose it to another
    // process, so a failed start is retried on another port.
    let mut body = None;
    for _attempt in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Exporter(
            std::process::Command::new(exporter)
                .arg("--collector.disable-defaults")
                .arg("--collector.textfile")
                .arg(format!("--collector.textfile.directory={}", dir.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start node_exporter"),
        );
        let t0 = std::time::Instant::now();
        while t0.elapsed() < std::time::Duration::from_secs(10) {
            if child.0.try_wait().unwrap().is_some() {
                break;
            }
            if let Some(b) = scrape(port) {
                body = Some(b);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if body.is_some() {
            break;
        }
    }
    let body = body.expect("node_exporter never served /metrics");
    for line in [
        "node_textfile_scrape_error 0",
        r#"bpfcase_map_entries{map_id="34524",map_name="conns",map_type="hash"} 9"#,
        r#"bpfcase_map_fill_ratio{map_id="34526",map_name="tiny",map_type="hash"} 1"#,
        r#"bpfcase_findings{code="update/map-full",severity="error"} 1"#,
        r#"bpfcase_collection_partial 0"#,
        "# TYPE bpfcase_map_entries gauge",
    ] {
        assert!(body.lines().any(|l| l == line), "no line {line} in\n{body}");
    }
    assert!(body.contains(r#"bpfcase_trace_failed_calls{cmd="map_update_elem",errno="E2BIG",map_id="34526",map_name="tiny"} "#), "{body}");
}
