//! Reading inputs: standard input read once and kept, files opened
//! without blocking and told apart from streams on the open descriptor,
//! whole reads and memory maps bounded by a size cap, and streams cut at
//! [`crate::limits::MAX_STREAM_BYTES`]. The errors are
//! [`crate::error::InputError`]s naming the input.

use crate::error::InputError;

/// Whether `path` is `-`, standard input, as every command that reads a
/// file accepts it.
pub fn is_stdin(path: &std::path::Path) -> bool {
    path == std::path::Path::new("-")
}

/// What a stream is called in messages: `-` is standard input.
fn stream_name(name: &str) -> String {
    if name == "-" {
        "standard input".to_string()
    } else {
        "this stream".to_string()
    }
}

/// The error for a stream (standard input, a pipe, a FIFO, a device) that
/// went on past `limit` bytes: it names the input, and the offset is where
/// reading stopped.
pub fn stream_over_limit(name: &str, limit: u64) -> InputError {
    InputError::at_offset(
        name,
        Some(limit),
        format!(
            "{} goes on past the {limit}-byte limit for a stream (limits::MAX_STREAM_BYTES) and was not read further; save it to a file and give the file",
            stream_name(name)
        ),
    )
}

/// Standard input, read once and kept: a command may look at an input more
/// than once (to tell its kind, then to parse it), and a pipe gives its
/// bytes only once. At most [`crate::limits::MAX_STREAM_BYTES`] are read
/// (one more byte tells that it goes on); over `limit` is refused.
pub fn stdin_bytes(limit: u64) -> Result<&'static [u8], InputError> {
    let read = STDIN.get_or_init(|| {
        let head = stdin_head().map_err(|e| e.to_string())?;
        let rest = MAX_STREAM + 1 - head.len() as u64;
        let mut all = head.to_vec();
        all.extend(read_capped(std::io::stdin().lock(), rest, 0).map_err(|e| e.to_string())?);
        Ok(all)
    });
    match read {
        Ok(b) if b.len() as u64 > MAX_STREAM => Err(stream_over_limit("-", MAX_STREAM)),
        Ok(b) if b.len() as u64 > limit => Err(InputError::new(
            "-",
            None,
            format!("standard input is larger than the {limit}-byte limit for this input"),
        )),
        Ok(b) => Ok(b),
        Err(e) => Err(InputError::new("-", None, e)),
    }
}

const MAX_STREAM: u64 = crate::limits::MAX_STREAM_BYTES;

/// Standard input, whole, once read by [`stdin_bytes`].
static STDIN: std::sync::OnceLock<Result<Vec<u8>, String>> = std::sync::OnceLock::new();

/// How much of standard input [`stdin_head`] looks at: a tar's `ustar`
/// magic ends at byte 262.
pub const STDIN_HEAD: usize = 512;

/// The first [`STDIN_HEAD`] bytes of standard input (fewer if it ends
/// sooner), read once and kept: enough to tell a bundle (a tar by its
/// header, gzip by its magic) from a dump or an object without consuming
/// the stream; [`stdin_bytes`] and [`open_once`] give them back first.
pub fn stdin_head() -> std::io::Result<&'static [u8]> {
    static HEAD: std::sync::OnceLock<Result<Vec<u8>, String>> = std::sync::OnceLock::new();
    let head = HEAD.get_or_init(|| {
        read_capped(
            std::io::stdin().lock(),
            STDIN_HEAD as u64,
            STDIN_HEAD as u64,
        )
        .map_err(|e| e.to_string())
    });
    match head {
        Ok(h) => Ok(h),
        Err(e) => Err(std::io::Error::other(e.clone())),
    }
}

/// Reads `r` to its end or to `most` bytes, whichever comes first. The
/// buffer starts at `hint` (bounded by `most`) and grows by doubling but
/// never past `most`, so a stream cut at the limit costs the limit, not
/// twice it.
fn read_capped(mut r: impl std::io::Read, most: u64, hint: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let most = usize::try_from(most).unwrap_or(usize::MAX);
    let first = usize::try_from(hint.saturating_add(1)).unwrap_or(usize::MAX);
    let mut buf: Vec<u8> = Vec::with_capacity(first.max(1 << 12).min(most));
    while buf.len() < most {
        if buf.len() == buf.capacity() {
            let want = buf.capacity().saturating_mul(2).min(most);
            buf.reserve_exact(want - buf.len());
        }
        let room = buf.capacity().min(most) - buf.len();
        let n = (&mut r).take(room as u64).read_to_end(&mut buf)?;
        if n < room {
            break;
        }
    }
    Ok(buf)
}

/// Opens `path` for reading without blocking (`O_NONBLOCK`: opening a FIFO
/// that has no writer would wait forever) and tells what it is from the
/// open descriptor (`fstat`), so a swap after a check is seen too. A stream
/// (anything but a regular file or directory) is put back in blocking mode
/// to be read: a FIFO with no writer then reads as empty instead of hanging.
pub fn open_input(path: &std::path::Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() && !meta.is_dir() {
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function owns.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags >= 0 {
            // SAFETY: as above.
            unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) };
        }
    }
    Ok((file, meta))
}

/// Whether an input opened by [`open_input`] is a stream: read once, with
/// no size known before (a pipe, FIFO, device or socket).
pub fn is_stream(meta: &std::fs::Metadata) -> bool {
    !meta.is_file() && !meta.is_dir()
}

