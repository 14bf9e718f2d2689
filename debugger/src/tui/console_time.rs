//! Console lines as links in time: the instruction that wrote a line's first byte. The TUI knows which stretch of
//! execution printed the line (the run loop hands output over between chunks) and how many bytes came before it in
//! that stretch; this re-runs the stretch from the history, counting the stores to the UART's transmit register,
//! and moves execution to just before the store that wrote the byte.

use super::ConsoleLine;
use crate::session::Session;
use rewind::{AccessKind, MemAccess, Tracer, WatchKind, Watchpoint};
use rewind_replay::TimelineStop;
use std::sync::{Arc, Mutex};

/// Counts the stores to the transmit register and notes the virtual address of the `wanted`-th (from 0).
struct TransmitCounter {
    thr: u64,
    state: Arc<Mutex<Count>>,
}

#[derive(Default)]
struct Count {
    /// Stores to offset 0 set the divisor now (LCR.DLAB).
    divisor_latch: bool,
    stores: usize,
    wanted: usize,
    vaddr: Option<u64>,
}

/// The line control register's offset and its divisor-latch access bit: while it is set, a store to offset 0 sets
/// the baud rate divisor and transmits nothing.
const LCR: u64 = 3;
const DLAB: u64 = 0x80;

impl Tracer for TransmitCounter {
    fn memory(&mut self, access: &MemAccess) {
        if access.kind != AccessKind::Write {
            return;
        }
        if access.paddr == self.thr + LCR {
            if let Ok(mut c) = self.state.lock() {
                c.divisor_latch = access.value & DLAB != 0;
            }
            return;
        }
        if access.paddr != self.thr {
            return;
        }
        if let Ok(mut c) = self.state.lock() {
            if c.divisor_latch {
                return;
            }
            if c.stores == c.wanted {
                c.vaddr = Some(access.vaddr);
            }
            c.stores += 1;
        }
    }
}

/// Moves execution to the instruction that wrote `line`'s first byte; its instruction count.
///
/// Two passes over the stretch that printed the line: the first counts the transmit-register stores to find the
/// virtual address the wanted one used; the second watches that address (watchpoints stop the machine right after
/// the access, in instruction counts a seek understands) until the count is reached.
pub fn goto_line(session: &mut Session, line: &ConsoleLine) -> Result<u64, String> {
    let mut thr = None;
    session.machine.memory_tree().walk(0, &mut |base, region| {
        if region.name == "serial" {
            thr = Some(base);
        }
    });
    let thr = thr.ok_or("the board has no serial port")?;
    let machine = &mut session.machine;
    let history = session.inputs.history().ok_or(
        "going to a console line's instant needs a history: replay a recording (rewind replay F --tui) or run with \
         --reverse",
    )?;
    let state = Arc::new(Mutex::new(Count { wanted: line.byte, ..Default::default() }));
    let stops = machine.suspend_debug_stops();
    let mut previous = None;
    let result = (|| {
        // The counter starts at `from`: a seek re-runs execution from a checkpoint before it, whose stores must
        // not count.
        seek(history, machine, line.from)?;
        start_count(machine, &state);
        previous = machine.set_tracer(Some(Box::new(TransmitCounter { thr, state: state.clone() })));
        run_to(history, machine, line.to, &|| state.lock().is_ok_and(|c| c.vaddr.is_some()));
        let vaddr = state
            .lock()
            .ok()
            .and_then(|c| c.vaddr)
            .ok_or("the line's bytes were not written where the console log says; cannot place it in time")?;
        let counter = machine.set_tracer(None);
        seek(history, machine, line.from)?;
        machine.set_tracer(counter);
        start_count(machine, &state);
        let watch = Watchpoint { addr: vaddr, len: 1, kind: WatchKind::Write };
        machine.add_watchpoint(watch);
        run_to(history, machine, line.to, &|| state.lock().is_ok_and(|c| c.stores > c.wanted));
        machine.remove_watchpoint(&watch);
        if !state.lock().is_ok_and(|c| c.stores > c.wanted) {
            return Err("the second pass did not see the line's byte written; cannot place it in time".to_string());
        }
        // Stopped right after the store: go back to just before it.
        let after = machine.icount();
        machine.set_tracer(None);
        seek(history, machine, after - 1)?;
        Ok(machine.icount())
    })();
    machine.restore_debug_stops(stops);
    machine.set_tracer(previous.take());
    machine.step_over_breakpoint_here(session.debug.current);
    result
}

/// Starts counting stores where execution is now, with the divisor latch as the UART has it.
fn start_count(machine: &rewind::Machine, state: &Mutex<Count>) {
    let lcr = machine
        .inspect_devices()
        .into_iter()
        .find(|d| d.name == "serial")
        .and_then(|d| d.state.into_iter().find(|(k, _)| k == "lcr"))
        .and_then(|(_, v)| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    if let Ok(mut c) = state.lock() {
        c.stores = 0;
        c.divisor_latch = lcr & DLAB != 0;
    }
}

fn seek(history: &mut rewind_replay::Timeline, machine: &mut rewind::Machine, icount: u64) -> Result<(), String> {
    match history.seek(machine, icount) {
        TimelineStop::Diverged(why) => Err(format!("cannot go there: {why}")),
        _ => Ok(()),
    }
}

/// Runs through the history until instruction count `end` or until `done` (checked at every stop).
fn run_to(history: &mut rewind_replay::Timeline, machine: &mut rewind::Machine, end: u64, done: &dyn Fn() -> bool) {
    // The stretch is in the past: the history replays its inputs and idle skips, and only its end stops it.
    while machine.icount() < end && !done() {
        let now = machine.icount();
        match history.run(machine, end - now) {
            TimelineStop::Machine(_) if machine.icount() > now => {}
            _ => break,
        }
    }
}
