//! `bpfcase diff`: entries added, removed and changed between two dumps of
//! one map, matched by key bytes; keys and changed value fields are decoded
//! when the types are known.
//!
//! Three forms, told apart by what the inputs are: two bpftool dump files
//! (`--btf` gives the types), one bundle (each map's consecutive
//! `--snapshots` dumps), or two bundles (each map's main dump in both).
//! Bundles carry each map's BTF, so their keys decode without `--btf`.
//! Every pair of dumps becomes a report through [`pair_report`].

mod bundles;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use miette::Result;

use super::output::{plural, Output, OutputArgs, ReportFormatName};
use crate::analyses::dump_diff::{Change, ChangedEntry, DiffStream, Entry, EntryStore};
use crate::bundle::reader::is_bundle;
use crate::engine::dumps::{decode_entry, read_primary_dump};
use crate::engine::types::{resolve_types, MapTypes, TypeSource};
use crate::error::{InputError, WriteOutput};
use crate::model::decode::{decode, Decoded};
use crate::model::dump::{hex_bytes, DumpForm, DumpProblem, EntryValue, MapDump};
use crate::model::finding::Position;
use crate::model::layout::{ByteOrder, FieldType};
use crate::report::dump_diff::{
    self as render, ChangedOut, DiffReport, FieldChange, KeyedEntry, SideCounts, Unlisted,
    ValueDiffOut,
};

/// Output of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// A summary line, then up to 50 entries of each kind (per pair of dumps).
    Text,
    /// One JSON object with every entry.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier `bpftool map dump` capture (`-j`/`-p` JSON or text; `-`:
    /// standard input), or a bundle (alone: its snapshots are compared).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The later capture of the same map, or a later bundle.
    #[arg(value_name = "NEW")]
    pub new: Option<PathBuf>,
    /// BTF of the map's types (a BPF object or raw BTF), to decode keys and
    /// changed fields of dump files (bundles carry their own).
    #[arg(long, value_name = "FILE")]
    pub btf: Option<PathBuf>,
    /// Take key and value types from this map's `.maps` definition (needs --btf).
    #[arg(long, value_name = "NAME", requires = "btf", conflicts_with_all = ["key_type", "value_type"])]
    pub map: Option<String>,
    /// Key type name (needs --btf).
    #[arg(long, value_name = "T", requires_all = ["btf", "value_type"])]
    pub key_type: Option<String>,
    /// Value type name (needs --btf).
    #[arg(long, value_name = "T", requires_all = ["btf", "key_type"])]
    pub value_type: Option<String>,
    /// Output format [default: text, or as -o's extension says].
    #[arg(long, value_enum)]
    pub format: Option<DiffFormat>,
    #[command(flatten)]
    pub out: OutputArgs,
}

impl ReportFormatName for DiffFormat {
    const DEFAULT: Self = DiffFormat::Text;
}

/// Runs the form the inputs call for. Bad usage (a bundle with a dump file,
/// `--btf` with bundles) and an input that cannot be read at all are errors
/// (exit 2); differences are not.
pub fn run(args: &DiffArgs) -> Result<ExitCode> {
    let format = args.out.format(args.format)?;
    // Standard input is told by its first bytes (a tar header or gzip is a
    // bundle), which stay there for the reader.
    let is_bundle = |p: &Path| is_bundle(p);
    let old_bundle = is_bundle(&args.old);
    let new_bundle = args.new.as_deref().is_some_and(is_bundle);
    if (old_bundle || new_bundle) && args.btf.is_some() {
        return Err(crate::error::usage(
            "--btf/--map/--key-type/--value-type are for dump files; a bundle carries each map's BTF",
            "leave them out when diffing bundles",
        ));
    }
    match &args.new {
        None if old_bundle => {
            let report = bundles::diff_snapshots(&args.old, kept_for(format))?;
            write_bundle_report(&args.out, format, &report)
        }
        Some(new) if old_bundle && new_bundle => {
            let report = bundles::diff_bundles(&args.old, new, kept_for(format))?;
            write_bundle_report(&args.out, format, &report)
        }
        // Two dump files; a missing path fails here, naming it, as before
        // bundles were accepted.
        Some(new) if !old_bundle && !new_bundle => diff_dump_files(args, format, new),
        Some(new) => {
            let (bundle, other) = if old_bundle {
                (&args.old, new)
            } else {
                (new, &args.old)
            };
            must_exist(other)?;
            Err(crate::error::usage(
                format!(
                    "{} is a bundle and {} is not: give two dumps of one map, two bundles, or one bundle with snapshots",
                    bundle.display(),
                    other.display()
                ),
                DIFF_FORMS,
            ))
        }
        None => {
            must_exist(&args.old)?;
            Err(crate::error::usage(
                format!(
                    "{} is not a bundle: give NEW too (only a bundle is diffed alone, through its snapshots)",
                    args.old.display()
                ),
                DIFF_FORMS,
            ))
        }
    }
}

