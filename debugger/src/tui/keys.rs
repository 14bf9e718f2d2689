//! The TUI's keys: one table maps each key to an [`Action`] and carries the line the help pane shows, so the help
//! can never disagree with what the keys do. Users rebind keys in the TUI's config file with lines
//! `key KEY ACTION` (`key F10 step-over`, `key C-n next-mark`, `key x none`); the action names are the table's.

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
    /// Go to the previous / next mark on the timeline (recorded input, a breakpoint hit, a captured failure).
    PreviousMark,
    NextMark,
    /// Follow the pc again (disassembly), jump to a console line's instant, show a region's device.
    Select,
    Help,
    Quit,
}

/// One default binding: the key, what it does, the action's name in the config file, and the help text.
pub struct Binding {
    pub key: KeyCode,
    pub action: Action,
    pub name: &'static str,
    pub help: &'static str,
}

const fn key(c: char, name: &'static str, action: Action, help: &'static str) -> Binding {
    Binding { key: KeyCode::Char(c), action, name, help }
}

const fn special(key: KeyCode, name: &'static str, action: Action, help: &'static str) -> Binding {
    Binding { key, action, name, help }
}

use super::layout::Pane;

pub const BINDINGS: &[Binding] = &[
    key('s', "step", Action::Step, "step one instruction of the current hart"),
    key('n', "step-over", Action::StepOver, "step over a call"),
    key('o', "step-out", Action::StepOut, "step out of the function (to the return address)"),
    key('c', "continue", Action::Continue, "continue"),
    key('p', "stop", Action::Stop, "stop (pause) the machine"),
    key('S', "reverse-step", Action::ReverseStep, "reverse step (replays and --reverse runs)"),
    key(
        'C',
        "reverse-continue",
        Action::ReverseContinue,
        "reverse continue to the previous breakpoint or watchpoint hit",
    ),
    key('b', "breakpoint", Action::ToggleBreakpoint, "toggle a breakpoint at the disassembly cursor"),
    key('w', "watch", Action::Prompt("watch "), "watch an address (command line: watch ADDR [LEN])"),
    key('g', "goto", Action::Prompt("goto "), "go to an instruction count or a symbol"),
    key('/', "search", Action::Prompt("search "), "search the focused pane (disassembly, memory, console)"),
    key(':', "command", Action::CommandLine, "command line: every monitor command (help lists them)"),
    key(']', "next-hart", Action::NextHart, "next hart"),
    key('[', "previous-hart", Action::PreviousHart, "previous hart"),
    special(KeyCode::Tab, "focus-next", Action::FocusNext, "focus the next pane"),
    special(KeyCode::BackTab, "focus-previous", Action::FocusPrevious, "focus the previous pane"),
    key('1', "focus-disassembly", Action::Focus(Pane::Disassembly), "focus the disassembly"),
    key('2', "focus-registers", Action::Focus(Pane::Registers), "focus the registers"),
    key(
        '3',
        "focus-console",
        Action::Focus(Pane::Console),
        "focus the console: keys go to a live guest (Ctrl-A leaves)",
    ),
    key('4', "focus-memory", Action::Focus(Pane::Memory), "focus the memory"),
    key('5', "focus-mtree", Action::Focus(Pane::Mtree), "focus the memory-region tree"),
    key('6', "focus-devices", Action::Focus(Pane::Devices), "focus the devices"),
    key('h', "hide", Action::Hide, "hide the focused pane (1-6 shows it again)"),
    key('+', "grow", Action::Grow, "make the focused pane bigger"),
    key('-', "shrink", Action::Shrink, "make the focused pane smaller"),
    key('f', "fp", Action::ToggleFp, "show the floating-point registers"),
    key('v', "physical", Action::TogglePhysical, "memory pane: virtual or physical addresses"),
    key('t', "page-table", Action::TogglePageTable, "memory pane: the page table of the hart's satp (info mem)"),
    special(KeyCode::Up, "up", Action::Up, "move the cursor / scroll"),
    special(KeyCode::Down, "down", Action::Down, "move the cursor / scroll"),
    special(KeyCode::PageUp, "page-up", Action::PageUp, "scroll a page"),
    special(KeyCode::PageDown, "page-down", Action::PageDown, "scroll a page"),
    special(KeyCode::Home, "top", Action::Top, "to the top"),
    special(KeyCode::End, "bottom", Action::Bottom, "to the bottom (the console's end)"),
    special(
        KeyCode::Enter,
        "select",
        Action::Select,
        "follow the pc (code), go to a line's instant (console), show the device (mtree)",
    ),
    key('<', "previous-mark", Action::PreviousMark, "go to the previous input, hit or failure on the timeline"),
    key('>', "next-mark", Action::NextMark, "go to the next input, hit or failure on the timeline"),
    key('?', "help", Action::Help, "this help"),
    key('q', "quit", Action::Quit, "quit rewind"),
];

/// The keys in force: the defaults with the config file's `key` lines applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    keys: Vec<(KeyCode, KeyModifiers, Action)>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap { keys: BINDINGS.iter().map(|b| (b.key, KeyModifiers::NONE, b.action)).collect() }
    }
}

