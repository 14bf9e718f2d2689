//! The monitor's commands (`info mtree`, `info registers`, `x`, ...): one table that gdb's `monitor` command uses
//! now and the standalone monitor REPL will share. Where QEMU's HMP has a command, its spelling and output follow
//! QEMU's.

mod history;
mod info;
mod memory;
mod paging;

use crate::symbols::Symbols;
pub use memory::{mapped, parse_address, read_instruction, read_memory, DumpDefaults};
pub use paging::info_mem as page_table;
use rewind::{Machine, WatchKind, Watchpoint};
use std::fmt::Write;

/// What a monitor command works on.
pub struct Monitor<'a> {
    pub machine: &'a mut Machine,
    /// The hart `info registers` shows (gdb's current thread).
    pub hart: usize,
    /// Debugger memory accesses use physical addresses.
    pub phys: &'a mut bool,
    /// The execution history, when the machine runs with `--reverse`.
    pub history: Option<&'a mut rewind_replay::Timeline>,
    /// Named snapshots (`savevm` / `loadvm`).
    pub snapshots: &'a mut std::collections::BTreeMap<String, Snapshot>,
    /// Where a long command (a seek) reports how far it got while it runs: (instruction count now, target).
    pub progress: &'a mut dyn FnMut(u64, u64),
    /// The format and size `x`/`xp` use when a command gives none (sticky, as in QEMU).
    pub dump: &'a mut DumpDefaults,
    /// Whether the machine is stopped by `stop` (for `info status`).
    pub paused: bool,
    /// Symbols for addresses, if any were loaded.
    pub symbols: Option<&'a Symbols>,
    /// The breakpoints and watchpoints debuggers set (for `info breakpoints`).
    pub breakpoints: Vec<u64>,
    /// What the command asks of the session beyond its text (set by `stop`, `cont`, `quit`, `system_reset`,
    /// `break`, `watch`, `symbols`).
    pub request: Option<Request>,
}

/// A change to the run that a command asks for; the session carries it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Stop,
    Cont,
    Quit,
    Reset,
    Break(u64),
    Delete(u64),
    Watch(Watchpoint),
    Unwatch(Watchpoint),
    /// Load symbols from this ELF file.
    Symbols(std::path::PathBuf),
    /// Start the gdb server on this endpoint (`tcp::PORT`, `PORT`, `unix:PATH`).
    GdbServer(String),
}

/// What gdb must be told after a command moved execution: it keeps the registers and frames of the last stop
/// until told to read them again.
pub const GDB_REFRESH_HINT: &str = "(gdb: `maintenance flush register-cache` shows the new point; the rewind-goto and \
     rewind-loadvm commands of debugger/gdb/rewind.gdb do both)";

/// A named snapshot: a point in the history (cheap, with `--reverse` or a replay), or the whole machine state.
pub enum Snapshot {
    At(u64),
    State(Box<rewind::MachineState>),
}

