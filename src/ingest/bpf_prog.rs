//! The program code of a BPF ELF object: every executable section's
//! instructions, the functions (symbols) in them, the relocations that tie
//! `ld_imm64` instructions to maps and `call` instructions to subprograms in
//! other sections, and the `.BTF.ext` line info that maps an instruction to
//! its source file and line.
//!
//! Everything borrows the file's bytes; reads are checked, and an error names
//! the byte offset in the file where it was met.

use std::collections::HashMap;

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionKind};

use super::cursor::{Cursor, Endian, Truncated};

use crate::limits::{MAX_CODE_SECTIONS, MAX_LINE_RECORDS};

/// What went wrong reading an object's program code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProgError {
    #[error("not a readable ELF file: {0}")]
    Object(#[from] object::Error),
    #[error("section `{section}` is {len} bytes, not whole 8-byte instructions")]
    PartialInsn {
        section: String,
        len: usize,
        offset: u64,
    },
    #[error(".BTF.ext: {what}")]
    BtfExt { what: String, offset: u64 },
    #[error("more than {MAX_CODE_SECTIONS} code sections")]
    TooManySections,
}

impl ProgError {
    /// Byte offset in the file, where known.
    pub fn file_offset(&self) -> Option<u64> {
        match self {
            ProgError::PartialInsn { offset, .. } | ProgError::BtfExt { offset, .. } => {
                Some(*offset)
            }
            _ => None,
        }
    }
}

/// What a relocated instruction refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloc {
    /// `ld_imm64` of a map defined in `.maps` or `maps`: its name.
    Map(String),
    /// `ld_imm64` of global data (`.rodata`, `.bss`, `.data`, ...): a pointer
    /// into a map value, not a map the helpers take.
    GlobalData(String),
    /// A BPF-to-BPF `call` (or `ld_imm64` of a function): the code section
    /// index and the callee's first instruction there.
    Func { section: usize, insn: usize },
    /// Anything else (a kconfig or ksym extern, CO-RE, ...): its symbol.
    Other(String),
}

/// One function: a `STT_FUNC` symbol in a code section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Func {
    pub name: String,
    /// Index into [`ProgObject::sections`].
    pub section: usize,
    /// First instruction (8-byte slots from the section start).
    pub start: usize,
    /// Length in 8-byte slots.
    pub len: usize,
    /// A program entry point (a global function in a section other than
    /// `.text`); subprograms are the rest.
    pub entry: bool,
}

/// One executable section.
#[derive(Debug, Clone)]
pub struct CodeSection<'a> {
    pub name: String,
    /// The instructions, 8 bytes each (ld_imm64 takes two).
    pub code: &'a [u8],
    /// File offset of `code`.
    pub file_offset: u64,
    /// Relocations by instruction index (byte offset / 8).
    pub relocs: HashMap<usize, Reloc>,
    /// `.BTF.ext` line info: (instruction index, file, line), sorted by
    /// instruction.
    pub lines: Vec<(usize, String, u32)>,
}

/// The program code of one object.
#[derive(Debug, Clone)]
pub struct ProgObject<'a> {
    pub endian: Endian,
    pub sections: Vec<CodeSection<'a>>,
    pub funcs: Vec<Func>,
}

