//! virtio-blk (VIRTIO 1.1 section 5.2) over a [`BlockBackend`]. The user's image is written only through a
//! [`FileDisk`] opened writable, which the user has to ask for; otherwise writes fail (read-only) or stay in an
//! in-memory overlay ([`OverlayDisk`], `snapshot=on`).

use super::queue::{read_all, writable_len, write_all, Segment};
use super::VirtioBackend;
use rewind::device::{decode_state, encode_state, RestoreError};
use rewind::Ram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

pub const SECTOR: u64 = 512;
const VIRTIO_BLK_F_SEG_MAX: u64 = 1 << 2;
const VIRTIO_BLK_F_RO: u64 = 1 << 5;
const VIRTIO_BLK_F_BLK_SIZE: u64 = 1 << 6;
const VIRTIO_BLK_F_FLUSH: u64 = 1 << 9;
const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;
const T_GET_ID: u32 = 8;
const S_OK: u8 = 0;
const S_IOERR: u8 = 1;
const S_UNSUPP: u8 = 2;
const SEG_MAX: u32 = 128;

/// Storage behind a virtio-blk device.
pub trait BlockBackend: Send {
    /// Size in bytes.
    fn size(&self) -> u64;
    fn read_only(&self) -> bool;
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
    fn write_at(&mut self, offset: u64, data: &[u8]) -> std::io::Result<()>;
    fn flush(&mut self) -> std::io::Result<()>;
    /// Guest-visible state that lives outside the image (the overlay's written sectors).
    fn save(&self) -> Vec<u8> {
        Vec::new()
    }
    fn restore(&mut self, _state: &[u8]) -> Result<(), String> {
        Ok(())
    }
    fn describe(&self) -> String;
}

/// A raw image file, read-only or writable.
pub struct FileDisk {
    file: File,
    len: u64,
    writable: bool,
    name: String,
}

impl FileDisk {
    pub fn open(path: &Path, writable: bool) -> std::io::Result<FileDisk> {
        let file = std::fs::OpenOptions::new().read(true).write(writable).open(path)?;
        let len = file.metadata()?.len();
        Ok(FileDisk { file, len, writable, name: path.display().to_string() })
    }
}

impl BlockBackend for FileDisk {
    fn size(&self) -> u64 {
        self.len
    }
    fn read_only(&self) -> bool {
        !self.writable
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        if !self.writable {
            return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only drive"));
        }
        self.file.write_all_at(data, offset)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.writable {
            self.file.sync_data()?;
        }
        Ok(())
    }
    fn describe(&self) -> String {
        format!("{} ({})", self.name, if self.writable { "writable" } else { "read-only" })
    }
}

/// Copy-on-write over a read-only image: writes are kept in memory, sector by sector.
pub struct OverlayDisk {
    base: FileDisk,
    written: BTreeMap<u64, Vec<u8>>,
}

impl OverlayDisk {
    pub fn open(path: &Path) -> std::io::Result<OverlayDisk> {
        Ok(OverlayDisk { base: FileDisk::open(path, false)?, written: BTreeMap::new() })
    }
}

impl BlockBackend for OverlayDisk {
    fn size(&self) -> u64 {
        self.base.len
    }
    fn read_only(&self) -> bool {
        false
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.base.read_at(offset, buf)?;
        for (i, chunk) in buf.chunks_mut(SECTOR as usize).enumerate() {
            if let Some(data) = self.written.get(&(offset / SECTOR + i as u64)) {
                chunk.copy_from_slice(&data[..chunk.len()]);
            }
        }
        Ok(())
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        for (i, chunk) in data.chunks(SECTOR as usize).enumerate() {
            let mut sector = vec![0u8; SECTOR as usize];
            sector[..chunk.len()].copy_from_slice(chunk);
            self.written.insert(offset / SECTOR + i as u64, sector);
        }
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn save(&self) -> Vec<u8> {
        encode_state(&self.written)
    }
    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        self.written = decode_state("overlay", state).map_err(|e| e.reason)?;
        Ok(())
    }
    fn describe(&self) -> String {
        format!("{} (snapshot: {} sectors written in memory)", self.base.name, self.written.len())
    }
}

