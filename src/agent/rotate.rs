//! The agent's output directory: bundle names, rotation by count and total
//! size, free space, and temporaries left by a killed agent.

use std::path::{Path, PathBuf};

use crate::collect::host;

/// `bpfcase-20261126T015607.836Z-HOST.tar`: UTC time first, so names sort
/// in time order whatever the host is called.
pub fn bundle_name(host: &str) -> String {
    let (s, n) = host::now_unix();
    let t = host::rfc3339(s, n).replace(['-', ':'], "");
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("bpfcase-{t}-{host}.tar")
}

/// Whether `name` is a bundle the agent wrote (`bundle_name`'s shape).
fn is_agent_bundle(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("bpfcase-") else {
        return false;
    };
    let b = rest.as_bytes();
    name.ends_with(".tar") && b.len() > 9 && b[..8].iter().all(u8::is_ascii_digit) && b[8] == b'T'
}

/// The agent's bundles in `dir`, oldest first, with their sizes.
pub fn bundles(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out: Vec<(PathBuf, u64)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| is_agent_bundle(&e.file_name().to_string_lossy()))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            m.is_file().then(|| (e.path(), m.len()))
        })
        .collect();
    out.sort();
    out
}

/// What is kept after a rotation.
#[derive(Debug, Default)]
pub struct Kept {
    pub bundles: u64,
    pub bytes: u64,
    /// Bundles that could not be removed, as messages.
    pub errors: Vec<String>,
}

/// Removes the oldest bundles until at most `keep` remain and they take at
/// most `max_bytes` together; the newest is never removed.
pub fn rotate(dir: &Path, keep: usize, max_bytes: u64) -> Kept {
    let list = bundles(dir);
    let mut total: u64 = list.iter().map(|(_, n)| n).sum();
    let mut count = list.len();
    let mut kept = Kept::default();
    for (path, size) in &list {
        if count <= 1 || (count <= keep.max(1) && total <= max_bytes) {
            break;
        }
        match std::fs::remove_file(path) {
            Ok(()) => {
                count -= 1;
                total -= size;
            }
            Err(e) => kept
                .errors
                .push(format!("cannot remove {}: {e}", path.display())),
        }
    }
    kept.bundles = count as u64;
    kept.bytes = total;
    kept
}

/// Bytes available to an unprivileged writer on `dir`'s filesystem
/// (`statvfs` `f_bavail × f_frsize`: the root reserve is not counted).
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: statvfs writes only into the struct we pass; `c` is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// Whether process `pid` is gone.
fn dead(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// The pid at the end of a temporary name (`….partial-PID`, `….tmp-PID`).
fn temp_pid(name: &str, marker: &str) -> Option<u32> {
    let (_, pid) = name.rsplit_once(marker)?;
    pid.parse().ok()
}

/// Removes collect's temporaries (`.bpfcase-….tar.partial-PID`) in `dir`
/// whose writer is gone (an agent killed with SIGKILL, or OOM-killed):
/// they would count against the disk for ever. Returns what was removed.
pub fn remove_stale_temps(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for e in std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = name
            .strip_prefix('.')
            .is_some_and(|n| is_agent_bundle(n.split(".partial-").next().unwrap_or("")));
        if ours
            && temp_pid(&name, ".partial-").is_some_and(dead)
            && std::fs::remove_file(e.path()).is_ok()
        {
            removed.push(e.path());
        }
    }
    removed
}

/// Removes temporaries of the metrics file `path` (`.NAME.tmp-PID`) whose
/// writer is gone.
pub fn remove_stale_temps_of(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    for e in std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && temp_pid(&n, ".tmp-").is_some_and(dead) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_and_are_recognised() {
        let a = bundle_name("node/1");
        assert!(is_agent_bundle(&a), "{a}");
        assert!(a.ends_with("-node_1.tar"), "{a}");
        assert!(!is_agent_bundle("bpfcase-notes.tar"));
        assert!(!is_agent_bundle("case.tar"));
    }

    #[test]
    fn rotation_keeps_the_newest_by_count_and_size() {
        let dir = std::env::temp_dir().join(format!("bpfcase-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, size) in [100usize, 200, 300, 400].iter().enumerate() {
            let p = dir.join(format!("bpfcase-2026010{i}T000000.000Z-h.tar"));
            std::fs::write(p, vec![0u8; *size]).unwrap();
        }
        std::fs::write(dir.join("other.tar"), b"not ours").unwrap();
        let k = rotate(&dir, 3, u64::MAX);
        assert_eq!((k.bundles, k.bytes), (3, 900));
        let k = rotate(&dir, 3, 750);
        assert_eq!((k.bundles, k.bytes), (2, 700));
        // The newest stays even when it alone is over the size.
        let k = rotate(&dir, 3, 10);
        assert_eq!((k.bundles, k.bytes), (1, 400));
        assert!(dir.join("other.tar").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
