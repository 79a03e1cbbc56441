//! The bundle reader: a `.tar`, a `.tar.gz`, or an unpacked directory holding
//! `manifest.json` and the files it lists.
//!
//! The manifest is found first; then [`Bundle::for_each_file`] streams every
//! other file once, checking its SHA-256 against the manifest, so large dumps
//! are never held whole and a `.tar.gz` is decompressed at most twice.
//!
//! A bundle is read as data, never as a file system to explore: in a
//! directory only regular files inside it are opened (no symbolic link is
//! followed, at any depth; fifos and devices are refused, so nothing can
//! block or stream forever); in a tar, link and device members are not
//! followed but reported. An archive with two `manifest.json` members is
//! refused (which one is "the" manifest would be a guess).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::bundle::members::{member_kinds, MemberKind};
use crate::bundle::{Manifest, FORMAT};
use crate::error::InputError;
use crate::ingest::btf::Btf;
use crate::limits;

use crate::limits::MAX_MANIFEST_BYTES as MAX_MANIFEST;

/// Where a bundle's files are.
#[derive(Debug, Clone)]
enum Store {
    Dir(PathBuf),
    Tar {
        path: PathBuf,
        gzip: bool,
    },
    /// `-`: a tar (or `.tar.gz`) on standard input, read once into memory,
    /// no more than `limits::MAX_STREAM_BYTES` (`read::stdin_bytes`).
    Stdin {
        bytes: &'static [u8],
        gzip: bool,
    },
}

impl Store {
    /// A compressed archive: members passed over are still inflated.
    fn gzip(&self) -> bool {
        matches!(
            self,
            Store::Tar { gzip: true, .. } | Store::Stdin { gzip: true, .. }
        )
    }
}

/// An opened bundle with its manifest.
#[derive(Debug)]
pub struct Bundle {
    store: Store,
    pub manifest: Manifest,
    /// What the path was given as (for messages).
    pub name: String,
    /// Set by [`Bundle::for_each_file`] when a member was larger than the
    /// manifest allows (its one finding).
    pub over_bound: Option<OverBound>,
    /// Each regular file member's place in the order
    /// [`Bundle::for_each_file`] visits them.
    members: HashMap<String, usize>,
}

/// Each regular file member's place in the order a bundle's files are read.
#[derive(Debug, Clone, Default)]
pub struct MemberOrder(HashMap<String, usize>);

