//! The execution layer: runs a hart's guest code through the tiers — the interpreter (the reference, and every
//! other tier's oracle) and the Cranelift JIT — over one code cache. [`Exec`] owns them and holds the one
//! policy that promotes code from tier to tier; the tiers never call each other, and share only the decoded
//! blocks ([`block`]) and the memory accesses ([`access`]).

pub mod access;
mod block;
mod cache;
mod interp;
pub mod jit;
mod tier;

pub use access::Core;

use crate::arch::riscv::cpu::CpuConfig;
use crate::arch::ArchHart;
use crate::platform::Platform;
use cache::BlockCache;
use jit::{Jit, JitStats, RegionExit, TranslateError};
use tier::{Tier, MAX_TIERS};

/// Why a slice ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceExit {
    /// The instruction budget is used up.
    Budget,
    /// The hart waits in WFI with nothing pending.
    Idle,
    /// A device asked to power off or reset.
    Power,
    /// The next instruction is at a breakpoint.
    Breakpoint,
    /// The instruction just executed hit a watchpoint (details in the platform's instrumentation).
    Watchpoint,
}

/// Breakpoint addresses the interpreter checks before each instruction (empty: no checks, full speed).
#[derive(Default)]
pub struct Breakpoints {
    pub addrs: std::collections::BTreeSet<u64>,
    /// Do not stop at the breakpoint at the current pc once (resuming from it).
    pub skip_once: Option<u64>,
    /// While the debugger's stops are suspended (a seek), a guest's trigger that asks for the debugger does not
    /// stop the machine either.
    pub guest_triggers_suspended: bool,
}

impl Breakpoints {
    /// Whether a breakpoint lies in the 4 KiB page of virtual address `pc`.
    fn in_page_of(&self, pc: u64) -> bool {
        let page = pc & !0xfff;
        self.addrs.range(page..=page | 0xfff).next().is_some()
    }
}

/// The code cache and the tiers.
/// What a trap changes: where the hart is, its privilege, and both modes' cause and epc.
fn trap_state(h: &crate::arch::riscv::hart::Hart) -> (u64, crate::arch::riscv::hart::Priv, [u64; 4]) {
    (h.pc, h.privilege, [h.csr.mcause, h.csr.mepc, h.csr.scause, h.csr.sepc])
}

/// Tells the tracer, if one is attached, about the trap the hart just took: the trap registers of the mode it
/// went to say what it was.
pub(crate) fn report_trap(core: &Core, plat: &mut Platform) {
    if !plat.instrumented {
        return;
    }
    let Some(tracer) = plat.instr.tracer.as_mut() else { return };
    let h = &core.hart;
    let (cause, epc, tval) = if h.privilege == crate::arch::riscv::hart::Priv::Machine {
        (h.csr.mcause, h.csr.mepc, h.csr.mtval)
    } else {
        (h.csr.scause, h.csr.sepc, h.csr.stval)
    };
    let interrupt = cause >> 63 != 0;
    tracer.trap(&crate::hooks::TrapEvent { hart: h.id, interrupt, cause: cause & !(1 << 63), epc, tval });
}

pub struct Exec {
    cache: BlockCache,
    /// The compiling tiers, cheapest first (at most [`MAX_TIERS`]).
    tiers: Vec<Box<dyn Tier>>,
    /// Each tier's threshold (`u32::MAX` past the last tier), kept here because the dispatch loop compares a
    /// block's entry count with them at every entry of a block not yet translated.
    thresholds: [u32; MAX_TIERS],
    /// The generation of the address map the cache was filled under: blocks decoded from a ROM that has moved
    /// away are stale.
    topology_seen: u64,
}

impl Default for Exec {
    fn default() -> Self {
        Exec { cache: BlockCache::new(), tiers: Vec::new(), thresholds: [u32::MAX; MAX_TIERS], topology_seen: 0 }
    }
}

impl Exec {
    /// Interpreting, and translating blocks entered `threshold` times with Cranelift (if this host can run it).
    pub fn with_jit(threshold: u32) -> Self {
        let tiers: Vec<Box<dyn Tier>> = match Jit::new(threshold) {
            Some(jit) => vec![Box::new(jit)],
            None => Vec::new(),
        };
        let mut thresholds = [u32::MAX; MAX_TIERS];
        for (slot, tier) in thresholds.iter_mut().zip(&tiers) {
            *slot = tier.threshold();
        }
        Exec { tiers, thresholds, ..Exec::default() }
    }

    /// Forgets every decoded block and translation (the guest's view of memory or of addresses changed).
    pub fn flush(&mut self) {
        self.cache.clear();
        self.tiers.iter_mut().for_each(|t| t.flush());
    }

    /// Whether some compiling tier runs.
    pub fn compiles(&self) -> bool {
        !self.tiers.is_empty()
    }

    /// Also measure the host time spent translating (for `--stats`).
    pub fn set_timing(&mut self, on: bool) {
        self.tiers.iter_mut().for_each(|t| t.set_timing(on));
    }

