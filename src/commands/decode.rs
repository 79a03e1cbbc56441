//! `bpfcase decode --dump DUMP ...`: decodes every entry of a bpftool map dump
//! with key and value types from BTF, and runs the dump checks.
//!
//! The work is the engine's ([`crate::engine::decode`]); this turns the
//! flags into its options and writes the entries as they stream out.
//! Type sources are one match arm each in `engine::types::resolve_types`: `--btf` (an
//! object or raw BTF; `--map NAME` takes the key/value types of that map's
//! `.maps` definition, or `--key-type`/`--value-type` name them) and
//! `--dwarf` (structs/unions by name from a user-space binary's DWARF) and
//! `--schema` (a YAML layout schema, docs/schema.md).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use miette::{IntoDiagnostic, Result};

use super::analyze::FailOn;
use super::output::{findings_summary, plural, OutputArgs, ReportFormatName, TextStyle};
use crate::engine::decode::{DecodeOptions, DecodedEntry, Decoder, TypeOptions};
use crate::error::WriteOutput;
use crate::model::finding::Finding;
use crate::report::dump as render;

/// Output of `decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecodeFormat {
    /// One line per entry, then the findings.
    Text,
    /// A JSON array, one object per entry shaped like bpftool's `formatted`.
    Json,
    /// No entries: counts and findings as JSON (for large dumps).
    Summary,
}

#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// A `bpftool map dump` capture: `-j`/`-p` JSON or plain text (`-`: standard input).
    #[arg(long, value_name = "DUMP")]
    pub dump: PathBuf,
    /// BTF of the map's types: a BPF object (.bpf.o) or raw BTF.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present_any = ["dwarf", "schema"],
        conflicts_with_all = ["dwarf", "schema"]
    )]
    pub btf: Option<PathBuf>,
    /// A binary with DWARF (C, Go, Rust user space) holding the key and value
    /// structs; needs --key-type/--value-type (scalars such as `__u32` work too).
    #[arg(
        long,
        value_name = "BIN",
        requires = "key_type",
        conflicts_with = "schema"
    )]
    pub dwarf: Option<PathBuf>,
    /// A YAML layout schema (docs/schema.md) holding the key and value types;
    /// needs --key-type/--value-type (scalars such as `__u32` work too).
    #[arg(long, value_name = "FILE", requires = "key_type")]
    pub schema: Option<PathBuf>,
    /// Take key and value types from this map's `.maps` definition (needs --btf).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["key_type", "value_type", "dwarf", "schema"])]
    pub map: Option<String>,
    /// Key type name (`flow_key`, `struct flow_key`, `__u32`).
    #[arg(long, value_name = "T", requires = "value_type")]
    pub key_type: Option<String>,
    /// Value type name.
    #[arg(long, value_name = "T", requires = "key_type")]
    pub value_type: Option<String>,
    /// `bpftool -j map show` of the map (type and max_entries for `dump/map-full`).
    #[arg(long, value_name = "FILE")]
    pub show: Option<PathBuf>,
    /// Output format [default: text, or as -o's extension says].
    #[arg(long, value_enum)]
    pub format: Option<DecodeFormat>,
    /// Exit with 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub out: OutputArgs,
}

impl ReportFormatName for DecodeFormat {
    const DEFAULT: Self = DecodeFormat::Text;
}

pub fn run(args: &DecodeArgs) -> Result<ExitCode> {
    // Every option is checked before any input is read.
    let format = args.out.format(args.format)?;
    let style = args.out.style();
    let decoder = Decoder::open(&args.options(format)?)?;
    let mut out = args.out.open()?;
    // Entries are written as each batch is parsed.
    enum Sink<W: Write> {
        Json(render::JsonEntries<W>),
        Text(W),
        Summary,
    }
    let mut sink = match format {
        DecodeFormat::Json => Sink::Json(render::JsonEntries::begin(&mut out).out()?),
        DecodeFormat::Text => Sink::Text(&mut out),
        DecodeFormat::Summary => Sink::Summary,
    };
    let done = decoder.stream::<miette::Report>(&mut |index, entry| {
        match (&mut sink, entry) {
            (Sink::Json(w), DecodedEntry::Formatted(text)) => w.raw(&text).out()?,
            (Sink::Json(w), DecodedEntry::Decoded(d)) => w.entry(&d).out()?,
            (Sink::Text(out), DecodedEntry::Formatted(text)) => {
                render::write_text_entry(out, index, &text).out()?
            }
            (Sink::Text(out), DecodedEntry::Decoded(d)) => {
                let text = serde_json::to_string(&d).into_diagnostic()?;
                render::write_text_entry(out, index, &text).out()?
            }
            (Sink::Summary, _) => {}
        }
        Ok(())
    })?;
    if let Sink::Json(w) = sink {
        w.end().out()?;
    }
    let (findings, bad) = (&done.findings, done.undecodable);
    match format {
        DecodeFormat::Summary => {
            render::write_summary_json(&mut out, done.entries, done.decoded, bad, findings)
                .out()?;
        }
        DecodeFormat::Json => {
            out.flush().out()?;
            let mut err = std::io::stderr().lock();
            let err_style = TextStyle {
                width: style.width,
                color: args
                    .out
                    .color
                    .resolve(std::io::stderr().is_terminal(), |v| std::env::var(v).ok()),
                verbose: style.verbose,
            };
            render::write_findings_text(&mut err, findings, err_style).out()?;
        }
        DecodeFormat::Text => {
            if bad > 0 {
                let n = plural(bad as u64, "entry", "entries");
                let verb = if bad == 1 { "does" } else { "do" };
                writeln!(out, "{n} {verb} not match the types").out()?;
            }
            render::write_findings_text(&mut out, findings, style).out()?;
        }
    }
    out.finish().out()?;
    let (e, w, i) = severity_counts(findings);
    args.out.done(&format!(
        "{} decoded, {}",
        plural(done.decoded as u64, "entry", "entries"),
        findings_summary(e, w, i)
    ));
    Ok(args.fail_on.exit_code(findings.iter().map(|f| f.severity)))
}

impl DecodeArgs {
    /// The engine's options (the types from whichever source is given).
    fn options(&self, format: DecodeFormat) -> Result<DecodeOptions> {
        let (key_type, value_type) = (self.key_type.clone(), self.value_type.clone());
        let types = match (&self.btf, &self.dwarf, &self.schema) {
            (_, _, Some(file)) => TypeOptions::Schema {
                file: file.clone(),
                key_type: key_type.unwrap_or_default(),
                value_type: value_type.unwrap_or_default(),
            },
            (_, Some(file), None) => TypeOptions::Dwarf {
                file: file.clone(),
                key_type: key_type.unwrap_or_default(),
                value_type: value_type.unwrap_or_default(),
            },
            (Some(file), None, None) => TypeOptions::Btf {
                file: file.clone(),
                map: self.map.clone(),
                key_type,
                value_type,
            },
            (None, None, None) => {
                return Err(crate::error::usage(
                    "no types to decode with",
                    "give --btf FILE, --dwarf BIN or --schema FILE",
                ));
            }
        };
        Ok(DecodeOptions {
            dump: self.dump.clone(),
            types,
            show: self.show.clone(),
            count_only: format == DecodeFormat::Summary,
        })
    }
}

/// Findings by severity: (errors, warnings, info).
fn severity_counts(findings: &[Finding]) -> (usize, usize, usize) {
    use crate::model::finding::Severity;
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    (n(Severity::Error), n(Severity::Warning), n(Severity::Info))
}
