//! `bpfcase collect`: gathers a bundle on a live node (root). Parses the
//! arguments into [`CollectOptions`] and reports what was written.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use miette::Result;

use super::output::plural;
use crate::collect::trace::loader::Attach;
use crate::collect::{self, host, CollectOptions, Redact};

#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Bundle to write (a tar). Default: bpfcase-HOSTNAME-TIME.tar.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Dump this map (id or name); repeatable. Without --map/--pid/--pinned every map is dumped.
    #[arg(long = "map", value_name = "ID|NAME")]
    pub maps: Vec<String>,
    /// Dump the maps this process holds (map fds, and maps of its program fds); repeatable.
    /// Also limits the fdinfo scan to these processes.
    #[arg(long = "pid", value_name = "PID")]
    pub pids: Vec<u32>,
    /// Dump the maps pinned under this bpffs directory; repeatable.
    #[arg(long, value_name = "DIR")]
    pub pinned: Vec<PathBuf>,
    /// Add this BPF object file to the bundle; repeatable.
    #[arg(long = "elf", value_name = "PATH")]
    pub elfs: Vec<PathBuf>,
    /// Copy the executables of processes holding BPF fds (for their DWARF).
    #[arg(long)]
    pub binaries: bool,
    /// Largest executable copied whole by --binaries (K/M/G suffixes); longer ones are cut.
    #[arg(long, value_name = "BYTES", default_value = "256M", value_parser = host::parse_bytes)]
    pub max_binary_bytes: u64,
    /// Most entries dumped per map.
    #[arg(long, value_name = "N")]
    pub max_entries: Option<u64>,
    /// Most bytes in the bundle, all files counted (K/M/G suffixes); dumps and copies stop before it.
    #[arg(long, value_name = "BYTES", value_parser = host::parse_bytes)]
    pub max_bytes: Option<u64>,
    /// Stop dumping after this long (ms, s, m, h); the bundle is then marked partial.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = host::parse_duration)]
    pub time_budget: std::time::Duration,
    /// Leave out payload bytes, keeping sizes and padding bytes: `values` (default) or `keys` (keys and values).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "values", value_name = "WHAT")]
    pub redact: Option<RedactArg>,
    /// Take N dumps of each chosen map, --interval apart.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub snapshots: u32,
    /// Time between snapshots.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = host::parse_duration)]
    pub interval: std::time::Duration,
    /// Walk maps with GET_NEXT_KEY + LOOKUP_ELEM even where BPF_MAP_LOOKUP_BATCH works.
    #[arg(long)]
    pub no_batch: bool,
    /// Do not run bpftool for its second opinion even if it is on PATH.
    #[arg(long)]
    pub no_bpftool: bool,
    /// Before collecting, trace this process's bpf() map calls (lookup, update, delete,
    /// get_next_key, lookup_and_delete) into trace/bpf-calls.jsonl; repeatable.
    /// Its maps are dumped as with --pid. Loads a small tracing program for the trace's duration.
    #[arg(long = "trace-pid", value_name = "PID")]
    pub trace_pids: Vec<u32>,
    /// How --trace-pid attaches: raw tracepoints sys_enter/sys_exit (no tracefs needed),
    /// tracefs syscall tracepoints, or auto (raw, then tracefs if raw fails).
    #[arg(long, value_enum, value_name = "HOW", default_value = "auto")]
    pub trace_attach: TraceAttach,
    /// How long --trace-pid traces (ms, s, m, h); SIGINT ends the trace early and collection goes on.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = host::parse_duration)]
    pub trace_for: std::time::Duration,
    /// Leave the kernel's BTF (/sys/kernel/btf/vmlinux, 5–6 MB, the same on every node
    /// of one kernel) out of the bundle; maps' own BTF is kept. For fleets and small bundles.
    #[arg(long)]
    pub no_kernel_btf: bool,
}

/// `--trace-attach`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceAttach {
    Auto,
    Raw,
    Tracefs,
}

