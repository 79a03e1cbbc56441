//! Stamps `--version` with the git revision the binary was built from
//! (`BPFCASE_REVISION_SUFFIX`, e.g. ` (rev 1a2b3c4d5e6f)`). Outside a git checkout of this crate (a source
//! tarball, a vendored copy inside another repository) or without git, the
//! suffix is empty and the version is the bare package version.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&dir);
    println!("cargo:rerun-if-changed=build.rs");
    let suffix = revision(dir).unwrap_or_default();
    println!("cargo:rustc-env=BPFCASE_REVISION_SUFFIX={suffix}");
}

fn revision(dir: &Path) -> Option<String> {
    // Only this crate's own repository: a tarball unpacked inside some other
    // checkout must not take that checkout's revision.
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(Path::new(&top), dir) {
        return None;
    }
    let rev = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves: HEAD itself (branch switches) and the ref it
    // names (commits); both resolved for worktrees.
    for path in [
        git(dir, &["rev-parse", "--git-path", "HEAD"]),
        git(dir, &["symbolic-ref", "-q", "HEAD"])
            .and_then(|r| git(dir, &["rev-parse", "--git-path", &r])),
        git(dir, &["rev-parse", "--git-path", "packed-refs"]),
    ]
    .into_iter()
    .flatten()
    {
        let p = if Path::new(&path).is_absolute() {
            Path::new(&path).to_path_buf()
        } else {
            dir.join(path)
        };
        // A path that does not exist (no packed-refs yet, a packed branch
        // ref) makes cargo rerun the script, and rebuild the crate, on
        // every build: name only files that are there.
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    // No "-dirty" mark: build.rs reruns only when HEAD moves, so a mark
    // taken from the work tree would go stale after the next edit.
    Some(format!(" (rev {rev})"))
}
