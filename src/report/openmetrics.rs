//! Metrics for Prometheus: the report as node_exporter's textfile collector
//! reads it, in the Prometheus text exposition format (version 0.0.4: HELP
//! and TYPE lines, no timestamps, no `# EOF`, which that collector does not
//! take). Names follow Prometheus conventions: a `bpfcase_` prefix, base
//! units in the name (`_seconds`, `_ratio`, `_bytes`), `_total` only on
//! counters. Metric names are listed in `docs/fleet.md`.
//!
//! What describes one collection (entries, findings, the calls traced in
//! its window) is a gauge: each bundle replaces the last, so those numbers
//! go up and down. Only the agent's own running counts (`watch`) are
//! counters.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use super::Report;
use crate::model::finding::{Code, MapRef, Severity};

/// What the `watch` agent adds about itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentMetrics {
    /// Cycles since the agent started, by outcome.
    pub cycles_collected: u64,
    pub cycles_skipped: u64,
    pub cycles_failed: u64,
    /// Bundles kept in the output directory, and their bytes.
    pub bundles: u64,
    pub bundle_bytes: u64,
    /// Bytes available to the agent on the output directory's filesystem.
    pub free_bytes: u64,
    /// How long the last cycle that collected took (collect and analyze).
    pub last_cycle_seconds: f64,
}

/// Writes the report's metrics.
pub fn write<W: Write>(out: &mut W, report: &Report) -> io::Result<()> {
    out.write_all(render(report).as_bytes())
}

/// Writes the agent's own metrics (appended after a report's by `watch`).
pub fn write_agent<W: Write>(out: &mut W, agent: &AgentMetrics) -> io::Result<()> {
    let mut fams = Families::default();
    let cycles = fams.add(
        "bpfcase_agent_cycles_total",
        "counter",
        "Cycles of the bpfcase watch agent since it started, by result (collected, skipped for lack of disk space, failed).",
    );
    for (result, n) in [
        ("collected", agent.cycles_collected),
        ("skipped", agent.cycles_skipped),
        ("failed", agent.cycles_failed),
    ] {
        cycles.sample(&[("result", result)], n);
    }
    fams.add(
        "bpfcase_agent_bundles",
        "gauge",
        "Bundles the agent keeps in its output directory.",
    )
    .sample(&[], agent.bundles);
    fams.add(
        "bpfcase_agent_bundles_bytes",
        "gauge",
        "Bytes the kept bundles take.",
    )
    .sample(&[], agent.bundle_bytes);
    fams.add(
        "bpfcase_agent_free_bytes",
        "gauge",
        "Bytes available on the filesystem of the agent's output directory.",
    )
    .sample(&[], agent.free_bytes);
    fams.add(
        "bpfcase_agent_last_cycle_duration_seconds",
        "gauge",
        "How long the last collecting cycle took: collect, analyze and writing the metrics.",
    )
    .sample(&[], agent.last_cycle_seconds);
    out.write_all(fams.text().as_bytes())
}

/// The report's metrics as text.
pub fn render(report: &Report) -> String {
    let mut fams = Families::default();
    collection(&mut fams, report);
    maps(&mut fams, report);
    findings(&mut fams, report);
    calls(&mut fams, report);
    fams.text()
}

