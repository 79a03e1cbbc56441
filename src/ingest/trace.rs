//! The collector's trace of bpf() map calls (`trace/bpf-calls.jsonl`): one
//! JSON [`TraceEvent`] per line. A bad line costs only itself: it is
//! reported with its line number and the rest is read.

use std::io::{self, BufRead};

use std::borrow::Cow;

use crate::model::trace::{Interner, MapCall, MapCmd, Shared, SharedBytes};

/// Problems kept per file; past this only the count goes up.
const MAX_PROBLEMS: usize = 20;

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceProblem {
    /// 1-based line number.
    pub line: u32,
    pub message: String,
}

/// What a trace file held.
#[derive(Debug, Default)]
pub struct TraceCalls {
    pub calls: Vec<MapCall>,
    /// The first [`MAX_PROBLEMS`] bad lines.
    pub problems: Vec<TraceProblem>,
    /// All bad lines, also those past [`MAX_PROBLEMS`].
    pub bad_lines: u64,
}

/// Longest line read; a longer one is reported and skipped.
use crate::limits::MAX_TRACE_LINE_BYTES as MAX_LINE;

/// Reads a trace file's bytes.
pub fn parse_calls(data: &[u8]) -> TraceCalls {
    // Reading from a slice cannot fail.
    parse_calls_from(data).unwrap_or_default()
}

/// Reads a trace line by line from `r` (a bundle member is streamed, never
/// held whole); only I/O errors stop it. A line that lies whole in `r`'s
/// buffer is read in place; only a line split across two reads is copied.
pub fn parse_calls_from<R: BufRead>(mut r: R) -> io::Result<TraceCalls> {
    let mut out = TraceCalls::default();
    let mut lines = LineReader::default();
    // The start of a line split across reads.
    let mut split = Vec::new();
    let mut number = 0u32;
    loop {
        let chunk = fill(&mut r)?;
        if chunk.is_empty() {
            // The last line, without a newline.
            if !split.is_empty() {
                number = number.saturating_add(1);
                lines.read(&split, number, &mut out);
            }
            break;
        }
        match memchr::memchr(b'\n', chunk) {
            Some(end) if split.len() + end > MAX_LINE => {
                r.consume(end + 1);
                split.clear();
                number = number.saturating_add(1);
                out.problem(number, format!("line longer than {MAX_LINE} bytes"));
            }
            Some(end) if split.is_empty() => {
                number = number.saturating_add(1);
                lines.read(&chunk[..end], number, &mut out);
                r.consume(end + 1);
            }
            Some(end) => {
                split.extend_from_slice(&chunk[..end]);
                r.consume(end + 1);
                number = number.saturating_add(1);
                lines.read(&split, number, &mut out);
                split.clear();
            }
            None if split.len() + chunk.len() > MAX_LINE => {
                // Skip the rest of the over-long line without keeping it.
                let len = chunk.len();
                r.consume(len);
                split.clear();
                skip_line(&mut r)?;
                number = number.saturating_add(1);
                out.problem(number, format!("line longer than {MAX_LINE} bytes"));
            }
            None => {
                split.extend_from_slice(chunk);
                let len = chunk.len();
                r.consume(len);
            }
        }
    }
    Ok(out)
}

/// `r.fill_buf()`, retried when a read is interrupted by a signal.
fn fill<R: BufRead>(r: &mut R) -> io::Result<&[u8]> {
    loop {
        match r.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    // Data is buffered now and returned without reading again; at the end
    // of input the reader is asked once more and again says end.
    r.fill_buf()
}

/// Consumes `r` up to and including the next newline (or to the end).
fn skip_line<R: BufRead>(r: &mut R) -> io::Result<()> {
    loop {
        let chunk = fill(r)?;
        if chunk.is_empty() {
            return Ok(());
        }
        match memchr::memchr(b'\n', chunk) {
            Some(i) => {
                r.consume(i + 1);
                return Ok(());
            }
            None => {
                let len = chunk.len();
                r.consume(len);
            }
        }
    }
}

impl TraceCalls {
    fn problem(&mut self, line: u32, message: String) {
        self.bad_lines += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(TraceProblem { line, message });
        }
    }
}

/// Turns lines into calls, sharing the bytes they repeat.
#[derive(Default)]
struct LineReader {
    interner: Interner,
    /// Hex decoding scratch.
    hex: Vec<u8>,
    /// The last key, value and command name read, as written: a trace
    /// repeats them from line to line, and an equal text is the same
    /// shared copy without decoding or hashing it again.
    last_key: Recent<[u8]>,
    last_value: Recent<[u8]>,
    last_comm: Recent<str>,
}

