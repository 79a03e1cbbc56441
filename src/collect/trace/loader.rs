//! A minimal loader for the embedded trace program (no libbpf): creates the
//! maps its `.maps` section declares, points the programs' map references at
//! them, loads the programs of one [`Attach`] kind and attaches them.
//!
//! Two attaches exist. Raw tracepoints (`sys_enter`/`sys_exit`, opened with
//! `BPF_RAW_TRACEPOINT_OPEN` by name) are the default: they need no tracefs,
//! which a new machine and most pods do not have mounted, and no
//! tracepoint id. The programs read the syscall's number and arguments from
//! `struct pt_regs`, whose offsets [`SyscallRegs`] takes from the running
//! kernel's BTF (or the architecture's fixed layout). The tracefs syscall
//! tracepoints (`syscalls/sys_{enter,exit}_bpf`, attached through perf
//! events) are the fallback where raw tracepoints cannot be used (an
//! architecture whose `pt_regs` is not known here).
//!
//! The map definitions come from the object's BTF (`ingest::elf`), as
//! libbpf reads them. A map reference in a program is an `ld_imm64`
//! instruction (two 8-byte slots, opcode 0x18) that the relocation section
//! `.rel<section>` points at a map's symbol; the loader sets its source
//! register to `BPF_PSEUDO_MAP_FD` and its immediate to the map's fd, which
//! the verifier turns into the map's address.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

use super::TraceError;
use crate::collect::sys::{self, MapSpec};
use crate::ingest::elf::{btf_map_defs, BpfObject};

/// `BPF_LD | BPF_IMM | BPF_DW`: the first slot of an `ld_imm64`.
const LD_IMM64: u8 = 0x18;
/// `BPF_PSEUDO_MAP_FD`: the immediate is a map fd.
const PSEUDO_MAP_FD: u8 = 1;

/// Where tracefs may be mounted, in the order tried.
const TRACEFS_ROOTS: &[&str] = &["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// How the trace programs are attached to the bpf() syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// Raw tracepoints `sys_enter`/`sys_exit` (`BPF_RAW_TRACEPOINT_OPEN`):
    /// no tracefs; the programs run on every syscall and filter bpf().
    RawTracepoint,
    /// The tracefs tracepoints `syscalls/sys_enter_bpf`/`sys_exit_bpf`
    /// through perf events: fire for bpf() only, need tracefs mounted.
    Tracefs,
}

impl Attach {
    /// The ELF section prefix of this attach's programs.
    fn section_prefix(self) -> &'static str {
        match self {
            Attach::RawTracepoint => "raw_tracepoint/",
            Attach::Tracefs => "tracepoint/",
        }
    }

    fn prog_type(self) -> u32 {
        match self {
            Attach::RawTracepoint => sys::PROG_TYPE_RAW_TRACEPOINT,
            Attach::Tracefs => sys::PROG_TYPE_TRACEPOINT,
        }
    }

    /// How the manifest names it (`manifest.trace.attach`).
    pub fn as_str(self) -> &'static str {
        match self {
            Attach::RawTracepoint => "raw_tracepoint",
            Attach::Tracefs => "tracefs_tracepoint",
        }
    }
}

/// Where the raw tracepoint programs find the syscall's number and its
/// first three arguments in `struct pt_regs`, and the bpf syscall's number:
/// the `struct config` of `bpf_calls.bpf.c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallRegs {
    pub nr_bpf: u64,
    pub args: [u32; 3],
    pub nr: u32,
}

/// Most offsets a `pt_regs` field can have (the program masks with 0xfff).
const PT_REGS_MAX: u32 = 0x1000 - 8;

impl SyscallRegs {
    /// The fixed layout for this build's architecture: x86_64 (`di`, `si`,
    /// `dx`, `orig_ax`) and aarch64 (`regs[0..3]`, `syscallno`); `None`
    /// elsewhere.
    pub fn builtin() -> Option<SyscallRegs> {
        if cfg!(target_arch = "x86_64") {
            Some(SyscallRegs {
                nr_bpf: 321,
                args: [112, 104, 96],
                nr: 120,
            })
        } else if cfg!(target_arch = "aarch64") {
            Some(SyscallRegs {
                nr_bpf: 280,
                args: [0, 8, 16],
                nr: 280,
            })
        } else {
            None
        }
    }

