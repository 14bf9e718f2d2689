//! What debuggers set on the session: breakpoints, watchpoints, the hart they look at, and what they asked the
//! machine to do. Kept here, not in a front end, so that a guest reset (a fresh machine) keeps them and every
//! front end sees the same ones.

use super::Session;
use rewind::Watchpoint;
use std::collections::BTreeMap;

/// What a debugger asked the machine to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Stopped: a debugger is looking.
    Halted,
    Continue,
    /// Run until `hart` has executed one instruction (the other harts run meanwhile). `from` is its icount then.
    Step {
        hart: usize,
        from: u64,
    },
    /// Go back one instruction (`reverse-stepi`), reported as a step of `hart`.
    ReverseStep {
        hart: usize,
    },
    /// Run backwards to the previous breakpoint or watchpoint hit (`reverse-continue`).
    ReverseContinue,
}

pub struct DebugState {
    pub resume: Resume,
    /// The hart the last stop concerned.
    pub current: usize,
    /// Debugger memory accesses are physical (`monitor phys on`).
    pub phys: bool,
    /// The hart a single step was asked for, until the resume that starts it.
    pub step_request: Option<usize>,
    /// The hart whose watchpoint stop was just reported. The engine stops *after* the accessing instruction,
    /// but gdb's riscv support expects a stop before it and single-steps over it: that one step is answered
    /// without running, so gdb shows the instruction after the access, as on hardware that stops after it.
    pub watch_stepped: Option<usize>,
    /// While a watchpoint stop is fresh: the hart and the pc of its accessing instruction, which gdb is shown
    /// as the pc (gdb then steps over "it" by `vCont;s`, answered without running, or by a breakpoint at the
    /// next pc, which is where the hart really is, hit at once).
    pub shadow_pc: Option<(usize, u64)>,
    /// A gdb client holds the machine stopped: only it may resume it (gdb expects the target to stand still while
    /// it shows a stop).
    pub held_by_gdb: bool,
    /// Engine breakpoints debuggers set, with a count (a software and a hardware breakpoint may share an address).
    breakpoints: BTreeMap<u64, u32>,
    watchpoints: Vec<Watchpoint>,
}

impl Default for DebugState {
    fn default() -> DebugState {
        DebugState {
            resume: Resume::Continue,
            current: 0,
            phys: false,
            step_request: None,
            watch_stepped: None,
            shadow_pc: None,
            held_by_gdb: false,
            breakpoints: BTreeMap::new(),
            watchpoints: Vec::new(),
        }
    }
}

impl DebugState {
    /// The addresses of the breakpoints debuggers set.
    pub fn breakpoint_addresses(&self) -> Vec<u64> {
        self.breakpoints.keys().copied().collect()
    }

    /// Forgets a watchpoint stop's bookkeeping: execution moved away from it.
    pub fn forget_watch_stop(&mut self) {
        self.watch_stepped = None;
        self.shadow_pc = None;
    }
}

impl Session {
    /// A single step that is complete (or needs no instruction at all).
    pub fn step_done(&self) -> bool {
        match self.debug.resume {
            Resume::Step { hart, from } => self.machine.hart(hart).is_some_and(|h| h.icount > from),
            _ => false,
        }
    }

    pub fn add_breakpoint(&mut self, addr: u64) {
        *self.debug.breakpoints.entry(addr).or_insert(0) += 1;
        self.machine.add_breakpoint(addr);
    }

    /// False if no breakpoint was set at `addr`.
    pub fn remove_breakpoint(&mut self, addr: u64) -> bool {
        match self.debug.breakpoints.get_mut(&addr) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                self.debug.breakpoints.remove(&addr);
                self.machine.remove_breakpoint(addr);
                true
            }
            None => false,
        }
    }

    pub fn add_watchpoint(&mut self, w: Watchpoint) {
        self.debug.watchpoints.push(w);
        self.machine.add_watchpoint(w);
    }

    /// False if no such watchpoint was set.
    pub fn remove_watchpoint(&mut self, w: &Watchpoint) -> bool {
        let Some(i) = self.debug.watchpoints.iter().position(|x| x == w) else { return false };
        self.debug.watchpoints.remove(i);
        if !self.debug.watchpoints.contains(w) {
            self.machine.remove_watchpoint(w);
        }
        true
    }

    /// Removes every breakpoint and watchpoint (a debugger detached or lost its connection).
    pub fn clear_debug_state(&mut self) {
        for addr in std::mem::take(&mut self.debug.breakpoints).into_keys() {
            self.machine.remove_breakpoint(addr);
        }
        for w in std::mem::take(&mut self.debug.watchpoints) {
            self.machine.remove_watchpoint(&w);
        }
        self.debug.phys = false;
        self.debug.forget_watch_stop();
    }
}
