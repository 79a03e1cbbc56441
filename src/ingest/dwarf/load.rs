//! Reading the DWARF sections out of an ELF file, decompressing
//! `SHF_COMPRESSED` (and GNU `.zdebug_*`) sections, and finding the split
//! debug file of a stripped binary by build-id or `.gnu_debuglink`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use gimli::{RunTimeEndian, SectionId};
use object::{CompressionFormat, Object, ObjectSection};

use super::{DwarfError, DwarfFile, LazyLine};

use crate::limits::{MAX_DWARF_BYTES as MAX_DEBUG_FILE, MAX_ZLIB_RATIO};

/// Where to look for split debug files.
#[derive(Debug, Clone)]
pub struct DebugSearch {
    /// Directories searched first, in order: `DIR/.build-id/xx/rest.debug`,
    /// `DIR/<debuglink name>`.
    pub dirs: Vec<PathBuf>,
    /// Also search the binary's directory (`DIR/NAME`, `DIR/.debug/NAME`)
    /// and `/usr/lib/debug`, the way gdb does.
    pub default_dirs: bool,
}

impl Default for DebugSearch {
    fn default() -> Self {
        DebugSearch {
            dirs: Vec::new(),
            default_dirs: true,
        }
    }
}

impl DebugSearch {
    /// Search only `dir` (as given with `--debug-dir`).
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        DebugSearch {
            dirs: vec![dir.into()],
            default_dirs: false,
        }
    }
}

/// Sections the layout code reads (`.debug_line` is loaded lazily, see
/// `LazyLine`); frames, locations and ranges are never needed.
const SECTIONS: &[SectionId] = &[
    SectionId::DebugInfo,
    SectionId::DebugAbbrev,
    SectionId::DebugStr,
    SectionId::DebugStrOffsets,
    SectionId::DebugLineStr,
    SectionId::DebugTypes,
];

pub(super) fn load<'a>(
    path: &Path,
    data: &'a [u8],
    search: &DebugSearch,
) -> Result<DwarfFile<'a>, DwarfError> {
    let file = object::File::parse(data).map_err(DwarfError::Object)?;
    if has_debug_info(&file) {
        let line = match file.section_by_name(".debug_line") {
            Some(s) if s.kind() != object::SectionKind::UninitializedData => {
                match s.compressed_data() {
                    Ok(c) if c.format == CompressionFormat::None => LazyLine::ready(c.data.into()),
                    Ok(c) => LazyLine::compressed(c),
                    Err(_) => LazyLine::ready(Cow::Borrowed(&[])),
                }
            }
            _ => LazyLine::ready(Cow::Borrowed(&[])),
        };
        return from_object(&file, path.to_path_buf(), Cow::Borrowed, line);
    }
    let build_id = file.build_id().map_err(DwarfError::Object)?;
    let debuglink = file.gnu_debuglink().map_err(DwarfError::Object)?;
    let mut searched = Vec::new();
    for candidate in candidates(path, build_id, debuglink, search) {
        let shown = candidate.path.display().to_string();
        let bytes = match read_limited(&candidate.path) {
            Ok(Some(b)) => b,
            Ok(None) => {
                searched.push(shown);
                continue;
            }
            Err(source) => {
                return Err(DwarfError::DebugFile {
                    path: candidate.path,
                    source,
                })
            }
        };
        if let Some(crc) = candidate.crc {
            let mut hasher = flate2::Crc::new();
            hasher.update(&bytes);
            if hasher.sum() != crc {
                searched.push(format!("{shown} (CRC mismatch)"));
                continue;
            }
        }
        let debug = object::File::parse(&bytes[..]).map_err(DwarfError::Object)?;
        if let Some(want) = build_id {
            if debug.build_id().ok().flatten() != Some(want) {
                searched.push(format!("{shown} (build-id mismatch)"));
                continue;
            }
        }
        if !has_debug_info(&debug) {
            searched.push(format!("{shown} (no .debug_info)"));
            continue;
        }
        // The debug file's bytes do not outlive this call: copy the sections.
        let own = |b: &[u8]| Cow::Owned(b.to_vec());
        let line = LazyLine::ready(section_bytes(&debug, SectionId::DebugLine, &own)?);
        return from_object(&debug, candidate.path.clone(), own, line).map(|f| DwarfFile {
            debug_path: candidate.path,
            ..f
        });
    }
    Err(DwarfError::NoDebugInfo { searched })
}

fn has_debug_info(file: &object::File<'_>) -> bool {
    file.section_by_name(".debug_info")
        .is_some_and(|s| s.kind() != object::SectionKind::UninitializedData && s.size() > 0)
}

