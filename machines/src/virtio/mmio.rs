//! The virtio-mmio transport, generic over the device type: the modern register layout (version 2, VIRTIO 1.1
//! section 4.2.2) and the legacy one (version 1, section 4.2.4), which QEMU's devices use unless
//! `-global virtio-mmio.force-legacy=false` asks for the modern one.

use super::queue::{Queue, QueueError, QUEUE_SIZE_MAX, VIRTQ_AVAIL_F_NO_INTERRUPT};
use super::{virtio_mmio_fdt_node, VirtioBackend, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1};
use crate::fdt::{FdtDevice, FdtNode};
use rewind::device::{decode_state, encode_state, Device, DeviceBus, DeviceInput, RestoreError};
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

/// Device status bits (section 2.1).
pub mod status {
    pub const ACKNOWLEDGE: u32 = 1;
    pub const DRIVER: u32 = 2;
    pub const DRIVER_OK: u32 = 4;
    pub const FEATURES_OK: u32 = 8;
    pub const DEVICE_NEEDS_RESET: u32 = 0x40;
    pub const FAILED: u32 = 0x80;
}

/// InterruptStatus bit: a used buffer was published.
pub const INT_USED_BUFFER: u32 = 1;
/// InterruptStatus bit: the configuration changed (or the device needs a reset).
pub const INT_CONFIG_CHANGE: u32 = 2;

/// A virtio device on the virtio-mmio transport.
pub struct VirtioMmio<B: VirtioBackend> {
    backend: B,
    irq: u32,
    version: MmioVersion,
    s: TransportState,
}

/// Everything guest-visible in the transport (saved with the backend's state).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct TransportState {
    status: u32,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    interrupt_status: u32,
    config_generation: u32,
    queues: Vec<Queue>,
    /// Why the device last entered DEVICE_NEEDS_RESET, for `info devices`.
    last_error: Option<String>,
    /// Legacy transport: log2 of the guest's page size (GuestPageSize), 0 until written, as in QEMU.
    #[serde(default)]
    guest_page_shift: u32,
    /// Legacy transport: each queue's used-ring alignment (QueueAlign).
    #[serde(default)]
    queue_align: Vec<u32>,
}

/// The used-ring alignment a legacy queue has until the driver writes QueueAlign (QEMU's, the x86 page size).
const LEGACY_DEFAULT_ALIGN: u32 = 4096;

#[derive(Serialize, Deserialize)]
struct SavedState {
    /// The backend's kind, so a snapshot of one device type is never fed to another.
    kind: String,
    transport: TransportState,
    backend: Vec<u8>,
}

impl<B: VirtioBackend> VirtioMmio<B> {
    /// A device driving platform interrupt line `irq` (a PLIC source on `virt`: 1..=8 for the eight slots),
    /// with the register layout `version`.
    pub fn new(backend: B, irq: u32, version: MmioVersion) -> VirtioMmio<B> {
        let s = TransportState::fresh(backend.num_queues(), 0);
        VirtioMmio { backend, irq, version, s }
    }

    /// The device type behind the transport.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The device type behind the transport, mutably (boards and tests).
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The Status register.
    pub fn status(&self) -> u32 {
        self.s.status
    }

    /// The InterruptStatus register.
    pub fn interrupt_status(&self) -> u32 {
        self.s.interrupt_status
    }

    /// All features offered: the device's plus the transport's. A legacy transport has only 32 feature bits,
    /// so it never offers VERSION_1.
    pub fn device_features(&self) -> u64 {
        let features = self.backend.features() | VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC;
        match self.version {
            MmioVersion::Legacy => features & 0xffff_ffff,
            MmioVersion::Modern => features,
        }
    }

    fn selected_queue(&mut self) -> Option<&mut Queue> {
        self.s.queues.get_mut(self.s.queue_sel as usize)
    }

    fn update_irq(&self, bus: &mut DeviceBus) {
        bus.set_irq(self.irq, self.s.interrupt_status != 0);
    }

    /// The driver's reset (Status = 0, or a legacy QueuePFN = 0). Like QEMU's, it keeps the guest page size:
    /// Linux writes GuestPageSize once at probe, before the reset that starts every driver.
    fn reset(&mut self, bus: &mut DeviceBus) {
        let page_shift = self.s.guest_page_shift;
        self.s = TransportState::fresh(self.backend.num_queues(), self.s.config_generation);
        self.s.guest_page_shift = page_shift;
        self.backend.reset();
        self.update_irq(bus);
    }

