//! Maps under their owners: the report's maps grouped by the process that
//! holds them (its fds of programs and maps) and the programs that use them,
//! so a reader of a node's report sees "execsnoop (pid 812): its programs,
//! its maps" rather than a flat list of ids. Every format draws the same
//! groups (`human`, `markdown`, `html`); JSON carries the data they come from
//! (`maps[].programs`, `maps[].holders`, `maps[].pins`, `programs[]`).

use std::collections::{BTreeMap, BTreeSet};

use super::{MapSummary, ProgramSummary, Report};

/// One group: a process and what it holds, or the programs no process holds,
/// or the maps nothing holds.
#[derive(Debug)]
pub struct OwnerGroup<'a> {
    pub owner: Owner<'a>,
    pub programs: Vec<&'a ProgramSummary>,
    pub maps: Vec<&'a MapSummary>,
}

/// Who a group belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    /// A process holding fds of the programs or maps.
    Process { pid: u32, comm: &'a str },
    /// Loaded programs no process holds (kept by links or pins), with their maps.
    NoProcess,
    /// Maps no program uses and no process holds (a pin may keep them).
    Unused,
}

/// The groups of `report`, processes by name then pid, then the programs no
/// process holds, then the maps nobody uses. Empty for a report with no
/// programs (loose files: there are no owners to show). A map used by the
/// programs of several processes is listed under each.
pub fn groups(report: &Report) -> Vec<OwnerGroup<'_>> {
    if report.programs.is_empty() {
        return Vec::new();
    }
    let by_id: BTreeMap<u32, &MapSummary> = report
        .maps
        .iter()
        .filter_map(|m| m.id.map(|id| (id, m)))
        .collect();
    // pid → (comm, program indices, map ids)
    let mut procs: BTreeMap<u32, (&str, BTreeSet<usize>, BTreeSet<u32>)> = BTreeMap::new();
    let mut held_progs = BTreeSet::new();
    for (i, p) in report.programs.iter().enumerate() {
        for h in &p.holders {
            let e = procs
                .entry(h.pid)
                .or_insert((&h.comm, BTreeSet::new(), BTreeSet::new()));
            e.1.insert(i);
            e.2.extend(p.map_ids.iter().copied());
            held_progs.insert(i);
        }
    }
    for m in &report.maps {
        let Some(id) = m.id else { continue };
        for h in &m.holders {
            let e = procs
                .entry(h.pid)
                .or_insert((&h.comm, BTreeSet::new(), BTreeSet::new()));
            e.2.insert(id);
        }
    }
    let maps_of = |ids: &BTreeSet<u32>| -> Vec<&MapSummary> {
        ids.iter().filter_map(|id| by_id.get(id).copied()).collect()
    };
    let mut out: Vec<OwnerGroup> = procs
        .iter()
        .map(|(&pid, (comm, progs, maps))| OwnerGroup {
            owner: Owner::Process { pid, comm },
            programs: progs.iter().map(|&i| &report.programs[i]).collect(),
            maps: maps_of(maps),
        })
        .collect();
    out.sort_by(|a, b| match (a.owner, b.owner) {
        (Owner::Process { pid: p, comm: c }, Owner::Process { pid: q, comm: d }) => {
            c.cmp(d).then(p.cmp(&q))
        }
        _ => std::cmp::Ordering::Equal,
    });
    let loose: Vec<usize> = (0..report.programs.len())
        .filter(|i| !held_progs.contains(i))
        .collect();
    let mut shown: BTreeSet<u32> = procs.values().flat_map(|v| v.2.iter().copied()).collect();
    if !loose.is_empty() {
        let ids: BTreeSet<u32> = loose
            .iter()
            .flat_map(|&i| report.programs[i].map_ids.iter().copied())
            .collect();
        shown.extend(ids.iter().copied());
        out.push(OwnerGroup {
            owner: Owner::NoProcess,
            programs: loose.iter().map(|&i| &report.programs[i]).collect(),
            maps: maps_of(&ids),
        });
    }
    let unused: Vec<&MapSummary> = report
        .maps
        .iter()
        .filter(|m| !m.id.is_some_and(|id| shown.contains(&id)))
        .collect();
    if !unused.is_empty() {
        out.push(OwnerGroup {
            owner: Owner::Unused,
            programs: Vec::new(),
            maps: unused,
        });
    }
    out
}

/// The ids of the maps some finding of `report` concerns (marked in the
/// groups: "(finding above)", an open HTML section).
pub fn maps_with_findings(report: &Report) -> BTreeSet<u32> {
    report
        .findings
        .iter()
        .filter_map(|f| f.map.as_ref().and_then(|m| m.id))
        .collect()
}

/// The program types of `programs`, each once, in order of appearance.
pub fn program_types<'a>(programs: &[&'a ProgramSummary]) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for p in programs {
        if !seen.contains(&p.prog_type.as_str()) {
            seen.push(p.prog_type.as_str());
        }
    }
    seen
}

/// How full a map's dump showed it: `97/10240`, or `None` without a dump.
pub fn fill(m: &MapSummary) -> Option<String> {
    let n = m.entries?;
    Some(match m.max_entries {
        Some(max) => format!("{n}/{max}"),
        None => n.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Holder, InputSummary};

    fn map(id: u32, name: &str, holders: Vec<Holder>) -> MapSummary {
        MapSummary {
            id: Some(id),
            name: name.into(),
            map_type: Some("hash".into()),
            key_size: Some(4),
            value_size: Some(8),
            max_entries: Some(16),
            key_type: None,
            value_type: None,
            entries: Some(3),
            programs: Vec::new(),
            holders,
            pins: Vec::new(),
            key_layout: None,
            value_layout: None,
        }
    }

    fn prog(id: u32, maps: &[u32], holders: Vec<Holder>) -> ProgramSummary {
        ProgramSummary {
            id,
            name: format!("p{id}"),
            prog_type: "tracepoint".into(),
            tag: "00".into(),
            map_ids: maps.to_vec(),
            holders,
            pins: Vec::new(),
        }
    }

    fn h(pid: u32, comm: &str) -> Holder {
        Holder {
            pid,
            comm: comm.into(),
            fd: 3,
        }
    }

    #[test]
    fn maps_group_under_processes_then_loose_programs_then_nothing() {
        let maps = vec![
            map(1, "events", vec![]),
            map(2, "events", vec![]),
            map(3, "start", vec![h(20, "biolat")]),
            map(4, "orphan", vec![]),
            map(5, "pinned_only", vec![]),
        ];
        let mut r = Report::new(
            vec![InputSummary {
                path: "b.tar".into(),
                kind: "bundle".into(),
                status: "read".into(),
            }],
            maps,
            Vec::new(),
        );
        r.programs = vec![
            prog(10, &[1], vec![h(30, "execsnoop")]),
            prog(11, &[2, 3], vec![h(20, "biolat")]),
            prog(12, &[4], vec![]),
        ];
        let g = groups(&r);
        let names: Vec<String> = g
            .iter()
            .map(|g| {
                let maps: Vec<u32> = g.maps.iter().filter_map(|m| m.id).collect();
                format!("{:?} {maps:?}", g.owner)
            })
            .collect();
        assert_eq!(
            names,
            [
                "Process { pid: 20, comm: \"biolat\" } [2, 3]",
                "Process { pid: 30, comm: \"execsnoop\" } [1]",
                "NoProcess [4]",
                "Unused [5]",
            ]
        );
    }
}
