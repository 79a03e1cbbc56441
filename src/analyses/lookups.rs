//! Why traced map calls failed: `lookup/padding-miss`,
//! `lookup/byte-order-miss`, `lookup/index-out-of-range`,
//! `lookup/key-deleted`, `lookup/key-absent`, `update/map-full`,
//! `update/exists`.
//!
//! Calls are replayed per map in trace order. Keys a call created or found
//! are present from then on, keys a call deleted are gone; the map's dump
//! (taken right after the trace) adds the keys the BPF side wrote, which no
//! trace of user space sees. A lookup that missed (ENOENT) is then compared
//! with every present key of the same size:
//!
//! - equal except in padding bytes: a padding miss;
//! - equal once one or more integer fields are byte-swapped: a byte-order miss;
//! - deleted earlier in the trace and not written since: a deleted key;
//! - an array index at or past `max_entries`: out of range;
//! - otherwise absent, with the nearest present key for reference.
//!
//! Findings are one per map and code, with counts and a few examples.
//!
//! `lookup/wrong-map` looks at instances, not keys: calls went to a map no
//! loaded program uses while a map of the same name is used by one (the
//! caller holds an instance a reload left behind).

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{json, Value};

use crate::model::case::{MapInstance, Pin};
use crate::model::dump::{hex_bytes, KeyLog};
use crate::model::finding::{Code, Finding, MapRef, Severity, SourceRef};
use crate::model::layout::{FieldType, Layout};
use crate::model::trace::{
    errno_name, MapCall, MapCmd, SharedBytes, SharedStr, BPF_EXIST, BPF_NOEXIST, E2BIG, EEXIST,
    ENOENT,
};

/// Examples kept per finding.
const EXAMPLES: usize = 3;
/// Callers, (pid, fd) pairs and array indexes listed per finding; the
/// counts beside them cover all (a forged trace could name millions).
const LISTED: usize = 8;
/// Distinct missed keys per map searched for their nearest present key;
/// further ones are counted but not searched (each search reads every key).
const NEAREST_SEARCHES: usize = 16;
/// Integer fields tried in every on/off combination for a byte-order miss.
const MAX_SWAPPABLE: usize = 8;

/// What the analysis reads besides the calls.
pub struct TraceContext<'a> {
    /// The trace file as named in reports (`case.tar!trace/bpf-calls.jsonl`).
    pub file: &'a str,
    pub maps: &'a [MapInstance],
    /// Pins under bpffs, to say how a caller may have reached a map.
    pub pins: &'a [Pin],
    /// The keys of each map's dump taken after the trace, by map id.
    pub dumps: HashMap<u32, &'a KeyLog>,
}

/// Explains every failed call in `calls`.
pub fn explain(calls: &[MapCall], ctx: &TraceContext<'_>) -> Vec<Finding> {
    let calls_all = calls;
    // Calls come in runs on one map: only a change of map looks the
    // group up.
    let mut by_map: Vec<(Option<u32>, Vec<&MapCall>)> = Vec::new();
    let mut group_of: HashMap<Option<u32>, usize> = HashMap::new();
    let mut last: Option<usize> = None;
    for c in calls {
        let i = match last.filter(|&i| by_map[i].0 == c.map_id) {
            Some(i) => i,
            None => *group_of.entry(c.map_id).or_insert_with(|| {
                by_map.push((c.map_id, Vec::new()));
                by_map.len() - 1
            }),
        };
        by_map[i].1.push(c);
        last = Some(i);
    }
    by_map.sort_by_key(|(id, _)| *id);
    let mut findings = Vec::new();
    for (id, mut calls) in by_map {
        // A trace is written in seq order: sorting is rarely needed.
        if calls.windows(2).any(|w| w[0].seq > w[1].seq) {
            calls.sort_by_key(|c| c.seq);
        }
        let map = id.and_then(|id| ctx.maps.iter().find(|m| m.id == Some(id)));
        if let Some(f) = map.and_then(|m| wrong_map(m, &calls, ctx)) {
            findings.push(f);
        }
        let dump = id.and_then(|id| ctx.dumps.get(&id).copied());
        let mut replay = MapReplay::new(ctx.file, id, map, dump);
        // Other instances of the same name, and the keys each is known to
        // hold: a missed key found there is written to the wrong instance.
        if let Some(m) = map.filter(|m| !m.name.is_empty()) {
            for o in ctx.maps.iter().filter(|o| o.name == m.name && o.id != m.id) {
                let Some(oid) = o.id else { continue };
                let mut keys: HashSet<Vec<u8>> = calls_all
                    .iter()
                    .filter(|c| c.map_id == Some(oid) && c.ret == 0 && c.cmd == MapCmd::Update)
                    .filter_map(|c| c.key.as_deref().map(<[u8]>::to_vec))
                    .collect();
                if let Some(d) = ctx.dumps.get(&oid) {
                    keys.extend(d.byte_keys().map(<[u8]>::to_vec));
                }
                replay.elsewhere.push((oid, keys));
            }
        }
        findings.extend(replay.run(&calls));
    }
    findings
}