    /// Enters DEVICE_NEEDS_RESET: stop using the queues and tell the driver with a config-change interrupt.
    fn fail(&mut self, error: QueueError, bus: &mut DeviceBus) {
        self.s.status |= status::DEVICE_NEEDS_RESET;
        self.s.last_error = Some(error.to_string());
        if self.s.status & status::DRIVER_OK != 0 {
            self.s.interrupt_status |= INT_CONFIG_CHANGE;
        }
        self.update_irq(bus);
    }

    fn write_status(&mut self, value: u32, bus: &mut DeviceBus) {
        if value == 0 {
            self.reset(bus);
            return;
        }
        let old = self.s.status;
        let new = (value & 0xff) | (old & status::DEVICE_NEEDS_RESET);
        // The features take effect when the driver says it is done with them: FEATURES_OK on the modern
        // transport; a legacy driver sets no FEATURES_OK and has them taken as written (in QEMU, at once).
        // Bits the device did not offer are dropped and a driver that does not accept VERSION_1 is served all
        // the same, as QEMU does (the spec would refuse; drivers in teaching kernels rely on QEMU's leniency).
        if new & status::FEATURES_OK != 0 && old & status::FEATURES_OK == 0 && self.version == MmioVersion::Modern {
            self.s.driver_features &= self.device_features();
            self.backend.ack_features(self.s.driver_features);
        }
        self.s.status = new;
    }

    /// Legacy transport: the driver placed the selected queue at page frame `pfn`; the three rings follow each
    /// other (section 2.7.2 of VIRTIO 1.0's legacy layout). Frame 0 resets the device, as in QEMU.
    fn write_queue_pfn(&mut self, pfn: u32, bus: &mut DeviceBus) {
        if pfn == 0 {
            self.reset(bus);
            return;
        }
        let sel = self.s.queue_sel as usize;
        let align = u64::from(self.s.queue_align.get(sel).copied().unwrap_or(LEGACY_DEFAULT_ALIGN).max(1));
        let shift = self.s.guest_page_shift;
        let Some(queue) = self.s.queues.get_mut(sel) else {
            return;
        };
        let n = u64::from(queue.size);
        queue.desc = u64::from(pfn) << shift;
        queue.driver = queue.desc + 16 * n;
        queue.device = (queue.driver + 6 + 2 * n).next_multiple_of(align);
        queue.ready = false;
        self.write_queue_ready(1, bus);
    }

    fn notify(&mut self, index: usize, bus: &mut DeviceBus) {
        if self.s.status & status::DRIVER_OK == 0 || self.s.status & status::DEVICE_NEEDS_RESET != 0 {
            return;
        }
        let Some(queue) = self.s.queues.get_mut(index) else {
            return;
        };
        if !queue.ready {
            return;
        }
        let mut used = false;
        let mut error = None;
        // A legitimate driver never has more than `size` chains pending; the cap also stops a device write
        // that lands on the avail ring from keeping this loop going.
        for _ in 0..queue.size {
            if !self.backend.has_work(index) {
                break;
            }
            let head = match queue.pop_avail(bus.ram()) {
                Ok(Some(head)) => head,
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            };
            let chain = match queue.walk_chain(bus.ram(), head) {
                Ok(chain) => chain,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            };
            let len = self.backend.process(index, &chain, bus.ram());
            if let Err(e) = queue.push_used(bus.ram(), head, len) {
                error = Some(e);
                break;
            }
            used = true;
        }
        if used {
            let suppressed = queue.avail_flags(bus.ram()).map(|f| f & VIRTQ_AVAIL_F_NO_INTERRUPT != 0).unwrap_or(false);
            if !suppressed {
                self.s.interrupt_status |= INT_USED_BUFFER;
            }
        }
        match error {
            Some(e) => self.fail(e, bus),
            None => self.update_irq(bus),
        }
    }

    fn write_queue_ready(&mut self, value: u32, bus: &mut DeviceBus) {
        let Some(queue) = self.s.queues.get_mut(self.s.queue_sel as usize) else {
            return;
        };
        if value & 1 == 0 {
            queue.ready = false;
            return;
        }
        if queue.ready {
            return;
        }
        match queue.validate(bus.ram()) {
            Ok(()) => {
                queue.ready = true;
                queue.last_avail_idx = 0;
                queue.used_idx = 0;
            }
            Err(e) => self.fail(e, bus),
        }
    }

