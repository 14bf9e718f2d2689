//! virtio over PCI (VIRTIO 1.1 section 4.1), as QEMU 7.2's transitional `virtio-*-pci` devices on a root bus
//! are: Red Hat's vendor ID with the transitional device ID (1af4:1001 for a disk) and the virtio device ID as
//! subsystem, and three BARs —
//!
//! - BAR0, I/O: the legacy register layout (section 4.1.4.8), for drivers that predate VIRTIO 1.0;
//! - BAR1, memory: the MSI-X table (two vectors for a single-queue device) and its pending bits;
//! - BAR4, 64-bit prefetchable memory: the modern layout, four 4 KiB pages — common configuration, ISR,
//!   device configuration and notifications (4 bytes a queue) — which vendor capabilities point at.
//!
//! The configuration space is QEMU's byte for byte, capabilities at the same offsets. Interrupts go out on INTx
//! (INTA, swizzled by slot) unless the guest turns MSI-X on; the `virt` board has no MSI controller unless asked,
//! so Linux uses INTx, as it does under QEMU.

use super::queue::QUEUE_SIZE_MAX;
use super::transport::{QueueField, Transport, INT_CONFIG_CHANGE, LEGACY_ALIGN};
use super::VirtioBackend;
use crate::fdt::{FdtDevice, FdtNode};
use crate::pci::endpoint::{self, EndpointState, MsixLayout};
use crate::pci::{reg, Bar, BarKind, ConfigSpace, Endpoint, FunctionAccess, Identity, COMMAND_MASTER};
use rewind::device::{Device, DeviceBus, DeviceInput, RestoreError};
use serde::{Deserialize, Serialize};

/// Red Hat's (formerly Qumranet's) vendor ID for virtio devices.
pub const VENDOR_VIRTIO: u16 = 0x1af4;

const LEGACY_BAR: usize = 0;
const MSIX_BAR: usize = 1;
const MODERN_BAR: usize = 4;

/// The modern BAR's pages.
const COMMON_PAGE: u64 = 0;
const ISR_PAGE: u64 = 1;
const DEVICE_PAGE: u64 = 2;
const NOTIFY_PAGE: u64 = 3;
const PAGE: u64 = 0x1000;
/// Bytes between two queues' notification addresses (QEMU's `virtio_pci_queue_mem_mult`).
const NOTIFY_MULTIPLIER: u64 = 4;

/// `virtio_pci_cap.cfg_type`.
const CAP_COMMON: u8 = 1;
const CAP_NOTIFY: u8 = 2;
const CAP_ISR: u8 = 3;
const CAP_DEVICE: u8 = 4;
const CAP_PCI_CFG: u8 = 5;
const CAP_VENDOR: u8 = 0x09;

/// An MSI-X vector that is not used.
const NO_VECTOR: u16 = 0xffff;

/// Common configuration fields (section 4.1.4.3).
mod common {
    pub const DEVICE_FEATURE_SELECT: u64 = 0x00;
    pub const DEVICE_FEATURE: u64 = 0x04;
    pub const DRIVER_FEATURE_SELECT: u64 = 0x08;
    pub const DRIVER_FEATURE: u64 = 0x0c;
    pub const MSIX_CONFIG: u64 = 0x10;
    pub const NUM_QUEUES: u64 = 0x12;
    pub const DEVICE_STATUS: u64 = 0x14;
    pub const CONFIG_GENERATION: u64 = 0x15;
    pub const QUEUE_SELECT: u64 = 0x16;
    pub const QUEUE_SIZE: u64 = 0x18;
    pub const QUEUE_MSIX_VECTOR: u64 = 0x1a;
    pub const QUEUE_ENABLE: u64 = 0x1c;
    pub const QUEUE_NOTIFY_OFF: u64 = 0x1e;
    pub const QUEUE_DESC_LO: u64 = 0x20;
    pub const QUEUE_DESC_HI: u64 = 0x24;
    pub const QUEUE_DRIVER_LO: u64 = 0x28;
    pub const QUEUE_DRIVER_HI: u64 = 0x2c;
    pub const QUEUE_DEVICE_LO: u64 = 0x30;
    pub const QUEUE_DEVICE_HI: u64 = 0x34;
}

