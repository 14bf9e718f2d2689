//! QEMU's `-monitor stdio`: the monitor's command table on the terminal, with line editing, history and
//! completion (rustyline). The prompt is read on a thread of its own; each line is carried out by the run loop
//! when it polls this front end, between two chunks of guest execution, and its answer printed before the next
//! prompt, so the guest runs on while the user types.

use crate::session::{Command, Frontend, Presence, Session};
use anyhow::{Context, Result};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Helper, Highlighter, Hinter, Validator};
use std::sync::mpsc::{channel, sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

/// The prompt QEMU's monitor shows; scripts that drive a monitor wait for it.
const PROMPT: &str = "(qemu) ";

pub struct MonitorStdio {
    lines: Receiver<Option<String>>,
    answers: SyncSender<String>,
    closed: bool,
}

/// Completes a command from the command table (`info sta` to `info status`).
#[derive(Helper, Highlighter, Hinter, Validator)]
struct Commands;

impl Completer for Commands {
    type Candidate = String;

    fn complete(&self, line: &str, pos: usize, _: &rustyline::Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let typed = &line[..pos];
        Ok((0, crate::monitor::command_names().into_iter().filter(|n| n.starts_with(typed)).collect()))
    }
}

impl MonitorStdio {
    pub fn start() -> Result<MonitorStdio> {
        let mut editor = rustyline::Editor::<Commands, DefaultHistory>::new()
            .context("-monitor stdio: cannot set up the terminal")?;
        editor.set_helper(Some(Commands));
        let (tx, lines) = channel();
        let (answers, rx) = sync_channel::<String>(1);
        std::thread::Builder::new()
            .name("monitor".into())
            .spawn(move || {
                println!("rewind monitor - type 'help' for more information");
                loop {
                    match editor.readline(PROMPT) {
                        Ok(line) => {
                            let _ = editor.add_history_entry(line.as_str());
                            if tx.send(Some(line)).is_err() {
                                return;
                            }
                            match rx.recv() {
                                Ok(answer) => print!("{answer}"),
                                Err(_) => return,
                            }
                        }
                        // Ctrl-C at the prompt drops the line, as in a shell.
                        Err(ReadlineError::Interrupted) => {}
                        Err(_) => {
                            let _ = tx.send(None);
                            return;
                        }
                    }
                }
            })
            .context("-monitor stdio: cannot start the monitor")?;
        Ok(MonitorStdio { lines, answers, closed: false })
    }
}

impl Frontend for MonitorStdio {
    fn poll(&mut self, session: &mut Session, wait: Duration) -> Result<Command> {
        if self.closed {
            return Ok(Command::Run(u64::MAX));
        }
        match self.lines.recv_timeout(wait) {
            Ok(Some(line)) => {
                let answer =
                    if line.trim().is_empty() { String::new() } else { session.monitor(&line, &mut |_, _| {}) };
                let _ = self.answers.send(answer);
            }
            // The terminal closed (Ctrl-D): the machine runs on without a monitor, as QEMU's does.
            Ok(None) | Err(RecvTimeoutError::Disconnected) => self.closed = true,
            Err(RecvTimeoutError::Timeout) => {}
        }
        Ok(Command::Run(u64::MAX))
    }

    fn presence(&self) -> Presence {
        if self.closed {
            Presence::Gone
        } else {
            Presence::Input
        }
    }
}
