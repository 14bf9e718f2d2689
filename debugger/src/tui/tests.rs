//! The TUI's panes drawn on ratatui's `TestBackend` from a real session, checked against the text they must show,
//! and its keys driving the machine.

use super::layout::Pane;
use super::*;
use crate::session::{InputPath, Options, SharedOutput};
use crossterm::event::KeyEvent;
use ratatui::backend::TestBackend;
use rewind_machines::uart16550::Uart16550;

const RAM: u64 = 0x8000_0000;
const UART: u64 = 0x1000_0000;

/// A one-hart machine running `program` from the start of RAM, with a UART named as the session expects.
fn session(program: &[u32], reverse: bool) -> Session {
    session_on(program, reverse, InputPath::Live)
}

/// [`session`] with its inputs from `inputs` (a recording's events, for a replay).
fn session_on(program: &[u32], reverse: bool, inputs: InputPath) -> Session {
    let out = SharedOutput::default();
    let mut b = rewind::MachineBuilder::new(1, "ram", RAM, 0x10000).unwrap();
    b.add_device("serial", UART, 0x100, Box::new(Uart16550::new(10, Box::new(out.clone()))));
    b.set_reset_pc(RAM);
    let mut machine = b.build();
    let code: Vec<u8> = program.iter().flat_map(|w| w.to_le_bytes()).collect();
    machine.write_phys(RAM, &code).unwrap();
    let options = Options {
        reverse,
        sleep: false,
        max_insns: None,
        checkpoint_every: crate::session::CHECKPOINT_EVERY,
        no_reboot: false,
    };
    Session::new(machine, inputs, out, options).unwrap()
}

/// addi a0, zero, 5; addi a0, a0, 1; then `j .`.
const COUNT: [u32; 3] = [0x0050_0513, 0x0015_0513, 0x0000_006f];

/// Draws `tui`'s frame of `session` on a `width`x`height` test terminal; the screen's text, line by line.
fn render(tui: &mut Tui, session: &mut Session, width: u16, height: u16) -> Vec<String> {
    let screen = screen::capture(tui, session);
    tui.disasm_addrs = screen.disasm.iter().map(|l| l.addr).collect();
    let mut terminal = ratatui::Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw::draw(f, &screen)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| (0..width).map(|x| buffer[(x, y)].symbol().to_string()).collect::<String>().trim_end().to_string())
        .collect()
}

