//! What the TUI shows, captured from the session in one go: the renderer draws a [`Screen`] on its own thread
//! while the machine runs on, so the emulator never waits for the terminal. Capturing is cheap (registers, a few
//! hundred bytes of code, the devices' state) and happens at most ~30 times a second while the guest runs.

use super::layout::{Layout, Pane};
use super::{ConsoleLog, Tui};
use crate::session::Session;
use crate::symbols::{self, Symbols};
use rewind::arch::riscv::disasm::disassemble;
use rewind::arch::riscv::regs::{abi_name, F_NAMES};
use rewind::machine::AccessCount;
use rewind::Machine;

/// One register and whether it changed since the previous stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    pub name: String,
    pub value: u64,
    pub changed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisasmLine {
    pub addr: u64,
    /// The symbol that starts here, shown as a `<name>:` heading.
    pub label: Option<String>,
    /// The instruction, or why it cannot be read.
    pub text: String,
    pub pc: bool,
    pub cursor: bool,
    pub breakpoint: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceView {
    pub name: String,
    pub kind: String,
    /// Each field, its value, and whether it changed since the previous stop.
    pub state: Vec<(String, String, bool)>,
}

/// The run from its start to its end (a recording's end, or as far as it got), and what happened on the way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimelineView {
    pub icount: u64,
    /// Virtual time in timebase ticks.
    pub now: u64,
    /// Where the bar ends: a recording's end, or the furthest point the run reached.
    pub end: u64,
    pub checkpoints: Vec<u64>,
    /// Breakpoint and watchpoint hits seen so far.
    pub hits: Vec<u64>,
    /// Where recorded input reached the machine.
    pub inputs: Vec<u64>,
    /// Where a recording of a failing guest (`rewind record` stopped at a panic or trap loop) captured it.
    pub failure: Option<u64>,
    /// Whether the run can go backwards.
    pub reversible: bool,
}

impl TimelineView {
    /// The instants `<` and `>` move between: recorded input, breakpoint and watchpoint hits, a captured failure.
    pub fn marks(&self) -> impl Iterator<Item = u64> + '_ {
        self.inputs.iter().chain(&self.hits).copied().chain(self.failure)
    }
}

/// One line of the memory-region tree, and how often the guest accessed the device it maps since the machine
/// last resumed (`None` for regions that are not device registers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtreeLine {
    pub text: String,
    pub accesses: Option<AccessCount>,
}

/// An address and the 16 bytes there, if they can be read.
pub type MemoryRow = (u64, Option<Vec<u8>>);

/// Everything one frame shows.
#[derive(Clone, Debug)]
pub struct Screen {
    pub layout: Layout,
    pub focus: Pane,
    /// What the machine does: `running`, `stopped: breakpoint at start_kernel`, ...
    pub status: String,
    pub hart: usize,
    pub harts: usize,
    pub privilege: String,
    pub registers: Vec<Register>,
    pub disasm: Vec<DisasmLine>,
    /// `function+0x10 at file.c:123` for the pc (or the disassembly cursor).
    pub location: Option<String>,
    /// The call stack, `#N address in function+offset at file:line`, innermost first (empty without symbols).
    pub backtrace: Vec<String>,
    pub memory_title: String,
    pub memory: Vec<MemoryRow>,
    /// The hart's page table (`info mem`), shown instead of the bytes when asked for.
    pub page_table: Option<Vec<String>>,
    pub mtree: Vec<MtreeLine>,
    pub mtree_cursor: usize,
    pub devices: Vec<DeviceView>,
    /// The console lines in view (at most the pane's height is drawn, from the end), and the selected one.
    pub console: Vec<String>,
    pub console_cursor: Option<usize>,
    pub console_typing: bool,
    pub timeline: TimelineView,
    /// The command pane's last lines.
    pub log: Vec<String>,
    /// The command line being typed.
    pub command: Option<String>,
    /// The help pane, when shown: each action's keys, its name in the config file, what it does.
    pub help: Option<Vec<(String, &'static str, &'static str)>>,
}

/// Lines of code captured before the cursor, and in all.
const DISASM_BEFORE: usize = 12;
const DISASM_LINES: usize = 64;
/// Console lines captured (more than any pane shows).
pub const CONSOLE_LINES: usize = 200;
/// Memory rows of 16 bytes.
const MEMORY_ROWS: u64 = 32;
/// Lines of the command pane kept in a frame.
const LOG_LINES: usize = 32;

