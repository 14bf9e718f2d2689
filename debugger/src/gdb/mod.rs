//! The gdb remote-protocol server (`-s`, `-gdb tcp::PORT`, `-gdb unix:PATH`, `-S`), built on gdbstub's state
//! machine so that the run loop keeps the console going: the run loop asks [`GdbServer::poll`] before each chunk
//! whether the machine may run, and tells [`GdbServer::report`] why it stopped.
//!
//! One client at a time. A client that disconnects, detaches or misbehaves (garbage, overlong packets, a dropped
//! connection) costs one line on stderr: its breakpoints and watchpoints go, the guest runs on, and the server
//! waits for the next client.

pub mod arch;
pub mod target;

use anyhow::{bail, Context, Result};
use gdbstub::common::Signal;
use gdbstub::conn::Connection;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStub, MultiThreadStopReason};
use gdbstub::target::ext::base::reverse_exec::ReplayLogPosition;
use rewind::{AccessKind, StopReason, WatchKind};
use rewind_replay::TimelineStop;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;
use target::{tid, Debuggee, Resume};

/// Instructions between two looks at the connection while gdb is attached (Ctrl-C latency).
pub const ATTACHED_CHUNK: u64 = 1_000_000;
/// Largest packet accepted; longer ones end the connection.
const PACKET_BUFFER: usize = 0x4000;
/// How long a halted machine waits for the client before the run loop looks around again.
const POLL: Duration = Duration::from_millis(20);

/// Where the server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(String),
    Unix(PathBuf),
}

/// Parses QEMU's `-gdb` device: `tcp::PORT`, `tcp:HOST:PORT`, `unix:PATH` (QEMU's `,server,nowait` suffixes are
/// accepted and ignored). Without a host, the server listens on loopback only.
pub fn parse_endpoint(spec: &str) -> Result<Endpoint> {
    let main = spec.split(',').next().unwrap_or(spec);
    if let Some(path) = main.strip_prefix("unix:") {
        if path.is_empty() {
            bail!("-gdb {spec}: missing socket path");
        }
        return Ok(Endpoint::Unix(path.into()));
    }
    let addr = main.strip_prefix("tcp:").unwrap_or(main);
    let (host, port) = addr.rsplit_once(':').unwrap_or(("", addr));
    let port: u16 = port.parse().with_context(|| format!("-gdb {spec}: invalid port '{port}'"))?;
    let host = if host.is_empty() { "127.0.0.1" } else { host.trim_start_matches('[').trim_end_matches(']') };
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    Ok(Endpoint::Tcp(format!("{host}:{port}")))
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn try_clone(&self) -> std::io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
        })
    }

    fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => Write::write_all(s, buf),
            Stream::Unix(s) => Write::write_all(s, buf),
        }
    }
}

/// The connection gdbstub writes to; replies are buffered and sent whole on flush.
pub struct Conn {
    stream: Stream,
    out: Vec<u8>,
}

impl Connection for Conn {
    type Error = std::io::Error;

    fn write(&mut self, byte: u8) -> std::io::Result<()> {
        self.out.push(byte);
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.out.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let out = std::mem::take(&mut self.out);
        self.stream.write_all(&out)
    }

    fn on_session_start(&mut self) -> std::io::Result<()> {
        if let Stream::Tcp(s) = &self.stream {
            s.set_nodelay(true)?;
        }
        Ok(())
    }
}

type Machine = GdbStubStateMachine<'static, Debuggee, Conn>;

/// Checks each packet's checksum before gdbstub sees it. A packet damaged on the way is answered with `-`, so
/// the client sends it again (as QEMU's stub does), instead of ending the session.
#[derive(Default)]
struct PacketCheck {
    /// The packet being received, from its `$`; `hash` is the position of its `#` once seen.
    packet: Vec<u8>,
    hash: Option<usize>,
}

/// What a byte from the client amounts to.
enum Checked {
    /// Bytes for gdbstub (a byte outside packets, or a whole packet with a good checksum).
    Pass(Vec<u8>),
    /// A packet with a bad checksum: ask for it again.
    Resend,
    /// Inside a packet.
    Pending,
}

