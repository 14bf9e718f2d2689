//! CSR access (priv spec chapter 2 and the CSR listings of chapters 3 and 4): permission checks, WARL
//! legalisation, and the views (`sstatus`, `sie`, `sip`) of machine-level registers.

use super::cpu::Extension;
use super::hart::{envcfg, mstatus, Exception, Hart, Priv, ALL_INTERRUPTS, MIP_SW_WRITABLE, S_INTERRUPTS};
use super::mip::STIP;
use super::pmp;
use super::trigger;

pub const FFLAGS: u16 = 0x001;
pub const FRM: u16 = 0x002;
pub const FCSR: u16 = 0x003;
pub const CYCLE: u16 = 0xc00;
pub const TIME: u16 = 0xc01;
pub const INSTRET: u16 = 0xc02;
pub const SSTATUS: u16 = 0x100;
pub const SIE: u16 = 0x104;
pub const STVEC: u16 = 0x105;
pub const SCOUNTEREN: u16 = 0x106;
pub const SENVCFG: u16 = 0x10a;
pub const SSTATEEN0: u16 = 0x10c;
pub const SSTATEEN3: u16 = 0x10f;
pub const SSCRATCH: u16 = 0x140;
pub const SEPC: u16 = 0x141;
pub const SCAUSE: u16 = 0x142;
pub const STVAL: u16 = 0x143;
pub const SIP: u16 = 0x144;
pub const STIMECMP: u16 = 0x14d;
/// Sscofpmf's read-only view of the HPM counters' overflow bits.
pub const SCOUNTOVF: u16 = 0xda0;
pub const SATP: u16 = 0x180;
pub const MSTATUS: u16 = 0x300;
pub const MISA: u16 = 0x301;
pub const MEDELEG: u16 = 0x302;
pub const MIDELEG: u16 = 0x303;
pub const MIE: u16 = 0x304;
pub const MTVEC: u16 = 0x305;
pub const MCOUNTEREN: u16 = 0x306;
pub const MENVCFG: u16 = 0x30a;
pub const MSTATEEN0: u16 = 0x30c;
pub const MSTATEEN3: u16 = 0x30f;
pub const MCOUNTINHIBIT: u16 = 0x320;
pub const MHPMEVENT3: u16 = 0x323;
pub const MHPMEVENT31: u16 = 0x33f;
pub const MSCRATCH: u16 = 0x340;
pub const MEPC: u16 = 0x341;
pub const MCAUSE: u16 = 0x342;
pub const MTVAL: u16 = 0x343;
pub const MIP: u16 = 0x344;
pub const PMPCFG0: u16 = 0x3a0;
pub const PMPADDR0: u16 = 0x3b0;
pub const TSELECT: u16 = 0x7a0;
pub const TDATA1: u16 = 0x7a1;
pub const TDATA2: u16 = 0x7a2;
pub const TDATA3: u16 = 0x7a3;
pub const TINFO: u16 = 0x7a4;
pub const TCONTROL: u16 = 0x7a5;
pub const MCYCLE: u16 = 0xb00;
pub const MINSTRET: u16 = 0xb02;
pub const MHPMCOUNTER31: u16 = 0xb1f;
pub const HPMCOUNTER31: u16 = 0xc1f;
pub const MVENDORID: u16 = 0xf11;
pub const MARCHID: u16 = 0xf12;
pub const MIMPID: u16 = 0xf13;
pub const MHARTID: u16 = 0xf14;
pub const MCONFIGPTR: u16 = 0xf15;

/// What a CSR write changed, so the interpreter can flush what depends on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsrEffect {
    /// Address translation may have changed (satp, mstatus SUM/MXR).
    pub flush_tlb: bool,
    /// The PMP entries changed (the TLB must be flushed too).
    pub pmp_changed: bool,
    /// The hart's own timer (or, with Sscofpmf, its counters) was reprogrammed: the running slice ends and the
    /// machine plans the next anew.
    pub timer_changed: bool,
    /// ...and it raised `mip.STIP` at once (a compare value already past).
    pub timer_raised: bool,
}

