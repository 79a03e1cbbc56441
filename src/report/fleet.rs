//! The fleet report's data: many nodes' bundles summarised into one report
//! (`bpfcase fleet`). Plain data, built by `engine::fleet::run`; the renderers
//! are `fleet_human`, `fleet_json`, `fleet_markdown` and `fleet_html`.
//! Documented in `docs/fleet-report.md`.
//!
//! Laid out for a fleet of any size: totals, then what is wrong (each code
//! with how many nodes), then each map name's layouts (live instances by
//! key/value layout, stale ones apart), then the nodes folded into groups of
//! identical nodes; the per-bundle list comes last.

use std::collections::HashMap;

use serde::Serialize;

use super::Summary;
use crate::model::finding::{Code, Severity};

/// Version of the fleet JSON shape (`docs/fleet-report.md`).
pub const FLEET_REPORT_VERSION: u32 = 2;

/// Everything a fleet renderer needs. Fields are in the order every
/// rendering follows (JSON included): totals, findings, maps, groups,
/// then the per-bundle lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetReport {
    pub tool: &'static str,
    pub fleet_report_version: u32,
    pub bpfcase_version: &'static str,
    pub summary: FleetSummary,
    /// Per finding code, the bundles it was seen in (sorted by severity,
    /// then nodes, most first, then code).
    pub findings: Vec<FleetFinding>,
    /// Per map name, its layouts across nodes (sorted by name).
    pub maps: Vec<FleetMap>,
    /// Nodes with the same findings and the same layouts, the largest group first.
    pub groups: Vec<NodeGroup>,
    /// Map names present in some readable bundles only.
    pub partial_maps: Vec<PartialMap>,
    /// Every bundle given or found, read or not, sorted by path.
    pub bundles: Vec<FleetBundle>,
    /// Entries of a directory argument that were not taken for bundles.
    pub ignored: Vec<IgnoredPath>,
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
    /// The label of its group (`groups[]`).
    pub group: String,
}

/// A bundle (node) named in the report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NodeRef {
    pub path: String,
    pub host: Option<String>,
}

/// One finding code across the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetFinding {
    pub code: Code,
    /// The highest severity it had in any bundle.
    pub severity: Severity,
    /// Bundles (nodes) it was seen in.
    pub nodes: usize,
    /// The maps it concerns on any node (names, sorted, each once).
    pub maps: Vec<String>,
    /// The labels of the groups its nodes are in, largest group first.
    pub groups: Vec<String>,
    /// Every bundle it was seen in, sorted by path.
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
    /// Readable bundles holding at least one live map of this name.
    pub bundles: usize,
    /// What differs between the variants: `key_size`, `value_size`,
    /// `key`, `value` (empty with one variant).
    pub differs: Vec<&'static str>,
    /// Distinct layouts of the instances a program uses (or of every
    /// instance, on a node where none of this name is used), the most
    /// widespread first.
    pub variants: Vec<MapVariant>,
    /// Stale instances: used by no program while an instance of the same
    /// name on the same node is. Not variants; grouped by layout.
    pub stale: Vec<StaleInstances>,
}

/// One layout of a map name: key and value sizes and types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapVariant {
    /// `A`, `B`, …: the variant's label within its map name; `A` is the
    /// majority's.
    pub label: String,
    pub key_size: Option<u64>,
    pub value_size: Option<u64>,
    /// The key's BTF type; null without BTF.
    pub key: Option<TypeShape>,
    pub value: Option<TypeShape>,
    /// Distinct nodes holding an instance of it.
    pub nodes: usize,
    /// What differs from variant `A` (`key_size`, `value_size`, `key`,
    /// `value`); empty for `A`.
    pub differs_from_a: Vec<&'static str>,
    /// Map types and max_entries seen among its instances (not part of the
    /// layout; sorted, each once).
    pub types: Vec<String>,
    pub max_entries: Vec<u32>,
    /// Tags of the programs using its instances (sorted, each once).
    pub prog_tags: Vec<String>,
    /// The map instances of this variant: bundle, host, map id.
    pub seen_in: Vec<VariantNode>,
}

/// Stale instances of one layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleInstances {
    /// The variant with this layout, if a used instance has it.
    pub same_as: Option<String>,
    pub key_size: Option<u64>,
    pub value_size: Option<u64>,
    pub key: Option<TypeShape>,
    pub value: Option<TypeShape>,
    /// Distinct nodes holding one.
    pub nodes: usize,
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
    /// `struct flow_value (24 B)`.
    pub name: String,
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

/// Nodes alike: the same findings (code, severity, count, maps) and the
/// same maps with the same layouts (stale ones included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeGroup {
    /// The name of its first node (by path): "17 nodes like node-01".
    pub label: String,
    /// `read`, or `unreadable` (every unreadable bundle is in one group).
    pub status: String,
    /// Its findings by severity (its first node's counts).
    pub findings: Summary,
    pub codes: Vec<GroupCode>,
    pub layouts: Vec<GroupLayout>,
    /// Every node of the group, sorted by path.
    pub nodes: Vec<NodeRef>,
}

