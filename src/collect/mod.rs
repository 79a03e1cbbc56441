//! `bpfcase collect`: the privileged half, run on the live node. Shares only
//! the bundle format and the model types with the rest of the crate.
//!
//! [`collect`] lists every map, program, link and BTF object through bpf(2)
//! ([`sys`]), walks pins and process fds ([`walkers`]), dumps the chosen maps
//! ([`dump`]) and streams it all into a tar ([`crate::bundle::writer`]) whose manifest is
//! [`crate::bundle::Manifest`]. It is read-only: maps are opened with
//! `BPF_F_RDONLY` and no update, delete, pin or unpin is ever issued.
//! With `--trace-pid` it first traces bpf() map calls ([`trace`]): the one
//! time it loads and attaches a program of its own, detached before the
//! rest runs.

pub mod dump;
pub mod host;
mod progcode;
pub mod redact;
pub mod sys;
pub mod trace;
pub mod walkers;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::bundle::writer::BundleWriter;
use crate::bundle::{
    self, BtfRecord, CollectError, ElfRecord, LimitHit, LinkRecord, Manifest, MapRecord,
    ProgRecord, SnapshotRecord,
};
use crate::ingest::btf::Btf;
use crate::model::map::MapType;
use dump::{DumpLimits, DumpSpec};
use sys::ObjKind;

/// What `--redact` leaves out, in every member carrying map bytes: dumps,
/// snapshots and the trace ([`redact`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redact {
    /// Nothing: bytes as read.
    #[default]
    None,
    /// Value payload bytes, also in the trace (padding kept).
    Values,
    /// Key and value payload bytes, also in the trace (padding kept).
    Keys,
}

impl Redact {
    fn as_str(self) -> &'static str {
        match self {
            Redact::None => "none",
            Redact::Values => "values",
            Redact::Keys => "keys",
        }
    }
}

/// Everything a collection is told.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub output: PathBuf,
    /// `--map ID|NAME`; with `pids` and `pinned`, selects the maps to dump
    /// (all maps when all three are empty).
    pub maps: Vec<String>,
    pub pids: Vec<u32>,
    pub pinned: Vec<PathBuf>,
    pub elfs: Vec<PathBuf>,
    /// Copy the executables of processes holding BPF fds.
    pub binaries: bool,
    pub max_binary_bytes: u64,
    pub max_entries: Option<u64>,
    pub max_bytes: Option<u64>,
    pub time_budget: Duration,
    pub redact: Redact,
    /// Dumps of each chosen map (1 = just the main dump).
    pub snapshots: u32,
    pub interval: Duration,
    /// Where bpffs is mounted.
    pub bpffs: PathBuf,
    /// Ask `bpftool` (if on PATH) for a second opinion.
    pub bpftool: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Never use `BPF_MAP_LOOKUP_BATCH` (walk with GET_NEXT_KEY instead).
    pub no_batch: bool,
    /// `--trace-pid`: processes whose bpf() map calls are traced before the
    /// collection (their maps are also dumped, as with `pids`).
    pub trace_pids: Vec<u32>,
    /// `--trace-for`: how long the trace runs.
    pub trace_for: Duration,
    /// `--trace-attach`: how the trace program is attached; `None` tries raw
    /// tracepoints, then tracefs tracepoints.
    pub trace_attach: Option<trace::loader::Attach>,
    /// `--no-kernel-btf`: leave `/sys/kernel/btf/vmlinux` out of the bundle
    /// (5–6 MB, the same on every node of one kernel; maps' own BTF is kept).
    pub no_kernel_btf: bool,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            output: PathBuf::from("bpfcase-bundle.tar"),
            maps: Vec::new(),
            pids: Vec::new(),
            pinned: Vec::new(),
            elfs: Vec::new(),
            binaries: false,
            max_binary_bytes: crate::limits::COLLECT_BINARY_BYTES,
            max_entries: None,
            max_bytes: None,
            time_budget: Duration::from_secs(60),
            redact: Redact::None,
            snapshots: 1,
            interval: Duration::from_secs(1),
            bpffs: PathBuf::from("/sys/fs/bpf"),
            bpftool: true,
            no_kernel_btf: false,
            progress: false,
            no_batch: false,
            trace_pids: Vec::new(),
            trace_for: Duration::from_secs(10),
            trace_attach: None,
        }
    }
}

/// Why a collection could not produce a bundle at all.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(bpfcase::collect))]
#[non_exhaustive]
pub enum CollectFailure {
    /// The kernel refused to list BPF objects.
    #[error("cannot list BPF maps: {0} (collect needs root: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON)")]
    NoPrivilege(io::Error),
    /// The node's CPU list could not be read.
    #[error("cannot read the node's CPUs: {0}")]
    Host(String),
    /// `--trace-pid` was given but the trace could not be set up.
    #[error("--trace-pid: {0}")]
    Trace(trace::TraceError),
    /// Writing the bundle failed. `error` is not a `#[source]`: the message
    /// already carries it, and miette would print it twice.
    #[error("writing {path}: {error}")]
    Write { path: String, error: io::Error },
}

