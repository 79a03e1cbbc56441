//! Files that appear whole or not at all: written to a temporary file in
//! the same directory, flushed, then renamed over the target. A reader (the
//! node_exporter textfile collector, a script polling a report) never sees
//! half a file, and an interrupted write leaves the old one in place.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The temporary name for `path`: `.NAME.tmp-PID` beside it. The leading
/// dot and the suffix keep it out of globs such as node_exporter's `*.prom`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically. A path that exists and is not a
/// regular file (`/dev/stdout`, a FIFO) is written in place: a rename
/// would replace the device node.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => return std::fs::write(path, bytes),
        _ => {}
    }
    let tmp = temp_path(path);
    // A leftover of this pid (or something planted there) goes first; then
    // O_EXCL, which never follows a symlink put back in between.
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("bpfcase-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.prom");
        std::fs::write(&p, "old").unwrap();
        write(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert!(!temp_path(&p).exists());
        // A directory that does not exist: the error, and nothing left behind.
        let missing = dir.join("no/such/m.prom");
        assert!(write(&missing, b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
