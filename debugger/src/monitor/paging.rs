//! `info mem`: the current hart's page table (the `satp` the hart translates with) as QEMU prints it: each run of
//! virtually and physically contiguous pages with the same permissions, one line, `vaddr paddr size attr`.

use rewind::Machine;
use std::fmt::Write;

const PAGE_SHIFT: u32 = 12;
const PTE_SIZE: u64 = 8;
const INDEX_BITS: u32 = 9;
/// PTE bits, as `attr` shows them (`rwxugad`).
const V: u64 = 1 << 0;
const R: u64 = 1 << 1;
const W: u64 = 1 << 2;
const X: u64 = 1 << 3;
const ATTR_BITS: [(u64, char); 7] =
    [(R, 'r'), (W, 'w'), (X, 'x'), (1 << 4, 'u'), (1 << 5, 'g'), (1 << 6, 'a'), (1 << 7, 'd')];

/// The run of pages being gathered, printed when the next page does not continue it.
struct Run {
    vbase: u64,
    pbase: u64,
    last_paddr: u64,
    last_size: u64,
    attr: u64,
    va_bits: u32,
    out: String,
}

impl Run {
    fn print(&mut self) {
        let size = self.last_paddr.wrapping_add(self.last_size).wrapping_sub(self.pbase);
        if size == 0 || self.vbase >= 1 << self.va_bits {
            return;
        }
        // Canonical: the top bit of the virtual address extended.
        let vaddr =
            if self.vbase & (1 << (self.va_bits - 1)) != 0 { self.vbase | (!0 << self.va_bits) } else { self.vbase };
        let attr: String = ATTR_BITS.iter().map(|(bit, c)| if self.attr & bit != 0 { *c } else { '-' }).collect();
        let _ = writeln!(self.out, "{vaddr:016x} {:016x} {size:016x} {attr}", self.pbase);
    }
}

/// `info mem` for `hart`.
pub fn info_mem(machine: &Machine, hart: usize) -> Result<String, String> {
    let satp = machine.debug_read_csr(hart, rewind::arch::riscv::csr::SATP).ok_or_else(|| format!("no hart {hart}"))?;
    let levels = match satp >> 60 {
        0 => return Ok("No translation or protection\n".into()),
        8 => 3,
        9 => 4,
        10 => 5,
        mode => return Err(format!("satp mode {mode} is not a paging mode")),
    };
    let root = (satp & ((1 << 44) - 1)) << PAGE_SHIFT;
    let va_bits = PAGE_SHIFT + levels * INDEX_BITS;
    let mut run = Run { vbase: !0, pbase: !0, last_paddr: !0, last_size: 0, attr: 0, va_bits, out: String::new() };
    run.out.push_str("vaddr            paddr            size             attr\n");
    run.out.push_str("---------------- ---------------- ---------------- -------\n");
    walk(machine, &mut run, root, 0, levels - 1);
    run.print();
    Ok(run.out)
}

/// Walks the table at `base`, which maps virtual addresses from `start` at `level` (0: 4 KiB pages).
fn walk(machine: &Machine, run: &mut Run, base: u64, mut start: u64, level: u32) {
    let page = 1u64 << (PAGE_SHIFT + level * INDEX_BITS);
    // As QEMU's walk: a run continues only within one table (each table starts with no previous page).
    let mut last_start = !0u64;
    for index in 0..1u64 << INDEX_BITS {
        let mut bytes = [0u8; 8];
        let pte = match machine.read_phys(base + index * PTE_SIZE, &mut bytes) {
            Some(()) => u64::from_le_bytes(bytes),
            None => 0,
        };
        let paddr = (pte >> 10) << PAGE_SHIFT & ((1 << 56) - 1);
        let attr = pte & 0xff;
        if attr & V != 0 {
            if attr & (R | W | X) != 0 {
                let continues = run.attr == attr
                    && run.last_paddr.wrapping_add(run.last_size) == paddr
                    && last_start.wrapping_add(run.last_size) == start;
                if !continues {
                    run.print();
                    (run.vbase, run.pbase, run.attr) = (start, paddr, attr);
                }
                last_start = start;
                (run.last_paddr, run.last_size) = (paddr, page);
            } else if level > 0 {
                walk(machine, run, paddr, start, level - 1);
            }
        }
        start = start.wrapping_add(page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAM: u64 = 0x8000_0000;

    /// An Sv39 table at RAM: a 2 MiB page at 0x200000 -> RAM+0x200000 (rwx-ad), and a 4 KiB table mapping two
    /// contiguous read-only pages at 0x40000000 and a writable third one.
    #[test]
    fn runs_of_pages_print_as_qemu_prints_them() {
        let mut b = rewind::MachineBuilder::new(1, "ram", RAM, 0x10_0000).unwrap();
        let pte = |pa: u64, attr: u64| ((pa >> 12) << 10) | attr;
        let mut write = |addr: u64, v: u64| b.ram_mut().write(addr, &v.to_le_bytes()).unwrap();
        let (root, mid, mid2, leaf) = (RAM, RAM + 0x1000, RAM + 0x2000, RAM + 0x3000);
        write(root, pte(mid, V));
        write(mid + 8, pte(RAM + 0x20_0000, V | R | W | X | 0xc0));
        write(root + 8, pte(mid2, V));
        write(mid2, pte(leaf, V));
        write(leaf, pte(RAM + 0x5000, V | R | 0x40));
        write(leaf + 8, pte(RAM + 0x6000, V | R | 0x40));
        write(leaf + 16, pte(RAM + 0x7000, V | R | W | 0xc0));
        let mut m = b.build();
        assert_eq!(info_mem(&m, 0).unwrap(), "No translation or protection\n");
        assert!(m.debug_write_csr(0, rewind::arch::riscv::csr::SATP, (8 << 60) | (root >> 12)));
        let text = info_mem(&m, 0).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2..],
            [
                "0000000000200000 0000000080200000 0000000000200000 rwx--ad",
                "0000000040000000 0000000080005000 0000000000002000 r----a-",
                "0000000040002000 0000000080007000 0000000000001000 rw---ad",
            ]
        );
    }
}
