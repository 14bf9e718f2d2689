//! `rewind record` then `rewind replay`: a typed shell session replays with the identical console output; broken
//! or mismatched recordings get a clear message, never a crash.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(240);

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("rewind-replay-cli-{}-{name}", std::process::id()))
}

/// `rewind record -o FILE` of the shared guest to its shell, with `extra` options.
fn record_command(file: &std::path::Path, extra: &[&str]) -> Command {
    let g = guest_dir();
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(file).args(extra);
    cmd.args(["-M", "virt", "-m", "256M", "-nographic", "-kernel"]).arg(g.join("Image"));
    cmd.arg("-initrd").arg(g.join("initramfs.cpio.gz")).args(["-append", "console=ttyS0"]);
    cmd
}

fn record_session(file: &std::path::Path, extra: &[&str]) -> Run {
    let cmd = record_command(file, extra);
    let prompt = "rewind-guest:/# ";
    let steps = [(prompt, "echo replayed-$((2*21)); cat /proc/uptime\n"), (prompt, "poweroff -f\n")];
    run_conversation(cmd, &steps, TIMEOUT)
}

fn replay(file: &std::path::Path) -> Run {
    let mut cmd = Command::new(rewind_bin());
    cmd.arg("replay").arg(file);
    run_with_input(cmd, b"", TIMEOUT)
}

#[test]
fn typed_session_replays_with_identical_output_every_time() {
    for extra in [&[][..], &["-smp", "2"][..]] {
        let file = temp(&format!("session{}.rwd", extra.len()));
        let rec = record_session(&file, extra);
        assert_eq!(rec.code, Some(0), "{}\n{}", rec.stdout, rec.stderr);
        assert!(rec.stdout.contains("replayed-42"), "{}", rec.stdout);
        for _ in 0..10 {
            let rep = replay(&file);
            assert_eq!(rep.code, Some(0), "{}", rep.stderr);
            assert!(rep.stderr.contains("state matches the recording"), "{}", rep.stderr);
            // The replay prints what the guest printed, typed input echoes included, byte for byte.
            assert_eq!(rep.stdout, rec.stdout);
        }
        let _ = std::fs::remove_file(file);
    }
}

#[test]
fn damaged_recordings_get_clear_messages() {
    let file = temp("damage.rwd");
    let rec = record_session(&file, &[]);
    assert_eq!(rec.code, Some(0), "{}", rec.stderr);
    let bytes = std::fs::read(&file).unwrap();

    // Truncated: replays its complete prefix and says where it ends.
    let cut = temp("cut.rwd");
    std::fs::write(&cut, &bytes[..bytes.len() - 5]).unwrap();
    let rep = replay(&cut);
    assert!(rep.stderr.contains("recording ends early"), "{}", rep.stderr);
    assert_eq!(rep.code, Some(3), "a replay cut short says so in its exit code: {}", rep.stderr);
    assert!(rec.stdout.starts_with(&rep.stdout[..rep.stdout.len().min(200)]));

    // Flipped bytes in the last frame.
    let mut flipped = bytes.clone();
    let n = flipped.len();
    flipped[n - 2] ^= 0x55;
    std::fs::write(&cut, &flipped).unwrap();
    let rep = replay(&cut);
    assert!(rep.stderr.contains("checksum") || rep.stderr.contains("ends early"), "{}", rep.stderr);

    // Another format version.
    let mut version = bytes.clone();
    version[4] = 77;
    std::fs::write(&cut, &version).unwrap();
    let rep = replay(&cut);
    assert_ne!(rep.code, Some(0));
    assert!(rep.stderr.contains("format version 77"), "{}", rep.stderr);

    // Not a recording at all.
    std::fs::write(&cut, b"#!/bin/sh\necho hi\n").unwrap();
    let rep = replay(&cut);
    assert!(rep.stderr.contains("not a rewind recording"), "{}", rep.stderr);
    assert!(!rep.stderr.contains("panicked"), "{}", rep.stderr);
    let _ = std::fs::remove_file(cut);
    let _ = std::fs::remove_file(file);
}

