//! The bundle format shared by `collect` (writer) and `analyze` (reader):
//! a tar (optionally gzipped) or a directory holding `manifest.json` and the
//! files it lists. Documented in `docs/bundle.md`. This module is the
//! format (manifest, records, member names); [`reader`] reads a bundle
//! (`analyze`, `diff`, `fleet`) and [`writer`] writes one (`collect`).

pub mod members;
pub mod reader;
pub mod writer;

pub use members::MemberKind;

use serde::{Deserialize, Serialize};

/// Value of `manifest.format`.
pub const FORMAT: &str = "bpfcase-bundle";
/// Value of `manifest.version`; bump on incompatible changes.
pub const VERSION: u32 = 1;

/// Lowercase hex without separators: the manifest's SHA-256 digests and the
/// trace's key and value bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Manifest {
    /// What `redact` says was masked when a map record does not (bundles of
    /// versions before `maps[].redacted`): `keys` masked keys and values,
    /// `values` values; masked sides count as wholly zeroed, since which
    /// padding bytes were kept is not recorded.
    pub fn redact_mode(&self) -> Redacted {
        let all = match self.redact.as_str() {
            "keys" => (Masked::All, Masked::All),
            "values" => (Masked::Kept, Masked::All),
            _ => (Masked::Kept, Masked::Kept),
        };
        Redacted {
            key: all.0,
            value: all.1,
        }
    }

    /// How map `rec`'s bytes were masked: its record's `redacted`, else what
    /// `redact` implies.
    pub fn map_redaction(&self, rec: &MapRecord) -> Redacted {
        rec.redacted.unwrap_or_else(|| self.redact_mode())
    }
}

/// `manifest.json`, the bundle's table of contents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub bpfcase_version: String,
    pub host: HostInfo,
    /// UTC time the collection started, RFC 3339.
    pub created: String,
    /// True when the collection was interrupted or stopped by a limit: the
    /// bundle is valid but incomplete; `errors`/`limits_hit` say what is missing.
    #[serde(default)]
    pub partial: bool,
    /// How `--redact` was applied: `none`, `values`, `keys`.
    #[serde(default)]
    pub redact: String,
    /// With `--redact`: every member whose key or value bytes were masked
    /// (dumps, snapshots, the trace), in the order written. A member not
    /// listed holds no map bytes, or was copied whole (`--binaries`, `--elf`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted_files: Vec<String>,
    /// Every file in the bundle except the manifest itself.
    #[serde(default)]
    pub files: Vec<FileEntry>,
    #[serde(default)]
    pub maps: Vec<MapRecord>,
    #[serde(default)]
    pub progs: Vec<ProgRecord>,
    #[serde(default)]
    pub btf: Vec<BtfRecord>,
    #[serde(default)]
    pub pins: Vec<PinRecord>,
    /// BPF links (attachments): which program is attached how.
    #[serde(default)]
    pub links: Vec<LinkRecord>,
    #[serde(default)]
    pub processes: Vec<ProcessRecord>,
    /// Every thread id alive at the end of the collection (a process's pid
    /// is its main thread's), so that a map key naming a pid can be told
    /// stale (`dump/growing`). Empty when unknown (older bundles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live_pids: Vec<u32>,
    /// BPF objects given with `--elf`, by bundle path.
    #[serde(default)]
    pub elfs: Vec<ElfRecord>,
    /// Time-stamped repeated dumps (`--snapshots N --interval D`).
    #[serde(default)]
    pub snapshots: Vec<SnapshotRecord>,
    /// What a limit cut (never silently dropped).
    #[serde(default)]
    pub limits_hit: Vec<LimitHit>,
    /// What failed and why.
    #[serde(default)]
    pub errors: Vec<CollectError>,
    /// The bpf() map calls traced with `--trace-pid`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceRecord>,
}

/// A `--trace-pid` trace of bpf() map calls. The file holds one JSON
/// [`TraceEvent`] per line, in the order the calls returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceRecord {
    /// Bundle path of the trace, `trace/bpf-calls.jsonl`.
    pub path: String,
    /// The traced processes (thread group ids).
    pub pids: Vec<u32>,
    /// UTC time tracing started, RFC 3339.
    pub started: String,
    /// How long tracing ran.
    pub duration_ms: u64,
    /// Lines in the trace file.
    pub events: u64,
    /// Calls the kernel side could not hand over (ring buffer full): the
    /// trace misses that many calls.
    pub lost: u64,
    /// Most key or value bytes captured per call; longer keys and values are
    /// cut to this.
    pub capture_bytes: u32,
    /// How the trace program was attached: `raw_tracepoint` (sys_enter and
    /// sys_exit) or `tracefs_tracepoint` (syscalls/sys_{enter,exit}_bpf).
    /// Empty in bundles of bpfcase versions that did not record it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub attach: String,
    /// Ids the kernel gave the trace's own program and maps while they
    /// existed (all freed before the collection proper; ids are not reused
    /// soon), so a reader can tell them from the node's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own_prog_ids: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own_map_ids: Vec<u32>,
    /// With `--redact`: how the `key` and `value` bytes of the lines were
    /// masked, map by map (the same masks as the map's dump; calls whose
    /// map was not known have every byte zeroed). Empty without `--redact`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redaction: Vec<TraceRedaction>,
}

