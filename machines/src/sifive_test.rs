//! SiFive test finisher ("sifive,test0/1"), the poweroff/reset device QEMU maps at 0x100000 on `virt`.
//!
//! A write to offset 0 carries a status in bits 15:0 and an exit code in bits 31:16:
//! `0x5555` = pass (power off with code 0), `0x3333` = fail (power off with the code), `0x7777` = reset.
//! OpenSBI's "sifive,test" driver and Linux's syscon-poweroff/reboot nodes use it. Reads return 0.

use crate::fdt::{FdtDevice, FdtNode, FdtWiring};
use rewind::device::{any_state, decode_state, encode_state, RestoreError};
use rewind::{Device, DeviceBus, PowerRequest};
use serde::{Deserialize, Serialize};

pub const FINISHER_FAIL: u32 = 0x3333;
pub const FINISHER_PASS: u32 = 0x5555;
pub const FINISHER_RESET: u32 = 0x7777;

/// Guest-visible state: the device has none beyond the last request it made (kept for `inspect`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SifiveTestState {
    pub last_request: Option<PowerRequest>,
}

#[derive(Default)]
pub struct SifiveTest {
    state: SifiveTestState,
}

impl SifiveTest {
    pub fn new() -> SifiveTest {
        SifiveTest::default()
    }
}

impl Device for SifiveTest {
    fn kind(&self) -> &'static str {
        "sifive_test"
    }

    fn reset(&mut self) {}

    fn read(&mut self, _offset: u64, _size: u8, _bus: &mut DeviceBus) -> u64 {
        0
    }

    fn write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        if offset != 0 {
            return;
        }
        let value = (value & crate::regs::size_mask(size.min(4))) as u32;
        let code = value >> 16;
        let request = match value & 0xffff {
            FINISHER_PASS => PowerRequest::Poweroff { code: 0 },
            FINISHER_FAIL => PowerRequest::Poweroff { code },
            FINISHER_RESET => PowerRequest::Reset,
            _ => return,
        };
        self.state.last_request = Some(request);
        bus.request_power(request);
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&self.state)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        self.state = decode_state(self.kind(), state, any_state)?;
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        vec![("last_request".into(), format!("{:?}", self.state.last_request))]
    }
}

impl FdtDevice for SifiveTest {
    fn fdt_node(&self) -> Option<FdtNode> {
        Some(FdtNode {
            name: "test",
            compatible: &["sifive,test1", "sifive,test0", "syscon"],
            wiring: FdtWiring::Syscon(&[
                ("poweroff", "syscon-poweroff", FINISHER_PASS),
                ("reboot", "syscon-reboot", FINISHER_RESET),
            ]),
            cells: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbus::TestBus;

    #[test]
    fn pass_fail_and_reset_codes_become_power_requests() {
        let mut t = TestBus::new(1);
        let mut dev = SifiveTest::new();
        dev.write(0, 4, 0x5555, &mut t.bus());
        assert_eq!(t.power(), Some(PowerRequest::Poweroff { code: 0 }));
        t.signals = rewind::device::Signals::new(1);
        dev.write(0, 4, (42 << 16) | 0x3333, &mut t.bus());
        assert_eq!(t.power(), Some(PowerRequest::Poweroff { code: 42 }));
        t.signals = rewind::device::Signals::new(1);
        dev.write(0, 4, 0x7777, &mut t.bus());
        assert_eq!(t.power(), Some(PowerRequest::Reset));
    }

    #[test]
    fn other_values_offsets_and_reads_do_nothing() {
        let mut t = TestBus::new(1);
        let mut dev = SifiveTest::new();
        dev.write(0, 4, 0x1234, &mut t.bus());
        dev.write(4, 4, 0x5555, &mut t.bus());
        dev.write(0, 1, 0x5555, &mut t.bus()); // a byte write only carries 0x55
        assert_eq!(t.power(), None);
        assert_eq!(dev.read(0, 4, &mut t.bus()), 0);
        assert_eq!(dev.read(0xfff, 1, &mut t.bus()), 0);
    }

    #[test]
    fn state_round_trips() {
        let mut t = TestBus::new(1);
        let mut dev = SifiveTest::new();
        dev.write(0, 4, 0x7777, &mut t.bus());
        let mut other = SifiveTest::new();
        other.restore(&dev.save()).unwrap();
        assert_eq!(other.state, dev.state);
        assert!(other.restore(&[0xff, 0xff, 0xff]).is_err());
    }
}
