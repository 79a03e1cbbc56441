//! ELF objects of BPF programs (and any ELF with a `.BTF` section): the BTF,
//! whether `.BTF.ext` is present, the program sections, and the map
//! definitions of the `.maps` DATASEC written with libbpf's `__uint`/`__type`/
//! `__array` macros (plus legacy `struct bpf_map_def` in `maps`).

use object::{Object, ObjectSection, ObjectSymbol, SectionKind};

use super::btf::{Btf, BtfError, BtfKind, BtfType, TypeId};
use crate::model::map::{MapDef, MapType, SkippedAttr};

/// What went wrong reading an ELF object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ElfError {
    #[error("not a readable ELF file: {0}")]
    Object(#[from] object::Error),
    #[error("the ELF file has no .BTF section")]
    NoBtf,
    #[error("in .BTF (section at file offset {section_offset}): {source}")]
    Btf {
        section_offset: u64,
        #[source]
        source: BtfError,
    },
    #[error("legacy `maps` section: {len} bytes do not hold whole bpf_map_def records")]
    BadLegacyMaps { len: usize },
}

impl ElfError {
    /// Byte offset in the file, where known.
    pub fn file_offset(&self) -> Option<u64> {
        match self {
            ElfError::Btf {
                section_offset,
                source,
            } => Some(section_offset + source.offset().unwrap_or(0) as u64),
            _ => None,
        }
    }
}

/// A program: one function symbol in an executable section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProgramSection {
    /// ELF section name: `tracepoint/syscalls/sys_enter_bpf`, `xdp`, ...
    pub section: String,
    /// Function name.
    pub name: String,
    /// Size in 8-byte instructions.
    pub insns: u64,
}

/// A parsed BPF ELF object, borrowing the file's bytes.
#[derive(Debug)]
pub struct BpfObject<'a> {
    /// Raw `.BTF` section bytes.
    pub btf_data: Option<&'a [u8]>,
    /// File offset of `.BTF`, to place BTF errors in the file.
    pub btf_file_offset: u64,
    pub has_btf_ext: bool,
    pub is_bpf_machine: bool,
    pub programs: Vec<ProgramSection>,
    pub license: Option<String>,
    /// Legacy `struct bpf_map_def` maps (section `maps`), which carry no BTF types.
    pub legacy_maps: Vec<MapDef>,
}

const EM_BPF: u16 = 247;

impl<'a> BpfObject<'a> {
    /// Reads the parts of an ELF file bpfcase needs.
    pub fn parse(data: &'a [u8]) -> Result<Self, ElfError> {
        let file = object::File::parse(data)?;
        let is_bpf_machine = data.len() > 20 && {
            let m = [data[18], data[19]];
            let little = data[5] == 1;
            (if little {
                u16::from_le_bytes(m)
            } else {
                u16::from_be_bytes(m)
            }) == EM_BPF
        };
        let mut obj = BpfObject {
            btf_data: None,
            btf_file_offset: 0,
            has_btf_ext: false,
            is_bpf_machine,
            programs: Vec::new(),
            license: None,
            legacy_maps: Vec::new(),
        };
        for section in file.sections() {
            let name = section.name().unwrap_or("");
            match name {
                ".BTF" => {
                    obj.btf_data = Some(section.data()?);
                    obj.btf_file_offset = section.file_range().map(|r| r.0).unwrap_or(0);
                }
                ".BTF.ext" => obj.has_btf_ext = true,
                "license" => {
                    let d = section.data()?;
                    let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
                    obj.license = Some(String::from_utf8_lossy(&d[..end]).into_owned());
                }
                "maps" => {
                    obj.legacy_maps = legacy_maps(&file, &section)?;
                }
                _ => {}
            }
        }
        if is_bpf_machine {
            for sym in file.symbols() {
                if sym.kind() != object::SymbolKind::Text || sym.size() == 0 {
                    continue;
                }
                let Some(idx) = sym.section_index() else {
                    continue;
                };
                let Ok(section) = file.section_by_index(idx) else {
                    continue;
                };
                if section.kind() != SectionKind::Text {
                    continue;
                }
                obj.programs.push(ProgramSection {
                    section: section.name().unwrap_or("").to_string(),
                    name: sym.name().unwrap_or("").to_string(),
                    insns: sym.size() / 8,
                });
            }
        }
        Ok(obj)
    }

    /// Parses the `.BTF` section.
    pub fn btf(&self) -> Result<Btf<'a>, ElfError> {
        let data = self.btf_data.ok_or(ElfError::NoBtf)?;
        Btf::parse(data).map_err(|source| ElfError::Btf {
            section_offset: self.btf_file_offset,
            source,
        })
    }
}

