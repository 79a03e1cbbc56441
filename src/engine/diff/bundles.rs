//! `diff` of bundles: which dumps to compare (a map's consecutive snapshots,
//! or its main dump in two bundles), streaming them from the bundle with
//! each map's BTF, and the report with one diff per pair.
//!
//! Memory does not grow with the number of maps, nor with NEW's dumps:
//! one pair's OLD dump is indexed at a time ([`DiffStream`]) and its NEW
//! dump streamed through the index in batches; a pair keeps only the
//! entries its report lists. The two bundles (a bundle of snapshots is
//! opened twice) are walked once each, at once, on two threads
//! ([`lockstep`]): the OLD walker indexes a pair's OLD dump when it reaches
//! it and waits to build the next until the NEW walker has compared that
//! pair. Pairs the walks cannot meet in step (the bundles list their maps
//! in different orders) are compared afterwards in rounds: one walk of the
//! OLD bundle indexing the round's OLD dumps, then one of the NEW bundle;
//! a round takes pairs until their OLD dumps add up to [`ROUND_BYTES`], so
//! a large one has a round of its own. Every walk checks every member's
//! SHA-256 (`Bundle::for_each_file` does on its one pass).
//!
//! A dump that is missing, unreadable or fails its SHA-256 check costs only
//! the pairs it is in: they carry the problem, naming `bundle!path`, and
//! every other pair is still diffed (a dump that turns out bad once read
//! has its pair's comparison dropped). Only a bundle that cannot be opened
//! or walked at all is an error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use super::pair::{problems, PairCollector};
use crate::analyses::dump_diff::{match_maps, DiffStream, Unpaired};
use crate::bundle::reader::{btf_files, with_btf, Bundle};
use crate::bundle::{MapRecord, SnapshotRecord};
use crate::engine::error::{EngineError, Result};
use crate::engine::types::{types_by_id, MapTypes};
use crate::ingest::bpftool_json::{read_dump_batches, BATCH_ENTRIES};
use crate::ingest::btf::TypeId;
use crate::model::dump::{DumpProblem, MapDump, PROBLEMS_KEPT};
use crate::model::map::MapType;
use crate::report::dump_diff::{BundleDiffReport, PairMap, PairOut, SideCounts, UnmatchedOut};

/// Largest BTF member read into memory (as `analyze` allows).
use crate::limits::MAX_BTF_BYTES as MAX_MEMBER;

/// Bytes of OLD dumps (as the manifest declares them) one round of pairs
/// indexes at once, past its first pair: a 128 MiB `-j` dump is ~470k
/// entries, ~30 MB indexed.
const ROUND_BYTES: u64 = 128 << 20;

/// One bundle being diffed: walked once per round, its maps' key/value
/// types laid out from its BTF on the first walk.
struct BundleSide {
    bundle: Bundle,
    /// The bundle as given (for `bundle!path` names).
    name: String,
    /// The maps whose types are wanted, until the first walk has read
    /// their BTF.
    btf_wanted: Option<Vec<MapRecord>>,
    /// Types by map id; absent for a map without BTF (hex only), `Err`
    /// when its BTF could not be used.
    types: HashMap<u32, Result<MapTypes, String>>,
}

impl BundleSide {
    fn new(bundle: Bundle, map_ids: &[u32]) -> Self {
        let records: Vec<MapRecord> = map_ids
            .iter()
            .filter_map(|id| bundle.manifest.maps.iter().find(|m| m.id == *id).cloned())
            .collect();
        BundleSide {
            name: bundle.name.clone(),
            bundle,
            btf_wanted: Some(records),
            types: HashMap::new(),
        }
    }

