//! The JIT tier: blocks the interpreter finds hot are translated to host code with Cranelift.
//!
//! A translation covers a *region*: the hot block plus the blocks it reaches by direct branches inside the same
//! guest page, so a loop runs in host code without returning to the dispatcher. Translated code is an exact
//! stand-in for the interpreter: it retires whole blocks only while the slice budget allows, leaves anything
//! but integer computation, branches and loads/stores to the interpreter (it exits before such an instruction),
//! and reaches memory through the same TLB and RAM the interpreter uses, falling back to the interpreter's own
//! access functions for everything beyond the fast path (TLB misses, devices, stores to code, misalignment).
//! The two tiers therefore produce bit-identical machine states at every instruction count; tests check it.
//!
//! Code is position independent (the entry pc is a parameter), so one translation serves every virtual alias
//! of a physical page, as the interpreter's block cache does.

mod arena;
mod translate;

use crate::cpu::hart::Exception;
use crate::cpu::interp::{load_exact, store_exact, Core};
use crate::cpu::mmu::{Access, TlbEntry, TLB_ENTRIES};
use crate::platform::Platform;

/// Block executions before translation, by default: a translation costs about a millisecond of Cranelift, so
/// only code that runs that often repays it (measured on the Linux boot: lower thresholds boot slower).
pub const DEFAULT_THRESHOLD: u32 = 20_000;

/// Entry point of a translation: `(env, entry pc, budget) -> instructions retired`.
type EntryFn = unsafe extern "C" fn(*mut JitEnv, u64, u64) -> u64;

/// A translated region's entry.
#[derive(Clone, Copy)]
pub struct Translation {
    entry: EntryFn,
    /// Instructions of the entry block: the region is entered only if the budget covers them.
    pub first_block_len: u32,
}

/// What translated code reads and writes besides its arguments; `repr(C)`, its layout is baked into the code.
#[repr(C)]
struct JitEnv {
    x: *mut u64,
    ram: *mut u8,
    ram_base: u64,
    ram_size: u64,
    dirty: *mut u8,
    code_pages: *const u64,
    /// The data TLBs for the current mode ([`NO_TLB`] when translation is the identity, which the flags say).
    load_tlb: *const TlbEntry,
    store_tlb: *const TlbEntry,
    load_identity: u64,
    store_identity: u64,
    tlb_generation: u64,
    /// Out: where execution continues.
    pc: u64,
    /// Out, from the access helper: [`STATUS_OK`], [`STATUS_END_BLOCK`] or [`STATUS_EXCEPTION`].
    status: u64,
    cause: u64,
    tval: u64,
    core: *mut Core,
    plat: *mut Platform,
}

/// A TLB that never hits (generation 0 is never current), for modes where translation is the identity: the
/// translated code looks it up anyway, which keeps its fast path free of branches.
static NO_TLB: [TlbEntry; TLB_ENTRIES] = [TlbEntry { vpn: 0, generation: 0, pa_page: 0 }; TLB_ENTRIES];

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
            if std::mem::take(&mut plat.end_block) {
                env.status = STATUS_END_BLOCK;
                env.pc = pc.wrapping_add(kind >> HELPER_LEN_SHIFT);
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

/// How a translated region ended.
pub enum RegionExit {
    /// Continue at `hart.pc` (already set).
    Continue,
    /// The instruction at `hart.pc` raised an exception (it is counted as retired, as the interpreter does).
    Exception(Exception),
}

/// Runs a translation for at most `budget` instructions (at least its first block's worth); advances the
/// counters by what it retired and leaves the pc where execution continues.
pub fn enter(t: Translation, core: &mut Core, plat: &mut Platform, budget: u64) -> RegionExit {
    let ram = plat.ram_view();
    let tlb_ptr = |t: Option<&[TlbEntry]>| t.map_or((NO_TLB.as_ptr(), 1), |t| (t.as_ptr(), 0));
    let (load_tlb, tlb_generation) = core.mmu.data_tlb(&core.hart, Access::Load);
    let (load_tlb, load_identity) = tlb_ptr(load_tlb);
    let (store_tlb, store_identity) = tlb_ptr(core.mmu.data_tlb(&core.hart, Access::Store).0);
    let pc = core.hart.pc;
    let core_ptr: *mut Core = core;
    let mut env = JitEnv {
        // SAFETY (of the raw pointers below): derived from `core_ptr` and `plat`, which nothing else uses until
        // the translated code returns.
        x: unsafe { (*core_ptr).hart.x.as_mut_ptr() },
        ram: ram.bytes,
        ram_base: ram.base,
        ram_size: ram.size,
        dirty: ram.dirty,
        code_pages: ram.code_pages,
        load_tlb,
        store_tlb,
        load_identity,
        store_identity,
        tlb_generation,
        pc,
        status: STATUS_OK,
        cause: 0,
        tval: 0,
        core: core_ptr,
        plat,
    };
    // SAFETY: the code was generated by `translate` for exactly this environment layout and calling convention;
    // every memory access it makes is bounds-checked against the RAM size and TLB size held in `env`.
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
    pub guest_insns: u64,
    pub code_bytes: u64,
    pub failed: u64,
    pub flushes: u64,
    /// Host time spent translating, measured only with [`Jit::measure_compile_time`] set.
    pub compile_ns: u64,
}

/// The translator and its code arena.
pub struct Jit {
    compiler: translate::Compiler,
    arena: arena::CodeArena,
    /// Executions of a block before it is translated.
    pub threshold: u32,
    pub measure_compile_time: bool,
    pub stats: JitStats,
}

impl Jit {
    /// The JIT for this host, or `None` if the host has no Cranelift backend or refuses executable memory.
    pub fn new(threshold: u32) -> Option<Jit> {
        Some(Jit {
            compiler: translate::Compiler::new()?,
            arena: arena::CodeArena::new()?,
            threshold: threshold.max(1),
            measure_compile_time: false,
            stats: JitStats::default(),
        })
    }

    /// Drops every translation (the caller drops the [`Translation`]s it holds).
    pub fn flush(&mut self) {
        self.arena.clear();
        self.stats.flushes += 1;
    }

    /// Translates the region entered at physical `pa`. `None` if its first instruction cannot be translated or
    /// the arena is full (then the caller flushes).
    /// Blocks other than the entry join the region if `is_hot` says they ran often.
    pub fn translate(
        &mut self,
        plat: &Platform,
        pa: u64,
        is_hot: &dyn Fn(u64) -> bool,
    ) -> Result<Translation, TranslateError> {
        let start = self.measure_compile_time.then(std::time::Instant::now);
        let region = translate::Region::discover(plat, pa, is_hot).ok_or(TranslateError::Untranslatable)?;
        let code = self.compiler.compile(&region).map_err(|_| {
            self.stats.failed += 1;
            TranslateError::Untranslatable
        })?;
        let entry = self.arena.install(code).ok_or(TranslateError::ArenaFull)?;
        self.stats.regions += 1;
        self.stats.guest_insns += region.insn_count() as u64;
        self.stats.code_bytes = self.arena.used() as u64;
        if let Some(start) = start {
            self.stats.compile_ns += start.elapsed().as_nanos() as u64;
        }
        // SAFETY: `entry` points at code compiled for the `EntryFn` signature, now executable.
        let entry = unsafe { std::mem::transmute::<*const u8, EntryFn>(entry) };
        Ok(Translation { entry, first_block_len: region.first_block_len() })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranslateError {
    /// The block starts with an instruction the JIT leaves to the interpreter, or Cranelift refused it.
    Untranslatable,
    /// No room for more code: flush and retry.
    ArenaFull,
}
