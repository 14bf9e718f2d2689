//! A machine with its history: the inputs it received (from a recording, or logged live) and checkpoints.
//! Because execution is a pure function of the inputs, any earlier point can be reached again: restore the
//! nearest checkpoint before it and run forward to the exact instruction count. Reverse stepping and reverse
//! continue are built on that.

use crate::checkpoint::CheckpointStore;
use crate::driver::stamp;
use crate::log::Event;
use rewind::{DeviceId, DeviceInput, Machine, StopReason};

use TimelineStop as Stop;

/// Why a timeline operation stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimelineStop {
    Machine(StopReason),
    /// Reverse execution reached the beginning of the recorded history.
    HistoryStart,
    /// Forward execution reached the end of the known history: the `End` of a finished recording (with its
    /// reason), or the last input of a cut-off one, or the live frontier.
    HistoryEnd {
        reason: Option<String>,
    },
    /// Replaying diverged from the recorded inputs.
    Diverged(String),
}

pub struct Timeline {
    pub machine: Machine,
    /// Inputs and idle skips, in execution order.
    events: Vec<Event>,
    /// Index of the next event to apply.
    cursor: usize,
    /// No more events will be added (a finished recording): running past the last one ends the history.
    closed: bool,
    checkpoints: CheckpointStore,
    interval: u64,
    next_checkpoint: u64,
}

impl Timeline {
    /// `machine` at its starting point; `events` already recorded (empty for a live run), a checkpoint every
    /// `interval` instructions within `budget` bytes.
    pub fn new(mut machine: Machine, events: Vec<Event>, closed: bool, interval: u64, budget: usize) -> Timeline {
        machine.set_stop_on_idle(true);
        let mut checkpoints = CheckpointStore::new(budget);
        checkpoints.take(&mut machine, 0);
        let next_checkpoint = machine.icount() + interval;
        Timeline { machine, events, cursor: 0, closed, checkpoints, interval: interval.max(1), next_checkpoint }
    }

    pub fn checkpoints(&self) -> &CheckpointStore {
        &self.checkpoints
    }

    pub fn icount(&self) -> u64 {
        self.machine.icount()
    }

    /// True when execution is at the newest point of its history (new input may be given).
    pub fn at_frontier(&self) -> bool {
        self.cursor == self.events.len() && !self.closed
    }

    /// Delivers live input now, and logs it. Going back in time and typing discards the old future.
    pub fn deliver(&mut self, device: DeviceId, input: DeviceInput) {
        self.truncate_future();
        self.events.push(Event::Input { at: stamp(&self.machine), device, input: input.clone() });
        self.cursor = self.events.len();
        self.machine.deliver_input(device, &input);
    }

    /// Skips idle time now (live), and logs it.
    pub fn skip_idle(&mut self) -> bool {
        self.truncate_future();
        let at = stamp(&self.machine);
        let skipped = self.machine.skip_idle();
        if skipped {
            self.events.push(Event::IdleSkip { at });
            self.cursor = self.events.len();
        }
        skipped
    }

    fn truncate_future(&mut self) {
        if self.cursor < self.events.len() {
            self.events.truncate(self.cursor);
        }
        self.closed = false;
    }

    /// Applies the recorded events due at the current point.
    fn apply_due(&mut self, idle: bool) -> Result<(), Stop> {
        while let Some(e) = self.events.get(self.cursor) {
            let now = stamp(&self.machine);
            let at = e.stamp();
            if at.icount > now.icount || (at.icount == now.icount && at.vclock > now.vclock && !idle) {
                return Ok(());
            }
            if at != now {
                return Err(Stop::Diverged(format!("recorded event at {at:?}, execution is at {now:?}")));
            }
            match e.clone() {
                Event::Input { device, input, .. } => {
                    self.machine.deliver_input(device, &input);
                }
                Event::IdleSkip { .. } if !self.machine.skip_idle() => {
                    return Err(Stop::Diverged(format!("recorded idle skip at {at:?}, but the machine is not idle")));
                }
                Event::IdleSkip { .. } => {}
                Event::StateHash { hash, .. } => {
                    let found = self.machine.cpu_hash();
                    if found != hash {
                        return Err(Stop::Diverged(format!(
                            "at {at:?} the state hash is {found:#018x}, the recording has {hash:#018x}"
                        )));
                    }
                }
                Event::End { reason, .. } => return Err(Stop::HistoryEnd { reason: Some(reason) }),
            }
            self.cursor += 1;
        }
        Ok(())
    }

