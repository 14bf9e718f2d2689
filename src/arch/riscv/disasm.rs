//! Disassembly in GNU objdump's syntax (binutils 2.40, `objdump -d` with its default aliases), so a listing from
//! the debugger can be diffed against one from the toolchain.
//!
//! The text is built from the decoder's [`Insn`], so it shows what the interpreter executes; encodings the
//! decoder rejects print as objdump prints data (`.4byte 0x...`). A few fields the decoder does not keep (the
//! compressed form of a hint, fence bits, AMO ordering bits, the rounding mode) are read back from the raw bits.
//! binutils 2.40 prints the register-register mnemonic for immediate forms (`add a0,a0,-16`, `sll a0,a0,0x3`,
//! `csrs sstatus,2`) and shift amounts in hex; that is copied here as it is.

use super::decode::{decode_operation, AmoOp, Insn, Op};
use super::fpu::{FpFmt, FpOp};
use super::regs::F_NAMES;

/// One disassembled instruction: its length in bytes and its text in GNU objdump's syntax.
pub fn disassemble(raw: u32, pc: u64) -> (u8, String) {
    let insn = decode_operation(raw);
    let text = if insn.len == 2 { compressed(&insn, pc) } else { full(&insn, pc) };
    (insn.len, text)
}

/// An integer register's ABI name as objdump prints it.
fn x(r: u8) -> &'static str {
    super::regs::abi_name(usize::from(r))
}

fn f(r: u8) -> &'static str {
    F_NAMES.get(usize::from(r)).copied().unwrap_or("?")
}

/// A branch or jump target: objdump prints the absolute address in bare hex.
fn target(pc: u64, offset: i64) -> String {
    format!("{:x}", pc.wrapping_add(offset as u64))
}

fn bits(raw: u32, hi: u32, lo: u32) -> u32 {
    (raw >> lo) & ((1 << (hi - lo + 1)) - 1)
}

fn illegal_word(raw: u32) -> String {
    format!(".4byte 0x{raw:x}")
}

/// A 16-bit encoding. Most print as their 32-bit expansion; objdump names the hints (writes to x0, zero
/// shifts) by their compressed mnemonic and prints `c.addi rd,0` as `add`, not `mv`.
fn compressed(i: &Insn, pc: u64) -> String {
    let c = i.raw & 0xffff;
    if i.op == Op::Illegal {
        return if c == 0 { "unimp".to_string() } else { format!(".2byte 0x{c:x}") };
    }
    let rd = bits(c, 11, 7) as u8;
    let rs2 = bits(c, 6, 2) as u8;
    let shamt = (bits(c, 12, 12) << 5) | bits(c, 6, 2);
    // (quadrant, funct3) as in the RVC opcode map (unprivileged spec, chapter 16.8).
    match (bits(c, 1, 0), bits(c, 15, 13)) {
        // c.addi; with rd = x0 a hint, with imm = 0 as well the canonical nop.
        (1, 0) if rd == 0 && i.imm == 0 => "nop".to_string(),
        (1, 0) if rd == 0 => format!("c.nop {}", i.imm),
        (1, 0) => format!("add {0},{0},{1}", x(rd), i.imm),
        // c.li, c.lui to x0: hints.
        (1, 2) if rd == 0 => format!("c.li zero,{}", i.imm),
        (1, 3) if rd == 0 => format!("c.lui zero,0x{:x}", (i.imm >> 12) & 0xfffff),
        // c.srli, c.srai, c.slli by 0, and c.slli to x0: hints.
        (1, 4) if bits(c, 11, 11) == 0 && shamt == 0 => {
            let name = if bits(c, 10, 10) == 0 { "c.srli64" } else { "c.srai64" };
            format!("{name} {}", x(i.rd))
        }
        (2, 0) if shamt == 0 => format!("c.slli64 {}", x(rd)),
        (2, 0) if rd == 0 => format!("c.slli zero,0x{shamt:x}"),
        // c.mv (expanded to `add rd,x0,rs2`, which objdump would not call `mv`) and c.add to x0.
        (2, 4) if bits(c, 12, 12) == 0 && rs2 != 0 && rd == 0 => format!("c.mv zero,{}", x(rs2)),
        (2, 4) if bits(c, 12, 12) == 0 && rs2 != 0 => format!("mv {},{}", x(rd), x(rs2)),
        (2, 4) if rs2 != 0 && rd == 0 => format!("c.add zero,{}", x(rs2)),
        _ if crate::arch::riscv::decode::is_zcb(c as u16) => zcb(i),
        _ => full(i, pc),
    }
}

/// Zcb's forms, by the names its specification gives them (binutils 2.41 and later print these).
fn zcb(i: &Insn) -> String {
    use Op::*;
    let (rd, rs1, rs2) = (x(i.rd), x(i.rs1), x(i.rs2));
    match i.op {
        Lbu | Lhu | Lh => format!("c.{} {rd},{}({rs1})", memory_mnemonic(i.op), i.imm),
        Sb | Sh => format!("c.{} {rs2},{}({rs1})", memory_mnemonic(i.op), i.imm),
        Mul => format!("c.mul {rd},{rs2}"),
        Andi => format!("c.zext.b {rd}"),
        Xori => format!("c.not {rd}"),
        AddUw => format!("c.zext.w {rd}"),
        _ => format!("c.{} {rd}", bitmanip_mnemonic(i.op)),
    }
}

