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

/// Runs analyze in one format; returns (exit code, stdout, stderr).
fn analyze_as(args: &[&str], format: &str) -> (i32, String, String) {
    let out = bpfcase()
        .arg("analyze")
        .args(args)
        .args(["--format", format])
        .output()
        .expect("run bpfcase");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 11: the fix blamed `sport`, the value finding blamed `ifindex`, the
/// size mismatch came twice and the root cause sixth. Now `Saddr int` at
/// offset 0 leads in every format, `flags` is the missing field, and the
/// shifted fields and the size are consequences of one finding each.
#[test]
fn root_cause_first_for_go_int_key_and_missing_flags() {
    let obj = corpus("bpf/flows.bpf.o");
    let go = corpus("go");
    let args = [
        obj.to_str().unwrap(),
        go.to_str().unwrap(),
        "--map",
        "flows",
        "--key-type",
        "FlowKeyGoInt",
        "--value-type",
        "FlowValueMissingFlags",
    ];
    let (code, report) = analyze(&args);
    assert_eq!(code, 1);
    let all = report["findings"].as_array().unwrap();
    let first = &all[0];
    assert_eq!(first["code"], "layout/type-mismatch", "{first:#}");
    assert_eq!(first["root_cause"], true);
    assert_eq!(first["evidence"]["field"], "saddr");
    assert_eq!(first["evidence"]["user_field"], "Saddr");
    assert_eq!(first["evidence"]["btf_offset"], 0);
    let title = first["title"].as_str().unwrap();
    assert!(
        title.starts_with("`saddr`") && title.contains("first divergence"),
        "{title}"
    );
    let fix = first["fix"].as_str().unwrap();
    assert!(
        fix.contains("`saddr` at offset 0 is the first divergence"),
        "{fix}"
    );
    assert!(!fix.contains("everything after `sport`"), "{fix}");
    let shifted: Vec<&str> = first["evidence"]["consequences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "shifted")
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(shifted, ["sport", "daddr"], "{first:#}");
    // The size difference is one consequence, not two findings.
    let sizes: Vec<&serde_json::Value> = all
        .iter()
        .flat_map(|f| {
            f["evidence"]["consequences"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter(|c| c["kind"] == "size")
        .collect();
    assert_eq!(sizes.len(), 1, "{report:#}");
    assert_eq!(sizes[0]["user_size"], 32);
    assert_eq!(sizes[0]["btf_size"], 16);
    assert!(
        all.iter().all(|f| f["code"] != "layout/size-mismatch"),
        "size folded into the root cause"
    );
    // The value: `flags` is missing; `ifindex` only moved because of it.
    let value: Vec<&serde_json::Value> = all
        .iter()
        .filter(|f| f["evidence"]["role"] == "value")
        .collect();
    assert_eq!(value.len(), 1, "{value:#?}");
    assert_eq!(value[0]["code"], "layout/missing-field");
    assert_eq!(value[0]["evidence"]["field"], "flags");
    assert_eq!(value[0]["root_cause"], true);
    assert_eq!(
        value[0]["evidence"]["consequences"][0]["field"], "ifindex",
        "{:#}",
        value[0]
    );
    assert!(all.iter().all(|f| f["code"] != "layout/offset-mismatch"));
    // `daddr`'s own width is a second cause, after the root; it moves `proto`.
    assert_eq!(all[2]["evidence"]["field"], "daddr");
    assert_eq!(all[2]["root_cause"], serde_json::Value::Null);
    // The root cause leads in every rendering.
    let (_, human, _) = analyze_as(&args, "human");
    let (_, md, _) = analyze_as(&args, "md");
    let (_, html, _) = analyze_as(&args, "html");
    for (name, text, first_mark) in [
        ("human", &human, "`saddr`: user int"),
        ("md", &md, "`saddr`: user int"),
        ("html", &html, "saddr"),
    ] {
        let root = text
            .find(first_mark)
            .unwrap_or_else(|| panic!("{name}: {text}"));
        for later in ["flow_value.flags", "`daddr`: user int", "key-padding"] {
            let at = text
                .find(later)
                .unwrap_or_else(|| panic!("{name} lacks {later}"));
            assert!(root < at, "{name}: {later} before the root cause");
        }
    }
}

/// Issue 11: a `__u32` key showed as null in `maps[]`, `--key-type
/// NoSuchType` passed silently, a 16-byte type against a 4-byte key was not
/// compared, and `--map` with scalar key and value still asked for `--map`.
#[test]
fn scalar_key_type_is_named_in_maps() {
    let obj = corpus("bpf/stats.bpf.o");
    let (_, report) = analyze(&[obj.to_str().unwrap()]);
    let m = report["maps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "cpu_stats")
        .unwrap()
        .clone();
    assert_eq!(m["key_type"], "__u32", "{m:#}");
    assert_eq!(m["value_type"], "struct cpu_stat");
    let (_, human, _) = analyze_as(&[obj.to_str().unwrap()], "human");
    assert!(human.contains("(__u32 → struct cpu_stat)"), "{human}");
    let (_, md, _) = analyze_as(&[obj.to_str().unwrap()], "md");
    assert!(md.contains("__u32"), "{md}");
}

#[test]
fn unknown_key_type_on_a_scalar_key_is_an_error() {
    let obj = corpus("bpf/stats.bpf.o");
    let go = corpus("go");
    let args = [
        obj.to_str().unwrap(),
        go.to_str().unwrap(),
        "--map",
        "cpu_stats",
        "--key-type",
        "NoSuchType",
    ];
    let (code, stdout, stderr) = analyze_as(&args, "json");
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("NoSuchType"), "{stderr}");
    assert!(
        stderr.contains("looked in"),
        "names where it looked: {stderr}"
    );
}

#[test]
fn sixteen_byte_type_against_a_four_byte_scalar_key_is_compared() {
    let obj = corpus("bpf/stats.bpf.o");
    let go = corpus("go");
    let (code, report) = analyze(&[
        obj.to_str().unwrap(),
        go.to_str().unwrap(),
        "--map",
        "cpu_stats",
        "--key-type",
        "FlowKey",
    ]);
    assert_eq!(code, 1);
    let f = findings(&report, "layout/size-mismatch");
    assert_eq!(f.as_array().unwrap().len(), 1, "{f:#}");
    assert_eq!(f[0]["evidence"]["user_size"], 16);
    assert_eq!(f[0]["evidence"]["btf_size"], 4);
    assert_eq!(f[0]["evidence"]["btf_type"], "__u32");
    assert_eq!(report["checks"][0]["verdict"], "differs");
}

#[test]
fn explicit_map_with_scalar_key_and_value_is_compared() {
    let obj = corpus("bpf/pinned.bpf.o");
    let go = corpus("go-scalar");
    let base = [
        obj.to_str().unwrap(),
        go.to_str().unwrap(),
        "--map",
        "inner_a",
    ];
    let (code, report) = analyze(
        &[
            &base[..],
            &["--key-type", "CpuIndex", "--value-type", "Counter"],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "{report:#}");
    assert!(
        checks.iter().all(|c| c["verdict"] == "match"),
        "{checks:#?}"
    );
    assert_eq!(checks[0]["btf_type"], "__u32");
    assert_eq!(checks[1]["btf_type"], "__u64");
    // Signedness is compared against the scalar too.
    let (code, report) = analyze(&[&base[..], &["--key-type", "CpuIndexSigned"]].concat());
    assert_eq!(code, 0, "a warning");
    let f = findings(&report, "layout/type-mismatch");
    assert_eq!(f[0]["severity"], "warning");
    assert_eq!(
        f[0]["evidence"]["difference"],
        "signed on the user side, unsigned in BTF"
    );
    insta::assert_json_snapshot!("scalar_key_signedness", f);
    // Several fields of the right size are taken as raw bytes, with a note.
    let (_, report) = analyze(&[&base[..], &["--key-type", "PortPair"]].concat());
    assert_eq!(report["checks"][0]["verdict"], "match");
    assert!(
        report["checks"][0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("compared by size"),
        "{report:#}"
    );
}

/// Issue 11: an unknown `.maps` attribute lost the whole object. It costs
/// only itself now; the padded-key map beside it is still analysed.
#[test]
fn unknown_map_attribute_costs_only_the_attribute() {
    let obj = corpus("bpf/attrs_future.bpf.o");
    let (code, report) = analyze(&[obj.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    let names: Vec<&str> = report["maps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["future", "plain"]);
    let padding = findings(&report, "layout/key-padding");
    assert_eq!(padding.as_array().unwrap().len(), 2, "both padded keys");
    let skipped = findings(&report, "input/unreadable");
    insta::assert_json_snapshot!("map_attribute_skipped", skipped);
    let by_attr = |a: &str| {
        skipped
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["evidence"]["attribute"] == a)
            .unwrap_or_else(|| panic!("no finding for {a}: {skipped:#}"))
            .clone()
    };
    assert_eq!(by_attr("future_knob")["severity"], "info");
    assert_eq!(by_attr("numa_node")["severity"], "warning");
    assert_eq!(by_attr("numa_node")["map"]["name"], "future");
}

#[test]
fn every_libbpf_map_attribute_is_read() {
    let obj = corpus("bpf/attrs.bpf.o");
    let (code, report) = analyze(&[obj.to_str().unwrap()]);
    assert!(findings(&report, "input/unreadable")
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(code, 0);
    let padding = findings(&report, "layout/key-padding");
    assert_eq!(padding[0]["map"]["name"], "conns", "{padding:#}");
    assert_eq!(padding[0]["evidence"]["padding"][0]["offset"], 7);
    assert_eq!(report["maps"].as_array().unwrap().len(), 6);
}

/// An enum value type is named in `maps[]` and compared with a user type.
#[test]
fn enum_value_type_is_named_and_compared() {
    let obj = corpus("bpf/attrs.bpf.o");
    let go = corpus("go-scalar");
    let (code, report) = analyze(&[
        obj.to_str().unwrap(),
        go.to_str().unwrap(),
        "--map",
        "states",
        "--value-type",
        "StateBox",
    ]);
    assert_eq!(code, 0, "{report:#}");
    let m = &report["maps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "states")
        .unwrap();
    assert_eq!(m["key_type"], "__u32");
    assert_eq!(m["value_type"], "enum conn_state");
    let check = &report["checks"][0];
    assert_eq!(check["btf_type"], "enum conn_state");
    assert_eq!(check["verdict"], "match", "{check:#}");
    assert!(
        check["notes"][0]
            .as_str()
            .unwrap()
            .contains("BTF enum enum conn_state accepted against user uint32"),
        "{check:#}"
    );
    // A wrong width against the enum is an error.
    let (code, report) = analyze(&[
        obj.to_str().unwrap(),
        go.to_str().unwrap(),
        "--map",
        "states",
        "--value-type",
        "Counter",
    ]);
    assert_eq!(code, 1);
    let f = findings(&report, "layout/size-mismatch");
    assert_eq!(f[0]["evidence"]["btf_size"], 4, "{f:#}");
    assert_eq!(f[0]["evidence"]["user_size"], 8);
}
