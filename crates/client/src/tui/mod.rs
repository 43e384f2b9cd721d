//! Building blocks for sockhub's full-screen terminal clients, shared by every service's screen.
//!
//! A screen is three rows of widgets stacked by [`layout`]: a [`Scrollback`] pane of styled lines
//! (PageUp/PageDown), a [`StatusBar`], and an [`InputLine`] at the bottom where the user types.
//! Incoming lines go into the pane and never touch the input row, which is how a message arriving
//! mid-sentence leaves the user's half-typed text alone. [`Tui`] owns the terminal: it switches to
//! raw mode and the alternate screen, and puts the terminal back when it is dropped *or* when the
//! program panics, so a crash never leaves the user's shell without echo.
//!
//! [`shell`] holds what every service's screen shares beyond the widgets: the keys they all
//! handle alike, the end of a session, and the event loop ([`shell::run`]); [`session`] reads the
//! connection on a task of its own and catches the signals that mean "leave".
//!
//! Widths are measured in terminal cells with ratatui's own [`CellWidth`], the same measure the
//! renderer uses, so a Hangul syllable (two cells) wraps and places the cursor exactly where it is
//! drawn. Nothing here knows about chat; a screen decides what its lines look like.

pub mod input;
pub mod scrollback;
pub mod session;
pub mod shell;
pub mod status;

/// Key presses and screen contents for the screens' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::buffer::Buffer;

    /// `code` with no modifier.
    pub fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    /// Ctrl + `c`.
    pub fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    /// The first `rows` rows of `buf` as text, a wide character counted once, trailing blanks cut.
    pub fn rows(buf: &Buffer, cols: u16, rows: u16) -> Vec<String> {
        (0..rows)
            .map(|y| {
                let mut row = String::new();
                let mut x = 0;
                while x < cols {
                    let symbol = buf[(x, y)].symbol();
                    row.push_str(symbol);
                    x += super::width(symbol).max(1) as u16;
                }
                row.trim_end().to_owned()
            })
            .collect()
    }
}

use std::borrow::Cow;
use std::io::{self, IsTerminal, Stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::Show;
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::CellWidth;
use ratatui::layout::{Constraint, Layout, Rect};

pub use input::{InputLine, InputOutcome};
pub use scrollback::Scrollback;
pub use status::StatusBar;

/// True when both stdin and stdout are terminals: only then is a full screen possible. Otherwise
/// (a pipe, a file, a script) clients fall back to reading and writing plain lines.
pub fn is_interactive() -> bool {
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// Whether the terminal is currently in our mode. Both the guard's `Drop` and the panic hook call
/// [`restore`]; the flag makes the second call a no-op, so a panic restores exactly once.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// The terminal in full-screen mode. Dropping it restores the terminal.
pub struct Tui {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Tui {
    /// Enter raw mode and the alternate screen.
    pub fn enter() -> io::Result<Tui> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        // Bracketed paste delivers a paste as one event, so a pasted line with a newline in it
        // is not sent half-way through.
        let terminal = execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match terminal {
            Ok(terminal) => Ok(Tui { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// Draw one frame. ratatui diffs it against the previous frame and writes only the cells that
    /// changed, so redrawing after every event is cheap.
    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> io::Result<()> {
        self.terminal.draw(render).map(drop)
    }

    /// Forget what is on the screen and repaint everything on the next draw (Ctrl-L, for when
    /// another program has scribbled on the terminal).
    pub fn clear(&mut self) -> io::Result<()> {
        self.terminal.clear()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
    }
}

/// Put the terminal back as the shell expects it: cooked mode, the main screen, a visible cursor.
/// Safe to call more than once.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        // Errors are ignored: this runs while unwinding or exiting, when nothing better can be
        // done, and each step should still be tried if an earlier one failed.
        let _ = disable_raw_mode();
        let _ = execute!(io::stdout(), DisableBracketedPaste, LeaveAlternateScreen, Show);
    }
}

/// Restore the terminal *before* the default hook prints the panic message: printed on the
/// alternate screen in raw mode it would vanish, or land as a staircase of unreadable lines.
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// Split the screen into the pane (everything above), the status bar and the input line.
pub fn layout(area: Rect) -> [Rect; 3] {
    Layout::vertical([Constraint::Fill(1), Constraint::Length(1), Constraint::Length(1)]).areas(area)
}

/// A grapheme as it may be drawn. Text from the network can carry control characters (an escape
/// sequence could recolour or move the cursor on a terminal that received it raw); ratatui drops
/// them silently, which would also shift our own width arithmetic, so they are made visible here.
pub fn printable(grapheme: &str) -> Cow<'_, str> {
    if grapheme.contains(char::is_control) {
        Cow::Borrowed(if grapheme == "\t" { " " } else { "\u{FFFD}" })
    } else {
        Cow::Borrowed(grapheme)
    }
}

/// The width of one printable grapheme in terminal cells.
pub fn grapheme_width(grapheme: &str) -> usize {
    printable(grapheme).cell_width() as usize
}

/// The width of a string in terminal cells, as [`InputLine`] and [`Scrollback`] draw it.
pub fn width(s: &str) -> usize {
    use unicode_segmentation::UnicodeSegmentation;
    s.graphemes(true).map(grapheme_width).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_terminal_cells() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("안녕"), 4);
        assert_eq!(width("e\u{301}"), 1, "a combining accent adds no width");
        assert_eq!(width("a\u{1b}[31m"), 6, "an escape is shown as one replacement cell");
        assert_eq!(printable("\t"), " ");
    }

    #[test]
    fn layout_puts_status_and_input_at_the_bottom() {
        let [pane, status, input] = layout(Rect::new(0, 0, 80, 24));
        assert_eq!((pane.y, pane.height), (0, 22));
        assert_eq!((status.y, status.height), (22, 1));
        assert_eq!((input.y, input.height), (23, 1));
    }
}