impl From<trace::TraceError> for CollectFailure {
    fn from(e: trace::TraceError) -> Self {
        // Not a `#[source]`: the message already carries it, and miette
        // would print it twice.
        CollectFailure::Trace(e)
    }
}

/// The finished bundle.
#[derive(Debug)]
pub struct CollectOutcome {
    pub path: PathBuf,
    pub manifest: Manifest,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs SIGINT/SIGTERM handlers that ask the collection to stop (it then
/// writes a partial bundle). Returns the flag they set.
pub fn install_stop_handler() -> &'static AtomicBool {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    &STOP
}

fn prog_type_name(t: u32) -> String {
    const NAMES: &[&str] = &[
        "unspec",
        "socket_filter",
        "kprobe",
        "sched_cls",
        "sched_act",
        "tracepoint",
        "xdp",
        "perf_event",
        "cgroup_skb",
        "cgroup_sock",
        "lwt_in",
        "lwt_out",
        "lwt_xmit",
        "sock_ops",
        "sk_skb",
        "cgroup_device",
        "sk_msg",
        "raw_tracepoint",
        "cgroup_sock_addr",
        "lwt_seg6local",
        "lirc_mode2",
        "sk_reuseport",
        "flow_dissector",
        "cgroup_sysctl",
        "raw_tracepoint_writable",
        "cgroup_sockopt",
        "tracing",
        "struct_ops",
        "ext",
        "lsm",
        "sk_lookup",
        "syscall",
        "netfilter",
    ];
    NAMES
        .get(t as usize)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("unknown({t})"))
}

fn link_type_name(t: u32) -> String {
    const NAMES: &[&str] = &[
        "unspec",
        "raw_tracepoint",
        "tracing",
        "cgroup",
        "iter",
        "netns",
        "xdp",
        "perf_event",
        "kprobe_multi",
        "struct_ops",
        "netfilter",
        "tcx",
        "uprobe_multi",
        "netkit",
        "sockmap",
    ];
    NAMES
        .get(t as usize)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("unknown({t})"))
}

/// A file-name-safe form of a map name.
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// State shared by the phases of one collection.
struct Run<'a> {
    opts: &'a CollectOptions,
    stop: &'a AtomicBool,
    deadline: Instant,
    writer: BundleWriter,
    manifest: Manifest,
    /// Programs of collect's own (the `--trace-pid` program), left out of
    /// the listing.
    own_progs: BTreeSet<u32>,
    /// When each chosen map's main dump started (by index into
    /// `manifest.maps`): snapshot 0's time. Not the collection's start:
    /// a `--trace-pid` trace runs before the dumps.
    dump_started: BTreeMap<usize, String>,
}

impl Run<'_> {
    fn error(&mut self, what: impl Into<String>, error: impl ToString) {
        self.manifest.errors.push(CollectError {
            what: what.into(),
            error: error.to_string(),
        });
    }

    fn limit(&mut self, limit: &str, what: impl Into<String>, detail: impl Into<String>) {
        self.manifest.limits_hit.push(LimitHit {
            limit: limit.into(),
            what: what.into(),
            detail: detail.into(),
        });
    }

    /// Bytes `--max-bytes` still allows (unlimited without it).
    fn bytes_left(&self) -> u64 {
        self.opts
            .max_bytes
            .map_or(u64::MAX, |m| m.saturating_sub(self.writer.bytes))
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn write_err(&self, e: io::Error) -> CollectFailure {
        CollectFailure::Write {
            path: self.writer.tmp_path().display().to_string(),
            error: e,
        }
    }
}

