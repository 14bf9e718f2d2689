//! SiFive PLIC as QEMU's `virt` configures it: 96 sources (0 is reserved, 1..=95 usable), priorities 0..=7,
//! two contexts per hart (context `2h` is hart h's M mode and drives MEIP, `2h+1` its S mode and drives SEIP).
//!
//! | offset | register |
//! |---|---|
//! | `4*src` | priority of `src` |
//! | `0x1000 + 4*w` | pending bits of sources `32w..32w+31` (read-only) |
//! | `0x2000 + 0x80*ctx + 4*w` | enable bits of context `ctx` |
//! | `0x200000 + 0x1000*ctx` | priority threshold of `ctx` |
//! | `0x200004 + 0x1000*ctx` | claim (read) / complete (write) |
//!
//! Gateways behave as QEMU's: a source becomes pending when a device raises its line and stops being pending when
//! the line falls or the source is claimed; a complete only ends the claim. A line left high through a claim and
//! complete therefore makes no new request until it falls and rises again (a real PLIC's level-triggered gateway
//! would request again at once; QEMU's does not, and guests written against QEMU, which leave a UART's
//! transmit-empty interrupt asserted, would otherwise take an endless storm of interrupts). A context's interrupt
//! is asserted while some pending, unclaimed, enabled source has a priority above the context's threshold.

use crate::fdt::{FdtDevice, FdtNode, FdtWiring};
use rewind::arch::riscv::mip;
use rewind::device::{decode_state, encode_state, RestoreError};
use rewind::{Device, DeviceBus};
use serde::{Deserialize, Serialize};

use crate::regs::{extract, merge};

/// Sources including the reserved source 0.
pub const NUM_SOURCES: usize = 96;
const WORDS: usize = NUM_SOURCES / 32;
pub const PRIORITY_MASK: u32 = 7;
pub const PENDING_BASE: u64 = 0x1000;
pub const ENABLE_BASE: u64 = 0x2000;
pub const ENABLE_STRIDE: u64 = 0x80;
pub const CONTEXT_BASE: u64 = 0x20_0000;
pub const CONTEXT_STRIDE: u64 = 0x1000;

/// Guest-visible state. `Default` has no contexts; use [`PlicState::reset`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlicState {
    pub priority: Vec<u32>,
    pub pending: [u32; WORDS],
    pub claimed: [u32; WORDS],
    /// Input line levels as last sampled.
    pub levels: [u32; WORDS],
    /// Per context, `WORDS` enable words.
    pub enable: Vec<[u32; WORDS]>,
    pub threshold: Vec<u32>,
}

impl PlicState {
    pub fn reset(harts: usize) -> PlicState {
        let contexts = 2 * harts;
        PlicState {
            priority: vec![0; NUM_SOURCES],
            pending: [0; WORDS],
            claimed: [0; WORDS],
            levels: [0; WORDS],
            enable: vec![[0; WORDS]; contexts],
            threshold: vec![0; contexts],
        }
    }
}

/// The privilege mode of context `ctx`: `2h` is hart h's M mode, `2h+1` its S mode.
fn context_mode(ctx: usize) -> &'static str {
    if ctx.is_multiple_of(2) {
        "M"
    } else {
        "S"
    }
}

fn set_bit(words: &mut [u32; WORDS], src: usize, value: bool) {
    if value {
        words[src / 32] |= 1 << (src % 32);
    } else {
        words[src / 32] &= !(1 << (src % 32));
    }
}

pub struct Plic {
    state: PlicState,
}

impl Plic {
    pub fn new(harts: usize) -> Plic {
        Plic { state: PlicState::reset(harts.clamp(1, 512)) }
    }

    pub fn state(&self) -> &PlicState {
        &self.state
    }

    fn contexts(&self) -> usize {
        self.state.threshold.len()
    }

    /// Takes the lines' levels and the raises since the last sample: a raise makes its source pending, a low line
    /// withdraws the request.
    fn sample_lines(&mut self, bus: &mut DeviceBus) {
        let rises = [bus.take_irq_rises(0), bus.take_irq_rises(1)];
        for w in 0..WORDS {
            let shift = 32 * (w % 2);
            let level = (bus.irq_lines().word(w / 2) >> shift) as u32;
            let rose = rises.get(w / 2).map_or(0, |r| (r >> shift) as u32);
            self.state.levels[w] = level;
            self.state.pending[w] = (self.state.pending[w] | rose) & level;
        }
        self.state.levels[0] &= !1;
        self.state.pending[0] &= !1;
    }

