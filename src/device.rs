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

/// Nondeterministic input delivered to a device through the machine's event path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceInput {
    /// Bytes typed on the console.
    ConsoleBytes(Vec<u8>),
}

/// What a device sees of the machine during an access or a tick.
pub struct DeviceBus<'a> {
    /// Virtual time in timer ticks (10 MHz), derived from the instruction count only.
    pub now: u64,
    /// Guest RAM, for DMA (virtio rings and buffers).
    pub ram: &'a mut Ram,
    /// Level of every platform interrupt line (bit n = line n), read by the interrupt controller.
    pub irq_lines: &'a mut u64,
    /// Per-hart interrupt lines driven by devices, bit n = local line n. The architecture gives the lines their
    /// meaning (on RISC-V they are `mip` bits, see `arch::riscv::mip`: the CLINT drives MSIP/MTIP, the PLIC
    /// MEIP/SEIP); the engine only carries them.
    pub hart_irqs: &'a mut [u64],
    /// Set by a device that wants the machine to power off or reset.
    pub power: &'a mut Option<PowerRequest>,
}

impl DeviceBus<'_> {
    /// Drives platform interrupt line `line` to `level`.
    pub fn set_irq(&mut self, line: u32, level: bool) {
        if line >= 64 {
            return;
        }
        if level {
            *self.irq_lines |= 1 << line;
        } else {
            *self.irq_lines &= !(1 << line);
        }
    }

    /// Sets or clears the local interrupt lines `bits` of hart `hart` (see [`DeviceBus::hart_irqs`]).
    pub fn set_hart_irq(&mut self, hart: usize, bits: u64, level: bool) {
        if let Some(word) = self.hart_irqs.get_mut(hart) {
            if level {
                *word |= bits;
            } else {
                *word &= !bits;
            }
        }
    }
}

/// How a device appears in a flattened device tree. A board's generator walks the memory-region tree and writes one
/// node per device that describes itself, at the address and size the tree maps it at, so the tree the guest
/// reads and the tree `info mtree` shows cannot disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdtNode {
    /// Node name; the generator appends `@<address>` (e.g. `serial`).
    pub name: &'static str,
    /// The `compatible` strings, most specific first.
    pub compatible: &'static [&'static str],
    pub wiring: FdtWiring,
    /// Further one-cell properties (e.g. the UART's `clock-frequency`).
    pub cells: Vec<(&'static str, u32)>,
}

/// How a described device connects to interrupts and to other nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtWiring {
    /// An ordinary device raising platform interrupt line `irq` of the board's interrupt controller, or none.
    Line(Option<u32>),
    /// Drives every hart's local interrupts with these numbers, as the hart's interrupt-controller node numbers
    /// them (the CLINT on RISC-V: cause 3, software, and 7, timer).
    HartLocal(&'static [u32]),
    /// The platform interrupt controller: `sources` lines in, these causes out to every hart (the PLIC: machine
    /// and supervisor external, 11 and 9).
    Controller { sources: u32, causes: &'static [u32] },
    /// A system controller that command nodes at the root point at: `(node name, compatible, value written at
    /// offset 0)` each (sifive,test: `poweroff` and `reboot`).
    Syscon(&'static [(&'static str, &'static str, u32)]),
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

    /// The device's complete guest-visible state, serialized (a plain `XxxState` struct encoded with postcard, whose wire format is specified).
    fn save(&self) -> Vec<u8>;

    /// Restores what [`Device::save`] produced. Validates its input; never calls into other devices.
    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError>;

    /// Human-readable registers and state for `info devices` and the TUI.
    fn inspect(&self) -> Vec<(String, String)>;

    /// The device's device-tree node; `None` for a device the tree does not list.
    fn fdt_node(&self) -> Option<FdtNode> {
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
