//! Ingest: bytes to typed artifacts, one module per input format. Parsers
//! borrow their input, keep offsets for errors, and never abort a whole
//! analysis: the caller turns their errors into `input/unreadable` findings.

pub mod bpf_prog;
pub mod bpftool_json;
pub mod bpftool_text;
pub mod btf;
pub mod btf_layout;
pub mod cursor;
pub mod dwarf;
pub mod elf;
pub mod embedded;
pub mod gosrc;
pub mod prog_xlated;
pub mod read;
pub mod schema;
pub mod strace;
pub mod trace;
