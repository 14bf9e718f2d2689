//! Region discovery (which guest code one translation covers) and its translation to Cranelift IR.

use std::collections::HashMap;
use std::mem::offset_of;

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, AbiParam, Block, BlockArg, InstBuilder, MemFlagsData, SigRef, Signature, Value};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetFrontendConfig};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};

use super::fast_tlb::{FastEntry, FAST_ENTRIES};
use super::{access_helper, float_helper, JitEnv, HELPER_LEN_SHIFT, HELPER_SIGNED, HELPER_STORE};
use crate::arch::riscv::cpu::CpuConfig;
use crate::arch::riscv::decode::{Insn, Op};
use crate::arch::riscv::fpu;
use crate::exec::block::decode_block;
use crate::exec::interp::bitmanip;
use crate::platform::Platform;

const PAGE: i64 = 4096;
const NO_ARGS: &[BlockArg] = &[];
/// Blocks in one region at most: keeps one translation's compile time small.
const MAX_BLOCKS: usize = 32;

/// A straight-line run of translatable instructions; the last may be a control transfer.
struct RegionBlock {
    /// Page offset of the first instruction.
    off: i64,
    /// (page offset, instruction).
    insns: Vec<(i64, Insn)>,
}

impl RegionBlock {
    /// Page offsets where execution may continue after the block (`None` for a computed jump).
    fn successors(&self) -> Vec<i64> {
        let Some(&(off, last)) = self.insns.last() else { return Vec::new() };
        let next = off + last.len as i64;
        match last.op {
            Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu => vec![off + last.imm, next],
            Op::Jal => vec![off + last.imm],
            Op::Jalr => Vec::new(),
            _ => vec![next],
        }
    }
}

/// The code one translation covers: the blocks reachable from the entry by direct branches inside one page.
pub struct Region {
    page_pa: u64,
    entry_off: i64,
    blocks: Vec<RegionBlock>,
}

/// Operations translated code performs (floating point through a call); before any other the translation exits
/// to the interpreter: system instructions and atomics.
fn translatable(op: Op) -> bool {
    use Op::*;
    !(op.is_system() || matches!(op, LrW | ScW | LrD | ScD | AmoW | AmoD))
}

/// The carry-less multiplications, which translated code calls: the host has no instruction Cranelift emits for
/// them, and a shift-and-xor loop inline would cost more than the call.
extern "C" fn clmul(a: u64, b: u64) -> u64 {
    bitmanip(Op::Clmul, a, b, 0)
}

extern "C" fn clmulh(a: u64, b: u64) -> u64 {
    bitmanip(Op::Clmulh, a, b, 0)
}

extern "C" fn clmulr(a: u64, b: u64) -> u64 {
    bitmanip(Op::Clmulr, a, b, 0)
}

impl Region {
    /// Finds the region entered at physical `pa` (in RAM); `None` if its first instruction is not translatable.
    /// Other blocks join only if `is_hot` says they ran often (cold paths would only cost compile time).
    pub fn discover(plat: &Platform, cpu: &CpuConfig, pa: u64, is_hot: &dyn Fn(u64) -> bool) -> Option<Region> {
        let page_pa = pa & !(PAGE as u64 - 1);
        let entry_off = (pa - page_pa) as i64;
        let mut region = Region { page_pa, entry_off, blocks: Vec::new() };
        let mut queue = vec![entry_off];
        let mut seen = std::collections::HashSet::new();
        while let Some(off) = queue.pop() {
            if region.blocks.len() >= MAX_BLOCKS || !(0..PAGE).contains(&off) || !seen.insert(off) {
                continue;
            }
            if off != entry_off && !is_hot(page_pa + off as u64) {
                continue;
            }
            let block = region.decode_block(plat, cpu, off);
            if block.insns.is_empty() {
                continue;
            }
            queue.extend(block.successors());
            region.blocks.push(block);
        }
        // The entry is decoded first, so it is block 0 if it exists at all.
        region.blocks.first().filter(|b| b.off == entry_off)?;
        Some(region)
    }

    /// The block at page offset `start` as the interpreter decodes it, up to its first instruction translated
    /// code leaves to the interpreter.
    fn decode_block(&self, plat: &Platform, cpu: &CpuConfig, start: i64) -> RegionBlock {
        let mut insns = Vec::new();
        decode_block(self.page_pa + start as u64, cpu, &mut insns, |pa, size| plat.load_ram(pa, size));
        let translatable_len = insns.iter().position(|i| !translatable(i.op)).unwrap_or(insns.len());
        let mut off = start;
        let insns = insns[..translatable_len]
            .iter()
            .map(|insn| {
                let at = off;
                off += i64::from(insn.len);
                (at, *insn)
            })
            .collect();
        RegionBlock { off: start, insns }
    }