/// A field's last text and its shared copy.
struct Recent<T: ?Sized> {
    text: Vec<u8>,
    shared: Option<Shared<T>>,
}

impl<T: ?Sized> Default for Recent<T> {
    fn default() -> Self {
        Recent {
            text: Vec::new(),
            shared: None,
        }
    }
}

impl<T: ?Sized> Recent<T> {
    /// The shared copy for `text`: the last one if `text` is the last
    /// text, else `make(text)`'s, kept for next time.
    fn get(
        &mut self,
        text: &[u8],
        make: impl FnOnce(&[u8]) -> Option<Shared<T>>,
    ) -> Option<Shared<T>> {
        if let Some(s) = self.shared.as_ref().filter(|_| self.text == text) {
            return Some(s.clone());
        }
        let s = make(text)?;
        self.text.clear();
        self.text.extend_from_slice(text);
        self.shared = Some(s.clone());
        Some(s)
    }
}

impl LineReader {
    /// Reads one line (without its newline) into `out`.
    fn read(&mut self, line: &[u8], number: u32, out: &mut TraceCalls) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        // The collector's own shape first; serde_json reads anything else
        // (and words the errors).
        let result = match self.fast(line, number) {
            Some(call) => Ok(call),
            None => parse_line(line, number, &mut self.interner, &mut self.hex),
        };
        match result {
            Ok(call) => out.calls.push(call),
            Err(message) => out.problem(number, message),
        }
    }

    /// Reads a line written exactly as the collector writes one (fields in
    /// order, no whitespace, no escapes, canonical numbers, well-formed
    /// hex, a known command). `None` for anything else, which serde_json
    /// then reads: this only accepts lines it reads the same way.
    fn fast(&mut self, line: &[u8], number: u32) -> Option<MapCall> {
        let mut s = Scan { b: line, at: 0 };
        s.lit(b"{\"seq\":")?;
        let seq = s.uint(u64::MAX)?;
        s.lit(b",\"time_ns\":")?;
        let time_ns = s.uint(u64::MAX)?;
        s.lit(b",\"pid\":")?;
        let pid = u32::try_from(s.uint(u32::MAX.into())?).ok()?;
        s.lit(b",\"tid\":")?;
        let tid = u32::try_from(s.uint(u32::MAX.into())?).ok()?;
        s.lit(b",\"comm\":")?;
        let comm = s.string()?;
        s.lit(b",\"cmd\":")?;
        let cmd = s.string()?;
        let cmd = MapCmd::ALL
            .into_iter()
            .find(|c| c.as_str().as_bytes() == cmd)?;
        s.lit(b",\"map_fd\":")?;
        let map_fd = i32::try_from(s.int()?).ok()?;
        s.lit(b",\"map_id\":")?;
        let map_id = match s.null() {
            true => None,
            false => Some(u32::try_from(s.uint(u32::MAX.into())?).ok()?),
        };
        s.lit(b",\"flags\":")?;
        let flags = s.uint(u64::MAX)?;
        s.lit(b",\"key\":")?;
        let key = s.hex_or_null()?;
        s.lit(b",\"value\":")?;
        let value = s.hex_or_null()?;
        s.lit(b",\"ret\":")?;
        let ret = s.int()?;
        s.lit(b"}")?;
        if s.at != line.len() {
            return None;
        }
        let interner = &mut self.interner;
        let scratch = &mut self.hex;
        let mut bytes = |recent: &mut Recent<[u8]>, text: Option<&[u8]>| match text {
            None => Some(None),
            Some(h) => recent
                .get(h, |h| {
                    scratch.clear();
                    hex_decode_into(h, scratch).ok()?;
                    Some(interner.bytes(scratch))
                })
                .map(Some),
        };
        let key = bytes(&mut self.last_key, key)?;
        let value = bytes(&mut self.last_value, value)?;
        let comm = self.last_comm.get(comm, |c| {
            Some(self.interner.name(std::str::from_utf8(c).ok()?))
        })?;
        Some(MapCall {
            seq,
            line: number,
            time_ns,
            pid,
            tid,
            comm,
            cmd,
            map_fd,
            map_id,
            flags,
            key,
            value,
            ret,
        })
    }
}

