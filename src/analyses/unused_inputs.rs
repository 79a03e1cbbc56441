//! `input/unused`: every input the user gave either contributed (a type
//! compared, a dump checked, trace calls replayed) or is reported here,
//! saying why not and how to tie it. A report without errors must mean "what
//! you gave was compared", not "nothing was looked at".
//!
//! The pass works on plain records of what the other passes did; the
//! command layer fills them in.

use serde_json::json;

use crate::model::case::type_key;
use crate::model::finding::{Code, Finding, MapRef, Severity};

/// A user-type source (Go source, DWARF binary, YAML schema) and how many of
/// the comparisons made used one of its types.
#[derive(Debug, Clone)]
pub struct UserSourceUse {
    /// The source as reports name it (`Go source corpora/go (GOARCH=amd64)`).
    pub origin: String,
    pub compared: usize,
    /// Struct types it declares (only read when it compared none).
    pub type_names: Vec<String>,
}

/// A map whose struct key or value type no user type was compared with.
#[derive(Debug, Clone)]
pub struct UncomparedMap {
    pub map: MapRef,
    /// (`key` or `value`, BTF type name) of each side left uncompared.
    pub sides: Vec<(&'static str, String)>,
}

/// A dump and the map it was tied to.
#[derive(Debug, Clone)]
pub struct DumpUse {
    pub file: String,
    /// The map name or id it was tied to: its file name's stem, or `--dump MAP=FILE`.
    pub tied_to: Option<String>,
    /// Whether `--dump MAP=FILE` tied it.
    pub explicit: bool,
    /// Whether a map of the inputs has that name or id.
    pub map_found: bool,
    pub entries: u64,
}

/// A trace and how many of its calls went to a map of the inputs.
#[derive(Debug, Clone)]
pub struct TraceUse {
    pub file: String,
    pub calls: u64,
    /// Calls on a map the inputs define (replayed against it).
    pub tied: u64,
    /// Map ids the calls name that no input defines.
    pub unknown_ids: Vec<u32>,
}

/// A raw BTF file or BPF object, and whether anything used it.
#[derive(Debug, Clone)]
pub struct BtfUse {
    pub file: String,
    /// `btf` (raw BTF: serves `--pair` only) or `bpf-object`.
    pub kind: &'static str,
    /// Maps it defined.
    pub maps: usize,
    /// Comparisons made against one of its types.
    pub compared: usize,
}

/// Everything the pass needs.
#[derive(Debug, Clone, Default)]
pub struct InputUse {
    pub user_sources: Vec<UserSourceUse>,
    pub uncompared_maps: Vec<UncomparedMap>,
    pub dumps: Vec<DumpUse>,
    pub traces: Vec<TraceUse>,
    pub btf: Vec<BtfUse>,
    /// Names of the maps the inputs define (for fix texts).
    pub map_names: Vec<String>,
    /// BTF struct names of the maps' keys and values (candidates to pair with).
    pub btf_types: Vec<String>,
}

/// `input/unused` findings, one per input or map side that contributed nothing.
pub fn check(u: &InputUse) -> Vec<Finding> {
    let mut out = Vec::new();
    let all_user_names: Vec<&str> = u
        .user_sources
        .iter()
        .flat_map(|s| s.type_names.iter().map(String::as_str))
        .collect();
    for m in &u.uncompared_maps {
        out.push(uncompared_map(m, &all_user_names, &u.user_sources));
    }
    for s in u.user_sources.iter().filter(|s| s.compared == 0) {
        out.push(unused_user_source(s, &u.btf_types));
    }
    for d in u.dumps.iter().filter(|d| !d.map_found) {
        out.push(unused_dump(d, &u.map_names));
    }
    for t in u.traces.iter().filter(|t| t.tied == 0) {
        out.push(unused_trace(t));
    }
    for b in u.btf.iter().filter(|b| b.maps == 0 && b.compared == 0) {
        out.push(unused_btf(b));
    }
    out
}

fn unused(title: String) -> Finding {
    Finding::new(Code::InputUnused, Severity::Warning, title)
}

fn uncompared_map(m: &UncomparedMap, user_names: &[&str], sources: &[UserSourceUse]) -> Finding {
    let sides: Vec<String> = m
        .sides
        .iter()
        .map(|(role, ty)| format!("{role} type `{ty}`"))
        .collect();
    let (verb, it, sides_text) = match sides.as_slice() {
        [one] => ("was", "it", one.clone()),
        _ => ("were", "them", sides.join(" and ")),
    };
    let mut unchecked = Vec::new();
    let mut pairs = Vec::new();
    for (role, ty) in &m.sides {
        let candidates = closest(ty, user_names, 3);
        if let Some(best) = candidates.first() {
            pairs.push(format!("`--pair {best}={ty}`"));
        }
        unchecked.push(json!({"role": role, "btf_type": ty, "candidates": candidates}));
    }
    let origins: Vec<&str> = sources.iter().map(|s| s.origin.as_str()).collect();
    let how = if pairs.is_empty() {
        format!(
            "no user type has a name close to {it}; tie the one that mirrors {it} with `--pair USER=BTF`, or `--map {} --key-type T`/`--value-type T`",
            m.map.name
        )
    } else {
        format!(
            "tie the user type that mirrors {it}: {} (closest names), or `--map {} --key-type T`/`--value-type T`",
            pairs.join(", "),
            m.map.name
        )
    };
    unused(format!(
        "{sides_text} {verb} compared with no user type: none in the sources given is named like {it}"
    ))
    .with_map(Some(m.map.clone()))
    .with_evidence(json!({"unchecked": unchecked, "user_sources": origins}))
    .with_fix(format!(
        "User types are paired by name (`FlowKey` ↔ `flow_key`); {how}. Until then a clean report says nothing about this map's {}.",
        m.sides.iter().map(|(r, _)| *r).collect::<Vec<_>>().join(" and ")
    ))
}

fn unused_user_source(s: &UserSourceUse, btf_types: &[String]) -> Finding {
    let mut names: Vec<&str> = s.type_names.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let fix = if btf_types.is_empty() {
        "No input defines a map with a struct key or value to compare it with: give the BPF object or bundle whose maps it mirrors, or name a BTF type with `--pair USER=BTF`.".to_string()
    } else {
        format!(
            "No struct type it declares ({}) is named like a map's key or value type ({}); tie the one that mirrors each with `--pair USER=BTF` or `--map MAP --key-type T`/`--value-type T`.",
            names.len(),
            btf_types.join(", ")
        )
    };
    unused(format!(
        "{} was read but no type from it was compared",
        s.origin
    ))
    .with_evidence(json!({
        "input": s.origin,
        "types": names.len(),
        "examples": names.iter().take(8).collect::<Vec<_>>(),
    }))
    .with_fix(fix)
}

fn unused_dump(d: &DumpUse, map_names: &[String]) -> Finding {
    let title = match (&d.tied_to, d.explicit) {
        (Some(m), true) => format!(
            "{} is tied to map `{m}` (--dump), which no input defines: only its walk was checked",
            d.file
        ),
        _ => format!(
            "{} was read but belongs to no map: name it after its map or pass `--dump MAP=FILE`",
            d.file
        ),
    };
    let fix = if map_names.is_empty() {
        "No input defines a map: give the BPF object or bundle that defines its map too, and name the dump after the map (`flows.json`) or tie it with `--dump MAP=FILE`. Until then only checks that need no layout ran on it (duplicate keys, truncation).".to_string()
    } else {
        format!(
            "Maps in the inputs: {}. Name the dump after its map (`{}.json`) or pass `--dump MAP=FILE` (MAP a name or id). Until then only checks that need no layout ran on it (duplicate keys, truncation).",
            map_names.join(", "),
            map_names[0]
        )
    };
    unused(title)
        .with_evidence(json!({
            "file": d.file,
            "tied_to": d.tied_to,
            "entries": d.entries,
            "maps": map_names,
        }))
        .with_fix(fix)
}

fn unused_trace(t: &TraceUse) -> Finding {
    let (title, fix) = if t.calls == 0 {
        (
            format!("{} was read but holds no map calls", t.file),
            "Trace the process while it makes the calls in question (`bpfcase collect --trace-pid PID`, or `strace -f -e trace=bpf`).".to_string(),
        )
    } else if !t.unknown_ids.is_empty() {
        (
            format!(
                "{} was read but none of its {} map calls is on a map the inputs define",
                t.file, t.calls
            ),
            format!(
                "Its calls name map ids {} that no input defines: analyze it together with the bundle collected at the same time.",
                t.unknown_ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ),
        )
    } else {
        (
            format!(
                "{} was read but none of its {} map calls could be tied to a map",
                t.file, t.calls
            ),
            "Its calls name fds, not maps: analyze it together with a bundle collected while it ran (`bpfcase collect --pid PID`: the process's fdinfo, and the pins the log shows it opening, tie fds to map ids). Until then its calls are replayed with no map: no padding, byte-order or wrong-instance explanation.".to_string(),
        )
    };
    unused(title)
        .with_evidence(json!({
            "file": t.file,
            "calls": t.calls,
            "tied": t.tied,
            "unknown_map_ids": t.unknown_ids,
        }))
        .with_fix(fix)
}

fn unused_btf(b: &BtfUse) -> Finding {
    let (title, fix) = if b.kind == "btf" {
        (
            format!("{} was read but nothing used it: raw BTF serves `--pair` only", b.file),
            "Raw BTF defines no maps: name the types to compare with `--pair USER=BTF`, or give the BPF object or bundle instead.",
        )
    } else {
        (
            format!("{} was read but defines no maps and no `--pair` used its BTF", b.file),
            "Give the object that defines the maps in question, or compare one of its types with `--pair USER=BTF`.",
        )
    };
    unused(title)
        .with_evidence(json!({"file": b.file, "kind": b.kind}))
        .with_fix(fix)
}

/// Up to `n` of `names` closest to `target`: those containing it or
/// contained in it first, then by edit distance, within half the length.
fn closest(target: &str, names: &[&str], n: usize) -> Vec<String> {
    let t = type_key(target);
    let mut scored: Vec<(bool, usize, &str)> = names
        .iter()
        .filter_map(|name| {
            let k = type_key(name);
            if k.is_empty() || k.len() > 64 {
                return None;
            }
            let contains = k.contains(&t) || (t.contains(&k) && k.len() * 2 >= t.len());
            let d = edit_distance(&t, &k);
            (contains || d * 2 <= t.len().max(k.len())).then_some((!contains, d, *name))
        })
        .collect();
    scored.sort_unstable();
    let mut out: Vec<String> = Vec::new();
    for (_, _, name) in scored {
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
        if out.len() == n {
            break;
        }
    }
    out
}

/// Levenshtein distance over chars (names here are short: at most 64).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names_prefer_containment_then_distance() {
        let names = ["FlowKeyV2", "FlowKy", "Unrelated", "main.FlowKeyGoInt"];
        assert_eq!(
            closest("flow_key", &names, 3),
            vec!["FlowKeyV2", "main.FlowKeyGoInt", "FlowKy"]
        );
        assert!(closest("policy", &["Unrelated", "Bits"], 3).is_empty());
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("flowkey", "flowky"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
    }

    #[test]
    fn a_dump_tied_to_no_map_says_how_to_tie_it() {
        let u = InputUse {
            dumps: vec![DumpUse {
                file: "dump.json".into(),
                tied_to: Some("dump".into()),
                explicit: false,
                map_found: false,
                entries: 3,
            }],
            map_names: vec!["flows".into()],
            ..Default::default()
        };
        let f = check(&u);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].title,
            "dump.json was read but belongs to no map: name it after its map or pass `--dump MAP=FILE`"
        );
        assert!(f[0].fix.as_deref().unwrap().contains("flows"));
    }
}