    /// The region's blocks, one instruction per line, for `REWIND_JIT_DUMP`.
    pub fn listing(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            out += &format!("block {:#x}\n", self.page_pa + block.off as u64);
            for (off, insn) in &block.insns {
                let pc = self.page_pa + *off as u64;
                let Insn { op, rd, rs1, rs2, imm, .. } = insn;
                out += &format!("  {pc:#x}: {op:?} rd={rd} rs1={rs1} rs2={rs2} imm={imm}\n");
            }
        }
        out
    }

    pub fn insn_count(&self) -> usize {
        self.blocks.iter().map(|b| b.insns.len()).sum()
    }

    pub fn first_block_len(&self) -> u32 {
        self.blocks.first().map_or(0, |b| b.insns.len() as u32)
    }
}

/// Cranelift, set up for the host.
pub struct Compiler {
    isa: OwnedTargetIsa,
    ctx: Context,
    builder_ctx: FunctionBuilderContext,
}

impl Compiler {
    pub fn new() -> Option<Compiler> {
        let mut flags = settings::builder();
        flags.set("opt_level", "speed").ok()?;
        flags.set("enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" }).ok()?;
        let isa = cranelift_native::builder().ok()?.finish(settings::Flags::new(flags)).ok()?;
        Some(Compiler { isa, ctx: Context::new(), builder_ctx: FunctionBuilderContext::new() })
    }

    /// Translates `region`; the machine code stays valid until the next call.
    pub fn compile(&mut self, region: &Region) -> Result<&[u8], String> {
        self.ctx.clear();
        let ptr = types::I64;
        let mut sig = Signature::new(self.isa.default_call_conv());
        sig.params.extend([AbiParam::new(ptr), AbiParam::new(types::I64), AbiParam::new(types::I64)]);
        sig.returns.push(AbiParam::new(types::I64));
        self.ctx.func.signature = sig.clone();
        let mut helper_sig = Signature::new(self.isa.default_call_conv());
        helper_sig.params.extend([AbiParam::new(ptr), AbiParam::new(types::I64), AbiParam::new(types::I64)]);
        helper_sig.params.extend([AbiParam::new(types::I64), AbiParam::new(types::I64), AbiParam::new(types::I64)]);
        helper_sig.returns.push(AbiParam::new(types::I64));
        let mut pure_sig = Signature::new(self.isa.default_call_conv());
        pure_sig.params.extend([AbiParam::new(types::I64), AbiParam::new(types::I64)]);
        pure_sig.returns.push(AbiParam::new(types::I64));
        let mut float_sig = Signature::new(self.isa.default_call_conv());
        float_sig.params.push(AbiParam::new(ptr));
        float_sig.params.extend([AbiParam::new(types::I64), AbiParam::new(types::I64), AbiParam::new(types::I64)]);
        float_sig.returns.push(AbiParam::new(types::I64));
        let b = FunctionBuilder::new(&mut self.ctx.func, &mut self.builder_ctx);
        Emitter::emit(b, region, [helper_sig, pure_sig, float_sig], self.isa.frontend_config());
        let code = self.ctx.compile(&*self.isa, &mut ControlPlane::default()).map_err(|e| format!("{:?}", e.inner))?;
        if !code.buffer.relocs().is_empty() {
            return Err("translated code needs relocations".into());
        }
        Ok(code.code_buffer())
    }
}

/// Values the entry block loads from the environment once.
struct EnvValues {
    env: Value,
    x: Value,
    fast_load: Value,
    fast_store: Value,
}

struct Emitter<'a> {
    b: FunctionBuilder<'a>,
    e: EnvValues,
    entry_pc: Value,
    budget: Value,
    entry_off: i64,
    regs: [Option<Variable>; 32],
    /// Registers some instruction of the region writes.
    written: [bool; 32],
    /// Instructions the region retired before the current block.
    done: Variable,
    exit: Block,
    blocks: HashMap<i64, (Block, u32)>,
    helper_sig: SigRef,
    /// The signature of a pure function of two registers (the carry-less multiplications).
    pure_sig: SigRef,
    /// The signature of [`float_helper`].
    float_sig: SigRef,
    unsealed: Vec<Block>,
}