/// Values the hart does not hold itself.
#[derive(Clone, Copy)]
pub struct CsrEnv {
    /// Virtual time in timer ticks.
    pub time: u64,
    /// Interrupt-pending bits driven by devices (CLINT, PLIC), which `mip` and `sip` show.
    pub external_irqs: u64,
}

fn illegal() -> Exception {
    // The interpreter replaces tval with the instruction bits.
    Exception::illegal(0)
}

/// Counter access check (priv spec 3.1.11 / 4.1.4): `mcounteren` gates S and U, `scounteren` gates U.
fn counter_allowed(hart: &Hart, index: u16) -> bool {
    hart.allowed_below_machine(hart.csr.mcounteren, hart.csr.scounteren, 1 << (index & 31))
}

/// One bit per counter that exists (0 to 31): `mcycle`, `time`, `minstret` and the configured HPM counters. (A
/// configuration restored from a damaged recording cannot make the shift overflow.)
fn existing_counters(hart: &Hart) -> u64 {
    let pmu = u32::from(hart.cpu.pmu_counters.min(super::cpu::MAX_PMU_COUNTERS));
    (1u64 << (3 + pmu)) - 1
}

fn counter_exists(hart: &Hart, index: usize) -> bool {
    existing_counters(hart) & (1 << (index & 63)) != 0
}

/// `menvcfg` (`level` M) or `senvcfg` (S) as written by `value`: FIOM, the cache-block controls of the
/// extensions the hart has, and in `menvcfg` Sstc's STCE and Svpbmt's PBMTE; CBIE's reserved value 2 becomes 0
/// (WARL).
fn legal_envcfg(hart: &Hart, value: u64, level: Priv) -> u64 {
    let mut fields = envcfg::FIOM;
    if hart.cpu.has(Extension::Zicbom) {
        fields |= envcfg::CBIE | envcfg::CBCFE;
    }
    if hart.cpu.has(Extension::Zicboz) {
        fields |= envcfg::CBZE;
    }
    if level == Priv::Machine && hart.cpu.has(Extension::Sstc) {
        fields |= envcfg::STCE;
    }
    if level == Priv::Machine && hart.cpu.has(Extension::Svpbmt) {
        fields |= envcfg::PBMTE;
    }
    let legal = value & fields;
    if legal & envcfg::CBIE == 2 << 4 {
        legal & !envcfg::CBIE
    } else {
        legal
    }
}

/// Smstateen's `mstateenN` bits: SE0 lets S mode reach `sstateenN`, ENVCFG (in `mstateen0`) `senvcfg`. The other
/// bits guard state rewind's hart does not have, and read as zero.
pub mod stateen {
    pub const SE0: u64 = 1 << 63;
    pub const ENVCFG: u64 = 1 << 62;
}

/// Whether S mode may reach the state `mstateen[index]`'s `bit` guards: always without Smstateen, and in M mode.
fn state_enabled(hart: &Hart, index: usize, bit: u64) -> bool {
    !hart.cpu.has(Extension::Smstateen)
        || hart.privilege == Priv::Machine
        || hart.csr.mstateen.get(index).is_some_and(|m| m & bit != 0)
}

/// Whether `sstateen{index}` is there for the hart's privilege level: with Smstateen, and in S mode when
/// `mstateen{index}.SE0` allows it.
fn stateen_exists(hart: &Hart, index: u16) -> bool {
    hart.cpu.has(Extension::Smstateen) && state_enabled(hart, usize::from(index), stateen::SE0)
}

/// After a write to a counter or what it counts: with Sscofpmf, the running slice ends, so the machine plans the
/// next one to stop where a counter could now overflow.
fn overflow_replanned(hart: &Hart) -> CsrEffect {
    CsrEffect { timer_changed: hart.cpu.has(Extension::Sscofpmf), ..CsrEffect::default() }
}