fn legacy_maps(
    file: &object::File<'_>,
    section: &object::Section<'_, '_>,
) -> Result<Vec<MapDef>, ElfError> {
    let data = section.data()?;
    let little = file.is_little_endian();
    let word = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let mut out = Vec::new();
    for sym in file.symbols() {
        if sym.section_index() != Some(section.index()) || sym.name().unwrap_or("").is_empty() {
            continue;
        }
        let start = sym.address() as usize;
        // type, key_size, value_size, max_entries, map_flags: five __u32.
        let Some(rec) = data.get(start..start + 20) else {
            return Err(ElfError::BadLegacyMaps { len: data.len() });
        };
        out.push(MapDef {
            name: sym.name().unwrap_or("").to_string(),
            map_type: Some(MapType(word(&rec[0..4]))),
            key_type_id: None,
            value_type_id: None,
            key_size: Some(word(&rec[4..8]) as u64),
            value_size: Some(word(&rec[8..12]) as u64),
            max_entries: Some(word(&rec[12..16])),
            map_flags: word(&rec[16..20]),
            pinning: 0,
            inner: None,
            numa_node: None,
            map_extra: None,
            skipped: Vec::new(),
        });
    }
    Ok(out)
}

/// The map definitions of the `.maps` DATASEC in `btf`, in declaration order.
///
/// Every attribute libbpf's `parse_btf_map_def` accepts is read: `type`,
/// `max_entries`, `map_flags`, `numa_node`, `key_size`, `value_size`,
/// `pinning`, `map_extra` (`__uint`, or `__ulong`'s one-enumerator enum),
/// `key`/`value` types and `values` (inner map definition, or a prog array's
/// initial programs). An attribute that is unknown or encoded unexpectedly
/// costs only itself: it is listed in [`MapDef::skipped`] and the rest of
/// the map, and every other map, is still read.
pub fn btf_map_defs(btf: &Btf<'_>) -> Result<Vec<MapDef>, ElfError> {
    let mut out = Vec::new();
    let Some(sec) = btf
        .local_types()
        .find(|t| t.kind == BtfKind::Datasec && t.name == ".maps")
    else {
        return Ok(out);
    };
    for v in sec.datasec_vars() {
        let var = btf.type_by_id(v.type_id).map_err(btf_err)?;
        if var.kind != BtfKind::Var {
            continue;
        }
        let mut m = empty_def(var.name);
        match skip_mods(btf, TypeId(var.size_or_type)) {
            Ok(def) => read_map_def(btf, def, &mut m, false),
            Err(e) => m.skipped.push(SkippedAttr {
                member: String::new(),
                known: true,
                why: format!("the definition's type cannot be resolved: {e}"),
            }),
        }
        out.push(m);
    }
    Ok(out)
}

fn empty_def(name: &str) -> MapDef {
    MapDef {
        name: name.to_string(),
        map_type: None,
        key_type_id: None,
        value_type_id: None,
        key_size: None,
        value_size: None,
        max_entries: None,
        map_flags: 0,
        pinning: 0,
        inner: None,
        numa_node: None,
        map_extra: None,
        skipped: Vec::new(),
    }
}

fn btf_err(source: BtfError) -> ElfError {
    ElfError::Btf {
        section_offset: 0,
        source,
    }
}

fn skip_mods<'a>(btf: &Btf<'a>, mut id: TypeId) -> Result<BtfType<'a>, ElfError> {
    let start = id;
    for _ in 0..crate::limits::MAX_CHAIN {
        let t = btf.type_by_id(id).map_err(btf_err)?;
        match t.kind {
            BtfKind::Typedef | BtfKind::Const | BtfKind::Volatile | BtfKind::TypeTag => {
                id = TypeId(t.size_or_type)
            }
            _ => return Ok(t),
        }
    }
    Err(btf_err(btf.chain_error(start)))
}

/// `__uint(name, val)` is `int (*name)[val]`: the value is the array's length.
fn uint_attr(btf: &Btf<'_>, t: BtfType<'_>) -> Result<u32, String> {
    if t.kind != BtfKind::Ptr {
        return Err(format!(
            "expected __uint's pointer to an array, found {}",
            t.kind.as_str()
        ));
    }
    let arr = skip_mods(btf, TypeId(t.size_or_type)).map_err(|e| e.to_string())?;
    arr.array().map(|a| a.nelems).ok_or_else(|| {
        format!(
            "expected __uint's pointer to an array, found a pointer to {}",
            arr.kind.as_str()
        )
    })
}

