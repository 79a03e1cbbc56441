//! Unit tests of the Go layout engine: gc's rules and every error variant.

use super::*;

fn pkg(src: &str) -> GoPackage {
    GoPackage::parse_source("t.go", src).unwrap()
}

fn offsets(l: &Layout) -> Vec<(String, u64, u64)> {
    l.members
        .iter()
        .map(|m| (m.name.to_string(), m.offset, m.size))
        .collect()
}

fn err(src: &str, ty: &str) -> GoSrcError {
    let p = match GoPackage::parse_source("t.go", src) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut l = GoLayouts::new(&p, GoArch::Amd64);
    l.layout(ty).unwrap_err()
}

#[test]
fn uint64_aligns_to_4_on_32_bit_targets() {
    let p = pkg("package p\ntype S struct {\n\tA int32\n\tB uint64\n}\n");
    let amd = GoLayouts::new(&p, GoArch::Amd64).layout("S").unwrap();
    let arm = GoLayouts::new(&p, GoArch::Arm).layout("S").unwrap();
    assert_eq!(
        (amd.size, amd.natural_align, amd.members[1].offset),
        (16, 8, 8)
    );
    assert_eq!(
        (arm.size, arm.natural_align, arm.members[1].offset),
        (12, 4, 4)
    );
    assert!(!arm.packed);
    assert_eq!(
        arm.members[1].source.as_deref(),
        Some(&SourceLoc {
            file: "t.go".into(),
            line: 4
        })
    );
    assert_eq!(
        arm.source,
        Some(SourceLoc {
            file: "t.go".into(),
            line: 2
        })
    );
}

#[test]
fn trailing_zero_size_field_gets_padding() {
    let p = pkg("package p\ntype F struct{ L uint32; K, N uint16; D [0]byte }\ntype E struct{ D [0]byte }\ntype M struct{ D [0]byte; A uint32 }\n");
    let mut g = GoLayouts::new(&p, GoArch::Amd64);
    assert_eq!(g.layout("F").unwrap().size, 12);
    assert_eq!(g.layout("E").unwrap().size, 0);
    assert_eq!(g.layout("M").unwrap().size, 4);
}

#[test]
fn consts_named_types_embedded_and_anonymous_structs() {
    let src = r#"package p
import (
	"structs"
	"unsafe"
)
// Comment with a type S struct { in it.
const (
	a = iota
	b
	N = b * 0x8
)
type S struct {
	_ structs.HostLayout
	Inner
	X    struct{ A, B Port } `ebpf:"x"`
	Arr  [N][2]Port
	P    *S
	U    unsafe.Pointer
	Str  string
	Sl   []byte
	M    map[string]int
	I    interface{ F() }
	Fn   func(int) (bool, error)
	C64  complex64
}
type Port uint16
type Inner struct{ Z bool }
"#;
    let p = pkg(src);
    let mut g = GoLayouts::new(&p, GoArch::Amd64);
    let l = g.layout("S").unwrap();
    let want: Vec<(String, u64, u64)> = [
        ("_", 0, 0),
        ("Inner", 0, 1),
        ("X", 2, 4),
        ("Arr", 6, 32),
        ("P", 40, 8),
        ("U", 48, 8),
        ("Str", 56, 16),
        ("Sl", 72, 24),
        ("M", 96, 8),
        ("I", 104, 16),
        ("Fn", 120, 8),
        ("C64", 128, 8),
    ]
    .iter()
    .map(|&(n, o, s)| (n.to_string(), o, s))
    .collect();
    assert_eq!(offsets(&l), want);
    assert_eq!(l.size, 136);
    assert_eq!(&*l.members[3].type_name, "[N][2]Port");
    assert_eq!(&*l.members[2].type_name, "struct{...}");
    assert_eq!(
        g.member_tags("S").unwrap()[2].as_deref(),
        Some("ebpf:\"x\"")
    );
    let l386 = GoLayouts::new(&p, GoArch::I386).layout("S").unwrap();
    assert_eq!(l386.size, 92);
}

