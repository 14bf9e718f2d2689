//! Physical memory protection (privileged spec 3.7): 16 entries, each OFF, TOR, NA4 or NAPOT with R/W/X
//! permissions and a lock bit. The lowest-numbered entry that matches any byte of an access decides: it must
//! match every byte, and grants what its permissions say (M-mode is bound only by locked entries). An S- or
//! U-mode access that no entry matches fails, as on every hart with PMP entries implemented (QEMU's too).
//!
//! Checks cost nothing on the fast paths: the MMU's TLB caches a page only when one verdict covers all of it
//! ([`Rules::page_allowed`]), and every PMP write flushes the TLB. The slow path checks against [`Rules`], the
//! active entries decoded once per change.

use super::hart::Access;
use super::hart::{Csrs, Priv};

const ENTRIES: usize = 16;
const R: u8 = 1;
const W: u8 = 2;
const X: u8 = 4;
const MODE_SHIFT: u32 = 3;
const OFF: u8 = 0;
const TOR: u8 = 1;
const NA4: u8 = 2;
const LOCK: u8 = 0x80;
/// The lock bits of the eight entries one pmpcfg register holds.
const LOCK_BITS: u64 = 0x8080_8080_8080_8080;
const PAGE: u64 = 4096;

/// Configuration byte of entry `i`.
fn cfg(c: &Csrs, i: usize) -> u8 {
    (c.pmpcfg.get(i / 8).copied().unwrap_or(0) >> (8 * (i % 8))) as u8
}

/// Whether a locked entry exists (then M-mode is checked too).
#[inline]
pub fn any_locked(c: &Csrs) -> bool {
    (c.pmpcfg[0] | c.pmpcfg[1]) & LOCK_BITS != 0
}

/// The bytes `[start, end)` entry `i` matches (u128: a NAPOT entry may cover the whole address space).
fn range(c: &Csrs, i: usize) -> Option<(u128, u128)> {
    let addr = u128::from(c.pmpaddr.get(i).copied().unwrap_or(0));
    match (cfg(c, i) >> MODE_SHIFT) & 3 {
        OFF => None,
        TOR => {
            let bottom = if i == 0 { 0 } else { u128::from(c.pmpaddr.get(i - 1).copied().unwrap_or(0)) << 2 };
            Some((bottom, addr << 2))
        }
        NA4 => Some((addr << 2, (addr << 2) + 4)),
        _ => {
            let ones = addr.trailing_ones();
            let size = 8u128 << ones;
            let start = (addr << 2) & !(size - 1);
            Some((start, start + size))
        }
    }
}

/// One active entry: the bytes `start..=last` it matches and its configuration.
#[derive(Clone, Copy, Debug)]
struct Rule {
    start: u64,
    last: u64,
    cfg: u8,
}

/// The active entries, in priority order.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    pub fn new(c: &Csrs) -> Rules {
        let clamp = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
        let rules = (0..ENTRIES).filter_map(|i| {
            let (start, end) = range(c, i).filter(|(start, end)| start < end)?;
            Some(Rule { start: clamp(start), last: clamp(end - 1), cfg: cfg(c, i) })
        });
        Rules { rules: rules.collect() }
    }

    /// Whether an access of `size` bytes at physical `pa` is allowed at effective privilege `privilege`.
    pub fn allowed(&self, pa: u64, size: u64, access: Access, privilege: Priv) -> bool {
        let (first, last) = (pa, pa.saturating_add(size.max(1) - 1));
        for r in &self.rules {
            if last < r.start || first > r.last {
                continue;
            }
            if first < r.start || last > r.last {
                return false; // only some bytes match
            }
            if privilege == Priv::Machine && r.cfg & LOCK == 0 {
                return true;
            }
            let need = match access {
                Access::Fetch => X,
                Access::Load => R,
                Access::Store => W,
            };
            return r.cfg & need != 0;
        }
        privilege == Priv::Machine
    }

    /// Whether every access of this type inside the 4 KiB page holding `pa` is allowed: the page may be cached.
    pub fn page_allowed(&self, pa: u64, access: Access, privilege: Priv) -> bool {
        self.allowed(pa & !(PAGE - 1), PAGE, access, privilege)
    }
}

/// Writes pmpcfg register `reg` (0 or 1, for pmpcfg0 and pmpcfg2): locked entries keep their byte; the
/// reserved bits 5-6 and the reserved combination W without R read as zero.
pub fn write_cfg(c: &mut Csrs, reg: usize, value: u64) {
    let Some(old) = c.pmpcfg.get(reg).copied() else { return };
    let mut new = 0u64;
    for byte in 0..8 {
        let old_b = (old >> (8 * byte)) as u8;
        let mut b = (value >> (8 * byte)) as u8 & 0x9f;
        if b & (R | W) == W {
            b &= !W;
        }
        new |= u64::from(if old_b & LOCK != 0 { old_b } else { b }) << (8 * byte);
    }
    c.pmpcfg[reg] = new;
}

