//! Types from a YAML layout schema (`docs/schema.md`), read under
//! [`crate::limits::MAX_SCHEMA_FILE`] as strict UTF-8.

use std::path::Path;
use std::sync::Arc;

use crate::error::InputError;
use crate::ingest::schema::{Schema, SchemaError};
use crate::limits::MAX_SCHEMA_FILE;
use crate::model::layout::Layout;

/// A schema file, read and validated once.
pub struct SchemaTypes {
    schema: Schema,
    /// The file as named.
    path: String,
}

impl SchemaTypes {
    /// Reads and validates `path`; errors name the file and the line (and
    /// the column where the YAML parser or the UTF-8 check gives one).
    pub fn open(path: &Path) -> Result<SchemaTypes, InputError> {
        let name = path.display().to_string();
        let text = super::read_text(path, MAX_SCHEMA_FILE, "MAX_SCHEMA_FILE")?;
        let schema = Schema::parse(&text).map_err(|e| schema_error(&name, &e))?;
        Ok(SchemaTypes { schema, path: name })
    }

    /// The parsed schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Where the layouts come from, for reports.
    pub fn origin(&self) -> String {
        format!("YAML schema {}", self.path)
    }

    /// The names of the types it declares, in file order.
    pub fn type_names(&self) -> Vec<String> {
        self.schema.types.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The type `name`, as the schema names it.
    pub fn layout(&self, name: &str) -> Option<Arc<Layout>> {
        self.schema.get(name).cloned()
    }

    /// [`SchemaTypes::layout`], an error listing the schema's types when it
    /// has none of that name.
    pub fn require(&self, name: &str) -> Result<Arc<Layout>, InputError> {
        self.layout(name).ok_or_else(|| {
            let names: Vec<_> = self.schema.types.iter().map(|(n, _)| n.as_str()).collect();
            InputError::new(
                &self.path,
                None,
                format!(
                    "no type `{name}` in the schema (types: {})",
                    names.join(", ")
                ),
            )
        })
    }
}

/// A schema error at the file's line, the column leading the reason.
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
        let e = SchemaTypes::open(&bad).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:4: type k, field a: offset 2 + size 4 ends past the type's size 4",
                bad.display()
            )
        );
        std::fs::write(&bad, "name: k\nsize: [\n").unwrap();
        let e = SchemaTypes::open(&bad).err().unwrap();
        assert!(
            e.to_string()
                .starts_with(&format!("{}:3: column 1: ", bad.display())),
            "{e}"
        );
        // Not UTF-8: the line and column of the first bad byte.
        std::fs::write(&bad, b"name: k\nsize: 4 # caf\xe9\n".as_slice()).unwrap();
        let e = SchemaTypes::open(&bad).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!("{}:2: column 14: not UTF-8 (byte offset 21)", bad.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
