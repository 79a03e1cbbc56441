//! `dump/map-full` and `layout/percpu-value-size`: how many entries fit, and
//! how big a per-CPU value buffer must be.

use serde_json::json;

use crate::model::dump::MapDump;
use crate::model::finding::{Code, Finding, MapRef, Severity};
use crate::model::map::{percpu_stride, MapType};

/// `dump/map-full` when a hash-type map holds `max_entries` entries: a
/// warning that the map is at capacity. A dump alone does not show that an
/// insert failed (a map may be sized to what it holds on purpose), so the
/// finding is an `error` only once [`confirm_full`] finds traced updates of
/// the map that failed with E2BIG. Array maps always hold every slot and are
/// never reported, nor is a map of one entry holding its key (a
/// configuration or a single accumulator, sized so on purpose). LRU maps
/// evict the least recently used entry instead of failing.
pub fn check_map_full(
    dump: &MapDump,
    map_type: MapType,
    max_entries: u32,
    map: Option<MapRef>,
) -> Vec<Finding> {
    map_full(dump.len(), map_type, max_entries, map)
}

/// [`check_map_full`] for a dump of `entries` entries.
pub fn map_full(
    entries: usize,
    map_type: MapType,
    max_entries: u32,
    map: Option<MapRef>,
) -> Vec<Finding> {
    if map_type.is_array() || max_entries <= 1 || (entries as u64) < max_entries as u64 {
        return Vec::new();
    }
    let lru = map_type.is_lru();
    let map_name = map_name(map.as_ref());
    let (title, fix) = if lru {
        (
            format!(
                "{map_name} ({}) is at capacity: {}/{max_entries} entries; new keys evict the least recently used entries",
                map_type.name(),
                entries
            ),
            "An LRU map at capacity silently evicts entries: raise max_entries if evicted \
             entries are still needed, or expect lookups of older keys to miss.",
        )
    } else {
        (
            format!(
                "{map_name} ({}) is at capacity: {}/{max_entries} entries; a new key would fail with E2BIG (no failed insert in the evidence)",
                map_type.name(),
                entries
            ),
            "If the map should hold more keys, raise max_entries or delete stale entries; \
             check the return value of bpf_map_update_elem (-E2BIG). Trace the writer \
             (collect --trace-pid) to see whether inserts fail.",
        )
    };
    vec![Finding::new(Code::DumpMapFull, Severity::Warning, title)
        .with_map(map)
        .with_evidence(json!({
            "entries": entries,
            "max_entries": max_entries,
            "map_type": map_type.name(),
            "evicts": lru,
            "failed_inserts": 0,
        }))
        .with_fix(fix)]
}

fn map_name(map: Option<&MapRef>) -> String {
    map.map(|m| format!("map {}", m.name))
        .unwrap_or_else(|| "the map".into())
}

/// Whether two findings concern the same map: the same id where both have
/// one, else the same name.
pub(crate) fn same_map(a: Option<&MapRef>, b: Option<&MapRef>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => match (a.id, b.id) {
            (Some(x), Some(y)) => x == y,
            _ => a.name == b.name,
        },
        _ => false,
    }
}

