//! `bpfcase analyze BUNDLE|DIR|FILES..`: loads everything into a case, runs
//! every analysis, and renders the report.

use std::path::PathBuf;
use std::process::ExitCode;

use miette::Result;

use super::output::{findings_summary, OutputArgs, ReportFormatName, TextStyle};
use crate::error::WriteOutput;
use crate::model::finding::Severity;
use crate::report::{self, Report};

/// Output format of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Terminal text with source snippets.
    // `human`, its name before `text` was every command's, still works.
    #[value(name = "text", alias = "human")]
    Human,
    /// The stable JSON report (docs/report.md).
    Json,
    /// Markdown for tickets.
    Md,
    /// A self-contained HTML page with byte maps of both layouts.
    Html,
    /// Prometheus text exposition format, for node_exporter's textfile collector.
    Openmetrics,
}

/// The lowest severity that makes the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    /// Always exit 0 when the analysis ran.
    Never,
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// A bundle (.tar, .tar.gz or directory with manifest.json) or loose files:
    /// BPF objects (.o), raw BTF, user binaries with DWARF, Go source files or
    /// package directories, YAML layout schemas, bpftool dumps.
    #[arg(required_unless_present = "dumps")]
    pub inputs: Vec<PathBuf>,
    /// Report format [default: text, or as -o's extension says].
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Every piece of evidence: in text, each map (with its programs,
    /// holders and pins) and each dump on its own line, not grouped.
    #[arg(short, long)]
    pub verbose: bool,
    /// Exit with 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Only these maps (by name, or by id where several share a name) for
    /// layout cross-checks and dump checks.
    #[arg(long = "map", value_name = "NAME")]
    pub maps: Vec<String>,
    /// User-space type to compare with the key type of the selected map.
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<String>,
    /// User-space type to compare with the value type of the selected map.
    #[arg(long, value_name = "TYPE")]
    pub value_type: Option<String>,
    /// Compare user type USER with BTF type BTF, map or no map (repeatable).
    #[arg(long, value_name = "USER=BTF")]
    pub pair: Vec<crate::engine::TypePair>,
    /// Ties the bpftool dump FILE to map MAP (a name, or an id where several
    /// maps share a name), whatever the file is called (`dump.json`,
    /// `/dev/stdin`); FILE need not be among the inputs too (repeatable).
    #[arg(long = "dump", value_name = "MAP=FILE")]
    pub dumps: Vec<crate::engine::DumpTie>,
    /// How many bytes a reader passes for one per-CPU lookup of map MAP
    /// (checked against possible_cpus × round_up(value_size, 8)).
    #[arg(long, value_name = "MAP=BYTES")]
    pub percpu_buffer: Vec<crate::engine::PercpuBuffer>,
    /// Possible CPUs of the node (bundles record it; needed for loose files).
    #[arg(long, value_name = "N")]
    pub possible_cpus: Option<u32>,
    /// Where to look first for split debug files of user binaries
    /// (`DIR/.build-id/xx/rest.debug`, `DIR/<debuglink name>`).
    #[arg(long, value_name = "DIR")]
    pub debug_dir: Option<PathBuf>,
    /// A map growing across snapshots or bundles of one node is an error
    /// when its projected time to full is within this (`dump/growing`).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = crate::collect::host::parse_duration)]
    pub full_within: std::time::Duration,
    /// GOARCH for laying out Go source: amd64, arm64, 386, arm.
    #[arg(long, default_value = "amd64", value_parser = goarch_parser())]
    pub goarch: crate::ingest::gosrc::GoArch,
}

/// `--goarch`: a list of values (so shells complete them), each turned
/// into its [`GoArch`](crate::ingest::gosrc::GoArch).
fn goarch_parser() -> impl clap::builder::TypedValueParser<Value = crate::ingest::gosrc::GoArch> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["amd64", "arm64", "386", "arm"]).try_map(|s| {
        crate::ingest::gosrc::GoArch::from_goarch(&s)
            .ok_or_else(|| format!("unknown GOARCH {s:?} (amd64, arm64, 386, arm)"))
    })
}

pub fn run(args: &AnalyzeArgs) -> Result<ExitCode> {
    let format = args.out.format(args.format)?;
    let report = crate::engine::analyze(&args.options())?;
    let style = TextStyle {
        verbose: args.verbose,
        ..args.out.style()
    };
    // Rendered straight into the output (a temporary renamed into place on
    // finish): a node's JSON report can be tens of MB, not held twice.
    let mut out = args.out.open()?;
    render(&mut out, &report, format, style).out()?;
    out.finish().out()?;
    let s = &report.summary;
    args.out.done(&findings_summary(s.error, s.warning, s.info));
    Ok(args
        .fail_on
        .exit_code(report.findings.iter().map(|f| f.severity)))
}

impl AnalyzeArgs {
    /// The engine's options: what the flags ask for, as plain values.
    pub fn options(&self) -> crate::engine::AnalyzeOptions {
        crate::engine::AnalyzeOptions {
            inputs: self.inputs.clone(),
            maps: self.maps.clone(),
            key_type: self.key_type.clone(),
            value_type: self.value_type.clone(),
            pairs: self.pair.clone(),
            dumps: self.dumps.clone(),
            percpu_buffers: self.percpu_buffer.clone(),
            possible_cpus: self.possible_cpus,
            debug_dir: self.debug_dir.clone(),
            full_within: self.full_within,
            goarch: self.goarch,
        }
    }
}

impl FailOn {
    /// 1 when a finding of these severities is at or above the level, else
    /// 0: the exit code of every command that reports findings.
    pub fn exit_code(self, severities: impl IntoIterator<Item = Severity>) -> ExitCode {
        let threshold = match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
            FailOn::Never => return ExitCode::SUCCESS,
        };
        if severities.into_iter().any(|s| s >= threshold) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}

impl ReportFormatName for ReportFormat {
    const DEFAULT: Self = ReportFormat::Human;
}

/// Renders `report` in `format`; `style` lays out terminal text.
pub fn render<W: std::io::Write>(
    out: &mut W,
    report: &Report,
    format: ReportFormat,
    style: TextStyle,
) -> std::io::Result<()> {
    match format {
        ReportFormat::Human => report::human::write(out, report, style),
        ReportFormat::Json => report::json::write(out, report),
        ReportFormat::Md => report::markdown::write(out, report),
        ReportFormat::Html => report::html::write(out, report),
        ReportFormat::Openmetrics => report::openmetrics::write(out, report),
    }
}
