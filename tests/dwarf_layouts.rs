//! DWARF layouts against what real compilers laid out.
//!
//! Ground truth is what each compiled corpus program printed about itself
//! (`offsetof`/`sizeof`, Go `unsafe.Offsetof`, Rust `offset_of!`), in
//! corpora/{c,go,rust}/offsets.*.json; for Go arm, which cannot run here,
//! the binutils `readelf` dump in corpora/go/offsets.arm.dwarf.txt (a peer
//! DWARF reader). Then: the C program rebuilt with gcc and clang, DWARF 4
//! and 5, 64- and 32-bit, each run for its own truth; a split debug file
//! made with objcopy/strip; and pahole on the C binary as a differential
//! peer for offsets, sizes, holes and padding.

use std::path::{Path, PathBuf};
use std::process::Command;

use bpfcase::ingest::dwarf::{DebugSearch, DwarfError, DwarfFile};
use bpfcase::model::layout::{FieldType, Layout};
use serde_json::Value;

fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpora")
        .join(rel)
}

/// Whether `tool` can run. In CI a missing tool fails the test; elsewhere
/// the test is skipped with a message.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required for this test in CI but is not installed"
        );
        eprintln!("skipping: {tool} is not installed");
    }
    ok
}

/// A member flattened the way the printers see it: anonymous struct/union
/// members are replaced by their members (C `addr_rec.v4`, `v6`).
#[derive(Debug, PartialEq)]
struct Flat {
    name: String,
    offset: u64,
    size: u64,
    bit: Option<(u64, u32)>,
    type_name: String,
}

fn flatten(layout: &Layout, base: u64, out: &mut Vec<Flat>) {
    for m in &layout.members {
        if m.name.is_empty() {
            if let FieldType::Aggregate(inner) = &m.ty {
                flatten(inner, base + m.offset, out);
                continue;
            }
        }
        out.push(Flat {
            name: m.name.to_string(),
            offset: base + m.offset,
            size: m.size,
            bit: m.bit_size.map(|w| (base * 8 + m.bit_offset, w)),
            type_name: m.type_name.to_string(),
        });
    }
}

/// Compares every struct of a printer's JSON with our DWARF layout of the
/// same binary; returns (structs, fields) compared.
fn compare_json(bin: &Path, json: &Value, qualify: &dyn Fn(&str) -> String) -> (usize, usize) {
    let data = std::fs::read(bin).unwrap();
    let dwarf = DwarfFile::load(bin, &data).unwrap();
    let (mut structs, mut fields) = (0, 0);
    for s in json["structs"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        let layout = dwarf
            .layout(&qualify(name))
            .unwrap_or_else(|e| panic!("{}: {name}: {e}", bin.display()))
            .unwrap_or_else(|| panic!("{}: {name} not found", bin.display()));
        let ctx = format!("{} {name}", bin.display());
        assert_eq!(layout.size, s["size"].as_u64().unwrap(), "{ctx}: size");
        let mut flat = Vec::new();
        flatten(&layout, 0, &mut flat);
        let want = s["fields"].as_array().unwrap();
        assert_eq!(
            flat.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            want.iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect::<Vec<_>>(),
            "{ctx}: field names"
        );
        for (got, want) in flat.iter().zip(want) {
            let ctx = format!("{ctx}.{}", got.name);
            if let Some(bit) = want.get("bit_offset") {
                let (off, width) = got.bit.unwrap_or_else(|| panic!("{ctx}: not a bitfield"));
                assert_eq!(off, bit.as_u64().unwrap(), "{ctx}: bit offset");
                assert_eq!(
                    width as u64,
                    want["bit_size"].as_u64().unwrap(),
                    "{ctx}: bits"
                );
            } else {
                assert_eq!(got.bit, None, "{ctx}: unexpected bitfield");
                assert_eq!(
                    got.offset,
                    want["offset"].as_u64().unwrap(),
                    "{ctx}: offset"
                );
                assert_eq!(got.size, want["size"].as_u64().unwrap(), "{ctx}: size");
            }
            if let Some(t) = want.get("type") {
                assert_eq!(got.type_name, t.as_str().unwrap(), "{ctx}: type name");
            }
            fields += 1;
        }
        structs += 1;
    }
    (structs, fields)
}

