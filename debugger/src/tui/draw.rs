//! Draws a [`Screen`]: a pure function of the frame's data, so every pane can be checked with ratatui's
//! `TestBackend` against the text it must show.

use super::layout::{Pane, MIN_HEIGHT, MIN_WIDTH};
use super::screen::{Screen, TimelineView};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// How a changed value stands out.
const CHANGED: Style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
const PC: Style = Style::new().fg(Color::Black).bg(Color::Green);
const CURSOR: Style = Style::new().add_modifier(Modifier::REVERSED);
const DIM: Style = Style::new().fg(Color::DarkGray);

pub fn draw(frame: &mut Frame, screen: &Screen) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "The terminal is {}x{}; rewind's TUI needs at least {MIN_WIDTH}x{MIN_HEIGHT}. Make it bigger, or press q.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let areas = screen.layout.areas(area);
    for (pane, rect) in &areas.panes {
        let block = pane_block(screen, *pane);
        let mut inner = block.inner(*rect);
        frame.render_widget(block, *rect);
        if *pane == Pane::Disassembly && !screen.backtrace.is_empty() {
            // The call stack takes the bottom of the code pane: up to a third of it.
            let height = (screen.backtrace.len() as u16 + 1).min(inner.height / 3);
            inner.height -= height;
            let area = Rect { y: inner.y + inner.height, height, ..inner };
            frame.render_widget(Paragraph::new(call_stack(screen, area.height)), area);
        }
        let lines = match pane {
            Pane::Disassembly => disassembly(screen, inner.height),
            Pane::Registers => registers(screen, inner.width),
            Pane::Console => console(screen, inner.height),
            Pane::Memory => match &screen.page_table {
                Some(rows) => rows.iter().map(|r| Line::raw(r.clone())).collect(),
                None => memory(screen, inner.width),
            },
            Pane::Mtree => mtree(screen, inner.height),
            Pane::Devices => devices(screen),
        };
        frame.render_widget(Paragraph::new(lines), inner);
    }
    command(frame, screen, areas.command);
    frame.render_widget(
        Paragraph::new(timeline(&screen.timeline, &screen.status, areas.timeline.width)),
        areas.timeline,
    );
    if let Some(keys) = &screen.help {
        help(frame, area, keys);
    }
}

fn pane_block(screen: &Screen, pane: Pane) -> Block<'static> {
    let key = super::layout::Pane::ALL.iter().position(|p| *p == pane).map_or(0, |i| i + 1);
    let mut title = format!(" {key} {} ", pane.name());
    match pane {
        Pane::Registers if screen.harts > 1 => {
            let tabs: Vec<String> = (0..screen.harts)
                .map(|h| if h == screen.hart { format!("[hart {h}]") } else { format!("hart {h}") })
                .collect();
            title = format!(" {key} registers {} ", tabs.join(" "));
        }
        Pane::Registers => title = format!(" {key} registers hart {} ({}) ", screen.hart, screen.privilege),
        Pane::Mtree => title = format!(" {key} mtree: reads/writes since the machine last ran "),
        Pane::Memory if screen.page_table.is_some() => title = format!(" {key} page table (satp) "),
        Pane::Memory => title = format!(" {key} memory {} ", screen.memory_title),
        Pane::Console if screen.console_typing => {
            title = format!(" {key} console (typing to the guest; Ctrl-A leaves) ")
        }
        Pane::Disassembly => {
            if let Some(loc) = &screen.location {
                title = format!(" {key} disassembly: {loc} ");
            }
        }
        _ => {}
    }
    let style = if screen.focus == pane { Style::new().fg(Color::Cyan) } else { Style::new() };
    Block::new().borders(Borders::ALL).border_style(style).title(title)
}

