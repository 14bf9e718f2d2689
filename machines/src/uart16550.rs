//! ns16550a UART as QEMU's `serial` device presents it (registers 1 byte apart, region 0x100 bytes).
//!
//! Transmit is instantaneous: a byte written to THR goes straight to the output sink (or, in loopback mode, back
//! into the receiver), so THR is always empty and LSR.THRE/TEMT always set. Received bytes arrive through
//! [`Device::input`] into an unbounded pending queue that refills the receive FIFO (16 bytes with FCR.FIFOE set,
//! else the 1-byte holding register) as the guest reads, so no typed byte is ever lost to an overrun.
//!
//! Interrupt identification follows the 16550 priorities: receiver line status (never raised: no errors are
//! emulated) > received data available (0x4) > THR empty (0x2) > modem status (0x0); none = 0x1; bits 7:6 are
//! set while the FIFOs are enabled. The THRE interrupt is raised when THR empties (after every write, and when
//! IER.ETBEI is turned on) and cleared by reading IIR while it is the reported source, or by writing THR.

use std::collections::VecDeque;
use std::io::Write;

use crate::fdt::{FdtDevice, FdtNode, FdtWiring};
use rewind::device::{decode_state, encode_state, RestoreError};
use rewind::{Device, DeviceBus, DeviceInput, InputPort};
use serde::{Deserialize, Serialize};

/// The input clock QEMU's `virt` advertises (3.6864 MHz); the guest derives its divisor latch values from it.
pub const CLOCK_FREQUENCY: u32 = 0x38_4000;

pub const RBR_THR_DLL: u64 = 0;
pub const IER_DLM: u64 = 1;
pub const IIR_FCR: u64 = 2;
pub const LCR: u64 = 3;
pub const MCR: u64 = 4;
pub const LSR: u64 = 5;
pub const MSR: u64 = 6;
pub const SCR: u64 = 7;

pub const IER_ERBFI: u8 = 0x01;
pub const IER_ETBEI: u8 = 0x02;
pub const IER_EDSSI: u8 = 0x08;
pub const IIR_NO_INT: u8 = 0x01;
pub const IIR_MSI: u8 = 0x00;
pub const IIR_THRI: u8 = 0x02;
pub const IIR_RDI: u8 = 0x04;
pub const IIR_FIFO_ENABLED: u8 = 0xc0;
pub const FCR_FIFOE: u8 = 0x01;
pub const FCR_RFR: u8 = 0x02;
pub const LCR_DLAB: u8 = 0x80;
pub const MCR_LOOP: u8 = 0x10;
pub const LSR_DR: u8 = 0x01;
pub const LSR_THRE: u8 = 0x20;
pub const LSR_TEMT: u8 = 0x40;
pub const MSR_DELTA: u8 = 0x0f;
pub const MSR_CTS: u8 = 0x10;
pub const MSR_DSR: u8 = 0x20;
pub const MSR_DCD: u8 = 0x80;
pub const FIFO_SIZE: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uart16550State {
    pub ier: u8,
    pub lcr: u8,
    pub mcr: u8,
    pub msr: u8,
    pub scr: u8,
    pub dll: u8,
    pub dlm: u8,
    /// Last value written to FCR (bit 0: FIFOs enabled; bits 7:6: RX trigger level).
    pub fcr: u8,
    pub rx_fifo: VecDeque<u8>,
    /// Received bytes not yet in the RX FIFO (unbounded: input is never dropped).
    pub rx_pending: VecDeque<u8>,
    /// THR-empty interrupt condition.
    pub thr_ipending: bool,
}

impl Default for Uart16550State {
    fn default() -> Self {
        Uart16550State {
            ier: 0,
            lcr: 0,
            mcr: 0,
            msr: MSR_DCD | MSR_DSR | MSR_CTS,
            scr: 0,
            dll: 0x0c, // 9600 baud at 1.8432 MHz, as QEMU resets it
            dlm: 0,
            fcr: 0,
            rx_fifo: VecDeque::new(),
            rx_pending: VecDeque::new(),
            thr_ipending: false,
        }
    }
}

pub struct Uart16550 {
    state: Uart16550State,
    irq: u32,
    sink: Box<dyn Write + Send>,
}