impl PacketCheck {
    fn push(&mut self, byte: u8) -> Checked {
        if self.packet.is_empty() {
            if byte == b'$' {
                self.packet.push(byte);
                return Checked::Pending;
            }
            return Checked::Pass(vec![byte]);
        }
        self.packet.push(byte);
        match self.hash {
            None if byte == b'#' => self.hash = Some(self.packet.len() - 1),
            // An overlong packet goes to gdbstub, which refuses it.
            None if self.packet.len() > PACKET_BUFFER => return self.release(),
            Some(at) if self.packet.len() == at + 3 => {
                let body = &self.packet[1..at];
                let sum = body.iter().fold(0u8, |s, b| s.wrapping_add(*b));
                let given =
                    std::str::from_utf8(&self.packet[at + 1..]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                if given == Some(sum) {
                    return self.release();
                }
                self.packet.clear();
                self.hash = None;
                return Checked::Resend;
            }
            _ => {}
        }
        Checked::Pending
    }

    fn release(&mut self) -> Checked {
        self.hash = None;
        Checked::Pass(std::mem::take(&mut self.packet))
    }
}

struct Session {
    /// `None` only while a byte is being handed over.
    sm: Option<Machine>,
    check: PacketCheck,
    /// Bytes from the client, read on a thread of their own; closed when the client goes.
    rx: Receiver<Vec<u8>>,
    /// For shutting the socket down, which also ends the reader thread.
    control: Stream,
    peer: String,
}

/// What the run loop may do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Run at most this many instructions, then ask again.
    Run(u64),
    /// Do not run; ask again (the server has already waited a little for the client).
    Wait,
    /// gdb killed the machine: exit with this code.
    Exit(i32),
}

pub struct GdbServer {
    listener: Listener,
    session: Option<Session>,
    /// `-S`: the CPUs stay stopped until a client resumes them.
    frozen: bool,
}

impl GdbServer {
    /// Listens on `endpoint` and says so on stderr.
    pub fn start(endpoint: &Endpoint, frozen: bool) -> Result<GdbServer> {
        let listener = match endpoint {
            Endpoint::Tcp(addr) => {
                let l = TcpListener::bind(addr).with_context(|| format!("gdb server: cannot listen on {addr}"))?;
                l.set_nonblocking(true)?;
                Listener::Tcp(l)
            }
            Endpoint::Unix(path) => {
                // A stale socket from an earlier run would make bind fail.
                if std::fs::symlink_metadata(path).is_ok_and(|m| {
                    use std::os::unix::fs::FileTypeExt;
                    m.file_type().is_socket()
                }) {
                    let _ = std::fs::remove_file(path);
                }
                let l = UnixListener::bind(path)
                    .with_context(|| format!("gdb server: cannot listen on {}", path.display()))?;
                l.set_nonblocking(true)?;
                Listener::Unix(l, path.clone())
            }
        };
        let place = match &listener {
            Listener::Tcp(l) => format!("tcp {}", l.local_addr().map_or_else(|_| "?".into(), |a| a.to_string())),
            Listener::Unix(_, p) => format!("unix {}", p.display()),
        };
        let halted = if frozen { " (CPUs stopped until gdb continues them)" } else { "" };
        eprintln!("rewind: gdb server listening on {place}{halted}\r");
        Ok(GdbServer { listener, session: None, frozen })
    }

    pub fn attached(&self) -> bool {
        self.session.is_some()
    }

    fn accept(&mut self) -> Option<(Stream, String)> {
        let res = match &self.listener {
            Listener::Tcp(l) => l.accept().map(|(s, a)| (Stream::Tcp(s), a.to_string())),
            Listener::Unix(l, p) => l.accept().map(|(s, _)| (Stream::Unix(s), p.display().to_string())),
        };
        let (stream, peer) = res.ok()?;
        let setup = match &stream {
            Stream::Tcp(s) => s.set_nonblocking(false).and(s.set_write_timeout(Some(Duration::from_secs(5)))),
            Stream::Unix(s) => s.set_nonblocking(false).and(s.set_write_timeout(Some(Duration::from_secs(5)))),
        };
        if let Err(e) = setup {
            eprintln!("rewind: gdb: cannot set up the connection from {peer}: {e}\r");
            return None;
        }
        Some((stream, peer))
    }

