//! The PCIe host bridge of the `virt` board, found by the shared guest's `full/` kernel (PCI, the generic ECAM
//! host, virtio-pci) as it finds QEMU 7.2's.

mod common;

use common::{guest_dir, rewind_bin, run_conversation, run_with_input, Run};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);
const PROMPT: &str = "rewind-guest:/# ";

/// The `full/` kernel of the shared guest; its absence fails the test with the way to build it.
fn full_kernel() -> PathBuf {
    let image = guest_dir().join("full/Image");
    assert!(
        image.exists(),
        "{} not found: build it with VARIANT=full scripts/build-guest.sh DIR/full",
        image.display()
    );
    image
}

/// `program` (rewind or QEMU) booting the `full/` kernel with the shared initramfs.
fn full_linux(program: PathBuf) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(["-M", "virt", "-m", "256M", "-nographic", "-kernel"])
        .arg(full_kernel())
        .arg("-initrd")
        .arg(guest_dir().join("initramfs.cpio.gz"))
        .args(["-append", "console=ttyS0"]);
    cmd
}

/// What the guest says about PCI: the kernel's log lines (without timestamps) and, per function in sysfs, its
/// IDs, class and subsystem.
fn pci_view(run: &Run) -> Vec<String> {
    let log = run.stdout.lines().filter(|l| l.to_lowercase().contains("pci"));
    let log = log.map(|l| l.split_once("] ").map_or(l, |(_, text)| text).trim_end().to_string());
    let sysfs = run.stdout.lines().filter(|l| l.starts_with("function ")).map(|l| l.trim_end().to_string());
    log.chain(sysfs).collect()
}

fn boot_and_list_functions(program: PathBuf) -> Run {
    boot_with(full_linux(program), &[])
}

/// Boots `cmd`, lists the PCI functions, runs `steps` and powers off.
fn boot_with(cmd: Command, steps: &[(&str, &str)]) -> Run {
    let list = "for d in /sys/bus/pci/devices/*; do echo function ${d##*/} $(cat $d/vendor $d/device $d/class \
                $d/revision $d/subsystem_vendor $d/subsystem_device); done\n";
    let mut all = vec![(PROMPT, list)];
    all.extend_from_slice(steps);
    all.push((PROMPT, "poweroff -f\n"));
    let run = run_conversation(cmd, &all, TIMEOUT);
    assert!(run.stdout.contains("rewind-guest: userspace up"), "no userspace:\n{}{}", run.stdout, run.stderr);
    run
}

/// A disk image of `sectors` zeroed sectors with `text` at the start.
fn disk_image(name: &str, text: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("rewind-pci-{}-{name}.img", std::process::id()));
    let mut bytes = vec![0u8; 1 << 20];
    bytes[..text.len()].copy_from_slice(text);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The full kernel with a disk given as `-drive if=virtio` and an entropy source given by QEMU's short name — both
/// virtio-pci devices on QEMU's `virt` — and a second disk in slot 5 through `-device virtio-blk-pci,addr=5`.
fn boot_with_pci_devices(program: PathBuf) -> Run {
    let (first, second) = (disk_image("first", b"first disk\n"), disk_image("second", b"second disk\n"));
    let mut cmd = full_linux(program);
    cmd.arg("-drive").arg(format!("file={},format=raw,if=virtio", first.display()));
    cmd.arg("-drive").arg(format!("file={},format=raw,if=none,id=d1", second.display()));
    cmd.args(["-device", "virtio-rng", "-device", "virtio-blk-pci,drive=d1,addr=5"]);
    let steps = [
        (PROMPT, "for d in /sys/bus/pci/devices/*; do echo config ${d##*/} $(od -A n -t x1 -v $d/config); done\n"),
        (PROMPT, "for d in /sys/bus/pci/devices/*; do echo resource ${d##*/} $(cat $d/resource); done\n"),
        (
            PROMPT,
            "grep virtio /proc/interrupts | tr -s ' ' | cut -d' ' -f4-; cat /sys/class/misc/hw_random/rng_current\n",
        ),
        (PROMPT, "head -c 11 /dev/vda; head -c 12 /dev/vdb; echo written > /dev/vda; sync; head -c 8 /dev/vda\n"),
        (PROMPT, "head -c 64 /dev/hwrng | wc -c\n"),
    ];
    let run = boot_with(cmd, &steps);
    let _ = (std::fs::remove_file(first), std::fs::remove_file(second));
    run
}

/// What the guest says of its PCI devices and does with them, without timestamps and host-dependent bytes.
fn device_view(run: &Run) -> Vec<String> {
    let wanted = ["pci", "virtio", "config ", "resource ", "[vd", "first disk", "second disk", "written"];
    run.stdout
        .lines()
        .map(|l| l.split_once("] ").map_or(l, |(_, text)| text).trim_end().to_string())
        .filter(|l| wanted.iter().any(|w| l.contains(w)) || l == "64")
        .collect()
}

#[test]
fn the_full_kernel_uses_virtio_pci_disks_and_entropy_as_under_qemu() {
    let run = boot_with_pci_devices(rewind_bin());
    let ours = device_view(&run);
    for expected in [
        "pci 0000:00:01.0: [1af4:1005] type 00 class 0x00ff00",
        "pci 0000:00:02.0: [1af4:1001] type 00 class 0x010000",
        "pci 0000:00:05.0: [1af4:1001] type 00 class 0x010000",
        "virtio_blk virtio1: [vda] 2048 512-byte logical blocks (1.05 MB/1.00 MiB)",
        "first disk",
        "second disk",
        "written",
        "virtio_rng.0",
    ] {
        assert!(ours.iter().any(|l| l.contains(expected)), "no '{expected}' in {ours:#?}");
    }
    if Command::new("qemu-system-riscv64").arg("--version").output().is_err() {
        eprintln!("qemu-system-riscv64 not installed: comparison skipped");
        return;
    }
    let theirs = device_view(&boot_with_pci_devices(PathBuf::from("qemu-system-riscv64")));
    assert_eq!(ours, theirs, "rewind (left) and QEMU 7.2");
}