impl<'a> ProgObject<'a> {
    /// Reads the code sections, functions, relocations and line info.
    pub fn parse(data: &'a [u8]) -> Result<Self, ProgError> {
        let file = object::File::parse(data)?;
        let endian = if file.is_little_endian() {
            Endian::Little
        } else {
            Endian::Big
        };
        let mut sections = Vec::new();
        let mut by_elf_index = HashMap::new();
        for s in file.sections() {
            if s.kind() != SectionKind::Text || s.size() == 0 {
                continue;
            }
            let name = s.name().unwrap_or("").to_string();
            let code = s.data()?;
            let file_offset = s.file_range().map(|r| r.0).unwrap_or(0);
            if code.len() % 8 != 0 {
                return Err(ProgError::PartialInsn {
                    section: name,
                    len: code.len(),
                    offset: file_offset,
                });
            }
            if sections.len() == MAX_CODE_SECTIONS {
                return Err(ProgError::TooManySections);
            }
            by_elf_index.insert(s.index(), sections.len());
            sections.push(CodeSection {
                name,
                code,
                file_offset,
                relocs: HashMap::new(),
                lines: Vec::new(),
            });
        }

        let mut funcs = Vec::new();
        for sym in file.symbols() {
            if sym.kind() != object::SymbolKind::Text {
                continue;
            }
            let Some(&section) = sym.section_index().and_then(|i| by_elf_index.get(&i)) else {
                continue;
            };
            let slots = sections[section].code.len() / 8;
            let start = (sym.address() / 8) as usize;
            if start >= slots || sym.address() % 8 != 0 {
                continue;
            }
            // A symbol without a size (hand-written assembly) runs to the
            // next symbol or the section end; fixed below.
            let len = ((sym.size() / 8) as usize).min(slots - start);
            funcs.push(Func {
                name: sym.name().unwrap_or("").to_string(),
                section,
                start,
                len,
                entry: sym.is_global() && sections[section].name != ".text",
            });
        }
        funcs.sort_by_key(|f| (f.section, f.start));
        funcs.dedup_by_key(|f| (f.section, f.start));
        for i in 0..funcs.len() {
            if funcs[i].len == 0 {
                let end = funcs
                    .get(i + 1)
                    .filter(|n| n.section == funcs[i].section)
                    .map_or(sections[funcs[i].section].code.len() / 8, |n| n.start);
                funcs[i].len = end.saturating_sub(funcs[i].start);
            }
        }

        for s in file.sections() {
            let Some(&target) = by_elf_index.get(&s.index()) else {
                continue;
            };
            for (offset, rel) in s.relocations() {
                let RelocationTarget::Symbol(si) = rel.target() else {
                    continue;
                };
                let Ok(sym) = file.symbol_by_index(si) else {
                    continue;
                };
                let insn = (offset / 8) as usize;
                let sec_name = sym
                    .section_index()
                    .and_then(|i| file.section_by_index(i).ok())
                    .and_then(|s| s.name().ok().map(str::to_string))
                    .unwrap_or_default();
                let reloc = if let Some(&callee_sec) =
                    sym.section_index().and_then(|i| by_elf_index.get(&i))
                {
                    // libbpf: the callee is at sym_value / 8 + imm + 1.
                    let imm = read_imm(sections[target].code, insn, endian).unwrap_or(0);
                    let at = (sym.address() / 8) as i64 + imm as i64 + 1;
                    match usize::try_from(at) {
                        Ok(insn) => Reloc::Func {
                            section: callee_sec,
                            insn,
                        },
                        Err(_) => Reloc::Other(sym.name().unwrap_or("").to_string()),
                    }
                } else if sec_name == ".maps" || sec_name == "maps" {
                    Reloc::Map(sym.name().unwrap_or("").to_string())
                } else if is_global_data(&sec_name) {
                    Reloc::GlobalData(sec_name)
                } else {
                    Reloc::Other(sym.name().unwrap_or("").to_string())
                };
                sections[target].relocs.insert(insn, reloc);
            }
        }

        let mut obj = ProgObject {
            endian,
            sections,
            funcs,
        };
        let btf = file.section_by_name(".BTF");
        let ext = file.section_by_name(".BTF.ext");
        if let (Some(btf), Some(ext)) = (btf, ext) {
            let ext_off = ext.file_range().map(|r| r.0).unwrap_or(0);
            let strings = btf_strings(btf.data()?, endian).map_err(|what| ProgError::BtfExt {
                what: format!("in .BTF: {what}"),
                offset: btf.file_range().map(|r| r.0).unwrap_or(0),
            })?;
            obj.read_line_info(ext.data()?, ext_off, strings)?;
        }
        Ok(obj)
    }

