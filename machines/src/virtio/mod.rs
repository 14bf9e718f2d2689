//! virtio over MMIO (VIRTIO 1.1, section 4.2.2, "modern" version 2 register layout) with split virtqueues, and
//! the device types behind it: block (`blk`) and entropy (`rng`). A device type implements [`VirtioBackend`];
//! [`VirtioMmio`] is the one transport. Requests complete synchronously when the driver notifies the queue, so
//! completion is a function of the instruction count at which the notify happened (deterministic).

pub mod blk;
mod queue;
pub mod rng;

use queue::{Queue, Segment};
use rewind::device::{decode_state, encode_state, Device, DeviceBus, RestoreError};
use rewind::Ram;
use serde::{Deserialize, Serialize};

pub use blk::{BlockBackend, FileDisk, OverlayDisk, VirtioBlk};
pub use rng::VirtioRng;

const MAGIC: u64 = 0x7472_6976;
const VENDOR_QEMU: u64 = 0x554d_4551;
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;
const QUEUE_NUM_MAX: u16 = 256;
/// Status bit a device sets when it needs a reset (a malformed request).
const STATUS_NEEDS_RESET: u32 = 0x40;
const INT_USED_BUFFER: u32 = 1;
const INT_CONFIG_CHANGE: u32 = 2;

/// A device type behind the transport.
pub trait VirtioBackend: Send {
    fn device_id(&self) -> u32;
    fn kind(&self) -> &'static str;
    /// Feature bits offered (VIRTIO_F_VERSION_1 is added by the transport).
    fn features(&self) -> u64;
    fn queue_count(&self) -> usize;
    /// One byte of the device configuration space.
    fn config_byte(&self, offset: u64) -> u8;
    /// Handles one descriptor chain of queue `queue`; returns the number of bytes written to the chain, or an
    /// error if the request is malformed beyond an error status.
    fn process(&mut self, queue: usize, chain: &[Segment], ram: &mut Ram) -> Result<u32, String>;
    fn save(&self) -> Vec<u8>;
    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError>;
    fn inspect(&self) -> Vec<(String, String)>;
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct TransportState {
    status: u32,
    device_features_sel: u32,
    driver_features: u64,
    driver_features_sel: u32,
    queue_sel: u32,
    queues: Vec<Queue>,
    interrupt_status: u32,
    config_generation: u32,
    backend: Vec<u8>,
}

/// The virtio-mmio transport around a [`VirtioBackend`].
pub struct VirtioMmio {
    irq: u32,
    state: TransportState,
    backend: Box<dyn VirtioBackend>,
}

impl VirtioMmio {
    pub fn new(irq: u32, backend: Box<dyn VirtioBackend>) -> VirtioMmio {
        let queues = vec![Queue::default(); backend.queue_count()];
        VirtioMmio { irq, state: TransportState { queues, ..Default::default() }, backend }
    }

    fn reset(&mut self) {
        let queues = vec![Queue::default(); self.backend.queue_count()];
        let generation = self.state.config_generation;
        self.state = TransportState { queues, config_generation: generation, ..Default::default() };
    }

    fn features(&self) -> u64 {
        self.backend.features() | VIRTIO_F_VERSION_1
    }

    fn queue(&mut self) -> Option<&mut Queue> {
        self.state.queues.get_mut(self.state.queue_sel as usize)
    }

    fn update_irq(&self, bus: &mut DeviceBus) {
        bus.set_irq(self.irq, self.state.interrupt_status != 0);
    }

    fn notify(&mut self, index: usize, bus: &mut DeviceBus) {
        let Some(queue) = self.state.queues.get(index).cloned() else { return };
        if !queue.ready || self.state.status & STATUS_NEEDS_RESET != 0 {
            return;
        }
        let mut queue = queue;
        let mut used_any = false;
        let result = queue.drain(bus.ram, |chain, ram| self.backend.process(index, chain, ram), &mut used_any);
        if let Some(q) = self.state.queues.get_mut(index) {
            *q = queue;
        }
        if used_any {
            self.state.interrupt_status |= INT_USED_BUFFER;
        }
        if result.is_err() {
            // A malformed chain: tell the driver the device needs a reset instead of guessing.
            self.state.status |= STATUS_NEEDS_RESET;
            self.state.interrupt_status |= INT_CONFIG_CHANGE;
        }
        self.update_irq(bus);
    }
}

fn set_half(word: &mut u64, high: bool, value: u64) {
    if high {
        *word = (*word & 0xffff_ffff) | (value << 32);
    } else {
        *word = (*word & !0xffff_ffff) | (value & 0xffff_ffff);
    }
}

impl Device for VirtioMmio {
    fn kind(&self) -> &'static str {
        self.backend.kind()
    }

