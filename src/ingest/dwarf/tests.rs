//! Unit tests of the DWARF reader: one per error variant, each triggered
//! on a real corpus binary that the test truncates or patches.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};

use super::{DebugSearch, DwarfError, DwarfFile, MAX_TYPE_DEPTH};

fn corpus(rel: &str) -> (PathBuf, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpora")
        .join(rel);
    let data = std::fs::read(&path).unwrap();
    (path, data)
}

/// File range of a section.
fn section_range(data: &[u8], name: &str) -> (usize, usize) {
    let file = object::File::parse(data).unwrap();
    let (start, len) = file.section_by_name(name).unwrap().file_range().unwrap();
    (start as usize, len as usize)
}

/// A DIE found with gimli on an uncompressed binary: its offset in
/// `.debug_info` and its `DW_AT_type` as a unit offset.
struct DieAt {
    global: usize,
    unit_offset: usize,
    type_ref: Option<usize>,
}

/// Finds the DIE named `name` (inside the DIE named `parent`, if given).
fn find_die(data: &[u8], parent: Option<&str>, name: &str) -> DieAt {
    let (start, len) = section_range(data, ".debug_info");
    let (astart, alen) = section_range(data, ".debug_abbrev");
    let (sstart, slen) = section_range(data, ".debug_str");
    let le = gimli::LittleEndian;
    let dwarf = gimli::Dwarf::<gimli::EndianSlice<'_, gimli::LittleEndian>> {
        debug_info: gimli::DebugInfo::new(&data[start..start + len], le),
        debug_abbrev: gimli::DebugAbbrev::new(&data[astart..astart + alen], le),
        debug_str: gimli::DebugStr::new(&data[sstart..sstart + slen], le),
        ..Default::default()
    };
    let header = dwarf.units().next().unwrap().unwrap();
    let abbrevs = header.abbreviations(&dwarf.debug_abbrev).unwrap();
    let mut cursor = header.entries(&abbrevs);
    let mut inside: Option<isize> = None;
    let mut depth = 0;
    while let Some((delta, entry)) = cursor.next_dfs().unwrap() {
        depth += delta;
        if inside.is_some_and(|d| depth <= d) {
            inside = None;
        }
        let entry_name = entry
            .attr_value(gimli::DW_AT_name)
            .unwrap()
            .and_then(|v| match v {
                gimli::AttributeValue::DebugStrRef(o) => dwarf.debug_str.get_str(o).ok(),
                gimli::AttributeValue::String(s) => Some(s),
                _ => None,
            })
            .map(|s| s.to_string_lossy().into_owned());
        if entry_name.as_deref() == parent && parent.is_some() {
            inside = Some(depth);
            continue;
        }
        if entry_name.as_deref() == Some(name) && (parent.is_none() || inside.is_some()) {
            let type_ref = match entry.attr_value(gimli::DW_AT_type).unwrap() {
                Some(gimli::AttributeValue::UnitRef(o)) => Some(o.0),
                _ => None,
            };
            return DieAt {
                global: start + entry.offset().to_debug_info_offset(&header).unwrap().0,
                unit_offset: entry.offset().0,
                type_ref,
            };
        }
    }
    panic!("no DIE {name}");
}

/// Rewrites the `DW_AT_type` ref4 of `die` to point at `target` (a unit offset).
fn retarget(data: &mut [u8], die: &DieAt, target: usize) {
    let old = (die.type_ref.unwrap() as u32).to_le_bytes();
    let window = die.global..die.global + 32;
    let at = data[window.clone()]
        .windows(4)
        .position(|w| w == old)
        .expect("ref4 in the DIE");
    let at = window.start + at;
    data[at..at + 4].copy_from_slice(&(target as u32).to_le_bytes());
}

#[test]
fn object_error_for_a_truncated_elf() {
    let (path, data) = corpus("c/layouts.x86_64");
    let err = DwarfFile::load(&path, &data[..16]).unwrap_err();
    assert!(matches!(err, DwarfError::Object(_)), "{err}");
}

#[test]
fn section_error_for_a_broken_zlib_stream() {
    let (path, mut data) = corpus("go/layouts.amd64");
    let (start, _) = section_range(&data, ".debug_info");
    // Elf64_Chdr is 24 bytes; the zlib stream starts with 0x78.
    assert_eq!(data[start + 24], 0x78);
    data[start + 24] = 0x00;
    let err = DwarfFile::load(&path, &data).unwrap_err();
    match &err {
        DwarfError::Section {
            section,
            file_offset,
            ..
        } => {
            assert_eq!(section, ".debug_info");
            assert_eq!(*file_offset as usize, start);
            assert_eq!(err.file_offset(), Some(start as u64));
        }
        other => panic!("expected Section, got {other:?}"),
    }
}