/// Legacy I/O registers (section 4.1.4.8).
mod legacy {
    pub const HOST_FEATURES: u64 = 0x00;
    pub const GUEST_FEATURES: u64 = 0x04;
    pub const QUEUE_PFN: u64 = 0x08;
    pub const QUEUE_NUM: u64 = 0x0c;
    pub const QUEUE_SEL: u64 = 0x0e;
    pub const QUEUE_NOTIFY: u64 = 0x10;
    pub const STATUS: u64 = 0x12;
    pub const ISR: u64 = 0x13;
    /// With MSI-X on: the configuration-change vector, then the selected queue's.
    pub const CONFIG_VECTOR: u64 = 0x14;
    pub const QUEUE_VECTOR: u64 = 0x16;
    /// A legacy queue's page frame numbers are in 4 KiB pages.
    pub const PFN_SHIFT: u32 = 12;
}

/// What QEMU calls the device, its transitional PCI device ID and its class code, by virtio device ID.
fn pci_model(device_id: u32) -> (&'static str, u16, u32) {
    match device_id {
        1 => ("virtio-net-pci", 0x1000, 0x02_00_00),
        2 => ("virtio-blk-pci", 0x1001, 0x01_00_00),
        3 => ("virtio-serial-pci", 0x1003, 0x07_80_00),
        4 => ("virtio-rng-pci", 0x1005, 0x00_ff_00),
        _ => ("virtio-pci", 0x1040 + device_id as u16, 0x00_ff_00),
    }
}

/// A `virtio_pci_cap` body (after the ID and next pointer): `cap_len`, `cfg_type`, `bar`, padding, `offset`,
/// `length`, then `extra` (the notify multiplier, or the PCI-configuration window's data).
fn virtio_cap(cfg_type: u8, bar: u8, offset: u32, length: u32, extra: &[u8]) -> Vec<u8> {
    let mut body = vec![(16 + extra.len()) as u8, cfg_type, bar, 0, 0, 0];
    body.extend_from_slice(&offset.to_le_bytes());
    body.extend_from_slice(&length.to_le_bytes());
    body.extend_from_slice(extra);
    body
}

/// The registers the PCI transport has beyond the shared ones: MSI-X vector numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Vectors {
    config: u16,
    queues: Vec<u16>,
}

impl Vectors {
    fn fresh(queues: usize) -> Vectors {
        Vectors { config: NO_VECTOR, queues: vec![NO_VECTOR; queues] }
    }
}

/// A virtio device behind the PCIe host bridge.
pub struct VirtioPci<B: VirtioBackend> {
    t: Transport<B>,
    ep: Endpoint,
    vectors: Vectors,
    /// MSI-X vectors the function has.
    nvectors: u16,
    /// Where the `VIRTIO_PCI_CAP_PCI_CFG` capability is: its window onto the modern BAR.
    pci_cfg_cap: usize,
    kind: &'static str,
}

impl<B: VirtioBackend> VirtioPci<B> {
    /// The transitional device QEMU makes for `backend`, with a vector per queue and one for configuration
    /// changes. It sits nowhere until the board plugs it in.
    pub fn new(backend: B) -> VirtioPci<B> {
        let device_id = backend.device_id();
        let (kind, pci_device, class) = pci_model(device_id);
        let queues = backend.num_queues();
        let nvectors = queues as u16 + 1;
        let mut config = ConfigSpace::new(Identity { vendor: VENDOR_VIRTIO, device: pci_device, revision: 0, class });
        config.set_subsystem(VENDOR_VIRTIO, device_id as u16);
        let page = PAGE as u32;
        let mut caps = [
            (CAP_COMMON, COMMON_PAGE, Vec::new()),
            (CAP_ISR, ISR_PAGE, Vec::new()),
            (CAP_DEVICE, DEVICE_PAGE, Vec::new()),
            (CAP_NOTIFY, NOTIFY_PAGE, (NOTIFY_MULTIPLIER as u32).to_le_bytes().to_vec()),
        ]
        .map(|(kind, page_no, extra)| virtio_cap(kind, MODERN_BAR as u8, page_no as u32 * page, page, &extra))
        .to_vec();
        caps.push(virtio_cap(CAP_PCI_CFG, 0, 0, 0, &[0; 4]));
        let mut pci_cfg_cap = 0;
        for body in &caps {
            pci_cfg_cap = config.add_capability(CAP_VENDOR, body).unwrap_or(0);
        }
        // The PCI-configuration window: the guest picks BAR, offset and length, and accesses the data.
        config.set_writable(pci_cfg_cap + 4, &[0xff]);
        config.set_writable(pci_cfg_cap + 8, &[0xff; 8]);
        config.set_writable(pci_cfg_cap + 16, &[0xff; 4]);
        // QEMU's legacy BAR: its registers (24 bytes with MSI-X) and the device configuration.
        let legacy_size = (24 + backend.config_len() as u64).next_power_of_two();
        let mut bars = [None; 6];
        bars[LEGACY_BAR] = Some(Bar { kind: BarKind::Io, size: legacy_size });
        let msix = MsixLayout { vectors: nvectors, bar: MSIX_BAR };
        bars[MSIX_BAR] = Some(Bar { kind: BarKind::Mem32, size: msix.bar_size() });
        bars[MODERN_BAR] = Some(Bar { kind: BarKind::Mem64 { prefetchable: true }, size: 4 * PAGE });
        let ep = Endpoint::new(kind, config, bars, Some(msix));
        let mut device =
            VirtioPci { t: Transport::new(backend), ep, vectors: Vectors::fresh(queues), nvectors, pci_cfg_cap, kind };
        device.reset_queue_sizes();
        device
    }