    /// One walk over the bundle: each member in `dumps` is handed to
    /// `on_dump` as it streams (the first walk also reads the wanted maps'
    /// BTF). Returns why each path of `dumps` cannot be used (missing,
    /// failing its SHA-256 check, not reached); a dump handed over and
    /// named here must not be used.
    fn walk(
        &mut self,
        dumps: &HashSet<&str>,
        on_dump: &mut dyn FnMut(&str, &mut dyn Read),
    ) -> Result<HashMap<String, String>> {
        let name = self.name.clone();
        let records = self.btf_wanted.take();
        // Only the BTF these maps need is kept (vmlinux is ~6 MB and rarely a base).
        let btf_paths: HashSet<String> = records
            .iter()
            .flatten()
            .filter(|r| r.btf_id != 0)
            .flat_map(|r| btf_files(&self.bundle.manifest, r.btf_id))
            .collect();
        let mut blobs: HashMap<String, Vec<u8>> = HashMap::new();
        let mut seen_dumps: HashSet<String> = HashSet::new();
        let (mismatches, missing) = self.bundle.for_each_file(&mut |p, r| {
            if dumps.contains(p) {
                seen_dumps.insert(p.to_string());
                on_dump(p, r);
                return Ok(());
            }
            if !btf_paths.contains(p) {
                return Ok(());
            }
            let mut buf = Vec::new();
            if r.take(MAX_MEMBER).read_to_end(&mut buf).is_err() {
                // If the archive itself is broken, the walk stops with an
                // error after this; else the BTF is reported as not read.
                return Ok(());
            }
            blobs.insert(p.to_string(), buf);
            Ok(())
        })?;
        let mut bad: HashMap<String, String> = HashMap::new();
        for m in mismatches {
            let why = format!(
                "{name}!{}: SHA-256 {} does not match the manifest's {}: the file changed after collection",
                m.path, m.actual, m.expected
            );
            blobs.remove(&m.path);
            bad.insert(m.path, why);
        }
        for u in missing {
            let why = format!("{name}!{}: {}", u.path, u.why);
            bad.insert(u.path, why);
        }
        if let Some(o) = &self.bundle.over_bound {
            for p in self.bundle.not_reached() {
                let why = format!(
                    "{name}!{p}: not read: reading of the compressed bundle stopped before it, at {} (larger than the manifest allows)",
                    o.path
                );
                bad.insert(p.clone(), why);
            }
        }
        if let Some(records) = records {
            self.lay_out_types(&records, &blobs, &bad);
        }
        let mut why_not: HashMap<String, String> = HashMap::new();
        for p in dumps {
            let why = bad.get(*p).cloned().or_else(|| {
                (!seen_dumps.contains(*p)).then(|| {
                    format!("{name}!{p}: not in the manifest's list of files, so not read")
                })
            });
            if let Some(why) = why {
                why_not.insert(p.to_string(), why);
            }
        }
        Ok(why_not)
    }

    /// Lays out the key and value types of `records` from the BTF `blobs`
    /// read (`bad`: why a member cannot be used).
    fn lay_out_types(
        &mut self,
        records: &[MapRecord],
        blobs: &HashMap<String, Vec<u8>>,
        bad: &HashMap<String, String>,
    ) {
        let name = &self.name;
        let manifest = &self.bundle.manifest;
        let mut by_btf: BTreeMap<u32, Vec<&MapRecord>> = BTreeMap::new();
        for r in records {
            // A key without a BTF type (libbpf's global data maps) is an
            // array index; the value type is what decodes.
            if r.btf_id != 0 && r.btf_value_type_id != 0 {
                by_btf.entry(r.btf_id).or_default().push(r);
            }
        }
        for (btf_id, maps) in by_btf {
            // The one BTF object is parsed once for all its maps.
            let files = btf_files(manifest, btf_id);
            if let Some(why) = files.iter().find_map(|f| bad.get(f)) {
                for r in &maps {
                    self.types.insert(r.id, Err(why.clone()));
                }
                continue;
            }
            let file = format!("{name}!{}", files.first().map_or("", String::as_str));
            let resolved = with_btf(manifest, blobs, btf_id, |btf| {
                maps.iter()
                    .map(|r| (r.id, map_types(btf, &file, r)))
                    .collect::<Vec<_>>()
            });
            match resolved {
                Ok(list) => self.types.extend(list),
                Err(why) => {
                    for r in &maps {
                        self.types
                            .insert(r.id, Err(format!("{name}!btf id {btf_id}: {why}")));
                    }
                }
            }
        }
    }