    /// The offsets read from the running kernel's `struct pt_regs` in
    /// `btf` (vmlinux BTF), for this build's architecture; `None` when the
    /// type or a field is not there.
    pub fn from_btf(btf: &crate::ingest::btf::Btf<'_>) -> Option<SyscallRegs> {
        let builtin = Self::builtin()?;
        let id = btf.find_by_name("pt_regs").into_iter().find(|&id| {
            btf.kind_and_ref(id)
                .is_ok_and(|(k, _)| k == crate::ingest::btf::BtfKind::Struct)
        })?;
        let ty = btf.type_by_id(id).ok()?;
        let member = |name: &str| {
            ty.members(btf)
                .find(|m| m.name == name)
                .map(|m| m.bit_offset / 8)
        };
        let (args, nr) = if cfg!(target_arch = "x86_64") {
            (
                [member("di")?, member("si")?, member("dx")?],
                member("orig_ax")?,
            )
        } else {
            // aarch64: `regs` may sit inside an anonymous union (user_regs);
            // its offset is 0 on every kernel that has it.
            let regs = member("regs").unwrap_or(0);
            ([regs, regs + 8, regs + 16], member("syscallno")?)
        };
        let found = SyscallRegs {
            nr_bpf: builtin.nr_bpf,
            args,
            nr,
        };
        found.is_usable().then_some(found)
    }

    /// The offsets to use on this machine: the kernel's BTF when it can be
    /// read, else the architecture's fixed layout; `None` on an
    /// architecture bpfcase does not know.
    pub fn for_this_kernel() -> Option<SyscallRegs> {
        // vmlinux BTF is ~5 MB; the bound only keeps a wrong file out.
        let from_kernel = crate::ingest::read::read_file(
            Path::new("/sys/kernel/btf/vmlinux"),
            crate::limits::COLLECT_BTF_BYTES.into(),
        )
        .ok()
        .and_then(|bytes| {
            let btf = crate::ingest::btf::Btf::parse(&bytes).ok()?;
            Self::from_btf(&btf)
        });
        from_kernel.or_else(Self::builtin)
    }

    fn is_usable(&self) -> bool {
        self.args
            .iter()
            .chain([&self.nr])
            .all(|&o| o <= PT_REGS_MAX)
    }

    /// The `struct config` value the program reads (native endian).
    pub fn config_bytes(&self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&self.nr_bpf.to_ne_bytes());
        for (i, off) in self.args.iter().chain([&self.nr]).enumerate() {
            b[8 + 4 * i..12 + 4 * i].copy_from_slice(&off.to_ne_bytes());
        }
        b
    }
}

/// A map the object declares, created in the kernel.
pub struct LoadedMap {
    pub name: String,
    pub fd: OwnedFd,
    pub max_entries: u32,
}

/// A loaded program and the tracepoint its section names.
pub struct LoadedProg {
    pub name: String,
    /// `sys_enter` (raw) or `syscalls/sys_enter_bpf` (tracefs).
    pub tracepoint: String,
    pub fd: OwnedFd,
}

/// Everything the loader created. Dropping it closes every fd: the
/// attachments first (which detaches the programs), then programs and maps,
/// which the kernel then frees. Nothing is pinned or mounted, so nothing
/// outlives the process, however it ends.
pub struct Loaded {
    pub attach: Attach,
    /// Raw tracepoint fds or tracepoint perf events; cleared by
    /// [`Loaded::detach`].
    attachments: Vec<OwnedFd>,
    pub progs: Vec<LoadedProg>,
    pub maps: Vec<LoadedMap>,
}

impl Loaded {
    /// The created map named `name`.
    pub fn map(&self, name: &str) -> Option<&LoadedMap> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// Detaches the programs (closes the raw tracepoint fds or the perf
    /// events).
    pub fn detach(&mut self) {
        if self.attach == Attach::Tracefs {
            for ev in &self.attachments {
                // Stop the program first; closing the fd below then frees
                // the event. An error here changes nothing: the close
                // detaches too.
                let _ = sys::perf_event_disable(ev);
            }
        }
        self.attachments.clear();
    }

    /// Attaches every program: by name for raw tracepoints; for tracefs,
    /// one perf event (pid -1, CPU 0) per program on the tracepoint found
    /// under a tracefs mount, `PERF_EVENT_IOC_SET_BPF`, enable.
    pub fn attach(&mut self) -> Result<(), TraceError> {
        match self.attach {
            Attach::RawTracepoint => self.attach_raw(),
            Attach::Tracefs => {
                let tracefs = find_tracefs()?;
                self.attach_tracefs(&tracefs)
            }
        }
    }

    fn attach_raw(&mut self) -> Result<(), TraceError> {
        for p in &self.progs {
            let link = sys::raw_tracepoint_open(&p.tracepoint, &p.fd).map_err(|source| {
                TraceError::Attach {
                    prog: p.name.clone(),
                    tracepoint: format!("raw:{}", p.tracepoint),
                    what: "BPF_RAW_TRACEPOINT_OPEN",
                    source,
                }
            })?;
            self.attachments.push(link);
        }
        Ok(())
    }

