//! Types from Go source: one `.go` file or a package directory, laid out
//! by gc's rules for one GOARCH. Each file is read under
//! [`crate::limits::MAX_GO_FILE`] and must be UTF-8 (`ingest::gosrc`).

use std::path::Path;
use std::sync::Arc;

use crate::error::InputError;
use crate::ingest::gosrc::bpf2go::{self, ebpf_tag, Bpf2GoFile};
use crate::ingest::gosrc::{GoArch, GoLayouts, GoPackage, GoSrcError};
use crate::model::case::Generated;
use crate::model::layout::Layout;

/// A Go package, parsed once.
pub struct GoTypes {
    pkg: GoPackage,
    arch: GoArch,
    /// The path as named.
    path: String,
    /// The package's bpf2go output files.
    bpf2go: Vec<Bpf2GoFile>,
}

/// A Go error at its own file and line, the column leading the reason
/// (`flows.go:6: column 5: …`); without a place, at `path`.
pub fn go_error(path: &str, e: &GoSrcError) -> InputError {
    match e.pos() {
        Some(pos) => {
            let full = e.to_string();
            let reason = full.strip_prefix(&format!("{pos}: ")).unwrap_or(&full);
            InputError::at_line(
                pos.file.to_string(),
                pos.line,
                format!("column {}: {reason}", pos.col),
            )
        }
        None => InputError::new(path, None, e),
    }
}

/// `main.FlowKey` → `FlowKey`: a Go package's types by their own names.
fn bare(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

impl GoTypes {
    /// Reads and parses the file, or the package's files for linux/`arch`.
    pub fn open(path: &Path, arch: GoArch) -> Result<GoTypes, InputError> {
        let name = path.display().to_string();
        let pkg = GoPackage::load(path, arch).map_err(|e| go_error(&name, &e))?;
        Ok(GoTypes {
            bpf2go: bpf2go::find(&pkg),
            pkg,
            arch,
            path: name,
        })
    }

    /// Where the layouts come from, for reports.
    pub fn origin(&self) -> String {
        format!("Go source {} (GOARCH={})", self.path, self.arch.as_str())
    }

    /// The package's struct types, in declaration order.
    pub fn type_names(&self) -> Vec<String> {
        self.pkg
            .struct_names()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    fn lay_out(&self, name: &str) -> Result<Arc<Layout>, GoSrcError> {
        GoLayouts::new(&self.pkg, self.arch).layout(bare(name))
    }

    /// The struct `name` (`FlowKey` or `main.FlowKey`); `Ok(None)` when the
    /// package has no struct of that name.
    pub fn layout(&self, name: &str) -> Result<Option<Arc<Layout>>, InputError> {
        match self.lay_out(name) {
            Ok(l) => Ok(Some(l)),
            Err(GoSrcError::NoSuchType { .. }) | Err(GoSrcError::NotAStruct { .. }) => Ok(None),
            Err(e) => Err(go_error(&self.path, &e)),
        }
    }

    /// The struct `name`; an error listing the package's structs when it
    /// has no type of that name, or saying what `name` is when not a struct.
    pub fn require(&self, name: &str) -> Result<Arc<Layout>, InputError> {
        self.lay_out(name).map_err(|e| match e {
            GoSrcError::NoSuchType { .. } => InputError::new(
                &self.path,
                None,
                format!(
                    "no type named `{name}`; struct types here: {}",
                    self.pkg.struct_names().join(", ")
                ),
            ),
            other => go_error(&self.path, &other),
        })
    }

    /// Per top-level member of `name`, the C field it mirrors by its
    /// `ebpf:"…"` tag.
    pub fn field_aliases(&self, name: &str) -> Vec<Option<String>> {
        let tags = GoLayouts::new(&self.pkg, self.arch)
            .member_tags(bare(name))
            .unwrap_or_default();
        tags.iter()
            .map(|t| t.as_deref().and_then(ebpf_tag))
            .collect()
    }

    /// When bpf2go wrote `name`: its file and stem.
    pub fn generated(&self, name: &str) -> Option<Generated> {
        let bare = bare(name);
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
