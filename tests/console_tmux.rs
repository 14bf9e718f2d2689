//! The console in a real terminal (tmux): raw mode, typing at the busybox shell, `Ctrl-A x` quitting and `Ctrl-A c`
//! switching the keyboard between the guest and the monitor.

mod common;
use common::tmux::*;
use common::*;
use std::process::Command;
use std::time::Duration;

/// Boots the shared guest in a new tmux session named `name`, with the shell
/// command line writing rewind's exit status to the returned file, and waits for the guest's shell prompt.
fn boot_in_tmux(name: &str) -> (Session, std::path::PathBuf) {
    let g = guest_dir();
    let session = format!("{name}-{}", std::process::id());
    let done = std::env::temp_dir().join(format!("{session}.exit"));
    let cmd = format!(
        "{} -M virt -m 256M -nographic -kernel {} -initrd {} -append console=ttyS0; echo exit=$? > {}",
        rewind_bin().display(),
        g.join("Image").display(),
        g.join("initramfs.cpio.gz").display(),
        done.display()
    );
    tmux(&["new-session", "-d", "-s", &session, "-x", "160", "-y", "50", &cmd]);
    let guard = Session(session.clone());
    // capture-pane drops trailing spaces, so the prompt is matched without its own.
    let pane = wait_for(&session, "rewind-guest:/#", Duration::from_secs(60));
    assert!(pane.contains("rewind-guest:/#"), "no prompt:\n{pane}");
    (guard, done)
}

#[test]
fn shell_in_a_terminal_and_ctrl_a_x_quits() {
    if Command::new("tmux").arg("-V").output().is_err() {
        panic!("tmux is needed (scripts/deps.sh installs it)");
    }
    let (guard, done) = boot_in_tmux("rewind-test");
    let session = guard.0.clone();
    tmux(&["send-keys", "-t", &session, "echo typed-$((40+2))", "Enter"]);
    let pane = wait_for(&session, "typed-42\n", Duration::from_secs(30));
    assert!(pane.contains("typed-42\n"), "the shell did not answer:\n{pane}");
    tmux(&["send-keys", "-t", &session, "C-a", "x"]);
    assert_eq!(exit_status(&done, Duration::from_secs(20)), "exit=0", "Ctrl-A x did not end rewind");
}

#[test]
fn typed_input_reaches_the_shell_with_every_device_attached() {
    let g = guest_dir();
    let disk = TempDisk::new("typed-console");
    let session = format!("rewind-typed-{}", std::process::id());
    let done = std::env::temp_dir().join(format!("{session}.exit"));
    let cmd = format!(
        "{} -M virt -m 256M -nographic -kernel {} -initrd {} -append console=ttyS0 \
         -drive file={},format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0 -device virtio-rng-device; echo exit=$? > {}",
        rewind_bin().display(),
        g.join("Image").display(),
        g.join("initramfs.cpio.gz").display(),
        disk.0.display(),
        done.display()
    );
    tmux(&["new-session", "-d", "-s", &session, "-x", "160", "-y", "50", &cmd]);
    let _guard = Session(session.clone());
    // The pane stays to be read after the guest's poweroff ends rewind.
    tmux(&["set-option", "-w", "-t", &session, "remain-on-exit", "on"]);
    let pane = wait_for(&session, "rewind-guest:/#", Duration::from_secs(60));
    assert!(pane.contains("rewind-guest:/#"), "no prompt:\n{pane}");
    // A few keys at a time, as from a person or a slow terminal; Enter is a carriage return there.
    let typed = disk_write_session().replace('\n', "\r");
    for keys in typed.as_bytes().chunks(8) {
        let hex: Vec<String> = keys.iter().map(|b| format!("{b:02x}")).collect();
        let mut args = vec!["send-keys", "-t", &session, "-H"];
        args.extend(hex.iter().map(String::as_str));
        tmux(&args);
        std::thread::sleep(Duration::from_millis(15));
    }
    let status = exit_status(&done, Duration::from_secs(60));
    let pane = tmux(&["capture-pane", "-p", "-S", "-200", "-t", &session]);
    assert!(pane.contains(" records out"), "dd did not run:\n{pane}");
    assert_eq!(status, "exit=0", "rewind did not end with the guest's poweroff:\n{pane}");
    disk.assert_unchanged();
}

