//! Bundles collected with `--redact`: which comparisons the masked bytes
//! cannot support, so that no finding is computed against zeros and the
//! report says what was not compared.
//!
//! `collect --redact` zeroes payload bytes (keys and values with `keys`,
//! values with `values`) in the dumps, snapshots and trace, and keeps the
//! padding bytes when the map's BTF tells them apart (`docs/bundle.md`). So:
//!
//! - masked keys (payload or all) cannot be told apart: duplicate keys and
//!   the whole lookup replay (padding miss, byte-order miss, index out of
//!   range, deleted, absent) would compare zeros with zeros;
//! - a side zeroed whole (no usable BTF at collection) has no padding bytes
//!   left to check for garbage;
//! - a side whose padding was kept is still checked for padding garbage;
//!   `update/map-full` and `update/exists` rest on return codes and stay,
//!   with their key counts and examples marked as redacted.
//!
//! [`Redactions::withhold`] drops the findings that rest on masked bytes,
//! whatever input they came from (a clear trace given beside a redacted
//! bundle still meets zeroed dump keys); [`Redactions::not_compared`] is
//! the `input/unused` finding that lists what was left out, map by map.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use crate::bundle::{Manifest, Masked, Redacted};
use crate::model::case::MapInstance;
use crate::model::finding::{Code, Finding, MapRef, Severity};

/// Codes that compare key bytes with one another.
const KEY_BYTES: &[Code] = &[
    Code::DumpDuplicateKeys,
    Code::LookupPaddingMiss,
    Code::LookupByteOrderMiss,
    Code::LookupIndexOutOfRange,
    Code::LookupKeyDeleted,
    Code::LookupKeyAbsent,
];

/// Codes from return codes whose evidence counts or shows keys.
const KEY_EVIDENCE: &[Code] = &[Code::UpdateMapFull, Code::UpdateExists];

/// One redacted bundle.
#[derive(Debug, Clone)]
struct BundleRedaction {
    bundle: String,
    /// `manifest.redact`: `values` or `keys`.
    mode: String,
    files: Vec<String>,
    /// Map id → what was masked.
    maps: BTreeMap<u32, Redacted>,
}

/// The redacted bundles among the inputs.
#[derive(Debug, Clone, Default)]
pub struct Redactions {
    bundles: Vec<BundleRedaction>,
}

impl Redactions {
    /// Records bundle `name` if its manifest says it was redacted: each
    /// map's masks (`maps[].redacted`, or what `redact` implies for
    /// bundles that predate it) and the trace's.
    pub fn add_bundle(&mut self, name: &str, m: &Manifest) {
        if !matches!(m.redact.as_str(), "keys" | "values") {
            return;
        }
        let mut maps: BTreeMap<u32, Redacted> =
            m.maps.iter().map(|r| (r.id, m.map_redaction(r))).collect();
        // A traced map gone before the listing has only the trace's record.
        for t in m.trace.iter().flat_map(|t| &t.redaction) {
            let Some(id) = t.map_id else { continue };
            let e = maps.entry(id).or_default();
            e.key = e.key.max(t.key);
            e.value = e.value.max(t.value);
        }
        self.bundles.push(BundleRedaction {
            bundle: name.to_string(),
            mode: m.redact.clone(),
            files: m.redacted_files.clone(),
            maps,
        });
    }

    /// How map `id`'s bytes were masked (the most masked over the bundles).
    pub fn of_map(&self, id: u32) -> Redacted {
        let mut r = Redacted::default();
        for b in &self.bundles {
            if let Some(m) = b.maps.get(&id) {
                r.key = r.key.max(m.key);
                r.value = r.value.max(m.value);
            }
        }
        r
    }

    /// Whether any input was redacted.
    pub fn is_empty(&self) -> bool {
        self.bundles.is_empty()
    }

    /// Whether a finding of `code` about a map masked as `r` would rest on
    /// masked bytes.
    fn rests_on_masked(code: Code, r: Redacted) -> bool {
        (r.key.is_masked() && KEY_BYTES.contains(&code))
            || (r.key == Masked::All && code == Code::DumpKeyPaddingGarbage)
            || (r.value == Masked::All && code == Code::DumpValuePaddingGarbage)
    }

    /// Drops the findings that rest on masked bytes and marks the key
    /// evidence of those that rest on return codes. Returns how many were
    /// dropped.
    pub fn withhold(&self, findings: &mut Vec<Finding>) -> usize {
        if self.is_empty() {
            return 0;
        }
        let before = findings.len();
        findings.retain(|f| {
            let Some(id) = f.map.as_ref().and_then(|m| m.id) else {
                return true;
            };
            !Self::rests_on_masked(f.code, self.of_map(id))
        });
        for f in findings.iter_mut() {
            let Some(id) = f.map.as_ref().and_then(|m| m.id) else {
                continue;
            };
            if KEY_EVIDENCE.contains(&f.code) && self.of_map(id).key.is_masked() {
                if let Some(e) = f.evidence.as_object_mut() {
                    e.insert("distinct_keys".into(), serde_json::Value::Null);
                    e.insert(
                        "redacted".into(),
                        json!("key bytes were zeroed by collect --redact: the count of distinct keys is unknown and the examples' keys are not the keys used"),
                    );
                }
            }
        }
        before - findings.len()
    }

