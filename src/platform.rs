//! Physical-address dispatch: RAM fast path, ROMs and device registers through the flat view. Everything an
//! executing hart can reach lives here, apart from the hart itself.

use crate::clock::{PollWatch, Timebase};
use crate::device::{Device, DeviceBus, Msi, RegionPlacement, Signals};
use crate::memory::{FlatTarget, FlatView, MemoryRegion, Ram, PAGE_SIZE};

pub(crate) struct NamedDevice {
    pub name: String,
    pub device: Box<dyn Device>,
    /// Register accesses the harts made, for the debugger's view of which devices the guest talks to. Not
    /// guest-visible and not part of the machine's state: a restore does not rewind them.
    pub accesses: AccessCount,
}

/// How many times the harts read and wrote a device's registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessCount {
    pub reads: u64,
    pub writes: u64,
}

/// Rounds of message delivery after one device access: a message whose write makes its receiver send another is
/// delivered in the next round; a loop of them is cut off here rather than hanging the host.
const MESSAGE_ROUNDS: usize = 16;

/// The machine minus its harts.
pub(crate) struct Platform {
    pub ram: Ram,
    pub roms: Vec<Vec<u8>>,
    /// The memory-region tree, the one truth about the address map, and the flat view dispatch uses, computed
    /// from it whenever it changes.
    root: MemoryRegion,
    /// The tree as the board built it, which a reset or a restore places regions in again.
    power_on_root: MemoryRegion,
    /// Where devices have placed regions since power-on, one entry a region: with the power-on tree, the whole
    /// address map (saved in checkpoints).
    placed: Vec<RegionPlacement>,
    pub flat: FlatView,
    /// Bumped whenever the address map changes: tiers drop what they decoded and translated, harts their TLBs.
    pub topology_generation: u64,
    pub devices: Vec<NamedDevice>,
    pub signals: Signals,
    /// Virtual instruction clock: instructions executed by all harts plus idle time skipped and the time a poll
    /// of the clock was sped up by.
    pub vclock: u64,
    /// How the instruction clock becomes timer ticks.
    pub timebase: Timebase,
    /// Watches for a hart spinning on the clock (see [`PollWatch`]).
    pub poll: PollWatch,
    /// The instruction clock of the next timer deadline, as the machine saw it when the running slice began: a
    /// sped-up clock read that passes it lets the devices see the new time at once.
    pub slice_deadline: u64,
    /// Set when the running slice must end before its budget (time jumped past `slice_deadline`).
    end_slice: bool,
    /// One bit per RAM page holding decoded code: a store there invalidates the block cache.
    code_pages: Vec<u64>,
    /// Physical page numbers of code pages stores went to since the interpreter last looked: their decoded
    /// blocks and translations are dropped at the next block boundary.
    stale_code_pages: Vec<u64>,
    /// Set by a device access, a store to code, a watchpoint hit or a change to the address map: the current
    /// block ends after this instruction, so interrupt checks and code refetches happen at points that do not
    /// depend on how a run was split into budgets.
    end_block: bool,
    /// Bumped when a page becomes a code page or RAM is replaced: the JIT's fast TLB, which lets stores skip
    /// the code-page check, drops its entries (see `jit::fast_tlb`).
    pub fast_path_epoch: u64,
    /// Tracer and watchpoints; `instrumented` caches whether any is attached.
    pub instr: crate::hooks::Instrumentation,
    pub instrumented: bool,
}

impl Platform {
    pub fn new(ram: Ram, roms: Vec<Vec<u8>>, root: MemoryRegion, devices: Vec<NamedDevice>, harts: usize) -> Platform {
        let pages = ram.size().div_ceil(PAGE_SIZE) as usize;
        Platform {
            ram,
            roms,
            flat: root.flatten(),
            power_on_root: root.clone(),
            placed: Vec::new(),
            root,
            topology_generation: 0,
            devices,
            signals: Signals::new(harts),
            vclock: 0,
            timebase: Timebase::default(),
            poll: PollWatch::default(),
            slice_deadline: u64::MAX,
            end_slice: false,
            code_pages: vec![0; pages.div_ceil(64)],
            stale_code_pages: Vec::new(),
            end_block: false,
            fast_path_epoch: 0,
            instr: crate::hooks::Instrumentation::default(),
            instrumented: false,
        }
    }

