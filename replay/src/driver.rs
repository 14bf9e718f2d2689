//! Recording and replaying a run. Both go through the same machine entry points ([`Machine::deliver_input`],
//! [`Machine::skip_idle`]); the recorder writes down where each happened, the replayer makes them happen at the
//! same points again.

use crate::log::{Event, LogError, LogReader, LogWriter, Stamp};
use rewind::{DeviceId, DeviceInput, Machine};

/// Where a machine is in its execution.
pub fn stamp(m: &Machine) -> Stamp {
    Stamp { icount: m.icount(), vclock: m.vclock() }
}

/// Records the nondeterministic inputs of a live run.
pub struct Recorder {
    log: LogWriter,
    hash_every: u64,
    next_hash: u64,
}

impl Recorder {
    /// `hash_every`: instructions between state hashes in the log (0: none).
    pub fn new(log: LogWriter, hash_every: u64) -> Recorder {
        Recorder { log, hash_every, next_hash: hash_every }
    }

    /// Delivers `input` now and logs it.
    pub fn deliver(&mut self, m: &mut Machine, device: DeviceId, input: DeviceInput) -> Result<(), LogError> {
        self.log.push(Event::Input { at: stamp(m), device, input: input.clone() });
        m.deliver_input(device, &input);
        // Input is what a crash must not lose: it goes to disk at once.
        self.log.flush()
    }

    /// Skips idle time now and logs it.
    pub fn skip_idle(&mut self, m: &mut Machine) -> bool {
        self.log.push(Event::IdleSkip { at: stamp(m) });
        m.skip_idle()
    }

    /// Called between runs: adds a state hash when one is due and flushes the log.
    pub fn checkpoint(&mut self, m: &Machine) -> Result<(), LogError> {
        if self.hash_every > 0 && m.icount() >= self.next_hash {
            self.log.push(Event::StateHash { at: stamp(m), hash: m.cpu_hash(), parts: m.state_parts() });
            self.next_hash = m.icount() + self.hash_every;
            self.log.flush()?;
        }
        Ok(())
    }

    /// Ends the recording: a final full state hash and the reason it stopped.
    pub fn finish(mut self, m: &Machine, reason: &str) -> Result<(), LogError> {
        self.log.push(Event::StateHash { at: stamp(m), hash: m.cpu_hash(), parts: m.state_parts() });
        self.log.push(Event::End { at: stamp(m), reason: reason.to_string() });
        self.log.flush()
    }
}

/// Reads a whole recording into memory: its events, and why it ended early if it did.
pub fn load_events(mut log: LogReader) -> (Vec<Event>, Option<String>) {
    let mut events = Vec::new();
    while let Some(e) = log.next_event() {
        events.push(e);
    }
    (events, log.damage().map(String::from))
}
