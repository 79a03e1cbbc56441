//! Loading the inputs of `analyze` into a case. An input that cannot be read
//! costs only its own findings: it becomes an `input/unreadable` finding and
//! the rest of the analysis goes on.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::error::Result;

use super::{user_types as users, AnalyzeOptions};
use crate::analyses::dump_checks::{CheckedDump, DumpChecker, DumpContext};
use crate::analyses::growth::KeySample;
use crate::bundle::reader::{self as bundle, Bundle};
use crate::error::InputError;
use crate::ingest::btf::{Btf, BtfError, BtfKind, TypeId};
use crate::ingest::btf_layout::BtfLayouts;
use crate::ingest::elf::{btf_map_defs, BpfObject};
use crate::ingest::read::read_file;
use crate::model::case::{MapInstance, Pin, ScalarType, UserTypes};
use crate::model::dump::{DumpForm, KeyLog, MapDump};
use crate::model::finding::{Finding, Severity};
use crate::model::layout::Layout;
use crate::model::map::{kernel_name, MapType};
use crate::report::InputSummary;

use crate::limits::MAX_FILE_BYTES as MAX_ARTIFACT;

/// BTF kept whole so `--pair` can lay out any type by name.
pub struct BtfSource {
    pub origin: String,
    /// The input it was read from, as named.
    pub file: String,
    /// Maps it defines (a BPF object's `.maps`; 0 for raw BTF).
    pub maps: usize,
    /// Raw BTF: a BTF file, or the `.BTF` section of an ELF object.
    pub data: Vec<u8>,
}

/// Everything read from the inputs.
#[derive(Default)]
pub struct Case {
    pub inputs: Vec<InputSummary>,
    pub findings: Vec<Finding>,
    pub maps: Vec<MapInstance>,
    pub pins: Vec<Pin>,
    pub users: Vec<Box<dyn UserTypes>>,
    pub texts: HashMap<String, Arc<str>>,
    pub btf_sources: Vec<BtfSource>,
    pub possible_cpus: Option<u32>,
    pub dumps: Vec<LoadedDump>,
    /// Traces of bpf() map calls: bundles recorded with `--trace-pid`,
    /// loose trace files, strace logs.
    pub traces: Vec<LoadedTrace>,
    /// Map fds of processes in bundles: (pid, fd) → map id.
    pub map_fds: HashMap<(u32, i32), u32>,
    /// The first bundle's collection (host, time, partial), for the metrics.
    pub collection: Option<crate::report::CollectionSummary>,
    /// The manifest of the (last) bundle read: host, programs and their tags.
    pub manifest: Option<crate::bundle::Manifest>,
    /// Where and when each bundle was collected, for the report header.
    pub bundles: Vec<crate::report::header::BundleContext>,
    /// Bundles collected with `--redact`: what their masks left comparable.
    pub redactions: super::redaction::Redactions,
    /// The frozen `.rodata` sections of the bundles' maps, decoded.
    pub configs: Vec<crate::report::config::MapConfig>,
    /// Each map's dumps over time, by map id: a bundle's snapshots, and the
    /// dumps of earlier bundles of the same node (`dump/growing`).
    pub growth: std::collections::BTreeMap<u32, Vec<KeySample>>,
    /// Thread ids alive at the end of the (latest) bundle's collection.
    pub live_pids: Option<std::collections::HashSet<u32>>,
    /// Earlier bundles of the node are among the inputs: every map's main
    /// dump is a sample over time, snapshots or not.
    series: bool,
    /// BPF ELF objects given directly (name, bytes): their program code is
    /// checked by the `prog/*` pass.
    pub prog_objects: Vec<(String, Vec<u8>)>,
    /// Live programs' translated code from bundles (`ingest::prog_xlated`).
    pub live_progs: Vec<crate::ingest::prog_xlated::LiveProg>,
    /// The first input that could not be read: the error when none could.
    first_unreadable: Option<InputError>,
}

/// A trace of map calls and where it came from.
pub struct LoadedTrace {
    /// The trace file as named (`bundle!trace/bpf-calls.jsonl`).
    pub file: String,
    pub calls: Vec<crate::model::trace::MapCall>,
    /// Pins the traced processes opened (strace `BPF_OBJ_GET`): (pid, fd, path).
    pub pin_fds: Vec<(u32, i32, String)>,
}

impl Case {
    /// Gives calls without a map id the map their fd referred to: from the
    /// fdinfo of a bundle's processes, or from the pin the fd was opened
    /// from. A log without pids (strace without `-f`) matches an fd only
    /// when a single process holds a map under that number. strace does
    /// not show `close()` among bpf() calls, so an fd number reused for
    /// another map during the trace is taken for the last one.
    fn resolve_trace_maps(&mut self) {
        let pins: HashMap<&str, u32> = self
            .pins
            .iter()
            .filter(|p| p.kind == "map")
            .map(|p| (p.path.as_str(), p.id))
            .collect();
        let mut by_fd: HashMap<i32, Vec<u32>> = HashMap::new();
        for (&(_, fd), &id) in &self.map_fds {
            by_fd.entry(fd).or_default().push(id);
        }
        for t in &mut self.traces {
            for c in t.calls.iter_mut().filter(|c| c.map_id.is_none()) {
                c.map_id = self
                    .map_fds
                    .get(&(c.pid, c.map_fd))
                    .copied()
                    .or_else(|| {
                        t.pin_fds
                            .iter()
                            .rev()
                            .find(|(pid, fd, _)| *pid == c.pid && *fd == c.map_fd)
                            .and_then(|(_, _, path)| pins.get(path.as_str()).copied())
                    })
                    .or_else(|| match by_fd.get(&c.map_fd).map(Vec::as_slice) {
                        Some([only]) if c.pid == 0 => Some(*only),
                        _ => None,
                    });
            }
        }
    }
}

/// A map dump and which map it belongs to.
pub struct LoadedDump {
    /// The dump file as named (in a bundle: `bundle!path`).
    pub file: String,
    /// Map id (bundles) or name (loose files: the file name's stem) it belongs to.
    pub map_id: Option<u32>,
    pub map_name: Option<String>,
    /// Whether `--dump MAP=FILE` tied it (else its file name did).
    pub explicit: bool,
    pub body: DumpBody,
}

/// A dump as loading left it.
pub enum DumpBody {
    /// Parsed whole: its map's layouts were not known while it was read (a
    /// loose file, tied to a map later; a bundle member before its BTF), so
    /// the passes check it.
    Parsed(MapDump),
    /// Checked as it was read, with the layouts of the map the bundle ties
    /// it to; only the findings and the keys were kept.
    Checked(CheckedDump),
}

impl DumpBody {
    /// Entries read.
    pub fn entries(&self) -> usize {
        match self {
            DumpBody::Parsed(d) => d.len(),
            DumpBody::Checked(c) => c.entries,
        }
    }
}

impl LoadedDump {
    /// The map of `maps` this dump belongs to: by id (bundles), else by the
    /// name or id it was tied to (its file name, or `--dump MAP=FILE`).
    pub fn map_in<'m>(&self, maps: &'m [MapInstance]) -> Option<&'m MapInstance> {
        maps.iter().find(|m| match (self.map_id, &self.map_name) {
            (Some(id), _) => m.id == Some(id),
            (None, Some(n)) => super::names_map(n, &m.name, m.id),
            _ => false,
        })
    }
}

impl Case {
    fn read(&mut self, path: &str, kind: &str) {
        self.inputs.push(InputSummary {
            path: path.to_string(),
            kind: kind.to_string(),
            status: "read".into(),
        });
    }

    fn unreadable(&mut self, kind: &str, err: &InputError) {
        self.inputs.push(InputSummary {
            path: err.path.clone(),
            kind: kind.to_string(),
            status: "unreadable".into(),
        });
        self.findings.push(err.to_finding());
        self.first_unreadable.get_or_insert_with(|| InputError {
            path: err.path.clone(),
            position: err.position,
            reason: err.reason.clone(),
            help: err.help.clone(),
        });
    }

