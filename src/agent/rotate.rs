//! The agent's output directory: bundle names, rotation by count and total
//! size, free space, and temporaries left by a killed agent.

use std::path::{Path, PathBuf};

use crate::bundle::writer::PARTIAL_MARKER;
use crate::collect::host;
use crate::output_file::{temp_pid, TMP_MARKER};

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

/// The agent's record of the bundles it wrote, kept in its output
/// directory (`.bpfcase-watch-ledger`, one `NAME INODE SIZE` line a
/// bundle). Rotation removes only what the ledger names and what still is
/// that file (same inode and size): a file planted under a bundle-like
/// name, or a bundle swapped for another file, is never deleted.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
    entries: Vec<LedgerEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct LedgerEntry {
    name: String,
    ino: u64,
    size: u64,
}

/// The ledger's file name in the output directory.
pub const LEDGER: &str = ".bpfcase-watch-ledger";
/// Most entries read from a ledger (far above any `--keep`).
const MAX_LEDGER_ENTRIES: usize = 100_000;

impl Ledger {
    /// The ledger of `dir`. Without one (a first run, or an agent from
    /// before ledgers), it starts from the agent-named regular files owned
    /// by the running user: the directory was checked to be writable by
    /// that user alone ([`check_out_dir`]), so nobody else put them there.
    pub fn load(dir: &Path) -> Ledger {
        let mut ledger = Ledger {
            dir: dir.to_path_buf(),
            entries: Vec::new(),
        };
        match std::fs::read_to_string(dir.join(LEDGER)) {
            Ok(text) => {
                for line in text.lines().take(MAX_LEDGER_ENTRIES) {
                    let mut it = line.split(' ');
                    if let (Some(name), Some(ino), Some(size), None) =
                        (it.next(), it.next(), it.next(), it.next())
                    {
                        if let (true, Ok(ino), Ok(size)) =
                            (is_agent_bundle(name), ino.parse(), size.parse())
                        {
                            ledger.entries.push(LedgerEntry {
                                name: name.to_string(),
                                ino,
                                size,
                            });
                        }
                    }
                }
            }
            Err(_) => {
                let me = unsafe { libc::geteuid() };
                for e in std::fs::read_dir(dir)
                    .into_iter()
                    .flatten()
                    .filter_map(Result::ok)
                {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if let Some(entry) = is_agent_bundle(&name)
                        .then(|| Ledger::entry_at(dir, &name))
                        .flatten()
                        .filter(|(_, uid)| *uid == me)
                    {
                        ledger.entries.push(entry.0);
                    }
                }
            }
        }
        ledger.entries.sort_by(|a, b| a.name.cmp(&b.name));
        ledger
    }

    /// Records the bundle the agent just wrote at `path` and saves the ledger.
    pub fn record(&mut self, path: &Path) -> std::io::Result<()> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some((entry, _)) = Ledger::entry_at(&self.dir, &name) {
            self.entries.retain(|e| e.name != name);
            self.entries.push(entry);
            self.entries.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.save()
    }

    fn save(&self) -> std::io::Result<()> {
        let mut text = String::new();
        for e in &self.entries {
            text.push_str(&format!("{} {} {}\n", e.name, e.ino, e.size));
        }
        crate::output_file::write(&self.dir.join(LEDGER), text.as_bytes())
    }

    /// The bundles the ledger names that are still the files it recorded,
    /// oldest first, with their sizes. Entries whose file is gone or was
    /// replaced are forgotten.
    pub fn bundles(&mut self) -> Vec<(PathBuf, u64)> {
        let dir = self.dir.clone();
        self.entries
            .retain(|e| Ledger::entry_at(&dir, &e.name).is_some_and(|(now, _)| now == *e));
        self.entries
            .iter()
            .map(|e| (dir.join(&e.name), e.size))
            .collect()
    }

    /// What `name` in `dir` is now, with its owner, if a regular file
    /// (a link is not followed).
    fn entry_at(dir: &Path, name: &str) -> Option<(LedgerEntry, u32)> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(dir.join(name)).ok()?;
        m.is_file().then(|| {
            let entry = LedgerEntry {
                name: name.to_string(),
                ino: m.ino(),
                size: m.len(),
            };
            (entry, m.uid())
        })
    }
}

