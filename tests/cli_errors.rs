//! Bad input gets one clear line on stderr and a non-zero exit, never a panic.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

fn rewind(args: &[&str]) -> Run {
    let mut cmd = Command::new(rewind_bin());
    cmd.args(args);
    run_with_input(cmd, b"", Duration::from_secs(30))
}

fn assert_clean_error(run: &Run, needle: &str) {
    assert_ne!(run.code, Some(0), "{}", run.stderr);
    assert!(run.code.is_some(), "killed by a signal: {}", run.stderr);
    assert!(run.stderr.contains(needle), "expected {needle:?} in: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

fn temp_file(name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("rewind-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn missing_kernel_file_is_named() {
    let run = rewind(&["-bios", "none", "-kernel", "/nonexistent/kernel.elf"]);
    assert_clean_error(&run, "/nonexistent/kernel.elf");
}

#[test]
fn truncated_elf_is_rejected() {
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    elf.resize(40, 0);
    let p = temp_file("trunc.elf", &elf);
    let run = rewind(&["-bios", "none", "-kernel", p.to_str().unwrap()]);
    let _ = std::fs::remove_file(&p);
    assert_clean_error(&run, "trunc.elf");
}

#[test]
fn kernel_larger_than_ram_is_rejected() {
    let p = temp_file("huge.img", &vec![0u8; 20 << 20]);
    let run = rewind(&["-m", "16M", "-bios", "none", "-kernel", p.to_str().unwrap()]);
    let _ = std::fs::remove_file(&p);
    assert_clean_error(&run, "huge.img");
}

#[test]
fn unknown_option_and_bad_values_are_errors() {
    assert_clean_error(&rewind(&["-frobnicate"]), "frobnicate");
    assert_clean_error(&rewind(&["-m", "12Q"]), "12Q");
    assert_clean_error(&rewind(&["-smp", "99"]), "-smp");
    assert_clean_error(&rewind(&["-M", "sifive_u"]), "sifive_u");
    assert_clean_error(&rewind(&["-M", "virt,aclint=on"]), "aclint");
    assert_clean_error(&rewind(&["-bios", "none", "-M", "virt,dumpdtb=/nonexistent/dir/x.dtb"]), "/nonexistent/dir");
}
