//! virtio-blk (device ID 2) and the disk images behind it.
//!
//! The user's image is never written unless they asked for a writable drive: a drive is either a read-only
//! [`FileDisk`] (the device advertises VIRTIO_BLK_F_RO and fails writes with IOERR), a copy-on-write
//! [`OverlayDisk`] that keeps the guest's writes in memory over a read-only base (`snapshot=on`; the overlay is
//! part of snapshots, so rewinding undoes disk writes too), or a writable [`FileDisk`].

use super::{read_config_bytes, DescChain, VirtioBackend, VIRTIO_ID_BLOCK};
use rewind::device::{any_state, decode_state, encode_state};
use rewind::Ram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// virtio-blk sectors are always 512 bytes, whatever the block size.
pub const SECTOR_SIZE: u64 = 512;

/// Feature: `seg_max` in the configuration is valid.
pub const VIRTIO_BLK_F_SEG_MAX: u64 = 1 << 2;
/// Feature: the device is read-only.
pub const VIRTIO_BLK_F_RO: u64 = 1 << 5;
/// Feature: `blk_size` in the configuration is valid.
pub const VIRTIO_BLK_F_BLK_SIZE: u64 = 1 << 6;
/// Feature: the device handles FLUSH.
pub const VIRTIO_BLK_F_FLUSH: u64 = 1 << 9;

/// Request types.
pub const VIRTIO_BLK_T_IN: u32 = 0;
pub const VIRTIO_BLK_T_OUT: u32 = 1;
pub const VIRTIO_BLK_T_FLUSH: u32 = 4;
pub const VIRTIO_BLK_T_GET_ID: u32 = 8;

/// Request status bytes.
pub const VIRTIO_BLK_S_OK: u8 = 0;
pub const VIRTIO_BLK_S_IOERR: u8 = 1;
pub const VIRTIO_BLK_S_UNSUPP: u8 = 2;

/// Length of the GET_ID answer.
pub const VIRTIO_BLK_ID_BYTES: usize = 20;

/// Largest number of data segments per request the driver may use (queue size minus header and status).
const SEG_MAX: u32 = 254;

/// Bytes moved per backend call while streaming a request.
const CHUNK: usize = 64 * 1024;

/// A disk image. Offsets and lengths are bytes; the device only passes whole sectors inside [`BlockBackend::len`].
pub trait BlockBackend: Send {
    /// Size of the image in bytes.
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether writes are refused (the device then advertises VIRTIO_BLK_F_RO).
    fn read_only(&self) -> bool;

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;

    fn flush(&mut self) -> io::Result<()>;

    /// Contents that belong in a snapshot (an overlay's written sectors); empty for a plain file.
    fn save(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Restores what [`BlockBackend::save`] produced.
    fn restore(&mut self, _state: &[u8]) -> Result<(), String> {
        Ok(())
    }

    /// Lines for `info devices`.
    fn inspect(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

fn check_range(offset: u64, len: usize, size: u64) -> io::Result<()> {
    match offset.checked_add(len as u64) {
        Some(end) if end <= size => Ok(()),
        _ => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "access past the end of the disk image")),
    }
}

/// A raw image file, read-only unless opened with [`FileDisk::open_writable`].
pub struct FileDisk {
    file: File,
    path: PathBuf,
    len: u64,
    writable: bool,
}

impl FileDisk {
    /// Opens `path` read-only; the guest's writes fail with IOERR and the file is never modified.
    pub fn open_read_only(path: impl AsRef<Path>) -> io::Result<FileDisk> {
        let path = path.as_ref();
        let file = File::open(path)?;
        let len = regular_file_len(&file.metadata()?)?;
        Ok(FileDisk { file, path: path.to_path_buf(), len, writable: false })
    }

