//! A machine with its history: the inputs it received (from a recording, or logged live) and checkpoints.
//! Because execution is a pure function of the inputs, any earlier point can be reached again: restore the
//! nearest checkpoint before it and run forward to the exact instruction count. Reverse stepping and reverse
//! continue are built on that.

use crate::checkpoint::CheckpointStore;
use crate::log::{stamp, Event};
use rewind::{DeviceId, DeviceInput, Machine, StopReason};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use TimelineStop as Stop;

/// Skips idle time: to the next timer event (`until` is `None`), or at most to `until` ticks.
pub(crate) fn skip_idle(m: &mut Machine, until: Option<u64>) -> bool {
    match until {
        None => m.skip_idle(),
        Some(ticks) => m.skip_idle_until(ticks),
    }
}

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

/// Instructions a seek runs between two progress reports (about a hundredth of a second).
pub const SEEK_STEP: u64 = 5_000_000;

/// Distance before a seek target at which a seek leaves a checkpoint (when it ran further than this).
const NEAR_CHECKPOINT: u64 = 200_000;

pub struct Timeline {
    /// Inputs and idle skips, in execution order.
    events: Vec<Event>,
    /// Index of the next event to apply.
    cursor: usize,
    /// No more events will be added (a finished recording): running past the last one ends the history.
    closed: bool,
    checkpoints: CheckpointStore,
    interval: u64,
    next_checkpoint: u64,
    /// The furthest instruction count execution has reached. Running below it re-executes a past the user has
    /// already seen: runs never straddle it, and `past` is raised for their duration.
    high_water: u64,
    /// Raised while execution re-runs the past (see `high_water`), for whoever must not repeat its effects, such
    /// as console output already shown.
    past: Option<Arc<AtomicBool>>,
}

impl Timeline {
    /// `machine` at its starting point; `events` already recorded (empty for a live run), a checkpoint every
    /// `interval` instructions within `budget` bytes.
    pub fn new(machine: &mut Machine, events: Vec<Event>, closed: bool, interval: u64, budget: usize) -> Timeline {
        machine.set_stop_on_idle(true);
        let mut checkpoints = CheckpointStore::new(budget);
        checkpoints.take(machine, 0);
        let next_checkpoint = machine.icount() + interval;
        let high_water = machine.icount();
        Timeline {
            events,
            cursor: 0,
            closed,
            checkpoints,
            interval: interval.max(1),
            next_checkpoint,
            high_water,
            past: None,
        }
    }

    /// A flag raised while execution re-runs instructions it has run before (reverse execution, seeks), so
    /// their side effects on the host, such as console output, are not repeated.
    pub fn set_past_flag(&mut self, flag: Arc<AtomicBool>) {
        self.past = Some(flag);
    }

    /// The furthest instruction count reached so far.
    pub fn high_water(&self) -> u64 {
        self.high_water
    }

