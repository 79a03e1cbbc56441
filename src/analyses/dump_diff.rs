//! Differences between two dumps of one map: entries added, removed and
//! changed, matched by their exact key bytes.
//!
//! Pure: [`DiffStream`] takes OLD's entries (in batches, as a streamed dump
//! hands them over), keeps them in a compact index ([`EntryStore`]: key and
//! value bytes in one arena, a 4-byte hash slot per key), then takes NEW in
//! batches and reports each [`Change`] as it is found, so NEW is never held
//! and OLD costs its bytes plus ~20 bytes an entry. [`diff_dumps`] is the
//! same comparison of two whole dumps, returning indices into them.
//!
//! [`match_maps`] decides which maps of two bundles are the same map, so
//! their dumps can be compared.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use crate::model::dump::{DumpEntry, EntryValue, MapDump};

/// Where two values of one key differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueDiff {
    /// CPU number for per-CPU values; `None` for a single value.
    pub cpu: Option<usize>,
    /// Byte offsets (within that CPU's value) whose bytes differ; a byte
    /// present on one side only counts as differing.
    pub offsets: Vec<u64>,
}

/// One key present in both dumps with different value bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedEntry {
    /// Entry index in OLD.
    pub old: usize,
    /// Entry index in NEW.
    pub new: usize,
    /// Per CPU (or the single value) where the bytes differ; CPUs whose
    /// values are equal are left out.
    pub diffs: Vec<ValueDiff>,
    /// True when one side's value could not be looked up (`<no entry>`).
    pub value_missing: bool,
}

/// What [`diff_dumps`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpDiff {
    /// Entry indices in NEW whose key OLD does not have.
    pub added: Vec<usize>,
    /// Entry indices in OLD whose key NEW does not have.
    pub removed: Vec<usize>,
    pub changed: Vec<ChangedEntry>,
    /// Keys in both with equal values.
    pub unchanged: usize,
    /// Entry indices in OLD that repeat a key seen earlier in OLD (left out
    /// of the comparison: the first occurrence is compared).
    pub duplicates_old: Vec<usize>,
    /// The same for NEW.
    pub duplicates_new: Vec<usize>,
}

impl DumpDiff {
    /// Whether the two dumps hold the same entries.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares two dumps entry by entry, matching entries by key bytes: OLD
/// indexed, NEW streamed against it as one batch ([`DiffStream`]).
pub fn diff_dumps(old: &MapDump, new: &MapDump) -> DumpDiff {
    let mut diff = DumpDiff::default();
    let mut stream = DiffStream::new();
    stream.push_old(old);
    let mut record = |c: Change<'_>| match c {
        Change::Added(e) => diff.added.push(e.index),
        Change::Removed(e) => diff.removed.push(e.index),
        Change::Changed { change, .. } => diff.changed.push(change),
        Change::DuplicateOld(e) => diff.duplicates_old.push(e.index),
        Change::DuplicateNew(e) => diff.duplicates_new.push(e.index),
    };
    stream.push_new(new, &mut record);
    let unchanged = stream.finish(&mut record);
    diff.unchanged = unchanged;
    diff
}

/// One entry as the comparison hands it over: its index in its dump, key
/// and value (bytes, or formatted text when `formatted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'d> {
    pub index: usize,
    pub key: &'d [u8],
    pub value: EntryValue<'d>,
    pub formatted: bool,
}

impl<'d> From<DumpEntry<'d>> for Entry<'d> {
    fn from(e: DumpEntry<'d>) -> Self {
        Entry {
            index: e.index,
            key: e.key,
            value: e.value,
            formatted: e.formatted,
        }
    }
}