/// Sstc's access rule for `stimecmp` (Sstc spec 2.1): it exists with the extension; below M mode it also needs
/// `mcounteren.TM` and `menvcfg.STCE`.
fn stimecmp_allowed(hart: &Hart) -> bool {
    hart.cpu.has(Extension::Sstc)
        && (hart.privilege == Priv::Machine || (hart.csr.mcounteren & 2 != 0 && hart.csr.menvcfg & envcfg::STCE != 0))
}

pub fn read(hart: &Hart, csr: u16, env: &CsrEnv) -> Result<u64, Exception> {
    if (csr >> 8) & 3 > hart.privilege as u16 {
        return Err(illegal());
    }
    let c = &hart.csr;
    let value = match csr {
        FFLAGS | FRM | FCSR if !hart.fs_enabled() => return Err(illegal()),
        FFLAGS => c.fflags,
        FRM => c.frm,
        FCSR => (c.frm << 5) | c.fflags,
        CYCLE..=HPMCOUNTER31 => {
            if !counter_exists(hart, (csr - CYCLE) as usize) || !counter_allowed(hart, csr) {
                return Err(illegal());
            }
            match csr {
                TIME => env.time,
                _ => hart.counter((csr - CYCLE) as usize),
            }
        }
        SSTATUS => c.mstatus & mstatus::SSTATUS_MASK,
        SIE => c.mie & c.mideleg,
        STVEC => c.stvec,
        SCOUNTEREN => c.scounteren,
        SENVCFG if state_enabled(hart, 0, stateen::ENVCFG) => c.senvcfg,
        SSTATEEN0..=SSTATEEN3 if stateen_exists(hart, csr - SSTATEEN0) => 0,
        SSCRATCH => c.sscratch,
        SEPC => c.sepc,
        SCAUSE => c.scause,
        STVAL => c.stval,
        STIMECMP if stimecmp_allowed(hart) => c.stimecmp,
        SCOUNTOVF if hart.cpu.has(Extension::Sscofpmf) => {
            let overflowed = c.mhpmevent.iter().enumerate().fold(0, |bits, (i, e)| bits | ((e >> 63) << (i + 3)));
            // S mode sees the bits mcounteren lets it see.
            let visible = if hart.privilege == Priv::Machine { !0 } else { c.mcounteren };
            overflowed & existing_counters(hart) & visible
        }
        SIP => (c.mip | env.external_irqs) & c.mideleg,
        SATP => {
            if hart.privilege == Priv::Supervisor && c.mstatus & mstatus::TVM != 0 {
                return Err(illegal());
            }
            c.satp
        }
        MSTATUS => c.mstatus,
        MISA => hart.cpu.misa(),
        MEDELEG => c.medeleg,
        MIDELEG => c.mideleg,
        MIE => c.mie,
        MTVEC => c.mtvec,
        MCOUNTEREN => c.mcounteren,
        MENVCFG => c.menvcfg,
        MSTATEEN0..=MSTATEEN3 if hart.cpu.has(Extension::Smstateen) => c.mstateen[(csr - MSTATEEN0) as usize & 3],
        MCOUNTINHIBIT => c.mcountinhibit,
        MHPMEVENT3..=MHPMEVENT31 => c.mhpmevent.get((csr - MHPMEVENT3) as usize).copied().unwrap_or(0),
        MSCRATCH => c.mscratch,
        MEPC => c.mepc,
        MCAUSE => c.mcause,
        MTVAL => c.mtval,
        MIP => c.mip | env.external_irqs,
        // RV64: only the even pmpcfg registers exist.
        0x3a0..=0x3af if csr & 1 == 0 => c.pmpcfg.get(((csr - PMPCFG0) / 2) as usize).copied().unwrap_or(0),
        0x3b0..=0x3ef => c.pmpaddr.get((csr - PMPADDR0) as usize).copied().unwrap_or(0),
        MCYCLE | MINSTRET..=MHPMCOUNTER31 if counter_exists(hart, (csr - MCYCLE) as usize) => {
            hart.counter((csr - MCYCLE) as usize)
        }
        MVENDORID => hart.cpu.mvendorid,
        MARCHID => hart.cpu.marchid,
        MIMPID => hart.cpu.mimpid,
        MCONFIGPTR => 0,
        MHARTID => hart.id as u64,
        TSELECT | TDATA1 | TDATA2 | TDATA3 | TINFO | TCONTROL => match (csr, hart.cpu.trigger_module()) {
            (_, None) | (TCONTROL, Some(trigger::Module::Qemu72)) => return Err(illegal()),
            (TSELECT, _) => c.triggers.select,
            (TDATA1, _) => c.triggers.tdata1(),
            (TDATA2, _) => c.triggers.tdata2(),
            (TINFO, Some(module)) => trigger::tinfo(module),
            (TCONTROL, _) => c.triggers.tcontrol,
            _ => 0, // tdata3: no context or value matches
        },
        _ => return Err(illegal()),
    };
    Ok(value)
}