impl TraceAttach {
    fn choice(self) -> Option<Attach> {
        match self {
            TraceAttach::Auto => None,
            TraceAttach::Raw => Some(Attach::RawTracepoint),
            TraceAttach::Tracefs => Some(Attach::Tracefs),
        }
    }
}

pub fn run(args: &CollectArgs) -> Result<ExitCode> {
    let stop = collect::install_stop_handler();
    let output = match &args.output {
        Some(p) => p.clone(),
        None => {
            let host = host::host_info().map(|h| h.hostname).unwrap_or_default();
            let (s, _) = host::now_unix();
            let t = host::rfc3339(s, 0).replace([':', '-'], "");
            PathBuf::from(format!("bpfcase-{host}-{}.tar", &t[..15]))
        }
    };
    let opts = CollectOptions {
        output,
        maps: args.maps.clone(),
        pids: args.pids.clone(),
        pinned: args.pinned.clone(),
        elfs: args.elfs.clone(),
        binaries: args.binaries,
        max_binary_bytes: args.max_binary_bytes,
        max_entries: args.max_entries,
        max_bytes: args.max_bytes,
        time_budget: args.time_budget,
        redact: args.redact.map(Redact::from).unwrap_or_default(),
        snapshots: args.snapshots.max(1),
        interval: args.interval,
        bpftool: !args.no_bpftool,
        no_batch: args.no_batch,
        progress: std::io::stderr().is_terminal(),
        trace_pids: args.trace_pids.clone(),
        trace_for: args.trace_for,
        trace_attach: args.trace_attach.choice(),
        no_kernel_btf: args.no_kernel_btf,
        ..CollectOptions::default()
    };
    let outcome = collect::collect(&opts, stop).map_err(miette::Report::new)?;
    let m = &outcome.manifest;
    if let Some(t) = &m.trace {
        eprintln!(
            "traced {} of pid {} for {} ms ({} lost) into {}",
            plural(t.events, "bpf() map call", "bpf() map calls"),
            t.pids
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(","),
            t.duration_ms,
            t.lost,
            t.path
        );
    }
    // Each recorded error by name: "N errors recorded" alone sends the user
    // digging in the manifest.
    for e in &m.errors {
        eprintln!("error recorded: {}: {}", e.what, e.error);
    }
    let dumped = m.maps.iter().filter(|r| r.dump.is_some()).count();
    let entries: u64 = m.maps.iter().filter_map(|r| r.entries).sum();
    let n = |count: usize, one: &str, many: &str| plural(count as u64, one, many);
    eprintln!(
        "wrote {}: {} listed, {dumped} dumped ({}), {}, {}, {}{}{}",
        outcome.path.display(),
        n(m.maps.len(), "map", "maps"),
        plural(entries, "entry", "entries"),
        n(m.progs.len(), "prog", "progs"),
        n(m.pins.len(), "pin", "pins"),
        n(m.processes.len(), "process", "processes"),
        if m.partial {
            "; PARTIAL (see limits_hit)"
        } else {
            ""
        },
        if m.errors.is_empty() {
            String::new()
        } else {
            format!("; {} recorded", n(m.errors.len(), "error", "errors"))
        },
    );
    Ok(exit_code(m))
}

/// 1 when something the command line asked for by name (`--map`,
/// `--pinned`, `--elf`) is missing from the bundle; 0 otherwise, also when
/// maps or processes vanished while collecting (recorded, and normal on a
/// live node). No bundle at all is an error (2) before this point.
fn exit_code(m: &crate::bundle::Manifest) -> ExitCode {
    if m.errors.iter().any(|e| e.what.starts_with("--")) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `--redact`'s values, as clap parses them; the collector takes the
/// plain [`Redact`] they map to (clap stays in the command layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RedactArg {
    /// Nothing: bytes as read.
    None,
    /// Value payload bytes, also in the trace (padding kept).
    Values,
    /// Key and value payload bytes, also in the trace (padding kept).
    Keys,
}

impl From<RedactArg> for Redact {
    fn from(r: RedactArg) -> Redact {
        match r {
            RedactArg::None => Redact::None,
            RedactArg::Values => Redact::Values,
            RedactArg::Keys => Redact::Keys,
        }
    }
}
