//! Shared by every fuzz target: a scratch directory per process, the real
//! command-line entry points (run exactly as `bpfcase` runs them, stdout
//! sent to /dev/null), and the type stages that follow a reader (layout,
//! schema YAML, layout text and JSON, padding, decoding an entry).
//!
//! Each target includes this with `mod common;`; not every target uses
//! every helper.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bpfcase::cli::{Cli, Command};
use bpfcase::commands;
use bpfcase::ingest::btf::{Btf, BtfKind};
use bpfcase::model::decode::{decode, decode_layout};
use bpfcase::ingest::btf_layout::BtfLayouts;
use bpfcase::model::layout::Layout;
use clap::Parser;

/// Types of one input laid out and decoded at most: enough to reach every
/// stage, few enough that one input stays fast.
pub const MAX_TYPES: usize = 48;

/// Longest entry decoded against a type (the decoder's budget follows the
/// entry's bytes, so this bounds one decode's work).
pub const MAX_ENTRY: usize = 4096;

/// This process's scratch directory (one per fuzzing process, so parallel
/// jobs do not share files), created once; stdout goes to /dev/null from
/// then on, so the commands' reports do not flood libFuzzer's output.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("bpfcase-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        // SAFETY: plain fd calls on a file we just opened; fd 1 is ours.
        unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            if null >= 0 {
                libc::dup2(null, 1);
                libc::close(null);
            }
        }
        d
    })
}

/// Writes `bytes` to `name` in the scratch directory and returns its path.
pub fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    std::fs::write(&p, bytes).expect("write scratch file");
    p
}

/// A file of the repository's `corpora/`.
pub fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpora")
        .join(rel)
}

/// Runs `bpfcase ARGS` in-process, as `cli::main` does, ignoring the
/// outcome: errors are fine, panics, aborts, hangs and blow-ups are not.
pub fn run(args: &[&str]) {
    let _ = scratch();
    let cli = match Cli::try_parse_from(std::iter::once("bpfcase").chain(args.iter().copied())) {
        Ok(c) => c,
        Err(e) => panic!("fuzz target built bad arguments {args:?}: {e}"),
    };
    let _ = match cli.command {
        Command::Analyze(a) => commands::analyze::run(&a),
        Command::Layout(a) => commands::layout::run(&a),
        Command::Schema(a) => commands::schema::run(&a),
        Command::Decode(a) => commands::decode::run(&a),
        Command::Diff(a) => commands::diff::run(&a),
        Command::Fleet(a) => commands::fleet::run(&a),
        // Live-node and generator commands read no input file.
        Command::Collect(_) | Command::Watch(_) | Command::Completions(_) | Command::Man(_) => {
            unreachable!("only commands that read files are fuzzed")
        }
    };
    let _ = std::io::stdout().flush();
}

/// An `analyze` report format chosen by one input byte, so every renderer
/// is reached.
pub fn format(selector: u8) -> &'static str {
    ["json", "text", "md", "html", "openmetrics"][usize::from(selector % 5)]
}

/// `len` bytes (at most [`MAX_ENTRY`]) made by repeating `seed`.
pub fn entry_bytes(seed: &[u8], len: u64) -> Vec<u8> {
    let len = usize::try_from(len).unwrap_or(MAX_ENTRY).min(MAX_ENTRY);
    if seed.is_empty() {
        return vec![0; len];
    }
    seed.iter().copied().cycle().take(len).collect()
}

/// What follows a layout in the commands: schema YAML, layout text and
/// JSON, padding bits, and decoding an entry of the type's size and one of
/// the seed's own length.
pub fn exercise_layout(name: &str, l: &Layout, seed: &[u8]) {
    let _ = bpfcase::ingest::schema::to_yaml(l);
    let mut sink = Vec::new();
    let _ = bpfcase::report::layout::write_text_one(&mut sink, name, l);
    sink.clear();
    let _ = bpfcase::report::layout::write_json_item(&mut sink, name, l);
    let _ = l.uncovered_bits();
    let _ = decode_layout(l, &entry_bytes(seed, l.size));
    let _ = decode_layout(l, &seed[..seed.len().min(MAX_ENTRY)]);
}

/// Every stage the commands run on BTF: map definitions, then for the
/// first [`MAX_TYPES`] structs, unions and typedefs their layout (and all
/// of [`exercise_layout`]), field type, C name, size and a decode.
pub fn exercise_btf(btf: &Btf<'_>, seed: &[u8]) {
    let _ = bpfcase::ingest::elf::btf_map_defs(btf);
    let mut engine = BtfLayouts::new(btf);
    let ids: Vec<_> = btf
        .all_types()
        .filter(|t| {
            matches!(
                t.kind,
                BtfKind::Struct | BtfKind::Union | BtfKind::Typedef | BtfKind::Array
            )
        })
        .map(|t| (t.id, t.name.to_string()))
        .take(MAX_TYPES)
        .collect();
    for (id, name) in ids {
        let _ = engine.c_type_name(id);
        let _ = engine.size_of(id);
        if let Ok(l) = engine.layout(id) {
            exercise_layout(&name, &l, seed);
        }
        if let Ok(ft) = engine.field_type(id) {
            let _ = decode(&ft, &name, &entry_bytes(seed, ft.size()));
        }
    }
}

