//! Reading bpftool dumps from files and streams, and decoding one entry
//! with resolved types.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::engine::error::Result;

use super::types::{MapTypes, ResolvedType};
use crate::error::InputError;
use crate::ingest::{bpftool_json, bpftool_text};
use crate::model::decode::{decode, formatted_entry, Decoded, FormattedValues};
use crate::model::dump::{EntryValue, MapDump, ProblemKind};

/// Reads a dump file (`-`: standard input, streamed) in whichever bpftool
/// form it is. A stream (standard input, a pipe, a FIFO) that goes on past
/// [`crate::limits::MAX_STREAM_BYTES`] is an error naming it and the offset.
pub fn read_dump_file(path: &Path) -> Result<MapDump, InputError> {
    let name = path.display().to_string();
    let (r, guard) = crate::ingest::read::open_once(path)?;
    let dump = read_dump_from(&name, BufReader::with_capacity(1 << 16, r))?;
    guard.check()?;
    Ok(dump)
}

fn read_dump_from<R: BufRead + Send>(name: &str, mut r: R) -> Result<MapDump, InputError> {
    let head = r.fill_buf().map_err(|e| InputError::new(name, None, e))?;
    if is_json_dump(head) {
        Ok(bpftool_json::read_dump(r))
    } else {
        Ok(bpftool_text::read_dump(r))
    }
}

/// A reader that ends (reads as end of file) once `stop` is set: the
/// consumer of a streamed dump gave up (its output was closed), so the
/// rest is not read.
struct Stoppable<R> {
    inner: R,
    stop: Arc<AtomicBool>,
}

impl<R: Read> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        self.inner.read(buf)
    }
}

/// Streams the dump at `path` to `each` a batch of entries at a time, as
/// it is parsed (a `-j` dump in batches of [`bpftool_json::BATCH_ENTRIES`];
/// a text dump whole, its parser having no batches): the dump is never
/// held whole. The first batch is checked as [`read_primary_dump`] checks
/// a whole dump. A stream cut at its limit is an error once read; so is an
/// error `each` returns, which stops the reading.
pub fn stream_dump<E: From<InputError>>(
    path: &Path,
    each: &mut dyn FnMut(MapDump) -> Result<(), E>,
) -> Result<(), E> {
    let name = path.display().to_string();
    let (r, guard) = crate::ingest::read::open_once(path)?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut r = BufReader::with_capacity(
        1 << 16,
        Stoppable {
            inner: r,
            stop: stop.clone(),
        },
    );
    let json = is_json_dump(r.fill_buf().map_err(|e| InputError::new(&name, None, e))?);
    let (tx, rx) = std::sync::mpsc::sync_channel::<MapDump>(1);
    let outcome = std::thread::scope(|s| {
        s.spawn(move || {
            if json {
                bpftool_json::read_dump_batches(r, bpftool_json::BATCH_ENTRIES, &mut |b| {
                    let _ = tx.send(b);
                });
            } else {
                let _ = tx.send(bpftool_text::read_dump(r));
            }
        });
        let mut first = true;
        // `rx` is moved in: leaving early drops it, so the parsing thread's
        // next send fails instead of waiting for ever.
        for batch in rx {
            if std::mem::take(&mut first) {
                if let Err(e) = not_a_dump(path, &batch) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e.into());
                }
            }
            if let Err(e) = each(batch) {
                stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(())
    });
    // A cut stream is the error, whatever came of its cut last batch.
    guard.check()?;
    outcome
}

/// The error for a dump of which not one entry could be read before it
/// stopped making sense: not a bpftool dump at all.
fn not_a_dump(path: &Path, dump: &MapDump) -> Result<(), InputError> {
    if dump.is_empty() {
        if let Some(p) = dump.problems.iter().find(|p| {
            p.entries_before == 0
                && matches!(p.kind, ProblemKind::Unreadable | ProblemKind::Truncated)
        }) {
            return Err(InputError::new(
                path.display().to_string(),
                Some(p.position),
                format!("not a bpftool map dump: {}", p.message),
            ));
        }
    }
    Ok(())
}

/// Reads the dump a command works on (`decode --dump`, `diff OLD NEW`): a
/// file in which not one entry could be read before it stopped making sense
/// is not a bpftool dump, and the command cannot run on it (exit 2). A dump
/// cut or broken later still counts: its first entries are used.
pub fn read_primary_dump(path: &Path) -> Result<MapDump, InputError> {
    let dump = read_dump_file(path)?;
    not_a_dump(path, &dump)?;
    Ok(dump)
}

/// True when `head` (the first bytes) is `bpftool -j`/`-p` JSON rather than
/// the BTF-formatted text form, which looks alike but has no hex arrays.
pub fn is_json_dump(head: &[u8]) -> bool {
    let s = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let t = s.trim_start();
    if !t.starts_with('[') {
        return false;
    }
    let rest = t[1..].trim_start();
    if rest.starts_with(']') || rest.is_empty() {
        return true;
    }
    if let Some(i) = rest.find("\"key\"") {
        let after = rest[i + 5..].trim_start();
        if let Some(a) = after.strip_prefix(':') {
            if let Some(b) = a.trim_start().strip_prefix('[') {
                return b.trim_start().starts_with("\"0x") || b.trim_start().starts_with(']');
            }
        }
        return false;
    }
    rest.contains("\"error\"")
}

/// Decodes one byte-form entry into bpftool's `formatted` shape.
pub fn decode_entry(
    types: &MapTypes,
    key: &[u8],
    value: EntryValue<'_>,
) -> Result<Decoded, crate::model::decode::DecodeError> {
    let k = decode(&types.key.ty, &types.key.name, key)?;
    let k = (!types.key.is_array_index()).then_some(k);
    let values = match value {
        EntryValue::Single(v) => {
            FormattedValues::Single(decode(&types.value.ty, &types.value.name, v)?)
        }
        EntryValue::PerCpu { .. } => FormattedValues::PerCpu(
            value
                .cpu_values()
                .into_iter()
                .map(|v| decode(&types.value.ty, &types.value.name, v))
                .collect::<Result<_, _>>()?,
        ),
        EntryValue::Missing => FormattedValues::Missing("lookup failed".into()),
    };
    Ok(formatted_entry(k, values))
}

/// What [`decode_entry`] would reject, without decoding: a key or value
/// whose size is not its type's.
pub fn check_sizes(types: &MapTypes, key: &[u8], value: EntryValue<'_>) -> Result<(), String> {
    let mismatch = |what: &str, t: &ResolvedType, got: usize| {
        format!(
            "{what} is {got} bytes, but the type `{}` is {} bytes",
            t.name,
            t.ty.size()
        )
    };
    if key.len() as u64 != types.key.ty.size() {
        return Err(mismatch("key", &types.key, key.len()));
    }
    let len = match value {
        EntryValue::Single(v) => v.len(),
        EntryValue::PerCpu { len, .. } => len,
        EntryValue::Missing => return Ok(()),
    };
    if len as u64 != types.value.ty.size() {
        return Err(mismatch("value", &types.value, len));
    }
    Ok(())
}
