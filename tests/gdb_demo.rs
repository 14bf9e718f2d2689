//! The bare-metal demo (examples/gdb-demo) under real gdb: hardware and software breakpoints, write, read and
//! access watchpoints, memory and register writes, Ctrl-C, detach and reconnect, dropped connections, kill, and
//! the unix-socket endpoint.

mod common;
mod gdb_support;
use common::*;
use gdb_support::*;
use std::process::{Command, Stdio};
use std::time::Duration;

fn demo_command(elf: &std::path::Path) -> Command {
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-kernel"]).arg(elf);
    cmd
}

fn values(out: &str) -> Vec<String> {
    out.lines().filter_map(|l| l.split_once(" = ").filter(|(k, _)| k.starts_with('$')).map(|(_, v)| v.into())).collect()
}

#[test]
fn breakpoints_and_watchpoints() {
    let elf = demo_elf();
    let r = Rewind::start(demo_command(&elf), &["-S"]);
    let out = r.gdb(
        &elf,
        &[
            "hbreak tick",
            "continue",
            "p $a0",
            "continue",
            "p $a0",
            "delete",
            "break load_counter",
            "continue",
            "p/x $pc",
            "p *(long *)&counter",
            "delete",
            "watch *(long *)&counter",
            "continue",
            "p/x $pc",
            "continue",
            "delete",
            "rwatch *(long *)&counter",
            "continue",
            "p/x $pc",
            "delete",
            "awatch *(long *)&counter",
            "continue",
            "continue",
            "delete",
            "stepi",
            "p/x $pc",
        ],
    );
    let v = values(&out);
    assert_eq!(v.len(), 7, "{out}");
    assert!(out.contains("Hardware assisted breakpoint 1 at"), "{out}");
    assert_eq!(&v[0..2], ["0", "1"], "hbreak tick stops at each call:\n{out}");
    assert!(out.contains("Breakpoint 2, load_counter ()"), "{out}");
    assert_eq!(v[2], "0x80000018", "{out}");
    assert_eq!(v[3], "3", "the third store happened before the third load:\n{out}");
    // Write watchpoint: stops right after the store, with old and new values, twice in a row without a miss.
    assert!(out.contains("Old value = 3\nNew value = 4"), "{out}");
    assert!(out.contains("Old value = 4\nNew value = 5"), "{out}");
    assert_eq!(v[4], "0x80000018", "after the sd at store_counter:\n{out}");
    // Read watchpoint: right after the load.
    assert!(out.contains("Hardware read watchpoint 4: *(long *)&counter\n\nValue = 5"), "{out}");
    assert_eq!(v[5], "0x8000001c", "after the ld at load_counter:\n{out}");
    // Access watchpoint: the next write, then the next read.
    assert!(out.contains("Old value = 5\nNew value = 6"), "{out}");
    assert!(out.contains("Hardware access (read/write) watchpoint 5: *(long *)&counter\n\nValue = 6"), "{out}");
    assert_eq!(v[6], "0x80000022", "stepi from after the ld runs the call into tick:\n{out}");
}

#[test]
fn memory_and_register_writes() {
    let elf = demo_elf();
    let r = Rewind::start(demo_command(&elf), &["-S"]);
    let out = r.gdb(
        &elf,
        &[
            "break tick",
            "continue",
            "set var *(long *)&counter = 100",
            "p *(long *)&counter",
            "p *(long *)0",
            "set var *(int *)0x10000000 = 1",
            "set $a0 = 41",
            "set $priv = 1",
            "p $priv",
            "set $priv = 3",
            "set $mscratch = 0x1234",
            "p/x $mscratch",
            "set $pc = tick",
            "stepi",
            "p $a0",
            "monitor phys on",
            "p *(long *)&counter",
            "monitor phys off",
        ],
    );
    let v = values(&out);
    assert_eq!(v.first().map(String::as_str), Some("100"), "{out}");
    assert!(out.contains("Cannot access memory at address 0x0"), "unmapped reads are errors:\n{out}");
    assert!(out.contains("Cannot access memory at address 0x10000000"), "device writes are refused:\n{out}");
    assert!(v.iter().any(|x| x.contains("prv:1") || x == "1"), "priv reads back as S:\n{out}");
    assert!(v.contains(&"0x1234".to_string()), "{out}");
    assert!(v.contains(&"42".to_string()), "stepi ran tick's addi on the written a0:\n{out}");
    assert_eq!(v.last().map(String::as_str), Some("100"), "physical access reads the same RAM:\n{out}");
}

#[test]
fn ctrl_c_detach_reconnect_dropped_connection_and_kill() {
    let elf = demo_elf();
    let mut r = Rewind::start(demo_command(&elf), &[]);
    // gdb in the foreground: SIGINT to gdb makes it send the interrupt byte, as Ctrl-C in its terminal does.
    let gdb = Command::new("gdb-multiarch")
        .args(["-batch", "-nx", "-ex", "set confirm off"])
        .arg("-ex")
        .arg(format!("target remote 127.0.0.1:{}", r.port))
        .args(["-ex", "continue", "-ex", "p $pc", "-ex", "monitor info icount", "-ex", "detach"])
        .arg(&elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gdb-multiarch");
    assert!(r.wait_stderr("attached", Duration::from_secs(20)), "{}", r.stderr());
    std::thread::sleep(Duration::from_millis(700));
    let _ = Command::new("kill").arg("-INT").arg(gdb.id().to_string()).status();
    let killer_id = gdb.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill").arg("-9").arg(killer_id.to_string()).status();
    });
    let output = gdb.wait_with_output().expect("gdb output");
    drop(killer);
    let out = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(out.contains("Program received signal SIGINT"), "{out}");
    assert!(out.contains("total "), "{out}");
    assert!(r.wait_stderr("detached", Duration::from_secs(10)), "{}", r.stderr());

    // The guest runs on; a second client attaches to the running machine.
    let icount = |out: &str| -> u64 {
        out.lines().find_map(|l| l.strip_prefix("total ")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    };
    let first = icount(&out);
    let out2 = r.gdb(&elf, &["monitor info icount", "detach"]);
    assert!(icount(&out2) > first, "the guest ran on after the detach:\n{out}\n{out2}");

    // A client that dies mid-session: the server notices, the guest runs on, the next client gets in.
    let mut doomed = Command::new("gdb-multiarch")
        .args(["-batch", "-nx", "-ex"])
        .arg(format!("target remote 127.0.0.1:{}", r.port))
        .args(["-ex", "break tick", "-ex", "continue", "-ex", "shell sleep 30"])
        .arg(&elf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gdb-multiarch");
    std::thread::sleep(Duration::from_millis(1500));
    let _ = doomed.kill();
    let _ = doomed.wait();
    assert!(r.wait_stderr("closed the connection", Duration::from_secs(10)), "{}", r.stderr());
    let out3 = r.gdb(&elf, &["info breakpoints", "monitor info icount", "kill"]);
    assert!(out3.contains("total "), "{out3}");
    assert_eq!(r.wait_exit(Duration::from_secs(10)), Some(0), "kill ends rewind:\n{}", r.stderr());
}

#[test]
fn unix_socket_endpoint() {
    let elf = demo_elf();
    let sock = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("gdb-{}.sock", std::process::id()));
    let mut cmd = demo_command(&elf);
    cmd.arg("-gdb").arg(format!("unix:{},server,nowait", sock.display())).arg("-S");
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("rewind");
    let start = std::time::Instant::now();
    while !sock.exists() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = gdb_session(&elf, &format!("target remote {}", sock.display()), &["break tick", "continue", "kill"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.contains("Breakpoint 1, tick ()"), "{out}");
}