    /// The best pending, enabled source of `ctx` above its threshold (highest priority, lowest id on ties).
    fn best(&self, ctx: usize) -> Option<usize> {
        let enable = self.state.enable.get(ctx)?;
        let threshold = self.state.threshold[ctx];
        let mut best: Option<(usize, u32)> = None;
        // Word by word: this runs at every device tick, and almost always nothing is pending.
        for (word, ((&pending, &claimed), &enabled)) in
            self.state.pending.iter().zip(&self.state.claimed).zip(enable).enumerate()
        {
            let mut candidates = pending & !claimed & enabled;
            while candidates != 0 {
                let src = word * 32 + candidates.trailing_zeros() as usize;
                candidates &= candidates - 1;
                let prio = self.state.priority.get(src).copied().unwrap_or(0);
                if src != 0 && prio > threshold && !matches!(best, Some((_, p)) if p >= prio) {
                    best = Some((src, prio));
                }
            }
        }
        best.map(|(src, _)| src)
    }

    fn update_outputs(&self, bus: &mut DeviceBus) {
        for ctx in 0..self.contexts() {
            let bits = if ctx % 2 == 0 { mip::MEIP } else { mip::SEIP };
            bus.set_hart_irq(ctx / 2, bits, self.best(ctx).is_some());
        }
    }

    fn claim(&mut self, ctx: usize) -> u32 {
        match self.best(ctx) {
            Some(src) => {
                set_bit(&mut self.state.claimed, src, true);
                set_bit(&mut self.state.pending, src, false);
                src as u32
            }
            None => 0,
        }
    }

    fn complete(&mut self, src: u64) {
        if (1..NUM_SOURCES as u64).contains(&src) {
            set_bit(&mut self.state.claimed, src as usize, false);
        }
    }

    /// The 32-bit register at aligned `offset`, without side effects (claim reads as 0 here).
    fn peek(&self, offset: u64) -> u32 {
        let s = &self.state;
        if offset < 4 * NUM_SOURCES as u64 {
            return s.priority[(offset / 4) as usize];
        }
        if (PENDING_BASE..PENDING_BASE + 4 * WORDS as u64).contains(&offset) {
            return s.pending[((offset - PENDING_BASE) / 4) as usize];
        }
        if let Some((ctx, w)) = self.enable_word(offset) {
            return s.enable[ctx][w];
        }
        if let Some((ctx, reg)) = self.context_reg(offset) {
            if reg == 0 {
                return s.threshold[ctx];
            }
        }
        0
    }

    fn enable_word(&self, offset: u64) -> Option<(usize, usize)> {
        if !(ENABLE_BASE..CONTEXT_BASE).contains(&offset) {
            return None;
        }
        let rel = offset - ENABLE_BASE;
        let (ctx, w) = ((rel / ENABLE_STRIDE) as usize, ((rel % ENABLE_STRIDE) / 4) as usize);
        (ctx < self.contexts() && w < WORDS).then_some((ctx, w))
    }

    /// `(ctx, 0 = threshold | 1 = claim/complete)`.
    fn context_reg(&self, offset: u64) -> Option<(usize, u64)> {
        let rel = offset.checked_sub(CONTEXT_BASE)?;
        let (ctx, reg) = ((rel / CONTEXT_STRIDE) as usize, (rel % CONTEXT_STRIDE) / 4);
        (ctx < self.contexts() && reg < 2).then_some((ctx, reg))
    }

    fn read_word(&mut self, offset: u64) -> u32 {
        match self.context_reg(offset) {
            Some((ctx, 1)) => self.claim(ctx),
            _ => self.peek(offset),
        }
    }

    fn write_word(&mut self, offset: u64, value: u32) {
        if offset < 4 * NUM_SOURCES as u64 {
            if offset >= 4 {
                self.state.priority[(offset / 4) as usize] = value & PRIORITY_MASK;
            }
        } else if let Some((ctx, w)) = self.enable_word(offset) {
            self.state.enable[ctx][w] = if w == 0 { value & !1 } else { value };
        } else if let Some((ctx, reg)) = self.context_reg(offset) {
            if reg == 0 {
                self.state.threshold[ctx] = value & PRIORITY_MASK;
            } else {
                self.complete(u64::from(value));
            }
        }
        // Pending bits are read-only; everything else is unassigned.
    }
}

