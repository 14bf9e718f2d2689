//! The whole machine: harts, RAM, ROMs, devices and the memory-region tree, and the run loop.

use crate::device::Device;
use crate::memory::{DeviceId, FlatView, MemoryRegion, Ram, RomId};

/// Virtual time: timer ticks per second (the `timebase-frequency` boards advertise).
pub const TIMEBASE_HZ: u64 = 10_000_000;

/// Assembles a machine from regions and devices; boards use it, the engine never sees the board.
pub struct MachineBuilder {
    harts: usize,
    root: MemoryRegion,
    ram: Ram,
    roms: Vec<Vec<u8>>,
    devices: Vec<(String, Box<dyn Device>)>,
    reset_pc: u64,
}

impl MachineBuilder {
    /// A machine with `harts` harts and `ram_size` bytes of RAM at `ram_base` (named `ram_name` in the tree).
    pub fn new(harts: usize, ram_name: &str, ram_base: u64, ram_size: u64) -> MachineBuilder {
        let mut root = MemoryRegion::container("system", u64::MAX);
        root.add_subregion(ram_base, MemoryRegion::ram(ram_name, ram_size), 0);
        MachineBuilder {
            harts: harts.max(1),
            root,
            ram: Ram::new(ram_base, ram_size),
            roms: Vec::new(),
            devices: Vec::new(),
            reset_pc: ram_base,
        }
    }

    /// Maps a ROM holding `data` (zero-padded to `size`) at `base`.
    pub fn add_rom(&mut self, name: &str, base: u64, size: u64, mut data: Vec<u8>) -> RomId {
        data.resize(size as usize, 0);
        let id = self.roms.len();
        self.roms.push(data);
        self.root.add_subregion(base, MemoryRegion::rom(name, size, id), 0);
        id
    }

    /// Maps `device`'s registers at `[base, base+size)`.
    pub fn add_device(&mut self, name: &str, base: u64, size: u64, device: Box<dyn Device>) -> DeviceId {
        let id = self.devices.len();
        self.devices.push((name.to_string(), device));
        self.root.add_subregion(base, MemoryRegion::io(name, size, id), 0);
        id
    }

    /// The root container, for boards that need aliases or priorities.
    pub fn root_mut(&mut self) -> &mut MemoryRegion {
        &mut self.root
    }

    /// RAM, for loaders.
    pub fn ram_mut(&mut self) -> &mut Ram {
        &mut self.ram
    }

    /// Where every hart starts after reset.
    pub fn set_reset_pc(&mut self, pc: u64) {
        self.reset_pc = pc;
    }

    pub fn build(self) -> Machine {
        let flat = self.root.flatten();
        Machine {
            harts: self.harts,
            root: self.root,
            flat,
            ram: self.ram,
            roms: self.roms,
            devices: self.devices,
            reset_pc: self.reset_pc,
        }
    }
}

pub struct Machine {
    harts: usize,
    root: MemoryRegion,
    flat: FlatView,
    ram: Ram,
    roms: Vec<Vec<u8>>,
    devices: Vec<(String, Box<dyn Device>)>,
    reset_pc: u64,
}

impl Machine {
    pub fn hart_count(&self) -> usize {
        self.harts
    }

    pub fn memory_tree(&self) -> &MemoryRegion {
        &self.root
    }

    pub fn flat_view(&self) -> &FlatView {
        &self.flat
    }

    pub fn ram(&self) -> &Ram {
        &self.ram
    }

    pub fn reset_pc(&self) -> u64 {
        self.reset_pc
    }

    pub fn rom(&self, id: RomId) -> Option<&[u8]> {
        self.roms.get(id).map(|r| r.as_slice())
    }

    /// `(name, kind, state)` of every device, for `info devices`.
    pub fn inspect_devices(&self) -> Vec<(String, &'static str, Vec<(String, String)>)> {
        self.devices.iter().map(|(name, d)| (name.clone(), d.kind(), d.inspect())).collect()
    }
}
