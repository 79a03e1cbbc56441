//! Which paths of the command line are bundles: each file given is one
//! (what it holds is found out when it is read); a directory is one when it
//! holds `manifest.json`, else its entries are looked at, one level deep.
//! Entries that are not bundles are listed in the report, never dropped
//! silently.

use std::path::{Path, PathBuf};

use crate::engine::error::Result;

use crate::bundle::reader::is_bundle;
use crate::error::InputError;
use crate::report::fleet::IgnoredPath;

/// Bundles to read, and directory entries that are not bundles.
#[derive(Debug, Default)]
pub struct Discovered {
    pub bundles: Vec<PathBuf>,
    pub ignored: Vec<IgnoredPath>,
}

/// A name collect's bundles have (`.tar`, `.tar.gz`, `.tgz`).
fn has_bundle_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".tar") || name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// Why `path` is not read at all: it is neither a regular file nor a
/// directory (a FIFO, whose open would wait for a writer forever; a device;
/// a socket), whatever its name. Bundles are then opened without blocking
/// and checked again on the open descriptor, so a swap after this check
/// cannot hang the run either.
fn not_a_file(path: &Path) -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    let ft = std::fs::metadata(path).ok()?.file_type();
    let kind = if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        return None;
    };
    Some(format!(
        "not a regular file ({kind}): not read (a bundle is a regular file or a directory)"
    ))
}

/// Finds the bundles among `inputs`. A path that does not exist, or a
/// directory that cannot be listed, is an error (exit 2).
pub fn discover(inputs: &[PathBuf]) -> Result<Discovered> {
    let mut found = Discovered::default();
    for input in inputs {
        if !input.exists() {
            return Err(InputError::new(
                input.display().to_string(),
                None,
                "no such file or directory",
            )
            .into());
        }
        if let Some(reason) = not_a_file(input) {
            found.ignored.push(IgnoredPath {
                path: input.display().to_string(),
                reason,
            });
            continue;
        }
        if !input.is_dir() || input.join("manifest.json").is_file() {
            found.bundles.push(input.clone());
            continue;
        }
        let listing = std::fs::read_dir(input)
            .map_err(|e| InputError::new(input.display().to_string(), None, e))?;
        let mut entries: Vec<PathBuf> = listing.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            if let Some(reason) = not_a_file(&path) {
                found.ignored.push(IgnoredPath {
                    path: path.display().to_string(),
                    reason,
                });
            } else if path.is_dir() {
                if path.join("manifest.json").is_file() {
                    found.bundles.push(path);
                } else {
                    found.ignored.push(IgnoredPath {
                        path: path.display().to_string(),
                        reason: "a directory without manifest.json".into(),
                    });
                }
            } else if has_bundle_name(&path) || is_bundle(&path) {
                // Named like a bundle but unreadable: reported as unreadable.
                found.bundles.push(path);
            } else {
                found.ignored.push(IgnoredPath {
                    path: path.display().to_string(),
                    reason: "not a bundle (.tar, .tar.gz, .tgz, or a directory with manifest.json)"
                        .into(),
                });
            }
        }
    }
    found.bundles.sort();
    found.bundles.dedup();
    Ok(found)
}
