//! `bpfcase diff` on real captures: the derived later dump of `flows`
//! (corpora/dumps/derived/flows.changed.json: one entry removed, one value's
//! `packets` changed, one entry added), a dump against itself, the text and
//! JSON captures of the raw maps, a duplicate-key dump, and broken inputs;
//! then bundles: the snapshots of `corpora/cases/lookups/case.tar`, that
//! bundle against `strace-case.tar` of the same workload, bundles without
//! snapshots or mixed with a dump, and bundles with a bad member.

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
    // One complete entry before the cut. The other five are not compared
    // (they used to show as added, although OLD may have held them past
    // where its dump stops).
    assert_eq!(counts(&v), (0, 0, 0, 1));
    assert_eq!(v["not_compared"]["new"].as_array().map(Vec::len), Some(5));
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
    assert_eq!(counts(&v), (0, 0, 0, 1));
    assert_eq!(v["not_compared"]["new"].as_array().map(Vec::len), Some(4));
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
    // Two entries read before the bad byte; the other four were never
    // compared (NEW stops there): not "removed", which used to be said.
    assert_eq!(counts(&v), (0, 0, 0, 2));
    assert_eq!(v["not_compared"]["old"].as_array().map(Vec::len), Some(4));
    assert_eq!(v["not_compared"]["new"].as_array().map(Vec::len), Some(0));
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

// --- bundles -----------------------------------------------------------------
//
// corpora/cases/lookups: `case.tar` (collect --snapshots 3) and
// `strace-case.tar` (the same workload ~2 s earlier, same map ids). Each
// 100 ms round R of the workload sets `slots[R % 8] = R` and writes
// 10.2.0.(R % 16):8080 into `conns` with {packets: R, bytes: 64 R}, deleting
// the key of round R - 8; the stale `conns` (34521) gets {R, 64 R} under
// 10.0.0.1:443. So every check below follows from the workload's logic and
// the key and value bytes, not from our own decoding.

const CASE: &str = "corpora/cases/lookups/case.tar";
const STRACE_CASE: &str = "corpora/cases/lookups/strace-case.tar";

/// Runs `diff ARGS --format json`; must succeed. Paths under the crate are
/// made relative, so snapshots hold no absolute paths.
fn bundle_json(args: &[&str]) -> Value {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let o = bpfcase(&all);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let root = format!("{}/", root().display());
    serde_json::from_str(&stdout(&o).replace(&root, "")).expect("diff JSON")
}

/// The pair of map `id` whose old side is labelled starting with `old`.
fn pair<'v>(v: &'v Value, id: u64, old: &str) -> &'v Value {
    v["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["map"]["old_id"] == id && p["old"].as_str().unwrap().starts_with(old))
        .unwrap_or_else(|| panic!("no pair for map {id} from {old}"))
}

