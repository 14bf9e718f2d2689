//! Guest architectures. Everything that knows an instruction set lives under its directory: the decoder, the
//! hart's architectural state, CSRs or system registers, address translation and protection, floating-point
//! semantics, interrupt causes, and the register names and numbers that gdb, the monitor and the TUI read. The
//! rest of the engine (memory, devices, the machine's scheduler, idle skipping and state hashing) sees a hart
//! through [`ArchHart`]; the execution tiers are per architecture.

pub mod riscv;

/// What the architecture-neutral engine needs of a hart: small enough that an Arm or x86 hart implements it
/// without pretending to be RISC-V.
pub trait ArchHart {
    /// The hart's index in its machine.
    fn id(&self) -> usize;

    /// The address of the next instruction.
    fn pc(&self) -> u64;

    /// Instructions this hart has retired (the machine's clock is their sum).
    fn icount(&self) -> u64;

    /// Whether the hart waits for an interrupt (RISC-V's `wfi`, Arm's `wfi`, x86's `hlt`).
    fn is_waiting(&self) -> bool;

    /// Whether an interrupt would end a wait now: one of the hart's own, or one of the device-driven local lines
    /// `lines` (bit n = local line n; the architecture gives the lines their meaning).
    fn would_wake(&self, lines: u64) -> bool;

    /// Called before each block: ends a wait that an interrupt ends and takes the interrupt that is due (the
    /// hart's trap entry). Returns false while the hart still waits.
    fn service_interrupts(&mut self, lines: u64) -> bool;

    /// The hart's time slice ends (`to_another_hart`: another hart runs next): what only holds while it runs
    /// alone (a load reservation) ends.
    fn lose_cpu(&mut self, to_another_hart: bool);
}
