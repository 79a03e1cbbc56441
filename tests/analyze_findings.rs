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
        "an info finding does not fail with the default --fail-on error"
    );
    let f = findings(&report, "layout/key-padding");
    assert_eq!(f.as_array().unwrap().len(), 1);
    insta::assert_json_snapshot!("key_padding_flows", f);
}

/// Key padding no evidence shows to matter is `info`: it fails only
/// `--fail-on info`.
#[test]
fn key_padding_alone_fails_only_fail_on_info() {
    let obj = corpus("bpf/flows.bpf.o");
    let (code, _) = analyze(&[obj.to_str().unwrap(), "--fail-on", "warning"]);
    assert_eq!(code, 0);
    let (code, _) = analyze(&[obj.to_str().unwrap(), "--fail-on", "info"]);
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
    // A finding's id hashes what it says, the scratch path included.
    let shown = tmp_ids(&shown);
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
                // The first error reported (the root cause) names the first diverging field.
                let named = format!("`{field}`");
                assert!(
                    errors[0]["title"].as_str().unwrap().contains(&named),
                    "{dir}: the first error does not name {named}: {errors:#?}"
                );
            }
        }
        insta::assert_json_snapshot!(format!("bpf2go_{dir}"), bpf2go_summary(&report));
    }
}

#[test]
fn bpf2go_stale_generated_type_is_reported() {
    // stale/: ok plus `bpfOldEvent`, whose `struct old_event` the object lacks.
    let obj = corpus("bpf/bpf2go.bpf.o");
    let pkg = corpus("bpf2go/stale");
    let (code, report) = analyze(&[obj.to_str().unwrap(), pkg.to_str().unwrap()]);
    assert_eq!(code, 0, "a warning");
    assert_eq!(
        report["checks"].as_array().unwrap().len(),
        BPF2GO_PAIRS.len()
    );
    let unused = findings(&report, "input/unused");
    assert_eq!(unused.as_array().unwrap().len(), 1, "{unused:#}");
    assert_eq!(unused[0]["evidence"]["user_type"], "bpfOldEvent");
    insta::assert_json_snapshot!("bpf2go_stale_type", unused);
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

/// A scratch directory for one test.
/// `F-` ids of findings that name a scratch path (it holds the process id)
/// as `F-TMP`: the rest of the finding is snapshotted with the path as `TMP`.
fn tmp_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("\"F-") {
        let id = &rest[at + 3..];
        let hex = id.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
        out.push_str(&rest[..at + 3]);
        if hex == 8 {
            out.push_str("TMP");
            rest = &id[8..];
        } else {
            rest = id;
        }
    }
    out.push_str(rest);
    out
}

fn scratch(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfcase-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Titles of the `input/unused` findings.
fn unused_titles(report: &serde_json::Value) -> Vec<String> {
    findings(report, "input/unused")
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap().to_string())
        .collect()
}