    /// The map's types: `Ok(None)` without BTF, `Err` when its BTF is unusable.
    fn types(&self, map_id: u32) -> Result<Option<&MapTypes>, String> {
        match self.types.get(&map_id) {
            None => Ok(None),
            Some(Ok(t)) => Ok(Some(t)),
            Some(Err(why)) => Err(why.clone()),
        }
    }

    /// The size the manifest declares for `path` (0 when not listed).
    fn declared_size(&self, path: &str) -> u64 {
        self.bundle
            .manifest
            .files
            .iter()
            .find(|f| f.path == path)
            .map_or(0, |f| f.size)
    }
}

/// A map's key and value types from its BTF, checked against the map's
/// key and value sizes (a type of another size would decode nothing).
fn map_types(
    btf: &crate::ingest::btf::Btf<'_>,
    file: &str,
    r: &MapRecord,
) -> Result<MapTypes, String> {
    let mut t = types_by_id(
        btf,
        file,
        TypeId(r.btf_key_type_id),
        TypeId(r.btf_value_type_id),
    )
    .map_err(|e| e.to_string())?;
    for (what, ty, size) in [
        ("key", &t.key, r.key_size),
        ("value", &t.value, r.value_size),
    ] {
        if ty.ty.size() != size as u64 {
            return Err(format!(
                "{file}: the {what} type `{}` (type id {}) is {} bytes, but map {} has {size}-byte {what}s",
                ty.name,
                if what == "key" { r.btf_key_type_id } else { r.btf_value_type_id },
                ty.ty.size(),
                r.id
            ));
        }
    }
    t.map_name = Some(r.name.clone());
    t.map_type = MapType::from_name(&r.map_type);
    t.max_entries = Some(r.max_entries);
    Ok(t)
}

/// One side of a pair: which bundle (index into the sides), dump and map.
struct End {
    side: usize,
    dump: String,
    map_id: u32,
    label: String,
}

/// Two dumps of one map to compare.
struct PairPlan {
    name: String,
    old: End,
    new: End,
}

/// A pair's comparison under way: its OLD dump's index, what NEW showed,
/// each side's problems, and why a side cannot be used.
#[derive(Default)]
struct PairState {
    stream: DiffStream,
    collected: PairCollector,
    old_problems: Vec<DumpProblem>,
    new_problems: Vec<DumpProblem>,
    old_err: Option<String>,
    new_err: Option<String>,
    /// NEW has been compared and OLD's remaining entries taken: the index is freed.
    settled: bool,
}

impl PairState {
    /// A pair not compared yet, whose report keeps `keep` changes of each kind.
    fn new(keep: usize) -> Self {
        PairState {
            collected: PairCollector::keeping(keep),
            ..PairState::default()
        }
    }

    /// Takes what OLD's index still has to report (removed and repeated
    /// entries) once NEW is through, and frees the index.
    fn settle(&mut self) {
        if !self.settled {
            self.collected.finish(&self.stream);
            self.stream = DiffStream::new();
            self.settled = true;
        }
    }
}

/// Keeps a batch's problems (the first [`PROBLEMS_KEPT`] of the dump, as
/// a whole dump keeps them), counting entries from the dump's start.
fn keep_problems(kept: &mut Vec<DumpProblem>, batch: &MapDump, entries_before: usize) {
    let room = PROBLEMS_KEPT.saturating_sub(kept.len());
    kept.extend(batch.problems.iter().take(room).cloned().map(|mut p| {
        p.entries_before += entries_before;
        p
    }));
}