    /// Whether `data` is a BPF object already read under another name (the
    /// same `.bpf.o` given twice, or given loose and inside its loader);
    /// if so, its inputs row says so and it is not read again, so its maps
    /// and findings are not doubled.
    fn read_once(&mut self, name: &str, data: &[u8]) -> bool {
        // Only a copy whose maps were read: a bundle's copy (its code only)
        // gives way to this one in `check_code_once`.
        let Some((first, _)) = (self.prog_objects.iter())
            .find(|(n, d)| d.as_slice() == data && self.btf_sources.iter().any(|s| s.file == *n))
        else {
            return false;
        };
        let status = format!("read; the same object as {first} (identical bytes): read once");
        self.inputs.push(InputSummary {
            path: name.to_string(),
            kind: "bpf-object".into(),
            status,
        });
        true
    }

    /// Keeps one copy of each BPF object whose code is checked: a bundle's
    /// copied binaries and `--elf` objects may hold an object also given
    /// on its own. The copy whose maps the case read is kept (its own
    /// layouts), else the first; the other's inputs row says so.
    fn check_code_once(&mut self) {
        let mut i = 0;
        while i < self.prog_objects.len() {
            let data = &self.prog_objects[i].1;
            let Some(j) = (0..i).find(|&j| self.prog_objects[j].1 == *data) else {
                i += 1;
                continue;
            };
            let has_maps = |n: &str| {
                let origin = format!("BTF of {n}");
                (self.maps.iter()).any(|m| m.btf_origin.as_deref() == Some(origin.as_str()))
            };
            let drop = if !has_maps(&self.prog_objects[j].0) && has_maps(&self.prog_objects[i].0) {
                j
            } else {
                i
            };
            let keep = if drop == i { j } else { i };
            let kept = self.prog_objects[keep].0.clone();
            let (dropped, _) = self.prog_objects.remove(drop);
            let note = format!(
                "the same object as {kept} (identical bytes): its code checked once, as {kept}"
            );
            match (self.inputs.iter_mut()).find(|r| r.path == dropped && r.kind == "bpf-object") {
                Some(row) => row.status = format!("{}; {note}", row.status),
                None => self.inputs.push(InputSummary {
                    path: dropped,
                    kind: "bpf-object".into(),
                    status: note,
                }),
            }
            // The next object is now at `i` (or `i` is the kept one's
            // successor): look at it without moving on.
        }
    }

    /// Ties each object map still on its own to the live map a bundle
    /// holds under its name, or under the kernel's copy of a longer name
    /// (15 bytes: libbpf creates `conntrack_flows_by_tuple` as
    /// `conntrack_flows`), filling in what the live map lacks; runs once
    /// every input is read, so the order of the inputs does not matter.
    /// A tie needs the two to agree on type and sizes, one live map of
    /// the name to do so, and no other map of the object to have the same
    /// kernel name (`conntrack_flows_by_tuple` and
    /// `conntrack_flows_by_tuple6` are both `conntrack_flows`: they stay
    /// apart); a tie by a cut name is said in the object's inputs row.
    fn tie_object_maps(&mut self) {
        let sources: Vec<(String, String)> = (self.btf_sources.iter())
            .filter(|s| s.maps > 0)
            .map(|s| (s.origin.clone(), s.file.clone()))
            .collect();
        let mut i = 0;
        while i < self.maps.len() {
            let m = &self.maps[i];
            // A live map (one filled from an object keeps that origin) is
            // what object maps are tied to, never tied itself.
            let origin = m.btf_origin.clone().unwrap_or_default();
            let Some((_, file)) = (sources.iter())
                .find(|(o, _)| *o == origin)
                .filter(|_| m.id.is_none())
            else {
                i += 1;
                continue;
            };
            let cut = kernel_name(&m.name);
            // One live map of the name that agrees with this object map,
            // and no other map of the object with the same kernel name:
            // the program side finds a tied map by the cut name, which
            // must then mean one map.
            let lives: Vec<usize> = (0..self.maps.len())
                .filter(|&j| {
                    let l = &self.maps[j];
                    l.id.is_some() && l.name == cut && agree(l, m)
                })
                .collect();
            let [at] = lives[..] else {
                i += 1;
                continue;
            };
            let alike = (self.maps.iter())
                .filter(|o| o.id.is_none() && o.btf_origin.as_deref() == Some(origin.as_str()))
                .filter(|o| kernel_name(&o.name) == cut)
                .count();
            if alike != 1 {
                i += 1;
                continue;
            }
            let m = self.maps.remove(i);
            let at = if at > i { at - 1 } else { at };
            let live = &mut self.maps[at];
            if m.name != live.name {
                let note = format!(
                    "map `{}` is live map `{}` (id {}), the kernel's 15-byte copy of its name",
                    m.name,
                    live.name,
                    live.id.unwrap_or_default()
                );
                if let Some(row) =
                    (self.inputs.iter_mut()).find(|r| r.path == *file && r.kind == "bpf-object")
                {
                    row.status = format!("{}; {note}", row.status);
                }
            }
            live.fill_from(m);
        }
    }

    /// Adds an object's map, or fills in what a live map of the same name
    /// (and type and sizes) lacks.
    fn add_object_map(&mut self, m: MapInstance) {
        if let Some(live) =
            (self.maps.iter_mut()).find(|l| l.name == m.name && l.id.is_some() && agree(l, &m))
        {
            live.fill_from(m);
            return;
        }
        self.maps.push(m);
    }
}

/// Whether a live map and an object's map can be one map: the same type
/// and sizes, where both are known.
fn agree(l: &MapInstance, m: &MapInstance) -> bool {
    fn same<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
        a.is_none() || b.is_none() || a == b
    }
    same(l.map_type, m.map_type) && same(l.key_size, m.key_size) && same(l.value_size, m.value_size)
}

/// `input/unreadable` findings for a trace's bad lines.
fn push_trace_problems(
    case: &mut Case,
    file: &str,
    problems: &[crate::ingest::trace::TraceProblem],
    bad_lines: u64,
) {
    for p in problems {
        case.findings
            .push(InputError::at_line(file, p.line, &p.message).to_finding());
    }
    if bad_lines > problems.len() as u64 {
        case.findings.push(Finding::unreadable(
            file,
            None,
            &format!(
                "{} more unreadable lines not listed",
                bad_lines - problems.len() as u64
            ),
        ));
    }
}

/// A `.jsonl` file with a traced map call among its first lines.
fn is_trace_jsonl(path: &Path, data: &[u8]) -> bool {
    path.extension().is_some_and(|x| x == "jsonl")
        && data
            .split(|&b| b == b'\n')
            .take(10)
            .any(|l| serde_json::from_slice::<crate::bundle::TraceEvent>(l).is_ok())
}

/// A map's key or value type `id`: its layout when it is (a typedef of) a
/// struct or union, else its scalar type (`__u32`, an enum, `char[16]`,
/// with its C spelling). A type that cannot be laid out (nested past the
/// depth limit, a typedef chain too long) is an error, so the caller
/// reports it rather than dropping the map's type silently.
fn map_type(
    engine: &mut BtfLayouts<'_, '_>,
    id: u32,
) -> Result<(Option<Arc<Layout>>, Option<ScalarType>), BtfError> {
    if id == 0 {
        return Ok((None, None));
    }
    let (t, _) = engine.resolve(TypeId(id))?;
    let Some(t) = t else {
        return Ok((None, None));
    };
    // A DATASEC (libbpf's global data maps) is laid out as a struct is.
    if matches!(t.kind, BtfKind::Struct | BtfKind::Union | BtfKind::Datasec) {
        return Ok((Some(engine.layout(TypeId(id))?), None));
    }
    let ty = engine.field_type(TypeId(id))?;
    Ok((
        None,
        Some(ScalarType {
            name: engine.c_type_name(TypeId(id)),
            ty,
        }),
    ))
}

