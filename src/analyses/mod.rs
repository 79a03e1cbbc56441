//! Analyses: each a small pass over the model that produces findings.

pub mod key_padding;
pub mod layout_check;
pub mod maps;
