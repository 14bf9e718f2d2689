//! The gdb remote-protocol server (`-s`, `-gdb tcp::PORT`, `-gdb unix:PATH`, `-S`), a front end of the session
//! built on gdbstub's state machine, so that the run loop keeps the console going: the run loop polls the server
//! before each chunk (gdb packets are answered then) and tells it why the machine stopped.
//!
//! One client at a time. A client that disconnects, detaches or misbehaves (garbage, overlong packets, a dropped
//! connection) costs one line on stderr: its breakpoints and watchpoints go, the guest runs on, and the server
//! waits for the next client.

pub mod arch;
mod conn;
mod report;

pub use report::GdbSlot;
mod target;

use crate::cli::Endpoint;
use crate::session::{Command, Direction, Reported, Resume, Session, Stop, StopEvent};
use crate::term;
use anyhow::Result;
use conn::{Checked, Conn, Listener, PacketCheck, Stream};
use gdbstub::common::Signal;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStub, MultiThreadStopReason};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;
use target::tid;

/// Instructions between two looks at the connection while gdb is attached (Ctrl-C latency).
pub const ATTACHED_CHUNK: u64 = 1_000_000;
/// Largest packet accepted; longer ones end the connection.
const PACKET_BUFFER: usize = 0x4000;
/// How long a halted machine waits for the client before the run loop looks around again.
const POLL: Duration = Duration::from_millis(20);

type StateMachine = GdbStubStateMachine<'static, Session, Conn>;

/// The attached client.
struct Client {
    /// `None` only while a byte is being handed over.
    sm: Option<StateMachine>,
    check: PacketCheck,
    /// Bytes from the client, read on a thread of their own; closed when the client goes.
    rx: Receiver<Vec<u8>>,
    /// For shutting the socket down, which also ends the reader thread.
    control: Stream,
    peer: String,
}

pub struct GdbServer {
    listener: Listener,
    client: Option<Client>,
    /// `-S`: the CPUs stay stopped until a client resumes them.
    frozen: bool,
}

impl GdbServer {
    /// Listens on `endpoint` and says so on stderr.
    pub fn start(endpoint: &Endpoint, frozen: bool) -> Result<GdbServer> {
        let listener = Listener::bind(endpoint)?;
        let halted = if frozen { " (CPUs stopped until gdb continues them)" } else { "" };
        term::line(&format!("rewind: gdb server listening on {}{halted}", listener.place()));
        Ok(GdbServer { listener, client: None, frozen })
    }

    pub fn attached(&self) -> bool {
        self.client.is_some()
    }

    /// Whether the client waits for the machine to stop (gdbstub's `Running` state).
    fn running(&self) -> bool {
        matches!(self.client.as_ref().and_then(|c| c.sm.as_ref()), Some(GdbStubStateMachine::Running(_)))
    }

