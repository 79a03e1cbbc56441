//! Hostile or broken inputs, as a compromised or broken node could produce
//! them: every case ends quickly with a clear error or finding that names
//! the file, never a hang, an abort, or a read outside the input.
//!
//! Bundles are read as data: a directory bundle's members are opened only
//! when they are regular files inside it (no symbolic link followed, no fifo
//! or device opened), a tar's link members are reported, not followed, and
//! an ambiguous or unknown manifest is refused with the reason.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{bpfcase, corpus, push_json_hex};

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bpfcase-hostile-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The reload case unpacked into `dir/bundle`.
fn unpacked_case(dir: &Path) -> PathBuf {
    let b = dir.join("bundle");
    std::fs::create_dir_all(&b).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(corpus("cases/reload/case.tar"))
        .arg("-C")
        .arg(&b)
        .status()
        .unwrap();
    assert!(st.success());
    b
}

/// Runs `bpfcase analyze ARGS --format json --fail-on never`, killing it
/// if it runs past 20 s (a hang is a failure, not a stuck test run).
fn analyze(args: &[&Path]) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = bpfcase()
        .arg("analyze")
        .args(args)
        .args(["--format", "json", "--fail-on", "never"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = start + Duration::from_secs(20);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("analyze {args:?} still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), start.elapsed())
}

/// The `input/unreadable` findings of a JSON report, as "path: title" lines.
fn unreadable(out: &Output) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "input/unreadable")
        .map(|f| f["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// stdout and stderr, with miette's line wrapping (`│` gutters) undone: an
/// unreadable bundle is an error on stderr (exit 2), wrapped to the terminal.
fn both_outputs(out: &Output) -> String {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    all.split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

fn any_contains(lines: &[String], needles: &[&str]) -> bool {
    lines.iter().any(|l| needles.iter().all(|n| l.contains(n)))
}

/// A member replaced by a symbolic link to a file outside the bundle —
/// even one with the very bytes the manifest's hash expects — is not read:
/// the finding names the member and the link.
#[test]
fn directory_bundle_symlink_member_is_not_followed() {
    let dir = scratch("symlink");
    let b = unpacked_case(&dir);
    let member = b.join("maps/16273-flows.json");
    let outside = dir.join("outside.json");
    std::fs::rename(&member, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &member).unwrap();
    // A symlinked directory on the way is refused too.
    let elf_dir = b.join("elf");
    let elf_outside = dir.join("elf-outside");
    std::fs::rename(&elf_dir, &elf_outside).unwrap();
    std::os::unix::fs::symlink(&elf_outside, &elf_dir).unwrap();

    let (out, _) = analyze(&[&b]);
    let u = unreadable(&out);
    assert!(
        any_contains(
            &u,
            &["maps/16273-flows.json", "symbolic link", "outside.json"]
        ),
        "{u:#?}"
    );
    assert!(
        any_contains(&u, &["elf/0-flows.bpf.o", "symbolic link"]),
        "{u:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fifo would block a reader forever and a link to /dev/zero never
/// ends: both are refused at once, the rest of the bundle is analysed.
#[test]
fn directory_bundle_fifo_and_device_members_are_refused() {
    let dir = scratch("fifo");
    let b = unpacked_case(&dir);
    let fifo = b.join("maps/16274-flows_lru.json");
    std::fs::remove_file(&fifo).unwrap();
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let dev = b.join("maps/16275-flows_small.json");
    std::fs::remove_file(&dev).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &dev).unwrap();

    let (out, took) = analyze(&[&b]);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let u = unreadable(&out);
    assert!(
        any_contains(&u, &["16274-flows_lru.json", "a fifo"]),
        "{u:#?}"
    );
    assert!(
        any_contains(
            &u,
            &["16275-flows_small.json", "symbolic link", "/dev/zero"]
        ),
        "{u:#?}"
    );
    // The other maps' dumps were still checked.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        (report["findings"].as_array().unwrap().iter())
            .any(|f| f["code"] == "dump/key-padding-garbage"),
        "the readable dumps were not analysed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Builds a tar at `path` from `(name, member)` pairs with GNU tar's
/// `--transform`-free layout: regular files from `src`, plus links.
fn tar_with_links(dir: &Path, src: &Path) -> PathBuf {
    // Replace one listed dump by a symlink and one by a hard link, then tar.
    let dump = src.join("maps/16276-flows.json");
    std::fs::remove_file(&dump).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &dump).unwrap();
    let hard = src.join("maps/16277-flows_lru.json");
    std::fs::remove_file(&hard).unwrap();
    std::fs::hard_link(src.join("bpftool/prog-show.json"), &hard).unwrap();
    let out = dir.join("links.tar");
    let st = Command::new("tar")
        .arg("-cf")
        .arg(&out)
        .arg("-C")
        .arg(src)
        .args(["manifest.json", "btf", "bpftool", "elf", "maps"])
        .status()
        .unwrap();
    assert!(st.success());
    out
}

/// Link members of a tar are reported, with their targets, not dropped
/// silently (and not followed).
#[test]
fn tar_bundle_link_members_are_reported() {
    let dir = scratch("tarlinks");
    let b = unpacked_case(&dir);
    let tar = tar_with_links(&dir, &b);
    let (out, _) = analyze(&[&tar]);
    let u = unreadable(&out);
    assert!(
        any_contains(
            &u,
            &[
                "maps/16276-flows.json",
                "symbolic link member",
                "/etc/passwd"
            ]
        ),
        "{u:#?}"
    );
    assert!(
        any_contains(&u, &["maps/16277-flows_lru.json", "hard link member"]),
        "{u:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rewrites the unpacked case's manifest with `edit` and returns its dir.
fn with_manifest(test: &str, edit: impl FnOnce(&mut serde_json::Value)) -> (PathBuf, PathBuf) {
    let dir = scratch(test);
    let b = unpacked_case(&dir);
    let path = b.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    (dir, b)
}

/// A manifest of an unknown (newer) format version is refused, saying so.
#[test]
fn manifest_of_a_newer_version_is_refused() {
    let (dir, b) = with_manifest("version", |m| m["version"] = 2.into());
    let (out, _) = analyze(&[&b]);
    let all = both_outputs(&out);
    assert!(
        all.contains("manifest.json") && all.contains("version 2") && all.contains("newer bpfcase"),
        "{all}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two `manifest.json` members: which one describes the bundle is a guess,
/// so the bundle is refused, naming both offsets (was: "missing field
/// `bpfcase_version`" when the first was not a manifest).
#[test]
fn tar_with_two_manifests_is_refused() {
    let dir = scratch("twomanifests");
    let b = unpacked_case(&dir);
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("manifest.json"), b"{\"format\": \"x\"}").unwrap();
    let tar = dir.join("two.tar");
    let st = Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&other)
        .arg("manifest.json")
        .arg("-C")
        .arg(&b)
        .args(["manifest.json", "maps"])
        .status()
        .unwrap();
    assert!(st.success());
    let (out, _) = analyze(&[&tar]);
    let all = both_outputs(&out);
    assert!(
        all.contains("manifest.json 2 times") && all.contains("byte offsets 0, "),
        "{all}"
    );
    assert!(!all.contains("missing field"), "{all}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- Evidence bounds (issue 12: one key repeated through a dump) ----

/// Runs `bpfcase analyze DUMP --format json` under GNU time, killing it past
/// 20 s; returns the output, the wall time and the child's peak RSS in KB.
fn analyze_measured(dump: &Path, rss_file: &Path) -> (Output, Duration, u64) {
    analyze_measured_within(dump, rss_file, 20)
}

/// [`analyze_measured`], killing it past `secs` seconds.
fn analyze_measured_within(dump: &Path, rss_file: &Path, secs: u64) -> (Output, Duration, u64) {
    let start = Instant::now();
    let mut child = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(rss_file)
        .arg(env!("CARGO_BIN_EXE_bpfcase"))
        .arg("analyze")
        .arg(dump)
        .args(["--format", "json", "--fail-on", "never"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Drain stdout on a thread: a pipe left unread would stall a large report.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).unwrap();
        buf
    });
    let deadline = start + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("analyze {} still running after {secs} s", dump.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    let mut out = child.wait_with_output().unwrap();
    out.stdout = reader.join().unwrap();
    let rss = std::fs::read_to_string(rss_file).unwrap();
    let rss_kb = (rss.lines().last().unwrap_or_default().trim().parse())
        .unwrap_or_else(|e| panic!("{e}: /usr/bin/time wrote {rss:?}"));
    (out, took, rss_kb)
}

/// Checks the `dump/duplicate-keys` finding of a report on a dump holding
/// `entries` copies of key `01 00 00 00`, and the cost of producing it.
fn assert_bounded_duplicate_evidence(
    form: &str,
    dump: &Path,
    entries: u64,
    key: &str,
    (out, took, rss_kb): (Output, Duration, u64),
) {
    assert!(
        out.stdout.len() < 8 << 10,
        "{form}: report of {} bytes",
        out.stdout.len()
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{form}: {e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    let f = (report["findings"].as_array().unwrap().iter())
        .find(|f| f["code"] == "dump/duplicate-keys")
        .unwrap_or_else(|| panic!("{form}: no dump/duplicate-keys in {report:#}"));
    let ev = &f["evidence"];
    assert_eq!(ev["entries"], entries, "{form}: {ev:#}");
    assert_eq!(ev["duplicated_keys"], 1, "{form}: {ev:#}");
    assert_eq!(ev["extra_entries"], entries - 1, "{form}: {ev:#}");
    let examples = ev["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 1, "{form}: {ev:#}");
    let ex = &examples[0];
    assert_eq!(ex["key"], key, "{form}: {ex:#}");
    assert_eq!(ex["count"], entries, "{form}: the true count, {ex:#}");
    // The first 8 occurrences, in dump order, and no more.
    let indexes: Vec<u64> = (ex["indexes"].as_array().unwrap().iter())
        .map(|i| i.as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..8).collect::<Vec<_>>(), "{form}: {ex:#}");
    assert_eq!(ex["at"].as_array().unwrap().len(), 8, "{form}: {ex:#}");
    assert!(
        took < Duration::from_secs(10),
        "{form}: took {took:?} (was 8-17 s)"
    );
    // Reading the dump costs its bytes plus ~100 bytes an entry (spans,
    // sorted key hashes); evidence adds nothing per repeat. Before the
    // bound, 2M repeats took 2.6 GB and 3M text lines 4.5 GB.
    let file = std::fs::metadata(dump).unwrap().len();
    let bound_kb = (64 << 10) + (file + 128 * entries) / 1024;
    assert!(
        rss_kb < bound_kb,
        "{form}: peak RSS {rss_kb} KB, bound {bound_kb} KB"
    );
    eprintln!(
        "{form}: {entries} entries, {} MB file: {took:?}, peak RSS {} MB, report {} bytes",
        file >> 20,
        rss_kb >> 10,
        out.stdout.len()
    );
}

/// One key repeated millions of times (a walk that kept restarting, or a
/// forged dump): the finding keeps the true counts and the first few
/// occurrences, so the report stays a few KB and memory stays linear in
/// the entries, in both the `-j` JSON and the plain-text form.
#[test]
fn one_key_repeated_through_a_dump_keeps_bounded_evidence() {
    if !support::require_tool(
        "/usr/bin/time",
        "one_key_repeated_through_a_dump_keeps_bounded_evidence",
    ) {
        return;
    }
    use std::io::Write as _;
    let dir = scratch("repeated-key");
    let rss = dir.join("rss");

    const JSON_ENTRIES: u64 = 2_000_000;
    let json = dir.join("dup.json");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&json).unwrap());
        let entry =
            br#"{"key":["0x01","0x00","0x00","0x00"],"value":["0x00","0x00","0x00","0x00"]}"#;
        w.write_all(b"[").unwrap();
        for i in 0..JSON_ENTRIES {
            if i > 0 {
                w.write_all(b",").unwrap();
            }
            w.write_all(entry).unwrap();
        }
        w.write_all(b"]").unwrap();
        w.flush().unwrap();
    }
    let measured = analyze_measured(&json, &rss);
    assert_bounded_duplicate_evidence("json", &json, JSON_ENTRIES, "01 00 00 00", measured);
    std::fs::remove_file(&json).unwrap();

    const TEXT_ENTRIES: u64 = 3_000_000;
    let text = dir.join("dup.txt");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&text).unwrap());
        for _ in 0..TEXT_ENTRIES {
            w.write_all(b"key: 01 00 00 00  value: 00 00 00 00\n")
                .unwrap();
        }
        writeln!(w, "Found {TEXT_ENTRIES} elements").unwrap();
        w.flush().unwrap();
    }
    let measured = analyze_measured(&text, &rss);
    assert_bounded_duplicate_evidence("text", &text, TEXT_ENTRIES, "01 00 00 00", measured);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- Types that are walked: depth, work and size bounds (src/limits.rs) ----

/// Address space every hostile type case must run in (`ulimit -v`): the
/// binary, its stacks and its heap. Before issue 12 the doubling types took
/// up to 4 GB; now they and every other case here fit in 256 MB.
const ADDRESS_SPACE_KB: u32 = 256 * 1024;

/// Runs `bpfcase ARGS` in `dir` (see [`run_cmd`]) under `ulimit -v` [`ADDRESS_SPACE_KB`], so memory growing
/// with a declared size fails the run (an abort, not exit 0 or 2).
fn run_capped(dir: &Path, args: &[&str]) -> (Output, Duration, String) {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KB} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_bpfcase"));
    run_cmd(cmd, dir, args)
}

/// Runs `cmd ARGS` in `dir`, killed after 20 s; returns the output, the
/// time taken, and stdout+stderr with miette's wrapping undone.
fn run_cmd(mut cmd: Command, dir: &Path, args: &[&str]) -> (Output, Duration, String) {
    let start = Instant::now();
    let mut child = cmd
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = start + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("bpfcase {args:?} still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let text = both_outputs(&out);
    (out, start.elapsed(), text)
}

/// Every hostile type case must end this fast (it ends in well under 0.1 s
/// on an idle machine; the slack is for a loaded one, not for real work).
const QUICK: Duration = Duration::from_secs(2);

/// Asserts a run was quick, did not abort (exit 134) and said `needles`.
fn assert_quick(args: &[&str], r: &(Output, Duration, String), code: i32, needles: &[&str]) {
    let (out, took, text) = r;
    assert!(*took < QUICK, "{args:?} took {took:?}: {text}");
    assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
    for n in needles {
        assert!(text.contains(n), "{args:?}: expected {n:?} in {text}");
    }
}

/// A little-endian BTF blob: valid header, the type records as 32-bit words,
/// and the string table.
fn btf_blob(types: &[u32], strings: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xeb9fu16.to_le_bytes());
    out.extend_from_slice(&[1, 0]); // version, flags
    for w in [24, 0, types.len() as u32 * 4, types.len() as u32 * 4] {
        out.extend_from_slice(&w.to_le_bytes()); // hdr_len, type_off, type_len, str_off
    }
    out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
    for w in types {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(strings);
    out
}

/// Strings of the hostile blobs: "" "int" "s" "a" "b" "top".
const BTF_STRINGS: &[u8] = b"\0int\0s\0a\0b\0top\0";
const S_INT: u32 = 1;
const S_S: u32 = 5;
const S_A: u32 = 7;
const S_B: u32 = 9;
const S_TOP: u32 = 11;

fn btf_info(kind: u32, vlen: u32) -> u32 {
    (kind << 24) | vlen
}

/// Type 1: a 4-byte `int`.
fn btf_int() -> Vec<u32> {
    vec![S_INT, btf_info(1, 0), 4, 32]
}

/// `struct top` wrapping `struct s` wrapping … `levels` deep around an int.
fn btf_deep(levels: u32) -> Vec<u8> {
    let mut t = btf_int();
    for i in 0..levels {
        let name = if i + 1 == levels { S_TOP } else { S_S };
        t.extend([name, btf_info(4, 1), 4, S_A, i + 1, 0]);
    }
    btf_blob(&t, BTF_STRINGS)
}

/// `struct S_i { struct S_{i-1} a, b; }`: the size doubles per level (from
/// `leaf` bytes; 0 makes every level zero-sized), the last is `top`.
fn btf_doubling(levels: u32, leaf: u32) -> Vec<u8> {
    let mut t = btf_int();
    let mut prev = 1;
    if leaf == 0 {
        t.extend([S_S, btf_info(4, 0), 0]);
        prev = 2;
    }
    let mut size = leaf;
    for i in 0..levels {
        let name = if i + 1 == levels { S_TOP } else { S_S };
        t.extend([
            name,
            btf_info(4, 2),
            size * 2,
            S_A,
            prev,
            0,
            S_B,
            prev,
            size * 8,
        ]);
        prev += 1;
        size *= 2;
    }
    btf_blob(&t, BTF_STRINGS)
}

/// `struct top { int a; int b[nelems]; }` (24 bytes) with `b` at `b_bits`.
fn btf_huge_array(nelems: u32, b_bits: u32) -> Vec<u8> {
    let mut t = btf_int();
    t.extend([0, btf_info(3, 0), 0, 1, 1, nelems]);
    t.extend([S_TOP, btf_info(4, 2), 24, S_A, 1, 0, S_B, 2, b_bits]);
    btf_blob(&t, BTF_STRINGS)
}

/// `struct top { T a; }` where T is `hops` typedefs/consts deep over int.
fn btf_chain(hops: u32) -> Vec<u8> {
    let mut t = btf_int();
    for i in 0..hops {
        let kind = if i % 2 == 0 { 10 } else { 8 }; // const, typedef
        let name = if kind == 8 { S_A } else { 0 };
        t.extend([name, btf_info(kind, 0), i + 1]);
    }
    t.extend([S_TOP, btf_info(4, 1), 4, S_A, hops + 1, 0]);
    btf_blob(&t, BTF_STRINGS)
}

/// A bpftool JSON dump of one entry: 4-byte key, `value_len`-byte value.
fn dump_json(value_len: usize) -> String {
    let hex = |n: usize| vec!["\"0x00\""; n].join(",");
    format!("[{{\"key\":[{}],\"value\":[{}]}}]", hex(4), hex(value_len))
}

/// Runs layout, schema --btf and decode (with a 24-byte and an empty value)
/// on `btf`, each under the address-space cap, each checked by
/// `check(args, result)`.
fn every_btf_reader(test: &str, btf: &[u8], check: impl Fn(&[&str], &(Output, Duration, String))) {
    let dir = scratch(test);
    std::fs::write(dir.join("t.btf"), btf).unwrap();
    std::fs::write(dir.join("d24.json"), dump_json(24)).unwrap();
    std::fs::write(dir.join("d0.json"), dump_json(0)).unwrap();
    let decode = |d: &'static str| {
        [
            "decode",
            "--dump",
            d,
            "--btf",
            "t.btf",
            "--key-type",
            "int",
            "--value-type",
            "top",
        ]
    };
    let runs: [&[&str]; 4] = [
        &["layout", "t.btf", "top"],
        &["schema", "--btf", "t.btf", "--type", "top"],
        &decode("d24.json"),
        &decode("d0.json"),
    ];
    for args in runs {
        check(args, &run_capped(&dir, args));
    }
}

/// Structs nested 20,000 deep (aborted with a stack overflow at ~2,000)
/// stop at the shared depth limit with the file and offset named.
#[test]
fn btf_nested_past_the_depth_limit_is_an_error_not_an_abort() {
    every_btf_reader("btf-deep", &btf_deep(20_000), |args, r| {
        assert_quick(
            args,
            r,
            2,
            &[
                "t.btf at byte offset",
                "nests types more than 128 levels deep",
            ],
        );
    });
    // Just under the limit is an ordinary type.
    every_btf_reader("btf-deep-ok", &btf_deep(127), |args, r| {
        if args[0] != "decode" || args[2] == "d24.json" {
            return;
        }
        assert_quick(args, r, 0, &["does not match the types"]);
    });
}

/// A type whose size doubles per level (2^26 paths to its leaves; 2^40 for
/// zero-sized ones) costs work linear in its 28 records.
#[test]
fn btf_doubling_types_cost_linear_work() {
    every_btf_reader("btf-doubling", &btf_doubling(26, 4), |args, r| {
        let needles: &[&str] = match args[0] {
            "layout" => &["size: 268435456"],
            "schema" => &["size: 268435456", "type: s_2"],
            _ => &["does not match the types", "is 268435456 bytes"],
        };
        assert_quick(args, r, 0, needles);
    });
    every_btf_reader("btf-doubling-zero", &btf_doubling(40, 0), |args, r| {
        let needles: &[&str] = match (args[0], args.get(2)) {
            ("decode", Some(&"d0.json")) => &["yields more than 4096 values for 0 bytes"],
            ("decode", _) => &["24 bytes, but the type `struct top` is 0 bytes"],
            _ => &["size: 0"],
        };
        assert_quick(args, r, 0, needles);
    });
}

/// An array of 2^32-1 ints in a 24-byte value, and a member placed half a
/// gigabyte past the end: work follows the entry's 24 bytes.
#[test]
fn btf_huge_arrays_and_far_members_cost_only_the_entry_bytes() {
    every_btf_reader("btf-huge-array", &btf_huge_array(u32::MAX, 0), |args, r| {
        let needles: &[&str] = match (args[0], args.get(2)) {
            ("decode", Some(&"d24.json")) => &["\"value\":"],
            ("decode", _) => &["0 bytes, but the type `struct top` is 24 bytes"],
            _ => &["4294967295"],
        };
        assert_quick(args, r, 0, needles);
    });
    every_btf_reader(
        "btf-far-member",
        &btf_huge_array(1, u32::MAX - 95),
        |args, r| {
            let needles: &[&str] = match (args[0], args.get(2)) {
                ("decode", Some(&"d24.json")) => &["\"value\":\"0x"],
                ("decode", _) => &["0 bytes, but the type `struct top` is 24 bytes"],
                _ => &["536870900"],
            };
            assert_quick(args, r, 0, needles);
        },
    );
}

/// A chain of 70 typedefs/qualifiers is "longer than 64", not a cycle.
#[test]
fn btf_long_typedef_chain_is_named_as_such() {
    every_btf_reader("btf-chain", &btf_chain(70), |args, r| {
        assert_quick(
            args,
            r,
            2,
            &[
                "t.btf at byte offset",
                "chain longer than 64 (limit MAX_CHAIN)",
            ],
        );
        assert!(!r.2.contains("cycle"), "{args:?}: {}", r.2);
    });
    every_btf_reader("btf-chain-ok", &btf_chain(60), |args, r| {
        if args[0] == "layout" {
            assert_quick(args, r, 0, &["struct top"]);
        }
    });
}

/// YAML flow collections nested 100,000 deep (25 s before the YAML parser
/// gave up) are refused at once, naming the line and column.
#[test]
fn yaml_schema_nested_deep_is_refused_at_once() {
    let dir = scratch("yaml-deep");
    let n = 100_000;
    std::fs::write(
        dir.join("s.yaml"),
        format!(
            "name: x\nsize: 4\nfields: {}{}\n",
            "[".repeat(n),
            "]".repeat(n)
        ),
    )
    .unwrap();
    // 200 types each holding the next: past the limit, named as depth.
    let mut chain = String::from("types:\n");
    for i in 0..200 {
        let ty = if i == 199 {
            "u32".to_string()
        } else {
            format!("t{}", i + 1)
        };
        chain.push_str(&format!(
            "- name: t{i}\n  size: 4\n  fields:\n  - name: a\n    offset: 0\n    size: 4\n    type: {ty}\n"
        ));
    }
    std::fs::write(dir.join("chain.yaml"), chain).unwrap();
    std::fs::write(dir.join("d4.json"), dump_json(4)).unwrap();
    for (schema, needles) in [
        (
            "s.yaml",
            &[
                "s.yaml:3",
                "column 137",
                "the YAML nests more than 128 levels deep",
            ][..],
        ),
        (
            "chain.yaml",
            &["chain.yaml:", "nests more than 128 levels deep"][..],
        ),
    ] {
        let args = [
            "decode",
            "--dump",
            "d4.json",
            "--schema",
            schema,
            "--key-type",
            "u32",
            "--value-type",
            "t0",
        ];
        let r = run_capped(&dir, &args);
        assert_quick(&args, &r, 2, needles);
        assert!(!r.2.contains("contains itself"), "{}", r.2);
    }
}

/// Go: a chain of 64 constants doubling to 2^64 is an overflow, not "refers
/// to itself"; a struct doubling 30 times lays out at once; a real
/// self-reference is still named.
#[test]
fn go_constant_chains_and_doubling_structs() {
    let dir = scratch("go");
    let mut src = String::from("package p\n\nconst (\n\tC0 = 1\n");
    for i in 1..=64 {
        src.push_str(&format!("\tC{i} = C{} * 2\n", i - 1));
    }
    src.push_str(")\n\nconst Self = Self + 1\n\ntype T struct {\n\tA [C64]byte\n}\n\n");
    src.push_str("type U struct {\n\tA [Self]byte\n}\n\ntype S0 struct {\n\tX uint32\n}\n");
    for i in 1..30 {
        src.push_str(&format!(
            "type S{i} struct {{\n\tA S{}\n\tB S{}\n}}\n",
            i - 1,
            i - 1
        ));
    }
    std::fs::create_dir_all(dir.join("p")).unwrap();
    std::fs::write(dir.join("p/p.go"), src).unwrap();
    let cases: [(&str, i32, &[&str]); 3] = [
        (
            "T",
            2,
            &["18446744073709551616 is not a valid array length"],
        ),
        ("U", 2, &["constant Self refers to itself"]),
        ("S29", 0, &["size: 2147483648", "name: S0"]),
    ];
    for (ty, code, needles) in cases {
        let args = ["schema", "--go-src", "p", "--type", ty];
        let r = run_capped(&dir, &args);
        assert_quick(&args, &r, code, needles);
    }
}

// ---- Bundle sizes: bounded by the manifest and limits::MAX_BUNDLE_BYTES ----

/// A manifest for [`bundle_tar`]: one hash map (`id` 1, key 12 B, value
/// 24 B) with BTF id 1 and the dump `maps/1-m.json`, and `files` as given
/// (path, declared size, SHA-256 hex).
fn bundle_manifest(files: &[(&str, u64, String)]) -> Vec<u8> {
    let files: Vec<_> = files
        .iter()
        .map(|(p, size, sha)| serde_json::json!({"path": p, "size": size, "sha256": sha}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "format": "bpfcase-bundle", "version": 1, "bpfcase_version": "0.1.0",
        "host": {"hostname": "h", "kernel_release": "6", "machine": "x86_64",
                 "possible_cpus": 2, "possible": "0-1", "online": "0-1"},
        "created": "2026-01-01T00:00:00Z",
        "files": files,
        "maps": [{"id": 1, "name": "m", "type": "hash", "key_size": 12, "value_size": 24,
                  "max_entries": 4000000, "flags": 0, "btf_id": 1, "btf_key_type_id": 1,
                  "btf_value_type_id": 1, "dump": "maps/1-m.json"}],
        "btf": [{"id": 1, "name": "", "path": "btf/1.btf"}],
    }))
    .unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A tar member header for `path` holding `size` bytes.
fn member_header(path: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_path(path).unwrap();
    h.set_size(size);
    h.set_mode(0o600);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h
}

/// `n` dump entries in bpftool `-j` form (key 12 B, value 24 B, ~280 B an
/// entry), each key distinct.
fn dump_entries(n: u32) -> Vec<u8> {
    dump_entries_changed(n, &[])
}

/// [`dump_entries`] with the value of the entries `changed` one higher.
fn dump_entries_changed(n: u32, changed: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(n as usize * 290 + 2);
    out.push(b'[');
    for i in 0..n {
        let mut k = [0u8; 12];
        k[..4].copy_from_slice(&i.to_le_bytes());
        let mut v = [0u8; 24];
        let bump = u32::from(changed.contains(&i));
        v[..4].copy_from_slice(&i.wrapping_mul(7).wrapping_add(bump).to_le_bytes());
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":[");
        push_json_hex(&mut out, &k);
        out.extend_from_slice(b"],\"value\":[");
        push_json_hex(&mut out, &v);
        out.extend_from_slice(b"]}");
    }
    out.push(b']');
    out
}

/// Writes `dir/bomb.tar.gz`, a gzip bomb: a 6 GB member of zeros in a `.tar.gz` of a few MB (the
/// manifest first, so its declared sizes are known before the bomb), the
/// manifest declaring 100 bytes for it.
fn gzip_bomb(dir: &Path) -> PathBuf {
    const BOMB: u64 = 6 << 30;
    let dump = dump_entries(10);
    let btf_declared = 100u64;
    let manifest = bundle_manifest(&[
        ("btf/1.btf", btf_declared, "00".repeat(32)),
        ("maps/1-m.json", dump.len() as u64, sha256_hex(&dump)),
    ]);
    let gz = dir.join("bomb.tar.gz");
    write_zeros_tar_gz(&gz, Some(&manifest), "btf/1.btf", BOMB);
    gz
}

/// Writes `gz`: a `.tar.gz` holding `manifest` (when given) as
/// `manifest.json`, then a member `member` of `size` zero bytes (a multiple
/// of 1 MiB), then the end of the archive; a few MB for gigabytes of
/// zeros. The zeros go through flate2 once, as one 1 MiB block ended by a
/// full flush (self-contained and byte-aligned), repeated; the gzip
/// trailer's CRC is combined from the block's, so the stream is valid to
/// its end: a reader that inflated the member would produce `size` bytes.
fn write_zeros_tar_gz(gz: &Path, manifest: Option<&[u8]>, member: &str, size: u64) {
    use flate2::{Compress, Compression, Crc, FlushCompress};
    use std::io::Write as _;
    const BLOCK: usize = 1 << 20;
    assert_eq!(size % BLOCK as u64, 0);
    // The tar stream up to the member's data: manifest member, member header.
    let mut head = Vec::new();
    {
        let mut b = tar::Builder::new(&mut head);
        if let Some(manifest) = manifest {
            b.append(
                &member_header("manifest.json", manifest.len() as u64),
                manifest,
            )
            .unwrap();
        }
        b.append(&member_header(member, size), std::io::empty())
            .unwrap_or(());
        b.into_inner().unwrap();
    }
    // `append` above wrote the header and padded an empty body: cut back
    // to the end of the member's header (the body follows as zeros).
    let manifest_blocks = manifest.map_or(0, |m| 512 + (m.len() as u64).div_ceil(512) * 512);
    head.truncate(manifest_blocks as usize + 512);
    let deflate = |c: &mut Compress, input: &[u8], flush: FlushCompress| -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() / 2 + 1024);
        let mut consumed = 0;
        loop {
            let before_in = c.total_in();
            out.reserve(64 << 10);
            c.compress_vec(&input[consumed..], &mut out, flush).unwrap();
            consumed += (c.total_in() - before_in) as usize;
            if consumed == input.len() && out.len() < out.capacity() {
                return out;
            }
        }
    };
    let mut c = Compress::new(Compression::fast(), false);
    let mut crc = Crc::new();
    let mut block_crc = Crc::new();
    block_crc.update(&vec![0u8; BLOCK]);
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(gz).unwrap());
        w.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])
            .unwrap();
        w.write_all(&deflate(&mut c, &head, FlushCompress::Full))
            .unwrap();
        crc.update(&head);
        let zeros = deflate(&mut c, &vec![0u8; BLOCK], FlushCompress::Full);
        for _ in 0..size / BLOCK as u64 {
            w.write_all(&zeros).unwrap();
            crc.combine(&block_crc);
        }
        w.write_all(&deflate(&mut c, &[0u8; 1024], FlushCompress::Finish))
            .unwrap();
        crc.update(&[0u8; 1024]);
        w.write_all(&crc.sum().to_le_bytes()).unwrap();
        w.write_all(&crc.amount().to_le_bytes()).unwrap();
        w.flush().unwrap();
    }
    let compressed = std::fs::metadata(gz).unwrap().len();
    assert!(compressed < 64 << 20, "the bomb is {compressed} bytes");
}

