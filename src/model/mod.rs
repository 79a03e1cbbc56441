//! The model: layouts, map definitions, dumps and events, independent of the
//! format they were read from.

pub mod case;
pub mod decode;
pub mod dump;
pub mod finding;
pub mod insn;
pub mod layout;
pub mod map;
pub mod trace;