/// The value CSRRS/CSRRC set or clear bits of before writing it back: what [`read`] returns, except that a bit both
/// software and a device drive (mip.SEIP) counts only its software-writable half. Priv spec 3.1.9: "Only the
/// software-writable SEIP bit participates in the read-modify-write sequence of a CSRRS or CSRRC instruction."
/// Otherwise `csrs mip, STIP`, which OpenSBI runs on every machine timer interrupt, would copy an external
/// interrupt pending at that moment into the software bit, and S-mode would see it pending for ever after.
pub fn read_for_update(hart: &Hart, csr: u16, env: &CsrEnv) -> Result<u64, Exception> {
    read(hart, csr, &CsrEnv { external_irqs: env.external_irqs & !MIP_SW_WRITABLE, ..*env })
}

/// Writes `csr`; `env` gives the time a timer comparison is made at.
pub fn write(hart: &mut Hart, csr: u16, value: u64, env: &CsrEnv) -> Result<CsrEffect, Exception> {
    if (csr >> 8) & 3 > hart.privilege as u16 || csr >> 10 == 3 {
        return Err(illegal());
    }
    // Counters and timers first: they go through the hart, which keeps them in step with the instruction count.
    match csr {
        MCYCLE | MINSTRET..=MHPMCOUNTER31 => {
            let index = (csr - MCYCLE) as usize;
            if !counter_exists(hart, index) {
                return Err(illegal());
            }
            hart.set_counter(index, value);
            return Ok(overflow_replanned(hart));
        }
        MCOUNTINHIBIT => {
            // CY, IR and the HPM counters that exist; TM is read-only zero.
            let mask = existing_counters(hart) & !(1 << (TIME - CYCLE));
            hart.change_counting(|c| c.mcountinhibit = value & mask);
            return Ok(overflow_replanned(hart));
        }
        MHPMEVENT3..=MHPMEVENT31 => {
            let index = (csr - MHPMEVENT3) as usize;
            // The selectors of counters that do not exist are read-only zero.
            if counter_exists(hart, index + 3) {
                hart.change_counting(|c| {
                    if let Some(event) = c.mhpmevent.get_mut(index) {
                        *event = value;
                    }
                });
            }
            return Ok(overflow_replanned(hart));
        }
        STIMECMP => {
            if !stimecmp_allowed(hart) {
                return Err(illegal());
            }
            hart.csr.stimecmp = value;
            let timer_raised = hart.update_timer(env.time);
            return Ok(CsrEffect { timer_changed: true, timer_raised, ..CsrEffect::default() });
        }
        MENVCFG => {
            hart.csr.menvcfg = legal_envcfg(hart, value, Priv::Machine);
            let timer_raised = hart.update_timer(env.time);
            return Ok(CsrEffect { timer_changed: true, timer_raised, ..CsrEffect::default() });
        }
        SENVCFG => {
            if !state_enabled(hart, 0, stateen::ENVCFG) {
                return Err(illegal());
            }
            hart.csr.senvcfg = legal_envcfg(hart, value, Priv::Supervisor);
            return Ok(CsrEffect::default());
        }
        MSTATEEN0..=MSTATEEN3 if hart.cpu.has(Extension::Smstateen) => {
            let index = (csr - MSTATEEN0) as usize & 3;
            let writable = if index == 0 { stateen::SE0 | stateen::ENVCFG } else { stateen::SE0 };
            hart.csr.mstateen[index] = value & writable;
            return Ok(CsrEffect::default());
        }
        SSTATEEN0..=SSTATEEN3 if stateen_exists(hart, csr - SSTATEEN0) => return Ok(CsrEffect::default()),
        _ => {}
    }
    // With Sstc enabled, STIP is the timer's comparison and no software's to write.
    let lcofi = if hart.cpu.has(Extension::Sscofpmf) { crate::arch::riscv::mip::LCOFIP } else { 0 };
    let mip_writable = (if hart.sstc_enabled() { MIP_SW_WRITABLE & !STIP } else { MIP_SW_WRITABLE }) | lcofi;
    let mut effect = CsrEffect::default();
    let c = &mut hart.csr;
    match csr {
        FFLAGS | FRM | FCSR if c.mstatus & mstatus::FS == 0 => return Err(illegal()),
        FFLAGS => c.fflags = value & 0x1f,
        FRM => c.frm = value & 7,
        FCSR => {
            c.fflags = value & 0x1f;
            c.frm = (value >> 5) & 7;
        }
        SSTATUS => {
            let mask = mstatus::SSTATUS_MASK & mstatus::WRITABLE;
            effect.flush_tlb = write_mstatus(c, (c.mstatus & !mask) | (value & mask));
        }
        SIE => c.mie = (c.mie & !c.mideleg) | (value & c.mideleg),
        STVEC => c.stvec = legal_tvec(value),
        SCOUNTEREN => c.scounteren = value & 0xffff_ffff,
        SSCRATCH => c.sscratch = value,
        SEPC => c.sepc = value & !1,
        SCAUSE => c.scause = value,
        STVAL => c.stval = value,
        SIP => {
            let mask = c.mideleg & (crate::arch::riscv::mip::SSIP | lcofi);
            c.mip = (c.mip & !mask) | (value & mask);
        }
        SATP => {
            if hart.privilege == Priv::Supervisor && c.mstatus & mstatus::TVM != 0 {
                return Err(illegal());
            }
            // MODE is WARL: Bare, Sv39 and Sv48 are supported; any other mode leaves satp unchanged, which is
            // how Linux discovers that Sv57 is not available and falls back.
            let mode = value >> 60;
            if matches!(mode, 0 | 8 | 9) {
                // ASIDs are not implemented (ASIDLEN = 0), so the field reads as zero.
                c.satp = value & !(0xffff << 44);
                effect.flush_tlb = true;
            }
        }
        MSTATUS => effect.flush_tlb = write_mstatus(c, value),
        MISA => {}
        MEDELEG => c.medeleg = value & 0xb3ff, // every exception except ecall-from-M and reserved causes
        MIDELEG => c.mideleg = value & (S_INTERRUPTS | lcofi),
        MIE => c.mie = value & (ALL_INTERRUPTS | lcofi),
        MTVEC => c.mtvec = legal_tvec(value),
        MCOUNTEREN => c.mcounteren = value & 0xffff_ffff,
        MSCRATCH => c.mscratch = value,
        MEPC => c.mepc = value & !1,
        MCAUSE => c.mcause = value,
        MTVAL => c.mtval = value,
        MIP => c.mip = (c.mip & !mip_writable) | (value & mip_writable),
        // Cached translations were checked against the old protection.
        0x3a0..=0x3af if csr & 1 == 0 => {
            pmp::write_cfg(c, ((csr - PMPCFG0) / 2) as usize, value);
            effect.pmp_changed = true;
        }
        0x3b0..=0x3ef => {
            pmp::write_addr(c, (csr - PMPADDR0) as usize, value);
            effect.pmp_changed = true;
        }
        TSELECT | TDATA1 | TDATA2 | TDATA3 | TINFO | TCONTROL => match (csr, hart.cpu.trigger_module()) {
            (_, None) | (TCONTROL, Some(trigger::Module::Qemu72)) => return Err(illegal()),
            (TSELECT, _) => c.triggers.write_select(value),
            (TDATA1, Some(module)) => c.triggers.write_tdata1(value, module),
            (TDATA2, _) => c.triggers.write_tdata2(value),
            (TCONTROL, _) => c.triggers.write_tcontrol(value),
            // tdata3's match fields and tinfo are not writable, as in QEMU 7.2: writes are ignored.
            _ => {}
        },
        _ => return Err(illegal()),
    }
    Ok(effect)
}

