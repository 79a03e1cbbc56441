//! Renderers. Only this module knows output formats.

pub mod layout;
