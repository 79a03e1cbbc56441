//! The BTF layout engine: turns BTF struct and union types into [`Layout`]s.
//!
//! Each aggregate is laid out once and shared (`Arc`) by every member that
//! embeds it, so laying out all of vmlinux costs one pass over its structs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::ingest::btf::{Btf, BtfError, BtfKind, BtfType, TypeId};
use crate::model::layout::{
    AggregateKind, ByteOrder, EnumType, FieldType, IntEncoding, Layout, Member,
};

/// Typedef names that declare network byte order (`include/uapi/linux/types.h`).
fn is_big_endian_typedef(name: &str) -> bool {
    matches!(name, "__be16" | "__be32" | "__be64" | "__sum16")
}

/// Longest typedef/qualifier chain we follow before calling it a cycle. Real
/// chains are a handful of hops; a cycle in hostile BTF would otherwise spin.
const MAX_CHAIN: usize = 64;

/// Lays out BTF types, caching each aggregate.
pub struct BtfLayouts<'b, 'a> {
    btf: &'b Btf<'a>,
    pointer_size: u64,
    /// Laid-out aggregates: `cache_slot[id]` is 1 + the index into `cache`, or
    /// 0. A table of zeros is allocated zeroed, so only the pages of ids that
    /// are actually used get touched (page faults dominate on VMs).
    cache_slot: Vec<u32>,
    cache: Vec<Arc<Layout>>,
    enums: HashMap<TypeId, Arc<EnumType>>,
    /// C spellings by type id, the same way (`name_slot` into `names`).
    name_slot: Vec<u32>,
    names: Vec<Arc<str>>,
    /// Types being laid out right now: seeing one again means a cycle.
    in_progress: HashSet<TypeId>,
}

impl<'b, 'a> BtfLayouts<'b, 'a> {
    /// A layout engine for `btf`; pointers are 8 bytes (BPF and 64-bit kernels).
    pub fn new(btf: &'b Btf<'a>) -> Self {
        BtfLayouts {
            btf,
            pointer_size: 8,
            cache_slot: vec![0; btf.type_count() as usize],
            cache: Vec::new(),
            enums: HashMap::new(),
            name_slot: vec![0; btf.type_count() as usize],
            names: Vec::new(),
            in_progress: HashSet::new(),
        }
    }

    /// The BTF this engine reads.
    pub fn btf(&self) -> &'b Btf<'a> {
        self.btf
    }

    /// Follows typedefs and qualifiers to the underlying type (returned with an
    /// empty `name`); reports whether a big-endian typedef was crossed.
    pub fn resolve(&self, id: TypeId) -> Result<(Option<BtfType<'a>>, ByteOrder), BtfError> {
        let mut order = ByteOrder::Host;
        let mut cur = id;
        for _ in 0..MAX_CHAIN {
            if cur.0 == 0 {
                return Ok((None, order));
            }
            let (kind, next) = self.btf.kind_and_ref(cur)?;
            match kind {
                BtfKind::Typedef
                | BtfKind::Const
                | BtfKind::Volatile
                | BtfKind::Restrict
                | BtfKind::TypeTag => {
                    if kind == BtfKind::Typedef
                        && is_big_endian_typedef(self.btf.type_by_id(cur)?.name)
                    {
                        order = ByteOrder::Big;
                    }
                    cur = TypeId(next);
                }
                // Names are looked up only where needed (see `field_type_of`).
                _ => return Ok((Some(self.btf.type_by_id_unnamed(cur)?), order)),
            }
        }
        let t = self.btf.type_by_id(id)?;
        Err(BtfError::ReferenceCycle {
            id: id.0,
            offset: t.offset,
        })
    }

    /// The layout of struct or union `id` (typedefs and qualifiers are followed).
    pub fn layout(&mut self, id: TypeId) -> Result<Arc<Layout>, BtfError> {
        let (t, _) = self.resolve(id)?;
        match t {
            Some(t) if matches!(t.kind, BtfKind::Struct | BtfKind::Union) => self.aggregate(t),
            _ => Err(BtfError::NoSuchType { id: id.0 }),
        }
    }