/// A cursor over one line for [`LineReader::fast`]; every read is checked
/// and gives `None` on anything unexpected.
struct Scan<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn rest(&self) -> &'a [u8] {
        self.b.get(self.at..).unwrap_or_default()
    }

    fn lit(&mut self, text: &[u8]) -> Option<()> {
        self.rest().starts_with(text).then(|| self.at += text.len())
    }

    fn null(&mut self) -> bool {
        self.lit(b"null").is_some()
    }

    /// A JSON number that is a whole number in 0..=max, as written by
    /// serde_json: `0` or digits without a leading zero.
    fn uint(&mut self, max: u64) -> Option<u64> {
        let rest = self.rest();
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        let text = rest.get(..digits)?;
        if digits == 0 || (digits > 1 && text.first() == Some(&b'0')) {
            return None;
        }
        // 19 digits always fit in a u64; more are checked.
        let v = if digits <= 19 {
            text.iter().fold(0u64, |v, c| v * 10 + u64::from(c - b'0'))
        } else {
            text.iter().try_fold(0u64, |v, c| {
                v.checked_mul(10)?.checked_add(u64::from(c - b'0'))
            })?
        };
        if v > max {
            return None;
        }
        self.at += digits;
        Some(v)
    }

    /// A whole number in -i64::MAX..=i64::MAX (no `-0`).
    fn int(&mut self) -> Option<i64> {
        let limit = i64::MAX as u64;
        if self.lit(b"-").is_none() {
            return i64::try_from(self.uint(limit)?).ok();
        }
        match self.uint(limit)? {
            0 => None,
            v => Some(-i64::try_from(v).ok()?),
        }
    }

    /// A string's raw bytes when it holds no escape or control character.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.lit(b"\"")?;
        let rest = self.rest();
        // Strings here are short (a command name, a key in hex): a plain
        // loop beats a vectorised search.
        let end = rest
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        if rest.get(end) != Some(&b'"') {
            return None;
        }
        self.at += end + 1;
        rest.get(..end)
    }

    /// `null`, or a string (hex digits, checked when decoded).
    fn hex_or_null(&mut self) -> Option<Option<&'a [u8]>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(Some)
    }
}

/// A trace line as written ([`crate::bundle::TraceEvent`]), borrowing its
/// strings from the line where it can: parsing allocates nothing per call
/// that is not kept.
#[derive(serde::Deserialize)]
struct Line<'a> {
    seq: u64,
    time_ns: u64,
    pid: u32,
    tid: u32,
    #[serde(borrow)]
    comm: Cow<'a, str>,
    #[serde(borrow)]
    cmd: Cow<'a, str>,
    map_fd: i32,
    map_id: Option<u32>,
    flags: u64,
    #[serde(borrow)]
    key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    value: Option<Cow<'a, str>>,
    ret: i64,
}

fn parse_line(
    line: &[u8],
    number: u32,
    interner: &mut Interner,
    scratch: &mut Vec<u8>,
) -> Result<MapCall, String> {
    let e: Line<'_> = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let cmd = MapCmd::from_name(&e.cmd).ok_or_else(|| format!("unknown cmd {:?}", e.cmd))?;
    let mut bytes = |h: Option<&str>, what: &str| -> Result<Option<SharedBytes>, String> {
        let Some(h) = h else { return Ok(None) };
        scratch.clear();
        hex_decode_into(h.as_bytes(), scratch).map_err(|why| format!("{what}: {why}"))?;
        Ok(Some(interner.bytes(scratch)))
    };
    let key = bytes(e.key.as_deref(), "key")?;
    let value = bytes(e.value.as_deref(), "value")?;
    Ok(MapCall {
        seq: e.seq,
        line: number,
        time_ns: e.time_ns,
        pid: e.pid,
        tid: e.tid,
        comm: interner.name(&e.comm),
        cmd,
        map_fd: e.map_fd,
        map_id: e.map_id,
        flags: e.flags,
        key,
        value,
        ret: e.ret,
    })
}

/// Lowercase or uppercase hex without separators.
#[cfg(test)]
fn hex_decode(hex: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    hex_decode_into(hex.as_bytes(), &mut out)?;
    Ok(out)
}

