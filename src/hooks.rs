//! Instrumentation: execution and memory tracing and watchpoints. Off by default; when nothing is attached the
//! interpreter pays one predictable branch per instruction and per access.

use serde::{Deserialize, Serialize};

/// The kind of a memory access, as watchpoints and traces see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccessKind {
    Read,
    Write,
}

/// A memory access by an instruction (atomics report a read and a write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemAccess {
    pub hart: usize,
    /// Address of the accessing instruction.
    pub pc: u64,
    pub kind: AccessKind,
    pub vaddr: u64,
    pub paddr: u64,
    pub size: u8,
    /// The value read or written.
    pub value: u64,
}

/// A trap a hart took: an exception or an interrupt, as the trap registers of the mode it went to record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapEvent {
    pub hart: usize,
    /// An interrupt (asynchronous) rather than an exception.
    pub interrupt: bool,
    /// The cause number, without the interrupt bit.
    pub cause: u64,
    /// Where the hart was (the exception's instruction, or the one the interrupt came before).
    pub epc: u64,
    pub tval: u64,
}

/// Receives execution and memory events (e.g. the execution tracer, a coverage collector).
pub trait Tracer: Send {
    /// Called before each instruction executes.
    fn instruction(&mut self, _hart: usize, _pc: u64, _raw: u32) {}
    /// Called after each completed data access.
    fn memory(&mut self, _access: &MemAccess) {}
    /// Called after a hart took a trap, before the handler's first instruction.
    fn trap(&mut self, _trap: &TrapEvent) {}
}

/// What a watchpoint watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WatchKind {
    Write,
    Read,
    Access,
}

/// A watchpoint on virtual addresses `[addr, addr+len)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Watchpoint {
    pub addr: u64,
    pub len: u64,
    pub kind: WatchKind,
}

impl Watchpoint {
    fn matches(&self, a: &MemAccess) -> bool {
        let kind_ok = match self.kind {
            WatchKind::Write => a.kind == AccessKind::Write,
            WatchKind::Read => a.kind == AccessKind::Read,
            WatchKind::Access => true,
        };
        kind_ok && a.vaddr < self.addr.saturating_add(self.len) && self.addr < a.vaddr.saturating_add(a.size as u64)
    }
}

/// A watchpoint hit: the access and the watchpoint it matched. The machine stops after the accessing
/// instruction completes (as gdb expects of a hardware watchpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchHit {
    pub watchpoint: Watchpoint,
    pub access: MemAccess,
}

/// Tracer and watchpoints attached to a machine.
#[derive(Default)]
pub struct Instrumentation {
    pub tracer: Option<Box<dyn Tracer>>,
    pub watchpoints: Vec<Watchpoint>,
    pub hit: Option<WatchHit>,
}

impl Instrumentation {
    pub fn active(&self) -> bool {
        self.tracer.is_some() || !self.watchpoints.is_empty()
    }

    /// Reports an access; returns true if a watchpoint fired.
    pub fn observe(&mut self, access: MemAccess) -> bool {
        if let Some(t) = self.tracer.as_mut() {
            t.memory(&access);
        }
        if self.hit.is_none() {
            if let Some(w) = self.watchpoints.iter().find(|w| w.matches(&access)) {
                self.hit = Some(WatchHit { watchpoint: *w, access });
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(kind: AccessKind, vaddr: u64, size: u8) -> MemAccess {
        MemAccess { hart: 0, pc: 0, kind, vaddr, paddr: vaddr, size, value: 0 }
    }

    #[test]
    fn watchpoints_match_overlapping_accesses_of_their_kind() {
        let w = Watchpoint { addr: 0x1000, len: 8, kind: WatchKind::Write };
        assert!(w.matches(&access(AccessKind::Write, 0x1004, 4)));
        assert!(w.matches(&access(AccessKind::Write, 0xffc, 8)));
        assert!(!w.matches(&access(AccessKind::Write, 0x1008, 4)));
        assert!(!w.matches(&access(AccessKind::Read, 0x1000, 8)));
        let a = Watchpoint { kind: WatchKind::Access, ..w };
        assert!(a.matches(&access(AccessKind::Read, 0x1000, 1)));
    }
}
