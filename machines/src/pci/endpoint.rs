//! A PCI function's side of the bus, which every device behind the host bridge embeds: its configuration space
//! with base address registers (BARs) the guest sizes and places, the command register that turns decoding
//! on, its INTx pin, and MSI-X.
//!
//! A function is one machine device. The board maps its 4 KiB of ECAM at the function's bus address and each BAR
//! as a region of its own, disabled until the guest places it: all of them are windows onto the device's offset
//! space, where [`decode`] tells them apart. When the guest moves a BAR or turns decoding on or off, the function
//! asks the machine to move the region ([`rewind::DeviceBus::place_region`]), as QEMU's `pci_update_mappings`
//! does.

use super::{reg, ConfigSpace, COMMAND_INTX_DISABLE, COMMAND_IO, COMMAND_MEMORY, STATUS_INTERRUPT};
use crate::fdt::{PciSpace, PciWindow};
use rewind::{DeviceBus, Msi};
use serde::{Deserialize, Serialize};

/// What a BAR decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarKind {
    Io,
    Mem32,
    /// A 64-bit memory BAR, which takes the next BAR register too.
    Mem64 {
        prefetchable: bool,
    },
}

/// One BAR: its kind and size (a power of two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    pub kind: BarKind,
    pub size: u64,
}

impl Bar {
    /// The low bits of the register, which say what the BAR is.
    fn flags(self) -> u32 {
        match self.kind {
            BarKind::Io => 0x1,
            BarKind::Mem32 => 0x0,
            BarKind::Mem64 { prefetchable } => 0x4 | if prefetchable { 0x8 } else { 0 },
        }
    }
}

/// Where a function's registers sit in its device's offset space: configuration space at 0, BAR `i` at
/// `(i + 1) << BAR_SHIFT` (room for any BAR a 64-bit host can place).
pub const BAR_SHIFT: u32 = 40;

/// The offset in a function's device where BAR `i` starts.
pub const fn bar_offset(i: usize) -> u64 {
    (i as u64 + 1) << BAR_SHIFT
}

/// The size of a function's offset space: configuration space and six BARs.
pub const FUNCTION_SPACE: u64 = bar_offset(6);

/// What an access to a function's device reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FunctionAccess {
    /// Its configuration space, at this offset.
    Config(usize),
    /// BAR `.0`, at offset `.1` in it.
    Bar(usize, u64),
}

/// Which part of a function an offset of its device addresses.
pub fn decode(offset: u64) -> FunctionAccess {
    match (offset >> BAR_SHIFT) as usize {
        0 => FunctionAccess::Config(offset as usize),
        n => FunctionAccess::Bar(n - 1, offset & ((1 << BAR_SHIFT) - 1)),
    }
}

/// The MSI-X capability's registers (PCI Local Bus 3.0, section 6.8.2).
const MSIX_CAP_ID: u8 = 0x11;
const MSIX_ENTRY_SIZE: usize = 16;
const MSIX_ENABLE: u16 = 0x8000;
const MSIX_MASK_ALL: u16 = 0x4000;
/// Vector control: the vector is masked.
const MSIX_VECTOR_MASKED: u32 = 1;

/// Where an MSI-X table lives: QEMU's `msix_init_exclusive_bar`, a BAR of its own with the table at 0 and the
/// pending-bit array in the upper half.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsixLayout {
    pub vectors: u16,
    pub bar: usize,
}

impl MsixLayout {
    /// The BAR's size: table and pending bits, at least 4 KiB, a power of two.
    pub fn bar_size(self) -> u64 {
        let table = u64::from(self.vectors) * MSIX_ENTRY_SIZE as u64;
        let pba = u64::from(self.vectors).div_ceil(64) * 8;
        (table + pba).next_power_of_two().max(4096)
    }

    fn pba_offset(self) -> u64 {
        self.bar_size() / 2
    }
}

/// How the board plugged a function in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Device and function number on bus 0 (device << 3 | function).
    pub devfn: u8,
    /// The platform line the function's INTx pin raises, after the host bridge's swizzle.
    pub intx_line: u32,
    /// The host bridge's windows: a BAR is reachable where one of them shows it.
    pub windows: Vec<PciWindow>,
}

/// The guest-visible state: configuration space, where each BAR is mapped, the INTx level and MSI-X.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointState {
    config: ConfigSpace,
    /// The CPU address each BAR's region is placed at, if any.
    mapped: [Option<u64>; 6],
    /// The function's interrupt request, before the command register's INTx disable and MSI-X.
    intx: bool,
    /// The MSI-X table, 16 bytes a vector.
    msix_table: Vec<u8>,
    /// The MSI-X pending bits, one a vector.
    msix_pending: u64,
}

