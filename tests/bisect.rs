//! `git bisect run` with rewind's verdicts, on a synthetic history: a git repository of the bisect example's tiny
//! kernel (examples/bisect) in which one commit breaks the build, a later one makes the kernel panic, and a later
//! one makes it hang. git must name the commit that introduced the panic.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(repo).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Commits a version.h saying what release `n` prints and whether it hangs; its commit id.
fn commit(repo: &Path, n: u32, header: &str) -> String {
    std::fs::write(repo.join("version.h"), header).unwrap();
    git(repo, &["commit", "-q", "-a", "-m", &format!("release {n}")]);
    git(repo, &["rev-parse", "HEAD"]).trim().to_string()
}

fn good(n: u32) -> String {
    format!("#define MESSAGE \"boot: ok (release {n})\\n\"\n#define HANG 0\n")
}

/// The example's script on the commit checked out: its exit code and what rewind said last.
fn check(repo: &Path) -> (i32, String) {
    let out = Command::new("sh").arg("bisect.sh").current_dir(repo).env("REWIND", rewind_bin()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), stderr.lines().last().unwrap_or("").to_string())
}

#[test]
fn git_bisect_run_finds_the_commit_that_made_the_kernel_panic() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/bisect");
    let repo = std::env::temp_dir().join(format!("rewind-bisect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(&repo).unwrap();
    for file in ["Makefile", "boot.S", "bisect.sh"] {
        std::fs::copy(example.join(file), repo.join(file)).unwrap();
    }
    std::fs::write(repo.join(".gitignore"), "build/\n").unwrap();
    std::fs::write(repo.join("version.h"), good(1)).unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["config", "user.email", "test@rewind"]);
    git(&repo, &["config", "user.name", "rewind test"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "release 1"]);
    let first = git(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    commit(&repo, 2, &good(2));
    // A release whose build fails: the bisection skips it.
    let broken = commit(&repo, 3, "#define MESSAGE \"boot: ok (release 3)\\n\n#define HANG 0\n#error half-done\n");
    commit(&repo, 4, &good(4));
    commit(&repo, 5, &good(5));
    let culprit = commit(&repo, 6, "#define MESSAGE \"Kernel panic - not syncing: release 6\\n\"\n#define HANG 1\n");
    let hang = commit(&repo, 7, "#define MESSAGE \"booting release 7\\n\"\n#define HANG 1\n");
    let last = commit(&repo, 8, "#define MESSAGE \"Kernel panic - not syncing: release 8\\n\"\n#define HANG 1\n");

    // Each kind of commit gets its verdict.
    let (code, said) = check(&repo);
    assert_eq!(code, 1, "{said}");
    assert!(said.starts_with("rewind: verdict: fail (console: Kernel panic - not syncing: release 8"), "{said}");
    git(&repo, &["checkout", "-q", &hang]);
    let (code, said) = check(&repo);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("--timeout 1 s of virtual time reached"), "{said}");
    git(&repo, &["checkout", "-q", &broken]);
    assert_eq!(check(&repo).0, 125, "a commit whose build fails is skipped");
    git(&repo, &["checkout", "-q", &first]);
    let (code, said) = check(&repo);
    assert_eq!(code, 0, "{said}");
    assert!(said.starts_with("rewind: verdict: pass (console: boot: ok (release 1)"), "{said}");

    git(&repo, &["checkout", "-q", &last]);
    git(&repo, &["bisect", "start", &last, &first]);
    let run = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["bisect", "run", "sh", "bisect.sh"])
        .env("REWIND", rewind_bin())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{out}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(out.contains(&format!("{culprit} is the first bad commit")), "{out}");
    let _ = std::fs::remove_dir_all(&repo);
}

/// The shared Linux guest: a panicking kernel ends a plain run (exit 70, as a recording of it does) instead of
/// spinning; with `--expect` the same boot is a verdict, also written as JSON.
#[test]
fn a_panicking_kernel_ends_the_run_and_verdicts_are_written_as_json() {
    let panic = run_with_input(linux_command("rdinit=/nonexistent root=/dev/nothing", &[]), b"", WAIT);
    assert_eq!(panic.code, Some(70), "{}", panic.stderr);
    assert!(panic.stderr.contains("guest failure at instruction"), "{}", panic.stderr);
    assert!(panic.stderr.contains("Kernel panic - not syncing: VFS: Unable to mount root fs"), "{}", panic.stderr);

    let json = std::env::temp_dir().join(format!("rewind-verdict-{}.json", std::process::id()));
    let args = ["--expect", "Run /init as init process", "--timeout", "30s", "--verdict-json", json.to_str().unwrap()];
    let pass = run_with_input(linux_command("", &args), b"", WAIT);
    assert_eq!(pass.code, Some(0), "{}", pass.stderr);
    let text = std::fs::read_to_string(&json).unwrap();
    let _ = std::fs::remove_file(&json);
    for field in ["\"verdict\":\"pass\"", "\"exit_code\":0", "\"reason\":\"console: Run /init as init process\""] {
        assert!(text.contains(field), "{field} not in {text}");
    }
    let last = pass.stderr.trim_end().lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("rewind: verdict: pass (console: Run /init as init process at instruction "), "{last}");
}
