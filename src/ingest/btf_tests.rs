//! Unit tests for the BTF parser: a hand-assembled blob decoded field by
//! field, and one test per error variant.

use super::*;

/// Assembles a little-endian BTF blob from type words and a string table.
fn blob(types: &[u32], strings: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xeb9fu16.to_le_bytes());
    out.push(1); // version
    out.push(0); // flags
    out.extend_from_slice(&24u32.to_le_bytes()); // hdr_len
    out.extend_from_slice(&0u32.to_le_bytes()); // type_off
    out.extend_from_slice(&((types.len() * 4) as u32).to_le_bytes()); // type_len
    out.extend_from_slice(&((types.len() * 4) as u32).to_le_bytes()); // str_off
    out.extend_from_slice(&(strings.len() as u32).to_le_bytes()); // str_len
    for w in types {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(strings);
    out
}

const fn info(kind: u32, vlen: u32, kind_flag: bool) -> u32 {
    (kind << 24) | vlen | if kind_flag { 1 << 31 } else { 0 }
}

/// Strings: "" "int" "s" "a" "b" at offsets 0, 1, 5, 7, 9.
const STRINGS: &[u8] = b"\0int\0s\0a\0b\0";

#[rustfmt::skip]
fn struct_with_bitfield() -> Vec<u8> {
    blob(&[
        // [1] INT "int" size 4, signed, 32 bits
        1, info(1, 0, false), 4, (1 << 24) | 32,
        // [2] STRUCT "s" size 8, vlen 2, kind_flag (bitfield offsets)
        5, info(4, 2, true), 8,
        //   member "a": type 1, bitfield_size 3 at bit 0
        7, 1, 3 << 24,
        //   member "b": type 1, plain int at bit 32
        9, 1, 32,
    ], STRINGS)
}

#[test]
fn decodes_struct_with_bitfield_field_by_field() {
    let data = struct_with_bitfield();
    let btf = Btf::parse(&data).unwrap();
    assert_eq!(btf.endian(), Endian::Little);
    assert_eq!(btf.type_count(), 3);
    let int = btf.type_by_id(TypeId(1)).unwrap();
    assert_eq!(
        (int.name, int.kind, int.size()),
        ("int", BtfKind::Int, Some(4))
    );
    assert_eq!(
        int.int(),
        Some(BtfInt {
            signed: true,
            char: false,
            bool: false,
            offset: 0,
            bits: 32
        })
    );
    let s = btf.type_by_id(TypeId(2)).unwrap();
    assert_eq!((s.name, s.kind, s.vlen), ("s", BtfKind::Struct, 2));
    let members: Vec<_> = s.members(&btf).collect();
    assert_eq!(
        members,
        vec![
            BtfMember {
                name: "a",
                type_id: TypeId(1),
                bit_offset: 0,
                bitfield_size: 3
            },
            BtfMember {
                name: "b",
                type_id: TypeId(1),
                bit_offset: 32,
                bitfield_size: 0
            },
        ]
    );
    assert_eq!(btf.find_by_name("s"), vec![TypeId(2)]);
    assert_eq!(btf.size_of(TypeId(2)), Ok(8));
}

#[test]
fn big_endian_blob_is_read_in_its_own_order() {
    let le = struct_with_bitfield();
    // Byte-swap every 32-bit word of header and types, and the 16-bit magic.
    let mut be = le.clone();
    be[0..2].copy_from_slice(&0xeb9fu16.to_be_bytes());
    let types_end = 24 + 13 * 4;
    for w in (4..types_end).step_by(4) {
        be[w..w + 4].reverse();
    }
    let btf = Btf::parse(&be).unwrap();
    assert_eq!(btf.endian(), Endian::Big);
    let s = btf.type_by_id(TypeId(2)).unwrap();
    assert_eq!(s.members(&btf).nth(1).unwrap().bit_offset, 32);
}

