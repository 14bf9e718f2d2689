//! virtio devices on the virtio-mmio transport (VIRTIO 1.1: the modern interface, and the legacy one QEMU
//! defaults to).
//!
//! [`VirtioMmio`] is the transport: the register block of section 4.2.2, feature negotiation, the device status
//! state machine, split virtqueues ([`queue`]) and the interrupt line. What a device *does* lives behind
//! [`VirtioBackend`], one file per device type: [`blk`] (block device, id 2) and [`rng`] (entropy, id 4).
//!
//! Requests complete synchronously inside the guest's QueueNotify write, so completion is a function of the
//! instruction count at which the notify happened: record and replay see identical device behaviour.

pub mod blk;
pub mod mmio;
pub mod pci;
pub mod queue;
pub mod rng;
pub mod transport;

pub use blk::{Blk, BlockBackend, FileDisk, JournaledDisk, OverlayDisk, SaveOriginal};
pub use mmio::{MmioVersion, VirtioMmio};
pub use pci::VirtioPci;
pub use queue::{Buf, DescChain, Queue, QueueError};
pub use rng::Rng;

use crate::fdt::{FdtNode, FdtWiring};
use rewind::{DeviceInput, Ram};

/// The device-tree node of a virtio-mmio transport on platform line `irq` (the same whether a device sits behind
/// it or not: the guest probes the transport to find out).
pub fn virtio_mmio_fdt_node(irq: u32) -> FdtNode {
    FdtNode { name: "virtio_mmio", compatible: &["virtio,mmio"], wiring: FdtWiring::Line(Some(irq)), cells: Vec::new() }
}

/// Size of the register window each virtio-mmio device occupies on QEMU's `virt` board.
pub const VIRTIO_MMIO_SIZE: u64 = 0x1000;

/// Device ID of a block device.
pub const VIRTIO_ID_BLOCK: u32 = 2;
/// Device ID of an entropy source.
pub const VIRTIO_ID_RNG: u32 = 4;

/// Feature bit: the driver may use indirect descriptors.
pub const VIRTIO_F_INDIRECT_DESC: u64 = 1 << 28;
/// Feature bit: the modern (1.0+) interface; always offered, and the driver must accept it.
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;

/// What a virtio device type implements; the transport handles everything else.
pub trait VirtioBackend: Send {
    /// Short type name for `info devices` (e.g. `virtio-blk`).
    fn kind(&self) -> &'static str;

    /// The virtio device ID (2 = block, 4 = entropy).
    fn device_id(&self) -> u32;

    /// Device-specific feature bits offered; the transport adds the transport bits (VERSION_1, INDIRECT_DESC).
    fn features(&self) -> u64;

    /// Number of virtqueues.
    fn num_queues(&self) -> usize;

    /// Reads `data.len()` bytes of the device configuration space at `offset` (bytes past its end read as 0).
    fn read_config(&self, offset: u64, data: &mut [u8]);

    /// Bytes of configuration space the device has as QEMU 7.2 models it (which sizes virtio-pci's legacy BAR;
    /// fields rewind does not offer read as 0).
    fn config_len(&self) -> usize {
        0
    }

    /// Writes the device configuration space; most fields are read-only, so the default ignores writes.
    fn write_config(&mut self, _offset: u64, _data: &[u8]) {}

    /// The driver accepted these features (called when it sets FEATURES_OK and the set is valid).
    fn ack_features(&mut self, _features: u64) {}

    /// Handles one validated descriptor chain from `queue`; returns the number of bytes written into the
    /// chain's device-writable buffers (the used element's `len`).
    fn process(&mut self, queue: usize, chain: &DescChain, ram: &mut Ram) -> u32;

    /// Takes input from the host side (a network device: a frame to receive) and keeps it until the driver has
    /// a buffer for it. Returns the queue whose buffers it goes into, which the transport then serves, or `None`
    /// if the device takes no input of this kind (the default).
    fn input(&mut self, _input: &DeviceInput) -> Option<usize> {
        None
    }

    /// Whether the device has something for the next buffer of `queue`. A queue the driver fills for the device
    /// to read always has; a receive queue only while input waits, so its buffers stay available until then.
    fn has_work(&self, _queue: usize) -> bool {
        true
    }

    /// The device was reset by the driver (Status = 0). Disk contents survive a reset.
    fn reset(&mut self) {}

    /// Device-specific state for snapshots.
    fn save(&self) -> Vec<u8>;

    /// Restores what [`VirtioBackend::save`] produced.
    fn restore(&mut self, state: &[u8]) -> Result<(), String>;

    /// Device-specific lines for `info devices`.
    fn inspect(&self) -> Vec<(String, String)>;
}

/// Copies `src` (a device's configuration structure) at `offset` into `data`, zero outside it.
pub(crate) fn read_config_bytes(src: &[u8], offset: u64, data: &mut [u8]) {
    for (i, byte) in data.iter_mut().enumerate() {
        *byte =
            usize::try_from(offset).ok().and_then(|o| o.checked_add(i)).and_then(|o| src.get(o)).copied().unwrap_or(0);
    }
}

#[cfg(test)]
mod tests;
