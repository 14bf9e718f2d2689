//! Recording and replaying a run. Both go through the same machine entry points ([`Machine::deliver_input`],
//! [`Machine::skip_idle`]); the recorder writes down where each happened, the replayer makes them happen at the
//! same points again.

use crate::log::{Event, LogError, LogReader, LogWriter, Stamp};
use rewind::{DeviceId, DeviceInput, Machine, StopReason};

/// Where a machine is in its execution.
pub fn stamp(m: &Machine) -> Stamp {
    Stamp { icount: m.icount(), vclock: m.vclock() }
}

/// Records the nondeterministic inputs of a live run.
pub struct Recorder {
    log: LogWriter,
    hash_every: u64,
    next_hash: u64,
}

impl Recorder {
    /// `hash_every`: instructions between state hashes in the log (0: none).
    pub fn new(log: LogWriter, hash_every: u64) -> Recorder {
        Recorder { log, hash_every, next_hash: hash_every }
    }

    /// Delivers `input` now and logs it.
    pub fn deliver(&mut self, m: &mut Machine, device: DeviceId, input: DeviceInput) -> Result<(), LogError> {
        self.log.push(Event::Input { at: stamp(m), device, input: input.clone() });
        m.deliver_input(device, &input);
        // Input is what a crash must not lose: it goes to disk at once.
        self.log.flush()
    }

    /// Skips idle time now and logs it.
    pub fn skip_idle(&mut self, m: &mut Machine) -> bool {
        self.log.push(Event::IdleSkip { at: stamp(m) });
        m.skip_idle()
    }

    /// Called between runs: adds a state hash when one is due and flushes the log.
    pub fn checkpoint(&mut self, m: &Machine) -> Result<(), LogError> {
        if self.hash_every > 0 && m.icount() >= self.next_hash {
            self.log.push(Event::StateHash { at: stamp(m), hash: m.cpu_hash() });
            self.next_hash = m.icount() + self.hash_every;
            self.log.flush()?;
        }
        Ok(())
    }

    /// Ends the recording: a final full state hash and the reason it stopped.
    pub fn finish(mut self, m: &Machine, reason: &str) -> Result<(), LogError> {
        self.log.push(Event::StateHash { at: stamp(m), hash: m.cpu_hash() });
        self.log.push(Event::End { at: stamp(m), reason: reason.to_string() });
        self.log.flush()
    }
}

/// Why a replay stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayStop {
    /// The machine stopped by itself (budget, breakpoint, watchpoint, poweroff...).
    Machine(StopReason),
    /// The log ended: at its `End` event (`reason` from the recording), or early because it was cut off or
    /// damaged (`damage`).
    EndOfLog { at: Stamp, reason: Option<String>, damage: Option<String> },
    /// The replayed machine is not in the recorded state.
    Diverged { at: Stamp, detail: String },
}

/// Re-executes a recording.
pub struct Replayer {
    log: LogReader,
    ended: Option<ReplayStop>,
}

impl Replayer {
    pub fn new(log: LogReader) -> Replayer {
        Replayer { log, ended: None }
    }

    /// Applies the events due at the machine's current point. Returns a stop if the log ended or diverged.
    fn apply_due(&mut self, m: &mut Machine, idle: bool) -> Option<ReplayStop> {
        loop {
            let now = stamp(m);
            let Some(next) = self.log.peek() else {
                return Some(ReplayStop::EndOfLog {
                    at: now,
                    reason: None,
                    damage: self.log.damage().map(String::from),
                });
            };
            let at = next.stamp();
            if at.icount > now.icount || (at.icount == now.icount && at.vclock > now.vclock && !idle) {
                return None;
            }
            if at != now {
                return Some(ReplayStop::Diverged {
                    at: now,
                    detail: format!("the recording has an event at {at:?}, the replay is at {now:?}"),
                });
            }
            match self.log.next_event() {
                Some(Event::Input { device, input, .. }) => {
                    m.deliver_input(device, &input);
                }
                Some(Event::IdleSkip { .. }) if !m.skip_idle() => {
                    return Some(ReplayStop::Diverged {
                        at: now,
                        detail: "the recording skipped idle time here, but the machine cannot".into(),
                    });
                }
                Some(Event::IdleSkip { .. }) => {}
                Some(Event::StateHash { hash, .. }) => {
                    let found = m.cpu_hash();
                    if found != hash {
                        return Some(ReplayStop::Diverged {
                            at: now,
                            detail: format!("state hash {found:#018x}, the recording has {hash:#018x}"),
                        });
                    }
                }
                Some(Event::End { reason, .. }) => {
                    return Some(ReplayStop::EndOfLog { at: now, reason: Some(reason), damage: None });
                }
                None => {}
            }
        }
    }

    /// Replays at most `budget` instructions. The machine must have been built from the recording's header
    /// and have `set_stop_on_idle(true)`.
    pub fn run(&mut self, m: &mut Machine, budget: u64) -> ReplayStop {
        if let Some(stop) = &self.ended {
            return stop.clone();
        }
        let target = m.icount().saturating_add(budget);
        let mut idle = false;
        loop {
            if let Some(stop) = self.apply_due(m, idle) {
                self.ended = Some(stop.clone());
                return stop;
            }
            idle = false;
            if m.icount() >= target {
                return ReplayStop::Machine(StopReason::BudgetExhausted);
            }
            let next = self.log.peek().map(|e| e.stamp().icount).unwrap_or(u64::MAX);
            let run_to = target.min(next.max(m.icount() + 1));
            match m.run(run_to - m.icount()) {
                StopReason::BudgetExhausted => {}
                StopReason::Idle { .. } => idle = true,
                other => return ReplayStop::Machine(other),
            }
        }
    }
}