/// The forms `diff` takes, for the help line of a usage error.
const DIFF_FORMS: &str =
    "`bpfcase diff OLD NEW` (two dumps of one map or two bundles), `bpfcase diff BUNDLE` (its snapshots)";

fn must_exist(path: &Path) -> Result<(), InputError> {
    if path.exists() || crate::ingest::read::is_stdin(path) {
        return Ok(());
    }
    Err(InputError::new(
        path.display().to_string(),
        None,
        "no such file or directory",
    ))
}

/// `diff OLD NEW` of two dump files.
fn diff_dump_files(args: &DiffArgs, format: DiffFormat, new_path: &Path) -> Result<ExitCode> {
    let types = match &args.btf {
        Some(file) => Some(resolve_types(TypeSource::Btf {
            file,
            map: args.map.as_deref(),
            key_type: args.key_type.as_deref(),
            value_type: args.value_type.as_deref(),
        })?),
        None => None,
    };
    let old = read_primary_dump(&args.old)?;
    let new = read_primary_dump(new_path)?;
    if types.is_none() {
        if let Some((text, bytes)) = cross_form(&old, &new).map(|text_is_old| {
            if text_is_old {
                (args.old.as_path(), new_path)
            } else {
                (new_path, args.old.as_path())
            }
        }) {
            return Err(crate::error::usage(
                format!(
                    "{} is a BTF-formatted text dump (fields, no bytes) and {} holds bytes: give --btf FILE with --map NAME (or --key-type/--value-type) so its bytes decode and entries match by their fields",
                    text.display(),
                    bytes.display()
                ),
                "`bpfcase diff --help` has examples of each form",
            ));
        }
    }
    let report = pair_report(
        args.old.display().to_string(),
        new_path.display().to_string(),
        &old,
        &new,
        types.as_ref(),
        types.as_ref(),
        kept_for(format),
    );
    let summary = format!(
        "{} added, {} removed, {} changed",
        report.added.len() + report.unlisted.added,
        report.removed.len() + report.unlisted.removed,
        report.changed.len() + report.unlisted.changed
    );
    write_report(&args.out, &summary, |out| match format {
        DiffFormat::Text => render::write_text(out, &report),
        DiffFormat::Json => render::write_json(out, &report),
    })
}

fn write_bundle_report(
    out: &OutputArgs,
    format: DiffFormat,
    report: &render::BundleDiffReport,
) -> Result<ExitCode> {
    let summary = plural(report.pairs.len() as u64, "pair of dumps", "pairs of dumps");
    write_report(out, &summary, |out| match format {
        DiffFormat::Text => render::write_bundle_text(out, report),
        DiffFormat::Json => render::write_bundle_json(out, report),
    })
}

/// Writes the report where `-o` says, then the summary line (`-o FILE`).
fn write_report(
    args: &OutputArgs,
    summary: &str,
    f: impl FnOnce(&mut Output) -> std::io::Result<()>,
) -> Result<ExitCode> {
    let mut out = args.open()?;
    f(&mut out).out()?;
    out.finish().out()?;
    args.done(summary);
    Ok(ExitCode::SUCCESS)
}

