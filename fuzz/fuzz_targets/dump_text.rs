//! `bpftool map dump` text (hex, multi-line hex, BTF-formatted, per-CPU):
//! whole-buffer and streaming readers, the dump checks, and `analyze` and
//! `diff` of the dump as map `flows` of a real BPF object.
#![no_main]

mod common;

use bpfcase::analyses::dump_walk::{check_duplicate_keys, check_truncated};
use bpfcase::ingest::bpftool_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dump = bpftool_text::parse_dump(data);
    let streamed = bpftool_text::read_dump(data);
    assert_eq!(
        dump.len(),
        streamed.len(),
        "streaming and whole-buffer readers disagree"
    );
    let _ = check_duplicate_keys(&dump, None);
    let _ = check_truncated(&dump, "fuzz.txt", None);
    let path = common::write("dump.txt", data);
    common::dump_commands(&path, data);
});
