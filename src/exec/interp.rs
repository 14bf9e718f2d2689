//! The reference interpreter: runs a decoded basic block instruction by instruction, with exact instruction
//! counting (a block stops precisely where its budget ends). Every other tier is checked against it.

use crate::arch::riscv::csr::{self, CsrEnv};
use crate::arch::riscv::decode::{bitmanip_ops, AmoOp, Insn, Op};
use crate::arch::riscv::fpu::{self, FpFmt, FpOp};
use crate::arch::riscv::hart::{cause, Exception, Hart, Priv};
use crate::arch::riscv::mmu::Access;
use crate::arch::riscv::trigger::{Action as TriggerAction, Module as TriggerModule};
use crate::arch::ArchHart;
use crate::exec::access::{load_exact, observe, store_exact, Core};
use crate::exec::{Breakpoints, SliceExit};
use crate::hooks::AccessKind;
use crate::platform::Platform;

/// Runs the instructions of one block (already counted); returns how many ran (completed or trapped) and why
/// the slice must stop, if it must. `CHECKED`: breakpoints, instrumentation or the guest's triggers are active.
#[inline(always)]
pub(super) fn run_block<const CHECKED: bool>(
    core: &mut Core,
    plat: &mut Platform,
    insns: &[Insn],
    bps: &mut Breakpoints,
) -> (usize, Option<SliceExit>) {
    let avail = insns.len();
    let instrumented = CHECKED && plat.instrumented;
    // The pc lives in `pc` while the block runs and is written back where the block ends or traps.
    let mut pc = core.hart.pc;
    let end = insns.as_ptr_range().end as usize;
    let mut it = insns.iter();
    while let Some(insn) = it.next() {
        // How far the counters run ahead: computed only on the slow paths that need it.
        let excess = Ahead { here: insn as *const Insn as usize, end };
        // Resuming at a stop: neither a breakpoint nor a debugger trigger stops here again.
        let resuming = CHECKED && bps.skip_once == Some(pc);
        if CHECKED && bps.addrs.contains(&pc) {
            if resuming {
                bps.skip_once = None;
            } else {
                core.hart.pc = pc;
                return (avail - 1 - it.len(), Some(SliceExit::Breakpoint));
            }
        }
        if instrumented {
            core.hart.pc = pc;
            if let Some(t) = plat.instr.tracer.as_mut() {
                t.instruction(core.hart.id, pc, insn.raw);
            }
        }
        // Sdtrig: a trigger on this instruction or the data it would access fires before it runs.
        let watched = CHECKED && core.hart.csr.triggers.armed();
        let privilege = core.hart.privilege as u8;
        let fired = if watched {
            let h = &mut core.hart;
            let module = h.cpu.trigger_module().unwrap_or(TriggerModule::Qemu72);
            h.csr.triggers.fire(module, privilege, insn, pc, &h.x, h.reservation.is_some())
        } else {
            None
        };
        // A trigger whose action is the debugger stops the machine as a breakpoint does (and, like one, lets
        // the resumed instruction run).
        if fired == Some(TriggerAction::Debugger) && !bps.guest_triggers_suspended {
            if resuming {
                bps.skip_once = None;
            } else {
                core.hart.pc = pc;
                return (avail - 1 - it.len(), Some(SliceExit::Breakpoint));
            }
        }
        let result = if fired == Some(TriggerAction::Exception) {
            Err(Exception::new(cause::BREAKPOINT, 0))
        } else {
            execute(core, plat, insn, pc, excess)
        };
        if watched && result.is_ok() {
            core.hart.csr.triggers.retired(privilege);
        }
        match result {
            Ok(Flow::Next) => {
                pc = pc.wrapping_add(insn.len as u64);
                continue;
            }
            Ok(Flow::Jump) => {}
            Err(e) => {
                let tval = if e.cause == cause::ILLEGAL_INSN { insn.raw as u64 } else { e.tval };
                core.hart.pc = pc;
                core.hart.trap(e.cause, false, tval);
                super::report_trap(core, plat);
            }
        }
        let stop = if instrumented && plat.instr.hit.is_some() {
            Some(SliceExit::Watchpoint)
        } else if core.hart.wfi {
            Some(SliceExit::Idle)
        } else {
            None
        };
        return (avail - it.len(), stop);
    }
    core.hart.pc = pc;
    (avail, None)
}

#[inline]
pub(super) fn count(core: &mut Core, plat: &mut Platform) {
    core.hart.icount += 1;
    plat.vclock += 1;
}

