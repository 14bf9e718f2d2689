//! Firmware, kernel, initrd and device-tree placement, following QEMU 7.2's `hw/riscv/boot.c`.
//!
//! - Firmware (`-bios`): an ELF is loaded at its segments' physical addresses, anything else raw at DRAM base.
//! - Kernel: an ELF is loaded at its segments' physical addresses (entry = `e_entry`); anything else (a Linux
//!   `Image`) is loaded raw at [`kernel_start_addr`], the end of the firmware rounded up to 2 MiB (0x80200000
//!   behind OpenSBI, which fw_jump expects; DRAM base with `-bios none`).
//! - Initrd: at `kernel_entry + min(ram_size / 2, 128 MiB)` ([`initrd_start`]).
//! - Device tree: `align_down(min(dram_end, 3 GiB) - size, 2 MiB)` ([`fdt_addr`]).
//!
//! Nothing here panics on a malformed file: every failure is a [`LoadError`] naming the file.

use std::path::Path;

use object::elf::{FileHeader64, EM_RISCV, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;
use rewind::Ram;

pub const MIB: u64 = 1 << 20;
/// Offset of the riscv Linux `Image` header's magic ("RISCV\0\0\0") and its `image_size` field.
const IMAGE_MAGIC_OFFSET: usize = 48;
const IMAGE_MAGIC: &[u8; 8] = b"RISCV\0\0\0";
const IMAGE_SIZE_OFFSET: usize = 16;

/// A file to load: its name (for messages) and contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFile {
    pub name: String,
    pub data: Vec<u8>,
}

impl ImageFile {
    pub fn new(name: impl Into<String>, data: Vec<u8>) -> ImageFile {
        ImageFile { name: name.into(), data }
    }

    /// Reads `path` from the host. A directory is refused by name (reading one fails with a less telling
    /// EISDIR); pipes and devices are read like files.
    pub fn read(path: impl AsRef<Path>) -> Result<ImageFile, LoadError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(LoadError::Directory { file: name });
        }
        match std::fs::read(path) {
            Ok(data) => Ok(ImageFile { name, data }),
            Err(error) => Err(LoadError::Read { file: name, error }),
        }
    }
}

/// Where a file landed: `[start, end)` in guest-physical memory, and its entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub start: u64,
    pub end: u64,
    pub entry: u64,
}

/// Each message is complete on its own: a cause is part of the text, not also an error `source()` (which
/// `anyhow`'s `{:#}` would print a second time).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {file}: {error}")]
    Read { file: String, error: std::io::Error },
    #[error("cannot read {file}: it is a directory")]
    Directory { file: String },
    /// QEMU: "could not load kernel 'FILE'". An empty image would leave the hart running zeroed RAM.
    #[error("could not load {role} '{file}': the file is empty")]
    EmptyFile { role: &'static str, file: String },
    #[error("{file}: malformed ELF: {reason}")]
    MalformedElf { file: String, reason: String },
    #[error("{file}: not a RISC-V ELF (e_machine {machine})")]
    NotRiscv { file: String, machine: u16 },
    #[error("{file}: segment [{start:#x}, {end:#x}) lies outside RAM [{ram_start:#x}, {ram_end:#x})")]
    OutsideRam { file: String, start: u64, end: u64, ram_start: u64, ram_end: u64 },
    #[error("{file}: {size} bytes at {addr:#x} do not fit in RAM [{ram_start:#x}, {ram_end:#x})")]
    TooBig { file: String, size: u64, addr: u64, ram_start: u64, ram_end: u64 },
    #[error("{file}: contains no loadable segment")]
    Empty { file: String },
}

fn ram_end(ram: &Ram) -> u64 {
    ram.base().saturating_add(ram.size())
}

/// True if `data` starts with the ELF magic.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

