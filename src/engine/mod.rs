//! The engine: what the commands drive, with no flag parsing in it.
//!
//! A case is built from plain [`AnalyzeOptions`], the passes run over it in
//! order, and a [`Report`] comes out for a renderer in [`crate::report`].
//! `diff` and `fleet` engines sit beside it. The command layer
//! (`crate::commands`) only turns flags into these options, calls the
//! engine and writes what a renderer makes of the result.

pub mod accounting;
pub mod case;
pub mod dumps;
pub mod error;
pub mod fleet;
pub mod inputs;
pub mod layouts;
pub mod options;
pub mod passes;
pub mod pool;
pub mod redaction;
pub mod type_source;
pub mod types;
pub mod user_types;

use std::path::Path;

pub use error::{EngineError, Result};
pub use options::{names_map, AnalyzeOptions, DumpTie, PercpuBuffer, TypePair};

use crate::report::Report;

/// Loads the inputs and runs every analysis: the report, not yet rendered.
pub fn analyze(opts: &AnalyzeOptions) -> Result<Report> {
    let mut case = case::load(opts)?;
    let bundles = std::mem::take(&mut case.bundles);
    let mut report = passes::run(opts, case)?;
    report.bundles = bundles;
    Ok(report)
}

/// One bundle analysed exactly as `bpfcase analyze BUNDLE` would, with the
/// maps (layouts, programs) and the manifest the report is built from: what
/// `fleet` summarises for each node.
pub struct BundleAnalysis {
    pub report: Report,
    pub maps: Vec<crate::model::case::MapInstance>,
    pub manifest: Option<crate::bundle::Manifest>,
}

/// Runs the analysis (load, then every pass) on one bundle with the
/// default options. Errors as `analyze` would exit 2 on (a bundle whose
/// manifest or archive cannot be read).
pub fn analyze_bundle(path: &Path) -> Result<BundleAnalysis> {
    let opts = AnalyzeOptions::for_inputs([path]);
    let mut case = case::load(&opts)?;
    let maps = case.maps.clone();
    let manifest = case.manifest.take();
    let report = passes::run(&opts, case)?;
    Ok(BundleAnalysis {
        report,
        maps,
        manifest,
    })
}
