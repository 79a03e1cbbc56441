//! bpftool's JSON output: `bpftool -j`/`-p map dump` (streamed, fast) and the
//! small `map show`, `prog show`, `btf show` listings (serde).
//!
//! A dump is a top-level array of entries:
//! `{"key":["0x01",..],"value":["0x0a",..],"formatted":{..}}`, per-CPU maps
//! carry `"values":[{"cpu":0,"value":[..]},..]`, a failed lookup prints
//! `"value":{"error":"No such file or directory"}`, and an error part way
//! prints an `{"error":".."}` element. The reader never holds the whole
//! text: it parses entries straight out of a bounded read buffer into the
//! dump's arena, skipping `formatted` (the raw bytes carry everything), and
//! records a [`ProblemKind`] instead of failing when the input is cut or
//! broken. Chunks of a compact (`-j`) dump are parsed on two threads.

use std::io::Read;

use crate::model::dump::{DumpForm, MapDump, ProblemKind, FLAG_NO_VALUE};
use crate::model::finding::Position;
use crate::model::map::MapType;

/// Why a JSON dump element could not be parsed. Offsets are from the start
/// of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonDumpError {
    #[error("expected {expected} at byte offset {offset}")]
    Expected { expected: &'static str, offset: u64 },
    #[error("bad hex byte string at byte offset {offset}")]
    BadHex { offset: u64 },
    #[error("per-CPU values of different sizes at byte offset {offset}")]
    UnevenPerCpu { offset: u64 },
    #[error("entry without a key at byte offset {offset}")]
    NoKey { offset: u64 },
    #[error("one entry is larger than {limit} bytes at byte offset {offset}")]
    EntryTooLarge { offset: u64, limit: usize },
    #[error("nesting deeper than {limit} at byte offset {offset}")]
    TooDeep { offset: u64, limit: usize },
}

impl JsonDumpError {
    /// Byte offset in the input.
    pub fn offset(&self) -> u64 {
        match self {
            JsonDumpError::Expected { offset, .. }
            | JsonDumpError::BadHex { offset }
            | JsonDumpError::UnevenPerCpu { offset }
            | JsonDumpError::NoKey { offset }
            | JsonDumpError::EntryTooLarge { offset, .. }
            | JsonDumpError::TooDeep { offset, .. } => *offset,
        }
    }
}

/// Largest single entry accepted: [`crate::limits::MAX_JSON_ENTRY_BYTES`].
pub use crate::limits::MAX_JSON_ENTRY_BYTES as MAX_ENTRY;
/// Nesting limit when skipping `formatted` and unknown fields.
const MAX_DEPTH: usize = 256;
/// Read buffer size.
const CHUNK: usize = 8 << 20;

/// Result of trying to parse one thing out of a buffer that may end early.
enum Step<T> {
    Done(T),
    /// The buffer ends before the thing does (more input may complete it).
    NeedMore,
    Bad(JsonDumpError),
}

macro_rules! step {
    ($e:expr) => {
        match $e {
            Step::Done(v) => v,
            Step::NeedMore => return Step::NeedMore,
            Step::Bad(e) => return Step::Bad(e),
        }
    };
}

/// Hex digit value, or 0xff.
static HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Bytes that matter when skipping a value: brackets, quotes.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t[b'"' as usize] = true;
    t
};

/// A parser over one buffer; `base` is the buffer's offset in the input.
struct Parser<'b> {
    buf: &'b [u8],
    pos: usize,
    base: u64,
}