/// Compares two dumps of one map and shapes the result for the renderers:
/// keys as hex (decoded when the types are known), changed value offsets and
/// fields, duplicates and read problems. `old_name`/`new_name` name the
/// dumps in the report. Each dump decodes with its own side's types (two
/// bundles can hold the map before and after a reload that changed them).
/// Whole dumps go through the same [`DiffStream`] and [`PairCollector`] as
/// streamed ones (`bundles.rs`), so every form of `diff` reports alike.
pub fn pair_report(
    old_name: String,
    new_name: String,
    old: &MapDump,
    new: &MapDump,
    old_types: Option<&MapTypes>,
    new_types: Option<&MapTypes>,
    keep: usize,
) -> DiffReport {
    // A BTF-formatted text dump has fields, not bytes: match the other
    // side's entries by their decoded fields instead of by key bytes.
    let views;
    let (old, new, note) = match cross_form(old, new) {
        Some(text_is_old) => {
            let bytes_types = if text_is_old { new_types } else { old_types };
            match bytes_types {
                Some(t) => {
                    views = (
                        formatted_view(old, if text_is_old { None } else { Some(t) }),
                        formatted_view(new, if text_is_old { Some(t) } else { None }),
                    );
                    (&views.0, &views.1, Some((text_is_old, CROSS_FORM_NOTE)))
                }
                None => (old, new, Some((text_is_old, CROSS_FORM_NO_TYPES))),
            }
        }
        None => (old, new, None),
    };
    let mut stream = DiffStream::new();
    stream.push_old(old);
    let mut collected = PairCollector::keeping(keep);
    stream.push_new(new, &mut |c| collected.take(c));
    collected.finish(&stream);
    let problems = SideCounts {
        old: problems(&old.problems)
            .into_iter()
            .chain(note.filter(|n| n.0).map(|n| n.1.to_string()))
            .collect(),
        new: problems(&new.problems)
            .into_iter()
            .chain(note.filter(|n| !n.0).map(|n| n.1.to_string()))
            .collect(),
    };
    let incomplete = SideCounts {
        old: !old.problems.is_empty(),
        new: !new.problems.is_empty(),
    };
    collected.report(
        old_name, new_name, old_types, new_types, problems, incomplete,
    )
}

/// What a [`DiffStream`] reported for one pair of dumps, kept compactly
/// (entry bytes in [`EntryStore`]s) until the report is shaped: the types
/// a streamed side decodes with may come later in its bundle than the dump.
/// Every change is counted; only the first `keep` of each kind are kept
/// (text output lists [`render::TEXT_CAP`]; JSON lists all), so in text
/// mode memory does not grow with the number of changes.
#[derive(Debug)]
pub(super) struct PairCollector {
    keep: usize,
    added: Kept,
    removed: Kept,
    duplicates_old: Kept,
    duplicates_new: Kept,
    changed_old: EntryStore,
    changed_new: EntryStore,
    changes: Vec<ChangedEntry>,
    changed_total: usize,
    unchanged: usize,
}

impl Default for PairCollector {
    /// Keeps every change.
    fn default() -> Self {
        PairCollector::keeping(usize::MAX)
    }
}

/// How many changes of each kind a report in `format` lists.
pub(super) fn kept_for(format: DiffFormat) -> usize {
    match format {
        DiffFormat::Text => render::TEXT_CAP,
        DiffFormat::Json => usize::MAX,
    }
}

/// Entries of one kind, and their indices in their dump: the first few
/// kept, all counted.
#[derive(Debug, Default)]
struct Kept {
    entries: EntryStore,
    index: Vec<usize>,
    total: usize,
}

impl Kept {
    fn push(&mut self, e: Entry<'_>, keep: usize) {
        self.total += 1;
        if self.index.len() < keep {
            self.entries.push(&e);
            self.index.push(e.index);
        }
    }

    /// Counted but not kept.
    fn unlisted(&self) -> usize {
        self.total - self.index.len()
    }

    fn keyed(&self, types: Option<&MapTypes>) -> Vec<KeyedEntry> {
        (0..self.entries.len())
            .filter_map(|i| {
                let e = self.entries.get(i)?;
                Some(KeyedEntry {
                    index: *self.index.get(i)?,
                    key: key_string(&e),
                    key_decoded: decode_key(types, &e),
                })
            })
            .collect()
    }
}

impl PairCollector {
    /// A collector that keeps the first `keep` changes of each kind.
    pub(super) fn keeping(keep: usize) -> Self {
        PairCollector {
            keep,
            added: Kept::default(),
            removed: Kept::default(),
            duplicates_old: Kept::default(),
            duplicates_new: Kept::default(),
            changed_old: EntryStore::default(),
            changed_new: EntryStore::default(),
            changes: Vec::new(),
            changed_total: 0,
            unchanged: 0,
        }
    }

