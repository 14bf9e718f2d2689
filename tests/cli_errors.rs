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
    assert_clean_error(&rewind(&["-bios", "none", "-serial", "pty"]), "supports stdio, mon:stdio, file:PATH and none");
    assert_clean_error(&rewind(&["-bios", "none", "-monitor", "stdio"]), "add -serial file:PATH or -serial none");
    assert_clean_error(&rewind(&["-bios", "none", "-monitor", "telnet::4444"]), "-monitor telnet::4444");
    assert_clean_error(
        &rewind(&["tui", "-bios", "none", "-serial", "none", "-monitor", "stdio"]),
        "TUI's command line",
    );
    assert_clean_error(&rewind(&["tui", "-bios", "none"]), "the TUI needs a terminal");
    assert_clean_error(&rewind(&["-bios", "none", "--symbols", "/nonexistent/vmlinux"]), "/nonexistent/vmlinux");
    assert_clean_error(&rewind(&["-bios", "none", "--on-timeout", "maybe"]), "maybe");
    assert_clean_error(&rewind(&["-bios", "none", "-device", "virtio-gpu-device"]), "-device help lists them");
    // As QEMU: help lists what exists, on stdout, and nothing runs.
    let help = rewind(&["-device", "help"]);
    assert_eq!(help.code, Some(0), "{}", help.stderr);
    assert!(help.stdout.contains("name \"virtio-blk-device\", bus virtio-bus"), "{}", help.stdout);
}

/// With a verdict option, what rewind cannot judge exits 128 (git bisect stops) and an image it cannot load
/// exits 125 (git bisect skips the commit); the verdict is the last line.
#[test]
fn verdict_errors_stop_or_skip_a_bisection() {
    let run = rewind(&["-bios", "none", "--timeout", "soon"]);
    assert_eq!(run.code, Some(128), "{}", run.stderr);
    assert_clean_error(&run, "--timeout soon: 'soon' is not a duration (30s, 500ms, 2m)");
    assert!(run.stderr.trim_end().ends_with("exit 128 stops git bisect)"), "{}", run.stderr);
    let run = rewind(&["-bios", "none", "-kernel", "/nonexistent/Image", "--expect", "login:"]);
    assert_eq!(run.code, Some(125), "{}", run.stderr);
    let last = run.stderr.trim_end().lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("rewind: verdict: skip (cannot load an image: ") && last.contains("/nonexistent/Image"));
}

#[test]
fn dash_s_without_gdb_and_without_a_terminal_says_how_to_start() {
    // QEMU's -S without a gdb server waits for the monitor's `cont`; with stdin not a terminal there is no monitor.
    let run = rewind(&["-bios", "none", "-nographic", "-S"]);
    assert_clean_error(&run, "-S without a gdb server waits for the monitor's cont");
}

/// A bare-metal ELF for a machine of `gib` GiB of RAM: it writes a marker to the last doubleword of RAM, reads
/// it back and powers off through the sifive_test device: code 0 if the marker came back, 1 if not.
fn top_of_ram_elf(gib: u32) -> Vec<u8> {
    let code: [u32; 17] = [
        (gib << 20) | 0x293, // addi t0, zero, gib
        0x01e2_9293,         // slli t0, t0, 30
        0x0010_0313,         // addi t1, zero, 1
        0x01f3_1313,         // slli t1, t1, 31        (DRAM base)
        0x0062_82b3,         // add  t0, t0, t1
        0xff82_8293,         // addi t0, t0, -8        (the last doubleword of RAM)
        0x1234_53b7,         // lui  t2, 0x12345
        0x0072_b023,         // sd   t2, 0(t0)
        0x0002_be03,         // ld   t3, 0(t0)
        0x0010_0eb7,         // lui  t4, 0x100         (sifive_test)
        0x0000_5f37,         // lui  t5, 0x5
        0x555f_0f13,         // addi t5, t5, 0x555     (0x5555: pass)
        0x01c3_8663,         // beq  t2, t3, 1f
        0x0001_3f37,         // lui  t5, 0x13
        0x333f_0f13,         // addi t5, t5, 0x333     (0x13333: fail, exit code 1)
        0x01ee_a023,         // 1: sw t5, 0(t4)
        0x0000_006f,         // j .
    ];
    let code: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    let base = 0x8000_0000u64;
    let mut e = Vec::new();
    e.extend_from_slice(b"\x7fELF");
    e.extend_from_slice(&[2, 1, 1, 0]); // ELFCLASS64, little-endian, EV_CURRENT, SYSV
    e.extend_from_slice(&[0; 8]);
    e.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    e.extend_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&base.to_le_bytes()); // e_entry
    e.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    e.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    e.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    e.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    e.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    e.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    e.extend_from_slice(&[0; 6]); // shentsize, shnum, shstrndx
    e.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    e.extend_from_slice(&5u32.to_le_bytes()); // R+X
    e.extend_from_slice(&120u64.to_le_bytes()); // p_offset
    e.extend_from_slice(&base.to_le_bytes()); // p_vaddr
    e.extend_from_slice(&base.to_le_bytes()); // p_paddr
    e.extend_from_slice(&(code.len() as u64).to_le_bytes()); // p_filesz
    e.extend_from_slice(&(code.len() as u64).to_le_bytes()); // p_memsz
    e.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    e.extend_from_slice(&code);
    e
}

