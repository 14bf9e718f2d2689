//! The memory-region tree, after QEMU's memory API (docs/devel/memory.rst): containers hold subregions at an
//! offset with a priority; where siblings overlap the higher priority wins (the later-added one on a tie); an
//! alias shows a window of another region. Dispatch never walks the tree: it uses the [`FlatView`] computed from it.

use super::flat::{FlatTarget, FlatView};
use super::{DeviceId, RomId};
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Holds subregions; addresses not covered by any child are unassigned.
    Container(Vec<Subregion>),
    /// The machine's main RAM (offset 0 of the region is offset `ram_offset` of RAM).
    Ram { ram_offset: u64 },
    /// Read-only memory backed by ROM image `RomId`.
    Rom(RomId),
    /// A device's registers.
    Io(DeviceId),
    /// A window onto `target`, starting at `offset` inside it.
    Alias { target: Box<MemoryRegion>, offset: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    pub name: String,
    pub size: u64,
    pub kind: RegionKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subregion {
    pub addr: u64,
    pub priority: i32,
    /// A disabled subregion keeps its place in the tree but maps nothing (QEMU's `memory_region_set_enabled`).
    pub enabled: bool,
    pub region: MemoryRegion,
}

impl MemoryRegion {
    pub fn container(name: &str, size: u64) -> MemoryRegion {
        MemoryRegion { name: name.into(), size, kind: RegionKind::Container(Vec::new()) }
    }

    pub fn ram(name: &str, size: u64) -> MemoryRegion {
        MemoryRegion { name: name.into(), size, kind: RegionKind::Ram { ram_offset: 0 } }
    }

    pub fn rom(name: &str, size: u64, rom: RomId) -> MemoryRegion {
        MemoryRegion { name: name.into(), size, kind: RegionKind::Rom(rom) }
    }

    pub fn io(name: &str, size: u64, device: DeviceId) -> MemoryRegion {
        MemoryRegion { name: name.into(), size, kind: RegionKind::Io(device) }
    }

    pub fn alias(name: &str, target: &MemoryRegion, offset: u64, size: u64) -> MemoryRegion {
        MemoryRegion { name: name.into(), size, kind: RegionKind::Alias { target: Box::new(target.clone()), offset } }
    }

    /// Adds `region` at `addr` inside this container (no-op on a leaf).
    pub fn add_subregion(&mut self, addr: u64, region: MemoryRegion, priority: i32) {
        if let RegionKind::Container(children) = &mut self.kind {
            children.push(Subregion { addr, priority, enabled: true, region });
        }
    }

    /// Finds a region by name anywhere in the tree.
    pub fn find(&self, name: &str) -> Option<&MemoryRegion> {
        if self.name == name {
            return Some(self);
        }
        match &self.kind {
            RegionKind::Container(children) => children.iter().find_map(|c| c.region.find(name)),
            _ => None,
        }
    }

    /// Moves the subregion named `name` (anywhere in the tree) to `addr` inside its container and enables it, or
    /// disables it (`None`). Returns false if there is no such subregion, or it is RAM: main RAM never moves, its
    /// fast path does not consult the map. The caller re-flattens (see `Machine::update_topology`).
    pub fn place_subregion(&mut self, name: &str, addr: Option<u64>) -> bool {
        let RegionKind::Container(children) = &mut self.kind else { return false };
        for child in children.iter_mut() {
            if child.region.name == name {
                if matches!(child.region.kind, RegionKind::Ram { .. }) {
                    return false;
                }
                child.enabled = addr.is_some();
                child.addr = addr.unwrap_or(child.addr);
                return true;
            }
            if child.region.place_subregion(name, addr) {
                return true;
            }
        }
        false
    }

    /// Every enabled subregion in the tree with its absolute address, depth-first (used by the FDT generator and
    /// tests).
    pub fn walk(&self, base: u64, visit: &mut dyn FnMut(u64, &MemoryRegion)) {
        visit(base, self);
        if let RegionKind::Container(children) = &self.kind {
            for child in children.iter().filter(|c| c.enabled) {
                child.region.walk(base.wrapping_add(child.addr), visit);
            }
        }
    }

    /// Last address covered when placed at `base`; a size of `u64::MAX` stands for the whole 2^64 space.
    fn last_address(&self, base: u64) -> u64 {
        if self.size == u64::MAX {
            u64::MAX
        } else {
            base.saturating_add(self.size.saturating_sub(1))
        }
    }

    /// Computes the flattened view dispatch uses.
    pub fn flatten(&self) -> FlatView {
        let mut view = FlatView::default();
        self.paint(0, 0, 0, u64::MAX, &mut view);
        view
    }

    /// Paints this region at `base`, clipped to `[lo, hi]` (inclusive, so the top of the address space fits), over
    /// whatever lower-priority regions painted before.
    fn paint(&self, base: u64, priority: i32, lo: u64, hi: u64, view: &mut FlatView) {
        if self.size == 0 {
            return;
        }
        let end = self.last_address(base);
        let (lo, hi) = (lo.max(base), hi.min(end));
        if lo > hi {
            return;
        }
        match &self.kind {
            RegionKind::Container(children) => {
                // Ascending priority, stable: later equal-priority children paint over earlier ones.
                let mut order: Vec<&Subregion> = children.iter().filter(|c| c.enabled).collect();
                order.sort_by_key(|c| c.priority);
                for child in order {
                    child.region.paint(base.wrapping_add(child.addr), child.priority, lo, hi, view);
                }
            }
            RegionKind::Ram { ram_offset } => {
                view.paint(lo, hi, FlatTarget::Ram { offset: ram_offset + (lo - base) }, &self.name, priority)
            }
            RegionKind::Rom(rom) => {
                view.paint(lo, hi, FlatTarget::Rom { rom: *rom, offset: lo - base }, &self.name, priority)
            }
            RegionKind::Io(dev) => {
                view.paint(lo, hi, FlatTarget::Io { device: *dev, offset: lo - base }, &self.name, priority)
            }
            RegionKind::Alias { target, offset } => {
                // Paint the window of the target in the target's own addresses, then move it to the alias's:
                // painting the target at `base - offset` would wrap around for a window far into it.
                let mut window = FlatView::default();
                let (t_lo, t_hi) = (offset.saturating_add(lo - base), offset.saturating_add(hi - base));
                target.paint(0, priority, t_lo, t_hi, &mut window);
                for r in window.ranges() {
                    let at = |a: u64| a - offset + base;
                    view.paint(at(r.start), at(r.last), r.target, &r.name, priority);
                }
            }
        }
    }

    /// Renders the tree the way QEMU's `info mtree` does.
    pub fn render_mtree(&self) -> String {
        let mut out = String::new();
        for row in self.mtree_rows() {
            out.push_str(&row.text);
            out.push('\n');
        }
        out
    }

    /// The lines of `info mtree`, each with the device whose registers it maps (for a view that annotates them).
    pub fn mtree_rows(&self) -> Vec<MtreeRow> {
        let mut rows = vec![MtreeRow { text: "address-space: memory".into(), device: None }];
        self.render(0, 0, true, 1, &mut rows);
        rows
    }

    fn render(&self, base: u64, priority: i32, enabled: bool, depth: usize, rows: &mut Vec<MtreeRow>) {
        let end = self.last_address(base);
        let kind = match &self.kind {
            RegionKind::Container(_) | RegionKind::Io(_) => "i/o",
            RegionKind::Ram { .. } => "ram",
            RegionKind::Rom(_) => "rom",
            RegionKind::Alias { target, .. } => match target.kind {
                RegionKind::Ram { .. } => "ram",
                RegionKind::Rom(_) => "rom",
                _ => "i/o",
            },
        };
        let mut text = format!("{:indent$}{base:016x}-{end:016x} (prio {priority}, {kind}): ", "", indent = depth * 2);
        // QEMU marks a disabled region and still lists it.
        let disabled = if enabled { "" } else { " [disabled]" };
        let _ = match &self.kind {
            RegionKind::Alias { target, offset } => {
                let t_end = offset.wrapping_add(self.size.saturating_sub(1));
                write!(text, "alias {} @{} {offset:016x}-{t_end:016x}{disabled}", self.name, target.name)
            }
            _ => write!(text, "{}{disabled}", self.name),
        };
        let device = match self.kind {
            RegionKind::Io(device) => Some(device),
            _ => None,
        };
        rows.push(MtreeRow { text, device });
        if let RegionKind::Container(children) = &self.kind {
            let mut order: Vec<&Subregion> = children.iter().collect();
            // QEMU lists higher priority first, then by address.
            order.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.addr.cmp(&b.addr)));
            for child in order {
                child.region.render(base.wrapping_add(child.addr), child.priority, child.enabled, depth + 1, rows);
            }
        }
    }
}

