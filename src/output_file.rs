//! The one way bpfcase writes a file. bpfcase runs as root and is pointed at
//! paths in directories other users can write (`/tmp`, a shared report
//! folder), so every report, bundle, metrics file and man page goes through
//! here:
//!
//! - the target's directory is opened once and everything after happens
//!   relative to that handle (`openat`, `fstatat`, `renameat`), so swapping a
//!   path component mid-way changes nothing;
//! - the data goes to a temporary file beside the target, created with
//!   `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600, under a name with 64 random bits
//!   (a planted name cannot be guessed, and a link at it is never followed);
//! - it is renamed over the target when complete: a symbolic link at the
//!   target is replaced, never followed, and readers (node_exporter's
//!   textfile collector, a script) see the old file or the whole new one;
//! - an existing FIFO, device, socket or directory at the target is refused
//!   (writing into it in place reached a block device at offset 0);
//! - `-` and `/dev/stdout` mean standard output, `/dev/stderr` standard
//!   error and `/dev/null` nothing, so those common spellings keep working
//!   without special files being written through.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where a path given for output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `-` or `/dev/stdout`.
    Stdout,
    /// `/dev/stderr`.
    Stderr,
    /// `/dev/null`: written nowhere.
    Null,
    /// A file, written through [`OutputFile`].
    File(PathBuf),
}

impl Destination {
    /// What `path` names as an output.
    pub fn of(path: &Path) -> Destination {
        match path.as_os_str().as_bytes() {
            b"-" | b"/dev/stdout" => Destination::Stdout,
            b"/dev/stderr" => Destination::Stderr,
            b"/dev/null" => Destination::Null,
            _ => Destination::File(path.to_path_buf()),
        }
    }
}

/// A file being written: a temporary beside the target until [`commit`],
/// which renames it into place. Dropped uncommitted, the temporary is
/// removed and the target is as it was.
///
/// [`commit`]: OutputFile::commit
#[derive(Debug)]
pub struct OutputFile {
    dir: OwnedFd,
    file: Option<File>,
    tmp_name: CString,
    name: CString,
    target: PathBuf,
}

/// The part of a temporary name that marks whose it is (`.NAME.tmp-PID-…`):
/// a later run can tell a dead writer's leftovers by the pid.
pub const TMP_MARKER: &str = ".tmp-";

impl OutputFile {
    /// Starts writing `target` (a temporary `.NAME.tmp-PID-RANDOM` beside it).
    pub fn create(target: &Path) -> io::Result<OutputFile> {
        OutputFile::create_marked(target, TMP_MARKER)
    }

    /// As [`create`](OutputFile::create), with `marker` in the temporary's
    /// name instead of `.tmp-` (collect's bundles use `.partial-`).
    pub fn create_marked(target: &Path, marker: &str) -> io::Result<OutputFile> {
        let (dir_path, name) = split(target)?;
        let dir = open_dir(&dir_path)?;
        check_target(&dir, &name, target)?;
        let pid = std::process::id();
        // A name already taken (planted, or a leftover) is skipped, never
        // opened: O_EXCL fails on it, and a fresh random name is drawn.
        let mut last = None;
        for _ in 0..8 {
            let mut tmp = Vec::with_capacity(name.as_bytes().len() + 40);
            tmp.push(b'.');
            tmp.extend_from_slice(name.as_bytes());
            tmp.extend_from_slice(marker.as_bytes());
            tmp.extend_from_slice(format!("{pid}-{:016x}", random_u64()?).as_bytes());
            let tmp_name = CString::new(tmp).map_err(invalid)?;
            // SAFETY: `dir` is an open directory and `tmp_name` NUL-terminated.
            let fd = unsafe {
                libc::openat(
                    dir.as_raw_fd(),
                    tmp_name.as_ptr(),
                    libc::O_WRONLY
                        | libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC,
                    0o600 as libc::c_uint,
                )
            };
            if fd < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::AlreadyExists {
                    last = Some(e);
                    continue;
                }
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "cannot create a temporary file in {}: {e}",
                        dir_path.display()
                    ),
                ));
            }
            // SAFETY: `fd` was just opened and is owned by nobody else.
            let file = unsafe { File::from_raw_fd(fd) };
            return Ok(OutputFile {
                dir,
                file: Some(file),
                tmp_name,
                name,
                target: target.to_path_buf(),
            });
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    /// The temporary file's path (it becomes the target on commit).
    pub fn tmp_path(&self) -> PathBuf {
        let parent = self.target.parent().unwrap_or(Path::new(""));
        parent.join(OsStr::from_bytes(self.tmp_name.as_bytes()))
    }

    /// The path this file will have.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs when `sync`, and renames the temporary over the
    /// target. A symbolic link there is replaced; anything that is neither a
    /// regular file nor a link, put there since `create`, is refused.
    pub fn commit_with(mut self, sync: bool) -> io::Result<PathBuf> {
        let result = (|| {
            let mut file = self
                .file
                .take()
                .ok_or_else(|| io::Error::other("committed"))?;
            file.flush()?;
            if sync {
                file.sync_all()?;
            }
            drop(file);
            check_target(&self.dir, &self.name, &self.target)?;
            // SAFETY: both names are NUL-terminated and relative to `dir`.
            let rc = unsafe {
                libc::renameat(
                    self.dir.as_raw_fd(),
                    self.tmp_name.as_ptr(),
                    self.dir.as_raw_fd(),
                    self.name.as_ptr(),
                )
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(self.target.clone())
        })();
        if result.is_ok() {
            // Renamed: nothing left for Drop to remove.
            self.tmp_name = CString::default();
        }
        result
    }

    /// [`commit_with`](OutputFile::commit_with) a sync: the file is on disk
    /// when it appears.
    pub fn commit(self) -> io::Result<PathBuf> {
        self.commit_with(true)
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("output already committed"))
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file()?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl io::Seek for OutputFile {
    // The tar writer seeks back to fill in a streamed member's size.
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.file()?.seek(pos)
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if !self.tmp_name.as_bytes().is_empty() {
            // SAFETY: a NUL-terminated name relative to the open directory.
            unsafe { libc::unlinkat(self.dir.as_raw_fd(), self.tmp_name.as_ptr(), 0) };
        }
    }
}

