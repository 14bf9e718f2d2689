//! QEMU's RISC-V `virt` board (as of QEMU 7.2): the memory map as a table, and [`build`], which turns a
//! [`VirtConfig`] into a [`Machine`] with firmware, kernel, initrd, device tree and boot ROM in place.
//!
//! Boot flow, as QEMU: every hart starts in the boot ROM at 0x1000, which puts the hart id in `a0`, the device
//! tree address in `a1` and the `fw_dynamic_info` address in `a2`, and jumps to the start address (the firmware
//! at DRAM base; with `-bios none`, the kernel's entry).

use std::io::Write;
use std::path::PathBuf;

use rewind::machine::LoadedImage;
use rewind::memory::human_size;
use rewind::{CpuConfig, Machine, MachineBuilder, RamError};

use crate::clint::Clint;
use crate::fdt::{self, FdtDevice, FdtError, FdtParams, PciHost};
use crate::goldfish_rtc::GoldfishRtc;
use crate::loader::{self, ImageFile, LoadError, Loaded};
use crate::pci::endpoint::{bar_offset, FUNCTION_SPACE};
use crate::pci::{self, Gpex, PciFunction};
use crate::pflash::{self, FlashImage, Pflash};
use crate::plic::Plic;
use crate::sifive_test::SifiveTest;
use crate::uart16550::Uart16550;
use crate::virtio::mmio::MmioVersion;
use crate::virtio_empty::EmptyVirtioSlot;
use rewind::memory::MemoryRegion;

/// What sits in a slot of the board's memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Mrom,
    Test,
    Rtc,
    Clint,
    Plic,
    Uart0,
    /// Virtio-mmio transport `i` (0..8), filled from [`VirtConfig::virtio`].
    VirtioMmio(usize),
    /// The PCIe host bridge's configuration window (ECAM).
    PcieEcam,
    /// Flash bank `i` (0 or 1), from [`VirtConfig::pflash`].
    Flash(usize),
    Dram,
}

/// One row of the memory map. `name` is the region name QEMU's `info mtree` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemMapEntry {
    pub slot: Slot,
    pub name: &'static str,
    pub base: u64,
    /// 0 for DRAM, whose size comes from the config.
    pub size: u64,
    pub irq: Option<u32>,
}

pub const VIRTIO_SLOTS: usize = 8;
pub const VIRTIO_BASE: u64 = 0x1000_1000;
pub const VIRTIO_SIZE: u64 = 0x1000;
pub const VIRTIO_IRQ: u32 = 1;
/// The PLIC lines of PCI INTA..INTD (of slot 0; the others' are rotated).
pub const PCIE_IRQ: u32 = 0x20;
pub const UART0_IRQ: u32 = 10;
pub const RTC_IRQ: u32 = 11;
pub const MROM_BASE: u64 = 0x1000;
/// The first flash bank; the second follows it.
pub const FLASH_BASE: u64 = 0x2000_0000;
pub const DRAM_BASE: u64 = 0x8000_0000;
pub const MAX_HARTS: usize = 8;
/// Largest RAM accepted (the board's DRAM window in QEMU 7.2 has no fixed end; this keeps allocation sane).
pub const MAX_RAM: u64 = 64 << 30;
pub const DEFAULT_RAM: u64 = 128 << 20;
/// Debian's OpenSBI (package `opensbi`), QEMU's default `-bios` on Debian.
pub const DEFAULT_FIRMWARE: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";

const fn e(slot: Slot, name: &'static str, base: u64, size: u64, irq: Option<u32>) -> MemMapEntry {
    MemMapEntry { slot, name, base, size, irq }
}

const fn virtio(i: usize) -> MemMapEntry {
    e(
        Slot::VirtioMmio(i),
        "virtio-mmio",
        VIRTIO_BASE + i as u64 * VIRTIO_SIZE,
        VIRTIO_SIZE,
        Some(VIRTIO_IRQ + i as u32),
    )
}