/// Streams a dump member into the pairs `targets` (indices into `states`)
/// as batches: OLD dumps are indexed, NEW dumps compared.
fn stream_member(r: &mut dyn Read, states: &mut [PairState], targets: &[usize], old: bool) {
    let mut sink = |batch: MapDump| {
        for &t in targets {
            let Some(s) = states.get_mut(t) else { continue };
            if old {
                keep_problems(&mut s.old_problems, &batch, s.stream.old_len());
                s.stream.push_old(&batch);
            } else {
                keep_problems(&mut s.new_problems, &batch, s.stream.new_len());
                let collected = &mut s.collected;
                s.stream.push_new(&batch, &mut |c| collected.take(c));
            }
        }
    };
    read_dump_batches(r, BATCH_ENTRIES, &mut sink);
}

/// The rounds pairs are compared in, given each pair's OLD dump size
/// (indices into `sizes`): a pair joins the first round whose OLD dumps
/// stay within [`ROUND_BYTES`] with its own, else starts one.
fn rounds(sizes: &[u64]) -> Vec<Vec<usize>> {
    let mut rounds: Vec<(u64, Vec<usize>)> = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        match rounds
            .iter_mut()
            .find(|(total, _)| total.saturating_add(size) <= ROUND_BYTES)
        {
            Some((total, list)) => {
                *total += size;
                list.push(i);
            }
            None => rounds.push((size, vec![i])),
        }
    }
    rounds.into_iter().map(|(_, list)| list).collect()
}

/// Compares every planned pair; the results in plan order. First in
/// [`lockstep`] (one walk of each bundle), then what that left, a round at
/// a time.
fn diff_pairs(sides: &mut [BundleSide], plans: &[PairPlan], keep: usize) -> Result<Vec<PairOut>> {
    let mut outs: Vec<Option<PairOut>> = plans.iter().map(|_| None).collect();
    let left = lockstep(sides, plans, &mut outs, keep)?;
    let sizes: Vec<u64> = left
        .iter()
        .map(|&i| {
            let p = &plans[i];
            sides
                .get(p.old.side)
                .map_or(0, |s| s.declared_size(&p.old.dump))
        })
        .collect();
    for round in rounds(&sizes) {
        let round: Vec<usize> = round.into_iter().map(|k| left[k]).collect();
        let mut states: Vec<PairState> = round.iter().map(|_| PairState::new(keep)).collect();
        for old in [true, false] {
            let end = |i: usize| if old { &plans[i].old } else { &plans[i].new };
            // A round's pairs have their OLD (and NEW) ends on one side.
            let Some(side) = round.first().map(|&i| end(i).side) else {
                continue;
            };
            let Some(bundle) = sides.get_mut(side) else {
                continue;
            };
            let paths: HashSet<&str> = round.iter().map(|&i| end(i).dump.as_str()).collect();
            let why_not = bundle.walk(&paths, &mut |p, r| {
                let targets: Vec<usize> = round
                    .iter()
                    .enumerate()
                    .filter(|&(k, &i)| end(i).dump == p && states[k].old_err.is_none())
                    .map(|(k, _)| k)
                    .collect();
                if !targets.is_empty() {
                    stream_member(r, &mut states, &targets, old);
                }
            })?;
            for (k, &i) in round.iter().enumerate() {
                let why = why_not.get(end(i).dump.as_str()).cloned();
                let s = &mut states[k];
                if old {
                    s.old_err = why;
                } else {
                    s.new_err = why;
                }
                if why_not.contains_key(end(i).dump.as_str()) && old {
                    // Its index is of no use: free it before NEW is read.
                    s.stream = DiffStream::new();
                }
            }
        }
        for (&i, state) in round.iter().zip(states) {
            outs[i] = Some(pair_out(sides, &plans[i], state));
        }
    }
    Ok(outs.into_iter().flatten().collect())
}

