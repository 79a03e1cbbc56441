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

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::commands;
use crate::output_file::Destination;

pub mod conventions;

use conventions::Convention;

/// `0.1.0 (rev 1a2b3c4d5e6f)`, or the bare version outside a git checkout
/// (a source tarball); `build.rs` asks git.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("BPFCASE_REVISION_SUFFIX"));

/// `schema`'s three forms, one a line (clap's would run past 80 columns).
const SCHEMA_USAGE: &str = "\
bpfcase schema [OPTIONS] --type <NAME> --go-src <PATH>
       bpfcase schema [OPTIONS] --type <NAME> --btf <FILE>
       bpfcase schema [OPTIONS] --type <NAME> --dwarf <BIN>";

/// Shown after the top level's examples and exit codes.
const FILES_NOTE: &str = "\
A closed stdout (`… | head -1`) changes nothing: the status is the findings'.

Files: `-` reads standard input wherever a file is read (a bundle too);
`-o -` writes to standard output; `-o FILE`'s extension picks the format and
an extension a command cannot write is refused (exit 2). Man pages:
`bpfcase man`; completions: `bpfcase completions SHELL`.";

/// Offline forensic analyzer for eBPF map problems.
#[derive(Debug, Parser)]
#[command(name = "bpfcase", version = VERSION, about)]
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
    /// YAML layout schema of one type, from Go source, BTF, or a binary's DWARF.
    #[command(override_usage = SCHEMA_USAGE)]
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
    /// Shell completion script for bash, zsh, fish, elvish or PowerShell, on stdout.
    Completions(commands::completions::CompletionsArgs),
    /// Man pages (roff), generated from these very definitions.
    Man(commands::completions::ManArgs),
}

/// Parses the process arguments, runs the command, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    let name = matches.subcommand_name().unwrap_or("bpfcase").to_string();
    let checked = match matches.subcommand() {
        Some((sub, m)) => check_conventions(sub, m),
        None => Ok(()),
    };
    if let Err(report) = checked {
        eprint!("{}", render_error_for(&report, stderr_color(), &name));
        return ExitCode::from(2);
    }
    let cli = match Cli::from_arg_matches(&matches) {
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
        Command::Completions(args) => commands::completions::completions(&args, command()),
        Command::Man(args) => commands::completions::man(&args, command()),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            if is_broken_pipe(&report) {
                return ExitCode::SUCCESS;
            }
            eprint!("{}", render_error_for(&report, stderr_color(), &name));
            ExitCode::from(2)
        }
    }
}

/// The command line as parsed, helped, completed and documented: the clap
/// definition with the [`conventions`] table applied to every subcommand
/// (examples and exit codes after `--help`, what `-o` writes, `--format`
/// values), wrapped to [`help_width`].
pub fn command() -> clap::Command {
    let width = help_width(|v| std::env::var(v).ok());
    let top = conventions::of("bpfcase").map(Convention::after_help);
    let mut cmd = Cli::command()
        .term_width(width)
        .after_help(format!("{}\n{FILES_NOTE}", top.unwrap_or_default()));
    for conv in conventions::TABLE.iter().filter(|c| c.command != "bpfcase") {
        cmd = cmd.mut_subcommand(conv.command, |sub| apply_convention(sub, conv, width));
    }
    cmd
}

/// One subcommand with its row of the table applied.
fn apply_convention(sub: clap::Command, conv: &Convention, width: usize) -> clap::Command {
    let mut sub = sub.term_width(width).after_help(conv.after_help());
    if let Some(id) = conv.output_arg {
        let writes = conv.writes_list();
        sub = sub.mut_arg(id, |a| {
            let said = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            let said = said.trim_end_matches('.');
            a.help(format!("{said}. It writes {writes}"))
        });
    }
    if sub.get_arguments().any(|a| a.get_id() == "format") {
        let names: Vec<&'static str> = conv.writes.iter().map(|f| f.name).collect();
        sub = match conv.command {
            // fleet shares analyze's format names but writes fewer of them.
            "fleet" => sub.mut_arg("format", |a| {
                a.value_parser(only::<commands::analyze::ReportFormat>(&names))
            }),
            _ => sub,
        };
    }
    sub
}

/// A `--format` parser offering only `names` of enum `E`: the others are
/// hidden from help and completions, and still parsed, so that the command
/// can say why it does not write them (fleet: metrics are per node).
fn only<E>(names: &[&'static str]) -> clap::builder::ValueParser
where
    E: clap::ValueEnum + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    let values = E::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|p| {
            let offered = names.contains(&p.get_name());
            p.hide(!offered)
        });
    clap::builder::PossibleValuesParser::new(values)
        .try_map(|s| E::from_str(&s, true))
        .into()
}

/// The width `--help` is wrapped to: `COLUMNS` when set to a number, else
/// the terminal's (standard output), else 80; never over 100, where lines
/// get hard to read.
pub fn help_width(env: impl Fn(&str) -> Option<String>) -> usize {
    let columns = env("COLUMNS")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0);
    let width = columns
        .or_else(|| {
            std::io::stdout()
                .is_terminal()
                .then(|| commands::output::text_width(true, |_| None))
        })
        .unwrap_or(80);
    width.clamp(40, 100)
}

