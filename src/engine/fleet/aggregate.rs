//! Joining the bundle summaries into the fleet report: findings per code
//! with the nodes they were seen on, map names with their layouts across
//! nodes (stale instances apart), nodes folded into groups of identical
//! nodes, map names some nodes lack, and unreadable bundles as findings.
//!
//! Rules (`docs/fleet.md`):
//! - a **variant** is one layout of a map name: key size, value size, key
//!   and value type layouts (fingerprints). Map type, max_entries and
//!   program tags are listed with it but do not make a variant;
//! - an instance is **stale** when no program uses it while an instance of
//!   the same name on the same node is used (a reload's leftover pin): it is
//!   listed apart and is no variant;
//! - two nodes are in one **group** when they have the same findings
//!   (code, severity, count, maps) and the same maps with the same layouts,
//!   stale instances included; every unreadable bundle is in one group.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::summary::{BundleSummary, NodeMap, NodeSummary};
use crate::model::finding::{Code, Severity};
use crate::report::fleet::{
    FindingSeen, FleetBundle, FleetFinding, FleetMap, FleetReport, FleetSummary, GroupCode,
    GroupLayout, IgnoredPath, MapVariant, NodeGroup, NodeNames, NodeRef, PartialMap,
    StaleInstances, TypeShape, VariantNode, FLEET_REPORT_VERSION,
};
use crate::report::Summary;

/// What makes two maps of one name the same variant: the layout only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct LayoutKey {
    key_size: Option<u64>,
    value_size: Option<u64>,
    key: Option<TypeShape>,
    value: Option<TypeShape>,
}

impl LayoutKey {
    fn of(m: &NodeMap) -> Self {
        LayoutKey {
            key_size: m.key_size,
            value_size: m.value_size,
            key: m.key.clone(),
            value: m.value.clone(),
        }
    }

    /// The fields in which `self` and `other` differ, in a fixed order.
    fn differing(&self, other: &LayoutKey) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.key_size != other.key_size {
            out.push("key_size");
        }
        if self.value_size != other.value_size {
            out.push("value_size");
        }
        if self.key != other.key {
            out.push("key");
        }
        if self.value != other.value {
            out.push("value");
        }
        out
    }
}

/// The instances of one layout of one map name.
#[derive(Debug, Default)]
struct VariantAcc {
    types: BTreeSet<String>,
    max_entries: BTreeSet<u32>,
    tags: BTreeSet<String>,
    nodes: Vec<VariantNode>,
}

/// One map name across the fleet, while reading.
#[derive(Debug, Default)]
struct NameAcc {
    live: BTreeMap<LayoutKey, VariantAcc>,
    stale: BTreeMap<LayoutKey, Vec<VariantNode>>,
    present: BTreeSet<String>,
}

/// What makes two nodes alike: status, findings, maps and layouts.
type GroupKey = (bool, Vec<GroupCode>, Vec<(String, LayoutKey, bool)>);

