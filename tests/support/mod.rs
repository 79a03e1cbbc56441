//! Helpers shared by the integration tests: locating corpora, finding peer
//! tools, and the rule for tests that need something the machine may lack.

#![allow(dead_code)]

pub mod pahole;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Path of a file under `corpora/`.
pub fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpora")
        .join(rel)
}

/// True when running in CI (`CI=true`), where a missing tool or privilege is a
/// failure rather than a reason to skip.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// Whether `tool` can be run. Without it a test must fail in CI (saying what
/// is missing) and may skip elsewhere, saying so on stderr.
pub fn require_tool(tool: &str, test: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty())
        .unwrap_or(false);
    if found {
        return true;
    }
    if in_ci() {
        panic!("{test}: `{tool}` is not installed; CI must install it (see .ci/run)");
    }
    eprintln!("SKIPPED {test}: `{tool}` is not installed (this test runs for real in CI)");
    false
}

/// The `bpfcase` binary built for this test run.
pub fn bpfcase() -> Command {
    // The environment that shapes terminal text is pinned, so output does
    // not depend on the shell the tests run from (width 100, no colour).
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpfcase"));
    for var in ["COLUMNS", "NO_COLOR", "CLICOLOR_FORCE", "FORCE_COLOR"] {
        cmd.env_remove(var);
    }
    cmd
}

/// Whether BPF objects can be created and pinned here (root with a bpffs).
/// Without that a test must fail in CI, naming what is missing, and may skip
/// elsewhere, saying so.
pub fn require_bpf(test: &str) -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    let bpffs = std::fs::read_to_string("/proc/mounts")
        .map(|m| m.lines().any(|l| l.contains(" /sys/fs/bpf bpf ")))
        .unwrap_or(false);
    let missing = match (root, bpffs) {
        (true, true) => return require_tool("bpftool", test),
        (false, _) => "root (CAP_BPF and CAP_SYS_ADMIN, effective uid 0)",
        (true, false) => "a bpffs mounted on /sys/fs/bpf (`mount -t bpf bpf /sys/fs/bpf`)",
    };
    if in_ci() {
        panic!("{test}: needs {missing}; CI runs as root with bpffs mounted by .ci/setup");
    }
    eprintln!("SKIPPED {test}: needs {missing} (this test runs for real in CI)");
    false
}

/// Appends `bytes` as bpftool `-j` writes them: `"0x01","0xab",…`. Written
/// byte by byte: dumps of a million entries are hundreds of MB of text.
pub fn push_json_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (j, x) in bytes.iter().enumerate() {
        if j > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"\"0x");
        out.push(DIGITS[usize::from(x >> 4)]);
        out.push(DIGITS[usize::from(x & 15)]);
        out.push(b'"');
    }
}
