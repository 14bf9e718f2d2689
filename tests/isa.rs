//! The ISA test programs in examples/isa pass under rewind (and, as the reference, under QEMU when installed).

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

/// The programs QEMU 7.2 runs too (`max = false`), or those for the extensions only rewind's `-cpu max` has.
fn isa_elfs_in(max: bool) -> Vec<std::path::PathBuf> {
    let dir = workspace().join(if max { "examples/isa/build/max" } else { "examples/isa/build" });
    let mut elfs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (build with `make -C examples/isa`)", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "elf"))
        .collect();
    elfs.sort();
    assert!(!elfs.is_empty(), "no test programs in {}", dir.display());
    elfs
}

fn isa_elfs() -> Vec<std::path::PathBuf> {
    isa_elfs_in(false)
}

/// Runs every ISA program with rewind's extra options `tier` and fails listing the programs that did not pass;
/// the programs for extensions QEMU 7.2 lacks run with `-cpu max`.
fn every_isa_test_passes_with(tier: &[&str]) {
    let mut failures = Vec::new();
    let programs = isa_elfs().into_iter().map(|e| (e, "rv64")).chain(isa_elfs_in(true).into_iter().map(|e| (e, "max")));
    for (elf, cpu) in programs {
        let mut cmd = Command::new(rewind_bin());
        cmd.args(["-cpu", cpu]);
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

/// The lines a probe program (examples/isa/build/`name`.elf) prints under `program` (rewind with `extra`
/// options, or QEMU) with `-cpu cpu`, less its closing PASS line.
fn probe_lines(name: &str, program: &str, cpu: &str, extra: &[&str]) -> Vec<String> {
    let elf = workspace().join(format!("examples/isa/build/{name}.elf"));
    let mut cmd = Command::new(program);
    cmd.args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-cpu", cpu, "-kernel"]).arg(&elf).args(extra);
    let run = run_with_input(cmd, b"", Duration::from_secs(60));
    assert_eq!(run.code, Some(0), "{name} under {program} -cpu {cpu}:\n{}{}", run.stdout, run.stderr);
    run.stdout.lines().filter(|l| !l.starts_with("PASS ")).map(String::from).collect()
}

/// examples/isa/cpu_probe prints which optional instructions and CSRs the hart has: under each `-cpu` it prints
/// what QEMU 7.2 prints with the same option, under both backends. An extension turned off is illegal.
#[test]
fn the_cpu_option_gives_the_hart_qemu_gives() {
    let probe = |program: &str, cpu: &str, extra: &[&str]| probe_lines("cpu_probe", program, cpu, extra);
    let qemu = Command::new("qemu-system-riscv64").arg("--version").output().is_ok();
    for cpu in [
        "rv64",
        "rv64,zba=false,zbc=false,sstc=false,pmu-num=4",
        "rv64,zbb=off,zbs=off,pmu-num=0",
        "rv64,zbb=off,zbkb=on",
    ] {
        let interp = probe(&rewind_bin().to_string_lossy(), cpu, &["--jit", "off"]);
        let jit = probe(&rewind_bin().to_string_lossy(), cpu, &["--jit", "on", "--jit-threshold", "1"]);
        assert_eq!(interp, jit, "-cpu {cpu}: interpreter and JIT differ");
        if qemu {
            assert_eq!(interp, probe("qemu-system-riscv64", cpu, &[]), "-cpu {cpu}: rewind (left) and QEMU differ");
        }
    }
    let off = probe(&rewind_bin().to_string_lossy(), "rv64,zba=off,sstc=off,pmu-num=4", &[]);
    for line in
        ["zba sh1add: illegal", "zbb clz: ok", "sstc stimecmp: illegal", "mhpmcounter6: ok", "mhpmcounter7: illegal"]
    {
        assert!(off.iter().any(|l| l == line), "no '{line}' in {off:?}");
    }
    // What QEMU 7.2 lacks is illegal by default, as there, and there with -cpu max.
    let max = probe(&rewind_bin().to_string_lossy(), "max", &[]);
    let default = probe(&rewind_bin().to_string_lossy(), "rv64", &[]);
    for ext in [
        "zicond czero.eqz",
        "zicbom cbo.clean",
        "zicboz cbo.zero",
        "svinval sinval.vma",
        "zcb c.not",
        "zawrs wrs.sto",
        "zfa fli.d",
    ] {
        assert!(max.contains(&format!("{ext}: ok")), "-cpu max: no '{ext}: ok' in {max:?}");
        assert!(default.contains(&format!("{ext}: illegal")), "-cpu rv64: {default:?}");
    }
}

/// examples/isa/zfh_probe prints checksums of every half-precision operation's results and flags over a grid of
/// operands in every rounding mode: with Zfh (and with Zfhmin alone) rewind prints what QEMU 7.2 prints, under
/// both backends.
#[test]
fn half_precision_matches_qemu() {
    let run = |program: &str, cpu: &str, extra: &[&str]| probe_lines("zfh_probe", program, cpu, extra);
    let rewind = rewind_bin().to_string_lossy().into_owned();
    let qemu = Command::new("qemu-system-riscv64").arg("--version").output().is_ok();
    for cpu in ["rv64,Zfh=true", "rv64,Zfhmin=true"] {
        let interp = run(&rewind, cpu, &["--jit", "off"]);
        assert!(interp.len() > 100 || cpu.contains("Zfhmin"), "-cpu {cpu}: {interp:?}");
        assert_eq!(interp, run(&rewind, cpu, &["--jit", "on", "--jit-threshold", "1"]), "-cpu {cpu}: JIT");
        if qemu {
            let theirs = run("qemu-system-riscv64", cpu, &[]);
            let first = interp.iter().zip(&theirs).find(|(a, b)| a != b);
            assert_eq!(interp.len(), theirs.len(), "-cpu {cpu}: first difference {first:?}");
            assert!(first.is_none(), "-cpu {cpu}: rewind (left) and QEMU differ at {first:?}");
        }
    }
}

/// examples/isa/zbkb checks Zbkb's operations against C models: with Zbkb, and with Zbkb alone (its operations
/// that Zbb shares stay legal), under both backends and QEMU 7.2.
#[test]
fn zbkb_computes_what_its_models_and_qemu_compute() {
    let run = |program: &str, cpu: &str, extra: &[&str]| probe_lines("zbkb", program, cpu, extra);
    let rewind = rewind_bin().to_string_lossy().into_owned();
    let qemu = Command::new("qemu-system-riscv64").arg("--version").output().is_ok();
    assert_eq!(run(&rewind, "rv64", &[]), ["zbkb: illegal"], "off by default, as in QEMU 7.2");
    for cpu in ["rv64,zbkb=on", "rv64,zbkb=on,zbb=off"] {
        for tier in [&["--jit", "off"][..], &["--jit", "on", "--jit-threshold", "1"]] {
            assert_eq!(run(&rewind, cpu, tier), ["zbkb: ok"], "-cpu {cpu} {tier:?}");
        }
        if qemu {
            assert_eq!(run("qemu-system-riscv64", cpu, &[]), ["zbkb: ok"], "-cpu {cpu} under QEMU");
        }
    }
}

/// The extensions' instructions run in translated code instead of leaving it for the interpreter: with every block
/// translated the first time it runs, nearly all of each program's instructions retire in translated code
/// (floating point through a call into the interpreter's code, the carry-less multiplications through a call).
#[test]
fn the_extensions_run_in_translated_code() {
    for (program, cpu) in [("fp", "rv64"), ("zfh_probe", "rv64,Zfh=true"), ("zb", "rv64"), ("zbkb", "rv64,zbkb=on")] {
        let elf = workspace().join(format!("examples/isa/build/{program}.elf"));
        let mut cmd = Command::new(rewind_bin());
        cmd.args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-cpu", cpu, "--stats"]);
        cmd.args(["--jit", "on", "--jit-threshold", "1", "-kernel"]).arg(&elf);
        let run = run_with_input(cmd, b"", Duration::from_secs(60));
        assert_eq!(run.code, Some(0), "{program}:\n{}{}", run.stdout, run.stderr);
        let share = run
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("rewind: jit: ")?.split('%').next()?.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{program}: no JIT statistics in {}", run.stderr));
        assert!(share > 85.0, "{program}: only {share}% of its instructions ran translated");
    }
}

/// examples/isa/busy_wait spins two seconds on the clock: rewind speeds a polling hart's time up, so the wait costs
/// a few million instructions instead of two billion, under both backends and at any `-icount shift`, while a timer
/// interrupt that falls due during the wait still comes within a millisecond of its time.
#[test]
fn a_busy_wait_costs_few_instructions_and_its_timer_interrupt_comes_on_time() {
    let elf = workspace().join("examples/isa/build/busy_wait.elf");
    for extra in [&["--jit", "on"][..], &["--jit", "off"], &["-icount", "shift=3"]] {
        let mut cmd = Command::new(rewind_bin());
        cmd.args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "--stats", "-kernel"]).arg(&elf);
        cmd.args(extra);
        let run = run_with_input(cmd, b"", Duration::from_secs(60));
        assert_eq!(run.code, Some(0), "{extra:?}:\n{}{}", run.stdout, run.stderr);
        let number_before = |text: &str, marker: &str| -> u64 {
            let at = text.find(marker).unwrap_or_else(|| panic!("no '{marker}' in:\n{text}"));
            let digits: String = text[..at]
                .trim_end()
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            digits.parse().unwrap()
        };
        let late_us = number_before(&run.stdout, " us late");
        assert!(late_us <= 1000, "{extra:?}: the timer interrupt came {late_us} us late");
        let instructions = number_before(&run.stderr, " instructions,");
        assert!(instructions < 20_000_000, "{extra:?}: {instructions} instructions for a two-second wait");
        assert!(run.stderr.contains("2.000 s virtual time"), "{extra:?}: {}", run.stderr);
    }
}
