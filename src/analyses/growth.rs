//! `dump/growing`: a map whose entries rise from one dump of it to the next
//! (a bundle's snapshots, or the bundles of one node in time order), with
//! the keys that came in and never left, the rate, and when the map is full
//! at that rate.
//!
//! Keys are matched by their bytes across dumps (a fingerprint each), so the
//! evidence is "these keys stayed", not just a rising count: a map at a
//! steady level with the same churn (as many keys leave as come) is silent,
//! however its count wobbles. Two leak signatures are named when seen: kept
//! keys whose `pid`/`tgid` field names a process no longer alive (the
//! bundle lists the live ones), and kept keys that equal a removed key once
//! padding is cleared (deleted with other padding bytes than they were
//! inserted with).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use serde_json::{json, Value};

use crate::model::case::MapInstance;
use crate::model::finding::{Code, Finding, Severity};
use crate::model::layout::{FieldType, Layout};
use crate::model::map::MapType;

/// Default of `analyze --full-within`: a growing map projected full sooner
/// is an error.
pub const DEFAULT_FULL_WITHIN_SECS: u64 = 24 * 3600;

/// Keys of one dump held at most (their fingerprints and bytes). A dump
/// with more is kept as a count only: its keys cannot be matched.
pub const MAX_SAMPLE_KEYS: usize = 4 << 20;

/// How far past its window a projection may reach and still make an
/// error: the window must cover a tenth of the time to full.
const MAX_EXTRAPOLATION: f64 = 10.0;

/// Kept keys decoded into the evidence.
const EXAMPLE_KEYS: usize = 5;

/// One dump of a map: when, from where, and its keys.
#[derive(Debug, Clone)]
pub struct KeySample {
    /// Unix milliseconds the dump started; `None` when the bundle's time
    /// could not be read (the sample is then left out).
    pub time_ms: Option<i64>,
    /// The dump as named (`bundle!snapshots/2/7-tasks.json`).
    pub source: String,
    /// The map's name in the bundle this dump came from: samples of an id
    /// that names another map now (ids of another boot) are left out.
    pub map_name: String,
    /// Entries the dump held.
    pub entries: u64,
    /// Whether every key's bytes were kept (not too many, all of one size,
    /// not zeroed by `collect --redact keys`, not formatted text).
    pub keys_kept: bool,
    /// The dump stopped early or had errors: its count is not the map's.
    pub truncated: bool,
    /// Key bytes, `key_size` apart, in dump order.
    key_bytes: Vec<u8>,
    key_size: usize,
}

impl KeySample {
    /// An empty sample of keys `key_size` bytes long.
    pub fn new(time_ms: Option<i64>, source: String, key_size: usize) -> Self {
        KeySample {
            time_ms,
            source,
            map_name: String::new(),
            entries: 0,
            keys_kept: key_size > 0,
            truncated: false,
            key_bytes: Vec::new(),
            key_size,
        }
    }

    /// Adds one key read from the dump.
    pub fn push(&mut self, key: &[u8]) {
        self.entries += 1;
        if !self.keys_kept {
            return;
        }
        if key.len() != self.key_size || self.key_bytes.len() / self.key_size >= MAX_SAMPLE_KEYS {
            self.keys_kept = false;
            self.key_bytes = Vec::new();
            return;
        }
        self.key_bytes.extend_from_slice(key);
    }

    /// Adds an entry whose key bytes are not known (formatted text).
    pub fn push_unknown(&mut self) {
        self.entries += 1;
        self.keys_kept = false;
        self.key_bytes = Vec::new();
    }

    /// Whether its keys can be matched against another dump's.
    fn keys_known(&self) -> bool {
        self.keys_kept && !self.truncated
    }

    fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.key_bytes.chunks_exact(self.key_size.max(1))
    }
}

/// What `dump/growing` is told besides the samples.
#[derive(Debug, Clone)]
pub struct GrowthOptions {
    /// A growing map projected full within this many seconds is an error.
    pub full_within_secs: u64,
    /// Processes alive when the last sample was taken (the bundle's
    /// `live_pids`); `None` when unknown.
    pub live_pids: Option<HashSet<u32>>,
}