fn collection(fams: &mut Families, report: &Report) {
    let Some(c) = &report.collection else {
        return;
    };
    fams.add(
        "bpfcase_collection_info",
        "gauge",
        "The collection analysed: its node and kernel (always 1).",
    )
    .sample(
        &[
            ("hostname", &c.hostname),
            ("kernel_release", &c.kernel_release),
            ("bpfcase_version", report.bpfcase_version),
        ],
        1u64,
    );
    if let Some(t) = rfc3339_unix(&c.created) {
        fams.add(
            "bpfcase_collection_timestamp_seconds",
            "gauge",
            "When the collection started, seconds since the Unix epoch.",
        )
        .sample(&[], Raw(t));
    }
    fams.add(
        "bpfcase_collection_partial",
        "gauge",
        "1 when the collection was interrupted or cut by a limit (the bundle is incomplete), else 0.",
    )
    .sample(&[], u64::from(c.partial));
    fams.add(
        "bpfcase_collection_limits_hit",
        "gauge",
        "Limits the collection hit (manifest limits_hit).",
    )
    .sample(&[], c.limits_hit as u64);
    fams.add(
        "bpfcase_collection_errors",
        "gauge",
        "Things the collection could not gather (manifest errors).",
    )
    .sample(&[], c.errors as u64);
    if let Some(ms) = c.trace_duration_ms {
        fams.add(
            "bpfcase_trace_window_seconds",
            "gauge",
            "How long the collection traced bpf() map calls (--trace-pid).",
        )
        .sample(&[], ms as f64 / 1000.0);
        fams.add(
            "bpfcase_trace_lost_calls",
            "gauge",
            "Calls the tracer could not hand over (ring buffer full) in the trace window.",
        )
        .sample(&[], c.trace_lost);
    }
}

/// The evidence number `field` of the findings with `code` on each map:
/// the largest when several dumps of a map (snapshots) gave one each.
fn per_map(report: &Report, code: Code, field: &str) -> BTreeMap<MapRef, u64> {
    let mut out: BTreeMap<MapRef, u64> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| f.code == code) {
        let (Some(map), Some(n)) = (&f.map, f.evidence.get(field).and_then(|v| v.as_u64())) else {
            continue;
        };
        let e = out.entry(map.clone()).or_default();
        *e = (*e).max(n);
    }
    out
}

fn maps(fams: &mut Families, report: &Report) {
    // Maps whose dump was checked with their layouts (padding and
    // duplicates are known there: a missing finding means 0).
    let checked: BTreeSet<MapRef> = report
        .dumps
        .iter()
        .filter(|d| d.status == "checked")
        .filter_map(|d| d.map.clone())
        .collect();
    let key_garbage = per_map(report, Code::DumpKeyPaddingGarbage, "entries_with_garbage");
    let value_garbage = per_map(
        report,
        Code::DumpValuePaddingGarbage,
        "entries_with_garbage",
    );
    let duplicates = per_map(report, Code::DumpDuplicateKeys, "duplicated_keys");

    let mut max_entries = Family::new("bpfcase_map_max_entries", "gauge", "The map's max_entries.");
    let mut entries = Family::new(
        "bpfcase_map_entries",
        "gauge",
        "Entries in the map's dump (array maps list every slot).",
    );
    let mut fill = Family::new(
        "bpfcase_map_fill_ratio",
        "gauge",
        "Entries over max_entries, for maps that can fill up (hash, LRU, LPM and the like; not arrays or ring buffers).",
    );
    let mut garbage = Family::new(
        "bpfcase_map_padding_garbage_entries",
        "gauge",
        "Entries of the map's dump with non-zero padding bytes in the key or the value (side label).",
    );
    let mut dups = Family::new(
        "bpfcase_map_duplicate_keys",
        "gauge",
        "Keys seen more than once in the map's dump (a hash walk restarted by concurrent deletes).",
    );
    for m in &report.maps {
        let id = m.id.map(|i| i.to_string()).unwrap_or_default();
        let ty = m.map_type.clone().unwrap_or_default();
        let labels = [
            ("map_id", id.as_str()),
            ("map_name", m.name.as_str()),
            ("map_type", ty.as_str()),
        ];
        if let Some(max) = m.max_entries {
            max_entries.sample(&labels, u64::from(max));
        }
        let Some(n) = m.entries else {
            continue;
        };
        entries.sample(&labels, n);
        let kind = crate::model::map::MapType::from_name(&ty);
        let can_fill = kind.is_some_and(|k| !k.is_array() && !k.carries_records());
        if let (true, Some(max)) = (can_fill, m.max_entries.filter(|&x| x > 0)) {
            fill.sample(&labels, n as f64 / f64::from(max));
        }
        let r = MapRef {
            id: m.id,
            name: m.name.clone(),
        };
        if !checked.contains(&r) {
            continue;
        }
        for (side, known, counts) in [
            ("key", m.key_type.is_some(), &key_garbage),
            ("value", m.value_type.is_some(), &value_garbage),
        ] {
            if known {
                let [a, b, c] = labels;
                garbage.sample(
                    &[a, b, c, ("side", side)],
                    counts.get(&r).copied().unwrap_or(0),
                );
            }
        }
        dups.sample(&labels, duplicates.get(&r).copied().unwrap_or(0));
    }
    // Present only for a map `dump/growing` projects full at its rate.
    let mut to_full = Family::new(
        "bpfcase_map_seconds_to_full",
        "gauge",
        "Seconds until the map reaches max_entries at the rate its keys came in and stayed across snapshots or kept bundles (dump/growing); only for growing maps.",
    );
    for f in &report.findings {
        let (Code::DumpGrowing, Some(map)) = (f.code, &f.map) else {
            continue;
        };
        let Some(secs) = f.evidence.get("seconds_to_full").and_then(|v| v.as_u64()) else {
            continue;
        };
        let ty = f.evidence["map_type"].as_str().unwrap_or_default();
        let id = map.id.map(|i| i.to_string()).unwrap_or_default();
        to_full.sample(
            &[
                ("map_id", id.as_str()),
                ("map_name", map.name.as_str()),
                ("map_type", ty),
            ],
            secs,
        );
    }
    for f in [max_entries, entries, fill, garbage, dups, to_full] {
        fams.push(f);
    }
}