/// Why a map's type could not be laid out, at a byte offset of its BTF.
type TypeError = (Option<usize>, String);

/// The key and value types of map `map` ([`map_type`] of each); a side
/// that cannot be laid out is left empty and its error returned with it.
fn key_value_types(
    engine: &mut BtfLayouts<'_, '_>,
    map: &str,
    key: Option<u32>,
    value: Option<u32>,
) -> (KeyValueLayouts, Vec<TypeError>) {
    let mut errors = Vec::new();
    let mut side = |what: &str, id: Option<u32>| match id.map(|id| map_type(engine, id)) {
        None => (None, None),
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            errors.push((e.offset(), format!("map `{map}`: {what} type: {e}")));
            (None, None)
        }
    };
    let (kl, ks) = side("key", key);
    let (vl, vs) = side("value", value);
    ((kl, vl, ks, vs), errors)
}

/// Reads every input.
/// Whether `data` is a bpftool map dump: JSON (`-j`/`-p`: an array of
/// entries with `key`) or text (`key:` lines, `Found N elements`, or the
/// BTF-formatted `[{` form).
fn dump_kind(path: &Path, data: &[u8]) -> Option<DumpForm> {
    let head = &data[..data.len().min(4096)];
    let text = std::str::from_utf8(head).ok().or_else(|| {
        // A cut in the middle of a UTF-8 sequence at 4096 is still text.
        std::str::from_utf8(&head[..head.len().saturating_sub(3)]).ok()
    })?;
    let trimmed = text.trim_start();
    let is_json_ext = path.extension().is_some_and(|x| x == "json");
    if trimmed.starts_with('[')
        && trimmed.contains("\"key\"")
        && (is_json_ext || trimmed.contains("\"0x"))
    {
        return Some(if is_json_ext || trimmed.contains("[\"0x") {
            DumpForm::Json
        } else {
            DumpForm::TextFormatted
        });
    }
    if trimmed.starts_with("key:") || trimmed.starts_with("Found ") || trimmed.starts_with("[{") {
        return Some(DumpForm::TextHex);
    }
    None
}

/// A `.go` file, or a directory holding `.go` files.
fn is_go_source(path: &Path) -> bool {
    if path.is_dir() {
        return std::fs::read_dir(path)
            .map(|d| {
                d.flatten()
                    .any(|e| e.path().extension().is_some_and(|x| x == "go"))
            })
            .unwrap_or(false);
    }
    path.extension().is_some_and(|x| x == "go")
}

impl Case {
    /// Starts a case over the inputs given to the builder, read with
    /// `opts` (type sources' GOARCH and debug directory, tied dumps).
    pub fn builder(opts: &AnalyzeOptions) -> CaseBuilder<'_> {
        CaseBuilder {
            opts,
            paths: Vec::new(),
        }
    }
}

/// A path given as an input exists, or is standard input.
fn must_exist(path: &Path) -> Result<()> {
    if !path.exists() && !crate::ingest::read::is_stdin(path) {
        return Err(InputError::new(
            path.display().to_string(),
            None,
            "no such file or directory",
        )
        .into());
    }
    Ok(())
}

/// Builds a [`Case`]: the inputs are named first (each checked to exist,
/// nothing read), then [`CaseBuilder::build`] reads them all. A bundle of a
/// node given with earlier bundles of the same node is the case, the
/// earlier ones its maps' samples over time.
pub struct CaseBuilder<'o> {
    opts: &'o AnalyzeOptions,
    paths: Vec<PathBuf>,
}

impl<'o> CaseBuilder<'o> {
    /// Any input `analyze` reads: a bundle, a directory of one node's
    /// bundles, or a loose file (`-` is standard input).
    pub fn path(mut self, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        must_exist(path)?;
        self.paths.push(path.to_path_buf());
        Ok(self)
    }

    /// A bundle: a `.tar`, `.tar.gz`, `.tgz` or a directory with
    /// `manifest.json`; anything else is an error naming it.
    pub fn bundle(self, path: impl AsRef<Path>) -> Result<Self> {
        let p = path.as_ref();
        if p.exists() && !bundle::is_bundle(p) {
            return Err(InputError::new(
                p.display().to_string(),
                None,
                "not a bundle (.tar, .tar.gz, .tgz, or a directory with manifest.json)",
            )
            .into());
        }
        self.path(p)
    }

    /// Every path of `paths`, as [`CaseBuilder::path`].
    pub fn paths<P: AsRef<Path>>(self, paths: impl IntoIterator<Item = P>) -> Result<Self> {
        paths.into_iter().try_fold(self, |b, p| b.path(p))
    }

    /// Reads every input into the case. Fails (a command exits 2) when a
    /// bundle's manifest or archive cannot be read, a tied dump names no
    /// map, or nothing given could be read; any other unreadable input is
    /// a finding of the case.
    pub fn build(self) -> Result<Case> {
        load(self.opts, &self.paths)
    }
}

fn load(args: &AnalyzeOptions, given: &[PathBuf]) -> Result<Case> {
    let mut case = Case::default();
    let tied = dump_specs(args)?;
    let (inputs, heads) = expand_bundle_dirs(given);
    let earlier = earlier_bundles(&inputs, heads);
    case.series = !earlier.is_empty();
    for path in &inputs {
        if earlier.contains(path) {
            continue;
        }
        // A dump tied with `--dump MAP=FILE` is read once, as tied.
        if tied.iter().any(|(_, f)| f == path) {
            continue;
        }
        // Standard input is told by its first bytes (kept for whoever reads
        // it next): a tar header or gzip is a bundle, read into memory up
        // to `limits::MAX_STREAM_BYTES`; anything else is read by content.
        if crate::ingest::read::is_stdin(path) && !bundle::is_bundle(path) {
            load_one(&mut case, path, args);
            continue;
        }
        must_exist(path)?;
        if bundle::is_bundle(path) {
            // A bundle is the case itself: one whose manifest or archive
            // cannot be read leaves nothing to analyze (exit 2, as in diff).
            // Only a trace needs a dump's keys once it is checked: the
            // bundle's own, or one among the other inputs.
            let other_inputs = given.len() + args.dumps.len() > 1;
            load_bundle(&mut case, path, other_inputs)?;
            continue;
        }
        load_one(&mut case, path, args);
    }
    for path in &earlier {
        load_earlier_bundle(&mut case, path);
    }
    for (map, path) in &tied {
        load_tied_dump(&mut case, map, path);
        let known = case
            .maps
            .iter()
            .any(|m| super::names_map(map, &m.name, m.id));
        // With no map at all in the inputs the dump still gets the checks
        // that need no layout, and `input/unused` says what is missing.
        if !known && !case.maps.is_empty() {
            return Err(InputError::new(
                map,
                None,
                "no map of this name or id in the inputs (--dump MAP=FILE)",
            )
            .into());
        }
    }
    // Nothing given could be read: the command could not run (exit 2),
    // rather than a clean report about nothing.
    if case.inputs.iter().all(|i| i.status == "unreadable") {
        if let Some(e) = case.first_unreadable.take() {
            return Err(e.into());
        }
    }
    case.tie_object_maps();
    case.check_code_once();
    case.resolve_trace_maps();
    Ok(case)
}

/// How many bundles a directory holds directly (`.tar`, `.tar.gz`, `.tgz`
/// files, directories with a manifest.json); the first 10,000 entries are
/// looked at.
fn bundles_in(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .take(10_000)
        .filter(|e| {
            let p = e.path();
            let n = e.file_name().to_string_lossy().to_ascii_lowercase();
            n.ends_with(".tar")
                || n.ends_with(".tar.gz")
                || n.ends_with(".tgz")
                || p.join("manifest.json").is_file()
        })
        .count()
}

