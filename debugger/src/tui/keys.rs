//! The TUI's keys: one table maps each key to an [`Action`] and carries the line the help pane shows, so the help
//! can never disagree with what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Something the user asks of the TUI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Step,
    StepOver,
    StepOut,
    Continue,
    Stop,
    ReverseStep,
    ReverseContinue,
    ToggleBreakpoint,
    /// Opens the command line with a command started (`watch `, `goto `, `search `).
    Prompt(&'static str),
    CommandLine,
    NextHart,
    PreviousHart,
    FocusNext,
    FocusPrevious,
    Focus(super::layout::Pane),
    Hide,
    Grow,
    Shrink,
    ToggleFp,
    TogglePhysical,
    TogglePageTable,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Follow the pc again (disassembly), jump to a console line's instant, show a region's device.
    Select,
    Help,
    Quit,
}

/// One binding: the key, its label in the help pane, what it does, and the help text.
pub struct Binding {
    pub key: KeyCode,
    pub modifiers: KeyModifiers,
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
}

const fn key(c: char, label: &'static str, action: Action, help: &'static str) -> Binding {
    Binding { key: KeyCode::Char(c), modifiers: KeyModifiers::NONE, label, action, help }
}

const fn special(key: KeyCode, label: &'static str, action: Action, help: &'static str) -> Binding {
    Binding { key, modifiers: KeyModifiers::NONE, label, action, help }
}

use super::layout::Pane;

pub const BINDINGS: &[Binding] = &[
    key('s', "s", Action::Step, "step one instruction of the current hart"),
    key('n', "n", Action::StepOver, "step over a call"),
    key('o', "o", Action::StepOut, "step out of the function (to the return address)"),
    key('c', "c", Action::Continue, "continue"),
    key('p', "p", Action::Stop, "stop (pause) the machine"),
    key('S', "S", Action::ReverseStep, "reverse step (replays and --reverse runs)"),
    key('C', "C", Action::ReverseContinue, "reverse continue to the previous breakpoint or watchpoint hit"),
    key('b', "b", Action::ToggleBreakpoint, "toggle a breakpoint at the disassembly cursor"),
    key('w', "w", Action::Prompt("watch "), "watch an address (command line: watch ADDR [LEN])"),
    key('g', "g", Action::Prompt("goto "), "go to an instruction count or a symbol"),
    key('/', "/", Action::Prompt("search "), "search the focused pane (disassembly, memory, console)"),
    key(':', ":", Action::CommandLine, "command line: every monitor command (help lists them)"),
    key(']', "]", Action::NextHart, "next hart"),
    key('[', "[", Action::PreviousHart, "previous hart"),
    special(KeyCode::Tab, "Tab", Action::FocusNext, "focus the next pane"),
    special(KeyCode::BackTab, "S-Tab", Action::FocusPrevious, "focus the previous pane"),
    key('1', "1", Action::Focus(Pane::Disassembly), "focus the disassembly"),
    key('2', "2", Action::Focus(Pane::Registers), "focus the registers"),
    key('3', "3", Action::Focus(Pane::Console), "focus the console: keys go to a live guest (Ctrl-A leaves)"),
    key('4', "4", Action::Focus(Pane::Memory), "focus the memory"),
    key('5', "5", Action::Focus(Pane::Mtree), "focus the memory-region tree"),
    key('6', "6", Action::Focus(Pane::Devices), "focus the devices"),
    key('h', "h", Action::Hide, "hide the focused pane (1-6 shows it again)"),
    key('+', "+", Action::Grow, "make the focused pane bigger"),
    key('-', "-", Action::Shrink, "make the focused pane smaller"),
    key('f', "f", Action::ToggleFp, "show the floating-point registers"),
    key('v', "v", Action::TogglePhysical, "memory pane: virtual or physical addresses"),
    key('t', "t", Action::TogglePageTable, "memory pane: the page table of the hart's satp (info mem)"),
    special(KeyCode::Up, "Up", Action::Up, "move the cursor / scroll"),
    special(KeyCode::Down, "Down", Action::Down, "move the cursor / scroll"),
    special(KeyCode::PageUp, "PgUp", Action::PageUp, "scroll a page"),
    special(KeyCode::PageDown, "PgDn", Action::PageDown, "scroll a page"),
    special(KeyCode::Home, "Home", Action::Top, "to the top"),
    special(KeyCode::End, "End", Action::Bottom, "to the bottom (the console's end)"),
    special(
        KeyCode::Enter,
        "Enter",
        Action::Select,
        "follow the pc (code), go to a line's instant (console), show the device (mtree)",
    ),
    key('?', "?", Action::Help, "this help"),
    key('q', "q", Action::Quit, "quit rewind"),
];

/// The action bound to `event`, if any.
pub fn action_of(event: &KeyEvent) -> Option<Action> {
    // Shifted letters arrive as the capital with SHIFT; the table names the capital.
    let modifiers = event.modifiers - KeyModifiers::SHIFT;
    if event.modifiers.contains(KeyModifiers::CONTROL) && event.code == KeyCode::Char('c') {
        return Some(Action::Stop);
    }
    BINDINGS.iter().find(|b| b.key == event.code && b.modifiers == modifiers).map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_bound_once_and_capitals_reach_their_actions() {
        for (i, a) in BINDINGS.iter().enumerate() {
            assert!(
                BINDINGS[i + 1..].iter().all(|b| (b.key, b.modifiers) != (a.key, a.modifiers)),
                "{} bound twice",
                a.label
            );
        }
        let shifted = KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT);
        assert_eq!(action_of(&shifted), Some(Action::ReverseStep));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_of(&ctrl_c), Some(Action::Stop));
        assert_eq!(action_of(&KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)), None);
    }
}