#[test]
fn ctrl_a_c_opens_the_monitor_and_gives_the_keyboard_back() {
    let (guard, done) = boot_in_tmux("rewind-monitor");
    let session = guard.0.clone();

    tmux(&["send-keys", "-t", &session, "C-a", "c"]);
    let pane = wait_for(&session, "(qemu)", Duration::from_secs(10));
    assert!(pane.contains("rewind monitor - type 'help' for more information"), "no monitor:\n{pane}");
    // A typo erased with Backspace, then QEMU's x/xp spelling and info cpus.
    tmux(&["send-keys", "-t", &session, "xp /2xw 0x1000z", "BSpace", "Enter"]);
    let pane = wait_for(&session, "0000000000001000: 0x00000297 0x02828613", Duration::from_secs(10));
    assert!(pane.contains("0000000000001000: 0x00000297 0x02828613"), "xp did not answer:\n{pane}");
    tmux(&["send-keys", "-t", &session, "info cpus", "Enter"]);
    let pane = wait_for(&session, "* CPU #0: pc=0x", Duration::from_secs(10));
    assert!(pane.contains("* CPU #0: pc=0x"), "info cpus did not answer:\n{pane}");
    tmux(&["send-keys", "-t", &session, "frobnicate", "Enter"]);
    let pane = wait_for(&session, "unknown command 'frobnicate'", Duration::from_secs(10));
    assert!(pane.contains("unknown command 'frobnicate'"), "no error line:\n{pane}");

    // stop: virtual time stands still until cont.
    tmux(&["send-keys", "-t", &session, "stop", "Enter", "info status", "Enter", "info icount", "Enter"]);
    let pane = wait_for(&session, "VM status: paused", Duration::from_secs(10));
    assert!(pane.contains("VM status: paused"), "stop did not stop:\n{pane}");
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["send-keys", "-t", &session, "info icount", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    let pane = tmux(&["capture-pane", "-p", "-S", "-200", "-t", &session]);
    let totals: Vec<&str> = pane.lines().filter_map(|l| l.split_once("total ").map(|(_, n)| n)).collect();
    assert!(totals.len() >= 2 && totals[totals.len() - 1] == totals[totals.len() - 2], "ran while stopped:\n{pane}");
    tmux(&["send-keys", "-t", &session, "cont", "Enter", "info status", "Enter"]);
    let pane = wait_for(&session, "VM status: running", Duration::from_secs(10));
    assert!(pane.contains("VM status: running"), "cont did not resume:\n{pane}");

    // Ctrl-A c again: the keyboard is the guest's.
    tmux(&["send-keys", "-t", &session, "C-a", "c"]);
    tmux(&["send-keys", "-t", &session, "echo back-$((40+2))", "Enter"]);
    let pane = wait_for(&session, "back-42\n", Duration::from_secs(30));
    assert!(pane.contains("back-42\n"), "the shell did not get the keyboard back:\n{pane}");
    assert!(!pane.contains("unknown command 'echo"), "guest keys went to the monitor:\n{pane}");

    // system_reset boots the machine afresh.
    tmux(&["send-keys", "-t", &session, "C-a", "c"]);
    wait_for(&session, "(qemu)", Duration::from_secs(10));
    // Forget the first boot's lines: the screen (-R) and the history.
    tmux(&["send-keys", "-R", "-t", &session]);
    tmux(&["clear-history", "-t", &session]);
    let pane = tmux(&["capture-pane", "-p", "-S", "-200", "-t", &session]);
    assert!(!pane.contains("Linux version"), "the first boot's lines are still there:\n{pane}");
    tmux(&["send-keys", "-t", &session, "system_reset", "Enter"]);
    let pane = wait_for(&session, "Linux version", Duration::from_secs(30));
    assert!(pane.contains("Linux version"), "system_reset did not boot again:\n{pane}");

    // quit in the monitor ends rewind, as in QEMU.
    tmux(&["send-keys", "-t", &session, "quit", "Enter"]);
    assert_eq!(exit_status(&done, Duration::from_secs(20)), "exit=0", "quit did not end rewind");
}

#[test]
fn dash_s_without_gdb_starts_stopped_until_the_monitor_says_cont() {
    let g = guest_dir();
    let session = format!("rewind-frozen-{}", std::process::id());
    let cmd = format!(
        "{} -M virt -m 256M -nographic -kernel {} -initrd {} -append console=ttyS0 -S",
        rewind_bin().display(),
        g.join("Image").display(),
        g.join("initramfs.cpio.gz").display(),
    );
    tmux(&["new-session", "-d", "-s", &session, "-x", "160", "-y", "50", &cmd]);
    let _guard = Session(session.clone());
    let pane = wait_for(&session, "stopped at reset (-S)", Duration::from_secs(10));
    assert!(pane.contains("stopped at reset (-S)"), "no word of -S:\n{pane}");
    std::thread::sleep(Duration::from_millis(500));
    tmux(&["send-keys", "-t", &session, "C-a", "c"]);
    tmux(&["send-keys", "-t", &session, "info registers", "Enter"]);
    let pane = wait_for(&session, " icount   0", Duration::from_secs(10));
    assert!(pane.contains(" pc       0000000000001000") && pane.contains(" icount   0"), "ran before cont:\n{pane}");
    assert!(!pane.contains("OpenSBI"), "the firmware ran before cont:\n{pane}");
    tmux(&["send-keys", "-t", &session, "cont", "Enter", "C-a", "c"]);
    let pane = wait_for(&session, "rewind-guest:/#", Duration::from_secs(60));
    assert!(pane.contains("rewind-guest:/#"), "cont did not boot:\n{pane}");
}

#[test]
fn monitor_stdio_edits_completes_and_remembers_while_the_serial_goes_to_a_file() {
    let g = guest_dir();
    let session = format!("rewind-monitor-stdio-{}", std::process::id());
    let done = std::env::temp_dir().join(format!("{session}.exit"));
    let serial = std::env::temp_dir().join(format!("{session}.serial"));
    let cmd = format!(
        "{} -M virt -m 256M -kernel {} -initrd {} -append console=ttyS0 -serial file:{} -monitor stdio; \
         echo exit=$? > {}",
        rewind_bin().display(),
        g.join("Image").display(),
        g.join("initramfs.cpio.gz").display(),
        serial.display(),
        done.display()
    );
    tmux(&["new-session", "-d", "-s", &session, "-x", "160", "-y", "50", &cmd]);
    let guard = Session(session.clone());
    let s = guard.0.as_str();
    let pane = wait_for(s, "(qemu)", Duration::from_secs(10));
    assert!(pane.contains("rewind monitor - type 'help' for more information"), "{pane}");
    // Tab completes a two-word command; each line waits for its answer, as a person would.
    let step = |keys: &[&str], answer: &str| {
        let mut args = vec!["send-keys", "-t", s];
        args.extend(keys);
        tmux(&args);
        let pane = wait_for(s, answer, Duration::from_secs(10));
        assert!(pane.contains(answer), "no {answer:?} after {keys:?}:\n{pane}");
        pane
    };
    step(&["info sta", "Tab", "Enter"], "VM status: running");
    step(&["xp /2xw 0x1000", "Enter"], "0000000000001000: 0x00000297 0x02828613");
    // Up brings the last line back.
    let again = "0x02828613\n(qemu) xp /2xw 0x1000\n0000000000001000: 0x00000297 0x02828613";
    let pane = step(&["Up", "Enter"], again);
    assert_eq!(pane.matches("0x00000297 0x02828613").count(), 2, "{pane}");
    // The guest's console goes to the file, not the terminal.
    let start = std::time::Instant::now();
    let mut log = String::new();
    while !log.contains("Linux version") && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
        log = std::fs::read_to_string(&serial).unwrap_or_default();
    }
    assert!(log.contains("Linux version"), "the serial file lacks the boot log:\n{log}");
    step(&["stop", "Enter"], "(qemu) stop\n(qemu)");
    step(&["info status", "Enter"], "VM status: paused");
    assert!(!tmux(&["capture-pane", "-p", "-t", s]).contains("Linux version"), "the console leaked onto the terminal");
    tmux(&["send-keys", "-t", s, "quit", "Enter"]);
    assert_eq!(exit_status(&done, Duration::from_secs(20)), "exit=0", "quit did not end rewind");
    let _ = std::fs::remove_file(&serial);
}
