//! `collect --trace-pid`: records the bpf() map element calls of chosen
//! processes for a while, before the rest of the collection runs.
//!
//! This is the one thing collect loads into the kernel: a small tracing
//! program (`bpf_calls.bpf.c`, compiled into the checked-in
//! `bpf_calls.bpf.o` and embedded here) attached to the raw tracepoints
//! `sys_enter`/`sys_exit` (no tracefs needed), or where those cannot be
//! used to the tracefs tracepoints `syscalls/sys_enter_bpf`/`sys_exit_bpf`
//! ([`loader::Attach`]). It only reads the callers' memory and its own
//! maps, and everything it creates is held by fds of this process and
//! closed (detached and freed) when the trace ends; nothing is pinned or
//! mounted. [`loader`] loads it without libbpf, [`ring`] reads its ring buffer,
//! [`event`] parses the records; this module turns them into
//! [`crate::bundle::TraceEvent`] lines (written by [`write_line`]). With `--redact` the key and value
//! bytes of each line go through the map's masks ([`super::redact`]) before
//! they are written: the clear bytes never reach the bundle.
//!
//! Rebuilding the object: `just trace-bpf` (see `README.md` here).

pub mod event;
pub mod loader;
pub mod ring;

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::bundle::TraceRedaction;
use crate::collect::host;
use crate::collect::redact::{self, MapMasks, MapSides};
use crate::collect::sys::{self, ObjKind};
use crate::collect::Redact;
use crate::ingest::btf::Btf;
use crate::limits;
use crate::model::map::{percpu_stride, MapType};
use loader::{Attach, Loaded, SyscallRegs};
use ring::{RingBuffer, RingError};

/// 8-byte alignment for the embedded ELF: `include_bytes!` gives no
/// alignment, and the ELF reader needs its headers aligned.
#[repr(C, align(8))]
struct Aligned<B: ?Sized> {
    bytes: B,
}

static ALIGNED_OBJECT: &Aligned<[u8]> = &Aligned {
    bytes: *include_bytes!("bpf_calls.bpf.o"),
};

/// The compiled trace program (`just trace-bpf` rebuilds it).
pub static BPF_OBJECT: &[u8] = &ALIGNED_OBJECT.bytes;
/// Bundle path of the trace.
pub const TRACE_PATH: &str = "trace/bpf-calls.jsonl";
/// Most processes one trace can follow (the program's `targets` map).
pub const MAX_TARGETS: usize = 64;
/// Records read per drain of the ring, and drains per wakeup: the reading
/// loop is bounded even if the traced processes never pause.
const DRAIN_RECORDS: usize = 4096;
const DRAINS_PER_WAKEUP: usize = 64;
/// Longest wait for the ring's wakeup, so stop and deadline are seen soon.
const WAIT_MS: u128 = 50;

/// Why a trace could not be set up (collect then fails: a trace was asked for).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The syscall tracepoints are not there (no tracefs, or a kernel
    /// without `CONFIG_FTRACE_SYSCALLS`).
    #[error("cannot read tracepoint {path}: {source} (is tracefs mounted, e.g. `mount -t tracefs tracefs /sys/kernel/tracing`, and the kernel built with CONFIG_FTRACE_SYSCALLS?)")]
    NoTracepoint { path: PathBuf, source: io::Error },
    /// The tracepoint's record layout is not the one the program reads.
    #[error("tracepoint {tracepoint}: field `{field}` has {found}, the trace program expects {expected}")]
    FormatMismatch {
        tracepoint: String,
        field: String,
        expected: String,
        found: String,
    },
    /// The embedded object is not what the loader can load (a build problem).
    #[error("the embedded trace program: {0}")]
    Object(String),
    #[error("creating the trace program's map `{name}`: {source}{}", privilege_hint(.source))]
    MapCreate { name: String, source: io::Error },
    #[error("loading trace program `{name}`: {source}{}{}", privilege_hint(.source), verifier_log(.log))]
    ProgLoad {
        name: String,
        source: io::Error,
        log: String,
    },
    #[error("attaching `{prog}` to tracepoint {tracepoint}: {what}: {source}{}", privilege_hint(.source))]
    Attach {
        prog: String,
        tracepoint: String,
        what: &'static str,
        source: io::Error,
    },
    #[error("process {pid} does not exist")]
    NoProcess { pid: u32 },
    #[error("{count} --trace-pid processes; at most {MAX_TARGETS} can be traced at once")]
    TooManyPids { count: usize },
    #[error("setting up the trace: {what}: {source}")]
    Setup {
        what: &'static str,
        source: io::Error,
    },
    /// Raw tracepoints need the `pt_regs` layout of the architecture.
    #[error(
        "raw tracepoints: this architecture's `struct pt_regs` layout is not known to bpfcase"
    )]
    UnknownArch,
    /// Neither attach worked: both reasons, the default's first.
    #[error("{raw}; the fallback, tracefs tracepoints, failed too: {tracefs}")]
    NoAttach {
        raw: Box<TraceError>,
        tracefs: Box<TraceError>,
    },
}

fn privilege_hint(e: &io::Error) -> &'static str {
    if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)) {
        " (tracing needs root: CAP_BPF with CAP_PERFMON, or CAP_SYS_ADMIN)"
    } else {
        ""
    }
}

