//! Command-line interface: argument parsing only validates; each command's
//! module builds its own configuration and does the work.
//!
//! Exit codes: 0 = done, no finding at or above `--fail-on`; 1 = findings at
//! or above `--fail-on`; 2 = the command could not run (bad usage, unreadable
//! primary input). A closed stdout (broken pipe) counts as success.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands;

/// Offline forensic analyzer for eBPF map problems.
#[derive(Debug, Parser)]
#[command(name = "bpfcase", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze a bundle or loose files and report findings.
    Analyze(commands::analyze::AnalyzeArgs),
    /// pahole-like layout of structs and unions from BTF (raw or in an ELF object).
    Layout(commands::layout::LayoutArgs),
    /// YAML layout schema of one type, from Go source or BTF.
    Schema(commands::schema::SchemaArgs),
    /// Decode every entry of a bpftool map dump with BTF types and check what the bytes show.
    Decode(commands::decode::DecodeArgs),
    /// Entries added, removed and changed between two dumps of a map, a bundle's snapshots, or two bundles.
    Diff(commands::diff::DiffArgs),
    /// Gather a bundle on a live node (root): maps, dumps, programs, BTF, pins, fdinfo.
    Collect(commands::collect::CollectArgs),
    /// Node agent (root): collect, analyze and write Prometheus metrics in a loop, keeping the last N bundles.
    Watch(commands::watch::WatchArgs),
    /// One report over many nodes' bundles: findings per code with the nodes, map variants across nodes.
    Fleet(commands::fleet::FleetArgs),
}

/// Parses the process arguments, runs the command, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => commands::analyze::run(&args),
        Command::Layout(args) => commands::layout::run(&args),
        Command::Schema(args) => commands::schema::run(&args),
        Command::Decode(args) => commands::decode::run(&args),
        Command::Diff(args) => commands::diff::run(&args),
        Command::Collect(args) => commands::collect::run(&args),
        Command::Watch(args) => commands::watch::run(&args),
        Command::Fleet(args) => commands::fleet::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            if is_broken_pipe(&report) {
                return ExitCode::SUCCESS;
            }
            eprintln!("{report:?}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(report: &miette::Report) -> bool {
    report
        .chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