fn load_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Turns a printer's type name into the DWARF name (`FlowKey` → `main.FlowKey`).
type Qualify = dyn Fn(&str) -> String;

#[test]
fn corpus_binaries_match_what_the_programs_printed() {
    let c = |n: &str| n.to_string();
    let go = |n: &str| format!("main.{n}");
    let rust = |n: &str| format!("layouts::{n}");
    let cases: [(&str, &str, &Qualify, usize, usize); 5] = [
        ("c/layouts.x86_64", "c/offsets.x86_64.json", &c, 24, 102),
        ("c/layouts.i386", "c/offsets.i386.json", &c, 24, 102),
        (
            "rust/layouts.x86_64",
            "rust/offsets.x86_64.json",
            &rust,
            22,
            97,
        ),
        ("go/layouts.amd64", "go/offsets.amd64.json", &go, 24, 105),
        ("go/layouts.386", "go/offsets.386.json", &go, 24, 105),
    ];
    for (bin, json, qualify, min_structs, min_fields) in cases {
        let (s, f) = compare_json(&corpus(bin), &load_json(&corpus(json)), qualify);
        eprintln!("{bin}: {s} structs, {f} fields compared with {json}");
        assert!(
            s >= min_structs && f >= min_fields,
            "{bin}: only {s}/{f} compared"
        );
    }
}