    /// The compiling tiers' statistics, summed; `None` without one.
    pub fn stats(&self) -> Option<JitStats> {
        self.tiers.iter().map(|t| t.stats()).reduce(|a, b| a.plus(&b))
    }

    /// The promotion policy, in one place: a block entered as often as a tier's threshold is translated by that
    /// tier, together with the blocks it reaches in its page that ran at least a quarter as often (cold paths
    /// would only cost compile time).
    fn promote(&mut self, slot: usize, plat: &Platform, cpu: &CpuConfig) {
        let hits = self.cache.count_entry(slot);
        let Some(index) = self.thresholds.iter().position(|&t| t == hits) else { return };
        if index >= self.tiers.len() || self.cache.block(slot).translations[index].is_some() {
            return;
        }
        let threshold = hits;
        let cache = &self.cache;
        let is_hot = |pa: u64| cache.hits_at(pa).is_some_and(|hits| hits.saturating_mul(4) >= threshold);
        match self.tiers[index].translate(plat, cpu, cache.block(slot).pa, &is_hot) {
            Ok(t) => self.cache.install(slot, index, t),
            Err(TranslateError::Untranslatable) => {}
            // Out of code space: start afresh; blocks are translated again when they are hot again.
            Err(TranslateError::ArenaFull) => self.flush(),
        }
    }

    /// The best translation of the block in `slot` (the highest tier's) with its tier.
    fn best_translation(&self, slot: usize) -> Option<(usize, jit::Translation)> {
        let slots = &self.cache.block(slot).translations;
        (0..self.tiers.len().min(MAX_TIERS)).rev().find_map(|i| slots[i].map(|t| (i, t)))
    }

    /// Runs `core` for at most `budget` instructions.
    pub fn run_slice(&mut self, core: &mut Core, plat: &mut Platform, budget: u64, bps: &mut Breakpoints) -> SliceExit {
        let end = core.hart.icount + budget;
        let check_bps = !bps.addrs.is_empty();
        loop {
            plat.forget_stale_code(|pages| self.cache.invalidate_pages(pages));
            if self.topology_seen != plat.topology_generation {
                self.topology_seen = plat.topology_generation;
                self.flush();
                core.mmu.csrs_changed();
            }
            if plat.signals.power().is_some() {
                return SliceExit::Power;
            }
            let before = plat.instrumented.then(|| trap_state(&core.hart));
            if !core.hart.service_interrupts(plat.signals.hart_line_word(core.hart.id)) {
                return SliceExit::Idle;
            }
            // An interrupt taken changes where the hart is or what its trap registers say.
            if before.is_some_and(|b| b != trap_state(&core.hart)) {
                report_trap(core, plat);
            }
            if core.hart.icount >= end || plat.take_end_slice() {
                return SliceExit::Budget;
            }
            let slot = match self.cache.lookup(core, plat) {
                Ok(slot) => slot,
                Err(e) => {
                    interp::count(core, plat);
                    core.hart.trap(e.cause, false, e.tval);
                    report_trap(core, plat);
                    continue;
                }
            };
            // Translated code has no hooks: it runs unless a tracer or watchpoint observes every instruction or
            // access, the guest armed a trigger, or a breakpoint lies in the page it would run in (a region never
            // leaves its page).
            let triggers = core.hart.csr.triggers.armed();
            let observed = plat.instrumented || triggers || (check_bps && bps.in_page_of(core.hart.pc));
            if !observed {
                let top = self.tiers.len().min(MAX_TIERS);
                if top > 0 && self.cache.block(slot).translations[top - 1].is_none() {
                    self.promote(slot, plat, &core.hart.cpu);
                }
                if let Some((tier, t)) = self.best_translation(slot) {
                    let left = end - core.hart.icount;
                    if u64::from(t.first_block_len) <= left {
                        match self.tiers[tier].run(t, core, plat, left) {
                            Some(RegionExit::Exception(e)) => {
                                core.hart.trap(e.cause, false, e.tval);
                                report_trap(core, plat);
                            }
                            Some(RegionExit::Continue) => {}
                            // A translation from before a flush never runs (the cache drops them together).
                            None => self.cache.clear(),
                        }
                        continue;
                    }
                }
            }
            let block = &self.cache.block(slot).insns;
            // Never run past the budget: a slice ends at an exact instruction count.
            let avail = (end - core.hart.icount).min(block.len() as u64) as usize;
            let insns = &block[..avail];
            // The counters are advanced for the whole block up front and corrected where the block ends early.
            // While instruction `i` runs they are ahead by `excess = avail - 1 - i`; every path that can observe
            // them (CSR reads, device accesses, page-table walks) takes the slow path, which makes them exact
            // first.
            core.hart.icount += avail as u64;
            plat.vclock += avail as u64;
            let (done, stop) = if check_bps || plat.instrumented || triggers {
                interp::run_block::<true>(core, plat, insns, bps)
            } else {
                interp::run_block::<false>(core, plat, insns, bps)
            };
            let unrun = (avail - done) as u64;
            core.hart.icount -= unrun;
            plat.vclock -= unrun;
            if let Some(exit) = stop {
                return exit;
            }
            if check_bps {
                bps.skip_once = None;
            }
        }
    }
}