fn legal_tvec(value: u64) -> u64 {
    // Modes 0 (direct) and 1 (vectored); reserved modes fall back to direct.
    if value & 3 >= 2 {
        value & !3
    } else {
        value
    }
}

/// Writes mstatus; returns whether cached translations must go. Only SUM and MXR change what a translation
/// allows: MPRV and MPP change which privilege's entries are used, and the TLB keeps those apart already.
fn write_mstatus(c: &mut super::hart::Csrs, value: u64) -> bool {
    let old = c.mstatus;
    let mut new = (c.mstatus & !mstatus::WRITABLE) | (value & mstatus::WRITABLE);
    // MPP is WARL: the reserved encoding 2 becomes U.
    if (new & mstatus::MPP) >> mstatus::MPP_SHIFT == 2 {
        new &= !mstatus::MPP;
    }
    if new & mstatus::FS == mstatus::FS {
        new |= mstatus::SD;
    } else {
        new &= !mstatus::SD;
    }
    c.mstatus = new;
    (old ^ new) & (mstatus::SUM | mstatus::MXR) != 0
}

/// Reads `csr` as a debugger sees it: whatever the hart's privilege level and `mstatus.FS`. `None` for a CSR the
/// hart does not have.
pub fn debug_read(hart: &Hart, csr: u16, env: &CsrEnv) -> Option<u64> {
    let mut h = hart.clone();
    h.privilege = Priv::Machine;
    h.csr.mstatus |= mstatus::FS;
    let value = read(&h, csr, env).ok()?;
    // The FS bits forced above must not show in mstatus/sstatus.
    Some(match csr {
        MSTATUS => hart.csr.mstatus,
        SSTATUS => hart.csr.mstatus & mstatus::SSTATUS_MASK,
        _ => value,
    })
}