    fn open_session(&mut self, session: &mut Session, stream: Stream, peer: String) {
        let (Ok(reader), Ok(control)) = (stream.try_clone(), stream.try_clone()) else {
            term::line(&format!("rewind: gdb: cannot use the connection from {peer}"));
            return;
        };
        let (tx, rx) = sync_channel::<Vec<u8>>(64);
        let spawned = std::thread::Builder::new().name("gdb-reader".into()).spawn(move || {
            let mut reader = reader;
            let mut buf = [0u8; 4096];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        if spawned.is_err() {
            term::line(&format!("rewind: gdb: cannot start reading from {peer}"));
            return;
        }
        let conn = Conn { stream, out: Vec::new() };
        let stub = match GdbStub::<Session, Conn>::builder(conn).packet_buffer_size(PACKET_BUFFER).build() {
            Ok(stub) => stub,
            Err(e) => {
                term::line(&format!("rewind: gdb: {e}"));
                control.shutdown();
                return;
            }
        };
        match stub.run_state_machine(session) {
            Ok(sm) => {
                term::line(&format!("rewind: gdb: client {peer} attached"));
                session.debug.resume = Resume::Halted;
                self.client = Some(Client { sm: Some(sm), check: PacketCheck::default(), rx, control, peer });
            }
            Err(e) => {
                term::line(&format!("rewind: gdb: session with {peer} failed to start: {e}"));
                control.shutdown();
            }
        }
    }

    /// Ends the session: its breakpoints and watchpoints go and the guest runs on.
    fn close(&mut self, session: &mut Session, why: &str) {
        if let Some(c) = self.client.take() {
            term::line(&format!("rewind: gdb: {} {why}; the guest runs on, waiting for the next client", c.peer));
            c.control.shutdown();
        }
        session.clear_debug_state();
        // A machine still frozen by `-S` stays frozen until a client resumes it.
        session.debug.resume = Resume::Continue;
    }

    fn close_quietly(&mut self) {
        if let Some(c) = self.client.take() {
            c.control.shutdown();
        }
    }

    /// Services the client (accepts one if none is attached) and says whether the machine may run. A pending
    /// reverse resume is left for the session, which runs it and reports where it stopped.
    fn serve(&mut self, session: &mut Session) -> Command {
        if self.client.is_none() {
            match self.listener.accept() {
                Some(Ok((stream, peer))) => self.open_session(session, stream, peer),
                Some(Err(why)) => term::line(&why),
                None => {}
            }
        }
        let Some(client) = self.client.as_mut() else {
            if self.frozen {
                std::thread::sleep(POLL);
                return Command::Halt;
            }
            return Command::Run(u64::MAX);
        };
        let halted = matches!(client.sm, Some(GdbStubStateMachine::Idle(_)));
        let mut input = Vec::new();
        let mut closed = false;
        let first = if halted {
            match client.rx.recv_timeout(POLL) {
                Ok(b) => Some(b),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    closed = true;
                    None
                }
            }
        } else {
            match client.rx.try_recv() {
                Ok(b) => Some(b),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => {
                    closed = true;
                    None
                }
            }
        };
        if let Some(b) = first {
            input.extend(b);
            while let Ok(b) = client.rx.try_recv() {
                input.extend(b);
            }
        }
        for byte in input {
            let Some(client) = self.client.as_mut() else { break };
            let bytes = match client.check.push(byte) {
                Checked::Pass(bytes) => bytes,
                Checked::Pending => continue,
                Checked::Resend => {
                    let _ = client.control.write_all(b"-");
                    continue;
                }
            };
            for byte in bytes {
                if let Some(quit) = self.feed(session, byte) {
                    return quit;
                }
            }
        }
        if closed {
            self.close(session, "closed the connection");
        }
        if self.running() && session.step_done() {
            // A step that needs no instruction (see `DebugState::watch_stepped`).
            let stepped = Stop { event: StopEvent::Ran, direction: Direction::Forward };
            if let Reported::Quit(code) = self.report_stop(session, &stepped) {
                return Command::Quit(code);
            }
            return Command::Halt;
        }
        let sm = self.client.as_ref().and_then(|c| c.sm.as_ref());
        session.debug.held_by_gdb = matches!(sm, Some(GdbStubStateMachine::Idle(_)));
        match sm {
            Some(GdbStubStateMachine::Idle(_)) => Command::Halt,
            Some(_) => {
                self.frozen = false;
                Command::Run(if let Resume::Step { .. } = session.debug.resume { 1 } else { ATTACHED_CHUNK })
            }
            None if self.frozen => Command::Halt,
            None => Command::Run(u64::MAX),
        }
    }

    /// Hands one byte to gdbstub; a command if the session ended in a way the run loop must know about.
    fn feed(&mut self, session: &mut Session, byte: u8) -> Option<Command> {
        let client = self.client.as_mut()?;
        let sm = client.sm.take()?;
        let was_halted = session.debug.resume == Resume::Halted;
        // gdbstub should never panic, but a client must not be able to take the machine down if it did.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let sm = match sm {
                GdbStubStateMachine::Idle(s) => s.incoming_data(session, byte),
                GdbStubStateMachine::Running(s) => s.incoming_data(session, byte),
                other => Ok(other),
            }?;
            match sm {
                GdbStubStateMachine::CtrlCInterrupt(s) => {
                    let reason = (!was_halted).then(|| MultiThreadStopReason::SignalWithThread {
                        tid: tid(session.debug.current),
                        signal: Signal::SIGINT,
                    });
                    session.debug.resume = Resume::Halted;
                    s.interrupt_handled(session, reason)
                }
                other => Ok(other),
            }
        }));
        let sm = match result {
            Ok(Ok(sm)) => sm,
            Ok(Err(e)) => {
                self.close(session, &format!("dropped: {}", first_sentence(&e.to_string())));
                return None;
            }
            Err(_) => {
                self.close(session, "dropped: internal error handling a packet");
                return None;
            }
        };
        match sm {
            GdbStubStateMachine::Disconnected(s) => match s.get_reason() {
                DisconnectReason::Kill => {
                    term::line("rewind: gdb: killed by the client");
                    self.close_quietly();
                    Some(Command::Quit(0))
                }
                DisconnectReason::TargetExited(code) => {
                    self.close_quietly();
                    Some(Command::Quit(code as i32))
                }
                DisconnectReason::TargetTerminated(_) => {
                    self.close_quietly();
                    Some(Command::Quit(1))
                }
                DisconnectReason::Disconnect => {
                    self.close(session, "detached");
                    None
                }
            },
            sm => {
                if matches!(sm, GdbStubStateMachine::Idle(_)) {
                    session.debug.resume = Resume::Halted;
                }
                if let Some(c) = self.client.as_mut() {
                    c.sm = Some(sm);
                }
                None
            }
        }
    }
}

/// gdbstub's messages can run on for several sentences; the log keeps one line.
fn first_sentence(s: &str) -> &str {
    s.split(". ").next().unwrap_or(s).lines().next().unwrap_or(s)
}