    /// Opens `path` for reading and writing: the guest's writes go to the user's file. Only for drives the user
    /// explicitly asked to be writable. The file's contents are not part of snapshots.
    pub fn open_writable(path: impl AsRef<Path>) -> io::Result<FileDisk> {
        let path = path.as_ref();
        // Opening a directory for writing fails with a plainer EISDIR: say the same as for a read-only drive.
        regular_file_len(&std::fs::metadata(path)?)?;
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = regular_file_len(&file.metadata()?)?;
        Ok(FileDisk { file, path: path.to_path_buf(), len, writable: true })
    }
}

/// The size of a file with metadata `meta`, which must be a regular file: a directory opens read-only and has a size, but is no
/// disk (QEMU's `file` driver refuses anything but a regular file too).
fn regular_file_len(meta: &std::fs::Metadata) -> io::Result<u64> {
    match meta.file_type() {
        t if t.is_file() => Ok(meta.len()),
        t if t.is_dir() => Err(io::Error::new(io::ErrorKind::InvalidInput, "it is a directory, not a regular file")),
        _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")),
    }
}

impl BlockBackend for FileDisk {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_only(&self) -> bool {
        !self.writable
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len)?;
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(buf)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if !self.writable {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, "read-only drive"));
        }
        check_range(offset, data.len(), self.len)?;
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.write_all(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.writable {
            self.file.sync_data()
        } else {
            Ok(())
        }
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let mode = if self.writable { "writable file (contents not in snapshots)" } else { "read-only file" };
        vec![("image".to_string(), format!("{} ({mode})", self.path.display()))]
    }
}

/// Receives the original contents of a disk range just before a [`JournaledDisk`] first overwrites it. An error
/// refuses the write (the guest sees an I/O error): a write whose original could not be kept is never made.
pub type SaveOriginal = Box<dyn FnMut(u64, &[u8]) -> io::Result<()> + Send>;

/// A writable disk that hands the original contents of every sector to [`SaveOriginal`] before overwriting it
/// for the first time. A recorded run with a writable drive uses it, so its replay can rebuild the disk the run
/// started from although the run changed the file.
pub struct JournaledDisk {
    inner: Box<dyn BlockBackend>,
    /// Sectors whose original contents were saved.
    saved: std::collections::BTreeSet<u64>,
    save: SaveOriginal,
}

impl JournaledDisk {
    pub fn new(inner: Box<dyn BlockBackend>, save: SaveOriginal) -> JournaledDisk {
        JournaledDisk { inner, saved: Default::default(), save }
    }

    /// Saves the original contents of the sectors of `offset..offset + len` not saved yet, run by run.
    fn save_originals(&mut self, offset: u64, len: usize) -> io::Result<()> {
        let first = offset / SECTOR_SIZE;
        let end = (offset + len as u64).div_ceil(SECTOR_SIZE);
        let mut index = first;
        while index < end {
            if self.saved.contains(&index) {
                index += 1;
                continue;
            }
            let run_end = (index..end).find(|i| self.saved.contains(i)).unwrap_or(end);
            let start = index * SECTOR_SIZE;
            let stop = (run_end * SECTOR_SIZE).min(self.inner.len());
            let mut original = vec![0u8; (stop - start) as usize];
            self.inner.read_at(start, &mut original)?;
            (self.save)(start, &original)?;
            self.saved.extend(index..run_end);
            index = run_end;
        }
        Ok(())
    }
}

impl BlockBackend for JournaledDisk {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_only(&self) -> bool {
        self.inner.read_only()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_at(offset, buf)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        check_range(offset, data.len(), self.inner.len())?;
        self.save_originals(offset, data.len())?;
        self.inner.write_at(offset, data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    fn save(&self) -> Vec<u8> {
        self.inner.save()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        self.inner.restore(state)
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let mut lines = self.inner.inspect();
        lines.push(("originals kept for replay".into(), format!("{} sectors", self.saved.len())));
        lines
    }
}

/// Copy-on-write over a read-only base: the guest's writes live in memory, sector by sector, and the base is
/// only ever read.
pub struct OverlayDisk {
    base: Box<dyn BlockBackend>,
    sectors: BTreeMap<u64, Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct OverlayState {
    base_len: u64,
    sectors: Vec<(u64, Vec<u8>)>,
}

impl OverlayDisk {
    /// An overlay over `base` (whose own writability is never used).
    pub fn new(base: Box<dyn BlockBackend>) -> OverlayDisk {
        OverlayDisk { base, sectors: BTreeMap::new() }
    }