/// How execution continues after an instruction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// With the next instruction of the block (the pc is advanced by the caller).
    Next,
    /// The block ends here; `hart.pc` is already updated.
    Jump,
}

/// The position of the running instruction in its block: the counters run ahead by the number of instructions
/// of the block after it.
#[derive(Clone, Copy)]
struct Ahead {
    /// Address of the running instruction.
    here: usize,
    /// One past the block's last instruction.
    end: usize,
}

impl Ahead {
    #[inline(always)]
    fn count(self) -> u64 {
        ((self.end - self.here) / std::mem::size_of::<Insn>()).saturating_sub(1) as u64
    }
}

/// Runs `f` with the instruction and virtual-time counters exact (they run `excess` ahead inside a block).
#[inline(always)]
fn with_exact_counters<T>(
    core: &mut Core,
    plat: &mut Platform,
    ahead: Ahead,
    f: impl FnOnce(&mut Core, &mut Platform) -> T,
) -> T {
    let excess = ahead.count();
    core.hart.icount -= excess;
    plat.vclock -= excess;
    let r = f(core, plat);
    core.hart.icount += excess;
    plat.vclock += excess;
    r
}

/// A load: the fast path (aligned, translated without a walk, RAM) inline, everything else out of line.
#[inline(always)]
fn load(core: &mut Core, plat: &mut Platform, va: u64, size: u8, excess: Ahead) -> Result<u64, Exception> {
    if va & (size as u64 - 1) == 0 {
        if let Some(pa) = core.mmu.translate_fast(&core.hart, va, Access::Load) {
            if let Some(value) = plat.load_ram(pa, size) {
                if plat.instrumented {
                    observe(core, plat, AccessKind::Read, va, pa, size, value);
                }
                return Ok(value);
            }
        }
    }
    load_slow(core, plat, va, size, excess)
}

#[cold]
#[inline(never)]
fn load_slow(core: &mut Core, plat: &mut Platform, va: u64, size: u8, excess: Ahead) -> Result<u64, Exception> {
    with_exact_counters(core, plat, excess, |core, plat| load_exact(core, plat, va, size))
}

/// A store: the fast path (aligned, translated without a walk, RAM) inline, everything else out of line.
#[inline(always)]
fn store(core: &mut Core, plat: &mut Platform, va: u64, size: u8, value: u64, excess: Ahead) -> Result<(), Exception> {
    if va & (size as u64 - 1) == 0 {
        if let Some(pa) = core.mmu.translate_fast(&core.hart, va, Access::Store) {
            if plat.store_ram(pa, size, value).is_some() {
                if plat.instrumented {
                    observe(core, plat, AccessKind::Write, va, pa, size, value);
                }
                return Ok(());
            }
        }
    }
    store_slow(core, plat, va, size, value, excess)
}

#[cold]
#[inline(never)]
fn store_slow(
    core: &mut Core,
    plat: &mut Platform,
    va: u64,
    size: u8,
    value: u64,
    excess: Ahead,
) -> Result<(), Exception> {
    with_exact_counters(core, plat, excess, |core, plat| store_exact(core, plat, va, size, value))
}

fn uses_rounding_mode(op: FpOp) -> bool {
    use FpOp::*;
    // (fcvtmod.w.d's rm field is always RTZ, which the decoder checks.)
    !matches!(
        op,
        Min | Max
            | SgnJ
            | SgnJN
            | SgnJX
            | Eq
            | Lt
            | Le
            | Class
            | MvXFromF
            | MvFFromX
            | Fli
            | MinM
            | MaxM
            | LtQ
            | LeQ
            | CvtModWFromD
    )
}

/// A floating-point load or store, through the caller's access functions (`load`, `store`).
#[inline(always)]
fn float_access(
    core: &mut Core,
    plat: &mut Platform,
    insn: &Insn,
    load: impl FnOnce(&mut Core, &mut Platform, u64, u8) -> Result<u64, Exception>,
    store: impl FnOnce(&mut Core, &mut Platform, u64, u8, u64) -> Result<(), Exception>,
) -> Result<(), Exception> {
    use Op::*;
    if !core.hart.fs_enabled() {
        return Err(Exception::illegal(insn.raw));
    }
    let fmt = match insn.op {
        Flw | Fsw => FpFmt::S,
        Flh | Fsh => FpFmt::H,
        _ => FpFmt::D,
    };
    let addr = core.hart.x[insn.rs1 as usize & 31].wrapping_add(insn.imm as u64);
    if matches!(insn.op, Flw | Fld | Flh) {
        let v = load(core, plat, addr, fmt.bytes())?;
        core.hart.f[insn.rd as usize & 31] = fpu::boxed(fmt, v);
        core.hart.set_fs_dirty();
        Ok(())
    } else {
        let v = core.hart.f[insn.rs2 as usize & 31];
        store(core, plat, addr, fmt.bytes(), v)
    }
}

