//! `bpfcase schema (--go-src PATH | --btf FILE | --dwarf BIN) --type NAME`: the
//! YAML layout schema of one type, from Go source, BTF or a binary's DWARF
//! (see `docs/schema.md`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::Result;

use super::output::OutputArgs;
use crate::engine::type_source::{Source, SourceSpec};
use crate::ingest::gosrc::GoArch;
use crate::ingest::schema::to_yaml;

/// Where the type comes from: exactly one of these.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct SchemaSourceArgs {
    /// A Go file, or a package directory (all its non-test .go files for linux/GOARCH).
    #[arg(long, value_name = "PATH")]
    pub go_src: Option<PathBuf>,
    /// Raw BTF (e.g. /sys/kernel/btf/vmlinux) or a BPF ELF object with a .BTF section.
    #[arg(long, value_name = "FILE")]
    pub btf: Option<PathBuf>,
    /// An ELF binary with DWARF (Go, C, Rust), or a stripped one whose split
    /// debug file is found by build-id or .gnu_debuglink (see --debug-dir).
    #[arg(long, value_name = "BIN")]
    pub dwarf: Option<PathBuf>,
}

/// The chosen source, as the command uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaSource<'a> {
    GoSrc(&'a Path),
    Btf(&'a Path),
    Dwarf(&'a Path),
}

impl SchemaSourceArgs {
    /// The one source given (clap's group guarantees exactly one).
    pub fn source(&self) -> Option<SchemaSource<'_>> {
        if let Some(p) = &self.go_src {
            return Some(SchemaSource::GoSrc(p));
        }
        if let Some(p) = &self.dwarf {
            return Some(SchemaSource::Dwarf(p));
        }
        self.btf.as_deref().map(SchemaSource::Btf)
    }
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    #[command(flatten)]
    pub source: SchemaSourceArgs,
    /// The struct (or union) to describe; nested types are written too.
    #[arg(long = "type", value_name = "NAME")]
    pub type_name: String,
    /// Go target architecture for --go-src (word size, 64-bit alignment) [default: amd64].
    /// A `--dwarf` source takes its architecture from the binary.
    #[arg(long, value_name = "ARCH", conflicts_with_all = ["btf", "dwarf"],
          value_parser = ["amd64", "arm64", "386", "arm"])]
    pub goarch: Option<String>,
    /// Base BTF when --btf is split BTF (a module's BTF over vmlinux).
    #[arg(long, value_name = "FILE", requires = "btf")]
    pub base: Option<PathBuf>,
    /// Directory searched first for the split debug file of a --dwarf binary
    /// (DIR/.build-id/xx/rest.debug, DIR/<debuglink name>).
    #[arg(long, value_name = "DIR", requires = "dwarf")]
    pub debug_dir: Option<PathBuf>,
    /// Write the schema to FILE instead of standard output (`-`: standard output).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print nothing on stderr when the schema goes to a file.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: &SchemaArgs) -> Result<ExitCode> {
    let spec = match args.source.source() {
        Some(SchemaSource::GoSrc(path)) => {
            let goarch = args.goarch.as_deref().unwrap_or("amd64");
            let arch = GoArch::from_goarch(goarch).ok_or_else(|| {
                crate::error::usage(
                    format!("unknown --goarch {goarch}"),
                    "give amd64, arm64, 386 or arm",
                )
            })?;
            SourceSpec::Go { path, arch }
        }
        Some(SchemaSource::Btf(file)) => SourceSpec::Btf {
            file,
            base: args.base.as_deref(),
        },
        Some(SchemaSource::Dwarf(file)) => SourceSpec::Dwarf {
            file,
            debug_dir: args.debug_dir.as_deref(),
        },
        None => {
            return Err(crate::error::usage(
                "no source for the type",
                "give --go-src, --btf or --dwarf",
            ))
        }
    };
    let layout = Source::open(spec)?.require(&args.type_name)?;
    let text = to_yaml(&layout);
    let out = OutputArgs {
        output: args.output.clone(),
        quiet: args.quiet,
        ..OutputArgs::default()
    };
    out.write_all(text.as_bytes())?;
    out.done(&format!("schema of {}", args.type_name));
    Ok(ExitCode::SUCCESS)
}
