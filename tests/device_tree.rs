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
        // Every node of the devices we do have is there, with the same unit address.
        for line in &their_lines {
            let node = ["virtio_mmio@", "serial@", "rtc@", "test@", "plic@", "clint@", "cpu@", "memory@", "core"]
                .iter()
                .any(|n| line.starts_with(n));
            if node
                || ["chosen {", "poweroff {", "reboot {", "bootargs", "linux,initrd", "stdout-path"]
                    .iter()
                    .any(|p| line.starts_with(p))
            {
                assert!(our_lines.contains(line), "-smp {harts}: QEMU's line {line:?} is missing from ours:\n{ours}");
            }
        }
    }
}