/// What `--redact` did to one side (key or value) of a map's bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Masked {
    /// The bytes as read.
    #[default]
    Kept,
    /// Payload bytes zeroed; padding bytes (per the map's BTF) kept.
    Payload,
    /// Every byte zeroed: without a usable BTF type padding cannot be told
    /// from payload.
    All,
}

impl Masked {
    pub fn as_str(self) -> &'static str {
        match self {
            Masked::Kept => "kept",
            Masked::Payload => "payload",
            Masked::All => "all",
        }
    }

    /// Whether any byte of this side was zeroed.
    pub fn is_masked(self) -> bool {
        self != Masked::Kept
    }
}

/// What `--redact` did to a map's key and value bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redacted {
    pub key: Masked,
    pub value: Masked,
}

/// How the trace lines of one map were masked (`manifest.trace.redaction`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRedaction {
    /// The map the calls went to; `None` for calls whose map was not known
    /// (every captured byte zeroed).
    pub map_id: Option<u32>,
    pub key: Masked,
    pub value: Masked,
    /// Which bytes were kept and why, as `maps[].redaction` says it.
    pub how: String,
}

/// One traced bpf() map call, as returned to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// Position in the trace, from 0, in the order the calls returned.
    pub seq: u64,
    /// Boot-time nanoseconds (CLOCK_MONOTONIC) when the call entered.
    pub time_ns: u64,
    /// Thread group id (the process) and thread id of the caller.
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    /// `map_lookup_elem`, `map_update_elem`, `map_delete_elem`,
    /// `map_get_next_key` or `map_lookup_and_delete_elem`.
    pub cmd: String,
    /// The caller's map fd.
    pub map_fd: i32,
    /// The map that fd referred to (`map_id` in the fd's fdinfo), when known.
    pub map_id: Option<u32>,
    /// The call's `flags` (`BPF_ANY` 0, `BPF_NOEXIST` 1, `BPF_EXIST` 2,
    /// `BPF_F_LOCK` 4).
    pub flags: u64,
    /// Key bytes as read from the caller's memory at entry, lowercase hex,
    /// cut to the map's key_size when the map is known; `None` when they
    /// could not be read (no key, or the pointer was bad).
    pub key: Option<String>,
    /// Value bytes passed to an update, the same way; `None` for other calls.
    pub value: Option<String>,
    /// The syscall's return value: 0, or minus the errno (`-2` is ENOENT).
    pub ret: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: String,
    /// `uname -r`.
    pub kernel_release: String,
    /// `uname -m`.
    pub machine: String,
    /// Number of possible CPUs (`/sys/devices/system/cpu/possible`): the
    /// per-CPU value count.
    pub possible_cpus: u32,
    /// The raw `possible` and `online` lists, e.g. `0-1`.
    pub possible: String,
    pub online: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the bundle, `/`-separated, relative.
    pub path: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the contents.
    pub sha256: String,
}

