//! The flattened memory map: sorted, non-overlapping ranges, each resolved to a leaf and an offset in it.

/// What a flat range dispatches to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlatTarget {
    Ram { offset: u64 },
    Rom { rom: super::RomId, offset: u64 },
    Io { device: super::DeviceId, offset: u64 },
}

impl FlatTarget {
    fn advanced(self, by: u64) -> FlatTarget {
        match self {
            FlatTarget::Ram { offset } => FlatTarget::Ram { offset: offset + by },
            FlatTarget::Rom { rom, offset } => FlatTarget::Rom { rom, offset: offset + by },
            FlatTarget::Io { device, offset } => FlatTarget::Io { device, offset: offset + by },
        }
    }
}

/// One range `[start, last]` (inclusive, so a range can end at the top of the address space).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatRange {
    pub start: u64,
    pub last: u64,
    /// Target of `start`; addresses inside the range map linearly.
    pub target: FlatTarget,
    pub name: String,
    /// The priority of the subregion that painted the range (shown by `info mtree -f`).
    pub priority: i32,
}

#[derive(Clone, Debug, Default)]
pub struct FlatView {
    ranges: Vec<FlatRange>,
}

impl FlatView {
    pub fn ranges(&self) -> &[FlatRange] {
        &self.ranges
    }

    /// Paints `[lo, hi]` with `target`, cutting whatever was there.
    pub(super) fn paint(&mut self, lo: u64, hi: u64, target: FlatTarget, name: &str, priority: i32) {
        let mut kept = Vec::with_capacity(self.ranges.len() + 2);
        for r in self.ranges.drain(..) {
            if r.last < lo || r.start > hi {
                kept.push(r);
                continue;
            }
            if r.start < lo {
                kept.push(FlatRange { last: lo - 1, name: r.name.clone(), ..r.clone() });
            }
            if r.last > hi {
                let target = r.target.advanced(hi + 1 - r.start);
                kept.push(FlatRange { start: hi + 1, target, ..r });
            }
        }
        kept.push(FlatRange { start: lo, last: hi, target, name: name.to_string(), priority });
        kept.sort_by_key(|r| r.start);
        self.ranges = kept;
    }

    /// The view as QEMU's `info mtree -f` prints it, for a machine with `harts` harts (each has an address space
    /// onto it, as in QEMU).
    pub fn render(&self, harts: usize) -> String {
        use std::fmt::Write;
        let mut out = String::from("FlatView #0\n AS \"memory\", root: system\n");
        for hart in 0..harts {
            let _ = writeln!(out, " AS \"cpu-memory-{hart}\", root: system");
        }
        out.push_str(" Root memory region: system\n");
        for r in &self.ranges {
            let (kind, offset) = match r.target {
                FlatTarget::Ram { offset } => ("ram", offset),
                FlatTarget::Rom { offset, .. } => ("rom", offset),
                FlatTarget::Io { offset, .. } => ("i/o", offset),
            };
            let _ = write!(out, "  {:016x}-{:016x} (prio {}, {kind}): {}", r.start, r.last, r.priority, r.name);
            // QEMU shows where in its region a range starts when that is not the region's start.
            if offset != 0 {
                let _ = write!(out, " @{offset:016x}");
            }
            out.push('\n');
        }
        // QEMU ends each view with an empty line.
        out.push('\n');
        out
    }

    /// The range containing `addr`.
    pub fn lookup(&self, addr: u64) -> Option<&FlatRange> {
        let idx = self.ranges.partition_point(|r| r.start <= addr);
        let r = self.ranges.get(idx.checked_sub(1)?)?;
        (addr <= r.last).then_some(r)
    }

    /// The target of `addr` itself.
    pub fn resolve(&self, addr: u64) -> Option<FlatTarget> {
        self.resolve_span(addr, 1)
    }

    /// The target of `[addr, addr+len)`, if the whole span lies in one range (an access never straddles two).
    pub fn resolve_span(&self, addr: u64, len: u64) -> Option<FlatTarget> {
        let r = self.lookup(addr)?;
        if addr.checked_add(len.checked_sub(1)?)? > r.last {
            return None;
        }
        Some(r.target.advanced(addr - r.start))
    }
}
