//! `bpfcase diff`: entries added, removed and changed between two dumps of
//! one map, matched by key bytes; keys and changed value fields are decoded
//! when the types are known.
//!
//! Three forms, told apart by what the inputs are: two bpftool dump files
//! (`--btf` gives the types), one bundle (each map's consecutive
//! `--snapshots` dumps), or two bundles (each map's main dump in both).
//! Bundles carry each map's BTF, so their keys decode without `--btf`.
//! The comparing is the engine's ([`crate::engine::diff`]); this turns the
//! flags into its options and renders what it finds.

use std::path::PathBuf;
use std::process::ExitCode;

use miette::Result;

use super::output::{plural, Output, OutputArgs, ReportFormatName};
use crate::engine::decode::TypeOptions;
use crate::engine::diff::{diff, Diff, DiffOptions};
use crate::error::WriteOutput;
use crate::report::dump_diff as render;

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

/// Runs the form the inputs call for (the engine tells them apart) and
/// writes the report. Bad usage (a bundle with a dump file, `--btf` with
/// bundles) and an input that cannot be read at all are errors (exit 2);
/// differences are not.
pub fn run(args: &DiffArgs) -> Result<ExitCode> {
    let format = args.out.format(args.format)?;
    match diff(&args.options(format))? {
        Diff::Dumps(report) => {
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
        Diff::Bundles(report) => {
            let summary = plural(report.pairs.len() as u64, "pair of dumps", "pairs of dumps");
            write_report(&args.out, &summary, |out| match format {
                DiffFormat::Text => render::write_bundle_text(out, &report),
                DiffFormat::Json => render::write_bundle_json(out, &report),
            })
        }
    }
}

impl DiffArgs {
    /// The engine's options; a report in `format` lists this many changes
    /// of each kind (text: the first [`render::TEXT_CAP`]; JSON: all).
    fn options(&self, format: DiffFormat) -> DiffOptions {
        DiffOptions {
            old: self.old.clone(),
            new: self.new.clone(),
            types: self.btf.as_ref().map(|file| TypeOptions::Btf {
                file: file.clone(),
                map: self.map.clone(),
                key_type: self.key_type.clone(),
                value_type: self.value_type.clone(),
            }),
            keep: match format {
                DiffFormat::Text => render::TEXT_CAP,
                DiffFormat::Json => usize::MAX,
            },
        }
    }
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
