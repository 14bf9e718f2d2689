//! `rewind record` and `rewind replay`: the run loop's nondeterministic inputs go through an [`InputPath`],
//! which either applies them (a plain run) or applies and logs them (a recording); a replay applies them from
//! the log.

use crate::cli::{Cli, MachineArgs};
use anyhow::{bail, Context, Result};
use clap::Parser;
use rewind::{DeviceId, DeviceInput, Machine, StopReason, TIMEBASE_HZ};
use rewind_machines::virt::DEFAULT_FIRMWARE;
use rewind_replay::{load_events, Header, ImageHash, LogReader, LogWriter, Recorder, Timeline, TimelineStop};
use std::path::{Path, PathBuf};

/// The same fault taken this many times in a row at one instruction is a trap loop.
const TRAP_LOOP: u32 = 10_000;

/// Exit code of `rewind record` when it stopped at a detected guest failure.
pub const FAILURE_EXIT: i32 = 70;

/// Exit code of `rewind replay` when the recording ends before its recorded end (cut off or damaged).
pub const REPLAY_CUT_OFF_EXIT: i32 = 3;

/// Instructions between two state hashes in a recording.
const HASH_EVERY: u64 = 10_000_000;
/// Instructions between two checkpoints, and the memory checkpoints may use.
pub const CHECKPOINT_EVERY: u64 = 20_000_000;
pub const CHECKPOINT_BUDGET: usize = 1 << 30;

/// Where the run loop's nondeterministic inputs go.
pub enum InputPath {
    Live,
    Record(Box<Recorder>, FailureWatch),
    /// Live, with the inputs kept in memory and checkpoints taken, so execution can go backwards
    /// (`rewind run --reverse`), or a recording being replayed under gdb.
    History(Box<Timeline>),
    /// A recording's events, waiting for the machine to be built (becomes `History`), and what damage cut the
    /// recording short, if any.
    Replay {
        events: Vec<rewind_replay::Event>,
        damage: Option<String>,
    },
}

/// Detects a failing guest during a recording: console text such as `Kernel panic`, or a console silent for too
/// long (virtual time, so the detection point is the same in every replay).
pub struct FailureWatch {
    patterns: Vec<String>,
    silent_ticks: u64,
    tail: Vec<u8>,
    last_output: u64,
}

impl FailureWatch {
    pub fn new(patterns: Vec<String>, silent_secs: u64) -> FailureWatch {
        let patterns = patterns.into_iter().filter(|p| !p.is_empty()).collect();
        FailureWatch {
            patterns,
            silent_ticks: silent_secs.saturating_mul(TIMEBASE_HZ),
            tail: Vec::new(),
            last_output: 0,
        }
    }

    /// Looks at new console output and the harts; returns what failed, if anything.
    pub fn check(&mut self, output: &[u8], m: &Machine) -> Option<String> {
        let now = m.now();
        for i in 0..m.hart_count() {
            if let Some(h) = m.hart(i).filter(|h| h.fault_repeats >= TRAP_LOOP) {
                let (cause, pc) = h.last_fault;
                return Some(format!(
                    "trap loop: hart {i} took exception {cause} at pc {pc:#x} {} times in a row",
                    h.fault_repeats
                ));
            }
        }
        if !output.is_empty() {
            self.last_output = now;
            self.tail.extend_from_slice(output);
            let text = String::from_utf8_lossy(&self.tail).into_owned();
            for p in &self.patterns {
                if let Some(at) = text.find(p.as_str()) {
                    let line = text[at..].lines().next().unwrap_or(p).trim().to_string();
                    return Some(format!("console: {line}"));
                }
            }
            // Keep enough to match a pattern split across two chunks.
            let keep = self.patterns.iter().map(String::len).max().unwrap_or(0) + 200;
            if self.tail.len() > keep {
                self.tail.drain(..self.tail.len() - keep);
            }
        }
        if self.silent_ticks > 0 && now.saturating_sub(self.last_output) > self.silent_ticks {
            return Some(format!("no console output for {} s of virtual time", self.silent_ticks / TIMEBASE_HZ));
        }
        None
    }
}

