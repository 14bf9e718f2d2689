//! Instruction decoding: 32-bit and compressed (RVC) encodings into one [`Insn`] form the interpreter executes.
//! Compressed instructions expand to their base equivalents (RVC spec chapter 16), so the interpreter has one
//! implementation of each operation.

/// Every operation the interpreter knows. Compressed forms decode to these too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    Illegal,
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Ld,
    Lbu,
    Lhu,
    Lwu,
    Sb,
    Sh,
    Sw,
    Sd,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Addiw,
    Slliw,
    Srliw,
    Sraiw,
    Addw,
    Subw,
    Sllw,
    Srlw,
    Sraw,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,
    // Zba: address generation.
    Sh1add,
    Sh2add,
    Sh3add,
    AddUw,
    Sh1addUw,
    Sh2addUw,
    Sh3addUw,
    SlliUw,
    // Zbb: basic bit manipulation.
    Andn,
    Orn,
    Xnor,
    Clz,
    Clzw,
    Ctz,
    Ctzw,
    Cpop,
    Cpopw,
    Max,
    Maxu,
    Min,
    Minu,
    SextB,
    SextH,
    ZextH,
    Rol,
    Rolw,
    Ror,
    Rorw,
    Rori,
    Roriw,
    OrcB,
    Rev8,
    // Zbc: carry-less multiplication.
    Clmul,
    Clmulh,
    Clmulr,
    // Zbkb: bit manipulation for cryptography (beyond the rotations, andn/orn/xnor and rev8 it shares with Zbb).
    Pack,
    Packh,
    Packw,
    Brev8,
    // Zbs: single-bit instructions.
    Bclr,
    Bclri,
    Bext,
    Bexti,
    Binv,
    Binvi,
    Bset,
    Bseti,
    // Zicond: conditional zeroing.
    CzeroEqz,
    CzeroNez,
    // Zicbom and Zicboz: cache-block operations on the block holding x[rs1].
    CboClean,
    CboFlush,
    CboInval,
    CboZero,
    Fence,
    FenceI,
    Ecall,
    Ebreak,
    Mret,
    Sret,
    Wfi,
    /// Zawrs: `wrs.nto` waits like `wfi` while the hart holds a reservation; `wrs.sto` waits a short time
    /// (here none).
    WrsNto,
    WrsSto,
    SfenceVma,
    // Svinval: `sinval.vma` (an `sfence.vma` here), and `sfence.w.inval` / `sfence.inval.ir` (orderings that
    // need nothing where translations are never cached across a write).
    SinvalVma,
    SfenceInval,
    Csrrw,
    Csrrs,
    Csrrc,
    Csrrwi,
    Csrrsi,
    Csrrci,
    LrW,
    ScW,
    LrD,
    ScD,
    /// AMOs: `imm` holds the [`AmoOp`] discriminant.
    AmoW,
    AmoD,
    Flw,
    Fld,
    Fsw,
    Fsd,
    /// Zfhmin's half-precision load and store.
    Flh,
    Fsh,
    /// Floating-point computation: `imm` holds the [`crate::arch::riscv::fpu::FpOp`] (low byte), the format (bit 8) and the
    /// rounding-mode field (bits 16..19).
    Fp,
    /// An operation whose only effect is writing `rd`, with `rd` = x0 (a hint or nop): does nothing. The
    /// interpreter relies on the other such operations never having `rd` = x0.
    Nop,
}

/// The read-modify-write operation of an AMO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AmoOp {
    Swap,
    Add,
    Xor,
    And,
    Or,
    Min,
    Max,
    Minu,
    Maxu,
}

impl AmoOp {
    pub fn from_index(i: i64) -> AmoOp {
        const ALL: [AmoOp; 9] = [
            AmoOp::Swap,
            AmoOp::Add,
            AmoOp::Xor,
            AmoOp::And,
            AmoOp::Or,
            AmoOp::Min,
            AmoOp::Max,
            AmoOp::Minu,
            AmoOp::Maxu,
        ];
        ALL.get(i as usize).copied().unwrap_or(AmoOp::Swap)
    }
}

/// A decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub op: Op,
    pub rd: u8,
    pub rs1: u8,
    pub rs2: u8,
    pub rs3: u8,
    /// Length in bytes: 2 (compressed) or 4.
    pub len: u8,
    /// The floating-point operation, for `Op::Fp`.
    pub fp: crate::arch::riscv::fpu::FpOp,
    /// Immediate, CSR number, shift amount or packed sub-operation, depending on `op`.
    pub imm: i64,
    /// The raw encoding (for `mtval` on illegal instructions and for disassembly).
    pub raw: u32,
}

impl Insn {
    fn new(op: Op, raw: u32) -> Insn {
        Insn { op, rd: 0, rs1: 0, rs2: 0, rs3: 0, len: 4, fp: crate::arch::riscv::fpu::FpOp::Add, imm: 0, raw }
    }

    fn illegal(raw: u32, len: u8) -> Insn {
        Insn { len, ..Insn::new(Op::Illegal, raw) }
    }