impl MemberOrder {
    /// Whether member `later` is read after member `now` (false when
    /// `later` is not a regular file of the bundle: it never comes).
    pub fn comes_after(&self, later: &str, now: &str) -> bool {
        match (self.0.get(later), self.0.get(now)) {
            (Some(a), Some(b)) => a > b,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// Whether `path` looks like a bundle: a directory with `manifest.json`, or a
/// tar (optionally gzip-compressed).
pub fn is_bundle(path: &Path) -> bool {
    if crate::ingest::read::is_stdin(path) {
        // Told by the first bytes, which stay available to whatever reads
        // standard input next.
        return crate::ingest::read::stdin_head().is_ok_and(looks_like_tar);
    }
    if path.is_dir() {
        return path.join("manifest.json").is_file();
    }
    let mut head = [0u8; 262];
    // Only a regular file is read: probing a FIFO or a device would block
    // or consume it.
    let Ok(mut f) = open_regular(path) else {
        return false;
    };
    let n = read_up_to(&mut f, &mut head).unwrap_or(0);
    looks_like_tar(&head[..n])
}

/// A gzip stream (`.tar.gz`), or a tar header: `ustar` at offset 257.
fn looks_like_tar(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b]) || head.get(257..262) == Some(b"ustar".as_slice())
}

/// Opens a tar bundle: a regular file only, opened without blocking
/// (`O_NONBLOCK`: a FIFO named like a bundle would otherwise hang the open)
/// and checked on the open descriptor (`fstat`).
fn open_regular(path: &Path) -> io::Result<File> {
    let (file, meta) = crate::ingest::read::open_input(path)?;
    if meta.is_file() {
        return Ok(file);
    }
    Err(io::Error::other(format!(
        "not a regular file ({}): a bundle is a regular file (.tar, .tar.gz) or a directory",
        file_kind(&meta.file_type())
    )))
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

/// A file the manifest lists that was not read, and why (absent, a link,
/// not a regular file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub path: String,
    pub why: String,
}

/// Why a listed file was not read: it is absent.
const ABSENT: &str = "listed in the manifest but absent from the bundle";

/// Opens `rel` under the bundle directory `dir` as a regular file: refuses
/// a symbolic link at any component (the bundle is not a way to reach
/// files outside it), and anything that is not a regular file (a fifo
/// would block, a device never end). Opened with `O_NOFOLLOW|O_NONBLOCK`
/// and checked on the open fd, so a swap after the check is caught too.
fn open_member(dir: &Path, rel: &str) -> Result<File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let full =
        safe_join(dir, rel).ok_or_else(|| format!("unsafe path {rel:?} (absolute or `..`)"))?;
    let mut at = dir.to_path_buf();
    let parts: Vec<_> = Path::new(rel).components().collect();
    for (i, c) in parts.iter().enumerate() {
        at.push(c);
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ABSENT.into()),
            Err(e) => return Err(e.to_string()),
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = std::fs::read_link(&at)
                .map(|t| format!(" (to {})", t.display()))
                .unwrap_or_default();
            return Err(format!(
                "a symbolic link{target}: links in a bundle directory are not followed"
            ));
        }
        let last = i + 1 == parts.len();
        if !last && !ft.is_dir() {
            return Err(format!("{} is not a directory", at.display()));
        }
        if last && !ft.is_file() {
            return Err(format!("not a regular file ({}): not read", file_kind(&ft)));
        }
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&full)
        .map_err(|e| e.to_string())?;
    match file.metadata() {
        Ok(m) if m.is_file() => Ok(file),
        Ok(m) => Err(format!(
            "not a regular file ({}): not read",
            file_kind(&m.file_type())
        )),
        Err(e) => Err(e.to_string()),
    }
}

fn file_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a fifo"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// What a tar member that is not a regular file is, for the message.
fn member_kind(header: &tar::Header) -> String {
    let t = header.entry_type();
    let target = || {
        header
            .link_name()
            .ok()
            .flatten()
            .map(|l| format!(" (to {})", l.display()))
            .unwrap_or_default()
    };
    if t.is_symlink() {
        format!("a symbolic link member{}: links are not followed", target())
    } else if t.is_hard_link() {
        format!("a hard link member{}: links are not followed", target())
    } else if t.is_character_special() || t.is_block_special() {
        "a device member: not read".into()
    } else if t.is_fifo() {
        "a fifo member: not read".into()
    } else {
        format!("a member of tar type {:?}: not read", t.as_byte() as char)
    }
}

/// A tar member's contents (`Err`: what it is, when it is a link, device
/// or fifo, which is never followed or read).
type Member<'r> = Result<&'r mut dyn Read, String>;

/// What [`Bundle::walk_tar`] calls per member: path, byte offset of its
/// header, size its header gives, contents; returns false to stop.
type MemberVisitor<'f> = dyn FnMut(&str, u64, u64, Member<'_>) -> io::Result<bool> + 'f;

/// A member read past what the manifest allows for it (or the bundle past
/// [`limits::MAX_BUNDLE_BYTES`]): where reading stopped, for one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBound {
    /// The member's bundle path.
    pub path: String,
    /// The size the manifest declares (`None`: not listed in the manifest).
    pub declared: Option<u64>,
    /// The size the archive header gives, or the bytes read when reading
    /// stopped at the cap.
    pub size: u64,
    /// The most bytes allowed for it.
    pub allowed: u64,
    /// Whether reading of the whole bundle stopped there (a compressed
    /// archive cannot skip a member without decompressing it), and how many
    /// listed files were not reached.
    pub stopped_bundle: bool,
    pub not_reached: Vec<String>,
}

