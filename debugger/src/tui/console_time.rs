//! Console lines as links in time: the instruction that wrote a line's first byte. The TUI knows which stretch of
//! execution printed the line (the run loop hands output over between chunks) and how many bytes came before it in
//! that stretch; this re-runs the stretch from the history with a tracer that counts the instructions and the
//! stores to the UART's transmit register, then moves execution to just before the store that wrote the byte.

use super::ConsoleLine;
use crate::session::Session;
use rewind::{AccessKind, MemAccess, Tracer};
use rewind_replay::TimelineStop;
use std::sync::{Arc, Mutex};

/// Counts instructions and transmit-register stores; notes the instruction of the `wanted`-th store.
struct TransmitCounter {
    thr: u64,
    state: Arc<Mutex<Count>>,
}

#[derive(Default)]
struct Count {
    insns: u64,
    stores: usize,
    wanted: usize,
    found: Option<u64>,
}

impl Tracer for TransmitCounter {
    fn instruction(&mut self, _hart: usize, _pc: u64, _raw: u32) {
        if let Ok(mut c) = self.state.lock() {
            c.insns += 1;
        }
    }

    fn memory(&mut self, access: &MemAccess) {
        if access.kind != AccessKind::Write || access.paddr != self.thr {
            return;
        }
        if let Ok(mut c) = self.state.lock() {
            if c.stores == c.wanted && c.found.is_none() {
                c.found = Some(c.insns);
            }
            c.stores += 1;
        }
    }
}

/// Moves execution to the instruction that wrote `line`'s first byte; its instruction count.
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
    if let TimelineStop::Diverged(why) = history.seek(machine, line.from) {
        return Err(format!("cannot go back there: {why}"));
    }
    let state = Arc::new(Mutex::new(Count { wanted: line.byte, ..Default::default() }));
    let previous = machine.set_tracer(Some(Box::new(TransmitCounter { thr, state: state.clone() })));
    let stops = machine.suspend_debug_stops();
    // The stretch is in the past: the history replays its inputs and idle skips, and only its end stops it.
    while machine.icount() < line.to && state.lock().is_ok_and(|c| c.found.is_none()) {
        let now = machine.icount();
        if !matches!(history.run(machine, line.to - now), TimelineStop::Machine(_)) || machine.icount() == now {
            break;
        }
    }
    machine.restore_debug_stops(stops);
    machine.set_tracer(previous);
    let found = state.lock().map_err(|_| "internal error")?.found;
    let n = found.ok_or("the line's bytes were not written where the console log says; cannot place it in time")?;
    // `n` counts the storing instruction itself: stop just before it.
    let target = line.from + n - 1;
    if let TimelineStop::Diverged(why) = history.seek(machine, target) {
        return Err(format!("cannot go there: {why}"));
    }
    machine.step_over_breakpoint_here(session.debug.current);
    Ok(machine.icount())
}
