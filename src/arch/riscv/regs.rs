//! The register table every front end reads: ABI names of the integer and FP registers, the CSRs a debugger
//! shows, and gdb's numbering of them (gdb's riscv-tdep and QEMU agree: x0-x31 are 0-31, pc 32, f0-f31 33-64, CSR
//! `n` is `65 + n`, the virtual `priv` register 4161).

use super::csr::*;

/// gdb's register number of CSR 0.
pub const GDB_CSR_BASE: usize = 65;
/// gdb's register number of the virtual `priv` register (the current privilege level).
pub const GDB_PRIV: usize = GDB_CSR_BASE + 4096;

pub const X_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2",
    "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];

/// An integer register's ABI name as objdump and QEMU print it: `s0` for x8, where gdb's table says `fp`.
pub fn abi_name(i: usize) -> &'static str {
    match i {
        8 => "s0",
        _ => X_NAMES.get(i).copied().unwrap_or("?"),
    }
}

pub const F_NAMES: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
    "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// The CSRs a debugger lists (name, number), in number order; the FP CSRs (fflags, frm, fcsr) are listed with
/// the FP registers ([`FP_CSRS`]).
pub const CSRS: &[(&str, u16)] = &[
    ("sstatus", SSTATUS),
    ("sie", SIE),
    ("stvec", STVEC),
    ("scounteren", SCOUNTEREN),
    ("sscratch", SSCRATCH),
    ("sepc", SEPC),
    ("scause", SCAUSE),
    ("stval", STVAL),
    ("sip", SIP),
    ("satp", SATP),
    ("mstatus", MSTATUS),
    ("misa", MISA),
    ("medeleg", MEDELEG),
    ("mideleg", MIDELEG),
    ("mie", MIE),
    ("mtvec", MTVEC),
    ("mcounteren", MCOUNTEREN),
    ("mscratch", MSCRATCH),
    ("mepc", MEPC),
    ("mcause", MCAUSE),
    ("mtval", MTVAL),
    ("mip", MIP),
    ("cycle", CYCLE),
    ("time", TIME),
    ("instret", INSTRET),
    ("mhartid", MHARTID),
];

/// The FP control and status registers.
pub const FP_CSRS: &[(&str, u16)] = &[("fflags", FFLAGS), ("frm", FRM), ("fcsr", FCSR)];

/// The CSRs that say where a hart is and why it trapped, in the order a register summary shows them (machine
/// level first, then supervisor, then delegation).
pub const SUMMARY_CSRS: &[u16] = &[
    MSTATUS, MEPC, MCAUSE, MTVAL, MTVEC, MIE, MIP, SSTATUS, SEPC, SCAUSE, STVAL, STVEC, SATP, SIE, SIP, MEDELEG,
    MIDELEG,
];

/// The name of CSR `number`, if the table has it.
pub fn csr_name(number: u16) -> Option<&'static str> {
    CSRS.iter().chain(FP_CSRS).find(|(_, n)| *n == number).map(|(name, _)| *name)
}

/// The number of the CSR called `name`, if the table has it.
pub fn csr_number(name: &str) -> Option<u16> {
    CSRS.iter().chain(FP_CSRS).find(|(n, _)| *n == name).map(|(_, number)| *number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_summary_csr_has_a_name_and_names_are_unique() {
        assert!(SUMMARY_CSRS.iter().all(|n| csr_name(*n).is_some()));
        let mut names: Vec<&str> = CSRS.iter().chain(FP_CSRS).map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CSRS.len() + FP_CSRS.len());
        assert_eq!(csr_number("satp"), Some(SATP));
        assert_eq!(csr_name(MEPC), Some("mepc"));
    }
}