/// A 32-bit encoding, or the expansion of a compressed one.
fn full(i: &Insn, pc: u64) -> String {
    use Op::*;
    let (rd, rs1, rs2) = (x(i.rd), x(i.rs1), x(i.rs2));
    match i.op {
        Illegal => illegal_word(i.raw),
        Lui => format!("lui {rd},0x{:x}", (i.imm >> 12) & 0xfffff),
        Auipc => format!("auipc {rd},0x{:x}", (i.imm >> 12) & 0xfffff),
        Jal => jal(i, pc),
        Jalr => jalr(i),
        Beq | Bne | Blt | Bge | Bltu | Bgeu => branch(i, pc),
        Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => format!("{} {rd},{}({rs1})", memory_mnemonic(i.op), i.imm),
        Sb | Sh | Sw | Sd => format!("{} {rs2},{}({rs1})", memory_mnemonic(i.op), i.imm),
        Flw | Fld | Flh => format!("{} {},{}({rs1})", memory_mnemonic(i.op), f(i.rd), i.imm),
        Fsw | Fsd | Fsh => format!("{} {},{}({rs1})", memory_mnemonic(i.op), f(i.rs2), i.imm),
        Addi | Slti | Sltiu | Xori | Ori | Andi | Slli | Srli | Srai | Addiw | Slliw | Srliw | Sraiw => op_imm(i),
        Clz | Clzw | Ctz | Ctzw | Cpop | Cpopw | SextB | SextH | ZextH | OrcB | Rev8 | Brev8 => {
            format!("{} {rd},{rs1}", bitmanip_mnemonic(i.op))
        }
        AddUw if i.rs2 == 0 => format!("zext.w {rd},{rs1}"),
        SlliUw => format!("slli.uw {rd},{rs1},0x{:x}", i.imm),
        // objdump names the immediate forms by the register form's mnemonic, as it does `slli`.
        Rori | Roriw | Bclri | Bexti | Binvi | Bseti => format!("{} {rd},{rs1},0x{:x}", bitmanip_mnemonic(i.op), i.imm),
        op if op.is_bitmanip() => format!("{} {rd},{rs1},{rs2}", bitmanip_mnemonic(op)),
        Fence => fence(i.raw),
        FenceI if i.raw == 0x0000_100f => "fence.i".to_string(),
        FenceI => illegal_word(i.raw),
        Ecall => "ecall".to_string(),
        Ebreak => "ebreak".to_string(),
        Mret => "mret".to_string(),
        Sret => "sret".to_string(),
        Wfi => "wfi".to_string(),
        WrsNto => "wrs.nto".to_string(),
        WrsSto => "wrs.sto".to_string(),
        SfenceVma => match (i.rs1, i.rs2) {
            (0, 0) => "sfence.vma".to_string(),
            (_, 0) => format!("sfence.vma {rs1}"),
            _ => format!("sfence.vma {rs1},{rs2}"),
        },
        SinvalVma => format!("sinval.vma {rs1},{rs2}"),
        SfenceInval if i.rs2 == 0 => "sfence.w.inval".to_string(),
        SfenceInval => "sfence.inval.ir".to_string(),
        CboClean => format!("cbo.clean ({rs1})"),
        CboFlush => format!("cbo.flush ({rs1})"),
        CboInval => format!("cbo.inval ({rs1})"),
        CboZero => format!("cbo.zero ({rs1})"),
        Csrrw | Csrrs | Csrrc | Csrrwi | Csrrsi | Csrrci => csr(i),
        LrW | LrD => format!("{}{} {rd},({rs1})", if i.op == LrW { "lr.w" } else { "lr.d" }, ordering(i.raw)),
        ScW | ScD => format!("{}{} {rd},{rs2},({rs1})", if i.op == ScW { "sc.w" } else { "sc.d" }, ordering(i.raw)),
        AmoW | AmoD => {
            let width = if i.op == AmoW { "w" } else { "d" };
            format!("amo{}.{width}{} {rd},{rs2},({rs1})", amo_name(AmoOp::from_index(i.imm)), ordering(i.raw))
        }
        Fp => fp(i),
        // `decode_operation` does not fold hints into `Nop`; an all-zero `addi` is what one would be.
        Nop => "nop".to_string(),
        _ => op_reg(i),
    }
}

/// Zba, Zbb, Zbc, Zbkb, Zbs and Zicond mnemonics; an immediate form has its register form's.
fn bitmanip_mnemonic(op: Op) -> &'static str {
    use Op::*;
    match op {
        Sh1add => "sh1add",
        Sh2add => "sh2add",
        Sh3add => "sh3add",
        AddUw => "add.uw",
        Sh1addUw => "sh1add.uw",
        Sh2addUw => "sh2add.uw",
        Sh3addUw => "sh3add.uw",
        SlliUw => "slli.uw",
        Andn => "andn",
        Orn => "orn",
        Xnor => "xnor",
        Clz => "clz",
        Clzw => "clzw",
        Ctz => "ctz",
        Ctzw => "ctzw",
        Cpop => "cpop",
        Cpopw => "cpopw",
        Max => "max",
        Maxu => "maxu",
        Min => "min",
        Minu => "minu",
        SextB => "sext.b",
        SextH => "sext.h",
        ZextH => "zext.h",
        Rol => "rol",
        Rolw => "rolw",
        Ror | Rori => "ror",
        Rorw | Roriw => "rorw",
        OrcB => "orc.b",
        Rev8 => "rev8",
        Clmul => "clmul",
        Clmulh => "clmulh",
        Clmulr => "clmulr",
        Pack => "pack",
        Packh => "packh",
        Packw => "packw",
        Brev8 => "brev8",
        Bclr | Bclri => "bclr",
        Bext | Bexti => "bext",
        Binv | Binvi => "binv",
        CzeroEqz => "czero.eqz",
        CzeroNez => "czero.nez",
        _ => "bset",
    }
}

fn memory_mnemonic(op: Op) -> &'static str {
    use Op::*;
    match op {
        Lb => "lb",
        Lh => "lh",
        Lw => "lw",
        Ld => "ld",
        Lbu => "lbu",
        Lhu => "lhu",
        Lwu => "lwu",
        Sb => "sb",
        Sh => "sh",
        Sw => "sw",
        Sd => "sd",
        Flw => "flw",
        Flh => "flh",
        Fsh => "fsh",
        Fld => "fld",
        Fsw => "fsw",
        _ => "fsd",
    }
}

fn jal(i: &Insn, pc: u64) -> String {
    let to = target(pc, i.imm);
    match i.rd {
        0 => format!("j {to}"),
        1 => format!("jal {to}"),
        rd => format!("jal {},{to}", x(rd)),
    }
}

