//! QEMU 7.2's Intel-style CFI parallel flash (`pflash_cfi01`) as the `virt` board has it: two banks of 32 MiB
//! at 0x20000000 and 0x22000000, each two x16 devices side by side on a 32-bit bus, in 256 KiB sectors.
//!
//! The command set is QEMU's, step for step: read array, read status, read identifier, CFI query, program,
//! block erase (done at once, before the confirm), write-to-buffer, lock commands accepted and ignored. Every
//! operation completes within the access, so a flash has no notion of time. Without a `-drive if=pflash` a bank
//! reads as zeros, as QEMU's does.
//!
//! Storage is the image the bank started with plus the sectors the guest changed since, kept whole: a snapshot
//! of an unwritten bank is a few bytes, and one the guest wrote holds what it wrote.

use crate::fdt::{FdtDevice, FdtNode, FdtWiring};
use rewind::device::{decode_state, encode_state, Device, DeviceBus, RestoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A bank's size on `virt`.
pub const BANK_SIZE: u64 = 32 << 20;
/// Its erase unit.
pub const SECTOR_SIZE: u64 = 256 << 10;
/// The data bus width: two x16 devices.
pub const BANK_WIDTH: u32 = 4;
const DEVICE_WIDTH: u64 = 2;

/// The manufacturer and device codes QEMU's `virt` gives its flash (Intel, 0x18).
const ID0: u32 = 0x89;
const ID1: u32 = 0x18;

/// Status register bits.
const STATUS_READY: u8 = 0x80;
const STATUS_ERASE_ERROR: u8 = 0x20;
const STATUS_PROGRAM_ERROR: u8 = 0x10;

/// Commands.
const READ_ARRAY: u8 = 0x00;
const READ_ID: u8 = 0x90;
const CFI_QUERY: u8 = 0x98;
const WRITE_TO_BUFFER: u8 = 0xe8;

/// The CFI query table of one x16 device of 16 MiB in 128 sectors of 128 KiB (QEMU's `cfi_table` for `virt`'s
/// flash), from offset 0; entries past it read as 0.
const CFI_TABLE: [u8; 0x52] = {
    let mut t = [0u8; 0x52];
    let rows: &[(usize, u8)] = &[
        (0x10, b'Q'),
        (0x11, b'R'),
        (0x12, b'Y'),
        (0x13, 0x01), // Intel command set
        (0x15, 0x31), // primary extended table at 0x31
        (0x1b, 0x45), // Vcc 4.5 V to 5.5 V
        (0x1c, 0x55),
        (0x1f, 0x07), // typical word program 2^7 us
        (0x20, 0x07), // buffer program 2^7 us
        (0x21, 0x0a), // block erase 2^10 ms
        (0x23, 0x04),
        (0x24, 0x04),
        (0x25, 0x04),
        (0x27, 0x18), // 2^24 bytes
        (0x28, 0x02), // x16 interface
        (0x2a, 0x0b), // 2^11-byte write buffer
        (0x2c, 0x01), // one erase-block region
        (0x2d, 0x7f), // of 128 blocks
        (0x30, 0x02), // of 0x20000 bytes, in units of 256 (0x2f, the low byte, truncates to 0 as in QEMU)
        (0x31, b'P'),
        (0x32, b'R'),
        (0x33, b'I'),
        (0x34, b'1'),
        (0x35, b'0'),
        (0x3f, 0x01),
    ];
    let mut i = 0;
    while i < rows.len() {
        t[rows[i].0] = rows[i].1;
        i += 1;
    }
    t
};

/// What a bank holds at power-on.
#[derive(Clone)]
pub struct FlashImage {
    /// [`BANK_SIZE`] bytes, or `None` for a bank without a drive (zeros).
    pub data: Option<Arc<Vec<u8>>>,
    /// `readonly=on`: programs and erases fail with the status error bits.
    pub read_only: bool,
}

/// The command state machine and the sectors the guest changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FlashState {
    cmd: u8,
    /// Which cycle of a multi-cycle command the next write is.
    wcycle: u8,
    status: u8,
    /// Write-to-buffer: data writes left, less one (wraps as QEMU's does).
    counter: u64,
    /// Every sector the guest changed, whole, by sector number.
    sectors: BTreeMap<u32, Vec<u8>>,
}

pub struct Pflash {
    image: FlashImage,
    /// The bank's region name, which a change to its contents re-places to drop code decoded from it.
    region: &'static str,
    base: u64,
    s: FlashState,
}

impl Pflash {
    /// A bank mapped as `region` at `base`, starting from `image`.
    pub fn new(image: FlashImage, region: &'static str, base: u64) -> Pflash {
        Pflash { image, region, base, s: FlashState { status: STATUS_READY, ..FlashState::default() } }
    }

