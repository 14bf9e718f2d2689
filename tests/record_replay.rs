//! A boot with typed console input, recorded, then replayed several times: identical console output and
//! identical final state each time, with one hart and with two.

#[path = "common/guest.rs"]
mod guest;
use guest::Captured;

use rewind::{DeviceInput, Machine, StopReason};
use rewind_machines::virt::build;
use rewind_replay::{load, Event, Header, LogReader, LogWriter, Recorder, Timeline, TimelineStop};

fn linux(harts: usize, console: Captured) -> Machine {
    linux_at(harts, console, 0)
}

fn linux_at(harts: usize, console: Captured, rtc_start_ns: u64) -> Machine {
    let mut c = guest::linux_config(harts, Box::new(console), "");
    c.rtc_start_ns = rtc_start_ns;
    let mut m = build(c).unwrap().0;
    m.set_stop_on_idle(true);
    m
}

/// Boots, types a few commands at the shell prompt (each when the prompt appears), records everything.
fn record(harts: usize, path: &std::path::Path) -> (String, u64, u64) {
    let console = Captured::default();
    let mut m = linux(harts, console.clone());
    let uart = m.device_id("serial").unwrap();
    let header = Header { machine_args: vec![], images: vec![], writer: "test".into(), bundled: false };
    let mut rec = Recorder::new(LogWriter::create(path, &header).unwrap(), 5_000_000);
    let mut commands = vec!["echo typed-$((3*14))\n", "cat /proc/uptime\n", "poweroff -f\n"].into_iter();
    let mut prompts_seen = 0;
    loop {
        let stop = m.run(1_000_000);
        let prompts = console.text().matches("rewind-guest:/# ").count();
        let mut delivered = false;
        if prompts > prompts_seen {
            delivered = true;
            prompts_seen = prompts;
            if let Some(cmd) = commands.next() {
                rec.deliver(&mut m, uart, DeviceInput::console(cmd.as_bytes().to_vec())).unwrap();
            }
        }
        match stop {
            StopReason::BudgetExhausted => {}
            // Input wakes the guest: like the CLI, skip idle time only when nothing arrived.
            StopReason::Idle { .. } if delivered => {}
            StopReason::Idle { .. } => assert!(rec.skip_idle(&mut m), "idle forever"),
            StopReason::Poweroff { .. } => break,
            other => panic!("{other:?}"),
        }
        rec.checkpoint(&mut m).unwrap();
        assert!(m.icount() < 2_000_000_000, "runaway boot:\n{}", console.text());
    }
    rec.finish(&mut m, "poweroff").unwrap();
    (console.text(), m.icount(), m.state_hash())
}

fn replay(harts: usize, path: &std::path::Path) -> (String, u64, u64) {
    let console = Captured::default();
    let mut m = linux(harts, console.clone());
    let loaded = load(LogReader::open(path).unwrap().1);
    assert_eq!(loaded.damage, None);
    let events = loaded.events;
    let mut t = Timeline::new(&mut m, events, true, 20_000_000, 256 << 20);
    loop {
        match t.run(&mut m, u64::MAX) {
            TimelineStop::Machine(StopReason::Poweroff { .. } | StopReason::BudgetExhausted) => {}
            TimelineStop::HistoryEnd { reason: Some(_) } => break,
            other => panic!("replay stopped: {other:?}\n{}", console.text()),
        }
    }
    (console.text(), m.icount(), m.state_hash())
}

fn record_then_replay(harts: usize, replays: usize) {
    let path = std::env::temp_dir().join(format!("rewind-rr-{}-{harts}.rwd", std::process::id()));
    let recorded = record(harts, &path);
    assert!(recorded.0.contains("typed-42"), "{}", recorded.0);
    for i in 0..replays {
        let replayed = replay(harts, &path);
        assert_eq!(replayed.0, recorded.0, "replay {i}: console output differs");
        assert_eq!((replayed.1, replayed.2), (recorded.1, recorded.2), "replay {i}: final state differs");
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn recorded_shell_session_replays_identically() {
    record_then_replay(1, 3);
}

#[test]
fn recorded_two_hart_session_replays_identically() {
    record_then_replay(2, 2);
}

#[test]
fn a_diverging_replay_says_where_and_what_differs() {
    let path = std::env::temp_dir().join(format!("rewind-rr-{}-diverge.rwd", std::process::id()));
    record(1, &path);
    // Replay on a machine whose RTC starts at another time: the guest reads it while booting.
    let mut m = linux_at(1, Captured::default(), 1_000_000_000);
    let events = load(LogReader::open(&path).unwrap().1).events;
    let mut t = Timeline::new(&mut m, events, true, 20_000_000, 256 << 20);
    let stop = loop {
        match t.run(&mut m, u64::MAX) {
            TimelineStop::Machine(StopReason::BudgetExhausted) => {}
            other => break other,
        }
    };
    match stop {
        TimelineStop::Diverged(why) => {
            assert!(why.contains("state differs at instruction"), "{why}");
            assert!(why.contains("goldfish_rtc") || why.contains("hart 0 registers"), "{why}");
        }
        other => panic!("expected a divergence, got {other:?}"),
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_ram_divergence_names_the_page() {
    let path = std::env::temp_dir().join(format!("rewind-rr-{}-ram.rwd", std::process::id()));
    record(1, &path);
    let events = load(LogReader::open(&path).unwrap().1).events;
    let first_hash = events
        .iter()
        .find_map(|e| match e {
            Event::StateHash { at, ram_pages, .. } => Some((at.icount, ram_pages.clone())),
            _ => None,
        })
        .unwrap();
    // The kernel image's first page was written (by the loader) before the first hash.
    let page = ((0x8020_0000u64 - 0x8000_0000) / 4096) as u32;
    assert!(first_hash.1.iter().any(|(p, _)| *p == page), "the loaded kernel's pages are in the first hash");
    let mut m = linux(1, Captured::default());
    let mut t = Timeline::new(&mut m, events, true, 20_000_000, 256 << 20);
    assert_eq!(t.run(&mut m, first_hash.0 - 1), TimelineStop::Machine(StopReason::BudgetExhausted));
    // Corrupt the kernel's PE header (never executed or read again): registers stay the same, RAM does not.
    m.write_phys(0x8020_0040, &[0xff]).unwrap();
    match t.run(&mut m, 10) {
        TimelineStop::Diverged(why) => assert!(why.contains("RAM page 0x80200000"), "{why}"),
        other => panic!("expected a divergence, got {other:?}"),
    }
    let _ = std::fs::remove_file(path);
}
