//! `bpfcase diff OLD NEW`: entries added, removed and changed between two
//! bpftool dumps of one map, matched by key bytes; with `--btf` the keys and
//! the changed value fields are decoded too.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use miette::{IntoDiagnostic, Result};

use super::decode::{read_dump_file, resolve_types, MapTypes, TypeSource};
use crate::analyses::dump_diff::diff_dumps;
use crate::model::decode::{decode, Decoded};
use crate::model::dump::{hex_bytes, DumpEntry, EntryValue, MapDump};
use crate::model::finding::Position;
use crate::report::dump_diff::{
    self as render, ChangedOut, DiffReport, FieldChange, KeyedEntry, SideCounts, ValueDiffOut,
};

/// Output of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// A summary line, then up to 50 entries of each kind.
    Text,
    /// One JSON object with every entry.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier `bpftool map dump` capture (`-j`/`-p` JSON or text).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The later capture of the same map.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// BTF of the map's types (a BPF object or raw BTF), to decode keys and changed fields.
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

pub fn run(args: &DiffArgs) -> Result<ExitCode> {
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
    let new = read_dump_file(&args.new)?;
    let diff = diff_dumps(&old, &new);

    let keyed = |dump: &MapDump, index: usize| -> Option<KeyedEntry> {
        let e = dump.get(index)?;
        Some(KeyedEntry {
            index,
            key: key_string(&e),
            key_decoded: decode_key(types.as_ref(), &e),
        })
    };
    let report = DiffReport {
        old: args.old.display().to_string(),
        new: args.new.display().to_string(),
        added: diff.added.iter().filter_map(|&i| keyed(&new, i)).collect(),
        removed: diff
            .removed
            .iter()
            .filter_map(|&i| keyed(&old, i))
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
                    key_decoded: decode_key(types.as_ref(), &n),
                    value_diffs: c
                        .diffs
                        .iter()
                        .map(|d| ValueDiffOut {
                            cpu: d.cpu,
                            offsets: d.offsets.clone(),
                        })
                        .collect(),
                    value_missing: c.value_missing,
                    fields: field_changes(types.as_ref(), &o, &n),
                })
            })
            .collect(),
        unchanged: diff.unchanged,
        duplicate_keys: SideCounts {
            old: diff
                .duplicates_old
                .iter()
                .filter_map(|&i| keyed(&old, i))
                .collect(),
            new: diff
                .duplicates_new
                .iter()
                .filter_map(|&i| keyed(&new, i))
                .collect(),
        },
        problems: SideCounts {
            old: problems(&old),
            new: problems(&new),
        },
    };

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        DiffFormat::Text => render::write_text(&mut out, &report),
        DiffFormat::Json => render::write_json(&mut out, &report),
    }
    .into_diagnostic()?;
    out.flush().into_diagnostic()?;
    Ok(ExitCode::SUCCESS)
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

/// Top-level value fields whose decoded values differ, per CPU for per-CPU maps.
fn field_changes(
    types: Option<&MapTypes>,
    old: &DumpEntry<'_>,
    new: &DumpEntry<'_>,
) -> Vec<FieldChange> {
    let Some(t) = types else {
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
            decode(&t.value.ty, &t.value.name, x),
            decode(&t.value.ty, &t.value.name, y),
        ) else {
            continue;
        };
        let cpu = per_cpu.then_some(cpu);
        match (a, b) {
            (Decoded::Object(xs), Decoded::Object(ys)) => {
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
                name: t.value.name.clone(),
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