pub struct Endpoint {
    /// The name the function's regions are known by (unique on the board once the slot is known).
    name: String,
    bars: [Option<Bar>; 6],
    msix: Option<(MsixLayout, usize)>,
    slot: Slot,
    power_on: EndpointState,
    s: EndpointState,
}

impl Endpoint {
    /// A function named `name` with `config` (identity, capabilities) and `bars`; with `msix`, an MSI-X
    /// capability and table as QEMU's virtio devices have. It sits nowhere until [`Endpoint::plug`].
    pub fn new(name: &str, mut config: ConfigSpace, bars: [Option<Bar>; 6], msix: Option<MsixLayout>) -> Endpoint {
        for (i, bar) in bars.iter().enumerate() {
            let Some(bar) = bar else { continue };
            let at = reg::BAR0 + 4 * i;
            let mask = !(bar.size.max(16) - 1);
            config.set_bytes(at, &bar.flags().to_le_bytes());
            match bar.kind {
                BarKind::Mem64 { .. } => config.set_writable(at, &mask.to_le_bytes()),
                _ => config.set_writable(at, &(mask as u32).to_le_bytes()),
            }
        }
        config.set_bytes(reg::INTERRUPT_PIN, &[1]);
        let msix = msix.and_then(|layout| {
            let table = (layout.bar as u32).to_le_bytes();
            let pba = (layout.pba_offset() as u32 | layout.bar as u32).to_le_bytes();
            let control = (layout.vectors - 1).to_le_bytes();
            let body = [control[0], control[1], table[0], table[1], table[2], table[3], pba[0], pba[1], pba[2], pba[3]];
            let at = config.add_capability(MSIX_CAP_ID, &body)?;
            config.set_writable(at + 2, &(MSIX_ENABLE | MSIX_MASK_ALL).to_le_bytes());
            Some((layout, at))
        });
        let vectors = msix.map_or(0, |(l, _)| usize::from(l.vectors));
        let mut table = vec![0u8; vectors * MSIX_ENTRY_SIZE];
        for entry in table.chunks_mut(MSIX_ENTRY_SIZE) {
            entry[12..16].copy_from_slice(&MSIX_VECTOR_MASKED.to_le_bytes());
        }
        let s = EndpointState { config, mapped: [None; 6], intx: false, msix_table: table, msix_pending: 0 };
        Endpoint {
            name: name.to_string(),
            bars,
            msix,
            slot: Slot { devfn: 0, intx_line: 0, windows: Vec::new() },
            power_on: s.clone(),
            s,
        }
    }

    /// Puts the function in `slot`; the names of its regions follow from it.
    pub fn plug(&mut self, slot: Slot) {
        self.slot = slot;
    }

    pub fn devfn(&self) -> u8 {
        self.slot.devfn
    }

    /// `00:DD.F`, as Linux and QEMU print a function on bus 0.
    pub fn address(&self) -> String {
        format!("00:{:02x}.{}", self.slot.devfn >> 3, self.slot.devfn & 7)
    }

    /// The name of the region that maps BAR `i`.
    pub fn bar_region(&self, i: usize) -> String {
        format!("{} {} BAR{i}", self.name, self.address())
    }

    /// The name of the region that maps the configuration space into ECAM.
    pub fn config_region(&self) -> String {
        format!("{} {} config", self.name, self.address())
    }