/// Builds a [`DwarfFile`] from an object's sections; `own` turns borrowed
/// bytes into the lifetime the result needs.
fn from_object<'d, 'a>(
    file: &object::File<'d>,
    debug_path: PathBuf,
    own: impl Fn(&'d [u8]) -> Cow<'a, [u8]>,
    line: LazyLine<'a>,
) -> Result<DwarfFile<'a>, DwarfError> {
    let endian = if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let mut loaded = Vec::with_capacity(SECTIONS.len());
    for &id in SECTIONS {
        loaded.push((id, section_bytes(file, id, &own)?));
    }
    let sections = gimli::DwarfSections::load(|id| -> Result<Cow<'a, [u8]>, DwarfError> {
        Ok(loaded
            .iter_mut()
            .find(|(i, _)| *i == id)
            .map(|(_, b)| std::mem::take(b))
            .unwrap_or(Cow::Borrowed(&[])))
    })?;
    Ok(DwarfFile {
        debug_path,
        endian,
        sections,
        line,
    })
}

/// The uncompressed bytes of one section (empty when absent).
fn section_bytes<'d, 'a>(
    file: &object::File<'d>,
    id: SectionId,
    own: &impl Fn(&'d [u8]) -> Cow<'a, [u8]>,
) -> Result<Cow<'a, [u8]>, DwarfError> {
    let Some(section) = file.section_by_name(id.name()) else {
        return Ok(Cow::Borrowed(&[]));
    };
    if section.kind() == object::SectionKind::UninitializedData {
        return Ok(Cow::Borrowed(&[]));
    }
    let name = section.name().unwrap_or(id.name()).to_string();
    let file_offset = section.file_range().map(|r| r.0).unwrap_or(0);
    let bad = |source| DwarfError::Section {
        section: name.clone(),
        file_offset,
        source,
    };
    let compressed = section.compressed_data().map_err(bad)?;
    if compressed.format == CompressionFormat::None {
        return Ok(own(compressed.data));
    }
    if !plausible_size(&compressed) {
        return Err(DwarfError::SectionTooLarge {
            section: name,
            file_offset,
            size: compressed.uncompressed_size,
            compressed: compressed.data.len() as u64,
        });
    }
    let bytes = compressed.decompress().map_err(bad)?;
    Ok(Cow::Owned(bytes.into_owned()))
}

/// Whether a compressed section's claimed size is one zlib can reach.
pub(super) fn plausible_size(c: &object::CompressedData<'_>) -> bool {
    let limit = (c.data.len() as u64)
        .saturating_mul(MAX_ZLIB_RATIO)
        .saturating_add(4096);
    c.uncompressed_size <= limit
}

struct Candidate {
    path: PathBuf,
    /// The CRC32 `.gnu_debuglink` promises (build-id candidates are checked
    /// by build-id instead).
    crc: Option<u32>,
}

/// Split debug file candidates, in gdb's order: build-id first, then the
/// debuglink name in each directory.
fn candidates(
    binary: &Path,
    build_id: Option<&[u8]>,
    debuglink: Option<(&[u8], u32)>,
    search: &DebugSearch,
) -> Vec<Candidate> {
    let mut dirs: Vec<PathBuf> = search.dirs.clone();
    let bin_dir = binary
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("."));
    let system = PathBuf::from("/usr/lib/debug");
    let mut out = Vec::new();
    if search.default_dirs {
        dirs.push(system.clone());
    }
    if let Some(id) = build_id.filter(|id| id.len() >= 2) {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        for dir in &dirs {
            out.push(Candidate {
                path: dir
                    .join(".build-id")
                    .join(&hex[..2])
                    .join(format!("{}.debug", &hex[2..])),
                crc: None,
            });
        }
    }
    if let Some((name, crc)) = debuglink {
        let name = Path::new(std::str::from_utf8(name).unwrap_or_default());
        // A debuglink is a file name; refuse paths that would leave the dir.
        if name.components().count() == 1 && !name.as_os_str().is_empty() {
            let mut link_dirs = search.dirs.clone();
            if search.default_dirs {
                link_dirs.push(bin_dir.clone());
                link_dirs.push(bin_dir.join(".debug"));
                let abs = std::fs::canonicalize(&bin_dir).unwrap_or(bin_dir.clone());
                link_dirs.push(system.join(abs.strip_prefix("/").unwrap_or(&abs)));
            }
            for dir in link_dirs {
                let path = dir.join(name);
                if path != binary {
                    out.push(Candidate {
                        path,
                        crc: Some(crc),
                    });
                }
            }
        }
    }
    out
}

/// Reads a candidate debug file; `Ok(None)` when it does not exist.
fn read_limited(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::new();
    f.take(MAX_DEBUG_FILE + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_DEBUG_FILE {
        return Err(std::io::Error::other(format!(
            "larger than the {MAX_DEBUG_FILE}-byte limit"
        )));
    }
    Ok(Some(buf))
}