    pub fn memory_tree(&self) -> &MemoryRegion {
        &self.root
    }

    /// Changes the address map in one transaction: `change` edits the region tree, then the flat view is computed
    /// again and everything that cached the old map (decoded blocks, translations, TLBs) is dropped before the
    /// next instruction. Main RAM never moves: its fast path does not consult the map.
    pub fn update_topology<R>(&mut self, change: impl FnOnce(&mut MemoryRegion) -> R) -> R {
        let result = change(&mut self.root);
        self.flat = self.root.flatten();
        self.topology_generation += 1;
        self.fast_path_epoch += 1;
        self.end_block = true;
        result
    }

    /// Applies the region placements devices asked for (see [`DeviceBus::place_region`]).
    fn apply_placements(&mut self) {
        let placements = self.signals.take_placements();
        if placements.is_empty() {
            return;
        }
        for p in &placements {
            match self.placed.iter_mut().find(|q| q.region == p.region) {
                Some(q) => q.addr = p.addr,
                None => self.placed.push(p.clone()),
            }
        }
        self.update_topology(|root| {
            for p in &placements {
                root.place_subregion(&p.region, p.addr);
            }
        });
    }

    /// Where devices have placed regions since power-on.
    pub fn placements(&self) -> &[RegionPlacement] {
        &self.placed
    }

    /// Makes the address map the power-on one with `placements` applied (a restore; a reset gives none).
    pub fn restore_placements(&mut self, placements: &[RegionPlacement]) {
        if self.placed == placements {
            return;
        }
        self.placed = placements.to_vec();
        let power_on = self.power_on_root.clone();
        self.update_topology(|root| {
            *root = power_on;
            for p in placements {
                root.place_subregion(&p.region, p.addr);
            }
        });
    }

    /// Whether the current block must end after this instruction; clears the request.
    #[inline(always)]
    pub fn take_end_block(&mut self) -> bool {
        // Read first: the flag is almost always clear, and the interpreter asks after every memory access.
        if self.end_block {
            self.end_block = false;
            return true;
        }
        false
    }

    /// Ends the current block after this instruction (see `end_block`).
    pub fn request_end_block(&mut self) {
        self.end_block = true;
    }

    /// Hands the physical pages whose code went stale since the last call to `invalidate`; called at every
    /// block boundary.
    #[inline(always)]
    pub fn forget_stale_code(&mut self, invalidate: impl FnOnce(&[u64])) {
        if !self.stale_code_pages.is_empty() {
            invalidate(&self.stale_code_pages);
            self.stale_code_pages.clear();
        }
    }

    /// Virtual time in timer ticks.
    #[inline]
    pub fn now(&self) -> u64 {
        self.timebase.ticks(self.vclock)
    }

    /// A system reset of everything outside the harts: every device takes its power-on state, the interrupt
    /// lines fall, a pending power request is dropped, and the pages of `power_on` (the images the board loaded)
    /// are written back; the rest of RAM keeps its contents, as in QEMU. Decoded code is dropped.
    pub fn reset(&mut self, harts: usize, power_on: &crate::memory::RamImage) {
        for dev in &mut self.devices {
            dev.device.reset();
        }
        self.signals.restore(crate::device::IrqLines::default(), vec![0; harts], None);
        self.restore_placements(&[]);
        self.ram.write_back(power_on);
        self.poll = PollWatch::default();
        self.clear_code_pages();
        self.fast_path_epoch += 1;
        self.end_block = true;
    }