    fn read(&mut self, offset: u64, size: u8, _bus: &mut DeviceBus) -> u64 {
        if offset >= 0x100 {
            let mut v = 0u64;
            for i in 0..size as u64 {
                v |= (self.backend.config_byte(offset - 0x100 + i) as u64) << (8 * i);
            }
            return v;
        }
        let s = &self.state;
        let q = s.queues.get(s.queue_sel as usize);
        match offset {
            0x000 => MAGIC,
            0x004 => 2,
            0x008 => self.backend.device_id() as u64,
            0x00c => VENDOR_QEMU,
            0x010 => match s.device_features_sel {
                0 => self.features() & 0xffff_ffff,
                1 => self.features() >> 32,
                _ => 0,
            },
            0x034 => q.map_or(0, |_| QUEUE_NUM_MAX as u64),
            0x044 => q.map_or(0, |q| q.ready as u64),
            0x060 => s.interrupt_status as u64,
            0x070 => s.status as u64,
            0x0fc => s.config_generation as u64,
            _ => 0,
        }
    }

    fn write(&mut self, offset: u64, _size: u8, value: u64, bus: &mut DeviceBus) {
        let v32 = value & 0xffff_ffff;
        match offset {
            0x014 => self.state.device_features_sel = v32 as u32,
            0x020 => {
                let high = self.state.driver_features_sel == 1;
                if self.state.driver_features_sel <= 1 {
                    set_half(&mut self.state.driver_features, high, v32);
                }
            }
            0x024 => self.state.driver_features_sel = v32 as u32,
            0x030 => self.state.queue_sel = v32 as u32,
            0x038 => {
                if let Some(q) = self.queue() {
                    q.size = v32.min(QUEUE_NUM_MAX as u64) as u16;
                }
            }
            0x044 => {
                if let Some(q) = self.queue() {
                    q.ready = v32 & 1 == 1;
                }
            }
            0x050 => self.notify(v32 as usize, bus),
            0x064 => {
                self.state.interrupt_status &= !(v32 as u32);
                self.update_irq(bus);
            }
            0x070 => {
                if v32 == 0 {
                    self.reset();
                    self.update_irq(bus);
                } else {
                    self.state.status = v32 as u32;
                }
            }
            0x080 | 0x084 => self.queue().into_iter().for_each(|q| set_half(&mut q.desc, offset == 0x084, v32)),
            0x090 | 0x094 => self.queue().into_iter().for_each(|q| set_half(&mut q.avail, offset == 0x094, v32)),
            0x0a0 | 0x0a4 => self.queue().into_iter().for_each(|q| set_half(&mut q.used, offset == 0x0a4, v32)),
            _ => {}
        }
    }

    fn save(&self) -> Vec<u8> {
        let mut s = self.state.clone();
        s.backend = self.backend.save();
        encode_state(&s)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        let s: TransportState = decode_state(self.kind(), state)?;
        if s.queues.len() != self.backend.queue_count() {
            return Err(RestoreError { device: self.kind().into(), reason: "queue count differs".into() });
        }
        self.backend.restore(&s.backend)?;
        self.state = TransportState { backend: Vec::new(), ..s };
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let s = &self.state;
        let mut out = vec![
            ("device_id".into(), self.backend.device_id().to_string()),
            ("status".into(), format!("{:#x}", s.status)),
            ("driver_features".into(), format!("{:#x}", s.driver_features)),
            ("interrupt_status".into(), format!("{:#x}", s.interrupt_status)),
        ];
        for (i, q) in s.queues.iter().enumerate() {
            out.push((
                format!("queue{i}"),
                format!("ready={} size={} last_avail={} used={}", q.ready, q.size, q.last_avail, q.used_idx),
            ));
        }
        out.extend(self.backend.inspect());
        out
    }
}

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
