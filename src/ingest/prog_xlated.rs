//! A live program's translated code, read back from a bundle: the
//! instructions `collect` saved from the kernel (`progs/ID.xlated`), its
//! `func_info` and `line_info` records, and the helper-call targets named
//! from kallsyms (`bundle::ProgCode`), turned into the
//! [`ProgObject`] the `prog/*` pass reads (one code section per program).
//!
//! What the kernel changed, and how it is undone here (kernel/bpf/syscall.c
//! `bpf_insn_prepare_dump`, kernel/bpf/verifier.c `do_misc_fixups`):
//! - a map load (`ld_imm64`, src_reg `BPF_PSEUDO_MAP_FD`/`_VALUE`) carries
//!   the map's **id**: it becomes a map relocation named by the bundle's map
//!   of that id (global data, `_VALUE`, a pointer into a map value);
//! - a helper call's imm is the target's address minus `__bpf_call_base`;
//!   map helpers became direct calls to the map type's functions
//!   (`htab_map_update_elem`, `__htab_map_lookup_elem`). A call whose
//!   symbol names the helper it implements gets that helper's id back;
//!   any other is left unknown to the pass (it may write what its stack
//!   pointers point to) and counted "not analysed: call rewritten by the
//!   kernel (SYMBOL)". Array-map lookups the kernel inlined leave no call:
//!   they are recognised by the inlined sequence and counted likewise;
//! - a BPF-to-BPF call's target is in `off` once the program was JIT
//!   compiled (imm is then the subprogram's index); the callee is the
//!   function (`func_info`) starting there.
//!
//! Everything borrows the members' bytes while reading; errors name the
//! member and the byte offset in it.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use crate::bundle::{Manifest, ProgRecord};
use crate::error::InputError;
use crate::ingest::bpf_prog::{CodeSection, Func, ProgObject, Reloc};
use crate::ingest::cursor::{Cursor, Endian, Truncated};
use crate::limits::{
    MAX_PROG_FUNC_INFO, MAX_PROG_INFO_REC_SIZE, MAX_PROG_INSNS, MAX_PROG_LINE_INFO,
};

/// Helper names by id: `___BPF_FUNC_MAPPER` in `<linux/bpf.h>`, in order
/// (`unspec` is 0, `map_lookup_elem` 1, ...).
const HELPER_NAMES: &[&str] = &[
    "unspec",
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "probe_read",
    "ktime_get_ns",
    "trace_printk",
    "get_prandom_u32",
    "get_smp_processor_id",
    "skb_store_bytes",
    "l3_csum_replace",
    "l4_csum_replace",
    "tail_call",
    "clone_redirect",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "get_cgroup_classid",
    "skb_vlan_push",
    "skb_vlan_pop",
    "skb_get_tunnel_key",
    "skb_set_tunnel_key",
    "perf_event_read",
    "redirect",
    "get_route_realm",
    "perf_event_output",
    "skb_load_bytes",
    "get_stackid",
    "csum_diff",
    "skb_get_tunnel_opt",
    "skb_set_tunnel_opt",
    "skb_change_proto",
    "skb_change_type",
    "skb_under_cgroup",
    "get_hash_recalc",
    "get_current_task",
    "probe_write_user",
    "current_task_under_cgroup",
    "skb_change_tail",
    "skb_pull_data",
    "csum_update",
    "set_hash_invalid",
    "get_numa_node_id",
    "skb_change_head",
    "xdp_adjust_head",
    "probe_read_str",
    "get_socket_cookie",
    "get_socket_uid",
    "set_hash",
    "setsockopt",
    "skb_adjust_room",
    "redirect_map",
    "sk_redirect_map",
    "sock_map_update",
    "xdp_adjust_meta",
    "perf_event_read_value",
    "perf_prog_read_value",
    "getsockopt",
    "override_return",
    "sock_ops_cb_flags_set",
    "msg_redirect_map",
    "msg_apply_bytes",
    "msg_cork_bytes",
    "msg_pull_data",
    "bind",
    "xdp_adjust_tail",
    "skb_get_xfrm_state",
    "get_stack",
    "skb_load_bytes_relative",
    "fib_lookup",
    "sock_hash_update",
    "msg_redirect_hash",
    "sk_redirect_hash",
    "lwt_push_encap",
    "lwt_seg6_store_bytes",
    "lwt_seg6_adjust_srh",
    "lwt_seg6_action",
    "rc_repeat",
    "rc_keydown",
    "skb_cgroup_id",
    "get_current_cgroup_id",
    "get_local_storage",
    "sk_select_reuseport",
    "skb_ancestor_cgroup_id",
    "sk_lookup_tcp",
    "sk_lookup_udp",
    "sk_release",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "msg_push_data",
    "msg_pop_data",
    "rc_pointer_rel",
    "spin_lock",
    "spin_unlock",
    "sk_fullsock",
    "tcp_sock",
    "skb_ecn_set_ce",
    "get_listener_sock",
    "skc_lookup_tcp",
    "tcp_check_syncookie",
    "sysctl_get_name",
    "sysctl_get_current_value",
    "sysctl_get_new_value",
    "sysctl_set_new_value",
    "strtol",
    "strtoul",
    "sk_storage_get",
    "sk_storage_delete",
    "send_signal",
    "tcp_gen_syncookie",
    "skb_output",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "tcp_send_ack",
    "send_signal_thread",
    "jiffies64",
    "read_branch_records",
    "get_ns_current_pid_tgid",
    "xdp_output",
    "get_netns_cookie",
    "get_current_ancestor_cgroup_id",
    "sk_assign",
    "ktime_get_boot_ns",
    "seq_printf",
    "seq_write",
    "sk_cgroup_id",
    "sk_ancestor_cgroup_id",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "csum_level",
    "skc_to_tcp6_sock",
    "skc_to_tcp_sock",
    "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock",
    "skc_to_udp6_sock",
    "get_task_stack",
    "load_hdr_opt",
    "store_hdr_opt",
    "reserve_hdr_opt",
    "inode_storage_get",
    "inode_storage_delete",
    "d_path",
    "copy_from_user",
    "snprintf_btf",
    "seq_printf_btf",
    "skb_cgroup_classid",
    "redirect_neigh",
    "per_cpu_ptr",
    "this_cpu_ptr",
    "redirect_peer",
    "task_storage_get",
    "task_storage_delete",
    "get_current_task_btf",
    "bprm_opts_set",
    "ktime_get_coarse_ns",
    "ima_inode_hash",
    "sock_from_file",
    "check_mtu",
    "for_each_map_elem",
    "snprintf",
    "sys_bpf",
    "btf_find_by_name_kind",
    "sys_close",
    "timer_init",
    "timer_set_callback",
    "timer_start",
    "timer_cancel",
    "get_func_ip",
    "get_attach_cookie",
    "task_pt_regs",
    "get_branch_snapshot",
    "trace_vprintk",
    "skc_to_unix_sock",
    "kallsyms_lookup_name",
    "find_vma",
    "loop",
    "strncmp",
    "get_func_arg",
    "get_func_ret",
    "get_func_arg_cnt",
    "get_retval",
    "set_retval",
    "xdp_get_buff_len",
    "xdp_load_bytes",
    "xdp_store_bytes",
    "copy_from_user_task",
    "skb_set_tstamp",
    "ima_file_hash",
    "kptr_xchg",
    "map_lookup_percpu_elem",
    "skc_to_mptcp_sock",
    "dynptr_from_mem",
    "ringbuf_reserve_dynptr",
    "ringbuf_submit_dynptr",
    "ringbuf_discard_dynptr",
    "dynptr_read",
    "dynptr_write",
    "dynptr_data",
    "tcp_raw_gen_syncookie_ipv4",
    "tcp_raw_gen_syncookie_ipv6",
    "tcp_raw_check_syncookie_ipv4",
    "tcp_raw_check_syncookie_ipv6",
    "ktime_get_tai_ns",
    "user_ringbuf_drain",
];

