//! Renderers. Only this module knows output formats.

pub mod dump;
pub mod layout;