/// A floating-point instruction (a load, a store or an operation) with exact counters, for translated code,
/// which calls it with the integer registers it reads in the register file and reloads the one it writes.
pub(crate) fn execute_float_exact(core: &mut Core, plat: &mut Platform, insn: &Insn) -> Result<(), Exception> {
    if insn.op == Op::Fp {
        execute_fp(&mut core.hart, *insn)
    } else {
        float_access(core, plat, insn, load_exact, store_exact)
    }
}

fn execute_fp(hart: &mut Hart, insn: Insn) -> Result<(), Exception> {
    if !hart.fs_enabled() {
        return Err(Exception::illegal(insn.raw));
    }
    let op = insn.fp;
    let fmt = crate::arch::riscv::decode::fp_format(insn.imm);
    let rm_field = ((insn.imm >> 16) & 7) as u64;
    let rm = if rm_field == 7 { hart.csr.frm } else { rm_field };
    if uses_rounding_mode(op) && rm > 4 {
        return Err(Exception::illegal(insn.raw));
    }
    let a = if op == FpOp::Fli {
        u64::from(insn.rs1) // the constant's index
    } else if fpu::int_source(op) {
        hart.x[insn.rs1 as usize]
    } else {
        hart.f[insn.rs1 as usize]
    };
    let (result, flags) = fpu::execute(op, fmt, a, hart.f[insn.rs2 as usize], hart.f[insn.rs3 as usize], rm as u8);
    if flags != 0 {
        hart.csr.fflags |= flags as u64;
        hart.set_fs_dirty();
    }
    if fpu::is_dest_int(op) {
        hart.set_x(insn.rd, result);
    } else {
        hart.f[insn.rd as usize] = result;
        hart.set_fs_dirty();
    }
    Ok(())
}

fn amo_value(op: AmoOp, old: u64, src: u64, word: bool) -> u64 {
    let (old_s, src_s) = if word { (old as i32 as i64, src as i32 as i64) } else { (old as i64, src as i64) };
    let (old_u, src_u) = if word { (old as u32 as u64, src as u32 as u64) } else { (old, src) };
    match op {
        AmoOp::Swap => src,
        AmoOp::Add => old.wrapping_add(src),
        AmoOp::Xor => old ^ src,
        AmoOp::And => old & src,
        AmoOp::Or => old | src,
        AmoOp::Min => {
            if old_s <= src_s {
                old
            } else {
                src
            }
        }
        AmoOp::Max => {
            if old_s >= src_s {
                old
            } else {
                src
            }
        }
        AmoOp::Minu => {
            if old_u <= src_u {
                old
            } else {
                src
            }
        }
        AmoOp::Maxu => {
            if old_u >= src_u {
                old
            } else {
                src
            }
        }
    }
}

/// Writes `x[rd]` without a branch: x0 is written and cleared again.
#[inline(always)]
fn set_x(h: &mut Hart, rd: u8, v: u64) {
    h.x[rd as usize & 31] = v;
    h.x[0] = 0;
}