impl Keymap {
    /// The defaults with the `key KEY ACTION` lines of `config` applied, and a message for each line that names
    /// a key or an action that does not exist.
    pub fn from_config(config: &str) -> (Keymap, Vec<String>) {
        let mut map = Keymap::default();
        let mut errors = Vec::new();
        for (n, line) in config.lines().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let ["key", key, action] = words.as_slice() else { continue };
            let Some((code, modifiers)) = parse_key(key) else {
                errors.push(format!(
                    "TUI config line {}: unknown key '{key}' (a character, C-x, F1-F12, Enter, ...)",
                    n + 1
                ));
                continue;
            };
            let action = match *action {
                "none" => None,
                name => match BINDINGS.iter().find(|b| b.name == name) {
                    Some(b) => Some(b.action),
                    None => {
                        errors.push(format!("TUI config line {}: unknown action '{name}' (? lists them)", n + 1));
                        continue;
                    }
                },
            };
            map.keys.retain(|(c, m, _)| (*c, *m) != (code, modifiers));
            if let Some(action) = action {
                map.keys.push((code, modifiers, action));
            }
        }
        (map, errors)
    }

    /// The action bound to `event`, if any.
    pub fn action_of(&self, event: &KeyEvent) -> Option<Action> {
        // Shifted letters arrive as the capital with SHIFT; the map names the capital.
        let modifiers = event.modifiers - KeyModifiers::SHIFT;
        if event.modifiers.contains(KeyModifiers::CONTROL) && event.code == KeyCode::Char('c') {
            return Some(Action::Stop);
        }
        self.keys.iter().find(|(c, m, _)| *c == event.code && *m == modifiers).map(|(_, _, a)| *a)
    }

    /// The help pane's lines: each action's keys, its name in the config file, what it does.
    pub fn help(&self) -> Vec<(String, &'static str, &'static str)> {
        BINDINGS
            .iter()
            .map(|b| {
                let keys: Vec<String> =
                    self.keys.iter().filter(|(_, _, a)| *a == b.action).map(|(c, m, _)| key_name(*c, *m)).collect();
                (if keys.is_empty() { "-".to_string() } else { keys.join(" ") }, b.name, b.help)
            })
            .collect()
    }
}

/// The keys the config file names: one character, `C-x` (Ctrl), `F1`..`F12`, and the named keys.
const NAMED: [(&str, KeyCode); 12] = [
    ("Enter", KeyCode::Enter),
    ("Tab", KeyCode::Tab),
    ("S-Tab", KeyCode::BackTab),
    ("Esc", KeyCode::Esc),
    ("Space", KeyCode::Char(' ')),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("PgUp", KeyCode::PageUp),
    ("PgDn", KeyCode::PageDown),
    ("Home", KeyCode::Home),
];

fn parse_key(text: &str) -> Option<(KeyCode, KeyModifiers)> {
    if let Some(rest) = text.strip_prefix("C-") {
        let (code, _) = parse_key(rest)?;
        return Some((code, KeyModifiers::CONTROL));
    }
    if let Some((_, code)) = NAMED.iter().find(|(name, _)| *name == text) {
        return Some((*code, KeyModifiers::NONE));
    }
    if text == "End" {
        return Some((KeyCode::End, KeyModifiers::NONE));
    }
    if let Some(n) = text.strip_prefix('F').and_then(|n| n.parse::<u8>().ok()).filter(|n| (1..=12).contains(n)) {
        return Some((KeyCode::F(n), KeyModifiers::NONE));
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some((KeyCode::Char(c), KeyModifiers::NONE)),
        _ => None,
    }
}

fn key_name(code: KeyCode, modifiers: KeyModifiers) -> String {
    let base = match code {
        KeyCode::End => "End".to_string(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        other => NAMED.iter().find(|(_, c)| *c == other).map_or("?", |(name, _)| name).to_string(),
    };
    if modifiers.contains(KeyModifiers::CONTROL) {
        format!("C-{base}")
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_bound_once_and_capitals_reach_their_actions() {
        for (i, a) in BINDINGS.iter().enumerate() {
            assert!(BINDINGS[i + 1..].iter().all(|b| b.key != a.key), "{} bound twice", a.name);
            assert!(BINDINGS[i + 1..].iter().all(|b| b.name != a.name), "{} named twice", a.name);
        }
        let keys = Keymap::default();
        let shifted = KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT);
        assert_eq!(keys.action_of(&shifted), Some(Action::ReverseStep));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(keys.action_of(&ctrl_c), Some(Action::Stop));
        assert_eq!(keys.action_of(&KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn the_config_rebinds_unbinds_and_names_its_bad_lines() {
        let config = "weight console 3\nkey F10 step-over\nkey C-n next-mark\nkey s none\nkey x stpe\nkey Hyper step\n";
        let (keys, errors) = Keymap::from_config(config);
        let press = |code, modifiers| keys.action_of(&KeyEvent::new(code, modifiers));
        assert_eq!(press(KeyCode::F(10), KeyModifiers::NONE), Some(Action::StepOver));
        assert_eq!(press(KeyCode::Char('n'), KeyModifiers::CONTROL), Some(Action::NextMark));
        assert_eq!(press(KeyCode::Char('n'), KeyModifiers::NONE), Some(Action::StepOver), "n still steps over");
        assert_eq!(press(KeyCode::Char('s'), KeyModifiers::NONE), None);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("line 5: unknown action 'stpe'"), "{errors:?}");
        assert!(errors[1].contains("line 6: unknown key 'Hyper'"), "{errors:?}");
        let help = keys.help();
        let over = help.iter().find(|(_, name, _)| *name == "step-over").unwrap();
        assert_eq!(over.0, "n F10");
        assert_eq!(help.iter().find(|(_, name, _)| *name == "step").unwrap().0, "-");
    }
}
