//! What `analyze` compared, input by input: the dumps checked and the trace
//! calls replayed (for the report), and the records the `input/unused` pass
//! turns into findings for each input that contributed nothing.

use std::collections::{BTreeSet, HashMap};

use super::case::Case;
use super::names_map;
use super::AnalyzeOptions;
use crate::analyses::layout_check::{PairCheck, Role};
use crate::analyses::unused_inputs::{
    self, BtfUse, DumpUse, InputUse, TraceUse, UncomparedMap, UserSourceUse,
};
use crate::model::case::MapInstance;
use crate::model::finding::{Finding, MapRef};
use crate::report::{DumpSummary, TraceSummary};

/// The accounting's part of the report.
#[derive(Default)]
pub struct Accounting {
    pub dumps: Vec<DumpSummary>,
    pub traces: Vec<TraceSummary>,
    pub findings: Vec<Finding>,
}

/// Accounts for every input of `case`, given the comparisons made.
pub fn account(args: &AnalyzeOptions, case: &Case, checks: &[PairCheck]) -> Accounting {
    let in_selection = |m: &MapInstance| {
        args.maps.is_empty() || args.maps.iter().any(|w| names_map(w, &m.name, m.id))
    };
    let mut usage = InputUse {
        map_names: case.maps.iter().map(|m| m.name.clone()).collect(),
        ..Default::default()
    };
    usage.map_names.sort_unstable();
    usage.map_names.dedup();

    let (dumps, dump_uses) = dumps(case, &in_selection);
    usage.dumps = dump_uses;
    let (traces, trace_uses) = traces(case);
    usage.traces = trace_uses;
    let redacted = redacted(case, &in_selection);

    for src in &case.btf_sources {
        usage.btf.push(BtfUse {
            file: src.file.clone(),
            kind: if src.origin.starts_with("BTF of ") {
                "bpf-object"
            } else {
                "btf"
            },
            maps: src.maps,
            compared: checks
                .iter()
                .filter(|c| c.kernel_origin == src.origin)
                .count(),
        });
    }

    if !case.users.is_empty() {
        let explicit = args.key_type.is_some() || args.value_type.is_some();
        let selected: Vec<&MapInstance> = case.maps.iter().filter(|m| in_selection(m)).collect();
        // With --key-type/--value-type the user said which sides to compare.
        if !explicit {
            usage.uncompared_maps = uncompared_maps(&selected, checks);
        }
        let mut btf_types: Vec<String> = selected
            .iter()
            .flat_map(|m| [&m.key_layout, &m.value_layout])
            .flatten()
            .filter(|l| !l.name.is_empty())
            .map(|l| l.name.to_string())
            .collect();
        btf_types.sort_unstable();
        btf_types.dedup();
        usage.btf_types = btf_types;
        for u in &case.users {
            let origin = u.origin();
            let compared = checks.iter().filter(|c| c.user_origin == origin).count();
            // Names are listed only for a source that compared nothing, or as
            // candidates for a map side left uncompared.
            let type_names = if compared == 0 || !usage.uncompared_maps.is_empty() {
                u.type_names()
            } else {
                Vec::new()
            };
            usage.user_sources.push(UserSourceUse {
                origin,
                compared,
                type_names,
            });
        }
    }

    let mut findings = unused_inputs::check(&usage);
    findings.extend(redacted);
    Accounting {
        dumps,
        traces,
        findings,
    }
}

/// What `collect --redact` left uncompared: the maps with a dump or traced
/// calls whose masked bytes a check would have compared.
fn redacted(case: &Case, in_selection: &dyn Fn(&MapInstance) -> bool) -> Vec<Finding> {
    if case.redactions.is_empty() {
        return Vec::new();
    }
    let dumped: Vec<u32> = case.dumps.iter().filter_map(|d| d.map_id).collect();
    let mut calls: HashMap<u32, u64> = HashMap::new();
    for c in case.traces.iter().flat_map(|t| &t.calls) {
        if let Some(id) = c.map_id {
            *calls.entry(id).or_default() += 1;
        }
    }
    case.redactions
        .not_compared(&case.maps, &dumped, &calls, in_selection)
}

