//! `bpfcase schema (--go-src PATH | --btf FILE | --dwarf BIN) --type NAME`: the
//! YAML layout schema of one type, from Go source, BTF or a binary's DWARF
//! (see `docs/schema.md`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use miette::Result;

use super::output::OutputArgs;
use crate::engine::inputs::{parse_btf, read_btf_file};
use crate::error::InputError;
use crate::ingest::btf::BtfKind;
use crate::ingest::btf_layout::BtfLayouts;
use crate::ingest::dwarf::{DebugSearch, DwarfError, DwarfFile};
use crate::ingest::gosrc::{GoArch, GoLayouts, GoPackage, GoSrcError};
use crate::ingest::read::{map_file, read_file};
use crate::ingest::schema::{to_yaml, Schema, SchemaError};
use crate::model::layout::Layout;

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
    let layout = match args.source.source() {
        Some(SchemaSource::GoSrc(path)) => {
            let goarch = args.goarch.as_deref().unwrap_or("amd64");
            let arch = GoArch::from_goarch(goarch).ok_or_else(|| {
                crate::error::usage(
                    format!("unknown --goarch {goarch}"),
                    "give amd64, arm64, 386 or arm",
                )
            })?;
            go_layout(path, arch, &args.type_name)?
        }
        Some(SchemaSource::Btf(path)) => btf_layout(path, args.base.as_deref(), &args.type_name)?,
        Some(SchemaSource::Dwarf(path)) => {
            dwarf_layout(path, args.debug_dir.as_deref(), &args.type_name)?
        }
        None => {
            return Err(crate::error::usage(
                "no source for the type",
                "give --go-src, --btf or --dwarf",
            ))
        }
    };
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

fn go_layout(path: &Path, arch: GoArch, name: &str) -> Result<Arc<Layout>, InputError> {
    let pkg = GoPackage::load(path, arch).map_err(|e| go_error(path, e))?;
    let mut engine = GoLayouts::new(&pkg, arch);
    engine.layout(name).map_err(|e| match e {
        GoSrcError::NoSuchType { .. } => InputError::new(
            path.display().to_string(),
            None,
            format!(
                "no type named `{name}`; struct types here: {}",
                pkg.struct_names().join(", ")
            ),
        ),
        other => go_error(path, other),
    })
}

/// Largest binary `--dwarf` maps.
use crate::limits::MAX_DWARF_BYTES as MAX_BINARY;

fn dwarf_layout(
    path: &Path,
    debug_dir: Option<&Path>,
    name: &str,
) -> Result<Arc<Layout>, InputError> {
    let file = path.display().to_string();
    let bytes = map_file(path, MAX_BINARY)?;
    let mut search = DebugSearch::default();
    search.dirs.extend(debug_dir.map(Path::to_path_buf));
    let dwarf = DwarfFile::load_with(path, &bytes, &search)
        .map_err(|e| InputError::at_offset(&file, e.file_offset(), &e))?;
    let shown = dwarf.debug_path().display().to_string();
    let err = |e: DwarfError| InputError::at_offset(&shown, e.file_offset(), &e);
    match dwarf.layout(name).map_err(err)? {
        Some(l) => Ok(Arc::new(l)),
        None => {
            // Suggest names that contain the one asked for, ignoring case and `_`.
            let fold = |s: &str| s.to_lowercase().replace('_', "");
            let want = fold(name);
            let mut near: Vec<String> = dwarf
                .struct_names()
                .map_err(err)?
                .into_iter()
                .filter(|n| fold(n).contains(&want))
                .collect();
            near.truncate(10);
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!("; similar: {}", near.join(", "))
            };
            Err(InputError::new(
                &shown,
                None,
                format!("no struct, union or typedef of one named `{name}` in the DWARF{hint}"),
            ))
        }
    }
}

