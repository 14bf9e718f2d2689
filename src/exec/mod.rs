//! The execution layer: the code cache and the tiers that run guest code — the interpreter (the reference, and
//! every other tier's oracle) and the Cranelift JIT — on top of the architecture's hart model.

pub mod interp;
pub mod jit;
