//! The JIT tier: blocks the interpreter finds hot are translated to host code with Cranelift.
//!
//! A translation covers a *region*: the hot block plus the blocks it reaches by direct branches inside the same
//! guest page, so a loop runs in host code without returning to the dispatcher. Translated code is an exact
//! stand-in for the interpreter: it retires whole blocks only while the slice budget allows, leaves system
//! instructions and atomics to the interpreter (it exits before such an instruction), runs floating point through
//! a call to the interpreter's code, and reaches RAM directly only through its own cache of pages where that is
//! right ([`fast_tlb`]), falling back
//! to the interpreter's access functions for everything else (TLB misses, devices, stores to code or to pages
//! not yet dirty, misalignment). The two tiers therefore produce bit-identical machine states at every
//! instruction count; tests check it.
//!
//! Code is position independent (the entry pc is a parameter), so one translation serves every virtual alias
//! of a physical page, as the interpreter's block cache does.
//!
//! For JIT work, `REWIND_JIT_DUMP=DIR` writes each translation's host code to `DIR/<physical entry>.bin`
//! (`objdump -D -b binary -m i386:x86-64 FILE` disassembles it) and its guest instructions to `.txt`.

mod arena;
mod fast_tlb;
mod translate;

use crate::arch::riscv::cpu::CpuConfig;
use crate::arch::riscv::decode::decode;
use crate::arch::riscv::hart::Exception;
use crate::arch::riscv::mmu::Mmu;
use crate::exec::access::{load_exact, store_exact, Core};
use crate::exec::interp::execute_float_exact;
use crate::platform::Platform;
use fast_tlb::{FastEntry, FastTlbs, FAST_ENTRIES};

/// Block executions before translation, by default: a translation costs about a millisecond of Cranelift, so
/// only code that runs that often repays it (measured on the Linux boot: lower thresholds boot slower).
pub const DEFAULT_THRESHOLD: u32 = 20_000;

/// Entry point of a translation: `(env, entry pc, budget) -> instructions retired`.
type EntryFn = unsafe extern "C" fn(*mut JitEnv, u64, u64) -> u64;

/// A translated region's entry. It runs only through [`Jit::run`], which refuses it once the code it points at
/// was flushed: a translation cannot outlive its code.
#[derive(Clone, Copy)]
pub struct Translation {
    entry: EntryFn,
    /// The [`Jit::flush`] generation the code belongs to.
    generation: u64,
    /// Instructions of the entry block: the region is entered only if the budget covers them.
    pub first_block_len: u32,
}

/// What translated code reads and writes besides its arguments; `repr(C)`, its layout is baked into the code.
#[repr(C)]
struct JitEnv {
    x: *mut u64,
    /// The hart's fast TLB for the current mode, for loads and for stores.
    fast_load: *mut [FastEntry; FAST_ENTRIES],
    fast_store: *mut [FastEntry; FAST_ENTRIES],
    /// Out: where execution continues.
    pc: u64,
    /// Out, from the access helper: [`STATUS_OK`], [`STATUS_END_BLOCK`] or [`STATUS_EXCEPTION`].
    status: u64,
    cause: u64,
    tval: u64,
    core: *mut Core,
    plat: *mut Platform,
}

/// The access completed; go on.
const STATUS_OK: u64 = 0;
/// The access completed, and the block must end after this instruction (a device access or a store to code).
const STATUS_END_BLOCK: u64 = 1;
/// The access raised an exception (`cause`, `tval`); the instruction did not complete.
const STATUS_EXCEPTION: u64 = 2;

/// Access-helper `kind` bits: the size in bytes is in the low byte.
const HELPER_STORE: u64 = 0x100;
const HELPER_SIGNED: u64 = 0x200;
/// The instruction's length in bytes is at this bit.
const HELPER_LEN_SHIFT: u32 = 16;