/// objdump's `jalr` aliases: `ret`, `jr` for rd = x0, the short `jalr` forms for rd = ra.
fn jalr(i: &Insn) -> String {
    let (rd, rs1, imm) = (x(i.rd), x(i.rs1), i.imm);
    match (i.rd, i.rs1, imm) {
        (0, 1, 0) => "ret".to_string(),
        (0, _, 0) => format!("jr {rs1}"),
        (0, _, _) => format!("jr {imm}({rs1})"),
        (1, _, 0) => format!("jalr {rs1}"),
        (1, _, _) => format!("jalr {imm}({rs1})"),
        (_, _, 0) => format!("jalr {rd},{rs1}"),
        _ => format!("jalr {rd},{imm}({rs1})"),
    }
}

/// Conditional branches, with objdump's compare-with-zero aliases (it never swaps operands into
/// `bgt`/`ble`).
fn branch(i: &Insn, pc: u64) -> String {
    use Op::*;
    let (rs1, rs2, to) = (x(i.rs1), x(i.rs2), target(pc, i.imm));
    let zero_alias = match (i.op, i.rs1, i.rs2) {
        (Beq, _, 0) => Some(("beqz", rs1)),
        (Bne, _, 0) => Some(("bnez", rs1)),
        (Bge, 0, _) => Some(("blez", rs2)),
        (Bge, _, 0) => Some(("bgez", rs1)),
        (Blt, _, 0) => Some(("bltz", rs1)),
        (Blt, 0, _) => Some(("bgtz", rs2)),
        _ => None,
    };
    if let Some((name, reg)) = zero_alias {
        return format!("{name} {reg},{to}");
    }
    let name = match i.op {
        Beq => "beq",
        Bne => "bne",
        Blt => "blt",
        Bge => "bge",
        Bltu => "bltu",
        _ => "bgeu",
    };
    format!("{name} {rs1},{rs2},{to}")
}

/// Register-immediate arithmetic. binutils 2.40 picks the register-register mnemonic with an immediate
/// operand (`add`, `and`, `sll`, ...) except where a dedicated alias exists; shift amounts print in hex.
fn op_imm(i: &Insn) -> String {
    use Op::*;
    let (rd, rs1, imm) = (x(i.rd), x(i.rs1), i.imm);
    match i.op {
        Addi if i.rd == 0 && i.rs1 == 0 && imm == 0 => "nop".to_string(),
        Addi if i.rs1 == 0 => format!("li {rd},{imm}"),
        Addi if imm == 0 => format!("mv {rd},{rs1}"),
        Sltiu if imm == 1 => format!("seqz {rd},{rs1}"),
        Xori if imm == -1 => format!("not {rd},{rs1}"),
        Andi if imm == 255 => format!("zext.b {rd},{rs1}"),
        Addiw if imm == 0 => format!("sext.w {rd},{rs1}"),
        Slli | Srli | Srai | Slliw | Srliw | Sraiw => {
            let name = match i.op {
                Slli => "sll",
                Srli => "srl",
                Srai => "sra",
                Slliw => "sllw",
                Srliw => "srlw",
                _ => "sraw",
            };
            format!("{name} {rd},{rs1},0x{imm:x}")
        }
        _ => {
            let name = match i.op {
                Addi => "add",
                Slti => "slti",
                Sltiu => "sltiu",
                Xori => "xor",
                Ori => "or",
                Andi => "and",
                _ => "addw",
            };
            format!("{name} {rd},{rs1},{imm}")
        }
    }
}

/// Register-register arithmetic, with objdump's aliases for a zero operand.
fn op_reg(i: &Insn) -> String {
    use Op::*;
    let (rd, rs1, rs2) = (x(i.rd), x(i.rs1), x(i.rs2));
    match (i.op, i.rs1, i.rs2) {
        (Sub, 0, _) => return format!("neg {rd},{rs2}"),
        (Subw, 0, _) => return format!("negw {rd},{rs2}"),
        (Sltu, 0, _) => return format!("snez {rd},{rs2}"),
        (Slt, _, 0) => return format!("sltz {rd},{rs1}"),
        (Slt, 0, _) => return format!("sgtz {rd},{rs2}"),
        _ => {}
    }
    format!("{} {rd},{rs1},{rs2}", reg_mnemonic(i.op))
}

fn reg_mnemonic(op: Op) -> &'static str {
    use Op::*;
    match op {
        Add => "add",
        Sub => "sub",
        Sll => "sll",
        Slt => "slt",
        Sltu => "sltu",
        Xor => "xor",
        Srl => "srl",
        Sra => "sra",
        Or => "or",
        And => "and",
        Addw => "addw",
        Subw => "subw",
        Sllw => "sllw",
        Srlw => "srlw",
        Sraw => "sraw",
        Mul => "mul",
        Mulh => "mulh",
        Mulhsu => "mulhsu",
        Mulhu => "mulhu",
        Div => "div",
        Divu => "divu",
        Rem => "rem",
        Remu => "remu",
        Mulw => "mulw",
        Divw => "divw",
        Divuw => "divuw",
        Remw => "remw",
        _ => "remuw",
    }
}

/// `fence pred,succ`. objdump accepts only fm = 0 (or exactly `fence.tso`) with rd = rs1 = x0, and names
/// the all-ones fence and `pause` (Zihintpause) by themselves.
fn fence(raw: u32) -> String {
    match raw {
        0x0ff0_000f => return "fence".to_string(),
        0x8330_000f => return "fence.tso".to_string(),
        0x0100_000f => return "pause".to_string(),
        _ => {}
    }
    if bits(raw, 31, 28) != 0 || bits(raw, 19, 15) != 0 || bits(raw, 11, 7) != 0 {
        return illegal_word(raw);
    }
    format!("fence {},{}", fence_set(bits(raw, 27, 24)), fence_set(bits(raw, 23, 20)))
}

fn fence_set(set: u32) -> String {
    if set == 0 {
        return "unknown".to_string();
    }
    "iorw".chars().enumerate().filter(|(n, _)| set & (8 >> n) != 0).map(|(_, c)| c).collect()
}

/// The `.aq`/`.rl`/`.aqrl` suffix of an LR, SC or AMO (bits 26 and 25).
fn ordering(raw: u32) -> &'static str {
    match bits(raw, 26, 25) {
        0 => "",
        1 => ".rl",
        2 => ".aq",
        _ => ".aqrl",
    }
}

