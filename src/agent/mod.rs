//! The node agent behind `bpfcase watch`: a loop of collect → analyze →
//! metrics file → rotation, for a DaemonSet. It reuses [`crate::collect`]
//! as it is; the analysis is handed in by the command (it lives with
//! `analyze`), so this module knows nothing of reports but their metrics.
//!
//! Bounds: one bundle is collected and analysed at a time and dropped
//! before the next (only the last metrics text is kept); a cycle is skipped
//! when the output filesystem has less than `min_free` bytes available, and
//! each collection is capped at what the reserve and `max_bytes` leave, so
//! the directory peaks at `max_bytes` plus one bundle. SIGINT/SIGTERM end
//! the loop after the current step; every file is written to a temporary
//! name and renamed, so none is left behind.

pub mod rotate;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::collect::{self, host, CollectFailure, CollectOptions};
use crate::report::openmetrics::{self, AgentMetrics};
use crate::report::Report;

/// Everything the agent is told.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Where bundles are kept.
    pub out_dir: PathBuf,
    /// From the start of one cycle to the start of the next.
    pub interval: Duration,
    /// Bundles kept (the newest); at least 1.
    pub keep: usize,
    /// Most bytes the kept bundles take together; one collection is also
    /// capped at it.
    pub max_bytes: u64,
    /// A cycle is skipped when the output filesystem has less available.
    pub min_free: u64,
    /// The metrics file (node_exporter's textfile directory, `*.prom`).
    pub metrics: Option<PathBuf>,
    /// Stop after this many cycles (`None`: until a signal).
    pub cycles: Option<u64>,
    /// What each collection is told; `output` and `max_bytes` are set per cycle.
    pub collect: CollectOptions,
}

/// Why the agent stopped without being asked to.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(bpfcase::watch))]
#[non_exhaustive]
pub enum AgentError {
    /// The kernel refused to list maps: no cycle could ever collect.
    #[error(transparent)]
    Collect(CollectFailure),
    /// The output directory cannot be created or examined.
    #[error("{path}: {error}")]
    OutDir { path: String, error: std::io::Error },
}

/// What one loop did, for the caller's exit message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentOutcome {
    pub metrics: AgentMetrics,
    /// Whether a signal ended it (else `cycles` ran out).
    pub signalled: bool,
}

/// Bundles handed to `analyze` each cycle at most: the new one and the
/// newest kept before it (the samples of `dump/growing`).
pub const SERIES_BUNDLES: usize = 8;

/// Runs the loop until `stop` is set or `opts.cycles` cycles have run.
/// `analyze` turns bundles of this node (oldest first, the new one last)
/// into the new one's report; `log` receives one line per event worth
/// telling (skips, failures, interruptions).
pub fn run(
    opts: &AgentOptions,
    stop: &AtomicBool,
    analyze: &mut dyn FnMut(&[PathBuf]) -> Result<Report, String>,
    log: &mut dyn FnMut(&str),
) -> Result<AgentOutcome, AgentError> {
    let dir = &opts.out_dir;
    let dir_err = |error| AgentError::OutDir {
        path: dir.display().to_string(),
        error,
    };
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(dir_err)?;
    }
    rotate::check_out_dir(dir).map_err(dir_err)?;
    let mut ledger = rotate::Ledger::load(dir);
    for stale in rotate::remove_stale_temps(dir) {
        log(&format!(
            "removed {} (left by an agent that was killed)",
            stale.display()
        ));
    }
    if let Some(m) = &opts.metrics {
        rotate::remove_stale_temps_of(m);
    }
    let host = host::host_info().map(|h| h.hostname).unwrap_or_default();
    let mut stats = AgentMetrics::default();
    let mut last_report_metrics = String::new();
    let mut cycles = 0u64;
    let mut signalled = false;
    loop {
        if stop.load(Ordering::SeqCst) {
            signalled = true;
            break;
        }
        let started = Instant::now();
        let free = rotate::free_bytes(dir).map_err(dir_err)?;
        stats.free_bytes = free;
        if free < opts.min_free {
            stats.cycles_skipped += 1;
            log(&format!(
                "cycle skipped: {} has {free} bytes available, below --min-free {}",
                dir.display(),
                opts.min_free
            ));
        } else {
            let mut c = opts.collect.clone();
            c.output = dir.join(rotate::bundle_name(&host));
            let cap = opts.max_bytes.min(free - opts.min_free);
            c.max_bytes = Some(c.max_bytes.map_or(cap, |m| m.min(cap)));
            match collect::collect(&c, stop) {
                Err(e @ CollectFailure::NoPrivilege(_)) => return Err(AgentError::Collect(e)),
                Err(e) => {
                    stats.cycles_failed += 1;
                    log(&format!("collection failed: {e}"));
                }
                Ok(outcome) => {
                    if let Err(e) = ledger.record(&outcome.path) {
                        log(&format!(
                            "cannot record {} in the ledger: {e}",
                            outcome.path.display()
                        ));
                    }
                    // A signal during a `--trace-pid` trace ends only the
                    // trace (collect clears the flag): the manifest says so.
                    let interrupted = outcome
                        .manifest
                        .limits_hit
                        .iter()
                        .any(|l| l.limit == "interrupted");
                    if interrupted || stop.load(Ordering::SeqCst) {
                        stop.store(true, Ordering::SeqCst);
                        log(&format!(
                            "interrupted: kept the partial bundle {}",
                            outcome.path.display()
                        ));
                        rotate::rotate(&mut ledger, opts.keep, opts.max_bytes);
                        signalled = true;
                        break;
                    }
                    // The kept bundles before it (the ledger's, oldest
                    // first) give the maps' growth over time.
                    let mut series: Vec<PathBuf> = ledger
                        .bundles()
                        .into_iter()
                        .map(|(p, _)| p)
                        .filter(|p| *p != outcome.path)
                        .collect();
                    let skip = series.len().saturating_sub(SERIES_BUNDLES - 1);
                    series.drain(..skip);
                    series.push(outcome.path.clone());
                    match analyze(&series) {
                        Ok(report) => {
                            stats.cycles_collected += 1;
                            last_report_metrics = openmetrics::render(&report);
                        }
                        Err(e) => {
                            stats.cycles_failed += 1;
                            log(&format!(
                                "analysis of {} failed: {e}",
                                outcome.path.display()
                            ));
                        }
                    }
                    stats.last_cycle_seconds = started.elapsed().as_secs_f64();
                }
            }
        }
        let kept = rotate::rotate(&mut ledger, opts.keep, opts.max_bytes);
        stats.bundles = kept.bundles;
        stats.bundle_bytes = kept.bytes;
        for e in kept.errors {
            log(&e);
        }
        if let Some(path) = &opts.metrics {
            let mut text = last_report_metrics.clone().into_bytes();
            // Writing to a Vec cannot fail.
            let _ = openmetrics::write_agent(&mut text, &stats);
            if let Err(e) = crate::output_file::write(path, &text) {
                log(&format!("cannot write {}: {e}", path.display()));
            }
        }
        cycles += 1;
        if opts.cycles.is_some_and(|n| cycles >= n) {
            break;
        }
        // Sleep in small steps so a signal ends the wait at once.
        let next = started + opts.interval;
        while Instant::now() < next && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(
                next.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50)),
            );
        }
    }
    Ok(AgentOutcome {
        metrics: stats,
        signalled,
    })
}
