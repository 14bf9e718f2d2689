//! The full-screen terminal UI (`rewind tui`, `--tui`): a front end of the session like gdb and the console. It
//! steps, continues and travels backwards through the same [`Session`] calls gdb uses, and runs the monitor's
//! commands on its command line. While the guest runs, it captures a [`screen::Screen`] at most ~30 times a
//! second and a thread of its own draws it, so the machine never waits for the terminal.

mod console_time;
mod draw;
mod keys;
mod layout;
mod screen;
mod terminal;
#[cfg(test)]
mod tests;

use crate::session::{Command, Direction, Frontend, Presence, Reported, Resume, Session, Stop, StopEvent, NO_HISTORY};
use crate::term;
use anyhow::Result;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseEventKind};
use keys::Action;
use layout::{Layout, Pane};
use rewind::machine::DeviceReport;
use std::time::{Duration, Instant};

/// The shortest time between two frames while the guest runs (~30 a second).
const FRAME: Duration = Duration::from_millis(33);
/// How long a stopped machine waits for a key before the run loop looks around again.
const KEY_WAIT: Duration = Duration::from_millis(20);
/// Instructions between two polls while the guest runs: a console line's stretch of execution is at most this long,
/// which bounds the work of finding the instant it was written.
const TUI_CHUNK: u64 = 500_000;
/// Lines the command pane and the console keep.
const LOG_KEEP: usize = 1000;
const CONSOLE_KEEP: usize = 20_000;

/// One line of the guest's console and when it was written: its first byte is the `byte`-th (from 0) the guest
/// wrote after instruction count `from`, before `to`.
#[derive(Clone, Debug, Default)]
pub struct ConsoleLine {
    pub text: String,
    pub from: u64,
    pub to: u64,
    pub byte: usize,
}

/// The guest's console output, in lines.
#[derive(Default)]
pub struct ConsoleLog {
    lines: Vec<ConsoleLine>,
    /// The last line is still being written.
    open: bool,
}

impl ConsoleLog {
    /// Adds output written between instruction counts `from` and `to`.
    fn push(&mut self, bytes: &[u8], from: u64, to: u64) {
        for (i, &b) in bytes.iter().enumerate() {
            if !self.open {
                self.lines.push(ConsoleLine { text: String::new(), from, to, byte: i });
                self.open = true;
            }
            match b {
                b'\n' => self.open = false,
                b'\r' => {}
                b'\t' => self.last_text().push_str("    "),
                0x20..=0x7e => self.last_text().push(b as char),
                _ => {}
            }
        }
        if self.lines.len() > CONSOLE_KEEP {
            self.lines.drain(..self.lines.len() - CONSOLE_KEEP);
        }
    }

    fn last_text(&mut self) -> &mut String {
        if self.lines.is_empty() {
            self.lines.push(ConsoleLine::default());
        }
        let last = self.lines.len() - 1;
        &mut self.lines[last].text
    }

    /// The line `up` lines above the last one.
    fn line_up(&self, up: usize) -> Option<&ConsoleLine> {
        self.lines.len().checked_sub(up + 1).and_then(|i| self.lines.get(i))
    }
}

/// What a step over or out waits for: the breakpoint it set, hit by `hart` with its stack pointer at least `sp`
/// (deeper recursion hits the same address with a lower one).
#[derive(Clone, Copy, Debug)]
struct Until {
    hart: usize,
    addr: u64,
    sp: u64,
    what: &'static str,
}

pub struct Tui {
    terminal: Option<terminal::Terminal>,
    layout: Layout,
    keys: keys::Keymap,
    focus: Pane,
    status: String,
    hart: usize,
    /// The disassembly's cursor; `None`: it follows the pc.
    disasm_cursor: Option<u64>,
    /// The addresses the last frame's disassembly showed (cursor moves go through them).
    disasm_addrs: Vec<u64>,
    /// Where the memory pane looks; `None`: at the current hart's stack pointer.
    memory_addr: Option<u64>,
    memory_physical: bool,
    /// The memory pane shows the page table instead of bytes.
    page_table: bool,
    mtree_cursor: usize,
    /// The device the devices pane shows first (chosen in the mtree).
    selected_device: Option<String>,
    console: ConsoleLog,
    /// Lines the console is scrolled up from its end.
    console_scroll: usize,
    /// The selected console line, counted up from the last one in view.
    console_cursor: Option<usize>,
    /// Keys go to the guest.
    console_typing: bool,
    /// `Ctrl-A` was typed while typing to the guest: the next key is the TUI's.
    ctrl_a: bool,
    log: Vec<String>,
    command: Option<String>,
    history: Vec<String>,
    history_at: Option<usize>,
    help: bool,
    show_fp: bool,
    /// Register values per hart when the machine last resumed: what differs now is highlighted.
    baseline: Vec<Vec<(String, u64)>>,
    device_baseline: Vec<DeviceReport>,
    /// Each device's access counts when the machine last resumed: the mtree shows the accesses since.
    access_baseline: Vec<rewind::machine::AccessCount>,
    hits: Vec<u64>,
    /// The furthest instruction count the run reached.
    furthest: u64,
    /// Where the console output that comes next started.
    output_from: u64,
    until: Option<Until>,
    powered_off: Option<u32>,
    last_frame: Option<Instant>,
    /// The machine was let run at the last poll (by whichever front end).
    machine_ran: bool,
    /// The TUI itself let it run (its keys), rather than another front end.
    resumed_here: bool,
    dirty: bool,
    quit: Option<i32>,
}