impl Default for GrowthOptions {
    fn default() -> Self {
        GrowthOptions {
            full_within_secs: DEFAULT_FULL_WITHIN_SECS,
            live_pids: None,
        }
    }
}

/// Maps whose entries are keys a program adds and removes one by one, and
/// that refuse inserts once `max_entries` are in (hash maps and the like).
/// Arrays always hold every slot; ring buffers and storage maps do not fill
/// by key.
fn grows_by_key(t: MapType) -> bool {
    matches!(t.0, 1 | 5 | 9 | 10 | 11 | 13 | 18 | 25)
}

fn fingerprint(bytes: &[u8]) -> u64 {
    // SipHash with fixed keys: the same bytes give the same fingerprint in
    // every dump of the run (collisions cost at most a miscount).
    let mut h = std::hash::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// `dump/growing` findings for every map with two samples or more.
pub fn findings(
    maps: &[MapInstance],
    samples: &BTreeMap<u32, Vec<KeySample>>,
    opts: &GrowthOptions,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, series) in samples {
        let Some(map) = maps.iter().find(|m| m.id == Some(*id)) else {
            continue;
        };
        // Samples of this map (not of an earlier map with the id), whose
        // time is known and whose count is the map's.
        let mut series: Vec<&KeySample> = series
            .iter()
            .filter(|s| s.map_name == map.name && s.time_ms.is_some() && !s.truncated)
            .collect();
        series.sort_by_key(|s| s.time_ms);
        series.dedup_by_key(|s| s.time_ms);
        if let Some(f) = map_finding(map, &series, opts) {
            out.push(f);
        }
    }
    out
}

/// Keys added and removed from one sample to the next.
struct Step {
    added: u64,
    removed: u64,
}