    /// Counts one change, and keeps it while fewer than `keep` of its kind are.
    pub(super) fn take(&mut self, c: Change<'_>) {
        let keep = self.keep;
        match c {
            Change::Added(e) => self.added.push(e, keep),
            Change::Removed(e) => self.removed.push(e, keep),
            Change::DuplicateOld(e) => self.duplicates_old.push(e, keep),
            Change::DuplicateNew(e) => self.duplicates_new.push(e, keep),
            Change::Changed { old, new, change } => {
                self.changed_total += 1;
                if self.changes.len() < keep {
                    self.changed_old.push(&old);
                    self.changed_new.push(&new);
                    self.changes.push(change);
                }
            }
        }
    }

    /// Takes what `stream` reports once NEW has been streamed through it.
    pub(super) fn finish(&mut self, stream: &DiffStream) {
        self.unchanged = stream.finish(&mut |c| self.take(c));
    }

    /// The report, keys and changed fields decoded with each side's types.
    pub(super) fn report(
        self,
        old_name: String,
        new_name: String,
        old_types: Option<&MapTypes>,
        new_types: Option<&MapTypes>,
        problems: SideCounts<Vec<String>>,
        incomplete: SideCounts<bool>,
    ) -> DiffReport {
        // A key one side lacks is added or removed only if that side was
        // read whole; past a truncation or an error it was not compared.
        let pick = |incomplete: bool, n: usize| if incomplete { (0, n) } else { (n, 0) };
        let (added_unlisted, new_unlisted) = pick(incomplete.old, self.added.unlisted());
        let (removed_unlisted, old_unlisted) = pick(incomplete.new, self.removed.unlisted());
        let unlisted = Unlisted {
            added: added_unlisted,
            removed: removed_unlisted,
            not_compared_old: old_unlisted,
            not_compared_new: new_unlisted,
            changed: self.changed_total - self.changes.len(),
            duplicates_old: self.duplicates_old.unlisted(),
            duplicates_new: self.duplicates_new.unlisted(),
        };
        let changed = self
            .changes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let (o, n) = (self.changed_old.get(i)?, self.changed_new.get(i)?);
                Some(ChangedOut {
                    old_index: c.old,
                    new_index: c.new,
                    key: key_string(&n),
                    key_decoded: decode_key(new_types, &n),
                    // Offsets into formatted text would mean nothing.
                    value_diffs: c
                        .diffs
                        .iter()
                        .filter(|_| !(o.formatted || n.formatted))
                        .map(|d| ValueDiffOut {
                            cpu: d.cpu,
                            offsets: d.offsets.clone(),
                        })
                        .collect(),
                    value_missing: c.value_missing,
                    fields: if o.formatted || n.formatted {
                        formatted_change(&o, &n)
                    } else {
                        field_changes(old_types, new_types, &o, &n)
                    },
                })
            })
            .collect();
        let split = |incomplete: bool, list: Vec<KeyedEntry>| {
            if incomplete {
                (Vec::new(), list)
            } else {
                (list, Vec::new())
            }
        };
        let (added, not_compared_new) = split(incomplete.old, self.added.keyed(new_types));
        let (removed, not_compared_old) = split(incomplete.new, self.removed.keyed(old_types));
        DiffReport {
            old: old_name,
            new: new_name,
            added,
            removed,
            not_compared: SideCounts {
                old: not_compared_old,
                new: not_compared_new,
            },
            changed,
            unchanged: self.unchanged,
            duplicate_keys: SideCounts {
                old: self.duplicates_old.keyed(old_types),
                new: self.duplicates_new.keyed(new_types),
            },
            problems,
            unlisted,
        }
    }
}

/// Said of the BTF-formatted text side when the other side was decoded to match it.
const CROSS_FORM_NOTE: &str = "BTF-formatted text shows fields, not bytes: entries were matched by decoded keys and compared by decoded values; padding bytes cannot be compared (dump both with `bpftool -j` to compare bytes)";