/// `lookup/wrong-map`: `calls` went to `m`, which no loaded program uses,
/// while another map of its name is used by one.
fn wrong_map(m: &MapInstance, calls: &[&MapCall], ctx: &TraceContext<'_>) -> Option<Finding> {
    if !m.prog_ids.is_empty() || m.name.is_empty() {
        return None;
    }
    let live: Vec<&MapInstance> = ctx
        .maps
        .iter()
        .filter(|o| o.name == m.name && o.id != m.id && !o.prog_ids.is_empty())
        .collect();
    if live.is_empty() {
        return None;
    }
    let id = m.id?;
    let callers: BTreeSet<String> = calls.iter().map(|c| caller(c)).collect();
    let fds: BTreeSet<(u32, i32)> = calls.iter().map(|c| (c.pid, c.map_fd)).collect();
    let failed = calls.iter().filter(|c| c.ret < 0).count();
    let pins_of = |id: Option<u32>| -> Vec<&str> {
        ctx.pins
            .iter()
            .filter(|p| p.kind == "map" && Some(p.id) == id)
            .map(|p| p.path.as_str())
            .collect()
    };
    let others: Vec<String> = live
        .iter()
        .map(|o| {
            let progs: Vec<String> = o.prog_ids.iter().map(|p| p.to_string()).collect();
            format!(
                "id {} (program{} {})",
                o.id.map_or("?".into(), |i| i.to_string()),
                if progs.len() == 1 { "" } else { "s" },
                progs.join(", ")
            )
        })
        .collect();
    let mut f = Finding::new(
        Code::LookupWrongMap,
        Severity::Error,
        format!(
            "{} made {} calls on map {} id {id}, which no loaded program uses; the program's `{}` is {}",
            listed(&callers),
            calls.len(),
            m.name,
            m.name,
            others.join(" and ")
        ),
    )
    .with_map(Some(MapRef {
        id: m.id,
        name: m.name.clone(),
    }))
    .with_evidence(json!({
        "trace": ctx.file,
        "calls": calls.len(),
        "failed_calls": failed,
        "callers": callers.iter().take(LISTED).collect::<Vec<_>>(),
        "caller_count": callers.len(),
        "caller_fds": fds.iter().take(LISTED).map(|(pid, fd)| json!({"pid": pid, "fd": fd})).collect::<Vec<_>>(),
        "caller_fd_count": fds.len(),
        "map": {"id": id, "name": m.name, "prog_ids": m.prog_ids, "pins": pins_of(m.id)},
        "used_instances": live.iter().map(|o| json!({
            "id": o.id, "name": o.name, "prog_ids": o.prog_ids, "pins": pins_of(o.id),
        })).collect::<Vec<_>>(),
        "example": calls.first().map(|c| json!({"seq": c.seq, "line": c.line, "cmd": c.cmd.as_str()})),
    }))
    .with_fix(format!(
        "The caller holds an old instance of `{}` (a reload left it alive, typically through a pin). \
         Re-open the map the running program uses (its new pin, or by id from the program's map ids) and remove the stale pin.",
        m.name
    ));
    if let Some(c) = calls.first() {
        f = f.with_source(SourceRef {
            file: ctx.file.to_string(),
            line: Some(c.line),
            offset: None,
            label: format!("first call on the unused map {} id {id}", m.name),
            text: None,
        });
    }
    Some(f)
}

/// What became of a key during the trace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyState {
    Present,
    /// Deleted by this call.
    Deleted(usize),
}

/// A present key near a missed one, and the byte offsets where they differ.
type NearKey = (Vec<u8>, Vec<usize>);

/// Why one call missed.
enum Miss {
    Padding {
        present: Vec<u8>,
        offsets: Vec<usize>,
    },
    ByteOrder {
        present: Vec<u8>,
        fields: Vec<String>,
    },
    /// `index` is `None` when the trace has no key bytes: a plain or
    /// per-CPU array fails a lookup for no other reason.
    OutOfRange {
        index: Option<u32>,
    },
    Deleted {
        by: usize,
    },
    Absent {
        nearest: Option<NearKey>,
        /// The exact key is in the dump taken after the trace: it was
        /// written after this call (by the BPF side, or later in time).
        in_dump: bool,
        /// Other instances of the map's name that hold this exact key.
        elsewhere: Vec<u32>,
    },
}

impl Miss {
    fn code(&self) -> Code {
        match self {
            Miss::Padding { .. } => Code::LookupPaddingMiss,
            Miss::ByteOrder { .. } => Code::LookupByteOrderMiss,
            Miss::OutOfRange { .. } => Code::LookupIndexOutOfRange,
            Miss::Deleted { .. } => Code::LookupKeyDeleted,
            Miss::Absent { .. } => Code::LookupKeyAbsent,
        }
    }
}

/// The failed calls of one code on one map.
#[derive(Default)]
struct Group {
    count: u64,
    /// Distinct keys (shared with the calls).
    keys: HashSet<SharedBytes>,
    examples: Vec<Value>,
    /// Example call lines, for `sources`.
    lines: Vec<u32>,
    /// Code-specific sets: padding offsets, swapped fields, indexes.
    offsets: BTreeSet<usize>,
    fields: BTreeSet<String>,
    indexes: BTreeSet<u32>,
    /// Other instances holding a missed key (`lookup/key-absent`).
    elsewhere: BTreeSet<u32>,
    callers: BTreeSet<String>,
    /// (pid, command name) already in `callers`: a caller is spelled once.
    caller_seen: HashSet<(u32, SharedStr)>,
    /// (pid, fd) the calls were made through.
    fds: BTreeSet<(u32, i32)>,
}

/// Replays one map's calls.
struct MapReplay<'a> {
    file: &'a str,
    id: Option<u32>,
    map: Option<&'a MapInstance>,
    key_layout: Option<&'a Layout>,
    /// Padding bits per key byte (empty without a key layout).
    padding: Vec<u8>,
    /// Integer fields of the key as byte ranges, with names.
    swappable: Vec<(String, usize, usize)>,
    dump_keys: HashSet<&'a [u8]>,
    /// What the replay knows of each key it saw (keys shared with the calls).
    state: HashMap<SharedBytes, KeyState>,
    /// Present keys are the dump's (`dump_keys`, borrowed, never copied:
    /// a dump holds millions) less those the trace deleted, plus those the
    /// trace wrote that the dump lacks. A padding miss is one probe by
    /// bytes with padding cleared, a byte-order miss one probe per
    /// combination of swapped fields.
    ///
    /// Dump keys the trace deleted and did not write again.
    deleted_dump_keys: HashSet<&'a [u8]>,
    /// Keys the trace made present that the dump lacks, by their bytes with
    /// padding cleared.
    added: HashMap<Vec<u8>, BTreeSet<&'a [u8]>>,
    /// The dump's keys with padding bits set, in (masked bytes, bytes)
    /// order (a key without is found by its masked bytes in `dump_keys`);
    /// built at the first miss, so a replay without one never scans the dump.
    dirty_dump_keys: Option<Vec<&'a [u8]>>,
    nearest_cache: HashMap<Vec<u8>, Option<NearKey>>,
    /// Other instances of this map's name, with the keys they hold.
    elsewhere: Vec<(u32, HashSet<Vec<u8>>)>,
    groups: Vec<(Code, Group)>,
}