    fn open_session(&mut self, dbg: &mut Debuggee, stream: Stream, peer: String) {
        let (Ok(reader), Ok(control)) = (stream.try_clone(), stream.try_clone()) else {
            eprintln!("rewind: gdb: cannot use the connection from {peer}\r");
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
            eprintln!("rewind: gdb: cannot start reading from {peer}\r");
            return;
        }
        let conn = Conn { stream, out: Vec::new() };
        let stub = match GdbStub::<Debuggee, Conn>::builder(conn).packet_buffer_size(PACKET_BUFFER).build() {
            Ok(stub) => stub,
            Err(e) => {
                eprintln!("rewind: gdb: {e}\r");
                control.shutdown();
                return;
            }
        };
        match stub.run_state_machine(dbg) {
            Ok(sm) => {
                eprintln!("rewind: gdb: client {peer} attached\r");
                dbg.resume = Resume::Halted;
                self.session = Some(Session { sm: Some(sm), check: PacketCheck::default(), rx, control, peer });
            }
            Err(e) => {
                eprintln!("rewind: gdb: session with {peer} failed to start: {e}\r");
                control.shutdown();
            }
        }
    }

    /// Ends the session: its breakpoints and watchpoints go and the guest runs on.
    fn close(&mut self, dbg: &mut Debuggee, why: &str) {
        if let Some(s) = self.session.take() {
            eprintln!("rewind: gdb: {} {why}; the guest runs on, waiting for the next client\r", s.peer);
            s.control.shutdown();
        }
        dbg.clear_debug_state();
        // A machine still frozen by `-S` stays frozen until a client resumes it.
        dbg.resume = Resume::Continue;
    }

    /// Services the client (accepts one if none is attached) and says whether the machine may run.
    /// A pending reverse resume is left for [`GdbServer::run_reverse`].
    pub fn poll(&mut self, dbg: &mut Debuggee) -> Gate {
        if self.session.is_none() {
            if let Some((stream, peer)) = self.accept() {
                self.open_session(dbg, stream, peer);
            }
        }
        let Some(session) = self.session.as_mut() else {
            if self.frozen {
                std::thread::sleep(POLL);
                return Gate::Wait;
            }
            return Gate::Run(u64::MAX);
        };
        let halted = matches!(session.sm, Some(GdbStubStateMachine::Idle(_)));
        let mut input = Vec::new();
        let mut closed = false;
        let first = if halted {
            match session.rx.recv_timeout(POLL) {
                Ok(b) => Some(b),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    closed = true;
                    None
                }
            }
        } else {
            match session.rx.try_recv() {
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
            while let Ok(b) = session.rx.try_recv() {
                input.extend(b);
            }
        }
        for byte in input {
            let Some(session) = self.session.as_mut() else { break };
            let bytes = match session.check.push(byte) {
                Checked::Pass(bytes) => bytes,
                Checked::Pending => continue,
                Checked::Resend => {
                    let _ = session.control.write_all(b"-");
                    continue;
                }
            };
            for byte in bytes {
                if let Some(gate) = self.feed(dbg, byte) {
                    return gate;
                }
            }
        }
        if closed {
            self.close(dbg, "closed the connection");
        }
        let running =
            matches!(self.session.as_ref().and_then(|s| s.sm.as_ref()), Some(GdbStubStateMachine::Running(_)));
        if running && dbg.step_done() {
            // A step that needs no instruction (see `Debuggee::watch_stepped`).
            if let (_, Some(gate)) = self.report(dbg, &StopReason::BudgetExhausted) {
                return gate;
            }
            return Gate::Wait;
        }
        match self.session.as_ref().and_then(|s| s.sm.as_ref()) {
            Some(GdbStubStateMachine::Idle(_)) => Gate::Wait,
            Some(_) => {
                self.frozen = false;
                Gate::Run(if let Resume::Step { .. } = dbg.resume { 1 } else { ATTACHED_CHUNK })
            }
            None if self.frozen => Gate::Wait,
            None => Gate::Run(u64::MAX),
        }
    }