/// One finding code on every node of a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GroupCode {
    pub code: Code,
    pub severity: Severity,
    pub count: usize,
    pub maps: Vec<String>,
}

/// One map of a group's nodes and its layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupLayout {
    pub map: String,
    /// The variant's label (for a stale instance: the variant of the same
    /// layout, null when no used instance has it).
    pub variant: Option<String>,
    pub stale: bool,
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
    /// Groups of identical nodes.
    pub groups: usize,
    /// Map names with more than one variant (layout).
    pub maps_with_variants: usize,
    /// Stale map instances, over all nodes.
    pub stale_instances: usize,
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

    /// How renderings name nodes.
    pub(crate) fn names(&self) -> NodeNames {
        NodeNames::new(&self.bundles)
    }
}

/// How renderings name a node: its host name where no other bundle has the
/// same, else `host (path)`; the path without a host. Built once per report.
pub(crate) struct NodeNames {
    hosts: HashMap<String, usize>,
}

impl NodeNames {
    pub(crate) fn new(bundles: &[FleetBundle]) -> Self {
        let mut hosts = HashMap::new();
        for b in bundles {
            if let Some(h) = &b.host {
                *hosts.entry(h.clone()).or_insert(0) += 1;
            }
        }
        NodeNames { hosts }
    }

    pub(crate) fn name(&self, host: Option<&str>, path: &str) -> String {
        match host {
            Some(h) if !h.is_empty() && self.hosts.get(h) == Some(&1) => h.to_string(),
            Some(h) if !h.is_empty() => format!("{h} ({path})"),
            _ => path.to_string(),
        }
    }

    /// The nodes of `nodes` named, each once, in order.
    pub(crate) fn list(&self, nodes: &[VariantNode]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut last: Option<&str> = None;
        for n in nodes {
            if last != Some(n.path.as_str()) {
                out.push(self.name(n.host.as_deref(), &n.path));
            }
            last = Some(&n.path);
        }
        out
    }

    pub(crate) fn refs(&self, nodes: &[NodeRef]) -> Vec<String> {
        nodes
            .iter()
            .map(|n| self.name(n.host.as_deref(), &n.path))
            .collect()
    }
}

/// Names shown before "and N more" in text.
pub(crate) const FOLD_SHOWN: usize = 3;

/// `a, b, c and 14 more` (all of them when at most one more would be hidden).
pub(crate) fn fold(names: &[String], shown: usize) -> String {
    if names.len() <= shown + 1 {
        return names.join(", ");
    }
    format!(
        "{} and {} more",
        names[..shown].join(", "),
        names.len() - shown
    )
}

/// `1 node`, `17 nodes`.
pub(crate) fn nodes(n: usize) -> String {
    super::plural(n as u64, "node", "nodes")
}

/// `value 24 → 32 B`-style differences of `v` from `a`, for text: sizes
/// that changed as `value 24 → 32 B`, same-size layouts that changed as
/// `value layout`.
pub(crate) fn difference(a: &MapVariant, v: &MapVariant) -> String {
    let mut parts = Vec::new();
    parts.extend(side_difference(
        "key",
        (a.key_size, &a.key),
        (v.key_size, &v.key),
    ));
    parts.extend(side_difference(
        "value",
        (a.value_size, &a.value),
        (v.value_size, &v.value),
    ));
    parts.join(", ")
}

type Side<'a> = (Option<u64>, &'a Option<TypeShape>);

fn side_difference(name: &str, a: Side, v: Side) -> Option<String> {
    if a.0 != v.0 {
        Some(format!("{name} {} → {} B", opt(a.0), opt(v.0)))
    } else if a.1 != v.1 {
        Some(format!("{name} layout"))
    } else {
        None
    }
}

/// A value or `?`.
pub(crate) fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

/// `struct flow_value (24 B)` or `-`.
pub(crate) fn shape_name(s: Option<&TypeShape>) -> &str {
    s.map_or("-", |s| s.name.as_str())
}

/// `struct flow_value (24 B): … [3fa1…]` or `-`, for text renderings.
pub(crate) fn shape_long(s: Option<&TypeShape>) -> String {
    match s {
        Some(s) => format!("{} [{}]", s.summary, s.fingerprint),
        None => "-".to_string(),
    }
}

/// `hash max_entries 64` (each distinct value, `/`-joined).
pub(crate) fn kind(v: &MapVariant) -> String {
    let me: Vec<String> = v.max_entries.iter().map(u32::to_string).collect();
    format!(
        "{} max_entries {}",
        if v.types.is_empty() {
            "?".to_string()
        } else {
            v.types.join("/")
        },
        if me.is_empty() {
            "?".to_string()
        } else {
            me.join("/")
        }
    )
}

/// Map names with the same presence, merged: (names, present, absent).
pub(crate) fn partial_rows(report: &FleetReport) -> Vec<(Vec<&str>, &[NodeRef], &[NodeRef])> {
    let mut rows: Vec<(Vec<&str>, &[NodeRef], &[NodeRef])> = Vec::new();
    for p in &report.partial_maps {
        match rows
            .iter_mut()
            .find(|(_, present, _)| *present == p.present.as_slice())
        {
            Some(row) => row.0.push(&p.name),
            None => rows.push((vec![&p.name], &p.present, &p.absent)),
        }
    }
    rows
}