/// Runs one collection and writes the bundle to `opts.output`.
pub fn collect(opts: &CollectOptions, stop: &AtomicBool) -> Result<CollectOutcome, CollectFailure> {
    let (secs, nanos) = host::now_unix();
    let host = host::host_info().map_err(CollectFailure::Host)?;
    // Listing maps is the privilege check: without it there is nothing to collect.
    let mut map_ids = sys::all_ids(ObjKind::Map).map_err(CollectFailure::NoPrivilege)?;
    // Traced processes' maps are dumped as if given with --pid.
    let merged;
    let opts = if opts.trace_pids.is_empty() {
        opts
    } else {
        let mut o = opts.clone();
        for &p in &opts.trace_pids {
            if !o.pids.contains(&p) {
                o.pids.push(p);
            }
        }
        merged = o;
        &merged
    };
    // Set up the trace before creating the bundle file: a trace that cannot
    // run fails the collection (it was asked for) and leaves nothing behind.
    let tracer = if opts.trace_pids.is_empty() {
        None
    } else {
        Some(trace::Tracer::start(&opts.trace_pids, opts.trace_attach)?)
    };
    let writer = BundleWriter::create(&opts.output, secs).map_err(|e| CollectFailure::Write {
        path: opts.output.display().to_string(),
        error: e,
    })?;
    let mut run = Run {
        opts,
        stop,
        deadline: Instant::now() + opts.time_budget,
        writer,
        own_progs: BTreeSet::new(),
        dump_started: BTreeMap::new(),
        manifest: Manifest {
            format: bundle::FORMAT.into(),
            version: bundle::VERSION,
            bpfcase_version: env!("CARGO_PKG_VERSION").into(),
            host,
            created: host::rfc3339(secs, nanos),
            redact: opts.redact.as_str().into(),
            ..Default::default()
        },
    };

    if let Some(tracer) = tracer {
        let own_maps = run_trace(&mut run, tracer)?;
        // Maps may have come and gone while tracing; the listing below
        // shows the state right after the trace, without the trace's own.
        match sys::all_ids(ObjKind::Map) {
            Ok(ids) => map_ids = ids,
            Err(e) => run.error("maps after the trace", e),
        }
        map_ids.retain(|id| !own_maps.contains(id));
        // --time-budget bounds the dumps, not the trace before them.
        run.deadline = Instant::now() + opts.time_budget;
    }
    list_maps(&mut run, &map_ids);
    list_progs(&mut run);
    list_links(&mut run);
    list_pins(&mut run);
    let procs = list_processes(&mut run);
    let chosen = choose_maps(&mut run, &procs);
    save_prog_code(&mut run, &chosen)?;
    write_btf(&mut run)?;
    dump_maps(&mut run, &chosen)?;
    take_snapshots(&mut run, &chosen)?;
    run.manifest.live_pids = walkers::live_thread_ids();
    write_processes(&mut run, procs)?;
    write_elfs(&mut run)?;
    if opts.bpftool {
        bpftool_opinion(&mut run)?;
    }

    if run.stopped() {
        run.limit(
            "interrupted",
            "collection",
            "SIGINT/SIGTERM received; later steps skipped",
        );
    }
    run.manifest.partial = !run.manifest.limits_hit.is_empty();
    let Run {
        writer,
        mut manifest,
        ..
    } = run;
    let tmp = writer.tmp_path().display().to_string();
    let path = writer
        .finish(&mut manifest)
        .map_err(|e| CollectFailure::Write {
            path: tmp,
            error: e,
        })?;
    Ok(CollectOutcome { path, manifest })
}

/// Runs the `--trace-pid` trace into `trace/bpf-calls.jsonl`. SIGINT or
/// SIGTERM during the trace ends only the trace: the flag is cleared so the
/// collection goes on (a second signal then stops it as usual).
/// Returns the ids of the trace's own maps.
fn run_trace(run: &mut Run, tracer: trace::Tracer) -> Result<Vec<u32>, CollectFailure> {
    let limit = run.bytes_left();
    let duration = run.opts.trace_for;
    let stop = run.stop;
    let cpus = run.manifest.host.possible_cpus;
    let attach = tracer.attach_kind();
    let redact = run.opts.redact;
    let outcome = run
        .writer
        .add_stream(trace::TRACE_PATH, |out| {
            tracer.run(duration, stop, out, limit, cpus, redact)
        })
        .map_err(|e| run.write_err(e))?;
    if redact != Redact::None {
        run.manifest.redacted_files.push(trace::TRACE_PATH.into());
    }
    let ms = outcome.duration.as_millis() as u64;
    if outcome.interrupted {
        run.limit(
            "interrupted",
            "trace",
            format!(
                "SIGINT/SIGTERM received: tracing stopped after {ms} ms of {} ms; collection went on",
                duration.as_millis()
            ),
        );
        stop.store(false, Ordering::SeqCst);
    }
    if outcome.cut_by_bytes > 0 {
        run.limit(
            "max-bytes",
            "trace",
            format!(
                "{} calls after the first {} not written",
                outcome.cut_by_bytes, outcome.events
            ),
        );
    }
    if outcome.lost > 0 {
        run.limit(
            "trace-lost",
            "trace",
            format!(
                "{} calls not recorded (ring buffer or in-flight table full)",
                outcome.lost
            ),
        );
    }
    if let Some(e) = &outcome.ring_error {
        run.error("trace", format!("reading stopped: {e}"));
    }
    let mut pids = run.opts.trace_pids.clone();
    pids.sort_unstable();
    pids.dedup();
    run.manifest.trace = Some(bundle::TraceRecord {
        path: trace::TRACE_PATH.into(),
        pids,
        started: outcome.started,
        duration_ms: ms,
        events: outcome.events,
        lost: outcome.lost,
        capture_bytes: trace::event::CAPTURE_BYTES,
        attach: attach.as_str().into(),
        own_prog_ids: outcome.own_prog_ids.clone(),
        own_map_ids: outcome.own_map_ids.clone(),
        redaction: outcome.redaction.clone(),
    });
    run.own_progs.extend(outcome.own_prog_ids);
    Ok(outcome.own_map_ids)
}

