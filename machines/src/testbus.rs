//! A [`DeviceBus`] owner for device unit tests.

use rewind::device::Signals;
use rewind::{DeviceBus, PowerRequest, Ram};

/// Owns everything a [`DeviceBus`] borrows, for device unit tests.
pub struct TestBus {
    pub now: u64,
    pub ram: Ram,
    pub signals: Signals,
}

impl TestBus {
    pub fn new(harts: usize) -> TestBus {
        TestBus { now: 0, ram: Ram::new(0x8000_0000, 0x1000).unwrap(), signals: Signals::new(harts) }
    }

    pub fn bus(&mut self) -> DeviceBus<'_> {
        DeviceBus::new(self.now, &mut self.ram, &mut self.signals)
    }

    pub fn line(&self, line: u32) -> bool {
        self.signals.lines().level(line)
    }

    /// Each hart's local interrupt lines.
    pub fn hart_irqs(&self) -> Vec<u64> {
        self.signals.hart_lines().to_vec()
    }

    pub fn power(&self) -> Option<PowerRequest> {
        self.signals.power()
    }
}