/// QEMU 7.2 `virt_memmap`, restricted to the devices this board has.
pub const VIRT_MEMMAP: [MemMapEntry; 18] = [
    e(Slot::Mrom, "riscv_virt_board.mrom", MROM_BASE, 0xf000, None),
    e(Slot::Test, "riscv.sifive.test", 0x10_0000, 0x1000, None),
    e(Slot::Rtc, "goldfish_rtc", 0x10_1000, 0x1000, Some(RTC_IRQ)),
    e(Slot::Clint, "riscv.sifive.clint", 0x200_0000, 0x1_0000, None),
    e(Slot::Plic, "riscv.sifive.plic", 0xc00_0000, 0x60_0000, None),
    e(Slot::Uart0, "serial", 0x1000_0000, 0x100, Some(UART0_IRQ)),
    virtio(0),
    virtio(1),
    virtio(2),
    virtio(3),
    virtio(4),
    virtio(5),
    virtio(6),
    virtio(7),
    e(Slot::Flash(0), "virt.flash0", FLASH_BASE, pflash::BANK_SIZE, None),
    e(Slot::Flash(1), "virt.flash1", FLASH_BASE + pflash::BANK_SIZE, pflash::BANK_SIZE, None),
    e(Slot::PcieEcam, "pcie-mmcfg-mmio", 0x3000_0000, 0x1000_0000, Some(PCIE_IRQ)),
    e(Slot::Dram, "riscv_virt_board.ram", DRAM_BASE, 0, None),
];

/// The firmware (`-bios`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// [`DEFAULT_FIRMWARE`].
    Default,
    /// `-bios none`: no firmware; the kernel (if any) runs in M mode from reset.
    None,
    Path(PathBuf),
    Image(ImageFile),
}

pub struct VirtConfig {
    pub harts: usize,
    /// What kind of harts (QEMU's `-cpu`).
    pub cpu: CpuConfig,
    pub ram_size: u64,
    /// Where the UART's output goes.
    pub console_out: Box<dyn Write + Send>,
    /// RTC time at virtual time 0, ns since the epoch (from the command line or the replay log).
    pub rtc_start_ns: u64,
    /// Devices for the 8 virtio-mmio slots (slot i at 0x10001000 + i*0x1000, irq 1+i); `None` maps nothing,
    /// but the slot is still listed in the device tree, as QEMU does.
    pub virtio: [Option<Box<dyn FdtDevice>>; VIRTIO_SLOTS],
    /// The register layout of the empty virtio-mmio slots: the one the devices in the others use (QEMU's
    /// `-global virtio-mmio.force-legacy`).
    pub virtio_mmio_version: MmioVersion,
    /// Devices behind the PCIe host bridge, in the order QEMU would create them.
    pub pci: Vec<PciPlug>,
    /// What the two flash banks hold (`-drive if=pflash,unit=N`); `None`: zeros, as QEMU's without a drive. As
    /// in QEMU 7.2, an image in bank 0 is where the harts start (in M mode, after the boot ROM), and one in bank
    /// 1 is where the firmware enters S mode.
    pub pflash: [Option<FlashImage>; 2],
    pub bios: Firmware,
    pub kernel: Option<ImageFile>,
    pub initrd: Option<ImageFile>,
    /// Kernel command line (`/chosen/bootargs`).
    pub append: String,
}

impl VirtConfig {
    /// QEMU's defaults: 1 hart, 128 MiB, default firmware, no kernel, empty virtio slots, RTC at the epoch.
    pub fn new(console_out: Box<dyn Write + Send>) -> VirtConfig {
        VirtConfig {
            harts: 1,
            cpu: CpuConfig::default(),
            ram_size: DEFAULT_RAM,
            console_out,
            rtc_start_ns: 0,
            virtio: Default::default(),
            virtio_mmio_version: MmioVersion::default(),
            pci: Vec::new(),
            pflash: [None, None],
            bios: Firmware::Default,
            kernel: None,
            initrd: None,
            append: String::new(),
        }
    }
}

/// A device for the PCIe host bridge's bus 0.
pub struct PciPlug {
    /// The device number asked for (QEMU's `addr=`); without one it takes the lowest free, as in QEMU.
    pub slot: Option<u8>,
    pub function: Box<dyn PciFunction>,
}

/// Where things were put, for the CLI and the debugger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootInfo {
    /// Where harts start (the boot ROM).
    pub reset_pc: u64,
    /// Where the boot ROM jumps.
    pub start_addr: u64,
    pub fdt_addr: u64,
    pub fdt: Vec<u8>,
    pub firmware: Option<Loaded>,
    pub kernel: Option<Loaded>,
    pub initrd: Option<Loaded>,
}

#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error("virt: {0} harts requested, the board supports 1 to {MAX_HARTS}")]
    Harts(usize),
    #[error("virt: RAM size {} is not a non-zero multiple of 4 KiB up to {}", human_size(*.0), human_size(MAX_RAM))]
    RamSize(u64),
    #[error(transparent)]
    Ram(#[from] RamError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Fdt(#[from] FdtError),
    #[error("virt: no room in RAM for the {0}-byte device tree")]
    FdtNoRoom(u64),
    #[error("virt: PCI slot {slot} is not available for {kind}: {why}")]
    PciSlot { slot: u8, kind: &'static str, why: &'static str },
    #[error("virt: no free PCI slot for {0} (bus 0 has 31)")]
    PciFull(&'static str),
    #[error(
        "virt: -kernel with firmware in the second flash bank: QEMU passes the kernel to it through fw_cfg, which \
         rewind does not have yet"
    )]
    PflashKernel,
    #[error("virt: {a} [{a_start:#x}, {a_end:#x}) overlaps {b} [{b_start:#x}, {b_end:#x})")]
    Overlap { a: String, a_start: u64, a_end: u64, b: String, b_start: u64, b_end: u64 },
}

