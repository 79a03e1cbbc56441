//! Map dumps: the entries `bpftool map dump` printed, stored compactly.
//!
//! Key and value bytes of every entry live in one arena (`Vec<u8>`) with a
//! fixed-size span per entry, so a million-entry dump costs its bytes plus
//! 32 bytes an entry, not a heap allocation per key. Entries that bpftool
//! printed only in BTF-formatted text form (no hex) keep their formatted key
//! and value as compact JSON text in the same arena.

use crate::model::finding::Position;

/// How the dump was printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DumpForm {
    /// `bpftool -j` / `-p map dump`: hex byte arrays (plus `formatted` with BTF).
    Json,
    /// `bpftool map dump` of a map without BTF: `key: .. value: ..` hex lines.
    TextHex,
    /// `bpftool map dump` of a map with BTF: JSON-like text, no raw bytes.
    TextFormatted,
}

/// What a [`DumpProblem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// bpftool printed `Error: ..` (text) or an `{"error": ..}` element (JSON).
    ErrorLine,
    /// An entry's key was listed but its value lookup failed (`<no entry>`):
    /// the entry was deleted while the dump walked the map.
    LookupFailed,
    /// The input ends inside an entry or without closing the dump.
    Truncated,
    /// An entry could not be parsed; reading stopped there.
    Unreadable,
}

/// Something wrong with the dump itself, at a place in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpProblem {
    pub kind: ProblemKind,
    /// Line (text dumps) or byte offset (JSON dumps) where it was seen.
    pub position: Position,
    pub message: String,
    /// How many entries were read before it.
    pub entries_before: usize,
}

/// Per-entry flags in [`EntrySpan::flags`].
pub(crate) const FLAG_FORMATTED: u16 = 1;
pub(crate) const FLAG_NO_VALUE: u16 = 2;

/// Where one entry's bytes are in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntrySpan {
    start: u64,
    /// Line (text) or byte offset (JSON) of the entry in its input.
    position: u64,
    key_len: u32,
    /// Length of one value (one CPU's value for per-CPU maps).
    value_len: u32,
    /// Number of per-CPU values; 0 for a single value.
    cpus: u16,
    flags: u16,
}

/// The values of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryValue<'d> {
    /// One value (every map type except per-CPU ones).
    Single(&'d [u8]),
    /// One value per possible CPU, CPU 0 first, each `len` bytes.
    PerCpu { bytes: &'d [u8], len: usize },
    /// The key was listed but its value could not be looked up.
    Missing,
}

impl<'d> EntryValue<'d> {
    /// Per-CPU values, or the single value as a one-element list.
    pub fn cpu_values(&self) -> Vec<&'d [u8]> {
        match *self {
            EntryValue::Single(v) => vec![v],
            EntryValue::PerCpu { bytes, len } if len > 0 => bytes.chunks(len).collect(),
            EntryValue::PerCpu { bytes, .. } => vec![bytes],
            EntryValue::Missing => Vec::new(),
        }
    }
}

/// One entry of a dump, borrowed from its [`MapDump`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpEntry<'d> {
    /// 0-based position in the dump.
    pub index: usize,
    /// Line (text) or byte offset (JSON) of the entry in its input.
    pub position: Position,
    /// Raw key bytes; for [`DumpForm::TextFormatted`] entries the formatted
    /// key as compact JSON text.
    pub key: &'d [u8],
    pub value: EntryValue<'d>,
    /// True when `key`/`value` hold bpftool's formatted JSON text, not bytes.
    pub formatted: bool,
}

/// A whole map dump: entries in dump order, the trailer, and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDump {
    pub form: DumpForm,
    arena: Vec<u8>,
    spans: Vec<EntrySpan>,
    /// `Found N elements` (text hex dumps only).
    pub found: Option<u64>,
    /// The first [`PROBLEMS_KEPT`] problems, in input order; all of them
    /// are counted in [`MapDump::problem_count`].
    pub problems: Vec<DumpProblem>,
    /// Problems seen of each [`ProblemKind`] (indexed by `kind as usize`),
    /// also those past [`PROBLEMS_KEPT`].
    problem_counts: [u64; 4],
}

/// Problems a dump keeps with their message and place; past this only the
/// counts go up. A forged dump can have a bad entry per line: the list must
/// not grow with the input (`docs/reliability.md`, evidence bounds).
pub const PROBLEMS_KEPT: usize = 32;

