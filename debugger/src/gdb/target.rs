//! The session as gdbstub's `Target`: each hart is a thread (tid = hart + 1), memory is virtual (translated with
//! the thread's MMU state) unless `monitor phys on`, breakpoints and watchpoints are the engine's (kept by the
//! session, so a guest reset keeps them).

use super::arch::{Reg, Regs, Rv64gc};
use crate::session::{Resume, Session};
use gdbstub::common::{Signal, Tid};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::reverse_exec::{ReverseCont, ReverseContOps, ReverseStep, ReverseStepOps};
use gdbstub::target::ext::base::single_register_access::{SingleRegisterAccess, SingleRegisterAccessOps};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint,
    SwBreakpointOps, WatchKind,
};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use rewind::{Priv, Watchpoint};

/// How often a long monitor command tells gdb how far it got (well within gdb's 2 s default remote timeout).
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// EFAULT, the reply to an access of unmapped or non-RAM memory.
const EFAULT: u8 = 14;

pub fn tid(hart: usize) -> Tid {
    Tid::new(hart + 1).unwrap_or(Tid::MIN)
}

fn hart_of(tid: Tid) -> usize {
    tid.get() - 1
}

/// gdb-only views of the session.
impl Session {
    fn hart_ok(&self, tid: Tid) -> Result<usize, TargetError<String>> {
        let h = hart_of(tid);
        if h < self.machine.hart_count() {
            Ok(h)
        } else {
            Err(TargetError::Errno(EFAULT))
        }
    }

    /// Physical address of debugger address `addr` for `hart`.
    fn phys_addr(&self, hart: usize, addr: u64) -> Option<u64> {
        if self.debug.phys {
            Some(addr)
        } else {
            self.machine.translate(hart, addr)
        }
    }

    /// The pc gdb is shown (see `shadow_pc`).
    fn pc_of(&self, hart: usize) -> Option<u64> {
        match self.debug.shadow_pc {
            Some((h, pc)) if h == hart => Some(pc),
            _ => self.machine.hart(hart).map(|h| h.pc),
        }
    }

    fn read_reg(&self, hart: usize, reg: Reg) -> Option<u64> {
        let h = self.machine.hart(hart)?;
        Some(match reg {
            Reg::X(i) => *h.x.get(i)?,
            Reg::Pc => self.pc_of(hart)?,
            Reg::F(i) => *h.f.get(i)?,
            Reg::Priv => h.privilege as u64,
            Reg::Csr(c) => self.machine.debug_read_csr(hart, c)?,
        })
    }

    fn write_reg(&mut self, hart: usize, reg: Reg, v: u64) -> bool {
        if let Reg::Csr(c) = reg {
            return self.machine.debug_write_csr(hart, c, v);
        }
        let Some(h) = self.machine.hart_mut(hart) else { return false };
        match reg {
            Reg::X(0) => {}
            Reg::X(i) if i < 32 => h.x[i] = v,
            Reg::Pc => {
                h.pc = v;
                self.debug.shadow_pc = None;
            }
            Reg::F(i) if i < 32 => h.f[i] = v,
            Reg::Priv if v & 3 != 2 => h.privilege = Priv::from_bits(v),
            _ => return false,
        }
        true
    }
}

impl Target for Session {
    type Arch = Rv64gc;
    type Error = String;

    fn base_ops(&mut self) -> BaseOps<'_, Rv64gc, String> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadBase for Session {
    fn read_registers(&mut self, regs: &mut Regs, tid: Tid) -> TargetResult<(), Self> {
        let h = self.machine.hart(self.hart_ok(tid)?).ok_or(TargetError::Errno(EFAULT))?;
        regs.x = h.x;
        regs.f = h.f;
        regs.pc = self.pc_of(hart_of(tid)).unwrap_or(h.pc);
        Ok(())
    }