    pub fn backend(&self) -> &B {
        self.t.backend()
    }

    /// A PCI driver has no QueueNumMax to read: the size reads as the largest until it writes a smaller one.
    fn reset_queue_sizes(&mut self) {
        for q in &mut self.t.s.queues {
            q.size = QUEUE_SIZE_MAX;
        }
    }

    /// The driver's reset (status 0, a legacy queue frame of 0), as QEMU's `virtio_pci_reset`.
    fn driver_reset(&mut self, bus: &mut DeviceBus) {
        self.t.reset(false);
        self.reset_queue_sizes();
        self.vectors = Vectors::fresh(self.t.num_queues());
        self.ep.set_intx(false, bus);
    }

    /// Tells the driver what changed: on INTx, the line follows the ISR; with MSI-X, a used buffer in `queue`
    /// and a configuration change (`config_changed`) each send their vector's message.
    fn signal(&mut self, queue: Option<usize>, config_changed: bool, bus: &mut DeviceBus) {
        let isr = self.t.interrupt_status();
        let mut messages = Vec::new();
        if let Some(q) = queue {
            messages.push(self.vectors.queues.get(q).copied().unwrap_or(NO_VECTOR));
        }
        if config_changed {
            messages.push(self.vectors.config);
        }
        let mut msix = false;
        for vector in messages.into_iter().filter(|v| *v != NO_VECTOR) {
            msix |= self.ep.notify_msix(vector, bus);
        }
        if !msix {
            self.ep.set_intx(isr != 0, bus);
        }
    }

    /// Serves queue `index` and interrupts if it used buffers (or failed).
    fn notify(&mut self, index: usize, bus: &mut DeviceBus) {
        let before = self.t.interrupt_status();
        let used = self.t.notify(index, bus);
        let config_changed = self.t.interrupt_status() & !before & INT_CONFIG_CHANGE != 0;
        self.signal(used.then_some(index), config_changed, bus);
    }

    /// Reads and clears the ISR, which lowers INTx.
    fn read_isr(&mut self, bus: &mut DeviceBus) -> u64 {
        let isr = self.t.take_interrupt_status();
        self.ep.set_intx(false, bus);
        u64::from(isr)
    }

    /// A vector number the driver writes: kept if the function has it, else "no vector", as QEMU does.
    fn vector(&self, value: u64) -> u16 {
        if value < u64::from(self.nvectors) {
            value as u16
        } else {
            NO_VECTOR
        }
    }

    fn common_read(&self, offset: u64) -> u64 {
        let queue = self.t.queue();
        let sel = self.t.queue_sel() as usize;
        let half = |addr: u64, high: bool| if high { addr >> 32 } else { addr & 0xffff_ffff };
        match offset {
            common::DEVICE_FEATURE_SELECT => u64::from(self.t.s.device_features_sel),
            common::DEVICE_FEATURE => u64::from(self.t.device_features_word(false)),
            common::DRIVER_FEATURE_SELECT => u64::from(self.t.s.driver_features_sel),
            common::DRIVER_FEATURE => u64::from(self.t.driver_features_word()),
            common::MSIX_CONFIG => u64::from(self.vectors.config),
            common::NUM_QUEUES => self.t.num_queues() as u64,
            common::DEVICE_STATUS => u64::from(self.t.status()),
            common::CONFIG_GENERATION => u64::from(self.t.s.config_generation),
            common::QUEUE_SELECT => sel as u64,
            common::QUEUE_SIZE => queue.map_or(0, |q| u64::from(q.size)),
            common::QUEUE_MSIX_VECTOR => u64::from(self.vectors.queues.get(sel).copied().unwrap_or(NO_VECTOR)),
            common::QUEUE_ENABLE => queue.map_or(0, |q| u64::from(q.ready)),
            common::QUEUE_NOTIFY_OFF => sel as u64,
            common::QUEUE_DESC_LO | common::QUEUE_DESC_HI => {
                queue.map_or(0, |q| half(q.desc, offset == common::QUEUE_DESC_HI))
            }
            common::QUEUE_DRIVER_LO | common::QUEUE_DRIVER_HI => {
                queue.map_or(0, |q| half(q.driver, offset == common::QUEUE_DRIVER_HI))
            }
            common::QUEUE_DEVICE_LO | common::QUEUE_DEVICE_HI => {
                queue.map_or(0, |q| half(q.device, offset == common::QUEUE_DEVICE_HI))
            }
            _ => 0,
        }
    }