fn press(tui: &mut Tui, session: &mut Session, c: char) {
    tui.key(session, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
}

fn type_command(tui: &mut Tui, session: &mut Session, line: &str) {
    press(tui, session, ':');
    for c in line.chars() {
        press(tui, session, c);
    }
    tui.key(session, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

/// Runs the session's loop with the TUI as its only front end until the TUI holds the machine again.
fn run_until_halted(tui: &mut Tui, session: &mut Session) {
    struct Once<'a>(&'a mut Tui, bool);
    impl Frontend for Once<'_> {
        fn poll(&mut self, session: &mut Session, wait: Duration) -> Result<Command> {
            if self.1 && session.debug.resume == Resume::Halted {
                return Ok(Command::Quit(0));
            }
            self.1 = true;
            self.0.poll(session, wait)
        }
        fn report(&mut self, session: &mut Session, stop: &Stop) -> Reported {
            self.0.report(session, stop)
        }
        fn message(&mut self, text: &str) {
            self.0.message(text)
        }
        fn guest_output(&mut self, bytes: &[u8], at: u64) {
            self.0.guest_output(bytes, at)
        }
        fn presence(&self) -> Presence {
            Presence::Watching
        }
    }
    let mut once = Once(tui, false);
    session.run(&mut [&mut once]).unwrap();
}

fn headless(session: &mut Session) -> Tui {
    std::env::set_var("REWIND_TUI_CONFIG", "/nonexistent/rewind-test/tui.conf");
    Tui::headless(session)
}

#[test]
fn the_screen_shows_every_pane_and_the_stop_at_reset() {
    let mut s = session(&COUNT, false);
    let mut tui = headless(&mut s);
    let text = render(&mut tui, &mut s, 120, 40).join("\n");
    for pane in Pane::ALL {
        assert!(text.contains(pane.name()), "no {} pane in\n{text}", pane.name());
    }
    assert!(text.contains(" > 0000000080000000  li a0,5"), "{text}");
    assert!(text.contains("0000000080000004  add a0,a0,1"), "{text}");
    assert!(text.contains("stopped at reset"), "{text}");
    assert!(text.contains("serial (uart16550)") || text.contains("serial ("), "devices pane: {text}");
}

#[test]
fn a_step_runs_one_instruction_and_highlights_the_register_it_changed() {
    let mut s = session(&COUNT, false);
    let mut tui = headless(&mut s);
    press(&mut tui, &mut s, 's');
    run_until_halted(&mut tui, &mut s);
    assert_eq!(s.machine.icount(), 1);
    let screen = screen::capture(&tui, &mut s);
    let a0 = screen.registers.iter().find(|r| r.name == "a0").unwrap();
    assert_eq!((a0.value, a0.changed), (5, true));
    let sp = screen.registers.iter().find(|r| r.name == "sp").unwrap();
    assert!(!sp.changed);
    assert!(screen.status.starts_with("stepped to 0x80000004"), "{}", screen.status);
    let text = render(&mut tui, &mut s, 120, 40).join("\n");
    assert!(text.contains(" > 0000000080000004  add a0,a0,1"), "{text}");
}

#[test]
fn a_breakpoint_toggled_at_the_cursor_stops_continue() {
    let mut s = session(&COUNT, false);
    let mut tui = headless(&mut s);
    render(&mut tui, &mut s, 120, 40);
    tui.key(&mut s, KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    tui.key(&mut s, KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    press(&mut tui, &mut s, 'b');
    assert!(s.machine.breakpoints().contains(&(RAM + 8)));
    let text = render(&mut tui, &mut s, 120, 40).join("\n");
    assert!(
        text.contains("B  0000000080000008  j 0x80000008") || text.contains("B  0000000080000008  j 80000008"),
        "{text}"
    );
    press(&mut tui, &mut s, 'c');
    run_until_halted(&mut tui, &mut s);
    assert_eq!(s.machine.hart(0).unwrap().pc, RAM + 8);
    assert!(tui.status.contains("breakpoint 0x80000008"), "{}", tui.status);
}

#[test]
fn reverse_keys_say_why_without_a_history_and_step_back_with_one() {
    let mut s = session(&COUNT, false);
    let mut tui = headless(&mut s);
    press(&mut tui, &mut s, 'S');
    assert!(tui.log.last().unwrap().contains("--reverse"), "{:?}", tui.log);
    assert_eq!(s.debug.resume, Resume::Halted);

    let mut s = session(&COUNT, true);
    let mut tui = headless(&mut s);
    for _ in 0..2 {
        press(&mut tui, &mut s, 's');
        run_until_halted(&mut tui, &mut s);
    }
    assert_eq!(s.machine.hart(0).unwrap().x[10], 6);
    press(&mut tui, &mut s, 'S');
    run_until_halted(&mut tui, &mut s);
    assert_eq!((s.machine.icount(), s.machine.hart(0).unwrap().x[10]), (1, 5), "a0 back to its earlier value");
    let a0 = screen::capture(&tui, &mut s).registers.into_iter().find(|r| r.name == "a0").unwrap();
    assert!(a0.changed);
}

#[test]
fn the_command_line_runs_monitor_commands_and_bad_input_gets_one_line() {
    let mut s = session(&COUNT, false);
    let mut tui = headless(&mut s);
    type_command(&mut tui, &mut s, "info registers");
    assert!(tui.log.iter().any(|l| l.contains("pc       0000000080000000")), "{:?}", tui.log);
    type_command(&mut tui, &mut s, "frobnicate");
    assert_eq!(tui.log.last().unwrap(), "unknown command 'frobnicate' (try 'monitor help')");
    type_command(&mut tui, &mut s, "break no_such_symbol");
    assert!(tui.log.last().unwrap().contains("no symbols"), "{:?}", tui.log);
    type_command(&mut tui, &mut s, "mem 0x80000000");
    let text = render(&mut tui, &mut s, 120, 40).join("\n");
    assert!(text.contains("0000000080000000  13 05 50 00 13 05 15 00  ..P....."), "{text}");
    assert!(text.contains("0000000080000008  6f 00 00 00 00 00 00 00  o......."), "{text}");
    // History: Up brings the last command back.
    press(&mut tui, &mut s, ':');
    tui.key(&mut s, KeyEvent::new(KeyCode::Up, KeyModifiers::NONE));
    assert_eq!(tui.command.as_deref(), Some("mem 0x80000000"));
    // Completion of command names.
    tui.command = Some("info regi".into());
    tui.key(&mut s, KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(tui.command.as_deref(), Some("info registers "));
    tui.command = Some("memsa".into());
    tui.key(&mut s, KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(tui.command.as_deref(), Some("memsave "));
}

#[test]
fn a_terminal_too_small_gets_a_message_not_garbage() {
    let mut s = session(&COUNT, false);
    let mut tui = headless(&mut s);
    let text = render(&mut tui, &mut s, 60, 20).join(" ");
    assert!(text.contains("The terminal is 60x20; rewind's TUI needs at least 80x24"), "{text}");
}

#[test]
fn hidden_panes_disappear_and_the_help_lists_every_key() {
    let mut s = session(&COUNT, false);
    let mut tui = headless(&mut s);
    press(&mut tui, &mut s, '5');
    press(&mut tui, &mut s, 'h');
    let text = render(&mut tui, &mut s, 120, 40).join("\n");
    assert!(!text.contains(" 5 mtree"), "{text}");
    press(&mut tui, &mut s, '?');
    let text = render(&mut tui, &mut s, 130, 50).join("\n");
    for b in keys::BINDINGS {
        assert!(text.contains(b.help) && text.contains(b.name), "help lacks {} ({})", b.help, b.name);
    }
}

#[test]
fn console_lines_keep_where_they_were_written() {
    let mut log = ConsoleLog::default();
    log.push(b"hello\nwor", 0, 100);
    log.push(b"ld\r\n", 100, 200);
    assert_eq!(log.window(0, 10), ["hello", "world"]);
    let world = log.line_up(0).unwrap();
    assert_eq!((world.from, world.byte), (0, 6), "its first byte was written in the first stretch");
}

#[test]
fn the_memory_pane_shows_the_page_table_on_t() {
    let mut s = session(&COUNT, false);
    let mut tui = headless(&mut s);
    press(&mut tui, &mut s, 't');
    let text = render(&mut tui, &mut s, 120, 40).join("\n");
    assert!(text.contains(" 4 page table (satp) ") && text.contains("No translation or protection"), "{text}");
    press(&mut tui, &mut s, 't');
    let text = render(&mut tui, &mut s, 120, 40).join("\n");
    assert!(text.contains(" 4 memory virtual 0x0 "), "back to the bytes at sp: {text}");
}

#[test]
fn the_mtree_counts_the_device_accesses_of_the_last_run() {
    // lui a1, 0x10000; li a0, 'A'; three `sb a0, 0(a1)` to the UART; `j .`.
    let program = [0x1000_05b7, 0x0410_0513, 0x00a5_8023, 0x00a5_8023, 0x00a5_8023, 0x0000_006f];
    let mut s = session(&program, false);
    let mut tui = headless(&mut s);
    let text = render(&mut tui, &mut s, 160, 50).join("\n");
    assert!(!text.contains("0/3"), "no access before the machine ran: {text}");
    type_command(&mut tui, &mut s, "break 0x80000014");
    press(&mut tui, &mut s, 'c');
    run_until_halted(&mut tui, &mut s);
    let text = render(&mut tui, &mut s, 160, 50).join("\n");
    let line = text.lines().find(|l| l.contains("0000000010000000-00000000100000ff")).unwrap_or_default();
    assert!(line.contains("   0/3        0000000010000000-"), "{text}");
    // The next run starts counting again: a step that touches no device shows none.
    press(&mut tui, &mut s, 's');
    let text = render(&mut tui, &mut s, 160, 50).join("\n");
    assert!(!text.contains("0/3"), "{text}");
}

#[test]
fn the_timeline_marks_inputs_hits_a_failure_and_the_position() {
    let view = screen::TimelineView {
        icount: 500,
        now: 5,
        end: 1000,
        checkpoints: vec![0],
        hits: vec![250],
        inputs: vec![100],
        failure: Some(1000),
        reversible: true,
    };
    let line = draw::timeline(&view, "stopped", 60);
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let bar = &text[text.find('[').unwrap() + 1..text.find(']').unwrap()];
    let at = |mark: char| bar.find(mark).map(|i| i * 1000 / (bar.len() - 1));
    assert_eq!(bar.chars().next(), Some('|'), "{text}");
    assert!(at('i').is_some_and(|i| (80..=120).contains(&i)), "{text}");
    assert!(at('*').is_some_and(|i| (230..=270).contains(&i)), "{text}");
    assert!(at('#').is_some_and(|i| (480..=520).contains(&i)), "{text}");
    assert_eq!(bar.chars().last(), Some('!'), "{text}");
    let red = line.spans.iter().find(|s| s.content == "!").map(|s| s.style.fg);
    assert_eq!(red, Some(Some(ratatui::style::Color::Red)));
}

#[test]
fn marks_on_the_timeline_are_keys_away() {
    let mut s = session(&COUNT, true);
    let mut tui = headless(&mut s);
    press(&mut tui, &mut s, '>');
    assert!(tui.log.last().unwrap().contains("no mark on the timeline after here"), "{:?}", tui.log);
    for _ in 0..3 {
        press(&mut tui, &mut s, 's');
        run_until_halted(&mut tui, &mut s);
    }
    // A breakpoint hit is a mark: `<` goes back to it.
    tui.hits.push(1);
    press(&mut tui, &mut s, '<');
    assert_eq!(s.machine.icount(), 1);
    press(&mut tui, &mut s, '<');
    assert!(tui.log.last().unwrap().contains("no mark on the timeline before here"), "{:?}", tui.log);
}

#[test]
fn a_click_focuses_a_pane_and_selects_the_line_under_it() {
    let mut s = session(&COUNT, true);
    let mut tui = headless(&mut s);
    tui.console.push(b"first\nsecond\nthird\n", 0, 3);
    let area = ratatui::layout::Rect::new(0, 0, 120, 40);
    let screen = render(&mut tui, &mut s, 120, 40);
    // The console pane's second line of text, found on the screen as a user would see it.
    let row = screen.iter().position(|l| l.contains("│second")).unwrap();
    let column = screen[row].find("second").unwrap() as u16;
    tui.click(&mut s, area, column, row as u16);
    assert_eq!(tui.focus, Pane::Console);
    assert!(tui.console_typing, "a live guest's console takes the keys, as when focused with 3");
    let text = render(&mut tui, &mut s, 120, 40);
    assert_eq!(screen::capture(&tui, &mut s).console_cursor, Some(1), "{}", text.join("\n"));
    // The mtree: a click on the serial region selects it.
    let row = text.iter().position(|l| l.contains("0000000010000000-")).unwrap();
    tui.click(&mut s, area, 100, row as u16);
    assert_eq!(tui.focus, Pane::Mtree);
    assert!(screen::mtree_lines(&s.machine)[tui.mtree_cursor].contains("serial"));
}

#[test]
fn history_queries_answer_from_the_past_and_leave_the_machine_where_it_was() {
    // auipc a1, 1 (a1 = RAM + 0x1000); li a0, 5; sd a0, 0(a1); addi a0, a0, 1; sd a0, 0(a1); j .
    let program = [0x0000_1597, 0x0050_0513, 0x00a5_b023, 0x0015_0513, 0x00a5_b023, 0x0000_006f];
    let mut s = session(&program, true);
    let mut tui = headless(&mut s);
    type_command(&mut tui, &mut s, "break 0x80000014");
    press(&mut tui, &mut s, 'c');
    run_until_halted(&mut tui, &mut s);
    assert_eq!(s.machine.icount(), 5);
    let ask = |tui: &mut Tui, s: &mut Session, q: &str| {
        let before = tui.log.len();
        type_command(tui, s, q);
        tui.log[before..].join("\n")
    };
    let out = ask(&mut tui, &mut s, "last-write 0x80001000");
    assert!(out.contains("instruction 5: hart 0 at 0x80000010 wrote 8 bytes at 0x80001000: 0x5 -> 0x6"), "{out}");
    let out = ask(&mut tui, &mut s, "writes 0x80001000");
    assert!(out.contains("2 writes to 0x80001000 between instructions 0 and 5"), "{out}");
    assert!(out.contains("instruction 3: hart 0 at 0x80000008 wrote 8 bytes at 0x80001000: 0x0 -> 0x5"), "{out}");
    let out = ask(&mut tui, &mut s, "first-exec 0x8000000c");
    assert!(out.contains("first executed at instruction 3 by hart 0: 0x8000000c"), "{out}");
    let out = ask(&mut tui, &mut s, "last-write 0x80002000 4");
    assert!(out.contains("no write to 0x80002000 before instruction 5"), "{out}");
    assert!(ask(&mut tui, &mut s, "when").contains("instruction 5 ("));
    // Back where it was, with the user's breakpoint.
    assert_eq!(s.machine.icount(), 5);
    assert!(s.machine.breakpoints().contains(&0x8000_0014));
    let out = ask(&mut tui, &mut s, "last-write");
    assert!(out.contains("usage: last-write ADDR [LEN]"), "{out}");
}

#[test]
fn history_queries_in_a_replay_keep_its_future_and_stop_at_its_end() {
    // The program of the test above, replayed from a recording that ends after its five instructions.
    let program = [0x0000_1597, 0x0050_0513, 0x00a5_b023, 0x0015_0513, 0x00a5_b023, 0x0000_006f];
    let end =
        rewind_replay::Event::End { at: rewind_replay::Stamp { icount: 5, vclock: 5 }, reason: "poweroff 0".into() };
    let mut s = session_on(&program, false, InputPath::Replay { events: vec![end], damage: None });
    let mut tui = headless(&mut s);
    let ask = |tui: &mut Tui, s: &mut Session, q: &str| {
        let before = tui.log.len();
        type_command(tui, s, q);
        tui.log[before..].join("\n")
    };
    ask(&mut tui, &mut s, "replay goto 2");
    // Ending at instruction 4 is inside the recording: its end must survive the query.
    let out = ask(&mut tui, &mut s, "writes 0x80001000 8 0 4");
    assert!(out.contains("1 writes to 0x80001000 between instructions 0 and 4"), "{out}");
    assert_eq!(s.inputs.history().unwrap().recorded_end(), Some(5), "the query cut the recording short");
    // From the start, past now (instruction 2), to the recording's end, and no further.
    let out = ask(&mut tui, &mut s, "first-exec 0x80000010");
    assert!(out.contains("first executed at instruction 4 by hart 0: 0x80000010"), "{out}");
    let out = ask(&mut tui, &mut s, "writes 0x80001000 8 0 99");
    assert!(out.contains("2 writes to 0x80001000 between instructions 0 and 5"), "{out}");
    let out = ask(&mut tui, &mut s, "first-exec 0x80000020");
    assert!(out.contains("0x80000020 is never executed up to instruction 5"), "{out}");
    assert_eq!(s.machine.icount(), 2);
}