/// Each dump, the map it was checked as, and what the pass needs.
fn dumps(
    case: &Case,
    in_selection: &dyn Fn(&MapInstance) -> bool,
) -> (Vec<DumpSummary>, Vec<DumpUse>) {
    let mut summaries = Vec::new();
    let mut uses = Vec::new();
    for d in &case.dumps {
        let map = d.map_in(&case.maps);
        let status = match map {
            Some(m) if !in_selection(m) => "excluded",
            Some(_) => "checked",
            None => "no-map",
        };
        summaries.push(DumpSummary {
            file: d.file.clone(),
            map: map.map(MapInstance::map_ref),
            entries: d.body.entries() as u64,
            status: status.to_string(),
        });
        uses.push(DumpUse {
            file: d.file.clone(),
            tied_to: d
                .map_id
                .map(|id| id.to_string())
                .or_else(|| d.map_name.clone()),
            explicit: d.explicit,
            map_found: map.is_some(),
            entries: d.body.entries() as u64,
        });
    }
    (summaries, uses)
}

/// Each trace, its calls, and how many went to a map of the inputs.
fn traces(case: &Case) -> (Vec<TraceSummary>, Vec<TraceUse>) {
    let mut summaries = Vec::new();
    let mut uses = Vec::new();
    for t in &case.traces {
        let mut tied = 0u64;
        let mut maps: BTreeSet<MapRef> = BTreeSet::new();
        let mut unknown: BTreeSet<u32> = BTreeSet::new();
        let mut replayed = 0u64;
        for c in &t.calls {
            let Some(id) = c.map_id else { continue };
            match case.maps.iter().find(|m| m.id == Some(id)) {
                Some(m) => {
                    tied += 1;
                    // Calls whose keys were masked are not replayed (the
                    // redaction finding counts them).
                    if !case.redactions.keys_masked(id) {
                        replayed += 1;
                        maps.insert(m.map_ref());
                    }
                }
                None => {
                    unknown.insert(id);
                }
            }
        }
        summaries.push(TraceSummary {
            file: t.file.clone(),
            calls: t.calls.len() as u64,
            replayed,
            maps: maps.into_iter().collect(),
        });
        uses.push(TraceUse {
            file: t.file.clone(),
            calls: t.calls.len() as u64,
            tied,
            unknown_ids: unknown.into_iter().collect(),
        });
    }
    (summaries, uses)
}

/// Map sides with a struct type that no comparison covered: none made for
/// the map and side, and no `--pair` naming the BTF type.
fn uncompared_maps(selected: &[&MapInstance], checks: &[PairCheck]) -> Vec<UncomparedMap> {
    let mut out = Vec::new();
    for m in selected {
        let mut sides = Vec::new();
        for (role, layout) in [(Role::Key, &m.key_layout), (Role::Value, &m.value_layout)] {
            let Some(l) = layout else { continue };
            let covered = checks.iter().any(|c| {
                (c.map.as_deref() == Some(m.name.as_str()) && c.role == role)
                    || (c.map.is_none() && c.kernel_type == l.name.as_str())
            });
            if !covered {
                let name = if l.name.is_empty() {
                    l.display_name()
                } else {
                    l.name.to_string()
                };
                sides.push((role.as_str(), name));
            }
        }
        if !sides.is_empty() {
            out.push(UncomparedMap {
                map: m.map_ref(),
                sides,
            });
        }
    }
    out
}

/// Every traced call counted by map, command and result (the errno's name
/// for a failed call), in a stable order.
pub fn call_counts(case: &Case) -> Vec<crate::report::CallCount> {
    use std::collections::BTreeMap;
    let mut counts: BTreeMap<(Option<MapRef>, &'static str, Option<String>), u64> = BTreeMap::new();
    for c in case.traces.iter().flat_map(|t| &t.calls) {
        let map = c.map_id.map(|id| MapRef {
            id: Some(id),
            name: case
                .maps
                .iter()
                .find(|m| m.id == Some(id))
                .map(|m| m.name.clone())
                .unwrap_or_default(),
        });
        let errno = c.errno().map(crate::model::trace::errno_name);
        *counts.entry((map, c.cmd.as_str(), errno)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((map, cmd, errno), calls)| crate::report::CallCount {
            map,
            cmd,
            errno,
            calls,
        })
        .collect()
}