/// Loads a 64-bit RISC-V ELF at its segments' physical addresses.
pub fn load_elf(ram: &mut Ram, file: &ImageFile) -> Result<Loaded, LoadError> {
    let malformed = |reason: String| LoadError::MalformedElf { file: file.name.clone(), reason };
    let data = file.data.as_slice();
    let header = FileHeader64::<Endianness>::parse(data).map_err(|e| malformed(e.to_string()))?;
    let endian = header.endian().map_err(|e| malformed(e.to_string()))?;
    let machine = header.e_machine(endian);
    if machine != EM_RISCV {
        return Err(LoadError::NotRiscv { file: file.name.clone(), machine });
    }
    let phdrs = header.program_headers(endian, data).map_err(|e| malformed(e.to_string()))?;
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for ph in phdrs.iter().filter(|ph| ph.p_type(endian) == PT_LOAD) {
        let (paddr, filesz, memsz) = (ph.p_paddr(endian), ph.p_filesz(endian), ph.p_memsz(endian));
        if filesz > memsz {
            return Err(malformed(format!("segment at {paddr:#x} has p_filesz {filesz:#x} > p_memsz {memsz:#x}")));
        }
        if memsz == 0 {
            continue;
        }
        let offset = ph.p_offset(endian);
        let bytes = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(filesz).ok())
            .and_then(|(o, n)| data.get(o..o.checked_add(n)?))
            .ok_or_else(|| malformed(format!("segment at {paddr:#x} extends past the end of the file")))?;
        let end = paddr.checked_add(memsz).ok_or_else(|| malformed(format!("segment at {paddr:#x} wraps")))?;
        if ram.offset_of(paddr, memsz).is_none() {
            return Err(LoadError::OutsideRam {
                file: file.name.clone(),
                start: paddr,
                end,
                ram_start: ram.base(),
                ram_end: ram_end(ram),
            });
        }
        let mut image = bytes.to_vec();
        image.resize(memsz as usize, 0);
        ram.write(paddr, &image).ok_or_else(|| malformed(format!("segment at {paddr:#x} not writable")))?;
        lo = lo.min(paddr);
        hi = hi.max(end);
    }
    if lo > hi {
        return Err(LoadError::Empty { file: file.name.clone() });
    }
    Ok(Loaded { start: lo, end: hi, entry: header.e_entry(endian) })
}

/// Loads `file` byte for byte at `addr` (`reserve` bytes must fit, at least the file's size).
pub fn load_raw(ram: &mut Ram, file: &ImageFile, addr: u64, reserve: u64) -> Result<Loaded, LoadError> {
    let size = reserve.max(file.data.len() as u64);
    let (ram_start, ram_end) = (ram.base(), ram_end(ram));
    let too_big = || LoadError::TooBig { file: file.name.clone(), size, addr, ram_start, ram_end };
    if ram.offset_of(addr, size).is_none() {
        return Err(too_big());
    }
    ram.write(addr, &file.data).ok_or_else(too_big)?;
    Ok(Loaded { start: addr, end: addr + size, entry: addr })
}

/// Refuses an empty `file` loaded as `role` (QEMU refuses an empty kernel or firmware too).
fn check_not_empty(file: &ImageFile, role: &'static str) -> Result<(), LoadError> {
    match file.data.is_empty() {
        true => Err(LoadError::EmptyFile { role, file: file.name.clone() }),
        false => Ok(()),
    }
}

/// Loads firmware: ELF at its addresses, else raw at `base`.
pub fn load_firmware(ram: &mut Ram, file: &ImageFile, base: u64) -> Result<Loaded, LoadError> {
    check_not_empty(file, "firmware")?;
    if is_elf(&file.data) {
        load_elf(ram, file)
    } else {
        load_raw(ram, file, base, 0)
    }
}

/// Where QEMU loads a raw kernel: the firmware's end rounded up to 2 MiB (rv64).
pub fn kernel_start_addr(firmware_end: u64) -> u64 {
    align_up(firmware_end, 2 * MIB)
}

/// `image_size` from a riscv Linux `Image` header (the memory the kernel needs, bss included), if it has one.
pub fn linux_image_size(data: &[u8]) -> Option<u64> {
    let magic = data.get(IMAGE_MAGIC_OFFSET..IMAGE_MAGIC_OFFSET + 8)?;
    if magic != IMAGE_MAGIC {
        return None;
    }
    let size = data.get(IMAGE_SIZE_OFFSET..IMAGE_SIZE_OFFSET + 8)?;
    Some(u64::from_le_bytes(size.try_into().ok()?))
}

/// Loads a kernel: ELF at its addresses, else raw at `start` (reserving the `Image` header's `image_size`).
pub fn load_kernel(ram: &mut Ram, file: &ImageFile, start: u64) -> Result<Loaded, LoadError> {
    check_not_empty(file, "kernel")?;
    if is_elf(&file.data) {
        load_elf(ram, file)
    } else {
        load_raw(ram, file, start, linux_image_size(&file.data).unwrap_or(0))
    }
}

/// QEMU 7.2's initrd address: far enough above the kernel for it to decompress, low enough to stay in lowmem.
pub fn initrd_start(kernel_entry: u64, ram_size: u64) -> u64 {
    kernel_entry.saturating_add((ram_size / 2).min(128 * MIB))
}