/// One map as `BPF_OBJ_GET_INFO_BY_FD` describes it, and where its dump is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapRecord {
    pub id: u32,
    pub name: String,
    /// bpftool's type name (`hash`, `percpu_array`).
    #[serde(rename = "type")]
    pub map_type: String,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
    #[serde(default)]
    pub btf_id: u32,
    #[serde(default)]
    pub btf_key_type_id: u32,
    #[serde(default)]
    pub btf_value_type_id: u32,
    #[serde(default)]
    pub btf_vmlinux_value_type_id: u32,
    #[serde(default)]
    pub frozen: bool,
    /// Bundle path of the dump in bpftool's `-j map dump` shape, if dumped.
    #[serde(default)]
    pub dump: Option<String>,
    /// Entries written to the dump.
    #[serde(default)]
    pub entries: Option<u64>,
    /// How the dump was taken: `batch`, `get_next_key`, or `skipped: why`.
    #[serde(default)]
    pub dump_method: Option<String>,
    /// Keys that vanished between GET_NEXT_KEY and LOOKUP_ELEM.
    #[serde(default)]
    pub vanished_keys: u64,
    /// Times the walk had to restart from the beginning (its key was deleted).
    #[serde(default)]
    pub walk_restarts: u64,
    /// Programs that use this map (from their map_ids).
    #[serde(default)]
    pub prog_ids: Vec<u32>,
    /// With `--redact`: how the key and value bytes were masked (which
    /// padding bytes were kept, or that everything was zeroed for lack of BTF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<String>,
    /// With `--redact`: what the masks did to the key and value bytes of
    /// this map's dump and snapshots, for readers (`analyze` skips the
    /// checks the masked bytes cannot support).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<Redacted>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgRecord {
    pub id: u32,
    pub name: String,
    #[serde(rename = "type")]
    pub prog_type: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub map_ids: Vec<u32>,
    #[serde(default)]
    pub btf_id: u32,
    #[serde(default)]
    pub load_time_ns: u64,
    /// The program's code as the kernel translated it, saved by collect
    /// (`docs/bundle.md`, "Program code"); absent in older bundles and when
    /// it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ProgCode>,
}

/// Where a program's translated code is in the bundle
/// (`BPF_OBJ_GET_INFO_BY_FD`: `xlated_prog_insns`, `func_info`, `line_info`),
/// and what its helper calls go to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgCode {
    /// `progs/ID.xlated`: the instructions, 8 bytes each in the node's byte
    /// order, map loads carrying map ids.
    pub xlated: String,
    /// `progs/ID.func_info`: `struct bpf_func_info` records
    /// (`insn_off`, `type_id` in the program's BTF), `func_info_rec_size`
    /// bytes each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub func_info: Option<String>,
    #[serde(default)]
    pub func_info_rec_size: u32,
    /// `progs/ID.line_info`: `struct bpf_line_info` records (`insn_off` in
    /// instructions, file and line string offsets in the program's BTF,
    /// `line_col`), `line_info_rec_size` bytes each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_info: Option<String>,
    #[serde(default)]
    pub line_info_rec_size: u32,
    /// Each distinct helper-call `imm` (target minus `__bpf_call_base`) with
    /// the kernel symbol at that address, from `/proc/kallsyms`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub call_targets: Vec<CallTarget>,
    /// Why call targets are missing, when they are: the kernel withheld the
    /// addresses (`imm` 0), or kallsyms shows zero addresses
    /// (`kptr_restrict`), or could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_targets_note: Option<String>,
}

/// One helper-call target of a program: `imm` as in the instruction, and the
/// kernel function at `__bpf_call_base + imm` (`htab_map_update_elem`,
/// `bpf_probe_read_kernel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallTarget {
    pub imm: i32,
    pub symbol: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BtfRecord {
    /// Kernel BTF object id; 0 for vmlinux read from sysfs.
    pub id: u32,
    /// `vmlinux`, a module name, or empty for program/map BTF.
    #[serde(default)]
    pub name: String,
    /// Bundle path of the raw blob.
    pub path: String,
    /// Bundle path of the base this split BTF continues (module BTF over vmlinux).
    #[serde(default)]
    pub base: Option<String>,
}

/// One BPF link, from `BPF_LINK_GET_NEXT_ID` + `BPF_OBJ_GET_INFO_BY_FD`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub id: u32,
    /// bpftool's link type name (`tracing`, `xdp`, `perf_event`), or `unknown(N)`.
    #[serde(rename = "type")]
    pub link_type: String,
    pub prog_id: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PinRecord {
    /// Path under bpffs, e.g. `/sys/fs/bpf/app/flows`.
    pub path: String,
    /// `map`, `prog`, `link`, or `unknown`.
    pub kind: String,
    pub id: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub pid: u32,
    pub comm: String,
    pub exe: String,
    #[serde(default)]
    pub fds: Vec<FdRecord>,
    /// Bundle path of the copied executable (`--binaries`), if copied.
    #[serde(default)]
    pub binary: Option<String>,
}