    /// Each BAR the function has, with its size.
    pub fn bars(&self) -> impl Iterator<Item = (usize, Bar)> + '_ {
        self.bars.iter().enumerate().filter_map(|(i, b)| b.map(|b| (i, b)))
    }

    pub fn config(&self) -> &ConfigSpace {
        &self.s.config
    }

    pub fn command(&self) -> u16 {
        self.s.config.command()
    }

    pub fn config_read(&self, offset: usize, size: u8) -> u32 {
        self.s.config.read(offset, usize::from(size))
    }

    /// A configuration write: only the writable bits change; BARs and decoding are mapped again and the INTx
    /// line follows the command register and MSI-X.
    pub fn config_write(&mut self, offset: usize, size: u8, value: u32, bus: &mut DeviceBus) {
        self.s.config.write(offset, usize::from(size), value);
        let touches = |start: usize, len: usize| offset < start + len && start < offset + usize::from(size);
        if touches(reg::COMMAND, 2) || touches(reg::BAR0, 24) {
            self.map_bars(bus);
        }
        if let Some((_, cap)) = self.msix {
            if touches(cap + 2, 2) {
                self.deliver_pending(bus);
            }
        }
        self.update_intx(bus);
    }

    /// Where BAR `i` decodes in PCI space now, by QEMU's `pci_bar_address` rules: decoding on, not at 0, not
    /// wrapping, a 32-bit BAR below 4 GiB.
    fn bar_address(&self, i: usize, bar: Bar) -> Option<u64> {
        let at = reg::BAR0 + 4 * i;
        let low = u64::from(self.s.config.read(at, 4));
        let (enabled, raw) = match bar.kind {
            BarKind::Io => (self.command() & COMMAND_IO != 0, low),
            BarKind::Mem32 => (self.command() & COMMAND_MEMORY != 0, low),
            BarKind::Mem64 { .. } => {
                (self.command() & COMMAND_MEMORY != 0, low | u64::from(self.s.config.read(at + 4, 4)) << 32)
            }
        };
        let addr = raw & !(bar.size - 1);
        let last = addr.checked_add(bar.size - 1)?;
        let fits = match bar.kind {
            BarKind::Io | BarKind::Mem32 => last < u64::from(u32::MAX),
            BarKind::Mem64 { .. } => last != u64::MAX,
        };
        (enabled && addr != 0 && fits).then_some(addr)
    }

    /// The CPU address a host-bridge window shows PCI range `[addr, addr + size)` at.
    fn cpu_address(&self, kind: BarKind, addr: u64, size: u64) -> Option<u64> {
        self.slot.windows.iter().find_map(|w| {
            let space_fits = match kind {
                BarKind::Io => w.space == PciSpace::Io,
                _ => w.space != PciSpace::Io,
            };
            let inside = addr >= w.pci_addr && addr.checked_add(size)? <= w.pci_addr.checked_add(w.size)?;
            (space_fits && inside).then(|| w.cpu_addr + (addr - w.pci_addr))
        })
    }

    /// Places every BAR's region where the guest programmed it, or takes it away.
    fn map_bars(&mut self, bus: &mut DeviceBus) {
        for i in 0..6 {
            let Some(bar) = self.bars[i] else { continue };
            let cpu = self.bar_address(i, bar).and_then(|addr| self.cpu_address(bar.kind, addr, bar.size));
            if cpu != self.s.mapped[i] {
                self.s.mapped[i] = cpu;
                bus.place_region(&self.bar_region(i), cpu);
            }
        }
    }

    /// Whether MSI-X is on (then INTx is not used).
    pub fn msix_enabled(&self) -> bool {
        self.msix.is_some_and(|(_, cap)| self.s.config.read(cap + 2, 2) as u16 & MSIX_ENABLE != 0)
    }

    /// Raises or lowers the function's interrupt request.
    pub fn set_intx(&mut self, level: bool, bus: &mut DeviceBus) {
        self.s.intx = level;
        self.update_intx(bus);
    }

    /// Drives the INTx line from the request, the command register's disable bit and MSI-X; the status register
    /// shows the request either way.
    pub fn update_intx(&mut self, bus: &mut DeviceBus) {
        let status = self.s.config.read(reg::STATUS, 2) as u16 & !STATUS_INTERRUPT;
        let status = status | if self.s.intx { STATUS_INTERRUPT } else { 0 };
        self.s.config.set_u16(reg::STATUS, status);
        let line = self.s.intx && self.command() & COMMAND_INTX_DISABLE == 0 && !self.msix_enabled();
        // The four INTx lines are shared by the slots (the swizzle): the slot is the source of the wired OR.
        bus.set_shared_irq(self.slot.intx_line, u32::from(self.slot.devfn >> 3), line);
    }

    /// Signals MSI-X vector `vector`: a message if MSI-X is on and the vector unmasked, a pending bit if it is
    /// masked. Returns false if MSI-X is off (the caller uses INTx).
    pub fn notify_msix(&mut self, vector: u16, bus: &mut DeviceBus) -> bool {
        if !self.msix_enabled() {
            return false;
        }
        if let Some(v) = self.msix.filter(|(l, _)| vector < l.vectors).map(|_| usize::from(vector)) {
            self.s.msix_pending |= 1 << v;
            self.deliver_pending(bus);
        }
        true
    }

    /// Sends the messages of pending vectors that are no longer masked.
    fn deliver_pending(&mut self, bus: &mut DeviceBus) {
        let Some((_, cap)) = self.msix else { return };
        let control = self.s.config.read(cap + 2, 2) as u16;
        if control & MSIX_ENABLE == 0 || control & MSIX_MASK_ALL != 0 {
            return;
        }
        for (v, entry) in self.s.msix_table.chunks(MSIX_ENTRY_SIZE).enumerate() {
            let word = |i: usize| u32::from_le_bytes([entry[i], entry[i + 1], entry[i + 2], entry[i + 3]]);
            if self.s.msix_pending & (1 << v) == 0 || word(12) & MSIX_VECTOR_MASKED != 0 {
                continue;
            }
            self.s.msix_pending &= !(1 << v);
            bus.send_msi(Msi { addr: u64::from(word(0)) | u64::from(word(4)) << 32, data: word(8) });
        }
    }

    /// The MSI-X BAR, if `bar` is it.
    fn msix_bar(&self, bar: usize) -> Option<MsixLayout> {
        self.msix.map(|(layout, _)| layout).filter(|l| l.bar == bar)
    }

    /// A read of BAR `bar` that the endpoint serves itself (the MSI-X table and pending bits), or `None`.
    pub fn bar_read(&self, bar: usize, offset: u64, size: u8) -> Option<u64> {
        let layout = self.msix_bar(bar)?;
        let pending = self.s.msix_pending.to_le_bytes();
        let (bytes, base): (&[u8], u64) = match offset.checked_sub(layout.pba_offset()) {
            Some(at) => (&pending, at),
            None => (&self.s.msix_table, offset),
        };
        let base = base as usize;
        let mut value = [0u8; 8];
        for (i, b) in value.iter_mut().enumerate().take(usize::from(size).min(8)) {
            *b = bytes.get(base + i).copied().unwrap_or(0);
        }
        Some(u64::from_le_bytes(value))
    }

    /// A write to BAR `bar` that the endpoint serves itself; false if the BAR is the device's.
    pub fn bar_write(&mut self, bar: usize, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) -> bool {
        let Some(layout) = self.msix_bar(bar) else { return false };
        if offset < layout.pba_offset() {
            for (i, byte) in value.to_le_bytes().into_iter().enumerate().take(usize::from(size).min(8)) {
                if let Some(b) = self.s.msix_table.get_mut(offset as usize + i) {
                    *b = byte;
                }
            }
            self.deliver_pending(bus);
        }
        true
    }

    /// The power-on state: the guest's BAR placements go (the machine takes the regions back itself).
    pub fn reset(&mut self) {
        self.s = self.power_on.clone();
    }

    pub fn state(&self) -> &EndpointState {
        &self.s
    }

    /// What is wrong with `state` for this function, if anything (a restore reads it from a file).
    pub fn check(&self, state: &EndpointState) -> Result<(), String> {
        if !state.config.well_formed() {
            return Err("the configuration space has the wrong size".into());
        }
        if state.msix_table.len() != self.power_on.msix_table.len() {
            return Err("the MSI-X table has the wrong size".into());
        }
        Ok(())
    }

    /// Restores a state [`Endpoint::state`] gave that [`Endpoint::check`] passed.
    pub fn restore(&mut self, state: EndpointState) {
        self.s = state;
    }

    /// Sets configuration bytes the device itself keeps up to date (a window's data register).
    pub fn set_config_bytes(&mut self, offset: usize, bytes: &[u8]) {
        self.s.config.set_bytes(offset, bytes);
    }

    /// The function's entry in `info pci`, as QEMU prints it.
    pub fn info_pci(&self) -> String {
        let bars: Vec<_> = self.bars().map(|(i, bar)| (i, bar, self.bar_address(i, bar))).collect();
        super::info_pci_entry(&self.s.config, self.slot.devfn, &bars)
    }

    /// `info devices` lines: the address, IDs and the BARs as placed.
    pub fn inspect(&self) -> Vec<(String, String)> {
        let id = self.s.config.identity();
        let mut out = vec![
            (
                "pci".to_string(),
                format!("{} [{:04x}:{:04x}] class {:06x}", self.address(), id.vendor, id.device, id.class),
            ),
            ("command".to_string(), format!("{:#06x}", self.command())),
            ("irq".to_string(), format!("{} (INTx {})", self.slot.intx_line, if self.s.intx { "high" } else { "low" })),
        ];
        for (i, bar) in self.bars() {
            let at = match self.s.mapped[i] {
                Some(addr) => format!("at {addr:#x}"),
                None => "unmapped".to_string(),
            };
            out.push((format!("bar{i}"), format!("{:?} {:#x} bytes, {at}", bar.kind, bar.size)));
        }
        out
    }
}