/// The hand-over between the two walkers of [`lockstep`].
#[derive(Default)]
struct Hand {
    /// An OLD dump indexed, waiting for its pair's NEW dump (plan index).
    offered: Option<(usize, PairState)>,
    /// The NEW walker is comparing a dump with the index it took.
    comparing: bool,
    old_done: bool,
    new_done: bool,
    /// Pairs whose NEW dump went by before their OLD index was offered.
    passed: HashSet<usize>,
}

/// Marks a walker done when it ends (also by a panic), so the other never
/// waits for it in vain.
struct Done<'a> {
    hand: &'a (std::sync::Mutex<Hand>, std::sync::Condvar),
    old: bool,
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        let mut h = lock(self.hand);
        if self.old {
            h.old_done = true;
        } else {
            h.new_done = true;
        }
        self.hand.1.notify_all();
    }
}

fn lock(hand: &(std::sync::Mutex<Hand>, std::sync::Condvar)) -> std::sync::MutexGuard<'_, Hand> {
    hand.0.lock().unwrap_or_else(|e| e.into_inner())
}

/// Walks the OLD bundle (side 0) and the NEW bundle (side 1) at once, on
/// two threads: the OLD walker indexes a pair's OLD dump and hands it over;
/// the NEW walker streams the pair's NEW dump through it when it gets
/// there. One index exists at a time (the OLD walker builds the next once
/// the last is compared; meanwhile both walkers go on hashing the members
/// between). A pair whose NEW dump comes before the index it
/// needs (the bundles list the maps in another order), or whose dump is
/// shared with another pair, is left for the rounds: returned, in plan
/// order. Pairs done, or with a dump that cannot be used, go to `outs`.
fn lockstep(
    sides: &mut [BundleSide],
    plans: &[PairPlan],
    outs: &mut [Option<PairOut>],
    keep: usize,
) -> Result<Vec<usize>> {
    let two_sides = plans.iter().all(|p| p.old.side == 0 && p.new.side == 1);
    let [old_side, new_side] = sides else {
        return Ok((0..plans.len()).collect());
    };
    if !two_sides {
        return Ok((0..plans.len()).collect());
    }
    // One pair per member: the first pair naming a dump takes it.
    let mut old_of: HashMap<&str, usize> = HashMap::new();
    let mut new_of: HashMap<&str, usize> = HashMap::new();
    let mut left: Vec<usize> = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        if old_of.contains_key(p.old.dump.as_str()) || new_of.contains_key(p.new.dump.as_str()) {
            left.push(i);
            continue;
        }
        old_of.insert(&p.old.dump, i);
        new_of.insert(&p.new.dump, i);
    }
    let old_paths: HashSet<&str> = old_of.keys().copied().collect();
    let new_paths: HashSet<&str> = new_of.keys().copied().collect();
    let hand = (
        std::sync::Mutex::new(Hand::default()),
        std::sync::Condvar::new(),
    );
    let mut done: HashMap<usize, PairState> = HashMap::new();
    let (old_why, new_why) = std::thread::scope(|s| {
        let old_walker = s.spawn(|| {
            let _done = Done {
                hand: &hand,
                old: true,
            };
            old_side.walk(&old_paths, &mut |p, r| {
                let Some(&i) = old_of.get(p) else { return };
                // One index at a time: the one before must be compared first.
                let mut h = lock(&hand);
                while (h.offered.is_some() || h.comparing) && !h.new_done {
                    h = hand.1.wait(h).unwrap_or_else(|e| e.into_inner());
                }
                if h.new_done || h.passed.contains(&i) {
                    return;
                }
                drop(h);
                let mut state = [PairState::new(keep)];
                stream_member(r, &mut state, &[0], true);
                let [state] = state;
                let mut h = lock(&hand);
                if !h.new_done && !h.passed.contains(&i) {
                    h.offered = Some((i, state));
                    hand.1.notify_all();
                }
            })
        });
        let new_result = {
            let _done = Done {
                hand: &hand,
                old: false,
            };
            new_side.walk(&new_paths, &mut |p, r| {
                let Some(&j) = new_of.get(p) else { return };
                let mut h = lock(&hand);
                let state = loop {
                    match &h.offered {
                        Some((i, _)) if *i == j => break h.offered.take().map(|(_, s)| s),
                        // OLD is past this pair's dump, or waits for a
                        // pair further on here: not now.
                        Some(_) => break None,
                        None if h.old_done => break None,
                        None => h = hand.1.wait(h).unwrap_or_else(|e| e.into_inner()),
                    }
                };
                if state.is_none() {
                    h.passed.insert(j);
                } else {
                    h.comparing = true;
                }
                hand.1.notify_all();
                drop(h);
                if let Some(state) = state {
                    let mut state = [state];
                    stream_member(r, &mut state, &[0], false);
                    let [mut state] = state;
                    state.settle();
                    done.insert(j, state);
                    lock(&hand).comparing = false;
                    hand.1.notify_all();
                }
            })
        };
        let old_result = old_walker.join().unwrap_or_else(|_| {
            Err(EngineError::Failed(
                "the OLD bundle's walk stopped unexpectedly".into(),
            ))
        });
        (old_result, new_result)
    });
    let (old_why, new_why) = (old_why?, new_why?);
    for i in old_of.values().copied() {
        let p = &plans[i];
        let old_err = old_why.get(p.old.dump.as_str()).cloned();
        let new_err = new_why.get(p.new.dump.as_str()).cloned();
        let state = match done.remove(&i) {
            Some(state) => state,
            None if old_err.is_some() || new_err.is_some() => PairState::new(keep),
            None => {
                left.push(i);
                continue;
            }
        };
        let state = PairState {
            old_err,
            new_err,
            ..state
        };
        outs[i] = Some(pair_out(sides, p, state));
    }
    left.sort_unstable();
    Ok(left)
}

