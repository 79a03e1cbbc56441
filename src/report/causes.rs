//! Root causes: which findings explain which. Built once, when the
//! [`Report`](super::Report) is built, so every renderer shows the same
//! index and the same folding (`docs/findings.md`, "How findings fold").
//!
//! Every finding gets a stable id ([`finding_id`]): `F-` and the first 8 hex
//! digits of the SHA-256 of its code, map name, map id, evidence (compact
//! JSON, keys sorted) and sources (`file:line`/`@offset`). It depends on what
//! the finding says, never on its position; a second finding saying exactly
//! the same thing gets `-2` (then `-3`, …) in report order.
//!
//! Findings fold into one cause when the evidence ties them:
//!
//! - **one reload**: `maps/stale-pin`, `maps/duplicate-name` and
//!   `lookup/wrong-map` that share an old map instance (the pinned, unused
//!   or called map id) or a program using the new instances;
//! - **one fact on several maps**: `layout/key-padding` of one key type
//!   with the same padding bytes, `dump/key-padding-garbage` and
//!   `dump/value-padding-garbage` of one type with the same padding and the
//!   same garbage offsets;
//! - **consequences**: `update/map-full` under the `dump/map-full` of the
//!   same map; a `layout/key-padding` under each finding its `shown_by`
//!   names on the same map (`lookup/padding-miss`,
//!   `dump/key-padding-garbage`); the later differences of a compared pair
//!   (same `layouts`) under its first divergence (`root_cause`).
//!
//! Each group's head (the cause) is its member that is no consequence,
//! most severe, `lookup/wrong-map` before `maps/stale-pin` before the rest,
//! then first in report order. Causes are ordered by severity, then how
//! many findings they explain, then how many maps they concern, then their
//! head's report order.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::finding::{Code, Finding, MapRef, Severity};

/// A finding's place in the causes: its id, and the id of the cause it is
/// folded under (null for a cause's head).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingLink {
    pub id: String,
    pub caused_by: Option<String>,
}

/// One root cause: its head finding's id, the severity of its most severe
/// part, the head's code, the maps its parts concern, a one-sentence title
/// and its parts (the head's id first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub id: String,
    pub severity: Severity,
    pub code: Code,
    pub maps: Vec<MapRef>,
    pub title: String,
    pub parts: Vec<String>,
    /// Indexes into the report's findings: the head first, then the other
    /// parts in report order.
    #[serde(skip)]
    pub members: Vec<usize>,
}

impl Cause {
    /// The head finding's index.
    pub fn head(&self) -> usize {
        self.members[0]
    }

    /// The folded parts (all but the head).
    pub fn folded(&self) -> &[usize] {
        &self.members[1..]
    }

    /// `conns`, `flows, flows_small`: the distinct names of its maps.
    pub fn map_names(&self) -> Vec<&str> {
        // `maps` is sorted by name, then id.
        let mut names: Vec<&str> = self.maps.iter().map(|m| m.name.as_str()).collect();
        names.dedup();
        names
    }
}

