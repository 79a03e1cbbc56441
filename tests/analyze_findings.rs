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

/// The bpf2go-form corpus packages (`corpora/bpf2go/`): for a broken copy,
/// the generated type it breaks and the first BTF field where it diverges.
const BPF2GO_CASES: &[(&str, Option<(&str, &str)>)] = &[
    ("ok", None),
    ("broken-order", Some(("bpfEvent", "pid"))),
    ("broken-width", Some(("bpfConnStats", "packets"))),
    ("broken-pad", Some(("bpfConnKey", "saddr"))),
    ("broken-rename", Some(("bpfFlow", "started_ns"))),
    ("broken-union", Some(("bpfAddrVal", "ifindex"))),
    ("broken-be16", Some(("bpfTuple", "sport"))),
];

/// Generated Go type → (map, role, BTF type) bpf2go made it from; `None` for
/// `-type` records that belong to no map.
const BPF2GO_PAIRS: &[(&str, Option<&str>, &str, &str)] = &[
    ("bpfConnKey", Some("conns"), "key", "conn_key"),
    ("bpfConnStats", Some("conns"), "value", "conn_stats"),
    ("bpfAddrVal", Some("addrs"), "value", "addr_val"),
    ("bpfSlot", Some("slots"), "value", "slot"),
    ("bpfFlow", Some("flows"), "key", "flow"),
    ("bpfProcInfo", Some("flows"), "value", "proc_info"),
    ("bpfTuple", Some("tuples"), "key", "tuple"),
    ("bpfEvent", Some("events"), "value", "event"),
    ("bpfUnusedEvent", None, "value", "unused_event"),
    ("bpfPerfRec", None, "value", "perf_rec"),
];

/// The struct types of a bpf2go corpus package, as the Go compiler listed
/// them (`offsets.amd64.json`), so the test does not trust our own parser.
fn bpf2go_compiled_types(dir: &str) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpus("bpf2go/offsets.amd64.json")).unwrap())
            .unwrap();
    let pkg = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["dir"] == dir)
        .unwrap_or_else(|| panic!("{dir} not in offsets.amd64.json"));
    pkg["structs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// What a bpf2go snapshot shows: each comparison, and each finding other
/// than the key-padding warnings every case shares (title and fix; the
/// byte-order note's evidence too).
fn bpf2go_summary(report: &serde_json::Value) -> serde_json::Value {
    let root = format!("{}/", env!("CARGO_MANIFEST_DIR"));
    let checks: Vec<serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            serde_json::json!({
                "map": c["map"], "role": c["role"], "user_type": c["user_type"],
                "btf_type": c["btf_type"], "verdict": c["verdict"], "notes": c["notes"],
            })
        })
        .collect();
    let findings: Vec<serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] != "layout/key-padding")
        .map(|f| {
            let mut s = serde_json::json!({
                "code": f["code"], "severity": f["severity"], "map": f["map"],
                "title": f["title"], "fix": f["fix"],
            });
            if f["code"] == "layout/byte-order" {
                s["evidence"] = f["evidence"].clone();
            }
            s
        })
        .collect();
    let text = serde_json::to_string(&serde_json::json!({"checks": checks, "findings": findings}))
        .unwrap()
        .replace(&root, "");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn bpf2go_packages_compare_every_generated_type_with_its_btf_type() {
    let obj = corpus("bpf/bpf2go.bpf.o");
    for &(dir, broken) in BPF2GO_CASES {
        let pkg = corpus(&format!("bpf2go/{dir}"));
        let (code, report) = analyze(&[obj.to_str().unwrap(), pkg.to_str().unwrap()]);
        let checks = report["checks"].as_array().unwrap();
        // Every struct the compiler saw is compared once, with the type bpf2go made it from.
        let compiled = bpf2go_compiled_types(dir);
        assert_eq!(compiled.len(), BPF2GO_PAIRS.len(), "{dir}");
        assert_eq!(checks.len(), compiled.len(), "{dir}: {checks:#?}");
        for name in &compiled {
            let &(_, map, role, btf) = BPF2GO_PAIRS
                .iter()
                .find(|p| p.0 == name)
                .unwrap_or_else(|| panic!("{dir}: unexpected type {name}"));
            let c = checks
                .iter()
                .find(|c| c["user_type"] == name.as_str())
                .unwrap_or_else(|| panic!("{dir}: {name} was not compared"));
            assert_eq!(
                (
                    c["map"].as_str(),
                    c["role"].as_str(),
                    c["btf_type"].as_str()
                ),
                (map, Some(role), Some(btf)),
                "{dir}: {name}"
            );
        }
        let errors: Vec<&serde_json::Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .collect();
        match broken {
            None => {
                assert_eq!(code, 0, "{dir}: {errors:#?}");
                assert!(errors.is_empty(), "{dir}: {errors:#?}");
                assert!(checks.iter().all(|c| c["verdict"] == "match"), "{dir}");
            }
            Some((ty, field)) => {
                assert_eq!(code, 1, "{dir}");
                assert!(!errors.is_empty(), "{dir}");
                // Only the broken type differs.
                for c in checks {
                    let want = if c["user_type"] == ty {
                        "differs"
                    } else {
                        "match"
                    };
                    assert_eq!(c["verdict"], want, "{dir}: {}", c["user_type"]);
                }
                let named = format!("`{field}`");
                assert!(
                    errors
                        .iter()
                        .any(|f| f["title"].as_str().unwrap().contains(&named)),
                    "{dir}: no error title names {named}: {errors:#?}"
                );
            }
        }
        insta::assert_json_snapshot!(format!("bpf2go_{dir}"), bpf2go_summary(&report));
    }
}