    /// Integer computations whose only effect is writing `rd`.
    pub fn only_writes_rd(&self) -> bool {
        use Op::*;
        matches!(
            self.op,
            Lui | Auipc
                | Addi
                | Slti
                | Sltiu
                | Xori
                | Ori
                | Andi
                | Slli
                | Srli
                | Srai
                | Add
                | Sub
                | Sll
                | Slt
                | Sltu
                | Xor
                | Srl
                | Sra
                | Or
                | And
                | Addiw
                | Slliw
                | Srliw
                | Sraiw
                | Addw
                | Subw
                | Sllw
                | Srlw
                | Sraw
                | Mul
                | Mulh
                | Mulhsu
                | Mulhu
                | Div
                | Divu
                | Rem
                | Remu
                | Mulw
                | Divw
                | Divuw
                | Remw
                | Remuw
        ) || self.op.is_bitmanip()
    }

    /// Ends a basic block: control transfers and system instructions (so interrupts are checked right after
    /// them).
    pub fn ends_block(&self) -> bool {
        self.op.is_control_transfer() || self.op.is_system()
    }
}

/// The operations of Zba, Zbb, Zbc, Zbkb, Zbs and Zicond, as a pattern: one list for the decoder's predicate and the
/// interpreter's match, which stays exhaustive.
macro_rules! bitmanip_ops {
    () => {
        $crate::arch::riscv::decode::Op::Sh1add
            | $crate::arch::riscv::decode::Op::Sh2add
            | $crate::arch::riscv::decode::Op::Sh3add
            | $crate::arch::riscv::decode::Op::AddUw
            | $crate::arch::riscv::decode::Op::Sh1addUw
            | $crate::arch::riscv::decode::Op::Sh2addUw
            | $crate::arch::riscv::decode::Op::Sh3addUw
            | $crate::arch::riscv::decode::Op::SlliUw
            | $crate::arch::riscv::decode::Op::Andn
            | $crate::arch::riscv::decode::Op::Orn
            | $crate::arch::riscv::decode::Op::Xnor
            | $crate::arch::riscv::decode::Op::Clz
            | $crate::arch::riscv::decode::Op::Clzw
            | $crate::arch::riscv::decode::Op::Ctz
            | $crate::arch::riscv::decode::Op::Ctzw
            | $crate::arch::riscv::decode::Op::Cpop
            | $crate::arch::riscv::decode::Op::Cpopw
            | $crate::arch::riscv::decode::Op::Max
            | $crate::arch::riscv::decode::Op::Maxu
            | $crate::arch::riscv::decode::Op::Min
            | $crate::arch::riscv::decode::Op::Minu
            | $crate::arch::riscv::decode::Op::SextB
            | $crate::arch::riscv::decode::Op::SextH
            | $crate::arch::riscv::decode::Op::ZextH
            | $crate::arch::riscv::decode::Op::Rol
            | $crate::arch::riscv::decode::Op::Rolw
            | $crate::arch::riscv::decode::Op::Ror
            | $crate::arch::riscv::decode::Op::Rorw
            | $crate::arch::riscv::decode::Op::Rori
            | $crate::arch::riscv::decode::Op::Roriw
            | $crate::arch::riscv::decode::Op::OrcB
            | $crate::arch::riscv::decode::Op::Rev8
            | $crate::arch::riscv::decode::Op::Clmul
            | $crate::arch::riscv::decode::Op::Clmulh
            | $crate::arch::riscv::decode::Op::Clmulr
            | $crate::arch::riscv::decode::Op::Pack
            | $crate::arch::riscv::decode::Op::Packh
            | $crate::arch::riscv::decode::Op::Packw
            | $crate::arch::riscv::decode::Op::Brev8
            | $crate::arch::riscv::decode::Op::Bclr
            | $crate::arch::riscv::decode::Op::Bclri
            | $crate::arch::riscv::decode::Op::Bext
            | $crate::arch::riscv::decode::Op::Bexti
            | $crate::arch::riscv::decode::Op::Binv
            | $crate::arch::riscv::decode::Op::Binvi
            | $crate::arch::riscv::decode::Op::Bset
            | $crate::arch::riscv::decode::Op::Bseti
            | $crate::arch::riscv::decode::Op::CzeroEqz
            | $crate::arch::riscv::decode::Op::CzeroNez
    };
}
pub(crate) use bitmanip_ops;

impl Op {
    /// The bit-manipulation extensions Zba, Zbb, Zbc, Zbkb and Zbs, and Zicond: integer computations that only write
    /// `rd`.
    pub fn is_bitmanip(self) -> bool {
        matches!(self, bitmanip_ops!())
    }

    /// Jumps and conditional branches.
    pub fn is_control_transfer(self) -> bool {
        use Op::*;
        matches!(self, Jal | Jalr | Beq | Bne | Blt | Bge | Bltu | Bgeu)
    }

    /// Instructions that trap, or change translation, privilege, interrupt or counter state: what only the
    /// interpreter executes, at the end of a block.
    pub fn is_system(self) -> bool {
        use Op::*;
        matches!(
            self,
            Illegal
                | FenceI
                | Ecall
                | Ebreak
                | Mret
                | Sret
                | Wfi
                | WrsNto
                | WrsSto
                | SfenceVma
                | SinvalVma
                | SfenceInval
                | CboClean
                | CboFlush
                | CboInval
                | CboZero
                | Csrrw
                | Csrrs
                | Csrrc
                | Csrrwi
                | Csrrsi
                | Csrrci
        )
    }
}