    /// The function of section `section` that holds instruction `insn`.
    pub fn func_at(&self, section: usize, insn: usize) -> Option<&Func> {
        self.funcs
            .iter()
            .find(|f| f.section == section && (f.start..f.start + f.len).contains(&insn))
    }

    /// Source file and line of an instruction: the last line-info record at
    /// or before it in its function.
    pub fn line_of(&self, section: usize, insn: usize) -> Option<(&str, u32)> {
        let s = self.sections.get(section)?;
        let start = self.func_at(section, insn).map_or(0, |f| f.start);
        let i = s.lines.partition_point(|(at, _, _)| *at <= insn);
        let (at, file, line) = s.lines.get(i.checked_sub(1)?)?;
        (*at >= start).then_some((file.as_str(), *line))
    }

    /// `.BTF.ext`: header { magic u16, version u8, flags u8, hdr_len u32,
    /// func_info_off, func_info_len, line_info_off, line_info_len, ... }
    /// (offsets from the end of the header); the line info block is a
    /// record size, then per section { sec_name_off, num_info, records }.
    /// A record is { insn_off (bytes), file_name_off, line_off, line_col }.
    fn read_line_info(
        &mut self,
        ext: &'a [u8],
        base: u64,
        strings: &'a [u8],
    ) -> Result<(), ProgError> {
        let bad = |what: String, at: usize| ProgError::BtfExt {
            what,
            offset: base + at as u64,
        };
        let trunc = |t: Truncated| {
            bad(
                format!("truncated: {} bytes needed, {} left", t.needed, t.available),
                t.offset,
            )
        };
        let mut c = Cursor::new(ext, 0, self.endian);
        let magic = c.u16().map_err(trunc)?;
        if magic != 0xeb9f {
            return Err(bad(format!("bad magic 0x{magic:04x}"), 0));
        }
        c.u8().map_err(trunc)?;
        c.u8().map_err(trunc)?;
        let hdr_len = c.u32().map_err(trunc)? as usize;
        let _func_off = c.u32().map_err(trunc)?;
        let _func_len = c.u32().map_err(trunc)?;
        let line_off = c.u32().map_err(trunc)? as usize;
        let line_len = c.u32().map_err(trunc)? as usize;
        let start = hdr_len.saturating_add(line_off);
        let Some(block) = start
            .checked_add(line_len)
            .and_then(|end| ext.get(start..end))
        else {
            return Err(bad(
                format!(
                    "line info [{start}, +{line_len}) runs past the section's {} bytes",
                    ext.len()
                ),
                8,
            ));
        };
        if block.is_empty() {
            return Ok(());
        }
        let mut c = Cursor::new(block, start, self.endian);
        let rec_size = c.u32().map_err(trunc)? as usize;
        if rec_size < 16 {
            return Err(bad(format!("line info record size {rec_size} < 16"), start));
        }
        let names: HashMap<String, usize> = self
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        let mut total = 0usize;
        while c.remaining() > 0 {
            let at = c.offset();
            let sec_name = str_at(strings, c.u32().map_err(trunc)?);
            let n = c.u32().map_err(trunc)? as usize;
            let need = n.checked_mul(rec_size).filter(|&b| b <= c.remaining());
            let Some(bytes) = need else {
                return Err(bad(
                    format!("{n} line records of {rec_size} bytes do not fit"),
                    at,
                ));
            };
            total += n;
            if total > MAX_LINE_RECORDS {
                return Err(bad(
                    format!("more than {MAX_LINE_RECORDS} line records"),
                    at,
                ));
            }
            let recs = c.bytes(bytes).map_err(trunc)?;
            let target = names.get(sec_name).copied();
            let mut r = Cursor::new(recs, at + 8, self.endian);
            for _ in 0..n {
                let rec = r.bytes(rec_size).map_err(trunc)?;
                let mut f = Cursor::new(rec, 0, self.endian);
                let insn_off = f.u32().map_err(trunc)? as usize;
                let file_off = f.u32().map_err(trunc)?;
                let _line_off = f.u32().map_err(trunc)?;
                let line_col = f.u32().map_err(trunc)?;
                if let Some(t) = target {
                    self.sections[t].lines.push((
                        insn_off / 8,
                        str_at(strings, file_off).to_string(),
                        line_col >> 10,
                    ));
                }
            }
        }
        for s in &mut self.sections {
            s.lines.sort_by_key(|(at, _, _)| *at);
        }
        Ok(())
    }
}

