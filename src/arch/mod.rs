//! Guest architectures. Everything that knows an instruction set lives under its directory: the decoder, the
//! hart's architectural state, CSRs or system registers, address translation and protection, floating-point
//! semantics, interrupt causes, and the register names and numbers that gdb, the monitor and the TUI read. The
//! rest of the engine (memory, devices, the machine, the execution layer's scheduling and caches) sees a hart
//! through what [`riscv`] exports.

pub mod riscv;