impl Device for Plic {
    fn kind(&self) -> &'static str {
        "sifive_plic"
    }

    fn reset(&mut self) {
        self.state = PlicState::reset(self.contexts() / 2);
    }

    fn read(&mut self, offset: u64, size: u8, bus: &mut DeviceBus) -> u64 {
        let aligned = offset & !3;
        let value = if size > 4 {
            let lo = u64::from(self.read_word(aligned));
            let hi = u64::from(self.read_word(aligned + 4));
            extract(lo | (hi << 32), offset & 3, size)
        } else {
            extract(u64::from(self.read_word(aligned)), offset & 3, size)
        };
        self.update_outputs(bus);
        value
    }

    fn write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        let aligned = offset & !3;
        let old = u64::from(self.peek(aligned)) | (u64::from(self.peek(aligned + 4)) << 32);
        let new = merge(old, offset & 3, size, value);
        self.write_word(aligned, new as u32);
        if (offset & 3) + u64::from(size) > 4 {
            self.write_word(aligned + 4, (new >> 32) as u32);
        }
        self.update_outputs(bus);
    }

    fn tick(&mut self, bus: &mut DeviceBus) {
        self.sample_lines(bus);
        self.update_outputs(bus);
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&self.state)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        let n = self.contexts();
        self.state = decode_state(self.kind(), state, |s: &PlicState| {
            if s.priority.len() != NUM_SOURCES || s.enable.len() != n || s.threshold.len() != n {
                return Err(format!("state has {} contexts, this PLIC has {n}", s.threshold.len()));
            }
            Ok(())
        })?;
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let s = &self.state;
        let mut out = vec![
            ("pending".to_string(), format!("{:08x}_{:08x}_{:08x}", s.pending[2], s.pending[1], s.pending[0])),
            ("claimed".to_string(), format!("{:08x}_{:08x}_{:08x}", s.claimed[2], s.claimed[1], s.claimed[0])),
        ];
        let prios: Vec<String> =
            (1..NUM_SOURCES).filter(|&i| s.priority[i] != 0).map(|i| format!("{i}:{}", s.priority[i])).collect();
        out.push(("priority".into(), prios.join(" ")));
        for ctx in 0..self.contexts() {
            let e = s.enable[ctx];
            let mode = context_mode(ctx);
            out.push((
                format!("ctx{ctx} (hart {} {mode})", ctx / 2),
                format!("enable={:08x}_{:08x}_{:08x} threshold={}", e[2], e[1], e[0], s.threshold[ctx]),
            ));
        }
        out
    }

    fn pic_info(&self) -> Option<String> {
        let s = &self.state;
        let bit = |words: &[u32; WORDS], src: usize| words[src / 32] & (1 << (src % 32)) != 0;
        let mut out = String::from("source priority line pending claimed enabled in\n");
        for src in 1..NUM_SOURCES {
            let (level, pending, claimed) = (bit(&s.levels, src), bit(&s.pending, src), bit(&s.claimed, src));
            let enabled: Vec<String> = (0..self.contexts())
                .filter(|&ctx| bit(&s.enable[ctx], src))
                .map(|ctx| format!("hart{}.{}", ctx / 2, context_mode(ctx)))
                .collect();
            // Linux gives every source a priority; the sources that matter are enabled somewhere or active.
            if !level && !pending && !claimed && enabled.is_empty() {
                continue;
            }
            let yes_no = |b: bool| if b { "yes" } else { "no" };
            out.push_str(&format!(
                "{src:>6} {:>8} {:<4} {:<7} {:<7} {}\n",
                s.priority[src],
                if level { "high" } else { "low" },
                yes_no(pending),
                yes_no(claimed),
                if enabled.is_empty() { "-".to_string() } else { enabled.join(" ") }
            ));
        }
        for ctx in 0..self.contexts() {
            let mode = context_mode(ctx);
            out.push_str(&format!("context {ctx} (hart {} {mode}): threshold {}\n", ctx / 2, s.threshold[ctx]));
        }
        Some(out)
    }
}

