//! One resolver of named types for decoding: a map's key and value types
//! from BTF (by map or by name), DWARF, a YAML schema or a bare scalar.

use std::path::Path;

use crate::engine::error::Result;

use crate::engine::inputs::{parse_btf, read_btf_file};
use crate::error::InputError;
use crate::ingest::btf::{Btf, BtfKind, TypeId};
use crate::ingest::btf_layout::BtfLayouts;
use crate::ingest::elf::btf_map_defs;
use crate::model::layout::{FieldType, Layout};
use crate::model::map::MapType;

/// A key or value type, ready to decode with.
#[derive(Debug, Clone)]
pub struct ResolvedType {
    pub ty: FieldType,
    /// Spelling (`struct flow_key`, `__u32`).
    pub name: String,
}

/// How the key of a map without a BTF key type is spelled: libbpf's
/// global data maps (`btf_key_type_id` 0) are arrays, keyed by a `__u32`
/// index, which bpftool leaves out of `formatted`.
pub const ARRAY_INDEX_KEY: &str = "__u32 (array index; the map's key has no BTF type)";

impl ResolvedType {
    /// The key of a map whose key has no BTF type ([`ARRAY_INDEX_KEY`]).
    pub fn array_index() -> Self {
        ResolvedType {
            ty: FieldType::Int {
                size: 4,
                signed: false,
                encoding: crate::model::layout::IntEncoding::Plain,
                byte_order: crate::model::layout::ByteOrder::Host,
            },
            name: ARRAY_INDEX_KEY.to_string(),
        }
    }

    /// Whether this is [`ResolvedType::array_index`]: a key with no BTF
    /// type, not printed in `formatted`.
    pub fn is_array_index(&self) -> bool {
        self.name == ARRAY_INDEX_KEY
    }

    pub fn layout(&self) -> Option<&Layout> {
        match &self.ty {
            FieldType::Aggregate(l) => Some(l),
            _ => None,
        }
    }
}

/// Key and value types plus what the source knows about the map.
#[derive(Debug, Clone)]
pub struct MapTypes {
    pub key: ResolvedType,
    pub value: ResolvedType,
    pub map_name: Option<String>,
    pub map_type: Option<MapType>,
    pub max_entries: Option<u32>,
}