impl Tui {
    /// Takes over the terminal. The machine starts stopped, so breakpoints can be set before it runs.
    pub fn start(session: &mut Session) -> Result<Tui> {
        let terminal = terminal::Terminal::open()?;
        let mut tui = Tui::headless(session);
        tui.terminal = Some(terminal);
        Ok(tui)
    }

    /// A TUI without a terminal (tests draw its frames on a `TestBackend`).
    fn headless(session: &mut Session) -> Tui {
        session.debug.resume = Resume::Halted;
        let config = layout::config_text();
        let (keys, config_errors) = keys::Keymap::from_config(&config);
        let mut tui = Tui {
            terminal: None,
            layout: Layout::from_config(&config),
            keys,
            focus: Pane::Disassembly,
            status: "stopped at reset: c continues, ? shows the keys".into(),
            hart: 0,
            disasm_cursor: None,
            disasm_addrs: Vec::new(),
            memory_addr: None,
            memory_physical: session.debug.phys,
            page_table: false,
            mtree_cursor: 0,
            selected_device: None,
            console: ConsoleLog::default(),
            console_scroll: 0,
            console_cursor: None,
            console_typing: false,
            ctrl_a: false,
            log: Vec::new(),
            command: None,
            history: Vec::new(),
            history_at: None,
            help: false,
            show_fp: false,
            baseline: Vec::new(),
            device_baseline: Vec::new(),
            access_baseline: Vec::new(),
            hits: Vec::new(),
            furthest: session.machine.icount(),
            output_from: session.machine.icount(),
            until: None,
            powered_off: None,
            last_frame: None,
            machine_ran: false,
            resumed_here: false,
            dirty: true,
            quit: None,
        };
        tui.note_baseline(session);
        for e in config_errors {
            tui.say(e);
        }
        tui
    }

    fn say(&mut self, text: impl Into<String>) {
        let text: String = text.into();
        for line in text.lines() {
            self.log.push(line.to_string());
        }
        if self.log.len() > LOG_KEEP {
            self.log.drain(..self.log.len() - LOG_KEEP);
        }
        self.dirty = true;
    }

    /// Remembers the machine's values as it resumes: the next frames highlight what changed since.
    fn note_baseline(&mut self, session: &Session) {
        let m = &session.machine;
        self.baseline = (0..m.hart_count()).map(|h| screen::register_values(m, h, true)).collect();
        self.device_baseline = m.inspect_devices();
        self.access_baseline = m.device_accesses();
    }

    fn running(&self, session: &Session) -> bool {
        session.debug.resume != Resume::Halted && !session.paused()
    }

    /// The machine stopped: say why and show where.
    fn halt(&mut self, session: &mut Session, why: String) {
        session.debug.resume = Resume::Halted;
        self.resumed_here = false;
        self.status = why;
        self.disasm_cursor = None;
        self.until = None;
        self.dirty = true;
    }

    /// Lets the machine run (`resume`) after checking nothing forbids it.
    fn resume(&mut self, session: &mut Session, resume: Resume, status: &str) {
        if let Some(code) = self.powered_off {
            self.say(format!("the guest powered off (code {code}); q quits"));
            return;
        }
        if session.debug.held_by_gdb {
            self.say("gdb holds the machine: continue or step it from gdb (or detach gdb)");
            return;
        }
        let backwards = matches!(resume, Resume::ReverseStep { .. } | Resume::ReverseContinue);
        if backwards && session.inputs.history().is_none() {
            self.say(NO_HISTORY.trim_start_matches("rewind: "));
            return;
        }
        self.note_baseline(session);
        session.debug.forget_watch_stop();
        session.resume_machine();
        session.debug.resume = resume;
        self.resumed_here = true;
        self.status = status.into();
        self.dirty = true;
    }

