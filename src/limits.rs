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
pub const MAX_BTF_FILE: u64 = 2 << 30;

/// Largest binary read for its DWARF, and largest split debug file found
/// for it (`--debug-dir`, build-id, `.gnu_debuglink`). Unstripped C++ and
/// Go binaries reach 1–3 GiB; memory-mapped like BTF, so this bounds
/// address space, not memory. The larger of the caps that applied before
/// (4 GiB mapped for `schema`/`analyze`, 2 GiB read for `decode`).
pub const MAX_DWARF_FILE: u64 = 4 << 30;

/// Largest Go source file read (generated files reach a few MB). Read
/// into memory: the parser borrows it.
pub const MAX_GO_FILE: u64 = 64 << 20;

/// Largest YAML layout schema read (one a type is a few KB). Read into
/// memory: the YAML parser needs it whole.
pub const MAX_SCHEMA_FILE: u64 = 64 << 20;

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
