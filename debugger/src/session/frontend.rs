//! How front ends (gdb, the console, the TUI) attach to a [`Session`]: one small
//! trait. The run loop polls every front end for what the machine may do, tells each where it stopped and hands
//! them its messages, without knowing which front ends they are.

use super::stop::Stop;
use super::Session;
use anyhow::Result;
use std::time::Duration;

/// What a front end lets the machine do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run at most this many instructions, then ask again (`u64::MAX`: as far as the others let it).
    Run(u64),
    /// Stand still (a debugger is looking); the front end has waited a little for its client already.
    Halt,
    /// End the session with this exit code.
    Quit(i32),
}

/// What a front end did with a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reported {
    /// Not its business: the session treats the stop itself (a poweroff ends the run, a reset reboots ...).
    Ignored,
    /// The front end took the stop (a debugger shows it and decides what runs next).
    Taken,
    /// End the session with this exit code.
    Quit(i32),
}

/// What a front end still offers a machine every hart of which sleeps with no timer armed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Presence {
    /// Nothing: such a machine can only stop.
    Gone,
    /// A debugger is attached: the machine stays up to be looked at, although it never wakes.
    Watching,
    /// Input may still come (the console's stdin is open).
    Input,
}

pub trait Frontend {
    /// Takes the front end's pending input, waiting up to `wait` for some (zero: only what is there), and acts on
    /// it through `session` (console bytes go to the guest, gdb packets are answered). Says what the machine may
    /// do next.
    fn poll(&mut self, session: &mut Session, wait: Duration) -> Result<Command>;

    /// Tells the front end where the machine stopped. Front ends that do not debug leave stops to the session.
    fn report(&mut self, _session: &mut Session, _stop: &Stop) -> Reported {
        Reported::Ignored
    }

    /// A message of the session's for the user (one line, already worded): on the terminal, unless the front end
    /// shows it elsewhere.
    fn message(&mut self, text: &str) {
        crate::term::say(text);
    }

    /// What the guest wrote to its console up to instruction count `at`. Front ends without a console ignore it.
    fn guest_output(&mut self, _bytes: &[u8], _at: u64) {}

    fn presence(&self) -> Presence;
}
