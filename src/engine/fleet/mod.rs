//! The fleet engine: many nodes' bundles in, one [`FleetReport`] out.
//! Finds the bundles ([`discover`]), analyses them on a bounded pool of
//! workers keeping a small summary of each ([`summary`]), and joins the
//! summaries into the report ([`aggregate`]); renderers are
//! `report::fleet_*`. [`run`] does all three.

pub mod aggregate;
pub mod discover;
pub mod summary;

use std::path::PathBuf;

pub use aggregate::build_report;
pub use summary::{summarise, BundleSummary};

use super::error::{EngineError, Result};
use crate::error::InputError;
use crate::report::fleet::FleetReport;

/// What `fleet` reads, as plain values.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Bundles (.tar, .tar.gz, directories with manifest.json), or
    /// directories holding them (one node's bundle each).
    pub inputs: Vec<PathBuf>,
    /// Bundles analysed at once (at least one); each worker holds one
    /// bundle's analysis at a time. Default: the cores available.
    pub jobs: usize,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            inputs: Vec::new(),
            jobs: crate::cores(),
        }
    }
}

/// Finds the bundles among the inputs, summarises each on at most
/// `jobs` workers, and joins the summaries into the fleet report. No
/// bundle among the inputs, or none that could be read, is an error (the
/// command could not run, as `analyze` on nothing readable); a bundle that
/// cannot be read among others that can is in the report.
pub fn run(opts: &FleetOptions) -> Result<FleetReport> {
    let found = discover::discover(&opts.inputs)?;
    if found.bundles.is_empty() {
        let what = opts
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(InputError::new(
            what,
            None,
            "no bundle found (.tar, .tar.gz, .tgz, or a directory with manifest.json)",
        )
        .into());
    }
    let summaries = summary::summarise_all(&found.bundles, opts.jobs);
    if let Some(first) = summaries.iter().find_map(|s| s.outcome.as_ref().err()) {
        if summaries.iter().all(|s| s.outcome.is_err()) {
            return Err(EngineError::Failed(format!(
                "no bundle could be read; the first: {first}"
            )));
        }
    }
    Ok(build_report(summaries, found.ignored))
}
