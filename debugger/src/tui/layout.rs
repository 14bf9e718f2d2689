//! Which panes the TUI shows, where and how big: code and console on the left, the machine's state on the right,
//! the command line and the timeline along the bottom. What the user changes (hidden panes, sizes) is remembered
//! in a small text file, `~/.config/rewind/tui.conf` (or `$REWIND_TUI_CONFIG`).

use ratatui::layout::{Constraint, Direction, Layout as Split, Rect};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pane {
    Disassembly,
    Registers,
    Console,
    Memory,
    Mtree,
    Devices,
}

impl Pane {
    pub const ALL: [Pane; 6] =
        [Pane::Disassembly, Pane::Registers, Pane::Console, Pane::Memory, Pane::Mtree, Pane::Devices];

    pub fn name(self) -> &'static str {
        match self {
            Pane::Disassembly => "disassembly",
            Pane::Registers => "registers",
            Pane::Console => "console",
            Pane::Memory => "memory",
            Pane::Mtree => "mtree",
            Pane::Devices => "devices",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The left column holds code and the console, the right one the machine's state.
    fn left(self) -> bool {
        matches!(self, Pane::Disassembly | Pane::Console)
    }
}

/// The comment the layout writes at the top of the config file.
const LAYOUT_HEADER: &str = "# rewind TUI layout";

/// The TUI's config file (the layout, and the user's `key` lines), empty when there is none.
pub fn config_text() -> String {
    Layout::config_path().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default()
}

/// The smallest terminal the layout fits in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;
/// Lines of the command pane (its output, then the line being typed).
const COMMAND_LINES: u16 = 6;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    hidden: [bool; 6],
    /// Each pane's share of its column's height, 1..=9.
    weights: [u16; 6],
}

impl Default for Layout {
    fn default() -> Layout {
        Layout { hidden: [false; 6], weights: [3, 4, 2, 2, 2, 2] }
    }
}

/// Where each part of the screen goes.
pub struct Areas {
    pub panes: Vec<(Pane, Rect)>,
    pub command: Rect,
    pub timeline: Rect,
}

impl Layout {
    pub fn visible(&self, pane: Pane) -> bool {
        !self.hidden[pane.index()]
    }

    pub fn set_visible(&mut self, pane: Pane, visible: bool) {
        self.hidden[pane.index()] = !visible;
    }

    /// Grows (`delta` > 0) or shrinks `pane`.
    pub fn resize(&mut self, pane: Pane, delta: i16) {
        let w = &mut self.weights[pane.index()];
        *w = (*w as i16 + delta).clamp(1, 9) as u16;
    }

    /// The areas of the visible panes in `screen` (which must be at least the minimum size).
    pub fn areas(&self, screen: Rect) -> Areas {
        let [body, command, timeline] =
            Split::vertical([Constraint::Min(8), Constraint::Length(COMMAND_LINES), Constraint::Length(1)])
                .areas(screen);
        let visible: Vec<Pane> = Pane::ALL.into_iter().filter(|p| self.visible(*p)).collect();
        let (left, right): (Vec<Pane>, Vec<Pane>) = visible.iter().partition(|p| p.left());
        let columns: Vec<(Vec<Pane>, Rect)> = match (left.is_empty(), right.is_empty()) {
            (false, false) => {
                let [l, r] = Split::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
                vec![(left, l), (right, r)]
            }
            (false, true) => vec![(left, body)],
            (true, false) => vec![(right, body)],
            (true, true) => Vec::new(),
        };
        let mut panes = Vec::new();
        for (column, area) in columns {
            let constraints: Vec<Constraint> =
                column.iter().map(|p| Constraint::Fill(self.weights[p.index()])).collect();
            let rects = Split::default().direction(Direction::Vertical).constraints(constraints).split(area);
            panes.extend(column.into_iter().zip(rects.iter().copied()));
        }
        Areas { panes, command, timeline }
    }

