//! The cross-check of user-space layouts against BTF, on real compilers'
//! output: Go source and Go DWARF (gc), C DWARF (gcc), Rust DWARF (rustc),
//! each against the BTF of the corpus BPF objects. Correct mirrors produce no
//! layout error; each planted mistake produces its code, and every layout code
//! has a snapshot.

mod support;

use std::collections::BTreeSet;

use support::{bpfcase, corpus};

const OBJECTS: [&str; 3] = ["bpf/flows.bpf.o", "bpf/stats.bpf.o", "bpf/layouts.bpf.o"];

/// Runs analyze on all corpus objects plus `user` (a path under corpora/),
/// comparing `pairs` (USER=BTF); returns the JSON report.
fn analyze(user: &str, pairs: &[(&str, &str)], extra: &[&str]) -> serde_json::Value {
    let mut cmd = bpfcase();
    cmd.arg("analyze");
    for o in OBJECTS {
        cmd.arg(corpus(o));
    }
    cmd.arg(corpus(user))
        .args(["--format", "json", "--fail-on", "never"])
        .args(extra);
    for (u, b) in pairs {
        cmd.arg("--pair").arg(format!("{u}={b}"));
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
}

/// Layout findings about user type `user`, with machine paths made relative.
fn findings_for(report: &serde_json::Value, user: &str) -> Vec<serde_json::Value> {
    let root = format!("{}/", env!("CARGO_MANIFEST_DIR"));
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["code"].as_str().unwrap().starts_with("layout/")
                && f["evidence"]["user_type"]
                    .as_str()
                    .or(f["evidence"]["type"].as_str())
                    // DWARF names are qualified the way the language does (`layouts::FlowKey`).
                    .is_some_and(|t| {
                        t == user
                            || t.ends_with(&format!("::{user}"))
                            || t.ends_with(&format!(".{user}"))
                    })
        })
        .map(|f| {
            serde_json::from_str(&serde_json::to_string(f).unwrap().replace(&root, "")).unwrap()
        })
        .collect()
}

/// The codes a pair's findings report, counting the differences a root
/// cause lists as its consequences (`shifted` fields are offset mismatches,
/// `size` a size mismatch) rather than as findings of their own.
fn codes(findings: &[serde_json::Value]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in findings {
        out.insert(f["code"].as_str().unwrap().to_string());
        for c in f["evidence"]["consequences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            match c["kind"].as_str() {
                Some("shifted") => out.insert("layout/offset-mismatch".to_string()),
                Some("size") => out.insert("layout/size-mismatch".to_string()),
                other => panic!("unknown consequence kind {other:?}"),
            };
        }
    }
    out
}

/// Every automatic match of a correct mirror (by type name) says `match`.
fn assert_correct_mirrors_match(user: &str, extra: &[&str], want_at_least: usize) {
    let report = analyze(user, &[], extra);
    let checks = report["checks"].as_array().unwrap();
    let differing: Vec<String> = checks
        .iter()
        .filter(|c| c["verdict"] != "match")
        .map(|c| format!("{} vs {}", c["user_type"], c["btf_type"]))
        .collect();
    eprintln!(
        "{user}: {} automatic checks, {} differ",
        checks.len(),
        differing.len()
    );
    assert!(
        checks.len() >= want_at_least,
        "only {} checks for {user}",
        checks.len()
    );
    assert!(
        differing.is_empty(),
        "{user}: correct mirrors differ: {differing:?}"
    );
    let errors: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(
        errors.is_empty(),
        "{user}: errors on correct mirrors: {errors:?}"
    );
}

#[test]
fn correct_go_source_mirrors_match() {
    assert_correct_mirrors_match("go", &[], 14);
}

#[test]
fn correct_go_dwarf_mirrors_match() {
    assert_correct_mirrors_match("go/layouts.amd64", &[], 14);
}

