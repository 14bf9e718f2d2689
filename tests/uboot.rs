//! Debian's U-Boot (package `u-boot-qemu`), as its own QEMU command lines run it: in S mode after OpenSBI, and in
//! M mode as the firmware. It counts its two-second autoboot delay down by polling the timer, finds nothing to
//! boot and gives its prompt, enumerates the PCI bus, and boots Linux from a virtio-pci disk; compared with QEMU
//! 7.2 in the same test.

mod common;

use common::{rewind_bin, run_conversation, run_with_input};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const S_MODE: &str = "/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf";
const M_MODE: &str = "/usr/lib/u-boot/qemu-riscv64/u-boot.bin";

/// The command line running U-Boot `image` (S mode: `-kernel` after the default OpenSBI; M mode: `-bios`).
fn uboot(program: &Path, image: &str) -> Command {
    assert!(Path::new(image).exists(), "{image} missing: install u-boot-qemu (scripts/deps.sh does)");
    let mut cmd = Command::new(program);
    cmd.args(["-M", "virt", "-m", "256M", "-nographic"]);
    cmd.args([if image == S_MODE { "-kernel" } else { "-bios" }, image]);
    cmd
}

fn qemu_installed() -> bool {
    Command::new("qemu-system-riscv64").arg("--version").output().is_ok()
}

/// Lets the countdown run out, then asks the prompt for the version and powers off.
fn session(program: &Path, image: &str) -> common::Run {
    let steps = [
        ("Hit any key to stop autoboot:", ""),
        ("\u{8}\u{8}\u{8} 0 ", ""),
        ("=> ", "version\n"),
        ("GNU ld", ""),
        ("=> ", "poweroff\n"),
    ];
    run_conversation(uboot(program, image), &steps, Duration::from_secs(60))
}

#[test]
fn uboot_counts_down_and_gives_its_prompt_in_s_and_m_mode_as_under_qemu() {
    for image in [S_MODE, M_MODE] {
        let mut programs = vec![rewind_bin()];
        if qemu_installed() {
            programs.push("qemu-system-riscv64".into());
        }
        for program in programs {
            let run = session(&program, image);
            let what = format!("{image} under {}", program.display());
            assert_eq!(run.code, Some(0), "{what}:\n{}\n{}", run.stdout, run.stderr);
            assert!(run.stdout.contains("Hit any key to stop autoboot:  2 "), "{what}:\n{}", run.stdout);
            assert!(run.stdout.contains("U-Boot 2023.01"), "{what}:\n{}", run.stdout);
            assert!(run.stdout.contains("poweroff ..."), "{what}:\n{}", run.stdout);
        }
    }
}

/// The countdown is a poll of the timer: two seconds at 1 ns per instruction would be two billion instructions.
/// rewind speeds a hart's time up while it only polls the clock, so U-Boot reaches its prompt in a small fraction
/// of that, on a count that is the same every run.
#[test]
fn the_countdown_costs_few_instructions() {
    for image in [S_MODE, M_MODE] {
        let mut cmd = uboot(&rewind_bin(), image);
        cmd.args(["--max-insns", "100000000", "--stats"]);
        let run = run_with_input(cmd, b"", Duration::from_secs(60));
        assert!(run.stdout.contains("\u{8}\u{8}\u{8} 0 "), "{image}: countdown not over:\n{}", run.stdout);
        assert!(run.stdout.contains("=> "), "{image}: no prompt:\n{}", run.stdout);
        assert!(run.stderr.contains("s virtual time"), "{}", run.stderr);
    }
}

/// U-Boot lists the PCI bus as under QEMU: `pci enum` probes the ECAM host and `pci` prints what it found (the
/// host bridge, until devices join it).
#[test]
fn uboot_enumerates_the_pci_bus_as_under_qemu() {
    let listing = |program: &Path| {
        let steps =
            [("Hit any key to stop autoboot:", "\n"), ("=> ", "pci enum\n"), ("=> ", "pci\n"), ("=> ", "poweroff\n")];
        let run = run_conversation(uboot(program, S_MODE), &steps, Duration::from_secs(60));
        assert_eq!(run.code, Some(0), "{}:\n{}\n{}", program.display(), run.stdout, run.stderr);
        let start = run.stdout.find("=> pci\r\n").or_else(|| run.stdout.find("=> pci\n"));
        let start = start.unwrap_or_else(|| panic!("{}: no pci command in\n{}", program.display(), run.stdout));
        let table = &run.stdout[start..];
        let end = table[3..].find("=> ").map_or(table.len(), |e| e + 3);
        table[..end].lines().map(|l| l.trim_end().to_string()).collect::<Vec<_>>()
    };
    let ours = listing(&rewind_bin());
    assert!(ours.iter().any(|l| l.contains("0x1b36") && l.contains("0x0008")), "{ours:#?}");
    if qemu_installed() {
        assert_eq!(ours, listing(Path::new("qemu-system-riscv64")), "rewind (left) and QEMU 7.2");
    }
}

/// An ext2 image holding the shared guest's `Image` and `initramfs.cpio.gz`, made with `mke2fs -d` (no root
/// needed).
fn boot_disk() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rewind-uboot-{}", std::process::id()));
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    for name in ["Image", "initramfs.cpio.gz"] {
        std::fs::copy(common::guest_dir().join(name), files.join(name)).unwrap();
    }
    let image = dir.join("boot.img");
    let status = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext2", "-d"])
        .arg(&files)
        .arg(&image)
        .arg("32M")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("mke2fs (e2fsprogs) is needed to make the boot disk");
    assert!(status.success(), "mke2fs failed");
    image
}

