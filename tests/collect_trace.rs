//! `collect --trace-pid` end to end on the live kernel: a child process
//! makes known bpf() map calls (an update with known key and value bytes, a
//! lookup of a missing key, a GET_NEXT_KEY from the start, a delete) in a
//! loop; collect traces it and the trace must show exactly those calls,
//! with the right map id and return values, and nothing of a second,
//! untraced child doing the same on the same map.
//!
//! The children are this test binary run again (`trace_child`, ignored
//! unless asked for by environment): one long-lived process that keeps its
//! map fd open, as an agent would. A shell loop of `bpftool map update`
//! would not do: each bpftool is a new process (not the traced pid) and
//! closes its fd before the trace reader can resolve it to a map.

#[path = "collect_support/mod.rs"]
mod support;

use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bpfcase::bundle::TraceEvent;
use bpfcase::collect::sys;
use support::*;

const CHILD_ENV: &str = "BPFCASE_TRACE_CHILD";
const MISSING: [u8; 8] = [0xff; 8];
const VALUE: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
const TRACED_KEY: [u8; 8] = [0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04];
const BYSTANDER_KEY: [u8; 8] = [0xba, 0xad, 0xf0, 0x0d, 0x05, 0x06, 0x07, 0x08];

/// The child's loop: `BPFCASE_TRACE_CHILD=MAP_ID:KEY_HEX:SECONDS`. Does
/// nothing when the variable is not set (a plain `cargo test --ignored`).
#[test]
#[ignore = "run by trace_records_known_map_calls as its child process"]
fn trace_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let id: u32 = parts[0].parse().unwrap();
    let key: Vec<u8> = (0..parts[1].len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&parts[1][i..i + 2], 16).unwrap())
        .collect();
    let secs: f64 = parts[2].parse().unwrap();
    let fd = sys::map_fd_by_id_rw(id).unwrap();
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut out = [0u8; 8];
    while Instant::now() < end {
        sys::update_elem(&fd, &key, &VALUE).unwrap();
        assert!(!sys::lookup_elem(&fd, &MISSING, &mut out).unwrap());
        let _ = sys::get_next_key(&fd, None, &mut out).unwrap();
        sys::delete_elem(&fd, &key).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Starts this test binary as a `trace_child` on map `id` with `key`.
fn spawn_child(id: u32, key: &[u8], secs: f64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "trace_child", "--ignored", "--test-threads", "1"])
        .env(CHILD_ENV, format!("{id}:{}:{secs}", hex(key)))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Kills the children even when the test fails.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Creates and pins a hash map (8-byte keys and values, 16 entries) named
/// `name` under `dir`; returns its id.
fn pinned_hash_map(dir: &PinDir, name: &str) -> u32 {
    let pin = dir.path("m");
    run_ok(
        Command::new("bpftool")
            .args(["map", "create"])
            .arg(&pin)
            .args([
                "type", "hash", "key", "8", "value", "8", "entries", "16", "name", name,
            ]),
    );
    let show: serde_json::Value = serde_json::from_slice(
        &run_ok(
            Command::new("bpftool")
                .args(["-j", "map", "show", "pinned"])
                .arg(&pin),
        )
        .stdout,
    )
    .unwrap();
    show["id"].as_u64().unwrap() as u32
}

/// How a test runs `collect`: as it is, or inside a private mount
/// namespace prepared by a shell snippet (the host's mounts stay as they
/// are).
#[derive(Clone, Copy)]
enum Mounts {
    Host,
    /// `unshare -m`, tracefs and debugfs unmounted inside: a new machine,
    /// or a pod, where nobody mounted them.
    NoTracefs,
    /// `unshare -m`, tracefs mounted inside at /sys/kernel/tracing.
    PrivateTracefs,
}

/// The shell snippet run in the namespace before `exec`ing collect; it
/// fails (exit 97) if the namespace is not as intended, so the test cannot
/// pass on the wrong setup.
fn mount_script(m: Mounts) -> Option<&'static str> {
    match m {
        Mounts::Host => None,
        Mounts::NoTracefs => Some(
            "for m in /sys/kernel/debug/tracing /sys/kernel/tracing /sys/kernel/debug; do \
               while umount -l \"$m\" 2>/dev/null; do :; done; done; \
             if grep -qE ' - (tracefs|debugfs) ' /proc/self/mountinfo; then \
               echo 'tracefs or debugfs still mounted' >&2; exit 97; fi; \
             exec \"$@\"",
        ),
        Mounts::PrivateTracefs => Some(
            "mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing \
               || { echo 'cannot mount tracefs' >&2; exit 97; }; \
             exec \"$@\"",
        ),
    }
}

