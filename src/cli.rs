//! Command-line interface: argument parsing only validates; each command's
//! module builds its own configuration and does the work.
//!
//! Exit codes: 0 = done, no finding at or above `--fail-on`; 1 = findings at
//! or above `--fail-on`; 2 = the command could not run (bad usage, unreadable
//! primary input). A closed stdout (broken pipe) changes nothing: the exit
//! status is the findings'.
//!
//! Every error, clap's usage errors included, is rendered one way: a miette
//! diagnostic with a `bpfcase::…` code ([`render_error`]).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands;

/// `0.1.0 (rev 1a2b3c4d5e6f)`, or the bare version outside a git checkout
/// (a source tarball); `build.rs` asks git.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("BPFCASE_REVISION_SUFFIX"));

/// Shown after `bpfcase --help`.
const AFTER_HELP: &str = "\
Examples:
  bpfcase collect -o case.tar --trace-pid 4711        # on the node, as root
  bpfcase analyze case.tar                            # anywhere, later
  bpfcase analyze case.tar ./agent -o case.html       # format from the extension
  bpfcase layout /sys/kernel/btf/vmlinux task_struct
  bpftool -j map dump name flows | bpfcase decode --dump - --btf prog.bpf.o --map flows

Exit codes:
  0  done; no finding at or above --fail-on (diff: whether or not entries differ)
  1  findings at or above --fail-on (analyze, decode); collect: a --map, --pinned
     or --elf named on the command line could not be collected
  2  the command could not run: bad usage, a missing or unreadable primary input
  A closed stdout (`… | head -1`) changes nothing: the status is the findings'.

Files: `-` reads standard input wherever a file is read; `-o -` writes to
standard output. Man pages: `bpfcase man`; completions: `bpfcase completions SHELL`.";

const ANALYZE_HELP: &str = "\
Examples:
  bpfcase analyze case.tar                                 # a bundle from collect
  bpfcase analyze case.tar ./agent/ -o case.md             # plus the Go package; Markdown
  bpfcase analyze prog.bpf.o agent-binary flows.json       # DWARF of a binary, a bpftool -j dump
  bpftool -j map dump name flows | bpfcase analyze prog.bpf.o --dump flows=-

Exit codes: 0 no finding at or above --fail-on, 1 such findings, 2 could not run.";

const LAYOUT_HELP: &str = "\
Examples:
  bpfcase layout /sys/kernel/btf/vmlinux task_struct
  bpfcase layout prog.bpf.o flow_key --format json
  bpfcase layout /sys/kernel/btf/vmlinux --format summary

Exit codes: 0 types printed, 2 could not run (FILE not BTF, a TYPE not in it).";

const SCHEMA_HELP: &str = "\
Examples:
  bpfcase schema --go-src ./agent --type FlowKey -o flow_key.yaml
  bpfcase schema --dwarf ./agent-binary --type flow_key
  bpfcase schema --btf prog.bpf.o --type flow_key

Exit codes: 0 YAML written, 2 could not run (source unreadable, type not in it).";

const DECODE_HELP: &str = "\
Examples:
  bpfcase decode --dump flows.json --btf prog.bpf.o --map flows
  bpftool -j map dump name flows | bpfcase decode --dump - --btf prog.bpf.o --map flows
  bpfcase decode --dump flows.txt --dwarf ./agent --key-type FlowKey --value-type FlowValue

Exit codes: 0 no finding at or above --fail-on, 1 such findings, 2 could not run.";

const DIFF_HELP: &str = "\
Examples:
  bpfcase diff before.json after.json --btf prog.bpf.o --map flows
  bpfcase diff case.tar                    # a bundle's --snapshots, map by map
  bpfcase diff old-case.tar new-case.tar

Exit codes: 0 differences printed (or none), 2 could not run.";

const COLLECT_HELP: &str = "\
Examples:
  bpfcase collect -o case.tar
  bpfcase collect -o case.tar --pid 4711 --trace-pid 4711 --trace-for 10s
  bpfcase collect --map flows --snapshots 3 --interval 1s --redact

Exit codes: 0 bundle written, 1 written but a --map/--pinned/--elf named could
not be collected, 2 no bundle (bad usage, no privilege, output not writable).";

/// Offline forensic analyzer for eBPF map problems.
#[derive(Debug, Parser)]
#[command(name = "bpfcase", version = VERSION, about, max_term_width = 100, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze a bundle or loose files and report findings.
    #[command(after_help = ANALYZE_HELP)]
    Analyze(commands::analyze::AnalyzeArgs),
    /// pahole-like layout of structs and unions from BTF (raw or in an ELF object).
    #[command(after_help = LAYOUT_HELP)]
    Layout(commands::layout::LayoutArgs),
    /// YAML layout schema of one type, from Go source, BTF, or a binary's DWARF.
    #[command(after_help = SCHEMA_HELP)]
    Schema(commands::schema::SchemaArgs),
    /// Decode every entry of a bpftool map dump with BTF types and check what the bytes show.
    #[command(after_help = DECODE_HELP)]
    Decode(commands::decode::DecodeArgs),
    /// Entries added, removed and changed between two dumps of a map, a bundle's snapshots, or two bundles.
    #[command(after_help = DIFF_HELP)]
    Diff(commands::diff::DiffArgs),
    /// Gather a bundle on a live node (root): maps, dumps, programs, BTF, pins, fdinfo.
    #[command(after_help = COLLECT_HELP)]
    Collect(commands::collect::CollectArgs),
    /// Node agent (root): collect, analyze and write Prometheus metrics in a loop, keeping the last N bundles.
    Watch(commands::watch::WatchArgs),
    /// One report over many nodes' bundles: findings per code with the nodes, map variants across nodes.
    Fleet(commands::fleet::FleetArgs),
    /// Shell completion script for bash, zsh, fish, elvish or PowerShell, on stdout.
    Completions(commands::completions::CompletionsArgs),
    /// Man pages (roff), generated from these very definitions.
    Man(commands::completions::ManArgs),
}

