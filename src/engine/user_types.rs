//! User-space layout sources for `analyze`: Go source, DWARF binaries and
//! YAML schemas, behind the `UserTypes` trait so the passes ask for types
//! by name. Each is a [`crate::engine::type_source`] source, read as every
//! command reads it.

use std::path::Path;

use super::type_source::{self, DwarfTypes, GoTypes, SchemaTypes};
use crate::error::InputError;
use crate::ingest::gosrc::GoArch;
use crate::model::case::{Generated, UserTypes};
use crate::model::layout::Layout;

/// Go source: one `.go` file or a package directory, laid out for one GOARCH.
pub struct GoSource(GoTypes);

impl GoSource {
    pub fn load(path: &Path, arch: GoArch) -> Result<GoSource, InputError> {
        GoTypes::open(path, arch).map(GoSource)
    }
}

impl UserTypes for GoSource {
    fn origin(&self) -> String {
        self.0.origin()
    }

    fn type_names(&self) -> Vec<String> {
        self.0.type_names()
    }

    fn layout(&self, name: &str) -> Result<Option<Layout>, String> {
        let found = self.0.layout(name).map_err(|e| e.to_string())?;
        Ok(found.map(|l| (*l).clone()))
    }

    fn field_aliases(&self, name: &str) -> Vec<Option<String>> {
        self.0.field_aliases(name)
    }

    fn generated(&self, name: &str) -> Option<Generated> {
        self.0.generated(name)
    }
}

/// A binary with DWARF (Go, C, Rust), read lazily by type name.
pub struct DwarfBinary {
    dwarf: DwarfTypes<'static>,
    origin: String,
}

impl DwarfBinary {
    pub fn load(path: &Path, debug_dir: Option<&Path>) -> Result<DwarfBinary, InputError> {
        // The analysis reads this binary until the process exits; leaking the
        // mapping gives the DWARF reader a 'static borrow without copying.
        let dwarf = type_source::DwarfBinary::open(path, debug_dir)?.leak()?;
        Ok(DwarfBinary {
            origin: dwarf.origin(),
            dwarf,
        })
    }
}

impl UserTypes for DwarfBinary {
    fn origin(&self) -> String {
        self.origin.clone()
    }

    fn type_names(&self) -> Vec<String> {
        self.dwarf.type_names().unwrap_or_default()
    }

    fn layout(&self, name: &str) -> Result<Option<Layout>, String> {
        let found = self.dwarf.layout(name).map_err(|e| e.reason)?;
        Ok(found.map(|l| (*l).clone()))
    }
}

/// A YAML layout schema (`docs/schema.md`): every type it declares.
pub struct SchemaFile(SchemaTypes);

impl SchemaFile {
    pub fn load(path: &Path) -> Result<SchemaFile, InputError> {
        SchemaTypes::open(path).map(SchemaFile)
    }
}

impl UserTypes for SchemaFile {
    fn origin(&self) -> String {
        self.0.origin()
    }

    fn type_names(&self) -> Vec<String> {
        self.0.type_names()
    }

    fn layout(&self, name: &str) -> Result<Option<Layout>, String> {
        Ok(self.0.layout(name).map(|l| (*l).clone()))
    }
}