impl MapDump {
    /// An empty dump of the given form.
    pub fn new(form: DumpForm) -> Self {
        MapDump {
            form,
            arena: Vec::new(),
            spans: Vec::new(),
            found: None,
            problems: Vec::new(),
            problem_counts: [0; 4],
        }
    }

    /// Number of entries read.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Entry `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<DumpEntry<'_>> {
        let s = self.spans.get(index)?;
        let start = s.start as usize;
        let key_end = start + s.key_len as usize;
        let key = &self.arena[start..key_end];
        let position = match self.form {
            DumpForm::Json => Position::Offset(s.position),
            _ => Position::Line(u32::try_from(s.position).unwrap_or(u32::MAX)),
        };
        let value = if s.flags & FLAG_NO_VALUE != 0 {
            EntryValue::Missing
        } else if s.cpus == 0 {
            EntryValue::Single(&self.arena[key_end..key_end + s.value_len as usize])
        } else {
            let n = s.value_len as usize * s.cpus as usize;
            EntryValue::PerCpu {
                bytes: &self.arena[key_end..key_end + n],
                len: s.value_len as usize,
            }
        };
        Some(DumpEntry {
            index,
            position,
            key,
            value,
            formatted: s.flags & FLAG_FORMATTED != 0,
        })
    }

    /// Every entry, in dump order.
    pub fn entries(&self) -> impl Iterator<Item = DumpEntry<'_>> + '_ {
        (0..self.spans.len()).filter_map(|i| self.get(i))
    }

    /// Key size of the first byte-form entry (all entries of a map share it).
    pub fn key_size(&self) -> Option<usize> {
        self.spans
            .iter()
            .find(|s| s.flags & FLAG_FORMATTED == 0)
            .map(|s| s.key_len as usize)
    }

    /// Value size of the first byte-form entry with a value.
    pub fn value_size(&self) -> Option<usize> {
        self.spans
            .iter()
            .find(|s| s.flags & (FLAG_FORMATTED | FLAG_NO_VALUE) == 0)
            .map(|s| s.value_len as usize)
    }

    /// Number of per-CPU values of the first per-CPU entry (None: not per-CPU).
    pub fn cpus(&self) -> Option<usize> {
        self.spans
            .iter()
            .find(|s| s.cpus > 0 && s.flags & FLAG_FORMATTED == 0)
            .map(|s| s.cpus as usize)
    }

    /// Bytes held by the arena and the span table (what the entries cost).
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.spans.capacity() * std::mem::size_of::<EntrySpan>()
    }

    /// Appends an entry whose key is already at the end of the arena (see
    /// [`MapDump::arena_mut`]) starting at `start`, followed by `cpus` values
    /// (or one when `cpus == 0`) of `value_len` bytes each.
    pub(crate) fn push_span(
        &mut self,
        start: usize,
        position: u64,
        key_len: usize,
        value_len: usize,
        cpus: usize,
        flags: u16,
    ) {
        self.spans.push(EntrySpan {
            start: start as u64,
            position,
            key_len: key_len as u32,
            value_len: value_len as u32,
            cpus: cpus.min(u16::MAX as usize) as u16,
            flags,
        });
    }

    /// The arena, for ingest code that writes an entry's bytes in place.
    pub(crate) fn arena_mut(&mut self) -> &mut Vec<u8> {
        &mut self.arena
    }

    /// Appends a byte-form entry.
    pub fn push_entry(&mut self, position: u64, key: &[u8], value: EntryValue<'_>) {
        let start = self.arena.len();
        self.arena.extend_from_slice(key);
        match value {
            EntryValue::Single(v) => {
                self.arena.extend_from_slice(v);
                self.push_span(start, position, key.len(), v.len(), 0, 0);
            }
            EntryValue::PerCpu { bytes, len } => {
                self.arena.extend_from_slice(bytes);
                let cpus = bytes.len().checked_div(len).unwrap_or(0);
                self.push_span(start, position, key.len(), len, cpus.max(1), 0);
            }
            EntryValue::Missing => {
                self.push_span(start, position, key.len(), 0, 0, FLAG_NO_VALUE);
            }
        }
    }

    /// Appends a formatted-text entry (key and value as compact JSON text;
    /// for per-CPU maps `value` is the whole `values` array, one "CPU").
    pub fn push_formatted(&mut self, position: u64, key: &str, value: &str, per_cpu: bool) {
        let start = self.arena.len();
        self.arena.extend_from_slice(key.as_bytes());
        self.arena.extend_from_slice(value.as_bytes());
        let cpus = usize::from(per_cpu);
        self.push_span(
            start,
            position,
            key.len(),
            value.len(),
            cpus,
            FLAG_FORMATTED,
        );
    }

    /// Moves every entry and problem of `other` (read after `self`) to the end.
    pub fn append(&mut self, other: MapDump) {
        let shift = self.arena.len() as u64;
        let before = self.spans.len();
        self.arena.extend_from_slice(&other.arena);
        self.spans.extend(other.spans.into_iter().map(|mut s| {
            s.start += shift;
            s
        }));
        let room = PROBLEMS_KEPT.saturating_sub(self.problems.len());
        self.problems
            .extend(other.problems.into_iter().take(room).map(|mut p| {
                p.entries_before += before;
                p
            }));
        for (mine, theirs) in self.problem_counts.iter_mut().zip(other.problem_counts) {
            *mine = mine.saturating_add(theirs);
        }
        if other.found.is_some() {
            self.found = other.found;
        }
    }

    /// Records a problem seen after the current last entry.
    /// Only the first [`PROBLEMS_KEPT`] are kept; every one is counted.
    pub fn problem(&mut self, kind: ProblemKind, position: Position, message: impl Into<String>) {
        let count = &mut self.problem_counts[kind as usize];
        *count = count.saturating_add(1);
        if self.problems.len() < PROBLEMS_KEPT {
            self.problems.push(DumpProblem {
                kind,
                position,
                message: message.into(),
                entries_before: self.spans.len(),
            });
        }
    }

    /// How many problems of `kind` the dump had, kept or not.
    pub fn problem_count(&self, kind: ProblemKind) -> u64 {
        self.problem_counts[kind as usize]
    }
}