fn map_finding(map: &MapInstance, series: &[&KeySample], opts: &GrowthOptions) -> Option<Finding> {
    let map_type = map.map_type?;
    if series.len() < 2 || !grows_by_key(map_type) {
        return None;
    }
    let (first, last) = (series[0], series[series.len() - 1]);
    let span_s = (ms(last) - ms(first)) as f64 / 1000.0;
    if span_s <= 0.0 {
        return None;
    }
    let counts: Vec<u64> = series.iter().map(|s| s.entries).collect();
    let net = last.entries as i64 - first.entries as i64;
    let rate = slope(series);
    let max_entries = u64::from(map.max_entries.unwrap_or(0));
    let full = max_entries > 0 && last.entries >= max_entries;

    // Keys matched across dumps, when every dump's keys were kept.
    let keyed = series.iter().all(|s| s.keys_known());
    let mut steps = Vec::new();
    // First sample each key of the last dump has been in continuously.
    let mut since: HashMap<u64, usize> = HashMap::new();
    let mut removed_masked: HashSet<u64> = HashSet::new();
    let mask = map.key_layout.as_deref().map(|l| l.padding_mask(1 << 16));
    if keyed {
        let mut prev: HashSet<u64> = first.keys().map(fingerprint).collect();
        since = prev.iter().map(|k| (*k, 0)).collect();
        for (i, s) in series.iter().enumerate().skip(1) {
            let cur: HashSet<u64> = s.keys().map(fingerprint).collect();
            let added = cur.difference(&prev).count() as u64;
            let removed = prev.difference(&cur).count() as u64;
            steps.push(Step { added, removed });
            since.retain(|k, _| cur.contains(k));
            for k in &cur {
                since.entry(*k).or_insert(i);
            }
            if let Some(mask) = &mask {
                if removed > 0 {
                    // Removed keys with their padding cleared: a kept key
                    // equal to one of them differs only in padding.
                    let before = &series[i - 1];
                    for k in before.keys() {
                        if !cur.contains(&fingerprint(k)) {
                            removed_masked.insert(fingerprint(&masked(k, mask)));
                        }
                    }
                }
            }
            prev = cur;
        }
    }
    let added: u64 = steps.iter().map(|s| s.added).sum();
    let removed: u64 = steps.iter().map(|s| s.removed).sum();

    // Growing: the count never falls, ends higher by more than the wobble
    // of a level map (2 entries, or 1 % of what it held), and, where keys
    // are matched, the keys that came in outnumber those that left.
    let never_falls = counts.windows(2).all(|w| w[1] >= w[0]);
    let margin = 2i64.max((first.entries / 100) as i64);
    let growing = never_falls && net > margin && rate > 0.0 && (!keyed || added > removed);
    let lru = map_type.is_lru();
    // An LRU map near its size that turns keys over is evicting (its
    // per-CPU free lists keep it somewhat below max_entries).
    let peak = counts.iter().copied().max().unwrap_or(0);
    let near_full = max_entries > 0 && peak * 4 >= max_entries * 3;
    if lru && near_full && keyed && removed > 0 && !(never_falls && net > 0 && removed == 0) {
        return Some(lru_pressure(map, series, span_s, removed, peak));
    }
    if !growing {
        return None;
    }
    // Level at the end: the last step added nothing net (the map filled,
    // or the leak stopped).
    let level_now = counts[counts.len() - 1] == counts[counts.len() - 2];

    let seconds_to_full =
        (max_entries > 0 && !full && !lru).then(|| (max_entries - last.entries) as f64 / rate);
    // The keys that came in during the window and are all still there.
    let kept_new: Vec<(&[u8], usize)> = if keyed {
        last.keys()
            .filter_map(|k| {
                let i = *since.get(&fingerprint(k))?;
                (i > 0).then_some((k, i))
            })
            .collect()
    } else {
        Vec::new()
    };
    let oldest_kept_s = kept_new
        .iter()
        .map(|(_, i)| (ms(last) - ms(series[*i])) as f64 / 1000.0)
        .fold(0.0f64, f64::max);

    let mut signatures = Vec::new();
    let mut evidence = json!({
        "map_type": map_type.name(),
        "max_entries": max_entries,
        "window_seconds": round3(span_s),
        "rate_per_second": round3(rate),
        "samples": series.iter().enumerate().map(|(i, s)| {
            let mut v = json!({"time_ms": ms(s), "entries": s.entries, "dump": s.source});
            if let Some(st) = i.checked_sub(1).and_then(|j| steps.get(j)) {
                v["added"] = json!(st.added);
                v["removed"] = json!(st.removed);
            }
            v
        }).collect::<Vec<_>>(),
    });
    if let Some(s) = seconds_to_full {
        evidence["seconds_to_full"] = json!(s.round() as u64);
    }
    if keyed {
        evidence["keys_added"] = json!(added);
        evidence["keys_removed"] = json!(removed);
        evidence["kept_new_keys"] = json!(kept_new.len());
        // Keys in every dump, from the first to the last.
        evidence["kept_all_window"] = json!(since.values().filter(|i| **i == 0).count());
        evidence["oldest_kept_seconds"] = json!(round3(oldest_kept_s));
        let examples: Vec<Value> = kept_new
            .iter()
            .take(EXAMPLE_KEYS)
            .map(|(k, _)| example(map.key_layout.as_deref(), k))
            .collect();
        evidence["kept_key_examples"] = Value::Array(examples);
        // Leak signatures.
        if let (Some(layout), Some(live)) = (map.key_layout.as_deref(), &opts.live_pids) {
            if let Some((field, off)) = pid_field(layout) {
                let dead = kept_new
                    .iter()
                    .filter(|(k, _)| {
                        k.get(off..off + 4)
                            .and_then(|b| b.try_into().ok())
                            .map(u32::from_ne_bytes)
                            .is_some_and(|pid| pid != 0 && !live.contains(&pid))
                    })
                    .count();
                evidence["dead_pid_keys"] = json!({"field": field, "keys": dead});
                if dead > 0 {
                    signatures.push(format!(
                        "{dead} of the kept keys name a `{field}` that is no longer running: entries of exited processes are never removed"
                    ));
                }
            }
        }
        if let Some(mask) = mask.as_ref().filter(|m| m.iter().any(|b| *b != 0)) {
            // Kept keys with bytes in their padding: a delete built with
            // zeroed padding (as a careful caller builds it) misses them.
            let garbage = kept_new
                .iter()
                .filter(|(k, _)| k.iter().zip(mask.iter()).any(|(b, m)| b & m != 0))
                .count();
            evidence["padding_garbage_keys"] = json!(garbage);
            if garbage > 0 {
                signatures.push(format!(
                    "{garbage} of the kept keys carry non-zero padding bytes: a delete with the padding zeroed does not match them"
                ));
            }
            let padding_only = kept_new
                .iter()
                .filter(|(k, _)| removed_masked.contains(&fingerprint(&masked(k, mask))))
                .count();
            evidence["padding_only_twins"] = json!(padding_only);
            if padding_only > 0 {
                signatures.push(format!(
                    "{padding_only} kept keys equal a removed key but for padding bytes: the deletes used other padding than the inserts"
                ));
            }
        }
    }
    if !keyed {
        evidence["keys_not_compared"] = json!(
            "the keys of some dumps were not kept (zeroed by --redact keys, printed as formatted text, or over the key limit): counts only"
        );
    }
    evidence["signatures"] = json!(signatures);
    // An error needs the projection within --full-within and a window of
    // dumps that covers a tenth of the time to full: a few seconds of
    // snapshots do not tell a leak from a map that fills and is read and
    // cleared later (aggregation maps), and leak signatures do not either
    // (an aggregation map keyed by pid keeps exited pids by design), so
    // they stay evidence.
    let severity = match seconds_to_full {
        _ if level_now || full => Severity::Info,
        Some(s) if s <= opts.full_within_secs as f64 && s <= MAX_EXTRAPOLATION * span_s => {
            Severity::Error
        }
        _ => Severity::Warning,
    };
    evidence["extrapolation"] = json!(seconds_to_full.map(|s| round3(s / span_s)));

    let name = &map.name;
    let mut title = format!(
        "map {name} grew from {} to {} entries in {} (+{:.1}/s)",
        first.entries,
        last.entries,
        duration(span_s),
        rate
    );
    if keyed {
        match removed {
            0 => title.push_str(&format!("; {} keys came in and none left", kept_new.len())),
            n => title.push_str(&format!(
                "; {} keys came in and stayed, {n} left",
                kept_new.len()
            )),
        }
    }
    match (seconds_to_full, level_now || full) {
        (_, true) if full => title.push_str(&format!("; it is now full ({max_entries} entries)")),
        (_, true) => title.push_str("; level in the last interval"),
        (Some(s), false) => title.push_str(&format!(
            ": full ({max_entries} entries) in {} at this rate",
            duration(s)
        )),
        (None, false) if lru => title.push_str(": it evicts once full"),
        (None, false) => {}
    }
    let fix = if signatures.is_empty() {
        "Find what should remove these keys: a delete with the same key bytes (padding included), a cleanup on process exit, or a program meant to expire them that is not attached; or size max_entries for the steady state.".to_string()
    } else {
        format!("{}.", signatures.join("; "))
    };
    Some(
        Finding::new(Code::DumpGrowing, severity, title)
            .with_map(Some(map.map_ref()))
            .with_evidence(evidence)
            .with_fix(fix),
    )
}

