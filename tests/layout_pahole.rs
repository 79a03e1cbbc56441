//! Differential test of the BTF layout engine against pahole: for every
//! struct and union pahole prints from a BTF file, the top-level members'
//! names, offsets, sizes and bitfield positions, the byte holes, bit holes,
//! padding and size must equal ours. Runs on this machine's vmlinux BTF and
//! on every corpus BPF object.

mod support;

use std::collections::HashMap;
use std::process::Command;

use bpfcase::ingest::btf::{Btf, BtfKind};
use bpfcase::ingest::btf_layout::BtfLayouts;
use bpfcase::ingest::elf::BpfObject;
use bpfcase::model::layout::Layout;
use support::pahole::{self, PaMember, PaType};

/// Compares one layout with pahole's; returns the differences.
fn diff(ours: &Layout, pa: &PaType) -> Vec<String> {
    let mut d = Vec::new();
    if let Some(size) = pa.size {
        if size != ours.size {
            d.push(format!("size: pahole {size}, ours {}", ours.size));
        }
    }
    let mine: Vec<PaMember> = ours
        .members
        .iter()
        .map(|m| PaMember {
            name: m.name.to_string(),
            offset: m.offset,
            bit: m.bit_size.map(|_| m.bit_offset - m.offset * 8),
            size: m.size,
        })
        .collect();
    if mine != pa.members {
        let first = mine
            .iter()
            .zip(&pa.members)
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("ours {a:?} vs pahole {b:?}"))
            .unwrap_or_else(|| format!("{} vs {} members", mine.len(), pa.members.len()));
        d.push(format!("members differ: {first}"));
    }
    if ours.kind.as_str() == "struct" {
        let holes: Vec<u64> = ours.holes.iter().map(|h| h.size).collect();
        if holes != pa.holes {
            d.push(format!("holes: pahole {:?}, ours {holes:?}", pa.holes));
        }
        let bit_holes: Vec<u64> = ours.bit_holes.iter().map(|h| h.bits).collect();
        if bit_holes != pa.bit_holes {
            d.push(format!(
                "bit holes: pahole {:?}, ours {bit_holes:?}",
                pa.bit_holes
            ));
        }
        if pa.padding != ours.padding {
            d.push(format!(
                "padding: pahole {}, ours {}",
                pa.padding, ours.padding
            ));
        }
        if pa.bit_padding != ours.bit_padding {
            d.push(format!(
                "bit padding: pahole {}, ours {}",
                pa.bit_padding, ours.bit_padding
            ));
        }
    }
    d
}

/// Runs pahole on `path`, lays out the same types from `btf`, and compares.
/// Returns (types compared, differences).
fn compare_file(path: &std::path::Path, btf: &Btf<'_>) -> (usize, Vec<String>) {
    let out = Command::new("pahole")
        .arg("-F")
        .arg("btf")
        .arg(path)
        .output()
        .expect("run pahole");
    assert!(out.status.success(), "pahole failed on {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let printed = pahole::unique_by_name(pahole::parse(&text));

    // Names that occur once in the BTF too, so both sides mean the same type.
    let mut ids: HashMap<String, Vec<_>> = HashMap::new();
    for t in btf.all_types() {
        if matches!(t.kind, BtfKind::Struct | BtfKind::Union) && !t.name.is_empty() {
            ids.entry(format!("{} {}", t.kind.as_str(), t.name))
                .or_default()
                .push(t.id);
        }
    }
    let mut engine = BtfLayouts::new(btf);
    let mut compared = 0;
    let mut diffs = Vec::new();
    let mut names: Vec<&String> = printed.keys().collect();
    names.sort();
    for key in names {
        let Some([id]) = ids.get(key).map(|v| v.as_slice()) else {
            continue;
        };
        let ours = engine.layout(*id).expect("lay out a type pahole printed");
        compared += 1;
        for d in diff(&ours, &printed[key]) {
            diffs.push(format!("{key}: {d}"));
        }
    }
    (compared, diffs)
}

#[test]
fn vmlinux_layouts_match_pahole() {
    if !support::require_tool("pahole", "vmlinux_layouts_match_pahole") {
        return;
    }
    let sys = std::path::Path::new("/sys/kernel/btf/vmlinux");
    let path = if sys.exists() {
        sys.to_path_buf()
    } else {
        support::corpus("vmlinux/vmlinux.btf")
    };
    let data = std::fs::read(&path).expect("read vmlinux BTF");
    let btf = Btf::parse(&data).expect("parse vmlinux BTF");
    let (compared, diffs) = compare_file(&path, &btf);
    eprintln!(
        "vmlinux ({}): compared {compared} structs/unions with pahole, {} differ",
        path.display(),
        diffs.len()
    );
    for d in diffs.iter().take(30) {
        eprintln!("  {d}");
    }
    assert!(
        compared >= 9000,
        "compared only {compared} types with pahole"
    );
    assert!(diffs.is_empty(), "{} types differ from pahole", diffs.len());
}

#[test]
fn corpus_object_layouts_match_pahole() {
    if !support::require_tool("pahole", "corpus_object_layouts_match_pahole") {
        return;
    }
    let mut total = 0;
    let mut all = Vec::new();
    for name in ["flows", "stats", "layouts", "pinned"] {
        let path = support::corpus(&format!("bpf/{name}.bpf.o"));
        let data = std::fs::read(&path).expect("read corpus object");
        let obj = BpfObject::parse(&data).expect("parse corpus object");
        let btf = obj.btf().expect("corpus object has BTF");
        let (compared, diffs) = compare_file(&path, &btf);
        eprintln!(
            "{name}.bpf.o: compared {compared} types with pahole, {} differ",
            diffs.len()
        );
        assert!(
            compared >= 3,
            "{name}.bpf.o: compared only {compared} types"
        );
        total += compared;
        all.extend(diffs);
    }
    for d in &all {
        eprintln!("  {d}");
    }
    assert!(total >= 18, "compared only {total} corpus types");
    assert!(
        all.is_empty(),
        "{} corpus types differ from pahole",
        all.len()
    );
}