/// What a dump says about itself besides its entries' bytes: how many were
/// read, the trailer and the problems, gathered batch by batch (see
/// `ingest::bpftool_json::read_dump_batches`) so the entries need not be
/// kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpTally {
    pub form: DumpForm,
    /// Entries read.
    pub entries: usize,
    /// `Found N elements` (text hex dumps only).
    pub found: Option<u64>,
    /// The first [`PROBLEMS_KEPT`] problems, `entries_before` counted from
    /// the dump's first entry.
    pub problems: Vec<DumpProblem>,
    problem_counts: [u64; 4],
}

impl DumpTally {
    /// Nothing read yet.
    pub fn new(form: DumpForm) -> Self {
        DumpTally {
            form,
            entries: 0,
            found: None,
            problems: Vec::new(),
            problem_counts: [0; 4],
        }
    }

    /// Counts `batch`, read after everything added so far.
    pub fn add(&mut self, batch: &MapDump) {
        self.form = batch.form;
        let room = PROBLEMS_KEPT.saturating_sub(self.problems.len());
        self.problems
            .extend(batch.problems.iter().take(room).map(|p| DumpProblem {
                entries_before: p.entries_before + self.entries,
                ..p.clone()
            }));
        for (mine, theirs) in self.problem_counts.iter_mut().zip(batch.problem_counts) {
            *mine = mine.saturating_add(theirs);
        }
        if batch.found.is_some() {
            self.found = batch.found;
        }
        self.entries += batch.len();
    }

    /// How many problems of `kind` the dump had, kept or not.
    pub fn problem_count(&self, kind: ProblemKind) -> u64 {
        self.problem_counts[kind as usize]
    }
}

/// Bytes per block of a [`KeyLog`].
const KEY_BLOCK: usize = 1 << 20;
/// Positions per block of a [`KeyLog`].
const POSITION_BLOCK: usize = 1 << 16;