impl OverBound {
    /// One sentence: the member, its declared and real sizes, the bound.
    pub fn message(&self) -> String {
        let declared = match self.declared {
            Some(d) => format!("the manifest declares {d} bytes"),
            None => "the manifest does not list it".to_string(),
        };
        let rest = if self.stopped_bundle {
            let n = self.not_reached.len();
            if n == 0 {
                ", and reading of the compressed bundle stopped there".to_string()
            } else {
                format!(
                    ", and reading of the compressed bundle stopped there ({n} listed file{} after it not read)",
                    if n == 1 { "" } else { "s" }
                )
            }
        } else {
            String::new()
        };
        format!(
            "the archive holds {} bytes for this member where {declared} (at most {} bytes are read for it; at most {} bytes per bundle, limits::MAX_BUNDLE_BYTES): not read{rest}",
            self.size,
            self.allowed,
            limits::MAX_BUNDLE_BYTES
        )
    }
}

/// Counts the bytes read through it (the tar stream after decompression)
/// and fails past [`limits::MAX_BUNDLE_BYTES`].
struct Counted<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

/// The error [`Counted`] fails with past the cap.
fn over_cap_error() -> io::Error {
    io::Error::other(format!(
        "read past the hard cap of {} bytes for one bundle (limits::MAX_BUNDLE_BYTES): a decompression bomb, or a bundle too large to analyze",
        limits::MAX_BUNDLE_BYTES
    ))
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read.get() >= limits::MAX_BUNDLE_BYTES {
            return Err(over_cap_error());
        }
        let room = (limits::MAX_BUNDLE_BYTES - self.read.get()).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl<R: io::Seek> io::Seek for Counted<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
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
        let store = if crate::ingest::read::is_stdin(path) {
            let bytes = crate::ingest::read::stdin_bytes(limits::MAX_STREAM_BYTES)?;
            Store::Stdin {
                bytes,
                gzip: bytes.starts_with(&[0x1f, 0x8b]),
            }
        } else if path.is_dir() {
            Store::Dir(path.to_path_buf())
        } else {
            let mut magic = [0u8; 2];
            let mut f = open_regular(path).map_err(|e| InputError::new(&name, None, e))?;
            let n = read_up_to(&mut f, &mut magic).map_err(|e| InputError::new(&name, None, e))?;
            Store::Tar {
                path: path.to_path_buf(),
                gzip: n == 2 && magic == [0x1f, 0x8b],
            }
        };
        let mut tar_members: HashMap<String, usize> = HashMap::new();
        let manifest_bytes = match &store {
            Store::Dir(dir) => {
                let at = format!("{name}/manifest.json");
                let mut f = open_member(dir, "manifest.json")
                    .map_err(|why| InputError::new(&at, None, why))?;
                let len = f
                    .metadata()
                    .map_err(|e| InputError::new(&at, None, e))?
                    .len();
                if let Some(why) = MemberKind::Manifest.over_cap(len, "the file holds") {
                    return Err(InputError::new(&at, None, why));
                }
                let mut buf = Vec::new();
                f.by_ref()
                    .take(MAX_MANIFEST + 1)
                    .read_to_end(&mut buf)
                    .map_err(|e| InputError::new(&at, None, e))?;
                if buf.len() as u64 > MAX_MANIFEST {
                    return Err(InputError::new(
                        &at,
                        None,
                        format!("larger than the {MAX_MANIFEST}-byte limit for a manifest"),
                    ));
                }
                buf
            }
            Store::Tar { .. } | Store::Stdin { .. } => {
                let mut found = None;
                // Every manifest member's offset: collect writes it last, so
                // reading on to the end to look for a second costs nothing
                // for its bundles.
                let mut offsets = Vec::new();
                let mut bundle = Bundle {
                    store: store.clone(),
                    manifest: Manifest::default(),
                    name: name.clone(),
                    over_bound: None,
                    members: HashMap::new(),
                };
                let mut members: HashMap<String, usize> = HashMap::new();
                // Declared sizes, once the manifest is read: in a `.tar.gz`
                // the search for a second manifest stops at a member larger
                // than the manifest allows (passing it would mean inflating
                // it; `for_each_file` reports it). Before the manifest only
                // `limits::MAX_BUNDLE_BYTES` bounds what is inflated.
                let mut declared: Option<HashMap<String, u64>> = None;
                // Each listed member's kind, for its cap (`MemberKind::cap`).
                let mut kinds: HashMap<String, MemberKind> = HashMap::new();
                let gzip = store.gzip();
                // The last member: an uncompressed tar is walked by seeking,
                // and the tar reader takes an end of file where a header
                // should be for the end of the archive, so a truncated
                // archive shows only by its missing end-of-archive blocks.
                let mut furthest: Option<(String, u64, u64)> = None;
                bundle.walk_tar(&mut |p, offset, size, r| {
                    // Members come in file order: the last seen is the last.
                    furthest = Some((p.to_string(), offset, size));
                    if let (true, Some(d)) = (gzip, &declared) {
                        let allowed = match d.get(p) {
                            Some(n) => limits::bundle_member_allowance(*n),
                            None if p == "manifest.json" => MAX_MANIFEST,
                            None => limits::BUNDLE_MEMBER_SLACK,
                        };
                        let kind = kinds.get(p).copied().unwrap_or(MemberKind::Other);
                        if size > allowed || size > kind.cap().0 {
                            return Ok(false);
                        }
                    }
                    let Ok(r) = r else { return Ok(true) };
                    let next = members.len();
                    members.entry(p.to_string()).or_insert(next);
                    if p == "manifest.json" {
                        offsets.push(offset);
                        if found.is_none() {
                            // Refused from the size its header declares,
                            // before any of it is read.
                            if let Some(why) =
                                MemberKind::Manifest.over_cap(size, "its tar header declares")
                            {
                                return Err(io::Error::other(why));
                            }
                            let mut buf = Vec::new();
                            r.take(MAX_MANIFEST).read_to_end(&mut buf)?;
                            if let Ok(m) = Manifest::parse(&buf) {
                                kinds = member_kinds(&m);
                                declared =
                                    Some(m.files.into_iter().map(|f| (f.path, f.size)).collect());
                            }
                            found = Some(buf);
                        }
                    }
                    Ok(true)
                })?;
                tar_members = members;
                if offsets.len() > 1 {
                    let list: Vec<String> = offsets.iter().map(|o| o.to_string()).collect();
                    return Err(InputError::at_offset(
                        &name,
                        offsets.get(1).copied(),
                        format!(
                            "the archive holds manifest.json {} times (members at byte offsets {}): which one describes the bundle is ambiguous, so none is used",
                            offsets.len(),
                            list.join(", ")
                        ),
                    ));
                }
                let file_len = match &store {
                    Store::Tar { path, gzip: false } => {
                        std::fs::metadata(path).ok().map(|m| m.len())
                    }
                    Store::Stdin { bytes, gzip: false } => Some(bytes.len() as u64),
                    _ => None,
                };
                found.ok_or_else(|| match (furthest, file_len) {
                    // A member's data ends at its header + 512, rounded up to
                    // 512; tar ends with two zero blocks after the last one.
                    (Some((p, offset, size)), Some(len))
                        if offset + 512 + size.div_ceil(512) * 512 + 1024 > len =>
                    {
                        InputError::at_offset(
                            &name,
                            Some(len),
                            format!(
                                "the archive is truncated: it ends at byte {len}, after member {p} (at byte offset {offset}), without tar's end-of-archive blocks, and no manifest.json came before"
                            ),
                        )
                    }
                    _ => InputError::new(
                        &name,
                        None,
                        "the archive has no manifest.json: not a bpfcase bundle",
                    ),
                })?
            }
        };
        let manifest = Manifest::parse(&manifest_bytes).map_err(|e| {
            InputError::new(
                format!("{name}!manifest.json"),
                Some(crate::model::finding::Position::Line(e.line() as u32)),
                format!("manifest.json: {e}"),
            )
        })?;
        if manifest.version != crate::bundle::VERSION {
            return Err(InputError::new(
                format!("{name}!manifest.json"),
                None,
                format!(
                    "bundle format version {} is not one this bpfcase reads (version {}): {}",
                    manifest.version,
                    crate::bundle::VERSION,
                    if manifest.version > crate::bundle::VERSION {
                        "it was written by a newer bpfcase; analyze it with that version"
                    } else {
                        "not a bundle bpfcase wrote"
                    }
                ),
            ));
        }
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
        let members = match &store {
            // `for_each_file` visits a directory's listed files in path order.
            Store::Dir(dir) => {
                let mut paths: Vec<&String> = manifest
                    .files
                    .iter()
                    .map(|f| &f.path)
                    .filter(|p| {
                        safe_join(dir, p)
                            .and_then(|full| std::fs::symlink_metadata(full).ok())
                            .is_some_and(|m| m.is_file())
                    })
                    .collect();
                paths.sort();
                paths.dedup();
                paths
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| (p.clone(), i))
                    .collect()
            }
            Store::Tar { .. } | Store::Stdin { .. } => tar_members,
        };
        Ok(Bundle {
            store,
            manifest,
            name,
            over_bound: None,
            members,
        })
    }

    /// Calls `f(path, offset, size, reader)` for every member of the tar
    /// but directories, in archive order: `Ok(reader)` for a regular file,
    /// `Err(what it is)` for a link, device or fifo member (never
    /// followed); `f` returns false to stop. An uncompressed tar skips the
    /// members `f` does not read by seeking; the tar stream (decompressed)
    /// read is counted against [`limits::MAX_BUNDLE_BYTES`].
    fn walk_tar(&mut self, f: &mut MemberVisitor<'_>) -> Result<(), InputError> {
        let name = self.name.clone();
        let read = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let (path, gzip) = match &self.store {
            Store::Dir(_) => return Ok(()),
            Store::Tar { path, gzip } => (path, gzip),
            Store::Stdin { bytes, gzip: true } => {
                let inner = flate2::read::GzDecoder::new(*bytes);
                let mut archive = tar::Archive::new(Counted { inner, read });
                let entries = archive
                    .entries()
                    .map_err(|e| InputError::new(&name, None, format!("tar: {e}")))?;
                return visit_entries(&name, entries, f);
            }
            Store::Stdin { bytes, gzip: false } => {
                let inner = io::Cursor::new(*bytes);
                let mut archive = tar::Archive::new(Counted { inner, read });
                let entries = archive
                    .entries_with_seek()
                    .map_err(|e| InputError::new(&name, None, format!("tar: {e}")))?;
                return visit_entries(&name, entries, f);
            }
        };
        let file = open_regular(path).map_err(|e| InputError::new(&name, None, e))?;
        if *gzip {
            let inner = flate2::read::GzDecoder::new(BufReader::with_capacity(1 << 20, file));
            let mut archive = tar::Archive::new(Counted { inner, read });
            let entries = archive
                .entries()
                .map_err(|e| InputError::new(&name, None, format!("tar: {e}")))?;
            visit_entries(&name, entries, f)
        } else {
            let inner = BufReader::with_capacity(1 << 16, file);
            let mut archive = tar::Archive::new(Counted { inner, read });
            let entries = archive
                .entries_with_seek()
                .map_err(|e| InputError::new(&name, None, format!("tar: {e}")))?;
            visit_entries(&name, entries, f)
        }
    }

    /// Streams every file listed in the manifest (except the manifest) to `f`,
    /// hashing as it goes. Returns the files whose SHA-256 differs from the
    /// manifest's, and the listed files that were not read with the reason
    /// (absent, or a link, fifo or device: never followed or opened, or
    /// larger than the manifest declares).
    ///
    /// Sizes are bounded before anything is read: a member larger than
    /// [`limits::bundle_member_allowance`] of its declared size is not read
    /// (in a `.tar.gz`, reading stops there, since skipping it would mean
    /// decompressing it; the files not reached are named in that one
    /// message, not listed again), and no more than
    /// [`limits::MAX_BUNDLE_BYTES`] are read per bundle. A member whose size
    /// (its tar header's, its file's, or the manifest's) is over the cap
    /// for its kind ([`MemberKind::cap`]: a BTF blob
    /// [`limits::MAX_BTF_BYTES`], the trace [`limits::MAX_FILE_BYTES`]) is
    /// not read either: it is listed as unread, naming that size and the
    /// cap, and the other members are read (a `.tar.gz` streams past it).
    pub fn for_each_file(
        &mut self,
        f: &mut dyn FnMut(&str, &mut dyn Read) -> io::Result<()>,
    ) -> Result<(Vec<Mismatch>, Vec<Unread>), InputError> {
        let expected: HashMap<String, (String, u64)> = self
            .manifest
            .files
            .iter()
            .map(|e| (e.path.clone(), (e.sha256.clone(), e.size)))
            .collect();
        let kinds = member_kinds(&self.manifest);
        let gzip = self.store.gzip();
        let mut seen: HashMap<String, bool> = HashMap::new();
        let mut mismatches = Vec::new();
        let mut refused: HashMap<String, String> = HashMap::new();
        let mut over: Vec<OverBound> = Vec::new();
        // Members over their kind's cap: not read, each its own finding.
        let mut capped: Vec<Unread> = Vec::new();
        let dir = matches!(self.store, Store::Dir(_));
        // Bytes read from a directory bundle (a tar's are counted on its stream).
        let mut total: u64 = 0;
        let mut visit = |p: &str,
                         _offset: u64,
                         size: u64,
                         r: Result<&mut dyn Read, String>|
         -> io::Result<bool> {
            let Some((want, declared)) = expected.get(p) else {
                // Not listed: skipped. An uncompressed tar or a directory
                // skips it for free; a `.tar.gz` would decompress it, so
                // only the manifest and small members are passed over.
                let allowed = if p == "manifest.json" {
                    MAX_MANIFEST
                } else {
                    limits::BUNDLE_MEMBER_SLACK
                };
                if gzip && size > allowed {
                    over.push(OverBound {
                        path: p.to_string(),
                        declared: None,
                        size,
                        allowed,
                        stopped_bundle: true,
                        not_reached: Vec::new(),
                    });
                    return Ok(false);
                }
                return Ok(true);
            };
            let r = match r {
                Ok(r) => r,
                Err(why) => {
                    refused.entry(p.to_string()).or_insert(why);
                    return Ok(true);
                }
            };
            let allowed = limits::bundle_member_allowance(*declared)
                .min(limits::MAX_BUNDLE_BYTES.saturating_sub(total));
            if size > allowed {
                seen.insert(p.to_string(), true);
                over.push(OverBound {
                    path: p.to_string(),
                    declared: Some(*declared),
                    size,
                    allowed,
                    stopped_bundle: gzip,
                    not_reached: Vec::new(),
                });
                return Ok(!gzip);
            }
            // Each kind's cap, from the size the member and the manifest
            // declare, before reading: a member over it is skipped (a
            // `.tar.gz` streams past it, costing time, not memory).
            let kind = kinds.get(p).copied().unwrap_or(MemberKind::Other);
            let from = if dir {
                "the file holds"
            } else {
                "its tar header declares"
            };
            let why = kind
                .over_cap(size, from)
                .or_else(|| kind.over_cap(*declared, "the manifest declares"));
            if let Some(why) = why {
                seen.insert(p.to_string(), true);
                capped.push(Unread {
                    path: p.to_string(),
                    why,
                });
                return Ok(true);
            }
            total += size;
            let mut hashing = HashingReader {
                inner: r,
                hasher: Sha256::new(),
            };
            // A directory member's size is its length when opened: a file
            // growing meanwhile is cut there (and fails its hash).
            let mut bounded = (&mut hashing).take(size);
            f(p, &mut bounded)?;
            // Hash whatever the consumer did not read.
            io::copy(&mut bounded, &mut io::sink())?;
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
                    if safe_join(&dir, p).is_none() {
                        return Err(InputError::new(
                            &self.name,
                            None,
                            format!("manifest lists an unsafe path {p:?}"),
                        ));
                    }
                    let member = open_member(&dir, p);
                    let mut file;
                    let mut size = 0;
                    let r: Member<'_> = match member {
                        Ok(f) => {
                            file = f;
                            size = file
                                .metadata()
                                .map_err(|e| {
                                    InputError::new(format!("{}/{p}", self.name), None, e)
                                })?
                                .len();
                            Ok(&mut file)
                        }
                        Err(why) if why == ABSENT => continue,
                        Err(why) => Err(why),
                    };
                    visit(p, 0, size, r)
                        .map_err(|e| InputError::new(format!("{}/{p}", self.name), None, e))?;
                }
            }
            Store::Tar { .. } | Store::Stdin { .. } => self.walk_tar(&mut visit)?,
        }
        let stopped = over.iter().any(|o| o.stopped_bundle);
        let mut not_reached = Vec::new();
        let mut unread: Vec<Unread> = Vec::new();
        for p in expected.keys().filter(|p| !seen.contains_key(*p)) {
            match refused.remove(p) {
                Some(why) => unread.push(Unread {
                    path: p.clone(),
                    why,
                }),
                // Past the member that stopped reading: named in its message.
                None if stopped => not_reached.push(p.clone()),
                None => unread.push(Unread {
                    path: p.clone(),
                    why: ABSENT.to_string(),
                }),
            }
        }
        not_reached.sort();
        unread.append(&mut capped);
        for mut o in over {
            if o.stopped_bundle {
                o.not_reached = std::mem::take(&mut not_reached);
                self.over_bound = Some(o.clone());
            }
            unread.push(Unread {
                path: o.path.clone(),
                why: o.message(),
            });
        }
        unread.sort_by(|a, b| a.path.cmp(&b.path));
        Ok((mismatches, unread))
    }

    /// The order in which [`Bundle::for_each_file`] visits the members.
    pub fn member_order(&self) -> MemberOrder {
        MemberOrder(self.members.clone())
    }

    /// The listed files a size bound left unread without a message of their
    /// own (reading stopped before them; [`OverBound::message`] counts them).
    pub fn not_reached(&self) -> &[String] {
        self.over_bound
            .as_ref()
            .map_or(&[], |o| o.not_reached.as_slice())
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

/// The body of [`Bundle::walk_tar`] for either kind of archive.
fn visit_entries<R: Read>(
    name: &str,
    entries: tar::Entries<'_, R>,
    f: &mut MemberVisitor<'_>,
) -> Result<(), InputError> {
    for entry in entries {
        let mut entry = entry.map_err(|e| InputError::new(name, None, format!("tar: {e}")))?;
        let offset = entry.raw_header_position();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        let size = entry.size();
        let refused = (!kind.is_file()).then(|| member_kind(entry.header()));
        let p = entry
            .path()
            .map_err(|e| InputError::at_offset(name, Some(offset), format!("tar entry path: {e}")))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let member: Member<'_> = match refused {
            None => Ok(&mut entry),
            Some(why) => Err(why),
        };
        let go_on = f(&p, offset, size, member)
            .map_err(|e| InputError::at_offset(name, Some(offset), format!("{p}: {e}")))?;
        if !go_on {
            break;
        }
    }
    Ok(())
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