type Handler = fn(&mut Monitor<'_>, &[&str]) -> Result<String, String>;

/// One command: its words, a one-line help, what it does.
pub struct Command {
    pub name: &'static str,
    pub help: &'static str,
    run: Handler,
}

pub const COMMANDS: &[Command] = &[
    Command { name: "help", help: "list the monitor commands", run: help },
    Command {
        name: "info mtree",
        help: "info mtree [-f]: the memory-region tree, or with -f the flat view dispatch uses, as QEMU's",
        run: info_mtree,
    },
    Command {
        name: "info registers",
        help: "the current hart's registers, privilege level and key CSRs",
        run: info_registers,
    },
    Command { name: "info devices", help: "every device and its state", run: info_devices },
    Command {
        name: "info mem",
        help: "the current hart's page table (satp): virtual ranges, physical, size, permissions, as QEMU's",
        run: |m, _| paging::info_mem(m.machine, m.hart),
    },
    Command {
        name: "info tlb",
        help: "every translation of the current hart's page table, one page per line (vaddr: paddr size attr)",
        run: |m, _| paging::info_tlb(m.machine, m.hart),
    },
    Command {
        name: "info irq",
        help: "how often each interrupt line went high: the platform's (PLIC sources), then each hart's",
        run: info::irq,
    },
    Command {
        name: "info pic",
        help: "the interrupt controller: each source's priority, level, pending, claimed, enabling contexts",
        run: info::pic,
    },
    Command {
        name: "info pci",
        help: "the PCI functions: IDs, class, interrupt pin, BARs where the guest placed them, as QEMU's",
        run: |m, _| Ok(m.machine.pci_functions().concat()),
    },
    Command {
        name: "info blockstats",
        help: "each disk's reads, writes and flushes, in operations and bytes, as QEMU's",
        run: info::blockstats,
    },
    Command { name: "info roms", help: "the images the board loaded: address, size, name, as QEMU's", run: info::roms },
    Command {
        name: "backtrace|bt",
        help: "the current hart's call stack, from the symbol file's call-frame information",
        run: backtrace,
    },
    Command { name: "info cpus", help: "every hart, its pc and whether it waits (wfi)", run: info_cpus },
    Command { name: "info status", help: "whether the machine runs or is stopped", run: info_status },
    Command {
        name: "stop",
        help: "stop the machine (virtual time stands still)",
        run: |m, _| request(m, Request::Stop),
    },
    Command { name: "cont|c", help: "resume the machine after stop", run: |m, _| request(m, Request::Cont) },
    Command { name: "system_reset", help: "reset the machine: a fresh boot", run: |m, _| request(m, Request::Reset) },
    Command { name: "quit|q", help: "end rewind", run: |m, _| request(m, Request::Quit) },
    Command {
        name: "x",
        help: "x /fmt addr: virtual memory dump through the current hart's MMU (fmt: count, x d u o c i, b h w g)",
        run: |m, args| memory::dump(m.machine, m.hart, m.symbols, false, m.dump, args),
    },
    Command {
        name: "xp",
        help: "xp /fmt addr: physical memory dump (device registers are not read)",
        run: |m, args| memory::dump(m.machine, m.hart, m.symbols, true, m.dump, args),
    },
    Command {
        name: "memsave",
        help: "memsave addr size file: save virtual memory (through the current hart's MMU) to a file",
        run: |m, args| memory::save(m.machine, m.hart, m.symbols, false, args),
    },
    Command {
        name: "pmemsave",
        help: "pmemsave addr size file: save physical memory to a file",
        run: |m, args| memory::save(m.machine, m.hart, m.symbols, true, args),
    },
    Command { name: "info icount", help: "instructions executed, in total and per hart", run: info_icount },
    Command { name: "replay where", help: "the current instruction count (with --reverse)", run: replay_where },
    Command { name: "replay goto", help: "replay goto N: move execution to instruction count N", run: replay_goto },
    Command { name: "replay checkpoints", help: "the checkpoints reverse execution uses", run: replay_checkpoints },
    Command { name: "savevm", help: "savevm NAME: remember this point of execution", run: savevm },
    Command { name: "loadvm", help: "loadvm NAME: go back (or forward) to a saved point", run: loadvm },
    Command {
        name: "delvm",
        help: "delvm NAME: forget a saved point",
        run: |m, args| match args {
            [name] => match m.snapshots.remove(*name) {
                Some(_) => Ok(String::new()),
                None => Err(format!("no snapshot '{name}' (see info snapshots)")),
            },
            _ => Err("usage: delvm NAME".into()),
        },
    },
    Command { name: "info snapshots", help: "the named snapshots", run: info_snapshots },
    Command {
        name: "when",
        help: "where the run is: instruction count, virtual time, the hart's pc",
        run: history::when,
    },
    Command {
        name: "last-write",
        help: "last-write ADDR [LEN]: the last write there before now (who, where, old -> new); needs a history",
        run: history::last_write,
    },
    Command {
        name: "writes",
        help: "writes ADDR [LEN] [FROM [TO]]: every write there between two instruction counts; needs a history",
        run: history::writes,
    },
    Command {
        name: "until",
        help: "until CONDITION: run the history on to the first instruction where it holds (pc == SYMBOL, a0 != 0, \
               *(u32 *)&jiffies > 100, with and/or)",
        run: history::until,
    },
    Command {
        name: "first-exec",
        help: "first-exec LOCATION: the first time a hart executes it; needs a history",
        run: history::first_exec,
    },
    Command {
        name: "break|b",
        help: "break LOCATION: stop when a hart reaches it (an address, $reg or symbol[+offset])",
        run: |m, args| location(m, args, "break").map(|a| (m.request = Some(Request::Break(a)), String::new()).1),
    },
    Command {
        name: "delete|d",
        help: "delete LOCATION: remove the breakpoint there",
        run: |m, args| location(m, args, "delete").map(|a| (m.request = Some(Request::Delete(a)), String::new()).1),
    },
    Command {
        name: "watch",
        help: "watch LOCATION [LEN] [r|w|a]: stop on a write (or read, or any access) of LEN bytes (default 8)",
        run: |m, args| watch(m, args, false),
    },
    Command {
        name: "unwatch",
        help: "unwatch LOCATION [LEN] [r|w|a]: remove a watchpoint",
        run: |m, args| watch(m, args, true),
    },
    Command {
        name: "gdbserver",
        help: "gdbserver [tcp::PORT|PORT|unix:PATH]: start the gdb server now (default tcp::1234), as QEMU's",
        run: |m, args| match args {
            [] | [_] => {
                m.request = Some(Request::GdbServer(args.first().unwrap_or(&"tcp::1234").to_string()));
                Ok(String::new())
            }
            _ => Err("usage: gdbserver [tcp::PORT]".into()),
        },
    },
    Command { name: "info breakpoints", help: "the breakpoints and watchpoints set", run: info_breakpoints },
    Command {
        name: "symbols",
        help: "symbols FILE: take addresses' names and source lines from an ELF file (vmlinux)",
        run: |m, args| match args {
            [file] => {
                m.request = Some(Request::Symbols(file.into()));
                Ok(String::new())
            }
            _ => Err("usage: symbols FILE".into()),
        },
    },
    Command {
        name: "phys",
        help: "phys on|off: the debugger reads and writes physical (on) or virtual (off) addresses",
        run: phys,
    },
];

/// Every command as it can be typed (`cont|c` gives `cont` and `c`; `info mtree` whole), sorted, for completion.
pub fn command_names() -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for c in COMMANDS {
        let mut spellings = vec![String::new()];
        for word in c.name.split(' ') {
            spellings = spellings
                .iter()
                .flat_map(|head| {
                    word.split('|').map(move |alt| format!("{head}{}{alt}", if head.is_empty() { "" } else { " " }))
                })
                .collect();
        }
        names.extend(spellings);
    }
    names.sort();
    names.dedup();
    names
}

