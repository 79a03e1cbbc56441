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
    let keys = KeyLog::of(dump);
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

/// A key of a dump that occurs more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepeatedKey {
    /// Index of the first occurrence.
    pub first: u32,
    /// The first [`OCCURRENCES_SHOWN`] occurrences, in dump order.
    pub shown: Vec<u32>,
    /// All occurrences.
    pub count: usize,
}

/// What [`repeated_keys`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Repeats {
    /// Keys that occur more than once.
    pub keys: usize,
    /// Occurrences beyond each key's first.
    pub extra: usize,
    /// Occurrences of the repeated keys for which `marked` held once.
    pub in_marked: usize,
    /// The first [`EXAMPLES`] repeated keys, by first occurrence.
    pub examples: Vec<RepeatedKey>,
}

/// Groups whose occurrences are listed: the examples are the first groups
/// made with more than one occurrence, and a group with one occurrence
/// (a hash shared by two different keys) is rare.
const GROUPS_LISTED: usize = 64;

/// The keys of `keys` (those `include` lets through) that occur more than
/// once, comparing bytes ANDed with `keep` (see [`key_hash`]). Sorts one
/// 64-bit hash an entry (8 bytes each), then walks the keys once more for
/// the hashes seen twice, confirming byte by byte; a repeated key costs ~40
/// bytes (its count and first index), and only the first few list their
/// occurrences, so a dump of repeats costs no more than its entries' hashes.
pub(crate) fn repeated_keys(
    keys: &KeyLog,
    keep: &[u8],
    include: &dyn Fn(usize) -> bool,
    marked: &dyn Fn(&[u8]) -> bool,
) -> Repeats {
    /// Keys sharing one hash: a chain through `next`.
    struct Group {
        first: u32,
        next: u32,
        count: usize,
        marked: bool,
    }
    const NONE: u32 = u32::MAX;
    let n = keys.len().min(NONE as usize - 1);
    let mut hashes: Vec<u64> = (0..n)
        .filter(|&i| include(i))
        .map(|i| key_hash(keys.key(i), keep))
        .collect();
    hashes.sort_unstable();
    let mut heads: HashMap<u64, u32> = hashes
        .chunk_by(|a, b| a == b)
        .filter(|run| run.len() > 1)
        .map(|run| (run[0], NONE))
        .collect();
    drop(hashes);
    if heads.is_empty() {
        return Repeats::default();
    }
    let same = |a: &[u8], b: &[u8]| {
        a.len() == b.len()
            && a.iter().zip(b).enumerate().all(|(i, (x, y))| {
                let k = keep.get(i).copied().unwrap_or(0xff);
                x & k == y & k
            })
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut shown: Vec<Vec<u32>> = Vec::new();
    for i in (0..n).filter(|&i| include(i)) {
        let key = keys.key(i);
        let Some(head) = heads.get_mut(&key_hash(key, keep)) else {
            continue;
        };
        let mut at = *head;
        while at != NONE && !same(keys.key(groups[at as usize].first as usize), key) {
            at = groups[at as usize].next;
        }
        if at == NONE {
            // Groups are made in dump order: by first occurrence.
            at = groups.len() as u32;
            groups.push(Group {
                first: i as u32,
                next: *head,
                count: 0,
                marked: false,
            });
            *head = at;
            if shown.len() < GROUPS_LISTED {
                shown.push(Vec::new());
            }
        }
        let g = &mut groups[at as usize];
        g.count += 1;
        g.marked |= marked(key);
        if let Some(s) = shown.get_mut(at as usize) {
            if s.len() < OCCURRENCES_SHOWN {
                s.push(i as u32);
            }
        }
    }
    let mut out = Repeats::default();
    for (at, g) in groups.iter().enumerate().filter(|(_, g)| g.count > 1) {
        out.keys += 1;
        out.extra += g.count - 1;
        if g.marked {
            out.in_marked += g.count;
        }
        if out.examples.len() < EXAMPLES {
            out.examples.push(RepeatedKey {
                first: g.first,
                shown: shown.get(at).cloned().unwrap_or_default(),
                count: g.count,
            });
        }
    }
    out
}

/// [`check_duplicate_keys`] over a dump's [`KeyLog`].
pub fn duplicate_keys(keys: &KeyLog, map: Option<MapRef>) -> Vec<Finding> {
    let repeated = repeated_keys(keys, &[], &|_| true, &|_| false);
    let (n_groups, extra) = (repeated.keys, repeated.extra);
    let examples: Vec<_> = repeated
        .examples
        .iter()
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
        KeyLog::of(&d)
    }

    #[test]
    fn repeated_keys_are_counted_in_dump_order_with_few_indexes_kept() {
        let mut keys: Vec<&[u8]> = vec![b"bbbbbbbbbb", b"aaaaaaaaaa", b"bbbbbbbbbb", b"cccc"];
        keys.extend(std::iter::repeat(&b"aaaaaaaaaa"[..]).take(20));
        let r = repeated_keys(&log(&keys), &[], &|_| true, &|k| k[0] == b'a');
        assert_eq!((r.keys, r.extra, r.in_marked), (2, 1 + 20, 21));
        let e = &r.examples;
        assert_eq!((e[0].first, e[0].count), (0, 2));
        assert_eq!(e[0].shown, [0, 2]);
        assert_eq!((e[1].first, e[1].count), (1, 21));
        assert_eq!(e[1].shown.len(), OCCURRENCES_SHOWN);
        assert_eq!(e[1].shown[..3], [1, 4, 5]);
    }

    #[test]
    fn masked_bytes_make_keys_equal_and_excluded_keys_are_skipped() {
        // Byte 1 is padding: the two keys differ only there.
        let keys = log(&[&[1, 9, 3], &[1, 0, 3], &[1, 9, 3]]);
        let keep = [0xff, 0x00, 0xff];
        let r = repeated_keys(&keys, &keep, &|_| true, &|k| k[1] != 0);
        assert_eq!((r.keys, r.examples[0].count, r.in_marked), (1, 3, 3));
        let r = repeated_keys(&keys, &keep, &|i| i != 0, &|_| false);
        assert_eq!(
            (r.examples[0].shown.as_slice(), r.in_marked),
            (&[1, 2][..], 0)
        );
        assert_eq!(
            repeated_keys(&keys, &[], &|_| true, &|_| false).examples[0].shown,
            [0, 2]
        );
    }

    #[test]
    fn every_key_repeated_costs_counts_not_lists() {
        let owned: Vec<[u8; 4]> = (0..5000u32).map(|i| (i / 2).to_le_bytes()).collect();
        let keys: Vec<&[u8]> = owned.iter().map(|k| &k[..]).collect();
        let r = repeated_keys(&log(&keys), &[], &|_| true, &|_| false);
        assert_eq!((r.keys, r.extra), (2500, 2500));
        assert_eq!(r.examples.len(), EXAMPLES);
        assert_eq!(r.examples[2].shown, [4, 5]);
    }
}
