//! `dump/key-padding-garbage`, `dump/value-padding-garbage`: entries whose
//! padding bytes are not zero.
//!
//! Padding is every bit no member covers ([`Layout::uncovered_bits`]),
//! including the spare bits of a partly used byte next to a bitfield. Non-zero
//! padding in a key makes two keys that are equal field by field different
//! keys to the kernel (it hashes and compares all `key_size` bytes), so a
//! lookup with a zero-initialised key misses. In a value it is harmless to the
//! kernel but shows uninitialised stack reaching the map.

use std::collections::BTreeSet;

use serde_json::json;

use crate::model::dump::{hex_bytes, EntryValue, KeyLog, MapDump};
use crate::model::finding::{Code, Finding, MapRef, Position, Severity};
use crate::model::layout::Layout;

/// Examples kept per finding.
const EXAMPLES: usize = 3;

/// A padding mask: for each byte, the bits that are padding.
struct PaddingMask {
    mask: Vec<u8>,
}

impl PaddingMask {
    fn new(layout: &Layout) -> Option<Self> {
        let size = usize::try_from(layout.size).ok()?;
        let mut mask = vec![0u8; size];
        let total_bits = size as u64 * 8;
        for (start, bits) in layout.uncovered_bits() {
            // Only bits inside the type: a member placed far past its end
            // must not make this loop run over its offset.
            for bit in start.min(total_bits)..start.saturating_add(bits).min(total_bits) {
                let byte = (bit / 8) as usize;
                if let Some(m) = mask.get_mut(byte) {
                    *m |= 1 << (bit % 8);
                }
            }
        }
        mask.iter().any(|&m| m != 0).then_some(PaddingMask { mask })
    }

    /// Byte offsets whose padding bits are not zero in `bytes`.
    fn garbage(&self, bytes: &[u8]) -> Vec<usize> {
        self.mask
            .iter()
            .zip(bytes)
            .enumerate()
            .filter(|(_, (&m, &b))| m & b != 0)
            .map(|(i, _)| i)
            .collect()
    }

    fn has_garbage(&self, bytes: &[u8]) -> bool {
        self.mask.len() == bytes.len() && self.mask.iter().zip(bytes).any(|(m, b)| m & b != 0)
    }

    /// Padding ranges as `{offset, size}` in bytes (partly used bytes count).
    fn byte_ranges(&self) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.mask.len() {
            if self.mask[i] == 0 {
                i += 1;
                continue;
            }
            let start = i;
            while i < self.mask.len() && self.mask[i] != 0 {
                i += 1;
            }
            out.push(json!({ "offset": start, "size": i - start }));
        }
        out
    }
}

fn position_json(p: Position) -> serde_json::Value {
    match p {
        Position::Line(l) => json!({ "line": l }),
        Position::Offset(o) => json!({ "offset": o }),
    }
}

/// Checks the padding of every key (with `key`) and value (with `value`) of
/// a byte-form dump. Formatted-text entries carry no padding and are skipped;
/// entries whose size differs from the layout are skipped (the decode step
/// reports the mismatch). Per-CPU values are checked on every CPU.
pub fn check_padding(
    dump: &MapDump,
    key: Option<&Layout>,
    value: Option<&Layout>,
    map: Option<MapRef>,
) -> Vec<Finding> {
    let keys = KeyLog::of(dump);
    [(key, Side::Key), (value, Side::Value)]
        .into_iter()
        .filter_map(|(layout, side)| {
            let mut check = PaddingCheck::new(layout?, side);
            check.feed(dump, 0);
            check.finish(&keys, map.clone())
        })
        .collect()
}

/// Which half of an entry a [`PaddingCheck`] looks at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Key,
    Value,
}

/// Garbage byte offsets listed in a finding's title and evidence; the count
/// beside them covers all (a value can be megabytes of garbage).
const OFFSETS_LISTED: usize = 64;

/// The mask, once an entry of the layout's size showed it is needed.
enum MaskState {
    /// No entry of the layout's size yet: the mask costs the type's size,
    /// so a huge declared type costs nothing until bytes of that size come
    /// (no allocation follows a size read from the input alone).
    Unbuilt,
    /// The layout has no padding.
    NoPadding,
    Built(PaddingMask),
}

/// The padding check of one side of a dump's entries, fed batch by batch;
/// it keeps counts and the first examples, never the entries.
pub struct PaddingCheck<'a> {
    layout: &'a Layout,
    side: Side,
    mask: MaskState,
    checked: usize,
    bad: usize,
    offsets: BTreeSet<usize>,
    examples: Vec<serde_json::Value>,
}

impl<'a> PaddingCheck<'a> {
    pub fn new(layout: &'a Layout, side: Side) -> Self {
        PaddingCheck {
            layout,
            side,
            mask: MaskState::Unbuilt,
            checked: 0,
            bad: 0,
            offsets: BTreeSet::new(),
            examples: Vec::new(),
        }
    }