/// Refuses an output directory another user could write into: it must be a
/// directory owned by the running user and writable by neither group nor
/// others (else a planted or swapped file could be rotated away, analysed or
/// served as a bundle).
pub fn check_out_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(dir)?;
    let me = unsafe { libc::geteuid() };
    let why = if !m.is_dir() {
        "is not a directory".to_string()
    } else if m.uid() != me {
        format!(
            "is owned by uid {}, not by the agent's user (uid {me}): another user could \
             plant or swap bundles there; use a directory of the agent's own",
            m.uid()
        )
    } else if m.mode() & 0o022 != 0 {
        format!(
            "is writable by {} (mode {:04o}): another user could plant or swap bundles \
             there; `chmod go-w` it or use a directory only the agent's user can write",
            if m.mode() & 0o002 != 0 {
                "everyone"
            } else {
                "its group"
            },
            m.mode() & 0o7777
        )
    } else {
        return Ok(());
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        why,
    ))
}

/// What is kept after a rotation.
#[derive(Debug, Default)]
pub struct Kept {
    pub bundles: u64,
    pub bytes: u64,
    /// Bundles that could not be removed, as messages.
    pub errors: Vec<String>,
}

/// Removes the oldest bundles of the ledger until at most `keep` remain and
/// they take at most `max_bytes` together; the newest is never removed.
pub fn rotate(ledger: &mut Ledger, keep: usize, max_bytes: u64) -> Kept {
    let list = ledger.bundles();
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
            .is_some_and(|n| is_agent_bundle(n.split(PARTIAL_MARKER).next().unwrap_or("")));
        if ours
            && temp_pid(&name, PARTIAL_MARKER).is_some_and(dead)
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
    let prefix = format!(".{}{TMP_MARKER}", name.to_string_lossy());
    for e in std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && temp_pid(&n, TMP_MARKER).is_some_and(dead) {
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
        // No ledger yet: it starts from the agent-named files.
        let mut ledger = Ledger::load(&dir);
        let k = rotate(&mut ledger, 3, u64::MAX);
        assert_eq!((k.bundles, k.bytes), (3, 900));
        let k = rotate(&mut ledger, 3, 750);
        assert_eq!((k.bundles, k.bytes), (2, 700));
        // The newest stays even when it alone is over the size.
        let k = rotate(&mut ledger, 3, 10);
        assert_eq!((k.bundles, k.bytes), (1, 400));
        assert!(dir.join("other.tar").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rotation_removes_only_what_the_ledger_recorded() {
        let dir = std::env::temp_dir().join(format!("bpfcase-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut ledger = Ledger::load(&dir);
        let ours = dir.join("bpfcase-20260101T000000.000Z-h.tar");
        std::fs::write(&ours, b"a bundle").unwrap();
        ledger.record(&ours).unwrap();
        // Planted after the ledger exists, named like an older and a newer bundle.
        let older = dir.join("bpfcase-20250101T000000.000Z-h.tar");
        let newer = dir.join("bpfcase-20270101T000000.000Z-h.tar");
        std::fs::write(&older, b"planted").unwrap();
        std::fs::write(&newer, b"planted").unwrap();
        let mut ledger = Ledger::load(&dir);
        let k = rotate(&mut ledger, 1, u64::MAX);
        assert_eq!(k.bundles, 1);
        assert!(ours.exists() && older.exists() && newer.exists());
        // A recorded bundle swapped for another file is forgotten, not deleted.
        let ours2 = dir.join("bpfcase-20260102T000000.000Z-h.tar");
        std::fs::write(&ours2, b"second").unwrap();
        ledger.record(&ours2).unwrap();
        std::fs::remove_file(&ours).unwrap();
        std::fs::write(&ours, b"swapped in").unwrap();
        let k = rotate(&mut ledger, 1, u64::MAX);
        assert_eq!(k.bundles, 1);
        assert!(ours.exists() && ours2.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shared_output_directories_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("bpfcase-outdir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        check_out_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let e = check_out_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("writable by everyone"), "{e}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
        let e = check_out_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("writable by its group"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
