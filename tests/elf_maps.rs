//! Map definitions read from the `.maps` DATASEC of corpus BPF objects,
//! compared with what the kernel reported for the same maps once loaded
//! (bpftool `-j map show` captures in corpora/dumps/*/NAME.show.json).

mod support;

use bpfcase::ingest::elf::{btf_map_defs, BpfObject};
use bpfcase::model::map::MapType;

#[test]
fn map_definitions_match_the_loaded_maps() {
    let mut compared = 0;
    for (object, dir) in [
        ("flows", "flows"),
        ("stats", "stats"),
        ("layouts", "layouts"),
        ("pinned", "pinned"),
    ] {
        let data = std::fs::read(support::corpus(&format!("bpf/{object}.bpf.o"))).unwrap();
        let obj = BpfObject::parse(&data).unwrap();
        assert!(
            obj.is_bpf_machine && obj.has_btf_ext,
            "{object}: BPF machine with .BTF.ext"
        );
        assert!(!obj.programs.is_empty(), "{object}: has programs");
        assert_eq!(obj.license.as_deref(), Some("GPL"));
        let btf = obj.btf().unwrap();
        let defs = btf_map_defs(&btf).unwrap();
        assert!(!defs.is_empty(), "{object}: no maps read");
        for d in &defs {
            let show = support::corpus(&format!("dumps/{dir}/{}.show.json", d.name));
            let Ok(text) = std::fs::read_to_string(&show) else {
                panic!("{object}: no capture {} for map {}", show.display(), d.name);
            };
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let who = format!("{object}:{}", d.name);
            assert_eq!(
                d.map_type.map(MapType::name).as_deref(),
                v["type"].as_str(),
                "{who} type"
            );
            assert_eq!(d.key_size, v["bytes_key"].as_u64(), "{who} key size");
            // Map-in-map values are ids (4 bytes); the definition names the inner map instead.
            if d.inner.is_none() {
                assert_eq!(d.value_size, v["bytes_value"].as_u64(), "{who} value size");
            }
            assert_eq!(
                d.max_entries.map(u64::from),
                v["max_entries"].as_u64(),
                "{who} max_entries"
            );
            assert_eq!(
                u64::from(d.map_flags),
                v["flags"].as_u64().unwrap(),
                "{who} flags"
            );
            compared += 1;
        }
    }
    eprintln!("compared {compared} map definitions with the kernel's view");
    assert!(compared >= 15, "compared only {compared} maps");
}

#[test]
fn map_in_map_and_pinning_are_read() {
    let data = std::fs::read(support::corpus("bpf/pinned.bpf.o")).unwrap();
    let obj = BpfObject::parse(&data).unwrap();
    let defs = btf_map_defs(&obj.btf().unwrap()).unwrap();
    let outer = defs.iter().find(|d| d.name == "outer").expect("outer map");
    assert_eq!(outer.map_type, Some(MapType(12)));
    let inner = outer
        .inner
        .as_ref()
        .expect("inner definition from __array(values, ...)");
    assert_eq!(inner.map_type, Some(MapType::ARRAY));
    let pinned = defs.iter().find(|d| d.name == "bpfcase_pinned").unwrap();
    assert_eq!(pinned.pinning, 1, "LIBBPF_PIN_BY_NAME");
}

#[test]
fn not_an_elf_is_a_typed_error() {
    let err = BpfObject::parse(b"definitely not an ELF file").unwrap_err();
    assert!(err.to_string().contains("not a readable ELF"), "{err}");
}
