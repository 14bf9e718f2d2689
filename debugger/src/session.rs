//! `rewind run`: builds the machine from the command line and runs it with the console attached.

use crate::cli::{self, MachineArgs};
use crate::console::{Console, ConsoleEvent};
use crate::gdb::target::Debuggee;
use crate::gdb::{Gate, GdbServer};
use crate::recording::{InputPath, Step, CHECKPOINT_BUDGET, CHECKPOINT_EVERY, FAILURE_EXIT, REPLAY_CUT_OFF_EXIT};
use anyhow::{bail, Context, Result};
use rewind::{DeviceInput, Machine, StopReason, TIMEBASE_HZ};
use rewind_machines::loader::ImageFile;
use rewind_machines::virt::{self, Firmware, VirtConfig};
use rewind_replay::Timeline;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Instructions between two looks at the console.
const CHUNK: u64 = 2_000_000;

/// The longest an idle machine waits before the run loop looks around again (gdb, the recorder's flush).
const IDLE_WAIT: Duration = Duration::from_millis(50);

/// When an idle guest's next timer event is due in real time (QEMU's `-icount sleep=on`): virtual time may not run
/// ahead of the wall clock while every hart sleeps, so an idle guest costs no CPU and its clock keeps pace with the
/// host's. A busy guest runs behind the wall clock, so its idle moments are skipped at once and a batch run is
/// never slowed. Only live runs pace: in a replay, idle skips come from the recording.
struct IdlePacing {
    sleep: bool,
    /// The wall clock and virtual time at the last rebase.
    wall: Instant,
    vclock: u64,
}

impl IdlePacing {
    fn new(sleep: bool, vclock: u64) -> IdlePacing {
        IdlePacing { sleep, wall: Instant::now(), vclock }
    }

    /// Starts pacing afresh from now (after the machine stood still for gdb, or moved in time).
    fn rebase(&mut self, vclock: u64) {
        self.wall = Instant::now();
        self.vclock = vclock;
    }