impl FdtDevice for Plic {
    fn fdt_node(&self) -> Option<FdtNode> {
        const MACHINE_EXTERNAL: u32 = 11;
        const SUPERVISOR_EXTERNAL: u32 = 9;
        Some(FdtNode {
            name: "plic",
            compatible: &["sifive,plic-1.0.0", "riscv,plic0"],
            // Source 0 means "no interrupt", so the guest may use 1..NUM_SOURCES.
            wiring: FdtWiring::Controller {
                sources: NUM_SOURCES as u32 - 1,
                causes: &[MACHINE_EXTERNAL, SUPERVISOR_EXTERNAL],
            },
            cells: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbus::TestBus;

    const CLAIM0: u64 = CONTEXT_BASE + 4;

    fn raise(t: &mut TestBus, p: &mut Plic, line: u32, level: bool) {
        t.bus().set_irq(line, level);
        p.tick(&mut t.bus());
    }

    /// A PLIC with sources 10 and 11 at `prio`, enabled for context `ctx`.
    fn setup(harts: usize, ctx: u64, prio: u64) -> (TestBus, Plic) {
        let mut t = TestBus::new(harts);
        let mut p = Plic::new(harts);
        p.write(4 * 10, 4, prio, &mut t.bus());
        p.write(4 * 11, 4, prio, &mut t.bus());
        p.write(ENABLE_BASE + ENABLE_STRIDE * ctx, 4, (1 << 10) | (1 << 11), &mut t.bus());
        (t, p)
    }

    #[test]
    fn a_high_enabled_line_above_threshold_raises_meip_and_is_claimed_once() {
        let (mut t, mut p) = setup(1, 0, 1);
        raise(&mut t, &mut p, 10, true);
        assert_eq!(p.read(PENDING_BASE, 4, &mut t.bus()), 1 << 10);
        assert_eq!(t.hart_irqs()[0], mip::MEIP);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 10);
        assert_eq!(t.hart_irqs()[0], 0, "claimed source no longer interrupts");
        assert_eq!(p.read(PENDING_BASE, 4, &mut t.bus()), 0);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 0, "nothing left to claim");
        p.tick(&mut t.bus());
        assert_eq!(t.hart_irqs()[0], 0, "line still high but claimed: not pending");
    }

    #[test]
    fn complete_leaves_a_line_still_high_alone_until_it_is_raised_again() {
        let (mut t, mut p) = setup(1, 0, 1);
        raise(&mut t, &mut p, 10, true);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 10);
        p.write(CLAIM0, 4, 10, &mut t.bus());
        p.tick(&mut t.bus());
        assert_eq!(t.hart_irqs()[0], 0, "QEMU's PLIC: no new request without a new raise");
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 0);
        // Re-raising the line (the device asserting it anew) requests again.
        raise(&mut t, &mut p, 10, false);
        raise(&mut t, &mut p, 10, true);
        assert_eq!(t.hart_irqs()[0], mip::MEIP);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 10);
    }

    #[test]
    fn a_line_that_falls_and_rises_while_claimed_or_between_samples_requests_again() {
        let (mut t, mut p) = setup(1, 0, 1);
        raise(&mut t, &mut p, 10, true);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 10);
        // Within one device access (no tick between): a UART's THR write drops and raises THRE.
        t.bus().set_irq(10, false);
        t.bus().set_irq(10, true);
        p.tick(&mut t.bus());
        assert_eq!(t.hart_irqs()[0], 0, "still claimed");
        assert_eq!(p.read(PENDING_BASE, 4, &mut t.bus()), 1 << 10, "but pending");
        p.write(CLAIM0, 4, 10, &mut t.bus());
        assert_eq!(t.hart_irqs()[0], mip::MEIP, "delivered once the claim ends");
    }

    #[test]
    fn a_line_dropped_before_the_claim_withdraws_the_request() {
        let (mut t, mut p) = setup(1, 0, 1);
        raise(&mut t, &mut p, 11, true);
        raise(&mut t, &mut p, 11, false);
        assert_eq!(t.hart_irqs()[0], 0);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 0);
    }

    #[test]
    fn claim_picks_highest_priority_then_lowest_id() {
        let (mut t, mut p) = setup(1, 0, 1);
        p.write(4 * 12, 4, 1, &mut t.bus());
        p.write(ENABLE_BASE, 4, (1 << 10) | (1 << 11) | (1 << 12), &mut t.bus());
        for line in [10, 11, 12] {
            raise(&mut t, &mut p, line, true);
        }
        p.write(4 * 11, 4, 5, &mut t.bus());
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 11);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 10);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 12);
    }

    #[test]
    fn threshold_masks_priorities_at_or_below_it_and_priority_0_never_fires() {
        let (mut t, mut p) = setup(1, 0, 3);
        raise(&mut t, &mut p, 10, true);
        p.write(CONTEXT_BASE, 4, 3, &mut t.bus());
        assert_eq!(t.hart_irqs()[0], 0);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 0);
        p.write(CONTEXT_BASE, 4, 2, &mut t.bus());
        assert_eq!(t.hart_irqs()[0], mip::MEIP);
        p.write(4 * 10, 4, 0, &mut t.bus());
        p.write(CONTEXT_BASE, 4, 0, &mut t.bus());
        assert_eq!(t.hart_irqs()[0], 0);
        assert_eq!(p.read(CONTEXT_BASE, 4, &mut t.bus()), 0);
    }

    #[test]
    fn disabled_sources_stay_pending_but_do_not_interrupt() {
        let (mut t, mut p) = setup(1, 0, 1);
        p.write(ENABLE_BASE, 4, 0, &mut t.bus());
        raise(&mut t, &mut p, 10, true);
        assert_eq!(p.read(PENDING_BASE, 4, &mut t.bus()), 1 << 10);
        assert_eq!(t.hart_irqs()[0], 0);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 0);
    }

    #[test]
    fn sources_above_64_fire_like_any_other() {
        let mut t = TestBus::new(1);
        let mut p = Plic::new(1);
        p.write(4 * 90, 4, 1, &mut t.bus());
        p.write(ENABLE_BASE + 4 * 2, 4, 1 << (90 - 64), &mut t.bus());
        raise(&mut t, &mut p, 90, true);
        assert_eq!(p.read(PENDING_BASE + 8, 4, &mut t.bus()), 1 << (90 - 64));
        assert_eq!(t.hart_irqs()[0], mip::MEIP);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 90);
        raise(&mut t, &mut p, 96, true);
        assert_eq!(p.read(CLAIM0, 4, &mut t.bus()), 0, "a line past the PLIC's sources reaches nothing");
    }

    #[test]
    fn s_mode_context_drives_seip_of_its_hart() {
        // Context 3 = hart 1, S mode.
        let (mut t, mut p) = setup(2, 3, 1);
        raise(&mut t, &mut p, 10, true);
        assert_eq!(t.hart_irqs(), vec![0, mip::SEIP]);
        assert_eq!(p.read(CONTEXT_BASE + 2 * CONTEXT_STRIDE + 4, 4, &mut t.bus()), 0, "ctx 2 has nothing enabled");
        assert_eq!(p.read(CONTEXT_BASE + 3 * CONTEXT_STRIDE + 4, 4, &mut t.bus()), 10);
        assert_eq!(t.hart_irqs(), vec![0, 0]);
    }

    #[test]
    fn priorities_and_thresholds_keep_three_bits_and_source_0_is_hardwired() {
        let mut t = TestBus::new(1);
        let mut p = Plic::new(1);
        p.write(4 * 5, 4, 0xff, &mut t.bus());
        assert_eq!(p.read(4 * 5, 4, &mut t.bus()), 7);
        p.write(0, 4, 7, &mut t.bus());
        assert_eq!(p.read(0, 4, &mut t.bus()), 0);
        p.write(ENABLE_BASE, 4, u64::MAX, &mut t.bus());
        assert_eq!(p.read(ENABLE_BASE, 4, &mut t.bus()), 0xffff_fffe);
        p.write(CONTEXT_BASE, 4, 0x1f, &mut t.bus());
        assert_eq!(p.read(CONTEXT_BASE, 4, &mut t.bus()), 7);
    }

    #[test]
    fn unknown_offsets_and_missing_contexts_read_zero() {
        let mut t = TestBus::new(1);
        let mut p = Plic::new(1);
        for off in [0x180u64, 0x100c, 0x2100, 0x1f_fffc, CONTEXT_BASE + 2 * CONTEXT_STRIDE, 0x5f_fffc] {
            p.write(off, 4, u64::MAX, &mut t.bus());
            assert_eq!(p.read(off, 4, &mut t.bus()), 0, "offset {off:#x}");
        }
        assert_eq!(p.read(CONTEXT_BASE + 8, 8, &mut t.bus()), 0);
    }

    #[test]
    fn state_round_trips() {
        let (mut t, mut p) = setup(2, 1, 2);
        raise(&mut t, &mut p, 10, true);
        assert_eq!(p.read(CONTEXT_BASE + CONTEXT_STRIDE + 4, 4, &mut t.bus()), 10);
        let mut q = Plic::new(2);
        q.restore(&p.save()).unwrap();
        assert_eq!(q.state(), p.state());
        assert!(Plic::new(1).restore(&p.save()).is_err());
    }
}
