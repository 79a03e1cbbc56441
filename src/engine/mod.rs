//! The engine: what the commands drive, with no flag parsing in it.
//!
//! A [`Case`] is built from plain [`AnalyzeOptions`] and the inputs, the
//! [`passes::PASSES`] run over it in order, and a [`Report`] comes out for
//! a renderer in [`crate::report`]. `diff` and `fleet` engines sit beside
//! it. The command layer (`src/commands`) only turns flags into these
//! options, calls the engine and writes what a renderer makes of the
//! result.
//!
//! A library user analysing a bundle and rendering the report as Markdown:
//!
//! ```
//! use bpfcase::engine::{self, AnalyzeOptions, Case};
//!
//! let opts = AnalyzeOptions::default();
//! let case = Case::builder(&opts)
//!     .bundle("corpora/cases/lookups/case.tar")?
//!     .build()?;
//! let report = engine::run(&opts, case)?;
//! assert!(report.findings.iter().any(|f| f.code.as_str() == "lookup/padding-miss"));
//!
//! let mut markdown = Vec::new();
//! bpfcase::report::markdown::write(&mut markdown, &report)?;
//! assert!(String::from_utf8(markdown)?.contains("lookup/padding-miss"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod accounting;
pub mod case;
pub mod decode;
pub mod diff;
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

pub use case::{Case, CaseBuilder};
pub use error::{EngineError, Result};
pub use options::{names_map, AnalyzeOptions, DumpTie, PercpuBuffer, TypePair};
pub use passes::run;

use crate::report::Report;

/// Builds the case from `opts.inputs` and runs every pass: the report, not
/// yet rendered.
pub fn analyze(opts: &AnalyzeOptions) -> Result<Report> {
    let case = Case::builder(opts).paths(&opts.inputs)?.build()?;
    run(opts, case)
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
    let opts = AnalyzeOptions::default();
    let mut case = Case::builder(&opts).bundle(path)?.build()?;
    let maps = case.maps.clone();
    let manifest = case.manifest.take();
    let report = run(&opts, case)?;
    Ok(BundleAnalysis {
        report,
        maps,
        manifest,
    })
}