fn amo_name(op: AmoOp) -> &'static str {
    match op {
        AmoOp::Swap => "swap",
        AmoOp::Add => "add",
        AmoOp::Xor => "xor",
        AmoOp::And => "and",
        AmoOp::Or => "or",
        AmoOp::Min => "min",
        AmoOp::Max => "max",
        AmoOp::Minu => "minu",
        AmoOp::Maxu => "maxu",
    }
}

/// CSR instructions with objdump's aliases: `csrr`/`csrw`/`csrs`/`csrc` when a side is x0, the FP-CSR and
/// counter shorthands, and `unimp` for `csrrw x0,cycle,x0`.
fn csr(i: &Insn) -> String {
    use Op::*;
    if i.raw == 0xc000_1073 {
        return "unimp".to_string();
    }
    let number = (i.imm & 0xfff) as u16;
    let rd = x(i.rd);
    // rs1 is a register for csrrw/s/c and a 5-bit immediate for the `i` forms.
    let src = if matches!(i.op, Csrrwi | Csrrsi | Csrrci) { i.rs1.to_string() } else { x(i.rs1).to_string() };
    if let Some(text) = csr_shorthand(i, number, rd, &src) {
        return text;
    }
    let name = csr_name(number);
    let (short, long) = match i.op {
        Csrrw | Csrrwi => ("csrw", "csrrw"),
        Csrrs | Csrrsi => ("csrs", "csrrs"),
        _ => ("csrc", "csrrc"),
    };
    match i.op {
        Csrrs if i.rs1 == 0 => format!("csrr {rd},{name}"),
        _ if i.rd == 0 => format!("{short} {name},{src}"),
        _ => format!("{long} {rd},{name},{src}"),
    }
}

/// The F extension's CSR shorthands: (CSR, read, write, write immediate).
const FP_CSR_SHORTHANDS: [(u16, &str, &str, Option<&str>); 3] = [
    (0x001, "frflags", "fsflags", Some("fsflagsi")),
    (0x002, "frrm", "fsrm", Some("fsrmi")),
    (0x003, "frcsr", "fscsr", None),
];

/// The counter reads objdump names on RV64 (the `...h` ones are RV32 only).
const COUNTER_READS: [(u16, &str); 3] = [(0xc00, "rdcycle"), (0xc01, "rdtime"), (0xc02, "rdinstret")];

fn csr_shorthand(i: &Insn, number: u16, rd: &str, src: &str) -> Option<String> {
    if i.op == Op::Csrrs && i.rs1 == 0 {
        let fp = FP_CSR_SHORTHANDS.iter().find(|s| s.0 == number).map(|s| s.1);
        let counter = COUNTER_READS.iter().find(|c| c.0 == number).map(|c| c.1);
        return fp.or(counter).map(|read| format!("{read} {rd}"));
    }
    let &(_, _, write, write_immediate) = FP_CSR_SHORTHANDS.iter().find(|s| s.0 == number)?;
    match i.op {
        Op::Csrrw if i.rd == 0 => Some(format!("{write} {src}")),
        Op::Csrrw => Some(format!("{write} {rd},{src}")),
        // objdump keeps the destination here even when it is x0 (`fsflagsi zero,0`).
        Op::Csrrwi => write_immediate.map(|name| format!("{name} {rd},{src}")),
        _ => None,
    }
}

/// A CSR's name as the GNU assembler knows it, or its number in hex.
fn csr_name(number: u16) -> String {
    if let Some((_, name)) = CSR_NAMES.iter().find(|(n, _)| *n == number) {
        return (*name).to_string();
    }
    for &(first, count, start, prefix, suffix) in CSR_FAMILIES {
        if (first..first + count).contains(&number) {
            return format!("{prefix}{}{suffix}", number - first + start);
        }
    }
    format!("0x{number:x}")
}

/// Numbered CSR families: (first number, count, index of the first, prefix, suffix).
const CSR_FAMILIES: &[(u16, u16, u16, &str, &str)] = &[
    (0x10c, 4, 0, "sstateen", ""),
    (0x30c, 4, 0, "mstateen", ""),
    (0x31c, 4, 0, "mstateen", "h"),
    (0x323, 29, 3, "mhpmevent", ""),
    (0x3a0, 16, 0, "pmpcfg", ""),
    (0x3b0, 64, 0, "pmpaddr", ""),
    (0x60c, 4, 0, "hstateen", ""),
    (0x61c, 4, 0, "hstateen", "h"),
    (0x723, 29, 3, "mhpmevent", "h"),
    (0xb03, 29, 3, "mhpmcounter", ""),
    (0xb83, 29, 3, "mhpmcounter", "h"),
    (0xc03, 29, 3, "hpmcounter", ""),
    (0xc83, 29, 3, "hpmcounter", "h"),
];

