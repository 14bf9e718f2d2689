//! Questions asked of a run's history (a replay, or a run with `--reverse`), after rr's `when` and Pernosco's
//! "where did this value come from": `when`, `last-write ADDR [LEN]`, `writes ADDR [LEN] [FROM [TO]]`,
//! `first-exec LOCATION`, and `until CONDITION`, which moves the machine to the answer. Each answers by re-executing stretches of the history from its checkpoints with a
//! breakpoint or watchpoint of its own, then puts the machine back where it was, with the user's breakpoints and
//! watchpoints as they were. Queries only re-execute the known history (to a recording's end, or as far as a live
//! run got): they never run a live machine on, nor log anything in its history.

use super::{parse_address, read_memory, Monitor};
use crate::condition::{self, Condition};
use rewind::{StopReason, WatchKind, Watchpoint};
use rewind_replay::{Timeline, TimelineStop};
use std::fmt::Write;

/// Writes `writes` lists at most.
const MAX_WRITES: usize = 1000;

/// `when`: where the run is (rr's `when`).
pub fn when(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let secs = m.machine.now() as f64 / rewind::TIMEBASE_HZ as f64;
    let mut s = format!("instruction {} ({secs:.9} s virtual)", m.machine.icount());
    if let Some(h) = m.machine.hart(m.hart) {
        let place = crate::symbols::describe(m.symbols, h.pc).map_or(String::new(), |d| format!(" <{d}>"));
        let _ = write!(s, ", hart {} at {:#x}{place}", m.hart, h.pc);
    }
    s.push('\n');
    Ok(s)
}

/// `last-write ADDR [LEN]`: the last write to `[ADDR, ADDR+LEN)` before now (the current instruction's
/// included, as it has executed).
pub fn last_write(m: &mut Monitor<'_>, args: &[&str]) -> Result<String, String> {
    let (addr, len) = address_and_len(m, args, "last-write ADDR [LEN]")?;
    let watch = Watchpoint { addr, len, kind: WatchKind::Write };
    with_own_stops(m, |history, machine, q| {
        let checkpoints: Vec<u64> = history.checkpoints().info().iter().map(|c| c.icount).collect();
        // From the stretch before now backwards, each from the checkpoint that starts it, until one has a write.
        let mut end = q.origin;
        loop {
            let start = checkpoints.iter().copied().filter(|&c| c < end).max().unwrap_or(0);
            if let Some(last) = q.scan(history, machine, watch, start, end, usize::MAX).pop() {
                return Ok(format!("{last}\n"));
            }
            if start == 0 {
                return Ok(format!("no write to {addr:#x} before instruction {}\n", q.origin));
            }
            end = start;
        }
    })
}

/// `writes ADDR [LEN] [FROM [TO]]`: every write to `[ADDR, ADDR+LEN)` between two instruction counts (from the
/// start of the history to now by default).
pub fn writes(m: &mut Monitor<'_>, args: &[&str]) -> Result<String, String> {
    const USAGE: &str = "writes ADDR [LEN] [FROM [TO]]";
    let (addr, len) = address_and_len(m, args, USAGE)?;
    let count = |i: usize, default: u64| -> Result<u64, String> {
        args.get(i).map_or(Ok(default), |a| a.replace('_', "").parse().map_err(|_| format!("usage: {USAGE}")))
    };
    let here = m.machine.icount();
    let (from, to) = (count(2, 0)?, count(3, here)?);
    if from > to {
        return Err(format!("{from} is after {to}"));
    }
    let watch = Watchpoint { addr, len, kind: WatchKind::Write };
    with_own_stops(m, |history, machine, q| {
        let to = to.min(known_end(history));
        let lines = q.scan(history, machine, watch, from, to, MAX_WRITES);
        let mut s = if lines.len() == MAX_WRITES {
            format!("the first {MAX_WRITES} writes to {addr:#x} from instruction {from}\n")
        } else {
            format!("{} writes to {addr:#x} between instructions {from} and {to}\n", lines.len())
        };
        for line in lines {
            let _ = writeln!(s, "{line}");
        }
        Ok(s)
    })
}