/// `bpfcase collect ARGS` under `mounts`.
fn collect_cmd(mounts: Mounts) -> Command {
    let bin = bpfcase().get_program().to_owned();
    match mount_script(mounts) {
        None => {
            let mut c = bpfcase();
            c.arg("collect");
            c
        }
        Some(script) => {
            let mut c = Command::new("unshare");
            c.args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
            ])
            .arg(bin)
            .arg("collect");
            c
        }
    }
}

/// Lines of /proc/self/mountinfo naming tracefs or debugfs on the host.
fn host_trace_mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(" - tracefs ") || l.contains(" - debugfs "))
        .map(str::to_string)
        .collect()
}

/// The trace tests run one at a time (a lock): traces at once would each
/// see the others' programs in the kernel, and compete for the CPUs.
static ONE_TRACE: Mutex<()> = Mutex::new(());

fn one_trace() -> std::sync::MutexGuard<'static, ()> {
    ONE_TRACE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the kernel still has a program (`prog`) or map (`map`) of
/// this id.
fn exists(kind: &str, id: u32) -> bool {
    Command::new("bpftool")
        .args([kind, "show", "id", &id.to_string()])
        .output()
        .unwrap()
        .status
        .success()
}

/// No program or map of the trace (by the ids the manifest lists) is left
/// in the kernel. The kernel frees them shortly after collect's fds close,
/// and collect waits for that, so a short grace covers only scheduling.
fn assert_trace_freed(trace: &bpfcase::bundle::TraceRecord) {
    assert_eq!(trace.own_prog_ids.len(), 2, "{trace:?}");
    assert!(trace.own_map_ids.len() >= 5, "{trace:?}");
    let left = || -> Vec<String> {
        let progs = trace.own_prog_ids.iter().filter(|&&id| exists("prog", id));
        let maps = trace.own_map_ids.iter().filter(|&&id| exists("map", id));
        progs
            .map(|id| format!("prog {id}"))
            .chain(maps.map(|id| format!("map {id}")))
            .collect()
    };
    for _ in 0..20 {
        if left().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the trace left these in the kernel: {:?}", left());
}

/// With no bundle to say which ids were the trace's (collect failed), no
/// program named like the trace's may be loaded. Only meaningful while no
/// other trace runs on the machine, which the lock ensures for this binary.
fn assert_no_trace_program() {
    for _ in 0..20 {
        let progs = run_ok(Command::new("bpftool").args(["-j", "prog", "show"]));
        if !String::from_utf8_lossy(&progs.stdout).contains("bpf_calls") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("a bpf_calls program is still loaded");
}

/// Two children call the same map; collect traces one of them, attached
/// as `attach` says under `mounts`, and the trace must hold exactly the
/// traced child's known calls.
fn traces_known_calls(
    test: &str,
    map_name: &str,
    mounts: Mounts,
    attach: &str,
    expect_attach: &str,
) {
    let dir = PinDir::new(test);
    let map_id = pinned_hash_map(&dir, map_name);

    let mut children = Children(vec![
        spawn_child(map_id, &TRACED_KEY, 8.0),
        spawn_child(map_id, &BYSTANDER_KEY, 8.0),
    ]);
    let traced = children.0[0].id();
    let bystander = children.0[1].id();
    // Let both open the map and start calling.
    std::thread::sleep(Duration::from_millis(500));

    let before = host_trace_mounts();
    let out = scratch(test).join("t.tar");
    let _one = one_trace();
    let res = run_ok(
        collect_cmd(mounts)
            .args([
                "--no-bpftool",
                "--trace-for",
                "2s",
                "--trace-attach",
                attach,
                "-o",
            ])
            .arg(&out)
            .arg("--trace-pid")
            .arg(traced.to_string()),
    );
    let stderr = String::from_utf8_lossy(&res.stderr);
    for c in &mut children.0 {
        assert!(
            c.try_wait().unwrap().is_none(),
            "a child ended before the trace did"
        );
    }
    drop(children);
    assert_eq!(host_trace_mounts(), before, "the host's mounts changed");

    let files = read_bundle(&out);
    let m = checked_manifest(&files);
    let trace = m.trace.as_ref().expect("manifest.trace");
    assert_eq!(trace.attach, expect_attach, "{stderr}");
    assert_eq!(trace.path, "trace/bpf-calls.jsonl");
    assert_eq!(trace.pids, [traced]);
    assert_eq!(trace.capture_bytes, 256);
    assert!(
        (1900..3000).contains(&trace.duration_ms),
        "{}",
        trace.duration_ms
    );
    assert!(m.files.iter().any(|f| f.path == trace.path));
    let text = std::str::from_utf8(&files[&trace.path]).unwrap();
    let events: Vec<TraceEvent> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(trace.events, events.len() as u64, "{stderr}");
    // ~200 loop rounds of 4 calls in 2 s; far fewer means calls were missed.
    assert!(events.len() > 200, "only {} events", events.len());
    assert_eq!(trace.lost, 0);

    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64);
        assert_eq!(e.pid, traced, "an event of another process: {e:?}");
        assert_ne!(e.pid, bystander);
        assert_eq!(e.map_id, Some(map_id), "{e:?}");
    }
    let times: Vec<u64> = events.iter().map(|e| e.time_ns).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "one thread's calls out of order"
    );
    let key = hex(&TRACED_KEY);
    let update = events
        .iter()
        .find(|e| e.cmd == "map_update_elem")
        .expect("an update");
    assert_eq!(update.key.as_deref(), Some(key.as_str()));
    assert_eq!(update.value.as_deref(), Some(hex(&VALUE).as_str()));
    assert_eq!(update.ret, 0);
    assert_eq!(update.flags, 0);
    let missing = events
        .iter()
        .find(|e| e.cmd == "map_lookup_elem")
        .expect("a lookup");
    assert_eq!(missing.key.as_deref(), Some(hex(&MISSING).as_str()));
    assert_eq!(missing.value, None);
    assert_eq!(missing.ret, -2, "ENOENT");
    let next = events
        .iter()
        .find(|e| e.cmd == "map_get_next_key")
        .expect("a get_next_key");
    assert_eq!(next.key, None, "NULL key");
    let delete = events
        .iter()
        .find(|e| e.cmd == "map_delete_elem")
        .expect("a delete");
    assert_eq!(delete.key.as_deref(), Some(key.as_str()));
    assert_eq!(delete.ret, 0);
    assert!(
        !text.contains(&hex(&BYSTANDER_KEY)),
        "the untraced child's key is in the trace"
    );

    // The traced pid's maps are dumped as with --pid, and collect's own
    // trace program and maps are not in the listing.
    let rec = m.maps.iter().find(|r| r.id == map_id).expect("map listed");
    assert!(rec.dump.is_some(), "traced process's map dumped");
    assert!(m.processes.iter().any(|p| p.pid == traced));
    assert!(!m.progs.iter().any(|p| p.name.starts_with("bpf_calls")));
    assert!(!m
        .maps
        .iter()
        .any(|r| { ["inflight", "targets", "scratch", "config"].contains(&r.name.as_str()) }));
    assert!(!m.partial, "{:?}", m.limits_hit);
    // Detached and freed: no program or map of ours is left in the kernel.
    assert_trace_freed(trace);
}

