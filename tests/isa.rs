//! The ISA test programs in examples/isa pass under rewind (and, as the reference, under QEMU when installed).

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

fn isa_elfs() -> Vec<std::path::PathBuf> {
    let dir = workspace().join("examples/isa/build");
    let mut elfs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (build with `make -C examples/isa`)", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "elf"))
        .collect();
    elfs.sort();
    assert!(!elfs.is_empty(), "no test programs in {}", dir.display());
    elfs
}

/// Runs every ISA program with rewind's extra options `tier` and fails listing the programs that did not pass.
fn every_isa_test_passes_with(tier: &[&str]) {
    let mut failures = Vec::new();
    for elf in isa_elfs() {
        let mut cmd = Command::new(rewind_bin());
        cmd.args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-kernel"]).arg(&elf).args(tier);
        let run = run_with_input(cmd, b"", Duration::from_secs(60));
        if run.code != Some(0) || !run.stdout.contains("PASS") {
            failures.push(format!("{}: exit {:?}\n{}{}", elf.display(), run.code, run.stdout, run.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_isa_test_passes_under_the_interpreter() {
    every_isa_test_passes_with(&["--jit", "off"]);
}

/// With a threshold of 1 every block is translated the first time it runs, so the test code itself (not just
/// its loops) runs as host code.
#[test]
fn every_isa_test_passes_under_the_jit() {
    every_isa_test_passes_with(&["--jit", "on", "--jit-threshold", "1"]);
}

#[test]
fn every_isa_test_passes_under_qemu_the_reference() {
    if Command::new("qemu-system-riscv64").arg("--version").output().is_err() {
        eprintln!("qemu-system-riscv64 not installed: reference run skipped");
        return;
    }
    for elf in isa_elfs() {
        let mut cmd = Command::new("qemu-system-riscv64");
        cmd.args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-kernel"]).arg(&elf);
        let run = run_with_input(cmd, b"", Duration::from_secs(60));
        assert_eq!(run.code, Some(0), "{} under QEMU:\n{}", elf.display(), run.stdout);
    }
}