/// Writes pmpaddr `i`, unless entry `i` is locked, or entry `i + 1` is a locked TOR entry using it as its bottom.
pub fn write_addr(c: &mut Csrs, i: usize, value: u64) {
    let locked = cfg(c, i) & LOCK != 0;
    let next = cfg(c, i + 1);
    let bottom_of_locked_tor = i + 1 < ENTRIES && next & LOCK != 0 && (next >> MODE_SHIFT) & 3 == TOR;
    if locked || bottom_of_locked_tor {
        return;
    }
    if let Some(a) = c.pmpaddr.get_mut(i) {
        *a = value & ((1 << 54) - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAPOT: u8 = 3 << MODE_SHIFT;
    const TOR_MODE: u8 = TOR << MODE_SHIFT;
    const NA4_MODE: u8 = NA4 << MODE_SHIFT;

    fn csrs(entries: &[(usize, u8, u64)]) -> Csrs {
        let mut c = Csrs { pmpaddr: vec![0; ENTRIES], ..Csrs::default() };
        for &(i, cfg, addr) in entries {
            c.pmpcfg[i / 8] |= u64::from(cfg) << (8 * (i % 8));
            c.pmpaddr[i] = addr;
        }
        c
    }

    fn napot(base: u64, size: u64) -> u64 {
        (base >> 2) | ((size >> 3) - 1)
    }

    #[test]
    fn without_entries_only_m_mode_has_access() {
        let c = csrs(&[]);
        assert!(Rules::new(&c).allowed(0x8000_0000, 8, Access::Store, Priv::Machine));
        assert!(!Rules::new(&c).allowed(0x8000_0000, 8, Access::Load, Priv::Supervisor));
        assert!(!Rules::new(&c).allowed(0x8000_0000, 2, Access::Fetch, Priv::User));
    }

    #[test]
    fn the_lowest_matching_entry_decides() {
        let all = (1u64 << 54) - 1; // NAPOT over everything
        let c = csrs(&[(0, NAPOT | R, napot(0x8000_0000, 0x1000)), (7, NAPOT | R | W | X, all)]);
        assert!(Rules::new(&c).allowed(0x8000_0010, 8, Access::Load, Priv::Supervisor));
        assert!(!Rules::new(&c).allowed(0x8000_0010, 8, Access::Store, Priv::Supervisor));
        assert!(!Rules::new(&c).allowed(0x8000_0010, 2, Access::Fetch, Priv::User));
        assert!(Rules::new(&c).allowed(0x8000_1000, 8, Access::Store, Priv::Supervisor), "next page: entry 7");
        assert!(
            Rules::new(&c).allowed(0x8000_0010, 8, Access::Store, Priv::Machine),
            "unlocked entries bind S and U only"
        );
        assert!(!Rules::new(&c).page_allowed(0x8000_0000, Access::Store, Priv::Supervisor));
        assert!(Rules::new(&c).page_allowed(0x8000_0000, Access::Load, Priv::Supervisor));
    }

    #[test]
    fn tor_na4_and_partial_matches() {
        let c = csrs(&[
            (1, 0, 0x8000_1000 >> 2),
            (2, TOR_MODE | R | W, 0x8000_1800 >> 2),
            (3, NA4_MODE, 0x8000_2100 >> 2),
            (4, NAPOT | R | W | X, napot(0x8000_0000, 0x1_0000)),
        ]);
        assert!(Rules::new(&c).allowed(0x8000_1000, 8, Access::Store, Priv::User));
        assert!(!Rules::new(&c).allowed(0x8000_17fc, 8, Access::Load, Priv::User), "straddles the TOR top");
        assert!(!Rules::new(&c).allowed(0x8000_1000, 4, Access::Fetch, Priv::User));
        assert!(!Rules::new(&c).allowed(0x8000_2100, 4, Access::Load, Priv::Supervisor), "NA4 without permissions");
        assert!(!Rules::new(&c).allowed(0x8000_2100, 8, Access::Load, Priv::Supervisor), "half in the NA4 entry");
        assert!(Rules::new(&c).allowed(0x8000_2104, 4, Access::Load, Priv::Supervisor));
        assert!(!Rules::new(&c).page_allowed(0x8000_1000, Access::Load, Priv::Supervisor), "TOR covers half the page");
        assert!(!Rules::new(&c).page_allowed(0x8000_2000, Access::Load, Priv::Supervisor));
    }

    #[test]
    fn locked_entries_bind_m_mode_and_refuse_writes() {
        let mut c = csrs(&[(0, NAPOT | R | LOCK, napot(0x8000_0000, 0x1000)), (2, TOR_MODE | LOCK, 0x9000_0000 >> 2)]);
        assert!(any_locked(&c));
        assert!(!Rules::new(&c).allowed(0x8000_0000, 8, Access::Store, Priv::Machine));
        assert!(Rules::new(&c).allowed(0x8000_0000, 8, Access::Load, Priv::Machine));
        write_cfg(&mut c, 0, 0x1f1f_1f1f_1f1f_1f1f);
        assert_eq!(cfg(&c, 0), NAPOT | R | LOCK, "locked byte kept");
        assert_eq!(cfg(&c, 1), 0x1f);
        write_addr(&mut c, 0, 0);
        write_addr(&mut c, 1, 0x1234);
        write_addr(&mut c, 2, 0);
        assert_eq!(c.pmpaddr[0], napot(0x8000_0000, 0x1000));
        assert_eq!(c.pmpaddr[1], 0, "bottom of a locked TOR entry");
        assert_eq!(c.pmpaddr[2], 0x9000_0000 >> 2);
        write_cfg(&mut c, 1, u64::from(W));
        assert_eq!(cfg(&c, 8), 0, "W without R is reserved");
    }
}