fn findings(fams: &mut Families, report: &Report) {
    let mut by_code: BTreeMap<(&'static str, &'static str), u64> = BTreeMap::new();
    for f in &report.findings {
        *by_code
            .entry((f.code.as_str(), f.severity.as_str()))
            .or_default() += 1;
    }
    let codes = fams.add(
        "bpfcase_findings",
        "gauge",
        "Findings of the analysis by code and severity (codes in docs/findings.md); codes not found have no series.",
    );
    for ((code, severity), n) in &by_code {
        codes.sample(&[("code", code), ("severity", severity)], *n);
    }
    let sev = fams.add(
        "bpfcase_findings_by_severity",
        "gauge",
        "Findings of the analysis by severity (all three always present).",
    );
    for (s, n) in [
        (Severity::Error, report.summary.error),
        (Severity::Warning, report.summary.warning),
        (Severity::Info, report.summary.info),
    ] {
        sev.sample(&[("severity", s.as_str())], n as u64);
    }
}

fn calls(fams: &mut Families, report: &Report) {
    let mut all: BTreeMap<(String, String, &'static str), u64> = BTreeMap::new();
    let mut failed: BTreeMap<(String, String, &'static str, &str), u64> = BTreeMap::new();
    for c in &report.calls {
        let (id, name) = match &c.map {
            Some(m) => (
                m.id.map(|i| i.to_string()).unwrap_or_default(),
                m.name.clone(),
            ),
            None => (String::new(), String::new()),
        };
        *all.entry((id.clone(), name.clone(), c.cmd)).or_default() += c.calls;
        if let Some(e) = &c.errno {
            *failed.entry((id, name, c.cmd, e.as_str())).or_default() += c.calls;
        }
    }
    let total = fams.add(
        "bpfcase_trace_calls",
        "gauge",
        "bpf() map calls traced in the collection's trace window, by map and command (empty map labels: the map could not be told).",
    );
    for ((id, name, cmd), n) in &all {
        total.sample(&[("map_id", id), ("map_name", name), ("cmd", cmd)], *n);
    }
    let fail = fams.add(
        "bpfcase_trace_failed_calls",
        "gauge",
        "Traced bpf() map calls that failed, by map, command and errno.",
    );
    for ((id, name, cmd, errno), n) in &failed {
        fail.sample(
            &[
                ("map_id", id),
                ("map_name", name),
                ("cmd", cmd),
                ("errno", errno),
            ],
            *n,
        );
    }
}

/// One metric family: HELP, TYPE and its samples, each label set once.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<String>,
    seen: BTreeSet<String>,
}

/// A value already formatted.
struct Raw(String);

/// Sample values: integers as they are, floats in Rust's shortest form.
trait SampleValue {
    fn text(&self) -> String;
}

impl SampleValue for u64 {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl SampleValue for f64 {
    fn text(&self) -> String {
        if self.is_finite() {
            format!("{self}")
        } else if self.is_nan() {
            "NaN".into()
        } else if *self > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    }
}

impl SampleValue for Raw {
    fn text(&self) -> String {
        self.0.clone()
    }
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Family {
            name,
            kind,
            help,
            samples: Vec::new(),
            seen: BTreeSet::new(),
        }
    }

    /// Adds a sample; a label set already present keeps its first value (a
    /// repeated series would make the whole file unreadable to Prometheus).
    fn sample(&mut self, labels: &[(&str, &str)], value: impl SampleValue) {
        let mut l = String::new();
        if !labels.is_empty() {
            l.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    l.push(',');
                }
                let _ = write!(l, "{k}=\"{}\"", escape_label(v));
            }
            l.push('}');
        }
        if self.seen.insert(l.clone()) {
            self.samples
                .push(format!("{}{l} {}\n", self.name, value.text()));
        }
    }
}

