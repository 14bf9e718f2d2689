//! The whole machine: harts, RAM, ROMs, devices and the memory-region tree, and the run loop that schedules the
//! harts deterministically (round-robin quanta on one host thread, virtual time from the instruction count).

use crate::arch::riscv::cpu::CpuConfig;
use crate::arch::riscv::mmu::Mmu;
use crate::arch::riscv::Hart;
use crate::arch::ArchHart;
use crate::clock::{PollWatch, Timebase};
use crate::device::{Device, DeviceInput, IrqLines, PowerRequest};
use crate::exec::{Breakpoints, Core, Exec, SliceExit};
use crate::hooks::{AccessKind, Tracer, Watchpoint};
use crate::memory::{DeviceId, FlatView, MemoryRegion, Ram, RamError, RamImage, RomId, PAGE_SIZE};
pub use crate::platform::AccessCount;
use crate::platform::{NamedDevice, Platform};
use serde::{Deserialize, Serialize};

pub use crate::clock::TIMEBASE_HZ;

/// Instructions a hart runs before the next hart gets its turn.
pub const QUANTUM: u64 = 10_000;

/// Why [`Machine::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// The instruction budget is used up.
    BudgetExhausted,
    /// `hart` is about to execute the instruction at `pc`, where a breakpoint is set.
    Breakpoint { hart: usize, pc: u64 },
    /// Every hart waits in WFI. `next_deadline` is the virtual time (ticks) of the next timer event, if any; the
    /// caller may deliver input or call [`Machine::skip_idle`]. Only returned with [`Machine::set_stop_on_idle`]
    /// or when no timer event will ever come.
    Idle { next_deadline: Option<u64> },
    /// `hart`'s last instruction made the access `kind` at `addr`, which `watchpoint` watches; the hart's pc is
    /// at the next instruction.
    Watchpoint { hart: usize, watchpoint: Watchpoint, addr: u64, kind: AccessKind },
    /// The guest powered off.
    Poweroff { code: u32 },
    /// The guest asked for a reset.
    Reset,
}

/// Assembles a machine from regions and devices; boards use it, the engine never sees the board.
pub struct MachineBuilder {
    harts: usize,
    root: MemoryRegion,
    ram: Ram,
    roms: Vec<Vec<u8>>,
    devices: Vec<NamedDevice>,
    reset_pc: u64,
    images: Vec<LoadedImage>,
    cpu: CpuConfig,
}

/// An image the board loaded into memory (firmware, kernel, initrd, device tree, boot ROM contents), as QEMU's
/// `info roms` lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedImage {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    /// Whether it lies in RAM (the guest may overwrite it) or in a ROM.
    pub in_rom: bool,
}

impl MachineBuilder {
    /// A machine with `harts` harts and `ram_size` bytes of RAM at `ram_base` (named `ram_name` in the tree);
    /// `Err` if the host cannot reserve the RAM.
    pub fn new(harts: usize, ram_name: &str, ram_base: u64, ram_size: u64) -> Result<MachineBuilder, RamError> {
        let mut root = MemoryRegion::container("system", u64::MAX);
        root.add_subregion(ram_base, MemoryRegion::ram(ram_name, ram_size), 0);
        Ok(MachineBuilder {
            harts: harts.max(1),
            root,
            ram: Ram::new(ram_base, ram_size)?,
            roms: Vec::new(),
            devices: Vec::new(),
            images: Vec::new(),
            reset_pc: ram_base,
            cpu: CpuConfig::default(),
        })
    }

    /// Maps a ROM holding `data` (zero-padded or cut to `size`) at `base`.
    pub fn add_rom(&mut self, name: &str, base: u64, size: u64, mut data: Vec<u8>) -> RomId {
        data.resize(size as usize, 0);
        let id = self.roms.len();
        self.roms.push(data);
        self.root.add_subregion(base, MemoryRegion::rom(name, size, id), 0);
        id
    }

    /// Adds `device` without mapping it: the board maps windows onto it (aliases of an I/O region of it) itself.
    pub fn add_unmapped_device(&mut self, name: &str, device: Box<dyn Device>) -> DeviceId {
        let id = self.devices.len();
        self.devices.push(NamedDevice { name: name.to_string(), device, accesses: AccessCount::default() });
        id
    }

    /// Maps `device`'s registers at `[base, base+size)`.
    pub fn add_device(&mut self, name: &str, base: u64, size: u64, device: Box<dyn Device>) -> DeviceId {
        let id = self.add_unmapped_device(name, device);
        self.root.add_subregion(base, MemoryRegion::io(name, size, id), 0);
        id
    }

    /// The root container, for boards that need aliases or priorities.
    pub fn root_mut(&mut self) -> &mut MemoryRegion {
        &mut self.root
    }

    /// The memory-region tree built so far (the board's device-tree generator walks it).
    pub fn memory_tree(&self) -> &MemoryRegion {
        &self.root
    }

    /// The device mapped as `id`.
    pub fn device(&self, id: DeviceId) -> Option<&dyn Device> {
        self.devices.get(id).map(|d| d.device.as_ref())
    }

    /// RAM, for loaders.
    pub fn ram_mut(&mut self) -> &mut Ram {
        &mut self.ram
    }

    /// Where every hart starts after reset.
    /// Makes every hart of this kind (the default is [`CpuConfig::default`]).
    pub fn set_cpu(&mut self, cpu: CpuConfig) {
        self.cpu = cpu;
    }

    pub fn set_reset_pc(&mut self, pc: u64) {
        self.reset_pc = pc;
    }

    /// Notes an image the board loaded (shown by `info roms`).
    pub fn note_image(&mut self, image: LoadedImage) {
        self.images.push(image);
    }