#[test]
fn enum64_values_are_64_bit() {
    #[rustfmt::skip]
    let data = blob(&[
        // [1] ENUM64 "s" size 8, vlen 1, signed
        5, info(19, 1, true), 8,
        //   "a" = 0xffffffff_fffffffe (lo, hi)
        7, 0xffff_fffe, 0xffff_ffff,
    ], STRINGS);
    let btf = Btf::parse(&data).unwrap();
    let e = btf.type_by_id(TypeId(1)).unwrap();
    let v: Vec<_> = e.enum_values(&btf).collect();
    assert_eq!(
        v,
        vec![BtfEnumValue {
            name: "a",
            value: -2
        }]
    );
}

#[test]
fn split_btf_continues_base_ids_and_strings() {
    let base_data = struct_with_bitfield();
    let base = Btf::parse(&base_data).unwrap();
    // Split strings start at base's str_len (11): "x" is at 11+1.
    #[rustfmt::skip]
    let split_data = blob(&[
        // [3] TYPEDEF "x" -> [2] (a base type)
        12, info(8, 0, false), 2,
    ], b"\0x\0");
    let split = Btf::parse_split(&split_data, &base).unwrap();
    assert_eq!(split.first_local_id(), 3);
    let t = split.type_by_id(TypeId(3)).unwrap();
    assert_eq!((t.name, t.kind), ("x", BtfKind::Typedef));
    assert_eq!(split.type_by_id(TypeId(1)).unwrap().name, "int");
    assert_eq!(split.size_of(TypeId(3)), Ok(8));
}

#[test]
fn error_truncated_header() {
    let data = struct_with_bitfield();
    assert!(matches!(
        Btf::parse(&data[..10]),
        Err(BtfError::Truncated {
            offset: 8,
            needed: 4,
            available: 2
        })
    ));
}

#[test]
fn error_bad_magic() {
    let mut data = struct_with_bitfield();
    data[0] = 0x12;
    assert!(matches!(Btf::parse(&data), Err(BtfError::BadMagic { .. })));
}

#[test]
fn error_unsupported_version() {
    let mut data = struct_with_bitfield();
    data[2] = 2;
    assert_eq!(
        Btf::parse(&data).unwrap_err(),
        BtfError::UnsupportedVersion { version: 2 }
    );
}

#[test]
fn error_header_too_short() {
    let mut data = struct_with_bitfield();
    data[4..8].copy_from_slice(&16u32.to_le_bytes());
    assert_eq!(
        Btf::parse(&data).unwrap_err(),
        BtfError::HeaderTooShort { hdr_len: 16 }
    );
}