#[test]
fn section_too_large_for_an_impossible_uncompressed_size() {
    let (path, mut data) = corpus("go/layouts.amd64");
    let (start, _) = section_range(&data, ".debug_info");
    data[start + 8..start + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let err = DwarfFile::load(&path, &data).unwrap_err();
    assert!(
        matches!(err, DwarfError::SectionTooLarge { size, .. } if size == 1 << 40),
        "{err}"
    );
}

/// The C binary with `.debug_info` renamed away: a binary without DWARF
/// that still has its build-id.
fn without_debug_info() -> (PathBuf, Vec<u8>) {
    let (path, mut data) = corpus("c/layouts.x86_64");
    let at = data
        .windows(12)
        .position(|w| w == b".debug_info\0")
        .unwrap();
    data[at + 1] = b'x';
    (path, data)
}

/// Where the binary's build-id says its debug file is: `.build-id/xx/rest.debug`.
fn build_id_path(data: &[u8]) -> String {
    let file = object::File::parse(data).unwrap();
    let id = file.build_id().unwrap().expect("gcc writes a build-id");
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!(".build-id/{}/{}.debug", &hex[..2], &hex[2..])
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("bpfcase-dwarf-unit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn no_debug_info_lists_where_it_looked() {
    let (path, data) = without_debug_info();
    let dir = temp_dir("nodebug");
    let err = DwarfFile::load_with(&path, &data, &DebugSearch::in_dir(&dir)).unwrap_err();
    match &err {
        DwarfError::NoDebugInfo { searched } => {
            assert_eq!(searched.len(), 1, "{searched:?}");
            assert!(searched[0].ends_with(&build_id_path(&data)), "{searched:?}");
        }
        other => panic!("expected NoDebugInfo, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn debug_file_error_when_the_candidate_is_unreadable() {
    let (path, data) = without_debug_info();
    let dir = temp_dir("debugfile");
    // A directory where the build-id debug file should be: open works, read fails.
    let candidate = dir.join(build_id_path(&data));
    std::fs::create_dir_all(&candidate).unwrap();
    let err = DwarfFile::load_with(&path, &data, &DebugSearch::in_dir(&dir)).unwrap_err();
    assert!(
        matches!(&err, DwarfError::DebugFile { path, .. } if *path == candidate),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_unit_length_is_placed_in_debug_info() {
    let (path, mut data) = corpus("c/layouts.x86_64");
    let (start, _) = section_range(&data, ".debug_info");
    data[start..start + 4].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    let file = DwarfFile::load(&path, &data).unwrap();
    let err = file.layout("flow_key").unwrap_err();
    match &err {
        DwarfError::Malformed { section, .. } => assert_eq!(*section, ".debug_info"),
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert!(err.to_string().contains("at .debug_info+0x"), "{err}");
}

#[test]
fn malformed_abbreviation_code_is_placed_at_its_die() {
    let (path, mut data) = corpus("c/layouts.x86_64");
    let die = find_die(&data, None, "flow_key");
    let (start, _) = section_range(&data, ".debug_info");
    data[die.global] = 0x7f; // no such abbreviation code
    let file = DwarfFile::load(&path, &data).unwrap();
    let err = file.layout("flow_key").unwrap_err();
    match &err {
        DwarfError::Malformed {
            section, offset, ..
        } => {
            assert_eq!(*section, ".debug_info");
            assert_eq!(*offset as usize, die.global - start);
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn too_deep_for_a_typedef_that_names_itself() {
    let (path, mut data) = corpus("c/layouts.x86_64");
    let die = find_die(&data, None, "handle_t");
    retarget(&mut data, &die, die.unit_offset);
    let file = DwarfFile::load(&path, &data).unwrap();
    let err = file.layout("misc").unwrap_err();
    assert!(
        matches!(err, DwarfError::TooDeep { limit, .. } if limit == MAX_TYPE_DEPTH),
        "{err}"
    );
}

#[test]
fn ambiguous_bare_name_lists_the_packages() {
    let (path, data) = corpus("go/layouts.amd64");
    let file = DwarfFile::load(&path, &data).unwrap();
    match file.layout("errorString").unwrap_err() {
        DwarfError::Ambiguous { name, candidates } => {
            assert_eq!(name, "errorString");
            assert_eq!(candidates, ["errors.errorString", "runtime.errorString"]);
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    // Qualified, or unique after a path segment: no ambiguity.
    assert!(file.layout("runtime.errorString").unwrap().is_some());
    let l = file.layout("reflectlite.ValueError").unwrap().unwrap();
    assert_eq!(l.name, "internal/reflectlite.ValueError");
}

#[test]
fn bad_type_when_a_member_type_points_at_a_member() {
    let (path, mut data) = corpus("c/layouts.x86_64");
    let member = find_die(&data, Some("flow_key"), "saddr");
    retarget(&mut data, &member, member.unit_offset);
    let file = DwarfFile::load(&path, &data).unwrap();
    let err = file.layout("flow_key").unwrap_err();
    let (start, _) = section_range(&data, ".debug_info");
    match &err {
        DwarfError::BadType {
            section,
            offset,
            why,
        } => {
            assert_eq!(*section, ".debug_info");
            assert_eq!(*offset as usize, member.global - start);
            assert!(why.contains("DW_TAG_member"), "{why}");
        }
        other => panic!("expected BadType, got {other:?}"),
    }
}

/// Every single-byte corruption of the C binary's `.debug_info` and
/// `.debug_abbrev` gives a layout or an error, never a panic or a hang.
#[test]
fn corrupted_debug_info_never_panics() {
    let (path, data) = corpus("c/layouts.x86_64");
    let mut outcomes = [0usize; 2];
    for section in [".debug_info", ".debug_abbrev"] {
        let (start, len) = section_range(&data, section);
        for i in 0..len {
            for value in [0x00, 0xff, data[start + i] ^ 0x5a] {
                let mut bad = data.clone();
                bad[start + i] = value;
                let Ok(file) = DwarfFile::load(&path, &bad) else {
                    continue;
                };
                for name in ["flow_key", "bits", "addr_rec", "misc"] {
                    outcomes[file.layout(name).is_ok() as usize] += 1;
                }
                let _ = file.struct_names();
            }
        }
    }
    eprintln!(
        "corrupted lookups: {} ok, {} errors",
        outcomes[1], outcomes[0]
    );
    assert!(outcomes[0] > 0 && outcomes[1] > 0);
}