/// Executes one instruction at `pc` (`hart.pc` may be stale inside a block; it is written whenever the block
/// ends). The instruction counters run `excess` ahead (see [`run_slice`]).
#[inline(always)]
fn execute(core: &mut Core, plat: &mut Platform, insn: &Insn, pc: u64, excess: Ahead) -> Result<Flow, Exception> {
    use Op::*;
    let h = &mut core.hart;
    let next = pc.wrapping_add(insn.len as u64);
    let rs1 = h.x[insn.rs1 as usize & 31];
    let rs2 = h.x[insn.rs2 as usize & 31];
    let imm = insn.imm;
    let rd = insn.rd;
    // Only for operations whose sole effect is writing rd: the decoder turns those with rd = x0 into `Nop`.
    macro_rules! set {
        ($v:expr) => {{
            let v = $v;
            h.x[rd as usize & 31] = v;
            return Ok(Flow::Next);
        }};
    }
    macro_rules! branch {
        ($cond:expr) => {{
            h.pc = if $cond { pc.wrapping_add(imm as u64) } else { next };
            return Ok(Flow::Jump);
        }};
    }
    match insn.op {
        Lui => set!(imm as u64),
        Auipc => set!(pc.wrapping_add(imm as u64)),
        Jal => {
            set_x(h, rd, next);
            h.pc = pc.wrapping_add(imm as u64);
            return Ok(Flow::Jump);
        }
        Jalr => {
            let target = rs1.wrapping_add(imm as u64) & !1;
            set_x(h, rd, next);
            h.pc = target;
            return Ok(Flow::Jump);
        }
        Beq => branch!(rs1 == rs2),
        Bne => branch!(rs1 != rs2),
        Blt => branch!((rs1 as i64) < (rs2 as i64)),
        Bge => branch!((rs1 as i64) >= (rs2 as i64)),
        Bltu => branch!(rs1 < rs2),
        Bgeu => branch!(rs1 >= rs2),
        Lb => {
            let v = load(core, plat, rs1.wrapping_add(imm as u64), 1, excess)?;
            set_x(&mut core.hart, rd, v as u8 as i8 as i64 as u64);
        }
        Lh => {
            let v = load(core, plat, rs1.wrapping_add(imm as u64), 2, excess)?;
            set_x(&mut core.hart, rd, v as u16 as i16 as i64 as u64);
        }
        Lw => {
            let v = load(core, plat, rs1.wrapping_add(imm as u64), 4, excess)?;
            set_x(&mut core.hart, rd, v as u32 as i32 as i64 as u64);
        }
        Ld => {
            let v = load(core, plat, rs1.wrapping_add(imm as u64), 8, excess)?;
            set_x(&mut core.hart, rd, v);
        }
        Lbu => {
            let v = load(core, plat, rs1.wrapping_add(imm as u64), 1, excess)?;
            set_x(&mut core.hart, rd, v);
        }
        Lhu => {
            let v = load(core, plat, rs1.wrapping_add(imm as u64), 2, excess)?;
            set_x(&mut core.hart, rd, v);
        }
        Lwu => {
            let v = load(core, plat, rs1.wrapping_add(imm as u64), 4, excess)?;
            set_x(&mut core.hart, rd, v);
        }
        Sb => store(core, plat, rs1.wrapping_add(imm as u64), 1, rs2, excess)?,
        Sh => store(core, plat, rs1.wrapping_add(imm as u64), 2, rs2, excess)?,
        Sw => store(core, plat, rs1.wrapping_add(imm as u64), 4, rs2, excess)?,
        Sd => store(core, plat, rs1.wrapping_add(imm as u64), 8, rs2, excess)?,
        Addi => set!(rs1.wrapping_add(imm as u64)),
        Slti => set!(((rs1 as i64) < imm) as u64),
        Sltiu => set!((rs1 < imm as u64) as u64),
        Xori => set!(rs1 ^ imm as u64),
        Ori => set!(rs1 | imm as u64),
        Andi => set!(rs1 & imm as u64),
        Slli => set!(rs1 << (imm & 63)),
        Srli => set!(rs1 >> (imm & 63)),
        Srai => set!(((rs1 as i64) >> (imm & 63)) as u64),
        Add => set!(rs1.wrapping_add(rs2)),
        Sub => set!(rs1.wrapping_sub(rs2)),
        Sll => set!(rs1 << (rs2 & 63)),
        Slt => set!(((rs1 as i64) < (rs2 as i64)) as u64),
        Sltu => set!((rs1 < rs2) as u64),
        Xor => set!(rs1 ^ rs2),
        Srl => set!(rs1 >> (rs2 & 63)),
        Sra => set!(((rs1 as i64) >> (rs2 & 63)) as u64),
        Or => set!(rs1 | rs2),
        And => set!(rs1 & rs2),
        Addiw => set!((rs1 as i32).wrapping_add(imm as i32) as i64 as u64),
        Slliw => set!(((rs1 as u32) << (imm & 31)) as i32 as i64 as u64),
        Srliw => set!(((rs1 as u32) >> (imm & 31)) as i32 as i64 as u64),
        Sraiw => set!(((rs1 as i32) >> (imm & 31)) as i64 as u64),
        Addw => set!((rs1 as i32).wrapping_add(rs2 as i32) as i64 as u64),
        Subw => set!((rs1 as i32).wrapping_sub(rs2 as i32) as i64 as u64),
        Sllw => set!(((rs1 as u32) << (rs2 & 31)) as i32 as i64 as u64),
        Srlw => set!(((rs1 as u32) >> (rs2 & 31)) as i32 as i64 as u64),
        Sraw => set!(((rs1 as i32) >> (rs2 & 31)) as i64 as u64),
        Mul => set!(rs1.wrapping_mul(rs2)),
        Mulh => set!(((rs1 as i64 as i128 * rs2 as i64 as i128) >> 64) as u64),
        Mulhsu => set!(((rs1 as i64 as i128 * rs2 as u128 as i128) >> 64) as u64),
        Mulhu => set!(((rs1 as u128 * rs2 as u128) >> 64) as u64),
        Div => set!(match (rs1 as i64, rs2 as i64) {
            (_, 0) => u64::MAX,
            (a, b) => a.wrapping_div(b) as u64,
        }),
        Divu => set!(rs1.checked_div(rs2).unwrap_or(u64::MAX)),
        Rem => set!(match (rs1 as i64, rs2 as i64) {
            (a, 0) => a as u64,
            (a, b) => a.wrapping_rem(b) as u64,
        }),
        Remu => set!(if rs2 == 0 { rs1 } else { rs1 % rs2 }),
        Mulw => set!((rs1 as i32).wrapping_mul(rs2 as i32) as i64 as u64),
        Divw => set!(match (rs1 as i32, rs2 as i32) {
            (_, 0) => u64::MAX,
            (a, b) => a.wrapping_div(b) as i64 as u64,
        }),
        Divuw => set!(match (rs1 as u32, rs2 as u32) {
            (_, 0) => u64::MAX,
            (a, b) => (a / b) as i32 as i64 as u64,
        }),
        Remw => set!(match (rs1 as i32, rs2 as i32) {
            (a, 0) => a as i64 as u64,
            (a, b) => a.wrapping_rem(b) as i64 as u64,
        }),
        Remuw => set!(match (rs1 as u32, rs2 as u32) {
            (a, 0) => a as i32 as i64 as u64,
            (a, b) => (a % b) as i32 as i64 as u64,
        }),
        op @ bitmanip_ops!() => set!(bitmanip(op, rs1, rs2, imm)),
        Fence | Nop => return Ok(Flow::Next),
        FenceI => {
            // Nothing to flush: every write to a page holding decoded code (stores, DMA) already drops that
            // page's blocks, so the cache never holds stale code. Ending the block is all that is left to do.
            h.pc = next;
            return Ok(Flow::Jump);
        }
        Ecall => {
            let cause = match h.privilege {
                Priv::User => cause::ECALL_FROM_U,
                Priv::Supervisor => cause::ECALL_FROM_S,
                Priv::Machine => cause::ECALL_FROM_M,
            };
            return Err(Exception::new(cause, 0));
        }
        Ebreak => return Err(Exception::new(cause::BREAKPOINT, pc)),
        Mret => {
            if h.privilege != Priv::Machine {
                return Err(Exception::illegal(insn.raw));
            }
            h.mret();
            return Ok(Flow::Jump);
        }
        Sret => {
            let tsr = h.csr.mstatus & crate::arch::riscv::hart::mstatus::TSR != 0;
            if h.privilege < Priv::Supervisor || (h.privilege == Priv::Supervisor && tsr) {
                return Err(Exception::illegal(insn.raw));
            }
            h.sret();
            return Ok(Flow::Jump);
        }
        Wfi => {
            let tw = h.csr.mstatus & crate::arch::riscv::hart::mstatus::TW != 0;
            if h.privilege == Priv::User || (h.privilege == Priv::Supervisor && tw) {
                return Err(Exception::illegal(insn.raw));
            }
            h.pc = next;
            h.wfi = !h.would_wake(plat.signals.hart_line_word(h.id));
            return Ok(Flow::Jump);
        }
        WrsNto | WrsSto => {
            // QEMU's rule for wrs.nto's time-out: below M with mstatus.TW set, it is illegal at once.
            let tw = h.csr.mstatus & crate::arch::riscv::hart::mstatus::TW != 0;
            if insn.op == WrsNto && h.privilege != Priv::Machine && tw {
                return Err(Exception::illegal(insn.raw));
            }
            h.pc = next;
            // wrs.sto's short wait is none here; wrs.nto waits like wfi while the reservation holds
            // (Hart::lose_cpu ends it when another hart runs, which might store to the reserved block).
            h.wfi = insn.op == WrsNto && h.reservation.is_some() && !h.would_wake(plat.signals.hart_line_word(h.id));
            return Ok(Flow::Jump);
        }
        SfenceVma | SinvalVma => {
            let tvm = h.csr.mstatus & crate::arch::riscv::hart::mstatus::TVM != 0;
            if h.privilege == Priv::User || (h.privilege == Priv::Supervisor && tvm) {
                return Err(Exception::illegal(insn.raw));
            }
            core.mmu.flush();
            core.hart.pc = next;
            return Ok(Flow::Jump);
        }
        SfenceInval => {
            if h.privilege == Priv::User {
                return Err(Exception::illegal(insn.raw));
            }
            h.pc = next;
            return Ok(Flow::Jump);
        }
        Csrrw | Csrrs | Csrrc | Csrrwi | Csrrsi | Csrrci | LrW | ScW | LrD | ScD | AmoW | AmoD | CboClean
        | CboFlush | CboInval | CboZero => {
            return with_exact_counters(core, plat, excess, |core, plat| execute_exact(core, plat, insn, pc));
        }
        Flw | Fld | Flh | Fsw | Fsd | Fsh => {
            if !h.fs_enabled() {
                return Err(Exception::illegal(insn.raw));
            }
            let fmt = match insn.op {
                Flw | Fsw => FpFmt::S,
                Flh | Fsh => FpFmt::H,
                _ => FpFmt::D,
            };
            let addr = rs1.wrapping_add(imm as u64);
            if matches!(insn.op, Flw | Fld | Flh) {
                let v = load(core, plat, addr, fmt.bytes(), excess)?;
                core.hart.f[rd as usize] = fpu::boxed(fmt, v);
                core.hart.set_fs_dirty();
            } else {
                let v = h.f[insn.rs2 as usize];
                store(core, plat, addr, fmt.bytes(), v, excess)?;
            }
        }
        Fp => {
            execute_fp(h, *insn)?;
            return Ok(Flow::Next);
        }
        Illegal => return Err(Exception::illegal(insn.raw)),
    }
    // Memory accesses: a device access, a store to code or a watchpoint hit ends the block.
    if plat.take_end_block() {
        core.hart.pc = next;
        return Ok(Flow::Jump);
    }
    Ok(Flow::Next)
}