/// `first-exec LOCATION`: the first time a hart executes the instruction at LOCATION.
pub fn first_exec(m: &mut Monitor<'_>, args: &[&str]) -> Result<String, String> {
    let text = args.first().ok_or("usage: first-exec SYMBOL|ADDR")?;
    let pc = parse_address(m.machine, m.hart, m.symbols, text)?;
    with_own_stops(m, |history, machine, q| {
        let end = known_end(history);
        history.seek(machine, 0);
        machine.add_breakpoint(pc);
        while machine.icount() < end {
            match history.run(machine, end - machine.icount()) {
                TimelineStop::Machine(StopReason::Breakpoint { hart, pc: stopped }) if stopped == pc => {
                    let place = crate::symbols::describe(q.symbols, pc).map_or(String::new(), |d| format!(" <{d}>"));
                    let at = machine.icount();
                    return Ok(format!("first executed at instruction {at} by hart {hart}: {pc:#x}{place}\n"));
                }
                // A guest's trigger that asks for the debugger stops the run elsewhere: run on past it.
                TimelineStop::Machine(StopReason::Breakpoint { .. }) => {}
                _ => break,
            }
        }
        Ok(format!("{pc:#x} is never executed up to instruction {}\n", machine.icount()))
    })
}

/// `until CONDITION`: runs the history on to the first instruction (from now) before which CONDITION holds, with
/// the pc and registers of the selected hart, and stays there; if it never holds up to the end of the known
/// history, the machine goes back to where it was and the answer is an error.
pub fn until(m: &mut Monitor<'_>, args: &[&str]) -> Result<String, String> {
    if args.is_empty() {
        return Err("usage: until CONDITION (pc == SYMBOL, a0 != 0, *(u32 *)&jiffies > 100; and, or, ( ))".into());
    }
    let text = args.join(" ");
    let cond = {
        let (machine, hart, symbols) = (&*m.machine, m.hart, m.symbols);
        Condition::parse(&text, &|name| parse_address(machine, hart, symbols, name))?
    };
    let (hart, phys, symbols) = (m.hart, *m.phys, m.symbols);
    let history = m.history.as_deref_mut().ok_or(NO_HISTORY)?;
    let machine = &mut *m.machine;
    let origin = machine.icount();
    let user_stops = machine.suspend_debug_stops();
    let found = run_until(history, machine, &cond, hart, phys);
    let _ = machine.suspend_debug_stops();
    let end = machine.icount();
    if !found {
        history.seek(machine, origin);
    }
    machine.restore_debug_stops(user_stops);
    machine.step_over_breakpoint_here(hart);
    if !found {
        return Err(format!("'{text}' never holds from instruction {origin} to {end}"));
    }
    let pc = machine.hart(hart).map_or(0, |h| h.pc);
    let place = crate::symbols::describe(symbols, pc).map_or(String::new(), |d| format!(" <{d}>"));
    Ok(format!("'{text}' holds at instruction {end}: hart {hart} at {pc:#x}{place}\n"))
}

/// Runs the history from now to the first instruction where `cond` holds (true) or to the end of the known history
/// (false). Between the moments the condition can change (see [`Condition::triggers`]) the machine runs at full
/// speed; a condition on registers steps it instruction by instruction, and so does one on memory while that memory
/// is not mapped (a new mapping can show a value no write put there). A mapping that changes what a mapped address
/// means is seen at the next write there, as with gdb's watchpoints.
fn run_until(history: &mut Timeline, machine: &mut rewind::Machine, cond: &Condition, hart: usize, phys: bool) -> bool {
    let end = known_end(history);
    let holds = |machine: &rewind::Machine| cond.holds(&HartState { machine, hart, phys });
    if holds(machine) {
        return true;
    }
    let triggers = cond.triggers();
    if let Some(t) = &triggers {
        for &pc in &t.pcs {
            machine.add_breakpoint(pc);
        }
        for &(addr, len) in &t.writes {
            machine.add_watchpoint(Watchpoint { addr, len, kind: WatchKind::Write });
        }
    }
    let mapped = |machine: &rewind::Machine, t: &condition::Triggers| {
        let state = HartState { machine, hart, phys };
        t.writes.iter().all(|&(addr, len)| condition::State::memory(&state, addr, len as u8).is_some())
    };
    while machine.icount() < end {
        let free = triggers.as_ref().is_some_and(|t| mapped(machine, t));
        let budget = if free { end - machine.icount() } else { 1 };
        match history.run(machine, budget) {
            TimelineStop::Machine(
                StopReason::Breakpoint { .. } | StopReason::Watchpoint { .. } | StopReason::BudgetExhausted,
            ) => {
                if holds(machine) {
                    return true;
                }
            }
            _ => return false,
        }
    }
    false
}

/// The machine as a condition sees it: one hart's pc and registers, memory through its translation.
struct HartState<'a> {
    machine: &'a rewind::Machine,
    hart: usize,
    phys: bool,
}