/// A Go error at its own file:line (the column stays in the reason).
pub fn go_error(path: &Path, e: GoSrcError) -> InputError {
    match e.pos() {
        Some(pos) => {
            let full = e.to_string();
            let reason = full
                .strip_prefix(&format!("{pos}: "))
                .unwrap_or(&full)
                .to_string();
            InputError::at_line(
                pos.file.to_string(),
                pos.line,
                format!("column {}: {reason}", pos.col),
            )
        }
        None => InputError::new(path.display().to_string(), None, e),
    }
}

/// Largest schema file we read.
use crate::limits::MAX_TEXT_BYTES as MAX_SCHEMA;

/// Reads and validates a schema file (for `decode --schema` and friends);
/// errors name the file and the line.
pub fn load_schema(path: &Path) -> Result<Schema, InputError> {
    let name = path.display().to_string();
    let bytes = read_file(path, MAX_SCHEMA)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        InputError::at_offset(
            &name,
            Some(e.utf8_error().valid_up_to() as u64),
            "not UTF-8",
        )
    })?;
    Schema::parse(&text).map_err(|e| schema_error(&name, &e))
}

fn schema_error(name: &str, e: &SchemaError) -> InputError {
    let full = e.to_string();
    match (e.line(), e) {
        (Some(line), SchemaError::Yaml { column, .. } | SchemaError::TooDeep { column, .. }) => {
            let prefix = match column {
                Some(c) => format!("line {line}, column {c}: "),
                None => format!("line {line}: "),
            };
            let reason = full.strip_prefix(&prefix).unwrap_or(&full);
            let reason = match column {
                Some(c) => format!("column {c}: {reason}"),
                None => reason.to_string(),
            };
            InputError::at_line(name, line, reason)
        }
        (Some(line), _) => {
            let prefix = format!("line {line}: ");
            InputError::at_line(name, line, full.strip_prefix(&prefix).unwrap_or(&full))
        }
        (None, _) => InputError::new(name, None, full),
    }
}

fn btf_layout(path: &Path, base: Option<&Path>, name: &str) -> Result<Arc<Layout>, InputError> {
    let base_data = base.map(read_btf_file).transpose()?;
    let base_btf = match (&base_data, base) {
        (Some(d), Some(p)) => Some(parse_btf(p, d, None)?),
        _ => None,
    };
    let data = read_btf_file(path)?;
    let btf = parse_btf(path, &data, base_btf.as_ref())?;
    let file = path.display().to_string();
    let mut engine = BtfLayouts::new(&btf);
    // A struct or union of that name first, then a typedef naming one.
    let mut candidates: Vec<_> = btf
        .all_types()
        .filter(|t| {
            t.name == name && matches!(t.kind, BtfKind::Struct | BtfKind::Union | BtfKind::Typedef)
        })
        .collect();
    candidates.sort_by_key(|t| t.kind == BtfKind::Typedef);
    for t in candidates {
        match engine.layout(t.id) {
            Ok(l) if t.kind == BtfKind::Typedef && l.name.is_empty() => {
                let mut named = (*l).clone();
                named.name = name.into();
                return Ok(Arc::new(named));
            }
            Ok(l) => return Ok(l),
            Err(e) if t.kind != BtfKind::Typedef => {
                return Err(InputError::at_offset(
                    &file,
                    e.offset().map(|o| o as u64),
                    format!("type {name}: {e}"),
                ))
            }
            Err(_) => continue,
        }
    }
    Err(InputError::new(
        &file,
        None,
        format!("no struct, union or typedef of one named `{name}`"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_file_errors_name_file_and_line_once() {
        let dir = std::env::temp_dir().join(format!("bpfcase-load-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("k.yaml");
        std::fs::write(
            &bad,
            "name: k\nsize: 4\nfields:\n  - name: a\n    offset: 2\n    size: 4\n    type: u32\n",
        )
        .unwrap();
        let e = load_schema(&bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:4: type k, field a: offset 2 + size 4 ends past the type's size 4",
                bad.display()
            )
        );
        std::fs::write(&bad, "name: k\nsize: [\n").unwrap();
        let e = load_schema(&bad).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}:3: column 1: ", bad.display())),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
