//! Differential test against bpftool: every entry of every real `-j` dump in
//! corpora/dumps is decoded from its raw `key`/`value` hex with the BTF of
//! its corpora/bpf object (and again with the kernel's copy of that BTF,
//! `btf.kernel.btf`), and must equal bpftool's own `formatted` entry.
//!
//! Normalised bpftool differences (each where bpftool prints something other
//! than what the bytes mean; see corpora/dumps/README.md "quirks"):
//! - bitfields: bpftool prints the hex string `"0x5"`, we print 5;
//! - `__be16`/`__be32`: bpftool prints the raw bytes as a host-order number
//!   (51000 stored as `c7 38` shows as 14535), we print 51000;
//! - 8-byte enums from clang 14 (32-bit enumerator values): bpftool matches
//!   enumerators on the value truncated to `s32` and prints unmatched values
//!   signed; we match modulo the enum's width and keep its signedness, so a
//!   value must be equal modulo 2^64 or be an enumerator whose value equals
//!   bpftool's number modulo 2^64.
//!
//! Also: every text (`.txt`) and pretty (`.pretty.json`) capture must hold
//! the same entries as the compact `-j` capture of the same map.

use std::path::{Path, PathBuf};

mod support;

use bpfcase::collect::sys;
use bpfcase::engine::dumps::{decode_entry, read_dump_file};
use bpfcase::engine::types::{resolve_types, MapTypes, TypeSource};
use bpfcase::model::dump::{DumpForm, EntryValue};
use bpfcase::model::layout::{ByteOrder, FieldType};
use serde_json::Value;

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora")
}

const OBJECTS: &[&str] = &["flows", "stats", "layouts", "pinned"];

/// Dumps with `formatted` (maps with BTF, not map-in-map).
fn btf_dumps(obj: &str) -> Vec<PathBuf> {
    let dir = corpora().join("dumps").join(obj);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.ends_with(".json") && !n.ends_with(".show.json") && !n.ends_with(".pretty.json")
        })
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("\"formatted\"")
        })
        .collect();
    out.sort();
    out
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_i64().map(|i| i as u64))
}