    /// Whether calls on map `id` cannot be replayed (their keys, or the
    /// dump's, were masked).
    pub fn keys_masked(&self, id: u32) -> bool {
        self.of_map(id).key.is_masked()
    }

    /// One `input/unused` finding per redacted bundle that cost a
    /// comparison: for each map with a dump or traced calls, the checks not
    /// made and why. `dumped`: map ids with a dump; `calls`: traced calls
    /// by map id.
    pub fn not_compared(
        &self,
        maps: &[MapInstance],
        dumped: &[u32],
        calls: &HashMap<u32, u64>,
        in_selection: &dyn Fn(&MapInstance) -> bool,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        for b in &self.bundles {
            let mut rows = Vec::new();
            let mut codes: Vec<Code> = Vec::new();
            let mut not_replayed = 0u64;
            for (&id, &r) in &b.maps {
                let map = maps.iter().find(|m| m.id == Some(id));
                if map.is_some_and(|m| !in_selection(m)) {
                    continue;
                }
                let dump = dumped.contains(&id);
                let traced = calls.get(&id).copied().unwrap_or(0);
                let mut checks = Vec::new();
                if dump && r.key.is_masked() {
                    checks.push(Code::DumpDuplicateKeys);
                }
                let has_layout = |l: Option<&std::sync::Arc<crate::model::layout::Layout>>| {
                    l.is_some_and(|l| !l.uncovered_bits().is_empty())
                };
                if dump
                    && r.key == Masked::All
                    && has_layout(map.and_then(|m| m.key_layout.as_ref()))
                {
                    checks.push(Code::DumpKeyPaddingGarbage);
                }
                if dump
                    && r.value == Masked::All
                    && has_layout(map.and_then(|m| m.value_layout.as_ref()))
                {
                    checks.push(Code::DumpValuePaddingGarbage);
                }
                if traced > 0 && r.key.is_masked() {
                    checks.extend(KEY_BYTES.iter().filter(|c| **c != Code::DumpDuplicateKeys));
                    not_replayed += traced;
                }
                if checks.is_empty() {
                    continue;
                }
                for c in &checks {
                    if !codes.contains(c) {
                        codes.push(*c);
                    }
                }
                let map_ref = map.map(MapInstance::map_ref).unwrap_or(MapRef {
                    id: Some(id),
                    name: String::new(),
                });
                rows.push(json!({
                    "map": map_ref,
                    "key": r.key.as_str(),
                    "value": r.value.as_str(),
                    "not_checked": checks.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                    "trace_calls_not_replayed": traces_or_null(traced, r),
                }));
            }
            if rows.is_empty() {
                continue;
            }
            codes.sort();
            out.push(bundle_finding(b, &rows, &codes, not_replayed));
        }
        out
    }
}

fn traces_or_null(traced: u64, r: Redacted) -> serde_json::Value {
    if traced > 0 && r.key.is_masked() {
        json!(traced)
    } else {
        serde_json::Value::Null
    }
}

/// What `mode` zeroed, in words.
fn zeroed(mode: &str) -> &'static str {
    match mode {
        "keys" => "key and value payload bytes",
        _ => "value payload bytes",
    }
}