/// Most bytes read from one copied binary for its embedded objects.
const MAX_BINARY_BYTES: u64 = 1 << 30;

/// `imm` given to a call the pass must not take for any helper: no helper
/// has a negative id, so the pass treats it as one it does not know.
const UNKNOWN_CALL: i32 = -1;

/// What went wrong reading a program's saved code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XlatedError {
    #[error("{len} bytes are not whole 8-byte instructions")]
    PartialInsn { len: usize, offset: usize },
    #[error("more than {MAX_PROG_INSNS} instructions (limits::MAX_PROG_INSNS)")]
    TooManyInsns { offset: usize },
    #[error("ld_imm64 at instruction {insn} has no second slot")]
    TruncatedLdImm64 { insn: usize, offset: usize },
    #[error("{what}: record size {size} outside {min}..={MAX_PROG_INFO_REC_SIZE}")]
    RecordSize {
        what: &'static str,
        size: u32,
        min: u32,
    },
    #[error("{what}: {len} bytes are not whole {size}-byte records")]
    PartialRecord {
        what: &'static str,
        len: usize,
        size: u32,
        offset: usize,
    },
    #[error("{what}: more than {max} records")]
    TooManyRecords {
        what: &'static str,
        max: u64,
        offset: usize,
    },
    #[error("func_info: record {n} starts at instruction {insn}, not after the previous one and inside the program's {len}")]
    BadFunc {
        n: usize,
        insn: u32,
        len: usize,
        offset: usize,
    },
    #[error("truncated: {needed} bytes needed, {available} left")]
    Truncated {
        needed: usize,
        available: usize,
        offset: usize,
    },
}

impl XlatedError {
    /// Byte offset in the member, where known.
    pub fn offset(&self) -> Option<usize> {
        use XlatedError::*;
        match self {
            PartialInsn { offset, .. }
            | TooManyInsns { offset }
            | TruncatedLdImm64 { offset, .. }
            | PartialRecord { offset, .. }
            | TooManyRecords { offset, .. }
            | BadFunc { offset, .. }
            | Truncated { offset, .. } => Some(*offset),
            RecordSize { .. } => None,
        }
    }
}

impl From<Truncated> for XlatedError {
    fn from(t: Truncated) -> Self {
        XlatedError::Truncated {
            needed: t.needed,
            available: t.available,
            offset: t.offset,
        }
    }
}

