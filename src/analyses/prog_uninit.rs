//! `prog/key-uninit`, `prog/value-uninit`: a BPF program hands a map helper
//! key or value bytes (or sends user space record bytes) that it never wrote,
//! found from the program's own instructions.
//!
//! For each program (entry function) of an object: a control-flow graph per
//! function, then a forward must-written dataflow over the stack bytes of
//! every frame, with calls into subprograms followed in the caller's
//! context. At each map helper that reads a key or value through a pointer
//! `r10 + k`, the bytes it reads (`key_size`/`value_size`, or the record
//! size) are compared with the bytes written on every path (must) and on
//! some path (may): bytes written on no path are unwritten on all paths,
//! bytes written on some but not all are unwritten on some paths.
//!
//! Where the analysis cannot know (the map is not a known map, the pointer
//! is not on the stack, the stack was written at a variable offset, a
//! helper outside the table got a stack pointer, the work budget ran out),
//! it stays silent for that call and counts it, by reason.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::json;

use crate::ingest::bpf_prog::{ProgObject, Reloc};
use crate::model::finding::{Code, Finding, MapRef, Severity, SourceRef};
use crate::model::insn::{self, Insn};
use crate::model::layout::Layout;

use crate::limits::{
    MAX_BLOCK_VISITS, MAX_CALL_DEPTH, MAX_LIVE_BLOCKS, MAX_LIVE_STATE_BYTES, MAX_OBJECT_STEPS,
    MAX_PROG_STEPS, MAX_RING_RECORD, MAX_RING_RECORDS,
};

/// Stack bytes of one frame (the BPF ABI's `MAX_BPF_STACK`).
const STACK: i64 = 512;

/// What the pass knows about one map of the object.
#[derive(Debug, Clone, Default)]
pub struct MapInfo {
    pub name: String,
    pub key_size: Option<u64>,
    pub value_size: Option<u64>,
    pub key_layout: Option<Arc<Layout>>,
    pub value_layout: Option<Arc<Layout>>,
    /// The key/value type's name (`struct task_key`, `__u32`).
    pub key_type: Option<String>,
    pub value_type: Option<String>,
}

impl MapInfo {
    /// The sizes, layouts and type names of the case's map `m`, under `name`.
    pub fn of(name: String, m: &crate::model::case::MapInstance) -> MapInfo {
        MapInfo {
            name,
            key_size: m.key_size,
            value_size: m.value_size,
            key_layout: m.key_layout.clone(),
            value_layout: m.value_layout.clone(),
            key_type: m
                .key_layout
                .as_ref()
                .map(|l| l.display_name())
                .or_else(|| m.key_scalar.as_ref().map(|s| s.name.clone())),
            value_type: m
                .value_layout
                .as_ref()
                .map(|l| l.display_name())
                .or_else(|| m.value_scalar.as_ref().map(|s| s.name.clone())),
        }
    }
}

/// What the pass concluded for one object.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// Helper calls whose read bytes were compared.
    pub checked: usize,
    /// Calls not analysed, by reason.
    pub not_analysed: BTreeMap<String, usize>,
    /// Programs not analysed at all, by reason (`on_fork: ...`).
    pub programs_not_analysed: Vec<String>,
    pub programs: usize,
    /// Per map name: the `bpf_map_update_elem` calls of the object's
    /// programs on it and whether each writes every key byte.
    pub writers: BTreeMap<String, MapWriters>,
}

/// The program side of one map's keys: every `bpf_map_update_elem` on it
/// the pass met, by program and call site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapWriters {
    /// The programs (entry points) whose code updates the map.
    pub programs: BTreeSet<String>,
    /// Update calls (per program and call site) whose key bytes were all
    /// written on every path.
    pub written: usize,
    /// Update calls that leave key bytes unwritten (`prog/key-uninit`).
    pub unwritten: usize,
    /// Update calls the pass could not analyse.
    pub not_analysed: usize,
    /// Objects naming the map with a program that was not analysed at
    /// all (it may update the map).
    pub objects_not_analysed: usize,
}

impl MapWriters {
    /// Adds `o`'s counts (the same map in another object).
    pub fn merge(&mut self, o: &MapWriters) {
        self.programs.extend(o.programs.iter().cloned());
        self.written += o.written;
        self.unwritten += o.unwritten;
        self.not_analysed += o.not_analysed;
        self.objects_not_analysed += o.objects_not_analysed;
    }

    /// Every update met writes every key byte, and none was left out.
    pub fn all_written(&self) -> bool {
        self.written > 0
            && self.unwritten == 0
            && self.not_analysed == 0
            && self.objects_not_analysed == 0
    }
}

impl Outcome {
    /// One line: what was checked and what not, for the inputs table.
    pub fn accounting(&self) -> String {
        let mut s = format!(
            "program code: {} program(s), {} map call(s) checked",
            self.programs, self.checked
        );
        let n: usize = self.not_analysed.values().sum();
        if n > 0 {
            let why: Vec<String> = self
                .not_analysed
                .iter()
                .map(|(r, c)| format!("{c} {r}"))
                .collect();
            s.push_str(&format!("; {n} not analysed: {}", why.join(", ")));
        }
        if !self.programs_not_analysed.is_empty() {
            s.push_str(&format!(
                "; program(s) not analysed: {}",
                self.programs_not_analysed.join(", ")
            ));
        }
        s
    }
}

/// An abstract register (or spilled stack slot) value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Val {
    /// Nothing known; not a stack pointer as far as the analysis can tell.
    Unknown,
    Const(i64),
    /// One of several constants, between these bounds (the meet of two
    /// constants: a size set differently on two paths). Only constants
    /// meet into it, so it cannot grow without bound in a loop.
    Range(i64, i64),
    /// `r10 + off` of frame `frame` (0 = the program's own).
    Fp {
        frame: u8,
        off: i64,
    },
    /// A pointer into the stack of `frame` (or of any frame: [`ANY_FRAME`])
    /// at an offset not known.
    StackVar(u8),
    /// A map (index into the pass's map list).
    Map(u32),
    /// A pointer into the ring-buffer record reserved at site `site` (an
    /// index into the pass's reserve sites), `off` bytes in; null on the
    /// path where the reserve failed, which the program must check.
    Ring {
        site: u16,
        off: i64,
    },
    /// A pointer into record `site` at an offset not known.
    RingVar(u16),
}

const ANY_FRAME: u8 = u8::MAX;

fn meet_val(a: Val, b: Val) -> Val {
    use Val::*;
    match (a, b) {
        _ if a == b => a,
        (Fp { frame: f, .. }, Fp { frame: g, .. }) if f == g => StackVar(f),
        (StackVar(f), Fp { frame: g, .. }) | (Fp { frame: g, .. }, StackVar(f)) if f == g => {
            StackVar(f)
        }
        (Const(x), Const(y)) => Range(x.min(y), x.max(y)),
        (Range(l, h), Const(c)) | (Const(c), Range(l, h)) if (l..=h).contains(&c) => Range(l, h),
        (Ring { site: s, .. }, Ring { site: t, .. })
        | (RingVar(s), Ring { site: t, .. } | RingVar(t))
        | (Ring { site: s, .. }, RingVar(t))
            if s == t =>
        {
            RingVar(s)
        }
        // A pointer on some paths only: a store through it may write any
        // frame or record, so it taints them all.
        (Fp { .. } | StackVar(_) | Ring { .. } | RingVar(_), _)
        | (_, Fp { .. } | StackVar(_) | Ring { .. } | RingVar(_)) => StackVar(ANY_FRAME),
        _ => Unknown,
    }
}

/// Sets bits `lo..hi` of `set`.
fn set_bits(set: &mut [u64], lo: usize, hi: usize) {
    let mut i = lo;
    while i < hi {
        let w = i / 64;
        let from = i % 64;
        let to = (hi - w * 64).min(64);
        let mask = if to - from == 64 {
            u64::MAX
        } else {
            ((1u64 << (to - from)) - 1) << from
        };
        set[w] |= mask;
        i = w * 64 + to;
    }
}

/// Why a frame's must-written set cannot be trusted to say "unwritten".
const VAR_STORE: u8 = 1;
const VAR_HELPER: u8 = 2;

/// One stack frame: bytes written on every path (`must`) and on some path
/// (`may`), bit `i` for byte `r10 - 512 + i`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Frame {
    must: [u64; 8],
    may: [u64; 8],
    /// [`VAR_STORE`] / [`VAR_HELPER`]: the frame may have been written
    /// where the analysis cannot see.
    var: u8,
    /// 8-byte spills at 8-aligned offsets, sorted by offset.
    slots: Vec<(i64, Val)>,
}

impl Frame {
    fn new() -> Self {
        Frame {
            must: [0; 8],
            may: [0; 8],
            var: 0,
            slots: Vec::new(),
        }
    }

    fn write(&mut self, off: i64, len: u64, spill: Option<Val>) {
        let end = off.saturating_add(len.min(i64::MAX as u64) as i64);
        let (lo, hi) = (off.max(-STACK), end.min(0));
        if lo < hi {
            set_bits(&mut self.must, (lo + STACK) as usize, (hi + STACK) as usize);
            set_bits(&mut self.may, (lo + STACK) as usize, (hi + STACK) as usize);
        }
        self.slots.retain(|(o, _)| *o + 8 <= off || *o >= end);
        if let Some(v) = spill {
            if len == 8 && off % 8 == 0 {
                let at = self.slots.partition_point(|(o, _)| *o < off);
                self.slots.insert(at, (off, v));
            }
        }
    }

    /// Bytes written on some paths only: a helper's size that differs by path.
    fn write_may(&mut self, off: i64, len: u64) {
        let end = off.saturating_add(len.min(i64::MAX as u64) as i64);
        let (lo, hi) = (off.max(-STACK), end.min(0));
        if lo < hi {
            set_bits(&mut self.may, (lo + STACK) as usize, (hi + STACK) as usize);
        }
        self.slots.retain(|(o, _)| *o + 8 <= off || *o >= end);
    }

    fn slot(&self, off: i64) -> Val {
        self.slots
            .iter()
            .find(|(o, _)| *o == off)
            .map_or(Val::Unknown, |(_, v)| *v)
    }