/// An LRU map that is full and turns keys over: the kernel evicts to make
/// room. Stated, with the rate, as eviction pressure (never a time to full).
fn lru_pressure(
    map: &MapInstance,
    series: &[&KeySample],
    span_s: f64,
    removed: u64,
    peak: u64,
) -> Finding {
    let per_s = removed as f64 / span_s;
    let max = u64::from(map.max_entries.unwrap_or(0));
    let lifetime = if per_s > 0.0 { max as f64 / per_s } else { 0.0 };
    Finding::new(
        Code::DumpGrowing,
        Severity::Info,
        format!(
            "LRU map {} runs near its size (up to {peak} of {max} entries) and replaced {removed} keys in {} ({per_s:.1}/s): an entry lives about {} before it is evicted or deleted",
            map.name,
            duration(span_s),
            duration(lifetime)
        ),
    )
    .with_map(Some(map.map_ref()))
    .with_evidence(json!({
        "map_type": map.map_type.map(|t| t.name()),
        "max_entries": max,
        "window_seconds": round3(span_s),
        "peak_entries": peak,
        "keys_replaced": removed,
        "replaced_per_second": round3(per_s),
        "entry_lifetime_seconds": round3(lifetime),
        "samples": series.iter().map(|s| json!({"time_ms": ms(s), "entries": s.entries, "dump": s.source})).collect::<Vec<_>>(),
    }))
    .with_fix("If entries are evicted before they are used, raise max_entries; an LRU map full on purpose needs nothing.")
}