/// Captures the frame for `tui`'s state from `session`.
pub fn capture(tui: &Tui, session: &mut Session) -> Screen {
    let machine = &session.machine;
    let hart = tui.hart.min(machine.hart_count().saturating_sub(1));
    let symbols = session.symbols();
    let pc = machine.hart(hart).map_or(0, |h| h.pc);
    let center = tui.disasm_cursor.unwrap_or(pc);
    let physical = session.debug.phys;
    // Code is read where memory is (an unmapped address reads as zeros in `x`, but is no instruction).
    let fetch = |addr: u64| {
        crate::monitor::mapped(machine, hart, physical, addr)
            .then(|| crate::monitor::read_instruction(machine, hart, physical, addr))
            .flatten()
    };
    let disasm = disassembly(machine.breakpoints(), symbols, &fetch, pc, center);
    let location = symbols::describe(symbols, center).map(|d| match symbols.and_then(|s| s.source_line(center)) {
        Some((file, line)) => format!("{d} at {file}:{line}"),
        None => d,
    });
    let backtrace = symbols.map_or_else(Vec::new, |s| {
        let stack = crate::monitor::call_stack(machine, hart, s);
        stack.into_iter().enumerate().map(|(n, pc)| crate::monitor::describe_frame(s, n, pc)).collect()
    });
    let memory_addr = tui.memory_addr.unwrap_or_else(|| machine.hart(hart).map_or(0, |h| h.x[2]));
    let (memory_title, memory) = memory_rows(machine, hart, memory_addr, tui.memory_physical);
    let page_table = tui.page_table.then(|| match crate::monitor::page_table(machine, hart) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(e) => vec![e],
    });
    let timeline = timeline(tui, session);
    let machine = &session.machine;
    Screen {
        layout: tui.layout.clone(),
        focus: tui.focus,
        status: tui.status.clone(),
        hart,
        harts: machine.hart_count(),
        privilege: machine.hart(hart).map_or(String::new(), |h| format!("{:?}", h.privilege)),
        registers: registers(machine, hart, tui.show_fp, tui.baseline.get(hart)),
        disasm,
        location,
        backtrace,
        memory_title,
        memory,
        page_table,
        mtree: if tui.layout.visible(Pane::Mtree) { mtree(machine, &tui.access_baseline) } else { Vec::new() },
        mtree_cursor: tui.mtree_cursor,
        devices: devices(
            machine,
            &tui.device_baseline,
            tui.layout.visible(Pane::Devices),
            tui.selected_device.as_deref(),
        ),
        console: tui.console.window(tui.console_scroll, CONSOLE_LINES),
        console_cursor: tui.console_cursor.map(|c| c.min(CONSOLE_LINES)),
        console_typing: tui.console_typing,
        timeline,
        log: tui.log.iter().rev().take(LOG_LINES).rev().cloned().collect(),
        command: tui.command.clone(),
        help: tui.help.then(|| tui.keys.help()),
    }
}

/// The registers a kernel developer looks at: GPRs with ABI names, pc, the trap CSRs of M and S mode, and the
/// FP registers when asked for.
pub fn register_values(machine: &Machine, hart: usize, fp: bool) -> Vec<(String, u64)> {
    use rewind::arch::riscv::csr::*;
    let Some(h) = machine.hart(hart) else { return Vec::new() };
    let mut regs = vec![("pc".to_string(), h.pc)];
    regs.extend((1..32).map(|i| (abi_name(i).to_string(), h.x[i])));
    let csrs = [
        ("mstatus", MSTATUS),
        ("satp", SATP),
        ("mcause", MCAUSE),
        ("mtval", MTVAL),
        ("mepc", MEPC),
        ("scause", SCAUSE),
        ("stval", STVAL),
        ("sepc", SEPC),
        ("mie", MIE),
        ("mip", MIP),
        ("mtvec", MTVEC),
        ("stvec", STVEC),
    ];
    regs.extend(csrs.iter().map(|(name, csr)| (name.to_string(), machine.debug_read_csr(hart, *csr).unwrap_or(0))));
    if fp {
        regs.extend((0..32).map(|i| (F_NAMES[i].to_string(), h.f[i])));
    }
    regs
}

fn registers(machine: &Machine, hart: usize, fp: bool, baseline: Option<&Vec<(String, u64)>>) -> Vec<Register> {
    register_values(machine, hart, fp)
        .into_iter()
        .map(|(name, value)| {
            let before = baseline.and_then(|b| b.iter().find(|(n, _)| *n == name)).map(|(_, v)| *v);
            Register { changed: before.is_some_and(|b| b != value), name, value }
        })
        .collect()
}

/// The instruction word at an address, where code can be read.
type Fetch<'a> = dyn Fn(u64) -> Option<u32> + 'a;

/// The code around `center`: a few instructions before it (decoded from the start of its function when that is
/// near, so compressed instructions line up), the rest after.
fn disassembly(
    breakpoints: &std::collections::BTreeSet<u64>,
    symbols: Option<&Symbols>,
    fetch: &Fetch<'_>,
    pc: u64,
    center: u64,
) -> Vec<DisasmLine> {
    let start = start_before(symbols, fetch, center);
    let mut lines = Vec::new();
    let mut addr = start;
    while lines.len() < DISASM_LINES {
        let (len, text) = match fetch(addr) {
            Some(word) => disassemble(word, addr),
            None => (2, "<cannot be read>".to_string()),
        };
        let label = symbols.and_then(|s| s.lookup(addr)).filter(|(_, off)| *off == 0).map(|(n, _)| n.to_string());
        lines.push(DisasmLine {
            addr,
            label,
            text,
            pc: addr == pc,
            cursor: addr == center,
            breakpoint: breakpoints.contains(&addr),
        });
        addr = addr.wrapping_add(len as u64);
    }
    // Keep DISASM_BEFORE lines before the cursor.
    let at = lines.iter().position(|l| l.cursor).unwrap_or(0);
    lines.drain(..at.saturating_sub(DISASM_BEFORE));
    lines
}