    fn attach_tracefs(&mut self, tracefs: &Path) -> Result<(), TraceError> {
        for p in &self.progs {
            let attach_err = |what: &'static str, source| TraceError::Attach {
                prog: p.name.clone(),
                tracepoint: p.tracepoint.clone(),
                what,
                source,
            };
            let id_path = tracefs.join("events").join(&p.tracepoint).join("id");
            let id = std::fs::read_to_string(&id_path)
                .map_err(|e| attach_err("reading the tracepoint id", e))?;
            let id: u64 = id.trim().parse().map_err(|_| {
                attach_err(
                    "reading the tracepoint id",
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: not a number: {:?}", id_path.display(), id.trim()),
                    ),
                )
            })?;
            let ev = sys::perf_event_open_tracepoint(id, 0)
                .map_err(|e| attach_err("perf_event_open", e))?;
            sys::perf_event_set_bpf(&ev, &p.fd)
                .map_err(|e| attach_err("PERF_EVENT_IOC_SET_BPF", e))?;
            sys::perf_event_enable(&ev).map_err(|e| attach_err("PERF_EVENT_IOC_ENABLE", e))?;
            self.attachments.push(ev);
        }
        Ok(())
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        self.detach();
    }
}

fn bad(why: impl Into<String>) -> TraceError {
    TraceError::Object(why.into())
}

/// Creates the maps and loads the programs of the BPF ELF `elf` that
/// `attach` uses, without attaching them.
pub fn load(elf: &[u8], attach: Attach) -> Result<Loaded, TraceError> {
    let file = object::File::parse(elf).map_err(|e| bad(e.to_string()))?;
    let obj = BpfObject::parse(elf).map_err(|e| bad(e.to_string()))?;
    let license = obj.license.clone().unwrap_or_default();
    let btf = obj.btf().map_err(|e| bad(e.to_string()))?;
    let defs = btf_map_defs(&btf).map_err(|e| bad(e.to_string()))?;
    let maps_section = file
        .section_by_name(".maps")
        .ok_or_else(|| bad("no .maps section"))?
        .index();

    // Maps, in declaration order.
    let mut maps = Vec::new();
    for def in &defs {
        let map_type = def
            .map_type
            .ok_or_else(|| bad(format!("map {} has no type", def.name)))?;
        let size = |v: Option<u64>, what: &str| {
            u32::try_from(v.unwrap_or(0))
                .map_err(|_| bad(format!("map {}: {what} does not fit in 32 bits", def.name)))
        };
        let spec = MapSpec {
            name: &def.name,
            map_type: map_type.0,
            key_size: size(def.key_size, "key size")?,
            value_size: size(def.value_size, "value size")?,
            max_entries: def.max_entries.unwrap_or(0),
            map_flags: def.map_flags,
        };
        let fd = sys::map_create(&spec).map_err(|source| TraceError::MapCreate {
            name: def.name.clone(),
            source,
        })?;
        maps.push(LoadedMap {
            name: def.name.clone(),
            fd,
            max_entries: spec.max_entries,
        });
    }
    let fd_of: BTreeMap<&str, i32> = maps
        .iter()
        .map(|m| (m.name.as_str(), m.fd.as_raw_fd()))
        .collect();

    // Programs: one per executable `raw_tracepoint/NAME` or
    // `tracepoint/CATEGORY/NAME` section, as `attach` asks.
    let mut progs = Vec::new();
    for section in file.sections() {
        let sec_name = section.name().unwrap_or("");
        let Some(tracepoint) = sec_name.strip_prefix(attach.section_prefix()) else {
            continue;
        };
        let name = obj
            .programs
            .iter()
            .find(|p| p.section == sec_name)
            .map(|p| p.name.clone())
            .ok_or_else(|| bad(format!("section {sec_name} has no program symbol")))?;
        let mut insns = section
            .data()
            .map_err(|e| bad(format!("{sec_name}: {e}")))?
            .to_vec();
        for (offset, rel) in section.relocations() {
            let RelocationTarget::Symbol(sym_idx) = rel.target() else {
                return Err(bad(format!(
                    "{sec_name}+{offset}: relocation not against a symbol"
                )));
            };
            let sym = file
                .symbol_by_index(sym_idx)
                .map_err(|e| bad(format!("{sec_name}+{offset}: {e}")))?;
            let sym_name = sym.name().unwrap_or("");
            if sym.section_index() != Some(maps_section) {
                // Only map references are expected: no globals, no
                // subprograms, no CO-RE in this program.
                return Err(bad(format!(
                    "{sec_name}+{offset}: relocation against `{sym_name}`, which is not a map"
                )));
            }
            let fd = *fd_of
                .get(sym_name)
                .ok_or_else(|| bad(format!("{sec_name}: map `{sym_name}` has no definition")))?;
            patch_map_fd(&mut insns, offset, fd)
                .map_err(|why| bad(format!("{sec_name}+{offset}: {why}")))?;
        }
        let fd = sys::prog_load(attach.prog_type(), &name, &insns, &license).map_err(|e| {
            TraceError::ProgLoad {
                name: name.clone(),
                source: e.error,
                log: e.log,
            }
        })?;
        progs.push(LoadedProg {
            name,
            tracepoint: tracepoint.to_string(),
            fd,
        });
    }
    if progs.is_empty() {
        return Err(bad(format!("no {}* programs", attach.section_prefix())));
    }
    Ok(Loaded {
        attach,
        attachments: Vec::new(),
        progs,
        maps,
    })
}

