//! Spec-style tests: a hand-written driver programs the devices through their registers and guest RAM.

use super::blk::*;
use super::mmio::{reg, status, INT_CONFIG_CHANGE, INT_USED_BUFFER};
use super::queue::{VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE};
use super::*;
use rewind::device::{Device, DeviceBus, DeviceInput, InputPort, Signals};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

const RAM_BASE: u64 = 0x8000_0000;
const DESC: u64 = RAM_BASE + 0x1000;
const AVAIL: u64 = RAM_BASE + 0x2000;
const USED: u64 = RAM_BASE + 0x3000;
const HEADER: u64 = RAM_BASE + 0x4000;
const DATA: u64 = RAM_BASE + 0x5000;
const STATUS: u64 = RAM_BASE + 0x8000;
const QSIZE: u16 = 16;
const IRQ: u32 = 3;

/// Guest RAM and the interrupt lines: what a device sees of the machine.
struct Env {
    ram: Ram,
    signals: Signals,
}

impl Env {
    fn new() -> Env {
        Env { ram: Ram::new(RAM_BASE, 1 << 20).unwrap(), signals: Signals::new(1) }
    }

    fn bus(&mut self) -> DeviceBus<'_> {
        DeviceBus::new(0, &mut self.ram, &mut self.signals)
    }

    fn rd(&mut self, dev: &mut dyn Device, offset: u64) -> u32 {
        dev.read(offset, 4, &mut self.bus()) as u32
    }

    fn wr(&mut self, dev: &mut dyn Device, offset: u64, value: u32) {
        dev.write(offset, 4, u64::from(value), &mut self.bus());
    }

    fn irq(&self) -> bool {
        self.signals.lines().level(IRQ)
    }

    fn set_desc(&mut self, table: u64, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let d = table + 16 * u64::from(i);
        self.ram.write_u64(d, addr).unwrap();
        self.ram.write_u32(d + 8, len).unwrap();
        self.ram.write_u16(d + 12, flags).unwrap();
        self.ram.write_u16(d + 14, next).unwrap();
    }

    /// Makes the chain at `head` available and notifies queue 0.
    fn submit(&mut self, dev: &mut dyn Device, head: u16) {
        let idx = self.ram.read_u16(AVAIL + 2).unwrap();
        self.ram.write_u16(AVAIL + 4 + 2 * u64::from(idx % QSIZE), head).unwrap();
        self.ram.write_u16(AVAIL + 2, idx.wrapping_add(1)).unwrap();
        self.wr(dev, reg::QUEUE_NOTIFY, 0);
    }

    fn used_idx(&self) -> u16 {
        self.ram.read_u16(USED + 2).unwrap()
    }

    /// Used element `i`: (head, len).
    fn used(&self, i: u16) -> (u32, u32) {
        let e = USED + 4 + 8 * u64::from(i % QSIZE);
        (self.ram.read_u32(e).unwrap(), self.ram.read_u32(e + 4).unwrap())
    }

    fn bytes(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut b = vec![0; len];
        self.ram.read(addr, &mut b).unwrap();
        b
    }

    /// The full driver initialisation sequence of section 3.1.1, with queue 0 at DESC/AVAIL/USED.
    fn init(&mut self, dev: &mut dyn Device) {
        self.wr(dev, reg::STATUS, 0);
        self.wr(dev, reg::STATUS, status::ACKNOWLEDGE);
        self.wr(dev, reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        self.wr(dev, reg::DEVICE_FEATURES_SEL, 0);
        let lo = self.rd(dev, reg::DEVICE_FEATURES);
        self.wr(dev, reg::DEVICE_FEATURES_SEL, 1);
        let hi = self.rd(dev, reg::DEVICE_FEATURES);
        self.wr(dev, reg::DRIVER_FEATURES_SEL, 0);
        self.wr(dev, reg::DRIVER_FEATURES, lo);
        self.wr(dev, reg::DRIVER_FEATURES_SEL, 1);
        self.wr(dev, reg::DRIVER_FEATURES, hi);
        let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
        self.wr(dev, reg::STATUS, s);
        assert_eq!(self.rd(dev, reg::STATUS), s, "device accepted the features");
        self.wr(dev, reg::QUEUE_SEL, 0);
        assert_eq!(self.rd(dev, reg::QUEUE_READY), 0);
        assert_eq!(self.rd(dev, reg::QUEUE_NUM_MAX), 256);
        self.wr(dev, reg::QUEUE_NUM, u32::from(QSIZE));
        for (lo, hi, addr) in [
            (reg::QUEUE_DESC_LOW, reg::QUEUE_DESC_HIGH, DESC),
            (reg::QUEUE_DRIVER_LOW, reg::QUEUE_DRIVER_HIGH, AVAIL),
            (reg::QUEUE_DEVICE_LOW, reg::QUEUE_DEVICE_HIGH, USED),
        ] {
            self.wr(dev, lo, addr as u32);
            self.wr(dev, hi, (addr >> 32) as u32);
        }
        self.wr(dev, reg::QUEUE_READY, 1);
        assert_eq!(self.rd(dev, reg::QUEUE_READY), 1);
        self.wr(dev, reg::STATUS, s | status::DRIVER_OK);
        assert_eq!(self.rd(dev, reg::STATUS), s | status::DRIVER_OK);
    }

    /// Builds the classic 3-descriptor blk request (header / data / status) at descriptors 0..3 and submits it.
    fn blk_request(&mut self, dev: &mut dyn Device, kind: u32, sector: u64, data_len: u32, data_writable: bool) {
        self.ram.write_u32(HEADER, kind).unwrap();
        self.ram.write_u32(HEADER + 4, 0).unwrap();
        self.ram.write_u64(HEADER + 8, sector).unwrap();
        self.ram.write(STATUS, &[0xff]).unwrap();
        let data_flags = VIRTQ_DESC_F_NEXT | if data_writable { VIRTQ_DESC_F_WRITE } else { 0 };
        self.set_desc(DESC, 0, HEADER, 16, VIRTQ_DESC_F_NEXT, 1);
        self.set_desc(DESC, 1, DATA, data_len, data_flags, 2);
        self.set_desc(DESC, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
        self.submit(dev, 0);
    }

    fn status_byte(&self) -> u8 {
        self.bytes(STATUS, 1)[0]
    }

    fn ack_interrupts(&mut self, dev: &mut dyn Device) {
        let pending = self.rd(dev, reg::INTERRUPT_STATUS);
        self.wr(dev, reg::INTERRUPT_ACK, pending);
    }
}

/// A temporary image file holding `sectors` sectors of a recognisable pattern; removed on drop.
struct TempImage {
    path: PathBuf,
}

impl TempImage {
    fn new(sectors: usize) -> TempImage {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("rewind-virtio-test-{}-{n}.img", std::process::id()));
        std::fs::write(&path, pattern(sectors * 512)).unwrap();
        TempImage { path }
    }

    fn contents(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }
}

