//! `bpfcase fleet BUNDLE..|DIR`: many nodes' bundles in, one report out.
//! The engine ([`crate::engine::fleet::run`]) finds the bundles, summarises
//! each on a bounded pool of workers and joins the summaries; this renders
//! the report (`report::fleet_*`) and writes it.

use std::path::PathBuf;
use std::process::ExitCode;

use miette::Result;

use super::analyze::{FailOn, ReportFormat};
use crate::engine::fleet::{self, FleetOptions};
use crate::error::WriteOutput;
use crate::report::fleet::FleetReport;

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
    let report = fleet::run(&FleetOptions {
        inputs: args.inputs.clone(),
        jobs: args.jobs.map_or_else(crate::cores, |n| n as usize),
    })?;
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