/// Least-squares entries per second over the samples.
fn slope(series: &[&KeySample]) -> f64 {
    let t0 = ms(series[0]);
    let pts: Vec<(f64, f64)> = series
        .iter()
        .map(|s| ((ms(s) - t0) as f64 / 1000.0, s.entries as f64))
        .collect();
    let n = pts.len() as f64;
    let mt = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let me = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let cov: f64 = pts.iter().map(|p| (p.0 - mt) * (p.1 - me)).sum();
    let var: f64 = pts.iter().map(|p| (p.0 - mt) * (p.0 - mt)).sum();
    if var > 0.0 {
        cov / var
    } else {
        0.0
    }
}

fn masked(key: &[u8], mask: &[u8]) -> Vec<u8> {
    key.iter()
        .enumerate()
        .map(|(i, b)| b & !mask.get(i).copied().unwrap_or(0))
        .collect()
}

/// A 4-byte integer member of the key named like a process id.
fn pid_field(layout: &Layout) -> Option<(String, usize)> {
    layout.members.iter().find_map(|m| {
        let named = matches!(m.name.as_str(), "pid" | "tgid" | "tid");
        let int4 = matches!(&m.ty, FieldType::Int { size: 4, .. }) && m.bit_size.is_none();
        (named && int4).then(|| (m.name.to_string(), m.offset as usize))
    })
}

/// A kept key for the evidence: its bytes, and decoded with the key type.
fn example(layout: Option<&Layout>, key: &[u8]) -> Value {
    let hex: Vec<String> = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut v = json!({"key": hex.join(" ")});
    if let Some(d) = layout.and_then(|l| crate::model::decode::decode_layout(l, key).ok()) {
        v["decoded"] = d.to_json();
    }
    v
}

