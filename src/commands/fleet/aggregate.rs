//! Joining the bundle summaries into the fleet report: findings per code
//! with the bundles they were seen in, map names with their variants across
//! nodes, map names some nodes lack, and unreadable bundles as findings.

use std::collections::{BTreeMap, BTreeSet};

use super::summary::{BundleSummary, NodeMap};
use crate::model::finding::{Code, Severity};
use crate::report::fleet::{
    FindingSeen, FleetBundle, FleetFinding, FleetMap, FleetReport, FleetSummary, IgnoredPath,
    MapVariant, NodeRef, PartialMap, TypeShape, VariantNode, FLEET_REPORT_VERSION,
};
use crate::report::Summary;

/// What makes two maps of one name the same variant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct VariantKey {
    map_type: Option<String>,
    key_size: Option<u64>,
    value_size: Option<u64>,
    max_entries: Option<u32>,
    key: Option<TypeShape>,
    value: Option<TypeShape>,
    prog_tags: Vec<String>,
}

impl VariantKey {
    fn of(m: &NodeMap) -> Self {
        VariantKey {
            map_type: m.map_type.clone(),
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            key: m.key.clone(),
            value: m.value.clone(),
            prog_tags: m.prog_tags.clone(),
        }
    }
}

/// The fields in which `variants` are not all equal, in a fixed order.
fn differing<'k>(variants: impl Iterator<Item = &'k VariantKey> + Clone) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            out.push(name);
        }
    };
    let first = variants.clone().next();
    let Some(first) = first else {
        return Vec::new();
    };
    let any = |f: &dyn Fn(&VariantKey) -> bool| variants.clone().any(f);
    check("type", any(&|k| k.map_type != first.map_type));
    check("key_size", any(&|k| k.key_size != first.key_size));
    check("value_size", any(&|k| k.value_size != first.value_size));
    check("max_entries", any(&|k| k.max_entries != first.max_entries));
    check("key", any(&|k| k.key != first.key));
    check("value", any(&|k| k.value != first.value));
    check("prog_tags", any(&|k| k.prog_tags != first.prog_tags));
    out
}

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

/// Builds the report; the order of `summaries` does not matter (everything
/// is sorted), so the same bundles give the same bytes.
pub fn build_report(mut summaries: Vec<BundleSummary>, ignored: Vec<IgnoredPath>) -> FleetReport {
    summaries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut bundles = Vec::new();
    let mut by_code: BTreeMap<Code, Vec<FindingSeen>> = BTreeMap::new();
    let mut by_name: BTreeMap<String, BTreeMap<VariantKey, Vec<VariantNode>>> = BTreeMap::new();
    let mut readable: Vec<NodeRef> = Vec::new();
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
                });
                for c in &node.findings {
                    by_code.entry(c.code).or_default().push(FindingSeen {
                        path: s.path.clone(),
                        host: host.clone(),
                        count: c.count,
                        severity: c.severity,
                        maps: c.maps.clone(),
                        title: c.title.clone(),
                    });
                }
                for m in &node.maps {
                    by_name
                        .entry(m.name.clone())
                        .or_default()
                        .entry(VariantKey::of(m))
                        .or_default()
                        .push(VariantNode {
                            path: s.path.clone(),
                            host: host.clone(),
                            map_id: m.id,
                        });
                }
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
            }
        }
    }
    let mut findings: Vec<FleetFinding> = by_code
        .into_iter()
        .map(|(code, mut seen)| {
            seen.sort_by(|a, b| a.path.cmp(&b.path));
            FleetFinding {
                code,
                severity: seen
                    .iter()
                    .map(|s| s.severity)
                    .max()
                    .unwrap_or(Severity::Info),
                bundles: seen,
            }
        })
        .collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));

    let mut maps = Vec::new();
    let mut partial_maps = Vec::new();
    for (name, variants) in by_name {
        let present: BTreeSet<String> = variants
            .values()
            .flatten()
            .map(|n| n.path.clone())
            .collect();
        if present.len() < readable.len() {
            let (here, absent): (Vec<NodeRef>, Vec<NodeRef>) = readable
                .iter()
                .cloned()
                .partition(|n| present.contains(&n.path));
            partial_maps.push(PartialMap {
                name: name.clone(),
                present: here,
                absent,
            });
        }
        let mut variants: Vec<(VariantKey, Vec<VariantNode>)> = variants.into_iter().collect();
        // The most widespread definition first; ties in key order.
        variants.sort_by(|(ka, na), (kb, nb)| nb.len().cmp(&na.len()).then(ka.cmp(kb)));
        let differs = differing(variants.iter().map(|(k, _)| k));
        maps.push(FleetMap {
            name,
            bundles: present.len(),
            differs,
            variants: variants
                .into_iter()
                .enumerate()
                .map(|(i, (k, mut nodes))| {
                    nodes.sort();
                    MapVariant {
                        label: label(i),
                        map_type: k.map_type,
                        key_size: k.key_size,
                        value_size: k.value_size,
                        max_entries: k.max_entries,
                        key: k.key,
                        value: k.value,
                        prog_tags: k.prog_tags,
                        seen_in: nodes,
                    }
                })
                .collect(),
        });
    }

    let hosts: BTreeSet<&str> = readable.iter().filter_map(|n| n.host.as_deref()).collect();
    let summary = FleetSummary {
        bundles: bundles.len(),
        read: readable.len(),
        unreadable: bundles.len() - readable.len(),
        hosts: hosts.len(),
        maps_with_variants: maps.iter().filter(|m| m.variants.len() > 1).count(),
        bundles_with_errors: bundles.iter().filter(|b| b.findings.error > 0).count(),
        bundles_with_warnings: bundles.iter().filter(|b| b.findings.warning > 0).count(),
    };
    FleetReport {
        tool: "bpfcase",
        fleet_report_version: FLEET_REPORT_VERSION,
        bpfcase_version: env!("CARGO_PKG_VERSION"),
        bundles,
        findings,
        maps,
        partial_maps,
        ignored,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn labels_run_past_z() {
        assert_eq!(label(0), "A");
        assert_eq!(label(25), "Z");
        assert_eq!(label(26), "AA");
        assert_eq!(label(27), "AB");
        assert_eq!(label(26 + 26 * 26), "AAA");
    }
}
