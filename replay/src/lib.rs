//! Deterministic record/replay. Execution is a pure function of the machine configuration, its images and the
//! log of external events, each stamped with the point of execution (instruction count and virtual clock) where
//! it took effect. Recording and replay drive the machine through the same [`rewind::Machine::deliver_input`]
//! path.

// Guest and user input must never crash the host: outside tests, a failure is an error value, not a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod checkpoint;
pub mod driver;
pub mod log;
pub mod timeline;

pub use driver::{load, Loaded, Recorder};
pub use log::{
    stamp, Event, FrameSink, Header, ImageHash, LogError, LogReader, LogWriter, Record, Stamp, FORMAT_VERSION,
};
pub use timeline::{Timeline, TimelineStop};
