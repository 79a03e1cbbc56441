//! Security regressions (issue 24): each test plays an unprivileged attacker
//! (a test user, `bpfcase-attacker`, created here when running as root)
//! against bpfcase run as root, and shows the attack fails.
//!
//! Topics live in `tests/security/*.rs`; this file only ties them together
//! and holds the attacker helpers they share.

mod support;

/// The collect tests' helpers (`run_ok`), shared rather than copied.
#[path = "collect_support/mod.rs"]
mod collect_support;

#[path = "security/bounds.rs"]
mod bounds;
#[path = "security/opener.rs"]
mod opener;
#[path = "security/redaction.rs"]
mod redaction;

#[path = "security/escaping.rs"]
mod escaping;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The attacker's account name.
pub const ATTACKER: &str = "bpfcase-attacker";

/// Whether the attacker-against-root tests can run: root, able to create (or
/// already having) the test user. In CI a missing privilege fails, naming it;
/// elsewhere the test is skipped, saying so.
pub fn require_attacker(test: &str) -> Option<Attacker> {
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        if support::in_ci() {
            panic!(
                "{test}: needs root (CI runs as root) to play root against an unprivileged user"
            );
        }
        eprintln!("SKIPPED {test}: needs root to play root against an unprivileged user (runs for real in CI)");
        return None;
    }
    let exists = |name: &str| {
        Command::new("id")
            .arg("-u")
            .arg(name)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !exists(ATTACKER) {
        // Concurrent tests may race to create it: "already exists" is fine.
        let _ = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(ATTACKER)
            .status();
    }
    let out = Command::new("id").arg("-u").arg(ATTACKER).output().ok()?;
    let uid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| {
            panic!("{test}: could not create the test user {ATTACKER} (useradd, package passwd)")
        });
    let out = Command::new("id").arg("-g").arg(ATTACKER).output().unwrap();
    let gid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    Some(Attacker { uid, gid })
}

/// The unprivileged user and what it may do.
#[derive(Clone, Copy, Debug)]
pub struct Attacker {
    pub uid: u32,
    pub gid: u32,
}

impl Attacker {
    /// A command run as the attacker (`setpriv`, from util-linux): no
    /// supplementary groups, no capabilities.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg("--")
            .arg(program);
        c
    }

    /// A fresh world-writable sticky directory (like `/tmp`) for the attack,
    /// in `/tmp` itself: the attacker must be able to reach it, and
    /// `$TMPDIR` may be a private directory (mode 0700) it cannot enter.
    pub fn shared_dir(&self, test: &str) -> PathBuf {
        use std::os::unix::fs::MetadataExt;
        let tmp = Path::new("/tmp");
        let base = match std::fs::metadata(tmp) {
            Ok(m) if m.is_dir() && m.mode() & 0o1777 == 0o1777 => tmp.to_path_buf(),
            _ => panic!("{test}: needs /tmp as a world-writable sticky directory (mode 1777)"),
        };
        let dir = base.join(format!("bpfcase-sec-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        chmod(&dir, 0o1777);
        dir
    }

    /// Plants a symbolic link at `at` pointing to `to`, as the attacker.
    pub fn symlink(&self, to: &Path, at: &Path) {
        let st = self
            .command("ln")
            .arg("-s")
            .arg(to)
            .arg(at)
            .status()
            .unwrap();
        assert!(st.success(), "attacker could not plant {}", at.display());
    }

    /// Plants a FIFO at `at`, as the attacker.
    pub fn fifo(&self, at: &Path) {
        let st = self.command("mkfifo").arg(at).status().unwrap();
        assert!(
            st.success(),
            "attacker could not plant a FIFO at {}",
            at.display()
        );
    }
}

pub fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}