/// One live program's code, ready for the pass ([`LiveProg::object`]).
#[derive(Debug, Clone)]
pub struct LiveProg {
    /// The bundle it came from (as named in the report).
    pub bundle: String,
    pub id: u32,
    /// The kernel's name (at most 15 bytes).
    pub name: String,
    pub tag: String,
    /// `BUNDLE!progs/ID.xlated`: the "object" findings name.
    pub file: String,
    pub endian: Endian,
    /// The instructions, helper calls given back their helper ids.
    pub code: Vec<u8>,
    /// Functions: (first instruction, name), ascending; the first is the
    /// program's entry.
    pub funcs: Vec<(usize, String)>,
    /// Line info: (instruction, file, line), ascending.
    pub lines: Vec<(usize, String, u32)>,
    /// Map loads: instruction, map id, and whether it is a pointer into the
    /// map's value (`BPF_PSEUDO_MAP_VALUE`: global data) rather than the map.
    pub map_loads: Vec<(usize, u32, bool)>,
    /// BPF-to-BPF calls: instruction, callee's first instruction.
    pub calls: Vec<(usize, usize)>,
    /// Call sites the pass cannot see as the helper they were, by reason
    /// (`call(s) rewritten by the kernel (SYMBOL)`).
    pub not_analysed: BTreeMap<String, usize>,
}

impl LiveProg {
    /// The program as a one-section object; maps are named `map_names[id]`
    /// (a map not there is left unknown to the pass).
    pub fn object(&self, map_names: &HashMap<u32, String>) -> ProgObject<'_> {
        let mut relocs = HashMap::new();
        for &(insn, id, value) in &self.map_loads {
            let reloc = match (map_names.get(&id), value) {
                (Some(n), false) => Reloc::Map(n.clone()),
                (Some(n), true) => Reloc::GlobalData(n.clone()),
                (None, _) => Reloc::Other(format!("map id {id}")),
            };
            relocs.insert(insn, reloc);
        }
        for &(insn, callee) in &self.calls {
            relocs.insert(
                insn,
                Reloc::Func {
                    section: 0,
                    insn: callee,
                },
            );
        }
        let slots = self.code.len() / 8;
        let funcs = self
            .funcs
            .iter()
            .enumerate()
            .map(|(i, (start, name))| {
                let end = self.funcs.get(i + 1).map_or(slots, |n| n.0);
                Func {
                    name: name.clone(),
                    section: 0,
                    start: *start,
                    len: end - start,
                    entry: i == 0,
                }
            })
            .collect();
        ProgObject {
            endian: self.endian,
            sections: vec![CodeSection {
                name: format!("prog {} ({})", self.id, self.name),
                code: &self.code,
                file_offset: 0,
                relocs,
                lines: self.lines.clone(),
            }],
            funcs,
        }
    }
}

/// The helper a kernel function implements, by its kallsyms name: the map
/// types' functions by operation (`htab_map_update_elem` is
/// `map_update_elem`, `__htab_map_lookup_elem` and `array_map_lookup_elem`
/// are `map_lookup_elem`), the rest by the `bpf_` name its `BPF_CALL_x`
/// definition gives it (`bpf_probe_read_kernel`), with the program-type
/// variants (`bpf_perf_event_output_tp`, `bpf_probe_read_compat`).
pub fn helper_for_symbol(symbol: &str) -> Option<i32> {
    // A compiler clone (`.isra.0`, `.constprop.0`) is the same function.
    let s = symbol.split('.').next().unwrap_or(symbol);
    let id = |name: &str| {
        HELPER_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| i as i32)
    };
    for (op, helper) in [
        ("lookup_percpu_elem", "map_lookup_percpu_elem"),
        ("lookup_elem", "map_lookup_elem"),
        ("update_elem", "map_update_elem"),
        ("delete_elem", "map_delete_elem"),
        ("push_elem", "map_push_elem"),
        ("pop_elem", "map_pop_elem"),
        ("peek_elem", "map_peek_elem"),
    ] {
        // `bpf_map_lookup_elem`, `htab_map_lookup_elem`, `trie_lookup_elem`,
        // `queue_stack_map_push_elem`.
        if s.ends_with(&format!("_{op}")) {
            return id(helper);
        }
    }
    if s == "bpf_skb_event_output" || s == "bpf_xdp_event_output" {
        return id("perf_event_output");
    }
    let bare = s.strip_prefix("bpf_").unwrap_or(s);
    let bare = bare.replace("_compat", "");
    let bare = bare
        .strip_suffix("_raw_tp")
        .or_else(|| bare.strip_suffix("_tp"))
        .unwrap_or(&bare);
    id(bare).filter(|&i| i != 0)
}