/// The one address argument of `command`.
fn location(m: &Monitor<'_>, args: &[&str], command: &str) -> Result<u64, String> {
    match args {
        [at] => parse_address(m.machine, m.hart, m.symbols, at),
        _ => Err(format!("usage: {command} LOCATION")),
    }
}

/// `watch` / `unwatch LOCATION [LEN] [r|w|a]`.
fn watch(m: &mut Monitor<'_>, args: &[&str], remove: bool) -> Result<String, String> {
    let usage = || format!("usage: {} LOCATION [LEN] [r|w|a]", if remove { "unwatch" } else { "watch" });
    let (at, rest) = args.split_first().ok_or_else(usage)?;
    let addr = parse_address(m.machine, m.hart, m.symbols, at)?;
    let mut w = Watchpoint { addr, len: 8, kind: WatchKind::Write };
    for arg in rest {
        match *arg {
            "r" => w.kind = WatchKind::Read,
            "w" => w.kind = WatchKind::Write,
            "a" => w.kind = WatchKind::Access,
            n => {
                w.len = parse_address(m.machine, m.hart, None, n)
                    .ok()
                    .filter(|l| (1..=1 << 20).contains(l))
                    .ok_or_else(usage)?
            }
        }
    }
    m.request = Some(if remove { Request::Unwatch(w) } else { Request::Watch(w) });
    Ok(String::new())
}