impl<'a> MapReplay<'a> {
    fn new(
        file: &'a str,
        id: Option<u32>,
        map: Option<&'a MapInstance>,
        dump: Option<&'a KeyLog>,
    ) -> Self {
        let key_layout = map.and_then(|m| m.key_layout.as_deref());
        let padding = key_layout
            .map(|l| l.padding_mask(1 << 16))
            .unwrap_or_default();
        let swappable = match key_layout {
            Some(l) => l
                .members
                .iter()
                .filter(|m| m.bit_size.is_none() && matches!(m.size, 2 | 4 | 8))
                .filter(|m| matches!(m.ty, FieldType::Int { .. } | FieldType::Enum(_)))
                .map(|m| (m.name.to_string(), m.offset as usize, m.size as usize))
                .collect(),
            // A scalar key (`__u32`, `__be32`): the whole key is the field.
            None => match map.and_then(|m| m.key_size) {
                Some(n @ (2 | 4 | 8)) => vec![("(the whole key)".to_string(), 0, n as usize)],
                _ => Vec::new(),
            },
        };
        let dump_keys = dump.map(|d| d.byte_keys().collect()).unwrap_or_default();
        MapReplay {
            file,
            id,
            map,
            key_layout,
            padding,
            swappable,
            dump_keys,
            state: HashMap::new(),
            deleted_dump_keys: HashSet::new(),
            added: HashMap::new(),
            dirty_dump_keys: None,
            nearest_cache: HashMap::new(),
            elsewhere: Vec::new(),
            groups: Vec::new(),
        }
    }

    fn map_ref(&self) -> Option<MapRef> {
        self.map
            .map(|m| MapRef {
                id: m.id,
                name: m.name.clone(),
            })
            .or_else(|| {
                self.id.map(|id| MapRef {
                    id: Some(id),
                    name: String::new(),
                })
            })
    }

    fn key_size(&self) -> Option<usize> {
        self.map.and_then(|m| m.key_size).map(|n| n as usize)
    }