/// What a forward run step ended with.
pub enum Step {
    Stop(StopReason),
    /// A replay reached the end of its recording (with the recorded reason, if it ended normally).
    HistoryEnd(Option<String>),
}

/// gdb options of `rewind replay`.
pub struct ReplayDebug {
    pub gdb_default: bool,
    pub gdb: Option<String>,
    pub freeze: bool,
}

impl InputPath {
    pub fn deliver(&mut self, m: &mut Machine, device: DeviceId, input: DeviceInput) -> Result<()> {
        match self {
            InputPath::Live => {
                m.deliver_input(device, &input);
            }
            InputPath::Record(r, _) => r.deliver(m, device, input)?,
            InputPath::History(t) => t.deliver(m, device, input),
            InputPath::Replay { .. } => {}
        }
        Ok(())
    }

    /// True when console input must not reach the guest (a replay's inputs all come from the recording).
    pub fn replaying(&mut self) -> bool {
        match self {
            InputPath::History(t) => !t.at_frontier(),
            InputPath::Record(r, _) => r.history().is_some_and(|t| !t.at_frontier()),
            InputPath::Replay { .. } => true,
            _ => false,
        }
    }

    /// Runs the machine forward at most `budget` instructions.
    pub fn run(&mut self, m: &mut Machine, budget: u64) -> Result<Step> {
        match self {
            InputPath::Live | InputPath::Replay { .. } => Ok(Step::Stop(m.run(budget))),
            InputPath::Record(r, _) => step(r.run(m, budget), m),
            InputPath::History(t) => step(t.run(m, budget), m),
        }
    }

    /// During a recording: whether the console output just produced shows a guest failure.
    pub fn check_failure(&mut self, output: &[u8], m: &Machine) -> Option<String> {
        match self {
            InputPath::Record(_, watch) => watch.check(output, m),
            _ => None,
        }
    }

    /// The in-memory history, when execution can go backwards.
    pub fn history(&mut self) -> Option<&mut Timeline> {
        match self {
            InputPath::History(t) => Some(t),
            InputPath::Record(r, _) => r.history(),
            _ => None,
        }
    }

    pub fn skip_idle(&mut self, m: &mut Machine) -> bool {
        match self {
            InputPath::Live => m.skip_idle(),
            InputPath::Record(r, _) => r.skip_idle(m),
            InputPath::History(t) => t.skip_idle(m),
            InputPath::Replay { .. } => false,
        }
    }

    /// Called after every run chunk.
    pub fn checkpoint(&mut self, m: &mut Machine) -> Result<()> {
        if let InputPath::Record(r, _) = self {
            r.checkpoint(m)?;
        }
        Ok(())
    }

    pub fn finish(self, m: &mut Machine, reason: &str) -> Result<()> {
        if let InputPath::Record(r, _) = self {
            r.finish(m, reason)?;
        }
        Ok(())
    }
}

fn step(stop: TimelineStop, m: &Machine) -> Result<Step> {
    match stop {
        TimelineStop::Machine(stop) => Ok(Step::Stop(stop)),
        TimelineStop::Diverged(why) => {
            bail!("execution diverged from the recording at instruction {}: {why}", m.icount())
        }
        TimelineStop::HistoryEnd { reason } => Ok(Step::HistoryEnd(reason)),
        TimelineStop::HistoryStart => Ok(Step::HistoryEnd(None)),
    }
}

/// The images a configuration loads, with their roles.
fn images(args: &MachineArgs) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    match args.bios.as_str() {
        "none" => {}
        "default" => out.push(("bios".to_string(), PathBuf::from(DEFAULT_FIRMWARE))),
        path => out.push(("bios".to_string(), PathBuf::from(path))),
    }
    if let Some(k) = &args.kernel {
        out.push(("kernel".into(), k.clone()));
    }
    if let Some(i) = &args.initrd {
        out.push(("initrd".into(), i.clone()));
    }
    for (i, d) in args.drives.iter().enumerate() {
        out.push((format!("drive{i}"), crate::cli::parse_drive(d)?.file));
    }
    Ok(out)
}