/// Loads one input that is not a bundle (bundles are loaded by [`load`]).
fn load_one(case: &mut Case, path: &Path, args: &AnalyzeOptions) {
    let name = path.display().to_string();
    if is_go_source(path) {
        match users::GoSource::load(path, args.goarch) {
            Ok(src) => {
                case.read(&name, "go-source");
                case.users.push(Box::new(src));
            }
            Err(e) => case.unreadable("go-source", &e),
        }
        return;
    }
    if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
        match users::SchemaFile::load(path) {
            Ok(src) => {
                case.read(&name, "schema");
                case.users.push(Box::new(src));
            }
            Err(e) => case.unreadable("schema", &e),
        }
        return;
    }
    if path.is_dir() {
        let bundles = bundles_in(path);
        let e = if bundles > 0 {
            InputError::new(
                &name,
                None,
                format!(
                    "a directory of {}, not one bundle: analyze reads one case",
                    crate::report::plural(bundles as u64, "bundle", "bundles")
                ),
            )
            .with_help(format!(
                "use `bpfcase fleet {name}` for one report over them all, or give one bundle"
            ))
        } else {
            InputError::new(
                &name,
                None,
                "a directory that is neither a bundle (no manifest.json) nor a Go package",
            )
            .with_help("give a bundle (.tar, .tar.gz, a directory with manifest.json), a Go package, or files")
        };
        case.unreadable("directory", &e);
        return;
    }
    let data = match read_file(path, MAX_ARTIFACT) {
        Ok(d) => d,
        Err(e) => return case.unreadable("file", &e),
    };
    if data.starts_with(b"\x7fELF") {
        match BpfObject::parse(&data) {
            Ok(obj) if obj.is_bpf_machine || obj.btf_data.is_some() => {
                let code = obj.is_bpf_machine && !obj.programs.is_empty();
                if code && case.read_once(&name, &data) {
                    return;
                }
                match load_object(case, &name, &obj) {
                    Err(e) => case.unreadable("bpf-object", &e),
                    Ok(()) if code => case.prog_objects.push((name, data.clone())),
                    Ok(()) => {}
                }
            }
            Ok(_) => {
                // A loader's embedded BPF objects (a libbpf skeleton): their
                // maps and program code, each named `binary@0xOFFSET`.
                let embedded = crate::ingest::embedded::bpf_objects(&data);
                for (off, img) in &embedded {
                    let at = format!("{name}@0x{off:x}");
                    if case.read_once(&at, img) {
                        continue;
                    }
                    match BpfObject::parse(img)
                        .map_err(|e| InputError::at_offset(&at, e.file_offset(), e))
                    {
                        Ok(obj) => match load_object(case, &at, &obj) {
                            Ok(()) => case.prog_objects.push((at, img.to_vec())),
                            Err(e) => case.unreadable("bpf-object", &e),
                        },
                        Err(e) => case.unreadable("bpf-object", &e),
                    }
                }
                match users::DwarfBinary::load(path, args.debug_dir.as_deref()) {
                    Ok(bin) => {
                        case.read(&name, "dwarf");
                        case.users.push(Box::new(bin));
                    }
                    // A stripped loader is read for its embedded objects.
                    Err(_) if !embedded.is_empty() => {}
                    Err(e) => case.unreadable("dwarf", &e),
                }
            }
            Err(e) => case.unreadable("elf", &InputError::at_offset(&name, e.file_offset(), e)),
        }
        return;
    }
    if data.len() >= 2 && (data[..2] == [0x9f, 0xeb] || data[..2] == [0xeb, 0x9f]) {
        match Btf::parse(&data) {
            Ok(_) => {
                case.read(&name, "btf");
                case.btf_sources.push(BtfSource {
                    origin: format!("BTF {name}"),
                    file: name,
                    maps: 0,
                    data,
                });
            }
            Err(e) => case.unreadable(
                "btf",
                &InputError::at_offset(&name, e.offset().map(|o| o as u64), e),
            ),
        }
        return;
    }
    if crate::ingest::strace::looks_like_strace(&data) {
        let log = crate::ingest::strace::parse(&data);
        push_trace_problems(case, &name, &log.problems, log.bad_lines);
        case.read(&name, "strace");
        case.traces.push(LoadedTrace {
            file: name,
            calls: log.calls,
            pin_fds: log.pin_fds,
        });
        return;
    }
    if is_trace_jsonl(path, &data) {
        let parsed = crate::ingest::trace::parse_calls(&data);
        push_trace_problems(case, &name, &parsed.problems, parsed.bad_lines);
        case.read(&name, "trace");
        case.traces.push(LoadedTrace {
            file: name,
            calls: parsed.calls,
            pin_fds: Vec::new(),
        });
        return;
    }
    if let Some(kind) = dump_kind(path, &data) {
        // `flows.json`, `flows.pretty.json`, `flows.txt` belong to map `flows`.
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('.').next())
            .map(str::to_string);
        push_dump(case, name, &data, kind, stem, false);
        return;
    }
    let e = InputError::new(
        &name,
        None,
        "not a kind of input bpfcase reads (bundle, BPF object, BTF, Go source, DWARF binary, bpftool dump)",
    );
    case.unreadable("unknown", &e);
}

/// Parses a dump and adds it, tied to map `tie` (a name or id).
fn push_dump(
    case: &mut Case,
    name: String,
    data: &[u8],
    form: DumpForm,
    tie: Option<String>,
    explicit: bool,
) {
    let dump = match form {
        DumpForm::Json => crate::ingest::bpftool_json::parse_dump(data),
        _ => crate::ingest::bpftool_text::parse_dump(data),
    };
    let kind = if form == DumpForm::Json {
        "dump-json"
    } else {
        "dump-text"
    };
    case.read(&name, kind);
    case.dumps.push(LoadedDump {
        file: name,
        map_id: None,
        map_name: tie,
        explicit,
        body: DumpBody::Parsed(dump),
    });
}

/// `--dump MAP=FILE`, checked: the file must exist.
fn dump_specs(args: &AnalyzeOptions) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for spec in &args.dumps {
        let path = spec.file.clone();
        if !path.exists() && !crate::ingest::read::is_stdin(&path) {
            return Err(InputError::new(
                path.display().to_string(),
                None,
                "no such file or directory",
            )
            .into());
        }
        out.push((spec.map.clone(), path));
    }
    Ok(out)
}

/// Reads a dump tied by `--dump MAP=FILE`. Its form is recognised as for
/// any dump; a file of no recognisable form is read as text, whose parser
/// says where it stops making sense.
fn load_tied_dump(case: &mut Case, map: &str, path: &Path) {
    let name = path.display().to_string();
    let data = match read_file(path, MAX_ARTIFACT) {
        Ok(d) => d,
        Err(e) => return case.unreadable("dump", &e),
    };
    let looks_json = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
        && data.windows(5).take(4096).any(|w| w == b"\"key\"");
    let form = dump_kind(path, &data).unwrap_or(if looks_json {
        DumpForm::Json
    } else {
        DumpForm::TextHex
    });
    push_dump(case, name, &data, form, Some(map.to_string()), true);
}

fn load_object(case: &mut Case, name: &str, obj: &BpfObject<'_>) -> Result<(), InputError> {
    let btf = obj
        .btf()
        .map_err(|e| InputError::at_offset(name, e.file_offset(), e))?;
    let defs = btf_map_defs(&btf).map_err(|e| InputError::at_offset(name, e.file_offset(), e))?;
    for d in &defs {
        case.findings.extend(skipped_attributes(name, d));
    }
    let mut engine = BtfLayouts::new(&btf);
    let origin = format!("BTF of {name}");
    for d in defs.iter().chain(obj.legacy_maps.iter()) {
        let ((key_layout, value_layout, key_scalar, value_scalar), errors) =
            key_value_types(&mut engine, &d.name, d.key_type_id, d.value_type_id);
        for (offset, why) in errors {
            let at = offset.map(|o| obj.btf_file_offset.saturating_add(o as u64));
            case.findings
                .push(InputError::at_offset(name, at, why).to_finding());
        }
        case.add_object_map(MapInstance {
            id: None,
            name: d.name.clone(),
            map_type: d.map_type,
            key_size: d.key_size,
            value_size: d.value_size,
            max_entries: d.max_entries,
            flags: d.map_flags,
            key_layout,
            value_layout,
            key_scalar,
            value_scalar,
            btf_origin: Some(origin.clone()),
            prog_ids: Vec::new(),
        });
    }
    case.read(name, "bpf-object");
    case.btf_sources.push(BtfSource {
        origin,
        file: name.to_string(),
        maps: defs.len() + obj.legacy_maps.len(),
        data: obj.btf_data.unwrap_or_default().to_vec(),
    });
    Ok(())
}