    fn is(&self, set: &[u64; 8], b: i64) -> bool {
        let i = (b + STACK) as usize;
        set[i / 64] & (1 << (i % 64)) != 0
    }

    fn meet(&mut self, o: &Frame) {
        for i in 0..8 {
            self.must[i] &= o.must[i];
            self.may[i] |= o.may[i];
        }
        self.var |= o.var;
        self.slots.retain(|s| o.slots.contains(s));
    }
}

/// A reserved ring-buffer record: bytes written on every path (`must`) and
/// on some (`may`), bit `i` for byte `i` of the record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Rec {
    must: Vec<u64>,
    may: Vec<u64>,
    /// [`VAR_STORE`] / [`VAR_HELPER`], as for a frame.
    var: u8,
}

impl Rec {
    /// A fresh record of `size` bytes (0 when its size is not followed).
    fn new(size: u64) -> Self {
        let words = size.div_ceil(64) as usize;
        Rec {
            must: vec![0; words],
            may: vec![0; words],
            var: 0,
        }
    }

    fn size(&self) -> i64 {
        self.must.len() as i64 * 64
    }

    fn write(&mut self, off: i64, len: u64, may_only: bool) {
        let end = off.saturating_add(len.min(i64::MAX as u64) as i64);
        let (lo, hi) = (off.max(0), end.min(self.size()));
        if lo < hi {
            if !may_only {
                set_bits(&mut self.must, lo as usize, hi as usize);
            }
            set_bits(&mut self.may, lo as usize, hi as usize);
        }
    }

    fn is(set: &[u64], b: i64) -> bool {
        let i = b as usize;
        b >= 0 && set.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn meet(&mut self, o: &Rec) {
        for (a, b) in self.must.iter_mut().zip(&o.must) {
            *a &= b;
        }
        for (a, b) in self.may.iter_mut().zip(&o.may) {
            *a |= b;
        }
        self.var |= o.var;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct State {
    regs: [Val; 11],
    frames: Vec<Frame>,
    /// Reserved records by site, sorted. A site absent on one path was not
    /// reserved there, so no pointer to it exists on that path: the meet
    /// keeps the other path's record.
    recs: Vec<(u16, Rec)>,
}

impl State {
    fn meet(&mut self, o: &State) {
        for (a, b) in self.regs.iter_mut().zip(o.regs.iter()) {
            *a = meet_val(*a, *b);
        }
        for (a, b) in self.frames.iter_mut().zip(o.frames.iter()) {
            a.meet(b);
        }
        for (site, r) in &o.recs {
            match self.recs.binary_search_by_key(site, |(s, _)| *s) {
                Ok(i) => self.recs[i].1.meet(r),
                Err(i) => self.recs.insert(i, (*site, r.clone())),
            }
        }
    }

    fn mark_var(&mut self, frame: u8, why: u8) {
        for (i, f) in self.frames.iter_mut().enumerate() {
            if frame == ANY_FRAME || i == frame as usize {
                f.var |= why;
                f.slots.clear();
            }
        }
        if frame == ANY_FRAME {
            for (_, r) in &mut self.recs {
                r.var |= why;
            }
        }
    }

    /// About the bytes this state takes in memory.
    fn weight(&self) -> usize {
        std::mem::size_of::<State>()
            + self
                .frames
                .iter()
                .map(|f| std::mem::size_of::<Frame>() + f.slots.len() * 24)
                .sum::<usize>()
            + self
                .recs
                .iter()
                .map(|(_, r)| 32 + 16 * r.must.len())
                .sum::<usize>()
    }

    fn rec(&mut self, site: u16) -> Option<&mut Rec> {
        let i = self.recs.binary_search_by_key(&site, |(s, _)| *s).ok()?;
        Some(&mut self.recs[i].1)
    }

    fn mark_rec_var(&mut self, site: u16, why: u8) {
        if let Some(r) = self.rec(site) {
            r.var |= why;
        }
    }

    /// Byte `loc`: written on every path, on some path.
    fn written(&self, loc: Loc) -> (bool, bool) {
        match loc {
            Loc::Stack { frame, off } => match self.frames.get(frame as usize) {
                Some(f) => (f.is(&f.must, off), f.is(&f.may, off)),
                None => (false, false),
            },
            Loc::Rec { site, off } => match self.recs.binary_search_by_key(&site, |(s, _)| *s) {
                Ok(i) => {
                    let r = &self.recs[i].1;
                    (Rec::is(&r.must, off), Rec::is(&r.may, off))
                }
                Err(_) => (false, false),
            },
        }
    }

    fn clobber_call(&mut self) {
        for r in 0..=5 {
            self.regs[r] = Val::Unknown;
        }
    }
}

/// How a helper uses its arguments' memory (the kernel's `bpf_func_proto`s).
#[derive(Debug, Clone, Copy)]
enum Arg {
    /// Reads the map's key (`ARG_PTR_TO_MAP_KEY`) at this register.
    Key(usize),
    /// Reads the map's value (`ARG_PTR_TO_MAP_VALUE`).
    Value(usize),
    /// Writes `value_size` bytes (`ARG_PTR_TO_MAP_VALUE | MEM_UNINIT`).
    WritesValue(usize),
    /// Reads a record of the size in the second register (`ARG_PTR_TO_MEM`
    /// + `ARG_CONST_SIZE`), sent to user space.
    Record(usize, usize),
    /// Reads memory only (not checked): no write to account for.
    Reads,
    /// Writes memory of the size in the second register
    /// (`ARG_PTR_TO_UNINIT_MEM` + `ARG_CONST_SIZE`).
    Writes(usize, usize),
    /// Sends the whole record `bpf_ringbuf_reserve` returned
    /// (`ARG_PTR_TO_ALLOC_MEM | OBJ_RELEASE`) to user space.
    Submit(usize),
}

/// `bpf_ringbuf_reserve(map, size, flags)`: r0 is a record of `size` bytes
/// in the ring (or null), written through until submitted or discarded.
const RINGBUF_RESERVE: i32 = 131;

/// Helpers by id (`___BPF_FUNC_MAPPER` order in include/uapi/linux/bpf.h)
/// and the memory their arguments read or write, from their
/// `bpf_func_proto` in kernel/bpf/helpers.c, kernel/trace/bpf_trace.c,
/// kernel/bpf/ringbuf.c, kernel/bpf/queue_stack_maps.c and net/core/filter.c.
/// A helper not listed here that is given a stack pointer may write it: the
/// frame's unwritten bytes are then not trusted.
const HELPERS: &[(i32, &str, &[Arg])] = &[
    (1, "map_lookup_elem", &[Arg::Key(2)]),
    (2, "map_update_elem", &[Arg::Key(2), Arg::Value(3)]),
    (3, "map_delete_elem", &[Arg::Key(2)]),
    (4, "probe_read", &[Arg::Writes(1, 2)]),
    (6, "trace_printk", &[Arg::Reads]),
    (9, "skb_store_bytes", &[Arg::Reads]),
    (16, "get_current_comm", &[Arg::Writes(1, 2)]),
    (20, "skb_get_tunnel_key", &[Arg::Writes(2, 3)]),
    (25, "perf_event_output", &[Arg::Record(4, 5)]),
    (26, "skb_load_bytes", &[Arg::Writes(3, 4)]),
    (28, "csum_diff", &[Arg::Reads, Arg::Reads]),
    (29, "skb_get_tunnel_opt", &[Arg::Writes(2, 3)]),
    (36, "probe_write_user", &[Arg::Reads]),
    (45, "probe_read_str", &[Arg::Writes(1, 2)]),
    (55, "perf_event_read_value", &[Arg::Writes(3, 4)]),
    (56, "perf_prog_read_value", &[Arg::Writes(2, 3)]),
    (57, "getsockopt", &[Arg::Writes(4, 5)]),
    (66, "skb_get_xfrm_state", &[Arg::Writes(3, 4)]),
    (67, "get_stack", &[Arg::Writes(2, 3)]),
    (68, "skb_load_bytes_relative", &[Arg::Writes(3, 4)]),
    (87, "map_push_elem", &[Arg::Value(2)]),
    (88, "map_pop_elem", &[Arg::WritesValue(2)]),
    (89, "map_peek_elem", &[Arg::WritesValue(2)]),
    (112, "probe_read_user", &[Arg::Writes(1, 2)]),
    (113, "probe_read_kernel", &[Arg::Writes(1, 2)]),
    (114, "probe_read_user_str", &[Arg::Writes(1, 2)]),
    (115, "probe_read_kernel_str", &[Arg::Writes(1, 2)]),
    (120, "get_ns_current_pid_tgid", &[Arg::Writes(3, 4)]),
    (130, "ringbuf_output", &[Arg::Record(2, 3)]),
    (RINGBUF_RESERVE, "ringbuf_reserve", &[]),
    (132, "ringbuf_submit", &[Arg::Submit(1)]),
    (133, "ringbuf_discard", &[Arg::Reads]),
    (141, "get_task_stack", &[Arg::Writes(2, 3)]),
    (147, "d_path", &[Arg::Writes(2, 3)]),
    (148, "copy_from_user", &[Arg::Writes(1, 2)]),
    (149, "snprintf_btf", &[Arg::Writes(1, 2)]),
    (165, "snprintf", &[Arg::Writes(1, 2), Arg::Reads]),
    (177, "trace_vprintk", &[Arg::Reads, Arg::Reads]),
    (182, "strncmp", &[Arg::Reads]),
    (189, "xdp_load_bytes", &[Arg::Writes(3, 4)]),
    (191, "copy_from_user_task", &[Arg::Writes(1, 2)]),
    (195, "map_lookup_percpu_elem", &[Arg::Key(2)]),
    (201, "dynptr_read", &[Arg::Writes(1, 2)]),
];

/// The name and argument use of helper `id`, when the table has it.
fn helper(id: i32) -> Option<(&'static str, &'static [Arg])> {
    HELPERS
        .iter()
        .find(|(i, _, _)| *i == id)
        .map(|(_, n, a)| (*n, *a))
}

/// One function's control-flow graph.
struct Cfg {
    insns: Vec<(usize, Insn)>,
    /// Blocks: (first, last) positions in `insns`, and successor blocks.
    blocks: Vec<(usize, usize, Vec<usize>)>,
}

fn build_cfg(
    obj: &ProgObject<'_>,
    section: usize,
    start: usize,
    len: usize,
) -> Result<Cfg, String> {
    let s = &obj.sections[section];
    let end = (start + len).min(s.code.len() / 8);
    let code = &s.code[start * 8..end * 8];
    let little = obj.endian == crate::ingest::cursor::Endian::Little;
    let mut insns = insn::decode(code, little).map_err(|e| e.to_string())?;
    for (slot, _) in &mut insns {
        *slot += start;
    }
    // Position in `insns` of each slot of the function (u32::MAX: the
    // second slot of an ld_imm64).
    let mut pos = vec![u32::MAX; end.saturating_sub(start)];
    for (p, (slot, _)) in insns.iter().enumerate() {
        pos[*slot - start] = p as u32;
    }
    let target = |p: usize| -> Result<usize, String> {
        let (slot, i) = insns[p];
        let t = i.jump_target(slot);
        usize::try_from(t)
            .ok()
            .and_then(|t| t.checked_sub(start))
            .and_then(|t| pos.get(t).copied())
            .filter(|&p| p != u32::MAX)
            .map(|p| p as usize)
            .ok_or_else(|| format!("jump at instruction {slot} to {t}, outside its function"))
    };
    let mut leader = vec![false; insns.len() + 1];
    if !insns.is_empty() {
        leader[0] = true;
    }
    for p in 0..insns.len() {
        let i = insns[p].1;
        if i.is_jump() {
            leader[target(p)?] = true;
            leader[p + 1] = true;
        } else if i.class() == insn::CLASS_JMP && i.op() == insn::JMP_EXIT {
            leader[p + 1] = true;
        }
    }
    let mut block_of = vec![0usize; insns.len()];
    let mut firsts = Vec::new();
    for p in 0..insns.len() {
        if leader[p] {
            firsts.push(p);
        }
        block_of[p] = firsts.len() - 1;
    }
    let mut blocks = Vec::with_capacity(firsts.len());
    for (b, &first) in firsts.iter().enumerate() {
        let last = firsts.get(b + 1).map_or(insns.len(), |n| *n) - 1;
        let i = insns[last].1;
        let mut succs = Vec::new();
        let falls = !(i.is_ja() || (i.class() == insn::CLASS_JMP && i.op() == insn::JMP_EXIT));
        if i.is_jump() {
            succs.push(block_of[target(last)?]);
        }
        if falls {
            if last + 1 >= insns.len() {
                return Err(format!(
                    "instruction {} falls through past the end of its function",
                    insns[last].0
                ));
            }
            succs.push(block_of[last + 1]);
        }
        blocks.push((first, last, succs));
    }
    Ok(Cfg { insns, blocks })
}

/// One byte the analysis follows: of a stack frame (`off` from its `r10`)
/// or of a reserved record (`off` from its start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Loc {
    Stack { frame: u8, off: i64 },
    Rec { site: u16, off: i64 },
}

/// An unwritten read found at a helper call.
struct Hit {
    prog: usize,
    section: usize,
    slot: usize,
    helper: &'static str,
    map: u32,
    role: &'static str,
    len: u64,
    /// Per byte of the read: `Some(true)` unwritten on all paths,
    /// `Some(false)` on some, `None` written.
    bytes: Vec<Option<bool>>,
    /// For a submitted record: where it was reserved (section, slot).
    reserved_at: Option<(usize, usize)>,
    /// Bytes unwritten on some paths: the conditional jump (section, slot)
    /// where a path that leaves them unwritten splits off, when found.
    branch: Option<(usize, usize)>,
    /// Until the function run that found it looks for that branch: the
    /// run's function, the block of the call and the first such byte.
    pending: Option<((usize, usize), usize, Loc)>,
}

/// A `bpf_ringbuf_reserve` call site of the program being analysed.
struct RingSite {
    section: usize,
    slot: usize,
    map: u32,
    /// The record's size, or why it is not followed.
    size: Result<u64, &'static str>,
}

/// What one map-key update call showed, worst first when met twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KeyWrite {
    Written,
    Unwritten,
    NotAnalysed,
}

struct Pass<'o, 'a> {
    obj: &'o ProgObject<'a>,
    maps: Vec<MapInfo>,
    map_index: HashMap<String, u32>,
    cfgs: HashMap<(usize, usize), Result<Arc<Cfg>, String>>,
    memo: HashMap<((usize, usize), State), Option<State>>,
    steps: u64,
    /// Steps of every program so far ([`MAX_OBJECT_STEPS`]).
    object_steps: u64,
    /// Blocks of the function runs in progress ([`MAX_LIVE_BLOCKS`]).
    live_blocks: usize,
    /// Bytes of the states those runs keep ([`MAX_LIVE_STATE_BYTES`]).
    live_bytes: usize,
    prog: usize,
    hits: Vec<Hit>,
    checked: usize,
    not_analysed: BTreeMap<String, usize>,
    /// The reserve sites of the program being analysed.
    ring_sites: Vec<RingSite>,
    /// The function and block being stepped in a reporting run.
    cur: ((usize, usize), usize),
    /// Each map-key update: (map, program, section, slot) → what it showed.
    updates: BTreeMap<(u32, usize, usize, usize), KeyWrite>,
}

enum Stop {
    Budget,
    ObjectBudget,
    Bad(String),
}

/// What [`Pass::check`] concluded for one read.
#[derive(PartialEq, Eq)]
enum Checked {
    Written,
    Unwritten,
    Skipped,
}

impl Pass<'_, '_> {
    /// The map a relocation names: by the object's name, or for a name
    /// over 15 bytes that the case tied to a live map (`engine::case`
    /// `tie_object_maps`, which ties only where the cut name means one
    /// map), by the kernel's 15-byte copy of it.
    fn map_slot(&self, name: &str) -> Option<u32> {
        let cut = crate::model::map::kernel_name(name);
        (self.map_index.get(name))
            .or_else(|| (cut != name).then(|| self.map_index.get(cut)).flatten())
            .copied()
    }