    /// An overlay over the image file at `path`, opened read-only (QEMU's `snapshot=on`).
    pub fn open(path: impl AsRef<Path>) -> io::Result<OverlayDisk> {
        Ok(OverlayDisk::new(Box::new(FileDisk::open_read_only(path)?)))
    }

    /// Number of sectors the guest has written.
    pub fn dirty_sectors(&self) -> usize {
        self.sectors.len()
    }

    /// Sector `index` as the guest sees it.
    fn sector(&mut self, index: u64) -> io::Result<Vec<u8>> {
        if let Some(s) = self.sectors.get(&index) {
            return Ok(s.clone());
        }
        let mut s = vec![0u8; SECTOR_SIZE as usize];
        let start = index * SECTOR_SIZE;
        // The last sector of an image whose length is not a multiple of 512 is read short and zero-padded.
        let n = self.base.len().saturating_sub(start).min(SECTOR_SIZE) as usize;
        self.base.read_at(start, &mut s[..n])?;
        Ok(s)
    }
}

impl BlockBackend for OverlayDisk {
    fn len(&self) -> u64 {
        self.base.len()
    }

    fn read_only(&self) -> bool {
        false
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len())?;
        let end = offset + buf.len() as u64;
        let mut pos = offset;
        while pos < end {
            let index = pos / SECTOR_SIZE;
            let at = (pos - offset) as usize;
            if let Some(s) = self.sectors.get(&index) {
                let skip = (pos % SECTOR_SIZE) as usize;
                let n = (SECTOR_SIZE as usize - skip).min((end - pos) as usize);
                buf[at..at + n].copy_from_slice(&s[skip..skip + n]);
                pos += n as u64;
            } else {
                // Read the base up to the next overlaid sector in one call.
                let next = self.sectors.range(index..).next().map_or(end, |(&i, _)| (i * SECTOR_SIZE).min(end));
                let n = (next - pos) as usize;
                self.base.read_at(pos, &mut buf[at..at + n])?;
                pos = next;
            }
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        check_range(offset, data.len(), self.len())?;
        let end = offset + data.len() as u64;
        let mut pos = offset;
        while pos < end {
            let index = pos / SECTOR_SIZE;
            let skip = (pos % SECTOR_SIZE) as usize;
            let n = (SECTOR_SIZE as usize - skip).min((end - pos) as usize);
            let mut s = if skip == 0 && n == SECTOR_SIZE as usize {
                vec![0u8; SECTOR_SIZE as usize]
            } else {
                self.sector(index)?
            };
            let at = (pos - offset) as usize;
            s[skip..skip + n].copy_from_slice(&data[at..at + n]);
            self.sectors.insert(index, s);
            pos += n as u64;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&OverlayState {
            base_len: self.base.len(),
            sectors: self.sectors.iter().map(|(&i, s)| (i, s.clone())).collect(),
        })
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let base_len = self.base.len();
        let st = decode_state("virtio-blk overlay", state, |st: &OverlayState| {
            if st.base_len != base_len {
                return Err(format!("overlay was saved over a {}-byte image, this one has {base_len}", st.base_len));
            }
            let sectors_in_image = base_len.div_ceil(SECTOR_SIZE);
            match st.sectors.iter().find(|(i, s)| *i >= sectors_in_image || s.len() as u64 != SECTOR_SIZE) {
                Some((i, _)) => Err(format!("overlay sector {i} is invalid")),
                None => Ok(()),
            }
        })
        .map_err(|e| e.reason)?;
        self.sectors = st.sectors.into_iter().collect();
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let mut out = self.base.inspect();
        out.push(("overlay".to_string(), format!("copy-on-write, {} dirty sectors", self.sectors.len())));
        out
    }
}

/// The block device's behaviour (wrap it in [`super::VirtioMmio`]).
pub struct Blk {
    disk: Box<dyn BlockBackend>,
    serial: [u8; VIRTIO_BLK_ID_BYTES],
    stats: BlkStats,
    /// The drive's name in `info blockstats` (QEMU's drive id: `id=`, or `virtio0`, `virtio1`, ...).
    drive: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct BlkStats {
    reads: u64,
    writes: u64,
    flushes: u64,
    errors: u64,
    read_bytes: u64,
    written_bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct BlkState {
    stats: BlkStats,
    disk: Vec<u8>,
}

impl Blk {
    /// A block device over `disk`, with an empty serial number.
    pub fn new(disk: Box<dyn BlockBackend>) -> Blk {
        Blk { disk, serial: [0; VIRTIO_BLK_ID_BYTES], stats: BlkStats::default(), drive: "virtio0".into() }
    }

    /// Names the drive (QEMU's drive id), as `info blockstats` shows it.
    pub fn with_drive_name(mut self, name: &str) -> Blk {
        self.drive = name.to_string();
        self
    }

    /// Sets the serial number GET_ID returns (truncated to 20 bytes, zero-padded).
    pub fn with_serial(mut self, serial: &str) -> Blk {
        self.serial = [0; VIRTIO_BLK_ID_BYTES];
        let n = serial.len().min(VIRTIO_BLK_ID_BYTES);
        self.serial[..n].copy_from_slice(&serial.as_bytes()[..n]);
        self
    }

    /// Capacity in 512-byte sectors (a partial last sector is not visible to the guest).
    pub fn capacity(&self) -> u64 {
        self.disk.len() / SECTOR_SIZE
    }

    /// The disk image.
    pub fn disk(&self) -> &dyn BlockBackend {
        self.disk.as_ref()
    }

    fn config(&self) -> [u8; 24] {
        let mut c = [0u8; 24];
        c[0..8].copy_from_slice(&self.capacity().to_le_bytes());
        c[12..16].copy_from_slice(&SEG_MAX.to_le_bytes());
        c[20..24].copy_from_slice(&(SECTOR_SIZE as u32).to_le_bytes());
        c
    }

    /// Byte offset of `sector` if `[sector, sector + len bytes)` is whole sectors inside the disk.
    fn range(&self, sector: u64, len: u64) -> Option<u64> {
        if len & (SECTOR_SIZE - 1) != 0 {
            return None;
        }
        let start = sector.checked_mul(SECTOR_SIZE)?;
        (start.checked_add(len)? <= self.capacity() * SECTOR_SIZE).then_some(start)
    }

    /// IN: disk -> the writable data buffers. Returns the status and the data bytes written.
    fn read_request(&mut self, chain: &DescChain, ram: &mut Ram, sector: u64, len: u64) -> (u8, u64) {
        let Some(start) = self.range(sector, len) else {
            return (VIRTIO_BLK_S_IOERR, 0);
        };
        let mut buf = vec![0u8; CHUNK.min(len as usize)];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(CHUNK as u64) as usize;
            if self.disk.read_at(start + done, &mut buf[..n]).is_err() {
                return (VIRTIO_BLK_S_IOERR, done);
            }
            if chain.write_at(ram, done, &buf[..n]) < n {
                return (VIRTIO_BLK_S_IOERR, done);
            }
            done += n as u64;
        }
        (VIRTIO_BLK_S_OK, done)
    }

    /// OUT: the readable data buffers (after the 16-byte header) -> disk.
    fn write_request(&mut self, chain: &DescChain, ram: &Ram, sector: u64, len: u64) -> u8 {
        if self.disk.read_only() {
            return VIRTIO_BLK_S_IOERR;
        }
        let Some(start) = self.range(sector, len) else {
            return VIRTIO_BLK_S_IOERR;
        };
        let mut buf = vec![0u8; CHUNK.min(len as usize)];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(CHUNK as u64) as usize;
            if chain.read_at(ram, 16 + done, &mut buf[..n]) < n {
                return VIRTIO_BLK_S_IOERR;
            }
            if self.disk.write_at(start + done, &buf[..n]).is_err() {
                return VIRTIO_BLK_S_IOERR;
            }
            done += n as u64;
        }
        VIRTIO_BLK_S_OK
    }
}

impl VirtioBackend for Blk {
    fn kind(&self) -> &'static str {
        "virtio-blk"
    }

