//! The YAML layout schema and `bpfcase schema`: every struct and union of the
//! corpus BPF objects survives BTF → YAML → Layout; every corpus Go mirror
//! survives Go source → YAML → Layout on every GOARCH; the command's output
//! and errors are pinned by snapshots.

use std::path::{Path, PathBuf};
use std::process::Command;

use bpfcase::engine::inputs::parse_btf;
use bpfcase::ingest::btf::BtfKind;
use bpfcase::ingest::btf_layout::BtfLayouts;
use bpfcase::ingest::gosrc::{GoArch, GoLayouts, GoPackage};
use bpfcase::ingest::schema::{to_yaml, Schema};
use bpfcase::model::layout::{FieldType, Layout};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Asserts two layouts have the same shape (sizes, offsets, bit positions,
/// nesting) at every depth; returns how many members were compared.
fn same_shape(a: &Layout, b: &Layout, path: &str) -> usize {
    assert_eq!(a.name, b.name, "{path}: name");
    assert_eq!(a.kind, b.kind, "{path}: kind");
    assert_eq!(a.size, b.size, "{path}: size");
    assert_eq!(a.align(), b.align(), "{path}: align");
    assert_eq!(a.packed, b.packed, "{path}: packed");
    assert_eq!(a.holes, b.holes, "{path}: holes");
    assert_eq!(a.padding, b.padding, "{path}: padding");
    assert_eq!(a.members.len(), b.members.len(), "{path}: member count");
    let mut n = 0;
    for (x, y) in a.members.iter().zip(&b.members) {
        let p = format!("{path}.{}", x.name);
        assert_eq!(
            (&x.name, x.offset, x.bit_offset, x.size, x.bit_size),
            (&y.name, y.offset, y.bit_offset, y.size, y.bit_size),
            "{p}"
        );
        assert_eq!(x.type_name, y.type_name, "{p}: type name");
        assert_eq!(x.source, y.source, "{p}: source");
        n += 1 + same_type(&x.ty, &y.ty, &p);
    }
    n
}

fn same_type(a: &FieldType, b: &FieldType, path: &str) -> usize {
    assert_eq!(a.size(), b.size(), "{path}: type size");
    match (a, b) {
        (FieldType::Aggregate(x), FieldType::Aggregate(y)) => same_shape(x, y, path),
        (FieldType::Array { elem: x, len: m }, FieldType::Array { elem: y, len: n }) => {
            assert_eq!(m, n, "{path}: array length");
            same_type(x, y, path)
        }
        (FieldType::Aggregate(_) | FieldType::Array { .. }, _) => {
            panic!("{path}: {a:?} became {b:?}")
        }
        _ => 0,
    }
}

#[test]
fn every_corpus_btf_struct_round_trips_through_yaml() {
    let mut objects = 0;
    let mut types = 0;
    let mut members = 0;
    let mut entries: Vec<_> = std::fs::read_dir(root().join("corpora/bpf"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    entries.sort();
    for path in entries {
        let data = std::fs::read(&path).unwrap();
        let btf = parse_btf(&path, &data, None).unwrap();
        let mut engine = BtfLayouts::new(&btf);
        objects += 1;
        let ids: Vec<_> = btf
            .local_types()
            .filter(|t| matches!(t.kind, BtfKind::Struct | BtfKind::Union))
            .map(|t| t.id)
            .collect();
        for id in ids {
            let layout = engine.layout(id).unwrap();
            let yaml = to_yaml(&layout);
            let schema = Schema::parse(&yaml)
                .unwrap_or_else(|e| panic!("{}: {}: {e}\n{yaml}", path.display(), layout.name));
            let back = &schema.types[0].1;
            let shown = format!("{}:{}", path.display(), layout.display_name());
            members += same_shape(&layout, back, &shown);
            types += 1;
        }
    }
    eprintln!(
        "BTF → YAML → layout: {types} structs/unions ({members} members) from {objects} objects"
    );
    assert_eq!(
        objects, 8,
        "flows, stats, layouts, pinned, typedefs, attrs, attrs_future, bpf2go"
    );
    assert!(types >= 25, "only {types} types compared");
    assert!(members >= 120, "only {members} members compared");
}

#[test]
fn every_corpus_go_struct_round_trips_through_yaml_on_every_goarch() {
    for arch in [GoArch::Amd64, GoArch::Arm64, GoArch::I386, GoArch::Arm] {
        let pkg = GoPackage::load(&root().join("corpora/go"), arch).unwrap();
        let mut engine = GoLayouts::new(&pkg, arch);
        let mut types = 0;
        for name in pkg.struct_names() {
            let l = engine.layout(name).unwrap();
            let back = Schema::parse(&to_yaml(&l)).unwrap().types[0].1.clone();
            same_shape(&l, &back, name);
            assert_eq!(back.source, l.source, "{name}: file:line survives");
            types += 1;
        }
        eprintln!("Go ({}) → YAML → layout: {types} structs", arch.as_str());
        assert!(types >= 27, "only {types} Go structs");
    }
}

fn bpfcase(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bpfcase"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    // miette wraps long messages with `│` gutters; unwrap them for matching.
    let stderr = String::from_utf8(out.stderr).unwrap();
    let stderr = stderr
        .split(|c: char| c.is_whitespace() || c == '│')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        stderr,
    )
}

#[test]
fn schema_from_btf_with_nested_unions() {
    let (code, out, err) = bpfcase(&[
        "schema",
        "--btf",
        "corpora/bpf/layouts.bpf.o",
        "--type",
        "addr_rec",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn schema_from_go_source_386_keeps_align_4_and_lines() {
    let (code, out, err) = bpfcase(&[
        "schema",
        "--go-src",
        "corpora/go",
        "--type",
        "PolicyNoPad",
        "--goarch",
        "386",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn schema_output_file_reads_back_as_the_same_layout() {
    let dir = std::env::temp_dir().join(format!("bpfcase-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flow_key_be.yaml");
    let (code, out, err) = bpfcase(&[
        "schema",
        "--go-src",
        "corpora/go/types.go",
        "--type",
        "FlowKeyBE",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let read = Schema::parse(&text).unwrap();
    let pkg = GoPackage::load(
        Path::new(&root().join("corpora/go/types.go")),
        GoArch::Amd64,
    )
    .unwrap();
    let l = GoLayouts::new(&pkg, GoArch::Amd64)
        .layout("FlowKeyBE")
        .unwrap();
    let back = read.get("FlowKeyBE").unwrap();
    assert_eq!(back.size, l.size);
    assert!(text.contains("type: be32"), "{text}");
}

#[test]
fn schema_errors_name_the_file_and_line() {
    let (code, _, err) = bpfcase(&["schema", "--go-src", "corpora/go", "--type", "NoSuchThing"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("corpora/go: no type named `NoSuchThing`"),
        "{err}"
    );

    let dir = std::env::temp_dir().join(format!("bpfcase-schema-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.go");
    std::fs::write(
        &bad,
        "package p\n\nimport \"sync\"\n\ntype K struct {\n\tMu sync.Mutex\n}\n",
    )
    .unwrap();
    let (code, _, err) = bpfcase(&["schema", "--go-src", bad.to_str().unwrap(), "--type", "K"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.go:6: column 5: sync.Mutex is a type of another package"),
        "{err}"
    );

    let (code, _, err) = bpfcase(&[
        "schema",
        "--btf",
        "corpora/bpf/flows.bpf.o",
        "--type",
        "nope",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no struct, union or typedef of one named `nope`"),
        "{err}"
    );

    // Exactly one source.
    let (code, _, err) = bpfcase(&[
        "schema",
        "--go-src",
        "corpora/go",
        "--btf",
        "corpora/bpf/flows.bpf.o",
        "--type",
        "x",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
    let (code, _, _) = bpfcase(&["schema", "--type", "x"]);
    assert_eq!(code, 2);
    // --goarch only means something for Go source.
    let (code, _, err) = bpfcase(&[
        "schema",
        "--btf",
        "corpora/bpf/flows.bpf.o",
        "--type",
        "flow_key",
        "--goarch",
        "386",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with '--goarch"), "{err}");
    let (code, out, err) = bpfcase(&[
        "schema",
        "--btf",
        "corpora/bpf/flows.bpf.o",
        "--type",
        "flow_key",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("name: flow_key\nsize: 16\n"), "{out}");
}

/// Regression: `schema --dwarf` of a Go 386 or arm binary wrote `align: 8`
/// (or 1) for structs holding a uint64, where gc aligns them to 4, and
/// bpfcase then rejected the YAML it wrote. Every corpus struct must carry
/// Go's own `unsafe.Sizeof`/`Alignof` (corpora/go/offsets.386.json; arm
/// follows the same rule: 64-bit values align to the 4-byte word) and read
/// back.
#[test]
fn schema_from_go_32_bit_dwarf_has_gcs_alignment_and_reads_back() {
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("corpora/go/offsets.386.json")).unwrap())
            .unwrap();
    let structs = truth["structs"].as_array().unwrap();
    let mut checked = 0;
    for bin in ["corpora/go/layouts.386", "corpora/go/layouts.arm"] {
        for s in structs {
            let name = s["name"].as_str().unwrap();
            let (code, out, err) = bpfcase(&["schema", "--dwarf", bin, "--type", name]);
            assert_eq!(code, 0, "{bin} {name}: {err}");
            let read = Schema::parse(&out)
                .unwrap_or_else(|e| panic!("{bin} {name}: own YAML rejected: {e}\n{out}"));
            let l = read.get(&format!("main.{name}")).unwrap();
            assert_eq!(
                (l.size, l.align()),
                (s["size"].as_u64().unwrap(), s["align"].as_u64().unwrap()),
                "{bin} {name}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * structs.len());
    assert!(checked >= 40, "{checked}");
}

/// Regression: `decode --schema F --key-type … --value-type …` demanded
/// `--btf`. The schema here is the one `bpfcase schema` writes for the
/// corpus key and value types.
#[test]
fn decode_with_a_schema_needs_no_btf() {
    let mut doc = String::from("types:\n");
    for t in ["flow_key", "flow_value"] {
        let (code, out, err) =
            bpfcase(&["schema", "--btf", "corpora/bpf/flows.bpf.o", "--type", t]);
        assert_eq!(code, 0, "{err}");
        for (i, line) in out.lines().enumerate() {
            doc.push_str(if i == 0 { "  - " } else { "    " });
            doc.push_str(line);
            doc.push('\n');
        }
    }
    let dir = std::env::temp_dir().join(format!("bpfcase-decode-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flows.yaml");
    std::fs::write(&file, &doc).unwrap();
    let (code, out, err) = bpfcase(&[
        "decode",
        "--dump",
        "corpora/dumps/flows/flows.json",
        "--schema",
        file.to_str().unwrap(),
        "--key-type",
        "flow_key",
        "--value-type",
        "flow_value",
        "--format",
        "summary",
        "--fail-on",
        "never",
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 0, "{err}\n{doc}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["entries"].as_u64(), v["decoded"].as_u64()),
        (Some(6), Some(6)),
        "{v}"
    );
    // --btf and --schema are two sources: one at a time.
    let (code, _, err) = bpfcase(&[
        "decode",
        "--dump",
        "corpora/dumps/flows/flows.json",
        "--schema",
        "x.yaml",
        "--btf",
        "corpora/bpf/flows.bpf.o",
        "--key-type",
        "flow_key",
        "--value-type",
        "flow_value",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

/// Regression: `decode --schema` read a schema lossily (a bad byte became
/// U+FFFD and the file was taken), where `schema` and `analyze` refuse it.
/// Every command reads a schema or Go file as strict UTF-8 now, naming the
/// line and column of the first bad byte (`engine::type_source`).
#[test]
fn non_utf8_schema_and_go_source_are_refused_at_their_line_and_column() {
    let dir = std::env::temp_dir().join(format!("bpfcase-not-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = dir.join("bad.yaml");
    std::fs::write(&yaml, b"types:\n  - name: k # caf\xe9\n".as_slice()).unwrap();
    let (code, _, err) = bpfcase(&[
        "decode",
        "--dump",
        "corpora/dumps/flows/flows.json",
        "--schema",
        yaml.to_str().unwrap(),
        "--key-type",
        "k",
        "--value-type",
        "k",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.yaml:2: column 18: not UTF-8 (byte offset 24)"),
        "{err}"
    );
    let go = dir.join("bad.go");
    std::fs::write(
        &go,
        b"package p\n// caf\xe9\ntype K struct{ A uint32 }\n".as_slice(),
    )
    .unwrap();
    let (code, _, err) = bpfcase(&["schema", "--go-src", go.to_str().unwrap(), "--type", "K"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.go:2: column 7: not UTF-8 (byte offset 16)"),
        "{err}"
    );
}

/// A type source over its kind's cap (`limits::MAX_BTF_FILE`,
/// `MAX_DWARF_FILE`) is refused from its size, before a byte is read: the
/// files here are sparse, and reading them would take seconds and gigabytes.
#[test]
fn type_sources_over_their_cap_are_refused_unread() {
    let dir = std::env::temp_dir().join(format!("bpfcase-over-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sparse = |name: &str, len: u64| {
        let p = dir.join(name);
        std::fs::File::create(&p).unwrap().set_len(len).unwrap();
        p
    };
    let btf = sparse("big.btf", bpfcase::limits::MAX_BTF_FILE + 1);
    let bin = sparse("big.bin", bpfcase::limits::MAX_DWARF_FILE + 1);
    let started = std::time::Instant::now();
    let (code, _, err_btf) = bpfcase(&["layout", btf.to_str().unwrap()]);
    assert_eq!(code, 2, "{err_btf}");
    let (code, _, err_dwarf) =
        bpfcase(&["schema", "--dwarf", bin.to_str().unwrap(), "--type", "k"]);
    assert_eq!(code, 2, "{err_dwarf}");
    let took = started.elapsed();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        err_btf.contains(&format!(
            "big.btf: file is {} bytes, over the {}-byte limit for this input (limits::MAX_BTF_FILE); not read",
            bpfcase::limits::MAX_BTF_FILE + 1,
            bpfcase::limits::MAX_BTF_FILE
        )),
        "{err_btf}"
    );
    assert!(
        err_dwarf.contains("(limits::MAX_DWARF_FILE); not read"),
        "{err_dwarf}"
    );
    assert!(took.as_secs() < 10, "{took:?}");
}
