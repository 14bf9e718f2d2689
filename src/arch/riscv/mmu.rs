//! Address translation (priv spec 4.3-4.5: Sv39 and Sv48) with hardware A/D updates, physical memory protection
//! (see [`super::pmp`]) and a TLB per privilege level and access type. The TLB is flushed by `sfence.vma`, `satp`
//! and PMP writes and by `mstatus` writes that change SUM or MXR; a generation counter makes a flush O(1).

use super::cpu::Extension;
pub use super::hart::Access;
use super::hart::{mstatus, Exception, Hart, Priv};
use super::pmp;
use crate::platform::Platform;

const TLB_ENTRIES: usize = 256;

#[derive(Clone, Copy, Default)]
struct TlbEntry {
    vpn: u64,
    generation: u64,
    pa_page: u64,
}

/// Per-hart translation cache (not architectural state: never saved).
pub struct Mmu {
    /// Indexed by [effective privilege U/S/M][access type].
    tlb: Vec<TlbEntry>,
    generation: u64,
    /// The hart's PMP entries, decoded at the first check after they changed ([`Mmu::csrs_changed`]).
    pmp: Option<pmp::Rules>,
    /// Per page-table level, the last page-table page PMP was found to let supervisor loads read whole (walks
    /// revisit the same few pages).
    readable_table: [u64; 4],
}

impl Default for Mmu {
    fn default() -> Self {
        Mmu {
            tlb: vec![TlbEntry::default(); 3 * 3 * TLB_ENTRIES],
            generation: 1,
            pmp: None,
            readable_table: [u64::MAX; 4],
        }
    }
}

const PTE_V: u64 = 1 << 0;
const PTE_R: u64 = 1 << 1;
const PTE_W: u64 = 1 << 2;
const PTE_X: u64 = 1 << 3;
const PTE_U: u64 = 1 << 4;
const PTE_A: u64 = 1 << 6;
const PTE_D: u64 = 1 << 7;
/// Bits 60..54: reserved, must be zero.
const PTE_RESERVED: u64 = 0x7f << 54;
/// Svpbmt's page-based memory type (0 PMA, 1 NC, 2 IO, 3 reserved).
const PTE_PBMT_SHIFT: u32 = 61;
/// Svnapot: the leaf is part of a naturally aligned power-of-two range (64 KiB, the only size defined).
const PTE_N: u64 = 1 << 63;
/// Svnapot's 64 KiB encoding: the low four PPN bits are 0b1000.
const NAPOT_64K_PPN: u64 = 0b1000;

impl Mmu {
    pub fn flush(&mut self) {
        self.generation += 1;
    }

    /// The hart's CSRs changed in a way the TLB cannot tell (a PMP write, a debugger's write, a restore): cached
    /// translations and the decoded PMP entries go.
    pub fn csrs_changed(&mut self) {
        self.flush();
        self.pmp = None;
        self.readable_table = [u64::MAX; 4];
    }

    /// The privilege a memory access of type `access` is checked against (MPRV applies to loads and stores).
    #[inline]
    fn effective_priv(hart: &Hart, access: Access) -> Priv {
        if access != Access::Fetch && hart.privilege == Priv::Machine && hart.csr.mstatus & mstatus::MPRV != 0 {
            Priv::from_bits(hart.csr.mstatus >> mstatus::MPP_SHIFT)
        } else {
            hart.privilege
        }
    }

    /// Translates virtual `va` for `access` if that needs no page-table walk and no PMP check (M-mode without
    /// locked PMP entries, or a TLB hit); `None` otherwise. No side effects.
    #[inline(always)]
    pub fn translate_fast(&self, hart: &Hart, va: u64, access: Access) -> Option<u64> {
        let eff = Self::effective_priv(hart, access);
        if eff == Priv::Machine && !pmp::any_locked(&hart.csr) {
            return Some(va);
        }
        let vpn = va >> 12;
        let e = self.tlb.get(Self::tlb_index(eff, access, vpn))?;
        if e.vpn == vpn && e.generation == self.generation {
            return Some(e.pa_page | (va & 0xfff));
        }
        None
    }

    #[inline(always)]
    fn tlb_index(eff: Priv, access: Access, vpn: u64) -> usize {
        // U = 0, S = 1, M = 3 -> row 2.
        let row = (eff as usize).min(2);
        (row * 3 + access as usize) * TLB_ENTRIES + (vpn as usize & (TLB_ENTRIES - 1))
    }

