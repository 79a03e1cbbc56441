//! Walkers over the node's namespaces of BPF objects that are not ids: pins
//! under bpffs, and the fds processes hold (`/proc/PID/fd` + `fdinfo`).
//! Both walks are bounded in depth and count, and never follow symlinks.

use std::path::{Path, PathBuf};

use super::host::{fd_kind, fdinfo_field};
use super::sys;
use crate::bundle::{FdRecord, PinRecord, ProcessRecord};

/// Deepest directory nesting followed under a bpffs mount.
const MAX_PIN_DEPTH: usize = 32;
/// Most pins recorded (a runaway tree cannot exhaust memory).
pub const MAX_PINS: usize = 100_000;

/// Walks `root` recursively; each regular file is opened with `BPF_OBJ_GET`
/// (maps read-only) to learn its kind and id. Failures are returned per path.
pub fn walk_pins(root: &Path) -> (Vec<PinRecord>, Vec<(String, String)>) {
    let mut pins = Vec::new();
    let mut errors = Vec::new();
    let mut stack: Vec<(PathBuf, usize)> = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let rd = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) => {
                errors.push((dir.display().to_string(), e.to_string()));
                continue;
            }
        };
        let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if depth + 1 < MAX_PIN_DEPTH {
                    stack.push((path, depth + 1));
                } else {
                    errors.push((path.display().to_string(), "too deep, not walked".into()));
                }
            } else if ft.is_file() {
                if pins.len() >= MAX_PINS {
                    errors.push((
                        root.display().to_string(),
                        format!("more than {MAX_PINS} pins; rest not listed"),
                    ));
                    return (pins, errors);
                }
                match pin_record(&path) {
                    Ok(p) => pins.push(p),
                    Err(err) => {
                        // ENOENT: a bpffs file that is no pinned object (the
                        // kernel's preloaded `maps.debug` iterators); listed
                        // as `unknown`, not an error.
                        if err.raw_os_error() != Some(libc::ENOENT) {
                            errors.push((path.display().to_string(), err.to_string()));
                        }
                        pins.push(PinRecord {
                            path: path.display().to_string(),
                            kind: "unknown".into(),
                            id: 0,
                        });
                    }
                }
            }
        }
    }
    pins.sort_by(|a, b| a.path.cmp(&b.path));
    (pins, errors)
}

fn pin_record(path: &Path) -> std::io::Result<PinRecord> {
    use std::os::fd::AsRawFd;
    let fd = sys::obj_get(path)?;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
    let kind = fd_kind(&link.to_string_lossy()).unwrap_or("unknown");
    let id = match kind {
        "map" => sys::map_info(&fd)?.id,
        "prog" => sys::prog_info(&fd)?.0.id,
        "link" => sys::link_info(&fd)?.id,
        _ => 0,
    };
    Ok(PinRecord {
        path: path.display().to_string(),
        kind: kind.to_string(),
        id,
    })
}

/// One process's BPF fds, with the raw fdinfo texts (fd, text).
pub struct ProcessScan {
    pub record: ProcessRecord,
    pub fdinfos: Vec<(u32, String)>,
}

/// Most fds looked at per process.
const MAX_FDS_PER_PROCESS: usize = 1 << 20;

/// Every thread id alive now, ascending: `/proc/PID/task/TID` of each
/// process (a key field named `pid` often holds a thread id). Bounded by
/// the kernel's thread count; a process that exits meanwhile is skipped.
pub fn live_thread_ids() -> Vec<u32> {
    let ids = |dir: &str| -> Vec<u32> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out: Vec<u32> = ids("/proc")
        .into_iter()
        .flat_map(|pid| ids(&format!("/proc/{pid}/task")))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Scans `/proc/*/fd` (or only `pids`) for BPF object fds. Our own process is
/// left out: its fds are the collector's.
pub fn scan_processes(pids: &[u32]) -> (Vec<ProcessScan>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let me = std::process::id();
    let candidates: Vec<u32> = if pids.is_empty() {
        match std::fs::read_dir("/proc") {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect(),
            Err(e) => {
                errors.push(("/proc".into(), e.to_string()));
                return (out, errors);
            }
        }
    } else {
        pids.to_vec()
    };
    for pid in candidates {
        if pid == me {
            continue;
        }
        let fd_dir = format!("/proc/{pid}/fd");
        let rd = match std::fs::read_dir(&fd_dir) {
            Ok(r) => r,
            Err(e) => {
                // Processes come and go; only the ones asked for by --pid matter.
                if !pids.is_empty() {
                    errors.push((format!("pid {pid}"), e.to_string()));
                }
                continue;
            }
        };
        let mut fds = Vec::new();
        let mut fdinfos = Vec::new();
        for e in rd.filter_map(Result::ok).take(MAX_FDS_PER_PROCESS) {
            let Some(fd) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(link) = std::fs::read_link(e.path()) else {
                continue;
            };
            let Some(kind) = fd_kind(&link.to_string_lossy()) else {
                continue;
            };
            let text =
                std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap_or_default();
            let id = |name| fdinfo_field(&text, name).and_then(|v| v.parse().ok());
            fds.push(FdRecord {
                fd,
                kind: kind.to_string(),
                map_id: id("map_id"),
                prog_id: id("prog_id"),
                fdinfo: None,
            });
            fdinfos.push((fd, text));
        }
        if fds.is_empty() {
            continue;
        }
        fds.sort_by_key(|f| f.fd);
        fdinfos.sort_by_key(|f| f.0);
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        out.push(ProcessScan {
            record: ProcessRecord {
                pid,
                comm,
                exe,
                fds,
                binary: None,
            },
            fdinfos,
        });
    }
    out.sort_by_key(|p| p.record.pid);
    (out, errors)
}