    pub fn build(self) -> Machine {
        let cores = (0..self.harts)
            .map(|id| Core { hart: Hart::with_cpu(id, self.reset_pc, self.cpu), mmu: Mmu::default() })
            .collect();
        // What the board loaded is all that RAM holds now: a reset writes it back.
        let power_on_ram = self.ram.image();
        Machine {
            power_on_ram,
            cores,
            plat: Platform::new(self.ram, self.roms, self.root, self.devices, self.harts),
            exec: Exec::default(),
            breakpoints: Breakpoints::default(),
            sched: Schedule { hart: 0, quantum_left: QUANTUM },
            topology_seen: 0,
            stop_on_idle: false,
            reset_pc: self.reset_pc,
            last_watch_hit: None,
            images: self.images,
        }
    }
}

/// Breakpoints and watchpoints taken out of a machine by [`Machine::suspend_debug_stops`].
#[derive(Default)]
pub struct DebugStops {
    breakpoints: std::collections::BTreeSet<u64>,
    watchpoints: Vec<Watchpoint>,
}

/// One device as `info devices` shows it.
#[derive(Clone, Debug)]
pub struct DeviceReport {
    pub name: String,
    pub kind: &'static str,
    pub state: Vec<(String, String)>,
}

/// Which hart runs and how much of its quantum is left: part of the machine state, so that a run split into
/// several budgets schedules exactly like one uninterrupted run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Schedule {
    hart: usize,
    quantum_left: u64,
}

/// Everything guest-visible, for checkpoints and determinism checks.
#[derive(Clone, Serialize, Deserialize)]
pub struct MachineState {
    pub cpu: CpuState,
    pub ram: RamImage,
}

/// Everything guest-visible except RAM (checkpoints store RAM page by page).
#[derive(Clone, Serialize, Deserialize)]
pub struct CpuState {
    pub harts: Vec<Hart>,
    pub devices: Vec<Vec<u8>>,
    pub irq_lines: IrqLines,
    pub hart_irqs: Vec<u64>,
    pub vclock: u64,
    /// The poll of the clock in progress, if any: it decides how fast time runs next.
    pub poll: PollWatch,
    sched: Schedule,
    pub power: Option<PowerRequest>,
    /// Where devices placed regions of the address map (PCI BARs).
    pub placements: Vec<crate::device::RegionPlacement>,
}

pub struct Machine {
    cores: Vec<Core>,
    /// The address map's generation the harts' TLBs were last dropped for (see [`Machine::update_topology`]).
    topology_seen: u64,
    plat: Platform,
    exec: Exec,
    breakpoints: Breakpoints,
    sched: Schedule,
    stop_on_idle: bool,
    reset_pc: u64,
    last_watch_hit: Option<crate::hooks::MemAccess>,
    images: Vec<LoadedImage>,
    /// RAM as the board loaded it (the written pages only), for [`Machine::reset`].
    power_on_ram: RamImage,
}

impl Machine {
    /// A system reset, as QEMU's `system_reset` or a guest's reset request gives it: harts start over at the
    /// reset vector, devices take their power-on state and the images the board loaded are written back (the
    /// rest of RAM keeps its contents, as in QEMU). Instruction counts and virtual time go on: a run that resets
    /// is still one run, its statistics cover it whole, and its recording replays across the reset.
    pub fn reset(&mut self) {
        for core in &mut self.cores {
            let icount = core.hart.icount;
            core.hart = Hart::with_cpu(core.hart.id, self.reset_pc, core.hart.cpu);
            core.hart.icount = icount;
            core.mmu.csrs_changed();
        }
        self.plat.reset(self.cores.len(), &self.power_on_ram);
        self.exec.flush();
        self.sched = Schedule { hart: 0, quantum_left: QUANTUM };
        self.last_watch_hit = None;
    }

    /// The images the board loaded, in the order it loaded them.
    pub fn loaded_images(&self) -> &[LoadedImage] {
        &self.images
    }

    /// How often each platform interrupt line and each hart's local lines went high since the machine was built
    /// (`info irq`).
    pub fn irq_counts(&self) -> &crate::device::IrqCounts {
        self.plat.signals.counts()
    }

    /// Each interrupt controller's state per source, by device name (`info pic`).
    /// Each PCI function's `info pci` entry, in bus order.
    pub fn pci_functions(&self) -> Vec<String> {
        let mut entries: Vec<String> = self.plat.devices.iter().filter_map(|d| d.device.pci_info()).collect();
        // Every entry starts with its bus, device and function numbers in fixed-width fields.
        entries.sort();
        entries
    }

    pub fn interrupt_controllers(&self) -> Vec<(String, String)> {
        self.plat.devices.iter().filter_map(|d| Some((d.name.clone(), d.device.pic_info()?))).collect()
    }

    /// Where every hart started.
    pub fn reset_pc(&self) -> u64 {
        self.reset_pc
    }

    /// The contents of ROM `id`.
    pub fn rom(&self, id: RomId) -> Option<&[u8]> {
        self.plat.roms.get(id).map(|r| r.as_slice())
    }