    fn step(&mut self, session: &mut Session) {
        let from = session.machine.hart(self.hart).map_or(0, |h| h.icount);
        self.resume(session, Resume::Step { hart: self.hart, from }, "stepping");
    }

    /// Runs to `addr` (a call's return, the caller) with a breakpoint of its own.
    fn run_until(&mut self, session: &mut Session, addr: u64, what: &'static str) {
        let sp = session.machine.hart(self.hart).map_or(0, |h| h.x[2]);
        session.add_breakpoint(addr);
        self.resume(session, Resume::Continue, what);
        if session.debug.resume == Resume::Continue {
            self.until = Some(Until { hart: self.hart, addr, sp, what });
        } else {
            session.remove_breakpoint(addr);
        }
    }

    /// Steps over a call (`jal`/`jalr` that links `ra` or `t0`); any other instruction is a plain step.
    fn step_over(&mut self, session: &mut Session) {
        let Some(h) = session.machine.hart(self.hart) else { return };
        let pc = h.pc;
        let call = crate::monitor::read_instruction(&session.machine, self.hart, false, pc)
            .map(rewind::arch::riscv::decode::decode)
            .filter(|i| {
                use rewind::arch::riscv::decode::Op;
                matches!(i.op, Op::Jal | Op::Jalr) && matches!(i.rd, 1 | 5)
            });
        match call {
            Some(insn) => self.run_until(session, pc + insn.len as u64, "stepping over a call"),
            None => self.step(session),
        }
    }

    /// Runs to the caller: the one the symbols' call-frame information unwinds to; without it, the return address
    /// in `ra` at a function's first instruction, else the one its frame record holds (kernels built with frame
    /// pointers keep it at `s0 - 8`).
    fn step_out(&mut self, session: &mut Session) {
        let stack = session.symbols().map(|s| crate::monitor::call_stack(&session.machine, self.hart, s));
        if let Some(&caller) = stack.as_ref().and_then(|s| s.get(1)) {
            return self.run_until(session, caller, "stepping out");
        }
        let Some(h) = session.machine.hart(self.hart) else { return };
        let (pc, ra, fp) = (h.pc, h.x[1], h.x[8]);
        let at_entry = session.symbols().and_then(|s| s.lookup(pc)).is_none_or(|(_, off)| off == 0);
        let target = if at_entry {
            Some(ra)
        } else {
            crate::monitor::read_memory(&session.machine, self.hart, false, fp.wrapping_sub(8), 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
        };
        match target {
            Some(addr) if addr != 0 => self.run_until(session, addr, "stepping out"),
            _ => self.say("step out: no caller (no call-frame information, no frame record at s0 - 8)"),
        }
    }

    fn toggle_breakpoint(&mut self, session: &mut Session) {
        let Some(addr) = self.disasm_cursor.or_else(|| session.machine.hart(self.hart).map(|h| h.pc)) else { return };
        if session.machine.breakpoints().contains(&addr) {
            session.remove_breakpoint(addr);
            self.say(format!("breakpoint at {} removed", self.place(session, addr)));
        } else {
            session.add_breakpoint(addr);
            self.say(format!("breakpoint at {}", self.place(session, addr)));
        }
    }

    /// An address the user typed: a number, `$reg` or symbol[+offset].
    fn address(&self, session: &Session, text: &str) -> Result<u64, String> {
        crate::monitor::parse_address(&session.machine, self.hart, session.symbols(), text)
    }

    /// `0x80001234 <start_kernel+0x4>`.
    fn place(&self, session: &Session, addr: u64) -> String {
        match crate::symbols::describe(session.symbols(), addr) {
            Some(d) => format!("{addr:#x} <{d}>"),
            None => format!("{addr:#x}"),
        }
    }

    fn act(&mut self, session: &mut Session, action: Action) {
        self.dirty = true;
        if self.help {
            self.help = false;
            return;
        }
        match action {
            Action::Step => self.step(session),
            Action::StepOver => self.step_over(session),
            Action::StepOut => self.step_out(session),
            Action::Continue => self.resume(session, Resume::Continue, "running"),
            Action::Stop => {
                if self.running(session) {
                    session.interrupt();
                }
            }
            Action::ReverseStep => {
                self.resume(session, Resume::ReverseStep { hart: self.hart }, "stepping back");
            }
            Action::ReverseContinue => self.resume(session, Resume::ReverseContinue, "running backwards"),
            Action::ToggleBreakpoint => self.toggle_breakpoint(session),
            Action::Prompt(start) => self.command = Some(start.to_string()),
            Action::CommandLine => self.command = Some(String::new()),
            Action::NextHart | Action::PreviousHart => {
                let n = session.machine.hart_count().max(1);
                self.hart = if action == Action::NextHart { (self.hart + 1) % n } else { (self.hart + n - 1) % n };
                session.debug.current = self.hart;
                self.disasm_cursor = None;
            }
            Action::FocusNext | Action::FocusPrevious => self.cycle_focus(action == Action::FocusNext),
            Action::Focus(pane) => {
                self.layout.set_visible(pane, true);
                self.focus = pane;
                // Keys go to a guest that can take them; a replay's console is for moving through time.
                self.console_typing = pane == Pane::Console && !session.inputs.replaying();
            }
            Action::Hide => {
                self.layout.set_visible(self.focus, false);
                self.cycle_focus(true);
            }
            Action::Grow => self.layout.resize(self.focus, 1),
            Action::Shrink => self.layout.resize(self.focus, -1),
            Action::ToggleFp => self.show_fp = !self.show_fp,
            Action::TogglePhysical => self.memory_physical = !self.memory_physical,
            Action::TogglePageTable => self.page_table = !self.page_table,
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                self.scroll(session, action)
            }
            Action::Select => self.select(session),
            Action::PreviousMark => self.go_to_mark(session, false),
            Action::NextMark => self.go_to_mark(session, true),
            Action::Help => self.help = true,
            Action::Quit => self.quit = Some(self.powered_off.map_or(0, |c| c as i32)),
        }
    }

