//! RV64GC: decoding, architectural state, CSRs, Sv39/Sv48 translation with PMP, IEEE floating point with RISC-V's
//! NaN boxing, interrupt causes, and the register table debuggers read.

pub mod cpu;
pub mod csr;
pub mod decode;
pub mod disasm;
pub(crate) mod fpu;
pub mod hart;
pub mod mip;
pub(crate) mod mmu;
pub(crate) mod pmp;
pub mod regs;
pub mod trigger;

pub use hart::{Hart, Priv};
