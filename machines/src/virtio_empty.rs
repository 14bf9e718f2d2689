//! An empty virtio-mmio slot, as QEMU's `virt` has: the transport answers with its magic, version 2 and device ID
//! 0 ("no device"), so a guest probing all eight slots listed in the device tree skips it instead of faulting.

use crate::fdt::{FdtDevice, FdtNode};
use rewind::device::{Device, DeviceBus, RestoreError};

const MAGIC: u64 = 0x7472_6976; // "virt"
const VERSION: u64 = 2;
const VENDOR_QEMU: u64 = 0x554d_4551;

#[derive(Debug)]
pub struct EmptyVirtioSlot {
    /// The platform interrupt line the slot is wired to: the device tree lists it although nothing raises it.
    pub irq: u32,
}

impl Device for EmptyVirtioSlot {
    fn kind(&self) -> &'static str {
        "virtio-mmio (empty)"
    }

    fn read(&mut self, offset: u64, _size: u8, _bus: &mut DeviceBus) -> u64 {
        match offset {
            0x000 => MAGIC,
            0x004 => VERSION,
            0x00c => VENDOR_QEMU,
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
        let mut slot = EmptyVirtioSlot { irq: 1 };
        assert_eq!(slot.read(0, 4, &mut bus), MAGIC);
        assert_eq!(slot.read(4, 4, &mut bus), 2);
        assert_eq!(slot.read(8, 4, &mut bus), 0, "device id 0: no device");
    }
}
