//! PCI: the configuration space every function has, and [`gpex`], the generic ECAM host bridge of QEMU's `virt`.
//!
//! A function's configuration space is 256 bytes of registers, some read-only (identity, class), some writable
//! bit by bit (the command register, the interrupt line); [`ConfigSpace`] keeps the bytes and the mask of bits
//! the guest may change, as QEMU's `PCIDevice` keeps `config` and `wmask`, so a write does what it does on
//! QEMU's devices whatever its width or alignment.

pub mod endpoint;
pub mod gpex;

pub use endpoint::{Bar, BarKind, Endpoint, FunctionAccess};
pub use gpex::Gpex;

use rewind::Device;
use serde::{Deserialize, Serialize};

/// A device behind the host bridge: a machine device with a PCI function's side of the bus.
pub trait PciFunction: Device {
    fn endpoint(&self) -> &Endpoint;
    fn endpoint_mut(&mut self) -> &mut Endpoint;
}

/// Device numbers on bus 0: 0 is the host bridge's.
pub const SLOTS: u8 = 32;

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
    pub const STATUS: usize = 0x06;
    pub const REVISION: usize = 0x08;
    pub const CLASS_PROG: usize = 0x09;
    pub const CACHE_LINE_SIZE: usize = 0x0c;
    pub const LATENCY_TIMER: usize = 0x0d;
    pub const HEADER_TYPE: usize = 0x0e;
    /// The six base address registers, 4 bytes each (a 64-bit BAR takes two).
    pub const BAR0: usize = 0x10;
    pub const SUBSYSTEM_VENDOR_ID: usize = 0x2c;
    pub const SUBSYSTEM_ID: usize = 0x2e;
    pub const CAPABILITY_LIST: usize = 0x34;
    pub const INTERRUPT_LINE: usize = 0x3c;
    pub const INTERRUPT_PIN: usize = 0x3d;
}

/// Command register: I/O space decoding.
pub const COMMAND_IO: u16 = 0x0001;
/// Command register: memory space decoding.
pub const COMMAND_MEMORY: u16 = 0x0002;
/// Command register: the function may master the bus (DMA).
pub const COMMAND_MASTER: u16 = 0x0004;
/// Command register: legacy INTx interrupts are disabled.
pub const COMMAND_INTX_DISABLE: u16 = 0x0400;
/// Status register: the function has a capability list.
pub const STATUS_CAP_LIST: u16 = 0x0010;
/// Status register: the function's INTx is asserted (whatever the command register's disable bit says).
pub const STATUS_INTERRUPT: u16 = 0x0008;

/// Where capabilities start: right after the standard header.
const CAPABILITIES_START: usize = 0x40;

/// Command register bits QEMU lets the guest write (`pci_init_wmask`): I/O and memory decoding, bus mastering,
/// parity and SERR# reporting, INTx disable. Of the rest of the header only the cache line size and the interrupt
/// line are writable (not the latency timer, which PCI Express does not have).
pub const COMMAND_WRITABLE: u16 = 0x0001 | 0x0002 | 0x0004 | 0x0040 | 0x0100 | 0x0400;

/// QEMU's names for the classes of rewind's functions (`pci_class_descriptions`); others print as a number.
const CLASS_NAMES: [(u16, &str); 3] =
    [(0x0100, "SCSI controller"), (0x0200, "Ethernet controller"), (0x0600, "Host bridge")];

/// A function's entry in `info pci`, as QEMU's `hmp_info_pci_device` prints it: its address, class and IDs, its
/// interrupt pin and line register, and each BAR at the PCI address it decodes (all ones while it decodes none).
pub fn info_pci_entry(config: &ConfigSpace, devfn: u8, bars: &[(usize, Bar, Option<u64>)]) -> String {
    use std::fmt::Write;
    let id = config.identity();
    let class = (id.class >> 8) as u16;
    let mut s = format!("  Bus {:2}, device {:3}, function {}:\n", 0, devfn >> 3, devfn & 7);
    match CLASS_NAMES.iter().find(|(c, _)| *c == class) {
        Some((_, name)) => s.push_str(&format!("    {name}: ")),
        None => s.push_str(&format!("    Class {class:04}: ")),
    }
    let _ = writeln!(s, "PCI device {:04x}:{:04x}", id.vendor, id.device);
    let subsystem = (config.read(reg::SUBSYSTEM_VENDOR_ID, 2), config.read(reg::SUBSYSTEM_ID, 2));
    let _ = writeln!(s, "      PCI subsystem {:04x}:{:04x}", subsystem.0, subsystem.1);
    let pin = config.read(reg::INTERRUPT_PIN, 1);
    if pin != 0 {
        let pin = char::from(b'A' + (pin as u8 - 1).min(3));
        let _ = writeln!(s, "      IRQ {}, pin {pin}", config.read(reg::INTERRUPT_LINE, 1));
    }
    for (i, bar, addr) in bars {
        let addr = addr.unwrap_or(u64::MAX);
        let last = addr.wrapping_add(bar.size - 1);
        let _ = match bar.kind {
            BarKind::Io => writeln!(s, "      BAR{i}: I/O at {addr:#06x} [{last:#06x}]."),
            BarKind::Mem32 => writeln!(s, "      BAR{i}: 32 bit memory at {addr:#010x} [{last:#010x}]."),
            BarKind::Mem64 { prefetchable } => {
                let pf = if prefetchable { " prefetchable" } else { "" };
                writeln!(s, "      BAR{i}: 64 bit{pf} memory at {addr:#010x} [{last:#010x}].")
            }
        };
    }
    s.push_str("      id \"\"\n");
    s
}

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
    /// Each capability's offset and length, for placing the next one.
    #[serde(default)]
    lengths: Vec<(usize, usize)>,
}