/// Key bytes from the report's hex spelling.
fn key_bytes(e: &Value) -> Vec<u8> {
    e["key"]
        .as_str()
        .unwrap()
        .split(' ')
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// A `conns` key as the workload builds it: daddr and dport big-endian,
/// proto, a zero pad byte, ifindex little-endian. Checks the decoded form
/// against the bytes and returns the daddr.
fn check_conn_key(e: &Value) -> u32 {
    let k = key_bytes(e);
    assert_eq!(k.len(), 12);
    let daddr = u32::from_be_bytes(k[0..4].try_into().unwrap());
    let d = &e["key_decoded"];
    assert_eq!(d["daddr"], daddr);
    assert_eq!(d["dport"], u16::from_be_bytes([k[4], k[5]]));
    assert_eq!(d["proto"], 6);
    assert_eq!(k[7], 0, "the pad byte is zero");
    assert_eq!(
        d["ifindex"],
        u32::from_le_bytes(k[8..12].try_into().unwrap())
    );
    assert_eq!(d["ifindex"], 2);
    daddr
}

/// The daddrs of a list of decoded `conns` keys, sorted.
fn daddrs(entries: &Value) -> Vec<u32> {
    let mut v: Vec<u32> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(check_conn_key)
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn a_bundle_alone_diffs_each_maps_consecutive_snapshots() {
    let v = bundle_json(&[CASE]);
    assert_eq!(v["old"], CASE);
    assert_eq!(v["new"], Value::Null);
    // 6 maps, snapshots 0, 1, 2 each: 0 -> 1 and 1 -> 2.
    assert_eq!(v["pairs"].as_array().unwrap().len(), 12);
    assert_eq!(v["unmatched"], serde_json::json!([]));
    for p in v["pairs"].as_array().unwrap() {
        assert_eq!(p["problems"], serde_json::json!([]), "{}", p["map"]);
        assert_eq!(p["map"]["old_id"], p["map"]["new_id"]);
    }

    // conns 34524, snapshot 0 -> 1: rounds 34..41 -> 37..44, so the keys of
    // rounds 34..36 (10.2.0.2-4) went and those of 42..44 (10.2.0.10-12) came.
    let c = pair(&v, 34524, "snapshot 0 ");
    assert_eq!(c["map"]["name"], "conns");
    assert!(c["new"].as_str().unwrap().starts_with("snapshot 1 ("));
    let d = &c["diff"];
    assert_eq!(d["old"], format!("{CASE}!maps/34524-conns.json"));
    assert_eq!(d["new"], format!("{CASE}!snapshots/1/34524-conns.json"));
    assert_eq!(counts(d), (3, 3, 0, 6));
    let net = 0x0a02_0000u32;
    assert_eq!(daddrs(&d["added"]), vec![net + 10, net + 11, net + 12]);
    assert_eq!(daddrs(&d["removed"]), vec![net + 2, net + 3, net + 4]);
    for e in d["added"].as_array().unwrap() {
        assert_eq!(e["key_decoded"]["dport"], 8080);
    }
    let d2 = &pair(&v, 34524, "snapshot 1 ")["diff"];
    assert_eq!(counts(d2), (3, 3, 0, 6));
    assert_eq!(daddrs(&d2["added"]), vec![net + 13, net + 14, net + 15]);

    // The stale conns (34521): one key, its packets and bytes count rounds.
    let s = &pair(&v, 34521, "snapshot 0 ")["diff"];
    assert_eq!(counts(s), (0, 0, 1, 0));
    let ch = &s["changed"][0];
    assert_eq!(check_conn_key(ch), 0x0a00_0001);
    assert_eq!(ch["key_decoded"]["dport"], 443);
    assert_eq!(
        ch["fields"],
        serde_json::json!([
            {"name": "packets", "old": 41, "new": 44},
            {"name": "bytes", "old": 64 * 41, "new": 64 * 44}
        ])
    );

    // slots (34525, an array of __u64 under __u32 keys): the slots of the
    // three rounds between the snapshots moved on by 8 rounds.
    let sl = &pair(&v, 34525, "snapshot 0 ")["diff"];
    assert_eq!(counts(sl), (0, 0, 3, 5));
    for ch in sl["changed"].as_array().unwrap() {
        let index = key_bytes(ch)[0] as u64;
        assert_eq!(ch["key_decoded"], index, "a scalar key decodes");
        let f = &ch["fields"][0];
        assert_eq!(f["name"], "__u64");
        assert_eq!(f["old"].as_u64().unwrap() % 8, index);
        assert_eq!(f["new"].as_u64().unwrap(), f["old"].as_u64().unwrap() + 8);
        assert_eq!(ch["value_diffs"][0]["offsets"], serde_json::json!([0]));
    }

    // tiny does not change.
    for id in [34523, 34526] {
        for from in ["snapshot 0 ", "snapshot 1 "] {
            let t = &pair(&v, id, from)["diff"];
            let (a, r, c, _) = counts(t);
            assert_eq!((a, r, c), (0, 0, 0), "tiny {id} from {from}");
        }
    }
    assert_eq!(counts(&pair(&v, 34526, "snapshot 0 ")["diff"]).3, 4);
    insta::assert_json_snapshot!("lookups_snapshots_json", v);

    let text = bpfcase(&["diff", CASE]);
    assert_eq!(text.status.code(), Some(0));
    let text = stdout(&text);
    assert!(text.starts_with(
        "map conns (id 34521): snapshot 0 (2026-11-26T06:08:10.761Z) -> snapshot 1 (2026-11-26T06:08:13.225Z)\n0 added, 0 removed, 1 changed, 0 unchanged\n"
    ), "{text}");
    assert!(text.contains("      packets: 41 -> 44\n"), "{text}");
}

#[test]
fn two_bundles_diff_each_maps_main_dump_paired_by_id() {
    let v = bundle_json(&[STRACE_CASE, CASE]);
    assert_eq!(
        (v["old"].as_str(), v["new"].as_str()),
        (Some(STRACE_CASE), Some(CASE))
    );
    let pairs = v["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 6);
    assert_eq!(v["unmatched"], serde_json::json!([]));
    let ids: Vec<u64> = pairs
        .iter()
        .map(|p| p["map"]["old_id"].as_u64().unwrap())
        .collect();
    // Sorted by name, then id; the same ids on both sides.
    assert_eq!(ids, vec![34521, 34524, 34522, 34525, 34523, 34526]);
    for p in pairs {
        assert_eq!(p["map"]["old_id"], p["map"]["new_id"]);
        assert_eq!(p["problems"], serde_json::json!([]));
    }
    // conns 34524: rounds 13..20 in the earlier bundle, 34..41 in the later.
    let c = &pair(&v, 34524, STRACE_CASE)["diff"];
    assert_eq!(c["new"], format!("{CASE}!maps/34524-conns.json"));
    assert_eq!(counts(c), (5, 5, 3, 1));
    // A key rewritten 16 rounds later: same key, packets and bytes moved on
    // by 16 rounds, and the key's last byte is the round modulo 16.
    for ch in c["changed"].as_array().unwrap() {
        let daddr = check_conn_key(ch);
        let f = ch["fields"].as_array().unwrap();
        assert_eq!(
            (f[0]["name"].as_str(), f[1]["name"].as_str()),
            (Some("packets"), Some("bytes"))
        );
        let (old, new) = (f[0]["old"].as_u64().unwrap(), f[0]["new"].as_u64().unwrap());
        assert_eq!(new, old + 16);
        assert_eq!(u64::from(daddr & 0xff), old % 16);
        assert_eq!(f[1]["old"].as_u64().unwrap(), 64 * old);
        assert_eq!(f[1]["new"].as_u64().unwrap(), 64 * new);
    }
    // The slots all moved on; tiny did not.
    assert_eq!(counts(&pair(&v, 34525, STRACE_CASE)["diff"]), (0, 0, 8, 0));
    assert_eq!(counts(&pair(&v, 34526, STRACE_CASE)["diff"]), (0, 0, 0, 4));

    let text = bpfcase(&["diff", STRACE_CASE, CASE]);
    assert_eq!(text.status.code(), Some(0));
    insta::assert_snapshot!("lookups_two_bundles_text", stdout(&text));
}

#[test]
fn bundles_of_different_maps_list_them_unmatched() {
    let v = bundle_json(&["corpora/cases/reload/case.tar", CASE]);
    assert_eq!(v["pairs"], serde_json::json!([]));
    let unmatched = v["unmatched"].as_array().unwrap();
    // 6 dumped maps on each side, no name in common.
    assert_eq!(unmatched.len(), 12);
    let conns: Vec<&Value> = unmatched.iter().filter(|u| u["name"] == "conns").collect();
    assert_eq!(conns.len(), 2);
    assert_eq!(conns[0]["side"], "new");
    assert_eq!(
        conns[0]["why"],
        "corpora/cases/reload/case.tar has no dumped map named conns"
    );
}

/// Asserts the command failed as bad usage (exit 2, nothing on stdout) with
/// `message` on stderr. miette wraps long lines (also inside paths) and
/// draws a margin, so whitespace and the margin are ignored.
fn assert_usage_error(o: &Output, message: &str) {
    let flat = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '│')
            .collect()
    };
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty());
    assert!(flat(&err).contains(&flat(message)), "{err}");
}