/// The links (one per finding, in report order) and the causes, in index
/// order.
pub fn build(findings: &[Finding]) -> (Vec<FindingLink>, Vec<Cause>) {
    let ids = ids(findings);
    let n = findings.len();
    let mut uf = UnionFind::new(n);
    let mut consequence = vec![false; n];

    // One reload.
    let reload: Vec<(usize, Instances)> = findings
        .iter()
        .enumerate()
        .filter_map(|(i, f)| reload_instances(f).map(|r| (i, r)))
        .collect();
    for (a, (i, ri)) in reload.iter().enumerate() {
        for (j, rj) in &reload[a + 1..] {
            if !ri.old.is_disjoint(&rj.old) || !ri.progs.is_disjoint(&rj.progs) {
                uf.union(*i, *j);
            }
        }
    }
    // One fact on several maps.
    let mut facts: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        if let Some(k) = fact_key(f) {
            facts.entry(k).or_default().push(i);
        }
    }
    for group in facts.values() {
        for &j in &group[1..] {
            uf.union(group[0], j);
        }
    }
    // Consequences.
    for (i, f) in findings.iter().enumerate() {
        let causes: Vec<Code> = match f.code {
            Code::UpdateMapFull => vec![Code::DumpMapFull],
            Code::LayoutKeyPadding => f
                .evidence
                .get("shown_by")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str())
                .filter_map(|s| Code::ALL.iter().copied().find(|c| c.as_str() == s))
                .collect(),
            _ => continue,
        };
        for (j, g) in findings.iter().enumerate() {
            if j != i && causes.contains(&g.code) && same_map(f.map.as_ref(), g.map.as_ref()) {
                uf.union(i, j);
                consequence[i] = true;
            }
        }
    }

    // The later differences of a compared pair under its first divergence
    // (the analysis marks it `root_cause`; the pair is its `layouts`).
    for (i, f) in findings.iter().enumerate() {
        let Some(pair) = f.evidence.get("layouts").filter(|_| f.root_cause) else {
            continue;
        };
        for (j, g) in findings.iter().enumerate() {
            if j != i && !g.root_cause && g.evidence.get("layouts") == Some(pair) {
                uf.union(i, j);
                consequence[j] = true;
            }
        }
    }

    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        groups.entry(uf.find(i)).or_default().push(i);
    }
    let mut causes: Vec<Cause> = groups
        .into_values()
        .map(|members| {
            let rank = |i: usize| {
                let f = &findings[i];
                let code_rank = match f.code {
                    Code::LookupWrongMap => 2,
                    Code::MapsStalePin => 1,
                    _ => 0,
                };
                (!consequence[i], f.severity, code_rank, std::cmp::Reverse(i))
            };
            let head = members
                .iter()
                .copied()
                .max_by_key(|&i| rank(i))
                .unwrap_or(0);
            let mut ordered = vec![head];
            ordered.extend(members.iter().copied().filter(|&i| i != head));
            let mut maps: Vec<MapRef> = ordered
                .iter()
                .filter_map(|&i| findings[i].map.clone())
                .collect();
            maps.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
            maps.dedup();
            let severity = ordered
                .iter()
                .map(|&i| findings[i].severity)
                .max()
                .unwrap_or(Severity::Info);
            let reload_parts = ordered
                .iter()
                .filter(|&&i| reload_instances(&findings[i]).is_some())
                .count();
            let title = if reload_parts > 1 {
                reload_title(findings, &ordered)
            } else {
                findings[head].title.clone()
            };
            Cause {
                id: ids[head].clone(),
                severity,
                code: findings[head].code,
                maps,
                title,
                parts: ordered.iter().map(|&i| ids[i].clone()).collect(),
                members: ordered,
            }
        })
        .collect();
    causes.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.members.len().cmp(&a.members.len()))
            .then(b.maps.len().cmp(&a.maps.len()))
            .then(a.head().cmp(&b.head()))
    });
    let mut links: Vec<FindingLink> = ids
        .iter()
        .map(|id| FindingLink {
            id: id.clone(),
            caused_by: None,
        })
        .collect();
    for c in &causes {
        for &i in c.folded() {
            links[i].caused_by = Some(c.id.clone());
        }
    }
    (links, causes)
}

/// The id of one finding (before collisions are numbered).
pub fn finding_id(f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.code.as_str());
    h.update([0]);
    if let Some(m) = &f.map {
        h.update(&m.name);
        h.update([0]);
        h.update(m.id.map(|i| i.to_string()).unwrap_or_default());
    }
    h.update([0]);
    h.update(path_free(&f.evidence).to_string());
    for s in &f.sources {
        h.update([0]);
        h.update(last_component(&super::source_location(s)));
    }
    let digest = h.finalize();
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("F-{hex}")
}

/// The last `/` component of a string: the id of a finding must not depend
/// on where its inputs sit (`/home/a/case.tar` and `case.tar` give one id).
fn last_component(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// `v` with every string cut to its last `/` component (see
/// [`last_component`]); only hashed, never shown.
fn path_free(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(last_component(s).to_string()),
        Value::Array(a) => Value::Array(a.iter().map(path_free).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), path_free(v))).collect())
        }
        other => other.clone(),
    }
}

/// Every finding's id, collisions numbered in report order.
fn ids(findings: &[Finding]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    findings
        .iter()
        .map(|f| {
            let id = finding_id(f);
            let n = seen.entry(id.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                id
            } else {
                format!("{id}-{n}")
            }
        })
        .collect()
}

/// Whether two findings concern the same map: the same id where both have
/// one, else the same name.
fn same_map(a: Option<&MapRef>, b: Option<&MapRef>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => match (a.id, b.id) {
            (Some(x), Some(y)) => x == y,
            _ => a.name == b.name,
        },
        _ => false,
    }
}

