//! A minimal virtio driver for the unit tests: sets up queue 0 in RAM and submits descriptor chains.

use super::*;

pub const BASE: u64 = 0x8000_0000;
pub const DESC: u64 = BASE + 0x1000;
pub const AVAIL: u64 = BASE + 0x2000;
pub const USED: u64 = BASE + 0x3000;
pub const DATA: u64 = BASE + 0x10000;
pub const IRQ: u32 = 3;

pub struct Driver {
    pub ram: Ram,
    pub lines: u64,
    pub harts: Vec<u64>,
    pub power: Option<rewind::PowerRequest>,
    pub dev: VirtioMmio,
    pub avail_idx: u16,
}

impl Driver {
    pub fn new(backend: Box<dyn VirtioBackend>) -> Driver {
        Driver {
            ram: Ram::new(BASE, 1 << 20),
            lines: 0,
            harts: vec![0],
            power: None,
            dev: VirtioMmio::new(IRQ, backend),
            avail_idx: 0,
        }
    }

    pub fn read(&mut self, offset: u64) -> u64 {
        let mut bus = DeviceBus {
            now: 0,
            ram: &mut self.ram,
            irq_lines: &mut self.lines,
            hart_irqs: &mut self.harts,
            power: &mut self.power,
        };
        self.dev.read(offset, 4, &mut bus)
    }

    pub fn write(&mut self, offset: u64, value: u64) {
        let mut bus = DeviceBus {
            now: 0,
            ram: &mut self.ram,
            irq_lines: &mut self.lines,
            hart_irqs: &mut self.harts,
            power: &mut self.power,
        };
        self.dev.write(offset, 4, value, &mut bus);
    }

    /// The driver initialisation sequence of VIRTIO 1.1 section 3.1.1, with queue 0 of `size` entries.
    pub fn init(&mut self, size: u64) {
        self.write(0x070, 0);
        self.write(0x070, 1); // ACKNOWLEDGE
        self.write(0x070, 3); // DRIVER
        self.write(0x024, 1);
        self.write(0x020, 1); // VIRTIO_F_VERSION_1 (bit 32)
        self.write(0x070, 0xb); // FEATURES_OK
        self.write(0x030, 0);
        self.write(0x038, size);
        self.write(0x080, DESC);
        self.write(0x084, 0);
        self.write(0x090, AVAIL);
        self.write(0x094, 0);
        self.write(0x0a0, USED);
        self.write(0x0a4, 0);
        self.write(0x044, 1);
        self.write(0x070, 0xf); // DRIVER_OK
    }

    /// Writes a chain (addr, len, device-writable) starting at descriptor 0, makes it available and notifies.
    /// Returns the used element (id, len) if the device posted one.
    pub fn submit(&mut self, chain: &[(u64, u32, bool)]) -> Option<(u32, u32)> {
        for (i, (addr, len, write)) in chain.iter().enumerate() {
            let d = DESC + 16 * i as u64;
            let next = i + 1 < chain.len();
            self.ram.write_u64(d, *addr).unwrap();
            self.ram.write_u32(d + 8, *len).unwrap();
            self.ram.write_u16(d + 12, u16::from(next) | if *write { 2 } else { 0 }).unwrap();
            self.ram.write_u16(d + 14, (i + 1) as u16).unwrap();
        }
        let size = 8;
        self.ram.write_u16(AVAIL + 4 + 2 * (self.avail_idx % size) as u64, 0).unwrap();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.ram.write_u16(AVAIL + 2, self.avail_idx).unwrap();
        let before = self.ram.read_u16(USED + 2).unwrap();
        self.write(0x050, 0);
        let after = self.ram.read_u16(USED + 2).unwrap();
        if after == before {
            return None;
        }
        let slot = (before % size) as u64;
        Some((self.ram.read_u32(USED + 4 + 8 * slot).unwrap(), self.ram.read_u32(USED + 8 + 8 * slot).unwrap()))
    }
}