impl condition::State for HartState<'_> {
    fn pc(&self) -> u64 {
        self.machine.hart(self.hart).map_or(0, |h| h.pc)
    }

    fn register(&self, index: usize) -> u64 {
        self.machine.hart(self.hart).and_then(|h| h.x.get(index).copied()).unwrap_or(0)
    }

    /// Unassigned memory has no value (the debugger's reads give zeros there): a kernel variable read before the
    /// kernel maps it is not 0.
    fn memory(&self, addr: u64, size: u8) -> Option<u64> {
        for va in addr..addr.checked_add(u64::from(size))? {
            let pa = if self.phys { va } else { self.machine.translate(self.hart, va)? };
            self.machine.flat_view().resolve(pa)?;
        }
        let bytes = read_memory(self.machine, self.hart, self.phys, addr, usize::from(size))?;
        let mut value = [0u8; 8];
        value[..bytes.len()].copy_from_slice(&bytes);
        Some(u64::from_le_bytes(value))
    }
}

const NO_HISTORY: &str = "no history: replay a recording, or run rewind with --reverse";

/// Where the known history ends: a recording's end, or the furthest a live run got. Running a live history further
/// would execute a future nobody gave input to (and log it), so queries stop there.
fn known_end(history: &Timeline) -> u64 {
    history.recorded_end().unwrap_or(0).max(history.high_water())
}

/// What a query knows besides the history and the machine.
struct Query<'a> {
    hart: usize,
    phys: bool,
    symbols: Option<&'a crate::symbols::Symbols>,
    /// The instruction count the query started at, which the machine returns to.
    origin: u64,
}

/// Runs `query` with only its own breakpoints and watchpoints, then goes back to where the machine was and
/// gives the user's stops back.
fn with_own_stops(
    m: &mut Monitor<'_>,
    query: impl FnOnce(&mut Timeline, &mut rewind::Machine, &Query<'_>) -> Result<String, String>,
) -> Result<String, String> {
    let history = m.history.as_deref_mut().ok_or(NO_HISTORY)?;
    let origin = m.machine.icount();
    let q = Query { hart: m.hart, phys: *m.phys, symbols: m.symbols, origin };
    let stops = m.machine.suspend_debug_stops();
    let answer = query(history, m.machine, &q);
    let _ = m.machine.suspend_debug_stops();
    history.seek(m.machine, origin);
    m.machine.restore_debug_stops(stops);
    m.machine.step_over_breakpoint_here(m.hart);
    answer
}

fn address_and_len(m: &Monitor<'_>, args: &[&str], usage: &str) -> Result<(u64, u64), String> {
    let text = args.first().ok_or_else(|| format!("usage: {usage}"))?;
    let addr = parse_address(m.machine, m.hart, m.symbols, text)?;
    let len = match args.get(1) {
        Some(l) => {
            parse_address(m.machine, m.hart, None, l).ok().filter(|l| (1..=8).contains(l)).ok_or("LEN is 1 to 8")?
        }
        None => 8,
    };
    Ok((addr, len))
}

impl Query<'_> {
    /// Runs the history from `from` to `to` with `watch` armed: each write it sees (at most `max`), described.
    fn scan(
        &self,
        history: &mut Timeline,
        machine: &mut rewind::Machine,
        watch: Watchpoint,
        from: u64,
        to: u64,
        max: usize,
    ) -> Vec<String> {
        history.seek(machine, from);
        let mut old = self.read_value(machine, watch.addr, watch.len);
        machine.add_watchpoint(watch);
        let mut lines = Vec::new();
        // Within the known history the timeline replays idle time itself; any stop but a hit ends the scan.
        while machine.icount() < to && lines.len() < max {
            let TimelineStop::Machine(StopReason::Watchpoint { .. }) = history.run(machine, to - machine.icount())
            else {
                break;
            };
            let Some(access) = machine.last_watch_hit() else { break };
            let new = self.read_value(machine, watch.addr, watch.len);
            lines.push(self.describe_write(machine.icount(), &access, old, new.clone()));
            old = new;
        }
        machine.remove_watchpoint(&watch);
        lines
    }

    /// The `len` bytes at `addr` (virtual unless `phys on`), as a hex number; `?` where they cannot be read.
    fn read_value(&self, machine: &rewind::Machine, addr: u64, len: u64) -> String {
        match read_memory(machine, self.hart, self.phys, addr, len as usize) {
            Some(bytes) => {
                let mut value = [0u8; 8];
                value[..bytes.len()].copy_from_slice(&bytes);
                format!("{:#x}", u64::from_le_bytes(value))
            }
            None => "?".into(),
        }
    }

    fn describe_write(&self, at: u64, access: &rewind::MemAccess, old: String, new: String) -> String {
        let place = crate::symbols::describe(self.symbols, access.pc).map_or(String::new(), |d| format!(" <{d}>"));
        format!(
            "instruction {at}: hart {} at {:#x}{place} wrote {} bytes at {:#x}: {old} -> {new}",
            access.hart, access.pc, access.size, access.vaddr
        )
    }
}
