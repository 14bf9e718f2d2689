//! Reverse debugging with the real gdb-multiarch against the Linux guest under `rewind --reverse`:
//! reverse-stepi N then stepi N returns to exactly the same registers; reverse-continue stops at the previous
//! hit of a breakpoint and at the last write of a watched kernel variable; `monitor replay` commands; a guest's own
//! Sdtrig breakpoint hits at the same instruction live, in replay and backwards.

mod common;
mod gdb_support;
use common::*;
use gdb_support::*;

fn rewind() -> (Rewind, std::path::PathBuf) {
    let vmlinux = vmlinux(&guest_dir());
    (Rewind::start(linux_command("poweroff=1", &[]), &["-S", "--reverse"]), vmlinux)
}

/// The instruction counts `monitor replay where` printed, in order.
fn instruction_counts(out: &str) -> Vec<u64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("instruction "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn reverse_stepi_then_stepi_returns_to_the_same_registers() {
    let (r, vmlinux) = rewind();
    let mut cmds = vec!["break start_kernel", "continue", "next", "next", "info registers", "monitor replay where"];
    cmds.extend(std::iter::repeat_n("reverse-stepi", 25));
    cmds.push("monitor replay where");
    cmds.extend(std::iter::repeat_n("stepi", 25));
    cmds.push("info registers");
    cmds.push("monitor replay where");
    let out = r.gdb(&vmlinux, &cmds);
    let wheres = instruction_counts(&out);
    assert_eq!(wheres.len(), 3, "{out}");
    assert_eq!(wheres[1], wheres[0] - 25, "{out}");
    assert_eq!(wheres[2], wheres[0], "{out}");
    // `info registers` prints ra .. t6 and pc: 32 lines from "ra".
    let lines: Vec<&str> = out.lines().collect();
    let starts: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| l.starts_with("ra ")).map(|(i, _)| i).collect();
    assert_eq!(starts.len(), 2, "{out}");
    let regs = |from: usize| lines[from..from + 32].to_vec();
    assert!(regs(starts[0])[31].starts_with("pc "), "{out}");
    assert_eq!(regs(starts[0]), regs(starts[1]), "registers after reverse-stepi x25 + stepi x25");
}

#[test]
fn reverse_continue_to_the_previous_breakpoint_hit_and_watchpoint_write() {
    let (r, vmlinux) = rewind();
    let out = r.gdb(
        &vmlinux,
        &[
            // _printk runs many times during the boot: stop at its 3rd call, then go back to the 2nd.
            "break _printk",
            "continue",
            "continue",
            "continue",
            "monitor replay where",
            "reverse-continue",
            "monitor replay where",
            "delete",
            // At power-off, the last write of jiffies is found going backwards.
            "break kernel_power_off",
            "continue",
            "delete",
            "watch jiffies",
            "reverse-continue",
            "bt 1",
            "monitor replay checkpoints",
        ],
    );
    let wheres = instruction_counts(&out);
    assert_eq!(wheres.len(), 2, "{out}");
    assert!(wheres[1] < wheres[0], "reverse-continue went back: {out}");
    assert_eq!(out.matches("Breakpoint 1, _printk").count(), 4, "three forward hits and one going back:\n{out}");
    assert!(out.contains("Breakpoint 2, kernel_power_off"), "{out}");
    assert!(out.contains("Hardware watchpoint 3: jiffies"), "{out}");
    let after_watch = &out[out.find("Hardware watchpoint 3: jiffies").unwrap_or(0)..];
    // Going backwards gdb shows the write undone (old = new + 1), in one of the kernel's jiffies writers.
    let frame = after_watch.lines().find(|l| l.starts_with("#0  ")).unwrap_or("");
    assert!(frame.contains("tick_do_update_jiffies64") || frame.contains("do_timer"), "not at a writer:\n{out}");
    assert!(after_watch.contains("Old value = ") && after_watch.contains("New value = "), "{out}");
    assert!(out.contains("checkpoints,"), "{out}");
}

#[test]
fn a_recording_replays_under_gdb_backwards_and_forwards() {
    let g = guest_dir();
    let file = std::env::temp_dir().join(format!("rewind-gdb-replay-{}.rwd", std::process::id()));
    let mut rec = std::process::Command::new(rewind_bin());
    rec.args(["record", "-o"]).arg(&file).args(["-m", "256M", "-kernel"]).arg(g.join("Image"));
    rec.arg("-initrd").arg(g.join("initramfs.cpio.gz")).args(["-append", "console=ttyS0 poweroff=1"]);
    let run = run_with_input(rec, b"", std::time::Duration::from_secs(120));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let vmlinux = vmlinux(&g);
    let mut cmd = std::process::Command::new(rewind_bin());
    cmd.arg("replay").arg(&file);
    let r = Rewind::start(cmd, &["-S"]);
    let out = r.gdb(&vmlinux, &["break kernel_init", "continue", "reverse-stepi", "bt 1", "delete", "continue"]);
    assert!(out.contains("Breakpoint 1, kernel_init"), "{out}");
    // The instruction before kernel_init is the jump into it from ret_from_kernel_thread (QEMU agrees).
    assert!(out.contains("ret_from_kernel_thread"), "{out}");
    // The replay runs on to the recorded power-off, the end of its history: a stop that keeps the session.
    assert!(out.contains("No more reverse-execution history"), "{out}");
    assert!(!out.contains("exited normally"), "{out}");
    let _ = std::fs::remove_file(file);
}

