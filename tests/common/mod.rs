//! Helpers shared by the end-to-end tests: where the guest and the binary are, and running rewind with a timeout.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod guest;
pub mod tmux;
pub mod vmlinux;
// Not every test binary uses every helper (`dead_code` above is allowed for the same reason).
#[allow(unused_imports)]
pub use guest::{guest_dir, linux_config, Captured};

pub fn rewind_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rewind"))
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
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

/// Collects what `r` (a child's stdout) produces, on a thread of its own, for a test to look at while it runs.
pub fn collect_output(mut r: impl std::io::Read + Send + 'static) -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let o = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            o.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    out
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

/// Runs `cmd`, and each time its stdout contains `steps[i].0` (after what previous steps matched), writes
/// `steps[i].1` to its stdin, as a user at the console would. stdin is closed after the last step.
pub fn run_conversation(mut cmd: Command, steps: &[(&str, &str)], timeout: Duration) -> Run {
    use std::io::Read;
    use std::sync::{Arc, Mutex};
    let start = Instant::now();
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn rewind");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = Arc::new(Mutex::new(Vec::new()));
    let out_reader = {
        let out = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                out.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let mut seen = 0;
    for (pattern, input) in steps {
        loop {
            let text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
            if let Some(pos) = text[seen.min(text.len())..].find(pattern) {
                seen += pos + pattern.len();
                break;
            }
            if start.elapsed() > timeout || child.try_wait().ok().flatten().is_some() {
                let _ = child.kill();
                let status = child.wait().ok();
                let _ = out_reader.join();
                return Run {
                    code: status.and_then(|s| s.code()),
                    stdout: format!("{text}\n[test: gave up waiting for {pattern:?}]"),
                    stderr: String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned(),
                    elapsed: start.elapsed(),
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = stdin.write_all(input.as_bytes());
        let _ = stdin.flush();
    }
    drop(stdin);
    while child.try_wait().ok().flatten().is_none() && start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let status = child.wait().ok();
    let _ = out_reader.join();
    let stdout = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    Run {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Console input that once stopped reaching the shell with a disk attached: two long lines of no-op commands, a
/// write to the disk, a poweroff.
pub fn disk_write_session() -> String {
    let filler = ":;".repeat(100);
    format!("{filler}\n{filler}\nyes x | head -c 4096 | dd of=/dev/vda bs=512 seek=4 conv=fsync\npoweroff -f\n")
}

pub const DISK_SIZE: usize = 8 << 20;

/// An empty 8 MiB disk image, removed when dropped.
pub struct TempDisk(pub PathBuf);

impl TempDisk {
    pub fn new(tag: &str) -> TempDisk {
        let path = std::env::temp_dir().join(format!("rewind-{tag}-{}.img", std::process::id()));
        std::fs::write(&path, vec![0u8; DISK_SIZE]).unwrap();
        TempDisk(path)
    }

    pub fn assert_unchanged(&self) {
        let data = std::fs::read(&self.0).unwrap();
        assert!(data.len() == DISK_SIZE && data.iter().all(|&b| b == 0), "writes stay in memory without snapshot=off");
    }
}

impl Drop for TempDisk {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
