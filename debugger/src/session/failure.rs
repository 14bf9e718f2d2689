//! Failure detection while recording (`rewind record --fail-on`, `--fail-silent`, trap loops).

use rewind::{Machine, TIMEBASE_HZ};

/// The same fault taken this many times in a row at one instruction is a trap loop.
const TRAP_LOOP: u32 = 10_000;

/// Detects a failing guest during a recording: console text such as `Kernel panic`, or a console silent for too
/// long (virtual time, so the detection point is the same in every replay).
pub struct FailureWatch {
    patterns: Vec<String>,
    silent_ticks: u64,
    tail: Vec<u8>,
    last_output: u64,
}

impl FailureWatch {
    pub fn new(patterns: Vec<String>, silent_secs: u64) -> FailureWatch {
        let patterns = patterns.into_iter().filter(|p| !p.is_empty()).collect();
        FailureWatch {
            patterns,
            silent_ticks: silent_secs.saturating_mul(TIMEBASE_HZ),
            tail: Vec::new(),
            last_output: 0,
        }
    }

    /// Looks at new console output and the harts; returns what failed, if anything.
    pub fn check(&mut self, output: &[u8], m: &Machine) -> Option<String> {
        let now = m.now();
        for i in 0..m.hart_count() {
            if let Some(h) = m.hart(i).filter(|h| h.faults.repeats >= TRAP_LOOP) {
                let (cause, pc) = h.faults.last;
                return Some(format!(
                    "trap loop: hart {i} took exception {cause} at pc {pc:#x} {} times in a row",
                    h.faults.repeats
                ));
            }
        }
        if !output.is_empty() {
            self.last_output = now;
            self.tail.extend_from_slice(output);
            let text = String::from_utf8_lossy(&self.tail).into_owned();
            for p in &self.patterns {
                if let Some(at) = text.find(p.as_str()) {
                    let line = text[at..].lines().next().unwrap_or(p).trim().to_string();
                    return Some(format!("console: {line}"));
                }
            }
            // Keep enough to match a pattern split across two chunks.
            let keep = self.patterns.iter().map(String::len).max().unwrap_or(0) + 200;
            if self.tail.len() > keep {
                self.tail.drain(..self.tail.len() - keep);
            }
        }
        if self.silent_ticks > 0 && now.saturating_sub(self.last_output) > self.silent_ticks {
            return Some(format!("no console output for {} s of virtual time", self.silent_ticks / TIMEBASE_HZ));
        }
        None
    }
}