    fn cfg(&mut self, key: (usize, usize)) -> Result<Arc<Cfg>, Stop> {
        let obj = self.obj;
        let r = self.cfgs.entry(key).or_insert_with(|| {
            let len = obj
                .func_at(key.0, key.1)
                .filter(|f| f.start == key.1)
                .map(|f| f.len)
                .ok_or_else(|| format!("no function starts at instruction {}", key.1))?;
            build_cfg(obj, key.0, key.1, len).map(Arc::new)
        });
        r.clone().map_err(Stop::Bad)
    }

    /// Runs function `key` from `entry` to a fixed point; the meet of its
    /// exit states (None: no exit reached). With `report`, the helper
    /// calls of every reached block are checked on the final states.
    fn run(
        &mut self,
        key: (usize, usize),
        entry: State,
        report: bool,
    ) -> Result<Option<State>, Stop> {
        if !report {
            if let Some(r) = self.memo.get(&(key, entry.clone())) {
                return Ok(r.clone());
            }
        }
        if entry.frames.len() > MAX_CALL_DEPTH {
            return Err(Stop::Bad(format!(
                "calls nest deeper than {MAX_CALL_DEPTH} frames"
            )));
        }
        let cfg = self.cfg(key)?;
        let n = cfg.blocks.len();
        self.live_blocks += n;
        if self.live_blocks > MAX_LIVE_BLOCKS {
            return Err(Stop::Bad(format!(
                "more than {MAX_LIVE_BLOCKS} basic blocks in the calls followed at once"
            )));
        }
        let mut ins: Vec<Option<State>> = vec![None; n];
        let mut visits = vec![0u32; n];
        let mut queued = vec![false; n];
        let mut work = VecDeque::new();
        if n > 0 {
            ins[0] = Some(entry.clone());
            work.push_back(0);
            queued[0] = true;
        }
        let mut exit: Option<State> = None;
        let mut memo_bytes = 0;
        let bytes_before = self.live_bytes;
        self.live_bytes += entry.weight();
        while let Some(b) = work.pop_front() {
            queued[b] = false;
            visits[b] += 1;
            if visits[b] > MAX_BLOCK_VISITS {
                return Err(Stop::Bad("no fixed point within the iteration cap".into()));
            }
            let mut s = ins[b].clone().expect("queued blocks have a state");
            let (first, last, ref succs) = cfg.blocks[b];
            for p in first..=last {
                self.step(&cfg.insns[p], key.0, &mut s, false)?;
            }
            if succs.is_empty() {
                meet_into(&mut exit, &s);
            }
            for &t in succs {
                if ins[t].is_none() {
                    self.charge(s.weight())?;
                }
                if meet_into(&mut ins[t], &s) && !queued[t] {
                    queued[t] = true;
                    work.push_back(t);
                }
            }
        }
        if report {
            let saved = self.cur;
            let first_hit = self.hits.len();
            let mut outs: Vec<Option<State>> = vec![None; n];
            for (b, state) in ins.iter().enumerate() {
                let Some(mut s) = state.clone() else {
                    continue;
                };
                self.cur = (key, b);
                let (first, last, _) = cfg.blocks[b];
                for p in first..=last {
                    self.step(&cfg.insns[p], key.0, &mut s, true)?;
                }
                self.charge(s.weight())?;
                outs[b] = Some(s);
            }
            self.cur = saved;
            for h in first_hit..self.hits.len() {
                match self.hits[h].pending {
                    Some((k, block, loc)) if k == key => {
                        self.hits[h].branch =
                            branch_for(&cfg, &outs, block, loc).map(|slot| (key.0, slot));
                        self.hits[h].pending = None;
                    }
                    _ => {}
                }
            }
        } else {
            memo_bytes = entry.weight() + exit.as_ref().map_or(0, State::weight);
            self.memo.insert((key, entry), exit.clone());
        }
        self.live_blocks -= n;
        // The memo's states stay (charged for the rest of the program).
        self.live_bytes = bytes_before;
        self.charge(memo_bytes)?;
        Ok(exit)
    }

