//! The session core: the machine, its input path (live, recording, replay, reverse), named snapshots, what
//! debuggers set on it, and the run loop ([`Session::run`]). Front ends (gdb, the console) attach through the
//! [`Frontend`] trait; the session never knows which ones are there.

mod debug;
mod frontend;
mod input;
pub mod judge;
mod output;
mod pacing;
mod run;
mod stop;

pub use debug::{DebugState, Resume};
pub use frontend::{Command, Frontend, Presence, Reported};
pub use input::{InputPath, CHECKPOINT_BUDGET, CHECKPOINT_EVERY};
pub use output::SharedOutput;
pub use stop::{Direction, Stop, StopEvent, NO_HISTORY};

use crate::monitor::{self, DumpDefaults, Monitor, Request, Snapshot};
use crate::progress::Progress;
use crate::symbols::Symbols;
use anyhow::{Context, Result};
use pacing::IdlePacing;
use rewind::{DeviceId, DeviceInput, Machine};
use rewind_replay::Timeline;
use std::collections::BTreeMap;

/// Exit code of a session that stopped at a detected guest failure.
pub const FAILURE_EXIT: i32 = 70;

/// Exit code of a replay whose recording ends before its recorded end (cut off or damaged).
pub const REPLAY_CUT_OFF_EXIT: i32 = 3;

/// How a session runs.
pub struct Options {
    /// Keep a history of a live run, so it can go backwards (`--reverse`).
    pub reverse: bool,
    /// Let an idle guest's clock keep pace with the wall clock (`-icount sleep=on`, see [`IdlePacing`]).
    pub sleep: bool,
    /// Stop after this many instructions (`--max-insns`).
    pub max_insns: Option<u64>,
    /// Instructions between two checkpoints of a history: fewer make going back (and a jump in time) quicker at the
    /// cost of memory.
    pub checkpoint_every: u64,
    /// A guest reset ends the run instead of booting again (`-no-reboot`).
    pub no_reboot: bool,
}

pub struct Session {
    pub machine: Machine,
    /// Where the run's inputs go; with a history, the one reverse execution replays.
    pub inputs: InputPath,
    pub debug: DebugState,
    /// `savevm` snapshots.
    pub snapshots: BTreeMap<String, Snapshot>,
    /// What `x`/`xp` use when a command gives no format (sticky, as in QEMU).
    dump_defaults: DumpDefaults,
    /// The device console input goes to.
    console: DeviceId,
    output: SharedOutput,
    /// While replaying a recording: why it may end before its recorded end.
    replay_damage: Option<String>,
    pacing: IdlePacing,
    /// Instructions left before `--max-insns` stops the run.
    budget: Option<u64>,
    /// How far a replay got, on a terminal.
    bar: Progress,
    /// Set while the run loop waits for input with every hart asleep: input that arrives then finds a guest whose
    /// clock must first catch up with the wall clock.
    idle_waiting: bool,
    /// Input arrived during that wait.
    woke: bool,
    /// Stopped by the monitor's `stop` until `cont`.
    paused: bool,
    /// The monitor's `quit`: the run loop ends with this exit code.
    quit: Option<i32>,
    /// A front end asked to stop the machine; the run loop tells every front end.
    interrupt: bool,
    /// Symbols for addresses (`--symbols`, the `symbols` command).
    symbols: Option<Symbols>,
    /// Where the monitor's `gdbserver` asked the gdb server to listen, until the launcher starts it.
    gdbserver: Option<crate::cli::Endpoint>,
    /// Watches the run for what ends it: a failing guest, `--expect` text, `--timeout` (runs and recordings; a
    /// replay ends where its recording did).
    judge: Option<judge::Judge>,
    /// How the judge ended the run, if it did.
    outcome: Option<judge::Outcome>,
    no_reboot: bool,
    /// How the run ended, when the guest or the verdict ended it: a recording's `End` reason.
    ended: Option<String>,
}

