//! BTF from a raw blob or an ELF object: the bytes under the BTF cap, and
//! the parse (as base, or split over one). `engine::type_source::BtfFile`
//! is the BTF type source built on these.

use std::path::Path;

use crate::error::InputError;
use crate::ingest::btf::{Btf, BtfError};
use crate::ingest::elf::BpfObject;
use crate::ingest::read::FileBytes;

/// Largest BTF-bearing file read: [`crate::limits::MAX_BTF_FILE`].
pub const MAX_INPUT: u64 = crate::limits::MAX_BTF_FILE;

/// What a BTF-bearing file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BtfSource {
    Raw,
    Elf { section_offset: u64 },
}

/// Reads a file that holds BTF: raw BTF or an ELF file with a `.BTF`
/// section, mapped, under [`crate::limits::MAX_BTF_FILE`] (a larger file
/// is refused from its size, unread).
pub fn read_btf_file(path: &Path) -> Result<FileBytes, InputError> {
    super::type_source::map_capped(path, crate::limits::MAX_BTF_FILE, "MAX_BTF_FILE")
}

/// Finds the BTF bytes in `data` (raw, or the `.BTF` section of an ELF).
pub fn btf_bytes<'a>(path: &Path, data: &'a [u8]) -> Result<(&'a [u8], BtfSource), InputError> {
    let name = path.display().to_string();
    if data.starts_with(b"\x7fELF") {
        let obj =
            BpfObject::parse(data).map_err(|e| InputError::at_offset(&name, e.file_offset(), e))?;
        let section = obj.btf_data.ok_or_else(|| {
            InputError::new(
                &name,
                None,
                "ELF file has no .BTF section (built without -g?)",
            )
        })?;
        Ok((
            section,
            BtfSource::Elf {
                section_offset: obj.btf_file_offset,
            },
        ))
    } else if data.len() as u64 > crate::limits::MAX_BTF_BYTES {
        Err(InputError::new(
            &name,
            None,
            format!(
                "{} bytes of raw BTF, over the {}-byte limit for BTF (limits::MAX_BTF_BYTES)",
                data.len(),
                crate::limits::MAX_BTF_BYTES
            ),
        ))
    } else {
        Ok((data, BtfSource::Raw))
    }
}

/// Parses BTF found in `data`, as base or split over `base`.
pub fn parse_btf<'a>(
    path: &Path,
    data: &'a [u8],
    base: Option<&'a Btf<'a>>,
) -> Result<Btf<'a>, InputError> {
    let (bytes, source) = btf_bytes(path, data)?;
    let parsed = match base {
        Some(b) => Btf::parse_split(bytes, b),
        None => Btf::parse(bytes),
    };
    parsed.map_err(|e| {
        let shift = match source {
            BtfSource::Raw => 0,
            BtfSource::Elf { section_offset } => section_offset,
        };
        let what = match source {
            BtfSource::Raw => "BTF",
            BtfSource::Elf { .. } => ".BTF section",
        };
        let hint = match e {
            BtfError::SplitWithoutBase { .. } if base.is_none() => {
                "; give the base it was built over: --base /sys/kernel/btf/vmlinux"
            }
            _ => "",
        };
        InputError::at_offset(
            path.display().to_string(),
            e.offset().map(|o| o as u64 + shift),
            format!("{what}: {e}{hint}"),
        )
    })
}
