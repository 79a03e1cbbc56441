//! The `prog/*` pass over live programs read from a bundle's translated
//! code (`ingest::prog_xlated`): each program is checked by
//! [`prog_uninit::check`] like an object's, with the bundle's maps by id.
//!
//! One rule keeps a call site from being reported twice: a live program
//! whose name (the kernel keeps 15 bytes of it) is an entry point of a BPF
//! object in the case (given directly, embedded in a binary `collect
//! --binaries` copied, or given with `collect --elf`) is analysed from that
//! object only: the object has the compiler's code, before the verifier
//! rewrote calls and inlined lookups. The bundle's inputs row says which
//! live programs were matched so.

use std::collections::{BTreeMap, HashMap};

use super::prog_uninit::{self, MapInfo, Outcome};
use crate::ingest::bpf_prog::ProgObject;
use crate::ingest::prog_xlated::LiveProg;
use crate::model::case::MapInstance;
use crate::model::finding::Finding;
use crate::model::map::kernel_name;
use crate::report::InputSummary;

/// Live programs matched to an object named in the inputs row, at most.
const MAX_NAMED: usize = 8;

/// Checks every live program no object of the case covers; one inputs row
/// per bundle (`BUNDLE!progs`, kind `program-code`) says what was checked
/// and which programs were left to their object. Findings on the maps
/// `selected` names (all when empty).
pub fn pass(
    inputs: &mut Vec<InputSummary>,
    live: &[LiveProg],
    objects: &[(String, Vec<u8>)],
    maps: &[MapInstance],
    selected: &[String],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if live.is_empty() {
        return findings;
    }
    let mut covered: HashMap<String, &str> = HashMap::new();
    for (name, data) in objects {
        if let Ok(obj) = ProgObject::parse(data) {
            for f in obj.funcs.iter().filter(|f| f.entry) {
                covered
                    .entry(kernel_name(&f.name).to_string())
                    .or_insert(name);
            }
        }
    }
    let by_id: HashMap<u32, &MapInstance> =
        maps.iter().filter_map(|m| m.id.map(|i| (i, m))).collect();
    let mut rows: BTreeMap<&str, (Outcome, Vec<String>)> = BTreeMap::new();
    for p in live {
        let (total, matched) = rows.entry(&p.bundle).or_default();
        if let Some(obj) = covered.get(&p.name) {
            matched.push(format!("{} (id {}) by name in {obj}", p.name, p.id));
            continue;
        }
        // The program's maps by id; two of one name are told apart so the
        // pass's lookup by name finds the one the instruction loads.
        let mut names: HashMap<u32, String> = HashMap::new();
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut infos = Vec::new();
        for &(_, id, _) in &p.map_loads {
            let Some(m) = by_id.get(&id).filter(|_| !names.contains_key(&id)) else {
                continue;
            };
            let name = if ids.contains_key(&m.name) {
                format!("{} (id {id})", m.name)
            } else {
                m.name.clone()
            };
            ids.insert(name.clone(), id);
            names.insert(id, name.clone());
            infos.push(MapInfo::of(name, m));
        }
        let obj = p.object(&names);
        let mut out = prog_uninit::check(&p.file, &obj, infos);
        for f in &mut out.findings {
            if let Some(m) = f.map.as_mut() {
                if let Some(&id) = ids.get(&m.name) {
                    m.id = Some(id);
                    m.name = by_id[&id].name.clone();
                }
            }
        }
        total.programs += out.programs;
        total.checked += out.checked;
        for (why, n) in out.not_analysed.iter().chain(&p.not_analysed) {
            *total.not_analysed.entry(why.clone()).or_default() += n;
        }
        total.programs_not_analysed.extend(
            out.programs_not_analysed
                .iter()
                .map(|w| format!("{} {w}", p.id)),
        );
        findings.extend(out.findings.into_iter().filter(|f| {
            selected.is_empty() || f.map.as_ref().is_some_and(|m| selected.contains(&m.name))
        }));
    }
    for (bundle, (total, matched)) in rows {
        let mut status = format!("live {}", total.accounting());
        if !matched.is_empty() {
            let more = matched.len().saturating_sub(MAX_NAMED);
            status.push_str(&format!(
                "; {} live program(s) analysed from their object instead: {}",
                matched.len(),
                matched[..matched.len().min(MAX_NAMED)].join(", ")
            ));
            if more > 0 {
                status.push_str(&format!(" and {more} more"));
            }
        }
        inputs.push(InputSummary {
            path: format!("{bundle}!progs"),
            kind: "program-code".into(),
            status,
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names_are_cut_at_15_bytes() {
        assert_eq!(kernel_name("on_fork"), "on_fork");
        assert_eq!(kernel_name("handle_sched_switch"), "handle_sched_sw");
        assert_eq!(kernel_name("ééééééééé"), "ééééééé");
    }
}