fn list_maps(run: &mut Run, ids: &[u32]) {
    for &id in ids {
        let fd = match sys::fd_by_id(ObjKind::Map, id) {
            Ok(fd) => fd,
            Err(e) => {
                run.error(
                    format!("map {id}"),
                    format!("gone or unopenable before it could be listed: {e}"),
                );
                continue;
            }
        };
        let info = match sys::map_info(&fd) {
            Ok(i) => i,
            Err(e) => {
                run.error(format!("map {id} info"), e);
                continue;
            }
        };
        let frozen = host::own_fdinfo(&fd)
            .and_then(|t| host::fdinfo_field(&t, "frozen").map(|v| v == "1"))
            .unwrap_or(false);
        run.manifest.maps.push(MapRecord {
            id: info.id,
            name: sys::c_name(&info.name),
            map_type: MapType(info.map_type).name(),
            key_size: info.key_size,
            value_size: info.value_size,
            max_entries: info.max_entries,
            flags: info.map_flags,
            btf_id: info.btf_id,
            btf_key_type_id: info.btf_key_type_id,
            btf_value_type_id: info.btf_value_type_id,
            btf_vmlinux_value_type_id: info.btf_vmlinux_value_type_id,
            frozen,
            ..Default::default()
        });
    }
}

fn list_progs(run: &mut Run) {
    let ids = match sys::all_ids(ObjKind::Prog) {
        Ok(ids) => ids,
        Err(e) => return run.error("programs", e),
    };
    for id in ids {
        if run.own_progs.contains(&id) {
            continue;
        }
        let res = sys::fd_by_id(ObjKind::Prog, id).and_then(|fd| sys::prog_info(&fd));
        let (info, map_ids) = match res {
            Ok(r) => r,
            Err(e) => {
                run.error(format!("prog {id}"), e);
                continue;
            }
        };
        for m in run.manifest.maps.iter_mut() {
            if map_ids.contains(&m.id) {
                m.prog_ids.push(id);
            }
        }
        run.manifest.progs.push(ProgRecord {
            id,
            name: sys::c_name(&info.name),
            prog_type: prog_type_name(info.prog_type),
            tag: info.tag.iter().map(|b| format!("{b:02x}")).collect(),
            map_ids,
            btf_id: info.btf_id,
            load_time_ns: info.load_time,
            code: None,
        });
    }
}

/// The translated code (`progcode`) of every program that uses a map the
/// collection dumps: every map by default; `--map`, `--pinned` and `--pid`
/// narrow it to the programs of what was asked for.
fn save_prog_code(run: &mut Run, chosen: &[usize]) -> Result<(), CollectFailure> {
    let maps: BTreeSet<u32> = chosen.iter().map(|&i| run.manifest.maps[i].id).collect();
    let mut pending = Vec::new();
    for index in 0..run.manifest.progs.len() {
        if run.stopped() {
            break;
        }
        let p = &run.manifest.progs[index];
        if !p.map_ids.iter().any(|m| maps.contains(m)) {
            continue;
        }
        let id = p.id;
        let res = sys::fd_by_id(ObjKind::Prog, id)
            .and_then(|fd| sys::prog_info(&fd).map(|(info, _)| (fd, info)));
        match res {
            Ok((fd, info)) => pending.extend(progcode::save(run, index, &fd, &info)?),
            Err(e) => run.error(format!("prog {id} code"), e),
        }
    }
    progcode::resolve(run, pending);
    Ok(())
}

fn list_links(run: &mut Run) {
    let ids = match sys::all_ids(ObjKind::Link) {
        Ok(ids) => ids,
        Err(e) => return run.error("links", e),
    };
    for id in ids {
        match sys::fd_by_id(ObjKind::Link, id).and_then(|fd| sys::link_info(&fd)) {
            Ok(info) => run.manifest.links.push(LinkRecord {
                id,
                link_type: link_type_name(info.link_type),
                prog_id: info.prog_id,
            }),
            Err(e) => run.error(format!("link {id}"), e),
        }
    }
}

fn list_pins(run: &mut Run) {
    let mut roots = vec![run.opts.bpffs.clone()];
    for p in &run.opts.pinned {
        if !p.starts_with(&run.opts.bpffs) {
            roots.push(p.clone());
        }
    }
    for root in roots {
        let (pins, errors) = walkers::walk_pins(&root);
        run.manifest.pins.extend(pins);
        for (what, e) in errors {
            run.error(format!("pin {what}"), e);
        }
    }
    if run.manifest.pins.len() >= walkers::MAX_PINS {
        run.limit(
            "pins",
            "pin listing",
            format!("stopped at {} pins", walkers::MAX_PINS),
        );
    }
}

fn list_processes(run: &mut Run) -> Vec<walkers::ProcessScan> {
    let (procs, errors) = walkers::scan_processes(&run.opts.pids);
    for (what, e) in errors {
        run.error(what, e);
    }
    run.manifest.processes = procs.iter().map(|p| p.record.clone()).collect();
    procs
}