    /// Runs until `budget` more instructions have executed (over all harts) or something stops the machine.
    pub fn run(&mut self, budget: u64) -> StopReason {
        let target = self.icount().saturating_add(budget);
        loop {
            if let Some(p) = self.plat.signals.power() {
                return power_stop(p);
            }
            if self.topology_seen != self.plat.topology_generation {
                // The address map changed: no hart may keep a translation to where something used to be.
                self.topology_seen = self.plat.topology_generation;
                self.cores.iter_mut().for_each(|c| c.mmu.csrs_changed());
            }
            let remaining = target - self.icount();
            if remaining == 0 {
                return StopReason::BudgetExhausted;
            }
            self.tick();
            let all_idle = self.all_waiting();
            if all_idle {
                let next_deadline = self.next_deadline();
                if self.stop_on_idle || next_deadline.is_none() {
                    return StopReason::Idle { next_deadline };
                }
                self.skip_idle();
                continue;
            }
            let idx = self.sched.hart.min(self.cores.len() - 1);
            let mut slice = self.sched.quantum_left.min(remaining);
            // A counter overflow (Sscofpmf) is seen where the counter wraps: tick() raises it before the next slice.
            if let Some(n) = self.cores[idx].hart.instructions_to_counter_overflow() {
                slice = slice.min(n);
            }
            self.plat.slice_deadline = u64::MAX;
            if let Some(deadline) = self.next_deadline() {
                let deadline_clock = self.plat.timebase.vclock_at(deadline);
                if deadline_clock > self.plat.vclock {
                    slice = slice.min(deadline_clock - self.plat.vclock);
                    self.plat.slice_deadline = deadline_clock;
                }
            }
            let before = self.cores[idx].hart.icount;
            let exit = self.exec.run_slice(&mut self.cores[idx], &mut self.plat, slice, &mut self.breakpoints);
            let ran = self.cores[idx].hart.icount - before;
            if ran > 0 {
                // The hart left the pc it stopped at: a pass granted there is used up, even if no breakpoint
                // was set while it ran (the interpreter only clears it while breakpoints are set).
                self.breakpoints.skip_once = None;
            }
            self.sched.quantum_left -= ran.min(self.sched.quantum_left);
            match exit {
                SliceExit::Breakpoint => {
                    let pc = self.cores[idx].hart.pc;
                    self.breakpoints.skip_once = Some(pc);
                    return StopReason::Breakpoint { hart: idx, pc };
                }
                SliceExit::Power => {}
                SliceExit::Watchpoint => {
                    if let Some(hit) = self.plat.instr.hit.take() {
                        self.last_watch_hit = Some(hit.access);
                        return StopReason::Watchpoint {
                            hart: idx,
                            watchpoint: hit.watchpoint,
                            addr: hit.access.vaddr,
                            kind: hit.access.kind,
                        };
                    }
                }
                SliceExit::Idle => self.next_hart(),
                SliceExit::Budget => {
                    if self.sched.quantum_left == 0 {
                        self.next_hart();
                    }
                }
            }
        }
    }

    /// Lets the devices and the harts' own timers catch up with virtual time.
    fn tick(&mut self) {
        self.plat.tick_devices();
        let now = self.plat.now();
        for core in &mut self.cores {
            if core.hart.update_timer(now) {
                self.plat.signals.note_hart_raise(core.hart.id, crate::arch::riscv::mip::STIP);
            }
            if core.hart.check_counter_overflow() {
                self.plat.signals.note_hart_raise(core.hart.id, crate::arch::riscv::mip::LCOFIP);
            }
        }
    }

    /// The earliest virtual time (ticks) at which a device or a hart's timer changes state on its own.
    fn next_deadline(&self) -> Option<u64> {
        let harts = self.cores.iter().filter_map(|c| c.hart.timer_deadline());
        self.plat.next_deadline().into_iter().chain(harts).min()
    }

    /// Whether every hart waits for an interrupt and none is due.
    fn all_waiting(&self) -> bool {
        self.cores
            .iter()
            .all(|c| c.hart.is_waiting() && !c.hart.would_wake(self.plat.signals.hart_line_word(c.hart.id)))
    }

    fn next_hart(&mut self) {
        let to_another_hart = self.cores.len() > 1;
        if let Some(core) = self.cores.get_mut(self.sched.hart) {
            core.hart.lose_cpu(to_another_hart);
        }
        self.sched = Schedule { hart: (self.sched.hart + 1) % self.cores.len(), quantum_left: QUANTUM };
    }

    /// With every hart in WFI: jumps virtual time to the next timer event. Returns false, and does nothing, if
    /// some hart can run or no timer event is pending.
    pub fn skip_idle(&mut self) -> bool {
        self.advance_idle(None)
    }

    /// With every hart in WFI: moves virtual time on to `ticks`, or to the next timer event if that comes first
    /// (an idle guest's clock keeping pace with the wall clock until input arrives). Returns false, and does
    /// nothing, if some hart can run or virtual time is already there.
    pub fn skip_idle_until(&mut self, ticks: u64) -> bool {
        self.advance_idle(Some(ticks))
    }

    fn advance_idle(&mut self, limit: Option<u64>) -> bool {
        if !self.all_waiting() {
            return false;
        }
        let target = match (self.next_deadline(), limit) {
            (Some(deadline), Some(limit)) => deadline.min(limit),
            (Some(deadline), None) => deadline,
            (None, Some(limit)) => limit,
            (None, None) => return false,
        };
        let clock = self.plat.timebase.vclock_at(target);
        if limit.is_some() && clock <= self.plat.vclock {
            return false;
        }
        self.plat.vclock = self.plat.vclock.max(clock);
        self.tick();
        true
    }

    /// Sets how long an instruction takes in virtual time: `2^shift` ns (QEMU's `-icount shift=N`; 0, one
    /// nanosecond, by default). Returns false, changing nothing, for a shift beyond [`crate::clock::MAX_SHIFT`].
    /// Set it before the machine runs: it changes what time every instruction count means.
    pub fn set_time_shift(&mut self, shift: u32) -> bool {
        match Timebase::new(shift) {
            Some(timebase) => {
                self.plat.timebase = timebase;
                true
            }
            None => false,
        }
    }

    /// Turns the JIT tier on, translating blocks once they have been entered `threshold` times, or off (`None`).
    /// Guest-visible behaviour is the same either way. Returns false if this host cannot run the JIT.
    pub fn set_jit(&mut self, threshold: Option<u32>) -> bool {
        self.exec = match threshold {
            Some(t) => Exec::with_jit(t),
            None => Exec::default(),
        };
        self.plat.clear_code_pages();
        threshold.is_none() || self.exec.compiles()
    }

    /// Also measure the host time spent translating (for `--stats`).
    pub fn set_jit_timing(&mut self, on: bool) {
        self.exec.set_timing(on);
    }