#[test]
fn reverse_finish_and_reverse_next_land_at_the_call_site() {
    let (r, vmlinux) = rewind();
    let out = r.gdb(
        &vmlinux,
        &[
            // setup_arch is called from start_kernel: finish backwards out of it.
            "break setup_arch",
            "continue",
            "next",
            "next",
            "delete",
            "reverse-finish",
            "bt 1",
            "reverse-next",
            "bt 1",
        ],
    );
    assert!(out.contains("Breakpoint 1, setup_arch"), "{out}");
    // reverse-finish stops at the call in the caller, start_kernel.
    let after = &out[out.find("Run back to call of #0").unwrap_or(0)..];
    let frame = after.lines().find(|l| l.starts_with("#0  ")).unwrap_or("");
    assert!(frame.contains("start_kernel"), "reverse-finish did not reach the caller:\n{out}");
    assert!(!out.contains("Target remote does not support"), "{out}");
}

#[test]
fn savevm_and_loadvm_move_between_named_points() {
    let (r, vmlinux) = rewind();
    let out = r.gdb(
        &vmlinux,
        &[
            "break start_kernel",
            "continue",
            "monitor savevm here",
            "monitor replay where",
            "delete",
            "break kernel_init",
            "continue",
            "monitor loadvm here",
            "monitor replay where",
            "monitor info snapshots",
            "monitor replay goto 5000000",
            "monitor replay where",
        ],
    );
    let wheres = instruction_counts(&out);
    assert_eq!(wheres.len(), 3, "{out}");
    assert_eq!(wheres[0], wheres[1], "loadvm returned to the saved point:\n{out}");
    assert_eq!(wheres[2], 5_000_000, "{out}");
    assert!(out.contains("Breakpoint 2, kernel_init"), "{out}");
    assert!(out.contains("here ") && out.contains("(in the history)"), "{out}");
}

#[test]
fn a_run_being_recorded_can_be_debugged_backwards_and_still_replays() {
    let g = guest_dir();
    let vmlinux = vmlinux(&g);
    let file = std::env::temp_dir().join(format!("rewind-gdb-record-{}.rwd", std::process::id()));
    let mut cmd = std::process::Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(&file).args(["-m", "256M", "-kernel"]).arg(g.join("Image"));
    cmd.arg("-initrd").arg(g.join("initramfs.cpio.gz")).args(["-append", "console=ttyS0 poweroff=1"]);
    let r = Rewind::start(cmd, &["-S"]);
    let out = r.gdb(&vmlinux, &["break kernel_init", "continue", "reverse-stepi", "bt 1", "delete", "continue"]);
    assert!(out.contains("ret_from_kernel_thread"), "{out}");
    assert!(out.contains("exited normally"), "{out}");
    assert!(r.wait_stderr("recording written", std::time::Duration::from_secs(60)), "{}", r.stderr());
    let mut replay = std::process::Command::new(rewind_bin());
    replay.arg("replay").arg(&file);
    let rep = run_with_input(replay, b"", std::time::Duration::from_secs(120));
    assert_eq!(rep.code, Some(0), "{}", rep.stderr);
    assert!(rep.stderr.contains("state matches the recording"), "{}", rep.stderr);
    let _ = std::fs::remove_file(file);
}

/// The instruction count and `epc` the breakpoint commands below print at each hit, in order (gdb prints the
/// monitor's answers on another stream, so the two lists are paired by position).
fn trigger_hits(out: &str) -> Vec<(u64, String)> {
    let epcs = out.lines().filter_map(|l| l.strip_prefix("epc=")).map(|e| e.trim().to_string());
    instruction_counts(out).into_iter().zip(epcs).collect()
}

