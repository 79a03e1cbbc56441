//! BPF ELF objects embedded in a user-space binary: libbpf skeletons keep
//! the whole object as a byte array (`NAME__elf_bytes()`), bpf2go
//! `//go:embed`s it, aya and libbpf-rs `include_bytes!` it. Each sits in the
//! binary's data as a complete ELF image whose header says `e_machine`
//! EM_BPF (247); its length is `e_shoff + e_shnum × e_shentsize` (the
//! section header table comes last in what clang and libbpf's linker write).

use crate::limits::MAX_EMBEDDED_OBJECTS;

const EM_BPF: u16 = 247;

/// The embedded BPF objects of `data`: (offset in `data`, a copy of the
/// image). Only 64-bit images whose header and section table lie inside
/// `data` are taken; a candidate that does not parse as ELF is skipped.
///
/// The image is copied: the `object` crate reads ELF headers as aligned
/// types, and an image in a binary's `.rodata` may start at any byte (a
/// fresh allocation is aligned as a file read into memory is).
pub fn bpf_objects(data: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    // Bytes copied for candidates that then did not parse: a binary full
    // of headers that look like EM_BPF images costs at most its own size
    // in copies, not its size per header.
    let mut wasted = 0usize;
    while let Some(i) = memchr::memmem::find(&data[at..], b"\x7fELF").map(|i| i + at) {
        at = i + 1;
        match image_at(data, i) {
            Candidate::Image(img) => {
                at = i + img.len();
                out.push((i, img));
                if out.len() == MAX_EMBEDDED_OBJECTS {
                    break;
                }
            }
            Candidate::Unparsed(copied) => {
                wasted = wasted.saturating_add(copied);
                if wasted > data.len() {
                    break;
                }
            }
            Candidate::No => {}
        }
    }
    out
}

enum Candidate {
    /// Not an EM_BPF image (nothing copied).
    No,
    /// Copied this many bytes, then did not parse as ELF.
    Unparsed(usize),
    Image(Vec<u8>),
}

fn image_at(data: &[u8], i: usize) -> Candidate {
    match header_len(data, i) {
        Some(len) => {
            let img = data[i..i + len].to_vec();
            if object::File::parse(&img[..]).is_ok() {
                Candidate::Image(img)
            } else {
                Candidate::Unparsed(len)
            }
        }
        None => Candidate::No,
    }
}

/// The length of the EM_BPF ELF64 image whose header is at `i`, when its
/// section header table lies inside `data`.
fn header_len(data: &[u8], i: usize) -> Option<usize> {
    let h = data.get(i..i.checked_add(64)?)?;
    // ELFCLASS64, version 1.
    if h[4] != 2 || h[6] != 1 {
        return None;
    }
    let little = match h[5] {
        1 => true,
        2 => false,
        _ => return None,
    };
    let u16_at = |o: usize| {
        let b = [h[o], h[o + 1]];
        if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    };
    let mut q = [0u8; 8];
    q.copy_from_slice(&h[40..48]);
    let shoff = if little {
        u64::from_le_bytes(q)
    } else {
        u64::from_be_bytes(q)
    };
    if u16_at(18) != EM_BPF {
        return None;
    }
    let len = shoff.checked_add(u64::from(u16_at(60)) * u64::from(u16_at(58)))?;
    let len = usize::try_from(len).ok()?;
    // At least the ELF header, and inside `data`.
    (len >= 64 && i.checked_add(len)? <= data.len()).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_an_object_between_other_bytes() {
        let obj = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpora/prog/clean.bpf.o"
        ))
        .unwrap();
        let mut bin = b"\x7fELF not an image".to_vec();
        bin.extend_from_slice(&obj);
        bin.extend_from_slice(b"trailing data");
        let found = bpf_objects(&bin);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 17);
        assert_eq!(found[0].1, obj);
    }

    #[test]
    fn truncated_image_is_skipped() {
        let obj = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpora/prog/clean.bpf.o"
        ))
        .unwrap();
        assert!(bpf_objects(&obj[..obj.len() - 1]).is_empty());
    }
}
