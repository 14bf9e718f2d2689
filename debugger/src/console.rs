//! The host side of the serial console, one of the session's front ends: stdin is read on its own thread and
//! handed to the session when the run loop polls, which delivers it to the guest through the machine's one input
//! path. In a terminal, stdin is put in raw mode and `Ctrl-A x` quits, as in QEMU.

use crate::session::{Command, Frontend, Presence, Reported, Session, Stop};
use crate::term;
use anyhow::Result;
use std::io::{IsTerminal, Read};
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
        term::set_raw(raw_mode);
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
            Some(ConsoleEvent::Quit) => {
                term::say("rewind: terminated by Ctrl-A x");
                return Ok(Command::Quit(0));
            }
            Some(ConsoleEvent::Closed) | None => {}
        }
        Ok(Command::Run(u64::MAX))
    }

    fn report(&mut self, _session: &mut Session, _stop: &Stop) -> Reported {
        Reported::Ignored
    }

    fn message(&mut self, text: &str) {
        term::say(text);
    }

    fn presence(&self) -> Presence {
        if self.closed {
            Presence::Gone
        } else {
            Presence::Input
        }
    }
}