/// Environment fields and translated RAM accesses: never trap (bounds are checked first).
fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl<'a> Emitter<'a> {
    fn emit(mut b: FunctionBuilder<'a>, region: &Region, sigs: [Signature; 3], frontend: TargetFrontendConfig) {
        let [helper_sig, pure_sig, float_sig] = sigs.map(|sig| b.import_signature(sig));
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let (env, entry_pc, budget) = (params[0], params[1], params[2]);
        let field = |b: &mut FunctionBuilder, off: usize| b.ins().load(types::I64, trusted(), env, off as i32);
        let e = EnvValues {
            env,
            x: field(&mut b, offset_of!(JitEnv, x)),
            fast_load: field(&mut b, offset_of!(JitEnv, fast_load)),
            fast_store: field(&mut b, offset_of!(JitEnv, fast_store)),
        };
        // Guest registers live in variables for the whole region: loaded once here, stored once at the exit.
        let mut regs = [None; 32];
        for block in &region.blocks {
            for (_, insn) in &block.insns {
                for r in [insn.rd, insn.rs1, insn.rs2] {
                    let r = r as usize & 31;
                    if r != 0 && regs[r].is_none() {
                        let var = b.declare_var(types::I64);
                        let v = b.ins().load(types::I64, trusted(), e.x, (r * 8) as i32);
                        b.def_var(var, v);
                        regs[r] = Some(var);
                    }
                }
            }
        }
        let done = b.declare_var(types::I64);
        let zero = b.ins().iconst(types::I64, 0);
        b.def_var(done, zero);
        let exit = b.create_block();
        b.append_block_param(exit, types::I64);
        let blocks = region.blocks.iter().map(|rb| (rb.off, (b.create_block(), rb.insns.len() as u32))).collect();
        let mut em = Emitter {
            b,
            e,
            entry_pc,
            budget,
            entry_off: region.entry_off,
            regs,
            written: [false; 32],
            done,
            exit,
            blocks,
            helper_sig,
            pure_sig,
            float_sig,
            unsealed: Vec::new(),
        };
        let first = em.blocks[&region.entry_off].0;
        em.b.ins().jump(first, NO_ARGS);
        em.b.seal_block(entry);
        for rb in &region.blocks {
            em.block(rb);
        }
        // The exit: the registers the region writes go back to the register file.
        em.b.switch_to_block(em.exit);
        for r in 1..32 {
            if let Some(var) = em.regs[r].filter(|_| em.written[r]) {
                let v = em.b.use_var(var);
                em.b.ins().store(trusted(), v, em.e.x, r as i32 * 8);
            }
        }
        let ret = em.b.block_params(em.exit)[0];
        em.b.ins().return_(&[ret]);
        em.b.seal_all_blocks();
        em.b.finalize(frontend);
    }

    /// A block whose predecessors are all emitted by the end of the current instruction, when it is sealed
    /// (sealing early keeps SSA construction from adding parameters for every register to every block).
    fn new_block(&mut self) -> Block {
        let block = self.b.create_block();
        self.unsealed.push(block);
        block
    }

    fn pc_at(&mut self, off: i64) -> Value {
        self.b.ins().iadd_imm_s(self.entry_pc, off - self.entry_off)
    }

    fn x(&mut self, r: u8) -> Value {
        match self.regs[r as usize & 31] {
            Some(var) if r != 0 => self.b.use_var(var),
            _ => self.b.ins().iconst(types::I64, 0),
        }
    }

    /// Writes guest register `r`: only the variable; the exit writes registers back to the register file (the
    /// access helper reads none of them).
    fn set_x(&mut self, r: u8, v: Value) {
        if let Some(var) = self.regs[r as usize & 31].filter(|_| r != 0) {
            self.b.def_var(var, v);
            self.written[r as usize & 31] = true;
        }
    }

    /// Leaves the region with the pc at page offset `off`, `retired` instructions done.
    fn exit_to(&mut self, off: i64, retired: Value) {
        let pc = self.pc_at(off);
        self.b.ins().store(trusted(), pc, self.e.env, offset_of!(JitEnv, pc) as i32);
        self.b.ins().jump(self.exit, &[BlockArg::Value(retired)]);
    }

    /// Continues at page offset `off` after `retired` instructions: inside the region if it has a block there and
    /// the budget covers that whole block, else back to the dispatcher.
    fn edge(&mut self, off: i64, retired: Value) {
        match self.blocks.get(&off).copied() {
            Some((target, len)) => {
                let need = self.b.ins().iadd_imm_s(retired, len as i64);
                let fits = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, need, self.budget);
                let out = self.new_block();
                self.b.def_var(self.done, retired);
                self.b.ins().brif(fits, target, NO_ARGS, out, NO_ARGS);
                self.b.switch_to_block(out);
                self.exit_to(off, retired);
            }
            None => self.exit_to(off, retired),
        }
    }

    fn block(&mut self, rb: &RegionBlock) {
        let (blk, _) = self.blocks[&rb.off];
        self.b.switch_to_block(blk);
        let n = rb.insns.len() as i64;
        for (i, &(off, insn)) in rb.insns.iter().enumerate() {
            let ended = self.insn(off, insn, i as i64, n);
            for block in std::mem::take(&mut self.unsealed) {
                self.b.seal_block(block);
            }
            if ended {
                return;
            }
        }
        // No control transfer at the end: continue with the next instruction.
        let (off, last) = rb.insns[rb.insns.len() - 1];
        let done = self.b.use_var(self.done);
        let retired = self.b.ins().iadd_imm_s(done, n);
        self.edge(off + last.len as i64, retired);
        for block in std::mem::take(&mut self.unsealed) {
            self.b.seal_block(block);
        }
    }

    /// Emits one instruction (index `i` of a block of `n`); true if it ended the block.
    fn insn(&mut self, off: i64, insn: Insn, i: i64, n: i64) -> bool {
        use Op::*;
        let imm = insn.imm;
        let rs1 = self.x(insn.rs1);
        let rs2 = self.x(insn.rs2);
        let v = match insn.op {
            Lui => self.b.ins().iconst(types::I64, imm),
            Auipc => {
                let pc = self.pc_at(off);
                self.b.ins().iadd_imm_s(pc, imm)
            }
            Addi => self.b.ins().iadd_imm_s(rs1, imm),
            Slti => self.flag(IntCC::SignedLessThan, rs1, Some(imm), rs2),
            Sltiu => self.flag(IntCC::UnsignedLessThan, rs1, Some(imm), rs2),
            Xori => self.b.ins().bxor_imm_s(rs1, imm),
            Ori => self.b.ins().bor_imm_s(rs1, imm),
            Andi => self.b.ins().band_imm_s(rs1, imm),
            Slli => self.b.ins().ishl_imm_s(rs1, imm & 63),
            Srli => self.b.ins().ushr_imm_s(rs1, imm & 63),
            Srai => self.b.ins().sshr_imm_s(rs1, imm & 63),
            Add => self.b.ins().iadd(rs1, rs2),
            Sub => self.b.ins().isub(rs1, rs2),
            Sll => self.b.ins().ishl(rs1, rs2),
            Slt => self.flag(IntCC::SignedLessThan, rs1, None, rs2),
            Sltu => self.flag(IntCC::UnsignedLessThan, rs1, None, rs2),
            Xor => self.b.ins().bxor(rs1, rs2),
            Srl => self.b.ins().ushr(rs1, rs2),
            Sra => self.b.ins().sshr(rs1, rs2),
            Or => self.b.ins().bor(rs1, rs2),
            And => self.b.ins().band(rs1, rs2),
            Mul => self.b.ins().imul(rs1, rs2),
            Mulh => self.b.ins().smulhi(rs1, rs2),
            Mulhu => self.b.ins().umulhi(rs1, rs2),
            Mulhsu => {
                // Signed × unsigned: the unsigned high product, less rs2 when rs1 is negative.
                let hi = self.b.ins().umulhi(rs1, rs2);
                let sign = self.b.ins().sshr_imm_s(rs1, 63);
                let fix = self.b.ins().band(sign, rs2);
                self.b.ins().isub(hi, fix)
            }
            Div | Rem | Divu | Remu => self.divide(insn.op, rs1, rs2, types::I64),
            op if op.is_bitmanip() => self.bitmanip(op, rs1, rs2, imm),
            Addiw | Slliw | Srliw | Sraiw | Addw | Subw | Sllw | Srlw | Sraw | Mulw | Divw | Divuw | Remw | Remuw => {
                let a = self.b.ins().ireduce(types::I32, rs1);
                let b = self.b.ins().ireduce(types::I32, rs2);
                let r = match insn.op {
                    Addiw => self.b.ins().iadd_imm_s(a, imm),
                    Slliw => self.b.ins().ishl_imm_s(a, imm & 31),
                    Srliw => self.b.ins().ushr_imm_s(a, imm & 31),
                    Sraiw => self.b.ins().sshr_imm_s(a, imm & 31),
                    Addw => self.b.ins().iadd(a, b),
                    Subw => self.b.ins().isub(a, b),
                    Sllw => self.b.ins().ishl(a, b),
                    Srlw => self.b.ins().ushr(a, b),
                    Sraw => self.b.ins().sshr(a, b),
                    Mulw => self.b.ins().imul(a, b),
                    Divw => self.divide(Div, a, b, types::I32),
                    Divuw => self.divide(Divu, a, b, types::I32),
                    Remw => self.divide(Rem, a, b, types::I32),
                    _ => self.divide(Remu, a, b, types::I32),
                };
                self.b.ins().sextend(types::I64, r)
            }
            Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => {
                self.load(Site { off, insn, index: i });
                return false;
            }
            Sb | Sh | Sw | Sd => {
                self.store(Site { off, insn, index: i });
                return false;
            }
            Flw | Fld | Flh | Fsw | Fsd | Fsh | Fp => {
                self.float(Site { off, insn, index: i });
                return false;
            }
            Fence | Nop => return false,
            Jal => {
                let link = self.pc_at(off + insn.len as i64);
                self.set_x(insn.rd, link);
                let done = self.b.use_var(self.done);
                let retired = self.b.ins().iadd_imm_s(done, n);
                self.edge(off + imm, retired);
                return true;
            }
            Jalr => {
                let target = self.b.ins().iadd_imm_s(rs1, imm);
                let target = self.b.ins().band_imm_s(target, !1);
                let link = self.pc_at(off + insn.len as i64);
                self.set_x(insn.rd, link);
                let done = self.b.use_var(self.done);
                let retired = self.b.ins().iadd_imm_s(done, n);
                self.b.ins().store(trusted(), target, self.e.env, offset_of!(JitEnv, pc) as i32);
                self.b.ins().jump(self.exit, &[BlockArg::Value(retired)]);
                return true;
            }
            Beq | Bne | Blt | Bge | Bltu | Bgeu => {
                let cc = match insn.op {
                    Beq => IntCC::Equal,
                    Bne => IntCC::NotEqual,
                    Blt => IntCC::SignedLessThan,
                    Bge => IntCC::SignedGreaterThanOrEqual,
                    Bltu => IntCC::UnsignedLessThan,
                    _ => IntCC::UnsignedGreaterThanOrEqual,
                };
                let cond = self.b.ins().icmp(cc, rs1, rs2);
                let done = self.b.use_var(self.done);
                let retired = self.b.ins().iadd_imm_s(done, n);
                let (taken, fall) = (self.new_block(), self.new_block());
                self.b.ins().brif(cond, taken, NO_ARGS, fall, NO_ARGS);
                self.b.switch_to_block(taken);
                self.edge(off + imm, retired);
                self.b.switch_to_block(fall);
                self.edge(off + insn.len as i64, retired);
                return true;
            }
            // Not translatable: discovery never puts these in a region.
            _ => return false,
        };
        self.set_x(insn.rd, v);
        false
    }

    /// Zba, Zbb, Zbc, Zbkb, Zbs and Zicond, as the interpreter's `bitmanip` computes them (Cranelift's shifts and rotates
    /// take the amount modulo the width, as RISC-V's do).
    fn bitmanip(&mut self, op: Op, rs1: Value, rs2: Value, imm: i64) -> Value {
        use Op::*;
        let low_word = |s: &mut Self, v: Value| s.b.ins().band_imm_s(v, 0xffff_ffff);
        let word_op = |s: &mut Self, v: Value, f: &dyn Fn(&mut Self, Value) -> Value| {
            let w = s.b.ins().ireduce(types::I32, v);
            let r = f(s, w);
            s.b.ins().sextend(types::I64, r)
        };
        let bit = |s: &mut Self, index: Value| {
            let one = s.b.ins().iconst(types::I64, 1);
            s.b.ins().ishl(one, index)
        };
        match op {
            Sh1add | Sh2add | Sh3add => {
                let shift = match op {
                    Sh1add => 1,
                    Sh2add => 2,
                    _ => 3,
                };
                let scaled = self.b.ins().ishl_imm_s(rs1, shift);
                self.b.ins().iadd(rs2, scaled)
            }
            AddUw | Sh1addUw | Sh2addUw | Sh3addUw => {
                let shift = match op {
                    AddUw => 0,
                    Sh1addUw => 1,
                    Sh2addUw => 2,
                    _ => 3,
                };
                let word = low_word(self, rs1);
                let scaled = self.b.ins().ishl_imm_s(word, shift);
                self.b.ins().iadd(rs2, scaled)
            }
            SlliUw => {
                let word = low_word(self, rs1);
                self.b.ins().ishl_imm_s(word, imm & 63)
            }
            Andn => self.b.ins().band_not(rs1, rs2),
            Orn => self.b.ins().bor_not(rs1, rs2),
            Xnor => self.b.ins().bxor_not(rs1, rs2),
            Clz => self.b.ins().clz(rs1),
            Ctz => self.b.ins().ctz(rs1),
            Cpop => self.b.ins().popcnt(rs1),
            Clzw | Ctzw | Cpopw => {
                let w = self.b.ins().ireduce(types::I32, rs1);
                let r = match op {
                    Clzw => self.b.ins().clz(w),
                    Ctzw => self.b.ins().ctz(w),
                    _ => self.b.ins().popcnt(w),
                };
                self.b.ins().uextend(types::I64, r)
            }
            Max => self.b.ins().smax(rs1, rs2),
            Maxu => self.b.ins().umax(rs1, rs2),
            Min => self.b.ins().smin(rs1, rs2),
            Minu => self.b.ins().umin(rs1, rs2),
            SextB => {
                let b = self.b.ins().ireduce(types::I8, rs1);
                self.b.ins().sextend(types::I64, b)
            }
            SextH => {
                let h = self.b.ins().ireduce(types::I16, rs1);
                self.b.ins().sextend(types::I64, h)
            }
            ZextH => self.b.ins().band_imm_s(rs1, 0xffff),
            Rol => self.b.ins().rotl(rs1, rs2),
            Ror => self.b.ins().rotr(rs1, rs2),
            Rori => self.b.ins().rotr_imm_s(rs1, imm & 63),
            Rolw => {
                let amount = self.b.ins().ireduce(types::I32, rs2);
                word_op(self, rs1, &|s, w| s.b.ins().rotl(w, amount))
            }
            Rorw => {
                let amount = self.b.ins().ireduce(types::I32, rs2);
                word_op(self, rs1, &|s, w| s.b.ins().rotr(w, amount))
            }
            Roriw => word_op(self, rs1, &|s, w| s.b.ins().rotr_imm_s(w, imm & 31)),
            OrcB => {
                // Each byte's top bit says whether the byte is non-zero; spread it over the byte.
                const LOW7: i64 = 0x7f7f_7f7f_7f7f_7f7f;
                let low = self.b.ins().band_imm_s(rs1, LOW7);
                let carried = self.b.ins().iadd_imm_s(low, LOW7);
                let any = self.b.ins().bor(carried, rs1);
                let tops = self.b.ins().band_imm_s(any, 0x8080_8080_8080_8080_u64 as i64);
                let ones = self.b.ins().ushr_imm_s(tops, 7);
                self.b.ins().imul_imm_s(ones, 0xff)
            }
            Rev8 => self.b.ins().bswap(rs1),
            Bclr | Binv | Bset | Bclri | Binvi | Bseti => {
                let index = match op {
                    Bclri | Binvi | Bseti => self.b.ins().iconst(types::I64, imm & 63),
                    _ => rs2,
                };
                let mask = bit(self, index);
                match op {
                    Bclr | Bclri => self.b.ins().band_not(rs1, mask),
                    Binv | Binvi => self.b.ins().bxor(rs1, mask),
                    _ => self.b.ins().bor(rs1, mask),
                }
            }
            Bext => {
                let shifted = self.b.ins().ushr(rs1, rs2);
                self.b.ins().band_imm_s(shifted, 1)
            }
            Bexti => {
                let shifted = self.b.ins().ushr_imm_s(rs1, imm & 63);
                self.b.ins().band_imm_s(shifted, 1)
            }
            CzeroEqz | CzeroNez => {
                let cc = if op == CzeroEqz { IntCC::Equal } else { IntCC::NotEqual };
                let zero = self.b.ins().iconst(types::I64, 0);
                let cond = self.b.ins().icmp_imm_s(cc, rs2, 0);
                self.b.ins().select(cond, zero, rs1)
            }
            Pack => {
                let low = self.b.ins().band_imm_s(rs1, 0xffff_ffff);
                let high = self.b.ins().ishl_imm_s(rs2, 32);
                self.b.ins().bor(low, high)
            }
            Packh => {
                let low = self.b.ins().band_imm_s(rs1, 0xff);
                let byte = self.b.ins().band_imm_s(rs2, 0xff);
                let high = self.b.ins().ishl_imm_s(byte, 8);
                self.b.ins().bor(low, high)
            }
            Packw => {
                let low = self.b.ins().band_imm_s(rs1, 0xffff);
                let high = self.b.ins().ishl_imm_s(rs2, 16);
                let packed = self.b.ins().bor(low, high);
                word_op(self, packed, &|_, w| w)
            }
            // Reversing all 64 bits reverses the bytes' order too; swapping the bytes back leaves each reversed.
            Brev8 => {
                let reversed = self.b.ins().bitrev(rs1);
                self.b.ins().bswap(reversed)
            }
            Clmul | Clmulh | Clmulr => {
                let f: extern "C" fn(u64, u64) -> u64 = match op {
                    Clmul => clmul,
                    Clmulh => clmulh,
                    _ => clmulr,
                };
                let callee = self.b.ins().iconst(types::I64, f as usize as i64);
                let call = self.b.ins().call_indirect(self.pure_sig, callee, &[rs1, rs2]);
                self.b.inst_results(call)[0]
            }
            // Not reached: the caller passes only bit-manipulation operations.
            _ => self.b.ins().iconst(types::I64, 0),
        }
    }

    /// A comparison result as 0 or 1.
    fn flag(&mut self, cc: IntCC, a: Value, imm: Option<i64>, b: Value) -> Value {
        let c = match imm {
            Some(imm) => self.b.ins().icmp_imm_s(cc, a, imm),
            None => self.b.ins().icmp(cc, a, b),
        };
        self.b.ins().uextend(types::I64, c)
    }

    /// RISC-V division: no traps; x/0 is all ones, x%0 is x, and signed overflow gives the dividend (quotient)
    /// or 0 (remainder). Both Cranelift operands are made safe first, since its division traps.
    fn divide(&mut self, op: Op, a: Value, b: Value, ty: types::Type) -> Value {
        let bits = ty.bits();
        let min = if bits == 32 { i32::MIN as i64 } else { i64::MIN };
        // iconst wants the bit pattern of the type's width.
        let all_ones = if bits == 32 { u32::MAX as i64 } else { -1 };
        let by_zero = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
        let signed = matches!(op, Op::Div | Op::Rem);
        let unsafe_divisor = if signed {
            let a_min = self.b.ins().icmp_imm_s(IntCC::Equal, a, min);
            let b_neg1 = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
            let overflow = self.b.ins().band(a_min, b_neg1);
            self.b.ins().bor(by_zero, overflow)
        } else {
            by_zero
        };
        let one = self.b.ins().iconst(ty, 1);
        let divisor = self.b.ins().select(unsafe_divisor, one, b);
        let (r, on_zero) = match op {
            Op::Div => (self.b.ins().sdiv(a, divisor), self.b.ins().iconst(ty, all_ones)),
            Op::Divu => (self.b.ins().udiv(a, divisor), self.b.ins().iconst(ty, all_ones)),
            Op::Rem => (self.b.ins().srem(a, divisor), a),
            _ => (self.b.ins().urem(a, divisor), a),
        };
        self.b.ins().select(by_zero, on_zero, r)
    }

    /// The slow path of an access at page offset `off`: the access helper does everything (and sets the pc where
    /// the region must be left); the region goes on at `cont` unless the helper reports an exception or the end
    /// of the block. A load's helper returns the value for `rd` (its old value after an exception).
    fn slow_access(&mut self, site: Site, va: Value, value: Value, kind: u64, cont: Block) {
        let Site { off, insn, index: i } = site;
        let done = self.b.use_var(self.done);
        let retired_before = self.b.ins().iadd_imm_s(done, i);
        let pc = self.pc_at(off);
        let helper = self.b.ins().iconst(types::I64, access_helper as *const () as usize as i64);
        let kind = self.b.ins().iconst(types::I64, (kind | (insn.len as u64) << HELPER_LEN_SHIFT) as i64);
        let env = self.e.env;
        let call = self.b.ins().call_indirect(self.helper_sig, helper, &[env, va, value, kind, retired_before, pc]);
        let result = self.b.inst_results(call)[0];
        if kind_is_load(insn.op) {
            self.set_x(insn.rd, result);
        }
        let status = self.b.ins().load(types::I64, trusted(), env, offset_of!(JitEnv, status) as i32);
        let retired = self.b.ins().iadd_imm_s(done, i + 1);
        self.b.ins().brif(status, self.exit, &[BlockArg::Value(retired)], cont, NO_ARGS);
    }

    /// A floating-point instruction, run by [`float_helper`]: the integer register it may read goes to the
    /// register file first, and the one it may write comes back from there. The region goes on unless the helper
    /// reports an exception or the end of the block (a device access or a store to code).
    fn float(&mut self, site: Site) {
        let Site { off, insn, index: i } = site;
        let reads_x = insn.op != Op::Fp || fpu::int_source(insn.fp);
        if let Some(var) = self.regs[insn.rs1 as usize & 31].filter(|_| reads_x && insn.rs1 != 0) {
            let v = self.b.use_var(var);
            self.b.ins().store(trusted(), v, self.e.x, i32::from(insn.rs1) * 8);
        }
        let done = self.b.use_var(self.done);
        let retired_before = self.b.ins().iadd_imm_s(done, i);
        let pc = self.pc_at(off);
        let helper = self.b.ins().iconst(types::I64, float_helper as *const () as usize as i64);
        let raw = self.b.ins().iconst(types::I64, i64::from(insn.raw));
        let env = self.e.env;
        let call = self.b.ins().call_indirect(self.float_sig, helper, &[env, raw, retired_before, pc]);
        let status = self.b.inst_results(call)[0];
        if insn.op == Op::Fp && fpu::is_dest_int(insn.fp) && insn.rd != 0 {
            let v = self.b.ins().load(types::I64, trusted(), self.e.x, i32::from(insn.rd) * 8);
            self.set_x(insn.rd, v);
        }
        let cont = self.new_block();
        let retired = self.b.ins().iadd_imm_s(done, i + 1);
        self.b.ins().brif(status, self.exit, &[BlockArg::Value(retired)], cont, NO_ARGS);
        self.b.switch_to_block(cont);
    }

    /// Looks `va` up in a fast TLB `table` (see `jit::fast_tlb`): one compare checks that the page is mapped
    /// to RAM the fast path may use and that the access of `size` bytes is aligned. Jumps to `slow` on a miss,
    /// else continues in a new current block with the host address returned.
    fn fast_translate(&mut self, va: Value, size: i64, table: Value, slow: Block) -> Value {
        let fast = self.new_block();
        let vpn = self.b.ins().ushr_imm_s(va, 12);
        let index = self.b.ins().band_imm_s(vpn, FAST_ENTRIES as i64 - 1);
        let byte_offset = self.b.ins().ishl_imm_s(index, std::mem::size_of::<FastEntry>().trailing_zeros() as i64);
        let entry = self.b.ins().iadd(table, byte_offset);
        let tag = self.b.ins().load(types::I64, trusted(), entry, offset_of!(FastEntry, tag) as i32);
        let wanted = self.b.ins().band_imm_s(va, !(PAGE - 1) | (size - 1));
        let hit = self.b.ins().icmp(IntCC::Equal, tag, wanted);
        self.b.ins().brif(hit, fast, NO_ARGS, slow, NO_ARGS);
        self.b.switch_to_block(fast);
        let addend = self.b.ins().load(types::I64, trusted(), entry, offset_of!(FastEntry, addend) as i32);
        self.b.ins().iadd(va, addend)
    }

    fn load(&mut self, site: Site) {
        let insn = site.insn;
        let (size, signed) = load_shape(insn.op);
        let rs1 = self.x(insn.rs1);
        let old_rd = self.x(insn.rd);
        let va = self.b.ins().iadd_imm_s(rs1, insn.imm);
        let (slow, cont) = (self.new_block(), self.new_block());
        let host = self.fast_translate(va, size, self.e.fast_load, slow);
        let flags = trusted();
        let v = match (size, signed) {
            (1, true) => self.b.ins().sload8(types::I64, flags, host, 0),
            (1, false) => self.b.ins().uload8(types::I64, flags, host, 0),
            (2, true) => self.b.ins().sload16(types::I64, flags, host, 0),
            (2, false) => self.b.ins().uload16(types::I64, flags, host, 0),
            (4, true) => self.b.ins().sload32(flags, host, 0),
            (4, false) => self.b.ins().uload32(flags, host, 0),
            _ => self.b.ins().load(types::I64, flags, host, 0),
        };
        self.set_x(insn.rd, v);
        self.b.ins().jump(cont, NO_ARGS);
        self.b.switch_to_block(slow);
        let kind = size as u64 | if signed { HELPER_SIGNED } else { 0 };
        self.slow_access(site, va, old_rd, kind, cont);
        self.b.switch_to_block(cont);
    }

    fn store(&mut self, site: Site) {
        let insn = site.insn;
        let size: i64 = match insn.op {
            Op::Sb => 1,
            Op::Sh => 2,
            Op::Sw => 4,
            _ => 8,
        };
        let rs1 = self.x(insn.rs1);
        let value = self.x(insn.rs2);
        let va = self.b.ins().iadd_imm_s(rs1, insn.imm);
        let (slow, cont) = (self.new_block(), self.new_block());
        // Pages holding code, or not yet dirty, have no fast entry for stores.
        let host = self.fast_translate(va, size, self.e.fast_store, slow);
        let flags = trusted();
        match size {
            1 => self.b.ins().istore8(flags, value, host, 0),
            2 => self.b.ins().istore16(flags, value, host, 0),
            4 => self.b.ins().istore32(flags, value, host, 0),
            _ => self.b.ins().store(flags, value, host, 0),
        };
        self.b.ins().jump(cont, NO_ARGS);
        self.b.switch_to_block(slow);
        self.slow_access(site, va, value, size as u64 | HELPER_STORE, cont);
        self.b.switch_to_block(cont);
    }
}

/// The instruction being translated: its page offset, itself, and its index in its block.
#[derive(Clone, Copy)]
struct Site {
    off: i64,
    insn: Insn,
    index: i64,
}

/// Size in bytes and signedness of a load.
fn load_shape(op: Op) -> (i64, bool) {
    match op {
        Op::Lb => (1, true),
        Op::Lh => (2, true),
        Op::Lw => (4, true),
        Op::Ld => (8, false),
        Op::Lbu => (1, false),
        Op::Lhu => (2, false),
        _ => (4, false),
    }
}

fn kind_is_load(op: Op) -> bool {
    matches!(op, Op::Lb | Op::Lh | Op::Lw | Op::Ld | Op::Lbu | Op::Lhu | Op::Lwu)
}