    /// Checks the entries of `batch`, whose first entry is entry `base` of
    /// the dump.
    pub fn feed(&mut self, batch: &MapDump, base: usize) {
        let side = self.side;
        for e in batch.entries().filter(|e| !e.formatted) {
            // Fast path without allocation: the bytes to check as one slice
            // and the per-part length (per-CPU values are checked part by part).
            let (all, part_len) = match (side, e.value) {
                (Side::Key, _) => (e.key, e.key.len()),
                (Side::Value, EntryValue::Single(v)) => (v, v.len()),
                (Side::Value, EntryValue::PerCpu { bytes, len }) => (bytes, len),
                (Side::Value, EntryValue::Missing) => continue,
            };
            if matches!(self.mask, MaskState::Unbuilt) && part_len as u64 == self.layout.size {
                self.mask = match PaddingMask::new(self.layout) {
                    Some(m) => MaskState::Built(m),
                    None => MaskState::NoPadding,
                };
            }
            let MaskState::Built(mask) = &self.mask else {
                continue;
            };
            if part_len != mask.mask.len() || part_len == 0 {
                continue;
            }
            self.checked += 1;
            if !all.chunks(part_len).any(|p| mask.has_garbage(p)) {
                continue;
            }
            let parts: Vec<&[u8]> = all.chunks(part_len).collect();
            let garbage: BTreeSet<usize> = parts.iter().flat_map(|p| mask.garbage(p)).collect();
            self.bad += 1;
            self.offsets.extend(garbage.iter().copied());
            if self.examples.len() < EXAMPLES {
                let hex: Vec<String> = parts.iter().map(|p| hex_bytes(p)).collect();
                self.examples.push(json!({
                    "index": base + e.index,
                    "at": position_json(e.position),
                    "hex": if hex.len() == 1 { json!(hex[0]) } else { json!(hex) },
                    "garbage_offsets": garbage.iter().take(OFFSETS_LISTED).collect::<Vec<_>>(),
                }));
            }
        }
    }

    /// The finding, if some entry had non-zero padding. For keys, `keys`
    /// (the dump's keys) tells how many garbage keys equal another key once
    /// padding is cleared: the kernel sees them as distinct.
    pub fn finish(self, keys: &KeyLog, map: Option<MapRef>) -> Option<Finding> {
        let MaskState::Built(mask) = &self.mask else {
            return None;
        };
        if self.bad == 0 {
            return None;
        }
        let (layout, side, checked, bad, examples) = (
            self.layout,
            self.side,
            self.checked,
            self.bad,
            self.examples,
        );
        let colliding = (side == Side::Key).then(|| keys_equal_after_zeroing(keys, mask));
        let offsets = self.offsets;
        let offsets: Vec<usize> = offsets.into_iter().collect();
        let what = match side {
            Side::Key => "keys",
            Side::Value => "values",
        };
        let map_name = map
            .as_ref()
            .map(|m| format!(" of map {}", m.name))
            .unwrap_or_default();
        let mut evidence = json!({
            "type": layout.display_name(),
            "size": layout.size,
            "padding": mask.byte_ranges(),
            "entries_checked": checked,
            "entries_with_garbage": bad,
            "garbage_offsets": offsets.iter().take(OFFSETS_LISTED).collect::<Vec<_>>(),
            "garbage_offset_count": offsets.len(),
            "examples": examples,
        });
        if let Some(n) = colliding {
            evidence["keys_equal_after_zeroing_padding"] = json!(n);
        }
        let (code, severity, fix) = match side {
        Side::Key => (
            Code::DumpKeyPaddingGarbage,
            Severity::Error,
            "Zero the whole key before filling its fields (`memset(&key, 0, sizeof(key))` in C, \
             a zero-value struct in Go, `MaybeUninit::zeroed` in Rust): the kernel hashes and \
             compares all key bytes, so a lookup with zeroed padding misses these entries.",
        ),
        Side::Value => (
            Code::DumpValuePaddingGarbage,
            Severity::Warning,
            "Zero values before filling them (`= {}` / memset): padding bytes leak whatever was on \
             the stack and make byte-wise comparisons of values unreliable.",
        ),
    };
        Some(
            Finding::new(
                code,
                severity,
                format!(
                "{bad} of {checked} {what}{map_name} have non-zero padding at byte offset(s) {}",
                offsets
                    .iter()
                    .take(OFFSETS_LISTED)
                    .map(|o| o.to_string())
                    .chain(
                        (offsets.len() > OFFSETS_LISTED)
                            .then(|| format!("… {} in all", offsets.len()))
                    )
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            )
            .with_map(map)
            .with_evidence(evidence)
            .with_fix(fix),
        )
    }
}

/// How many keys share their bytes, once padding is cleared, with another
/// key, counted over the groups that hold at least one key with garbage
/// padding.
fn keys_equal_after_zeroing(keys: &KeyLog, mask: &PaddingMask) -> usize {
    let n = mask.mask.len();
    let keep: Vec<u8> = mask.mask.iter().map(|m| !m).collect();
    let include = |i: usize| !keys.is_formatted(i) && keys.key(i).len() == n;
    crate::analyses::dump_walk::repeated_keys(keys, &keep, &include, &|k| mask.has_garbage(k))
        .in_marked
}