/// `map_extra` is `__uint` (a pointer to an array) or `__ulong`: an anonymous
/// enum (or enum64) with exactly one enumerator whose value is the attribute.
fn ulong_attr(btf: &Btf<'_>, t: BtfType<'_>) -> Result<u64, String> {
    match t.kind {
        BtfKind::Ptr => uint_attr(btf, t).map(u64::from),
        BtfKind::Enum | BtfKind::Enum64 => {
            if t.vlen != 1 {
                return Err(format!(
                    "__ulong's enum must have exactly one enumerator, found {}",
                    t.vlen
                ));
            }
            let v = t.enum_values(btf).next().map_or(0, |e| e.value);
            // libbpf takes the enumerator's bits as unsigned.
            Ok(match t.kind {
                BtfKind::Enum => v as u32 as u64,
                _ => v as u64,
            })
        }
        other => Err(format!(
            "expected __uint's pointer or __ulong's enum, found {}",
            other.as_str()
        )),
    }
}

/// Reads the members of one map definition struct into `m`; `inner` is set
/// for an inner map's definition (which has no `values` or `pinning`).
fn read_map_def(btf: &Btf<'_>, def: BtfType<'_>, m: &mut MapDef, inner: bool) {
    if def.kind != BtfKind::Struct {
        m.skipped.push(SkippedAttr {
            member: String::new(),
            known: true,
            why: format!(
                "the map variable's type is {}, not a struct of __uint/__type/__array members",
                def.kind.as_str()
            ),
        });
        return;
    }
    for member in def.members(btf) {
        let result = skip_mods(btf, member.type_id)
            .map_err(|e| e.to_string())
            .and_then(|t| read_attr(btf, member.name, t, m, inner));
        match result {
            Ok(true) => {}
            Ok(false) => m.skipped.push(SkippedAttr {
                member: member.name.to_string(),
                known: false,
                why: "not an attribute libbpf defines".into(),
            }),
            Err(why) => m.skipped.push(SkippedAttr {
                member: member.name.to_string(),
                known: true,
                why,
            }),
        }
    }
}

/// Reads one attribute; `Ok(false)` for a name libbpf does not know.
fn read_attr(
    btf: &Btf<'_>,
    name: &str,
    t: BtfType<'_>,
    m: &mut MapDef,
    inner: bool,
) -> Result<bool, String> {
    match name {
        "type" => m.map_type = Some(MapType(uint_attr(btf, t)?)),
        "max_entries" => m.max_entries = Some(uint_attr(btf, t)?),
        "map_flags" => m.map_flags = uint_attr(btf, t)?,
        "numa_node" => m.numa_node = Some(uint_attr(btf, t)?),
        "key_size" => m.key_size = Some(uint_attr(btf, t)?.into()),
        "value_size" => m.value_size = Some(uint_attr(btf, t)?.into()),
        "pinning" if inner => return Err("an inner map definition cannot be pinned".into()),
        "pinning" => m.pinning = uint_attr(btf, t)?,
        "map_extra" => m.map_extra = Some(ulong_attr(btf, t)?),
        // __type(name, T): typeof(T) *name
        "key" | "value" => {
            if t.kind != BtfKind::Ptr {
                return Err(format!(
                    "expected __type's pointer to the {name} type, found {}",
                    t.kind.as_str()
                ));
            }
            let target = TypeId(t.size_or_type);
            let size = btf.size_of(target).map_err(|e| e.to_string())?;
            if name == "key" {
                m.key_type_id = Some(target.0);
                m.key_size = Some(size);
            } else {
                m.value_type_id = Some(target.0);
                m.value_size = Some(size);
            }
        }
        // __array(values, T): typeof(T) *values[]; T is the inner map's
        // definition (map-in-map) or a program's prototype (prog array).
        "values" if inner => return Err("inner maps cannot have inner maps".into()),
        "values" => {
            let arr = t.array().ok_or_else(|| {
                format!(
                    "expected __array's array of pointers, found {}",
                    t.kind.as_str()
                )
            })?;
            let p = skip_mods(btf, arr.elem_type).map_err(|e| e.to_string())?;
            if p.kind != BtfKind::Ptr {
                return Err(format!(
                    "expected __array's array of pointers, found an array of {}",
                    p.kind.as_str()
                ));
            }
            let target = skip_mods(btf, TypeId(p.size_or_type)).map_err(|e| e.to_string())?;
            match target.kind {
                BtfKind::Struct => {
                    let mut d = empty_def(&format!("{}.inner", m.name));
                    read_map_def(btf, target, &mut d, true);
                    m.inner = Some(Box::new(d));
                    // The outer map's values are map ids (libbpf sets 4).
                    m.value_size = Some(4);
                }
                // A prog array's initial programs: nothing to lay out.
                BtfKind::FuncProto => {}
                other => {
                    return Err(format!(
                        "__array(values, ...) points at {}, neither an inner map definition nor a program",
                        other.as_str()
                    ))
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}
