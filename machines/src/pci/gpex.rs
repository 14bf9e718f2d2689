//! QEMU's generic PCIe host bridge (`gpex-pcihost`) as `virt` maps it: an ECAM window of configuration space
//! for buses 0 to 255, the host bridge itself at 00:00.0 (Red Hat 1b36:0008, class "host bridge"), and the
//! windows onto PCI I/O and memory space and the INTx lines the device tree gives the guest.
//!
//! ECAM (PCI Express 4.0, section 7.2.2): the configuration register `reg` of bus `b`, device `d`, function
//! `f` is at offset `b << 20 | d << 15 | f << 12 | reg`. Functions that do not exist read as all ones, and
//! writes to them vanish, which is how enumeration finds the empty slots.

use super::{ConfigSpace, Identity, CONFIG_SIZE, VENDOR_REDHAT};
use crate::fdt::{FdtDevice, FdtNode, FdtWiring, PciHost, PciWindow};
use rewind::device::{any_state, decode_state, encode_state, RestoreError};
use rewind::{Device, DeviceBus};
use serde::{Deserialize, Serialize};

/// The host bridge's identity (QEMU's `gpex-root`).
pub const HOST_BRIDGE: Identity = Identity { vendor: VENDOR_REDHAT, device: 0x0008, revision: 0, class: 0x06_00_00 };

/// A function's address on the root bus: device << 3 | function.
type DevFn = u8;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct GpexState {
    /// The functions on bus 0, by device and function number.
    functions: Vec<(DevFn, ConfigSpace)>,
}

pub struct Gpex {
    state: GpexState,
    /// What the device tree says about the windows and interrupt lines.
    host: PciHost,
}

impl Gpex {
    /// A host bridge with nothing behind it yet; `host` describes its windows and INTx lines.
    pub fn new(host: PciHost) -> Gpex {
        Gpex { state: GpexState { functions: vec![(0, ConfigSpace::new(HOST_BRIDGE))] }, host }
    }

    /// The function an ECAM offset addresses, and the register offset in it. Only bus 0 has functions: there are
    /// no bridges behind the root.
    fn function(&mut self, offset: u64) -> Option<(&mut ConfigSpace, usize)> {
        let (bus, devfn, reg) = (offset >> 20, (offset >> 12) as u8, (offset & 0xfff) as usize);
        if bus != 0 || reg >= CONFIG_SIZE {
            return None;
        }
        self.state.functions.iter_mut().find(|(f, _)| *f == devfn).map(|(_, c)| (c, reg))
    }

    fn read32(&mut self, offset: u64, size: u8) -> u32 {
        match self.function(offset) {
            Some((config, reg)) => config.read(reg, usize::from(size)),
            None => u32::MAX.checked_shr(32 - 8 * u32::from(size.clamp(1, 4))).unwrap_or(u32::MAX),
        }
    }
}

impl Device for Gpex {
    fn kind(&self) -> &'static str {
        "gpex-pcihost"
    }

    fn reset(&mut self) {
        let host = self.host.clone();
        *self = Gpex::new(host);
    }

    /// Configuration accesses are at most 4 bytes wide; an 8-byte one is split in two, as QEMU's memory core
    /// splits it.
    fn read(&mut self, offset: u64, size: u8, _bus: &mut DeviceBus) -> u64 {
        if size == 8 {
            return u64::from(self.read32(offset, 4)) | u64::from(self.read32(offset + 4, 4)) << 32;
        }
        u64::from(self.read32(offset, size))
    }

    fn write(&mut self, offset: u64, size: u8, value: u64, _bus: &mut DeviceBus) {
        let halves: &[(u64, u8, u32)] =
            if size == 8 { &[(0, 4, value as u32), (4, 4, (value >> 32) as u32)] } else { &[(0, size, value as u32)] };
        for &(delta, size, value) in halves {
            if let Some((config, reg)) = self.function(offset + delta) {
                config.write(reg, usize::from(size), value);
            }
        }
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&self.state)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        let state: GpexState = decode_state(self.kind(), state, any_state)?;
        if !state.functions.iter().all(|(_, c)| c.well_formed()) {
            let reason = "a function's configuration space has the wrong size".into();
            return Err(RestoreError { device: self.kind().into(), reason });
        }
        self.state = state;
        Ok(())
    }

    fn pci_info(&self) -> Option<String> {
        let entries = self.state.functions.iter().map(|(devfn, c)| super::info_pci_entry(c, *devfn, &[]));
        Some(entries.collect())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        self.state
            .functions
            .iter()
            .map(|(devfn, c)| {
                let id = c.identity();
                let name = format!("00:{:02x}.{}", devfn >> 3, devfn & 7);
                let value = format!(
                    "[{:04x}:{:04x}] class {:06x} rev {} command {:#06x}",
                    id.vendor,
                    id.device,
                    id.class,
                    id.revision,
                    c.command()
                );
                (name, value)
            })
            .collect()
    }
}