/// What the table says about a parsed subcommand's arguments, checked
/// before it runs: `-` only where an input may be standard input, and once;
/// a named input exists; `-o FILE` ends in an extension the command writes.
pub fn check_conventions(name: &str, m: &ArgMatches) -> miette::Result<()> {
    use clap::parser::ValueSource;
    let Some(conv) = conventions::of(name) else {
        return Ok(());
    };
    let mut from_stdin: Vec<String> = Vec::new();
    for input in conv.inputs {
        if m.value_source(input.arg) != Some(ValueSource::CommandLine) {
            continue;
        }
        let Ok(Some(raw)) = m.try_get_raw(input.arg) else {
            continue;
        };
        let flag = flag_name(name, input.arg);
        for value in raw {
            let value = value.to_string_lossy();
            let path = match input.after_eq {
                true => value.split_once('=').map_or("", |(_, f)| f),
                false => &value,
            };
            if path.is_empty() {
                continue;
            }
            if path == "-" {
                if let Some(why) = input.stdin {
                    return Err(crate::error::usage(
                        format!("{flag} cannot be `-` (standard input)"),
                        format!("{why}; give a path"),
                    ));
                }
                from_stdin.push(flag.clone());
                continue;
            }
            if input.exists {
                if let Err(e) = std::fs::symlink_metadata(path) {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        return Err(crate::error::InputError::new(path, None, e).into());
                    }
                }
            }
        }
    }
    if from_stdin.len() > 1 {
        return Err(crate::error::usage(
            format!(
                "standard input (`-`) is given for {}",
                from_stdin.join(" and ")
            ),
            "standard input can be read once: save all but one of them to files",
        ));
    }
    if let Some(id) = conv.output_arg {
        if let Ok(Some(file)) = m.try_get_one::<std::path::PathBuf>(id) {
            if matches!(Destination::of(file), Destination::File(_)) {
                if let Err(ext) = conv.format_of(file) {
                    return Err(conv.unwritable(file, &ext));
                }
            }
        }
    }
    Ok(())
}

/// How an argument is written on the command line: `--dump`, or the value
/// name of a positional (`BUNDLE|DIR`).
fn flag_name(command: &str, id: &str) -> String {
    let cmd = Cli::command();
    let arg = cmd
        .find_subcommand(command)
        .and_then(|s| s.get_arguments().find(|a| a.get_id() == id).cloned());
    match arg {
        Some(a) if a.get_long().is_some() => format!("--{}", a.get_long().unwrap_or(id)),
        Some(a) => a
            .get_value_names()
            .and_then(|n| n.first())
            .map_or(id.to_uppercase(), |n| n.to_string()),
        None => id.to_string(),
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
/// `bpfcase::…` code (`bpfcase::error` when the error has none), its causes
/// and a `help:` line, wrapped to the terminal (not wrapped in a pipe or log).
pub fn render_error(report: &miette::Report, color: bool) -> String {
    render_error_for(report, color, "bpfcase")
}

/// [`render_error`] for an error of subcommand `command`, whose help names
/// it when the error brings no help of its own.
pub fn render_error_for(report: &miette::Report, color: bool, command: &str) -> String {
    use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let width = commands::output::error_width(|v| std::env::var(v).ok());
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width);
    let diag: &dyn Diagnostic = report.as_ref();
    let code = diag
        .code()
        .map_or("bpfcase::error".to_string(), |c| c.to_string());
    let mut chain = report.chain();
    let mut message = chain.next().map(|e| e.to_string()).unwrap_or_default();
    // Each cause once, after the message (a cause already quoted in the
    // message, as `{path}: {error}` does, is not repeated).
    for cause in chain.map(|e| e.to_string()) {
        if !message.contains(&cause) {
            message = format!("{message}: {cause}");
        }
    }
    let message = without_os_error(&message);
    let help = diag
        .help()
        .map(|h| h.to_string())
        .unwrap_or_else(|| default_help(&code, command));
    let d = miette::MietteDiagnostic::new(crate::error::printable(&message))
        .with_code(code)
        .with_help(help);
    let mut text = String::new();
    let _ = handler.render_report(&mut text, &d);
    text
}

/// The `help:` line of an error that brings none.
fn default_help(code: &str, command: &str) -> String {
    let cmd = match command {
        "bpfcase" => "bpfcase".to_string(),
        c => format!("bpfcase {c}"),
    };
    match code {
        "bpfcase::output" => {
            "check that the directory exists and is writable; `-o -` writes to standard output"
                .to_string()
        }
        "bpfcase::input" => {
            format!("`{cmd} --help` lists the inputs it reads; `-` reads standard input")
        }
        _ => format!("`{cmd} --help` has examples and the exit codes"),
    }
}

/// `No such file or directory (os error 2)` as `No such file or directory`:
/// the number helps nobody.
fn without_os_error(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(" (os error ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " (os error ".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(')') {
            rest = &after[digits + 1..];
        } else {
            out.push_str(" (os error ");
            rest = after;
        }
    }
    out.push_str(rest);
    out
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
        command().debug_assert();
    }

    #[test]
    fn os_error_numbers_are_left_out() {
        assert_eq!(
            without_os_error("x: No such file or directory (os error 2): y (os error x)"),
            "x: No such file or directory: y (os error x)"
        );
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
