//! `collect --redact` covers everything collected (issue 24, item 2): a
//! process makes bpf() calls with distinctive key and value bytes on a hash
//! map and a per-CPU hash map; `collect --trace-pid` with `--redact keys`
//! and `--redact values` must leave none of the masked bytes in any member
//! of the bundle (dumps, snapshots, trace, manifest, everything), in any
//! rendering (raw bytes, hex, bpftool's `"0x12"` arrays, decimal arrays and
//! integers). The same run without `--redact` is the control: there every
//! pattern is found, so the search can fail. `analyze` of the redacted
//! bundle must say which comparisons redaction made impossible, in every
//! format, and report no lookup finding computed against zeroed keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::collect_support::run_ok;
use crate::support;

const KEY: [u8; 8] = [0xc0, 0xff, 0xee, 0x42, 0xa5, 0x5a, 0x13, 0x37];
const VALUE: [u8; 8] = [0xfe, 0xed, 0xfa, 0xce, 0x0b, 0xad, 0xf0, 0x0d];
/// Looked up but never written: only the trace carries it.
const MISSING: [u8; 8] = [0x5e, 0xc2, 0xe7, 0x99, 0x88, 0x77, 0x66, 0x55];
const PCPU_KEY: [u8; 8] = [0x7a, 0x11, 0xce, 0x5e, 0x9d, 0x3c, 0x2b, 0x1a];
const PCPU_VALUE: [u8; 8] = [0xd1, 0x5c, 0x0b, 0xe7, 0xa3, 0x68, 0x94, 0x2f];

const KEYS: [(&str, [u8; 8]); 3] = [
    ("key", KEY),
    ("missing key", MISSING),
    ("per-CPU key", PCPU_KEY),
];
const VALUES: [(&str, [u8; 8]); 2] = [("value", VALUE), ("per-CPU value", PCPU_VALUE)];

/// The traced process: opens both maps by id and, until killed, updates
/// each with its key and value, looks up a missing key (ENOENT), looks the
/// key up and walks from it (GET_NEXT_KEY), every 5 ms. Entries stay, so
/// the dumps hold them too.
const CHILD_C: &str = r#"
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }

static int fd_by_id(unsigned id) {
    union bpf_attr a; memset(&a, 0, sizeof a); a.map_id = id;
    return bpf(BPF_MAP_GET_FD_BY_ID, &a);
}

static long elem(int cmd, int fd, const void *key, void *value, unsigned long long flags) {
    union bpf_attr a; memset(&a, 0, sizeof a);
    a.map_fd = fd; a.key = (unsigned long)key; a.value = (unsigned long)value; a.flags = flags;
    return bpf(cmd, &a);
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    int h = fd_by_id(atoi(argv[1])), p = fd_by_id(atoi(argv[2]));
    int cpus = atoi(argv[3]);
    if (h < 0 || p < 0 || cpus < 1) return 3;
    unsigned char key[8] = {KEY}, value[8] = {VALUE}, missing[8] = {MISSING};
    unsigned char pkey[8] = {PCPU_KEY}, pvalue[8] = {PCPU_VALUE}, out[8];
    unsigned char *pvalues = calloc(cpus, 8), *pout = calloc(cpus, 8);
    for (int c = 0; c < cpus; c++) memcpy(pvalues + 8 * c, pvalue, 8);
    struct timespec pause = {0, 5000000};
    for (;;) {
        elem(BPF_MAP_UPDATE_ELEM, h, key, value, BPF_ANY);
        elem(BPF_MAP_LOOKUP_ELEM, h, missing, out, 0);
        elem(BPF_MAP_LOOKUP_ELEM, h, key, out, 0);
        union bpf_attr a; memset(&a, 0, sizeof a);
        a.map_fd = h; a.key = (unsigned long)key; a.next_key = (unsigned long)out;
        bpf(BPF_MAP_GET_NEXT_KEY, &a);
        elem(BPF_MAP_UPDATE_ELEM, p, pkey, pvalues, BPF_ANY);
        elem(BPF_MAP_LOOKUP_ELEM, p, pkey, pout, 0);
        nanosleep(&pause, 0);
    }
}
"#;