/// Where to start decoding so that `center` is reached on an instruction boundary with some code before it.
fn start_before(symbols: Option<&Symbols>, fetch: &Fetch<'_>, center: u64) -> u64 {
    if let Some((_, off)) = symbols.and_then(|s| s.lookup(center)) {
        if off <= 256 {
            return center - off;
        }
    }
    // Without a nearby symbol: the furthest start whose decoding lands on `center`.
    for back in (2..=DISASM_BEFORE as u64 * 4).rev().step_by(2) {
        let mut addr = center.wrapping_sub(back);
        while addr < center {
            let Some(word) = fetch(addr) else { break };
            addr += rewind::arch::riscv::decode::insn_len(word as u16) as u64;
        }
        if addr == center {
            return center - back;
        }
    }
    center
}

/// Rows of 16 bytes (`None` where memory cannot be read: not mapped, or device registers).
fn memory_rows(machine: &Machine, hart: usize, addr: u64, physical: bool) -> (String, Vec<MemoryRow>) {
    let title = format!("{} {addr:#x}", if physical { "physical" } else { "virtual" });
    let rows = (0..MEMORY_ROWS)
        .map(|row| {
            let at = addr.wrapping_add(row * 16);
            (at, crate::monitor::read_memory(machine, hart, physical, at, 16))
        })
        .collect();
    (title, rows)
}

pub fn mtree_lines(machine: &Machine) -> Vec<String> {
    machine.memory_tree().mtree_rows().into_iter().map(|row| row.text).collect()
}

/// The memory-region tree with the accesses to each device since `baseline` was taken.
fn mtree(machine: &Machine, baseline: &[AccessCount]) -> Vec<MtreeLine> {
    let counts = machine.device_accesses();
    machine
        .memory_tree()
        .mtree_rows()
        .into_iter()
        .map(|row| {
            let accesses = row.device.map(|id| {
                let now = counts.get(id).copied().unwrap_or_default();
                let before = baseline.get(id).copied().unwrap_or_default();
                // A restored checkpoint does not rewind the counters, so they never go below the baseline.
                AccessCount {
                    reads: now.reads.saturating_sub(before.reads),
                    writes: now.writes.saturating_sub(before.writes),
                }
            });
            MtreeLine { text: row.text, accesses }
        })
        .collect()
}

/// Every device's state, the `selected` one first.
fn devices(
    machine: &Machine,
    baseline: &[rewind::machine::DeviceReport],
    shown: bool,
    selected: Option<&str>,
) -> Vec<DeviceView> {
    if !shown {
        return Vec::new();
    }
    let mut reports = machine.inspect_devices();
    reports.sort_by_key(|d| Some(d.name.as_str()) != selected);
    reports
        .into_iter()
        .map(|d| {
            let before = baseline.iter().find(|b| b.name == d.name);
            let state = d
                .state
                .into_iter()
                .map(|(k, v)| {
                    let old = before.and_then(|b| b.state.iter().find(|(bk, _)| *bk == k)).map(|(_, bv)| bv);
                    let changed = old.is_some_and(|o| *o != v);
                    (k, v, changed)
                })
                .collect();
            DeviceView { name: d.name, kind: d.kind.to_string(), state }
        })
        .collect()
}

pub fn timeline(tui: &Tui, session: &mut Session) -> TimelineView {
    let icount = session.machine.icount();
    let now = session.machine.now();
    let mut view =
        TimelineView { icount, now, end: icount.max(tui.furthest), hits: tui.hits.clone(), ..Default::default() };
    if let Some(history) = session.inputs.history() {
        view.reversible = true;
        view.end = view.end.max(history.recorded_end().unwrap_or(0)).max(history.high_water());
        view.checkpoints = history.checkpoints().info().iter().map(|c| c.icount).collect();
        view.inputs = history.input_stamps().collect();
        let failed = |reason: &str| crate::session::exit_code_of(reason) == crate::session::FAILURE_EXIT;
        view.failure = history.end().filter(|(_, reason)| failed(reason)).map(|(at, _)| at);
    }
    view
}

impl ConsoleLog {
    /// Up to `n` lines ending `scroll` lines before the last one.
    pub fn window(&self, scroll: usize, n: usize) -> Vec<String> {
        let end = self.lines.len().saturating_sub(scroll);
        self.lines[end.saturating_sub(n)..end].iter().map(|l| l.text.clone()).collect()
    }
}