impl Drop for TempImage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 512) as u8).collect()
}

fn ro_blk(img: &TempImage) -> VirtioMmio<Blk> {
    ro_blk_on(img, MmioVersion::Modern)
}

fn ro_blk_on(img: &TempImage, version: MmioVersion) -> VirtioMmio<Blk> {
    VirtioMmio::new(Blk::new(Box::new(FileDisk::open_read_only(&img.path).unwrap())), IRQ, version)
}

fn overlay_blk(img: &TempImage) -> VirtioMmio<Blk> {
    VirtioMmio::new(Blk::new(Box::new(OverlayDisk::open(&img.path).unwrap())), IRQ, MmioVersion::Modern)
}

fn rng(seed: u64) -> VirtioMmio<Rng> {
    VirtioMmio::new(Rng::new(seed), IRQ, MmioVersion::Modern)
}

fn needs_reset(env: &mut Env, dev: &mut dyn Device) -> bool {
    env.rd(dev, reg::STATUS) & status::DEVICE_NEEDS_RESET != 0
}

#[test]
fn probe_registers_identify_a_modern_virtio_device() {
    let img = TempImage::new(8);
    let mut env = Env::new();
    let mut blk = ro_blk(&img);
    assert_eq!(env.rd(&mut blk, reg::MAGIC_VALUE), 0x7472_6976);
    assert_eq!(env.rd(&mut blk, reg::VERSION), 2);
    assert_eq!(env.rd(&mut blk, reg::DEVICE_ID), 2);
    assert_eq!(env.rd(&mut blk, reg::VENDOR_ID), 0x554d_4551);
    assert_eq!(env.rd(&mut blk, reg::QUEUE_NUM_MAX), 256);
    env.wr(&mut blk, reg::DEVICE_FEATURES_SEL, 1);
    assert_eq!(env.rd(&mut blk, reg::DEVICE_FEATURES) & 1, 1, "VIRTIO_F_VERSION_1 offered");
    // A queue that does not exist has QueueNumMax 0.
    env.wr(&mut blk, reg::QUEUE_SEL, 1);
    assert_eq!(env.rd(&mut blk, reg::QUEUE_NUM_MAX), 0);
    // Configuration space: capacity in sectors, as 64-bit and as two 32-bit reads, and blk_size.
    assert_eq!(blk.read(reg::CONFIG, 8, &mut env.bus()), 8);
    assert_eq!(env.rd(&mut blk, reg::CONFIG), 8);
    assert_eq!(env.rd(&mut blk, reg::CONFIG + 4), 0);
    assert_eq!(env.rd(&mut blk, reg::CONFIG + 20), 512);
    assert_eq!(blk.kind(), "virtio-blk");

    let mut r = rng(1);
    assert_eq!(env.rd(&mut r, reg::DEVICE_ID), 4);
    assert_eq!(env.rd(&mut r, reg::MAGIC_VALUE), 0x7472_6976);
    assert_eq!(r.kind(), "virtio-rng");
}

