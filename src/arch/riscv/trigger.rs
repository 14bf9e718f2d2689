//! Sdtrig, the trigger module, as QEMU 7.2 has it: two triggers, each of type 2 (`mcontrol`) or 6 (`mcontrol6`),
//! that match an instruction's address or the address a load or store reaches and raise a breakpoint exception
//! before the instruction runs (`xtval` 0, as QEMU writes it). QEMU 7.2 keeps only the fields below (address
//! match is always "equal", no chaining, no other actions, no `icount` trigger), so a guest reads back the same
//! under both.

use super::decode::{Insn, Op};
use serde::{Deserialize, Serialize};

/// How many triggers there are (QEMU 7.2's number).
pub const COUNT: usize = 2;
/// `tinfo`: the types a trigger can have (2 and 6).
pub const TINFO: u64 = (1 << MCONTROL) | (1 << MCONTROL6);

const TYPE_SHIFT: u32 = 60;
const MCONTROL: u64 = 2;
const MCONTROL6: u64 = 6;
const LOAD: u64 = 1 << 0;
const STORE: u64 = 1 << 1;
const EXECUTE: u64 = 1 << 2;
const U: u64 = 1 << 3;
const S: u64 = 1 << 4;
const M: u64 = 1 << 6;
/// `mcontrol`'s `sizelo`: the data access size matched (0 any).
const SIZELO_SHIFT: u32 = 16;
const MCONTROL_FIELDS: u64 = (3 << SIZELO_SHIFT) | M | S | U | EXECUTE | STORE | LOAD;
/// `mcontrol6` keeps its VS and VU bits (for the hypervisor extension rewind does not have) besides the rest.
const MCONTROL6_FIELDS: u64 = (1 << 24) | (1 << 23) | M | S | U | EXECUTE | STORE | LOAD;
/// What a trigger with "any" size covers from its address: QEMU's watchpoint length for it.
const ANY_SIZE: u64 = 8;

/// The trigger module's state: `tselect` and each trigger's `tdata1` and `tdata2`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triggers {
    pub select: u64,
    pub tdata1: [u64; COUNT],
    pub tdata2: [u64; COUNT],
}

impl Default for Triggers {
    /// Every trigger an `mcontrol` that matches nothing.
    fn default() -> Triggers {
        Triggers { select: 0, tdata1: [MCONTROL << TYPE_SHIFT; COUNT], tdata2: [0; COUNT] }
    }
}

impl Triggers {
    fn selected(&self) -> usize {
        (self.select as usize).min(COUNT - 1)
    }

    pub fn tdata1(&self) -> u64 {
        self.tdata1[self.selected()]
    }

    pub fn tdata2(&self) -> u64 {
        self.tdata2[self.selected()]
    }

    /// `tselect` is WARL: a trigger that does not exist leaves it as it was.
    pub fn write_select(&mut self, value: u64) {
        if value < COUNT as u64 {
            self.select = value;
        }
    }

    /// Writes the selected trigger's `tdata1`: a type rewind lacks leaves it as it was; `dmode` and the fields
    /// QEMU drops read as zero.
    pub fn write_tdata1(&mut self, value: u64) {
        let fields = match value >> TYPE_SHIFT {
            MCONTROL => MCONTROL_FIELDS,
            MCONTROL6 => MCONTROL6_FIELDS,
            _ => return,
        };
        let i = self.selected();
        self.tdata1[i] = (value & (0xf << TYPE_SHIFT)) | (value & fields);
    }

    pub fn write_tdata2(&mut self, value: u64) {
        let i = self.selected();
        self.tdata2[i] = value;
    }

    /// Whether any trigger can fire: then every instruction is checked before it runs.
    #[inline]
    pub fn armed(&self) -> bool {
        self.tdata1.iter().any(|t| t & (EXECUTE | STORE | LOAD) != 0 && t & (M | S | U) != 0)
    }

