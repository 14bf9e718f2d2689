//! Split virtqueues (VIRTIO 1.1 section 2.6): the descriptor table, the available ring and the used ring, all in
//! guest RAM.
//!
//! Every address and length here comes from the guest, so everything is validated against RAM before it is used:
//! a descriptor chain is walked and checked in full ([`Queue::walk_chain`]) before a device sees it, and a device
//! only ever touches guest memory through the resulting [`DescChain`], whose buffers are known to lie inside RAM.

use rewind::Ram;
use serde::{Deserialize, Serialize};

/// Descriptor flag: the chain continues at `next`.
pub const VIRTQ_DESC_F_NEXT: u16 = 1;
/// Descriptor flag: the buffer is device-writable (otherwise device-readable).
pub const VIRTQ_DESC_F_WRITE: u16 = 2;
/// Descriptor flag: the buffer holds a table of indirect descriptors.
pub const VIRTQ_DESC_F_INDIRECT: u16 = 4;
/// Available-ring flag: the driver does not want an interrupt when buffers are used.
pub const VIRTQ_AVAIL_F_NO_INTERRUPT: u16 = 1;

/// Largest queue size the transport offers (QueueNumMax).
pub const QUEUE_SIZE_MAX: u16 = 256;

/// Upper bound on the total bytes of one chain (the used ring's `len` is a `u32`).
pub const MAX_CHAIN_BYTES: u64 = u32::MAX as u64;

/// Upper bound on the buffers of one chain, indirect tables included (QEMU's VIRTQUEUE_MAX_SIZE). Linux may
/// build indirect chains longer than a small queue, so the queue size alone is not the limit there.
pub const MAX_CHAIN_DESCS: usize = 1024;

/// Why a descriptor chain or a ring could not be used; the transport then asks the driver to reset the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("queue is not ready")]
    NotReady,
    #[error("queue size {0} is not a power of two in 1..=256")]
    BadSize(u16),
    #[error("ring at {0:#x} is misaligned or not in RAM")]
    BadRing(u64),
    #[error("descriptor index {0} out of range")]
    BadIndex(u32),
    #[error("descriptor buffer {addr:#x}+{len:#x} is not in RAM")]
    BadBuffer { addr: u64, len: u32 },
    #[error("descriptor chain too long (loop?)")]
    ChainTooLong,
    #[error("chain carries more than 4 GiB")]
    ChainTooBig,
    #[error("bad indirect descriptor table")]
    BadIndirect,
    #[error("driver made {0} buffers available at once, more than the queue size")]
    TooManyAvailable(u16),
}

/// One queue's registers as the driver programmed them, plus the device's ring positions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    /// QueueNum: the size the driver chose.
    pub size: u16,
    /// QueueReady.
    pub ready: bool,
    /// QueueDesc: guest-physical address of the descriptor table.
    pub desc: u64,
    /// QueueDriver: the available ring.
    pub driver: u64,
    /// QueueDevice: the used ring.
    pub device: u64,
    /// Next available-ring slot the device will consume.
    pub last_avail_idx: u16,
    /// The device's used-ring index (the value it last published in `used.idx`).
    pub used_idx: u16,
}

/// One buffer of a validated chain: `[addr, addr+len)` lies wholly in RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buf {
    pub addr: u64,
    pub len: u32,
    pub write: bool,
}

/// A validated descriptor chain: its head index (for the used ring) and its buffers in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescChain {
    pub head: u16,
    pub bufs: Vec<Buf>,
}

struct RawDesc {
    addr: u64,
    len: u32,
    flags: u16,
    next: u16,
}

fn read_desc(ram: &Ram, table: u64, index: u32) -> Option<RawDesc> {
    let mut b = [0u8; 16];
    ram.read(table.checked_add(u64::from(index) * 16)?, &mut b)?;
    Some(RawDesc {
        addr: u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        len: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
        flags: u16::from_le_bytes([b[12], b[13]]),
        next: u16::from_le_bytes([b[14], b[15]]),
    })
}

fn in_ram(ram: &Ram, addr: u64, len: u64, align: u64) -> bool {
    addr & (align - 1) == 0 && ram.offset_of(addr, len).is_some()
}