pub struct VirtioBlk {
    disk: Box<dyn BlockBackend>,
    /// Reported by GET_ID (up to 20 bytes).
    serial: String,
}

#[derive(Serialize, Deserialize)]
struct BlkState {
    disk: Vec<u8>,
}

impl VirtioBlk {
    pub fn new(disk: Box<dyn BlockBackend>, serial: &str) -> VirtioBlk {
        VirtioBlk { disk, serial: serial.chars().take(20).collect() }
    }

    fn capacity(&self) -> u64 {
        self.disk.size() / SECTOR
    }

    /// Executes one request; returns the data to write back (data + status byte).
    fn request(&mut self, header: &[u8], out_data: &[u8], in_len: u64) -> Vec<u8> {
        let kind = u32::from_le_bytes(header[0..4].try_into().unwrap_or_default());
        let sector = u64::from_le_bytes(header[8..16].try_into().unwrap_or_default());
        let data_len = in_len.saturating_sub(1);
        let in_range = |len: u64| {
            sector.checked_mul(SECTOR).and_then(|o| o.checked_add(len)).is_some_and(|end| end <= self.disk.size())
        };
        match kind {
            T_IN => {
                let mut buf = vec![0u8; data_len as usize];
                let ok = in_range(data_len) && self.disk.read_at(sector * SECTOR, &mut buf).is_ok();
                buf.push(if ok { S_OK } else { S_IOERR });
                buf
            }
            T_OUT => {
                let ok = !self.disk.read_only()
                    && in_range(out_data.len() as u64)
                    && self.disk.write_at(sector * SECTOR, out_data).is_ok();
                vec![if ok { S_OK } else { S_IOERR }]
            }
            T_FLUSH => vec![if self.disk.flush().is_ok() { S_OK } else { S_IOERR }],
            T_GET_ID => {
                let mut id = self.serial.as_bytes().to_vec();
                id.resize(data_len.min(20) as usize, 0);
                id.resize(data_len as usize, 0);
                id.push(S_OK);
                id
            }
            _ => {
                let mut v = vec![0u8; data_len as usize];
                v.push(S_UNSUPP);
                v
            }
        }
    }
}

impl VirtioBackend for VirtioBlk {
    fn device_id(&self) -> u32 {
        2
    }
    fn kind(&self) -> &'static str {
        "virtio-blk"
    }
    fn features(&self) -> u64 {
        let ro = if self.disk.read_only() { VIRTIO_BLK_F_RO } else { 0 };
        VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | ro
    }
    fn queue_count(&self) -> usize {
        1
    }
    fn config_byte(&self, offset: u64) -> u8 {
        let mut cfg = [0u8; 0x20];
        cfg[0..8].copy_from_slice(&self.capacity().to_le_bytes());
        cfg[0x0c..0x10].copy_from_slice(&SEG_MAX.to_le_bytes());
        cfg[0x14..0x18].copy_from_slice(&(SECTOR as u32).to_le_bytes());
        cfg.get(offset as usize).copied().unwrap_or(0)
    }
    fn process(&mut self, _queue: usize, chain: &[Segment], ram: &mut Ram) -> Result<u32, String> {
        let readable = read_all(ram, chain);
        if readable.len() < 16 || writable_len(chain) == 0 {
            return Err("virtio-blk request without header or status byte".into());
        }
        let reply = self.request(&readable[..16], &readable[16..], writable_len(chain));
        Ok(write_all(ram, chain, &reply))
    }
    fn save(&self) -> Vec<u8> {
        encode_state(&BlkState { disk: self.disk.save() })
    }
    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        let s: BlkState = decode_state("virtio-blk", state)?;
        self.disk.restore(&s.disk).map_err(|reason| RestoreError { device: "virtio-blk".into(), reason })
    }
    fn inspect(&self) -> Vec<(String, String)> {
        vec![
            ("capacity".into(), format!("{} sectors", self.capacity())),
            ("read_only".into(), self.disk.read_only().to_string()),
            ("image".into(), self.disk.describe()),
        ]
    }
}
