//! Which instance is which: `maps/duplicate-name` (several maps share a name
//! and one of them is held by nothing live, or a reader provably uses the
//! wrong one) and `maps/stale-pin` (a pinned map is used by no loaded
//! program while a map of the same name is).
//!
//! Same-named maps are normal on a real node: every libbpf tool has maps
//! called `events`, `start` or `hists`, each used by its own programs. A
//! name shared is no finding by itself; only evidence about one instance is
//! (docs/findings.md, "When it fires").

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::case::{MapInstance, Pin};
use crate::model::finding::{Code, Finding, MapRef, Severity};
use crate::model::trace::MapCall;

/// What holds each map besides the programs that use it, as far as the
/// inputs tell, and which maps traced callers used.
#[derive(Debug, Default)]
pub struct Holders {
    /// Whether the inputs show every holder: a bundle's processes' BPF fds
    /// and bpffs pins, with every program held by one of them (see
    /// `passes::holders_complete`). Without that, "held by nothing" cannot
    /// be said.
    pub known: bool,
    /// Map id → the process fds that hold it: (pid, fd).
    pub fds: BTreeMap<u32, Vec<(u32, i32)>>,
    /// Map id → the traced callers whose calls went to it (pid → comm),
    /// and how many calls.
    pub traced: BTreeMap<u32, (BTreeMap<u32, String>, usize)>,
}

impl Holders {
    /// Holders from a bundle's process fds (`(pid, fd) → map id`) and the
    /// traced calls; `known` when a bundle listed them.
    pub fn new<'c>(
        known: bool,
        fds: impl IntoIterator<Item = ((u32, i32), u32)>,
        calls: impl IntoIterator<Item = &'c MapCall>,
    ) -> Holders {
        let mut h = Holders {
            known,
            ..Default::default()
        };
        for ((pid, fd), id) in fds {
            h.fds.entry(id).or_default().push((pid, fd));
        }
        for v in h.fds.values_mut() {
            v.sort_unstable();
        }
        for c in calls {
            let Some(id) = c.map_id else { continue };
            let e = h.traced.entry(id).or_default();
            e.0.entry(c.pid).or_insert_with(|| c.comm.to_string());
            e.1 += 1;
        }
        h
    }
}

/// Live maps (with an id) grouped by name, in name order.
fn by_name(maps: &[MapInstance]) -> BTreeMap<&str, Vec<&MapInstance>> {
    let mut groups: BTreeMap<&str, Vec<&MapInstance>> = BTreeMap::new();
    for m in maps.iter().filter(|m| m.id.is_some() && !m.name.is_empty()) {
        groups.entry(m.name.as_str()).or_default().push(m);
    }
    groups
}

/// Why one instance of a shared name is reported.
enum Suspect {
    /// Traced calls went to it while no program uses it and programs use
    /// another instance of its name: a reader provably uses the wrong one.
    Traced { callers: Vec<String>, calls: usize },
    /// It is pinned, no program uses it, and programs use another instance
    /// of its name: whoever opens the pin gets the wrong one.
    Pinned { pins: Vec<String> },
    /// No program, no process fd and no pin the inputs show holds it.
    Unheld,
}

impl Suspect {
    fn reason(&self) -> &'static str {
        match self {
            Suspect::Traced { .. } => "traced",
            Suspect::Pinned { .. } => "pinned",
            Suspect::Unheld => "unheld",
        }
    }

    fn describe(&self, id: u32) -> String {
        match self {
            Suspect::Traced { callers, calls } => format!(
                "id {id}, which no program uses, got {calls} traced call{} from {}",
                if *calls == 1 { "" } else { "s" },
                callers.join(", ")
            ),
            Suspect::Pinned { pins } => {
                format!(
                    "id {id}, which no program uses, is pinned at {}",
                    pins.join(", ")
                )
            }
            Suspect::Unheld => {
                format!("id {id} is held by no program, no process fd and no pin")
            }
        }
    }
}