fn load_bundle(case: &mut Case, path: &Path, other_inputs: bool) -> Result<(), InputError> {
    let mut bundle = Bundle::open(path)?;
    let name = bundle.name.clone();
    let m = bundle.manifest.clone();
    case.bundles
        .push(crate::report::header::BundleContext::from_manifest(
            &name, &m,
        ));
    case.possible_cpus = Some(m.host.possible_cpus).filter(|n| *n > 0);
    case.redactions.add_bundle(&name, &m);
    case.collection
        .get_or_insert_with(|| crate::report::CollectionSummary {
            hostname: m.host.hostname.clone(),
            kernel_release: m.host.kernel_release.clone(),
            created: m.created.clone(),
            partial: m.partial,
            limits_hit: m.limits_hit.len(),
            errors: m.errors.len(),
            trace_duration_ms: m.trace.as_ref().map(|t| t.duration_ms),
            trace_lost: m.trace.as_ref().map_or(0, |t| t.lost),
        });
    let btf_paths: HashMap<&str, ()> = m.btf.iter().map(|b| (b.path.as_str(), ())).collect();
    let dump_paths: HashMap<&str, u32> = m
        .maps
        .iter()
        .filter_map(|r| r.dump.as_deref().map(|d| (d, r.id)))
        .collect();
    let mut blobs: HashMap<String, Vec<u8>> = HashMap::new();
    // Programs by the maps they use, and map records by id: each map is
    // tied to its programs and each dump to its map through an index, so
    // the work follows the number of maps and programs, not their product.
    let prog_maps = programs_by_map(&m.progs);
    let mut records: HashMap<u32, &crate::bundle::MapRecord> = HashMap::new();
    for r in &m.maps {
        records.entry(r.id).or_insert(r);
    }
    // Maps built while their dump streamed by, with their BTF's errors.
    let mut instances: HashMap<u32, (MapInstance, Vec<InputError>, bool)> = HashMap::new();
    let order = bundle.member_order();
    let mut read_errors: Vec<InputError> = Vec::new();
    let mut dumps = Vec::new();
    let trace_path = m.trace.as_ref().map(|t| t.path.clone());
    let keep_keys = other_inputs || trace_path.is_some();
    let mut trace_calls = None;
    let mut configs = Vec::new();
    let mut snapshots = snapshot_members(&m);
    if case.series {
        main_dump_members(&m, &mut snapshots);
    }
    let mut samples: Vec<(u32, KeySample)> = Vec::new();
    let mut code = crate::ingest::prog_xlated::BundleCode::of(&m);
    let (mismatches, missing) = bundle.for_each_file(&mut |p, r| {
        let snapshot = snapshots.get(p);
        if let Some(s) = snapshot.filter(|s| s.seq > 0) {
            // A later snapshot: only its keys are kept, for the growth.
            samples.push((s.map_id, sample_dump(r, s, &name, p)));
        } else if trace_path.as_deref() == Some(p) {
            let r = std::io::BufReader::with_capacity(1 << 16, r.take(MAX_ARTIFACT));
            trace_calls = Some(crate::ingest::trace::parse_calls_from(r)?);
        } else if btf_paths.contains_key(p) {
            let mut buf = Vec::new();
            r.take(MAX_ARTIFACT).read_to_end(&mut buf)?;
            blobs.insert(p.to_string(), buf);
        } else if let Some(&id) = dump_paths.get(p) {
            let file = format!("{name}!{p}");
            // The map's layouts, when its BTF has been read (collect writes
            // BTF before dumps): then the dump is checked batch by batch as
            // it streams out of the bundle (and through the SHA-256 check)
            // and only findings and keys stay. Else it is parsed whole and
            // checked by the passes.
            let rec = records.get(&id).copied();
            let inst = rec.and_then(|rec| {
                if !instances.contains_key(&id) && !btf_to_come(&m, &blobs, rec, &order, p) {
                    let built = map_instance(&m, &blobs, rec, &prog_maps, &name);
                    instances.insert(id, built);
                }
                instances.get(&id).map(|(inst, _, _)| inst)
            });
            let frozen = rec.is_some_and(|rec| rec.frozen);
            let body = match inst {
                Some(inst)
                    if crate::report::config::is_configuration(
                        inst.value_layout.as_deref(),
                        frozen,
                    ) =>
                {
                    // A program's configuration (one small entry): read
                    // whole, checked, and its variables kept.
                    let mut buf = Vec::new();
                    r.take(MAX_ARTIFACT).read_to_end(&mut buf)?;
                    let checked = check_streamed(&mut &buf[..], inst, &file);
                    configs.extend(config_of(inst, &buf));
                    DumpBody::Checked(checked)
                }
                Some(inst) => {
                    let mut checked = check_streamed(r, inst, &file);
                    if let Some(s) = snapshot {
                        samples.push((id, sample_checked(&checked, s, &file)));
                    }
                    if !keep_keys {
                        checked.keys = KeyLog::new(checked.keys.form());
                    }
                    DumpBody::Checked(checked)
                }
                None => {
                    let dump = crate::ingest::bpftool_json::read_dump_here(r);
                    if let Some(s) = snapshot {
                        samples.push((id, sample_parsed(&dump, s, &file)));
                    }
                    DumpBody::Parsed(dump)
                }
            };
            dumps.push(LoadedDump {
                file,
                map_id: Some(id),
                map_name: None,
                explicit: false,
                body,
            });
        } else if code.wants(p) {
            code.take(&name, p, r)?;
        }
        Ok(())
    })?;
    let code = code.finish(&name, &m, &blobs);
    case.live_progs.extend(code.progs);
    case.prog_objects.extend(code.objects);
    read_errors.extend(code.errors);
    case.dumps.append(&mut dumps);
    case.configs.append(&mut configs);
    for (id, sample) in samples {
        case.growth.entry(id).or_default().push(sample);
    }
    if !m.live_pids.is_empty() {
        case.live_pids = Some(m.live_pids.iter().copied().collect());
    }
    if let (Some(rec), Some(parsed)) = (&m.trace, trace_calls) {
        let file = format!("{name}!{}", rec.path);
        push_trace_problems(case, &file, &parsed.problems, parsed.bad_lines);
        if rec.lost > 0 {
            let mut f = Finding::unreadable(
                &file,
                None,
                &format!(
                    "the tracer lost {} calls (its ring buffer was full)",
                    rec.lost
                ),
            );
            f.severity = Severity::Info;
            f.title = format!(
                "{file} misses {} calls the tracer could not hand over (ring buffer full)",
                rec.lost
            );
            case.findings.push(f);
        }
        case.traces.push(LoadedTrace {
            file,
            calls: parsed.calls,
            pin_fds: Vec::new(),
        });
    }
    for mm in mismatches {
        read_errors.push(InputError::new(
            format!("{name}!{}", mm.path),
            None,
            format!(
                "SHA-256 {} does not match the manifest's {}: the file changed after collection",
                mm.actual, mm.expected
            ),
        ));
    }
    // Files already reported as unread (or not reached after a size bound)
    // are not reported again through each map whose BTF they hold.
    let unread: std::collections::HashSet<String> = missing
        .iter()
        .map(|u| u.path.clone())
        .chain(bundle.not_reached().iter().cloned())
        .collect();
    for u in missing {
        read_errors.push(InputError::new(format!("{name}!{}", u.path), None, u.why));
    }
    for e in &m.errors {
        let mut f = Finding::unreadable(&format!("{name} (collect: {})", e.what), None, &e.error);
        f.severity = Severity::Info;
        f.title = format!("collect could not gather {}: {}", e.what, e.error);
        case.findings.push(f);
    }
    if m.partial {
        let mut f = Finding::unreadable(
            &name,
            None,
            "the bundle is partial: collection was interrupted or stopped by a limit",
        );
        f.title =
            format!("{name} is a partial bundle: collection was interrupted or stopped by a limit");
        f.evidence["limits_hit"] = serde_json::to_value(&m.limits_hit).unwrap_or_default();
        case.findings.push(f);
    }

    // Lay out each remaining map's types from its BTF (split BTF over its base).
    for rec in &m.maps {
        let (inst, errors, whole) = instances
            .remove(&rec.id)
            .unwrap_or_else(|| map_instance(&m, &blobs, rec, &prog_maps, &name));
        // A BTF file already reported as unread is not reported again
        // through each map whose types it holds.
        let unread_btf = bundle::btf_files(&m, rec.btf_id)
            .iter()
            .any(|f| unread.contains(f));
        if !(whole && unread_btf) {
            read_errors.extend(errors);
        }
        case.maps.push(inst);
    }
    for p in &m.processes {
        for fd in &p.fds {
            if let (Some(id), Ok(n)) = (fd.map_id, i32::try_from(fd.fd)) {
                case.map_fds.insert((p.pid, n), id);
            }
        }
    }
    case.pins = m
        .pins
        .iter()
        .map(|p| Pin {
            path: p.path.clone(),
            kind: p.kind.clone(),
            id: p.id,
        })
        .collect();
    for e in &read_errors {
        case.findings.push(e.to_finding());
    }
    case.read(&name, "bundle");
    case.manifest = Some(m);
    Ok(())
}

