//! The terminal while the TUI owns it: raw mode and the alternate screen, a thread that draws the newest frame, a
//! thread that reads keys, and the promise that the terminal is restored however rewind ends (quit, poweroff,
//! error, panic, SIGTERM).

use super::screen::Screen;
use anyhow::{bail, Context, Result};
use crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event};
use crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use std::io::IsTerminal;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The newest frame, waiting for the renderer; `None` in `closed` ends it.
#[derive(Default)]
struct Slot {
    frame: Mutex<(Option<Box<Screen>>, bool)>,
    ready: Condvar,
}

pub struct Terminal {
    slot: Arc<Slot>,
    renderer: Option<JoinHandle<()>>,
    events: Receiver<Event>,
}

impl Terminal {
    pub fn open() -> Result<Terminal> {
        if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
            bail!("the TUI needs a terminal (stdin and stdout); without one, use -s and gdb, or the monitor");
        }
        enable_raw_mode().context("cannot put the terminal in raw mode")?;
        crate::term::set_raw(true);
        crate::term::capture(true);
        install_restore_on_panic();
        let mut stdout = std::io::stdout();
        crossterm::execute!(stdout, EnterAlternateScreen, EnableMouseCapture, EnableBracketedPaste)
            .context("cannot set the terminal up")?;
        let mut terminal =
            ratatui::Terminal::new(CrosstermBackend::new(std::io::stdout())).context("cannot set the terminal up")?;
        let _ = terminal.hide_cursor();
        let slot = Arc::new(Slot::default());
        let frames = slot.clone();
        let renderer = std::thread::Builder::new()
            .name("tui-render".into())
            .spawn(move || {
                while let Some(screen) = frames.next() {
                    let _ = terminal.draw(|f| super::draw::draw(f, &screen));
                }
            })
            .context("cannot start the TUI's renderer")?;
        let (tx, events) = channel();
        std::thread::Builder::new()
            .name("tui-keys".into())
            .spawn(move || {
                while let Ok(event) = crossterm::event::read() {
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            })
            .context("cannot start reading keys")?;
        Ok(Terminal { slot, renderer: Some(renderer), events })
    }

    /// Hands `screen` to the renderer; an older frame it has not drawn yet is dropped.
    pub fn show(&self, screen: Screen) {
        if let Ok(mut slot) = self.slot.frame.lock() {
            slot.0 = Some(Box::new(screen));
            self.slot.ready.notify_one();
        }
    }

    /// The input events that arrive within `wait` (those already there without waiting when `wait` is zero).
    pub fn events(&self, wait: Duration) -> Vec<Event> {
        let mut events = Vec::new();
        match self.events.recv_timeout(wait) {
            Ok(e) => events.push(e),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
        }
        events.extend(self.events.try_iter());
        events
    }
}

impl Slot {
    /// Waits for the next frame; `None` once closed.
    fn next(&self) -> Option<Box<Screen>> {
        let mut slot = self.frame.lock().ok()?;
        loop {
            if let Some(frame) = slot.0.take() {
                return Some(frame);
            }
            if slot.1 {
                return None;
            }
            slot = self.ready.wait(slot).ok()?;
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.slot.frame.lock() {
            slot.1 = true;
            self.slot.ready.notify_one();
        }
        if let Some(r) = self.renderer.take() {
            let _ = r.join();
        }
        restore();
    }
}

/// Leaves the alternate screen and raw mode, and shows the cursor again.
fn restore() {
    let _ = crossterm::execute!(
        std::io::stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    crate::term::set_raw(false);
}

/// A panic (a bug) must not leave the user's terminal unusable: restore it before the panic message prints.
fn install_restore_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    const CHILD: &str = "REWIND_TUI_PANIC_CHILD";

    /// A panic while the TUI owns a real terminal (this test, run again inside tmux) leaves the terminal cooked
    /// and on its main screen, with the panic's message readable there (printed after the screen was restored).
    #[test]
    fn a_panic_restores_the_terminal() {
        if std::env::var_os(CHILD).is_some() {
            let _terminal = Terminal::open().expect("a terminal in tmux");
            panic!("a deliberate panic with the TUI's terminal open");
        }
        if !Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success()) {
            eprintln!("skipped: no tmux");
            return;
        }
        let exe = std::env::current_exe().expect("the test binary");
        let name = format!("rewind-panic-{}", std::process::id());
        let done = std::env::temp_dir().join(format!("{name}.stty"));
        let cmd = format!(
            "{CHILD}=1 {} --exact tui::terminal::tests::a_panic_restores_the_terminal --nocapture; stty -a > {d}.tmp; \
             mv {d}.tmp {d}; sleep 60",
            exe.display(),
            d = done.display()
        );
        let tmux = |args: &[&str]| Command::new("tmux").args(args).output().expect("tmux");
        tmux(&["new-session", "-d", "-s", &name, "-x", "100", "-y", "30", &cmd]);
        let start = Instant::now();
        while !done.exists() && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let stty = std::fs::read_to_string(&done).unwrap_or_default();
        let pane = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &name]).stdout).into_owned();
        tmux(&["kill-session", "-t", &name]);
        let _ = std::fs::remove_file(&done);
        assert!(stty.contains(" icanon") && stty.contains(" echo "), "the terminal is still raw:\n{stty}");
        assert!(pane.contains("a deliberate panic with the TUI's terminal open"), "no panic message:\n{pane}");
    }
}