fn bundle_finding(
    b: &BundleRedaction,
    rows: &[serde_json::Value],
    codes: &[Code],
    not_replayed: u64,
) -> Finding {
    let mut what = Vec::new();
    if codes.contains(&Code::DumpDuplicateKeys) {
        what.push("duplicate keys".to_string());
    }
    if codes.contains(&Code::DumpKeyPaddingGarbage) {
        what.push("key padding".to_string());
    }
    if codes.contains(&Code::DumpValuePaddingGarbage) {
        what.push("value padding".to_string());
    }
    if not_replayed > 0 {
        what.push(format!(
            "the lookup replay of {not_replayed} traced call{}",
            if not_replayed == 1 { "" } else { "s" }
        ));
    }
    let maps = rows.len();
    let title = format!(
        "{} was collected with --redact {}: {} not compared on {maps} map{}, since their bytes were zeroed",
        b.bundle,
        b.mode,
        what.join(", "),
        if maps == 1 { "" } else { "s" },
    );
    Finding::new(Code::InputUnused, Severity::Info, title)
        .with_evidence(json!({
            "bundle": b.bundle,
            "redact": b.mode,
            "zeroed": zeroed(&b.mode),
            "redacted_files": b.files,
            "not_compared": rows,
            "still_compared": "layouts, entry counts and map fullness, dump truncation, padding bytes the masks kept, failed updates by return code (update/map-full, update/exists)",
        }))
        .with_fix(format!(
            "These checks would compare zeroed bytes, so none was made and none is reported: a clean report says nothing about them. Collect again without --redact{} where the bytes may leave the node, or run `bpfcase analyze` on the node itself.",
            if b.mode == "keys" { " (or with --redact values, which keeps keys)" } else { "" }
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{MapRecord, TraceRecord, TraceRedaction};

    fn manifest(mode: &str) -> Manifest {
        Manifest {
            redact: mode.into(),
            maps: vec![
                MapRecord {
                    id: 5,
                    name: "flows".into(),
                    redacted: Some(Redacted {
                        key: Masked::Payload,
                        value: Masked::All,
                    }),
                    ..Default::default()
                },
                // A bundle of an older version: no `redacted`.
                MapRecord {
                    id: 6,
                    name: "old".into(),
                    ..Default::default()
                },
            ],
            trace: Some(TraceRecord {
                redaction: vec![TraceRedaction {
                    map_id: Some(9),
                    key: Masked::All,
                    value: Masked::All,
                    how: String::new(),
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn finding(code: Code, id: u32) -> Finding {
        Finding::new(code, Severity::Error, code.as_str()).with_map(Some(MapRef {
            id: Some(id),
            name: String::new(),
        }))
    }

    #[test]
    fn keys_mode_withholds_key_comparisons_and_keeps_kept_padding_checks() {
        let mut r = Redactions::default();
        r.add_bundle("case.tar", &manifest("keys"));
        assert_eq!(
            r.of_map(6).key,
            Masked::All,
            "older bundles: what redact implies"
        );
        assert_eq!(r.of_map(9).key, Masked::All, "a map only the trace saw");
        assert_eq!(r.of_map(77), Redacted::default());
        let mut f = vec![
            finding(Code::LookupPaddingMiss, 5),
            finding(Code::LookupKeyAbsent, 9),
            finding(Code::DumpDuplicateKeys, 6),
            // Key padding was kept for map 5: still checked.
            finding(Code::DumpKeyPaddingGarbage, 5),
            finding(Code::DumpValuePaddingGarbage, 5),
            finding(Code::UpdateMapFull, 5),
            finding(Code::LookupKeyAbsent, 77),
        ];
        assert_eq!(r.withhold(&mut f), 4);
        let left: Vec<(Code, u32)> = f
            .iter()
            .map(|f| (f.code, f.map.as_ref().unwrap().id.unwrap()))
            .collect();
        assert_eq!(
            left,
            [
                (Code::DumpKeyPaddingGarbage, 5),
                (Code::UpdateMapFull, 5),
                (Code::LookupKeyAbsent, 77)
            ]
        );
        assert!(f[1].evidence["distinct_keys"].is_null());
        assert!(f[1].evidence["redacted"].is_string());
    }

    #[test]
    fn values_mode_keeps_key_comparisons() {
        let mut m = manifest("values");
        m.maps[0].redacted = Some(Redacted {
            key: Masked::Kept,
            value: Masked::Payload,
        });
        m.trace = None;
        let mut r = Redactions::default();
        r.add_bundle("case.tar", &m);
        let mut f = vec![
            finding(Code::LookupPaddingMiss, 5),
            finding(Code::DumpValuePaddingGarbage, 5),
            finding(Code::DumpValuePaddingGarbage, 6),
        ];
        assert_eq!(r.withhold(&mut f), 1);
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.map.as_ref().unwrap().id == Some(5)));
    }

    #[test]
    fn unredacted_bundles_change_nothing() {
        let mut r = Redactions::default();
        r.add_bundle("case.tar", &manifest("none"));
        r.add_bundle("old.tar", &manifest(""));
        assert!(r.is_empty());
        let mut f = vec![finding(Code::LookupPaddingMiss, 5)];
        assert_eq!(r.withhold(&mut f), 0);
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn not_compared_lists_each_map_and_the_checks_left_out() {
        let mut r = Redactions::default();
        r.add_bundle("case.tar", &manifest("keys"));
        let maps = vec![MapInstance {
            id: Some(5),
            name: "flows".into(),
            ..Default::default()
        }];
        let calls = HashMap::from([(5, 12), (9, 3)]);
        let f = r.not_compared(&maps, &[5, 6], &calls, &|_| true);
        assert_eq!(f.len(), 1);
        let f = &f[0];
        assert_eq!((f.code, f.severity), (Code::InputUnused, Severity::Info));
        assert!(
            f.title.starts_with("case.tar was collected with --redact keys: duplicate keys, the lookup replay of 15 traced calls not compared on 3 maps"),
            "{}",
            f.title
        );
        let rows = f.evidence["not_compared"].as_array().unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["map"]["name"], "flows");
        assert_eq!(rows[0]["trace_calls_not_replayed"], 12);
        assert!(rows[0]["not_checked"]
            .as_array()
            .unwrap()
            .contains(&json!("lookup/padding-miss")));
        // Map 6: a dump, no trace.
        assert_eq!(rows[1]["not_checked"], json!(["dump/duplicate-keys"]));
        assert!(rows[1]["trace_calls_not_replayed"].is_null());
        // Nothing dumped or traced: nothing to say.
        assert!(r
            .not_compared(&maps, &[], &HashMap::new(), &|_| true)
            .is_empty());
    }
}
