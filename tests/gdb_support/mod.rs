//! Helpers for the gdb tests: rewind with its gdb server on a free port, and real `gdb-multiarch -batch` sessions.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::vmlinux::unpack_vmlinux;

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// rewind running in the background, its stdout and stderr collected.
pub struct Rewind {
    child: Child,
    pub port: u16,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

fn collect(mut r: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let b = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            b.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

impl Rewind {
    /// Starts `cmd` with `-gdb tcp::PORT` (and `extra`) on a free port, and waits until the server listens.
    pub fn start(mut cmd: Command, extra: &[&str]) -> Rewind {
        let port = free_port();
        cmd.arg("-gdb").arg(format!("tcp::{port}")).args(extra);
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn rewind");
        let stdout = collect(child.stdout.take().expect("stdout"));
        let stderr = collect(child.stderr.take().expect("stderr"));
        let r = Rewind { child, port, stdout, stderr };
        assert!(r.wait_stderr("gdb server listening", Duration::from_secs(20)), "no server: {}", r.stderr());
        r
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, buf: &Arc<Mutex<Vec<u8>>>, pattern: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if String::from_utf8_lossy(&buf.lock().unwrap()).contains(pattern) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn wait_stdout(&self, pattern: &str, timeout: Duration) -> bool {
        self.wait_for(&self.stdout, pattern, timeout)
    }

    pub fn wait_stderr(&self, pattern: &str, timeout: Duration) -> bool {
        self.wait_for(&self.stderr, pattern, timeout)
    }

    /// Waits for rewind to exit; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Runs `gdb-multiarch -batch` on `elf`, connected to this rewind, with `commands`.
    pub fn gdb(&self, elf: &Path, commands: &[&str]) -> String {
        gdb_session(elf, &format!("target remote 127.0.0.1:{}", self.port), commands)
    }
}

impl Drop for Rewind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gdb-multiarch -batch -nx` with `connect` and then `commands`; everything it printed. Killed after 60 s.
pub fn gdb_session(elf: &Path, connect: &str, commands: &[&str]) -> String {
    let mut cmd = Command::new("gdb-multiarch");
    cmd.args(["-batch", "-nx", "-ex", "set confirm off", "-ex", "set pagination off", "-ex", connect]);
    for c in commands {
        cmd.arg("-ex").arg(c);
    }
    cmd.arg(elf);
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = child.expect("run gdb-multiarch (apt-get install gdb-multiarch)");
    let out = collect(child.stdout.take().expect("stdout"));
    let err = collect(child.stderr.take().expect("stderr"));
    let start = Instant::now();
    let mut timed_out = false;
    while matches!(child.try_wait(), Ok(None)) {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(50));
    let mut text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    text.push_str(&String::from_utf8_lossy(&err.lock().unwrap()));
    if timed_out {
        text.push_str("\n[test: gdb timed out]\n");
    }
    text
}

/// The bare-metal demo of examples/gdb-demo, built into the cargo target's tmp dir.
pub fn demo_elf() -> PathBuf {
    static ELF: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ELF.get_or_init(build_demo).clone()
}

fn build_demo() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("gdb-demo-{}", std::process::id()));
    let out = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(workspace.join("examples/gdb-demo"))
        .arg(format!("BUILD={}", build.display()))
        .output()
        .expect("run make (and riscv64-unknown-elf-gcc)");
    assert!(out.status.success(), "building the demo failed: {}", String::from_utf8_lossy(&out.stderr));
    build.join("demo.elf")
}

/// The guest's vmlinux (with DWARF), unpacked once from `vmlinux.zst`.
pub fn vmlinux(guest: &Path) -> PathBuf {
    unpack_vmlinux(&guest.join("vmlinux.zst"))
}
