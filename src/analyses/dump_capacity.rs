//! `dump/map-full` and `layout/percpu-value-size`: how many entries fit, and
//! how big a per-CPU value buffer must be.

use serde_json::json;

use crate::model::dump::MapDump;
use crate::model::finding::{Code, Finding, MapRef, Severity};
use crate::model::map::{percpu_stride, MapType};

/// `dump/map-full` when a hash-type map holds `max_entries` entries. Array
/// maps always hold every slot and are never reported. LRU maps evict the
/// least recently used entry instead of failing with E2BIG.
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
    if map_type.is_array() || max_entries == 0 || (entries as u64) < max_entries as u64 {
        return Vec::new();
    }
    let lru = map_type.is_lru();
    let map_name = map
        .as_ref()
        .map(|m| format!("map {}", m.name))
        .unwrap_or_else(|| "the map".into());
    let (severity, title, fix) = if lru {
        (
            Severity::Warning,
            format!(
                "{map_name} ({}) is full: {}/{max_entries} entries; new inserts evict the least recently used entries",
                map_type.name(),
                entries
            ),
            "An LRU map at capacity silently evicts entries: raise max_entries if evicted \
             entries are still needed, or expect lookups of older keys to miss.",
        )
    } else {
        (
            Severity::Error,
            format!(
                "{map_name} ({}) is full: {}/{max_entries} entries; further inserts fail with E2BIG",
                map_type.name(),
                entries
            ),
            "Raise max_entries, delete stale entries, or switch to an LRU map if eviction is \
             acceptable; check the return value of bpf_map_update_elem (-E2BIG).",
        )
    };
    vec![Finding::new(Code::DumpMapFull, severity, title)
        .with_map(map)
        .with_evidence(json!({
            "entries": entries,
            "max_entries": max_entries,
            "map_type": map_type.name(),
            "evicts": lru,
        }))
        .with_fix(fix)]
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