/// One fd of a process, from `/proc/PID/fdinfo/FD`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FdRecord {
    pub fd: u32,
    /// `map`, `prog`, `link`, `btf`.
    pub kind: String,
    #[serde(default)]
    pub map_id: Option<u32>,
    #[serde(default)]
    pub prog_id: Option<u32>,
    /// Bundle path of the raw fdinfo text.
    #[serde(default)]
    pub fdinfo: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ElfRecord {
    /// Path on the node.
    pub original: String,
    /// Path inside the bundle.
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// 0-based sequence number.
    pub seq: u32,
    /// UTC time, RFC 3339 with milliseconds.
    pub time: String,
    pub map_id: u32,
    /// Bundle path of this snapshot's dump.
    pub dump: String,
    pub entries: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitHit {
    /// `max-entries`, `max-bytes`, `time-budget`, `binary-size`.
    pub limit: String,
    /// What was cut: `map 12 (flows)`, `binary /usr/bin/agent`.
    pub what: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectError {
    /// What was being collected: `map 12 dump`, `pins`, `pid 4711 fdinfo`.
    pub what: String,
    pub error: String,
}

impl Manifest {
    /// Parses `manifest.json`. The entries it lists are counted first,
    /// without keeping anything ([`entry_count`]): a manifest listing more
    /// than [`crate::limits::MAX_MANIFEST_ENTRIES`] records or
    /// [`crate::limits::MAX_MANIFEST_IDS`] ids is refused before its records
    /// are built, so what a manifest costs follows what it lists.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, serde_json::Error> {
        match entry_count(bytes) {
            Err(e) if e.to_string().contains(TOO_MANY) => return Err(e),
            Ok(n) => {
                if let Some(why) = n.over() {
                    return Err(<serde_json::Error as serde::de::Error>::custom(why));
                }
            }
            // Any other problem is the real parse's to report.
            Err(_) => {}
        }
        serde_json::from_slice(bytes)
    }
}

/// Marks the error of a manifest over an entry limit.
const TOO_MANY: &str = "limits::MAX_MANIFEST_";

/// What a manifest lists: records (files, maps, programs, BTF, pins, links,
/// processes and their fds, objects, snapshots, limits hit, errors) and ids
/// (maps' `prog_ids`, programs' `map_ids`, the trace's pids and own ids).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryCount {
    pub records: u64,
    pub ids: u64,
}

impl EntryCount {
    fn add(self, other: EntryCount) -> EntryCount {
        EntryCount {
            records: self.records.saturating_add(other.records),
            ids: self.ids.saturating_add(other.ids),
        }
    }

    /// Why this is over a limit, if it is.
    fn over(&self) -> Option<String> {
        use crate::limits::{MAX_MANIFEST_ENTRIES, MAX_MANIFEST_IDS};
        if self.records > MAX_MANIFEST_ENTRIES {
            return Some(format!(
                "the manifest lists {} records or more (files, maps, programs, BTF, pins, links, processes and their fds, objects, snapshots, limits hit, errors), over the {MAX_MANIFEST_ENTRIES} allowed ({TOO_MANY}ENTRIES): not read",
                self.records
            ));
        }
        if self.ids > MAX_MANIFEST_IDS {
            return Some(format!(
                "the manifest lists {} ids or more (maps' prog_ids, programs' map_ids, the trace's ids), over the {MAX_MANIFEST_IDS} allowed ({TOO_MANY}IDS): not read",
                self.ids
            ));
        }
        None
    }
}

/// What `manifest.json` lists, all lists together, nested ones (a map's
/// program ids, a process's fds) included; counted as the JSON is read,
/// keeping nothing, and stopped with an error past a limit.
pub fn entry_count(bytes: &[u8]) -> Result<EntryCount, serde_json::Error> {
    let shape: count::ManifestShape = serde_json::from_slice(bytes)?;
    Ok(count::Entries::entries(&shape))
}

