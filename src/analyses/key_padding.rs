//! `layout/key-padding`: the key type has holes or trailing padding, so those
//! exact bytes must be zeroed before every lookup, or the kernel (which hashes
//! and compares all key_size bytes) will not find the entry.
//!
//! Padding in a key type is common and harmless when every writer zeroes
//! it, so the finding is `info` until other evidence shows the bytes matter
//! for that map ([`weigh`]).

use serde_json::json;

use crate::model::finding::{Code, Finding, MapRef, Severity};
use crate::model::layout::Layout;

/// Whole padding bytes as `(offset, len)` runs.
pub type ByteRuns = Vec<(u64, u64)>;
/// Partially used bytes as `(offset, mask of unused bits)`.
pub type PartialBytes = Vec<(u64, u8)>;

/// Padding of `key`: runs of whole bytes, then bytes whose bits are only
/// partly used (bitfields).
pub fn padding_ranges(key: &Layout) -> (ByteRuns, PartialBytes) {
    let mut whole: Vec<(u64, u64)> = Vec::new();
    let mut partial: Vec<(u64, u8)> = Vec::new();
    for (start, len) in key.uncovered_bits() {
        let end = start + len;
        let mut b = start;
        while b < end {
            let byte = b / 8;
            let bit = b % 8;
            if bit == 0 && end - b >= 8 {
                let n = (end - b) / 8;
                match whole.last_mut() {
                    Some((o, l)) if *o + *l == byte => *l += n,
                    _ => whole.push((byte, n)),
                }
                b += n * 8;
            } else {
                let upto = end.min((byte + 1) * 8);
                let mut mask = 0u8;
                for i in bit..(upto - byte * 8) {
                    mask |= 1 << i;
                }
                match partial.last_mut() {
                    Some((o, m)) if *o == byte => *m |= mask,
                    _ => partial.push((byte, mask)),
                }
                b = upto;
            }
        }
    }
    (whole, partial)
}

/// The finding for one map's key type, if it has any padding.
pub fn check(map: Option<MapRef>, key: &Layout, origin: &str) -> Option<Finding> {
    let (whole, partial) = padding_ranges(key);
    if whole.is_empty() && partial.is_empty() {
        return None;
    }
    let total: u64 = whole.iter().map(|(_, l)| l).sum();
    let ranges: Vec<String> = whole
        .iter()
        .map(|(o, l)| format!("[{o}, {})", o + l))
        .collect();
    let mut what = Vec::new();
    if total > 0 {
        what.push(format!("{total} padding byte(s) at {}", ranges.join(", ")));
    }
    if !partial.is_empty() {
        what.push(format!("unused bits in {} byte(s)", partial.len()));
    }
    Some(
        Finding::new(
            Code::LayoutKeyPadding,
            Severity::Info,
            format!("key type `{}` ({} bytes) has {}", key.name, key.size, what.join(" and ")),
        )
        .with_map(map)
        .with_evidence(json!({
            "key_type": key.name,
            "key_size": key.size,
            "origin": origin,
            "padding": whole.iter().map(|(o, l)| json!({"offset": o, "size": l})).collect::<Vec<_>>(),
            "padding_bytes": total,
            "partial_bytes": partial.iter().map(|(o, m)| json!({"offset": o, "unused_bit_mask": format!("0x{m:02x}")})).collect::<Vec<_>>(),
            "holes": key.holes.iter().map(|h| json!({"offset": h.offset, "size": h.size})).collect::<Vec<_>>(),
            "trailing_padding": key.padding,
        }))
        .with_fix(format!(
            "Zero the whole {}-byte key before filling it, every time (C: `{} k; memset(&k, 0, sizeof(k));`, \
             Go: start from a zero value and never reuse a buffer with old bytes); the kernel compares all {} bytes.",
            key.size, key.display_name(), key.size
        )),
    )
}

/// The codes whose findings show that a map's key padding matters: garbage
/// in the padding of dumped keys, a traced lookup that missed only because
/// of padding bytes.
const SHOWN_BY: &[Code] = &[
    Code::DumpKeyPaddingGarbage,
    Code::LookupPaddingMiss,
    Code::ProgKeyUninit,
];

/// Raises each `layout/key-padding` to a `warning` when another finding on
/// the same map shows its padding matters ([`SHOWN_BY`]); the evidence then
/// names those codes in `shown_by`. Without such a finding it stays `info`.
pub fn weigh(findings: &mut [Finding]) {
    let shown: Vec<(Code, Option<MapRef>)> = findings
        .iter()
        .filter(|f| SHOWN_BY.contains(&f.code))
        .map(|f| (f.code, f.map.clone()))
        .collect();
    for f in findings
        .iter_mut()
        .filter(|f| f.code == Code::LayoutKeyPadding)
    {
        let mut by: Vec<&'static str> = shown
            .iter()
            .filter(|(_, m)| crate::analyses::dump_capacity::same_map(m.as_ref(), f.map.as_ref()))
            .map(|(c, _)| c.as_str())
            .collect();
        by.sort_unstable();
        by.dedup();
        if by.is_empty() {
            continue;
        }
        f.severity = Severity::Warning;
        f.title = format!("{} ({} shows these bytes matter)", f.title, by.join(", "));
        f.evidence["shown_by"] = json!(by);
    }
}

