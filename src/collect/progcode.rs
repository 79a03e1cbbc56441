//! Each live program's translated code, saved with the program: the
//! instructions the kernel gives back (`xlated_prog_insns`), its `func_info`
//! and `line_info` records (`progs/ID.xlated`, `.func_info`, `.line_info`;
//! `docs/bundle.md`, "Program code"), and what its helper calls go to.
//!
//! In the translated code a helper call's `imm` is the target's address
//! minus `__bpf_call_base` (kernel/bpf/syscall.c `bpf_insn_prepare_dump`
//! zeroes it when the reader may not see kernel addresses), and the verifier
//! has turned map helpers into direct calls to the map type's functions
//! (`htab_map_update_elem`) or inlined them. So each distinct target is
//! named here, on the node, from `/proc/kallsyms`; `analyze` maps the names
//! back to the helpers they implement (`ingest::prog_xlated`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;

use super::sys::{self, ProgInfo};
use super::{CollectFailure, Run};
use crate::bundle::{CallTarget, ProgCode};

/// Most bytes of `/proc/kallsyms` read (a distribution kernel with modules
/// has ~15 MB).
const MAX_KALLSYMS_BYTES: u64 = 256 << 20;

/// A program whose code was saved, waiting for its call targets.
pub(super) struct Pending {
    /// Index into `manifest.progs`.
    index: usize,
    /// Distinct helper-call `imm`s (0 excluded).
    imms: BTreeSet<i32>,
    /// Some helper call had `imm` 0: the kernel withheld the address.
    zeroed: bool,
}

/// Reads program `info.id`'s translated code and writes its members; the
/// record at `index` gets their paths. A program whose code cannot be read
/// is an error of the collection, never a failure of it.
pub(super) fn save(
    run: &mut Run,
    index: usize,
    fd: &OwnedFd,
    info: &ProgInfo,
) -> Result<Option<Pending>, CollectFailure> {
    let id = info.id;
    let code = match sys::prog_code(fd, info) {
        Ok(c) => c,
        Err(e) => {
            run.error(format!("prog {id} code"), e);
            return Ok(None);
        }
    };
    for cut in &code.cut {
        run.limit("prog-code", format!("prog {id}"), cut.clone());
    }
    if code.xlated.is_empty() {
        return Ok(None);
    }
    let need = (code.xlated.len() + code.func_info.len() + code.line_info.len()) as u64;
    if need > run.bytes_left() {
        run.limit(
            "max-bytes",
            format!("prog {id} code"),
            format!("{need} bytes of translated code and info not saved (--max-bytes)"),
        );
        return Ok(None);
    }
    let xlated = format!("progs/{id}.xlated");
    run.writer
        .add_bytes(&xlated, &code.xlated)
        .map_err(|e| run.write_err(e))?;
    let mut rec = ProgCode {
        xlated,
        ..Default::default()
    };
    if !code.func_info.is_empty() {
        let path = format!("progs/{id}.func_info");
        run.writer
            .add_bytes(&path, &code.func_info)
            .map_err(|e| run.write_err(e))?;
        rec.func_info = Some(path);
        rec.func_info_rec_size = code.func_info_rec_size;
    }
    if !code.line_info.is_empty() {
        let path = format!("progs/{id}.line_info");
        run.writer
            .add_bytes(&path, &code.line_info)
            .map_err(|e| run.write_err(e))?;
        rec.line_info = Some(path);
        rec.line_info_rec_size = code.line_info_rec_size;
    }
    let (imms, zeroed) = helper_imms(&code.xlated);
    run.manifest.progs[index].code = Some(rec);
    Ok(Some(Pending {
        index,
        imms,
        zeroed,
    }))
}

/// The distinct `imm`s of helper calls (`call`, src_reg 0) in `xlated`
/// (the node's byte order), and whether one was 0.
fn helper_imms(xlated: &[u8]) -> (BTreeSet<i32>, bool) {
    let mut imms = BTreeSet::new();
    let mut zeroed = false;
    for insn in xlated.chunks_exact(8) {
        let src = if cfg!(target_endian = "little") {
            insn[1] >> 4
        } else {
            insn[1] & 0xf
        };
        if insn[0] != 0x85 || src != 0 {
            continue;
        }
        let imm = i32::from_ne_bytes([insn[4], insn[5], insn[6], insn[7]]);
        if imm == 0 {
            zeroed = true;
        } else {
            imms.insert(imm);
        }
    }
    (imms, zeroed)
}

