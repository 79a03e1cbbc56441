//! Types from BTF: a raw BTF file or an ELF object's `.BTF`, split over a
//! base when given; read mapped under [`crate::limits::MAX_BTF_FILE`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::inputs::{parse_btf, read_btf_file};
use crate::error::InputError;
use crate::ingest::btf::{Btf, BtfError, BtfKind, TypeId};
use crate::ingest::btf_layout::{global_data_section, section_matches, BtfLayouts};
use crate::ingest::elf::btf_map_defs;
use crate::ingest::read::FileBytes;
use crate::model::layout::Layout;
use crate::model::map::MapType;

/// A BTF file, read once; parsed by [`BtfFile::with_btf`] (the parse
/// borrows the bytes, and split BTF borrows its parsed base too).
pub struct BtfFile {
    path: PathBuf,
    name: String,
    data: FileBytes,
    base: Option<(PathBuf, FileBytes)>,
}

/// A map of a BPF object's `.maps` (or a global data map), as the BTF
/// declares its key and value.
#[derive(Debug, Clone)]
pub struct BtfMap {
    pub name: String,
    /// `None` for a global data map, keyed by a `__u32` index with no BTF type.
    pub key: Option<TypeId>,
    pub value: TypeId,
    pub map_type: Option<MapType>,
    pub max_entries: Option<u32>,
}

impl BtfFile {
    /// Reads `path` (and `base`) under the BTF cap. Nothing is parsed yet.
    pub fn open(path: &Path, base: Option<&Path>) -> Result<BtfFile, InputError> {
        let base = match base {
            Some(p) => Some((p.to_path_buf(), read_btf_file(p)?)),
            None => None,
        };
        Ok(BtfFile {
            path: path.to_path_buf(),
            name: path.display().to_string(),
            data: read_btf_file(path)?,
            base,
        })
    }

    /// The file as named in errors.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses the BTF (over its base) and hands it to `f`.
    pub fn with_btf<R>(&self, f: impl FnOnce(&Btf<'_>) -> R) -> Result<R, InputError> {
        let base = match &self.base {
            Some((p, d)) => Some(parse_btf(p, d, None)?),
            None => None,
        };
        let btf = parse_btf(&self.path, &self.data, base.as_ref())?;
        Ok(f(&btf))
    }

    /// The struct or union `name`, or the one a typedef `name` names
    /// ([`named_layout`]). Parses the BTF for this one lookup.
    pub fn layout(&self, name: &str) -> Result<Option<Arc<Layout>>, InputError> {
        self.with_btf(|btf| named_layout(&mut BtfLayouts::new(btf), &self.name, name))?
    }

    /// [`BtfFile::layout`], an error when there is no such type.
    pub fn require(&self, name: &str) -> Result<Arc<Layout>, InputError> {
        self.layout(name)?.ok_or_else(|| {
            InputError::new(
                &self.name,
                None,
                format!("no struct, union or typedef of one named `{name}`"),
            )
        })
    }
}

/// The type ids named `name` that lay out as an aggregate, in id order:
/// structs and unions, data sections (`DATASEC`) when `sections`, and
/// typedefs whose target lays out as one.
pub fn aggregate_ids(engine: &mut BtfLayouts<'_, '_>, name: &str, sections: bool) -> Vec<TypeId> {
    let btf = engine.btf();
    btf.all_types()
        .filter(|t| {
            t.name == name
                && match t.kind {
                    BtfKind::Struct | BtfKind::Union | BtfKind::Typedef => true,
                    BtfKind::Datasec => sections,
                    _ => false,
                }
        })
        .filter(|t| t.kind != BtfKind::Typedef || engine.layout(t.id).is_ok())
        .map(|t| t.id)
        .collect()
}

/// The layout of `name`: a struct or union of that name first, else the
/// first typedef naming one (an anonymous one then takes the typedef's
/// name). `file` names the BTF in errors.
pub fn named_layout(
    engine: &mut BtfLayouts<'_, '_>,
    file: &str,
    name: &str,
) -> Result<Option<Arc<Layout>>, InputError> {
    let btf = engine.btf();
    let ids = aggregate_ids(engine, name, false);
    let is_typedef = |id: TypeId| {
        btf.kind_and_ref(id)
            .is_ok_and(|(k, _)| k == BtfKind::Typedef)
    };
    let Some(id) = ids
        .iter()
        .copied()
        .find(|&id| !is_typedef(id))
        .or_else(|| ids.first().copied())
    else {
        return Ok(None);
    };
    let layout = engine
        .layout(id)
        .map_err(|e| type_error(file, &format!("type {name}"), &e))?;
    if is_typedef(id) && layout.name.is_empty() {
        let mut named = (*layout).clone();
        named.name = name.into();
        return Ok(Some(Arc::new(named)));
    }
    Ok(Some(layout))
}

/// A type of any kind a key or value may be (aggregates, typedefs,
/// integers, enums, floats, data sections) by its name, `struct `,
/// `union ` or `enum ` before it ignored: the first in id order.
pub fn find_named(btf: &Btf<'_>, wanted: &str) -> Option<TypeId> {
    let bare = ["struct ", "union ", "enum "]
        .iter()
        .find_map(|p| wanted.strip_prefix(p))
        .unwrap_or(wanted)
        .trim();
    btf.find_by_name(bare).into_iter().find(|&id| {
        btf.type_by_id(id).is_ok_and(|t| {
            matches!(
                t.kind,
                BtfKind::Struct
                    | BtfKind::Union
                    | BtfKind::Typedef
                    | BtfKind::Int
                    | BtfKind::Enum
                    | BtfKind::Enum64
                    | BtfKind::Float
                    | BtfKind::Datasec
            )
        })
    })
}

/// The key and value type ids of map `map`: one of the object's `.maps`,
/// or else a libbpf global data map (`runqlat_.rodata`) whose data section
/// the BTF has. Errors list the maps there are.
pub fn map_types(btf: &Btf<'_>, file: &str, map: &str) -> Result<BtfMap, InputError> {
    let defs = btf_map_defs(btf).map_err(|e| InputError::at_offset(file, e.file_offset(), e))?;
    let Some(def) = defs.iter().find(|d| d.name == map) else {
        let section = global_data_section(map).and_then(|section| {
            btf.all_types()
                .find(|t| t.kind == BtfKind::Datasec && section_matches(map, section, t.name))
        });
        if let Some(t) = section {
            return Ok(BtfMap {
                name: map.to_string(),
                key: None,
                value: t.id,
                map_type: Some(MapType::ARRAY),
                max_entries: Some(1),
            });
        }
        let names: Vec<_> = defs.iter().map(|d| d.name.as_str()).collect();
        return Err(InputError::new(
            file,
            None,
            format!("no map `{map}` in .maps (maps: {})", names.join(", ")),
        ));
    };
    let (Some(k), Some(v)) = (def.key_type_id, def.value_type_id) else {
        return Err(InputError::new(
            file,
            None,
            format!("map `{map}` declares no __type(key)/__type(value) (sizes only); use --key-type/--value-type"),
        ));
    };
    Ok(BtfMap {
        name: def.name.clone(),
        key: Some(TypeId(k)),
        value: TypeId(v),
        map_type: def.map_type,
        max_entries: def.max_entries,
    })
}

/// A BTF type that cannot be laid out, at its byte offset.
pub fn type_error(file: &str, what: &str, e: &BtfError) -> InputError {
    InputError::at_offset(file, e.offset().map(|o| o as u64), format!("{what}: {e}"))
}
