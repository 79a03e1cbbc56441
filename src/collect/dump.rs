//! Map dumps: walks a map with `BPF_MAP_LOOKUP_BATCH` (falling back to
//! `GET_NEXT_KEY` + `LOOKUP_ELEM`) and streams the entries in bpftool's `-j
//! map dump` shape: `[{"key":["0x0a",..],"value":[..]},..]`, per-CPU maps with
//! `"values":[{"cpu":0,"value":[..]},..]`. Memory is a few raw batch buffers
//! and one output chunk, whatever the map's size.

use std::collections::HashSet;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use super::sys;
use crate::model::map::{percpu_stride, MapType};

/// Bytes of keys and values one batch holds; with [`BATCHES_IN_FLIGHT`] it
/// bounds the collector's memory. Small enough that the printer starts soon
/// after the walk does, large enough that syscalls are few.
const BATCH_BYTES: usize = 512 << 10;
/// Output is handed to the writer in chunks of about this size.
const CHUNK_BYTES: usize = 1 << 20;

/// How to read and print one map's entries.
#[derive(Debug, Clone)]
pub struct DumpSpec {
    pub map_type: MapType,
    pub key_size: usize,
    pub value_size: usize,
    pub max_entries: u32,
    /// Possible CPUs: the number of values a per-CPU lookup returns.
    pub possible_cpus: usize,
    /// Per-byte AND masks applied before printing (`--redact`): 0xff keeps a
    /// byte, 0x00 zeroes it. `None` prints the bytes as read.
    pub key_mask: Option<Vec<u8>>,
    pub value_mask: Option<Vec<u8>>,
    /// Use `BPF_MAP_LOOKUP_BATCH` where the type supports it (`--no-batch`
    /// clears this, to compare methods or work around a kernel bug).
    pub allow_batch: bool,
}

impl DumpSpec {
    fn percpu(&self) -> bool {
        self.map_type.is_percpu()
    }

    /// Bytes one lookup writes for one value.
    fn value_buf_len(&self) -> usize {
        if self.percpu() {
            self.possible_cpus * percpu_stride(self.value_size as u64) as usize
        } else {
            self.value_size
        }
    }
}

/// What stops a dump early.
pub struct DumpLimits<'a> {
    /// Most entries to write (`--max-entries`).
    pub max_entries: Option<u64>,
    /// Stop when this instant has passed (`--time-budget`).
    pub deadline: Instant,
    /// Set by SIGINT/SIGTERM.
    pub stop: &'a AtomicBool,
    /// Output bytes still allowed (`--max-bytes`).
    pub bytes_left: Option<u64>,
}

/// Which limit cut a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    MaxEntries,
    MaxBytes,
    TimeBudget,
    Interrupted,
    /// A GET_NEXT_KEY walk took more steps than the map can hold entries
    /// (restarts by concurrent deletes); stopped so it cannot loop forever.
    WalkSteps,
}

impl Cut {
    /// The `limits_hit.limit` name.
    pub fn name(self) -> &'static str {
        match self {
            Cut::MaxEntries => "max-entries",
            Cut::MaxBytes => "max-bytes",
            Cut::TimeBudget => "time-budget",
            Cut::Interrupted => "interrupted",
            Cut::WalkSteps => "walk-steps",
        }
    }
}

/// How a map was read: `batch` or `get_next_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpMethod {
    Batch,
    GetNextKey,
}

impl DumpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DumpMethod::Batch => "batch",
            DumpMethod::GetNextKey => "get_next_key",
        }
    }
}

/// The outcome of one dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpStats {
    pub method: DumpMethod,
    pub entries: u64,
    pub bytes: u64,
    pub vanished_keys: u64,
    pub walk_restarts: u64,
    pub cut: Option<Cut>,
    /// Why a batch walk was abandoned for GET_NEXT_KEY, if it was.
    pub batch_fallback: Option<String>,
    /// A syscall error that ended the walk early; the entries before it are kept.
    pub error: Option<String>,
}

