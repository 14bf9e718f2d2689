//! The virtio-mmio transport, generic over the device type: the modern register layout (version 2, VIRTIO 1.1
//! section 4.2.2) and the legacy one (version 1, section 4.2.4), which QEMU's devices use unless
//! `-global virtio-mmio.force-legacy=false` asks for the modern one.

use super::queue::QUEUE_SIZE_MAX;
use super::transport::{QueueField, Transport, LEGACY_ALIGN};
use super::{virtio_mmio_fdt_node, VirtioBackend};
use crate::fdt::{FdtDevice, FdtNode};
use rewind::device::{Device, DeviceBus, DeviceInput, RestoreError};
use serde::{Deserialize, Serialize};

/// "virt" in little-endian ASCII.
pub const MAGIC: u32 = 0x7472_6976;

/// Which register layout a transport offers (its Version register).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MmioVersion {
    /// Version 1: queues placed by a page frame number, no FEATURES_OK, 32 feature bits. QEMU's default.
    #[default]
    Legacy,
    /// Version 2: queues placed by three 64-bit addresses and enabled by QueueReady.
    Modern,
}

impl MmioVersion {
    /// The value of the Version register.
    pub fn register(self) -> u32 {
        match self {
            MmioVersion::Legacy => 1,
            MmioVersion::Modern => 2,
        }
    }
}
/// "QEMU", as QEMU's devices report it.
pub const VENDOR_ID: u32 = 0x554d_4551;

/// Register offsets (section 4.2.2).
pub mod reg {
    pub const MAGIC_VALUE: u64 = 0x000;
    pub const VERSION: u64 = 0x004;
    pub const DEVICE_ID: u64 = 0x008;
    pub const VENDOR_ID: u64 = 0x00c;
    pub const DEVICE_FEATURES: u64 = 0x010;
    pub const DEVICE_FEATURES_SEL: u64 = 0x014;
    pub const DRIVER_FEATURES: u64 = 0x020;
    pub const DRIVER_FEATURES_SEL: u64 = 0x024;
    pub const QUEUE_SEL: u64 = 0x030;
    pub const QUEUE_NUM_MAX: u64 = 0x034;
    pub const QUEUE_NUM: u64 = 0x038;
    pub const QUEUE_READY: u64 = 0x044;
    /// Legacy only: the guest's page size, the unit of QueuePFN.
    pub const GUEST_PAGE_SIZE: u64 = 0x028;
    /// Legacy only: the alignment of the used ring.
    pub const QUEUE_ALIGN: u64 = 0x03c;
    /// Legacy only: the page frame number of the queue (descriptor table, then available ring, then used ring).
    pub const QUEUE_PFN: u64 = 0x040;
    pub const QUEUE_NOTIFY: u64 = 0x050;
    pub const INTERRUPT_STATUS: u64 = 0x060;
    pub const INTERRUPT_ACK: u64 = 0x064;
    pub const STATUS: u64 = 0x070;
    pub const QUEUE_DESC_LOW: u64 = 0x080;
    pub const QUEUE_DESC_HIGH: u64 = 0x084;
    pub const QUEUE_DRIVER_LOW: u64 = 0x090;
    pub const QUEUE_DRIVER_HIGH: u64 = 0x094;
    pub const QUEUE_DEVICE_LOW: u64 = 0x0a0;
    pub const QUEUE_DEVICE_HIGH: u64 = 0x0a4;
    pub const CONFIG_GENERATION: u64 = 0x0fc;
    pub const CONFIG: u64 = 0x100;
}

pub use super::transport::{status, INT_CONFIG_CHANGE, INT_USED_BUFFER};

/// A virtio device on the virtio-mmio transport.
pub struct VirtioMmio<B: VirtioBackend> {
    t: Transport<B>,
    irq: u32,
    version: MmioVersion,
}