/// Indexes into `manifest.maps` of the maps to dump.
fn choose_maps(run: &mut Run, procs: &[walkers::ProcessScan]) -> Vec<usize> {
    let o = run.opts;
    if o.maps.is_empty() && o.pids.is_empty() && o.pinned.is_empty() {
        return (0..run.manifest.maps.len()).collect();
    }
    let mut ids: BTreeSet<u32> = BTreeSet::new();
    for want in &o.maps {
        let matched: Vec<u32> = run
            .manifest
            .maps
            .iter()
            .filter(|m| want.parse::<u32>().ok() == Some(m.id) || m.name == *want)
            .map(|m| m.id)
            .collect();
        if matched.is_empty() {
            run.error(format!("--map {want}"), "no map with this id or name");
        }
        ids.extend(matched);
    }
    for dir in &o.pinned {
        let before = ids.len();
        ids.extend(
            run.manifest
                .pins
                .iter()
                .filter(|p| p.kind == "map" && Path::new(&p.path).starts_with(dir))
                .map(|p| p.id),
        );
        if ids.len() == before {
            run.error(
                format!("--pinned {}", dir.display()),
                "no pinned maps under this directory",
            );
        }
    }
    for p in procs {
        for fd in &p.record.fds {
            ids.extend(fd.map_id);
            if let Some(prog) = fd.prog_id {
                if let Some(pr) = run.manifest.progs.iter().find(|x| x.id == prog) {
                    ids.extend(pr.map_ids.iter().copied());
                }
            }
        }
    }
    run.manifest
        .maps
        .iter()
        .enumerate()
        .filter(|(_, m)| ids.contains(&m.id))
        .map(|(i, _)| i)
        .collect()
}

/// `/sys/kernel/btf/vmlinux` and the BTF objects of the listed maps (module
/// BTF from `/sys/kernel/btf/MODULE`, recorded as split over vmlinux).
fn write_btf(run: &mut Run) -> Result<(), CollectFailure> {
    const VMLINUX: &str = "btf/vmlinux.btf";
    // `--no-kernel-btf` asked for it, so not an error: the manifest simply
    // lists no vmlinux BTF (module BTF then has no base in the bundle).
    let vmlinux = if run.opts.no_kernel_btf {
        None
    } else {
        Some(std::fs::File::open("/sys/kernel/btf/vmlinux"))
    };
    match vmlinux {
        None => {}
        Some(Ok(mut f)) => {
            run.writer
                .add_reader(VMLINUX, &mut f, u64::MAX)
                .map_err(|e| run.write_err(e))?;
            run.manifest.btf.push(BtfRecord {
                id: 0,
                name: "vmlinux".into(),
                path: VMLINUX.into(),
                base: None,
            });
        }
        Some(Err(e)) => run.error("/sys/kernel/btf/vmlinux", e),
    }
    // Every listed map's BTF (not only the dumped ones'): analyze lays out
    // each map it is told about, and BTF objects are small and shared. And
    // each saved program's: its func/line info names and lines are there.
    let ids: BTreeSet<u32> = run
        .manifest
        .maps
        .iter()
        .map(|m| m.btf_id)
        .chain(
            run.manifest
                .progs
                .iter()
                .filter(|p| p.code.is_some())
                .map(|p| p.btf_id),
        )
        .filter(|&id| id != 0)
        .collect();
    for id in ids {
        let res = sys::fd_by_id(ObjKind::Btf, id).and_then(|fd| sys::btf_info(&fd));
        let (info, name, blob) = match res {
            Ok(r) => r,
            Err(e) => {
                run.error(format!("btf {id}"), e);
                continue;
            }
        };
        if info.kernel_btf != 0 && name == "vmlinux" {
            // Same bytes as the sysfs copy already in the bundle.
            continue;
        }
        let (path, base) = if info.kernel_btf != 0 {
            (
                format!("btf/modules/{}.btf", safe_name(&name)),
                Some(VMLINUX.to_string()),
            )
        } else {
            (format!("btf/{id}.btf"), None)
        };
        // Module BTF: the sysfs file is the documented source; the kernel's
        // copy by id (same bytes) is the fallback.
        let blob = if info.kernel_btf != 0 && !name.contains('/') {
            std::fs::read(format!("/sys/kernel/btf/{name}")).unwrap_or(blob)
        } else {
            blob
        };
        run.writer
            .add_bytes(&path, &blob)
            .map_err(|e| run.write_err(e))?;
        run.manifest.btf.push(BtfRecord {
            id,
            name,
            path,
            base,
        });
    }
    Ok(())
}

/// A map's `--redact` masks, from its BTF blob (read from the kernel by
/// [`btf_blobs`]); the same masks the trace used for the map's calls.
fn redaction(run: &Run, rec: &MapRecord, blobs: &BTreeMap<u32, Vec<u8>>) -> redact::MapMasks {
    if run.opts.redact == Redact::None {
        return redact::MapMasks::default();
    }
    let parsed = blobs.get(&rec.btf_id).and_then(|b| Btf::parse(b).ok());
    redact::MapMasks::new(
        run.opts.redact,
        parsed.as_ref(),
        redact::MapSides {
            btf_key_type_id: rec.btf_key_type_id,
            key_size: rec.key_size as usize,
            btf_value_type_id: rec.btf_value_type_id,
            value_size: rec.value_size as usize,
        },
    )
}