/// A sample's time (samples without one are filtered out first).
fn ms(s: &KeySample) -> i64 {
    s.time_ms.unwrap_or(0)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `90 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..=119 => format!("{:.1} s", secs.max(0.0)),
        120..=7199 => format!("{} min {} s", s / 60, s % 60),
        7200..=172_799 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ingest::btf::Btf;
    use crate::ingest::btf_layout::BtfLayouts;
    use crate::ingest::elf::BpfObject;

    /// `struct task_key` of corpora/cases/growing (pid, state, 3-byte hole, start_ns).
    fn task_key() -> Arc<Layout> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpora/cases/growing/growing.bpf.o"
        );
        let data = std::fs::read(path).expect("corpus object");
        let obj = BpfObject::parse(&data).expect("ELF");
        let btf = Btf::parse(obj.btf_data.expect(".BTF")).expect("BTF");
        let id = btf.find_by_name("task_key")[0];
        BtfLayouts::new(&btf).layout(id).expect("layout")
    }

    fn map(ty: &str, key_size: u64, max: u32, key: Option<Arc<Layout>>) -> MapInstance {
        MapInstance {
            id: Some(7),
            name: "m".into(),
            map_type: MapType::from_name(ty),
            key_size: Some(key_size),
            max_entries: Some(max),
            key_layout: key,
            ..Default::default()
        }
    }

    /// A sample at `t` seconds of u64 keys.
    fn sample(t: i64, keys: impl IntoIterator<Item = u64>) -> KeySample {
        let mut s = KeySample::new(Some(t * 1000), format!("dump@{t}"), 8);
        s.map_name = "m".into();
        for k in keys {
            s.push(&k.to_le_bytes());
        }
        s
    }

    fn run(m: &MapInstance, samples: Vec<KeySample>, opts: &GrowthOptions) -> Vec<Finding> {
        findings(
            std::slice::from_ref(m),
            &BTreeMap::from([(7, samples)]),
            opts,
        )
    }

    #[test]
    fn a_map_that_keeps_every_key_it_gains_is_growing_with_its_time_to_full() {
        let m = map("hash", 8, 400, None);
        // 100 keys, +50 a second for 3 s, none removed.
        let s: Vec<KeySample> = (0..4).map(|t| sample(t, 0..100 + 50 * t as u64)).collect();
        let f = run(&m, s, &GrowthOptions::default());
        assert_eq!(f.len(), 1, "{f:#?}");
        let e = &f[0].evidence;
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(e["rate_per_second"], 50.0);
        // (400 - 250) / 50 = 3 s, within 10x the 3 s window.
        assert_eq!(e["seconds_to_full"], 3);
        assert_eq!(e["kept_new_keys"], 150);
        assert_eq!(e["keys_removed"], 0);
        assert_eq!(e["oldest_kept_seconds"], 2.0);
        // Beyond the threshold it is a warning.
        let slow = GrowthOptions {
            full_within_secs: 2,
            ..Default::default()
        };
        let s: Vec<KeySample> = (0..4).map(|t| sample(t, 0..100 + 50 * t as u64)).collect();
        assert_eq!(run(&m, s, &slow)[0].severity, Severity::Warning);
        // Full in 195 s seen over 3 s, no leak signature: too far a
        // projection for an error.
        let big = map("hash", 8, 10_000, None);
        let s: Vec<KeySample> = (0..4).map(|t| sample(t, 0..100 + 50 * t as u64)).collect();
        let f = run(&big, s, &GrowthOptions::default());
        assert_eq!(f[0].evidence["seconds_to_full"], 195);
        assert_eq!(f[0].severity, Severity::Warning);
    }

    #[test]
    fn a_level_map_with_the_same_churn_or_a_wobble_is_silent() {
        let m = map("hash", 8, 10_000, None);
        // Each second 50 keys come in and the 50 oldest leave.
        let churn: Vec<KeySample> = (0..4)
            .map(|t| sample(t, 50 * t as u64..500 + 50 * t as u64))
            .collect();
        assert!(run(&m, churn, &GrowthOptions::default()).is_empty());
        // The count wobbles by one or two.
        let wobble: Vec<KeySample> = [500u64, 501, 501, 502]
            .iter()
            .enumerate()
            .map(|(t, n)| sample(t as i64, 0..*n))
            .collect();
        assert!(run(&m, wobble, &GrowthOptions::default()).is_empty());
        // Rising, then falling: not growing.
        let back: Vec<KeySample> = [100u64, 200, 300, 150]
            .iter()
            .enumerate()
            .map(|(t, n)| sample(t as i64, 0..*n))
            .collect();
        assert!(run(&m, back, &GrowthOptions::default()).is_empty());
    }

    #[test]
    fn truncated_dumps_other_maps_arrays_and_single_samples_are_left_out() {
        let m = map("hash", 8, 10_000, None);
        let mut s: Vec<KeySample> = (0..3).map(|t| sample(t, 0..100 + 50 * t as u64)).collect();
        // A truncated first dump would make the map look like it grew.
        let mut cut = sample(3, 0..10);
        cut.truncated = true;
        s.push(cut);
        assert_eq!(run(&m, s, &GrowthOptions::default()).len(), 1);
        let mut s: Vec<KeySample> = (0..3).map(|t| sample(t, 0..100 + 50 * t as u64)).collect();
        for x in &mut s[..2] {
            x.map_name = "another".into();
        }
        assert!(run(&m, s, &GrowthOptions::default()).is_empty());
        let a = map("array", 8, 10_000, None);
        let s: Vec<KeySample> = (0..3).map(|t| sample(t, 0..100 + 50 * t as u64)).collect();
        assert!(run(&a, s, &GrowthOptions::default()).is_empty());
        assert!(run(&m, vec![sample(0, 0..10)], &GrowthOptions::default()).is_empty());
    }

    #[test]
    fn counts_alone_still_show_growth_when_keys_are_not_kept() {
        let m = map("hash", 8, 10_000, None);
        let s: Vec<KeySample> = (0..4)
            .map(|t| {
                let mut s = sample(t, 0..100 + 50 * t as u64);
                s.push_unknown();
                s
            })
            .collect();
        let f = run(&m, s, &GrowthOptions::default());
        assert_eq!(f.len(), 1);
        assert!(f[0].evidence.get("keys_not_compared").is_some());
        assert!(f[0].evidence.get("kept_new_keys").is_none());
    }

    #[test]
    fn an_lru_map_near_its_size_reports_eviction_pressure_not_a_time_to_full() {
        let m = map("lru_hash", 8, 128, None);
        let s: Vec<KeySample> = (0..4)
            .map(|t| sample(t, 50 * t as u64..100 + 50 * t as u64))
            .collect();
        let f = run(&m, s, &GrowthOptions::default());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].evidence["keys_replaced"], 150);
        assert!(f[0].evidence.get("seconds_to_full").is_none());
    }

    #[test]
    fn leak_signatures_dead_pids_and_keys_with_padding_bytes() {
        let layout = task_key();
        assert_eq!(layout.size, 16);
        let m = map("hash", 16, 4096, Some(layout));
        let key = |pid: u32, hole: u8, n: u64| {
            let mut k = [0u8; 16];
            k[..4].copy_from_slice(&pid.to_ne_bytes());
            k[4] = 1;
            k[5..8].fill(hole);
            k[8..].copy_from_slice(&n.to_ne_bytes());
            k
        };
        let mut samples = Vec::new();
        for t in 0..3u64 {
            let mut s = KeySample::new(Some(t as i64 * 1000), format!("d{t}"), 16);
            s.map_name = "m".into();
            for n in 0..10 + 10 * t {
                // pids 1000.. have exited; pid 1 lives; every third key has
                // bytes in its hole.
                let pid = if n % 2 == 0 { 1000 + n as u32 } else { 1 };
                s.push(&key(pid, if n % 3 == 0 { 0xa5 } else { 0 }, n));
            }
            samples.push(s);
        }
        let opts = GrowthOptions {
            live_pids: Some(HashSet::from([1])),
            ..Default::default()
        };
        let f = run(&m, samples, &opts);
        let e = &f[0].evidence;
        // New keys n = 10..29: even ones name dead pids, n % 3 == 0 have garbage.
        assert_eq!(e["dead_pid_keys"]["keys"], 10, "{e:#}");
        assert_eq!(e["padding_garbage_keys"], 6, "{e:#}");
        assert_eq!(e["signatures"].as_array().unwrap().len(), 2);
        assert_eq!(e["kept_key_examples"][0]["decoded"]["state"], 1);
    }

    #[test]
    fn a_kept_key_equal_to_a_removed_one_but_for_padding_is_named() {
        let m = map("hash", 16, 4096, Some(task_key()));
        let key = |hole: u8, n: u64| {
            let mut k = [0u8; 16];
            k[..4].copy_from_slice(&7u32.to_ne_bytes());
            k[5..8].fill(hole);
            k[8..].copy_from_slice(&n.to_ne_bytes());
            k
        };
        // Key 1 is inserted zeroed, then deleted and inserted again with
        // garbage in its hole; keys 2.. just come in.
        let mk = |t: i64, keys: Vec<[u8; 16]>| {
            let mut s = KeySample::new(Some(t * 1000), format!("d{t}"), 16);
            s.map_name = "m".into();
            for k in keys {
                s.push(&k);
            }
            s
        };
        let s = vec![
            mk(0, vec![key(0, 1), key(0, 2)]),
            mk(1, vec![key(0xa5, 1), key(0, 2), key(0, 3), key(0, 4)]),
            mk(
                2,
                vec![
                    key(0xa5, 1),
                    key(0, 2),
                    key(0, 3),
                    key(0, 4),
                    key(0, 5),
                    key(0, 6),
                ],
            ),
        ];
        let f = run(&m, s, &GrowthOptions::default());
        assert_eq!(
            f[0].evidence["padding_only_twins"], 1,
            "{:#}",
            f[0].evidence
        );
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(duration(59.7), "59.7 s");
        assert_eq!(duration(189.0), "3 min 9 s");
        assert_eq!(duration(40_000.0), "11 h 6 min");
        assert_eq!(duration(259_200.0), "3 d 0 h");
    }
}
