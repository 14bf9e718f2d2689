//! Sdtrig, the trigger module: two triggers that watch an instruction's address, the address a load or store
//! reaches, or a count of retired instructions, and raise a breakpoint exception.
//!
//! It comes in two kinds ([`Module`]):
//! - **QEMU 7.2's** (`debug=on`, the default): types 2 (`mcontrol`) and 6 (`mcontrol6`), "equal" matches only, no
//!   chaining, no `icount`, no `tcontrol`, so a guest reads back the same under both. The breakpoint is raised
//!   before the instruction runs, with `xtval` 0, as QEMU writes it.
//! - **The full one** (`sdtrig=on`, in `-cpu max`), after the Sdtrig 1.0 specification: every match type
//!   (equal, NAPOT, >=, <, the two masks and their negations), chains, `hit` bits, the `icount` trigger and
//!   `tcontrol`'s M-mode enable. A trigger's action is 0, the breakpoint exception, or 1, which without Debug Mode
//!   (Sdext) means here what it means to a hart with an external debugger: the machine stops for rewind's
//!   debugger, as at a breakpoint gdb set.

use super::decode::{Insn, Op};
use serde::{Deserialize, Serialize};

/// How many triggers there are (QEMU 7.2's number).
pub const COUNT: usize = 2;

/// What a trigger that fires does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Raise a breakpoint exception before the instruction.
    Exception,
    /// Stop the machine for the debugger before the instruction (action 1, "enter Debug Mode").
    Debugger,
}

/// Which trigger module the hart has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    Qemu72,
    Full,
}

const TYPE_SHIFT: u32 = 60;
const MCONTROL: u64 = 2;
const ICOUNT: u64 = 3;
const MCONTROL6: u64 = 6;
const DISABLED: u64 = 15;
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

// The full module's further fields.
/// `mcontrol`/`mcontrol6`'s action (bits 15..12) and `icount`'s (bits 5..0): 1 is "enter the debugger".
const ACTION_SHIFT: u32 = 12;
const ICOUNT_ACTION: u64 = 0x3f;
const CHAIN: u64 = 1 << 11;
const MATCH_SHIFT: u32 = 7;
const MATCH: u64 = 0xf << MATCH_SHIFT;
/// `mcontrol`'s `hit` and `mcontrol6`'s `hit0`.
const MCONTROL_HIT: u64 = 1 << 20;
const MCONTROL6_HIT0: u64 = 1 << 22;
/// `mcontrol6`'s `size`: 0 any, 1, 2, 3 and 5 for 1, 2, 4 and 8 bytes.
const SIZE_SHIFT: u32 = 16;
/// `mcontrol`'s read-only `maskmax`: the largest NAPOT range, 2^63 bytes.
const MASKMAX: u64 = 63 << 53;
/// `icount`: hit, count (14 bits), m, pending, s, u.
const ICOUNT_HIT: u64 = 1 << 24;
const COUNT_SHIFT: u32 = 10;
const COUNT_MASK: u64 = 0x3fff << COUNT_SHIFT;
const ICOUNT_M: u64 = 1 << 9;
const PENDING: u64 = 1 << 8;
const ICOUNT_S: u64 = 1 << 7;
const ICOUNT_U: u64 = 1 << 6;
/// `tcontrol`: M-mode triggers enabled, and its value before the last trap into M mode.
const MTE: u64 = 1 << 3;
const MPTE: u64 = 1 << 7;

/// The trigger module's state: `tselect`, each trigger's `tdata1` and `tdata2`, and `tcontrol`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triggers {
    pub select: u64,
    pub tdata1: [u64; COUNT],
    pub tdata2: [u64; COUNT],
    pub tcontrol: u64,
    /// Whether a trigger can fire ([`Triggers::armed`]), kept up to date because the engine asks at every block.
    armed: bool,
}

impl Default for Triggers {
    /// Every trigger an `mcontrol` that matches nothing.
    fn default() -> Triggers {
        Triggers { select: 0, tdata1: [MCONTROL << TYPE_SHIFT; COUNT], tdata2: [0; COUNT], tcontrol: 0, armed: false }
    }
}

/// `tinfo`: the types a trigger can have, and (full module) the specification's version, 1 for Sdtrig 1.0.
pub fn tinfo(module: Module) -> u64 {
    match module {
        Module::Qemu72 => (1 << MCONTROL) | (1 << MCONTROL6),
        Module::Full => (1 << 24) | (1 << MCONTROL) | (1 << ICOUNT) | (1 << MCONTROL6) | (1 << DISABLED),
    }
}