fn verifier_log(log: &str) -> String {
    if log.is_empty() {
        return String::new();
    }
    // The end of the log says why; keep it readable.
    let lines: Vec<&str> = log.lines().collect();
    let tail = &lines[lines.len().saturating_sub(40)..];
    format!(
        "\nverifier log (last {} lines):\n{}",
        tail.len(),
        tail.join("\n")
    )
}

/// The map id in a `/proc/PID/fdinfo/FD` text (`map_id:\t130`).
pub fn fdinfo_map_id(text: &str) -> Option<u32> {
    host::fdinfo_field(text, "map_id")?.parse().ok()
}

/// How many key and value bytes a call on a map really passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapShape {
    pub key_len: usize,
    /// value_size, or for per-CPU maps one 8-byte-aligned value per
    /// possible CPU, as updates pass them.
    pub value_len: usize,
}

/// How `--redact` masks the bytes of one map's trace lines: an AND mask
/// per side (`None` keeps the side; bytes past a mask's end are zeroed).
/// The value mask of a per-CPU map covers the whole per-CPU buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMasks {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

impl LineMasks {
    /// The line masks of a map's masks; `percpu`: (stride, possible CPUs)
    /// of a per-CPU map, whose updates pass one value per CPU.
    pub fn of(masks: &MapMasks, percpu: Option<(usize, usize)>) -> LineMasks {
        LineMasks {
            key: masks.key.as_ref().map(|m| m.mask.clone()),
            value: masks.value.as_ref().map(|m| match percpu {
                Some((stride, cpus)) => redact::percpu_mask(&m.mask, stride, cpus),
                None => m.mask.clone(),
            }),
        }
    }
}

/// One trace line as it is written, borrowed from its record and the
/// writer's buffers: the fields, names and order of [`TraceEvent`](crate::bundle::TraceEvent) (the
/// tests read lines back as `TraceEvent` and compare bytes). Nothing is
/// allocated per call, so the reader keeps up with a process that does
/// nothing but bpf() calls: what it cannot read in time the ring drops.
#[derive(serde::Serialize)]
struct TraceLine<'a> {
    seq: u64,
    time_ns: u64,
    pid: u32,
    tid: u32,
    comm: &'a str,
    cmd: &'a str,
    map_fd: i32,
    map_id: Option<u32>,
    flags: u64,
    key: Option<&'a str>,
    value: Option<&'a str>,
    ret: i64,
}

/// The line writer's buffers, reused from call to call; `bytes` holds the
/// last line written by [`write_line`].
#[derive(Debug, Default)]
pub struct LineBuf {
    key: String,
    value: String,
    cmd: String,
    pub bytes: Vec<u8>,
}

/// Writes one trace line (JSON and a newline) for a record into
/// `buf.bytes`: the map (if resolved) cuts the captured bytes to its key
/// and value sizes; with fewer bytes captured than that, what was captured
/// is kept. `masks` then zero what `--redact` leaves out (lengths are kept).
pub fn write_line(
    raw: &event::RawCall<'_>,
    seq: u64,
    map_id: Option<u32>,
    shape: Option<MapShape>,
    masks: &LineMasks,
    buf: &mut LineBuf,
) -> serde_json::Result<()> {
    let is_update = raw.cmd == 2;
    let key = raw.key.map(|k| {
        push_hex(
            &mut buf.key,
            k,
            shape.map(|s| s.key_len),
            masks.key.as_deref(),
        );
        buf.key.as_str()
    });
    let value = raw.value.filter(|_| is_update).map(|v| {
        let len = shape.map(|s| s.value_len);
        push_hex(&mut buf.value, v, len, masks.value.as_deref());
        buf.value.as_str()
    });
    let cmd = match event::cmd_name(raw.cmd) {
        Some(name) => name,
        None => {
            use std::fmt::Write as _;
            buf.cmd.clear();
            let _ = write!(buf.cmd, "unknown({})", raw.cmd);
            buf.cmd.as_str()
        }
    };
    let line = TraceLine {
        seq,
        time_ns: raw.time_ns,
        pid: raw.pid,
        tid: raw.tid,
        comm: &raw.comm,
        cmd,
        map_fd: raw.map_fd,
        map_id,
        flags: raw.flags,
        key,
        value,
        ret: raw.ret,
    };
    buf.bytes.clear();
    serde_json::to_writer(&mut buf.bytes, &line)?;
    buf.bytes.push(b'\n');
    Ok(())
}