#[test]
fn a_bundle_without_snapshots_alone_is_a_usage_error() {
    let o = bpfcase(&["diff", "corpora/cases/reload/case.tar"]);
    assert_usage_error(
        &o,
        "corpora/cases/reload/case.tar has no snapshots (collect --snapshots N); give two bundles or two dumps",
    );
}

#[test]
fn a_bundle_with_a_dump_or_btf_options_is_a_usage_error() {
    for args in [[CASE, FLOWS], [FLOWS, CASE]] {
        let o = bpfcase(&["diff", args[0], args[1]]);
        assert_usage_error(&o, &format!("{CASE} is a bundle and {FLOWS} is not"));
    }
    let o = bpfcase(&[&["diff", CASE][..], &BTF[..]].concat());
    assert_usage_error(
        &o,
        "--btf/--map/--key-type/--value-type are for dump files; a bundle carries each map's BTF",
    );
    let o = bpfcase(&["diff", FLOWS]);
    assert_usage_error(&o, &format!("{FLOWS} is not a bundle: give NEW too"));
}

/// A scratch directory of this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfcase-diff-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `bytes` with one character of `member`'s data changed: the member is
/// found by its ustar header (the name at a 512-byte boundary), its data
/// follows the header.
fn corrupt_member(bytes: &mut [u8], member: &str, find: &[u8], replace: u8) {
    let name = format!("{member}\0");
    let header = (0..bytes.len())
        .step_by(512)
        .find(|&o| bytes[o..].starts_with(name.as_bytes()))
        .expect("member in the tar");
    let data = header + 512;
    let at = data
        + bytes[data..]
            .windows(find.len())
            .position(|w| w == find)
            .expect("pattern in the member");
    bytes[at + find.len() - 1] = replace;
}

