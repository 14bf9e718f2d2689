//! Architectural state of one hart (RISC-V privileged spec 1.12): registers, privilege level and the CSRs the
//! engine implements, plus the trap entry/return logic that moves between privilege levels.

use super::cpu::{CpuConfig, Extension};
use serde::{Deserialize, Serialize};

/// Privilege level (encoding as in `mstatus.MPP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priv {
    User = 0,
    Supervisor = 1,
    Machine = 3,
}

impl Priv {
    pub fn from_bits(b: u64) -> Priv {
        match b & 3 {
            0 => Priv::User,
            1 => Priv::Supervisor,
            // 2 is reserved; MPP is WARL, so it never holds 2 (writes of 2 are turned into U by the writer).
            _ => Priv::Machine,
        }
    }
}

/// `mstatus` fields.
pub mod mstatus {
    pub const SIE: u64 = 1 << 1;
    pub const MIE: u64 = 1 << 3;
    pub const SPIE: u64 = 1 << 5;
    pub const MPIE: u64 = 1 << 7;
    pub const SPP: u64 = 1 << 8;
    pub const MPP_SHIFT: u32 = 11;
    pub const MPP: u64 = 3 << MPP_SHIFT;
    pub const FS_SHIFT: u32 = 13;
    pub const FS: u64 = 3 << FS_SHIFT;
    pub const MPRV: u64 = 1 << 17;
    pub const SUM: u64 = 1 << 18;
    pub const MXR: u64 = 1 << 19;
    pub const TVM: u64 = 1 << 20;
    pub const TW: u64 = 1 << 21;
    pub const TSR: u64 = 1 << 22;
    pub const UXL: u64 = 3 << 32;
    pub const SXL: u64 = 3 << 34;
    pub const SD: u64 = 1 << 63;
    /// Bits `sstatus` exposes.
    pub const SSTATUS_MASK: u64 = SIE | SPIE | SPP | FS | SUM | MXR | UXL | SD | (3 << 9) | (3 << 15);
    /// Bits software may write in `mstatus` (the rest are read-only or WARL-fixed).
    pub const WRITABLE: u64 = SIE | MIE | SPIE | MPIE | SPP | MPP | FS | MPRV | SUM | MXR | TVM | TW | TSR;
}

/// Exception causes (priv spec table 3.6).
pub mod cause {
    pub const INSN_MISALIGNED: u64 = 0;
    pub const INSN_ACCESS: u64 = 1;
    pub const ILLEGAL_INSN: u64 = 2;
    pub const BREAKPOINT: u64 = 3;
    pub const LOAD_MISALIGNED: u64 = 4;
    pub const LOAD_ACCESS: u64 = 5;
    pub const STORE_MISALIGNED: u64 = 6;
    pub const STORE_ACCESS: u64 = 7;
    pub const ECALL_FROM_U: u64 = 8;
    pub const ECALL_FROM_S: u64 = 9;
    pub const ECALL_FROM_M: u64 = 11;
    pub const INSN_PAGE_FAULT: u64 = 12;
    pub const LOAD_PAGE_FAULT: u64 = 13;
    pub const STORE_PAGE_FAULT: u64 = 15;
}

/// A synchronous exception: cause and `xtval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exception {
    pub cause: u64,
    pub tval: u64,
}

impl Exception {
    pub fn new(cause: u64, tval: u64) -> Exception {
        Exception { cause, tval }
    }

    pub fn illegal(raw: u32) -> Exception {
        Exception::new(cause::ILLEGAL_INSN, raw as u64)
    }
}

/// Interrupt bits writable by software in `mip` (the rest are driven by devices).
pub const MIP_SW_WRITABLE: u64 =
    crate::arch::riscv::mip::SSIP | crate::arch::riscv::mip::STIP | crate::arch::riscv::mip::SEIP;
/// Interrupts that may be delegated to S-mode.
pub const S_INTERRUPTS: u64 =
    crate::arch::riscv::mip::SSIP | crate::arch::riscv::mip::STIP | crate::arch::riscv::mip::SEIP;
/// All interrupts the hart implements.
pub const ALL_INTERRUPTS: u64 =
    S_INTERRUPTS | crate::arch::riscv::mip::MSIP | crate::arch::riscv::mip::MTIP | crate::arch::riscv::mip::MEIP;

