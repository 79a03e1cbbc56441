//! ELF objects of BPF programs: sections, `.BTF`, the `.maps` definitions
//! and legacy `maps`, every type stage on the BTF, and `analyze` on the
//! object as loose input.
#![no_main]

mod common;

use bpfcase::ingest::elf::{btf_map_defs, BpfObject};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(obj) = BpfObject::parse(data) else {
        return;
    };
    if let Ok(btf) = obj.btf() {
        let _ = btf_map_defs(&btf);
        common::exercise_btf(&btf, data);
    }
    let path = common::write("prog.bpf.o", data);
    let fmt = common::format(data.len() as u8);
    let out = common::scratch().join("report");
    run_analyze(&path, fmt, &out);
});

fn run_analyze(path: &std::path::Path, fmt: &str, out: &std::path::Path) {
    common::run(&[
        "analyze",
        path.to_str().unwrap(),
        "--format",
        fmt,
        "-o",
        out.to_str().unwrap(),
        "--fail-on",
        "never",
    ]);
}