/// The programs using each map (from the programs' `map_ids`), by map id.
fn programs_by_map(progs: &[crate::bundle::ProgRecord]) -> HashMap<u32, Vec<u32>> {
    let mut by_map: HashMap<u32, Vec<u32>> = HashMap::new();
    for p in progs {
        for &map in &p.map_ids {
            by_map.entry(map).or_default().push(p.id);
        }
    }
    by_map
}

/// Whether a BTF file map `rec`'s types need is still to be read: not read
/// yet, and a member the bundle holds after `now` (collect writes BTF
/// before dumps; one that is absent or refused never comes).
fn btf_to_come(
    m: &crate::bundle::Manifest,
    blobs: &HashMap<String, Vec<u8>>,
    rec: &crate::bundle::MapRecord,
    order: &bundle::MemberOrder,
    now: &str,
) -> bool {
    rec.btf_id != 0
        && bundle::btf_files(m, rec.btf_id)
            .iter()
            .any(|f| !blobs.contains_key(f.as_str()) && order.comes_after(f, now))
}

/// Map `rec` of a bundle's manifest, with its key and value layouts from the
/// BTF read so far; the errors met laying them out, and whether the BTF
/// could not be used at all.
fn map_instance(
    m: &crate::bundle::Manifest,
    blobs: &HashMap<String, Vec<u8>>,
    rec: &crate::bundle::MapRecord,
    prog_maps: &HashMap<u32, Vec<u32>>,
    name: &str,
) -> (MapInstance, Vec<InputError>, bool) {
    let mut inst = MapInstance {
        id: Some(rec.id),
        name: rec.name.clone(),
        map_type: MapType::from_name(&rec.map_type),
        key_size: Some(rec.key_size as u64),
        value_size: Some(rec.value_size as u64),
        max_entries: Some(rec.max_entries),
        flags: rec.flags,
        prog_ids: rec.prog_ids.clone(),
        ..Default::default()
    };
    if let Some(progs) = prog_maps.get(&rec.id) {
        inst.prog_ids.extend_from_slice(progs);
    }
    inst.prog_ids.sort_unstable();
    inst.prog_ids.dedup();
    let mut errors = Vec::new();
    if rec.btf_id == 0 {
        return (inst, errors, false);
    }
    match layouts_from_bundle_btf(m, blobs, rec) {
        Ok(((k, v, ks, vs), type_errors)) => {
            let file = bundle::btf_files(m, rec.btf_id)
                .into_iter()
                .next()
                .unwrap_or_default();
            for (offset, why) in type_errors {
                errors.push(InputError::at_offset(
                    format!("{name}!{file}"),
                    offset.map(|o| o as u64),
                    why,
                ));
            }
            inst.key_layout = k;
            inst.value_layout = v;
            inst.key_scalar = ks;
            inst.value_scalar = vs;
            inst.btf_origin = Some(format!("map BTF (id {}) in {name}", rec.btf_id));
            errors.extend(drop_missized_types(
                &mut inst,
                rec,
                &format!("{name}!{file}"),
            ));
            (inst, errors, false)
        }
        Err(why) => {
            errors.push(InputError::new(
                format!("{name}!btf id {}", rec.btf_id),
                None,
                why,
            ));
            (inst, errors, true)
        }
    }
}

/// A key or value type whose BTF size is not the map's key_size or
/// value_size (the kernel refuses such a map, so the bundle's BTF or
/// manifest is inconsistent) is not used: comparing user types with it or
/// checking dumped bytes against it would be wrong. Each becomes an error
/// naming the BTF file, the type and both sizes; the map side is then
/// reported as compared with nothing.
fn drop_missized_types(
    inst: &mut MapInstance,
    rec: &crate::bundle::MapRecord,
    file: &str,
) -> Vec<InputError> {
    let mut errors = Vec::new();
    for (what, type_id, size) in [
        ("key", rec.btf_key_type_id, rec.key_size),
        ("value", rec.btf_value_type_id, rec.value_size),
    ] {
        let (layout, scalar) = match what {
            "key" => (&mut inst.key_layout, &mut inst.key_scalar),
            _ => (&mut inst.value_layout, &mut inst.value_scalar),
        };
        let found = layout
            .as_ref()
            .map(|l| (l.display_name(), l.size))
            .or_else(|| scalar.as_ref().map(|t| (t.name.clone(), t.ty.size())));
        let Some((type_name, type_size)) = found else {
            continue;
        };
        if type_size == size as u64 {
            continue;
        }
        // A type with nothing to lay out (a function, a forward
        // declaration, void) says which BTF kind it is.
        let why = match scalar.as_ref().map(|t| &t.ty) {
            Some(crate::model::layout::FieldType::Opaque { what: kind, .. }) => format!(
                "the {what} type `{type_name}` (type id {type_id}) is a {kind}, which has no size or layout, but map {} (id {}) has {size}-byte {what}s: this type is not used",
                rec.name, rec.id
            ),
            _ => format!(
                "the {what} type `{type_name}` (type id {type_id}) is {type_size} bytes, but map {} (id {}) has {size}-byte {what}s: the BTF and the map disagree, so this type is not used",
                rec.name, rec.id
            ),
        };
        errors.push(InputError::new(file, None, why));
        *layout = None;
        *scalar = None;
    }
    errors
}

/// The decoded variables of the configuration map `map` from its dump
/// `bytes` (a `bpftool -j map dump`: its first entry's value).
fn config_of(map: &MapInstance, bytes: &[u8]) -> Option<crate::report::config::MapConfig> {
    let layout = map.value_layout.as_deref()?;
    let dump = crate::ingest::bpftool_json::read_dump_here(bytes);
    let entry = dump.get(0)?;
    let crate::model::dump::EntryValue::Single(value) = entry.value else {
        return None;
    };
    crate::report::config::MapConfig::decode(map.map_ref(), layout, value)
}

