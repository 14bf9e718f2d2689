//! Executable memory for translated code: one anonymous mapping filled front to back and emptied all at once (a
//! flush), like QEMU's code buffer. Pages are writable only while code is copied in (W^X).

use std::ptr::NonNull;

/// Size of the mapping; when it is full every translation is dropped and filling starts again.
const ARENA_BYTES: usize = 64 << 20;
/// Function entry alignment.
const ALIGN: usize = 16;

pub struct CodeArena {
    base: NonNull<u8>,
    len: usize,
    used: usize,
    page: usize,
}

impl CodeArena {
    /// Maps the arena; `None` if the host refuses (the engine then runs without the JIT).
    pub fn new() -> Option<CodeArena> {
        // SAFETY: an anonymous private mapping with no address hint has no preconditions; the result is checked.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ARENA_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok().filter(|p| *p > 0)?;
        Some(CodeArena { base: NonNull::new(base.cast())?, len: ARENA_BYTES, used: 0, page })
    }

    /// Forgets all code: the caller must have dropped every pointer [`CodeArena::install`] returned.
    pub fn clear(&mut self) {
        self.used = 0;
    }

    /// Copies `code` in and makes it executable; returns its address, or `None` when the arena is full.
    pub fn install(&mut self, code: &[u8]) -> Option<*const u8> {
        let start = self.used.next_multiple_of(ALIGN);
        let end = start.checked_add(code.len())?;
        if end > self.len || code.is_empty() {
            return None;
        }
        let first_page = start / self.page * self.page;
        let span = end.next_multiple_of(self.page).min(self.len) - first_page;
        // SAFETY: [first_page, first_page + span) lies inside the mapping (end <= len, rounded up within len). The
        // pages being made writable hold no code that runs before they are executable again (single thread: no
        // translated code runs while this function does).
        unsafe {
            let pages = self.base.as_ptr().add(first_page);
            if libc::mprotect(pages.cast(), span, libc::PROT_READ | libc::PROT_WRITE) != 0 {
                return None;
            }
            std::ptr::copy_nonoverlapping(code.as_ptr(), self.base.as_ptr().add(start), code.len());
            if libc::mprotect(pages.cast(), span, libc::PROT_READ | libc::PROT_EXEC) != 0 {
                return None;
            }
        }
        self.used = end;
        // SAFETY: start < len, checked above.
        Some(unsafe { self.base.as_ptr().add(start) })
    }

    pub fn used(&self) -> usize {
        self.used
    }
}

impl Drop for CodeArena {
    fn drop(&mut self) {
        // SAFETY: base/len are the mapping made in `new`; nothing refers to it once the arena is dropped (the
        // block cache that holds translated entry points owns the arena and drops them together).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}
