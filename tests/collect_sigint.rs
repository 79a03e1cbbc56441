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

    // The agent stopped in the middle of a collection (a ~100 MB dump takes
    // seconds): the bundle is finished as partial and kept, nothing is
    // analysed, no temporary is left, exit 0.
    let out = scratch.join("watch");
    let prom = scratch.join("watch.prom");
    let mut child = bpfcase()
        .args(["watch", "--interval", "0ms", "--min-free", "1M", "--out"])
        .arg(&out)
        .arg("--metrics")
        .arg(&prom)
        .arg("--pinned")
        .arg(&dir.0)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Signal as soon as the first collection's temporary bundle exists, so
    // the signal lands inside it however fast the machine is (a fixed sleep
    // let a quiet machine finish whole cycles first).
    let t0 = Instant::now();
    while !out.is_dir() || dot_files(&out).is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "watch never started a collection"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "watch did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("watch: interrupted: kept the partial bundle"),
        "{stderr}"
    );
    assert!(stderr.contains("0 cycles collected"), "{stderr}");
    assert_eq!(dot_files(&out), Vec::<String>::new(), "temporaries left");
    assert!(!prom.exists(), "metrics written for an interrupted cycle");
    let names = bundle_names(&out);
    assert_eq!(names.len(), 1, "{names:?}");
    let m = checked_manifest(&read_bundle(&out.join(&names[0])));
    assert!(m.partial && m.limits_hit.iter().any(|l| l.limit == "interrupted"));
}

/// Creates and pins a hash map (4-byte keys, 8-byte values) holding
/// `entries` entries; returns its id.
fn planted_map(dir: &PinDir, name: &str, entries: u32) -> u32 {
    let pin = dir.path(name);
    run_ok(
        Command::new("bpftool")
            .args(["map", "create"])
            .arg(&pin)
            .args([
                "type", "hash", "key", "4", "value", "8", "entries", "64", "name", name,
            ]),
    );
    let id = sys::map_info(&sys::obj_get(&pin).unwrap()).unwrap().id;
    let fd = sys::map_fd_by_id_rw(id).unwrap();
    for k in 0..entries {
        sys::update_elem(&fd, &k.to_le_bytes(), &[7u8; 8]).unwrap();
    }
    id
}

/// Names of the agent's bundles in `dir`, sorted (oldest first).
fn bundle_names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("bpfcase-") && n.ends_with(".tar"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Files whose name starts with a dot (temporaries) in `dir`.
fn dot_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // The agent's ledger of its bundles is no temporary.
        .filter(|n| n.starts_with('.') && n != ".bpfcase-watch-ledger")
        .collect()
}