/// Checks a dump of `map` as it streams out of `reader`, a batch of
/// entries at a time, keeping only the findings and the keys.
fn check_streamed(reader: &mut dyn Read, map: &MapInstance, file: &str) -> CheckedDump {
    let mut checker = DumpChecker::new(DumpContext {
        file,
        map: Some(map.map_ref()),
        key: map.key_layout.as_deref(),
        value: map.value_layout.as_deref(),
        map_type: map.map_type,
        max_entries: map.max_entries,
    });
    crate::ingest::bpftool_json::read_dump_batches(
        reader,
        crate::ingest::bpftool_json::BATCH_ENTRIES,
        &mut |batch| checker.feed(&batch),
    );
    checker.finish()
}

/// A map's key and value layouts, where they are structs or unions, and
/// its key and value types where they are not.
type KeyValueLayouts = (
    Option<Arc<Layout>>,
    Option<Arc<Layout>>,
    Option<ScalarType>,
    Option<ScalarType>,
);

fn layouts_from_bundle_btf(
    m: &crate::bundle::Manifest,
    blobs: &HashMap<String, Vec<u8>>,
    rec: &crate::bundle::MapRecord,
) -> Result<(KeyValueLayouts, Vec<TypeError>), String> {
    bundle::with_btf(m, blobs, rec.btf_id, |btf| {
        let mut engine = BtfLayouts::new(btf);
        key_value_types(
            &mut engine,
            &rec.name,
            Some(rec.btf_key_type_id),
            Some(rec.btf_value_type_id),
        )
    })
}

/// `input/unreadable` findings for the `.maps` attributes of `d` (and of its
/// inner map) that could not be read: each costs only that attribute.
fn skipped_attributes(file: &str, d: &crate::model::map::MapDef) -> Vec<Finding> {
    let inner = d.inner.as_deref().into_iter();
    std::iter::once(d)
        .chain(inner)
        .flat_map(|def| def.skipped.iter().map(move |a| (def, a)))
        .map(|(def, a)| {
            let attr = if a.member.is_empty() {
                "definition".to_string()
            } else {
                format!("attribute `{}`", a.member)
            };
            let (severity, fix) = if a.known {
                (
                    Severity::Warning,
                    "libbpf rejects this spelling too: declare it with __uint(name, N), __ulong(name, N), __type(name, T) or __array(values, T) as bpf_helpers.h defines them.",
                )
            } else {
                (
                    Severity::Info,
                    "Nothing else in the map depends on it; checks that would need this attribute are not made. libbpf refuses unknown attributes unless its maps are relaxed.",
                )
            };
            Finding::new(
                crate::model::finding::Code::InputUnreadable,
                severity,
                format!(
                    "{file}: map `{}` {attr} skipped: {}; the rest of the map is read",
                    def.name, a.why
                ),
            )
            .with_map(Some(crate::model::finding::MapRef {
                id: None,
                name: d.name.clone(),
            }))
            .with_evidence(serde_json::json!({
                "file": file,
                "map": def.name,
                "attribute": a.member,
                "known_to_libbpf": a.known,
                "reason": a.why,
            }))
            .with_fix(fix)
        })
        .collect()
}

/// A bundle member that is one dump of a map over time: a snapshot
/// (`manifest.snapshots`), or the main dump of an earlier bundle.
struct SampleMember {
    map_id: u32,
    map_name: String,
    seq: u32,
    time_ms: Option<i64>,
    key_size: usize,
    /// `--redact keys` zeroed the key bytes: only the counts compare.
    keys_masked: bool,
}

impl SampleMember {
    fn sample(&self, source: String) -> KeySample {
        let mut s = KeySample::new(self.time_ms, source, self.key_size);
        s.map_name = self.map_name.clone();
        if self.keys_masked {
            s.keys_kept = false;
        }
        s
    }
}

/// The dumps of `m` that are snapshots of a map, by member path (seq 0 is
/// the map's main dump). Empty without `collect --snapshots`.
fn snapshot_members(m: &crate::bundle::Manifest) -> HashMap<String, SampleMember> {
    m.snapshots
        .iter()
        .filter_map(|s| {
            let rec = m.maps.iter().find(|r| r.id == s.map_id)?;
            Some((
                s.dump.clone(),
                SampleMember {
                    map_id: s.map_id,
                    map_name: rec.name.clone(),
                    seq: s.seq,
                    time_ms: crate::bundle::unix_ms(&s.time),
                    key_size: rec.key_size as usize,
                    keys_masked: m.map_redaction(rec).key.is_masked(),
                },
            ))
        })
        .collect()
}

/// Adds each map's main dump to `members` as its sample at the bundle's
/// time, where the snapshots do not list it already.
fn main_dump_members(m: &crate::bundle::Manifest, members: &mut HashMap<String, SampleMember>) {
    for rec in &m.maps {
        if let Some(d) = &rec.dump {
            members.entry(d.clone()).or_insert_with(|| SampleMember {
                map_id: rec.id,
                map_name: rec.name.clone(),
                seq: 0,
                time_ms: crate::bundle::unix_ms(&m.created),
                key_size: rec.key_size as usize,
                keys_masked: m.map_redaction(rec).key.is_masked(),
            });
        }
    }
}

/// The keys of a dump streamed from `r` (a later snapshot, or a dump of an
/// earlier bundle), without checking it.
fn sample_dump(r: &mut dyn Read, s: &SampleMember, bundle: &str, path: &str) -> KeySample {
    let mut sample = s.sample(format!("{bundle}!{path}"));
    crate::ingest::bpftool_json::read_dump_batches(
        r,
        crate::ingest::bpftool_json::BATCH_ENTRIES,
        &mut |batch| {
            if !batch.problems.is_empty() {
                sample.truncated = true;
            }
            for e in batch.entries() {
                if e.formatted {
                    sample.push_unknown();
                } else {
                    sample.push(e.key);
                }
            }
        },
    );
    sample
}

/// The keys of a main dump the checks already read.
fn sample_checked(checked: &CheckedDump, s: &SampleMember, file: &str) -> KeySample {
    use crate::model::finding::Code;
    let mut sample = s.sample(file.to_string());
    for i in 0..checked.keys.len() {
        if checked.keys.is_formatted(i) {
            sample.push_unknown();
        } else {
            sample.push(checked.keys.key(i));
        }
    }
    sample.truncated = checked.entries != checked.keys.len()
        || checked
            .findings
            .iter()
            .any(|f| matches!(f.code, Code::DumpTruncated | Code::InputUnreadable));
    sample
}

/// The keys of a main dump parsed whole.
fn sample_parsed(dump: &MapDump, s: &SampleMember, file: &str) -> KeySample {
    let mut sample = s.sample(file.to_string());
    for e in dump.entries() {
        if e.formatted {
            sample.push_unknown();
        } else {
            sample.push(e.key);
        }
    }
    sample.truncated = !dump.problems.is_empty();
    sample
}

/// A bundle file by its name (`.tar`, `.tar.gz`, `.tgz`), as collect and
/// the agent write them; dot files (temporaries) are not.
fn is_bundle_name(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.')
        && (name.ends_with(".tar") || name.ends_with(".tar.gz") || name.ends_with(".tgz"))
}

/// Where and when a bundle among the inputs was collected, from its
/// manifest: read once per bundle, for both [`expand_bundle_dirs`] and
/// [`earlier_bundles`] (opening a tar reads up to its manifest).
struct BundleHead {
    host: String,
    created_ms: Option<i64>,
}

fn bundle_head(p: &Path) -> Option<BundleHead> {
    let m = Bundle::open(p).ok()?.manifest;
    Some(BundleHead {
        created_ms: crate::bundle::unix_ms(&m.created),
        host: m.host.hostname,
    })
}