#[inline]
fn bits(x: u32, hi: u32, lo: u32) -> u32 {
    (x >> lo) & ((1 << (hi - lo + 1)) - 1)
}

#[inline]
fn sext(value: u32, width: u32) -> i64 {
    let shift = 64 - width;
    ((value as i64) << shift) >> shift
}

/// Length of the instruction whose low halfword is `low`.
pub fn insn_len(low: u16) -> u8 {
    if low & 3 == 3 {
        4
    } else {
        2
    }
}

/// Decodes one instruction from its raw bits (the upper half is ignored for compressed encodings).
pub fn decode(raw: u32) -> Insn {
    let insn = decode_operation(raw);
    if insn.rd == 0 && insn.only_writes_rd() {
        Insn { op: Op::Nop, ..insn }
    } else {
        insn
    }
}

/// Decodes without folding writes to x0 into [`Op::Nop`]: the disassembler names the operation a hint encodes.
pub(crate) fn decode_operation(raw: u32) -> Insn {
    if raw & 3 != 3 {
        decode_compressed(raw as u16)
    } else {
        decode_full(raw)
    }
}

fn i_imm(raw: u32) -> i64 {
    sext(raw >> 20, 12)
}

fn s_imm(raw: u32) -> i64 {
    sext((bits(raw, 31, 25) << 5) | bits(raw, 11, 7), 12)
}

fn b_imm(raw: u32) -> i64 {
    let v = (bits(raw, 31, 31) << 12) | (bits(raw, 7, 7) << 11) | (bits(raw, 30, 25) << 5) | (bits(raw, 11, 8) << 1);
    sext(v, 13)
}

fn j_imm(raw: u32) -> i64 {
    let v =
        (bits(raw, 31, 31) << 20) | (bits(raw, 19, 12) << 12) | (bits(raw, 20, 20) << 11) | (bits(raw, 30, 21) << 1);
    sext(v, 21)
}

fn r(op: Op, raw: u32) -> Insn {
    Insn {
        rd: bits(raw, 11, 7) as u8,
        rs1: bits(raw, 19, 15) as u8,
        rs2: bits(raw, 24, 20) as u8,
        rs3: bits(raw, 31, 27) as u8,
        ..Insn::new(op, raw)
    }
}

fn i(op: Op, raw: u32) -> Insn {
    Insn { imm: i_imm(raw), ..r(op, raw) }
}

/// The OP-IMM encodings with funct3 1 or 5 beyond the base shifts: Zbb's unary operations and `rori`, Zbs's
/// single-bit immediates.
fn decode_bitmanip_imm(raw: u32, f3: u32, shamt: i64) -> Insn {
    use Op::*;
    let shift = |op| Insn { imm: shamt, ..r(op, raw) };
    match (f3, bits(raw, 31, 20), bits(raw, 31, 26)) {
        (1, 0x600, _) => r(Clz, raw),
        (1, 0x601, _) => r(Ctz, raw),
        (1, 0x602, _) => r(Cpop, raw),
        (1, 0x604, _) => r(SextB, raw),
        (1, 0x605, _) => r(SextH, raw),
        (5, 0x287, _) => r(OrcB, raw),
        (5, 0x6b8, _) => r(Rev8, raw),
        (5, 0x687, _) => r(Brev8, raw),
        (5, _, 0x18) => shift(Rori),
        (1, _, 0x12) => shift(Bclri),
        (5, _, 0x12) => shift(Bexti),
        (1, _, 0x1a) => shift(Binvi),
        (1, _, 0x0a) => shift(Bseti),
        _ => Insn::illegal(raw, 4),
    }
}