#[test]
fn driver_init_sequence_negotiates_features_and_enables_the_queue() {
    let img = TempImage::new(8);
    let mut env = Env::new();
    let mut blk = ro_blk(&img);
    env.init(&mut blk);
    assert!(!env.irq());
    // A read-only image is advertised as such, and the device offers FLUSH.
    let features = blk.device_features();
    assert_ne!(features & VIRTIO_BLK_F_RO, 0);
    assert_ne!(features & VIRTIO_BLK_F_FLUSH, 0);
    assert_ne!(features & VIRTIO_F_VERSION_1, 0);
    // Writing 0 to Status resets everything.
    env.wr(&mut blk, reg::STATUS, 0);
    assert_eq!(env.rd(&mut blk, reg::STATUS), 0);
    assert_eq!(env.rd(&mut blk, reg::QUEUE_READY), 0);
}

#[test]
fn features_are_accepted_as_qemu_does_without_version_1_and_with_unoffered_bits_dropped() {
    let mut env = Env::new();
    let mut dev = rng(1);
    env.wr(&mut dev, reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
    // A driver that never acks VERSION_1 (the spec says refuse; QEMU serves it, and so do we).
    env.wr(&mut dev, reg::DRIVER_FEATURES_SEL, 0);
    env.wr(&mut dev, reg::DRIVER_FEATURES, VIRTIO_F_INDIRECT_DESC as u32 | 1 << 29);
    let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
    env.wr(&mut dev, reg::STATUS, s);
    assert_eq!(env.rd(&mut dev, reg::STATUS), s);
    // Bit 29 was not offered: dropped, as QEMU's virtio_set_features does.
    let accepted = dev.inspect().into_iter().find(|(k, _)| k == "driver_features").map(|(_, v)| v);
    assert_eq!(accepted.as_deref(), Some("0x0000000010000000"));
}

/// The legacy driver sequence of VIRTIO 1.0 section 4.2.4 (as Linux's virtio_mmio does for version 1), with
/// queue 0 placed by page frame at DESC: the avail ring follows the table, the used ring the next `align`.
fn legacy_init(env: &mut Env, dev: &mut dyn Device, align: u32) -> (u64, u64) {
    env.wr(dev, reg::GUEST_PAGE_SIZE, 4096);
    env.wr(dev, reg::STATUS, 0);
    env.wr(dev, reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
    env.wr(dev, reg::DEVICE_FEATURES_SEL, 0);
    let features = env.rd(dev, reg::DEVICE_FEATURES);
    env.wr(dev, reg::DRIVER_FEATURES_SEL, 0);
    env.wr(dev, reg::DRIVER_FEATURES, features);
    env.wr(dev, reg::QUEUE_SEL, 0);
    assert_eq!(env.rd(dev, reg::QUEUE_PFN), 0, "queue not yet placed");
    assert_eq!(env.rd(dev, reg::QUEUE_NUM_MAX), 256);
    env.wr(dev, reg::QUEUE_NUM, u32::from(QSIZE));
    env.wr(dev, reg::QUEUE_ALIGN, align);
    env.wr(dev, reg::QUEUE_PFN, (DESC >> 12) as u32);
    assert_eq!(env.rd(dev, reg::QUEUE_PFN), (DESC >> 12) as u32);
    env.wr(dev, reg::STATUS, status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK);
    let avail = DESC + 16 * u64::from(QSIZE);
    let used = (avail + 6 + 2 * u64::from(QSIZE)).next_multiple_of(u64::from(align));
    (avail, used)
}

#[test]
fn legacy_transport_reports_version_1_and_32_feature_bits() {
    let img = TempImage::new(8);
    let mut env = Env::new();
    let mut blk = ro_blk_on(&img, MmioVersion::Legacy);
    assert_eq!(env.rd(&mut blk, reg::VERSION), 1);
    assert_eq!(env.rd(&mut blk, reg::MAGIC_VALUE), 0x7472_6976);
    assert_eq!(blk.device_features() & VIRTIO_F_VERSION_1, 0, "VERSION_1 is bit 32: a legacy transport has 32");
    env.wr(&mut blk, reg::DEVICE_FEATURES_SEL, 1);
    assert_eq!(env.rd(&mut blk, reg::DEVICE_FEATURES), 0);
    env.wr(&mut blk, reg::DEVICE_FEATURES_SEL, 0);
    assert_ne!(env.rd(&mut blk, reg::DEVICE_FEATURES) & VIRTIO_BLK_F_RO as u32, 0);
    // The modern-only registers are not there.
    env.wr(&mut blk, reg::QUEUE_READY, 1);
    assert_eq!(env.rd(&mut blk, reg::QUEUE_READY), 0);
    assert_eq!(env.rd(&mut blk, reg::CONFIG_GENERATION), 0);
    assert_eq!(env.rd(&mut blk, reg::CONFIG), 8, "capacity in the same configuration space");
}

#[test]
fn legacy_transport_serves_a_block_read_from_rings_placed_by_page_frame() {
    let img = TempImage::new(8);
    let mut env = Env::new();
    let mut blk = ro_blk_on(&img, MmioVersion::Legacy);
    for align in [4096, 64] {
        env.ram.write(DESC, &[0; 0x3000]).unwrap();
        let (avail, used) = legacy_init(&mut env, &mut blk, align);
        // Header, data and status, as in blk_request, but with the rings where the legacy layout puts them.
        env.ram.write_u32(HEADER, VIRTIO_BLK_T_IN).unwrap();
        env.ram.write_u64(HEADER + 8, 1).unwrap();
        env.ram.write(STATUS, &[0xff]).unwrap();
        env.set_desc(DESC, 0, HEADER, 16, VIRTQ_DESC_F_NEXT, 1);
        env.set_desc(DESC, 1, DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
        env.set_desc(DESC, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
        env.ram.write_u16(avail + 4, 0).unwrap();
        env.ram.write_u16(avail + 2, 1).unwrap();
        env.wr(&mut blk, reg::QUEUE_NOTIFY, 0);
        assert_eq!(env.ram.read_u16(used + 2).unwrap(), 1, "align {align}: one used element");
        assert_eq!(env.ram.read_u32(used + 8).unwrap(), 513, "align {align}: 512 data bytes and the status");
        assert_eq!(env.status_byte(), VIRTIO_BLK_S_OK);
        assert_eq!(env.bytes(DATA, 512), pattern(8 * 512)[512..1024]);
        assert!(env.irq());
        env.ack_interrupts(&mut blk);
        // QueuePFN = 0 resets the device, as in QEMU; the guest page size survives (Linux writes it once).
        env.wr(&mut blk, reg::QUEUE_PFN, 0);
        assert_eq!(env.rd(&mut blk, reg::STATUS), 0);
        assert_eq!(env.rd(&mut blk, reg::QUEUE_PFN), 0);
    }
}

#[test]
fn blk_read_through_a_three_descriptor_chain_returns_the_file_bytes() {
    let img = TempImage::new(8);
    let mut env = Env::new();
    let mut blk = ro_blk(&img);
    env.init(&mut blk);
    env.blk_request(&mut blk, VIRTIO_BLK_T_IN, 2, 1024, true);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_OK);
    assert_eq!(env.bytes(DATA, 1024), img.contents()[1024..2048]);
    assert_eq!(env.used_idx(), 1);
    assert_eq!(env.used(0), (0, 1025), "used len counts the data and the status byte");
    assert_eq!(env.rd(&mut blk, reg::INTERRUPT_STATUS), INT_USED_BUFFER);
    assert!(env.irq(), "the interrupt line is raised");
    env.wr(&mut blk, reg::INTERRUPT_ACK, INT_USED_BUFFER);
    assert_eq!(env.rd(&mut blk, reg::INTERRUPT_STATUS), 0);
    assert!(!env.irq(), "acknowledging lowers the line");
}

#[test]
fn blk_read_past_the_end_or_of_a_partial_sector_is_an_io_error() {
    let img = TempImage::new(8);
    let mut env = Env::new();
    let mut blk = ro_blk(&img);
    env.init(&mut blk);
    env.blk_request(&mut blk, VIRTIO_BLK_T_IN, 7, 1024, true);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_IOERR);
    env.blk_request(&mut blk, VIRTIO_BLK_T_IN, u64::MAX, 512, true);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_IOERR);
    env.blk_request(&mut blk, VIRTIO_BLK_T_IN, 0, 100, true);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_IOERR);
    env.blk_request(&mut blk, 0x1234, 0, 512, true);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_UNSUPP);
    assert_eq!(env.used_idx(), 4);
    assert!(!needs_reset(&mut env, &mut blk), "bad requests are answered, not fatal");
}