/// Decodes `hex` (lowercase or uppercase, no separators) onto `out`.
fn hex_decode_into(b: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if b.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", b.len()));
    }
    let digit = |c: u8, at: usize| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(format!(
            "not a hex digit at character {at}: {:?}",
            c as char
        )),
    };
    for (i, p) in b.chunks_exact(2).enumerate() {
        out.push(digit(p[0], 2 * i)? << 4 | digit(p[1], 2 * i + 1)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"seq":0,"time_ns":5,"pid":10,"tid":11,"comm":"agent","cmd":"map_lookup_elem","map_fd":4,"map_id":7,"flags":0,"key":"0a0000a5","value":null,"ret":-2}"#;

    #[test]
    fn a_good_line_is_read() {
        let t = parse_calls(GOOD.as_bytes());
        assert_eq!(t.bad_lines, 0);
        let c = &t.calls[0];
        assert_eq!(c.cmd, MapCmd::Lookup);
        assert_eq!(c.key.as_deref(), Some(&[0x0a, 0, 0, 0xa5][..]));
        assert_eq!((c.line, c.map_id, c.errno()), (1, Some(7), Some(2)));
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_the_rest_is_read() {
        let text = format!(
            "{GOOD}\n\n{{\"seq\":1\n{}\n{}\n{GOOD}\n",
            GOOD.replace("map_lookup_elem", "map_freeze"),
            GOOD.replace("0a0000a5", "0a0g")
        );
        let t = parse_calls(text.as_bytes());
        assert_eq!(t.calls.len(), 2);
        assert_eq!(t.calls[1].line, 6);
        let lines: Vec<u32> = t.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(t.problems[1].message.contains("unknown cmd"));
        assert!(t.problems[2]
            .message
            .contains("not a hex digit at character 3"));
    }

    #[test]
    fn problems_kept_are_bounded_but_counted() {
        let text = "x\n".repeat(100);
        let t = parse_calls(text.as_bytes());
        assert_eq!((t.problems.len(), t.bad_lines), (MAX_PROBLEMS, 100));
    }

    #[test]
    fn an_over_long_line_is_reported_and_skipped() {
        let text = format!("{GOOD}\n{}\n{GOOD}\n", "x".repeat(MAX_LINE * 3));
        let t = parse_calls(text.as_bytes());
        assert_eq!(t.calls.len(), 2);
        assert_eq!(t.calls[1].line, 3);
        assert_eq!(t.problems[0].line, 2);
        assert!(t.problems[0].message.contains("longer than"));
    }

    /// Calls on one key share its bytes (and their command name): a long
    /// trace costs its distinct keys, not a copy per call.
    #[test]
    fn calls_share_interned_key_bytes() {
        let other = GOOD.replace("0a0000a5", "0b0000a5");
        let text = format!("{GOOD}\n{other}\n{GOOD}\n{GOOD}\n");
        let t = parse_calls(text.as_bytes());
        let keys: Vec<_> = t.calls.iter().map(|c| c.key.clone().unwrap()).collect();
        assert!(Shared::ptr_eq(&keys[0], &keys[2]));
        assert!(Shared::ptr_eq(&keys[0], &keys[3]));
        assert!(!Shared::ptr_eq(&keys[0], &keys[1]));
        assert_eq!(&keys[1][..], &[0x0b, 0, 0, 0xa5]);
        assert!(Shared::ptr_eq(&t.calls[0].comm, &t.calls[1].comm));
        // A call is a fixed-size record: no per-call heap beyond it.
        assert!(std::mem::size_of::<MapCall>() <= 88);
    }

    /// Lines as the collector writes them (serde_json of a
    /// [`crate::bundle::TraceEvent`]) are read by the line scanner, not
    /// handed to serde_json, and read the same.
    #[test]
    fn the_collectors_lines_take_the_scanner() {
        let mut ev = crate::bundle::TraceEvent {
            seq: u64::MAX,
            time_ns: 20821923192412,
            pid: u32::MAX,
            tid: 0,
            comm: "agent-1".into(),
            cmd: "map_update_elem".into(),
            map_fd: -1,
            map_id: Some(18117),
            flags: 2,
            key: Some("0a0000a5".into()),
            value: Some("00ff".into()),
            ret: i64::MIN + 1,
        };
        let mut lines = vec![serde_json::to_vec(&ev).unwrap()];
        ev.map_id = None;
        ev.key = None;
        ev.value = None;
        ev.ret = 0;
        ev.comm = "кот".into();
        lines.push(serde_json::to_vec(&ev).unwrap());
        for line in &lines {
            let fast = LineReader::default().fast(line, 9);
            let slow = parse_line(line, 9, &mut Interner::default(), &mut Vec::new());
            assert!(fast.is_some(), "{}", String::from_utf8_lossy(line));
            assert_eq!(fast, Some(slow.unwrap()));
        }
    }

    /// The scanner reads a line only when serde_json reads it the same;
    /// everything else (and every error) is serde_json's.
    #[test]
    fn the_scanner_agrees_with_serde_json() {
        let variants = [
            GOOD.to_string(),
            GOOD.replace(",\"pid\"", ", \"pid\""),
            format!("{GOOD} "),
            format!(" {GOOD}"),
            format!("{GOOD}x"),
            GOOD.replace("\"agent\"", "\"a\\\"g\\u0041\""),
            GOOD.replace("\"agent\"", "\"a\tb\""),
            GOOD.replace("\"agent\"", "\"\""),
            GOOD.replace("0a0000a5", "0A0000A5"),
            GOOD.replace("0a0000a5", "0a0000a"),
            GOOD.replace("0a0000a5", "0a0000ag"),
            GOOD.replace("0a0000a5", ""),
            GOOD.replace("\"seq\":0", "\"seq\":00"),
            GOOD.replace("\"seq\":0", "\"seq\":-0"),
            GOOD.replace("\"seq\":0", "\"seq\":1.0"),
            GOOD.replace("\"seq\":0", "\"seq\":1e3"),
            GOOD.replace("\"seq\":0", "\"seq\":18446744073709551615"),
            GOOD.replace("\"seq\":0", "\"seq\":18446744073709551616"),
            GOOD.replace("\"seq\":0", "\"seq\":99999999999999999999"),
            GOOD.replace("\"pid\":10", "\"pid\":4294967295"),
            GOOD.replace("\"pid\":10", "\"pid\":4294967296"),
            GOOD.replace("\"map_fd\":4", "\"map_fd\":-2147483648"),
            GOOD.replace("\"map_fd\":4", "\"map_fd\":-2147483649"),
            GOOD.replace("\"map_fd\":4", "\"map_fd\":2147483648"),
            GOOD.replace("\"ret\":-2", "\"ret\":-9223372036854775808"),
            GOOD.replace("\"ret\":-2", "\"ret\":-9223372036854775807"),
            GOOD.replace("\"ret\":-2", "\"ret\":-"),
            GOOD.replace("\"ret\":-2", "\"ret\":-02"),
            GOOD.replace("\"map_id\":7", "\"map_id\":null"),
            GOOD.replace("\"map_id\":7,", ""),
            GOOD.replace("\"value\":null", "\"value\":\"ff\""),
            GOOD.replace("\"value\":null", "\"value\":\"ff\",\"extra\":[1]"),
            GOOD.replace("\"flags\":0", "\"flags\":0,\"flags\":1"),
            GOOD.replace("map_lookup_elem", "map_lookup_elemx"),
            GOOD.replace("map_lookup_elem", "map_freeze"),
            GOOD.replace("{\"seq\":0,\"time_ns\":5", "{\"time_ns\":5,\"seq\":0"),
            GOOD.replace("}", ""),
        ];
        let mut scanned = 0;
        for v in &variants {
            let line = v.as_bytes();
            let slow = parse_line(line, 3, &mut Interner::default(), &mut Vec::new());
            if let Some(fast) = LineReader::default().fast(line, 3) {
                assert_eq!(Ok(fast), slow, "{v}");
                scanned += 1;
            }
            // And through the reader: calls, or serde_json's words.
            let t = parse_calls(line);
            match slow {
                Ok(call) => assert_eq!(t.calls, [MapCall { line: 1, ..call }], "{v}"),
                Err(message) => {
                    assert!(t.calls.is_empty(), "{v}");
                    assert_eq!(t.problems, [TraceProblem { line: 1, message }], "{v}");
                }
            }
        }
        // GOOD, uppercase and empty hex, an empty name, the largest
        // numbers, a null map id, a value: the scanner's own shapes.
        assert_eq!(scanned, 10);
    }

    /// A small read buffer splits lines (and an over-long one) across
    /// reads: the streamed calls and problems are the whole buffer's.
    #[test]
    fn lines_split_across_reads_are_read_whole() {
        let other = GOOD.replace("0a0000a5", "0b0000a5");
        let text = format!(
            "{GOOD}\r\n{other}\n\n{}\nnot json\n{GOOD}\n{}\n{other}",
            "y".repeat(MAX_LINE),
            "z".repeat(MAX_LINE + 1),
        );
        let whole = parse_calls(text.as_bytes());
        assert_eq!(whole.calls.len(), 4);
        let lines: Vec<u32> = whole.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [4, 5, 7]);
        assert!(whole.problems[2].message.contains("longer than"));
        for cap in [1, 7, 64, 4096] {
            let r = io::BufReader::with_capacity(cap, text.as_bytes());
            let streamed = parse_calls_from(r).unwrap();
            assert_eq!(streamed.calls, whole.calls, "capacity {cap}");
            assert_eq!(streamed.problems, whole.problems, "capacity {cap}");
        }
    }

    #[test]
    fn odd_hex_is_an_error() {
        assert!(hex_decode("abc").unwrap_err().contains("odd"));
        assert_eq!(hex_decode("").unwrap(), Vec::<u8>::new());
    }
}