impl Uart16550 {
    /// A UART raising platform line `irq` and writing transmitted bytes to `sink`.
    pub fn new(irq: u32, sink: Box<dyn Write + Send>) -> Uart16550 {
        Uart16550 { state: Uart16550State::default(), irq, sink }
    }

    pub fn state(&self) -> &Uart16550State {
        &self.state
    }

    fn fifo_enabled(&self) -> bool {
        self.state.fcr & FCR_FIFOE != 0
    }

    fn rx_capacity(&self) -> usize {
        if self.fifo_enabled() {
            FIFO_SIZE
        } else {
            1
        }
    }

    fn refill(&mut self) {
        let cap = self.rx_capacity();
        while self.state.rx_fifo.len() < cap {
            match self.state.rx_pending.pop_front() {
                Some(b) => self.state.rx_fifo.push_back(b),
                None => break,
            }
        }
    }

    fn lsr(&self) -> u8 {
        let dr = if self.state.rx_fifo.is_empty() { 0 } else { LSR_DR };
        dr | LSR_THRE | LSR_TEMT
    }

    fn msr(&self) -> u8 {
        let s = &self.state;
        if s.mcr & MCR_LOOP != 0 {
            // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
            let m = s.mcr;
            ((m & 1) << 5) | ((m & 2) << 3) | ((m & 4) << 4) | ((m & 8) << 4) | (s.msr & MSR_DELTA)
        } else {
            s.msr
        }
    }

    /// The highest-priority interrupt source, as IIR bits 3:0.
    fn iir_source(&self) -> u8 {
        let s = &self.state;
        if s.ier & IER_ERBFI != 0 && !s.rx_fifo.is_empty() {
            IIR_RDI
        } else if s.ier & IER_ETBEI != 0 && s.thr_ipending {
            IIR_THRI
        } else if s.ier & IER_EDSSI != 0 && s.msr & MSR_DELTA != 0 {
            IIR_MSI
        } else {
            IIR_NO_INT
        }
    }

    fn update_irq(&self, bus: &mut DeviceBus) {
        bus.set_irq(self.irq, self.iir_source() != IIR_NO_INT);
    }

    fn transmit(&mut self, byte: u8) {
        if self.state.mcr & MCR_LOOP != 0 {
            self.state.rx_pending.push_back(byte);
            self.refill();
        } else {
            // A failing host sink must not stop the guest.
            let _ = self.sink.write_all(&[byte]);
            let _ = self.sink.flush();
        }
        // The transmitter is instantly empty again.
        self.state.thr_ipending = true;
    }

    fn read_reg(&mut self, reg: u64) -> u8 {
        let dlab = self.state.lcr & LCR_DLAB != 0;
        match reg {
            RBR_THR_DLL if dlab => self.state.dll,
            RBR_THR_DLL => {
                let b = self.state.rx_fifo.pop_front().unwrap_or(0);
                self.refill();
                b
            }
            IER_DLM if dlab => self.state.dlm,
            IER_DLM => self.state.ier,
            IIR_FCR => {
                let src = self.iir_source();
                if src == IIR_THRI {
                    self.state.thr_ipending = false;
                }
                src | if self.fifo_enabled() { IIR_FIFO_ENABLED } else { 0 }
            }
            LCR => self.state.lcr,
            MCR => self.state.mcr,
            LSR => self.lsr(),
            MSR => {
                let m = self.msr();
                self.state.msr &= !MSR_DELTA;
                m
            }
            SCR => self.state.scr,
            _ => 0,
        }
    }

    fn write_reg(&mut self, reg: u64, v: u8) {
        let dlab = self.state.lcr & LCR_DLAB != 0;
        match reg {
            RBR_THR_DLL if dlab => self.state.dll = v,
            // `write` has dropped THRE's interrupt as the byte went in; sending it raises it again.
            RBR_THR_DLL => self.transmit(v),
            IER_DLM if dlab => self.state.dlm = v,
            IER_DLM => {
                let was = self.state.ier;
                self.state.ier = v & 0x0f;
                // Enabling ETBEI while THR is empty (always, here) raises THRE, as on a real 16550.
                if was & IER_ETBEI == 0 && v & IER_ETBEI != 0 {
                    self.state.thr_ipending = true;
                }
            }
            IIR_FCR => {
                let toggled = (self.state.fcr ^ v) & FCR_FIFOE != 0;
                if toggled || v & FCR_RFR != 0 {
                    // Only bytes already in the FIFO are discarded; the pending queue keeps the rest.
                    self.state.rx_fifo.clear();
                }
                self.state.fcr = v & 0xc9;
                self.refill();
            }
            LCR => self.state.lcr = v,
            MCR => self.state.mcr = v & 0x1f,
            SCR => self.state.scr = v,
            _ => {}
        }
    }
}