/// Raises each `dump/map-full` of a hash-type map to an `error` when
/// `update/map-full` shows traced updates of that map failing with E2BIG:
/// the evidence that inserts fail. Without it the finding stays a warning
/// ("at capacity").
pub fn confirm_full(findings: &mut [Finding]) {
    let failed: Vec<(Option<MapRef>, u64, String)> = findings
        .iter()
        .filter(|f| f.code == Code::UpdateMapFull)
        .map(|f| {
            (
                f.map.clone(),
                f.evidence["calls"].as_u64().unwrap_or(0),
                f.evidence["trace"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for f in findings
        .iter_mut()
        .filter(|f| f.code == Code::DumpMapFull && f.evidence["evicts"] == false)
    {
        let shown: Vec<&(Option<MapRef>, u64, String)> = failed
            .iter()
            .filter(|(m, _, _)| same_map(m.as_ref(), f.map.as_ref()))
            .collect();
        let calls: u64 = shown.iter().map(|(_, n, _)| n).sum();
        if shown.is_empty() || calls == 0 {
            continue;
        }
        let entries = f.evidence["entries"].as_u64().unwrap_or(0);
        let max = f.evidence["max_entries"].as_u64().unwrap_or(0);
        let map_type = f.evidence["map_type"]
            .as_str()
            .unwrap_or("hash")
            .to_string();
        f.severity = Severity::Error;
        f.title = format!(
            "{} ({map_type}) is full: {entries}/{max} entries; {calls} traced insert{} failed with E2BIG",
            map_name(f.map.as_ref()),
            if calls == 1 { "" } else { "s" }
        );
        f.evidence["failed_inserts"] = json!(calls);
        f.evidence["failed_inserts_in"] =
            json!(shown.iter().map(|(_, _, t)| t.as_str()).collect::<Vec<_>>());
        f.fix = Some(
            "Raise max_entries, delete stale entries, or switch to an LRU map if eviction is \
             acceptable; check the return value of bpf_map_update_elem (-E2BIG)."
                .into(),
        );
    }
}

/// `layout/percpu-value-size` when a reader's buffer for one per-CPU lookup
/// is not `possible_cpus × round_up(value_size, 8)` bytes. A smaller buffer
/// is overrun by the kernel (memory corruption in the reader); a larger one
/// is only wasteful but usually means the reader iterates with the wrong
/// stride.
pub fn check_percpu_buffer(
    possible_cpus: u32,
    value_size: u64,
    buffer_size: u64,
    map: Option<MapRef>,
) -> Option<Finding> {
    let stride = percpu_stride(value_size);
    let expected = stride.saturating_mul(possible_cpus as u64);
    if buffer_size == expected {
        return None;
    }
    let likely = if buffer_size == value_size {
        "sized for one CPU"
    } else if buffer_size == value_size.saturating_mul(possible_cpus as u64) {
        "sized without rounding each CPU's value up to 8 bytes"
    } else if stride > 0 && buffer_size % stride == 0 {
        "sized for a different CPU count (online or configured CPUs instead of possible CPUs?)"
    } else {
        "unknown"
    };
    let smaller = buffer_size < expected;
    Some(
        Finding::new(
            Code::LayoutPercpuValueSize,
            if smaller {
                Severity::Error
            } else {
                Severity::Warning
            },
            format!(
                "per-CPU value buffer is {buffer_size} bytes, the kernel copies {expected} \
                 ({possible_cpus} possible CPUs × {stride}-byte stride){}",
                if smaller {
                    ": the lookup writes past the buffer"
                } else {
                    ""
                }
            ),
        )
        .with_map(map)
        .with_evidence(json!({
            "possible_cpus": possible_cpus,
            "value_size": value_size,
            "stride": stride,
            "expected_buffer": expected,
            "buffer_size": buffer_size,
            "overrun": expected.saturating_sub(buffer_size),
            "likely_cause": likely,
        }))
        .with_fix(
            "Size the buffer as libbpf_num_possible_cpus() × round_up(value_size, 8) and step \
             through it 8-byte aligned (Go cilium/ebpf and libbpf do this for you with per-CPU \
             slices / bpf_map_lookup_elem on the full buffer).",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: u32, name: &str) -> Option<MapRef> {
        Some(MapRef {
            id: Some(id),
            name: name.into(),
        })
    }

    #[test]
    fn a_one_entry_map_holding_its_key_and_arrays_are_no_finding() {
        assert!(map_full(1, MapType::HASH, 1, r(1, "hists")).is_empty());
        assert!(map_full(8, MapType::ARRAY, 8, r(2, "slots")).is_empty());
        assert!(map_full(7, MapType::HASH, 8, r(3, "flows")).is_empty());
    }

    #[test]
    fn at_capacity_is_a_warning_until_traced_e2big_makes_it_an_error() {
        let mut f = map_full(4, MapType::HASH, 4, r(5, "tiny"));
        f.extend(map_full(4, MapType::HASH, 4, r(6, "other")));
        f.extend(map_full(32, MapType::LRU_HASH, 32, r(7, "lru")));
        assert!(f.iter().all(|f| f.severity == Severity::Warning));
        assert!(
            f[0].title.contains("is at capacity: 4/4 entries"),
            "{}",
            f[0].title
        );
        // E2BIG on `tiny` only; an LRU map never fails, whatever is traced.
        for (id, name) in [(5, "tiny"), (7, "lru")] {
            f.push(
                Finding::new(Code::UpdateMapFull, Severity::Error, "E2BIG")
                    .with_map(r(id, name))
                    .with_evidence(json!({"calls": 20, "trace": "t.jsonl"})),
            );
        }
        confirm_full(&mut f);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].title,
            "map tiny (hash) is full: 4/4 entries; 20 traced inserts failed with E2BIG"
        );
        assert_eq!(f[0].evidence["failed_inserts"], 20);
        assert_eq!(
            f[1].severity,
            Severity::Warning,
            "another map's E2BIG says nothing"
        );
        assert_eq!(f[2].severity, Severity::Warning);
    }
}