/// The agent for real: `watch` every 300 ms against two pinned maps, one of
/// which is deleted while it runs. It keeps going, the bundles after the
/// deletion lack that map, the directory never holds more than --keep
/// bundles, the metrics file follows the maps, and SIGTERM stops it
/// leaving no temporary file.
#[test]
fn watch_rotates_survives_a_deleted_map_and_stops_on_sigterm() {
    if !can_run("watch_rotates_survives_a_deleted_map_and_stops_on_sigterm") {
        return;
    }
    let dir = PinDir::new("watch");
    let kept_id = planted_map(&dir, "wa_keep", 5);
    let gone_id = planted_map(&dir, "wa_gone", 3);
    let scratch = scratch("watch");
    let out = scratch.join("bundles");
    let textfile = scratch.join("textfile");
    std::fs::create_dir_all(&textfile).unwrap();
    let prom = textfile.join("bpfcase.prom");
    let mut child = bpfcase()
        .args([
            "watch",
            "--interval",
            "300ms",
            "--keep",
            "3",
            "--min-free",
            "1M",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--metrics")
        .arg(&prom)
        .arg("--pinned")
        .arg(&dir.0)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut most = 0;
    // Watches the directory until `pred` holds on the names seen so far.
    let mut wait_for = |what: &str, pred: &dyn Fn(&std::collections::BTreeSet<String>) -> bool| {
        let t0 = Instant::now();
        loop {
            let now = bundle_names(&out);
            most = most.max(now.len());
            seen.extend(now);
            if pred(&seen) {
                return seen.clone();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}: {seen:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let before = wait_for("two bundles", &|s| s.len() >= 2);
    let m = checked_manifest(&read_bundle(&out.join(before.iter().last().unwrap())));
    assert!(m
        .maps
        .iter()
        .any(|r| r.id == gone_id && r.entries == Some(3)));
    let metrics = std::fs::read_to_string(&prom).unwrap();
    assert!(
        metrics.contains(&format!(
        "bpfcase_map_entries{{map_id=\"{gone_id}\",map_name=\"wa_gone\",map_type=\"hash\"}} 3\n"
    )),
        "{metrics}"
    );

    // The pin was the map's last reference: the kernel frees it.
    std::fs::remove_file(dir.path("wa_gone")).unwrap();
    let n = before.len();
    // The cycle running at the deletion may still list it; the two after may not.
    let after = wait_for("three more bundles", &|s| s.len() >= n + 3);
    assert!(
        child.try_wait().unwrap().is_none(),
        "watch ended after the map was deleted"
    );
    let last = after.iter().last().unwrap();
    let m = checked_manifest(&read_bundle(&out.join(last)));
    assert!(
        !m.maps.iter().any(|r| r.id == gone_id),
        "{last} lists the deleted map"
    );
    let kept = m
        .maps
        .iter()
        .find(|r| r.id == kept_id)
        .expect("the other map");
    assert_eq!(kept.entries, Some(5));
    // The metrics follow the latest bundle (wait for its cycle's write).
    let t0 = Instant::now();
    let metrics = loop {
        let m = std::fs::read_to_string(&prom).unwrap();
        if !m.contains("wa_gone") || t0.elapsed() > Duration::from_secs(5) {
            break m;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!metrics.contains("wa_gone"), "{metrics}");
    assert!(
        metrics.contains(&format!(
        "bpfcase_map_entries{{map_id=\"{kept_id}\",map_name=\"wa_keep\",map_type=\"hash\"}} 5\n"
    )),
        "{metrics}"
    );
    assert!(metrics.contains("bpfcase_agent_bundles 3\n"), "{metrics}");
    assert!(
        metrics.contains("bpfcase_agent_cycles_total{result=\"skipped\"} 0\n"),
        "{metrics}"
    );
    // Rotation: never more than --keep at once (one more only between a
    // collection and its rotation), and the oldest went first.
    let now = bundle_names(&out);
    assert!(most <= 4, "{most} bundles at once");
    assert!(now.len() <= 4 && now.len() >= 3, "{now:?}");
    assert!(
        !now.contains(before.iter().next().unwrap()),
        "the oldest bundle was kept: {now:?}"
    );

    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "watch did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("stopped on signal"), "{stderr}");
    assert_eq!(
        dot_files(&out),
        Vec::<String>::new(),
        "temporaries left in the bundle directory"
    );
    assert_eq!(
        dot_files(&textfile),
        Vec::<String>::new(),
        "temporaries left beside the metrics"
    );
    assert!(bundle_names(&out).len() <= 3);
    for name in bundle_names(&out) {
        checked_manifest(&read_bundle(&out.join(name)));
    }
}

/// Short of disk: a cycle is skipped with a message when the output
/// filesystem has less than --min-free available; nothing is collected,
/// and the metrics say so. Needs no privilege (the check comes first).
#[test]
fn watch_skips_a_cycle_when_the_disk_is_short() {
    let scratch = scratch("watch-full");
    let out = scratch.join("bundles");
    let prom = scratch.join("bpfcase.prom");
    let res = run_ok(
        bpfcase()
            .args([
                "watch",
                "--cycles",
                "2",
                "--interval",
                "10ms",
                "--min-free",
                "999999999G",
            ])
            .arg("--out")
            .arg(&out)
            .arg("--metrics")
            .arg(&prom),
    );
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(
        stderr.matches("watch: cycle skipped: ").count(),
        2,
        "{stderr}"
    );
    assert!(
        stderr.contains("below --min-free 1073741822926258176"),
        "{stderr}"
    );
    assert!(
        stderr.contains("0 cycles collected, 2 skipped, 0 failed"),
        "{stderr}"
    );
    assert_eq!(bundle_names(&out), Vec::<String>::new());
    let metrics = std::fs::read_to_string(&prom).unwrap();
    assert!(
        metrics.contains("bpfcase_agent_cycles_total{result=\"skipped\"} 2\n"),
        "{metrics}"
    );
    assert!(metrics.contains("bpfcase_agent_bundles 0\n"), "{metrics}");
    assert!(!metrics.contains("bpfcase_map_"), "{metrics}");
}