/// Map types that have keys and values a lookup can return; anything else is
/// skipped with this reason.
pub fn skip_reason(t: MapType) -> Option<&'static str> {
    Some(match t.0 {
        4 => "perf_event_array values are perf event fds, not readable",
        8 => "cgroup_array values are cgroup fds, not readable",
        15 | 18 => "sockmap/sockhash values are sockets",
        17 => "xskmap values are sockets",
        20 => "reuseport_sockarray values are sockets",
        22 | 23 => "queue/stack have no keys; peeking is the only read and popping would change it",
        24 | 28 | 29 | 32 => "local storage is keyed by fds of sockets/inodes/tasks/cgroups",
        26 => "struct_ops value is a kernel struct, not map data",
        27 | 31 => "ring buffers have no entries to look up",
        30 => "bloom_filter has no keys",
        33 => "arena memory is mmapped, not looked up",
        _ => return None,
    })
}

/// Types `BPF_MAP_LOOKUP_BATCH` supports.
fn batch_capable(t: MapType) -> bool {
    matches!(t.0, 1 | 2 | 5 | 6 | 9 | 10)
}

/// Hex text of every byte with the separator after it: `"0x00",`..`"0xff",`.
static HEX: [[u8; 7]; 256] = {
    let digits = b"0123456789abcdef";
    let mut t = [[0u8; 7]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [b'"', b'0', b'x', digits[i >> 4], digits[i & 15], b'"', b','];
        i += 1;
    }
    t
};

/// Receives each full chunk of the printer's buffer.
type ChunkSink<'w> = dyn FnMut(&[u8]) -> io::Result<()> + 'w;

/// Builds the JSON text of entries into a chunk and hands full chunks to a sink.
struct EntryPrinter<'w> {
    sink: &'w mut ChunkSink<'w>,
    buf: Vec<u8>,
    entries: u64,
    bytes: u64,
}

impl<'w> EntryPrinter<'w> {
    fn new(sink: &'w mut ChunkSink<'w>) -> Self {
        let mut buf = Vec::with_capacity(CHUNK_BYTES + 4096);
        buf.push(b'[');
        EntryPrinter {
            sink,
            buf,
            entries: 0,
            bytes: 0,
        }
    }

    fn hex_array(buf: &mut Vec<u8>, bytes: &[u8], mask: Option<&[u8]>) {
        buf.reserve(bytes.len() * 7 + 2);
        buf.push(b'[');
        match mask {
            Some(m) => {
                for (i, &b) in bytes.iter().enumerate() {
                    let b = b & m.get(i).copied().unwrap_or(0);
                    buf.extend_from_slice(&HEX[b as usize]);
                }
            }
            None => {
                for &b in bytes {
                    buf.extend_from_slice(&HEX[b as usize]);
                }
            }
        }
        // Replace the last separator with the closing bracket.
        match buf.last_mut() {
            Some(last) if !bytes.is_empty() => *last = b']',
            _ => buf.push(b']'),
        }
    }

    /// Bytes this entry will take, close enough for `--max-bytes` accounting.
    fn entry_len(spec: &DumpSpec) -> u64 {
        let per_value = 7 * spec.value_size as u64 + 24;
        let values = if spec.percpu() {
            per_value * spec.possible_cpus as u64 + 12
        } else {
            per_value
        };
        7 * spec.key_size as u64 + values + 20
    }

