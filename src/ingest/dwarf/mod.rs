//! DWARF struct layouts of user-space binaries (Go, C, C++, Rust), read with
//! gimli over object.
//!
//! [`DwarfFile::load`] reads the DWARF sections of an ELF file (zlib
//! `SHF_COMPRESSED` sections included, as Go and `--compress-debug-sections`
//! write them) or, for a stripped binary, of its split debug file (found by
//! build-id or `.gnu_debuglink`). [`DwarfFile::layout`] finds one struct by
//! name without building a type table for the whole binary: it scans unit
//! DIEs comparing `DW_AT_name` bytes before decoding anything else, then
//! resolves only the types that struct needs.
//!
//! Submodules: `load` (ELF sections, split debug files), `scan` (finding a
//! type by name), `resolve` (DIE → [`Layout`]).

mod load;
mod resolve;
mod scan;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gimli::{EndianSlice, RunTimeEndian, SectionId};

use crate::model::layout::Layout;

pub use load::DebugSearch;

/// The reader every parser in this module uses: a slice of one section.
type Reader<'s> = EndianSlice<'s, RunTimeEndian>;

/// Deepest type nesting (typedef chains, arrays, nested aggregates) we
/// follow: the limit shared with BTF, Go and YAML (`crate::limits`). Real
/// C and Go types nest a few dozen levels at most; a cycle in hostile DWARF
/// would otherwise recurse without end.
pub use crate::limits::MAX_TYPE_DEPTH;

/// What went wrong reading DWARF.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DwarfError {
    /// The file is not an ELF object `object` can read.
    #[error("not a readable ELF file: {0}")]
    Object(#[source] object::Error),
    /// A debug section's header or compressed stream is broken.
    #[error("section {section} (at file offset 0x{file_offset:x}): {source}")]
    Section {
        section: String,
        file_offset: u64,
        #[source]
        source: object::Error,
    },
    /// A compressed section claims an uncompressed size zlib cannot reach.
    #[error(
        "section {section} (at file offset 0x{file_offset:x}) claims {size} bytes uncompressed \
         from {compressed} compressed bytes, more than zlib can expand to"
    )]
    SectionTooLarge {
        section: String,
        file_offset: u64,
        size: u64,
        compressed: u64,
    },
    /// Neither the file nor any split debug file holds `.debug_info`.
    #[error("no DWARF: the file has no .debug_info and no matching split debug file ({})",
        if searched.is_empty() { "it names neither a build-id nor a .gnu_debuglink".to_string() }
        else { format!("looked for {}", searched.join(", ")) })]
    NoDebugInfo { searched: Vec<String> },
    /// A split debug file exists but cannot be read.
    #[error("cannot read split debug file {}: {source}", path.display())]
    DebugFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// gimli could not parse the DWARF: `{err} at {section}+0x{offset}`, the
    /// way gimli's `Dwarf::format_error` places errors. Offsets in
    /// compressed sections are offsets in the uncompressed bytes.
    #[error("{source} at {section}+0x{offset:x}")]
    Malformed {
        section: &'static str,
        offset: u64,
        #[source]
        source: gimli::Error,
    },
    /// Type nesting deeper than [`MAX_TYPE_DEPTH`]: a reference cycle.
    #[error(
        "type at {section}+0x{offset:x} nests deeper than {limit} levels (a reference cycle?)"
    )]
    TooDeep {
        section: &'static str,
        offset: u64,
        limit: usize,
    },
    /// A bare name matched types of several packages or namespaces.
    #[error("`{name}` is ambiguous: it matches {}; use a qualified name", candidates.join(", "))]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
    /// A DIE that parses but does not describe a usable type.
    #[error("DIE at {section}+0x{offset:x}: {why}")]
    BadType {
        section: &'static str,
        offset: u64,
        why: String,
    },
}

impl DwarfError {
    /// Byte offset in the file the DWARF came from, where one is known and
    /// meaningful (a section header; not inside a compressed stream).
    pub fn file_offset(&self) -> Option<u64> {
        match self {
            DwarfError::Section { file_offset, .. }
            | DwarfError::SectionTooLarge { file_offset, .. } => Some(*file_offset),
            _ => None,
        }
    }
}

/// The DWARF sections of one ELF file (or of its split debug file).
pub struct DwarfFile<'a> {
    /// The file the DWARF was read from: the binary, or its debug file.
    debug_path: PathBuf,
    endian: RunTimeEndian,
    /// All sections but `.debug_line`, which is in `line`.
    sections: gimli::DwarfSections<Cow<'a, [u8]>>,
    line: LazyLine<'a>,
}