    /// Virtual time (ticks) that corresponds to the wall clock now, when pacing.
    fn wall_ticks(&self) -> Option<u64> {
        let elapsed = u64::try_from(self.wall.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.sleep.then(|| self.vclock.saturating_add(elapsed / (1_000_000_000 / TIMEBASE_HZ)))
    }

    /// How long to wait before the timer event at virtual time `deadline` is due.
    fn wait_for(&self, deadline: u64) -> Duration {
        match self.wall_ticks() {
            Some(now) => Duration::from_nanos(deadline.saturating_sub(now).saturating_mul(1_000_000_000 / TIMEBASE_HZ)),
            None => Duration::ZERO,
        }
    }
}

/// Console output collected by the UART, drained by the run loop. Output produced while execution re-runs its
/// past (reverse execution, seeks: `past` is raised) was shown the first time and is dropped.
#[derive(Clone, Default)]
pub struct SharedOutput {
    bytes: Arc<Mutex<Vec<u8>>>,
    past: Arc<AtomicBool>,
}

impl Write for SharedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.past.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        if let Ok(mut out) = self.bytes.lock() {
            out.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedOutput {
    pub fn take(&self) -> Vec<u8> {
        self.bytes.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }

    /// The flag a [`Timeline`] raises while it re-runs the past.
    pub fn past_flag(&self) -> Arc<AtomicBool> {
        self.past.clone()
    }
}

/// Builds a `virt` machine from the command line. `originals`: see [`crate::drives::attach`].
pub fn build_machine(
    args: &MachineArgs,
    out: SharedOutput,
    originals: Option<crate::drives::OriginalsFor>,
) -> Result<(Machine, virt::BootInfo)> {
    cli::parse_machine(&args.machine)?;
    if args.serial != "stdio" && args.serial != "mon:stdio" {
        bail!("-serial {}: only stdio is supported", args.serial);
    }
    let mut config = VirtConfig::new(Box::new(out));
    config.harts = cli::parse_smp(&args.smp)?;
    config.ram_size = cli::parse_size(&args.memory)?;
    config.rtc_start_ns = args.rtc_start.saturating_mul(1_000_000_000);
    config.append = args.append.clone();
    config.bios = match args.bios.as_str() {
        "default" => Firmware::Default,
        "none" => Firmware::None,
        path => Firmware::Path(path.into()),
    };
    if let Some(k) = &args.kernel {
        config.kernel = Some(ImageFile::read(k)?);
    }
    if let Some(i) = &args.initrd {
        config.initrd = Some(ImageFile::read(i)?);
    }
    crate::drives::attach(args, &mut config, originals)?;
    let (mut machine, boot) = virt::build(config)?;
    if args.jit == "on" && !machine.set_jit(Some(args.jit_threshold)) {
        eprintln!("rewind: no JIT on this host; interpreting");
    }
    machine.set_jit_timing(args.stats);
    Ok((machine, boot))
}

/// `rewind mtree`: prints the machine's memory-region tree as QEMU's `info mtree` does.
pub fn print_mtree(args: &MachineArgs) -> Result<i32> {
    let (machine, _) = build_machine(args, SharedOutput::default(), None)?;
    print!("{}", machine.memory_tree().render_mtree());
    Ok(0)
}

/// Runs the machine with the console on stdin/stdout (and the gdb server, if asked for). Returns the process
/// exit code.
pub fn run(args: &MachineArgs) -> Result<i32> {
    run_with(args, InputPath::Live, None)
}

/// Runs the machine with the console, sending console input and idle skips through `inputs`; `originals`: see
/// [`crate::drives::attach`].
pub fn run_with(
    args: &MachineArgs,
    mut inputs: InputPath,
    originals: Option<crate::drives::OriginalsFor>,
) -> Result<i32> {
    let out = SharedOutput::default();
    let endpoint = args.gdb_endpoint()?;
    let (machine, boot) = build_machine(args, out.clone(), originals)?;
    if let Some(path) = cli::parse_machine(&args.machine)?.dump_dtb {
        // As QEMU: write the tree the guest would get and stop before running it.
        std::fs::write(&path, &boot.fdt).with_context(|| format!("dumpdtb: cannot write {}", path.display()))?;
        return Ok(0);
    }
    let uart = machine.device_id("serial").context("the board has no serial port")?;
    let mut dbg = Debuggee::new(machine);
    // A recording keeps its own history (below); a plain run keeps one when asked.
    if args.reverse && matches!(inputs, InputPath::Live) {
        let history = Timeline::new(&mut dbg.machine, Vec::new(), false, CHECKPOINT_EVERY, CHECKPOINT_BUDGET);
        inputs = InputPath::History(Box::new(history));
    }
    if let InputPath::Record(recorder, watch) = inputs {
        // Checkpoints while recording: the run being recorded can be debugged backwards at once.
        let recorder = Box::new(recorder.with_history(&mut dbg.machine, CHECKPOINT_EVERY, CHECKPOINT_BUDGET));
        inputs = InputPath::Record(recorder, watch);
    }
    // While replaying a recording: why it may end before its recorded end.
    let mut replay_damage = None;
    if let InputPath::Replay { events, damage } = inputs {
        replay_damage = Some(damage.unwrap_or_else(|| "the recording was cut off".into()));
        let history = Timeline::new(&mut dbg.machine, events, true, CHECKPOINT_EVERY, CHECKPOINT_BUDGET);
        inputs = InputPath::History(Box::new(history));
    }
    dbg.inputs = inputs;
    if let Some(history) = dbg.inputs.history() {
        history.set_past_flag(out.past_flag());
    }
    let mut gdb = match &endpoint {
        Some(e) => Some(GdbServer::start(e, args.freeze)?),
        None => None,
    };
    // A replay without gdb shows how far it got (on a terminal).
    let replay_end = dbg.inputs.history().and_then(|t| t.recorded_end()).filter(|_| gdb.is_none());
    let bar = crate::progress::Progress::new("replaying", replay_end.unwrap_or(0));
    let mut console = Console::start();
    dbg.machine.set_stop_on_idle(true);
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    let mut budget_left = args.max_insns;
    let mut pacing = IdlePacing::new(cli::parse_icount(&args.icount)?, dbg.machine.now());
    let code = loop {
        let mut chunk = budget_left.map_or(CHUNK, |b| b.min(CHUNK));
        if chunk == 0 {
            break 0;
        }
        if let Some(server) = gdb.as_mut() {
            match server.poll(&mut dbg) {
                Gate::Run(n) => chunk = chunk.min(n),
                Gate::Wait => {
                    // Halted for gdb: console input is still taken (the UART buffers it), Ctrl-A x still quits.
                    // Virtual time stands still meanwhile, as the guest's clock does under QEMU's gdb stub.
                    pacing.rebase(dbg.machine.now());
                    if let Some(ev) = console.poll() {
                        if let Some(code) = handle_console(&mut dbg.machine, &mut dbg.inputs, uart, ev)? {
                            break code;
                        }
                    }
                    continue;
                }
                Gate::Exit(code) => break code,
            }
            if let Some(gate) = server.run_reverse(&mut dbg) {
                pacing.rebase(dbg.machine.now());
                match gate {
                    Gate::Exit(code) => break code,
                    _ => continue,
                }
            }
        }
        let before = dbg.machine.icount();
        let stop = match dbg.inputs.run(&mut dbg.machine, chunk)? {
            Step::Stop(stop) => stop,
            Step::HistoryEnd(reason) => {
                let _ = stdout.write_all(&out.take());
                match gdb.as_mut() {
                    Some(server) if server.attached() => {
                        if let Some(Gate::Exit(code)) = server.report_history_end(&mut dbg) {
                            break code;
                        }
                        continue;
                    }
                    _ => {
                        bar.finish();
                        break end_of_history(dbg.machine.icount(), reason, replay_damage.as_deref());
                    }
                }
            }
        };
        if let Some(b) = budget_left.as_mut() {
            *b -= dbg.machine.icount().saturating_sub(before);
        }
        let output = out.take();
        bar.set(dbg.machine.icount());
        bar.suspend(|| {
            let _ = stdout.write_all(&output);
            let _ = stdout.flush();
        });
        dbg.inputs.checkpoint(&mut dbg.machine)?;
        if let Some(failure) = dbg.inputs.check_failure(&output, &dbg.machine) {
            crate::console::say(&format!("rewind: guest failure at instruction {}: {failure}", dbg.machine.icount()));
            break FAILURE_EXIT;
        }
        // A replay's poweroff is not the end of the session: the recording's end follows at the same point and
        // is reported as the end of the history, from which gdb can go back.
        let replay_poweroff = replay_damage.is_some() && matches!(stop, StopReason::Poweroff { .. });
        if let Some(server) = gdb.as_mut().filter(|_| !replay_poweroff) {
            match server.report(&mut dbg, &stop) {
                (_, Some(Gate::Exit(code))) => break code,
                (true, _) => continue,
                (false, _) => {}
            }
        }
        let machine = &mut dbg.machine;
        match stop {
            StopReason::BudgetExhausted => {
                if let Some(ev) = console.poll() {
                    if let Some(code) = handle_console(machine, &mut dbg.inputs, uart, ev)? {
                        break code;
                    }
                }
            }
            StopReason::Idle { next_deadline } => {
                // Wait for input until the next timer event is due in real time (see `IdlePacing`), a little at
                // a time so gdb and the recorder are looked after; without input, jump virtual time to the event.
                let wait = match next_deadline {
                    Some(d) => pacing.wait_for(d),
                    None if console.is_closed() => Duration::ZERO,
                    None => IDLE_WAIT,
                };
                let ev = if wait.is_zero() {
                    console.poll()
                } else if console.is_closed() {
                    std::thread::sleep(wait.min(IDLE_WAIT));
                    None
                } else {
                    console.wait(wait.min(IDLE_WAIT))
                };
                match ev {
                    Some(ev) => {
                        // The guest slept while waiting: its clock catches up with the wall clock before the
                        // input arrives, as if time had passed for it too (recorded, so a replay agrees).
                        if let Some(now) = pacing.wall_ticks().filter(|_| !wait.is_zero()) {
                            dbg.inputs.skip_idle_until(machine, now);
                        }
                        if let Some(code) = handle_console(machine, &mut dbg.inputs, uart, ev)? {
                            break code;
                        }
                    }
                    None if next_deadline.is_some_and(|d| !pacing.wait_for(d).is_zero()) => {}
                    None if next_deadline.is_some() => {
                        dbg.inputs.skip_idle(machine);
                    }
                    // With gdb attached, a machine that can never wake is still worth looking at.
                    None if console.is_closed() && gdb.as_ref().is_some_and(|g| g.attached()) => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    None if console.is_closed() => {
                        let _ = stdout.write_all(&out.take());
                        crate::console::say(
                            "rewind: every hart waits for an interrupt that can never come (no timer armed, \
                             console input closed); stopping",
                        );
                        break 1;
                    }
                    None => {}
                }
            }
            // A replay runs on to the recording's end event, which says how the recorded run ended (the timeline
            // stops there, or at the last recorded event of a recording cut off).
            StopReason::Poweroff { .. } if replay_damage.is_some() => {}
            StopReason::Poweroff { code } => break code as i32,
            StopReason::Reset if !matches!(dbg.inputs, InputPath::Live) => {
                crate::console::say("rewind: the guest reset; the recording ends here");
                break 0;
            }
            StopReason::Reset => {
                // A reset is a fresh boot of the same configuration: images are reloaded, devices start over.
                let (fresh, _) = build_machine(args, out.clone(), None)?;
                dbg.machine = fresh;
                dbg.machine.set_stop_on_idle(true);
                dbg.reapply_debug_state();
            }
            // Only gdb sets breakpoints and watchpoints; one that fires while no client is attached is stale.
            StopReason::Breakpoint { .. } | StopReason::Watchpoint { .. } if gdb.is_some() => {}
            StopReason::Breakpoint { hart, pc } => {
                crate::console::say(&format!("rewind: hart {hart} stopped at breakpoint {pc:#x}"));
                break 0;
            }
            StopReason::Watchpoint { hart, addr, kind, .. } => {
                crate::console::say(&format!("rewind: hart {hart} stopped at watchpoint ({kind:?} of {addr:#x})"));
                break 0;
            }
        }
    };
    let _ = stdout.write_all(&out.take());
    let _ = stdout.flush();
    drop(console);
    let reason = if code == FAILURE_EXIT { "guest failure".to_string() } else { format!("poweroff {code}") };
    std::mem::replace(&mut dbg.inputs, InputPath::Live).finish(&mut dbg.machine, &reason)?;
    let machine = &dbg.machine;
    if args.stats {
        let secs = started.elapsed().as_secs_f64();
        let icount = machine.icount();
        eprintln!(
            "rewind: {icount} instructions, {:.3} s virtual time, {secs:.3} s wall, {:.1} MIPS",
            machine.now() as f64 / TIMEBASE_HZ as f64,
            icount as f64 / secs / 1e6
        );
        if let Some(j) = machine.jit_stats() {
            eprintln!(
                "rewind: jit: {:.1}% of instructions in translated code; {} regions ({} guest instructions, {} KiB \
                 of code) in {:.3} s, {} flushes, {} refused",
                j.retired as f64 * 100.0 / icount.max(1) as f64,
                j.regions,
                j.guest_insns,
                j.code_bytes / 1024,
                j.compile_ns as f64 / 1e9,
                j.flushes,
                j.failed
            );
        }
        for i in 0..machine.hart_count() {
            if let Some(h) = machine.hart(i) {
                eprintln!(
                    "rewind: hart {i}: pc={:#x} ra={:#x} {:?} icount={} wfi={} mcause={:#x} scause={:#x} stval={:#x}",
                    h.pc, h.x[1], h.privilege, h.icount, h.wfi, h.csr.mcause, h.csr.scause, h.csr.stval
                );
            }
        }
    }
    Ok(code)
}

/// Says where a run through recorded history ended; returns the exit code. `replay_damage` is set when replaying
/// a recording: why it may end early.
fn end_of_history(at: u64, reason: Option<String>, replay_damage: Option<&str>) -> i32 {
    match (reason, replay_damage) {
        (Some(reason), Some(_)) => {
            crate::console::say(&format!(
                "rewind: replay complete at instruction {at} ({reason}); state matches the recording"
            ));
            crate::recording::exit_code_of(&reason)
        }
        (None, Some(why)) => {
            crate::console::say(&format!(
                "rewind: recording ends early at instruction {at} ({why}); replayed up to there"
            ));
            REPLAY_CUT_OFF_EXIT
        }
        (reason, None) => {
            let why = reason.unwrap_or_else(|| "the recording was cut off".into());
            crate::console::say(&format!("rewind: end of the recording at instruction {at} ({why})"));
            0
        }
    }
}

/// Delivers console input; returns an exit code if the user asked to quit.
fn handle_console(
    machine: &mut Machine,
    inputs: &mut InputPath,
    uart: rewind::DeviceId,
    ev: ConsoleEvent,
) -> Result<Option<i32>> {
    Ok(match ev {
        // A replay's input comes from its recording.
        ConsoleEvent::Bytes(_) if inputs.replaying() => None,
        ConsoleEvent::Bytes(bytes) => {
            inputs.deliver(machine, uart, DeviceInput::ConsoleBytes(bytes))?;
            None
        }
        ConsoleEvent::Quit => {
            crate::console::say("rewind: terminated by Ctrl-A x");
            Some(0)
        }
        ConsoleEvent::Closed => None,
    })
}
