//! The RISC-V hart: decoding, architectural state, CSRs, translation and the interpreter.

pub mod csr;
pub mod decode;
pub mod hart;
pub mod interp;
pub mod mmu;
pub mod pmp;

pub use hart::{Hart, Priv};
