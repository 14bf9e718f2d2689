//! SiFive CLINT (core-local interruptor) for N harts, as QEMU's `virt` maps it at 0x2000000.
//!
//! | offset | register |
//! |---|---|
//! | `4*h` | `msip[h]`: bit 0 drives hart h's MSIP |
//! | `0x4000 + 8*h` | `mtimecmp[h]` (64-bit; 32-bit halves accessible): MTIP of hart h is `mtime >= mtimecmp[h]` |
//! | `0xbff8` | `mtime` (64-bit, read-only here) |
//!
//! `mtime` is the machine's virtual time (`bus.now()`, 10 MHz ticks), which the engine derives from the instruction
//! count alone. Writes to `mtime` are ignored: letting the guest move it would need an offset in every timer
//! consumer (RTC, deadlines) and no supported guest (OpenSBI, Linux) writes it, so time stays a pure function of
//! execution, which record/replay and reverse debugging rely on.

use crate::fdt::{FdtDevice, FdtNode, FdtWiring};
use rewind::arch::riscv::mip;
use rewind::device::{decode_state, encode_state, RestoreError};
use rewind::{Device, DeviceBus};
use serde::{Deserialize, Serialize};

use crate::regs::{extract, merge};

pub const MSIP_BASE: u64 = 0x0;
pub const MTIMECMP_BASE: u64 = 0x4000;
pub const MTIME: u64 = 0xbff8;
/// Harts the register layout has room for (msip array ends where mtimecmp begins).
pub const MAX_HARTS: usize = 4095;

/// Guest-visible state. `Default` is a zero-hart CLINT; use [`ClintState::reset`] for N harts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClintState {
    pub msip: Vec<bool>,
    pub mtimecmp: Vec<u64>,
    /// MTIP as last computed (`now >= mtimecmp`).
    pub mtip: Vec<bool>,
}

impl ClintState {
    /// Reset state for `harts` harts: no software interrupt, `mtimecmp = u64::MAX`.
    pub fn reset(harts: usize) -> ClintState {
        ClintState { msip: vec![false; harts], mtimecmp: vec![u64::MAX; harts], mtip: vec![false; harts] }
    }
}

pub struct Clint {
    state: ClintState,
}

impl Clint {
    pub fn new(harts: usize) -> Clint {
        Clint { state: ClintState::reset(harts.clamp(1, MAX_HARTS)) }
    }

    pub fn state(&self) -> &ClintState {
        &self.state
    }

    fn harts(&self) -> usize {
        self.state.msip.len()
    }

    fn update_timer(&mut self, hart: usize, bus: &mut DeviceBus) {
        if let Some(&cmp) = self.state.mtimecmp.get(hart) {
            let level = bus.now() >= cmp;
            self.state.mtip[hart] = level;
            bus.set_hart_irq(hart, mip::MTIP, level);
        }
    }

    fn update_all(&mut self, bus: &mut DeviceBus) {
        for h in 0..self.harts() {
            bus.set_hart_irq(h, mip::MSIP, self.state.msip[h]);
            self.update_timer(h, bus);
        }
    }
}

impl Device for Clint {
    fn kind(&self) -> &'static str {
        "sifive_clint"
    }

    fn reset(&mut self) {
        self.state = ClintState::reset(self.harts());
    }

    fn read(&mut self, offset: u64, size: u8, bus: &mut DeviceBus) -> u64 {
        let harts = self.harts() as u64;
        if offset < MTIMECMP_BASE {
            let hart = offset / 4;
            if hart < harts {
                let word = u64::from(self.state.msip[hart as usize]);
                return extract(word, offset % 4, size.min(4));
            }
        } else if offset < MTIMECMP_BASE + 8 * harts {
            let rel = offset - MTIMECMP_BASE;
            return extract(self.state.mtimecmp[(rel / 8) as usize], rel % 8, size);
        } else if (MTIME..MTIME + 8).contains(&offset) {
            return extract(bus.now(), offset - MTIME, size);
        }
        0
    }

    fn write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        let harts = self.harts() as u64;
        if offset < MTIMECMP_BASE {
            let hart = (offset / 4) as usize;
            // Only bit 0 of byte 0 is implemented.
            if (hart as u64) < harts && offset & 3 == 0 {
                self.state.msip[hart] = value & 1 != 0;
                bus.set_hart_irq(hart, mip::MSIP, self.state.msip[hart]);
            }
        } else if offset < MTIMECMP_BASE + 8 * harts {
            let rel = offset - MTIMECMP_BASE;
            let hart = (rel / 8) as usize;
            self.state.mtimecmp[hart] = merge(self.state.mtimecmp[hart], rel % 8, size, value);
            self.update_timer(hart, bus);
        }
        // mtime (0xbff8) is read-only: see the module documentation.
    }

    fn tick(&mut self, bus: &mut DeviceBus) {
        self.update_all(bus);
    }

    fn is_clock(&self, offset: u64) -> bool {
        (MTIME..MTIME + 8).contains(&offset)
    }

    fn next_deadline(&self) -> Option<u64> {
        self.state.mtimecmp.iter().zip(&self.state.mtip).filter(|(_, &fired)| !fired).map(|(&cmp, _)| cmp).min()
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&self.state)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        let n = self.harts();
        self.state = decode_state(self.kind(), state, |s: &ClintState| {
            if s.msip.len() != n || s.mtimecmp.len() != n || s.mtip.len() != n {
                return Err(format!("state is for {} harts, this CLINT has {n}", s.msip.len()));
            }
            Ok(())
        })?;
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for h in 0..self.harts() {
            out.push((format!("msip[{h}]"), u8::from(self.state.msip[h]).to_string()));
            out.push((format!("mtimecmp[{h}]"), format!("{:#x}", self.state.mtimecmp[h])));
            out.push((format!("mtip[{h}]"), u8::from(self.state.mtip[h]).to_string()));
        }
        out
    }
}