/// A user-type source whose types are named unlike the map's: the source and
/// the map's uncompared sides are each reported, with the closest user type
/// and the `--pair` that ties it.
#[test]
fn input_unused_schema_named_unlike_the_btf_types() {
    let dir = scratch("unused-schema");
    let yaml = dir.join("flow_key_go_int.yaml");
    // A real corpus type, FlowKeyGoInt, as `bpfcase schema` writes it.
    let out = bpfcase()
        .args(["schema", "--go-src"])
        .arg(corpus("go"))
        .args(["--type", "FlowKeyGoInt", "-o"])
        .arg(&yaml)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let obj = corpus("bpf/flows.bpf.o");
    let (obj, yaml_s) = (obj.to_str().unwrap(), yaml.to_str().unwrap());
    let (code, report) = analyze(&[obj, yaml_s, "--map", "flows"]);
    assert_eq!(code, 0, "input/unused is a warning");
    assert_eq!(report["checks"].as_array().unwrap().len(), 0);
    let unused = findings(&report, "input/unused");
    let list = unused.as_array().unwrap();
    assert_eq!(list.len(), 2, "{unused:#}");
    let map_finding = list.iter().find(|f| f["map"]["name"] == "flows").unwrap();
    assert_eq!(
        map_finding["evidence"]["unchecked"][0]["candidates"][0],
        "FlowKeyGoInt"
    );
    assert!(map_finding["fix"]
        .as_str()
        .unwrap()
        .contains("`--pair FlowKeyGoInt=flow_key`"));
    let shown = serde_json::to_string_pretty(&unused)
        .unwrap()
        .replace(dir.to_str().unwrap(), "TMP");
    // A finding's id hashes what it says, the scratch path included.
    let shown = tmp_ids(&shown);
    insta::assert_snapshot!("input_unused_schema", shown);

    // Tied as the finding says: the key is compared (and differs: Go `int`
    // ports), the schema contributed, and only the value is left unchecked.
    let (_, tied) = analyze(&[
        obj,
        yaml_s,
        "--map",
        "flows",
        "--pair",
        "FlowKeyGoInt=flow_key",
    ]);
    assert_eq!(tied["checks"].as_array().unwrap().len(), 1);
    let titles = unused_titles(&tied);
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert!(
        titles[0].starts_with("value type `flow_value` was compared with no user type"),
        "{titles:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Go package with no type named like the maps' types (the corpus's Go
/// types mirror flows.bpf.o and layouts.bpf.o, not lookups.bpf.o).
#[test]
fn input_unused_go_package_with_no_matching_type() {
    let obj = corpus("cases/lookups/lookups.bpf.o");
    let go = corpus("go");
    let (code, report) = analyze(&[obj.to_str().unwrap(), go.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(report["checks"].as_array().unwrap().len(), 0);
    assert_eq!(
        unused_titles(&report),
        [
            "Go source corpora/go (GOARCH=amd64) was read but no type from it was compared",
            "key type `conn_key` and value type `conn_val` were compared with no user type: \
             none in the sources given is named like them",
        ]
    );
    // The same package with the object its types mirror: every map side is
    // compared, nothing is unused.
    let flows = corpus("bpf/flows.bpf.o");
    let (_, matched) = analyze(&[flows.to_str().unwrap(), go.to_str().unwrap()]);
    assert_eq!(matched["checks"].as_array().unwrap().len(), 6);
    assert_eq!(unused_titles(&matched), Vec::<String>::new());
}

/// A DWARF binary with no type named like the maps' types.
#[test]
fn input_unused_dwarf_binary_with_no_matching_type() {
    let obj = corpus("cases/lookups/lookups.bpf.o");
    let bin = corpus("c/layouts.x86_64");
    let (_, report) = analyze(&[obj.to_str().unwrap(), bin.to_str().unwrap()]);
    assert_eq!(report["checks"].as_array().unwrap().len(), 0);
    // (Paths are made relative by `findings`.)
    assert_eq!(
        unused_titles(&report),
        [
            "DWARF of corpora/c/layouts.x86_64 was read but no type from it was compared",
            "key type `conn_key` and value type `conn_val` were compared with no user type: \
             none in the sources given is named like them",
        ]
    );
}

/// Raw BTF serves `--pair` only: without one it is reported; with one it is not.
#[test]
fn input_unused_raw_btf_without_pair() {
    let btf = corpus("bpf/flows.bpf.btf");
    let go = corpus("go");
    let (btf, go) = (btf.to_str().unwrap(), go.to_str().unwrap());
    let (_, report) = analyze(&[btf, go]);
    let titles = unused_titles(&report);
    assert!(
        titles.iter().any(|t| t
            .ends_with("flows.bpf.btf was read but nothing used it: raw BTF serves `--pair` only")),
        "{titles:?}"
    );
    let (_, paired) = analyze(&[btf, go, "--pair", "FlowKey=flow_key"]);
    assert_eq!(paired["checks"][0]["verdict"], "match");
    assert_eq!(unused_titles(&paired), Vec::<String>::new());
}

/// A dump not named after its map is reported; `--dump MAP=FILE` ties it,
/// also from stdin, and then it is checked as that map's dump.
#[test]
fn input_unused_dump_named_after_no_map_and_dump_flag() {
    let dir = scratch("unused-dump");
    let dump = dir.join("dump.json");
    std::fs::copy(corpus("dumps/flows/flows.json"), &dump).unwrap();
    let obj = corpus("bpf/flows.bpf.o");
    let (obj, dump_s) = (obj.to_str().unwrap(), dump.to_str().unwrap());

    let (_, loose) = analyze(&[obj, dump_s, "--map", "flows"]);
    assert_eq!(loose["dumps"][0]["status"], "no-map");
    let unused = findings(&loose, "input/unused");
    assert_eq!(unused.as_array().unwrap().len(), 1, "{unused:#}");
    let shown = serde_json::to_string_pretty(&unused)
        .unwrap()
        .replace(dir.to_str().unwrap(), "TMP");
    // A finding's id hashes what it says, the scratch path included.
    let shown = tmp_ids(&shown);
    insta::assert_snapshot!("input_unused_dump", shown);
    // Without its map's layout, padding garbage cannot be seen.
    assert_eq!(
        findings(&loose, "dump/key-padding-garbage")
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // The same bytes named after their map, tied with --dump, and tied with
    // --dump from stdin: each is checked as map flows, with the same findings.
    let named = dir.join("flows.json");
    std::fs::copy(&dump, &named).unwrap();
    let (_, by_name) = analyze(&[obj, named.to_str().unwrap(), "--map", "flows"]);
    let tie = format!("flows={dump_s}");
    let (_, by_flag) = analyze(&[obj, "--dump", &tie, "--map", "flows"]);
    let stdin_out = bpfcase()
        .args([
            "analyze",
            obj,
            "--dump",
            "flows=/dev/stdin",
            "--map",
            "flows",
        ])
        .args(["--format", "json"])
        .stdin(std::fs::File::open(&dump).unwrap())
        .output()
        .unwrap();
    let by_stdin: serde_json::Value = serde_json::from_slice(&stdin_out.stdout).unwrap();
    for (how, r) in [
        ("name", &by_name),
        ("--dump", &by_flag),
        ("stdin", &by_stdin),
    ] {
        assert_eq!(unused_titles(r), Vec::<String>::new(), "{how}");
        assert_eq!(r["dumps"][0]["status"], "checked", "{how}");
        assert_eq!(r["dumps"][0]["map"]["name"], "flows", "{how}");
        assert_eq!(r["dumps"][0]["entries"], 6, "{how}");
        assert_eq!(
            findings(r, "dump/key-padding-garbage"),
            findings(&by_name, "dump/key-padding-garbage"),
            "{how}"
        );
        assert_eq!(
            findings(r, "dump/key-padding-garbage")
                .as_array()
                .unwrap()
                .len(),
            1,
            "{how}"
        );
    }
    // A file given both ways is read once, as tied.
    let (_, both) = analyze(&[obj, dump_s, "--dump", &tie, "--map", "flows"]);
    assert_eq!(both["dumps"].as_array().unwrap().len(), 1);

    // A dump given alone, tied to a map no input defines: read, walked,
    // and reported as tied to nothing known.
    let (_, alone) = analyze(&["--dump", &tie]);
    assert_eq!(alone["dumps"][0]["status"], "no-map");
    let titles = unused_titles(&alone);
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert!(
        titles[0].ends_with(
            "dump.json is tied to map `flows` (--dump), which no input defines: only its walk was checked"
        ),
        "{titles:?}"
    );

    // A map no input defines is bad usage, like --map.
    let out = bpfcase()
        .args(["analyze", obj, "--dump"])
        .arg(format!("no_such_map={dump_s}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_map"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An strace log alone names fds, not maps: nothing ties its calls to a
/// map. With the bundle collected at the same moment every call is replayed.
#[test]
fn input_unused_strace_log_tied_to_no_map() {
    let log = corpus("cases/lookups/workload.strace");
    let obj = corpus("cases/lookups/lookups.bpf.o");
    let (_, alone) = analyze(&[log.to_str().unwrap(), obj.to_str().unwrap()]);
    assert_eq!(alone["traces"][0]["calls"], 411);
    assert_eq!(alone["traces"][0]["replayed"], 0);
    let unused = findings(&alone, "input/unused");
    assert_eq!(unused.as_array().unwrap().len(), 1, "{unused:#}");
    insta::assert_json_snapshot!("input_unused_trace", unused);

    let case = corpus("cases/lookups/strace-case.tar");
    let (_, tied) = analyze(&[case.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(tied["traces"][0]["replayed"], 411);
    assert_eq!(unused_titles(&tied), Vec::<String>::new());
}

/// A bundle's call trace taken out of it: its calls name map ids, but no
/// input defines those maps. With its bundle every call is replayed.
#[test]
fn input_unused_loose_trace_of_maps_no_input_defines() {
    let dir = scratch("unused-jsonl");
    let bundle = corpus("cases/lookups/case.tar");
    let mut archive = tar::Archive::new(std::fs::File::open(&bundle).unwrap());
    let trace = dir.join("bpf-calls.jsonl");
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("trace/bpf-calls.jsonl") {
            entry.unpack(&trace).unwrap();
        }
    }
    let obj = corpus("cases/lookups/lookups.bpf.o");
    let (_, report) = analyze(&[trace.to_str().unwrap(), obj.to_str().unwrap()]);
    assert_eq!(report["traces"][0]["calls"], 440);
    assert_eq!(report["traces"][0]["replayed"], 0);
    let unused = findings(&report, "input/unused");
    let list = unused.as_array().unwrap();
    assert_eq!(list.len(), 1, "{unused:#}");
    assert!(list[0]["title"].as_str().unwrap().ends_with(
        "bpf-calls.jsonl was read but none of its 440 map calls is on a map the inputs define"
    ));
    assert_eq!(
        list[0]["evidence"]["unknown_map_ids"],
        serde_json::json!([34521, 34524, 34525, 34526])
    );
    let (_, with_bundle) = analyze(&[bundle.to_str().unwrap()]);
    assert_eq!(with_bundle["traces"][0]["replayed"], 440);
    assert_eq!(unused_titles(&with_bundle), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The "what was compared" section of a report in `format`: user types
/// against BTF types (with origins, verdicts, accepted equivalences), dumps
/// and trace calls.
fn compared_section(format: &str, args: &[&str]) -> String {
    let out = bpfcase()
        .arg("analyze")
        .args(args)
        .args(["--format", format])
        // Wide enough not to wrap: the paths here are absolute, and where
        // the checkout lives must not change the snapshot.
        .env("COLUMNS", "1000")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (start, end) = match format {
        "human" => ("compared", "\n\n"),
        "md" => ("## Compared", "\n## "),
        _ => ("<h2>Compared</h2>", "</section>"),
    };
    let from = text.find(start).unwrap_or_else(|| panic!("{text}"));
    let to = from + 1 + text[from + 1..].find(end).unwrap_or(text.len() - from - 1);
    text[from..to].replace(&format!("{}/", env!("CARGO_MANIFEST_DIR")), "")
}

#[test]
fn every_format_says_what_was_compared() {
    let reload = corpus("cases/reload/case.tar");
    let layouts = corpus("bpf/layouts.bpf.o");
    let strace_case = corpus("cases/lookups/strace-case.tar");
    let log = corpus("cases/lookups/workload.strace");
    let go = corpus("go");
    let s = |p: &std::path::PathBuf| p.to_str().unwrap().to_string();
    let cases: [Vec<String>; 3] = [
        vec![s(&reload), s(&go), "--map".into(), "flows".into()],
        vec![s(&layouts), s(&go), "--map".into(), "bits_map".into()],
        vec![s(&strace_case), s(&log), "--map".into(), "conns".into()],
    ];
    for format in ["human", "md", "html"] {
        let mut shown = String::new();
        for args in &cases {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            shown.push_str(&format!("$ analyze {}\n", args.join(" ")));
            shown.push_str(&compared_section(format, &args));
            shown.push('\n');
        }
        let shown = shown.replace(&format!("{}/", env!("CARGO_MANIFEST_DIR")), "");
        insta::assert_snapshot!(format!("compared_{format}"), shown);
    }
    // A BPF object alone: nothing was compared, and the report says so.
    let alone = compared_section("human", &[layouts.to_str().unwrap()]);
    assert!(alone.starts_with("compared: nothing"), "{alone}");
}

/// Regression: a typedef of an anonymous struct (`typedef struct { … }
/// conn_key_t;`, corpora/bpf/typedefs.bpf.o) showed as `struct (anonymous)`
/// in `maps[]` and as `` in the key-padding title; it is known by the
/// typedef's name.
#[test]
fn typedef_of_anonymous_struct_is_named_by_the_typedef() {
    let obj = corpus("bpf/typedefs.bpf.o");
    let (code, report) = analyze(&[obj.to_str().unwrap()]);
    assert_eq!(code, 0);
    let map = &report["maps"][0];
    assert_eq!(map["name"], "conns");
    assert_eq!(map["key_type"], "conn_key_t", "{map}");
    assert_eq!(map["value_type"], "conn_stats_t", "{map}");
    let f = findings(&report, "layout/key-padding");
    let title = f[0]["title"].as_str().unwrap();
    assert!(title.contains("`conn_key_t` (8 bytes)"), "{title}");
    let fix = f[0]["fix"].as_str().unwrap();
    assert!(fix.contains("`conn_key_t k;"), "{fix}");
}

/// The README's exit-code table, one test per row, on real corpus inputs.
mod exit_codes {
    use std::process::{Command, Stdio};

    use super::support::{bpfcase, corpus, require_bpf};

    /// Regression: `analyze case.tar | head -1` exited 0 or 1 depending on
    /// who closed first, so CI under `pipefail` could see success with 9
    /// errors. The exit status is the findings', whatever the pipe does.
    #[test]
    fn a_reader_closing_early_does_not_change_the_exit_status() {
        let bin = env!("CARGO_BIN_EXE_bpfcase");
        let case = corpus("cases/lookups/case.tar");
        for fmt in ["text", "json", "md", "html"] {
            for _ in 0..10 {
                let out = std::process::Command::new("bash")
                    .arg("-c")
                    .arg(format!(
                        "'{bin}' analyze '{}' --format {fmt} | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}",
                        case.display()
                    ))
                    .output()
                    .unwrap();
                assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1", "{fmt}");
            }
        }
        // decode streams its entries: a closed pipe still leaves its checks' status.
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{bin}' decode --dump '{}' --btf '{}' --map flows | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}",
                corpus("dumps/flows/flows.json").display(),
                corpus("bpf/flows.bpf.o").display()
            ))
            .output()
            .unwrap();
        let direct = bpfcase()
            .args(["decode", "--dump"])
            .arg(corpus("dumps/flows/flows.json"))
            .arg("--btf")
            .arg(corpus("bpf/flows.bpf.o"))
            .args(["--map", "flows"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            direct.status.code().unwrap().to_string()
        );
    }

    fn code(args: &[&str]) -> (i32, String) {
        let out = bpfcase()
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .output()
            .expect("run bpfcase");
        let err = String::from_utf8_lossy(&out.stderr);
        (
            out.status.code().unwrap_or(-1),
            err.split_whitespace()
                .filter(|w| *w != "│")
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// A scratch directory with a non-dump text file, random bytes and a
    /// "bundle" whose manifest is not JSON.
    /// One per test (`row`): tests run in parallel and each removes its own.
    fn junk(row: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("bpfcase-exit-{row}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("bad-bundle")).unwrap();
        std::fs::write(dir.join("junk.txt"), "junk\n").unwrap();
        std::fs::write(dir.join("junk.bin"), [0x9c, 0x01, 0xfe, 0x42, 0x00, 0x17]).unwrap();
        std::fs::write(dir.join("bad-bundle/manifest.json"), "not json\n").unwrap();
        dir
    }

    fn p(path: &std::path::Path) -> &str {
        path.to_str().unwrap()
    }

    #[test]
    fn collect_row() {
        if !require_bpf("exit_codes::collect_row") {
            return;
        }
        let dir = junk("collect");
        let pins = std::path::Path::new("/sys/fs/bpf")
            .join(format!("bpfcase-exit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&pins);
        std::fs::create_dir_all(&pins).unwrap();
        let made = Command::new("bpftool")
            .args(["map", "create", p(&pins.join("exit_row"))])
            .args([
                "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "exit_row",
            ])
            .status()
            .unwrap();
        assert!(made.success());
        let out = dir.join("c0.tar");
        let (c, err) = code(&[
            "collect",
            "--no-bpftool",
            "--pinned",
            p(&pins),
            "-o",
            p(&out),
        ]);
        assert_eq!(c, 0, "{err}");
        assert!(out.exists());
        // A map asked for by name that is not there: bundle written, exit 1, named.
        let out = dir.join("c1.tar");
        let (c, err) = code(&[
            "collect",
            "--no-bpftool",
            "--map",
            "no_such_map",
            "-o",
            p(&out),
        ]);
        let _ = std::fs::remove_dir_all(&pins);
        assert_eq!(c, 1, "{err}");
        assert!(out.exists());
        assert!(
            err.contains("error recorded: --map no_such_map: no map with this id or name"),
            "{err}"
        );
        // No bundle: output not writable; bad usage.
        let (c, err) = code(&["collect", "--no-bpftool", "-o", "/nonexistent-dir/x.tar"]);
        assert_eq!(c, 2, "{err}");
        let (c, _) = code(&["collect", "--snapshots", "many"]);
        assert_eq!(c, 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn analyze_row() {
        let dir = junk("analyze");
        let obj = corpus("bpf/flows.bpf.o");
        let (c, err) = code(&["analyze", p(&obj), "--map", "flows"]);
        assert_eq!(
            c, 0,
            "an info finding is below the default --fail-on error: {err}"
        );
        let (c, _) = code(&["analyze", p(&obj), "--map", "flows", "--fail-on", "info"]);
        assert_eq!(c, 1);
        let (c, _) = code(&["analyze", p(&corpus("cases/reload/case.tar"))]);
        assert_eq!(c, 1, "stale pins are errors");
        // One unreadable input among readable ones is a finding, not a failure.
        let (c, err) = code(&[
            "analyze",
            p(&dir.join("junk.txt")),
            p(&obj),
            "--map",
            "flows",
        ]);
        assert_eq!(c, 0, "{err}");
        // Regression: the only input unreadable exited 0 with "no findings".
        let (c, err) = code(&["analyze", p(&dir.join("junk.txt"))]);
        assert_eq!(c, 2, "{err}");
        assert!(err.contains("junk.txt"), "{err}");
        // Regression: a bundle whose manifest is not JSON exited 0 (diff: 2).
        let (c, err) = code(&["analyze", p(&dir.join("bad-bundle"))]);
        assert_eq!(c, 2, "{err}");
        assert!(err.contains("manifest.json"), "{err}");
        let (c, _) = code(&["analyze", p(&dir.join("no-such-file"))]);
        assert_eq!(c, 2);
        let (c, _) = code(&["analyze", p(&obj), "--format", "pdf"]);
        assert_eq!(c, 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn layout_row() {
        let dir = junk("layout");
        let obj = corpus("bpf/flows.bpf.o");
        assert_eq!(code(&["layout", p(&obj), "flow_key"]).0, 0);
        assert_eq!(code(&["layout", p(&obj), "no_such_struct"]).0, 2);
        assert_eq!(code(&["layout", p(&dir.join("junk.bin"))]).0, 2);
        assert_eq!(
            code(&["layout", p(&corpus("vmlinux/demo_module.btf"))]).0,
            2
        );
        assert_eq!(code(&["layout", p(&obj), "--format", "yaml"]).0, 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn schema_row() {
        let obj = corpus("bpf/flows.bpf.o");
        assert_eq!(
            code(&["schema", "--btf", p(&obj), "--type", "flow_key"]).0,
            0
        );
        assert_eq!(
            code(&["schema", "--btf", p(&obj), "--type", "no_such"]).0,
            2
        );
        assert_eq!(
            code(&[
                "schema",
                "--btf",
                p(&corpus("no-such.o")),
                "--type",
                "flow_key"
            ])
            .0,
            2
        );
        assert_eq!(code(&["schema", "--type", "flow_key"]).0, 2);
    }

    #[test]
    fn decode_row() {
        let dir = junk("decode");
        let layouts = corpus("bpf/layouts.bpf.o");
        let flows = corpus("bpf/flows.bpf.o");
        let bits = corpus("dumps/layouts/bits_map.json");
        let dump = corpus("dumps/flows/flows.json");
        let (c, err) = code(&[
            "decode",
            "--dump",
            p(&bits),
            "--btf",
            p(&layouts),
            "--map",
            "bits_map",
        ]);
        assert_eq!(c, 0, "bits_map has no findings: {err}");
        // Regression: decode had no --fail-on and exited 0 on error findings
        // (flows: keys with padding garbage).
        let args = [
            "decode",
            "--dump",
            p(&dump),
            "--btf",
            p(&flows),
            "--map",
            "flows",
        ];
        assert_eq!(code(&args).0, 1);
        let with = |extra: &[&'static str]| {
            let mut a = args.to_vec();
            a.extend_from_slice(extra);
            code(&a).0
        };
        assert_eq!(with(&["--fail-on", "never"]), 0);
        assert_eq!(with(&["--format", "summary"]), 1);
        let (c, _) = code(&[
            "decode",
            "--dump",
            p(&bits),
            "--btf",
            p(&layouts),
            "--map",
            "bits_map",
            "--fail-on",
            "info",
        ]);
        assert_eq!(c, 0);
        // Not a dump at all, or no dump: could not run.
        let (c, err) = code(&[
            "decode",
            "--dump",
            p(&dir.join("junk.txt")),
            "--btf",
            p(&flows),
            "--map",
            "flows",
        ]);
        assert_eq!(c, 2, "{err}");
        assert!(
            err.contains("junk.txt") && err.contains("not a bpftool map dump"),
            "{err}"
        );
        assert_eq!(
            code(&[
                "decode",
                "--dump",
                p(&dir.join("none.json")),
                "--btf",
                p(&flows),
                "--map",
                "flows"
            ])
            .0,
            2
        );
        assert_eq!(
            code(&[
                "decode",
                "--dump",
                p(&dump),
                "--btf",
                p(&flows),
                "--map",
                "no_such_map"
            ])
            .0,
            2
        );
        assert_eq!(code(&["decode", "--dump", p(&dump)]).0, 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn diff_row() {
        let dir = junk("diff");
        let flows = corpus("dumps/flows/flows.json");
        let changed = corpus("dumps/derived/flows.changed.json");
        assert_eq!(code(&["diff", p(&flows), p(&changed)]).0, 0);
        assert_eq!(code(&["diff", p(&flows), p(&flows)]).0, 0);
        // Regression: two files that are not dumps exited 0 ("0 added, …").
        let (c, err) = code(&["diff", p(&dir.join("junk.txt")), p(&dir.join("junk.bin"))]);
        assert_eq!(c, 2, "{err}");
        assert!(err.contains("junk.txt"), "{err}");
        assert_eq!(
            code(&[
                "diff",
                p(&dir.join("bad-bundle")),
                p(&dir.join("bad-bundle"))
            ])
            .0,
            2
        );
        assert_eq!(
            code(&["diff", p(&flows), p(&corpus("dumps/flows/flows.txt"))]).0,
            2
        );
        assert_eq!(
            code(&["diff", p(&flows), p(&corpus("cases/reload/case.tar"))]).0,
            2
        );
        assert_eq!(code(&["diff", p(&flows)]).0, 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Regression: `layout … | head -1` and `decode … | head -1` exited 2
    /// with "Broken pipe", and later 0 even with error findings. Here stdout
    /// is a pipe whose reader is already gone, so the first write fails for
    /// sure: every command exits as it does when its output is read (0, or
    /// 1 for decode and analyze with findings at or above --fail-on).
    #[test]
    fn closed_pipe_row() {
        let flows = corpus("dumps/flows/flows.json");
        let obj = corpus("bpf/flows.bpf.o");
        let vmlinux = corpus("vmlinux/vmlinux.btf");
        let changed = corpus("dumps/derived/flows.changed.json");
        let runs: [&[&str]; 6] = [
            &["layout", p(&vmlinux)],
            &[
                "decode",
                "--dump",
                p(&flows),
                "--btf",
                p(&obj),
                "--map",
                "flows",
            ],
            &[
                "decode",
                "--dump",
                p(&flows),
                "--btf",
                p(&obj),
                "--map",
                "flows",
                "--format",
                "json",
            ],
            &["analyze", p(&obj), p(&flows), "--fail-on", "warning"],
            &["schema", "--btf", p(&obj), "--type", "flow_key"],
            &["diff", p(&flows), p(&changed)],
        ];
        for args in runs {
            let read = bpfcase()
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(read.code().is_some_and(|c| c <= 1), "{args:?}");
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            let out = bpfcase()
                .args(args)
                .stdout(Stdio::from(writer))
                .stderr(Stdio::piped())
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                read.code(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
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
            // HTML shows the title's code span as <code>.
            let later = match name {
                "html" => later.replace("`daddr`", "<code>daddr</code>"),
                _ => later.to_string(),
            };
            let at = text
                .find(&later)
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

/// `bpfcase fleet` over `corpora/fleet` (20 real bundles of 20 simulated
/// nodes and one cut short): the report per finding code, per map name, and
/// the bundles that could not be read.
mod fleet {
    use super::scratch;
    use super::support::bpfcase;

    const BUNDLES: &str = "corpora/fleet/bundles";

    /// Runs `fleet ARGS` from the repository root (so paths in the report
    /// are the relative ones given); returns (exit code, stdout, stderr).
    fn fleet(args: &[&str]) -> (i32, String, String) {
        let out = bpfcase()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("fleet")
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run bpfcase");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Metrics are a node's (analyze, watch): fleet refuses the format
    /// instead of writing something that is not a fleet's metrics.
    #[test]
    fn fleet_refuses_openmetrics() {
        let (code, out, err) = fleet(&[BUNDLES, "--format", "openmetrics"]);
        assert_eq!(code, 2, "stderr: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("written per node"), "{err}");
    }

    fn fleet_json(args: &[&str]) -> (i32, serde_json::Value) {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let (code, out, err) = fleet(&all);
        let v = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
        (code, v)
    }

    #[test]
    fn fleet_report_of_the_corpus() {
        let (code, json) = fleet_json(&[BUNDLES]);
        assert_eq!(code, 1, "errors in some bundles make exit 1");
        insta::assert_json_snapshot!("fleet_corpus_json", json);
        let (code, human, _) = fleet(&[BUNDLES]);
        assert_eq!(code, 1);
        insta::assert_snapshot!("fleet_corpus_human", human);
        let (_, md, _) = fleet(&[BUNDLES, "--format", "md"]);
        insta::assert_snapshot!("fleet_corpus_md", md);
        let (_, html, _) = fleet(&[BUNDLES, "--format", "html"]);
        insta::assert_snapshot!("fleet_corpus_html", html);
    }

    /// Host names of a variant's (or stale group's) instances, each once.
    fn hosts(v: &serde_json::Value) -> Vec<String> {
        let mut h: Vec<String> = v["seen_in"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["host"].as_str().unwrap().to_string())
            .collect();
        h.dedup();
        h
    }

    fn node_names(ns: &[u32]) -> Vec<String> {
        ns.iter().map(|n| format!("node-{n:02}")).collect()
    }

    fn map<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
        json["maps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("map {name}"))
    }

    /// Variants are layouts only: the canary (value 24 → 32 B on six
    /// nodes) is the one second variant of each `flows*` map, and the
    /// reload's leftover instances (used by no program beside a used one)
    /// are stale, apart, not a third variant.
    #[test]
    fn fleet_canary_is_the_only_variant_and_stale_instances_are_apart() {
        let (_, json) = fleet_json(&[BUNDLES]);
        assert_eq!(json["fleet_report_version"], 2);
        assert_eq!(
            json["summary"]["maps_with_variants"], 3,
            "{:#}",
            json["summary"]
        );
        for name in ["flows", "flows_lru", "flows_small"] {
            let m = map(&json, name);
            let variants = m["variants"].as_array().unwrap();
            assert_eq!(variants.len(), 2, "{name}: {m:#}");
            let (a, b) = (&variants[0], &variants[1]);
            assert_eq!(a["label"], "A");
            assert_eq!(a["value_size"], 24);
            assert_eq!(a["differs_from_a"], serde_json::json!([]));
            assert_eq!(
                hosts(a),
                node_names(&[1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17])
            );
            assert_eq!(b["value_size"], 32);
            assert_eq!(b["nodes"], 6);
            assert_eq!(hosts(b), node_names(&[6, 7, 8, 9, 10, 11]));
            assert_eq!(
                b["differs_from_a"],
                serde_json::json!(["value_size", "value"])
            );
            assert!(b["value"]["summary"]
                .as_str()
                .unwrap()
                .contains("last_seen_ns __u64 @24"));
            assert_eq!(a["key"], b["key"], "the key layout is the same everywhere");
            assert_eq!(m["differs"], serde_json::json!(["value_size", "value"]));
            let stale = m["stale"].as_array().unwrap();
            assert_eq!(stale.len(), 1, "{m:#}");
            assert_eq!(stale[0]["same_as"], "A");
            assert_eq!(hosts(&stale[0]), node_names(&[16, 17]));
        }
        // v1's maps on the traced nodes: one layout, the old pin stale.
        for name in ["conns", "slots", "tiny"] {
            let m = map(&json, name);
            assert_eq!(m["variants"].as_array().unwrap().len(), 1, "{m:#}");
            assert_eq!(m["differs"], serde_json::json!([]));
            assert_eq!(hosts(&m["stale"][0]), node_names(&[18, 19, 20]));
        }
        // The page tints only the rows that differ from the majority.
        let (_, html, _) = fleet(&[BUNDLES, "--format", "html"]);
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert_eq!(html.matches("<tr class=\"differs\">").count(), 3, "{html}");
        let row = html
            .split("<tr class=\"differs\">")
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .unwrap();
        assert!(
            row.contains("<code>flows</code>") && row.contains("value 24 → 32 B"),
            "{row}"
        );
        assert!(
            row.contains("node-06, node-07, node-08, node-09, node-10, node-11"),
            "{row}"
        );
    }

    /// Nodes with the same findings and the same layouts are one group,
    /// the largest first; every bundle names its group; a finding names the
    /// groups its nodes make up.
    #[test]
    fn fleet_folds_identical_nodes_into_groups() {
        let (_, json) = fleet_json(&[BUNDLES]);
        let groups = json["groups"].as_array().unwrap();
        let got: Vec<(String, Vec<String>)> = groups
            .iter()
            .map(|g| {
                let nodes = g["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n["host"].as_str().unwrap_or("-").to_string())
                    .collect();
                (g["label"].as_str().unwrap().to_string(), nodes)
            })
            .collect();
        let want: Vec<(String, Vec<String>)> = [
            ("node-01", vec![1, 2, 3, 4, 5]),
            ("node-06", vec![6, 7, 8, 9, 10]),
            ("node-18", vec![18, 19, 20]),
            ("node-12", vec![12, 13]),
            ("node-14", vec![14, 15]),
            ("node-16", vec![16, 17]),
            ("node-11", vec![11]),
        ]
        .into_iter()
        .map(|(l, ns)| (l.to_string(), node_names(&ns)))
        .chain([(
            format!("{BUNDLES}/node-21-truncated.tar"),
            vec!["-".to_string()],
        )])
        .collect();
        assert_eq!(got, want);
        assert_eq!(json["summary"]["groups"], 8);
        assert_eq!(groups[7]["status"], "unreadable");
        // The canary's group: its maps on variant B, nothing stale.
        let canary = &groups[1];
        assert!(canary["layouts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["variant"] == "B" && l["stale"] == false));
        let b16 = json["bundles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["host"] == "node-17")
            .unwrap();
        assert_eq!(b16["group"], "node-16");
        let full = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "dump/map-full")
            .unwrap();
        assert_eq!(full["nodes"], 5);
        assert_eq!(full["groups"], serde_json::json!(["node-18", "node-14"]));
        // Full lists are kept in JSON.
        assert_eq!(full["bundles"].as_array().unwrap().len(), 5);
        // The text says it the same way, each node list folded.
        let (_, text, _) = fleet(&[BUNDLES]);
        assert!(
            text.contains("  5 nodes like node-01: node-01, node-02, node-03 and 2 more\n"),
            "{text}"
        );
        assert!(
            text.contains("error dump/map-full on 5 nodes: 3 like node-18, 2 like node-14\n"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "1 unreadable bundle: {BUNDLES}/node-21-truncated.tar"
            )),
            "{text}"
        );
    }

    /// Every format opens with the totals and the findings; the per-node
    /// listing (groups, then bundles) comes after them.
    #[test]
    fn fleet_findings_come_first_in_every_format() {
        let (_, text, _) = fleet(&[BUNDLES]);
        let at = |hay: &str, needle: &str| {
            hay.find(needle)
                .unwrap_or_else(|| panic!("no {needle:?} in {hay}"))
        };
        assert!(at(&text, "\nfindings") < at(&text, "\nmap layouts"));
        assert!(at(&text, "\nmap layouts") < at(&text, "\nnodes in 8 groups"));
        let (_, md, _) = fleet(&[BUNDLES, "--format", "md"]);
        assert!(at(&md, "## Findings") < at(&md, "## Map layouts"));
        assert!(at(&md, "## Map layouts") < at(&md, "## Nodes in 8 groups"));
        assert!(at(&md, "## Nodes in 8 groups") < at(&md, "## Bundles"));
        let (_, html, _) = fleet(&[BUNDLES, "--format", "html"]);
        assert!(at(&html, "<h2>Findings</h2>") < at(&html, "<h2>Map layouts</h2>"));
        assert!(at(&html, "<h2>Map layouts</h2>") < at(&html, "<h2>Nodes in 8 groups</h2>"));
        assert!(at(&html, "<h2>Nodes in 8 groups</h2>") < at(&html, "<h2>Bundles</h2>"));
        let (_, json, _) = fleet(&[BUNDLES, "--format", "json"]);
        // Top-level keys (two spaces in): in the renderings' order.
        let keys = [
            "summary",
            "findings",
            "maps",
            "groups",
            "partial_maps",
            "bundles",
        ];
        let pos: Vec<usize> = keys
            .iter()
            .map(|k| at(&json, &format!("\n  \"{k}\": ")))
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
    }

    /// The HTML is analyze's kind of page: a viewport, code spans where
    /// titles have backticks (no raw backtick left), every input string
    /// escaped.
    #[test]
    fn fleet_html_has_a_viewport_and_code_spans() {
        let (_, html, _) = fleet(&[BUNDLES, "--format", "html"]);
        assert!(html
            .contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
        assert!(!html.contains('`'), "raw backticks in the page");
        assert!(html.contains("padding after <code>proto</code>"), "{html}");
        // An input string with markup is escaped (a bundle named so).
        let dir = scratch("fleet-escape");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLES);
        std::fs::copy(root.join("node-01.tar"), dir.join("<b>x&y.tar")).unwrap();
        let (_, html, _) = fleet(&[dir.to_str().unwrap(), "--format", "html"]);
        assert!(html.contains("&lt;b&gt;x&amp;y.tar"), "{html}");
        assert!(!html.contains("<b>x&y"), "{html}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Text is laid out for `COLUMNS` as analyze's is: no line longer,
    /// except a single word longer than a line (a path), which is never cut.
    #[test]
    fn fleet_text_respects_columns() {
        for width in [60usize, 100, 140] {
            let out = bpfcase()
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(["fleet", BUNDLES])
                .env("COLUMNS", width.to_string())
                .output()
                .unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(text.lines().count() > 20, "{text}");
            for l in text.lines() {
                assert!(
                    l.chars().count() <= width || !l.trim().contains(' '),
                    "COLUMNS={width}: {} chars: {l}",
                    l.chars().count()
                );
            }
        }
    }

    /// The corpus bundle a synthetic node `i` is a copy of, out of every
    /// 100: six on the canary (node-06 … node-11), two with a reload's stale
    /// instances (16, 17), three traced with missed lookups (18–20), two
    /// with padding garbage (12, 13), two with a full map (14, 15), and 85
    /// on the old release, clean (01–05).
    fn synthetic_source(i: usize) -> usize {
        match i % 100 {
            k @ 0..=5 => 6 + k,
            k @ 6..=7 => 16 + (k - 6),
            k @ 8..=10 => 18 + (k - 8),
            k @ 11..=12 => 12 + (k - 11),
            k @ 13..=14 => 14 + (k - 13),
            k => 1 + (k - 15) % 5,
        }
    }

    /// Writes `n` bundles `sim-NNNN.tar` into `dir`, each a copy of a real
    /// corpus bundle ([`synthetic_source`]) whose manifest names its own
    /// host (`sim-NNNN`; the manifest lists the other members' digests,
    /// not its own), members in the original order; plus the corpus's cut
    /// bundle as `sim-cut.tar`. Deterministic.
    fn synthetic_fleet(dir: &std::path::Path, n: usize) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLES);
        let mut sources: Vec<Vec<(String, Vec<u8>)>> = Vec::new();
        for k in 1..=20 {
            let file = std::fs::File::open(root.join(format!("node-{k:02}.tar"))).unwrap();
            let mut members = Vec::new();
            for e in tar::Archive::new(file).entries().unwrap() {
                let mut e = e.unwrap();
                let name = e.path().unwrap().to_string_lossy().into_owned();
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data).unwrap();
                members.push((name, data));
            }
            sources.push(members);
        }
        for i in 0..n {
            let host = format!("sim-{i:04}");
            let out = std::fs::File::create(dir.join(format!("{host}.tar"))).unwrap();
            let mut b = tar::Builder::new(std::io::BufWriter::new(out));
            for (name, data) in &sources[synthetic_source(i) - 1] {
                let data = if name == "manifest.json" {
                    let mut m: serde_json::Value = serde_json::from_slice(data).unwrap();
                    m["host"]["hostname"] = serde_json::Value::String(host.clone());
                    serde_json::to_vec_pretty(&m).unwrap()
                } else {
                    data.clone()
                };
                let mut h = tar::Header::new_ustar();
                h.set_size(data.len() as u64);
                h.set_mode(0o600);
                h.set_cksum();
                b.append_data(&mut h, name, data.as_slice()).unwrap();
            }
            b.into_inner().unwrap();
        }
        std::fs::copy(root.join("node-21-truncated.tar"), dir.join("sim-cut.tar")).unwrap();
    }

    /// `scrollWidth clientWidth` of the report's page drawn `width` px wide
    /// in headless Chromium: the page is put in an iframe of that width (a
    /// headless window is at least 500 px wide) with a script added that
    /// posts its root's widths to the frame, which writes them into its DOM;
    /// `--dump-dom` prints it.
    fn chromium_widths(dir: &std::path::Path, html: &str, width: u32) -> (u32, u32) {
        let probe = html.replace(
            "</body></html>",
            "<script>addEventListener('load',function(){var d=document.documentElement;parent.postMessage(d.scrollWidth+' '+d.clientWidth,'*')})</script></body></html>",
        );
        std::fs::write(dir.join("probe.html"), probe).unwrap();
        let frame = format!(
            "<!DOCTYPE html><html><body style=\"margin:0\"><iframe src=\"probe.html\" style=\"border:0;width:{width}px;height:2000px\"></iframe><pre id=\"out\">none</pre><script>addEventListener('message',function(e){{document.getElementById('out').textContent='widths '+e.data}})</script></body></html>"
        );
        let page = dir.join(format!("frame-{width}.html"));
        std::fs::write(&page, frame).unwrap();
        let out = std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=20000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(format!("--window-size={},2100", width.max(500) + 40))
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("run chromium");
        let dom = String::from_utf8_lossy(&out.stdout);
        let at = dom
            .find("widths ")
            .unwrap_or_else(|| panic!("no widths in the page (chromium: {:?}): {dom}", out.status));
        let nums: Vec<u32> = dom[at + 7..]
            .split(|c: char| !c.is_ascii_digit())
            .take(2)
            .map(|n| n.parse().unwrap())
            .collect();
        (nums[0], nums[1])
    }

    /// A fleet of 1,000 nodes (copies of the corpus's real bundles, a few
    /// on the canary, a few with stale instances, some with findings, one
    /// cut short): the text stays under 100 lines, the groups and variants
    /// are the synthetic fleet's own, and the HTML fits a 390 px phone and
    /// a 1400 px screen in Chromium with no horizontal overflow.
    #[test]
    fn fleet_of_1000_nodes_stays_short_and_fits_a_phone() {
        let dir = scratch("fleet-1000");
        let bundles = dir.join("bundles");
        std::fs::create_dir_all(&bundles).unwrap();
        synthetic_fleet(&bundles, 1000);
        let b = bundles.to_str().unwrap();

        let (code, text, err) = fleet(&[b]);
        assert_eq!(code, 1, "{err}");
        let lines = text.lines().count();
        assert!(lines < 100, "{lines} lines:\n{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        // The findings come before the first group.
        assert!(text.find("\nfindings").unwrap() < text.find("\nnodes in").unwrap());
        assert!(
            text.contains("850 nodes like sim-0015: sim-0015, sim-0016, sim-0017 and 847 more"),
            "{text}"
        );

        let (_, json) = fleet_json(&[b]);
        assert_eq!(json["summary"]["bundles"], 1001);
        assert_eq!(json["summary"]["unreadable"], 1);
        let groups: Vec<(String, usize)> = json["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["label"].as_str().unwrap().to_string(),
                    g["nodes"].as_array().unwrap().len(),
                )
            })
            .collect();
        let want: Vec<(String, usize)> = [
            ("sim-0015", 850),
            ("sim-0000", 50),
            ("sim-0008", 30),
            ("sim-0006", 20),
            ("sim-0011", 20),
            ("sim-0013", 20),
            ("sim-0005", 10),
        ]
        .into_iter()
        .map(|(l, n)| (l.to_string(), n))
        .chain([(format!("{b}/sim-cut.tar"), 1)])
        .collect();
        assert_eq!(groups, want);
        let flows = map(&json, "flows");
        let variants = flows["variants"].as_array().unwrap();
        assert_eq!(variants.len(), 2, "{flows:#}");
        assert_eq!(
            (
                variants[0]["value_size"].clone(),
                variants[0]["nodes"].clone()
            ),
            (24.into(), 910.into())
        );
        assert_eq!(
            (
                variants[1]["value_size"].clone(),
                variants[1]["nodes"].clone()
            ),
            (32.into(), 60.into())
        );
        let canary: Vec<String> = hosts(&variants[1]);
        let want: Vec<String> = (0..1000)
            .filter(|i| (6..=11).contains(&synthetic_source(*i)))
            .map(|i| format!("sim-{i:04}"))
            .collect();
        assert_eq!(canary, want, "JSON keeps every node");
        assert_eq!(flows["stale"][0]["same_as"], "A");
        assert_eq!(flows["stale"][0]["nodes"], 20);

        if !super::support::require_tool(
            "chromium",
            "fleet_of_1000_nodes_stays_short_and_fits_a_phone",
        ) {
            std::fs::remove_dir_all(&dir).unwrap();
            return;
        }
        let page = dir.join("fleet.html");
        let (_, _, err) = fleet(&[b, "-o", page.to_str().unwrap()]);
        let html = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{e}: {err}"));
        for width in [1400, 390] {
            let (scroll, client) = chromium_widths(&dir, &html, width);
            assert!(
                client <= width && client + 40 >= width,
                "the page was drawn {client} px wide, not {width}"
            );
            assert!(
                scroll <= client,
                "at {width} px the page is {scroll} px wide: it overflows its {client} px"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fleet_directory_argument_is_the_bundles_in_it() {
        let (_, by_dir) = fleet_json(&[BUNDLES]);
        let mut files: Vec<String> =
            std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLES))
                .unwrap()
                .map(|e| format!("{BUNDLES}/{}", e.unwrap().file_name().to_string_lossy()))
                .collect();
        // Order given does not matter; the report sorts.
        files.sort();
        files.reverse();
        let args: Vec<&str> = files.iter().map(String::as_str).collect();
        let (_, by_files) = fleet_json(&args);
        assert_eq!(by_dir, by_files);
        assert_eq!(by_dir["summary"]["bundles"], 21);
        assert_eq!(by_dir["summary"]["read"], 20);
        assert_eq!(by_dir["summary"]["hosts"], 20);
        // One worker or many: the same bytes.
        let (_, one, _) = fleet(&[BUNDLES, "--jobs", "1", "--format", "md"]);
        let (_, four, _) = fleet(&[BUNDLES, "--jobs", "4", "--format", "md"]);
        assert_eq!(one, four);
    }

    #[test]
    fn fleet_unreadable_bundle_is_reported_not_dropped() {
        let dir = scratch("fleet-unreadable");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLES);
        std::fs::copy(root.join("node-01.tar"), dir.join("node-01.tar")).unwrap();
        std::fs::write(dir.join("node-02.tar"), b"not a tar at all").unwrap();
        std::fs::write(dir.join("notes.txt"), b"hello").unwrap();
        // An unpacked bundle (a directory with manifest.json) is a bundle too.
        let unpacked = dir.join("node-03");
        std::fs::create_dir_all(&unpacked).unwrap();
        let st = std::process::Command::new("tar")
            .arg("xf")
            .arg(root.join("node-03.tar"))
            .arg("-C")
            .arg(&unpacked)
            .status()
            .unwrap();
        assert!(st.success());
        let d = dir.to_str().unwrap();
        let (code, json) = fleet_json(&[d]);
        assert_eq!(code, 1, "an unreadable bundle is an error: {json:#}");
        let bundles = json["bundles"].as_array().unwrap();
        assert_eq!(bundles.len(), 3, "{json:#}");
        let bad = bundles
            .iter()
            .find(|b| b["path"] == format!("{d}/node-02.tar"))
            .unwrap();
        assert_eq!(bad["status"], "unreadable");
        assert!(bad["error"].as_str().unwrap().contains("node-02.tar"));
        let unpacked = bundles
            .iter()
            .find(|b| b["path"] == format!("{d}/node-03"))
            .unwrap();
        assert_eq!(unpacked["host"], "node-03");
        assert_eq!(unpacked["status"], "read");
        let unreadable = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "input/unreadable")
            .expect("input/unreadable entry");
        assert_eq!(unreadable["severity"], "error");
        assert_eq!(unreadable["bundles"][0]["path"], format!("{d}/node-02.tar"));
        assert_eq!(unreadable["bundles"][0]["host"], serde_json::Value::Null);
        assert_eq!(json["ignored"][0]["path"], format!("{d}/notes.txt"));
        // The human report names it too.
        let (_, human, _) = fleet(&[d]);
        assert!(
            human.contains(&format!("1 unreadable bundle: {d}/node-02.tar")),
            "{human}"
        );
        // A clean node alone (info only: key padding no evidence shows to
        // matter): exit 0 at the default --fail-on and at warning.
        let (code, _, err) = fleet(&[&format!("{d}/node-01.tar")]);
        assert_eq!(code, 0, "{err}");
        let (code, _, _) = fleet(&[&format!("{d}/node-01.tar"), "--fail-on", "warning"]);
        assert_eq!(code, 0);
        let (code, _, _) = fleet(&[&format!("{d}/node-01.tar"), "--fail-on", "info"]);
        assert_eq!(code, 1);
        // Nothing readable at all: the command could not run.
        let (code, _, err) = fleet(&[&format!("{d}/node-02.tar")]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("no bundle could be read"), "{err}");
        let (code, _, err) = fleet(&[&format!("{d}/missing.tar")]);
        assert_eq!(code, 2, "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// `dump/growing` on `corpora/cases/growing/case.tar` (4 snapshots 2 s
/// apart of a workload that leaks `tasks` entries two ways, keeps
/// `sessions` level and runs the LRU map `recent` near its size).
mod growing {
    use super::*;

    const CASE: &str = "corpora/cases/growing/case.tar";

    #[test]
    fn growing_case_findings() {
        let (code, report) = analyze(&[CASE]);
        assert_eq!(
            code, 1,
            "an error finding: the leak fills tasks within a day"
        );
        let found = findings(&report, "dump/growing");
        let maps: Vec<&str> = found
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["map"]["name"].as_str().unwrap())
            .collect();
        // `sessions` has the same churn and stays level: no finding.
        assert_eq!(maps, ["tasks", "recent"], "{found:#}");
        let tasks = &found[0]["evidence"];
        assert_eq!(found[0]["severity"], "error");
        assert_eq!(tasks["keys_removed"], 0);
        assert!(
            tasks["dead_pid_keys"]["keys"].as_u64().unwrap() > 0,
            "{tasks:#}"
        );
        assert!(
            tasks["padding_garbage_keys"].as_u64().unwrap() > 0,
            "{tasks:#}"
        );
        assert_eq!(found[1]["severity"], "info");
        insta::assert_json_snapshot!("growing_case_dump_growing", found);
    }

    /// `--full-within` moves the line between error and warning; the
    /// metrics carry the projection for the growing map only.
    #[test]
    fn full_within_and_the_seconds_to_full_gauge() {
        let (_, report) = analyze(&[CASE, "--full-within", "10s"]);
        let found = findings(&report, "dump/growing");
        assert_eq!(found[0]["severity"], "warning", "{found:#}");
        let out = bpfcase()
            .args([
                "analyze",
                CASE,
                "--format",
                "openmetrics",
                "--fail-on",
                "never",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let gauges: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("bpfcase_map_seconds_to_full{"))
            .collect();
        assert_eq!(gauges.len(), 1, "{gauges:?}");
        assert!(gauges[0].contains("map_name=\"tasks\""), "{gauges:?}");
    }
}

/// The program side (`prog/*`): what a BPF object's own instructions leave
/// unwritten in the keys, values and records its map helpers read
/// (corpora/prog, built by corpora/prog/build.sh).
mod prog {
    use super::support::corpus;
    use super::{analyze, findings};

    fn run(object: &str) -> (i32, serde_json::Value) {
        let obj = corpus(&format!("prog/{object}"));
        analyze(&[obj.to_str().unwrap()])
    }

    /// The object's inputs row: read, and what its code checked and what not.
    fn accounting(report: &serde_json::Value) -> String {
        report["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "bpf-object")
            .map(|i| i["status"].as_str().unwrap().to_string())
            .expect("a bpf-object inputs row")
    }

    #[test]
    fn key_uninit_hole_branch_and_subprogram() {
        let (code, report) = run("uninit.bpf.o");
        assert_eq!(code, 1, "prog/key-uninit is an error");
        let f = findings(&report, "prog/key-uninit");
        let progs: Vec<(&str, &str)> = f
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["evidence"]["program"].as_str().unwrap(),
                    f["evidence"]["paths"].as_str().unwrap(),
                )
            })
            .collect();
        // Field by field (all paths), memset on one branch only (some
        // paths), a BPF-to-BPF call that fills the key but its hole.
        assert_eq!(
            progs,
            [
                ("on_switch", "some"),
                ("on_exit", "all"),
                ("on_fork", "all")
            ]
        );
        insta::assert_json_snapshot!("prog_key_uninit", f);
    }

    #[test]
    fn value_uninit_value_padding_and_ringbuf_record() {
        let (_, report) = run("uninit.bpf.o");
        let f = findings(&report, "prog/value-uninit");
        assert_eq!(f.as_array().unwrap().len(), 2);
        insta::assert_json_snapshot!("prog_value_uninit", f);
        assert_eq!(
            accounting(&report),
            "read; program code: 4 program(s), 6 map call(s) checked"
        );
    }

    /// The same object given twice (loose and inside its skeleton loader,
    /// or the same file twice) is read once: its maps and findings are not
    /// doubled, and the second's inputs row names the first.
    #[test]
    fn an_object_given_twice_is_read_once() {
        let obj = corpus("prog/uninit.bpf.o");
        let loader = corpus("prog/uninit_loader");
        let (obj, loader) = (obj.to_str().unwrap(), loader.to_str().unwrap());
        let codes = |r: &serde_json::Value| -> Vec<String> {
            let mut c: Vec<String> = (r["findings"].as_array().unwrap().iter())
                .map(|f| {
                    format!(
                        "{} {}",
                        f["code"].as_str().unwrap(),
                        f["title"].as_str().unwrap()
                    )
                })
                .collect();
            c.sort();
            c
        };
        let rows = |r: &serde_json::Value| -> Vec<String> {
            (r["inputs"].as_array().unwrap().iter())
                .filter(|i| i["kind"] == "bpf-object")
                .map(|i| i["status"].as_str().unwrap().to_string())
                .collect()
        };
        let (_, alone) = analyze(&[obj]);
        let (_, twice) = analyze(&[obj, obj]);
        assert_eq!(codes(&twice), codes(&alone));
        assert_eq!(
            rows(&twice)[1],
            format!("read; the same object as {obj} (identical bytes): read once")
        );
        let (_, with_loader) = analyze(&[loader, obj]);
        let (_, loader_alone) = analyze(&[loader]);
        assert_eq!(codes(&with_loader), codes(&loader_alone));
        assert_eq!(
            rows(&with_loader),
            [
                "read; program code: 4 program(s), 6 map call(s) checked".to_string(),
                format!("read; the same object as {loader}@0x2048 (identical bytes): read once"),
            ]
        );
    }

    /// An object whose map names are longer than the kernel keeps, with
    /// the bundle of its maps as libbpf created them
    /// (corpora/prog/longname-live, capture-longname.sh): the unique
    /// 15-byte copy is the same map, in either order of the inputs; the
    /// two names whose copies collide stay apart.
    #[test]
    fn long_map_names_tie_to_the_kernels_copy() {
        let obj = corpus("prog/longname.bpf.o");
        let live = corpus("prog/longname-live");
        let (obj, live) = (obj.to_str().unwrap(), live.to_str().unwrap());
        // Maps are listed in the order of the inputs: compared as a set.
        let summary = |report: &serde_json::Value| {
            let mut maps: Vec<String> = (report["maps"].as_array().unwrap().iter())
                .map(|m| format!("{} {}", m["name"].as_str().unwrap(), m["id"]))
                .collect();
            maps.sort();
            serde_json::json!({
                "maps": maps,
                "findings": report["findings"].as_array().unwrap().iter()
                    .map(|f| serde_json::json!([f["code"], f["title"]]))
                    .collect::<Vec<_>>(),
                "object": accounting(report),
            })
        };
        let (code, first) = analyze(&[live, obj]);
        assert_eq!(code, 0, "{first}");
        let (_, second) = analyze(&[obj, live]);
        assert_eq!(summary(&first), summary(&second), "the order of the inputs");
        let s = summary(&first);
        let names: Vec<&str> = (s["maps"].as_array().unwrap().iter())
            .map(|m| m.as_str().unwrap().split(' ').next().unwrap())
            .collect();
        assert!(!names.contains(&"established_sessions"), "{names:?}");
        assert_eq!(names.iter().filter(|n| **n == "established_ses").count(), 1);
        assert!(
            names.contains(&"conntrack_flows_by_tuple")
                && names.contains(&"conntrack_flows_by_tuple6")
        );
        assert!(s["object"].as_str().unwrap().contains(
            "map `established_sessions` is live map `established_ses` (id 24207), the kernel's 15-byte copy of its name"
        ), "{s}");
        // The program side still finds the tied map: its one update is checked.
        let padding = findings(&first, "layout/key-padding");
        assert_eq!(padding.as_array().unwrap().len(), 1, "{padding}");
        assert!(padding[0]["title"]
            .as_str()
            .unwrap()
            .ends_with("every program that updates the map (count_getppid) writes every key byte"));
        insta::assert_json_snapshot!("prog_long_map_names", s);
    }

    /// A stripped libbpf-tools loader (Debian's `runqlat`): its embedded
    /// skeleton object is found in its data and its program code checked;
    /// the missing DWARF is no error.
    #[test]
    fn stripped_loader_embedded_object_is_checked() {
        let bin = "/usr/sbin/runqlat";
        if !std::path::Path::new(bin).exists() {
            assert!(
                !super::support::in_ci(),
                "{bin} is missing: CI installs Debian's libbpf-tools"
            );
            eprintln!("SKIPPED stripped_loader_embedded_object_is_checked: no {bin} (package libbpf-tools)");
            return;
        }
        let (code, report) = analyze(&[bin]);
        assert_eq!(code, 0, "{report}");
        assert_eq!(findings(&report, "input/unreadable"), serde_json::json!([]));
        let status = accounting(&report);
        assert!(
            status.starts_with("read; program code: 6 program(s), "),
            "{status}"
        );
        let row = report["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "bpf-object")
            .unwrap();
        assert!(row["path"]
            .as_str()
            .unwrap()
            .starts_with("/usr/sbin/runqlat@0x"));
    }

    /// `= {}`, memset, keys filled by helpers, a bounded loop, a pointer into
    /// a map value and a subprogram that zeroes the key: no finding, and the
    /// one call it cannot follow (the map-value pointer) is counted.
    #[test]
    fn clean_program_has_no_finding() {
        let (code, report) = run("clean.bpf.o");
        assert_eq!(code, 0);
        for c in ["prog/key-uninit", "prog/value-uninit"] {
            assert_eq!(findings(&report, c), serde_json::json!([]), "{c}");
        }
        assert_eq!(
            accounting(&report),
            "read; program code: 5 program(s), 9 map call(s) checked; 1 not analysed: 1 call(s) through a pointer not on the stack"
        );
    }

    /// Records reserved with `bpf_ringbuf_reserve`, filled through the
    /// pointer and submitted: the one filled field by field sends its hole
    /// and tail padding (bytes only: a ring buffer has no value type); the
    /// ones zeroed with `memset` or `= {}`, and one discarded unwritten on
    /// a path, are checked and silent.
    #[test]
    fn value_uninit_reserved_ringbuf_record() {
        let (code, report) = run("ringbuf.bpf.o");
        assert_eq!(code, 0, "prog/value-uninit is a warning");
        let f = findings(&report, "prog/value-uninit");
        let progs: Vec<&str> = f
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["evidence"]["program"].as_str().unwrap())
            .collect();
        assert_eq!(progs, ["on_exec"]);
        assert_eq!(f[0]["evidence"]["helper"], "bpf_ringbuf_submit");
        assert_eq!(f[0]["evidence"]["reserved"]["source"]["line"], 34);
        insta::assert_json_snapshot!("prog_value_uninit_ringbuf_reserve", f);
        assert_eq!(
            accounting(&report),
            "read; program code: 4 program(s), 4 map call(s) checked"
        );
    }

    /// Bytes unwritten on some paths name the branch where such a path
    /// splits off: `on_switch` zeroes its key under `if` (line 80) only.
    #[test]
    fn some_paths_name_the_branch() {
        let (_, report) = run("uninit.bpf.o");
        let f = findings(&report, "prog/key-uninit");
        let some = f
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["evidence"]["paths"] == "some")
            .unwrap();
        assert_eq!(some["evidence"]["branch"]["source"]["line"], 80);
        assert!(
            some["title"]
                .as_str()
                .unwrap()
                .ends_with("that the path through the branch at uninit.bpf.c:80 leaves unwritten"),
            "{}",
            some["title"]
        );
    }

    /// `layout/key-padding` on a map whose every program-side update writes
    /// every key byte says so (`clean.bpf.o`'s `tasks`, updated by
    /// `on_fork` with a `= {}` key); on one updated with its hole unwritten
    /// (`uninit.bpf.o`) the evidence says not all bytes are written.
    #[test]
    fn key_padding_states_the_program_side() {
        let (_, report) = run("clean.bpf.o");
        let f = findings(&report, "layout/key-padding");
        let tasks = f
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["map"]["name"] == "tasks")
            .unwrap();
        insta::assert_json_snapshot!("prog_key_padding_all_written", tasks);
        assert_eq!(tasks["evidence"]["program_side"]["all_bytes_written"], true);
        // `links` is only looked up: no writer, nothing stated.
        let links = f
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["map"]["name"] == "links")
            .unwrap();
        assert!(links["evidence"].get("program_side").is_none());

        let (_, report) = run("uninit.bpf.o");
        let f = findings(&report, "layout/key-padding");
        let tasks = f
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["map"]["name"] == "tasks")
            .unwrap();
        assert_eq!(
            tasks["evidence"]["program_side"],
            serde_json::json!({
                "writers": ["on_fork"],
                "checked_calls": 1,
                "unwritten_calls": 1,
                "not_analysed_calls": 0,
                "objects_with_programs_not_analysed": 0,
                "all_bytes_written": false,
            })
        );
    }
}
