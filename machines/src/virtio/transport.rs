//! What every virtio transport shares (VIRTIO 1.1 sections 2 and 3): feature negotiation, the device status
//! state machine, the split virtqueues and serving them, the interrupt status, and the saved state. The
//! transports — virtio-mmio and virtio-pci — only decode their registers onto it and drive their
//! interrupt: a transport calls its own interrupt update after every operation here that can change
//! [`Transport::interrupt_status`].

use super::queue::{Queue, QueueError, QUEUE_SIZE_MAX, VIRTQ_AVAIL_F_NO_INTERRUPT};
use super::{VirtioBackend, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1};
use rewind::device::{decode_state, encode_state, RestoreError};
use rewind::{DeviceBus, DeviceInput};
use serde::{Deserialize, Serialize};

/// Device status bits (section 2.1).
pub mod status {
    pub const ACKNOWLEDGE: u32 = 1;
    pub const DRIVER: u32 = 2;
    pub const DRIVER_OK: u32 = 4;
    pub const FEATURES_OK: u32 = 8;
    pub const DEVICE_NEEDS_RESET: u32 = 0x40;
    pub const FAILED: u32 = 0x80;
}

/// Interrupt status bit: a used buffer was published.
pub const INT_USED_BUFFER: u32 = 1;
/// Interrupt status bit: the configuration changed (or the device needs a reset).
pub const INT_CONFIG_CHANGE: u32 = 2;

/// The used-ring alignment a legacy queue has until the driver says otherwise (QEMU's, the x86 page size; the
/// legacy PCI layout has no other).
pub const LEGACY_ALIGN: u32 = 4096;

/// A queue register a driver programs before it makes the queue live: the size, and the halves of the three ring
/// addresses. Each transport has them at its own offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueField {
    Size,
    DescLow,
    DescHigh,
    DriverLow,
    DriverHigh,
    DeviceLow,
    DeviceHigh,
}

/// A virtio device and the transport-independent state around it.
pub struct Transport<B: VirtioBackend> {
    backend: B,
    pub(super) s: TransportState,
}

/// Everything guest-visible the transports share (saved with the backend's state).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct TransportState {
    pub status: u32,
    pub device_features_sel: u32,
    pub driver_features_sel: u32,
    pub driver_features: u64,
    pub queue_sel: u32,
    pub interrupt_status: u32,
    pub config_generation: u32,
    pub queues: Vec<Queue>,
    /// Why the device last entered DEVICE_NEEDS_RESET, for `info devices`.
    pub last_error: Option<String>,
    /// Legacy virtio-mmio: log2 of the guest's page size (GuestPageSize), 0 until written, as in QEMU.
    #[serde(default)]
    pub guest_page_shift: u32,
    /// Legacy virtio-mmio: each queue's used-ring alignment (QueueAlign).
    #[serde(default)]
    pub queue_align: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
struct SavedState<T> {
    /// The backend's kind, so a snapshot of one device type is never fed to another.
    kind: String,
    transport: TransportState,
    /// What the transport keeps of its own (its registers outside the shared state).
    own: T,
    backend: Vec<u8>,
}

impl TransportState {
    /// The state after a reset: `queues` unready queues; the configuration generation survives.
    fn fresh(queues: usize, config_generation: u32) -> TransportState {
        TransportState {
            queues: vec![Queue::default(); queues],
            queue_align: vec![LEGACY_ALIGN; queues],
            config_generation,
            ..TransportState::default()
        }
    }
}

