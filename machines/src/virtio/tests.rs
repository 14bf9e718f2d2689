use super::blk::{FileDisk, OverlayDisk, VirtioBlk};
use super::rng::VirtioRng;
use super::testing::*;
use super::*;

fn image(name: &str, sectors: u64) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("rewind-virtio-{}-{name}.img", std::process::id()));
    let data: Vec<u8> = (0..sectors * 512).map(|i| (i / 512) as u8 ^ (i as u8)).collect();
    std::fs::write(&p, data).unwrap();
    p
}

fn blk_header(d: &mut Driver, kind: u32, sector: u64) {
    d.ram.write_u32(DATA, kind).unwrap();
    d.ram.write_u32(DATA + 4, 0).unwrap();
    d.ram.write_u64(DATA + 8, sector).unwrap();
}

#[test]
fn transport_identifies_itself_like_qemu() {
    let mut d = Driver::new(Box::new(VirtioRng::new(1)));
    assert_eq!(d.read(0x000), 0x7472_6976);
    assert_eq!(d.read(0x004), 2);
    assert_eq!(d.read(0x008), 4);
    assert_eq!(d.read(0x00c), 0x554d_4551);
    assert_eq!(d.read(0x034), 256);
    d.write(0x014, 1);
    assert_eq!(d.read(0x010), 1, "VIRTIO_F_VERSION_1 offered");
}

#[test]
fn blk_read_returns_the_image_bytes_and_raises_the_interrupt() {
    let p = image("read", 16);
    let mut d = Driver::new(Box::new(VirtioBlk::new(Box::new(FileDisk::open(&p, false).unwrap()), "disk0")));
    d.init(8);
    assert_eq!(d.read(0x100), 16, "capacity in sectors");
    blk_header(&mut d, 0, 3);
    let used = d.submit(&[(DATA, 16, false), (DATA + 0x100, 1024, true), (DATA + 0x800, 1, true)]);
    assert_eq!(used, Some((0, 1025)));
    let mut buf = vec![0u8; 1024];
    d.ram.read(DATA + 0x100, &mut buf).unwrap();
    assert_eq!(&buf[..], &std::fs::read(&p).unwrap()[3 * 512..5 * 512]);
    assert_eq!(d.ram.read(DATA + 0x800, &mut [0u8; 1]).map(|_| ()), Some(()));
    let mut status = [9u8];
    d.ram.read(DATA + 0x800, &mut status).unwrap();
    assert_eq!(status[0], 0, "S_OK");
    assert_eq!(d.read(0x060), 1);
    assert_ne!(d.lines & (1 << IRQ), 0);
    d.write(0x064, 1);
    assert_eq!(d.lines & (1 << IRQ), 0, "ack lowers the line");
    let _ = std::fs::remove_file(p);
}

#[test]
fn blk_write_to_a_read_only_drive_fails_and_leaves_the_file_alone() {
    let p = image("ro", 8);
    let before = std::fs::read(&p).unwrap();
    let mut d = Driver::new(Box::new(VirtioBlk::new(Box::new(FileDisk::open(&p, false).unwrap()), "ro")));
    d.init(8);
    d.write(0x014, 0);
    assert_ne!(d.read(0x010) & (1 << 5), 0, "VIRTIO_BLK_F_RO");
    blk_header(&mut d, 1, 0);
    d.ram.write(DATA + 0x100, &[0xaa; 512]).unwrap();
    d.submit(&[(DATA, 16, false), (DATA + 0x100, 512, false), (DATA + 0x800, 1, true)]).unwrap();
    let mut status = [0u8];
    d.ram.read(DATA + 0x800, &mut status).unwrap();
    assert_eq!(status[0], 1, "S_IOERR");
    assert_eq!(std::fs::read(&p).unwrap(), before);
    let _ = std::fs::remove_file(p);
}