    /// How loads and stores are translated in the hart's current mode: 0 and 1 with user and supervisor
    /// privilege (through the page tables, or bare), 2 with machine privilege. Caches of translations are kept
    /// per mode, since PMP treats the three differently.
    pub(crate) fn data_mode(hart: &Hart) -> usize {
        match Self::effective_priv(hart, Access::Load) {
            Priv::Machine => 2,
            eff => eff as usize,
        }
    }

    /// Changes whenever cached translations become invalid.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Translates virtual `va` for an access of `size` bytes, with the page-table walk and the PMP check.
    #[inline(always)]
    pub fn translate(
        &mut self,
        hart: &Hart,
        plat: &mut Platform,
        va: u64,
        size: u64,
        access: Access,
    ) -> Result<u64, Exception> {
        self.translate_page(hart, plat, va, size, access).map(|(pa, _)| pa)
    }

    /// [`Mmu::translate`], also telling whether every access of this type to the rest of the page is allowed
    /// too (the page is cached), or whether PMP allows only part of it.
    #[inline(always)]
    pub fn translate_page(
        &mut self,
        hart: &Hart,
        plat: &mut Platform,
        va: u64,
        size: u64,
        access: Access,
    ) -> Result<(u64, bool), Exception> {
        if let Some(pa) = self.translate_fast(hart, va, access) {
            return Ok((pa, true));
        }
        self.translate_slow(hart, plat, va, size, access)
    }

    #[inline(never)]
    fn translate_slow(
        &mut self,
        hart: &Hart,
        plat: &mut Platform,
        va: u64,
        size: u64,
        access: Access,
    ) -> Result<(u64, bool), Exception> {
        let mode = hart.csr.satp >> 60;
        let eff = Self::effective_priv(hart, access);
        let rules = self.pmp.take().unwrap_or_else(|| pmp::Rules::new(&hart.csr));
        let result = if mode == 0 || eff == Priv::Machine {
            Ok(va)
        } else {
            self.walk(hart, plat, &rules, va, access, eff, mode).and_then(|gpa| Self::g_stage(gpa, access, va))
        };
        // An access never crosses its page here (misaligned ones come byte by byte): the page's verdict holds.
        let whole_page = result.as_ref().is_ok_and(|&pa| rules.page_allowed(pa, access, eff));
        let allowed = whole_page || result.as_ref().is_ok_and(|&pa| rules.allowed(pa, size, access, eff));
        self.pmp = Some(rules);
        let pa = result?;
        if !allowed {
            return Err(Exception::new(access.access_fault(), va));
        }
        if whole_page {
            let vpn = va >> 12;
            self.tlb[Self::tlb_index(eff, access, vpn)] =
                TlbEntry { vpn, generation: self.generation, pa_page: pa & !0xfff };
        }
        Ok((pa, whole_page))
    }

    /// Translation without side effects (no A/D updates, no TLB fill), for the debugger.
    pub fn peek_translate(hart: &Hart, plat: &Platform, va: u64) -> Option<u64> {
        let mode = hart.csr.satp >> 60;
        if mode == 0 || hart.privilege == Priv::Machine {
            return Some(va);
        }
        let levels = if mode == 9 { 4 } else { 3 };
        let mut table = (hart.csr.satp & ((1 << 44) - 1)) << 12;
        for level in (0..levels).rev() {
            let vpn_i = (va >> (12 + 9 * level)) & 0x1ff;
            let mut b = [0u8; 8];
            plat.peek(table + vpn_i * 8, &mut b)?;
            let pte = u64::from_le_bytes(b);
            if pte & PTE_V == 0 {
                return None;
            }
            let ppn = (pte >> 10) & ((1 << 44) - 1);
            if pte & (PTE_R | PTE_X) != 0 {
                let page_mask = (1u64 << (12 + 9 * level)) - 1;
                return Some(((ppn << 12) & !page_mask) | (va & page_mask));
            }
            table = ppn << 12;
        }
        None
    }

