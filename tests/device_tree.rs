//! The device tree the `virt` board gives its guest, against the one QEMU 7.2 gives the same command line
//! (`-M virt,dumpdtb=FILE` in both), decompiled by `dtc`.

mod common;

use common::{guest_dir, rewind_bin, run_with_input};
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The machine options both emulators get, with `dumpdtb=<out>`.
fn args(out: &Path, harts: &str) -> Vec<String> {
    let g = guest_dir();
    let mut v: Vec<String> = vec!["-M".into(), format!("virt,dumpdtb={}", out.display())];
    v.extend(["-m", "256M", "-smp", harts, "-nographic", "-kernel"].map(String::from));
    v.push(g.join("Image").display().to_string());
    v.push("-initrd".into());
    v.push(g.join("initramfs.cpio.gz").display().to_string());
    v.extend(["-append", "console=ttyS0 poweroff=1"].map(String::from));
    v
}

fn dump(program: &Path, harts: &str, tag: &str) -> String {
    let out = std::env::temp_dir().join(format!("rewind-dt-{}-{tag}-{harts}.dtb", std::process::id()));
    let mut cmd = Command::new(program);
    cmd.args(args(&out, harts));
    let run = run_with_input(cmd, b"", Duration::from_secs(60));
    assert_eq!(run.code, Some(0), "{} with dumpdtb: {}{}", program.display(), run.stdout, run.stderr);
    let dts = Command::new("dtc").args(["-q", "-I", "dtb", "-O", "dts"]).arg(&out).output().expect("dtc");
    let _ = std::fs::remove_file(&out);
    assert!(dts.status.success(), "dtc: {}", String::from_utf8_lossy(&dts.stderr));
    String::from_utf8_lossy(&dts.stdout).into_owned()
}

/// The lines of the node that opens with `header` (to its closing `};`), sorted.
fn node_block(dts: &str, header: &str) -> Vec<String> {
    let lines = dts.lines().map(str::trim).skip_while(|l| *l != header).take_while(|l| *l != "};");
    let mut lines: Vec<String> = lines.map(String::from).collect();
    lines.sort();
    lines
}

#[test]
fn device_tree_matches_qemus_for_the_same_command_line() {
    for tool in ["qemu-system-riscv64", "dtc"] {
        assert!(Command::new(tool).arg("--version").output().is_ok(), "{tool} not installed: run scripts/deps.sh");
    }
    for harts in ["1", "2"] {
        let ours = dump(&rewind_bin(), harts, "rewind");
        let theirs = dump(Path::new("qemu-system-riscv64"), harts, "qemu");
        let their_lines: HashSet<&str> = theirs.lines().map(str::trim).collect();
        let our_lines: HashSet<&str> = ours.lines().map(str::trim).collect();
        // Ours is QEMU's, except the devices we do not have, the ISA string (plain rv64gc) and `riscv,ndev`: the
        // PLIC's sources are 1..=95, and QEMU 7.2 claims 96 (fixed in later QEMUs).
        for line in &our_lines {
            if line.starts_with("riscv,isa") || line.starts_with("riscv,ndev") {
                continue;
            }
            assert!(their_lines.contains(line), "-smp {harts}: our line {line:?} is not in QEMU's tree:\n{theirs}");
        }
        // The PCIe host bridge's node, property by property.
        assert_eq!(node_block(&ours, "pci@30000000 {"), node_block(&theirs, "pci@30000000 {"), "-smp {harts}");
        assert!(!node_block(&theirs, "pci@30000000 {").is_empty(), "QEMU's tree has no PCIe host:\n{theirs}");
        // Every node of the devices we do have is there, with the same unit address.
        for line in &their_lines {
            let node = [
                "virtio_mmio@",
                "serial@",
                "rtc@",
                "test@",
                "plic@",
                "clint@",
                "pci@",
                "flash@",
                "cpu@",
                "memory@",
                "core",
            ]
            .iter()
            .any(|n| line.starts_with(n));
            if node
                || ["chosen {", "poweroff {", "reboot {", "bootargs", "linux,initrd", "stdout-path", "bank-width"]
                    .iter()
                    .any(|p| line.starts_with(p))
            {
                assert!(our_lines.contains(line), "-smp {harts}: QEMU's line {line:?} is missing from ours:\n{ours}");
            }
        }
    }
}