    /// A left click at (`column`, `row`) of a screen of size `area`: focuses the pane under it, and in the console
    /// and the mtree selects the line clicked.
    fn click(&mut self, session: &mut Session, area: ratatui::layout::Rect, column: u16, row: u16) {
        let at = ratatui::layout::Position { x: column, y: row };
        let Some((pane, rect)) = self.layout.areas(area).panes.into_iter().find(|(_, r)| r.contains(at)) else {
            return;
        };
        self.act(session, Action::Focus(pane));
        self.dirty = true;
        // Inside the border.
        let (top, height) = (rect.y + 1, rect.height.saturating_sub(2));
        if row < top || row >= top + height {
            return;
        }
        let line = (row - top) as usize;
        match pane {
            Pane::Console => {
                let in_view = self.console.lines.len().saturating_sub(self.console_scroll).min(screen::CONSOLE_LINES);
                let shown = in_view.min(height as usize);
                if line < shown {
                    self.console_cursor = Some(shown - 1 - line);
                }
            }
            Pane::Mtree => {
                let first = self.mtree_cursor.saturating_sub(height as usize / 2);
                let rows = screen::mtree_lines(&session.machine).len();
                if first + line < rows {
                    self.mtree_cursor = first + line;
                }
            }
            _ => {}
        }
    }

    fn cycle_focus(&mut self, forward: bool) {
        let visible: Vec<Pane> = Pane::ALL.into_iter().filter(|p| self.layout.visible(*p)).collect();
        let Some(i) = visible.iter().position(|p| *p == self.focus) else {
            self.focus = visible.first().copied().unwrap_or(Pane::Disassembly);
            return;
        };
        let n = visible.len();
        self.focus = visible[if forward { (i + 1) % n } else { (i + n - 1) % n }];
        self.console_typing = false;
    }