/// Ties the two sides of a padding problem on one map: each
/// `dump/key-padding-garbage` or `lookup/padding-miss` names, in
/// `evidence.unwritten_by` and its fix, the programs whose own instructions
/// leave key bytes unwritten (`prog/key-uninit` on the same map).
pub fn tie_program_side(findings: &mut [Finding]) {
    let programs: Vec<(Option<MapRef>, serde_json::Value, String)> = findings
        .iter()
        .filter(|f| f.code == Code::ProgKeyUninit)
        .map(|f| {
            let e = &f.evidence;
            let at = match (e["source"]["file"].as_str(), e["source"]["line"].as_u64()) {
                (Some(file), Some(line)) => format!(" ({file}:{line})"),
                _ => String::new(),
            };
            let name = format!("{}{at}", e["program"].as_str().unwrap_or("a program"));
            let entry = json!({
                "program": e["program"],
                "object": e["object"],
                "source": e["source"],
                "paths": e["paths"],
                "unwritten": e["unwritten"],
            });
            (f.map.clone(), entry, name)
        })
        .collect();
    if programs.is_empty() {
        return;
    }
    for f in findings.iter_mut().filter(|f| {
        matches!(
            f.code,
            Code::DumpKeyPaddingGarbage | Code::LookupPaddingMiss
        )
    }) {
        let by: Vec<&(Option<MapRef>, serde_json::Value, String)> = programs
            .iter()
            .filter(|(m, _, _)| {
                crate::analyses::dump_capacity::same_map(m.as_ref(), f.map.as_ref())
            })
            .collect();
        if by.is_empty() {
            continue;
        }
        f.evidence["unwritten_by"] = json!(by.iter().map(|p| p.1.clone()).collect::<Vec<_>>());
        let names: Vec<&str> = by.iter().map(|p| p.2.as_str()).collect();
        let said = format!(
            "{} leaves key bytes unwritten (prog/key-uninit): zero the key there too",
            names.join(", ")
        );
        f.fix = Some(match f.fix.take() {
            Some(fix) => format!("{fix} In the BPF program, {said}."),
            None => format!("In the BPF program, {said}."),
        });
    }
}