impl<B: VirtioBackend> Transport<B> {
    pub fn new(backend: B) -> Transport<B> {
        let s = TransportState::fresh(backend.num_queues(), 0);
        Transport { backend, s }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    pub fn status(&self) -> u32 {
        self.s.status
    }

    pub fn interrupt_status(&self) -> u32 {
        self.s.interrupt_status
    }

    /// Clears the interrupt status bits set in `bits` (the driver's acknowledgement).
    pub fn ack_interrupt(&mut self, bits: u32) {
        self.s.interrupt_status &= !bits;
    }

    /// Reads and clears the interrupt status, as the ISR registers of virtio-pci do.
    pub fn take_interrupt_status(&mut self) -> u32 {
        std::mem::take(&mut self.s.interrupt_status)
    }

    /// All features offered: the device's plus the transport's; a legacy layout has only the low 32 bits, so it
    /// never offers VERSION_1.
    pub fn device_features(&self, legacy: bool) -> u64 {
        let features = self.backend.features() | VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC;
        if legacy {
            features & 0xffff_ffff
        } else {
            features
        }
    }

    /// The 32 bits of the offered features the device-features selector picks.
    pub fn device_features_word(&self, legacy: bool) -> u32 {
        match self.s.device_features_sel {
            0 => self.device_features(legacy) as u32,
            1 => (self.device_features(legacy) >> 32) as u32,
            _ => 0,
        }
    }

    /// The 32 bits of the driver's features the driver-features selector picks.
    pub fn driver_features_word(&self) -> u32 {
        match self.s.driver_features_sel {
            0 => self.s.driver_features as u32,
            1 => (self.s.driver_features >> 32) as u32,
            _ => 0,
        }
    }

    pub fn driver_features(&self) -> u64 {
        self.s.driver_features
    }

    pub fn select_device_features(&mut self, sel: u32) {
        self.s.device_features_sel = sel;
    }

    pub fn select_driver_features(&mut self, sel: u32) {
        self.s.driver_features_sel = sel;
    }

    /// The driver writes the 32 feature bits its selector picks; ignored once FEATURES_OK is set (modern layouts).
    pub fn write_driver_features_word(&mut self, value: u32) {
        if self.s.status & status::FEATURES_OK != 0 {
            return;
        }
        let f = &mut self.s.driver_features;
        match self.s.driver_features_sel {
            0 => *f = (*f & !0xffff_ffff) | u64::from(value),
            1 => *f = (*f & 0xffff_ffff) | (u64::from(value) << 32),
            _ => {}
        }
    }

    /// A legacy driver writes its (32) features: they take effect at once, as in QEMU.
    pub fn write_legacy_driver_features(&mut self, value: u32) {
        self.s.driver_features = u64::from(value) & self.device_features(true);
        self.backend.ack_features(self.s.driver_features);
    }

    /// The driver writes the status register. Returns false if it asked for a reset (0), which the caller does
    /// (the transports reset different amounts of their own state).
    ///
    /// The features take effect when the driver says it is done with them: FEATURES_OK on a modern layout; a
    /// legacy driver sets no FEATURES_OK and has them taken as written. Bits the device did not offer are dropped
    /// and a driver that does not accept VERSION_1 is served all the same, as QEMU does (the specification would
    /// refuse; drivers in teaching kernels rely on QEMU's leniency).
    pub fn write_status(&mut self, value: u32, legacy: bool) -> bool {
        if value == 0 {
            return false;
        }
        let old = self.s.status;
        let new = (value & 0xff) | (old & status::DEVICE_NEEDS_RESET);
        if new & status::FEATURES_OK != 0 && old & status::FEATURES_OK == 0 && !legacy {
            self.s.driver_features &= self.device_features(false);
            self.backend.ack_features(self.s.driver_features);
        }
        self.s.status = new;
        true
    }

    /// The driver's reset (a status of 0): queues, features and interrupts start over. `keep_page_shift`: the
    /// legacy virtio-mmio guest page size survives it, as in QEMU (Linux writes it once, before the reset that
    /// starts every driver).
    pub fn reset(&mut self, keep_page_shift: bool) {
        let page_shift = if keep_page_shift { self.s.guest_page_shift } else { 0 };
        self.s = TransportState::fresh(self.backend.num_queues(), self.s.config_generation);
        self.s.guest_page_shift = page_shift;
        self.backend.reset();
    }

    pub fn queue_sel(&self) -> u32 {
        self.s.queue_sel
    }

    pub fn select_queue(&mut self, sel: u32) {
        self.s.queue_sel = sel;
    }

    pub fn num_queues(&self) -> usize {
        self.s.queues.len()
    }

    /// The selected queue, if it exists.
    pub fn queue(&self) -> Option<&Queue> {
        self.s.queues.get(self.s.queue_sel as usize)
    }

    /// The selected queue while the driver may still configure it (it is not live).
    pub fn configurable_queue(&mut self) -> Option<&mut Queue> {
        self.s.queues.get_mut(self.s.queue_sel as usize).filter(|q| !q.ready)
    }

    /// Writes a register of the selected queue; ignored while the queue is live.
    pub fn write_queue_field(&mut self, field: QueueField, value: u32) {
        let Some(q) = self.configurable_queue() else {
            return;
        };
        let lo = |old: u64| (old & !0xffff_ffff) | u64::from(value);
        let hi = |old: u64| (old & 0xffff_ffff) | (u64::from(value) << 32);
        match field {
            QueueField::Size => q.size = value.min(u32::from(u16::MAX)) as u16,
            QueueField::DescLow => q.desc = lo(q.desc),
            QueueField::DescHigh => q.desc = hi(q.desc),
            QueueField::DriverLow => q.driver = lo(q.driver),
            QueueField::DriverHigh => q.driver = hi(q.driver),
            QueueField::DeviceLow => q.device = lo(q.device),
            QueueField::DeviceHigh => q.device = hi(q.device),
        }
    }

    /// Makes the selected queue live (the modern layouts' QueueReady/queue_enable), or stops it with a 0.
    pub fn set_queue_ready(&mut self, ready: bool, bus: &mut DeviceBus) {
        let Some(queue) = self.s.queues.get_mut(self.s.queue_sel as usize) else {
            return;
        };
        if !ready {
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
            Err(e) => self.fail(e),
        }
    }

    /// Legacy layouts: the driver placed the selected queue at `desc`; the available ring follows the
    /// descriptor table and the used ring the available ring, at the next multiple of `align` (section 2.7.2 of
    /// VIRTIO 1.0's legacy layout).
    pub fn place_legacy_queue(&mut self, desc: u64, align: u32, bus: &mut DeviceBus) {
        let Some(queue) = self.s.queues.get_mut(self.s.queue_sel as usize) else {
            return;
        };
        let n = u64::from(queue.size);
        queue.desc = desc;
        queue.driver = desc + 16 * n;
        queue.device = (queue.driver + 6 + 2 * n).next_multiple_of(u64::from(align.max(1)));
        queue.ready = false;
        self.set_queue_ready(true, bus);
    }

    /// Enters DEVICE_NEEDS_RESET: stop using the queues and tell the driver with a config-change interrupt.
    fn fail(&mut self, error: QueueError) {
        self.s.status |= status::DEVICE_NEEDS_RESET;
        self.s.last_error = Some(error.to_string());
        if self.s.status & status::DRIVER_OK != 0 {
            self.s.interrupt_status |= INT_CONFIG_CHANGE;
        }
    }

    /// Serves queue `index`: every chain the driver made available is processed and published as used. Returns
    /// whether the driver wants an interrupt for it (buffers were used and the driver did not suppress it).
    pub fn notify(&mut self, index: usize, bus: &mut DeviceBus) -> bool {
        if self.s.status & status::DRIVER_OK == 0 || self.s.status & status::DEVICE_NEEDS_RESET != 0 {
            return false;
        }
        let Some(queue) = self.s.queues.get_mut(index) else {
            return false;
        };
        if !queue.ready {
            return false;
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
        let mut interrupt = false;
        if used {
            let suppressed = queue.avail_flags(bus.ram()).map(|f| f & VIRTQ_AVAIL_F_NO_INTERRUPT != 0).unwrap_or(false);
            if !suppressed {
                self.s.interrupt_status |= INT_USED_BUFFER;
                interrupt = true;
            }
        }
        if let Some(e) = error {
            self.fail(e);
        }
        interrupt
    }

    /// Input goes to the backend, which keeps it; the queue it names is served at once, so the input lands in
    /// a buffer the driver made available before, or waits for the driver's next notify. False if the device
    /// takes no input of this kind.
    pub fn input(&mut self, input: &DeviceInput, bus: &mut DeviceBus) -> bool {
        match self.backend.input(input) {
            Some(queue) => {
                self.notify(queue, bus);
                true
            }
            None => false,
        }
    }

    pub fn read_config(&self, offset: u64, size: u8) -> u64 {
        let mut data = [0u8; 8];
        let n = usize::from(size).min(8);
        self.backend.read_config(offset, &mut data[..n]);
        u64::from_le_bytes(data)
    }

    pub fn write_config(&mut self, offset: u64, size: u8, value: u64) {
        let n = usize::from(size).min(8);
        self.backend.write_config(offset, &value.to_le_bytes()[..n]);
    }

    /// The saved state, with the transport's own registers `own`.
    pub fn save<T: Serialize>(&self, own: &T) -> Vec<u8> {
        encode_state(&SavedState {
            kind: self.backend.kind().to_string(),
            transport: self.s.clone(),
            own,
            backend: self.backend.save(),
        })
    }

    /// Restores what [`Transport::save`] produced and returns the transport's own registers, which `check_own`
    /// checks; nothing changes unless the whole state is good.
    pub fn restore<T: for<'de> Deserialize<'de>>(
        &mut self,
        state: &[u8],
        check_own: impl Fn(&T) -> Result<(), String>,
    ) -> Result<T, RestoreError> {
        let kind = self.backend.kind();
        let queues = self.backend.num_queues();
        let saved = decode_state(kind, state, |saved: &SavedState<T>| {
            if saved.kind != kind {
                return Err(format!("snapshot is of a {} device", saved.kind));
            }
            if saved.transport.queues.len() != queues {
                return Err(format!("{} queues saved, device has {queues}", saved.transport.queues.len()));
            }
            match saved.transport.queues.iter().find(|q| q.ready && q.size > QUEUE_SIZE_MAX) {
                Some(q) => Err(format!("queue size {} out of range", q.size)),
                None => check_own(&saved.own),
            }
        })?;
        let err = |reason: String| RestoreError { device: kind.to_string(), reason };
        self.backend.restore(&saved.backend).map_err(err)?;
        self.s = saved.transport;
        Ok(saved.own)
    }

    /// `info devices` lines: the status, features, queues, the last error, then the backend's own.
    pub fn inspect(&self, legacy: bool, transport: (String, String)) -> Vec<(String, String)> {
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
            transport,
            ("status".to_string(), format!("{:#04x} [{}]", self.s.status, flags.join(" "))),
            ("device_features".to_string(), format!("{:#018x}", self.device_features(legacy))),
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
