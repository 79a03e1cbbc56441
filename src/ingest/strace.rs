//! `strace -e trace=bpf` logs: the map element calls (`BPF_MAP_LOOKUP_ELEM`,
//! `…_UPDATE_ELEM`, `…_DELETE_ELEM`, `…_GET_NEXT_KEY`,
//! `…_LOOKUP_AND_DELETE_ELEM`) with their fd, flags and result, and the pins
//! `BPF_OBJ_GET` opened. strace prints pointers, not the bytes they point at,
//! so these calls carry no key bytes: they tell which calls failed and how,
//! not which bytes were wrong (`bpfcase collect --trace-pid` records those).
//!
//! Accepted line shapes (strace 5–6): an optional pid (`-f -o FILE`: `123 `,
//! `-f` to a terminal: `[pid 123] `), an optional time stamp (`-t`, `-tt`,
//! `-ttt`, `-r`), then the call. `-y` fd decorations (`4<anon_inode:bpf-map>`)
//! are read. Calls split by `<unfinished ...>` / `<... bpf resumed>` are
//! joined per pid. Lines of other syscalls, signals and exits are skipped;
//! a `bpf(` line that does not parse is reported with its line number.

use std::collections::HashMap;

use crate::ingest::trace::TraceProblem;
use crate::model::trace::{MapCall, MapCmd};

/// Problems kept per file; past this only the count goes up.
const MAX_PROBLEMS: usize = 20;
/// Longest unfinished call text kept while waiting for its resumption.
use crate::limits::MAX_STRACE_PENDING_BYTES as MAX_PENDING;

/// What an strace log held.
#[derive(Debug, Default)]
pub struct StraceLog {
    pub calls: Vec<MapCall>,
    /// `BPF_OBJ_GET` calls that returned an fd: (pid, fd, pinned path).
    /// pid is 0 when the log has no pids.
    pub pin_fds: Vec<(u32, i32, String)>,
    pub problems: Vec<TraceProblem>,
    pub bad_lines: u64,
}

/// True when `data` looks like an strace log of bpf() calls: one of its
/// first lines is a `bpf(BPF_…` call.
pub fn looks_like_strace(data: &[u8]) -> bool {
    let head = &data[..data.len().min(64 * 1024)];
    String::from_utf8_lossy(head)
        .lines()
        .take(200)
        .any(|l| l.contains("bpf(BPF_") || l.contains("<... bpf resumed>"))
}

/// Reads an strace log.
pub fn parse(data: &[u8]) -> StraceLog {
    let text = String::from_utf8_lossy(data);
    let mut log = StraceLog::default();
    // strace logs carry no command names: one shared empty name.
    let no_name = crate::model::trace::SharedStr::from("");
    let mut pending: HashMap<u32, (u32, String)> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let (pid, rest) = split_pid(raw);
        let rest = skip_time(rest);
        let (start_line, call) = if let Some(tail) = rest.strip_prefix("<... bpf resumed>") {
            match pending.remove(&pid) {
                Some((line, head)) => (line, format!("{head}{tail}")),
                None => continue,
            }
        } else if rest.starts_with("bpf(") {
            if let Some(head) = rest.strip_suffix("<unfinished ...>") {
                if head.len() <= MAX_PENDING {
                    pending.insert(pid, (number, head.trim_end().to_string()));
                }
                continue;
            }
            (number, rest.to_string())
        } else {
            continue;
        };
        match parse_call(&call) {
            Ok(None) => {}
            Ok(Some(Parsed::Map(cmd, fd, flags, ret))) => log.calls.push(MapCall {
                seq: log.calls.len() as u64,
                line: start_line,
                time_ns: 0,
                pid,
                tid: pid,
                comm: no_name.clone(),
                cmd,
                map_fd: fd,
                map_id: None,
                flags,
                key: None,
                value: None,
                ret,
            }),
            Ok(Some(Parsed::ObjGet(path, fd))) => log.pin_fds.push((pid, fd, path)),
            Err(message) => {
                log.bad_lines += 1;
                if log.problems.len() < MAX_PROBLEMS {
                    log.problems.push(TraceProblem {
                        line: start_line,
                        message,
                    });
                }
            }
        }
    }
    log
}