    pub fn jit_stats(&self) -> Option<crate::exec::jit::JitStats> {
        self.exec.stats()
    }

    /// Makes [`Machine::run`] return [`StopReason::Idle`] instead of skipping idle time itself (interactive
    /// front ends wait for input there).
    pub fn set_stop_on_idle(&mut self, stop: bool) {
        self.stop_on_idle = stop;
    }

    /// Delivers nondeterministic input to a device; the one entry point record and replay share.
    pub fn deliver_input(&mut self, device: DeviceId, input: &DeviceInput) -> bool {
        self.plat.deliver_input(device, input)
    }

    /// Instructions executed by all harts.
    pub fn icount(&self) -> u64 {
        self.cores.iter().map(|c| c.hart.icount()).sum()
    }

    /// The virtual instruction clock: instructions executed plus idle time skipped (in instruction units). With
    /// the instruction count it identifies a point of execution exactly, even while every hart is idle.
    pub fn vclock(&self) -> u64 {
        self.plat.vclock
    }

    /// Virtual time in timer ticks.
    pub fn now(&self) -> u64 {
        self.plat.now()
    }

    pub fn hart_count(&self) -> usize {
        self.cores.len()
    }

    pub fn hart(&self, i: usize) -> Option<&Hart> {
        self.cores.get(i).map(|c| &c.hart)
    }

    /// Mutable hart state (for the debugger). Translation caches are flushed, since registers such as satp may
    /// change.
    pub fn hart_mut(&mut self, i: usize) -> Option<&mut Hart> {
        let core = self.cores.get_mut(i)?;
        core.mmu.csrs_changed();
        Some(&mut core.hart)
    }

    /// Reads CSR `csr` of hart `hart` as a debugger sees it: whatever the hart's privilege level and `mstatus.FS`,
    /// with the virtual time and the device-driven interrupt bits the hart itself would see. `None` if there is no
    /// such hart or CSR.
    pub fn debug_read_csr(&self, hart: usize, csr: u16) -> Option<u64> {
        let core = self.cores.get(hart)?;
        crate::arch::riscv::csr::debug_read(&core.hart, csr, &self.csr_env(hart))
    }

    /// What hart `hart`'s CSRs see from outside it: virtual time and its device-driven interrupt bits.
    fn csr_env(&self, hart: usize) -> crate::arch::riscv::csr::CsrEnv {
        crate::arch::riscv::csr::CsrEnv { time: self.plat.now(), external_irqs: self.plat.signals.hart_line_word(hart) }
    }

    /// Writes CSR `csr` of hart `hart` as a debugger would: with the CSR's write rules (WARL fields, read-only
    /// CSRs refuse), but whatever the hart's privilege level and `mstatus.FS`. Returns false if the write is
    /// refused. Translation caches are flushed.
    pub fn debug_write_csr(&mut self, hart: usize, csr: u16, value: u64) -> bool {
        let env = self.csr_env(hart);
        let Some(core) = self.cores.get_mut(hart) else { return false };
        let ok = crate::arch::riscv::csr::debug_write(&mut core.hart, csr, value, &env);
        core.mmu.csrs_changed();
        ok
    }

    pub fn memory_tree(&self) -> &MemoryRegion {
        self.plat.memory_tree()
    }

    /// Changes the address map in one transaction (QEMU's `memory_region_transaction_begin`/`commit`): `change`
    /// edits the region tree — add, remove or move subregions, see [`MemoryRegion::place_subregion`] — and then
    /// the flat view is computed again and every decoded block, translation and TLB entry is dropped. Devices
    /// ask for the same through [`crate::DeviceBus::place_region`].
    pub fn update_topology<R>(&mut self, change: impl FnOnce(&mut MemoryRegion) -> R) -> R {
        // The tiers and the harts notice the new generation before the next instruction.
        self.plat.update_topology(change)
    }

    pub fn flat_view(&self) -> &FlatView {
        &self.plat.flat
    }

    pub fn ram(&self) -> &Ram {
        &self.plat.ram
    }

    /// Reads physical memory without side effects (device registers are not readable this way).
    pub fn read_phys(&self, pa: u64, buf: &mut [u8]) -> Option<()> {
        self.plat.peek(pa, buf)
    }

    /// Writes RAM (debugger, loaders). Decoded code is invalidated.
    pub fn write_phys(&mut self, pa: u64, data: &[u8]) -> Option<()> {
        self.plat.ram.write(pa, data)?;
        self.exec.flush();
        Some(())
    }

    /// Translates a virtual address with hart `hart`'s current MMU state, without side effects.
    pub fn translate(&self, hart: usize, va: u64) -> Option<u64> {
        let core = self.cores.get(hart)?;
        Mmu::peek_translate(&core.hart, &self.plat, va)
    }

    pub fn breakpoints(&self) -> &std::collections::BTreeSet<u64> {
        &self.breakpoints.addrs
    }

    pub fn add_breakpoint(&mut self, pc: u64) {
        self.breakpoints.addrs.insert(pc);
    }

    pub fn remove_breakpoint(&mut self, pc: u64) -> bool {
        self.breakpoints.addrs.remove(&pc)
    }

    /// Attaches a tracer that sees every instruction and data access (`None` detaches it).
    pub fn set_tracer(&mut self, tracer: Option<Box<dyn Tracer>>) -> Option<Box<dyn Tracer>> {
        let old = std::mem::replace(&mut self.plat.instr.tracer, tracer);
        self.plat.instrumented = self.plat.instr.active();
        old
    }

    pub fn add_watchpoint(&mut self, w: Watchpoint) {
        if !self.plat.instr.watchpoints.contains(&w) {
            self.plat.instr.watchpoints.push(w);
        }
        self.plat.instrumented = true;
    }

    pub fn remove_watchpoint(&mut self, w: &Watchpoint) -> bool {
        let before = self.plat.instr.watchpoints.len();
        self.plat.instr.watchpoints.retain(|x| x != w);
        self.plat.instrumented = self.plat.instr.active();
        before != self.plat.instr.watchpoints.len()
    }