#[test]
fn error_section_out_of_bounds() {
    let data = struct_with_bitfield();
    // Drop the last string byte: the string section now runs past the end.
    let err = Btf::parse(&data[..data.len() - 1]).unwrap_err();
    assert!(
        matches!(
            err,
            BtfError::SectionOutOfBounds {
                section: "string",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn error_bad_string_section() {
    let data = blob(&[], b"\0int");
    assert!(matches!(
        Btf::parse(&data),
        Err(BtfError::BadStringSection { offset: 24 })
    ));
}

/// Split BTF's strings continue its base's: no leading empty string.
#[test]
fn error_split_btf_without_base() {
    let data = blob(&[], b"int\0");
    assert_eq!(
        Btf::parse(&data).unwrap_err(),
        BtfError::SplitWithoutBase { offset: 24 }
    );
}

#[test]
fn error_unknown_kind() {
    let data = blob(&[1, info(25, 0, false), 4], STRINGS);
    assert_eq!(
        Btf::parse(&data).unwrap_err(),
        BtfError::UnknownKind {
            id: 1,
            kind: 25,
            offset: 24
        }
    );
}

#[test]
fn error_vlen_overrun() {
    // A struct claiming 1000 members with none present.
    let data = blob(&[5, info(4, 1000, false), 8], STRINGS);
    let err = Btf::parse(&data).unwrap_err();
    assert!(
        matches!(
            err,
            BtfError::VlenOverrun {
                id: 1,
                vlen: 1000,
                needed: 12000,
                available: 0,
                offset: 24,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.offset(), Some(24));
}

#[test]
fn error_string_offset_out_of_range() {
    let data = blob(&[500, info(1, 0, false), 4, 32], STRINGS);
    assert!(matches!(
        Btf::parse(&data),
        Err(BtfError::StrOffsetOutOfRange {
            id: 1,
            str_off: 500,
            ..
        })
    ));
}

#[test]
fn error_type_id_out_of_range() {
    // A pointer to type 9 in a blob with one type.
    let data = blob(&[0, info(2, 0, false), 9], STRINGS);
    assert_eq!(
        Btf::parse(&data).unwrap_err(),
        BtfError::TypeIdOutOfRange {
            id: 1,
            target: 9,
            last: 1,
            offset: 24
        }
    );
}

#[test]
fn error_reference_cycle_through_typedefs() {
    #[rustfmt::skip]
    let data = blob(&[
        // [1] TYPEDEF "a" -> [2]; [2] CONST -> [1]
        7, info(8, 0, false), 2,
        0, info(10, 0, false), 1,
    ], STRINGS);
    let btf = Btf::parse(&data).unwrap();
    assert!(matches!(
        btf.size_of(TypeId(1)),
        Err(BtfError::ReferenceCycle { id: 1, .. })
    ));
    let engine = crate::ingest::btf_layout::BtfLayouts::new(&btf);
    assert!(matches!(
        engine.resolve(TypeId(1)),
        Err(BtfError::ReferenceCycle { .. })
    ));
}

#[test]
fn error_array_size_overflow() {
    #[rustfmt::skip]
    let data = blob(&[
        // [1] INT "int" size 8
        1, info(1, 0, false), 8, 64,
        // [2] ARRAY of [1] x 0xffffffff; [3] ARRAY of [2] x 0xffffffff
        0, info(3, 0, false), 0, 1, 1, 0xffff_ffff,
        0, info(3, 0, false), 0, 2, 1, 0xffff_ffff,
    ], STRINGS);
    let btf = Btf::parse(&data).unwrap();
    assert!(matches!(
        btf.size_of(TypeId(3)),
        Err(BtfError::SizeOverflow { id: 3, .. })
    ));
    let mut engine = crate::ingest::btf_layout::BtfLayouts::new(&btf);
    assert!(matches!(
        engine.field_type(TypeId(3)),
        Err(BtfError::SizeOverflow { .. })
    ));
}

#[test]
fn error_no_such_type() {
    let data = struct_with_bitfield();
    let btf = Btf::parse(&data).unwrap();
    assert_eq!(
        btf.type_by_id(TypeId(0)).unwrap_err(),
        BtfError::NoSuchType { id: 0 }
    );
    assert_eq!(
        btf.type_by_id(TypeId(7)).unwrap_err(),
        BtfError::NoSuchType { id: 7 }
    );
}

#[test]
fn struct_containing_itself_by_value_is_a_cycle_not_a_stack_overflow() {
    #[rustfmt::skip]
    let data = blob(&[
        // [1] STRUCT "s" size 8 with one member "a" of type [1]
        5, info(4, 1, false), 8,
        7, 1, 0,
    ], STRINGS);
    let btf = Btf::parse(&data).unwrap();
    let mut engine = crate::ingest::btf_layout::BtfLayouts::new(&btf);
    assert!(matches!(
        engine.layout(TypeId(1)),
        Err(BtfError::ReferenceCycle { id: 1, .. })
    ));
}

/// A blob of `n` INT types, with PTRs to a missing type at the given indexes.
fn many_types(n: usize, bad: &[usize]) -> Vec<u8> {
    let mut words = Vec::new();
    for i in 0..n {
        if bad.contains(&i) {
            words.extend_from_slice(&[0, info(2, 0, false), 999_999]);
        } else {
            words.extend_from_slice(&[1, info(1, 0, false), 4, 32]);
        }
    }
    blob(&words, STRINGS)
}

#[test]
fn large_blobs_are_checked_on_two_cores_and_the_error_is_deterministic() {
    // 20,000 types take the two-thread path; an error only in the second half
    // is still found, and with errors in both halves the first one is reported.
    let only_second = many_types(20_000, &[15_000]);
    assert!(matches!(
        Btf::parse(&only_second),
        Err(BtfError::TypeIdOutOfRange {
            id: 15_001,
            target: 999_999,
            ..
        })
    ));
    let both = many_types(20_000, &[5_000, 15_000]);
    for _ in 0..20 {
        assert!(matches!(
            Btf::parse(&both),
            Err(BtfError::TypeIdOutOfRange { id: 5_001, .. })
        ));
    }
    let good = many_types(20_000, &[]);
    let btf = Btf::parse(&good).unwrap();
    // The strings were validated on the way (by the helper thread here).
    assert_eq!(btf.strings_utf8, Some("\0int\0s\0a\0b\0"));
    assert_eq!(btf.type_by_id(TypeId(19_999)).unwrap().name, "int");
}

#[test]
fn array_whose_element_leads_back_to_itself_is_a_cycle() {
    #[rustfmt::skip]
    let data = blob(&[
        // [1] INT "int" size 4
        1, info(1, 0, false), 4, 32,
        // [2] TYPEDEF "a" -> [3]; [3] ARRAY of [2] x 4, index [1]
        7, info(8, 0, false), 3,
        0, info(3, 0, false), 0, 2, 1, 4,
        // [4] STRUCT "s" size 16 with one member "b" of type [3]
        5, info(4, 1, false), 16,
        9, 3, 0,
    ], STRINGS);
    let btf = Btf::parse(&data).unwrap();
    let mut engine = crate::ingest::btf_layout::BtfLayouts::new(&btf);
    assert!(matches!(
        engine.field_type(TypeId(3)),
        Err(BtfError::ReferenceCycle { id: 3, .. })
    ));
    // Inside a struct too, and asking again gives the same error.
    for _ in 0..2 {
        assert!(matches!(
            engine.layout(TypeId(4)),
            Err(BtfError::ReferenceCycle { id: 3, .. })
        ));
    }
}

/// Structs nested `levels` deep around an int: [1] int, [k+1] wraps [k].
fn nested_structs(levels: u32) -> Vec<u8> {
    let mut words = vec![1, info(1, 0, false), 4, 32];
    for i in 0..levels {
        words.extend([5, info(4, 1, false), 4, 7, i + 1, 0]);
    }
    blob(&words, STRINGS)
}

#[test]
fn nesting_past_the_depth_limit_is_too_deep_whatever_was_laid_out_first() {
    use crate::limits::MAX_TYPE_DEPTH;
    let data = nested_structs(MAX_TYPE_DEPTH as u32 + 10);
    let btf = Btf::parse(&data).unwrap();
    let top = TypeId(MAX_TYPE_DEPTH as u32 + 11);
    let fits = TypeId(MAX_TYPE_DEPTH as u32 + 1);
    // Cold cache, and again after the inner types were laid out and cached:
    // the same answer either way.
    let mut cold = crate::ingest::btf_layout::BtfLayouts::new(&btf);
    let e = cold.layout(top).unwrap_err();
    assert!(
        matches!(e, BtfError::TooDeep { id, limit, .. } if id == top.0 && limit == MAX_TYPE_DEPTH),
        "{e}"
    );
    let mut warm = crate::ingest::btf_layout::BtfLayouts::new(&btf);
    assert!(warm.layout(fits).is_ok());
    assert!(matches!(
        warm.layout(TypeId(fits.0 + 1)),
        Err(BtfError::TooDeep { .. })
    ));
    assert!(matches!(warm.layout(top), Err(BtfError::TooDeep { .. })));
    assert!(e.offset().is_some());
}

#[test]
fn long_typedef_chain_is_too_long_not_a_cycle() {
    use crate::limits::MAX_CHAIN;
    let mut words = vec![1, info(1, 0, false), 4, 32];
    for i in 0..MAX_CHAIN as u32 + 5 {
        words.extend([7, info(8, 0, false), i + 1]);
    }
    let data = blob(&words, STRINGS);
    let btf = Btf::parse(&data).unwrap();
    let engine = crate::ingest::btf_layout::BtfLayouts::new(&btf);
    let last = TypeId(MAX_CHAIN as u32 + 6);
    assert!(matches!(
        engine.resolve(last),
        Err(BtfError::ChainTooLong { limit, .. }) if limit == MAX_CHAIN
    ));
    // Up to the limit is followed.
    assert!(engine.resolve(TypeId(MAX_CHAIN as u32)).is_ok());
}

/// Strings for the DATASEC tests: "" "int" ".bss" "a" "b" "_Bool" at 0, 1, 5, 10, 12, 14.
const SEC_STRINGS: &[u8] = b"\0int\0.bss\0a\0b\0_Bool\0";

/// `.bss` of `int a` at 0 and `_Bool b` at 8 in 9 bytes, its entries
/// listed out of offset order; `placed` false gives clang's unplaced form
/// (size 0, every offset 0).
#[rustfmt::skip]
fn bss(placed: bool) -> Vec<u8> {
    let (size, b_at) = if placed { (9, 8) } else { (0, 0) };
    blob(&[
        // [1] INT "int" size 4, signed, 32 bits
        1, info(1, 0, false), 4, (1 << 24) | 32,
        // [2] INT "_Bool" size 1, bool encoding, 8 bits
        14, info(1, 0, false), 1, (4 << 24) | 8,
        // [3] VAR "a": type 1, linkage global
        10, info(14, 0, false), 1, 1,
        // [4] VAR "b": type 2, linkage global
        12, info(14, 0, false), 2, 1,
        // [5] DATASEC ".bss" size 9, vlen 2: b first, then a
        5, info(15, 2, false), size,
        4, b_at, 1,
        3, 0, 4,
    ], SEC_STRINGS)
}

#[test]
fn datasec_lays_out_its_variables_at_their_offsets_with_holes() {
    use crate::model::decode::{decode_layout, Decoded};
    let data = bss(true);
    let btf = Btf::parse(&data).unwrap();
    let mut engine = crate::ingest::btf_layout::BtfLayouts::new(&btf);
    let l = engine.layout(TypeId(5)).unwrap();
    assert!(l.is_datasec());
    assert_eq!(l.display_name(), "datasec .bss");
    let placed: Vec<(&str, u64, u64)> = l
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.offset, m.size))
        .collect();
    assert_eq!(placed, [("a", 0, 4), ("b", 8, 1)]);
    assert_eq!(
        l.holes,
        vec![crate::model::layout::Hole { offset: 4, size: 4 }]
    );
    assert!(!l.packed);
    assert_eq!(engine.c_type_name(TypeId(5)), "datasec .bss");
    assert_eq!(engine.c_type_name(TypeId(3)), "int");
    let v = decode_layout(&l, &[7, 0, 0, 0, 0xaa, 0, 0, 0, 1]).unwrap();
    assert_eq!(
        v,
        Decoded::Object(vec![(
            ".bss".into(),
            Decoded::Array(vec![
                Decoded::Object(vec![("a".into(), Decoded::Int(7))]),
                Decoded::Object(vec![("b".into(), Decoded::Bool(true))]),
            ])
        )])
    );
}

#[test]
fn error_unplaced_datasec() {
    let data = bss(false);
    let btf = Btf::parse(&data).unwrap();
    let mut engine = crate::ingest::btf_layout::BtfLayouts::new(&btf);
    let e = engine.layout(TypeId(5)).unwrap_err();
    assert!(
        matches!(&e, BtfError::UnplacedDatasec { id: 5, vars: 2, name, .. } if name == ".bss"),
        "{e}"
    );
    // The DATASEC's record: the 24-byte header, then four 16-byte types.
    assert_eq!(e.offset(), Some(24 + 4 * 16));
}

/// A variable placed past the section's end (hostile or inconsistent
/// BTF) is laid out where it says; decoding names it rather than reading
/// out of bounds.
#[test]
fn datasec_variable_past_the_end_is_out_of_bounds_when_decoded() {
    use crate::model::decode::{decode_layout, DecodeError};
    let mut data = bss(true);
    // b's offset (the first entry's second word) moved to 100.
    let at = data.len() - SEC_STRINGS.len() - 6 * 4 + 4;
    data[at..at + 4].copy_from_slice(&100u32.to_le_bytes());
    let btf = Btf::parse(&data).unwrap();
    let mut engine = crate::ingest::btf_layout::BtfLayouts::new(&btf);
    let l = engine.layout(TypeId(5)).unwrap();
    assert_eq!(l.members[1].offset, 100);
    assert!(matches!(
        decode_layout(&l, &[0; 9]),
        Err(DecodeError::OutOfBounds { offset: 100, .. })
    ));
}
