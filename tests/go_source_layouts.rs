//! Go source layouts against what the Go compiler itself laid out: the corpus
//! mirrors (`corpora/go/types.go`, `main.go`) against `offsets.amd64.json`,
//! `offsets.386.json` (printed by the compiled program) and the arm binary's
//! DWARF (`offsets.arm.dwarf.txt`); and a fresh Go program with trickier
//! structs, compiled and run here, against its own `unsafe.Offsetof` output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bpfcase::ingest::gosrc::{GoArch, GoLayouts, GoPackage};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/go")
}

/// Type name → (size, [(field, offset, Option<size>)]).
type Truth = BTreeMap<String, (u64, Vec<(String, u64, Option<u64>)>)>;

fn truth_from_json(path: &Path) -> Truth {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    truth_from_structs(&v["structs"])
}

/// A `structs` array of an offsets JSON.
fn truth_from_structs(structs: &serde_json::Value) -> Truth {
    let mut out = Truth::new();
    for s in structs.as_array().unwrap() {
        let fields = s["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_string(),
                    f["offset"].as_u64().unwrap(),
                    Some(f["size"].as_u64().unwrap()),
                )
            })
            .collect();
        out.insert(
            s["name"].as_str().unwrap().to_string(),
            (s["size"].as_u64().unwrap(), fields),
        );
    }
    out
}