fn is_global_data(section: &str) -> bool {
    [".rodata", ".data", ".bss", ".kconfig"]
        .iter()
        .any(|p| section == *p || section.starts_with(&format!("{p}.")))
}

/// The imm field of instruction `insn` of `code`.
fn read_imm(code: &[u8], insn: usize, endian: Endian) -> Option<i32> {
    // A relocation's offset comes from the file: checked, it may be huge.
    let at = insn.checked_mul(8)?.checked_add(4)?;
    let b = code.get(at..at.checked_add(4)?)?;
    let a = [b[0], b[1], b[2], b[3]];
    Some(match endian {
        Endian::Little => i32::from_le_bytes(a),
        Endian::Big => i32::from_be_bytes(a),
    })
}

/// The string section of a `.BTF` blob: header { magic u16, version u8,
/// flags u8, hdr_len u32, type_off, type_len, str_off, str_len }.
pub(crate) fn btf_strings(btf: &[u8], endian: Endian) -> Result<&[u8], String> {
    let mut c = Cursor::new(btf, 0, endian);
    let t = |t: Truncated| format!("header truncated at byte {}", t.offset);
    c.u32().map_err(t)?;
    let hdr_len = c.u32().map_err(t)? as usize;
    c.u32().map_err(t)?;
    c.u32().map_err(t)?;
    let str_off = c.u32().map_err(t)? as usize;
    let str_len = c.u32().map_err(t)? as usize;
    let start = hdr_len.saturating_add(str_off);
    start
        .checked_add(str_len)
        .and_then(|end| btf.get(start..end))
        .ok_or_else(|| format!("string section [{start}, +{str_len}) runs past its end"))
}

/// The NUL-terminated string at `off` (empty when out of range or not UTF-8).
pub(crate) fn str_at(strings: &[u8], off: u32) -> &str {
    let Some(rest) = strings.get(off as usize..) else {
        return "";
    };
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end]).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_corpus_object() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpora/prog/uninit.bpf.o"
        ))
        .unwrap();
        let obj = ProgObject::parse(&data).unwrap();
        let names: Vec<&str> = obj.funcs.iter().map(|f| f.name.as_str()).collect();
        assert!(names.contains(&"on_fork") && names.contains(&"fill_key"));
        let fork = obj.funcs.iter().find(|f| f.name == "on_fork").unwrap();
        assert!(fork.entry);
        let sec = &obj.sections[fork.section];
        assert_eq!(sec.relocs.get(&13), Some(&Reloc::Map("tasks".into())));
        let (file, line) = obj.line_of(fork.section, 16).unwrap();
        assert!(file.ends_with("uninit.bpf.c"), "{file}");
        assert!(line > 0);
    }

    #[test]
    fn str_at_is_bounded() {
        assert_eq!(str_at(b"\0abc\0", 1), "abc");
        assert_eq!(str_at(b"\0abc", 1), "abc");
        assert_eq!(str_at(b"\0", 9), "");
    }

    #[test]
    fn bad_btf_ext_magic_is_an_error_with_offset() {
        let mut obj = ProgObject {
            endian: Endian::Little,
            sections: Vec::new(),
            funcs: Vec::new(),
        };
        let e = obj.read_line_info(&[0, 0, 1, 0], 100, b"\0").unwrap_err();
        assert_eq!(e.file_offset(), Some(100));
        let e = obj.read_line_info(&[0x9f, 0xeb], 100, b"\0").unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }
}