/// A leading pid (`123 ` or `[pid 123] `), 0 when there is none.
fn split_pid(line: &str) -> (u32, &str) {
    if let Some(rest) = line.strip_prefix("[pid ") {
        if let Some((n, rest)) = rest.split_once(']') {
            if let Ok(pid) = n.trim().parse() {
                return (pid, rest.trim_start());
            }
        }
    }
    match line.split_once(' ') {
        Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (n.parse().unwrap_or(0), rest.trim_start())
        }
        _ => (0, line),
    }
}

/// Skips a `-t`/`-tt`/`-ttt`/`-r` time stamp.
fn skip_time(line: &str) -> &str {
    match line.split_once(' ') {
        Some((t, rest))
            if !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_digit() || b == b':' || b == b'.')
                && t.bytes().any(|b| b == b':' || b == b'.') =>
        {
            rest.trim_start()
        }
        _ => line,
    }
}

enum Parsed {
    /// cmd, map fd, flags, return value.
    Map(MapCmd, i32, u64, i64),
    /// A pin opened: path, fd.
    ObjGet(String, i32),
}

/// One whole `bpf(CMD, {…}, SIZE) = RET …` call; `Ok(None)` for commands
/// that are not map element calls or `BPF_OBJ_GET`.
fn parse_call(call: &str) -> Result<Option<Parsed>, String> {
    let body = call.strip_prefix("bpf(").ok_or("not a bpf( call")?;
    let (cmd, rest) = body
        .split_once(',')
        .ok_or("no argument after the command")?;
    let cmd = cmd.trim();
    let map_cmd = match cmd {
        "BPF_MAP_LOOKUP_ELEM" => Some(MapCmd::Lookup),
        "BPF_MAP_UPDATE_ELEM" => Some(MapCmd::Update),
        "BPF_MAP_DELETE_ELEM" => Some(MapCmd::Delete),
        "BPF_MAP_GET_NEXT_KEY" => Some(MapCmd::GetNextKey),
        "BPF_MAP_LOOKUP_AND_DELETE_ELEM" => Some(MapCmd::LookupAndDelete),
        "BPF_OBJ_GET" => None,
        _ => return Ok(None),
    };
    let ret = parse_result(call)?;
    let Some(ret) = ret else {
        // `= ?`: the process went away before the call returned.
        return Ok(None);
    };
    let attrs = rest
        .trim_start()
        .strip_prefix('{')
        .and_then(|a| a.split_once('}'))
        .map(|(a, _)| a)
        .ok_or("no {...} attribute block")?;
    match map_cmd {
        Some(cmd) => {
            let fd = attr(attrs, "map_fd").ok_or("no map_fd")?;
            let fd = leading_int(fd).ok_or_else(|| format!("map_fd {fd:?} is not a number"))?;
            let flags = match attr(attrs, "flags") {
                Some(f) => parse_flags(f)?,
                None => 0,
            };
            Ok(Some(Parsed::Map(cmd, fd as i32, flags, ret)))
        }
        None => {
            if ret < 0 {
                return Ok(None);
            }
            let path = attr(attrs, "pathname").ok_or("BPF_OBJ_GET without pathname")?;
            let path = path.trim_matches('"').to_string();
            Ok(Some(Parsed::ObjGet(path, ret as i32)))
        }
    }
}

/// `Some(ret)` from `) = 0`, `) = -1 ENOENT (…)`, `) = 4<anon_inode:bpf-map>`;
/// `None` for `) = ?`.
fn parse_result(call: &str) -> Result<Option<i64>, String> {
    let (_, result) = call.rsplit_once(") = ").ok_or("no `) = RESULT`")?;
    let result = result.trim();
    if result.starts_with('?') {
        return Ok(None);
    }
    if let Some(err) = result.strip_prefix("-1 ") {
        let name = err.split_whitespace().next().unwrap_or("");
        let errno = errno_of(name).ok_or_else(|| format!("unknown errno {name:?}"))?;
        return Ok(Some(-errno));
    }
    leading_int(result)
        .map(Some)
        .ok_or_else(|| format!("result {result:?} is not a number"))
}

/// The value of `name=` in an attribute list `a=1, b=0x2, c=X<y>`.
fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    attrs.split(", ").find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == name).then_some(v.trim())
    })
}

/// The decimal number a value starts with (`4` of `4<anon_inode:bpf-map>`).
fn leading_int(v: &str) -> Option<i64> {
    let end = v
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(v.len(), |(i, _)| i);
    v[..end].parse().ok()
}

