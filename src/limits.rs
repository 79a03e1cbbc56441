//! Every size cap in the crate, in one table: how far and how much a type
//! walk goes, how many bytes of each kind of input are read, what a bundle
//! may hold, and what `collect` copies off a node. A cap on bytes is applied
//! from the size an input declares before it is read (a file's length, a
//! tar header's member size, the manifest's recorded size, a compressed
//! section's header), so an input over its cap costs nothing but its
//! error. The file is in sections, one per concern (type walks, bundles,
//! inputs by kind, records inside an input, collect); add a cap to its
//! section with a doc comment saying what it bounds and why that value.
//!
//! Type walks: how far and how much any type walk goes, shared by every
//! reader (BTF, DWARF, Go source, YAML schemas) and by the decoder.
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

// ---------------------------------------------------------------------------
// Bundles: what one bundle, its manifest and each kind of member may hold.
// ---------------------------------------------------------------------------

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

/// Most bytes of a bundle's `manifest.json`: refused from its size (the tar
/// header's, or the directory entry's) before it is read, as the bundle's
/// error. A manifest lists ~350 bytes a record, so this is ~190k records,
/// within [`MAX_MANIFEST_ENTRIES`]; real ones are under 1 MiB.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

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

// --- Type sources (`engine::type_source`) ----------------------------------
//
// One cap per kind of file a named type is read from, the same whichever
// command reads it (`layout`, `schema`, `decode`, `analyze`, `diff`). A
// regular file over its cap is refused from its size, before any byte is
// read; a stream is read up to [`MAX_STREAM_BYTES`] at most in any case.

/// Largest file read for BTF: raw BTF (vmlinux's is ~6 MB; the BTF
/// header's 32-bit lengths allow up to 4 GiB) or an ELF file carrying a
/// `.BTF` section (a BPF object; a vmlinux or module ELF with its DWARF,
/// up to ~1 GiB). Memory-mapped, so it bounds address space, not memory;
/// the larger of the two caps that applied before (1 GiB read, 2 GiB
/// mapped), so no file read before is refused now.
/// One value with [`MAX_ELF_BYTES`]: a file carrying BTF is mapped like
/// any ELF file (a BTF blob inside a bundle is held, [`MAX_BTF_BYTES`]).
pub const MAX_BTF_FILE: u64 = MAX_ELF_BYTES;

/// Largest binary read for its DWARF, and largest split debug file found
/// for it (`--debug-dir`, build-id, `.gnu_debuglink`). Unstripped C++ and
/// Go binaries reach 1–3 GiB; memory-mapped like BTF, so this bounds
/// address space, not memory. The larger of the caps that applied before
/// (4 GiB mapped for `schema`/`analyze`, 2 GiB read for `decode`).
pub const MAX_DWARF_FILE: u64 = MAX_DWARF_BYTES;

/// Largest Go source file read (generated files reach a few MB). Read
/// into memory: the parser borrows it.
pub const MAX_GO_FILE: u64 = MAX_TEXT_BYTES;

/// Largest YAML layout schema read (one a type is a few KB). Read into
/// memory: the YAML parser needs it whole.
pub const MAX_SCHEMA_FILE: u64 = MAX_TEXT_BYTES;

// --- Program code (`collect`, `ingest::prog_xlated`) -----------------------

/// Most translated instructions `collect` saves for one program (the
/// verifier's own limit is 1M, `BPF_COMPLEXITY_LIMIT_INSNS`), and
/// `analyze` reads from one `progs/ID.xlated`: 8 MiB.
pub const MAX_PROG_INSNS: u64 = 1 << 20;

/// Most `func_info` records saved and read for one program (the kernel
/// allows 256 subprograms, `BPF_MAX_SUBPROGS`).
pub const MAX_PROG_FUNC_INFO: u64 = 4096;

/// Most `line_info` records saved and read for one program (at most one
/// per instruction).
pub const MAX_PROG_LINE_INFO: u64 = MAX_PROG_INSNS;

/// Largest `func_info`/`line_info` record size taken from the kernel or a
/// bundle (today 8 and 16 bytes; a larger one would be a newer layout with
/// the same first fields).
pub const MAX_PROG_INFO_REC_SIZE: u32 = 256;
// Bundle members, each capped by kind from the tar header's size (and the
// manifest's recorded size) before it is read, see
// `bundle::MemberKind::cap`: `btf/` blobs by [`MAX_BTF_BYTES`], the trace
// by [`MAX_FILE_BYTES`], dumps and snapshots (streamed, never held whole)
// and other members by [`MAX_BUNDLE_BYTES`]. A member over its cap is not
// read: it is reported as unreadable, naming it and its declared size.

// ---------------------------------------------------------------------------
// Inputs read whole or from a stream, by kind. One cap per kind, whichever
// path reads it (analyze, layout, schema, decode, diff, a bundle member).
// ---------------------------------------------------------------------------

/// Most bytes read from a stream: standard input (`-`), a pipe or FIFO
/// given by path (`<(cat dump)`), a device. A stream has no size to check
/// before reading and may never end (`yes`-like generators, `/dev/zero`);
/// past this the command stops with an error naming the input and the byte
/// offset reached. Regular files are not capped here (their size is known
/// and each reader bounds what it keeps). A 64 MiB stream is a ~230k-entry
/// `bpftool -j` dump; larger ones are saved to a file first.
pub const MAX_STREAM_BYTES: u64 = 64 << 20;