fn dump_path(dir: &str, rec: &MapRecord) -> String {
    format!("{dir}/{}-{}.json", rec.id, safe_name(&rec.name))
}

/// Dumps one map (by manifest index) to `path`; returns the entry count, or
/// `None` when the map was skipped or gone.
fn dump_one(
    run: &mut Run,
    i: usize,
    path: &str,
    blobs: &BTreeMap<u32, Vec<u8>>,
    main: bool,
) -> Result<Option<u64>, CollectFailure> {
    let rec = run.manifest.maps[i].clone();
    let label = format!("map {} ({})", rec.id, rec.name);
    let map_type = MapType(rec.map_type_num());
    if let Some(why) = dump::skip_reason(map_type) {
        if main {
            run.manifest.maps[i].dump_method = Some(format!("skipped: {why}"));
        }
        return Ok(None);
    }
    let fd = match sys::fd_by_id(ObjKind::Map, rec.id) {
        Ok(fd) => fd,
        Err(e) => {
            run.error(
                format!("{label} dump"),
                format!("map gone before it could be dumped: {e}"),
            );
            if main {
                run.manifest.maps[i].dump_method = Some(format!("skipped: map gone ({e})"));
            }
            return Ok(None);
        }
    };
    let masks = redaction(run, &rec, blobs);
    let (key_mask, value_mask) = (
        masks.key.as_ref().map(|m| m.mask.clone()),
        masks.value.as_ref().map(|m| m.mask.clone()),
    );
    let spec = DumpSpec {
        map_type,
        key_size: rec.key_size as usize,
        value_size: rec.value_size as usize,
        max_entries: rec.max_entries,
        possible_cpus: run.manifest.host.possible_cpus as usize,
        key_mask,
        value_mask,
        allow_batch: !run.opts.no_batch,
    };
    let limits = DumpLimits {
        max_entries: run.opts.max_entries,
        deadline: run.deadline,
        stop: run.stop,
        bytes_left: run
            .opts
            .max_bytes
            .map(|m| m.saturating_sub(run.writer.bytes)),
    };
    let bar = progress_bar(run.opts.progress, &label, rec.max_entries as u64);
    let stats = run
        .writer
        .add_stream(path, |out| {
            dump::dump_map(&fd, &spec, &limits, out, &mut |n| bar.set_position(n))
        })
        .map_err(|e| run.write_err(e))?;
    bar.finish_and_clear();
    if run.opts.redact != Redact::None {
        run.manifest.redacted_files.push(path.to_string());
    }
    if let Some(cut) = stats.cut {
        run.limit(
            cut.name(),
            label.clone(),
            format!("dump stopped after {} entries", stats.entries),
        );
    }
    if let Some(e) = &stats.error {
        run.error(format!("{label} dump"), e);
    }
    if main {
        let m = &mut run.manifest.maps[i];
        m.dump = Some(path.to_string());
        m.entries = Some(stats.entries);
        m.dump_method = Some(match &stats.batch_fallback {
            Some(why) => format!("{} (batch unsupported: {why})", stats.method.as_str()),
            None => stats.method.as_str().to_string(),
        });
        m.vanished_keys = stats.vanished_keys;
        m.walk_restarts = stats.walk_restarts;
        if run.opts.redact != Redact::None {
            m.redaction = Some(masks.how());
            m.redacted = Some(masks.redacted());
        }
    } else {
        let m = &mut run.manifest.maps[i];
        m.vanished_keys += stats.vanished_keys;
        m.walk_restarts += stats.walk_restarts;
    }
    Ok(Some(stats.entries))
}

fn progress_bar(show: bool, label: &str, len: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:30} [{bar:30}] {pos}/{len} entries {rate}")
    {
        // indicatif's own `{per_sec}` prints "1,528,499.5664/s".
        let style = style.with_key(
            "rate",
            |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&format_rate(s.per_sec()));
            },
        );
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bar
}

/// A rate per second with three significant digits and an SI suffix:
/// `812/s`, `45.2k/s`, `1.53M/s`.
pub(crate) fn format_rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec < 0.0 {
        return "-/s".to_string();
    }
    let (v, unit) = match per_sec {
        r if r >= 1e9 => (r / 1e9, "G"),
        r if r >= 1e6 => (r / 1e6, "M"),
        r if r >= 1e3 => (r / 1e3, "k"),
        r => (r, ""),
    };
    let digits = match v {
        v if v >= 100.0 || unit.is_empty() => 0,
        v if v >= 10.0 => 1,
        _ => 2,
    };
    format!("{v:.digits$}{unit}/s")
}

