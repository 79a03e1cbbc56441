//! `dump/duplicate-keys`, `dump/truncated` (and `input/unreadable` for a
//! broken dump): what the dump says about the walk that produced it.
//!
//! bpftool walks a map with `BPF_MAP_GET_NEXT_KEY`; when the current key is
//! deleted meanwhile, the kernel restarts from the first key, so the same key
//! is printed twice and the dump is not a snapshot. A dump that stops part way
//! (`Error:` line, a cut file, fewer entries than `Found N elements`) is
//! incomplete, and every conclusion drawn from it is a lower bound.

use serde_json::json;

use crate::model::dump::{hex_bytes, DumpForm, MapDump, ProblemKind};
use crate::model::finding::{Code, Finding, MapRef, Position, Severity, SourceRef};

/// Example keys kept per finding (the counts cover all of them).
pub const EXAMPLES: usize = 3;

fn key_text(dump: &MapDump, index: usize) -> String {
    match dump.get(index) {
        Some(e) if e.formatted => String::from_utf8_lossy(e.key).into_owned(),
        Some(e) => hex_bytes(e.key),
        None => String::new(),
    }
}

fn at_json(p: Position) -> serde_json::Value {
    match p {
        Position::Line(l) => json!({ "line": l }),
        Position::Offset(o) => json!({ "offset": o }),
    }
}

/// A fast 64-bit hash of a key (FNV-1a over 8-byte words, then mixed).
/// Equal hashes are confirmed byte by byte, so quality only affects speed.
fn key_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ key.len() as u64;
    let mut words = key.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(a))
            .wrapping_mul(0x0100_0000_01b3)
            .rotate_left(29);
    }
    for &b in words.remainder() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    // Final avalanche (splitmix64).
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Occurrences (index and position) listed per example key; the true count
/// is always given beside them, so one key repeated millions of times costs
/// a few hundred bytes of evidence.
pub const OCCURRENCES_SHOWN: usize = 8;

/// Keys that appear more than once (byte for byte; for formatted-text dumps,
/// formatted key for formatted key). Sorts key hashes, so it costs 16 bytes
/// an entry whatever the key size, plus 16 bytes per duplicated key; no
/// per-key list of occurrences is kept beyond [`OCCURRENCES_SHOWN`] for the
/// first [`EXAMPLES`] keys.
pub fn check_duplicate_keys(dump: &MapDump, map: Option<MapRef>) -> Vec<Finding> {
    let mut hashed: Vec<(u64, u32)> = dump
        .entries()
        .map(|e| (key_hash(e.key), e.index as u32))
        .collect();
    hashed.sort_unstable();
    let key_of = |x: u32| dump.get(x as usize).map(|e| e.key).unwrap_or_default();
    // Each duplicated key as (first index, occurrences): runs of equal
    // hashes, split by actual bytes (hash collisions are not duplicates).
    // Within a run indexes ascend, so the first seen is the first in the dump.
    let mut groups: Vec<(u32, usize)> = Vec::new();
    let mut run_keys: Vec<(&[u8], u32, usize)> = Vec::new();
    for run in hashed.chunk_by(|a, b| a.0 == b.0) {
        if run.len() < 2 {
            continue;
        }
        run_keys.clear();
        for &(_, x) in run {
            let k = key_of(x);
            match run_keys.iter_mut().find(|(rk, _, _)| *rk == k) {
                Some((_, _, n)) => *n += 1,
                None => run_keys.push((k, x, 1)),
            }
        }
        groups.extend(
            run_keys
                .iter()
                .filter(|&&(_, _, n)| n > 1)
                .map(|&(_, first, n)| (first, n)),
        );
    }
    if groups.is_empty() {
        return Vec::new();
    }
    groups.sort_unstable();
    let extra: usize = groups.iter().map(|&(_, n)| n - 1).sum();
    let examples: Vec<_> = groups
        .iter()
        .take(EXAMPLES)
        .map(|&(first, count)| {
            // The first occurrences, found again in the sorted hashes.
            let k = key_of(first);
            let h = key_hash(k);
            let from = hashed.partition_point(|&(ph, _)| ph < h);
            let shown: Vec<usize> = hashed[from..]
                .iter()
                .take_while(|&&(ph, _)| ph == h)
                .filter(|&&(_, x)| key_of(x) == k)
                .take(OCCURRENCES_SHOWN)
                .map(|&(_, x)| x as usize)
                .collect();
            json!({
                "key": key_text(dump, first as usize),
                "count": count,
                "indexes": shown,
                "at": shown.iter().filter_map(|&x| dump.get(x)).map(|e| at_json(e.position)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let map_name = map
        .as_ref()
        .map(|m| format!(" of map {}", m.name))
        .unwrap_or_default();
    let evidence = json!({
        "entries": dump.len(),
        "duplicated_keys": groups.len(),
        "extra_entries": extra,
        "examples": examples,
    });
    // The BTF-formatted text form prints fields, not bytes: two keys that
    // differ only in padding print alike, so a repeat there does not show
    // that the walk restarted.
    if dump.form == DumpForm::TextFormatted {
        return vec![Finding::new(
            Code::DumpDuplicateKeys,
            Severity::Warning,
            format!(
                "{} key(s){map_name} print more than once in the BTF-formatted text dump ({extra} extra entries): this form cannot show padding bytes, so keys that differ only in padding look alike",
                groups.len()
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
            "{} key(s){map_name} appear more than once in the dump ({extra} extra entries): the walk restarted, the dump is not a snapshot",
            groups.len()
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
            "entries_read": dump.len(),
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
