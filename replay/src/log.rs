//! The recording file: a header (format version, machine configuration, content hashes of every image) followed by
//! records in zstd-compressed frames. Each frame carries its length and a CRC, and is written whole and flushed, so
//! a recording cut off by a crash, `kill -9` or a full disk still replays up to its last complete frame.
//!
//! Layout (`docs/rwd-format.md` has the details): `b"RWND"`, u32 format version, u32 header length, the postcard
//! header, then frames of `[u32 compressed length][u32 crc32 of the compressed bytes][zstd(postcard Vec<Record>)]`.
//! Integers in the framing are little-endian.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub const MAGIC: &[u8; 4] = b"RWND";
/// Version 1 was bincode-encoded (rewind before the `--bundle` option); version 2 is postcard; version 3 adds
/// [`Event::IdleUntil`], and its state hashes are taken over postcard-encoded machine state (version 2's were over
/// bincode: they would all differ, so version 2 is refused by number rather than reported as diverging).
pub const FORMAT_VERSION: u32 = 3;
/// The oldest version this rewind reads.
const OLDEST_READABLE: u32 = 3;
/// A frame larger than this is corrupt (a real frame holds at most a few thousand events, or one image chunk).
const MAX_FRAME: u32 = 64 << 20;
/// Bytes of an image per frame when a recording embeds its images.
pub const IMAGE_CHUNK: usize = 4 << 20;

/// A point of execution: the instruction count and the virtual clock (they differ once idle time was skipped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    pub icount: u64,
    pub vclock: u64,
}

/// Where a machine is in its execution.
pub fn stamp(m: &rewind::Machine) -> Stamp {
    Stamp { icount: m.icount(), vclock: m.vclock() }
}

/// The content hash of an image the machine loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageHash {
    /// What the image is (`kernel`, `initrd`, `bios`, `drive0`).
    pub role: String,
    /// The path as the command line gave it.
    pub path: PathBuf,
    /// The absolute path at recording time (found again from any directory).
    pub absolute: PathBuf,
    pub size: u64,
    pub sha256: String,
}

impl ImageHash {
    pub fn of_file(role: &str, path: &Path) -> Result<ImageHash, LogError> {
        let data = std::fs::read(path).map_err(|e| LogError::Io(format!("{}: {e}", path.display())))?;
        let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
        Ok(ImageHash {
            role: role.into(),
            path: path.into(),
            absolute,
            size: data.len() as u64,
            sha256: sha256_hex(&data),
        })
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The machine options, as given on the command line (replay parses them again).
    pub machine_args: Vec<String>,
    pub images: Vec<ImageHash>,
    /// rewind's version that wrote the recording (informational).
    pub writer: String,
    /// The images' contents follow the header ([`Record::ImageChunk`]): the recording replays anywhere.
    pub bundled: bool,
}

/// One entry of the event log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Input delivered to device `device` at `at`.
    Input { at: Stamp, device: usize, input: rewind::DeviceInput },
    /// Every hart was idle at `at` and virtual time jumped to the next timer event.
    IdleSkip { at: Stamp },
    /// The machine state hash at `at`, for divergence detection, with the hash of each part (each hart, each
    /// device...) to say what differs.
    /// `ram_pages` holds (page index, hash) of every RAM page written since the previous state hash.
    StateHash { at: Stamp, hash: u64, parts: Vec<(String, u64)>, ram_pages: Vec<(u32, u32)> },
    /// The recording ended here, normally (the machine stopped for `reason`).
    End { at: Stamp, reason: String },
    /// Every hart was idle at `at` and virtual time moved on to `ticks` (at most to the next timer event): input
    /// arrived while the guest's clock kept pace with the wall clock.
    IdleUntil { at: Stamp, ticks: u64 },
}

impl Event {
    /// Idle time skipped at `at`: to the next timer event (`until` is `None`), or at most to `until` ticks.
    pub(crate) fn idle(at: Stamp, until: Option<u64>) -> Event {
        match until {
            None => Event::IdleSkip { at },
            Some(ticks) => Event::IdleUntil { at, ticks },
        }
    }

    pub fn stamp(&self) -> Stamp {
        match self {
            Event::Input { at, .. }
            | Event::IdleSkip { at }
            | Event::IdleUntil { at, .. }
            | Event::StateHash { at, .. }
            | Event::End { at, .. } => *at,
        }
    }
}

