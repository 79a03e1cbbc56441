//! From DIEs to [`Layout`]s: resolves only the types one struct needs,
//! caching each aggregate and enum by its `.debug_info` offset so shared
//! types are laid out once. Recursion is bounded by [`MAX_TYPE_DEPTH`];
//! pointers are not followed (only their size matters), so self-referential
//! structs cost nothing.

use std::collections::HashMap;
use std::sync::Arc;

use gimli::{
    constants, AttributeValue, DwAt, DwTag, Endianity as _, Reader as _, Section, SectionId,
    UnitOffset,
};

use super::scan::{attr_bytes, Found, Lang, Units};
use super::{malformed, DwarfError, Reader, MAX_TYPE_DEPTH};
use crate::model::layout::{
    AggregateKind, ByteOrder, EnumType, FieldType, IntEncoding, Layout, Member, SourceLoc,
};

/// Typedef names that declare network byte order (`include/uapi/linux/types.h`;
/// the same list as the BTF engine, so both sides agree).
fn is_big_endian_typedef(name: &str) -> bool {
    matches!(name, "__be16" | "__be32" | "__be64" | "__sum16")
}

/// Go named integer types whose name says network byte order: `pkg.Be16`,
/// `pkg.BE32`, `pkg.be64` of the matching size (the rule of the Go source
/// reader, so both Go sources agree).
fn is_go_big_endian(name: &str, ty: &FieldType) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    matches!(
        (last.as_str(), ty),
        ("be16", FieldType::Int { size: 2, .. })
            | ("be32", FieldType::Int { size: 4, .. })
            | ("be64", FieldType::Int { size: 8, .. })
    )
}

/// One DIE with its attributes, read once.
struct Die<'s> {
    unit: usize,
    /// The unit's section and the DIE's offset in it, for errors and caches.
    section: SectionId,
    global: u64,
    tag: DwTag,
    attrs: Vec<gimli::Attribute<Reader<'s>>>,
}

impl<'s> Die<'s> {
    fn attr(&self, name: DwAt) -> Option<AttributeValue<Reader<'s>>> {
        self.attrs
            .iter()
            .find(|a| a.name() == name)
            .map(|a| a.value())
    }

    fn udata(&self, name: DwAt) -> Option<u64> {
        self.attr(name).and_then(|v| v.udata_value())
    }

    fn flag(&self, name: DwAt) -> bool {
        matches!(self.attr(name), Some(AttributeValue::Flag(true)))
    }

    /// A [`DwarfError::BadType`] placed at this DIE.
    fn bad(&self, why: String) -> DwarfError {
        DwarfError::BadType {
            section: self.section.name(),
            offset: self.global,
            why,
        }
    }
}

/// A reference to a type DIE: unit index and offset in that unit.
type TypeRef = (usize, UnitOffset);

/// Lays out the types one lookup needs.
pub(super) struct Resolver<'d, 's> {
    dwarf: &'d gimli::Dwarf<Reader<'s>>,
    units: &'d mut Units<'s>,
    /// `.debug_line` bytes, decompressed on first call.
    line: &'d dyn Fn() -> &'s [u8],
    aggregates: HashMap<(SectionId, u64), Arc<Layout>>,
    enums: HashMap<(SectionId, u64), Arc<EnumType>>,
}

impl<'d, 's> Resolver<'d, 's> {
    pub fn new(
        dwarf: &'d gimli::Dwarf<Reader<'s>>,
        units: &'d mut Units<'s>,
        line: &'d dyn Fn() -> &'s [u8],
    ) -> Self {
        Resolver {
            dwarf,
            units,
            line,
            aggregates: HashMap::new(),
            enums: HashMap::new(),
        }
    }

