//! `bpfcase layout` end to end: the documented JSON shape on corpus objects,
//! pahole-like text, and errors that name the file and the byte offset.

mod support;

use support::{bpfcase, corpus};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bpfcase().args(args).output().expect("run bpfcase");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn json_layout_of_flow_key_has_documented_shape() {
    let obj = corpus("bpf/flows.bpf.o");
    let (code, out, err) = run(&[
        "layout",
        obj.to_str().unwrap(),
        "flow_key",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "stderr: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    insta::assert_json_snapshot!("layout_flow_key_json", v);
    let t = &v[0];
    assert_eq!(t["name"], "flow_key");
    assert_eq!(t["kind"], "struct");
    assert_eq!(t["size"], 16);
    assert_eq!(t["holes"], serde_json::json!([{"offset": 6, "size": 2}]));
    assert_eq!(t["padding"], 3);
}

#[test]
fn text_layout_of_layouts_object_matches_snapshot() {
    let obj = corpus("bpf/layouts.bpf.o");
    let (code, out, err) = run(&["layout", obj.to_str().unwrap()]);
    assert_eq!(code, 0, "stderr: {err}");
    insta::assert_snapshot!("layout_layouts_text", out);
}

#[test]
fn every_named_struct_is_listed_without_type_arguments() {
    let obj = corpus("bpf/stats.bpf.o");
    let (_, out, _) = run(&["layout", obj.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"cpu_stat") && names.contains(&"proc_key"),
        "{names:?}"
    );
}

#[test]
fn truncated_btf_is_reported_with_file_and_offset() {
    let data = std::fs::read(corpus("vmlinux/vmlinux.btf")).unwrap();
    let dir = std::env::temp_dir().join(format!("bpfcase-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("vmlinux.cut.btf");
    std::fs::write(&cut, &data[..4096]).unwrap();
    let (code, out, err) = run(&["layout", cut.to_str().unwrap()]);
    assert_eq!(code, 2, "stdout: {out}");
    assert!(
        err.contains("vmlinux.cut.btf"),
        "error names the file: {err}"
    );
    assert!(
        err.contains("at byte offset 8"),
        "error names the offset: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_type_record_in_elf_btf_is_placed_in_the_file() {
    // Overwrite the kind of the first type in flows.bpf.o's .BTF section.
    let path = corpus("bpf/flows.bpf.o");
    let mut data = std::fs::read(&path).unwrap();
    let pos = data
        .windows(4)
        .position(|w| w == [0x9f, 0xeb, 1, 0])
        .expect(".BTF magic");
    let hdr_len = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
    let type_off = u32::from_le_bytes(data[pos + 8..pos + 12].try_into().unwrap()) as usize;
    let first = pos + hdr_len + type_off;
    data[first + 7] = 0x1f; // kind 31
    let dir = std::env::temp_dir().join(format!("bpfcase-test-elf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.bpf.o");
    std::fs::write(&bad, &data).unwrap();
    let (code, _, err) = run(&["layout", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.bpf.o"), "{err}");
    assert!(
        err.contains(&format!("at byte offset {first}")),
        "expected offset {first}: {err}"
    );
    assert!(err.contains("unknown kind 31"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_type_name_is_a_clear_error() {
    let obj = corpus("bpf/flows.bpf.o");
    let (code, _, err) = run(&["layout", obj.to_str().unwrap(), "no_such_struct"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no_such_struct") && err.contains("flows.bpf.o"),
        "{err}"
    );
}

#[test]
fn split_btf_is_laid_out_over_its_base() {
    // A module-style split BTF blob whose struct embeds vmlinux types: ids
    // continue after the base's last id, strings after the base's strings.
    use bpfcase::ingest::btf::{Btf, BtfKind};
    let base_path = corpus("vmlinux/vmlinux.btf");
    let base_data = std::fs::read(&base_path).unwrap();
    let base = Btf::parse(&base_data).unwrap();
    let id_of = |name: &str, kind: BtfKind| {
        base.local_types()
            .find(|t| t.name == name && t.kind == kind)
            .unwrap()
            .id
            .0
    };
    let list_head = id_of("list_head", BtfKind::Struct);
    let int = id_of("int", BtfKind::Int);
    let base_str_len = base.header().str_len;
    let strings = b"\0split_demo\0node\0count\0";
    let s = |local: u32| base_str_len + local;
    let first_id = base.type_count();
    #[rustfmt::skip]
    let words: Vec<u32> = vec![
        // [first_id] STRUCT "split_demo" size 24, 2 members
        s(1), (4 << 24) | 2, 24,
        s(12), list_head, 0,   // struct list_head node; at bit 0
        s(17), int, 128,       // int count; at bit 128 (byte 16)
    ];
    let mut blob = Vec::new();
    blob.extend_from_slice(&0xeb9fu16.to_le_bytes());
    blob.extend_from_slice(&[1, 0]);
    for w in [
        24u32,
        0,
        (words.len() * 4) as u32,
        (words.len() * 4) as u32,
        strings.len() as u32,
    ] {
        blob.extend_from_slice(&w.to_le_bytes());
    }
    for w in &words {
        blob.extend_from_slice(&w.to_le_bytes());
    }
    blob.extend_from_slice(strings);
    let dir = std::env::temp_dir().join(format!("bpfcase-split-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let module = dir.join("demo_module.btf");
    std::fs::write(&module, &blob).unwrap();
    let (code, out, err) = run(&[
        "layout",
        module.to_str().unwrap(),
        "--base",
        base_path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v.as_array().unwrap().len(),
        1,
        "only the module's own types: {v}"
    );
    assert_eq!(v[0]["name"], "split_demo");
    assert_eq!(v[0]["members"][0]["type"], "struct list_head");
    assert_eq!(v[0]["members"][0]["size"], 16);
    assert_eq!(v[0]["members"][1]["offset"], 16);
    assert_eq!(v[0]["padding"], 4);
    assert_eq!(first_id, base.type_count());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression: real split BTF (pahole over the corpus vmlinux, see
/// corpora/vmlinux/README.md) read without --base used to fail with "string
/// section does not start and end with a NUL byte"; it must say it is split
/// BTF, name the file and suggest --base.
#[test]
fn split_btf_without_base_suggests_base() {
    let module = corpus("vmlinux/demo_module.btf");
    let (code, _, err) = run(&["layout", module.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("demo_module.btf"), "{err}");
    assert!(err.contains("split BTF"), "{err}");
    assert!(err.contains("--base /sys/kernel/btf/vmlinux"), "{err}");
    assert!(!err.contains("NUL byte"), "{err}");
    let base = corpus("vmlinux/vmlinux.btf");
    let (code, out, err) = run(&[
        "layout",
        module.to_str().unwrap(),
        "--base",
        base.to_str().unwrap(),
        "split_demo",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("struct split_demo {"), "{out}");
    assert!(out.contains("struct list_head"), "{out}");
}