/// A compared pair as reported; problems (a dump that cannot be used, BTF
/// that cannot) are kept on the pair instead of stopping the command.
fn pair_out(sides: &[BundleSide], plan: &PairPlan, mut state: PairState) -> PairOut {
    let mut problems_seen = Vec::new();
    let old_types = side_types(sides, &plan.old, &mut problems_seen);
    let new_types = side_types(sides, &plan.new, &mut problems_seen);
    let bundle_name = |e: &End| sides.get(e.side).map_or("", |s| s.name.as_str());
    let diff = match (state.old_err.take(), state.new_err.take()) {
        (None, None) => {
            state.settle();
            Some(state.collected.report(
                format!("{}!{}", bundle_name(&plan.old), plan.old.dump),
                format!("{}!{}", bundle_name(&plan.new), plan.new.dump),
                old_types,
                new_types,
                SideCounts {
                    old: problems(&state.old_problems),
                    new: problems(&state.new_problems),
                },
                SideCounts {
                    old: !state.old_problems.is_empty(),
                    new: !state.new_problems.is_empty(),
                },
            ))
        }
        (o, n) => {
            problems_seen.extend(o);
            problems_seen.extend(n);
            None
        }
    };
    PairOut {
        map: PairMap {
            name: plan.name.clone(),
            old_id: plan.old.map_id,
            new_id: plan.new.map_id,
        },
        old: plan.old.label.clone(),
        new: plan.new.label.clone(),
        problems: problems_seen,
        diff,
    }
}

/// A side's map types; an unusable BTF is noted once in `problems`.
fn side_types<'a>(
    sides: &'a [BundleSide],
    e: &End,
    problems: &mut Vec<String>,
) -> Option<&'a MapTypes> {
    match sides.get(e.side).map(|s| s.types(e.map_id)) {
        Some(Ok(t)) => t,
        None => None,
        Some(Err(why)) => {
            let why = format!("{why}; keys and values are shown as hex");
            if !problems.contains(&why) {
                problems.push(why);
            }
            None
        }
    }
}