/// `struct main.X size N` / `  member F off N` lines (sizes of members are not in it).
fn truth_from_dwarf_txt(path: &Path) -> Truth {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Truth::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["struct", name, "size", n] => {
                let name = name.strip_prefix("main.").unwrap().to_string();
                out.insert(name.clone(), (n.parse().unwrap(), Vec::new()));
                cur = Some(name);
            }
            ["member", f, "off", n] => {
                let c = cur.as_ref().unwrap();
                out.get_mut(c)
                    .unwrap()
                    .1
                    .push((f.to_string(), n.parse().unwrap(), None));
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
    out
}

/// Compares every type of `truth` with our layout; returns (types, fields) compared.
fn compare(pkg: &GoPackage, arch: GoArch, truth: &Truth) -> (usize, usize) {
    let mut engine = GoLayouts::new(pkg, arch);
    let mut fields = 0;
    for (name, (size, want)) in truth {
        let l = engine
            .layout(name)
            .unwrap_or_else(|e| panic!("{name} on {}: {e}", arch.as_str()));
        assert_eq!(l.size, *size, "{name} size on {}", arch.as_str());
        assert_eq!(l.members.len(), want.len(), "{name} member count");
        for (m, (fname, off, fsize)) in l.members.iter().zip(want) {
            assert_eq!(&m.name, fname, "{name} member order");
            assert_eq!(m.offset, *off, "{name}.{fname} offset on {}", arch.as_str());
            if let Some(s) = fsize {
                assert_eq!(m.size, *s, "{name}.{fname} size on {}", arch.as_str());
            }
            let src = m.source.as_ref().expect("every member has a source line");
            assert!(src.file.ends_with(".go") && src.line > 0);
            fields += 1;
        }
    }
    (truth.len(), fields)
}

#[test]
fn corpus_mirrors_match_the_go_compiler_on_every_goarch() {
    let runs = [
        (
            GoArch::Amd64,
            truth_from_json(&corpus().join("offsets.amd64.json")),
            24,
        ),
        // arm64 has amd64's word size and 64-bit alignment.
        (
            GoArch::Arm64,
            truth_from_json(&corpus().join("offsets.amd64.json")),
            24,
        ),
        (
            GoArch::I386,
            truth_from_json(&corpus().join("offsets.386.json")),
            24,
        ),
        // Also main.go's own printer structs (strings, slices, uintptr, int).
        (
            GoArch::Arm,
            truth_from_dwarf_txt(&corpus().join("offsets.arm.dwarf.txt")),
            27,
        ),
    ];
    for (arch, truth, expected_types) in runs {
        let pkg = GoPackage::load(&corpus(), arch).unwrap();
        let (types, fields) = compare(&pkg, arch, &truth);
        eprintln!(
            "go source layouts, {}: {types} types, {fields} fields equal to the compiler's",
            arch.as_str()
        );
        assert!(
            types >= expected_types,
            "{}: only {types} types compared",
            arch.as_str()
        );
        assert!(
            fields >= 100,
            "{}: only {fields} fields compared",
            arch.as_str()
        );
    }
}

#[test]
fn single_file_mode_reads_types_go_alone() {
    let pkg = GoPackage::load(&corpus().join("types.go"), GoArch::Amd64).unwrap();
    let mut engine = GoLayouts::new(&pkg, GoArch::Amd64);
    let l = engine.layout("FamZeroArray").unwrap();
    assert_eq!(l.size, 12);
    let src = l.source.as_ref().unwrap();
    assert!(src.file.ends_with("corpora/go/types.go"));
    let text = std::fs::read_to_string(corpus().join("types.go")).unwrap();
    let line = text.lines().nth(src.line as usize - 1).unwrap();
    assert_eq!(line, "type FamZeroArray struct {");
    let data = &l.members[3];
    let line = text
        .lines()
        .nth(data.source.as_ref().unwrap().line as usize - 1)
        .unwrap();
    assert!(line.trim_start().starts_with("Data [0]byte"), "{line}");
}

/// Structs the corpus does not have: embedded structs, named types, consts in
/// array lengths, anonymous structs, runtime types, trailing zero-size fields.
const TRICKY_TYPES: &str = r#"package main

import "unsafe"

// Lengths from constants, including a typed const and iota.
const (
	CommLen        = 16
	Slots   uint32 = 2 * 3
	_              = iota
	Three
)

const Hex = 0x0A

type Port uint16

type Addr [4]byte

type Inner struct {
	Flag bool
	V    uint64
}

type Embeds struct {
	A uint8
	Inner
	B     Port
	*Next `ebpf:"next"`
}

type Next struct{ X int }

type Arrays struct {
	Comm  [CommLen]byte
	S     [Slots]Port
	T     [Three][Hex]int16
	Addrs [2]Addr
	In    [2]Inner
	Neg   [CommLen - 10]uint32
}

type Runtime struct {
	Name string
	Tags []string
	M    map[uint32]string
	I    interface{}
	E    error
	F    func() int
	C    chan int
	P    unsafe.Pointer
	U    uintptr
	N    int
}

type Anon struct {
	Hdr struct {
		Ver, Flags uint8
		Len        uint32
	}
	Body   [3]struct{ A uint16; B uint64 }
	C128   complex128
	F32    float32
	Marker [0]uint64
}

type Tail struct {
	A uint32
	_ [0]func()
}
"#;

const TRICKY_NAMES: &[&str] = &["Embeds", "Inner", "Arrays", "Runtime", "Anon", "Tail"];

fn tricky_main() -> String {
    let mut m = String::from(
        "package main\n\nimport (\n\t\"fmt\"\n\t\"reflect\"\n)\n\nfunc show(v interface{}) {\n\tt := reflect.TypeOf(v)\n\tfmt.Printf(\"struct %s %d\\n\", t.Name(), t.Size())\n\tfor i := 0; i < t.NumField(); i++ {\n\t\tf := t.Field(i)\n\t\tfmt.Printf(\"field %s %d %d\\n\", f.Name, f.Offset, f.Type.Size())\n\t}\n}\n\nfunc main() {\n",
    );
    for n in TRICKY_NAMES {
        m.push_str(&format!("\tshow({n}{{}})\n"));
    }
    m.push_str("}\n");
    m
}

fn parse_printed(out: &str) -> Truth {
    let mut t = Truth::new();
    let mut cur = String::new();
    for line in out.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["struct", name, size] => {
                cur = name.to_string();
                t.insert(cur.clone(), (size.parse().unwrap(), Vec::new()));
            }
            ["field", name, off, size] => t.get_mut(&cur).unwrap().1.push((
                name.to_string(),
                off.parse().unwrap(),
                Some(size.parse().unwrap()),
            )),
            _ => panic!("unexpected output line {line:?}"),
        }
    }
    t
}

fn go_available() -> bool {
    match Command::new("go").arg("version").output() {
        Ok(o) if o.status.success() => true,
        _ => {
            let msg = "the `go` tool is needed to compile the Go layout test program";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg} (CI=true): install golang-go");
            }
            eprintln!("SKIP: {msg}; it is not installed");
            false
        }
    }
}

