//! The edge where typed parser errors meet the user: every error that stops a
//! command names the input and where in it the problem is.

use crate::model::finding::{Finding, Position};

/// An input that could not be read, with the place in it.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{path}{}: {reason}", position_suffix(.position))]
#[diagnostic(code(bpfcase::input))]
pub struct InputError {
    pub path: String,
    pub position: Option<Position>,
    pub reason: String,
}

fn position_suffix(p: &Option<Position>) -> String {
    match p {
        Some(Position::Offset(o)) => format!(" at byte offset {o} (0x{o:x})"),
        Some(Position::Line(l)) => format!(":{l}"),
        None => String::new(),
    }
}

impl InputError {
    pub fn new(path: impl Into<String>, position: Option<Position>, reason: impl ToString) -> Self {
        InputError {
            path: path.into(),
            position,
            // Reasons quote input text; a junk file's control bytes must
            // not reach the terminal raw.
            reason: printable(&reason.to_string()).into_owned(),
        }
    }

    /// At a byte offset.
    pub fn at_offset(path: impl Into<String>, offset: Option<u64>, reason: impl ToString) -> Self {
        Self::new(path, offset.map(Position::Offset), reason)
    }

    /// At a 1-based line.
    pub fn at_line(path: impl Into<String>, line: u32, reason: impl ToString) -> Self {
        Self::new(path, Some(Position::Line(line)), reason)
    }

    /// The same problem as an `input/unreadable` finding, for analyses that go on.
    pub fn to_finding(&self) -> Finding {
        Finding::unreadable(&self.path, self.position, &self.reason)
    }
}

/// `s` with control characters escaped (`\x1b`, `\x07`; newline and tab
/// kept) so that text quoted from a binary input cannot drive the
/// terminal: escape sequences, bells, backspaces. The rule lives with the
/// other output rules, in [`crate::report::escape::terminal_lines`].
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    crate::report::escape::terminal_lines(s)
}

/// Whether `path` is `-`, standard input, as every command that reads a
/// file accepts it.
pub fn is_stdin(path: &std::path::Path) -> bool {
    path == std::path::Path::new("-")
}

/// Standard input, read once and kept: a command may look at an input more
/// than once (to tell its kind, then to parse it), and a pipe gives its
/// bytes only once. Over `limit` bytes is refused, as for files.
fn stdin_bytes(limit: u64) -> Result<&'static [u8], InputError> {
    use std::io::Read;
    static STDIN: std::sync::OnceLock<Result<Vec<u8>, String>> = std::sync::OnceLock::new();
    let read = STDIN.get_or_init(|| {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_STDIN + 1)
            .read_to_end(&mut buf)
            .map_err(|e| e.to_string())?;
        Ok(buf)
    });
    match read {
        Ok(b) if b.len() as u64 > limit.min(MAX_STDIN) => Err(InputError::new(
            "-",
            None,
            format!(
                "standard input is larger than the {}-byte limit for this input",
                limit.min(MAX_STDIN)
            ),
        )),
        Ok(b) => Ok(b),
        Err(e) => Err(InputError::new("-", None, e)),
    }
}

/// Most bytes kept from standard input (a dump of a million entries is ~300 MB).
const MAX_STDIN: u64 = 1 << 30;

/// Reads a whole file (`-`: standard input), naming it on failure. Refuses
/// files over `limit` bytes so a wrong path (a disk image, /dev/zero)
/// cannot exhaust memory.
pub fn read_file(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, InputError> {
    use std::io::Read;
    if is_stdin(path) {
        return stdin_bytes(limit).map(<[u8]>::to_vec);
    }
    let name = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| InputError::new(&name, None, e))?;
    // Size the buffer once from the metadata (bounded by the limit) instead of
    // growing it by doubling.
    let hint = f.metadata().map(|m| m.len().min(limit)).unwrap_or(0);
    let mut buf = Vec::with_capacity(hint as usize + 1);
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| InputError::new(&name, None, e))?;
    if buf.len() as u64 > limit {
        return Err(InputError::new(
            &name,
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
    let file = std::fs::File::open(path).map_err(|e| InputError::new(&name, None, e))?;
    let meta = file
        .metadata()
        .map_err(|e| InputError::new(&name, None, e))?;
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
    drop(file);
    read_file(path, limit).map(FileBytes::Read)
}

/// Writing a command's output failed. Keeps the `io::Error` as its source
/// (miette's `into_diagnostic` would hide it) so the CLI can tell a closed
/// pipe, which counts as success, from a real failure.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write the output")]
#[diagnostic(code(bpfcase::output))]
pub struct OutputError(#[source] pub std::io::Error);

/// `.out()` on the result of a write to a command's output.
pub trait WriteOutput<T> {
    fn out(self) -> Result<T, OutputError>;
}

impl<T> WriteOutput<T> for std::io::Result<T> {
    fn out(self) -> Result<T, OutputError> {
        self.map_err(OutputError)
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain text\tok\n"), "plain text\tok\n");
        assert_eq!(printable("\x1b[31mred\x07"), "\\x1b[31mred\\x07");
        assert_eq!(printable("a\u{85}b"), "a\\x85b");
    }
}