/// The default attach (raw tracepoints) on the host as it is.
#[test]
fn trace_records_known_map_calls() {
    if !can_run("trace_records_known_map_calls") {
        return;
    }
    traces_known_calls("trace", "trace_t", Mounts::Host, "auto", "raw_tracepoint");
}

/// A node (or pod) where nobody mounted tracefs or debugfs: the default
/// attach needs neither, and the host's mounts are left as they were.
#[test]
fn trace_works_without_tracefs() {
    if !can_run("trace_works_without_tracefs") {
        return;
    }
    traces_known_calls(
        "trace-notracefs",
        "trace_n",
        Mounts::NoTracefs,
        "auto",
        "raw_tracepoint",
    );
}

/// The fallback attach, tracefs syscall tracepoints, gives the same
/// records (tracefs mounted in a private namespace only).
#[test]
fn trace_by_tracefs_tracepoints() {
    if !can_run("trace_by_tracefs_tracepoints") {
        return;
    }
    traces_known_calls(
        "trace-tracefs",
        "trace_f",
        Mounts::PrivateTracefs,
        "tracefs",
        "tracefs_tracepoint",
    );
}

/// Asked for the tracefs attach where there is no tracefs, collect fails
/// clearly (exit 2, naming what is missing), writes no bundle and leaves
/// nothing loaded.
#[test]
fn tracefs_attach_without_tracefs_fails_clearly() {
    if !can_run("tracefs_attach_without_tracefs_fails_clearly") {
        return;
    }
    let child = Children(vec![Command::new("sleep").arg("5").spawn().unwrap()]);
    let out = scratch("trace-notracefs-fail").join("t.tar");
    let _one = one_trace();
    let res = collect_cmd(Mounts::NoTracefs)
        .args(["--no-bpftool", "--trace-attach", "tracefs", "--trace-pid"])
        .arg(child.0[0].id().to_string())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot read tracepoint") && err.contains("tracefs"),
        "{err}"
    );
    assert!(!out.exists());
    assert_no_trace_program();
}