fn disassembly(screen: &Screen, height: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for l in &screen.disasm {
        if let Some(label) = &l.label {
            lines.push(Line::styled(format!("<{label}>:"), DIM));
        }
        let mark = match (l.breakpoint, l.pc) {
            (true, true) => "B>",
            (true, false) => "B ",
            (false, true) => " >",
            (false, false) => "  ",
        };
        let text = format!("{mark} {:016x}  {}", l.addr, l.text);
        let style = if l.pc {
            PC
        } else if l.cursor {
            CURSOR
        } else {
            Style::new()
        };
        lines.push(Line::styled(text, style));
    }
    // Keep the cursor in the upper third of the pane.
    let at = lines.iter().position(|l| l.style == PC || l.style == CURSOR).unwrap_or(0);
    let skip = at.saturating_sub(height as usize / 3);
    lines.drain(..skip.min(lines.len()));
    lines
}

fn registers(screen: &Screen, width: u16) -> Vec<Line<'static>> {
    // As many name=value columns as fit.
    let cell = 24usize;
    let columns = (width as usize / cell).max(1);
    screen
        .registers
        .chunks(columns)
        .map(|row| {
            let spans: Vec<Span> = row
                .iter()
                .map(|r| {
                    let text = format!("{:>7} {:016x} ", r.name, r.value);
                    if r.changed {
                        Span::styled(text, CHANGED)
                    } else {
                        Span::raw(text)
                    }
                })
                .collect();
            Line::from(spans)
        })
        .collect()
}

fn console(screen: &Screen, height: u16) -> Vec<Line<'static>> {
    let first = screen.console.len().saturating_sub(height as usize);
    screen.console[first..]
        .iter()
        .enumerate()
        .map(|(i, text)| {
            // The cursor counts lines up from the last one.
            let selected = screen.console_cursor.is_some_and(|c| screen.console.len() - 1 - (first + i) == c);
            let style = if selected { CURSOR } else { Style::new() };
            Line::styled(text.clone(), style)
        })
        .collect()
}

/// Rows of hex and ASCII, as `x` shows them: 16 bytes a row where they fit, else 8.
fn memory(screen: &Screen, width: u16) -> Vec<Line<'static>> {
    let per_row = if width >= 84 { 16 } else { 8 };
    let mut lines = Vec::new();
    for (addr, bytes) in &screen.memory {
        let Some(bytes) = bytes else {
            lines.push(Line::styled(format!("{addr:016x}  (not mapped, or device registers)"), DIM));
            continue;
        };
        for (i, chunk) in bytes.chunks(per_row).enumerate() {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let hex = hex.chunks(8).map(|h| h.join(" ")).collect::<Vec<_>>().join("  ");
            let ascii: String = chunk.iter().map(|&b| if (32..127).contains(&b) { b as char } else { '.' }).collect();
            lines.push(Line::raw(format!("{:016x}  {hex}  {ascii}", addr + (i * per_row) as u64)));
        }
    }
    lines
}

fn call_stack(screen: &Screen, height: u16) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled("call stack", Style::new().add_modifier(Modifier::BOLD))];
    lines.extend(screen.backtrace.iter().take(height.saturating_sub(1) as usize).map(|f| Line::raw(f.clone())));
    lines
}

fn mtree(screen: &Screen, height: u16) -> Vec<Line<'static>> {
    let skip = screen.mtree_cursor.saturating_sub(height as usize / 2);
    screen
        .mtree
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, l)| {
            let style = if i == screen.mtree_cursor { CURSOR } else { Style::new() };
            // A left column counts the reads and writes of each device since the machine last resumed, so the
            // devices the guest talks to stand out even in a narrow pane.
            let count = match l.accesses {
                Some(a) if a.reads + a.writes > 0 => {
                    Span::styled(format!("{:>4}/{:<4} ", compact(a.reads), compact(a.writes)), CHANGED)
                }
                _ => Span::raw(" ".repeat(10)),
            };
            Line::from(vec![count, Span::styled(l.text.clone(), style)])
        })
        .collect()
}

