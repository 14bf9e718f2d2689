use serde::{Deserialize, Serialize};

/// Size of the pages RAM tracks for dirtiness (checkpoints save only what changed).
pub const PAGE_SIZE: u64 = 4096;

/// The machine's main RAM: one contiguous block of guest-physical memory.
#[derive(Clone, Serialize, Deserialize)]
pub struct Ram {
    base: u64,
    bytes: Vec<u8>,
    /// Per page, one bit per consumer of dirtiness ([`DirtyFor`]): set by every write, cleared by that
    /// consumer's [`Ram::take_dirty`].
    dirty: Vec<u8>,
    /// Pages written through [`Ram::write`] (DMA, loaders, debugger) since [`Ram::take_external_writes`]: the
    /// platform checks them against decoded code, as it does for the CPU's own stores.
    #[serde(skip)]
    external_writes: Vec<u64>,
    /// Counts the calls to [`Ram::take_dirty`]: caches that rely on a page being dirty compare it.
    #[serde(skip)]
    dirty_clears: u64,
}

/// Who asks which pages were written: checkpoints and the recorder's state hashes keep separate records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirtyFor {
    Checkpoints = 1,
    StateHashes = 2,
}

/// The dirty flags of a page every consumer has yet to see.
const ALL_CONSUMERS: u8 = DirtyFor::Checkpoints as u8 | DirtyFor::StateHashes as u8;

impl Ram {
    pub fn new(base: u64, size: u64) -> Ram {
        let pages = size.div_ceil(PAGE_SIZE) as usize;
        Ram { base, bytes: vec![0; size as usize], dirty: vec![0; pages], external_writes: Vec::new(), dirty_clears: 0 }
    }

    pub fn base(&self) -> u64 {
        self.base
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// How many times dirty flags were cleared.
    pub(crate) fn dirty_clears(&self) -> u64 {
        self.dirty_clears
    }

    /// Whether page `page` (an index) is dirty for every consumer, so that another write changes nothing.
    pub(crate) fn is_dirty_for_all(&self, page: u64) -> bool {
        self.dirty.get(page as usize) == Some(&ALL_CONSUMERS)
    }

    /// Offset of `[addr, addr+len)` inside RAM, if it lies wholly inside.
    #[inline]
    pub fn offset_of(&self, addr: u64, len: u64) -> Option<usize> {
        let off = addr.wrapping_sub(self.base);
        if off < self.size() && len <= self.size() - off {
            Some(off as usize)
        } else {
            None
        }
    }

    /// Reads guest memory; `None` if the range is not wholly in RAM.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Option<()> {
        let off = self.offset_of(addr, buf.len() as u64)?;
        buf.copy_from_slice(&self.bytes[off..off + buf.len()]);
        Some(())
    }

    /// Writes guest memory (DMA, loaders, debugger); `None` if the range is not wholly in RAM.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Option<()> {
        let off = self.offset_of(addr, data.len() as u64)?;
        self.bytes[off..off + data.len()].copy_from_slice(data);
        self.mark_dirty(off, data.len());
        if !data.is_empty() {
            let (first, last) = (off as u64 / PAGE_SIZE, (off + data.len() - 1) as u64 / PAGE_SIZE);
            for page in first..=last {
                if self.external_writes.last() != Some(&page) {
                    self.external_writes.push(page);
                }
            }
        }
        Some(())
    }

    /// Pages (indexes) written through [`Ram::write`] since the last call.
    pub(crate) fn take_external_writes(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.external_writes)
    }

    #[inline]
    pub fn read_u64(&self, addr: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Some(u64::from_le_bytes(b))
    }

    #[inline]
    pub fn write_u64(&mut self, addr: u64, value: u64) -> Option<()> {
        self.write(addr, &value.to_le_bytes())
    }

    #[inline]
    pub fn read_u32(&self, addr: u64) -> Option<u32> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b)?;
        Some(u32::from_le_bytes(b))
    }

    #[inline]
    pub fn write_u32(&mut self, addr: u64, value: u32) -> Option<()> {
        self.write(addr, &value.to_le_bytes())
    }

    #[inline]
    pub fn read_u16(&self, addr: u64) -> Option<u16> {
        let mut b = [0u8; 2];
        self.read(addr, &mut b)?;
        Some(u16::from_le_bytes(b))
    }

    #[inline]
    pub fn write_u16(&mut self, addr: u64, value: u16) -> Option<()> {
        self.write(addr, &value.to_le_bytes())
    }

    /// Raw bytes, for the interpreter's fast path.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Raw bytes for writing; the caller must call [`Ram::mark_dirty`].
    #[inline]
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Marks page number `page` (relative to the start of RAM) dirty.
    #[inline(always)]
    pub fn mark_dirty_page(&mut self, page: u64) {
        if let Some(flags) = self.dirty.get_mut(page as usize) {
            *flags = ALL_CONSUMERS;
        }
    }

    #[inline]
    pub fn mark_dirty(&mut self, off: usize, len: usize) {
        if len == 0 {
            return;
        }
        let first = off as u64 / PAGE_SIZE;
        let last = (off + len - 1) as u64 / PAGE_SIZE;
        for page in first..=last {
            self.mark_dirty_page(page);
        }
    }

    /// Page indexes written since `who` last asked, and clears `who`'s record.
    pub fn take_dirty(&mut self, who: DirtyFor) -> Vec<usize> {
        self.dirty_clears += 1;
        let bit = who as u8;
        let mut pages = Vec::new();
        for (i, flags) in self.dirty.iter_mut().enumerate() {
            if *flags & bit != 0 {
                *flags &= !bit;
                pages.push(i);
            }
        }
        pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_outside_ram_are_refused_not_clamped() {
        let mut ram = Ram::new(0x8000_0000, 0x2000);
        assert!(ram.write(0x8000_1ffc, &[1, 2, 3, 4]).is_some());
        assert!(ram.write(0x8000_1ffd, &[1, 2, 3, 4]).is_none());
        assert!(ram.read_u64(0x7fff_fffc).is_none());
        assert_eq!(ram.read_u32(0x8000_1ffc), Some(0x0403_0201));
    }

    #[test]
    fn writes_mark_their_pages_dirty_once() {
        let mut ram = Ram::new(0x8000_0000, 0x4000);
        ram.write(0x8000_0ffe, &[0; 4]).unwrap();
        assert_eq!(ram.take_dirty(DirtyFor::Checkpoints), vec![0, 1]);
        assert!(ram.take_dirty(DirtyFor::Checkpoints).is_empty());
        // The other consumer keeps its own record.
        assert_eq!(ram.take_dirty(DirtyFor::StateHashes), vec![0, 1]);
    }
}