impl<B: VirtioBackend> VirtioMmio<B> {
    /// A device driving platform interrupt line `irq` (a PLIC source on `virt`: 1..=8 for the eight slots),
    /// with the register layout `version`.
    pub fn new(backend: B, irq: u32, version: MmioVersion) -> VirtioMmio<B> {
        VirtioMmio { t: Transport::new(backend), irq, version }
    }

    /// The device type behind the transport.
    pub fn backend(&self) -> &B {
        self.t.backend()
    }

    /// The device type behind the transport, mutably (boards and tests).
    pub fn backend_mut(&mut self) -> &mut B {
        self.t.backend_mut()
    }

    /// The Status register.
    pub fn status(&self) -> u32 {
        self.t.status()
    }

    /// The InterruptStatus register.
    pub fn interrupt_status(&self) -> u32 {
        self.t.interrupt_status()
    }

    /// All features offered: the device's plus the transport's.
    pub fn device_features(&self) -> u64 {
        self.t.device_features(self.legacy())
    }

    fn legacy(&self) -> bool {
        self.version == MmioVersion::Legacy
    }

    fn update_irq(&self, bus: &mut DeviceBus) {
        bus.set_irq(self.irq, self.t.interrupt_status() != 0);
    }

    /// The driver's reset (Status = 0, or a legacy QueuePFN = 0). Like QEMU's, it keeps the guest page size:
    /// Linux writes GuestPageSize once at probe, before the reset that starts every driver.
    fn driver_reset(&mut self, bus: &mut DeviceBus) {
        self.t.reset(true);
        self.update_irq(bus);
    }

    /// Legacy transport: the driver placed the selected queue at page frame `pfn`. Frame 0 resets the device, as
    /// in QEMU.
    fn write_queue_pfn(&mut self, pfn: u32, bus: &mut DeviceBus) {
        if pfn == 0 {
            self.driver_reset(bus);
            return;
        }
        let sel = self.t.queue_sel() as usize;
        let align = self.t.s.queue_align.get(sel).copied().unwrap_or(LEGACY_ALIGN);
        self.t.place_legacy_queue(u64::from(pfn) << self.t.s.guest_page_shift, align, bus);
    }

    /// Writes one of the queue-configuration registers; ignored while the selected queue is live.
    fn write_queue_reg(&mut self, offset: u64, value: u32) {
        let field = match offset {
            reg::QUEUE_NUM => QueueField::Size,
            reg::QUEUE_DESC_LOW => QueueField::DescLow,
            reg::QUEUE_DESC_HIGH => QueueField::DescHigh,
            reg::QUEUE_DRIVER_LOW => QueueField::DriverLow,
            reg::QUEUE_DRIVER_HIGH => QueueField::DriverHigh,
            reg::QUEUE_DEVICE_LOW => QueueField::DeviceLow,
            reg::QUEUE_DEVICE_HIGH => QueueField::DeviceHigh,
            _ => return,
        };
        self.t.write_queue_field(field, value);
    }

    fn read_reg(&self, offset: u64) -> u32 {
        let queue = self.t.queue();
        let legacy = self.legacy();
        match offset {
            reg::MAGIC_VALUE => MAGIC,
            reg::VERSION => self.version.register(),
            reg::DEVICE_ID => self.t.backend().device_id(),
            reg::VENDOR_ID => VENDOR_ID,
            reg::DEVICE_FEATURES => self.t.device_features_word(legacy),
            reg::QUEUE_NUM_MAX => queue.map_or(0, |_| u32::from(QUEUE_SIZE_MAX)),
            reg::QUEUE_READY if !legacy => queue.map_or(0, |q| u32::from(q.ready)),
            reg::QUEUE_PFN if legacy => {
                queue.filter(|q| q.ready).map_or(0, |q| (q.desc >> self.t.s.guest_page_shift) as u32)
            }
            reg::INTERRUPT_STATUS => self.t.interrupt_status(),
            reg::STATUS => self.t.status(),
            reg::CONFIG_GENERATION if !legacy => self.t.s.config_generation,
            _ => 0,
        }
    }
}