impl FdtDevice for Gpex {
    fn fdt_node(&self) -> Option<FdtNode> {
        Some(FdtNode {
            name: "pci",
            compatible: &["pci-host-ecam-generic"],
            wiring: FdtWiring::PciHost(self.host.clone()),
            cells: Vec::new(),
        })
    }
}

/// The windows QEMU 7.2's `virt` opens onto PCI space: 64 KiB of I/O at 0x3000000, 1 GiB of 32-bit memory at
/// 0x40000000 and 16 GiB of 64-bit memory at the first 16 GiB boundary above RAM (`ram_end`).
pub fn virt_windows(ram_end: u64) -> Vec<PciWindow> {
    use crate::fdt::PciSpace;
    const HIGH_SIZE: u64 = 16 << 30;
    let high = ram_end.div_ceil(HIGH_SIZE) * HIGH_SIZE;
    vec![
        PciWindow { space: PciSpace::Io, pci_addr: 0, cpu_addr: 0x300_0000, size: 0x1_0000 },
        PciWindow { space: PciSpace::Mem32, pci_addr: 0x4000_0000, cpu_addr: 0x4000_0000, size: 0x4000_0000 },
        PciWindow { space: PciSpace::Mem64, pci_addr: high, cpu_addr: high, size: HIGH_SIZE },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbus::TestBus;

    fn gpex() -> Gpex {
        Gpex::new(PciHost {
            buses: (0, 0xff),
            windows: virt_windows(0x8800_0000),
            intx_lines: [32, 33, 34, 35],
            msi: false,
        })
    }

    #[test]
    fn the_host_bridge_answers_at_00_00_0_and_nothing_else_does() {
        let mut t = TestBus::new(1);
        let mut g = gpex();
        assert_eq!(g.read(0, 4, &mut t.bus()), 0x0008_1b36);
        assert_eq!(g.read(8, 4, &mut t.bus()), 0x0600_0000);
        assert_eq!(g.read(0, 8, &mut t.bus()), 0x0000_0000_0008_1b36, "command and status are 0 after reset");
        for absent in [1 << 15, 1 << 12, 1 << 20, 31 << 15 | 7 << 12] {
            assert_eq!(g.read(absent, 4, &mut t.bus()), 0xffff_ffff, "{absent:#x}");
            assert_eq!(g.read(absent, 2, &mut t.bus()), 0xffff, "{absent:#x}");
            assert_eq!(g.read(absent, 1, &mut t.bus()), 0xff, "{absent:#x}");
        }
        assert_eq!(g.read(0x100, 4, &mut t.bus()), 0xffff_ffff, "no extended space on a conventional function");
    }

    #[test]
    fn command_writes_stick_and_survive_a_save_but_not_a_reset() {
        let mut t = TestBus::new(1);
        let mut g = gpex();
        g.write(4, 2, 0x0006, &mut t.bus());
        g.write(1 << 15 | 4, 2, 0x0006, &mut t.bus()); // nobody there
        assert_eq!(g.read(4, 2, &mut t.bus()), 0x0006);
        let mut other = gpex();
        other.restore(&g.save()).unwrap();
        assert_eq!(other.read(4, 2, &mut t.bus()), 0x0006);
        assert!(other.restore(&[1, 2, 3]).is_err());
        g.reset();
        assert_eq!(g.read(4, 2, &mut t.bus()), 0);
    }

    #[test]
    fn the_high_window_sits_at_the_first_16_gib_boundary_above_ram() {
        assert_eq!(virt_windows(0x8000_0000 + (128 << 20))[2].cpu_addr, 0x4_0000_0000);
        assert_eq!(virt_windows(0x8000_0000 + (16 << 30))[2].cpu_addr, 0x8_0000_0000);
    }
}