    fn scroll(&mut self, session: &Session, action: Action) {
        let (step, page) = match action {
            Action::Up => (-1i64, false),
            Action::Down => (1, false),
            Action::PageUp => (-1, true),
            Action::PageDown => (1, true),
            Action::Top => (i64::MIN / 2, false),
            _ => (i64::MAX / 2, false),
        };
        let step = if page { step * 16 } else { step };
        match self.focus {
            Pane::Disassembly => {
                let pc = session.machine.hart(self.hart).map_or(0, |h| h.pc);
                let at = self.disasm_cursor.unwrap_or(pc);
                let i = self.disasm_addrs.iter().position(|a| *a == at).unwrap_or(0) as i64;
                let j = (i + step).clamp(0, self.disasm_addrs.len() as i64 - 1).max(0) as usize;
                self.disasm_cursor = self.disasm_addrs.get(j).copied().or(Some(at));
            }
            Pane::Memory => {
                let at = self.memory_addr.unwrap_or_else(|| session.machine.hart(self.hart).map_or(0, |h| h.x[2]));
                self.memory_addr = Some(at.wrapping_add_signed(step.clamp(-1 << 40, 1 << 40) * 16));
            }
            Pane::Mtree => {
                self.mtree_cursor = (self.mtree_cursor as i64 + step).max(0) as usize;
            }
            Pane::Console => {
                let lines = self.console.lines.len();
                // The first move selects the last line.
                let from = self.console_cursor.map_or(-1, |c| c as i64);
                let up = (from - step).clamp(0, lines.saturating_sub(1) as i64);
                self.console_cursor = Some(up as usize);
                // Scroll so the cursor stays in view (the window holds a few hundred lines).
                self.console_scroll = (up as usize).saturating_sub(20);
            }
            Pane::Registers | Pane::Devices => {}
        }
    }

    fn select(&mut self, session: &mut Session) {
        match self.focus {
            Pane::Disassembly => self.disasm_cursor = None,
            Pane::Console => {
                let Some(up) = self.console_cursor else {
                    self.say("select a console line first (Up/Down)");
                    return;
                };
                let Some(line) = self.console.line_up(up).cloned() else { return };
                match console_time::goto_line(session, &line) {
                    Ok(at) => {
                        self.note_baseline(session);
                        self.halt(session, format!("at the write of console line \"{}\"", short(&line.text)));
                        self.say(format!("instruction {at} wrote the first byte of \"{}\"", short(&line.text)));
                    }
                    Err(e) => self.say(e),
                }
            }
            Pane::Mtree => {
                let text = screen::mtree_lines(&session.machine).get(self.mtree_cursor).cloned().unwrap_or_default();
                // `0000000010000000-00000000100000ff (prio 0, i/o): serial`: that device goes first in its pane.
                if let Some((_, name)) = text.rsplit_once("): ") {
                    self.selected_device = Some(name.trim().to_string());
                    self.focus = Pane::Devices;
                    self.layout.set_visible(Pane::Devices, true);
                }
            }
            _ => {}
        }
    }

