//! BPF program code: `ProgObject::parse` (code sections, functions,
//! relocations, `.BTF.ext` line info) and the `prog/*` pass over every
//! program, with each map the code names given a key and value size (so
//! the map helpers' reads are compared, not skipped).
#![no_main]

use bpfcase::analyses::prog_uninit::{check, MapInfo};
use bpfcase::ingest::bpf_prog::{ProgObject, Reloc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(obj) = ProgObject::parse(data) else {
        return;
    };
    let mut maps: Vec<MapInfo> = Vec::new();
    for s in &obj.sections {
        for r in s.relocs.values() {
            if let Reloc::Map(name) = r {
                if !maps.iter().any(|m| &m.name == name) {
                    // Sizes from the name's length: small, large, odd.
                    let n = name.len() as u64;
                    maps.push(MapInfo {
                        name: name.clone(),
                        key_size: Some(1 + n % 24),
                        value_size: Some(4 + (n * 37) % 600),
                        ..Default::default()
                    });
                }
            }
        }
    }
    let out = check("fuzz.bpf.o", &obj, maps);
    let _ = out.accounting();
});