#[test]
fn overlay_keeps_writes_in_memory_and_survives_save_restore() {
    let p = image("overlay", 8);
    let before = std::fs::read(&p).unwrap();
    let mut d = Driver::new(Box::new(VirtioBlk::new(Box::new(OverlayDisk::open(&p).unwrap()), "snap")));
    d.init(8);
    blk_header(&mut d, 1, 2);
    d.ram.write(DATA + 0x100, &[0x5a; 512]).unwrap();
    d.submit(&[(DATA, 16, false), (DATA + 0x100, 512, false), (DATA + 0x800, 1, true)]).unwrap();
    let saved = d.dev.save();
    // Read it back through the device: the new data, while the file is unchanged.
    let read_back = |d: &mut Driver| {
        blk_header(d, 0, 2);
        d.submit(&[(DATA, 16, false), (DATA + 0x400, 512, true), (DATA + 0x800, 1, true)]).unwrap();
        let mut buf = vec![0u8; 512];
        d.ram.read(DATA + 0x400, &mut buf).unwrap();
        buf
    };
    assert_eq!(read_back(&mut d), vec![0x5a; 512]);
    assert_eq!(std::fs::read(&p).unwrap(), before, "the image is never written");
    let mut fresh = Driver::new(Box::new(VirtioBlk::new(Box::new(OverlayDisk::open(&p).unwrap()), "snap")));
    fresh.dev.restore(&saved).unwrap();
    fresh.ram = d.ram.clone();
    fresh.avail_idx = 2;
    assert_eq!(read_back(&mut fresh), vec![0x5a; 512]);
    let _ = std::fs::remove_file(p);
}

#[test]
fn get_id_returns_the_serial() {
    let p = image("id", 1);
    let mut d = Driver::new(Box::new(VirtioBlk::new(Box::new(FileDisk::open(&p, false).unwrap()), "rewind-disk")));
    d.init(8);
    blk_header(&mut d, 8, 0);
    d.submit(&[(DATA, 16, false), (DATA + 0x100, 20, true), (DATA + 0x800, 1, true)]).unwrap();
    let mut id = [0u8; 11];
    d.ram.read(DATA + 0x100, &mut id).unwrap();
    assert_eq!(&id, b"rewind-disk");
    let _ = std::fs::remove_file(p);
}

#[test]
fn rng_is_deterministic_per_seed() {
    let fill = |seed| {
        let mut d = Driver::new(Box::new(VirtioRng::new(seed)));
        d.init(8);
        assert_eq!(d.submit(&[(DATA, 64, true)]), Some((0, 64)));
        let mut buf = vec![0u8; 64];
        d.ram.read(DATA, &mut buf).unwrap();
        buf
    };
    assert_eq!(fill(7), fill(7));
    assert_ne!(fill(7), fill(8));
    assert_ne!(fill(7), vec![0u8; 64]);
}

#[test]
fn malformed_chains_set_needs_reset_instead_of_panicking() {
    // A descriptor pointing outside RAM.
    let mut d = Driver::new(Box::new(VirtioRng::new(1)));
    d.init(8);
    assert_eq!(d.submit(&[(0x1000, 64, true)]), None);
    assert_ne!(d.read(0x070) & 0x40, 0, "DEVICE_NEEDS_RESET");
    // A descriptor that loops onto itself.
    let mut d = Driver::new(Box::new(VirtioRng::new(1)));
    d.init(8);
    d.ram.write_u64(DESC, DATA).unwrap();
    d.ram.write_u32(DESC + 8, 8).unwrap();
    d.ram.write_u16(DESC + 12, 1 | 2).unwrap();
    d.ram.write_u16(DESC + 14, 0).unwrap();
    d.ram.write_u16(AVAIL + 4, 0).unwrap();
    d.ram.write_u16(AVAIL + 2, 1).unwrap();
    d.write(0x050, 0);
    assert_ne!(d.read(0x070) & 0x40, 0);
    // A queue size that is not a power of two, and notifying a queue that does not exist.
    let mut d = Driver::new(Box::new(VirtioRng::new(1)));
    d.init(6);
    assert_eq!(d.submit(&[(DATA, 8, true)]), None);
    d.write(0x050, 5);
    // Huge lengths.
    let mut d = Driver::new(Box::new(VirtioRng::new(1)));
    d.init(8);
    assert_eq!(d.submit(&[(DATA, u32::MAX, true)]), None);
}

#[test]
fn unready_queue_is_ignored() {
    let mut d = Driver::new(Box::new(VirtioRng::new(1)));
    assert_eq!(d.submit(&[(DATA, 8, true)]), None);
    assert_eq!(d.read(0x060), 0);
}

#[test]
fn reset_clears_queues_and_interrupts() {
    let mut d = Driver::new(Box::new(VirtioRng::new(1)));
    d.init(8);
    d.submit(&[(DATA, 8, true)]).unwrap();
    d.write(0x070, 0);
    assert_eq!((d.read(0x070), d.read(0x060), d.read(0x044)), (0, 0, 0));
    assert_eq!(d.lines, 0);
}