impl Session {
    /// A session on `machine`, whose console writes to `output`. `inputs` is `Live`, `Record` or `Replay`; the
    /// session adds the history that reverse execution needs.
    pub fn new(mut machine: Machine, mut inputs: InputPath, output: SharedOutput, options: Options) -> Result<Session> {
        let console = machine.device_id("serial").context("the board has no serial port")?;
        // A recording keeps its own history (below); a plain run keeps one when asked.
        if options.reverse && matches!(inputs, InputPath::Live) {
            let history = Timeline::new(&mut machine, Vec::new(), false, options.checkpoint_every, CHECKPOINT_BUDGET);
            inputs = InputPath::History(Box::new(history));
        }
        if let InputPath::Record(recorder) = inputs {
            // Checkpoints while recording: the run being recorded can be debugged backwards at once.
            let recorder = Box::new(recorder.with_history(&mut machine, options.checkpoint_every, CHECKPOINT_BUDGET));
            inputs = InputPath::Record(recorder);
        }
        let mut replay_damage = None;
        if let InputPath::Replay { events, damage } = inputs {
            replay_damage = Some(damage.unwrap_or_else(|| "the recording was cut off".into()));
            let history = Timeline::new(&mut machine, events, true, options.checkpoint_every, CHECKPOINT_BUDGET);
            inputs = InputPath::History(Box::new(history));
        }
        if let Some(history) = inputs.history() {
            history.set_past_flag(output.past_flag());
        }
        machine.set_stop_on_idle(true);
        let pacing = IdlePacing::new(options.sleep, machine.now());
        Ok(Session {
            machine,
            inputs,
            debug: DebugState::default(),
            snapshots: BTreeMap::new(),
            dump_defaults: DumpDefaults::default(),
            paused: false,
            quit: None,
            interrupt: false,
            symbols: None,
            gdbserver: None,
            console,
            output,
            replay_damage,
            pacing,
            budget: options.max_insns,
            bar: Progress::new("", 0),
            idle_waiting: false,
            woke: false,
            judge: None,
            outcome: None,
            no_reboot: options.no_reboot,
            ended: None,
        })
    }

    /// Shows how far a replay got (on a terminal), for a replay no debugger stops on the way.
    pub fn show_replay_progress(&mut self) {
        if let Some(end) = self.inputs.history().and_then(|t| t.recorded_end()) {
            self.bar = Progress::new("replaying", end);
        }
    }

    /// Console input from a front end. A replay's input comes from its recording: then this is dropped.
    pub fn console_input(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.woke = true;
        if self.idle_waiting {
            // The guest slept while waiting: its clock catches up with the wall clock before the input arrives,
            // as if time had passed for it too (recorded, so a replay agrees).
            if let Some(now) = self.pacing.wall_ticks() {
                self.inputs.skip_idle_until(&mut self.machine, now);
            }
        }
        if self.inputs.replaying() {
            return Ok(());
        }
        self.inputs.deliver(&mut self.machine, self.console, DeviceInput::console(bytes))
    }

    /// Runs a monitor command (`info registers`, `replay goto N`, ...) for the current hart; the text to show.
    /// `progress` hears how far a long command (a seek) got: (instruction count now, target).
    pub fn monitor(&mut self, line: &str, progress: &mut dyn FnMut(u64, u64)) -> String {
        match self.monitor_checked(line, progress) {
            Ok(text) => text,
            Err(text) => text,
        }
    }

    /// [`Session::monitor`], telling an answer (`Ok`) from an error (`Err`, the error's line).
    pub fn monitor_checked(&mut self, line: &str, progress: &mut dyn FnMut(u64, u64)) -> Result<String, String> {
        let before = self.machine.icount();
        // A bar shows a seek's progress on rewind's terminal too.
        let mut bar: Option<Progress> = None;
        let mut report = |now: u64, target: u64| {
            bar.get_or_insert_with(|| Progress::new("seeking", target)).set(now);
            progress(now, target);
        };
        let breakpoints = self.debug.breakpoint_addresses();
        let mut m = Monitor {
            machine: &mut self.machine,
            hart: self.debug.current,
            phys: &mut self.debug.phys,
            history: self.inputs.history(),
            snapshots: &mut self.snapshots,
            progress: &mut report,
            dump: &mut self.dump_defaults,
            paused: self.paused,
            symbols: self.symbols.as_ref(),
            breakpoints,
            request: None,
        };
        let result = monitor::execute(&mut m, line);
        let request = m.request;
        if self.machine.icount() != before || line.trim_start().starts_with("loadvm") {
            // Execution moved: a watchpoint stop's bookkeeping belongs to the point left behind.
            self.debug.forget_watch_stop();
        }
        let text = result.map_err(|e| format!("{e}\n"))?;
        match request.map(|r| self.carry_out(r)) {
            Some(Err(e)) => Err(format!("{text}{e}\n")),
            _ => Ok(text),
        }
    }