#[test]
fn blk_write_to_a_read_only_drive_fails_and_leaves_the_file_untouched() {
    let img = TempImage::new(8);
    let before = img.contents();
    let mut env = Env::new();
    let mut blk = ro_blk(&img);
    env.init(&mut blk);
    env.ram.write(DATA, &[0xaa; 512]).unwrap();
    env.blk_request(&mut blk, VIRTIO_BLK_T_OUT, 1, 512, false);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_IOERR);
    assert_eq!(env.used(0), (0, 1));
    assert_eq!(img.contents(), before);
    // FLUSH on a read-only drive is harmless.
    env.blk_request(&mut blk, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_OK);
}

#[test]
fn blk_write_with_the_overlay_reads_back_while_the_base_file_is_unchanged() {
    let img = TempImage::new(8);
    let before = img.contents();
    let mut env = Env::new();
    let mut blk = overlay_blk(&img);
    assert_eq!(blk.device_features() & VIRTIO_BLK_F_RO, 0, "the overlay is writable");
    env.init(&mut blk);
    let new: Vec<u8> = (0..1024).map(|i| (i % 251) as u8).collect();
    env.ram.write(DATA, &new).unwrap();
    env.blk_request(&mut blk, VIRTIO_BLK_T_OUT, 3, 1024, false);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_OK);
    env.ram.write(DATA, &[0; 2048]).unwrap();
    // Read sectors 2..6: unchanged / new / new / unchanged.
    env.blk_request(&mut blk, VIRTIO_BLK_T_IN, 2, 2048, true);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_OK);
    let got = env.bytes(DATA, 2048);
    assert_eq!(got[..512], before[1024..1536]);
    assert_eq!(got[512..1536], new[..]);
    assert_eq!(got[1536..], before[2560..3072]);
    assert_eq!(img.contents(), before, "the user's image is never written");
    assert_eq!(
        blk.inspect().iter().find(|(k, _)| k == "overlay").map(|(_, v)| v.as_str()),
        Some("copy-on-write, 2 dirty sectors")
    );
}

