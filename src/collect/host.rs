//! The node itself: uname, CPU lists, clock, and small /proc and /sys readers.

use std::os::fd::{AsRawFd, OwnedFd};

use crate::bundle::HostInfo;

/// Parses a kernel CPU list (`0-3,8,10-11`) into the number of CPUs it names.
/// Returns `None` for text that is not a CPU list.
pub fn count_cpu_list(list: &str) -> Option<u32> {
    let list = list.trim();
    if list.is_empty() {
        return Some(0);
    }
    let mut n: u32 = 0;
    for part in list.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
            None => {
                let v = part.parse::<u32>().ok()?;
                (v, v)
            }
        };
        if hi < lo {
            return None;
        }
        n = n.checked_add(hi - lo + 1)?;
    }
    Some(n)
}

fn uname() -> (String, String, String) {
    // SAFETY: utsname is plain bytes; uname fills it or fails.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return (String::new(), String::new(), String::new());
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().map(|&c| c as u8).collect();
        super::sys::c_name(&bytes)
    };
    (field(&u.nodename), field(&u.release), field(&u.machine))
}

/// Hostname, kernel release, machine and CPU lists of this node.
pub fn host_info() -> Result<HostInfo, String> {
    let (hostname, kernel_release, machine) = uname();
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("{p}: {e}"))
    };
    let possible = read("/sys/devices/system/cpu/possible")?;
    let online = read("/sys/devices/system/cpu/online").unwrap_or_default();
    let possible_cpus = count_cpu_list(&possible)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("/sys/devices/system/cpu/possible: not a CPU list: {possible:?}"))?;
    Ok(HostInfo {
        hostname,
        kernel_release,
        machine,
        possible_cpus,
        possible,
        online,
    })
}

/// Reads `/proc/self/fdinfo/FD` of one of our own fds.
pub fn own_fdinfo(fd: &OwnedFd) -> Option<String> {
    std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()
}

/// The value of a `name:\tvalue` line of an fdinfo text.
pub fn fdinfo_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// What kind of BPF object an fd is, from `readlink /proc/PID/fd/N`
/// (`anon_inode:bpf-map`, `anon_inode:bpf-prog`, `anon_inode:bpf_link`, `anon_inode:btf`).
pub fn fd_kind(link: &str) -> Option<&'static str> {
    Some(match link {
        "anon_inode:bpf-map" => "map",
        "anon_inode:bpf-prog" => "prog",
        "anon_inode:bpf_link" => "link",
        "anon_inode:btf" => "btf",
        _ => return None,
    })
}

/// Seconds and nanoseconds since the Unix epoch.
pub fn now_unix() -> (u64, u32) {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs(), d.subsec_nanos())
}

/// RFC 3339 UTC time with milliseconds, `2026-11-26T01:48:52.123Z`.
pub fn rfc3339(secs: u64, nanos: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        nanos / 1_000_000
    )
}

/// Parses a duration: a number with `ms`, `s`, `m` or `h` (`60s`, `500ms`, `2m`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a number with a unit, e.g. 60s or 500ms"))?;
    let secs = match unit {
        "ms" => v / 1000.0,
        "s" | "" => v,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    if !secs.is_finite() || !(0.0..=31_536_000.0).contains(&secs) {
        return Err(format!("{s:?}: out of range"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Parses a byte count with an optional `K`, `M`, `G` suffix (powers of 1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&s[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?}: expected a byte count like 500M"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-1\n"), Some(2));
        assert_eq!(count_cpu_list("0-3,8,10-11"), Some(7));
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list("x"), None);
    }

    #[test]
    fn fdinfo_fields() {
        let t = "pos:\t0\nflags:\t02000002\nmap_type:\t1\nmap_id:\t130\nfrozen:\t0\n";
        assert_eq!(fdinfo_field(t, "map_id"), Some("130"));
        assert_eq!(fdinfo_field(t, "frozen"), Some("0"));
        assert_eq!(fdinfo_field(t, "prog_id"), None);
    }

    #[test]
    fn times() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(1_795_657_732, 123_000_000),
            "2026-11-26T01:48:52.123Z"
        );
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("60s").unwrap().as_secs(), 60);
        assert_eq!(parse_duration("500ms").unwrap().as_millis(), 500);
        assert_eq!(parse_duration("2m").unwrap().as_secs(), 120);
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("s").is_err());
        assert_eq!(parse_bytes("500M").unwrap(), 500 << 20);
        assert_eq!(parse_bytes("12").unwrap(), 12);
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn fd_kinds() {
        assert_eq!(fd_kind("anon_inode:bpf-map"), Some("map"));
        assert_eq!(fd_kind("socket:[123]"), None);
    }
}
