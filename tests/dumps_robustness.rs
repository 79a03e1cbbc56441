//! Cut every real dump at every byte: the readers never panic, keep only
//! whole entries from before the cut, and say that the dump is incomplete.
//! Also the `show` listings of corpora/dumps/system.

use std::path::Path;

use bpfcase::ingest::{bpftool_json, bpftool_text};
use bpfcase::model::dump::ProblemKind;

fn corpus(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

#[test]
fn every_cut_of_a_json_dump_is_reported() {
    for rel in [
        "corpora/dumps/flows/flows.json",
        "corpora/dumps/stats/cpu_stats.pretty.json",
    ] {
        let text = corpus(rel);
        let whole = bpftool_json::parse_dump(&text);
        let end = text.trim_ascii_end().len();
        for cut in 0..end {
            let d = bpftool_json::parse_dump(&text[..cut]);
            assert!(d.len() <= whole.len(), "{rel} cut at {cut}");
            for (a, b) in d.entries().zip(whole.entries()) {
                assert_eq!((a.key, a.value), (b.key, b.value), "{rel} cut at {cut}");
            }
            assert!(
                d.problems.iter().any(|p| p.kind == ProblemKind::Truncated),
                "{rel} cut at {cut}: {:?}",
                d.problems
            );
        }
    }
}

#[test]
fn every_cut_of_a_text_dump_is_reported() {
    for rel in [
        "corpora/dumps/raw/rawflows.txt",
        "corpora/dumps/raw/rawpcpu_arr.txt",
        "corpora/dumps/stats/cpu_stats.txt",
        "corpora/dumps/layouts/bits_map.txt",
    ] {
        let text = corpus(rel);
        let whole = bpftool_text::parse_dump(&text);
        assert!(whole.problems.is_empty(), "{rel}: {:?}", whole.problems);
        let end = text.trim_ascii_end().len();
        for cut in 0..end {
            let d = bpftool_text::parse_dump(&text[..cut]);
            assert!(d.len() <= whole.len(), "{rel} cut at {cut}");
            for (a, b) in d.entries().zip(whole.entries()) {
                assert_eq!((a.key, a.value), (b.key, b.value), "{rel} cut at {cut}");
            }
            assert!(
                d.problems.iter().any(|p| p.kind == ProblemKind::Truncated),
                "{rel} cut at {cut} ({} entries): {:?}",
                d.len(),
                d.problems
            );
        }
    }
}

#[test]
fn system_show_listings() {
    let maps = bpftool_json::parse_map_show(&corpus("corpora/dumps/system/map_show.json")).unwrap();
    let flows = maps.iter().find(|m| m.name == "flows_small").unwrap();
    assert_eq!(
        (
            flows.bytes_key,
            flows.bytes_value,
            flows.max_entries,
            flows.flags
        ),
        (16, 24, 8, 1)
    );
    assert_eq!(flows.map_type(), Some(bpfcase::model::map::MapType::HASH));
    let progs =
        bpftool_json::parse_prog_show(&corpus("corpora/dumps/system/prog_show.json")).unwrap();
    let p = progs.iter().find(|p| p.name == "flows_on_getpid").unwrap();
    assert_eq!(p.map_ids.len(), 3);
    assert_eq!(p.btf_id, Some(flows.btf_id.unwrap()));
    let btfs = bpftool_json::parse_btf_show(&corpus("corpora/dumps/system/btf_show.json")).unwrap();
    let b = btfs.iter().find(|b| Some(b.id) == flows.btf_id).unwrap();
    assert!(b.map_ids.contains(&flows.id) && !b.kernel);
    assert!(btfs
        .iter()
        .any(|b| b.kernel && b.name.as_deref() == Some("vmlinux")));
    // One object (`show pinned P`) parses as a one-element list.
    let one =
        bpftool_json::parse_map_show(&corpus("corpora/dumps/pinned/outer.show.json")).unwrap();
    assert_eq!(one[0].type_name, "array_of_maps");
}
