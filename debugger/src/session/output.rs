//! The guest's console output on its way to the terminal: the UART writes into a [`SharedOutput`], the run loop
//! drains it after each chunk.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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

    /// The flag a [`rewind_replay::Timeline`] raises while it re-runs the past.
    pub fn past_flag(&self) -> Arc<AtomicBool> {
        self.past.clone()
    }
}
