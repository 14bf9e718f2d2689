//! The run loop: runs the machine a chunk at a time, between chunks polls the front ends and tells them where it
//! stopped, and treats itself what no front end took (idle waits, poweroff, reset, the end of a replay).

use super::frontend::{Command, Frontend, Presence, Reported};
use super::judge::Outcome;
use super::stop::{Direction, Stop, StopEvent};
use super::{exit_code_of, Resume, Session, FAILURE_EXIT, REPLAY_CUT_OFF_EXIT};
use anyhow::Result;
use std::time::{Duration, Instant};

/// Instructions between two looks at the front ends.
const CHUNK: u64 = 2_000_000;

/// The longest an idle machine waits before the run loop looks around again (gdb, the recorder's flush).
const IDLE_WAIT: Duration = Duration::from_millis(50);

/// How long a machine that can never wake sleeps between two looks while a debugger is attached.
const WATCHED_SLEEP: Duration = Duration::from_millis(20);

/// The front ends a session runs with, polled in this order.
pub type Frontends<'a> = [&'a mut dyn Frontend];

impl Session {
    /// Runs the machine until a front end, the guest or the recording ends the session; the exit code.
    pub fn run(&mut self, frontends: &mut Frontends) -> Result<i32> {
        self.pacing.rebase(self.machine.now());
        let code = self.run_loop(frontends)?;
        let output = self.output.take();
        self.show_output(frontends, &output);
        Ok(code)
    }

    fn run_loop(&mut self, frontends: &mut Frontends) -> Result<i32> {
        loop {
            let mut chunk = self.budget.map_or(CHUNK, |b| b.min(CHUNK));
            if chunk == 0 {
                let at = self.machine.icount();
                let why = format!("--max-insns reached at instruction {at}");
                self.ended = Some(format!("stopped: {why}"));
                self.outcome = Some(Outcome::TimedOut(why));
                return Ok(0);
            }
            if let Some(code) = self.quit.take() {
                return Ok(code);
            }
            if self.paused {
                // Stopped by the monitor: the front ends are looked after, virtual time stands still.
                if let Command::Quit(code) = self.poll(frontends, IDLE_WAIT)? {
                    return Ok(code);
                }
                self.pacing.rebase(self.machine.now());
                continue;
            }
            let command = self.poll(frontends, Duration::ZERO)?;
            if std::mem::take(&mut self.interrupt) {
                let stop = Stop { event: StopEvent::Interrupted, direction: Direction::Forward };
                if let Reported::Quit(code) = self.report(frontends, &stop) {
                    return Ok(code);
                }
                continue;
            }
            match command {
                Command::Run(n) => chunk = chunk.min(n),
                Command::Halt => {
                    // Halted for a debugger: virtual time stands still meanwhile, as the guest's clock does
                    // under QEMU's gdb stub.
                    self.pacing.rebase(self.machine.now());
                    continue;
                }
                Command::Quit(code) => return Ok(code),
            }
            if let Some(stop) = self.run_reverse() {
                self.pacing.rebase(self.machine.now());
                match self.report(frontends, &stop) {
                    Reported::Quit(code) => return Ok(code),
                    _ => continue,
                }
            }
            let before = self.machine.icount();
            let stop = self.inputs.run(&mut self.machine, chunk)?;
            if let StopEvent::HistoryEnd { reason } = &stop.event {
                let output = self.output.take();
                self.show_output(frontends, &output);
                match self.report(frontends, &stop) {
                    Reported::Quit(code) => return Ok(code),
                    Reported::Taken => continue,
                    Reported::Ignored => {
                        self.bar.finish();
                        return Ok(self.end_of_history(frontends, reason.clone()));
                    }
                }
            }
            if let Some(b) = self.budget.as_mut() {
                *b -= self.machine.icount().saturating_sub(before);
            }
            let output = self.output.take();
            self.bar.set(self.machine.icount());
            self.show_output(frontends, &output);
            self.inputs.checkpoint(&mut self.machine)?;
            // Judged where the recording is, so a replay of the run gets to the same end.
            if let Some(judge) = self.judge.as_mut().filter(|_| !self.inputs.replaying()) {
                if let Some(outcome) = judge.check(&output, &self.machine) {
                    let (code, ended) = match &outcome {
                        Outcome::Failed(why) => {
                            let at = self.machine.icount();
                            say(frontends, &format!("rewind: guest failure at instruction {at}: {why}"));
                            (FAILURE_EXIT, "guest failure".to_string())
                        }
                        Outcome::Passed(line) => (0, format!("passed: {line}")),
                        Outcome::TimedOut(why) => (0, format!("stopped: {why}")),
                    };
                    self.ended = Some(ended);
                    self.outcome = Some(outcome);
                    return Ok(code);
                }
            }
            // A replay's poweroff (or -no-reboot reset) is not the end of the session: the recording's end follows at the same point
            // and is reported as the end of the history, from which a debugger can go back.
            let replay_end = self.replay_damage.is_some() && self.ends_the_run(&stop.event);
            if !replay_end {
                match self.report(frontends, &stop) {
                    Reported::Quit(code) => return Ok(code),
                    Reported::Taken => continue,
                    Reported::Ignored => {}
                }
            }
            if let Some(code) = self.settle(frontends, stop.event)? {
                return Ok(code);
            }
        }
    }