    /// A key while the command line is open.
    fn command_key(&mut self, session: &mut Session, key: &KeyEvent) {
        let Some(line) = self.command.as_mut() else { return };
        self.dirty = true;
        match key.code {
            KeyCode::Esc => self.command = None,
            KeyCode::Enter => {
                let line = std::mem::take(line);
                self.command = None;
                self.history_at = None;
                if !line.trim().is_empty() {
                    self.history.push(line.clone());
                    self.run_command(session, &line);
                }
            }
            KeyCode::Backspace => {
                line.pop();
            }
            KeyCode::Tab => {
                let completed = complete(session, line);
                *line = completed;
            }
            KeyCode::Up | KeyCode::Down => {
                let n = self.history.len();
                let at = match (key.code, self.history_at) {
                    (KeyCode::Up, None) => n.checked_sub(1),
                    (KeyCode::Up, Some(i)) => Some(i.saturating_sub(1)),
                    (_, Some(i)) if i + 1 < n => Some(i + 1),
                    _ => None,
                };
                self.history_at = at;
                *line = at.and_then(|i| self.history.get(i).cloned()).unwrap_or_default();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => line.push(c),
            _ => {}
        }
    }

    /// Runs a command line: the TUI's own view commands, else the monitor's.
    fn run_command(&mut self, session: &mut Session, line: &str) {
        self.say(format!(":{line}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["mem" | "memory"] => self.memory_addr = None,
            ["mem" | "memory", addr] => match self.address(session, addr) {
                Ok(a) => {
                    self.memory_addr = Some(a);
                    self.layout.set_visible(Pane::Memory, true);
                }
                Err(e) => self.say(e),
            },
            ["goto", target] => self.goto(session, target),
            ["search", rest @ ..] if !rest.is_empty() => self.search(session, &rest.join(" ")),
            ["layout", "save"] => match self.layout.save() {
                Ok(()) => self.say("layout saved"),
                Err(e) => self.say(e),
            },
            _ => {
                let before = session.machine.icount();
                let out = session.monitor(line, &mut |_, _| {});
                self.say(out.trim_end().to_string());
                if session.machine.icount() != before {
                    self.halt(session, format!("at instruction {}", session.machine.icount()));
                }
            }
        }
    }

    /// Goes to the nearest mark on the timeline after (`forward`) or before the current instruction: where recorded
    /// input arrived, a breakpoint or watchpoint hit, a captured failure.
    fn go_to_mark(&mut self, session: &mut Session, forward: bool) {
        let now = session.machine.icount();
        // The marks the timeline shows.
        let view = screen::timeline(self, session);
        let next =
            if forward { view.marks().filter(|&m| m > now).min() } else { view.marks().filter(|&m| m < now).max() };
        match next {
            Some(at) => self.goto(session, &at.to_string()),
            None => self.say(format!("no mark on the timeline {} here", if forward { "after" } else { "before" })),
        }
    }

    /// `goto N` moves to instruction count N; `goto SYMBOL` runs until a hart gets there.
    fn goto(&mut self, session: &mut Session, target: &str) {
        if let Ok(n) = target.replace('_', "").parse::<u64>() {
            let out = session.monitor(&format!("replay goto {n}"), &mut |_, _| {});
            self.say(out.trim_end().to_string());
            self.halt(session, format!("at instruction {}", session.machine.icount()));
            return;
        }
        match self.address(session, target) {
            Ok(addr) => self.run_until(session, addr, "running to a symbol"),
            Err(e) => self.say(e),
        }
    }

    /// Finds `text` in the focused pane: the console's lines (upwards from the selection), or a symbol for the
    /// disassembly.
    fn search(&mut self, session: &mut Session, text: &str) {
        match self.focus {
            Pane::Console => {
                let start = self.console_cursor.map_or(0, |c| c + 1);
                let n = self.console.lines.len();
                match (start..n).find(|up| self.console.line_up(*up).is_some_and(|l| l.text.contains(text))) {
                    Some(up) => {
                        self.console_cursor = Some(up);
                        self.console_scroll = up.saturating_sub(20);
                    }
                    None => self.say(format!("\"{text}\" is not in the console above the selection")),
                }
            }
            Pane::Mtree => {
                let lines = screen::mtree_lines(&session.machine);
                let found = (self.mtree_cursor + 1..lines.len())
                    .chain(0..=self.mtree_cursor)
                    .find(|i| lines.get(*i).is_some_and(|l| l.contains(text)));
                match found {
                    Some(i) => self.mtree_cursor = i,
                    None => self.say(format!("\"{text}\" is not in the memory-region tree")),
                }
            }
            _ => match self.address(session, text) {
                Ok(addr) => {
                    self.focus = Pane::Disassembly;
                    self.disasm_cursor = Some(addr);
                }
                Err(e) => self.say(e),
            },
        }
    }

    fn key(&mut self, session: &mut Session, key: KeyEvent) {
        if self.command.is_some() {
            return self.command_key(session, &key);
        }
        if self.console_typing && !self.ctrl_a {
            if key.code == KeyCode::Char('a') && key.modifiers.contains(KeyModifiers::CONTROL) {
                self.ctrl_a = true;
                self.status = "Ctrl-A: the next key is the TUI's (Ctrl-A again sends Ctrl-A)".into();
                self.dirty = true;
                return;
            }
            if let Some(bytes) = key_bytes(&key) {
                if let Err(e) = session.console_input(bytes) {
                    self.say(format!("console input: {e:#}"));
                }
            }
            return;
        }
        if self.ctrl_a {
            self.ctrl_a = false;
            self.console_typing = false;
            if key.code == KeyCode::Char('a') && key.modifiers.contains(KeyModifiers::CONTROL) {
                self.console_typing = true;
                let _ = session.console_input(vec![1]);
                return;
            }
        }
        if let Some(action) = self.keys.action_of(&key) {
            self.act(session, action);
        } else if self.help {
            self.help = false;
            self.dirty = true;
        }
    }

    fn event(&mut self, session: &mut Session, event: Event) {
        match event {
            Event::Key(key) if key.kind != crossterm::event::KeyEventKind::Release => self.key(session, key),
            Event::Mouse(m) => match m.kind {
                MouseEventKind::ScrollUp => self.scroll(session, Action::Up),
                MouseEventKind::ScrollDown => self.scroll(session, Action::Down),
                MouseEventKind::Down(crossterm::event::MouseButton::Left) => {
                    if let Ok((width, height)) = crossterm::terminal::size() {
                        self.click(session, ratatui::layout::Rect::new(0, 0, width, height), m.column, m.row);
                    }
                }
                _ => {}
            },
            Event::Paste(text) if self.command.is_some() => {
                if let Some(line) = self.command.as_mut() {
                    line.push_str(&text.replace(['\r', '\n'], " "));
                }
            }
            Event::Paste(text) if self.console_typing => {
                let _ = session.console_input(text.into_bytes());
            }
            _ => {}
        }
        self.dirty = true;
    }

    /// Captures a frame and hands it to the renderer, if one is due.
    fn show(&mut self, session: &mut Session) {
        // While the guest runs, frames come at most every FRAME whatever changed (console output marks the screen
        // dirty every chunk); a stopped machine shows a change at once.
        let due = self.last_frame.is_none_or(|t| t.elapsed() >= FRAME);
        let wanted = if self.running(session) { due } else { self.dirty };
        if !wanted {
            return;
        }
        self.furthest = self.furthest.max(session.machine.icount());
        let screen = screen::capture(self, session);
        self.disasm_addrs = screen.disasm.iter().map(|l| l.addr).collect();
        if let Some(t) = &self.terminal {
            t.show(screen);
        }
        self.last_frame = Some(Instant::now());
        self.dirty = false;
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        // The terminal is restored first (its own drop), then what rewind still has to say is printed.
        self.terminal = None;
        for line in term::capture(false) {
            term::line(&line);
        }
    }
}

/// A short quote of a console line for messages.
fn short(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &t[..i]),
        None => t.to_string(),
    }
}