#[test]
fn go_arm_matches_readelf_dump() {
    let text = std::fs::read_to_string(corpus("go/offsets.arm.dwarf.txt")).unwrap();
    let bin = corpus("go/layouts.arm");
    let data = std::fs::read(&bin).unwrap();
    let dwarf = DwarfFile::load(&bin, &data).unwrap();
    let (mut structs, mut fields) = (0, 0);
    let mut current: Option<(Layout, usize)> = None;
    let finish = |cur: Option<(Layout, usize)>| {
        if let Some((l, seen)) = cur {
            assert_eq!(seen, l.members.len(), "{}: member count", l.name);
        }
    };
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["struct", name, "size", size] => {
                finish(current.take());
                let l = dwarf.layout(name).unwrap().expect(name);
                assert_eq!(l.size, size.parse::<u64>().unwrap(), "{name}: size");
                structs += 1;
                current = Some((l, 0));
            }
            ["member", name, "off", off] => {
                let (l, seen) = current.as_mut().unwrap();
                let m = &l.members[*seen];
                assert_eq!(&m.name, name, "{}: member {seen}", l.name);
                assert_eq!(m.offset, off.parse::<u64>().unwrap(), "{}.{name}", l.name);
                *seen += 1;
                fields += 1;
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
    finish(current);
    eprintln!("go/layouts.arm: {structs} structs, {fields} fields compared with readelf");
    assert!(
        structs >= 27 && fields >= 120,
        "only {structs}/{fields} compared"
    );
}

#[test]
fn bare_and_qualified_names_and_source_locations() {
    let bin = corpus("go/layouts.amd64");
    let data = std::fs::read(&bin).unwrap();
    let go = DwarfFile::load(&bin, &data).unwrap();
    let bare = go.layout("FlowKey").unwrap().unwrap();
    assert_eq!(bare.name, "main.FlowKey");
    assert_eq!(bare, go.layout("main.FlowKey").unwrap().unwrap());
    assert!(go.layout("NoSuchType").unwrap().is_none());
    assert!(go
        .struct_names()
        .unwrap()
        .iter()
        .any(|n| n == "main.FlowKeyBE"));

    let bin = corpus("c/layouts.x86_64");
    let data = std::fs::read(&bin).unwrap();
    let c = DwarfFile::load(&bin, &data).unwrap();
    let l = c.layout("flow_key_be").unwrap().unwrap();
    let src = l.source.as_ref().expect("gcc writes decl_file/decl_line");
    assert!(src.file.ends_with("layouts.c") && src.line > 0, "{src:?}");
    let sport = &l.members[2];
    assert_eq!(
        (sport.name.as_str(), &*sport.type_name),
        ("sport", "__be16")
    );
    assert!(matches!(
        sport.ty,
        FieldType::Int {
            byte_order: bpfcase::model::layout::ByteOrder::Big,
            size: 2,
            ..
        }
    ));
    assert_eq!(&*l.members[0].type_name, "__be32");
    assert!(sport.source.is_some());
    // A typedef of a struct resolves to the struct.
    let arrays = c.layout("arrays").unwrap().unwrap();
    assert_eq!(&*arrays.members[2].type_name, "__u16[3][4]");
    assert_eq!(&*arrays.members[0].type_name, "char[16]");
}

/// Builds corpora/c/layouts.c with `cc flags`, runs it for the truth, and
/// compares our DWARF reading of the result.
fn build_and_compare(dir: &Path, cc: &str, flags: &[&str]) -> (usize, usize) {
    let out = dir.join(format!("layouts-{cc}{}", flags.join("")));
    let status = Command::new(cc)
        .args(flags)
        .args(["-O0", "-o"])
        .arg(&out)
        .arg(corpus("c/layouts.c"))
        .status()
        .unwrap();
    assert!(status.success(), "{cc} {flags:?} failed");
    let run = Command::new(&out).output().unwrap();
    assert!(run.status.success());
    let json: Value = serde_json::from_slice(&run.stdout).unwrap();
    compare_json(&out, &json, &|n| n.to_string())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfcase-dwarf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn gcc_and_clang_dwarf4_and_dwarf5_64_and_32_bit() {
    let dir = temp_dir("cc");
    let mut total = 0;
    for cc in ["gcc", "clang"] {
        if !have(cc) {
            continue;
        }
        for version in ["-gdwarf-4", "-gdwarf-5"] {
            for bits in ["-m64", "-m32"] {
                // clang drops types only sizeof/offsetof use unless told not to.
                let keep = if cc == "clang" {
                    "-fno-eliminate-unused-debug-types"
                } else {
                    "-g"
                };
                let (s, f) = build_and_compare(&dir, cc, &[version, bits, keep]);
                eprintln!("{cc} {version} {bits}: {s} structs, {f} fields");
                assert!(s >= 24 && f >= 102);
                total += 1;
            }
        }
    }
    if have("gcc") {
        // gcc -gdwarf-2 writes bitfields as DW_AT_bit_offset from the MSB.
        build_and_compare(&dir, "gcc", &["-gdwarf-2", "-gstrict-dwarf"]);
        // Type units (.debug_types in DWARF 4, DW_UT_type in DWARF 5),
        // referenced with DW_FORM_ref_sig8.
        build_and_compare(&dir, "gcc", &["-gdwarf-4", "-fdebug-types-section"]);
        build_and_compare(&dir, "gcc", &["-gdwarf-5", "-fdebug-types-section"]);
        total += 3;
    }
    eprintln!("{total} builds compared");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compressed_debug_sections_keep_source_locations() {
    if !have("gcc") {
        return;
    }
    let dir = temp_dir("gz");
    // -gz=zlib compresses .debug_line too: read lazily for decl_file names.
    build_and_compare(&dir, "gcc", &["-g", "-gz=zlib"]);
    let bin = dir.join("layouts-gcc-g-gz=zlib");
    let data = std::fs::read(&bin).unwrap();
    let object = object::File::parse(&data[..]).unwrap();
    use object::{Object, ObjectSection};
    let line = object.section_by_name(".debug_line").unwrap();
    assert_ne!(
        line.compressed_data().unwrap().format,
        object::CompressionFormat::None
    );
    let l = DwarfFile::load(&bin, &data)
        .unwrap()
        .layout("bits")
        .unwrap()
        .unwrap();
    let src = l.members[0].source.as_ref().expect("member decl_file");
    assert!(src.file.ends_with("layouts.c"), "{src:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn split_debug_file_by_build_id_and_debuglink() {
    if !have("gcc") || !have("objcopy") || !have("strip") {
        return;
    }
    let dir = temp_dir("split");
    let bin = dir.join("layouts");
    let run = |cmd: &mut Command| assert!(cmd.status().unwrap().success(), "{cmd:?}");
    run(Command::new("gcc")
        .args(["-g", "-O0", "-Wl,--build-id", "-o"])
        .arg(&bin)
        .arg(corpus("c/layouts.c")));
    let dbg = dir.join("layouts.debug");
    run(Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(&bin)
        .arg(&dbg));
    run(Command::new("strip").arg("--strip-debug").arg(&bin));
    run(Command::new("objcopy")
        .arg(format!("--add-gnu-debuglink={}", dbg.display()))
        .arg(&bin));
    let data = std::fs::read(&bin).unwrap();

    // .gnu_debuglink: the debug file next to the binary (default search).
    let f = DwarfFile::load(&bin, &data).unwrap();
    assert_eq!(f.debug_path(), dbg);
    let l = f.layout("flow_key").unwrap().unwrap();
    assert_eq!((l.size, l.members[3].offset), (16, 12));

    // Build-id: DIR/.build-id/xx/rest.debug in a --debug-dir.
    let id = {
        let obj = object::File::parse(&data[..]).unwrap();
        use object::Object;
        obj.build_id().unwrap().expect("gcc --build-id").to_vec()
    };
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let store = dir.join("store");
    let by_id = store.join(".build-id").join(&hex[..2]);
    std::fs::create_dir_all(&by_id).unwrap();
    let moved = by_id.join(format!("{}.debug", &hex[2..]));
    std::fs::rename(&dbg, &moved).unwrap();
    let f = DwarfFile::load_with(&bin, &data, &DebugSearch::in_dir(&store)).unwrap();
    assert_eq!(f.debug_path(), moved);
    assert_eq!(f.layout("policy").unwrap().unwrap().size, 24);

    // The same search from `analyze --debug-dir`: the stripped binary's types
    // are found through the store and checked against the BPF side.
    let out = Command::new(env!("CARGO_BIN_EXE_bpfcase"))
        .arg("analyze")
        .arg(corpus("bpf/flows.bpf.o"))
        .arg(&bin)
        .arg("--debug-dir")
        .arg(&store)
        .args(["--map", "flows", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = report["checks"].as_array().unwrap();
    assert!(
        checks.iter().any(|c| c["user_type"] == "flow_key"
            && c["verdict"] == "match"
            && c["user_origin"].as_str().unwrap().contains(".build-id")),
        "{checks:#?}"
    );

    // Wrong files where we look are refused, and said so: another binary
    // under the build-id path, garbage under the debuglink name.
    let wrong = store.join("wrong");
    let wrong_id = wrong.join(".build-id").join(&hex[..2]);
    std::fs::create_dir_all(&wrong_id).unwrap();
    std::fs::copy(
        corpus("c/layouts.x86_64"),
        wrong_id.join(format!("{}.debug", &hex[2..])),
    )
    .unwrap();
    std::fs::write(wrong.join("layouts.debug"), b"not the debug file").unwrap();
    match DwarfFile::load_with(&bin, &data, &DebugSearch::in_dir(&wrong)) {
        Err(DwarfError::NoDebugInfo { searched }) => {
            assert!(searched[0].ends_with("(build-id mismatch)"), "{searched:?}");
            assert!(searched[1].ends_with("(CRC mismatch)"), "{searched:?}");
        }
        other => panic!("expected NoDebugInfo, got {other:?}"),
    }

    // Nothing where we look: a typed error naming the places searched.
    match DwarfFile::load_with(&bin, &data, &DebugSearch::in_dir(dir.join("empty"))) {
        Err(DwarfError::NoDebugInfo { searched }) => {
            assert!(
                searched.iter().any(|s| s.contains(".build-id")),
                "{searched:?}"
            )
        }
        other => panic!("expected NoDebugInfo, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// What pahole prints for one struct: top-level members (name, type,
/// offset, size, bitfield), holes in order, padding, packed.
#[derive(Debug, Default, PartialEq)]
struct PaholeStruct {
    size: u64,
    members: Vec<(String, String, u64, u64, Option<u64>)>,
    holes: Vec<u64>,
    bit_holes: Vec<u64>,
    padding: u64,
    packed: bool,
}

fn parse_pahole(text: &str) -> PaholeStruct {
    let mut s = PaholeStruct::default();
    let num = |t: &str| t.trim().parse::<u64>().unwrap();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix('\t') else {
            s.packed |= line.starts_with('}') && line.contains("__packed__");
            continue;
        };
        let comment = rest
            .split("/*")
            .nth(1)
            .map(|c| c.trim_end_matches("*/").trim());
        if rest.starts_with('\t') {
            continue; // inside a nested anonymous aggregate
        }
        let Some(comment) = comment else { continue };
        if let Some(h) = comment.strip_prefix("XXX ") {
            let n = num(h.split_whitespace().next().unwrap());
            if h.contains("bytes hole") {
                s.holes.push(n);
            } else if h.contains("bits hole") {
                s.bit_holes.push(n);
            }
        } else if let Some(v) = comment.strip_prefix("size: ") {
            s.size = num(v.split(',').next().unwrap());
        } else if let Some(v) = comment.strip_prefix("padding: ") {
            s.padding = num(v);
        } else if let Some(decl) = rest.split("/*").next().filter(|d| d.contains(';')) {
            let decl = decl.trim().trim_end_matches(';');
            let decl = decl.split(" __attribute__").next().unwrap();
            let (ty, name) = if decl == "}" {
                (String::new(), String::new())
            } else {
                let (ty, name) = decl.rsplit_once(char::is_whitespace).unwrap();
                (ty.trim().to_string(), name.to_string())
            };
            let (name, bits) = match name.split_once(':') {
                Some((n, w)) => (n.to_string(), Some(num(w))),
                None => (name, None),
            };
            let name = name.split('[').next().unwrap().to_string();
            let (off, size) = match comment.split_once(':') {
                Some((o, rest)) => (num(o), num(rest.split_whitespace().nth(1).unwrap())),
                None => {
                    let mut w = comment.split_whitespace();
                    (num(w.next().unwrap()), num(w.next().unwrap()))
                }
            };
            s.members.push((name, ty, off, size, bits));
        }
    }
    s
}

#[test]
fn c_layouts_agree_with_pahole() {
    if !have("pahole") {
        return;
    }
    let mut compared = 0;
    for bin in ["c/layouts.x86_64", "c/layouts.i386"] {
        let bin = corpus(bin);
        let data = std::fs::read(&bin).unwrap();
        let dwarf = DwarfFile::load(&bin, &data).unwrap();
        for name in [
            "flow_key",
            "flow_key_be",
            "flow_value",
            "cpu_stat",
            "proc_key",
            "policy",
            "bits",
            "addr_rec",
            "packed_hdr",
            "arrays",
            "misc",
            "fam",
            "task_comm",
            "policy_aligned",
            "packed_hdr_natural",
            "fam_one",
            "bits_swapped",
        ] {
            let out = Command::new("pahole")
                .args(["-C", name])
                .arg(&bin)
                .output()
                .unwrap();
            assert!(out.status.success(), "pahole -C {name}");
            let want = parse_pahole(&String::from_utf8(out.stdout).unwrap());
            let l = dwarf.layout(name).unwrap().unwrap();
            let ctx = format!("{} {name}", bin.display());
            assert!(!want.members.is_empty(), "{ctx}: pahole printed no members");
            let got = PaholeStruct {
                size: l.size,
                members: l
                    .members
                    .iter()
                    .map(|m| {
                        let array = matches!(m.ty, FieldType::Array { .. });
                        let ty = if m.name.is_empty() || array {
                            // pahole prints `__u8 v6[16]` and `union { ... }`.
                            want.members
                                .iter()
                                .find(|w| w.0 == m.name)
                                .map(|w| w.1.clone())
                                .unwrap_or_default()
                        } else {
                            m.type_name.to_string()
                        };
                        (
                            m.name.to_string(),
                            ty,
                            m.offset,
                            m.size,
                            m.bit_size.map(u64::from),
                        )
                    })
                    .collect(),
                holes: l.holes.iter().map(|h| h.size).collect(),
                bit_holes: l.bit_holes.iter().map(|h| h.bits).collect(),
                padding: l.padding,
                packed: l.packed,
            };
            assert_eq!(got, want, "{ctx}");
            compared += 1;
        }
    }
    eprintln!("{compared} C structs agree with pahole");
    assert!(compared >= 34);
}

#[test]
fn field_types_pointers_enums_and_bools() {
    use bpfcase::model::layout::IntEncoding;
    // Go 386: a slice header is {*T, int, int}, pointers 4 bytes (the unit's address size).
    let bin = corpus("go/layouts.386");
    let data = std::fs::read(&bin).unwrap();
    let go = DwarfFile::load(&bin, &data).unwrap();
    let s = go.layout("main.structOut").unwrap().unwrap();
    let fields = s.members.iter().find(|m| m.name == "Fields").unwrap();
    assert_eq!(&*fields.type_name, "[]main.fieldOut");
    let FieldType::Aggregate(slice) = &fields.ty else {
        panic!("{:?}", fields.ty)
    };
    assert!(matches!(
        slice.members[0].ty,
        FieldType::Pointer { size: 4 }
    ));
    assert_eq!(slice.size, 12);

    // C: signed enum with a negative value, 64-bit unsigned enum, _Bool, char.
    let bin = corpus("c/layouts.x86_64");
    let data = std::fs::read(&bin).unwrap();
    let c = DwarfFile::load(&bin, &data).unwrap();
    let policy = c.layout("policy").unwrap().unwrap();
    let FieldType::Enum(verdict) = &policy.members[0].ty else {
        panic!()
    };
    assert!(verdict.signed);
    assert!(verdict.values.contains(&("VERDICT_UNKNOWN".into(), -1)));
    let FieldType::Enum(flags) = &policy.members[1].ty else {
        panic!()
    };
    assert_eq!(flags.size, 8);
    assert!(flags
        .values
        .contains(&("BIG_TOP".into(), 0x8000_0000_0000_0000)));
    assert!(matches!(
        policy.members[4].ty,
        FieldType::Int {
            encoding: IntEncoding::Bool,
            size: 1,
            ..
        }
    ));
    let proc_key = c.layout("proc_key").unwrap().unwrap();
    let FieldType::Array { elem, len: 16 } = &proc_key.members[1].ty else {
        panic!()
    };
    assert!(matches!(
        **elem,
        FieldType::Int {
            encoding: IntEncoding::Char,
            signed: true,
            ..
        }
    ));
}

/// `bpfcase schema --dwarf` on the Go binary says what `--go-src` says about
/// the source it was built from (offsets, sizes, types), for every mirror.
#[test]
fn schema_from_dwarf_matches_schema_from_go_source() {
    let schema = |args: &[&str]| -> serde_yaml::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_bpfcase"))
            .arg("schema")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "schema {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_yaml::from_slice(&out.stdout).unwrap()
    };
    let strip = |v: &serde_yaml::Value| -> Vec<String> {
        let mut out = vec![format!("{:?} {:?}", v["size"], v["align"])];
        for f in v["fields"].as_sequence().unwrap() {
            out.push(format!(
                "{:?} {:?} {:?} {:?}",
                f["name"], f["offset"], f["size"], f["type"]
            ));
        }
        out
    };
    let json = load_json(&corpus("go/offsets.amd64.json"));
    let mut compared = 0;
    for s in json["structs"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        let from_dwarf = schema(&["--dwarf", "corpora/go/layouts.amd64", "--type", name]);
        let from_src = schema(&["--go-src", "corpora/go", "--type", name]);
        assert_eq!(from_dwarf["name"].as_str(), Some(&*format!("main.{name}")));
        assert_eq!(strip(&from_dwarf), strip(&from_src), "{name}");
        compared += 1;
    }
    assert_eq!(compared, 24);

    // Errors name the file: an ambiguous bare name, a missing type with hints.
    let out = Command::new(env!("CARGO_BIN_EXE_bpfcase"))
        .args([
            "schema",
            "--dwarf",
            "corpora/c/layouts.x86_64",
            "--type",
            "flowkey",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corpora/c/layouts.x86_64"), "{err}");
    assert!(err.contains("flow_key"), "{err}");
}
