//! The TUI in a real terminal (tmux) on the shared guest: keys sent with `send-keys`, the screen read with
//! `capture-pane`, as a user would drive it. Booting to `start_kernel` from the command line, stepping, the panes,
//! reverse execution and console lines as links in time in a replay, gdb attached at the same time, and a terminal
//! left sane on quit.

mod common;
mod gdb_support;
use common::tmux::*;
use common::*;
use gdb_support::{free_port, gdb_session, vmlinux};
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// Starts `rewind ARGS` in a 160x50 tmux session named after `name`; the shell writes rewind's exit status and
/// the terminal's settings after it (`stty -a`) to the returned file.
fn start(name: &str, args: &str) -> (Session, PathBuf) {
    let session = format!("{name}-{}", std::process::id());
    let done = std::env::temp_dir().join(format!("{session}.exit"));
    let config = std::env::temp_dir().join(format!("{session}.conf"));
    let cmd = format!(
        "REWIND_TUI_CONFIG={} {} {args}; echo exit=$? > {d}.tmp; stty -a >> {d}.tmp; mv {d}.tmp {d}",
        config.display(),
        rewind_bin().display(),
        d = done.display()
    );
    tmux(&["new-session", "-d", "-s", &session, "-x", "160", "-y", "50", &cmd]);
    let guard = Session(session.clone());
    tmux(&["set-option", "-w", "-t", &session, "remain-on-exit", "on"]);
    (guard, done)
}

