//! Reverse execution over the Linux boot: reverse-stepi then stepi returns to exactly the same state;
//! reverse-continue stops at the last breakpoint hit and the last watchpoint hit before the present, the same
//! ones a forward run finds.

#[path = "common/guest.rs"]
mod guest;

use rewind::{Machine, StopReason, WatchKind, Watchpoint};
use rewind_machines::virt::build;
use rewind_replay::timeline::{Timeline, TimelineStop};

fn linux() -> Machine {
    let mut m = build(guest::linux_config(1, Box::new(std::io::sink()), "poweroff=1")).unwrap().0;
    m.set_stop_on_idle(true);
    m
}

/// A machine with its history.
struct Live {
    machine: Machine,
    history: Timeline,
}

impl Live {
    fn icount(&self) -> u64 {
        self.machine.icount()
    }
    fn reverse_step(&mut self) -> TimelineStop {
        self.history.reverse_step(&mut self.machine)
    }
    fn reverse_continue(&mut self) -> TimelineStop {
        self.history.reverse_continue(&mut self.machine)
    }
}

/// Runs a live timeline forward to exactly `icount`, skipping idle time as a run without input does.
fn forward_to(t: &mut Live, icount: u64) -> Vec<(u64, StopReason)> {
    let mut stops = Vec::new();
    while t.icount() < icount {
        let left = icount - t.icount();
        match t.history.run(&mut t.machine, left) {
            TimelineStop::Machine(StopReason::BudgetExhausted) => {}
            TimelineStop::Machine(StopReason::Idle { .. }) => assert!(t.history.skip_idle(&mut t.machine)),
            TimelineStop::Machine(s @ (StopReason::Breakpoint { .. } | StopReason::Watchpoint { .. })) => {
                stops.push((t.icount(), s))
            }
            other => panic!("{other:?} at {}", t.icount()),
        }
    }
    stops
}

fn timeline() -> Live {
    timeline_with_jit(None)
}

fn timeline_with_jit(threshold: Option<u32>) -> Live {
    let mut machine = linux();
    assert!(machine.set_jit(threshold));
    let history = Timeline::new(&mut machine, Vec::new(), false, 5_000_000, 512 << 20);
    Live { machine, history }
}

#[test]
fn reverse_stepi_then_stepi_returns_to_the_same_state() {
    // Going back restores checkpoints under translated code: the JIT must forget what the restored pages held.
    let mut t = timeline_with_jit(Some(20));
    forward_to(&mut t, 30_000_000);
    let present = t.machine.save_cpu_state();
    let present_hash = t.machine.state_hash();
    let mut pcs = Vec::new();
    for _ in 0..20 {
        assert_eq!(t.reverse_step(), TimelineStop::Machine(StopReason::BudgetExhausted));
        pcs.push(t.machine.hart(0).unwrap().pc);
    }
    assert_eq!(t.icount(), 30_000_000 - 20);
    // The state 20 instructions back is the state a fresh, interpreted run reaches there.
    let mut fresh = timeline();
    forward_to(&mut fresh, 30_000_000 - 20);
    assert_eq!(t.machine.state_hash(), fresh.machine.state_hash());
    forward_to(&mut t, 30_000_000);
    assert_eq!(t.machine.save_cpu_state().harts, present.harts);
    assert_eq!(t.machine.state_hash(), present_hash);
    assert!(pcs.windows(2).any(|w| w[0] != w[1]), "the pc moved while stepping back");
}

#[test]
fn reverse_continue_finds_the_last_breakpoint_and_watchpoint_hits() {
    // A pc executed many times: where hart 0 is at 20M instructions.
    let mut probe = timeline();
    forward_to(&mut probe, 20_000_000);
    let pc = probe.machine.hart(0).unwrap().pc;
    let sp = probe.machine.hart(0).unwrap().x[2];

    // Forward truth: every hit of the breakpoint up to 40M.
    let mut truth = timeline();
    truth.machine.add_breakpoint(pc);
    let hits = forward_to(&mut truth, 40_000_000);
    let last_bp = hits.iter().map(|h| h.0).max().expect("the breakpoint is hit");

    let mut t = timeline();
    forward_to(&mut t, 40_000_000);
    t.machine.add_breakpoint(pc);
    let stop = t.reverse_continue();
    assert!(matches!(stop, TimelineStop::Machine(StopReason::Breakpoint { pc: p, .. }) if p == pc), "{stop:?}");
    assert_eq!(t.icount(), last_bp);
    // Again: the hit before that one.
    let previous = hits.iter().map(|h| h.0).filter(|&i| i < last_bp).max();
    let stop = t.reverse_continue();
    match previous {
        Some(i) => {
            assert!(matches!(stop, TimelineStop::Machine(StopReason::Breakpoint { .. })), "{stop:?}");
            assert_eq!(t.icount(), i);
        }
        None => assert_eq!(stop, TimelineStop::HistoryStart),
    }
    t.machine.remove_breakpoint(pc);

    // A write watchpoint on the stack slot below the probe's sp: the last writer before 40M.
    let w = Watchpoint { addr: sp.wrapping_sub(8), len: 8, kind: WatchKind::Write };
    let mut truth = timeline();
    truth.machine.add_watchpoint(w);
    let writes = forward_to(&mut truth, 40_000_000);
    forward_to(&mut t, 40_000_000);
    t.machine.add_watchpoint(w);
    let stop = t.reverse_continue();
    match writes.iter().map(|h| h.0).max() {
        Some(i) => {
            assert!(matches!(stop, TimelineStop::Machine(StopReason::Watchpoint { .. })), "{stop:?}");
            assert_eq!(t.icount(), i);
        }
        None => assert_eq!(stop, TimelineStop::HistoryStart),
    }
}
