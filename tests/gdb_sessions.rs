//! gdb sessions that never go stale, with the real gdb-multiarch: time travel through the shipped gdb script
//! leaves gdb at the new point, the end of a replay is a stop that keeps the session, re-executing the past does
//! not print old console output again, a long seek keeps gdb connected, a damaged packet is sent again, a client
//! that drops its connection leaves a `-S` machine frozen, and reverse execution without a history says how to
//! get one.

mod common;
mod gdb_support;
use common::*;
use gdb_support::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("rewind-gdb-sessions-{}-{name}", std::process::id()))
}

fn script() -> String {
    workspace().join("debugger/gdb/rewind.gdb").display().to_string()
}

/// The instruction counts `monitor replay where` printed, in order.
fn instruction_counts(out: &str) -> Vec<u64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("instruction "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Records the shared guest with `append`; the recording.
fn record(name: &str, append: &str, code: i32) -> PathBuf {
    let g = guest_dir();
    let file = temp(name);
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(&file).args(["-m", "256M", "-kernel"]).arg(g.join("Image"));
    cmd.arg("-initrd").arg(g.join("initramfs.cpio.gz")).args(["-append", &format!("console=ttyS0 {append}")]);
    let rec = run_with_input(cmd, b"", Duration::from_secs(120));
    assert_eq!(rec.code, Some(code), "{}", rec.stderr);
    file
}

fn replay_under_gdb(file: &Path) -> Rewind {
    let mut cmd = Command::new(rewind_bin());
    cmd.arg("replay").arg(file);
    Rewind::start(cmd, &["-S"])
}

#[test]
fn time_travel_through_the_gdb_script_leaves_gdb_at_the_new_point() {
    let vmlinux = vmlinux(&guest_dir());
    let r = Rewind::start(linux_command("poweroff=1", &[]), &["-S", "--reverse"]);
    let connect = format!("target remote 127.0.0.1:{}", r.port);
    let out = gdb_session(
        &vmlinux,
        &format!("source {}", script()),
        &[
            &connect,
            "break start_kernel",
            "continue",
            "rewind-savevm here",
            "rewind-where",
            "break rest_init",
            "continue",
            "rewind-loadvm here",
            "p $pc",
            "stepi",
            "rewind-where",
            "rewind-goto 5000000",
            "p/x $pc",
            "monitor info registers",
        ],
    );
    let wheres = instruction_counts(&out);
    assert_eq!(wheres.len(), 2, "{out}");
    assert!(
        out.contains("$1 = (void (*)()) 0xffffffff8030b9ce <start_kernel>") || out.contains("<start_kernel>"),
        "{out}"
    );
    assert_eq!(wheres[1], wheres[0] + 1, "one stepi after loadvm runs one instruction:\n{out}");
    // After the goto, gdb's pc is the machine's pc.
    let gdb_pc = out.lines().find_map(|l| l.strip_prefix("$2 = ")).unwrap_or_else(|| panic!("{out}")).trim();
    // `monitor info registers` prints QEMU's " pc       <16 hex digits>" line.
    let machine_pc = out.lines().find_map(|l| l.strip_prefix(" pc ")).unwrap_or_else(|| panic!("{out}"));
    let machine_pc = machine_pc.trim().trim_start_matches('0');
    assert_eq!(gdb_pc.trim_start_matches("0x"), machine_pc, "{out}");
}

#[test]
fn the_end_of_a_replay_is_a_stop_that_keeps_the_session() {
    let vmlinux = vmlinux(&guest_dir());
    let file = record("end.rwd", "poweroff=1", 0);
    let mut r = replay_under_gdb(&file);
    let out = r.gdb(
        &vmlinux,
        &[
            "continue",
            "monitor replay where",
            "reverse-stepi",
            "monitor replay where",
            "continue",
            "monitor replay where",
        ],
    );
    assert!(!out.contains("exited normally"), "{out}");
    assert_eq!(out.matches("No more reverse-execution history").count(), 2, "{out}");
    let wheres = instruction_counts(&out);
    assert_eq!(wheres.len(), 3, "{out}");
    assert_eq!((wheres[1], wheres[2]), (wheres[0] - 1, wheres[0]), "{out}");
    // Once gdb detaches the replay ends with the recorded outcome.
    assert_eq!(r.wait_exit(Duration::from_secs(60)), Some(0), "{}", r.stderr());
    let _ = std::fs::remove_file(file);
}

#[test]
fn reverse_continue_does_not_print_old_console_output_again() {
    let vmlinux = vmlinux(&guest_dir());
    let file = record("panic.rwd", "rdinit=/nope root=/dev/nope", 70);
    let r = replay_under_gdb(&file);
    let out = r.gdb(
        &vmlinux,
        &["break panic", "continue", "break rest_init", "reverse-continue", "continue", "monitor replay where"],
    );
    assert!(out.contains("Breakpoint 2, rest_init"), "{out}");
    let console = r.stdout();
    assert!(console.contains("Linux version"), "{console}");
    let mut seen = std::collections::HashSet::new();
    for line in console.lines().filter(|l| l.starts_with('[')) {
        assert!(seen.insert(line), "printed twice: {line}\n{console}");
    }
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_long_seek_keeps_gdb_connected_and_ends_where_asked() {
    let vmlinux = vmlinux(&guest_dir());
    let file = record("bench.rwd", "poweroff=1 bench=1", 0);
    let r = replay_under_gdb(&file);
    // gdb waits for a monitor command's reply with its remote timeout: 1 s here, far less than the seek takes.
    let target = 5_000_000_000u64;
    let out = r.gdb(
        &vmlinux,
        &["set remotetimeout 1", &format!("monitor replay goto {target}"), "monitor replay where", "info threads"],
    );
    assert!(out.contains("seeking: instruction"), "no progress shown: {out}");
    assert_eq!(instruction_counts(&out), [target], "{out}");
    assert!(!out.contains("Remote connection closed") && !out.contains("Ignoring packet error"), "{out}");
    let _ = std::fs::remove_file(file);
}

/// A raw protocol connection to rewind's gdb server.
fn raw_connection(port: u16) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn read_some(s: &mut std::net::TcpStream) -> String {
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn a_damaged_packet_is_asked_for_again() {
    let g = guest_dir();
    let r = Rewind::start(linux_command("poweroff=1", &[]), &["-S"]);
    let mut s = raw_connection(r.port);
    s.write_all(b"$?#00").unwrap();
    assert_eq!(read_some(&mut s), "-", "a bad checksum is answered with a request to send again");
    s.write_all(b"$?#3f").unwrap();
    let mut reply = read_some(&mut s);
    if reply == "+" {
        reply += &read_some(&mut s);
    }
    assert!(reply.starts_with("+$T05"), "the session goes on: {reply:?}");
    drop(s);
    let _ = g;
}

#[test]
fn a_dropped_client_leaves_a_frozen_machine_frozen() {
    let vmlinux = vmlinux(&guest_dir());
    let r = Rewind::start(linux_command("poweroff=1", &[]), &["-S"]);
    let mut s = raw_connection(r.port);
    s.write_all(b"+$?#3f").unwrap();
    let _ = read_some(&mut s);
    drop(s);
    assert!(r.wait_stderr("closed the connection", Duration::from_secs(10)), "{}", r.stderr());
    std::thread::sleep(Duration::from_secs(1));
    let out = r.gdb(&vmlinux, &["monitor info icount"]);
    assert!(out.contains("total 0"), "the CPUs ran without a client resuming them: {out}");
}

#[test]
fn reverse_execution_without_a_history_says_how_to_get_one() {
    let vmlinux = vmlinux(&guest_dir());
    let r = Rewind::start(linux_command("poweroff=1", &[]), &["-S"]);
    let out = r.gdb(&vmlinux, &["stepi", "reverse-stepi", "reverse-continue", "monitor info icount"]);
    assert!(!out.contains("does not support this command"), "{out}");
    assert_eq!(out.matches("run with --reverse").count(), 2, "{out}");
    assert!(out.contains("total 1"), "{out}");
}

#[test]
fn continuing_a_damaged_replay_stops_where_its_evidence_ends() {
    let vmlinux = vmlinux(&guest_dir());
    let file = record("cut.rwd", "rdinit=/nope root=/dev/nope", 70);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let r = replay_under_gdb(&file);
    let out = r.gdb(&vmlinux, &["continue", "monitor replay where", "reverse-stepi", "monitor replay where"]);
    assert!(r.stderr().contains("replaying what is there"), "the damage is named: {}", r.stderr());
    assert!(out.contains("No more reverse-execution history"), "{out}");
    let wheres = instruction_counts(&out);
    assert_eq!(wheres.len(), 2, "{out}");
    assert_eq!(wheres[1], wheres[0] - 1, "{out}");
    let _ = std::fs::remove_file(file);
}

#[test]
fn the_monitors_gdbserver_starts_the_server_at_run_time() {
    let port = free_port();
    let mut child = Command::new(rewind_bin())
        .args(["-bios", "none", "-kernel"])
        .arg(demo_elf())
        .args(["-serial", "none", "-monitor", "stdio"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start rewind");
    let mut stdin = child.stdin.take().unwrap();
    let stderr = collect_output(child.stderr.take().unwrap());
    let _stdout = collect_output(child.stdout.take().unwrap());
    writeln!(stdin, "gdbserver tcp::{port}").unwrap();
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "the gdb server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = gdb_session(&demo_elf(), &format!("target remote 127.0.0.1:{port}"), &["info registers pc", "detach"]);
    assert!(out.contains("pc             0x8"), "gdb did not read the pc:\n{out}");
    writeln!(stdin, "gdbserver {port}").unwrap();
    writeln!(stdin, "quit").unwrap();
    let status = child.wait().unwrap();
    let err = String::from_utf8_lossy(&stderr.lock().unwrap()).into_owned();
    assert!(status.success(), "{err}");
    assert!(err.contains(&format!("gdb server listening on tcp 127.0.0.1:{port}")), "{err}");
    assert!(err.contains("the gdb server is already running"), "{err}");
}