fn decode_full(raw: u32) -> Insn {
    use Op::*;
    let opcode = bits(raw, 6, 0);
    let f3 = bits(raw, 14, 12);
    let f7 = bits(raw, 31, 25);
    match opcode {
        0x37 => Insn { imm: sext(raw & 0xffff_f000, 32), ..r(Lui, raw) },
        0x17 => Insn { imm: sext(raw & 0xffff_f000, 32), ..r(Auipc, raw) },
        0x6f => Insn { imm: j_imm(raw), ..r(Jal, raw) },
        0x67 if f3 == 0 => i(Jalr, raw),
        0x63 => {
            let op = match f3 {
                0 => Beq,
                1 => Bne,
                4 => Blt,
                5 => Bge,
                6 => Bltu,
                7 => Bgeu,
                _ => return Insn::illegal(raw, 4),
            };
            Insn { imm: b_imm(raw), ..r(op, raw) }
        }
        0x03 => {
            let op = match f3 {
                0 => Lb,
                1 => Lh,
                2 => Lw,
                3 => Ld,
                4 => Lbu,
                5 => Lhu,
                6 => Lwu,
                _ => return Insn::illegal(raw, 4),
            };
            i(op, raw)
        }
        0x23 => {
            let op = match f3 {
                0 => Sb,
                1 => Sh,
                2 => Sw,
                3 => Sd,
                _ => return Insn::illegal(raw, 4),
            };
            Insn { imm: s_imm(raw), ..r(op, raw) }
        }
        0x13 => {
            let shamt = bits(raw, 25, 20) as i64;
            match f3 {
                0 => i(Addi, raw),
                2 => i(Slti, raw),
                3 => i(Sltiu, raw),
                4 => i(Xori, raw),
                6 => i(Ori, raw),
                7 => i(Andi, raw),
                1 if bits(raw, 31, 26) == 0 => Insn { imm: shamt, ..r(Slli, raw) },
                5 if bits(raw, 31, 26) == 0 => Insn { imm: shamt, ..r(Srli, raw) },
                5 if bits(raw, 31, 26) == 0x10 => Insn { imm: shamt, ..r(Srai, raw) },
                1 | 5 => decode_bitmanip_imm(raw, f3, shamt),
                _ => Insn::illegal(raw, 4),
            }
        }
        0x1b => {
            let shamt = bits(raw, 24, 20) as i64;
            match (f3, f7) {
                (0, _) => i(Addiw, raw),
                (1, 0) => Insn { imm: shamt, ..r(Slliw, raw) },
                (5, 0) => Insn { imm: shamt, ..r(Srliw, raw) },
                (5, 0x20) => Insn { imm: shamt, ..r(Sraiw, raw) },
                (1, 0x30) => match bits(raw, 24, 20) {
                    0 => r(Clzw, raw),
                    1 => r(Ctzw, raw),
                    2 => r(Cpopw, raw),
                    _ => Insn::illegal(raw, 4),
                },
                (5, 0x30) => Insn { imm: shamt, ..r(Roriw, raw) },
                (1, _) if bits(raw, 31, 26) == 0x02 => Insn { imm: bits(raw, 25, 20) as i64, ..r(SlliUw, raw) },
                _ => Insn::illegal(raw, 4),
            }
        }
        0x33 => {
            let op = match (f7, f3) {
                (0, 0) => Add,
                (0x20, 0) => Sub,
                (0, 1) => Sll,
                (0, 2) => Slt,
                (0, 3) => Sltu,
                (0, 4) => Xor,
                (0, 5) => Srl,
                (0x20, 5) => Sra,
                (0, 6) => Or,
                (0, 7) => And,
                (1, 0) => Mul,
                (1, 1) => Mulh,
                (1, 2) => Mulhsu,
                (1, 3) => Mulhu,
                (1, 4) => Div,
                (1, 5) => Divu,
                (1, 6) => Rem,
                (1, 7) => Remu,
                (0x10, 2) => Sh1add,
                (0x10, 4) => Sh2add,
                (0x10, 6) => Sh3add,
                (0x20, 7) => Andn,
                (0x20, 6) => Orn,
                (0x20, 4) => Xnor,
                (0x05, 1) => Clmul,
                (0x05, 2) => Clmulr,
                (0x05, 3) => Clmulh,
                (0x05, 4) => Min,
                (0x05, 5) => Minu,
                (0x05, 6) => Max,
                (0x05, 7) => Maxu,
                (0x30, 1) => Rol,
                (0x30, 5) => Ror,
                (0x24, 1) => Bclr,
                (0x24, 5) => Bext,
                (0x34, 1) => Binv,
                (0x14, 1) => Bset,
                (0x07, 5) => CzeroEqz,
                (0x07, 7) => CzeroNez,
                (0x04, 4) => Pack,
                (0x04, 7) => Packh,
                _ => return Insn::illegal(raw, 4),
            };
            r(op, raw)
        }
        0x3b => {
            let op = match (f7, f3) {
                (0, 0) => Addw,
                (0x20, 0) => Subw,
                (0, 1) => Sllw,
                (0, 5) => Srlw,
                (0x20, 5) => Sraw,
                (1, 0) => Mulw,
                (1, 4) => Divw,
                (1, 5) => Divuw,
                (1, 6) => Remw,
                (1, 7) => Remuw,
                (0x04, 0) => AddUw,
                (0x10, 2) => Sh1addUw,
                (0x10, 4) => Sh2addUw,
                (0x10, 6) => Sh3addUw,
                (0x30, 1) => Rolw,
                (0x30, 5) => Rorw,
                // zext.h is packw with rs2 = x0: Zbb has that one encoding, Zbkb all of them.
                (0x04, 4) if bits(raw, 24, 20) == 0 => ZextH,
                (0x04, 4) => Packw,
                _ => return Insn::illegal(raw, 4),
            };
            r(op, raw)
        }
        // FENCE (incl. PAUSE and FENCE.TSO) and FENCE.I; other MISC-MEM encodings are treated as fences (hints).
        0x0f => match (f3, bits(raw, 11, 7), bits(raw, 31, 20)) {
            (0, _, _) => r(Fence, raw),
            (1, _, _) => r(FenceI, raw),
            (2, 0, 0) => r(CboInval, raw),
            (2, 0, 1) => r(CboClean, raw),
            (2, 0, 2) => r(CboFlush, raw),
            (2, 0, 4) => r(CboZero, raw),
            _ => Insn::illegal(raw, 4),
        },
        0x73 => decode_system(raw),
        0x2f => decode_atomic(raw),
        0x07 => match f3 {
            1 => i(Flh, raw),
            2 => i(Flw, raw),
            3 => i(Fld, raw),
            _ => Insn::illegal(raw, 4),
        },
        0x27 => match f3 {
            1 => Insn { imm: s_imm(raw), ..r(Fsh, raw) },
            2 => Insn { imm: s_imm(raw), ..r(Fsw, raw) },
            3 => Insn { imm: s_imm(raw), ..r(Fsd, raw) },
            _ => Insn::illegal(raw, 4),
        },
        0x43 | 0x47 | 0x4b | 0x4f => decode_fma(raw),
        0x53 => decode_fp(raw),
        _ => Insn::illegal(raw, 4),
    }
}