/// `diff BUNDLE`: each map's consecutive snapshots (seq 0 → 1, 1 → 2, …;
/// a missing seq is skipped over, and the labels say which were compared).
pub fn diff_snapshots(path: &Path, keep: usize) -> Result<BundleDiffReport> {
    let bundle = Bundle::open(path)?;
    if bundle.manifest.snapshots.is_empty() {
        return Err(EngineError::Failed(format!(
            "{} has no snapshots (collect --snapshots N); give two bundles or two dumps",
            bundle.name
        )));
    }
    let mut by_map: BTreeMap<u32, Vec<&SnapshotRecord>> = BTreeMap::new();
    for s in &bundle.manifest.snapshots {
        by_map.entry(s.map_id).or_default().push(s);
    }
    for list in by_map.values_mut() {
        list.sort_by_key(|s| s.seq);
    }
    // Each map with two snapshots or more, and its snapshots in order.
    let compared: Vec<(u32, Vec<SnapshotRecord>)> = by_map
        .iter()
        .filter(|(_, list)| list.len() >= 2)
        .map(|(&id, list)| (id, list.iter().map(|s| (*s).clone()).collect()))
        .collect();
    let mut unmatched = Vec::new();
    for m in bundle.manifest.maps.iter().filter(|m| m.dump.is_some()) {
        let why = match by_map.get(&m.id).map(Vec::as_slice) {
            None | Some([]) => "no snapshots of this map (it was not dumped again)".to_string(),
            Some([only]) => format!("only snapshot {}: nothing to compare it with", only.seq),
            Some(_) => continue,
        };
        unmatched.push(UnmatchedOut {
            name: m.name.clone(),
            id: m.id,
            side: "old",
            why,
        });
    }
    let ids: Vec<u32> = compared.iter().map(|(id, _)| *id).collect();
    let mut plans = Vec::new();
    for (id, seqs) in &compared {
        let name = bundle
            .manifest
            .maps
            .iter()
            .find(|m| m.id == *id)
            .map_or("?", |m| m.name.as_str());
        for w in seqs.windows(2) {
            let [old, new] = [(0, &w[0]), (1, &w[1])].map(|(side, s)| End {
                side,
                dump: s.dump.clone(),
                map_id: *id,
                label: format!("snapshot {} ({})", s.seq, s.time),
            });
            plans.push(PairPlan {
                name: name.to_string(),
                old,
                new,
            });
        }
    }
    // The bundle opened twice: one walker indexes each pair's earlier
    // snapshot while the other compares the later one.
    let again = Bundle::open(path)?;
    let mut sides = [BundleSide::new(bundle, &ids), BundleSide::new(again, &ids)];
    let pairs = diff_pairs(&mut sides, &plans, keep)?;
    let [side, _] = sides;
    Ok(BundleDiffReport {
        old: side.name,
        new: None,
        pairs,
        unmatched,
    })
}

fn as_refs(v: &[(u32, String)]) -> Vec<(u32, &str)> {
    v.iter().map(|(id, n)| (*id, n.as_str())).collect()
}

