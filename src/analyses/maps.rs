//! Which instance is which: `maps/duplicate-name` (several live maps share a
//! name: a reload left the old one alive) and `maps/stale-pin` (a pinned map
//! is used by no loaded program while a map of the same name is).

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::case::{MapInstance, Pin};
use crate::model::finding::{Code, Finding, MapRef, Severity};

/// Map names libbpf gives to global-data maps; duplicates of these are
/// expected across objects and only noted.
fn is_internal(name: &str) -> bool {
    [".rodata", ".data", ".bss", ".kconfig"]
        .iter()
        .any(|s| name.ends_with(s) || name.contains(&format!("{s}.")))
}

/// Live maps (with an id) grouped by name, in name order.
fn by_name(maps: &[MapInstance]) -> BTreeMap<&str, Vec<&MapInstance>> {
    let mut groups: BTreeMap<&str, Vec<&MapInstance>> = BTreeMap::new();
    for m in maps.iter().filter(|m| m.id.is_some() && !m.name.is_empty()) {
        groups.entry(m.name.as_str()).or_default().push(m);
    }
    groups
}

/// `maps/duplicate-name`: one finding per name held by several live maps.
pub fn duplicate_names(maps: &[MapInstance]) -> Vec<Finding> {
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
        let severity = if is_internal(name) {
            Severity::Info
        } else {
            Severity::Warning
        };
        let instances: Vec<serde_json::Value> = group
            .iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "type": m.map_type.map(|t| t.name()),
                    "key_size": m.key_size,
                    "value_size": m.value_size,
                    "max_entries": m.max_entries,
                    "prog_ids": m.prog_ids,
                })
            })
            .collect();
        out.push(
            Finding::new(
                Code::MapsDuplicateName,
                severity,
                format!(
                    "{} maps are named `{name}` (ids {}); programs use {}",
                    group.len(),
                    group.iter().filter_map(|m| m.id).map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
                    if used.is_empty() {
                        "none of them".to_string()
                    } else {
                        format!("id {}", used.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
                    }
                ),
            )
            .with_map(Some(MapRef { id: used.first().copied(), name: name.to_string() }))
            .with_evidence(json!({
                "name": name,
                "instances": instances,
                "used_by_programs": used,
                "unused": unused,
            }))
            .with_fix(
                "Look maps up by id or by the pin the loader created, not by name; make sure the old program and \
                 its maps are released (close fds, unpin) when reloading.",
            ),
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