pub fn load_initrd(ram: &mut Ram, file: &ImageFile, kernel_entry: u64) -> Result<Loaded, LoadError> {
    let start = initrd_start(kernel_entry, ram.size());
    load_raw(ram, file, start, 0)
}

/// QEMU 7.2's device-tree address for a tree of `size` bytes; `None` if it does not fit in RAM.
pub fn fdt_addr(dram_base: u64, ram_size: u64, size: u64) -> Option<u64> {
    const LIMIT: u64 = 3072 * MIB;
    let dram_end = dram_base.checked_add(ram_size)?;
    let top = if dram_base < LIMIT { dram_end.min(LIMIT) } else { dram_end };
    let addr = align_down(top.checked_sub(size)?, 2 * MIB);
    (addr >= dram_base).then_some(addr)
}

pub fn align_up(x: u64, align: u64) -> u64 {
    x.saturating_add(align - 1) & !(align - 1)
}

pub fn align_down(x: u64, align: u64) -> u64 {
    x & !(align - 1)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const BASE: u64 = 0x8000_0000;

    /// A minimal ELF64 RISC-V executable: header + one PT_LOAD at `paddr` holding `code`, with `bss` extra
    /// zero bytes in memory.
    pub(crate) fn tiny_elf(paddr: u64, entry: u64, code: &[u8], bss: u64) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(b"\x7fELF");
        e.extend_from_slice(&[2, 1, 1, 0]); // ELFCLASS64, little-endian, EV_CURRENT, SYSV
        e.extend_from_slice(&[0; 8]);
        e.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        e.extend_from_slice(&243u16.to_le_bytes()); // EM_RISCV
        e.extend_from_slice(&1u32.to_le_bytes());
        e.extend_from_slice(&entry.to_le_bytes());
        e.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
        e.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        e.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        e.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
        e.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
        e.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
        e.extend_from_slice(&[0; 6]); // shentsize, shnum, shstrndx
        assert_eq!(e.len(), 64);
        e.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        e.extend_from_slice(&5u32.to_le_bytes()); // R+X
        e.extend_from_slice(&120u64.to_le_bytes()); // p_offset
        e.extend_from_slice(&(paddr | 0xffff_ffff_0000_0000).to_le_bytes()); // p_vaddr (ignored)
        e.extend_from_slice(&paddr.to_le_bytes());
        e.extend_from_slice(&(code.len() as u64).to_le_bytes());
        e.extend_from_slice(&(code.len() as u64 + bss).to_le_bytes());
        e.extend_from_slice(&0x1000u64.to_le_bytes());
        assert_eq!(e.len(), 120);
        e.extend_from_slice(code);
        e
    }

    #[test]
    fn elf_segments_land_at_their_physical_address_with_bss_zeroed() {
        let mut ram = Ram::new(BASE, 0x10000).unwrap();
        ram.write(0x8000_2004, &[0xaa; 4]).unwrap();
        let elf = ImageFile::new("k.elf", tiny_elf(0x8000_2000, 0x8000_2000, &[1, 2, 3, 4], 8));
        let l = load_kernel(&mut ram, &elf, 0).unwrap();
        assert_eq!(l, Loaded { start: 0x8000_2000, end: 0x8000_200c, entry: 0x8000_2000 });
        assert_eq!(ram.read_u32(0x8000_2000), Some(0x0403_0201));
        assert_eq!(ram.read_u32(0x8000_2004), Some(0), "bss zeroed");
    }

    #[test]
    fn truncated_or_foreign_elves_are_errors_naming_the_file() {
        let mut ram = Ram::new(BASE, 0x10000).unwrap();
        let good = tiny_elf(BASE, BASE, &[0; 16], 0);
        for len in [4, 20, 63, 100, 130] {
            let f = ImageFile::new("cut.elf", good[..len].to_vec());
            let err = load_elf(&mut ram, &f).unwrap_err();
            assert!(matches!(err, LoadError::MalformedElf { .. }), "len {len}: {err}");
            assert!(err.to_string().starts_with("cut.elf: malformed ELF"), "{err}");
        }
        let mut x86 = good.clone();
        x86[18] = 62;
        let err = load_elf(&mut ram, &ImageFile::new("x86.elf", x86)).unwrap_err();
        assert!(matches!(err, LoadError::NotRiscv { machine: 62, .. }), "{err}");
    }

    #[test]
    fn a_segment_outside_ram_is_an_error() {
        let mut ram = Ram::new(BASE, 0x10000).unwrap();
        let f = ImageFile::new("far.elf", tiny_elf(BASE + 0xfff0, BASE, &[0; 32], 0));
        let err = load_elf(&mut ram, &f).unwrap_err();
        assert!(matches!(err, LoadError::OutsideRam { start: 0x8000_fff0, end: 0x8001_0010, .. }), "{err}");
        assert!(err.to_string().contains("far.elf"));
    }

    #[test]
    fn raw_kernel_too_big_for_ram_is_an_error_naming_the_file() {
        let mut ram = Ram::new(BASE, 4 * MIB).unwrap();
        let f = ImageFile::new("Image", vec![0; 3 * MIB as usize]);
        let err = load_kernel(&mut ram, &f, BASE + 2 * MIB).unwrap_err();
        assert!(matches!(err, LoadError::TooBig { addr: 0x8020_0000, .. }), "{err}");
        assert!(err.to_string().starts_with("Image: "), "{err}");
    }

    #[test]
    fn image_header_size_reserves_room_for_bss() {
        let mut ram = Ram::new(BASE, 4 * MIB).unwrap();
        let mut img = vec![0u8; 64];
        img[IMAGE_SIZE_OFFSET..IMAGE_SIZE_OFFSET + 8].copy_from_slice(&(3 * MIB).to_le_bytes());
        img[IMAGE_MAGIC_OFFSET..IMAGE_MAGIC_OFFSET + 8].copy_from_slice(IMAGE_MAGIC);
        let f = ImageFile::new("Image", img);
        assert_eq!(linux_image_size(&f.data), Some(3 * MIB));
        assert!(load_kernel(&mut ram, &f, BASE + 2 * MIB).is_err(), "3 MiB do not fit above 2 MiB of 4");
        assert_eq!(load_kernel(&mut ram, &f, BASE).unwrap().end, BASE + 3 * MIB);
    }

    #[test]
    fn placement_follows_qemu_7_2() {
        assert_eq!(kernel_start_addr(BASE + 0x4_1234), 0x8020_0000);
        assert_eq!(kernel_start_addr(BASE), BASE);
        assert_eq!(initrd_start(0x8020_0000, 256 * MIB), 0x8820_0000);
        assert_eq!(initrd_start(0x8020_0000, 64 * MIB), 0x8220_0000);
        assert_eq!(fdt_addr(BASE, 256 * MIB, 0x1000), Some(0x8fe0_0000));
        assert_eq!(fdt_addr(BASE, 4096 * MIB, 0x1000), Some(0xbfe0_0000), "kept below 3 GiB");
        assert_eq!(fdt_addr(BASE, MIB, 0x1000), Some(BASE));
        assert_eq!(fdt_addr(BASE, 0x1000, 0x2000), None);
    }

    /// The message and its causes as `anyhow`'s `{:#}` prints them.
    fn chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut cause = err.source();
        while let Some(c) = cause {
            text += &format!(": {c}");
            cause = c.source();
        }
        text
    }

    #[test]
    fn missing_file_error_names_it_and_says_the_cause_once() {
        let err = ImageFile::read("/nonexistent/rewind-test-file").unwrap_err();
        assert!(err.to_string().starts_with("cannot read /nonexistent/rewind-test-file: "), "{err}");
        let text = chain(&err);
        assert_eq!(text.matches("No such file").count(), 1, "{text}");
    }

    #[test]
    fn a_directory_is_not_an_image() {
        let dir = std::env::temp_dir();
        let err = ImageFile::read(&dir).unwrap_err();
        assert!(matches!(err, LoadError::Directory { .. }), "{err}");
        assert_eq!(chain(&err), format!("cannot read {}: it is a directory", dir.display()));
    }

    #[test]
    fn an_empty_kernel_or_firmware_is_refused_as_qemu_does() {
        let mut ram = Ram::new(BASE, 4 * MIB).unwrap();
        let empty = ImageFile::new("empty.bin", Vec::new());
        let err = load_kernel(&mut ram, &empty, BASE).unwrap_err();
        assert_eq!(err.to_string(), "could not load kernel 'empty.bin': the file is empty");
        let err = load_firmware(&mut ram, &empty, BASE).unwrap_err();
        assert_eq!(err.to_string(), "could not load firmware 'empty.bin': the file is empty");
        // QEMU takes an empty initrd; so do we.
        assert!(load_initrd(&mut ram, &empty, BASE).is_ok());
    }
}
