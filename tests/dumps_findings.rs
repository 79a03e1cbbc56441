//! Snapshot tests: every finding code the dump checks emit, on real corpus
//! dumps (corpora/dumps) and the derived ones (corpora/dumps/derived,
//! corpora/dumps/broken; see their READMEs).

use std::path::Path;

use bpfcase::analyses::dump_capacity::{check_map_full, check_percpu_buffer};
use bpfcase::analyses::dump_checks::{check_dump, DumpContext};
use bpfcase::analyses::dump_padding::check_padding;
use bpfcase::analyses::dump_walk::{check_duplicate_keys, check_truncated};
use bpfcase::engine::dumps::read_dump_file;
use bpfcase::engine::types::{resolve_types, MapTypes, TypeSource};
use bpfcase::model::dump::MapDump;
use bpfcase::model::finding::{Finding, MapRef};
use bpfcase::model::layout::{FieldType, Layout};

/// Reads a dump by its path relative to the repository root (kept relative
/// so snapshots do not depend on the checkout location).
fn dump(rel: &str) -> MapDump {
    let _cwd = std::env::set_current_dir(env!("CARGO_MANIFEST_DIR"));
    read_dump_file(Path::new(rel)).unwrap()
}

fn types(obj: &str, map: &str) -> MapTypes {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("corpora/bpf/{obj}.bpf.o"));
    resolve_types(TypeSource::Btf {
        file: &file,
        map: Some(map),
        key_type: None,
        value_type: None,
    })
    .unwrap()
}

fn layout(t: &FieldType) -> Option<&Layout> {
    match t {
        FieldType::Aggregate(l) => Some(l),
        _ => None,
    }
}

fn map(name: &str) -> Option<MapRef> {
    Some(MapRef {
        id: None,
        name: name.into(),
    })
}

fn all_findings(rel: &str, obj: &str, name: &str) -> Vec<Finding> {
    let d = dump(rel);
    let t = types(obj, name);
    check_dump(
        &d,
        &DumpContext {
            file: rel,
            map: map(name),
            key: layout(&t.key.ty),
            value: layout(&t.value.ty),
            map_type: t.map_type,
            max_entries: t.max_entries,
        },
    )
}

#[test]
fn key_and_value_padding_garbage_in_flows() {
    let d = dump("corpora/dumps/flows/flows.json");
    let t = types("flows", "flows");
    let f = check_padding(&d, layout(&t.key.ty), layout(&t.value.ty), map("flows"));
    assert_eq!(f.len(), 2);
    insta::assert_json_snapshot!("flows_padding", f);
}

#[test]
fn padding_garbage_is_seen_in_the_text_hex_dump_too() {
    // rawflows holds the same bytes as flows, without BTF: types from flows.bpf.o.
    let d = dump("corpora/dumps/raw/rawflows.txt");
    let t = types("flows", "flows");
    let f = check_padding(&d, layout(&t.key.ty), layout(&t.value.ty), map("rawflows"));
    let codes: Vec<_> = f.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(
        codes,
        ["dump/key-padding-garbage", "dump/value-padding-garbage"]
    );
    assert_eq!(f[0].evidence["entries_with_garbage"], 3);
}

#[test]
fn equal_keys_that_differ_in_padding_are_counted() {
    // bpfcase_pinned: the same key twice, once with hole bytes 12 34.
    let d = dump("corpora/dumps/pinned/bpfcase_pinned.json");
    let t = types("pinned", "bpfcase_pinned");
    let f = check_padding(&d, layout(&t.key.ty), None, map("bpfcase_pinned"));
    insta::assert_json_snapshot!("pinned_key_padding", f);
    assert_eq!(f[0].evidence["keys_equal_after_zeroing_padding"], 2);
    // Byte-wise they are different keys: no duplicate-keys finding.
    assert!(check_duplicate_keys(&d, None).is_empty());
}

#[test]
fn bitfield_padding_bits_and_clean_maps() {
    // bits_map: a/b/c fill 32 bits, lo/hi 8, tag, port: no padding at all.
    let f = all_findings("corpora/dumps/layouts/bits_map.json", "layouts", "bits_map");
    assert!(f.is_empty(), "{f:?}");
    // policies: hole bytes de ad be ef in slot 2 (value padding).
    let f = all_findings("corpora/dumps/stats/policies.json", "stats", "policies");
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].evidence["garbage_offsets"],
        serde_json::json!([4, 5, 6, 7])
    );
}

#[test]
fn per_cpu_value_padding_is_checked_on_every_cpu() {
    // cpu_stats[2]: pad bytes ff ff ff after `active`, on both CPUs.
    let f = all_findings("corpora/dumps/stats/cpu_stats.json", "stats", "cpu_stats");
    insta::assert_json_snapshot!("cpu_stats_value_padding", f);
}