    /// Writes one of the queue-configuration registers; ignored while the selected queue is live.
    fn write_queue_reg(&mut self, offset: u64, value: u32) {
        let Some(q) = self.selected_queue() else {
            return;
        };
        if q.ready {
            return;
        }
        let lo = |old: u64| (old & !0xffff_ffff) | u64::from(value);
        let hi = |old: u64| (old & 0xffff_ffff) | (u64::from(value) << 32);
        match offset {
            reg::QUEUE_NUM => q.size = value.min(u32::from(u16::MAX)) as u16,
            reg::QUEUE_DESC_LOW => q.desc = lo(q.desc),
            reg::QUEUE_DESC_HIGH => q.desc = hi(q.desc),
            reg::QUEUE_DRIVER_LOW => q.driver = lo(q.driver),
            reg::QUEUE_DRIVER_HIGH => q.driver = hi(q.driver),
            reg::QUEUE_DEVICE_LOW => q.device = lo(q.device),
            reg::QUEUE_DEVICE_HIGH => q.device = hi(q.device),
            _ => {}
        }
    }

    fn read_reg(&self, offset: u64) -> u32 {
        let queue = self.s.queues.get(self.s.queue_sel as usize);
        let legacy = self.version == MmioVersion::Legacy;
        match offset {
            reg::MAGIC_VALUE => MAGIC,
            reg::VERSION => self.version.register(),
            reg::DEVICE_ID => self.backend.device_id(),
            reg::VENDOR_ID => VENDOR_ID,
            reg::DEVICE_FEATURES => match self.s.device_features_sel {
                0 => self.device_features() as u32,
                1 => (self.device_features() >> 32) as u32,
                _ => 0,
            },
            reg::QUEUE_NUM_MAX => queue.map_or(0, |_| u32::from(QUEUE_SIZE_MAX)),
            reg::QUEUE_READY if !legacy => queue.map_or(0, |q| u32::from(q.ready)),
            reg::QUEUE_PFN if legacy => {
                queue.filter(|q| q.ready).map_or(0, |q| (q.desc >> self.s.guest_page_shift) as u32)
            }
            reg::INTERRUPT_STATUS => self.s.interrupt_status,
            reg::STATUS => self.s.status,
            reg::CONFIG_GENERATION if !legacy => self.s.config_generation,
            _ => 0,
        }
    }
}

impl TransportState {
    /// The state after a reset: `queues` unready queues; the configuration generation survives.
    fn fresh(queues: usize, config_generation: u32) -> TransportState {
        TransportState {
            queues: vec![Queue::default(); queues],
            queue_align: vec![LEGACY_DEFAULT_ALIGN; queues],
            config_generation,
            ..TransportState::default()
        }
    }
}

