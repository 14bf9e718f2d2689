//! Recording and replaying a run. Both go through the same machine entry points ([`Machine::deliver_input`],
//! [`Machine::skip_idle`]); the recorder writes down where each happened, the replayer makes them happen at the
//! same points again.

use crate::log::{stamp, Event, LogError, LogReader, LogWriter, Record};
use crate::timeline::{Timeline, TimelineStop};
use rewind::{DeviceId, DeviceInput, Machine};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The most host time a crash of the recorder may lose: the log gets a frame at least this often.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Records the nondeterministic inputs of a live run. With a history ([`Recorder::with_history`]) it also keeps
/// checkpoints and the inputs in memory, so the run being recorded can be debugged backwards too.
pub struct Recorder {
    log: LogWriter,
    hash_every: u64,
    next_hash: u64,
    history: Option<Timeline>,
    /// When the log last got a frame.
    flushed: Instant,
}

impl Recorder {
    /// `hash_every`: instructions between state hashes in the log (0: none).
    pub fn new(log: LogWriter, hash_every: u64) -> Recorder {
        Recorder { log, hash_every, next_hash: hash_every, history: None, flushed: Instant::now() }
    }

    /// Keeps checkpoints every `interval` instructions (within `budget` bytes) while recording.
    pub fn with_history(mut self, m: &mut Machine, interval: u64, budget: usize) -> Recorder {
        self.history = Some(Timeline::new(m, Vec::new(), false, interval, budget));
        self
    }

    pub fn history(&mut self) -> Option<&mut Timeline> {
        self.history.as_mut()
    }

    /// True while execution is back in the recorded past (nothing new may be logged there).
    fn in_the_past(&self) -> bool {
        self.history.as_ref().is_some_and(|t| !t.at_frontier())
    }

    /// Runs forward (through the history when there is one).
    pub fn run(&mut self, m: &mut Machine, budget: u64) -> TimelineStop {
        match self.history.as_mut() {
            Some(t) => t.run(m, budget),
            None => TimelineStop::Machine(m.run(budget)),
        }
    }

    /// Delivers `input` now and logs it.
    pub fn deliver(&mut self, m: &mut Machine, device: DeviceId, input: DeviceInput) -> Result<(), LogError> {
        if self.in_the_past() {
            return Ok(());
        }
        self.log.push(Event::Input { at: stamp(m), device, input: input.clone() });
        match self.history.as_mut() {
            Some(t) => t.deliver(m, device, input),
            None => {
                m.deliver_input(device, &input);
            }
        }
        // Input is what a crash must not lose: it goes to disk at once.
        self.flush()
    }

    /// Skips idle time now (to the next timer event) and logs it.
    pub fn skip_idle(&mut self, m: &mut Machine) -> bool {
        self.idle(m, None)
    }

    /// Moves idle time on to `ticks` at most (see [`Machine::skip_idle_until`]) and logs it.
    pub fn skip_idle_until(&mut self, m: &mut Machine, ticks: u64) -> bool {
        self.idle(m, Some(ticks))
    }

    fn idle(&mut self, m: &mut Machine, until: Option<u64>) -> bool {
        if self.in_the_past() {
            return false;
        }
        let at = stamp(m);
        let skipped = match self.history.as_mut() {
            Some(t) => t.idle(m, until),
            None => crate::timeline::skip_idle(m, until),
        };
        if skipped {
            self.log.push(Event::idle(at, until));
        }
        skipped
    }

    /// Called between runs: adds a state hash when one is due, or when the log has not had a frame for
    /// [`FLUSH_EVERY`] of host time, and flushes the log. A replay stops at the last event of the last complete
    /// frame, so this bounds what a crash of the recorder can lose, whatever the guest does (an idle guest
    /// executes few instructions and would otherwise go long without a hash).
    pub fn checkpoint(&mut self, m: &mut Machine) -> Result<(), LogError> {
        if self.in_the_past() {
            return Ok(());
        }
        let hash_due = self.hash_every > 0 && m.icount() >= self.next_hash;
        if hash_due || self.flushed.elapsed() >= FLUSH_EVERY {
            self.log.push(state_hash(m));
            self.next_hash = m.icount() + self.hash_every;
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), LogError> {
        self.flushed = Instant::now();
        self.log.flush()
    }

    /// Ends the recording: a final full state hash and the reason it stopped.
    pub fn finish(mut self, m: &mut Machine, reason: &str) -> Result<(), LogError> {
        if self.in_the_past() {
            // The recording ends at its frontier, not where a reverse debugging session left the machine.
            return self.log.flush();
        }
        self.log.push(state_hash(m));
        self.log.push(Event::End { at: stamp(m), reason: reason.to_string() });
        self.log.flush()
    }
}

/// The state hash event for `m` now: harts and devices, and the RAM pages written since the last one.
fn state_hash(m: &mut Machine) -> Event {
    let ram_pages = m
        .take_pages_written_since_hash()
        .into_iter()
        .filter_map(|p| Some((p as u32, m.ram_page_hash(p)? as u32)))
        .collect();
    Event::StateHash { at: stamp(m), hash: m.cpu_hash(), parts: m.state_parts(), ram_pages }
}

/// A recording read whole.
#[derive(Default)]
pub struct Loaded {
    /// The events, in execution order.
    pub events: Vec<Event>,
    /// The embedded images (a bundled recording), by their index in the header.
    pub images: BTreeMap<u32, Vec<u8>>,
    /// For writable disks, what ranges held before the recorded run first overwrote them, by image index.
    pub disk_originals: BTreeMap<u32, Vec<(u64, Vec<u8>)>>,
    /// Why the recording ends early, if it does.
    pub damage: Option<String>,
}

/// Reads a whole recording into memory.
pub fn load(mut log: LogReader) -> Loaded {
    let mut loaded = Loaded::default();
    while let Some(record) = log.next_record() {
        match record {
            Record::Event(e) => loaded.events.push(e),
            Record::ImageChunk { image, offset, data } => {
                let image = loaded.images.entry(image).or_default();
                let end = offset.saturating_add(data.len() as u64) as usize;
                if end > image.len() {
                    image.resize(end, 0);
                }
                image[offset as usize..end].copy_from_slice(&data);
            }
            Record::DiskOriginal { image, offset, data } => {
                loaded.disk_originals.entry(image).or_default().push((offset, data));
            }
        }
    }
    loaded.damage = log.damage().map(String::from);
    loaded
}
