//! The bundle writer: a tar streamed into a temporary file next to the
//! target (mode 0600), every member hashed (SHA-256) as it is written, the
//! manifest appended last, then renamed into place. Until `finish` the target
//! path does not exist; dropping the writer unfinished removes the temp file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::bundle::{FileEntry, Manifest};

/// Writes one bundle.
pub struct BundleWriter {
    builder: Option<tar::Builder<BufWriter<File>>>,
    tmp_path: PathBuf,
    final_path: PathBuf,
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
        let dir = match final_path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = final_path.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "output has no file name")
        })?;
        let tmp_path = dir.join(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        // `create_new` (O_EXCL) also refuses a symbolic link planted at the
        // temp path instead of writing through it; the error names the temp
        // file, which is what was refused, not the bundle path.
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp_path)
            .map_err(|e| {
                let why = if e.kind() == io::ErrorKind::AlreadyExists {
                    "something is already there (a file or symbolic link; it is not followed \
                     or replaced, remove it if no other collect is running)"
                        .to_string()
                } else {
                    e.to_string()
                };
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot create the temporary file {}: {why}",
                        tmp_path.display()
                    ),
                )
            })?;
        let builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, file));
        Ok(BundleWriter {
            builder: Some(builder),
            tmp_path,
            final_path: final_path.to_path_buf(),
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

    fn builder(&mut self) -> io::Result<&mut tar::Builder<BufWriter<File>>> {
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
        drop(file);
        std::fs::rename(&self.tmp_path, &self.final_path)?;
        Ok(self.final_path.clone())
    }
}

impl Drop for BundleWriter {
    fn drop(&mut self) {
        if self.builder.is_some() {
            // Not finished: leave no half-written file behind.
            let _ = std::fs::remove_file(&self.tmp_path);
        }
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
        let mut ar = tar::Archive::new(File::open(&out).unwrap());
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.txt", "b.json", "manifest.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn planted_symlink_at_the_temp_path_is_refused_naming_it() {
        let dir = std::env::temp_dir().join(format!("bpfcase-archive3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("d.tar");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let tmp = dir.join(format!(".d.tar.partial-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        let e = BundleWriter::create(&out, 0).err().unwrap().to_string();
        assert!(e.contains(&tmp.display().to_string()), "{e}");
        assert!(!e.contains("victim"), "{e}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
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