/// A stream read through this stops at [`crate::limits::MAX_STREAM_BYTES`]:
/// past it reads fail, and [`StreamGuard::check`] turns that into the error
/// naming the input and the offset.
struct CappedStream<R> {
    inner: R,
    left: u64,
    over: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<R: std::io::Read> std::io::Read for CappedStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // At the limit: one more byte says whether the stream goes on.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.over.store(true, std::sync::atomic::Ordering::Relaxed);
                    Err(std::io::Error::other(format!(
                        "the stream goes on past the {MAX_STREAM}-byte limit (limits::MAX_STREAM_BYTES)"
                    )))
                }
            };
        }
        let room = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Says, once an input opened by [`open_once`] has been read, whether it
/// was a stream cut at its limit.
#[derive(Debug, Clone)]
pub struct StreamGuard {
    name: String,
    over: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl StreamGuard {
    /// The error naming the input and the offset when reading stopped at
    /// the stream limit.
    pub fn check(&self) -> Result<(), InputError> {
        match &self.over {
            Some(o) if o.load(std::sync::atomic::Ordering::Relaxed) => {
                Err(stream_over_limit(&self.name, MAX_STREAM))
            }
            _ => Ok(()),
        }
    }

    /// Whether the input is a stream (read through the cap).
    pub fn is_stream(&self) -> bool {
        self.over.is_some()
    }
}

/// Opens an input read once, front to back, in pieces (a dump): `-` is
/// standard input; a path is opened as [`open_input`] does. A stream is read
/// through a cap at [`crate::limits::MAX_STREAM_BYTES`]: the guard tells,
/// after reading, whether it was hit.
pub fn open_once(
    path: &std::path::Path,
) -> Result<(Box<dyn std::io::Read + Send>, StreamGuard), InputError> {
    let name = path.display().to_string();
    let over = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let capped = |inner: Box<dyn std::io::Read + Send>| -> Box<dyn std::io::Read + Send> {
        Box::new(CappedStream {
            inner,
            left: MAX_STREAM,
            over: over.clone(),
        })
    };
    let reader = if is_stdin(path) {
        match STDIN.get() {
            // Already read whole: its bytes again (they are within the cap).
            Some(Ok(all)) => Box::new(std::io::Cursor::new(all.as_slice())),
            _ => {
                let head = stdin_head().map_err(|e| InputError::new(&name, None, e))?;
                capped(Box::new(std::io::Read::chain(head, std::io::stdin())))
            }
        }
    } else {
        let (file, meta) = open_input(path).map_err(|e| InputError::new(&name, None, e))?;
        if meta.is_dir() {
            return Err(InputError::new(&name, None, "a directory, not a file"));
        }
        if !is_stream(&meta) {
            return Ok((Box::new(file), StreamGuard { name, over: None }));
        }
        capped(Box::new(file))
    };
    Ok((
        reader,
        StreamGuard {
            name,
            over: Some(over),
        },
    ))
}

/// Reads a whole file (`-`: standard input), naming it on failure. Refuses
/// files over `limit` bytes so a wrong path (a disk image, /dev/zero)
/// cannot exhaust memory; a stream (a pipe, FIFO or device) is read up to
/// [`crate::limits::MAX_STREAM_BYTES`] at most.
pub fn read_file(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, InputError> {
    if is_stdin(path) {
        return stdin_bytes(limit).map(<[u8]>::to_vec);
    }
    let name = path.display().to_string();
    let (f, meta) = open_input(path).map_err(|e| InputError::new(&name, None, e))?;
    read_opened(&name, f, &meta, limit)
}

/// [`read_file`] of an input already opened by [`open_input`].
fn read_opened(
    name: &str,
    f: std::fs::File,
    meta: &std::fs::Metadata,
    limit: u64,
) -> Result<Vec<u8>, InputError> {
    if meta.is_dir() {
        return Err(InputError::new(name, None, "a directory, not a file"));
    }
    let stream = is_stream(meta);
    let most = if stream { limit.min(MAX_STREAM) } else { limit };
    // Size the buffer once from the metadata (bounded by the limit) instead of
    // growing it by doubling.
    let buf = read_capped(f, most.saturating_add(1), meta.len())
        .map_err(|e| InputError::new(name, None, e))?;
    if buf.len() as u64 > most {
        if stream && most == MAX_STREAM {
            return Err(stream_over_limit(name, MAX_STREAM));
        }
        return Err(InputError::new(
            name,
            None,
            format!("file is larger than the {limit}-byte limit for this input"),
        ));
    }
    Ok(buf)
}

/// The bytes of an input file: memory-mapped when the file allows it, read
/// into memory otherwise (sysfs files such as `/sys/kernel/btf/vmlinux`,
/// pipes).
pub enum FileBytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Read(v) => v,
        }
    }
}

/// Maps a large binary input (BTF, ELF, DWARF) read-only, pre-faulting its
/// pages: no copy, and no freshly zeroed heap pages, which are what dominate
/// on VMs with expensive page faults. Falls back to [`read_file`].
///
/// Inputs are treated as immutable while mapped; a file truncated by another
/// process during the analysis could fault (SIGBUS). bpfcase reads artifacts
/// that are not being written: a bundle, a build output, a saved dump.
pub fn map_file(path: &std::path::Path, limit: u64) -> Result<FileBytes, InputError> {
    if is_stdin(path) {
        return read_file(path, limit).map(FileBytes::Read);
    }
    let name = path.display().to_string();
    let (file, meta) = open_input(path).map_err(|e| InputError::new(&name, None, e))?;
    if meta.is_file()
        && meta.len() > 0
        && meta.len() <= limit
        && !path.starts_with("/sys")
        && !path.starts_with("/proc")
    {
        // SAFETY: read-only private mapping of a regular file; see the doc comment
        // for the assumption that the file is not truncated meanwhile.
        if let Ok(m) = unsafe { memmap2::MmapOptions::new().populate().map(&file) } {
            return Ok(FileBytes::Mapped(m));
        }
    }
    read_opened(&name, file, &meta, limit).map(FileBytes::Read)
}
