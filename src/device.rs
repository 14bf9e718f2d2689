//! The one small trait every emulated device implements, and the narrow view of the machine a device gets while
//! it is being accessed.
//!
//! Devices are pure state machines (after vm-superio): they never read a host clock, never touch the debugger and
//! never know the board. Everything nondeterministic reaches them through [`Device::input`], which the machine
//! calls from its one event path, so record and replay drive devices identically.

use crate::memory::Ram;
use serde::{Deserialize, Serialize};

/// Why a device asks the machine to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerRequest {
    /// The guest powered off with this exit code (0 = success).
    Poweroff { code: u32 },
    /// The guest asked for a reset.
    Reset,
}

/// Nondeterministic input delivered to a device through the machine's event path: bytes from the host side of
/// one of the device's ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInput {
    pub port: InputPort,
    pub bytes: Vec<u8>,
}

/// Where input comes from. The order is part of the recording format (a recorded port is its index), so new
/// ports go at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputPort {
    /// Bytes typed on the console, in order.
    Console,
    /// One Ethernet frame from the host's side of a network device.
    Network,
}

impl DeviceInput {
    /// Bytes typed on the console.
    pub fn console(bytes: Vec<u8>) -> DeviceInput {
        DeviceInput { port: InputPort::Console, bytes }
    }

    /// One frame arriving at a network device.
    pub fn network_frame(frame: Vec<u8>) -> DeviceInput {
        DeviceInput { port: InputPort::Network, bytes: frame }
    }
}

/// Levels of the platform's interrupt lines, as many as a board wires (the RISC-V PLIC and APLIC take up to
/// 1023 sources). Lines start low; the set grows as lines are raised.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IrqLines {
    words: Vec<u64>,
    /// Lines that went from low to high since the interrupt controller last took them ([`IrqLines::take_rises`]).
    /// A controller that latches a request when its line is raised, as QEMU's PLIC does, reads these rather than
    /// comparing levels, so a line that falls and rises again within one access still makes a request.
    #[serde(default)]
    rises: Vec<u64>,
    /// Lines several devices drive together (PCI INTx pins after the swizzle): each line's asserting sources, one
    /// bit a source; the line is high while any is (a wired OR).
    #[serde(default)]
    shared: Vec<(u32, u64)>,
}

impl IrqLines {
    /// Lines above this are not wired on any board; raising one is ignored, so a bad board table cannot make the
    /// set grow without bound.
    pub const MAX: u32 = 1 << 16;

    /// Drives `line` to `level`; returns whether its level changed.
    pub fn set(&mut self, line: u32, level: bool) -> bool {
        if line >= Self::MAX {
            return false;
        }
        let (word, bit) = ((line / 64) as usize, 1u64 << (line % 64));
        if word >= self.words.len() {
            if !level {
                return false;
            }
            self.words.resize(word + 1, 0);
        }
        let before = self.words[word];
        self.words[word] = if level { before | bit } else { before & !bit };
        let changed = before != self.words[word];
        if changed && level {
            if word >= self.rises.len() {
                self.rises.resize(word + 1, 0);
            }
            self.rises[word] |= bit;
        }
        changed
    }

    /// Source `source` (0 to 63) of shared line `line` asserts it or lets go; the line is high while any source
    /// asserts it. Returns whether the line's level changed.
    pub fn set_shared(&mut self, line: u32, source: u32, level: bool) -> bool {
        let bit = 1u64.checked_shl(source).unwrap_or(0);
        let mask = match self.shared.iter_mut().find(|(l, _)| *l == line) {
            Some((_, mask)) => mask,
            None => {
                self.shared.push((line, 0));
                let last = self.shared.len() - 1;
                &mut self.shared[last].1
            }
        };
        *mask = if level { *mask | bit } else { *mask & !bit };
        let high = *mask != 0;
        self.set(line, high)
    }

    /// The lines `64 * index .. 64 * index + 63` that rose since the last call for `index`, bit n for line
    /// `64 * index + n`; forgets them.
    pub fn take_rises(&mut self, index: usize) -> u64 {
        self.rises.get_mut(index).map(std::mem::take).unwrap_or(0)
    }

    pub fn level(&self, line: u32) -> bool {
        self.word((line / 64) as usize) & (1 << (line % 64)) != 0
    }