/// Zba, Zbb, Zbc, Zbkb, Zbs and Zicond: `rd` from `rs1`, `rs2` and the immediate (a shift amount).
// Out of line: rare in the code that runs hot (the boot has none), it would only crowd the interpreter's loop.
#[inline(never)]
pub(crate) fn bitmanip(op: Op, rs1: u64, rs2: u64, imm: i64) -> u64 {
    use Op::*;
    let word = |v: u32| v as i32 as i64 as u64;
    let bit = |index: u64| 1u64 << (index & 63);
    match op {
        Sh1add => rs2.wrapping_add(rs1 << 1),
        Sh2add => rs2.wrapping_add(rs1 << 2),
        Sh3add => rs2.wrapping_add(rs1 << 3),
        AddUw => rs2.wrapping_add(u64::from(rs1 as u32)),
        Sh1addUw => rs2.wrapping_add(u64::from(rs1 as u32) << 1),
        Sh2addUw => rs2.wrapping_add(u64::from(rs1 as u32) << 2),
        Sh3addUw => rs2.wrapping_add(u64::from(rs1 as u32) << 3),
        SlliUw => u64::from(rs1 as u32) << (imm & 63),
        Andn => rs1 & !rs2,
        Orn => rs1 | !rs2,
        Xnor => !(rs1 ^ rs2),
        Clz => u64::from(rs1.leading_zeros()),
        Clzw => u64::from((rs1 as u32).leading_zeros()),
        Ctz => u64::from(rs1.trailing_zeros()),
        Ctzw => u64::from((rs1 as u32).trailing_zeros()),
        Cpop => u64::from(rs1.count_ones()),
        Cpopw => u64::from((rs1 as u32).count_ones()),
        Max => (rs1 as i64).max(rs2 as i64) as u64,
        Maxu => rs1.max(rs2),
        Min => (rs1 as i64).min(rs2 as i64) as u64,
        Minu => rs1.min(rs2),
        SextB => rs1 as i8 as i64 as u64,
        SextH => rs1 as i16 as i64 as u64,
        ZextH => u64::from(rs1 as u16),
        Rol => rs1.rotate_left((rs2 & 63) as u32),
        Rolw => word((rs1 as u32).rotate_left((rs2 & 31) as u32)),
        Ror => rs1.rotate_right((rs2 & 63) as u32),
        Rorw => word((rs1 as u32).rotate_right((rs2 & 31) as u32)),
        Rori => rs1.rotate_right((imm & 63) as u32),
        Roriw => word((rs1 as u32).rotate_right((imm & 31) as u32)),
        OrcB => u64::from_le_bytes(rs1.to_le_bytes().map(|b| if b == 0 { 0 } else { 0xff })),
        Rev8 => rs1.swap_bytes(),
        Clmul => (0..64).filter(|i| rs2 >> i & 1 != 0).fold(0, |acc, i| acc ^ (rs1 << i)),
        Clmulh => (1..64).filter(|i| rs2 >> i & 1 != 0).fold(0, |acc, i| acc ^ (rs1 >> (64 - i))),
        Clmulr => (0..64).filter(|i| rs2 >> i & 1 != 0).fold(0, |acc, i| acc ^ (rs1 >> (63 - i))),
        Pack => (rs1 & 0xffff_ffff) | rs2 << 32,
        Packh => (rs1 & 0xff) | (rs2 & 0xff) << 8,
        Packw => word(((rs1 & 0xffff) | (rs2 & 0xffff) << 16) as u32),
        Brev8 => u64::from_le_bytes(rs1.to_le_bytes().map(u8::reverse_bits)),
        Bclr => rs1 & !bit(rs2),
        Bclri => rs1 & !bit(imm as u64),
        Bext => (rs1 >> (rs2 & 63)) & 1,
        Bexti => (rs1 >> (imm & 63)) & 1,
        Binv => rs1 ^ bit(rs2),
        Binvi => rs1 ^ bit(imm as u64),
        Bset => rs1 | bit(rs2),
        Bseti => rs1 | bit(imm as u64),
        CzeroEqz => {
            if rs2 == 0 {
                0
            } else {
                rs1
            }
        }
        CzeroNez => {
            if rs2 != 0 {
                0
            } else {
                rs1
            }
        }
        // Not a bit-manipulation operation: the caller matched `is_bitmanip`.
        _ => 0,
    }
}