    /// The layout in the config file's words.
    pub fn to_config(&self) -> String {
        let mut s = format!("{LAYOUT_HEADER}: `weight PANE 1-9`, `hidden PANE`\n");
        for pane in Pane::ALL {
            s.push_str(&format!("weight {} {}\n", pane.name(), self.weights[pane.index()]));
            if !self.visible(pane) {
                s.push_str(&format!("hidden {}\n", pane.name()));
            }
        }
        s
    }

    /// A layout from a config file's text; lines it does not understand are skipped (a newer rewind may have
    /// written them).
    pub fn from_config(text: &str) -> Layout {
        let mut layout = Layout::default();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let pane = |name: &str| Pane::ALL.into_iter().find(|p| p.name() == name);
            match words.as_slice() {
                ["weight", name, w] => {
                    if let (Some(p), Ok(w)) = (pane(name), w.parse::<u16>()) {
                        layout.weights[p.index()] = w.clamp(1, 9);
                    }
                }
                ["hidden", name] => {
                    if let Some(p) = pane(name) {
                        layout.set_visible(p, false);
                    }
                }
                _ => {}
            }
        }
        layout
    }

    /// Where the layout is remembered.
    pub fn config_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("REWIND_TUI_CONFIG") {
            return Some(PathBuf::from(p));
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("rewind").join("tui.conf"))
    }

    /// Remembers the layout, keeping the file's other lines (the user's key bindings); an error message if it
    /// cannot.
    pub fn save(&self) -> Result<(), String> {
        let path = Layout::config_path().ok_or("no place for the TUI's config file (HOME is not set)")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, self.merged_into(&config_text()))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// The config file `existing` with its layout lines replaced by this layout's.
    fn merged_into(&self, existing: &str) -> String {
        let mut text = self.to_config();
        for line in existing.lines().filter(|l| !Layout::owns(l)) {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Whether `line` of the config file is one the layout writes.
    fn owns(line: &str) -> bool {
        let first = line.split_whitespace().next();
        matches!(first, Some("weight" | "hidden")) || line.starts_with(LAYOUT_HEADER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_round_trips_and_unknown_lines_are_skipped() {
        let mut layout = Layout::default();
        layout.set_visible(Pane::Mtree, false);
        layout.resize(Pane::Console, 3);
        layout.resize(Pane::Registers, 20);
        let text = layout.to_config();
        assert_eq!(Layout::from_config(&text), layout);
        assert_eq!(Layout::from_config("weight console 5\nzoom all\nhidden nothing\n").weights[2], 5);
    }

    #[test]
    fn saving_the_layout_keeps_the_users_key_bindings() {
        let existing = "# rewind TUI layout: ...\nweight console 5\nkey F10 step-over\nhidden mtree\n";
        let mut layout = Layout::from_config(existing);
        layout.set_visible(Pane::Mtree, true);
        let saved = layout.merged_into(existing);
        assert!(saved.contains("key F10 step-over\n") && saved.contains("weight console 5\n"), "{saved}");
        assert!(!saved.contains("hidden mtree"), "{saved}");
        assert_eq!(saved.matches("# rewind TUI layout").count(), 1, "{saved}");
    }

    #[test]
    fn hidden_panes_give_their_room_to_the_others() {
        let screen = Rect::new(0, 0, 100, 40);
        let mut layout = Layout::default();
        let all = layout.areas(screen);
        assert_eq!(all.panes.len(), 6);
        assert_eq!(all.timeline, Rect::new(0, 39, 100, 1));
        for pane in [Pane::Registers, Pane::Memory, Pane::Mtree, Pane::Devices] {
            layout.set_visible(pane, false);
        }
        let left_only = layout.areas(screen);
        let widths: Vec<u16> = left_only.panes.iter().map(|(_, r)| r.width).collect();
        assert_eq!(widths, [100, 100], "the left column takes the whole width");
    }
}