/// Inputs with each directory of bundles of one node (the agent's `--out`)
/// replaced by its bundle files in name order, and the heads read on the
/// way. A directory without bundle files (a Go package, an unpacked
/// bundle), or with bundles of several nodes, stays as given.
fn expand_bundle_dirs(inputs: &[PathBuf]) -> (Vec<PathBuf>, HashMap<PathBuf, BundleHead>) {
    let mut out = Vec::new();
    let mut heads = HashMap::new();
    for p in inputs {
        let listed: Vec<PathBuf> = if p.is_dir() && !bundle::is_bundle(p) {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                        .map(|e| e.path())
                        .filter(|p| is_bundle_name(p))
                        .take(crate::limits::MAX_MANIFEST_ENTRIES as usize)
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        } else {
            Vec::new()
        };
        let listed_heads: Vec<Option<BundleHead>> = listed.iter().map(|b| bundle_head(b)).collect();
        // Bundles of several nodes (or one that cannot be read) are a
        // fleet, not a case over time: the directory stays as given, and
        // is refused with a hint to `fleet`.
        let first_host = listed_heads
            .first()
            .and_then(|h| h.as_ref())
            .map(|h| &h.host);
        let one_node = listed_heads
            .iter()
            .all(|h| matches!((h, first_host), (Some(h), Some(f)) if h.host == *f));
        if listed.is_empty() || !one_node {
            out.push(p.clone());
        } else {
            for (b, h) in listed.iter().zip(listed_heads) {
                heads.extend(h.map(|h| (b.clone(), h)));
            }
            out.extend(listed);
        }
    }
    (out, heads)
}

/// Among several bundles of one node (same hostname), all but the latest
/// (by `created`): their dumps become earlier samples of the latest's maps
/// for `dump/growing`, and the latest is the case. Bundles of different
/// nodes are each a case of their own (none is earlier). `heads` are the
/// bundles already read by [`expand_bundle_dirs`].
fn earlier_bundles(inputs: &[PathBuf], mut heads: HashMap<PathBuf, BundleHead>) -> Vec<PathBuf> {
    let candidates: Vec<&PathBuf> = inputs
        .iter()
        .filter(|p| !crate::ingest::read::is_stdin(p) && bundle::is_bundle(p))
        .collect();
    // One bundle is a case of its own: its manifest is read once, by the
    // loading, not here too (a fleet worker holds one manifest at a time).
    if candidates.len() < 2 {
        return Vec::new();
    }
    let mut bundles: Vec<(i64, &PathBuf, String)> = candidates
        .into_iter()
        .filter_map(|p| {
            let h = heads.remove(p).or_else(|| bundle_head(p))?;
            Some((h.created_ms?, p, h.host))
        })
        .collect();
    if bundles.len() < 2 || bundles.iter().any(|b| b.2 != bundles[0].2) {
        return Vec::new();
    }
    bundles.sort_by_key(|b| b.0);
    bundles.pop();
    bundles.into_iter().map(|b| b.1.clone()).collect()
}

/// An earlier bundle of the case's node: only its maps' dumps are read,
/// as samples over time. One that cannot be read costs only its samples.
fn load_earlier_bundle(case: &mut Case, path: &Path) {
    let mut bundle = match Bundle::open(path) {
        Ok(b) => b,
        Err(e) => return case.unreadable("bundle (earlier)", &e),
    };
    let name = bundle.name.clone();
    let m = bundle.manifest.clone();
    let mut members = snapshot_members(&m);
    main_dump_members(&m, &mut members);
    let mut samples = Vec::new();
    let read = bundle.for_each_file(&mut |p, r| {
        if let Some(s) = members.get(p) {
            samples.push((s.map_id, sample_dump(r, s, &name, p)));
        }
        Ok(())
    });
    match read {
        Ok(_) => {
            for (id, s) in samples {
                case.growth.entry(id).or_default().push(s);
            }
            case.read(&name, "bundle (earlier)");
        }
        Err(e) => case.unreadable("bundle (earlier)", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(id: u32, name: &str, key: u64) -> MapInstance {
        MapInstance {
            id: Some(id),
            name: name.into(),
            map_type: Some(MapType(1)),
            key_size: Some(key),
            value_size: Some(8),
            btf_origin: Some(format!("map BTF id {id}")),
            ..Default::default()
        }
    }

    fn object_map(name: &str, key: u64) -> MapInstance {
        MapInstance {
            name: name.into(),
            map_type: Some(MapType(1)),
            key_size: Some(key),
            value_size: Some(8),
            btf_origin: Some("BTF of x.bpf.o".into()),
            ..Default::default()
        }
    }

    /// A case holding `lives`, then object x.bpf.o's `objects` added as
    /// `load_object` adds them, then tied.
    fn tied(lives: Vec<MapInstance>, objects: Vec<MapInstance>) -> Case {
        let mut case = Case {
            maps: lives,
            ..Default::default()
        };
        case.read("x.bpf.o", "bpf-object");
        case.btf_sources.push(BtfSource {
            origin: "BTF of x.bpf.o".into(),
            file: "x.bpf.o".into(),
            maps: objects.len(),
            data: Vec::new(),
        });
        for m in objects {
            case.add_object_map(m);
        }
        case.tie_object_maps();
        case
    }

    fn names(case: &Case) -> Vec<(String, Option<u32>)> {
        (case.maps.iter()).map(|m| (m.name.clone(), m.id)).collect()
    }

    #[test]
    fn a_long_name_ties_to_its_one_kernel_copy_of_the_same_sizes() {
        let case = tied(
            vec![live(7, "established_ses", 8)],
            vec![object_map("established_sessions", 8)],
        );
        assert_eq!(names(&case), [("established_ses".into(), Some(7))]);
        assert!(case.inputs[0].status.ends_with(
            "map `established_sessions` is live map `established_ses` (id 7), the kernel's 15-byte copy of its name"
        ));
        // Other sizes: another map, left apart.
        let case = tied(
            vec![live(7, "established_ses", 12)],
            vec![object_map("established_sessions", 8)],
        );
        assert_eq!(case.maps.len(), 2);
        assert_eq!(case.inputs[0].status, "read");
    }

    #[test]
    fn colliding_kernel_copies_and_several_live_candidates_stay_apart() {
        // Two object maps cut to one name.
        let case = tied(
            vec![
                live(7, "conntrack_flows", 12),
                live(8, "conntrack_flows", 36),
            ],
            vec![
                object_map("conntrack_flows_by_tuple", 12),
                object_map("conntrack_flows_by_tuple6", 36),
            ],
        );
        assert_eq!(case.maps.len(), 4, "{:?}", names(&case));
        // Two live maps that would both do.
        let case = tied(
            vec![live(7, "established_ses", 8), live(8, "established_ses", 8)],
            vec![object_map("established_sessions", 8)],
        );
        assert_eq!(case.maps.len(), 3, "{:?}", names(&case));
    }

    #[test]
    fn a_same_named_live_map_of_other_sizes_is_not_the_objects() {
        // `start` is in a dozen libbpf-tools, of different sizes.
        let case = tied(vec![live(7, "start", 4)], vec![object_map("start", 8)]);
        assert_eq!(
            names(&case),
            [("start".into(), Some(7)), ("start".into(), None)]
        );
        let case = tied(vec![live(7, "start", 8)], vec![object_map("start", 8)]);
        assert_eq!(names(&case), [("start".into(), Some(7))]);
    }

    #[test]
    fn an_object_read_before_the_bundle_ties_all_the_same() {
        let mut case = Case::default();
        case.read("x.bpf.o", "bpf-object");
        case.btf_sources.push(BtfSource {
            origin: "BTF of x.bpf.o".into(),
            file: "x.bpf.o".into(),
            maps: 2,
            data: Vec::new(),
        });
        case.add_object_map(object_map("flows", 8));
        case.add_object_map(object_map("established_sessions", 8));
        case.maps.push(live(7, "flows", 8));
        case.maps.push(live(8, "established_ses", 8));
        case.tie_object_maps();
        assert_eq!(
            names(&case),
            [
                ("flows".into(), Some(7)),
                ("established_ses".into(), Some(8))
            ]
        );
    }
}
