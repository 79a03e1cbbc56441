//! Every `-o`, bundle and metrics file goes through one opener: a planted
//! symbolic link is replaced, never followed; a FIFO, device or socket at the
//! target is refused; what is written is mode 0600.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::support::{bpfcase, corpus, require_bpf};
use super::{chmod, require_attacker};

/// Every command that takes `-o FILE`, with arguments that make it write.
fn writers() -> Vec<(&'static str, Vec<String>)> {
    let p = |rel: &str| corpus(rel).display().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        (
            "analyze",
            [
                s(&["analyze", "--fail-on", "never"]),
                vec![p("cases/lookups/case.tar")],
            ]
            .concat(),
        ),
        (
            "layout",
            [s(&["layout"]), vec![p("bpf/flows.bpf.o")], s(&["flow_key"])].concat(),
        ),
        (
            "decode",
            [
                s(&["decode", "--fail-on", "never", "--dump"]),
                vec![p("dumps/flows/flows.json")],
                s(&["--btf"]),
                vec![p("bpf/flows.bpf.o")],
                s(&["--map", "flows"]),
            ]
            .concat(),
        ),
        (
            "diff",
            [
                s(&["diff"]),
                vec![
                    p("dumps/flows/flows.json"),
                    p("dumps/derived/flows.changed.json"),
                ],
            ]
            .concat(),
        ),
        (
            "schema",
            [
                s(&["schema", "--btf"]),
                vec![p("bpf/flows.bpf.o")],
                s(&["--type", "flow_key"]),
            ]
            .concat(),
        ),
        (
            "fleet",
            [
                s(&["fleet", "--fail-on", "never"]),
                vec![p("fleet/bundles")],
            ]
            .concat(),
        ),
    ]
}

/// `CMD-WHAT.EXT`, EXT an extension the command writes: any other is
/// refused (the convention table, `bpfcase::cli::conventions`) before
/// anything is opened, which is not what these tests are about.
fn target_name(cmd: &str, what: &str) -> String {
    let ext = bpfcase::cli::conventions::of(cmd)
        .and_then(|c| c.writes.iter().find_map(|f| f.extensions.first()))
        .copied()
        .unwrap_or("out");
    format!("{cmd}-{what}.{ext}")
}

/// Runs bpfcase as root with `args` and `-o target`, killed after 60 s (a
/// FIFO opened for writing would block for ever).
fn run_root(args: &[String], target: &Path) -> Output {
    let mut child = bpfcase()
        .args(args)
        .arg("-o")
        .arg(target)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!(
                "bpfcase {args:?} -o {} hung (a FIFO or device written in place?)",
                target.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A root-owned file the attacker wants overwritten (a start-up file).
fn victim(dir: &Path) -> PathBuf {
    let v = dir.join("victim-rc");
    std::fs::write(&v, "# root's start-up file\n").unwrap();
    chmod(&v, 0o644);
    v
}

fn assert_regular_0600_of_root(p: &Path, what: &str) {
    let m = std::fs::symlink_metadata(p).unwrap();
    assert!(
        m.file_type().is_file(),
        "{what}: {} is not a regular file",
        p.display()
    );
    assert_eq!(m.mode() & 0o777, 0o600, "{what}: {} mode", p.display());
    assert_eq!(m.uid(), 0, "{what}: {} owner", p.display());
}

fn no_temporaries_left(dir: &Path, what: &str) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-") || n.contains(".partial-"))
        .collect();
    assert!(left.is_empty(), "{what}: temporaries left behind: {left:?}");
}

#[test]
fn a_symlink_planted_at_every_dash_o_is_replaced_never_followed() {
    let Some(attacker) = require_attacker("a_symlink_planted_at_every_dash_o") else {
        return;
    };
    let shared = attacker.shared_dir("symlink");
    let v = victim(&shared);
    for (cmd, args) in writers() {
        let target = shared.join(target_name(cmd, "report"));
        attacker.symlink(&v, &target);
        let out = run_root(&args, &target);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(&v).unwrap(),
            "# root's start-up file\n",
            "{cmd} wrote through the planted link"
        );
        assert_regular_0600_of_root(&target, cmd);
        assert!(
            std::fs::metadata(&target).unwrap().len() > 0,
            "{cmd}: empty report"
        );
    }
    no_temporaries_left(&shared, "symlinks");
    std::fs::remove_dir_all(&shared).unwrap();
}