/// The hart's CSRs that hold state (read-only and computed ones are produced by the `csr` module).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Csrs {
    pub mstatus: u64,
    pub medeleg: u64,
    pub mideleg: u64,
    pub mie: u64,
    /// Software-written pending bits; devices' bits are ORed in by the machine.
    pub mip: u64,
    pub mtvec: u64,
    pub mscratch: u64,
    pub mepc: u64,
    pub mcause: u64,
    pub mtval: u64,
    pub mcounteren: u64,
    pub mcountinhibit: u64,
    pub menvcfg: u64,
    pub stvec: u64,
    pub sscratch: u64,
    pub sepc: u64,
    pub scause: u64,
    pub stval: u64,
    pub scounteren: u64,
    pub senvcfg: u64,
    pub satp: u64,
    pub fflags: u64,
    pub frm: u64,
    pub pmpcfg: [u64; 2],
    pub pmpaddr: Vec<u64>,
    /// `mhpmevent3..31`.
    pub mhpmevent: Vec<u64>,
    /// `mcycle`, an unused slot where `time` would be, `minstret`, `mhpmcounter3..31`: see [`Counter`].
    pub counters: [Counter; 32],
    /// Sstc's supervisor timer compare value.
    pub stimecmp: u64,
    /// Sdtrig's triggers.
    pub triggers: super::trigger::Triggers,
    /// Smstateen's `mstateen0..3` (the `sstateen`s have no bit rewind implements: they read as zero).
    pub mstateen: [u64; 4],
}

/// A counter CSR as the instruction count makes it: `value` when the hart's count was `since`, plus what the
/// hart ran after that while the counter counts. Writing a counter, or changing whether it counts, starts a new
/// span. Derived from the instruction count alone, so counters replay exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub value: u64,
    pub since: u64,
}

/// `mhpmevent` selectors that count (the SBI PMU's hardware event numbers, which QEMU counts too); every other
/// event never happens here.
pub mod event {
    pub const CYCLES: u64 = 1;
    pub const INSTRUCTIONS: u64 = 2;
    /// The event selector's bits (the top byte holds Sscofpmf's overflow and mode-inhibit flags).
    pub const SELECTOR: u64 = (1 << 56) - 1;
    /// Sscofpmf: the counter overflowed (and raised its interrupt, which it does again only once this is clear).
    pub const OF: u64 = 1 << 63;
    /// Sscofpmf: the counter does not count in M, S or U mode.
    pub const MINH: u64 = 1 << 62;
    pub const SINH: u64 = 1 << 61;
    pub const UINH: u64 = 1 << 60;
    pub const MODE_INHIBITS: u64 = MINH | SINH | UINH;
}

/// `menvcfg` fields.
pub mod envcfg {
    /// Fence of I/O implies memory.
    pub const FIOM: u64 = 1;
    /// Zicbom: `cbo.inval` is illegal (0), a flush (1) or an invalidation (3) below this level.
    pub const CBIE: u64 = 3 << 4;
    /// Zicbom: `cbo.clean` and `cbo.flush` are allowed below this level.
    pub const CBCFE: u64 = 1 << 6;
    /// Zicboz: `cbo.zero` is allowed below this level.
    pub const CBZE: u64 = 1 << 7;
    /// Svpbmt: page table entries may give a memory type.
    pub const PBMTE: u64 = 1 << 62;
    /// Sstc: `stimecmp` is enabled and drives `mip.STIP`.
    pub const STCE: u64 = 1 << 63;
}

/// The architectural state of a hart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hart {
    pub id: usize,
    pub x: [u64; 32],
    pub f: [u64; 32],
    pub pc: u64,
    pub privilege: Priv,
    pub csr: Csrs,
    /// What kind of hart this is (fixed; the same for every hart of a machine).
    pub cpu: CpuConfig,
    /// Address reserved by the last LR, if the reservation is still valid.
    pub reservation: Option<u64>,
    /// Waiting in WFI until an interrupt is pending.
    pub wfi: bool,
    /// Instructions this hart has executed (including ones that trapped).
    pub icount: u64,
    /// Not architectural: a heuristic for the recorder's failure detection. Neither saved, hashed nor compared.
    #[serde(skip)]
    pub faults: FaultStreak,
}