    /// Hands one byte to gdbstub; a gate if the session ended in a way the run loop must know about.
    fn feed(&mut self, dbg: &mut Debuggee, byte: u8) -> Option<Gate> {
        let session = self.session.as_mut()?;
        let sm = session.sm.take()?;
        let was_halted = dbg.resume == Resume::Halted;
        // gdbstub should never panic, but a client must not be able to take the machine down if it did.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let sm = match sm {
                GdbStubStateMachine::Idle(s) => s.incoming_data(dbg, byte),
                GdbStubStateMachine::Running(s) => s.incoming_data(dbg, byte),
                other => Ok(other),
            }?;
            match sm {
                GdbStubStateMachine::CtrlCInterrupt(s) => {
                    let reason = (!was_halted).then(|| MultiThreadStopReason::SignalWithThread {
                        tid: tid(dbg.current),
                        signal: Signal::SIGINT,
                    });
                    dbg.resume = Resume::Halted;
                    s.interrupt_handled(dbg, reason)
                }
                other => Ok(other),
            }
        }));
        let sm = match result {
            Ok(Ok(sm)) => sm,
            Ok(Err(e)) => {
                self.close(dbg, &format!("dropped: {}", first_sentence(&e.to_string())));
                return None;
            }
            Err(_) => {
                self.close(dbg, "dropped: internal error handling a packet");
                return None;
            }
        };
        match sm {
            GdbStubStateMachine::Disconnected(s) => match s.get_reason() {
                DisconnectReason::Kill => {
                    eprintln!("rewind: gdb: killed by the client\r");
                    self.close_quietly();
                    Some(Gate::Exit(0))
                }
                DisconnectReason::TargetExited(code) => {
                    self.close_quietly();
                    Some(Gate::Exit(code as i32))
                }
                DisconnectReason::TargetTerminated(_) => {
                    self.close_quietly();
                    Some(Gate::Exit(1))
                }
                DisconnectReason::Disconnect => {
                    self.close(dbg, "detached");
                    None
                }
            },
            sm => {
                if matches!(sm, GdbStubStateMachine::Idle(_)) {
                    dbg.resume = Resume::Halted;
                }
                if let Some(s) = self.session.as_mut() {
                    s.sm = Some(sm);
                }
                None
            }
        }
    }

    fn close_quietly(&mut self) {
        if let Some(s) = self.session.take() {
            s.control.shutdown();
        }
    }

    /// Tells the client why the machine stopped. Returns a gate if the run loop must act (exit), or `None` to
    /// go on as usual; `handled` says whether gdb took the stop (the run loop must not treat it itself).
    pub fn report(&mut self, dbg: &mut Debuggee, stop: &StopReason) -> (bool, Option<Gate>) {
        let running =
            matches!(self.session.as_ref().and_then(|s| s.sm.as_ref()), Some(GdbStubStateMachine::Running(_)));
        if !running {
            return (false, None);
        }
        let was_watch_step = dbg.watch_stepped.take();
        let reason = match *stop {
            StopReason::BudgetExhausted => match dbg.resume {
                Resume::Step { hart, .. } if dbg.step_done() => {
                    dbg.current = hart;
                    MultiThreadStopReason::SignalWithThread { tid: tid(hart), signal: Signal::SIGTRAP }
                }
                _ => {
                    dbg.watch_stepped = was_watch_step;
                    return (false, None);
                }
            },
            StopReason::Breakpoint { hart, .. } => {
                if let Resume::Step { hart: h, from } = dbg.resume {
                    // The stepping hart sits on a breakpoint it has not executed yet: step over it (the engine
                    // lets it pass on the next run).
                    if h == hart && dbg.machine.hart(h).is_some_and(|x| x.icount == from) {
                        return (true, None);
                    }
                }
                dbg.current = hart;
                MultiThreadStopReason::SwBreak(tid(hart))
            }
            StopReason::Watchpoint { hart, watchpoint, addr, kind } => {
                dbg.current = hart;
                let gdb_kind = match (watchpoint.kind, kind) {
                    (WatchKind::Write, _) => gdbstub::target::ext::breakpoints::WatchKind::Write,
                    (WatchKind::Read, _) => gdbstub::target::ext::breakpoints::WatchKind::Read,
                    (WatchKind::Access, AccessKind::Read | AccessKind::Write) => {
                        gdbstub::target::ext::breakpoints::WatchKind::ReadWrite
                    }
                };
                // gdb matches the address against its watchpoints' ranges: report one inside the range.
                let end = watchpoint.addr.saturating_add(watchpoint.len.max(1) - 1);
                let addr = addr.clamp(watchpoint.addr, end);
                dbg.watch_stepped = Some(hart);
                dbg.shadow_pc = dbg.machine.last_watch_hit().filter(|a| a.hart == hart).map(|a| (hart, a.pc));
                MultiThreadStopReason::Watch { tid: tid(hart), kind: gdb_kind, addr }
            }
            StopReason::Poweroff { code } => MultiThreadStopReason::Exited(code as u8),
            StopReason::Idle { .. } | StopReason::Reset => return (false, None),
        };
        self.report_reason(dbg, reason)
    }

    /// Executes a pending reverse resume (with `--reverse`) and reports where it stopped; `None` if gdb did not
    /// ask for one.
    pub fn run_reverse(&mut self, dbg: &mut Debuggee) -> Option<Gate> {
        let running =
            matches!(self.session.as_ref().and_then(|s| s.sm.as_ref()), Some(GdbStubStateMachine::Running(_)));
        if !running {
            return None;
        }
        let hart = match dbg.resume {
            Resume::ReverseStep { hart } => hart,
            Resume::ReverseContinue => dbg.current,
            _ => return None,
        };
        let Some(history) = dbg.inputs.history() else {
            // gdb would only say "Target remote does not support this command": say how to get a history.
            self.console_message(
                "rewind: no execution history to go back through: run with --reverse, or record the run \
                 (rewind record) and debug its replay (rewind replay FILE -s)\n",
            );
            let reason = MultiThreadStopReason::ReplayLog { tid: Some(tid(hart)), pos: ReplayLogPosition::Begin };
            return Some(self.report_reason(dbg, reason).1.unwrap_or(Gate::Wait));
        };
        let result = match dbg.resume {
            Resume::ReverseStep { .. } => history.reverse_step(&mut dbg.machine),
            _ => history.reverse_continue(&mut dbg.machine),
        };
        let reason = match result {
            TimelineStop::Machine(StopReason::Breakpoint { hart, .. }) => {
                dbg.current = hart;
                MultiThreadStopReason::SwBreak(tid(hart))
            }
            TimelineStop::Machine(StopReason::Watchpoint { hart, watchpoint, addr, .. }) => {
                dbg.current = hart;
                let end = watchpoint.addr.saturating_add(watchpoint.len.max(1) - 1);
                let kind = match watchpoint.kind {
                    WatchKind::Write => gdbstub::target::ext::breakpoints::WatchKind::Write,
                    WatchKind::Read => gdbstub::target::ext::breakpoints::WatchKind::Read,
                    WatchKind::Access => gdbstub::target::ext::breakpoints::WatchKind::ReadWrite,
                };
                MultiThreadStopReason::Watch { tid: tid(hart), kind, addr: addr.clamp(watchpoint.addr, end) }
            }
            TimelineStop::HistoryStart => {
                MultiThreadStopReason::ReplayLog { tid: Some(tid(hart)), pos: ReplayLogPosition::Begin }
            }
            TimelineStop::HistoryEnd { .. } => {
                MultiThreadStopReason::ReplayLog { tid: Some(tid(hart)), pos: ReplayLogPosition::End }
            }
            TimelineStop::Machine(_) => {
                MultiThreadStopReason::SignalWithThread { tid: tid(hart), signal: Signal::SIGTRAP }
            }
            TimelineStop::Diverged(why) => {
                eprintln!("rewind: reverse execution failed: {why}\r");
                MultiThreadStopReason::SignalWithThread { tid: tid(hart), signal: Signal::SIGTRAP }
            }
        };
        match self.report_reason(dbg, reason) {
            (_, Some(gate)) => Some(gate),
            _ => Some(Gate::Wait),
        }
    }

    /// Shows `text` in gdb's console while the client waits for a stop (an `O` packet).
    fn console_message(&mut self, text: &str) {
        let Some(session) = self.session.as_mut() else { return };
        let body: String = std::iter::once("O".to_string()).chain(text.bytes().map(|b| format!("{b:02x}"))).collect();
        let sum = body.bytes().fold(0u8, |s, b| s.wrapping_add(b));
        let _ = session.control.write_all(format!("${body}#{sum:02x}").as_bytes());
    }

    /// Tells a running client that a replay reached the end of its recording.
    pub fn report_history_end(&mut self, dbg: &mut Debuggee) -> Option<Gate> {
        let running =
            matches!(self.session.as_ref().and_then(|s| s.sm.as_ref()), Some(GdbStubStateMachine::Running(_)));
        if !running {
            return Some(Gate::Wait);
        }
        let reason = MultiThreadStopReason::ReplayLog { tid: Some(tid(dbg.current)), pos: ReplayLogPosition::End };
        self.report_reason(dbg, reason).1.or(Some(Gate::Wait))
    }

    /// Hands a stop to gdbstub.
    fn report_reason(&mut self, dbg: &mut Debuggee, reason: MultiThreadStopReason<u64>) -> (bool, Option<Gate>) {
        let Some(session) = self.session.as_mut() else { return (false, None) };
        let Some(GdbStubStateMachine::Running(s)) = session.sm.take() else { return (false, None) };
        dbg.resume = Resume::Halted;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.report_stop(dbg, reason)));
        match result {
            Ok(Ok(GdbStubStateMachine::Disconnected(d))) => {
                let code = match d.get_reason() {
                    DisconnectReason::TargetExited(c) => c as i32,
                    _ => 0,
                };
                self.close_quietly();
                (true, Some(Gate::Exit(code)))
            }
            Ok(Ok(sm)) => {
                session.sm = Some(sm);
                (true, None)
            }
            Ok(Err(e)) => {
                self.close(dbg, &format!("dropped: {}", first_sentence(&e.to_string())));
                (true, None)
            }
            Err(_) => {
                self.close(dbg, "dropped: internal error reporting a stop");
                (true, None)
            }
        }
    }
}

/// gdbstub's messages can run on for several sentences; the log keeps one line.
fn first_sentence(s: &str) -> &str {
    s.split(". ").next().unwrap_or(s).lines().next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_qemu() {
        assert_eq!(parse_endpoint("tcp::1234").unwrap(), Endpoint::Tcp("127.0.0.1:1234".into()));
        assert_eq!(parse_endpoint("tcp:0.0.0.0:99").unwrap(), Endpoint::Tcp("0.0.0.0:99".into()));
        assert_eq!(parse_endpoint("tcp:localhost:5,server,nowait").unwrap(), Endpoint::Tcp("localhost:5".into()));
        assert_eq!(parse_endpoint("tcp:[::1]:7").unwrap(), Endpoint::Tcp("[::1]:7".into()));
        assert_eq!(parse_endpoint("unix:/tmp/g.sock,server").unwrap(), Endpoint::Unix("/tmp/g.sock".into()));
        assert!(parse_endpoint("tcp::http").is_err());
        assert!(parse_endpoint("unix:").is_err());
    }
}