#[test]
fn correct_c_dwarf_mirrors_match() {
    assert_correct_mirrors_match("c/layouts.x86_64", &[], 14);
}

#[test]
fn correct_rust_dwarf_mirrors_match() {
    assert_correct_mirrors_match("rust/layouts.x86_64", &[], 14);
}

/// (language input, user type, BTF type, codes it must produce)
const MISTAKES: &[(&str, &str, &str, &[&str])] = &[
    (
        "go",
        "FlowKeyGoInt",
        "flow_key",
        &[
            "layout/size-mismatch",
            "layout/offset-mismatch",
            "layout/type-mismatch",
        ],
    ),
    (
        "go",
        "FlowKeyBoolProto",
        "flow_key",
        &["layout/type-mismatch"],
    ),
    (
        "go",
        "FlowKeyBEHostOrder",
        "flow_key_be",
        &["layout/byte-order"],
    ),
    (
        "go",
        "FlowValueMissingFlags",
        "flow_value",
        &["layout/missing-field", "layout/offset-mismatch"],
    ),
    // [15]byte: still 20 bytes in all (tail padding), so only the array differs.
    ("go", "ProcKeyComm15", "proc_key", &["layout/array-length"]),
    (
        "go",
        "PackedHdrNatural",
        "packed_hdr",
        &["layout/offset-mismatch", "layout/size-mismatch"],
    ),
    ("go", "FamZeroArray", "fam", &["layout/size-mismatch"]),
    (
        "go",
        "TaskCommComm16",
        "task_comm",
        &["layout/array-length", "layout/size-mismatch"],
    ),
    (
        "c/layouts.x86_64",
        "flow_key_long",
        "flow_key",
        &["layout/type-mismatch", "layout/size-mismatch"],
    ),
    (
        "c/layouts.x86_64",
        "flow_key_be_host",
        "flow_key_be",
        &["layout/byte-order"],
    ),
    (
        "c/layouts.x86_64",
        "flow_value_missing_flags",
        "flow_value",
        &["layout/missing-field"],
    ),
    (
        "c/layouts.x86_64",
        "proc_key_comm15",
        "proc_key",
        &["layout/array-length"],
    ),
    (
        "c/layouts.x86_64",
        "packed_hdr_natural",
        "packed_hdr",
        &["layout/offset-mismatch"],
    ),
    (
        "c/layouts.x86_64",
        "bits_swapped",
        "bits",
        &["layout/bitfield"],
    ),
    (
        "c/layouts.x86_64",
        "task_comm_comm16",
        "task_comm",
        &["layout/array-length"],
    ),
    (
        "rust/layouts.x86_64",
        "FlowKeyUsize",
        "flow_key",
        &["layout/type-mismatch", "layout/size-mismatch"],
    ),
    (
        "rust/layouts.x86_64",
        "FlowKeyReprRust",
        "flow_key",
        &["layout/offset-mismatch"],
    ),
    (
        "rust/layouts.x86_64",
        "FlowKeyBeHostOrder",
        "flow_key_be",
        &["layout/byte-order"],
    ),
    (
        "rust/layouts.x86_64",
        "FlowValueMissingFlags",
        "flow_value",
        &["layout/missing-field"],
    ),
    (
        "rust/layouts.x86_64",
        "ProcKeyComm15",
        "proc_key",
        &["layout/array-length"],
    ),
];

#[test]
fn planted_mistakes_produce_their_codes() {
    let mut failures = Vec::new();
    for (input, user, btf, want) in MISTAKES {
        let report = analyze(input, &[(user, btf)], &[]);
        let got = codes(&findings_for(&report, user));
        for w in *want {
            if !got.contains(*w) {
                failures.push(format!("{input} {user} vs {btf}: missing {w}, got {got:?}"));
            }
        }
    }
    eprintln!("checked {} planted mistakes", MISTAKES.len());
    assert!(failures.is_empty(), "{failures:#?}");
}