/// Said of the BTF-formatted text side when the other side has no types.
const CROSS_FORM_NO_TYPES: &str = "BTF-formatted text shows fields, not bytes, and the other dump's types are unknown: its keys cannot be matched with these (no entry can match)";

/// `Some(true)` when OLD alone is BTF-formatted text, `Some(false)` when NEW
/// alone is, `None` when both dumps are of one kind (both bytes or both text).
fn cross_form(old: &MapDump, new: &MapDump) -> Option<bool> {
    let text = |d: &MapDump| d.form == DumpForm::TextFormatted;
    (text(old) != text(new)).then(|| text(old))
}

/// The dump with every entry as canonical compact JSON text (bpftool's
/// `formatted` shape, members in order): byte-form entries decoded with
/// `types`, formatted-text entries re-serialised so that spacing and number
/// spelling cannot make equal entries differ. One entry per entry, so
/// indices still point into the original dump; an entry that cannot be
/// decoded keeps its hex key (it then matches nothing).
fn formatted_view(dump: &MapDump, types: Option<&MapTypes>) -> MapDump {
    fn canonical(text: &[u8]) -> String {
        serde_json::from_slice::<serde_json::Value>(text)
            .map(|v| numbers_for_hex(v).to_string())
            .unwrap_or_else(|_| String::from_utf8_lossy(text).into_owned())
    }
    // bpftool prints what the bytes hold in host order, `__be32` included.
    let types = types.map(|t| {
        let mut t = t.clone();
        t.key.ty = host_order(&t.key.ty);
        t.value.ty = host_order(&t.value.ty);
        t
    });
    let types = types.as_ref();
    let mut view = MapDump::new(dump.form);
    for e in dump.entries() {
        let position = match e.position {
            Position::Line(l) => u64::from(l),
            Position::Offset(o) => o,
        };
        let per_cpu = matches!(e.value, EntryValue::PerCpu { .. });
        let (key, value) = match (e.formatted, types) {
            (true, _) => {
                let value = match e.value {
                    EntryValue::Single(v) | EntryValue::PerCpu { bytes: v, .. } => canonical(v),
                    EntryValue::Missing => String::new(),
                };
                (canonical(e.key), value)
            }
            (false, Some(t)) => match decode_entry(t, e.key, e.value)
                .ok()
                .and_then(|d| serde_json::to_value(&d).ok())
            {
                Some(serde_json::Value::Object(mut m)) => {
                    let key = numbers_for_hex(m.remove("key").unwrap_or_default()).to_string();
                    let value = m
                        .remove("values")
                        .or_else(|| m.remove("value"))
                        .map(numbers_for_hex)
                        .unwrap_or_default()
                        .to_string();
                    (key, value)
                }
                _ => (hex_bytes(e.key), String::new()),
            },
            (false, None) => (hex_bytes(e.key), String::new()),
        };
        view.push_formatted(position, &key, &value, per_cpu);
    }
    view.problems = dump.problems.clone();
    view.found = dump.found;
    view
}

/// Hex key bytes, or the key text of a formatted-text entry.
fn key_string(e: &Entry<'_>) -> String {
    if e.formatted {
        String::from_utf8_lossy(e.key).into_owned()
    } else {
        hex_bytes(e.key)
    }
}

fn decode_key(types: Option<&MapTypes>, e: &Entry<'_>) -> Option<Decoded> {
    let t = types?;
    if e.formatted {
        return None;
    }
    decode(&t.key.ty, &t.key.name, e.key).ok()
}

/// `ty` as bpftool formats bytes (`btf_dumper.c`): every integer in host
/// order, and 32-bit enumerators (`BTF_KIND_ENUM`) compared as `s32` with
/// the value read signed, unmatched values printed signed. An `ENUM64`
/// whose enumerators all fit 32 bits is taken for an `ENUM` (they differ
/// only for values with bit 31 or 63 set).
fn host_order(ty: &FieldType) -> FieldType {
    match ty {
        FieldType::Enum(e)
            if e.values
                .iter()
                .all(|(_, v)| (i128::from(i32::MIN)..=i128::from(u32::MAX)).contains(v)) =>
        {
            let mut e = (**e).clone();
            e.signed = true;
            for (_, v) in &mut e.values {
                *v = i128::from(*v as u32 as i32);
            }
            FieldType::Enum(Arc::new(e))
        }
        FieldType::Int {
            size,
            signed,
            encoding,
            ..
        } => FieldType::Int {
            size: *size,
            signed: *signed,
            encoding: *encoding,
            byte_order: ByteOrder::Host,
        },
        FieldType::Array { elem, len } => FieldType::Array {
            elem: Arc::new(host_order(elem)),
            len: *len,
        },
        FieldType::Aggregate(l) => {
            let mut l = (**l).clone();
            for m in &mut l.members {
                m.ty = host_order(&m.ty);
            }
            FieldType::Aggregate(Arc::new(l))
        }
        other => other.clone(),
    }
}

