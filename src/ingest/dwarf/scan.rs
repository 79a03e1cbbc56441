//! Finding a type by name fast: walk each unit's DIEs with gimli's raw
//! entry reader, skip every attribute of uninteresting DIEs without decoding
//! it, and for struct/union/class/typedef DIEs compare the `DW_AT_name` bytes
//! with the wanted name before reading anything else.

use std::collections::HashMap;
use std::sync::Arc;

use gimli::{
    constants, Abbreviations, AttributeValue, DebugLineOffset, DebugStrOffsetsBase, DwTag,
    SectionId, UnitHeader, UnitOffset,
};

use super::{malformed, DwarfError, Reader};

/// Source language of a unit, as far as type naming cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    C,
    Cpp,
    Go,
    Rust,
    Other,
}

impl Lang {
    #[allow(non_upper_case_globals)]
    fn from_dw(lang: gimli::DwLang) -> Lang {
        use constants::*;
        match lang {
            DW_LANG_C | DW_LANG_C89 | DW_LANG_C99 | DW_LANG_C11 | DW_LANG_C17 => Lang::C,
            DW_LANG_C_plus_plus
            | DW_LANG_C_plus_plus_03
            | DW_LANG_C_plus_plus_11
            | DW_LANG_C_plus_plus_14
            | DW_LANG_C_plus_plus_17
            | DW_LANG_C_plus_plus_20 => Lang::Cpp,
            DW_LANG_Go => Lang::Go,
            DW_LANG_Rust => Lang::Rust,
            _ => Lang::Other,
        }
    }
}

/// What a unit's root DIE says, read once per unit.
pub(super) struct UnitInfo<'s> {
    pub header: UnitHeader<Reader<'s>>,
    /// `.debug_info`, or `.debug_types` for DWARF 4 type units.
    pub section: SectionId,
    /// Offset of the unit header in its section; a DIE's offset in the
    /// section is `start` + its unit offset.
    pub start: u64,
    pub abbrevs: Arc<Abbreviations>,
    pub lang: Lang,
    pub str_offsets_base: DebugStrOffsetsBase,
    pub name: Option<AttributeValue<Reader<'s>>>,
    pub comp_dir: Option<AttributeValue<Reader<'s>>>,
    pub stmt_list: Option<DebugLineOffset>,
    /// The line program header, parsed on first use (decl_file names).
    pub line: Option<Option<gimli::IncompleteLineProgram<Reader<'s>>>>,
}

/// Every unit of `.debug_info`, then those of `.debug_types`: headers up
/// front (cheap), root DIEs on demand.
pub(super) struct Units<'s> {
    headers: Vec<(u64, u64, UnitHeader<Reader<'s>>)>,
    /// How many of `headers` are `.debug_info` units (sorted by offset).
    info_units: usize,
    /// Type unit signature → (unit index, offset of its type DIE).
    signatures: HashMap<u64, (usize, UnitOffset)>,
    infos: Vec<Option<UnitInfo<'s>>>,
    abbrevs: HashMap<u64, Arc<Abbreviations>>,
}

impl<'s> Units<'s> {
    pub fn new(dwarf: &gimli::Dwarf<Reader<'s>>) -> Result<Self, DwarfError> {
        let mut headers = Vec::new();
        let mut iter = dwarf.units();
        let mut pos = 0u64;
        loop {
            let next = iter
                .next()
                .map_err(|e| malformed(dwarf, e, (SectionId::DebugInfo, pos)))?;
            let Some(h) = next else { break };
            let start = h
                .offset()
                .as_debug_info_offset()
                .map(|o| o.0 as u64)
                .unwrap_or(pos);
            let end = start + h.length_including_self() as u64;
            headers.push((start, end, h));
            pos = end;
        }
        let info_units = headers.len();
        let mut iter = dwarf.type_units();
        let mut pos = 0u64;
        loop {
            let next = iter
                .next()
                .map_err(|e| malformed(dwarf, e, (SectionId::DebugTypes, pos)))?;
            let Some(h) = next else { break };
            let start = match h.offset() {
                gimli::UnitSectionOffset::DebugTypesOffset(o) => o.0 as u64,
                _ => pos,
            };
            let end = start + h.length_including_self() as u64;
            headers.push((start, end, h));
            pos = end;
        }
        let mut signatures = HashMap::new();
        for (i, (_, _, h)) in headers.iter().enumerate() {
            if let gimli::UnitType::Type {
                type_signature,
                type_offset,
            } = h.type_()
            {
                signatures
                    .entry(type_signature.0)
                    .or_insert((i, type_offset));
            }
        }
        let infos = (0..headers.len()).map(|_| None).collect();
        Ok(Units {
            headers,
            info_units,
            signatures,
            infos,
            abbrevs: HashMap::new(),
        })
    }

