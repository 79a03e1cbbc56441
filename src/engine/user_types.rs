//! User-space layout sources for `analyze`: Go source and DWARF binaries,
//! behind the `UserTypes` trait so the passes ask for types by name.

use std::path::Path;

use crate::error::InputError;
use crate::ingest::dwarf::{DebugSearch, DwarfFile};
use crate::ingest::gosrc::bpf2go::{self, ebpf_tag, Bpf2GoFile};
use crate::ingest::gosrc::{GoArch, GoLayouts, GoPackage, GoSrcError};
use crate::ingest::read::map_file;
use crate::model::case::{Generated, UserTypes};
use crate::model::finding::Position;
use crate::model::layout::Layout;

/// Go source: one `.go` file or a package directory, laid out for one GOARCH.
pub struct GoSource {
    pkg: GoPackage,
    arch: GoArch,
    origin: String,
    /// The package's bpf2go output files.
    bpf2go: Vec<Bpf2GoFile>,
}

/// Turns a Go source error into an input error at its file:line.
fn go_error(path: &str, e: &GoSrcError) -> InputError {
    match e.pos() {
        Some(pos) => InputError::new(pos.file.to_string(), Some(Position::Line(pos.line)), e),
        None => InputError::new(path, None, e),
    }
}

impl GoSource {
    pub fn load(path: &Path, arch: GoArch) -> Result<GoSource, InputError> {
        let name = path.display().to_string();
        let pkg = GoPackage::load(path, arch).map_err(|e| go_error(&name, &e))?;
        Ok(GoSource {
            bpf2go: bpf2go::find(&pkg),
            pkg,
            arch,
            origin: format!("Go source {name} (GOARCH={})", arch.as_str()),
        })
    }
}

impl UserTypes for GoSource {
    fn origin(&self) -> String {
        self.origin.clone()
    }

    fn type_names(&self) -> Vec<String> {
        self.pkg
            .struct_names()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    fn layout(&self, name: &str) -> Result<Option<Layout>, String> {
        let bare = name.rsplit('.').next().unwrap_or(name);
        match GoLayouts::new(&self.pkg, self.arch).layout(bare) {
            Ok(l) => Ok(Some((*l).clone())),
            Err(GoSrcError::NoSuchType { .. }) | Err(GoSrcError::NotAStruct { .. }) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn field_aliases(&self, name: &str) -> Vec<Option<String>> {
        let bare = name.rsplit('.').next().unwrap_or(name);
        let tags = GoLayouts::new(&self.pkg, self.arch)
            .member_tags(bare)
            .unwrap_or_default();
        tags.iter()
            .map(|t| t.as_deref().and_then(ebpf_tag))
            .collect()
    }

    fn generated(&self, name: &str) -> Option<Generated> {
        let bare = name.rsplit('.').next().unwrap_or(name);
        let f = self
            .bpf2go
            .iter()
            .find(|f| f.types.iter().any(|t| t == bare))?;
        Some(Generated {
            tool: "bpf2go",
            file: f.path.to_string(),
            stem: f.stem.clone(),
        })
    }
}

/// A binary with DWARF (Go, C, Rust), read lazily by type name.
pub struct DwarfBinary {
    dwarf: DwarfFile<'static>,
    origin: String,
}

impl DwarfBinary {
    pub fn load(path: &Path, debug_dir: Option<&Path>) -> Result<DwarfBinary, InputError> {
        let name = path.display().to_string();
        let bytes = map_file(path, crate::limits::MAX_DWARF_BYTES)?;
        // The analysis reads this binary until the process exits; leaking the
        // mapping gives the DWARF reader a 'static borrow without copying.
        let data: &'static [u8] = Box::leak(Box::new(bytes));
        let mut search = DebugSearch::default();
        search.dirs.extend(debug_dir.map(Path::to_path_buf));
        let dwarf = DwarfFile::load_with(path, data, &search)
            .map_err(|e| InputError::at_offset(&name, e.file_offset(), &e))?;
        let origin = if dwarf.debug_path() == path {
            format!("DWARF of {name}")
        } else {
            format!("DWARF of {name} (from {})", dwarf.debug_path().display())
        };
        Ok(DwarfBinary { dwarf, origin })
    }
}

impl UserTypes for DwarfBinary {
    fn origin(&self) -> String {
        self.origin.clone()
    }

    fn type_names(&self) -> Vec<String> {
        self.dwarf.struct_names().unwrap_or_default()
    }

    fn layout(&self, name: &str) -> Result<Option<Layout>, String> {
        self.dwarf.layout(name).map_err(|e| e.to_string())
    }
}

/// A YAML layout schema (`docs/schema.md`): every type it declares.
pub struct SchemaFile {
    schema: crate::ingest::schema::Schema,
    origin: String,
}

impl SchemaFile {
    pub fn load(path: &Path) -> Result<SchemaFile, InputError> {
        let schema = crate::commands::schema::load_schema(path)?;
        Ok(SchemaFile {
            schema,
            origin: format!("YAML schema {}", path.display()),
        })
    }
}

impl UserTypes for SchemaFile {
    fn origin(&self) -> String {
        self.origin.clone()
    }

    fn type_names(&self) -> Vec<String> {
        self.schema.types.iter().map(|(n, _)| n.clone()).collect()
    }

    fn layout(&self, name: &str) -> Result<Option<Layout>, String> {
        Ok(self.schema.get(name).map(|l| (**l).clone()))
    }
}