    /// The layout of a found struct/union, or of the aggregate a found
    /// typedef names; `None` when the typedef names something else.
    pub fn top_level(&mut self, found: &Found) -> Result<Option<Layout>, DwarfError> {
        let mut cur = (found.unit, found.offset);
        for depth in 0..MAX_TYPE_DEPTH {
            let (die, children) = self.read(cur, true)?;
            if is_aggregate(die.tag) {
                if die.flag(constants::DW_AT_declaration) {
                    return Ok(None);
                }
                let own = self.name(&die)?;
                let arc = self.aggregate(&die, &children, depth)?;
                let mut layout = Arc::unwrap_or_clone(arc);
                layout.name = if cur == (found.unit, found.offset) || own.is_empty() {
                    found.qualified.as_str().into()
                } else {
                    own.into()
                };
                return Ok(Some(layout));
            }
            match die.tag {
                constants::DW_TAG_typedef
                | constants::DW_TAG_const_type
                | constants::DW_TAG_volatile_type => match self.type_ref(&die)? {
                    Some(next) => cur = next,
                    None => return Ok(None),
                },
                _ => return Ok(None),
            }
        }
        Err(self.too_deep(cur))
    }

    fn too_deep(&mut self, (u, off): TypeRef) -> DwarfError {
        let (section, start) = match self.units.info(self.dwarf, u) {
            Ok(info) => (info.section, info.start),
            Err(_) => (SectionId::DebugInfo, 0),
        };
        DwarfError::TooDeep {
            section: section.name(),
            offset: start + off.0 as u64,
            limit: MAX_TYPE_DEPTH,
        }
    }

    fn lang(&mut self, unit: usize) -> Lang {
        self.units
            .info(self.dwarf, unit)
            .map(|i| i.lang)
            .unwrap_or(Lang::Other)
    }