    fn common_write(&mut self, offset: u64, value: u64, bus: &mut DeviceBus) {
        let sel = self.t.queue_sel() as usize;
        match offset {
            common::DEVICE_FEATURE_SELECT => self.t.select_device_features(value as u32),
            common::DRIVER_FEATURE_SELECT => self.t.select_driver_features(value as u32),
            common::DRIVER_FEATURE => self.t.write_driver_features_word(value as u32),
            common::MSIX_CONFIG => self.vectors.config = self.vector(value),
            common::DEVICE_STATUS => {
                if !self.t.write_status(value as u32 & 0xff, false) {
                    self.driver_reset(bus);
                }
            }
            common::QUEUE_SELECT => self.t.select_queue(value as u32 & 0xffff),
            common::QUEUE_MSIX_VECTOR => {
                let vector = self.vector(value);
                if let Some(v) = self.vectors.queues.get_mut(sel) {
                    *v = vector;
                }
            }
            common::QUEUE_ENABLE if value == 1 => {
                let before = self.t.interrupt_status();
                self.t.set_queue_ready(true, bus);
                let failed = self.t.interrupt_status() & !before & INT_CONFIG_CHANGE != 0;
                self.signal(None, failed, bus);
            }
            _ => {
                let field = match offset {
                    common::QUEUE_SIZE => QueueField::Size,
                    common::QUEUE_DESC_LO => QueueField::DescLow,
                    common::QUEUE_DESC_HI => QueueField::DescHigh,
                    common::QUEUE_DRIVER_LO => QueueField::DriverLow,
                    common::QUEUE_DRIVER_HI => QueueField::DriverHigh,
                    common::QUEUE_DEVICE_LO => QueueField::DeviceLow,
                    common::QUEUE_DEVICE_HI => QueueField::DeviceHigh,
                    _ => return,
                };
                self.t.write_queue_field(field, value as u32);
            }
        }
    }

    fn modern_read(&mut self, offset: u64, size: u8, bus: &mut DeviceBus) -> u64 {
        match offset / PAGE {
            COMMON_PAGE => self.common_read(offset),
            ISR_PAGE => self.read_isr(bus),
            DEVICE_PAGE => self.t.read_config(offset - DEVICE_PAGE * PAGE, size),
            _ => 0,
        }
    }

