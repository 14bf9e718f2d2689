//! Judging a run as it goes: console text that means the guest failed (a kernel panic, an Oops, `BUG:`, or what
//! `--fail-on` names), a trap loop, a console silent for too long, text that means it passed (`--expect`), and a
//! virtual-time limit (`--timeout`). Everything is judged on the guest's output and virtual time, so the point a
//! run ends at is the same in every replay of it.

use rewind::{Machine, TIMEBASE_HZ};

/// The same fault taken this many times in a row at one instruction is a trap loop.
const TRAP_LOOP: u32 = 10_000;

/// Console text that always means a failed Linux guest, unless `--fail-on none` turns it off: a panic, an oops
/// (`Oops [#1]` on RISC-V and Arm, `Oops: 0002 [#1]` on x86), and the kernel's `BUG:` reports.
pub const DEFAULT_FAILURES: [&str; 4] = ["Kernel panic - not syncing", "Oops [#", "Oops: ", "BUG: "];

/// How a run ended, when the judge ended it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The console showed `--expect` text: the line it is in.
    Passed(String),
    /// The guest failed: why.
    Failed(String),
    /// The run reached its limit (`--timeout`, `--max-insns`) without passing or failing.
    TimedOut(String),
}

/// What a [`Judge`] looks for.
#[derive(Clone, Debug, Default)]
pub struct Criteria {
    pub expect: Vec<String>,
    pub fail_on: Vec<String>,
    /// Virtual-time ticks without console output that mean the guest hung (0: never).
    pub silent_ticks: u64,
    /// Virtual time (ticks) at which the run ends undecided.
    pub deadline: Option<u64>,
}

/// Watches a run's console output and harts for its [`Criteria`].
#[derive(Default)]
pub struct Judge {
    criteria: Criteria,
    tail: Vec<u8>,
    last_output: u64,
}

impl Judge {
    pub fn new(criteria: Criteria) -> Judge {
        let keep = |p: &Vec<String>| p.iter().filter(|p| !p.is_empty()).cloned().collect();
        let criteria = Criteria { expect: keep(&criteria.expect), fail_on: keep(&criteria.fail_on), ..criteria };
        Judge { criteria, tail: Vec::new(), last_output: 0 }
    }

    /// Looks at new console output, the harts and the clock; how the run ended, if it did.
    pub fn check(&mut self, output: &[u8], m: &Machine) -> Option<Outcome> {
        let now = m.now();
        for i in 0..m.hart_count() {
            if let Some(h) = m.hart(i).filter(|h| h.faults.repeats >= TRAP_LOOP) {
                let (cause, pc) = h.faults.last;
                return Some(Outcome::Failed(format!(
                    "trap loop: hart {i} took exception {cause} at pc {pc:#x} {} times in a row",
                    h.faults.repeats
                )));
            }
        }
        if !output.is_empty() {
            self.last_output = now;
            self.tail.extend_from_slice(output);
            let text = String::from_utf8_lossy(&self.tail).into_owned();
            let line_of = |p: &str| text.find(p).map(|at| text[at..].lines().next().unwrap_or(p).trim().to_string());
            // A failure printed in the same stretch of output as the expected text wins: a panic is never a pass.
            if let Some(line) = self.criteria.fail_on.iter().find_map(|p| line_of(p)) {
                return Some(Outcome::Failed(format!("console: {line}")));
            }
            if let Some(line) = self.criteria.expect.iter().find_map(|p| line_of(p)) {
                return Some(Outcome::Passed(format!("console: {line}")));
            }
            // Keep enough to match a pattern split across two stretches.
            let longest = self.criteria.fail_on.iter().chain(&self.criteria.expect).map(String::len).max();
            let keep = longest.unwrap_or(0) + 200;
            if self.tail.len() > keep {
                self.tail.drain(..self.tail.len() - keep);
            }
        }
        let silent = self.criteria.silent_ticks;
        if silent > 0 && now.saturating_sub(self.last_output) > silent {
            return Some(Outcome::Failed(format!("no console output for {} of virtual time", seconds(silent))));
        }
        if let Some(deadline) = self.criteria.deadline.filter(|d| now >= *d) {
            return Some(Outcome::TimedOut(format!("--timeout {} of virtual time reached", seconds(deadline))));
        }
        None
    }
}

/// Virtual-time ticks as seconds, e.g. `2.5 s`.
pub fn seconds(ticks: u64) -> String {
    format!("{} s", ticks as f64 / TIMEBASE_HZ as f64)
}