#[test]
fn replay_refuses_a_changed_image_and_names_it() {
    let g = guest_dir();
    let initrd = temp("initrd.cpio.gz");
    std::fs::copy(g.join("initramfs.cpio.gz"), &initrd).unwrap();
    let file = temp("changed.rwd");
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(&file).args(["-m", "256M", "-kernel"]).arg(g.join("Image"));
    cmd.arg("-initrd").arg(&initrd).args(["-append", "console=ttyS0 poweroff=1"]);
    let rec = run_with_input(cmd, b"", TIMEOUT);
    assert_eq!(rec.code, Some(0), "{}", rec.stderr);
    let mut data = std::fs::read(&initrd).unwrap();
    data.push(0);
    std::fs::write(&initrd, data).unwrap();
    let rep = replay(&file);
    assert_ne!(rep.code, Some(0));
    assert!(rep.stderr.contains("initrd image") && rep.stderr.contains("changed"), "{}", rep.stderr);
    let _ = std::fs::remove_file(initrd);
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_kernel_panic_is_captured_and_replays_to_the_same_instruction() {
    let g = guest_dir();
    let file = temp("panic.rwd");
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(&file).args(["-m", "256M", "-kernel"]).arg(g.join("Image"));
    // No init in the initramfs and no root device: the kernel panics.
    cmd.arg("-initrd").arg(g.join("initramfs.cpio.gz")).args(["-append", "console=ttyS0 rdinit=/nope root=/dev/nope"]);
    let rec = run_with_input(cmd, b"", TIMEOUT);
    assert_eq!(rec.code, Some(70), "{}", rec.stderr);
    assert!(rec.stdout.contains("Kernel panic - not syncing"), "{}", rec.stdout);
    let at = |s: &str, prefix: &str| -> u64 {
        let i = s.find(prefix).unwrap_or_else(|| panic!("no {prefix:?} in {s}")) + prefix.len();
        s[i..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let failed_at = at(&rec.stderr, "guest failure at instruction ");
    assert!(rec.stderr.contains(&format!("rewind replay {} -s -S", file.display())), "{}", rec.stderr);
    let rep = replay(&file);
    assert_eq!(rep.code, Some(70), "the replay reports the recorded failure: {}", rep.stderr);
    assert!(rep.stdout.contains("Kernel panic - not syncing"));
    assert_eq!(at(&rep.stderr, "replay complete at instruction "), failed_at);
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_trap_loop_is_captured() {
    // `ld a0, 0(x0)` at reset with mtvec = 0: the load faults, then fetching the handler at 0 faults forever.
    let kernel = temp("fault.bin");
    std::fs::write(&kernel, [0x03, 0x35, 0x00, 0x00]).unwrap();
    let file = temp("fault.rwd");
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(&file).args(["-bios", "none", "-kernel"]).arg(&kernel);
    let rec = run_with_input(cmd, b"", TIMEOUT);
    assert_eq!(rec.code, Some(70), "{}", rec.stderr);
    assert!(rec.stderr.contains("trap loop: hart 0 took exception 1 at pc 0x0"), "{}", rec.stderr);
    let rep = replay(&file);
    assert_eq!(rep.code, Some(70), "{}", rep.stderr);
    let _ = std::fs::remove_file(kernel);
    let _ = std::fs::remove_file(file);
}

/// Records the shared guest's boot to its poweroff in `file`.
fn record_boot(file: &std::path::Path) {
    let g = guest_dir();
    let mut record = Command::new(rewind_bin());
    record.args(["record", "-o"]).arg(file);
    record.args(["-M", "virt", "-m", "256M", "-nographic", "-kernel"]).arg(g.join("Image"));
    record.arg("-initrd").arg(g.join("initramfs.cpio.gz")).args(["-append", "console=ttyS0 poweroff=1"]);
    let rec = run_with_input(record, b"", TIMEOUT);
    assert_eq!(rec.code, Some(0), "{}", rec.stderr);
}

/// `rewind query` answers questions about a boot recording at its end: where the run is, when start_kernel first
/// ran, who last wrote jiffies and the history of that variable; a bad question exits 1.
#[test]
fn query_answers_questions_about_a_boot_recording() {
    let file = temp("query.rwd");
    let g = guest_dir();
    record_boot(&file);
    let vmlinux = common::vmlinux::unpack_vmlinux(&g.join("vmlinux.zst"));
    let query = |questions: &[&str]| {
        let mut cmd = Command::new(rewind_bin());
        cmd.arg("query").arg(&file).arg("--symbols").arg(&vmlinux).args(questions);
        let started = std::time::Instant::now();
        let run = run_with_input(cmd, b"", TIMEOUT);
        eprintln!("{questions:?}: {:.2} s", started.elapsed().as_secs_f64());
        run
    };
    let out = query(&["when", "first-exec start_kernel", "last-write jiffies", "writes jiffies"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("instruction ") && lines[0].contains(" s virtual), hart 0 at "), "{}", out.stdout);
    assert!(lines[1].starts_with("first executed at instruction ") && lines[1].ends_with("<start_kernel>"));
    let last = lines[2];
    assert!(last.contains("wrote 8 bytes at 0xffffffff8040fd40"), "{}", out.stdout);
    assert!(last.contains("<do_timer+") || last.contains("<tick_do_update_jiffies64+"), "{}", out.stdout);
    // The history ends with the write last-write found.
    assert!(lines[3].contains(" writes to 0xffffffff8040fd40 between instructions 0 and "), "{}", out.stdout);
    assert_eq!(lines.last().copied(), Some(last), "{}", out.stdout);
    let bad = query(&["when", "frobnicate"]);
    assert_eq!(bad.code, Some(1), "{}", bad.stderr);
    assert!(bad.stderr.contains("rewind: frobnicate: unknown command 'frobnicate'"), "{}", bad.stderr);
    let _ = std::fs::remove_file(&file);
}

/// A guest reset is part of the run: `--stats` counts both boots, the recording goes on across the reset, and its
/// replay repeats both boots and says the run ended in the guest's poweroff.
#[test]
fn a_guest_reset_is_recorded_and_replayed_with_the_run() {
    let file = temp("reset.rwd");
    let cmd = record_command(&file, &["--stats"]);
    let prompt = "rewind-guest:/# ";
    let steps = [(prompt, "reboot -f\n"), (prompt, "echo after-reset-$((6*7))\n"), (prompt, "poweroff -f\n")];
    let rec = run_conversation(cmd, &steps, TIMEOUT);
    assert_eq!(rec.code, Some(0), "{}\n{}", rec.stdout, rec.stderr);
    assert_eq!(rec.stdout.matches("Linux version").count(), 2, "{}", rec.stdout);
    assert!(rec.stdout.contains("after-reset-42"), "{}", rec.stdout);
    // One boot to the shell is about 10^8 instructions: the statistics cover both.
    let instructions: u64 = rec
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("rewind: ")?.split_once(" instructions,")?.0.parse().ok())
        .unwrap_or_else(|| panic!("no statistics in:\n{}", rec.stderr));
    assert!(instructions > 150_000_000, "{instructions} instructions for two boots:\n{}", rec.stderr);
    let rep = replay(&file);
    assert_eq!(rep.code, Some(0), "{}", rep.stderr);
    assert_eq!(rep.stdout, rec.stdout);
    assert!(rep.stderr.contains("(poweroff 0); state matches the recording"), "{}", rep.stderr);
    let _ = std::fs::remove_file(file);
}

/// A run the user ends (here by SIGTERM, as by Ctrl-A x or the monitor's quit) replays to the same point and says
/// so, rather than claiming the guest powered off.
#[test]
fn a_run_ended_by_the_user_replays_as_such() {
    use std::io::Read;
    use std::process::Stdio;
    let file = temp("quit.rwd");
    let mut cmd = record_command(&file, &[]);
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("rewind-guest:/# ") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "the guest never gave its prompt:\n{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15));
    let rep = replay(&file);
    assert_eq!(rep.code, Some(0), "{}", rep.stderr);
    assert!(rep.stderr.contains("(quit); state matches the recording"), "{}", rep.stderr);
    let _ = std::fs::remove_file(file);
}

/// QEMU's `-no-reboot`: the guest's reset ends the run, and its replay ends there too.
#[test]
fn no_reboot_ends_the_run_at_the_guest_reset() {
    let file = temp("no-reboot.rwd");
    let cmd = record_command(&file, &["-no-reboot"]);
    let rec = run_conversation(cmd, &[("rewind-guest:/# ", "reboot -f\n")], TIMEOUT);
    assert_eq!(rec.code, Some(0), "{}\n{}", rec.stdout, rec.stderr);
    assert!(rec.stderr.contains("the guest reset; -no-reboot ends the run"), "{}", rec.stderr);
    assert_eq!(rec.stdout.matches("Linux version").count(), 1, "{}", rec.stdout);
    let rep = replay(&file);
    assert_eq!(rep.code, Some(0), "{}", rep.stderr);
    assert!(rep.stderr.contains("(reset); state matches the recording"), "{}", rep.stderr);
    let _ = std::fs::remove_file(file);
}

/// `rewind replay --until` runs a boot recording to the first instruction where a condition holds: on the pc (by
/// address or symbol), on a variable in memory, on a register (stepping), with and/or; it agrees with
/// `first-exec` and `last-write`, says when a condition never holds (exit 1) and rejects one that does not parse.
#[test]
fn replay_until_stops_at_the_first_instruction_where_a_condition_holds() {
    let file = temp("until.rwd");
    let g = guest_dir();
    record_boot(&file);
    let vmlinux = common::vmlinux::unpack_vmlinux(&g.join("vmlinux.zst"));
    let until = |condition: &str| {
        let mut cmd = Command::new(rewind_bin());
        cmd.arg("replay").arg(&file).arg("--symbols").arg(&vmlinux).args(["--until", condition]);
        let started = std::time::Instant::now();
        let run = run_with_input(cmd, b"", TIMEOUT);
        eprintln!("--until '{condition}': {:.2} s", started.elapsed().as_secs_f64());
        run
    };
    let at = |run: &common::Run| -> u64 {
        let line = run.stdout.lines().find(|l| l.contains(" holds at instruction "));
        let line = line.unwrap_or_else(|| panic!("no answer in {}{}", run.stdout, run.stderr));
        line.split(" holds at instruction ").nth(1).and_then(|r| r.split(':').next()?.parse().ok()).unwrap()
    };
    let mut query = Command::new(rewind_bin());
    query.arg("query").arg(&file).arg("--symbols").arg(&vmlinux).arg("first-exec start_kernel");
    let first = run_with_input(query, b"", TIMEOUT);
    let first_exec: u64 = first
        .stdout
        .split("first executed at instruction ")
        .nth(1)
        .and_then(|r| r.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{}", first.stdout));

    let by_symbol = until("pc == start_kernel");
    assert_eq!(by_symbol.code, Some(0), "{}", by_symbol.stderr);
    assert!(by_symbol.stdout.contains("<start_kernel>"), "{}", by_symbol.stdout);
    assert_eq!(at(&by_symbol), first_exec, "the same instruction as first-exec");
    // A register in the condition makes the search step every instruction: it must find the same instruction.
    let stepped = until("pc == start_kernel && a0 == a0");
    assert_eq!(at(&stepped), first_exec, "{}", stepped.stdout);

    // A variable in memory: the instruction found is the one right after the write that made the condition true.
    let state = until("*(u32 *)&system_state >= 3 and *(u32 *)&system_state != 4");
    assert_eq!(state.code, Some(0), "{}", state.stderr);
    let n = at(&state);
    let mut query = Command::new(rewind_bin());
    query.arg("query").arg(&file).arg("--symbols").arg(&vmlinux).arg("writes system_state 4");
    let writes = run_with_input(query, b"", TIMEOUT);
    let write = writes.stdout.lines().find(|l| l.starts_with(&format!("instruction {n}: ")));
    assert!(write.is_some_and(|w| w.ends_with(": 0x2 -> 0x3")), "{n}:\n{}", writes.stdout);
    // Before the kernel maps jiffies it has no value; it has one (INITIAL_JIFFIES) from the instruction after the
    // one that turns the MMU on, with no write to it.
    let mapped = until("*(u64 *)&jiffies != 0");
    assert!(mapped.stdout.contains("<relocate_enable_mmu+"), "{}", mapped.stdout);
    let never = until("pc == 0x1234");
    assert_eq!(never.code, Some(1), "{}{}", never.stdout, never.stderr);
    assert!(never.stderr.contains("'pc == 0x1234' never holds from instruction 0 to "), "{}", never.stderr);
    let bad = until("pc === 1");
    assert_ne!(bad.code, Some(0), "{}", bad.stderr);
    assert!(bad.stderr.contains("unexpected '='"), "{}", bad.stderr);
    let _ = std::fs::remove_file(&file);
}

/// QEMU's `-d exec,in_asm -D FILE -dfilter` log what the harts execute without changing the run: one `exec` line
/// per instruction retired, `in_asm` each instruction once; a replay with `-d` logs the recorded run identically.
#[test]
fn exec_logs_cover_every_instruction_and_replay_identically() {
    let elf = common::workspace().join("examples/isa/build/rv64i.elf");
    let (log, replay_log, file) = (temp("run.log"), temp("replay.log"), temp("logged.rwd"));
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(&file).args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none"]);
    cmd.args(["--stats", "-d", "exec,in_asm", "-D"]).arg(&log).arg("-kernel").arg(&elf);
    let run = run_with_input(cmd, b"", TIMEOUT);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let retired: usize = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("rewind: ")?.split_once(" instructions,")?.0.parse().ok())
        .unwrap_or_else(|| panic!("no statistics in {}", run.stderr));
    let text = std::fs::read_to_string(&log).unwrap();
    let exec: Vec<&str> = text.lines().filter(|l| l.starts_with("Trace ")).collect();
    assert_eq!(exec.len(), retired, "one exec line per instruction");
    assert!(exec[0].starts_with("Trace 0: 0x0000000000001000:  00000297  auipc t0,0x0"), "{}", exec[0]);
    let shown: std::collections::HashSet<&str> =
        text.lines().filter(|l| l.starts_with("0x")).map(|l| &l[..18]).collect();
    let executed: std::collections::HashSet<&str> = exec.iter().map(|l| &l[9..27]).collect();
    assert_eq!(shown, executed, "in_asm shows each executed instruction once");
    assert!(text.contains("----------------\nIN:\n0x0000000000001000:"), "{}", &text[..200]);

    let mut cmd = Command::new(rewind_bin());
    cmd.arg("replay").arg(&file).args(["-d", "exec,in_asm", "-D"]).arg(&replay_log);
    let replay = run_with_input(cmd, b"", TIMEOUT);
    assert_eq!(replay.code, Some(0), "{}", replay.stderr);
    assert!(std::fs::read_to_string(&replay_log).unwrap() == text, "the replay logs the run identically");

    let mut cmd = Command::new(rewind_bin());
    cmd.arg("replay").arg(&file).args(["-d", "exec", "-dfilter", "0x1000+0x10", "-D"]).arg(&replay_log);
    assert_eq!(run_with_input(cmd, b"", TIMEOUT).code, Some(0));
    let filtered = std::fs::read_to_string(&replay_log).unwrap();
    let lines: Vec<&str> = filtered.lines().collect();
    assert!(!lines.is_empty() && lines.iter().all(|l| l.starts_with("Trace 0: 0x000000000000100")), "{filtered}");

    for (args, expected) in [
        (&["-d", "mmu"][..], "-d mmu: rewind logs exec, in_asm and int (not mmu yet)"),
        (&["-D", "/tmp/x.log"][..], "-D and -dfilter go with -d ITEMS"),
        (&["-d", "exec", "-dfilter", "5..1"][..], "-dfilter 5..1: 5..1 ends before it starts"),
    ] {
        let mut cmd = Command::new(rewind_bin());
        cmd.args(["-M", "virt", "-bios", "none", "-nographic"]).args(args).arg("-kernel").arg(&elf);
        let bad = run_with_input(cmd, b"", TIMEOUT);
        assert_ne!(bad.code, Some(0), "{args:?}");
        assert!(bad.stderr.contains(expected), "{args:?}: {}", bad.stderr);
    }
    for f in [log, replay_log, file] {
        let _ = std::fs::remove_file(f);
    }
}

/// `-d int` logs every trap as QEMU 7.2 words it: the trap test program's exceptions and interrupts read as under
/// QEMU, but for `ebreak`'s tval (rewind sets it to the pc, QEMU 7.2 to 0; both are allowed) and where a timer
/// interrupt lands (QEMU's timer follows the host clock); a replay logs them again.
#[test]
fn int_logs_read_as_qemus() {
    let elf = common::workspace().join("examples/isa/build/traps.elf");
    let (ours, theirs, file) = (temp("int.log"), temp("qemu-int.log"), temp("int.rwd"));
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(&file).args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none"]);
    cmd.args(["-d", "int", "-D"]).arg(&ours).arg("-kernel").arg(&elf);
    let run = run_with_input(cmd, b"", TIMEOUT);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let log = std::fs::read_to_string(&ours).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() > 20, "{log}");
    assert!(lines.iter().all(|l| l.starts_with("riscv_cpu_do_interrupt: hart:0, async:")), "{log}");
    let mut replay = Command::new(rewind_bin());
    replay.arg("replay").arg(&file).args(["-d", "int", "-D"]).arg(&theirs);
    assert_eq!(run_with_input(replay, b"", TIMEOUT).code, Some(0));
    assert!(std::fs::read_to_string(&theirs).unwrap() == log, "the replay logs the same traps");
    if Command::new("qemu-system-riscv64").arg("--version").output().is_ok() {
        let mut qemu = Command::new("qemu-system-riscv64");
        qemu.args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-d", "int", "-D"]).arg(&theirs);
        qemu.arg("-kernel").arg(&elf);
        assert_eq!(run_with_input(qemu, b"", TIMEOUT).code, Some(0));
        let qemu_log = std::fs::read_to_string(&theirs).unwrap();
        let comparable = |l: &str| {
            if l.ends_with("desc=breakpoint") {
                l.split(", tval:").next().unwrap_or(l).to_string()
            } else if l.ends_with("_timer") {
                l.split(", epc:").next().unwrap_or(l).to_string()
            } else {
                l.to_string()
            }
        };
        let ours: Vec<String> = lines.iter().map(|l| comparable(l)).collect();
        let qemus: Vec<String> = qemu_log.lines().map(comparable).collect();
        assert_eq!(ours, qemus, "rewind (left) and QEMU 7.2");
    }
    for f in [ours, theirs, file] {
        let _ = std::fs::remove_file(f);
    }
}
