//! `bpfcase decode --dump DUMP ...`: decodes every entry of a bpftool map dump
//! with key and value types from BTF, and runs the dump checks.
//!
//! Type sources are one match arm each in [`resolve_types`]: `--btf` (an
//! object or raw BTF; `--map NAME` takes the key/value types of that map's
//! `.maps` definition, or `--key-type`/`--value-type` name them) and
//! `--dwarf` (structs/unions by name from a user-space binary's DWARF) and
//! `--schema` (a YAML layout schema, docs/schema.md).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::{IntoDiagnostic, Result};

use super::analyze::FailOn;
use super::output::{findings_summary, plural, OutputArgs, ReportFormatName, TextStyle};
use crate::analyses::dump_checks::{DumpChecker, DumpContext};
use crate::engine::dumps::*;
use crate::engine::types::*;
use crate::error::{InputError, WriteOutput};
use crate::ingest::bpftool_json;
use crate::model::dump::{DumpEntry, EntryValue};
use crate::model::finding::{Finding, MapRef, Position};
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
    let source = match (&args.btf, &args.dwarf) {
        _ if args.schema.is_some() => TypeSource::Schema {
            file: args.schema.as_deref().unwrap_or(Path::new("")),
            key_type: args.key_type.as_deref().unwrap_or_default(),
            value_type: args.value_type.as_deref().unwrap_or_default(),
        },
        (_, Some(file)) => TypeSource::Dwarf {
            file,
            key_type: args.key_type.as_deref().unwrap_or_default(),
            value_type: args.value_type.as_deref().unwrap_or_default(),
        },
        (Some(file), None) => TypeSource::Btf {
            file,
            map: args.map.as_deref(),
            key_type: args.key_type.as_deref(),
            value_type: args.value_type.as_deref(),
        },
        (None, None) => {
            return Err(crate::error::usage(
                "no types to decode with",
                "give --btf FILE, --dwarf BIN or --schema FILE",
            ));
        }
    };
    let types = resolve_types(source)?;
    let mut types = types;
    if let Some(show) = &args.show {
        let name = show.display().to_string();
        let bytes = crate::ingest::read::read_file(show, crate::limits::MAX_TEXT_BYTES)?;
        let infos =
            bpftool_json::parse_map_show(&bytes).map_err(|e| InputError::new(&name, None, e))?;
        let info = match (&types.map_name, infos.len()) {
            (_, 1) => infos.first(),
            (Some(n), _) => infos.iter().find(|i| &i.name == n),
            _ => None,
        };
        if let Some(i) = info {
            types.map_type = i.map_type().or(types.map_type);
            types.max_entries = Some(i.max_entries);
            types.map_name.get_or_insert(i.name.clone());
        }
    }
    let dump_name = args.dump.display().to_string();
    let format = args.out.format(args.format)?;
    let style = args.out.style();
    let map = types.map_name.clone().map(|name| MapRef { id: None, name });
    let mut checker = DumpChecker::new(DumpContext {
        file: &dump_name,
        map,
        key: types.key.layout(),
        value: types.value.layout(),
        map_type: types.map_type,
        max_entries: types.max_entries,
    });
    let mut out = args.out.open()?;
    let mut decoded = 0usize;
    let mut undecodable: Vec<Finding> = Vec::new();
    let mut bad = 0usize;
    let mut note_bad = |index: usize, at: Position, e: &dyn std::fmt::Display| {
        bad += 1;
        if undecodable.len() < 3 {
            undecodable.push(Finding::unreadable(
                &dump_name,
                Some(at),
                &format!("entry {index} does not match the types: {e}"),
            ));
        }
    };
    // Entries are written as each batch is parsed, and the batch goes on to
    // the checks, which keep counts, first examples and the keys.
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
    stream_dump::<miette::Report>(&args.dump, &mut |batch| {
        let base = checker.entries();
        for e in batch.entries() {
            let index = base + e.index;
            if e.formatted {
                match &mut sink {
                    Sink::Json(w) => w.raw(&formatted_text(&e)).out()?,
                    Sink::Text(out) => {
                        render::write_text_entry(out, index, &formatted_text(&e)).out()?
                    }
                    Sink::Summary => {}
                }
                decoded += 1;
                continue;
            }
            match &mut sink {
                Sink::Json(w) => match decode_entry(&types, e.key, e.value) {
                    Ok(d) => {
                        w.entry(&d).out()?;
                        decoded += 1;
                    }
                    Err(err) => note_bad(index, e.position, &err),
                },
                Sink::Text(out) => match decode_entry(&types, e.key, e.value) {
                    Ok(d) => {
                        let text = serde_json::to_string(&d).into_diagnostic()?;
                        render::write_text_entry(out, index, &text).out()?;
                        decoded += 1;
                    }
                    Err(err) => note_bad(index, e.position, &err),
                },
                // Decoding cannot fail once the sizes match (see
                // `model::decode`), so the summary checks sizes instead of
                // building every entry's tree.
                Sink::Summary => match check_sizes(&types, e.key, e.value) {
                    Ok(()) => decoded += 1,
                    Err(err) => note_bad(index, e.position, &err),
                },
            }
        }
        checker.feed(&batch);
        Ok(())
    })?;
    if let Sink::Json(w) = sink {
        w.end().out()?;
    }
    let checked = checker.finish();
    let mut findings = undecodable;
    findings.extend(checked.findings);
    match format {
        DecodeFormat::Summary => {
            render::write_summary_json(&mut out, checked.entries, decoded, bad, &findings).out()?;
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
            render::write_findings_text(&mut err, &findings, err_style).out()?;
        }
        DecodeFormat::Text => {
            if bad > 0 {
                let n = plural(bad as u64, "entry", "entries");
                let verb = if bad == 1 { "does" } else { "do" };
                writeln!(out, "{n} {verb} not match the types").out()?;
            }
            render::write_findings_text(&mut out, &findings, style).out()?;
        }
    }
    out.finish().out()?;
    let (e, w, i) = severity_counts(&findings);
    args.out.done(&format!(
        "{} decoded, {}",
        plural(decoded as u64, "entry", "entries"),
        findings_summary(e, w, i)
    ));
    Ok(args.fail_on.exit_code(findings.iter().map(|f| f.severity)))
}

/// A formatted-text entry (bpftool already decoded it) as one JSON object.
fn formatted_text(e: &DumpEntry<'_>) -> String {
    let (field, v) = match e.value {
        EntryValue::PerCpu { bytes, .. } => ("values", bytes),
        EntryValue::Single(v) => ("value", v),
        EntryValue::Missing => ("value", &b"null"[..]),
    };
    format!(
        "{{\"key\":{},\"{field}\":{}}}",
        String::from_utf8_lossy(e.key),
        String::from_utf8_lossy(v)
    )
}

/// Findings by severity: (errors, warnings, info).
fn severity_counts(findings: &[Finding]) -> (usize, usize, usize) {
    use crate::model::finding::Severity;
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    (n(Severity::Error), n(Severity::Warning), n(Severity::Info))
}