/// Is `ours` (our decode) what bpftool's `theirs` shows, given type `ty`?
fn equiv(
    ours: &Value,
    theirs: &Value,
    ty: &FieldType,
    bitfield: Option<u32>,
    path: &str,
) -> Result<(), String> {
    let fail = || Err(format!("{path}: ours {ours} vs bpftool {theirs}"));
    if let Some(width) = bitfield {
        // bpftool: "0x5"; ours: 5 (or a sign-extended negative).
        let s = theirs
            .as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .ok_or(format!("{path}: bitfield {theirs}"))?;
        let t = u64::from_str_radix(s, 16).map_err(|e| e.to_string())?;
        let mask = if width >= 64 {
            u64::MAX
        } else {
            (1 << width) - 1
        };
        return if as_u64(ours).map(|o| o & mask) == Some(t) {
            Ok(())
        } else {
            fail()
        };
    }
    match ty {
        FieldType::Int {
            size,
            byte_order: ByteOrder::Big,
            ..
        } => {
            // bpftool prints the raw bytes as a host-order number.
            let o = as_u64(ours).ok_or(format!("{path}: not a number"))?;
            let swapped = o.swap_bytes() >> (64 - 8 * size);
            if as_u64(theirs) == Some(swapped) {
                Ok(())
            } else {
                fail()
            }
        }
        FieldType::Enum(e) if ours != theirs && e.size == 8 => {
            let t = as_u64(theirs).ok_or(format!("{path}: bpftool enum {theirs}"))?;
            let o = match ours {
                Value::String(name) => e
                    .values
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| *v as u64),
                v => as_u64(v),
            };
            if o == Some(t) {
                Ok(())
            } else {
                fail()
            }
        }
        FieldType::Aggregate(l) => {
            let (Some(o), Some(t)) = (ours.as_object(), theirs.as_object()) else {
                return fail();
            };
            if o.len() != t.len() {
                return fail();
            }
            for m in &l.members {
                let (Some(a), Some(b)) = (o.get(m.name.as_str()), t.get(m.name.as_str())) else {
                    return fail();
                };
                equiv(a, b, &m.ty, m.bit_size, &format!("{path}.{}", m.name))?;
            }
            Ok(())
        }
        FieldType::Array { elem, .. } if ours.is_array() && theirs.is_array() => {
            let (o, t) = (ours.as_array().unwrap(), theirs.as_array().unwrap());
            if o.len() != t.len() {
                return fail();
            }
            for (i, (a, b)) in o.iter().zip(t).enumerate() {
                equiv(a, b, elem, None, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ if ours == theirs => Ok(()),
        _ => fail(),
    }
}

fn check_entry(types: &MapTypes, ours: &Value, theirs: &Value, what: &str) -> Result<(), String> {
    equiv(
        &ours["key"],
        &theirs["key"],
        &types.key.ty,
        None,
        &format!("{what} key"),
    )?;
    if let Some(vs) = theirs.get("values") {
        let (o, t) = (ours["values"].as_array().unwrap(), vs.as_array().unwrap());
        assert_eq!(o.len(), t.len(), "{what}: CPU count");
        for (a, b) in o.iter().zip(t) {
            assert_eq!(a["cpu"], b["cpu"]);
            equiv(
                &a["value"],
                &b["value"],
                &types.value.ty,
                None,
                &format!("{what} cpu {}", b["cpu"]),
            )?;
        }
        Ok(())
    } else {
        equiv(
            &ours["value"],
            &theirs["value"],
            &types.value.ty,
            None,
            &format!("{what} value"),
        )
    }
}

#[test]
fn every_entry_decodes_to_bpftools_formatted() {
    let mut entries = 0;
    let mut maps = Vec::new();
    for obj in OBJECTS {
        let object = corpora().join("bpf").join(format!("{obj}.bpf.o"));
        let kernel = corpora().join("dumps").join(obj).join("btf.kernel.btf");
        for dump_path in btf_dumps(obj) {
            let map = dump_path.file_stem().unwrap().to_str().unwrap().to_string();
            let bpftool: Vec<Value> =
                serde_json::from_slice(&std::fs::read(&dump_path).unwrap()).unwrap();
            let dump = read_dump_file(&dump_path).unwrap();
            assert!(dump.problems.is_empty(), "{map}: {:?}", dump.problems);
            assert_eq!(dump.len(), bpftool.len(), "{map}");
            for btf in [&object, &kernel] {
                let types = resolve_types(TypeSource::Btf {
                    file: btf,
                    map: Some(&map),
                    key_type: None,
                    value_type: None,
                })
                .unwrap_or_else(|e| panic!("{map} in {}: {e:?}", btf.display()));
                for (e, theirs) in dump.entries().zip(&bpftool) {
                    let ours = decode_entry(&types, e.key, e.value).unwrap().to_json();
                    let what = format!("{} entry {} ({})", map, e.index, btf.display());
                    if let Err(msg) = check_entry(&types, &ours, &theirs["formatted"], &what) {
                        panic!("{msg}\n ours: {ours}\n bpftool: {}", theirs["formatted"]);
                    }
                    entries += 1;
                }
            }
            maps.push(map);
        }
    }
    // All corpus maps with BTF and formatted output took part.
    assert_eq!(
        maps,
        [
            "flows",
            "flows_lru",
            "flows_small",
            "cpu_stats",
            "policies",
            "proc_stats",
            "addr_map",
            "bits_map",
            "comm_map",
            "fam_map",
            "misc_map",
            "packed_map",
            "bpfcase_pinned",
            "inner_a",
            "inner_b"
        ]
    );
    assert!(entries > 100, "{entries}");
    eprintln!(
        "{} maps, {entries} decodings (each entry with object and kernel BTF) equal to bpftool's formatted",
        maps.len()
    );
}

#[test]
fn be16_port_decodes_to_the_number_it_means() {
    // flows_lru: 10.0.0.1:443 -> 192.168.1.1:51000; bpftool shows sport 47873.
    let dir = corpora().join("dumps/flows");
    let types = resolve_types(TypeSource::Btf {
        file: &corpora().join("bpf/flows.bpf.o"),
        map: Some("flows_lru"),
        key_type: None,
        value_type: None,
    })
    .unwrap();
    let dump = read_dump_file(&dir.join("flows_lru.json")).unwrap();
    let keys: Vec<Value> = dump
        .entries()
        .map(|e| decode_entry(&types, e.key, e.value).unwrap().to_json()["key"].clone())
        .collect();
    assert!(
        keys.iter()
            .any(|k| k["sport"] == 443 && k["dport"] == 51000 && k["saddr"] == 0x0a000001),
        "{keys:?}"
    );
}

fn same_entries(a: &Path, b: &Path) {
    let (da, db) = (read_dump_file(a).unwrap(), read_dump_file(b).unwrap());
    assert!(db.problems.is_empty(), "{}: {:?}", b.display(), db.problems);
    assert_eq!(da.len(), db.len(), "{} vs {}", a.display(), b.display());
    if db.form == DumpForm::TextFormatted {
        // Text has bpftool's formatted view only: compare with -j's `formatted`.
        let bpftool: Vec<Value> = serde_json::from_slice(&std::fs::read(a).unwrap()).unwrap();
        for (e, j) in db.entries().zip(&bpftool) {
            let key: Value = serde_json::from_slice(e.key).unwrap();
            assert_eq!(key, j["formatted"]["key"], "{}", b.display());
            let (field, v) = match e.value {
                EntryValue::PerCpu { bytes, .. } => ("values", bytes),
                EntryValue::Single(v) => ("value", v),
                EntryValue::Missing => panic!("missing"),
            };
            let v: Value = serde_json::from_slice(v).unwrap();
            assert_eq!(v, j["formatted"][field], "{}", b.display());
        }
    } else {
        for (x, y) in da.entries().zip(db.entries()) {
            assert_eq!(
                (x.key, x.value),
                (y.key, y.value),
                "{} vs {}",
                a.display(),
                b.display()
            );
        }
    }
}

#[test]
fn text_pretty_and_compact_captures_hold_the_same_entries() {
    let mut n = 0;
    for dir in ["flows", "stats", "layouts", "pinned", "raw"] {
        let d = corpora().join("dumps").join(dir);
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            let Some(stem) = name.strip_suffix(".pretty.json") else {
                continue;
            };
            let json = d.join(format!("{stem}.json"));
            same_entries(&json, &p);
            same_entries(&json, &d.join(format!("{stem}.txt")));
            n += 1;
        }
    }
    assert_eq!(n, 22);
}

#[test]
fn dwarf_types_of_the_c_mirror_decode_like_btf() {
    // corpora/c/layouts.x86_64 (gcc -g) mirrors struct flow_key/flow_value.
    let bin = corpora().join("c/layouts.x86_64");
    let dwarf = resolve_types(TypeSource::Dwarf {
        file: &bin,
        key_type: "struct flow_key",
        value_type: "flow_value",
    })
    .unwrap();
    let btf = resolve_types(TypeSource::Btf {
        file: &corpora().join("bpf/flows.bpf.o"),
        map: Some("flows"),
        key_type: None,
        value_type: None,
    })
    .unwrap();
    let dump = read_dump_file(&corpora().join("dumps/flows/flows.json")).unwrap();
    for e in dump.entries() {
        let a = decode_entry(&dwarf, e.key, e.value).unwrap();
        let b = decode_entry(&btf, e.key, e.value).unwrap();
        assert_eq!(a, b, "entry {}", e.index);
    }
    // A scalar key type by name.
    let t = resolve_types(TypeSource::Dwarf {
        file: &bin,
        key_type: "__u32",
        value_type: "struct policy",
    })
    .unwrap();
    assert_eq!(t.key.ty.size(), 4);
}

#[test]
fn schema_types_decode_like_btf() {
    // A YAML schema written by bpfcase's BTF-to-schema writer, both types in
    // one `types:` list; decoding flows_lru (network-order ports) with it
    // must equal decoding with the BTF.
    let btf = resolve_types(TypeSource::Btf {
        file: &corpora().join("bpf/flows.bpf.o"),
        map: Some("flows_lru"),
        key_type: None,
        value_type: None,
    })
    .unwrap();
    let mut yaml = String::from("types:\n");
    for t in [&btf.key.ty, &btf.value.ty] {
        let FieldType::Aggregate(l) = t else {
            panic!("not a struct")
        };
        for (i, line) in bpfcase::ingest::schema::to_yaml(l).lines().enumerate() {
            yaml.push_str(if i == 0 { "  - " } else { "    " });
            yaml.push_str(line);
            yaml.push('\n');
        }
    }
    let dir = std::env::temp_dir().join(format!("bpfcase-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flows.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let schema = resolve_types(TypeSource::Schema {
        file: &file,
        key_type: "flow_key_be",
        value_type: "struct flow_value",
    })
    .unwrap();
    let dump = read_dump_file(&corpora().join("dumps/flows/flows_lru.json")).unwrap();
    assert_eq!(dump.len(), 5);
    for e in dump.entries() {
        assert_eq!(
            decode_entry(&schema, e.key, e.value).unwrap(),
            decode_entry(&btf, e.key, e.value).unwrap(),
            "entry {}",
            e.index
        );
    }
    let missing = resolve_types(TypeSource::Schema {
        file: &file,
        key_type: "nope",
        value_type: "__u64",
    })
    .unwrap_err();
    // The message, not miette's rendering: that wraps to the terminal's
    // width, so a longer temp path moved the line break into the phrase.
    assert!(
        missing.to_string().contains("no type `nope` in the schema"),
        "{missing:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Regression: 128-bit integers decoded zero-padded (`0x0000…0101010a`)
/// where bpftool prints `0x101010a`. corpora/dumps/wide holds bpftool's own
/// `-j` dump of a map with `unsigned __int128` and `__int128` fields; every
/// entry must decode to exactly its `formatted`.
#[test]
fn int128_decodes_to_bpftools_formatted_exactly() {
    let dump_path = corpora().join("dumps/wide/wide_map.json");
    let bpftool: Vec<Value> = serde_json::from_slice(&std::fs::read(&dump_path).unwrap()).unwrap();
    let dump = read_dump_file(&dump_path).unwrap();
    let types = resolve_types(TypeSource::Btf {
        file: &corpora().join("dumps/wide/u128.bpf.o"),
        map: Some("wide_map"),
        key_type: None,
        value_type: None,
    })
    .unwrap();
    assert_eq!(dump.len(), 2);
    for (e, theirs) in dump.entries().zip(&bpftool) {
        let ours = decode_entry(&types, e.key, e.value).unwrap().to_json();
        assert_eq!(ours, theirs["formatted"], "entry {}", e.index);
    }
}

// ---------------------------------------------------------------- global data
// libbpf's global data maps (corpora/globals): a DATASEC value, no BTF key.

/// The maps of corpora/globals/dumps: (dump stem, map name as the kernel
/// has it). The value type is found from the map's name, as `decode --map`
/// does, in the map BTF the kernel held.
fn global_dumps() -> Vec<(PathBuf, String)> {
    let dir = corpora().join("globals/dumps");
    [
        "rodata",
        "bss",
        "data",
        "kconfig",
        "data.custom",
        "rodata.str",
    ]
    .iter()
    .map(|stem| {
        let show: Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{stem}.show.json"))).unwrap())
                .unwrap();
        (
            dir.join(format!("{stem}.json")),
            show["name"].as_str().unwrap().to_string(),
        )
    })
    .collect()
}

/// Our decode of every entry of `dump` with the types of global data map
/// `map` from `btf`, as bpftool's `formatted` values.
fn decode_global(dump: &Path, btf: &Path, map: &str) -> Vec<Value> {
    let types = resolve_types(TypeSource::Btf {
        file: btf,
        map: Some(map),
        key_type: None,
        value_type: None,
    })
    .unwrap_or_else(|e| panic!("{map}: {e:?}"));
    assert!(types.key.is_array_index(), "{map}: key {}", types.key.name);
    let d = read_dump_file(dump).unwrap();
    assert!(
        d.problems.is_empty(),
        "{}: {:?}",
        dump.display(),
        d.problems
    );
    d.entries()
        .map(|e| decode_entry(&types, e.key, e.value).unwrap().to_json())
        .collect()
}

/// Every global data map of the corpus (`.rodata` with ints, bools, a char
/// array, an enum and a struct; `.bss`; `.data`; `.kconfig`;
/// `.data.custom`; `.rodata.str`) decodes exactly to bpftool's
/// `formatted`, which has no `key`: `{"value": {".rodata": [{..}, ..]}}`.
#[test]
fn global_data_decodes_to_bpftools_formatted_exactly() {
    let btf = corpora().join("globals/dumps/map.btf");
    for (dump, map) in global_dumps() {
        let theirs: Vec<Value> =
            serde_json::from_slice::<Vec<Value>>(&std::fs::read(&dump).unwrap())
                .unwrap()
                .into_iter()
                .map(|e| e["formatted"].clone())
                .collect();
        assert_eq!(theirs.len(), 1, "{}", dump.display());
        assert!(theirs[0].get("key").is_none());
        let ours = decode_global(&dump, &btf, &map);
        assert_eq!(ours, theirs, "{map} ({})", dump.display());
    }
}

/// libbpf cuts the object's name so that name and section fit 15
/// characters; the map names of the corpus are the real ones.
#[test]
fn global_data_map_names_are_libbpfs_truncated_ones() {
    let names: Vec<String> = global_dumps().into_iter().map(|(_, n)| n).collect();
    assert_eq!(
        names,
        [
            "datasec_.rodata",
            "datasec_.bss",
            "datasec_.data",
            "datasec.kconfig",
            ".data.custom",
            ".rodata.str"
        ]
    );
}

/// The same against a live peer: the corpus object is loaded now (bpftool
/// prog loadall, libbpf creating, filling and freezing the maps), each
/// global data map is dumped by bpftool, and our decode of its bytes with
/// the BTF the kernel holds for it must equal bpftool's `formatted`.
#[test]
fn live_global_data_decodes_to_bpftools_formatted() {
    if !support::require_bpf("live_global_data_decodes_to_bpftools_formatted") {
        return;
    }
    let pin = PathBuf::from(format!(
        "/sys/fs/bpf/bpfcase-test-globals-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&pin);
    std::fs::create_dir_all(&pin).unwrap();
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(pin.clone());
    let obj = corpora().join("globals/datasec_globals.bpf.o");
    let st = std::process::Command::new("bpftool")
        .arg("prog")
        .arg("loadall")
        .arg(&obj)
        .arg(pin.join("progs"))
        .arg("pinmaps")
        .arg(pin.join("maps"))
        .status()
        .unwrap();
    assert!(st.success(), "bpftool prog loadall {}", obj.display());
    let tmp = std::env::temp_dir().join(format!("bpfcase-globals-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let bpftool = |args: &[&str]| -> Vec<u8> {
        let o = std::process::Command::new("bpftool")
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "bpftool {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    let mut seen = Vec::new();
    let mut entries = std::fs::read_dir(pin.join("maps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect::<Vec<_>>();
    entries.sort();
    for p in entries {
        let p = p.to_str().unwrap().to_string();
        let show: Value =
            serde_json::from_slice(&bpftool(&["-j", "map", "show", "pinned", &p])).unwrap();
        let name = show["name"].as_str().unwrap().to_string();
        assert!(show["frozen"].is_number(), "{name}: {show}");
        // The map's BTF as the kernel holds it, raw (what collect saves).
        let btf_id = show["btf_id"].as_u64().unwrap().to_string();
        let raw = tmp.join(format!("{btf_id}.btf"));
        let fd = sys::fd_by_id(sys::ObjKind::Btf, btf_id.parse().unwrap()).unwrap();
        std::fs::write(&raw, sys::btf_info(&fd).unwrap().2).unwrap();
        let dump = tmp.join(format!("{name}.json"));
        std::fs::write(&dump, bpftool(&["-j", "map", "dump", "pinned", &p])).unwrap();
        let theirs: Vec<Value> =
            serde_json::from_slice::<Vec<Value>>(&std::fs::read(&dump).unwrap())
                .unwrap()
                .into_iter()
                .map(|e| e["formatted"].clone())
                .collect();
        assert_eq!(decode_global(&dump, &raw, &name), theirs, "live {name}");
        seen.push(name);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ".data.custom",
            ".rodata.str",
            "datasec.kconfig",
            "datasec_.bss",
            "datasec_.data",
            "datasec_.rodata"
        ]
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