/// `BPF_ANY`, `BPF_NOEXIST|BPF_F_LOCK`, `0x4`, `4`.
fn parse_flags(v: &str) -> Result<u64, String> {
    let mut flags = 0;
    for part in v.split('|') {
        let part = part.trim();
        flags |= match part {
            "BPF_ANY" => 0,
            "BPF_NOEXIST" => 1,
            "BPF_EXIST" => 2,
            "BPF_F_LOCK" => 4,
            _ => match part.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => part.parse(),
            }
            .map_err(|_| format!("unknown flag {part:?}"))?,
        };
    }
    Ok(flags)
}

fn errno_of(name: &str) -> Option<i64> {
    Some(match name {
        "EPERM" => 1,
        "ENOENT" => 2,
        "ESRCH" => 3,
        "EINTR" => 4,
        "E2BIG" => 7,
        "EBADF" => 9,
        "EAGAIN" => 11,
        "ENOMEM" => 12,
        "EACCES" => 13,
        "EFAULT" => 14,
        "EBUSY" => 16,
        "EEXIST" => 17,
        "EINVAL" => 22,
        "ENOSPC" => 28,
        "ERANGE" => 34,
        "ENOSYS" => 38,
        "ENOTSUPP" => 524,
        "EOPNOTSUPP" => 95,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shapes_strace_prints_are_read() {
        let log = "\
17678 05:40:57.998084 bpf(BPF_MAP_UPDATE_ELEM, {map_fd=4<anon_inode:bpf-map>, key=0x7ffeab00a6d8, value=0x7ffeab00a710, flags=BPF_ANY}, 32) = 0
17678 05:40:57.998099 bpf(BPF_MAP_LOOKUP_ELEM, {map_fd=4<anon_inode:bpf-map>, key=0x7ffeab00a6e4, value=0x7ffeab00a710, flags=BPF_ANY}, 32) = -1 ENOENT (No such file or directory)
[pid 12] bpf(BPF_MAP_UPDATE_ELEM, {map_fd=6, key=0x1, value=0x2, flags=BPF_NOEXIST|BPF_F_LOCK}, 32) = -1 EEXIST (File exists)
bpf(BPF_MAP_DELETE_ELEM, {map_fd=5, key=0x7ffc2799cab4}, 32) = 0
bpf(BPF_OBJ_GET, {pathname=\"/sys/fs/bpf/x/conns\", bpf_fd=0, file_flags=0}, 16) = 7
bpf(BPF_BTF_LOAD, {btf=\"\\237\\353,}{\"..., btf_size=45}, 28) = 3
30 bpf(BPF_MAP_LOOKUP_ELEM, {map_fd=4, key=0x1, value=0x2, flags=BPF_ANY}, 32 <unfinished ...>
31 getpid() = 31
30 <... bpf resumed>) = -1 ENOENT (No such file or directory)
+++ exited with 0 +++
";
        let l = parse(log.as_bytes());
        assert_eq!(l.bad_lines, 0, "{:?}", l.problems);
        let got: Vec<(u32, MapCmd, i32, u64, i64, u32)> = l
            .calls
            .iter()
            .map(|c| (c.pid, c.cmd, c.map_fd, c.flags, c.ret, c.line))
            .collect();
        assert_eq!(
            got,
            [
                (17678, MapCmd::Update, 4, 0, 0, 1),
                (17678, MapCmd::Lookup, 4, 0, -2, 2),
                (12, MapCmd::Update, 6, 5, -17, 3),
                (0, MapCmd::Delete, 5, 0, 0, 4),
                (30, MapCmd::Lookup, 4, 0, -2, 7),
            ]
        );
        assert_eq!(l.pin_fds, [(0, 7, "/sys/fs/bpf/x/conns".to_string())]);
        assert!(looks_like_strace(log.as_bytes()));
    }

    #[test]
    fn a_broken_call_is_reported_by_line() {
        let log = "bpf(BPF_MAP_LOOKUP_ELEM, {map_fd=x, key=0x1}, 32) = 0\nbpf(BPF_MAP_LOOKUP_ELEM, {map_fd=3}, 32) = -1 EWHAT (?)\nbpf(BPF_MAP_LOOKUP_ELEM\n";
        let l = parse(log.as_bytes());
        let lines: Vec<u32> = l.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 2, 3]);
        assert!(l.problems[0].message.contains("map_fd"));
        assert!(l.problems[1].message.contains("EWHAT"));
        assert!(l.calls.is_empty());
        assert!(!looks_like_strace(b"key: 00 01\nvalue: 02\n"));
    }
}