#[test]
fn trace_of_a_missing_process_fails_clearly() {
    if !can_run("trace_of_a_missing_process_fails_clearly") {
        return;
    }
    let out = scratch("trace-missing").join("t.tar");
    let res = bpfcase()
        .args(["collect", "--no-bpftool", "--trace-pid", "4000000", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(2));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("process 4000000 does not exist"), "{err}");
    assert!(!out.exists());
}

/// SIGINT during the trace ends the trace early, says so in `limits_hit`,
/// and the collection still runs: the traced process's map is dumped.
#[test]
fn sigint_ends_only_the_trace() {
    if !can_run("sigint_ends_only_the_trace") {
        return;
    }
    let dir = PinDir::new("trace-sigint");
    let map_id = pinned_hash_map(&dir, "trace_s");
    let children = Children(vec![spawn_child(map_id, &TRACED_KEY, 10.0)]);
    let traced = children.0[0].id();
    std::thread::sleep(Duration::from_millis(300));

    let out = scratch("trace-sigint").join("t.tar");
    let _one = one_trace();
    let collect = bpfcase()
        .args(["collect", "--no-bpftool", "--trace-for", "60s", "-o"])
        .arg(&out)
        .arg("--trace-pid")
        .arg(traced.to_string())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(collect.id() as i32, libc::SIGINT) }, 0);
    let res = collect.wait_with_output().unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the trace did not end at SIGINT"
    );
    drop(children);

    let files = read_bundle(&out);
    let m = checked_manifest(&files);
    let trace = m.trace.as_ref().expect("manifest.trace");
    assert_trace_freed(trace);
    assert!(trace.duration_ms < 10_000, "{}", trace.duration_ms);
    assert!(trace.events > 0);
    assert!(m.partial);
    assert!(
        m.limits_hit
            .iter()
            .any(|l| l.limit == "interrupted" && l.what == "trace"),
        "{:?}",
        m.limits_hit
    );
    // Only the trace was cut: the dumps ran.
    let rec = m.maps.iter().find(|r| r.id == map_id).expect("map listed");
    assert!(rec.dump.is_some(), "{:?}", m.limits_hit);
    assert_eq!(m.limits_hit.len(), 1, "{:?}", m.limits_hit);
}

/// The static binary `just static` builds, `target/image/bpfcase` (the file
/// `just image` puts in the image and checks is there), or `None` (skip; a
/// failure in CI) when it is missing or older than a source file.
fn static_binary(test: &str) -> Option<std::path::PathBuf> {
    let bin = repo().join("target/image/bpfcase");
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    let newest_source = walk_newest(&repo().join("src"));
    let why = match built {
        None => format!("{} is missing", bin.display()),
        Some(t) if t < newest_source => format!("{} is older than src/", bin.display()),
        Some(_) => return Some(bin),
    };
    let msg =
        format!("{test}: {why}: run `just static` first (`just test` does, through `just image`)");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED {msg}");
    None
}

fn walk_newest(dir: &std::path::Path) -> std::time::SystemTime {
    let mut newest = std::time::UNIX_EPOCH;
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let m = e.metadata().unwrap();
        let t = if m.is_dir() {
            walk_newest(&e.path())
        } else {
            m.modified().unwrap()
        };
        newest = newest.max(t);
    }
    newest
}

