//! Analyses: each a small pass over the model that produces findings.

pub mod bpf2go;
pub mod dump_capacity;
pub mod dump_checks;
pub mod dump_diff;
pub mod dump_padding;
pub mod dump_walk;
pub mod growth;
pub mod key_padding;
pub mod layout_check;
pub mod lookups;
pub mod maps;
pub mod prog_live;
pub mod prog_uninit;
pub mod unused_inputs;
