//! Guest physical memory: the region tree (the one truth about the address map), the flat view that dispatch
//! uses, and RAM.

mod flat;
mod ram;
mod tree;

pub use flat::{FlatRange, FlatTarget, FlatView};
pub use ram::{human_size, DirtyFor, Ram, RamError, RamImage, PAGE_SIZE};
pub use tree::{MemoryRegion, MtreeRow, RegionKind, Subregion};

/// Index of a device in the machine's device table.
pub type DeviceId = usize;

/// Index of a ROM image in the machine's ROM table.
pub type RomId = usize;
