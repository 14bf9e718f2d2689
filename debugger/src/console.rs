//! The host side of the serial console, one of the session's front ends: stdin is read on its own thread and
//! handed to the session when the run loop polls, which delivers it to the guest through the machine's one input
//! path. In a terminal, stdin is put in raw mode and, as in QEMU's `-nographic`, `Ctrl-A x` quits and `Ctrl-A c`
//! moves the keyboard between the guest and the monitor (`(qemu)` prompt, the monitor's command table). The guest
//! keeps running, and printing, while the monitor has the keyboard.

use crate::session::{Command, Frontend, Presence, Session};
use crate::term;
use anyhow::Result;
use std::io::{IsTerminal, Read};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

/// Input from the host's console.
pub enum ConsoleEvent {
    /// Keys for the guest.
    Bytes(Vec<u8>),
    /// Keys for the monitor.
    MonitorKeys(Vec<u8>),
    /// `Ctrl-A c`: the monitor has the keyboard (true) or the guest has it again (false).
    MonitorFocus(bool),
    /// `Ctrl-A x`.
    Quit,
    /// stdin reached its end.
    Closed,
}

pub struct Console {
    rx: Receiver<ConsoleEvent>,
    raw_mode: bool,
    closed: bool,
    /// The monitor's command line being typed, while the monitor has the keyboard.
    monitor: Option<LineEditor>,
    /// The banner is shown the first time the monitor opens, as QEMU does.
    banner_shown: bool,
}

/// The prompt QEMU's monitor shows; scripts that drive a monitor wait for it.
const PROMPT: &str = "(qemu) ";

impl Console {
    /// Starts reading stdin.
    pub fn start() -> Console {
        let interactive = std::io::stdin().is_terminal();
        let raw_mode = interactive && crossterm::terminal::enable_raw_mode().is_ok();
        term::set_raw(raw_mode);
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 1024];
            let mut ctrl_a = false;
            let mut monitor = false;
            // Keys go to whoever has the keyboard; a focus switch sends what came before it first.
            let keys = |out: Vec<u8>, monitor: bool| match monitor {
                true => ConsoleEvent::MonitorKeys(out),
                false => ConsoleEvent::Bytes(out),
            };
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
                            b'c' | b'C' => {
                                if !out.is_empty() && tx.send(keys(std::mem::take(&mut out), monitor)).is_err() {
                                    return;
                                }
                                monitor = !monitor;
                                if tx.send(ConsoleEvent::MonitorFocus(monitor)).is_err() {
                                    return;
                                }
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
                if !out.is_empty() && tx.send(keys(out, monitor)).is_err() {
                    return;
                }
            }
        });
        Console { rx, raw_mode, closed: false, monitor: None, banner_shown: false }
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
}

impl Drop for Console {
    fn drop(&mut self) {
        if self.raw_mode {
            let _ = crossterm::terminal::disable_raw_mode();
            term::set_raw(false);
        }
    }
}

impl Frontend for Console {
    /// Console input goes to the guest; `Ctrl-A x` ends the session. Input is taken while a debugger holds the
    /// machine too (the UART buffers it).
    fn poll(&mut self, session: &mut Session, wait: Duration) -> Result<Command> {
        let event = if wait.is_zero() { Console::poll(self) } else { self.wait(wait) };
        match event {
            Some(ConsoleEvent::Bytes(bytes)) => session.console_input(bytes)?,
            Some(ConsoleEvent::MonitorFocus(true)) => {
                if !self.banner_shown {
                    self.banner_shown = true;
                    term::monitor("\nrewind monitor - type 'help' for more information\n");
                }
                term::monitor(PROMPT);
                self.monitor = Some(LineEditor::default());
            }
            Some(ConsoleEvent::MonitorFocus(false)) => {
                self.monitor = None;
                term::monitor("\n");
            }
            Some(ConsoleEvent::MonitorKeys(keys)) => {
                let Some(editor) = self.monitor.as_mut() else { return Ok(Command::Run(u64::MAX)) };
                // Each line runs as soon as it is complete, so pasted lines show their output in order.
                editor.keys(&keys, &mut |line| {
                    if !line.trim().is_empty() {
                        term::monitor(&session.monitor(line, &mut |_, _| {}));
                    }
                    term::monitor(PROMPT);
                });
            }
            Some(ConsoleEvent::Quit) => {
                term::say("rewind: terminated by Ctrl-A x");
                return Ok(Command::Quit(0));
            }
            Some(ConsoleEvent::Closed) | None => {}
        }
        Ok(Command::Run(u64::MAX))
    }

    fn guest_output(&mut self, bytes: &[u8], _at: u64) {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(bytes);
        let _ = stdout.flush();
    }

    fn presence(&self) -> Presence {
        if self.closed {
            Presence::Gone
        } else {
            Presence::Input
        }
    }
}

/// A command line typed in raw mode: printable keys are echoed, Backspace erases, Enter completes the line, and
/// escape sequences (arrow keys) are dropped rather than typed.
#[derive(Default)]
struct LineEditor {
    line: String,
    /// Bytes of an escape sequence seen so far (0: none).
    escape: u8,
}

impl LineEditor {
    /// Takes keys and echoes them; runs `on_line` on each line they complete.
    fn keys(&mut self, keys: &[u8], on_line: &mut dyn FnMut(&str)) {
        let mut echo = String::new();
        for &k in keys {
            match (self.escape, k) {
                (0, 0x1b) => self.escape = 1,
                (1, b'[' | b'O') => self.escape = 2,
                (1, _) => self.escape = 0,
                (2, 0x40..=0x7e) => self.escape = 0,
                (2, _) => {}
                (_, b'\r' | b'\n') => {
                    echo.push('\n');
                    term::monitor(&std::mem::take(&mut echo));
                    on_line(&std::mem::take(&mut self.line));
                }
                (_, 0x7f | 0x08) if !self.line.is_empty() => {
                    self.line.pop();
                    echo.push_str("\x08 \x08");
                }
                (_, 0x20..=0x7e) => {
                    self.line.push(k as char);
                    echo.push(k as char);
                }
                _ => {}
            }
        }
        term::monitor(&echo);
    }
}