    /// Takes every breakpoint and watchpoint out (to run to an exact point without stopping); give them back
    /// with [`Machine::restore_debug_stops`].
    pub fn suspend_debug_stops(&mut self) -> DebugStops {
        let stops = DebugStops {
            breakpoints: std::mem::take(&mut self.breakpoints.addrs),
            watchpoints: std::mem::take(&mut self.plat.instr.watchpoints),
        };
        self.breakpoints.skip_once = None;
        self.breakpoints.guest_triggers_suspended = true;
        self.plat.instrumented = self.plat.instr.active();
        stops
    }

    pub fn restore_debug_stops(&mut self, stops: DebugStops) {
        self.breakpoints.addrs = stops.breakpoints;
        self.breakpoints.guest_triggers_suspended = false;
        self.plat.instr.watchpoints = stops.watchpoints;
        self.plat.instrumented = self.plat.instr.active();
    }

    /// Resuming from here does not stop at a breakpoint on the current pc of any hart first (as after a
    /// breakpoint stop).
    pub fn step_over_breakpoint_here(&mut self, hart: usize) {
        self.breakpoints.skip_once = self.cores.get(hart).map(|c| c.hart.pc);
    }

    /// The access behind the last [`StopReason::Watchpoint`], with the accessing instruction's pc (the hart's pc
    /// is already past it): debuggers that present the stop before the access need it.
    pub fn last_watch_hit(&self) -> Option<crate::hooks::MemAccess> {
        self.last_watch_hit
    }

    pub fn watchpoints(&self) -> &[Watchpoint] {
        &self.plat.instr.watchpoints
    }

    /// Every device's name, kind and state, for `info devices`.
    pub fn inspect_devices(&self) -> Vec<DeviceReport> {
        self.plat
            .devices
            .iter()
            .map(|d| DeviceReport { name: d.name.clone(), kind: d.device.kind(), state: d.device.inspect() })
            .collect()
    }

    /// How many times the harts read and wrote each device's registers since the machine was built, indexed by
    /// device id.
    pub fn device_accesses(&self) -> Vec<AccessCount> {
        self.plat.devices.iter().map(|d| d.accesses).collect()
    }

    /// Index of the device named `name`.
    pub fn device_id(&self, name: &str) -> Option<DeviceId> {
        self.plat.devices.iter().position(|d| d.name == name)
    }

    /// The complete guest-visible state.
    pub fn save_state(&self) -> MachineState {
        MachineState { cpu: self.save_cpu_state(), ram: self.plat.ram.image() }
    }

    /// Restores what [`Machine::save_state`] produced for a machine of the same shape.
    pub fn restore_state(&mut self, state: &MachineState) -> Result<(), crate::device::RestoreError> {
        // The image is checked before anything changes.
        self.plat
            .ram
            .load_image(&state.ram)
            .map_err(|reason| crate::device::RestoreError { device: "machine".into(), reason })?;
        self.restore_cpu_state(&state.cpu)?;
        self.plat.fast_path_epoch += 1;
        self.exec.flush();
        self.plat.clear_code_pages();
        Ok(())
    }

    /// The guest-visible state apart from RAM.
    pub fn save_cpu_state(&self) -> CpuState {
        CpuState {
            harts: self.cores.iter().map(|c| c.hart.clone()).collect(),
            devices: self.plat.devices.iter().map(|d| d.device.save()).collect(),
            irq_lines: self.plat.signals.lines().clone(),
            hart_irqs: self.plat.signals.hart_lines().to_vec(),
            vclock: self.plat.vclock,
            poll: self.plat.poll,
            sched: self.sched,
            power: self.plat.signals.power(),
            placements: self.plat.placements().to_vec(),
        }
    }

    /// Restores what [`Machine::save_cpu_state`] produced; RAM is left alone.
    pub fn restore_cpu_state(&mut self, state: &CpuState) -> Result<(), crate::device::RestoreError> {
        if state.harts.len() != self.cores.len() || state.devices.len() != self.plat.devices.len() {
            return Err(crate::device::RestoreError {
                device: "machine".into(),
                reason: "hart or device count differs".into(),
            });
        }
        for (dev, bytes) in self.plat.devices.iter_mut().zip(&state.devices) {
            dev.device.restore(bytes)?;
        }
        for (core, hart) in self.cores.iter_mut().zip(&state.harts) {
            core.hart = hart.clone();
            core.mmu.csrs_changed();
        }
        self.plat.signals.restore(state.irq_lines.clone(), state.hart_irqs.clone(), state.power);
        self.plat.restore_placements(&state.placements);
        self.plat.vclock = state.vclock;
        self.plat.poll = state.poll;
        self.sched = state.sched;
        // Decoded and translated code stays: it depends on RAM alone, and RAM changes drop it page by page. Cached
        // translations go (the MMU's generation may repeat).
        self.plat.fast_path_epoch += 1;
        Ok(())
    }

    /// Indexes of the RAM pages written since the last call (for checkpoints).
    pub fn take_dirty_pages(&mut self) -> Vec<usize> {
        self.plat.ram.take_dirty(crate::memory::DirtyFor::Checkpoints)
    }

    /// Indexes of the RAM pages written since the last call (for the recorder's state hashes).
    pub fn take_pages_written_since_hash(&mut self) -> Vec<usize> {
        self.plat.ram.take_dirty(crate::memory::DirtyFor::StateHashes)
    }