/// CSR accesses and atomics: they may read the counters or reach devices, so they run with exact counters.
#[inline(never)]
fn execute_exact(core: &mut Core, plat: &mut Platform, insn: &Insn, pc: u64) -> Result<Flow, Exception> {
    use Op::*;
    let h = &mut core.hart;
    let next = pc.wrapping_add(insn.len as u64);
    let rs1 = h.x[insn.rs1 as usize & 31];
    let rs2 = h.x[insn.rs2 as usize & 31];
    let imm = insn.imm;
    let rd = insn.rd;
    match insn.op {
        Csrrw | Csrrs | Csrrc | Csrrwi | Csrrsi | Csrrci => {
            let csr_no = (imm & 0xfff) as u16;
            let operand = match insn.op {
                Csrrwi | Csrrsi | Csrrci => insn.rs1 as u64,
                _ => rs1,
            };
            if csr_no == csr::TIME {
                plat.before_clock_read(pc);
            }
            let env = CsrEnv { time: plat.now(), external_irqs: plat.signals.hart_line_word(h.id) };
            let writes = matches!(insn.op, Csrrw | Csrrwi) || insn.rs1 != 0;
            let reads = !matches!(insn.op, Csrrw | Csrrwi) || rd != 0;
            let old = if reads { csr::read(h, csr_no, &env).map_err(|_| Exception::illegal(insn.raw))? } else { 0 };
            if writes {
                let new = match insn.op {
                    Csrrw | Csrrwi => operand,
                    op => {
                        let base = csr::read_for_update(h, csr_no, &env).map_err(|_| Exception::illegal(insn.raw))?;
                        if matches!(op, Csrrs | Csrrsi) {
                            base | operand
                        } else {
                            base & !operand
                        }
                    }
                };
                let effect = csr::write(h, csr_no, new, &env).map_err(|_| Exception::illegal(insn.raw))?;
                if matches!(csr_no, csr::FFLAGS | csr::FRM | csr::FCSR) {
                    h.set_fs_dirty();
                }
                if effect.timer_changed {
                    plat.request_end_slice();
                }
                if effect.timer_raised {
                    plat.signals.note_hart_raise(h.id, crate::arch::riscv::mip::STIP);
                }
                if effect.pmp_changed {
                    core.mmu.csrs_changed();
                } else if effect.flush_tlb {
                    core.mmu.flush();
                }
            }
            set_x(&mut core.hart, rd, old);
            core.hart.pc = next;
            return Ok(Flow::Jump);
        }
        LrW | LrD => {
            let size = if insn.op == LrW { 4 } else { 8 };
            if rs1 & (size - 1) != 0 {
                return Err(Exception::new(cause::LOAD_MISALIGNED, rs1));
            }
            let pa = core.mmu.translate(&core.hart, plat, rs1, size, Access::Load)?;
            let v = plat.load(pa, size as u8).ok_or(Exception::new(cause::LOAD_ACCESS, rs1))?;
            core.hart.reservation = Some(pa);
            if plat.instrumented {
                observe(core, plat, AccessKind::Read, rs1, pa, size as u8, v);
            }
            set_x(&mut core.hart, rd, if size == 4 { v as i32 as i64 as u64 } else { v });
        }
        ScW | ScD => {
            let size = if insn.op == ScW { 4 } else { 8 };
            if rs1 & (size - 1) != 0 {
                return Err(Exception::new(cause::STORE_MISALIGNED, rs1));
            }
            let pa = core.mmu.translate(&core.hart, plat, rs1, size, Access::Store)?;
            let ok = core.hart.reservation.take() == Some(pa);
            if ok {
                plat.store(pa, size as u8, rs2).ok_or(Exception::new(cause::STORE_ACCESS, rs1))?;
                if plat.instrumented {
                    observe(core, plat, AccessKind::Write, rs1, pa, size as u8, rs2);
                }
            }
            set_x(&mut core.hart, rd, (!ok) as u64);
        }
        AmoW | AmoD => {
            let word = insn.op == AmoW;
            let size: u8 = if word { 4 } else { 8 };
            if rs1 & (size as u64 - 1) != 0 {
                return Err(Exception::new(cause::STORE_MISALIGNED, rs1));
            }
            let pa = core.mmu.translate(&core.hart, plat, rs1, size as u64, Access::Store)?;
            let old = plat.load(pa, size).ok_or(Exception::new(cause::STORE_ACCESS, rs1))?;
            let new = amo_value(AmoOp::from_index(imm), old, rs2, word);
            plat.store(pa, size, new).ok_or(Exception::new(cause::STORE_ACCESS, rs1))?;
            if plat.instrumented {
                observe(core, plat, AccessKind::Read, rs1, pa, size, old);
                observe(core, plat, AccessKind::Write, rs1, pa, size, new);
            }
            set_x(&mut core.hart, rd, if word { old as i32 as i64 as u64 } else { old });
        }
        CboClean | CboFlush | CboInval | CboZero => cache_block(core, plat, insn, rs1)?,
        _ => return Err(Exception::illegal(insn.raw)),
    }
    if plat.take_end_block() {
        core.hart.pc = next;
        return Ok(Flow::Jump);
    }
    Ok(Flow::Next)
}