    /// The levels of lines `64 * index .. 64 * index + 63`, bit n for line `64 * index + n`.
    pub fn word(&self, index: usize) -> u64 {
        self.words.get(index).copied().unwrap_or(0)
    }

    /// The words with some line high above the first, with their indexes.
    pub fn high_words_above_first(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.words.iter().copied().enumerate().skip(1).filter(|(_, w)| *w != 0)
    }
}

/// A message-signalled interrupt: a 32-bit write of `data` to physical address `addr`, which the interrupt
/// controller mapped there decodes (an IMSIC on RISC-V, an ITS on Arm).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Msi {
    pub addr: u64,
    pub data: u32,
}

/// A change to the memory map asked for by a device (a PCI host bridge mapping a BAR, a chip-select register):
/// the region named `region` moves to `addr` in its container, or is unmapped with `None`. The machine applies
/// it after the access, in one transaction with any other change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionPlacement {
    pub region: String,
    pub addr: Option<u64>,
}

/// What devices drive besides memory: platform interrupt lines, each hart's local interrupt lines, messages,
/// power requests and changes to the memory map. The machine owns it; devices reach it through a [`DeviceBus`].
#[derive(Clone, Debug, Default)]
pub struct Signals {
    lines: IrqLines,
    /// Bumped whenever a platform line changes level, so the machine sees whether a round of device ticks changed
    /// anything without comparing the lines.
    line_changes: u64,
    hart_lines: Vec<u64>,
    power: Option<PowerRequest>,
    messages: Vec<Msi>,
    placements: Vec<RegionPlacement>,
    counts: IrqCounts,
}

/// How often each interrupt line went from low to high: statistics for the debugger (`info irq`), not machine
/// state (a restore does not rewind them).
#[derive(Clone, Debug, Default)]
pub struct IrqCounts {
    /// By platform line number.
    pub lines: Vec<u64>,
    /// By hart, then by local line (bit number).
    pub hart_lines: Vec<[u64; 64]>,
}

impl IrqCounts {
    fn raised(&mut self, line: u32) {
        let line = line as usize;
        if line >= self.lines.len() {
            self.lines.resize(line + 1, 0);
        }
        self.lines[line] += 1;
    }

    fn hart_raised(&mut self, hart: usize, bits: u64) {
        if hart >= self.hart_lines.len() {
            self.hart_lines.resize(hart + 1, [0; 64]);
        }
        let mut bits = bits;
        while bits != 0 {
            self.hart_lines[hart][bits.trailing_zeros() as usize] += 1;
            bits &= bits - 1;
        }
    }
}

impl Signals {
    /// Signals of a machine with `harts` harts, every line low.
    pub fn new(harts: usize) -> Signals {
        Signals { hart_lines: vec![0; harts], ..Signals::default() }
    }

    pub fn lines(&self) -> &IrqLines {
        &self.lines
    }

    /// Hart `n`'s local interrupt lines (see [`DeviceBus::set_hart_irq`]).
    pub fn hart_lines(&self) -> &[u64] {
        &self.hart_lines
    }

    pub fn hart_line_word(&self, hart: usize) -> u64 {
        self.hart_lines.get(hart).copied().unwrap_or(0)
    }

    pub fn power(&self) -> Option<PowerRequest> {
        self.power
    }

    pub fn counts(&self) -> &IrqCounts {
        &self.counts
    }

    /// Counts a rise of hart `hart`'s interrupt bits `bits` that a hart drives itself (Sstc's timer), so that
    /// `info irq` shows it with the lines devices drive.
    pub fn note_hart_raise(&mut self, hart: usize, bits: u64) {
        self.counts.hart_raised(hart, bits);
    }

    pub(crate) fn line_changes(&self) -> u64 {
        self.line_changes
    }

    pub(crate) fn take_messages(&mut self) -> Vec<Msi> {
        std::mem::take(&mut self.messages)
    }

    pub fn take_placements(&mut self) -> Vec<RegionPlacement> {
        std::mem::take(&mut self.placements)
    }