fn decode_system(raw: u32) -> Insn {
    use Op::*;
    let f3 = bits(raw, 14, 12);
    let csr = bits(raw, 31, 20) as i64;
    let csr_insn = |op| Insn { imm: csr, ..r(op, raw) };
    match f3 {
        0 => {
            let rd = bits(raw, 11, 7);
            let rs1 = bits(raw, 19, 15);
            match (bits(raw, 31, 25), bits(raw, 24, 20)) {
                (0, 0) if rd == 0 && rs1 == 0 => r(Ecall, raw),
                (0, 1) if rd == 0 && rs1 == 0 => r(Ebreak, raw),
                (0x18, 2) if rd == 0 && rs1 == 0 => r(Mret, raw),
                (0x08, 2) if rd == 0 && rs1 == 0 => r(Sret, raw),
                (0x08, 5) if rd == 0 && rs1 == 0 => r(Wfi, raw),
                (0, 0x0d) if rd == 0 && rs1 == 0 => r(WrsNto, raw),
                (0, 0x1d) if rd == 0 && rs1 == 0 => r(WrsSto, raw),
                (0x09, _) if rd == 0 => r(SfenceVma, raw),
                (0x0b, _) if rd == 0 => r(SinvalVma, raw),
                (0x0c, 0 | 1) if rd == 0 && rs1 == 0 => r(SfenceInval, raw),
                _ => Insn::illegal(raw, 4),
            }
        }
        1 => csr_insn(Csrrw),
        2 => csr_insn(Csrrs),
        3 => csr_insn(Csrrc),
        5 => csr_insn(Csrrwi),
        6 => csr_insn(Csrrsi),
        7 => csr_insn(Csrrci),
        _ => Insn::illegal(raw, 4),
    }
}

fn decode_atomic(raw: u32) -> Insn {
    use Op::*;
    let f3 = bits(raw, 14, 12);
    let f5 = bits(raw, 31, 27);
    let word = match f3 {
        2 => true,
        3 => false,
        _ => return Insn::illegal(raw, 4),
    };
    let amo = |a: AmoOp| Insn { imm: a as i64, ..r(if word { AmoW } else { AmoD }, raw) };
    match f5 {
        0x02 if bits(raw, 24, 20) == 0 => r(if word { LrW } else { LrD }, raw),
        0x03 => r(if word { ScW } else { ScD }, raw),
        0x01 => amo(AmoOp::Swap),
        0x00 => amo(AmoOp::Add),
        0x04 => amo(AmoOp::Xor),
        0x0c => amo(AmoOp::And),
        0x08 => amo(AmoOp::Or),
        0x10 => amo(AmoOp::Min),
        0x14 => amo(AmoOp::Max),
        0x18 => amo(AmoOp::Minu),
        0x1c => amo(AmoOp::Maxu),
        _ => Insn::illegal(raw, 4),
    }
}

/// Packs an FP instruction's format (bit 8: D) and rounding-mode field (bits 16..19) into `imm`.
pub fn pack_fp(fmt: crate::arch::riscv::fpu::FpFmt, rm: u32) -> i64 {
    ((fmt.field() as i64) << 8) | ((rm as i64) << 16)
}

/// The format [`pack_fp`] put in an `Fp` instruction's immediate.
pub fn fp_format(imm: i64) -> crate::arch::riscv::fpu::FpFmt {
    crate::arch::riscv::fpu::FpFmt::from_field(((imm >> 8) & 3) as u32).unwrap_or(crate::arch::riscv::fpu::FpFmt::S)
}

fn fp_insn(raw: u32, op: crate::arch::riscv::fpu::FpOp, fmt: crate::arch::riscv::fpu::FpFmt, rm: u32) -> Insn {
    Insn { fp: op, imm: pack_fp(fmt, rm), ..r(Op::Fp, raw) }
}

fn decode_fma(raw: u32) -> Insn {
    use crate::arch::riscv::fpu::{FpFmt, FpOp};
    let Some(fmt) = FpFmt::from_field(bits(raw, 26, 25)) else { return Insn::illegal(raw, 4) };
    let op = match bits(raw, 6, 0) {
        0x43 => FpOp::MAdd,
        0x47 => FpOp::MSub,
        0x4b => FpOp::NMSub,
        _ => FpOp::NMAdd,
    };
    fp_insn(raw, op, fmt, bits(raw, 14, 12))
}