/// The machine options of a `record` command line: everything after `record` but the output option.
pub fn machine_argv(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = argv.iter().skip_while(|a| a.as_str() != "record").skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-o" | "--output" => {
                it.next();
            }
            _ if a.starts_with("--output=") => {}
            _ => out.push(a.clone()),
        }
    }
    out
}

/// `rewind record -o FILE <machine options>`.
pub fn record(output: &Path, args: &MachineArgs, argv: &[String], watch: FailureWatch) -> Result<i32> {
    let mut hashes = Vec::new();
    for (role, path) in images(args)? {
        hashes.push(ImageHash::of_file(&role, &path)?);
    }
    let header = Header {
        machine_args: machine_argv(argv),
        images: hashes,
        writer: format!("rewind {}", env!("CARGO_PKG_VERSION")),
    };
    let log = LogWriter::create(output, &header)?;
    let code = crate::session::run_with(args, InputPath::Record(Box::new(Recorder::new(log, HASH_EVERY)), watch))?;
    let file = output.display();
    if code == FAILURE_EXIT {
        eprintln!("rewind: the failure is recorded in {file}. Replay it with:");
        eprintln!("    rewind replay {file}");
        eprintln!("and debug it, backwards too, with:");
        eprintln!("    rewind replay {file} -s -S");
        eprintln!("    gdb-multiarch vmlinux -ex 'target remote :1234' -ex 'monitor replay goto N' (N from above)");
    } else {
        eprintln!("rewind: recording written to {file}; replay it with: rewind replay {file}");
    }
    Ok(code)
}

/// `rewind replay FILE`: re-executes a recording with no further input and checks it stays on the recorded path.
/// With gdb options the replay runs under the gdb server, which can also run it backwards.
pub fn replay(file: &Path, debug: ReplayDebug) -> Result<i32> {
    let (header, log) = LogReader::open(file)?;
    let mut argv = vec!["rewind".to_string()];
    argv.extend(header.machine_args.iter().cloned());
    let cli = Cli::try_parse_from(crate::cli::normalize_args(argv).map_err(anyhow::Error::msg)?)
        .with_context(|| format!("{}: the recorded machine options do not parse", file.display()))?;
    let args = cli.machine;
    for image in &header.images {
        let now = ImageHash::of_file(&image.role, &image.path)
            .with_context(|| format!("{}: the recording needs its {} image", file.display(), image.role))?;
        if now.sha256 != image.sha256 {
            bail!(
                "{}: the {} image {} changed since it was recorded (sha256 {} now, {} then)",
                file.display(),
                image.role,
                image.path.display(),
                &now.sha256[..16],
                &image.sha256[..16]
            );
        }
    }
    let (events, damage) = load_events(log);
    if debug.gdb_default || debug.gdb.is_some() {
        if let Some(d) = &damage {
            eprintln!("rewind: {d}; replaying what is there");
        }
    }
    // The replay's own gdb options count, not the recorded run's; the recording decides where the run ends.
    let args =
        MachineArgs { gdb_default: debug.gdb_default, gdb: debug.gdb, freeze: debug.freeze, max_insns: None, ..args };
    crate::session::run_with(&args, InputPath::Replay { events, damage })
}

/// The guest's exit code from an `End` reason (`poweroff N`).
pub fn exit_code_of(reason: &str) -> i32 {
    if reason == "guest failure" {
        return FAILURE_EXIT;
    }
    reason.strip_prefix("poweroff ").and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_options_are_the_record_arguments_without_the_output() {
        let argv: Vec<String> =
            ["rewind", "record", "-o", "x.rwd", "-m", "64M", "--output=y", "-kernel", "k"].map(String::from).to_vec();
        assert_eq!(machine_argv(&argv), ["-m", "64M", "-kernel", "k"]);
    }
}