/// What [`DiffStream`] reports, entry by entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<'d> {
    /// A NEW entry whose key OLD does not have.
    Added(Entry<'d>),
    /// An OLD entry whose key NEW does not have (reported by [`DiffStream::finish`]).
    Removed(Entry<'d>),
    /// A key in both with different values.
    Changed {
        old: Entry<'d>,
        new: Entry<'d>,
        change: ChangedEntry,
    },
    /// An OLD entry repeating a key seen earlier in OLD (reported by
    /// [`DiffStream::finish`]); left out of the comparison.
    DuplicateOld(Entry<'d>),
    /// A NEW entry repeating a key seen earlier in NEW; left out.
    DuplicateNew(Entry<'d>),
}

/// The shape of an entry's value and key in an [`EntryStore`]: most dumps
/// have one or two (a `<no entry>` value), so entries share them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    key_len: usize,
    value: ValueShape,
    formatted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ValueShape {
    Single(usize),
    PerCpu { bytes: usize, len: usize },
    Missing,
}

/// Entries kept compactly: key and value bytes back to back in one arena,
/// and per entry its start (8 bytes) and a shape number (4 bytes) into a
/// table of the distinct key/value shapes. Entries are numbered from 0 in
/// the order pushed. Holds at most `u32::MAX` shapes (one per entry at
/// worst; a dump that large does not fit in memory anyway).
#[derive(Debug, Default)]
pub struct EntryStore {
    arena: Vec<u8>,
    starts: Vec<u64>,
    shapes: Vec<u32>,
    shape_list: Vec<Shape>,
    shape_ids: HashMap<Shape, u32>,
}

impl EntryStore {
    /// Number of entries kept.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Keeps a copy of `e`'s key and value; returns its number.
    pub fn push(&mut self, e: &Entry<'_>) -> usize {
        let value = match e.value {
            EntryValue::Single(v) => ValueShape::Single(v.len()),
            EntryValue::PerCpu { bytes, len } => ValueShape::PerCpu {
                bytes: bytes.len(),
                len,
            },
            EntryValue::Missing => ValueShape::Missing,
        };
        let shape = Shape {
            key_len: e.key.len(),
            value,
            formatted: e.formatted,
        };
        let id = match self.shape_ids.get(&shape) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.shape_list.len()).unwrap_or(u32::MAX);
                self.shape_list.push(shape);
                self.shape_ids.insert(shape, id);
                id
            }
        };
        self.starts.push(self.arena.len() as u64);
        self.shapes.push(id);
        self.arena.extend_from_slice(e.key);
        if let EntryValue::Single(v) | EntryValue::PerCpu { bytes: v, .. } = e.value {
            self.arena.extend_from_slice(v);
        }
        self.starts.len() - 1
    }

    fn span(&self, i: usize) -> Option<(usize, Shape)> {
        let start = usize::try_from(*self.starts.get(i)?).ok()?;
        let shape = *self.shape_list.get(*self.shapes.get(i)? as usize)?;
        Some((start, shape))
    }

    /// The key of entry `i`.
    pub fn key(&self, i: usize) -> Option<&[u8]> {
        let (start, shape) = self.span(i)?;
        self.arena.get(start..start.checked_add(shape.key_len)?)
    }

    /// Entry `i` (its `index` is `i`).
    pub fn get(&self, i: usize) -> Option<Entry<'_>> {
        let (start, shape) = self.span(i)?;
        let key_end = start.checked_add(shape.key_len)?;
        let key = self.arena.get(start..key_end)?;
        let bytes = |n: usize| self.arena.get(key_end..key_end.checked_add(n)?);
        let value = match shape.value {
            ValueShape::Single(n) => EntryValue::Single(bytes(n)?),
            ValueShape::PerCpu { bytes: n, len } => EntryValue::PerCpu {
                bytes: bytes(n)?,
                len,
            },
            ValueShape::Missing => EntryValue::Missing,
        };
        Some(Entry {
            index: i,
            key,
            value,
            formatted: shape.formatted,
        })
    }
}

/// The keys of an [`EntryStore`], by hash: open addressing with linear
/// probing over 4-byte slots (entry number + 1; 0 is empty), at most half
/// full. Randomly keyed SipHash, so forged keys cannot make probing slow.
/// Entries past `u32::MAX - 1` are not indexed (they would need a dump of
/// over 4 billion entries, beyond any bundle's byte cap).
#[derive(Debug, Default)]
struct KeyTable {
    slots: Vec<u32>,
    count: usize,
    hasher: RandomState,
}