    fn run(mut self, calls: &[&'a MapCall]) -> Vec<Finding> {
        // The previous call, when it missed, and the code it was counted
        // under: the same miss again right after it (a caller polling a
        // key) meets the same state and is counted alike.
        let mut last_miss: Option<(&MapCall, Code)> = None;
        // The key the previous successful lookup or update found present.
        let mut last_present: Option<&SharedBytes> = None;
        for (i, &c) in calls.iter().enumerate() {
            if let Some((p, code)) = last_miss.take().filter(|(p, _)| same_miss(p, c)) {
                // `record` would add nothing else: the caller, fd and key
                // are already counted and an example is kept.
                self.group(code).count += 1;
                last_miss = Some((p, code));
                continue;
            }
            match (c.cmd, c.errno()) {
                (MapCmd::Update | MapCmd::Lookup, None) => {
                    let Some(k) = c.key.as_ref() else { continue };
                    if last_present.is_some_and(|p| p == k) {
                        continue;
                    }
                    // A key already present stays so: most calls of a
                    // long trace hit keys seen before.
                    if self.state.get(k) != Some(&KeyState::Present) {
                        self.add_present(k);
                        self.state.insert(k.clone(), KeyState::Present);
                    }
                    last_present = Some(k);
                }
                (MapCmd::Delete | MapCmd::LookupAndDelete, None) => {
                    if let Some(k) = c.key.as_ref() {
                        self.remove_present(k);
                        self.state.insert(k.clone(), KeyState::Deleted(i));
                        last_present = None;
                    }
                }
                (MapCmd::Lookup | MapCmd::LookupAndDelete | MapCmd::Delete, Some(ENOENT)) => {
                    last_miss = Some((c, self.missed(calls, i)));
                }
                (MapCmd::Update, Some(ENOENT)) if c.flags & BPF_EXIST != 0 => {
                    last_miss = Some((c, self.missed(calls, i)));
                }
                (MapCmd::Update, Some(E2BIG)) => {
                    let g = self.group(Code::UpdateMapFull);
                    record(g, c, || json!({}));
                }
                (MapCmd::Update, Some(EEXIST)) if c.flags & BPF_NOEXIST != 0 => {
                    let g = self.group(Code::UpdateExists);
                    record(g, c, || json!({}));
                }
                _ => {}
            }
        }
        let groups = std::mem::take(&mut self.groups);
        groups
            .into_iter()
            .map(|(code, g)| self.finding(code, g, calls))
            .collect()
    }

    fn group(&mut self, code: Code) -> &mut Group {
        let i = match self.groups.iter().position(|(c, _)| *c == code) {
            Some(i) => i,
            None => {
                self.groups.push((code, Group::default()));
                self.groups.len() - 1
            }
        };
        &mut self.groups[i].1
    }

    /// Explains the miss of call `i`; the code it is counted under.
    fn missed(&mut self, calls: &[&MapCall], i: usize) -> Code {
        let c = calls[i];
        let miss = self.classify(c);
        let code = miss.code();
        let g = self.group(code);
        match &miss {
            Miss::Padding { offsets, .. } => g.offsets.extend(offsets.iter().copied()),
            Miss::ByteOrder { fields, .. } => g.fields.extend(fields.iter().cloned()),
            Miss::OutOfRange { index } => g.indexes.extend(*index),
            Miss::Absent { elsewhere, .. } => g.elsewhere.extend(elsewhere.iter().copied()),
            _ => {}
        }
        // Built only for the calls kept as examples.
        let extra = || match &miss {
            Miss::Padding { present, offsets } => json!({
                "present_key": hex_bytes(present),
                "differing_offsets": offsets,
            }),
            Miss::ByteOrder { present, fields } => json!({
                "present_key": hex_bytes(present),
                "swapped_fields": fields,
            }),
            Miss::OutOfRange { index } => json!({ "index": index }),
            Miss::Deleted { by } => {
                let d = calls[*by];
                json!({
                    "deleted_by": {"seq": d.seq, "line": d.line, "cmd": d.cmd.as_str(),
                                   "pid": d.pid, "tid": d.tid, "comm": &*d.comm},
                })
            }
            Miss::Absent {
                nearest,
                in_dump,
                elsewhere,
            } => match nearest {
                Some((k, offsets)) => json!({
                    "nearest_present_key": hex_bytes(k),
                    "differing_offsets": offsets,
                    "in_dump_after_trace": in_dump,
                    "present_in_other_instances": elsewhere,
                }),
                None => json!({
                    "nearest_present_key": null,
                    "in_dump_after_trace": in_dump,
                    "present_in_other_instances": elsewhere,
                }),
            },
        };
        record(g, c, extra);
        code
    }

    fn classify(&mut self, c: &MapCall) -> Miss {
        // BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY have every slot below
        // max_entries: their lookups miss only past it. (Arrays of fds or
        // maps also miss on an empty slot.)
        let plain_array = self
            .map
            .and_then(|m| m.map_type)
            .is_some_and(|t| matches!(t.0, 2 | 6));
        let Some(key) = c.key.as_deref() else {
            if plain_array && c.cmd == MapCmd::Lookup {
                return Miss::OutOfRange { index: None };
            }
            return Miss::Absent {
                nearest: None,
                in_dump: false,
                elsewhere: Vec::new(),
            };
        };
        if let Some(m) = self.map {
            if m.map_type.is_some_and(|t| t.is_array()) && key.len() >= 4 {
                let index = u32::from_le_bytes([key[0], key[1], key[2], key[3]]);
                if m.max_entries.is_some_and(|max| index >= max) {
                    return Miss::OutOfRange { index: Some(index) };
                }
            }
        }
        if let Some(KeyState::Deleted(by)) = self.state.get(key) {
            return Miss::Deleted { by: *by };
        }
        if self.dirty_dump_keys.is_none() && !self.padding.is_empty() {
            let mut dirty: Vec<&'a [u8]> = self
                .dump_keys
                .iter()
                .copied()
                .filter(|p| self.has_padding_bits(p))
                .collect();
            dirty.sort_unstable_by(|a, b| {
                self.masked_bytes(a)
                    .cmp(self.masked_bytes(b))
                    .then_with(|| a.cmp(b))
            });
            self.dirty_dump_keys = Some(dirty);
        }
        if !self.padding.is_empty() {
            if let Some(p) = self.present_masked(&self.masked(key), key) {
                let offsets = (0..key.len()).filter(|&i| p[i] != key[i]).collect();
                return Miss::Padding {
                    present: p.to_vec(),
                    offsets,
                };
            }
        }
        if let Some((p, fields)) = self.byte_swapped_match(key) {
            return Miss::ByteOrder { present: p, fields };
        }
        let in_dump = self.dump_keys.contains(key);
        let elsewhere: Vec<u32> = self
            .elsewhere
            .iter()
            .filter(|(_, keys)| keys.contains(key))
            .map(|(id, _)| *id)
            .collect();
        if let Some(n) = self.nearest_cache.get(key) {
            return Miss::Absent {
                nearest: n.clone(),
                in_dump,
                elsewhere,
            };
        }
        let nearest = if self.nearest_cache.len() < NEAREST_SEARCHES {
            // Ties go to the smallest key bytes, so the choice does not
            // depend on hash order.
            let n = self
                .dump_keys
                .iter()
                .copied()
                .filter(|p| !self.deleted_dump_keys.contains(p))
                .chain(self.added.values().flatten().copied())
                .filter(|p| p.len() == key.len())
                // Counted first, listed for the winner only: the search
                // reads every present key.
                .map(|p| (p, p.iter().zip(key).filter(|(a, b)| a != b).count()))
                .filter(|(_, d)| *d != 0)
                .min_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)))
                .map(|(p, _)| {
                    let d: Vec<usize> = (0..key.len()).filter(|&i| p[i] != key[i]).collect();
                    (p.to_vec(), d)
                });
            self.nearest_cache.insert(key.to_vec(), n.clone());
            n
        } else {
            None
        };
        Miss::Absent {
            nearest,
            in_dump,
            elsewhere,
        }
    }

    /// `key` with its padding bits cleared (as is, without a key layout
    /// or when its size is not the layout's).
    fn masked(&self, key: &[u8]) -> Vec<u8> {
        if self.padding.len() == key.len() {
            key.iter().zip(&self.padding).map(|(b, m)| b & !m).collect()
        } else {
            key.to_vec()
        }
    }

    /// `key`'s bytes with padding cleared, without copying them.
    fn masked_bytes<'k>(&'k self, key: &'k [u8]) -> impl Iterator<Item = u8> + 'k {
        let padding = if self.padding.len() == key.len() {
            &self.padding[..]
        } else {
            &[]
        };
        key.iter()
            .enumerate()
            .map(move |(i, b)| b & !padding.get(i).copied().unwrap_or(0))
    }

    /// Whether `key` has a padding bit set (its masked bytes differ).
    fn has_padding_bits(&self, key: &[u8]) -> bool {
        self.padding.len() == key.len() && key.iter().zip(&self.padding).any(|(b, m)| b & m != 0)
    }

    /// The smallest present key other than `not` whose masked bytes are
    /// `masked` (which has its padding cleared).
    fn present_masked(&self, masked: &[u8], not: &[u8]) -> Option<&'a [u8]> {
        let usable = |p: &&'a [u8]| *p != not && !self.deleted_dump_keys.contains(*p);
        // A dump key without padding bits is its own masked bytes.
        let clean = self.dump_keys.get(masked).copied().filter(usable);
        let dirty = self.dirty_dump_keys.as_deref().and_then(|keys| {
            let start =
                keys.partition_point(|p| self.masked_bytes(p).cmp(masked.iter().copied()).is_lt());
            keys.iter()
                .skip(start)
                .take_while(|p| self.masked_bytes(p).eq(masked.iter().copied()))
                .copied()
                .find(usable)
        });
        let written = self
            .added
            .get(masked)
            .and_then(|set| set.iter().copied().find(|p| *p != not));
        [clean, dirty, written].into_iter().flatten().min()
    }

    fn add_present(&mut self, key: &'a [u8]) {
        if self.dump_keys.contains(key) {
            self.deleted_dump_keys.remove(key);
        } else {
            let m = self.masked(key);
            self.added.entry(m).or_default().insert(key);
        }
    }

    fn remove_present(&mut self, key: &'a [u8]) {
        if self.dump_keys.contains(key) {
            self.deleted_dump_keys.insert(key);
        } else {
            let m = self.masked(key);
            if let Some(set) = self.added.get_mut(&m) {
                set.remove(key);
                if set.is_empty() {
                    self.added.remove(&m);
                }
            }
        }
    }

    /// A present key equal to `key` once some integer fields are reversed
    /// (padding ignored), with those fields' names.
    fn byte_swapped_match(&self, key: &[u8]) -> Option<(Vec<u8>, Vec<String>)> {
        let fields: Vec<&(String, usize, usize)> = self
            .swappable
            .iter()
            .filter(|(_, o, s)| o + s <= key.len())
            // A palindrome reads the same either way: swapping it shows nothing.
            .filter(|(_, o, s)| {
                let f = &key[*o..o + s];
                f.iter().ne(f.iter().rev())
            })
            .take(MAX_SWAPPABLE)
            .collect();
        for subset in 1u32..(1 << fields.len()) {
            let mut k = key.to_vec();
            for (bit, (_, o, s)) in fields.iter().enumerate() {
                if subset & (1 << bit) != 0 {
                    k[*o..o + s].reverse();
                }
            }
            if let Some(p) = self.present_masked(&self.masked(&k), key) {
                let names = fields
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| subset & (1 << bit) != 0)
                    .map(|(_, (n, _, _))| n.clone())
                    .collect();
                return Some((p.to_vec(), names));
            }
        }
        None
    }

    /// Where byte `offset` of the key is: a member's name, or the padding
    /// after one. `quote` puts names in backticks (titles); evidence keeps
    /// them bare, since renderers quote evidence values themselves.
    fn describe_offset(&self, offset: usize, quote: bool) -> String {
        let Some(l) = self.key_layout else {
            return format!("byte {offset}");
        };
        let q = |name: &str| {
            if quote {
                format!("`{name}`")
            } else {
                name.to_string()
            }
        };
        let o = offset as u64;
        if let Some(m) = l
            .members
            .iter()
            .find(|m| m.offset <= o && o < m.offset + m.size)
        {
            return q(&m.name);
        }
        match l.members.iter().rfind(|m| m.offset + m.size <= o) {
            Some(m) => format!("padding after {}", q(&m.name)),
            None => "leading padding".into(),
        }
    }

    fn finding(&self, code: Code, g: Group, calls: &[&MapCall]) -> Finding {
        let map = self.map_ref();
        let map_name = self.map.map(|m| m.name.as_str()).unwrap_or("?");
        let key_type = self
            .key_layout
            .map(|l| l.display_name())
            .unwrap_or_else(|| "the key".into());
        let n = g.count;
        let distinct = g.keys.len();
        let calls_word = |what: &str| {
            if n == 1 {
                format!("1 {what}")
            } else {
                format!("{n} {what}s")
            }
        };
        let (severity, title, fix) = match code {
            Code::LookupPaddingMiss => {
                let at: Vec<String> = g
                    .offsets
                    .iter()
                    .map(|o| format!("{o} ({})", self.describe_offset(*o, true)))
                    .collect();
                (
                    Severity::Error,
                    format!(
                        "{} missed a present key that differs only in padding bytes: offset {}",
                        calls_word("lookup"),
                        at.join(", ")
                    ),
                    format!(
                        "Zero the whole {} before filling it, every time (C: memset or `= {{}}`; Go: a fresh zero value, never a reused buffer): \
                         the kernel compares all {} key bytes, padding included.",
                        key_type,
                        self.key_size().map_or("the".into(), |s| s.to_string())
                    ),
                )
            }
            Code::LookupByteOrderMiss => {
                let fields: Vec<String> = g.fields.iter().map(|f| format!("`{f}`")).collect();
                (
                    Severity::Error,
                    format!(
                        "{} missed a present key that equals it with {} byte-swapped",
                        calls_word("lookup"),
                        fields.join(", ")
                    ),
                    format!(
                        "Convert {} to the byte order the map holds before the call (htons/htonl, Go binary.BigEndian): \
                         the present keys were written in the other order.",
                        fields.join(", ")
                    ),
                )
            }
            Code::LookupIndexOutOfRange => {
                let max = self.map.and_then(|m| m.max_entries).unwrap_or(0);
                let mut idx: Vec<String> =
                    g.indexes.iter().take(LISTED).map(|i| i.to_string()).collect();
                if g.indexes.len() > LISTED {
                    idx.push(format!("… {} in all", g.indexes.len()));
                }
                (
                    Severity::Error,
                    if idx.is_empty() {
                        format!(
                            "{} of an array map missed: the index was at or past max_entries {max} \
                             (an array lookup fails for no other reason)",
                            calls_word("lookup")
                        )
                    } else {
                        format!(
                            "{} used array indexes at or past max_entries {max} ({})",
                            calls_word("lookup"),
                            idx.join(", ")
                        )
                    },
                    format!(
                        "Array maps hold indexes 0..{}: check the index before the call, or size the map (max_entries) for the largest one.",
                        max.saturating_sub(1)
                    ),
                )
            }
            Code::LookupKeyDeleted => (
                Severity::Warning,
                format!(
                    "{} asked for {} deleted earlier in the trace",
                    calls_word("lookup"),
                    if distinct == 1 { "a key".to_string() } else { format!("{distinct} keys") }
                ),
                "The key was deleted before it was looked up (see `deleted_by` in the examples): check the order of the writer's and the reader's calls, and whether that delete is expected.".to_string(),
            ),
            Code::LookupKeyAbsent if !g.elsewhere.is_empty() => {
                let ids: Vec<String> = g.elsewhere.iter().map(|i| format!("id {i}")).collect();
                (
                    Severity::Error,
                    format!(
                        "{} found nothing here, but the key is in another map named {map_name} ({})",
                        calls_word("lookup"),
                        ids.join(", ")
                    ),
                    format!(
                        "Writer and reader hold different instances of `{map_name}` (a reload or a second load made a new one). \
                         Make both open the instance the running program uses; `present_in_other_instances` names where the key went."
                    ),
                )
            }
            Code::LookupKeyAbsent if distinct == 0 => (
                Severity::Info,
                format!(
                    "{} found nothing; the trace has no key bytes to say why",
                    calls_word("lookup")
                ),
                "strace shows the key's address, not its bytes. Record the calls with `bpfcase collect --trace-pid PID` \
                 to see which bytes differ from the present keys."
                    .to_string(),
            ),
            Code::LookupKeyAbsent => (
                Severity::Info,
                format!(
                    "{} of {} found nothing, and no present key comes close",
                    calls_word("lookup"),
                    if distinct == 1 { "1 key".to_string() } else { format!("{distinct} keys") }
                ),
                "The key was not in the map during the trace, and no present key differs from it only in padding or byte order. \
                 Check that the writer uses this map instance and this key; `nearest_present_key` shows the closest one."
                    .to_string(),
            ),
            Code::UpdateMapFull => {
                let max = self.map.and_then(|m| m.max_entries);
                (
                    Severity::Error,
                    format!(
                        "{} failed with E2BIG: the map is full{}",
                        calls_word("update"),
                        max.map_or(String::new(), |m| format!(" ({m} entries)"))
                    ),
                    "Raise max_entries, delete entries that are no longer needed, or use an LRU hash map, which evicts the oldest entry instead of failing.".to_string(),
                )
            }
            Code::UpdateExists => (
                Severity::Warning,
                format!(
                    "{} with BPF_NOEXIST failed with EEXIST: the key was already there",
                    calls_word("update")
                ),
                "BPF_NOEXIST only creates. Use BPF_ANY to create or overwrite, or BPF_EXIST to overwrite only; or treat EEXIST as \"already there\".".to_string(),
            ),
            _ => (Severity::Info, format!("{n} calls"), String::new()),
        };
        let mut evidence = json!({
            "trace": self.file,
            "calls": n,
            "distinct_keys": distinct,
            "callers": g.callers.iter().take(LISTED).collect::<Vec<_>>(),
            "caller_count": g.callers.len(),
            "caller_fds": g.fds.iter().take(LISTED).map(|(pid, fd)| json!({"pid": pid, "fd": fd})).collect::<Vec<_>>(),
            "caller_fd_count": g.fds.len(),
            "traced_calls_on_map": calls.len(),
            "key_type": self.key_layout.map(|l| l.display_name()),
            "key_size": self.key_size(),
            "examples": g.examples,
        });
        let extra = match code {
            Code::LookupPaddingMiss => Some((
                "padding_offsets",
                json!(g
                    .offsets
                    .iter()
                    .map(|o| json!({"offset": o, "where": self.describe_offset(*o, false)}))
                    .collect::<Vec<_>>()),
            )),
            Code::LookupByteOrderMiss => Some(("swapped_fields", json!(g.fields))),
            Code::LookupIndexOutOfRange => Some((
                "indexes",
                json!({"seen": g.indexes.iter().take(LISTED).collect::<Vec<_>>(), "seen_count": g.indexes.len(), "max_entries": self.map.and_then(|m| m.max_entries)}),
            )),
            Code::LookupKeyAbsent => Some(("present_in_other_instances", json!(g.elsewhere))),
            Code::UpdateMapFull => {
                Some(("max_entries", json!(self.map.and_then(|m| m.max_entries))))
            }
            _ => None,
        };
        if let (Some((k, v)), Some(obj)) = (extra, evidence.as_object_mut()) {
            obj.insert(k.into(), v);
        }
        let mut f = Finding::new(code, severity, title)
            .with_map(map)
            .with_evidence(evidence)
            .with_fix(fix);
        for line in &g.lines {
            f = f.with_source(SourceRef {
                file: self.file.to_string(),
                line: Some(*line),
                offset: None,
                label: format!("a failed call on map {map_name}"),
                text: None,
            });
        }
        f
    }
}

