//! The one place rewind prints its own messages (not the guest's console output) to the terminal. While the
//! console holds the terminal in raw mode, a bare `\n` only moves down a line: every line printed here then ends
//! with `\r\n`, so the next one (and the shell prompt after rewind exits) starts at the left margin.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the terminal is in raw mode now.
static RAW: AtomicBool = AtomicBool::new(false);

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
    eprint!("\r\n{message}{}", end());
}

/// A line on stderr, where the cursor is: for messages that follow rewind's own (the gdb server's, a
/// recording's summary, `--stats`).
pub fn line(message: &str) {
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
