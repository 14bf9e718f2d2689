//! The seam between the execution layer and its compiling tiers. The interpreter is not a tier: it is the
//! reference every tier falls back to and is checked against. A tier turns a hot region of guest code into host
//! code ([`Tier::translate`]) and runs it ([`Tier::run`]); [`super::Exec`] decides when (the promotion policy)
//! and keeps one translation slot per tier in the code cache, so a cheap tier and an optimising one can hold the
//! same block at once.

use crate::arch::riscv::cpu::CpuConfig;
use crate::exec::access::Core;
use crate::exec::jit::{Jit, JitStats, RegionExit, TranslateError, Translation};
use crate::platform::Platform;

/// Compiling tiers a machine can have at once: the translation slots of every cached block.
pub(crate) const MAX_TIERS: usize = 2;

/// The translations a block has, by tier (index into [`super::Exec`]'s tiers, cheapest first).
pub(crate) type TierSlots = [Option<Translation>; MAX_TIERS];

pub(crate) trait Tier {
    /// Block entries before this tier translates a block.
    fn threshold(&self) -> u32;

    /// Translates the region entered at physical `pa`; blocks other than the entry join the region if `is_hot`
    /// says they ran often.
    fn translate(
        &mut self,
        plat: &Platform,
        cpu: &CpuConfig,
        pa: u64,
        is_hot: &dyn Fn(u64) -> bool,
    ) -> Result<Translation, TranslateError>;

    /// Runs `t` for at most `budget` instructions (at least its first block's worth); `None`, running nothing,
    /// if `t`'s code is gone (a translation cannot outlive its code).
    fn run(&mut self, t: Translation, core: &mut Core, plat: &mut Platform, budget: u64) -> Option<RegionExit>;

    /// Drops every translation's code.
    fn flush(&mut self);

    /// Also measure the host time spent translating.
    fn set_timing(&mut self, on: bool);

    fn stats(&self) -> JitStats;
}

/// Cranelift: translates regions of blocks entered `threshold` times; about a millisecond per region.
impl Tier for Jit {
    fn threshold(&self) -> u32 {
        Jit::threshold(self)
    }

    fn translate(
        &mut self,
        plat: &Platform,
        cpu: &CpuConfig,
        pa: u64,
        is_hot: &dyn Fn(u64) -> bool,
    ) -> Result<Translation, TranslateError> {
        Jit::translate(self, plat, cpu, pa, is_hot)
    }

    fn run(&mut self, t: Translation, core: &mut Core, plat: &mut Platform, budget: u64) -> Option<RegionExit> {
        Jit::run(self, t, core, plat, budget)
    }

    fn flush(&mut self) {
        Jit::flush(self)
    }

    fn set_timing(&mut self, on: bool) {
        Jit::set_timing(self, on)
    }

    fn stats(&self) -> JitStats {
        Jit::stats(self)
    }
}