impl Device for Uart16550 {
    fn kind(&self) -> &'static str {
        "ns16550a"
    }

    /// Input the guest had not yet taken stays queued: it is the host side's, as a chardev's is in QEMU.
    fn reset(&mut self) {
        let pending = std::mem::take(&mut self.state.rx_pending);
        self.state = Uart16550State { rx_pending: pending, ..Uart16550State::default() };
    }

    fn read(&mut self, offset: u64, size: u8, bus: &mut DeviceBus) -> u64 {
        // Byte registers: a wider access reads consecutive registers.
        let mut value = 0u64;
        for i in 0..u64::from(size.clamp(1, 8)) {
            value |= u64::from(self.read_reg(offset.wrapping_add(i))) << (8 * i);
        }
        self.update_irq(bus);
        value
    }

    fn write(&mut self, offset: u64, size: u8, value: u64, bus: &mut DeviceBus) {
        for i in 0..u64::from(size.clamp(1, 8)) {
            let reg = offset.wrapping_add(i);
            if reg == RBR_THR_DLL && self.state.lcr & LCR_DLAB == 0 {
                // As QEMU's 16550 does: the line drops while the byte is in THR and rises once it is sent, so
                // the PLIC (which requests on a raise) sees a new transmit-empty interrupt for every byte.
                self.state.thr_ipending = false;
                self.update_irq(bus);
            }
            self.write_reg(reg, (value >> (8 * i)) as u8);
        }
        self.update_irq(bus);
    }

    fn tick(&mut self, bus: &mut DeviceBus) {
        self.update_irq(bus);
    }

    fn input(&mut self, input: &DeviceInput, bus: &mut DeviceBus) -> bool {
        if input.port != InputPort::Console {
            return false;
        }
        self.state.rx_pending.extend(input.bytes.iter().copied());
        self.refill();
        self.update_irq(bus);
        true
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&self.state)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        self.state = decode_state(self.kind(), state, |s: &Uart16550State| {
            // The receive FIFO holds what its mode allows, and is topped up from the pending queue whenever it
            // has room: a state that breaks either would lose or reorder input.
            let capacity = if s.fcr & FCR_FIFOE != 0 { FIFO_SIZE } else { 1 };
            if s.rx_fifo.len() > capacity {
                return Err(format!("{} bytes in a {capacity}-byte receive FIFO", s.rx_fifo.len()));
            }
            if s.rx_fifo.len() < capacity && !s.rx_pending.is_empty() {
                return Err("received bytes wait while the receive FIFO has room".into());
            }
            Ok(())
        })?;
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        let s = &self.state;
        vec![
            ("ier".into(), format!("{:#04x}", s.ier)),
            ("iir".into(), format!("{:#04x}", self.iir_source())),
            ("fcr".into(), format!("{:#04x}", s.fcr)),
            ("lcr".into(), format!("{:#04x}", s.lcr)),
            ("mcr".into(), format!("{:#04x}", s.mcr)),
            ("lsr".into(), format!("{:#04x}", self.lsr())),
            ("msr".into(), format!("{:#04x}", self.msr())),
            ("scr".into(), format!("{:#04x}", s.scr)),
            ("divisor".into(), (u16::from(s.dlm) << 8 | u16::from(s.dll)).to_string()),
            ("rx_fifo".into(), s.rx_fifo.len().to_string()),
            ("rx_pending".into(), s.rx_pending.len().to_string()),
        ]
    }
}