/// What a frame holds: events in execution order, and data about the images that has no place in time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    Event(Event),
    /// Bytes `offset..` of image `image` (an index into [`Header::images`]), in a bundled recording.
    ImageChunk {
        image: u32,
        offset: u64,
        data: Vec<u8>,
    },
    /// What bytes `offset..` of writable disk image `image` held before the recorded run first overwrote them:
    /// with these, replay rebuilds the disk the run started from although the run itself changed the file.
    DiskOriginal {
        image: u32,
        offset: u64,
        data: Vec<u8>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{0}")]
    Io(String),
    #[error("{path}: not a rewind recording")]
    NotRecording { path: String },
    #[error(
        "{path}: recording format version {found}; this rewind reads versions {OLDEST_READABLE} to {FORMAT_VERSION}{}",
        if *found < FORMAT_VERSION { " (replay it with the rewind that wrote it)" } else { " (a newer rewind wrote it)" }
    )]
    Version { path: String, found: u32 },
    #[error("{path}: corrupt header ({reason})")]
    Header { path: String, reason: String },
}

/// Writes whole frames to a recording; clones share the file, so a disk backend can save what it is about to
/// overwrite while the recorder writes events.
#[derive(Clone)]
pub struct FrameSink {
    file: Arc<Mutex<File>>,
}

impl FrameSink {
    /// Writes `records` as one frame and flushes it.
    pub fn write_frame(&self, records: &[Record]) -> Result<(), LogError> {
        let raw = postcard::to_allocvec(records).map_err(|e| LogError::Io(format!("encoding a frame: {e}")))?;
        let packed = zstd::bulk::compress(&raw, 3).map_err(|e| LogError::Io(format!("compressing a frame: {e}")))?;
        let mut frame = Vec::with_capacity(packed.len() + 8);
        frame.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(&packed).to_le_bytes());
        frame.extend_from_slice(&packed);
        let io = |e: std::io::Error| LogError::Io(format!("writing the recording: {e}"));
        let mut file = self.file.lock().map_err(|_| LogError::Io("writing the recording: lock poisoned".into()))?;
        file.write_all(&frame).map_err(io)?;
        file.flush().map_err(io)
    }
}

/// Appends events to a recording, one flushed frame at a time.
pub struct LogWriter {
    sink: FrameSink,
    pending: Vec<Event>,
}

impl LogWriter {
    pub fn create(path: &Path, header: &Header) -> Result<LogWriter, LogError> {
        let io = |e: std::io::Error| LogError::Io(format!("{}: {e}", path.display()));
        let mut file = File::create(path).map_err(io)?;
        let head = postcard::to_allocvec(header).map_err(|e| LogError::Io(format!("encoding the header: {e}")))?;
        file.write_all(MAGIC).map_err(io)?;
        file.write_all(&FORMAT_VERSION.to_le_bytes()).map_err(io)?;
        file.write_all(&(head.len() as u32).to_le_bytes()).map_err(io)?;
        file.write_all(&head).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(LogWriter { sink: FrameSink { file: Arc::new(Mutex::new(file)) }, pending: Vec::new() })
    }

    /// Embeds the contents of image `image` (an index into the header's images), in frames of [`IMAGE_CHUNK`].
    pub fn embed_image(&self, image: u32, data: &[u8]) -> Result<(), LogError> {
        for (i, chunk) in data.chunks(IMAGE_CHUNK).enumerate() {
            let offset = (i * IMAGE_CHUNK) as u64;
            self.sink.write_frame(&[Record::ImageChunk { image, offset, data: chunk.to_vec() }])?;
        }
        Ok(())
    }

    /// A handle that writes frames of its own to this recording.
    pub fn sink(&self) -> FrameSink {
        self.sink.clone()
    }

    pub fn push(&mut self, event: Event) {
        self.pending.push(event);
    }

    /// Writes the pending events as one frame.
    pub fn flush(&mut self) -> Result<(), LogError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let records: Vec<Record> = self.pending.drain(..).map(Record::Event).collect();
        self.sink.write_frame(&records)
    }
}

/// Reads a recording. Records come frame by frame; a truncated or corrupt frame ends the log, and
/// [`LogReader::damage`] says why.
pub struct LogReader {
    path: String,
    input: BufReader<File>,
    buffered: std::collections::VecDeque<Record>,
    damage: Option<String>,
    done: bool,
    frames: u64,
}

