//! `rewind run`, and the runs behind `rewind record` and `rewind replay`: builds the machine, opens a session on
//! it with the console and (if asked for) the gdb server attached, runs it, and prints `--stats`.

use crate::cli::{self, MachineArgs};
use crate::console::Console;
use crate::gdb::{GdbServer, GdbSlot};
use crate::machine_setup::build_machine;
use crate::monitor_stdio::MonitorStdio;
use crate::serial::{Serial, SerialSink};
use crate::session::{Frontend, InputPath, Options, Session, SharedOutput, CHECKPOINT_EVERY};
use crate::symbols::Symbols;
use crate::term;
use crate::tui::Tui;
use crate::verdict::{Ended, LoadFailed};
use anyhow::{Context, Result};
use rewind::{Machine, TIMEBASE_HZ};
use std::io::IsTerminal;
use std::time::Instant;

/// Instructions between two checkpoints under the TUI.
const TUI_CHECKPOINT_EVERY: u64 = 2_000_000;

/// Runs the machine with the console on stdin/stdout (and the gdb server, if asked for).
pub fn run(args: &MachineArgs) -> Result<Ended> {
    run_with(args, InputPath::Live, None)
}

/// Runs the machine with the console, sending console input and idle skips through `inputs`; `originals`: see
/// [`crate::drives::attach`].
pub fn run_with(
    args: &MachineArgs,
    inputs: InputPath,
    originals: Option<crate::drives::OriginalsFor>,
) -> Result<Ended> {
    crate::signals::install();
    // As QEMU: `-device help` and `-cpu help` list what exists, `-device TYPE,help` and `-cpu MODEL,help` its
    // properties, and nothing runs.
    let log_items = args.log_items.as_deref().map(crate::exec_log::parse_items).transpose()?;
    let help = match crate::drives::device_help(&args.devices)? {
        Some(help) => Some(help),
        None if log_items == Some(None) => Some(crate::exec_log::HELP.to_string()),
        None => cli::cpu_help(&args.cpu)?,
    };
    if let Some(help) = help {
        print!("{help}");
        return Ok(Ended { code: 0, outcome: None, at: None });
    }
    let out = SharedOutput::default();
    let endpoint = args.gdb_endpoint()?;
    // Runs and recordings are judged (a panicking kernel ends them); a replay ends where its recording did.
    let judged = !matches!(inputs, InputPath::Replay { .. });
    let criteria = args.verdict.criteria()?;
    let (machine, boot) =
        build_machine(args, Box::new(out.clone()), originals).map_err(|e| LoadFailed(format!("{e:#}")))?;
    if let Some(path) = cli::parse_machine(&args.machine)?.dump_dtb {
        // As QEMU: write the tree the guest would get and stop before running it.
        std::fs::write(&path, &boot.fdt).with_context(|| format!("dumpdtb: cannot write {}", path.display()))?;
        return Ok(Ended { code: 0, outcome: None, at: None });
    }
    let options = Options {
        reverse: args.reverse,
        // A run that ends in a verdict has nobody typing: idle time passes at once rather than at the wall
        // clock's pace.
        sleep: cli::parse_icount(&args.icount)?.sleep && !args.verdict.wanted(),
        max_insns: args.max_insns,
        // The TUI answers a step back or a jump to a console line by re-running from the checkpoint before it:
        // denser checkpoints keep that under a tenth of a second.
        checkpoint_every: if args.tui { TUI_CHECKPOINT_EVERY } else { CHECKPOINT_EVERY },
        no_reboot: args.no_reboot,
    };
    let serial = Serial::parse(&args.serial)?;
    let monitor_stdio = match args.monitor.as_deref() {
        None | Some("none") => false,
        Some("stdio") => true,
        Some(dev) => anyhow::bail!("-monitor {dev}: rewind supports stdio (and none)"),
    };
    if monitor_stdio && args.tui {
        anyhow::bail!("-monitor stdio and the TUI both want the terminal: the TUI's command line (:) is the monitor");
    }
    if monitor_stdio && serial == Serial::Stdio {
        anyhow::bail!(
            "-monitor stdio: stdio is already the serial console's (as QEMU: cannot use stdio by multiple character \
             devices); add -serial file:PATH or -serial none, or keep the console and press Ctrl-A c for the monitor"
        );
    }
    let mut machine = machine;
    if let Some(Some(items)) = log_items {
        let filter = args.log_filter.as_deref().map(crate::exec_log::parse_filter).transpose()?.unwrap_or_default();
        let log = crate::exec_log::ExecLog::open(items, args.log_file.as_deref(), filter)?;
        machine.set_tracer(Some(Box::new(log)));
    } else if args.log_file.is_some() || args.log_filter.is_some() {
        anyhow::bail!("-D and -dfilter go with -d ITEMS (-d help lists them)");
    }
    let mut session = Session::new(machine, inputs, out, options)?;
    if judged {
        session.set_judge(criteria);
    }
    session.set_symbols(load_symbols(args)?);
    // The TUI owns the keyboard and the screen (and shows rewind's messages from now on); without it, the
    // console has them.
    let mut tui = if args.tui { Some(Tui::start(&mut session)?) } else { None };
    let mut gdb = GdbSlot(match &endpoint {
        Some(e) => Some(GdbServer::start(e, args.freeze)?),
        None => None,
    });
    // A replay without gdb shows how far it got (on a terminal).
    if gdb.0.is_none() && !args.tui && args.query.is_empty() {
        session.show_replay_progress();
    }
    if args.freeze && gdb.0.is_none() && !args.tui && !monitor_stdio {
        // As QEMU: -S without a gdb server starts stopped, and the monitor's `cont` starts the machine. Without a
        // terminal there is no monitor to say it.
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "-S without a gdb server waits for the monitor's cont: run in a terminal (Ctrl-A c) or add -s"
            );
        }
        session.stop();
        term::line("rewind: stopped at reset (-S); Ctrl-A c, then cont, starts the machine");
    }
    let mut console = (!args.tui && serial == Serial::Stdio).then(Console::start);
    let mut sink = if serial == Serial::Stdio { None } else { Some(SerialSink::open(&serial)?) };
    let mut monitor = if monitor_stdio { Some(MonitorStdio::start()?) } else { None };
    let mut query = (!args.query.is_empty()).then(|| Query {
        commands: args.query.clone(),
        at_start: args.query_at_start,
        failed: false,
    });
    let started = Instant::now();
    let mut frontends: Vec<&mut dyn Frontend> = Vec::new();
    frontends.push(&mut gdb);
    if let Some(tui) = tui.as_mut() {
        frontends.push(tui);
    }
    if let Some(console) = console.as_mut() {
        frontends.push(console);
    }
    if let Some(sink) = sink.as_mut() {
        frontends.push(sink);
    }
    if let Some(monitor) = monitor.as_mut() {
        frontends.push(monitor);
    }
    if let Some(query) = query.as_mut() {
        frontends.push(query);
    }
    let mut code = session.run(&mut frontends)?;
    drop(frontends);
    // The -d log ends with the run (the process exits without running destructors).
    drop(session.machine.set_tracer(None));
    if query.as_ref().is_some_and(|q| q.failed) {
        code = 1;
    }
    drop(tui);
    drop(console);
    drop(monitor);
    session.finish()?;
    if args.stats {
        print_stats(&session.machine, started);
    }
    let at = Some((session.machine.icount(), session.machine.now()));
    Ok(Ended { code, outcome: session.outcome().cloned(), at })
}