#[test]
fn a_corrupted_dump_costs_only_its_pairs() {
    let dir = scratch("corrupt");
    let mut tar = std::fs::read(root().join(CASE)).unwrap();
    // A key byte 0x0a becomes 0x0b: still a valid dump, but not the one
    // collect hashed.
    corrupt_member(&mut tar, "snapshots/1/34524-conns.json", b"\"0x0a", b'b');
    let bundle = dir.join("case.tar");
    std::fs::write(&bundle, &tar).unwrap();
    let name = bundle.display().to_string();

    let v = bundle_json(&[&name]);
    assert_eq!(v["pairs"].as_array().unwrap().len(), 12);
    let member = format!("{name}!snapshots/1/34524-conns.json");
    for from in ["snapshot 0 ", "snapshot 1 "] {
        let p = pair(&v, 34524, from);
        assert_eq!(p["diff"], Value::Null, "{from}");
        let problems = p["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1);
        let why = problems[0].as_str().unwrap();
        assert!(why.starts_with(&format!("{member}: SHA-256 ")), "{why}");
        assert!(why.contains("the file changed after collection"), "{why}");
    }
    // Everything else is still diffed.
    let diffed = v["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["diff"].is_object() && p["problems"] == serde_json::json!([]))
        .count();
    assert_eq!(diffed, 10);
    assert_eq!(
        counts(&pair(&v, 34525, "snapshot 0 ")["diff"]),
        (0, 0, 3, 5)
    );

    let text = bpfcase(&["diff", &name]);
    assert_eq!(text.status.code(), Some(0));
    let text = stdout(&text);
    assert!(
        text.contains(&format!("problem: {member}: SHA-256 ")),
        "{text}"
    );
    assert_eq!(text.matches("\nnot diffed\n").count(), 2, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn in_an_unpacked_bundle_a_missing_dump_or_bad_btf_costs_only_its_maps() {
    let dir = scratch("unpacked");
    let unpacked = dir.join("case");
    tar::Archive::new(std::fs::File::open(root().join(CASE)).unwrap())
        .unpack(&unpacked)
        .unwrap();
    std::fs::remove_file(unpacked.join("snapshots/2/34525-slots.json")).unwrap();
    // The stale maps' BTF (34521-34523) no longer matches its hash.
    std::fs::write(unpacked.join("btf/2623.btf"), b"not BTF").unwrap();
    let name = unpacked.display().to_string();

    let v = bundle_json(&[&name]);
    let missing = pair(&v, 34525, "snapshot 1 ");
    assert_eq!(missing["diff"], Value::Null);
    assert_eq!(
        missing["problems"],
        serde_json::json!([format!(
            "{name}!snapshots/2/34525-slots.json: listed in the manifest but absent from the bundle"
        )])
    );
    assert_eq!(
        counts(&pair(&v, 34525, "snapshot 0 ")["diff"]),
        (0, 0, 3, 5)
    );
    // Without its BTF the stale conns is diffed in hex only, and says why.
    let stale = pair(&v, 34521, "snapshot 0 ");
    let why = stale["problems"][0].as_str().unwrap();
    assert!(
        why.starts_with(&format!("{name}!btf/2623.btf: SHA-256 ")),
        "{why}"
    );
    assert!(why.ends_with("keys and values are shown as hex"), "{why}");
    assert_eq!(counts(&stale["diff"]), (0, 0, 1, 0));
    assert!(stale["diff"]["changed"][0].get("key_decoded").is_none());
    assert!(stale["diff"]["changed"][0].get("fields").is_none());
    // The live maps have their own BTF (2632) and still decode.
    let live = &pair(&v, 34524, "snapshot 0 ")["diff"];
    assert_eq!(live["added"][0]["key_decoded"]["dport"], 8080);
    let _ = std::fs::remove_dir_all(&dir);
}

// --- dump forms ---------------------------------------------------------------

/// Regression: `diff flows.json flows.txt` (the same map state, `-j` and
/// BTF-formatted text) reported 6 added and 6 removed: the text form's keys
/// are fields, not bytes. With the types, the bytes side is decoded and the
/// entries match by fields; the text side says what it cannot show.
#[test]
fn json_and_btf_formatted_text_of_one_map_state_are_equal() {
    let mut compared = 0;
    for (obj, dir, maps) in [
        (
            "corpora/bpf/flows.bpf.o",
            "flows",
            &["flows", "flows_lru", "flows_small"][..],
        ),
        (
            "corpora/bpf/stats.bpf.o",
            "stats",
            &["cpu_stats", "policies", "proc_stats"][..],
        ),
        (
            "corpora/bpf/layouts.bpf.o",
            "layouts",
            &[
                "addr_map",
                "bits_map",
                "comm_map",
                "fam_map",
                "misc_map",
                "packed_map",
            ][..],
        ),
        ("corpora/dumps/wide/u128.bpf.o", "wide", &["wide_map"][..]),
    ] {
        for m in maps {
            let json = format!("corpora/dumps/{dir}/{m}.json");
            let txt = format!("corpora/dumps/{dir}/{m}.txt");
            for (old, new) in [(&json, &txt), (&txt, &json)] {
                let v = diff_json(old, new, &["--btf", obj, "--map", m]);
                let (a, r, c, u) = counts(&v);
                assert_eq!((a, r, c), (0, 0, 0), "{old} -> {new}: {v}");
                assert!(u > 0, "{m}: nothing compared");
                let side = if old == &txt { "old" } else { "new" };
                let note = v["problems"][side][0].as_str().unwrap_or_default();
                assert!(note.contains("cannot be compared"), "{m}: {v}");
                compared += u;
            }
        }
    }
    assert!(compared > 40, "{compared}");
    let text = bpfcase(&[
        "diff",
        FLOWS,
        "corpora/dumps/flows/flows.txt",
        "--btf",
        "corpora/bpf/flows.bpf.o",
        "--map",
        "flows",
    ]);
    insta::assert_snapshot!("flows_json_against_text", stdout(&text));
}

/// Without the types the bytes of one side cannot be matched with the
/// other's fields: that is said, and the diff does not run (no 6/6).
#[test]
fn json_against_btf_formatted_text_needs_the_types() {
    let o = bpfcase(&["diff", FLOWS, "corpora/dumps/flows/flows.txt"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).replace(['│', '\n'], " ");
    let err = err.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        err.contains("flows.txt is a BTF-formatted text dump"),
        "{err}"
    );
    assert!(err.contains("--btf"), "{err}");
    assert!(o.stdout.is_empty());
}

/// A bundle `path` of hash maps `(id, name, entries, changed keys)`, in
/// that order in the tar: key `i` (12 B) holds `i * id` unless `i` is
/// changed (one more).
fn write_bundle(path: &std::path::Path, maps: &[(u32, &str, u32, &[u32])]) {
    use sha2::Digest as _;
    let hex = |b: &[u8]| {
        b.iter()
            .map(|x| format!("\"0x{x:02x}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut members = Vec::new();
    let (mut files, mut records) = (Vec::new(), Vec::new());
    for &(id, name, n, changed) in maps {
        let entries: Vec<String> = (0..n)
            .map(|i| {
                let mut k = [0u8; 12];
                k[..4].copy_from_slice(&i.to_le_bytes());
                let mut v = [0u8; 24];
                let value = i * id + u32::from(changed.contains(&i));
                v[..4].copy_from_slice(&value.to_le_bytes());
                format!("{{\"key\":[{}],\"value\":[{}]}}", hex(&k), hex(&v))
            })
            .collect();
        let dump = format!("[{}]", entries.join(",")).into_bytes();
        let member = format!("maps/{id}-{name}.json");
        let sha: String = sha2::Sha256::digest(&dump)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        files.push(serde_json::json!({"path": member, "size": dump.len(), "sha256": sha}));
        records.push(serde_json::json!({"id": id, "name": name, "type": "hash",
            "key_size": 12, "value_size": 24, "max_entries": 1000, "flags": 0,
            "btf_id": 0, "btf_key_type_id": 0, "btf_value_type_id": 0, "dump": member}));
        members.push((member, dump));
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "format": "bpfcase-bundle", "version": 1, "bpfcase_version": "0.1.0",
        "host": {"hostname": "h", "kernel_release": "6", "machine": "x86_64",
                 "possible_cpus": 2, "possible": "0-1", "online": "0-1"},
        "created": "2026-01-01T00:00:00Z", "files": files, "maps": records, "btf": [],
    }))
    .unwrap();
    members.push(("manifest.json".into(), manifest));
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (p, data) in &members {
        let mut h = tar::Header::new_gnu();
        h.set_path(p).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append(&h, data.as_slice()).unwrap();
    }
    b.finish().unwrap();
}

/// Two bundles listing their maps in different orders: the walk of each
/// bundle cannot meet every pair in step (x comes first in one, y in the
/// other), and every pair is still compared, in either direction.
#[test]
fn bundles_listing_maps_in_different_orders_diff_every_pair() {
    let dir = scratch("order");
    let (a, b) = (dir.join("a.tar"), dir.join("b.tar"));
    write_bundle(
        &a,
        &[(1, "x", 100, &[]), (2, "y", 50, &[]), (5, "z", 10, &[])],
    );
    write_bundle(
        &b,
        &[
            (2, "y", 50, &[7]),
            (1, "x", 101, &[1, 2]),
            (5, "z", 10, &[0]),
        ],
    );
    let (a, b) = (a.display().to_string(), b.display().to_string());
    let by_map = |v: &Value| -> Vec<(String, (usize, usize, usize, u64))> {
        v["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                assert_eq!(p["problems"], serde_json::json!([]), "{p:#}");
                (
                    p["map"]["name"].as_str().unwrap().to_string(),
                    counts(&p["diff"]),
                )
            })
            .collect()
    };
    let forward = by_map(&diff_json(&a, &b, &[]));
    let expected = [
        ("x", (1, 0, 2, 98)),
        ("y", (0, 0, 1, 49)),
        ("z", (0, 0, 1, 9)),
    ];
    let expected: Vec<_> = expected.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    assert_eq!(forward, expected);
    let backward = by_map(&diff_json(&b, &a, &[]));
    assert_eq!(backward[0], ("x".to_string(), (0, 1, 2, 98)));
    assert_eq!(backward[1..], expected[1..]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// libbpf's global data maps (corpora/globals): a change is named by the
/// variable, in dumps (`.bss` written twice: `counter` 3 then 7) and across
/// two bundles of the same loaded object (`counter` 7 then 9). Their key
/// has no BTF type: it is the array index.
#[test]
fn global_data_changes_are_named_by_variable() {
    let v = diff_json(
        "corpora/globals/dumps/bss.1.json",
        "corpora/globals/dumps/bss.2.json",
        &[
            "--btf",
            "corpora/globals/dumps/map.btf",
            "--map",
            "datasec_.bss",
        ],
    );
    let fields = &v["changed"][0]["fields"];
    assert_eq!(
        fields,
        &serde_json::json!([
            {"name": "last_pid", "old": 42, "new": 43},
            {"name": "counter", "old": 3, "new": 7}
        ])
    );
    let text = bpfcase(&[
        "diff",
        "corpora/globals/case.tar",
        "corpora/globals/case.later.tar",
    ]);
    assert_eq!(text.status.code(), Some(0));
    insta::assert_snapshot!("globals_bundles_text", stdout(&text));
}
