//! A real node (issue 19): Debian's `libbpf-tools` and a `bpftrace` script,
//! programs nobody here wrote, running for real; `bpfcase collect` then
//! `bpfcase analyze --fail-on warning` must report nothing false: 0 errors,
//! 0 warnings, and every map with BTF has its key and value types named.
//!
//! The tools attach tracepoints, which need tracefs: each runs in its own
//! mount namespace with tracefs mounted there. `collect` runs where tracefs
//! is not mounted, as on a fresh node or in a pod. Kprobes are not built
//! into the CI kernel and fentry is refused, so the tools are ones that
//! attach tracepoints or raw tracepoints.
//!
//! A test binary of its own: the other end-to-end tests plant stale pins and
//! full maps on purpose, and this one collects every map on the node.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

/// The libbpf-tools started (from `/usr/sbin`), each with a tracepoint or
/// raw-tracepoint attach on this kernel. `cpudist` sizes its `hists` map to
/// one entry on purpose; every tool has maps named `events`, `start`,
/// `cgroup_map` or `hists`; all have `.rodata`, some `.bss` and `.kconfig`.
const TOOLS: &[&str] = &[
    "execsnoop",
    "opensnoop",
    "runqlat",
    "biolatency",
    "tcplife",
    "hardirqs",
    "cpudist",
    "syscount",
    "exitsnoop",
    "sigsnoop",
    "softirqs",
    "runqslower",
    "mountsnoop",
    "tcpstates",
    "killsnoop",
    "drsnoop",
    "bitesize",
];

/// A bpftrace script on tracepoints: its maps are bpftrace's own (hash maps
/// of counts keyed by `comm`).
const BPFTRACE_SCRIPT: &str = "tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); } \
     tracepoint:sched:sched_process_exec { @execs[comm] = count(); }";

/// How long the tools get to load and attach.
const READY_WITHIN: Duration = Duration::from_secs(40);

/// The tools started, killed (SIGKILL) and reaped when dropped: also when
/// the test fails half way.
struct Running {
    tools: Vec<Tool>,
}

struct Tool {
    name: String,
    child: Child,
    stderr: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &mut self.tools {
            let _ = t.child.kill();
            let _ = t.child.wait();
        }
    }
}

impl Tool {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Panics, with the tool's stderr, when it has exited.
    fn assert_running(&mut self, when: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}) {when}; its stderr:\n{}",
                self.name,
                self.stderr()
            );
        }
    }
}

/// Starts `argv` in a mount namespace of its own with tracefs mounted on
/// `/sys/kernel/tracing` (there already when the test's namespace has it). `unshare` and `sh` exec the tool, so the child's
/// pid is the tool's.
fn start(name: &str, argv: &[&str], dir: &Path) -> Tool {
    let stderr = dir.join(format!("{name}.stderr"));
    let child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            "{ mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing; } \
             && exec \"$0\" \"$@\"",
        )
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    Tool {
        name: name.to_string(),
        child,
        stderr,
    }
}

/// The programs process `pid` holds, by id: its prog fds and the programs
/// of its link fds, from `/proc/PID/fdinfo`.
fn held_programs(pid: u32) -> BTreeSet<u32> {
    let mut ids = BTreeSet::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return ids;
    };
    for e in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("prog_id:") {
                ids.extend(v.trim().parse::<u32>().ok());
            }
        }
    }
    ids
}

/// Program ids `bpftool -j prog show` lists.
fn bpftool_programs() -> BTreeSet<u32> {
    let out = Command::new("bpftool")
        .args(["-j", "prog", "show"])
        .output()
        .expect("bpftool prog show");
    assert!(out.status.success(), "bpftool -j prog show failed: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("bpftool's JSON");
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_u64())
        .map(|i| i as u32)
        .collect()
}

