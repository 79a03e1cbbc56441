//! The collector's bpf() call trace (JSONL): whole-buffer and streaming
//! readers, and `analyze` of the trace with the BPF object that made the
//! maps (lookups replayed and explained).
#![no_main]

mod common;

use bpfcase::ingest::trace;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let calls = trace::parse_calls(data);
    if let Ok(streamed) = trace::parse_calls_from(data) {
        assert_eq!(calls.calls.len(), streamed.calls.len(), "readers disagree");
    }
    let path = common::write("bpf-calls.jsonl", data);
    common::trace_commands(&path, data);
});