/// Parses the process arguments, runs the command, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result = match cli.command {
        Command::Analyze(args) => commands::analyze::run(&args),
        Command::Layout(args) => commands::layout::run(&args),
        Command::Schema(args) => commands::schema::run(&args),
        Command::Decode(args) => commands::decode::run(&args),
        Command::Diff(args) => commands::diff::run(&args),
        Command::Collect(args) => commands::collect::run(&args),
        Command::Watch(args) => commands::watch::run(&args),
        Command::Fleet(args) => commands::fleet::run(&args),
        Command::Completions(args) => commands::completions::completions(&args, Cli::command()),
        Command::Man(args) => commands::completions::man(&args, Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            if is_broken_pipe(&report) {
                return ExitCode::SUCCESS;
            }
            eprint!("{}", render_error(&report, stderr_color()));
            ExitCode::from(2)
        }
    }
}

/// Help and version go to stdout as clap prints them (exit 0); a usage
/// error becomes a `bpfcase::usage` diagnostic like every other error (exit 2).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = e.render().to_string();
    let (message, help) = split_clap_error(&rendered);
    let mut diag = miette::MietteDiagnostic::new(message).with_code("bpfcase::usage");
    if !help.is_empty() {
        diag = diag.with_help(help);
    }
    eprint!(
        "{}",
        render_error(&miette::Report::new(diag), stderr_color())
    );
    ExitCode::from(2)
}

/// clap's `error: MESSAGE\n\n(tip…)\nUsage: …\n\nFor more information…`
/// as the message and the rest (tips and usage) as help.
fn split_clap_error(rendered: &str) -> (String, String) {
    let body = rendered
        .trim()
        .strip_prefix("error: ")
        .unwrap_or(rendered.trim());
    let (message, rest) = body.split_once("\n\n").unwrap_or((body, ""));
    let help: Vec<&str> = rest
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    let help = match help.is_empty() {
        true => "see `bpfcase --help`".to_string(),
        false => format!("{}; see --help", help.join("; ")),
    };
    (message.trim().to_string(), help)
}

/// Colour on stderr: a terminal, unless `NO_COLOR`; the forcing variables
/// as for reports.
fn stderr_color() -> bool {
    commands::output::ColorChoice::Auto
        .resolve(std::io::stderr().is_terminal(), |v| std::env::var(v).ok())
}

/// One error as every command prints it: a miette diagnostic with a
/// `bpfcase::…` code (`bpfcase::error` when the error has none), its
/// causes and help, wrapped to the terminal (not wrapped in a pipe or log).
pub fn render_error(report: &miette::Report, color: bool) -> String {
    use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let width = commands::output::error_width(|v| std::env::var(v).ok());
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width);
    let diag: &dyn Diagnostic = report.as_ref();
    let mut text = String::new();
    if diag.code().is_some() {
        let _ = handler.render_report(&mut text, diag);
    } else {
        // Errors made with `miette!` carry no code: give them the common one.
        let mut chain = report.chain();
        let message = chain.next().map(|e| e.to_string()).unwrap_or_default();
        let mut d = miette::MietteDiagnostic::new(crate::error::printable(&message))
            .with_code("bpfcase::error");
        let causes: Vec<String> = chain.map(|e| e.to_string()).collect();
        let help = match (diag.help().map(|h| h.to_string()), causes.is_empty()) {
            (Some(h), _) => Some(h),
            (None, false) => Some(format!("caused by: {}", causes.join(": "))),
            (None, true) => None,
        };
        if let Some(h) = help {
            d = d.with_help(h);
        }
        let _ = handler.render_report(&mut text, &d);
    }
    text
}

fn is_broken_pipe(report: &miette::Report) -> bool {
    report
        .chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn clap_errors_split_into_message_and_help() {
        let (m, h) = split_clap_error(
            "error: unexpected argument '--frob' found\n\n  tip: to pass '--frob' as a value, use '-- --frob'\n\nUsage: bpfcase analyze [OPTIONS]\n\nFor more information, try '--help'.\n",
        );
        assert_eq!(m, "unexpected argument '--frob' found");
        assert!(h.contains("Usage: bpfcase analyze [OPTIONS]"), "{h}");
        assert!(!h.contains("For more information"), "{h}");
    }
}