/// The manifest's lists, counted without being kept.
mod count {
    use std::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, SeqAccess, Visitor};

    use super::EntryCount;

    /// What a part of the manifest lists.
    pub trait Entries {
        fn entries(&self) -> EntryCount;
    }

    /// A record whose fields list nothing.
    impl Entries for IgnoredAny {
        fn entries(&self) -> EntryCount {
            EntryCount::default()
        }
    }

    impl<T: Entries> Entries for Option<T> {
        fn entries(&self) -> EntryCount {
            self.as_ref().map(T::entries).unwrap_or_default()
        }
    }

    /// A list of records (each one record, plus what it lists), or with
    /// `IDS` a list of ids.
    pub struct List<T, const IDS: bool = false>(EntryCount, PhantomData<T>);

    /// A list of ids.
    pub type Ids = List<IgnoredAny, true>;

    impl<T, const IDS: bool> Default for List<T, IDS> {
        fn default() -> Self {
            List(EntryCount::default(), PhantomData)
        }
    }

    impl<T, const IDS: bool> Entries for List<T, IDS> {
        fn entries(&self) -> EntryCount {
            self.0
        }
    }

    impl<'de, T: Deserialize<'de> + Entries, const IDS: bool> Deserialize<'de> for List<T, IDS> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Counter<T, const IDS: bool>(PhantomData<T>);
            impl<'de, T: Deserialize<'de> + Entries, const IDS: bool> Visitor<'de> for Counter<T, IDS> {
                type Value = List<T, IDS>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a list")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    let mut n = EntryCount::default();
                    while let Some(x) = seq.next_element::<T>()? {
                        let one = if IDS {
                            EntryCount { records: 0, ids: 1 }
                        } else {
                            EntryCount { records: 1, ids: 0 }
                        };
                        n = n.add(one).add(x.entries());
                        if let Some(why) = n.over() {
                            return Err(A::Error::custom(why));
                        }
                    }
                    Ok(List(n, PhantomData))
                }
            }
            d.deserialize_seq(Counter::<T, IDS>(PhantomData))
        }
    }

    /// Declares a part of the manifest whose entries are the sum of its
    /// lists' (other fields are skipped).
    macro_rules! shape {
        ($name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
            #[derive(serde::Deserialize)]
            pub struct $name {
                $(#[serde(default)] $field: $ty,)*
            }
            impl Entries for $name {
                fn entries(&self) -> EntryCount {
                    EntryCount::default() $(.add(self.$field.entries()))*
                }
            }
        };
    }

    shape!(MapShape { prog_ids: Ids });
    shape!(ProgShape {
        map_ids: Ids,
        code: Option<ProgCodeShape>,
    });
    shape!(ProgCodeShape {
        call_targets: List<IgnoredAny>,
    });
    shape!(ProcessShape { fds: List<IgnoredAny> });
    shape!(TraceShape {
        pids: Ids,
        own_prog_ids: Ids,
        own_map_ids: Ids,
    });
    shape!(ManifestShape {
        files: List<IgnoredAny>,
        maps: List<MapShape>,
        progs: List<ProgShape>,
        btf: List<IgnoredAny>,
        pins: List<IgnoredAny>,
        links: List<IgnoredAny>,
        processes: List<ProcessShape>,
        elfs: List<IgnoredAny>,
        snapshots: List<IgnoredAny>,
        limits_hit: List<IgnoredAny>,
        errors: List<IgnoredAny>,
        trace: Option<TraceShape>,
    });
}

/// A manifest time (`2026-11-26T01:56:07.836Z`, UTC, as collect writes it)
/// as whole seconds since the epoch and the digits of its fraction (`836`).
/// `None` for any other shape.
pub fn unix_time(s: &str) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())
            .flatten()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let rest = &s[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            (&r[..n], &r[n..])
        }
        None => ("", rest),
    };
    if zone != "Z" {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm), the inverse of collect's.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    Some((secs, frac))
}

/// A manifest time as Unix milliseconds.
pub fn unix_ms(s: &str) -> Option<i64> {
    let (secs, frac) = unix_time(s)?;
    let ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    secs.checked_mul(1000)?.checked_add(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_counted_in_every_list_nested_ones_included() {
        let json = br#"{"maps":[{"id":1,"prog_ids":[1,2]},{"id":2,"prog_ids":[3,4]}],
            "progs":[{"id":1,"map_ids":[1]}],"processes":[{"pid":1,"fds":[{"fd":3},{"fd":4}]}],
            "trace":{"pids":[7]},"unknown":[1,2,3]}"#;
        assert_eq!(
            entry_count(json).unwrap(),
            EntryCount { records: 6, ids: 6 }
        );
    }

    #[test]
    fn a_manifest_over_the_record_limit_is_refused_before_it_is_built() {
        let n = crate::limits::MAX_MANIFEST_ENTRIES + 1;
        let errors = vec![r#"{"what":"w","error":"e"}"#; n as usize].join(",");
        let json = format!(r#"{{"format":"bpfcase-bundle","version":1,"errors":[{errors}]}}"#);
        let e = Manifest::parse(json.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains(&format!("lists {n} records or more"))
                && e.contains("(limits::MAX_MANIFEST_ENTRIES)"),
            "{e}"
        );
    }

    #[test]
    fn a_manifest_over_the_id_limit_is_refused() {
        let n = crate::limits::MAX_MANIFEST_IDS + 1;
        let ids = vec!["1"; n as usize].join(",");
        let json = format!(r#"{{"progs":[{{"id":1,"name":"p","type":"x","map_ids":[{ids}]}}]}}"#);
        let e = Manifest::parse(json.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("(limits::MAX_MANIFEST_IDS)"), "{e}");
    }

    #[test]
    fn other_problems_are_the_real_parse_s_to_report() {
        let e = Manifest::parse(br#"{"maps": 3}"#).unwrap_err().to_string();
        let real = serde_json::from_slice::<Manifest>(br#"{"maps": 3}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(e, real);
    }
}