    /// Reads the DIE at `r` and, when asked, its direct children.
    fn read(&mut self, r: TypeRef, children: bool) -> Result<(Die<'s>, Vec<Die<'s>>), DwarfError> {
        let dwarf = self.dwarf;
        let info = self.units.info(dwarf, r.0)?;
        let (header, abbrevs) = (info.header, info.abbrevs.clone());
        let (section, start) = (info.section, info.start);
        let global = |off: UnitOffset| start + off.0 as u64;
        let at = global(r.1);
        let err = |e| malformed(dwarf, e, (section, at));
        let mut raw = header.entries_raw(&abbrevs, Some(r.1)).map_err(err)?;
        let read_one = |raw: &mut gimli::EntriesRaw<'_, '_, Reader<'s>>| {
            let offset = raw.next_offset();
            let Some(abbrev) = raw.read_abbreviation()? else {
                return Ok(None);
            };
            let mut attrs = Vec::with_capacity(abbrev.attributes().len());
            for spec in abbrev.attributes() {
                attrs.push(raw.read_attribute(*spec)?);
            }
            Ok(Some((
                Die {
                    unit: r.0,
                    section,
                    global: global(offset),
                    tag: abbrev.tag(),
                    attrs,
                },
                abbrev.has_children(),
            )))
        };
        let Some((die, has_children)) = read_one(&mut raw).map_err(err)? else {
            return Err(DwarfError::BadType {
                section: section.name(),
                offset: at,
                why: "type reference points at a null entry".into(),
            });
        };
        let mut kids = Vec::new();
        if children && has_children {
            // Direct children are at depth 1; deeper DIEs are skipped.
            while !raw.is_empty() {
                let depth = raw.next_depth();
                if depth <= 0 {
                    break;
                }
                match read_one(&mut raw).map_err(err)? {
                    Some((d, _)) if depth == 1 => kids.push(d),
                    _ => {}
                }
            }
        }
        Ok((die, kids))
    }

    /// Where `DW_AT_type` of `die` points; `None` for void.
    fn type_ref(&mut self, die: &Die<'s>) -> Result<Option<TypeRef>, DwarfError> {
        match die.attr(constants::DW_AT_type) {
            None => Ok(None),
            Some(AttributeValue::UnitRef(o)) => Ok(Some((die.unit, o))),
            Some(AttributeValue::DebugInfoRef(o)) => {
                let Some(u) = self.units.unit_of(o.0 as u64) else {
                    return Err(
                        die.bad(format!("DW_AT_type points past .debug_info (0x{:x})", o.0))
                    );
                };
                let header = self.units.info(self.dwarf, u)?.header;
                match o.to_unit_offset(&header) {
                    Some(off) => Ok(Some((u, off))),
                    None => Err(die.bad(format!("DW_AT_type 0x{:x} is inside a unit header", o.0))),
                }
            }
            Some(AttributeValue::DebugTypesRef(sig)) => match self.units.by_signature(sig.0) {
                Some(r) => Ok(Some(r)),
                None => Err(die.bad(format!(
                    "DW_AT_type names type unit signature 0x{:016x}, which no unit has",
                    sig.0
                ))),
            },
            Some(_) => Err(die.bad(
                "DW_AT_type in a form bpfcase does not follow (a supplementary file?)".into(),
            )),
        }
    }

    /// The DIE's `DW_AT_name` (empty when it has none).
    fn name(&mut self, die: &Die<'s>) -> Result<String, DwarfError> {
        let Some(v) = die.attr(constants::DW_AT_name) else {
            return Ok(String::new());
        };
        let dwarf = self.dwarf;
        let info = self.units.info(dwarf, die.unit)?;
        let bytes = attr_bytes(dwarf, info, v)
            .map_err(|e| malformed(dwarf, e, (die.section, die.global)))?;
        Ok(String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned())
    }

    /// The type at `r` (or void), laid out as far as decoding needs.
    fn field_type(&mut self, r: Option<TypeRef>, depth: usize) -> Result<FieldType, DwarfError> {
        let Some(r) = r else {
            return Ok(FieldType::Opaque {
                size: 0,
                what: "void".into(),
            });
        };
        if depth >= MAX_TYPE_DEPTH {
            return Err(self.too_deep(r));
        }
        let wants_children = true;
        let (die, children) = self.read(r, wants_children)?;
        let size = die.udata(constants::DW_AT_byte_size);
        Ok(match die.tag {
            constants::DW_TAG_base_type => {
                let mut ty = base_type(&die, size.unwrap_or(0));
                // Go: a named integer type `Be16`/`Be32`/`Be64` (as the Go
                // source reader, gosrc, reads it) is a base type named `pkg.Be16`.
                if self.lang(die.unit) == Lang::Go && is_go_big_endian(&self.name(&die)?, &ty) {
                    if let FieldType::Int { byte_order, .. } = &mut ty {
                        *byte_order = ByteOrder::Big;
                    }
                }
                ty
            }
            constants::DW_TAG_typedef => {
                let name = self.name(&die)?;
                let next = self.type_ref(&die)?;
                let mut ty = self.field_type(next, depth + 1)?;
                if is_big_endian_typedef(&name) {
                    if let FieldType::Int { byte_order, .. } = &mut ty {
                        *byte_order = ByteOrder::Big;
                    }
                }
                ty
            }
            constants::DW_TAG_const_type
            | constants::DW_TAG_volatile_type
            | constants::DW_TAG_restrict_type
            | constants::DW_TAG_atomic_type
            | constants::DW_TAG_immutable_type => {
                let next = self.type_ref(&die)?;
                self.field_type(next, depth + 1)?
            }
            constants::DW_TAG_pointer_type
            | constants::DW_TAG_reference_type
            | constants::DW_TAG_rvalue_reference_type
            | constants::DW_TAG_ptr_to_member_type => {
                let addr = self.units.info(self.dwarf, die.unit)?.header.address_size();
                FieldType::Pointer {
                    size: size.unwrap_or(addr as u64),
                }
            }
            constants::DW_TAG_array_type => {
                let next = self.type_ref(&die)?;
                let mut ty = self.field_type(next, depth + 1)?;
                for dim in array_dims(&children).into_iter().rev() {
                    ty = FieldType::Array {
                        elem: Arc::new(ty),
                        len: dim,
                    };
                }
                ty
            }
            constants::DW_TAG_enumeration_type => {
                if let Some(e) = self.enums.get(&(die.section, die.global)) {
                    FieldType::Enum(e.clone())
                } else {
                    let e = Arc::new(self.enum_type(&die, &children, depth)?);
                    self.enums.insert((die.section, die.global), e.clone());
                    FieldType::Enum(e)
                }
            }
            tag if is_aggregate(tag) => {
                let name = self.name(&die)?;
                if die.flag(constants::DW_AT_declaration) {
                    FieldType::Opaque {
                        size: 0,
                        what: format!("{name} (declaration only)"),
                    }
                } else if children
                    .iter()
                    .any(|c| c.tag == constants::DW_TAG_variant_part)
                {
                    FieldType::Opaque {
                        size: size.unwrap_or(0),
                        what: format!("{name} (Rust enum)"),
                    }
                } else {
                    FieldType::Aggregate(self.aggregate(&die, &children, depth)?)
                }
            }
            constants::DW_TAG_subroutine_type => FieldType::Opaque {
                size: 0,
                what: "function".into(),
            },
            constants::DW_TAG_unspecified_type => FieldType::Opaque {
                size: size.unwrap_or(0),
                what: self.name(&die)?,
            },
            tag => return Err(die.bad(format!("a type reference points at a {tag}, not a type"))),
        })
    }

    fn enum_type(
        &mut self,
        die: &Die<'s>,
        children: &[Die<'s>],
        depth: usize,
    ) -> Result<EnumType, DwarfError> {
        let name = self.name(die)?;
        let size = die.udata(constants::DW_AT_byte_size).unwrap_or(4);
        let underlying = self.type_ref(die)?;
        let mut signed = match self.field_type(underlying, depth + 1)? {
            FieldType::Int { signed, .. } => Some(signed),
            _ => None,
        };
        let raw: Vec<_> = children
            .iter()
            .filter(|c| c.tag == constants::DW_TAG_enumerator)
            .map(|c| (c, c.attr(constants::DW_AT_const_value)))
            .collect();
        if signed.is_none() {
            signed = Some(
                raw.iter()
                    .any(|(_, v)| matches!(v, Some(AttributeValue::Sdata(x)) if *x < 0)),
            );
        }
        let signed = signed.unwrap_or(false);
        let mut values = Vec::with_capacity(raw.len());
        for (c, v) in raw {
            let value: i128 = match v {
                Some(AttributeValue::Sdata(x)) => x as i128,
                Some(AttributeValue::Udata(x)) => x as i128,
                Some(AttributeValue::Data1(x)) if signed => x as i8 as i128,
                Some(AttributeValue::Data2(x)) if signed => x as i16 as i128,
                Some(AttributeValue::Data4(x)) if signed => x as i32 as i128,
                Some(AttributeValue::Data8(x)) if signed => x as i64 as i128,
                Some(AttributeValue::Data1(x)) => x as i128,
                Some(AttributeValue::Data2(x)) => x as i128,
                Some(AttributeValue::Data4(x)) => x as i128,
                Some(AttributeValue::Data8(x)) => x as i128,
                _ => continue,
            };
            values.push((self.name(c)?, value));
        }
        Ok(EnumType {
            name,
            size,
            signed,
            values,
        })
    }

    fn aggregate(
        &mut self,
        die: &Die<'s>,
        children: &[Die<'s>],
        depth: usize,
    ) -> Result<Arc<Layout>, DwarfError> {
        if let Some(l) = self.aggregates.get(&(die.section, die.global)) {
            return Ok(l.clone());
        }
        if depth >= MAX_TYPE_DEPTH {
            return Err(DwarfError::TooDeep {
                section: die.section.name(),
                offset: die.global,
                limit: MAX_TYPE_DEPTH,
            });
        }
        let kind = if die.tag == constants::DW_TAG_union_type {
            AggregateKind::Union
        } else {
            AggregateKind::Struct
        };
        let big_endian_target = self.dwarf.debug_info.reader().endian().is_big_endian();
        let mut members = Vec::new();
        for child in children {
            if !matches!(
                child.tag,
                constants::DW_TAG_member | constants::DW_TAG_inheritance
            ) {
                continue;
            }
            // C++ static members are DW_TAG_member declarations: no storage.
            if child.flag(constants::DW_AT_external) || child.flag(constants::DW_AT_declaration) {
                continue;
            }
            let r = self.type_ref(child)?;
            let ty = self.field_type(r, depth + 1)?;
            let type_name = match r {
                Some(r) => self.type_name(r, 0)?,
                None => "void".to_string(),
            };
            let location = match child.attr(constants::DW_AT_data_member_location) {
                None => 0,
                Some(AttributeValue::Exprloc(expr)) => {
                    member_location_expr(expr).ok_or_else(|| {
                        child.bad(
                            "DW_AT_data_member_location is an expression bpfcase cannot \
                             evaluate (only DW_OP_plus_uconst/DW_OP_constu)"
                                .into(),
                        )
                    })?
                }
                Some(v) => v.udata_value().ok_or_else(|| {
                    child.bad("DW_AT_data_member_location is not a constant".into())
                })?,
            };
            let size = ty.size();
            let bit_size = child
                .udata(constants::DW_AT_bit_size)
                .map(|b| b.min(u32::MAX as u64) as u32);
            let (bit_offset, offset) = match bit_size {
                None => (location.saturating_mul(8), location),
                Some(width) => {
                    let abs = if let Some(b) = child.udata(constants::DW_AT_data_bit_offset) {
                        b
                    } else if let Some(v) = child.attr(constants::DW_AT_bit_offset) {
                        // DWARF 2/3: bits from the storage unit's most
                        // significant bit; the unit is DW_AT_byte_size bytes
                        // (else the type's) at the member location.
                        let from_msb = match v {
                            AttributeValue::Sdata(x) => x as i128,
                            other => other.udata_value().unwrap_or(0) as i128,
                        };
                        let storage = child.udata(constants::DW_AT_byte_size).unwrap_or(size);
                        // i128: hostile values must not overflow.
                        let base = location as i128 * 8;
                        let within = if big_endian_target {
                            from_msb
                        } else {
                            storage as i128 * 8 - from_msb - width as i128
                        };
                        (base + within).clamp(0, u64::MAX as i128) as u64
                    } else {
                        location.saturating_mul(8)
                    };
                    let offset = match size.checked_mul(8) {
                        Some(bits) if bits > 0 => abs / bits * size,
                        _ => abs / 8,
                    };
                    (abs, offset)
                }
            };
            members.push(Member {
                name: self.name(child)?.into(),
                offset,
                bit_offset,
                size,
                bit_size,
                type_name: type_name.into(),
                ty,
                source: self.decl(child).map(Box::new),
            });
        }
        let size = die.udata(constants::DW_AT_byte_size).unwrap_or(0);
        let mut layout = Layout::new(self.name(die)?, kind, size, members).finish();
        // gc aligns 8-byte fields (uint64, float64, complex) to 4 on 32-bit
        // targets (386, arm), and never packs: cap the alignment that
        // `finish` derived from the members' sizes at the pointer size.
        if self.lang(die.unit) == Lang::Go {
            let word = u64::from(self.units.info(self.dwarf, die.unit)?.header.address_size());
            if word == 4 {
                layout.natural_align = layout.natural_align.min(word);
                layout.packed = false;
            }
        }
        layout.source = self.decl(die);
        let layout = Arc::new(layout);
        self.aggregates
            .insert((die.section, die.global), layout.clone());
        Ok(layout)
    }

    /// The type's name as its source language spells it: DWARF's name when
    /// the DIE has one (Go names every type: `[16]uint8`, `*main.T`),
    /// otherwise built the way C (`char[16]`, `struct x *`), Go or Rust
    /// (`[u8; 16]`) would write it.
    fn type_name(&mut self, r: TypeRef, depth: usize) -> Result<String, DwarfError> {
        if depth >= MAX_TYPE_DEPTH {
            return Err(self.too_deep(r));
        }
        let lang = self.lang(r.0);
        let is_array = {
            let (die, _) = self.read(r, false)?;
            die.tag == constants::DW_TAG_array_type
        };
        let (die, children) = self.read(r, is_array)?;
        let name = self.name(&die)?;
        let c_like = matches!(lang, Lang::C | Lang::Cpp | Lang::Other);
        let inner = |this: &mut Self| -> Result<String, DwarfError> {
            match this.type_ref(&die)? {
                Some(next) => this.type_name(next, depth + 1),
                None => Ok("void".into()),
            }
        };
        if !name.is_empty() {
            return Ok(match die.tag {
                constants::DW_TAG_structure_type if lang == Lang::C => format!("struct {name}"),
                constants::DW_TAG_union_type if lang == Lang::C => format!("union {name}"),
                constants::DW_TAG_enumeration_type if lang == Lang::C => format!("enum {name}"),
                _ => name,
            });
        }
        Ok(match die.tag {
            constants::DW_TAG_pointer_type => {
                let pointee = inner(self)?;
                match lang {
                    Lang::Go => format!("*{pointee}"),
                    Lang::Rust => format!("*const {pointee}"),
                    _ => format!("{pointee} *"),
                }
            }
            constants::DW_TAG_reference_type => format!("{} &", inner(self)?),
            constants::DW_TAG_const_type if c_like => format!("const {}", inner(self)?),
            constants::DW_TAG_volatile_type if c_like => format!("volatile {}", inner(self)?),
            constants::DW_TAG_array_type => {
                let elem = inner(self)?;
                let dims = array_dims(&children);
                match lang {
                    Lang::Go => dims.iter().map(|d| format!("[{d}]")).collect::<String>() + &elem,
                    Lang::Rust => dims
                        .iter()
                        .rev()
                        .fold(elem, |acc, d| format!("[{acc}; {d}]")),
                    _ => elem + &dims.iter().map(|d| format!("[{d}]")).collect::<String>(),
                }
            }
            constants::DW_TAG_structure_type | constants::DW_TAG_class_type => {
                "struct {...}".into()
            }
            constants::DW_TAG_union_type => "union {...}".into(),
            constants::DW_TAG_enumeration_type => "enum {...}".into(),
            constants::DW_TAG_subroutine_type => "fn(...)".into(),
            _ => inner(self)?,
        })
    }

    /// `DW_AT_decl_file`/`DW_AT_decl_line` as a file path and line. A line
    /// table we cannot read costs the location, not the layout.
    fn decl(&mut self, die: &Die<'s>) -> Option<SourceLoc> {
        let line = die.udata(constants::DW_AT_decl_line)?;
        let file = match die.attr(constants::DW_AT_decl_file)? {
            AttributeValue::FileIndex(i) => i,
            other => other.udata_value()?,
        };
        let dwarf = self.dwarf;
        let line_bytes = self.line;
        let info = self.units.info(dwarf, die.unit).ok()?;
        if info.line.is_none() {
            let endian = dwarf.debug_info.reader().endian();
            let debug_line = gimli::DebugLine::new(line_bytes(), endian);
            let as_reader = |v: Option<AttributeValue<Reader<'s>>>| {
                v.and_then(|v| attr_bytes(dwarf, info, v).ok().flatten())
                    .map(|b| Reader::new(b, endian))
            };
            let (name, comp_dir) = (as_reader(info.name), as_reader(info.comp_dir));
            let program = info.stmt_list.and_then(|off| {
                debug_line
                    .program(off, info.header.address_size(), comp_dir, name)
                    .ok()
            });
            info.line = Some(program);
        }
        let info = &*info;
        let header = info.line.as_ref()?.as_ref()?.header();
        let entry = header.file(file)?;
        let path = attr_bytes(dwarf, info, entry.path_name()).ok()??;
        let path = String::from_utf8_lossy(path);
        let dir = entry
            .directory(header)
            .and_then(|d| attr_bytes(dwarf, info, d).ok().flatten())
            .map(|d| String::from_utf8_lossy(d).into_owned());
        let file = match dir {
            Some(d) if !path.starts_with('/') && !d.is_empty() => format!("{d}/{path}"),
            _ => path.into_owned(),
        };
        Some(SourceLoc {
            file,
            line: line.min(u32::MAX as u64) as u32,
        })
    }
}

