//! `bpfcase analyze` on real corpus cases: one insta snapshot per finding
//! code it reports, and the exit-code contract.

mod support;

use support::{bpfcase, corpus};

/// Runs analyze with JSON output; returns (exit code, report).
fn analyze(args: &[&str]) -> (i32, serde_json::Value) {
    let out = bpfcase()
        .arg("analyze")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run bpfcase");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// The findings with `code`, paths made relative so snapshots are portable.
fn findings(report: &serde_json::Value, code: &str) -> serde_json::Value {
    let root = format!("{}/", env!("CARGO_MANIFEST_DIR"));
    let items: Vec<serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .cloned()
        .collect();
    let text = serde_json::to_string(&items).unwrap().replace(&root, "");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn key_padding_of_flow_key() {
    let obj = corpus("bpf/flows.bpf.o");
    let (code, report) = analyze(&[obj.to_str().unwrap(), "--map", "flows"]);
    assert_eq!(
        code, 0,
        "warnings alone do not fail with the default --fail-on error"
    );
    let f = findings(&report, "layout/key-padding");
    assert_eq!(f.as_array().unwrap().len(), 1);
    insta::assert_json_snapshot!("key_padding_flows", f);
}

#[test]
fn fail_on_warning_turns_key_padding_into_exit_1() {
    let obj = corpus("bpf/flows.bpf.o");
    let (code, _) = analyze(&[obj.to_str().unwrap(), "--fail-on", "warning"]);
    assert_eq!(code, 1);
}

#[test]
fn packed_key_has_no_padding_finding() {
    let obj = corpus("bpf/layouts.bpf.o");
    let (_, report) = analyze(&[obj.to_str().unwrap(), "--map", "packed_map"]);
    assert_eq!(
        findings(&report, "layout/key-padding")
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn unreadable_input_costs_only_its_own_findings() {
    let dir = std::env::temp_dir().join(format!("bpfcase-unreadable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.btf");
    // Valid magic, then a header whose type section runs past the end.
    let mut bytes = vec![
        0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    bytes.extend_from_slice(&[0; 8]);
    std::fs::write(&junk, &bytes).unwrap();
    let obj = corpus("bpf/flows.bpf.o");
    let (_, report) = analyze(&[
        junk.to_str().unwrap(),
        obj.to_str().unwrap(),
        "--map",
        "flows",
    ]);
    let unreadable = findings(&report, "input/unreadable");
    let list = unreadable.as_array().unwrap();
    assert_eq!(list.len(), 1, "{unreadable}");
    assert!(list[0]["title"].as_str().unwrap().contains("junk.btf"));
    assert_eq!(list[0]["evidence"]["offset"], 8);
    // The good object was still analysed.
    assert_eq!(
        findings(&report, "layout/key-padding")
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let shown = serde_json::to_string(&list[0])
        .unwrap()
        .replace(dir.to_str().unwrap(), "TMP");
    insta::assert_snapshot!("input_unreadable_truncated_btf", shown);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn same_input_same_report_byte_for_byte() {
    let obj = corpus("bpf/flows.bpf.o");
    let run = |fmt: &str| {
        bpfcase()
            .args(["analyze", obj.to_str().unwrap(), "--format", fmt])
            .output()
            .unwrap()
            .stdout
    };
    for fmt in ["json", "md", "html", "human"] {
        assert_eq!(run(fmt), run(fmt), "{fmt} output differs between runs");
    }
}

#[test]
fn shipped_reload_case_reports_what_its_readme_says() {
    // corpora/cases/reload/case.tar: a real bundle (see its README).
    let case = corpus("cases/reload/case.tar");
    let go = corpus("go");
    let (code, report) = analyze(&[case.to_str().unwrap(), go.to_str().unwrap()]);
    assert_eq!(code, 1, "stale pins and padding garbage are errors");
    let count = |c: &str| findings(&report, c).as_array().unwrap().len();
    assert_eq!(count("maps/stale-pin"), 3);
    assert_eq!(count("maps/duplicate-name"), 3);
    assert_eq!(count("dump/key-padding-garbage"), 3);
    assert_eq!(count("dump/value-padding-garbage"), 1);
    assert_eq!(count("dump/map-full"), 1);
    assert_eq!(
        count("input/unreadable"),
        0,
        "every file of the bundle verifies"
    );
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 12);
    assert!(
        checks.iter().all(|c| c["verdict"] == "match"),
        "{checks:#?}"
    );
}

#[test]
fn map_by_id_when_a_reload_left_two_maps_of_one_name() {
    let case = corpus("cases/reload/case.tar");
    let go = corpus("go");
    let base = [
        case.to_str().unwrap(),
        go.to_str().unwrap(),
        "--key-type",
        "FlowKeyGoInt",
    ];
    // By name: ambiguous, and the error lists the ids to choose from.
    let out = bpfcase()
        .arg("analyze")
        .args(base)
        .args(["--map", "flows"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("flows id 16273") && err.contains("flows id 16276"),
        "{err}"
    );
    // By id: one check, against that instance.
    let (_, report) = analyze(&[base[0], base[1], base[2], base[3], "--map", "16276"]);
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert_eq!(checks[0]["verdict"], "differs");
    assert!(findings(&report, "layout/size-mismatch")
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["map"]["id"] == 16276));
}
