//! Ctrl-C for real: SIGINT (and SIGTERM) sent to a collect busy on a large
//! map leaves a valid partial bundle (or none), never a broken file or a
//! leftover temporary.

#[path = "collect_support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpfcase::collect::sys;
use support::*;

const ENTRIES: u32 = 200_000;

#[test]
fn interrupted_collect_leaves_a_valid_partial_bundle() {
    if !can_run("interrupted_collect_leaves_a_valid_partial_bundle") {
        return;
    }
    let dir = PinDir::new("sigint");
    let pin = dir.path("big");
    run_ok(
        Command::new("bpftool")
            .args(["map", "create"])
            .arg(&pin)
            .args([
                "type", "hash", "key", "4", "value", "64", "entries", "262144", "name", "big",
            ]),
    );
    let id = sys::map_info(&sys::obj_get(&pin).unwrap()).unwrap().id;
    let fd = sys::map_fd_by_id_rw(id).unwrap();
    let value = [0x5au8; 64];
    for k in 0..ENTRIES {
        sys::update_elem(&fd, &k.to_le_bytes(), &value).unwrap();
    }

    let scratch = scratch("sigint");

    // --max-bytes cuts the ~100 MB dump, keeps valid JSON and says so.
    let out = scratch.join("bytes.tar");
    run_ok(
        bpfcase()
            .args(["collect", "--no-bpftool", "--max-bytes", "12M", "-o"])
            .arg(&out)
            .arg("--pinned")
            .arg(&dir.0),
    );
    let files = read_bundle(&out);
    let m = checked_manifest(&files);
    assert!(m.partial);
    let total: u64 = m.files.iter().map(|f| f.size).sum();
    assert!(total <= 12 << 20, "bundle members total {total} bytes");
    let rec = m.maps.iter().find(|r| r.id == id).unwrap();
    let dump: serde_json::Value =
        serde_json::from_slice(&files[rec.dump.as_ref().unwrap()]).unwrap();
    let n = dump.as_array().unwrap().len() as u64;
    assert!(
        n > 0 && n < u64::from(ENTRIES) && rec.entries == Some(n),
        "{n} entries"
    );
    assert!(m
        .limits_hit
        .iter()
        .any(|l| l.limit == "max-bytes" && l.what == format!("map {id} (big)")));
    for (n, sig) in [(0, libc::SIGINT), (1, libc::SIGTERM)] {
        let out = scratch.join(format!("s{n}.tar"));
        // Many slow (GET_NEXT_KEY) snapshots: far longer than the wait below.
        let mut child = bpfcase()
            .args([
                "collect",
                "--no-bpftool",
                "--no-batch",
                "--snapshots",
                "1000",
                "--interval",
                "0ms",
                "-o",
            ])
            .arg(&out)
            .arg("--pinned")
            .arg(&dir.0)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        assert!(
            child.try_wait().unwrap().is_none(),
            "collect ended before the signal"
        );
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "collect did not stop after the signal"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        assert!(status.success(), "{status}: {stderr}");
        let leftovers: Vec<_> = std::fs::read_dir(&scratch)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        assert!(out.exists(), "no bundle after signal {sig}: {stderr}");
        let files = read_bundle(&out);
        let m = checked_manifest(&files);
        assert!(m.partial, "manifest says partial");
        assert!(
            m.limits_hit.iter().any(|l| l.limit == "interrupted"),
            "limits_hit records the interruption: {:?}",
            m.limits_hit
        );
        // Every dump that is in the bundle is complete JSON.
        for f in m.files.iter().filter(|f| f.path.ends_with(".json")) {
            serde_json::from_slice::<serde_json::Value>(&files[&f.path])
                .unwrap_or_else(|e| panic!("{}: {e}", f.path));
        }
        assert!(m.snapshots.len() < 1000);
    }
}