/// Runs the static `bpfcase` binary the way the pod runs it: in an empty
/// root holding only the binary, in a private mount namespace where a fresh
/// /proc (the host's pids, as with hostPID), a read-only sysfs and the
/// host's bpffs (read-only) are all there is: no tracefs, no debugfs, no
/// libc, no bpftool, no shell. `root/out` is the host directory `out`.
fn pod_cmd(bin: &std::path::Path, root: &std::path::Path, out: &std::path::Path) -> Command {
    std::fs::create_dir_all(root).unwrap();
    std::fs::copy(bin, root.join("bpfcase")).unwrap();
    let script = r#"set -e
R=$1; OUT=$2; shift 2
for m in /sys/kernel/debug/tracing /sys/kernel/tracing /sys/kernel/debug; do
  while umount -l "$m" 2>/dev/null; do :; done; done
mkdir -p "$R/proc" "$R/sys" "$R/out"
mount -t proc proc "$R/proc"
mount -t sysfs -o ro sysfs "$R/sys"
mount --bind /sys/fs/bpf "$R/sys/fs/bpf"
mount -o remount,bind,ro "$R/sys/fs/bpf"
mount --bind "$OUT" "$R/out"
if grep -qE ' - (tracefs|debugfs) ' /proc/self/mountinfo; then
  echo 'tracefs or debugfs still mounted' >&2; exit 97; fi
[ "$(ls "$R" | sort | tr '\n' ' ')" = "bpfcase out proc sys " ] || { echo "root holds more: $(ls "$R")" >&2; exit 97; }
exec chroot "$R" /bpfcase "$@""#;
    let mut c = Command::new("unshare");
    c.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
    ])
    .arg(root)
    .arg(out);
    c
}