impl LogReader {
    pub fn open(path: &Path) -> Result<(Header, LogReader), LogError> {
        let name = path.display().to_string();
        let io = |e: std::io::Error| LogError::Io(format!("{name}: {e}"));
        if std::fs::metadata(path).map_err(io)?.is_dir() {
            return Err(LogError::Io(format!("{name}: is a directory, not a recording")));
        }
        let mut input = BufReader::new(File::open(path).map_err(io)?);
        let mut magic = [0u8; 4];
        if input.read_exact(&mut magic).is_err() || &magic != MAGIC {
            return Err(LogError::NotRecording { path: name });
        }
        let mut word = [0u8; 4];
        input.read_exact(&mut word).map_err(|_| LogError::NotRecording { path: name.clone() })?;
        let version = u32::from_le_bytes(word);
        if !(OLDEST_READABLE..=FORMAT_VERSION).contains(&version) {
            return Err(LogError::Version { path: name, found: version });
        }
        let bad = |reason: &str| LogError::Header { path: name.clone(), reason: reason.into() };
        input.read_exact(&mut word).map_err(|_| bad("the file ends inside it"))?;
        let len = u32::from_le_bytes(word);
        if len > MAX_FRAME {
            return Err(bad("impossible length"));
        }
        let mut head = vec![0u8; len as usize];
        input.read_exact(&mut head).map_err(|_| bad("the file ends inside it"))?;
        let header: Header = postcard::from_bytes(&head).map_err(|e| bad(&format!("undecodable: {e}")))?;
        let reader =
            LogReader { path: name, input, buffered: Default::default(), damage: None, done: false, frames: 0 };
        Ok((header, reader))
    }

    /// Why the log ended before its `End` event, if it did.
    pub fn damage(&self) -> Option<&str> {
        self.damage.as_deref()
    }

    /// The next record.
    pub fn next_record(&mut self) -> Option<Record> {
        if self.buffered.is_empty() {
            self.read_frame();
        }
        self.buffered.pop_front()
    }