/// The board-table entry for `slot`.
pub fn memmap(slot: Slot) -> Option<&'static MemMapEntry> {
    VIRT_MEMMAP.iter().find(|e| e.slot == slot)
}

/// QEMU's `riscv_setup_rom_reset_vec`: the reset code, start and FDT addresses, then `fw_dynamic_info`.
pub fn reset_rom(start_addr: u64, fdt_addr: u64, kernel_entry: u64) -> Vec<u8> {
    const FW_DYNAMIC_INFO_MAGIC: u64 = 0x4942_534f;
    const FW_DYNAMIC_INFO_VERSION: u64 = 2;
    const NEXT_MODE_S: u64 = 1;
    let code: [u32; 6] = [
        0x0000_0297, // 1: auipc t0, %pcrel_hi(fw_dyn)
        0x0282_8613, //    addi  a2, t0, %pcrel_lo(1b)
        0xf140_2573, //    csrr  a0, mhartid
        0x0202_b583, //    ld    a1, 32(t0)
        0x0182_b283, //    ld    t0, 24(t0)
        0x0002_8067, //    jr    t0
    ];
    let mut rom: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    for v in [start_addr, fdt_addr] {
        rom.extend_from_slice(&v.to_le_bytes());
    }
    for v in [FW_DYNAMIC_INFO_MAGIC, FW_DYNAMIC_INFO_VERSION, kernel_entry, NEXT_MODE_S, 0, 0] {
        rom.extend_from_slice(&v.to_le_bytes());
    }
    rom
}

fn check_overlaps(ranges: &[(String, Loaded)]) -> Result<(), BoardError> {
    for (i, (a, ra)) in ranges.iter().enumerate() {
        for (b, rb) in &ranges[i + 1..] {
            if ra.start < rb.end && rb.start < ra.end {
                return Err(BoardError::Overlap {
                    a: a.clone(),
                    a_start: ra.start,
                    a_end: ra.end,
                    b: b.clone(),
                    b_start: rb.start,
                    b_end: rb.end,
                });
            }
        }
    }
    Ok(())
}

/// Puts each PCI device in its slot on bus 0 — the ones that asked for one, then the others in the lowest free
/// slots — and maps it: its configuration space into ECAM at `ecam`, its BARs as regions that stay disabled until
/// the guest places them. Slot `n`'s INTA raises line `intx_base + n % 4` (the swizzle of the device tree's
/// `interrupt-map`).
fn plug_pci(
    builder: &mut MachineBuilder,
    ecam: u64,
    intx_base: u32,
    windows: &[fdt::PciWindow],
    devices: Vec<PciPlug>,
) -> Result<(), BoardError> {
    let mut taken = [false; pci::SLOTS as usize];
    taken[0] = true;
    let mut placed = Vec::new();
    for plug in &devices {
        let kind = plug.function.kind();
        let slot = match plug.slot {
            Some(0) => return Err(BoardError::PciSlot { slot: 0, kind, why: "it is the host bridge's" }),
            Some(n) if n >= pci::SLOTS => return Err(BoardError::PciSlot { slot: n, kind, why: "bus 0 has 31" }),
            Some(n) if taken[n as usize] => return Err(BoardError::PciSlot { slot: n, kind, why: "it is in use" }),
            Some(n) => n,
            None => (1..pci::SLOTS).find(|n| !taken[*n as usize]).ok_or(BoardError::PciFull(kind))?,
        };
        taken[slot as usize] = true;
        placed.push(slot);
    }
    for (plug, slot) in devices.into_iter().zip(placed) {
        let mut function = plug.function;
        let ep = function.endpoint_mut();
        let intx_line = intx_base + u32::from(slot) % 4;
        ep.plug(pci::endpoint::Slot { devfn: slot << 3, intx_line, windows: windows.to_vec() });
        let name = format!("{} {}", function.kind(), function.endpoint().address());
        let config_region = function.endpoint().config_region();
        let bars: Vec<(String, usize, u64)> =
            function.endpoint().bars().map(|(i, bar)| (function.endpoint().bar_region(i), i, bar.size)).collect();
        let id = builder.add_unmapped_device(&name, function);
        let whole = MemoryRegion::io(&name, FUNCTION_SPACE, id);
        let root = builder.root_mut();
        let config = MemoryRegion::alias(&config_region, &whole, 0, 0x1000);
        root.add_subregion(ecam + (u64::from(slot) << 15), config, 1);
        for (region, i, size) in bars {
            root.add_subregion(0, MemoryRegion::alias(&region, &whole, bar_offset(i), size), 1);
            root.place_subregion(&region, None);
        }
    }
    Ok(())
}