/// What a reload finding names: the old instances (pinned, unused or
/// called map ids) and the programs that use the new ones.
struct Instances {
    old: BTreeSet<u64>,
    progs: BTreeSet<u64>,
}

fn ids_of(v: Option<&serde_json::Value>) -> impl Iterator<Item = u64> + '_ {
    v.and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_u64())
}

fn reload_instances(f: &Finding) -> Option<Instances> {
    let e = &f.evidence;
    let mut r = Instances {
        old: BTreeSet::new(),
        progs: BTreeSet::new(),
    };
    match f.code {
        Code::MapsStalePin => {
            r.old
                .extend(e.get("pinned_map_id").and_then(|v| v.as_u64()));
            r.progs.extend(ids_of(e.get("live_map_prog_ids")));
        }
        Code::MapsDuplicateName => {
            r.old.extend(ids_of(e.get("unused")));
            for inst in e
                .get("instances")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                r.progs.extend(ids_of(inst.get("prog_ids")));
            }
        }
        Code::LookupWrongMap => {
            r.old.extend(
                e.get("map")
                    .and_then(|m| m.get("id"))
                    .and_then(|v| v.as_u64()),
            );
            for inst in e
                .get("used_instances")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                r.progs.extend(ids_of(inst.get("prog_ids")));
            }
        }
        _ => return None,
    }
    Some(r)
}

/// What makes two findings on different maps one fact: the code, the type
/// and the bytes (padding, garbage offsets). `None` for codes that do not
/// fold this way.
fn fact_key(f: &Finding) -> Option<String> {
    let e = &f.evidence;
    let parts = match f.code {
        Code::LayoutKeyPadding => vec![e.get("key_type")?, e.get("key_size")?, e.get("padding")?],
        Code::DumpKeyPaddingGarbage | Code::DumpValuePaddingGarbage => vec![
            e.get("type")?,
            e.get("size")?,
            e.get("padding")?,
            e.get("garbage_offsets")?,
        ],
        _ => return None,
    };
    Some(format!("{} {}", f.code.as_str(), serde_json::json!(parts)))
}

