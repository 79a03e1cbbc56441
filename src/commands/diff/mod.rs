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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::{IntoDiagnostic, Result};

use super::decode::{read_dump_file, resolve_types, MapTypes, TypeSource};
use crate::analyses::dump_diff::diff_dumps;
use crate::error::InputError;
use crate::ingest::bundle::is_bundle;
use crate::model::decode::{decode, Decoded};
use crate::model::dump::{hex_bytes, DumpEntry, EntryValue, MapDump};
use crate::model::finding::Position;
use crate::report::dump_diff::{
    self as render, ChangedOut, DiffReport, FieldChange, KeyedEntry, SideCounts, ValueDiffOut,
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
    /// The earlier `bpftool map dump` capture (`-j`/`-p` JSON or text), or a
    /// bundle (alone: its snapshots are compared).
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
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// Runs the form the inputs call for. Bad usage (a bundle with a dump file,
/// `--btf` with bundles) and an input that cannot be read at all are errors
/// (exit 2); differences are not.
pub fn run(args: &DiffArgs) -> Result<ExitCode> {
    let old_bundle = is_bundle(&args.old);
    let new_bundle = args.new.as_deref().is_some_and(is_bundle);
    if (old_bundle || new_bundle) && args.btf.is_some() {
        return Err(miette::miette!(
            "--btf/--map/--key-type/--value-type are for dump files; a bundle carries each map's BTF"
        ));
    }
    match &args.new {
        None if old_bundle => {
            let report = bundles::diff_snapshots(&args.old)?;
            write_bundle_report(args.format, &report)
        }
        Some(new) if old_bundle && new_bundle => {
            let report = bundles::diff_bundles(&args.old, new)?;
            write_bundle_report(args.format, &report)
        }
        // Two dump files; a missing path fails here, naming it, as before
        // bundles were accepted.
        Some(new) if !old_bundle && !new_bundle => diff_dump_files(args, new),
        Some(new) => {
            let (bundle, other) = if old_bundle {
                (&args.old, new)
            } else {
                (new, &args.old)
            };
            must_exist(other)?;
            Err(miette::miette!(
                "{} is a bundle and {} is not: give two dumps of one map, two bundles, or one bundle with snapshots",
                bundle.display(),
                other.display()
            ))
        }
        None => {
            must_exist(&args.old)?;
            Err(miette::miette!(
                "{} is not a bundle: give NEW too (only a bundle is diffed alone, through its snapshots)",
                args.old.display()
            ))
        }
    }
}

fn must_exist(path: &Path) -> Result<(), InputError> {
    if path.exists() {
        return Ok(());
    }
    Err(InputError::new(
        path.display().to_string(),
        None,
        "no such file or directory",
    ))
}

/// `diff OLD NEW` of two dump files.
fn diff_dump_files(args: &DiffArgs, new_path: &Path) -> Result<ExitCode> {
    let types = match &args.btf {
        Some(file) => Some(resolve_types(TypeSource::Btf {
            file,
            map: args.map.as_deref(),
            key_type: args.key_type.as_deref(),
            value_type: args.value_type.as_deref(),
        })?),
        None => None,
    };
    let old = read_dump_file(&args.old)?;
    let new = read_dump_file(new_path)?;
    let report = pair_report(
        args.old.display().to_string(),
        new_path.display().to_string(),
        &old,
        &new,
        types.as_ref(),
        types.as_ref(),
    );
    write_stdout(|out| match args.format {
        DiffFormat::Text => render::write_text(out, &report),
        DiffFormat::Json => render::write_json(out, &report),
    })
}

fn write_bundle_report(format: DiffFormat, report: &render::BundleDiffReport) -> Result<ExitCode> {
    write_stdout(|out| match format {
        DiffFormat::Text => render::write_bundle_text(out, report),
        DiffFormat::Json => render::write_bundle_json(out, report),
    })
}

fn write_stdout(
    f: impl FnOnce(&mut std::io::BufWriter<std::io::StdoutLock<'static>>) -> std::io::Result<()>,
) -> Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    f(&mut out).into_diagnostic()?;
    out.flush().into_diagnostic()?;
    Ok(ExitCode::SUCCESS)
}

/// Compares two dumps of one map and shapes the result for the renderers:
/// keys as hex (decoded when the types are known), changed value offsets and
/// fields, duplicates and read problems. `old_name`/`new_name` name the
/// dumps in the report. Each dump decodes with its own side's types (two
/// bundles can hold the map before and after a reload that changed them).
/// The one place every form of `diff` builds a report.
pub fn pair_report(
    old_name: String,
    new_name: String,
    old: &MapDump,
    new: &MapDump,
    old_types: Option<&MapTypes>,
    new_types: Option<&MapTypes>,
) -> DiffReport {
    let diff = diff_dumps(old, new);
    let keyed = |dump: &MapDump, types: Option<&MapTypes>, index: usize| -> Option<KeyedEntry> {
        let e = dump.get(index)?;
        Some(KeyedEntry {
            index,
            key: key_string(&e),
            key_decoded: decode_key(types, &e),
        })
    };
    DiffReport {
        old: old_name,
        new: new_name,
        added: diff
            .added
            .iter()
            .filter_map(|&i| keyed(new, new_types, i))
            .collect(),
        removed: diff
            .removed
            .iter()
            .filter_map(|&i| keyed(old, old_types, i))
            .collect(),
        changed: diff
            .changed
            .iter()
            .filter_map(|c| {
                let (o, n) = (old.get(c.old)?, new.get(c.new)?);
                Some(ChangedOut {
                    old_index: c.old,
                    new_index: c.new,
                    key: key_string(&n),
                    key_decoded: decode_key(new_types, &n),
                    value_diffs: c
                        .diffs
                        .iter()
                        .map(|d| ValueDiffOut {
                            cpu: d.cpu,
                            offsets: d.offsets.clone(),
                        })
                        .collect(),
                    value_missing: c.value_missing,
                    fields: field_changes(old_types, new_types, &o, &n),
                })
            })
            .collect(),
        unchanged: diff.unchanged,
        duplicate_keys: SideCounts {
            old: diff
                .duplicates_old
                .iter()
                .filter_map(|&i| keyed(old, old_types, i))
                .collect(),
            new: diff
                .duplicates_new
                .iter()
                .filter_map(|&i| keyed(new, new_types, i))
                .collect(),
        },
        problems: SideCounts {
            old: problems(old),
            new: problems(new),
        },
    }
}

/// Hex key bytes, or the key text of a formatted-text entry.
fn key_string(e: &DumpEntry<'_>) -> String {
    if e.formatted {
        String::from_utf8_lossy(e.key).into_owned()
    } else {
        hex_bytes(e.key)
    }
}

fn decode_key(types: Option<&MapTypes>, e: &DumpEntry<'_>) -> Option<Decoded> {
    let t = types?;
    if e.formatted {
        return None;
    }
    decode(&t.key.ty, &t.key.name, e.key).ok()
}

/// Top-level value fields whose decoded values differ, per CPU for per-CPU
/// maps. Each value decodes with its own side's type; when the two sides'
/// members differ (a reload changed the type), the whole values are shown.
fn field_changes(
    old_types: Option<&MapTypes>,
    new_types: Option<&MapTypes>,
    old: &DumpEntry<'_>,
    new: &DumpEntry<'_>,
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

fn problems(dump: &MapDump) -> Vec<String> {
    dump.problems
        .iter()
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