#[test]
fn blk_write_to_a_writable_file_reaches_the_file() {
    let img = TempImage::new(8);
    let mut expected = img.contents();
    let mut env = Env::new();
    let mut blk =
        VirtioMmio::new(Blk::new(Box::new(FileDisk::open_writable(&img.path).unwrap())), IRQ, MmioVersion::Modern);
    env.init(&mut blk);
    env.ram.write(DATA, &[0x5a; 512]).unwrap();
    env.blk_request(&mut blk, VIRTIO_BLK_T_OUT, 5, 512, false);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_OK);
    env.blk_request(&mut blk, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_OK);
    expected[5 * 512..6 * 512].fill(0x5a);
    assert_eq!(img.contents(), expected);
}

#[test]
fn blk_get_id_returns_the_serial() {
    let img = TempImage::new(1);
    let mut env = Env::new();
    let disk = Box::new(FileDisk::open_read_only(&img.path).unwrap());
    let mut blk = VirtioMmio::new(Blk::new(disk).with_serial("rewind-disk-0"), IRQ, MmioVersion::Modern);
    env.init(&mut blk);
    env.ram.write(DATA, &[0xff; 20]).unwrap();
    env.blk_request(&mut blk, VIRTIO_BLK_T_GET_ID, 0, 20, true);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_OK);
    let mut want = b"rewind-disk-0".to_vec();
    want.resize(20, 0);
    assert_eq!(env.bytes(DATA, 20), want);
    assert_eq!(env.used(0).1, 21);
}

