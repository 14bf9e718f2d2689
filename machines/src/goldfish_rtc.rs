//! Google goldfish RTC ("google,goldfish-rtc") as QEMU implements it.
//!
//! | offset | register |
//! |---|---|
//! | 0x00 | `TIME_LOW`: low 32 bits of the time in ns; reading it latches the high half |
//! | 0x04 | `TIME_HIGH`: the latched high half |
//! | 0x08 | `ALARM_LOW`: writing it arms the alarm at `ALARM_HIGH:value` |
//! | 0x0c | `ALARM_HIGH` |
//! | 0x10 | `IRQ_ENABLED` (bit 0) |
//! | 0x14 | `CLEAR_ALARM` (write: disarm) |
//! | 0x18 | `ALARM_STATUS` (1 while armed) |
//! | 0x1c | `CLEAR_INTERRUPT` (write: drop the interrupt) |
//!
//! Time in ns = the start time given at construction (from the config or the replay log: never the host clock)
//! + virtual time (`bus.now()` ticks of 100 ns) + an offset the guest sets by writing `TIME_LOW`/`TIME_HIGH`.

use crate::fdt::{FdtDevice, FdtNode, FdtWiring};
use rewind::device::{any_state, decode_state, encode_state, RestoreError};
use rewind::{Device, DeviceBus};
use serde::{Deserialize, Serialize};

use crate::regs::extract;

pub const TIME_LOW: u64 = 0x00;
pub const TIME_HIGH: u64 = 0x04;
pub const ALARM_LOW: u64 = 0x08;
pub const ALARM_HIGH: u64 = 0x0c;
pub const IRQ_ENABLED: u64 = 0x10;
pub const CLEAR_ALARM: u64 = 0x14;
pub const ALARM_STATUS: u64 = 0x18;
pub const CLEAR_INTERRUPT: u64 = 0x1c;
/// Nanoseconds per virtual-time tick (10 MHz).
pub const NS_PER_TICK: u64 = 100;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldfishRtcState {
    /// Guest time at virtual time 0, in ns since the epoch (start time plus any guest adjustment).
    pub base_ns: u64,
    pub time_high: u32,
    pub alarm_next: u64,
    pub alarm_running: bool,
    pub irq_pending: bool,
    pub irq_enabled: bool,
}

pub struct GoldfishRtc {
    state: GoldfishRtcState,
    irq: u32,
}

impl GoldfishRtc {
    /// An RTC reading `start_ns` (ns since the epoch) at virtual time 0, raising platform line `irq`.
    pub fn new(start_ns: u64, irq: u32) -> GoldfishRtc {
        GoldfishRtc { state: GoldfishRtcState { base_ns: start_ns, ..Default::default() }, irq }
    }

    pub fn state(&self) -> &GoldfishRtcState {
        &self.state
    }

    fn time_ns(&self, now: u64) -> u64 {
        self.state.base_ns.wrapping_add(now.wrapping_mul(NS_PER_TICK))
    }

    fn set_time(&mut self, now: u64, ns: u64) {
        self.state.base_ns = ns.wrapping_sub(now.wrapping_mul(NS_PER_TICK));
    }

    /// Fires the alarm if it is due, then drives the line.
    fn update(&mut self, bus: &mut DeviceBus) {
        if self.state.alarm_running && self.time_ns(bus.now()) >= self.state.alarm_next {
            self.state.alarm_running = false;
            self.state.irq_pending = true;
        }
        bus.set_irq(self.irq, self.state.irq_pending && self.state.irq_enabled);
    }
}

impl Device for GoldfishRtc {
    fn kind(&self) -> &'static str {
        "goldfish_rtc"
    }

    /// The alarm and interrupt go; the time the guest set stays, as a battery-backed clock's does.
    fn reset(&mut self) {
        self.state = GoldfishRtcState { base_ns: self.state.base_ns, ..GoldfishRtcState::default() };
    }

    fn read(&mut self, offset: u64, size: u8, bus: &mut DeviceBus) -> u64 {
        let reg = offset & !3;
        let value: u32 = match reg {
            TIME_LOW => {
                let t = self.time_ns(bus.now());
                self.state.time_high = (t >> 32) as u32;
                t as u32
            }
            TIME_HIGH => self.state.time_high,
            ALARM_LOW => self.state.alarm_next as u32,
            ALARM_HIGH => (self.state.alarm_next >> 32) as u32,
            IRQ_ENABLED => u32::from(self.state.irq_enabled),
            ALARM_STATUS => u32::from(self.state.alarm_running),
            _ => 0,
        };
        extract(u64::from(value), offset & 3, size)
    }

    fn write(&mut self, offset: u64, _size: u8, value: u64, bus: &mut DeviceBus) {
        let v = value as u32;
        match offset {
            TIME_LOW => {
                let t = self.time_ns(bus.now());
                self.set_time(bus.now(), (t & !0xffff_ffff) | u64::from(v));
            }
            TIME_HIGH => {
                let t = self.time_ns(bus.now());
                self.set_time(bus.now(), (t & 0xffff_ffff) | (u64::from(v) << 32));
            }
            ALARM_LOW => {
                self.state.alarm_next = (self.state.alarm_next & !0xffff_ffff) | u64::from(v);
                self.state.alarm_running = true;
            }
            ALARM_HIGH => self.state.alarm_next = (self.state.alarm_next & 0xffff_ffff) | (u64::from(v) << 32),
            IRQ_ENABLED => self.state.irq_enabled = v & 1 != 0,
            CLEAR_ALARM => self.state.alarm_running = false,
            CLEAR_INTERRUPT => self.state.irq_pending = false,
            _ => {}
        }
        self.update(bus);
    }

    fn tick(&mut self, bus: &mut DeviceBus) {
        self.update(bus);
    }

    fn next_deadline(&self) -> Option<u64> {
        if !self.state.alarm_running {
            return None;
        }
        // First tick t with base + 100 t >= alarm (0 if already due).
        let delta = self.state.alarm_next.saturating_sub(self.state.base_ns);
        Some(delta.div_ceil(NS_PER_TICK))
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&self.state)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        // Any time, alarm and flag values are states the RTC can be in (an alarm may have fired while disabled).
        self.state = decode_state(self.kind(), state, any_state)?;
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let s = &self.state;
        vec![
            ("base_ns".into(), s.base_ns.to_string()),
            ("alarm".into(), format!("{} ({})", s.alarm_next, if s.alarm_running { "armed" } else { "off" })),
            ("irq_enabled".into(), u8::from(s.irq_enabled).to_string()),
            ("irq_pending".into(), u8::from(s.irq_pending).to_string()),
        ]
    }
}

