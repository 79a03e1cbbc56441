//! Raw BTF bytes: parse, lay out, write schema YAML, decode; and the
//! `layout`, `schema --btf` and `decode` commands on the same file.
#![no_main]

mod common;

use bpfcase::ingest::btf::Btf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(btf) = Btf::parse(data) else {
        return;
    };
    common::exercise_btf(&btf, data);
    let path = common::write("t.btf", data);
    common::btf_commands(&path, &btf, data);
});