    pub(crate) fn restore(&mut self, lines: IrqLines, hart_lines: Vec<u64>, power: Option<PowerRequest>) {
        self.lines = lines;
        self.hart_lines = hart_lines;
        self.power = power;
        self.line_changes += 1;
    }
}

/// What a device sees of the machine during an access, a tick or an input.
pub struct DeviceBus<'a> {
    now: u64,
    ram: &'a mut Ram,
    signals: &'a mut Signals,
}

impl<'a> DeviceBus<'a> {
    pub fn new(now: u64, ram: &'a mut Ram, signals: &'a mut Signals) -> DeviceBus<'a> {
        DeviceBus { now, ram, signals }
    }

    /// Virtual time in timer ticks (10 MHz), derived from the instruction count only.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Guest RAM, for DMA (virtio rings and buffers).
    pub fn ram(&mut self) -> &mut Ram {
        self.ram
    }

    /// Drives platform interrupt line `line` to `level`.
    pub fn set_irq(&mut self, line: u32, level: bool) {
        let changed = self.signals.lines.set(line, level);
        self.note_line(line, level, changed);
    }

    /// Counts a line's change of level (for the machine's round of ticks, and its rises for `info irq`).
    fn note_line(&mut self, line: u32, level: bool, changed: bool) {
        if changed {
            self.signals.line_changes += 1;
            if level {
                self.signals.counts.raised(line);
            }
        }
    }

    /// Source `source` (0 to 63: a PCI slot) of a line several devices share drives it to `level`; the line is
    /// high while any of its sources is.
    pub fn set_shared_irq(&mut self, line: u32, source: u32, level: bool) {
        let changed = self.signals.lines.set_shared(line, source, level);
        let high = self.signals.lines.level(line);
        self.note_line(line, high, changed);
    }

    /// The levels of every platform interrupt line (the interrupt controller samples them).
    pub fn irq_lines(&self) -> &IrqLines {
        &self.signals.lines
    }

    /// The platform lines `64 * index ..` that rose since the interrupt controller last asked (see
    /// [`IrqLines::take_rises`]).
    pub fn take_irq_rises(&mut self, index: usize) -> u64 {
        self.signals.lines.take_rises(index)
    }

    /// Sets or clears the local interrupt lines `bits` of hart `hart`, bit n = local line n. The architecture
    /// gives the lines their meaning (on RISC-V they are `mip` bits, see `arch::riscv::mip`: the CLINT drives
    /// MSIP/MTIP, the PLIC MEIP/SEIP); the engine only carries them.
    pub fn set_hart_irq(&mut self, hart: usize, bits: u64, level: bool) {
        if let Some(word) = self.signals.hart_lines.get_mut(hart) {
            if level {
                self.signals.counts.hart_raised(hart, bits & !*word);
                *word |= bits;
            } else {
                *word &= !bits;
            }
        }
    }

    /// Asks the machine to power off or reset once the current access completes.
    pub fn request_power(&mut self, request: PowerRequest) {
        self.signals.power = Some(request);
    }

    /// Sends a message-signalled interrupt: the machine performs the write once the current access completes.
    pub fn send_msi(&mut self, msi: Msi) {
        self.signals.messages.push(msi);
    }

    /// Moves the region named `region` to `addr` in its container, or unmaps it (`None`), once the current access
    /// completes. A region the tree does not have is ignored, as a bus ignores a decoder programmed for nothing.
    pub fn place_region(&mut self, region: &str, addr: Option<u64>) {
        self.signals.placements.push(RegionPlacement { region: region.to_string(), addr });
    }
}

/// Error restoring a device from a saved state.
#[derive(Debug, thiserror::Error)]
#[error("{device}: cannot restore state: {reason}")]
pub struct RestoreError {
    pub device: String,
    pub reason: String,
}

/// A memory-mapped device.
///
/// Accesses are 1, 2, 4 or 8 bytes at an offset inside the device's region; the bus never passes an access that
/// crosses the region's end. A device that does not implement a register reads it as zero and ignores writes, as
/// hardware does; it never panics on guest input.
pub trait Device: Send {
    /// Short type name shown by `info devices` (e.g. `ns16550a`).
    fn kind(&self) -> &'static str;

    /// Reads `size` bytes at `offset`.
    fn read(&mut self, offset: u64, size: u8, bus: &mut DeviceBus) -> u64;

