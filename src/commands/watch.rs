//! `bpfcase watch`: the node agent (root). Parses the arguments into
//! [`AgentOptions`] and runs [`crate::agent::run`], analysing each bundle
//! as `analyze BUNDLE` would.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use miette::Result;

use crate::agent::{self, AgentOptions};
use crate::collect::{self, host, CollectOptions, Redact};

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Directory the bundles are kept in (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Time from the start of one cycle to the start of the next (ms, s, m, h).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = host::parse_duration)]
    pub interval: Duration,
    /// Bundles kept in --out (the newest).
    #[arg(long, value_name = "N", default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: u64,
    /// Most bytes the kept bundles take together (K/M/G); one collection is
    /// also capped at it (the directory peaks at this plus one bundle).
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = host::parse_bytes)]
    pub max_bytes: u64,
    /// Skip a cycle when the filesystem of --out has less than this available (K/M/G).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = host::parse_bytes)]
    pub min_free: u64,
    /// Write the metrics here after each cycle, atomically (node_exporter's
    /// textfile directory, a `*.prom` name).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Stop after N cycles (default: run until SIGTERM or SIGINT).
    #[arg(long, value_name = "N")]
    pub cycles: Option<u64>,
    /// Dump this map (id or name); repeatable. Without --map/--pid/--pinned every map is dumped.
    #[arg(long = "map", value_name = "ID|NAME")]
    pub maps: Vec<String>,
    /// Dump the maps this process holds; repeatable.
    #[arg(long = "pid", value_name = "PID")]
    pub pids: Vec<u32>,
    /// Dump the maps pinned under this bpffs directory; repeatable.
    #[arg(long, value_name = "DIR")]
    pub pinned: Vec<PathBuf>,
    /// Most entries dumped per map.
    #[arg(long, value_name = "N")]
    pub max_entries: Option<u64>,
    /// Stop a collection's dumps after this long (ms, s, m, h); the bundle is then marked partial.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = host::parse_duration)]
    pub time_budget: Duration,
    /// Leave out payload bytes, keeping sizes and padding bytes: `values` (default) or `keys`.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "values", value_name = "WHAT")]
    pub redact: Option<super::collect::RedactArg>,
    /// Where bpffs is mounted.
    #[arg(long, value_name = "DIR", default_value = "/sys/fs/bpf")]
    pub bpffs: PathBuf,
}

/// The newest of `bundles` analysed as the case, the earlier ones (the
/// same node's kept bundles) as its maps' samples over time: `analyze
/// BUNDLE..` with every other option at its default.
fn analyze_bundle(bundles: &[PathBuf]) -> std::result::Result<crate::report::Report, String> {
    let opts = crate::engine::AnalyzeOptions::for_inputs(bundles.iter().cloned());
    crate::engine::analyze(&opts).map_err(|e| format!("{e:?}"))
}

pub fn run(args: &WatchArgs) -> Result<ExitCode> {
    let stop = collect::install_stop_handler();
    let opts = AgentOptions {
        out_dir: args.out.clone(),
        interval: args.interval,
        keep: usize::try_from(args.keep).unwrap_or(usize::MAX),
        max_bytes: args.max_bytes,
        min_free: args.min_free,
        metrics: args.metrics.clone(),
        cycles: args.cycles,
        collect: CollectOptions {
            maps: args.maps.clone(),
            pids: args.pids.clone(),
            pinned: args.pinned.clone(),
            max_entries: args.max_entries,
            time_budget: args.time_budget,
            redact: args.redact.map(Redact::from).unwrap_or_default(),
            bpffs: args.bpffs.clone(),
            // One bpftool run per cycle is a second opinion nobody reads here
            // (and the image has no bpftool).
            bpftool: false,
            ..CollectOptions::default()
        },
    };
    let outcome = agent::run(&opts, stop, &mut analyze_bundle, &mut |line| {
        eprintln!("watch: {line}")
    })?;
    let m = &outcome.metrics;
    eprintln!(
        "watch: stopped{}: {} cycles collected, {} skipped, {} failed; {} bundles kept in {} ({} bytes)",
        if outcome.signalled { " on signal" } else { "" },
        m.cycles_collected,
        m.cycles_skipped,
        m.cycles_failed,
        m.bundles,
        args.out.display(),
        m.bundle_bytes
    );
    Ok(ExitCode::SUCCESS)
}