/// The keys of a dump in dump order, with each entry's place in its input:
/// what the checks that compare keys across the whole dump need (repeated
/// keys, keys equal once padding is cleared, a trace's present keys),
/// without the values. Keys of one size (every real dump) cost their bytes
/// plus 4 bytes of position an entry; storage grows by blocks, never by
/// reallocating what is held.
#[derive(Debug, Clone)]
pub struct KeyLog {
    form: DumpForm,
    blocks: Vec<Vec<u8>>,
    /// The size every key has so far; `None` once two sizes were seen (or
    /// before the first key), when `spans` locates each key.
    fixed: Option<usize>,
    /// Per key: block, offset in it, length. Empty while `fixed` holds.
    spans: Vec<(u32, u32, u32)>,
    /// Low 32 bits of each entry's position (see [`KeyLog::position`]).
    positions: Vec<Vec<u32>>,
    /// Where the high 32 bits of the positions change: (first entry, high
    /// bits). Positions ascend, so this grows once per 4 GiB of input.
    position_highs: Vec<(usize, u32)>,
    /// One bit per key: printed only as formatted text (no bytes).
    formatted: Vec<u64>,
    len: usize,
}

impl KeyLog {
    /// An empty log of a dump printed in `form`.
    pub fn new(form: DumpForm) -> Self {
        KeyLog {
            form,
            blocks: Vec::new(),
            fixed: None,
            spans: Vec::new(),
            positions: Vec::new(),
            position_highs: Vec::new(),
            formatted: Vec::new(),
            len: 0,
        }
    }

    /// The keys of a whole dump.
    pub fn of(dump: &MapDump) -> Self {
        let mut log = KeyLog::new(dump.form);
        log.add(dump);
        log
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds every key of `batch`, read after the keys so far.
    pub fn add(&mut self, batch: &MapDump) {
        self.form = batch.form;
        for e in batch.entries() {
            self.push(e.key, e.position, e.formatted);
        }
    }

    fn push(&mut self, key: &[u8], position: Position, formatted: bool) {
        let i = self.len;
        if self.len == 0 {
            self.fixed = Some(key.len());
        }
        if self.fixed.is_some_and(|n| n != key.len()) {
            // From here on every key is located by a span: the earlier ones
            // get theirs from the fixed layout.
            let n = self.fixed.take().unwrap_or(0);
            self.spans = (0..i).map(|j| self.fixed_span(j, n)).collect();
        }
        let fits = |b: &Vec<u8>| b.len() + key.len() <= b.capacity();
        let fixed_full = self
            .fixed
            .is_some_and(|n| n > 0 && i % self.per_block(n) == 0);
        if self.blocks.last().map_or(true, |b| !fits(b)) || fixed_full {
            self.blocks
                .push(Vec::with_capacity(KEY_BLOCK.max(key.len())));
        }
        let b = self.blocks.len() - 1;
        let block = &mut self.blocks[b];
        let offset = block.len();
        block.extend_from_slice(key);
        if self.fixed.is_none() {
            self.spans.push((b as u32, offset as u32, key.len() as u32));
        }
        if i % POSITION_BLOCK == 0 {
            self.positions.push(Vec::with_capacity(POSITION_BLOCK));
        }
        let raw = match position {
            Position::Offset(o) => o,
            Position::Line(l) => l as u64,
        };
        let high = (raw >> 32) as u32;
        if self
            .position_highs
            .last()
            .map_or(high != 0, |&(_, h)| h != high)
        {
            self.position_highs.push((i, high));
        }
        if let Some(p) = self.positions.last_mut() {
            p.push(raw as u32);
        }
        if i % 64 == 0 {
            self.formatted.push(0);
        }
        if formatted {
            if let Some(w) = self.formatted.last_mut() {
                *w |= 1 << (i % 64);
            }
        }
        self.len += 1;
    }

    /// Keys of size `n` per block in the fixed layout.
    fn per_block(&self, n: usize) -> usize {
        (KEY_BLOCK / n.max(1)).max(1)
    }

    fn fixed_span(&self, i: usize, n: usize) -> (u32, u32, u32) {
        if n == 0 {
            return (0, 0, 0);
        }
        let per = self.per_block(n);
        ((i / per) as u32, ((i % per) * n) as u32, n as u32)
    }

    /// Key `i` (raw bytes, or formatted text for formatted entries).
    pub fn key(&self, i: usize) -> &[u8] {
        let (b, o, n) = match self.fixed {
            Some(n) => self.fixed_span(i, n),
            None => self.spans.get(i).copied().unwrap_or((0, 0, 0)),
        };
        self.blocks
            .get(b as usize)
            .and_then(|blk| blk.get(o as usize..o as usize + n as usize))
            .unwrap_or_default()
    }

    /// Where entry `i` was in its input.
    pub fn position(&self, i: usize) -> Position {
        let low = self
            .positions
            .get(i / POSITION_BLOCK)
            .and_then(|p| p.get(i % POSITION_BLOCK))
            .copied()
            .unwrap_or(0);
        let at = self.position_highs.partition_point(|&(from, _)| from <= i);
        let high = at.checked_sub(1).map_or(0, |at| self.position_highs[at].1);
        let raw = (high as u64) << 32 | low as u64;
        match self.form {
            DumpForm::Json => Position::Offset(raw),
            _ => Position::Line(u32::try_from(raw).unwrap_or(u32::MAX)),
        }
    }

    /// Whether key `i` is formatted text rather than bytes.
    pub fn is_formatted(&self, i: usize) -> bool {
        self.formatted
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// The keys given as bytes (formatted ones left out), in dump order.
    pub fn byte_keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len)
            .filter(|&i| !self.is_formatted(i))
            .map(|i| self.key(i))
    }