    /// The instruction counts at which input reached the machine (console bytes, network frames), in order.
    pub fn input_stamps(&self) -> impl Iterator<Item = u64> + '_ {
        self.events.iter().filter(|e| matches!(e, Event::Input { .. })).map(|e| e.stamp().icount)
    }

    /// How a finished recording ended: the instruction count and the reason written (`poweroff 0`, `guest
    /// failure`).
    pub fn end(&self) -> Option<(u64, &str)> {
        self.events.iter().rev().find_map(|e| match e {
            Event::End { at, reason } => Some((at.icount, reason.as_str())),
            _ => None,
        })
    }

    /// Where a closed history's evidence ends: the stamp of its last event (`None` while it can still grow).
    pub fn recorded_end(&self) -> Option<u64> {
        if !self.closed {
            return None;
        }
        Some(self.events.last().map_or(0, |e| e.stamp().icount))
    }

    pub fn checkpoints(&self) -> &CheckpointStore {
        &self.checkpoints
    }

    /// True when execution is at the newest point of its history (new input may be given).
    pub fn at_frontier(&self) -> bool {
        self.cursor == self.events.len() && !self.closed
    }

    /// Delivers live input now, and logs it. Going back in time and typing discards the old future.
    pub fn deliver(&mut self, m: &mut Machine, device: DeviceId, input: DeviceInput) {
        self.truncate_future();
        self.events.push(Event::Input { at: stamp(m), device, input: input.clone() });
        self.cursor = self.events.len();
        m.deliver_input(device, &input);
    }

    /// Skips idle time now (live), to the next timer event, and logs it.
    pub fn skip_idle(&mut self, m: &mut Machine) -> bool {
        self.idle(m, None)
    }

    /// Moves idle time on to `ticks` at most (live, see [`Machine::skip_idle_until`]), and logs it.
    pub fn skip_idle_until(&mut self, m: &mut Machine, ticks: u64) -> bool {
        self.idle(m, Some(ticks))
    }

    pub(crate) fn idle(&mut self, m: &mut Machine, until: Option<u64>) -> bool {
        self.truncate_future();
        let at = stamp(m);
        let skipped = skip_idle(m, until);
        if skipped {
            self.events.push(Event::idle(at, until));
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
    fn apply_due(&mut self, m: &mut Machine, idle: bool) -> Result<(), Stop> {
        while let Some(e) = self.events.get(self.cursor) {
            let now = stamp(m);
            let at = e.stamp();
            if at.icount > now.icount || (at.icount == now.icount && at.vclock > now.vclock && !idle) {
                return Ok(());
            }
            if at != now {
                return Err(Stop::Diverged(format!("recorded event at {at:?}, execution is at {now:?}")));
            }
            match e.clone() {
                Event::Input { device, input, .. } => {
                    m.deliver_input(device, &input);
                }
                Event::IdleSkip { .. } if !m.skip_idle() => {
                    return Err(Stop::Diverged(format!("recorded idle skip at {at:?}, but the machine is not idle")));
                }
                Event::IdleUntil { ticks, .. } if !m.skip_idle_until(ticks) => {
                    return Err(Stop::Diverged(format!("recorded idle time at {at:?}, but the machine is not idle")));
                }
                Event::IdleSkip { .. } | Event::IdleUntil { .. } => {}
                Event::StateHash { hash, parts, ram_pages, .. } => {
                    let now_parts = m.state_parts();
                    let mut differing: Vec<String> = parts
                        .iter()
                        .filter(|(name, h)| !now_parts.iter().any(|(n, x)| n == name && x == h))
                        .map(|(name, _)| name.clone())
                        .collect();
                    if m.cpu_hash() != hash && differing.is_empty() {
                        differing.push("machine state".into());
                    }
                    let base = m.ram().base();
                    differing.extend(
                        ram_pages
                            .iter()
                            .filter(|(page, h)| m.ram_page_hash(*page as usize).map(|x| x as u32) != Some(*h))
                            .take(8)
                            .map(|(page, _)| format!("RAM page {:#x}", base + *page as u64 * 4096)),
                    );
                    if !differing.is_empty() {
                        return Err(Stop::Diverged(format!(
                            "the state differs at instruction {}: {}",
                            at.icount,
                            differing.join(", ")
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
    pub fn run(&mut self, m: &mut Machine, budget: u64) -> TimelineStop {
        let target = m.icount().saturating_add(budget);
        let mut idle = false;
        loop {
            if let Err(stop) = self.apply_due(m, idle) {
                return stop;
            }
            // A finished recording ends where its evidence ends: its last event. Running further would invent a
            // future that was never recorded (a recording cut off by a crash has no `End` event).
            if self.closed && self.cursor == self.events.len() {
                return TimelineStop::HistoryEnd { reason: None };
            }
            if m.icount() >= self.next_checkpoint {
                if self.checkpoints.last_icount().is_none_or(|last| m.icount() > last) {
                    self.checkpoints.take(m, self.cursor);
                }
                self.next_checkpoint = m.icount() + self.interval;
            }
            if m.icount() >= target {
                return TimelineStop::Machine(StopReason::BudgetExhausted);
            }
            let next_event = self.events.get(self.cursor).map(|e| e.stamp().icount).unwrap_or(u64::MAX);
            let mut run_to = target.min(next_event.max(m.icount() + 1)).min(self.next_checkpoint.max(m.icount() + 1));
            let in_past = m.icount() < self.high_water;
            if in_past {
                run_to = run_to.min(self.high_water);
            }
            if let Some(flag) = &self.past {
                flag.store(in_past, Ordering::Relaxed);
            }
            idle = false;
            let stop = m.run(run_to - m.icount());
            if let Some(flag) = &self.past {
                flag.store(false, Ordering::Relaxed);
            }
            self.high_water = self.high_water.max(m.icount());
            match stop {
                StopReason::BudgetExhausted => {}
                StopReason::Idle { next_deadline } => {
                    let due_here = self.events.get(self.cursor).is_some_and(|e| e.stamp() == stamp(m));
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
                            stamp(m)
                        ));
                    }
                }
                other => return TimelineStop::Machine(other),
            }
        }
    }

    /// Moves execution to instruction count `icount` (earlier or later), without stopping at breakpoints.
    pub fn seek(&mut self, m: &mut Machine, icount: u64) -> TimelineStop {
        self.seek_with_progress(m, icount, &mut |_, _| {})
    }

    /// [`Timeline::seek`], calling `progress(now, target)` every [`SEEK_STEP`] instructions of the way, so a long
    /// seek can show progress and keep a debugger connection alive.
    pub fn seek_with_progress(
        &mut self,
        m: &mut Machine,
        icount: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> TimelineStop {
        if icount < m.icount() {
            let Some((index, _, _)) = self.checkpoints.at_or_before(icount) else {
                return TimelineStop::HistoryStart;
            };
            match self.checkpoints.restore(m, index) {
                Some(cursor) => self.cursor = cursor,
                None => return TimelineStop::Diverged("checkpoint restore failed".into()),
            }
            self.next_checkpoint = m.icount() + self.interval;
        }
        let stops = m.suspend_debug_stops();
        let mut result = TimelineStop::Machine(StopReason::BudgetExhausted);
        // Far from the checkpoint: leave one close to the target, so stepping backwards again is quick.
        let near = icount.saturating_sub(NEAR_CHECKPOINT);
        let mut left_near = m.icount() + NEAR_CHECKPOINT > icount;
        while m.icount() < icount {
            let goal = if left_near { icount } else { near };
            progress(m.icount(), icount);
            match self.run(m, (goal - m.icount()).min(SEEK_STEP)) {
                TimelineStop::Machine(StopReason::BudgetExhausted) => {
                    if !left_near && m.icount() == near {
                        self.checkpoints.take(m, self.cursor);
                        left_near = true;
                    }
                }
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
        m.restore_debug_stops(stops);
        result
    }

    /// Steps back one instruction (over all harts).
    pub fn reverse_step(&mut self, m: &mut Machine) -> TimelineStop {
        match m.icount().checked_sub(1) {
            Some(target) => {
                let stop = self.seek(m, target);
                m.step_over_breakpoint_here(0);
                stop
            }
            None => TimelineStop::HistoryStart,
        }
    }

    /// Runs backwards to the most recent breakpoint or watchpoint stop before the current point.
    pub fn reverse_continue(&mut self, m: &mut Machine) -> TimelineStop {
        let origin = m.icount();
        let mut segment_end = origin;
        loop {
            let Some((index, start, _)) = self.checkpoints.at_or_before(segment_end.saturating_sub(1)) else {
                self.seek(m, 0);
                return TimelineStop::HistoryStart;
            };
            if segment_end == 0 {
                return TimelineStop::HistoryStart;
            }
            // Replay this segment with the debug stops active and remember the last stop before segment_end.
            let _ = self.seek(m, start);
            let _ = index;
            let mut last_hit: Option<(u64, StopReason)> = None;
            while m.icount() < segment_end {
                match self.run(m, segment_end - m.icount()) {
                    TimelineStop::Machine(s @ (StopReason::Breakpoint { .. } | StopReason::Watchpoint { .. })) => {
                        if m.icount() < origin {
                            last_hit = Some((m.icount(), s));
                        }
                    }
                    TimelineStop::Machine(StopReason::BudgetExhausted) => {}
                    _ => break,
                }
            }
            if let Some((at, stop)) = last_hit {
                let _ = self.seek(m, at);
                if let StopReason::Breakpoint { hart, .. } = stop {
                    m.step_over_breakpoint_here(hart);
                }
                return TimelineStop::Machine(stop);
            }
            if start == 0 {
                let _ = self.seek(m, 0);
                return TimelineStop::HistoryStart;
            }
            segment_end = start;
        }
    }
}