fn ids(ids: &[u32]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `maps/duplicate-name`: one finding per name held by several live maps of
/// which one is held by nothing live, or provably read in place of another
/// (traced calls to it, or a pin on it, while no program uses it and
/// programs use another instance of the name). Same-named maps each used by
/// live programs, or held by live processes, are no finding.
pub fn duplicate_names(maps: &[MapInstance], pins: &[Pin], holders: &Holders) -> Vec<Finding> {
    // An inner map of a map-in-map is held by its outer map, which neither
    // programs' map ids, fdinfo nor pins show.
    let outer: Vec<u32> = maps
        .iter()
        .filter(|m| m.map_type.is_some_and(|t| matches!(t.0, 12 | 13)))
        .filter_map(|m| m.id)
        .collect();
    let mut out = Vec::new();
    for (name, group) in by_name(maps) {
        if group.len() < 2 {
            continue;
        }
        let used: Vec<u32> = group
            .iter()
            .filter(|m| !m.prog_ids.is_empty())
            .filter_map(|m| m.id)
            .collect();
        let unused: Vec<u32> = group
            .iter()
            .filter(|m| m.prog_ids.is_empty())
            .filter_map(|m| m.id)
            .collect();
        let pins_of = |id: u32| -> Vec<String> {
            pins.iter()
                .filter(|p| p.kind == "map" && p.id == id)
                .map(|p| p.path.clone())
                .collect()
        };
        let mut suspects: Vec<(u32, Suspect)> = Vec::new();
        for &id in &unused {
            let pinned = pins_of(id);
            let fds = holders.fds.get(&id).map_or(0, Vec::len);
            let suspect = match holders.traced.get(&id) {
                Some((callers, calls)) if !used.is_empty() => Some(Suspect::Traced {
                    callers: callers
                        .iter()
                        .take(8)
                        .map(|(pid, comm)| match comm.as_str() {
                            "" => format!("pid {pid}"),
                            comm => format!("{comm} (pid {pid})"),
                        })
                        .collect(),
                    calls: *calls,
                }),
                _ if !used.is_empty() && !pinned.is_empty() => Some(Suspect::Pinned {
                    pins: pinned.clone(),
                }),
                _ if holders.known && pinned.is_empty() && fds == 0 => Some(Suspect::Unheld),
                _ => None,
            };
            suspects.extend(suspect.map(|s| (id, s)));
        }
        let Some((first, _)) = suspects.first() else {
            continue;
        };
        let first = *first;
        // Unheld instances alone, beside map-in-maps: maybe inner maps.
        let maybe_inner =
            !outer.is_empty() && suspects.iter().all(|(_, s)| matches!(s, Suspect::Unheld));
        let severity = if maybe_inner {
            Severity::Info
        } else {
            Severity::Warning
        };
        let instances: Vec<serde_json::Value> = group
            .iter()
            .map(|m| {
                let id = m.id.unwrap_or(0);
                json!({
                    "id": m.id,
                    "type": m.map_type.map(|t| t.name()),
                    "key_size": m.key_size,
                    "value_size": m.value_size,
                    "max_entries": m.max_entries,
                    "prog_ids": m.prog_ids,
                    "pins": pins_of(id),
                    "process_fds": holders.fds.get(&id).map_or(&[][..], Vec::as_slice)
                        .iter().take(8).map(|(pid, fd)| json!({"pid": pid, "fd": fd})).collect::<Vec<_>>(),
                    "traced_calls": holders.traced.get(&id).map_or(0, |t| t.1),
                })
            })
            .collect();
        let said: Vec<String> = suspects.iter().map(|(id, s)| s.describe(*id)).collect();
        let title = format!(
            "{} maps are named `{name}`: {}; programs use {}{}",
            group.len(),
            said.join("; "),
            if used.is_empty() {
                "none of them".to_string()
            } else {
                format!("id {}", ids(&used))
            },
            if maybe_inner {
                format!(
                    " (map-in-map id {} may hold it as an inner map)",
                    ids(&outer)
                )
            } else {
                String::new()
            }
        );
        let fix = if suspects
            .iter()
            .any(|(_, s)| matches!(s, Suspect::Traced { .. }))
        {
            "The caller holds an old instance (a reload left it alive, typically through a pin): re-open the map \
             the running program uses (by id from the program's map ids, or the pin its loader created), and \
             release the old one (close fds, unpin)."
        } else if suspects
            .iter()
            .any(|(_, s)| matches!(s, Suspect::Pinned { .. }))
        {
            "Readers that open the pin get the old instance: re-pin the map the running program uses \
             (bpftool map pin id ID PATH) or have the loader reuse the pin (LIBBPF_PIN_BY_NAME, \
             bpf_map__reuse_fd), and remove pins of maps no longer needed."
        } else {
            "Find what keeps the old instance alive (a process outside the collection, a map-in-map, a link) and \
             release it; look maps up by id or by the pin the loader created, not by name."
        };
        out.push(
            Finding::new(Code::MapsDuplicateName, severity, title)
                .with_map(Some(MapRef {
                    id: Some(first),
                    name: name.to_string(),
                }))
                .with_evidence(json!({
                    "name": name,
                    "instances": instances,
                    "used_by_programs": used,
                    "unused": unused,
                    "suspects": suspects.iter().map(|(id, s)| json!({"id": id, "reason": s.reason()})).collect::<Vec<_>>(),
                    "holders_known": holders.known,
                    "map_in_maps": outer,
                }))
                .with_fix(fix),
        );
    }
    out
}

/// `maps/stale-pin`: pins of maps that no program uses while another map of the
/// same name is used by a program.
pub fn stale_pins(maps: &[MapInstance], pins: &[Pin]) -> Vec<Finding> {
    let groups = by_name(maps);
    let mut out = Vec::new();
    for pin in pins.iter().filter(|p| p.kind == "map") {
        let Some(pinned) = maps.iter().find(|m| m.id == Some(pin.id)) else {
            continue;
        };
        if !pinned.prog_ids.is_empty() {
            continue;
        }
        let live: Vec<&&MapInstance> = groups
            .get(pinned.name.as_str())
            .map(|g| {
                g.iter()
                    .filter(|m| m.id != pinned.id && !m.prog_ids.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let Some(current) = live.first() else {
            continue;
        };
        out.push(
            Finding::new(
                Code::MapsStalePin,
                Severity::Error,
                format!(
                    "pin {} holds map id {} (`{}`), which no program uses; the programs use map id {} of the same name",
                    pin.path,
                    pin.id,
                    pinned.name,
                    current.id.unwrap_or(0)
                ),
            )
            .with_map(Some(MapRef { id: Some(pin.id), name: pinned.name.clone() }))
            .with_evidence(json!({
                "pin": pin.path,
                "pinned_map_id": pin.id,
                "live_map_ids": live.iter().filter_map(|m| m.id).collect::<Vec<_>>(),
                "live_map_prog_ids": current.prog_ids,
            }))
            .with_fix(format!(
                "Readers that open {} see the old map: re-pin the live map (bpftool map pin id {} {}) or have the \
                 loader reuse the pin (LIBBPF_PIN_BY_NAME / bpf_map__reuse_fd).",
                pin.path,
                current.id.unwrap_or(0),
                pin.path
            )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::map::MapType;
    use crate::model::trace::MapCmd;

    fn map(id: u32, name: &str, map_type: u32, progs: &[u32]) -> MapInstance {
        MapInstance {
            id: Some(id),
            name: name.into(),
            map_type: Some(MapType(map_type)),
            key_size: Some(4),
            value_size: Some(8),
            max_entries: Some(64),
            prog_ids: progs.to_vec(),
            ..Default::default()
        }
    }

    fn pin(path: &str, id: u32) -> Pin {
        Pin {
            path: path.into(),
            kind: "map".into(),
            id,
        }
    }

    fn call(map_id: u32) -> MapCall {
        MapCall {
            seq: 0,
            line: 1,
            time_ns: 0,
            pid: 7,
            tid: 7,
            comm: "reader".into(),
            cmd: MapCmd::Lookup,
            map_fd: 3,
            map_id: Some(map_id),
            flags: 0,
            key: None,
            value: None,
            ret: -2,
        }
    }

    fn reasons(f: &[Finding]) -> Vec<(Severity, Vec<String>)> {
        f.iter()
            .map(|f| {
                let r = f.evidence["suspects"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| format!("{}:{}", s["id"], s["reason"].as_str().unwrap()))
                    .collect();
                (f.severity, r)
            })
            .collect()
    }

    #[test]
    fn same_names_used_by_live_programs_or_held_by_processes_are_no_finding() {
        // Two libbpf tools: each `events` used by its own program; `values`
        // used by one tool's programs, held (unused) by the other's fd.
        let maps = [
            map(1, "events", 4, &[10]),
            map(2, "events", 4, &[20]),
            map(3, "values", 1, &[10]),
            map(4, "values", 1, &[]),
        ];
        let holders = Holders::new(true, [((200, 5), 4)], []);
        assert!(duplicate_names(&maps, &[], &holders).is_empty());
    }

    #[test]
    fn a_pinned_or_traced_old_instance_is_a_warning() {
        let maps = [
            map(1, "flows", 1, &[]),
            map(2, "flows", 1, &[10]),
            map(3, "conns", 1, &[]),
            map(4, "conns", 1, &[11]),
        ];
        let pins = [
            pin("/sys/fs/bpf/v1/flows", 1),
            pin("/sys/fs/bpf/v1/conns", 3),
        ];
        let calls = [call(3), call(3)];
        let holders = Holders::new(true, [((7, 3), 3)], &calls);
        let f = duplicate_names(&maps, &pins, &holders);
        // The traced reason wins over the pin that let the reader in.
        assert_eq!(
            reasons(&f),
            [
                (Severity::Warning, vec!["3:traced".to_string()]),
                (Severity::Warning, vec!["1:pinned".to_string()]),
            ]
        );
        assert_eq!(f[0].map.as_ref().unwrap().id, Some(3));
        assert!(
            f[0].title
                .contains("got 2 traced calls from reader (pid 7)"),
            "{}",
            f[0].title
        );
        assert!(
            f[1].title.contains("is pinned at /sys/fs/bpf/v1/flows"),
            "{}",
            f[1].title
        );
    }

    #[test]
    fn an_unheld_instance_is_a_warning_only_where_holders_are_known() {
        let maps = [map(1, "start", 1, &[]), map(2, "start", 1, &[10])];
        let f = duplicate_names(&maps, &[], &Holders::new(true, [], []));
        assert_eq!(
            reasons(&f),
            [(Severity::Warning, vec!["1:unheld".to_string()])]
        );
        // Loose inputs (no fdinfo, no pins): nothing can be said.
        assert!(duplicate_names(&maps, &[], &Holders::new(false, [], [])).is_empty());
        // Beside a map-in-map it may be an inner map: info.
        let mut with_outer = maps.to_vec();
        with_outer.push(map(9, "outer", 13, &[10]));
        let f = duplicate_names(&with_outer, &[], &Holders::new(true, [], []));
        assert_eq!(
            reasons(&f),
            [(Severity::Info, vec!["1:unheld".to_string()])]
        );
        assert!(f[0].title.contains("map-in-map id 9"), "{}", f[0].title);
    }
}
