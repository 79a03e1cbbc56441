//! The diff engine: entries added, removed and changed between two dumps
//! of one map, matched by key bytes; keys and changed value fields are
//! decoded when the types are known.
//!
//! Three forms, told apart by what the inputs are: two bpftool dump files
//! ([`DiffOptions::types`] gives the types), one bundle (each map's
//! consecutive snapshots), or two bundles (each map's main dump in both).
//! Bundles carry each map's BTF, so their keys decode without types given.
//! Every pair of dumps becomes a report through [`pair_report`] (whole
//! dumps) or the same collector fed by a stream (`bundles.rs`).

mod bundles;
mod pair;

use std::path::{Path, PathBuf};

pub use bundles::{diff_bundles, diff_snapshots};
pub use pair::pair_report;

use super::decode::TypeOptions;
use super::dumps::read_primary_dump;
use super::error::{EngineError, Result};
use crate::bundle::reader::is_bundle;
use crate::error::InputError;
use crate::report::dump_diff::{BundleDiffReport, DiffReport};

/// What `diff` compares, as plain values.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// The earlier dump file (`-`: standard input), or a bundle (alone:
    /// its snapshots are compared).
    pub old: PathBuf,
    /// The later dump of the same map, or a later bundle.
    pub new: Option<PathBuf>,
    /// The map's key and value types, for two dump files (bundles carry
    /// their own).
    pub types: Option<TypeOptions>,
    /// How many changes of each kind a pair's report lists (every change
    /// is counted): all by default; a text report lists
    /// [`TEXT_CAP`](crate::report::dump_diff::TEXT_CAP), and memory then
    /// does not grow with the number of changes.
    pub keep: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            old: PathBuf::new(),
            new: None,
            types: None,
            keep: usize::MAX,
        }
    }
}

/// What a diff found, by form.
#[derive(Debug)]
pub enum Diff {
    /// Two dump files of one map.
    Dumps(Box<DiffReport>),
    /// A bundle's snapshots, or two bundles: one report per pair of dumps.
    Bundles(BundleDiffReport),
}

/// Runs the form the inputs call for. Bad usage (a bundle with a dump
/// file, types with bundles) and an input that cannot be read at all are
/// errors; differences are not.
pub fn diff(opts: &DiffOptions) -> Result<Diff> {
    // Standard input is told by its first bytes (a tar header or gzip is a
    // bundle), which stay there for the reader.
    let old_bundle = is_bundle(&opts.old);
    let new_bundle = opts.new.as_deref().is_some_and(is_bundle);
    if (old_bundle || new_bundle) && opts.types.is_some() {
        return Err(EngineError::usage(
            "--btf/--map/--key-type/--value-type are for dump files; a bundle carries each map's BTF",
            "leave them out when diffing bundles",
        ));
    }
    match &opts.new {
        None if old_bundle => Ok(Diff::Bundles(diff_snapshots(&opts.old, opts.keep)?)),
        Some(new) if old_bundle && new_bundle => {
            Ok(Diff::Bundles(diff_bundles(&opts.old, new, opts.keep)?))
        }
        // Two dump files; a missing path fails here, naming it, as before
        // bundles were accepted.
        Some(new) if !old_bundle && !new_bundle => {
            Ok(Diff::Dumps(Box::new(diff_dump_files(opts, new)?)))
        }
        Some(new) => {
            let (bundle, other) = if old_bundle {
                (&opts.old, new)
            } else {
                (new, &opts.old)
            };
            must_exist(other)?;
            Err(EngineError::usage(
                format!(
                    "{} is a bundle and {} is not: give two dumps of one map, two bundles, or one bundle with snapshots",
                    bundle.display(),
                    other.display()
                ),
                DIFF_FORMS,
            ))
        }
        None => {
            must_exist(&opts.old)?;
            Err(EngineError::usage(
                format!(
                    "{} is not a bundle: give NEW too (only a bundle is diffed alone, through its snapshots)",
                    opts.old.display()
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
fn diff_dump_files(opts: &DiffOptions, new_path: &Path) -> Result<DiffReport> {
    let types = opts.types.as_ref().map(TypeOptions::resolve).transpose()?;
    let old = read_primary_dump(&opts.old)?;
    let new = read_primary_dump(new_path)?;
    if types.is_none() {
        if let Some(text_is_old) = pair::cross_form(&old, &new) {
            let (text, bytes) = if text_is_old {
                (opts.old.as_path(), new_path)
            } else {
                (new_path, opts.old.as_path())
            };
            return Err(EngineError::usage(
                format!(
                    "{} is a BTF-formatted text dump (fields, no bytes) and {} holds bytes: give --btf FILE with --map NAME (or --key-type/--value-type) so its bytes decode and entries match by their fields",
                    text.display(),
                    bytes.display()
                ),
                "`bpfcase diff --help` has examples of each form",
            ));
        }
    }
    Ok(pair_report(
        opts.old.display().to_string(),
        new_path.display().to_string(),
        &old,
        &new,
        types.as_ref(),
        types.as_ref(),
        opts.keep,
    ))
}
