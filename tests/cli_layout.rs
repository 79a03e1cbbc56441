//! `bpfcase layout` end to end: the documented JSON shape on corpus objects,
//! pahole-like text, and errors that name the file and the byte offset.

mod support;

use support::{bpfcase, corpus};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bpfcase().args(args).output().expect("run bpfcase");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn json_layout_of_flow_key_has_documented_shape() {
    let obj = corpus("bpf/flows.bpf.o");
    let (code, out, err) = run(&[
        "layout",
        obj.to_str().unwrap(),
        "flow_key",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "stderr: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    insta::assert_json_snapshot!("layout_flow_key_json", v);
    let t = &v[0];
    assert_eq!(t["name"], "flow_key");
    assert_eq!(t["kind"], "struct");
    assert_eq!(t["size"], 16);
    assert_eq!(t["holes"], serde_json::json!([{"offset": 6, "size": 2}]));
    assert_eq!(t["padding"], 3);
}

#[test]
fn text_layout_of_layouts_object_matches_snapshot() {
    let obj = corpus("bpf/layouts.bpf.o");
    let (code, out, err) = run(&["layout", obj.to_str().unwrap()]);
    assert_eq!(code, 0, "stderr: {err}");
    insta::assert_snapshot!("layout_layouts_text", out);
}

#[test]
fn every_named_struct_is_listed_without_type_arguments() {
    let obj = corpus("bpf/stats.bpf.o");
    let (_, out, _) = run(&["layout", obj.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"cpu_stat") && names.contains(&"proc_key"),
        "{names:?}"
    );
}

#[test]
fn truncated_btf_is_reported_with_file_and_offset() {
    let data = std::fs::read(corpus("vmlinux/vmlinux.btf")).unwrap();
    let dir = std::env::temp_dir().join(format!("bpfcase-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("vmlinux.cut.btf");
    std::fs::write(&cut, &data[..4096]).unwrap();
    let (code, out, err) = run(&["layout", cut.to_str().unwrap()]);
    assert_eq!(code, 2, "stdout: {out}");
    assert!(
        err.contains("vmlinux.cut.btf"),
        "error names the file: {err}"
    );
    assert!(
        err.contains("at byte offset 8"),
        "error names the offset: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_type_record_in_elf_btf_is_placed_in_the_file() {
    // Overwrite the kind of the first type in flows.bpf.o's .BTF section.
    let path = corpus("bpf/flows.bpf.o");
    let mut data = std::fs::read(&path).unwrap();
    let pos = data
        .windows(4)
        .position(|w| w == [0x9f, 0xeb, 1, 0])
        .expect(".BTF magic");
    let hdr_len = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
    let type_off = u32::from_le_bytes(data[pos + 8..pos + 12].try_into().unwrap()) as usize;
    let first = pos + hdr_len + type_off;
    data[first + 7] = 0x1f; // kind 31
    let dir = std::env::temp_dir().join(format!("bpfcase-test-elf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.bpf.o");
    std::fs::write(&bad, &data).unwrap();
    let (code, _, err) = run(&["layout", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.bpf.o"), "{err}");
    assert!(
        err.contains(&format!("at byte offset {first}")),
        "expected offset {first}: {err}"
    );
    assert!(err.contains("unknown kind 31"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_type_name_is_a_clear_error() {
    let obj = corpus("bpf/flows.bpf.o");
    let (code, _, err) = run(&["layout", obj.to_str().unwrap(), "no_such_struct"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no_such_struct") && err.contains("flows.bpf.o"),
        "{err}"
    );
}

#[test]
fn split_btf_is_laid_out_over_its_base() {
    // A module-style split BTF blob whose struct embeds vmlinux types: ids
    // continue after the base's last id, strings after the base's strings.
    use bpfcase::ingest::btf::{Btf, BtfKind};
    let base_path = corpus("vmlinux/vmlinux.btf");
    let base_data = std::fs::read(&base_path).unwrap();
    let base = Btf::parse(&base_data).unwrap();
    let id_of = |name: &str, kind: BtfKind| {
        base.local_types()
            .find(|t| t.name == name && t.kind == kind)
            .unwrap()
            .id
            .0
    };
    let list_head = id_of("list_head", BtfKind::Struct);
    let int = id_of("int", BtfKind::Int);
    let base_str_len = base.header().str_len;
    let strings = b"\0split_demo\0node\0count\0";
    let s = |local: u32| base_str_len + local;
    let first_id = base.type_count();
    #[rustfmt::skip]
    let words: Vec<u32> = vec![
        // [first_id] STRUCT "split_demo" size 24, 2 members
        s(1), (4 << 24) | 2, 24,
        s(12), list_head, 0,   // struct list_head node; at bit 0
        s(17), int, 128,       // int count; at bit 128 (byte 16)
    ];
    let mut blob = Vec::new();
    blob.extend_from_slice(&0xeb9fu16.to_le_bytes());
    blob.extend_from_slice(&[1, 0]);
    for w in [
        24u32,
        0,
        (words.len() * 4) as u32,
        (words.len() * 4) as u32,
        strings.len() as u32,
    ] {
        blob.extend_from_slice(&w.to_le_bytes());
    }
    for w in &words {
        blob.extend_from_slice(&w.to_le_bytes());
    }
    blob.extend_from_slice(strings);
    let dir = std::env::temp_dir().join(format!("bpfcase-split-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let module = dir.join("demo_module.btf");
    std::fs::write(&module, &blob).unwrap();
    let (code, out, err) = run(&[
        "layout",
        module.to_str().unwrap(),
        "--base",
        base_path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v.as_array().unwrap().len(),
        1,
        "only the module's own types: {v}"
    );
    assert_eq!(v[0]["name"], "split_demo");
    assert_eq!(v[0]["members"][0]["type"], "struct list_head");
    assert_eq!(v[0]["members"][0]["size"], 16);
    assert_eq!(v[0]["members"][1]["offset"], 16);
    assert_eq!(v[0]["padding"], 4);
    assert_eq!(first_id, base.type_count());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression: real split BTF (pahole over the corpus vmlinux, see
/// corpora/vmlinux/README.md) read without --base used to fail with "string
/// section does not start and end with a NUL byte"; it must say it is split
/// BTF, name the file and suggest --base.
#[test]
fn split_btf_without_base_suggests_base() {
    let module = corpus("vmlinux/demo_module.btf");
    let (code, _, err) = run(&["layout", module.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("demo_module.btf"), "{err}");
    assert!(err.contains("split BTF"), "{err}");
    assert!(err.contains("--base /sys/kernel/btf/vmlinux"), "{err}");
    assert!(!err.contains("NUL byte"), "{err}");
    // To a pipe the message is not wrapped, whatever the length of the
    // checkout's path (CI's differs from a laptop's): one line says it all.
    let line = err.lines().find(|l| l.contains("split BTF")).unwrap_or("");
    assert!(
        line.contains("demo_module.btf at byte offset") && line.contains("--base /sys/kernel"),
        "{err}"
    );
    // With COLUMNS set it wraps there, between words.
    let out = bpfcase()
        .args(["layout", module.to_str().unwrap()])
        .env("COLUMNS", "60")
        .output()
        .unwrap();
    let narrow = String::from_utf8_lossy(&out.stderr);
    assert!(narrow.lines().count() > err.lines().count(), "{narrow}");
    let base = corpus("vmlinux/vmlinux.btf");
    let (code, out, err) = run(&[
        "layout",
        module.to_str().unwrap(),
        "--base",
        base.to_str().unwrap(),
        "split_demo",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("struct split_demo {"), "{out}");
    assert!(out.contains("struct list_head"), "{out}");
}

/// The conventions every command shares (issue 13): `-` for stdin, `-o -`,
/// the format from `-o`'s extension, one format name, `-q`, `--color`,
/// completions and man pages, `--version`, `--help`, one error style,
/// binary input never echoed raw, plurals.
mod conventions {
    use super::support::{bpfcase, corpus};
    use std::io::Write;
    use std::process::{Command, Output, Stdio};

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    /// Runs bpfcase from the crate root (so corpus paths are relative and
    /// reports do not depend on where the tree is), with `stdin` piped in.
    fn run_in(dir: &str, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
        let mut cmd: Command = bpfcase();
        cmd.current_dir(dir)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run bpfcase");
        let mut pipe = child.stdin.take().unwrap();
        // A command that does not read stdin may close it early.
        let _ = pipe.write_all(stdin);
        drop(pipe);
        child.wait_with_output().unwrap()
    }

    fn run(args: &[&str]) -> Output {
        run_in(ROOT, args, &[], b"")
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("bpfcase-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const DECODE: &[&str] = &[
        "decode",
        "--btf",
        "corpora/bpf/flows.bpf.o",
        "--map",
        "flows",
        "--fail-on",
        "never",
        "--dump",
    ];

    #[test]
    fn dash_reads_standard_input() {
        let dump = std::fs::read(corpus("dumps/flows/flows.json")).unwrap();
        let by_path = run(&[DECODE, &["corpora/dumps/flows/flows.json"]].concat());
        let by_stdin = run_in(ROOT, &[DECODE, &["-"]].concat(), &[], &dump);
        assert_eq!(
            by_stdin.status.code(),
            Some(0),
            "{}",
            text(&by_stdin.stderr)
        );
        assert!(!by_path.stdout.is_empty());
        assert_eq!(text(&by_stdin.stdout), text(&by_path.stdout));
        // analyze: a dump tied to its map from stdin, and layout: BTF from stdin.
        let tied = run_in(
            ROOT,
            &[
                "analyze",
                "corpora/bpf/flows.bpf.o",
                "--dump",
                "flows=-",
                "--format",
                "json",
            ],
            &[],
            &dump,
        );
        let v: serde_json::Value = serde_json::from_slice(&tied.stdout).unwrap();
        assert_eq!(v["dumps"][0]["file"], "-");
        assert_eq!(v["dumps"][0]["status"], "checked");
        let btf = std::fs::read(corpus("bpf/flows.bpf.o")).unwrap();
        let layout = run_in(ROOT, &["layout", "-", "flow_key"], &[], &btf);
        assert!(
            text(&layout.stdout).contains("struct flow_key {"),
            "{}",
            text(&layout.stderr)
        );
    }

    #[test]
    fn dash_output_is_stdout_and_creates_no_file() {
        let dir = scratch("dash");
        let obj = corpus("bpf/flows.bpf.o");
        let out = run_in(
            dir.to_str().unwrap(),
            &["layout", obj.to_str().unwrap(), "flow_key", "-o", "-"],
            &[],
            b"",
        );
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("struct flow_key {"));
        assert!(!dir.join("-").exists(), "`-o -` created a file named -");
        // Nothing on stderr: the report itself went to stdout.
        assert_eq!(text(&out.stderr), "");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn format_follows_the_output_extension_and_a_summary_goes_to_stderr() {
        let dir = scratch("ext");
        let case = "corpora/cases/lookups/case.tar";
        for (ext, starts) in [
            ("html", "<!DOCTYPE html>"),
            ("md", "# bpfcase report"),
            ("json", "{"),
            ("txt", "bpfcase "),
        ] {
            let path = dir.join(format!("r.{ext}"));
            let out = run(&["analyze", case, "-o", path.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
            let written = std::fs::read_to_string(&path).unwrap();
            assert!(written.starts_with(starts), "{ext}: {}", &written[..60]);
            assert_eq!(
                text(&out.stderr),
                format!(
                    "17 findings (9 errors, 6 warnings, 2 info) → {}\n",
                    path.display()
                )
            );
            // -q: the same report, nothing on stderr.
            let quiet = run(&["analyze", case, "-q", "-o", path.to_str().unwrap()]);
            assert_eq!(quiet.status.code(), Some(1));
            assert_eq!(text(&quiet.stderr), "");
        }
        // --format wins over the extension.
        let path = dir.join("r.html");
        run(&[
            "analyze",
            case,
            "--format",
            "json",
            "-q",
            "-o",
            path.to_str().unwrap(),
        ]);
        assert!(std::fs::read_to_string(&path).unwrap().starts_with('{'));
        // An extension naming a format the command cannot write: exit 2.
        let out = run(&[
            "layout",
            "corpora/bpf/flows.bpf.o",
            "-o",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("cannot write `.html` files"));
        // layout, decode and diff infer JSON too.
        let path = dir.join("l.json");
        run(&[
            "layout",
            "corpora/bpf/flows.bpf.o",
            "flow_key",
            "-o",
            path.to_str().unwrap(),
        ]);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v[0]["name"], "flow_key");
        let out = run(&[
            DECODE,
            &[
                "corpora/dumps/flows/flows.json",
                "-o",
                path.to_str().unwrap(),
            ],
        ]
        .concat());
        // JSON entries go to the file, findings to stderr, then the summary line.
        let err = text(&out.stderr);
        let last = err.lines().last().unwrap_or_default();
        assert_eq!(
            last,
            format!(
                "6 entries decoded, 2 findings (1 error, 1 warning) → {}",
                path.display()
            ),
            "{err}"
        );
        assert!(std::fs::read_to_string(&path).unwrap().starts_with('['));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn one_name_per_format_with_the_old_one_kept_hidden() {
        let case = "corpora/cases/lookups/case.tar";
        let text_out = run(&["analyze", case, "--format", "text"]);
        let human_out = run(&["analyze", case, "--format", "human"]);
        assert_eq!(text_out.stdout, human_out.stdout);
        assert!(!text_out.stdout.is_empty());
        for cmd in ["analyze", "layout", "decode", "diff"] {
            let help = text(&run(&[cmd, "--help"]).stdout);
            assert!(help.contains("text"), "{cmd}: {help}");
            assert!(!help.contains("human"), "{cmd} still shows `human`: {help}");
            for flag in ["--output <FILE>", "--quiet", "--color <WHEN>"] {
                assert!(help.contains(flag), "{cmd} has no {flag}");
            }
        }
        let help = text(&run(&["schema", "--help"]).stdout);
        assert!(help.contains("--output <FILE>") && help.contains("--quiet"));
    }

    #[test]
    fn completions_and_man_pages_come_from_the_cli_definition() {
        let bash = run(&["completions", "bash"]);
        assert_eq!(bash.status.code(), Some(0));
        let script = text(&bash.stdout);
        assert!(
            script.contains("_bpfcase()") && script.contains("--fail-on"),
            "{script}"
        );
        for shell in ["zsh", "fish"] {
            let out = run(&["completions", shell]);
            assert!(text(&out.stdout).contains("analyze"), "{shell}");
        }
        let man = text(&run(&["man"]).stdout);
        assert!(
            man.starts_with(".ie") || man.contains(".TH bpfcase 1"),
            "{man}"
        );
        assert!(man.contains("analyze"));
        let dir = scratch("man");
        let out = run(&["man", "--dir", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        for page in [
            "bpfcase.1",
            "bpfcase-analyze.1",
            "bpfcase-decode.1",
            "bpfcase-collect.1",
        ] {
            let body = std::fs::read_to_string(dir.join(page)).unwrap();
            assert!(body.contains(".TH"), "{page}");
        }
        let analyze = std::fs::read_to_string(dir.join("bpfcase-analyze.1")).unwrap();
        assert!(analyze.contains("fail\\-on"), "{analyze}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn version_names_the_git_revision() {
        let version = text(&run(&["--version"]).stdout);
        let rev = Command::new("git")
            .args(["-C", ROOT, "rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| text(&o.stdout).trim().to_string());
        match rev {
            Some(rev) => assert_eq!(
                version,
                format!("bpfcase {} (rev {rev})\n", env!("CARGO_PKG_VERSION"))
            ),
            // Built from a tarball: the bare version.
            None => assert_eq!(version, format!("bpfcase {}\n", env!("CARGO_PKG_VERSION"))),
        }
    }

    #[test]
    fn help_has_examples_and_exit_codes_and_schema_names_dwarf() {
        let help = text(&run(&["--help"]).stdout);
        assert!(
            help.contains("Examples:") && help.contains("Exit codes:"),
            "{help}"
        );
        assert!(help.contains("2  the command could not run"));
        for cmd in ["analyze", "layout", "schema", "decode", "diff", "collect"] {
            let h = text(&run(&[cmd, "--help"]).stdout);
            assert!(
                h.contains("Examples:") && h.contains("Exit codes:"),
                "{cmd}: {h}"
            );
        }
        let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("from Go source, BTF, or a binary's DWARF"),
            "{help}"
        );
    }

    #[test]
    fn every_command_reports_errors_one_way() {
        let cases: [&[&str]; 7] = [
            &["analyze", "no/such/case.tar"],
            &["layout", "no/such.o"],
            &["schema", "--btf", "no/such.o", "--type", "x"],
            &[
                "decode",
                "--dump",
                "no/such.json",
                "--btf",
                "corpora/bpf/flows.bpf.o",
                "--map",
                "flows",
            ],
            &["diff", "no/such.json", "other.json"],
            &["analyze", "--frobnicate"],
            &["diff", "corpora/dumps/flows/flows.json"],
        ];
        for args in cases {
            let out = run(args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            let first = err.lines().next().unwrap_or_default();
            assert!(
                first.starts_with("bpfcase::") && err.contains("\n  × "),
                "{args:?} has another error style:\n{err}"
            );
        }
        let usage = text(&run(&["analyze", "--frobnicate"]).stderr);
        assert!(usage.starts_with("bpfcase::usage"), "{usage}");
        assert!(usage.contains("--frobnicate"), "{usage}");
    }

    #[test]
    fn decode_never_echoes_binary_input_raw() {
        let dir = scratch("junk");
        let junk = dir.join("junk.bin");
        std::fs::write(&junk, b"\x1b[31mRED\x07\x08 key: \x00\xff\n").unwrap();
        let out = run(&[
            "decode",
            "--dump",
            junk.to_str().unwrap(),
            "--btf",
            "corpora/bpf/flows.bpf.o",
            "--map",
            "flows",
        ]);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(
            !out.stderr
                .iter()
                .any(|&b| b == 0x1b || b == 0x07 || b == 0x08 || b == 0),
            "{err:?}"
        );
        assert!(err.contains("\\x1b[31mRED\\x07\\x08"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn counts_are_in_the_right_number() {
        let out = run_in(
            ROOT,
            &["analyze", "corpora/cases/lookups/case.tar", "--verbose"],
            &[("COLUMNS", "400")],
            b"",
        );
        let out = text(&out.stdout);
        assert!(out.contains(", 1 entry dumped"), "{out}");
        assert!(
            out.contains("1 entry, checked as map conns (id 34521)"),
            "{out}"
        );
        assert!(out.contains(", 8 entries dumped"));
        for wrong in ["1 entries", "1 maps", "1 calls", "error(s)"] {
            assert!(!out.contains(wrong), "{wrong}");
        }
    }
}

/// Issue 23: the convention table (`bpfcase::cli::conventions`) applied by
/// every command. Each test walks the clap command tree, so a subcommand
/// added later is held to the same rules (and fails here until its row of
/// the table and its fixtures below exist).
mod convention_table {
    use super::support::{bpfcase, require_bpf, require_tool};
    use bpfcase::cli::conventions::{self, Convention};
    use std::io::Write;
    use std::path::PathBuf;
    use std::process::{Command, Output, Stdio};

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");
    const OBJ: &str = "corpora/bpf/flows.bpf.o";
    const DUMP: &str = "corpora/dumps/flows/flows.json";
    const CHANGED: &str = "corpora/dumps/derived/flows.changed.json";

    fn run_with(args: &[String], env: &[(&str, &str)], stdin: &[u8]) -> Output {
        let mut cmd: Command = bpfcase();
        cmd.current_dir(ROOT)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run bpfcase");
        let mut pipe = child.stdin.take().unwrap();
        // A command may stop reading early (or never start).
        let _ = pipe.write_all(stdin);
        drop(pipe);
        child.wait_with_output().unwrap()
    }

    fn run(args: &[&str]) -> Output {
        run_with(&strings(args), &[], b"")
    }

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    fn read(rel: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(ROOT).join(rel)).unwrap()
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bpfcase-conv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Every subcommand of the real command line (clap's own `help` aside).
    fn subcommands() -> Vec<clap::Command> {
        bpfcase::cli::command()
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .cloned()
            .collect()
    }

    fn row(name: &str) -> &'static Convention {
        conventions::of(name).unwrap_or_else(|| panic!("no row for `{name}` in the table"))
    }

    /// A schema holding the corpus map's key and value types, as `bpfcase
    /// schema` writes them.
    fn flows_schema() -> Vec<u8> {
        let mut doc = String::from("types:\n");
        for t in ["flow_key", "flow_value"] {
            let out = run(&["schema", "--btf", OBJ, "--type", t]);
            for (i, line) in text(&out.stdout).lines().enumerate() {
                doc.push_str(if i == 0 { "  - " } else { "    " });
                doc.push_str(line);
                doc.push('\n');
            }
        }
        doc.into_bytes()
    }

    /// For an input `-` may stand for: a command line with `-` there, and
    /// what goes on standard input.
    fn dash_fixture(cmd: &str, arg: &str) -> Option<(Vec<&'static str>, Vec<u8>)> {
        let decode = |source: &[&'static str]| {
            [
                &["decode", "--dump", DUMP, "--fail-on", "never"][..],
                source,
            ]
            .concat()
        };
        let kv = ["--key-type", "flow_key", "--value-type", "flow_value"];
        Some(match (cmd, arg) {
            ("analyze", "inputs") => (
                vec!["analyze", "-", "--fail-on", "never"],
                read("corpora/cases/lookups/case.tar"),
            ),
            ("analyze", "dumps") => (
                vec!["analyze", OBJ, "--dump", "flows=-", "--fail-on", "never"],
                read(DUMP),
            ),
            ("layout", "file") => (vec!["layout", "-", "flow_key"], read(OBJ)),
            ("layout", "base") => (
                vec!["layout", "corpora/vmlinux/demo_module.btf", "--base", "-"],
                read("corpora/vmlinux/vmlinux.btf"),
            ),
            ("schema", "btf") => (
                vec!["schema", "--btf", "-", "--type", "flow_key"],
                read(OBJ),
            ),
            ("schema", "dwarf") => (
                vec!["schema", "--dwarf", "-", "--type", "flow_key"],
                read("corpora/c/layouts.x86_64"),
            ),
            ("schema", "base") => (
                vec![
                    "schema",
                    "--btf",
                    "corpora/vmlinux/demo_module.btf",
                    "--base",
                    "-",
                    "--type",
                    "split_demo",
                ],
                read("corpora/vmlinux/vmlinux.btf"),
            ),
            ("decode", "dump") => (
                vec!["decode", "--dump", "-", "--btf", OBJ, "--map", "flows"],
                read(DUMP),
            ),
            ("decode", "btf") => (decode(&["--btf", "-", "--map", "flows"]), read(OBJ)),
            ("decode", "dwarf") => (
                decode(&[&["--dwarf", "-"][..], &kv].concat()),
                read("corpora/c/layouts.x86_64"),
            ),
            ("decode", "schema") => (
                decode(&[&["--schema", "-"][..], &kv].concat()),
                flows_schema(),
            ),
            ("decode", "show") => (
                decode(&["--btf", OBJ, "--map", "flows", "--show", "-"]),
                read("corpora/dumps/flows/flows.show.json"),
            ),
            ("diff", "old") => (vec!["diff", "-", DUMP], read(CHANGED)),
            ("diff", "new") => (vec!["diff", CHANGED, "-"], read(DUMP)),
            ("diff", "btf") => (
                vec!["diff", CHANGED, DUMP, "--btf", "-", "--map", "flows"],
                read(OBJ),
            ),
            _ => return None,
        })
    }

    /// For an input `-` may not stand for: a command line with `-` there.
    fn dash_refused(cmd: &str, arg: &str) -> Option<Vec<&'static str>> {
        Some(match (cmd, arg) {
            ("analyze", "debug_dir") => vec!["analyze", OBJ, "--debug-dir", "-"],
            ("schema", "go_src") => vec!["schema", "--go-src", "-", "--type", "FlowKey"],
            ("schema", "debug_dir") => vec![
                "schema",
                "--dwarf",
                "corpora/c/layouts.x86_64",
                "--debug-dir",
                "-",
                "--type",
                "flow_key",
            ],
            ("collect", "pinned") => vec!["collect", "--pinned", "-"],
            ("collect", "elfs") => vec!["collect", "--elf", "-"],
            ("watch", "pinned") => vec!["watch", "--out", "/nonexistent/w", "--pinned", "-"],
            ("watch", "bpffs") => vec!["watch", "--out", "/nonexistent/w", "--bpffs", "-"],
            ("fleet", "inputs") => vec!["fleet", "-"],
            _ => return None,
        })
    }

    /// A command line that writes what `-o` (or `--metrics`) names, and
    /// whether it needs BPF privileges.
    fn writer(cmd: &str, dir: &std::path::Path) -> Option<(Vec<String>, bool)> {
        let v = |a: &[&str]| strings(a);
        Some(match cmd {
            "analyze" => (
                v(&[
                    "analyze",
                    "corpora/cases/lookups/case.tar",
                    "--fail-on",
                    "never",
                ]),
                false,
            ),
            "layout" => (v(&["layout", OBJ, "flow_key"]), false),
            "schema" => (v(&["schema", "--btf", OBJ, "--type", "flow_key"]), false),
            "decode" => (
                v(&[
                    "decode",
                    "--dump",
                    DUMP,
                    "--btf",
                    OBJ,
                    "--map",
                    "flows",
                    "--fail-on",
                    "never",
                ]),
                false,
            ),
            "diff" => (v(&["diff", CHANGED, DUMP]), false),
            "fleet" => (
                v(&["fleet", "corpora/fleet/bundles", "--fail-on", "never"]),
                false,
            ),
            "collect" => (
                v(&[
                    "collect",
                    "--no-bpftool",
                    "--no-kernel-btf",
                    "--map",
                    "bpfcase_conv_none",
                ]),
                true,
            ),
            "watch" => {
                let out = dir.join("watch");
                (
                    [
                        v(&["watch", "--out"]),
                        vec![out.display().to_string()],
                        v(&["--cycles", "1", "--interval", "0ms", "--min-free", "1M"]),
                        v(&["--map", "bpfcase_conv_none"]),
                    ]
                    .concat(),
                    true,
                )
            }
            _ => return None,
        })
    }

    /// What a file of format `name` looks like.
    fn looks_like(name: &str, bytes: &[u8]) -> bool {
        let s = text(bytes);
        match name {
            "json" => serde_json::from_slice::<serde_json::Value>(bytes).is_ok(),
            "md" => s.starts_with('#'),
            "html" => s.starts_with("<!DOCTYPE html>"),
            "openmetrics" => s.contains("# TYPE "),
            "yaml" => {
                serde_yaml::from_slice::<serde_yaml::Value>(bytes).is_ok() && !s.starts_with('{')
            }
            "bundle" => bytes.get(257..262) == Some(b"ustar".as_slice()),
            "text" => {
                !s.is_empty()
                    && serde_json::from_slice::<serde_json::Value>(bytes).is_err()
                    && !s.starts_with('<')
                    && !s.starts_with('#')
            }
            other => panic!("no check for format {other}"),
        }
    }

    #[test]
    fn every_subcommand_has_a_row_naming_its_real_arguments() {
        let subs = subcommands();
        for sub in &subs {
            let c = row(sub.get_name());
            let ids: Vec<&str> = sub.get_arguments().map(|a| a.get_id().as_str()).collect();
            for id in c
                .inputs
                .iter()
                .map(|i| i.arg)
                .chain(c.output_arg)
                .chain(c.output_dirs.iter().copied())
            {
                assert!(
                    ids.contains(&id),
                    "{}: the table names `{id}`, not an argument",
                    c.command
                );
            }
            // Every path argument is an input, the output or a directory written.
            for a in sub.get_arguments() {
                let id = a.get_id().as_str();
                if a.get_value_parser().type_id() == std::any::TypeId::of::<PathBuf>() {
                    let listed = c.inputs.iter().any(|i| i.arg == id)
                        || c.output_arg == Some(id)
                        || c.output_dirs.contains(&id);
                    assert!(
                        listed,
                        "{}: path argument `{id}` is not in the table",
                        c.command
                    );
                }
            }
            // --format offers exactly what the command writes.
            if let Some(f) = sub.get_arguments().find(|a| a.get_id() == "format") {
                let offered: Vec<String> = f
                    .get_possible_values()
                    .iter()
                    .filter(|p| !p.is_hide_set())
                    .map(|p| p.get_name().to_string())
                    .collect();
                let writes: Vec<String> = c.writes.iter().map(|f| f.name.to_string()).collect();
                assert_eq!(offered, writes, "{}: --format", c.command);
            }
        }
        for c in conventions::TABLE {
            assert!(
                c.command == "bpfcase" || subs.iter().any(|s| s.get_name() == c.command),
                "row `{}` names no subcommand",
                c.command
            );
        }
    }

    #[test]
    fn every_input_takes_dash_where_the_table_says_and_refuses_it_elsewhere() {
        for sub in subcommands() {
            let c = row(sub.get_name());
            for input in c.inputs {
                let what = format!("{} {}", c.command, input.arg);
                match input.stdin {
                    None => {
                        let (args, stdin) =
                            dash_fixture(c.command, input.arg).unwrap_or_else(|| {
                                panic!("{what}: takes `-`, but has no fixture here")
                            });
                        let out = run_with(&strings(&args), &[], &stdin);
                        let err = text(&out.stderr);
                        assert!(
                            matches!(out.status.code(), Some(0) | Some(1)),
                            "{what}: {args:?}\n{err}"
                        );
                        assert!(!out.stdout.is_empty(), "{what}: nothing written\n{err}");
                        assert!(!err.contains("bpfcase::"), "{what}: {err}");
                    }
                    Some(why) => {
                        let args = dash_refused(c.command, input.arg).unwrap_or_else(|| {
                            panic!("{what}: refuses `-`, but has no fixture here")
                        });
                        let out = run(&args);
                        let err = text(&out.stderr);
                        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
                        assert!(err.starts_with("bpfcase::usage"), "{what}: {err}");
                        assert!(
                            err.contains("cannot be `-` (standard input)"),
                            "{what}: {err}"
                        );
                        assert!(err.contains(why), "{what}: {err}");
                    }
                }
            }
        }
        // A bundle on stdin is the same case as the bundle by path.
        let case = "corpora/cases/lookups/case.tar";
        let by_path = run(&["analyze", case, "--format", "json"]);
        let by_stdin = run_with(
            &strings(&["analyze", "-", "--format", "json"]),
            &[],
            &read(case),
        );
        let findings = |o: &Output| {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            v["findings"].as_array().unwrap().len()
        };
        assert_eq!(
            by_stdin.status.code(),
            Some(1),
            "{}",
            text(&by_stdin.stderr)
        );
        assert_eq!(findings(&by_stdin), findings(&by_path));
        assert!(findings(&by_path) > 0);
        // Standard input is read once: `-` for two inputs is refused.
        let out = run(&["layout", "-", "--base", "-"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("standard input can be read once"));
    }

    #[test]
    fn every_written_extension_works_and_any_other_exits_2_naming_it() {
        let dir = scratch("ext");
        for sub in subcommands() {
            let c = row(sub.get_name());
            let Some(out_arg) = c.output_arg else {
                continue;
            };
            let flag = match out_arg {
                "output" => "-o".to_string(),
                id => format!("--{}", id.replace('_', "-")),
            };
            let (args, needs_bpf) = writer(c.command, &dir)
                .unwrap_or_else(|| panic!("{}: no writer fixture", c.command));
            // Refused before anything runs, so no privilege is needed.
            let bad = dir.join(format!("{}.pdf", c.command));
            let o = run_with(
                &[args.clone(), vec![flag.clone(), bad.display().to_string()]].concat(),
                &[],
                b"",
            );
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{}: {err}", c.command);
            assert!(
                err.contains("cannot write `.pdf` files"),
                "{}: {err}",
                c.command
            );
            assert!(err.contains(&c.writes_list()), "{}: {err}", c.command);
            assert!(err.contains("help:"), "{}: {err}", c.command);
            assert!(!bad.exists(), "{}: wrote {}", c.command, bad.display());
            if needs_bpf && !require_bpf(&format!("every_written_extension_works ({})", c.command))
            {
                continue;
            }
            for f in c.writes {
                for ext in f.extensions {
                    let path = dir.join(format!("{}-out.{ext}", c.command));
                    let o = run_with(
                        &[args.clone(), vec![flag.clone(), path.display().to_string()]].concat(),
                        &[],
                        b"",
                    );
                    let err = text(&o.stderr);
                    assert!(
                        matches!(o.status.code(), Some(0) | Some(1)),
                        "{} .{ext}: {err}",
                        c.command
                    );
                    let bytes = std::fs::read(&path)
                        .unwrap_or_else(|e| panic!("{} .{ext}: {e}: {err}", c.command));
                    assert!(
                        looks_like(f.name, &bytes),
                        "{} .{ext} is not {}",
                        c.command,
                        f.name
                    );
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_help_has_its_examples_and_exit_codes_within_80_columns() {
        let mut pages: Vec<(String, Vec<String>)> = vec![("bpfcase".into(), strings(&["--help"]))];
        for sub in subcommands() {
            pages.push((
                sub.get_name().to_string(),
                strings(&[sub.get_name(), "--help"]),
            ));
        }
        for (name, args) in pages {
            let c = row(&name);
            let o = run_with(&args, &[("COLUMNS", "80")], b"");
            let help = text(&o.stdout);
            assert_eq!(o.status.code(), Some(0), "{name}");
            let lines: Vec<&str> = help.lines().collect();
            for l in &lines {
                assert!(l.chars().count() <= 80, "{name}: over 80 columns: {l:?}");
            }
            assert!(
                lines.contains(&"Examples:") && lines.contains(&"Exit codes:"),
                "{name}"
            );
            for e in c.examples {
                assert!(
                    lines.contains(&format!("  {e}").as_str()),
                    "{name}: example {e:?} not verbatim\n{help}"
                );
            }
            for (code, what) in c.exit_codes {
                assert!(
                    lines.contains(&format!("  {code}  {what}").as_str()),
                    "{name}: exit {code}\n{help}"
                );
            }
            if let Some(out_arg) = c.output_arg {
                let flat: String = help.split_whitespace().collect::<Vec<_>>().join(" ");
                let said = format!("It writes {}", c.writes_list());
                assert!(
                    flat.contains(&said),
                    "{name}: --{out_arg} does not say {said:?}"
                );
            }
        }
        // Wider terminals get wider help, up to 100 columns.
        let wide =
            text(&run_with(&strings(&["analyze", "--help"]), &[("COLUMNS", "200")], b"").stdout);
        let longest = wide.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!((81..=100).contains(&longest), "{longest}");
    }

    /// The text roff prints for a line written by `roff_verbatim`.
    fn unroff(line: &str) -> String {
        line.strip_prefix("\\&")
            .unwrap_or(line)
            .replace("\\-", "-")
            .replace("\\(aq", "'")
            .replace("\\(ga", "`")
            .replace("\\(ti", "~")
            .replace("\\(ha", "^")
            .replace("\\e", "\\")
    }

    #[test]
    fn every_man_page_has_the_examples_verbatim_under_examples() {
        let dir = scratch("man");
        let o = run_with(&strings(&["man", "--dir", dir.to_str().unwrap()]), &[], b"");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let mut pages = vec![("bpfcase".to_string(), "bpfcase.1".to_string())];
        for sub in subcommands() {
            pages.push((
                sub.get_name().into(),
                format!("bpfcase-{}.1", sub.get_name()),
            ));
        }
        for (name, file) in pages {
            let c = row(&name);
            let page = std::fs::read_to_string(dir.join(&file)).unwrap();
            assert!(!page.contains(".SH EXTRA"), "{file}");
            let start = page
                .find(".SH EXAMPLES\n.nf\n")
                .unwrap_or_else(|| panic!("{file}: no EXAMPLES section"))
                + ".SH EXAMPLES\n.nf\n".len();
            let end = start + page[start..].find("\n.fi\n").expect(".fi");
            let shown: Vec<String> = page[start..end].lines().map(unroff).collect();
            let want: Vec<String> = c.examples.iter().map(|e| e.to_string()).collect();
            assert_eq!(shown, want, "{file}");
            assert!(page.contains(".SH \"EXIT STATUS\""), "{file}");
            // As man shows it: each example on a line of its own, unchanged.
            if require_tool("groff", "every_man_page_has_the_examples_verbatim") {
                let shown = Command::new("groff")
                    .args(["-man", "-Tutf8", "-P-cbou", "-rLL=200n"])
                    .arg(dir.join(&file))
                    .output()
                    .unwrap();
                let shown = text(&shown.stdout);
                let lines: Vec<&str> = shown.lines().map(str::trim).collect();
                for e in c.examples {
                    assert!(lines.contains(e), "{file}: {e:?} not as typed:\n{shown}");
                }
            }
        }
        // `bpfcase man` alone prints the top page.
        let top = text(&run(&["man"]).stdout);
        assert!(top.contains(".SH EXAMPLES"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_value_list_is_completed_in_bash() {
        let script = text(&run(&["completions", "bash"]).stdout);
        let mut checked = 0;
        for sub in subcommands() {
            let name = sub.get_name();
            let head = format!("        bpfcase__subcmd__{name})\n");
            let start = script
                .find(&head)
                .unwrap_or_else(|| panic!("{name}: no block"));
            let rest = &script[start + head.len()..];
            let block = &rest[..rest.find("\n        bpfcase__").unwrap_or(rest.len())];
            for a in sub.get_arguments() {
                let values: Vec<String> = a
                    .get_possible_values()
                    .iter()
                    .filter(|p| !p.is_hide_set())
                    .map(|p| p.get_name().to_string())
                    .collect();
                if values.is_empty() || !a.get_action().takes_values() {
                    continue;
                }
                let list = values.join(" ");
                match a.get_long() {
                    Some(long) => {
                        let at = block
                            .find(&format!("--{long})\n"))
                            .unwrap_or_else(|| panic!("{name} --{long}: no case"));
                        let next = block[at..].lines().nth(1).unwrap_or_default();
                        assert!(
                            next.contains(&format!("compgen -W \"{list}\"")),
                            "{name} --{long} completes {next:?}, not {list}"
                        );
                    }
                    None => assert!(block.contains(&list), "{name} {}: {list}", a.get_id()),
                }
                checked += 1;
            }
        }
        assert!(checked >= 10, "{checked}");
        assert!(script.contains("compgen -W \"amd64 arm64 386 arm\""));
    }

    /// A failing command line for each subcommand.
    fn failing(cmd: &str) -> Vec<&'static str> {
        match cmd {
            "analyze" => vec!["analyze", "no/such/case.tar"],
            "layout" => vec!["layout", "no/such.o"],
            "schema" => vec!["schema", "--btf", "no/such.o", "--type", "x"],
            "decode" => vec![
                "decode",
                "--dump",
                "no/such.json",
                "--btf",
                OBJ,
                "--map",
                "flows",
            ],
            "diff" => vec!["diff", "no/such.json", DUMP],
            "fleet" => vec!["fleet", "no/such/dir"],
            "collect" => vec!["collect", "-o", "case.tar.gz"],
            "watch" => vec!["watch", "--out", "/nonexistent/w", "--metrics", "m.txt"],
            "completions" => vec!["completions", "tcsh"],
            "man" => vec!["man", "--dir", "/proc/version/man"],
            other => panic!("{other}: no failing command line here"),
        }
    }

    #[test]
    fn every_command_errors_one_way_with_a_help_line() {
        for sub in subcommands() {
            let name = sub.get_name();
            for args in [failing(name), vec![name, "--frobnicate"]] {
                let o = run(&args);
                let err = text(&o.stderr);
                assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
                let first = err.lines().next().unwrap_or_default();
                assert!(first.starts_with("bpfcase::"), "{args:?}: {err}");
                assert!(err.contains("\n  × "), "{args:?}: {err}");
                assert!(
                    err.contains("\n  help: "),
                    "{args:?} has no help line: {err}"
                );
                assert!(!err.contains("(os error"), "{args:?}: {err}");
            }
        }
        // A missing file is said plainly, with its name.
        let err = text(&run(&["layout", "no/such.o"]).stderr);
        assert!(err.contains("no/such.o: no such file"), "{err}");
        // A directory of bundles given to analyze points to fleet.
        let o = run(&["analyze", "corpora/fleet/bundles"]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("use `bpfcase fleet corpora/fleet/bundles`"),
            "{err}"
        );
    }
}

/// The terminal report: width from COLUMNS (or the terminal), wrapped at
/// word boundaries, colour by `--color` and the conventional variables,
/// evidence as aligned lines and hex rows; snapshots at 80 and 120 columns
/// with and without colour.
mod terminal {
    use super::support::bpfcase;

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    fn report(case: &[&str], env: &[(&str, &str)], extra: &[&str]) -> String {
        let out = bpfcase()
            .current_dir(ROOT)
            .arg("analyze")
            .args(case)
            .args(["--fail-on", "never"])
            .args(extra)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Visible width of a line: characters less ANSI colour sequences.
    fn visible(line: &str) -> usize {
        let mut n = 0;
        let mut in_escape = false;
        for c in line.chars() {
            match (in_escape, c) {
                (false, '\x1b') => in_escape = true,
                (true, c) if c.is_ascii_alphabetic() => in_escape = false,
                (true, _) => {}
                (false, _) => n += 1,
            }
        }
        n
    }

    const LOOKUPS: &[&str] = &["corpora/cases/lookups/case.tar"];
    const RELOAD: &[&str] = &["corpora/cases/reload/case.tar", "corpora/go"];

    #[test]
    fn human_report_snapshots_at_80_and_120_columns() {
        for cols in ["80", "120"] {
            for (color, flag) in [("plain", "never"), ("color", "always")] {
                let out = report(LOOKUPS, &[("COLUMNS", cols)], &["--color", flag]);
                let width: usize = cols.parse().unwrap();
                for line in out.lines() {
                    assert!(visible(line) <= width, "over {width} columns: {line:?}");
                }
                assert_eq!(out.contains('\x1b'), color == "color");
                assert!(!out.contains("{\""), "raw JSON in the terminal report");
                insta::assert_snapshot!(format!("human_lookups_{cols}_{color}"), out);
            }
        }
        let out = report(RELOAD, &[("COLUMNS", "80")], &["--color", "never"]);
        // A suggested command is printed whole on its own line (`$ bpftool
        // map pin id …`), even past the edge: nothing else overflows.
        assert!(out
            .lines()
            .all(|l| visible(l) <= 80 || l.trim_start().starts_with("$ ")));
        assert!(!out.contains("{\""), "raw JSON in the terminal report");
        insta::assert_snapshot!("human_reload_80_plain", out);
    }

    #[test]
    fn lines_wrap_between_words_never_inside_one() {
        let wide = report(LOOKUPS, &[("COLUMNS", "400")], &[]);
        let narrow = report(LOOKUPS, &[("COLUMNS", "80")], &[]);
        // Every word of the wide report's prose survives intact at 80.
        let words = |s: &str| -> std::collections::BTreeSet<String> {
            s.split_whitespace()
                .filter(|w| w.chars().all(|c| c.is_alphanumeric() || c == '_'))
                .map(str::to_string)
                .collect()
        };
        let missing: Vec<String> = words(&wide).difference(&words(&narrow)).cloned().collect();
        assert!(missing.is_empty(), "words cut at 80 columns: {missing:?}");
    }

    #[test]
    fn color_follows_flag_and_environment() {
        let has_color =
            |env: &[(&str, &str)], extra: &[&str]| report(LOOKUPS, env, extra).contains("\x1b[");
        // auto on a pipe: no colour, unless forced.
        assert!(!has_color(&[], &[]));
        assert!(has_color(&[("CLICOLOR_FORCE", "1")], &[]));
        assert!(has_color(&[("FORCE_COLOR", "1")], &[]));
        assert!(!has_color(&[("FORCE_COLOR", "1"), ("NO_COLOR", "1")], &[]));
        assert!(has_color(&[("NO_COLOR", "1")], &["--color", "always"]));
        assert!(!has_color(
            &[("CLICOLOR_FORCE", "1")],
            &["--color", "never"]
        ));
    }

    #[test]
    fn width_defaults_to_100_when_piped() {
        let out = report(LOOKUPS, &[], &[]);
        let longest = out.lines().map(visible).max().unwrap();
        assert!(longest <= 100 && longest > 90, "longest line {longest}");
    }

    #[test]
    fn every_format_has_the_header() {
        let json = report(LOOKUPS, &[], &["--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let b = &v["bundles"][0];
        assert_eq!(b["bundle"], "corpora/cases/lookups/case.tar");
        assert_eq!(b["host"], "vm");
        assert_eq!(b["kernel"], "6.18.44-fc-v669");
        assert_eq!(b["collected_at"], "2026-11-26T06:08:10.761Z");
        assert_eq!(b["partial"], false);
        assert_eq!(b["limits_hit"], serde_json::json!([]));
        let human = report(LOOKUPS, &[], &[]);
        let first: Vec<&str> = human.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(first, ["bpfcase", env!("CARGO_PKG_VERSION")], "{human}");
        assert!(
            human.contains("  collected   2026-11-26T06:08:10.761Z by bpfcase 0.1.0\n"),
            "{human}"
        );
        let md = report(LOOKUPS, &[], &["--format", "md"]);
        assert!(md.contains("- **bundle** `corpora/cases/lookups/case.tar`\n  - host `vm` (x86_64), kernel `6.18.44-fc-v669`\n"), "{md}");
        let html = report(LOOKUPS, &[], &["--format", "html"]);
        assert!(html.contains("<dt><b>collected</b></dt><dd style=\"margin:0\">2026-11-26T06:08:10.761Z by bpfcase 0.1.0</dd>"), "{html}");
        // Header first, then the summary, in the terminal report.
        let at = |s: &str| human.find(s).unwrap();
        assert!(at("input ") < at("collected") && at("collected") < at("summary"));
    }
}

/// A DATASEC (libbpf's global data: `.rodata`, `.bss`, `.kconfig`) in the
/// BTF the kernel held for the loaded corpus object: each variable at the
/// offset libbpf placed it, the gaps between them as holes. pahole 1.24
/// prints structs and unions only (`corpora/globals/datasec_globals.bpf.pahole.txt`
/// has no section), so there is no peer layout to compare with; bpftool's
/// `btf dump` listing of the same sections is `corpora/globals/dumps/map.btf.txt`.
#[test]
fn datasec_layout_places_variables_at_their_offsets() {
    let btf = corpus("globals/dumps/map.btf");
    let (code, out, err) = run(&[
        "layout",
        btf.to_str().unwrap(),
        ".rodata",
        ".bss",
        ".kconfig",
    ]);
    assert_eq!(code, 0, "stderr: {err}");
    insta::assert_snapshot!("layout_datasec_text", out);
    // The offsets and sizes bpftool lists for the same sections.
    let listing = std::fs::read_to_string(corpus("globals/dumps/map.btf.txt")).unwrap();
    for line in [
        "offset=8 size=8 (VAR 'counter')",
        "offset=40 size=24 (VAR 'histo')",
    ] {
        assert!(listing.contains(line), "{line}");
    }
    let (_, out, _) = run(&["layout", btf.to_str().unwrap(), ".bss", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["kind"], "datasec");
    assert_eq!(v[0]["members"][1]["name"], "counter");
    assert_eq!(v[0]["members"][1]["offset"], 8);
    assert_eq!(v[0]["holes"], serde_json::json!([{"offset": 4, "size": 4}]));
}

/// In the object file clang leaves each DATASEC unplaced (size 0, every
/// variable at offset 0) for libbpf: laying it out says so, with the
/// offset of the type, instead of stacking every variable at 0.
#[test]
fn unplaced_datasec_of_an_object_is_an_error_naming_why() {
    let obj = corpus("globals/datasec_globals.bpf.o");
    let (code, _, err) = run(&["layout", obj.to_str().unwrap(), ".rodata"]);
    assert_eq!(code, 2, "stderr: {err}");
    let err = err.replace(obj.to_str().unwrap(), "datasec_globals.bpf.o");
    insta::assert_snapshot!("layout_datasec_unplaced_error", err);
}
