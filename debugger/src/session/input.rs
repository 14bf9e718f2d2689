//! The machine's input path: every nondeterministic input of a run (console bytes, idle-time skips) goes through
//! an [`InputPath`], which applies it (a plain run), applies and logs it (a recording) or keeps it in memory for
//! reverse execution; a replay takes its inputs from the recording instead.

use super::stop::Stop;
use anyhow::Result;
use rewind::{DeviceId, DeviceInput, Machine};
use rewind_replay::{Recorder, Timeline};

/// Instructions between two checkpoints, and the memory checkpoints may use.
pub const CHECKPOINT_EVERY: u64 = 20_000_000;
pub const CHECKPOINT_BUDGET: usize = 1 << 30;

/// Where the run loop's nondeterministic inputs go.
pub enum InputPath {
    Live,
    Record(Box<Recorder>),
    /// Live, with the inputs kept in memory and checkpoints taken, so execution can go backwards
    /// (`rewind run --reverse`), or a recording being replayed.
    History(Box<Timeline>),
    /// A recording's events, waiting for the machine to be built (becomes `History`), and what damage cut the
    /// recording short, if any.
    Replay {
        events: Vec<rewind_replay::Event>,
        damage: Option<String>,
    },
}

impl InputPath {
    pub fn deliver(&mut self, m: &mut Machine, device: DeviceId, input: DeviceInput) -> Result<()> {
        match self {
            InputPath::Live => {
                m.deliver_input(device, &input);
            }
            InputPath::Record(r) => r.deliver(m, device, input)?,
            InputPath::History(t) => t.deliver(m, device, input),
            InputPath::Replay { .. } => {}
        }
        Ok(())
    }

    /// True when console input must not reach the guest (a replay's inputs all come from the recording).
    pub fn replaying(&mut self) -> bool {
        match self {
            InputPath::History(t) => !t.at_frontier(),
            InputPath::Record(r) => r.history().is_some_and(|t| !t.at_frontier()),
            InputPath::Replay { .. } => true,
            _ => false,
        }
    }

    /// Runs the machine forward at most `budget` instructions.
    pub fn run(&mut self, m: &mut Machine, budget: u64) -> Result<Stop> {
        match self {
            InputPath::Live | InputPath::Replay { .. } => {
                Stop::forward(rewind_replay::TimelineStop::Machine(m.run(budget)))
            }
            InputPath::Record(r) => Stop::forward(r.run(m, budget)),
            InputPath::History(t) => Stop::forward(t.run(m, budget)),
        }
    }

    /// The in-memory history, when execution can go backwards.
    pub fn history(&mut self) -> Option<&mut Timeline> {
        match self {
            InputPath::History(t) => Some(t),
            InputPath::Record(r) => r.history(),
            _ => None,
        }
    }

    pub fn skip_idle(&mut self, m: &mut Machine) -> bool {
        match self {
            InputPath::Live => m.skip_idle(),
            InputPath::Record(r) => r.skip_idle(m),
            InputPath::History(t) => t.skip_idle(m),
            InputPath::Replay { .. } => false,
        }
    }

    /// Moves an idle machine's clock on to `ticks` at most (see [`Machine::skip_idle_until`]).
    pub fn skip_idle_until(&mut self, m: &mut Machine, ticks: u64) -> bool {
        match self {
            InputPath::Live => m.skip_idle_until(ticks),
            InputPath::Record(r) => r.skip_idle_until(m, ticks),
            InputPath::History(t) => t.skip_idle_until(m, ticks),
            InputPath::Replay { .. } => false,
        }
    }

    /// Called after every run chunk.
    pub fn checkpoint(&mut self, m: &mut Machine) -> Result<()> {
        if let InputPath::Record(r) = self {
            r.checkpoint(m)?;
        }
        Ok(())
    }

    pub fn finish(self, m: &mut Machine, reason: &str) -> Result<()> {
        if let InputPath::Record(r) = self {
            r.finish(m, reason)?;
        }
        Ok(())
    }
}
