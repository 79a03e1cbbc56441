//! The BTF layout engine: turns BTF struct and union types into [`Layout`]s.
//!
//! Each aggregate is laid out once and shared (`Arc`) by every member that
//! embeds it, so laying out all of vmlinux costs one pass over its structs.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ingest::btf::{Btf, BtfError, BtfKind, BtfType, TypeId};
use crate::limits::{MAX_CHAIN, MAX_TYPE_DEPTH};
use crate::model::layout::{
    AggregateKind, ByteOrder, EnumType, FieldType, IntEncoding, Layout, Member,
};

/// Typedef names that declare network byte order (`include/uapi/linux/types.h`).
const BIG_ENDIAN_TYPEDEFS: &[&str] = &["__be16", "__be32", "__be64", "__sum16"];

/// `cache_slot` value of an aggregate being laid out right now: meeting it
/// again means the type contains itself.
const IN_PROGRESS: u32 = u32::MAX;

/// Bit of a `resolved` entry set when a big-endian typedef was crossed.
const RESOLVED_BIG: u32 = 1 << 31;

/// Everything a member takes from its type id, worked out once per id.
struct MemberType {
    ty: FieldType,
    size: u64,
    /// The C spelling of the id (`__be16`, `struct flow_key`, `char[16]`).
    type_name: Arc<str>,
    /// When the id resolves to an INT: its own bit offset and width, which
    /// place old-style bitfields (structs without kind_flag).
    int_bits: Option<(u32, u32)>,
    /// Nesting height of the type (aggregates and arrays inside it, see
    /// [`BtfLayouts::height`]), so a cached member is checked against
    /// [`MAX_TYPE_DEPTH`] as if it were walked again.
    height: usize,
}

/// Ids per block of an [`IdTable`] (4 KiB of `u32`).
const ID_BLOCK: usize = 1024;

/// A `u32` per type id, 0 until set, kept in blocks of [`ID_BLOCK`] ids
/// that are allocated on first write. Laying out all of vmlinux touches
/// under a third of such a table, and each engine has three. Reading an
/// unwritten block touches no memory. A new block is written in full at
/// once, so no page of it is first read from the kernel's zero page: that
/// read would cost a copy-on-write fault on the later write, and with two
/// threads a TLB shootdown each.
struct IdTable {
    len: usize,
    blocks: Vec<Option<Box<[u32]>>>,
}

impl IdTable {
    fn new(len: usize) -> Self {
        IdTable {
            len,
            blocks: (0..len.div_ceil(ID_BLOCK)).map(|_| None).collect(),
        }
    }

    /// The value for `id` (0 if never set); `None` past the end.
    fn get(&self, id: usize) -> Option<u32> {
        if id >= self.len {
            return None;
        }
        Some(
            self.blocks[id / ID_BLOCK]
                .as_ref()
                .map_or(0, |b| b[id % ID_BLOCK]),
        )
    }

    /// Sets the value for `id`; ignored past the end.
    fn set(&mut self, id: usize, value: u32) {
        if id >= self.len {
            return;
        }
        let block = self.blocks[id / ID_BLOCK].get_or_insert_with(written_zero_block);
        block[id % ID_BLOCK] = value;
    }
}

/// [`ID_BLOCK`] zeros, written, not `vec![0; n]` (calloc): see [`IdTable`].
#[allow(clippy::slow_vector_initialization)]
fn written_zero_block() -> Box<[u32]> {
    let mut zeros = Vec::with_capacity(ID_BLOCK);
    zeros.resize(ID_BLOCK, 0);
    zeros.into_boxed_slice()
}