fn c_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("0x{x:02x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The child's source with the byte constants filled in.
fn child_source() -> String {
    CHILD_C
        .replace("{KEY}", &format!("{{{}}}", c_bytes(&KEY)))
        .replace("{VALUE}", &format!("{{{}}}", c_bytes(&VALUE)))
        .replace("{MISSING}", &format!("{{{}}}", c_bytes(&MISSING)))
        .replace("{PCPU_KEY}", &format!("{{{}}}", c_bytes(&PCPU_KEY)))
        .replace("{PCPU_VALUE}", &format!("{{{}}}", c_bytes(&PCPU_VALUE)))
}

/// A bpffs directory removed, pins and all, when dropped.
struct Pins(PathBuf);

impl Drop for Pins {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The child, killed even when the test fails.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Creates and pins a map of 8-byte keys and values; returns its id.
fn create_map(pin: &Path, kind: &str, name: &str) -> u32 {
    run_ok(
        Command::new("bpftool")
            .args(["map", "create"])
            .arg(pin)
            .args([
                "type", kind, "key", "8", "value", "8", "entries", "16", "name", name,
            ]),
    );
    let show = run_ok(
        Command::new("bpftool")
            .args(["-j", "map", "show", "pinned"])
            .arg(pin),
    );
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    v["id"].as_u64().unwrap() as u32
}

/// Possible CPUs, from `/sys/devices/system/cpu/possible` (`0-3`, `0,2-5`).
fn possible_cpus() -> usize {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap();
    text.trim()
        .split(',')
        .map(|r| match r.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

/// Every member of a tar bundle by path.
fn members(path: &Path) -> BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut ar = tar::Archive::new(std::fs::File::open(path).unwrap());
    let mut out = BTreeMap::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.insert(p, data);
    }
    out
}

/// Renderings of `b` that a member might hold, as (form, needle) searched
/// in the member's bytes as they are, and in two projections of its text
/// (see [`projections`]).
fn needles(b: &[u8; 8]) -> Vec<(&'static str, Vec<u8>)> {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let decimal: Vec<String> = b.iter().map(|x| x.to_string()).collect();
    let mut out = vec![
        ("raw bytes", b.to_vec()),
        ("hex digits", hex.into_bytes()),
        ("decimal byte array", decimal.join(",").into_bytes()),
        (
            "u64 little-endian",
            u64::from_le_bytes(*b).to_string().into_bytes(),
        ),
        (
            "u64 big-endian",
            u64::from_be_bytes(*b).to_string().into_bytes(),
        ),
    ];
    for half in [&b[..4], &b[4..]] {
        let h: [u8; 4] = half.try_into().unwrap();
        out.push((
            "u32 little-endian",
            u32::from_le_bytes(h).to_string().into_bytes(),
        ));
    }
    out
}

/// A member's bytes, and its text projected twice: lowercase with `0x`
/// prefixes and every non-hex character removed (bpftool's `"0xc0",
/// "0xff"` arrays, `c0 ff` text, hex strings all become `c0ff…`), and
/// with whitespace removed (`[192, 255]` becomes `192,255`).
fn projections(data: &[u8]) -> [Vec<u8>; 3] {
    let lower = data.to_ascii_lowercase();
    let text = String::from_utf8_lossy(&lower).replace("0x", "");
    let hex_only: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    let no_space: Vec<u8> = data
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    [data.to_vec(), hex_only, no_space]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Where each pattern of `patterns` is found: (pattern, form, member).
fn found_in(
    files: &BTreeMap<String, Vec<u8>>,
    patterns: &[(&'static str, [u8; 8])],
) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    for (path, data) in files {
        let views = projections(data);
        for (name, bytes) in patterns {
            for (form, needle) in needles(bytes) {
                if views.iter().any(|v| contains(v, &needle)) {
                    out.push((*name, form, path.clone()));
                }
            }
        }
    }
    out
}

/// `bpfcase collect --trace-pid PID --redact MODE` into `out`.
fn collect(out: &Path, pid: u32, redact: &str, snapshots: bool) {
    let mut cmd = support::bpfcase();
    cmd.args([
        "collect",
        "--no-bpftool",
        "--trace-for",
        "2s",
        "--redact",
        redact,
    ])
    .arg("--trace-pid")
    .arg(pid.to_string())
    .arg("-o")
    .arg(out);
    if snapshots {
        cmd.args(["--snapshots", "2", "--interval", "200ms"]);
    }
    run_ok(&mut cmd);
}

fn analyze(bundle: &Path, format: &str) -> String {
    let out = support::bpfcase()
        .args(["analyze", "--fail-on", "never", "--format", format])
        .arg(bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "analyze --format {format}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The findings of a JSON report on map `id`.
fn findings_on(report: &serde_json::Value, id: u32) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["map"]["id"] == id)
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn redacted_traced_bundle_keeps_no_key_or_value_bytes_anywhere() {
    let test = "redacted_traced_bundle_keeps_no_key_or_value_bytes_anywhere";
    if !support::require_bpf(test) || !support::require_tool("cc", test) {
        return;
    }
    let scratch = std::env::temp_dir().join(format!("bpfcase-sec-redact-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let src = scratch.join("child.c");
    std::fs::write(&src, child_source()).unwrap();
    let exe = scratch.join("child");
    run_ok(Command::new("cc").arg("-O1").arg("-o").arg(&exe).arg(&src));

    let pins = Pins(PathBuf::from(format!(
        "/sys/fs/bpf/bpfcase-sec-redact-{}",
        std::process::id()
    )));
    let _ = std::fs::remove_dir_all(&pins.0);
    std::fs::create_dir_all(&pins.0).unwrap();
    let hash = create_map(&pins.0.join("h"), "hash", "sec_redact_h");
    let pcpu = create_map(&pins.0.join("p"), "percpu_hash", "sec_redact_p");
    let cpus = possible_cpus();
    let child = Kill(
        Command::new(&exe)
            .arg(hash.to_string())
            .arg(pcpu.to_string())
            .arg(cpus.to_string())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    // Let it open the maps and start calling.
    std::thread::sleep(Duration::from_millis(300));

    let all: Vec<(&'static str, [u8; 8])> = KEYS.iter().chain(VALUES.iter()).copied().collect();

    // The control: without --redact every pattern is in the bundle, so a
    // search that finds nothing below means the bytes are gone.
    let clear = scratch.join("clear.tar");
    collect(&clear, pid, "none", false);
    let files = members(&clear);
    let found = found_in(&files, &all);
    for (name, _) in &all {
        assert!(
            found.iter().any(|(n, _, _)| n == name),
            "control: the {name} is not in the unredacted bundle ({:?}): the child made no calls, or the search cannot see it",
            files.keys().collect::<Vec<_>>()
        );
    }
    assert!(
        found
            .iter()
            .any(|(n, _, p)| *n == "missing key" && p == "trace/bpf-calls.jsonl"),
        "control: the looked-up missing key is in the trace: {found:?}"
    );
    let control: serde_json::Value = serde_json::from_str(&analyze(&clear, "json")).unwrap();
    let control_codes = findings_on(&control, hash);
    assert!(
        control_codes.iter().any(|c| c.starts_with("lookup/")),
        "control: the replay explains the missed lookups: {control_codes:?}"
    );

    // --redact keys: no key and no value bytes anywhere, snapshots included.
    let keys = scratch.join("keys.tar");
    collect(&keys, pid, "keys", true);
    let files = members(&keys);
    let left = found_in(&files, &all);
    assert!(left.is_empty(), "--redact keys left bytes behind: {left:?}");
    let m: bpfcase::bundle::Manifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(m.redact, "keys");
    let trace = m.trace.as_ref().expect("a trace");
    assert!(trace.events > 50, "{} trace lines", trace.events);
    assert!(
        m.redacted_files.contains(&trace.path),
        "{:?}",
        m.redacted_files
    );
    for id in [hash, pcpu] {
        let rec = m.maps.iter().find(|r| r.id == id).expect("map listed");
        let dump = rec.dump.as_ref().expect("map dumped");
        assert!(m.redacted_files.contains(dump), "{:?}", m.redacted_files);
        assert!(
            m.snapshots
                .iter()
                .filter(|s| s.map_id == id && s.seq > 0)
                .all(|s| m.redacted_files.contains(&s.dump)),
            "{:?}",
            m.snapshots
        );
        let all_zeroed = bpfcase::bundle::Redacted {
            key: bpfcase::bundle::Masked::All,
            value: bpfcase::bundle::Masked::All,
        };
        assert_eq!(rec.redacted, Some(all_zeroed), "map {id}");
        let t = trace
            .redaction
            .iter()
            .find(|t| t.map_id == Some(id))
            .unwrap_or_else(|| panic!("trace.redaction of map {id}: {:?}", trace.redaction));
        assert_eq!((t.key, t.value), (all_zeroed.key, all_zeroed.value));
    }
    assert!(m.snapshots.iter().any(|s| s.seq == 1), "a second snapshot");
    // Lengths are kept: the traced keys are 8 zero bytes.
    let text = std::str::from_utf8(&files[&trace.path]).unwrap();
    assert!(
        text.contains("\"key\":\"0000000000000000\""),
        "{}",
        &text[..text.len().min(400)]
    );

    // analyze says what redaction left out, in every format, and makes no
    // lookup finding against zeroed keys.
    let report: serde_json::Value = serde_json::from_str(&analyze(&keys, "json")).unwrap();
    let codes = findings_on(&report, hash);
    assert!(
        !codes
            .iter()
            .any(|c| c.starts_with("lookup/") || c == "dump/duplicate-keys"),
        "a key comparison against zeroed keys: {codes:?}"
    );
    let redaction = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["code"] == "input/unused" && f["title"].as_str().unwrap().contains("--redact keys")
        })
        .unwrap_or_else(|| panic!("no finding says what redaction left out: {report:#}"));
    let title = redaction["title"].as_str().unwrap().to_string();
    assert!(title.contains("not compared"), "{title}");
    let rows = redaction["evidence"]["not_compared"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["map"]["id"] == hash)
        .unwrap_or_else(|| panic!("map {hash} not listed: {rows:?}"));
    let not_checked = row["not_checked"].as_array().unwrap();
    for code in [
        "lookup/padding-miss",
        "lookup/byte-order-miss",
        "lookup/key-absent",
        "dump/duplicate-keys",
    ] {
        assert!(
            not_checked.contains(&serde_json::json!(code)),
            "{code}: {row}"
        );
    }
    assert!(
        row["trace_calls_not_replayed"].as_u64().unwrap() > 0,
        "{row}"
    );
    let replayed: u64 = report["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["replayed"].as_u64().unwrap())
        .sum();
    assert_eq!(replayed, 0, "calls with zeroed keys counted as replayed");
    // The same sentence in the text, Markdown and HTML reports; the
    // metrics count it.
    let head = title.split(':').next().unwrap().to_string();
    for format in ["text", "md", "html"] {
        let out = analyze(&keys, format);
        assert!(
            out.contains("--redact keys") && out.contains("not compared"),
            "{format} report does not say what redaction left out ({head}):\n{out}"
        );
    }
    let metrics = analyze(&keys, "openmetrics");
    assert!(
        metrics.contains("code=\"input/unused\",severity=\"info\""),
        "{metrics}"
    );

    // --redact values: values gone everywhere; keys kept, so lookups are
    // still replayed and explained.
    let values = scratch.join("values.tar");
    collect(&values, pid, "values", false);
    let files = members(&values);
    let left = found_in(&files, &VALUES);
    assert!(
        left.is_empty(),
        "--redact values left value bytes behind: {left:?}"
    );
    let kept = found_in(&files, &KEYS);
    assert!(
        kept.iter()
            .any(|(n, _, p)| *n == "key" && p == "trace/bpf-calls.jsonl"),
        "--redact values keeps keys: {kept:?}"
    );
    let m: bpfcase::bundle::Manifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(m.redact, "values");
    assert!(m.redacted_files.iter().any(|f| f.starts_with("trace/")));
    let report: serde_json::Value = serde_json::from_str(&analyze(&values, "json")).unwrap();
    let codes = findings_on(&report, hash);
    assert!(
        codes.iter().any(|c| c.starts_with("lookup/")),
        "--redact values keeps the lookup replay: {codes:?}"
    );

    drop(child);
    drop(pins);
    let _ = std::fs::remove_dir_all(&scratch);
}