/// The CSR names binutils 2.40 disassembles (its `riscv-opc.h` list, privileged spec 1.12) outside the
/// numbered families above. A wider list than the debugger's register table (`regs::CSRS`): the assembler
/// knows every standard CSR, the debugger shows the ones the hart implements.
const CSR_NAMES: &[(u16, &str)] = &[
    (0x001, "fflags"),
    (0x002, "frm"),
    (0x003, "fcsr"),
    (0x008, "vstart"),
    (0x009, "vxsat"),
    (0x00a, "vxrm"),
    (0x00f, "vcsr"),
    (0x015, "seed"),
    (0x100, "sstatus"),
    (0x104, "sie"),
    (0x105, "stvec"),
    (0x106, "scounteren"),
    (0x10a, "senvcfg"),
    (0x114, "sieh"),
    (0x140, "sscratch"),
    (0x141, "sepc"),
    (0x142, "scause"),
    (0x143, "stval"),
    (0x144, "sip"),
    (0x14d, "stimecmp"),
    (0x150, "siselect"),
    (0x151, "sireg"),
    (0x154, "siph"),
    (0x15c, "stopei"),
    (0x15d, "stimecmph"),
    (0x180, "satp"),
    (0x200, "vsstatus"),
    (0x204, "vsie"),
    (0x205, "vstvec"),
    (0x214, "vsieh"),
    (0x240, "vsscratch"),
    (0x241, "vsepc"),
    (0x242, "vscause"),
    (0x243, "vstval"),
    (0x244, "vsip"),
    (0x24d, "vstimecmp"),
    (0x250, "vsiselect"),
    (0x251, "vsireg"),
    (0x254, "vsiph"),
    (0x25c, "vstopei"),
    (0x25d, "vstimecmph"),
    (0x280, "vsatp"),
    (0x300, "mstatus"),
    (0x301, "misa"),
    (0x302, "medeleg"),
    (0x303, "mideleg"),
    (0x304, "mie"),
    (0x305, "mtvec"),
    (0x306, "mcounteren"),
    (0x308, "mvien"),
    (0x309, "mvip"),
    (0x30a, "menvcfg"),
    (0x310, "mstatush"),
    (0x313, "midelegh"),
    (0x314, "mieh"),
    (0x318, "mvienh"),
    (0x319, "mviph"),
    (0x31a, "menvcfgh"),
    (0x320, "mcountinhibit"),
    (0x340, "mscratch"),
    (0x341, "mepc"),
    (0x342, "mcause"),
    (0x343, "mtval"),
    (0x344, "mip"),
    (0x34a, "mtinst"),
    (0x34b, "mtval2"),
    (0x350, "miselect"),
    (0x351, "mireg"),
    (0x354, "miph"),
    (0x35c, "mtopei"),
    (0x5a8, "scontext"),
    (0x600, "hstatus"),
    (0x602, "hedeleg"),
    (0x603, "hideleg"),
    (0x604, "hie"),
    (0x605, "htimedelta"),
    (0x606, "hcounteren"),
    (0x607, "hgeie"),
    (0x608, "hvien"),
    (0x609, "hvictl"),
    (0x60a, "henvcfg"),
    (0x613, "hidelegh"),
    (0x615, "htimedeltah"),
    (0x618, "hvienh"),
    (0x61a, "henvcfgh"),
    (0x643, "htval"),
    (0x644, "hip"),
    (0x645, "hvip"),
    (0x646, "hviprio1"),
    (0x647, "hviprio2"),
    (0x64a, "htinst"),
    (0x655, "hviph"),
    (0x656, "hviprio1h"),
    (0x657, "hviprio2h"),
    (0x680, "hgatp"),
    (0x6a8, "hcontext"),
    (0x747, "mseccfg"),
    (0x757, "mseccfgh"),
    (0x7a0, "tselect"),
    (0x7a1, "tdata1"),
    (0x7a2, "tdata2"),
    (0x7a3, "tdata3"),
    (0x7a4, "tinfo"),
    (0x7a5, "tcontrol"),
    (0x7a8, "mcontext"),
    (0x7aa, "mscontext"),
    (0x7b0, "dcsr"),
    (0x7b1, "dpc"),
    (0x7b2, "dscratch0"),
    (0x7b3, "dscratch1"),
    (0xb00, "mcycle"),
    (0xb02, "minstret"),
    (0xb80, "mcycleh"),
    (0xb82, "minstreth"),
    (0xc00, "cycle"),
    (0xc01, "time"),
    (0xc02, "instret"),
    (0xc20, "vl"),
    (0xc21, "vtype"),
    (0xc22, "vlenb"),
    (0xc80, "cycleh"),
    (0xc81, "timeh"),
    (0xc82, "instreth"),
    (0xda0, "scountovf"),
    (0xdb0, "stopi"),
    (0xe12, "hgeip"),
    (0xeb0, "vstopi"),
    (0xf11, "mvendorid"),
    (0xf12, "marchid"),
    (0xf13, "mimpid"),
    (0xf14, "mhartid"),
    (0xf15, "mconfigptr"),
    (0xfb0, "mtopi"),
];

/// Floating-point computation: `imm` packs the format (bit 8: D) and the rm field (bits 16..19).
fn fp(i: &Insn) -> String {
    use FpOp::*;
    let fmt = crate::arch::riscv::decode::fp_format(i.imm);
    let double = fmt == FpFmt::D;
    let rm = ((i.imm >> 16) & 7) as u8;
    let s = fmt.suffix();
    let (fd, fs1, fs2, fs3) = (f(i.rd), f(i.rs1), f(i.rs2), f(i.rs3));
    let (rd, rs1) = (x(i.rd), x(i.rs1));
    let rounded = |name: &str, operands: String| format!("{name} {operands}{}", rounding(rm));
    match i.fp {
        Add | Sub | Mul | Div => {
            let name = match i.fp {
                Add => "fadd",
                Sub => "fsub",
                Mul => "fmul",
                _ => "fdiv",
            };
            rounded(&format!("{name}.{s}"), format!("{fd},{fs1},{fs2}"))
        }
        Sqrt => rounded(&format!("fsqrt.{s}"), format!("{fd},{fs1}")),
        MAdd | MSub | NMSub | NMAdd => {
            let name = match i.fp {
                MAdd => "fmadd",
                MSub => "fmsub",
                NMSub => "fnmsub",
                _ => "fnmadd",
            };
            rounded(&format!("{name}.{s}"), format!("{fd},{fs1},{fs2},{fs3}"))
        }
        SgnJ | SgnJN | SgnJX if i.rs1 == i.rs2 => {
            let name = match i.fp {
                SgnJ => "fmv",
                SgnJN => "fneg",
                _ => "fabs",
            };
            format!("{name}.{s} {fd},{fs1}")
        }
        SgnJ | SgnJN | SgnJX | Min | Max => {
            let name = match i.fp {
                SgnJ => "fsgnj",
                SgnJN => "fsgnjn",
                SgnJX => "fsgnjx",
                Min => "fmin",
                _ => "fmax",
            };
            format!("{name}.{s} {fd},{fs1},{fs2}")
        }
        Eq | Lt | Le => {
            let name = match i.fp {
                Eq => "feq",
                Lt => "flt",
                _ => "fle",
            };
            format!("{name}.{s} {rd},{fs1},{fs2}")
        }
        Class => format!("fclass.{s} {rd},{fs1}"),
        CvtWFromF | CvtWuFromF | CvtLFromF | CvtLuFromF => {
            let int = match i.fp {
                CvtWFromF => "w",
                CvtWuFromF => "wu",
                CvtLFromF => "l",
                _ => "lu",
            };
            rounded(&format!("fcvt.{int}.{s}"), format!("{rd},{fs1}"))
        }
        CvtFromW | CvtFromWu | CvtFromL | CvtFromLu => {
            let int = match i.fp {
                CvtFromW => "w",
                CvtFromWu => "wu",
                CvtFromL => "l",
                _ => "lu",
            };
            // Every 32-bit integer is exact in a double: binutils knows these only with rm = 0 and no suffix.
            match (double, i.fp) {
                (true, CvtFromW | CvtFromWu) if rm != 0 => illegal_word(i.raw),
                (true, CvtFromW | CvtFromWu) => format!("fcvt.d.{int} {fd},{rs1}"),
                _ => rounded(&format!("fcvt.{s}.{int}"), format!("{fd},{rs1}")),
            }
        }
        CvtFromS | CvtFromD | CvtFromH => {
            let from = i.fp.conversion_source().unwrap_or(fmt);
            let name = format!("fcvt.{s}.{}", from.suffix());
            // Widening is exact as well, with the same rule.
            let widening = matches!((from, fmt), (FpFmt::S, FpFmt::D) | (FpFmt::H, FpFmt::S) | (FpFmt::H, FpFmt::D));
            match widening {
                true if rm != 0 => illegal_word(i.raw),
                true => format!("{name} {fd},{fs1}"),
                false => rounded(&name, format!("{fd},{fs1}")),
            }
        }
        MvXFromF => format!("fmv.x.{} {rd},{fs1}", if fmt == FpFmt::S { "w" } else { s }),
        MvFFromX => format!("fmv.{}.x {fd},{rs1}", if fmt == FpFmt::S { "w" } else { s }),
        Fli => format!("fli.{s} {fd},{}", FLI_OPERANDS[i.rs1 as usize & 31]),
        MinM => format!("fminm.{s} {fd},{fs1},{fs2}"),
        MaxM => format!("fmaxm.{s} {fd},{fs1},{fs2}"),
        Round => rounded(&format!("fround.{s}"), format!("{fd},{fs1}")),
        RoundNx => rounded(&format!("froundnx.{s}"), format!("{fd},{fs1}")),
        CvtModWFromD => format!("fcvtmod.w.d {rd},{fs1},rtz"),
        LtQ => format!("fltq.{s} {rd},{fs1},{fs2}"),
        LeQ => format!("fleq.{s} {rd},{fs1},{fs2}"),
    }
}