/// What U-Boot says from `pci enum` to `Starting kernel`, less what depends on the host or the device tree's size:
/// how long a load took, and where the device tree blob sits (QEMU's tree is a little larger).
fn uboot_view(stdout: &str) -> Vec<String> {
    let start = stdout.find("=> pci enum").unwrap_or(0);
    let end = stdout.find("Starting kernel").unwrap_or(stdout.len());
    stdout[start..end]
        .lines()
        .map(|l| l.trim_end())
        .filter(|l| !l.contains("FDT") && !l.contains("fdt blob") && !l.contains("Device Tree"))
        .map(|l| l.split(" in ").next().unwrap_or(l).to_string())
        .collect()
}

/// The workflow of a U-Boot user on QEMU's `virt`: the disk `-drive if=virtio` gives is a virtio-blk-pci device;
/// U-Boot finds it on the PCI bus, reads the kernel and initramfs from its ext2 file system and boots them, and
/// the shared guest runs to its poweroff. U-Boot says the same as under QEMU 7.2.
#[test]
fn uboot_loads_linux_from_a_virtio_pci_disk_and_boots_it_as_under_qemu() {
    let disk = boot_disk();
    let session = |program: &Path| {
        let mut cmd = uboot(program, S_MODE);
        cmd.arg("-drive").arg(format!("file={},format=raw,if=virtio", disk.display()));
        let steps = [
            ("Hit any key to stop autoboot:", "\n"),
            ("=> ", "pci enum\n"),
            ("=> ", "pci\n"),
            ("=> ", "virtio scan\n"),
            ("=> ", "virtio info\n"),
            ("=> ", "ls virtio 0\n"),
            ("=> ", "load virtio 0 ${kernel_addr_r} Image\n"),
            ("=> ", "load virtio 0 ${ramdisk_addr_r} initramfs.cpio.gz\n"),
            ("=> ", "setenv bootargs console=ttyS0 poweroff=1\n"),
            ("=> ", "booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}\n"),
        ];
        run_conversation(cmd, &steps, Duration::from_secs(120))
    };
    let run = session(&rewind_bin());
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let ours = uboot_view(&run.stdout);
    assert!(ours.iter().any(|l| l.contains("0x1af4     0x1001     Mass storage controller")), "{ours:#?}");
    assert!(ours.iter().any(|l| l.contains("Image")), "{ours:#?}");
    assert!(run.stdout.contains("rewind-guest: powering off"), "Linux did not run from the disk:\n{}", run.stdout);
    if qemu_installed() {
        let theirs = session(Path::new("qemu-system-riscv64"));
        assert_eq!(ours, uboot_view(&theirs.stdout), "rewind (left) and QEMU 7.2");
    }
    let _ = std::fs::remove_dir_all(disk.parent().unwrap_or(&disk));
}

/// The two CFI flash banks of QEMU's `virt`: U-Boot (in M mode: an image in the first bank would be where the
/// harts start, as in QEMU 7.2) probes them from the device tree and lists their geometry, erases a sector of the
/// first, programs it from RAM and reads it back, reads the read-only image `-drive if=pflash,unit=1` gives the
/// second and fails to erase it; the same as under QEMU 7.2, line for line.
#[test]
fn uboot_probes_erases_and_programs_the_flash_banks_as_under_qemu() {
    let image = std::env::temp_dir().join(format!("rewind-uboot-flash-{}.img", std::process::id()));
    let mut bytes = vec![0u8; 32 << 20];
    bytes[..16].copy_from_slice(b"flash bank one!!");
    std::fs::write(&image, &bytes).unwrap();
    let session = |program: &Path| {
        let mut cmd = uboot(program, M_MODE);
        cmd.arg("-drive").arg(format!("file={},format=raw,if=pflash,unit=1,readonly=on", image.display()));
        let steps = [
            ("Hit any key to stop autoboot:", "\n"),
            ("=> ", "flinfo\n"),
            ("=> ", "md.b 0x22000000 0x10\n"),
            ("=> ", "md.l 0x20000000 4\n"),
            ("=> ", "erase 0x20000000 +0x40000\n"),
            ("=> ", "md.l 0x20000000 4\n"),
            ("=> ", "mw.l 0x84000000 0x12345678 4\n"),
            ("=> ", "cp.l 0x84000000 0x20000010 4\n"),
            ("=> ", "md.l 0x20000000 8\n"),
            ("=> ", "erase 0x22000000 +0x40000\n"),
            ("=> ", "md.b 0x22000000 0x10\n"),
            ("=> ", "poweroff\n"),
        ];
        let run = run_conversation(cmd, &steps, Duration::from_secs(60));
        assert_eq!(run.code, Some(0), "{}:\n{}\n{}", program.display(), run.stdout, run.stderr);
        let start = run.stdout.find("=> flinfo").unwrap_or(0);
        run.stdout[start..].lines().map(|l| l.trim_end().to_string()).collect::<Vec<_>>()
    };
    let ours = session(&rewind_bin());
    for expected in [
        "  Intel Extended command set, Manufacturer ID: 0x89, Device ID: 0x0018",
        "22000000: 66 6c 61 73 68 20 62 61 6e 6b 20 6f 6e 65 21 21  flash bank one!!",
        "20000010: 12345678 12345678 12345678 12345678  xV4.xV4.xV4.xV4.",
    ] {
        assert!(ours.iter().any(|l| l == expected), "no '{expected}' in {ours:#?}");
    }
    if qemu_installed() {
        assert_eq!(ours, session(Path::new("qemu-system-riscv64")), "rewind (left) and QEMU 7.2");
    }
    let _ = std::fs::remove_file(image);
}
