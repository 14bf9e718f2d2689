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
    let list = "for d in /sys/bus/pci/devices/*; do echo function ${d##*/} $(cat $d/vendor $d/device $d/class \
                $d/revision $d/subsystem_vendor $d/subsystem_device); done\n";
    let steps = [(PROMPT, list), (PROMPT, "poweroff -f\n")];
    let run = run_conversation(full_linux(program), &steps, TIMEOUT);
    assert!(run.stdout.contains("rewind-guest: userspace up"), "no userspace:\n{}{}", run.stdout, run.stderr);
    run
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

/// The guest's configuration writes (the command register the kernel sets while it enumerates) are machine
/// state: a recorded boot of the `full/` kernel replays to the same end, printing the same console output.
#[test]
fn a_boot_that_enumerates_pci_replays_identically() {
    let rec = std::env::temp_dir().join(format!("rewind-pci-{}.rwd", std::process::id()));
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(&rec).args(["-M", "virt", "-m", "256M", "-nographic", "-kernel"]);
    cmd.arg(full_kernel()).arg("-initrd").arg(guest_dir().join("initramfs.cpio.gz"));
    cmd.args(["-append", "console=ttyS0 poweroff=1"]);
    let recorded = run_with_input(cmd, b"", TIMEOUT);
    assert_eq!(recorded.code, Some(0), "{}{}", recorded.stdout, recorded.stderr);
    assert!(recorded.stdout.contains("pci 0000:00:00.0: [1b36:0008] type 00 class 0x060000"), "{}", recorded.stdout);
    let mut cmd = Command::new(rewind_bin());
    cmd.arg("replay").arg(&rec);
    let replayed = run_with_input(cmd, b"", TIMEOUT);
    let _ = std::fs::remove_file(&rec);
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr);
    assert!(replayed.stderr.contains("state matches the recording"), "{}", replayed.stderr);
    assert_eq!(replayed.stdout, recorded.stdout);
}