/// The bomb in `analyze`: one finding naming the member, its declared and
/// real sizes and the cap, in bounded time and memory.
#[test]
fn gzip_bomb_in_a_bundle_is_one_finding_in_bounded_time_and_memory() {
    if !support::require_tool("/usr/bin/time", "gzip_bomb_in_a_bundle") {
        return;
    }
    const BOMB: u64 = 6 << 30;
    let dir = scratch("gzbomb");
    let gz = gzip_bomb(&dir);
    let (out, took, rss_kb) = analyze_measured(&gz, &dir.join("rss"));
    let u = unreadable(&out);
    let about_btf: Vec<_> = u.iter().filter(|l| l.contains("btf")).collect();
    assert_eq!(about_btf.len(), 1, "{u:#?}");
    let cap = (32u64 << 30).to_string();
    assert!(
        any_contains(
            &u,
            &[
                "btf/1.btf",
                &BOMB.to_string(),
                "declares 100 bytes",
                &cap,
                "stopped",
                "1 listed file after it not read"
            ]
        ),
        "{u:#?}"
    );
    assert_eq!(u.len(), 1, "one finding for the bomb: {u:#?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(rss_kb < 100_000, "peak RSS {rss_kb} KB");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 20: a `.tar.gz` whose tar header (and manifest) declare a 6 GB
/// `btf/vmlinux.btf`, over the cap for a BTF blob
/// (`limits::MAX_BTF_BYTES`, 1 GiB): the member is refused from its
/// declared size without being read (it was read up to 1 GiB into memory
/// before), one finding names it and its size, and the rest of the bundle
/// is read. The `.tar.gz` is streamed past the member (inflating it costs
/// time, not memory): peak RSS stays under 64 MB.
#[test]
fn tar_member_declared_over_its_cap_is_refused_unread() {
    if !support::require_tool("/usr/bin/time", "tar_member_over_its_cap") {
        return;
    }
    const BOMB: u64 = 6 << 30;
    let dir = scratch("overcap");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "format": "bpfcase-bundle", "version": 1, "bpfcase_version": "0.1.0",
        "host": {"hostname": "h", "kernel_release": "6", "machine": "x86_64",
                 "possible_cpus": 2, "possible": "0-1", "online": "0-1"},
        "created": "2026-01-01T00:00:00Z",
        "files": [{"path": "btf/vmlinux.btf", "size": BOMB, "sha256": "00".repeat(32)}],
        "btf": [{"id": 1, "name": "vmlinux", "path": "btf/vmlinux.btf"}],
    }))
    .unwrap();
    let gz = dir.join("overcap.tar.gz");
    let built = Instant::now();
    write_zeros_tar_gz(&gz, Some(&manifest), "btf/vmlinux.btf", BOMB);
    let built = built.elapsed();
    let (out, took, rss_kb) = analyze_measured_within(&gz, &dir.join("rss"), 120);
    let u = unreadable(&out);
    assert!(
        any_contains(
            &u,
            &[
                "btf/vmlinux.btf",
                &BOMB.to_string(),
                "its tar header declares",
                &(1u64 << 30).to_string(),
                "limits::MAX_BTF_BYTES",
                "not read"
            ]
        ),
        "{u:#?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(u.len(), 1, "one finding for the member: {u:#?}");
    assert!(
        rss_kb < 64 << 10,
        "peak RSS {rss_kb} KB (bound 64 MB), took {took:?}"
    );
    eprintln!(
        "6 GB btf/vmlinux.btf declared in a {} KB .tar.gz (built in {built:?}): refused in {took:?}, peak RSS {} KB: {}",
        std::fs::metadata(&gz).unwrap().len() >> 10,
        rss_kb,
        u[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 20: a `manifest.json` whose tar header declares more than
/// `limits::MAX_MANIFEST_BYTES` is the bundle's error, naming it and its
/// size, and none of it is read.
#[test]
fn manifest_declared_over_its_cap_is_the_bundles_error() {
    const SIZE: u64 = 128 << 20;
    let dir = scratch("bigmanifest");
    let gz = dir.join("bigmanifest.tar.gz");
    write_zeros_tar_gz(&gz, None, "manifest.json", SIZE);
    let out = bpfcase()
        .arg("analyze")
        .arg(&gz)
        .args(["--format", "json", "--fail-on", "never"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "manifest.json",
        &SIZE.to_string(),
        "limits::MAX_MANIFEST_BYTES",
        "not read",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    eprintln!("{}", String::from_utf8_lossy(&out.stderr).trim());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes an uncompressed bundle holding `members` (manifest last, as
/// collect writes it).
fn write_tar(path: &Path, members: &[(&str, &[u8])]) {
    let f = std::fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(std::io::BufWriter::new(f));
    for (p, data) in members {
        b.append(&member_header(p, data.len() as u64), *data)
            .unwrap();
    }
    b.into_inner().unwrap();
}

/// A dump member larger than the manifest declares is not read: one
/// finding names it with both sizes; the rest of the bundle is analysed.
#[test]
fn bundle_member_larger_than_declared_is_one_finding() {
    let dir = scratch("oversized");
    let real = dump_entries(2000);
    let declared = dump_entries(2);
    let manifest = bundle_manifest(&[(
        "maps/1-m.json",
        declared.len() as u64,
        sha256_hex(&declared),
    )]);
    let tar = dir.join("b.tar");
    write_tar(
        &tar,
        &[("maps/1-m.json", &real), ("manifest.json", &manifest)],
    );
    let (out, took) = analyze(&[&tar]);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let u = unreadable(&out);
    let about_dump: Vec<_> = u.iter().filter(|l| l.contains("maps/1-m.json")).collect();
    assert_eq!(about_dump.len(), 1, "{u:#?}");
    assert!(
        any_contains(
            &u,
            &[
                "maps/1-m.json",
                &format!("holds {} bytes", real.len()),
                &format!("declares {} bytes", declared.len()),
                "not read"
            ]
        ),
        "{u:#?}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["maps"][0]["name"], "m", "{report:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `bpfcase COMMAND INPUTS.. ARGS..` with at most `limit` bytes of
/// data (RLIMIT_DATA, set with prlimit); it must succeed, and its JSON
/// report is returned.
fn under_data_limit(
    limit: u64,
    command: &str,
    inputs: &[&std::ffi::OsStr],
    args: &[&str],
) -> serde_json::Value {
    let out = Command::new("prlimit")
        .arg(format!("--data={limit}"))
        .arg(env!("CARGO_BIN_EXE_bpfcase"))
        .arg(command)
        .args(inputs)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Dumps are checked as they stream out of the bundle, batch by batch: a
/// bundle whose dump is larger than the memory `analyze` may use
/// (RLIMIT_DATA, set with prlimit) is analysed in full. Reading the member
/// whole first fails here, and so does keeping its parsed entries until the
/// analyses end (68 bytes an entry: 61 MiB) rather than its keys (16).
#[test]
fn bundle_dump_larger_than_the_memory_limit_is_analysed() {
    if !support::require_tool("prlimit", "bundle_dump_larger_than_the_memory_limit") {
        return;
    }
    const ENTRIES: u32 = 900_000;
    const LIMIT: u64 = 100 << 20;
    let dir = scratch("memcap");
    let dump = dump_entries(ENTRIES);
    assert!(
        dump.len() as u64 > 2 * LIMIT,
        "dump of {} bytes",
        dump.len()
    );
    let manifest = bundle_manifest(&[("maps/1-m.json", dump.len() as u64, sha256_hex(&dump))]);
    let tar = dir.join("big.tar");
    write_tar(
        &tar,
        &[("maps/1-m.json", &dump), ("manifest.json", &manifest)],
    );
    drop(dump);
    let analyze = [tar.as_os_str(), "--format".as_ref(), "json".as_ref()];
    let report = under_data_limit(LIMIT, "analyze", &analyze, &["--fail-on", "never"]);
    assert_eq!(
        report["maps"][0]["entries"], ENTRIES,
        "{:#}",
        report["maps"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `diff` of two bundles streams NEW's dump through an index of OLD's:
/// two 1M-entry dumps (~280 MB each) are compared under a 200 MiB memory
/// limit (RLIMIT_DATA, set with prlimit). Holding both dumps whole (as
/// before) needs over 250 MiB and fails here.
#[test]
fn diff_of_bundles_larger_than_the_memory_limit_is_compared() {
    if !support::require_tool("prlimit", "diff_of_bundles_larger_than_the_memory_limit") {
        return;
    }
    const ENTRIES: u32 = 1_000_000;
    const LIMIT: u64 = 200 << 20;
    const CHANGED: [u32; 2] = [5, 900_000];
    let dir = scratch("memcap-diff");
    let mut tars = Vec::new();
    for (name, changed) in [("old.tar", &[][..]), ("new.tar", &CHANGED[..])] {
        let dump = dump_entries_changed(ENTRIES, changed);
        let manifest = bundle_manifest(&[("maps/1-m.json", dump.len() as u64, sha256_hex(&dump))]);
        let tar = dir.join(name);
        write_tar(
            &tar,
            &[("maps/1-m.json", &dump), ("manifest.json", &manifest)],
        );
        tars.push(tar);
    }
    let inputs: Vec<&std::ffi::OsStr> = tars.iter().map(|t| t.as_os_str()).collect();
    let report = under_data_limit(LIMIT, "diff", &inputs, &["--format", "json"]);
    let diff = &report["pairs"][0]["diff"];
    let changed: Vec<&serde_json::Value> = diff["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["new_index"])
        .collect();
    assert_eq!(changed, CHANGED, "{diff:#}");
    assert_eq!(diff["unchanged"], ENTRIES - 2, "{diff:#}");
    assert_eq!(diff["added"], serde_json::json!([]), "{diff:#}");
    assert_eq!(diff["removed"], serde_json::json!([]), "{diff:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bomb in `diff` of two bundles: the map's pair carries the bound's
/// message, in bounded time; nothing is inflated past the bomb's header.
#[test]
fn gzip_bomb_in_diff_of_bundles_is_bounded() {
    let dir = scratch("gzbomb-diff");
    let gz = gzip_bomb(&dir);
    let args = [
        "diff",
        gz.to_str().unwrap(),
        gz.to_str().unwrap(),
        "--format",
        "json",
    ];
    let r = run_capped(&dir, &args);
    assert!(r.1 < Duration::from_secs(5), "took {:?}", r.1);
    assert!(
        r.2.contains("btf/1.btf: the archive holds 6442450944 bytes")
            && r.2.contains("maps/1-m.json: not read: reading of the compressed bundle stopped before it, at btf/1.btf"),
        "{}",
        r.2
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- Bundles carrying hostile BTF (issue 12): analyze and diff ----

/// A directory bundle at `dir` whose one hash map (`m`, id 1) has BTF
/// `btf` (key type id 1, the 4-byte int; value type `value_type`), and a
/// dump of one entry whose value is `value_len` bytes of `fill`.
fn bundle_with_btf(dir: &Path, btf: &[u8], value_type: u32, value_len: usize, fill: u8) {
    use sha2::Digest;
    std::fs::create_dir_all(dir.join("btf")).unwrap();
    std::fs::create_dir_all(dir.join("maps")).unwrap();
    let hex = |n: usize, b: u8| vec![format!("\"0x{b:02x}\""); n].join(",");
    let dump = format!(
        "[{{\"key\":[{}],\"value\":[{}]}}]",
        hex(4, 1),
        hex(value_len, fill)
    );
    let files: [(&str, &[u8]); 2] = [("btf/1.btf", btf), ("maps/1-m.json", dump.as_bytes())];
    let mut listed = Vec::new();
    for (path, bytes) in files {
        std::fs::write(dir.join(path), bytes).unwrap();
        listed.push(serde_json::json!({
            "path": path,
            "size": bytes.len(),
            "sha256": bpfcase::bundle::hex(&sha2::Sha256::digest(bytes)),
        }));
    }
    let manifest = serde_json::json!({
        "format": "bpfcase-bundle",
        "version": 1,
        "bpfcase_version": "0.1.0",
        "host": {"hostname": "node", "kernel_release": "6.1", "machine": "x86_64",
                 "possible_cpus": 2, "possible": "0-1", "online": "0-1"},
        "created": "2026-11-30T00:00:00Z",
        "files": listed,
        "maps": [{"id": 1, "name": "m", "type": "hash", "key_size": 4,
                  "value_size": value_len, "max_entries": 8, "flags": 0,
                  "btf_id": 1, "btf_key_type_id": 1, "btf_value_type_id": value_type,
                  "dump": "maps/1-m.json", "entries": 1}],
        "btf": [{"id": 1, "path": "btf/1.btf"}],
    });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
}

/// Bundles carrying the hostile BTF above (structs nested 10,000 deep —
/// an abort before issue 12 —, a size doubling 26 and 40 times, a 70-hop
/// typedef chain, a 2^32-element array) go through `analyze` and through
/// `diff` of two such bundles quickly: a type that cannot be laid out is an
/// `input/unreadable` finding naming the bundle file, offset and map (it
/// was dropped silently: `value_type: null`), as is a type whose size is
/// not the map's; the rest is decoded within the entry's bytes.
#[test]
fn bundles_carrying_hostile_btf_are_analysed_and_diffed_quickly() {
    let dir = scratch("btf-bundles");
    let deep = "nests types more than 128 levels deep (limit MAX_TYPE_DEPTH)";
    let chain = "chain longer than 64 (limit MAX_CHAIN)";
    type Case<'a> = (&'a str, Vec<u8>, u32, usize, &'a [&'a str], &'a [&'a str]);
    let cases: [Case; 5] = [
        (
            "deep",
            btf_deep(10_000),
            10_001,
            4,
            &[
                "input/unreadable",
                "deep-old!btf/1.btf could not be read at byte offset 240016: map `m`: value type",
                deep,
            ],
            &[
                "deep-old!btf/1.btf at byte offset 240016",
                deep,
                "1 changed",
            ],
        ),
        (
            "doubling",
            btf_doubling(26, 4),
            27,
            24,
            // The type is not used, and the report says so (it was a
            // silent pass: no finding, the dump's bytes left unchecked).
            &[
                "input/unreadable",
                "doubling-old!btf/1.btf could not be read: the value type `struct top` (type id 27) is 268435456 bytes, but map m (id 1) has 24-byte values",
            ],
            &["`struct top` (type id 27) is 268435456 bytes, but map 1 has 24-byte values"],
        ),
        (
            "zero",
            btf_doubling(40, 0),
            42,
            0,
            &["\"value_type\": \"struct top\""],
            &["1 unchanged"],
        ),
        (
            "chain",
            btf_chain(70),
            72,
            4,
            &[
                "input/unreadable",
                "chain-old!btf/1.btf could not be read at byte offset 868: map `m`: value type",
                chain,
            ],
            &[chain, "1 changed"],
        ),
        (
            "huge-array",
            btf_huge_array(u32::MAX, 0),
            3,
            24,
            &["\"value_type\": \"struct top\""],
            &["struct top: \"0x0000", "-> \"0xffff"],
        ),
    ];
    for (name, btf, value_type, value_len, in_analyze, in_diff) in cases {
        let old = dir.join(format!("{name}-old"));
        let new = dir.join(format!("{name}-new"));
        bundle_with_btf(&old, &btf, value_type, value_len, 0);
        bundle_with_btf(&new, &btf, value_type, value_len, 0xff);
        let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
        let args = ["analyze", old, "--format", "json", "--fail-on", "never"];
        let r = run_capped(&dir, &args);
        assert_quick(&args, &r, 0, in_analyze);
        let args = ["diff", old, new];
        assert_quick(&args, &run_capped(&dir, &args), 0, in_diff);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One BPF instruction, little-endian: opcode, dst and src registers, off, imm.
fn bpf_insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = code;
    b[1] = dst | (src << 4);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

/// One section of [`bpf_elf`]: name offset, type, flags, data, link, info,
/// entry size.
type ElfSection = (u32, u32, u64, Vec<u8>, u32, u32, u64);

/// A little-endian ELF64 relocatable object for EM_BPF, built by hand:
/// each program its own executable section with one global function
/// symbol over the whole section, a minimal `.BTF` (no types), `.symtab`,
/// `.strtab` and `.shstrtab`.
fn bpf_elf(programs: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut shstr = b"\0.symtab\0.strtab\0.shstrtab\0.BTF\0".to_vec();
    let mut strtab = b"\0".to_vec();
    let mut sections: Vec<ElfSection> = Vec::new();
    let mut syms: Vec<u8> = vec![0; 24];
    for (i, (name, code)) in programs.iter().enumerate() {
        let sec_name = shstr.len() as u32;
        shstr.extend_from_slice(format!("xdp/{name}\0").as_bytes());
        // SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR.
        sections.push((sec_name, 1, 0x6, code.clone(), 0, 0, 0));
        let sym_name = strtab.len() as u32;
        strtab.extend_from_slice(format!("{name}\0").as_bytes());
        let mut sym = Vec::new();
        sym.extend_from_slice(&sym_name.to_le_bytes());
        sym.push(0x12); // STB_GLOBAL, STT_FUNC
        sym.push(0);
        sym.extend_from_slice(&(i as u16 + 1).to_le_bytes());
        sym.extend_from_slice(&0u64.to_le_bytes());
        sym.extend_from_slice(&(code.len() as u64).to_le_bytes());
        syms.extend_from_slice(&sym);
    }
    let n = programs.len() as u32;
    let mut btf = Vec::new();
    for w in [0x0001_eb9fu32, 24, 0, 0, 0, 1] {
        btf.extend_from_slice(&w.to_le_bytes());
    }
    btf.push(0);
    // .BTF, .symtab (link .strtab, info = first global), .strtab, .shstrtab.
    sections.push((27, 1, 0, btf, 0, 0, 0));
    sections.push((1, 2, 0, syms, n + 3, 1, 24));
    sections.push((9, 3, 0, strtab, 0, 0, 0));
    sections.push((17, 3, 0, shstr, 0, 0, 0));
    let mut out = vec![0u8; 64];
    let mut headers = vec![0u8; 64];
    for (name, ty, flags, data, link, info, entsize) in &sections {
        while out.len() % 8 != 0 {
            out.push(0);
        }
        let off = out.len() as u64;
        out.extend_from_slice(data);
        let mut h = Vec::new();
        h.extend_from_slice(&name.to_le_bytes());
        h.extend_from_slice(&ty.to_le_bytes());
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&0u64.to_le_bytes());
        h.extend_from_slice(&off.to_le_bytes());
        h.extend_from_slice(&(data.len() as u64).to_le_bytes());
        h.extend_from_slice(&link.to_le_bytes());
        h.extend_from_slice(&info.to_le_bytes());
        h.extend_from_slice(&8u64.to_le_bytes());
        h.extend_from_slice(&entsize.to_le_bytes());
        headers.extend_from_slice(&h);
    }
    while out.len() % 8 != 0 {
        out.push(0);
    }
    let shoff = out.len() as u64;
    out.extend_from_slice(&headers);
    let shnum = sections.len() as u16 + 1;
    let e = &mut out[..64];
    e[..4].copy_from_slice(b"\x7fELF");
    e[4] = 2; // ELFCLASS64
    e[5] = 1; // little-endian
    e[6] = 1;
    e[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    e[18..20].copy_from_slice(&247u16.to_le_bytes()); // EM_BPF
    e[20..24].copy_from_slice(&1u32.to_le_bytes());
    e[40..48].copy_from_slice(&shoff.to_le_bytes());
    e[52..54].copy_from_slice(&64u16.to_le_bytes());
    e[58..60].copy_from_slice(&64u16.to_le_bytes());
    e[60..62].copy_from_slice(&shnum.to_le_bytes());
    e[62..64].copy_from_slice(&(shnum - 1).to_le_bytes());
    out
}

/// A hostile BPF object: a program of 1M instructions that is one small
/// loop after another (500k basic blocks), one of 1M instructions with a
/// loop around all of it (each turn 1M steps), a jump out of its
/// function, and an `ld_imm64` cut in half at the section's end. `analyze`
/// ends with every program accounted for by name in the object's inputs
/// row, no finding guessed, exit 0, within the memory cap; time and peak
/// memory are printed (benchmarks measure time, this test does not).
#[test]
fn bpf_program_of_a_million_instructions_loops_and_bad_jumps() {
    const M: usize = 1 << 20;
    let mov = |dst, imm| bpf_insn(0xb7, dst, 0, 0, imm);
    // Many loops: chunks of `r1 += 1; *(u32 *)(r10 - 4) = r1;
    // if r1 < 100 goto -3; r0 = 0`.
    let mut loops = Vec::with_capacity(M * 8);
    while loops.len() < (M - 1) * 8 {
        loops.extend_from_slice(&bpf_insn(0x07, 1, 0, 0, 1));
        loops.extend_from_slice(&bpf_insn(0x63, 10, 1, -4, 0));
        loops.extend_from_slice(&bpf_insn(0xa5, 1, 0, -3, 100));
        loops.extend_from_slice(&mov(0, 0));
    }
    loops.extend_from_slice(&bpf_insn(0x95, 0, 0, 0, 0));
    // One loop around 1M stores: `r1 = 0; (*(u64 *)(r10 - 8) = r1) × ~1M;
    // if r1 == 0 goto +1; gotol -(all); exit`.
    let mut long = Vec::with_capacity(M * 8);
    long.extend_from_slice(&mov(1, 0));
    while long.len() < (M - 3) * 8 {
        long.extend_from_slice(&bpf_insn(0x7b, 10, 1, -8, 0));
    }
    long.extend_from_slice(&bpf_insn(0x15, 1, 0, 1, 0));
    let back = -((long.len() / 8) as i32);
    long.extend_from_slice(&bpf_insn(0x06, 0, 0, 0, back));
    long.extend_from_slice(&bpf_insn(0x95, 0, 0, 0, 0));
    // A jump 200 instructions past its function's end.
    let mut oob = Vec::new();
    oob.extend_from_slice(&mov(0, 0));
    oob.extend_from_slice(&bpf_insn(0x05, 0, 0, 200, 0));
    oob.extend_from_slice(&bpf_insn(0x95, 0, 0, 0, 0));
    // `r0 = 0; r1 = <64-bit constant>` with the second slot missing.
    let mut trunc = Vec::new();
    trunc.extend_from_slice(&mov(0, 0));
    trunc.extend_from_slice(&bpf_insn(0x18, 1, 0, 0, 7));
    let obj = bpf_elf(&[
        ("loops", loops),
        ("long", long),
        ("oob", oob),
        ("trunc", trunc),
    ]);
    let dir = scratch("bpf-million");
    let path = dir.join("hostile.bpf.o");
    std::fs::write(&path, &obj).unwrap();
    let p = path.to_str().unwrap();
    let args = ["analyze", p, "--format", "json", "--fail-on", "never", "-q"];
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KB} && /usr/bin/time -f 'maxrss_kb=%M' \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_bpfcase"));
    let (out, took, text) = run_cmd(cmd, &dir, &args);
    eprintln!(
        "hostile.bpf.o ({} instructions): {took:?}, {}",
        obj.len() / 8,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "bpf-object")
        .unwrap_or_else(|| panic!("no bpf-object row: {text}"));
    assert_eq!(row["path"], p);
    let status = row["status"].as_str().unwrap();
    for want in [
        "program code: 4 program(s), 0 map call(s) checked",
        "loops (more than 131072 basic blocks in the calls followed at once)",
        "oob (jump at instruction 1 to 202, outside its function)",
        "trunc (ld_imm64 at instruction 1 has no second slot)",
    ] {
        assert!(status.contains(want), "{want:?} not in {status:?}");
    }
    // The long loop is analysed or stopped by the step budget, never
    // anything else.
    assert!(
        !status.contains("long (") || status.contains("long (more than 4000000 steps)"),
        "{status}"
    );
    for f in report["findings"].as_array().unwrap() {
        assert!(
            !f["code"].as_str().unwrap().starts_with("prog/"),
            "a finding guessed: {f}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A loader binary whose data holds 20,000 headers that look like EM_BPF
/// ELF images, each claiming the rest of the file, none of which parses:
/// finding the embedded objects copies at most about the file's size for
/// such candidates (once per header it was ~20 GB), so `analyze` ends,
/// with nothing embedded taken and the binary still read for its DWARF.
#[test]
fn binary_full_of_fake_embedded_bpf_headers_is_scanned_once() {
    let mut bin = std::fs::read(corpus("c/layouts.x86_64")).unwrap();
    let n = 20_000;
    let start = bin.len();
    let total = start + n * 64 + (1 << 20);
    for k in 0..n {
        let at = start + k * 64;
        let mut h = [0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[6] = 1;
        h[16..18].copy_from_slice(&1u16.to_le_bytes());
        h[18..20].copy_from_slice(&247u16.to_le_bytes());
        // The section table at the end of the file: the image is all of it.
        let shoff = (total - at - 64) as u64;
        h[40..48].copy_from_slice(&shoff.to_le_bytes());
        h[58..60].copy_from_slice(&64u16.to_le_bytes());
        h[60..62].copy_from_slice(&1u16.to_le_bytes());
        // A section-name table index past the one section: not parseable.
        h[62..64].copy_from_slice(&7u16.to_le_bytes());
        bin.extend_from_slice(&h);
    }
    bin.resize(total, 0xff);
    let dir = scratch("fake-embedded");
    let path = dir.join("loader");
    std::fs::write(&path, &bin).unwrap();
    let p = path.to_str().unwrap();
    let args = ["analyze", p, "--format", "json", "--fail-on", "never"];
    let (out, took, text) = run_capped(&dir, &args);
    eprintln!("{n} fake headers in {} bytes: {took:?}", bin.len());
    assert_eq!(out.status.code(), Some(0), "{text}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !report["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "bpf-object"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