    /// Polls every front end, giving them `wait` between them to wait for input; what the machine may do.
    fn poll(&mut self, frontends: &mut Frontends, wait: Duration) -> Result<Command> {
        if let Some(signal) = crate::signals::terminated() {
            say(frontends, &format!("rewind: terminated by signal {signal}"));
            return Ok(Command::Quit(128 + signal));
        }
        let until = Instant::now() + wait;
        let mut verdict = Command::Run(u64::MAX);
        for frontend in frontends.iter_mut() {
            match frontend.poll(self, until.saturating_duration_since(Instant::now()))? {
                Command::Quit(code) => return Ok(Command::Quit(code)),
                Command::Halt => verdict = Command::Halt,
                Command::Run(n) => {
                    if let Command::Run(m) = verdict {
                        verdict = Command::Run(m.min(n));
                    }
                }
            }
        }
        Ok(verdict)
    }

    /// Tells every front end about `stop`: taken if one of them took it.
    fn report(&mut self, frontends: &mut Frontends, stop: &Stop) -> Reported {
        let mut verdict = Reported::Ignored;
        for frontend in frontends.iter_mut() {
            match frontend.report(self, stop) {
                Reported::Quit(code) => return Reported::Quit(code),
                Reported::Taken => verdict = Reported::Taken,
                Reported::Ignored => {}
            }
        }
        verdict
    }

    /// Executes a pending reverse step or continue; where it stopped.
    fn run_reverse(&mut self) -> Option<Stop> {
        let hart = match self.debug.resume {
            Resume::ReverseStep { hart } => hart,
            Resume::ReverseContinue => self.debug.current,
            _ => return None,
        };
        let reverse = std::mem::replace(&mut self.debug.resume, Resume::Halted);
        let Some(history) = self.inputs.history() else {
            return Some(Stop { event: StopEvent::NoHistory, direction: Direction::Backward { hart } });
        };
        let stop = match reverse {
            Resume::ReverseStep { .. } => history.reverse_step(&mut self.machine),
            _ => history.reverse_continue(&mut self.machine),
        };
        Some(Stop::backward(stop, hart))
    }

    /// Whether the guest ended the run with `event`: its poweroff, or a reset under `-no-reboot`. A replay runs on
    /// to the recording's end there, which says how the run ended.
    fn ends_the_run(&self, event: &StopEvent) -> bool {
        matches!(event, StopEvent::Poweroff { .. }) || (self.no_reboot && matches!(event, StopEvent::Reset))
    }

    /// Treats a stop no front end took; an exit code if it ends the session.
    fn settle(&mut self, frontends: &mut Frontends, event: StopEvent) -> Result<Option<i32>> {
        Ok(match event {
            StopEvent::Idle { next_deadline } => self.idle(frontends, next_deadline)?,
            // A replay runs on to the recording's end event, which says how the recorded run ended (the timeline
            // stops there, or at the last recorded event of a recording cut off).
            event if self.replay_damage.is_some() && self.ends_the_run(&event) => None,
            StopEvent::Poweroff { code } => {
                self.ended = Some(format!("poweroff {code}"));
                Some(code as i32)
            }
            StopEvent::Reset if self.no_reboot => {
                say(frontends, "rewind: the guest reset; -no-reboot ends the run");
                self.ended = Some("reset".to_string());
                Some(0)
            }
            // The guest asked: a reset is part of the run, recorded or replayed like the rest of it.
            StopEvent::Reset => {
                self.machine.reset();
                None
            }
            // Debuggers set breakpoints and watchpoints and take their stops; one that reaches here is a guest's
            // trigger asking for a debugger that is not there, and the run ends at it.
            StopEvent::Breakpoint { hart, pc } => {
                say(frontends, &format!("rewind: hart {hart} stopped at breakpoint {pc:#x}"));
                Some(0)
            }
            StopEvent::Watchpoint { hart, addr, kind, .. } => {
                say(frontends, &format!("rewind: hart {hart} stopped at watchpoint ({kind:?} of {addr:#x})"));
                Some(0)
            }
            StopEvent::Ran
            | StopEvent::HistoryStart
            | StopEvent::HistoryEnd { .. }
            | StopEvent::NoHistory
            | StopEvent::Interrupted
            | StopEvent::Diverged(_) => None,
        })
    }

