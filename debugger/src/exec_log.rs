//! QEMU's `-d` logs, spelled as QEMU spells them: `-d exec` (every instruction as it runs), `-d in_asm` (each
//! instruction the first time it runs) and `-d int` (every trap, in QEMU's words), to `-D FILE` or stderr, the
//! first two for the pcs `-dfilter` keeps. The log is a tracer, so it sees what the machine executes without
//! changing it: the same run logged or not takes the same path, and a replay logs a recorded run exactly.

use anyhow::{bail, Context, Result};
use rewind::arch::riscv::disasm::disassemble;
use rewind::{Tracer, TrapEvent};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// What `-d` asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Items {
    pub exec: bool,
    pub in_asm: bool,
    pub int: bool,
}

/// QEMU's `-d` items for the riscv targets that rewind does not log yet.
const NOT_YET: &[&str] = &[
    "out_asm",
    "op",
    "op_opt",
    "op_ind",
    "cpu",
    "fpu",
    "mmu",
    "pcall",
    "cpu_reset",
    "unimp",
    "guest_errors",
    "page",
    "nochain",
    "plugin",
    "strace",
    "tid",
    "trace",
    "invalid_mem",
    "vpu",
];

pub const HELP: &str = "Log items (comma separated):\nexec       every instruction as it runs: hart, pc, encoding, \
                        disassembly\nin_asm     each instruction the first time it runs\nint        every exception and interrupt, as QEMU \
                        words them\n";

/// Parses `-d ITEMS`; `Ok(None)` for `-d help` (the caller prints [`HELP`]).
pub fn parse_items(text: &str) -> Result<Option<Items>> {
    let mut items = Items::default();
    for item in text.split(',') {
        match item {
            "help" => return Ok(None),
            "exec" => items.exec = true,
            "in_asm" => items.in_asm = true,
            "int" => items.int = true,
            _ if NOT_YET.contains(&item) => bail!("-d {item}: rewind logs exec, in_asm and int (not {item} yet)"),
            _ => bail!("-d {item}: unknown log item (-d help lists them)"),
        }
    }
    Ok(Some(items))
}

/// An inclusive range of pcs.
type PcRange = (u64, u64);

/// Parses `-dfilter RANGES` as QEMU does: `START+SIZE`, `END-SIZE` or `START..END`, comma separated.
pub fn parse_filter(text: &str) -> Result<Vec<PcRange>> {
    let number = |s: &str| -> Result<u64> {
        let s = s.trim();
        let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => s.parse(),
        };
        parsed.with_context(|| format!("-dfilter {text}: invalid number '{s}'"))
    };
    let size = |s: &str| -> Result<u64> {
        let n = number(s)?;
        if n == 0 {
            bail!("-dfilter {text}: a range of size 0");
        }
        Ok(n)
    };
    text.split(',')
        .map(|range| {
            if let Some((start, end)) = range.split_once("..") {
                let (start, end) = (number(start)?, number(end)?);
                if end < start {
                    bail!("-dfilter {text}: {range} ends before it starts");
                }
                Ok((start, end))
            } else if let Some((start, len)) = range.split_once('+') {
                let start = number(start)?;
                Ok((start, start.saturating_add(size(len)? - 1)))
            } else if let Some((end, len)) = range.split_once('-') {
                let end = number(end)?;
                Ok((end.saturating_sub(size(len)? - 1), end))
            } else {
                bail!("-dfilter {text}: '{range}' is not START+SIZE, END-SIZE or START..END")
            }
        })
        .collect()
}

/// The tracer that writes the log.
pub struct ExecLog {
    out: Box<dyn Write + Send>,
    items: Items,
    filter: Vec<PcRange>,
    /// Instructions `in_asm` has shown.
    seen: HashSet<u64>,
    /// Where the last instruction `in_asm` showed ends, so a run of new code gets one `IN:` header.
    next_shown: Option<u64>,
}