    /// The type DIE of the type unit with this signature (`DW_FORM_ref_sig8`).
    pub fn by_signature(&self, signature: u64) -> Option<(usize, UnitOffset)> {
        self.signatures.get(&signature).copied()
    }

    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// The unit holding `.debug_info` offset `offset`.
    pub fn unit_of(&self, offset: u64) -> Option<usize> {
        let i = self
            .headers
            .partition_point(|(start, _, _)| *start <= offset);
        let i = i.checked_sub(1)?;
        (offset < self.headers[i].1).then_some(i)
    }

    /// The root-DIE facts of unit `i`.
    pub fn info(
        &mut self,
        dwarf: &gimli::Dwarf<Reader<'s>>,
        i: usize,
    ) -> Result<&mut UnitInfo<'s>, DwarfError> {
        if self.infos[i].is_none() {
            let (start, _, header) = self.headers[i];
            let section = if i < self.info_units {
                SectionId::DebugInfo
            } else {
                SectionId::DebugTypes
            };
            let err = |e| malformed(dwarf, e, (section, start));
            let abbrev_off = header.debug_abbrev_offset().0 as u64;
            let abbrevs = match self.abbrevs.get(&abbrev_off) {
                Some(a) => a.clone(),
                None => {
                    let a =
                        Arc::new(header.abbreviations(&dwarf.debug_abbrev).map_err(|e| {
                            malformed(dwarf, e, (SectionId::DebugAbbrev, abbrev_off))
                        })?);
                    self.abbrevs.insert(abbrev_off, a.clone());
                    a
                }
            };
            let mut info = UnitInfo {
                header,
                section,
                start,
                abbrevs: abbrevs.clone(),
                lang: Lang::Other,
                str_offsets_base: DebugStrOffsetsBase::default_for_encoding_and_file(
                    header.encoding(),
                    gimli::DwarfFileType::Main,
                ),
                name: None,
                comp_dir: None,
                stmt_list: None,
                line: None,
            };
            let mut raw = header.entries_raw(&abbrevs, None).map_err(err)?;
            if let Some(abbrev) = raw.read_abbreviation().map_err(err)? {
                for spec in abbrev.attributes() {
                    let attr = raw.read_attribute(*spec).map_err(err)?;
                    match (attr.name(), attr.value()) {
                        (constants::DW_AT_language, AttributeValue::Language(l)) => {
                            info.lang = Lang::from_dw(l)
                        }
                        (
                            constants::DW_AT_str_offsets_base,
                            AttributeValue::DebugStrOffsetsBase(b),
                        ) => info.str_offsets_base = b,
                        (constants::DW_AT_name, v) => info.name = Some(v),
                        (constants::DW_AT_comp_dir, v) => info.comp_dir = Some(v),
                        (constants::DW_AT_stmt_list, AttributeValue::DebugLineRef(o)) => {
                            info.stmt_list = Some(o)
                        }
                        _ => {}
                    }
                }
            }
            self.infos[i] = Some(info);
        }
        Ok(self.infos[i].as_mut().expect("filled above"))
    }
}