    fn byte(&self, offset: u64) -> u8 {
        let sector = (offset / SECTOR_SIZE) as u32;
        if let Some(data) = self.s.sectors.get(&sector) {
            return data.get((offset % SECTOR_SIZE) as usize).copied().unwrap_or(0);
        }
        self.image.data.as_ref().and_then(|d| d.get(offset as usize)).copied().unwrap_or(0)
    }

    /// The sector holding `offset`, copied out of the image the first time the guest changes it.
    fn sector_mut(&mut self, offset: u64) -> Option<&mut Vec<u8>> {
        if offset >= BANK_SIZE {
            return None;
        }
        let sector = (offset / SECTOR_SIZE) as u32;
        if !self.s.sectors.contains_key(&sector) {
            let start = u64::from(sector) * SECTOR_SIZE;
            let data = (start..start + SECTOR_SIZE).map(|o| self.byte(o)).collect();
            self.s.sectors.insert(sector, data);
        }
        self.s.sectors.get_mut(&sector)
    }

    fn read_array(&self, offset: u64, size: u8) -> u64 {
        (0..u64::from(size)).fold(0, |v, i| v | u64::from(self.byte(offset + i)) << (8 * i))
    }

    /// Stores `size` bytes of `value` at `offset` (a program overwrites, as QEMU's does); the decoded code of
    /// the bank is dropped.
    fn program(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        for (i, byte) in value.to_le_bytes().into_iter().enumerate().take(usize::from(size)) {
            let at = offset + i as u64;
            if let Some(sector) = self.sector_mut(at) {
                sector[(at % SECTOR_SIZE) as usize] = byte;
            }
        }
        self.contents_changed(bus);
    }

    /// The bank's contents changed: code decoded from it is stale. Placing the region where it is makes the
    /// machine remap it, which drops every decoded block and translation.
    fn contents_changed(&self, bus: &mut DeviceBus) {
        bus.place_region(self.region, Some(self.base));
    }

    fn read_array_mode(&mut self) {
        self.s.cmd = READ_ARRAY;
        self.s.wcycle = 0;
    }

    /// A 32-bit-or-narrower read in the current mode (QEMU's `pflash_read`).
    fn read32(&mut self, offset: u64, size: u8) -> u64 {
        let mask = u64::MAX >> (64 - 8 * u32::from(size));
        let replicate = |v: u32| u64::from(v | v << 16) & mask;
        match self.s.cmd {
            READ_ARRAY => self.read_array(offset, size),
            0x10 | 0x20 | 0x28 | 0x40 | 0x50 | 0x60 | 0x70 | WRITE_TO_BUFFER => {
                let status = u32::from(self.s.status);
                if u64::from(size) > DEVICE_WIDTH {
                    replicate(status)
                } else {
                    u64::from(status)
                }
            }
            READ_ID => match (offset >> 2) & 0xff {
                0 => replicate(ID0),
                1 => replicate(ID1),
                _ => 0,
            },
            CFI_QUERY => CFI_TABLE.get((offset >> 2) as usize).map_or(0, |&t| replicate(u32::from(t))),
            _ => {
                self.read_array_mode();
                self.read_array(offset, size)
            }
        }
    }

    /// A 32-bit-or-narrower write: a command or data (QEMU's `pflash_write`).
    fn write32(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        let cmd = value as u8;
        let read_only = self.image.read_only;
        match (self.s.wcycle, self.s.cmd) {
            (0, _) => match cmd {
                0x00 | 0xf0 | 0xff => self.read_array_mode(),
                0x10 | 0x40 | 0x60 | CFI_QUERY => {
                    self.s.wcycle = 1;
                    self.s.cmd = cmd;
                }
                0x20 => {
                    // The block is erased at once, before the confirm, as in QEMU.
                    let start = offset & !(SECTOR_SIZE - 1);
                    if read_only {
                        self.s.status |= STATUS_ERASE_ERROR;
                    } else if let Some(sector) = self.sector_mut(start) {
                        sector.fill(0xff);
                        self.contents_changed(bus);
                    }
                    self.s.status |= STATUS_READY;
                    self.s.wcycle = 1;
                    self.s.cmd = cmd;
                }
                0x50 => {
                    self.s.status = 0;
                    self.read_array_mode();
                }
                0x70 | READ_ID => self.s.cmd = cmd,
                WRITE_TO_BUFFER => {
                    self.s.status |= STATUS_READY;
                    self.s.wcycle = 1;
                    self.s.cmd = cmd;
                }
                _ => self.read_array_mode(),
            },
            (1, 0x10 | 0x40) => {
                if read_only {
                    self.s.status |= STATUS_PROGRAM_ERROR;
                } else {
                    self.program(offset, size, value, bus);
                }
                self.s.status |= STATUS_READY;
                self.s.wcycle = 0;
            }
            (1, 0x20 | 0x28) => match cmd {
                0xd0 => {
                    self.s.wcycle = 0;
                    self.s.status |= STATUS_READY;
                }
                _ => self.read_array_mode(),
            },
            (1, WRITE_TO_BUFFER) => {
                self.s.counter = value & 0xffff;
                self.s.wcycle = 2;
            }
            (1, 0x60) => match cmd {
                0xd0 | 0x01 => {
                    self.s.wcycle = 0;
                    self.s.status |= STATUS_READY;
                }
                _ => self.read_array_mode(),
            },
            (1, CFI_QUERY) => {
                if cmd == 0xff {
                    self.read_array_mode();
                }
            }
            (2, WRITE_TO_BUFFER) => {
                if read_only {
                    self.s.status |= STATUS_PROGRAM_ERROR;
                } else {
                    self.program(offset, size, value, bus);
                }
                self.s.status |= STATUS_READY;
                if self.s.counter == 0 {
                    self.s.wcycle = 3;
                }
                self.s.counter = self.s.counter.wrapping_sub(1);
            }
            (3, WRITE_TO_BUFFER) if cmd == 0xd0 => {
                self.s.wcycle = 0;
                self.s.status |= STATUS_READY;
            }
            _ => self.read_array_mode(),
        }
    }
}

