//! Bounds on how far and how much any type walk goes, shared by every reader
//! (BTF, DWARF, Go source, YAML schemas) and by the decoder.
//!
//! Inputs come from nodes that may be broken or compromised: a type nested
//! thousands deep must not overflow the stack, a type whose size doubles per
//! level must not cost work exponential in its depth, and a declared element
//! count must not set the work done on an entry. Each limit is far above
//! what real kernels and programs use (vmlinux's deepest struct nesting is
//! under 20 levels, its longest typedef/qualifier chain under 10) and each
//! is reported as an error naming the limit. `docs/reliability.md` lists
//! them with the error each gives.

/// Deepest nesting of types followed: aggregates in aggregates, arrays of
/// arrays, pointers to typedefs. Shared by the BTF layout engine, DWARF
/// resolution, Go source layout and YAML schemas.
pub const MAX_TYPE_DEPTH: usize = 128;

/// Longest typedef/qualifier chain followed from one type id before it is
/// reported as too long (a chain that comes back on itself sooner is a cycle).
pub const MAX_CHAIN: usize = 64;

/// Most values (struct members, array elements, scalars) produced when
/// decoding one key or value, per byte of it plus [`DECODE_NODES_BASE`]:
/// zero-sized members cost no bytes, so without this a 1 KB type could make
/// one decode exponential.
pub const DECODE_NODES_PER_BYTE: u64 = 8;

/// Values every decode may produce whatever its byte count.
pub const DECODE_NODES_BASE: u64 = 4096;

/// Most values one decode may produce for `len` bytes.
pub fn decode_node_budget(len: usize) -> u64 {
    DECODE_NODES_BASE.saturating_add((len as u64).saturating_mul(DECODE_NODES_PER_BYTE))
}

/// Most members and array elements looked into when finding a type's
/// padding bits (`Layout::uncovered_bits`); past it the rest counts as
/// covered, so padding may be under-reported for such a type, never invented.
pub const MAX_LAYOUT_WALK: usize = 1 << 20;

/// Most bytes read from one bundle, whatever its manifest declares: the tar
/// stream after decompression (a `.tar.gz` of 16 MB can expand to terabytes),
/// or a directory bundle's files. Real bundles are far smaller (a 5M-entry
/// map dumps to ~1.4 GB); past it reading stops with one `input/unreadable`
/// finding naming the member being read.
pub const MAX_BUNDLE_BYTES: u64 = 32 << 30;

/// How far a bundle member may exceed the size its manifest declares before
/// it is not read (the SHA-256 check catches any difference; this bounds
/// the work): 1/16 of the declared size plus this many bytes.
pub const BUNDLE_MEMBER_SLACK: u64 = 64 << 10;

/// The most bytes read for a member the manifest declares `declared` bytes.
pub fn bundle_member_allowance(declared: u64) -> u64 {
    declared
        .saturating_add(declared / 16)
        .saturating_add(BUNDLE_MEMBER_SLACK)
}

/// Most bytes read from a stream: standard input (`-`), a pipe or FIFO
/// given by path (`<(cat dump)`), a device. A stream has no size to check
/// before reading and may never end (`yes`-like generators, `/dev/zero`);
/// past this the command stops with an error naming the input and the byte
/// offset reached. Regular files are not capped here (their size is known
/// and each reader bounds what it keeps). A 64 MiB stream is a ~230k-entry
/// `bpftool -j` dump; larger ones are saved to a file first.
pub const MAX_STREAM_BYTES: u64 = 64 << 20;

/// Most records a bundle manifest may list, all lists together (files,
/// maps, programs, BTF, pins, links, processes and their fds, objects,
/// snapshots, limits hit, errors). A busy node has a few thousand maps and
/// programs (100k maps and 100k programs are read); the manifest is counted
/// before anything is kept, and one over the limit is refused, so what a
/// bundle costs follows what it lists (~350 bytes a record).
pub const MAX_MANIFEST_ENTRIES: u64 = 1 << 18;

/// Most ids a bundle manifest may list inside its records (maps'
/// `prog_ids`, programs' `map_ids`, the trace's pids and own ids), all
/// together: 4 bytes each once read.
pub const MAX_MANIFEST_IDS: u64 = 1 << 21;

// Program code (`ingest/bpf_prog.rs`, `ingest/embedded.rs`,
// `analyses/prog_uninit.rs`). A BPF object comes from a node or a binary
// that may be hostile: these bound what reading it and following its
// instructions may cost, so time and memory follow the instructions
// (and, per state kept, the 512-byte stack), never the paths through them.
// Past each limit the program (or object) is "not analysed" and the
// object's inputs row says why; nothing is guessed.

/// Most executable sections read from one BPF object. libbpf-tools objects
/// have 1–40 (one per program plus `.text`); Cilium's largest ~100.
pub const MAX_CODE_SECTIONS: usize = 4096;

/// Most `.BTF.ext` line-info records read from one object: one per source
/// line of every program (the kernel's own limit on a program is 1M
/// instructions, so 4M records covers four such programs); each costs a
/// `(slot, file, line)` kept for the findings' source lines.
pub const MAX_LINE_RECORDS: usize = 1 << 22;

/// Most embedded BPF objects taken from one binary (a loader embeds one
/// skeleton per tool; bpf2go and aya loaders a few).
pub const MAX_EMBEDDED_OBJECTS: usize = 256;

/// Most instructions stepped for one program, fixed-point iterations and
/// followed calls included. A real program converges in a few times its
/// length (the largest libbpf-tools program takes ~40k steps); past it the
/// program is not analysed.
pub const MAX_PROG_STEPS: u64 = 4_000_000;

/// Most instructions stepped for one object, all its programs together:
/// many entry points calling one large subprogram would otherwise cost
/// programs × subprogram. ~0.2 s of work in a release build.
pub const MAX_OBJECT_STEPS: u64 = 16_000_000;

/// Times one basic block is visited in one function run before the run
/// gives up: the meet only loses information (constants widen to ranges,
/// then to unknown; written bytes shrink), so real loops settle within a
/// few visits; this stops one that would not.
pub const MAX_BLOCK_VISITS: u32 = 4096;

/// Frames deep a BPF-to-BPF call chain is followed: the kernel's own limit
/// (`MAX_CALL_FRAMES`).
pub const MAX_CALL_DEPTH: usize = 8;

/// Most basic blocks with a state kept at once, over every function run
/// in progress (a caller's run stays live while its callee runs). A state
/// is the registers and up to 8 frames of 512-byte bit sets (~0.3–1.5 KB),
/// so this keeps the states of one program under ~200 MB whatever its
/// size; real programs have a few thousand blocks.
pub const MAX_LIVE_BLOCKS: usize = 1 << 17;

/// Most bytes of states kept at once by the function runs in progress
/// (each block's entry state, and in the reporting run its exit state):
/// with up to 8 frames and [`MAX_RING_RECORDS`] records a state can take
/// several KB, so [`MAX_LIVE_BLOCKS`] alone would not bound memory. Real
/// programs stay under a few MB.
pub const MAX_LIVE_STATE_BYTES: usize = 128 << 20;

/// Largest `bpf_ringbuf_reserve` record followed, in bytes (its written
/// bytes are a bit set in every state that holds the pointer): event
/// structs are tens to hundreds of bytes; larger records are counted as
/// not analysed.
pub const MAX_RING_RECORD: u64 = 4096;

/// Most reserved ring-buffer records (reserve call sites) one program's
/// states follow at once; a later reserve is counted as not analysed.
pub const MAX_RING_RECORDS: usize = 16;