/// Writes `csr` as a debugger would: with the CSR's write rules (WARL fields; read-only CSRs refuse), but whatever
/// the hart's privilege level and `mstatus.FS`. Returns false if the write is refused.
pub fn debug_write(hart: &mut Hart, csr: u16, value: u64, env: &CsrEnv) -> bool {
    let (privilege, status) = (hart.privilege, hart.csr.mstatus);
    hart.privilege = Priv::Machine;
    let fp = matches!(csr, FFLAGS | FRM | FCSR);
    if fp {
        hart.csr.mstatus |= mstatus::FS;
    }
    let ok = write(hart, csr, value, env).is_ok();
    hart.privilege = privilege;
    if fp {
        hart.csr.mstatus = status;
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: CsrEnv = CsrEnv { time: 42, external_irqs: 0 };

    #[test]
    fn unsupported_satp_modes_are_ignored_so_linux_falls_back() {
        let mut h = Hart::new(0, 0);
        write(&mut h, SATP, (10 << 60) | 0x1234, &ENV).unwrap();
        assert_eq!(read(&h, SATP, &ENV).unwrap(), 0);
        write(&mut h, SATP, (9 << 60) | 0x1234, &ENV).unwrap();
        assert_eq!(read(&h, SATP, &ENV).unwrap(), (9 << 60) | 0x1234);
    }

    #[test]
    fn supervisor_cannot_touch_machine_csrs_and_sees_masked_views() {
        let mut h = Hart::new(0, 0);
        write(&mut h, MSTATUS, mstatus::MIE | mstatus::SIE, &ENV).unwrap();
        h.privilege = Priv::Supervisor;
        assert!(read(&h, MSTATUS, &ENV).is_err());
        assert_eq!(read(&h, SSTATUS, &ENV).unwrap() & (mstatus::MIE | mstatus::SIE), mstatus::SIE);
        assert!(write(&mut h, MHARTID, 1, &ENV).is_err());
    }

    #[test]
    fn time_is_gated_by_counteren() {
        let mut h = Hart::new(0, 0);
        h.privilege = Priv::Supervisor;
        assert!(read(&h, TIME, &ENV).is_err());
        h.csr.mcounteren = 2;
        assert_eq!(read(&h, TIME, &ENV).unwrap(), 42);
    }

    #[test]
    fn mstatus_mpp_is_warl_and_sd_follows_fs() {
        let mut h = Hart::new(0, 0);
        write(&mut h, MSTATUS, 2 << mstatus::MPP_SHIFT | mstatus::FS, &ENV).unwrap();
        let v = read(&h, MSTATUS, &ENV).unwrap();
        assert_eq!(v & mstatus::MPP, 0);
        assert_ne!(v & mstatus::SD, 0);
    }

    #[test]
    fn mip_shows_device_driven_bits() {
        let h = Hart::new(0, 0);
        let env = CsrEnv { time: 0, external_irqs: crate::arch::riscv::mip::MSIP | crate::arch::riscv::mip::SEIP };
        assert_eq!(read(&h, MIP, &env).unwrap(), crate::arch::riscv::mip::MSIP | crate::arch::riscv::mip::SEIP);
    }

    #[test]
    fn set_and_clear_of_mip_leave_a_device_driven_seip_to_the_device() {
        use crate::arch::riscv::mip::{MTIP, SEIP, STIP};
        let mut h = Hart::new(0, 0);
        let plic_request = CsrEnv { time: 0, external_irqs: SEIP | MTIP };
        assert_eq!(read(&h, MIP, &plic_request).unwrap(), SEIP | MTIP, "rd shows the interrupt line");
        assert_eq!(read_for_update(&h, MIP, &plic_request).unwrap(), MTIP, "but SEIP's line is not written back");
        // A software-set SEIP (M-mode injecting an S external interrupt) takes part as usual.
        write(&mut h, MIP, SEIP | STIP, &ENV).unwrap();
        assert_eq!(read_for_update(&h, MIP, &plic_request).unwrap(), SEIP | STIP | MTIP);
        assert_eq!(read_for_update(&h, MIP, &ENV).unwrap(), SEIP | STIP);
    }

    #[test]
    fn fp_csrs_need_fs_enabled() {
        let mut h = Hart::new(0, 0);
        assert!(read(&h, FCSR, &ENV).is_err());
        write(&mut h, MSTATUS, 1 << mstatus::FS_SHIFT, &ENV).unwrap();
        write(&mut h, FCSR, 0xff, &ENV).unwrap();
        assert_eq!((read(&h, FRM, &ENV).unwrap(), read(&h, FFLAGS, &ENV).unwrap()), (7, 0x1f));
    }

    #[test]
    fn counters_count_on_from_what_is_written_and_stop_when_inhibited() {
        let mut h = Hart::new(0, 0);
        h.icount = 500;
        assert_eq!(read(&h, MINSTRET, &ENV).unwrap(), 500);
        write(&mut h, MINSTRET, 1000, &ENV).unwrap();
        h.icount += 10;
        assert_eq!(read(&h, MINSTRET, &ENV).unwrap(), 1010);
        assert_eq!(read(&h, INSTRET, &ENV).unwrap(), 1010, "the unprivileged view is the same counter");
        assert_eq!(read(&h, MCYCLE, &ENV).unwrap(), 510, "mcycle was not written");
        write(&mut h, MCOUNTINHIBIT, !0, &ENV).unwrap();
        assert_eq!(read(&h, MCOUNTINHIBIT, &ENV).unwrap(), 0x7fffd, "TM and counters beyond pmu-num are zero");
        h.icount += 10;
        assert_eq!(read(&h, MINSTRET, &ENV).unwrap(), 1010);
        write(&mut h, MCOUNTINHIBIT, 0, &ENV).unwrap();
        h.icount += 1;
        assert_eq!(read(&h, MINSTRET, &ENV).unwrap(), 1011);
    }

    #[test]
    fn hpm_counters_exist_up_to_pmu_num_and_count_the_events_they_select() {
        let mut h = Hart::new(0, 0);
        write(&mut h, 0xb03, 5, &ENV).unwrap();
        h.icount += 100;
        assert_eq!(read(&h, 0xb03, &ENV).unwrap(), 5, "event 0 counts nothing");
        write(&mut h, MHPMEVENT3, 2, &ENV).unwrap();
        h.icount += 100;
        assert_eq!(read(&h, 0xb03, &ENV).unwrap(), 105);
        assert!(read(&h, 0xb12, &ENV).is_ok() && read(&h, 0xb13, &ENV).is_err(), "16 counters: 3 to 18");
        assert!(write(&mut h, 0xb13, 0, &ENV).is_err());
        write(&mut h, MHPMEVENT3 + 16, 2, &ENV).unwrap();
        assert_eq!(read(&h, MHPMEVENT3 + 16, &ENV).unwrap(), 0, "selector of a missing counter reads zero");
        h.cpu.pmu_counters = 0;
        assert!(read(&h, 0xb03, &ENV).is_err());
    }

    #[test]
    fn stimecmp_drives_stip_while_stce_is_set() {
        use crate::arch::riscv::mip::STIP;
        let mut h = Hart::new(0, 0);
        let at = |time| CsrEnv { time, external_irqs: 0 };
        write(&mut h, STIMECMP, 100, &at(50)).unwrap();
        assert_eq!(h.csr.mip & STIP, 0);
        write(&mut h, MENVCFG, !0, &at(150)).unwrap();
        assert_eq!(read(&h, MENVCFG, &ENV).unwrap(), envcfg::STCE | envcfg::FIOM);
        assert_eq!(h.csr.mip & STIP, STIP, "enabling STCE compares at once");
        write(&mut h, MIP, 0, &at(150)).unwrap();
        assert_eq!(h.csr.mip & STIP, STIP, "software cannot clear it");
        write(&mut h, STIMECMP, 200, &at(150)).unwrap();
        assert_eq!(h.csr.mip & STIP, 0);
        assert_eq!(h.timer_deadline(), Some(200));
        h.update_timer(200);
        assert_eq!((h.csr.mip & STIP, h.timer_deadline()), (STIP, None));
        // Below M mode it needs mcounteren.TM as well, and without Sstc it does not exist.
        h.privilege = Priv::Supervisor;
        assert!(read(&h, STIMECMP, &ENV).is_err());
        h.csr.mcounteren = 2;
        assert_eq!(read(&h, STIMECMP, &ENV).unwrap(), 200);
        h.cpu.set(Extension::Sstc, false);
        assert!(read(&h, STIMECMP, &ENV).is_err());
    }
}
