//! End to end on the live kernel: the corpus workload (`corpora/cases/lookups`)
//! makes map calls that fail in known ways, `collect --trace-pid` records
//! them, and `analyze` must explain each one: the same path as
//! `corpora/cases/lookups/make-case.sh`, run fresh.

#[path = "collect_support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use support::*;

/// Kills the workload even when an assertion fails.
struct Workload(Child);

impl Drop for Workload {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Builds the workload with cc and libbpf; in CI a missing compiler or
/// libbpf fails the test.
fn build_workload(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let bin = dir.join("workload");
    let out = Command::new("cc")
        .args(["-O2", "-g", "-Wall"])
        .arg(repo().join("corpora/cases/lookups/workload.c"))
        .args(["-lbpf", "-o"])
        .arg(&bin)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(bin),
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            let msg = format!("cannot build the workload (needs cc and libbpf-dev): {why}");
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{msg}");
            }
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

#[test]
fn every_failed_call_of_the_workload_is_explained() {
    if !can_run("every_failed_call_of_the_workload_is_explained") {
        return;
    }
    let scratch = scratch("lookups-e2e");
    let Some(workload) = build_workload(&scratch) else {
        return;
    };
    let obj = repo().join("corpora/cases/lookups/lookups.bpf.o");
    let dir = PinDir::new("lookups");
    // v1 loaded with pinned maps, then its program unloaded: the maps stay.
    run_ok(
        Command::new("bpftool")
            .args(["prog", "loadall"])
            .arg(&obj)
            .arg(dir.path("v1"))
            .arg("pinmaps")
            .arg(dir.path("v1_maps")),
    );
    std::fs::remove_dir_all(dir.path("v1")).unwrap();
    let mut child = Workload(
        Command::new(&workload)
            .arg(&obj)
            .arg("30")
            .arg(dir.path("v1_maps/conns"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start workload"),
    );
    let mut ready = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let pid = child.0.id();
    assert_eq!(ready.trim(), format!("{pid} ready"));

    let bundle = scratch.join("case.tar");
    run_ok(
        bpfcase()
            .args(["collect", "--trace-pid"])
            .arg(pid.to_string())
            .args([
                "--trace-for",
                "2s",
                "--snapshots",
                "2",
                "--interval",
                "200ms",
            ])
            .arg("--pinned")
            .arg(&dir.0)
            .arg("-o")
            .arg(&bundle),
    );
    drop(child);

    // Snapshot 0 is stamped when its dump started, after the 2 s trace,
    // not with the collection's start.
    let m = checked_manifest(&read_bundle(&bundle));
    let first = m.snapshots.iter().find(|s| s.seq == 0).expect("snapshot 0");
    let trace = m.trace.as_ref().expect("manifest.trace");
    assert!(trace.duration_ms >= 1900, "{trace:?}");
    assert!(
        first.time > m.created,
        "snapshot 0 at {} is not after the collection's start {}",
        first.time,
        m.created
    );

    let out = bpfcase()
        .arg("analyze")
        .arg(&bundle)
        .args(["--format", "json", "--fail-on", "never"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let find = |code: &str, map: &str| -> serde_json::Value {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code && f["map"]["name"] == map)
            .cloned()
            .unwrap_or_else(|| panic!("no {code} on map {map} in {report:#}"))
    };

    let f = find("lookup/padding-miss", "conns");
    assert_eq!(f["evidence"]["padding_offsets"][0]["offset"], 7);
    let f = find("lookup/byte-order-miss", "conns");
    assert_eq!(
        f["evidence"]["swapped_fields"],
        serde_json::json!(["dport"])
    );
    let f = find("lookup/key-deleted", "conns");
    assert_eq!(
        f["evidence"]["examples"][0]["deleted_by"]["cmd"],
        "map_delete_elem"
    );
    find("lookup/key-absent", "conns");
    let f = find("lookup/index-out-of-range", "slots");
    assert_eq!(
        f["evidence"]["indexes"]["seen"],
        serde_json::json!([8, 1000])
    );
    find("update/map-full", "tiny");
    find("update/exists", "conns");
    let f = find("lookup/wrong-map", "conns");
    assert!(f["evidence"]["map"]["pins"][0]
        .as_str()
        .unwrap()
        .ends_with("v1_maps/conns"));
}