    fn aggregate(&mut self, t: BtfType<'a>) -> Result<Arc<Layout>, BtfError> {
        if let Some(&slot) = self.cache_slot.get(t.id.0 as usize) {
            if slot > 0 {
                return Ok(self.cache[slot as usize - 1].clone());
            }
        }
        if !self.in_progress.insert(t.id) {
            return Err(BtfError::ReferenceCycle {
                id: t.id.0,
                offset: t.offset,
            });
        }
        // Built once per type: only now is the name worth decoding.
        let t = self.btf.type_by_id(t.id)?;
        let result = self.build_aggregate(t);
        self.in_progress.remove(&t.id);
        let layout = Arc::new(result?);
        if let Some(slot) = self.cache_slot.get_mut(t.id.0 as usize) {
            self.cache.push(layout.clone());
            *slot = self.cache.len() as u32;
        }
        Ok(layout)
    }

    fn build_aggregate(&mut self, t: BtfType<'a>) -> Result<Layout, BtfError> {
        let kind = if t.kind == BtfKind::Union {
            AggregateKind::Union
        } else {
            AggregateKind::Struct
        };
        let btf = self.btf;
        let mut members = Vec::with_capacity(t.vlen);
        for m in t.members(btf) {
            let (resolved, order) = self.resolve(m.type_id)?;
            let ty = self.field_type_of(resolved, order)?;
            let size = ty.size();
            let mut bit_offset = m.bit_offset as u64;
            let mut bit_size = (m.bitfield_size > 0).then_some(m.bitfield_size);
            // Old-style bitfields (kind_flag clear) live in the INT's own bits.
            if !t.kind_flag {
                if let Some(i) = resolved.and_then(|rt| rt.int()) {
                    if (i.bits as u64) < size * 8 {
                        bit_offset += i.offset as u64;
                        bit_size = Some(i.bits as u32);
                    }
                }
            }
            let offset = match bit_size {
                Some(_) if size > 0 => bit_offset / (size * 8) * size,
                _ => bit_offset / 8,
            };
            members.push(Member {
                name: m.name.to_string(),
                offset,
                bit_offset,
                size,
                bit_size,
                type_name: self.cached_type_name(m.type_id),
                ty,
                source: None,
            });
        }
        let size = t.size_or_type as u64;
        Ok(Layout::new(t.name.to_string(), kind, size, members).finish())
    }

    /// The [`FieldType`] of type `id`.
    pub fn field_type(&mut self, id: TypeId) -> Result<FieldType, BtfError> {
        let (t, byte_order) = self.resolve(id)?;
        self.field_type_of(t, byte_order)
    }

    /// The [`FieldType`] of an already resolved type (`None` = void).
    fn field_type_of(
        &mut self,
        t: Option<BtfType<'a>>,
        byte_order: ByteOrder,
    ) -> Result<FieldType, BtfError> {
        let Some(t) = t else {
            return Ok(FieldType::Opaque {
                size: 0,
                what: "void".into(),
            });
        };
        Ok(match t.kind {
            BtfKind::Int => {
                let i = t.int().unwrap_or(crate::ingest::btf::BtfInt {
                    signed: false,
                    char: false,
                    bool: false,
                    offset: 0,
                    bits: 0,
                });
                FieldType::Int {
                    size: t.size_or_type as u64,
                    signed: i.signed,
                    encoding: if i.bool {
                        IntEncoding::Bool
                    } else if i.char
                        || (t.size_or_type == 1 && self.btf.type_by_id(t.id)?.name.contains("char"))
                    {
                        IntEncoding::Char
                    } else {
                        IntEncoding::Plain
                    },
                    byte_order,
                }
            }
            BtfKind::Ptr => FieldType::Pointer {
                size: self.pointer_size,
            },
            BtfKind::Float => FieldType::Float {
                size: t.size_or_type as u64,
            },
            BtfKind::Enum | BtfKind::Enum64 => FieldType::Enum(self.enum_type(t)),
            BtfKind::Struct | BtfKind::Union => FieldType::Aggregate(self.aggregate(t)?),
            BtfKind::Array => {
                let a = t.array().expect("array kind has btf_array");
                if !self.in_progress.insert(t.id) {
                    return Err(BtfError::ReferenceCycle {
                        id: t.id.0,
                        offset: t.offset,
                    });
                }
                let elem = self.field_type(a.elem_type);
                self.in_progress.remove(&t.id);
                let elem = elem?;
                if elem.size().checked_mul(a.nelems as u64).is_none() {
                    return Err(BtfError::SizeOverflow {
                        id: t.id.0,
                        offset: t.offset,
                    });
                }
                FieldType::Array {
                    elem: Box::new(elem),
                    len: a.nelems as u64,
                }
            }
            BtfKind::Fwd => FieldType::Opaque {
                size: 0,
                what: format!(
                    "{} {} (forward declaration)",
                    if t.kind_flag { "union" } else { "struct" },
                    self.btf.type_by_id(t.id)?.name
                ),
            },
            other => FieldType::Opaque {
                size: 0,
                what: other.as_str().to_string(),
            },
        })
    }