/// The first struct or union names of `btf` (for the commands' `--type`).
pub fn aggregate_names(btf: &Btf<'_>, n: usize) -> Vec<String> {
    btf.all_types()
        .filter(|t| matches!(t.kind, BtfKind::Struct | BtfKind::Union) && !t.name.is_empty())
        .map(|t| t.name.to_string())
        .filter(|s| !s.starts_with('-') && s.chars().all(|c| !c.is_control()))
        .take(n)
        .collect()
}

/// Runs `layout`, `schema --btf` and `decode` (a bpftool JSON dump of one
/// entry built from `seed`) on the BTF file `path`, the way a user would.
pub fn btf_commands(path: &Path, btf: &Btf<'_>, seed: &[u8]) {
    let p = path.to_str().expect("utf-8 scratch path");
    let names = aggregate_names(btf, 2);
    let Some(first) = names.first() else {
        return;
    };
    let second = names.get(1).unwrap_or(first);
    run(&["layout", p, first]);
    run(&["schema", "--btf", p, "--type", first]);
    let hex = |b: &[u8]| {
        b.iter()
            .map(|x| format!("\"0x{x:02x}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let key = &seed[..seed.len().min(8)];
    let value = &seed[..seed.len().min(256)];
    let dump = write(
        "btf-dump.json",
        format!("[{{\"key\":[{}],\"value\":[{}]}}]", hex(key), hex(value)).as_bytes(),
    );
    let d = dump.to_str().expect("utf-8 scratch path");
    let k = format!("struct {first}");
    let v = format!("struct {second}");
    run(&[
        "decode",
        "--dump",
        d,
        "--btf",
        p,
        "--key-type",
        &k,
        "--value-type",
        &v,
        "--format",
        "json",
    ]);
}

/// A real bundle of `corpora/cases/CASE/TAR` unpacked once into the
/// scratch directory under `dir`, without `btf/vmlinux.btf` (5 MB that
/// every run would hash; the manifest then reports it absent).
pub fn unpacked(tar: &str, dir: &str) -> PathBuf {
    let d = scratch().join(dir);
    if !d.join("manifest.json").exists() {
        std::fs::create_dir_all(&d).expect("bundle dir");
        let st = std::process::Command::new("tar")
            .arg("-xf")
            .arg(corpus(tar))
            .arg("-C")
            .arg(&d)
            .status()
            .expect("tar runs");
        assert!(st.success(), "unpacking {tar}");
        let _ = std::fs::remove_file(d.join("btf/vmlinux.btf"));
    }
    d
}

/// `analyze INPUTS.. ARGS.. --format F -o REPORT --fail-on never`.
pub fn analyze(inputs: &[&Path], args: &[&str], selector: u8) {
    let out = scratch().join("report");
    let mut all: Vec<&str> = vec!["analyze"];
    all.extend(inputs.iter().map(|p| p.to_str().expect("utf-8 path")));
    all.extend_from_slice(args);
    all.extend_from_slice(&[
        "--format",
        format(selector),
        "-o",
        out.to_str().expect("utf-8 path"),
        "--fail-on",
        "never",
    ]);
    run(&all);
}

/// `analyze` of a dump as map `flows` of `corpora/bpf/flows.bpf.o`
/// (entries decoded against its types, padding and duplicates checked),
/// and `diff` of the dump against a real dump of that map.
pub fn dump_commands(path: &Path, data: &[u8]) {
    let obj = corpus("bpf/flows.bpf.o");
    let tie = format!("flows={}", path.display());
    analyze(
        &[&obj],
        &["--dump", &tie],
        data.first().copied().unwrap_or(0),
    );
    let old = corpus("dumps/flows/flows.json");
    run(&[
        "diff",
        old.to_str().unwrap(),
        path.to_str().unwrap(),
        "--btf",
        obj.to_str().unwrap(),
        "--map",
        "flows",
    ]);
}

/// `analyze` of a trace: a JSONL trace as the lookups case's own trace
/// member (replayed against its maps and dumps), an strace log next to the
/// bundle of the same moment.
pub fn trace_commands(path: &Path, data: &[u8]) {
    let sel = data.first().copied().unwrap_or(0);
    if path.extension().is_some_and(|e| e == "strace") {
        let b = unpacked("cases/lookups/strace-case.tar", "strace-case");
        analyze(&[&b, path], &[], sel);
    } else {
        let b = unpacked("cases/lookups/case.tar", "trace-case");
        std::fs::write(b.join("trace/bpf-calls.jsonl"), data).expect("write trace member");
        analyze(&[&b], &[], sel);
    }
}