#[test]
fn full_hash_map_flows_small() {
    let d = dump("corpora/dumps/flows/flows_small.json");
    let t = types("flows", "flows_small");
    let f = check_map_full(
        &d,
        t.map_type.unwrap(),
        t.max_entries.unwrap(),
        map("flows_small"),
    );
    insta::assert_json_snapshot!("flows_small_map_full", f);
    // The same dump as an LRU map would evict instead.
    let lru = check_map_full(&d, bpfcase::model::map::MapType::LRU_HASH, 8, None);
    assert_eq!(lru[0].evidence["evicts"], true);
    // flows_lru is not full (5/32); arrays are never "full".
    let t = types("flows", "flows_lru");
    assert!(check_map_full(
        &dump("corpora/dumps/flows/flows_lru.json"),
        t.map_type.unwrap(),
        32,
        None
    )
    .is_empty());
    let t = types("layouts", "bits_map");
    assert!(check_map_full(
        &dump("corpora/dumps/layouts/bits_map.json"),
        t.map_type.unwrap(),
        4,
        None
    )
    .is_empty());
}

#[test]
fn duplicate_keys_in_a_restarted_walk() {
    let d = dump("corpora/dumps/derived/flows.duplicate.json");
    let f = check_duplicate_keys(&d, map("flows"));
    insta::assert_json_snapshot!("flows_duplicate_keys", f);
    assert!(check_duplicate_keys(&dump("corpora/dumps/flows/flows.json"), None).is_empty());
}

#[test]
fn truncated_dumps() {
    for rel in [
        "corpora/dumps/broken/flows.truncated.json",
        "corpora/dumps/broken/flows.truncated.txt",
        "corpora/dumps/broken/rawflows.truncated.txt",
        "corpora/dumps/broken/cpu_stats.truncated.txt",
        "corpora/dumps/derived/rawflows.error.txt",
    ] {
        let d = dump(rel);
        let f = check_truncated(&d, rel, None);
        let name = Path::new(rel)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .replace('.', "_");
        insta::assert_json_snapshot!(format!("truncated_{name}"), (d.len(), f));
    }
    // Complete dumps have no such finding.
    assert!(check_truncated(&dump("corpora/dumps/raw/rawflows.txt"), "x", None).is_empty());
    assert!(check_truncated(&dump("corpora/dumps/flows/flows.txt"), "x", None).is_empty());
}

#[test]
fn unreadable_dump_keeps_entries_before_the_bad_byte() {
    let rel = "corpora/dumps/derived/flows.badhex.json";
    let d = dump(rel);
    assert_eq!(d.len(), 2);
    insta::assert_json_snapshot!(
        "flows_badhex_unreadable",
        check_truncated(&d, rel, map("flows"))
    );
}

#[test]
fn percpu_buffer_sized_for_one_cpu() {
    // cpu_stats: 2 possible CPUs (two values per entry), value 24 bytes.
    let d = dump("corpora/dumps/stats/cpu_stats.json");
    let cpus = d.cpus().unwrap() as u32;
    let value = d.value_size().unwrap() as u64;
    assert_eq!((cpus, value), (2, 24));
    insta::assert_json_snapshot!(
        "cpu_stats_percpu_buffer",
        check_percpu_buffer(cpus, value, value, map("cpu_stats"))
    );
    assert!(check_percpu_buffer(cpus, value, 48, None).is_none());
    // A 20-byte value (proc_key-sized) must be strided at 24.
    let f = check_percpu_buffer(2, 20, 40, None).unwrap();
    assert_eq!(
        f.evidence["likely_cause"],
        "sized without rounding each CPU's value up to 8 bytes"
    );
}

/// Regression: in the BTF-formatted text form, bpfcase_pinned's two keys that
/// differ only in hole bytes print alike; that is not a restarted walk.
#[test]
fn text_form_duplicates_blame_the_form_not_the_walk() {
    let d = dump("corpora/dumps/pinned/bpfcase_pinned.txt");
    let f = check_duplicate_keys(&d, map("bpfcase_pinned"));
    assert_eq!(f.len(), 1);
    let title = f[0].title.as_str();
    assert!(title.contains("cannot show padding"), "{title}");
    assert!(!title.contains("walk restarted"), "{title}");
    assert!(f[0].fix.as_deref().unwrap_or("").contains("bpftool -j"));
    insta::assert_json_snapshot!("pinned_text_duplicate_keys", f);
}

// ---------------------------------------------------------------- global data