/// Families in the order added; empty ones are left out.
#[derive(Default)]
struct Families(Vec<Family>);

impl Families {
    fn add(&mut self, name: &'static str, kind: &'static str, help: &'static str) -> &mut Family {
        self.0.push(Family::new(name, kind, help));
        let last = self.0.len() - 1;
        &mut self.0[last]
    }

    fn push(&mut self, f: Family) {
        self.0.push(f);
    }

    fn text(&self) -> String {
        let mut s = String::new();
        for f in self.0.iter().filter(|f| !f.samples.is_empty()) {
            let _ = writeln!(s, "# HELP {} {}", f.name, escape_help(f.help));
            let _ = writeln!(s, "# TYPE {} {}", f.name, f.kind);
            for line in &f.samples {
                s.push_str(line);
            }
        }
        s
    }
}

/// A label value as the exposition format wants it ([`super::escape`]).
pub use super::escape::openmetrics_label as escape_label;

/// HELP text: `\` and newline escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// `2026-11-26T01:56:07.836Z` (collect's `created`) as seconds since the
/// epoch, milliseconds kept exactly: `1795658167.836`. `None` for any other
/// shape.
fn rfc3339_unix(s: &str) -> Option<String> {
    let (secs, frac) = crate::bundle::unix_time(s)?;
    Some(if frac.is_empty() {
        secs.to_string()
    } else {
        format!("{secs}.{frac}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        let mut f = Family::new("x", "gauge", "h");
        f.sample(&[("name", "we\"ird\n")], 1u64);
        f.sample(&[("name", "we\"ird\n")], 2u64);
        assert_eq!(f.samples, ["x{name=\"we\\\"ird\\n\"} 1\n"]);
    }

    #[test]
    fn collect_timestamps_become_epoch_seconds() {
        // `date -u -d 2026-11-26T01:56:07Z +%s`
        assert_eq!(
            rfc3339_unix("2026-11-26T01:56:07.836Z").as_deref(),
            Some("1795658167.836")
        );
        assert_eq!(rfc3339_unix("1970-01-01T00:00:00Z").as_deref(), Some("0"));
        assert_eq!(
            rfc3339_unix("2024-02-29T12:00:00Z").as_deref(),
            Some("1709208000")
        );
        assert_eq!(rfc3339_unix("2026-11-26 01:56:07Z"), None);
        assert_eq!(rfc3339_unix("2026-11-26T01:56:07+01:00"), None);
        assert_eq!(rfc3339_unix(""), None);
    }
}