/// The bytes of a string attribute, in whichever string form it uses.
pub(super) fn attr_bytes<'s>(
    dwarf: &gimli::Dwarf<Reader<'s>>,
    unit: &UnitInfo<'s>,
    value: AttributeValue<Reader<'s>>,
) -> gimli::Result<Option<&'s [u8]>> {
    let r = match value {
        AttributeValue::String(r) => r,
        AttributeValue::DebugStrRef(o) => dwarf.debug_str.get_str(o)?,
        AttributeValue::DebugLineStrRef(o) => dwarf.debug_line_str.get_str(o)?,
        AttributeValue::DebugStrOffsetsIndex(i) => {
            let o = dwarf.debug_str_offsets.get_str_offset(
                unit.header.format(),
                unit.str_offsets_base,
                i,
            )?;
            dwarf.debug_str.get_str(o)?
        }
        _ => return Ok(None),
    };
    Ok(Some(r.slice()))
}

/// A type DIE that matched a wanted name.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub unit: usize,
    pub offset: UnitOffset,
    pub tag: DwTag,
    /// The name qualified as the language does (`main.FlowKey`,
    /// `layouts::FlowKey`, `flow_key`).
    pub qualified: String,
}

fn is_aggregate(tag: DwTag) -> bool {
    matches!(
        tag,
        constants::DW_TAG_structure_type
            | constants::DW_TAG_union_type
            | constants::DW_TAG_class_type
    )
}

/// How a qualified name relates to the wanted one.
#[derive(PartialEq, Eq)]
enum Match {
    Exact,
    /// `FlowKey` for `main.FlowKey`, `http.Request` for `net/http.Request`,
    /// `FlowKey` for `layouts::FlowKey`.
    Suffix,
}

fn classify(qualified: &[u8], want: &[u8]) -> Option<Match> {
    if qualified == want {
        return Some(Match::Exact);
    }
    if qualified.len() > want.len() && qualified.ends_with(want) {
        let before = qualified[qualified.len() - want.len() - 1];
        if matches!(before, b'.' | b'/' | b':') {
            return Some(Match::Suffix);
        }
    }
    None
}

/// What a scan is for.
enum Goal<'w> {
    /// One name: stop at the first exact definition.
    Find { want: &'w [u8], last: &'w [u8] },
    /// Every struct/union/class name.
    All,
}

