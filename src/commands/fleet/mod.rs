//! `bpfcase fleet BUNDLE..|DIR`: many nodes' bundles in, one report out.
//! Finds the bundles (`discover`), analyses them on a bounded pool of
//! workers keeping a small summary of each (`summary`), and joins the
//! summaries into the fleet report (`aggregate`); renderers are
//! `report::fleet_*`.

use std::path::PathBuf;
use std::process::ExitCode;

use miette::Result;

use super::analyze::{FailOn, ReportFormat};
use crate::error::{InputError, WriteOutput};
use crate::report::fleet::FleetReport;

use crate::engine::fleet::{build_report, discover, summary};

#[derive(Debug, clap::Args)]
pub struct FleetArgs {
    /// Bundles (.tar, .tar.gz, directories with manifest.json), or
    /// directories holding them (one node's bundle each).
    #[arg(required = true, value_name = "BUNDLE|DIR")]
    pub inputs: Vec<PathBuf>,
    /// Report format [default: text, or as -o's extension says].
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    #[command(flatten)]
    pub out: super::output::OutputArgs,
    /// Exit with 1 when a finding at or above this severity is in any bundle
    /// (an unreadable bundle is an error).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Bundles analysed at once (default: the available cores). Each worker
    /// holds one bundle's analysis at a time.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
}

pub fn run(args: &FleetArgs) -> Result<ExitCode> {
    let format = args.out.format(args.format)?;
    if format == ReportFormat::Openmetrics {
        // Metrics describe one node; a fleet's are the nodes' own files,
        // scraped from each node (`analyze`/`watch --metrics`).
        return Err(miette::miette!(
            "--format openmetrics is written per node (`analyze`, `watch --metrics`); fleet renders human, json, md or html"
        ));
    }
    let found = discover::discover(&args.inputs)?;
    if found.bundles.is_empty() {
        let what = args
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(InputError::new(
            what,
            None,
            "no bundle found (.tar, .tar.gz, .tgz, or a directory with manifest.json)",
        )
        .into());
    }
    let jobs = args
        .jobs
        .map(|n| n as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let summaries = summary::summarise_all(&found.bundles, jobs);
    // Nothing could be read: the command could not run (exit 2), as analyze.
    if let Some(first) = summaries.iter().find_map(|s| s.outcome.as_ref().err()) {
        if summaries.iter().all(|s| s.outcome.is_err()) {
            return Err(miette::miette!(
                "no bundle could be read; the first: {first}"
            ));
        }
    }
    let report = build_report(summaries, found.ignored);
    let mut buf = Vec::new();
    render(&mut buf, &report, format, args.out.style()).out()?;
    args.out.write_all(&buf)?;
    let s = &report.summary;
    args.out.done(&format!(
        "{} ({} unreadable) in {}, {} with errors, {} with warnings",
        super::output::plural(s.bundles as u64, "bundle", "bundles"),
        s.unreadable,
        super::output::plural(s.groups as u64, "group", "groups"),
        s.bundles_with_errors,
        s.bundles_with_warnings
    ));
    Ok(args.fail_on.exit_code(report.severities()))
}

/// Renders the fleet report in `format`.
pub fn render(
    out: &mut Vec<u8>,
    report: &FleetReport,
    format: ReportFormat,
    style: crate::report::TextStyle,
) -> std::io::Result<()> {
    use crate::report::{fleet_html, fleet_human, fleet_json, fleet_markdown};
    match format {
        ReportFormat::Human => fleet_human::write(out, report, style),
        ReportFormat::Json => fleet_json::write(out, report),
        ReportFormat::Md => fleet_markdown::write(out, report),
        ReportFormat::Html => fleet_html::write(out, report),
        ReportFormat::Openmetrics => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "fleet has no openmetrics rendering",
        )),
    }
}