    /// The next event, skipping the records about images.
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Record::Event(e) = self.next_record()? {
                return Some(e);
            }
        }
    }

    fn read_frame(&mut self) {
        // Frames that hold no record (none are written, but a file may say so) are skipped.
        while self.buffered.is_empty() && !self.done {
            self.read_one_frame();
        }
    }

    fn read_one_frame(&mut self) {
        let mut head = [0u8; 8];
        match read_full(&mut self.input, &mut head) {
            Ok(0) => {
                self.done = true;
                return;
            }
            Ok(8) => {}
            _ => return self.stop("truncated frame header"),
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > MAX_FRAME {
            return self.stop("corrupt frame length");
        }
        let mut packed = vec![0u8; len as usize];
        if read_full(&mut self.input, &mut packed).ok() != Some(len as usize) {
            return self.stop("truncated frame");
        }
        if crc32fast::hash(&packed) != crc {
            return self.stop("frame checksum mismatch");
        }
        let raw = match zstd::bulk::decompress(&packed, MAX_FRAME as usize) {
            Ok(raw) => raw,
            Err(_) => return self.stop("undecodable frame"),
        };
        match postcard::from_bytes::<Vec<Record>>(&raw) {
            Ok(records) => {
                self.frames += 1;
                self.buffered.extend(records);
            }
            Err(_) => self.stop("undecodable records"),
        }
    }

    fn stop(&mut self, why: &str) {
        self.done = true;
        self.damage = Some(format!("{}: {why} after frame {}", self.path, self.frames));
    }
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(i: u64) -> Stamp {
        Stamp { icount: i, vclock: i }
    }

    fn sample(path: &Path, frames: u64) -> Vec<Event> {
        let header = Header {
            machine_args: vec!["-m".into(), "64M".into()],
            images: vec![],
            writer: "test".into(),
            bundled: false,
        };
        let mut w = LogWriter::create(path, &header).unwrap();
        let mut all = Vec::new();
        for f in 0..frames {
            for i in 0..3 {
                let e = Event::Input {
                    at: stamp(f * 100 + i),
                    device: 5,
                    input: rewind::DeviceInput::console(vec![b'a' + i as u8]),
                };
                all.push(e.clone());
                w.push(e);
            }
            w.flush().unwrap();
        }
        all
    }

    fn read_all(path: &Path) -> (Vec<Event>, Option<String>) {
        let (_, mut r) = LogReader::open(path).unwrap();
        let mut out = Vec::new();
        while let Some(e) = r.next_event() {
            out.push(e);
        }
        (out, r.damage().map(String::from))
    }

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("rewind-log-{}-{name}", std::process::id()))
    }

    #[test]
    fn events_round_trip() {
        let p = temp("rt");
        let written = sample(&p, 3);
        let (read, damage) = read_all(&p);
        assert_eq!(read, written);
        assert_eq!(damage, None);
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn a_truncated_recording_replays_its_complete_frames() {
        let p = temp("trunc");
        let written = sample(&p, 3);
        let full = std::fs::read(&p).unwrap();
        for cut in (20..full.len()).step_by(7) {
            std::fs::write(&p, &full[..cut]).unwrap();
            let Ok((_, mut r)) = LogReader::open(&p) else { continue }; // cut inside the header
            let mut got = Vec::new();
            while let Some(e) = r.next_event() {
                got.push(e);
            }
            assert_eq!(got[..], written[..got.len()], "cut at {cut}: events must be a prefix");
            assert_eq!(got.len() % 3, 0, "only whole frames");
            // A cut inside a frame is reported; a cut between frames is a clean (if early) end, which the
            // missing `End` event reveals.
            if r.damage().is_some() {
                assert!(got.len() < written.len());
            }
        }
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn flipped_bytes_end_the_log_at_the_damaged_frame() {
        let p = temp("flip");
        sample(&p, 3);
        let mut bytes = std::fs::read(&p).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x40;
        std::fs::write(&p, &bytes).unwrap();
        let (read, damage) = read_all(&p);
        assert_eq!(read.len(), 6);
        assert!(damage.unwrap().contains("checksum"));
        let _ = std::fs::remove_file(p);
    }

    /// A bounded fuzz loop over the reader: random cuts, flipped bytes, overwritten runs and inserted garbage in
    /// a valid recording never panic, and what is read is always a prefix of what was written (a damaged frame
    /// ends the log; it never yields events that were not recorded).
    #[test]
    fn mangled_recordings_never_panic_and_yield_only_a_prefix() {
        let p = temp("fuzz-src");
        let written = sample(&p, 6);
        let good = std::fs::read(&p).unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        let q = temp("fuzz");
        let iterations = std::env::var("REWIND_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
        for _ in 0..iterations {
            let mut bytes = good.clone();
            for _ in 0..1 + rand(4) {
                let at = rand(bytes.len());
                match rand(4) {
                    0 => bytes.truncate(at),
                    1 => bytes[at] ^= 1 << rand(8),
                    2 => {
                        let len = rand(16).min(bytes.len() - at.min(bytes.len()));
                        for b in &mut bytes[at..at + len] {
                            *b = rand(256) as u8;
                        }
                    }
                    _ => {
                        let junk: Vec<u8> = (0..rand(64)).map(|_| rand(256) as u8).collect();
                        bytes.splice(at..at, junk);
                    }
                }
                if bytes.is_empty() {
                    break;
                }
            }
            std::fs::write(&q, &bytes).unwrap();
            let Ok((_, mut r)) = LogReader::open(&q) else { continue };
            let mut got = Vec::new();
            while let Some(e) = r.next_event() {
                got.push(e);
                assert!(got.len() <= written.len() + 1, "more events than were written");
            }
            // A frame whose checksum survived the mangling is one that was written: the events read are a prefix
            // of the recording, except when junk happened to form a whole valid frame (not in a few thousand tries).
            assert_eq!(got[..], written[..got.len().min(written.len())], "events read are a prefix");
        }
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(q);
    }

    #[test]
    fn other_format_versions_and_other_files_are_refused() {
        let p = temp("ver");
        sample(&p, 1);
        let mut bytes = std::fs::read(&p).unwrap();
        for version in [1, 2, 99] {
            bytes[4] = version;
            std::fs::write(&p, &bytes).unwrap();
            assert!(matches!(LogReader::open(&p), Err(LogError::Version { found, .. }) if found == version as u32));
        }
        std::fs::write(&p, b"hello world").unwrap();
        assert!(matches!(LogReader::open(&p), Err(LogError::NotRecording { .. })));
        let _ = std::fs::remove_file(p);
    }
}
