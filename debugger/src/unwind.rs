//! Call stacks from the DWARF call-frame information of a guest's ELF (`.debug_frame`, else `.eh_frame`), the way
//! gdb unwinds: the frame description of the code at pc says where the caller's registers and return address
//! were saved relative to the canonical frame address. Linux is built without frame pointers by default, so the
//! frame records a simpler unwinder would follow are not there; the call-frame information always is when the
//! kernel has debug information.
//!
//! gimli parses and evaluates the call-frame programs; this module indexes them by address and walks the frames.

use addr2line::gimli;
use object::{Object, ObjectSection};
use std::sync::Arc;

type Reader = gimli::EndianArcSlice<gimli::RunTimeEndian>;

/// RISC-V's DWARF register numbers 0..=31 are x0..x31; the unwinder follows the integer registers only.
const GPRS: usize = 32;
const RA: usize = 1;
const SP: usize = 2;
/// Frames shown at most: deeper stacks are cut off rather than walked through memory without end.
pub const MAX_FRAMES: usize = 32;

enum Section {
    Debug(gimli::DebugFrame<Reader>),
    Eh(gimli::EhFrame<Reader>),
}

/// The frame descriptions of one ELF file, by the address range they describe.
pub struct FrameTable {
    section: Section,
    bases: gimli::BaseAddresses,
    /// Sorted by start address.
    fdes: Vec<gimli::FrameDescriptionEntry<Reader>>,
}

/// Where a walk reads the guest's memory: 8 bytes at a virtual address, if mapped.
pub type ReadU64<'a> = dyn Fn(u64) -> Option<u64> + 'a;

impl FrameTable {
    /// Indexes the call-frame information of `file`; None when it has none.
    pub fn load(file: &object::File, data: &Arc<[u8]>) -> Option<FrameTable> {
        let endian = if file.is_little_endian() { gimli::RunTimeEndian::Little } else { gimli::RunTimeEndian::Big };
        let bytes = |name: &str| -> Option<(Reader, u64)> {
            let s = file.section_by_name(name)?;
            let (offset, size) = s.file_range()?;
            let range = usize::try_from(offset).ok()?..usize::try_from(offset.checked_add(size)?).ok()?;
            (range.end <= data.len()).then(|| (Reader::new(data.clone(), endian).range(range), s.address()))
        };
        let mut bases = gimli::BaseAddresses::default();
        let section = if let Some((reader, _)) = bytes(".debug_frame") {
            let mut frame = gimli::DebugFrame::from(reader);
            frame.set_address_size(8);
            Section::Debug(frame)
        } else {
            let (reader, address) = bytes(".eh_frame")?;
            bases = bases.set_eh_frame(address);
            if let Some(text) = file.section_by_name(".text") {
                bases = bases.set_text(text.address());
            }
            Section::Eh(gimli::EhFrame::from(reader))
        };
        let fdes = match &section {
            Section::Debug(s) => collect_fdes(s, &bases),
            Section::Eh(s) => collect_fdes(s, &bases),
        };
        (!fdes.is_empty()).then_some(FrameTable { section, bases, fdes })
    }

    /// The return addresses of the frames above the one at `pc` with integer registers `regs` (`regs[0]` is
    /// x0): the pc of each caller, innermost first, the current pc not included. It ends where the call-frame
    /// information ends (assembly entry code has none), where memory cannot be read, or after [`MAX_FRAMES`].
    pub fn callers(&self, pc: u64, regs: &[u64; GPRS], read: &ReadU64<'_>) -> Vec<u64> {
        let mut ctx = gimli::UnwindContext::new();
        let (mut pc, mut regs) = (pc, *regs);
        let mut callers = Vec::new();
        while callers.len() < MAX_FRAMES {
            // A return address points after its call, which may be the first instruction of another function's
            // description: look up the call itself.
            let lookup = if callers.is_empty() { pc } else { pc.wrapping_sub(1) };
            let Some(next) = self.unwind_one(&mut ctx, lookup, &regs, read) else { break };
            let ra = next[RA];
            // The stack grows down: a caller's frame lies at or above its callee's (at, for a function that has
            // not made a frame yet). Anything else, or no progress at all, is a corrupt stack.
            if ra == 0 || next[SP] < regs[SP] || (next[SP] == regs[SP] && ra == pc) {
                break;
            }
            callers.push(ra);
            (pc, regs) = (ra, next);
        }
        callers
    }

    /// The caller's registers (its return address in x1, its stack pointer in x2), or None without a description
    /// for `pc` or when a saved register cannot be read.
    fn unwind_one(
        &self,
        ctx: &mut gimli::UnwindContext<usize>,
        pc: u64,
        regs: &[u64; GPRS],
        read: &ReadU64<'_>,
    ) -> Option<[u64; GPRS]> {
        let at = self.fdes.partition_point(|f| f.initial_address() <= pc).checked_sub(1)?;
        let fde = self.fdes.get(at).filter(|f| f.contains(pc))?;
        let row = match &self.section {
            Section::Debug(s) => fde.unwind_info_for_address(s, &self.bases, ctx, pc),
            Section::Eh(s) => fde.unwind_info_for_address(s, &self.bases, ctx, pc),
        }
        .ok()?;
        let reg = |r: gimli::Register| regs.get(usize::from(r.0)).copied();
        let cfa = match row.cfa() {
            gimli::CfaRule::RegisterAndOffset { register, offset } => reg(*register)?.wrapping_add_signed(*offset),
            gimli::CfaRule::Expression(_) => return None,
        };
        // Registers without a rule keep their value (callee-saved ones the function never touched).
        let mut next = *regs;
        for (r, rule) in row.registers() {
            let value = match rule {
                gimli::RegisterRule::Undefined => 0,
                gimli::RegisterRule::SameValue => reg(*r)?,
                gimli::RegisterRule::Offset(n) => read(cfa.wrapping_add_signed(*n))?,
                gimli::RegisterRule::ValOffset(n) => cfa.wrapping_add_signed(*n),
                gimli::RegisterRule::Register(other) => reg(*other)?,
                gimli::RegisterRule::Constant(v) => *v,
                _ => return None,
            };
            if let Some(slot) = next.get_mut(usize::from(r.0)) {
                *slot = value;
            }
        }
        next[0] = 0;
        next[SP] = cfa;
        Some(next)
    }
}

/// Every frame description in `section`, sorted by start address (descriptions whose CIE cannot be read are
/// skipped: the code they describe then has no backtrace, nothing worse).
fn collect_fdes<S: gimli::UnwindSection<Reader>>(
    section: &S,
    bases: &gimli::BaseAddresses,
) -> Vec<gimli::FrameDescriptionEntry<Reader>> {
    let mut fdes = Vec::new();
    let mut entries = section.entries(bases);
    while let Ok(Some(entry)) = entries.next() {
        if let gimli::CieOrFde::Fde(partial) = entry {
            if let Ok(fde) = partial.parse(S::cie_from_offset) {
                if fde.len() > 0 {
                    fdes.push(fde);
                }
            }
        }
    }
    fdes.sort_by_key(|f| f.initial_address());
    fdes
}