impl Queue {
    /// Checks the size and that the three rings are aligned and wholly in RAM (section 2.6).
    pub fn validate(&self, ram: &Ram) -> Result<(), QueueError> {
        let n = u64::from(self.size);
        if self.size == 0 || self.size > QUEUE_SIZE_MAX || !self.size.is_power_of_two() {
            return Err(QueueError::BadSize(self.size));
        }
        if !in_ram(ram, self.desc, 16 * n, 16) {
            return Err(QueueError::BadRing(self.desc));
        }
        if !in_ram(ram, self.driver, 6 + 2 * n, 2) {
            return Err(QueueError::BadRing(self.driver));
        }
        if !in_ram(ram, self.device, 6 + 8 * n, 4) {
            return Err(QueueError::BadRing(self.device));
        }
        Ok(())
    }

    /// Forgets everything (device reset, or the driver writing QueueReady = 0 keeps only the registers).
    pub fn reset(&mut self) {
        *self = Queue::default();
    }

    /// The driver's `avail.flags`.
    pub fn avail_flags(&self, ram: &Ram) -> Result<u16, QueueError> {
        ram.read_u16(self.driver).ok_or(QueueError::BadRing(self.driver))
    }

    /// The head of the next available chain, if the driver made one available, and advances `last_avail_idx`.
    pub fn pop_avail(&mut self, ram: &Ram) -> Result<Option<u16>, QueueError> {
        if !self.ready {
            return Err(QueueError::NotReady);
        }
        self.validate(ram)?;
        let avail_idx = ram.read_u16(self.driver + 2).ok_or(QueueError::BadRing(self.driver))?;
        let pending = avail_idx.wrapping_sub(self.last_avail_idx);
        if pending == 0 {
            return Ok(None);
        }
        if pending > self.size {
            return Err(QueueError::TooManyAvailable(pending));
        }
        let slot = u64::from(self.last_avail_idx % self.size);
        let head = ram.read_u16(self.driver + 4 + 2 * slot).ok_or(QueueError::BadRing(self.driver))?;
        self.last_avail_idx = self.last_avail_idx.wrapping_add(1);
        Ok(Some(head))
    }

    /// Walks and validates the chain starting at `head`: indexes in range, at most one descriptor per table
    /// entry (so a loop is caught), every buffer wholly in RAM, at most [`MAX_CHAIN_DESCS`] buffers and [`MAX_CHAIN_BYTES`] in total, and
    /// indirect tables (one level, whole descriptors, in RAM, no nested indirection).
    pub fn walk_chain(&self, ram: &Ram, head: u16) -> Result<DescChain, QueueError> {
        let mut chain = DescChain { head, bufs: Vec::new() };
        let mut total: u64 = 0;
        let mut index = u32::from(head);
        let mut steps = 0u32;
        loop {
            if index >= u32::from(self.size) {
                return Err(QueueError::BadIndex(index));
            }
            steps += 1;
            if steps > u32::from(self.size) {
                return Err(QueueError::ChainTooLong);
            }
            let d = read_desc(ram, self.desc, index).ok_or(QueueError::BadRing(self.desc))?;
            if d.flags & VIRTQ_DESC_F_INDIRECT != 0 {
                if d.flags & VIRTQ_DESC_F_NEXT != 0 {
                    return Err(QueueError::BadIndirect);
                }
                walk_indirect(ram, &d, &mut chain, &mut total)?;
                return Ok(chain);
            }
            push_buf(ram, &d, &mut chain, &mut total)?;
            if d.flags & VIRTQ_DESC_F_NEXT == 0 {
                return Ok(chain);
            }
            index = u32::from(d.next);
        }
    }

    /// Publishes a used element `(head, len)` and advances `used.idx`.
    pub fn push_used(&mut self, ram: &mut Ram, head: u16, len: u32) -> Result<(), QueueError> {
        self.validate(ram)?;
        let slot = u64::from(self.used_idx % self.size);
        let elem = self.device + 4 + 8 * slot;
        ram.write_u32(elem, u32::from(head)).ok_or(QueueError::BadRing(self.device))?;
        ram.write_u32(elem + 4, len).ok_or(QueueError::BadRing(self.device))?;
        self.used_idx = self.used_idx.wrapping_add(1);
        ram.write_u16(self.device + 2, self.used_idx).ok_or(QueueError::BadRing(self.device))
    }
}

