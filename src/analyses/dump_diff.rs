//! Differences between two dumps of one map: entries added, removed and
//! changed, matched by their exact key bytes.
//!
//! Pure: works on two [`MapDump`]s and returns indices into them, so the
//! caller decides how to show keys and values. OLD is indexed once (a hash
//! map from borrowed key bytes to entry index, no copies); NEW is streamed
//! against it.

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
}