#[test]
fn be_named_types_are_big_endian() {
    let p = pkg("package p\ntype Be16 uint16\ntype S struct{ P Be16; Q uint16 }\n");
    let l = GoLayouts::new(&p, GoArch::Amd64).layout("S").unwrap();
    assert!(matches!(
        l.members[0].ty,
        FieldType::Int {
            byte_order: ByteOrder::Big,
            ..
        }
    ));
    assert!(matches!(
        l.members[1].ty,
        FieldType::Int {
            byte_order: ByteOrder::Host,
            ..
        }
    ));
}

#[test]
fn error_syntax() {
    let e = err("package p\ntype S struct {\n\tA uint32 +\n}\n", "S");
    assert!(
        matches!(e, GoSrcError::Syntax { ref pos, .. } if pos.line == 3),
        "{e}"
    );
}

#[test]
fn error_generic_type() {
    let e = err("package p\ntype G[T any] struct{ V T }\n", "G");
    assert!(
        matches!(e, GoSrcError::Unsupported { ref pos, .. } if (pos.line, pos.col) == (2, 7)),
        "{e}"
    );
    let e = err(
        "package p\ntype G[T any] struct{ V T }\ntype S struct{ X G[int] }\n",
        "S",
    );
    assert!(
        matches!(e, GoSrcError::Unsupported { ref what, .. } if what.contains("G[int]")),
        "{e}"
    );
}

#[test]
fn error_foreign_type() {
    let e = err(
        "package p\nimport \"sync\"\ntype S struct{ M sync.Mutex }\n",
        "S",
    );
    assert_eq!(e.to_string(), "t.go:3:18: sync.Mutex is a type of another package; only types declared in this package can be laid out");
}

#[test]
fn error_unknown_ident() {
    let e = err("package p\ntype S struct{ M Missing }\n", "S");
    assert!(
        matches!(e, GoSrcError::UnknownIdent { ref name, .. } if name == "Missing"),
        "{e}"
    );
    let e = err("package p\ntype S struct{ M [K]byte }\n", "S");
    assert!(
        matches!(e, GoSrcError::UnknownIdent { ref name, .. } if name == "K"),
        "{e}"
    );
}

#[test]
fn error_bad_array_len() {
    let e = err(
        "package p\nconst K = \"x\"\ntype S struct{ M [K]byte }\n",
        "S",
    );
    assert!(
        matches!(e, GoSrcError::BadArrayLen { ref pos, .. } if pos.line == 2),
        "{e}"
    );
    let e = err("package p\ntype S struct{ M [-1]byte }\n", "S");
    assert!(
        matches!(e, GoSrcError::BadArrayLen { ref text, .. } if text == "-1"),
        "{e}"
    );
    let e = err(
        "package p\nconst A = A + 1\ntype S struct{ M [A]byte }\n",
        "S",
    );
    assert!(matches!(e, GoSrcError::BadArrayLen { .. }), "{e}");
}

#[test]
fn error_recursive_type() {
    let e = err(
        "package p\ntype A struct{ B B }\ntype B struct{ A [1]A }\n",
        "A",
    );
    assert!(
        matches!(e, GoSrcError::RecursiveType { ref name, .. } if name == "A"),
        "{e}"
    );
}

#[test]
fn deep_named_nesting_is_refused_not_overflowed() {
    let mut src = String::from("package p\ntype T0 struct{ A uint8 }\n");
    for i in 1..200 {
        src.push_str(&format!("type T{i} struct{{ X T{} }}\n", i - 1));
    }
    let e = err(&src, "T199");
    assert!(
        matches!(e, GoSrcError::Unsupported { ref what, .. } if what.contains("named types")),
        "{e}"
    );
    assert_eq!(
        GoLayouts::new(&pkg(&src), GoArch::Amd64)
            .layout("T60")
            .unwrap()
            .size,
        1
    );
}

