//! Bounded streams and linear joins (issue 24, item 4): an endless stdin or
//! FIFO, a bundle listing 100k maps and programs, a manifest of 600k
//! entries, a diff with a million changes and a FIFO among a fleet's
//! bundles each end in bounded time and memory, with a clear error where
//! the input is refused. None needs root: the attacker here is whoever
//! controls the input (a pipe, a bundle attached to a ticket, a file in a
//! directory fleet reads).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::push_json_hex;
use bpfcase::limits::{MAX_MANIFEST_ENTRIES, MAX_STREAM_BYTES};

/// Address space every run here gets (`ulimit -v`): the binary, its stacks
/// and its heap. Before the fix an endless stdin grew to gigabytes.
const ADDRESS_SPACE_KB: u64 = 256 * 1024;

/// Longest any run may take before it is killed and the test fails.
const GUARD: Duration = Duration::from_secs(20);

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfcase-bounds-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What came of one run.
struct Ran {
    /// Exit code (`None`: killed by a signal, an abort on allocation failure included).
    code: Option<i32>,
    /// The last 64 KiB of stdout, and how many bytes it wrote in all.
    stdout_tail: String,
    stdout_len: u64,
    stderr: String,
    wall: Duration,
    /// User plus system time of the run.
    cpu: Duration,
    /// Peak resident set, KiB, as last seen (sampled every few
    /// milliseconds; `ulimit -v` bounds the rest).
    max_rss_kb: i64,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?} after {:?} (cpu {:?}, peak RSS {} KiB)\nstderr:\n{}\nstdout ({} bytes), its end:\n{}",
            self.code, self.wall, self.cpu, self.max_rss_kb, self.stderr, self.stdout_len, self.stdout_tail
        )
    }
}

/// What a run reads on its standard input.
enum Stdin {
    Null,
    /// `head` once, then `body` again and again until the reader goes away.
    Endless {
        head: Vec<u8>,
        body: Vec<u8>,
    },
}

/// Runs `bash -c SCRIPT BIN ARGS..` in `dir` under `ulimit -v`
/// [`ADDRESS_SPACE_KB`] (the script ends by running `"$0" "$@"`, the
/// bpfcase binary), killed after [`GUARD`] (the test then fails). Its time
/// and peak memory come from `wait4`.
fn run_script(dir: &Path, script: &str, args: &[&str], stdin: Stdin) -> Ran {
    run_in(ADDRESS_SPACE_KB, dir, script, args, stdin)
}

