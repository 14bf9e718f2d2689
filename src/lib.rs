//! rewind's execution engine: an RV64GC hart model, a decoder, a block-caching interpreter, the MMU and the
//! QEMU-style memory-region tree. The engine knows nothing of boards: a board (crate `rewind-machines`) builds a
//! [`Machine`] from regions and [`Device`]s with [`MachineBuilder`], and the debugger and the recorder drive it
//! through [`Machine::run`].

// Guest and user input must never crash the host: outside tests, a failure is an error value, not a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod arch;
pub mod clock;
pub mod device;
mod exec;
pub mod hooks;
pub mod machine;
pub mod memory;
mod platform;

pub use arch::riscv::cpu::{CpuConfig, CpuSpecError, Model as CpuModel, MODELS as CPU_MODELS};
pub use arch::riscv::{Hart, Priv};
pub use device::{Device, DeviceBus, DeviceInput, InputPort, IrqLines, Msi, PowerRequest};
pub use exec::jit::{JitStats, DEFAULT_THRESHOLD as DEFAULT_JIT_THRESHOLD};
pub use hooks::{AccessKind, MemAccess, Tracer, TrapEvent, WatchKind, Watchpoint};
pub use machine::{CpuState, DebugStops, Machine, MachineBuilder, MachineState, StopReason, TIMEBASE_HZ};
pub use memory::{DeviceId, MemoryRegion, Ram, RamError};