    /// Every hart sleeps: waits for input until the next timer event is due in real time (see `IdlePacing`), a
    /// little at a time so the front ends and the recorder are looked after; without input, jumps virtual time
    /// to the event. An exit code if the machine can never wake.
    fn idle(&mut self, frontends: &mut Frontends, next_deadline: Option<u64>) -> Result<Option<i32>> {
        let presence = |frontends: &Frontends| frontends.iter().map(|f| f.presence()).max();
        self.pacing.settle(self.machine.now());
        let wait = match next_deadline {
            Some(d) => self.pacing.wait_for(d),
            None if presence(frontends) == Some(Presence::Input) => IDLE_WAIT,
            None => Duration::ZERO,
        }
        .min(IDLE_WAIT);
        let start = Instant::now();
        (self.idle_waiting, self.woke) = (!wait.is_zero(), false);
        let verdict = self.poll(frontends, wait);
        self.idle_waiting = false;
        match verdict? {
            Command::Quit(code) => return Ok(Some(code)),
            Command::Run(_) if !self.woke => std::thread::sleep(wait.saturating_sub(start.elapsed())),
            _ => {}
        }
        if self.woke {
            return Ok(None);
        }
        match (next_deadline, presence(frontends)) {
            (Some(d), _) if !self.pacing.wait_for(d).is_zero() => {}
            (Some(_), _) => {
                self.inputs.skip_idle(&mut self.machine);
            }
            (None, Some(Presence::Input)) => {}
            // With a debugger attached, a machine that can never wake is still worth looking at.
            (None, Some(Presence::Watching)) => std::thread::sleep(WATCHED_SLEEP),
            (None, _) => {
                let output = self.output.take();
                self.show_output(frontends, &output);
                say(
                    frontends,
                    "rewind: every hart waits for an interrupt that can never come (no timer armed, console input \
                     closed); stopping",
                );
                return Ok(Some(1));
            }
        }
        Ok(None)
    }

    /// Says where a run through recorded history ended; the exit code.
    fn end_of_history(&mut self, frontends: &mut Frontends, reason: Option<String>) -> i32 {
        let at = self.machine.icount();
        match (reason, self.replay_damage.as_deref()) {
            (Some(reason), Some(_)) => {
                say(
                    frontends,
                    &format!("rewind: replay complete at instruction {at} ({reason}); state matches the recording"),
                );
                exit_code_of(&reason)
            }
            (None, Some(why)) => {
                say(
                    frontends,
                    &format!("rewind: recording ends early at instruction {at} ({why}); replayed up to there"),
                );
                REPLAY_CUT_OFF_EXIT
            }
            (reason, None) => {
                let why = reason.unwrap_or_else(|| "the recording was cut off".into());
                say(frontends, &format!("rewind: end of the recording at instruction {at} ({why})"));
                0
            }
        }
    }

    /// Hands the guest's console output to the front ends (the console writes it to the terminal, the TUI to its
    /// console pane), around the progress bar.
    fn show_output(&mut self, frontends: &mut Frontends, output: &[u8]) {
        if output.is_empty() {
            return;
        }
        let at = self.machine.icount();
        self.bar.suspend(|| {
            for frontend in frontends.iter_mut() {
                frontend.guest_output(output, at);
            }
        });
    }
}