fn is_aggregate(tag: DwTag) -> bool {
    matches!(
        tag,
        constants::DW_TAG_structure_type
            | constants::DW_TAG_union_type
            | constants::DW_TAG_class_type
    )
}

/// A base type's [`FieldType`] from its `DW_AT_encoding`.
fn base_type(die: &Die<'_>, size: u64) -> FieldType {
    let int = |signed, encoding| FieldType::Int {
        size,
        signed,
        encoding,
        byte_order: ByteOrder::Host,
    };
    match die.attr(constants::DW_AT_encoding) {
        Some(AttributeValue::Encoding(e)) => match e {
            constants::DW_ATE_boolean => int(false, IntEncoding::Bool),
            constants::DW_ATE_signed => int(true, IntEncoding::Plain),
            constants::DW_ATE_unsigned => int(false, IntEncoding::Plain),
            constants::DW_ATE_signed_char => int(true, IntEncoding::Char),
            constants::DW_ATE_unsigned_char | constants::DW_ATE_UTF => {
                int(false, IntEncoding::Char)
            }
            constants::DW_ATE_float => FieldType::Float { size },
            other => FieldType::Opaque {
                size,
                what: other.to_string(),
            },
        },
        _ => FieldType::Opaque {
            size,
            what: "base type without encoding".into(),
        },
    }
}