    /// Counts a state kept by a run in progress ([`MAX_LIVE_STATE_BYTES`]).
    fn charge(&mut self, bytes: usize) -> Result<(), Stop> {
        self.live_bytes += bytes;
        if self.live_bytes > MAX_LIVE_STATE_BYTES {
            return Err(Stop::Bad(format!(
                "its states would take more than {} MiB",
                MAX_LIVE_STATE_BYTES >> 20
            )));
        }
        Ok(())
    }

    /// The transfer function of one instruction.
    fn step(
        &mut self,
        &(slot, i): &(usize, Insn),
        section: usize,
        s: &mut State,
        report: bool,
    ) -> Result<(), Stop> {
        self.steps += 1;
        self.object_steps += 1;
        if self.steps > MAX_PROG_STEPS {
            return Err(Stop::Budget);
        }
        if self.object_steps > MAX_OBJECT_STEPS {
            return Err(Stop::ObjectBudget);
        }
        let dst = i.dst as usize;
        let src = (i.src as usize).min(10);
        match i.class() {
            insn::CLASS_LD if i.is_ld_imm64() => {
                s.regs[dst] = match self.obj.sections[section].relocs.get(&slot) {
                    Some(Reloc::Map(name)) => self.map_slot(name).map_or(Val::Unknown, Val::Map),
                    Some(_) => Val::Unknown,
                    None if i.src == 0 => Val::Const(i.imm64()),
                    None => Val::Unknown,
                };
            }
            insn::CLASS_LD => {
                // LD_ABS / LD_IND: r0 is the packet data; r1-r5 are scratched.
                s.clobber_call();
            }
            insn::CLASS_LDX => {
                s.regs[dst] = match s.regs[src] {
                    Val::Fp { frame, off } if i.size() == 8 && i.mode() == insn::MODE_MEM => {
                        s.frames[frame as usize].slot(off + i.off as i64)
                    }
                    _ => Val::Unknown,
                };
            }
            insn::CLASS_ST | insn::CLASS_STX => {
                let atomic = i.class() == insn::CLASS_STX && i.mode() == insn::MODE_ATOMIC;
                let spill = (i.class() == insn::CLASS_STX && !atomic).then(|| s.regs[src]);
                let spill = if i.class() == insn::CLASS_ST {
                    Some(Val::Const(i.imm as i64))
                } else {
                    spill
                };
                match s.regs[dst] {
                    Val::Fp { frame, off } => {
                        s.frames[frame as usize].write(off + i.off as i64, i.size() as u64, spill)
                    }
                    Val::StackVar(f) => s.mark_var(f, VAR_STORE),
                    Val::Ring { site, off } => {
                        if let Some(r) = s.rec(site) {
                            r.write(off + i.off as i64, i.size() as u64, false);
                        }
                    }
                    Val::RingVar(site) => s.mark_rec_var(site, VAR_STORE),
                    _ => {}
                }
                if atomic && i.imm & insn::ATOMIC_FETCH != 0 {
                    if i.imm == insn::ATOMIC_CMPXCHG {
                        s.regs[0] = Val::Unknown;
                    } else {
                        s.regs[src] = Val::Unknown;
                    }
                }
            }
            insn::CLASS_ALU | insn::CLASS_ALU64 => {
                let wide = i.class() == insn::CLASS_ALU64;
                let rhs = if i.src_is_reg() {
                    s.regs[src]
                } else {
                    Val::Const(i.imm as i64)
                };
                s.regs[dst] = alu(i.op(), s.regs[dst], rhs, wide, i.off);
            }
            insn::CLASS_JMP if i.op() == insn::JMP_CALL => {
                self.call(i, slot, section, s, report)?
            }
            _ => {}
        }
        Ok(())
    }

    fn call(
        &mut self,
        i: Insn,
        slot: usize,
        section: usize,
        s: &mut State,
        report: bool,
    ) -> Result<(), Stop> {
        match i.src {
            insn::PSEUDO_CALL => {
                let callee = match self.obj.sections[section].relocs.get(&slot) {
                    Some(Reloc::Func { section, insn }) => (*section, *insn),
                    // Relocated against a symbol outside the object's code
                    // (`extern ... __ksym`): a kfunc, which clang emits as
                    // a pseudo call and libbpf turns into
                    // BPF_PSEUDO_KFUNC_CALL at load. Not a subprogram.
                    Some(Reloc::Other(_)) => {
                        self.unknown_pointers(s);
                        s.clobber_call();
                        return Ok(());
                    }
                    _ => {
                        let t = slot as i64 + i.imm as i64 + 1;
                        let t = usize::try_from(t)
                            .map_err(|_| Stop::Bad(format!("call at instruction {slot} to {t}")))?;
                        (section, t)
                    }
                };
                let mut entry = s.clone();
                entry.frames.push(Frame::new());
                entry.regs[10] = Val::Fp {
                    frame: (entry.frames.len() - 1) as u8,
                    off: 0,
                };
                for r in 0..=9 {
                    if r == 0 || r > 5 {
                        entry.regs[r] = Val::Unknown;
                    }
                }
                // A callee that never returns leaves the state as it was
                // (the verifier would reject such a program).
                if let Some(mut out) = self.run(callee, entry, report)? {
                    out.frames.pop();
                    s.frames = out.frames;
                    s.recs = out.recs;
                }
                s.clobber_call();
            }
            insn::PSEUDO_HELPER => {
                let Some((name, args)) = helper(i.imm) else {
                    self.unknown_pointers(s);
                    s.clobber_call();
                    return Ok(());
                };
                // The map is r1, except perf_event_output(ctx, map, flags,
                // data, size).
                let map_reg = if i.imm == 25 { 2 } else { 1 };
                let map = match s.regs[map_reg] {
                    Val::Map(m) => Some(m),
                    _ => None,
                };
                for a in args {
                    match *a {
                        Arg::Key(r) | Arg::Value(r) if report => {
                            let (role, len) = match (a, map) {
                                (Arg::Key(_), Some(m)) => ("key", self.maps[m as usize].key_size),
                                (_, Some(m)) => ("value", self.maps[m as usize].value_size),
                                _ => {
                                    self.skip("with a map the object does not define");
                                    continue;
                                }
                            };
                            let got = self.check(s, s.regs[r], len, role, name, map, section, slot);
                            if let (Some(m), "key", 2) = (map, role, i.imm) {
                                let w = match got {
                                    Checked::Written => KeyWrite::Written,
                                    Checked::Unwritten => KeyWrite::Unwritten,
                                    Checked::Skipped => KeyWrite::NotAnalysed,
                                };
                                let e = self
                                    .updates
                                    .entry((m, self.prog, section, slot))
                                    .or_insert(w);
                                *e = (*e).max(w);
                            }
                        }
                        Arg::Submit(p) if report => self.submit(s, s.regs[p], section, slot),
                        Arg::Record(p, n) if report => {
                            let len = match s.regs[n] {
                                Val::Const(c) if c >= 0 => Some(c as u64),
                                _ => None,
                            };
                            match map {
                                Some(_) => {
                                    self.check(
                                        s, s.regs[p], len, "record", name, map, section, slot,
                                    );
                                }
                                None => self.skip("with a map the object does not define"),
                            }
                        }
                        Arg::Writes(p, n) => {
                            let len = match s.regs[n] {
                                Val::Const(c) if c >= 0 => Some((c as u64, c as u64)),
                                Val::Range(l, h) if l >= 0 => Some((l as u64, h as u64)),
                                _ => None,
                            };
                            write_through(s, s.regs[p], len);
                        }
                        Arg::WritesValue(p) => {
                            let len = map
                                .and_then(|m| self.maps[m as usize].value_size)
                                .map(|v| (v, v));
                            write_through(s, s.regs[p], len);
                        }
                        _ => {}
                    }
                }
                let reserved =
                    (i.imm == RINGBUF_RESERVE).then(|| self.reserve(s, map, section, slot));
                s.clobber_call();
                if let Some(r0) = reserved {
                    s.regs[0] = r0;
                }
            }
            _ => {
                // kfuncs: their BTF prototypes are not read here.
                self.unknown_pointers(s);
                s.clobber_call();
            }
        }
        Ok(())
    }

    /// A call that may write through any stack pointer among r1-r5.
    fn unknown_pointers(&self, s: &mut State) {
        for r in 1..=5 {
            match s.regs[r] {
                Val::Fp { frame, .. } | Val::StackVar(frame) => s.mark_var(frame, VAR_HELPER),
                Val::Ring { site, .. } | Val::RingVar(site) => s.mark_rec_var(site, VAR_HELPER),
                _ => {}
            }
        }
    }

    /// `bpf_ringbuf_reserve` at `slot`: a fresh record at its site (the
    /// one reserved there before, on a loop's earlier turn, is gone), and
    /// r0 a pointer to it. A map not known, or past
    /// [`MAX_RING_RECORDS`] sites, gives a pointer not followed: stores
    /// through it touch nothing the pass checks.
    fn reserve(&mut self, s: &mut State, map: Option<u32>, section: usize, slot: usize) -> Val {
        let Some(map) = map else {
            return Val::Unknown;
        };
        let site = match self
            .ring_sites
            .iter()
            .position(|r| r.section == section && r.slot == slot)
        {
            Some(i) => i,
            None if self.ring_sites.len() < MAX_RING_RECORDS => {
                let size = match s.regs[2] {
                    Val::Const(c) if c > 0 && c as u64 <= MAX_RING_RECORD => Ok(c as u64),
                    Val::Const(c) if c > 0 => {
                        Err("of a reserved record larger than the analysis follows")
                    }
                    _ => Err("of a reserved record whose size is not known"),
                };
                self.ring_sites.push(RingSite {
                    section,
                    slot,
                    map,
                    size,
                });
                self.ring_sites.len() - 1
            }
            None => return Val::Unknown,
        };
        let rec = Rec::new(*self.ring_sites[site].size.as_ref().unwrap_or(&0));
        let site = site as u16;
        match s.recs.binary_search_by_key(&site, |(x, _)| *x) {
            Ok(i) => s.recs[i].1 = rec,
            Err(i) => s.recs.insert(i, (site, rec)),
        }
        Val::Ring { site, off: 0 }
    }