    fn device_id(&self) -> u32 {
        VIRTIO_ID_BLOCK
    }

    fn features(&self) -> u64 {
        let ro = if self.disk.read_only() { VIRTIO_BLK_F_RO } else { 0 };
        VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | ro
    }

    fn num_queues(&self) -> usize {
        1
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        read_config_bytes(&self.config(), offset, data);
    }

    /// QEMU 7.2's `struct virtio_blk_config` with discard and write-zeroes, which it offers by default.
    fn config_len(&self) -> usize {
        60
    }

    /// A request is a 16-byte readable header (type, reserved, sector), data buffers, and a final writable
    /// status byte (section 5.2.6).
    fn process(&mut self, _queue: usize, chain: &DescChain, ram: &mut Ram) -> u32 {
        let writable = chain.writable_len();
        if writable == 0 {
            // Nowhere to put a status: give the chain back untouched.
            self.stats.errors += 1;
            return 0;
        }
        let status_at = writable - 1;
        let mut header = [0u8; 16];
        let (status, written) = if chain.read_at(ram, 0, &mut header) < header.len() {
            (VIRTIO_BLK_S_IOERR, 0)
        } else {
            let kind = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let mut s = [0u8; 8];
            s.copy_from_slice(&header[8..16]);
            let sector = u64::from_le_bytes(s);
            match kind {
                VIRTIO_BLK_T_IN => {
                    self.stats.reads += 1;
                    let (status, read) = self.read_request(chain, ram, sector, status_at);
                    if status == VIRTIO_BLK_S_OK {
                        self.stats.read_bytes += read;
                    }
                    (status, read)
                }
                VIRTIO_BLK_T_OUT => {
                    self.stats.writes += 1;
                    let len = chain.readable_len().saturating_sub(16);
                    let status = self.write_request(chain, ram, sector, len);
                    if status == VIRTIO_BLK_S_OK {
                        self.stats.written_bytes += len;
                    }
                    (status, 0)
                }
                VIRTIO_BLK_T_FLUSH => {
                    self.stats.flushes += 1;
                    match self.disk.flush() {
                        Ok(()) => (VIRTIO_BLK_S_OK, 0),
                        Err(_) => (VIRTIO_BLK_S_IOERR, 0),
                    }
                }
                VIRTIO_BLK_T_GET_ID => {
                    let n = (status_at as usize).min(VIRTIO_BLK_ID_BYTES);
                    let serial = self.serial;
                    (VIRTIO_BLK_S_OK, chain.write_at(ram, 0, &serial[..n]) as u64)
                }
                _ => (VIRTIO_BLK_S_UNSUPP, 0),
            }
        };
        if status != VIRTIO_BLK_S_OK {
            self.stats.errors += 1;
        }
        chain.write_at(ram, status_at, &[status]);
        u32::try_from(written + 1).unwrap_or(u32::MAX)
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&BlkState { stats: self.stats.clone(), disk: self.disk.save() })
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        // The disk checks its own state; the statistics are any numbers.
        let st: BlkState = decode_state("virtio-blk", state, any_state).map_err(|e| e.reason)?;
        self.disk.restore(&st.disk)?;
        self.stats = st.stats;
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("capacity".to_string(), format!("{} sectors ({} bytes)", self.capacity(), self.capacity() * SECTOR_SIZE)),
            ("read_only".to_string(), self.disk.read_only().to_string()),
            ("drive".to_string(), self.drive.clone()),
            // QEMU's `info blockstats` fields that rewind keeps (a request completes in the access that submits
            // it, so it takes no virtual time, and requests are never merged).
            (
                "blockstats".to_string(),
                format!(
                    "rd_bytes={} wr_bytes={} rd_operations={} wr_operations={} flush_operations={} failed_operations={}",
                    self.stats.read_bytes,
                    self.stats.written_bytes,
                    self.stats.reads,
                    self.stats.writes,
                    self.stats.flushes,
                    self.stats.errors
                ),
            ),
        ];
        out.extend(self.disk.inspect());
        out
    }
}