/// Zicbom and Zicboz on the cache block holding `va`, if the level's `envcfg` fields allow. There is no cache, so
/// cleaning, flushing and invalidating only check that a load or a store could reach the block (a fault is a
/// store's, as the CMO spec has it); `cbo.zero` stores zeros over it.
fn cache_block(core: &mut Core, plat: &mut Platform, insn: &Insn, va: u64) -> Result<(), Exception> {
    use crate::arch::riscv::hart::envcfg;
    let block_size = crate::arch::riscv::cpu::CACHE_BLOCK_SIZE;
    let field = match insn.op {
        Op::CboZero => envcfg::CBZE,
        Op::CboInval => envcfg::CBIE,
        _ => envcfg::CBCFE,
    };
    if !core.hart.cache_block_ops_enabled(field) {
        return Err(Exception::illegal(insn.raw));
    }
    let block = va & !(block_size - 1);
    let with_va = |e: Exception| Exception::new(e.cause, va);
    if insn.op == Op::CboZero {
        let pa = core.mmu.translate(&core.hart, plat, block, block_size, Access::Store).map_err(with_va)?;
        for offset in (0..block_size).step_by(8) {
            plat.store(pa + offset, 8, 0).ok_or(Exception::new(cause::STORE_ACCESS, va))?;
            if plat.instrumented {
                observe(core, plat, AccessKind::Write, block + offset, pa + offset, 8, 0);
            }
        }
        return Ok(());
    }
    if core.mmu.translate(&core.hart, plat, block, block_size, Access::Load).is_ok() {
        return Ok(());
    }
    core.mmu.translate(&core.hart, plat, block, block_size, Access::Store).map(|_| ()).map_err(with_va)
}
