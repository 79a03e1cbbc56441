//! `bpfcase diff` on real captures: the derived later dump of `flows`
//! (corpora/dumps/derived/flows.changed.json: one entry removed, one value's
//! `packets` changed, one entry added), a dump against itself, the text and
//! JSON captures of the raw maps, a duplicate-key dump, and broken inputs.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bpfcase(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfcase"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run bpfcase")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs `diff --format json` and parses the object; the command must succeed.
fn diff_json(old: &str, new: &str, extra: &[&str]) -> Value {
    let mut args = vec!["diff", old, new, "--format", "json"];
    args.extend_from_slice(extra);
    let o = bpfcase(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("diff JSON")
}

fn counts(v: &Value) -> (usize, usize, usize, u64) {
    (
        v["added"].as_array().unwrap().len(),
        v["removed"].as_array().unwrap().len(),
        v["changed"].as_array().unwrap().len(),
        v["unchanged"].as_u64().unwrap(),
    )
}

const FLOWS: &str = "corpora/dumps/flows/flows.json";
const CHANGED: &str = "corpora/dumps/derived/flows.changed.json";
const BTF: [&str; 4] = ["--btf", "corpora/bpf/flows.bpf.o", "--map", "flows"];

#[test]
fn flows_against_its_derived_later_dump() {
    let v = diff_json(FLOWS, CHANGED, &BTF);
    assert_eq!(counts(&v), (1, 1, 1, 4));
    let c = &v["changed"][0];
    assert_eq!(c["value_diffs"].as_array().unwrap().len(), 1);
    assert_eq!(c["value_diffs"][0]["cpu"], Value::Null);
    let offsets: Vec<u64> = c["value_diffs"][0]["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_u64().unwrap())
        .collect();
    assert_eq!(
        offsets,
        (0..8).collect::<Vec<u64>>(),
        "packets is bytes 0..8"
    );
    let fields = c["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0]["name"], "packets");
    assert_eq!(fields[0]["old"], 10);
    assert_eq!(fields[0]["new"], 10u64 + 0x0101_0101_0101_0101);
    assert_eq!(c["key_decoded"]["sport"], 1234);
    assert_eq!(v["added"][0]["key_decoded"]["sport"], 4321);
    assert_eq!(v["removed"][0]["key_decoded"]["sport"], 80);
    insta::assert_json_snapshot!("flows_changed_json", v);

    let text = bpfcase(&[&["diff", FLOWS, CHANGED][..], &BTF[..]].concat());
    assert_eq!(text.status.code(), Some(0));
    insta::assert_snapshot!("flows_changed_text", stdout(&text));
}

#[test]
fn per_cpu_values_are_compared_per_cpu() {
    let v = diff_json(
        "corpora/dumps/stats/cpu_stats.json",
        "corpora/dumps/derived/cpu_stats.changed.json",
        &["--btf", "corpora/bpf/stats.bpf.o", "--map", "cpu_stats"],
    );
    assert_eq!(counts(&v), (0, 0, 1, 3));
    let c = &v["changed"][0];
    assert_eq!(c["key_decoded"], 0);
    // Only CPU 1's value changed, and only its lowest `count` byte.
    assert_eq!(
        c["value_diffs"],
        serde_json::json!([{"cpu": 1, "offsets": [0]}])
    );
    assert_eq!(
        c["fields"],
        serde_json::json!([{"cpu": 1, "name": "count", "old": 100, "new": 101}])
    );
    let text = bpfcase(&[
        "diff",
        "corpora/dumps/stats/cpu_stats.json",
        "corpora/dumps/derived/cpu_stats.changed.json",
        "--btf",
        "corpora/bpf/stats.bpf.o",
        "--map",
        "cpu_stats",
    ]);
    insta::assert_snapshot!("cpu_stats_changed_text", stdout(&text));
}

#[test]
fn without_types_the_diff_is_bytes_only() {
    let v = diff_json(FLOWS, CHANGED, &[]);
    assert_eq!(counts(&v), (1, 1, 1, 4));
    assert!(v["changed"][0].get("fields").is_none());
    assert!(v["added"][0].get("key_decoded").is_none());
    assert_eq!(
        v["added"][0]["key"],
        "01 00 00 0a e1 10 00 00 04 00 00 0a 06 be ef 99"
    );
    // The reverse diff swaps added and removed.
    let r = diff_json(CHANGED, FLOWS, &[]);
    assert_eq!(counts(&r), (1, 1, 1, 4));
    assert_eq!(r["added"][0]["key"], v["removed"][0]["key"]);
}

#[test]
fn a_dump_against_itself_has_no_changes() {
    for (dump, n) in [
        (FLOWS, 6),
        ("corpora/dumps/stats/cpu_stats.json", 4),
        ("corpora/dumps/raw/rawpcpu.json", 2),
        ("corpora/dumps/flows/flows.txt", 6),
        ("corpora/dumps/stats/cpu_stats.txt", 4),
    ] {
        let v = diff_json(dump, dump, &[]);
        let (a, r, c, u) = counts(&v);
        assert_eq!((a, r, c, u), (0, 0, 0, n), "{dump}");
    }
    let text = bpfcase(&["diff", FLOWS, FLOWS]);
    assert_eq!(
        stdout(&text),
        "0 added, 0 removed, 0 changed, 6 unchanged\n"
    );
}

#[test]
fn text_and_json_captures_of_one_map_are_equal() {
    let mut compared = 0;
    for m in [
        "rawarray",
        "rawflows",
        "rawlong",
        "rawpcpu",
        "rawpcpu_arr",
        "rawsmall",
    ] {
        let txt = format!("corpora/dumps/raw/{m}.txt");
        let json = format!("corpora/dumps/raw/{m}.json");
        let v = diff_json(&txt, &json, &[]);
        let (a, r, c, u) = counts(&v);
        assert_eq!((a, r, c), (0, 0, 0), "{m}");
        assert!(u > 0, "{m}: nothing compared");
        compared += u;
    }
    assert_eq!(compared, 4 + 5 + 2 + 2 + 2 + 5);
}

#[test]
fn duplicate_keys_are_reported_and_counted() {
    let v = diff_json(FLOWS, "corpora/dumps/derived/flows.duplicate.json", &[]);
    assert_eq!(counts(&v), (0, 0, 0, 6));
    assert_eq!(v["duplicate_keys"]["old"].as_array().unwrap().len(), 0);
    let dups = v["duplicate_keys"]["new"].as_array().unwrap();
    assert_eq!(dups.len(), 2);
    assert_eq!(dups[0]["index"], 6);
    assert_eq!(dups[1]["index"], 7);
    let text = bpfcase(&["diff", FLOWS, "corpora/dumps/derived/flows.duplicate.json"]);
    insta::assert_snapshot!("flows_duplicate_text", stdout(&text));
}

#[test]
fn a_truncated_dump_is_reported_and_its_entries_still_compared() {
    let v = diff_json("corpora/dumps/broken/flows.truncated.json", FLOWS, &[]);
    // One complete entry before the cut; the other five show as added.
    assert_eq!(counts(&v), (5, 0, 0, 1));
    let problems = v["problems"]["old"].as_array().unwrap();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .as_str()
            .unwrap()
            .starts_with("truncated at byte offset"),
        "{problems:?}"
    );
    assert_eq!(v["problems"]["new"].as_array().unwrap().len(), 0);

    let v = diff_json(
        "corpora/dumps/broken/rawflows.truncated.txt",
        "corpora/dumps/raw/rawflows.txt",
        &[],
    );
    assert_eq!(counts(&v), (4, 0, 0, 1));
    let text = bpfcase(&[
        "diff",
        "corpora/dumps/broken/rawflows.truncated.txt",
        "corpora/dumps/raw/rawflows.txt",
    ]);
    assert_eq!(text.status.code(), Some(0));
    insta::assert_snapshot!("rawflows_truncated_text", stdout(&text));
}

#[test]
fn an_unparseable_entry_stops_reading_and_is_reported() {
    let v = diff_json(FLOWS, "corpora/dumps/derived/flows.badhex.json", &[]);
    // Two entries read before the bad byte; the other four are "removed".
    assert_eq!(counts(&v), (0, 4, 0, 2));
    let p = v["problems"]["new"][0].as_str().unwrap();
    assert!(p.starts_with("unreadable at byte offset"), "{p}");
}

#[test]
fn a_missing_file_is_an_input_error_naming_it() {
    let o = bpfcase(&["diff", FLOWS, "corpora/dumps/flows/no-such-dump.json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("corpora/dumps/flows/no-such-dump.json"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn a_missing_map_in_the_btf_is_an_input_error() {
    let o = bpfcase(&[
        "diff",
        FLOWS,
        CHANGED,
        "--btf",
        "corpora/bpf/flows.bpf.o",
        "--map",
        "no_such_map",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no map `no_such_map`"), "{err}");
}
