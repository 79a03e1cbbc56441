//! The collector's trace of bpf() map calls (`trace/bpf-calls.jsonl`): one
//! JSON [`TraceEvent`] per line. A bad line costs only itself: it is
//! reported with its line number and the rest is read.

use std::io::{self, BufRead, Read};

use std::borrow::Cow;

use crate::model::trace::{Interner, MapCall, MapCmd};

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

/// Longest line read; a longer one is reported and skipped (a traced call
/// is a few hundred bytes: 256-byte keys and values in hex are ~1.2 KB).
const MAX_LINE: usize = 64 * 1024;

/// Reads a trace file's bytes.
pub fn parse_calls(data: &[u8]) -> TraceCalls {
    // Reading from a slice cannot fail.
    parse_calls_from(data).unwrap_or_default()
}

/// Reads a trace line by line from `r` (a bundle member is streamed, never
/// held whole); only I/O errors stop it.
pub fn parse_calls_from<R: BufRead>(mut r: R) -> io::Result<TraceCalls> {
    let mut out = TraceCalls::default();
    let mut interner = Interner::default();
    let mut hex = Vec::new();
    let mut buf = Vec::new();
    let mut number = 0u32;
    loop {
        buf.clear();
        let n = (&mut r)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        number = number.saturating_add(1);
        let result = if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            // Skip the rest of the over-long line without keeping it.
            loop {
                let chunk = r.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                match memchr::memchr(b'\n', chunk) {
                    Some(i) => {
                        r.consume(i + 1);
                        break;
                    }
                    None => {
                        let len = chunk.len();
                        r.consume(len);
                    }
                }
            }
            Err(format!("line longer than {MAX_LINE} bytes"))
        } else {
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            parse_line(line, number, &mut interner, &mut hex)
        };
        match result {
            Ok(call) => out.calls.push(call),
            Err(message) => {
                out.bad_lines += 1;
                if out.problems.len() < MAX_PROBLEMS {
                    out.problems.push(TraceProblem {
                        line: number,
                        message,
                    });
                }
            }
        }
    }
    Ok(out)
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
    let mut bytes = |h: Option<&str>, what: &str| -> Result<Option<std::sync::Arc<[u8]>>, String> {
        let Some(h) = h else { return Ok(None) };
        scratch.clear();
        hex_decode_into(h, scratch).map_err(|why| format!("{what}: {why}"))?;
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
    hex_decode_into(hex, &mut out)?;
    Ok(out)
}

/// Decodes `hex` (lowercase or uppercase, no separators) onto `out`.
fn hex_decode_into(hex: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let b = hex.as_bytes();
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
        assert!(std::sync::Arc::ptr_eq(&keys[0], &keys[2]));
        assert!(std::sync::Arc::ptr_eq(&keys[0], &keys[3]));
        assert!(!std::sync::Arc::ptr_eq(&keys[0], &keys[1]));
        assert_eq!(&keys[1][..], &[0x0b, 0, 0, 0xa5]);
        assert!(std::sync::Arc::ptr_eq(&t.calls[0].comm, &t.calls[1].comm));
        // A call is a fixed-size record: no per-call heap beyond it.
        assert!(std::mem::size_of::<MapCall>() <= 112);
    }

    #[test]
    fn odd_hex_is_an_error() {
        assert!(hex_decode("abc").unwrap_err().contains("odd"));
        assert_eq!(hex_decode("").unwrap(), Vec::<u8>::new());
    }
}