fn push_buf(ram: &Ram, d: &RawDesc, chain: &mut DescChain, total: &mut u64) -> Result<(), QueueError> {
    if ram.offset_of(d.addr, u64::from(d.len)).is_none() {
        return Err(QueueError::BadBuffer { addr: d.addr, len: d.len });
    }
    *total += u64::from(d.len);
    if chain.bufs.len() >= MAX_CHAIN_DESCS {
        return Err(QueueError::ChainTooLong);
    }
    if *total > MAX_CHAIN_BYTES {
        return Err(QueueError::ChainTooBig);
    }
    chain.bufs.push(Buf { addr: d.addr, len: d.len, write: d.flags & VIRTQ_DESC_F_WRITE != 0 });
    Ok(())
}

fn walk_indirect(ram: &Ram, ind: &RawDesc, chain: &mut DescChain, total: &mut u64) -> Result<(), QueueError> {
    if ind.len == 0 || ind.len & 15 != 0 || ram.offset_of(ind.addr, u64::from(ind.len)).is_none() {
        return Err(QueueError::BadIndirect);
    }
    let entries = ind.len / 16;
    let mut index = 0u32;
    let mut steps = 0u32;
    loop {
        if index >= entries {
            return Err(QueueError::BadIndex(index));
        }
        steps += 1;
        if steps > entries {
            return Err(QueueError::ChainTooLong);
        }
        let d = read_desc(ram, ind.addr, index).ok_or(QueueError::BadIndirect)?;
        if d.flags & VIRTQ_DESC_F_INDIRECT != 0 {
            return Err(QueueError::BadIndirect);
        }
        push_buf(ram, &d, chain, total)?;
        if d.flags & VIRTQ_DESC_F_NEXT == 0 {
            return Ok(());
        }
        index = u32::from(d.next);
    }
}

impl DescChain {
    /// Total bytes of the device-readable buffers.
    pub fn readable_len(&self) -> u64 {
        self.bufs.iter().filter(|b| !b.write).map(|b| u64::from(b.len)).sum()
    }

    /// Total bytes of the device-writable buffers.
    pub fn writable_len(&self) -> u64 {
        self.bufs.iter().filter(|b| b.write).map(|b| u64::from(b.len)).sum()
    }

    /// Copies from the device-readable bytes (seen as one contiguous stream) starting at `offset` into `buf`.
    /// Returns how many bytes were copied (less than `buf.len()` at the end of the stream).
    pub fn read_at(&self, ram: &Ram, offset: u64, buf: &mut [u8]) -> usize {
        let mut done = 0usize;
        let mut pos = 0u64;
        for b in self.bufs.iter().filter(|b| !b.write) {
            if done == buf.len() {
                break;
            }
            let len = u64::from(b.len);
            let want = offset + done as u64;
            if want < pos + len {
                let skip = want - pos;
                let n = ((len - skip) as usize).min(buf.len() - done);
                if ram.read(b.addr + skip, &mut buf[done..done + n]).is_none() {
                    return done;
                }
                done += n;
            }
            pos += len;
        }
        done
    }

    /// Copies `data` into the device-writable bytes (seen as one contiguous stream) starting at `offset`.
    /// Returns how many bytes were copied.
    pub fn write_at(&self, ram: &mut Ram, offset: u64, data: &[u8]) -> usize {
        let mut done = 0usize;
        let mut pos = 0u64;
        for b in self.bufs.iter().filter(|b| b.write) {
            if done == data.len() {
                break;
            }
            let len = u64::from(b.len);
            let want = offset + done as u64;
            if want < pos + len {
                let skip = want - pos;
                let n = ((len - skip) as usize).min(data.len() - done);
                if ram.write(b.addr + skip, &data[done..done + n]).is_none() {
                    return done;
                }
                done += n;
            }
            pos += len;
        }
        done
    }
}