    /// `bpf_ringbuf_submit(ptr)`: the whole record reserved at `ptr`'s site
    /// is compared with the bytes written to it on every path.
    fn submit(&mut self, s: &State, ptr: Val, section: usize, slot: usize) {
        let Val::Ring { site, off: 0 } = ptr else {
            return self.skip("submitting a record not followed from its bpf_ringbuf_reserve");
        };
        let rs = &self.ring_sites[site as usize];
        let (map, at) = (rs.map, (rs.section, rs.slot));
        let len = match rs.size {
            Ok(l) => l,
            Err(why) => return self.skip(why),
        };
        let Ok(i) = s.recs.binary_search_by_key(&site, |(x, _)| *x) else {
            return self.skip("submitting a record not followed from its bpf_ringbuf_reserve");
        };
        let r = &s.recs[i].1;
        let bytes: Vec<Option<bool>> = (0..len as i64)
            .map(|b| {
                if Rec::is(&r.must, b) {
                    None
                } else {
                    Some(!Rec::is(&r.may, b))
                }
            })
            .collect();
        let var = r.var;
        self.found(
            var,
            bytes,
            |off| Loc::Rec { site, off },
            Read {
                len,
                role: "record",
                helper: "ringbuf_submit",
                map,
                section,
                slot,
                reserved_at: Some(at),
            },
        );
    }

    fn skip(&mut self, why: &str) {
        *self.not_analysed.entry(why.to_string()).or_default() += 1;
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        &mut self,
        s: &State,
        ptr: Val,
        len: Option<u64>,
        role: &'static str,
        helper: &'static str,
        map: Option<u32>,
        section: usize,
        slot: usize,
    ) -> Checked {
        // Where the pointer goes first: a record of 8,232 bytes in a
        // per-CPU heap map is "not on the stack", not "size not known".
        let (frame, off) = match ptr {
            Val::Fp { frame, off } => (frame, off),
            Val::StackVar(ANY_FRAME) => {
                self.skip("through a pointer on the stack on some paths only");
                return Checked::Skipped;
            }
            Val::StackVar(_) => {
                self.skip("through a stack pointer of unknown offset");
                return Checked::Skipped;
            }
            _ => {
                self.skip("through a pointer not on the stack");
                return Checked::Skipped;
            }
        };
        let Some(len) = len.filter(|&l| l > 0) else {
            self.skip("whose size is not known");
            return Checked::Skipped;
        };
        if len > STACK as u64 || off < -STACK || off + len as i64 > 0 {
            self.skip("reading outside the stack frame");
            return Checked::Skipped;
        }
        let f = &s.frames[frame as usize];
        let bytes: Vec<Option<bool>> = (0..len as i64)
            .map(|k| {
                let b = off + k;
                if f.is(&f.must, b) {
                    None
                } else {
                    Some(!f.is(&f.may, b))
                }
            })
            .collect();
        let var = f.var;
        self.found(
            var,
            bytes,
            |k| Loc::Stack {
                frame,
                off: off + k,
            },
            Read {
                len,
                role,
                helper,
                map: map.unwrap_or(0),
                section,
                slot,
                reserved_at: None,
            },
        )
    }

    /// The bytes one read takes, unwritten or not (`bytes`, see [`Hit`]):
    /// counted as checked, or as not analysed when the memory they sit in
    /// may have been written where the pass cannot see (`var`), or a hit.
    fn found(
        &mut self,
        var: u8,
        bytes: Vec<Option<bool>>,
        loc: impl Fn(i64) -> Loc,
        r: Read,
    ) -> Checked {
        if bytes.iter().all(Option::is_none) {
            self.checked += 1;
            return Checked::Written;
        }
        let rec = r.reserved_at.is_some();
        if var & VAR_STORE != 0 {
            self.skip(if rec {
                "after a store into the reserved record at a variable offset"
            } else {
                "after a stack store at a variable offset"
            });
            return Checked::Skipped;
        }
        if var & VAR_HELPER != 0 {
            self.skip(if rec {
                "after a helper or kfunc the table does not know got a pointer into the reserved record"
            } else {
                "after a helper or kfunc the table does not know got a stack pointer"
            });
            return Checked::Skipped;
        }
        self.checked += 1;
        let pending = bytes
            .iter()
            .position(|b| *b == Some(false))
            .map(|k| (self.cur.0, self.cur.1, loc(k as i64)));
        self.hits.push(Hit {
            prog: self.prog,
            section: r.section,
            slot: r.slot,
            helper: r.helper,
            map: r.map,
            role: r.role,
            len: r.len,
            bytes,
            reserved_at: r.reserved_at,
            branch: None,
            pending,
        });
        Checked::Unwritten
    }
}

/// What a helper reads, and where it is called.
struct Read {
    len: u64,
    role: &'static str,
    helper: &'static str,
    map: u32,
    section: usize,
    slot: usize,
    reserved_at: Option<(usize, usize)>,
}

/// The conditional jump where a path that leaves byte `loc` unwritten at
/// the read in block `hit` splits off from one that writes it, from the
/// states at each block's end (`outs`, a reporting run's): a block
/// ending in a conditional jump, reached by some path that has not
/// written the byte, with one successor from which some path reaches the
/// read without writing it and one from which some path writes it on the
/// way. The one nearest the read (the highest instruction) when several
/// are; None when none is (a loop's first turn, or a callee whose caller
/// made the difference).
fn branch_for(cfg: &Cfg, outs: &[Option<State>], hit: usize, loc: Loc) -> Option<usize> {
    let n = cfg.blocks.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (b, (_, _, succs)) in cfg.blocks.iter().enumerate() {
        for &t in succs {
            preds[t].push(b);
        }
    }
    // The blocks from which the read is reached (it ends a path).
    let mut reaches = vec![false; n];
    reaches[hit] = true;
    let mut work = vec![hit];
    while let Some(b) = work.pop() {
        for &p in &preds[b] {
            if !reaches[p] && outs[p].is_some() {
                reaches[p] = true;
                work.push(p);
            }
        }
    }
    let written = |b: usize| outs[b].as_ref().map_or((false, false), |s| s.written(loc));
    // `unw[b]`: some path from b's start reaches the read without writing
    // the byte; `wr[b]`: some path from b's start writes it on the way.
    let mut unw = vec![false; n];
    let mut wr = vec![false; n];
    unw[hit] = true;
    let mut changed = true;
    let mut rounds = 0;
    while changed && rounds <= n {
        changed = false;
        rounds += 1;
        for b in (0..n).rev() {
            if !reaches[b] || b == hit {
                continue;
            }
            let succs = &cfg.blocks[b].2;
            let w = written(b).0;
            let u = !w && succs.iter().any(|&t| reaches[t] && unw[t]);
            let x = w || succs.iter().any(|&t| reaches[t] && t != hit && wr[t]);
            if u != unw[b] || x != wr[b] {
                unw[b] |= u;
                wr[b] |= x;
                changed = true;
            }
        }
    }
    (0..n)
        .filter(|&b| b != hit && reaches[b])
        .filter(|&b| {
            let (first, last, ref succs) = cfg.blocks[b];
            let _ = first;
            let i = cfg.insns[last].1;
            i.is_jump()
                && !i.is_ja()
                && !written(b).0
                && succs.iter().any(|&t| reaches[t] && unw[t])
                && succs.iter().any(|&t| reaches[t] && t != hit && wr[t])
        })
        .map(|b| cfg.insns[cfg.blocks[b].1].0)
        .max()
}

/// A helper writes `len` bytes (at least, at most) at `ptr`.
fn write_through(s: &mut State, ptr: Val, len: Option<(u64, u64)>) {
    match (ptr, len) {
        (Val::Fp { frame, off }, Some((lo, hi))) => {
            let f = &mut s.frames[frame as usize];
            f.write_may(off, hi);
            f.write(off, lo, None);
        }
        (Val::Fp { frame, .. } | Val::StackVar(frame), _) => s.mark_var(frame, VAR_STORE),
        (Val::Ring { site, off }, Some((lo, hi))) => {
            if let Some(r) = s.rec(site) {
                r.write(off, hi, true);
                r.write(off, lo, false);
            }
        }
        (Val::Ring { site, .. } | Val::RingVar(site), _) => s.mark_rec_var(site, VAR_STORE),
        _ => {}
    }
}

/// Meets `s` into `slot`; whether `slot` changed.
fn meet_into(slot: &mut Option<State>, s: &State) -> bool {
    match slot {
        None => {
            *slot = Some(s.clone());
            true
        }
        Some(old) => {
            let mut new = old.clone();
            new.meet(s);
            if new != *old {
                *old = new;
                true
            } else {
                false
            }
        }
    }
}

/// An ALU operation on abstract values: constants fold, `r10 + k` moves
/// through add and sub of constants; anything else on a stack pointer gives
/// a stack pointer of unknown offset.
fn alu(op: u8, a: Val, b: Val, wide: bool, off: i16) -> Val {
    use Val::*;
    let fold = |x: i64| {
        if wide {
            Const(x)
        } else {
            Const(x as u32 as i64)
        }
    };
    match (op, a, b) {
        (insn::ALU_MOV, _, Const(c)) if off == 0 => fold(c),
        (insn::ALU_MOV, _, v) if wide && off == 0 => v,
        (insn::ALU_MOV, _, _) => Unknown,
        (insn::ALU_ADD, Fp { frame, off }, Const(c))
        | (insn::ALU_ADD, Const(c), Fp { frame, off })
            if wide =>
        {
            Fp {
                frame,
                off: off.wrapping_add(c),
            }
        }
        (insn::ALU_SUB, Fp { frame, off }, Const(c)) if wide => Fp {
            frame,
            off: off.wrapping_sub(c),
        },
        (insn::ALU_ADD, Ring { site, off }, Const(c))
        | (insn::ALU_ADD, Const(c), Ring { site, off })
            if wide =>
        {
            Ring {
                site,
                off: off.wrapping_add(c),
            }
        }
        (insn::ALU_SUB, Ring { site, off }, Const(c)) if wide => Ring {
            site,
            off: off.wrapping_sub(c),
        },
        (_, Fp { frame, .. } | StackVar(frame), _) => StackVar(frame),
        (_, Ring { site, .. } | RingVar(site), _) => RingVar(site),
        (_, Const(x), Const(y)) => match op {
            insn::ALU_ADD => fold(x.wrapping_add(y)),
            insn::ALU_SUB => fold(x.wrapping_sub(y)),
            insn::ALU_MUL => fold(x.wrapping_mul(y)),
            insn::ALU_OR => fold(x | y),
            insn::ALU_AND => fold(x & y),
            insn::ALU_XOR => fold(x ^ y),
            insn::ALU_LSH if (0..64).contains(&y) => fold(x.wrapping_shl(y as u32)),
            insn::ALU_RSH if (0..64).contains(&y) => {
                if wide {
                    Const(((x as u64) >> y) as i64)
                } else {
                    Const(((x as u32) >> (y as u32 % 32)) as i64)
                }
            }
            _ => Unknown,
        },
        _ => Unknown,
    }
}

/// The `analyze` pass: every object's program code checked; the object's
/// inputs row (`bpf-object`) gets what was checked and what not appended
/// to its status (`read; program code: …`); findings on the maps
/// `selected` names (all when empty).
pub fn pass(
    inputs: &mut Vec<crate::report::InputSummary>,
    objects: &[(String, Vec<u8>)],
    maps: &[crate::model::case::MapInstance],
    selected: &[String],
) -> ProgSide {
    let mut findings = Vec::new();
    let mut writers: Writers = BTreeMap::new();
    for (name, data) in objects {
        match check_file(name, data, maps) {
            Ok(out) => {
                // The object's own inputs row says what its code gave.
                match inputs
                    .iter_mut()
                    .find(|i| i.path == *name && i.kind == "bpf-object")
                {
                    Some(row) => row.status = format!("{}; {}", row.status, out.accounting()),
                    None => inputs.push(crate::report::InputSummary {
                        path: name.clone(),
                        kind: "bpf-object".into(),
                        status: out.accounting(),
                    }),
                }
                findings.extend(out.findings.into_iter().filter(|f| {
                    selected.is_empty()
                        || f.map.as_ref().is_some_and(|m| selected.contains(&m.name))
                }));
                for (map, w) in out.writers {
                    writers.entry(map).or_default().insert(name.clone(), w);
                }
            }
            Err(e) => findings.push(
                crate::error::InputError::at_offset(name.as_str(), e.file_offset(), &e)
                    .to_finding(),
            ),
        }
    }
    ProgSide { findings, writers }
}

/// Per map name, per object: the programs that update it and whether
/// every update writes every key byte.
pub type Writers = BTreeMap<String, BTreeMap<String, MapWriters>>;

/// What the program code of a case gave: its findings, and its map
/// writers (for `layout/key-padding`, `key_padding::state_program_writers`).
#[derive(Debug, Default)]
pub struct ProgSide {
    pub findings: Vec<Finding>,
    pub writers: Writers,
}

/// Runs the pass over the programs of the BPF ELF object `data` (named
/// `file`), with key/value sizes and layouts from `maps` (the case's maps:
/// an object's maps are there by name).
pub fn check_file(
    file: &str,
    data: &[u8],
    maps: &[crate::model::case::MapInstance],
) -> Result<Outcome, crate::ingest::bpf_prog::ProgError> {
    let obj = ProgObject::parse(data)?;
    let mut infos: Vec<MapInfo> = Vec::new();
    // The object's own maps first (laid out from its own BTF): another
    // object of the case may define a map of the same name with other
    // sizes (`start` is in a dozen libbpf-tools). Then the case's other
    // maps (a bundle's live maps) for names the object does not define.
    let own = format!("BTF of {file}");
    let (mine, others): (Vec<_>, Vec<_>) = maps
        .iter()
        .partition(|m| m.btf_origin.as_deref() == Some(own.as_str()));
    for m in mine.into_iter().chain(others) {
        if infos.iter().any(|i| i.name == m.name) {
            continue;
        }
        infos.push(MapInfo::of(m.name.clone(), m));
    }
    Ok(check(file, &obj, infos))
}

/// Runs the pass over every program of `obj`.
pub fn check(file: &str, obj: &ProgObject<'_>, maps: Vec<MapInfo>) -> Outcome {
    let map_index = maps
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.clone(), i as u32))
        .collect();
    let mut pass = Pass {
        obj,
        maps,
        map_index,
        cfgs: HashMap::new(),
        memo: HashMap::new(),
        steps: 0,
        object_steps: 0,
        live_blocks: 0,
        live_bytes: 0,
        prog: 0,
        hits: Vec::new(),
        checked: 0,
        not_analysed: BTreeMap::new(),
        ring_sites: Vec::new(),
        cur: ((0, 0), 0),
        updates: BTreeMap::new(),
    };
    let mut out = Outcome::default();
    let mut unanalysed_writers = false;
    for (pi, f) in obj.funcs.iter().enumerate().filter(|(_, f)| f.entry) {
        out.programs += 1;
        pass.prog = pi;
        pass.steps = 0;
        pass.live_blocks = 0;
        pass.live_bytes = 0;
        pass.ring_sites.clear();
        pass.memo.clear();
        let (hits, checked, skipped) = (pass.hits.len(), pass.checked, pass.not_analysed.clone());
        let mut entry = State {
            regs: [Val::Unknown; 11],
            frames: vec![Frame::new()],
            recs: Vec::new(),
        };
        entry.regs[10] = Val::Fp { frame: 0, off: 0 };
        if let Err(stop) = pass.run((f.section, f.start), entry, true) {
            // Nothing of a program cut short is reported.
            pass.hits.truncate(hits);
            pass.checked = checked;
            pass.not_analysed = skipped;
            pass.updates.retain(|k, _| k.1 != pi);
            unanalysed_writers = true;
            out.programs_not_analysed.push(match stop {
                Stop::Budget => format!("{} (more than {MAX_PROG_STEPS} steps)", f.name),
                Stop::ObjectBudget => format!(
                    "{} (the object's {MAX_OBJECT_STEPS} steps were spent)",
                    f.name
                ),
                Stop::Bad(why) => format!("{} ({why})", f.name),
            });
        }
    }
    for (&(m, prog, _, _), &w) in &pass.updates {
        let e = out
            .writers
            .entry(pass.maps[m as usize].name.clone())
            .or_default();
        e.programs.insert(obj.funcs[prog].name.clone());
        match w {
            KeyWrite::Written => e.written += 1,
            KeyWrite::Unwritten => e.unwritten += 1,
            KeyWrite::NotAnalysed => e.not_analysed += 1,
        }
    }
    if unanalysed_writers {
        // A program not analysed may update any map the object names:
        // one unknown writer on each.
        let named: BTreeSet<&String> = obj
            .sections
            .iter()
            .flat_map(|s| s.relocs.values())
            .filter_map(|r| match r {
                Reloc::Map(name) => pass.map_slot(name).map(|m| &pass.maps[m as usize].name),
                _ => None,
            })
            .collect();
        for name in named {
            out.writers
                .entry(name.clone())
                .or_default()
                .objects_not_analysed += 1;
        }
    }
    out.checked = pass.checked;
    out.not_analysed = pass
        .not_analysed
        .iter()
        .map(|(k, v)| (format!("call(s) {k}"), *v))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for h in &pass.hits {
        if seen.insert((h.prog, h.section, h.slot, h.role)) {
            out.findings.push(finding(file, obj, &pass.maps, h));
        }
    }
    out
}

