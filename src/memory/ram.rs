use serde::{Deserialize, Serialize};
use std::ptr::NonNull;

/// Size of the pages RAM tracks for dirtiness (checkpoints save only what changed).
pub const PAGE_SIZE: u64 = 4096;

/// The machine's main RAM: one contiguous block of guest-physical memory.
///
/// The bytes live in an anonymous mapping that reserves address space only: the host commits a page when the
/// guest first writes it (QEMU does the same), so a 64 GiB machine running a small program costs a few MiB.
/// Nothing here walks all of RAM: copies, snapshots and hashes visit only the pages ever written
/// ([`Ram::written_pages`]); every other page is zero.
pub struct Ram {
    base: u64,
    bytes: GuestMemory,
    /// Per page, one bit per consumer of dirtiness ([`DirtyFor`]): set by every write, cleared by that
    /// consumer's [`Ram::take_dirty`]; and [`WRITTEN`], set by every write and never cleared.
    dirty: Vec<u8>,
    /// Pages written through [`Ram::write`] (DMA, loaders, debugger) since [`Ram::take_external_writes`]: the
    /// platform checks them against decoded code, as it does for the CPU's own stores.
    external_writes: Vec<u64>,
    /// Counts the calls to [`Ram::take_dirty`]: caches that rely on a page being dirty compare it.
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
/// The page was written at least once since RAM was created: pages without it are zero.
const WRITTEN: u8 = 4;
/// The flags of a page just written.
const JUST_WRITTEN: u8 = ALL_CONSUMERS | WRITTEN;

/// The host refused to reserve the guest's RAM.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up {} of guest RAM: {error}", human_size(*.size))]
pub struct RamError {
    pub size: u64,
    pub error: std::io::Error,
}

/// `size` in the largest binary unit that divides it (`64 GiB`, `1536 MiB`), else in bytes.
pub fn human_size(size: u64) -> String {
    match size {
        0 => "0 bytes".into(),
        s if s % (1 << 30) == 0 => format!("{} GiB", s >> 30),
        s if s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s % (1 << 10) == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} bytes"),
    }
}

/// A zero-filled block of host memory that is reserved, not committed: an anonymous private mapping made with
/// `MAP_NORESERVE`, whose pages the kernel supplies on first touch.
struct GuestMemory {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: GuestMemory owns its mapping exclusively, like a `Box<[u8]>`; shared access only reads.
unsafe impl Send for GuestMemory {}
// SAFETY: as above: `&GuestMemory` gives only `&[u8]`.
unsafe impl Sync for GuestMemory {}

impl GuestMemory {
    fn new(size: u64) -> Result<GuestMemory, RamError> {
        let error = |error| RamError { size, error };
        let len = usize::try_from(size).map_err(|_| error(std::io::ErrorKind::OutOfMemory.into()))?;
        if len == 0 {
            return Ok(GuestMemory { ptr: NonNull::dangling(), len });
        }
        // SAFETY: an anonymous private mapping with no address hint has no preconditions; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(error(std::io::Error::last_os_error()));
        }
        let ptr = NonNull::new(ptr.cast()).ok_or_else(|| error(std::io::ErrorKind::OutOfMemory.into()))?;
        Ok(GuestMemory { ptr, len })
    }

    #[inline(always)]
    fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is a readable and writable mapping of `len` bytes (or dangling with `len` 0) that lives as
        // long as `self`; anonymous mappings start zeroed, so every byte is initialised.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    #[inline(always)]
    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for GuestMemory {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: `ptr`/`len` are the mapping made in `new`; the slices handed out borrow `self`, so none
            // outlives it. (The JIT's fast TLB keeps host addresses, keyed by this address and dropped with the
            // machine that owns both.)
            unsafe {
                libc::munmap(self.ptr.as_ptr().cast(), self.len);
            }
        }
    }
}

/// A copy of RAM's contents, for snapshots: only the pages that may be non-zero are kept.
#[derive(Clone, Serialize, Deserialize)]
pub struct RamImage {
    base: u64,
    size: u64,
    /// (page index, contents) of every page written before the copy; every other page is zero.
    pages: Vec<(u64, Vec<u8>)>,
}

impl Ram {
    /// RAM of `size` bytes at guest-physical `base`, all zero. Only address space is reserved here.
    pub fn new(base: u64, size: u64) -> Result<Ram, RamError> {
        let bytes = GuestMemory::new(size)?;
        let pages = size.div_ceil(PAGE_SIZE) as usize;
        Ok(Ram { base, bytes, dirty: vec![0; pages], external_writes: Vec::new(), dirty_clears: 0 })
    }

    pub fn base(&self) -> u64 {
        self.base
    }

    pub fn size(&self) -> u64 {
        self.bytes.len as u64
    }

    /// How many times dirty flags were cleared.
    pub(crate) fn dirty_clears(&self) -> u64 {
        self.dirty_clears
    }

