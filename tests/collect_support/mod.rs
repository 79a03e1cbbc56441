//! Shared helpers of the `collect_*` end-to-end tests: privilege checks that
//! fail in CI and skip elsewhere, bpffs pin guards that clean up even when a
//! test fails, bpftool wrappers, running the real binary, and reading bundles.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bpfcase::bundle::Manifest;
use bpfcase::collect::sys::{self, ObjKind};
use sha2::{Digest, Sha256};

/// Root of the repository (corpora live here).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when the test can run: root with CAP_BPF/CAP_SYS_ADMIN, bpffs
/// mounted, bpftool on PATH. In CI (CI=true) a missing requirement fails the
/// test naming it; elsewhere the test prints why it skips and returns false.
pub fn can_run(test: &str) -> bool {
    let missing = if let Err(e) = sys::next_id(ObjKind::Map, 0) {
        Some(format!(
            "listing BPF maps failed ({e}): needs root with CAP_SYS_ADMIN (or CAP_BPF+CAP_PERFMON)"
        ))
    } else if !Path::new("/sys/fs/bpf").is_dir()
        || Command::new("mountpoint")
            .args(["-q", "/sys/fs/bpf"])
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
    {
        Some("bpffs is not mounted on /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)".to_string())
    } else if Command::new("bpftool").arg("version").output().is_err() {
        Some("bpftool is not on PATH (apt install bpftool)".to_string())
    } else {
        None
    };
    match missing {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: cannot run in CI: {why}")
        }
        Some(why) => {
            eprintln!("{test}: SKIPPED: {why}");
            false
        }
    }
}

/// A directory under /sys/fs/bpf removed (pins and all) when dropped, so a
/// failing test still leaves the node clean.
pub struct PinDir(pub PathBuf);

impl PinDir {
    pub fn new(test: &str) -> PinDir {
        let dir = PathBuf::from(format!(
            "/sys/fs/bpf/bpfcase-test-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test dir on bpffs");
        PinDir(dir)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a command, panicking with its stdout/stderr if it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `bpftool prog loadall corpora/bpf/NAME.bpf.o DIR/NAME/progs pinmaps DIR/NAME/maps`.
pub fn load_corpus_object(dir: &PinDir, name: &str) {
    let obj = repo().join(format!("corpora/bpf/{name}.bpf.o"));
    std::fs::create_dir_all(dir.path(name)).unwrap();
    run_ok(
        Command::new("bpftool")
            .args(["prog", "loadall"])
            .arg(obj)
            .arg(dir.path(&format!("{name}/progs")))
            .arg("pinmaps")
            .arg(dir.path(&format!("{name}/maps"))),
    );
}

/// Replays corpora/dumps/NAME/updates.log (the exact bpftool updates that
/// planted the corpus contents) against the maps pinned under `dir`.
pub fn replay_updates(dir: &PinDir, name: &str) {
    let log =
        std::fs::read_to_string(repo().join(format!("corpora/dumps/{name}/updates.log"))).unwrap();
    for line in log.lines().filter(|l| l.starts_with("bpftool ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        // bpftool map update pinned REL key hex .. value hex ..
        assert_eq!(&words[1..4], ["map", "update", "pinned"], "{line}");
        let mut cmd = Command::new("bpftool");
        cmd.args(["map", "update", "pinned"])
            .arg(dir.path(words[4]))
            .args(&words[5..]);
        run_ok(&mut cmd);
    }
}

/// `bpftool -j map dump pinned PATH`, parsed.
pub fn bpftool_dump(path: &Path) -> serde_json::Value {
    let out = run_ok(
        Command::new("bpftool")
            .args(["-j", "map", "dump", "pinned"])
            .arg(path),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The key/value(s) of each entry without `formatted`, sorted: hash dumps
/// come in a per-map random order.
pub fn entry_set(dump: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = dump
        .as_array()
        .expect("dump is an array")
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.as_object_mut().unwrap().remove("formatted");
            e.to_string()
        })
        .collect();
    v.sort();
    v
}

/// The bpfcase binary under test.
pub fn bpfcase() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bpfcase"))
}

/// A scratch directory under target/ for bundles, emptied first.
pub fn scratch(test: &str) -> PathBuf {
    let d = repo().join("target/collect-tests").join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every member of a tar bundle by path.
pub fn read_bundle(path: &Path) -> BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut ar = tar::Archive::new(std::fs::File::open(path).unwrap());
    let mut out = BTreeMap::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        assert!(
            out.insert(p.clone(), data).is_none(),
            "duplicate member {p}"
        );
    }
    out
}

/// Parses the manifest and checks that it lists every other member with the
/// right size and SHA-256, and nothing else.
pub fn checked_manifest(files: &BTreeMap<String, Vec<u8>>) -> Manifest {
    let m: Manifest =
        serde_json::from_slice(files.get("manifest.json").expect("manifest.json")).unwrap();
    assert_eq!(m.format, bpfcase::bundle::FORMAT);
    assert_eq!(m.version, bpfcase::bundle::VERSION);
    assert_eq!(
        m.files.len() + 1,
        files.len(),
        "manifest lists every member"
    );
    for f in &m.files {
        let data = files
            .get(&f.path)
            .unwrap_or_else(|| panic!("{} listed but missing", f.path));
        assert_eq!(f.size, data.len() as u64, "{} size", f.path);
        let sha: String = Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(f.sha256, sha, "{} sha256", f.path);
    }
    m
}
