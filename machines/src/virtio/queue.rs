//! Split virtqueues (VIRTIO 1.1 section 2.6): descriptor table, available ring, used ring. Every address and
//! length comes from the guest and is checked; a malformed chain is an error, never a host panic.

use rewind::Ram;
use serde::{Deserialize, Serialize};

const DESC_F_NEXT: u16 = 1;
const DESC_F_WRITE: u16 = 2;
const DESC_F_INDIRECT: u16 = 4;
/// Largest buffer a single descriptor may describe (guards against absurd lengths).
const MAX_SEGMENT: u32 = 16 << 20;

/// One buffer of a descriptor chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub addr: u64,
    pub len: u32,
    /// Device-writable (the device fills it) rather than device-readable.
    pub write: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    pub size: u16,
    pub ready: bool,
    pub desc: u64,
    pub avail: u64,
    pub used: u64,
    /// Next available-ring entry the device will take.
    pub last_avail: u16,
    /// The device's used-ring index.
    pub used_idx: u16,
}

impl Queue {
    /// Reads the chain starting at descriptor `head`.
    fn chain(&self, ram: &Ram, head: u16) -> Result<Vec<Segment>, String> {
        let mut out = Vec::new();
        let (mut table, mut table_len, mut index) = (self.desc, self.size as u64, head as u64);
        let mut indirect_done = false;
        loop {
            if index >= table_len {
                return Err(format!("descriptor index {index} outside a table of {table_len}"));
            }
            let d = table + 16 * index;
            let addr = ram.read_u64(d).ok_or("descriptor outside RAM")?;
            let len = ram.read_u32(d + 8).ok_or("descriptor outside RAM")?;
            let flags = ram.read_u16(d + 12).ok_or("descriptor outside RAM")?;
            let next = ram.read_u16(d + 14).ok_or("descriptor outside RAM")?;
            if flags & DESC_F_INDIRECT != 0 {
                if indirect_done || len % 16 != 0 || len == 0 {
                    return Err("bad indirect descriptor".into());
                }
                indirect_done = true;
                (table, table_len, index) = (addr, len as u64 / 16, 0);
                continue;
            }
            if len > MAX_SEGMENT || ram.offset_of(addr, len as u64).is_none() {
                return Err(format!("buffer {addr:#x}+{len:#x} outside RAM"));
            }
            out.push(Segment { addr, len, write: flags & DESC_F_WRITE != 0 });
            // A chain longer than its table loops.
            if out.len() as u64 > table_len {
                return Err("descriptor chain loops".into());
            }
            if flags & DESC_F_NEXT == 0 {
                return Ok(out);
            }
            index = next as u64;
        }
    }

    /// Processes every available chain with `handle`, posting each to the used ring. Stops at the first malformed
    /// chain or ring.
    pub fn drain(
        &mut self,
        ram: &mut Ram,
        mut handle: impl FnMut(&[Segment], &mut Ram) -> Result<u32, String>,
        used_any: &mut bool,
    ) -> Result<(), String> {
        if self.size == 0 || !self.size.is_power_of_two() {
            return Err(format!("queue size {} is not a power of two", self.size));
        }
        let avail_idx = ram.read_u16(self.avail + 2).ok_or("available ring outside RAM")?;
        // A driver can never have more than `size` buffers outstanding.
        if avail_idx.wrapping_sub(self.last_avail) > self.size {
            return Err("available index ran ahead of the queue size".into());
        }
        while self.last_avail != avail_idx {
            let slot = (self.last_avail % self.size) as u64;
            let head = ram.read_u16(self.avail + 4 + 2 * slot).ok_or("available ring outside RAM")?;
            let chain = self.chain(ram, head)?;
            let written = handle(&chain, ram)?;
            let used_slot = (self.used_idx % self.size) as u64;
            let elem = self.used + 4 + 8 * used_slot;
            ram.write_u32(elem, head as u32).ok_or("used ring outside RAM")?;
            ram.write_u32(elem + 4, written).ok_or("used ring outside RAM")?;
            self.used_idx = self.used_idx.wrapping_add(1);
            ram.write_u16(self.used + 2, self.used_idx).ok_or("used ring outside RAM")?;
            self.last_avail = self.last_avail.wrapping_add(1);
            *used_any = true;
        }
        Ok(())
    }
}

/// Gathers the device-readable bytes of a chain.
pub fn read_all(ram: &Ram, chain: &[Segment]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in chain.iter().filter(|s| !s.write) {
        let mut buf = vec![0u8; s.len as usize];
        if ram.read(s.addr, &mut buf).is_some() {
            out.extend_from_slice(&buf);
        }
    }
    out
}

/// Scatters `data` over the device-writable segments of a chain; returns the bytes written.
pub fn write_all(ram: &mut Ram, chain: &[Segment], data: &[u8]) -> u32 {
    let mut done = 0usize;
    for s in chain.iter().filter(|s| s.write) {
        if done >= data.len() {
            break;
        }
        let n = (s.len as usize).min(data.len() - done);
        if ram.write(s.addr, &data[done..done + n]).is_none() {
            break;
        }
        done += n;
    }
    done as u32
}

/// Total length of the device-writable segments.
pub fn writable_len(chain: &[Segment]) -> u64 {
    chain.iter().filter(|s| s.write).map(|s| s.len as u64).sum()
}