/// Hex strings (`"0x5"`: bpftool's bitfields and 128-bit integers) as the
/// numbers they spell when they fit 64 bits, so that both spellings of one
/// value compare equal.
fn numbers_for_hex(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => match s
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
        {
            Some(n) => Value::from(n),
            None => Value::String(s),
        },
        Value::Array(xs) => Value::Array(xs.into_iter().map(numbers_for_hex).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, x)| (k, numbers_for_hex(x)))
                .collect(),
        ),
        other => other,
    }
}

/// Formatted entries have no value bytes to point into: the change is the
/// whole formatted value, old and new.
fn formatted_change(old: &Entry<'_>, new: &Entry<'_>) -> Vec<FieldChange> {
    let text = |e: &Entry<'_>| match e.value {
        EntryValue::Single(v) | EntryValue::PerCpu { bytes: v, .. } => {
            String::from_utf8_lossy(v).into_owned()
        }
        EntryValue::Missing => String::new(),
    };
    vec![FieldChange {
        cpu: None,
        name: "value".into(),
        old: Decoded::Str(text(old)),
        new: Decoded::Str(text(new)),
    }]
}

/// Top-level value fields whose decoded values differ, per CPU for per-CPU
/// maps. Each value decodes with its own side's type; when the two sides'
/// members differ (a reload changed the type), the whole values are shown.
fn field_changes(
    old_types: Option<&MapTypes>,
    new_types: Option<&MapTypes>,
    old: &Entry<'_>,
    new: &Entry<'_>,
) -> Vec<FieldChange> {
    let (Some(ot), Some(nt)) = (old_types, new_types) else {
        return Vec::new();
    };
    if old.formatted || new.formatted {
        return Vec::new();
    }
    let per_cpu = matches!(old.value, EntryValue::PerCpu { .. });
    let mut changes = Vec::new();
    for (cpu, (x, y)) in old
        .value
        .cpu_values()
        .into_iter()
        .zip(new.value.cpu_values())
        .enumerate()
    {
        let (Ok(a), Ok(b)) = (
            decode(&ot.value.ty, &ot.value.name, x),
            decode(&nt.value.ty, &nt.value.name, y),
        ) else {
            continue;
        };
        let cpu = per_cpu.then_some(cpu);
        // A global data section's changes are named by variable.
        let a = crate::model::decode::variables_as_members(&ot.value.ty, a);
        let b = crate::model::decode::variables_as_members(&nt.value.ty, b);
        match (a, b) {
            (Decoded::Object(xs), Decoded::Object(ys))
                if xs.len() == ys.len() && xs.iter().zip(&ys).all(|(p, q)| p.0 == q.0) =>
            {
                for ((name, va), (_, vb)) in xs.iter().zip(&ys) {
                    if va != vb {
                        changes.push(FieldChange {
                            cpu,
                            name: name.clone(),
                            old: va.clone(),
                            new: vb.clone(),
                        });
                    }
                }
            }
            (a, b) if a != b => changes.push(FieldChange {
                cpu,
                name: nt.value.name.clone(),
                old: a,
                new: b,
            }),
            _ => {}
        }
    }
    changes
}

/// A dump's problems as the report words them.
fn problems(list: &[DumpProblem]) -> Vec<String> {
    list.iter()
        .map(|p| {
            let at = match p.position {
                Position::Line(l) => format!("line {l}"),
                Position::Offset(o) => format!("byte offset {o}"),
            };
            format!(
                "{} at {at}: {} ({} entries read before it)",
                serde_json::to_value(p.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                p.message,
                p.entries_before
            )
        })
        .collect()
}