/// Waits until every tool holds programs that `bpftool prog show` lists,
/// the same ones on two polls in a row (loading done).
fn wait_loaded(running: &mut Running) -> BTreeMap<String, BTreeSet<u32>> {
    let deadline = Instant::now() + READY_WITHIN;
    let mut last: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    loop {
        for t in &mut running.tools {
            t.assert_running("while loading");
        }
        let listed = bpftool_programs();
        let now: BTreeMap<String, BTreeSet<u32>> = running
            .tools
            .iter()
            .map(|t| (t.name.clone(), held_programs(t.pid())))
            .collect();
        let loaded = now
            .values()
            .all(|ids| !ids.is_empty() && ids.is_subset(&listed));
        if loaded && now == last {
            return now;
        }
        if Instant::now() > deadline {
            let waiting: Vec<&String> = now
                .iter()
                .filter(|(_, ids)| ids.is_empty() || !ids.is_subset(&listed))
                .map(|(n, _)| n)
                .collect();
            panic!("not loaded after {READY_WITHIN:?}: {waiting:?} (programs held: {now:?})");
        }
        last = now;
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Mount points of tracefs in this process's mount namespace.
fn tracefs_mounts(mountinfo: &str) -> Vec<String> {
    mountinfo
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            (right.split_whitespace().next() == Some("tracefs"))
                .then(|| left.split_whitespace().nth(4).map(str::to_string))
                .flatten()
        })
        .collect()
}

