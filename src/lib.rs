//! rewind's execution engine: an RV64GC hart model, a decoder, a block-caching interpreter, the MMU and the
//! QEMU-style memory-region tree. The engine knows nothing of boards: a board (crate `rewind-machines`) builds a
//! [`Machine`] from regions and [`Device`]s with [`MachineBuilder`], and the debugger and the recorder drive it
//! through [`Machine::run`] and the hooks.

pub mod device;
pub mod fpu;
pub mod memory;
pub mod machine;

pub use device::{Device, DeviceBus, DeviceInput, PowerRequest};
pub use machine::{Machine, MachineBuilder};
pub use memory::{DeviceId, MemoryRegion, Ram};
