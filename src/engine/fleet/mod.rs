//! The fleet engine: many nodes' bundles in, one [`FleetReport`] out.
//! Finds the bundles ([`discover`]), analyses them on a bounded pool of
//! workers keeping a small summary of each ([`summary`]), and joins the
//! summaries into the report ([`aggregate`]); renderers are
//! `report::fleet_*`.
//!
//! [`FleetReport`]: crate::report::fleet::FleetReport

pub mod aggregate;
pub mod discover;
pub mod summary;

pub use aggregate::build_report;
pub use summary::{summarise, BundleSummary};