/// The last exception (cause, epc) and how many times in a row it was taken: a fault that keeps coming back at
/// the same instruction is a trap loop (a hung guest). An observation about the run, not machine state: two harts
/// compare equal whatever their streaks, and a restored hart starts a new one.
#[derive(Clone, Copy, Debug, Default)]
pub struct FaultStreak {
    pub last: (u64, u64),
    pub repeats: u32,
}

impl PartialEq for FaultStreak {
    fn eq(&self, _: &FaultStreak) -> bool {
        true
    }
}

impl Eq for FaultStreak {}

impl Hart {
    /// A hart of the default kind ([`CpuConfig::default`]).
    pub fn new(id: usize, reset_pc: u64) -> Hart {
        Hart::with_cpu(id, reset_pc, CpuConfig::default())
    }

    pub fn with_cpu(id: usize, reset_pc: u64, cpu: CpuConfig) -> Hart {
        // The reset value of stimecmp is unspecified: the largest keeps a timer that software has not yet set from
        // firing the moment Sstc is enabled.
        let mut csr = Csrs { pmpaddr: vec![0; 16], mhpmevent: vec![0; 29], stimecmp: u64::MAX, ..Csrs::default() };
        // UXL = SXL = 2 (64-bit), fixed.
        csr.mstatus = (2 << 32) | (2 << 34);
        Hart {
            id,
            x: [0; 32],
            f: [0; 32],
            pc: reset_pc,
            privilege: Priv::Machine,
            csr,
            cpu,
            reservation: None,
            wfi: false,
            icount: 0,
            faults: FaultStreak::default(),
        }
    }

    /// Whether counter `index` (0 `mcycle`, 2 `minstret`, 3.. `mhpmcounter`s) advances with the instruction count.
    fn counting(&self, index: usize) -> bool {
        self.counts_in_some_mode(index) && self.event(index) & self.mode_inhibit() == 0
    }

    /// Whether counter `index` counts at all, in whatever privilege levels its mode filter leaves: not inhibited,
    /// and (for an HPM counter) selecting an event that happens here.
    fn counts_in_some_mode(&self, index: usize) -> bool {
        self.csr.mcountinhibit & (1 << (index & 63)) == 0
            && (matches!(index, 0 | 2)
                || matches!(self.event(index) & event::SELECTOR, event::CYCLES | event::INSTRUCTIONS))
    }

    /// HPM counter `index`'s `mhpmevent` (0 for the fixed counters and those that do not exist).
    fn event(&self, index: usize) -> u64 {
        self.csr.mhpmevent.get(index.wrapping_sub(3)).copied().unwrap_or(0)
    }

    /// Sscofpmf's `mhpmevent` bit that stops a counter in the current privilege level (none without it).
    fn mode_inhibit(&self) -> u64 {
        if !self.cpu.has(Extension::Sscofpmf) {
            return 0;
        }
        match self.privilege {
            Priv::Machine => event::MINH,
            Priv::Supervisor => event::SINH,
            Priv::User => event::UINH,
        }
    }

    /// Before the privilege level changes: counters that count in some modes only start new spans, so what they
    /// counted so far stays theirs.
    fn rebase_mode_filtered_counters(&mut self) {
        if self.csr.mhpmevent.iter().any(|e| e & event::MODE_INHIBITS != 0) && self.cpu.has(Extension::Sscofpmf) {
            // A wrap by the instruction that changes the level (an ecall, say) belongs to the span that ends.
            self.check_counter_overflow();
            for i in 3..self.csr.counters.len() {
                self.set_counter(i, self.counter(i));
            }
        }
    }

    /// Sscofpmf: the fewest instructions after which an HPM counter that has not overflowed yet could wrap to
    /// zero, were it to count every one of them. Mode filtering can only make the wrap later, so a slice that ends
    /// here never runs past it, and the privilege changes inside a slice need not end it (writes to the counters
    /// and their events do: see `csr::overflow_replanned`).
    pub fn instructions_to_counter_overflow(&self) -> Option<u64> {
        if !self.cpu.has(Extension::Sscofpmf) {
            return None;
        }
        (3..self.csr.counters.len())
            .filter(|&i| self.overflow_watched(i))
            .map(|i| self.counter(i).wrapping_neg())
            .filter(|&n| n != 0)
            .min()
    }

