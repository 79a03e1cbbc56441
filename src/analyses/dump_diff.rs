//! Differences between two dumps of one map: entries added, removed and
//! changed, matched by their exact key bytes.
//!
//! Pure: works on two [`MapDump`]s and returns indices into them, so the
//! caller decides how to show keys and values. OLD is indexed once (a hash
//! map from borrowed key bytes to entry index, no copies); NEW is streamed
//! against it.
//!
//! [`match_maps`] decides which maps of two bundles are the same map, so
//! their dumps can be compared.

use std::collections::{HashMap, HashSet};

use crate::model::dump::{EntryValue, MapDump};

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

/// Compares two dumps entry by entry, matching entries by key bytes.
pub fn diff_dumps(old: &MapDump, new: &MapDump) -> DumpDiff {
    let mut diff = DumpDiff::default();
    let mut by_key: HashMap<&[u8], usize> = HashMap::with_capacity(old.len());
    for e in old.entries() {
        if by_key.contains_key(e.key) {
            diff.duplicates_old.push(e.index);
        } else {
            by_key.insert(e.key, e.index);
        }
    }
    let mut matched = vec![false; old.len()];
    let mut seen_new: HashSet<&[u8]> = HashSet::with_capacity(new.len());
    for e in new.entries() {
        if !seen_new.insert(e.key) {
            diff.duplicates_new.push(e.index);
            continue;
        }
        let Some(&oi) = by_key.get(e.key) else {
            diff.added.push(e.index);
            continue;
        };
        matched[oi] = true;
        let Some(o) = old.get(oi) else { continue };
        match compare_values(o.value, e.value) {
            None => diff.unchanged += 1,
            Some((diffs, value_missing)) => diff.changed.push(ChangedEntry {
                old: oi,
                new: e.index,
                diffs,
                value_missing,
            }),
        }
    }
    diff.removed = old
        .entries()
        .filter(|e| !matched[e.index] && by_key.get(e.key) == Some(&e.index))
        .map(|e| e.index)
        .collect();
    diff
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