/// One line of `info mtree`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtreeRow {
    pub text: String,
    /// The device whose registers the line's region maps.
    pub device: Option<DeviceId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> MemoryRegion {
        let mut sys = MemoryRegion::container("system", u64::MAX);
        sys.add_subregion(0x1000, MemoryRegion::rom("mrom", 0x1000, 0), 0);
        sys.add_subregion(0x8000_0000, MemoryRegion::ram("ram", 0x10_0000), 0);
        sys
    }

    #[test]
    fn flat_view_resolves_leaves_to_offsets() {
        let view = board().flatten();
        assert_eq!(view.lookup(0x1010).map(|r| r.target), Some(FlatTarget::Rom { rom: 0, offset: 0 }));
        assert_eq!(view.resolve(0x8000_0100), Some(FlatTarget::Ram { offset: 0x100 }));
        assert_eq!(view.resolve(0x2000), None);
        assert_eq!(view.resolve(0x8010_0000), None);
    }

    #[test]
    fn higher_priority_overlap_wins_and_lower_shows_around_it() {
        let mut sys = board();
        sys.add_subregion(0x8000_1000, MemoryRegion::io("dev", 0x1000, 7), 1);
        let view = sys.flatten();
        assert_eq!(view.resolve(0x8000_0fff), Some(FlatTarget::Ram { offset: 0xfff }));
        assert_eq!(view.resolve(0x8000_1004), Some(FlatTarget::Io { device: 7, offset: 4 }));
        assert_eq!(view.resolve(0x8000_2000), Some(FlatTarget::Ram { offset: 0x2000 }));
    }

    #[test]
    fn alias_shows_a_window_of_its_target() {
        let mut sys = board();
        let ram = sys.find("ram").cloned().unwrap();
        sys.add_subregion(0x4000_0000, MemoryRegion::alias("ram-alias", &ram, 0x800, 0x100), 0);
        let view = sys.flatten();
        assert_eq!(view.resolve(0x4000_0010), Some(FlatTarget::Ram { offset: 0x810 }));
        assert_eq!(view.resolve(0x4000_0100), None);
    }

    /// A PCI function's BAR is a window deep into its device's offset space, at an address below the offset.
    #[test]
    fn an_alias_far_into_its_target_does_not_wrap() {
        let mut sys = board();
        let device = MemoryRegion::io("function", 7 << 40, 5);
        sys.add_subregion(0x4000_0000, MemoryRegion::alias("bar4", &device, 5 << 40, 0x4000), 1);
        let view = sys.flatten();
        assert_eq!(view.resolve(0x4000_0014), Some(FlatTarget::Io { device: 5, offset: (5 << 40) + 0x14 }));
        assert_eq!(view.resolve(0x4000_4000), None);
        assert_eq!(view.resolve(0x3fff_fffc), None);
    }

    #[test]
    fn a_placed_subregion_moves_and_a_disabled_one_maps_nothing() {
        let mut sys = board();
        let mut bridge = MemoryRegion::container("pci-window", 0x1000_0000);
        bridge.add_subregion(0, MemoryRegion::io("bar0", 0x1000, 3), 0);
        sys.add_subregion(0x4000_0000, bridge, 0);
        assert!(sys.place_subregion("bar0", Some(0x20_0000)), "found inside a nested container");
        let view = sys.flatten();
        assert_eq!(view.resolve(0x4000_0000), None);
        assert_eq!(view.resolve(0x4020_0008), Some(FlatTarget::Io { device: 3, offset: 8 }));
        assert!(sys.place_subregion("bar0", None));
        assert_eq!(sys.flatten().resolve(0x4020_0008), None);
        assert!(sys.render_mtree().contains("bar0 [disabled]\n"), "{}", sys.render_mtree());
        let mut visited = Vec::new();
        sys.walk(0, &mut |_, r| visited.push(r.name.clone()));
        assert!(!visited.contains(&"bar0".to_string()), "walk skips disabled regions: {visited:?}");
        assert!(!sys.place_subregion("ram", Some(0)), "main RAM never moves");
        assert!(!sys.place_subregion("nothing", Some(0)));
    }

    #[test]
    fn flat_view_renders_as_qemus_info_mtree_f() {
        let mut sys = board();
        sys.add_subregion(0x8000_1000, MemoryRegion::io("dev", 0x1000, 7), 1);
        let text = sys.flatten().render(2);
        let expected = "FlatView #0\n AS \"memory\", root: system\n AS \"cpu-memory-0\", root: system\n \
                        AS \"cpu-memory-1\", root: system\n Root memory region: system\n  \
                        0000000000001000-0000000000001fff (prio 0, rom): mrom\n  \
                        0000000080000000-0000000080000fff (prio 0, ram): ram\n  \
                        0000000080001000-0000000080001fff (prio 1, i/o): dev\n  \
                        0000000080002000-00000000800fffff (prio 0, ram): ram @0000000000002000\n\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn mtree_uses_qemu_layout() {
        let text = board().render_mtree();
        assert!(text.contains("  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n"), "{text}");
        assert!(text.contains("    0000000080000000-00000000800fffff (prio 0, ram): ram\n"), "{text}");
    }
}
