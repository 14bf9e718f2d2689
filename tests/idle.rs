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

/// The first `seconds.fraction` word pair of a `/proc/uptime` line in `text`.
fn uptime_in(text: &str) -> Option<f64> {
    text.lines().filter(|l| l.split_whitespace().count() == 2 && l.contains('.')).find_map(|l| {
        let (up, idle) = l.split_once(' ')?;
        idle.parse::<f64>().ok()?;
        up.parse().ok()
    })
}

/// Runs the shared guest with `cmd` (rewind and its arguments before the machine's), waits `wait` in silence at
/// the prompt, asks for the guest's uptime and powers off. Returns the uptime, the wall time since rewind started
/// when the question was typed, and everything printed.
fn uptime_after_idling(sub: &[&str], wait: Duration, extra: &[&str]) -> (f64, f64, String) {
    let prompt = "rewind-guest:/# ";
    let linux = linux_command("", extra);
    let mut cmd = Command::new(rewind_bin());
    cmd.args(sub).args(linux.get_args());
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
        if let Some(v) = uptime_in(&text()) {
            break v;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no uptime: {}", text());
        std::thread::sleep(Duration::from_millis(20));
    };
    stdin.write_all(b"poweroff -f\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no poweroff: {}", text());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (uptime, wall, text())
}

#[test]
fn an_idle_guest_clock_keeps_pace_with_the_wall_clock() {
    let (uptime, wall, _) = uptime_after_idling(&[], Duration::from_secs(3), &[]);
    // The guest's clock never runs ahead of the wall clock, and it keeps up while the guest idles: when input
    // arrives, the guest's clock catches up with the wall clock before the guest sees it.
    assert!(uptime > wall - 0.75 && uptime < wall + 0.5, "guest uptime {uptime} s after {wall:.2} s of wall time");
    // sleep=off: idle time is skipped, so the guest's clock races ahead of the wall clock.
    let (uptime, wall, _) = uptime_after_idling(&[], Duration::from_secs(1), &["-icount", "sleep=off"]);
    assert!(uptime > wall + 10.0, "sleep=off: guest uptime {uptime} s after {wall:.1} s of wall time");
}

#[test]
fn idle_time_kept_by_the_wall_clock_replays_exactly() {
    let path = std::env::temp_dir().join(format!("rewind-idle-{}.rwd", std::process::id()));
    let path_arg = path.to_str().unwrap();
    let (uptime, wall, live) = uptime_after_idling(&["record", "-o", path_arg], Duration::from_secs(2), &[]);
    assert!(uptime > wall - 0.75, "recording: guest uptime {uptime} s after {wall:.2} s of wall time");
    let replay = Command::new(rewind_bin()).args(["replay", path_arg]).stdin(Stdio::null()).output().unwrap();
    let _ = std::fs::remove_file(&path);
    let replayed = String::from_utf8_lossy(&replay.stdout);
    assert_eq!(replay.status.code(), Some(0), "replay: {}", String::from_utf8_lossy(&replay.stderr));
    assert_eq!(uptime_in(&replayed), Some(uptime), "the replay sees the recorded clock: {replayed}");
    assert_eq!(replayed, live, "the replay prints what the recorded run printed");
}

/// Wall time of a batch run of the shared guest's CPU benchmark, with `-icount sleep=...`.
fn bench_wall(sleep: &str) -> f64 {
    let start = Instant::now();
    let out = linux_command("bench=1", &["-icount", &format!("sleep={sleep}")]).stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bench checksum=0x6ad0bb1731163af2"), "sleep={sleep}: {text}");
    start.elapsed().as_secs_f64()
}

#[test]
fn a_guest_that_ran_ahead_of_the_wall_clock_is_not_held_back_when_it_idles() {
    // The benchmark retires 5.4 G instructions (5.4 s of guest time) in about 2 s under the JIT, then idles on its
    // way to the poweroff. Pacing once made that idle moment wait until the wall clock caught up with the guest's
    // whole lead (5.5 s against 2.2 s): only idle time itself may be waited for.
    let paced = bench_wall("on");
    let skipped = bench_wall("off");
    assert!(paced < skipped * 1.3 + 0.5, "sleep=on took {paced:.2} s, sleep=off {skipped:.2} s");
}