/// `[a, b)` runs of the unwritten bytes, with whether each is unwritten on
/// all paths and what it covers in `layout`.
fn runs(h: &Hit, layout: Option<&Layout>) -> Vec<(u64, u64, bool, String)> {
    let label = |b: u64| -> String {
        let Some(l) = layout else {
            return String::new();
        };
        let mut prev: Option<&crate::model::layout::Member> = None;
        for m in &l.members {
            let end = m.offset + m.size.max(1);
            if (m.offset..end).contains(&b) {
                return member_label(m, b - m.offset);
            }
            if m.offset + m.size <= b {
                prev = Some(m);
            }
        }
        let prev = prev.map(|m| match &m.ty {
            _ if !m.name.is_empty() => format!("`{}`", m.name),
            crate::model::layout::FieldType::Aggregate(inner) => {
                format!("the anonymous {} at byte {}", inner.kind.as_str(), m.offset)
            }
            _ => format!("the unnamed member at byte {}", m.offset),
        });
        let after = l.members.iter().any(|m| m.offset > b);
        match (prev, after) {
            (Some(p), true) => format!("the hole after {p}"),
            (Some(p), false) => format!("the tail padding after {p}"),
            (None, _) => "padding before the first field".to_string(),
        }
    };
    let mut out: Vec<(u64, u64, bool, String)> = Vec::new();
    for (k, b) in h.bytes.iter().enumerate() {
        let Some(all) = *b else { continue };
        let k = k as u64;
        let what = label(k);
        match out.last_mut() {
            Some((_, end, a, w)) if *end == k && *a == all && *w == what => *end += 1,
            _ => out.push((k, k + 1, all, what)),
        }
    }
    out
}

/// The member holding byte `b` (from the member's start): its name, or for
/// an anonymous struct or union the names of its members at that byte
/// (bcc's tcptracer key: `union { __u32 saddr_v4; __int128 saddr_v6; }`,
/// bytes 4..15 are `saddr_v6`'s), so no run is labelled with an empty name.
fn member_label(m: &crate::model::layout::Member, b: u64) -> String {
    if !m.name.is_empty() {
        return format!("`{}`", m.name);
    }
    let crate::model::layout::FieldType::Aggregate(inner) = &m.ty else {
        return format!("the unnamed member at byte {}", m.offset);
    };
    let names: Vec<String> = inner
        .members
        .iter()
        .filter(|i| (i.offset..i.offset + i.size.max(1)).contains(&b))
        .map(|i| member_label(i, b - i.offset))
        .collect();
    if names.is_empty() {
        format!("padding inside the anonymous {}", inner.kind.as_str())
    } else {
        names.join(" / ")
    }
}