    /// A hash of RAM page `index`'s contents.
    pub fn ram_page_hash(&self, index: usize) -> Option<u64> {
        let page = self.ram_page(index)?;
        let mut h = Fnv::new(index as u64);
        for chunk in page.chunks_exact(8) {
            h.word(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        }
        Some(h.finish())
    }

    /// RAM page `index` (4 KiB).
    pub fn ram_page(&self, index: usize) -> Option<&[u8]> {
        let start = index.checked_mul(PAGE_SIZE as usize)?;
        self.plat.ram.bytes().get(start..start + PAGE_SIZE as usize)
    }

    /// Overwrites RAM page `index` (restoring a checkpoint); decoded code is invalidated.
    pub fn set_ram_page(&mut self, index: usize, data: &[u8]) -> Option<()> {
        self.plat.ram.restore_page(index, data)?;
        // Code decoded from this page is dropped before anything runs again; other pages keep theirs, so going
        // back to a checkpoint does not throw away every translation.
        self.plat.forget_code_on_page(index as u64);
        Some(())
    }

    /// A hash of the complete guest-visible state, RAM included, for determinism checks. RAM counts by its
    /// non-zero pages (index and contents), so only pages ever written are read.
    pub fn state_hash(&self) -> u64 {
        let mut h = Fnv::new(self.cpu_hash());
        for page in self.plat.ram.written_pages() {
            let Some(bytes) = self.ram_page(page) else { continue };
            if bytes.iter().any(|b| *b != 0) {
                h.word(page as u64);
                for chunk in bytes.chunks_exact(8) {
                    h.word(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
                }
            }
        }
        h.finish()
    }

    /// A hash of harts, devices, interrupt lines, the virtual clock and the schedule — everything but RAM. Cheap
    /// enough to take every few million instructions; a divergence in RAM shows up here soon after.
    pub fn cpu_hash(&self) -> u64 {
        let mut h = Fnv::new(0);
        self.state_parts().iter().for_each(|(_, part)| h.word(*part));
        h.finish()
    }

    /// The parts [`Machine::cpu_hash`] is made of, named: each hart, each device, and the interrupt lines,
    /// virtual clock and schedule. When two runs diverge, the parts that differ say where.
    pub fn state_parts(&self) -> Vec<(String, u64)> {
        let mut parts = Vec::with_capacity(self.cores.len() + self.plat.devices.len() + 1);
        for core in &self.cores {
            let mut h = Fnv::new(0);
            h.bytes(&postcard::to_allocvec(&core.hart).unwrap_or_default());
            parts.push((format!("hart {} registers", core.hart.id), h.finish()));
        }
        for (i, dev) in self.plat.devices.iter().enumerate() {
            let mut h = Fnv::new(0);
            h.bytes(&dev.device.save());
            parts.push((format!("device {i} ({})", dev.name), h.finish()));
        }
        let mut h = Fnv::new(0);
        // Lines 0-63 hash as one word, as they did when there were no others; a word of higher lines counts only
        // while one of them is high, so recordings made before stay valid.
        let lines = self.plat.signals.lines();
        h.word(lines.word(0));
        self.plat.signals.hart_lines().iter().for_each(|w| h.word(*w));
        h.word(self.plat.vclock);
        h.bytes(&postcard::to_allocvec(&self.plat.poll).unwrap_or_default());
        h.word(self.sched.hart as u64);
        h.word(self.sched.quantum_left);
        for (index, word) in lines.high_words_above_first() {
            h.word(index as u64);
            h.word(word);
        }
        parts.push(("interrupt lines, clock and schedule".into(), h.finish()));
        parts
    }
}

/// FNV-1a, word- or byte-wise: stable across platforms and runs, unlike std's hasher.
struct Fnv(u64);

impl Fnv {
    fn new(seed: u64) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325 ^ seed)
    }

    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(0x100_0000_01b3);
    }

    fn bytes(&mut self, b: &[u8]) {
        b.iter().for_each(|x| self.word(*x as u64));
        self.word(b.len() as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn power_stop(p: PowerRequest) -> StopReason {
    match p {
        PowerRequest::Poweroff { code } => StopReason::Poweroff { code },
        PowerRequest::Reset => StopReason::Reset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::{MemAccess, WatchKind};
    use crate::memory::FlatTarget;
    use std::sync::{Arc, Mutex};

    const BASE: u64 = 0x8000_0000;

    /// auipc a0,1; li a1,42; sd a1,0(a0); ld a2,0(a0); j .
    fn machine() -> Machine {
        let mut b = MachineBuilder::new(1, "ram", BASE, 0x10000).unwrap();
        let code: [u32; 5] = [0x0000_1517, 0x02a0_0593, 0x00b5_3023, 0x0005_3603, 0x0000_006f];
        let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
        b.ram_mut().write(BASE, &bytes).unwrap();
        b.set_reset_pc(BASE);
        b.build()
    }

    #[test]
    fn run_stops_at_the_exact_instruction_count() {
        let mut m = machine();
        assert_eq!(m.run(3), StopReason::BudgetExhausted);
        assert_eq!((m.icount(), m.hart(0).unwrap().pc), (3, BASE + 12));
        assert_eq!(m.ram().read_u64(BASE + 0x1000), Some(42));
    }

    #[test]
    fn a_reset_restarts_the_harts_and_reloads_the_images_while_counts_and_other_ram_go_on() {
        let mut m = machine();
        assert_eq!(m.run(4), StopReason::BudgetExhausted);
        let vclock = m.vclock();
        // The guest overwrote its own code (the image) and wrote data elsewhere.
        m.write_phys(BASE + 16, &0x0010_0073u32.to_le_bytes()).unwrap();
        m.reset();
        let hart = m.hart(0).unwrap();
        assert_eq!((hart.pc, hart.x[12], hart.icount), (BASE, 0, 4), "reset pc, fresh registers, count kept");
        assert_eq!(m.ram().read_u32(BASE + 16), Some(0x0000_006f), "the image is back");
        assert_eq!(m.ram().read_u64(BASE + 0x1000), Some(42), "the rest of RAM keeps what it held");
        assert_eq!(m.vclock(), vclock, "time goes on");
        assert_eq!(m.run(5), StopReason::BudgetExhausted);
        assert_eq!((m.icount(), m.hart(0).unwrap().pc), (9, BASE + 16), "runs the reloaded code");
    }

    #[test]
    fn write_watchpoint_stops_after_the_writing_instruction() {
        let mut m = machine();
        m.add_watchpoint(Watchpoint { addr: BASE + 0x1000, len: 8, kind: WatchKind::Write });
        let stop = m.run(100);
        let expected = StopReason::Watchpoint {
            hart: 0,
            watchpoint: Watchpoint { addr: BASE + 0x1000, len: 8, kind: WatchKind::Write },
            addr: BASE + 0x1000,
            kind: AccessKind::Write,
        };
        assert_eq!(stop, expected);
        assert_eq!(m.hart(0).unwrap().pc, BASE + 12, "stopped after the sd");
        assert_eq!(m.last_watch_hit().map(|a| (a.pc, a.value)), Some((BASE + 8, 42)), "the sd's own pc");
        assert_eq!(m.icount(), 3);
    }

    #[test]
    fn breakpoint_stops_before_the_instruction_and_resumes_past_it() {
        let mut m = machine();
        m.add_breakpoint(BASE + 12);
        assert_eq!(m.run(100), StopReason::Breakpoint { hart: 0, pc: BASE + 12 });
        assert_eq!(m.icount(), 3);
        assert_eq!(m.run(1), StopReason::BudgetExhausted);
        assert_eq!(m.hart(0).unwrap().x[12], 42);
    }

    #[test]
    fn a_breakpoint_removed_and_set_again_stops_the_next_time() {
        let mut m = machine();
        m.add_breakpoint(BASE + 16);
        assert_eq!(m.run(100), StopReason::Breakpoint { hart: 0, pc: BASE + 16 });
        m.remove_breakpoint(BASE + 16);
        assert_eq!(m.run(3), StopReason::BudgetExhausted, "j . runs on");
        m.add_breakpoint(BASE + 16);
        let before = m.icount();
        assert_eq!(m.run(100), StopReason::Breakpoint { hart: 0, pc: BASE + 16 });
        assert_eq!(m.icount(), before, "stops at once, no stale pass");
    }

    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<(Vec<u64>, Vec<MemAccess>)>>);

    impl Tracer for Recorder {
        fn instruction(&mut self, _hart: usize, pc: u64, _raw: u32) {
            self.0.lock().unwrap().0.push(pc);
        }
        fn memory(&mut self, access: &MemAccess) {
            self.0.lock().unwrap().1.push(*access);
        }
    }

    #[test]
    fn tracer_sees_every_instruction_and_access() {
        let mut m = machine();
        let rec = Recorder::default();
        m.set_tracer(Some(Box::new(rec.clone())));
        m.run(5);
        let (pcs, accesses) = rec.0.lock().unwrap().clone();
        assert_eq!(pcs, vec![BASE, BASE + 4, BASE + 8, BASE + 12, BASE + 16]);
        let kinds: Vec<_> = accesses.iter().map(|a| (a.kind, a.vaddr, a.value, a.pc)).collect();
        assert_eq!(
            kinds,
            vec![(AccessKind::Write, BASE + 0x1000, 42, BASE + 8), (AccessKind::Read, BASE + 0x1000, 42, BASE + 12)]
        );
    }

    #[test]
    fn debugger_reads_and_writes_csrs_whatever_the_privilege() {
        use crate::arch::riscv::csr;
        let mut m = machine();
        m.hart_mut(0).unwrap().privilege = crate::arch::riscv::Priv::User;
        assert!(m.debug_write_csr(0, csr::SATP, 8 << 60 | 0x1234));
        assert_eq!(m.debug_read_csr(0, csr::SATP), Some(8 << 60 | 0x1234));
        assert!(m.debug_write_csr(0, csr::FFLAGS, 0x1f));
        assert_eq!(m.debug_read_csr(0, csr::FCSR), Some(0x1f));
        assert_eq!(m.debug_read_csr(0, csr::MSTATUS).unwrap() & crate::arch::riscv::hart::mstatus::FS, 0);
        assert_eq!(m.debug_read_csr(0, csr::MHARTID), Some(0));
        assert!(!m.debug_write_csr(0, csr::MHARTID, 5), "read-only CSR");
        assert_eq!(m.debug_read_csr(0, 0x7ff), None);
        assert_eq!(m.hart(0).unwrap().privilege, crate::arch::riscv::Priv::User);
    }

    #[test]
    fn access_to_unmapped_space_is_a_guest_fault_not_a_host_panic() {
        let mut b = MachineBuilder::new(1, "ram", BASE, 0x10000).unwrap();
        // ld a0, 0(x0); then the trap vector (mtvec = 0) is unmapped too: the hart keeps faulting, the host lives.
        b.ram_mut().write(BASE, &0x0000_3503u32.to_le_bytes()).unwrap();
        b.set_reset_pc(BASE);
        let mut m = b.build();
        assert_eq!(m.run(10), StopReason::BudgetExhausted);
        let h = m.hart(0).unwrap();
        assert_eq!(h.csr.mcause, crate::arch::riscv::hart::cause::INSN_ACCESS);
    }

    fn words(code: &[u32]) -> Vec<u8> {
        code.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Records every write it gets; reads return 0x1234.
    #[derive(Clone, Default)]
    struct Probe(Arc<Mutex<Vec<(u64, u64)>>>);

    /// What a test device does when written: nothing, ask for a region to move, or send a message.
    #[derive(Clone)]
    enum OnWrite {
        Record(Probe),
        Place(&'static str),
        SendMsi(u64),
    }

    impl Device for OnWrite {
        fn kind(&self) -> &'static str {
            "test"
        }
        fn reset(&mut self) {}
        fn read(&mut self, _: u64, _: u8, _: &mut crate::DeviceBus) -> u64 {
            0x1234
        }
        fn write(&mut self, offset: u64, _: u8, value: u64, bus: &mut crate::DeviceBus) {
            match self {
                OnWrite::Record(probe) => probe.0.lock().unwrap().push((offset, value)),
                OnWrite::Place(region) => bus.place_region(region, Some(value)),
                OnWrite::SendMsi(addr) => bus.send_msi(crate::Msi { addr: *addr, data: value as u32 }),
            }
        }
        fn save(&self) -> Vec<u8> {
            Vec::new()
        }
        fn restore(&mut self, _: &[u8]) -> Result<(), crate::device::RestoreError> {
            Ok(())
        }
        fn inspect(&self) -> Vec<(String, String)> {
            Vec::new()
        }
    }

    /// lui a0,0x20000; lui a1,0x30000; sw a1,0(a0); lw a2,0(a1); j .
    const STORE_THEN_LOAD: [u32; 5] = [0x2000_0537, 0x3000_05b7, 0x00b5_2023, 0x0005_a603, 0x0000_006f];

    #[test]
    fn a_device_moves_a_region_and_the_next_instruction_sees_it_there() {
        let mut b = MachineBuilder::new(1, "ram", BASE, 0x10000).unwrap();
        b.ram_mut().write(BASE, &words(&STORE_THEN_LOAD)).unwrap();
        let bar = b.add_device("bar", 0x1000_0000, 0x1000, Box::new(OnWrite::Record(Probe::default())));
        b.add_device("bridge", 0x2000_0000, 0x1000, Box::new(OnWrite::Place("bar")));
        let mut m = b.build();
        assert_eq!(m.run(4), StopReason::BudgetExhausted);
        assert_eq!(m.hart(0).unwrap().x[12], 0x1234, "the load after the store reached the moved region");
        assert_eq!(m.flat_view().resolve(0x3000_0004), Some(FlatTarget::Io { device: bar, offset: 4 }));
        assert_eq!(m.flat_view().resolve(0x1000_0000), None, "nothing left at the old address");
        assert!(m.memory_tree().render_mtree().contains("0000000030000000-0000000030000fff (prio 0, i/o): bar"));
    }

    /// Code in a ROM runs translated; swapping ROMs under it with a topology transaction runs the new code.
    #[test]
    fn a_topology_change_drops_code_decoded_and_translated_from_the_old_map() {
        for jit in [None, Some(1)] {
            let mut b = MachineBuilder::new(1, "ram", BASE, 0x10000).unwrap();
            // loop: lui t0,1; jalr ra,0(t0); j loop
            b.ram_mut().write(BASE, &words(&[0x0000_12b7, 0x0002_80e7, 0xff9f_f06f])).unwrap();
            b.add_rom("rom-a", 0x1000, 0x1000, words(&[0x0015_0513, 0x0000_8067])); // addi a0,a0,1; ret
            b.add_rom("rom-b", 0x8000, 0x1000, words(&[0x0645_0513, 0x0000_8067])); // addi a0,a0,100; ret
            let mut m = b.build();
            m.set_jit(jit);
            m.run(5 * 1000);
            assert_eq!(m.hart(0).unwrap().x[10], 1000, "{jit:?}: rom-a ran 1000 times");
            m.update_topology(|root| {
                assert!(root.place_subregion("rom-a", None));
                assert!(root.place_subregion("rom-b", Some(0x1000)));
            });
            m.run(5 * 10);
            assert_eq!(m.hart(0).unwrap().x[10], 2000, "{jit:?}: rom-b ran 10 times");
        }
    }

    #[test]
    fn a_message_signalled_interrupt_is_a_write_the_receiver_sees() {
        let mut b = MachineBuilder::new(1, "ram", BASE, 0x10000).unwrap();
        // lui a0,0x20000; li a1,77; sw a1,0(a0); j .
        b.ram_mut().write(BASE, &words(&[0x2000_0537, 0x04d0_0593, 0x00b5_2023, 0x0000_006f])).unwrap();
        let probe = Probe::default();
        b.add_device("imsic", 0x1000_0000, 0x1000, Box::new(OnWrite::Record(probe.clone())));
        b.add_device("sender", 0x2000_0000, 0x1000, Box::new(OnWrite::SendMsi(0x1000_0008)));
        let mut m = b.build();
        m.run(3);
        assert_eq!(*probe.0.lock().unwrap(), vec![(8, 77)]);
    }

    #[test]
    fn a_message_to_ram_lands_there_and_one_to_nowhere_is_dropped() {
        for (target, expect_in_ram) in [(BASE + 0x2000, true), (0x5000_0000, false)] {
            let mut b = MachineBuilder::new(1, "ram", BASE, 0x10000).unwrap();
            b.ram_mut().write(BASE, &words(&[0x2000_0537, 0x04d0_0593, 0x00b5_2023, 0x0000_006f])).unwrap();
            b.add_device("sender", 0x2000_0000, 0x1000, Box::new(OnWrite::SendMsi(target)));
            let mut m = b.build();
            assert_eq!(m.run(10), StopReason::BudgetExhausted, "the hart runs on");
            assert_eq!(m.ram().read_u32(BASE + 0x2000) == Some(77), expect_in_ram);
        }
    }

    #[test]
    fn interrupt_lines_above_64_are_carried_and_saved() {
        let mut m = machine();
        crate::DeviceBus::new(0, &mut m.plat.ram, &mut m.plat.signals).set_irq(100, true);
        let state = m.save_cpu_state();
        assert!(state.irq_lines.level(100));
        let hash_high = m.cpu_hash();
        crate::DeviceBus::new(0, &mut m.plat.ram, &mut m.plat.signals).set_irq(100, false);
        assert_ne!(m.cpu_hash(), hash_high, "a line above 64 is part of the state hash");
        m.restore_cpu_state(&state).unwrap();
        assert_eq!(m.cpu_hash(), hash_high);
    }
}