    /// A hart is about to read the clock from `site` (the reading instruction's address, or the timer register's):
    /// a hart spinning on the clock gets its time sped up first (see [`PollWatch`]).
    pub fn before_clock_read(&mut self, site: u64) {
        let extra = self.poll.on_read(site, self.vclock);
        if extra == 0 {
            return;
        }
        self.vclock += extra;
        if self.vclock >= self.slice_deadline {
            // A timer fired during the jump: devices see the new time now, and the machine plans the next slice
            // from it.
            self.slice_deadline = u64::MAX;
            self.tick_devices();
            self.end_block = true;
            self.end_slice = true;
        }
    }

    /// Ends the running slice after this instruction, so the machine plans the next one from the current timer
    /// deadlines.
    pub fn request_end_slice(&mut self) {
        self.end_slice = true;
    }

    /// Whether the running slice must end now (see `end_slice`); clears the request.
    #[inline(always)]
    pub fn take_end_slice(&mut self) -> bool {
        std::mem::take(&mut self.end_slice)
    }

    /// Whether a store to RAM page `page` (an index) may skip the platform: the page holds no decoded code and
    /// is dirty for every consumer already.
    pub(crate) fn fast_store_ok(&self, page: u64) -> bool {
        let is_code = self.code_pages.get((page / 64) as usize).is_some_and(|w| w & (1 << (page % 64)) != 0);
        !is_code && self.ram.is_dirty_for_all(page)
    }

    /// Records that the RAM page holding `pa` has code in the block cache.
    pub fn mark_code_page(&mut self, pa: u64) {
        if let Some(off) = self.ram.offset_of(pa, 1) {
            let page = off as u64 / PAGE_SIZE;
            if let Some(w) = self.code_pages.get_mut((page / 64) as usize).filter(|w| **w & (1 << (page % 64)) == 0) {
                *w |= 1 << (page % 64);
                self.fast_path_epoch += 1;
            }
        }
    }

    pub fn clear_code_pages(&mut self) {
        self.code_pages.iter_mut().for_each(|w| *w = 0);
        self.stale_code_pages.clear();
    }

    /// RAM page `page` (an index) changed behind the CPU's back: code decoded from it is stale.
    pub fn forget_code_on_page(&mut self, page: u64) {
        let bit = 1 << (page % 64);
        if let Some(w) = self.code_pages.get_mut((page / 64) as usize).filter(|w| **w & bit != 0) {
            *w &= !bit;
            self.stale_code_pages.push(self.ram.base() / PAGE_SIZE + page);
        }
    }

    /// Devices wrote RAM (DMA): code on the pages they wrote is stale like code the CPU stored to.
    fn note_external_writes(&mut self) {
        for page in self.ram.take_external_writes() {
            self.forget_code_on_page(page);
        }
    }

    /// A store went to RAM page `page`: marks it dirty and, if it holds decoded code, that code stale (the page
    /// stops being a code page until code is decoded there again) and ends the block.
    #[inline(always)]
    fn note_ram_store_page(&mut self, page: u64) {
        self.ram.mark_dirty_page(page);
        if self.code_pages.get((page / 64) as usize).is_some_and(|w| w & (1 << (page % 64)) != 0) {
            self.forget_code_on_page(page);
            self.end_block = true;
        }
    }

    #[inline]
    fn note_ram_store(&mut self, off: usize, size: usize) {
        let first = off as u64 / PAGE_SIZE;
        let last = (off + size.max(1) - 1) as u64 / PAGE_SIZE;
        for page in first..=last {
            self.note_ram_store_page(page);
        }
    }

