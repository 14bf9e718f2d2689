//! An empty virtio-mmio slot, as QEMU's `virt` has: the transport answers with its magic, its version and device
//! ID 0 ("no device"), so a guest probing all eight slots listed in the device tree skips it instead of faulting.

use crate::fdt::{FdtDevice, FdtNode};
use crate::virtio::mmio::{MmioVersion, MAGIC, VENDOR_ID};
use rewind::device::{Device, DeviceBus, RestoreError};

#[derive(Debug)]
pub struct EmptyVirtioSlot {
    /// The platform interrupt line the slot is wired to: the device tree lists it although nothing raises it.
    pub irq: u32,
    /// The register layout the slot reports, as a device in it would.
    pub version: MmioVersion,
}

impl Device for EmptyVirtioSlot {
    fn kind(&self) -> &'static str {
        "virtio-mmio (empty)"
    }

    fn reset(&mut self) {}

    fn read(&mut self, offset: u64, _size: u8, _bus: &mut DeviceBus) -> u64 {
        match offset {
            0x000 => u64::from(MAGIC),
            0x004 => u64::from(self.version.register()),
            0x00c => u64::from(VENDOR_ID),
            _ => 0,
        }
    }

    fn write(&mut self, _offset: u64, _size: u8, _value: u64, _bus: &mut DeviceBus) {}

    fn save(&self) -> Vec<u8> {
        Vec::new()
    }

    fn restore(&mut self, _state: &[u8]) -> Result<(), RestoreError> {
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        vec![("device".into(), "none".into())]
    }
}

impl FdtDevice for EmptyVirtioSlot {
    fn fdt_node(&self) -> Option<FdtNode> {
        Some(crate::virtio::virtio_mmio_fdt_node(self.irq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind::Ram;

    #[test]
    fn empty_slot_reads_as_a_transport_without_device() {
        let mut ram = Ram::new(0x8000_0000, 0x1000).unwrap();
        let mut signals = rewind::device::Signals::new(1);
        let mut bus = DeviceBus::new(0, &mut ram, &mut signals);
        for (version, register) in [(MmioVersion::Legacy, 1), (MmioVersion::Modern, 2)] {
            let mut slot = EmptyVirtioSlot { irq: 1, version };
            assert_eq!(slot.read(0, 4, &mut bus), u64::from(MAGIC));
            assert_eq!(slot.read(4, 4, &mut bus), register);
            assert_eq!(slot.read(8, 4, &mut bus), 0, "device id 0: no device");
        }
    }
}