/// The slow path of every load and store of translated code: the interpreter's own access functions, with the
/// counters made exact first (`retired`: instructions this region retired before the access). For the
/// instruction at `pc`, it sets `env.status` and, unless the status is [`STATUS_OK`], the pc the region leaves
/// to. A load returns the value for `rd`, sign-extended if asked; after an exception, `value` (the old `rd`).
///
/// # Safety
/// `env` is the environment [`enter`] built for the call that is running, so `env.core` and `env.plat` are
/// valid and not otherwise borrowed while translated code runs.
unsafe extern "C" fn access_helper(env: *mut JitEnv, va: u64, value: u64, kind: u64, retired: u64, pc: u64) -> u64 {
    // SAFETY: see the function's contract.
    let env = unsafe { &mut *env };
    // SAFETY: as above; the two pointers address distinct objects.
    let (core, plat) = unsafe { (&mut *env.core, &mut *env.plat) };
    let size = (kind & 0xf) as u8;
    core.hart.icount += retired;
    plat.vclock += retired;
    let result = if kind & HELPER_STORE != 0 {
        store_exact(core, plat, va, size, value).map(|()| 0)
    } else {
        load_exact(core, plat, va, size).map(|v| match (kind & HELPER_SIGNED != 0, size) {
            (true, 1) => v as i8 as u64,
            (true, 2) => v as i16 as u64,
            (true, 4) => v as i32 as u64,
            _ => v,
        })
    };
    core.hart.icount -= retired;
    plat.vclock -= retired;
    match result {
        Ok(v) => {
            env.status = STATUS_OK;
            if plat.take_end_block() {
                env.status = STATUS_END_BLOCK;
                env.pc = pc.wrapping_add(kind >> HELPER_LEN_SHIFT);
            } else if va & (u64::from(size) - 1) == 0 {
                let store = kind & HELPER_STORE != 0;
                // SAFETY: the tables belong to the running hart's fast TLB, which outlives the call (see `enter`).
                let table = unsafe { &mut *if store { env.fast_store } else { env.fast_load } };
                fast_tlb::fill(table, core, plat, va, store);
            }
            v
        }
        Err(Exception { cause, tval }) => {
            env.status = STATUS_EXCEPTION;
            env.pc = pc;
            env.cause = cause;
            env.tval = tval;
            value
        }
    }
}

/// Floating point in translated code: the interpreter runs the instruction `raw` at `pc` (decoded again here; the
/// code keeps no pointer to it) with exact counters, reading the integer registers from the register file, where
/// the code put the one it may read. Returns the status and, unless [`STATUS_OK`], sets the pc the region leaves
/// to, as [`access_helper`] does.
///
/// # Safety
/// As for [`access_helper`].
unsafe extern "C" fn float_helper(env: *mut JitEnv, raw: u64, retired: u64, pc: u64) -> u64 {
    // SAFETY: see the function's contract.
    let env = unsafe { &mut *env };
    // SAFETY: as above; the two pointers address distinct objects.
    let (core, plat) = unsafe { (&mut *env.core, &mut *env.plat) };
    let insn = decode(raw as u32);
    core.hart.icount += retired;
    plat.vclock += retired;
    let result = execute_float_exact(core, plat, &insn);
    core.hart.icount -= retired;
    plat.vclock -= retired;
    env.status = match result {
        Ok(()) if plat.take_end_block() => {
            env.pc = pc.wrapping_add(u64::from(insn.len));
            STATUS_END_BLOCK
        }
        Ok(()) => STATUS_OK,
        Err(Exception { cause, tval }) => {
            env.pc = pc;
            env.cause = cause;
            env.tval = tval;
            STATUS_EXCEPTION
        }
    };
    env.status
}

/// How a translated region ended.
pub enum RegionExit {
    /// Continue at `hart.pc` (already set).
    Continue,
    /// The instruction at `hart.pc` raised an exception (it is counted as retired, as the interpreter does).
    Exception(Exception),
}

/// Runs a translation for at most `budget` instructions (at least its first block's worth); advances the
/// counters by what it retired and leaves the pc where execution continues. The translation's code is live
/// (checked by [`Jit::run`]).
fn enter(t: Translation, core: &mut Core, plat: &mut Platform, fast: &mut FastTlbs, budget: u64) -> RegionExit {
    let fast = fast.get(core.hart.id, Mmu::data_mode(&core.hart));
    fast.validate(core, plat);
    let pc = core.hart.pc;
    let core_ptr: *mut Core = core;
    let mut env = JitEnv {
        // SAFETY (of the raw pointers below): derived from `core_ptr` and `plat`, which nothing else uses until
        // the translated code returns.
        x: unsafe { (*core_ptr).hart.x.as_mut_ptr() },
        fast_load: &mut fast.load,
        fast_store: &mut fast.store,
        pc,
        status: STATUS_OK,
        cause: 0,
        tval: 0,
        core: core_ptr,
        plat,
    };
    // SAFETY: the code was generated by `translate` for exactly this environment layout and calling convention;
    // the only host memory it reaches directly is through fast TLB entries, which `fast_tlb::fill` made for
    // pages of the RAM that `validate` just confirmed is still in place.
    let retired = unsafe { (t.entry)(&mut env, pc, budget) };
    let status = env.status;
    let (next_pc, cause, tval) = (env.pc, env.cause, env.tval);
    // SAFETY: the translated code has returned; `core_ptr` is the `core` borrowed by this function.
    let core = unsafe { &mut *core_ptr };
    core.hart.icount += retired;
    core.hart.pc = next_pc;
    // `plat` was moved into env; reborrow through the pointer kept there.
    // SAFETY: as above.
    let plat = unsafe { &mut *env.plat };
    plat.vclock += retired;
    if status == STATUS_EXCEPTION {
        RegionExit::Exception(Exception::new(cause, tval))
    } else {
        RegionExit::Continue
    }
}

