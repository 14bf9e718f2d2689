//! An idle guest costs no CPU and its clock keeps pace with the wall clock (QEMU's `-icount sleep=on`), whether
//! stdin is closed or open and silent; `-icount sleep=off` jumps idle time at once.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// CPU time (user + system) a process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) ends with ')'.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn ticks_per_second() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn an_idle_guest_with_stdin_closed_uses_no_cpu() {
    let mut child =
        linux_command("", &[]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let out = collect_output(child.stdout.take().unwrap());
    let start = Instant::now();
    while !String::from_utf8_lossy(&out.lock().unwrap()).contains("rewind-guest:/# ") {
        assert!(start.elapsed() < Duration::from_secs(60), "no prompt");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(child.id()) - before;
    let _ = child.kill();
    let _ = child.wait();
    // 5% of a core over 3 s; spinning through idle time uses all of one.
    assert!(used * 100 < 5 * 3 * ticks_per_second(), "{used} ticks of CPU in 3 s at an idle prompt");
}

/// The guest's uptime after `wait` of silence at the prompt, and the wall time since rewind started.
fn uptime_after_idling(wait: Duration, extra: &[&str]) -> (f64, f64) {
    let prompt = "rewind-guest:/# ";
    let mut cmd = linux_command("", extra);
    let start = Instant::now();
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let out = collect_output(child.stdout.take().unwrap());
    let text = || String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    while !text().contains(prompt) {
        assert!(start.elapsed() < Duration::from_secs(60), "no prompt");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(wait);
    use std::io::Write;
    stdin.write_all(b"cat /proc/uptime\n").unwrap();
    let wall = start.elapsed().as_secs_f64();
    let uptime = loop {
        let t = text();
        if let Some(line) = t.lines().rev().find(|l| l.split_whitespace().count() == 2 && l.contains('.')) {
            if let Ok(v) = line.split_whitespace().next().unwrap_or("").parse::<f64>() {
                break v;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no uptime: {t}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    (uptime, wall)
}

#[test]
fn an_idle_guest_clock_keeps_pace_with_the_wall_clock() {
    let (uptime, wall) = uptime_after_idling(Duration::from_secs(3), &[]);
    // The guest's clock never runs ahead of the wall clock, and it moves on while the guest idles. (It advances at
    // the guest's timer events, so it may lag the wall clock by up to one idle period.)
    assert!(uptime > 1.0 && uptime < wall + 1.0, "guest uptime {uptime} s after {wall:.1} s of wall time");
    // sleep=off: idle time is skipped, so the guest's clock races ahead of the wall clock.
    let (uptime, wall) = uptime_after_idling(Duration::from_secs(1), &["-icount", "sleep=off"]);
    assert!(uptime > wall + 10.0, "sleep=off: guest uptime {uptime} s after {wall:.1} s of wall time");
}