    fn enum_type(&mut self, t: BtfType<'a>) -> Arc<EnumType> {
        if let Some(e) = self.enums.get(&t.id) {
            return e.clone();
        }
        let name = self.btf.type_by_id(t.id).map(|n| n.name).unwrap_or("");
        let e = Arc::new(EnumType {
            name: name.to_string(),
            size: t.size_or_type as u64,
            signed: t.kind_flag,
            values: t
                .enum_values(self.btf)
                .map(|v| (v.name.to_string(), v.value))
                .collect(),
        });
        self.enums.insert(t.id, e.clone());
        e
    }

    fn cached_type_name(&mut self, id: TypeId) -> Arc<str> {
        if let Some(&slot) = self.name_slot.get(id.0 as usize) {
            if slot > 0 {
                return self.names[slot as usize - 1].clone();
            }
        }
        let n: Arc<str> = self.c_type_name(id).into();
        if let Some(slot) = self.name_slot.get_mut(id.0 as usize) {
            self.names.push(n.clone());
            *slot = self.names.len() as u32;
        }
        n
    }

    /// The C spelling of type `id`: `unsigned int`, `struct flow_key`, `char[16]`,
    /// `const struct sock *`, `__be16`.
    pub fn c_type_name(&self, id: TypeId) -> String {
        // Built by appending, not by nested format!: every member's type is
        // spelled once per engine, and vmlinux has tens of thousands.
        let mut prefix = String::new();
        let mut pointers = 0usize;
        let mut dims: Vec<u32> = Vec::new();
        let mut cur = id;
        let mut out = String::new();
        let mut finished = false;
        for _ in 0..MAX_CHAIN {
            if cur.0 == 0 {
                out.push_str("void");
                finished = true;
                break;
            }
            let Ok(t) = self.btf.type_by_id(cur) else {
                out.push_str("<bad type>");
                finished = true;
                break;
            };
            let keyword = match t.kind {
                BtfKind::Int | BtfKind::Float | BtfKind::Typedef => Some(""),
                BtfKind::Struct => Some("struct"),
                BtfKind::Union => Some("union"),
                BtfKind::Enum | BtfKind::Enum64 => Some("enum"),
                BtfKind::Fwd => Some(if t.kind_flag { "union" } else { "struct" }),
                BtfKind::FuncProto => {
                    out.push_str("fn(...)");
                    finished = true;
                    break;
                }
                BtfKind::Ptr => {
                    // Pointers bind after arrays already seen: `char *[4]` stays simple here.
                    pointers += 1;
                    None
                }
                BtfKind::Array => {
                    let a = t.array().expect("array");
                    dims.push(a.nelems);
                    cur = a.elem_type;
                    continue;
                }
                BtfKind::Const | BtfKind::Volatile | BtfKind::Restrict => {
                    prefix.push_str(t.kind.as_str());
                    prefix.push(' ');
                    None
                }
                _ => None,
            };
            if let Some(kw) = keyword {
                out.push_str(kw);
                if !kw.is_empty() {
                    out.push(' ');
                }
                out.push_str(if t.name.is_empty() && !kw.is_empty() {
                    "{...}"
                } else {
                    t.name
                });
                finished = true;
                break;
            }
            cur = TypeId(t.size_or_type);
        }
        if !finished {
            out.push_str("<cycle>");
        }
        let mut full =
            String::with_capacity(prefix.len() + out.len() + 2 * pointers + 8 * dims.len());
        full.push_str(&prefix);
        full.push_str(&out);
        for _ in 0..pointers {
            full.push_str(" *");
        }
        for d in dims {
            full.push('[');
            full.push_str(&d.to_string());
            full.push(']');
        }
        full
    }

    /// Byte size of type `id` (0 for void, functions and forward declarations).
    pub fn size_of(&mut self, id: TypeId) -> Result<u64, BtfError> {
        Ok(self.field_type(id)?.size())
    }
}
