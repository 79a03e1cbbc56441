//! Reading a bundle: a `.tar`, a `.tar.gz`, or an unpacked directory holding
//! `manifest.json` and the files it lists.
//!
//! The manifest is found first; then [`Bundle::for_each_file`] streams every
//! other file once, checking its SHA-256 against the manifest, so large dumps
//! are never held whole and a `.tar.gz` is decompressed at most twice.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::bundle::{Manifest, FORMAT};
use crate::error::InputError;
use crate::ingest::btf::Btf;

/// Largest manifest we read (a manifest lists files and maps; 64 MiB is far beyond real ones).
const MAX_MANIFEST: u64 = 64 << 20;

/// Where a bundle's files are.
#[derive(Debug, Clone)]
enum Store {
    Dir(PathBuf),
    Tar { path: PathBuf, gzip: bool },
}

/// An opened bundle with its manifest.
#[derive(Debug)]
pub struct Bundle {
    store: Store,
    pub manifest: Manifest,
    /// What the path was given as (for messages).
    pub name: String,
}

/// Whether `path` looks like a bundle: a directory with `manifest.json`, or a
/// tar (optionally gzip-compressed).
pub fn is_bundle(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("manifest.json").is_file();
    }
    let mut head = [0u8; 262];
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let n = read_up_to(&mut f, &mut head).unwrap_or(0);
    if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        return true;
    }
    n >= 262 && &head[257..262] == b"ustar"
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A file the manifest lists whose contents do not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub path: String,
    pub expected: String,
    pub actual: String,
}

impl Bundle {
    /// Opens a bundle and reads its manifest.
    pub fn open(path: &Path) -> Result<Bundle, InputError> {
        let name = path.display().to_string();
        let store = if path.is_dir() {
            Store::Dir(path.to_path_buf())
        } else {
            let mut magic = [0u8; 2];
            let mut f = File::open(path).map_err(|e| InputError::new(&name, None, e))?;
            let n = read_up_to(&mut f, &mut magic).map_err(|e| InputError::new(&name, None, e))?;
            Store::Tar {
                path: path.to_path_buf(),
                gzip: n == 2 && magic == [0x1f, 0x8b],
            }
        };
        let manifest_bytes = match &store {
            Store::Dir(dir) => crate::error::read_file(&dir.join("manifest.json"), MAX_MANIFEST)?,
            Store::Tar { .. } => {
                let mut found = None;
                let mut bundle = Bundle {
                    store: store.clone(),
                    manifest: Manifest::default(),
                    name: name.clone(),
                };
                bundle.walk_tar(&mut |p, r| {
                    if p == "manifest.json" {
                        let mut buf = Vec::new();
                        r.take(MAX_MANIFEST).read_to_end(&mut buf)?;
                        found = Some(buf);
                        return Ok(false);
                    }
                    Ok(true)
                })?;
                bundle.manifest = Manifest::default();
                found.ok_or_else(|| {
                    InputError::new(
                        &name,
                        None,
                        "the archive has no manifest.json: not a bpfcase bundle",
                    )
                })?
            }
        };
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
            InputError::new(
                format!("{name}!manifest.json"),
                Some(crate::model::finding::Position::Line(e.line() as u32)),
                format!("manifest.json: {e}"),
            )
        })?;
        if manifest.format != FORMAT {
            return Err(InputError::new(
                &name,
                None,
                format!(
                    "manifest.json says format {:?}, expected {FORMAT:?}",
                    manifest.format
                ),
            ));
        }
        Ok(Bundle {
            store,
            manifest,
            name,
        })
    }

    /// Calls `f(path, reader)` for every file of the tar, in archive order;
    /// `f` returns false to stop.
    fn walk_tar(
        &mut self,
        f: &mut dyn FnMut(&str, &mut dyn Read) -> io::Result<bool>,
    ) -> Result<(), InputError> {
        let Store::Tar { path, gzip } = &self.store else {
            return Ok(());
        };
        let name = self.name.clone();
        let file = File::open(path).map_err(|e| InputError::new(&name, None, e))?;
        let reader: Box<dyn Read> = if *gzip {
            Box::new(flate2::read::GzDecoder::new(BufReader::with_capacity(
                1 << 20,
                file,
            )))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, file))
        };
        let mut archive = tar::Archive::new(reader);
        let entries = archive
            .entries()
            .map_err(|e| InputError::new(&name, None, format!("tar: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| InputError::new(&name, None, format!("tar: {e}")))?;
            let offset = entry.raw_header_position();
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let p = entry
                .path()
                .map_err(|e| {
                    InputError::at_offset(&name, Some(offset), format!("tar entry path: {e}"))
                })?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            let go_on = f(&p, &mut entry)
                .map_err(|e| InputError::at_offset(&name, Some(offset), format!("{p}: {e}")))?;
            if !go_on {
                break;
            }
        }
        Ok(())
    }

    /// Streams every file listed in the manifest (except the manifest) to `f`,
    /// hashing as it goes. Returns the files whose SHA-256 differs from the
    /// manifest's and the listed files that are absent.
    pub fn for_each_file(
        &mut self,
        f: &mut dyn FnMut(&str, &mut dyn Read) -> io::Result<()>,
    ) -> Result<(Vec<Mismatch>, Vec<String>), InputError> {
        let expected: HashMap<String, String> = self
            .manifest
            .files
            .iter()
            .map(|e| (e.path.clone(), e.sha256.clone()))
            .collect();
        let mut seen: HashMap<String, bool> = HashMap::new();
        let mut mismatches = Vec::new();
        let mut visit = |p: &str, r: &mut dyn Read| -> io::Result<bool> {
            let Some(want) = expected.get(p) else {
                return Ok(true);
            };
            let mut hashing = HashingReader {
                inner: r,
                hasher: Sha256::new(),
            };
            f(p, &mut hashing)?;
            // Hash whatever the consumer did not read.
            io::copy(&mut hashing, &mut io::sink())?;
            let actual = crate::bundle::hex(&hashing.hasher.finalize());
            if &actual != want {
                mismatches.push(Mismatch {
                    path: p.to_string(),
                    expected: want.clone(),
                    actual,
                });
            }
            seen.insert(p.to_string(), true);
            Ok(true)
        };
        match self.store.clone() {
            Store::Dir(dir) => {
                let mut paths: Vec<&String> = expected.keys().collect();
                paths.sort();
                for p in paths {
                    let full = safe_join(&dir, p).ok_or_else(|| {
                        InputError::new(
                            &self.name,
                            None,
                            format!("manifest lists an unsafe path {p:?}"),
                        )
                    })?;
                    let Ok(mut file) = File::open(&full) else {
                        continue;
                    };
                    visit(p, &mut file)
                        .map_err(|e| InputError::new(full.display().to_string(), None, e))?;
                }
            }
            Store::Tar { .. } => self.walk_tar(&mut visit)?,
        }
        let mut missing: Vec<String> = expected
            .keys()
            .filter(|p| !seen.contains_key(*p))
            .cloned()
            .collect();
        missing.sort();
        Ok((mismatches, missing))
    }
}

