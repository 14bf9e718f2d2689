//! Memory accesses with exact counters, shared by every tier: the interpreter's slow paths and the JIT's access
//! helper both come here, so an access behaves the same whichever tier made it.

use crate::arch::riscv::decode::{insn_len, Insn};
use crate::arch::riscv::hart::{cause, Exception, Hart};
use crate::arch::riscv::mmu::{Access, Mmu};
use crate::exec::block::decode_for;
use crate::hooks::{AccessKind, MemAccess};
use crate::platform::Platform;

/// A hart with its (non-architectural) translation cache.
pub struct Core {
    pub hart: Hart,
    pub mmu: Mmu,
}

/// Any load, with the counters exact: translation walks, devices, misaligned addresses.
pub fn load_exact(core: &mut Core, plat: &mut Platform, va: u64, size: u8) -> Result<u64, Exception> {
    if va & (size as u64 - 1) != 0 {
        return load_misaligned(core, plat, va, size);
    }
    let pa = core.mmu.translate(&core.hart, plat, va, size as u64, Access::Load)?;
    let value = plat.load(pa, size).ok_or(Exception::new(cause::LOAD_ACCESS, va))?;
    if plat.instrumented {
        observe(core, plat, AccessKind::Read, va, pa, size, value);
    }
    Ok(value)
}

/// Reports a completed access to the tracer and watchpoints; a watchpoint hit ends the block.
#[cold]
pub(crate) fn observe(
    core: &Core,
    plat: &mut Platform,
    kind: AccessKind,
    vaddr: u64,
    paddr: u64,
    size: u8,
    value: u64,
) {
    let access = MemAccess { hart: core.hart.id, pc: core.hart.pc, kind, vaddr, paddr, size, value };
    if plat.instr.observe(access) {
        plat.request_end_block();
    }
}

/// Any store, with the counters exact: translation walks, devices, code pages, misaligned addresses.
pub fn store_exact(core: &mut Core, plat: &mut Platform, va: u64, size: u8, value: u64) -> Result<(), Exception> {
    if va & (size as u64 - 1) != 0 {
        return store_misaligned(core, plat, va, size, value);
    }
    let pa = core.mmu.translate(&core.hart, plat, va, size as u64, Access::Store)?;
    plat.store(pa, size, value).ok_or(Exception::new(cause::STORE_ACCESS, va))?;
    if plat.instrumented {
        observe(core, plat, AccessKind::Write, va, pa, size, value);
    }
    Ok(())
}

/// Misaligned accesses are performed byte by byte (the spec allows an EEI to support them); every byte is
/// translated first, so a fault leaves memory unchanged.
fn load_misaligned(core: &mut Core, plat: &mut Platform, va: u64, size: u8) -> Result<u64, Exception> {
    let mut value = 0u64;
    for i in 0..size as u64 {
        let a = va.wrapping_add(i);
        let pa = core.mmu.translate(&core.hart, plat, a, 1, Access::Load).map_err(|e| Exception::new(e.cause, va))?;
        let b = plat.load(pa, 1).ok_or(Exception::new(cause::LOAD_ACCESS, va))?;
        value |= b << (8 * i);
    }
    if plat.instrumented {
        observe(core, plat, AccessKind::Read, va, va, size, value);
    }
    Ok(value)
}

fn store_misaligned(core: &mut Core, plat: &mut Platform, va: u64, size: u8, value: u64) -> Result<(), Exception> {
    let mut pas = [0u64; 8];
    for (i, pa) in pas.iter_mut().enumerate().take(size as usize) {
        let a = va.wrapping_add(i as u64);
        *pa = core.mmu.translate(&core.hart, plat, a, 1, Access::Store).map_err(|e| Exception::new(e.cause, va))?;
    }
    for (i, pa) in pas.iter().enumerate().take(size as usize) {
        plat.store(*pa, 1, value >> (8 * i)).ok_or(Exception::new(cause::STORE_ACCESS, va))?;
    }
    if plat.instrumented {
        observe(core, plat, AccessKind::Write, va, pas[0], size, value);
    }
    Ok(())
}

/// Fetches one instruction halfword by halfword (each half translated separately).
pub(crate) fn fetch_slow(core: &mut Core, plat: &mut Platform) -> Result<Insn, Exception> {
    let pc = core.hart.pc;
    let fetch16 = |core: &mut Core, plat: &mut Platform, va: u64| -> Result<u16, Exception> {
        let pa = core.mmu.translate(&core.hart, plat, va, 2, Access::Fetch)?;
        plat.load(pa, 2).map(|v| v as u16).ok_or(Exception::new(cause::INSN_ACCESS, va))
    };
    let low = fetch16(core, plat, pc)?;
    if insn_len(low) == 2 {
        return Ok(decode_for(&core.hart.cpu, low as u32));
    }
    let high = fetch16(core, plat, pc.wrapping_add(2))?;
    Ok(decode_for(&core.hart.cpu, low as u32 | (high as u32) << 16))
}