impl<'b> Parser<'b> {
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn ws(&mut self) {
        while let Some(&c) = self.buf.get(self.pos) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.pos += 1;
        }
    }

    /// Next non-blank byte, not consumed.
    fn peek(&mut self) -> Step<u8> {
        self.ws();
        match self.buf.get(self.pos) {
            Some(&c) => Step::Done(c),
            None => Step::NeedMore,
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Step<()> {
        let got = step!(self.peek());
        if got != c {
            return Step::Bad(JsonDumpError::Expected {
                expected: what,
                offset: self.offset(),
            });
        }
        self.pos += 1;
        Step::Done(())
    }

    /// A string's raw contents (escapes left as they are).
    fn string(&mut self) -> Step<&'b [u8]> {
        step!(self.expect(b'"', "a string"));
        let start = self.pos;
        let mut i = start;
        while let Some(&c) = self.buf.get(i) {
            match c {
                b'"' => {
                    self.pos = i + 1;
                    return Step::Done(&self.buf[start..i]);
                }
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        Step::NeedMore
    }

    /// `["0x0a","0x00",..]` appended to `out`; returns the number of bytes.
    fn hex_array(&mut self, out: &mut Vec<u8>) -> Step<usize> {
        step!(self.expect(b'[', "a hex byte array"));
        let mut n = 0;
        if step!(self.peek()) == b']' {
            self.pos += 1;
            return Step::Done(0);
        }
        loop {
            // Fast path: a run of `"0xHH",` exactly as `bpftool -j` prints
            // them, seven bytes a byte, without whitespace handling.
            let b = self.buf;
            let mut p = self.pos;
            // True when the fast path stopped right after a byte string,
            // before its separator.
            let mut before_sep = false;
            while let Some(w) = b.get(p..p + 7) {
                let (h, l) = (HEX[w[3] as usize], HEX[w[4] as usize]);
                if w[0] != b'"' || w[1] != b'0' || w[2] != b'x' || w[5] != b'"' || (h | l) == 0xff {
                    break;
                }
                out.push(h << 4 | l);
                n += 1;
                p += 7;
                match w[6] {
                    b',' => {}
                    b']' => {
                        self.pos = p;
                        return Step::Done(n);
                    }
                    _ => {
                        // Whitespace after the byte (pretty output).
                        p -= 1;
                        before_sep = true;
                        break;
                    }
                }
            }
            if p != self.pos {
                self.pos = p;
                if before_sep {
                    // Stopped after a byte: fall through to the separator.
                    match step!(self.peek()) {
                        b',' => {
                            self.pos += 1;
                            continue;
                        }
                        b']' => {
                            self.pos += 1;
                            return Step::Done(n);
                        }
                        _ => {
                            return Step::Bad(JsonDumpError::Expected {
                                expected: "`,` or `]` in a hex byte array",
                                offset: self.offset(),
                            })
                        }
                    }
                }
            }
            self.ws();
            step!(self.hex_slow(out));
            n += 1;
            match step!(self.peek()) {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Step::Done(n);
                }
                _ => {
                    return Step::Bad(JsonDumpError::Expected {
                        expected: "`,` or `]` in a hex byte array",
                        offset: self.offset(),
                    })
                }
            }
        }
    }

    /// One `"0xH"`/`"0xHH"` string, any case.
    fn hex_slow(&mut self, out: &mut Vec<u8>) -> Step<()> {
        let at = self.offset();
        let s = step!(self.string());
        let digits = match s {
            [b'0', b'x' | b'X', rest @ ..] if (1..=2).contains(&rest.len()) => rest,
            _ => return Step::Bad(JsonDumpError::BadHex { offset: at }),
        };
        let mut v = 0u8;
        for &d in digits {
            let h = HEX[d as usize];
            if h == 0xff {
                return Step::Bad(JsonDumpError::BadHex { offset: at });
            }
            v = v << 4 | h;
        }
        out.push(v);
        Step::Done(())
    }

    /// Skips any JSON value (depth- and string-aware).
    fn skip_value(&mut self) -> Step<()> {
        let c = step!(self.peek());
        match c {
            b'"' => {
                step!(self.string());
                Step::Done(())
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut i = self.pos;
                let b = self.buf;
                while i < b.len() {
                    if !SPECIAL[b[i] as usize] {
                        i += 1;
                        continue;
                    }
                    match b[i] {
                        b'{' | b'[' => {
                            depth += 1;
                            if depth > MAX_DEPTH {
                                return Step::Bad(JsonDumpError::TooDeep {
                                    offset: self.base + i as u64,
                                    limit: MAX_DEPTH,
                                });
                            }
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos = i + 1;
                                return Step::Done(());
                            }
                        }
                        b'"' => {
                            i += 1;
                            while i < b.len() && b[i] != b'"' {
                                i += if b[i] == b'\\' { 2 } else { 1 };
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                Step::NeedMore
            }
            _ => {
                // Scalar: runs to a delimiter. At the end of the buffer it may
                // continue in the next read.
                let rest = &self.buf[self.pos..];
                match rest
                    .iter()
                    .position(|&c| matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                {
                    Some(0) => Step::Bad(JsonDumpError::Expected {
                        expected: "a value",
                        offset: self.offset(),
                    }),
                    Some(n) => {
                        self.pos += n;
                        Step::Done(())
                    }
                    None => Step::NeedMore,
                }
            }
        }
    }

    /// An unsigned integer (the `"cpu"` field).
    fn uint(&mut self) -> Step<u64> {
        step!(self.peek());
        let start = self.pos;
        let mut v: u64 = 0;
        while let Some(&c) = self.buf.get(self.pos) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v.saturating_mul(10).saturating_add((c - b'0') as u64);
            self.pos += 1;
        }
        if self.pos == self.buf.len() {
            return Step::NeedMore;
        }
        if self.pos == start {
            return Step::Bad(JsonDumpError::Expected {
                expected: "a number",
                offset: self.offset(),
            });
        }
        Step::Done(v)
    }

    /// `"name":` of an object member; `None` at the closing `}`.
    fn member_name(&mut self, first: bool) -> Step<Option<&'b [u8]>> {
        let c = step!(self.peek());
        if c == b'}' {
            self.pos += 1;
            return Step::Done(None);
        }
        if !first {
            step!(self.expect(b',', "`,` or `}` after an entry field"));
        }
        let name = step!(self.string());
        step!(self.expect(b':', "`:`"));
        Step::Done(Some(name))
    }
}

/// What one top-level element was.
enum Element {
    Entry,
    /// `{"error": ".."}`.
    Error(String),
}

/// Parses one element at `p.pos` into `dump` (arena + span). On anything but
/// `Done`, the arena is left as it was.
fn element(p: &mut Parser<'_>, dump: &mut MapDump) -> Step<Element> {
    let arena_start = dump.arena_mut().len();
    let r = element_inner(p, dump, arena_start);
    if !matches!(r, Step::Done(Element::Entry)) {
        dump.arena_mut().truncate(arena_start);
    }
    r
}

fn element_inner(p: &mut Parser<'_>, dump: &mut MapDump, start: usize) -> Step<Element> {
    let at = p.offset();
    step!(p.expect(b'{', "`{` opening an entry"));
    let mut key_len: Option<usize> = None;
    let mut value_len = 0usize;
    let mut cpus = 0usize;
    let mut missing: Option<String> = None;
    let mut error: Option<String> = None;
    let mut first = true;
    while let Some(name) = step!(p.member_name(first)) {
        first = false;
        match name {
            b"key" => {
                if key_len.is_some() {
                    step!(p.skip_value());
                    continue;
                }
                key_len = Some(step!(p.hex_array(dump.arena_mut())));
            }
            b"value" if key_len.is_some() => {
                if step!(p.peek()) == b'{' {
                    // `{"error": ".."}`: the lookup failed.
                    missing = Some(step!(error_object(p)));
                } else {
                    value_len = step!(p.hex_array(dump.arena_mut()));
                }
            }
            b"values" if key_len.is_some() => {
                let (len, n) = step!(per_cpu_values(p, dump.arena_mut()));
                value_len = len;
                cpus = n;
            }
            b"error" => {
                let s = step!(p.string());
                error = Some(String::from_utf8_lossy(s).into_owned());
            }
            _ => step!(p.skip_value()),
        }
    }
    if let Some(e) = error {
        if key_len.is_none() {
            return Step::Done(Element::Error(e));
        }
    }
    let Some(key_len) = key_len else {
        return Step::Bad(JsonDumpError::NoKey { offset: at });
    };
    if let Some(msg) = missing {
        dump.push_span(start, at, key_len, 0, 0, FLAG_NO_VALUE);
        dump.problem(
            ProblemKind::LookupFailed,
            Position::Offset(at),
            format!("value lookup failed: {msg}"),
        );
        return Step::Done(Element::Entry);
    }
    dump.push_span(start, at, key_len, value_len, cpus, 0);
    Step::Done(Element::Entry)
}

/// `{"error":"msg"}` as a value.
fn error_object(p: &mut Parser<'_>) -> Step<String> {
    step!(p.expect(b'{', "`{`"));
    let mut msg = String::new();
    let mut first = true;
    while let Some(name) = step!(p.member_name(first)) {
        first = false;
        if name == b"error" {
            msg = String::from_utf8_lossy(step!(p.string())).into_owned();
        } else {
            step!(p.skip_value());
        }
    }
    Step::Done(msg)
}

/// `[{"cpu":0,"value":[..]},..]`; returns (one value's length, CPU count).
fn per_cpu_values(p: &mut Parser<'_>, out: &mut Vec<u8>) -> Step<(usize, usize)> {
    step!(p.expect(b'[', "`[` opening per-CPU values"));
    let mut len: Option<usize> = None;
    let mut n = 0usize;
    if step!(p.peek()) == b']' {
        p.pos += 1;
        return Step::Done((0, 0));
    }
    loop {
        let at = p.offset();
        step!(p.expect(b'{', "`{` opening a per-CPU value"));
        let mut first = true;
        let mut this: Option<usize> = None;
        while let Some(name) = step!(p.member_name(first)) {
            first = false;
            match name {
                b"value" if this.is_none() => this = Some(step!(p.hex_array(out))),
                b"cpu" => {
                    step!(p.uint());
                }
                _ => step!(p.skip_value()),
            }
        }
        let this = this.unwrap_or(0);
        match len {
            None => len = Some(this),
            Some(l) if l != this => {
                return Step::Bad(JsonDumpError::UnevenPerCpu { offset: at });
            }
            _ => {}
        }
        n += 1;
        match step!(p.peek()) {
            b',' => p.pos += 1,
            b']' => {
                p.pos += 1;
                return Step::Done((len.unwrap_or(0), n));
            }
            _ => {
                return Step::Bad(JsonDumpError::Expected {
                    expected: "`,` or `]` after a per-CPU value",
                    offset: p.offset(),
                })
            }
        }
    }
}

/// Where the top-level scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Top {
    Start,
    /// After `[` or `,`: an element (or `]` right after `[`).
    Element {
        first: bool,
    },
    /// After an element: `,` or `]`.
    After,
    Done,
}

/// Parses as many whole elements as `buf` holds. Returns how many bytes were
/// consumed (always at an element boundary) and whether parsing must stop.
fn parse_buffer(buf: &[u8], base: u64, top: &mut Top, dump: &mut MapDump) -> (usize, bool) {
    let mut p = Parser { buf, pos: 0, base };
    loop {
        let mark = p.pos;
        match *top {
            Top::Start => match p.peek() {
                Step::Done(b'[') => {
                    p.pos += 1;
                    *top = Top::Element { first: true };
                }
                Step::Done(_) => {
                    dump.problem(
                        ProblemKind::Unreadable,
                        Position::Offset(p.offset()),
                        "not a bpftool JSON map dump: expected `[`",
                    );
                    return (p.pos, true);
                }
                _ => return (mark, false),
            },
            Top::Element { first } => {
                if first {
                    if let Step::Done(b']') = p.peek() {
                        p.pos += 1;
                        *top = Top::Done;
                        continue;
                    }
                }
                match element(&mut p, dump) {
                    Step::Done(Element::Entry) => *top = Top::After,
                    Step::Done(Element::Error(msg)) => {
                        dump.problem(
                            ProblemKind::ErrorLine,
                            Position::Offset(base + mark as u64),
                            format!("bpftool reported an error: {msg}"),
                        );
                        *top = Top::After;
                    }
                    Step::NeedMore => return (mark, false),
                    Step::Bad(e) => {
                        dump.problem(
                            ProblemKind::Unreadable,
                            Position::Offset(e.offset()),
                            e.to_string(),
                        );
                        return (p.pos, true);
                    }
                }
            }
            Top::After => match p.peek() {
                Step::Done(b',') => {
                    p.pos += 1;
                    *top = Top::Element { first: false };
                }
                Step::Done(b']') => {
                    p.pos += 1;
                    *top = Top::Done;
                }
                Step::Done(_) => {
                    dump.problem(
                        ProblemKind::Unreadable,
                        Position::Offset(p.offset()),
                        "expected `,` or `]` after an entry",
                    );
                    return (p.pos, true);
                }
                _ => return (mark, false),
            },
            Top::Done => {
                // bpftool may print a second document (an error object) after
                // the array; anything else is noise we report once.
                match p.peek() {
                    Step::Done(b'{') => match element(&mut p, dump) {
                        Step::Done(Element::Error(msg)) => dump.problem(
                            ProblemKind::ErrorLine,
                            Position::Offset(base + mark as u64),
                            format!("bpftool reported an error: {msg}"),
                        ),
                        Step::NeedMore => return (mark, false),
                        _ => {
                            dump.problem(
                                ProblemKind::Unreadable,
                                Position::Offset(base + mark as u64),
                                "unexpected data after the dump",
                            );
                            return (p.pos, true);
                        }
                    },
                    Step::Done(_) => {
                        dump.problem(
                            ProblemKind::Unreadable,
                            Position::Offset(p.offset()),
                            "unexpected data after the dump",
                        );
                        return (p.pos, true);
                    }
                    _ => return (p.pos, false),
                }
            }
        }
    }
}

/// Reads a `bpftool -j` or `-p` map dump from `reader`, a chunk at a time.
/// Never fails: read errors, a cut and broken entries end the dump with a
/// [`ProblemKind`] recorded at the byte offset.
pub fn read_dump<R: Read + Send>(reader: R) -> MapDump {
    // A reader thread keeps the next chunk coming while this one is parsed;
    // chunk buffers are handed back to it for reuse.
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(2);
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|s| {
        s.spawn(move || feed_chunks(reader, &tx, &back_rx));
        parse_chunks(rx, back_tx, usize::MAX, &mut |_| {})
    })
}

/// Reads `reader` in [`CHUNK`]-byte chunks into `tx`, reusing the buffers
/// the parser hands back, until the end, an error, or the parser stopping
/// early on a broken dump (the rest is then left to the caller).
fn feed_chunks<R: Read>(
    mut reader: R,
    tx: &std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>,
    back_rx: &std::sync::mpsc::Receiver<Vec<u8>>,
) {
    loop {
        let mut chunk = back_rx
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        chunk.clear();
        match (&mut reader).take(CHUNK as u64).read_to_end(&mut chunk) {
            Ok(n) => {
                if tx.send(Ok(chunk)).is_err() || n < CHUNK {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

/// Like [`read_dump`] for a reader that cannot move to another thread (a
/// tar member borrows its archive): this thread reads and hands chunks to
/// a parsing thread, so the dump is never held whole.
pub fn read_dump_here<R: Read>(reader: R) -> MapDump {
    let mut whole = None;
    read_dump_batches(reader, usize::MAX, &mut |d| whole = Some(d));
    whole.unwrap_or_else(|| MapDump::new(DumpForm::Json))
}

/// Entries per batch that keeps a batch's arena to a few megabytes.
pub const BATCH_ENTRIES: usize = 1 << 15;

/// Reads a dump as [`read_dump_here`] does, handing it to `sink` in
/// batches of at least `batch_entries` entries (the last may be smaller;
/// there is always at least one), so that a caller that checks entries as
/// they come never holds the dump. Each batch is a [`MapDump`] of its own:
/// entry indexes and problems' `entries_before` count from the batch's
/// first entry. `sink` runs on the parsing thread.
pub fn read_dump_batches<R: Read>(
    reader: R,
    batch_entries: usize,
    sink: &mut (dyn FnMut(MapDump) + Send),
) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(2);
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let failed = std::thread::scope(|s| {
        let on_batch = &mut *sink;
        let parser = s.spawn(move || {
            let last = parse_chunks(rx, back_tx, batch_entries, on_batch);
            on_batch(last);
        });
        feed_chunks(reader, &tx, &back_rx);
        drop(tx);
        parser.join().is_err()
    });
    if failed {
        // Never expected (the parser does not panic on any input), but a
        // dump must not end silently: the last batch says it stopped.
        let mut d = MapDump::new(DumpForm::Json);
        d.problem(
            ProblemKind::Unreadable,
            Position::Offset(0),
            "the dump parser stopped unexpectedly",
        );
        sink(d);
    }
}

/// Parses chunks as the reader thread delivers them, handing full batches
/// to `sink` and returning the last one.
fn parse_chunks(
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    back: std::sync::mpsc::Sender<Vec<u8>>,
    batch_entries: usize,
    sink: &mut (dyn FnMut(MapDump) + Send),
) -> MapDump {
    let mut dump = MapDump::new(DumpForm::Json);
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut base: u64 = 0;
    let mut top = Top::Start;
    loop {
        if dump.len() >= batch_entries {
            sink(std::mem::replace(&mut dump, MapDump::new(DumpForm::Json)));
        }
        let before = buf.len();
        let eof = match rx.recv() {
            Ok(Ok(chunk)) => {
                let eof = chunk.len() < CHUNK;
                buf.extend_from_slice(&chunk);
                let _ = back.send(chunk);
                eof
            }
            Ok(Err(e)) => {
                dump.problem(
                    ProblemKind::Unreadable,
                    Position::Offset(base + before as u64),
                    format!("read error: {e}"),
                );
                return dump;
            }
            // The reader stopped after its last chunk.
            Err(_) => true,
        };
        let (used, stop) = parse_chunk(&buf, base, &mut top, &mut dump);
        if stop {
            return dump;
        }
        buf.drain(..used);
        base += used as u64;
        if eof {
            if top != Top::Done {
                let what = if buf.iter().all(|c| c.is_ascii_whitespace()) {
                    "the dump ends without closing `]`"
                } else {
                    "the dump ends inside an entry"
                };
                dump.problem(ProblemKind::Truncated, Position::Offset(base), what);
            }
            return dump;
        }
        if buf.len() > MAX_ENTRY {
            let e = JsonDumpError::EntryTooLarge {
                offset: base,
                limit: MAX_ENTRY,
            };
            dump.problem(
                ProblemKind::Unreadable,
                Position::Offset(base),
                e.to_string(),
            );
            return dump;
        }
    }
}

/// Parses a dump already in memory.
pub fn parse_dump(bytes: &[u8]) -> MapDump {
    read_dump(bytes)
}

/// Smallest chunk worth splitting across two threads.
const PARALLEL_MIN: usize = 1 << 20;

/// Parses whole elements of `buf`. Large chunks in the middle of the array
/// are split at a likely element boundary (`},{"key":`, which cannot occur
/// inside a JSON string) and the halves parsed on two threads; the split is
/// kept only when the first half ends exactly there, else the second half
/// is parsed again sequentially, so the result never depends on the guess.
fn parse_chunk(buf: &[u8], base: u64, top: &mut Top, dump: &mut MapDump) -> (usize, bool) {
    // Consume the opening `[` here so that the first chunk can be split too.
    if *top == Top::Start {
        match buf.iter().position(|c| !c.is_ascii_whitespace()) {
            Some(i) if buf[i] == b'[' => {
                *top = Top::Element { first: true };
                let (u, st) = parse_split(&buf[i + 1..], base + i as u64 + 1, top, dump);
                return (i + 1 + u, st);
            }
            _ => return parse_buffer(buf, base, top, dump),
        }
    }
    parse_split(buf, base, top, dump)
}

fn parse_split(buf: &[u8], base: u64, top: &mut Top, dump: &mut MapDump) -> (usize, bool) {
    if buf.len() < PARALLEL_MIN || !matches!(*top, Top::Element { .. } | Top::After) {
        return parse_buffer(buf, base, top, dump);
    }
    const NEEDLE: &[u8] = b"},{\"key\":";
    let mid = buf.len() / 2;
    let Some(found) = buf[mid..]
        .windows(NEEDLE.len())
        .position(|w| w == NEEDLE)
        .map(|i| mid + i + 2)
    else {
        return parse_buffer(buf, base, top, dump);
    };
    let (head, tail) = buf.split_at(found);
    let mut top_a = *top;
    let mut top_b = Top::Element { first: false };
    let mut dump_b = MapDump::new(DumpForm::Json);
    let ((used_a, stop_a), (used_b, stop_b)) = std::thread::scope(|s| {
        let h = s.spawn(|| parse_buffer(tail, base + found as u64, &mut top_b, &mut dump_b));
        let a = parse_buffer(head, base, &mut top_a, dump);
        (a, h.join().unwrap_or((0, true)))
    });
    // The guess was right iff the head parsed up to the split and, having
    // consumed the `,`, waits for the element the tail starts with.
    if stop_a || used_a != found || top_a != (Top::Element { first: false }) {
        *top = top_a;
        if stop_a {
            return (used_a, true);
        }
        let (u, st) = parse_buffer(&buf[used_a..], base + used_a as u64, top, dump);
        return (used_a + u, st);
    }
    dump.append(dump_b);
    *top = top_b;
    (found + used_b, stop_b)
}

// --- `bpftool -j map show`, `prog show`, `btf show` -------------------------

/// A process holding a map or program open (`"pids"`, bpftool built with
/// skeletons).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct PidRef {
    pub pid: u32,
    #[serde(default)]
    pub comm: String,
}

/// One map of `bpftool -j map show`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct MapInfo {
    pub id: u32,
    /// bpftool's type name (`hash`, `percpu_array`, ...).
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub flags: u64,
    pub bytes_key: u32,
    pub bytes_value: u32,
    pub max_entries: u32,
    #[serde(default)]
    pub bytes_memlock: Option<u64>,
    #[serde(default)]
    pub frozen: Option<u32>,
    #[serde(default)]
    pub btf_id: Option<u32>,
    #[serde(default)]
    pub pinned: Vec<String>,
    #[serde(default)]
    pub pids: Vec<PidRef>,
}

impl MapInfo {
    /// The kernel map type, if bpftool's name is known.
    pub fn map_type(&self) -> Option<MapType> {
        MapType::from_name(&self.type_name)
    }
}

/// One program of `bpftool -j prog show`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct ProgInfo {
    pub id: u32,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub map_ids: Vec<u32>,
    #[serde(default)]
    pub btf_id: Option<u32>,
    #[serde(default)]
    pub pids: Vec<PidRef>,
}

/// One BTF object of `bpftool -j btf show`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct BtfInfo {
    pub id: u32,
    pub size: u64,
    #[serde(default)]
    pub prog_ids: Vec<u32>,
    #[serde(default)]
    pub map_ids: Vec<u32>,
    #[serde(default)]
    pub kernel: bool,
    #[serde(default)]
    pub name: Option<String>,
}

/// `show` prints one object for `show id N`/`pinned P` and an array otherwise.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

/// Error reading a `show` listing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShowError {
    #[error("line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
}

