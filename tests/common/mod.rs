//! Helpers shared by the end-to-end tests: where the guest and the binary are, and running rewind with a timeout.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn rewind_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rewind"))
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shared Linux guest. Tests that need it fail with a clear message when it is missing: a guest test that
/// silently passes without a guest would prove nothing.
pub fn guest_dir() -> PathBuf {
    let out = Command::new("bash").arg(workspace().join("scripts/guest-dir.sh")).output().expect("run guest-dir.sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `cmd` with `stdin` piped in, killing it after `timeout`.
pub fn run_with_input(mut cmd: Command, stdin: &[u8], timeout: Duration) -> Run {
    let start = Instant::now();
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn rewind");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let id = child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(timeout);
        let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
    });
    let Output { status, stdout, stderr } = child.wait_with_output().expect("wait");
    let _ = writer.join();
    drop(killer);
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// `rewind` booting the shared guest with `append` on the kernel command line.
pub fn linux_command(append: &str, extra: &[&str]) -> Command {
    let g = guest_dir();
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["-M", "virt", "-m", "256M", "-nographic", "-kernel"])
        .arg(g.join("Image"))
        .arg("-initrd")
        .arg(g.join("initramfs.cpio.gz"))
        .arg("-append")
        .arg(format!("console=ttyS0 {append}"))
        .args(extra);
    cmd
}
