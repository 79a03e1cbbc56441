//! Key and value types for decoding: a map's key and value types from BTF
//! (by map or by name), DWARF, a YAML schema or a bare scalar. The sources
//! are read and searched by [`crate::engine::type_source`]; this turns what
//! they find into the types a decoder walks.

use std::path::Path;

use crate::engine::error::Result;

use crate::engine::type_source::{self, BtfFile, DwarfBinary, SchemaTypes};
use crate::error::InputError;
use crate::ingest::btf::{Btf, TypeId};
use crate::ingest::btf_layout::BtfLayouts;
use crate::model::layout::{FieldType, Layout};
use crate::model::map::MapType;
use std::sync::Arc;

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

/// A key or value type by name from a source that describes aggregates
/// only: a scalar spelling resolves at once, anything else is looked up.
fn aggregate_or_scalar(
    wanted: &str,
    lookup: impl FnOnce(&str) -> Result<Arc<Layout>, InputError>,
) -> Result<ResolvedType, InputError> {
    let bare = match scalar_or_bare(wanted) {
        Ok(scalar) => return Ok(scalar),
        Err(bare) => bare,
    };
    let layout = lookup(bare)?;
    Ok(ResolvedType {
        name: layout.display_name(),
        ty: FieldType::Aggregate(layout),
    })
}

/// Just the key and value types, nothing known of the map.
fn key_value(key: ResolvedType, value: ResolvedType) -> MapTypes {
    MapTypes {
        key,
        value,
        map_name: None,
        map_type: None,
        max_entries: None,
    }
}

/// Resolves the key and value types from their source, read as every
/// command reads it ([`crate::engine::type_source`]).
pub fn resolve_types(source: TypeSource<'_>) -> Result<MapTypes> {
    match source {
        TypeSource::Schema {
            file,
            key_type,
            value_type,
        } => {
            let schema = SchemaTypes::open(file)?;
            Ok(key_value(
                aggregate_or_scalar(key_type, |n| schema.require(n))?,
                aggregate_or_scalar(value_type, |n| schema.require(n))?,
            ))
        }
        TypeSource::Dwarf {
            file,
            key_type,
            value_type,
        } => {
            let binary = DwarfBinary::open(file, None)?;
            let dwarf = binary.types()?;
            Ok(key_value(
                aggregate_or_scalar(key_type, |n| dwarf.require(n))?,
                aggregate_or_scalar(value_type, |n| dwarf.require(n))?,
            ))
        }
        TypeSource::Btf {
            file,
            map,
            key_type,
            value_type,
        } => {
            let btf = BtfFile::open(file, None)?;
            let name = btf.name();
            Ok(btf.with_btf(|btf| btf_types(btf, name, map, key_type, value_type))??)
        }
    }
}

/// Decode's BTF lookups: the map's declared key and value, or the types
/// named.
fn btf_types(
    btf: &Btf<'_>,
    name: &str,
    map: Option<&str>,
    key_type: Option<&str>,
    value_type: Option<&str>,
) -> Result<MapTypes, InputError> {
    let mut engine = BtfLayouts::new(btf);
    if let Some(map) = map {
        let m = type_source::btf::map_types(btf, name, map)?;
        return Ok(MapTypes {
            key: match m.key {
                Some(k) => resolve_id(&mut engine, name, k)?,
                None => ResolvedType::array_index(),
            },
            value: resolve_id(&mut engine, name, m.value)?,
            map_name: Some(m.name),
            map_type: m.map_type,
            max_entries: m.max_entries,
        });
    }
    let (Some(k), Some(v)) = (key_type, value_type) else {
        return Err(InputError::new(
            name,
            None,
            "give --map NAME or --key-type T --value-type T",
        ));
    };
    let mut find = |wanted: &str| {
        let id = type_source::btf::find_named(btf, wanted).ok_or_else(|| {
            InputError::new(name, None, format!("no type named `{wanted}` in the BTF"))
        })?;
        resolve_id(&mut engine, name, id)
    };
    Ok(key_value(find(k)?, find(v)?))
}