/// Hands a message of the session's to every front end (the console prints it on the terminal).
fn say(frontends: &mut Frontends, text: &str) {
    for frontend in frontends.iter_mut() {
        frontend.message(text);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{InputPath, Options, SharedOutput, CHECKPOINT_EVERY};
    use super::*;
    use rewind_machines::uart16550::Uart16550;

    const RAM: u64 = 0x8000_0000;

    /// A one-hart machine spinning on `j .` at the start of RAM, with a UART named as the session expects.
    fn session(max_insns: Option<u64>) -> Session {
        let mut b = rewind::MachineBuilder::new(1, "ram", RAM, 0x10000).unwrap();
        b.add_device("serial", 0x1000_0000, 0x100, Box::new(Uart16550::new(10, Box::new(std::io::sink()))));
        b.set_reset_pc(RAM);
        let mut machine = b.build();
        machine.write_phys(RAM, &0x0000_006f_u32.to_le_bytes()).unwrap();
        let options =
            Options { reverse: false, sleep: false, max_insns, checkpoint_every: CHECKPOINT_EVERY, no_reboot: false };
        Session::new(machine, InputPath::Live, SharedOutput::default(), options).unwrap()
    }

    /// A front end that answers each poll from a script (then lets the machine run), and notes what it is told.
    #[derive(Default)]
    struct Scripted {
        commands: Vec<Command>,
        /// Sets a reverse step on the session at the first poll.
        reverse: bool,
        take: bool,
        stops: Vec<Stop>,
        messages: Vec<String>,
    }

    impl Frontend for Scripted {
        fn poll(&mut self, session: &mut Session, _wait: Duration) -> Result<Command> {
            if std::mem::take(&mut self.reverse) {
                session.debug.resume = Resume::ReverseStep { hart: 0 };
            }
            Ok(if self.commands.is_empty() { Command::Run(u64::MAX) } else { self.commands.remove(0) })
        }

        fn report(&mut self, _session: &mut Session, stop: &Stop) -> Reported {
            self.stops.push(stop.clone());
            if self.take {
                Reported::Taken
            } else {
                Reported::Ignored
            }
        }

        fn message(&mut self, text: &str) {
            self.messages.push(text.to_string());
        }

        fn presence(&self) -> Presence {
            Presence::Gone
        }
    }

    #[test]
    fn the_run_ends_when_the_instruction_budget_is_spent_and_every_chunk_is_reported() {
        let mut s = session(Some(5_000_000));
        let mut f = Scripted::default();
        assert_eq!(s.run(&mut [&mut f]).unwrap(), 0);
        assert_eq!(s.machine.icount(), 5_000_000);
        assert_eq!(f.stops.len(), 3, "two full chunks and the rest");
        assert!(f.stops.iter().all(|s| s.event == StopEvent::Ran && s.direction == Direction::Forward));
    }

    #[test]
    fn front_ends_bound_the_chunk_and_one_that_quits_ends_the_session_with_its_code() {
        let mut s = session(None);
        let mut first = Scripted { commands: vec![Command::Run(10), Command::Halt], ..Default::default() };
        let mut second = Scripted {
            commands: vec![Command::Run(u64::MAX), Command::Run(3), Command::Quit(7)],
            ..Default::default()
        };
        assert_eq!(s.run(&mut [&mut first, &mut second]).unwrap(), 7);
        assert_eq!(s.machine.icount(), 10, "a halt runs nothing, the smallest bound wins");
        assert_eq!(second.stops.len(), 1);
    }

    #[test]
    fn a_reverse_step_without_history_is_reported_backwards_and_runs_nothing() {
        let mut s = session(None);
        let mut f = Scripted {
            reverse: true,
            take: true,
            commands: vec![Command::Run(1), Command::Quit(0)],
            ..Default::default()
        };
        assert_eq!(s.run(&mut [&mut f]).unwrap(), 0);
        assert_eq!(f.stops, [Stop { event: StopEvent::NoHistory, direction: Direction::Backward { hart: 0 } }]);
        assert_eq!((s.machine.icount(), s.debug.resume), (0, Resume::Halted));
    }

    #[test]
    fn a_breakpoint_no_front_end_takes_ends_the_run_with_a_message_to_every_front_end() {
        let mut s = session(None);
        s.add_breakpoint(RAM);
        let (mut a, mut b) = (Scripted::default(), Scripted::default());
        assert_eq!(s.run(&mut [&mut a, &mut b]).unwrap(), 0);
        for f in [&a, &b] {
            assert_eq!(f.messages, ["rewind: hart 0 stopped at breakpoint 0x80000000"]);
        }
    }
}
