//! Why the machine stopped, as every front end sees it. Made here, once, from the engine's [`StopReason`] or the
//! timeline's [`TimelineStop`]; front ends turn a [`Stop`] into what they show (gdb: a stop packet, the console:
//! a line of text) and never look at the engine's types.

use anyhow::{bail, Result};
use rewind::{AccessKind, StopReason, Watchpoint};
use rewind_replay::TimelineStop;

/// What a front end is told when it asks to go backwards and there is no history to go through.
pub const NO_HISTORY: &str = "rewind: no execution history to go back through: run with --reverse, or record the \
                              run (rewind record) and debug its replay (rewind replay FILE -s)";

/// Which way execution ran to the stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    /// A reverse step or continue, on behalf of `hart` (the hart stepped back, or the current one).
    Backward {
        hart: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopEvent {
    /// The instruction budget is used up (forwards); a reverse step that ended for no other reason (backwards).
    Ran,
    /// Every hart waits for an interrupt; `next_deadline` is the virtual time of the next timer event, if any.
    Idle {
        next_deadline: Option<u64>,
    },
    /// `hart` is about to execute the instruction at `pc`, where a breakpoint is set.
    Breakpoint {
        hart: usize,
        pc: u64,
    },
    /// `hart`'s last instruction made the access `kind` at `addr`, which `watchpoint` watches.
    Watchpoint {
        hart: usize,
        watchpoint: Watchpoint,
        addr: u64,
        kind: AccessKind,
    },
    Poweroff {
        code: u32,
    },
    Reset,
    /// Going backwards reached the start of the history.
    HistoryStart,
    /// A run through recorded history reached its end; `reason` is how the recorded run ended, if it ended
    /// normally (a recording cut off has none).
    HistoryEnd {
        reason: Option<String>,
    },
    /// Asked to go backwards with no history to go through.
    NoHistory,
    /// A front end stopped the machine (the TUI's stop key): every front end hears it, so gdb shows the stop too.
    Interrupted,
    /// Going backwards left the recorded path.
    Diverged(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stop {
    pub event: StopEvent,
    pub direction: Direction,
}

impl From<StopReason> for StopEvent {
    fn from(reason: StopReason) -> StopEvent {
        match reason {
            StopReason::BudgetExhausted => StopEvent::Ran,
            StopReason::Idle { next_deadline } => StopEvent::Idle { next_deadline },
            StopReason::Breakpoint { hart, pc } => StopEvent::Breakpoint { hart, pc },
            StopReason::Watchpoint { hart, watchpoint, addr, kind } => {
                StopEvent::Watchpoint { hart, watchpoint, addr, kind }
            }
            StopReason::Poweroff { code } => StopEvent::Poweroff { code },
            StopReason::Reset => StopEvent::Reset,
        }
    }
}

impl Stop {
    /// Where a forward run stopped. Leaving the recorded path going forwards ends the session (an error).
    pub fn forward(stop: TimelineStop) -> Result<Stop> {
        let event = match stop {
            TimelineStop::Machine(reason) => reason.into(),
            TimelineStop::Diverged(why) => bail!("execution diverged from the recording: {why}"),
            TimelineStop::HistoryEnd { reason } => StopEvent::HistoryEnd { reason },
            TimelineStop::HistoryStart => StopEvent::HistoryEnd { reason: None },
        };
        Ok(Stop { event, direction: Direction::Forward })
    }

    /// Where a reverse step or continue on behalf of `hart` stopped.
    pub fn backward(stop: TimelineStop, hart: usize) -> Stop {
        let event = match stop {
            TimelineStop::Machine(reason) => reason.into(),
            TimelineStop::Diverged(why) => StopEvent::Diverged(why),
            TimelineStop::HistoryEnd { reason } => StopEvent::HistoryEnd { reason },
            TimelineStop::HistoryStart => StopEvent::HistoryStart,
        };
        Stop { event, direction: Direction::Backward { hart } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forward_run_through_history_ends_at_either_end_of_it() {
        let end = Stop::forward(TimelineStop::HistoryStart).unwrap();
        assert_eq!(end.event, StopEvent::HistoryEnd { reason: None });
        assert!(Stop::forward(TimelineStop::Diverged("hash".into())).is_err());
        let back = Stop::backward(TimelineStop::HistoryStart, 1);
        assert_eq!(back, Stop { event: StopEvent::HistoryStart, direction: Direction::Backward { hart: 1 } });
    }
}