    /// Whether counter `index` counts in some mode and would raise an overflow interrupt (its `OF` is clear).
    fn overflow_watched(&self, index: usize) -> bool {
        index >= 3 && self.counts_in_some_mode(index) && self.event(index) & event::OF == 0
    }

    /// Sscofpmf: sets `OF` and `mip.LCOFIP` for each counter that wrapped in its current span; true if one did.
    pub fn check_counter_overflow(&mut self) -> bool {
        if !self.cpu.has(Extension::Sscofpmf) {
            return false;
        }
        let mut raised = false;
        for i in 3..self.csr.counters.len() {
            let c = self.csr.counters[i];
            let wrapped = c.value != 0 && self.icount.wrapping_sub(c.since) >= c.value.wrapping_neg();
            if self.overflow_watched(i) && self.counting(i) && wrapped {
                // A new span from here, so the wrap is not seen again once software clears OF.
                self.set_counter(i, self.counter(i));
                if let Some(e) = self.csr.mhpmevent.get_mut(i - 3) {
                    *e |= event::OF;
                }
                self.csr.mip |= super::mip::LCOFIP;
                raised = true;
            }
        }
        raised
    }

    /// The value of counter `index` now. Cycles are instructions: one instruction per cycle.
    pub fn counter(&self, index: usize) -> u64 {
        let Some(c) = self.csr.counters.get(index) else { return 0 };
        if self.counting(index) {
            c.value.wrapping_add(self.icount.wrapping_sub(c.since))
        } else {
            c.value
        }
    }

    /// Writes counter `index`: the next instruction counts on from `value`.
    pub fn set_counter(&mut self, index: usize, value: u64) {
        if let Some(c) = self.csr.counters.get_mut(index) {
            *c = Counter { value, since: self.icount };
        }
    }

    /// Runs `change` (of `mcountinhibit` or an event selector) with every counter's value carried across it.
    pub fn change_counting(&mut self, change: impl FnOnce(&mut Csrs)) {
        let values: [u64; 32] = std::array::from_fn(|i| self.counter(i));
        change(&mut self.csr);
        for (i, v) in values.into_iter().enumerate() {
            self.set_counter(i, v);
        }
    }

    /// The privileged spec's two-level enables (`mcounteren`/`scounteren`, `menvcfg`/`senvcfg`): whether `bits` of
    /// the M-level register `machine` and, in U mode, of the S-level register `supervisor` let the current
    /// privilege level through. M mode always passes.
    pub fn allowed_below_machine(&self, machine: u64, supervisor: u64, bits: u64) -> bool {
        match self.privilege {
            Priv::Machine => true,
            Priv::Supervisor => machine & bits != 0,
            Priv::User => machine & bits != 0 && supervisor & bits != 0,
        }
    }

    /// Whether the `envcfg` field `field` (CBIE, CBCFE or CBZE) lets the current privilege level run the cache-block
    /// operations it controls.
    pub fn cache_block_ops_enabled(&self, field: u64) -> bool {
        self.allowed_below_machine(self.csr.menvcfg, self.csr.senvcfg, field)
    }

    /// Whether page table entries may carry Svpbmt's memory types.
    pub fn pbmt_enabled(&self) -> bool {
        self.cpu.has(Extension::Svpbmt) && self.csr.menvcfg & envcfg::PBMTE != 0
    }

    /// Whether Sstc's timer drives `mip.STIP`.
    pub fn sstc_enabled(&self) -> bool {
        self.cpu.has(Extension::Sstc) && self.csr.menvcfg & envcfg::STCE != 0
    }

    /// Brings `mip.STIP` up to date with Sstc's comparison at virtual time `now` (ticks); true if it rose.
    pub fn update_timer(&mut self, now: u64) -> bool {
        if !self.sstc_enabled() {
            return false;
        }
        let before = self.csr.mip & super::mip::STIP;
        if now >= self.csr.stimecmp {
            self.csr.mip |= super::mip::STIP;
        } else {
            self.csr.mip &= !super::mip::STIP;
        }
        before == 0 && self.csr.mip & super::mip::STIP != 0
    }