/// Makes the `ld_imm64` at byte `offset` of `insns` load map `fd`.
pub fn patch_map_fd(insns: &mut [u8], offset: u64, fd: i32) -> Result<(), &'static str> {
    let at = usize::try_from(offset).map_err(|_| "offset out of range")?;
    if at % 8 != 0 {
        return Err("relocation offset is not on an instruction");
    }
    // An ld_imm64 spans two instruction slots.
    let insn = insns
        .get_mut(at..at.checked_add(16).ok_or("offset out of range")?)
        .ok_or("relocation past the end of the program")?;
    if insn[0] != LD_IMM64 {
        return Err("relocated instruction is not ld_imm64");
    }
    // regs: dst in the low nibble, src in the high one.
    insn[1] = (insn[1] & 0x0f) | (PSEUDO_MAP_FD << 4);
    insn[4..8].copy_from_slice(&fd.to_le_bytes());
    Ok(())
}

/// One `field:` line of a tracepoint's `format` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatField {
    pub name: String,
    pub offset: u32,
    pub size: u32,
}

/// The fields of a tracepoint `format` file
/// (`\tfield:int cmd;\toffset:16;\tsize:8;\tsigned:0;`). Lines that do not
/// parse are skipped.
pub fn format_fields(text: &str) -> Vec<FormatField> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut decl = None;
        let mut offset = None;
        let mut size = None;
        for part in line.split(';') {
            let part = part.trim();
            if let Some(d) = part.strip_prefix("field:") {
                decl = Some(d);
            } else if let Some(v) = part.strip_prefix("offset:") {
                offset = v.trim().parse().ok();
            } else if let Some(v) = part.strip_prefix("size:") {
                size = v.trim().parse().ok();
            }
        }
        let (Some(decl), Some(offset), Some(size)) = (decl, offset, size) else {
            continue;
        };
        // The name is the declaration's last word, without `[N]`.
        let Some(last) = decl.split_whitespace().last() else {
            continue;
        };
        let name = last
            .split('[')
            .next()
            .unwrap_or(last)
            .trim_start_matches('*');
        out.push(FormatField {
            name: name.to_string(),
            offset,
            size,
        });
    }
    out
}