/// Runs `cmd` to its end (killing it after `timeout`) and returns the run with the child's peak resident memory
/// in KiB, from the kernel's accounting of that one process (wait4).
fn run_measuring_peak_rss(mut cmd: Command, timeout: Duration) -> (Run, u64) {
    use std::io::Read;
    use std::process::Stdio;
    let start = std::time::Instant::now();
    // Reaped by wait4 below, which also reports the child's peak memory; std's wait would not.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; zeroes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our child, not yet reaped (std's Child never waited for it); the pointers are valid.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(r >= 0, "wait4: {}", std::io::Error::last_os_error());
        if r == pid {
            break;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let run = Run { code, stdout: out.join().unwrap(), stderr: err.join().unwrap(), elapsed: start.elapsed() };
    (run, usage.ru_maxrss as u64)
}

/// Every RAM size the board allows runs, with only the memory the guest touches committed: 32 and 64 GiB
/// machines on a host with less than that run a program that writes the last doubleword of RAM.
#[test]
fn the_largest_ram_sizes_run_and_commit_only_what_the_guest_touches() {
    for gib in [32, 64] {
        let p = temp_file(&format!("top-{gib}.elf"), &top_of_ram_elf(gib));
        let mut cmd = Command::new(rewind_bin());
        cmd.args(["-M", "virt", "-m", &format!("{gib}G"), "-nographic", "-bios", "none", "-kernel"]).arg(&p);
        let (run, peak_kib) = run_measuring_peak_rss(cmd, Duration::from_secs(60));
        let _ = std::fs::remove_file(&p);
        assert_eq!(run.code, Some(0), "-m {gib}G: {}", run.stderr);
        assert!(run.elapsed < Duration::from_secs(20), "-m {gib}G took {:?}", run.elapsed);
        // The per-page dirty flags (16 MiB at 64 GiB) and the JIT's buffers are the fixed costs.
        assert!(peak_kib < 128 << 10, "-m {gib}G: peak RSS {peak_kib} KiB");
    }
}

#[test]
fn ram_beyond_the_board_limit_is_a_clean_error() {
    assert_clean_error(&rewind(&["-m", "65G", "-bios", "none"]), "up to 64 GiB");
    assert_clean_error(&rewind(&["-m", "1T", "-bios", "none"]), "RAM size 1024 GiB is not");
}

/// A host that refuses the reservation (here: an address-space limit) gets one line, not an abort.
#[test]
fn ram_the_host_cannot_reserve_is_one_line() {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -v 4000000 && exec \"$0\" \"$@\""]).arg(rewind_bin()).args(["-m", "32G", "-bios", "none"]);
    let run = run_with_input(cmd, b"", Duration::from_secs(30));
    assert_clean_error(&run, "cannot set up 32 GiB of guest RAM");
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

#[test]
fn an_empty_kernel_or_firmware_is_refused_as_qemu_does() {
    let p = temp_file("empty.bin", b"");
    let path = p.to_str().unwrap();
    let kernel = rewind(&["-bios", "none", "-kernel", path]);
    let firmware = rewind(&["-bios", path]);
    let _ = std::fs::remove_file(&p);
    assert_clean_error(&kernel, &format!("could not load kernel '{path}': the file is empty"));
    assert_clean_error(&firmware, &format!("could not load firmware '{path}': the file is empty"));
}