#[test]
fn blk_indirect_descriptors_work() {
    let img = TempImage::new(8);
    let mut env = Env::new();
    let mut blk = ro_blk(&img);
    env.init(&mut blk);
    let table = RAM_BASE + 0x9000;
    env.ram.write_u32(HEADER, VIRTIO_BLK_T_IN).unwrap();
    env.ram.write_u64(HEADER + 8, 1).unwrap();
    env.set_desc(table, 0, HEADER, 16, VIRTQ_DESC_F_NEXT, 1);
    env.set_desc(table, 1, DATA, 256, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    env.set_desc(table, 2, DATA + 0x1000, 256, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
    env.set_desc(table, 3, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    env.set_desc(DESC, 5, table, 64, VIRTQ_DESC_F_INDIRECT, 0);
    env.submit(&mut blk, 5);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_OK);
    let file = img.contents();
    assert_eq!(env.bytes(DATA, 256), file[512..768]);
    assert_eq!(env.bytes(DATA + 0x1000, 256), file[768..1024]);
    assert_eq!(env.used(0), (5, 513));
}

#[test]
fn no_interrupt_flag_suppresses_the_used_buffer_interrupt() {
    let mut env = Env::new();
    let mut dev = rng(7);
    env.init(&mut dev);
    env.ram.write_u16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT).unwrap();
    env.set_desc(DESC, 0, DATA, 64, VIRTQ_DESC_F_WRITE, 0);
    env.submit(&mut dev, 0);
    assert_eq!(env.used_idx(), 1);
    assert_eq!(env.rd(&mut dev, reg::INTERRUPT_STATUS), 0);
    assert!(!env.irq());
}

/// Runs one 100-byte rng request (two chained buffers) and returns the bytes.
fn rng_bytes(env: &mut Env, dev: &mut VirtioMmio<Rng>) -> Vec<u8> {
    env.ram.write(DATA, &[0; 100]).unwrap();
    env.set_desc(DESC, 0, DATA, 40, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    env.set_desc(DESC, 1, DATA + 40, 60, VIRTQ_DESC_F_WRITE, 0);
    let before = env.used_idx();
    env.submit(dev, 0);
    assert_eq!(env.used_idx(), before.wrapping_add(1));
    assert_eq!(env.used(before).1, 100);
    env.bytes(DATA, 100)
}

#[test]
fn rng_fills_buffers_deterministically_from_its_seed() {
    let mut env_a = Env::new();
    let mut a = rng(42);
    env_a.init(&mut a);
    let mut env_b = Env::new();
    let mut b = rng(42);
    env_b.init(&mut b);
    let mut env_c = Env::new();
    let mut c = rng(43);
    env_c.init(&mut c);
    let a1 = rng_bytes(&mut env_a, &mut a);
    let a2 = rng_bytes(&mut env_a, &mut a);
    assert_eq!(a1, rng_bytes(&mut env_b, &mut b), "same seed, same bytes");
    assert_eq!(a2, rng_bytes(&mut env_b, &mut b));
    assert_ne!(a1, a2, "the stream moves on");
    assert_ne!(a1, rng_bytes(&mut env_c, &mut c), "different seed, different bytes");
    assert!(a1.iter().filter(|&&x| x == 0).count() < 10, "the buffers were filled");
    assert!(env_a.irq());
}

/// A receive-only device for the input path: each frame from the host fills one buffer of queue 0.
#[derive(Default)]
struct Inbox {
    waiting: std::collections::VecDeque<Vec<u8>>,
}

impl VirtioBackend for Inbox {
    fn kind(&self) -> &'static str {
        "inbox"
    }
    fn device_id(&self) -> u32 {
        1
    }
    fn features(&self) -> u64 {
        0
    }
    fn num_queues(&self) -> usize {
        1
    }
    fn read_config(&self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }
    fn input(&mut self, input: &DeviceInput) -> Option<usize> {
        (input.port == InputPort::Network).then(|| self.waiting.push_back(input.bytes.clone())).map(|()| 0)
    }
    fn has_work(&self, _queue: usize) -> bool {
        !self.waiting.is_empty()
    }
    fn process(&mut self, _queue: usize, chain: &DescChain, ram: &mut Ram) -> u32 {
        let frame = self.waiting.pop_front().unwrap_or_default();
        chain.write_at(ram, 0, &frame) as u32
    }
    fn save(&self) -> Vec<u8> {
        Vec::new()
    }
    fn restore(&mut self, _state: &[u8]) -> Result<(), String> {
        Ok(())
    }
    fn inspect(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

#[test]
fn input_fills_an_available_buffer_or_waits_for_the_next_one() {
    let mut env = Env::new();
    let mut dev = VirtioMmio::new(Inbox::default(), IRQ, MmioVersion::Modern);
    env.init(&mut dev);
    assert!(!dev.input(&DeviceInput::console(b"typed".to_vec()), &mut env.bus()), "not a console");

    // A buffer is available before the frame arrives: the frame lands in it at once.
    env.set_desc(DESC, 0, DATA, 64, VIRTQ_DESC_F_WRITE, 0);
    env.submit(&mut dev, 0);
    assert_eq!(env.used_idx(), 0, "no frame yet: the buffer stays available");
    assert!(dev.input(&DeviceInput::network_frame(b"frame one".to_vec()), &mut env.bus()));
    assert_eq!((env.used_idx(), env.used(0)), (1, (0, 9)));
    assert_eq!(env.bytes(DATA, 9), b"frame one");
    assert!(env.irq());
    env.ack_interrupts(&mut dev);

    // No buffer: the frame waits until the driver makes one available.
    assert!(dev.input(&DeviceInput::network_frame(b"frame two".to_vec()), &mut env.bus()));
    assert_eq!(env.used_idx(), 1);
    env.set_desc(DESC, 1, DATA + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
    env.submit(&mut dev, 1);
    assert_eq!((env.used_idx(), env.used(1)), (2, (1, 9)));
    assert_eq!(env.bytes(DATA + 0x100, 9), b"frame two");
}

#[test]
fn descriptor_outside_ram_sets_needs_reset_without_touching_anything() {
    let mut env = Env::new();
    let mut dev = rng(1);
    env.init(&mut dev);
    env.ack_interrupts(&mut dev);
    for addr in [0x1000, RAM_BASE + (1 << 20) - 8, u64::MAX - 4] {
        env.wr(&mut dev, reg::STATUS, 0);
        env.init(&mut dev);
        env.set_desc(DESC, 0, addr, 64, VIRTQ_DESC_F_WRITE, 0);
        env.submit(&mut dev, 0);
        assert!(needs_reset(&mut env, &mut dev), "addr {addr:#x}");
        assert_eq!(env.used_idx(), 0, "nothing was returned");
        assert_eq!(env.rd(&mut dev, reg::INTERRUPT_STATUS), INT_CONFIG_CHANGE);
        assert!(env.irq());
        // Further notifies are ignored until the driver resets the device.
        env.submit(&mut dev, 0);
        assert_eq!(env.used_idx(), 0);
    }
    // After a reset the device works again.
    env.wr(&mut dev, reg::STATUS, 0);
    assert!(!env.irq());
    env.ram.write(AVAIL, &[0; 64]).unwrap();
    env.init(&mut dev);
    assert_eq!(rng_bytes(&mut env, &mut dev).len(), 100);
}

#[test]
fn descriptor_loops_and_bad_indexes_are_caught() {
    let mut env = Env::new();
    let mut dev = rng(1);
    // 0 -> 1 -> 0 -> ...
    env.init(&mut dev);
    env.set_desc(DESC, 0, DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    env.set_desc(DESC, 1, DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
    env.submit(&mut dev, 0);
    assert!(needs_reset(&mut env, &mut dev));
    // A self-loop inside an indirect table.
    env.wr(&mut dev, reg::STATUS, 0);
    env.ram.write(AVAIL, &[0; 64]).unwrap();
    env.init(&mut dev);
    let table = RAM_BASE + 0x9000;
    env.set_desc(table, 0, DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
    env.set_desc(DESC, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
    env.submit(&mut dev, 0);
    assert!(needs_reset(&mut env, &mut dev));
    // Head and next indexes beyond the queue size, a nested indirect table, an avail index jump.
    for case in 0..4 {
        env.wr(&mut dev, reg::STATUS, 0);
        env.ram.write(AVAIL, &[0; 64]).unwrap();
        env.init(&mut dev);
        match case {
            0 => env.submit(&mut dev, QSIZE),
            1 => {
                env.set_desc(DESC, 0, DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 500);
                env.submit(&mut dev, 0);
            }
            2 => {
                env.set_desc(table, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
                env.set_desc(DESC, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
                env.submit(&mut dev, 0);
            }
            _ => {
                env.ram.write_u16(AVAIL + 2, 1000).unwrap();
                env.wr(&mut dev, reg::QUEUE_NOTIFY, 0);
            }
        }
        assert!(needs_reset(&mut env, &mut dev), "case {case}");
        assert_eq!(env.used_idx(), 0, "case {case}");
    }
}

#[test]
fn huge_indirect_tables_are_capped() {
    let mut env = Env::new();
    let mut dev = rng(1);
    env.init(&mut dev);
    // 4096 zero-length entries chained in order: every entry is valid, the chain is not.
    let table = RAM_BASE + 0x10000;
    for i in 0..4096u16 {
        env.set_desc(table, i, DATA, 0, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, i + 1);
    }
    env.set_desc(table, 4095, DATA, 0, VIRTQ_DESC_F_WRITE, 0);
    env.set_desc(DESC, 0, table, 4096 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    env.submit(&mut dev, 0);
    assert!(needs_reset(&mut env, &mut dev));
    let error = dev.inspect().into_iter().find(|(k, _)| k == "last_error").map(|(_, v)| v);
    assert_eq!(error.as_deref(), Some("descriptor chain too long (loop?)"));
    // A table whose length is not whole descriptors, or that leaves RAM, is refused too.
    for (addr, len) in [(table, 24), (RAM_BASE + (1 << 20) - 16, 32), (table, 0)] {
        env.wr(&mut dev, reg::STATUS, 0);
        env.ram.write(AVAIL, &[0; 64]).unwrap();
        env.init(&mut dev);
        env.set_desc(DESC, 0, addr, len, VIRTQ_DESC_F_INDIRECT, 0);
        env.submit(&mut dev, 0);
        assert!(needs_reset(&mut env, &mut dev), "table {addr:#x}+{len}");
    }
}

#[test]
fn absurd_lengths_are_refused() {
    let mut env = Env::new();
    let mut dev = rng(1);
    env.init(&mut dev);
    env.set_desc(DESC, 0, DATA, u32::MAX, VIRTQ_DESC_F_WRITE, 0);
    env.submit(&mut dev, 0);
    assert!(needs_reset(&mut env, &mut dev));
    // Sixteen descriptors each covering all of RAM are individually valid; the device just fills RAM.
    env.wr(&mut dev, reg::STATUS, 0);
    env.ram.write(AVAIL, &[0; 64]).unwrap();
    env.init(&mut dev);
    env.set_desc(DESC, 0, RAM_BASE, 0, VIRTQ_DESC_F_WRITE, 0);
    env.submit(&mut dev, 0);
    assert!(!needs_reset(&mut env, &mut dev), "an empty buffer is fine");
    assert_eq!(env.used(0).1, 0);
}

#[test]
fn bad_queue_setups_are_refused_and_unready_queues_ignored() {
    let mut env = Env::new();
    let mut dev = rng(1);
    // Notify before DRIVER_OK / of an unready or nonexistent queue: nothing happens.
    env.set_desc(DESC, 0, DATA, 8, VIRTQ_DESC_F_WRITE, 0);
    env.submit(&mut dev, 0);
    env.wr(&mut dev, reg::STATUS, status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK);
    env.wr(&mut dev, reg::QUEUE_NOTIFY, 0);
    env.wr(&mut dev, reg::QUEUE_NOTIFY, 9);
    env.wr(&mut dev, reg::QUEUE_NOTIFY, u32::MAX);
    assert_eq!(env.used_idx(), 0);
    assert!(!needs_reset(&mut env, &mut dev));
    // Queue sizes that are not a power of two (or too big), and rings outside RAM, never become ready.
    let setups: [(u32, u64, u64); 5] =
        [(3, DESC, USED), (0, DESC, USED), (512, DESC, USED), (16, 0x10, USED), (16, DESC, RAM_BASE + (1 << 20) - 8)];
    for (size, desc, used) in setups {
        env.wr(&mut dev, reg::STATUS, 0);
        env.wr(&mut dev, reg::QUEUE_SEL, 0);
        env.wr(&mut dev, reg::QUEUE_NUM, size);
        env.wr(&mut dev, reg::QUEUE_DESC_LOW, desc as u32);
        env.wr(&mut dev, reg::QUEUE_DESC_HIGH, (desc >> 32) as u32);
        env.wr(&mut dev, reg::QUEUE_DRIVER_LOW, AVAIL as u32);
        env.wr(&mut dev, reg::QUEUE_DEVICE_LOW, used as u32);
        env.wr(&mut dev, reg::QUEUE_DEVICE_HIGH, (used >> 32) as u32);
        env.wr(&mut dev, reg::QUEUE_READY, 1);
        assert_eq!(env.rd(&mut dev, reg::QUEUE_READY), 0, "size {size} desc {desc:#x} used {used:#x}");
        assert!(needs_reset(&mut env, &mut dev));
        env.wr(&mut dev, reg::QUEUE_NOTIFY, 0);
    }
    // Odd-sized and misaligned register accesses are ignored and read as zero.
    assert_eq!(dev.read(reg::MAGIC_VALUE, 1, &mut env.bus()), 0);
    assert_eq!(dev.read(reg::MAGIC_VALUE + 2, 4, &mut env.bus()), 0);
    dev.write(reg::STATUS, 8, u64::MAX, &mut env.bus());
    dev.write(reg::QUEUE_NOTIFY, 2, 0, &mut env.bus());
    assert_eq!(dev.read(0xfff, 1, &mut env.bus()), 0);
}

#[test]
fn save_restore_gives_identical_subsequent_behaviour() {
    // rng: the PRNG state travels with the snapshot.
    let mut env = Env::new();
    let mut dev = rng(5);
    env.init(&mut dev);
    rng_bytes(&mut env, &mut dev);
    let snap = dev.save();
    let ram = env.ram.try_clone().unwrap();
    let after = rng_bytes(&mut env, &mut dev);
    // Same configuration (seed), fresh state: everything it does next comes from the snapshot.
    let mut other = rng(5);
    other.restore(&snap).unwrap();
    let mut env2 = Env { ram, signals: Signals::new(1) };
    other.tick(&mut env2.bus());
    assert!(env2.irq(), "the pending interrupt is re-driven after restore");
    assert_eq!(rng_bytes(&mut env2, &mut other), after);
    assert_eq!(dev.inspect(), other.inspect());

    // blk with an overlay: written sectors travel with the snapshot, later writes are undone.
    let img = TempImage::new(8);
    let mut env = Env::new();
    let mut blk = overlay_blk(&img);
    env.init(&mut blk);
    env.ram.write(DATA, &[1; 512]).unwrap();
    env.blk_request(&mut blk, VIRTIO_BLK_T_OUT, 0, 512, false);
    let snap = blk.save();
    let ram = env.ram.try_clone().unwrap();
    env.ram.write(DATA, &[2; 512]).unwrap();
    env.blk_request(&mut blk, VIRTIO_BLK_T_OUT, 0, 512, false);
    env.blk_request(&mut blk, VIRTIO_BLK_T_OUT, 1, 512, false);
    blk.restore(&snap).unwrap();
    env.ram = ram;
    env.blk_request(&mut blk, VIRTIO_BLK_T_IN, 0, 1024, true);
    assert_eq!(env.status_byte(), VIRTIO_BLK_S_OK);
    assert_eq!(env.bytes(DATA, 512), vec![1; 512]);
    assert_eq!(env.bytes(DATA + 512, 512), img.contents()[512..1024]);
    // A fresh device over the same image restored from the snapshot behaves identically.
    let mut fresh = overlay_blk(&img);
    fresh.restore(&snap).unwrap();
    assert_eq!(
        fresh.inspect().iter().find(|(k, _)| k == "overlay").map(|(_, v)| v.clone()),
        Some("copy-on-write, 1 dirty sectors".to_string())
    );

    // Garbage and mismatched snapshots are refused, not trusted.
    assert!(fresh.restore(&[1, 2, 3]).is_err());
    assert!(rng(1).restore(&snap).is_err());
    let small = TempImage::new(4);
    assert!(overlay_blk(&small).restore(&snap).is_err(), "overlay saved over a different-sized base");
}

#[test]
fn inspect_shows_transport_and_device_state() {
    let img = TempImage::new(8);
    let mut env = Env::new();
    let mut blk = overlay_blk(&img);
    env.init(&mut blk);
    env.blk_request(&mut blk, VIRTIO_BLK_T_IN, 0, 512, true);
    let info = blk.inspect();
    let get = |k: &str| info.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    assert!(get("status").contains("DRIVER_OK"));
    assert!(get("queue0").contains("ready=1 size=16"));
    assert!(get("queue0").contains("last_avail_idx=1 used_idx=1"));
    assert_eq!(get("interrupt_status"), "0x1");
    assert!(get("capacity").starts_with("8 sectors"));
    assert_eq!(get("read_only"), "false");
    assert!(get("overlay").contains("0 dirty sectors"));
}

#[test]
fn a_directory_is_no_disk_image() {
    let dir = std::env::temp_dir();
    let errors =
        [FileDisk::open_read_only(&dir).err(), FileDisk::open_writable(&dir).err(), OverlayDisk::open(&dir).err()];
    for e in errors {
        let e = e.expect("a directory opened as a disk");
        assert_eq!(e.to_string(), "it is a directory, not a regular file");
    }
}
