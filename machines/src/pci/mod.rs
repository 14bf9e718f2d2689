//! PCI: the configuration space every function has, and [`gpex`], the generic ECAM host bridge of QEMU's `virt`.
//!
//! A function's configuration space is 256 bytes of registers, some read-only (identity, class), some writable
//! bit by bit (the command register, the interrupt line); [`ConfigSpace`] keeps the bytes and the mask of bits
//! the guest may change, as QEMU's `PCIDevice` keeps `config` and `wmask`, so a write does what it does on
//! QEMU's devices whatever its width or alignment.

pub mod gpex;

pub use gpex::Gpex;

use serde::{Deserialize, Serialize};

/// Size of a conventional function's configuration space; ECAM offsets above it read as all ones, as in QEMU.
pub const CONFIG_SIZE: usize = 256;

/// Red Hat's PCI vendor ID, QEMU's devices' (`PCI_VENDOR_ID_REDHAT`).
pub const VENDOR_REDHAT: u16 = 0x1b36;
/// The subsystem QEMU gives every device (`PCI_SUBVENDOR_ID_REDHAT_QUMRANET`, `PCI_SUBDEVICE_ID_QEMU`).
pub const SUBSYSTEM_VENDOR_QEMU: u16 = 0x1af4;
pub const SUBSYSTEM_QEMU: u16 = 0x1100;

/// Standard header registers (PCI Local Bus 3.0, section 6.1).
pub mod reg {
    pub const VENDOR_ID: usize = 0x00;
    pub const DEVICE_ID: usize = 0x02;
    pub const COMMAND: usize = 0x04;
    pub const REVISION: usize = 0x08;
    pub const CLASS_PROG: usize = 0x09;
    pub const CACHE_LINE_SIZE: usize = 0x0c;
    pub const LATENCY_TIMER: usize = 0x0d;
    pub const HEADER_TYPE: usize = 0x0e;
    pub const SUBSYSTEM_VENDOR_ID: usize = 0x2c;
    pub const SUBSYSTEM_ID: usize = 0x2e;
    pub const INTERRUPT_LINE: usize = 0x3c;
}

/// Command register bits QEMU lets the guest write (`pci_init_wmask`): I/O and memory decoding, bus mastering,
/// parity and SERR# reporting, INTx disable.
pub const COMMAND_WRITABLE: u16 = 0x0001 | 0x0002 | 0x0004 | 0x0040 | 0x0100 | 0x0400;

/// What identifies a function: IDs and class code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub vendor: u16,
    pub device: u16,
    pub revision: u8,
    /// Base class, subclass and programming interface (0x060000: host bridge).
    pub class: u32,
}

/// One function's configuration space and the bits of it the guest may write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSpace {
    bytes: Vec<u8>,
    writable: Vec<u8>,
}

impl ConfigSpace {
    /// A type-0 header for `id` with QEMU's subsystem IDs and writable bits.
    pub fn new(id: Identity) -> ConfigSpace {
        let mut c = ConfigSpace { bytes: vec![0; CONFIG_SIZE], writable: vec![0; CONFIG_SIZE] };
        c.set_u16(reg::VENDOR_ID, id.vendor);
        c.set_u16(reg::DEVICE_ID, id.device);
        c.bytes[reg::REVISION] = id.revision;
        c.bytes[reg::CLASS_PROG..reg::CLASS_PROG + 3].copy_from_slice(&id.class.to_le_bytes()[..3]);
        c.set_u16(reg::SUBSYSTEM_VENDOR_ID, SUBSYSTEM_VENDOR_QEMU);
        c.set_u16(reg::SUBSYSTEM_ID, SUBSYSTEM_QEMU);
        c.writable[reg::COMMAND..reg::COMMAND + 2].copy_from_slice(&COMMAND_WRITABLE.to_le_bytes());
        for r in [reg::CACHE_LINE_SIZE, reg::LATENCY_TIMER, reg::INTERRUPT_LINE] {
            c.writable[r] = 0xff;
        }
        c
    }

    fn set_u16(&mut self, offset: usize, v: u16) {
        self.bytes[offset..offset + 2].copy_from_slice(&v.to_le_bytes());
    }

    /// Reads `size` bytes (1 to 4) at `offset`, little-endian; bytes past the space read as all ones.
    pub fn read(&self, offset: usize, size: usize) -> u32 {
        (0..size.min(4)).fold(0, |acc, i| acc | u32::from(*self.bytes.get(offset + i).unwrap_or(&0xff)) << (8 * i))
    }

    /// Writes `size` bytes (1 to 4) of `value` at `offset`: only the writable bits change.
    pub fn write(&mut self, offset: usize, size: usize, value: u32) {
        for i in 0..size.min(4) {
            let (Some(byte), Some(&mask)) = (self.bytes.get_mut(offset + i), self.writable.get(offset + i)) else {
                return;
            };
            let new = (value >> (8 * i)) as u8;
            *byte = (*byte & !mask) | (new & mask);
        }
    }

    pub fn identity(&self) -> Identity {
        Identity {
            vendor: self.read(reg::VENDOR_ID, 2) as u16,
            device: self.read(reg::DEVICE_ID, 2) as u16,
            revision: self.bytes[reg::REVISION],
            class: self.read(reg::CLASS_PROG, 3),
        }
    }

    pub fn command(&self) -> u16 {
        self.read(reg::COMMAND, 2) as u16
    }

    /// Whether the space has the layout [`ConfigSpace::new`] makes (a restored state is checked with it).
    pub fn well_formed(&self) -> bool {
        self.bytes.len() == CONFIG_SIZE && self.writable.len() == CONFIG_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRIDGE: Identity = Identity { vendor: VENDOR_REDHAT, device: 0x0008, revision: 0, class: 0x06_00_00 };

    #[test]
    fn identity_and_subsystem_read_back_at_every_width() {
        let c = ConfigSpace::new(BRIDGE);
        assert_eq!(c.read(0, 4), 0x0008_1b36);
        assert_eq!(c.read(0, 2), 0x1b36);
        assert_eq!(c.read(1, 1), 0x1b);
        assert_eq!(c.read(8, 4), 0x0600_0000);
        assert_eq!(c.read(reg::SUBSYSTEM_VENDOR_ID, 4), 0x1100_1af4);
        assert_eq!(c.identity(), BRIDGE);
        assert_eq!(c.read(0xfe, 4), 0xffff_0000, "past the end reads as ones");
    }

    #[test]
    fn only_writable_bits_change() {
        let mut c = ConfigSpace::new(BRIDGE);
        c.write(0, 4, 0xdead_beef);
        assert_eq!(c.read(0, 4), 0x0008_1b36, "IDs are read-only");
        c.write(reg::COMMAND, 4, 0xffff_ffff);
        assert_eq!(c.command(), COMMAND_WRITABLE);
        assert_eq!(c.read(reg::COMMAND + 2, 2), 0, "status has no writable bits");
        c.write(reg::INTERRUPT_LINE, 1, 0x21);
        assert_eq!(c.read(reg::INTERRUPT_LINE, 1), 0x21);
        c.write(reg::COMMAND, 1, 0);
        assert_eq!(c.command(), COMMAND_WRITABLE & 0xff00, "a byte write changes one byte");
        c.write(0xff, 4, u32::MAX); // straddling the end: ignored past it
        assert!(c.well_formed());
    }
}