#[test]
fn error_redeclared_and_mixed_packages() {
    let e = err("package p\ntype A struct{}\ntype A struct{}\n", "A");
    assert!(
        matches!(e, GoSrcError::Redeclared { ref first, .. } if first.line == 2),
        "{e}"
    );
    let a = parse::parse_file("a.go", "package a\n").unwrap();
    let b = parse::parse_file("b.go", "package b\n").unwrap();
    let e = GoPackage::from_files(vec![a, b]).unwrap_err();
    assert!(matches!(e, GoSrcError::MixedPackages { .. }), "{e}");
}

#[test]
fn error_no_such_type_and_not_a_struct() {
    assert!(matches!(
        err("package p\n", "S"),
        GoSrcError::NoSuchType { .. }
    ));
    let e = err("package p\ntype P uint16\n", "P");
    assert!(matches!(e, GoSrcError::NotAStruct { .. }), "{e}");
}

#[test]
fn error_size_overflow() {
    let e = err(
        "package p\ntype S struct{ M [1 << 62][1 << 62]byte }\n",
        "S",
    );
    assert!(matches!(e, GoSrcError::SizeOverflow { .. }), "{e}");
}

#[test]
fn error_io_and_no_go_files() {
    let e = GoPackage::load(Path::new("/nonexistent/bpfcase"), GoArch::Amd64).unwrap_err();
    assert!(matches!(e, GoSrcError::Io { .. }), "{e}");
    let dir = std::env::temp_dir().join(format!("bpfcase-gosrc-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("x_test.go"), "package p\n").unwrap();
    let e = GoPackage::load(&dir, GoArch::Amd64).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(e, GoSrcError::NoGoFiles { .. }), "{e}");
}

#[test]
fn garbage_and_truncated_sources_never_panic() {
    let src = include_str!("../../../corpora/go/types.go");
    let mut cut = 0;
    while cut < src.len() {
        if src.is_char_boundary(cut) {
            if let Ok(p) = GoPackage::parse_source("t.go", &src[..cut]) {
                let mut g = GoLayouts::new(&p, GoArch::I386);
                for n in p.struct_names() {
                    let _ = g.layout(n);
                }
            }
        }
        cut += 7;
    }
    let garbage = [
        "",
        "package",
        "package p\ntype",
        "package p\ntype S struct {",
        "package p\ntype S [",
        "package p\nconst (",
        "package p\ntype S struct { A [",
        "\u{0}\u{ff}",
        "package p\ntype S struct { A [((((((((((((((((((((((((((((((((((1]byte }",
        "package p\nfunc f() {",
        "package p\nimport (\"x\"",
        "package p\ntype S map[",
    ];
    for g in garbage {
        let _ = GoPackage::parse_source("g.go", g).map(|p| {
            let names: Vec<String> = p.struct_names().iter().map(|s| s.to_string()).collect();
            let mut l = GoLayouts::new(&p, GoArch::Amd64);
            for n in names {
                let _ = l.layout(&n);
            }
        });
    }
    let deep = format!("package p\ntype S {}byte\n", "[1]".repeat(10_000));
    assert!(matches!(
        GoPackage::parse_source("d.go", &deep).unwrap_err(),
        GoSrcError::Unsupported { .. }
    ));
}

#[test]
fn embedded_generic_instantiation_is_unsupported_but_array_field_is_not() {
    let e = err(
        "package p\ntype G[T any] struct{ V T }\ntype S struct{\n\tA uint8\n\tG[uint32]\n}\n",
        "S",
    );
    assert!(
        matches!(e, GoSrcError::Unsupported { ref what, ref pos } if what.contains("G[uint32]") && pos.line == 5),
        "{e}"
    );
    let p = pkg("package p\nconst N = 2\ntype S struct{\n\tG [N]uint32\n}\n");
    assert_eq!(
        GoLayouts::new(&p, GoArch::Amd64).layout("S").unwrap().size,
        8
    );
}