    fn modern_write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        match offset / PAGE {
            COMMON_PAGE => self.common_write(offset, value, bus),
            DEVICE_PAGE => self.t.write_config(offset - DEVICE_PAGE * PAGE, size, value),
            NOTIFY_PAGE => self.notify(((offset - NOTIFY_PAGE * PAGE) / NOTIFY_MULTIPLIER) as usize, bus),
            _ => {}
        }
    }

    /// Where the legacy layout's device configuration starts: after the vector registers when MSI-X is on.
    fn legacy_config_start(&self) -> u64 {
        if self.ep.msix_enabled() {
            24
        } else {
            20
        }
    }

    fn legacy_read(&mut self, offset: u64, size: u8, bus: &mut DeviceBus) -> u64 {
        let config = self.legacy_config_start();
        if offset >= config {
            return self.t.read_config(offset - config, size);
        }
        let queue = self.t.queue();
        match offset {
            legacy::HOST_FEATURES => self.t.device_features(true),
            legacy::GUEST_FEATURES => self.t.driver_features() & 0xffff_ffff,
            legacy::QUEUE_PFN => queue.filter(|q| q.ready).map_or(0, |q| q.desc >> legacy::PFN_SHIFT),
            legacy::QUEUE_NUM => queue.map_or(0, |q| u64::from(q.size)),
            legacy::QUEUE_SEL => u64::from(self.t.queue_sel()),
            legacy::STATUS => u64::from(self.t.status()),
            legacy::ISR => self.read_isr(bus),
            legacy::CONFIG_VECTOR => u64::from(self.vectors.config),
            legacy::QUEUE_VECTOR => {
                u64::from(self.vectors.queues.get(self.t.queue_sel() as usize).copied().unwrap_or(NO_VECTOR))
            }
            _ => 0,
        }
    }

    fn legacy_write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        let config = self.legacy_config_start();
        if offset >= config {
            self.t.write_config(offset - config, size, value);
            return;
        }
        match offset {
            legacy::GUEST_FEATURES => self.t.write_legacy_driver_features(value as u32),
            legacy::QUEUE_PFN if value as u32 == 0 => self.driver_reset(bus),
            legacy::QUEUE_PFN => {
                let before = self.t.interrupt_status();
                self.t.place_legacy_queue(u64::from(value as u32) << legacy::PFN_SHIFT, LEGACY_ALIGN, bus);
                let failed = self.t.interrupt_status() & !before & INT_CONFIG_CHANGE != 0;
                self.signal(None, failed, bus);
            }
            legacy::QUEUE_SEL => self.t.select_queue(value as u32 & 0xffff),
            legacy::QUEUE_NOTIFY => self.notify((value & 0xffff) as usize, bus),
            legacy::STATUS => {
                if !self.t.write_status(value as u32 & 0xff, true) {
                    self.driver_reset(bus);
                    return;
                }
                // Linux before 2.6.34 drives the device without enabling bus mastering: QEMU enables it for it.
                if value & u64::from(super::transport::status::DRIVER_OK) != 0
                    && self.ep.command() & COMMAND_MASTER == 0
                {
                    let command = u32::from(self.ep.command() | COMMAND_MASTER);
                    self.ep.config_write(reg::COMMAND, 2, command, bus);
                }
            }
            legacy::CONFIG_VECTOR => self.vectors.config = self.vector(value),
            legacy::QUEUE_VECTOR => {
                let (sel, vector) = (self.t.queue_sel() as usize, self.vector(value));
                if let Some(v) = self.vectors.queues.get_mut(sel) {
                    *v = vector;
                }
            }
            _ => {}
        }
    }

    /// Whether `[offset, offset + size)` of configuration space touches the PCI-configuration window's data.
    fn touches_pci_cfg_data(&self, offset: usize, size: u8) -> bool {
        let data = self.pci_cfg_cap + 16;
        offset < data + 4 && data < offset + usize::from(size)
    }

    /// The PCI-configuration window's offset and length, if the length is one an access can have.
    fn pci_cfg_window(&self) -> Option<(u64, u8)> {
        let offset = u64::from(self.ep.config_read(self.pci_cfg_cap + 8, 4));
        let len = self.ep.config_read(self.pci_cfg_cap + 12, 4);
        matches!(len, 1 | 2 | 4).then_some((offset, len as u8))
    }

    fn config_read(&mut self, offset: usize, size: u8, bus: &mut DeviceBus) -> u64 {
        if self.touches_pci_cfg_data(offset, size) {
            if let Some((at, len)) = self.pci_cfg_window() {
                let value = self.modern_read(at, len, bus);
                let data = self.pci_cfg_cap + 16;
                self.ep.set_config_bytes(data, &value.to_le_bytes()[..usize::from(len)]);
            }
        }
        u64::from(self.ep.config_read(offset, size))
    }

    fn config_write(&mut self, offset: usize, size: u8, value: u32, bus: &mut DeviceBus) {
        self.ep.config_write(offset, size, value, bus);
        if self.touches_pci_cfg_data(offset, size) {
            if let Some((at, len)) = self.pci_cfg_window() {
                let data = u64::from(self.ep.config_read(self.pci_cfg_cap + 16, 4));
                self.modern_write(at, len, data, bus);
            }
        }
    }

    fn access_read(&mut self, offset: u64, size: u8, bus: &mut DeviceBus) -> u64 {
        match endpoint::decode(offset) {
            FunctionAccess::Config(at) => self.config_read(at, size, bus),
            FunctionAccess::Bar(bar, at) => match self.ep.bar_read(bar, at, size) {
                Some(value) => value,
                None if bar == LEGACY_BAR => self.legacy_read(at, size, bus),
                None if bar == MODERN_BAR => self.modern_read(at, size, bus),
                None => 0,
            },
        }
    }

    fn access_write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        match endpoint::decode(offset) {
            FunctionAccess::Config(at) => self.config_write(at, size, value as u32, bus),
            FunctionAccess::Bar(bar, at) if !self.ep.bar_write(bar, at, size, value, bus) => match bar {
                LEGACY_BAR => self.legacy_write(at, size, value, bus),
                MODERN_BAR => self.modern_write(at, size, value, bus),
                _ => {}
            },
            FunctionAccess::Bar(..) => {}
        }
    }
}

impl<B: VirtioBackend> Device for VirtioPci<B> {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn reset(&mut self) {
        self.t.reset(false);
        self.reset_queue_sizes();
        self.vectors = Vectors::fresh(self.t.num_queues());
        self.ep.reset();
    }