/// Lays out BTF types, caching each aggregate.
pub struct BtfLayouts<'b, 'a> {
    btf: &'b Btf<'a>,
    pointer_size: u64,
    /// Laid-out aggregates: `cache_slot[id]` is 1 + the index into `cache`,
    /// [`IN_PROGRESS`], or 0.
    cache_slot: IdTable,
    cache: Vec<Arc<Layout>>,
    /// Nesting height of each cached aggregate (parallel to `cache`).
    heights: Vec<usize>,
    enums: HashMap<TypeId, Arc<EnumType>>,
    /// What a member of each type id gets, the same way (`member_slot` into
    /// `member_types`): vmlinux's ~60k members name ~20k distinct types.
    member_slot: IdTable,
    member_types: Vec<MemberType>,
    /// Typedef/qualifier chains followed so far: `resolved[id]` is 1 + the
    /// id the chain ends at (0 = void), with [`RESOLVED_BIG`] for `__be*`;
    /// 0 when not yet followed.
    resolved: IdTable,
    /// Aggregates and arrays being laid out right now, outermost first:
    /// bounded by [`MAX_TYPE_DEPTH`] so hostile nesting cannot overflow the
    /// stack.
    depth: usize,
    /// Greatest nesting height met so far under the type being built. A
    /// type's height is 1 + the greatest height of what it nests (scalars
    /// 0), and a type fails when its height exceeds [`MAX_TYPE_DEPTH`]:
    /// tracked through the caches, so whether a type fails does not depend
    /// on what was laid out before it.
    height: usize,
}

impl<'b, 'a> BtfLayouts<'b, 'a> {
    /// A layout engine for `btf`; pointers are 8 bytes (BPF and 64-bit kernels).
    pub fn new(btf: &'b Btf<'a>) -> Self {
        BtfLayouts {
            btf,
            pointer_size: 8,
            cache_slot: IdTable::new(btf.type_count() as usize),
            cache: Vec::new(),
            heights: Vec::new(),
            enums: HashMap::new(),
            member_slot: IdTable::new(btf.type_count() as usize),
            member_types: Vec::new(),
            resolved: IdTable::new(btf.type_count() as usize),
            depth: 0,
            height: 0,
        }
    }

    /// The BTF this engine reads.
    pub fn btf(&self) -> &'b Btf<'a> {
        self.btf
    }

    /// Follows typedefs and qualifiers to the underlying type (returned with an
    /// empty `name`); reports whether a big-endian typedef was crossed.
    pub fn resolve(&self, id: TypeId) -> Result<(Option<BtfType<'a>>, ByteOrder), BtfError> {
        let (target, order) = self.resolve_id(id)?;
        Ok((self.unnamed(target)?, order))
    }

