//! Debian's U-Boot (package `u-boot-qemu`), as its own QEMU command lines run it: in S mode after OpenSBI, and in
//! M mode as the firmware. It counts its two-second autoboot delay down by polling the timer, finds nothing to
//! boot and gives its prompt; compared with QEMU 7.2 in the same test.

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