/// Counts call `c` in `g`, keeping it as an example if there is room.
fn record(g: &mut Group, c: &MapCall, extra: impl FnOnce() -> Value) {
    g.count += 1;
    if g.caller_seen.insert((c.pid, c.comm.clone())) {
        g.callers.insert(caller(c));
    }
    g.fds.insert((c.pid, c.map_fd));
    let new_key = c.key.as_ref().is_some_and(|k| g.keys.insert(k.clone()));
    // Examples show distinct keys: the same miss repeated teaches nothing.
    if (new_key || g.examples.is_empty()) && g.examples.len() < EXAMPLES {
        let mut ex = json!({
            "seq": c.seq,
            "line": c.line,
            "cmd": c.cmd.as_str(),
            "pid": c.pid,
            "tid": c.tid,
            "comm": &*c.comm,
            "flags": c.flags,
            "key": c.key.as_deref().map(hex_bytes),
            "ret": c.ret,
            "errno": c.errno().map(errno_name),
        });
        let extra = extra();
        if let (Some(obj), Some(extra)) = (ex.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        g.examples.push(ex);
        g.lines.push(c.line);
    }
}

/// Whether `c` is the miss `p` again: same command, result, flags, key and
/// caller. Right after `p` (a miss changes no state) it is explained
/// alike, and counts as `p` did without adding a caller, fd, key or example.
fn same_miss(p: &MapCall, c: &MapCall) -> bool {
    p.cmd == c.cmd
        && p.ret == c.ret
        && p.flags == c.flags
        && p.pid == c.pid
        && p.map_fd == c.map_fd
        && p.key == c.key
        && p.comm == c.comm
}

/// The first [`LISTED`] of `items` joined with commas, then how many in all.
fn listed(items: &BTreeSet<String>) -> String {
    let mut out: Vec<&str> = items.iter().take(LISTED).map(String::as_str).collect();
    let rest = format!("… {} in all", items.len());
    if items.len() > LISTED {
        out.push(&rest);
    }
    out.join(", ")
}

/// `agent (pid 12)`, or `pid 12` when the trace has no command names.
fn caller(c: &MapCall) -> String {
    match (c.comm.is_empty(), c.pid) {
        (true, 0) => "an unnamed process".into(),
        (true, pid) => format!("pid {pid}"),
        (false, pid) => format!("{} (pid {pid})", c.comm),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ingest::btf::Btf;
    use crate::ingest::btf_layout::BtfLayouts;
    use crate::ingest::elf::BpfObject;
    use crate::model::map::MapType;

    /// `struct conn_key` of the corpus object behind `corpora/cases/lookups`.
    fn conn_key() -> Arc<Layout> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpora/cases/lookups/lookups.bpf.o"
        );
        let data = std::fs::read(path).expect("corpus object");
        let obj = BpfObject::parse(&data).expect("ELF");
        let btf = Btf::parse(obj.btf_data.expect(".BTF")).expect("BTF");
        let id = btf.find_by_name("conn_key")[0];
        BtfLayouts::new(&btf).layout(id).expect("layout")
    }

    fn map(id: u32, ty: &str, key_size: u64, max: u32, key: Option<Arc<Layout>>) -> MapInstance {
        MapInstance {
            id: Some(id),
            name: format!("m{id}"),
            map_type: MapType::from_name(ty),
            key_size: Some(key_size),
            max_entries: Some(max),
            key_layout: key,
            ..Default::default()
        }
    }

    fn call(seq: u64, map_id: u32, cmd: MapCmd, flags: u64, key: &[u8], ret: i64) -> MapCall {
        MapCall {
            seq,
            line: seq as u32 + 1,
            time_ns: seq,
            pid: 100,
            tid: 100,
            comm: "agent".into(),
            cmd,
            map_fd: 4,
            map_id: Some(map_id),
            flags,
            key: Some(key.into()),
            value: None,
            ret,
        }
    }

    /// daddr 10.0.0.1 (network order), dport 443 (network order), proto 6, ifindex 2.
    const A: [u8; 12] = [10, 0, 0, 1, 0x01, 0xbb, 6, 0, 2, 0, 0, 0];

    fn explain_on(maps: &[MapInstance], calls: &[MapCall]) -> Vec<Finding> {
        explain(
            calls,
            &TraceContext {
                file: "t.jsonl",
                maps,
                pins: &[],
                dumps: HashMap::new(),
            },
        )
    }

    fn codes(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn each_kind_of_miss_is_told_apart() {
        let maps = [map(1, "hash", 12, 64, Some(conn_key()))];
        let mut garbage = A;
        garbage[7] = 0xa5;
        let mut host_port = A;
        host_port[4..6].copy_from_slice(&443u16.to_le_bytes());
        let mut deleted = A;
        deleted[3] = 2;
        let absent = [192, 168, 0, 1, 0, 53, 17, 0, 2, 0, 0, 0];
        let calls = [
            call(0, 1, MapCmd::Update, 0, &A, 0),
            call(1, 1, MapCmd::Lookup, 0, &garbage, -ENOENT),
            call(2, 1, MapCmd::Lookup, 0, &host_port, -ENOENT),
            call(3, 1, MapCmd::Update, 0, &deleted, 0),
            call(4, 1, MapCmd::Delete, 0, &deleted, 0),
            call(5, 1, MapCmd::Lookup, 0, &deleted, -ENOENT),
            call(6, 1, MapCmd::Lookup, 0, &absent, -ENOENT),
            call(7, 1, MapCmd::Update, BPF_NOEXIST, &A, -EEXIST),
        ];
        let f = explain_on(&maps, &calls);
        assert_eq!(
            codes(&f),
            [
                "lookup/padding-miss",
                "lookup/byte-order-miss",
                "lookup/key-deleted",
                "lookup/key-absent",
                "update/exists"
            ]
        );
        assert_eq!(f[0].evidence["padding_offsets"][0]["offset"], 7);
        assert_eq!(
            f[0].evidence["padding_offsets"][0]["where"],
            "padding after proto"
        );
        assert_eq!(f[1].evidence["swapped_fields"], json!(["dport"]));
        assert_eq!(f[2].evidence["examples"][0]["deleted_by"]["seq"], 4);
        assert_eq!(
            f[3].evidence["examples"][0]["differing_offsets"],
            json!([0, 1, 4, 5, 6])
        );
        assert_eq!(f[0].sources[0].line, Some(2));
    }

    /// A miss repeated right after itself is counted without being
    /// explained again: the counts, callers, fds, keys and examples are
    /// those of explaining every call.
    #[test]
    fn repeated_misses_count_as_each_would() {
        let maps = [map(1, "hash", 12, 64, Some(conn_key()))];
        let mut other = A;
        other[3] = 9;
        let mut deleted = A;
        deleted[3] = 2;
        let by = |pid: u32, fd: i32, mut c: MapCall| {
            c.pid = pid;
            c.map_fd = fd;
            c
        };
        let miss = |seq: u64, key: &[u8]| call(seq, 1, MapCmd::Lookup, 0, key, -ENOENT);
        let calls = [
            miss(0, &other),
            miss(1, &other),
            by(200, 4, miss(2, &other)),
            by(200, 5, miss(3, &other)),
            by(200, 5, miss(4, &other)),
            miss(5, &A),
            call(6, 1, MapCmd::Update, 0, &deleted, 0),
            call(7, 1, MapCmd::Update, 0, &deleted, 0),
            call(8, 1, MapCmd::Delete, 0, &deleted, 0),
            miss(9, &deleted),
            miss(10, &deleted),
            call(11, 1, MapCmd::Update, 0, &A, 0),
            miss(12, &other),
            miss(13, &other),
        ];
        let f = explain_on(&maps, &calls);
        assert_eq!(codes(&f), ["lookup/key-absent", "lookup/key-deleted"]);
        let absent = &f[0].evidence;
        assert_eq!(absent["calls"], 8);
        assert_eq!(absent["distinct_keys"], 2);
        assert_eq!(absent["caller_count"], 2);
        assert_eq!(absent["caller_fd_count"], 3);
        let seqs: Vec<_> = absent["examples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].clone())
            .collect();
        assert_eq!(seqs, [json!(0), json!(5)]);
        assert_eq!(f[1].evidence["calls"], 2);
        assert_eq!(f[1].evidence["examples"][0]["deleted_by"]["seq"], 8);
    }

    #[test]
    fn a_key_written_again_after_its_delete_is_not_a_deleted_key() {
        let maps = [map(1, "hash", 12, 64, Some(conn_key()))];
        let mut other = A;
        other[3] = 9;
        let calls = [
            call(0, 1, MapCmd::Update, 0, &A, 0),
            call(1, 1, MapCmd::Delete, 0, &A, 0),
            call(2, 1, MapCmd::Update, 0, &A, 0),
            call(3, 1, MapCmd::Delete, 0, &other, -ENOENT),
        ];
        assert_eq!(codes(&explain_on(&maps, &calls)), ["lookup/key-absent"]);
    }

    /// Many failing callers and indexes: the finding lists the first
    /// [`LISTED`] of each and counts them all.
    #[test]
    fn callers_and_indexes_are_listed_up_to_a_bound_and_counted() {
        let maps = [map(2, "array", 4, 8, None)];
        let calls: Vec<MapCall> = (0..10_000u32)
            .map(|i| {
                let mut c = call(
                    i as u64,
                    2,
                    MapCmd::Lookup,
                    0,
                    &(8 + i).to_le_bytes(),
                    -ENOENT,
                );
                c.pid = 1000 + i;
                c
            })
            .collect();
        let f = explain_on(&maps, &calls);
        assert_eq!(codes(&f), ["lookup/index-out-of-range"]);
        let ev = &f[0].evidence;
        assert_eq!(ev["calls"], 10_000);
        assert_eq!(ev["callers"].as_array().unwrap().len(), LISTED);
        assert_eq!(ev["caller_count"], 10_000);
        assert_eq!(ev["caller_fds"].as_array().unwrap().len(), LISTED);
        assert_eq!(ev["caller_fd_count"], 10_000);
        assert_eq!(ev["indexes"]["seen"], json!([8, 9, 10, 11, 12, 13, 14, 15]));
        assert_eq!(ev["indexes"]["seen_count"], 10_000);
        assert_eq!(ev["examples"].as_array().unwrap().len(), EXAMPLES);
        assert!(
            f[0].title
                .ends_with("(8, 9, 10, 11, 12, 13, 14, 15, … 10000 in all)"),
            "{}",
            f[0].title
        );
        assert!(serde_json::to_string(&f[0]).unwrap().len() < 8 << 10);
    }

    #[test]
    fn array_indexes_past_max_entries_and_full_maps() {
        let maps = [map(2, "array", 4, 8, None), map(3, "hash", 4, 4, None)];
        let calls = [
            call(0, 2, MapCmd::Lookup, 0, &8u32.to_le_bytes(), -ENOENT),
            call(1, 2, MapCmd::Lookup, 0, &1000u32.to_le_bytes(), -ENOENT),
            call(2, 2, MapCmd::Lookup, 0, &3u32.to_le_bytes(), 0),
            call(3, 3, MapCmd::Update, 0, &99u32.to_le_bytes(), -E2BIG),
        ];
        let f = explain_on(&maps, &calls);
        assert_eq!(codes(&f), ["lookup/index-out-of-range", "update/map-full"]);
        assert_eq!(f[0].evidence["indexes"]["seen"], json!([8, 1000]));
        assert_eq!(f[0].evidence["calls"], 2);
        assert_eq!(f[1].evidence["max_entries"], 4);
    }

    #[test]
    fn a_scalar_key_in_the_other_byte_order_is_a_byte_order_miss() {
        let maps = [map(3, "hash", 4, 16, None)];
        let calls = [
            call(0, 3, MapCmd::Update, 0, &0x0a000001u32.to_be_bytes(), 0),
            call(
                1,
                3,
                MapCmd::Lookup,
                0,
                &0x0a000001u32.to_le_bytes(),
                -ENOENT,
            ),
        ];
        let f = explain_on(&maps, &calls);
        assert_eq!(codes(&f), ["lookup/byte-order-miss"]);
        assert_eq!(f[0].evidence["swapped_fields"], json!(["(the whole key)"]));
    }

    #[test]
    fn calls_on_an_instance_no_program_uses_are_a_wrong_map() {
        let mut old = map(1, "hash", 12, 64, Some(conn_key()));
        old.name = "conns".into();
        let mut new = map(2, "hash", 12, 64, Some(conn_key()));
        new.name = "conns".into();
        new.prog_ids = vec![30];
        let maps = [old, new];
        let calls = [
            call(0, 1, MapCmd::Update, 0, &A, 0),
            call(1, 2, MapCmd::Lookup, 0, &A, -ENOENT),
        ];
        let f = explain_on(&maps, &calls);
        assert_eq!(codes(&f), ["lookup/wrong-map", "lookup/key-absent"]);
        assert_eq!(f[0].evidence["used_instances"][0]["id"], 2);
        // The reader's miss is explained by the writer's instance.
        assert_eq!(f[1].evidence["present_in_other_instances"], json!([1]));
        assert_eq!(f[1].severity, Severity::Error);
        assert!(f[0].title.contains("map conns id 1"), "{}", f[0].title);
    }

    #[test]
    fn keys_the_bpf_side_wrote_come_from_the_dump() {
        let maps = [map(1, "hash", 12, 64, Some(conn_key()))];
        let mut dump = crate::model::dump::MapDump::new(crate::model::dump::DumpForm::Json);
        dump.push_entry(0, &A, crate::model::dump::EntryValue::Single(&[0; 16]));
        let keys = KeyLog::of(&dump);
        let mut garbage = A;
        garbage[7] = 1;
        let calls = [call(0, 1, MapCmd::Lookup, 0, &garbage, -ENOENT)];
        let f = explain(
            &calls,
            &TraceContext {
                file: "t.jsonl",
                maps: &maps,
                pins: &[],
                dumps: HashMap::from([(1, &keys)]),
            },
        );
        assert_eq!(codes(&f), ["lookup/padding-miss"]);
    }

    /// Dump keys are probed where they lie: one with padding bits set is
    /// found by its masked bytes, a deleted one is gone, and one swapped
    /// explains a byte-order miss.
    #[test]
    fn dump_keys_with_padding_bits_deleted_or_swapped() {
        let maps = [map(1, "hash", 12, 64, Some(conn_key()))];
        let mut dirty = A;
        dirty[7] = 0x5a;
        let mut other = A;
        other[3] = 9;
        let mut swapped = other;
        swapped[4..6].copy_from_slice(&[0xbb, 0x01]);
        let mut dump = crate::model::dump::MapDump::new(crate::model::dump::DumpForm::Json);
        for (i, k) in [dirty, other].iter().enumerate() {
            dump.push_entry(
                i as u64,
                k,
                crate::model::dump::EntryValue::Single(&[0; 16]),
            );
        }
        let keys = KeyLog::of(&dump);
        let calls = [
            call(0, 1, MapCmd::Lookup, 0, &A, -ENOENT),
            call(1, 1, MapCmd::Lookup, 0, &swapped, -ENOENT),
            call(2, 1, MapCmd::Delete, 0, &dirty, 0),
            call(3, 1, MapCmd::Lookup, 0, &A, -ENOENT),
            call(4, 1, MapCmd::Update, 0, &dirty, 0),
            call(5, 1, MapCmd::Lookup, 0, &A, -ENOENT),
        ];
        let f = explain(
            &calls,
            &TraceContext {
                file: "t.jsonl",
                maps: &maps,
                pins: &[],
                dumps: HashMap::from([(1, &keys)]),
            },
        );
        assert_eq!(
            codes(&f),
            [
                "lookup/padding-miss",
                "lookup/byte-order-miss",
                "lookup/key-absent"
            ]
        );
        assert_eq!(f[0].evidence["calls"], 2);
        assert_eq!(
            f[0].evidence["examples"][0]["present_key"],
            hex_bytes(&dirty)
        );
        assert_eq!(
            f[1].evidence["examples"][0]["present_key"],
            hex_bytes(&other)
        );
        assert_eq!(f[2].evidence["examples"][0]["seq"], 3);
        assert_eq!(
            f[2].evidence["examples"][0]["nearest_present_key"],
            hex_bytes(&other)
        );
    }
}