fn parse_show<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<Vec<T>, ShowError> {
    match serde_json::from_slice::<OneOrMany<T>>(bytes) {
        Ok(OneOrMany::Many(v)) => Ok(v),
        Ok(OneOrMany::One(t)) => Ok(vec![t]),
        Err(e) => Err(ShowError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }),
    }
}

/// `bpftool -j map show [id N | pinned P]`.
pub fn parse_map_show(bytes: &[u8]) -> Result<Vec<MapInfo>, ShowError> {
    parse_show(bytes)
}

/// `bpftool -j prog show [..]`.
pub fn parse_prog_show(bytes: &[u8]) -> Result<Vec<ProgInfo>, ShowError> {
    parse_show(bytes)
}

/// `bpftool -j btf show [..]`.
pub fn parse_btf_show(bytes: &[u8]) -> Result<Vec<BtfInfo>, ShowError> {
    parse_show(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_problem(text: &str) -> (ProblemKind, String) {
        let d = parse_dump(text.as_bytes());
        let p = &d.problems[0];
        (p.kind, p.message.clone())
    }

    #[test]
    fn compact_and_pretty_entries_parse_alike() {
        let a = parse_dump(br#"[{"key":["0x01","0x02"],"value":["0xff"],"formatted":{"key":1,"value":{"s":"}]\""}}}]"#);
        let b = parse_dump(b"[{\n  \"key\": [\"0x1\", \"0x02\"\n ],\n \"value\": [\"0xFF\"]}\n]\n");
        assert!(
            a.problems.is_empty() && b.problems.is_empty(),
            "{:?}",
            a.problems
        );
        assert_eq!(a.get(0).unwrap().key, &[1, 2]);
        assert_eq!(a, b);
    }

    #[test]
    fn error_value_is_a_failed_lookup() {
        let d = parse_dump(br#"[{"key":["0x01"],"value":{"error":"No such file or directory"}}]"#);
        assert_eq!(d.len(), 1);
        assert_eq!(d.problems[0].kind, ProblemKind::LookupFailed);
    }

    #[test]
    fn error_element_is_recorded() {
        let d = parse_dump(br#"[{"key":["0x01"],"value":["0x02"]},{"error":"can't lookup"}]"#);
        assert_eq!(d.len(), 1);
        assert_eq!(d.problems[0].kind, ProblemKind::ErrorLine);
        assert_eq!(d.problems[0].position, Position::Offset(35));
    }

    #[test]
    fn every_error_variant_is_reported() {
        assert_eq!(
            first_problem(r#"[{"key":["0xZZ"]}]"#),
            (
                ProblemKind::Unreadable,
                "bad hex byte string at byte offset 9".into()
            )
        );
        assert_eq!(
            first_problem(r#"[{"key":["0x01"] "value":[]}]"#).1,
            "expected `,` or `}` after an entry field at byte offset 17"
        );
        assert_eq!(
            first_problem(
                r#"[{"key":["0x01"],"values":[{"cpu":0,"value":["0x01"]},{"cpu":1,"value":[]}]}]"#
            )
            .1,
            "per-CPU values of different sizes at byte offset 54"
        );
        assert_eq!(
            first_problem(r#"[{"value":["0x01"]}]"#).1,
            "entry without a key at byte offset 1"
        );
        let deep = format!("[{{\"key\":[],\"x\":{}}}]", "[".repeat(300));
        assert!(first_problem(&deep)
            .1
            .starts_with("nesting deeper than 256"));
        let e = JsonDumpError::EntryTooLarge {
            offset: 3,
            limit: 4,
        };
        assert_eq!(e.offset(), 3);
        assert_eq!(
            e.to_string(),
            "one entry is larger than 4 bytes at byte offset 3"
        );
    }

    #[test]
    fn cut_input_keeps_entries_before_the_cut() {
        let d = parse_dump(br#"[{"key":["0x01"],"value":["0x02"]},{"key":["0x0"#);
        assert_eq!(d.len(), 1);
        assert_eq!(d.problems[0].kind, ProblemKind::Truncated);
        assert_eq!(d.problems[0].position, Position::Offset(35));
    }

    #[test]
    fn batches_joined_are_the_whole_dump() {
        // Batches end at chunk boundaries: the text spans several chunks.
        let n = (3 * CHUNK / 55) as u32;
        let mut text = String::from("[");
        for i in 0..n {
            let b = i.to_le_bytes();
            text += &format!(
                r#"{}{{"key":["0x{:02x}","0x{:02x}","0x00","0x00"],"value":["0x01"]}}"#,
                if i == 0 { "" } else { "," },
                b[0],
                b[1]
            );
        }
        text += r#",{"key":["0x01"],"value":{"error":"gone"}},{"key":"#;
        let whole = parse_dump(text.as_bytes());
        let mut batches = Vec::new();
        read_dump_batches(text.as_bytes(), 300, &mut |d| batches.push(d));
        assert!(
            text.len() > 2 * CHUNK && batches.len() >= 3,
            "{}",
            batches.len()
        );
        assert!(batches[..batches.len() - 1].iter().all(|b| b.len() >= 300));
        let mut joined = MapDump::new(DumpForm::Json);
        for b in batches {
            joined.append(b);
        }
        assert_eq!(joined, whole);
        assert_eq!(whole.len(), n as usize + 1);
        assert_eq!(whole.problems.len(), 2, "{:?}", whole.problems);
    }

    #[test]
    fn show_listings_accept_one_or_many() {
        let one = parse_map_show(br#"{"id":1,"type":"hash","name":"m","flags":0,"bytes_key":4,"bytes_value":8,"max_entries":2}"#).unwrap();
        assert_eq!(one[0].map_type(), Some(MapType::HASH));
        let err = parse_prog_show(b"[{").unwrap_err();
        assert!(matches!(err, ShowError::Json { line: 1, .. }));
    }
}
