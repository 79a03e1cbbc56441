//! The decode engine: every entry of a bpftool map dump decoded with key
//! and value types from BTF, DWARF or a YAML schema, and the dump checks
//! run over it, as the entries stream from the file.
//!
//! [`Decoder::open`] resolves the types (and reads `bpftool map show`
//! when given) before anything is written; [`Decoder::stream`] then hands
//! each decoded entry to the caller as its batch is parsed, so the dump
//! is never held whole, and returns the counts and findings.

use std::path::{Path, PathBuf};

use super::dumps::{check_sizes, decode_entry, stream_dump};
use super::error::Result;
use super::types::{resolve_types, MapTypes, TypeSource};
use crate::analyses::dump_checks::{DumpChecker, DumpContext};
use crate::error::InputError;
use crate::ingest::bpftool_json;
use crate::model::decode::Decoded;
use crate::model::dump::{DumpEntry, EntryValue};
use crate::model::finding::{Finding, MapRef, Position};

/// Where a map's key and value types come from, as plain values (one arm
/// per source, as [`TypeSource`] borrows them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeOptions {
    /// A BPF object or raw BTF: the types of map `map`'s `.maps`
    /// definition, or the named key and value types.
    Btf {
        file: PathBuf,
        map: Option<String>,
        key_type: Option<String>,
        value_type: Option<String>,
    },
    /// Structs/unions by name from a binary's DWARF; C scalar names by name.
    Dwarf {
        file: PathBuf,
        key_type: String,
        value_type: String,
    },
    /// Types by name from a YAML layout schema; scalar names by name.
    Schema {
        file: PathBuf,
        key_type: String,
        value_type: String,
    },
}

impl TypeOptions {
    /// The source, borrowed, for [`resolve_types`].
    pub fn source(&self) -> TypeSource<'_> {
        match self {
            TypeOptions::Btf {
                file,
                map,
                key_type,
                value_type,
            } => TypeSource::Btf {
                file,
                map: map.as_deref(),
                key_type: key_type.as_deref(),
                value_type: value_type.as_deref(),
            },
            TypeOptions::Dwarf {
                file,
                key_type,
                value_type,
            } => TypeSource::Dwarf {
                file,
                key_type,
                value_type,
            },
            TypeOptions::Schema {
                file,
                key_type,
                value_type,
            } => TypeSource::Schema {
                file,
                key_type,
                value_type,
            },
        }
    }

    /// Reads the source and lays out the key and value types.
    pub fn resolve(&self) -> Result<MapTypes> {
        resolve_types(self.source())
    }
}

/// What `decode` is asked to do.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// A `bpftool map dump` capture: `-j`/`-p` JSON or text (`-`: standard input).
    pub dump: PathBuf,
    /// The key and value types.
    pub types: TypeOptions,
    /// `bpftool -j map show` of the map (type and max_entries for the
    /// `dump/map-full` check).
    pub show: Option<PathBuf>,
    /// Only count: each byte entry's sizes are checked against its types
    /// (what decoding would reject) instead of decoding it, and no entry is
    /// handed over.
    pub count_only: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            dump: PathBuf::new(),
            types: TypeOptions::Btf {
                file: PathBuf::new(),
                map: None,
                key_type: None,
                value_type: None,
            },
            show: None,
            count_only: false,
        }
    }
}

/// One entry as decoded, handed to the caller of [`Decoder::stream`].
#[derive(Debug)]
pub enum DecodedEntry {
    /// Decoded from its bytes with the types, in bpftool's `formatted` shape.
    Decoded(Decoded),
    /// A BTF-formatted text entry (bpftool already decoded it): one JSON
    /// object, `{"key":…,"value":…}` (`"values"` for per-CPU maps).
    Formatted(String),
}

/// What a decode found once the dump was read.
#[derive(Debug)]
pub struct Decoding {
    /// Entries read.
    pub entries: usize,
    /// Entries decoded (or, counting only, whose sizes fit the types).
    pub decoded: usize,
    /// Entries that do not match the types.
    pub undecodable: usize,
    /// The first few undecodable entries (`input/unreadable`), then the
    /// dump checks' findings.
    pub findings: Vec<Finding>,
}

/// A dump about to be decoded, its types resolved.
#[derive(Debug)]
pub struct Decoder {
    dump: PathBuf,
    types: MapTypes,
    count_only: bool,
}

impl Decoder {
    /// Resolves the types, and takes the map's type and size from
    /// `bpftool map show` when given. Nothing of the dump is read yet.
    pub fn open(opts: &DecodeOptions) -> Result<Decoder> {
        let mut types = opts.types.resolve()?;
        if let Some(show) = &opts.show {
            apply_show(&mut types, show)?;
        }
        Ok(Decoder {
            dump: opts.dump.clone(),
            types,
            count_only: opts.count_only,
        })
    }

    /// The resolved types.
    pub fn types(&self) -> &MapTypes {
        &self.types
    }

    /// Streams the dump: each entry decoded goes to `each` with its index
    /// as its batch is parsed (an entry that does not match the types is
    /// counted and noted instead), and every batch then goes through the
    /// dump checks, which keep counts, first examples and the keys. An
    /// error from `each` stops the reading and is returned.
    pub fn stream<E: From<InputError>>(
        self,
        each: &mut dyn FnMut(usize, DecodedEntry) -> Result<(), E>,
    ) -> Result<Decoding, E> {
        let dump_name = self.dump.display().to_string();
        let types = &self.types;
        let map = types.map_name.clone().map(|name| MapRef { id: None, name });
        let mut checker = DumpChecker::new(DumpContext {
            file: &dump_name,
            map,
            key: types.key.layout(),
            value: types.value.layout(),
            map_type: types.map_type,
            max_entries: types.max_entries,
        });
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
        stream_dump::<E>(&self.dump, &mut |batch| {
            let base = checker.entries();
            for e in batch.entries() {
                let index = base + e.index;
                if e.formatted {
                    if !self.count_only {
                        each(index, DecodedEntry::Formatted(formatted_text(&e)))?;
                    }
                    decoded += 1;
                    continue;
                }
                if self.count_only {
                    // Decoding cannot fail once the sizes match (see
                    // `model::decode`), so counting checks sizes instead
                    // of building every entry's tree.
                    match check_sizes(types, e.key, e.value) {
                        Ok(()) => decoded += 1,
                        Err(err) => note_bad(index, e.position, &err),
                    }
                    continue;
                }
                match decode_entry(types, e.key, e.value) {
                    Ok(d) => {
                        each(index, DecodedEntry::Decoded(d))?;
                        decoded += 1;
                    }
                    Err(err) => note_bad(index, e.position, &err),
                }
            }
            checker.feed(&batch);
            Ok(())
        })?;
        let checked = checker.finish();
        let mut findings = undecodable;
        findings.extend(checked.findings);
        Ok(Decoding {
            entries: checked.entries,
            decoded,
            undecodable: bad,
            findings,
        })
    }
}

/// The map's type, size and name from `bpftool -j map show` (the one map
/// listed, or the one named as the types' map).
fn apply_show(types: &mut MapTypes, show: &Path) -> Result<(), InputError> {
    let name = show.display().to_string();
    let bytes = crate::ingest::read::read_file(show, 64 << 20)?;
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
    Ok(())
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