/// Translation statistics, for `--stats` and the benchmarks.
#[derive(Clone, Copy, Debug, Default)]
pub struct JitStats {
    pub regions: u64,
    /// Instructions retired by translated code.
    pub retired: u64,
    pub guest_insns: u64,
    pub code_bytes: u64,
    pub failed: u64,
    pub flushes: u64,
    /// Host time spent translating, measured only with [`Jit::measure_compile_time`] set.
    pub compile_ns: u64,
}

impl JitStats {
    /// Both tiers' statistics together.
    pub fn plus(&self, other: &JitStats) -> JitStats {
        JitStats {
            regions: self.regions + other.regions,
            retired: self.retired + other.retired,
            guest_insns: self.guest_insns + other.guest_insns,
            code_bytes: self.code_bytes + other.code_bytes,
            failed: self.failed + other.failed,
            flushes: self.flushes + other.flushes,
            compile_ns: self.compile_ns + other.compile_ns,
        }
    }
}

/// The translator and its code arena.
pub struct Jit {
    compiler: translate::Compiler,
    arena: arena::CodeArena,
    measure_compile_time: bool,
    stats: JitStats,
    /// Block entries before a block is translated.
    threshold: u32,
    /// Per hart and mode: kept across translations and flushes (they cache translations, not code).
    fast_tlbs: FastTlbs,
    /// Bumped by every flush: translations of an older generation point at freed code.
    generation: u64,
}

impl Jit {
    /// The JIT for this host, translating blocks entered `threshold` times, or `None` if the host has no
    /// Cranelift backend or refuses executable memory.
    pub fn new(threshold: u32) -> Option<Jit> {
        Some(Jit {
            compiler: translate::Compiler::new()?,
            arena: arena::CodeArena::new()?,
            measure_compile_time: false,
            stats: JitStats::default(),
            threshold: threshold.max(1),
            fast_tlbs: FastTlbs::default(),
            generation: 0,
        })
    }

    /// Block entries before a block is translated.
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// Drops every translation's code; [`Jit::run`] refuses the [`Translation`]s made before.
    pub fn flush(&mut self) {
        self.arena.clear();
        self.generation += 1;
        self.stats.flushes += 1;
    }

    /// Runs translation `t` for at most `budget` instructions (see [`enter`]); `None`, running nothing, if `t`'s
    /// code was flushed.
    pub fn run(&mut self, t: Translation, core: &mut Core, plat: &mut Platform, budget: u64) -> Option<RegionExit> {
        if t.generation != self.generation {
            return None;
        }
        let before = core.hart.icount;
        let exit = enter(t, core, plat, &mut self.fast_tlbs, budget);
        self.stats.retired += core.hart.icount - before;
        Some(exit)
    }

    /// Translates the region entered at physical `pa`. `None` if its first instruction cannot be translated or
    /// the arena is full (then the caller flushes).
    /// Blocks other than the entry join the region if `is_hot` says they ran often.
    pub fn translate(
        &mut self,
        plat: &Platform,
        cpu: &CpuConfig,
        pa: u64,
        is_hot: &dyn Fn(u64) -> bool,
    ) -> Result<Translation, TranslateError> {
        let start = self.measure_compile_time.then(std::time::Instant::now);
        let region = translate::Region::discover(plat, cpu, pa, is_hot).ok_or(TranslateError::Untranslatable)?;
        let code = self.compiler.compile(&region).map_err(|_| {
            self.stats.failed += 1;
            TranslateError::Untranslatable
        })?;
        if let Ok(dir) = std::env::var("REWIND_JIT_DUMP") {
            let _ = std::fs::write(format!("{dir}/{pa:x}.bin"), code);
            let _ = std::fs::write(format!("{dir}/{pa:x}.txt"), region.listing());
        }
        let entry = self.arena.install(code).ok_or(TranslateError::ArenaFull)?;
        self.stats.regions += 1;
        self.stats.guest_insns += region.insn_count() as u64;
        self.stats.code_bytes = self.arena.used() as u64;
        if let Some(start) = start {
            self.stats.compile_ns += start.elapsed().as_nanos() as u64;
        }
        // SAFETY: `entry` points at code compiled for the `EntryFn` signature, now executable.
        let entry = unsafe { std::mem::transmute::<*const u8, EntryFn>(entry) };
        Ok(Translation { entry, generation: self.generation, first_block_len: region.first_block_len() })
    }

    /// Also measure the host time spent translating.
    pub fn set_timing(&mut self, on: bool) {
        self.measure_compile_time = on;
    }

    pub fn stats(&self) -> JitStats {
        self.stats
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranslateError {
    /// The block starts with an instruction the JIT leaves to the interpreter, or Cranelift refused it.
    Untranslatable,
    /// No room for more code: flush and retry.
    ArenaFull,
}
