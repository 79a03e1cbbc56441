//! Types from a binary's DWARF (Go, C, Rust), or from its split debug
//! file; read mapped under [`crate::limits::MAX_DWARF_FILE`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::InputError;
use crate::ingest::dwarf::{DebugSearch, DwarfError, DwarfFile};
use crate::ingest::read::FileBytes;
use crate::limits::MAX_DWARF_FILE;
use crate::model::layout::Layout;

/// A binary read once; [`DwarfBinary::types`] finds its DWARF sections
/// (in the binary, or in its split debug file).
pub struct DwarfBinary {
    path: PathBuf,
    debug_dir: Option<PathBuf>,
    data: FileBytes,
}

/// The DWARF of a binary, ready for lookups by name.
pub struct DwarfTypes<'a> {
    dwarf: DwarfFile<'a>,
    /// The binary as named.
    file: String,
    /// The file the DWARF is read from (the binary or its debug file): what
    /// errors name.
    shown: String,
}

impl DwarfBinary {
    /// Reads `path` under the DWARF cap; split debug files are searched in
    /// `debug_dir` first (`DIR/.build-id/xx/rest.debug`, `DIR/<debuglink>`),
    /// then where gdb looks.
    pub fn open(path: &Path, debug_dir: Option<&Path>) -> Result<DwarfBinary, InputError> {
        Ok(DwarfBinary {
            data: super::map_capped(path, MAX_DWARF_FILE, "MAX_DWARF_FILE")?,
            path: path.to_path_buf(),
            debug_dir: debug_dir.map(Path::to_path_buf),
        })
    }

    /// The DWARF sections (decompressed where compressed; from the split
    /// debug file when the binary has none).
    pub fn types(&self) -> Result<DwarfTypes<'_>, InputError> {
        DwarfTypes::parse(&self.path, &self.data, self.debug_dir.as_deref())
    }

    /// The DWARF borrowing bytes that live as long as the process: for a
    /// reader kept until the end (`analyze`'s user types), without copying.
    pub fn leak(self) -> Result<DwarfTypes<'static>, InputError> {
        let data: &'static [u8] = Box::leak(Box::new(self.data));
        DwarfTypes::parse(&self.path, data, self.debug_dir.as_deref())
    }
}

impl<'a> DwarfTypes<'a> {
    fn parse(path: &Path, data: &'a [u8], debug_dir: Option<&Path>) -> Result<Self, InputError> {
        let file = path.display().to_string();
        let mut search = DebugSearch::default();
        search.dirs.extend(debug_dir.map(Path::to_path_buf));
        let dwarf = DwarfFile::load_with(path, data, &search)
            .map_err(|e| InputError::at_offset(&file, e.file_offset(), &e))?;
        let shown = dwarf.debug_path().display().to_string();
        Ok(DwarfTypes { dwarf, file, shown })
    }

    fn error(&self, e: DwarfError) -> InputError {
        InputError::at_offset(&self.shown, e.file_offset(), &e)
    }

    /// Where the layouts come from, for reports: `DWARF of BIN`, and the
    /// debug file when it is another.
    pub fn origin(&self) -> String {
        if self.shown == self.file {
            format!("DWARF of {}", self.file)
        } else {
            format!("DWARF of {} (from {})", self.file, self.shown)
        }
    }

    /// The struct or union `name` (qualified as the language does,
    /// `main.FlowKey`, or bare), or the one a typedef `name` names.
    pub fn layout(&self, name: &str) -> Result<Option<Arc<Layout>>, InputError> {
        Ok(self
            .dwarf
            .layout(name)
            .map_err(|e| self.error(e))?
            .map(Arc::new))
    }

    /// Qualified names of every struct, union or class.
    pub fn type_names(&self) -> Result<Vec<String>, InputError> {
        self.dwarf.struct_names().map_err(|e| self.error(e))
    }

    /// [`DwarfTypes::layout`], an error naming up to ten types whose names
    /// contain `name` (case and `_` ignored) when there is no such type.
    pub fn require(&self, name: &str) -> Result<Arc<Layout>, InputError> {
        if let Some(l) = self.layout(name)? {
            return Ok(l);
        }
        let fold = |s: &str| s.to_lowercase().replace('_', "");
        let want = fold(name);
        let mut near: Vec<String> = self
            .type_names()?
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
            &self.shown,
            None,
            format!("no struct, union or typedef of one named `{name}` in the DWARF{hint}"),
        ))
    }
}