    /// Runs forward at most `budget` instructions, replaying recorded inputs where history exists. At the
    /// frontier of a live history, an idle machine returns `Idle` so the caller can give input or skip.
    pub fn run(&mut self, budget: u64) -> TimelineStop {
        let target = self.icount().saturating_add(budget);
        let mut idle = false;
        loop {
            if let Err(stop) = self.apply_due(idle) {
                return stop;
            }
            if self.icount() >= self.next_checkpoint {
                if self.checkpoints.last_icount().is_none_or(|last| self.icount() > last) {
                    self.checkpoints.take(&mut self.machine, self.cursor);
                }
                self.next_checkpoint = self.icount() + self.interval;
            }
            if self.icount() >= target {
                return TimelineStop::Machine(StopReason::BudgetExhausted);
            }
            let next_event = self.events.get(self.cursor).map(|e| e.stamp().icount).unwrap_or(u64::MAX);
            let run_to = target.min(next_event.max(self.icount() + 1)).min(self.next_checkpoint.max(self.icount() + 1));
            idle = false;
            match self.machine.run(run_to - self.icount()) {
                StopReason::BudgetExhausted => {}
                StopReason::Idle { next_deadline } => {
                    let due_here = self.events.get(self.cursor).is_some_and(|e| e.stamp() == stamp(&self.machine));
                    if due_here {
                        idle = true;
                    } else if self.cursor == self.events.len() {
                        if self.closed {
                            return TimelineStop::HistoryEnd { reason: None };
                        }
                        return TimelineStop::Machine(StopReason::Idle { next_deadline });
                    } else {
                        return TimelineStop::Diverged(format!(
                            "idle at {:?} but the next recorded event is later",
                            stamp(&self.machine)
                        ));
                    }
                }
                other => return TimelineStop::Machine(other),
            }
        }
    }

    /// Moves execution to instruction count `icount` (earlier or later), without stopping at breakpoints.
    pub fn seek(&mut self, icount: u64) -> TimelineStop {
        if icount < self.icount() {
            let Some((index, _, _)) = self.checkpoints.at_or_before(icount) else {
                return TimelineStop::HistoryStart;
            };
            match self.checkpoints.restore(&mut self.machine, index) {
                Some(cursor) => self.cursor = cursor,
                None => return TimelineStop::Diverged("checkpoint restore failed".into()),
            }
            self.next_checkpoint = self.icount() + self.interval;
        }
        let stops = self.machine.suspend_debug_stops();
        let mut result = TimelineStop::Machine(StopReason::BudgetExhausted);
        while self.icount() < icount {
            match self.run(icount - self.icount()) {
                TimelineStop::Machine(StopReason::BudgetExhausted) => {}
                TimelineStop::Machine(StopReason::Idle { .. }) if self.at_frontier() => {
                    // Past the live frontier nothing is known: stop where history ends.
                    result = TimelineStop::HistoryEnd { reason: None };
                    break;
                }
                other => {
                    result = other;
                    break;
                }
            }
        }
        self.machine.restore_debug_stops(stops);
        result
    }

    /// Steps back one instruction (over all harts).
    pub fn reverse_step(&mut self) -> TimelineStop {
        match self.icount().checked_sub(1) {
            Some(target) => {
                let stop = self.seek(target);
                self.machine.step_over_breakpoint_here(0);
                stop
            }
            None => TimelineStop::HistoryStart,
        }
    }

    /// Runs backwards to the most recent breakpoint or watchpoint stop before the current point.
    pub fn reverse_continue(&mut self) -> TimelineStop {
        let origin = self.icount();
        let mut segment_end = origin;
        loop {
            let Some((index, start, _)) = self.checkpoints.at_or_before(segment_end.saturating_sub(1)) else {
                self.seek(0);
                return TimelineStop::HistoryStart;
            };
            if segment_end == 0 {
                return TimelineStop::HistoryStart;
            }
            // Replay this segment with the debug stops active and remember the last stop before segment_end.
            let _ = self.seek(start);
            let _ = index;
            let mut last_hit: Option<(u64, StopReason)> = None;
            while self.icount() < segment_end {
                match self.run(segment_end - self.icount()) {
                    TimelineStop::Machine(s @ (StopReason::Breakpoint { .. } | StopReason::Watchpoint { .. })) => {
                        if self.icount() < origin {
                            last_hit = Some((self.icount(), s));
                        }
                    }
                    TimelineStop::Machine(StopReason::BudgetExhausted) => {}
                    _ => break,
                }
            }
            if let Some((at, stop)) = last_hit {
                let _ = self.seek(at);
                if let StopReason::Breakpoint { hart, .. } = stop {
                    self.machine.step_over_breakpoint_here(hart);
                }
                return TimelineStop::Machine(stop);
            }
            if start == 0 {
                let _ = self.seek(0);
                return TimelineStop::HistoryStart;
            }
            segment_end = start;
        }
    }
}
