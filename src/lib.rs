//! bpfcase: an offline forensic analyzer for eBPF map problems.
//!
//! Data flows one way: [`ingest`] (bytes to typed artifacts, one module per
//! format) → [`model`] (layouts, maps, entries, findings) → [`analyses`] (small
//! passes producing findings) → [`report`] (renderers; the only place output
//! formats are known). [`collect`] runs on the live node and shares only the
//! bundle format and the model types. See `docs/architecture.md`.

pub mod agent;
pub mod analyses;
pub mod bundle;
pub mod cli;
pub mod collect;
pub mod commands;
pub mod engine;
pub mod error;
pub mod ingest;
pub mod limits;
pub mod model;
pub mod output_file;
pub mod report;
pub mod worker_heap;

/// Cores this process may run on, asked once: `available_parallelism` reads
/// the cgroup quota files on every call, a dozen syscalls each time.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