impl<B: VirtioBackend> Device for VirtioMmio<B> {
    fn kind(&self) -> &'static str {
        self.backend.kind()
    }

    /// Unlike the driver's reset (Status = 0), a system reset forgets the guest page size too, as QEMU's does.
    fn reset(&mut self) {
        self.s = TransportState::fresh(self.backend.num_queues(), self.s.config_generation);
        self.backend.reset();
    }

    fn read(&mut self, offset: u64, size: u8, _bus: &mut DeviceBus) -> u64 {
        if offset >= reg::CONFIG {
            let mut data = [0u8; 8];
            let n = usize::from(size).min(8);
            self.backend.read_config(offset - reg::CONFIG, &mut data[..n]);
            return u64::from_le_bytes(data);
        }
        if size != 4 || offset & 3 != 0 {
            return 0;
        }
        u64::from(self.read_reg(offset))
    }

    fn write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        if offset >= reg::CONFIG {
            let n = usize::from(size).min(8);
            self.backend.write_config(offset - reg::CONFIG, &value.to_le_bytes()[..n]);
            return;
        }
        if size != 4 || offset & 3 != 0 {
            return;
        }
        let value = value as u32;
        let legacy = self.version == MmioVersion::Legacy;
        match offset {
            reg::DEVICE_FEATURES_SEL => self.s.device_features_sel = value,
            reg::DRIVER_FEATURES_SEL => self.s.driver_features_sel = value,
            // Features are frozen once the driver set FEATURES_OK.
            // A legacy transport has 32 feature bits: a write with another selector goes nowhere.
            reg::DRIVER_FEATURES if legacy && self.s.driver_features_sel == 0 => {
                self.s.driver_features = u64::from(value) & self.device_features();
                self.backend.ack_features(self.s.driver_features);
            }
            reg::DRIVER_FEATURES if legacy => {}
            reg::DRIVER_FEATURES if self.s.status & status::FEATURES_OK == 0 => {
                let f = &mut self.s.driver_features;
                match self.s.driver_features_sel {
                    0 => *f = (*f & !0xffff_ffff) | u64::from(value),
                    1 => *f = (*f & 0xffff_ffff) | (u64::from(value) << 32),
                    _ => {}
                }
            }
            reg::GUEST_PAGE_SIZE if legacy => {
                // QEMU keeps log2 of the lowest set bit, and 0 for a write of 0.
                self.s.guest_page_shift = if value == 0 { 0 } else { value.trailing_zeros() };
            }
            reg::QUEUE_ALIGN if legacy => {
                if let Some(align) = self.s.queue_align.get_mut(self.s.queue_sel as usize) {
                    *align = value;
                }
            }
            reg::QUEUE_PFN if legacy => self.write_queue_pfn(value, bus),
            reg::QUEUE_SEL => self.s.queue_sel = value,
            reg::QUEUE_READY if !legacy => self.write_queue_ready(value, bus),
            reg::QUEUE_NOTIFY => self.notify((value & 0xffff) as usize, bus),
            reg::INTERRUPT_ACK => {
                self.s.interrupt_status &= !value;
                self.update_irq(bus);
            }
            reg::STATUS => self.write_status(value, bus),
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
    }

    fn tick(&mut self, bus: &mut DeviceBus) {
        // Level-triggered: re-assert after a restore, which has no bus to drive the line with.
        self.update_irq(bus);
    }

    /// Input goes to the backend, which keeps it; the queue it names is served at once, so the input lands in
    /// a buffer the driver made available before, or waits for the driver's next notify.
    fn input(&mut self, input: &DeviceInput, bus: &mut DeviceBus) -> bool {
        match self.backend.input(input) {
            Some(queue) => {
                self.notify(queue, bus);
                true
            }
            None => false,
        }
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&SavedState {
            kind: self.backend.kind().to_string(),
            transport: self.s.clone(),
            backend: self.backend.save(),
        })
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        let kind = self.backend.kind();
        let queues = self.backend.num_queues();
        let saved = decode_state(kind, state, |saved: &SavedState| {
            if saved.kind != kind {
                return Err(format!("snapshot is of a {} device", saved.kind));
            }
            if saved.transport.queues.len() != queues {
                return Err(format!("{} queues saved, device has {queues}", saved.transport.queues.len()));
            }
            match saved.transport.queues.iter().find(|q| q.ready && q.size > QUEUE_SIZE_MAX) {
                Some(q) => Err(format!("queue size {} out of range", q.size)),
                None => Ok(()),
            }
        })?;
        let err = |reason: String| RestoreError { device: kind.to_string(), reason };
        self.backend.restore(&saved.backend).map_err(err)?;
        self.s = saved.transport;
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let names = [
            (status::ACKNOWLEDGE, "ACK"),
            (status::DRIVER, "DRIVER"),
            (status::FEATURES_OK, "FEATURES_OK"),
            (status::DRIVER_OK, "DRIVER_OK"),
            (status::DEVICE_NEEDS_RESET, "NEEDS_RESET"),
            (status::FAILED, "FAILED"),
        ];
        let flags: Vec<&str> = names.iter().filter(|(b, _)| self.s.status & b != 0).map(|(_, n)| *n).collect();
        let mut out = vec![
            ("irq".to_string(), self.irq.to_string()),
            ("transport".to_string(), format!("virtio-mmio version {}", self.version.register())),
            ("status".to_string(), format!("{:#04x} [{}]", self.s.status, flags.join(" "))),
            ("device_features".to_string(), format!("{:#018x}", self.device_features())),
            ("driver_features".to_string(), format!("{:#018x}", self.s.driver_features)),
            ("interrupt_status".to_string(), format!("{:#x}", self.s.interrupt_status)),
            ("queue_sel".to_string(), self.s.queue_sel.to_string()),
        ];
        for (i, q) in self.s.queues.iter().enumerate() {
            out.push((
                format!("queue{i}"),
                format!(
                    "ready={} size={} desc={:#x} driver={:#x} device={:#x} last_avail_idx={} used_idx={}",
                    u8::from(q.ready),
                    q.size,
                    q.desc,
                    q.driver,
                    q.device,
                    q.last_avail_idx,
                    q.used_idx
                ),
            ));
        }
        if let Some(e) = &self.s.last_error {
            out.push(("last_error".to_string(), e.clone()));
        }
        out.extend(self.backend.inspect());
        out
    }
}

impl<B: VirtioBackend> FdtDevice for VirtioMmio<B> {
    fn fdt_node(&self) -> Option<FdtNode> {
        Some(virtio_mmio_fdt_node(self.irq))
    }
}