/// `rewind query`: at the first look, moves the replay to its end (or leaves it at its start, for
/// `rewind replay --until`), answers each command there (on stdout) and ends the session; exit code 1 if a command
/// failed.
struct Query {
    commands: Vec<String>,
    at_start: bool,
    failed: bool,
}

impl Frontend for Query {
    fn poll(&mut self, session: &mut Session, _: std::time::Duration) -> Result<crate::session::Command> {
        if !self.at_start {
            let _ = session.monitor(&format!("replay goto {}", u64::MAX), &mut |_, _| {});
        }
        for command in &self.commands {
            match session.monitor_checked(command, &mut |_, _| {}) {
                Ok(answer) => print!("{answer}"),
                Err(error) => {
                    self.failed = true;
                    term::line(&format!("rewind: {command}: {}", error.trim_end()));
                }
            }
        }
        Ok(crate::session::Command::Quit(0))
    }

    fn presence(&self) -> crate::session::Presence {
        crate::session::Presence::Input
    }
}

/// The symbols of `--symbols FILE`, or of the `-kernel` file when it is an ELF that has them.
fn load_symbols(args: &MachineArgs) -> Result<Option<Symbols>> {
    if let Some(path) = &args.symbols {
        return Symbols::load(path).map(Some);
    }
    let Some(kernel) = &args.kernel else { return Ok(None) };
    let mut magic = [0u8; 4];
    let is_elf = std::fs::File::open(kernel).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic)).is_ok()
        && magic == *b"\x7fELF";
    Ok(if is_elf { Symbols::load(kernel).ok().filter(|s| s.len() > 0) } else { None })
}

/// `--stats`: instructions, virtual and wall time, speed, the JIT's figures and where each hart is.
fn print_stats(machine: &Machine, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    let icount = machine.icount();
    term::line(&format!(
        "rewind: {icount} instructions, {:.3} s virtual time, {secs:.3} s wall, {:.1} MIPS",
        machine.now() as f64 / TIMEBASE_HZ as f64,
        icount as f64 / secs / 1e6
    ));
    if let Some(j) = machine.jit_stats() {
        term::line(&format!(
            "rewind: jit: {:.1}% of instructions in translated code; {} regions ({} guest instructions, {} KiB of \
             code) in {:.3} s, {} flushes, {} refused",
            j.retired as f64 * 100.0 / icount.max(1) as f64,
            j.regions,
            j.guest_insns,
            j.code_bytes / 1024,
            j.compile_ns as f64 / 1e9,
            j.flushes,
            j.failed
        ));
    }
    for i in 0..machine.hart_count() {
        if let Some(h) = machine.hart(i) {
            term::line(&format!(
                "rewind: hart {i}: pc={:#x} ra={:#x} {:?} icount={} wfi={} mcause={:#x} scause={:#x} stval={:#x}",
                h.pc, h.x[1], h.privilege, h.icount, h.wfi, h.csr.mcause, h.csr.scause, h.csr.stval
            ));
        }
    }
}