    /// The printed form of the dump.
    pub fn form(&self) -> DumpForm {
        self.form
    }

    /// Bytes held (what the log costs).
    pub fn heap_bytes(&self) -> usize {
        self.blocks.iter().map(Vec::capacity).sum::<usize>()
            + self
                .positions
                .iter()
                .map(|p| p.capacity() * 8)
                .sum::<usize>()
            + self.spans.capacity() * 12
            + self.formatted.capacity() * 8
    }
}

/// Splits a raw per-CPU lookup buffer as the kernel fills it (what
/// `bpf_map_lookup_elem` writes for a per-CPU map): `possible_cpus` values,
/// each at an 8-byte-aligned stride (`round_up(value_size, 8)`), returning
/// each CPU's `value_size` bytes. `None` when the buffer is too small.
pub fn split_percpu_buffer(
    buf: &[u8],
    possible_cpus: usize,
    value_size: usize,
) -> Option<Vec<&[u8]>> {
    let stride = crate::model::map::percpu_stride(value_size as u64) as usize;
    let need = stride.checked_mul(possible_cpus)?;
    if buf.len() < need {
        return None;
    }
    Some(
        (0..possible_cpus)
            .map(|i| &buf[i * stride..i * stride + value_size])
            .collect(),
    )
}

/// Lower-case hex with a space between bytes, as bpftool prints them.
pub fn hex_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_the_arena() {
        let mut d = MapDump::new(DumpForm::Json);
        d.push_entry(0, &[1, 2], EntryValue::Single(&[3, 4, 5]));
        d.push_entry(
            10,
            &[9, 9],
            EntryValue::PerCpu {
                bytes: &[1, 1, 2, 2],
                len: 2,
            },
        );
        d.push_entry(20, &[7, 7], EntryValue::Missing);
        let e: Vec<_> = d.entries().collect();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].key, &[1, 2]);
        assert_eq!(e[0].value, EntryValue::Single(&[3, 4, 5]));
        assert_eq!(e[1].value.cpu_values(), vec![&[1u8, 1][..], &[2, 2][..]]);
        assert_eq!(e[2].value, EntryValue::Missing);
        assert_eq!(e[2].position, Position::Offset(20));
        assert_eq!(d.key_size(), Some(2));
        assert_eq!(d.value_size(), Some(3));
        assert_eq!(d.cpus(), Some(2));
    }

    #[test]
    fn percpu_buffer_uses_the_8_byte_stride() {
        // value_size 20 -> stride 24: CPU 1 starts at byte 24, not 20.
        let mut buf = vec![0u8; 48];
        buf[24] = 7;
        let v = split_percpu_buffer(&buf, 2, 20).unwrap();
        assert_eq!((v.len(), v[1][0], v[1].len()), (2, 7, 20));
        assert!(split_percpu_buffer(&buf[..40], 2, 20).is_none());
    }

    /// One bad entry per line of a forged dump: the list stops at
    /// PROBLEMS_KEPT, the counts go on (also through `append`).
    #[test]
    fn problems_are_kept_up_to_a_bound_and_counted() {
        let mut a = MapDump::new(DumpForm::TextHex);
        for line in 0..100_000 {
            a.problem(ProblemKind::LookupFailed, Position::Line(line), "gone");
        }
        a.problem(ProblemKind::Truncated, Position::Line(100_001), "cut");
        assert_eq!(a.problems.len(), PROBLEMS_KEPT);
        assert_eq!(a.problems[0].position, Position::Line(0));
        assert_eq!(a.problem_count(ProblemKind::LookupFailed), 100_000);
        assert_eq!(a.problem_count(ProblemKind::Truncated), 1);
        let mut b = MapDump::new(DumpForm::TextHex);
        b.problem(ProblemKind::ErrorLine, Position::Line(1), "x");
        a.append(b);
        assert_eq!(a.problems.len(), PROBLEMS_KEPT);
        assert_eq!(a.problem_count(ProblemKind::ErrorLine), 1);
        // Room left is filled from the appended dump.
        let mut c = MapDump::new(DumpForm::TextHex);
        let mut d = MapDump::new(DumpForm::TextHex);
        d.problem(ProblemKind::ErrorLine, Position::Line(1), "y");
        c.append(d);
        assert_eq!(
            (c.problems.len(), c.problem_count(ProblemKind::ErrorLine)),
            (1, 1)
        );
    }

    #[test]
    fn key_log_keeps_every_key_and_position_across_blocks_and_sizes() {
        let mut d = MapDump::new(DumpForm::Json);
        let n = 3 * (KEY_BLOCK / 12) + 7;
        for i in 0..n as u64 {
            let mut k = [0u8; 12];
            k[..8].copy_from_slice(&i.to_le_bytes());
            d.push_entry(i * 10, &k, EntryValue::Missing);
        }
        d.push_entry(1, &[1, 2, 3], EntryValue::Single(&[0]));
        d.push_formatted(2, "{\"a\":1}", "{}", false);
        let mut log = KeyLog::of(&d);
        assert_eq!(log.len(), n + 2);
        for i in [0, 1, KEY_BLOCK / 12 - 1, KEY_BLOCK / 12, n - 1] {
            assert_eq!(&log.key(i)[..8], &(i as u64).to_le_bytes(), "key {i}");
            assert_eq!(log.position(i), Position::Offset(i as u64 * 10));
        }
        assert_eq!(log.key(n), &[1, 2, 3]);
        assert_eq!(log.key(n + 1), b"{\"a\":1}");
        assert!(log.is_formatted(n + 1) && !log.is_formatted(n));
        assert_eq!(log.byte_keys().count(), n + 1);
        let mut far = MapDump::new(DumpForm::Json);
        far.push_entry(5 << 32 | 7, &[1], EntryValue::Missing);
        far.push_entry(5 << 32 | 9, &[2], EntryValue::Missing);
        log.add(&far);
        assert_eq!(log.position(n + 2), Position::Offset(5 << 32 | 7));
        assert_eq!(log.position(n + 3), Position::Offset(5 << 32 | 9));
        assert_eq!(log.position(n - 1), Position::Offset((n as u64 - 1) * 10));
        // Out of range is empty, never a panic.
        assert_eq!(log.key(n + 4), &[] as &[u8]);
        let mut tally = DumpTally::new(DumpForm::Json);
        tally.add(&d);
        let mut b = MapDump::new(DumpForm::Json);
        b.problem(ProblemKind::Truncated, Position::Offset(9), "cut");
        tally.add(&b);
        assert_eq!(tally.entries, n + 2);
        assert_eq!(tally.problems[0].entries_before, n + 2);
        assert_eq!(tally.problem_count(ProblemKind::Truncated), 1);
    }

    #[test]
    fn append_shifts_spans_and_problem_counts() {
        let mut a = MapDump::new(DumpForm::Json);
        a.push_entry(0, &[1], EntryValue::Single(&[2]));
        let mut b = MapDump::new(DumpForm::Json);
        b.push_entry(5, &[3], EntryValue::Single(&[4]));
        b.problem(ProblemKind::ErrorLine, Position::Offset(9), "x");
        a.append(b);
        assert_eq!(a.get(1).unwrap().key, &[3]);
        assert_eq!(a.problems[0].entries_before, 2);
        assert_eq!(hex_bytes(&[0, 0xab]), "00 ab");
    }
}