impl<B: VirtioBackend> Device for VirtioMmio<B> {
    fn kind(&self) -> &'static str {
        self.t.backend().kind()
    }

    /// Unlike the driver's reset (Status = 0), a system reset forgets the guest page size too, as QEMU's does.
    fn reset(&mut self) {
        self.t.reset(false);
    }

    fn read(&mut self, offset: u64, size: u8, _bus: &mut DeviceBus) -> u64 {
        if offset >= reg::CONFIG {
            return self.t.read_config(offset - reg::CONFIG, size);
        }
        if size != 4 || offset & 3 != 0 {
            return 0;
        }
        u64::from(self.read_reg(offset))
    }

    fn write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        if offset >= reg::CONFIG {
            self.t.write_config(offset - reg::CONFIG, size, value);
            return;
        }
        if size != 4 || offset & 3 != 0 {
            return;
        }
        let value = value as u32;
        let legacy = self.legacy();
        match offset {
            reg::DEVICE_FEATURES_SEL => self.t.select_device_features(value),
            reg::DRIVER_FEATURES_SEL => self.t.select_driver_features(value),
            // A legacy transport has 32 feature bits: a write with another selector goes nowhere.
            reg::DRIVER_FEATURES if legacy && self.t.s.driver_features_sel == 0 => {
                self.t.write_legacy_driver_features(value)
            }
            reg::DRIVER_FEATURES if legacy => {}
            reg::DRIVER_FEATURES => self.t.write_driver_features_word(value),
            reg::GUEST_PAGE_SIZE if legacy => {
                // QEMU keeps log2 of the lowest set bit, and 0 for a write of 0.
                self.t.s.guest_page_shift = if value == 0 { 0 } else { value.trailing_zeros() };
            }
            reg::QUEUE_ALIGN if legacy => {
                let sel = self.t.queue_sel() as usize;
                if let Some(align) = self.t.s.queue_align.get_mut(sel) {
                    *align = value;
                }
            }
            reg::QUEUE_PFN if legacy => self.write_queue_pfn(value, bus),
            reg::QUEUE_SEL => self.t.select_queue(value),
            reg::QUEUE_READY if !legacy => self.t.set_queue_ready(value & 1 != 0, bus),
            reg::QUEUE_NOTIFY => {
                self.t.notify((value & 0xffff) as usize, bus);
            }
            reg::INTERRUPT_ACK => self.t.ack_interrupt(value),
            reg::STATUS => {
                let accepted = self.t.write_status(value, legacy);
                if !accepted {
                    self.driver_reset(bus);
                }
            }
            reg::QUEUE_NUM
            | reg::QUEUE_DESC_LOW
            | reg::QUEUE_DESC_HIGH
            | reg::QUEUE_DRIVER_LOW
            | reg::QUEUE_DRIVER_HIGH
            | reg::QUEUE_DEVICE_LOW
            | reg::QUEUE_DEVICE_HIGH
                if !legacy =>
            {
                self.write_queue_reg(offset, value)
            }
            reg::QUEUE_NUM => self.write_queue_reg(offset, value),
            _ => {}
        }
        self.update_irq(bus);
    }

    fn tick(&mut self, bus: &mut DeviceBus) {
        // Level-triggered: re-assert after a restore, which has no bus to drive the line with.
        self.update_irq(bus);
    }

    fn input(&mut self, input: &DeviceInput, bus: &mut DeviceBus) -> bool {
        let taken = self.t.input(input, bus);
        self.update_irq(bus);
        taken
    }

    fn save(&self) -> Vec<u8> {
        self.t.save(&())
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        self.t.restore::<()>(state, |_| Ok(()))
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let transport = ("transport".to_string(), format!("virtio-mmio version {}", self.version.register()));
        let mut out = vec![("irq".to_string(), self.irq.to_string())];
        out.extend(self.t.inspect(self.legacy(), transport));
        out
    }
}

impl<B: VirtioBackend> FdtDevice for VirtioMmio<B> {
    fn fdt_node(&self) -> Option<FdtNode> {
        Some(virtio_mmio_fdt_node(self.irq))
    }
}
