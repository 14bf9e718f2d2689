//! The translated code's own TLB: virtual page → host address, for RAM pages only.
//!
//! The MMU's TLB maps virtual to physical pages; translated code would then still have to check that the page
//! is RAM, that a store does not hit decoded code, and mark the page dirty. This cache answers all of that with
//! one compare, as QEMU's softmmu TLB does: an entry exists only for a page where the fast path is right (a RAM
//! page; for stores, one that holds no decoded code and is already dirty for every consumer), and its tag is the
//! page's virtual address, so `va & (page mask | alignment mask) == tag` also rejects misaligned accesses.
//! Entries are filled by the slow path after an access succeeded there, and dropped wholesale whenever one of
//! those facts may have changed (see [`FastKey`]).

use crate::arch::riscv::mmu::Access;
use crate::exec::access::Core;
use crate::memory::PAGE_SIZE;
use crate::platform::Platform;

pub(crate) const FAST_ENTRIES: usize = 256;

/// `repr(C)`: translated code reads entries directly.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct FastEntry {
    /// The page's virtual address, or [`INVALID_TAG`].
    pub(crate) tag: u64,
    /// Added to a virtual address in the page, gives the host address.
    pub(crate) addend: u64,
}

/// Never equal to a masked address: those have bits 3..12 clear.
const INVALID_TAG: u64 = u64::MAX;
const INVALID: FastEntry = FastEntry { tag: INVALID_TAG, addend: 0 };

/// What the entries of a [`FastTlb`] were derived from: if any part differs at entry, they are dropped.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
struct FastKey {
    /// The MMU's generation (bumped by `sfence.vma`, `satp` and `mstatus` writes).
    generation: u64,
    /// The platform's [`Platform::fast_path_epoch`] (new code pages, RAM replaced).
    epoch: u64,
    /// RAM's count of dirty-flag clears.
    dirty_clears: u64,
    /// Where RAM's bytes are on the host.
    ram: usize,
}

/// The fast TLB of one hart in one translation mode (user, supervisor, or the identity).
pub(crate) struct FastTlb {
    key: FastKey,
    pub(crate) load: [FastEntry; FAST_ENTRIES],
    pub(crate) store: [FastEntry; FAST_ENTRIES],
}

impl FastTlb {
    fn new() -> Box<FastTlb> {
        Box::new(FastTlb { key: FastKey::default(), load: [INVALID; FAST_ENTRIES], store: [INVALID; FAST_ENTRIES] })
    }

    /// Drops the entries unless they were derived from the current state of `core` and `plat`.
    pub(crate) fn validate(&mut self, core: &Core, plat: &mut Platform) {
        let key = FastKey {
            generation: core.mmu.generation(),
            epoch: plat.fast_path_epoch,
            dirty_clears: plat.ram.dirty_clears(),
            ram: plat.ram.bytes_mut().as_mut_ptr() as usize,
        };
        if key != self.key {
            self.load = [INVALID; FAST_ENTRIES];
            self.store = [INVALID; FAST_ENTRIES];
            self.key = key;
        }
    }
}

/// Index of the entry for virtual address `va`.
pub(crate) fn index(va: u64) -> usize {
    (va / PAGE_SIZE) as usize & (FAST_ENTRIES - 1)
}

/// After an aligned access at `va` completed in the slow path: adds its page if the fast path is right for it.
pub(crate) fn fill(table: &mut [FastEntry; FAST_ENTRIES], core: &mut Core, plat: &mut Platform, va: u64, store: bool) {
    let access = if store { Access::Store } else { Access::Load };
    let Some(pa) = core.mmu.translate_fast(&core.hart, va, access) else { return };
    let page_pa = pa & !(PAGE_SIZE - 1);
    let Some(offset) = plat.ram.offset_of(page_pa, PAGE_SIZE) else { return };
    if store && !plat.fast_store_ok(offset as u64 / PAGE_SIZE) {
        return;
    }
    let host_page = plat.ram.bytes_mut().as_mut_ptr() as u64 + offset as u64;
    let va_page = va & !(PAGE_SIZE - 1);
    table[index(va)] = FastEntry { tag: va_page, addend: host_page.wrapping_sub(va_page) };
}

/// The fast TLBs of every hart and mode.
#[derive(Default)]
pub(crate) struct FastTlbs {
    tables: Vec<Box<FastTlb>>,
}

impl FastTlbs {
    /// The table for `hart` in data-translation `mode` (0-2, see `Mmu::data_mode`).
    pub(crate) fn get(&mut self, hart: usize, mode: usize) -> &mut FastTlb {
        let i = hart * 3 + mode.min(2);
        while self.tables.len() <= i {
            self.tables.push(FastTlb::new());
        }
        &mut self.tables[i]
    }
}
