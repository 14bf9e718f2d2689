//! Basic blocks: the one place guest code is decoded for execution. The interpreter runs the blocks from its
//! cache; the JIT builds its regions out of the same blocks.

use crate::arch::riscv::cpu::CpuConfig;
use crate::arch::riscv::decode::{decode, insn_len, Insn, Op};

/// The longest block: it bounds the work between two interrupt checks and one translation's size.
pub const MAX_BLOCK_INSNS: usize = 64;

/// Decodes the basic block at physical address `pa` into `out` (cleared first). The block ends after the first
/// instruction that ends a block ([`Insn::ends_block`]), after [`MAX_BLOCK_INSNS`], at the end of the page, or
/// before an instruction whose bytes `fetch(pa, size)` cannot read or that straddles the page's end (such an
/// instruction is fetched on its own, each half translated and checked). `out` is empty if the first
/// instruction is such a one. An instruction of an extension `cpu` lacks decodes as illegal.
pub fn decode_block(pa: u64, cpu: &CpuConfig, out: &mut Vec<Insn>, mut fetch: impl FnMut(u64, u8) -> Option<u64>) {
    out.clear();
    let page_end = (pa | 0xfff) + 1;
    let mut at = pa;
    while out.len() < MAX_BLOCK_INSNS {
        let Some(low) = fetch(at, 2) else { break };
        let len = insn_len(low as u16) as u64;
        let raw = if len == 4 {
            if at + 4 > page_end {
                break;
            }
            match fetch(at, 4) {
                Some(v) => v as u32,
                None => break,
            }
        } else {
            low as u32
        };
        let insn = decode_for(cpu, raw);
        out.push(insn);
        at += len;
        if insn.ends_block() || at >= page_end {
            break;
        }
    }
}

/// Decodes `raw` for a hart of kind `cpu`: an operation of an extension it lacks is illegal, as on hardware
/// without it.
pub fn decode_for(cpu: &CpuConfig, raw: u32) -> Insn {
    let insn = decode(raw);
    if cpu.executes_insn(&insn) {
        insn
    } else {
        Insn { op: Op::Illegal, ..insn }
    }
}