/// The bundle files BTF object `btf_id` needs: its own blob, then its base's
/// (split BTF of a module or program over vmlinux). Empty when the manifest
/// has no BTF record with that id.
pub fn btf_files(manifest: &Manifest, btf_id: u32) -> Vec<String> {
    manifest
        .btf
        .iter()
        .find(|b| b.id == btf_id)
        .map(|rec| {
            std::iter::once(rec.path.clone())
                .chain(rec.base.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Parses the bundle's BTF object `btf_id` from `blobs` (bundle path →
/// bytes, as read through [`Bundle::for_each_file`]), split over its base
/// when it has one, and hands it to `f`. The parsed BTF borrows the blobs,
/// so it is lent to `f` rather than returned. Errors name the bundle file.
pub fn with_btf<T>(
    manifest: &Manifest,
    blobs: &HashMap<String, Vec<u8>>,
    btf_id: u32,
    f: impl FnOnce(&Btf<'_>) -> T,
) -> Result<T, String> {
    let rec = manifest
        .btf
        .iter()
        .find(|b| b.id == btf_id)
        .ok_or("no BTF record with this id in the manifest")?;
    let data = blobs
        .get(&rec.path)
        .ok_or_else(|| format!("{} was not read", rec.path))?;
    let base = match &rec.base {
        Some(b) => {
            let d = blobs
                .get(b)
                .ok_or_else(|| format!("base {b} was not read"))?;
            Some(Btf::parse(d).map_err(|e| format!("base BTF: {e}"))?)
        }
        None => None,
    };
    let btf = match &base {
        Some(b) => Btf::parse_split(data, b),
        None => Btf::parse(data),
    }
    .map_err(|e| format!("{}: {e}", rec.path))?;
    Ok(f(&btf))
}

/// Joins a manifest path under `dir`, refusing absolute paths and `..`.
fn safe_join(dir: &Path, rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    if p.is_absolute()
        || p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return None;
    }
    Some(dir.join(p))
}

struct HashingReader<'r> {
    inner: &'r mut dyn Read,
    hasher: Sha256,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