impl ExecLog {
    /// A log to `file` (stderr without one) of `items` for the pcs in `filter` (all, if empty).
    pub fn open(items: Items, file: Option<&Path>, filter: Vec<PcRange>) -> Result<ExecLog> {
        let out: Box<dyn Write + Send> = match file {
            Some(path) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(path).with_context(|| format!("-D {}", path.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stderr())),
        };
        Ok(ExecLog { out, items, filter, seen: HashSet::new(), next_shown: None })
    }
}

impl Tracer for ExecLog {
    fn instruction(&mut self, hart: usize, pc: u64, raw: u32) {
        if !self.filter.is_empty() && !self.filter.iter().any(|&(start, end)| (start..=end).contains(&pc)) {
            return;
        }
        let (len, text) = disassemble(raw, pc);
        let encoding = if len == 2 { format!("{:04x}    ", raw & 0xffff) } else { format!("{raw:08x}") };
        // A full disk or a closed pipe must not stop the machine: the log just ends.
        if self.items.in_asm && self.seen.insert(pc) {
            if self.next_shown != Some(pc) {
                let _ = writeln!(self.out, "----------------\nIN:");
            }
            let _ = writeln!(self.out, "{pc:#018x}:  {encoding}  {text}");
            self.next_shown = Some(pc.wrapping_add(u64::from(len)));
        }
        if self.items.exec {
            let _ = writeln!(self.out, "Trace {hart}: {pc:#018x}:  {encoding}  {text}");
        }
    }

    fn trap(&mut self, trap: &TrapEvent) {
        if self.items.int {
            let _ = writeln!(self.out, "{}", describe_trap(trap));
        }
    }
}

/// QEMU's names of the RISC-V exceptions and interrupts (`riscv_excp_names`, `riscv_intr_names`).
const EXCEPTIONS: [&str; 24] = [
    "misaligned_fetch",
    "fault_fetch",
    "illegal_instruction",
    "breakpoint",
    "misaligned_load",
    "fault_load",
    "misaligned_store",
    "fault_store",
    "user_ecall",
    "supervisor_ecall",
    "hypervisor_ecall",
    "machine_ecall",
    "exec_page_fault",
    "load_page_fault",
    "reserved",
    "store_page_fault",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "guest_exec_page_fault",
    "guest_load_page_fault",
    "reserved",
    "guest_store_page_fault",
];
const INTERRUPTS: [&str; 16] = [
    "u_software",
    "s_software",
    "vs_software",
    "m_software",
    "u_timer",
    "s_timer",
    "vs_timer",
    "m_timer",
    "u_external",
    "s_external",
    "vs_external",
    "m_external",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
];

/// A trap as QEMU 7.2's `riscv_cpu_do_interrupt` logs it.
fn describe_trap(t: &TrapEvent) -> String {
    let names: &[&str] = if t.interrupt { &INTERRUPTS } else { &EXCEPTIONS };
    let name = usize::try_from(t.cause).ok().and_then(|c| names.get(c)).copied().unwrap_or("(unknown)");
    format!(
        "riscv_cpu_do_interrupt: hart:{}, async:{}, cause:{:016x}, epc:0x{:016x}, tval:0x{:016x}, desc={name}",
        t.hart,
        u8::from(t.interrupt),
        t.cause,
        t.epc,
        t.tval
    )
}

impl Drop for ExecLog {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_filters_as_qemu_spells_them() {
        assert_eq!(parse_items("exec,in_asm").unwrap(), Some(Items { exec: true, in_asm: true, int: false }));
        assert_eq!(parse_items("help").unwrap(), None);
        assert!(parse_items("mmu").unwrap_err().to_string().contains("not mmu yet"));
        assert!(parse_items("bogus").unwrap_err().to_string().contains("unknown log item"));
        assert_eq!(parse_filter("0x1000+0x10,0x2000-0x10,5..9").unwrap(), [(0x1000, 0x100f), (0x1ff1, 0x2000), (5, 9)]);
        for bad in ["0x1000", "9..5", "0x10+0", "x+1"] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }
}