    /// The type at `id`, name left empty (names are looked up only where
    /// needed); `None` for void.
    fn unnamed(&self, id: u32) -> Result<Option<BtfType<'a>>, BtfError> {
        if id == 0 {
            return Ok(None);
        }
        self.btf.type_by_id_unnamed(TypeId(id)).map(Some)
    }

    /// [`Self::resolve`] remembered per id: members name the same few
    /// typedefs (`u32`, `atomic_t`, `spinlock_t`) over and over.
    fn resolve_cached(&mut self, id: TypeId) -> Result<(Option<BtfType<'a>>, ByteOrder), BtfError> {
        let slot = self.resolved.get(id.0 as usize).unwrap_or(0);
        let (target, order) = if slot != 0 {
            let order = if slot & RESOLVED_BIG != 0 {
                ByteOrder::Big
            } else {
                ByteOrder::Host
            };
            ((slot & !RESOLVED_BIG) - 1, order)
        } else {
            let (target, order) = self.resolve_id(id)?;
            let big = if order == ByteOrder::Big {
                RESOLVED_BIG
            } else {
                0
            };
            self.resolved.set(id.0 as usize, (target + 1) | big);
            (target, order)
        };
        Ok((self.unnamed(target)?, order))
    }

    /// The id typedefs and qualifiers lead to from `id` (0 = void).
    fn resolve_id(&self, id: TypeId) -> Result<(u32, ByteOrder), BtfError> {
        let mut order = ByteOrder::Host;
        let mut cur = id;
        for _ in 0..MAX_CHAIN {
            if cur.0 == 0 {
                return Ok((0, order));
            }
            let (kind, next) = self.btf.kind_and_ref(cur)?;
            match kind {
                // A VAR (a global variable in a DATASEC) is its type.
                BtfKind::Typedef
                | BtfKind::Const
                | BtfKind::Volatile
                | BtfKind::Restrict
                | BtfKind::TypeTag
                | BtfKind::Var => {
                    if kind == BtfKind::Typedef && self.btf.name_is_one_of(cur, BIG_ENDIAN_TYPEDEFS)
                    {
                        order = ByteOrder::Big;
                    }
                    cur = TypeId(next);
                }
                _ => return Ok((cur.0, order)),
            }
        }
        Err(self.btf.chain_error(id))
    }

    /// The layout of struct, union or DATASEC `id` (typedefs and
    /// qualifiers are followed).
    pub fn layout(&mut self, id: TypeId) -> Result<Arc<Layout>, BtfError> {
        let (t, _) = self.resolve_cached(id)?;
        match t {
            Some(t) if matches!(t.kind, BtfKind::Struct | BtfKind::Union | BtfKind::Datasec) => {
                self.height = 0;
                let l = self.aggregate(t).map_err(|e| self.too_deep_at(id, e))?;
                Ok(self.named_by_typedef(id, l))
            }
            _ => Err(BtfError::NoSuchType { id: id.0 }),
        }
    }

    /// A [`BtfError::TooDeep`] from somewhere inside `root` restated for
    /// `root`, so the message does not depend on which nested type the
    /// walk happened to meet the limit at; other errors unchanged.
    fn too_deep_at(&self, root: TypeId, e: BtfError) -> BtfError {
        match e {
            BtfError::TooDeep { limit, .. } => BtfError::TooDeep {
                id: root.0,
                offset: self.btf.type_by_id_unnamed(root).map_or(0, |t| t.offset),
                limit,
            },
            other => other,
        }
    }

    /// Checks that something of nesting height `h` fits at the current
    /// depth, and counts it towards the height of the type being built.
    fn enter_height(&mut self, h: usize, t: &BtfType<'a>) -> Result<(), BtfError> {
        if self.depth + h > MAX_TYPE_DEPTH {
            return Err(BtfError::TooDeep {
                id: t.id.0,
                offset: t.offset,
                limit: MAX_TYPE_DEPTH,
            });
        }
        self.height = self.height.max(h);
        Ok(())
    }

    fn aggregate(&mut self, t: BtfType<'a>) -> Result<Arc<Layout>, BtfError> {
        let idx = t.id.0 as usize;
        match self.cache_slot.get(idx) {
            None => return Err(BtfError::NoSuchType { id: t.id.0 }),
            Some(IN_PROGRESS) => {
                return Err(BtfError::ReferenceCycle {
                    id: t.id.0,
                    offset: t.offset,
                })
            }
            Some(0) => {}
            Some(slot) => {
                let slot = slot as usize - 1;
                self.enter_height(self.heights[slot], &t)?;
                return Ok(self.cache[slot].clone());
            }
        }
        if self.depth >= MAX_TYPE_DEPTH {
            return Err(BtfError::TooDeep {
                id: t.id.0,
                offset: t.offset,
                limit: MAX_TYPE_DEPTH,
            });
        }
        self.cache_slot.set(idx, IN_PROGRESS);
        let outer_height = std::mem::replace(&mut self.height, 0);
        self.depth += 1;
        // Built once per type: only now is the name worth decoding.
        let built = self
            .btf
            .type_by_id(t.id)
            .and_then(|t| self.build_aggregate(t));
        self.depth -= 1;
        let height = self.height + 1;
        self.height = outer_height.max(height);
        match built {
            Ok(layout) => {
                let layout = Arc::new(layout);
                self.cache.push(layout.clone());
                self.heights.push(height);
                self.cache_slot.set(idx, self.cache.len() as u32);
                Ok(layout)
            }
            Err(e) => {
                self.cache_slot.set(idx, 0);
                Err(e)
            }
        }
    }

    fn build_aggregate(&mut self, t: BtfType<'a>) -> Result<Layout, BtfError> {
        if t.kind == BtfKind::Datasec {
            return self.build_datasec(t);
        }
        let kind = if t.kind == BtfKind::Union {
            AggregateKind::Union
        } else {
            AggregateKind::Struct
        };
        let btf = self.btf;
        let members = self.place_members(&t, btf);
        let size = t.size_or_type as u64;
        Ok(Layout::new(t.name, kind, size, members?).finish())
    }

    /// A DATASEC: each variable (its VAR's name, the VAR's type) at the
    /// offset the section gives it, in offset order; what no variable
    /// covers is a hole, as in a struct.
    fn build_datasec(&mut self, t: BtfType<'a>) -> Result<Layout, BtfError> {
        let vars: Vec<_> = t.datasec_vars().collect();
        let size = t.size_or_type as u64;
        if size == 0 && vars.len() > 1 && vars.iter().all(|v| v.offset == 0) {
            return Err(BtfError::UnplacedDatasec {
                id: t.id.0,
                name: t.name.to_string(),
                vars: vars.len(),
                offset: t.offset,
            });
        }
        let mut members = Vec::with_capacity(vars.len());
        for v in vars {
            let k = self.member_type(v.type_id)?;
            let mt = &self.member_types[k];
            let name = self.btf.type_by_id(v.type_id).map_or("", |vt| vt.name);
            let offset = v.offset as u64;
            members.push(Member {
                name: name.into(),
                offset,
                bit_offset: offset * 8,
                size: mt.size,
                bit_size: None,
                type_name: mt.type_name.clone(),
                ty: mt.ty.clone(),
                source: None,
            });
        }
        members.sort_by_key(|m| m.offset);
        Ok(Layout::new(t.name, AggregateKind::Datasec, size, members).finish())
    }

    fn place_members(
        &mut self,
        t: &BtfType<'a>,
        btf: &'b Btf<'a>,
    ) -> Result<Vec<Member>, BtfError> {
        let mut members = Vec::with_capacity(t.vlen);
        for m in t.members(btf) {
            let k = self.member_type(m.type_id)?;
            let mt = &self.member_types[k];
            let size = mt.size;
            let mut bit_offset = m.bit_offset as u64;
            let mut bit_size = (m.bitfield_size > 0).then_some(m.bitfield_size);
            // Old-style bitfields (kind_flag clear) live in the INT's own bits.
            if !t.kind_flag {
                if let Some((int_offset, bits)) = mt.int_bits {
                    if (bits as u64) < size * 8 {
                        bit_offset += int_offset as u64;
                        bit_size = Some(bits);
                    }
                }
            }
            let offset = match bit_size {
                Some(_) if size > 0 => bit_offset / (size * 8) * size,
                _ => bit_offset / 8,
            };
            members.push(Member {
                name: m.name.into(),
                offset,
                bit_offset,
                size,
                bit_size,
                type_name: mt.type_name.clone(),
                ty: mt.ty.clone(),
                source: None,
            });
        }
        Ok(members)
    }

    /// The [`FieldType`] of type `id`.
    pub fn field_type(&mut self, id: TypeId) -> Result<FieldType, BtfError> {
        self.height = 0;
        self.field_type_nested(id)
            .map_err(|e| self.too_deep_at(id, e))
    }

    /// [`Self::field_type`] of a type nested in the one being laid out.
    fn field_type_nested(&mut self, id: TypeId) -> Result<FieldType, BtfError> {
        let (t, byte_order) = self.resolve_cached(id)?;
        Ok(match self.field_type_of(t, byte_order)? {
            FieldType::Aggregate(l) => FieldType::Aggregate(self.named_by_typedef(id, l)),
            other => other,
        })
    }

    /// An anonymous struct or union reached through a typedef
    /// (`typedef struct { … } foo_t;`) under the typedef's name: the only
    /// name its users know it by.
    fn named_by_typedef(&self, id: TypeId, l: Arc<Layout>) -> Arc<Layout> {
        if !l.name.is_empty() {
            return l;
        }
        let mut cur = id;
        for _ in 0..MAX_CHAIN {
            match self.btf.kind_and_ref(cur) {
                Ok((BtfKind::Typedef, _)) => {
                    return match self.btf.type_by_id(cur) {
                        Ok(t) if !t.name.is_empty() => {
                            let mut named = (*l).clone();
                            named.name = t.name.into();
                            named.named_by_typedef = true;
                            Arc::new(named)
                        }
                        _ => l,
                    };
                }
                Ok((
                    BtfKind::Const | BtfKind::Volatile | BtfKind::Restrict | BtfKind::TypeTag,
                    next,
                )) => cur = TypeId(next),
                _ => return l,
            }
        }
        l
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
                        || (t.size_or_type == 1
                            && self.btf.name_bytes(t.id).windows(4).any(|w| w == b"char"))
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
            BtfKind::Struct | BtfKind::Union | BtfKind::Datasec => {
                FieldType::Aggregate(self.aggregate(t)?)
            }
            BtfKind::Array => {
                let a = t.array().expect("array kind has btf_array");
                if self.depth >= MAX_TYPE_DEPTH {
                    // An element type leading back to its array through
                    // typedefs only is a cycle, not just deep nesting.
                    return Err(match self.btf.chain_error(t.id) {
                        e @ BtfError::ReferenceCycle { .. } => e,
                        _ => BtfError::TooDeep {
                            id: t.id.0,
                            offset: t.offset,
                            limit: MAX_TYPE_DEPTH,
                        },
                    });
                }
                let outer_height = std::mem::replace(&mut self.height, 0);
                self.depth += 1;
                let elem = self.field_type_nested(a.elem_type);
                self.depth -= 1;
                self.height = outer_height.max(self.height + 1);
                let elem = elem?;
                if elem.size().checked_mul(a.nelems as u64).is_none() {
                    return Err(BtfError::SizeOverflow {
                        id: t.id.0,
                        offset: t.offset,
                    });
                }
                FieldType::Array {
                    elem: Arc::new(elem),
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

    /// Index into `member_types` of what a member of type `id` gets.
    /// Failures are not remembered: asking again gives the same error.
    fn member_type(&mut self, id: TypeId) -> Result<usize, BtfError> {
        if let Some(slot @ 1..) = self.member_slot.get(id.0 as usize) {
            let k = slot as usize - 1;
            let h = self.member_types[k].height;
            if self.depth + h > MAX_TYPE_DEPTH {
                let t = self.btf.type_by_id_unnamed(id)?;
                self.enter_height(h, &t)?;
            }
            self.height = self.height.max(h);
            return Ok(k);
        }
        let (resolved, order) = self.resolve_cached(id)?;
        let outer_height = std::mem::replace(&mut self.height, 0);
        let ty = self.field_type_of(resolved, order);
        let height = self.height;
        self.height = outer_height.max(height);
        let ty = ty?;
        self.member_types.push(MemberType {
            height,
            size: ty.size(),
            ty,
            type_name: self.c_type_name(id).into(),
            int_bits: resolved
                .and_then(|rt| rt.int())
                .map(|i| (i.offset as u32, i.bits as u32)),
        });
        let k = self.member_types.len() - 1;
        self.member_slot.set(id.0 as usize, k as u32 + 1);
        Ok(k)
    }

    /// The C spelling of type `id`: `unsigned int`, `struct flow_key`, `char[16]`,
    /// `const struct sock *`, `__be16`.
    pub fn c_type_name(&self, id: TypeId) -> String {
        // Hops (pointers, qualifiers, arrays) are read without their names;
        // only the type the chain ends at is named. Every member's type is
        // spelled once per engine, and vmlinux has ~20k distinct ones.
        let mut qualifiers: Vec<&'static str> = Vec::new();
        let mut pointers = 0usize;
        let mut dims: Vec<u32> = Vec::new();
        let mut cur = id;
        // (keyword, type whose name follows) or a fixed spelling.
        let mut end: Result<(&str, TypeId), &str> = Err("<cycle>");
        for _ in 0..MAX_CHAIN {
            if cur.0 == 0 {
                end = Err("void");
                break;
            }
            let Ok(t) = self.btf.type_by_id_unnamed(cur) else {
                end = Err("<bad type>");
                break;
            };
            let keyword = match t.kind {
                BtfKind::Int | BtfKind::Float | BtfKind::Typedef => "",
                BtfKind::Struct => "struct",
                BtfKind::Union => "union",
                // Its size is no type id to follow.
                BtfKind::Datasec => "datasec",
                BtfKind::Enum | BtfKind::Enum64 => "enum",
                BtfKind::Fwd if t.kind_flag => "union",
                BtfKind::Fwd => "struct",
                BtfKind::FuncProto => {
                    end = Err("fn(...)");
                    break;
                }
                BtfKind::Array => {
                    let a = t.array().expect("array");
                    dims.push(a.nelems);
                    cur = a.elem_type;
                    continue;
                }
                kind => {
                    // Pointers bind after arrays already seen: `char *[4]`
                    // stays simple here.
                    match kind {
                        BtfKind::Ptr => pointers += 1,
                        BtfKind::Const | BtfKind::Volatile | BtfKind::Restrict => {
                            qualifiers.push(kind.as_str())
                        }
                        _ => {}
                    }
                    cur = TypeId(t.size_or_type);
                    continue;
                }
            };
            end = Ok((keyword, cur));
            break;
        }
        let (keyword, name) = match end {
            Ok((kw, named)) => {
                let name = self.btf.type_by_id(named).map_or("", |t| t.name);
                // An anonymous struct, union or enum.
                let name = if name.is_empty() && !kw.is_empty() {
                    "{...}"
                } else {
                    name
                };
                (kw, name)
            }
            Err(fixed) => ("", fixed),
        };
        let len = qualifiers.iter().map(|q| q.len() + 1).sum::<usize>()
            + keyword.len()
            + 1
            + name.len()
            + 2 * pointers
            + 12 * dims.len();
        let mut full = String::with_capacity(len);
        for q in qualifiers {
            full.push_str(q);
            full.push(' ');
        }
        if !keyword.is_empty() {
            full.push_str(keyword);
            full.push(' ');
        }
        full.push_str(name);
        for _ in 0..pointers {
            full.push_str(" *");
        }
        for d in dims {
            use std::fmt::Write as _;
            let _ = write!(full, "[{d}]");
        }
        full
    }

    /// Byte size of type `id` (0 for void, functions and forward declarations).
    pub fn size_of(&mut self, id: TypeId) -> Result<u64, BtfError> {
        Ok(self.field_type(id)?.size())
    }
}

/// The global data section a map's name ends with, by libbpf's
/// `internal_map_name` rule: the object's name cut so that name and
/// section fit the kernel's 15 characters (`runqlat_.rodata`,
/// `biolate.kconfig`, `datasec_.bss`), or the section alone for a custom
/// section (`.data.custom`, `.rodata.str`, itself cut at 15). `None` when
/// the name ends in none of `.rodata`, `.data`, `.bss`, `.kconfig`,
/// `.rodata.*`, `.data.*`. The object's name holds no `.` (libbpf cuts it
/// at the first), so the section starts at the first `.`.
pub fn global_data_section(map_name: &str) -> Option<&str> {
    let section = &map_name[map_name.find('.')?..];
    let known = matches!(section, ".rodata" | ".data" | ".bss" | ".kconfig")
        || section.starts_with(".rodata.")
        || section.starts_with(".data.");
    known.then_some(section)
}

/// Whether DATASEC `datasec` is the section of global data map `map_name`
/// whose name ends with `section` ([`global_data_section`]): the same
/// name, or a custom section's longer name that the kernel's 15-character
/// limit cut (`.data.verylongn` for `.data.verylongname`).
pub fn section_matches(map_name: &str, section: &str, datasec: &str) -> bool {
    datasec == section
        || (map_name.len() == MAX_MAP_NAME && section.contains('.') && datasec.starts_with(section))
}

/// Longest map name the kernel keeps (`BPF_OBJ_NAME_LEN` - 1).
const MAX_MAP_NAME: usize = 15;

#[cfg(test)]
mod global_data_tests {
    use super::*;

    /// Names as libbpf 1.1 gives them on this machine (corpora/globals)
    /// and as Debian's libbpf-tools show them (issue 19).
    #[test]
    fn libbpf_internal_map_names() {
        assert_eq!(global_data_section("runqlat_.rodata"), Some(".rodata"));
        assert_eq!(global_data_section("biolate.kconfig"), Some(".kconfig"));
        assert_eq!(global_data_section("datasec_.bss"), Some(".bss"));
        assert_eq!(global_data_section("datasec_.data"), Some(".data"));
        assert_eq!(global_data_section(".data.custom"), Some(".data.custom"));
        assert_eq!(global_data_section(".rodata.str"), Some(".rodata.str"));
        assert_eq!(global_data_section("hists"), None);
        assert_eq!(global_data_section("x.maps"), None);
        assert_eq!(global_data_section("x.rodatax"), None);
        assert!(section_matches(
            ".data.verylongn",
            ".data.verylongn",
            ".data.verylongname"
        ));
        assert!(!section_matches("a.data", ".data", ".data.custom"));
        assert!(section_matches("a.data", ".data", ".data"));
    }
}