    /// When Sstc's timer will next raise `mip.STIP` (ticks), if it is armed and not already pending.
    pub fn timer_deadline(&self) -> Option<u64> {
        (self.sstc_enabled() && self.csr.mip & super::mip::STIP == 0).then_some(self.csr.stimecmp)
    }

    #[inline]
    pub fn set_x(&mut self, reg: u8, value: u64) {
        if reg != 0 {
            self.x[reg as usize & 31] = value;
        }
    }

    #[inline]
    pub fn fs_enabled(&self) -> bool {
        self.csr.mstatus & mstatus::FS != 0
    }

    /// Marks the FP state dirty (mstatus.FS = Dirty, SD = 1) after an FP register or fcsr write.
    #[inline]
    pub fn set_fs_dirty(&mut self) {
        self.csr.mstatus |= mstatus::FS | mstatus::SD;
    }

    /// Takes a trap: an exception (`interrupt` false) or an interrupt with cause number `cause`. `pc` is the
    /// address of the trapping instruction (or of the next one to run, for interrupts).
    pub fn trap(&mut self, cause: u64, interrupt: bool, tval: u64) {
        // System calls and breakpoints at one pc are normal in loops; faults that repeat are not.
        if !interrupt
            && !matches!(cause, cause::ECALL_FROM_U | cause::ECALL_FROM_S | cause::ECALL_FROM_M | cause::BREAKPOINT)
        {
            if self.faults.last == (cause, self.pc) {
                self.faults.repeats = self.faults.repeats.saturating_add(1);
            } else {
                self.faults = FaultStreak { last: (cause, self.pc), repeats: 1 };
            }
        }
        self.drop_reservation_at_mode_switch();
        self.rebase_mode_filtered_counters();
        let deleg = if interrupt { self.csr.mideleg } else { self.csr.medeleg };
        let to_s = self.privilege <= Priv::Supervisor && (deleg >> cause) & 1 == 1;
        let cause_value = cause | if interrupt { 1 << 63 } else { 0 };
        let st = self.csr.mstatus;
        if to_s {
            self.csr.sepc = self.pc;
            self.csr.scause = cause_value;
            self.csr.stval = tval;
            let spie = if st & mstatus::SIE != 0 { mstatus::SPIE } else { 0 };
            let spp = if self.privilege == Priv::Supervisor { mstatus::SPP } else { 0 };
            self.csr.mstatus = (st & !(mstatus::SPIE | mstatus::SPP | mstatus::SIE)) | spie | spp;
            self.privilege = Priv::Supervisor;
            self.pc = trap_vector(self.csr.stvec, cause, interrupt);
        } else {
            self.csr.mepc = self.pc;
            self.csr.mcause = cause_value;
            self.csr.mtval = tval;
            let mpie = if st & mstatus::MIE != 0 { mstatus::MPIE } else { 0 };
            let mpp = (self.privilege as u64) << mstatus::MPP_SHIFT;
            self.csr.mstatus = (st & !(mstatus::MPIE | mstatus::MPP | mstatus::MIE)) | mpie | mpp;
            self.privilege = Priv::Machine;
            self.pc = trap_vector(self.csr.mtvec, cause, interrupt);
            self.csr.triggers.enter_machine_trap();
        }
    }

    /// What happens at every trap and trap return besides the privilege change: the hart's LR reservation goes
    /// (priv spec 3.3.2 allows it; QEMU does it on every mode switch, so an SC after a trap fails under both).
    fn drop_reservation_at_mode_switch(&mut self) {
        self.reservation = None;
    }

    /// `mret`: priv spec 3.3.2.
    pub fn mret(&mut self) {
        self.drop_reservation_at_mode_switch();
        self.rebase_mode_filtered_counters();
        let st = self.csr.mstatus;
        let mpp = Priv::from_bits(st >> mstatus::MPP_SHIFT);
        let mie = if st & mstatus::MPIE != 0 { mstatus::MIE } else { 0 };
        let mut new = (st & !(mstatus::MIE | mstatus::MPP)) | mie | mstatus::MPIE;
        if mpp != Priv::Machine {
            new &= !mstatus::MPRV;
        }
        self.csr.mstatus = new;
        self.privilege = mpp;
        self.pc = self.csr.mepc;
        self.csr.triggers.machine_return();
    }