/// Element counts of an array's dimensions, outermost first, from its
/// `DW_TAG_subrange_type` children (`DW_AT_count`, or upper - lower + 1).
/// A dimension without bounds (a C flexible array member) counts 0.
fn array_dims(children: &[Die<'_>]) -> Vec<u64> {
    children
        .iter()
        .filter(|c| c.tag == constants::DW_TAG_subrange_type)
        .map(|c| {
            if let Some(n) = c.udata(constants::DW_AT_count) {
                return n;
            }
            let lower = match c.attr(constants::DW_AT_lower_bound) {
                Some(AttributeValue::Sdata(x)) => x,
                Some(v) => v.udata_value().unwrap_or(0) as i64,
                None => 0,
            };
            let upper = match c.attr(constants::DW_AT_upper_bound) {
                Some(AttributeValue::Sdata(x)) => x,
                Some(v) => match v.udata_value() {
                    // gcc writes upper bound -1 (empty) as data of all ones.
                    Some(u) if u == u64::MAX || u == u32::MAX as u64 => return 0,
                    Some(u) => u as i64,
                    None => return 0,
                },
                None => return 0,
            };
            upper
                .checked_sub(lower)
                .and_then(|n| n.checked_add(1))
                .map_or(0, |n| n.max(0) as u64)
        })
        .collect()
}

/// Evaluates the DWARF 2 member location expressions compilers write:
/// `DW_OP_plus_uconst N` (gcc) or `DW_OP_constu N`.
fn member_location_expr(expr: gimli::Expression<Reader<'_>>) -> Option<u64> {
    let mut r = expr.0;
    let op = r.read_u8().ok()?;
    let value = match gimli::DwOp(op) {
        constants::DW_OP_plus_uconst | constants::DW_OP_constu => r.read_uleb128().ok()?,
        _ => return None,
    };
    r.is_empty().then_some(value)
}