fn finding(file: &str, obj: &ProgObject<'_>, maps: &[MapInfo], h: &Hit) -> Finding {
    let prog = &obj.funcs[h.prog];
    let func = obj.func_at(h.section, h.slot);
    let map = &maps[h.map as usize];
    let (layout, type_name) = match h.role {
        "key" => (map.key_layout.as_deref(), map.key_type.clone()),
        "value" => (map.value_layout.as_deref(), map.value_type.clone()),
        _ => (None, None),
    };
    let runs = runs(h, layout);
    let all = runs.iter().all(|r| r.2);
    let line = obj.line_of(h.section, h.slot);
    let place = match line {
        Some((f, l)) => format!(" ({}:{l})", f.rsplit('/').next().unwrap_or(f)),
        None => String::new(),
    };
    let bytes_text: Vec<String> = runs
        .iter()
        .map(|(a, b, _, what)| {
            let span = if b - a == 1 {
                format!("{a}")
            } else {
                format!("{a}..{}", b - 1)
            };
            if what.is_empty() {
                span
            } else {
                format!("{span} ({what})")
            }
        })
        .collect();
    let verb = match h.helper {
        "map_lookup_elem" | "map_lookup_percpu_elem" => "looks up",
        "map_update_elem" => "updates",
        "map_delete_elem" => "deletes from",
        "map_push_elem" => "pushes to",
        _ => "sends to user space through",
    };
    let role = if h.role == "record" { "record" } else { h.role };
    let branch = h.branch.map(|(sec, slot)| {
        let at = obj.line_of(sec, slot);
        let start = obj.func_at(sec, slot).map_or(0, |f| f.start);
        (slot - start, at)
    });
    let paths = match (all, &branch) {
        (true, _) => "that no path writes".to_string(),
        (false, Some((_, Some((f, l))))) => format!(
            "that the path through the branch at {}:{l} leaves unwritten",
            f.rsplit('/').next().unwrap_or(f)
        ),
        (false, Some((insn, None))) => {
            format!("that the path through the branch at instruction {insn} leaves unwritten")
        }
        (false, None) => "that some paths leave unwritten".to_string(),
    };
    let reserved = h.reserved_at.map(|(sec, slot)| {
        let at = obj.line_of(sec, slot);
        let start = obj.func_at(sec, slot).map_or(0, |f| f.start);
        (slot - start, at)
    });
    let role = match &reserved {
        Some((_, Some((f, l)))) => format!(
            "the record reserved at {}:{l} with bytes",
            f.rsplit('/').next().unwrap_or(f)
        ),
        Some((insn, None)) => format!("the record reserved at instruction {insn} with bytes"),
        None => format!("with {role} bytes"),
    };
    let in_func = match func {
        Some(f) if f.name != prog.name => format!(" in `{}`", f.name),
        _ => String::new(),
    };
    let title = format!(
        "{}{place}{in_func} {verb} map `{}` {role} {} {paths}",
        prog.name,
        map.name,
        bytes_text.join(", ")
    );
    let (code, severity, fix) = if h.role == "key" {
        (
            Code::ProgKeyUninit,
            Severity::Error,
            "Zero the whole key before filling its fields: `struct … key = {};` or `__builtin_memset(&key, 0, sizeof(key))`; the kernel hashes and compares all key_size bytes, so garbage padding makes lookups and deletes of the same key miss.",
        )
    } else {
        (
            Code::ProgValueUninit,
            Severity::Warning,
            "Zero the whole value or record before filling it (`= {}` or `__builtin_memset`): the unwritten bytes carry kernel stack contents into the map or to user space.",
        )
    };
    let func_start = func.map_or(0, |f| f.start);
    let mut f = Finding::new(code, severity, title)
        .with_map(Some(MapRef {
            id: None,
            name: map.name.clone(),
        }))
        .with_evidence(json!({
            "object": file,
            "program": prog.name,
            "section": obj.sections[h.section].name,
            "function": func.map(|f| f.name.as_str()),
            "insn": h.slot - func_start,
            "helper": format!("bpf_{}", h.helper),
            "role": h.role,
            "type": type_name,
            "size": h.len,
            "paths": if all { "all" } else { "some" },
            "source": line.map(|(f, l)| json!({"file": f, "line": l})),
            "unwritten": runs.iter().map(|(a, b, all, what)| json!({
                "offset": a,
                "len": b - a,
                "covers": (!what.is_empty()).then_some(what),
                "paths": if *all { "all" } else { "some" },
            })).collect::<Vec<_>>(),
        }))
        .with_fix(fix);
    let at = |(insn, at): (usize, Option<(&str, u32)>)| json!({"insn": insn, "source": at.map(|(f, l)| json!({"file": f, "line": l}))});
    if let Some(b) = branch {
        f.evidence["branch"] = at(b);
    }
    if let Some(r) = reserved {
        f.evidence["reserved"] = at(r);
    }
    if let Some((lf, l)) = line {
        f = f.with_source(SourceRef {
            file: lf.to_string(),
            line: Some(l),
            offset: None,
            label: format!("bpf_{} reads the {} here", h.helper, h.role),
            text: None,
        });
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(state: &mut State, off: i64, len: u64) {
        state.frames[0].write(off, len, None);
    }

    fn fresh() -> State {
        let mut s = State {
            regs: [Val::Unknown; 11],
            frames: vec![Frame::new()],
            recs: Vec::new(),
        };
        s.regs[10] = Val::Fp { frame: 0, off: 0 };
        s
    }

    #[test]
    fn meet_keeps_bytes_written_on_both_paths_only() {
        let mut a = fresh();
        let mut b = fresh();
        st(&mut a, -16, 8);
        st(&mut b, -16, 4);
        a.meet(&b);
        let f = &a.frames[0];
        assert!(f.is(&f.must, -16) && f.is(&f.must, -13));
        assert!(!f.is(&f.must, -12) && f.is(&f.may, -12));
        assert!(!f.is(&f.may, -20));
    }

    #[test]
    fn pointers_move_through_add_and_sub() {
        let p = alu(
            insn::ALU_MOV,
            Val::Unknown,
            Val::Fp { frame: 0, off: 0 },
            true,
            0,
        );
        let p = alu(insn::ALU_ADD, p, Val::Const(-16), true, 0);
        assert_eq!(p, Val::Fp { frame: 0, off: -16 });
        let p = alu(insn::ALU_SUB, p, Val::Const(8), true, 0);
        assert_eq!(p, Val::Fp { frame: 0, off: -24 });
        assert_eq!(
            alu(insn::ALU_ADD, p, Val::Unknown, true, 0),
            Val::StackVar(0)
        );
        assert_eq!(
            alu(insn::ALU_RSH, Val::Const(-1), Val::Const(32), true, 0),
            Val::Const(0xffff_ffff)
        );
    }

    #[test]
    fn meet_of_two_stack_offsets_is_a_variable_pointer() {
        let a = Val::Fp { frame: 0, off: -8 };
        let b = Val::Fp { frame: 0, off: -16 };
        assert_eq!(meet_val(a, b), Val::StackVar(0));
        assert_eq!(meet_val(a, Val::Const(1)), Val::StackVar(ANY_FRAME));
        assert_eq!(meet_val(Val::Const(1), Val::Const(4)), Val::Range(1, 4));
        assert_eq!(meet_val(Val::Range(1, 4), Val::Const(2)), Val::Range(1, 4));
        assert_eq!(meet_val(Val::Range(1, 4), Val::Const(5)), Val::Unknown);
        assert_eq!(meet_val(Val::Const(1), Val::Unknown), Val::Unknown);
    }

    #[test]
    fn set_bits_spans_words() {
        let mut w = [0u64; 3];
        set_bits(&mut w, 60, 130);
        assert_eq!(w, [0xf << 60, u64::MAX, 0b11]);
        let mut w = [0u64; 1];
        set_bits(&mut w, 0, 64);
        assert_eq!(w, [u64::MAX]);
        set_bits(&mut w, 5, 5);
    }

    #[test]
    fn partial_overwrite_drops_a_spill() {
        let mut f = Frame::new();
        f.write(-8, 8, Some(Val::Map(3)));
        assert_eq!(f.slot(-8), Val::Map(3));
        f.write(-4, 1, None);
        assert_eq!(f.slot(-8), Val::Unknown);
    }

    /// Builds a one-section object from raw instructions.
    fn object(code: &[u8]) -> ProgObject<'_> {
        ProgObject {
            endian: crate::ingest::cursor::Endian::Little,
            sections: vec![crate::ingest::bpf_prog::CodeSection {
                name: "xdp".into(),
                code,
                file_offset: 0,
                relocs: [(3usize, Reloc::Map("m".into()))].into_iter().collect(),
                lines: Vec::new(),
            }],
            funcs: vec![crate::ingest::bpf_prog::Func {
                name: "prog".into(),
                section: 0,
                start: 0,
                len: code.len() / 8,
                entry: true,
            }],
        }
    }

    fn map() -> Vec<MapInfo> {
        vec![MapInfo {
            name: "m".into(),
            key_size: Some(8),
            value_size: Some(8),
            ..Default::default()
        }]
    }

    #[rustfmt::skip]
    const LOOP: [u8; 96] = [
        0xb7, 0x01, 0, 0, 0, 0, 0, 0,             // 0: r1 = 0
        0x63, 0x1a, 0xf8, 0xff, 0, 0, 0, 0,       // 1: *(u32 *)(r10 - 8) = r1
        0xbf, 0xa2, 0, 0, 0, 0, 0, 0,             // 2: r2 = r10
        0x18, 0x01, 0, 0, 0, 0, 0, 0,             // 3: r1 = map m ll
        0, 0, 0, 0, 0, 0, 0, 0,                   //    (second slot)
        0x07, 0x02, 0, 0, 0xf8, 0xff, 0xff, 0xff, // 5: r2 += -8
        0x85, 0, 0, 0, 1, 0, 0, 0,                // 6: call map_lookup_elem
        0x15, 0x00, 0x02, 0, 0, 0, 0, 0,          // 7: if r0 == 0 goto +2
        0x62, 0x0a, 0xfc, 0xff, 0, 0, 0, 0,       // 8: *(u32 *)(r10 - 4) = 0
        0x05, 0x00, 0xf8, 0xff, 0, 0, 0, 0,       // 9: goto -8 (to 2)
        0xb7, 0x00, 0, 0, 0, 0, 0, 0,             // 10: r0 = 0
        0x95, 0, 0, 0, 0, 0, 0, 0,                // 11: exit
    ];

    #[test]
    fn loop_writes_half_the_key_on_some_paths() {
        let obj = object(&LOOP);
        let out = check("t.o", &obj, map());
        assert_eq!(out.programs_not_analysed, Vec::<String>::new());
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        let f = &out.findings[0];
        assert_eq!(f.code, Code::ProgKeyUninit);
        assert_eq!(f.evidence["paths"], "some");
        assert_eq!(f.evidence["unwritten"][0]["offset"], 4);
        assert_eq!(f.evidence["unwritten"][0]["len"], 4);
        assert_eq!(f.evidence["insn"], 6);
    }

    #[test]
    fn written_key_is_silent() {
        let mut code = LOOP;
        code[8] = 0x7b; // 1: *(u64 *)(r10 - 8) = r1
        let obj = object(&code);
        let out = check("t.o", &obj, map());
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        assert_eq!(out.checked, 1);
    }

    #[test]
    fn jump_out_of_range_is_not_analysed() {
        let mut code = LOOP;
        code[74] = 0x7f; // 9: goto +127
        let obj = object(&code);
        let out = check("t.o", &obj, map());
        assert!(out.findings.is_empty());
        assert_eq!(out.programs_not_analysed.len(), 1);
        assert!(
            out.programs_not_analysed[0].contains("outside its function"),
            "{:?}",
            out.programs_not_analysed
        );
    }

    #[rustfmt::skip]
    const KFUNC: [u8; 96] = [
        0xb7, 0x01, 0, 0, 0, 0, 0, 0,             // 0: r1 = 0
        0x63, 0x1a, 0xf8, 0xff, 0, 0, 0, 0,       // 1: *(u32 *)(r10 - 8) = r1
        0xbf, 0xa1, 0, 0, 0, 0, 0, 0,             // 2: r1 = r10
        0x07, 0x01, 0, 0, 0xf8, 0xff, 0xff, 0xff, // 3: r1 += -8
        0x85, 0x10, 0, 0, 0xff, 0xff, 0xff, 0xff, // 4: call -1 (kfunc, by relocation)
        0xbf, 0xa2, 0, 0, 0, 0, 0, 0,             // 5: r2 = r10
        0x07, 0x02, 0, 0, 0xf8, 0xff, 0xff, 0xff, // 6: r2 += -8
        0x18, 0x01, 0, 0, 0, 0, 0, 0,             // 7: r1 = map m ll
        0, 0, 0, 0, 0, 0, 0, 0,                   //    (second slot)
        0x85, 0, 0, 0, 1, 0, 0, 0,                // 9: call map_lookup_elem
        0xb7, 0x00, 0, 0, 0, 0, 0, 0,             // 10: r0 = 0
        0x95, 0, 0, 0, 0, 0, 0, 0,                // 11: exit
    ];

    /// clang emits a call of an `extern __ksym` function (sigsnoop's
    /// `bpf_task_from_pid`) as `call -1` with src 1 and a relocation against
    /// the undefined symbol: a kfunc, not a call to instruction `slot`. It
    /// was followed as a subprogram ("no function starts at instruction
    /// 4") and the whole program was not analysed.
    #[test]
    fn kfunc_call_by_relocation_is_not_a_subprogram() {
        let mut obj = object(&KFUNC);
        obj.sections[0].relocs = [
            (4usize, Reloc::Other("bpf_task_from_pid".into())),
            (7usize, Reloc::Map("m".into())),
        ]
        .into_iter()
        .collect();
        let out = check("t.o", &obj, map());
        assert_eq!(out.programs_not_analysed, Vec::<String>::new());
        // The kfunc got a pointer to the key: bytes 4..7 may be its.
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        assert_eq!(
            out.not_analysed
                .get("call(s) after a helper or kfunc the table does not know got a stack pointer"),
            Some(&1),
            "{:?}",
            out.not_analysed
        );
    }

    /// bcc's compat.bpf.h sends an 8,232-byte event from a per-CPU heap
    /// map (`perf_event_output(ctx, &events, ..., heap_value, 8232)`), and
    /// filetop updates a 4,160-byte value from a global: the reason counted
    /// was "whose size is not known" (the size, larger than a stack frame,
    /// was tested first); the pointer is what keeps the call unchecked.
    #[test]
    fn large_value_in_map_memory_is_counted_as_not_on_the_stack() {
        let mut code = LOOP;
        code[16..24].copy_from_slice(&[0xb7, 0x02, 0, 0, 0, 0, 0, 0]); // 2: r2 = 0
        code[40..48].copy_from_slice(&[0xb7, 0x00, 0, 0, 0, 0, 0, 0]); // 5: r0 = 0
        let obj = object(&code);
        let mut maps = map();
        maps[0].key_size = Some(8232);
        let out = check("t.o", &obj, maps);
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        assert_eq!(
            out.not_analysed
                .get("call(s) through a pointer not on the stack")
                .copied(),
            Some(1),
            "{:?}",
            out.not_analysed
        );
        // A stack pointer with a size past the frame is still refused.
        let obj = object(&LOOP);
        let mut maps = map();
        maps[0].key_size = Some(8232);
        let out = check("t.o", &obj, maps);
        assert_eq!(
            out.not_analysed
                .get("call(s) reading outside the stack frame")
                .copied(),
            Some(1),
            "{:?}",
            out.not_analysed
        );
    }

    #[rustfmt::skip]
    const TUNNEL_KEY: [u8; 96] = [
        0xbf, 0xa2, 0, 0, 0, 0, 0, 0,             // 0: r2 = r10
        0x07, 0x02, 0, 0, 0xf8, 0xff, 0xff, 0xff, // 1: r2 += -8
        0xb7, 0x03, 0, 0, 8, 0, 0, 0,             // 2: r3 = 8
        0xb7, 0x04, 0, 0, 0, 0, 0, 0,             // 3: r4 = 0
        0x85, 0, 0, 0, 20, 0, 0, 0,               // 4: call skb_get_tunnel_key
        0xbf, 0xa2, 0, 0, 0, 0, 0, 0,             // 5: r2 = r10
        0x07, 0x02, 0, 0, 0xf8, 0xff, 0xff, 0xff, // 6: r2 += -8
        0x18, 0x01, 0, 0, 0, 0, 0, 0,             // 7: r1 = map m ll
        0, 0, 0, 0, 0, 0, 0, 0,                   //    (second slot)
        0x85, 0, 0, 0, 1, 0, 0, 0,                // 9: call map_lookup_elem
        0xb7, 0x00, 0, 0, 0, 0, 0, 0,             // 10: r0 = 0
        0x95, 0, 0, 0, 0, 0, 0, 0,                // 11: exit
    ];

    /// Helpers whose prototype takes `ARG_PTR_TO_UNINIT_MEM` + a constant
    /// size (skb_get_tunnel_key, getsockopt, xdp_load_bytes,
    /// get_ns_current_pid_tgid, ...) write the buffer: a key filled by one
    /// is checked and clean, not "not analysed" after an unknown helper.
    #[test]
    fn key_filled_by_skb_get_tunnel_key_is_checked_and_clean() {
        let mut obj = object(&TUNNEL_KEY);
        obj.sections[0].relocs = [(7usize, Reloc::Map("m".into()))].into_iter().collect();
        let out = check("t.o", &obj, map());
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        assert!(out.not_analysed.is_empty(), "{:?}", out.not_analysed);
        assert_eq!(out.checked, 1);
        for id in [20, 29, 55, 56, 57, 66, 120, 189, 201] {
            assert!(
                helper(id).is_some_and(|(_, a)| a.iter().any(|a| matches!(a, Arg::Writes(..)))),
                "{id}"
            );
        }
    }

    /// A key with anonymous unions (bcc's tcptracer `tuple_key_t`, filled
    /// for IPv4 through `saddr_v4`): the unwritten bytes 4..15 were
    /// labelled "``" (the anonymous member's empty name).
    #[test]
    fn unwritten_bytes_in_an_anonymous_union_name_its_members() {
        use crate::model::layout::{AggregateKind, ByteOrder, FieldType, IntEncoding, Member};
        let m = |name: &str, offset: u64, size: u64, ty: FieldType| Member {
            name: name.into(),
            offset,
            bit_offset: offset * 8,
            size,
            bit_size: None,
            type_name: "t".into(),
            ty,
            source: None,
        };
        let int = |size| FieldType::Int {
            size,
            signed: false,
            encoding: IntEncoding::Plain,
            byte_order: ByteOrder::Host,
        };
        let union = Layout::new(
            "",
            AggregateKind::Union,
            16,
            vec![m("saddr_v4", 0, 4, int(4)), m("saddr_v6", 0, 16, int(16))],
        );
        let key = Layout::new(
            "tuple_key_t",
            AggregateKind::Struct,
            24,
            vec![
                m("", 0, 16, FieldType::Aggregate(Arc::new(union))),
                m("sport", 16, 2, int(2)),
            ],
        );
        let mut bytes = vec![None; 24];
        for b in (4..16).chain(18..24) {
            bytes[b] = Some(true);
        }
        let h = Hit {
            prog: 0,
            section: 0,
            slot: 0,
            helper: "map_update_elem",
            map: 0,
            role: "key",
            len: 24,
            bytes,
            reserved_at: None,
            branch: None,
            pending: None,
        };
        let r = runs(&h, Some(&key));
        assert_eq!(
            r,
            vec![
                (4, 16, true, "`saddr_v6`".to_string()),
                (18, 24, true, "the tail padding after `sport`".to_string()),
            ]
        );
        assert_eq!(member_label(&key.members[0], 0), "`saddr_v4` / `saddr_v6`");
        let mut tail = h;
        tail.bytes = vec![None; 24];
        tail.bytes[16] = Some(false);
        let mut k2 = key.clone();
        k2.members.pop();
        assert_eq!(
            runs(&tail, Some(&k2)),
            vec![(
                16,
                17,
                false,
                "the tail padding after the anonymous union at byte 0".to_string()
            )]
        );
    }

    #[test]
    fn unknown_map_is_counted_not_guessed() {
        let obj = object(&LOOP);
        let out = check("t.o", &obj, Vec::new());
        assert!(out.findings.is_empty());
        assert_eq!(out.not_analysed.values().sum::<usize>(), 1);
    }
}
