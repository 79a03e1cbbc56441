//! Named types from a source: one resolver for BTF, DWARF, Go source and
//! YAML layout schemas, with one read policy, used by every command that
//! asks for a type by name (`layout`, `schema`, `decode`, `diff`, and
//! `analyze`'s user types).
//!
//! Each kind is opened once ([`BtfFile::open`], [`DwarfBinary::open`],
//! [`GoTypes::open`], [`SchemaTypes::open`]) and then asked for layouts by
//! name. The read policy is the same whichever command reads the file:
//!
//! - one size cap per kind, in [`crate::limits`] ([`MAX_BTF_FILE`],
//!   [`MAX_DWARF_FILE`], [`MAX_GO_FILE`], [`MAX_SCHEMA_FILE`]); a regular
//!   file over it is refused from its size, before any byte is read, and a
//!   stream is read up to [`crate::limits::MAX_STREAM_BYTES`] at most;
//! - BTF and DWARF files are memory-mapped (binary, borrowed by their
//!   parsers); Go and YAML are read whole and must be UTF-8, a file that is
//!   not being reported at the line and column of its first bad byte;
//! - every error is an [`InputError`] naming the file and the byte offset
//!   (BTF, DWARF) or line and column (Go, YAML).
//!
//! [`Source`] ties the four kinds together for a caller that takes any of
//! them (`bpfcase schema`).
//!
//! [`MAX_BTF_FILE`]: crate::limits::MAX_BTF_FILE
//! [`MAX_DWARF_FILE`]: crate::limits::MAX_DWARF_FILE
//! [`MAX_GO_FILE`]: crate::limits::MAX_GO_FILE
//! [`MAX_SCHEMA_FILE`]: crate::limits::MAX_SCHEMA_FILE

pub mod btf;
pub mod dwarf;
pub mod go;
pub mod schema;

use std::path::Path;
use std::sync::Arc;

pub use btf::{BtfFile, BtfMap};
pub use dwarf::{DwarfBinary, DwarfTypes};
pub use go::{go_error, GoTypes};
pub use schema::SchemaTypes;

use crate::error::InputError;
use crate::ingest::gosrc::GoArch;
use crate::model::layout::Layout;

/// Where named types come from, and what opening the source needs.
#[derive(Debug, Clone, Copy)]
pub enum SourceSpec<'a> {
    /// Raw BTF or an ELF object's `.BTF`, split over `base` when given.
    Btf {
        file: &'a Path,
        base: Option<&'a Path>,
    },
    /// A binary's DWARF, or its split debug file (searched in `debug_dir`
    /// first, then where gdb looks).
    Dwarf {
        file: &'a Path,
        debug_dir: Option<&'a Path>,
    },
    /// A Go file or package directory, laid out for `arch`.
    Go { path: &'a Path, arch: GoArch },
    /// A YAML layout schema (`docs/schema.md`).
    Schema { file: &'a Path },
}

/// An opened source of any kind.
pub enum Source {
    Btf(BtfFile),
    Dwarf(DwarfBinary),
    Go(GoTypes),
    Schema(SchemaTypes),
}

impl Source {
    /// Reads the source under its kind's cap and parses what can be parsed
    /// up front (Go, YAML).
    pub fn open(spec: SourceSpec<'_>) -> Result<Source, InputError> {
        Ok(match spec {
            SourceSpec::Btf { file, base } => Source::Btf(BtfFile::open(file, base)?),
            SourceSpec::Dwarf { file, debug_dir } => {
                Source::Dwarf(DwarfBinary::open(file, debug_dir)?)
            }
            SourceSpec::Go { path, arch } => Source::Go(GoTypes::open(path, arch)?),
            SourceSpec::Schema { file } => Source::Schema(SchemaTypes::open(file)?),
        })
    }

    /// The struct or union `name` (or the one a typedef `name` names);
    /// `Ok(None)` when the source has none.
    pub fn layout(&self, name: &str) -> Result<Option<Arc<Layout>>, InputError> {
        match self {
            Source::Btf(s) => s.layout(name),
            Source::Dwarf(s) => s.types()?.layout(name),
            Source::Go(s) => s.layout(name),
            Source::Schema(s) => Ok(s.layout(name)),
        }
    }

    /// [`Source::layout`], with an error saying what the source has
    /// instead when it has no such type.
    pub fn require(&self, name: &str) -> Result<Arc<Layout>, InputError> {
        match self {
            Source::Btf(s) => s.require(name),
            Source::Dwarf(s) => s.types()?.require(name),
            Source::Go(s) => s.require(name),
            Source::Schema(s) => s.require(name),
        }
    }
}

/// Refuses a regular file over `cap` bytes from its size, before reading
/// it (the readers in [`crate::error`] would read `cap` bytes first).
fn check_size(path: &Path, cap: u64, cap_name: &str) -> Result<(), InputError> {
    if crate::ingest::read::is_stdin(path) {
        return Ok(());
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() > cap => Err(InputError::new(
            path.display().to_string(),
            None,
            format!(
                "file is {} bytes, over the {cap}-byte limit for this input (limits::{cap_name}); not read",
                meta.len()
            ),
        )),
        // Other failures are the reader's to report, in its words.
        _ => Ok(()),
    }
}

/// The bytes of a BTF or DWARF file, mapped, under `cap`.
pub(crate) fn map_capped(
    path: &Path,
    cap: u64,
    cap_name: &str,
) -> Result<crate::ingest::read::FileBytes, InputError> {
    check_size(path, cap, cap_name)?;
    crate::ingest::read::map_file(path, cap)
}

/// The text of a Go or YAML file, under `cap`: strict UTF-8, a bad byte
/// reported at its line and column (1-based; the column counts bytes, as
/// Go's and the schema's own positions do).
pub fn read_text(path: &Path, cap: u64, cap_name: &str) -> Result<String, InputError> {
    check_size(path, cap, cap_name)?;
    let bytes = crate::ingest::read::read_file(path, cap)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let (line, column) = line_column(e.as_bytes(), at);
        InputError::at_line(
            path.display().to_string(),
            line,
            format!("column {column}: not UTF-8 (byte offset {at})"),
        )
    })
}

/// The 1-based line and byte column of `offset` in `text`.
fn line_column(text: &[u8], offset: usize) -> (u32, u32) {
    let head = &text[..offset.min(text.len())];
    let line = head.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = head.len() - start + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_column(b"abc", 0), (1, 1));
        assert_eq!(line_column(b"abc\nde\xff", 6), (2, 3));
        assert_eq!(line_column(b"\n\n", 2), (3, 1));
    }

    #[test]
    fn a_file_over_its_cap_is_refused_from_its_size() {
        let dir = std::env::temp_dir().join(format!("bpfcase-cap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("big.yaml");
        std::fs::write(&f, vec![b'#'; 100]).unwrap();
        let e = read_text(&f, 99, "MAX_SCHEMA_FILE").unwrap_err();
        assert!(
            e.reason.contains(
                "100 bytes, over the 99-byte limit for this input (limits::MAX_SCHEMA_FILE)"
            ),
            "{e}"
        );
        assert_eq!(read_text(&f, 100, "MAX_SCHEMA_FILE").unwrap().len(), 100);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