fn decode_fp(raw: u32) -> Insn {
    use crate::arch::riscv::fpu::{FpFmt, FpOp::*};
    let f7 = bits(raw, 31, 25);
    let rm = bits(raw, 14, 12);
    let rs2 = bits(raw, 24, 20);
    let ill = || Insn::illegal(raw, 4);
    let Some(fmt) = FpFmt::from_field(f7 & 3) else { return ill() };
    let op = match f7 >> 2 {
        0x00 => Add,
        0x01 => Sub,
        0x02 => Mul,
        0x03 => Div,
        0x0b if rs2 == 0 => Sqrt,
        0x04 => match rm {
            0 => SgnJ,
            1 => SgnJN,
            2 => SgnJX,
            _ => return ill(),
        },
        0x05 => match rm {
            0 => Min,
            1 => Max,
            2 => MinM,
            3 => MaxM,
            _ => return ill(),
        },
        // fcvt between formats: the destination's in fmt, the source's in rs2; Zfa's rounding.
        0x08 if rs2 == 4 => Round,
        0x08 if rs2 == 5 => RoundNx,
        0x08 => match FpFmt::from_field(rs2) {
            Some(FpFmt::S) if fmt != FpFmt::S => CvtFromS,
            Some(FpFmt::D) if fmt != FpFmt::D => CvtFromD,
            Some(FpFmt::H) if fmt != FpFmt::H => CvtFromH,
            _ => return ill(),
        },
        0x14 => match rm {
            0 => Le,
            1 => Lt,
            2 => Eq,
            4 => LtQ,
            5 => LeQ,
            _ => return ill(),
        },
        0x18 if rs2 == 8 && rm == 1 && fmt == FpFmt::D => CvtModWFromD,
        0x18 => match rs2 {
            0 => CvtWFromF,
            1 => CvtWuFromF,
            2 => CvtLFromF,
            3 => CvtLuFromF,
            _ => return ill(),
        },
        0x1a => match rs2 {
            0 => CvtFromW,
            1 => CvtFromWu,
            2 => CvtFromL,
            3 => CvtFromLu,
            _ => return ill(),
        },
        0x1c if rs2 == 0 => match rm {
            0 => MvXFromF,
            1 => Class,
            _ => return ill(),
        },
        0x1e if rs2 == 0 && rm == 0 => MvFFromX,
        0x1e if rs2 == 1 && rm == 0 => Fli,
        _ => return ill(),
    };
    fp_insn(raw, op, fmt, rm)
}