/// Reads program `rec`'s saved code. `xlated`, `func_info` and `line_info`
/// are the members' bytes; `btf` the program's BTF blob (names of its
/// functions, files of its lines), when the bundle has it. An error names
/// which member it is in (`xlated`, `func_info`, `line_info`) and where.
pub fn read_prog(
    bundle: &str,
    rec: &ProgRecord,
    xlated: &[u8],
    func_info: Option<&[u8]>,
    line_info: Option<&[u8]>,
    btf: Option<&[u8]>,
    endian: Endian,
) -> Result<LiveProg, (&'static str, XlatedError)> {
    let code_rec = rec.code.clone().unwrap_or_default();
    let strings = btf.and_then(|b| crate::ingest::bpf_prog::btf_strings(b, endian).ok());
    let parsed_btf = btf.and_then(|b| crate::ingest::btf::Btf::parse(b).ok());
    let slots = check_insns(xlated).map_err(|e| ("xlated", e))?;
    let mut funcs: Vec<(usize, String)> = Vec::new();
    if let Some(data) = func_info {
        for (n, (at, fields)) in records(
            data,
            code_rec.func_info_rec_size,
            8,
            "func_info",
            MAX_PROG_FUNC_INFO,
            endian,
        )
        .map_err(|e| ("func_info", e))?
        .into_iter()
        .enumerate()
        {
            let (insn, type_id) = (fields[0], fields[1]);
            let start = insn as usize;
            if start >= slots
                || funcs.last().is_some_and(|f| f.0 >= start)
                || (n == 0 && start != 0)
            {
                return Err((
                    "func_info",
                    XlatedError::BadFunc {
                        n,
                        insn,
                        len: slots,
                        offset: at,
                    },
                ));
            }
            let name = parsed_btf
                .as_ref()
                .map(|b| {
                    String::from_utf8_lossy(b.name_bytes(crate::ingest::btf::TypeId(type_id)))
                        .into_owned()
                })
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| {
                    if n == 0 {
                        rec.name.clone()
                    } else {
                        format!("func@{start}")
                    }
                });
            funcs.push((start, name));
        }
    }
    if funcs.is_empty() {
        funcs.push((0, rec.name.clone()));
    }
    let mut lines = Vec::new();
    if let Some(data) = line_info {
        for (_, r) in records(
            data,
            code_rec.line_info_rec_size,
            16,
            "line_info",
            MAX_PROG_LINE_INFO,
            endian,
        )
        .map_err(|e| ("line_info", e))?
        {
            let file = strings
                .map(|s| crate::ingest::bpf_prog::str_at(s, r[1]).to_string())
                .unwrap_or_default();
            lines.push((r[0] as usize, file, r[3] >> 10));
        }
        lines.sort_by_key(|l| l.0);
    }
    let targets: HashMap<i32, &str> = code_rec
        .call_targets
        .iter()
        .map(|t| (t.imm, t.symbol.as_str()))
        .collect();
    let mut prog = LiveProg {
        bundle: bundle.to_string(),
        id: rec.id,
        name: rec.name.clone(),
        tag: rec.tag.clone(),
        file: format!("{bundle}!{}", code_rec.xlated),
        endian,
        code: xlated.to_vec(),
        funcs,
        lines,
        map_loads: Vec::new(),
        calls: Vec::new(),
        not_analysed: BTreeMap::new(),
    };
    prog.translate(&targets, code_rec.call_targets_note.as_deref());
    Ok(prog)
}