impl FdtDevice for Clint {
    fn fdt_node(&self) -> Option<FdtNode> {
        const SOFTWARE: u32 = 3;
        const TIMER: u32 = 7;
        Some(FdtNode {
            name: "clint",
            compatible: &["sifive,clint0", "riscv,clint0"],
            wiring: FdtWiring::HartLocal(&[SOFTWARE, TIMER]),
            cells: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbus::TestBus;

    #[test]
    fn reset_mtimecmp_is_max_and_nothing_is_pending() {
        let mut t = TestBus::new(2);
        let mut c = Clint::new(2);
        assert_eq!(c.read(0x4000, 8, &mut t.bus()), u64::MAX);
        assert_eq!(c.read(0x4008, 8, &mut t.bus()), u64::MAX);
        c.tick(&mut t.bus());
        assert_eq!(t.hart_irqs(), vec![0, 0]);
        assert_eq!(c.next_deadline(), Some(u64::MAX));
    }

    #[test]
    fn msip_bit0_drives_msip_of_that_hart_only() {
        let mut t = TestBus::new(2);
        let mut c = Clint::new(2);
        c.write(4, 4, 0xffff_ffff, &mut t.bus());
        assert_eq!(t.hart_irqs(), vec![0, mip::MSIP]);
        assert_eq!(c.read(4, 4, &mut t.bus()), 1);
        c.write(4, 4, 0, &mut t.bus());
        assert_eq!(t.hart_irqs(), vec![0, 0]);
    }

    #[test]
    fn mtip_rises_exactly_at_the_deadline_and_falls_when_mtimecmp_moves() {
        let mut t = TestBus::new(1);
        let mut c = Clint::new(1);
        c.write(0x4000, 8, 1000, &mut t.bus());
        assert_eq!(c.next_deadline(), Some(1000));
        t.now = 999;
        c.tick(&mut t.bus());
        assert_eq!(t.hart_irqs()[0] & mip::MTIP, 0);
        t.now = 1000;
        c.tick(&mut t.bus());
        assert_eq!(t.hart_irqs()[0] & mip::MTIP, mip::MTIP);
        assert_eq!(c.next_deadline(), None, "a reached mtimecmp is no longer a deadline");
        c.write(0x4000, 8, 5000, &mut t.bus());
        assert_eq!(t.hart_irqs()[0] & mip::MTIP, 0, "writing mtimecmp updates MTIP immediately");
        assert_eq!(c.next_deadline(), Some(5000));
    }

    #[test]
    fn mtimecmp_halves_are_written_and_read_as_32_bit_registers() {
        let mut t = TestBus::new(2);
        let mut c = Clint::new(2);
        c.write(0x4008, 4, 0x1234_5678, &mut t.bus());
        c.write(0x400c, 4, 0x9, &mut t.bus());
        assert_eq!(c.read(0x4008, 8, &mut t.bus()), 0x9_1234_5678);
        assert_eq!(c.read(0x400c, 4, &mut t.bus()), 0x9);
        assert_eq!(c.read(0x4008, 4, &mut t.bus()), 0x1234_5678);
        assert_eq!(c.next_deadline(), Some(0x9_1234_5678));
    }

    #[test]
    fn mtime_reads_virtual_time_and_ignores_writes() {
        let mut t = TestBus::new(1);
        let mut c = Clint::new(1);
        t.now = 0x1_0000_0002;
        assert_eq!(c.read(0xbff8, 8, &mut t.bus()), 0x1_0000_0002);
        assert_eq!(c.read(0xbffc, 4, &mut t.bus()), 1);
        c.write(0xbff8, 8, 0, &mut t.bus());
        assert_eq!(c.read(0xbff8, 4, &mut t.bus()), 2);
    }

    #[test]
    fn unknown_offsets_read_zero_and_ignore_writes() {
        let mut t = TestBus::new(1);
        let mut c = Clint::new(1);
        for off in [0x4u64, 0x3ffc, 0x4008, 0xbff0, 0xfff8, 0x1_0000] {
            c.write(off, 8, u64::MAX, &mut t.bus());
            assert_eq!(c.read(off, 8, &mut t.bus()), 0, "offset {off:#x}");
        }
        assert_eq!(t.hart_irqs(), vec![0]);
    }

    #[test]
    fn state_round_trips_and_hart_count_is_checked() {
        let mut t = TestBus::new(2);
        let mut c = Clint::new(2);
        c.write(0, 4, 1, &mut t.bus());
        c.write(0x4008, 8, 77, &mut t.bus());
        let mut d = Clint::new(2);
        d.restore(&c.save()).unwrap();
        assert_eq!(d.state(), c.state());
        assert!(Clint::new(3).restore(&c.save()).is_err());
        assert!(d.restore(b"junk").is_err());
    }
}