impl FdtDevice for GoldfishRtc {
    fn fdt_node(&self) -> Option<FdtNode> {
        Some(FdtNode {
            name: "rtc",
            compatible: &["google,goldfish-rtc"],
            wiring: FdtWiring::Line(Some(self.irq)),
            cells: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbus::TestBus;

    const START: u64 = 1_700_000_000_000_000_000;

    #[test]
    fn time_is_start_plus_virtual_time_and_low_read_latches_high() {
        let mut t = TestBus::new(1);
        let mut rtc = GoldfishRtc::new(START, 11);
        t.now = 10_000_000; // one second
        let expect = START + 1_000_000_000;
        let lo = rtc.read(TIME_LOW, 4, &mut t.bus());
        t.now += 1 << 40; // time moves on, the latched high half does not
        let hi = rtc.read(TIME_HIGH, 4, &mut t.bus());
        assert_eq!((hi << 32) | lo, expect);
    }

    #[test]
    fn guest_can_set_the_time() {
        let mut t = TestBus::new(1);
        let mut rtc = GoldfishRtc::new(START, 11);
        t.now = 50;
        rtc.write(TIME_HIGH, 4, 0, &mut t.bus());
        rtc.write(TIME_LOW, 4, 1000, &mut t.bus());
        t.now = 60;
        assert_eq!(rtc.read(TIME_LOW, 4, &mut t.bus()), 2000);
        assert_eq!(rtc.read(TIME_HIGH, 4, &mut t.bus()), 0);
    }

    #[test]
    fn alarm_fires_at_its_time_and_raises_line_11_when_enabled() {
        let mut t = TestBus::new(1);
        let mut rtc = GoldfishRtc::new(START, 11);
        let at = START + 1000; // 10 ticks
        rtc.write(IRQ_ENABLED, 4, 1, &mut t.bus());
        rtc.write(ALARM_HIGH, 4, at >> 32, &mut t.bus());
        rtc.write(ALARM_LOW, 4, at & 0xffff_ffff, &mut t.bus());
        assert_eq!(rtc.read(ALARM_STATUS, 4, &mut t.bus()), 1);
        assert_eq!(rtc.next_deadline(), Some(10));
        t.now = 9;
        rtc.tick(&mut t.bus());
        assert!(!t.line(11));
        t.now = 10;
        rtc.tick(&mut t.bus());
        assert!(t.line(11));
        assert_eq!(rtc.read(ALARM_STATUS, 4, &mut t.bus()), 0);
        assert_eq!(rtc.next_deadline(), None);
        rtc.write(CLEAR_INTERRUPT, 4, 1, &mut t.bus());
        assert!(!t.line(11));
    }

    #[test]
    fn alarm_in_the_past_fires_at_once_and_disabled_irq_keeps_line_low() {
        let mut t = TestBus::new(1);
        let mut rtc = GoldfishRtc::new(START, 11);
        t.now = 100;
        rtc.write(ALARM_HIGH, 4, START >> 32, &mut t.bus());
        rtc.write(ALARM_LOW, 4, START & 0xffff_ffff, &mut t.bus());
        assert!(!t.line(11), "IRQ_ENABLED is 0");
        assert!(rtc.state().irq_pending);
        rtc.write(IRQ_ENABLED, 4, 1, &mut t.bus());
        assert!(t.line(11));
    }

    #[test]
    fn clear_alarm_disarms() {
        let mut t = TestBus::new(1);
        let mut rtc = GoldfishRtc::new(START, 11);
        rtc.write(ALARM_HIGH, 4, u64::from(u32::MAX), &mut t.bus());
        rtc.write(ALARM_LOW, 4, 0, &mut t.bus());
        assert!(rtc.next_deadline().is_some());
        rtc.write(CLEAR_ALARM, 4, 1, &mut t.bus());
        assert_eq!(rtc.next_deadline(), None);
        assert_eq!(rtc.read(0x20, 4, &mut t.bus()), 0);
        assert_eq!(rtc.read(0xffc, 8, &mut t.bus()), 0);
    }

    #[test]
    fn state_round_trips() {
        let mut t = TestBus::new(1);
        let mut rtc = GoldfishRtc::new(START, 11);
        rtc.write(IRQ_ENABLED, 4, 1, &mut t.bus());
        rtc.write(ALARM_LOW, 4, 5, &mut t.bus());
        let mut other = GoldfishRtc::new(0, 11);
        other.restore(&rtc.save()).unwrap();
        assert_eq!(other.state(), rtc.state());
        assert!(other.restore(&[1]).is_err());
    }
}