/// fli's constants as binutils 2.41 and later print them.
const FLI_OPERANDS: [&str; 32] = [
    "-1.0",
    "min",
    "1.52587890625e-05",
    "3.0517578125e-05",
    "0.00390625",
    "0.0078125",
    "0.0625",
    "0.125",
    "0.25",
    "0.3125",
    "0.375",
    "0.4375",
    "0.5",
    "0.625",
    "0.75",
    "0.875",
    "1.0",
    "1.25",
    "1.5",
    "1.75",
    "2.0",
    "2.5",
    "3.0",
    "4.0",
    "8.0",
    "16.0",
    "128.0",
    "256.0",
    "32768.0",
    "65536.0",
    "inf",
    "nan",
];

/// The rounding-mode operand: objdump leaves out the dynamic mode (7) and calls the reserved ones `unknown`.
fn rounding(rm: u8) -> &'static str {
    match rm {
        0 => ",rne",
        1 => ",rtz",
        2 => ",rdn",
        3 => ",rup",
        4 => ",rmm",
        7 => "",
        _ => ",unknown",
    }
}

#[cfg(test)]
#[path = "../../../tests/common/vmlinux.rs"]
mod test_vmlinux;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    #[test]
    fn zcb_zawrs_and_zfa_print_by_their_specifications_names() {
        // Binutils 2.40 predates them: these are the specifications' spellings, which later binutils print.
        for (raw, text) in [
            (0x81c8, "c.lbu a0,1(a1)"),
            (0x8db0, "c.sh a2,2(a1)"),
            (0x9d61, "c.zext.b a0"),
            (0x9d6d, "c.sext.h a0"),
            (0x9d75, "c.not a0"),
            (0x9d4d, "c.mul a0,a1"),
            (0x00d0_0073, "wrs.nto"),
            (0x01d0_0073, "wrs.sto"),
            (0xf010_0553, "fli.s fa0,-1.0"),
            (0xf21f_8553, "fli.d fa0,nan"),
            (0x28c5_a553, "fminm.s fa0,fa1,fa2"),
            (0x4245_f553, "fround.d fa0,fa1"),
            (0x4255_8553, "froundnx.d fa0,fa1,rne"),
            (0xc285_9553, "fcvtmod.w.d a0,fa1,rtz"),
            (0xa2c5_c553, "fltq.d a0,fa1,fa2"),
        ] {
            assert_eq!(disassemble(raw, 0x8000_0000).1, text, "{raw:#x}");
        }
    }

    /// Encodings with the text binutils 2.40's `objdump -d` prints for them (copied from its output on the
    /// guest kernel and on `.insn` words assembled with `-march=rv64gc_zihintpause`), at pc 0x80000000.
    const OBJDUMP_SAYS: &[(u32, &str)] = &[
        (0x1141, "add sp,sp,-16"),
        (0x7139, "add sp,sp,-64"),
        (0x0808, "add a0,sp,16"),
        (0x5a4d, "li s4,-13"),
        (0x4601, "li a2,0"),
        (0x0001, "nop"),
        (0x0061, "c.nop 24"),
        (0x0002, "c.slli64 zero"),
        (0x0032, "c.slli zero,0xc"),
        (0x8101, "c.srli64 a0"),
        (0x4001, "c.li zero,0"),
        (0x6005, "c.lui zero,0x1"),
        (0x9006, "c.add zero,ra"),
        (0x0081, "add ra,ra,0"),
        (0x8082, "ret"),
        (0x9102, "jalr sp"),
        (0x8582, "jr a1"),
        (0x9002, "ebreak"),
        (0x0000, "unimp"),
        (0x4002, ".2byte 0x4002"),
        (0x2481, "sext.w s1,s1"),
        (0x7865, "lui a6,0xffff9"),
        (0x8131, "srl a0,a0,0xc"),
        (0x8905, "and a0,a0,1"),
        (0xc501, "beqz a0,80000008"),
        (0xbff5, "j 7ffffffc"),
        (0x0011_3423, "sd ra,8(sp)"),
        (0xfdc7_c783, "lbu a5,-36(a5)"),
        (0x0000_0013, "nop"),
        (0x0cc0_0613, "li a2,204"),
        (0x0005_0013, "mv zero,a0"),
        (0x8885_8593, "add a1,a1,-1912"),
        (0x02c4_9793, "sll a5,s1,0x2c"),
        (0x0ff5_7513, "zext.b a0,a0"),
        (0xfff4_4413, "not s0,s0"),
        (0x0015_3513, "seqz a0,a0"),
        (0x0015_051b, "addw a0,a0,1"),
        (0x0007_849b, "sext.w s1,a5"),
        (0x41f7_579b, "sraw a5,a4,0x1f"),
        (0x40a0_0533, "neg a0,a0"),
        (0x40a0_053b, "negw a0,a0"),
        (0x00a0_3533, "snez a0,a0"),
        (0x0005_2533, "sltz a0,a0"),
        (0x00e0_2533, "sgtz a0,a4"),
        (0x0040_1597, "auipc a1,0x401"),
        (0x8000_0537, "lui a0,0x80000"),
        (0x0010_00ef, "jal 80000800"),
        (0xf61f_f0ef, "jal 7fffff60"),
        (0x0c60_106f, "j 800010c6"),
        (0x1de0_80e7, "jalr 478(ra)"),
        (0x8763_0067, "jr -1930(t1)"),
        (0x00c5_8567, "jalr a0,12(a1)"),
        (0x00a0_5663, "blez a0,8000000c"),
        (0x00a5_c663, "blt a1,a0,8000000c"),
        (0x00f0_5f63, "blez a5,8000001e"),
        (0x0ff0_000f, "fence"),
        (0x0330_000f, "fence rw,rw"),
        (0x0100_000f, "pause"),
        (0x8330_000f, "fence.tso"),
        (0x0000_100f, "fence.i"),
        (0x00a5_000f, ".4byte 0xa5000f"),
        (0x1200_0073, "sfence.vma"),
        (0x1207_8073, "sfence.vma a5"),
        (0x1020_0073, "sret"),
        (0x1050_0073, "wfi"),
        (0x1402_1273, "csrrw tp,sscratch,tp"),
        (0x1001_7473, "csrrc s0,sstatus,2"),
        (0x1001_6073, "csrs sstatus,2"),
        (0x1002_b073, "csrc sstatus,t0"),
        (0x1805_1073, "csrw satp,a0"),
        (0x1410_2973, "csrr s2,sepc"),
        (0xc010_27f3, "rdtime a5"),
        (0x0032_9073, "fscsr t0"),
        (0x0030_22f3, "frcsr t0"),
        (0x0010_5573, "fsflagsi a0,0"),
        (0x7c00_2573, "csrr a0,0x7c0"),
        (0x3b00_2573, "csrr a0,pmpaddr0"),
        (0xc000_1073, "unimp"),
        (0x1005_26af, "lr.w a3,(a0)"),
        (0x1ad7_a6af, "sc.w.rl a3,a3,(a5)"),
        (0x06b5_262f, "amoadd.w.aqrl a2,a1,(a0)"),
        (0xc0b5_262f, "amominu.w a2,a1,(a0)"),
        (0x00b5_362f, "amoadd.d a2,a1,(a0)"),
        (0x0015_3427, "fsd ft1,8(a0)"),
        (0x0040_0543, "fmadd.s fa0,ft0,ft4,ft0,rne"),
        (0x00c5_f553, "fadd.s fa0,fa1,fa2"),
        (0x00c5_9553, "fadd.s fa0,fa1,fa2,rtz"),
        (0x00c5_d553, "fadd.s fa0,fa1,fa2,unknown"),
        (0x4205_0553, "fcvt.d.s fa0,fa0"),
        (0x4205_7553, ".4byte 0x42057553"),
        (0x4015_7553, "fcvt.s.d fa0,fa0"),
        (0xd225_7553, "fcvt.d.l fa0,a0"),
        (0xe205_0553, "fmv.x.d a0,fa0"),
        (0x22b5_9553, "fneg.d fa0,fa1"),
        (0x22b5_a553, "fabs.d fa0,fa1"),
        (0xa2c5_0553, "fle.d a0,fa0,fa2"),
        (0x1402_020b, ".4byte 0x1402020b"),
    ];

    #[test]
    fn prints_what_objdump_prints() {
        for &(raw, text) in OBJDUMP_SAYS {
            assert_eq!(disassemble(raw, 0x8000_0000).1, text, "raw {raw:#x}");
        }
    }

    #[test]
    fn length_follows_the_low_bits() {
        assert_eq!(disassemble(0xffff_1141, 0).0, 2);
        assert_eq!(disassemble(0x0011_3423, 0).0, 4);
    }

    /// The first of `names` found on PATH (Debian's cross binutils or the bare-metal ones).
    fn tool(names: &[&str]) -> Option<String> {
        let runs = |name: &&str| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success());
        names.iter().copied().find(runs).map(str::to_string)
    }

    fn objdump() -> Option<String> {
        tool(&["riscv64-linux-gnu-objdump", "riscv64-unknown-elf-objdump"])
    }

    /// objdump's instruction column as `disassemble` writes it: one space after the mnemonic, without the
    /// `<symbol+0x10>` and `# ...` annotations.
    fn normalise(text: &str) -> String {
        let text = text.split(" # ").next().unwrap_or(text).split(" <").next().unwrap_or(text);
        let text = text.split('#').next().unwrap_or(text);
        text.trim().replace('\t', " ")
    }

    /// One instruction line of `objdump -d -w`: `ffffffff80001234:\t1141                \taddi\tsp,sp,-16`.
    /// Data (`.word`, `.short`, `.byte` between mapping symbols) is not an instruction and yields None.
    fn parse_line(line: &str) -> Option<(u64, u32, String)> {
        let mut fields = line.splitn(3, '\t');
        let address = u64::from_str_radix(fields.next()?.trim().strip_suffix(':')?, 16).ok()?;
        let raw = u32::from_str_radix(fields.next()?.trim(), 16).ok()?;
        let text = normalise(fields.next()?);
        if [".word", ".short", ".byte"].iter().any(|d| text.starts_with(d)) {
            return None;
        }
        Some((address, raw, text))
    }

    /// How a listing compares: instructions seen, those that differ, and of these the ones the decoder
    /// accepts (the others print as data here by design: they trap in the emulator).
    struct Comparison {
        total: usize,
        wrong: usize,
        wrong_but_decoded: usize,
    }

    /// Compares `disassemble` with objdump's listing, printing the first mismatches and a count per objdump
    /// mnemonic.
    fn compare(lines: impl Iterator<Item = String>) -> Comparison {
        let mut result = Comparison { total: 0, wrong: 0, wrong_but_decoded: 0 };
        let mut per_mnemonic: BTreeMap<String, usize> = BTreeMap::new();
        for (address, raw, expected) in lines.filter_map(|l| parse_line(&l)) {
            // Binutils 2.40 (Debian 12's) predates Zicond, Zcb and Zfa: it prints those words as data.
            let insn = decode_operation(raw);
            let unknown_to_binutils = matches!(insn.op, Op::CzeroEqz | Op::CzeroNez)
                || (insn.op == Op::Fp && crate::arch::riscv::fpu::is_zfa(insn.fp))
                || (raw < 0x1_0000 && crate::arch::riscv::decode::is_zcb(raw as u16));
            if (expected.starts_with(".4byte") || expected.starts_with(".2byte")) && unknown_to_binutils {
                continue;
            }
            result.total += 1;
            let ours = normalise(&disassemble(raw, address).1);
            if ours == expected {
                continue;
            }
            result.wrong += 1;
            if decode_operation(raw).op != Op::Illegal {
                result.wrong_but_decoded += 1;
            }
            if result.wrong <= 30 {
                eprintln!("{address:x}: {raw:08x}: objdump `{expected}`, we `{ours}`");
            }
            *per_mnemonic.entry(expected.split(' ').next().unwrap_or("").to_string()).or_default() += 1;
        }
        eprintln!("{} of {} differ; by objdump mnemonic: {per_mnemonic:?}", result.wrong, result.total);
        result
    }

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("rewind-disasm-{}-{name}", std::process::id()))
    }

    /// At most this many lines of the kernel's listing (objdump needs ~8 s for all 1.1 million).
    const KERNEL_LINES: usize = 400_000;

    #[test]
    fn agrees_with_objdump_on_the_guest_kernel() {
        let compressed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/guests/vmlinux.zst");
        let (Some(objdump), true) = (objdump(), compressed.exists()) else {
            eprintln!("skipped: needs {} and riscv64 objdump", compressed.display());
            return;
        };
        let vmlinux = test_vmlinux::unpack_vmlinux(&compressed);
        let mut child = Command::new(objdump)
            .args(["-d", "-w", "--section=.head.text", "--section=.text"])
            .arg(&vmlinux)
            .stdout(Stdio::piped())
            .spawn()
            .expect("objdump runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = BufReader::new(stdout).lines().map_while(Result::ok).take(KERNEL_LINES);
        let Comparison { total, wrong, wrong_but_decoded } = compare(lines);
        let _ = child.kill();
        let _ = child.wait();
        assert!(total > 100_000, "only {total} instructions parsed");
        assert!(wrong * 1000 <= total * 5, "{wrong} of {total} instructions differ from objdump");
        assert_eq!(wrong_but_decoded, 0, "instructions the decoder knows print differently from objdump");
    }

    /// A fixed-seed xorshift, so a failure reproduces.
    fn words(seed: u64) -> impl Iterator<Item = u32> {
        std::iter::successors(Some(seed), |s| {
            let mut s = *s;
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            Some(s)
        })
        .skip(1)
        .map(|s| (s >> 16) as u32)
    }

    /// The major opcodes the decoder implements (bits 6..0).
    const OPCODES: [u32; 18] =
        [0x03, 0x07, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x27, 0x2f, 0x33, 0x37, 0x3b, 0x43, 0x47, 0x4b, 0x4f, 0x53, 0x63];

    #[test]
    fn agrees_with_objdump_on_every_compressed_and_sampled_full_encoding() {
        let (Some(objdump), Some(assembler)) = (objdump(), tool(&["riscv64-linux-gnu-as", "riscv64-unknown-elf-as"]))
        else {
            eprintln!("skipped: needs riscv64 as and objdump");
            return;
        };
        let halfwords = (0..=u16::MAX).filter(|h| h & 3 != 3).map(|h| (2, u32::from(h)));
        let sampled = OPCODES
            .iter()
            .chain(&[0x67, 0x6f, 0x73])
            .flat_map(|op| words(u64::from(*op) * 0x9e37_79b9 + 1).take(3000).map(move |w| (4, w & !0x7f | op)));
        let mut source = String::from(".text\n");
        for (len, word) in halfwords.chain(sampled) {
            source.push_str(&format!(".insn {len}, {word:#x}\n"));
        }
        let (asm, obj) = (scratch("all.s"), scratch("all.o"));
        std::fs::write(&asm, source).expect("write the assembler source");
        let assembled = Command::new(assembler)
            .args(["-march=rv64gc_zicbom_zicboz_zihintpause_zfh_zba_zbb_zbc_zbkb_zbs_svinval", "-o"])
            .arg(&obj)
            .arg(&asm)
            .status();
        assert!(assembled.is_ok_and(|s| s.success()), "as failed on {}", asm.display());
        let listing = Command::new(objdump).args(["-d", "-w"]).arg(&obj).output().expect("objdump runs");
        let _ = (std::fs::remove_file(&asm), std::fs::remove_file(&obj));
        let text = String::from_utf8_lossy(&listing.stdout);
        let Comparison { total, wrong, wrong_but_decoded } = compare(text.lines().map(str::to_string));
        assert!(total > 100_000, "only {total} instructions parsed");
        // The decoder rejects `c.addi16sp` by 0 (0x6101), which objdump names.
        assert!(wrong <= 1, "{wrong} of {total} encodings differ from objdump");
        assert_eq!(wrong_but_decoded, 0, "encodings the decoder knows print differently from objdump");
    }
}