#[test]
fn fresh_go_program_matches_our_layouts() {
    if !go_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("bpfcase-go-layouts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("cache")).unwrap();
    std::fs::write(dir.join("go.mod"), "module layouts\n\ngo 1.19\n").unwrap();
    std::fs::write(dir.join("types.go"), TRICKY_TYPES).unwrap();
    std::fs::write(dir.join("main.go"), tricky_main()).unwrap();

    let pkg = GoPackage::load(&dir, GoArch::Amd64).unwrap();
    // Both the native target and 386 (the kernel runs i386 binaries).
    for (goarch, arch) in [("amd64", GoArch::Amd64), ("386", GoArch::I386)] {
        let out = Command::new("go")
            .args(["run", "."])
            .current_dir(&dir)
            .env("GOARCH", goarch)
            .env("GOOS", "linux")
            .env("CGO_ENABLED", "0")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("GO111MODULE", "on")
            .env("GOCACHE", dir.join("cache"))
            .env("GOPATH", dir.join("gopath"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "go run (GOARCH={goarch}) failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let truth = parse_printed(&String::from_utf8(out.stdout).unwrap());
        assert_eq!(truth.len(), TRICKY_NAMES.len());
        let (types, fields) = compare(&pkg, arch, &truth);
        eprintln!(
            "fresh Go program, {goarch}: {types} types, {fields} fields equal to the compiler's"
        );
        assert!(fields >= 29, "only {fields} fields compared");
    }
    // gc's special case, as the compiler confirmed above: the trailing
    // zero-size `[0]func()` is 8-aligned at 8, gets a padding byte, size 16.
    let tail = GoLayouts::new(&pkg, GoArch::Amd64).layout("Tail").unwrap();
    assert_eq!((tail.members[1].offset, tail.size), (8, 16));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn host_layout_marker_is_accepted_from_source() {
    // structs.HostLayout is Go 1.23+, newer than the installed compiler: source only.
    let src = "package p\n\nimport \"structs\"\n\ntype Key struct {\n\t_ structs.HostLayout\n\tA uint32\n\tB uint8\n}\n";
    let pkg = GoPackage::parse_source("key.go", src).unwrap();
    let l = GoLayouts::new(&pkg, GoArch::Arm).layout("Key").unwrap();
    assert_eq!(
        (l.size, l.members[1].offset, l.members[2].offset),
        (8, 0, 4)
    );
    assert_eq!(l.members[0].size, 0);
}

#[test]
fn bpf2go_style_package_picks_the_files_the_go_tool_builds() {
    // bpf2go writes the same types twice, for little- and big-endian targets,
    // guarded by //go:build lines; generators sit next to them under `ignore`.
    let dir = std::env::temp_dir().join(format!("bpfcase-bpf2go-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let body = "package flows\n\ntype flowsFlowKey struct {\n\tSaddr uint32\n\tSport uint16\n\t_     [2]byte\n\tDaddr uint32\n\tProto uint8\n\t_     [3]byte\n}\n";
    std::fs::write(
        dir.join("flows_bpfel.go"),
        format!("// Code generated by bpf2go; DO NOT EDIT.\n//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64\n\n{body}"),
    )
    .unwrap();
    std::fs::write(
        dir.join("flows_bpfeb.go"),
        format!("// Code generated by bpf2go; DO NOT EDIT.\n//go:build mips || mips64 || ppc64 || s390x\n\n{body}"),
    )
    .unwrap();
    std::fs::write(
        dir.join("gen.go"),
        "//go:build ignore\n\npackage main\n\nfunc main() {}\n",
    )
    .unwrap();
    std::fs::write(dir.join("flows_test.go"), "package flows_test\n").unwrap();
    std::fs::write(
        dir.join("wire_windows.go"),
        "package flows\n\ntype flowsFlowKey int\n",
    )
    .unwrap();
    for arch in [GoArch::Amd64, GoArch::Arm64, GoArch::I386, GoArch::Arm] {
        let pkg = GoPackage::load(&dir, arch).unwrap();
        assert_eq!(pkg.files().len(), 1, "{}", arch.as_str());
        assert!(pkg.files()[0].path.ends_with("flows_bpfel.go"));
        let l = GoLayouts::new(&pkg, arch).layout("flowsFlowKey").unwrap();
        assert_eq!(l.size, 16);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bpf2go_corpus_types_match_the_go_compiler() {
    // corpora/bpf2go: bpf2go-form files (structs.HostLayout, `_ [N]byte`
    // pads, named enum types), compiled with a stand-in for HostLayout and
    // laid out by gc for amd64 and 386 (offsets.sh).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/bpf2go");
    let mut types = 0;
    for (file, arch) in [
        ("offsets.amd64.json", GoArch::Amd64),
        ("offsets.386.json", GoArch::I386),
    ] {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join(file)).unwrap()).unwrap();
        assert_eq!(v["goarch"], arch.as_str());
        for p in v["packages"].as_array().unwrap() {
            let dir = root.join(p["dir"].as_str().unwrap());
            let pkg = GoPackage::load(&dir, arch).unwrap();
            let (n, fields) = compare(&pkg, arch, &truth_from_structs(&p["structs"]));
            assert!(n >= 10 && fields > 4 * n, "{}: {n} types", dir.display());
            types += n;
        }
    }
    assert_eq!(
        types,
        2 * (7 * 10 + 11),
        "ok and 6 broken copies of 10 types, stale/ of 11, 2 GOARCHes"
    );
}