/// The match types the full module has: equal, NAPOT, >=, <, mask low, mask high, and the negations of 0, 1, 4, 5.
fn legal_match(m: u64) -> bool {
    matches!(m, 0..=5 | 8 | 9 | 12 | 13)
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

    /// Writes the selected trigger's `tdata1`: a type the module lacks leaves it as it was; `dmode` and the fields
    /// the module drops read as zero.
    pub fn write_tdata1(&mut self, value: u64, module: Module) {
        let i = self.selected();
        let kind = value >> TYPE_SHIFT;
        let kept = match (module, kind) {
            (Module::Qemu72, MCONTROL) => value & MCONTROL_FIELDS,
            (Module::Qemu72, MCONTROL6) => value & MCONTROL6_FIELDS,
            (Module::Full, MCONTROL | MCONTROL6) => {
                let (fields, extra) = if kind == MCONTROL {
                    (MCONTROL_FIELDS | MCONTROL_HIT, MASKMAX)
                } else {
                    let size = (value >> SIZE_SHIFT) & 7;
                    let size = if matches!(size, 0..=3 | 5) { size << SIZE_SHIFT } else { 0 };
                    ((MCONTROL6_FIELDS & !((1 << 24) | (1 << 23))) | MCONTROL6_HIT0, size)
                };
                let matching = if legal_match((value & MATCH) >> MATCH_SHIFT) { value & MATCH } else { 0 };
                // The last trigger has nothing to chain to.
                let chain = if i + 1 < COUNT { value & CHAIN } else { 0 };
                let action = if (value >> ACTION_SHIFT) & 0xf == 1 { 1 << ACTION_SHIFT } else { 0 };
                (value & fields) | extra | matching | chain | action
            }
            (Module::Full, ICOUNT) => {
                let action = u64::from(value & ICOUNT_ACTION == 1);
                (value & (ICOUNT_HIT | COUNT_MASK | ICOUNT_M | PENDING | ICOUNT_S | ICOUNT_U)) | action
            }
            (Module::Full, 0 | DISABLED) => 0,
            _ => return,
        };
        self.tdata1[i] = (kind << TYPE_SHIFT) | kept;
        self.update_armed();
    }

    pub fn write_tdata2(&mut self, value: u64) {
        let i = self.selected();
        self.tdata2[i] = value;
    }

    /// `tcontrol` (full module): `mte` and `mpte`.
    pub fn write_tcontrol(&mut self, value: u64) {
        self.tcontrol = value & (MTE | MPTE);
    }

    /// A trap into M mode: M-mode triggers are off in the handler (`mpte` keeps what `mte` was).
    pub fn enter_machine_trap(&mut self) {
        self.tcontrol = if self.tcontrol & MTE != 0 { MPTE } else { 0 };
    }

    /// `mret`: `mte` comes back from `mpte`.
    pub fn machine_return(&mut self) {
        if self.tcontrol & MPTE != 0 {
            self.tcontrol |= MTE;
        } else {
            self.tcontrol &= !MTE;
        }
    }

    /// Whether any trigger can fire: then every instruction is checked before it runs (and counted after).
    #[inline]
    pub fn armed(&self) -> bool {
        self.armed
    }

    fn update_armed(&mut self) {
        self.armed = self.tdata1.iter().any(|&t| match t >> TYPE_SHIFT {
            ICOUNT => t & (COUNT_MASK | PENDING) != 0 && t & (ICOUNT_M | ICOUNT_S | ICOUNT_U) != 0,
            MCONTROL | MCONTROL6 => t & (EXECUTE | STORE | LOAD) != 0 && t & (M | S | U) != 0,
            _ => false,
        });
    }

    /// Whether a trigger fires on `insn` at `pc`, run at privilege level `privilege` (the encoding of
    /// `mstatus.MPP`: 0 U, 1 S, 3 M) with integer registers `x`: an execute trigger on `pc`, a load or store
    /// trigger on the bytes the instruction would access, or an `icount` trigger whose count ran out. `reserved`:
    /// the hart holds a reservation, so a store-conditional would store (one that fails accesses nothing, as in
    /// QEMU). The full module sets the `hit` bits of the triggers that fired; when triggers with both actions fire,
    /// the debugger's wins.
    pub fn fire(
        &mut self,
        module: Module,
        privilege: u8,
        insn: &Insn,
        pc: u64,
        x: &[u64; 32],
        reserved: bool,
    ) -> Option<Action> {
        let access = data_access(insn, x).filter(|_| reserved || !matches!(insn.op, Op::ScW | Op::ScD));
        // tcontrol.mte: in M mode, triggers that raise exceptions fire only while it is set (full module).
        let unwatched_machine = module == Module::Full && privilege == 3 && self.tcontrol & MTE == 0;
        let matched: [bool; COUNT] = std::array::from_fn(|i| {
            let t = self.tdata1[i];
            if unwatched_machine && action_of(t) == Action::Exception {
                return false;
            }
            match t >> TYPE_SHIFT {
                ICOUNT => t & PENDING != 0 && t & icount_mode(privilege) != 0,
                MCONTROL | MCONTROL6 => address_matches(t, self.tdata2[i], privilege, pc, access),
                _ => false,
            }
        });
        if module == Module::Qemu72 {
            return matched.iter().any(|&m| m).then_some(Action::Exception);
        }
        // A chain fires when every trigger in it matches, with its last trigger's action; a trigger with `chain`
        // set does not fire alone.
        let mut fired = None;
        let mut start = 0;
        while start < COUNT {
            let mut end = start;
            while end + 1 < COUNT && self.tdata1[end] & CHAIN != 0 && self.tdata1[end] >> TYPE_SHIFT != ICOUNT {
                end += 1;
            }
            if matched[start..=end].iter().all(|&m| m) {
                if fired != Some(Action::Debugger) {
                    fired = Some(action_of(self.tdata1[end]));
                }
                for t in &mut self.tdata1[start..=end] {
                    *t |= hit_bit(*t >> TYPE_SHIFT);
                    if *t >> TYPE_SHIFT == ICOUNT {
                        *t &= !PENDING;
                    }
                }
            }
            start = end + 1;
        }
        self.update_armed();
        fired
    }

    /// An instruction retired at `privilege`: each `icount` trigger counting in that mode counts it, and one
    /// that reaches zero becomes pending (it fires before the next instruction in a mode it names).
    pub fn retired(&mut self, privilege: u8) {
        let unwatched_machine = privilege == 3 && self.tcontrol & MTE == 0;
        for t in &mut self.tdata1 {
            if *t >> TYPE_SHIFT != ICOUNT
                || *t & icount_mode(privilege) == 0
                || (unwatched_machine && action_of(*t) == Action::Exception)
            {
                continue;
            }
            let count = (*t & COUNT_MASK) >> COUNT_SHIFT;
            if count == 0 {
                continue;
            }
            *t = (*t & !COUNT_MASK) | ((count - 1) << COUNT_SHIFT);
            if count == 1 {
                *t |= PENDING;
            }
        }
        self.update_armed();
    }
}

