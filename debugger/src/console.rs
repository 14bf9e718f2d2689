//! The host side of the serial console: stdin is read on its own thread and handed to the run loop, which
//! delivers it to the guest through the machine's one input path. In a terminal, stdin is put in raw mode and
//! `Ctrl-A x` quits, as in QEMU.

use std::io::{IsTerminal, Read};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the terminal is in raw mode now (a [`Console`] is running on it).
static RAW: AtomicBool = AtomicBool::new(false);

/// Prints a message of rewind's on a line of its own on stderr, after whatever the guest printed. In raw mode a
/// bare `\n` would leave the next line (the shell prompt after rewind exits) starting mid-line.
pub fn say(message: &str) {
    let end = if RAW.load(Ordering::Relaxed) { "\r\n" } else { "\n" };
    eprint!("\r\n{message}{end}");
}
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

/// Input from the host's console.
pub enum ConsoleEvent {
    Bytes(Vec<u8>),
    /// `Ctrl-A x`.
    Quit,
    /// stdin reached its end.
    Closed,
}

pub struct Console {
    rx: Receiver<ConsoleEvent>,
    raw_mode: bool,
    closed: bool,
}

impl Console {
    /// Starts reading stdin.
    pub fn start() -> Console {
        let interactive = std::io::stdin().is_terminal();
        let raw_mode = interactive && crossterm::terminal::enable_raw_mode().is_ok();
        RAW.store(raw_mode, Ordering::Relaxed);
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 1024];
            let mut ctrl_a = false;
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(ConsoleEvent::Closed);
                        return;
                    }
                    Ok(n) => n,
                };
                let mut out = Vec::with_capacity(n);
                for &b in &buf[..n] {
                    if interactive && ctrl_a {
                        ctrl_a = false;
                        match b {
                            b'x' | b'X' => {
                                let _ = tx.send(ConsoleEvent::Quit);
                                return;
                            }
                            0x01 => out.push(0x01), // Ctrl-A Ctrl-A sends one Ctrl-A
                            _ => {}
                        }
                    } else if interactive && b == 0x01 {
                        ctrl_a = true;
                    } else {
                        out.push(b);
                    }
                }
                if !out.is_empty() && tx.send(ConsoleEvent::Bytes(out)).is_err() {
                    return;
                }
            }
        });
        Console { rx, raw_mode, closed: false }
    }

    /// Next event if one is ready.
    pub fn poll(&mut self) -> Option<ConsoleEvent> {
        if self.closed {
            return None;
        }
        let ev = self.rx.try_recv().ok();
        if matches!(ev, Some(ConsoleEvent::Closed)) {
            self.closed = true;
        }
        ev
    }

    /// Waits up to `timeout` for an event. Returns immediately once stdin is closed.
    pub fn wait(&mut self, timeout: Duration) -> Option<ConsoleEvent> {
        if self.closed {
            return None;
        }
        match self.rx.recv_timeout(timeout) {
            Ok(ConsoleEvent::Closed) | Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                Some(ConsoleEvent::Closed)
            }
            Ok(ev) => Some(ev),
            Err(RecvTimeoutError::Timeout) => None,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if self.raw_mode {
            let _ = crossterm::terminal::disable_raw_mode();
            RAW.store(false, Ordering::Relaxed);
        }
    }
}