fn info_breakpoints(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let mut s = String::new();
    for addr in &m.breakpoints {
        let name = crate::symbols::describe(m.symbols, *addr).map(|d| format!(" <{d}>")).unwrap_or_default();
        let _ = writeln!(s, "breakpoint {addr:#x}{name}");
    }
    for w in m.machine.watchpoints() {
        let _ = writeln!(s, "watchpoint {:#x} len {} {:?}", w.addr, w.len, w.kind);
    }
    if s.is_empty() {
        s.push_str("no breakpoints or watchpoints\n");
    }
    Ok(s)
}

/// Runs one command line; the text to show, or an error message.
pub fn execute(m: &mut Monitor<'_>, line: &str) -> Result<String, String> {
    // QEMU takes `x/8xw addr` as well as `x /8xw addr`.
    let line = match line.trim_start().split_once('/') {
        Some((cmd @ ("x" | "xp"), spec)) => format!("{cmd} /{spec}"),
        _ => line.to_string(),
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.is_empty() {
        return help(m, &[]);
    }
    // A command's words match in order; a word may have alternatives (`cont|c`).
    let best = COMMANDS
        .iter()
        .filter(|c| {
            let n: Vec<&str> = c.name.split(' ').collect();
            words.len() >= n.len() && n.iter().zip(&words).all(|(a, b)| a.split('|').any(|alt| alt == *b))
        })
        .max_by_key(|c| c.name.len());
    match best {
        Some(c) => (c.run)(m, &words[c.name.split(' ').count()..]),
        None => Err(format!("unknown command '{}' (try 'monitor help')", line.trim())),
    }
}

fn help(_: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let mut s = String::new();
    for c in COMMANDS {
        let _ = writeln!(s, "{:<16} {}", c.name, c.help);
    }
    Ok(s)
}

fn replay_where(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let history = if m.history.is_some() { "with history" } else { "no history: run with --reverse" };
    Ok(format!("instruction {} ({history})\n", m.machine.icount()))
}

fn replay_goto(m: &mut Monitor<'_>, args: &[&str]) -> Result<String, String> {
    let target: u64 =
        args.first().and_then(|a| a.replace('_', "").parse().ok()).ok_or("usage: replay goto INSTRUCTION-COUNT")?;
    let stop = seek(m, target)?;
    let now = m.machine.icount();
    match stop {
        rewind_replay::TimelineStop::Diverged(why) => Err(format!("cannot go there: {why}")),
        _ if now == target => Ok(format!("at instruction {now}\n{GDB_REFRESH_HINT}\n")),
        _ => Ok(format!("history ends at instruction {now}\n{GDB_REFRESH_HINT}\n")),
    }
}

/// Seeks the history to `target`, reporting progress on the way.
fn seek(m: &mut Monitor<'_>, target: u64) -> Result<rewind_replay::TimelineStop, String> {
    let history = m.history.as_deref_mut().ok_or("no history: run rewind with --reverse")?;
    let stop = history.seek_with_progress(m.machine, target, &mut *m.progress);
    // As after a breakpoint stop: resuming from the new point does not stop at a breakpoint on its pc first.
    m.machine.step_over_breakpoint_here(m.hart);
    Ok(stop)
}

fn savevm(m: &mut Monitor<'_>, args: &[&str]) -> Result<String, String> {
    let name = args.first().ok_or("usage: savevm NAME")?.to_string();
    let icount = m.machine.icount();
    let snapshot = match m.history {
        Some(_) => Snapshot::At(icount),
        None => Snapshot::State(Box::new(m.machine.save_state())),
    };
    m.snapshots.insert(name.clone(), snapshot);
    Ok(format!("saved '{name}' at instruction {icount}\n"))
}

fn loadvm(m: &mut Monitor<'_>, args: &[&str]) -> Result<String, String> {
    let name = args.first().ok_or("usage: loadvm NAME")?;
    match m.snapshots.get(*name).ok_or_else(|| format!("no snapshot '{name}' (see info snapshots)"))? {
        Snapshot::At(icount) => {
            let target = *icount;
            if let rewind_replay::TimelineStop::Diverged(why) = seek(m, target)? {
                return Err(format!("cannot go back to '{name}': {why}"));
            }
        }
        Snapshot::State(state) => {
            m.machine.restore_state(state).map_err(|e| e.to_string())?;
            m.machine.step_over_breakpoint_here(m.hart);
        }
    }
    Ok(format!("loaded '{name}': at instruction {}\n{GDB_REFRESH_HINT}\n", m.machine.icount()))
}

fn info_snapshots(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let mut s = String::new();
    for (name, snap) in m.snapshots.iter() {
        let _ = match snap {
            Snapshot::At(i) => writeln!(s, "{name:<16} instruction {i} (in the history)"),
            Snapshot::State(st) => {
                let i: u64 = st.cpu.harts.iter().map(|h| h.icount).sum();
                writeln!(s, "{name:<16} instruction {i} (full state)")
            }
        };
    }
    if s.is_empty() {
        s.push_str("no snapshots\n");
    }
    Ok(s)
}

fn replay_checkpoints(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let history = m.history.as_deref().ok_or("no history: run rewind with --reverse")?;
    let store = history.checkpoints();
    let mut s = format!("{} checkpoints, {} KiB\n", store.len(), store.bytes() / 1024);
    for c in store.info() {
        let _ = writeln!(s, "  instruction {:>12}  {:>6} pages  {:>8} KiB", c.icount, c.pages, c.bytes / 1024);
    }
    Ok(s)
}

fn info_mtree(m: &mut Monitor<'_>, args: &[&str]) -> Result<String, String> {
    match args {
        [] => Ok(m.machine.memory_tree().render_mtree()),
        ["-f"] => Ok(m.machine.flat_view().render(m.machine.hart_count())),
        _ => Err("usage: info mtree [-f]".into()),
    }
}

/// QEMU's layout (`riscv_cpu_dump_state`) without the hypervisor rows, which this hart does not have, and with two
/// lines QEMU does not print: the privilege level and the instruction count.
fn info_registers(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    use rewind::arch::riscv::csr::*;
    use rewind::arch::riscv::regs::{abi_name, F_NAMES};
    let h = m.machine.hart(m.hart).ok_or_else(|| format!("no hart {}", m.hart))?;
    let mut s = format!("CPU#{}\n {:<8} {:016x}\n", m.hart, "pc", h.pc);
    let csrs = [
        ("mhartid", MHARTID),
        ("mstatus", MSTATUS),
        ("mip", MIP),
        ("mie", MIE),
        ("mideleg", MIDELEG),
        ("medeleg", MEDELEG),
        ("mtvec", MTVEC),
        ("stvec", STVEC),
        ("mepc", MEPC),
        ("sepc", SEPC),
        ("mcause", MCAUSE),
        ("scause", SCAUSE),
        ("mtval", MTVAL),
        ("stval", STVAL),
        ("mscratch", MSCRATCH),
        ("sscratch", SSCRATCH),
        ("satp", SATP),
    ];
    for (name, csr) in csrs {
        let _ = writeln!(s, " {name:<8} {:016x}", m.machine.debug_read_csr(m.hart, csr).unwrap_or(0));
    }
    let banks = [(&h.x, 'x', &abi_name as &dyn Fn(usize) -> &'static str), (&h.f, 'f', &|i: usize| F_NAMES[i])];
    for (values, prefix, name) in banks {
        for (i, v) in values.iter().enumerate() {
            let _ = write!(s, " {:<8} {v:016x}", format!("{prefix}{i}/{}", name(i)));
            if i % 4 == 3 {
                s.push('\n');
            }
        }
    }
    let _ = writeln!(s, " {:<8} {:?}\n {:<8} {}", "priv", h.privilege, "icount", h.icount);
    Ok(s)
}

/// The call stack of `hart`: its pc, then each caller's return address, innermost first (from the symbol file's
/// call-frame information; just the pc without it).
pub fn call_stack(machine: &Machine, hart: usize, symbols: &Symbols) -> Vec<u64> {
    let Some(h) = machine.hart(hart) else { return Vec::new() };
    let read =
        |addr: u64| read_memory(machine, hart, false, addr, 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
    let mut stack = vec![h.pc];
    stack.extend(symbols.callers(h.pc, &h.x, &read));
    stack
}

/// `#N  address in function+offset at file:line`, as gdb's `bt` prints a frame.
pub fn describe_frame(symbols: &Symbols, n: usize, pc: u64) -> String {
    let mut s = format!("#{n:<2} {pc:#018x}");
    // A caller's line is that of its call, just before the return address.
    let line_at = if n == 0 { pc } else { pc.wrapping_sub(1) };
    if let Some(name) = crate::symbols::describe(Some(symbols), pc) {
        let _ = write!(s, " in {name}");
    }
    if let Some((file, line)) = symbols.source_line(line_at) {
        let _ = write!(s, " at {file}:{line}");
    }
    s
}

fn backtrace(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let symbols = m.symbols.ok_or("backtrace needs symbols: load them with `symbols FILE` or --symbols")?;
    let mut s = String::new();
    for (n, pc) in call_stack(m.machine, m.hart, symbols).into_iter().enumerate() {
        let _ = writeln!(s, "{}", describe_frame(symbols, n, pc));
    }
    Ok(s)
}

fn info_devices(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let mut s = String::new();
    for d in m.machine.inspect_devices() {
        let _ = writeln!(s, "{} ({})", d.name, d.kind);
        for (k, v) in d.state {
            let _ = writeln!(s, "  {k}: {v}");
        }
    }
    Ok(s)
}

fn request(m: &mut Monitor<'_>, request: Request) -> Result<String, String> {
    m.request = Some(request);
    Ok(String::new())
}

/// As QEMU's.
fn info_status(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    Ok(format!("VM status: {}\n", if m.paused { "paused" } else { "running" }))
}

/// As QEMU's, with the pc (QEMU prints the host thread id, which means nothing for harts that share one thread).
fn info_cpus(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let mut s = String::new();
    for i in 0..m.machine.hart_count() {
        if let Some(h) = m.machine.hart(i) {
            let current = if i == m.hart { '*' } else { ' ' };
            let waiting = if h.wfi { " (halted)" } else { "" };
            let _ = writeln!(s, "{current} CPU #{i}: pc=0x{:016x}{waiting}", h.pc);
        }
    }
    Ok(s)
}

fn info_icount(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let mut s = format!("total {}\n", m.machine.icount());
    for i in 0..m.machine.hart_count() {
        if let Some(h) = m.machine.hart(i) {
            let _ = writeln!(s, "hart {i} {}", h.icount);
        }
    }
    Ok(s)
}

fn phys(m: &mut Monitor<'_>, args: &[&str]) -> Result<String, String> {
    match args {
        ["on"] => *m.phys = true,
        ["off"] => *m.phys = false,
        [] => {}
        _ => return Err("usage: phys on|off".into()),
    }
    Ok(format!("debugger memory accesses use {} addresses\n", if *m.phys { "physical" } else { "virtual" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        let mut b = rewind::MachineBuilder::new(2, "ram", 0x8000_0000, 0x10000).unwrap();
        b.set_reset_pc(0x8000_0000);
        b.build()
    }

    /// Runs `f` with a monitor on a fresh two-hart machine without history, looking at `hart`.
    fn with_monitor(hart: usize, f: impl FnOnce(&mut Monitor<'_>)) {
        let mut machine = machine();
        let mut phys = false;
        let mut snapshots = std::collections::BTreeMap::new();
        let mut dump = DumpDefaults::default();
        f(&mut Monitor {
            machine: &mut machine,
            hart,
            phys: &mut phys,
            history: None,
            snapshots: &mut snapshots,
            progress: &mut |_, _| {},
            dump: &mut dump,
            paused: false,
            symbols: None,
            breakpoints: Vec::new(),
            request: None,
        });
    }

    #[test]
    fn savevm_and_loadvm_restore_the_whole_machine_without_history() {
        with_monitor(0, |m| {
            assert!(execute(m, "savevm start").unwrap().contains("instruction 0"));
            m.machine.run(1000);
            m.machine.hart_mut(0).unwrap().x[5] = 77;
            assert!(execute(m, "info snapshots").unwrap().contains("start"));
            assert!(execute(m, "loadvm start").unwrap().contains("at instruction 0"));
            assert_eq!((m.machine.icount(), m.machine.hart(0).unwrap().x[5]), (0, 0));
            assert!(execute(m, "loadvm nope").is_err());
            assert!(execute(m, "replay goto 5").is_err(), "no history without --reverse");
        });
    }

    #[test]
    fn commands_are_found_by_their_words() {
        with_monitor(1, |m| {
            assert!(execute(m, "help").unwrap().contains("info mtree"));
            assert!(execute(m, "").unwrap().contains("phys on|off"));
            assert!(execute(m, "info mtree").unwrap().contains("ram"));
            let regs = execute(m, "info registers").unwrap();
            assert!(regs.starts_with("CPU#1\n pc       0000000080000000\n mhartid  0000000000000001\n"), "{regs}");
            assert!(regs.contains(" x8/s0    0000000000000000 x9/s1    "), "{regs}");
            assert!(regs.contains(" f28/ft8  0000000000000000 f29/ft9  "), "{regs}");
            assert!(regs.ends_with(" priv     Machine\n icount   0\n"), "{regs}");
            assert_eq!(execute(m, "info icount").unwrap(), "total 0\nhart 0 0\nhart 1 0\n");
            assert!(execute(m, "phys on").unwrap().contains("physical"));
            assert!(*m.phys);
            assert!(execute(m, "phys maybe").is_err());
            assert!(execute(m, "info").is_err());
            assert!(execute(m, "frobnicate").unwrap_err().contains("unknown command 'frobnicate'"));
            assert_eq!(execute(m, "xp/2xw 0x80000000").unwrap(), "0000000080000000: 0x00000000 0x00000000\n");
            assert_eq!(execute(m, "x 0x80000000").unwrap(), "0000000080000000: 0x00000000\n");
            assert_eq!(execute(m, "info status").unwrap(), "VM status: running\n");
            for (line, request) in
                [("stop", Request::Stop), ("c", Request::Cont), ("cont", Request::Cont), ("q", Request::Quit)]
            {
                m.request = None;
                assert_eq!(execute(m, line).unwrap(), "");
                assert_eq!(m.request, Some(request), "{line}");
            }
            assert!(execute(m, "help").unwrap().contains("cont|c"));
            assert_eq!(
                execute(m, "info cpus").unwrap(),
                "  CPU #0: pc=0x0000000080000000\n* CPU #1: pc=0x0000000080000000\n"
            );
        });
    }
}
