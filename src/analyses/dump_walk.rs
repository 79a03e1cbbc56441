//! `dump/duplicate-keys`, `dump/truncated` (and `input/unreadable` for a
//! broken dump): what the dump says about the walk that produced it.
//!
//! bpftool walks a map with `BPF_MAP_GET_NEXT_KEY`; when the current key is
//! deleted meanwhile, the kernel restarts from the first key, so the same key
//! is printed twice and the dump is not a snapshot. A dump that stops part way
//! (`Error:` line, a cut file, fewer entries than `Found N elements`) is
//! incomplete, and every conclusion drawn from it is a lower bound.

use std::collections::HashMap;

use serde_json::json;

use crate::model::dump::{hex_bytes, DumpForm, DumpTally, KeyLog, MapDump, ProblemKind};
use crate::model::finding::{Code, Finding, MapRef, Position, Severity, SourceRef};

/// Example keys kept per finding (the counts cover all of them).
pub const EXAMPLES: usize = 3;

fn key_text(keys: &KeyLog, index: usize) -> String {
    match keys.is_formatted(index) {
        true => String::from_utf8_lossy(keys.key(index)).into_owned(),
        false => hex_bytes(keys.key(index)),
    }
}

fn at_json(p: Position) -> serde_json::Value {
    match p {
        Position::Line(l) => json!({ "line": l }),
        Position::Offset(o) => json!({ "offset": o }),
    }
}

/// Occurrences (index and position) listed per example key; the true count
/// is always given beside them, so one key repeated millions of times costs
/// a few hundred bytes of evidence.
pub const OCCURRENCES_SHOWN: usize = 8;

/// Keys that appear more than once (byte for byte; for formatted-text dumps,
/// formatted key for formatted key).
pub fn check_duplicate_keys(dump: &MapDump, map: Option<MapRef>) -> Vec<Finding> {
    let mut keys = KeyLog::new(dump.form);
    keys.add(dump);
    duplicate_keys(&keys, map)
}