impl ConfigSpace {
    /// A type-0 header for `id` with QEMU's subsystem IDs and writable bits.
    pub fn new(id: Identity) -> ConfigSpace {
        let mut c = ConfigSpace { bytes: vec![0; CONFIG_SIZE], writable: vec![0; CONFIG_SIZE], lengths: Vec::new() };
        c.set_u16(reg::VENDOR_ID, id.vendor);
        c.set_u16(reg::DEVICE_ID, id.device);
        c.bytes[reg::REVISION] = id.revision;
        c.bytes[reg::CLASS_PROG..reg::CLASS_PROG + 3].copy_from_slice(&id.class.to_le_bytes()[..3]);
        c.set_u16(reg::SUBSYSTEM_VENDOR_ID, SUBSYSTEM_VENDOR_QEMU);
        c.set_u16(reg::SUBSYSTEM_ID, SUBSYSTEM_QEMU);
        c.writable[reg::COMMAND..reg::COMMAND + 2].copy_from_slice(&COMMAND_WRITABLE.to_le_bytes());
        for r in [reg::CACHE_LINE_SIZE, reg::INTERRUPT_LINE] {
            c.writable[r] = 0xff;
        }
        // As in QEMU (`pci_init_wmask`), what lies past the header and is no capability is the guest's to write.
        c.writable[CAPABILITIES_START..].fill(0xff);
        c
    }

    /// Sets bytes the guest cannot write (the device's own registers), `offset` from the space's start.
    pub fn set_bytes(&mut self, offset: usize, bytes: &[u8]) {
        if let Some(dst) = self.bytes.get_mut(offset..offset + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }

    /// Makes the bits of `mask` at `offset` writable by the guest (and the others read-only).
    pub fn set_writable(&mut self, offset: usize, mask: &[u8]) {
        if let Some(dst) = self.writable.get_mut(offset..offset + mask.len()) {
            dst.copy_from_slice(mask);
        }
    }

    pub fn set_u16(&mut self, offset: usize, v: u16) {
        self.set_bytes(offset, &v.to_le_bytes());
    }

    /// The function's subsystem IDs (QEMU's devices keep its 1af4:1100 unless they have their own).
    pub fn set_subsystem(&mut self, vendor: u16, id: u16) {
        self.set_u16(reg::SUBSYSTEM_VENDOR_ID, vendor);
        self.set_u16(reg::SUBSYSTEM_ID, id);
    }

    /// Adds capability `id` with `body` (the bytes after the ID and next pointer) where QEMU's
    /// `pci_add_capability` puts it: at the first free offset after the header and the capabilities before it, at
    /// the head of the list. Returns its offset, or `None` if the space is full.
    pub fn add_capability(&mut self, id: u8, body: &[u8]) -> Option<usize> {
        let mut free = CAPABILITIES_START;
        let mut next = self.bytes[reg::CAPABILITY_LIST] as usize;
        // Walk the list (the last one added is first and ends highest) to find the end of the used space.
        let mut hops = 0;
        while next != 0 && hops < 48 {
            free = free.max(next + self.capability_len(next));
            next = self.bytes[next + 1] as usize;
            hops += 1;
        }
        let at = free;
        if at + 2 + body.len() > CONFIG_SIZE {
            return None;
        }
        let head = self.bytes[reg::CAPABILITY_LIST];
        self.bytes[at] = id;
        self.bytes[at + 1] = head;
        self.bytes[at + 2..at + 2 + body.len()].copy_from_slice(body);
        // A capability is read-only unless its device says otherwise.
        self.writable[at..at + 2 + body.len()].fill(0);
        self.lengths.push((at, 2 + body.len()));
        self.bytes[reg::CAPABILITY_LIST] = at as u8;
        let status = self.read(reg::STATUS, 2) as u16 | STATUS_CAP_LIST;
        self.set_u16(reg::STATUS, status);
        Some(at)
    }

    /// The length of the capability at `offset`, as it was added.
    fn capability_len(&self, offset: usize) -> usize {
        self.lengths.iter().find(|(at, _)| *at == offset).map_or(2, |(_, len)| *len)
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
