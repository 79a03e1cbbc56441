//! The bundle writer: a tar streamed into a temporary file next to the
//! target (the one output opener, `output_file`: random name, mode 0600, no
//! link followed), every member hashed (SHA-256) as it is written, the
//! manifest appended last, then renamed into place. Until `finish` the target
//! path does not exist; dropping the writer unfinished removes the temp file.

use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::bundle::{FileEntry, Manifest};
use crate::output_file::OutputFile;

/// The marker in a bundle's temporary name (`.NAME.partial-PID-RANDOM`).
pub const PARTIAL_MARKER: &str = ".partial-";

/// Writes one bundle.
pub struct BundleWriter {
    builder: Option<tar::Builder<BufWriter<OutputFile>>>,
    tmp_path: PathBuf,
    files: Vec<FileEntry>,
    mtime: u64,
    /// Bytes of member data written so far (headers and padding not counted).
    pub bytes: u64,
}

/// Hashes and counts what passes through to the tar member.
struct HashingWriter<'a, W: Write> {
    inner: W,
    sha: &'a mut Sha256,
    n: &'a mut u64,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        *self.n += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl BundleWriter {
    /// Starts a bundle that will be renamed to `final_path`. `mtime` (Unix
    /// seconds) stamps every member.
    pub fn create(final_path: &Path, mtime: u64) -> io::Result<Self> {
        let file = OutputFile::create_marked(final_path, PARTIAL_MARKER)?;
        let tmp_path = file.tmp_path();
        let builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, file));
        Ok(BundleWriter {
            builder: Some(builder),
            tmp_path,
            files: Vec::new(),
            mtime,
            bytes: 0,
        })
    }

    /// The temporary file being written (it becomes the bundle on `finish`).
    pub fn tmp_path(&self) -> &Path {
        &self.tmp_path
    }

    fn header(&self) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o600);
        h.set_mtime(self.mtime);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    fn builder(&mut self) -> io::Result<&mut tar::Builder<BufWriter<OutputFile>>> {
        self.builder
            .as_mut()
            .ok_or_else(|| io::Error::other("bundle already finished"))
    }

    /// Streams a member whose size is not known in advance: `fill` writes
    /// its contents. Returns what `fill` returned.
    pub fn add_stream<T>(
        &mut self,
        path: &str,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<T>,
    ) -> io::Result<T> {
        let mut header = self.header();
        let mut sha = Sha256::new();
        let mut n = 0u64;
        let result = {
            let builder = self.builder()?;
            let mut entry = builder.append_writer(&mut header, path)?;
            let r = {
                let mut w = HashingWriter {
                    inner: &mut entry,
                    sha: &mut sha,
                    n: &mut n,
                };
                fill(&mut w)
            };
            entry.finish()?;
            r?
        };
        self.bytes += n;
        self.files.push(FileEntry {
            path: path.to_string(),
            size: n,
            sha256: crate::bundle::hex(&sha.finalize()),
        });
        Ok(result)
    }

    /// Adds a member from memory.
    pub fn add_bytes(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        self.add_stream(path, |w| w.write_all(data))
    }

    /// Adds a member read from `src`, at most `limit` bytes; returns the bytes
    /// copied and whether the source had more.
    pub fn add_reader(
        &mut self,
        path: &str,
        src: &mut dyn Read,
        limit: u64,
    ) -> io::Result<(u64, bool)> {
        self.add_stream(path, |w| {
            let copied = io::copy(&mut src.take(limit), w)?;
            let mut probe = [0u8; 1];
            let more = copied == limit && src.read(&mut probe)? > 0;
            Ok((copied, more))
        })
    }

    /// Members written so far.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Appends `manifest.json` (with `files` filled in), ends the archive,
    /// and renames it into place.
    pub fn finish(mut self, manifest: &mut Manifest) -> io::Result<PathBuf> {
        manifest.files = self.files.clone();
        let json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
        let mut header = self.header();
        header.set_size(json.len() as u64);
        let builder = self.builder()?;
        builder.append_data(&mut header, "manifest.json", &json[..])?;
        let builder = self
            .builder
            .take()
            .ok_or_else(|| io::Error::other("finished"))?;
        let buf = builder.into_inner()?;
        // No fsync: forcing hundreds of MB to disk would triple the run time
        // on the node; the rename still makes the bundle appear whole or not at all.
        let file = buf.into_inner().map_err(|e| e.into_error())?;
        file.commit_with(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_members_with_hashes_and_manifest_last() {
        let dir = std::env::temp_dir().join(format!("bpfcase-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("b.tar");
        let _ = std::fs::remove_file(&out);
        let mut w = BundleWriter::create(&out, 0).unwrap();
        w.add_bytes("a.txt", b"abc").unwrap();
        w.add_stream("b.json", |o| o.write_all(b"[]")).unwrap();
        let mut m = Manifest::default();
        w.finish(&mut m).unwrap();
        assert_eq!(m.files.len(), 2);
        assert_eq!(
            m.files[0].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let mut ar = tar::Archive::new(std::fs::File::open(&out).unwrap());
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.txt", "b.json", "manifest.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn planted_symlink_at_the_target_is_replaced_not_followed() {
        let dir = std::env::temp_dir().join(format!("bpfcase-archive3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("d.tar");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let _ = std::fs::remove_file(&out);
        std::os::unix::fs::symlink(&victim, &out).unwrap();
        let w = BundleWriter::create(&out, 0).unwrap();
        let name = w
            .tmp_path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with(".d.tar.partial-"), "{name}");
        w.finish(&mut Manifest::default()).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert!(std::fs::symlink_metadata(&out).unwrap().is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unfinished_writer_leaves_no_file() {
        let dir = std::env::temp_dir().join(format!("bpfcase-archive2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("c.tar");
        let w = BundleWriter::create(&out, 0).unwrap();
        let tmp = w.tmp_path().to_path_buf();
        assert!(tmp.exists());
        drop(w);
        assert!(!tmp.exists());
        assert!(!out.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