/// Checks the instruction stream's shape: whole instructions, within the
/// limit, every `ld_imm64` with its second slot. Returns the slot count.
fn check_insns(xlated: &[u8]) -> Result<usize, XlatedError> {
    if xlated.len() as u64 > MAX_PROG_INSNS * 8 {
        return Err(XlatedError::TooManyInsns {
            offset: MAX_PROG_INSNS as usize * 8,
        });
    }
    if xlated.len() % 8 != 0 {
        return Err(XlatedError::PartialInsn {
            len: xlated.len(),
            offset: xlated.len() - xlated.len() % 8,
        });
    }
    let slots = xlated.len() / 8;
    let mut i = 0;
    while i < slots {
        if xlated[i * 8] == 0x18 {
            if i + 1 >= slots {
                return Err(XlatedError::TruncatedLdImm64 {
                    insn: i,
                    offset: i * 8,
                });
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Ok(slots)
}

/// `data` as records of `size` bytes (at least `min`), each read as its
/// first `min / 4` u32 fields, with the record's offset.
fn records(
    data: &[u8],
    size: u32,
    min: u32,
    what: &'static str,
    max: u64,
    endian: Endian,
) -> Result<Vec<(usize, Vec<u32>)>, XlatedError> {
    if size < min || size > MAX_PROG_INFO_REC_SIZE {
        return Err(XlatedError::RecordSize { what, size, min });
    }
    let size = size as usize;
    if data.len() % size != 0 {
        return Err(XlatedError::PartialRecord {
            what,
            len: data.len(),
            size: size as u32,
            offset: data.len() - data.len() % size,
        });
    }
    if (data.len() / size) as u64 > max {
        return Err(XlatedError::TooManyRecords {
            what,
            max,
            offset: max as usize * size,
        });
    }
    let mut c = Cursor::new(data, 0, endian);
    let mut out = Vec::with_capacity(data.len() / size);
    while c.remaining() > 0 {
        let at = c.offset();
        let rec = c.bytes(size)?;
        let mut f = Cursor::new(rec, at, endian);
        let mut fields = Vec::with_capacity(min as usize / 4);
        for _ in 0..min / 4 {
            fields.push(f.u32()?);
        }
        out.push((at, fields));
    }
    Ok(out)
}

impl LiveProg {
    /// Map loads and BPF-to-BPF calls noted; helper calls given back their
    /// helper ids; what cannot be known counted.
    fn translate(&mut self, targets: &HashMap<i32, &str>, note: Option<&str>) {
        let little = self.endian == Endian::Little;
        let slots = self.code.len() / 8;
        let starts: Vec<usize> = self.funcs.iter().map(|f| f.0).collect();
        let mut skip = |why: String| *self.not_analysed.entry(why).or_default() += 1;
        let mut i = 0;
        while i < slots {
            let b = &self.code[i * 8..i * 8 + 8];
            let (dst, src) = if little {
                (b[1] & 0xf, b[1] >> 4)
            } else {
                (b[1] >> 4, b[1] & 0xf)
            };
            let off = if little {
                i16::from_le_bytes([b[2], b[3]])
            } else {
                i16::from_be_bytes([b[2], b[3]])
            };
            let imm_bytes = [b[4], b[5], b[6], b[7]];
            let imm = if little {
                i32::from_le_bytes(imm_bytes)
            } else {
                i32::from_be_bytes(imm_bytes)
            };
            match b[0] {
                0x18 => {
                    if src == 1 || src == 2 {
                        self.map_loads.push((i, imm as u32, src == 2));
                    }
                    i += 2;
                    continue;
                }
                // r1 += K; r0 = *(u32 *)(r2 + 0): an array-map lookup the
                // kernel inlined (`array_map_gen_lookup`).
                0x07 if dst == 1 && i + 1 < slots => {
                    let n = &self.code[(i + 1) * 8..(i + 2) * 8];
                    let (nd, ns) = if little {
                        (n[1] & 0xf, n[1] >> 4)
                    } else {
                        (n[1] >> 4, n[1] & 0xf)
                    };
                    if n[0] == 0x61 && nd == 0 && ns == 2 && n[2] == 0 && n[3] == 0 {
                        skip("map lookup(s) inlined by the kernel (array map)".into());
                    }
                }
                0x85 if src == 0 => {
                    let helper = match targets.get(&imm) {
                        Some(sym) => match helper_for_symbol(sym) {
                            Some(h) => h,
                            None => {
                                skip(format!("call(s) rewritten by the kernel ({sym})"));
                                UNKNOWN_CALL
                            }
                        },
                        // bpf_insn_prepare_dump writes tail calls back as
                        // the helper they were.
                        None if imm == 12 => 12,
                        None => {
                            skip(format!(
                                "call(s) to a kernel function the bundle does not name ({})",
                                note.unwrap_or("not in kallsyms")
                            ));
                            UNKNOWN_CALL
                        }
                    };
                    let bytes = if little {
                        helper.to_le_bytes()
                    } else {
                        helper.to_be_bytes()
                    };
                    self.code[i * 8 + 4..i * 8 + 8].copy_from_slice(&bytes);
                }
                0x85 if src == 1 => {
                    // JIT compiled: the relative target is in `off`, imm is
                    // the subprogram's index; interpreted: imm is relative.
                    let candidates = [
                        i as i64 + off as i64 + 1,
                        usize::try_from(imm)
                            .ok()
                            .and_then(|k| starts.get(k))
                            .map_or(-1, |&s| s as i64),
                        i as i64 + imm as i64 + 1,
                    ];
                    let callee = candidates
                        .iter()
                        .filter_map(|&t| usize::try_from(t).ok())
                        .find(|t| starts.contains(t) || (starts.len() <= 1 && *t < slots));
                    if let Some(t) = callee {
                        self.calls.push((i, t));
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// The node's byte order, from the manifest's `uname -m`.
pub fn endian_of(m: &Manifest) -> Endian {
    let big = ["s390", "ppc64", "ppc", "sparc", "mips", "m68k", "parisc"];
    let mach = m.host.machine.as_str();
    if big.iter().any(|b| mach.starts_with(b)) && !mach.ends_with("le") && !mach.ends_with("el") {
        Endian::Big
    } else {
        Endian::Little
    }
}

/// What `analyze` takes from a bundle for the `prog/*` pass besides the
/// maps: the members of each program's saved code, and the BPF objects
/// embedded in the binaries `collect --binaries` copied and the objects
/// given with `--elf`. Fed member by member as the bundle streams out
/// ([`BundleCode::take`]), finished once the BTF is read ([`BundleCode::finish`]).
#[derive(Debug, Default)]
pub struct BundleCode {
    /// Code member paths wanted, and the bytes read.
    code: HashMap<String, Option<Vec<u8>>>,
    /// The most bytes read of each code member: one past what its limit
    /// allows, so an over-long member is reported as such.
    caps: HashMap<String, u64>,
    /// Binary and `--elf` member paths.
    binaries: std::collections::HashSet<String>,
    /// Embedded objects found: (name, image).
    objects: Vec<(String, Vec<u8>)>,
}

/// What a bundle gave the `prog/*` pass.
#[derive(Debug, Default)]
pub struct Gathered {
    pub progs: Vec<LiveProg>,
    /// BPF objects (`BUNDLE!procs/PID/exe@0xOFFSET`, `BUNDLE!elf/N-NAME`).
    pub objects: Vec<(String, Vec<u8>)>,
    pub errors: Vec<InputError>,
}

impl BundleCode {
    /// The members of manifest `m` to take.
    pub fn of(m: &Manifest) -> Self {
        let mut c = BundleCode::default();
        for p in &m.progs {
            if let Some(code) = &p.code {
                let rec = |size: u32| u64::from(size.min(MAX_PROG_INFO_REC_SIZE));
                let members = [
                    (Some(&code.xlated), MAX_PROG_INSNS * 8),
                    (
                        code.func_info.as_ref(),
                        MAX_PROG_FUNC_INFO * rec(code.func_info_rec_size),
                    ),
                    (
                        code.line_info.as_ref(),
                        MAX_PROG_LINE_INFO * rec(code.line_info_rec_size),
                    ),
                ];
                for (path, cap) in members {
                    if let Some(path) = path {
                        c.code.insert(path.clone(), None);
                        c.caps.insert(path.clone(), cap + 1);
                    }
                }
            }
        }
        c.binaries
            .extend(m.processes.iter().filter_map(|p| p.binary.clone()));
        c.binaries.extend(m.elfs.iter().map(|e| e.path.clone()));
        c
    }

    /// Whether member `path` is one to [`take`](Self::take).
    pub fn wants(&self, path: &str) -> bool {
        self.code.contains_key(path) || self.binaries.contains(path)
    }

    /// Reads member `path`: code is kept (bounded by `limits::MAX_PROG_*`), a
    /// binary is searched for embedded objects at once and only they are
    /// kept (one copy of an object several processes' binaries carry).
    pub fn take(&mut self, bundle: &str, path: &str, r: &mut dyn Read) -> std::io::Result<()> {
        if let Some(slot) = self.code.get_mut(path) {
            let mut buf = Vec::new();
            let cap = self
                .caps
                .get(path)
                .copied()
                .unwrap_or(MAX_PROG_INSNS * 8 + 1);
            r.take(cap).read_to_end(&mut buf)?;
            *slot = Some(buf);
        } else if self.binaries.contains(path) {
            let mut buf = Vec::new();
            r.take(MAX_BINARY_BYTES).read_to_end(&mut buf)?;
            for (off, img) in crate::ingest::embedded::bpf_objects(&buf) {
                if self.objects.iter().any(|(_, o)| *o == img) {
                    continue;
                }
                let name = if off == 0 && img.len() == buf.len() {
                    format!("{bundle}!{path}")
                } else {
                    format!("{bundle}!{path}@0x{off:x}")
                };
                self.objects.push((name, img));
            }
        }
        Ok(())
    }

    /// Each program's code read into a [`LiveProg`]; `blobs` are the
    /// bundle's BTF members by path.
    pub fn finish(self, bundle: &str, m: &Manifest, blobs: &HashMap<String, Vec<u8>>) -> Gathered {
        let mut out = Gathered {
            objects: self.objects,
            ..Default::default()
        };
        let endian = endian_of(m);
        let member = |p: &Option<String>| {
            p.as_ref()
                .and_then(|p| self.code.get(p))
                .and_then(|b| b.as_deref())
        };
        for rec in &m.progs {
            let Some(code) = &rec.code else { continue };
            let Some(xlated) = self.code.get(&code.xlated).and_then(|b| b.as_deref()) else {
                continue;
            };
            let btf = m
                .btf
                .iter()
                .find(|b| b.id == rec.btf_id && rec.btf_id != 0)
                .and_then(|b| blobs.get(&b.path))
                .map(Vec::as_slice);
            match read_prog(
                bundle,
                rec,
                xlated,
                member(&code.func_info),
                member(&code.line_info),
                btf,
                endian,
            ) {
                Ok(p) => out.progs.push(p),
                Err((which, e)) => {
                    let path = match which {
                        "func_info" => code.func_info.clone(),
                        "line_info" => code.line_info.clone(),
                        _ => Some(code.xlated.clone()),
                    }
                    .unwrap_or_default();
                    out.errors.push(InputError::at_offset(
                        format!("{bundle}!{path}"),
                        e.offset().map(|o| o as u64),
                        &e,
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/prog/live");

    fn member(path: &str) -> Vec<u8> {
        std::fs::read(format!("{LIVE}/{path}")).unwrap()
    }

    /// The capture's manifest and the record of program `name`.
    fn live(name: &str) -> (Manifest, ProgRecord) {
        let m = Manifest::parse(&member("manifest.json")).unwrap();
        let rec = m.progs.iter().find(|p| p.name == name).unwrap().clone();
        (m, rec)
    }

    fn read_live(name: &str) -> LiveProg {
        let (m, rec) = live(name);
        let code = rec.code.clone().unwrap();
        let btf = m.btf.iter().find(|b| b.id == rec.btf_id).unwrap();
        read_prog(
            "live",
            &rec,
            &member(&code.xlated),
            code.func_info.as_deref().map(member).as_deref(),
            code.line_info.as_deref().map(member).as_deref(),
            Some(&member(&btf.path)),
            endian_of(&m),
        )
        .unwrap()
    }

    /// The helper id the pass sees at instruction `insn`.
    fn imm_at(p: &LiveProg, insn: usize) -> i32 {
        let b = &p.code[insn * 8 + 4..insn * 8 + 8];
        i32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    #[test]
    fn reads_a_real_capture_with_a_subprogram() {
        let p = read_live("on_exit");
        let names: Vec<&str> = p.funcs.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(names, ["on_exit", "fill_key"]);
        // The BPF-to-BPF call goes to fill_key's first instruction.
        assert_eq!(p.calls.len(), 1);
        assert_eq!(p.calls[0].1, p.funcs[1].0);
        // The map load carries the map's id, `tasks` in the manifest.
        let (m, _) = live("on_exit");
        let tasks = m.maps.iter().find(|r| r.name == "tasks").unwrap().id;
        assert_eq!(p.map_loads.len(), 1);
        assert_eq!((p.map_loads[0].1, p.map_loads[0].2), (tasks, false));
        // htab_map_delete_elem is map_delete_elem (3) again; nothing was
        // left unknown.
        let calls: Vec<i32> = (0..p.code.len() / 8)
            .filter(|&i| p.code[i * 8] == 0x85 && p.code[i * 8 + 1] >> 4 == 0)
            .map(|i| imm_at(&p, i))
            .collect();
        assert!(calls.contains(&3), "{calls:?}");
        assert!(p.not_analysed.is_empty(), "{:?}", p.not_analysed);
        // Lines from the program's BTF strings.
        assert!(p
            .lines
            .iter()
            .any(|l| l.1 == "./uninit.bpf.c" && l.2 == 115));
        let obj = p.object(&[(tasks, "tasks".to_string())].into());
        assert_eq!(obj.funcs.iter().filter(|f| f.entry).count(), 1);
        assert_eq!(
            obj.line_of(0, p.map_loads[0].0).map(|l| l.0),
            Some("./uninit.bpf.c")
        );
    }

    #[test]
    fn ringbuf_output_and_probe_read_get_their_helper_ids_back() {
        let p = read_live("on_exec");
        let calls: Vec<i32> = (0..p.code.len() / 8)
            .filter(|&i| p.code[i * 8] == 0x85 && p.code[i * 8 + 1] >> 4 == 0)
            .map(|i| imm_at(&p, i))
            .collect();
        assert!(calls.contains(&130) && calls.contains(&113), "{calls:?}");
    }

    #[test]
    fn kernel_symbols_map_back_to_helpers() {
        for (sym, id) in [
            ("htab_map_update_elem", 2),
            ("__htab_map_lookup_elem", 1),
            ("htab_lru_map_delete_elem", 3),
            ("array_map_lookup_elem", 1),
            ("htab_percpu_map_lookup_percpu_elem", 195),
            ("queue_stack_map_push_elem", 87),
            ("trie_lookup_elem", 1),
            ("bpf_map_lookup_elem", 1),
            ("bpf_ringbuf_output", 130),
            ("bpf_perf_event_output_tp", 25),
            ("bpf_perf_event_output_raw_tp", 25),
            ("bpf_skb_event_output", 25),
            ("bpf_probe_read_kernel", 113),
            ("bpf_probe_read_compat", 4),
            ("bpf_probe_read_compat_str", 45),
            ("bpf_get_current_comm", 16),
            ("bpf_get_current_comm.cold", 16),
        ] {
            assert_eq!(helper_for_symbol(sym), Some(id), "{sym}");
        }
        // Not a helper: left unknown, never guessed.
        for sym in [
            "dev_map_redirect",
            "bpf_for_each_hash_elem",
            "lookup_elem",
            "unspec",
            "",
        ] {
            assert_eq!(helper_for_symbol(sym), None, "{sym}");
        }
    }

    #[test]
    fn unnamed_and_rewritten_calls_are_counted_not_guessed() {
        let (_, mut rec) = live("on_fork");
        let (m, _) = live("on_fork");
        let code = rec.code.clone().unwrap();
        let xlated = member(&code.xlated);
        // Without the call targets, every helper call is counted.
        rec.code.as_mut().unwrap().call_targets.clear();
        rec.code.as_mut().unwrap().call_targets_note = Some("kptr_restrict".into());
        let p = read_prog("live", &rec, &xlated, None, None, None, endian_of(&m)).unwrap();
        assert_eq!(p.funcs, [(0, "on_fork".to_string())]);
        let (why, n) = p.not_analysed.iter().next().unwrap();
        assert!(why.contains("does not name (kptr_restrict)"), "{why}");
        assert_eq!(*n, 3);
        // A symbol that implements no helper.
        rec.code.as_mut().unwrap().call_targets = code
            .call_targets
            .iter()
            .map(|t| crate::bundle::CallTarget {
                imm: t.imm,
                symbol: if t.symbol.ends_with("update_elem") {
                    "dev_map_redirect".into()
                } else {
                    t.symbol.clone()
                },
            })
            .collect();
        let p = read_prog("live", &rec, &xlated, None, None, None, endian_of(&m)).unwrap();
        assert_eq!(
            p.not_analysed.keys().collect::<Vec<_>>(),
            ["call(s) rewritten by the kernel (dev_map_redirect)"]
        );
    }

    #[rustfmt::skip]
    const INLINED_ARRAY_LOOKUP: [u8; 48] = [
        0x18, 0x11, 0, 0, 7, 0, 0, 0,   // 0: r1 = map[id:7] (BPF_PSEUDO_MAP_FD)
        0, 0, 0, 0, 0, 0, 0, 0,         //    (second slot)
        0x07, 0x01, 0, 0, 0xf8, 0, 0, 0, // 2: r1 += 248 (offsetof(struct bpf_array, value))
        0x61, 0x20, 0, 0, 0, 0, 0, 0,   // 3: r0 = *(u32 *)(r2 + 0)
        0xb7, 0x00, 0, 0, 0, 0, 0, 0,   // 4: r0 = 0
        0x95, 0, 0, 0, 0, 0, 0, 0,      // 5: exit
    ];

    #[test]
    fn an_inlined_array_lookup_is_counted() {
        let rec = ProgRecord {
            name: "p".into(),
            ..Default::default()
        };
        let p = read_prog(
            "b",
            &rec,
            &INLINED_ARRAY_LOOKUP,
            None,
            None,
            None,
            Endian::Little,
        )
        .unwrap();
        assert_eq!(p.map_loads, [(0, 7, false)]);
        assert_eq!(
            p.not_analysed.keys().collect::<Vec<_>>(),
            ["map lookup(s) inlined by the kernel (array map)"]
        );
    }

    fn read_raw(
        xlated: &[u8],
        finfo: Option<(&[u8], u32)>,
        linfo: Option<(&[u8], u32)>,
    ) -> Result<LiveProg, (&'static str, XlatedError)> {
        let rec = ProgRecord {
            name: "p".into(),
            code: Some(crate::bundle::ProgCode {
                func_info_rec_size: finfo.map_or(0, |f| f.1),
                line_info_rec_size: linfo.map_or(0, |l| l.1),
                ..Default::default()
            }),
            ..Default::default()
        };
        read_prog(
            "b",
            &rec,
            xlated,
            finfo.map(|f| f.0),
            linfo.map(|l| l.0),
            None,
            Endian::Little,
        )
    }

    #[test]
    fn partial_instruction_is_an_error_at_its_offset() {
        let e = read_raw(&INLINED_ARRAY_LOOKUP[..45], None, None).unwrap_err();
        assert_eq!(e.0, "xlated");
        assert_eq!(e.1.offset(), Some(40));
        assert!(
            e.1.to_string().contains("45 bytes are not whole"),
            "{}",
            e.1
        );
    }

    #[test]
    fn code_over_the_limit_is_an_error_not_read() {
        // What `BundleCode::take` keeps of a longer member: one byte over.
        let big = vec![0u8; MAX_PROG_INSNS as usize * 8 + 1];
        let e = read_raw(&big, None, None).unwrap_err();
        assert_eq!(
            e.1,
            XlatedError::TooManyInsns {
                offset: MAX_PROG_INSNS as usize * 8
            }
        );
        assert!(e.1.to_string().contains("limits::MAX_PROG_INSNS"));
    }

    #[test]
    fn truncated_ld_imm64_is_an_error_at_its_offset() {
        let e = read_raw(&INLINED_ARRAY_LOOKUP[..8], None, None).unwrap_err();
        assert_eq!(e.1, XlatedError::TruncatedLdImm64 { insn: 0, offset: 0 });
    }

    #[test]
    fn bad_func_info_is_an_error_at_its_record() {
        // Second record before the first.
        #[rustfmt::skip]
        let finfo = [
            0, 0, 0, 0, 1, 0, 0, 0, // insn 0, type 1
            0, 0, 0, 0, 2, 0, 0, 0, // insn 0 again
        ];
        let e = read_raw(&INLINED_ARRAY_LOOKUP, Some((&finfo, 8)), None).unwrap_err();
        assert_eq!(e.0, "func_info");
        assert_eq!(e.1.offset(), Some(8));
        // Past the program's end.
        let finfo = [0, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0, 0];
        let e = read_raw(&INLINED_ARRAY_LOOKUP, Some((&finfo, 8)), None).unwrap_err();
        assert!(
            matches!(e.1, XlatedError::BadFunc { insn: 9, .. }),
            "{:?}",
            e.1
        );
        // Not whole records.
        let e = read_raw(&INLINED_ARRAY_LOOKUP, Some((&finfo[..12], 8)), None).unwrap_err();
        assert_eq!(e.1.offset(), Some(8));
        // A record size too small to hold the fields.
        let e = read_raw(&INLINED_ARRAY_LOOKUP, Some((&finfo, 4)), None).unwrap_err();
        assert!(
            matches!(e.1, XlatedError::RecordSize { size: 4, .. }),
            "{:?}",
            e.1
        );
    }

    #[test]
    fn bad_line_info_is_an_error() {
        let e = read_raw(&INLINED_ARRAY_LOOKUP, None, Some((&[0; 20], 16))).unwrap_err();
        assert_eq!(e.0, "line_info");
        assert_eq!(e.1.offset(), Some(16));
        let e = read_raw(&INLINED_ARRAY_LOOKUP, None, Some((&[0; 16], 1 << 20))).unwrap_err();
        assert!(matches!(e.1, XlatedError::RecordSize { .. }));
    }

    #[test]
    fn garbage_never_panics() {
        // A fixed pseudo-random stream (xorshift), cut at every length, as
        // code, func info and line info.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let bytes: Vec<u8> = (0..512)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for n in 0..bytes.len() {
            let d = &bytes[..n];
            // Whatever reads is handed to the pass, which must not panic
            // on it either.
            for p in [
                read_raw(d, Some((d, 8)), Some((d, 16))),
                read_raw(d, None, None),
            ]
            .into_iter()
            .flatten()
            {
                let obj = p.object(&HashMap::new());
                let _ = crate::analyses::prog_uninit::check("g", &obj, Vec::new());
            }
        }
    }
}