    /// Registers are at most 4 bytes wide: an 8-byte access is two, low half first, as QEMU's memory core
    /// splits it.
    fn read(&mut self, offset: u64, size: u8, bus: &mut DeviceBus) -> u64 {
        if size == 8 {
            let low = self.access_read(offset, 4, bus) & 0xffff_ffff;
            return low | (self.access_read(offset + 4, 4, bus) & 0xffff_ffff) << 32;
        }
        let mask = u64::MAX >> (64 - 8 * u32::from(size.clamp(1, 8)));
        self.access_read(offset, size, bus) & mask
    }

    fn write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        if size == 8 {
            self.access_write(offset, 4, value & 0xffff_ffff, bus);
            self.access_write(offset + 4, 4, value >> 32, bus);
            return;
        }
        let mask = u64::MAX >> (64 - 8 * u32::from(size.clamp(1, 8)));
        self.access_write(offset, size, value & mask, bus);
    }

    fn tick(&mut self, bus: &mut DeviceBus) {
        // Level-triggered: re-assert after a restore, which has no bus to drive the line with.
        self.ep.update_intx(bus);
    }

    fn input(&mut self, input: &DeviceInput, bus: &mut DeviceBus) -> bool {
        let Some(queue) = self.t.backend_mut().input(input) else { return false };
        self.notify(queue, bus);
        true
    }

    fn save(&self) -> Vec<u8> {
        self.t.save(&(self.ep.state(), &self.vectors))
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        let queues = self.t.num_queues();
        let ep = &self.ep;
        let (state, vectors): (EndpointState, Vectors) =
            self.t.restore(state, |(state, vectors): &(EndpointState, Vectors)| {
                ep.check(state)?;
                match vectors.queues.len() {
                    n if n == queues => Ok(()),
                    n => Err(format!("{n} queue vectors saved, device has {queues} queues")),
                }
            })?;
        self.ep.restore(state);
        self.vectors = vectors;
        Ok(())
    }

    fn pci_info(&self) -> Option<String> {
        Some(self.ep.info_pci())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let mut out = self.ep.inspect();
        let transport = ("transport".to_string(), "virtio-pci (transitional)".to_string());
        out.extend(self.t.inspect(false, transport));
        out
    }
}

impl<B: VirtioBackend> crate::pci::PciFunction for VirtioPci<B> {
    fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.ep
    }
}

/// PCI functions are found by enumeration, not described in the device tree.
impl<B: VirtioBackend> FdtDevice for VirtioPci<B> {
    fn fdt_node(&self) -> Option<FdtNode> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fdt::PciSpace;
    use crate::pci::endpoint::{bar_offset, Slot};
    use crate::pci::PciFunction;
    use crate::testbus::TestBus;
    use crate::virtio::Rng;
    use rewind::device::RegionPlacement;

    /// An entropy device in slot 1 of `virt`'s bus, with `virt`'s windows.
    fn rng() -> VirtioPci<Rng> {
        let mut dev = VirtioPci::new(Rng::new(1));
        dev.endpoint_mut().plug(Slot {
            devfn: 1 << 3,
            intx_line: 33,
            windows: crate::pci::gpex::virt_windows(0x8800_0000),
        });
        dev
    }

    /// QEMU 7.2's `virtio-rng-pci` configuration space before the guest writes it, as `od` prints it from sysfs.
    const QEMU_RNG_CONFIG: &str = "
        f4 1a 05 10 00 00 10 00 00 00 ff 00 00 00 00 00
        01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        0c 00 00 00 00 00 00 00 00 00 00 00 f4 1a 04 00
        00 00 00 00 98 00 00 00 00 00 00 00 00 01 00 00
        09 00 10 01 04 00 00 00 00 00 00 00 00 10 00 00
        09 40 10 03 04 00 00 00 00 10 00 00 00 10 00 00
        09 50 10 04 04 00 00 00 00 20 00 00 00 10 00 00
        09 60 14 02 04 00 00 00 00 30 00 00 00 10 00 00
        04 00 00 00 09 70 14 05 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 11 84 01 00 01 00 00 00
        01 08 00 00";

    #[test]
    fn the_configuration_space_is_qemus_byte_for_byte() {
        let mut t = TestBus::new(1);
        let mut dev = rng();
        let expected: Vec<u8> =
            QEMU_RNG_CONFIG.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect();
        let ours: Vec<u8> = (0..expected.len() as u64).map(|i| dev.read(i, 1, &mut t.bus()) as u8).collect();
        assert_eq!(ours, expected);
        assert!((expected.len() as u64..256).all(|i| dev.read(i, 1, &mut t.bus()) == 0), "the rest is zero");
        assert_eq!(dev.read(0x100, 4, &mut t.bus()), 0xffff_ffff, "no extended configuration space");
    }