    /// Whether page `page` (an index) is dirty for every consumer, so that another write changes nothing.
    pub(crate) fn is_dirty_for_all(&self, page: u64) -> bool {
        self.dirty.get(page as usize) == Some(&JUST_WRITTEN)
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
        buf.copy_from_slice(&self.bytes.as_slice()[off..off + buf.len()]);
        Some(())
    }

    /// Writes guest memory (DMA, loaders, debugger); `None` if the range is not wholly in RAM.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Option<()> {
        let off = self.offset_of(addr, data.len() as u64)?;
        self.bytes.as_mut_slice()[off..off + data.len()].copy_from_slice(data);
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
        self.bytes.as_slice()
    }

    /// Raw bytes for writing; the caller must call [`Ram::mark_dirty`].
    #[inline]
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.bytes.as_mut_slice()
    }

    /// Marks page number `page` (relative to the start of RAM) dirty.
    #[inline(always)]
    pub fn mark_dirty_page(&mut self, page: u64) {
        if let Some(flags) = self.dirty.get_mut(page as usize) {
            *flags = JUST_WRITTEN;
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

    /// Indexes of the pages written since RAM was created: every other page is zero. (A superset of the
    /// non-zero pages: a page written with zeros stays in it.)
    pub fn written_pages(&self) -> impl Iterator<Item = usize> + '_ {
        self.dirty.iter().enumerate().filter(|(_, flags)| **flags & WRITTEN != 0).map(|(i, _)| i)
    }

    /// The bytes of page `index` (4 KiB, or less for a last page cut short), if it lies in RAM.
    fn page_span(&self, index: usize) -> Option<std::ops::Range<usize>> {
        let start = index.checked_mul(PAGE_SIZE as usize).filter(|s| *s < self.bytes.len)?;
        Some(start..(start + PAGE_SIZE as usize).min(self.bytes.len))
    }

    /// Overwrites the start of page `index` with `data` without marking it dirty for any consumer (restoring a
    /// checkpoint is not a guest write); `None` if it does not fit in the page or RAM.
    pub fn restore_page(&mut self, index: usize, data: &[u8]) -> Option<()> {
        if data.len() > PAGE_SIZE as usize {
            return None;
        }
        let start = index.checked_mul(PAGE_SIZE as usize)?;
        self.bytes.as_mut_slice().get_mut(start..start.checked_add(data.len())?)?.copy_from_slice(data);
        if let Some(flags) = self.dirty.get_mut(index) {
            *flags |= WRITTEN;
        }
        Some(())
    }

    /// A copy in fresh memory, dirty flags included (only the written pages are copied); `Err` if the host
    /// cannot reserve the memory.
    pub fn try_clone(&self) -> Result<Ram, RamError> {
        let mut copy = Ram::new(self.base, self.size())?;
        for span in self.written_pages().filter_map(|i| self.page_span(i)) {
            copy.bytes.as_mut_slice()[span.clone()].copy_from_slice(&self.bytes()[span]);
        }
        copy.dirty.clone_from(&self.dirty);
        copy.external_writes.clone_from(&self.external_writes);
        copy.dirty_clears = self.dirty_clears;
        Ok(copy)
    }

    /// A copy of the contents: the written pages only.
    pub fn image(&self) -> RamImage {
        let bytes = self.bytes();
        let pages =
            self.written_pages().filter_map(|i| Some((i as u64, bytes.get(self.page_span(i)?)?.to_vec()))).collect();
        RamImage { base: self.base, size: self.size(), pages }
    }

    /// Writes the pages of `image` back over RAM and leaves every other page as it is (a system reset reloading
    /// what the board loaded); the pages written are dirty for every consumer. Pages of an image from other RAM
    /// that do not fit are skipped.
    pub fn write_back(&mut self, image: &RamImage) {
        for (index, data) in &image.pages {
            if let Some(span) = self.image_page_span(*index, data) {
                let page = (span.start as u64) / PAGE_SIZE;
                self.bytes.as_mut_slice()[span].copy_from_slice(data);
                self.mark_dirty_page(page);
            }
        }
    }

    /// Where an image's page `index` holding `data` goes, if it is a whole page of this RAM.
    fn image_page_span(&self, index: u64, data: &[u8]) -> Option<std::ops::Range<usize>> {
        let span = usize::try_from(index).ok().and_then(|i| self.page_span(i))?;
        (span.len() == data.len()).then_some(span)
    }

    /// Makes the contents those of `image`, which must come from RAM of the same base and size and hold whole
    /// pages inside it; `Err` says what does not match (and RAM is left as it was). The pages that change are
    /// dirty for every consumer.
    pub fn load_image(&mut self, image: &RamImage) -> Result<(), String> {
        if image.base != self.base || image.size != self.size() {
            return Err(format!(
                "RAM layout differs: {} at {:#x}, the image has {} at {:#x}",
                human_size(self.size()),
                self.base,
                human_size(image.size),
                image.base
            ));
        }
        if !image.pages.iter().all(|(i, data)| self.image_page_span(*i, data).is_some()) {
            return Err("RAM image: a page does not fit in RAM".into());
        }
        // Pages written here but absent from the image go back to zero.
        let in_image: std::collections::HashSet<u64> = image.pages.iter().map(|(i, _)| *i).collect();
        let to_clear: Vec<usize> = self.written_pages().filter(|i| !in_image.contains(&(*i as u64))).collect();
        for i in to_clear {
            if let Some(span) = self.page_span(i) {
                self.bytes.as_mut_slice()[span].fill(0);
            }
            self.mark_dirty_page(i as u64);
        }
        self.write_back(image);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_outside_ram_are_refused_not_clamped() {
        let mut ram = Ram::new(0x8000_0000, 0x2000).unwrap();
        assert!(ram.write(0x8000_1ffc, &[1, 2, 3, 4]).is_some());
        assert!(ram.write(0x8000_1ffd, &[1, 2, 3, 4]).is_none());
        assert!(ram.read_u64(0x7fff_fffc).is_none());
        assert_eq!(ram.read_u32(0x8000_1ffc), Some(0x0403_0201));
    }

    #[test]
    fn writes_mark_their_pages_dirty_once() {
        let mut ram = Ram::new(0x8000_0000, 0x4000).unwrap();
        ram.write(0x8000_0ffe, &[0; 4]).unwrap();
        assert_eq!(ram.take_dirty(DirtyFor::Checkpoints), vec![0, 1]);
        assert!(ram.take_dirty(DirtyFor::Checkpoints).is_empty());
        // The other consumer keeps its own record.
        assert_eq!(ram.take_dirty(DirtyFor::StateHashes), vec![0, 1]);
        assert_eq!(ram.written_pages().collect::<Vec<_>>(), vec![0, 1], "written stays after every consumer looked");
    }

    /// Resident memory of this process, in KiB.
    fn rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn the_largest_ram_is_reserved_not_committed() {
        const SIZE: u64 = 64 << 30;
        let before = rss_kib();
        let mut ram = Ram::new(0x8000_0000, SIZE).unwrap();
        let top = 0x8000_0000 + SIZE - 8;
        ram.write_u64(top, 0x1122_3344_5566_7788).unwrap();
        ram.write_u64(0x8000_0000, 1).unwrap();
        assert_eq!(ram.read_u64(top), Some(0x1122_3344_5566_7788));
        assert_eq!(ram.read_u64(top - 0x10_0000), Some(0), "untouched pages read as zero");
        let last = (SIZE / PAGE_SIZE - 1) as usize;
        assert_eq!(ram.written_pages().collect::<Vec<_>>(), vec![0, last]);
        let image = ram.image();
        assert_eq!(image.pages.len(), 2);
        ram.load_image(&image).unwrap();
        let copy = ram.try_clone().unwrap();
        assert_eq!(copy.read_u64(top), Some(0x1122_3344_5566_7788));
        assert_eq!(copy.written_pages().count(), 2);
        // The dirty flags (16 MiB for 64 GiB) are the only per-page cost; the 64 GiB are not committed.
        let grown = rss_kib().saturating_sub(before);
        assert!(grown < 256 << 10, "RSS grew by {grown} KiB");
    }

    #[test]
    fn an_image_round_trips_and_clears_pages_written_after_it() {
        let mut ram = Ram::new(0x8000_0000, 0x4000).unwrap();
        ram.write(0x8000_1000, &[7; 16]).unwrap();
        let image = ram.image();
        ram.write(0x8000_1000, &[9; 4]).unwrap();
        ram.write(0x8000_3000, &[5; 4]).unwrap();
        ram.take_dirty(DirtyFor::Checkpoints);
        ram.load_image(&image).unwrap();
        assert_eq!(ram.read_u32(0x8000_1000), Some(0x0707_0707));
        assert_eq!(ram.read_u32(0x8000_3000), Some(0), "a page written after the image is zero again");
        assert_eq!(ram.take_dirty(DirtyFor::Checkpoints), vec![1, 3], "the pages the load changed are dirty");
    }

    #[test]
    fn an_image_of_another_layout_or_with_a_stray_page_is_refused() {
        let mut ram = Ram::new(0x8000_0000, 0x4000).unwrap();
        let other = Ram::new(0x8000_0000, 0x8000).unwrap();
        assert!(ram.load_image(&other.image()).is_err());
        let stray = RamImage { base: 0x8000_0000, size: 0x4000, pages: vec![(4, vec![1; 4096])] };
        assert!(ram.load_image(&stray).is_err());
        let short = RamImage { base: 0x8000_0000, size: 0x4000, pages: vec![(1, vec![1; 100])] };
        assert!(ram.load_image(&short).is_err());
        assert!(ram.written_pages().next().is_none(), "a refused image changes nothing");
    }

    #[test]
    fn human_sizes_use_the_largest_exact_unit() {
        assert_eq!(human_size(64 << 30), "64 GiB");
        assert_eq!(human_size(1536 << 20), "1536 MiB");
        assert_eq!(human_size(4097), "4097 bytes");
    }
}