    /// `sret`.
    pub fn sret(&mut self) {
        self.drop_reservation_at_mode_switch();
        self.rebase_mode_filtered_counters();
        let st = self.csr.mstatus;
        let spp = if st & mstatus::SPP != 0 { Priv::Supervisor } else { Priv::User };
        let sie = if st & mstatus::SPIE != 0 { mstatus::SIE } else { 0 };
        self.csr.mstatus = (st & !(mstatus::SIE | mstatus::SPP | mstatus::MPRV)) | sie | mstatus::SPIE;
        self.privilege = spp;
        self.pc = self.csr.sepc;
    }

    /// The interrupt to take now, if any, given the device-driven pending bits `external` (priv spec 3.1.9:
    /// MEI, MSI, MTI, SEI, SSI, STI in that order, then Sscofpmf's LCOFI).
    pub fn pending_interrupt(&self, external: u64) -> Option<u64> {
        let pending = (self.csr.mip | external) & self.csr.mie;
        if pending == 0 {
            return None;
        }
        let st = self.csr.mstatus;
        let m_enabled = self.privilege < Priv::Machine || st & mstatus::MIE != 0;
        let s_enabled =
            self.privilege < Priv::Supervisor || (self.privilege == Priv::Supervisor && st & mstatus::SIE != 0);
        let m_pending = pending & !self.csr.mideleg;
        let s_pending = pending & self.csr.mideleg;
        let pick = |set: u64| [11u64, 3, 7, 9, 1, 5, 13].into_iter().find(|bit| set & (1 << bit) != 0);
        if m_enabled && m_pending != 0 {
            return pick(m_pending);
        }
        if s_enabled && s_pending != 0 {
            return pick(s_pending);
        }
        None
    }
}

fn trap_vector(tvec: u64, cause: u64, interrupt: bool) -> u64 {
    let base = tvec & !3;
    if interrupt && tvec & 3 == 1 {
        base.wrapping_add(4 * cause)
    } else {
        base
    }
}

/// The kind of a memory access, for translation, protection and the fault it raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Fetch = 0,
    Load = 1,
    Store = 2,
}

impl Access {
    pub fn page_fault(self) -> u64 {
        match self {
            Access::Fetch => cause::INSN_PAGE_FAULT,
            Access::Load => cause::LOAD_PAGE_FAULT,
            Access::Store => cause::STORE_PAGE_FAULT,
        }
    }

    pub fn access_fault(self) -> u64 {
        match self {
            Access::Fetch => cause::INSN_ACCESS,
            Access::Load => cause::LOAD_ACCESS,
            Access::Store => cause::STORE_ACCESS,
        }
    }
}

impl crate::arch::ArchHart for Hart {
    fn id(&self) -> usize {
        self.id
    }

    fn pc(&self) -> u64 {
        self.pc
    }

    fn icount(&self) -> u64 {
        self.icount
    }

    #[inline]
    fn is_waiting(&self) -> bool {
        self.wfi
    }

    /// `wfi` ends when an interrupt is pending and enabled in `mie`, whatever the privilege and global enables.
    #[inline]
    fn would_wake(&self, lines: u64) -> bool {
        (self.csr.mip | lines) & self.csr.mie != 0
    }

    #[inline]
    fn service_interrupts(&mut self, lines: u64) -> bool {
        let due = self.would_wake(lines);
        if self.wfi {
            if !due {
                return false;
            }
            self.wfi = false;
        }
        // pending_interrupt finds nothing unless some interrupt is both pending and enabled.
        if due {
            if let Some(irq) = self.pending_interrupt(lines) {
                self.trap(irq, true, 0);
            }
        }
        true
    }