/// Names every pending program's call targets from `/proc/kallsyms`, or
/// says why they cannot be named.
pub(super) fn resolve(run: &mut Run, pending: Vec<Pending>) {
    if pending.is_empty() {
        return;
    }
    let base = match kallsyms_lookup(&BTreeSet::new(), true) {
        Ok((_, Some(0))) => {
            let note =
                "kallsyms shows zero addresses (kernel.kptr_restrict): call targets not named";
            return note_all(run, &pending, note);
        }
        Ok((_, Some(b))) => b,
        Ok((_, None)) => {
            return note_all(
                run,
                &pending,
                "kallsyms has no `__bpf_call_base`: call targets not named",
            )
        }
        Err(e) => {
            run.error("/proc/kallsyms", &e);
            return note_all(
                run,
                &pending,
                &format!("/proc/kallsyms not read ({e}): call targets not named"),
            );
        }
    };
    let wanted: BTreeSet<u64> = pending
        .iter()
        .flat_map(|p| p.imms.iter())
        .map(|&imm| base.wrapping_add(imm as i64 as u64))
        .collect();
    let names = match kallsyms_lookup(&wanted, false) {
        Ok((names, _)) => names,
        Err(e) => {
            run.error("/proc/kallsyms", &e);
            BTreeMap::new()
        }
    };
    for p in pending {
        let Some(code) = run.manifest.progs[p.index].code.as_mut() else {
            continue;
        };
        code.call_targets = p
            .imms
            .iter()
            .filter_map(|&imm| {
                let at = base.wrapping_add(imm as i64 as u64);
                names.get(&at).map(|s| CallTarget {
                    imm,
                    symbol: s.clone(),
                })
            })
            .collect();
        if p.zeroed {
            code.call_targets_note = Some("the kernel withheld some call addresses (imm 0)".into());
        }
    }
}

fn note_all(run: &mut Run, pending: &[Pending], note: &str) {
    for p in pending {
        if let Some(code) = run.manifest.progs[p.index].code.as_mut() {
            code.call_targets_note = Some(note.to_string());
        }
    }
}

/// One pass over `/proc/kallsyms`: the names at the `wanted` addresses
/// (the first symbol listed at each), and with `base`, the address of
/// `__bpf_call_base`.
fn kallsyms_lookup(
    wanted: &BTreeSet<u64>,
    base: bool,
) -> std::io::Result<(BTreeMap<u64, String>, Option<u64>)> {
    let f = std::fs::File::open("/proc/kallsyms")?;
    read_kallsyms(BufReader::new(f.take(MAX_KALLSYMS_BYTES)), wanted, base)
}

fn read_kallsyms(
    r: impl BufRead,
    wanted: &BTreeSet<u64>,
    base: bool,
) -> std::io::Result<(BTreeMap<u64, String>, Option<u64>)> {
    let mut names = BTreeMap::new();
    let mut base_at = None;
    for line in r.split(b'\n') {
        let line = line?;
        let mut f = line.split(|&b| b == b' ' || b == b'\t');
        let (Some(addr), Some(_kind), Some(name)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Some(addr) = std::str::from_utf8(addr)
            .ok()
            .and_then(|a| u64::from_str_radix(a, 16).ok())
        else {
            continue;
        };
        if base && base_at.is_none() && name == b"__bpf_call_base" {
            base_at = Some(addr);
            if wanted.is_empty() {
                break;
            }
        }
        if wanted.contains(&addr) && !names.contains_key(&addr) {
            names.insert(addr, String::from_utf8_lossy(name).into_owned());
        }
    }
    Ok((names, base_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kallsyms_lines_give_names_and_the_base() {
        let text = b"ffffffff81000000 T _stext\n\
            ffffffff81200000 T __bpf_call_base\n\
            ffffffff81200040 T htab_map_update_elem\n\
            ffffffff81200040 t alias_at_same_address\n\
            ffffffffc0000000 t mod_fn\t[mymod]\n\
            garbage line\n";
        let wanted: BTreeSet<u64> = [0xffffffff81200040, 0xffffffffc0000000].into();
        let (names, base) = read_kallsyms(&text[..], &wanted, true).unwrap();
        assert_eq!(base, Some(0xffffffff81200000));
        assert_eq!(names[&0xffffffff81200040], "htab_map_update_elem");
        assert_eq!(names[&0xffffffffc0000000], "mod_fn");
    }

    #[test]
    #[rustfmt::skip]
    fn helper_imms_are_the_calls_with_src_reg_0() {
        let mut code = Vec::new();
        let mut insn = |b: [u8; 4], imm: i32| {
            code.extend_from_slice(&b);
            code.extend_from_slice(&imm.to_ne_bytes());
        };
        let regs = |dst: u8, src: u8| if cfg!(target_endian = "little") { src << 4 | dst } else { dst << 4 | src };
        insn([0x85, regs(0, 0), 0, 0], 4242);  // call helper
        insn([0x85, regs(0, 1), 0, 0], 7);     // BPF-to-BPF call: not a helper
        insn([0x85, regs(0, 0), 0, 0], 4242);  // the same target again
        insn([0x85, regs(0, 0), 0, 0], 0);     // address withheld
        insn([0xb7, regs(1, 0), 0, 0], 5);     // r1 = 5
        let (imms, zeroed) = helper_imms(&code);
        assert_eq!(imms.into_iter().collect::<Vec<_>>(), vec![4242]);
        assert!(zeroed);
    }
}
