//! Virtual time. The guest's clock is a function of the instruction clock alone (instructions executed plus idle
//! time skipped), so a recording and its replay see the same time at the same instruction.
//!
//! By default one instruction is one nanosecond; QEMU's `-icount shift=N` makes it 2^N ns. A hart that spins
//! reading the clock and touching no device (U-Boot's autoboot countdown, Linux's `udelay`) would make a two-second
//! busy-wait cost two billion instructions, so such a poll gets its time sped up ([`PollWatch`]). The decision
//! depends only on what the harts execute, so record and replay make it identically.

use serde::{Deserialize, Serialize};

/// Virtual time: timer ticks per second (the `timebase-frequency` boards advertise).
pub const TIMEBASE_HZ: u64 = 10_000_000;

/// Nanoseconds per timer tick (`mtime`, the `time` CSR), from the machine's one timer frequency.
const NS_PER_TICK: u128 = (1_000_000_000 / TIMEBASE_HZ) as u128;

/// The largest `shift` QEMU's `-icount` accepts.
pub const MAX_SHIFT: u32 = 10;

/// Converts between the instruction clock and timer ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timebase {
    /// One instruction-clock unit is `2^shift` ns.
    shift: u32,
}

impl Timebase {
    /// A timebase of `2^shift` ns per instruction; `None` beyond [`MAX_SHIFT`].
    pub fn new(shift: u32) -> Option<Timebase> {
        (shift <= MAX_SHIFT).then_some(Timebase { shift })
    }

    /// Timer ticks at instruction clock `vclock`.
    #[inline]
    pub fn ticks(self, vclock: u64) -> u64 {
        let ns = u128::from(vclock) << self.shift;
        u64::try_from(ns / NS_PER_TICK).unwrap_or(u64::MAX)
    }

    /// The first instruction clock at which the timer reads at least `ticks`.
    pub fn vclock_at(self, ticks: u64) -> u64 {
        let ns = u128::from(ticks) * NS_PER_TICK;
        let unit = 1u128 << self.shift;
        u64::try_from(ns.div_ceil(unit)).unwrap_or(u64::MAX)
    }
}

/// Reads of the clock from one place, each at most this many instruction-clock units after the last, make a poll.
/// Generous enough for U-Boot's `udelay`, whose loop reads the timer through a driver-model call chain.
const POLL_WINDOW: u64 = 256;
/// Consecutive reads before time speeds up: a short wait (Linux's `ndelay`) keeps its exact length.
const POLL_STREAK_MIN: u32 = 8;
/// Time first runs this many times as fast...
const FIRST_SPEEDUP_LOG2: u32 = 4;
/// ...and doubles every this many further reads...
const READS_PER_DOUBLING: u32 = 16;
/// ...up to this (a read's overshoot stays within POLL_WINDOW << 10 units, about a quarter of a millisecond).
const MAX_SPEEDUP_LOG2: u32 = 10;

/// Watches the clock reads for a hart spinning on the clock. A read from the same place (the reading instruction,
/// or the timer register's address) within [`POLL_WINDOW`] of the previous one continues a streak; any device
/// access in between ends it, since what the hart waits for may come from that device. Stores to RAM do not: a
/// polling loop's calls spill registers to the stack. Once the streak is long enough, the instructions between two
/// reads count as more time, 16 times as much at first and up to 1024 times the longer the poll goes on. It is
/// part of the machine's state (checkpoints keep it), as the time it leads to is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollWatch {
    /// Where the last read came from.
    site: u64,
    /// The instruction clock just after the last read, sped-up time included.
    at: u64,
    /// Reads in the current streak.
    streak: u32,
}

impl PollWatch {
    /// A clock read from `site` at instruction clock `vclock`; returns the time to add before the read, in
    /// instruction-clock units.
    pub fn on_read(&mut self, site: u64, vclock: u64) -> u64 {
        let gap = vclock.wrapping_sub(self.at);
        if site == self.site && gap <= POLL_WINDOW {
            self.streak = self.streak.saturating_add(1);
        } else {
            self.streak = 0;
        }
        self.site = site;
        let extra = match self.streak.checked_sub(POLL_STREAK_MIN) {
            Some(over) => {
                let log2 = (FIRST_SPEEDUP_LOG2 + over / READS_PER_DOUBLING).min(MAX_SPEEDUP_LOG2);
                gap * ((1 << log2) - 1)
            }
            None => 0,
        };
        self.at = vclock + extra;
        extra
    }

    /// A device was accessed: the poll, if any, is over.
    pub fn disturb(&mut self) {
        self.streak = 0;
    }

    /// Whether time currently runs sped up.
    #[cfg(test)]
    fn polling(&self) -> bool {
        self.streak >= POLL_STREAK_MIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timebase_converts_both_ways_and_rounds_deadlines_up() {
        let default = Timebase::default();
        assert_eq!(default.ticks(1_000), 10, "1 ns per instruction, 100 ns per tick");
        assert_eq!(default.vclock_at(10), 1_000);
        let slow = Timebase::new(3).unwrap();
        assert_eq!(slow.ticks(1_000), 80, "8 ns per instruction");
        assert_eq!(slow.vclock_at(1), 13, "the first instruction at which 100 ns have passed");
        assert_eq!(slow.ticks(slow.vclock_at(1)), 1);
        assert_eq!(slow.ticks(slow.vclock_at(1) - 1), 0);
        assert!(Timebase::new(MAX_SHIFT + 1).is_none());
        assert_eq!(Timebase::new(MAX_SHIFT).unwrap().ticks(u64::MAX), u64::MAX, "saturates");
        assert_eq!(default.vclock_at(u64::MAX), u64::MAX);
    }

    #[test]
    fn a_tight_poll_speeds_time_up_and_a_device_access_or_another_site_ends_it() {
        let mut watch = PollWatch::default();
        let mut vclock = 1_000;
        let mut extras = Vec::new();
        for _ in 0..200 {
            vclock += 10;
            let extra = watch.on_read(0x8000_1000, vclock);
            vclock += extra;
            extras.push(extra);
        }
        assert!(extras[..POLL_STREAK_MIN as usize].iter().all(|e| *e == 0), "{extras:?}");
        assert_eq!(extras[POLL_STREAK_MIN as usize], 10 * 15, "16 times as fast");
        assert_eq!(*extras.last().unwrap(), 10 * 1023, "up to 1024 times");
        assert!(watch.polling());
        watch.disturb();
        assert!(!watch.polling());
        assert_eq!(watch.on_read(0x8000_1000, vclock + 10), 0);
        // Reads too far apart, or from elsewhere, are no poll.
        let mut watch = PollWatch::default();
        for i in 0..100 {
            assert_eq!(watch.on_read(0x8000_1000, i * (POLL_WINDOW + 1)), 0);
            assert_eq!(PollWatch::default().on_read(i, i), 0);
        }
    }
}