/// `bpfcase collect` where tracefs is not mounted: directly when this
/// process's namespace has none (CI, a fresh node), else in a private mount
/// namespace with every tracefs unmounted first.
fn collect_without_tracefs(args: &[&str]) -> std::process::Output {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mounts = tracefs_mounts(&mountinfo);
    let out = if mounts.is_empty() {
        bpfcase().arg("collect").args(args).output().unwrap()
    } else {
        eprintln!(
            "tracefs is mounted here ({mounts:?}): collect runs in a mount namespace without it"
        );
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(
                "for m in $TRACEFS; do umount -l \"$m\" || exit 97; done; \
                 grep -q ' - tracefs ' /proc/self/mountinfo && exit 98; exec \"$0\" collect \"$@\"",
            )
            .arg(env!("CARGO_BIN_EXE_bpfcase"))
            .args(args)
            .env("TRACEFS", mounts.join(" "))
            .output()
            .unwrap()
    };
    assert!(
        out.status.success(),
        "collect failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The value bytes of entry 0 of a one-entry array dump in bpftool's `-j`
/// shape (`["0x0a", …]`).
fn first_value(dump: &Value) -> Vec<String> {
    dump[0]["value"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|b| b.as_str())
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn libbpf_tools_and_bpftrace_node_has_no_false_finding() {
    let test = "real_node::libbpf_tools_and_bpftrace_node_has_no_false_finding";
    if !require_bpf(test) || !require_tool("unshare", test) || !require_tool("tar", test) {
        return;
    }
    for t in TOOLS {
        if !require_tool(&format!("/usr/sbin/{t}"), test) {
            return;
        }
    }
    if !require_tool("bpftrace", test) {
        return;
    }
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("bpfcase-real-node-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let mut running = Running { tools: Vec::new() };
    for t in TOOLS {
        let path = format!("/usr/sbin/{t}");
        running.tools.push(start(t, &[&path], &dir));
    }
    running.tools.push(start(
        "bpftrace",
        &["bpftrace", "-e", BPFTRACE_SCRIPT],
        &dir,
    ));
    let programs = wait_loaded(&mut running);
    eprintln!(
        "{} tools loaded {} programs in {:?}",
        programs.len(),
        programs.values().map(BTreeSet::len).sum::<usize>(),
        started.elapsed()
    );

    let bundle = dir.join("node.tar");
    collect_without_tracefs(&["-o", bundle.to_str().unwrap()]);
    // bpftool's view of the frozen `.rodata` maps at the same moment.
    let mut bpftool_rodata: BTreeMap<u32, Value> = BTreeMap::new();
    let unpacked = dir.join("bundle");
    std::fs::create_dir_all(&unpacked).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(&bundle)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(st.success(), "tar -xf {}", bundle.display());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(unpacked.join("manifest.json")).unwrap()).unwrap();
    let maps = manifest["maps"].as_array().expect("manifest maps");
    let frozen_rodata: Vec<&Value> = maps
        .iter()
        .filter(|m| {
            m["frozen"] == true && m["name"].as_str().is_some_and(|n| n.ends_with(".rodata"))
        })
        .collect();
    for m in &frozen_rodata {
        let id = m["id"].as_u64().unwrap() as u32;
        let out = Command::new("bpftool")
            .args(["-j", "map", "dump", "id", &id.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "bpftool map dump id {id}: {out:?}");
        bpftool_rodata.insert(id, serde_json::from_slice(&out.stdout).unwrap());
    }
    for t in &mut running.tools {
        t.assert_running("during the collection");
    }
    // Every tool's process and programs are in the bundle.
    let procs: BTreeSet<u64> = manifest["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["pid"].as_u64())
        .collect();
    let progs: BTreeSet<u64> = manifest["progs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_u64())
        .collect();
    for t in &running.tools {
        assert!(
            procs.contains(&(t.pid() as u64)),
            "{} (pid {}) is not among the bundle's processes",
            t.name,
            t.pid()
        );
        for id in &programs[&t.name] {
            assert!(
                progs.contains(&(*id as u64)),
                "program {id} of {} is not in the bundle",
                t.name
            );
        }
    }
    drop(running);

    let report = dir.join("report.json");
    let analyze = bpfcase()
        .arg("analyze")
        .arg(&bundle)
        .args(["--format", "json", "--fail-on", "warning", "-q", "-o"])
        .arg(&report)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap_or_default())
        .unwrap_or_else(|e| panic!("analyze wrote no JSON report ({e}): {analyze:?}"));

    let mut problems: Vec<String> = Vec::new();
    for f in report["findings"].as_array().into_iter().flatten() {
        if f["severity"] == "error" || f["severity"] == "warning" {
            problems.push(format!(
                "{} {} [map {} id {}]: {}",
                f["severity"].as_str().unwrap_or("?"),
                f["code"].as_str().unwrap_or("?"),
                f["map"]["name"].as_str().unwrap_or("-"),
                f["map"]["id"],
                f["title"].as_str().unwrap_or("")
            ));
        }
    }
    if analyze.status.code() != Some(0) {
        problems.push(format!(
            "analyze --fail-on warning exited {}: {}",
            analyze.status,
            String::from_utf8_lossy(&analyze.stderr).trim()
        ));
    }
    // Every map with BTF has its key and value types named.
    let named: BTreeMap<u64, &Value> = report["maps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m["id"].as_u64()?, m)))
        .collect();
    for m in maps
        .iter()
        .filter(|m| m["btf_id"].as_u64().unwrap_or(0) != 0)
    {
        let id = m["id"].as_u64().unwrap();
        let name = m["name"].as_str().unwrap_or("");
        let Some(r) = named.get(&id) else {
            problems.push(format!("map {name} id {id} is not in the report's maps[]"));
            continue;
        };
        for (side, type_id) in [("key", "btf_key_type_id"), ("value", "btf_value_type_id")] {
            if m[type_id].as_u64().unwrap_or(0) != 0 && r[format!("{side}_type")].is_null() {
                problems.push(format!(
                    "map {name} id {id} ({}): the BTF gives its {side} a type (id {}) but the report names none",
                    m["type"].as_str().unwrap_or("?"),
                    m[type_id]
                ));
            }
        }
    }
    // The bundle's frozen `.rodata` bytes are bpftool's at the same moment.
    assert!(
        frozen_rodata.len() >= TOOLS.len(),
        "every libbpf tool has a frozen .rodata; the bundle lists {}",
        frozen_rodata.len()
    );
    for m in &frozen_rodata {
        let id = m["id"].as_u64().unwrap() as u32;
        let path = m["dump"].as_str().expect("a frozen .rodata is dumped");
        let ours: Value =
            serde_json::from_slice(&std::fs::read(unpacked.join(path)).unwrap()).unwrap();
        assert_eq!(
            first_value(&ours),
            first_value(&bpftool_rodata[&id]),
            "map {} id {id}: the bundle's bytes are not bpftool's",
            m["name"]
        );
        // Decoded variable by variable, it is bpftool's `formatted` of
        // that moment (`{"value": {".rodata": [{"targ_tgid": 0}, …]}}`).
        let btf_id = m["btf_id"].as_u64().unwrap();
        let btf_path = manifest["btf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"].as_u64() == Some(btf_id))
            .and_then(|b| b["path"].as_str())
            .unwrap_or_else(|| panic!("map {} id {id}: no BTF {btf_id} in the bundle", m["name"]));
        let out = bpfcase()
            .args(["decode", "--format", "json", "--dump"])
            .arg(unpacked.join(path))
            .arg("--btf")
            .arg(unpacked.join(btf_path))
            .args(["--map", m["name"].as_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "decode of map {} id {id}: {}",
            m["name"],
            String::from_utf8_lossy(&out.stderr)
        );
        let decoded: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            decoded[0], bpftool_rodata[&id][0]["formatted"],
            "map {} id {id}: our decoding is not bpftool's formatted",
            m["name"]
        );
    }

    let elapsed = started.elapsed();
    assert!(
        problems.is_empty(),
        "a healthy node of {} libbpf-tools and bpftrace must give 0 errors, 0 warnings and every BTF type named; got {} (bundle and report kept in {}):\n{}",
        TOOLS.len(),
        problems.len(),
        dir.display(),
        problems.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(elapsed < Duration::from_secs(90), "took {elapsed:?}");
}

#[test]
fn tracefs_mount_points_are_read_from_mountinfo() {
    let info = "22 27 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n\
                36 22 0:33 / /sys/kernel/tracing rw,nosuid,nodev,noexec,relatime shared:16 - tracefs tracefs rw\n\
                37 22 0:34 / /sys/fs/bpf rw,relatime - bpf bpf rw,mode=700\n";
    assert_eq!(tracefs_mounts(info), ["/sys/kernel/tracing"]);
    assert!(tracefs_mounts("").is_empty());
}

/// The findings of `corpora/cases/node/case.tar` (the same tools, collected
/// by `corpora/cases/node/make-case.sh`), as a JSON summary: severity,
/// code, map and title of each. None of the evidence rules' false findings
/// (`maps/duplicate-name` on tools' shared names, `dump/map-full` on
/// cpudist's one-entry `hists`, `layout/key-padding` as a warning) and no
/// error, and no warning: global data maps (`.rodata`, `.bss`, `.kconfig`)
/// are decoded variable by variable, not unreadable.
#[test]
fn node_corpus_findings() {
    // Relative to the crate, so the titles name the same path everywhere.
    let out = bpfcase()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["analyze", "corpora/cases/node/case.tar"])
        .args(["--format", "json", "-q"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let mut by_severity: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings {
        *by_severity
            .entry(f["severity"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert_ne!(f["severity"], "error", "{f:#}");
        assert!(
            !["maps/duplicate-name", "dump/map-full", "layout/key-padding"]
                .contains(&f["code"].as_str().unwrap())
                || f["severity"] == "info",
            "a finding the evidence does not support: {f:#}"
        );
    }
    let summary = serde_json::json!({
        "maps": report["maps"].as_array().unwrap().len(),
        "findings_by_severity": by_severity,
        "findings": findings.iter().map(|f| serde_json::json!({
            "severity": f["severity"],
            "code": f["code"],
            "map": f["map"]["name"],
            "title": f["title"],
        })).collect::<Vec<_>>(),
    });
    insta::assert_json_snapshot!("node_corpus_findings", summary);
}

/// The report a reader of a healthy node gets, in text (100 columns), Markdown
/// and HTML: no finding, the maps under the processes and programs that own
/// them, the frozen `.rodata` configurations. The text fits 80 lines.
#[test]
fn node_corpus_grouped_reports() {
    let run = |args: &[&str]| {
        let out = bpfcase()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("COLUMNS", "100")
            .args([
                "analyze",
                "corpora/cases/node/case.tar",
                "--fail-on",
                "warning",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&[]);
    assert!(
        text.lines().count() <= 80,
        "{} lines at 100 columns:\n{text}",
        text.lines().count()
    );
    assert!(text.lines().all(|l| l.chars().count() <= 100));
    for tool in ["execsnoop (pid", "runqlat (pid", "bpftrace (pid"] {
        assert!(text.contains(tool), "no group for {tool}");
    }
    insta::assert_snapshot!("node_corpus_text", text);
    // Every map is still on its own line with --verbose.
    let verbose = run(&["--verbose"]);
    assert!(
        verbose
            .lines()
            .filter(|l| l.contains("max_entries"))
            .count()
            >= 69
    );
    insta::assert_snapshot!("node_corpus_md", run(&["--format", "md"]));
    let html = run(&["--format", "html"]);
    // One collapsible section per process or program group, closed when healthy.
    let groups = text
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains(" (pid "))
        .count();
    assert!(groups >= 17, "{groups} process groups in the text");
    assert_eq!(
        html.matches("<details><summary><span class=\"mono\">")
            .count(),
        groups
    );
    insta::assert_snapshot!("node_corpus_html", html);
}
