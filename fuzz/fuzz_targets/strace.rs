//! `strace -e trace=bpf` logs (interleaved pids, unfinished/resumed
//! calls), and `analyze` of the log with the BPF object that made the maps.
#![no_main]

mod common;

use bpfcase::ingest::strace;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = strace::looks_like_strace(data);
    let _ = strace::parse(data);
    let path = common::write("workload.strace", data);
    common::trace_commands(&path, data);
});
