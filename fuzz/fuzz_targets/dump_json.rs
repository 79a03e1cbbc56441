//! `bpftool -j`/`-p map dump` (and `map show`, `prog show`, `btf show`):
//! whole-buffer and streaming readers, the dump checks, and `analyze` and
//! `diff` of the dump as map `flows` of a real BPF object (entries decoded
//! against its BTF types, padding checked).
#![no_main]

mod common;

use bpfcase::analyses::dump_walk::{check_duplicate_keys, check_truncated};
use bpfcase::ingest::bpftool_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dump = bpftool_json::parse_dump(data);
    let streamed = bpftool_json::read_dump(data);
    assert_eq!(
        dump.len(),
        streamed.len(),
        "streaming and whole-buffer readers disagree"
    );
    let _ = check_duplicate_keys(&dump, None);
    let _ = check_truncated(&dump, "fuzz.json", None);
    let _ = bpftool_json::parse_map_show(data);
    let _ = bpftool_json::parse_prog_show(data);
    let _ = bpftool_json::parse_btf_show(data);
    let path = common::write("dump.json", data);
    common::dump_commands(&path, data);
});