/// `bpfcase analyze` of the corpus bundle of libbpf global data maps
/// (corpora/globals/case.tar: `.rodata`, `.bss`, `.data`, `.kconfig`,
/// `.data.custom`, `.rodata.str` of one loaded object), run from the
/// repository root so paths in the report are relative.
fn analyze_globals(format: &str) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bpfcase"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .args(["analyze", "corpora/globals/case.tar", "--format", format])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Well-formed global data maps give no finding (they used to give an
/// `input/unreadable` each, naming a wrong type); every map's key and
/// value types are named; the frozen `.rodata` sections are the
/// configuration, decoded variable by variable.
#[test]
fn global_data_bundle_is_clean_and_shows_its_configuration() {
    let (code, out) = analyze_globals("json");
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"], serde_json::json!([]), "{out}");
    let maps = v["maps"].as_array().unwrap();
    assert_eq!(maps.len(), 6);
    for m in maps {
        assert_eq!(m["key_type"], "__u32 index", "{m}");
        assert!(
            m["value_type"].as_str().unwrap().starts_with("datasec ."),
            "{m}"
        );
    }
    insta::assert_json_snapshot!("globals_configuration_json", v["configuration"]);
    // The configuration is bpftool's `formatted` value of the same dump,
    // variable by variable.
    let bpftool: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/globals/dumps/rodata.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let ours: Vec<serde_json::Value> = v["configuration"][0]["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| serde_json::json!({ x["name"].as_str().unwrap(): x["value"] }))
        .collect();
    assert_eq!(
        serde_json::json!({ ".rodata": ours }),
        bpftool[0]["formatted"]["value"]
    );
    let (code, text) = analyze_globals("text");
    assert_eq!(code, 0);
    insta::assert_snapshot!("globals_report_text", text);
    let (_, md) = analyze_globals("md");
    let section: String = md
        .split("\n## ")
        .find(|s| s.starts_with("Configuration"))
        .unwrap()
        .to_string();
    insta::assert_snapshot!("globals_report_md_configuration", section);
    let (_, html) = analyze_globals("html");
    assert!(html.contains("<h2>Configuration</h2>"));
    assert!(html.contains("<td><code>targ_comm</code></td><td><code>const volatile char[16]</code></td><td>16</td><td><code>&quot;sshd&quot;</code></td>"), "{html}");
}

/// The dump checks on a global data map use the DATASEC's holes: the
/// corpus `.bss` (4-byte hole after `last_pid`) has zeros there.
#[test]
fn global_data_dumps_pass_the_dump_checks() {
    let btf = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/globals/dumps/map.btf");
    for (stem, name) in [("bss", "datasec_.bss"), ("rodata", "datasec_.rodata")] {
        let t = resolve_types(TypeSource::Btf {
            file: &btf,
            map: Some(name),
            key_type: None,
            value_type: None,
        })
        .unwrap();
        let l = layout(&t.value.ty).unwrap();
        assert!(!l.holes.is_empty(), "{name}");
        let d = dump(&format!("corpora/globals/dumps/{stem}.json"));
        let ctx = DumpContext {
            file: stem,
            map: map(name),
            key: None,
            value: Some(l),
            map_type: t.map_type,
            max_entries: t.max_entries,
        };
        assert_eq!(check_dump(&d, &ctx), Vec::new(), "{name}");
    }
}

/// A map whose value type truly cannot be used names the type's real kind
/// and why: the corpus bundle unpacked, with `datasec_.data`'s value type
/// id pointed at a FUNC_PROTO (16) and then a FWD (75) of its BTF
/// (corpora/globals/dumps/map.btf.txt lists both).
#[test]
fn unusable_value_type_names_its_btf_kind() {
    let dir = std::env::temp_dir().join(format!("bpfcase-globals-kind-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tar = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/globals/case.tar");
    let st = std::process::Command::new("tar")
        .arg("xf")
        .arg(&tar)
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let manifest = dir.join("manifest.json");
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    for (id, said) in [
        (16, "the value type `fn(...)` (type id 16) is a func_proto, which has no size or layout"),
        (75, "the value type `struct bpf_flow_keys` (type id 75) is a struct bpf_flow_keys (forward declaration), which has no size or layout"),
    ] {
        let mut m = original.clone();
        for r in m["maps"].as_array_mut().unwrap() {
            if r["name"] == "datasec_.data" {
                r["btf_value_type_id"] = id.into();
            }
        }
        std::fs::write(&manifest, serde_json::to_vec(&m).unwrap()).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bpfcase"))
            .args(["analyze", "--format", "json"])
            .arg(&dir)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let titles: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles.len(), 1, "{titles:?}");
        assert!(titles[0].contains(said), "{}", titles[0]);
        assert!(titles[0].contains("map datasec_.data (id 658) has 16-byte values"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