    /// Reads `size` (1, 2, 4, 8) bytes at physical `pa` if they lie in RAM (no side effects); `None` otherwise.
    #[inline(always)]
    pub fn load_ram(&self, pa: u64, size: u8) -> Option<u64> {
        let off = self.ram.offset_of(pa, size as u64)?;
        let bytes = self.ram.bytes();
        // offset_of guarantees off + size <= len.
        Some(match size {
            1 => bytes[off] as u64,
            2 => u16::from_le_bytes([bytes[off], bytes[off + 1]]) as u64,
            4 => u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap_or_default()) as u64,
            _ => u64::from_le_bytes(bytes[off..off + 8].try_into().unwrap_or_default()),
        })
    }

    /// Writes `size` bytes at physical `pa` if they lie in RAM; `None` (nothing written) otherwise.
    #[inline(always)]
    pub fn store_ram(&mut self, pa: u64, size: u8, value: u64) -> Option<()> {
        let off = self.ram.offset_of(pa, size as u64)?;
        let bytes = value.to_le_bytes();
        self.ram.bytes_mut()[off..off + size as usize].copy_from_slice(&bytes[..size as usize]);
        if off as u64 & (size as u64 - 1) == 0 {
            // Aligned (the interpreter's fast path): within one page.
            self.note_ram_store_page(off as u64 / PAGE_SIZE);
        } else {
            self.note_ram_store(off, size as usize);
        }
        Some(())
    }

    /// Reads `size` (1, 2, 4, 8) bytes at physical `pa`; `None` is an access fault.
    #[inline(always)]
    pub fn load(&mut self, pa: u64, size: u8) -> Option<u64> {
        if let Some(v) = self.load_ram(pa, size) {
            return Some(v);
        }
        self.load_slow(pa, size)
    }

    /// Writes `size` bytes at physical `pa`; `None` is an access fault.
    #[inline(always)]
    pub fn store(&mut self, pa: u64, size: u8, value: u64) -> Option<()> {
        if self.store_ram(pa, size, value).is_some() {
            return Some(());
        }
        self.store_slow(pa, size, value)
    }

    fn load_slow(&mut self, pa: u64, size: u8) -> Option<u64> {
        match self.flat.resolve_span(pa, size as u64)? {
            FlatTarget::Ram { offset } => {
                let off = offset as usize;
                self.ram.bytes().get(off..off + size as usize).map(le_value)
            }
            FlatTarget::Rom { rom, offset } => {
                let off = offset as usize;
                self.roms.get(rom)?.get(off..off + size as usize).map(le_value)
            }
            FlatTarget::Io { device, offset } => Some(self.device_access(device, offset, size, None)),
        }
    }

    fn store_slow(&mut self, pa: u64, size: u8, value: u64) -> Option<()> {
        match self.flat.resolve_span(pa, size as u64)? {
            FlatTarget::Ram { offset } => {
                let off = offset as usize;
                let bytes = value.to_le_bytes();
                self.ram.bytes_mut().get_mut(off..off + size as usize)?.copy_from_slice(&bytes[..size as usize]);
                self.note_ram_store(off, size as usize);
                Some(())
            }
            // Writes to ROM are ignored, as on QEMU's virt mrom.
            FlatTarget::Rom { .. } => Some(()),
            FlatTarget::Io { device, offset } => {
                self.device_access(device, offset, size, Some(value));
                Some(())
            }
        }
    }

    /// Runs one device access, then lets every device react (interrupt lines propagate to the PLIC and harts).
    fn device_access(&mut self, device: usize, offset: u64, size: u8, write: Option<u64>) -> u64 {
        let is_clock = write.is_none() && self.devices.get(device).is_some_and(|d| d.device.is_clock(offset));
        if is_clock {
            // The site names the register: device and offset (never a code address, so never a CSR read's).
            self.before_clock_read(((device as u64) << 48) | offset);
        } else {
            self.poll.disturb();
        }
        let now = self.now();
        let mut value = 0;
        if let Some(dev) = self.devices.get_mut(device) {
            let mut bus = DeviceBus::new(now, &mut self.ram, &mut self.signals);
            match write {
                Some(v) => {
                    dev.accesses.writes += 1;
                    dev.device.write(offset, size, v, &mut bus)
                }
                None => {
                    dev.accesses.reads += 1;
                    value = dev.device.read(offset, size, &mut bus)
                }
            }
        }
        self.tick_devices();
        self.end_block = true;
        value & size_mask(size)
    }

    /// Lets every device update its outputs for the current time and interrupt lines, delivers the messages
    /// devices sent and applies the changes to the address map they asked for.
    pub fn tick_devices(&mut self) {
        for _ in 0..MESSAGE_ROUNDS {
            self.tick_round();
            let messages = self.signals.take_messages();
            if messages.is_empty() {
                break;
            }
            for msi in messages {
                self.write_message(msi);
            }
        }
        self.apply_placements();
        self.note_external_writes();
    }

    /// Two passes over the devices, so that a line raised by a device ticked after the interrupt controller
    /// still reaches the harts.
    fn tick_round(&mut self) {
        let now = self.now();
        for _ in 0..2 {
            let changes_before = self.signals.line_changes();
            for dev in &mut self.devices {
                dev.device.tick(&mut DeviceBus::new(now, &mut self.ram, &mut self.signals));
            }
            if self.signals.line_changes() == changes_before {
                break;
            }
        }
    }

    /// Performs a message-signalled interrupt: a 32-bit write, as the device would make it on the bus. A message
    /// to RAM lands there; one to nothing, or to ROM, is dropped (a bus error the sender never sees).
    fn write_message(&mut self, msi: Msi) {
        let value = u64::from(msi.data);
        match self.flat.resolve_span(msi.addr, 4) {
            Some(FlatTarget::Ram { .. }) => {
                if let Some(off) = self.ram.offset_of(msi.addr, 4) {
                    self.ram.bytes_mut()[off..off + 4].copy_from_slice(&msi.data.to_le_bytes());
                    self.note_ram_store(off, 4);
                }
            }
            Some(FlatTarget::Io { device, offset }) => {
                let now = self.now();
                if let Some(dev) = self.devices.get_mut(device) {
                    dev.device.write(offset, 4, value, &mut DeviceBus::new(now, &mut self.ram, &mut self.signals));
                }
                self.end_block = true;
            }
            Some(FlatTarget::Rom { .. }) | None => {}
        }
    }

    /// The earliest virtual time (ticks) at which some device changes state on its own.
    pub fn next_deadline(&self) -> Option<u64> {
        self.devices.iter().filter_map(|d| d.device.next_deadline()).min()
    }

    /// Delivers external input to a device and propagates its interrupts.
    pub fn deliver_input(&mut self, device: usize, input: &crate::device::DeviceInput) -> bool {
        let now = self.now();
        let Some(dev) = self.devices.get_mut(device) else {
            return false;
        };
        let taken = dev.device.input(input, &mut DeviceBus::new(now, &mut self.ram, &mut self.signals));
        self.tick_devices();
        taken
    }

    /// Reads physical memory for the debugger and loaders without side effects on devices (device registers
    /// read as unavailable).
    pub fn peek(&self, pa: u64, buf: &mut [u8]) -> Option<()> {
        if self.ram.read(pa, buf).is_some() {
            return Some(());
        }
        for (i, byte) in buf.iter_mut().enumerate() {
            match self.flat.resolve(pa.checked_add(i as u64)?)? {
                FlatTarget::Ram { offset } => *byte = *self.ram.bytes().get(offset as usize)?,
                FlatTarget::Rom { rom, offset } => *byte = *self.roms.get(rom)?.get(offset as usize)?,
                FlatTarget::Io { .. } => return None,
            }
        }
        Some(())
    }
}

#[inline]
fn le_value(b: &[u8]) -> u64 {
    match b.len() {
        1 => b[0] as u64,
        2 => u16::from_le_bytes([b[0], b[1]]) as u64,
        4 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64,
        _ => {
            let mut w = [0u8; 8];
            w[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
            u64::from_le_bytes(w)
        }
    }
}

#[inline]
fn size_mask(size: u8) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}
