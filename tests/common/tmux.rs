//! Driving rewind in a real terminal: tmux sessions, keys sent with `send-keys`, screens read with `capture-pane`.

use std::process::Command;
use std::time::{Duration, Instant};

pub fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn wait_for(session: &str, text: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let pane = tmux(&["capture-pane", "-p", "-S", "-200", "-t", session]);
        if pane.contains(text) || start.elapsed() > timeout {
            return pane;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Ends the tmux session (and the rewind in it) even when the test fails.
pub struct Session(pub String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.0]);
    }
}

/// Waits up to `timeout` for the shell command line running rewind to write its exit status to `done`.
pub fn exit_status(done: &std::path::Path, timeout: Duration) -> String {
    let start = Instant::now();
    while !done.exists() && start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = std::fs::read_to_string(done).unwrap_or_default();
    let _ = std::fs::remove_file(done);
    status.trim().to_string()
}