/// The image's binary under pod conditions: `collect`, `collect
/// --trace-pid` and `watch` all work with only /proc, /sys and bpffs.
#[test]
fn static_binary_works_in_an_empty_root_without_tracefs() {
    let test = "static_binary_works_in_an_empty_root_without_tracefs";
    if !can_run(test) {
        return;
    }
    let Some(bin) = static_binary(test) else {
        return;
    };
    let file = run_ok(Command::new("file").arg(&bin));
    let kind = String::from_utf8_lossy(&file.stdout);
    assert!(
        kind.contains("statically linked") || kind.contains("static-pie linked"),
        "{}",
        String::from_utf8_lossy(&file.stdout)
    );
    let dir = PinDir::new("pod");
    let map_id = pinned_hash_map(&dir, "pod_m");
    let fd = sys::map_fd_by_id_rw(map_id).unwrap();
    // A key the trace child never touches (it updates and deletes its own).
    sys::update_elem(&fd, &[0x42; 8], &VALUE).unwrap();
    let scratch = scratch("pod");
    let out = scratch.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let root = scratch.join("root");
    let before = host_trace_mounts();
    // The pin's path is the same inside: bpffs is mounted at /sys/fs/bpf.
    let pinned = dir.0.display().to_string();

    // 1. collect (bpftool is not there: its second opinion is left out).
    let res = run_ok(pod_cmd(&bin, &root, &out).args([
        "collect",
        "-o",
        "/out/c.tar",
        "--pinned",
        &pinned,
    ]));
    let m = checked_manifest(&read_bundle(&out.join("c.tar")));
    let rec = m.maps.iter().find(|r| r.id == map_id).expect("map listed");
    assert_eq!(
        rec.entries,
        Some(1),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert!(
        m.btf.iter().any(|b| b.name == "vmlinux"),
        "vmlinux BTF from the fresh sysfs"
    );
    assert!(m.host.possible_cpus > 0);

    // 2. collect --trace-pid: raw tracepoints, no tracefs.
    let children = Children(vec![spawn_child(map_id, &TRACED_KEY, 6.0)]);
    let traced = children.0[0].id();
    std::thread::sleep(Duration::from_millis(300));
    let res = {
        let _one = one_trace();
        run_ok(pod_cmd(&bin, &root, &out).args([
            "collect",
            "--trace-for",
            "1s",
            "-o",
            "/out/t.tar",
            "--trace-pid",
            &traced.to_string(),
        ]))
    };
    drop(children);
    // The child may have been killed between its update and its delete.
    let _ = sys::delete_elem(&fd, &TRACED_KEY);
    let files = read_bundle(&out.join("t.tar"));
    let m = checked_manifest(&files);
    let trace = m.trace.as_ref().expect("manifest.trace");
    assert_eq!(
        trace.attach,
        "raw_tracepoint",
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let text = std::str::from_utf8(&files[&trace.path]).unwrap();
    let events: Vec<TraceEvent> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.len() > 50, "only {} events", events.len());
    assert!(events
        .iter()
        .all(|e| e.pid == traced && e.map_id == Some(map_id)));
    assert!(
        m.processes.iter().any(|p| p.pid == traced),
        "fdinfo read through the fresh /proc"
    );
    assert_trace_freed(trace);

    // 3. watch: two cycles, bundles and the metrics file.
    let res = run_ok(pod_cmd(&bin, &root, &out).args([
        "watch",
        "--cycles",
        "2",
        "--interval",
        "200ms",
        "--min-free",
        "1M",
        "--out",
        "/out/w",
        "--metrics",
        "/out/bpfcase.prom",
        "--pinned",
        &pinned,
    ]));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        stderr.contains("2 cycles collected, 0 skipped, 0 failed"),
        "{stderr}"
    );
    let entries: Vec<_> = std::fs::read_dir(out.join("w"))
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    // Two bundles and the agent's ledger of them, nothing else.
    let bundles = entries
        .iter()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tar"))
        .count();
    assert_eq!(bundles, 2, "{entries:?}");
    assert!(out.join("w/.bpfcase-watch-ledger").is_file(), "{entries:?}");
    assert_eq!(entries.len(), 3, "{entries:?}");
    let metrics = std::fs::read_to_string(out.join("bpfcase.prom")).unwrap();
    assert!(
        metrics.contains(&format!(
            "bpfcase_map_entries{{map_id=\"{map_id}\",map_name=\"pod_m\",map_type=\"hash\"}} 1\n"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("bpfcase_collection_partial 0\n"),
        "{metrics}"
    );
    assert_eq!(host_trace_mounts(), before, "the host's mounts changed");
}

/// `deploy/`'s manifests against the Kubernetes schemas (kubernetes-validate
/// ships them, so no network), strictly: an unknown field fails. A
/// misspelt copy must fail, so the check is known to bite. Then what the
/// agent relies on: hostPID, bpffs read-only, the metrics file inside the
/// textfile hostPath, limits, the capabilities.
#[test]
fn deploy_manifests_pass_the_kubernetes_schemas() {
    let test = "deploy_manifests_pass_the_kubernetes_schemas";
    let tool = "kubernetes-validate";
    let present = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        let msg = format!("{test}: `{tool}` is not installed (.ci/setup installs it from PyPI)");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED {msg}");
        return;
    }
    let ds = repo().join("deploy/daemonset.yaml");
    let job = repo().join("deploy/job.yaml");
    let out = run_ok(
        Command::new(tool)
            .args(["--strict", "--quiet"])
            .arg(&ds)
            .arg(&job),
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let bad = scratch("deploy").join("bad.yaml");
    let text = std::fs::read_to_string(&ds).unwrap();
    std::fs::write(&bad, text.replace("hostPID: true", "hostPid: true")).unwrap();
    let out = Command::new(tool)
        .args(["--strict", "--quiet"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a misspelt field passed");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("hostPid"),
        "{out:?}"
    );

    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let ds = docs
        .iter()
        .find(|d| d["kind"] == "DaemonSet")
        .expect("a DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true);
    let c = &pod["containers"][0];
    let args: Vec<&str> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(args[0], "watch");
    let mount = |name: &str| -> &serde_yaml::Value {
        c["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
    };
    let host = |name: &str| -> String {
        let v = pod["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap();
        v["hostPath"]["path"].as_str().unwrap().to_string()
    };
    assert_eq!(host("bpffs"), "/sys/fs/bpf");
    assert_eq!(mount("bpffs")["readOnly"], true);
    assert_eq!(
        host("textfile"),
        "/var/lib/node_exporter/textfile_collector"
    );
    let textfile = mount("textfile")["mountPath"].as_str().unwrap();
    assert!(
        args.contains(&format!("--metrics={textfile}/bpfcase.prom").as_str()),
        "{args:?}"
    );
    let out_dir = mount("bundles")["mountPath"].as_str().unwrap();
    assert!(
        args.contains(&format!("--out={out_dir}").as_str()),
        "{args:?}"
    );
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert!(c["resources"]["requests"]["cpu"].is_string());
    let caps: Vec<&str> = c["securityContext"]["capabilities"]["add"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(caps, ["SYS_ADMIN", "BPF", "PERFMON", "SYS_PTRACE"]);
    // The agent parses these arguments (as the pod would run them).
    let help = run_ok(bpfcase().args(["watch", "--help"]));
    let help = String::from_utf8_lossy(&help.stdout);
    for a in &args[1..] {
        let flag = a.split('=').next().unwrap();
        assert!(help.contains(flag), "{flag} is not a watch option");
    }
}