/// `.debug_line`, decompressed only when a declaration's file name is
/// wanted: Go binaries carry megabytes of it and name no member files, so
/// a Go lookup never pays for it.
struct LazyLine<'a> {
    compressed: Option<object::CompressedData<'a>>,
    ready: OnceLock<Cow<'a, [u8]>>,
}

impl<'a> LazyLine<'a> {
    fn ready(bytes: Cow<'a, [u8]>) -> Self {
        let ready = OnceLock::new();
        let _ = ready.set(bytes);
        LazyLine {
            compressed: None,
            ready,
        }
    }

    fn compressed(data: object::CompressedData<'a>) -> Self {
        LazyLine {
            compressed: Some(data),
            ready: OnceLock::new(),
        }
    }

    /// The uncompressed bytes; empty when they cannot be had (a broken
    /// line table costs source locations, not layouts).
    fn bytes(&self) -> &[u8] {
        self.ready.get_or_init(|| match self.compressed {
            Some(c) if load::plausible_size(&c) => c.decompress().unwrap_or_default(),
            _ => Cow::Borrowed(&[]),
        })
    }
}

impl std::fmt::Debug for DwarfFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DwarfFile")
            .field("debug_path", &self.debug_path)
            .finish()
    }
}

impl<'a> DwarfFile<'a> {
    /// Reads the DWARF of the ELF file `data` (read from `path`). When the
    /// file has no `.debug_info`, looks for its split debug file next to it
    /// (`DIR/NAME`, `DIR/.debug/NAME`) and under `/usr/lib/debug`.
    pub fn load(path: &Path, data: &'a [u8]) -> Result<Self, DwarfError> {
        Self::load_with(path, data, &DebugSearch::default())
    }

    /// Like [`DwarfFile::load`], searching `search.dirs` first for split
    /// debug files (`DIR/.build-id/xx/rest.debug`, `DIR/<debuglink name>`).
    pub fn load_with(
        path: &Path,
        data: &'a [u8],
        search: &DebugSearch,
    ) -> Result<Self, DwarfError> {
        load::load(path, data, search)
    }

    /// The file the DWARF was read from (the binary itself, or its split
    /// debug file).
    pub fn debug_path(&self) -> &Path {
        &self.debug_path
    }

    /// A gimli view of the sections; cheap (it only copies slice headers).
    fn dwarf(&self) -> gimli::Dwarf<Reader<'_>> {
        let endian = self.endian;
        self.sections
            .borrow(|section| EndianSlice::new(section.as_ref(), endian))
    }

    /// The layout of the struct or union `name`. `name` may be qualified the
    /// way the language does (`main.FlowKey`, `layouts::FlowKey`) or bare
    /// (`FlowKey`, which matches `<pkg>.FlowKey` when only one package has
    /// it). A typedef name resolves to its aggregate. `Ok(None)` when no
    /// struct or union has that name.
    pub fn layout(&self, name: &str) -> Result<Option<Layout>, DwarfError> {
        let dwarf = self.dwarf();
        let mut units = scan::Units::new(&dwarf)?;
        let Some(found) = scan::find(&dwarf, &mut units, name)? else {
            return Ok(None);
        };
        let line = || self.line.bytes();
        let mut resolver = resolve::Resolver::new(&dwarf, &mut units, &line);
        resolver.top_level(&found)
    }

    /// Qualified names of every named struct, union or class definition,
    /// sorted and without duplicates.
    pub fn struct_names(&self) -> Result<Vec<String>, DwarfError> {
        let dwarf = self.dwarf();
        let mut units = scan::Units::new(&dwarf)?;
        scan::all_names(&dwarf, &mut units)
    }
}

/// Converts a gimli error, placing it the way `Dwarf::format_error` does
/// when the error carries a reader position, else at `fallback` (the DIE or
/// unit being read).
fn malformed(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    err: gimli::Error,
    fallback: (SectionId, u64),
) -> DwarfError {
    let (section, offset) = match err {
        gimli::Error::UnexpectedEof(id) => match dwarf.lookup_offset_id(id) {
            Some((_, section, offset)) => (section, offset as u64),
            None => fallback,
        },
        _ => fallback,
    };
    DwarfError::Malformed {
        section: section.name(),
        offset,
        source: err,
    }
}