/// Where each virtio device lands, against QEMU 7.2 with the same `-drive`/`-device` options: the guest lists its
/// virtio devices' transports (`/sys/bus/virtio/devices/*` links to `NNNNNNNN.virtio_mmio`) under both.
#[test]
fn virtio_devices_land_in_qemus_slots() {
    let g = guest_dir();
    // Two files: QEMU locks an image, so two drives cannot share one.
    let disks = ["a", "b"].map(|n| std::env::temp_dir().join(format!("rewind-dt-{}-{n}.img", std::process::id())));
    for d in &disks {
        std::fs::write(d, vec![0u8; 1 << 20]).unwrap();
    }
    let options = [
        format!("file={},format=raw,if=none,id=x0", disks[0].display()),
        format!("file={},format=raw,if=none,id=x1,readonly=on", disks[1].display()),
    ];
    // Whether each driver negotiated VERSION_1 (bit 32, the 33rd character of the features file): never on QEMU's
    // default legacy transport, always on the modern one.
    let listing = |program: &Path, globals: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.args(["-M", "virt", "-m", "256M", "-nographic", "-kernel"]).arg(g.join("Image"));
        cmd.arg("-initrd").arg(g.join("initramfs.cpio.gz")).args(["-append", "console=ttyS0"]);
        cmd.args(["-drive", &options[0], "-drive", &options[1]]);
        cmd.args(["-device", "virtio-rng-device", "-device", "virtio-blk-device,drive=x0"]);
        cmd.args(["-device", "virtio-blk-device,drive=x1,bus=virtio-mmio-bus.2"]);
        for global in globals {
            cmd.args(["-global", global]);
        }
        let prompt = "rewind-guest:/# ";
        let list = "for d in /sys/bus/virtio/devices/*; do echo \"slot $(readlink $d | grep -o '1000[0-9a-f]*') \
                    $(cat $d/device) version_1=$(cut -c33 $d/features)\"; done\n";
        let run = common::run_conversation(cmd, &[(prompt, list), (prompt, "poweroff -f\n")], Duration::from_secs(120));
        let mut slots: Vec<String> = run.stdout.lines().filter(|l| l.starts_with("slot ")).map(String::from).collect();
        slots.sort();
        slots
    };
    let modern = ["virtio-mmio.force-legacy=false"];
    let ours = [listing(&rewind_bin(), &[]), listing(&rewind_bin(), &modern)];
    let theirs = [listing(Path::new("qemu-system-riscv64"), &[]), listing(Path::new("qemu-system-riscv64"), &modern)];
    for d in &disks {
        let _ = std::fs::remove_file(d);
    }
    assert_eq!(ours[0].len(), 3, "{:?}", ours[0]);
    assert!(ours[0].iter().all(|l| l.ends_with("version_1=0")), "{:?}", ours[0]);
    assert!(ours[1].iter().all(|l| l.ends_with("version_1=1")), "{:?}", ours[1]);
    assert_eq!(ours, theirs);
}

/// examples/isa's virtio_mmio program reads every slot's Version and DeviceID registers: legacy (1) by default,
/// modern (2) with -global virtio-mmio.force-legacy=false, in the empty slots too, as in QEMU.
#[test]
fn virtio_mmio_version_registers_match_qemus() {
    let elf = common::workspace().join("examples/isa/build/virtio_mmio.elf");
    assert!(elf.exists(), "{} missing: build with `make -C examples/isa`", elf.display());
    let probe = |program: &Path, globals: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-kernel"]).arg(&elf);
        cmd.args(["-device", "virtio-rng-device"]);
        for global in globals {
            cmd.args(["-global", global]);
        }
        let run = run_with_input(cmd, b"", Duration::from_secs(60));
        assert_eq!(run.code, Some(0), "{}: {}{}", program.display(), run.stdout, run.stderr);
        run.stdout.lines().filter(|l| l.starts_with("slot ")).map(String::from).collect::<Vec<_>>()
    };
    for (globals, version) in [(&[][..], 1), (&["virtio-mmio.force-legacy=false"][..], 2)] {
        let ours = probe(&rewind_bin(), globals);
        assert_eq!(ours.len(), 8, "{ours:?}");
        assert!(ours.iter().all(|l| l.contains(&format!(" version {version} "))), "{ours:?}");
        assert_eq!(ours[7], format!("slot 7 version {version} device 4"));
        assert_eq!(ours, probe(Path::new("qemu-system-riscv64"), globals), "{globals:?}");
    }
}