    fn write_registers(&mut self, regs: &Regs, tid: Tid) -> TargetResult<(), Self> {
        let hart = self.hart_ok(tid)?;
        let h = self.machine.hart_mut(hart).ok_or(TargetError::Errno(EFAULT))?;
        h.x = regs.x;
        h.x[0] = 0;
        if regs.pc != h.pc && !matches!(self.debug.shadow_pc, Some((s, pc)) if s == hart && pc == regs.pc) {
            h.pc = regs.pc;
        }
        h.f = regs.f;
        Ok(())
    }

    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, Tid, Self>> {
        Some(self)
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], tid: Tid) -> TargetResult<usize, Self> {
        let hart = self.hart_ok(tid)?;
        // Page by page: a read that crosses into unmapped memory is an error, never zeros.
        let mut done = 0;
        while done < data.len() {
            let va = start.wrapping_add(done as u64);
            let in_page = (0x1000 - (va & 0xfff)) as usize;
            let n = in_page.min(data.len() - done);
            let pa = self.phys_addr(hart, va).ok_or(TargetError::Errno(EFAULT))?;
            self.machine.read_phys(pa, &mut data[done..done + n]).ok_or(TargetError::Errno(EFAULT))?;
            done += n;
        }
        Ok(done)
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], tid: Tid) -> TargetResult<(), Self> {
        let hart = self.hart_ok(tid)?;
        // Translate everything first, so a write is all or nothing.
        let mut pieces = Vec::new();
        let mut done = 0;
        while done < data.len() {
            let va = start.wrapping_add(done as u64);
            let n = ((0x1000 - (va & 0xfff)) as usize).min(data.len() - done);
            let pa = self.phys_addr(hart, va).ok_or(TargetError::Errno(EFAULT))?;
            // RAM only: device registers are neither read nor written by the debugger.
            if self.machine.ram().offset_of(pa, n as u64).is_none() {
                return Err(TargetError::Errno(EFAULT));
            }
            pieces.push((pa, done, n));
            done += n;
        }
        for (pa, off, n) in pieces {
            self.machine.write_phys(pa, &data[off..off + n]).ok_or(TargetError::Errno(EFAULT))?;
        }
        Ok(())
    }

    fn list_active_threads(&mut self, register: &mut dyn FnMut(Tid)) -> Result<(), String> {
        for h in 0..self.machine.hart_count() {
            register(tid(h));
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleRegisterAccess<Tid> for Session {
    fn read_register(&mut self, tid: Tid, reg: Reg, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let hart = self.hart_ok(tid)?;
        let v = self.read_reg(hart, reg).ok_or(TargetError::Errno(EFAULT))?;
        let bytes = v.to_le_bytes();
        let n = reg.size().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok(n)
    }

    fn write_register(&mut self, tid: Tid, reg: Reg, val: &[u8]) -> TargetResult<(), Self> {
        let hart = self.hart_ok(tid)?;
        if val.is_empty() || val.len() > 8 {
            return Err(TargetError::Errno(EFAULT));
        }
        let mut bytes = [0u8; 8];
        bytes[..val.len()].copy_from_slice(val);
        if self.write_reg(hart, reg, u64::from_le_bytes(bytes)) {
            Ok(())
        } else {
            Err(TargetError::Errno(EFAULT))
        }
    }
}

impl MultiThreadResume for Session {
    fn resume(&mut self) -> Result<(), String> {
        let watch_stepped = self.debug.watch_stepped.take();
        self.debug.shadow_pc = None;
        self.debug.resume = match self.debug.step_request.take() {
            Some(hart) if watch_stepped == Some(hart) => {
                Resume::Step { hart, from: self.machine.hart(hart).map_or(0, |h| h.icount.saturating_sub(1)) }
            }
            Some(hart) => {
                let from = self.machine.hart(hart).map_or(0, |h| h.icount);
                Resume::Step { hart, from }
            }
            None => Resume::Continue,
        };
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), String> {
        self.debug.step_request = None;
        Ok(())
    }

    fn set_resume_action_continue(&mut self, _tid: Tid, _signal: Option<Signal>) -> Result<(), String> {
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }

    // Offered even without a history (`--reverse`, or a replay), so the user is told how to get one rather than
    // gdb's "Target remote does not support this command".
    fn support_reverse_step(&mut self) -> Option<ReverseStepOps<'_, Tid, Self>> {
        Some(self)
    }

    fn support_reverse_cont(&mut self) -> Option<ReverseContOps<'_, Tid, Self>> {
        Some(self)
    }
}

impl ReverseStep<Tid> for Session {
    fn reverse_step(&mut self, tid: Tid) -> Result<(), String> {
        self.debug.watch_stepped = None;
        self.debug.shadow_pc = None;
        self.debug.resume = Resume::ReverseStep { hart: hart_of(tid).min(self.machine.hart_count().saturating_sub(1)) };
        Ok(())
    }
}

impl ReverseCont<Tid> for Session {
    fn reverse_cont(&mut self) -> Result<(), String> {
        self.debug.watch_stepped = None;
        self.debug.shadow_pc = None;
        self.debug.resume = Resume::ReverseContinue;
        Ok(())
    }
}

/// gdb asks for it when only the stepped thread is named (`vCont;s:1`). The engine schedules all harts
/// together, so the other harts run on until the stepped one has executed its instruction (at most one quantum).
impl MultiThreadSchedulerLocking for Session {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), String> {
        Ok(())
    }
}

impl MultiThreadSingleStep for Session {
    fn set_resume_action_step(&mut self, tid: Tid, _signal: Option<Signal>) -> Result<(), String> {
        let hart = hart_of(tid);
        if hart >= self.machine.hart_count() {
            return Err(format!("no thread {tid}"));
        }
        self.debug.step_request = Some(hart);
        Ok(())
    }
}

impl Breakpoints for Session {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for Session {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        self.add_breakpoint(addr);
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove_breakpoint(addr))
    }
}

impl HwBreakpoint for Session {
    fn add_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        self.add_breakpoint(addr);
        Ok(true)
    }

    fn remove_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove_breakpoint(addr))
    }
}

fn watch(addr: u64, len: u64, kind: WatchKind) -> Watchpoint {
    let kind = match kind {
        WatchKind::Write => rewind::WatchKind::Write,
        WatchKind::Read => rewind::WatchKind::Read,
        WatchKind::ReadWrite => rewind::WatchKind::Access,
    };
    Watchpoint { addr, len, kind }
}

impl HwWatchpoint for Session {
    fn add_hw_watchpoint(&mut self, addr: u64, len: u64, kind: WatchKind) -> TargetResult<bool, Self> {
        if len == 0 || len > 1 << 20 {
            return Ok(false);
        }
        self.add_watchpoint(watch(addr, len, kind));
        Ok(true)
    }

    fn remove_hw_watchpoint(&mut self, addr: u64, len: u64, kind: WatchKind) -> TargetResult<bool, Self> {
        Ok(self.remove_watchpoint(&watch(addr, len, kind)))
    }
}

impl MonitorCmd for Session {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), String> {
        // Progress goes out at once as console-output packets: gdb waits for the command's end with its remote
        // timeout (2 s by default), which each packet restarts.
        let mut last = std::time::Instant::now();
        let mut progress = |now: u64, target: u64| {
            if last.elapsed() >= PROGRESS_EVERY {
                last = std::time::Instant::now();
                out.write_raw(format!("seeking: instruction {now} of {target}\n").as_bytes());
                out.flush();
            }
        };
        let text = self.monitor(&String::from_utf8_lossy(cmd), &mut progress);
        out.write_raw(text.as_bytes());
        Ok(())
    }
}