    fn entry(&mut self, spec: &DumpSpec, key: &[u8], value: &[u8]) -> io::Result<()> {
        if self.entries > 0 {
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(b"{\"key\":");
        Self::hex_array(&mut self.buf, key, spec.key_mask.as_deref());
        if spec.percpu() {
            let stride = percpu_stride(spec.value_size as u64) as usize;
            self.buf.extend_from_slice(b",\"values\":[");
            for cpu in 0..spec.possible_cpus {
                if cpu > 0 {
                    self.buf.push(b',');
                }
                write!(self.buf, "{{\"cpu\":{cpu},\"value\":")?;
                let start = cpu * stride;
                let v = value.get(start..start + spec.value_size).unwrap_or(&[]);
                Self::hex_array(&mut self.buf, v, spec.value_mask.as_deref());
                self.buf.push(b'}');
            }
            self.buf.extend_from_slice(b"]}");
        } else {
            self.buf.extend_from_slice(b",\"value\":");
            Self::hex_array(&mut self.buf, value, spec.value_mask.as_deref());
            self.buf.push(b'}');
        }
        self.entries += 1;
        if self.buf.len() >= CHUNK_BYTES {
            self.flush_chunk()?;
        }
        Ok(())
    }

    fn flush_chunk(&mut self) -> io::Result<()> {
        self.bytes += self.buf.len() as u64;
        (self.sink)(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<(u64, u64)> {
        self.buf.push(b']');
        self.flush_chunk()?;
        Ok((self.entries, self.bytes))
    }
}

/// Checks the limits before more entries are read; `wanted` is how many the
/// next step would add. Returns the cut, or how many entries may be added.
fn check_limits(limits: &DumpLimits, spec: &DumpSpec, done: u64, wanted: u64) -> Result<u64, Cut> {
    if limits.stop.load(Ordering::Relaxed) {
        return Err(Cut::Interrupted);
    }
    if Instant::now() >= limits.deadline {
        return Err(Cut::TimeBudget);
    }
    let mut allowed = wanted;
    if let Some(max) = limits.max_entries {
        if done >= max {
            return Err(Cut::MaxEntries);
        }
        allowed = allowed.min(max - done);
    }
    if let Some(left) = limits.bytes_left {
        let per = EntryPrinter::entry_len(spec);
        let fit = (left / per).saturating_sub(done);
        if fit == 0 {
            return Err(Cut::MaxBytes);
        }
        allowed = allowed.min(fit);
    }
    Ok(allowed.max(1))
}

/// Dumps one map to `out`. `progress` is called with the entry count so far.
/// Errors are I/O errors of `out`; syscall errors end the walk and are
/// reported in [`DumpStats::error`].
///
/// A reader thread only makes the syscalls, into raw batch buffers; this
/// thread turns each batch into JSON and writes (hashes, archives) it. On a
/// big hash map the kernel's walk costs about as much as printing and hashing
/// the entries, so on two or more cores the halves overlap and the dump takes
/// about as long as the kernel's walk. At most [`BATCHES_IN_FLIGHT`] + 2 raw
/// batches exist at a time, so memory is bounded by the batch size whatever
/// the map's size.
pub fn dump_map(
    fd: &OwnedFd,
    spec: &DumpSpec,
    limits: &DumpLimits,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> io::Result<DumpStats> {
    let (full_tx, full_rx) = mpsc::sync_channel::<RawBatch>(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<RawBatch>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut pipe = BatchPipe {
                full: full_tx,
                empty: empty_rx,
                entries: 0,
            };
            read_map(fd, spec, limits, &mut pipe)
        });
        // Returning drops `full_rx`, so a reader blocked on a full queue
        // wakes up and stops when printing failed.
        let printed = print_batches(spec, full_rx, &empty_tx, out, progress);
        let read = reader
            .join()
            .map_err(|_| io::Error::other("map reader thread panicked"))?;
        let (entries, bytes) = printed?;
        let mut stats = read?;
        stats.entries = entries;
        stats.bytes = bytes;
        Ok(stats)
    })
}

/// Raw batches queued between the reader thread and the printer.
const BATCHES_IN_FLIGHT: usize = 4;

/// Entries as the kernel returned them: `n` keys and `n` values (each
/// [`DumpSpec::value_buf_len`] bytes), back to back.
#[derive(Default)]
struct RawBatch {
    keys: Vec<u8>,
    values: Vec<u8>,
    n: usize,
}

/// The reader's ends of the queues: filled batches go to the printer, printed
/// ones come back to be filled again.
struct BatchPipe {
    full: mpsc::SyncSender<RawBatch>,
    empty: mpsc::Receiver<RawBatch>,
    /// Entries handed to the printer so far.
    entries: u64,
}

impl BatchPipe {
    /// An empty batch with room for `count` entries, reusing a printed one
    /// when one came back (a new one is made only when none has).
    fn take(&mut self, spec: &DumpSpec, count: usize) -> RawBatch {
        let mut b = self.empty.try_recv().unwrap_or_default();
        b.keys.resize(count * spec.key_size, 0);
        b.values.resize(count * spec.value_buf_len(), 0);
        b.n = 0;
        b
    }

