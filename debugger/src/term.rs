//! The one place rewind prints its own messages (not the guest's console output) to the terminal. While the
//! console holds the terminal in raw mode, a bare `\n` only moves down a line: every line printed here then ends
//! with `\r\n`, so the next one (and the shell prompt after rewind exits) starts at the left margin.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Whether the terminal is in raw mode now.
static RAW: AtomicBool = AtomicBool::new(false);

/// While the TUI owns the screen, messages are kept here for it to show instead of being printed over it.
static CAPTURED: Mutex<Option<Vec<String>>> = Mutex::new(None);

/// Starts (true) or ends keeping messages for the TUI; ending hands back what was kept and not taken.
pub fn capture(on: bool) -> Vec<String> {
    let Ok(mut captured) = CAPTURED.lock() else { return Vec::new() };
    let kept = captured.take().unwrap_or_default();
    if on {
        *captured = Some(Vec::new());
    }
    kept
}

/// The messages kept since the last call (see [`capture`]).
pub fn take_captured() -> Vec<String> {
    CAPTURED.lock().ok().and_then(|mut c| c.as_mut().map(std::mem::take)).unwrap_or_default()
}

/// Keeps `message` for the TUI if it owns the screen; false if it must be printed.
fn captured(message: &str) -> bool {
    let Ok(mut captured) = CAPTURED.lock() else { return false };
    match captured.as_mut() {
        Some(kept) => {
            kept.push(message.trim_matches(['\r', '\n']).to_string());
            true
        }
        None => false,
    }
}

/// Records whether the terminal is in raw mode (the console switches it).
pub fn set_raw(on: bool) {
    RAW.store(on, Ordering::Relaxed);
}

fn end() -> &'static str {
    if RAW.load(Ordering::Relaxed) {
        "\r\n"
    } else {
        "\n"
    }
}

/// A message on a line of its own on stderr, after whatever the guest printed (which may have left its last
/// line unfinished).
pub fn say(message: &str) {
    if captured(message) {
        return;
    }
    eprint!("\r\n{message}{}", end());
}

/// A line on stderr, where the cursor is: for messages that follow rewind's own (the gdb server's, a
/// recording's summary, `--stats`).
pub fn line(message: &str) {
    if captured(message) {
        return;
    }
    eprint!("{message}{}", end());
}

/// Monitor output on stdout, where the guest's console goes (as QEMU's multiplexed stdio does), with line ends
/// the terminal's mode wants.
pub fn monitor(text: &str) {
    use std::io::Write;
    let text = if RAW.load(Ordering::Relaxed) { text.replace('\n', "\r\n") } else { text.to_string() };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