/// Builds the board: loads firmware, kernel and initrd, generates and places the device tree, writes the boot
/// ROM and maps every device of [`VIRT_MEMMAP`].
pub fn build(config: VirtConfig) -> Result<(Machine, BootInfo), BoardError> {
    let VirtConfig {
        harts,
        cpu,
        ram_size,
        console_out,
        rtc_start_ns,
        virtio,
        virtio_mmio_version,
        pci,
        pflash,
        bios,
        kernel,
        initrd,
        append,
    } = config;
    if !(1..=MAX_HARTS).contains(&harts) {
        return Err(BoardError::Harts(harts));
    }
    if ram_size == 0 || ram_size & 0xfff != 0 || ram_size > MAX_RAM {
        return Err(BoardError::RamSize(ram_size));
    }
    let dram = memmap(Slot::Dram).map_or(DRAM_BASE, |e| e.base);
    let ram_name = memmap(Slot::Dram).map_or("ram", |e| e.name);
    let mut builder = MachineBuilder::new(harts, ram_name, dram, ram_size)?;
    builder.set_cpu(cpu);
    let mut placed: Vec<(String, Loaded)> = Vec::new();

    let firmware_file = match bios {
        Firmware::None => None,
        Firmware::Default => Some(ImageFile::read(DEFAULT_FIRMWARE)?),
        Firmware::Path(path) => Some(ImageFile::read(path)?),
        Firmware::Image(image) => Some(image),
    };
    let firmware = match &firmware_file {
        Some(f) => {
            let l = loader::load_firmware(builder.ram_mut(), f, dram)?;
            placed.push((f.name.clone(), l));
            Some(l)
        }
        None => None,
    };
    let firmware_end = firmware.map_or(dram, |l| l.end);

    let mut kernel_loaded = None;
    let mut initrd_loaded = None;
    // QEMU 7.2 hands the kernel to firmware in the second flash bank through fw_cfg.
    if pflash[1].is_some() && kernel.is_some() {
        return Err(BoardError::PflashKernel);
    }
    if let Some(k) = &kernel {
        let l = loader::load_kernel(builder.ram_mut(), k, loader::kernel_start_addr(firmware_end))?;
        placed.push((k.name.clone(), l));
        kernel_loaded = Some(l);
        if let Some(i) = &initrd {
            let li = loader::load_initrd(builder.ram_mut(), i, l.entry)?;
            placed.push((i.name.clone(), li));
            initrd_loaded = Some(li);
        }
    }
    // QEMU ignores an initrd without a kernel; so do we. Firmware in the second flash bank is where the
    // firmware in RAM goes next, in S mode.
    let kernel_entry = match &pflash[1] {
        Some(_) => FLASH_BASE + pflash::BANK_SIZE,
        None => kernel_loaded.map_or(0, |l| l.entry),
    };
    let flash0_given = pflash[0].is_some();
    let mut pflash = pflash;

    let mut console_out = Some(console_out);
    let mut virtio = virtio;
    // What each device says of itself in the device tree, by device id.
    let mut nodes = Vec::new();
    for entry in &VIRT_MEMMAP {
        let device: Option<Box<dyn FdtDevice>> = match entry.slot {
            // The boot ROM holds the device tree's address: it is mapped once the tree is placed.
            Slot::Mrom | Slot::Dram => None,
            Slot::Test => Some(Box::new(SifiveTest::new())),
            Slot::Rtc => Some(Box::new(GoldfishRtc::new(rtc_start_ns, entry.irq.unwrap_or(RTC_IRQ)))),
            Slot::Clint => Some(Box::new(Clint::new(harts))),
            Slot::Plic => Some(Box::new(Plic::new(harts))),
            Slot::Uart0 => console_out
                .take()
                .map(|out| Box::new(Uart16550::new(entry.irq.unwrap_or(UART0_IRQ), out)) as Box<dyn FdtDevice>),
            Slot::PcieEcam => Some(Box::new(Gpex::new(PciHost {
                buses: (0, 0xff),
                windows: pci::gpex::virt_windows(dram + ram_size),
                intx_lines: std::array::from_fn(|pin| entry.irq.unwrap_or(PCIE_IRQ) + pin as u32),
                msi: false,
            }))),
            Slot::Flash(i) => {
                let image = pflash.get_mut(i).and_then(Option::take);
                let image = image.unwrap_or(FlashImage { data: None, read_only: false });
                Some(Box::new(Pflash::new(image, entry.name, entry.base)))
            }
            Slot::VirtioMmio(i) => Some(virtio.get_mut(i).and_then(Option::take).unwrap_or_else(|| {
                let irq = entry.irq.unwrap_or(VIRTIO_IRQ + i as u32);
                Box::new(EmptyVirtioSlot { irq, version: virtio_mmio_version })
            })),
        };
        if let Some(device) = device {
            let node = device.fdt_node();
            let id = builder.add_device(entry.name, entry.base, entry.size, device);
            nodes.push((id, node));
        }
    }

    if let Some(ecam) = memmap(Slot::PcieEcam) {
        let windows = pci::gpex::virt_windows(dram + ram_size);
        plug_pci(&mut builder, ecam.base, ecam.irq.unwrap_or(PCIE_IRQ), &windows, pci)?;
    }

    // The device tree describes what the region tree holds.
    let params = FdtParams {
        harts,
        isa: cpu.isa_string(),
        cpu_properties: cpu.device_tree_properties(),
        bootargs: append,
        initrd: initrd_loaded.map(|l| (l.start, l.end)),
    };
    let describe = |id| nodes.iter().find(|(device, _)| *device == id).and_then(|(_, node)| node.clone());
    let fdt = fdt::generate(&params, builder.memory_tree(), &describe)?;
    let fdt_size = fdt.len() as u64;
    let fdt_addr = loader::fdt_addr(dram, ram_size, fdt_size).ok_or(BoardError::FdtNoRoom(fdt_size))?;
    placed.push(("device tree".into(), Loaded { start: fdt_addr, end: fdt_addr + fdt_size, entry: fdt_addr }));
    check_overlaps(&placed)?;
    builder.ram_mut().write(fdt_addr, &fdt).ok_or(BoardError::FdtNoRoom(fdt_size))?;

    let start_addr = match (firmware, kernel_loaded) {
        // An image in the first flash bank is where the harts go from the boot ROM, as in QEMU 7.2.
        _ if flash0_given => FLASH_BASE,
        (None, Some(k)) => k.entry,
        _ => dram,
    };
    // `info roms` lists what was loaded, named as QEMU names it.
    for (name, l) in &placed {
        let name = if name == "device tree" { "fdt" } else { name }.to_string();
        builder.note_image(LoadedImage { name, addr: l.start, size: l.end - l.start, in_rom: false });
    }
    if let Some(rom) = memmap(Slot::Mrom) {
        let code = reset_rom(start_addr, fdt_addr, kernel_entry);
        let size = code.len() as u64;
        builder.note_image(LoadedImage { name: "mrom.reset".into(), addr: rom.base, size, in_rom: true });
        builder.add_rom(rom.name, rom.base, rom.size, code);
    }
    builder.set_reset_pc(MROM_BASE);

    let info = BootInfo {
        reset_pc: MROM_BASE,
        start_addr,
        fdt_addr,
        fdt,
        firmware,
        kernel: kernel_loaded,
        initrd: initrd_loaded,
    };
    Ok((builder.build(), info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::MIB;
    use crate::virtio::{Rng, VirtioMmio};
    use rewind::device::{any_state, decode_state, encode_state, RestoreError};
    use rewind::memory::{FlatTarget, RegionKind};
    use rewind::DeviceBus;

    fn config() -> VirtConfig {
        let mut c = VirtConfig::new(Box::new(std::io::sink()));
        c.bios = Firmware::None;
        c.ram_size = 256 * MIB;
        c
    }

    struct Dummy;
    impl rewind::Device for Dummy {
        fn kind(&self) -> &'static str {
            "dummy"
        }
        fn reset(&mut self) {}
        fn read(&mut self, _: u64, _: u8, _: &mut DeviceBus) -> u64 {
            0x7472_6976
        }
        fn write(&mut self, _: u64, _: u8, _: u64, _: &mut DeviceBus) {}
        fn save(&self) -> Vec<u8> {
            encode_state(&())
        }
        fn restore(&mut self, s: &[u8]) -> Result<(), RestoreError> {
            decode_state::<()>("dummy", s, any_state)
        }
        fn inspect(&self) -> Vec<(String, String)> {
            Vec::new()
        }
    }
    impl FdtDevice for Dummy {
        fn fdt_node(&self) -> Option<crate::fdt::FdtNode> {
            None
        }
    }

    fn device_at(m: &Machine, addr: u64) -> Option<(String, &'static str)> {
        let r = m.flat_view().lookup(addr)?;
        let FlatTarget::Io { device, .. } = r.target else {
            return None;
        };
        let devices = m.inspect_devices();
        let report = devices.get(device)?;
        let (name, kind) = (&report.name, report.kind);
        Some((name.clone(), kind))
    }

    #[test]
    fn every_device_is_mapped_at_its_qemu_address() {
        let (m, _) = build(config()).unwrap();
        for (addr, kind) in [
            (0x10_0000, "sifive_test"),
            (0x10_1000, "goldfish_rtc"),
            (0x200_0000, "sifive_clint"),
            (0x200_bff8, "sifive_clint"),
            (0xc00_0000, "sifive_plic"),
            (0x3000_0000, "gpex-pcihost"),
            (0x3fff_fffc, "gpex-pcihost"),
            (0xc5f_ffff, "sifive_plic"),
            (0x1000_0000, "ns16550a"),
            (0x1000_00ff, "ns16550a"),
        ] {
            assert_eq!(device_at(&m, addr).map(|d| d.1), Some(kind), "at {addr:#x}");
        }
        assert_eq!(device_at(&m, 0x1000_0100), None, "UART region is 0x100 bytes");
        assert!(matches!(m.flat_view().resolve(0x1000), Some(FlatTarget::Rom { offset: 0, .. })));
        assert!(matches!(m.flat_view().resolve(0x8fff_ffff), Some(FlatTarget::Ram { offset: 0x0fff_ffff })));
        assert_eq!(m.flat_view().resolve(0x9000_0000), None);
        assert_eq!(m.reset_pc(), 0x1000);
        assert_eq!(m.hart_count(), 1);
    }

    #[test]
    fn mtree_lists_the_board_regions() {
        let (m, _) = build(config()).unwrap();
        let text = m.memory_tree().render_mtree();
        for line in [
            "0000000000001000-000000000000ffff (prio 0, rom): riscv_virt_board.mrom",
            "0000000000100000-0000000000100fff (prio 0, i/o): riscv.sifive.test",
            "0000000000101000-0000000000101fff (prio 0, i/o): goldfish_rtc",
            "0000000002000000-000000000200ffff (prio 0, i/o): riscv.sifive.clint",
            "000000000c000000-000000000c5fffff (prio 0, i/o): riscv.sifive.plic",
            "0000000010000000-00000000100000ff (prio 0, i/o): serial",
            "0000000080000000-000000008fffffff (prio 0, ram): riscv_virt_board.ram",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn virtio_slots_map_only_the_devices_given() {
        let mut c = config();
        c.virtio[2] = Some(Box::new(Dummy));
        c.virtio[5] = Some(Box::new(VirtioMmio::new(Rng::new(1), VIRTIO_IRQ + 5, MmioVersion::Modern)));
        let (m, info) = build(c).unwrap();
        assert_eq!(device_at(&m, 0x1000_3000), Some(("virtio-mmio".into(), "dummy")));
        assert_eq!(device_at(&m, 0x1000_6000), Some(("virtio-mmio".into(), "virtio-rng")));
        assert_eq!(device_at(&m, 0x1000_3fff).map(|d| d.1), Some("dummy"));
        for i in [0u64, 1, 3, 7] {
            assert_eq!(
                device_at(&m, VIRTIO_BASE + i * VIRTIO_SIZE).map(|d| d.1),
                Some("virtio-mmio (empty)"),
                "slot {i} is an empty transport, as in QEMU"
            );
        }
        let mut virtio_nodes = 0;
        m.memory_tree().walk(0, &mut |_, r| {
            virtio_nodes += usize::from(matches!(r.kind, RegionKind::Io(_)) && r.name == "virtio-mmio")
        });
        assert_eq!(virtio_nodes, 8);
        // The device tree lists every transport that describes itself, empty or not (as QEMU lists all eight);
        // the dummy describes nothing.
        let needle = b"virtio,mmio\0";
        assert_eq!(info.fdt.windows(needle.len()).filter(|w| w == needle).count(), 7);
        let has = |name: &str| info.fdt.windows(name.len()).any(|w| w == name.as_bytes());
        assert!(has("virtio_mmio@10006000") && !has("virtio_mmio@10003000"));
    }

    #[test]
    fn reset_rom_is_qemus_reset_vector() {
        let (m, info) = build(config()).unwrap();
        let FlatTarget::Rom { rom, .. } = m.flat_view().resolve(0x1000).unwrap() else { panic!() };
        let rom = m.rom(rom).unwrap();
        let word = |i: usize| u32::from_le_bytes(rom[4 * i..4 * i + 4].try_into().unwrap());
        let dword = |off: usize| u64::from_le_bytes(rom[off..off + 8].try_into().unwrap());
        assert_eq!(
            (0..6).map(word).collect::<Vec<_>>(),
            [0x0000_0297, 0x0282_8613, 0xf140_2573, 0x0202_b583, 0x0182_b283, 0x0002_8067]
        );
        assert_eq!(dword(24), 0x8000_0000, "start address");
        assert_eq!(dword(32), info.fdt_addr);
        assert_eq!(dword(40), 0x4942_534f, "fw_dynamic_info magic at a2 = t0 + 40");
        assert_eq!((dword(48), dword(56), dword(64), dword(72), dword(80)), (2, 0, 1, 0, 0));
        assert_eq!(rom.len(), 0xf000);
    }

    #[test]
    fn fdt_sits_2mib_aligned_below_the_end_of_ram_like_qemu() {
        let (m, info) = build(config()).unwrap();
        assert_eq!(info.fdt_addr, 0x8fe0_0000);
        let mut blob = vec![0; info.fdt.len()];
        m.ram().read(info.fdt_addr, &mut blob).unwrap();
        assert_eq!(blob, info.fdt);
    }

    #[test]
    fn raw_kernel_goes_2mib_above_firmware_and_initrd_at_plus_128mib() {
        let mut c = config();
        c.bios = Firmware::Image(ImageFile::new("fw.bin", vec![0x13; 0x4_0000]));
        c.kernel = Some(ImageFile::new("Image", vec![0x6f; 0x1000]));
        c.initrd = Some(ImageFile::new("initrd", vec![0x07; 0x100]));
        c.append = "console=ttyS0".into();
        let (m, info) = build(c).unwrap();
        assert_eq!(info.start_addr, 0x8000_0000);
        assert_eq!(info.kernel.map(|k| k.entry), Some(0x8020_0000));
        assert_eq!(info.initrd.map(|i| (i.start, i.end)), Some((0x8820_0000, 0x8820_0100)));
        assert_eq!(m.ram().read_u32(0x8000_0000), Some(0x1313_1313));
        assert_eq!(m.ram().read_u32(0x8020_0000), Some(0x6f6f_6f6f));
        let FlatTarget::Rom { rom, .. } = m.flat_view().resolve(0x1000).unwrap() else { panic!() };
        let rom = m.rom(rom).unwrap();
        assert_eq!(u64::from_le_bytes(rom[56..64].try_into().unwrap()), 0x8020_0000, "fw_dynamic next_addr");
    }

    #[test]
    fn elf_kernel_without_firmware_starts_at_its_entry() {
        let mut c = config();
        let elf = crate::loader::tests::tiny_elf(0x8000_0000, 0x8000_0010, &[0x13; 32], 0);
        c.kernel = Some(ImageFile::new("kernel.elf", elf));
        let (_, info) = build(c).unwrap();
        assert_eq!(info.start_addr, 0x8000_0010);
        assert_eq!(info.firmware, None);
    }

    #[test]
    fn bad_configs_are_clear_errors() {
        let mut c = config();
        c.harts = 0;
        assert!(matches!(build(c), Err(BoardError::Harts(0))));
        let mut c = config();
        c.harts = 9;
        assert!(matches!(build(c), Err(BoardError::Harts(9))));
        let mut c = config();
        c.ram_size = 123;
        assert!(matches!(build(c), Err(BoardError::RamSize(123))));
        let mut c = config();
        c.ram_size = 4 * MIB;
        c.kernel = Some(ImageFile::new("big-Image", vec![0; 5 * MIB as usize]));
        let err = build(c).err().unwrap();
        assert!(err.to_string().starts_with("big-Image: "), "{err}");
        let mut c = config();
        c.ram_size = 4 * MIB;
        c.kernel = Some(ImageFile::new("Image-3M", vec![0; 3 * MIB as usize]));
        let err = build(c).err().unwrap();
        assert!(matches!(err, BoardError::Overlap { .. }), "{err}");
        assert!(err.to_string().contains("Image-3M"), "{err}");
        let mut c = config();
        c.bios = Firmware::Path("/nonexistent/fw.bin".into());
        let err = build(c).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/fw.bin"), "{err}");
        let mut c = config();
        c.ram_size = 4 * MIB;
        c.kernel = Some(ImageFile::new("Image", vec![0; 0x1000]));
        c.initrd = Some(ImageFile::new("initrd.gz", vec![0; 0x1000]));
        let err = build(c).err().unwrap();
        assert!(err.to_string().contains("initrd.gz"), "{err}");
    }

    /// The UART's request reaches the hart through the PLIC as SEIP, which is also a software-writable bit of mip.
    /// OpenSBI clears and sets mip.STIP with csrc/csrs on every SBI set_timer call and machine timer interrupt;
    /// done while the request was pending, that once copied the PLIC's SEIP into the software bit, so S-mode saw
    /// an external interrupt for ever after the UART was served, took it again and again and never ran the tasks
    /// that read the console (priv spec 3.1.9: only the software-writable SEIP bit takes part in the
    /// read-modify-write).
    #[test]
    fn a_uart_interrupt_pending_while_m_mode_sets_stip_ends_when_the_uart_is_served() {
        use rewind::arch::riscv::mip::{SEIP, STIP};
        let program: [u32; 15] = [
            0x1000_03b7, // lui   t2, 0x10000       UART
            0x0c00_0e37, // lui   t3, 0xc000        PLIC
            0x0c00_2eb7, // lui   t4, 0xc002        PLIC enables
            0x0010_0293, // li    t0, 1
            0x025e_2423, // sw    t0, 40(t3)        priority of source 10 (the UART) = 1
            0x4000_0293, // li    t0, 1 << 10
            0x085e_a023, // sw    t0, 0x80(t4)      context 1 (hart 0, S mode) enables source 10
            0x0010_0293, // li    t0, 1
            0x0053_80a3, // sb    t0, 1(t2)         IER = ERBFI: the byte waiting raises the line
            0x0200_0293, // li    t0, STIP
            0x3442_b073, // csrc  mip, t0           as OpenSBI's set_timer
            0x3442_a573, // csrrs a0, mip, t0       as OpenSBI's timer interrupt
            0x0003_c583, // lbu   a1, 0(t2)         the byte is read: the UART drops its request
            0x3440_2673, // csrr  a2, mip
            0x0000_006f, // j     .
        ];
        let mut c = config();
        c.bios = Firmware::Image(ImageFile::new("seip.bin", program.iter().flat_map(|w| w.to_le_bytes()).collect()));
        let (mut m, _) = build(c).unwrap();
        let uart = m.device_id("serial").unwrap();
        assert!(m.deliver_input(uart, &rewind::DeviceInput::console(b"x".to_vec())));
        m.run(100);
        let h = m.hart(0).unwrap();
        assert_eq!(h.x[10], SEIP, "csrrs returns the PLIC's request in SEIP");
        assert_eq!(h.x[11], u64::from(b'x'));
        assert_eq!(h.x[12], STIP, "SEIP ended with the UART's request");
    }

    #[test]
    fn smp_board_has_one_clint_and_plic_for_all_harts() {
        let mut c = config();
        c.harts = 2;
        let (m, _) = build(c).unwrap();
        assert_eq!(m.hart_count(), 2);
        let devices = m.inspect_devices();
        let plic = devices.iter().find(|d| d.kind == "sifive_plic").unwrap();
        assert!(plic.state.iter().any(|(k, _)| k == "ctx3 (hart 1 S)"));
    }

    #[test]
    fn default_firmware_loads_when_installed() {
        if !std::path::Path::new(DEFAULT_FIRMWARE).exists() {
            eprintln!("{DEFAULT_FIRMWARE} not installed: skipping");
            return;
        }
        let mut c = config();
        c.bios = Firmware::Default;
        let (m, info) = build(c).unwrap();
        let fw = std::fs::read(DEFAULT_FIRMWARE).unwrap();
        let mut head = vec![0; 64];
        m.ram().read(0x8000_0000, &mut head).unwrap();
        assert_eq!(head, fw[..64]);
        assert_eq!(info.firmware.map(|f| f.end), Some(0x8000_0000 + fw.len() as u64));
    }

    /// With the shared guest, placement reproduces QEMU 7.2's run (its /chosen has initrd 0x88200000..0x88342f54).
    #[test]
    fn shared_guest_is_placed_where_qemu_put_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/guests");
        let (Ok(kernel), Ok(initrd)) =
            (ImageFile::read(dir.join("Image")), ImageFile::read(dir.join("initramfs.cpio.gz")))
        else {
            eprintln!("shared guest not found: skipping");
            return;
        };
        let mut c = config();
        c.bios = Firmware::Image(ImageFile::new("fw_jump.bin", vec![0; 0x4_0000]));
        c.kernel = Some(kernel);
        c.initrd = Some(initrd);
        c.append = "console=ttyS0 poweroff=1".into();
        let (_, info) = build(c).unwrap();
        assert_eq!(info.kernel.map(|k| k.entry), Some(0x8020_0000));
        assert_eq!(info.initrd.map(|i| (i.start, i.end)), Some((0x8820_0000, 0x8834_2f54)));
        assert_eq!(info.fdt_addr, 0x8fe0_0000);
    }
}