fn keys(session: &str, keys: &[&str]) {
    for k in keys {
        tmux(&["send-keys", "-t", session, k]);
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// Types a command on the TUI's command line.
fn command(session: &str, line: &str) {
    keys(session, &[":"]);
    tmux(&["send-keys", "-t", session, "-l", line]);
    keys(session, &["Enter"]);
}

fn expect(session: &str, text: &str) -> String {
    let pane = wait_for(session, text, WAIT);
    assert!(pane.contains(text), "no \"{text}\" on the screen:\n{pane}");
    pane
}

/// The value a register shows in the registers pane (`name` right-aligned before it).
fn register(pane: &str, name: &str) -> String {
    let key = format!(" {name} ");
    let at = pane.find(&key).unwrap_or_else(|| panic!("no register {name}:\n{pane}"));
    pane[at + key.len()..].chars().take(16).collect()
}

/// Quits with `q` and checks rewind ended with `code` and left the terminal in its cooked mode.
fn quit(session: &str, done: &Path, code: i32) {
    keys(session, &["q"]);
    let status = exit_status(done, WAIT);
    assert!(status.starts_with(&format!("exit={code}")), "rewind did not quit with {code}: {status}");
    assert!(status.contains(" icanon") && status.contains(" echo "), "the terminal is still raw:\n{status}");
    let pane = tmux(&["capture-pane", "-p", "-t", session]);
    assert!(!pane.contains("1 disassembly"), "the TUI's screen stayed (alternate screen not left):\n{pane}");
}

fn guest_args(append: &str, vmlinux: &Path) -> String {
    let g = guest_dir();
    format!(
        "-M virt -m 256M -kernel {} -initrd {} -append '{append}' --symbols {}",
        g.join("Image").display(),
        g.join("initramfs.cpio.gz").display(),
        vmlinux.display()
    )
}

#[test]
fn boot_to_start_kernel_step_and_look_at_the_machine() {
    let vmlinux = vmlinux(&guest_dir());
    let (guard, done) = start("rewind-tui", &format!("tui {}", guest_args("console=ttyS0 poweroff=1", &vmlinux)));
    let s = guard.0.as_str();
    expect(s, "stopped at reset");
    command(s, "break start_kernel");
    keys(s, &["c"]);
    let pane = expect(s, "at breakpoint 0xffffffff8030b9ce <start_kernel>");
    assert!(pane.contains("disassembly: start_kernel at ") && pane.contains("init/main.c:"), "{pane}");
    assert!(pane.contains("<start_kernel>:"), "no symbol heading in the disassembly:\n{pane}");
    assert!(pane.contains("B> ffffffff8030b9ce  add sp,sp,-80"), "the pc and the breakpoint are not marked:\n{pane}");
    let sp = register(&pane, "sp");
    assert!(pane.contains("Boot HART"), "the console pane lacks the firmware's output:\n{pane}");

    // One step: the stack pointer moves down 80 bytes and is highlighted (bold yellow), the others are not.
    keys(s, &["s"]);
    let pane = expect(s, "stepped to 0xffffffff8030b9d0 <start_kernel+0x2>");
    let new_sp = u64::from_str_radix(&register(&pane, "sp"), 16).unwrap();
    assert_eq!(new_sp, u64::from_str_radix(&sp, 16).unwrap() - 80);
    let styled = tmux(&["capture-pane", "-p", "-e", "-t", s]);
    // The escape sequences just before a value on the styled screen.
    let style_before = |value: &str| {
        let at = styled.find(value).unwrap_or_else(|| panic!("{value} not on the styled screen"));
        String::from_utf8_lossy(&styled.as_bytes()[at.saturating_sub(16)..at]).into_owned()
    };
    let sp_style = style_before(&format!("{new_sp:016x}"));
    // Yellow is colour 3 (tmux writes it `38;5;3m` or `33m`).
    let yellow = |style: &str| style.contains("38;5;3m") || style.contains("[33m");
    assert!(yellow(&sp_style), "sp is not highlighted: {sp_style:?}");
    let gp_style = style_before(&register(&pane, "gp"));
    assert!(!yellow(&gp_style), "gp did not change but is highlighted: {gp_style:?}");

    // The memory-region tree, and the UART's registers in the devices pane.
    keys(s, &["5"]);
    command(s, "search serial");
    expect(s, "(prio 0, i/o): serial");
    keys(s, &["Enter"]);
    let pane = expect(s, "serial (ns16550a)");
    assert!(pane.contains("lcr: 0x03"), "no UART state:\n{pane}");

    // Into a driver: the call stack (from the kernel's call-frame information) shows who called, `o` returns to
    // the caller, and the mtree counts the accesses of the run since start_kernel (the PLIC driver's set-up).
    command(s, "delete start_kernel");
    command(s, "break mem_serial_out");
    keys(s, &["c"]);
    let pane = expect(s, "<mem_serial_out>");
    assert!(pane.contains("call stack") && pane.contains("in uart_add_one_port+0x37a at "), "{pane}");
    let plic = pane.lines().find(|l| l.contains("000000000c000000-")).unwrap_or_default();
    // The count column is what the mtree pane shows before the region's address.
    let before = plic.split("000000000c000000-").next().unwrap_or_default();
    let counted = before.rsplit('│').next().is_some_and(|c| c.contains('/'));
    assert!(counted, "no PLIC accesses counted:\n{pane}");
    command(s, "delete mem_serial_out");
    keys(s, &["o"]);
    expect(s, "<uart_add_one_port+0x37a>");

    // Run to the poweroff; the TUI stays to be looked at, and q quits with the guest's code.
    keys(s, &["c"]);
    expect(s, "the guest powered off (code 0); q quits");
    quit(s, &done, 0);
}

#[test]
fn a_replay_goes_backwards_and_console_lines_are_links_in_time() {
    let vmlinux = vmlinux(&guest_dir());
    let recording = std::env::temp_dir().join(format!("rewind-tui-{}.rwd", std::process::id()));
    let record = std::process::Command::new(rewind_bin())
        .args(["record", "-o"])
        .arg(&recording)
        .args(["-M", "virt", "-m", "256M", "-nographic", "-kernel"])
        .arg(guest_dir().join("Image"))
        .arg("-initrd")
        .arg(guest_dir().join("initramfs.cpio.gz"))
        .args(["-append", "console=ttyS0 poweroff=1"])
        .output()
        .expect("rewind record");
    assert!(record.status.success(), "{}", String::from_utf8_lossy(&record.stderr));
    let args = format!("replay {} --tui --symbols {}", recording.display(), vmlinux.display());
    let (guard, done) = start("rewind-tui-replay", &args);
    let s = guard.0.as_str();
    expect(s, "stopped at reset");
    command(s, "break start_kernel");
    keys(s, &["c"]);
    let at_entry = expect(s, "<start_kernel>");
    let entry_sp = register(&at_entry, "sp");
    keys(s, &["s"]);
    let pane = expect(s, "stepped to 0xffffffff8030b9d0");
    assert_ne!(register(&pane, "sp"), entry_sp);
    // Reverse step: the registers return to their values at the breakpoint.
    keys(s, &["S"]);
    let pane = expect(s, "back at instruction");
    assert_eq!(register(&pane, "sp"), entry_sp, "sp did not return:\n{pane}");
    assert!(pane.contains("0xffffffff8030b9ce <start_kernel>"), "{pane}");

    // To the end of the recording, then the console line `Run /init as init process`: Enter goes to the store
    // that wrote its first byte, `[`, from register a2 in the kernel's mem_serial_out.
    command(s, "delete start_kernel");
    keys(s, &["c"]);
    expect(s, "end of the recording (poweroff 0)");
    keys(s, &["3", "Up", "Up", "Up", "Up", "Up", "Enter"]);
    let pane = expect(s, "] Run /init as init process\"");
    assert!(pane.contains("wrote the first byte of \"[ "), "not the line's first byte:\n{pane}");
    assert!(pane.contains("disassembly: mem_serial_out+"), "not in the UART's write function:\n{pane}");
    assert_eq!(register(&pane, "a2"), "000000000000005b", "the store does not write '[':\n{pane}");
    let at: u64 = pane.split("instruction ").nth(1).and_then(|t| t.split(' ').next()).unwrap().parse().unwrap();
    keys(s, &["s"]);
    let pane = expect(s, &format!("{} insns", at + 1));
    assert!(pane.contains("stepped to"), "{pane}");
    quit(s, &done, 0);
    let _ = std::fs::remove_file(&recording);
}

#[test]
fn gdb_and_the_tui_drive_the_same_machine() {
    let vmlinux = vmlinux(&guest_dir());
    let port = free_port();
    let args = format!("tui {} -gdb tcp::{port}", guest_args("console=ttyS0", &vmlinux));
    let (guard, done) = start("rewind-tui-gdb", &args);
    let s = guard.0.as_str();
    expect(s, "gdb server listening");
    // gdb stops at start_kernel: the TUI shows the stop too.
    let out = gdb_session(
        &vmlinux,
        &format!("target remote 127.0.0.1:{port}"),
        &["break start_kernel", "continue", "stepi", "info registers pc", "detach"],
    );
    assert!(out.contains("Breakpoint 1, start_kernel"), "{out}");
    // (gdb steps over a breakpoint of its own at the next instruction: the TUI reports that breakpoint.)
    // gdb has detached meanwhile and the guest runs on; the command pane's log keeps the stop.
    expect(s, "stopped for gdb: hart 0 at breakpoint 0xffffffff8030b9d0 <start_kernel+0x2>");
    // A stop from the TUI reaches gdb as its own Ctrl-C.
    let gdb = std::thread::spawn(move || {
        gdb_session(&vmlinux, &format!("target remote 127.0.0.1:{port}"), &["continue", "info registers pc"])
    });
    // Once the second client is attached and has continued (the instruction count moves), stop from the TUI.
    let start = std::time::Instant::now();
    loop {
        let pane = tmux(&["capture-pane", "-p", "-t", s]);
        let before = insns(&pane);
        std::thread::sleep(Duration::from_millis(300));
        let after = insns(&tmux(&["capture-pane", "-p", "-t", s]));
        // The log's last lines: the first client detached, the second attached after it.
        let second = pane.rfind(" attached").is_some_and(|a| pane.rfind(" detached").is_some_and(|d| a > d));
        if second && after > before {
            break;
        }
        assert!(start.elapsed() < WAIT, "gdb's continue never ran the machine:\n{pane}");
    }
    keys(s, &["p"]);
    let out = gdb.join().unwrap();
    assert!(out.contains("received signal SIGINT"), "gdb did not see the TUI's stop:\n{out}");
    expect(s, "stopped at instruction");
    quit(s, &done, 0);
}

/// SIGTERM while the guest runs: rewind ends as a process that signal ended (128 + 15) and leaves the terminal
/// as it found it (cooked mode, the main screen).
#[test]
fn sigterm_while_the_guest_runs_restores_the_terminal() {
    let vmlinux = vmlinux(&guest_dir());
    // No poweroff: the guest runs its shell until the signal comes.
    let (guard, done) = start("rewind-tui-term", &format!("tui {}", guest_args("console=ttyS0", &vmlinux)));
    let s = guard.0.as_str();
    expect(s, "stopped at reset");
    keys(s, &["c"]);
    expect(s, "] running");
    let shell = tmux(&["display-message", "-p", "-t", s, "#{pane_pid}"]);
    let pgrep = std::process::Command::new("pgrep").args(["-P", shell.trim()]).output().expect("pgrep");
    let rewind = String::from_utf8_lossy(&pgrep.stdout).trim().to_string();
    assert!(!rewind.is_empty(), "no rewind under the pane's shell {shell}");
    let kill = std::process::Command::new("kill").args(["-TERM", &rewind]).status().expect("kill");
    assert!(kill.success());
    let status = exit_status(&done, WAIT);
    assert!(status.starts_with("exit=143"), "rewind did not end as SIGTERM asks: {status}");
    assert!(status.contains(" icanon") && status.contains(" echo "), "the terminal is still raw:\n{status}");
    let pane = tmux(&["capture-pane", "-p", "-t", s]);
    assert!(!pane.contains("1 disassembly"), "the TUI's screen stayed:\n{pane}");
}

/// The instruction count on the timeline line.
fn insns(pane: &str) -> u64 {
    let at = pane.find(" insns").unwrap_or(0);
    pane[..at].rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}
