//! The `virt` board's flattened device tree, generated from the board table ([`crate::virt::VIRT_MEMMAP`]) with
//! the node names, properties and phandle numbering of QEMU 7.2's `hw/riscv/virt.c` (compare
//! `shared/guests/qemu-virt*.dts`). Differences, on purpose: the ISA string is plain rv64gc, there is no
//! `rng-seed` (determinism), and devices this board does not have (pmu, fw-cfg, flash, PCIe, platform bus) are
//! absent.

use vm_fdt::{FdtWriter, FdtWriterNode};

use crate::virt::{MemMapEntry, Slot, VIRT_MEMMAP};

pub const RISCV_ISA: &str = "rv64imafdc_zicsr_zifencei";
pub const MMU_TYPE: &str = "riscv,sv48";
pub const TIMEBASE_FREQUENCY: u32 = 10_000_000;
pub const UART_CLOCK_FREQUENCY: u32 = 0x38_4000;
/// Usable PLIC sources (1..=95).
pub const PLIC_NDEV: u32 = 95;
pub const STDOUT_PATH: &str = "/soc/serial@10000000";

/// What the tree describes beyond the fixed board table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdtParams {
    pub harts: usize,
    pub ram_base: u64,
    pub ram_size: u64,
    /// `/chosen/bootargs`; omitted when empty, as QEMU does.
    pub bootargs: String,
    /// `[start, end)` of the initrd.
    pub initrd: Option<(u64, u64)>,
}

#[derive(Debug, thiserror::Error)]
#[error("device tree: {0}")]
pub struct FdtError(#[from] vm_fdt::Error);

/// QEMU's phandle numbering: cpus from the last down, each followed by its interrupt controller, then the
/// PLIC, then the test device.
#[derive(Clone, Copy, Debug)]
pub struct Phandles {
    harts: u32,
}

impl Phandles {
    pub fn cpu(&self, hart: u32) -> u32 {
        2 * (self.harts - 1 - hart) + 1
    }
    pub fn intc(&self, hart: u32) -> u32 {
        self.cpu(hart) + 1
    }
    pub fn plic(&self) -> u32 {
        2 * self.harts + 1
    }
    pub fn test(&self) -> u32 {
        2 * self.harts + 2
    }
}

fn entry(slot: Slot) -> Option<&'static MemMapEntry> {
    VIRT_MEMMAP.iter().find(|e| e.slot == slot)
}

fn reg(fdt: &mut FdtWriter, e: &MemMapEntry) -> Result<(), FdtError> {
    fdt.property_array_u64("reg", &[e.base, e.size])?;
    Ok(())
}