    #[test]
    fn bars_size_as_qemus_and_map_where_the_guest_puts_them_once_decoding_is_on() {
        let mut t = TestBus::new(1);
        let mut dev = rng();
        let size = |dev: &mut VirtioPci<Rng>, t: &mut TestBus, bar: u64| {
            dev.write(0x10 + 4 * bar, 4, 0xffff_ffff, &mut t.bus());
            let v = dev.read(0x10 + 4 * bar, 4, &mut t.bus());
            dev.write(0x10 + 4 * bar, 4, 0, &mut t.bus());
            v
        };
        // As QEMU's `info pci` gives them: I/O 0x20, memory 4 KiB, 64-bit prefetchable 16 KiB.
        assert_eq!(size(&mut dev, &mut t, 0), 0xffff_ffe1);
        assert_eq!(size(&mut dev, &mut t, 1), 0xffff_f000);
        assert_eq!(size(&mut dev, &mut t, 4), 0xffff_c00c);
        assert_eq!(size(&mut dev, &mut t, 5), 0xffff_ffff);
        assert_eq!(size(&mut dev, &mut t, 2), 0, "no BAR 2");
        dev.write(0x10, 4, 0x80, &mut t.bus());
        dev.write(0x14, 4, 0x4000_0000, &mut t.bus());
        dev.write(0x20, 4, 0, &mut t.bus());
        dev.write(0x24, 4, 4, &mut t.bus());
        assert!(t.signals.take_placements().is_empty(), "nothing decodes before the command register says so");
        dev.write(0x04, 2, 0x0003, &mut t.bus());
        let mut placed = t.signals.take_placements();
        placed.sort_by(|a, b| a.region.cmp(&b.region));
        let names: Vec<String> = (0..6).map(|bar| dev.endpoint().bar_region(bar)).collect();
        let at = |bar: usize, addr: u64| RegionPlacement { region: names[bar].clone(), addr: Some(addr) };
        assert_eq!(placed, [at(0, 0x300_0080), at(1, 0x4000_0000), at(4, 0x4_0000_0000)]);
        assert_eq!(dev.endpoint().bar_region(4), "virtio-rng-pci 00:01.0 BAR4");
        // Memory decoding off takes the memory BARs away; a BAR outside every window is never mapped.
        dev.write(0x04, 2, 0x0001, &mut t.bus());
        assert_eq!(t.signals.take_placements().len(), 2);
        dev.write(0x14, 4, 0x1000, &mut t.bus());
        dev.write(0x04, 2, 0x0003, &mut t.bus());
        let placed = t.signals.take_placements();
        assert_eq!(placed, [at(4, 0x4_0000_0000)], "BAR1 at 0x1000 is outside the 32-bit window");
        let windows = crate::pci::gpex::virt_windows(0x8800_0000);
        assert_eq!(windows[0].space, PciSpace::Io);
    }