/// A fast 64-bit hash of a key's bytes, each byte first ANDed with `keep`
/// at its offset (a padding mask inverted; all ones when `keep` is empty):
/// FNV-1a over 8-byte words, then mixed. Equal hashes are confirmed byte by
/// byte, so quality only affects speed.
fn key_hash(key: &[u8], keep: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ key.len() as u64;
    let byte = |i: usize| key[i] & keep.get(i).copied().unwrap_or(0xff);
    let mut i = 0;
    while i + 8 <= key.len() {
        let mut a = [0u8; 8];
        for (j, b) in a.iter_mut().enumerate() {
            *b = byte(i + j);
        }
        h = (h ^ u64::from_le_bytes(a))
            .wrapping_mul(0x0100_0000_01b3)
            .rotate_left(29);
        i += 8;
    }
    while i < key.len() {
        h = (h ^ byte(i) as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    // Final avalanche (splitmix64).
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Keys of a dump that occur more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepeatedKey {
    /// Index of the first occurrence.
    pub first: u32,
    /// The first [`OCCURRENCES_SHOWN`] occurrences, in dump order.
    pub shown: Vec<u32>,
    /// All occurrences.
    pub count: usize,
    /// Whether `marked` held for some occurrence.
    pub marked: bool,
}

/// Every key of `keys` (those `include` lets through) that occurs more than
/// once, comparing bytes ANDed with `keep` (see [`key_hash`]), ordered by
/// first occurrence. Sorts one 64-bit hash an entry (8 bytes each), then
/// walks the keys once more for the hashes seen twice, confirming byte by
/// byte; per repeated key it keeps a count and a few indexes, so one key
/// repeated through a dump costs no more than a few.
pub(crate) fn repeated_keys(
    keys: &KeyLog,
    keep: &[u8],
    include: &dyn Fn(usize) -> bool,
    marked: &dyn Fn(&[u8]) -> bool,
) -> Vec<RepeatedKey> {
    let n = keys.len().min(u32::MAX as usize);
    let mut hashes: Vec<u64> = (0..n)
        .filter(|&i| include(i))
        .map(|i| key_hash(keys.key(i), keep))
        .collect();
    hashes.sort_unstable();
    let mut twice: HashMap<u64, Vec<RepeatedKey>> = hashes
        .chunk_by(|a, b| a == b)
        .filter(|run| run.len() > 1)
        .map(|run| (run[0], Vec::new()))
        .collect();
    drop(hashes);
    if twice.is_empty() {
        return Vec::new();
    }
    let same = |a: &[u8], b: &[u8]| {
        a.len() == b.len()
            && a.iter().zip(b).enumerate().all(|(i, (x, y))| {
                let k = keep.get(i).copied().unwrap_or(0xff);
                x & k == y & k
            })
    };
    for i in (0..n).filter(|&i| include(i)) {
        let key = keys.key(i);
        let Some(groups) = twice.get_mut(&key_hash(key, keep)) else {
            continue;
        };
        let at = groups
            .iter()
            .position(|g| same(keys.key(g.first as usize), key));
        let g = match at {
            Some(at) => &mut groups[at],
            None => {
                groups.push(RepeatedKey {
                    first: i as u32,
                    shown: Vec::new(),
                    count: 0,
                    marked: false,
                });
                groups.last_mut().expect("just pushed")
            }
        };
        g.count += 1;
        g.marked |= marked(key);
        if g.shown.len() < OCCURRENCES_SHOWN {
            g.shown.push(i as u32);
        }
    }
    let mut out: Vec<RepeatedKey> = twice
        .into_values()
        .flatten()
        .filter(|g| g.count > 1)
        .collect();
    out.sort_unstable_by_key(|g| g.first);
    out
}

/// [`check_duplicate_keys`] over a dump's [`KeyLog`].
pub fn duplicate_keys(keys: &KeyLog, map: Option<MapRef>) -> Vec<Finding> {
    let repeated = repeated_keys(keys, &[], &|_| true, &|_| false);
    let n_groups = repeated.len();
    let extra: usize = repeated.iter().map(|g| g.count - 1).sum();
    let examples: Vec<_> = repeated
        .iter()
        .take(EXAMPLES)
        .map(|g| {
            json!({
                "key": key_text(keys, g.first as usize),
                "count": g.count,
                "indexes": g.shown,
                "at": g.shown.iter().map(|&x| at_json(keys.position(x as usize))).collect::<Vec<_>>(),
            })
        })
        .collect();
    if n_groups == 0 {
        return Vec::new();
    }
    let map_name = map
        .as_ref()
        .map(|m| format!(" of map {}", m.name))
        .unwrap_or_default();
    let evidence = json!({
        "entries": keys.len(),
        "duplicated_keys": n_groups,
        "extra_entries": extra,
        "examples": examples,
    });
    // The BTF-formatted text form prints fields, not bytes: two keys that
    // differ only in padding print alike, so a repeat there does not show
    // that the walk restarted.
    if keys.form() == DumpForm::TextFormatted {
        return vec![Finding::new(
            Code::DumpDuplicateKeys,
            Severity::Warning,
            format!(
                "{n_groups} key(s){map_name} print more than once in the BTF-formatted text dump ({extra} extra entries): this form cannot show padding bytes, so keys that differ only in padding look alike",
            ),
        )
        .with_map(map)
        .with_evidence(evidence)
        .with_fix(
            "Dump the map again with `bpftool -j map dump` (hex bytes): if the keys differ in \
             their padding bytes, they are distinct entries written with uninitialised padding \
             (zero the key struct before filling it); if they are byte for byte equal, the walk \
             restarted because entries were deleted meanwhile.",
        )];
    }
    vec![Finding::new(
        Code::DumpDuplicateKeys,
        Severity::Warning,
        format!(
            "{n_groups} key(s){map_name} appear more than once in the dump ({extra} extra entries): the walk restarted, the dump is not a snapshot",
        ),
    )
    .with_map(map)
    .with_evidence(evidence)
    .with_fix(
        "Entries were deleted while bpftool walked the map (BPF_MAP_GET_NEXT_KEY restarts from \
         the first key when the current one is gone). Count distinct keys only, dump again when \
         the map is quiet, or read it with BPF_MAP_LOOKUP_BATCH.",
    )]
}

/// `dump/truncated` for a dump that stopped early, reported an error part
/// way or lost entries between listing and lookup; `input/unreadable` for a
/// dump that could not be parsed past some point. `file` names the dump.
pub fn check_truncated(dump: &MapDump, file: &str, map: Option<MapRef>) -> Vec<Finding> {
    let mut tally = DumpTally::new(dump.form);
    tally.add(dump);
    truncated(&tally, file, map)
}

/// [`check_truncated`] over a dump's [`DumpTally`].
pub fn truncated(dump: &DumpTally, file: &str, map: Option<MapRef>) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in dump
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Unreadable)
    {
        let why = format!(
            "{} ({} entries read before it)",
            p.message, p.entries_before
        );
        out.push(Finding::unreadable(file, Some(p.position), &why).with_map(map.clone()));
    }
    let stops: Vec<_> = dump
        .problems
        .iter()
        .filter(|p| {
            matches!(
                p.kind,
                ProblemKind::Truncated | ProblemKind::ErrorLine | ProblemKind::LookupFailed
            )
        })
        .collect();
    if stops.is_empty() {
        return out;
    }
    // Counted over every problem, also those past the kept ones.
    let stop_count = dump.problem_count(ProblemKind::Truncated)
        + dump.problem_count(ProblemKind::ErrorLine)
        + dump.problem_count(ProblemKind::LookupFailed);
    let only_lookups = stop_count == dump.problem_count(ProblemKind::LookupFailed);
    let (line, offset) = match stops[0].position {
        Position::Line(l) => (Some(l), None),
        Position::Offset(o) => (None, Some(o)),
    };
    let kind = |k: ProblemKind| match k {
        ProblemKind::Truncated => "truncated",
        ProblemKind::ErrorLine => "error",
        ProblemKind::LookupFailed => "lookup-failed",
        ProblemKind::Unreadable => "unreadable",
    };
    let problems: Vec<_> = stops
        .iter()
        .take(20)
        .map(|p| {
            let mut v = at_json(p.position);
            v["kind"] = json!(kind(p.kind));
            v["message"] = json!(p.message);
            v["entries_before"] = json!(p.entries_before);
            v
        })
        .collect();
    let map_name = map
        .as_ref()
        .map(|m| format!(" of map {}", m.name))
        .unwrap_or_default();
    let first = stops[0];
    let title = if only_lookups {
        format!(
            "{stop_count} entr(y/ies) of the dump{map_name} vanished between listing and lookup"
        )
    } else {
        format!(
            "the dump{map_name} is incomplete: {} (after {} entries)",
            first.message, first.entries_before
        )
    };
    out.push(
        Finding::new(
            Code::DumpTruncated,
            if only_lookups {
                Severity::Info
            } else {
                Severity::Warning
            },
            title,
        )
        .with_map(map)
        .with_evidence(json!({
            "entries_read": dump.entries,
            "found_elements": dump.found,
            "problems": problems,
            "problem_count": stop_count,
        }))
        .with_fix(
            "Findings computed from this dump are lower bounds. Capture the dump again (check \
             bpftool's exit status and stderr, and that the file was written completely).",
        )
        .with_source(SourceRef {
            file: file.to_string(),
            line,
            offset,
            label: first.message.clone(),
            text: None,
        }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dump::EntryValue;

    fn log(keys: &[&[u8]]) -> KeyLog {
        let mut d = MapDump::new(DumpForm::Json);
        for (i, k) in keys.iter().enumerate() {
            d.push_entry(i as u64 * 100, k, EntryValue::Missing);
        }
        let mut log = KeyLog::new(DumpForm::Json);
        log.add(&d);
        log
    }

    #[test]
    fn repeated_keys_are_counted_in_dump_order_with_few_indexes_kept() {
        let mut keys: Vec<&[u8]> = vec![b"bbbbbbbbbb", b"aaaaaaaaaa", b"bbbbbbbbbb", b"cccc"];
        keys.extend(std::iter::repeat(&b"aaaaaaaaaa"[..]).take(20));
        let r = repeated_keys(&log(&keys), &[], &|_| true, &|k| k[0] == b'a');
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].first, r[0].count, r[0].marked), (0, 2, false));
        assert_eq!(r[0].shown, [0, 2]);
        assert_eq!((r[1].first, r[1].count, r[1].marked), (1, 21, true));
        assert_eq!(r[1].shown.len(), OCCURRENCES_SHOWN);
        assert_eq!(r[1].shown[..3], [1, 4, 5]);
    }

    #[test]
    fn masked_bytes_make_keys_equal_and_excluded_keys_are_skipped() {
        // Byte 1 is padding: the two keys differ only there.
        let keys = log(&[&[1, 9, 3], &[1, 0, 3], &[1, 9, 3]]);
        let keep = [0xff, 0x00, 0xff];
        let r = repeated_keys(&keys, &keep, &|_| true, &|k| k[1] != 0);
        assert_eq!((r.len(), r[0].count, r[0].marked), (1, 3, true));
        let r = repeated_keys(&keys, &keep, &|i| i != 0, &|_| false);
        assert_eq!(r[0].shown, [1, 2]);
        assert!(repeated_keys(&keys, &[], &|_| true, &|_| false)[0].shown == [0, 2]);
    }
}
