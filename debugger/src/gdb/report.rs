//! What gdb is shown when the machine stops: the one place a session [`Stop`] becomes a gdb stop reply, going
//! forwards or backwards. The server as a front end of the session.

use super::target::tid;
use super::GdbServer;
use crate::session::{Command, Direction, Frontend, Presence, Reported, Resume, Session, Stop, StopEvent, NO_HISTORY};
use crate::term;
use anyhow::Result;
use gdbstub::common::Signal;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, MultiThreadStopReason};
use gdbstub::target::ext::base::reverse_exec::ReplayLogPosition;
use gdbstub::target::ext::breakpoints::WatchKind;
use std::time::Duration;

impl Frontend for GdbServer {
    fn poll(&mut self, session: &mut Session, _wait: Duration) -> Result<Command> {
        Ok(self.serve(session))
    }

    fn report(&mut self, session: &mut Session, stop: &Stop) -> Reported {
        self.report_stop(session, stop)
    }

    /// gdb's console shows only the answers to gdb's own requests; the session's messages go to the terminal.
    fn message(&mut self, _text: &str) {}

    fn presence(&self) -> Presence {
        if self.attached() {
            Presence::Watching
        } else {
            Presence::Gone
        }
    }
}

/// The gdb server's place among the front ends: empty until `-gdb`/`-s` or the monitor's `gdbserver` starts it.
#[derive(Default)]
pub struct GdbSlot(pub Option<GdbServer>);

impl Frontend for GdbSlot {
    fn poll(&mut self, session: &mut Session, wait: Duration) -> Result<Command> {
        if let Some(endpoint) = session.take_gdbserver_request() {
            match &self.0 {
                Some(_) => term::line("rewind: gdbserver: the gdb server is already running"),
                None => match GdbServer::start(&endpoint, false) {
                    Ok(server) => self.0 = Some(server),
                    Err(e) => term::line(&format!("rewind: gdbserver: {e:#}")),
                },
            }
        }
        match self.0.as_mut() {
            Some(server) => server.poll(session, wait),
            None => Ok(Command::Run(u64::MAX)),
        }
    }

    fn report(&mut self, session: &mut Session, stop: &Stop) -> Reported {
        self.0.as_mut().map_or(Reported::Ignored, |s| s.report(session, stop))
    }

    fn message(&mut self, text: &str) {
        if let Some(s) = self.0.as_mut() {
            s.message(text);
        }
    }

    fn presence(&self) -> Presence {
        self.0.as_ref().map_or(Presence::Gone, |s| s.presence())
    }
}