/// The raw BTF blobs of the chosen maps, for redaction masks.
fn btf_blobs(run: &Run, chosen: &[usize]) -> BTreeMap<u32, Vec<u8>> {
    let mut blobs = BTreeMap::new();
    if run.opts.redact == Redact::None {
        return blobs;
    }
    for &i in chosen {
        let id = run.manifest.maps[i].btf_id;
        if id == 0 || blobs.contains_key(&id) {
            continue;
        }
        if let Ok((_, _, blob)) = sys::fd_by_id(ObjKind::Btf, id).and_then(|fd| sys::btf_info(&fd))
        {
            blobs.insert(id, blob);
        }
    }
    blobs
}

fn dump_maps(run: &mut Run, chosen: &[usize]) -> Result<(), CollectFailure> {
    let blobs = btf_blobs(run, chosen);
    for (n, &i) in chosen.iter().enumerate() {
        if run.stopped() || Instant::now() >= run.deadline {
            let rest: Vec<String> = chosen[n..]
                .iter()
                .map(|&j| run.manifest.maps[j].id.to_string())
                .collect();
            let limit = if run.stopped() {
                "interrupted"
            } else {
                "time-budget"
            };
            run.limit(limit, format!("maps {}", rest.join(",")), "not dumped");
            break;
        }
        let path = dump_path("maps", &run.manifest.maps[i]);
        let (s, ns) = host::now_unix();
        run.dump_started.insert(i, host::rfc3339(s, ns));
        dump_one(run, i, &path, &blobs, true)?;
    }
    Ok(())
}

fn take_snapshots(run: &mut Run, chosen: &[usize]) -> Result<(), CollectFailure> {
    if run.opts.snapshots <= 1 {
        return Ok(());
    }
    for &i in chosen {
        let m = &run.manifest.maps[i];
        if let (Some(dump), Some(entries)) = (&m.dump, m.entries) {
            run.manifest.snapshots.push(SnapshotRecord {
                seq: 0,
                time: run
                    .dump_started
                    .get(&i)
                    .cloned()
                    .unwrap_or_else(|| run.manifest.created.clone()),
                map_id: m.id,
                dump: dump.clone(),
                entries,
            });
        }
    }
    let blobs = btf_blobs(run, chosen);
    for seq in 1..run.opts.snapshots {
        let wake = Instant::now() + run.opts.interval;
        while Instant::now() < wake && !run.stopped() {
            std::thread::sleep(Duration::from_millis(20).min(wake - Instant::now()));
        }
        if run.stopped() || Instant::now() >= run.deadline {
            let limit = if run.stopped() {
                "interrupted"
            } else {
                "time-budget"
            };
            run.limit(
                limit,
                "snapshots",
                format!("stopped before snapshot {seq} of {}", run.opts.snapshots),
            );
            return Ok(());
        }
        for &i in chosen {
            let (s, ns) = host::now_unix();
            let path = dump_path(&format!("snapshots/{seq}"), &run.manifest.maps[i]);
            if let Some(entries) = dump_one(run, i, &path, &blobs, false)? {
                run.manifest.snapshots.push(SnapshotRecord {
                    seq,
                    time: host::rfc3339(s, ns),
                    map_id: run.manifest.maps[i].id,
                    dump: path,
                    entries,
                });
            }
        }
    }
    Ok(())
}

fn write_processes(run: &mut Run, procs: Vec<walkers::ProcessScan>) -> Result<(), CollectFailure> {
    for (n, p) in procs.into_iter().enumerate() {
        let pid = p.record.pid;
        for (fd, text) in &p.fdinfos {
            let path = format!("procs/{pid}/fdinfo/{fd}");
            run.writer
                .add_bytes(&path, text.as_bytes())
                .map_err(|e| run.write_err(e))?;
            if let Some(r) = run.manifest.processes[n]
                .fds
                .iter_mut()
                .find(|r| r.fd == *fd)
            {
                r.fdinfo = Some(path);
            }
        }
        if run.opts.binaries && !run.stopped() {
            let exe = format!("/proc/{pid}/exe");
            match std::fs::File::open(&exe) {
                Ok(mut f) => {
                    let path = format!("procs/{pid}/exe");
                    let cap = run.opts.max_binary_bytes.min(run.bytes_left());
                    let (copied, more) = run
                        .writer
                        .add_reader(&path, &mut f, cap)
                        .map_err(|e| run.write_err(e))?;
                    if more {
                        let what = format!("binary {}", p.record.exe);
                        let (limit, flag) = if cap < run.opts.max_binary_bytes {
                            ("max-bytes", "--max-bytes")
                        } else {
                            ("binary-size", "--max-binary-bytes")
                        };
                        run.limit(limit, what, format!("cut at {copied} bytes ({flag})"));
                    }
                    run.manifest.processes[n].binary = Some(path);
                }
                Err(e) => run.error(format!("pid {pid} exe"), e),
            }
        }
    }
    Ok(())
}