/// Most bytes of an input read whole before its kind is told from its
/// bytes: `analyze`'s positional files (a dump, a BTF blob, an ELF object,
/// a trace) and `--dump MAP=FILE`; and the bundle members parsed in one
/// piece (the trace, a program's configuration dump). 1 GiB is a ~3.5M-entry
/// `bpftool -j` dump read as a file; larger dumps stream out of a bundle.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Most bytes of a raw BTF blob, by every path: a bundle's `btf/` member
/// (refused from its tar header's size before reading, so a gzip bomb
/// declaring a 6 GB `btf/vmlinux.btf` costs nothing), a BTF file given by
/// path (read or mapped). vmlinux's BTF is ~6 MB and collect copies at most
/// [`COLLECT_BTF_BYTES`]. Two paths used to differ (1 GiB read for
/// `analyze`, 2 GiB mapped for `layout`/`schema`/`decode`); this is the
/// smaller, since a bundle's BTF is read into memory.
pub const MAX_BTF_BYTES: u64 = 1 << 30;

/// Most bytes of an ELF file mapped for its `.BTF` section or its maps (a
/// BPF object, a binary built with BTF, vmlinux), and of an ELF `--elf`
/// file `collect` copies. Mapped, not read: the pages touched are those of
/// the sections parsed, each bounded by its section header against the
/// file. Big Go binaries are a few hundred MB.
pub const MAX_ELF_BYTES: u64 = 2 << 30;

/// Most bytes of a binary read for its DWARF, or of its split debug file
/// (`.gnu_debuglink`, build-id): mapped by `schema --dwarf`, `decode
/// --dwarf` and `analyze --types`, read for a split debug file. Debug
/// builds of large C++ or Go programs reach a few GiB. Two paths used to
/// differ (4 GiB mapped, 2 GiB read for `decode --dwarf`); this is the
/// larger, since mapping costs only the pages the DWARF reader touches.
pub const MAX_DWARF_BYTES: u64 = 4 << 30;

/// How far a compressed ELF section (`SHF_COMPRESSED`, zlib) may claim to
/// expand: deflate's best ratio is about 1032:1, so a section header
/// claiming more is lying and nothing is allocated for it. Checked from the
/// compression header before decompressing.
pub const MAX_ZLIB_RATIO: u64 = 1032;

/// Most bytes of a text input read whole: a YAML schema, one Go source
/// file, `decode --show`'s `bpftool map show` output. Real ones are a few
/// KB; 64 MiB keeps a wrong path (a disk image) out.
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// Most bytes of a source file read for the snippets a report quotes
/// around a user type's declaration; a larger file is quoted without them.
pub const MAX_SNIPPET_SOURCE_BYTES: u64 = 1 << 20;

// ---------------------------------------------------------------------------
// Records inside an input: one entry, one line, one pending call.
// ---------------------------------------------------------------------------

/// Longest single entry of a `bpftool -j` dump (a per-CPU value on a
/// 4096-CPU machine with a 4 KiB value is ~100 MB of hex text; that is far
/// beyond real use).
pub const MAX_JSON_ENTRY_BYTES: usize = 64 << 20;

/// Longest line of a `bpftool` plain-text dump (bpftool lines are under
/// 100 bytes; a formatted entry of a huge struct may be long, not this long).
pub const MAX_TEXT_LINE_BYTES: usize = 16 << 20;

/// Longest `bpftool` plain-text formatted (BTF) entry, over all its lines.
pub const MAX_TEXT_ENTRY_BYTES: usize = 64 << 20;

/// Longest line of a bpf() call trace (`TraceEvent` JSON lines); a longer
/// one is reported and skipped (a traced call is a few hundred bytes:
/// 256-byte keys and values in hex are ~1.2 KB).
pub const MAX_TRACE_LINE_BYTES: usize = 64 << 10;

/// Longest unfinished call text an strace log keeps while it waits for the
/// call's resumption.
pub const MAX_STRACE_PENDING_BYTES: usize = 64 << 10;

// ---------------------------------------------------------------------------
// Collect: what is copied off a live node.
// ---------------------------------------------------------------------------

/// Largest BTF blob `collect` copies out of the kernel, and the most read
/// of `/sys/kernel/btf/vmlinux` to place the tracer's syscall arguments.
/// vmlinux's BTF is ~6 MB; module BTF is smaller.
pub const COLLECT_BTF_BYTES: u32 = 256 << 20;

/// Default for `collect --max-binary-bytes`: the largest user binary copied
/// into a bundle for its DWARF (`--binaries`); longer ones are cut there.
/// The flag's declared default (`256M`, shown by `--help`) says the same.
pub const COLLECT_BINARY_BYTES: u64 = 256 << 20;

/// Most bytes of trace lines (`collect --trace-pid`) read from the ring
/// and queued while the bundle file catches up. A write can stall for tens
/// of milliseconds (dirty-page throttling after a large dump), and a
/// process doing nothing but lookups makes ~1M calls a second, ~190 MB of
/// lines: this holds ~0.3 s of that. When it is full the reader waits and
/// the ring buffer (4 MiB, ~12k lookups) takes the rest, then the kernel
/// side counts what it drops as lost.
pub const TRACE_QUEUE_BYTES: usize = 64 << 20;

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