/// What sets a group's maps apart, as text: `layouts flows B, flows_lru B`
/// (maps on a layout other than the majority's A) and `stale flows,
/// flows_lru` (maps with a stale instance); empty on the majority's
/// layouts with nothing stale.
pub(crate) fn group_layouts(g: &NodeGroup) -> String {
    let mut other: Vec<String> = Vec::new();
    let mut stale: Vec<&str> = Vec::new();
    for l in &g.layouts {
        if l.stale {
            if !stale.contains(&l.map.as_str()) {
                stale.push(&l.map);
            }
        } else if let Some(v) = l.variant.as_deref().filter(|v| *v != "A") {
            let s = format!("{} {v}", l.map);
            if !other.contains(&s) {
                other.push(s);
            }
        }
    }
    let mut parts = Vec::new();
    if !other.is_empty() {
        parts.push(format!("layouts {}", other.join(", ")));
    }
    if !stale.is_empty() {
        parts.push(format!("stale {}", stale.join(", ")));
    }
    parts.join("; ")
}

/// Stale instances of maps whose nodes and layout label agree.
pub(crate) struct StaleRow<'a> {
    pub maps: Vec<&'a str>,
    /// The variant of the same layout; a row without one is one map's.
    pub same_as: Option<&'a str>,
    /// Instances, over all its maps.
    pub count: usize,
    /// Its nodes, each once.
    pub on: Vec<&'a VariantNode>,
    /// The first map's stale layout (for a row without `same_as`).
    pub layout: &'a StaleInstances,
}

/// Stale instances of every map, merged where their nodes and their
/// layout's label agree (a reload leaves every map of its program so).
pub(crate) fn stale_rows(report: &FleetReport) -> Vec<StaleRow<'_>> {
    let mut rows: Vec<StaleRow> = Vec::new();
    for m in &report.maps {
        for st in &m.stale {
            let mut on: Vec<&VariantNode> = Vec::new();
            for n in &st.seen_in {
                if on.last().map_or(true, |l| l.path != n.path) {
                    on.push(n);
                }
            }
            let same = |a: &[&VariantNode], b: &[&VariantNode]| {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.path == y.path)
            };
            match rows.iter_mut().find(|r| {
                st.same_as.is_some() && r.same_as == st.same_as.as_deref() && same(&r.on, &on)
            }) {
                Some(r) => {
                    r.maps.push(&m.name);
                    r.count += st.seen_in.len();
                }
                None => rows.push(StaleRow {
                    maps: vec![&m.name],
                    same_as: st.same_as.as_deref(),
                    count: st.seen_in.len(),
                    on,
                    layout: st,
                }),
            }
        }
    }
    rows
}

/// `layout/key-padding ×3, dump/map-full`.
pub(crate) fn group_codes(g: &NodeGroup) -> String {
    g.codes
        .iter()
        .map(|c| {
            if c.count > 1 {
                format!("{} ×{}", c.code.as_str(), c.count)
            } else {
                c.code.as_str().to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// "17 nodes like node-01", "node-11" (a group of one), "2 unreadable bundles".
pub(crate) fn group_title(g: &NodeGroup) -> String {
    if g.status == "unreadable" {
        return super::plural(
            g.nodes.len() as u64,
            "unreadable bundle",
            "unreadable bundles",
        );
    }
    if g.nodes.len() == 1 {
        return g.label.clone();
    }
    format!("{} like {}", nodes(g.nodes.len()), g.label)
}

/// The nodes of a finding as the groups they make up: `2 like node-14,
/// 3 like node-18`, `node-11` (a group of one); past `shown` groups, `and
/// N more groups`. A finding's nodes are always whole groups (a group's
/// nodes have the same findings).
pub(crate) fn finding_groups(report: &FleetReport, f: &FleetFinding, shown: usize) -> String {
    if f.groups.len() > shown + 1 && f.nodes == report.summary.read {
        return "every node read".to_string();
    }
    let parts: Vec<String> = f
        .groups
        .iter()
        .map(
            |label| match report.groups.iter().find(|g| &g.label == label) {
                Some(g) if g.nodes.len() > 1 => format!("{} like {label}", g.nodes.len()),
                _ => label.clone(),
            },
        )
        .collect();
    if parts.len() <= shown + 1 {
        return parts.join(", ");
    }
    format!(
        "{} and {} more groups",
        parts[..shown].join(", "),
        parts.len() - shown
    )
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn fold_names_a_few_and_counts_the_rest() {
        let names: Vec<String> = (1..=5).map(|i| format!("n{i}")).collect();
        assert_eq!(fold(&names[..1], 3), "n1");
        // Hiding one name would take as much room as naming it.
        assert_eq!(fold(&names[..4], 3), "n1, n2, n3, n4");
        assert_eq!(fold(&names, 3), "n1, n2, n3 and 2 more");
        assert_eq!(fold(&[], 3), "");
    }
}