/// A count in at most four characters: 1234, 12k, 345k, 3M, 12G.
fn compact(n: u64) -> String {
    match n {
        0..=9999 => n.to_string(),
        10_000..=999_999 => format!("{}k", n / 1000),
        1_000_000..=999_999_999 => format!("{}M", n / 1_000_000),
        _ => format!("{}G", (n / 1_000_000_000).min(999)),
    }
}

fn devices(screen: &Screen) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for d in &screen.devices {
        lines.push(Line::styled(format!("{} ({})", d.name, d.kind), Style::new().add_modifier(Modifier::BOLD)));
        for (k, v, changed) in &d.state {
            let text = format!("  {k}: {v}");
            lines.push(if *changed { Line::styled(text, CHANGED) } else { Line::raw(text) });
        }
    }
    lines
}

fn command(frame: &mut Frame, screen: &Screen, area: Rect) {
    let block = Block::new().borders(Borders::TOP).title(" command (:) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let room = inner.height.saturating_sub(1) as usize;
    let mut lines: Vec<Line> = screen.log.iter().rev().take(room).rev().map(|l| Line::raw(l.clone())).collect();
    while lines.len() < room {
        lines.insert(0, Line::raw(""));
    }
    lines.push(match &screen.command {
        Some(text) => Line::raw(format!(":{text}_")),
        None => {
            Line::styled("s step  n next  c continue  p stop  S/C reverse  b break  : command  ? help  q quit", DIM)
        }
    });
    frame.render_widget(Paragraph::new(lines), inner);
}

/// One line: where the run is (instruction count, virtual time), a bar from its start to its end with the
/// checkpoints (`|`), hits (`*`) and the current position (`#`), and the status.
pub fn timeline(t: &TimelineView, status: &str, width: u16) -> Line<'static> {
    let secs = t.now as f64 / rewind::TIMEBASE_HZ as f64;
    let head = format!(" {} insns  {secs:.6} s ", t.icount);
    let tail = format!(" {status} ");
    let room = (width as usize).saturating_sub(head.len() + tail.len() + 2);
    let mut bar = vec!['-'; room];
    let at = |icount: u64| (icount as u128 * room.saturating_sub(1) as u128 / t.end.max(1) as u128) as usize;
    if room > 0 {
        // Later marks win a shared cell: the position over a failure over hits over inputs over checkpoints.
        let marks = [(&t.checkpoints, '|'), (&t.inputs, 'i'), (&t.hits, '*')];
        for (icounts, mark) in marks {
            for &c in icounts {
                bar[at(c).min(room - 1)] = mark;
            }
        }
        if let Some(f) = t.failure {
            bar[at(f).min(room - 1)] = '!';
        }
        bar[at(t.icount).min(room - 1)] = '#';
    }
    let mut spans = vec![Span::styled(head, Style::new().add_modifier(Modifier::BOLD)), Span::raw("[")];
    // The failure mark stands out in red.
    for (i, part) in bar.into_iter().collect::<String>().split('!').enumerate() {
        if i > 0 {
            spans.push(Span::styled("!", Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)));
        }
        spans.push(Span::raw(part.to_string()));
    }
    spans.push(Span::raw("]"));
    spans.push(Span::styled(tail, Style::new().fg(Color::Cyan)));
    Line::from(spans)
}

fn help(frame: &mut Frame, area: Rect, keys: &[(String, &'static str, &'static str)]) {
    let width = area.width.min(120);
    let height = area.height.min(keys.len() as u16 + 4);
    let rect = Rect::new(area.x + (area.width - width) / 2, area.y + (area.height - height) / 2, width, height);
    let mut lines: Vec<Line> =
        keys.iter().map(|(key, name, help)| Line::raw(format!(" {key:>8}  {name:<18} {help}"))).collect();
    lines.push(Line::styled(" any key closes this help; rebind keys in tui.conf with `key KEY ACTION`", DIM));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" keys ")), rect);
}