fn action_of(t: u64) -> Action {
    let action = if t >> TYPE_SHIFT == ICOUNT { t & ICOUNT_ACTION } else { (t >> ACTION_SHIFT) & 0xf };
    if action == 1 {
        Action::Debugger
    } else {
        Action::Exception
    }
}

fn hit_bit(kind: u64) -> u64 {
    match kind {
        MCONTROL => MCONTROL_HIT,
        MCONTROL6 => MCONTROL6_HIT0,
        _ => ICOUNT_HIT,
    }
}

/// `icount`'s bit for a privilege level.
fn icount_mode(privilege: u8) -> u64 {
    match privilege {
        3 => ICOUNT_M,
        1 => ICOUNT_S,
        _ => ICOUNT_U,
    }
}

/// Whether address trigger `t` (`mcontrol` or `mcontrol6`) with `tdata2` matches an instruction at `pc` making the
/// data access `access`, at `privilege`.
fn address_matches(t: u64, tdata2: u64, privilege: u8, pc: u64, access: Option<(u64, u64, u64)>) -> bool {
    let mode = match privilege {
        3 => M,
        1 => S,
        _ => U,
    };
    if t & mode == 0 {
        return false;
    }
    let match_type = (t & MATCH) >> MATCH_SHIFT;
    let len = watched_length(t);
    if t & EXECUTE != 0 && value_matches(match_type, tdata2, pc) {
        return true;
    }
    let Some((kinds, va, size)) = access else { return false };
    // For data, "equal" matches any accessed byte in the watched length (QEMU's reading); the other types
    // compare the address itself.
    t & kinds != 0
        && match match_type {
            0 => va < tdata2.wrapping_add(len) && tdata2 < va.wrapping_add(size),
            _ => value_matches(match_type, tdata2, va),
        }
}