/// What a key sends to the guest's console (a terminal's bytes for it).
fn key_bytes(key: &KeyEvent) -> Option<Vec<u8>> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char(c) if ctrl && c.is_ascii_alphabetic() => vec![(c.to_ascii_lowercase() as u8) & 0x1f],
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => b"\x1b[A".to_vec(),
        KeyCode::Down => b"\x1b[B".to_vec(),
        KeyCode::Right => b"\x1b[C".to_vec(),
        KeyCode::Left => b"\x1b[D".to_vec(),
        _ => return None,
    })
}

/// Completes the command line's last word: a command's name, else a symbol.
fn complete(session: &Session, line: &str) -> String {
    let (head, word) = match line.rfind(' ') {
        Some(i) => (&line[..=i], &line[i + 1..]),
        None => ("", line),
    };
    // A command (all its words, as typed so far), else a symbol for the last word.
    let commands: Vec<String> = crate::monitor::command_names().into_iter().filter(|n| n.starts_with(line)).collect();
    let (head, candidates) = if !commands.is_empty() {
        ("", commands)
    } else {
        (
            head,
            session
                .symbols()
                .map(|s| s.complete(word, 64).into_iter().map(str::to_string).collect())
                .unwrap_or_default(),
        )
    };
    // The longest prefix the candidates share.
    let Some(first) = candidates.first() else { return line.to_string() };
    let mut common = first.clone();
    for c in &candidates[1..] {
        while !c.starts_with(&common) {
            common.pop();
        }
    }
    let space = if candidates.len() == 1 { " " } else { "" };
    format!("{head}{common}{space}")
}

impl Frontend for Tui {
    fn poll(&mut self, session: &mut Session, wait: Duration) -> Result<Command> {
        for line in term::take_captured() {
            self.say(line);
        }
        // A stopped machine waits here a little for a key; a running one only looks.
        let wait = if self.running(session) { wait } else { wait.max(KEY_WAIT) };
        let events = self.terminal.as_ref().map(|t| t.events(wait)).unwrap_or_default();
        for event in events {
            self.event(session, event);
        }
        self.show(session);
        if let Some(code) = self.quit {
            if let Err(e) = self.layout.save() {
                self.say(e);
            }
            return Ok(Command::Quit(code));
        }
        let running = self.running(session);
        if running && !self.machine_ran && !self.resumed_here {
            // Another front end (gdb) let the machine run.
            self.status = "running (gdb resumed it)".into();
            self.dirty = true;
        }
        self.machine_ran = running;
        Ok(match session.debug.resume {
            Resume::Halted => Command::Halt,
            Resume::Step { .. } => Command::Run(1),
            _ => Command::Run(TUI_CHUNK),
        })
    }