/// One snapshot per layout code, each on a real planted mistake.
#[test]
fn layout_code_snapshots() {
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        // gc pads a struct that ends in a zero-size field (`Data [0]byte`):
        // 12 bytes, not 8; the size is all that differs, so it is the root cause.
        (
            "layout_size_mismatch",
            "go",
            "FamZeroArray",
            "fam",
            "layout/size-mismatch",
        ),
        // Natural alignment against a packed struct: nothing before `len`
        // differs, so the first moved field is the root cause.
        (
            "layout_offset_mismatch",
            "go",
            "PackedHdrNatural",
            "packed_hdr",
            "layout/offset-mismatch",
        ),
        (
            "layout_type_mismatch",
            "go",
            "FlowKeyGoInt",
            "flow_key",
            "layout/type-mismatch",
        ),
        (
            "layout_missing_field",
            "go",
            "FlowValueMissingFlags",
            "flow_value",
            "layout/missing-field",
        ),
        (
            "layout_array_length",
            "go",
            "ProcKeyComm15",
            "proc_key",
            "layout/array-length",
        ),
        (
            "layout_bitfield",
            "c/layouts.x86_64",
            "bits_swapped",
            "bits",
            "layout/bitfield",
        ),
        (
            "layout_byte_order",
            "go",
            "FlowKeyBEHostOrder",
            "flow_key_be",
            "layout/byte-order",
        ),
    ];
    for (snap, input, user, btf, code) in cases {
        let report = analyze(input, &[(user, btf)], &[]);
        let picked: Vec<serde_json::Value> = findings_for(&report, user)
            .into_iter()
            .filter(|f| f["code"] == *code)
            .collect();
        assert!(!picked.is_empty(), "{snap}: no {code}");
        insta::assert_json_snapshot!(*snap, picked);
    }
}

#[test]
fn go_on_386_moves_uint64_and_is_caught() {
    // Go aligns uint64 to 4 on 386: PolicyNoPad's Flags moves from 8 to 4.
    let report = analyze("go", &[("PolicyNoPad", "policy")], &["--goarch", "386"]);
    let got = codes(&findings_for(&report, "PolicyNoPad"));
    assert!(
        got.contains("layout/offset-mismatch") && got.contains("layout/size-mismatch"),
        "{got:?}"
    );
    let report = analyze("go", &[("PolicyNoPad", "policy")], &["--goarch", "amd64"]);
    assert!(
        findings_for(&report, "PolicyNoPad").is_empty(),
        "fine on amd64"
    );
}

#[test]
fn human_report_points_at_the_go_line() {
    let out = bpfcase()
        .arg("analyze")
        .arg(corpus("bpf/flows.bpf.o"))
        .arg(corpus("go"))
        .args(["--map", "flows", "--key-type", "FlowKeyGoInt"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "layout errors fail with the default --fail-on"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("types.go:152"), "{text}");
    assert!(text.contains("Saddr int"), "{text}");
    assert!(text.contains("Go `int` is 8 bytes"), "{text}");
}

#[test]
fn yaml_schema_is_a_user_type_source() {
    // A schema generated from the Go source by `bpfcase schema`, then compared.
    let dir = std::env::temp_dir().join(format!("bpfcase-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = dir.join("flowkey.yaml");
    let out = bpfcase()
        .args(["schema", "--go-src"])
        .arg(corpus("go"))
        .args(["--type", "FlowKeyGoInt", "-o"])
        .arg(&yaml)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bpfcase()
        .arg("analyze")
        .arg(corpus("bpf/flows.bpf.o"))
        .arg(&yaml)
        .args(["--pair", "FlowKeyGoInt=flow_key", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = codes(&findings_for(&report, "FlowKeyGoInt"));
    assert!(
        got.contains("layout/type-mismatch") && got.contains("layout/size-mismatch"),
        "{got:?}"
    );
    assert!(
        report["inputs"][1]["kind"] == "schema",
        "{}",
        report["inputs"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