    /// Writes the low `size` bytes of `value` at `offset`.
    fn write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus);

    /// Called whenever virtual time moved or an interrupt line changed; timers and interrupt controllers update
    /// their outputs here.
    fn tick(&mut self, _bus: &mut DeviceBus) {}

    /// The next virtual time (in ticks) at which this device changes state on its own, if any. Idle harts skip to
    /// the earliest deadline.
    fn next_deadline(&self) -> Option<u64> {
        None
    }

    /// Delivers nondeterministic input (e.g. console bytes). Returns false if the device does not take this input.
    fn input(&mut self, _input: &DeviceInput, _bus: &mut DeviceBus) -> bool {
        false
    }

    /// A system reset: the device takes its power-on state, as QEMU's device reset gives it. What lives outside
    /// the machine stays: a disk keeps what the guest wrote to it, the console its host side.
    fn reset(&mut self);

    /// The device's complete guest-visible state, serialized (a plain `XxxState` struct encoded with postcard,
    /// whose wire format is specified).
    fn save(&self) -> Vec<u8>;

    /// Restores what [`Device::save`] produced. Validates its input; never calls into other devices.
    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError>;

    /// Human-readable registers and state for `info devices` and the TUI.
    fn inspect(&self) -> Vec<(String, String)>;

    /// Whether a read at `offset` reads a free-running clock (a timer's counter): a hart that spins on it with
    /// nothing else to do gets its time sped up. Every other access counts as talking to the device.
    fn is_clock(&self, _offset: u64) -> bool {
        false
    }

    /// An interrupt controller's state, one line per source that is enabled, pending or in service (`info
    /// pic`, after QEMU's `InterruptStatsProvider::print_info`); `None` for every other device.
    fn pic_info(&self) -> Option<String> {
        None
    }

    /// A PCI function's entry in `info pci`, as QEMU prints it (`hmp_info_pci`); `None` for every other device.
    fn pci_info(&self) -> Option<String> {
        None
    }
}

/// Encodes a device state struct for [`Device::save`].
pub fn encode_state<T: Serialize>(state: &T) -> Vec<u8> {
    postcard::to_allocvec(state).unwrap_or_default()
}

/// Decodes a device state struct for [`Device::restore`] and checks it with `check`, which says what is wrong
/// with a state this device could never be in (a FIFO longer than it holds, state for another number of harts):
/// a restore takes its input from a file, so every field a file could corrupt is checked here.
pub fn decode_state<T: for<'de> Deserialize<'de>>(
    device: &str,
    bytes: &[u8],
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, RestoreError> {
    let error = |reason: String| RestoreError { device: device.to_string(), reason };
    let state = postcard::from_bytes(bytes).map_err(|e| error(e.to_string()))?;
    check(&state).map_err(error)?;
    Ok(state)
}

/// For [`decode_state`]: a state every value of whose fields the device can be in.
pub fn any_state<T>(_: &T) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irq_lines_grow_as_lines_go_high_and_cap_at_max() {
        let mut lines = IrqLines::default();
        assert!(!lines.set(200, false), "a low line that was never high changes nothing");
        assert!(lines.set(200, true));
        assert!(!lines.set(200, true), "no change");
        assert!(lines.level(200) && !lines.level(199));
        assert_eq!(lines.word(3), 1 << (200 - 192));
        assert_eq!(lines.high_words_above_first().collect::<Vec<_>>(), vec![(3, 1 << 8)]);
        assert!(!lines.set(IrqLines::MAX, true));
        assert!(!lines.level(IrqLines::MAX));
    }

    /// Recordings keep console input as the enum `DeviceInput::ConsoleBytes(Vec<u8>)` encoded it before ports
    /// existed: variant 0, then the bytes. The struct with its port first encodes the same.
    #[test]
    fn console_input_encodes_as_recordings_of_format_3_hold_it() {
        let encoded = postcard::to_allocvec(&DeviceInput::console(b"ab".to_vec())).unwrap();
        assert_eq!(encoded, vec![0, 2, b'a', b'b']);
        let frame = postcard::to_allocvec(&DeviceInput::network_frame(vec![7])).unwrap();
        assert_eq!(frame, vec![1, 1, 7]);
    }
}
