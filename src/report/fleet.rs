//! The fleet report's data: many nodes' bundles summarised into one report
//! (`bpfcase fleet`). Plain data, built by `commands::fleet`; the renderers
//! are `fleet_human`, `fleet_json`, `fleet_markdown` and `fleet_html`.
//! Documented in `docs/fleet-report.md`.

use serde::Serialize;

use super::Summary;
use crate::model::finding::{Code, Severity};

/// Version of the fleet JSON shape (`docs/fleet-report.md`).
pub const FLEET_REPORT_VERSION: u32 = 1;

/// Everything a fleet renderer needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetReport {
    pub tool: &'static str,
    pub fleet_report_version: u32,
    pub bpfcase_version: &'static str,
    /// Every bundle given or found, read or not, sorted by path.
    pub bundles: Vec<FleetBundle>,
    /// Per finding code, the bundles it was seen in (sorted by severity, then code).
    pub findings: Vec<FleetFinding>,
    /// Per map name, the variants seen across nodes (sorted by name).
    pub maps: Vec<FleetMap>,
    /// Map names present in some readable bundles only.
    pub partial_maps: Vec<PartialMap>,
    /// Entries of a directory argument that were not taken for bundles.
    pub ignored: Vec<IgnoredPath>,
    pub summary: FleetSummary,
}

/// One node's bundle and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetBundle {
    /// The bundle as named (a file given, or DIR/entry).
    pub path: String,
    /// `manifest.host.hostname`; null when the bundle could not be read.
    pub host: Option<String>,
    /// `manifest.host.kernel_release`.
    pub kernel: Option<String>,
    /// `manifest.created`.
    pub created: Option<String>,
    /// `read`, or `unreadable` (an `input/unreadable` entry says why).
    pub status: String,
    /// Why it could not be read.
    pub error: Option<String>,
    /// Maps the bundle describes.
    pub maps: usize,
    /// Its findings by severity, as `analyze` would count them.
    pub findings: Summary,
}

/// A bundle (node) named in the report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NodeRef {
    pub path: String,
    pub host: Option<String>,
}

/// One finding code and every bundle it was seen in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetFinding {
    pub code: Code,
    /// The highest severity it had in any bundle.
    pub severity: Severity,
    pub bundles: Vec<FindingSeen>,
}

/// One code in one bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingSeen {
    pub path: String,
    pub host: Option<String>,
    /// Findings of this code in the bundle.
    pub count: usize,
    /// The highest severity among them.
    pub severity: Severity,
    /// The maps they concern (names, sorted, each once).
    pub maps: Vec<String>,
    /// The first one's title, in the bundle's report order.
    pub title: String,
}

/// One map name across the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetMap {
    pub name: String,
    /// Readable bundles holding at least one map of this name.
    pub bundles: usize,
    /// What differs between the variants: `type`, `key_size`,
    /// `value_size`, `max_entries`, `key`, `value`, `prog_tags` (empty with
    /// one variant).
    pub differs: Vec<&'static str>,
    /// Distinct definitions, the most widespread first.
    pub variants: Vec<MapVariant>,
}

/// One definition of a map name: what a node's map of that name looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapVariant {
    /// `A`, `B`, …: the variant's label within its map name.
    pub label: String,
    #[serde(rename = "type")]
    pub map_type: Option<String>,
    pub key_size: Option<u64>,
    pub value_size: Option<u64>,
    pub max_entries: Option<u32>,
    /// The key's BTF type; null without BTF.
    pub key: Option<TypeShape>,
    pub value: Option<TypeShape>,
    /// Tags of the programs using the map (sorted; empty when none does).
    pub prog_tags: Vec<String>,
    /// The map instances of this variant: bundle, host, map id.
    pub seen_in: Vec<VariantNode>,
}

/// A key or value type as laid out from BTF.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TypeShape {
    /// First 16 hex digits of the SHA-256 of the layout's canonical text
    /// (name, kind, size, and every member's name, type, bit offset and
    /// bit size, nested structs and unions included): equal layouts, equal
    /// fingerprint, whatever node or load produced them.
    pub fingerprint: String,
    /// One line: `struct flow_value (24 B): packets __u64 @0, …`.
    pub summary: String,
}

/// One map instance of a variant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VariantNode {
    pub path: String,
    pub host: Option<String>,
    pub map_id: Option<u32>,
}

/// A map name some readable bundles lack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartialMap {
    pub name: String,
    pub present: Vec<NodeRef>,
    pub absent: Vec<NodeRef>,
}

/// A directory entry that is not a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredPath {
    pub path: String,
    pub reason: String,
}

/// Totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FleetSummary {
    pub bundles: usize,
    pub read: usize,
    pub unreadable: usize,
    /// Distinct host names among the readable bundles.
    pub hosts: usize,
    /// Map names with more than one variant.
    pub maps_with_variants: usize,
    /// Bundles with at least one finding of each severity.
    pub bundles_with_errors: usize,
    pub bundles_with_warnings: usize,
}

impl FleetReport {
    /// The severities of every finding in every bundle, one per (code,
    /// bundle): what `--fail-on` is checked against.
    pub fn severities(&self) -> impl Iterator<Item = Severity> + '_ {
        self.findings
            .iter()
            .flat_map(|f| f.bundles.iter().map(|b| b.severity))
    }
}

impl FleetReport {
    /// How text renderings name a node: its host name where no other
    /// bundle has the same, else `host (path)`; the path without a host.
    pub(crate) fn node_name(&self, host: Option<&str>, path: &str) -> String {
        match host {
            Some(h)
                if !h.is_empty()
                    && self
                        .bundles
                        .iter()
                        .filter(|b| b.host.as_deref() == Some(h))
                        .count()
                        == 1 =>
            {
                h.to_string()
            }
            _ => node_label(host, path),
        }
    }

    /// The nodes of a variant, each once, named as [`Self::node_name`] does.
    pub(crate) fn variant_nodes(&self, v: &MapVariant) -> String {
        let mut names: Vec<String> = v
            .seen_in
            .iter()
            .map(|n| self.node_name(n.host.as_deref(), &n.path))
            .collect();
        names.dedup();
        names.join(", ")
    }

    /// Nodes named as [`Self::node_name`] does, joined.
    pub(crate) fn node_names(&self, nodes: &[NodeRef]) -> String {
        nodes
            .iter()
            .map(|n| self.node_name(n.host.as_deref(), &n.path))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `host (path)`, or the path alone, for text renderings.
pub(crate) fn node_label(host: Option<&str>, path: &str) -> String {
    match host {
        Some(h) if !h.is_empty() => format!("{h} ({path})"),
        _ => path.to_string(),
    }
}

/// `struct flow_value (24 B) 3fa1…` or `-`, for text renderings.
pub(crate) fn shape_short(s: Option<&TypeShape>) -> String {
    match s {
        Some(s) => format!("{} [{}]", s.summary, s.fingerprint),
        None => "-".to_string(),
    }
}
