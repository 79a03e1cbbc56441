//! Go source files: lexing, parsing, constants, and the layout of every
//! struct on a 64-bit and a 32-bit architecture (then schema YAML,
//! padding, decode); bpf2go detection and struct tags.
#![no_main]

mod common;

use bpfcase::ingest::gosrc::{bpf2go, GoArch, GoLayouts, GoPackage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(pkg) = GoPackage::parse_source("fuzz.go", src) else {
        return;
    };
    let _ = bpf2go::find(&pkg);
    let names: Vec<String> = pkg
        .struct_names()
        .into_iter()
        .take(common::MAX_TYPES)
        .map(str::to_string)
        .collect();
    for arch in [GoArch::Amd64, GoArch::I386] {
        let mut engine = GoLayouts::new(&pkg, arch);
        for name in &names {
            if let Ok(l) = engine.layout(name) {
                common::exercise_layout(name, &l, data);
            }
            let _ = engine.member_tags(name);
        }
    }
});