/// [`run_script`] with `space_kb` of address space.
fn run_in(space_kb: u64, dir: &Path, script: &str, args: &[&str], stdin: Stdin) -> Ran {
    let start = Instant::now();
    // Reaped by `wait4` below (for its resource usage), not `Child::wait`.
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v {space_kb} && {script}"))
        .arg(env!("CARGO_BIN_EXE_bpfcase"))
        .args(args)
        .current_dir(dir)
        .env("COLUMNS", "400")
        .stdin(match stdin {
            Stdin::Null => Stdio::null(),
            Stdin::Endless { .. } => Stdio::piped(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let feeder = match stdin {
        Stdin::Null => None,
        Stdin::Endless { head, body } => {
            let mut w = child.stdin.take().unwrap();
            // Ends when the reader closes the pipe (EPIPE: Rust programs
            // ignore SIGPIPE).
            Some(std::thread::spawn(move || {
                if w.write_all(&head).is_ok() {
                    while w.write_all(&body).is_ok() {}
                }
            }))
        }
    };
    let mut out = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut tail: Vec<u8> = Vec::new();
        let mut len = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            len += n as u64;
            tail.extend_from_slice(&buf[..n]);
            if tail.len() > 1 << 17 {
                tail.drain(..tail.len() - (1 << 16));
            }
        }
        (String::from_utf8_lossy(&tail).into_owned(), len)
    });
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let pid = child.id() as libc::pid_t;
    // Peak memory from `VmHWM`, the high-water mark of the process's own
    // memory (from its last exec): `ru_maxrss` would also count the pages of
    // this test process it was forked from.
    let status_file = format!("/proc/{pid}/status");
    let mut max_rss_kb = 0i64;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waits for our own child, with valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if let Some(kb) = std::fs::read_to_string(&status_file).ok().and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<i64>().ok()
        }) {
            max_rss_kb = max_rss_kb.max(kb);
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > GUARD {
            let _ = child.kill();
            // SAFETY: as above.
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            panic!("bpfcase {args:?} still running after {GUARD:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = start.elapsed();
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    let (stdout_tail, stdout_len) = stdout.join().unwrap();
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ran {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout_tail,
        stdout_len,
        stderr: stderr.join().unwrap(),
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kb,
    }
}

/// Runs `bpfcase ARGS` (see [`run_script`]).
fn run(dir: &Path, args: &[&str], stdin: Stdin) -> Ran {
    run_script(dir, "exec \"$0\" \"$@\"", args, stdin)
}

/// Valid bpftool text dump lines, for ever.
fn endless_text() -> Stdin {
    Stdin::Endless {
        head: Vec::new(),
        body: "key: 01 00 00 00  value: 02 00 00 00\n"
            .repeat(2048)
            .into_bytes(),
    }
}

/// A `bpftool -j` dump's array that never closes: one valid element after another.
fn endless_json() -> Stdin {
    Stdin::Endless {
        head: b"[".to_vec(),
        body: r#"{"key":["0x01","0x00","0x00","0x00"],"value":["0x02","0x00","0x00","0x00"]},"#
            .repeat(1024)
            .into_bytes(),
    }
}

/// A schema whose type `kv` is one `u32` (keys are decoded as `__u32`).
fn schema(dir: &Path) -> PathBuf {
    let p = dir.join("kv.yaml");
    std::fs::write(
        &p,
        "types:\n  - name: kv\n    size: 4\n    fields:\n      - {name: a, offset: 0, size: 4, type: u32}\n",
    )
    .unwrap();
    p
}

/// The run stopped at the stream limit with the error naming `what` (`-`
/// or the stream's path) and the offset reached, in bounded memory.
fn assert_refused_at_the_stream_limit(r: &Ran, what: &str) {
    assert_eq!(r.code, Some(2), "{r:?}");
    let offset = format!(" at byte offset {MAX_STREAM_BYTES} ");
    let limit = format!("goes on past the {MAX_STREAM_BYTES}-byte limit for a stream");
    assert!(
        r.stderr.contains(&format!("× {what}"))
            && r.stderr.contains(&offset)
            && r.stderr.contains(&limit),
        "{r:?}"
    );
    if what == "-" {
        assert!(r.stderr.contains("standard input goes on"), "{r:?}");
    }
    assert!(r.max_rss_kb < ADDRESS_SPACE_KB as i64, "{r:?}");
}

/// `decode --dump -` of an endless stdin (text and `-j`) prints entries as
/// they come and stops at the stream limit with an error naming stdin and
/// the offset, in bounded memory (before: 6.4 GB after 30 s).
#[test]
fn endless_stdin_to_decode_is_refused_at_the_stream_limit() {
    let dir = scratch("decode");
    let schema = schema(&dir);
    let schema = schema.to_str().unwrap();
    for (form, stdin) in [("text", endless_text()), ("json", endless_json())] {
        let args = [
            "decode",
            "--dump",
            "-",
            "--schema",
            schema,
            "--key-type",
            "__u32",
            "--value-type",
            "kv",
        ];
        let r = run(&dir, &args, stdin);
        assert_refused_at_the_stream_limit(&r, "-");
        // The entries read before the limit were decoded and written out
        // (the JSON form streams them as it parses).
        if form == "json" {
            assert!(
                r.stdout_len > 1 << 20
                    && r.stdout_tail.contains("] {\"key\":1,\"value\":{\"a\":2}}"),
                "{form}: {r:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `diff - FILE` of an endless stdin stops at the stream limit too.
#[test]
fn endless_stdin_to_diff_is_refused_at_the_stream_limit() {
    let dir = scratch("diff");
    std::fs::write(dir.join("d1.txt"), "key: 01 00 00 00  value: 03 00 00 00\n").unwrap();
    for stdin in [endless_text(), endless_json()] {
        let r = run(&dir, &["diff", "-", "d1.txt"], stdin);
        assert_refused_at_the_stream_limit(&r, "-");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `analyze -` keeps at most the stream limit of stdin (before: 1 GiB
/// buffered before it refused); a FIFO given as an argument (`<(…)`) is
/// read as a stream under the same limit, and a finite one still works.
#[test]
fn endless_stdin_to_analyze_is_refused_at_the_stream_limit() {
    let dir = scratch("analyze");
    for stdin in [endless_text(), endless_json()] {
        let r = run(&dir, &["analyze", "-", "--fail-on", "never"], stdin);
        assert_refused_at_the_stream_limit(&r, "-");
    }
    // An endless process substitution: a pipe given by path.
    let r = run_script(
        &dir,
        "exec \"$0\" analyze <(yes 'key: 01 00 00 00  value: 02 00 00 00') --fail-on never",
        &[],
        Stdin::Null,
    );
    assert_refused_at_the_stream_limit(&r, "/dev/fd/");
    assert!(r.stderr.contains("this stream goes on past"), "{r:?}");
    // A finite one is read whole, its first bytes included.
    std::fs::write(
        dir.join("d.txt"),
        "key: 01 00 00 00  value: 02 00 00 00\nkey: 02 00 00 00  value: 02 00 00 00\nFound 2 elements\n",
    )
    .unwrap();
    let r = run_script(
        &dir,
        "exec \"$0\" analyze <(cat d.txt) --format json --fail-on never",
        &[],
        Stdin::Null,
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    let report: serde_json::Value = serde_json::from_str(&r.stdout_tail).unwrap();
    assert_eq!(report["inputs"][0]["kind"], "dump-text", "{report:#}");
    assert_eq!(report["dumps"][0]["entries"], 2, "{report:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The manifest fields every test bundle has.
fn manifest_head() -> String {
    r#""format":"bpfcase-bundle","version":1,"bpfcase_version":"0.1.0","host":{"hostname":"h","kernel_release":"6","machine":"x86_64","possible_cpus":2,"possible":"0-1","online":"0-1"},"created":"2026-01-01T00:00:00Z""#.to_string()
}

/// Writes a gzip-compressed tar of `members` (fast compression).
fn write_tar_gz(path: &Path, members: &[(&str, &[u8])]) {
    let f = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(std::io::BufWriter::new(f), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (p, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_path(p).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

/// A bundle listing 100k maps and 100k programs, each program using its
/// own map (about 1.3 MB gzipped), is analysed in well under 2 s of CPU and
/// bounded memory: maps are tied to their programs through an index (before:
/// every map looked at every program, 30 s and 680 MB).
#[test]
fn bundle_of_100k_maps_and_programs_is_analysed_in_linear_time() {
    const N: u32 = 100_000;
    let dir = scratch("100k");
    let mut m = String::with_capacity(N as usize * 200);
    m.push('{');
    m.push_str(&manifest_head());
    m.push_str(",\"maps\":[");
    for i in 1..=N {
        if i > 1 {
            m.push(',');
        }
        m.push_str(&format!(
            r#"{{"id":{i},"name":"m{i}","type":"hash","key_size":4,"value_size":4,"max_entries":16,"flags":0}}"#
        ));
    }
    m.push_str("],\"progs\":[");
    for i in 1..=N {
        if i > 1 {
            m.push(',');
        }
        m.push_str(&format!(
            r#"{{"id":{i},"name":"p{i}","type":"kprobe","tag":"{i:016x}","map_ids":[{i}]}}"#
        ));
    }
    m.push_str("]}");
    let tar = dir.join("many.tar.gz");
    write_tar_gz(&tar, &[("manifest.json", m.as_bytes())]);
    let r = run(
        &dir,
        &[
            "analyze",
            "many.tar.gz",
            "--format",
            "json",
            "-o",
            "report.json",
            "--fail-on",
            "never",
        ],
        Stdin::Null,
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    eprintln!("100k maps and programs: {r:?}");
    // The work, whatever else runs on the machine: CPU time, not wall time.
    assert!(r.cpu < Duration::from_secs(2), "{r:?}");
    assert!(r.max_rss_kb < 256 * 1024, "{r:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["maps"].as_array().map(Vec::len), Some(N as usize));
    // Fleet's summaries tie program tags to maps through an index too; it
    // keeps a summary of each of the 100k maps, so it gets more room.
    let r = run_in(
        1 << 20,
        &dir,
        "exec \"$0\" \"$@\"",
        &[
            "fleet",
            "many.tar.gz",
            "--format",
            "json",
            "--fail-on",
            "never",
        ],
        Stdin::Null,
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.cpu < Duration::from_secs(4), "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A manifest listing 600k entries is refused before its records are
/// built, naming the limit, by `analyze` and by `fleet --jobs 4` over four
/// copies, in bounded memory (before: 500 MB, and 1.9 GB for the fleet).
#[test]
fn manifest_of_600k_entries_is_refused() {
    const N: u64 = 600_000;
    const { assert!(N > MAX_MANIFEST_ENTRIES) };
    let dir = scratch("600k");
    let mut m = String::with_capacity(N as usize * 50);
    m.push('{');
    m.push_str(&manifest_head());
    m.push_str(",\"pins\":[");
    for i in 0..N {
        if i > 0 {
            m.push(',');
        }
        m.push_str(&format!(
            r#"{{"path":"/sys/fs/bpf/p{i}","kind":"map","id":1}}"#
        ));
    }
    m.push_str("]}");
    let fleet = dir.join("fleet");
    std::fs::create_dir(&fleet).unwrap();
    write_tar_gz(&fleet.join("a.tar.gz"), &[("manifest.json", m.as_bytes())]);
    for c in ["b", "c", "d"] {
        std::fs::copy(fleet.join("a.tar.gz"), fleet.join(format!("{c}.tar.gz"))).unwrap();
    }
    let limit = format!("over the {MAX_MANIFEST_ENTRIES} allowed (limits::MAX_MANIFEST_ENTRIES)");
    let r = run(&dir, &["analyze", "fleet/a.tar.gz"], Stdin::Null);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("fleet/a.tar.gz!manifest.json") && r.stderr.contains(&limit),
        "{r:?}"
    );
    assert!(r.max_rss_kb < 192 * 1024, "{r:?}");
    let r = run(
        &dir,
        &["fleet", "fleet", "--jobs", "4", "--format", "json"],
        Stdin::Null,
    );
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains(&limit), "{r:?}");
    assert!(r.max_rss_kb < ADDRESS_SPACE_KB as i64, "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `n` entries in bpftool `-j` form, key and value 4 bytes: key `i`, value
/// `i + bump`.
fn small_dump(n: u32, bump: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(n as usize * 80 + 2);
    out.push(b'[');
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":[");
        push_json_hex(&mut out, &i.to_le_bytes());
        out.extend_from_slice(b"],\"value\":[");
        push_json_hex(&mut out, &i.wrapping_add(bump).to_le_bytes());
        out.extend_from_slice(b"]}");
    }
    out.push(b']');
    out
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `diff` of two bundles whose one map has a million entries, every value
/// changed: text output lists 50 and counts the rest, and memory stays that
/// of OLD's index, not of the changes (before: 1.6 GB).
#[test]
fn diff_with_a_million_changes_in_text_keeps_what_it_shows() {
    const N: u32 = 1_000_000;
    let dir = scratch("changes");
    for (name, bump) in [("old.tar.gz", 0), ("new.tar.gz", 1)] {
        let dump = small_dump(N, bump);
        let manifest = format!(
            r#"{{{},"files":[{{"path":"maps/1-m.json","size":{},"sha256":"{}"}}],"maps":[{{"id":1,"name":"m","type":"hash","key_size":4,"value_size":4,"max_entries":{N},"flags":0,"dump":"maps/1-m.json"}}]}}"#,
            manifest_head(),
            dump.len(),
            sha256_hex(&dump)
        );
        write_tar_gz(
            &dir.join(name),
            &[
                ("maps/1-m.json", &dump),
                ("manifest.json", manifest.as_bytes()),
            ],
        );
    }
    let r = run(&dir, &["diff", "old.tar.gz", "new.tar.gz"], Stdin::Null);
    assert_eq!(r.code, Some(0), "{r:?}");
    eprintln!("a million changes: {r:?}");
    let out = &r.stdout_tail;
    assert!(
        out.contains(&format!("0 added, 0 removed, {N} changed, 0 unchanged\n")),
        "{r:?}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("  ~ ")).count(),
        50,
        "{r:?}"
    );
    assert!(
        out.contains(&format!("  ... and {} more\n", N - 50)),
        "{r:?}"
    );
    // OLD's index of a million small entries is ~40 MB; the changes add nothing.
    assert!(r.max_rss_kb < 160 * 1024, "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A FIFO named like a bundle in a fleet directory (planted by anyone who
/// can write there) is reported, never opened for a blocking read: fleet
/// finishes (before: it hung for ever), and so does `analyze` of it.
#[test]
fn fifo_named_like_a_bundle_in_a_fleet_directory_is_skipped() {
    let dir = scratch("fifo");
    let fleet = dir.join("fleet");
    std::fs::create_dir(&fleet).unwrap();
    let manifest = format!(
        r#"{{{},"maps":[{{"id":1,"name":"m","type":"hash","key_size":4,"value_size":4,"max_entries":1,"flags":0}}]}}"#,
        manifest_head()
    );
    write_tar_gz(
        &fleet.join("a.tar.gz"),
        &[("manifest.json", manifest.as_bytes())],
    );
    let fifo = fleet.join("x.tar");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
    let r = run(&dir, &["fleet", "fleet"], Stdin::Null);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout_tail
            .contains("fleet/x.tar: not a regular file (a FIFO): not read"),
        "{r:?}"
    );
    let r = run(&dir, &["fleet", "fleet", "--format", "json"], Stdin::Null);
    let report: serde_json::Value = serde_json::from_str(&r.stdout_tail).unwrap();
    let ignored = report["ignored"].to_string();
    assert!(
        ignored.contains("fleet/x.tar") && ignored.contains("a FIFO"),
        "{report:#}"
    );
    // Given by name, fleet does not open it either.
    let r = run(
        &dir,
        &["fleet", "fleet/x.tar", "fleet/a.tar.gz"],
        Stdin::Null,
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout_tail
            .contains("fleet/x.tar: not a regular file (a FIFO)"),
        "{r:?}"
    );
    // `analyze` of it given by name reads it as a stream: no writer, nothing
    // in it, and no hang.
    let r = run(&dir, &["analyze", "fleet/x.tar"], Stdin::Null);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("fleet/x.tar"), "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