/// Expands a compressed instruction (RVC, RV64 quadrant maps).
fn decode_compressed(c: u16) -> Insn {
    use Op::*;
    let raw = c as u32;
    let b = |hi, lo| bits(raw, hi, lo);
    let rdp = (b(4, 2) + 8) as u8; // rd'/rs2'
    let rs1p = (b(9, 7) + 8) as u8; // rs1'/rd'
    let rd = b(11, 7) as u8;
    let rs2 = b(6, 2) as u8;
    let ins = |op: Op, rd: u8, rs1: u8, rs2: u8, imm: i64| Insn {
        op,
        rd,
        rs1,
        rs2,
        rs3: 0,
        len: 2,
        fp: crate::arch::riscv::fpu::FpOp::Add,
        imm,
        raw,
    };
    let ill = Insn::illegal(raw, 2);
    // Immediates shared by several forms.
    let ci_imm = sext((b(12, 12) << 5) | b(6, 2), 6);
    let lwsp_off = ((b(12, 12) << 5) | (b(6, 4) << 2) | (b(3, 2) << 6)) as i64;
    let ldsp_off = ((b(12, 12) << 5) | (b(6, 5) << 3) | (b(4, 2) << 6)) as i64;
    let swsp_off = ((b(12, 9) << 2) | (b(8, 7) << 6)) as i64;
    let sdsp_off = ((b(12, 10) << 3) | (b(9, 7) << 6)) as i64;
    let lw_off = ((b(12, 10) << 3) | (b(6, 6) << 2) | (b(5, 5) << 6)) as i64;
    let ld_off = ((b(12, 10) << 3) | (b(6, 5) << 6)) as i64;
    let j_off = sext(
        (b(12, 12) << 11)
            | (b(11, 11) << 4)
            | (b(10, 9) << 8)
            | (b(8, 8) << 10)
            | (b(7, 7) << 6)
            | (b(6, 6) << 7)
            | (b(5, 3) << 1)
            | (b(2, 2) << 5),
        12,
    );
    let br_off = sext((b(12, 12) << 8) | (b(11, 10) << 3) | (b(6, 5) << 6) | (b(4, 3) << 1) | (b(2, 2) << 5), 9);
    let shamt = ((b(12, 12) << 5) | b(6, 2)) as i64;
    match (b(1, 0), b(15, 13)) {
        (0, 0) => {
            let nzuimm = ((b(12, 11) << 4) | (b(10, 7) << 6) | (b(6, 6) << 2) | (b(5, 5) << 3)) as i64;
            if nzuimm == 0 {
                ill
            } else {
                ins(Addi, rdp, 2, 0, nzuimm) // c.addi4spn
            }
        }
        (0, 1) => ins(Fld, rdp, rs1p, 0, ld_off),
        (0, 2) => ins(Lw, rdp, rs1p, 0, lw_off),
        (0, 3) => ins(Ld, rdp, rs1p, 0, ld_off),
        // Zcb's byte and halfword loads and stores (executes_insn turns them off without Zcb).
        (0, 4) => {
            let byte_off = ((b(5, 5) << 1) | b(6, 6)) as i64;
            let half_off = (b(5, 5) << 1) as i64;
            match (b(12, 10), b(6, 6)) {
                (0, _) => ins(Lbu, rdp, rs1p, 0, byte_off),
                (1, 0) => ins(Lhu, rdp, rs1p, 0, half_off),
                (1, _) => ins(Lh, rdp, rs1p, 0, half_off),
                (2, _) => ins(Sb, 0, rs1p, rdp, byte_off),
                (3, 0) => ins(Sh, 0, rs1p, rdp, half_off),
                _ => ill,
            }
        }
        (0, 5) => ins(Fsd, 0, rs1p, rdp, ld_off),
        (0, 6) => ins(Sw, 0, rs1p, rdp, lw_off),
        (0, 7) => ins(Sd, 0, rs1p, rdp, ld_off),
        (1, 0) => ins(Addi, rd, rd, 0, ci_imm), // c.addi / c.nop
        (1, 1) if rd != 0 => ins(Addiw, rd, rd, 0, ci_imm),
        (1, 2) => ins(Addi, rd, 0, 0, ci_imm), // c.li
        (1, 3) if rd == 2 => {
            let imm = sext((b(12, 12) << 9) | (b(6, 6) << 4) | (b(5, 5) << 6) | (b(4, 3) << 7) | (b(2, 2) << 5), 10);
            if imm == 0 {
                ill
            } else {
                ins(Addi, 2, 2, 0, imm) // c.addi16sp
            }
        }
        (1, 3) if ci_imm != 0 => ins(Lui, rd, 0, 0, ci_imm << 12),
        (1, 4) => match b(11, 10) {
            0 => ins(Srli, rs1p, rs1p, 0, shamt),
            1 => ins(Srai, rs1p, rs1p, 0, shamt),
            2 => ins(Andi, rs1p, rs1p, 0, ci_imm),
            _ => {
                let op = match (b(12, 12), b(6, 5)) {
                    (0, 0) => Sub,
                    (0, 1) => Xor,
                    (0, 2) => Or,
                    (0, 3) => And,
                    (1, 0) => Subw,
                    (1, 1) => Addw,
                    (1, 2) => Mul, // Zcb's c.mul
                    (1, _) => return zcb_unary(b(4, 2)).map_or(ill, |(op, imm)| ins(op, rs1p, rs1p, 0, imm)),
                    _ => return ill,
                };
                ins(op, rs1p, rs1p, rdp, 0)
            }
        },
        (1, 5) => ins(Jal, 0, 0, 0, j_off),
        (1, 6) => ins(Beq, 0, rs1p, 0, br_off),
        (1, 7) => ins(Bne, 0, rs1p, 0, br_off),
        (2, 0) => ins(Slli, rd, rd, 0, shamt),
        (2, 1) => ins(Fld, rd, 2, 0, ldsp_off),
        (2, 2) if rd != 0 => ins(Lw, rd, 2, 0, lwsp_off),
        (2, 3) if rd != 0 => ins(Ld, rd, 2, 0, ldsp_off),
        (2, 4) => match (b(12, 12), rd, rs2) {
            (0, 0, 0) => ill,
            (0, 0, _) => ins(Add, 0, 0, rs2, 0),  // c.mv x0: a hint
            (0, _, 0) => ins(Jalr, 0, rd, 0, 0),  // c.jr
            (0, _, _) => ins(Add, rd, 0, rs2, 0), // c.mv
            (1, 0, 0) => Insn { op: Ebreak, ..ins(Ebreak, 0, 0, 0, 0) },
            (1, _, 0) => ins(Jalr, 1, rd, 0, 0), // c.jalr
            _ => ins(Add, rd, rd, rs2, 0),
        },
        (2, 5) => ins(Fsd, 0, 2, rs2, sdsp_off),
        (2, 6) => ins(Sw, 0, 2, rs2, swsp_off),
        (2, 7) => ins(Sd, 0, 2, rs2, sdsp_off),
        _ => ill,
    }
}

/// Zcb's one-register operations (`c.zext.b` .. `c.not`, by bits 4..2) as the base operation and immediate they
/// expand to: `andi rd,rd,0xff`, `sext.b`, `zext.h`, `sext.h`, `add.uw rd,rd,x0`, `xori rd,rd,-1`.
fn zcb_unary(selector: u32) -> Option<(Op, i64)> {
    use Op::*;
    Some(match selector {
        0 => (Andi, 0xff),
        1 => (SextB, 0),
        2 => (ZextH, 0),
        3 => (SextH, 0),
        4 => (AddUw, 0),
        5 => (Xori, -1),
        _ => return None,
    })
}