#[test]
fn a_fifo_or_device_at_every_dash_o_is_refused() {
    let Some(attacker) = require_attacker("a_fifo_or_device_at_every_dash_o") else {
        return;
    };
    let shared = attacker.shared_dir("fifo");
    for (cmd, args) in writers() {
        // A FIFO the attacker made: nobody reads it, so writing in place
        // would hang; the report would reach whoever opens it.
        let fifo = shared.join(target_name(cmd, "fifo"));
        attacker.fifo(&fifo);
        let out = run_root(&args, &fifo);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd} into a FIFO: {err}");
        assert!(err.contains("is a FIFO: refusing"), "{cmd}: {err}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());

        // A device node (made by root here: the attacker cannot mknod, but
        // a link to one is the same attack, covered by the symlink test).
        let dev = shared.join(target_name(cmd, "dev"));
        let st = Command::new("mknod")
            .arg(&dev)
            .args(["c", "1", "3"])
            .status()
            .unwrap();
        assert!(st.success());
        let out = run_root(&args, &dev);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd} into a device: {err}");
        assert!(
            err.contains("is a character device: refusing"),
            "{cmd}: {err}"
        );

        // A directory at the target.
        let d = shared.join(target_name(cmd, "d"));
        std::fs::create_dir(&d).unwrap();
        let out = run_root(&args, &d);
        assert_eq!(out.status.code(), Some(2), "{cmd} onto a directory");
    }
    no_temporaries_left(&shared, "fifo");
    std::fs::remove_dir_all(&shared).unwrap();
}

#[test]
fn dash_and_dev_stdout_are_standard_output() {
    let (_, args) = writers().into_iter().find(|(c, _)| *c == "layout").unwrap();
    for target in ["-", "/dev/stdout"] {
        let out = run_root(&args, Path::new(target));
        assert!(
            out.status.success(),
            "{target}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("flow_key"),
            "-o {target} did not reach stdout"
        );
    }
}

#[test]
fn collect_and_watch_never_write_through_planted_paths() {
    let Some(attacker) = require_attacker("collect_and_watch_never_write_through") else {
        return;
    };
    if !require_bpf("collect_and_watch_never_write_through") {
        return;
    }
    let shared = attacker.shared_dir("collect");
    let v = victim(&shared);

    // collect -o a planted link: the link is replaced by a 0600 bundle.
    let bundle = shared.join("case.tar");
    attacker.symlink(&v, &bundle);
    let out = bpfcase()
        .args([
            "collect",
            "--max-entries",
            "10",
            "--time-budget",
            "20s",
            "-o",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&v).unwrap(),
        "# root's start-up file\n"
    );
    assert_regular_0600_of_root(&bundle, "collect");

    // watch --out a world-writable directory: refused before collecting.
    let watch_refused = |out_dir: &Path, why: &str| {
        let out = bpfcase()
            .args(["watch", "--cycles", "1", "--interval", "1s", "--out"])
            .arg(out_dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "watch --out {}: {err}",
            out_dir.display()
        );
        assert!(err.contains(why), "{err}");
    };
    watch_refused(&shared, "writable by everyone");

    // watch --out a directory owned by the attacker: refused too.
    let theirs = shared.join("theirs");
    let st = attacker
        .command("mkdir")
        .arg("-m")
        .arg("0700")
        .arg(&theirs)
        .status()
        .unwrap();
    assert!(st.success());
    watch_refused(&theirs, "not by the agent's user");

    // watch --metrics a planted link, in a directory of root's own.
    let own = shared.join("own");
    std::fs::create_dir(&own).unwrap();
    chmod(&own, 0o700);
    let metrics = shared.join("bpfcase.prom");
    attacker.symlink(&v, &metrics);
    let out = bpfcase()
        .args([
            "watch",
            "--cycles",
            "1",
            "--interval",
            "1s",
            "--max-entries",
            "10",
        ])
        .arg("--out")
        .arg(&own)
        .arg("--metrics")
        .arg(&metrics)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&v).unwrap(),
        "# root's start-up file\n"
    );
    assert_regular_0600_of_root(&metrics, "watch --metrics");
    for e in std::fs::read_dir(&own).unwrap() {
        let p = e.unwrap().path();
        assert_regular_0600_of_root(&p, "watch bundle");
    }
    no_temporaries_left(&shared, "collect");
    no_temporaries_left(&own, "watch");
    std::fs::remove_dir_all(&shared).unwrap();
}

#[test]
fn watch_rotation_deletes_only_bundles_it_wrote() {
    let Some(_attacker) = require_attacker("watch_rotation_deletes_only_bundles_it_wrote") else {
        return;
    };
    if !require_bpf("watch_rotation_deletes_only_bundles_it_wrote") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("bpfcase-sec-rotate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    chmod(&dir, 0o700);
    let watch = |dir: &Path| {
        let out = bpfcase()
            .args(["watch", "--cycles", "2", "--interval", "1s", "--keep", "1"])
            .args(["--max-entries", "10", "--out"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    watch(&dir);
    // Named like bundles from long ago and far ahead, put there after the
    // agent started its ledger (by root: the directory is the agent's own).
    let old = dir.join("bpfcase-20000101T000000.000Z-x.tar");
    let ahead = dir.join("bpfcase-29990101T000000.000Z-x.tar");
    std::fs::write(&old, "not the agent's").unwrap();
    std::fs::write(&ahead, "not the agent's").unwrap();
    watch(&dir);
    assert!(
        old.exists() && ahead.exists(),
        "rotation deleted files it did not write"
    );
    let agent_bundles = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("bpfcase-") && n.ends_with(".tar"))
        .count();
    assert_eq!(agent_bundles, 3, "--keep 1 plus the two planted files");
    std::fs::remove_dir_all(&dir).unwrap();
}