    /// Hands a filled batch to the printer; fails when the printer stopped.
    fn send(&mut self, batch: RawBatch) -> io::Result<()> {
        if batch.n == 0 {
            return Ok(());
        }
        self.entries += batch.n as u64;
        self.full
            .send(batch)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "bundle writer stopped"))
    }
}

/// Prints every batch the reader sends, in order, and returns the entry and
/// byte counts written.
fn print_batches(
    spec: &DumpSpec,
    full: mpsc::Receiver<RawBatch>,
    empty: &mpsc::Sender<RawBatch>,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> io::Result<(u64, u64)> {
    let mut sink = |chunk: &[u8]| out.write_all(chunk);
    let mut printer = EntryPrinter::new(&mut sink);
    let (klen, vlen) = (spec.key_size, spec.value_buf_len());
    for batch in full {
        for i in 0..batch.n {
            let k = batch.keys.get(i * klen..(i + 1) * klen).unwrap_or(&[]);
            let v = batch.values.get(i * vlen..(i + 1) * vlen).unwrap_or(&[]);
            printer.entry(spec, k, v)?;
        }
        progress(printer.entries);
        // The reader may have finished; then the batch is just freed.
        let _ = empty.send(batch);
    }
    printer.finish()
}

/// Reads the map's entries into batches for the printer, by batch lookup
/// where the type supports it, else by GET_NEXT_KEY. The returned stats have
/// no entry or byte counts: the printer knows those.
fn read_map(
    fd: &OwnedFd,
    spec: &DumpSpec,
    limits: &DumpLimits,
    pipe: &mut BatchPipe,
) -> io::Result<DumpStats> {
    let mut stats = DumpStats {
        method: DumpMethod::Batch,
        entries: 0,
        bytes: 0,
        vanished_keys: 0,
        walk_restarts: 0,
        cut: None,
        batch_fallback: None,
        error: None,
    };
    let mut use_walk = !spec.allow_batch || !batch_capable(spec.map_type);
    if !use_walk {
        match walk_batch(fd, spec, limits, pipe, &mut stats)? {
            BatchEnd::Done => {}
            BatchEnd::Unsupported(why) if pipe.entries == 0 => {
                stats.batch_fallback = Some(why);
                use_walk = true;
            }
            BatchEnd::Unsupported(why) => {
                stats.error = Some(format!("batch lookup failed mid-walk: {why}"));
            }
        }
    }
    if use_walk {
        stats.method = DumpMethod::GetNextKey;
        walk_next_key(fd, spec, limits, pipe, &mut stats)?;
    }
    Ok(stats)
}

enum BatchEnd {
    Done,
    Unsupported(String),
}

/// Entries one batch holds: about [`BATCH_BYTES`] of keys and values.
fn batch_count(spec: &DumpSpec, most: usize) -> usize {
    let per = (spec.key_size + spec.value_buf_len()).max(1);
    let mut count = (BATCH_BYTES / per).clamp(16, most);
    if spec.max_entries > 0 {
        count = count.min(spec.max_entries as usize).max(1);
    }
    count
}

fn walk_batch(
    fd: &OwnedFd,
    spec: &DumpSpec,
    limits: &DumpLimits,
    pipe: &mut BatchPipe,
    stats: &mut DumpStats,
) -> io::Result<BatchEnd> {
    let mut count = batch_count(spec, 1 << 16);
    // Batch positions: a bucket index for hash maps, a key for arrays.
    let tok_len = spec.key_size.max(8);
    let mut in_batch = vec![0u8; tok_len];
    let mut out_batch = vec![0u8; tok_len];
    let mut started = false;
    loop {
        let allowed = match check_limits(limits, spec, pipe.entries, count as u64) {
            Ok(n) => n as usize,
            Err(cut) => {
                stats.cut = Some(cut);
                return Ok(BatchEnd::Done);
            }
        };
        let mut batch = pipe.take(spec, count);
        // Always ask for a whole batch: a hash bucket is returned whole or
        // not at all (ENOSPC), so asking for fewer could never make progress.
        let res = sys::lookup_batch(
            fd,
            started.then_some(&in_batch[..]),
            &mut out_batch,
            &mut batch.keys,
            &mut batch.values,
            count as u32,
        );
        let outcome = match res {
            Ok(o) => o,
            // One hash bucket holds more entries than we asked for: ask for more.
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && count < (1 << 20) => {
                count *= 2;
                continue;
            }
            Err(e) if sys::batch_unsupported(&e) => {
                return Ok(BatchEnd::Unsupported(e.to_string()));
            }
            Err(e) => {
                stats.error = Some(format!("BPF_MAP_LOOKUP_BATCH: {e}"));
                return Ok(BatchEnd::Done);
            }
        };
        let got = (outcome.count as usize).min(count);
        batch.n = got.min(allowed);
        let cut_short = batch.n < got;
        pipe.send(batch)?;
        if cut_short {
            let cut = check_limits(limits, spec, pipe.entries, 1).err();
            stats.cut = Some(cut.unwrap_or(Cut::MaxEntries));
            return Ok(BatchEnd::Done);
        }
        if outcome.done {
            return Ok(BatchEnd::Done);
        }
        std::mem::swap(&mut in_batch, &mut out_batch);
        started = true;
    }
}

fn walk_next_key(
    fd: &OwnedFd,
    spec: &DumpSpec,
    limits: &DumpLimits,
    pipe: &mut BatchPipe,
    stats: &mut DumpStats,
) -> io::Result<()> {
    let (klen, vlen) = (spec.key_size, spec.value_buf_len());
    let room = batch_count(spec, 4096);
    let mut batch = pipe.take(spec, room);
    let mut cur = vec![0u8; klen];
    let mut next = vec![0u8; klen];
    let mut first = vec![0u8; klen];
    // Hash-like maps restart from their first key when the walk's current key
    // is deleted; remembering the keys seen lets us notice and not print twice.
    let mut seen: Option<HashSet<Vec<u8>>> = (!spec.map_type.is_array()).then(HashSet::new);
    let max_steps = 2 * spec.max_entries as u64 + 64;
    let mut steps = 0u64;
    let mut have_cur = false;
    let mut replaying = false;
    loop {
        if let Err(cut) = check_limits(limits, spec, pipe.entries + batch.n as u64, 1) {
            stats.cut = Some(cut);
            break;
        }
        if steps >= max_steps {
            stats.cut = Some(Cut::WalkSteps);
            break;
        }
        steps += 1;
        let more = match sys::get_next_key(fd, have_cur.then_some(&cur[..]), &mut next) {
            Ok(m) => m,
            Err(e) => {
                stats.error = Some(format!("BPF_MAP_GET_NEXT_KEY: {e}"));
                break;
            }
        };
        if !more {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
        have_cur = true;
        if let Some(seen) = seen.as_mut() {
            if seen.contains(&cur) {
                // A key we already printed: either the kernel restarted the
                // walk from the first key (ours was deleted), or a key that
                // came back behind us. Only the first is a restart.
                if !replaying {
                    replaying = true;
                    let is_first =
                        sys::get_next_key(fd, None, &mut first).unwrap_or(false) && first == cur;
                    if is_first {
                        stats.walk_restarts += 1;
                    }
                }
                continue;
            }
            replaying = false;
            seen.insert(cur.clone());
        }
        let slot = batch.n;
        let value = &mut batch.values[slot * vlen..(slot + 1) * vlen];
        match sys::lookup_elem(fd, &cur, value) {
            Ok(true) => {
                batch.keys[slot * klen..(slot + 1) * klen].copy_from_slice(&cur);
                batch.n += 1;
                if batch.n == room {
                    pipe.send(batch)?;
                    batch = pipe.take(spec, room);
                }
            }
            Ok(false) => stats.vanished_keys += 1,
            Err(e) => {
                stats.error = Some(format!("BPF_MAP_LOOKUP_ELEM: {e}"));
                break;
            }
        }
    }
    pipe.send(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vec_sink(out: &mut Vec<u8>) -> impl FnMut(&[u8]) -> io::Result<()> + '_ {
        move |chunk: &[u8]| {
            out.extend_from_slice(chunk);
            Ok(())
        }
    }

    fn spec(map_type: MapType, key_size: usize, value_size: usize) -> DumpSpec {
        DumpSpec {
            map_type,
            key_size,
            value_size,
            max_entries: 16,
            possible_cpus: 2,
            key_mask: None,
            value_mask: None,
            allow_batch: true,
        }
    }

    /// Prints `entries` with `spec` and returns the text and entry count.
    fn print(spec: &DumpSpec, entries: &[(&[u8], &[u8])]) -> (String, u64) {
        let mut out = Vec::new();
        let n = {
            let mut sink = vec_sink(&mut out);
            let mut p = EntryPrinter::new(&mut sink);
            for (k, v) in entries {
                p.entry(spec, k, v).unwrap();
            }
            p.finish().unwrap().0
        };
        (String::from_utf8(out).unwrap(), n)
    }

    #[test]
    fn prints_bpftool_shape() {
        let s = spec(MapType::HASH, 2, 1);
        let (text, n) = print(&s, &[(&[0x0a, 0xff], &[0]), (&[1, 2], &[3])]);
        assert_eq!(n, 2);
        assert_eq!(
            text,
            r#"[{"key":["0x0a","0xff"],"value":["0x00"]},{"key":["0x01","0x02"],"value":["0x03"]}]"#
        );
    }

    #[test]
    fn prints_percpu_values_without_stride_padding() {
        let s = spec(MapType::PERCPU_ARRAY, 1, 2);
        // Two CPUs, stride 8: only the first 2 bytes of each stride are the value.
        let v = [1, 2, 9, 9, 9, 9, 9, 9, 3, 4, 9, 9, 9, 9, 9, 9];
        let (text, _) = print(&s, &[(&[0], &v)]);
        assert_eq!(
            text,
            r#"[{"key":["0x00"],"values":[{"cpu":0,"value":["0x01","0x02"]},{"cpu":1,"value":["0x03","0x04"]}]}]"#
        );
    }

    #[test]
    fn masks_zero_redacted_bytes() {
        let mut s = spec(MapType::HASH, 1, 3);
        s.value_mask = Some(vec![0, 0xff, 0x0f]);
        let (text, _) = print(&s, &[(&[7], &[0xaa, 0xbb, 0xcc])]);
        assert_eq!(text, r#"[{"key":["0x07"],"value":["0x00","0xbb","0x0c"]}]"#);
    }

    #[test]
    fn empty_dump_is_an_empty_array() {
        let s = spec(MapType::HASH, 1, 1);
        assert_eq!(print(&s, &[]), ("[]".to_string(), 0));
    }

    #[test]
    fn limits_cut_in_order() {
        let stop = AtomicBool::new(false);
        let s = spec(MapType::HASH, 4, 4);
        let far = Instant::now() + std::time::Duration::from_secs(60);
        let l = DumpLimits {
            max_entries: Some(10),
            deadline: far,
            stop: &stop,
            bytes_left: None,
        };
        assert_eq!(check_limits(&l, &s, 4, 100), Ok(6));
        assert_eq!(check_limits(&l, &s, 10, 100), Err(Cut::MaxEntries));
        let l2 = DumpLimits {
            max_entries: None,
            deadline: Instant::now(),
            stop: &stop,
            bytes_left: None,
        };
        assert_eq!(check_limits(&l2, &s, 0, 1), Err(Cut::TimeBudget));
        stop.store(true, Ordering::Relaxed);
        assert_eq!(check_limits(&l, &s, 0, 1), Err(Cut::Interrupted));
    }

    #[test]
    fn skips_unreadable_types() {
        assert!(skip_reason(MapType(27)).is_some());
        assert!(skip_reason(MapType::HASH).is_none());
        assert!(skip_reason(MapType(12)).is_none());
    }
}