    /// Drives the modern interface as Linux's virtio_pci_modern does, with the rings at `ring` in RAM, and asks
    /// for 8 random bytes; returns them.
    fn modern_rng_request(t: &mut TestBus, dev: &mut VirtioPci<Rng>) -> Vec<u8> {
        let common = bar_offset(MODERN_BAR);
        let ram = 0x8000_0000u64;
        dev.write(common + common::DEVICE_STATUS, 1, 0, &mut t.bus());
        dev.write(common + common::DEVICE_STATUS, 1, 3, &mut t.bus());
        dev.write(common + common::DEVICE_FEATURE_SELECT, 4, 1, &mut t.bus());
        assert_eq!(dev.read(common + common::DEVICE_FEATURE, 4, &mut t.bus()) & 1, 1, "VERSION_1 offered");
        dev.write(common + common::DRIVER_FEATURE_SELECT, 4, 1, &mut t.bus());
        dev.write(common + common::DRIVER_FEATURE, 4, 1, &mut t.bus());
        dev.write(common + common::DEVICE_STATUS, 1, 0xb, &mut t.bus());
        assert_eq!(dev.read(common + common::DEVICE_STATUS, 1, &mut t.bus()), 0xb, "FEATURES_OK kept");
        assert_eq!(dev.read(common + common::NUM_QUEUES, 2, &mut t.bus()), 1);
        dev.write(common + common::QUEUE_SELECT, 2, 0, &mut t.bus());
        assert_eq!(dev.read(common + common::QUEUE_SIZE, 2, &mut t.bus()), 256, "the size reads as the largest");
        dev.write(common + common::QUEUE_SIZE, 2, 4, &mut t.bus());
        dev.write(common + common::QUEUE_DESC_LO, 4, ram & 0xffff_ffff, &mut t.bus());
        dev.write(common + common::QUEUE_DESC_HI, 4, 0, &mut t.bus());
        dev.write(common + common::QUEUE_DRIVER_LO, 4, ram + 0x100, &mut t.bus());
        dev.write(common + common::QUEUE_DEVICE_LO, 4, ram + 0x200, &mut t.bus());
        dev.write(common + common::QUEUE_ENABLE, 2, 1, &mut t.bus());
        assert_eq!(dev.read(common + common::QUEUE_ENABLE, 2, &mut t.bus()), 1);
        dev.write(common + common::DEVICE_STATUS, 1, 0xf, &mut t.bus());
        // One writable 8-byte buffer at +0x800, made available.
        t.ram.write(ram, &(ram + 0x800).to_le_bytes()).unwrap();
        t.ram.write(ram + 8, &8u32.to_le_bytes()).unwrap();
        t.ram.write(ram + 12, &2u16.to_le_bytes()).unwrap();
        t.ram.write(ram + 0x104, &0u16.to_le_bytes()).unwrap();
        t.ram.write(ram + 0x102, &1u16.to_le_bytes()).unwrap();
        let notify = common + NOTIFY_PAGE * PAGE;
        dev.write(notify, 2, 0, &mut t.bus());
        let mut out = vec![0; 8];
        t.ram.read(ram + 0x800, &mut out).unwrap();
        out
    }

    #[test]
    fn a_modern_driver_is_served_and_interrupted_on_intx_until_it_reads_the_isr() {
        let mut t = TestBus::new(1);
        let mut dev = rng();
        let bytes = modern_rng_request(&mut t, &mut dev);
        assert_ne!(bytes, [0; 8]);
        assert!(t.line(33), "INTA of slot 1 is line 33");
        assert_eq!(dev.read(0x06, 2, &mut t.bus()) & 0x8, 0x8, "the status register shows the interrupt");
        // INTx disabled in the command register lowers the line but not the status bit.
        dev.write(0x04, 2, 0x0400, &mut t.bus());
        assert!(!t.line(33));
        dev.write(0x04, 2, 0x0000, &mut t.bus());
        assert!(t.line(33));
        let isr = bar_offset(MODERN_BAR) + ISR_PAGE * PAGE;
        assert_eq!(dev.read(isr, 1, &mut t.bus()), 1, "used buffer");
        assert!(!t.line(33), "reading the ISR clears it");
        assert_eq!(dev.read(isr, 1, &mut t.bus()), 0);
        // The same device after a restore of its state serves the same way.
        let saved = dev.save();
        let mut other = rng();
        other.restore(&saved).unwrap();
        assert_eq!(other.save(), saved);
        assert!(other.restore(&saved[..saved.len() / 2]).is_err());
        let mmio = crate::virtio::VirtioMmio::new(Rng::new(1), 1, crate::virtio::MmioVersion::Modern);
        assert!(rng().restore(&mmio.save()).is_err(), "a virtio-mmio device's state is not a virtio-pci one's");
    }

    #[test]
    fn the_legacy_interface_places_a_queue_by_page_frame() {
        let mut t = TestBus::new(1);
        // A legacy queue of 256 entries spans three pages.
        t.ram = rewind::Ram::new(0x8000_0000, 0x4000).unwrap();
        let mut dev = rng();
        let io = bar_offset(LEGACY_BAR);
        assert_eq!(dev.read(io + legacy::HOST_FEATURES, 4, &mut t.bus()) >> 28 & 1, 1, "indirect descriptors");
        assert_eq!(dev.read(io + legacy::QUEUE_NUM, 2, &mut t.bus()), 256);
        dev.write(io + legacy::STATUS, 1, 3, &mut t.bus());
        dev.write(io + legacy::QUEUE_PFN, 4, 0x8000_0000 >> 12, &mut t.bus());
        assert_eq!(dev.read(io + legacy::QUEUE_PFN, 4, &mut t.bus()), 0x8000_0000 >> 12);
        dev.write(io + legacy::STATUS, 1, 7, &mut t.bus());
        assert_eq!(dev.endpoint().command() & COMMAND_MASTER, COMMAND_MASTER, "QEMU turns bus mastering on");
        dev.write(io + legacy::STATUS, 1, 0, &mut t.bus());
        assert_eq!(dev.read(io + legacy::QUEUE_PFN, 4, &mut t.bus()), 0, "a reset forgets the queue");
    }
}