/// Walks every unit. `on_match` gets each named non-declaration
/// aggregate/typedef DIE passing the goal's byte prefilter, with its
/// qualified name; it returns true to stop the walk.
fn walk<'s>(
    dwarf: &gimli::Dwarf<Reader<'s>>,
    units: &mut Units<'s>,
    goal: &Goal<'_>,
    mut on_match: impl FnMut(Found) -> bool,
) -> Result<(), DwarfError> {
    let mut ns: Vec<(isize, Vec<u8>)> = Vec::new();
    for i in 0..units.len() {
        let info = units.info(dwarf, i)?;
        let info = &*info;
        let track_ns = matches!(info.lang, Lang::Rust | Lang::Cpp);
        ns.clear();
        let mut raw = info
            .header
            .entries_raw(&info.abbrevs, None)
            .map_err(|e| malformed(dwarf, e, (info.section, info.start)))?;
        while !raw.is_empty() {
            let depth = raw.next_depth();
            let offset = raw.next_offset();
            let err = |e| {
                let at = offset
                    .to_debug_info_offset(&info.header)
                    .map(|o| o.0 as u64);
                malformed(dwarf, e, (SectionId::DebugInfo, at.unwrap_or(info.start)))
            };
            let Some(abbrev) = raw.read_abbreviation().map_err(err)? else {
                continue;
            };
            let tag = abbrev.tag();
            let specs = abbrev.attributes();
            let interesting = is_aggregate(tag) || tag == constants::DW_TAG_typedef;
            let namespace = track_ns && tag == constants::DW_TAG_namespace;
            if !interesting && !namespace {
                raw.skip_attributes(specs).map_err(err)?;
                continue;
            }
            while ns.last().is_some_and(|(d, _)| *d >= depth) {
                ns.pop();
            }
            let mut name: Option<&[u8]> = None;
            let mut declaration = false;
            for (k, spec) in specs.iter().enumerate() {
                match spec.name() {
                    constants::DW_AT_name => {
                        let attr = raw.read_attribute(*spec).map_err(err)?;
                        let bytes = attr_bytes(dwarf, info, attr.value()).map_err(err)?;
                        let keep = match (bytes, goal) {
                            (None, _) => false,
                            (Some(b), _) if namespace => !b.is_empty(),
                            (Some(b), Goal::Find { last, .. }) => b.ends_with(last),
                            (Some(b), Goal::All) => !b.is_empty() && is_aggregate(tag),
                        };
                        if !keep {
                            raw.skip_attributes(&specs[k + 1..]).map_err(err)?;
                            name = None;
                            break;
                        }
                        name = bytes;
                    }
                    constants::DW_AT_declaration => {
                        let attr = raw.read_attribute(*spec).map_err(err)?;
                        declaration = matches!(attr.value(), AttributeValue::Flag(true));
                    }
                    _ => raw
                        .skip_attributes(std::slice::from_ref(spec))
                        .map_err(err)?,
                }
            }
            let Some(name) = name else { continue };
            if namespace {
                ns.push((depth, name.to_vec()));
                continue;
            }
            if declaration {
                continue;
            }
            let mut qualified = Vec::with_capacity(name.len());
            for (_, n) in &ns {
                qualified.extend_from_slice(n);
                qualified.extend_from_slice(b"::");
            }
            qualified.extend_from_slice(name);
            if let Goal::Find { want, .. } = goal {
                if classify(&qualified, want).is_none() {
                    continue;
                }
            }
            let found = Found {
                unit: i,
                offset,
                tag,
                qualified: String::from_utf8_lossy(&qualified).into_owned(),
            };
            if on_match(found) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Finds the definition of struct/union/typedef `name` (see
/// [`super::DwarfFile::layout`] for the matching rules).
pub(super) fn find<'s>(
    dwarf: &gimli::Dwarf<Reader<'s>>,
    units: &mut Units<'s>,
    name: &str,
) -> Result<Option<Found>, DwarfError> {
    let want = name.as_bytes();
    let last = name
        .rsplit("::")
        .next()
        .map(|s| s.rsplit(['.', '/']).next().unwrap_or(s))
        .unwrap_or(name)
        .as_bytes();
    let mut exact_aggregate = None;
    let mut exact_typedef = None;
    let mut suffix: Vec<Found> = Vec::new();
    walk(dwarf, units, &Goal::Find { want, last }, |f| {
        let exact = classify(f.qualified.as_bytes(), want) == Some(Match::Exact);
        if exact && is_aggregate(f.tag) {
            exact_aggregate = Some(f);
            return true;
        }
        if exact {
            exact_typedef.get_or_insert(f);
        } else {
            suffix.push(f);
        }
        false
    })?;
    if let Some(f) = exact_aggregate.or(exact_typedef) {
        return Ok(Some(f));
    }
    // Suffix matches: one qualified name (a struct and its Go typedef share
    // it) is an answer; several are ambiguous.
    let mut names: Vec<&str> = suffix.iter().map(|f| f.qualified.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() > 1 {
        return Err(DwarfError::Ambiguous {
            name: name.to_string(),
            candidates: names.into_iter().map(str::to_string).collect(),
        });
    }
    let best = suffix
        .iter()
        .find(|f| is_aggregate(f.tag))
        .or(suffix.first())
        .cloned();
    Ok(best)
}

/// Qualified names of all named struct/union/class definitions.
pub(super) fn all_names<'s>(
    dwarf: &gimli::Dwarf<Reader<'s>>,
    units: &mut Units<'s>,
) -> Result<Vec<String>, DwarfError> {
    let mut names = Vec::new();
    walk(dwarf, units, &Goal::All, |f| {
        names.push(f.qualified);
        false
    })?;
    names.sort_unstable();
    names.dedup();
    Ok(names)
}
