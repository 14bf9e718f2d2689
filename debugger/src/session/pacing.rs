//! Idle pacing (QEMU's `-icount sleep=on`).

use rewind::TIMEBASE_HZ;
use std::time::{Duration, Instant};

/// When an idle guest's next timer event is due in real time: virtual time may not run ahead of the wall clock
/// while every hart sleeps, so an idle guest costs no CPU and its clock keeps pace with the host's. A busy guest
/// that runs behind the wall clock has its idle moments skipped at once, so a batch run is not slowed; one that
/// ran ahead of it (JIT-compiled loops retire more than one instruction per nanosecond) keeps its lead, as under
/// QEMU: only the idle time itself is waited for, never the lead paid back. Only live runs pace: in a replay, idle
/// skips come from the recording.
pub struct IdlePacing {
    sleep: bool,
    /// The wall clock and virtual time at the last rebase.
    wall: Instant,
    vclock: u64,
}

impl IdlePacing {
    pub fn new(sleep: bool, vclock: u64) -> IdlePacing {
        IdlePacing { sleep, wall: Instant::now(), vclock }
    }

    /// Starts pacing afresh from now (after the machine stood still for a debugger, or moved in time).
    pub fn rebase(&mut self, vclock: u64) {
        self.wall = Instant::now();
        self.vclock = vclock;
    }

    /// Every hart went idle at virtual time `now`: a guest that ran ahead of the wall clock keeps its lead (the
    /// wall clock is taken to be where the guest is).
    pub fn settle(&mut self, now: u64) {
        if self.wall_ticks().is_some_and(|wall| wall < now) {
            self.rebase(now);
        }
    }

    /// Virtual time (ticks) that corresponds to the wall clock now, when pacing.
    pub fn wall_ticks(&self) -> Option<u64> {
        let elapsed = u64::try_from(self.wall.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.sleep.then(|| self.vclock.saturating_add(elapsed / (1_000_000_000 / TIMEBASE_HZ)))
    }

    /// How long to wait before the timer event at virtual time `deadline` is due.
    pub fn wait_for(&self, deadline: u64) -> Duration {
        match self.wall_ticks() {
            Some(now) => Duration::from_nanos(deadline.saturating_sub(now).saturating_mul(1_000_000_000 / TIMEBASE_HZ)),
            None => Duration::ZERO,
        }
    }
}
