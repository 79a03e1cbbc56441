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

/// Every attribute libbpf reads is read, checked against libbpf's own
/// reading of the same object (`bpftool -d` debug log, captured by
/// corpora/bpf/build.sh in attrs.bpf.libbpf.txt). bpftool 7.1's libbpf stops
/// at `arena`'s `__ulong(map_extra, ...)`, which it predates: that map is
/// checked against the source's value.
#[test]
fn every_libbpf_attribute_is_read_as_libbpf_reads_it() {
    let data = std::fs::read(support::corpus("bpf/attrs.bpf.o")).unwrap();
    let obj = BpfObject::parse(&data).unwrap();
    let defs = btf_map_defs(&obj.btf().unwrap()).unwrap();
    let log = std::fs::read_to_string(support::corpus("bpf/attrs.bpf.libbpf.txt")).unwrap();
    let mut compared = 0;
    for line in log.lines() {
        // libbpf: map 'NAME': found WHAT = VALUE.
        let Some(rest) = line.strip_prefix("libbpf: map '") else {
            continue;
        };
        let (name, rest) = rest.split_once("': ").unwrap();
        let def = match name.strip_suffix(".inner") {
            Some(outer) => defs
                .iter()
                .find(|d| d.name == outer)
                .and_then(|d| d.inner.as_deref())
                .unwrap(),
            None => defs.iter().find(|d| d.name == name).unwrap(),
        };
        assert!(def.skipped.is_empty(), "{name}: {:?}", def.skipped);
        let Some(found) = rest.strip_prefix("found ") else {
            continue;
        };
        let found = found.trim_end_matches('.');
        let num = |v: &str| -> u64 {
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).unwrap(),
                None => v.parse().unwrap(),
            }
        };
        let who = format!("{name}: {found}");
        if found == "inner map definition" {
            assert!(def.inner.is_some(), "{who}");
        } else if let Some(sz) = found
            .strip_prefix("key [")
            .and_then(|r| r.split_once("], sz = "))
        {
            assert_eq!(def.key_type_id, Some(sz.0.parse().unwrap()), "{who}");
            assert_eq!(def.key_size, Some(num(sz.1)), "{who}");
        } else if let Some(sz) = found
            .strip_prefix("value [")
            .and_then(|r| r.split_once("], sz = "))
        {
            assert_eq!(def.value_type_id, Some(sz.0.parse().unwrap()), "{who}");
            assert_eq!(def.value_size, Some(num(sz.1)), "{who}");
        } else {
            let (what, v) = found.split_once(" = ").unwrap();
            let v = num(v);
            let ours = match what {
                "type" => def.map_type.map(|t| u64::from(t.0)),
                "max_entries" => def.max_entries.map(u64::from),
                "map_flags" => Some(u64::from(def.map_flags)),
                "pinning" => Some(u64::from(def.pinning)),
                "numa_node" => def.numa_node.map(u64::from),
                "map_extra" => def.map_extra,
                "key_size" => def.key_size,
                "value_size" => def.value_size,
                other => panic!("libbpf reported {other} ({line})"),
            };
            assert_eq!(ours, Some(v), "{who}");
        }
        compared += 1;
    }
    assert!(compared >= 20, "compared only {compared} attributes");
    // What bpftool 7.1's libbpf cannot read: `__ulong` is a one-enumerator enum.
    let arena = defs.iter().find(|d| d.name == "arena").unwrap();
    assert_eq!(arena.map_type, Some(MapType(33)));
    assert_eq!(arena.map_extra, Some(0x4000_0000));
    assert_eq!(arena.max_entries, Some(2));
    assert!(arena.skipped.is_empty(), "{:?}", arena.skipped);
    assert!(log.contains("'arena': attr 'map_extra': expected PTR, got enum"));
}

#[test]
fn an_unknown_attribute_costs_only_itself() {
    let data = std::fs::read(support::corpus("bpf/attrs_future.bpf.o")).unwrap();
    let obj = BpfObject::parse(&data).unwrap();
    let defs = btf_map_defs(&obj.btf().unwrap()).unwrap();
    assert_eq!(defs.len(), 2);
    let future = &defs[0];
    assert_eq!(future.name, "future");
    // Everything but the two bad attributes is read.
    assert_eq!(future.map_type, Some(MapType::HASH));
    assert_eq!(future.key_size, Some(8));
    assert_eq!(future.max_entries, Some(16));
    assert_eq!(future.numa_node, None);
    let skipped: Vec<(&str, bool)> = future
        .skipped
        .iter()
        .map(|s| (s.member.as_str(), s.known))
        .collect();
    assert_eq!(skipped, [("future_knob", false), ("numa_node", true)]);
    assert!(defs[1].skipped.is_empty());
}
