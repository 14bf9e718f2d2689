//! The execution layer: runs a hart's guest code through the tiers — the interpreter (the reference, and every
//! other tier's oracle) and the Cranelift JIT — over one code cache. [`Exec`] owns them and holds the one
//! policy that promotes code from tier to tier; the tiers never call each other, and share only the decoded
//! blocks ([`block`]) and the memory accesses ([`access`]).

pub mod access;
mod block;
mod cache;
mod interp;
pub mod jit;

pub use access::Core;

use crate::platform::Platform;
use cache::BlockCache;
use jit::{Jit, RegionExit, TranslateError};

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
}

impl Breakpoints {
    /// Whether a breakpoint lies in the 4 KiB page of virtual address `pc`.
    fn in_page_of(&self, pc: u64) -> bool {
        let page = pc & !0xfff;
        self.addrs.range(page..=page | 0xfff).next().is_some()
    }
}

/// The code cache and the tiers.
pub struct Exec {
    cache: BlockCache,
    jit: Option<Jit>,
    /// Block entries before the JIT translates a block.
    jit_threshold: u32,
}

impl Default for Exec {
    fn default() -> Self {
        Exec { cache: BlockCache::new(), jit: None, jit_threshold: u32::MAX }
    }
}

impl Exec {
    /// Interpreting, and translating blocks entered `threshold` times (if this host can run the JIT).
    pub fn with_jit(threshold: u32) -> Self {
        Exec { jit: Jit::new(), jit_threshold: threshold.max(1), ..Exec::default() }
    }

    /// Forgets every decoded block and translation (the guest's view of memory or of addresses changed).
    pub fn flush(&mut self) {
        self.cache.clear();
        if let Some(jit) = &mut self.jit {
            jit.flush();
        }
    }

    pub fn jit(&self) -> Option<&Jit> {
        self.jit.as_ref()
    }

    pub fn jit_mut(&mut self) -> Option<&mut Jit> {
        self.jit.as_mut()
    }

    /// The promotion policy, in one place: a block entered `jit_threshold` times is translated, together with
    /// the blocks it reaches in its page that ran at least a quarter as often (cold paths would only cost
    /// compile time).
    fn promote(&mut self, slot: usize, plat: &Platform) {
        let Some(jit) = self.jit.as_mut() else { return };
        let threshold = self.jit_threshold;
        if self.cache.count_entry(slot) != threshold {
            return;
        }
        let cache = &self.cache;
        let is_hot = |pa: u64| cache.hits_at(pa).is_some_and(|hits| hits.saturating_mul(4) >= threshold);
        match jit.translate(plat, cache.block(slot).pa, &is_hot) {
            Ok(t) => self.cache.install(slot, t),
            Err(TranslateError::Untranslatable) => {}
            // Out of code space: start afresh; blocks are translated again when they are hot again.
            Err(TranslateError::ArenaFull) => self.flush(),
        }
    }

    /// Runs `core` for at most `budget` instructions.
    pub fn run_slice(&mut self, core: &mut Core, plat: &mut Platform, budget: u64, bps: &mut Breakpoints) -> SliceExit {
        let end = core.hart.icount + budget;
        let check_bps = !bps.addrs.is_empty();
        loop {
            if !plat.stale_code_pages.is_empty() {
                self.cache.invalidate_pages(&plat.stale_code_pages);
                plat.stale_code_pages.clear();
            }
            if plat.power.is_some() {
                return SliceExit::Power;
            }
            let external = plat.hart_irqs.get(core.hart.id).copied().unwrap_or(0);
            if core.hart.wfi {
                if (core.hart.csr.mip | external) & core.hart.csr.mie == 0 {
                    return SliceExit::Idle;
                }
                core.hart.wfi = false;
            }
            // pending_interrupt finds nothing unless some interrupt is both pending and enabled.
            if (core.hart.csr.mip | external) & core.hart.csr.mie != 0 {
                if let Some(irq) = core.hart.pending_interrupt(external) {
                    core.hart.trap(irq, true, 0);
                }
            }
            if core.hart.icount >= end {
                return SliceExit::Budget;
            }
            let slot = match self.cache.lookup(core, plat) {
                Ok(slot) => slot,
                Err(e) => {
                    interp::count(core, plat);
                    core.hart.trap(e.cause, false, e.tval);
                    continue;
                }
            };
            // Translated code has no hooks: it runs unless a tracer or watchpoint observes every instruction or
            // access, or a breakpoint lies in the page it would run in (a region never leaves its page).
            let observed = plat.instrumented || (check_bps && bps.in_page_of(core.hart.pc));
            if !observed {
                if self.cache.block(slot).translation.is_none() {
                    self.promote(slot, plat);
                }
                if let (Some(t), Some(jit)) = (self.cache.block(slot).translation, self.jit.as_mut()) {
                    let left = end - core.hart.icount;
                    if u64::from(t.first_block_len) <= left {
                        match jit.run(t, core, plat, left) {
                            Some(RegionExit::Exception(e)) => core.hart.trap(e.cause, false, e.tval),
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
            let (done, stop) = if check_bps || plat.instrumented {
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