/// `diff OLD NEW` of two bundles: each map's main dump, the maps paired by
/// [`match_maps`] (same id and name, else a name alone on each side).
pub fn diff_bundles(old_path: &Path, new_path: &Path, keep: usize) -> Result<BundleDiffReport> {
    let old = Bundle::open(old_path)?;
    let new = Bundle::open(new_path)?;
    let dumped = |b: &Bundle| -> Vec<(u32, String, String)> {
        let mut v: Vec<_> = b
            .manifest
            .maps
            .iter()
            .filter_map(|m| Some((m.id, m.name.clone(), m.dump.clone()?)))
            .collect();
        v.sort();
        v
    };
    let (old_maps, new_maps) = (dumped(&old), dumped(&new));
    let keys = |v: &[(u32, String, String)]| -> Vec<(u32, String)> {
        v.iter().map(|(id, n, _)| (*id, n.clone())).collect()
    };
    let (old_keys, new_keys) = (keys(&old_maps), keys(&new_maps));
    let (mut matches, unpaired) = match_maps(&as_refs(&old_keys), &as_refs(&new_keys));
    matches.sort_by(|a, b| {
        (&old_maps[a.old].1, old_maps[a.old].0).cmp(&(&old_maps[b.old].1, old_maps[b.old].0))
    });
    let (old_name, new_name) = (old.name.clone(), new.name.clone());
    let mut unmatched: Vec<UnmatchedOut> = unpaired
        .iter()
        .map(|u| {
            let (side, (id, name, _)) = if u.old_side {
                ("old", &old_maps[u.index])
            } else {
                ("new", &new_maps[u.index])
            };
            let (other, other_maps) = if u.old_side {
                (&new_name, &new_maps)
            } else {
                (&old_name, &old_maps)
            };
            let ids = |list: &[u32]| {
                list.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let why = match &u.why {
                Unpaired::NoSuchName => format!("{other} has no dumped map named {name}"),
                Unpaired::OthersPairedById => {
                    let same: Vec<u32> = other_maps
                        .iter()
                        .filter(|m| &m.1 == name)
                        .map(|m| m.0)
                        .collect();
                    format!(
                        "the maps named {name} in {other} (id {}) are paired with the same ids here; this is another instance",
                        ids(&same)
                    )
                }
                Unpaired::Ambiguous { old_ids, new_ids } => format!(
                    "maps named {name} left after pairing by id: {} in {old_name} (id {}), {} in {new_name} (id {}); which is which cannot be told",
                    old_ids.len(),
                    ids(old_ids),
                    new_ids.len(),
                    ids(new_ids)
                ),
            };
            UnmatchedOut {
                name: name.clone(),
                id: *id,
                side,
                why,
            }
        })
        .collect();
    unmatched.sort_by(|a, b| (&a.name, a.side, a.id).cmp(&(&b.name, b.side, b.id)));

    let wanted = |maps: &[(u32, String, String)], pick: &dyn Fn(usize) -> bool| -> Vec<u32> {
        (0..maps.len())
            .filter(|&i| pick(i))
            .map(|i| maps[i].0)
            .collect()
    };
    let old_ids = wanted(&old_maps, &|i| matches.iter().any(|m| m.old == i));
    let new_ids = wanted(&new_maps, &|i| matches.iter().any(|m| m.new == i));
    let label = |b: &Bundle| format!("{} ({})", b.name, b.manifest.created);
    let (old_label, new_label) = (label(&old), label(&new));
    let plans: Vec<PairPlan> = matches
        .iter()
        .map(|m| {
            let (oid, name, odump) = &old_maps[m.old];
            let (nid, _, ndump) = &new_maps[m.new];
            PairPlan {
                name: name.clone(),
                old: End {
                    side: 0,
                    dump: odump.clone(),
                    map_id: *oid,
                    label: old_label.clone(),
                },
                new: End {
                    side: 1,
                    dump: ndump.clone(),
                    map_id: *nid,
                    label: new_label.clone(),
                },
            }
        })
        .collect();
    let mut sides = [
        BundleSide::new(old, &old_ids),
        BundleSide::new(new, &new_ids),
    ];
    let pairs = diff_pairs(&mut sides, &plans, keep)?;
    let [old_side, new_side] = sides;
    Ok(BundleDiffReport {
        old: old_side.name,
        new: Some(new_side.name),
        pairs,
        unmatched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_dumps_share_a_round_and_a_large_one_has_its_own() {
        const MB: u64 = 1 << 20;
        let sizes = [300 * MB, 10 * MB, 100 * MB, 200 * MB, 30 * MB, 0];
        assert_eq!(
            rounds(&sizes),
            vec![vec![0], vec![1, 2, 5], vec![3], vec![4]]
        );
        assert!(rounds(&[]).is_empty());
    }
}