impl FdtDevice for Uart16550 {
    fn fdt_node(&self) -> Option<FdtNode> {
        Some(FdtNode {
            name: "serial",
            compatible: &["ns16550a"],
            wiring: FdtWiring::Line(Some(self.irq)),
            cells: vec![("clock-frequency", CLOCK_FREQUENCY)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbus::TestBus;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::ErrorKind::Other)?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn uart() -> (TestBus, Uart16550, Sink) {
        let sink = Sink::default();
        (TestBus::new(1), Uart16550::new(10, Box::new(sink.clone())), sink)
    }

    fn rd(u: &mut Uart16550, t: &mut TestBus, reg: u64) -> u8 {
        u.read(reg, 1, &mut t.bus()) as u8
    }

    fn wr(u: &mut Uart16550, t: &mut TestBus, reg: u64, v: u8) {
        u.write(reg, 1, u64::from(v), &mut t.bus());
    }

    fn type_bytes(u: &mut Uart16550, t: &mut TestBus, bytes: &[u8]) {
        assert!(u.input(&DeviceInput::console(bytes.to_vec()), &mut t.bus()));
    }

    #[test]
    fn thr_writes_reach_the_sink_and_lsr_shows_transmitter_empty() {
        let (mut t, mut u, sink) = uart();
        for b in b"hi\n" {
            wr(&mut u, &mut t, RBR_THR_DLL, *b);
        }
        assert_eq!(sink.0.lock().unwrap().as_slice(), b"hi\n");
        assert_eq!(rd(&mut u, &mut t, LSR), LSR_THRE | LSR_TEMT);
    }

    #[test]
    fn dlab_switches_offsets_0_and_1_to_the_divisor_latch() {
        let (mut t, mut u, sink) = uart();
        wr(&mut u, &mut t, LCR, LCR_DLAB | 0x03);
        wr(&mut u, &mut t, RBR_THR_DLL, 0x01);
        wr(&mut u, &mut t, IER_DLM, 0x02);
        assert_eq!(rd(&mut u, &mut t, RBR_THR_DLL), 0x01);
        assert_eq!(rd(&mut u, &mut t, IER_DLM), 0x02);
        wr(&mut u, &mut t, LCR, 0x03);
        assert_eq!(rd(&mut u, &mut t, IER_DLM), 0, "IER untouched");
        assert!(sink.0.lock().unwrap().is_empty(), "divisor writes are not transmitted");
    }

    #[test]
    fn received_bytes_set_dr_and_raise_rdi_when_enabled() {
        let (mut t, mut u, _) = uart();
        assert_eq!(rd(&mut u, &mut t, IIR_FCR), IIR_NO_INT);
        type_bytes(&mut u, &mut t, b"ab");
        assert_eq!(rd(&mut u, &mut t, LSR) & LSR_DR, LSR_DR);
        assert!(!t.line(10), "ERBFI off");
        wr(&mut u, &mut t, IER_DLM, IER_ERBFI);
        assert!(t.line(10));
        assert_eq!(rd(&mut u, &mut t, IIR_FCR), IIR_RDI);
        assert_eq!(rd(&mut u, &mut t, RBR_THR_DLL), b'a');
        assert!(t.line(10), "the next byte moved into the holding register");
        assert_eq!(rd(&mut u, &mut t, RBR_THR_DLL), b'b');
        assert!(!t.line(10));
        assert_eq!(rd(&mut u, &mut t, LSR) & LSR_DR, 0);
        assert_eq!(rd(&mut u, &mut t, RBR_THR_DLL), 0, "empty RBR reads 0");
    }

    #[test]
    fn no_typed_byte_is_dropped_even_past_the_fifo_size() {
        let (mut t, mut u, _) = uart();
        wr(&mut u, &mut t, IIR_FCR, FCR_FIFOE);
        let text: Vec<u8> = (0..100u8).collect();
        type_bytes(&mut u, &mut t, &text);
        assert_eq!(u.state().rx_fifo.len(), FIFO_SIZE);
        let mut got = Vec::new();
        while rd(&mut u, &mut t, LSR) & LSR_DR != 0 {
            got.push(rd(&mut u, &mut t, RBR_THR_DLL));
        }
        assert_eq!(got, text);
    }

    #[test]
    fn thre_interrupt_is_raised_on_enable_and_after_writes_and_cleared_by_reading_iir() {
        let (mut t, mut u, _) = uart();
        wr(&mut u, &mut t, IER_DLM, IER_ETBEI);
        assert!(t.line(10));
        assert_eq!(rd(&mut u, &mut t, IIR_FCR), IIR_THRI);
        assert!(!t.line(10), "reading IIR acknowledged THRE");
        assert_eq!(rd(&mut u, &mut t, IIR_FCR), IIR_NO_INT);
        wr(&mut u, &mut t, RBR_THR_DLL, b'x');
        assert!(t.line(10), "THR emptied again");
    }

    #[test]
    fn received_data_outranks_thre_in_iir() {
        let (mut t, mut u, _) = uart();
        wr(&mut u, &mut t, IER_DLM, IER_ETBEI | IER_ERBFI);
        type_bytes(&mut u, &mut t, b"k");
        assert_eq!(rd(&mut u, &mut t, IIR_FCR), IIR_RDI);
        rd(&mut u, &mut t, RBR_THR_DLL);
        assert_eq!(rd(&mut u, &mut t, IIR_FCR), IIR_THRI, "THRE still pending after RDI was served");
    }

    #[test]
    fn fcr_enables_fifos_shown_in_iir_and_reset_clears_only_the_fifo() {
        let (mut t, mut u, _) = uart();
        wr(&mut u, &mut t, IIR_FCR, FCR_FIFOE);
        assert_eq!(rd(&mut u, &mut t, IIR_FCR), IIR_FIFO_ENABLED | IIR_NO_INT);
        type_bytes(&mut u, &mut t, &[7; 20]);
        wr(&mut u, &mut t, IIR_FCR, FCR_FIFOE | FCR_RFR);
        assert_eq!(u.state().rx_fifo.len(), 4, "the 4 queued bytes refill the FIFO");
    }

    #[test]
    fn loopback_returns_transmitted_bytes_and_mirrors_modem_control() {
        let (mut t, mut u, sink) = uart();
        wr(&mut u, &mut t, MCR, MCR_LOOP | 0x0f);
        wr(&mut u, &mut t, RBR_THR_DLL, b'z');
        assert!(sink.0.lock().unwrap().is_empty());
        assert_eq!(rd(&mut u, &mut t, RBR_THR_DLL), b'z');
        assert_eq!(rd(&mut u, &mut t, MSR), 0xf0);
        wr(&mut u, &mut t, MCR, 0);
        assert_eq!(rd(&mut u, &mut t, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
    }

    #[test]
    fn scratch_register_and_wide_or_unknown_accesses() {
        let (mut t, mut u, _) = uart();
        wr(&mut u, &mut t, SCR, 0x5a);
        assert_eq!(rd(&mut u, &mut t, SCR), 0x5a);
        assert_eq!(u.read(0x80, 4, &mut t.bus()), 0);
        u.write(0xff, 8, u64::MAX, &mut t.bus());
        // A 4-byte read at LCR sees LCR, MCR, LSR, MSR.
        let v = u.read(LCR, 4, &mut t.bus());
        assert_eq!((v >> 16) as u8, LSR_THRE | LSR_TEMT);
    }

    #[test]
    fn state_round_trips_with_queued_input() {
        let (mut t, mut u, _) = uart();
        wr(&mut u, &mut t, IER_DLM, IER_ERBFI);
        type_bytes(&mut u, &mut t, b"queued");
        let (_, mut v, _) = uart();
        v.restore(&u.save()).unwrap();
        assert_eq!(v.state(), u.state());
        assert!(v.restore(&[0; 3]).is_err());
    }

    #[test]
    fn restore_refuses_states_the_uart_cannot_be_in() {
        let (_, mut u, _) = uart();
        let overfull = Uart16550State { rx_fifo: (0..2).collect(), ..Uart16550State::default() };
        let err = u.restore(&encode_state(&overfull)).unwrap_err();
        assert!(err.to_string().contains("2 bytes in a 1-byte receive FIFO"), "{err}");
        let stalled = Uart16550State { rx_pending: (0..2).collect(), ..Uart16550State::default() };
        assert!(u.restore(&encode_state(&stalled)).is_err(), "input waits while the FIFO has room");
        assert_eq!(u.state(), &Uart16550State::default(), "a refused state changes nothing");
    }
}