/// A field the program reads: name, offset, size.
pub type Field = (&'static str, u32, u32);

/// The fields the trace program reads, by tracepoint.
pub const EXPECTED_FIELDS: &[(&str, &[Field])] = &[
    (
        "syscalls/sys_enter_bpf",
        &[("cmd", 16, 8), ("uattr", 24, 8), ("size", 32, 8)],
    ),
    ("syscalls/sys_exit_bpf", &[("ret", 16, 8)]),
];

/// Checks a tracepoint's format text against the offsets the program was
/// compiled with.
pub fn check_format(tracepoint: &str, text: &str, expected: &[Field]) -> Result<(), TraceError> {
    let fields = format_fields(text);
    for &(name, offset, size) in expected {
        let found = fields.iter().find(|f| f.name == name);
        if found.map(|f| (f.offset, f.size)) != Some((offset, size)) {
            return Err(TraceError::FormatMismatch {
                tracepoint: tracepoint.to_string(),
                field: name.to_string(),
                expected: format!("offset {offset}, size {size}"),
                found: found.map_or("no such field".to_string(), |f| {
                    format!("offset {}, size {}", f.offset, f.size)
                }),
            });
        }
    }
    Ok(())
}

/// The tracefs mount whose syscall tracepoints match what the program
/// expects; the error says why none does.
pub fn find_tracefs() -> Result<PathBuf, TraceError> {
    let mut last = None;
    for root in TRACEFS_ROOTS {
        let root = Path::new(root);
        let mut texts = Vec::new();
        for (tp, _) in EXPECTED_FIELDS {
            let path = root.join("events").join(tp).join("format");
            match std::fs::read_to_string(&path) {
                Ok(t) => texts.push(t),
                Err(e) => {
                    last = Some((path, e));
                    break;
                }
            }
        }
        if texts.len() == EXPECTED_FIELDS.len() {
            for ((tp, expected), text) in EXPECTED_FIELDS.iter().zip(&texts) {
                check_format(tp, text, expected)?;
            }
            return Ok(root.to_path_buf());
        }
    }
    let (path, source) = last.unwrap_or_else(|| {
        (
            PathBuf::from(TRACEFS_ROOTS[0]),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    });
    Err(TraceError::NoTracepoint { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTER: &str = "name: sys_enter_bpf\nID: 586\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
\tfield:int cmd;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:union bpf_attr * uattr;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:unsigned int size;\toffset:32;\tsize:8;\tsigned:0;\n\n\
print fmt: \"cmd: 0x%08lx\", ((unsigned long)(REC->cmd))\n";

    #[test]
    fn parses_format_files() {
        let f = format_fields(ENTER);
        assert_eq!(f.len(), 6);
        assert_eq!(
            f[4],
            FormatField {
                name: "uattr".into(),
                offset: 24,
                size: 8
            }
        );
        assert!(check_format("syscalls/sys_enter_bpf", ENTER, EXPECTED_FIELDS[0].1).is_ok());
        let moved = ENTER.replace("offset:24", "offset:28");
        let err = check_format("syscalls/sys_enter_bpf", &moved, EXPECTED_FIELDS[0].1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("uattr") && err.contains("offset 28"), "{err}");
        assert!(check_format("x", "garbage\n;;;", EXPECTED_FIELDS[1].1).is_err());
        assert!(format_fields("field:;offset:x;size:").is_empty());
    }

    /// The fixed pt_regs offsets agree with the running kernel's BTF, where
    /// it can be read (it can on every CI machine of this project's kind).
    #[test]
    fn syscall_regs_match_kernel_btf() {
        let Some(builtin) = SyscallRegs::builtin() else {
            return;
        };
        assert_eq!(builtin.config_bytes().len(), 24);
        assert!(builtin.is_usable());
        let Ok(bytes) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            eprintln!("no /sys/kernel/btf/vmlinux: only the builtin offsets checked");
            return;
        };
        let btf = crate::ingest::btf::Btf::parse(&bytes).unwrap();
        assert_eq!(SyscallRegs::from_btf(&btf), Some(builtin));
    }

    #[test]
    fn patches_ld_imm64() {
        // r1 = map (ld_imm64, dst r1), then exit.
        let mut insns = vec![
            0x18, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0,
        ];
        patch_map_fd(&mut insns, 0, 9).unwrap();
        assert_eq!(insns[1], 0x11);
        assert_eq!(&insns[4..8], &9i32.to_le_bytes());
        assert!(
            patch_map_fd(&mut insns, 16, 9).is_err(),
            "not ld_imm64 / past the end"
        );
        assert!(patch_map_fd(&mut insns, 3, 9).is_err());
        assert!(patch_map_fd(&mut insns, u64::MAX, 9).is_err());
    }

    /// The checked-in object parses and declares what the loader needs.
    #[test]
    fn embedded_object_declares_maps_and_programs() {
        let obj = BpfObject::parse(super::super::BPF_OBJECT).unwrap();
        assert_eq!(obj.license.as_deref(), Some("GPL"));
        let names: Vec<&str> = obj.programs.iter().map(|p| p.section.as_str()).collect();
        assert!(names.contains(&"raw_tracepoint/sys_enter"));
        assert!(names.contains(&"raw_tracepoint/sys_exit"));
        assert!(names.contains(&"tracepoint/syscalls/sys_enter_bpf"));
        assert!(names.contains(&"tracepoint/syscalls/sys_exit_bpf"));
        let defs = btf_map_defs(&obj.btf().unwrap()).unwrap();
        let mut maps: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        maps.sort_unstable();
        assert_eq!(
            maps,
            ["config", "events", "inflight", "lost", "scratch", "targets"]
        );
        let config = defs.iter().find(|d| d.name == "config").unwrap();
        assert_eq!(config.value_size, Some(24), "struct config");
        let inflight = defs.iter().find(|d| d.name == "inflight").unwrap();
        assert_eq!(
            inflight.value_size,
            Some(super::super::event::RECORD_SIZE as u64)
        );
    }
}