/// States the program side on each `layout/key-padding` whose map the
/// case's program code updates (`writers`, by map name, from
/// `prog_uninit::pass`): `evidence.program_side` lists the programs, the
/// update calls checked and whether every one writes every key byte.
/// When all do and none was left out, the title says so: the padding is
/// then a checked statement, not a warning about what might happen. When
/// some update could not be analysed (or a program naming the map was not
/// analysed at all) it says that instead; when some leave key bytes
/// unwritten, `prog/key-uninit` says which and `weigh` raised this one.
pub fn state_program_writers(
    findings: &mut [Finding],
    writers: &crate::analyses::prog_uninit::Writers,
) {
    for f in findings
        .iter_mut()
        .filter(|f| f.code == Code::LayoutKeyPadding)
    {
        let Some(by_object) = f.map.as_ref().and_then(|m| writers.get(&m.name)) else {
            continue;
        };
        // A map laid out from an object's own BTF is that object's map
        // (another object may have one of the same name); any other (a
        // bundle's live map) is the map every object names.
        let origin = f.evidence["origin"].as_str().unwrap_or("");
        let w = match origin
            .strip_prefix("BTF of ")
            .and_then(|o| by_object.get(o))
        {
            Some(w) => w.clone(),
            None if origin.starts_with("BTF of ") => continue,
            None => {
                let mut all = crate::analyses::prog_uninit::MapWriters::default();
                for w in by_object.values() {
                    all.merge(w);
                }
                all
            }
        };
        if w.programs.is_empty() && w.not_analysed == 0 && w.objects_not_analysed == 0 {
            continue;
        }
        let programs: Vec<&str> = w.programs.iter().map(String::as_str).collect();
        let all = w.all_written();
        f.evidence["program_side"] = json!({
            "writers": programs,
            "checked_calls": w.written + w.unwritten,
            "unwritten_calls": w.unwritten,
            "not_analysed_calls": w.not_analysed,
            "objects_with_programs_not_analysed": w.objects_not_analysed,
            "all_bytes_written": if w.unwritten > 0 {
                json!(false)
            } else if all {
                json!(true)
            } else {
                json!(null)
            },
        });
        if all {
            f.title = format!(
                "{}; every program that updates the map ({}) writes every key byte",
                f.title,
                programs.join(", ")
            );
        } else if w.unwritten == 0 {
            let mut why = Vec::new();
            if w.not_analysed > 0 {
                why.push(format!(
                    "{} update call(s) in program code could not be analysed",
                    w.not_analysed
                ));
            }
            if w.objects_not_analysed > 0 {
                why.push(format!(
                    "{} object(s) naming it have programs that were not analysed",
                    w.objects_not_analysed
                ));
            }
            f.title = format!(
                "{}; {}, so whether every writer writes every key byte is not known",
                f.title,
                why.join(" and ")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::layout::{AggregateKind, ByteOrder, FieldType, IntEncoding, Member};

    fn m(name: &str, offset: u64, size: u64, bits: Option<(u64, u32)>) -> Member {
        Member {
            name: name.into(),
            offset,
            bit_offset: bits.map(|b| b.0).unwrap_or(offset * 8),
            size,
            bit_size: bits.map(|b| b.1),
            type_name: "x".into(),
            ty: FieldType::Int {
                size,
                signed: false,
                encoding: IntEncoding::Plain,
                byte_order: ByteOrder::Host,
            },
            source: None,
        }
    }

    #[test]
    fn padding_is_info_until_garbage_or_a_padding_miss_on_that_map_shows_it_matters() {
        let key = Layout::new(
            "k",
            AggregateKind::Struct,
            8,
            vec![m("a", 0, 4, None), m("b", 4, 1, None)],
        )
        .finish();
        let r = |id: u32| {
            Some(MapRef {
                id: Some(id),
                name: "flows".into(),
            })
        };
        let mut f: Vec<Finding> = [1, 2, 3]
            .into_iter()
            .filter_map(|id| check(r(id), &key, "BTF"))
            .collect();
        assert!(f.iter().all(|f| f.severity == Severity::Info));
        f.push(Finding::new(Code::DumpKeyPaddingGarbage, Severity::Error, "g").with_map(r(1)));
        f.push(Finding::new(Code::LookupPaddingMiss, Severity::Error, "p").with_map(r(2)));
        weigh(&mut f);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].evidence["shown_by"],
            json!(["dump/key-padding-garbage"])
        );
        assert!(f[1]
            .title
            .ends_with("(lookup/padding-miss shows these bytes matter)"));
        assert_eq!(f[2].severity, Severity::Info, "same name, another instance");
    }

    #[test]
    fn byte_and_bit_padding_are_told_apart() {
        // u32 a:3 (bits 0..3) in a 4-byte unit; u8 b at offset 4; size 8.
        let l = Layout::new(
            "k",
            AggregateKind::Struct,
            8,
            vec![m("a", 0, 4, Some((0, 3))), m("b", 4, 1, None)],
        )
        .finish();
        let (whole, partial) = padding_ranges(&l);
        assert_eq!(whole, vec![(1, 3), (5, 3)]);
        assert_eq!(partial, vec![(0, 0xf8)]);
    }

    /// The program side and the dump or trace side of one map's padding:
    /// `layout/key-padding` is raised by a `prog/key-uninit`, and the
    /// garbage and the missed lookup name the program that leaves the
    /// bytes unwritten; another map's findings are left as they are.
    #[test]
    fn the_program_side_is_tied_to_the_dump_and_trace_side() {
        let map = |id: Option<u32>, name: &str| {
            Some(MapRef {
                id,
                name: name.into(),
            })
        };
        let prog = Finding::new(Code::ProgKeyUninit, Severity::Error, "on_fork …")
            .with_map(map(None, "tasks"))
            .with_evidence(json!({
                "program": "on_fork", "object": "sched.bpf.o",
                "source": {"file": "./sched.bpf.c", "line": 41}, "paths": "all",
                "unwritten": [{"offset": 4, "len": 4, "covers": "the hole after `pid`", "paths": "all"}],
            }));
        let mut findings = vec![
            Finding::new(
                Code::LayoutKeyPadding,
                Severity::Info,
                "key type `task_key`",
            )
            .with_map(map(Some(7), "tasks")),
            Finding::new(Code::DumpKeyPaddingGarbage, Severity::Error, "garbage")
                .with_map(map(Some(7), "tasks"))
                .with_fix("Zero the whole key."),
            Finding::new(Code::LookupPaddingMiss, Severity::Error, "missed")
                .with_map(map(Some(9), "other")),
            prog,
        ];
        weigh(&mut findings);
        tie_program_side(&mut findings);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert_eq!(
            findings[0].evidence["shown_by"],
            json!(["dump/key-padding-garbage", "prog/key-uninit"])
        );
        let tied = &findings[1];
        assert_eq!(tied.evidence["unwritten_by"][0]["program"], "on_fork");
        assert_eq!(
            tied.evidence["unwritten_by"][0]["unwritten"][0]["offset"],
            4
        );
        assert_eq!(
            tied.fix.as_deref(),
            Some("Zero the whole key. In the BPF program, on_fork (./sched.bpf.c:41) leaves key bytes unwritten (prog/key-uninit): zero the key there too.")
        );
        assert!(findings[2].evidence.get("unwritten_by").is_none());
        assert!(findings[2].fix.is_none());
    }
}