/// Writes `bytes` to `path` whole (through [`OutputFile`], synced), or to
/// the stream `path` names (`-`, `/dev/stdout`, `/dev/stderr`, `/dev/null`).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match Destination::of(path) {
        Destination::Stdout => {
            let mut out = io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()
        }
        Destination::Stderr => io::stderr().lock().write_all(bytes),
        Destination::Null => Ok(()),
        Destination::File(p) => {
            let mut f = OutputFile::create(&p)?;
            f.write_all(bytes)?;
            f.commit().map(drop)
        }
    }
}

/// The directory and the last component of `target`.
fn split(target: &Path) -> io::Result<(PathBuf, CString)> {
    let name = target
        .file_name()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a file name to write", target.display()),
            )
        })?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, CString::new(name.as_bytes()).map_err(invalid)?))
}

fn open_dir(dir: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(dir.as_os_str().as_bytes()).map_err(invalid)?;
    // SAFETY: a NUL-terminated path; the fd returned is owned below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("cannot open the directory {}: {e}", dir.display()),
        ));
    }
    // SAFETY: just opened, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Refuses a target that exists and is neither a regular file nor a
/// symbolic link (which is replaced, not followed).
fn check_target(dir: &OwnedFd, name: &CStr, target: &Path) -> io::Result<()> {
    // SAFETY: fstatat fills the struct we own; AT_SYMLINK_NOFOLLOW looks at
    // the link itself.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::NotFound {
            Ok(())
        } else {
            Err(e)
        };
    }
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFLNK => return Ok(()),
        libc::S_IFDIR => "a directory",
        libc::S_IFIFO => "a FIFO",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFSOCK => "a socket",
        _ => "not a regular file",
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is {kind}: refusing to write into it (bpfcase writes only regular files, \
             through a temporary file renamed into place; use `-` for standard output)",
            target.display()
        ),
    ))
}

fn random_u64() -> io::Result<u64> {
    let mut b = [0u8; 8];
    // SAFETY: getrandom writes at most `b.len()` bytes into `b`.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from_ne_bytes(b))
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

/// The pid in a temporary name made here (`.NAME<marker>PID-RANDOM`), so a
/// dead writer's leftovers can be told from a live one's.
pub fn temp_pid(name: &str, marker: &str) -> Option<u32> {
    let (_, rest) = name.rsplit_once(marker)?;
    rest.split('-').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bpfcase-out-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn leftovers(d: &Path) -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(TMP_MARKER))
            .collect()
    }

    #[test]
    fn replaces_the_file_0600_and_leaves_no_temporary() {
        let d = dir("replace");
        let p = d.join("m.prom");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(leftovers(&d).is_empty());
        // A directory that does not exist: the error, and nothing left behind.
        assert!(write(&d.join("no/such/m.prom"), b"x").is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let d = dir("link");
        let victim = d.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let p = d.join("r.txt");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        write(&p, b"report").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(std::fs::symlink_metadata(&p).unwrap().is_file());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "report");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_fifo_or_directory_at_the_target_is_refused() {
        let d = dir("fifo");
        let fifo = d.join("r.txt");
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
        let e = write(&fifo, b"x").unwrap_err().to_string();
        assert!(e.contains("is a FIFO: refusing"), "{e}");
        let sub = d.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let e = write(&sub, b"x").unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        assert!(leftovers(&d).is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_fifo_planted_after_create_is_refused_at_commit() {
        let d = dir("race");
        let p = d.join("r.txt");
        let mut f = OutputFile::create(&p).unwrap();
        f.write_all(b"x").unwrap();
        let c = CString::new(p.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
        assert!(f.commit().is_err());
        assert!(leftovers(&d).is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn temporary_names_are_random_and_carry_the_pid() {
        let d = dir("names");
        let p = d.join("b.tar");
        let a = OutputFile::create_marked(&p, ".partial-").unwrap();
        let b = OutputFile::create_marked(&p, ".partial-").unwrap();
        assert_ne!(a.tmp_path(), b.tmp_path());
        let n = a
            .tmp_path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(n.starts_with(".b.tar.partial-"), "{n}");
        assert_eq!(temp_pid(&n, ".partial-"), Some(std::process::id()));
        drop((a, b));
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn stream_names_are_not_files() {
        assert_eq!(Destination::of(Path::new("-")), Destination::Stdout);
        assert_eq!(
            Destination::of(Path::new("/dev/stdout")),
            Destination::Stdout
        );
        assert_eq!(
            Destination::of(Path::new("/dev/stderr")),
            Destination::Stderr
        );
        assert_eq!(Destination::of(Path::new("/dev/null")), Destination::Null);
        assert_eq!(
            Destination::of(Path::new("r.md")),
            Destination::File(PathBuf::from("r.md"))
        );
    }
}
