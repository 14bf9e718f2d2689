//! The `mip` bits of the interrupts devices drive on a hart (priv spec 3.1.9): the RISC-V meaning of the
//! engine's per-hart interrupt lines (`DeviceBus::set_hart_irq`), which are ORed into `mip` as they are.

pub const SSIP: u64 = 1 << 1;
pub const MSIP: u64 = 1 << 3;
pub const STIP: u64 = 1 << 5;
pub const MTIP: u64 = 1 << 7;
pub const SEIP: u64 = 1 << 9;
pub const MEIP: u64 = 1 << 11;
/// Sscofpmf's local counter-overflow interrupt (software's to clear, not a device's).
pub const LCOFIP: u64 = 1 << 13;