/// `a reload of program 102058 left 3 old maps that no program uses, still
/// pinned (conns 34521, slots 34522, tiny 34523); workload (pid 11078)
/// made 40 calls on the old conns 34521`.
fn reload_title(findings: &[Finding], members: &[usize]) -> String {
    let mut old: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut progs: BTreeSet<u64> = BTreeSet::new();
    let mut pinned = false;
    let mut calls = Vec::new();
    for &i in members {
        let f = &findings[i];
        let Some(r) = reload_instances(f) else {
            continue;
        };
        let name = f.map.as_ref().map(|m| m.name.clone()).unwrap_or_default();
        old.extend(r.old.iter().map(|&id| (name.clone(), id)));
        progs.extend(r.progs);
        pinned |= f.code == Code::MapsStalePin;
        if f.code == Code::LookupWrongMap {
            let callers: Vec<&str> = f
                .evidence
                .get("callers")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str())
                .collect();
            let n = f
                .evidence
                .get("calls")
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            calls.push(format!(
                "{} made {} on the old {} {}",
                if callers.is_empty() {
                    "a process".to_string()
                } else {
                    callers.join(", ")
                },
                super::plural(n, "call", "calls"),
                name,
                r.old
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let list = |s: &BTreeSet<(String, u64)>| {
        s.iter()
            .map(|(n, i)| format!("{n} {i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let by = match progs.len() {
        0 => String::new(),
        1 => format!(" of program {}", progs.iter().next().copied().unwrap_or(0)),
        _ => format!(
            " of programs {}",
            progs
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut title = format!(
        "a reload{by} left {} that no program uses{} ({})",
        super::plural(old.len() as u64, "old map", "old maps"),
        if pinned { ", still pinned" } else { "" },
        list(&old),
    );
    for c in calls {
        title.push_str("; ");
        title.push_str(&c);
    }
    title
}

/// A plain union-find over finding indexes.
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        // The smaller index stays the root: groups are keyed by their first
        // member, in report order.
        if a < b {
            self.parent[b] = a;
        } else if b < a {
            self.parent[a] = b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(code: Code, sev: Severity, map: (&str, u32), ev: serde_json::Value) -> Finding {
        Finding::new(code, sev, format!("{} on {}", code.as_str(), map.0))
            .with_map(Some(MapRef {
                id: Some(map.1),
                name: map.0.to_string(),
            }))
            .with_evidence(ev)
    }

    #[test]
    fn update_map_full_folds_under_dump_map_full_of_its_map_only() {
        let fs = vec![
            f(Code::DumpMapFull, Severity::Error, ("tiny", 1), json!({})),
            f(Code::UpdateMapFull, Severity::Error, ("tiny", 1), json!({})),
            f(Code::UpdateMapFull, Severity::Error, ("big", 2), json!({})),
        ];
        let (links, causes) = build(&fs);
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].members, vec![0, 1]);
        assert_eq!(causes[0].code, Code::DumpMapFull);
        assert_eq!(links[1].caused_by.as_deref(), Some(links[0].id.as_str()));
        assert_eq!(links[2].caused_by, None);
        assert_eq!(links[0].caused_by, None);
    }

    #[test]
    fn one_reload_is_one_cause_and_another_program_is_another() {
        let stale = |name: &str, old: u32, new: u32, prog: u32| {
            f(
                Code::MapsStalePin,
                Severity::Error,
                (name, old),
                json!({"pinned_map_id": old, "live_map_ids": [new], "live_map_prog_ids": [prog]}),
            )
        };
        let fs = vec![
            stale("a", 1, 11, 100),
            stale("b", 2, 12, 100),
            stale("c", 3, 13, 200),
            f(
                Code::MapsDuplicateName,
                Severity::Warning,
                ("a", 1),
                json!({"name": "a", "unused": [1], "used_by_programs": [11],
                       "instances": [{"id": 1, "prog_ids": []}, {"id": 11, "prog_ids": [100]}]}),
            ),
        ];
        let (_, causes) = build(&fs);
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].members, vec![0, 1, 3]);
        assert_eq!(
            causes[0].title,
            "a reload of program 100 left 2 old maps that no program uses, still pinned (a 1, b 2)"
        );
        assert_eq!(causes[1].members, vec![2]);
    }

    #[test]
    fn the_same_padding_on_two_maps_is_one_cause_and_another_type_is_not() {
        let kp = |name: &str, id: u32, ty: &str| {
            f(
                Code::LayoutKeyPadding,
                Severity::Info,
                (name, id),
                json!({"key_type": ty, "key_size": 16, "padding": [{"offset": 6, "size": 2}]}),
            )
        };
        let fs = vec![kp("a", 1, "k"), kp("b", 2, "k"), kp("c", 3, "other")];
        let (links, causes) = build(&fs);
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].members, vec![0, 1]);
        assert_eq!(causes[0].maps.len(), 2);
        assert_ne!(links[0].id, links[1].id);
    }

    #[test]
    fn a_pairs_later_differences_fold_under_its_first_divergence() {
        let pair = json!({"layouts": {"btf": {"name": "bits"}, "user": {"name": "b"}}});
        let other = json!({"layouts": {"btf": {"name": "x"}, "user": {"name": "y"}}});
        let mut root = f(
            Code::LayoutBitfield,
            Severity::Error,
            ("m", 1),
            pair.clone(),
        );
        root.root_cause = true;
        let fs = vec![
            root,
            f(Code::LayoutBitfield, Severity::Error, ("m", 1), pair),
            f(Code::LayoutBitfield, Severity::Error, ("m", 1), other),
        ];
        let (links, causes) = build(&fs);
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].members, vec![0, 1]);
        assert_eq!(links[2].caused_by, None);
    }

    #[test]
    fn ids_do_not_depend_on_position_and_twins_are_numbered() {
        let a = f(
            Code::DumpMapFull,
            Severity::Error,
            ("tiny", 1),
            json!({"x": 1}),
        );
        let b = f(
            Code::DumpMapFull,
            Severity::Error,
            ("big", 2),
            json!({"x": 1}),
        );
        let (l1, _) = build(&[a.clone(), b.clone()]);
        let (l2, _) = build(&[b.clone(), a.clone()]);
        assert_eq!(l1[0].id, l2[1].id);
        assert_eq!(l1[1].id, l2[0].id);
        let (l3, _) = build(&[a.clone(), a]);
        assert_eq!(l3[1].id, format!("{}-2", l3[0].id));
        assert!(l3[0].id.starts_with("F-") && l3[0].id.len() == 10);
    }
}