    fn lose_cpu(&mut self, to_another_hart: bool) {
        // Another hart may now write the reserved address, so a wait on the reservation (wrs.nto) ends. (The
        // reservation goes even on a machine of one hart, where nothing else stores: the boot's instruction
        // counts depend on that.)
        if self.reservation.take().is_some() && to_another_hart {
            self.wfi = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overflowing_counter_is_planned_raised_once_and_filtered_by_mode() {
        let mut h = Hart::with_cpu(0, 0, CpuConfig::parse("rv64,sscofpmf=on").unwrap());
        h.change_counting(|c| c.mhpmevent[0] = event::INSTRUCTIONS);
        h.set_counter(3, 10u64.wrapping_neg());
        assert_eq!(h.instructions_to_counter_overflow(), Some(10));
        h.icount = 9;
        assert!(!h.check_counter_overflow());
        h.icount = 10;
        assert!(h.check_counter_overflow());
        assert_eq!(h.csr.mhpmevent[0], event::OF | event::INSTRUCTIONS);
        assert_eq!(h.csr.mip & super::super::mip::LCOFIP, super::super::mip::LCOFIP);
        assert_eq!((h.counter(3), h.instructions_to_counter_overflow()), (0, None), "OF set: not watched any more");
        h.icount = 1 << 40;
        assert!(!h.check_counter_overflow());
        // MINH: the counter stops in M mode and counts on in S.
        h.change_counting(|c| c.mhpmevent[1] = event::MINH | event::INSTRUCTIONS);
        h.set_counter(4, 0);
        h.icount += 100;
        assert_eq!(h.counter(4), 0);
        h.csr.mstatus |= 1 << mstatus::MPP_SHIFT;
        h.mret();
        h.icount += 7;
        assert_eq!(h.counter(4), 7);
        h.trap(cause::ILLEGAL_INSN, false, 0);
        h.icount += 5;
        assert_eq!(h.counter(4), 7, "back in M");
        // Without Sscofpmf the mode bits mean nothing.
        let mut plain = Hart::new(0, 0);
        plain.change_counting(|c| c.mhpmevent[0] = event::MINH | event::INSTRUCTIONS);
        plain.icount = 3;
        assert_eq!(plain.counter(3), 3);
    }

    #[test]
    fn delegated_exception_from_user_enters_supervisor() {
        let mut h = Hart::new(0, 0x1000);
        h.privilege = Priv::User;
        h.csr.medeleg = 1 << cause::ECALL_FROM_U;
        h.csr.stvec = 0x8000_0000;
        h.csr.mstatus |= mstatus::SIE;
        h.pc = 0x4000;
        h.trap(cause::ECALL_FROM_U, false, 0);
        assert_eq!((h.privilege, h.pc, h.csr.sepc, h.csr.scause), (Priv::Supervisor, 0x8000_0000, 0x4000, 8));
        assert_eq!(h.csr.mstatus & (mstatus::SIE | mstatus::SPIE | mstatus::SPP), mstatus::SPIE);
        h.sret();
        assert_eq!((h.privilege, h.pc), (Priv::User, 0x4000));
        assert_ne!(h.csr.mstatus & mstatus::SIE, 0);
    }

    #[test]
    fn exceptions_in_machine_mode_are_never_delegated() {
        let mut h = Hart::new(0, 0x1000);
        h.csr.medeleg = !0;
        h.csr.mtvec = 0x100;
        h.trap(cause::ILLEGAL_INSN, false, 0x1234);
        assert_eq!((h.privilege, h.pc, h.csr.mtval), (Priv::Machine, 0x100, 0x1234));
    }

    #[test]
    fn vectored_interrupts_jump_to_base_plus_four_times_cause() {
        let mut h = Hart::new(0, 0x1000);
        h.privilege = Priv::Supervisor;
        h.csr.mtvec = 0x201;
        h.trap(7, true, 0);
        assert_eq!(h.pc, 0x200 + 28);
        assert_eq!(h.csr.mcause, (1 << 63) | 7);
    }

    #[test]
    fn interrupt_priority_and_enables() {
        let mut h = Hart::new(0, 0);
        h.csr.mie = ALL_INTERRUPTS;
        // In M-mode with MIE clear nothing is taken.
        assert_eq!(h.pending_interrupt(crate::arch::riscv::mip::MTIP), None);
        h.csr.mstatus |= mstatus::MIE;
        assert_eq!(h.pending_interrupt(crate::arch::riscv::mip::MTIP | crate::arch::riscv::mip::MEIP), Some(11));
        // Delegated S interrupts are not taken in M-mode, but are in U-mode regardless of SIE.
        h.csr.mideleg = S_INTERRUPTS;
        assert_eq!(h.pending_interrupt(crate::arch::riscv::mip::STIP), None);
        h.privilege = Priv::User;
        assert_eq!(h.pending_interrupt(crate::arch::riscv::mip::STIP), Some(5));
    }
}