/// The bytes from `tdata2` an "equal" trigger watches: its size field (QEMU's watchpoint length), or 8.
fn watched_length(t: u64) -> u64 {
    match (t >> TYPE_SHIFT, (t >> SIZELO_SHIFT) & 7) {
        (MCONTROL, 1) | (MCONTROL6, 1) => 1,
        (MCONTROL, 2) | (MCONTROL6, 2) => 2,
        (MCONTROL, 3) | (MCONTROL6, 3) => 4,
        _ => ANY_SIZE,
    }
}

/// The match types other than "equal" (Sdtrig 1.0, `mcontrol6.match`) on `value` against `tdata2`.
fn value_matches(match_type: u64, tdata2: u64, value: u64) -> bool {
    let masked = |half: u64| {
        let mask = tdata2 >> 32;
        (half & mask) == (tdata2 & 0xffff_ffff & mask)
    };
    let result = match match_type & 7 {
        0 => value == tdata2,
        // NAPOT: every bit above the lowest clear bit of tdata2 must agree.
        1 => {
            let ignored = (tdata2.trailing_ones() + 1).min(64);
            let keep = if ignored == 64 { 0 } else { !0u64 << ignored };
            value & keep == tdata2 & keep
        }
        2 => value >= tdata2,
        3 => value < tdata2,
        4 => masked(value & 0xffff_ffff),
        _ => masked(value >> 32),
    };
    // Types 8, 9, 12 and 13 are the negations of 0, 1, 4 and 5.
    result != (match_type & 8 != 0)
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
    use Module::{Full, Qemu72};

    impl Triggers {
        fn fires(
            &mut self,
            module: Module,
            privilege: u8,
            insn: &Insn,
            pc: u64,
            x: &[u64; 32],
            reserved: bool,
        ) -> bool {
            self.fire(module, privilege, insn, pc, x, reserved) == Some(Action::Exception)
        }
    }

    #[test]
    fn tdata1_keeps_what_qemu_keeps_and_ignores_types_it_lacks() {
        let mut t = Triggers::default();
        t.write_tdata1((MCONTROL << 60) | 0xfffff, Qemu72);
        assert_eq!(t.tdata1(), 0x2000_0000_0003_005f);
        t.write_tdata1((MCONTROL6 << 60) | 0x7ff_ffff, Qemu72);
        assert_eq!(t.tdata1(), 0x6000_0000_0180_005f);
        t.write_tdata1((3 << 60) | 0x7ff, Qemu72);
        assert_eq!(t.tdata1(), 0x6000_0000_0180_005f, "icount is not a type QEMU 7.2 has");
        t.write_select(2);
        assert_eq!(t.select, 0);
    }

    #[test]
    fn the_full_module_keeps_match_chain_and_icount_fields() {
        let mut t = Triggers::default();
        t.write_tdata1((MCONTROL6 << 60) | !0 >> 4, Full);
        // hit0, size 7 (reserved: 0), no action, chain, match 15 (reserved: 0), m, s, u, execute, store, load.
        assert_eq!(t.tdata1(), (MCONTROL6 << 60) | MCONTROL6_HIT0 | CHAIN | M | S | U | EXECUTE | STORE | LOAD);
        t.write_tdata1((MCONTROL6 << 60) | (5 << SIZE_SHIFT) | (9 << MATCH_SHIFT) | M, Full);
        assert_eq!(t.tdata1(), (MCONTROL6 << 60) | (5 << SIZE_SHIFT) | (9 << MATCH_SHIFT) | M);
        t.write_tdata1((MCONTROL << 60) | (2 << MATCH_SHIFT) | S, Full);
        assert_eq!(t.tdata1(), (MCONTROL << 60) | MASKMAX | (2 << MATCH_SHIFT) | S);
        t.write_tdata1((ICOUNT << 60) | !0 >> 4, Full);
        assert_eq!(t.tdata1(), (ICOUNT << 60) | 0x1ff_ffc0);
        t.write_select(1);
        t.write_tdata1((MCONTROL6 << 60) | CHAIN | M | EXECUTE, Full);
        assert_eq!(t.tdata1() & CHAIN, 0, "the last trigger cannot chain");
        t.write_tdata1(DISABLED << 60 | 0xff, Full);
        assert_eq!(t.tdata1(), DISABLED << 60);
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
        t.write_tdata1((MCONTROL << 60) | M | STORE, Qemu72);
        assert!(t.armed());
        assert!(t.fires(Qemu72, 3, &sd, 0, &x, false), "8 bytes at 0x1008 cover 0x100c");
        assert!(!t.fires(Qemu72, 1, &sd, 0, &x, false), "M only");
        assert!(!t.fires(Qemu72, 3, &lw, 0, &x, false), "a load, not a store");
        t.write_tdata1((MCONTROL << 60) | M | LOAD | (1 << SIZELO_SHIFT), Qemu72);
        assert!(!t.fires(Qemu72, 3, &lw, 0, &x, false), "lw covers 0x1004..0x1008");
        t.write_tdata2(0x1007);
        assert!(t.fires(Qemu72, 3, &lw, 0, &x, false));
        t.write_tdata1((MCONTROL6 << 60) | S | U | EXECUTE, Qemu72);
        t.write_tdata2(0x8000);
        assert!(t.fires(Qemu72, 0, &lw, 0x8000, &x, false) && !t.fires(Qemu72, 0, &lw, 0x8004, &x, false));
    }

    #[test]
    fn match_types_compare_as_the_specification_says() {
        assert!(value_matches(1, 0x1003, 0x1000) && value_matches(1, 0x1003, 0x1007));
        assert!(!value_matches(1, 0x1003, 0x1008), "0x...3: a NAPOT range of 8 bytes");
        assert!(value_matches(2, 0x1000, 0x1000) && !value_matches(2, 0x1000, 0xfff));
        assert!(value_matches(3, 0x1000, 0xfff) && !value_matches(3, 0x1000, 0x1000));
        // mask low: the low half's bits under the mask in tdata2's high half equal tdata2's low half.
        assert!(value_matches(4, 0x0000_00ff_0000_0012, 0xdead_0000_1234_5612));
        assert!(!value_matches(4, 0x0000_00ff_0000_0012, 0x0000_0000_0000_0013));
        assert!(value_matches(5, 0x0000_ffff_0000_dead, 0x0001_dead_0000_0000));
        assert!(value_matches(8, 0x1000, 0x1001) && !value_matches(8, 0x1000, 0x1000));
        assert!(value_matches(9, 0x1003, 0x1008) && !value_matches(12, 0x0000_00ff_0000_0012, 0x12));
        assert!(value_matches(1, !0, 0x1234), "all ones: every address");
    }

    #[test]
    fn chains_fire_only_when_every_link_matches_and_set_hit_bits() {
        let mut t = Triggers { tcontrol: MTE, ..Triggers::default() };
        let x = [0u64; 32];
        let nop = decode(0x0000_0013);
        // Trigger 0: pc >= 0x2000, chained to trigger 1: pc < 0x3000.
        t.write_tdata2(0x2000);
        t.write_tdata1((MCONTROL6 << 60) | CHAIN | (2 << MATCH_SHIFT) | M | EXECUTE, Full);
        t.write_select(1);
        t.write_tdata2(0x3000);
        t.write_tdata1((MCONTROL6 << 60) | (3 << MATCH_SHIFT) | M | EXECUTE, Full);
        assert!(!t.fires(Full, 3, &nop, 0x1000, &x, false));
        assert!(!t.fires(Full, 3, &nop, 0x3000, &x, false));
        assert_eq!(t.tdata1[0] & MCONTROL6_HIT0, 0);
        assert!(t.fires(Full, 3, &nop, 0x2ffc, &x, false));
        assert!(t.tdata1[0] & MCONTROL6_HIT0 != 0 && t.tdata1[1] & MCONTROL6_HIT0 != 0);
        // Without mte, M mode is not watched; a trap into M clears it and mret brings it back.
        t.enter_machine_trap();
        assert!(!t.fires(Full, 3, &nop, 0x2ffc, &x, false));
        t.machine_return();
        assert!(t.fires(Full, 3, &nop, 0x2ffc, &x, false));
    }

    #[test]
    fn icount_fires_before_the_instruction_after_the_last_counted_one() {
        let mut t = Triggers::default();
        let x = [0u64; 32];
        let nop = decode(0x0000_0013);
        t.write_tdata1((ICOUNT << 60) | (3 << COUNT_SHIFT) | ICOUNT_U, Full);
        assert!(t.armed());
        t.retired(1); // S mode: not counted
        t.retired(0);
        t.retired(0);
        assert!(!t.fires(Full, 0, &nop, 0, &x, false));
        t.retired(0);
        assert_eq!(t.tdata1() & (COUNT_MASK | PENDING), PENDING);
        assert!(!t.fires(Full, 1, &nop, 0, &x, false), "pending, but S is not a mode it names");
        assert!(t.fires(Full, 0, &nop, 0, &x, false));
        assert_eq!(t.tdata1() & (PENDING | ICOUNT_HIT), ICOUNT_HIT);
        assert!(!t.armed(), "spent");
    }
}
