//! The code cache: decoded basic blocks, direct-mapped by physical address, with the translation a compiling
//! tier made of each. Translations are also kept by entry address, so one survives its block's eviction from the
//! direct-mapped slots (translating is costly, decoding is not).

use std::collections::HashMap;

use crate::arch::riscv::decode::Insn;
use crate::arch::riscv::hart::Exception;
use crate::arch::riscv::mmu::Access;
use crate::exec::access::{fetch_slow, Core};
use crate::exec::block::decode_block;
use crate::exec::tier::TierSlots;
use crate::platform::Platform;

const CACHE_SLOTS: usize = 1 << 14;

pub(super) struct Block {
    /// Physical address of the first instruction; `u64::MAX` for an empty slot or an uncached one-off fetch.
    pub pa: u64,
    pub insns: Vec<Insn>,
    /// Times the block was entered, until its last tier translated it.
    pub hits: u32,
    /// What each compiling tier made of the block.
    pub translations: TierSlots,
}

impl Block {
    fn empty() -> Block {
        Block { pa: u64::MAX, insns: Vec::new(), hits: 0, translations: TierSlots::default() }
    }
}

pub(super) struct BlockCache {
    slots: Vec<Block>,
    translations: HashMap<u64, TierSlots>,
}

impl BlockCache {
    pub fn new() -> BlockCache {
        BlockCache { slots: (0..CACHE_SLOTS).map(|_| Block::empty()).collect(), translations: HashMap::new() }
    }

    /// Forgets every block and translation.
    pub fn clear(&mut self) {
        for b in &mut self.slots {
            b.pa = u64::MAX;
            b.translations = TierSlots::default();
        }
        self.translations.clear();
    }

    /// Drops the blocks and translations of the given physical pages (page numbers).
    pub fn invalidate_pages(&mut self, pages: &[u64]) {
        let mut pages = pages.to_vec();
        pages.sort_unstable();
        pages.dedup();
        let stale = |pa: u64| pages.binary_search(&(pa >> 12)).is_ok();
        for b in &mut self.slots {
            if b.pa != u64::MAX && stale(b.pa) {
                *b = Block { insns: std::mem::take(&mut b.insns), ..Block::empty() };
            }
        }
        self.translations.retain(|pa, _| !stale(*pa));
    }

    pub fn block(&self, slot: usize) -> &Block {
        &self.slots[slot]
    }

    /// Counts an entry into the block in `slot`; returns its count so far (0 for an uncached block).
    pub fn count_entry(&mut self, slot: usize) -> u32 {
        let block = &mut self.slots[slot];
        if block.pa == u64::MAX {
            return 0;
        }
        block.hits = block.hits.saturating_add(1);
        block.hits
    }

    /// How often the block at physical `pa` was entered, if it is cached.
    pub fn hits_at(&self, pa: u64) -> Option<u32> {
        let b = &self.slots[slot_of(pa)];
        (b.pa == pa).then_some(b.hits)
    }

    /// Gives the block in `slot` tier `tier`'s translation.
    pub fn install(&mut self, slot: usize, tier: usize, t: crate::exec::jit::Translation) {
        let block = &mut self.slots[slot];
        if let Some(entry) = block.translations.get_mut(tier) {
            *entry = Some(t);
            self.translations.insert(block.pa, block.translations);
        }
    }

    /// Finds or decodes the block at the hart's pc; returns its slot. The hit is inlined into the dispatch loop;
    /// decoding is not.
    #[inline(always)]
    pub fn lookup(&mut self, core: &mut Core, plat: &mut Platform) -> Result<usize, Exception> {
        let pc = core.hart.pc;
        let (pa, whole_page) = core.mmu.translate_page(&core.hart, plat, pc, 2, Access::Fetch)?;
        let slot = slot_of(pa);
        if whole_page && self.slots[slot].pa == pa {
            return Ok(slot);
        }
        self.fill(core, plat, pa, whole_page, slot)
    }

    /// Decodes the block at physical `pa` into `slot` (see [`BlockCache::lookup`]).
    #[inline(never)]
    fn fill(
        &mut self,
        core: &mut Core,
        plat: &mut Platform,
        pa: u64,
        whole_page: bool,
        slot: usize,
    ) -> Result<usize, Exception> {
        let mut insns = std::mem::take(&mut self.slots[slot].insns);
        insns.clear();
        // Where PMP allows execution from part of the page only, nothing is decoded ahead.
        if whole_page {
            decode_block(pa, &core.hart.cpu, &mut insns, |at, size| plat.load(at, size));
        }
        if insns.is_empty() {
            // PMP allows only part of the page, or the first instruction straddles a page boundary or its bytes are
            // not fetchable as one access: it is fetched on its own (each half translated and checked) and not
            // cached.
            insns.push(fetch_slow(core, plat)?);
            self.slots[slot] = Block { insns, ..Block::empty() };
            return Ok(slot);
        }
        plat.mark_code_page(pa);
        let translations = self.translations.get(&pa).copied().unwrap_or_default();
        self.slots[slot] = Block { pa, insns, translations, ..Block::empty() };
        Ok(slot)
    }
}

#[inline]
fn slot_of(pa: u64) -> usize {
    ((pa >> 1) ^ (pa >> 15)) as usize & (CACHE_SLOTS - 1)
}