/// Whether a 16-bit encoding is one of Zcb's (quadrant 0 with funct3 4, or quadrant 1's `c.mul` and one-register
/// forms), which a hart without Zcb refuses.
pub fn is_zcb(c: u16) -> bool {
    let raw = u32::from(c);
    match (bits(raw, 1, 0), bits(raw, 15, 13)) {
        (0, 4) => true,
        (1, 4) => bits(raw, 12, 10) == 7 && bits(raw, 6, 5) >= 2,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base_formats_with_sign_extended_immediates() {
        // addi a0, a0, -1
        let i = decode(0xfff5_0513);
        assert_eq!((i.op, i.rd, i.rs1, i.imm), (Op::Addi, 10, 10, -1));
        // sd ra, 8(sp)
        let s = decode(0x0011_3423);
        assert_eq!((s.op, s.rs1, s.rs2, s.imm), (Op::Sd, 2, 1, 8));
        // beq x0, x0, -4
        assert_eq!(decode(0xfe00_0ee3).imm, -4);
        // jal ra, 2048
        let j = decode(0x0010_00ef);
        assert_eq!((j.op, j.rd, j.imm), (Op::Jal, 1, 2048));
        // lui a0, 0x80000 sign-extends on RV64
        assert_eq!(decode(0x8000_0537).imm, -0x8000_0000);
    }

    #[test]
    fn pause_and_fence_tso_are_fences() {
        assert_eq!(decode(0x0100_000f).op, Op::Fence);
        assert_eq!(decode(0x8330_000f).op, Op::Fence);
    }

    #[test]
    fn compressed_forms_expand_to_base_operations() {
        // c.addi16sp sp, -64  => 0x7139
        let i = decode(0x7139);
        assert_eq!((i.op, i.rd, i.rs1, i.imm, i.len), (Op::Addi, 2, 2, -64, 2));
        // c.sdsp ra, 56(sp) => 0xfc06
        let s = decode(0xfc06);
        assert_eq!((s.op, s.rs1, s.rs2, s.imm), (Op::Sd, 2, 1, 56));
        // c.ldsp ra, 56(sp) => 0x70e2
        let l = decode(0x70e2);
        assert_eq!((l.op, l.rd, l.rs1, l.imm), (Op::Ld, 1, 2, 56));
        // c.j -2 => 0xbffd
        assert_eq!(decode(0xbffd).imm, -2);
        // c.li a0, -1 => 0x557d
        let li = decode(0x557d);
        assert_eq!((li.op, li.rd, li.imm), (Op::Addi, 10, -1));
        // c.ebreak 0x9002, c.jr ra 0x8082
        assert_eq!(decode(0x9002).op, Op::Ebreak);
        let ret = decode(0x8082);
        assert_eq!((ret.op, ret.rd, ret.rs1), (Op::Jalr, 0, 1));
        // c.lui a5, 0xfffe0 => 0x7781 (imm -32 << 12)
        assert_eq!(decode(0x7781).imm, -0x20000);
        // the all-zero halfword is illegal
        assert_eq!(decode(0).op, Op::Illegal);
    }

    #[test]
    fn zcb_forms_expand_to_base_operations() {
        use Op::*;
        let cases: [(u16, Op, u8, u8, u8, i64); 10] = [
            (0x81e8, Lbu, 10, 11, 0, 3), // c.lbu a0, 3(a1)
            (0x85a8, Lhu, 10, 11, 0, 2), // c.lhu a0, 2(a1)
            (0x85e8, Lh, 10, 11, 0, 2),  // c.lh a0, 2(a1)
            (0x89d0, Sb, 0, 11, 12, 1),  // c.sb a2, 1(a1)
            (0x8db0, Sh, 0, 11, 12, 2),  // c.sh a2, 2(a1)
            (0x9d61, Andi, 10, 10, 0, 0xff),
            (0x9d65, SextB, 10, 10, 0, 0),
            (0x9d71, AddUw, 10, 10, 0, 0),
            (0x9d75, Xori, 10, 10, 0, -1),
            (0x9d4d, Mul, 10, 10, 11, 0), // c.mul a0, a1
        ];
        for (raw, op, rd, rs1, rs2, imm) in cases {
            let i = decode(u32::from(raw));
            assert_eq!((i.op, i.rd, i.rs1, i.rs2, i.imm, i.len), (op, rd, rs1, rs2, imm, 2), "{raw:#x}");
            assert!(is_zcb(raw), "{raw:#x}");
        }
        for reserved in [0x9d79u16, 0x9d7d, 0x8df0] {
            assert_eq!(decode(u32::from(reserved)).op, Illegal, "{reserved:#x}");
        }
        assert!(!is_zcb(0x8d0d) && !is_zcb(0x4108), "c.sub and c.lw are not Zcb's");
        assert_eq!(decode(0x00d0_0073).op, WrsNto);
        assert_eq!(decode(0x01d0_0073).op, WrsSto);
    }

    #[test]
    fn compressed_branch_offsets() {
        // c.beqz a0, +8 => 0xc501
        let b = decode(0xc501);
        assert_eq!((b.op, b.rs1, b.imm), (Op::Beq, 10, 8));
        // c.bnez a5, -16 => 0xfbe5
        let b = decode(0xfbe5);
        assert_eq!((b.op, b.rs1, b.imm), (Op::Bne, 15, -16));
    }
}