    /// The second stage of two-stage translation: where the hypervisor extension's G-stage (`hgatp`) will map a
    /// guest-physical address to a physical one, for the address the first stage produced and for every address
    /// its page-table walk reads. rewind has no H yet, so guest-physical is physical.
    #[inline(always)]
    fn g_stage(gpa: u64, _access: Access, _va: u64) -> Result<u64, Exception> {
        Ok(gpa)
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &mut self,
        hart: &Hart,
        plat: &mut Platform,
        rules: &pmp::Rules,
        va: u64,
        access: Access,
        eff: Priv,
        mode: u64,
    ) -> Result<u64, Exception> {
        let page_fault = Exception::new(access.page_fault(), va);
        let levels: u32 = if mode == 9 { 4 } else { 3 };
        // The address must be sign-extended from its top translated bit.
        let va_bits = 12 + 9 * levels;
        let top = (va as i64) >> (va_bits - 1);
        if top != 0 && top != -1 {
            return Err(page_fault);
        }
        let st = hart.csr.mstatus;
        let mut table = (hart.csr.satp & ((1 << 44) - 1)) << 12;
        for level in (0..levels).rev() {
            let vpn_i = (va >> (12 + 9 * level)) & 0x1ff;
            let pte_addr = Self::g_stage(table + vpn_i * 8, Access::Load, va)?;
            // Page-table reads are checked by PMP as supervisor loads.
            let table_page = pte_addr >> 12;
            if self.readable_table[level as usize] != table_page {
                if rules.page_allowed(pte_addr, Access::Load, Priv::Supervisor) {
                    self.readable_table[level as usize] = table_page;
                } else if !rules.allowed(pte_addr, 8, Access::Load, Priv::Supervisor) {
                    return Err(Exception::new(access.access_fault(), va));
                }
            }
            let pte = plat.load(pte_addr, 8).ok_or(Exception::new(access.access_fault(), va))?;
            if pte & PTE_V == 0 || (pte & PTE_R == 0 && pte & PTE_W != 0) || pte & PTE_RESERVED != 0 {
                return Err(page_fault);
            }
            // A memory type needs Svpbmt enabled by menvcfg.PBMTE; 3 is reserved. Any type is the same memory
            // here: there is no cache whose behaviour it would change.
            let pbmt = (pte >> PTE_PBMT_SHIFT) & 3;
            if pbmt != 0 && (pbmt == 3 || !hart.pbmt_enabled()) {
                return Err(page_fault);
            }
            if pte & PTE_N != 0 && !hart.cpu.has(Extension::Svnapot) {
                return Err(page_fault);
            }
            let mut ppn = (pte >> 10) & ((1 << 44) - 1);
            if pte & (PTE_R | PTE_X) == 0 {
                // Non-leaf entries have no memory type or NAPOT bit, nor A, D or U.
                if pte & (PTE_A | PTE_D | PTE_U | PTE_N) != 0 || pbmt != 0 {
                    return Err(page_fault);
                }
                table = ppn << 12;
                continue;
            }
            // Leaf: permission checks (4.3.2 step 5).
            let user_page = pte & PTE_U != 0;
            match eff {
                Priv::User if !user_page => return Err(page_fault),
                Priv::Supervisor if user_page && (access == Access::Fetch || st & mstatus::SUM == 0) => {
                    return Err(page_fault)
                }
                _ => {}
            }
            let allowed = match access {
                Access::Fetch => pte & PTE_X != 0,
                Access::Load => pte & PTE_R != 0 || (st & mstatus::MXR != 0 && pte & PTE_X != 0),
                Access::Store => pte & PTE_W != 0,
            };
            if !allowed {
                return Err(page_fault);
            }
            let page_mask = (1u64 << (12 + 9 * level)) - 1;
            if ppn & (page_mask >> 12) != 0 {
                return Err(page_fault); // misaligned superpage
            }
            if pte & PTE_N != 0 {
                // A 64 KiB NAPOT leaf: its page is the 4 KiB one of the range that `va` falls in.
                if level != 0 || ppn & 0xf != NAPOT_64K_PPN {
                    return Err(page_fault);
                }
                ppn = (ppn & !0xf) | ((va >> 12) & 0xf);
            }
            let mut new_pte = pte | PTE_A;
            if access == Access::Store {
                new_pte |= PTE_D;
            }
            if new_pte != pte {
                plat.store(pte_addr, 8, new_pte).ok_or(Exception::new(access.access_fault(), va))?;
            }
            return Ok(((ppn << 12) & !page_mask) | (va & page_mask));
        }
        Err(page_fault)
    }
}