/// `bytes` cut to `len` (when known) as lowercase hex into `out`, each
/// byte ANDed with `mask` when there is one (bytes past its end zeroed,
/// as [`redact::apply`] does).
fn push_hex(out: &mut String, bytes: &[u8], len: Option<usize>, mask: Option<&[u8]>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.clear();
    let bytes = &bytes[..len.map_or(bytes.len(), |l| l.min(bytes.len()))];
    for (i, &b) in bytes.iter().enumerate() {
        let b = mask.map_or(b, |m| b & m.get(i).copied().unwrap_or(0));
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
}

/// Resolves a caller's map fd to the map, when the record is read.
///
/// Cached for the whole run per (pid, fd): re-reading fdinfo per call
/// would cost a file read per event, and BPF fds of a process rarely move.
/// If a process closes a map fd and reuses the number for another map
/// during the trace, later calls are attributed to the first map; a fd
/// already closed when its first record is read has no `map_id`.
struct MapResolver {
    fds: HashMap<(u32, i32), Option<u32>>,
    shapes: HashMap<u32, Option<MapFacts>>,
    possible_cpus: usize,
    redact: Redact,
    /// The facts of calls whose map is not known: no sizes, and with
    /// `--redact` every byte zeroed.
    unknown: MapFacts,
}

/// What a trace line needs of its map: the sizes, and with `--redact` the
/// masks and how they were made.
struct MapFacts {
    shape: Option<MapShape>,
    masks: LineMasks,
    redaction: TraceRedaction,
}

impl MapResolver {
    fn map_id(&mut self, pid: u32, fd: i32) -> Option<u32> {
        *self.fds.entry((pid, fd)).or_insert_with(|| {
            if fd < 0 {
                return None;
            }
            std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
                .ok()
                .and_then(|t| fdinfo_map_id(&t))
        })
    }

    /// What a line on map `id` needs (the unknown map's facts when the map
    /// is not known or its info cannot be read).
    fn facts(&mut self, id: Option<u32>) -> &MapFacts {
        let cpus = self.possible_cpus;
        let redact = self.redact;
        let Some(id) = id else {
            return &self.unknown;
        };
        let known = self
            .shapes
            .entry(id)
            .or_insert_with(|| {
                let info = sys::fd_by_id(ObjKind::Map, id)
                    .and_then(|fd| sys::map_info(&fd))
                    .ok()?;
                let stride = percpu_stride(u64::from(info.value_size)) as usize;
                let percpu = MapType(info.map_type).is_percpu().then_some((stride, cpus));
                let value_len = percpu.map_or(info.value_size as usize, |(s, n)| s * n);
                let masks = map_masks(redact, &info);
                Some(MapFacts {
                    shape: Some(MapShape {
                        key_len: info.key_size as usize,
                        value_len,
                    }),
                    masks: LineMasks::of(&masks, percpu),
                    redaction: trace_redaction(Some(id), &masks),
                })
            })
            .as_ref();
        known.unwrap_or(&self.unknown)
    }
}

/// `--redact`'s masks for map `info`, from its BTF (read from the kernel
/// once per map; a BTF that cannot be read or parsed zeroes every byte).
fn map_masks(redact: Redact, info: &sys::MapInfo) -> MapMasks {
    if redact == Redact::None {
        return MapMasks::default();
    }
    let blob = (info.btf_id != 0)
        .then(|| sys::fd_by_id(ObjKind::Btf, info.btf_id).and_then(|fd| sys::btf_info(&fd)))
        .and_then(Result::ok)
        .map(|(_, _, blob)| blob);
    let btf = blob.as_deref().and_then(|b| Btf::parse(b).ok());
    MapMasks::new(
        redact,
        btf.as_ref(),
        MapSides {
            btf_key_type_id: info.btf_key_type_id,
            key_size: info.key_size as usize,
            btf_value_type_id: info.btf_value_type_id,
            value_size: info.value_size as usize,
        },
    )
}

/// The manifest's record of how the calls on `map_id` were masked.
fn trace_redaction(map_id: Option<u32>, masks: &MapMasks) -> TraceRedaction {
    let r = masks.redacted();
    TraceRedaction {
        map_id,
        key: r.key,
        value: r.value,
        how: masks.how(),
    }
}

/// What a finished trace saw.
#[derive(Debug, Clone, Default)]
pub struct TraceOutcome {
    /// Lines written.
    pub events: u64,
    /// Calls the kernel side could not hand over.
    pub lost: u64,
    /// UTC start, RFC 3339.
    pub started: String,
    pub duration: Duration,
    /// Ended early by SIGINT/SIGTERM.
    pub interrupted: bool,
    /// Calls read but not written because the byte limit was reached.
    pub cut_by_bytes: u64,
    /// The ring buffer turned out corrupt and reading stopped.
    pub ring_error: Option<String>,
    /// Ids of the trace's own maps and programs: the kernel frees them
    /// shortly after their fds are closed, and until then they show up in
    /// id listings, where they are not the node's.
    pub own_map_ids: Vec<u32>,
    pub own_prog_ids: Vec<u32>,
    /// With `--redact`: how the lines of each map were masked, by map id.
    pub redaction: Vec<TraceRedaction>,
}

/// Receives records: parses, resolves, writes lines under a byte limit.
struct Sink {
    /// Full chunks of lines go to the thread writing the bundle member;
    /// `None` once the last one is sent.
    chunks: Option<mpsc::SyncSender<Vec<u8>>>,
    /// Chunks the writer is done with, to fill again.
    spare: mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    resolver: MapResolver,
    seq: u64,
    written: u64,
    byte_limit: u64,
    cut: u64,
    error: Option<io::Error>,
    /// With `--redact`: the masks used, by map (`None`: map not known).
    redacted: std::collections::BTreeMap<Option<u32>, TraceRedaction>,
    line: LineBuf,
}

/// The writer's end of a [`Sink`]'s queue of lines.
struct LineQueue {
    queued: mpsc::Receiver<Vec<u8>>,
    done: mpsc::Sender<Vec<u8>>,
}

impl LineQueue {
    /// Writes the queued lines to `out` until the sink closes the queue.
    /// On a write error the queue is dropped, so the sink's next send
    /// fails and its reading stops; the error is returned.
    fn write_to(self, out: &mut dyn Write) -> Option<io::Error> {
        while let Ok(chunk) = self.queued.recv() {
            if let Err(e) = out.write_all(&chunk) {
                return Some(e);
            }
            let _ = self.done.send(chunk);
        }
        None
    }
}

impl Sink {
    /// A sink writing at most `byte_limit` bytes of lines, and the queue
    /// its lines go out through.
    fn new(byte_limit: u64, possible_cpus: u32, redact: Redact) -> (Sink, LineQueue) {
        let unknown = MapMasks::unknown_map(redact);
        let (chunks, queued) = mpsc::sync_channel(limits::TRACE_QUEUE_BYTES / TRACE_CHUNK_BYTES);
        let (done, spare) = mpsc::channel();
        let sink = Sink {
            chunks: Some(chunks),
            spare,
            chunk: Vec::with_capacity(TRACE_CHUNK_BYTES + 1024),
            resolver: MapResolver {
                fds: HashMap::new(),
                shapes: HashMap::new(),
                possible_cpus: possible_cpus.max(1) as usize,
                redact,
                unknown: MapFacts {
                    shape: None,
                    masks: LineMasks::of(&unknown, None),
                    redaction: trace_redaction(None, &unknown),
                },
            },
            seq: 0,
            written: 0,
            byte_limit,
            cut: 0,
            error: None,
            redacted: std::collections::BTreeMap::new(),
            line: LineBuf::default(),
        };
        (sink, LineQueue { queued, done })
    }

    fn take(&mut self, rec: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if self.cut > 0 {
            self.cut += 1;
            return;
        }
        // Records are written by our own program: a short one would be a
        // build mismatch, and is skipped rather than trusted.
        let Some(raw) = event::parse(rec) else {
            return;
        };
        let map_id = self.resolver.map_id(raw.pid, raw.map_fd);
        let redacting = self.resolver.redact != Redact::None;
        let facts = self.resolver.facts(map_id);
        if let Err(e) = write_line(
            &raw,
            self.seq,
            map_id,
            facts.shape,
            &facts.masks,
            &mut self.line,
        ) {
            self.error = Some(io::Error::other(e));
            return;
        }
        if redacting && !self.redacted.contains_key(&facts.redaction.map_id) {
            self.redacted
                .insert(facts.redaction.map_id, facts.redaction.clone());
        }
        let line = &self.line.bytes;
        if self.written + line.len() as u64 > self.byte_limit {
            self.cut = 1;
            return;
        }
        self.chunk.extend_from_slice(line);
        self.written += line.len() as u64;
        self.seq += 1;
        if self.chunk.len() >= TRACE_CHUNK_BYTES {
            self.send_chunk();
        }
    }

    /// Hands the lines gathered so far to the writer; waits while
    /// [`limits::TRACE_QUEUE_BYTES`] of them are queued (the ring buffer
    /// then fills and the kernel side counts the calls it drops as lost).
    fn send_chunk(&mut self) {
        if self.chunk.is_empty() {
            return;
        }
        let next = match self.spare.try_recv() {
            Ok(mut done) => {
                done.clear();
                done
            }
            Err(_) => Vec::with_capacity(TRACE_CHUNK_BYTES + 1024),
        };
        let full = std::mem::replace(&mut self.chunk, next);
        let sent = self.chunks.as_ref().is_some_and(|tx| tx.send(full).is_ok());
        if !sent && self.error.is_none() {
            // The writer stopped on an error of its own, which `run` returns.
            self.error = Some(io::Error::other("the trace's writer stopped"));
        }
    }

    /// Sends what is left and tells the writer there is no more.
    fn close(&mut self) {
        self.send_chunk();
        self.chunks = None;
    }
}

/// Bytes of lines the reader gathers before handing them to the writer.
const TRACE_CHUNK_BYTES: usize = 256 << 10;

/// A loaded and attached trace. Dropping it detaches and frees everything.
pub struct Tracer {
    // Field order is drop order: unmap the ring before the maps' fds go.
    ring: RingBuffer,
    loaded: Loaded,
    started: String,
    start: Instant,
}

impl Tracer {
    /// Loads the program, tells it the processes to follow, and attaches it
    /// as `attach` says, or with `None` by raw tracepoint and, if that
    /// fails, by tracefs tracepoint. Fails (never silently skips) when the
    /// kernel or privileges allow neither.
    pub fn start(pids: &[u32], attach: Option<Attach>) -> Result<Tracer, TraceError> {
        let mut pids = pids.to_vec();
        pids.sort_unstable();
        pids.dedup();
        if pids.len() > MAX_TARGETS {
            return Err(TraceError::TooManyPids { count: pids.len() });
        }
        for &pid in &pids {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                return Err(TraceError::NoProcess { pid });
            }
        }
        let (loaded, ring) = match attach {
            Some(a) => Self::attach(a, &pids)?,
            None => match Self::attach(Attach::RawTracepoint, &pids) {
                Ok(ok) => ok,
                Err(raw) => Self::attach(Attach::Tracefs, &pids).map_err(|tracefs| {
                    TraceError::NoAttach {
                        raw: Box::new(raw),
                        tracefs: Box::new(tracefs),
                    }
                })?,
            },
        };
        let (s, ns) = host::now_unix();
        Ok(Tracer {
            ring,
            loaded,
            started: host::rfc3339(s, ns),
            start: Instant::now(),
        })
    }

    /// How the programs are attached.
    pub fn attach_kind(&self) -> Attach {
        self.loaded.attach
    }

    /// Loads the programs of `attach`, fills their maps and attaches them.
    /// On error everything created so far is freed (the fds drop).
    fn attach(attach: Attach, pids: &[u32]) -> Result<(Loaded, RingBuffer), TraceError> {
        let regs = match attach {
            Attach::RawTracepoint => {
                Some(SyscallRegs::for_this_kernel().ok_or(TraceError::UnknownArch)?)
            }
            Attach::Tracefs => None,
        };
        let mut loaded = loader::load(BPF_OBJECT, attach)?;
        let missing = |name| TraceError::Object(format!("no `{name}` map"));
        if let Some(regs) = regs {
            let config = loaded.map("config").ok_or_else(|| missing("config"))?;
            sys::update_elem(&config.fd, &0u32.to_ne_bytes(), &regs.config_bytes()).map_err(
                |source| TraceError::Setup {
                    what: "writing the syscall layout to the config map",
                    source,
                },
            )?;
        }
        let targets = loaded.map("targets").ok_or_else(|| missing("targets"))?;
        for &pid in pids {
            sys::update_elem(&targets.fd, &pid.to_ne_bytes(), &[1u8]).map_err(|source| {
                TraceError::Setup {
                    what: "adding a pid to the targets map",
                    source,
                }
            })?;
        }
        let events = loaded.map("events").ok_or_else(|| missing("events"))?;
        let ring =
            RingBuffer::new(&events.fd, u64::from(events.max_entries)).map_err(|source| {
                TraceError::Setup {
                    what: "mapping the ring buffer",
                    source,
                }
            })?;
        loaded.attach()?;
        Ok((loaded, ring))
    }

    /// Drains the ring until it is empty or the per-wakeup bound is reached.
    fn drain(&self, sink: &mut Sink) -> Result<(), RingError> {
        for _ in 0..DRAINS_PER_WAKEUP {
            let d = self.ring.drain(DRAIN_RECORDS, &mut |r| sink.take(r))?;
            if !d.more || d.records == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Traces until `duration` has passed since [`Tracer::start`] or `stop`
    /// is set, writing one JSON line per call to `out` (at most
    /// `byte_limit` bytes, key and value bytes masked as `redact` says),
    /// then detaches, reads what is left in the ring and the lost-call
    /// counter, and frees everything.
    ///
    /// The ring is read on a thread of its own and `out` written on this
    /// one, through a bounded queue of lines: a write held up by the disk
    /// (dirty-page throttling after a large dump stalls writes for tens of
    /// milliseconds) does not stop the reading, so the 4 MiB ring (~12k
    /// lookups) does not overflow while it waits.
    pub fn run(
        mut self,
        duration: Duration,
        stop: &AtomicBool,
        out: &mut dyn Write,
        byte_limit: u64,
        possible_cpus: u32,
        redact: Redact,
    ) -> io::Result<TraceOutcome> {
        let (mut sink, queue) = Sink::new(byte_limit, possible_cpus, redact);
        let mut write_error = None;
        let read = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let outcome = self.read(duration, stop, &mut sink);
                sink.close();
                outcome
            });
            write_error = queue.write_to(out);
            reader.join()
        });
        let mut outcome = read.map_err(|_| io::Error::other("the trace's ring reader panicked"))?;
        if let Some(e) = write_error.or(sink.error.take()) {
            return Err(e);
        }
        outcome.lost = self.lost();
        outcome.events = sink.seq;
        outcome.cut_by_bytes = sink.cut;
        outcome.redaction = std::mem::take(&mut sink.redacted).into_values().collect();
        outcome.own_map_ids = (self.loaded.maps.iter())
            .filter_map(|m| sys::map_info(&m.fd).ok().map(|i| i.id))
            .collect();
        outcome.own_prog_ids = (self.loaded.progs.iter())
            .filter_map(|p| sys::prog_info(&p.fd).ok().map(|(i, _)| i.id))
            .collect();
        drop(self);
        wait_until_freed(&outcome.own_map_ids, &outcome.own_prog_ids);
        Ok(outcome)
    }

    /// The reading half of [`Tracer::run`]: drains the ring into `sink`
    /// until the end, the stop flag, the byte limit or an error, then
    /// detaches and reads what the ring still holds.
    fn read(&mut self, duration: Duration, stop: &AtomicBool, sink: &mut Sink) -> TraceOutcome {
        let end = self.start + duration;
        let mut outcome = TraceOutcome {
            started: self.started.clone(),
            ..Default::default()
        };
        loop {
            if stop.load(Ordering::Relaxed) {
                outcome.interrupted = true;
                break;
            }
            let now = Instant::now();
            if now >= end || sink.cut > 0 || sink.error.is_some() {
                break;
            }
            let ms = (end - now).as_millis().clamp(1, WAIT_MS) as i32;
            self.ring.wait(ms);
            if let Err(e) = self.drain(sink) {
                outcome.ring_error = Some(e.to_string());
                break;
            }
        }
        outcome.duration = self.start.elapsed();
        self.loaded.detach();
        // Calls that returned before the detach are in the ring: read them.
        if outcome.ring_error.is_none() {
            if let Err(e) = self.drain(sink) {
                outcome.ring_error = Some(e.to_string());
            }
        }
        outcome
    }

    fn lost(&self) -> u64 {
        let Some(m) = self.loaded.map("lost") else {
            return 0;
        };
        let mut v = [0u8; 8];
        match sys::lookup_elem(&m.fd, &0u32.to_ne_bytes(), &mut v) {
            Ok(true) => u64::from_ne_bytes(v),
            _ => 0,
        }
    }
}

