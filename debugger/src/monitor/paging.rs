//! `info mem` and `info tlb`: the current hart's page table (the `satp` the hart translates with). `info mem`
//! prints it as QEMU does: each run of virtually and physically contiguous pages with the same permissions, one
//! line, `vaddr paddr size attr`; `info tlb` (which QEMU has only for other targets) lists every leaf.

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

/// One leaf of the page table: `size` bytes at virtual `vaddr` (not yet sign-extended) map to `paddr`.
#[derive(Clone, Copy)]
struct Leaf {
    vaddr: u64,
    paddr: u64,
    size: u64,
    attr: u64,
    /// The physical address of the table holding the leaf: as in QEMU's walk, a run of pages continues only
    /// within one table.
    table: u64,
}

/// The current `satp`'s translation of `hart`: `Ok(None)` without paging, else the address width and every leaf.
fn walk_satp(machine: &Machine, hart: usize, visit: &mut dyn FnMut(&Leaf)) -> Result<Option<u32>, String> {
    let satp = machine.debug_read_csr(hart, rewind::arch::riscv::csr::SATP).ok_or_else(|| format!("no hart {hart}"))?;
    let levels = match satp >> 60 {
        0 => return Ok(None),
        8 => 3,
        9 => 4,
        10 => 5,
        mode => return Err(format!("satp mode {mode} is not a paging mode")),
    };
    let root = (satp & ((1 << 44) - 1)) << PAGE_SHIFT;
    walk(machine, root, 0, levels - 1, visit);
    Ok(Some(PAGE_SHIFT + levels * INDEX_BITS))
}

/// Walks the table at `base`, which maps virtual addresses from `start` at `level` (0: 4 KiB pages).
fn walk(machine: &Machine, base: u64, mut start: u64, level: u32, visit: &mut dyn FnMut(&Leaf)) {
    let page = 1u64 << (PAGE_SHIFT + level * INDEX_BITS);
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
                visit(&Leaf { vaddr: start, paddr, size: page, attr, table: base });
            } else if level > 0 {
                walk(machine, paddr, start, level - 1, visit);
            }
        }
        start = start.wrapping_add(page);
    }
}

/// A virtual address with the top bit of its `va_bits` extended, as the hart sees it.
fn canonical(vaddr: u64, va_bits: u32) -> u64 {
    if vaddr & (1 << (va_bits - 1)) != 0 {
        vaddr | (!0 << va_bits)
    } else {
        vaddr
    }
}

fn attr_text(attr: u64) -> String {
    ATTR_BITS.iter().map(|(bit, c)| if attr & bit != 0 { *c } else { '-' }).collect()
}

/// `info mem` for `hart`: each run of virtually and physically contiguous pages with the same permissions.
pub fn info_mem(machine: &Machine, hart: usize) -> Result<String, String> {
    // The run being gathered, printed when the next page does not continue it: (vaddr, paddr, size, attr).
    let mut runs: Vec<(u64, u64, u64, u64)> = Vec::new();
    let mut run: Option<(u64, u64, u64, u64)> = None;
    let mut last_table = !0u64;
    let va_bits = walk_satp(machine, hart, &mut |leaf| {
        let continues = run.is_some_and(|(v, p, size, attr)| {
            attr == leaf.attr && p + size == leaf.paddr && v + size == leaf.vaddr && last_table == leaf.table
        });
        match &mut run {
            Some(r) if continues => r.2 += leaf.size,
            _ => {
                runs.extend(run.take());
                run = Some((leaf.vaddr, leaf.paddr, leaf.size, leaf.attr));
            }
        }
        last_table = leaf.table;
    })?;
    let Some(va_bits) = va_bits else { return Ok("No translation or protection\n".into()) };
    runs.extend(run);
    let mut out = String::from("vaddr            paddr            size             attr\n");
    out.push_str("---------------- ---------------- ---------------- -------\n");
    for (vaddr, paddr, size, attr) in runs {
        let _ = writeln!(out, "{:016x} {paddr:016x} {size:016x} {}", canonical(vaddr, va_bits), attr_text(attr));
    }
    Ok(out)
}

/// `info tlb` for `hart`: every leaf of the page table, one line each (`vaddr: paddr size attr`), as the
/// translations the hart's TLB can hold.
pub fn info_tlb(machine: &Machine, hart: usize) -> Result<String, String> {
    let mut leaves = Vec::new();
    let va_bits = walk_satp(machine, hart, &mut |leaf| leaves.push(*leaf))?;
    let Some(va_bits) = va_bits else { return Ok("No translation or protection\n".into()) };
    let mut out = String::new();
    for Leaf { vaddr, paddr, size, attr, .. } in leaves {
        let size = match size {
            s if s >= 1 << 30 => format!("{}G", s >> 30),
            s if s >= 1 << 20 => format!("{}M", s >> 20),
            s => format!("{}K", s >> 10),
        };
        let _ = writeln!(out, "{:016x}: {paddr:016x} {size:>4} {}", canonical(vaddr, va_bits), attr_text(attr));
    }
    Ok(out)
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