fn end(fdt: &mut FdtWriter, node: FdtWriterNode) -> Result<(), FdtError> {
    fdt.end_node(node)?;
    Ok(())
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Generates the device tree blob.
pub fn generate(p: &FdtParams) -> Result<Vec<u8>, FdtError> {
    let harts = p.harts.max(1) as u32;
    let ph = Phandles { harts };
    let mut fdt = FdtWriter::new()?;
    let root = fdt.begin_node("")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_string("compatible", "riscv-virtio")?;
    fdt.property_string("model", "riscv-virtio,qemu")?;

    let chosen = fdt.begin_node("chosen")?;
    if let Some((start, end)) = p.initrd {
        // QEMU 7.2 writes single cells; wider addresses need two.
        let cell = |fdt: &mut FdtWriter, name: &str, v: u64| match u32::try_from(v) {
            Ok(v32) => fdt.property_u32(name, v32),
            Err(_) => fdt.property_u64(name, v),
        };
        cell(&mut fdt, "linux,initrd-end", end)?;
        cell(&mut fdt, "linux,initrd-start", start)?;
    }
    if !p.bootargs.is_empty() {
        fdt.property_string("bootargs", &p.bootargs)?;
    }
    fdt.property_string("stdout-path", STDOUT_PATH)?;
    end(&mut fdt, chosen)?;

    for (name, value, compatible) in [("poweroff", 0x5555, "syscon-poweroff"), ("reboot", 0x7777, "syscon-reboot")] {
        let node = fdt.begin_node(name)?;
        fdt.property_u32("value", value)?;
        fdt.property_u32("offset", 0)?;
        fdt.property_u32("regmap", ph.test())?;
        fdt.property_string("compatible", compatible)?;
        end(&mut fdt, node)?;
    }

    let memory = fdt.begin_node(&format!("memory@{:x}", p.ram_base))?;
    fdt.property_string("device_type", "memory")?;
    fdt.property_array_u64("reg", &[p.ram_base, p.ram_size])?;
    end(&mut fdt, memory)?;

    let cpus = fdt.begin_node("cpus")?;
    fdt.property_u32("#address-cells", 1)?;
    fdt.property_u32("#size-cells", 0)?;
    fdt.property_u32("timebase-frequency", TIMEBASE_FREQUENCY)?;
    for hart in 0..harts {
        let cpu = fdt.begin_node(&format!("cpu@{hart:x}"))?;
        fdt.property_u32("phandle", ph.cpu(hart))?;
        fdt.property_string("device_type", "cpu")?;
        fdt.property_u32("reg", hart)?;
        fdt.property_string("status", "okay")?;
        fdt.property_string("compatible", "riscv")?;
        fdt.property_string("riscv,isa", RISCV_ISA)?;
        fdt.property_string("mmu-type", MMU_TYPE)?;
        let intc = fdt.begin_node("interrupt-controller")?;
        fdt.property_u32("#interrupt-cells", 1)?;
        fdt.property_null("interrupt-controller")?;
        fdt.property_string("compatible", "riscv,cpu-intc")?;
        fdt.property_u32("phandle", ph.intc(hart))?;
        end(&mut fdt, intc)?;
        end(&mut fdt, cpu)?;
    }
    let map = fdt.begin_node("cpu-map")?;
    let cluster = fdt.begin_node("cluster0")?;
    for hart in 0..harts {
        let core = fdt.begin_node(&format!("core{hart}"))?;
        fdt.property_u32("cpu", ph.cpu(hart))?;
        end(&mut fdt, core)?;
    }
    end(&mut fdt, cluster)?;
    end(&mut fdt, map)?;
    end(&mut fdt, cpus)?;

    let soc = fdt.begin_node("soc")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_string("compatible", "simple-bus")?;
    fdt.property_null("ranges")?;
    soc_nodes(&mut fdt, ph)?;
    end(&mut fdt, soc)?;

    end(&mut fdt, root)?;
    Ok(fdt.finish()?)
}

/// The /soc children in the order QEMU's tree shows them (rtc, serial, test, virtio 7..0, plic, clint).
fn soc_nodes(fdt: &mut FdtWriter, ph: Phandles) -> Result<(), FdtError> {
    let harts = ph.harts;
    let mut order: Vec<&MemMapEntry> = Vec::new();
    for slot in [Slot::Rtc, Slot::Uart0, Slot::Test] {
        order.extend(entry(slot));
    }
    order.extend(VIRT_MEMMAP.iter().filter(|e| matches!(e.slot, Slot::VirtioMmio(_))).rev());
    order.extend(entry(Slot::Plic));
    order.extend(entry(Slot::Clint));

    for e in order {
        let name = match e.slot {
            Slot::Rtc => "rtc",
            Slot::Uart0 => "serial",
            Slot::Test => "test",
            Slot::VirtioMmio(_) => "virtio_mmio",
            Slot::Plic => "plic",
            Slot::Clint => "clint",
            Slot::Mrom | Slot::Dram => continue,
        };
        let node = fdt.begin_node(&format!("{name}@{:x}", e.base))?;
        match e.slot {
            Slot::Test => {
                fdt.property_u32("phandle", ph.test())?;
                reg(fdt, e)?;
                fdt.property_string_list("compatible", strings(&["sifive,test1", "sifive,test0", "syscon"]))?;
            }
            Slot::Plic => {
                fdt.property_u32("phandle", ph.plic())?;
                fdt.property_u32("riscv,ndev", PLIC_NDEV)?;
                reg(fdt, e)?;
                let cells: Vec<u32> = (0..harts).flat_map(|h| [ph.intc(h), 11, ph.intc(h), 9]).collect();
                fdt.property_array_u32("interrupts-extended", &cells)?;
                fdt.property_null("interrupt-controller")?;
                fdt.property_string_list("compatible", strings(&["sifive,plic-1.0.0", "riscv,plic0"]))?;
                fdt.property_u32("#address-cells", 0)?;
                fdt.property_u32("#interrupt-cells", 1)?;
            }
            Slot::Clint => {
                let cells: Vec<u32> = (0..harts).flat_map(|h| [ph.intc(h), 3, ph.intc(h), 7]).collect();
                fdt.property_array_u32("interrupts-extended", &cells)?;
                reg(fdt, e)?;
                fdt.property_string_list("compatible", strings(&["sifive,clint0", "riscv,clint0"]))?;
            }
            _ => {
                if let Some(irq) = e.irq {
                    fdt.property_u32("interrupts", irq)?;
                    fdt.property_u32("interrupt-parent", ph.plic())?;
                }
                if e.slot == Slot::Uart0 {
                    fdt.property_u32("clock-frequency", UART_CLOCK_FREQUENCY)?;
                }
                reg(fdt, e)?;
                let compatible = match e.slot {
                    Slot::Rtc => "google,goldfish-rtc",
                    Slot::Uart0 => "ns16550a",
                    _ => "virtio,mmio",
                };
                fdt.property_string("compatible", compatible)?;
            }
        }
        end(fdt, node)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn params(harts: usize) -> FdtParams {
        FdtParams {
            harts,
            ram_base: 0x8000_0000,
            ram_size: 0x1000_0000,
            bootargs: "console=ttyS0 poweroff=1".into(),
            initrd: Some((0x8820_0000, 0x8834_2f54)),
        }
    }

    /// The tree decompiled by `dtc`, or `None` when dtc is not installed.
    fn decompile(blob: &[u8], tag: &str) -> Option<String> {
        let path = std::env::temp_dir().join(format!("rewind-fdt-{}-{tag}.dtb", std::process::id()));
        std::fs::write(&path, blob).unwrap();
        let out = Command::new("dtc").args(["-I", "dtb", "-O", "dts"]).arg(&path).output();
        let _ = std::fs::remove_file(&path);
        let out = out.ok()?;
        assert!(out.status.success(), "dtc rejected the tree: {}", String::from_utf8_lossy(&out.stderr));
        Some(String::from_utf8(out.stdout).unwrap())
    }

    #[test]
    fn phandles_number_like_qemu() {
        let one = Phandles { harts: 1 };
        assert_eq!((one.cpu(0), one.intc(0), one.plic(), one.test()), (1, 2, 3, 4));
        let two = Phandles { harts: 2 };
        assert_eq!((two.cpu(1), two.intc(1), two.cpu(0), two.intc(0)), (1, 2, 3, 4));
        assert_eq!((two.plic(), two.test()), (5, 6));
    }

    #[test]
    fn tree_is_a_valid_blob_with_the_key_nodes() {
        let blob = generate(&params(2)).unwrap();
        assert_eq!(&blob[..4], &[0xd0, 0x0d, 0xfe, 0xed]);
        let Some(dts) = decompile(&blob, "key") else {
            eprintln!("dtc not installed: skipping the decompiled checks");
            return;
        };
        for needle in [
            "compatible = \"riscv-virtio\";",
            "bootargs = \"console=ttyS0 poweroff=1\";",
            "stdout-path = \"/soc/serial@10000000\";",
            "linux,initrd-start = <0x88200000>;",
            "memory@80000000 {",
            "reg = <0x00 0x80000000 0x00 0x10000000>;",
            "timebase-frequency = <0x989680>;",
            "riscv,isa = \"rv64imafdc_zicsr_zifencei\";",
            "mmu-type = \"riscv,sv48\";",
            "compatible = \"riscv,cpu-intc\";",
            "core1 {",
            "compatible = \"sifive,clint0\\0riscv,clint0\";",
            "interrupts-extended = <0x04 0x03 0x04 0x07 0x02 0x03 0x02 0x07>;",
            "compatible = \"sifive,plic-1.0.0\\0riscv,plic0\";",
            "riscv,ndev = <0x5f>;",
            "interrupts-extended = <0x04 0x0b 0x04 0x09 0x02 0x0b 0x02 0x09>;",
            "serial@10000000 {",
            "compatible = \"ns16550a\";",
            "rtc@101000 {",
            "compatible = \"google,goldfish-rtc\";",
            "compatible = \"sifive,test1\\0sifive,test0\\0syscon\";",
            "compatible = \"syscon-poweroff\";",
            "regmap = <0x06>;",
            "virtio_mmio@10001000 {",
            "virtio_mmio@10008000 {",
        ] {
            assert!(dts.contains(needle), "missing {needle:?} in\n{dts}");
        }
        assert_eq!(dts.matches("compatible = \"virtio,mmio\";").count(), 8);
        assert!(!dts.contains("rng-seed"));
    }

    #[test]
    fn without_initrd_or_bootargs_chosen_keeps_only_stdout_path() {
        let p = FdtParams { bootargs: String::new(), initrd: None, ..params(1) };
        let blob = generate(&p).unwrap();
        if let Some(dts) = decompile(&blob, "chosen") {
            assert!(!dts.contains("bootargs") && !dts.contains("initrd"), "{dts}");
            assert!(dts.contains("stdout-path"));
        }
    }

    /// Every line dtc prints for our tree appears in QEMU 7.2's own tree for the same command line, except the
    /// lines we change on purpose (ISA string, ndev).
    #[test]
    fn tree_matches_qemus_line_for_line_where_devices_overlap() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/guests");
        for (harts, file) in [(1, "qemu-virt.dts"), (2, "qemu-virt-smp2.dts")] {
            let Ok(qemu) = std::fs::read_to_string(dir.join(file)) else {
                eprintln!("{file} not found: skipping");
                return;
            };
            let Some(ours) = decompile(&generate(&params(harts)).unwrap(), file) else {
                return;
            };
            let theirs: std::collections::HashSet<&str> = qemu.lines().map(str::trim).collect();
            for line in ours.lines().map(str::trim) {
                if line.starts_with("riscv,isa") || line.starts_with("riscv,ndev") {
                    continue;
                }
                assert!(theirs.contains(line), "{file}: our line {line:?} is not in QEMU's tree");
            }
        }
    }
}