/// Waits a little (at most 1 s) for the kernel to free the trace's maps and
/// programs after their fds were closed (it does so after an RCU grace
/// period), so the collection that follows rarely sees them.
fn wait_until_freed(maps: &[u32], progs: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        let alive = maps
            .iter()
            .any(|&id| sys::fd_by_id(ObjKind::Map, id).is_ok())
            || progs
                .iter()
                .any(|&id| sys::fd_by_id(ObjKind::Prog, id).is_ok());
        if !alive {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::TraceEvent;

    /// A record's line read back as the bundle's `TraceEvent`; the bytes
    /// must be exactly `TraceEvent`'s own JSON and one newline, and a
    /// reused buffer must give what a fresh one gives.
    fn to_event(
        raw: &event::RawCall<'_>,
        seq: u64,
        map_id: Option<u32>,
        shape: Option<MapShape>,
        masks: &LineMasks,
    ) -> TraceEvent {
        let mut fresh = LineBuf::default();
        write_line(raw, seq, map_id, shape, masks, &mut fresh).unwrap();
        let mut used = LineBuf::default();
        let long = event::sample_record(2, Some(&[0xff; 200]), Some(&[0xee; 200]), 0);
        let long = event::parse(&long).unwrap();
        write_line(&long, u64::MAX, Some(u32::MAX), None, masks, &mut used).unwrap();
        write_line(raw, seq, map_id, shape, masks, &mut used).unwrap();
        assert_eq!(used.bytes, fresh.bytes);
        let (json, nl) = fresh.bytes.split_at(fresh.bytes.len() - 1);
        assert_eq!(nl, b"\n");
        let ev: TraceEvent = serde_json::from_slice(json).unwrap();
        assert_eq!(serde_json::to_vec(&ev).unwrap(), json);
        ev
    }

    /// Feeds `n` lookup records (key i as 1–8 little-endian bytes, so line
    /// lengths vary) through a sink on one thread while `out` is written
    /// on this one, as `Tracer::run` does; returns the sink and the
    /// writer's error.
    fn through_queue(n: u32, byte_limit: u64, out: &mut dyn Write) -> (Sink, Option<io::Error>) {
        let (mut sink, queue) = Sink::new(byte_limit, 1, Redact::None);
        let err = std::thread::scope(|scope| {
            let feeder = scope.spawn(|| {
                for i in 0..n {
                    let key = u64::from(i).to_le_bytes();
                    let rec = event::sample_record(1, Some(&key[..1 + i as usize % 8]), None, -2);
                    sink.take(&rec);
                    if sink.error.is_some() {
                        break;
                    }
                }
                sink.close();
            });
            let err = queue.write_to(out);
            feeder.join().unwrap();
            err
        });
        (sink, err)
    }

    #[test]
    fn lines_stay_whole_and_in_order_across_reused_chunks() {
        let n = 40_000u32;
        let mut out = Vec::new();
        let (sink, err) = through_queue(n, u64::MAX, &mut out);
        assert!(err.is_none() && sink.error.is_none());
        // Several chunks, so chunks the writer is done with were filled again.
        assert!(out.len() > 8 * TRACE_CHUNK_BYTES, "{} bytes", out.len());
        assert_eq!(sink.seq, u64::from(n));
        let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), n as usize + 1, "one line a call, then nothing");
        assert!(lines[n as usize].is_empty());
        for (i, line) in lines[..n as usize].iter().enumerate() {
            let ev: TraceEvent = serde_json::from_slice(line).unwrap();
            let key = (i as u64).to_le_bytes();
            assert_eq!(ev.seq, i as u64);
            assert_eq!(ev.key, Some(crate::bundle::hex(&key[..1 + i % 8])));
        }
    }

    #[test]
    fn byte_limit_cuts_whole_lines_and_counts_the_rest() {
        let mut out = Vec::new();
        let (sink, err) = through_queue(5_000, 100_000, &mut out);
        assert!(err.is_none());
        assert!(out.len() <= 100_000 && out.len() > 99_000, "{}", out.len());
        assert!(out.ends_with(b"\n"));
        let lines = out.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(lines, sink.seq);
        assert_eq!(sink.seq + sink.cut, 5_000);
    }

    /// A bundle file that fails after `room` bytes (a full disk).
    struct FullDisk {
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if b.len() > self.room {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            self.room -= b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_write_stops_the_reading_instead_of_blocking_it() {
        let mut disk = FullDisk {
            room: 3 * TRACE_CHUNK_BYTES,
        };
        // More lines than the queue holds: without the stop the feeder
        // would block on a queue nobody empties.
        let n = (limits::TRACE_QUEUE_BYTES / 100) as u32;
        let (sink, err) = through_queue(n, u64::MAX, &mut disk);
        assert_eq!(err.unwrap().raw_os_error(), Some(libc::ENOSPC));
        assert!(sink.error.is_some());
        assert!(sink.seq < u64::from(n));
    }

    #[test]
    fn lines_escape_comm_and_name_unknown_commands() {
        let mut rec = event::sample_record(99, Some(&[1, 2]), None, -22);
        rec[48..56].copy_from_slice(b"a\"b\\c\xff\n\0");
        let raw = event::parse(&rec).unwrap();
        let ev = to_event(&raw, 0, None, None, &LineMasks::default());
        assert_eq!(ev.comm, "a\"b\\c\u{fffd}\n");
        assert_eq!(ev.cmd, "unknown(99)");
        assert_eq!(ev.key.as_deref(), Some("0102"));
    }

    #[test]
    fn map_id_from_fdinfo() {
        let t = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nmap_type:\t1\n\
                 key_size:\t8\nvalue_size:\t8\nmax_entries:\t16\nmap_flags:\t0x0\n\
                 map_extra:\t0x0\nmemlock:\t1024\nmap_id:\t130\nfrozen:\t0\n";
        assert_eq!(fdinfo_map_id(t), Some(130));
        assert_eq!(fdinfo_map_id("prog_type:\t5\nprog_id:\t7\n"), None);
        assert_eq!(fdinfo_map_id("map_id:\tlots\n"), None);
        assert_eq!(fdinfo_map_id("map_id:\t-1\n"), None);
        assert_eq!(fdinfo_map_id(""), None);
    }

    #[test]
    fn events_cut_to_the_map_and_keep_short_captures() {
        let rec = event::sample_record(
            2,
            Some(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 9, 9]),
            Some(&[0xab; 16]),
            0,
        );
        let raw = event::parse(&rec).unwrap();
        let keep = LineMasks::default();
        let shape = MapShape {
            key_len: 8,
            value_len: 8,
        };
        let ev = to_event(&raw, 3, Some(42), Some(shape), &keep);
        assert_eq!(ev.seq, 3);
        assert_eq!(ev.cmd, "map_update_elem");
        assert_eq!(ev.map_id, Some(42));
        assert_eq!(ev.key.as_deref(), Some("deadbeef01020304"));
        assert_eq!(ev.value.as_deref(), Some("abababababababab"));
        // Unknown map: everything captured is kept.
        let ev = to_event(&raw, 0, None, None, &keep);
        assert_eq!(ev.key.as_deref(), Some("deadbeef010203040909"));
        // Fewer bytes captured than the key size: what was captured.
        let wide = MapShape {
            key_len: 64,
            value_len: 64,
        };
        assert_eq!(
            to_event(&raw, 0, None, Some(wide), &keep)
                .key
                .unwrap()
                .len(),
            20
        );
        // A lookup carries no value; a NULL key is `null`.
        let rec = event::sample_record(4, None, None, -2);
        let ev = to_event(&event::parse(&rec).unwrap(), 0, None, None, &keep);
        assert_eq!((ev.key, ev.value, ev.ret), (None, None, -2));
        assert_eq!(ev.cmd, "map_get_next_key");
    }

    fn flows_btf() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpora/dumps/flows/btf.kernel.btf"
        ))
        .unwrap()
    }

    /// The masks of a map with no BTF (every byte payload as far as
    /// collect can tell), 8-byte keys and values.
    fn no_btf_masks(redact: Redact, percpu: Option<(usize, usize)>) -> LineMasks {
        let sides = MapSides {
            btf_key_type_id: 0,
            key_size: 8,
            btf_value_type_id: 0,
            value_size: 8,
        };
        LineMasks::of(&MapMasks::new(redact, None, sides), percpu)
    }

    const KEY: [u8; 8] = [0xc0, 0xff, 0xee, 0x42, 0xa5, 0x5a, 0x13, 0x37];
    const VALUE: [u8; 8] = [0xfe, 0xed, 0xfa, 0xce, 0x0b, 0xad, 0xf0, 0x0d];

    #[test]
    fn redacting_keys_zeroes_key_and_value_bytes_of_a_line() {
        let rec = event::sample_record(2, Some(&KEY), Some(&VALUE), 0);
        let raw = event::parse(&rec).unwrap();
        let shape = MapShape {
            key_len: 8,
            value_len: 8,
        };
        let masks = no_btf_masks(Redact::Keys, None);
        let ev = to_event(&raw, 0, Some(42), Some(shape), &masks);
        assert_eq!(ev.key.as_deref(), Some("0000000000000000"));
        assert_eq!(ev.value.as_deref(), Some("0000000000000000"));
        // Everything else of the line is as recorded.
        assert_eq!(
            (ev.cmd.as_str(), ev.map_id, ev.ret),
            ("map_update_elem", Some(42), 0)
        );
        let line = serde_json::to_string(&ev).unwrap();
        assert!(
            !line.contains("c0ffee") && !line.contains("feedface"),
            "{line}"
        );
        // --redact values keeps the key, zeroes the value.
        let masks = no_btf_masks(Redact::Values, None);
        let ev = to_event(&raw, 0, Some(42), Some(shape), &masks);
        assert_eq!(ev.key.as_deref(), Some("c0ffee42a55a1337"));
        assert_eq!(ev.value.as_deref(), Some("0000000000000000"));
        // --redact none (the default) keeps both.
        let masks = no_btf_masks(Redact::None, None);
        assert_eq!(masks, LineMasks::default());
        let ev = to_event(&raw, 0, Some(42), Some(shape), &masks);
        assert_eq!(ev.value.as_deref(), Some("feedface0badf00d"));
    }

    #[test]
    fn redacted_lookup_and_get_next_key_keys_and_unknown_maps() {
        // A lookup's and a GET_NEXT_KEY's key (the key walked from) are masked too.
        for cmd in [1, 3, 4, 21] {
            let rec = event::sample_record(cmd, Some(&KEY), None, -2);
            let raw = event::parse(&rec).unwrap();
            let ev = to_event(&raw, 0, Some(7), None, &no_btf_masks(Redact::Keys, None));
            assert_eq!(ev.key.as_deref(), Some("0000000000000000"), "cmd {cmd}");
            assert_eq!(ev.value, None);
        }
        // A call whose map is not known: every captured byte zeroed, all
        // of them kept in number (no map size to cut to).
        let long: Vec<u8> = (1..=20).collect();
        let rec = event::sample_record(2, Some(&long), Some(&long), 0);
        let raw = event::parse(&rec).unwrap();
        let unknown = LineMasks::of(&MapMasks::unknown_map(Redact::Keys), None);
        let ev = to_event(&raw, 0, None, None, &unknown);
        assert_eq!(ev.key.as_deref(), Some("00".repeat(20).as_str()));
        assert_eq!(ev.value.as_deref(), Some("00".repeat(20).as_str()));
        let unknown = LineMasks::of(&MapMasks::unknown_map(Redact::Values), None);
        let ev = to_event(&raw, 0, None, None, &unknown);
        assert_eq!(ev.key, Some(crate::bundle::hex(&long)));
        assert_eq!(ev.value.as_deref(), Some("00".repeat(20).as_str()));
    }

    #[test]
    fn redacted_percpu_update_zeroes_every_cpu_slot_and_its_alignment() {
        // value_size 6: stride 8, 2 CPUs, 16 bytes passed; the 2 alignment
        // bytes of each slot are the caller's memory, not map bytes: zeroed.
        let value: Vec<u8> = (0xa0..0xb0).collect();
        let rec = event::sample_record(2, Some(&KEY), Some(&value), 0);
        let raw = event::parse(&rec).unwrap();
        let sides = MapSides {
            btf_key_type_id: 0,
            key_size: 8,
            btf_value_type_id: 0,
            value_size: 6,
        };
        let masks = LineMasks::of(&MapMasks::new(Redact::Values, None, sides), Some((8, 2)));
        assert_eq!(masks.value.as_ref().map(Vec::len), Some(16));
        let shape = MapShape {
            key_len: 8,
            value_len: 16,
        };
        let ev = to_event(&raw, 0, Some(9), Some(shape), &masks);
        assert_eq!(ev.value.as_deref(), Some("00".repeat(16).as_str()));
        assert_eq!(ev.key.as_deref(), Some("c0ffee42a55a1337"));
    }

    /// With the map's BTF, a traced key keeps exactly the padding bytes the
    /// dump keeps (`struct flow_key`: the hole at 6..8 and the tail 13..16).
    #[test]
    fn redacted_trace_key_keeps_the_padding_the_dump_keeps() {
        let data = flows_btf();
        let btf = Btf::parse(&data).unwrap();
        let key_id = btf.find_by_name("flow_key")[0].0;
        let sides = MapSides {
            btf_key_type_id: key_id,
            key_size: 16,
            btf_value_type_id: 0,
            value_size: 8,
        };
        let masks = MapMasks::new(Redact::Keys, Some(&btf), sides);
        let r = masks.redacted();
        assert_eq!(
            (r.key, r.value),
            (crate::bundle::Masked::Payload, crate::bundle::Masked::All)
        );
        let key: Vec<u8> = (0x31..0x41).collect();
        let rec = event::sample_record(1, Some(&key), None, -2);
        let raw = event::parse(&rec).unwrap();
        let ev = to_event(&raw, 0, Some(5), None, &LineMasks::of(&masks, None));
        assert_eq!(ev.key.as_deref(), Some("000000000000373800000000003e3f40"));
        assert!(
            masks
                .how()
                .starts_with("key: payload zeroed, 40 padding bits"),
            "{}",
            masks.how()
        );
        assert!(
            masks
                .how()
                .contains("value: all 8 bytes zeroed (no BTF type"),
            "{}",
            masks.how()
        );
    }
}