#[test]
fn the_full_kernel_finds_the_host_bridge_qemu_gives() {
    let ours = pci_view(&boot_and_list_functions(rewind_bin()));
    let expected = "function 0000:00:00.0 0x1b36 0x0008 0x060000 0x00 0x1af4 0x1100";
    assert!(ours.iter().any(|l| l == expected), "no '{expected}' in {ours:#?}");
    assert!(ours.iter().any(|l| l.contains("ECAM at [mem 0x30000000-0x3fffffff] for [bus 00-ff]")), "{ours:#?}");
    if Command::new("qemu-system-riscv64").arg("--version").output().is_err() {
        eprintln!("qemu-system-riscv64 not installed: comparison skipped");
        return;
    }
    let theirs = pci_view(&boot_and_list_functions(PathBuf::from("qemu-system-riscv64")));
    assert_eq!(ours, theirs, "rewind (left) and QEMU 7.2");
}

/// The guest's configuration writes, the BARs it places and what the PCI devices do are machine state: a recorded
/// boot of the `full/` kernel with a virtio-blk-pci disk (which the kernel probes and reads) and a virtio-rng-pci
/// source replays to the same end, printing the same console output.
#[test]
fn a_boot_that_enumerates_pci_replays_identically() {
    let rec = std::env::temp_dir().join(format!("rewind-pci-{}.rwd", std::process::id()));
    let disk = disk_image("recorded", b"recorded disk\n");
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(&rec).args(["-M", "virt", "-m", "256M", "-nographic", "-kernel"]);
    cmd.arg(full_kernel()).arg("-initrd").arg(guest_dir().join("initramfs.cpio.gz"));
    cmd.args(["-append", "console=ttyS0 poweroff=1", "-device", "virtio-rng"]);
    cmd.arg("-drive").arg(format!("file={},format=raw,if=virtio", disk.display()));
    let recorded = run_with_input(cmd, b"", TIMEOUT);
    assert_eq!(recorded.code, Some(0), "{}{}", recorded.stdout, recorded.stderr);
    assert!(recorded.stdout.contains("pci 0000:00:00.0: [1b36:0008] type 00 class 0x060000"), "{}", recorded.stdout);
    assert!(recorded.stdout.contains("virtio_blk virtio1: [vda] 2048 512-byte logical blocks"), "{}", recorded.stdout);
    let mut cmd = Command::new(rewind_bin());
    cmd.arg("replay").arg(&rec);
    let replayed = run_with_input(cmd, b"", TIMEOUT);
    let _ = (std::fs::remove_file(&rec), std::fs::remove_file(&disk));
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr);
    assert!(replayed.stderr.contains("state matches the recording"), "{}", replayed.stderr);
    assert_eq!(replayed.stdout, recorded.stdout);
}

/// Runs `cmd` with the console in `serial` and the monitor on stdio; once the guest's userspace is up, asks the
/// monitor for `info pci` and quits. Returns the monitor's output.
fn info_pci_after_boot(mut cmd: Command, serial: &std::path::Path) -> String {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(serial).unwrap_or_default().contains("rewind-guest: userspace up") {
        assert!(start.elapsed() < TIMEOUT, "no userspace in {}", serial.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"info pci\nquit\n").unwrap();
    drop(stdin);
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let _ = child.wait();
    out
}

/// `info pci` in the monitor after Linux placed the BARs: QEMU's listing, line for line.
#[test]
fn info_pci_lists_the_functions_as_qemu_does() {
    let listing = |program: PathBuf| {
        let disk = disk_image("info", b"");
        let serial = std::env::temp_dir().join(format!("rewind-pci-{}-serial.txt", std::process::id()));
        let _ = std::fs::remove_file(&serial);
        let mut cmd = full_linux(program);
        cmd.args(["-device", "virtio-rng", "-monitor", "stdio", "-serial"]).arg(format!("file:{}", serial.display()));
        cmd.arg("-drive").arg(format!("file={},format=raw,if=virtio", disk.display()));
        let out = info_pci_after_boot(cmd, &serial);
        let _ = (std::fs::remove_file(disk), std::fs::remove_file(serial));
        let entry = |l: &&str| {
            let t = l.trim();
            ["Bus ", "PCI subsystem ", "IRQ ", "BAR", "id \""].iter().any(|p| t.starts_with(p))
                || t.contains(": PCI device ")
        };
        out.lines().filter(entry).map(|l| l.trim_end().to_string()).collect::<Vec<_>>()
    };
    let ours = listing(rewind_bin());
    for expected in [
        "    Host bridge: PCI device 1b36:0008",
        "    Class 0255: PCI device 1af4:1005",
        "      BAR4: 64 bit prefetchable memory at 0x400004000 [0x400007fff].",
        "    SCSI controller: PCI device 1af4:1001",
        "      IRQ 2, pin A",
    ] {
        assert!(ours.iter().any(|l| l == expected), "no '{expected}' in {ours:#?}");
    }
    if Command::new("qemu-system-riscv64").arg("--version").output().is_err() {
        return;
    }
    assert_eq!(ours, listing(PathBuf::from("qemu-system-riscv64")), "rewind (left) and QEMU 7.2");
}