fn find_type(
    btf: &Btf<'_>,
    engine: &mut BtfLayouts<'_, '_>,
    file: &str,
    wanted: &str,
) -> Result<ResolvedType, InputError> {
    let bare = ["struct ", "union ", "enum "]
        .iter()
        .find_map(|p| wanted.strip_prefix(p))
        .unwrap_or(wanted)
        .trim();
    let id = btf
        .find_by_name(bare)
        .into_iter()
        .find(|&id| {
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
        .ok_or_else(|| {
            InputError::new(file, None, format!("no type named `{wanted}` in the BTF"))
        })?;
    resolve_id(engine, file, id)
}

fn resolve_id(
    engine: &mut BtfLayouts<'_, '_>,
    file: &str,
    id: TypeId,
) -> Result<ResolvedType, InputError> {
    let ty = engine.field_type(id).map_err(|e| {
        InputError::at_offset(
            file,
            e.offset().map(|o| o as u64),
            format!("type {id}: {e}"),
        )
    })?;
    Ok(ResolvedType {
        ty,
        name: engine.c_type_name(id),
    })
}

/// Key and value types of a map by BTF type id (a bundle's
/// `btf_key_type_id`/`btf_value_type_id`): structs and unions, and scalars
/// such as `__u32` too, which have no layout of their own. `file` names the
/// BTF in errors. The map fields of the result are left empty for the caller.
pub fn types_by_id(
    btf: &Btf<'_>,
    file: &str,
    key: TypeId,
    value: TypeId,
) -> Result<MapTypes, InputError> {
    let mut engine = BtfLayouts::new(btf);
    Ok(MapTypes {
        key: if key.0 == 0 {
            ResolvedType::array_index()
        } else {
            resolve_id(&mut engine, file, key)?
        },
        value: resolve_id(&mut engine, file, value)?,
        map_name: None,
        map_type: None,
        max_entries: None,
    })
}

/// The types of libbpf's global data map `map` (`runqlat_.rodata`,
/// `.rodata`, `.data.custom`): its key an array index, its value the
/// DATASEC the map's name ends with; `None` when `map` is no such name or
/// the BTF has no such section.
fn global_data_types(
    btf: &Btf<'_>,
    engine: &mut BtfLayouts<'_, '_>,
    file: &str,
    map: &str,
) -> Result<Option<MapTypes>, InputError> {
    let Some(section) = crate::ingest::btf_layout::global_data_section(map) else {
        return Ok(None);
    };
    let found = btf.all_types().find(|t| {
        t.kind == BtfKind::Datasec
            && crate::ingest::btf_layout::section_matches(map, section, t.name)
    });
    let Some(t) = found else {
        return Ok(None);
    };
    Ok(Some(MapTypes {
        key: ResolvedType::array_index(),
        value: resolve_id(engine, file, t.id)?,
        map_name: Some(map.to_string()),
        map_type: Some(MapType::ARRAY),
        max_entries: Some(1),
    }))
}

/// Where the key/value types come from (one arm per source).
pub enum TypeSource<'a> {
    Btf {
        file: &'a Path,
        map: Option<&'a str>,
        key_type: Option<&'a str>,
        value_type: Option<&'a str>,
    },
    /// Structs/unions by name from a binary's DWARF; C scalar names by name.
    Dwarf {
        file: &'a Path,
        key_type: &'a str,
        value_type: &'a str,
    },
    /// Types by name from a YAML layout schema; scalar names by name.
    Schema {
        file: &'a Path,
        key_type: &'a str,
        value_type: &'a str,
    },
}

/// A scalar type named by its spelling (`__u32`) resolves at once; anything
/// else is returned as the aggregate name to look up, without `struct `/`union `.
fn scalar_or_bare(wanted: &str) -> Result<ResolvedType, &str> {
    if let Some(ty) = scalar_type(wanted) {
        return Ok(ResolvedType {
            ty,
            name: wanted.to_string(),
        });
    }
    Err(["struct ", "union "]
        .iter()
        .find_map(|p| wanted.strip_prefix(p))
        .unwrap_or(wanted)
        .trim())
}

fn schema_type(
    schema: &crate::ingest::schema::Schema,
    file: &str,
    wanted: &str,
) -> Result<ResolvedType, InputError> {
    let bare = match scalar_or_bare(wanted) {
        Ok(scalar) => return Ok(scalar),
        Err(bare) => bare,
    };
    let layout = schema.get(bare).ok_or_else(|| {
        let names: Vec<_> = schema.types.iter().map(|(n, _)| n.as_str()).collect();
        InputError::new(
            file,
            None,
            format!(
                "no type `{wanted}` in the schema (types: {})",
                names.join(", ")
            ),
        )
    })?;
    Ok(ResolvedType {
        ty: FieldType::Aggregate(layout.clone()),
        name: layout.display_name(),
    })
}

/// C and Go scalar spellings a key or value may be declared as, for
/// sources that only describe aggregates (DWARF lookups by name).
pub fn scalar_type(name: &str) -> Option<FieldType> {
    use crate::model::layout::{ByteOrder, IntEncoding};
    let (size, signed, order) = match name.trim() {
        "__u8" | "u8" | "uint8_t" | "uint8" | "byte" | "unsigned char" => {
            (1, false, ByteOrder::Host)
        }
        "__s8" | "s8" | "int8_t" | "int8" | "signed char" | "char" => (1, true, ByteOrder::Host),
        "__u16" | "u16" | "uint16_t" | "uint16" | "unsigned short" => (2, false, ByteOrder::Host),
        "__s16" | "s16" | "int16_t" | "int16" | "short" => (2, true, ByteOrder::Host),
        "__u32" | "u32" | "uint32_t" | "uint32" | "unsigned int" => (4, false, ByteOrder::Host),
        "__s32" | "s32" | "int32_t" | "int32" | "int" => (4, true, ByteOrder::Host),
        "__u64" | "u64" | "uint64_t" | "uint64" | "unsigned long long" => {
            (8, false, ByteOrder::Host)
        }
        "__s64" | "s64" | "int64_t" | "int64" | "long long" => (8, true, ByteOrder::Host),
        "__be16" => (2, false, ByteOrder::Big),
        "__be32" => (4, false, ByteOrder::Big),
        "__be64" => (8, false, ByteOrder::Big),
        _ => return None,
    };
    Some(FieldType::Int {
        size,
        signed,
        encoding: IntEncoding::Plain,
        byte_order: order,
    })
}

fn dwarf_type(
    dwarf: &crate::ingest::dwarf::DwarfFile<'_>,
    file: &str,
    wanted: &str,
) -> Result<ResolvedType, InputError> {
    let bare = match scalar_or_bare(wanted) {
        Ok(scalar) => return Ok(scalar),
        Err(bare) => bare,
    };
    let layout = dwarf
        .layout(bare)
        .map_err(|e| InputError::at_offset(file, e.file_offset(), e))?
        .ok_or_else(|| {
            InputError::new(
                file,
                None,
                format!("no struct or union named `{wanted}` in the DWARF"),
            )
        })?;
    let name = layout.display_name();
    Ok(ResolvedType {
        ty: FieldType::Aggregate(std::sync::Arc::new(layout)),
        name,
    })
}

pub fn resolve_types(source: TypeSource<'_>) -> Result<MapTypes> {
    match source {
        TypeSource::Schema {
            file,
            key_type,
            value_type,
        } => {
            let name = file.display().to_string();
            let bytes = crate::ingest::read::read_file(file, crate::limits::MAX_TEXT_BYTES)?;
            let text = String::from_utf8_lossy(&bytes);
            let schema = crate::ingest::schema::Schema::parse(&text).map_err(|e| {
                InputError::new(
                    &name,
                    e.line().map(crate::model::finding::Position::Line),
                    e,
                )
            })?;
            Ok(MapTypes {
                key: schema_type(&schema, &name, key_type)?,
                value: schema_type(&schema, &name, value_type)?,
                map_name: None,
                map_type: None,
                max_entries: None,
            })
        }
        TypeSource::Dwarf {
            file,
            key_type,
            value_type,
        } => {
            let name = file.display().to_string();
            let data = crate::ingest::read::map_file(file, crate::limits::MAX_DWARF_BYTES)?;
            let dwarf = crate::ingest::dwarf::DwarfFile::load(file, &data)
                .map_err(|e| InputError::at_offset(&name, e.file_offset(), e))?;
            Ok(MapTypes {
                key: dwarf_type(&dwarf, &name, key_type)?,
                value: dwarf_type(&dwarf, &name, value_type)?,
                map_name: None,
                map_type: None,
                max_entries: None,
            })
        }
        TypeSource::Btf {
            file,
            map,
            key_type,
            value_type,
        } => {
            let data = read_btf_file(file)?;
            let btf = parse_btf(file, &data, None)?;
            let name = file.display().to_string();
            let mut engine = BtfLayouts::new(&btf);
            if let Some(map) = map {
                let defs = btf_map_defs(&btf)
                    .map_err(|e| InputError::at_offset(&name, e.file_offset(), e))?;
                if !defs.iter().any(|d| d.name == map) {
                    if let Some(types) = global_data_types(&btf, &mut engine, &name, map)? {
                        return Ok(types);
                    }
                }
                let def = defs.iter().find(|d| d.name == map).ok_or_else(|| {
                    let names: Vec<_> = defs.iter().map(|d| d.name.as_str()).collect();
                    InputError::new(
                        &name,
                        None,
                        format!("no map `{map}` in .maps (maps: {})", names.join(", ")),
                    )
                })?;
                let (Some(k), Some(v)) = (def.key_type_id, def.value_type_id) else {
                    return Err(InputError::new(
                        &name,
                        None,
                        format!("map `{map}` declares no __type(key)/__type(value) (sizes only); use --key-type/--value-type"),
                    )
                    .into());
                };
                return Ok(MapTypes {
                    key: resolve_id(&mut engine, &name, TypeId(k))?,
                    value: resolve_id(&mut engine, &name, TypeId(v))?,
                    map_name: Some(def.name.clone()),
                    map_type: def.map_type,
                    max_entries: def.max_entries,
                });
            }
            let (Some(k), Some(v)) = (key_type, value_type) else {
                return Err(InputError::new(
                    &name,
                    None,
                    "give --map NAME or --key-type T --value-type T",
                )
                .into());
            };
            Ok(MapTypes {
                key: find_type(&btf, &mut engine, &name, k)?,
                value: find_type(&btf, &mut engine, &name, v)?,
                map_name: None,
                map_type: None,
                max_entries: None,
            })
        }
    }
}