impl Device for Pflash {
    fn kind(&self) -> &'static str {
        "cfi.pflash01"
    }

    /// A system reset leaves the contents and ends any command, as QEMU's does.
    fn reset(&mut self) {
        self.s.cmd = READ_ARRAY;
        self.s.wcycle = 0;
        self.s.status = STATUS_READY;
    }

    /// Accesses wider than the bus are two, low half first, as QEMU's memory core splits them.
    fn read(&mut self, offset: u64, size: u8, _bus: &mut DeviceBus) -> u64 {
        if size == 8 {
            return self.read32(offset, 4) | self.read32(offset + 4, 4) << 32;
        }
        self.read32(offset, size.clamp(1, 4))
    }

    fn write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        if size == 8 {
            self.write32(offset, 4, value & 0xffff_ffff, bus);
            self.write32(offset + 4, 4, value >> 32, bus);
            return;
        }
        let size = size.clamp(1, 4);
        self.write32(offset, size, value & (u64::MAX >> (64 - 8 * u32::from(size))), bus);
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&self.s)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        let state: FlashState = decode_state(self.kind(), state, |s: &FlashState| {
            match s
                .sectors
                .iter()
                .find(|(n, d)| u64::from(**n) >= BANK_SIZE / SECTOR_SIZE || d.len() != SECTOR_SIZE as usize)
            {
                Some((n, _)) => Err(format!("sector {n} is not a sector of the bank")),
                None => Ok(()),
            }
        })?;
        self.s = state;
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let contents = match &self.image.data {
            Some(_) if self.image.read_only => "image (read-only)",
            Some(_) => "image",
            None => "zeros (no drive)",
        };
        vec![
            ("contents".into(), contents.into()),
            ("mode".into(), format!("command {:#04x}, cycle {}", self.s.cmd, self.s.wcycle)),
            ("status".into(), format!("{:#04x}", self.s.status)),
            ("changed_sectors".into(), self.s.sectors.len().to_string()),
        ]
    }
}