    fn report(&mut self, session: &mut Session, stop: &Stop) -> Reported {
        self.furthest = self.furthest.max(session.machine.icount());
        // Output that comes next was written after this stop (a chunk without output moves the start on too, so
        // a console line's stretch is one chunk at most).
        self.output_from = session.machine.icount();
        let was_running = self.machine_ran;
        let ours = self.resumed_here;
        self.machine_ran = false;
        let taken = self.stopped(session, stop);
        if taken {
            if was_running && !ours {
                // gdb ran the machine: the stop goes in the log too, where it stays when gdb resumes.
                self.say(format!("stopped for gdb: {}", self.status));
            }
            self.show(session);
            return Reported::Taken;
        }
        if was_running && session.debug.resume == Resume::Halted {
            // Another front end (gdb, which hears of stops first) took it: show where the machine stands.
            let hart = session.debug.current;
            self.hart = hart;
            let pc = session.machine.hart(hart).map_or(0, |h| h.pc);
            self.status = format!("gdb stopped the machine at {}", self.place(session, pc));
            self.say(self.status.clone());
            self.resumed_here = false;
            self.disasm_cursor = None;
            self.dirty = true;
            self.show(session);
        }
        Reported::Ignored
    }

    fn message(&mut self, text: &str) {
        self.say(text.trim_start_matches("rewind: ").to_string());
    }

    fn guest_output(&mut self, bytes: &[u8], at: u64) {
        self.console.push(bytes, self.output_from, at);
        self.output_from = at;
        self.dirty = true;
    }

    fn presence(&self) -> Presence {
        Presence::Watching
    }
}

impl Tui {
    /// Treats a stop; true if the TUI took it (the machine now waits for the user).
    fn stopped(&mut self, session: &mut Session, stop: &Stop) -> bool {
        let at = session.machine.icount();
        match (&stop.event, stop.direction) {
            (StopEvent::Ran, Direction::Forward) => {
                if let Resume::Step { hart, .. } = session.debug.resume {
                    if session.step_done() {
                        self.hart = hart;
                        let pc = session.machine.hart(hart).map_or(0, |h| h.pc);
                        self.halt(session, format!("stepped to {}", self.place(session, pc)));
                    }
                    return true;
                }
                false
            }
            (&StopEvent::Breakpoint { hart, pc }, direction) => {
                if let Resume::Step { hart: h, from } = session.debug.resume {
                    // A step from a breakpoint it has not executed yet: the engine lets it pass next time.
                    if h == hart && session.machine.hart(h).is_some_and(|x| x.icount == from) {
                        return true;
                    }
                }
                if let Some(u) = self.until.filter(|u| u.addr == pc && direction == Direction::Forward) {
                    let sp = session.machine.hart(hart).map_or(0, |h| h.x[2]);
                    if hart != u.hart || sp < u.sp {
                        return true; // a deeper frame passes by: run on
                    }
                    session.remove_breakpoint(u.addr);
                    self.hart = hart;
                    self.halt(session, format!("{} done: at {}", u.what, self.place(session, pc)));
                    return true;
                }
                self.hits.push(at);
                self.hart = hart;
                session.debug.current = hart;
                self.halt(session, format!("hart {hart} at breakpoint {}", self.place(session, pc)));
                true
            }
            (&StopEvent::Watchpoint { hart, addr, kind, .. }, _) => {
                self.hits.push(at);
                self.hart = hart;
                session.debug.current = hart;
                let pc = session.machine.hart(hart).map_or(0, |h| h.pc);
                self.halt(
                    session,
                    format!("hart {hart}: watchpoint, {kind:?} of {addr:#x}, now at {}", self.place(session, pc)),
                );
                true
            }
            (&StopEvent::Poweroff { code }, Direction::Forward) => {
                self.powered_off = Some(code);
                self.halt(session, format!("the guest powered off (code {code}); q quits"));
                true
            }
            (StopEvent::HistoryEnd { reason }, _) => {
                let why = reason.clone().unwrap_or_else(|| "cut off".into());
                self.halt(session, format!("end of the recording ({why}) at instruction {at}; S and C go back"));
                true
            }
            (StopEvent::HistoryStart, _) => {
                self.halt(session, "at the start of the history".into());
                true
            }
            (StopEvent::NoHistory, _) => {
                self.say(NO_HISTORY.trim_start_matches("rewind: "));
                self.halt(session, "stopped".into());
                true
            }
            (StopEvent::Diverged(why), _) => {
                self.halt(session, format!("reverse execution failed: {why}"));
                true
            }
            (StopEvent::Interrupted, _) => {
                self.halt(session, format!("stopped at instruction {at}"));
                true
            }
            (_, Direction::Backward { hart }) => {
                self.hart = hart;
                let pc = session.machine.hart(hart).map_or(0, |h| h.pc);
                self.halt(session, format!("back at instruction {at}, {}", self.place(session, pc)));
                true
            }
            // Running on (a chunk ended, idle, a reset), or a poweroff seen going backwards.
            _ => false,
        }
    }
}