impl KeyTable {
    fn slot_of(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) as usize) & (self.slots.len() - 1)
    }

    /// The entry number of `key` in `store`, if indexed.
    fn find(&self, key: &[u8], store: &EntryStore) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = self.slot_of(key);
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            let i = slot as usize - 1;
            if store.key(i) == Some(key) {
                return Some(i);
            }
            at = (at + 1) & mask;
        }
    }

    /// Indexes entry `i` of `store` (whose key is not indexed yet).
    fn insert(&mut self, i: usize, store: &EntryStore) {
        let Ok(slot) = u32::try_from(i + 1) else {
            return;
        };
        if slot == u32::MAX {
            return;
        }
        if (self.count + 1) * 2 > self.slots.len() {
            self.grow(store);
        }
        self.place(slot, store);
        self.count += 1;
    }

    fn place(&mut self, slot: u32, store: &EntryStore) {
        let key = store.key(slot as usize - 1).unwrap_or_default();
        let mask = self.slots.len() - 1;
        let mut at = self.slot_of(key);
        while self.slots[at] != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }

    fn grow(&mut self, store: &EntryStore) {
        let size = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        for slot in old.into_iter().filter(|&s| s != 0) {
            self.place(slot, store);
        }
    }
}

/// Per OLD entry: not (yet) matched by a NEW key, matched, or a repeat of
/// an earlier OLD key.
const UNMATCHED: u8 = 0;
const MATCHED: u8 = 1;
const DUPLICATE: u8 = 2;

/// Two dumps of one map compared by key as they stream: every batch of OLD
/// first ([`DiffStream::push_old`]), then NEW's ([`DiffStream::push_new`],
/// reporting added, changed and repeated NEW entries as they come), then
/// [`DiffStream::finish`] (removed and repeated OLD entries). Holds OLD's
/// entries and the keys of NEW's added ones, never NEW's dump; reports
/// entries in dump order, indexed across batches.
#[derive(Debug, Default)]
pub struct DiffStream {
    old: EntryStore,
    old_keys: KeyTable,
    old_state: Vec<u8>,
    /// Keys NEW has that OLD has not (to tell NEW's repeats).
    added: EntryStore,
    added_keys: KeyTable,
    new_len: usize,
    unchanged: usize,
}

impl DiffStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries of OLD taken so far.
    pub fn old_len(&self) -> usize {
        self.old.len()
    }

    /// Entries of NEW taken so far.
    pub fn new_len(&self) -> usize {
        self.new_len
    }

    /// Takes OLD's next batch (all of OLD comes before any of NEW).
    pub fn push_old(&mut self, batch: &MapDump) {
        for e in batch.entries() {
            let i = self.old.push(&e.into());
            let state = match self.old_keys.find(e.key, &self.old) {
                Some(_) => DUPLICATE,
                None => {
                    self.old_keys.insert(i, &self.old);
                    UNMATCHED
                }
            };
            self.old_state.push(state);
        }
    }

    /// Compares NEW's next batch with OLD, reporting what differs to `sink`.
    pub fn push_new(&mut self, batch: &MapDump, sink: &mut dyn FnMut(Change<'_>)) {
        for e in batch.entries() {
            let new = Entry {
                index: self.new_len,
                ..e.into()
            };
            self.new_len += 1;
            let Some(oi) = self.old_keys.find(e.key, &self.old) else {
                if self.added_keys.find(e.key, &self.added).is_some() {
                    sink(Change::DuplicateNew(new));
                } else {
                    let i = self.added.push(&Entry {
                        value: EntryValue::Missing,
                        ..new
                    });
                    self.added_keys.insert(i, &self.added);
                    sink(Change::Added(new));
                }
                continue;
            };
            let Some(state) = self.old_state.get_mut(oi) else {
                continue;
            };
            if *state == MATCHED {
                sink(Change::DuplicateNew(new));
                continue;
            }
            *state = MATCHED;
            let Some(old) = self.old.get(oi) else {
                continue;
            };
            match compare_values(old.value, new.value) {
                None => self.unchanged += 1,
                Some((diffs, value_missing)) => sink(Change::Changed {
                    old,
                    new,
                    change: ChangedEntry {
                        old: oi,
                        new: new.index,
                        diffs,
                        value_missing,
                    },
                }),
            }
        }
    }

    /// Reports OLD's entries NEW did not have, and OLD's repeats, in OLD's
    /// order; returns how many keys had equal values on both sides.
    pub fn finish(&self, sink: &mut dyn FnMut(Change<'_>)) -> usize {
        for (i, state) in self.old_state.iter().enumerate() {
            if *state == MATCHED {
                continue;
            }
            let Some(e) = self.old.get(i) else { continue };
            sink(if *state == DUPLICATE {
                Change::DuplicateOld(e)
            } else {
                Change::Removed(e)
            });
        }
        self.unchanged
    }
}

/// `None` when equal; otherwise where they differ and whether a side had no value.
fn compare_values(a: EntryValue<'_>, b: EntryValue<'_>) -> Option<(Vec<ValueDiff>, bool)> {
    if a == b {
        return None;
    }
    let missing = matches!(a, EntryValue::Missing) || matches!(b, EntryValue::Missing);
    let per_cpu = matches!(a, EntryValue::PerCpu { .. }) || matches!(b, EntryValue::PerCpu { .. });
    let (xs, ys) = (a.cpu_values(), b.cpu_values());
    let mut diffs = Vec::new();
    for cpu in 0..xs.len().max(ys.len()) {
        let x = xs.get(cpu).copied().unwrap_or_default();
        let y = ys.get(cpu).copied().unwrap_or_default();
        let offsets = differing_offsets(x, y);
        if !offsets.is_empty() {
            diffs.push(ValueDiff {
                cpu: per_cpu.then_some(cpu),
                offsets,
            });
        }
    }
    if diffs.is_empty() && !missing {
        // Same bytes in a different shape (a one-CPU per-CPU value against
        // a single one): equal for the diff.
        return None;
    }
    Some((diffs, missing))
}

fn differing_offsets(x: &[u8], y: &[u8]) -> Vec<u64> {
    (0..x.len().max(y.len()))
        .filter(|&i| x.get(i) != y.get(i))
        .map(|i| i as u64)
        .collect()
}

/// How two maps of different bundles were found to be the same map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The same id with the same name on both sides.
    Id,
    /// The only map of that name on each side (a reload changes ids).
    Name,
}