    /// Holds the machine until the monitor's `cont` (QEMU's `-S` without a gdb server).
    pub fn stop(&mut self) {
        self.paused = true;
    }

    /// Whether the monitor's `stop` holds the machine.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Ends a monitor `stop` (a front end resumes the machine).
    pub fn resume_machine(&mut self) {
        self.paused = false;
    }

    /// Stops the machine on a front end's behalf: the run loop reports [`StopEvent::Interrupted`] to every front
    /// end before it runs on.
    pub fn interrupt(&mut self) {
        self.interrupt = true;
    }

    /// Where the monitor's `gdbserver` asked the gdb server to listen, once.
    pub fn take_gdbserver_request(&mut self) -> Option<crate::cli::Endpoint> {
        self.gdbserver.take()
    }

    pub fn symbols(&self) -> Option<&Symbols> {
        self.symbols.as_ref()
    }

    pub fn set_symbols(&mut self, symbols: Option<Symbols>) {
        self.symbols = symbols;
    }

    /// Carries out what a monitor command asked for.
    fn carry_out(&mut self, request: Request) -> Result<()> {
        match request {
            Request::Stop => self.paused = true,
            Request::Cont => self.paused = false,
            Request::Quit => self.quit = Some(0),
            Request::Reset if !matches!(self.inputs, InputPath::Live) => {
                anyhow::bail!("a recording or replay cannot be reset: its log decides what the machine does")
            }
            // A system reset (see `Machine::reset`): the same machine boots again, breakpoints and watchpoints kept.
            Request::Reset => self.machine.reset(),
            Request::Break(addr) => self.add_breakpoint(addr),
            Request::Delete(addr) => {
                if !self.remove_breakpoint(addr) {
                    anyhow::bail!("no breakpoint at {addr:#x}");
                }
            }
            Request::Watch(w) => self.add_watchpoint(w),
            Request::Unwatch(w) => {
                if !self.remove_watchpoint(&w) {
                    anyhow::bail!("no such watchpoint (info breakpoints lists them)");
                }
            }
            Request::Symbols(path) => self.symbols = Some(Symbols::load(&path)?),
            Request::GdbServer(spec) => self.gdbserver = Some(crate::cli::parse_endpoint(&spec)?),
        }
        Ok(())
    }

    /// Judges the run by `criteria` from now on (see [`judge::Judge`]).
    pub fn set_judge(&mut self, criteria: judge::Criteria) {
        self.judge = Some(judge::Judge::new(criteria));
    }

    /// How the judge ended the run, if it did.
    pub fn outcome(&self) -> Option<&judge::Outcome> {
        self.outcome.as_ref()
    }

    /// Ends the session's input path (a recording writes how the run ended: the guest's poweroff, the verdict,
    /// or `quit` when the user or a signal ended it).
    pub fn finish(&mut self) -> Result<()> {
        let reason = self.ended.take().unwrap_or_else(|| QUIT.to_string());
        std::mem::replace(&mut self.inputs, InputPath::Live).finish(&mut self.machine, &reason)
    }
}

/// The `End` reason of a run the user ended (Ctrl-A x, the monitor's `quit`, gdb's `kill`, a signal).
pub const QUIT: &str = "quit";

/// The guest's exit code from a recording's `End` reason (`poweroff N`, `guest failure`; 0 for the others).
pub fn exit_code_of(reason: &str) -> i32 {
    if reason == "guest failure" {
        return FAILURE_EXIT;
    }
    reason.strip_prefix("poweroff ").and_then(|c| c.parse().ok()).unwrap_or(0)
}