impl FdtDevice for Pflash {
    fn fdt_node(&self) -> Option<FdtNode> {
        Some(FdtNode {
            name: "flash",
            compatible: &["cfi-flash"],
            wiring: FdtWiring::Flash { bank_width: BANK_WIDTH },
            cells: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbus::TestBus;

    fn bank(read_only: bool) -> Pflash {
        let mut data = vec![0u8; BANK_SIZE as usize];
        data[..8].copy_from_slice(b"firmware");
        Pflash::new(FlashImage { data: Some(Arc::new(data)), read_only }, "virt.flash0", 0x2000_0000)
    }

    #[test]
    fn identifier_and_cfi_query_read_as_qemus_on_the_32_bit_bus() {
        let mut t = TestBus::new(1);
        let mut f = bank(false);
        assert_eq!(f.read(0, 4, &mut t.bus()), u64::from_le_bytes(*b"firm\0\0\0\0"));
        f.write(0, 4, 0x90, &mut t.bus());
        assert_eq!(f.read(0, 4, &mut t.bus()), 0x0089_0089);
        assert_eq!(f.read(4, 4, &mut t.bus()), 0x0018_0018);
        assert_eq!(f.read(8, 4, &mut t.bus()), 0, "lock status: never locked");
        f.write(0, 4, 0x98, &mut t.bus());
        let query: Vec<u8> = (0x10..0x13).map(|i| f.read(i * 4, 4, &mut t.bus()) as u8).collect();
        assert_eq!(query, b"QRY");
        assert_eq!(f.read(0x27 * 4, 4, &mut t.bus()), 0x0018_0018, "16 MiB a device");
        assert_eq!(f.read(0x40, 8, &mut t.bus()), 0x0052_0052_0051_0051, "an 8-byte read is two");
        assert_eq!(f.read(0x41, 1, &mut t.bus()), 0x51, "no byte lanes: the entry of offset >> 2");
        f.write(0, 4, 0x12, &mut t.bus());
        assert_eq!(f.read(0x40, 4, &mut t.bus()), 0x0051_0051, "query mode ignores writes but 0xff");
        f.write(0, 4, 0xff, &mut t.bus());
        assert_eq!(f.read(0, 1, &mut t.bus()), u64::from(b'f'));
    }

    #[test]
    fn erase_program_and_buffer_writes_change_the_array_and_the_status() {
        let mut t = TestBus::new(1);
        let mut f = bank(false);
        f.write(SECTOR_SIZE + 8, 4, 0x20, &mut t.bus());
        assert_eq!(f.read(0, 4, &mut t.bus()), 0x0080_0080, "status, on both devices");
        assert_eq!(f.read(0, 2, &mut t.bus()), 0x80);
        f.write(SECTOR_SIZE, 4, 0xd0, &mut t.bus());
        f.write(0, 4, 0xff, &mut t.bus());
        assert_eq!(f.read(SECTOR_SIZE + 100, 4, &mut t.bus()), 0xffff_ffff, "the sector is erased");
        assert_eq!(f.read(0, 4, &mut t.bus()), u64::from_le_bytes(*b"firm\0\0\0\0"), "the one before is not");
        f.write(SECTOR_SIZE, 4, 0x40, &mut t.bus());
        f.write(SECTOR_SIZE, 4, 0x1234_5678, &mut t.bus());
        f.write(0, 4, 0xff, &mut t.bus());
        assert_eq!(f.read(SECTOR_SIZE, 4, &mut t.bus()), 0x1234_5678);
        // Write to buffer: the count is one less than the writes that follow.
        f.write(0x100, 4, 0xe8, &mut t.bus());
        f.write(0x100, 4, 1, &mut t.bus());
        f.write(0x100, 4, 0xaaaa_aaaa, &mut t.bus());
        f.write(0x104, 4, 0xbbbb_bbbb, &mut t.bus());
        f.write(0x100, 4, 0xd0, &mut t.bus());
        assert_eq!(f.read(0x100, 4, &mut t.bus()), 0x0080_0080, "status after the confirm");
        f.write(0, 4, 0xff, &mut t.bus());
        assert_eq!(f.read(0x100, 8, &mut t.bus()), 0xbbbb_bbbb_aaaa_aaaa);
        assert!(!t.signals.take_placements().is_empty(), "changes drop decoded code");
        // A snapshot holds the changed sectors; a restore brings them back.
        let saved = f.save();
        let mut g = bank(false);
        g.restore(&saved).unwrap();
        assert_eq!(g.read(0x100, 8, &mut t.bus()), 0xbbbb_bbbb_aaaa_aaaa);
        assert!(g.restore(&saved[..saved.len() - 1]).is_err());
        // Clear status, then a reset keeps the contents.
        f.write(0, 4, 0x50, &mut t.bus());
        f.write(0, 4, 0x70, &mut t.bus());
        assert_eq!(f.read(0, 4, &mut t.bus()), 0);
        f.reset();
        assert_eq!(f.read(SECTOR_SIZE, 4, &mut t.bus()), 0x1234_5678);
    }

    #[test]
    fn a_read_only_bank_reports_errors_and_keeps_its_contents() {
        let mut t = TestBus::new(1);
        let mut f = bank(true);
        f.write(0, 4, 0x20, &mut t.bus());
        f.write(0, 4, 0xd0, &mut t.bus());
        assert_eq!(f.read(0, 1, &mut t.bus()), 0xa0, "ready, erase error");
        f.write(0, 4, 0x40, &mut t.bus());
        f.write(0, 4, 0, &mut t.bus());
        assert_eq!(f.read(0, 1, &mut t.bus()), 0xb0, "and program error");
        f.write(0, 4, 0xff, &mut t.bus());
        assert_eq!(f.read(0, 4, &mut t.bus()), u64::from_le_bytes(*b"firm\0\0\0\0"));
        let empty = Pflash::new(FlashImage { data: None, read_only: false }, "virt.flash1", 0x2200_0000);
        assert_eq!(empty.read_array(0, 8), 0, "no drive: zeros, as QEMU's");
    }
}