    /// Whether a trigger fires on `insn` at `pc`, run at privilege level `privilege` (the encoding of
    /// `mstatus.MPP`: 0 U, 1 S, 3 M) with integer registers `x`: an execute
    /// trigger on `pc`, or a load or store trigger on the bytes the instruction would access. `reserved`: the hart
    /// holds a reservation, so a store-conditional would store (one that fails accesses nothing, as in QEMU).
    pub fn fire(&self, privilege: u8, insn: &Insn, pc: u64, x: &[u64; 32], reserved: bool) -> bool {
        let mode = match privilege {
            3 => M,
            1 => S,
            _ => U,
        };
        let access = data_access(insn, x).filter(|_| reserved || !matches!(insn.op, Op::ScW | Op::ScD));
        self.tdata1.iter().zip(&self.tdata2).any(|(&t, &addr)| {
            if t & mode == 0 {
                return false;
            }
            if t & EXECUTE != 0 && addr == pc {
                return true;
            }
            let Some((kinds, va, size)) = access else { return false };
            if t & kinds == 0 {
                return false;
            }
            let len = match (t >> TYPE_SHIFT, (t >> SIZELO_SHIFT) & 3) {
                (MCONTROL, 1) => 1,
                (MCONTROL, 2) => 2,
                (MCONTROL, 3) => 4,
                _ => ANY_SIZE,
            };
            va < addr.wrapping_add(len) && addr < va.wrapping_add(size)
        })
    }
}

/// The data access `insn` makes: whether it loads, stores or both (as trigger bits), its virtual address and size.
fn data_access(insn: &Insn, x: &[u64; 32]) -> Option<(u64, u64, u64)> {
    use Op::*;
    let (kinds, size) = match insn.op {
        Lb | Lbu => (LOAD, 1),
        Lh | Lhu | Flh => (LOAD, 2),
        Lw | Lwu | Flw | LrW => (LOAD, 4),
        Ld | Fld | LrD => (LOAD, 8),
        Sb => (STORE, 1),
        Sh | Fsh => (STORE, 2),
        Sw | Fsw | ScW => (STORE, 4),
        Sd | Fsd | ScD => (STORE, 8),
        AmoW => (LOAD | STORE, 4),
        AmoD => (LOAD | STORE, 8),
        _ => return None,
    };
    // Atomics have no offset (their decoded immediate is zero).
    Some((kinds, x[insn.rs1 as usize & 31].wrapping_add(insn.imm as u64), size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::riscv::decode::decode;

    #[test]
    fn tdata1_keeps_what_qemu_keeps_and_ignores_types_it_lacks() {
        let mut t = Triggers::default();
        t.write_tdata1((MCONTROL << 60) | 0xfffff);
        assert_eq!(t.tdata1(), 0x2000_0000_0003_005f);
        t.write_tdata1((MCONTROL6 << 60) | 0x7ff_ffff);
        assert_eq!(t.tdata1(), 0x6000_0000_0180_005f);
        t.write_tdata1((3 << 60) | 0x7ff);
        assert_eq!(t.tdata1(), 0x6000_0000_0180_005f, "icount is not a type rewind has");
        t.write_select(2);
        assert_eq!(t.select, 0);
    }

    #[test]
    fn triggers_match_pc_and_overlapping_data_in_their_modes() {
        let mut t = Triggers::default();
        let x = {
            let mut x = [0u64; 32];
            x[10] = 0x1000;
            x
        };
        let sd = decode(0x00b5_3423); // sd a1, 8(a0)
        let lw = decode(0x0045_2583); // lw a1, 4(a0)
        t.write_tdata2(0x100c);
        t.write_tdata1((MCONTROL << 60) | M | STORE);
        assert!(t.armed());
        assert!(t.fire(3, &sd, 0, &x, false), "8 bytes at 0x1008 cover 0x100c");
        assert!(!t.fire(1, &sd, 0, &x, false), "M only");
        assert!(!t.fire(3, &lw, 0, &x, false), "a load, not a store");
        t.write_tdata1((MCONTROL << 60) | M | LOAD | (1 << SIZELO_SHIFT));
        assert!(!t.fire(3, &lw, 0, &x, false), "lw covers 0x1004..0x1008");
        t.write_tdata2(0x1007);
        assert!(t.fire(3, &lw, 0, &x, false));
        t.write_tdata1((MCONTROL6 << 60) | S | U | EXECUTE);
        t.write_tdata2(0x8000);
        assert!(t.fire(0, &lw, 0x8000, &x, false) && !t.fire(0, &lw, 0x8004, &x, false));
    }
}