/// `A`…`Z`, then `AA`, `AB`, …
fn label(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Which of a node's maps are stale: used by no program while an instance
/// of the same name on the node is.
fn stale_flags(node: &NodeSummary) -> Vec<bool> {
    let used: HashSet<&str> = node
        .maps
        .iter()
        .filter(|m| m.used)
        .map(|m| m.name.as_str())
        .collect();
    node.maps
        .iter()
        .map(|m| !m.used && used.contains(m.name.as_str()))
        .collect()
}

/// Distinct paths among `nodes` (sorted by path).
fn distinct(nodes: &[VariantNode]) -> usize {
    let mut n = 0;
    let mut last: Option<&str> = None;
    for v in nodes {
        if last != Some(v.path.as_str()) {
            n += 1;
        }
        last = Some(&v.path);
    }
    n
}

/// Builds the report; the order of `summaries` does not matter (everything
/// is sorted), so the same bundles give the same bytes.
pub fn build_report(mut summaries: Vec<BundleSummary>, ignored: Vec<IgnoredPath>) -> FleetReport {
    summaries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut bundles = Vec::new();
    let mut by_code: BTreeMap<Code, Vec<FindingSeen>> = BTreeMap::new();
    let mut by_name: BTreeMap<String, NameAcc> = BTreeMap::new();
    let mut readable: Vec<NodeRef> = Vec::new();
    // Per bundle (in `bundles` order): its group key.
    let mut keys: Vec<GroupKey> = Vec::new();
    for s in &summaries {
        match &s.outcome {
            Ok(node) => {
                let host = Some(node.host.clone());
                readable.push(NodeRef {
                    path: s.path.clone(),
                    host: host.clone(),
                });
                bundles.push(FleetBundle {
                    path: s.path.clone(),
                    host: host.clone(),
                    kernel: Some(node.kernel.clone()),
                    created: Some(node.created.clone()),
                    status: "read".into(),
                    error: None,
                    maps: node.maps.len(),
                    findings: node.counts,
                    group: String::new(),
                });
                let mut codes = Vec::new();
                for c in &node.findings {
                    by_code.entry(c.code).or_default().push(FindingSeen {
                        path: s.path.clone(),
                        host: host.clone(),
                        count: c.count,
                        severity: c.severity,
                        maps: c.maps.clone(),
                        title: c.title.clone(),
                    });
                    codes.push(GroupCode {
                        code: c.code,
                        severity: c.severity,
                        count: c.count,
                        maps: c.maps.clone(),
                    });
                }
                let mut layouts = Vec::new();
                for (m, stale) in node.maps.iter().zip(stale_flags(node)) {
                    let acc = by_name.entry(m.name.clone()).or_default();
                    acc.present.insert(s.path.clone());
                    let at = VariantNode {
                        path: s.path.clone(),
                        host: host.clone(),
                        map_id: m.id,
                    };
                    let key = LayoutKey::of(m);
                    if stale {
                        acc.stale.entry(key.clone()).or_default().push(at);
                    } else {
                        let v = acc.live.entry(key.clone()).or_default();
                        v.types.extend(m.map_type.clone());
                        v.max_entries.extend(m.max_entries);
                        v.tags.extend(m.prog_tags.iter().cloned());
                        v.nodes.push(at);
                    }
                    layouts.push((m.name.clone(), key, stale));
                }
                layouts.sort();
                keys.push((true, codes, layouts));
            }
            Err(why) => {
                bundles.push(FleetBundle {
                    path: s.path.clone(),
                    host: None,
                    kernel: None,
                    created: None,
                    status: "unreadable".into(),
                    error: Some(why.clone()),
                    maps: 0,
                    findings: Summary {
                        error: 1,
                        ..Summary::default()
                    },
                    group: String::new(),
                });
                // A node the report can say nothing about is an error.
                by_code
                    .entry(Code::InputUnreadable)
                    .or_default()
                    .push(FindingSeen {
                        path: s.path.clone(),
                        host: None,
                        count: 1,
                        severity: Severity::Error,
                        maps: Vec::new(),
                        // Bundle errors name the path already.
                        title: if why.starts_with(&s.path) {
                            format!("bundle could not be read: {why}")
                        } else {
                            format!("bundle could not be read: {}: {why}", s.path)
                        },
                    });
                keys.push((false, Vec::new(), Vec::new()));
            }
        }
    }
    let names = NodeNames::new(&bundles);

    // Map names: live layouts as variants, the majority's first.
    let mut maps = Vec::new();
    let mut partial_maps = Vec::new();
    // (name, layout) → the variant's label.
    let mut labels: HashMap<(String, LayoutKey), String> = HashMap::new();
    for (name, acc) in by_name {
        if acc.present.len() < readable.len() {
            let (here, absent): (Vec<NodeRef>, Vec<NodeRef>) = readable
                .iter()
                .cloned()
                .partition(|n| acc.present.contains(&n.path));
            partial_maps.push(PartialMap {
                name: name.clone(),
                present: here,
                absent,
            });
        }
        let mut live: Vec<(LayoutKey, VariantAcc, usize)> = acc
            .live
            .into_iter()
            .map(|(k, mut v)| {
                v.nodes.sort();
                let n = distinct(&v.nodes);
                (k, v, n)
            })
            .collect();
        // The most widespread layout first; ties in key order.
        live.sort_by(|(ka, _, na), (kb, _, nb)| nb.cmp(na).then(ka.cmp(kb)));
        let first = live.first().map(|(k, _, _)| k.clone());
        let mut differs: Vec<&'static str> = Vec::new();
        let mut variants = Vec::new();
        for (i, (k, v, n)) in live.into_iter().enumerate() {
            let from_a = first.as_ref().map(|a| a.differing(&k)).unwrap_or_default();
            for d in &from_a {
                if !differs.contains(d) {
                    differs.push(d);
                }
            }
            labels.insert((name.clone(), k.clone()), label(i));
            variants.push(MapVariant {
                label: label(i),
                key_size: k.key_size,
                value_size: k.value_size,
                key: k.key,
                value: k.value,
                nodes: n,
                differs_from_a: from_a,
                types: v.types.into_iter().collect(),
                max_entries: v.max_entries.into_iter().collect(),
                prog_tags: v.tags.into_iter().collect(),
                seen_in: v.nodes,
            });
        }
        let order = ["key_size", "value_size", "key", "value"];
        differs.sort_by_key(|d| order.iter().position(|o| o == d));
        let stale = acc
            .stale
            .into_iter()
            .map(|(k, mut seen_in)| {
                seen_in.sort();
                StaleInstances {
                    same_as: labels.get(&(name.clone(), k.clone())).cloned(),
                    key_size: k.key_size,
                    value_size: k.value_size,
                    key: k.key,
                    value: k.value,
                    nodes: distinct(&seen_in),
                    seen_in,
                }
            })
            .collect();
        maps.push(FleetMap {
            name,
            bundles: acc.present.len(),
            differs,
            variants,
            stale,
        });
    }

    // Groups of identical nodes, the largest first.
    let mut by_key: BTreeMap<&GroupKey, Vec<usize>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        by_key.entry(k).or_default().push(i);
    }
    let mut groups: Vec<NodeGroup> = by_key
        .into_iter()
        .map(|((read, codes, layouts), members)| {
            let first = &bundles[members[0]];
            NodeGroup {
                label: names.name(first.host.as_deref(), &first.path),
                status: first.status.clone(),
                findings: first.findings,
                codes: codes.clone(),
                layouts: if *read {
                    layouts
                        .iter()
                        .map(|(map, key, stale)| GroupLayout {
                            map: map.clone(),
                            variant: labels.get(&(map.clone(), key.clone())).cloned(),
                            stale: *stale,
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                nodes: members
                    .iter()
                    .map(|&i| NodeRef {
                        path: bundles[i].path.clone(),
                        host: bundles[i].host.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        (b.status == "read")
            .cmp(&(a.status == "read"))
            .then(b.nodes.len().cmp(&a.nodes.len()))
            .then(a.nodes[0].path.cmp(&b.nodes[0].path))
    });
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for (gi, g) in groups.iter().enumerate() {
        for n in &g.nodes {
            group_of.insert(n.path.clone(), gi);
        }
    }
    for b in &mut bundles {
        if let Some(&gi) = group_of.get(&b.path) {
            b.group = groups[gi].label.clone();
        }
    }

    let mut findings: Vec<FleetFinding> = by_code
        .into_iter()
        .map(|(code, mut seen)| {
            seen.sort_by(|a, b| a.path.cmp(&b.path));
            let maps: BTreeSet<String> = seen.iter().flat_map(|s| s.maps.clone()).collect();
            let in_groups: BTreeSet<usize> = seen
                .iter()
                .filter_map(|s| group_of.get(&s.path).copied())
                .collect();
            FleetFinding {
                code,
                severity: seen
                    .iter()
                    .map(|s| s.severity)
                    .max()
                    .unwrap_or(Severity::Info),
                nodes: seen.len(),
                maps: maps.into_iter().collect(),
                groups: in_groups
                    .into_iter()
                    .map(|gi| groups[gi].label.clone())
                    .collect(),
                bundles: seen,
            }
        })
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.nodes.cmp(&a.nodes))
            .then(a.code.cmp(&b.code))
    });

    let hosts: BTreeSet<&str> = readable.iter().filter_map(|n| n.host.as_deref()).collect();
    let summary = FleetSummary {
        bundles: bundles.len(),
        read: readable.len(),
        unreadable: bundles.len() - readable.len(),
        hosts: hosts.len(),
        groups: groups.len(),
        maps_with_variants: maps.iter().filter(|m| m.variants.len() > 1).count(),
        stale_instances: maps
            .iter()
            .flat_map(|m| &m.stale)
            .map(|s| s.seen_in.len())
            .sum(),
        bundles_with_errors: bundles.iter().filter(|b| b.findings.error > 0).count(),
        bundles_with_warnings: bundles.iter().filter(|b| b.findings.warning > 0).count(),
    };
    FleetReport {
        tool: "bpfcase",
        fleet_report_version: FLEET_REPORT_VERSION,
        bpfcase_version: env!("CARGO_PKG_VERSION"),
        summary,
        findings,
        maps,
        groups,
        partial_maps,
        bundles,
        ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::super::summary::{BundleSummary, CodeCount, NodeMap, NodeSummary};
    use super::{build_report, label};
    use crate::model::finding::{Code, Severity};
    use crate::report::fleet::TypeShape;

    fn shape(name: &str, size: u64) -> Option<TypeShape> {
        Some(TypeShape {
            fingerprint: format!("{name}-{size}"),
            name: format!("struct {name} ({size} B)"),
            summary: format!("struct {name} ({size} B)"),
        })
    }

    fn map(id: u32, value_size: u64, max_entries: u32, used: bool, tag: &str) -> NodeMap {
        NodeMap {
            id: Some(id),
            name: "flows".into(),
            map_type: Some("hash".into()),
            key_size: Some(16),
            value_size: Some(value_size),
            max_entries: Some(max_entries),
            key: shape("flow_key", 16),
            value: shape("flow_value", value_size),
            prog_tags: if used { vec![tag.into()] } else { Vec::new() },
            used,
        }
    }

    fn node(host: &str, maps: Vec<NodeMap>, findings: Vec<CodeCount>) -> BundleSummary {
        BundleSummary {
            path: format!("b/{host}.tar"),
            outcome: Ok(NodeSummary {
                host: host.into(),
                maps,
                findings,
                ..NodeSummary::default()
            }),
        }
    }

    /// Layouts make variants; max_entries and program tags do not; an
    /// unused instance beside a used one is stale, apart; nodes with the
    /// same findings and layouts are one group.
    #[test]
    fn variants_are_layouts_and_stale_instances_are_apart() {
        let full = CodeCount {
            code: Code::DumpMapFull,
            count: 1,
            severity: Severity::Warning,
            maps: vec!["flows".into()],
            title: "full".into(),
        };
        let report = build_report(
            vec![
                node("n1", vec![map(1, 24, 64, true, "aa")], Vec::new()),
                node("n2", vec![map(2, 24, 128, true, "bb")], Vec::new()),
                node("n3", vec![map(3, 24, 64, true, "aa")], Vec::new()),
                node("n4", vec![map(4, 32, 64, true, "cc")], Vec::new()),
                node(
                    "n5",
                    vec![map(5, 24, 64, false, ""), map(6, 24, 64, true, "aa")],
                    vec![full.clone()],
                ),
                // Used by no program, and nothing of its name is: a variant.
                node("n6", vec![map(7, 40, 64, false, "")], Vec::new()),
            ],
            Vec::new(),
        );
        let flows = &report.maps[0];
        let v: Vec<(&str, Option<u64>, usize, &[u32])> = flows
            .variants
            .iter()
            .map(|v| {
                (
                    v.label.as_str(),
                    v.value_size,
                    v.nodes,
                    v.max_entries.as_slice(),
                )
            })
            .collect();
        assert_eq!(
            v,
            [
                ("A", Some(24), 4, &[64, 128][..]),
                ("B", Some(32), 1, &[64][..]),
                ("C", Some(40), 1, &[64][..])
            ]
        );
        assert_eq!(flows.variants[1].differs_from_a, ["value_size", "value"]);
        assert_eq!(flows.stale.len(), 1);
        assert_eq!(flows.stale[0].same_as.as_deref(), Some("A"));
        assert_eq!(flows.stale[0].seen_in[0].map_id, Some(5));
        let groups: Vec<(&str, usize)> = report
            .groups
            .iter()
            .map(|g| (g.label.as_str(), g.nodes.len()))
            .collect();
        assert_eq!(groups, [("n1", 3), ("n4", 1), ("n5", 1), ("n6", 1)]);
        assert_eq!(report.summary.stale_instances, 1);
        assert_eq!(report.findings[0].groups, ["n5"]);
    }

    #[test]
    fn labels_run_past_z() {
        assert_eq!(label(0), "A");
        assert_eq!(label(25), "Z");
        assert_eq!(label(26), "AA");
        assert_eq!(label(27), "AB");
        assert_eq!(label(26 + 26 * 26), "AAA");
    }
}