#[test]
fn a_directory_is_refused_as_kernel_initrd_firmware_or_drive() {
    let dir = std::env::temp_dir();
    let dir = dir.to_str().unwrap();
    let elf = temp_file("dir-test.elf", &top_of_ram_elf(1));
    let elf = elf.to_str().unwrap();
    let drive = format!("file={dir},format=raw,if=virtio");
    let runs = [
        (rewind(&["-bios", "none", "-kernel", dir]), format!("cannot read {dir}: it is a directory")),
        (rewind(&["-bios", dir]), format!("cannot read {dir}: it is a directory")),
        (rewind(&["-bios", "none", "-kernel", elf, "-initrd", dir]), format!("cannot read {dir}: it is a directory")),
        (
            rewind(&["-m", "1G", "-bios", "none", "-kernel", elf, "-drive", &drive]),
            format!("-drive {drive}: cannot open '{dir}': it is a directory, not a regular file"),
        ),
    ];
    let _ = std::fs::remove_file(elf);
    for (run, message) in runs {
        assert_clean_error(&run, &message);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
}

#[test]
fn an_os_error_is_said_once() {
    let kernel = rewind(&["-bios", "none", "-kernel", "/nonexistent/Image"]);
    let firmware = rewind(&["-bios", "/nonexistent/fw.bin"]);
    let drive = rewind(&["-bios", "none", "-drive", "file=/nonexistent/disk.img,format=raw,if=virtio"]);
    for run in [kernel, firmware, drive] {
        assert_clean_error(&run, "No such file or directory");
        assert_eq!(run.stderr.matches("No such file or directory").count(), 1, "{}", run.stderr);
    }
}

#[test]
fn mtree_help_lists_only_the_options_that_shape_the_machine() {
    let mtree = rewind(&["mtree", "--help"]);
    assert_eq!(mtree.code, Some(0), "{}", mtree.stderr);
    for shown in ["--memory", "--smp", "--kernel", "--bios", "--drive", "--device"] {
        assert!(mtree.stdout.contains(shown), "mtree --help lacks {shown}:\n{}", mtree.stdout);
    }
    for hidden in ["--gdb", "-S ", "-s ", "--reverse", "--max-insns", "--stats", "--jit", "--rtc-start"] {
        assert!(!mtree.stdout.contains(hidden), "mtree --help lists {hidden}:\n{}", mtree.stdout);
    }
    let run = rewind(&["run", "--help"]);
    assert!(run.stdout.contains("--max-insns") && run.stdout.contains("--gdb"), "{}", run.stdout);
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = Command::new("git").arg("-C").arg(workspace()).args(["rev-parse", "--short", "HEAD"]).output();
    let out = out.expect("git is needed to know which commit this is");
    assert!(out.status.success(), "not a git checkout: {}", String::from_utf8_lossy(&out.stderr));
    let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let run = rewind(&["--version"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let line = run.stdout.trim();
    let expected = format!("rewind {} ({commit}", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(&expected), "{line:?} does not start with {expected:?}");
    assert!(line == format!("{expected})") || line == format!("{expected}-dirty)"), "{line:?}");
}

#[test]
fn completions_and_the_man_page_print_to_stdout() {
    let bash = rewind(&["completions", "bash"]);
    assert_eq!(bash.code, Some(0), "{}", bash.stderr);
    assert!(bash.stdout.contains("complete -F _rewind") && bash.stdout.contains("--max-insns"), "{}", bash.stdout);
    for shell in ["zsh", "fish"] {
        let run = rewind(&["completions", shell]);
        assert_eq!(run.code, Some(0), "{shell}: {}", run.stderr);
        assert!(run.stdout.contains("mtree"), "{shell}: {}", run.stdout);
    }
    assert_clean_error(&rewind(&["completions", "tcsh"]), "tcsh");
    let man = rewind(&["manpage"]);
    assert_eq!(man.code, Some(0), "{}", man.stderr);
    assert!(man.stdout.contains(".TH rewind 1") && man.stdout.contains("mtree"), "{}", man.stdout);
}