impl GdbServer {
    /// Tells the client why the machine stopped, if it waits for a stop and the stop concerns it.
    pub(super) fn report_stop(&mut self, session: &mut Session, stop: &Stop) -> Reported {
        if let (StopEvent::HistoryEnd { .. }, Direction::Forward) = (&stop.event, stop.direction) {
            // A replay reached the end of its recording: with a client attached, a stop that keeps the session
            // (gdb can go back from there).
            if !self.attached() {
                return Reported::Ignored;
            }
            if !self.running() {
                return Reported::Taken;
            }
            let end = ReplayLogPosition::End;
            let reason = MultiThreadStopReason::ReplayLog { tid: Some(tid(session.debug.current)), pos: end };
            return self.report_reason(session, reason);
        }
        if !self.running() {
            // Only gdb sets breakpoints and watchpoints; one that fires while no client waits for a stop is stale.
            return match stop.event {
                StopEvent::Breakpoint { .. } | StopEvent::Watchpoint { .. } => Reported::Taken,
                _ => Reported::Ignored,
            };
        }
        let was_watch_step = session.debug.watch_stepped.take();
        let reason = match (&stop.event, stop.direction) {
            (StopEvent::Ran, Direction::Forward) => match session.debug.resume {
                Resume::Step { hart, .. } if session.step_done() => {
                    session.debug.current = hart;
                    MultiThreadStopReason::SignalWithThread { tid: tid(hart), signal: Signal::SIGTRAP }
                }
                _ => {
                    session.debug.watch_stepped = was_watch_step;
                    return Reported::Ignored;
                }
            },
            (&StopEvent::Breakpoint { hart, pc }, _) => {
                if let Resume::Step { hart: h, from } = session.debug.resume {
                    // The stepping hart sits on a breakpoint it has not executed yet: step over it (the engine
                    // lets it pass on the next run).
                    if h == hart && session.machine.hart(h).is_some_and(|x| x.icount == from) {
                        return Reported::Taken;
                    }
                }
                session.debug.current = hart;
                if session.machine.breakpoints().contains(&pc) {
                    MultiThreadStopReason::SwBreak(tid(hart))
                } else {
                    // The guest's own trigger asked for the debugger: gdb would take a software-breakpoint stop
                    // where it set none for a breakpoint it removed, and resume; a SIGTRAP it shows.
                    MultiThreadStopReason::SignalWithThread { tid: tid(hart), signal: Signal::SIGTRAP }
                }
            }
            (&StopEvent::Watchpoint { hart, watchpoint, addr, .. }, direction) => {
                session.debug.current = hart;
                let kind = match watchpoint.kind {
                    rewind::WatchKind::Write => WatchKind::Write,
                    rewind::WatchKind::Read => WatchKind::Read,
                    rewind::WatchKind::Access => WatchKind::ReadWrite,
                };
                // gdb matches the address against its watchpoints' ranges: report one inside the range.
                let end = watchpoint.addr.saturating_add(watchpoint.len.max(1) - 1);
                let addr = addr.clamp(watchpoint.addr, end);
                if direction == Direction::Forward {
                    session.debug.watch_stepped = Some(hart);
                    session.debug.shadow_pc =
                        session.machine.last_watch_hit().filter(|a| a.hart == hart).map(|a| (hart, a.pc));
                }
                MultiThreadStopReason::Watch { tid: tid(hart), kind, addr }
            }
            (&StopEvent::Poweroff { code }, Direction::Forward) => MultiThreadStopReason::Exited(code as u8),
            // Another front end (the TUI) stopped the machine: gdb sees it as its own Ctrl-C.
            (StopEvent::Interrupted, _) => {
                MultiThreadStopReason::SignalWithThread { tid: tid(session.debug.current), signal: Signal::SIGINT }
            }
            (_, Direction::Forward) => return Reported::Ignored,
            (StopEvent::HistoryStart, Direction::Backward { hart }) => {
                MultiThreadStopReason::ReplayLog { tid: Some(tid(hart)), pos: ReplayLogPosition::Begin }
            }
            (StopEvent::NoHistory, Direction::Backward { hart }) => {
                // gdb would only say "Target remote does not support this command": say how to get a history.
                self.console_message(&format!("{NO_HISTORY}\n"));
                MultiThreadStopReason::ReplayLog { tid: Some(tid(hart)), pos: ReplayLogPosition::Begin }
            }
            (StopEvent::HistoryEnd { .. }, Direction::Backward { hart }) => {
                MultiThreadStopReason::ReplayLog { tid: Some(tid(hart)), pos: ReplayLogPosition::End }
            }
            (StopEvent::Diverged(why), Direction::Backward { hart }) => {
                term::line(&format!("rewind: reverse execution failed: {why}"));
                MultiThreadStopReason::SignalWithThread { tid: tid(hart), signal: Signal::SIGTRAP }
            }
            // A reverse step that ended for no other reason.
            (_, Direction::Backward { hart }) => {
                MultiThreadStopReason::SignalWithThread { tid: tid(hart), signal: Signal::SIGTRAP }
            }
        };
        self.report_reason(session, reason)
    }

    /// Shows `text` in gdb's console while the client waits for a stop (an `O` packet).
    fn console_message(&mut self, text: &str) {
        let Some(client) = self.client.as_mut() else { return };
        let body: String = std::iter::once("O".to_string()).chain(text.bytes().map(|b| format!("{b:02x}"))).collect();
        let sum = body.bytes().fold(0u8, |s, b| s.wrapping_add(b));
        let _ = client.control.write_all(format!("${body}#{sum:02x}").as_bytes());
    }

    /// Hands a stop to gdbstub.
    fn report_reason(&mut self, session: &mut Session, reason: MultiThreadStopReason<u64>) -> Reported {
        let Some(client) = self.client.as_mut() else { return Reported::Ignored };
        let Some(GdbStubStateMachine::Running(s)) = client.sm.take() else { return Reported::Ignored };
        session.debug.resume = Resume::Halted;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.report_stop(session, reason)));
        match result {
            Ok(Ok(GdbStubStateMachine::Disconnected(d))) => {
                let code = match d.get_reason() {
                    DisconnectReason::TargetExited(c) => c as i32,
                    _ => 0,
                };
                self.close_quietly();
                Reported::Quit(code)
            }
            Ok(Ok(sm)) => {
                client.sm = Some(sm);
                Reported::Taken
            }
            Ok(Err(e)) => {
                self.close(session, &format!("dropped: {}", super::first_sentence(&e.to_string())));
                Reported::Taken
            }
            Err(_) => {
                self.close(session, "dropped: internal error reporting a stop");
                Reported::Taken
            }
        }
    }
}