fn write_elfs(run: &mut Run) -> Result<(), CollectFailure> {
    for (n, p) in run.opts.elfs.iter().enumerate() {
        let base = p
            .file_name()
            .map(|s| safe_name(&s.to_string_lossy()))
            .unwrap_or_default();
        let path = format!("elf/{n}-{base}");
        match std::fs::File::open(p) {
            Ok(mut f) => {
                let cap = inputs_limit().min(run.bytes_left());
                let (copied, more) = run
                    .writer
                    .add_reader(&path, &mut f, cap)
                    .map_err(|e| run.write_err(e))?;
                if more {
                    let limit = if cap < inputs_limit() {
                        "max-bytes"
                    } else {
                        "binary-size"
                    };
                    run.limit(
                        limit,
                        format!("elf {}", p.display()),
                        format!("cut at {copied} bytes"),
                    );
                }
                run.manifest.elfs.push(ElfRecord {
                    original: p.display().to_string(),
                    path,
                });
            }
            Err(e) => run.error(format!("--elf {}", p.display()), e),
        }
    }
    Ok(())
}

fn inputs_limit() -> u64 {
    crate::engine::inputs::MAX_INPUT
}

/// `bpftool -j map show` and `prog show`, when a trusted bpftool is on
/// PATH: each run is killed when the time budget runs out, and never given
/// more than [`BPFTOOL_TIMEOUT`].
fn bpftool_opinion(run: &mut Run) -> Result<(), CollectFailure> {
    let Some(bpftool) = trusted_on_path("bpftool") else {
        return Ok(());
    };
    for (what, file) in [
        ("map", "bpftool/map-show.json"),
        ("prog", "bpftool/prog-show.json"),
    ] {
        if run.stopped() {
            return Ok(());
        }
        let until = run.deadline.min(Instant::now() + BPFTOOL_TIMEOUT);
        match run_until(&bpftool, &["-j", what, "show"], until) {
            Ok(out) if out.status.success() => {
                run.writer
                    .add_bytes(file, &out.stdout)
                    .map_err(|e| run.write_err(e))?;
            }
            Ok(out) => run.error(
                format!("bpftool {what} show"),
                format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ),
            Err(e) => run.error(format!("bpftool {what} show"), e),
        }
    }
    Ok(())
}

/// The longest one `bpftool … show` may take, whatever the budget left.
const BPFTOOL_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `program` with `args`, killing it at `until` (its output so far is
/// dropped and the run is an error naming the timeout).
fn run_until(
    program: &Path,
    args: &[&str],
    until: Instant,
) -> std::io::Result<std::process::Output> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Readers on their own threads, so a full pipe cannot stall the wait.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut v);
        v
    });
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "{} did not finish within the time budget: killed",
                    program.display()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// `name` in the first PATH directory that has it, if that file can be
/// trusted to run as root: an absolute directory (an empty or relative
/// PATH entry means wherever collect was started), and the file and its
/// directory owned by root and writable by no one else. An untrusted first
/// match is not skipped for a later one: PATH order is what the user meant.
fn trusted_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .filter(|p| root_owned_not_shared(p) && p.parent().is_some_and(root_owned_not_shared))
}

/// Owned by root and not writable by group or others (symbolic links
/// followed: `/usr/sbin/bpftool` is a link to a versioned binary on Debian).
fn root_owned_not_shared(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0)
}

impl MapRecord {
    /// The kernel's map type number, from bpftool's name in the record.
    fn map_type_num(&self) -> u32 {
        MapType::from_name(&self.map_type).map_or(u32::MAX, |t| t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_have_three_significant_digits() {
        assert_eq!(format_rate(1_528_499.566_4), "1.53M/s");
        assert_eq!(format_rate(45_213.0), "45.2k/s");
        assert_eq!(format_rate(812.4), "812/s");
        assert_eq!(format_rate(0.0), "0/s");
        assert_eq!(format_rate(250_000.0), "250k/s");
        assert_eq!(format_rate(f64::NAN), "-/s");
    }

    #[test]
    fn a_hanging_program_is_killed_at_the_deadline() {
        let t = Instant::now();
        let e = run_until(
            Path::new("/bin/sleep"),
            &["30"],
            Instant::now() + Duration::from_millis(300),
        )
        .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(5));
        let out = run_until(
            Path::new("/bin/echo"),
            &["hi"],
            Instant::now() + BPFTOOL_TIMEOUT,
        )
        .unwrap();
        assert_eq!(out.stdout, b"hi\n");
    }

    #[test]
    fn only_root_owned_binaries_in_absolute_path_entries_are_trusted() {
        // Runs in the test's environment: PATH may hold anything, so build
        // one. A relative entry (the current directory) is never searched.
        let dir = std::env::temp_dir().join(format!("bpfcase-path-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("bpftool-fake-test");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            !root_owned_not_shared(&fake),
            "world-writable is not trusted"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(root_owned_not_shared(Path::new("/bin/sh")));
    }
}
