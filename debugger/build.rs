//! Sets `REWIND_VERSION`, what `rewind --version` prints: the package version and, in a git checkout, the commit
//! (`0.1.0 (110db05)`, with `-dirty` when the sources that make the binary have uncommitted changes). Without git
//! or outside a checkout (a source tarball) it is the package version alone.

use std::path::Path;
use std::process::Command;

/// What the binary is built from, relative to the workspace root: a change here makes the build dirty.
const SOURCES: &[&str] = &["Cargo.toml", "Cargo.lock", "src", "machines", "replay", "debugger"];

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(root).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status.success().then(|| text.trim().to_string())
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let root = Path::new(&manifest).join("..");
    println!("cargo:rerun-if-changed=build.rs");
    let full = match commit(&root) {
        Some(commit) => format!("{version} ({commit})"),
        None => version,
    };
    println!("cargo:rustc-env=REWIND_VERSION={full}");
}

/// The short commit hash, `-dirty` appended if needed; `None` unless `root` is the top of a git checkout (an
/// unpacked tarball inside some other repository must not take that repository's commit).
fn commit(root: &Path) -> Option<String> {
    let top = git(root, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != root.canonicalize().ok()? {
        return None;
    }
    let hash = git(root, &["rev-parse", "--short", "HEAD"])?;
    // Build again when HEAD moves (a commit, a checkout) or the index changes; and when the sources do, which
    // may make the build dirty or clean.
    // (A path that does not exist would make cargo run this script on every build.)
    let head_ref = git(root, &["symbolic-ref", "-q", "HEAD"]);
    let git_files = ["HEAD", "index", "packed-refs"].into_iter().chain(head_ref.as_deref());
    let git_paths = git_files.filter_map(|f| git(root, &["rev-parse", "--git-path", f])).map(|p| root.join(p));
    let sources = SOURCES.iter().map(|s| root.join(s));
    for path in git_paths.chain(sources).filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    status.extend(SOURCES);
    let dirty = git(root, &status).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{hash}-dirty") } else { hash })
}