/// A guest's own hardware breakpoint (examples/isa/triggers: an Sdtrig execute trigger on `target`) raises its
/// breakpoint exception at the same instruction live, in the replay of a recording of that run, and when
/// reverse-continue goes back to it.
#[test]
fn a_guest_hardware_breakpoint_fires_at_the_same_instruction_live_in_replay_and_backwards() {
    let elf = workspace().join("examples/isa/build/triggers.elf");
    let machine = ["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-kernel"];
    // Stop in the M-mode handler on each breakpoint exception (cause 3) and print where the guest's trigger hit.
    let script = std::env::temp_dir().join(format!("rewind-triggers-{}.gdb", std::process::id()));
    let on_hit = "break m_trap_dispatch if tf->cause == 3\ncommands 1\nsilent\nmonitor replay where\n\
                  printf \"epc=%#lx\\n\", tf->epc\nend\n";
    std::fs::write(&script, on_hit).expect("write a gdb script");
    let source = format!("source {}", script.display());
    let stop = [source.as_str()];
    let target = {
        let out = gdb_session(&elf, "", &["info address target"]);
        let at = out.split(" at address ").nth(1).unwrap_or("").trim_end_matches(['.', '\n']).to_string();
        at.split_whitespace().next().unwrap_or("").trim_end_matches('.').to_string()
    };
    assert!(target.starts_with("0x"), "no address for target: {target}");

    let mut live = std::process::Command::new(rewind_bin());
    live.args(machine).arg(&elf);
    let r = Rewind::start(live, &["-S", "--reverse"]);
    let mut cmds = stop.to_vec();
    cmds.extend(["continue", "continue", "continue", "reverse-continue"]);
    let out = r.gdb(&elf, &cmds);
    let hits = trigger_hits(&out);
    assert_eq!(hits.len(), 4, "three hits forwards, one going back:\n{out}");
    // The first is the execute trigger on target, before target's first instruction ran.
    assert_eq!(hits[0].1, target, "{out}");
    assert!(hits[0].0 < hits[1].0 && hits[1].0 < hits[2].0, "{out}");
    assert_eq!(hits[3], hits[1], "reverse-continue stops on the previous hit:\n{out}");

    let file = std::env::temp_dir().join(format!("rewind-triggers-{}.rwd", std::process::id()));
    let mut rec = std::process::Command::new(rewind_bin());
    rec.args(["record", "-o"]).arg(&file).args(machine).arg(&elf);
    let run = run_with_input(rec, b"", std::time::Duration::from_secs(60));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let mut replay = std::process::Command::new(rewind_bin());
    replay.arg("replay").arg(&file);
    let r = Rewind::start(replay, &["-S"]);
    let mut cmds = stop.to_vec();
    cmds.extend(["continue", "continue", "continue", "reverse-continue", "reverse-continue"]);
    let out = r.gdb(&elf, &cmds);
    let replayed = trigger_hits(&out);
    assert_eq!(replayed.len(), 5, "{out}");
    assert_eq!(replayed[..3], hits[..3], "the replay hits where the live run did:\n{out}");
    assert_eq!(replayed[3], hits[1], "{out}");
    assert_eq!(replayed[4], hits[0], "{out}");
    let _ = std::fs::remove_file(file);
    let _ = std::fs::remove_file(script);
}

/// A guest's trigger whose action is "enter Debug Mode" (examples/isa/debugger/guest_breakpoint, under `-cpu
/// max`) stops the machine for gdb at each call of `target`, like a breakpoint gdb set; reverse-continue stops at
/// the previous call; without a debugger the run ends at the first stop and says where.
#[test]
fn a_guest_trigger_that_asks_for_the_debugger_stops_gdb_forwards_and_backwards() {
    let elf = workspace().join("examples/isa/build/debugger/guest_breakpoint.elf");
    let machine = ["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-cpu", "max", "-kernel"];
    let mut live = std::process::Command::new(rewind_bin());
    live.args(machine).arg(&elf);
    let r = Rewind::start(live, &["-S", "--reverse"]);
    let cmds = [
        "continue",
        "p/x $pc",
        "p $a0",
        "continue",
        "p $a0",
        "continue",
        "p $a0",
        "reverse-continue",
        "p $a0",
        "monitor replay where",
        "continue",
        "monitor replay where",
        "continue",
    ];
    let out = r.gdb(&elf, &cmds);
    let target = {
        let info = gdb_session(&elf, "", &["p/x &target"]);
        info.lines().find_map(|l| l.split_once(" = ").map(|(_, v)| v.trim().to_string())).unwrap_or_default()
    };
    let values: Vec<&str> = out.lines().filter_map(|l| l.split_once(" = ").map(|(_, v)| v.trim())).collect();
    assert_eq!(values.first().copied(), Some(target.as_str()), "the first stop is at target:\n{out}");
    // target(0), target(1), target(2), then back to target(1).
    assert_eq!(values[1..], ["0", "1", "2", "1"], "{out}");
    let wheres = instruction_counts(&out);
    assert_eq!(wheres.len(), 2, "{out}");
    assert!(wheres[1] > wheres[0], "forwards again to the third call:\n{out}");
    assert!(out.contains("exited normally") || out.contains("exited with code"), "runs to its end:\n{out}");

    let mut plain = std::process::Command::new(rewind_bin());
    plain.args(machine).arg(&elf);
    let run = run_with_input(plain, b"", std::time::Duration::from_secs(30));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("stopped at breakpoint {target}")), "{}", run.stderr);
}