#[test]
fn bpf2go_network_order_is_one_note_per_type() {
    let obj = corpus("bpf/bpf2go.bpf.o");
    let pkg = corpus("bpf2go/ok");
    let (_, report) = analyze(&[obj.to_str().unwrap(), pkg.to_str().unwrap()]);
    let notes = findings(&report, "layout/byte-order");
    let notes = notes.as_array().unwrap();
    // struct tuple has four __be fields: one note, naming all four.
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(notes[0]["severity"], "info");
    let title = notes[0]["title"].as_str().unwrap();
    for f in ["saddr", "daddr", "sport", "dport"] {
        assert!(title.contains(f), "{title}");
    }
    assert!(notes[0]["fix"]
        .as_str()
        .unwrap()
        .contains("binary.BigEndian"));
}

#[test]
fn bpf2go_real_cilium_examples_are_compared() {
    // cilium/ebpf's own examples: bpf2go's output as shipped, the C built here.
    for (dir, obj, pairs) in [
        (
            "tcprtt_sockops",
            "tcprtt_sockops.bpf.o",
            &[
                ("map_estab_sk", "key", "bpfSkKey"),
                ("map_estab_sk", "value", "bpfSkInfo"),
                ("rtt_events", "value", "bpfRttEvent"),
            ][..],
        ),
        (
            "fentry",
            "fentry.bpf.o",
            &[("events", "value", "bpfEvent")][..],
        ),
    ] {
        let base = corpus(&format!("bpf2go/cilium/{dir}"));
        let (code, report) = analyze(&[base.join(obj).to_str().unwrap(), base.to_str().unwrap()]);
        assert_eq!(code, 0, "{dir}: {report:#}");
        let checks = report["checks"].as_array().unwrap();
        assert_eq!(checks.len(), pairs.len(), "{dir}: {checks:#?}");
        for (map, role, user) in pairs {
            assert!(
                checks.iter().any(|c| c["map"] == *map
                    && c["role"] == *role
                    && c["user_type"] == *user
                    && c["verdict"] == "match"),
                "{dir}: {map} {role} {user}: {checks:#?}"
            );
        }
    }
    // fentry's event has __be16 dport and __be32 saddr/daddr: one note.
    let base = corpus("bpf2go/cilium/fentry");
    let (_, report) = analyze(&[
        base.join("fentry.bpf.o").to_str().unwrap(),
        base.to_str().unwrap(),
    ]);
    insta::assert_json_snapshot!(
        "bpf2go_cilium_fentry_byte_order",
        findings(&report, "layout/byte-order")
    );
}