/// A map of OLD paired with a map of NEW (indices into the slices given to
/// [`match_maps`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapMatch {
    pub old: usize,
    pub new: usize,
    pub by: MatchedBy,
}

/// Why a map was left without a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unpaired {
    /// The other side has no map of this name.
    NoSuchName,
    /// Every map of this name on the other side was paired by id with
    /// another map (this one is an older or newer instance).
    OthersPairedById,
    /// Several maps of this name are left on a side and the ids do not
    /// tell which is which; the ids of that name left unpaired on each side.
    Ambiguous {
        old_ids: Vec<u32>,
        new_ids: Vec<u32>,
    },
}

/// A map of one side without a partner on the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpairedMap {
    /// True for a map of OLD, false for NEW.
    pub old_side: bool,
    /// Index into that side's slice.
    pub index: usize,
    pub why: Unpaired,
}

/// Pairs the maps of two bundles, each given as `(id, name)`: by id when
/// the same id has the same name on both sides; otherwise by name when
/// exactly one map of that name is on each side. Ids are reused only after
/// a map is freed, so an id with the same name is the same map; a reload
/// makes new ids, so a lone name is the next best evidence. With several
/// maps of one name left on a side, any pairing would be a guess: they are
/// returned unpaired.
pub fn match_maps(old: &[(u32, &str)], new: &[(u32, &str)]) -> (Vec<MapMatch>, Vec<UnpairedMap>) {
    let new_by_id: HashMap<u32, usize> = new.iter().enumerate().map(|(i, m)| (m.0, i)).collect();
    let mut pairs = Vec::new();
    let mut old_paired = vec![false; old.len()];
    let mut new_paired = vec![false; new.len()];
    for (oi, (id, name)) in old.iter().enumerate() {
        if let Some(&ni) = new_by_id.get(id) {
            if new[ni].1 == *name && !new_paired[ni] {
                pairs.push(MapMatch {
                    old: oi,
                    new: ni,
                    by: MatchedBy::Id,
                });
                old_paired[oi] = true;
                new_paired[ni] = true;
            }
        }
    }
    let count = |side: &[(u32, &str)], name: &str| side.iter().filter(|m| m.1 == name).count();
    let unpaired_ids = |side: &[(u32, &str)], paired: &[bool], name: &str| -> Vec<u32> {
        side.iter()
            .zip(paired)
            .filter(|(m, p)| m.1 == name && !**p)
            .map(|(m, _)| m.0)
            .collect()
    };
    for (oi, (_, name)) in old.iter().enumerate() {
        if old_paired[oi] || count(old, name) != 1 || count(new, name) != 1 {
            continue;
        }
        if let Some(ni) = new.iter().position(|m| m.1 == *name) {
            if !new_paired[ni] {
                pairs.push(MapMatch {
                    old: oi,
                    new: ni,
                    by: MatchedBy::Name,
                });
                old_paired[oi] = true;
                new_paired[ni] = true;
            }
        }
    }
    let mut unpaired = Vec::new();
    for (old_side, side, other, paired) in [
        (true, old, new, &old_paired),
        (false, new, old, &new_paired),
    ] {
        for (index, (_, name)) in side.iter().enumerate() {
            if paired[index] {
                continue;
            }
            let (old_ids, new_ids) = (
                unpaired_ids(old, &old_paired, name),
                unpaired_ids(new, &new_paired, name),
            );
            let others = if old_side { &new_ids } else { &old_ids };
            let why = if count(other, name) == 0 {
                Unpaired::NoSuchName
            } else if others.is_empty() {
                Unpaired::OthersPairedById
            } else {
                Unpaired::Ambiguous { old_ids, new_ids }
            };
            unpaired.push(UnpairedMap {
                old_side,
                index,
                why,
            });
        }
    }
    (pairs, unpaired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_cover_length_differences() {
        assert_eq!(differing_offsets(&[1, 2, 3], &[1, 9, 3, 4]), vec![1, 3]);
        assert!(differing_offsets(&[5], &[5]).is_empty());
    }

    #[test]
    fn per_cpu_values_are_compared_per_cpu() {
        let a = EntryValue::PerCpu {
            bytes: &[0, 0, 1, 1],
            len: 2,
        };
        let b = EntryValue::PerCpu {
            bytes: &[0, 0, 1, 7],
            len: 2,
        };
        let (d, missing) = compare_values(a, b).unwrap();
        assert!(!missing);
        assert_eq!(
            d,
            vec![ValueDiff {
                cpu: Some(1),
                offsets: vec![1]
            }]
        );
        let (d, missing) = compare_values(EntryValue::Missing, EntryValue::Single(&[0])).unwrap();
        assert!(missing);
        assert_eq!(d[0].offsets, vec![0]);
    }

    #[test]
    fn duplicates_are_counted_and_left_out() {
        use crate::model::dump::DumpForm;
        let mut old = MapDump::new(DumpForm::Json);
        old.push_entry(0, &[1], EntryValue::Single(&[10]));
        old.push_entry(1, &[2], EntryValue::Single(&[20]));
        old.push_entry(2, &[1], EntryValue::Single(&[99]));
        let mut new = MapDump::new(DumpForm::Json);
        new.push_entry(0, &[1], EntryValue::Single(&[10]));
        new.push_entry(1, &[3], EntryValue::Single(&[30]));
        new.push_entry(2, &[3], EntryValue::Single(&[31]));
        let d = diff_dumps(&old, &new);
        assert_eq!(d.duplicates_old, vec![2]);
        assert_eq!(d.duplicates_new, vec![2]);
        assert_eq!((d.added.clone(), d.removed.clone()), (vec![1], vec![1]));
        assert_eq!((d.unchanged, d.changed.len()), (1, 0));
    }

    /// Entries `(key, value)` as batches of `per` entries each.
    fn batches(entries: &[(u8, Option<u8>)], per: usize) -> Vec<MapDump> {
        use crate::model::dump::DumpForm;
        entries
            .chunks(per)
            .map(|chunk| {
                let mut d = MapDump::new(DumpForm::Json);
                for (i, (k, v)) in chunk.iter().enumerate() {
                    let value = v.as_ref().map_or(EntryValue::Missing, |v| {
                        EntryValue::Single(std::slice::from_ref(v))
                    });
                    d.push_entry(i as u64, &[*k, 0, 0], value);
                }
                d
            })
            .collect()
    }

    #[test]
    fn batches_compare_as_the_whole_dumps_do() {
        // Repeats and matches across batch boundaries, a `<no entry>`
        // value, keys only one side has; the index grows past its first
        // table size (16 slots).
        let mut old: Vec<(u8, Option<u8>)> = (0..40).map(|k| (k, Some(k))).collect();
        old.extend([(3, Some(9)), (50, None), (51, Some(1)), (7, Some(7))]);
        let mut new: Vec<(u8, Option<u8>)> = (0..40).rev().map(|k| (k, Some(k))).collect();
        new[5].1 = Some(200);
        new.extend([
            (50, Some(1)),
            (60, Some(6)),
            (60, Some(6)),
            (61, None),
            (2, Some(0)),
        ]);
        let whole = diff_dumps(&batches(&old, usize::MAX)[0], &batches(&new, usize::MAX)[0]);
        assert_eq!(whole.duplicates_old, vec![40, 43]);
        assert_eq!(whole.duplicates_new, vec![42, 44]);
        assert_eq!(
            (whole.added.clone(), whole.removed.clone()),
            (vec![41, 43], vec![42])
        );
        let changed: Vec<(usize, usize, bool)> = whole
            .changed
            .iter()
            .map(|c| (c.old, c.new, c.value_missing))
            .collect();
        assert_eq!(changed, vec![(34, 5, false), (41, 40, true)]);
        assert_eq!(whole.unchanged, 39);
        for per in [1, 2, 3, 7] {
            let mut stream = DiffStream::new();
            for b in batches(&old, per) {
                stream.push_old(&b);
            }
            let mut got = DumpDiff::default();
            let mut record = |c: Change<'_>| match c {
                Change::Added(e) => got.added.push(e.index),
                Change::Removed(e) => got.removed.push(e.index),
                Change::Changed { change, .. } => got.changed.push(change),
                Change::DuplicateOld(e) => got.duplicates_old.push(e.index),
                Change::DuplicateNew(e) => got.duplicates_new.push(e.index),
            };
            for b in batches(&new, per) {
                stream.push_new(&b, &mut record);
            }
            got.unchanged = stream.finish(&mut record);
            assert_eq!(got, whole, "batches of {per}");
        }
    }

    #[test]
    fn maps_pair_by_id_then_by_a_lone_name() {
        // OLD: conns twice (an old instance and the live one), slots once.
        // NEW: the live conns kept its id; slots was reloaded (new id);
        // tiny is new.
        let old = [(1, "conns"), (2, "conns"), (3, "slots")];
        let new = [(2, "conns"), (9, "slots"), (10, "tiny")];
        let (pairs, unpaired) = match_maps(&old, &new);
        assert_eq!(
            pairs,
            vec![
                MapMatch {
                    old: 1,
                    new: 0,
                    by: MatchedBy::Id
                },
                MapMatch {
                    old: 2,
                    new: 1,
                    by: MatchedBy::Name
                }
            ]
        );
        assert_eq!(
            unpaired,
            vec![
                UnpairedMap {
                    old_side: true,
                    index: 0,
                    why: Unpaired::OthersPairedById
                },
                UnpairedMap {
                    old_side: false,
                    index: 2,
                    why: Unpaired::NoSuchName
                }
            ]
        );
    }

    #[test]
    fn an_id_reused_under_another_name_is_not_the_same_map() {
        let (pairs, unpaired) = match_maps(&[(5, "a")], &[(5, "b")]);
        assert!(pairs.is_empty());
        assert_eq!(unpaired.len(), 2);
        assert!(unpaired.iter().all(|u| u.why == Unpaired::NoSuchName));
        // Two of a name on each side, none with a shared id: no guess.
        let (pairs, unpaired) = match_maps(&[(1, "a"), (2, "a")], &[(3, "a"), (4, "a")]);
        assert!(pairs.is_empty());
        assert_eq!(
            unpaired[0].why,
            Unpaired::Ambiguous {
                old_ids: vec![1, 2],
                new_ids: vec![3, 4]
            }
        );
    }
}
