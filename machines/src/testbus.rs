//! A [`DeviceBus`] owner for device unit tests.

use rewind::{DeviceBus, PowerRequest, Ram};

/// Owns everything a [`DeviceBus`] borrows, for device unit tests.
pub struct TestBus {
    pub now: u64,
    pub ram: Ram,
    pub irq_lines: u64,
    pub hart_irqs: Vec<u64>,
    pub power: Option<PowerRequest>,
}

impl TestBus {
    pub fn new(harts: usize) -> TestBus {
        TestBus {
            now: 0,
            ram: Ram::new(0x8000_0000, 0x1000).unwrap(),
            irq_lines: 0,
            hart_irqs: vec![0; harts],
            power: None,
        }
    }

    pub fn bus(&mut self) -> DeviceBus<'_> {
        DeviceBus {
            now: self.now,
            ram: &mut self.ram,
            irq_lines: &mut self.irq_lines,
            hart_irqs: &mut self.hart_irqs,
            power: &mut self.power,
        }
    }

    pub fn line(&self, line: u32) -> bool {
        self.irq_lines & (1 << line) != 0
    }
}
