//! The input line: one row where the user edits what they are about to send.
//!
//! The text is a `String` and the cursor a byte offset that always sits on a grapheme-cluster
//! boundary, so Left/Right/Backspace step over a whole Hangul syllable or an accented letter, never
//! half of one. Where the cursor is *drawn* is a different number — the display width of the text
//! before it — because a Hangul syllable takes two terminal cells. When the text is wider than the
//! row, the row scrolls horizontally to keep the cursor in view.
//!
//! Keys: Left/Right, Home/End (and Ctrl-A/Ctrl-E), Backspace/Delete (and Ctrl-D), Ctrl-U/Ctrl-K
//! (delete to the start/end), Ctrl-W (delete the word before the cursor), Up/Down (history),
//! Enter (submit). Keys it does not use are reported as [`InputOutcome::Ignored`] so the screen
//! can use them.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use unicode_segmentation::UnicodeSegmentation;

use super::{grapheme_width, printable, width};

/// How many submitted lines Up can bring back.
const HISTORY_LIMIT: usize = 500;

/// What a key did to the input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputOutcome {
    /// Enter: the text, now cleared from the line (and remembered in the history).
    Submit(String),
    /// The key edited the text or moved the cursor.
    Handled,
    /// Not an input-line key; the screen may use it.
    Ignored,
}

/// A single-line editor with history.
#[derive(Debug, Clone)]
pub struct InputLine {
    prompt: String,
    prompt_style: Style,
    text: String,
    /// Byte offset into `text`, on a grapheme boundary.
    cursor: usize,
    /// The display column of `text` shown first (horizontal scrolling).
    scroll: usize,
    history: Vec<String>,
    /// Which history entry is shown, while browsing with Up/Down.
    recall: Option<usize>,
    /// What was being typed before Up was pressed; Down past the newest entry brings it back.
    draft: String,
}

impl InputLine {
    pub fn new(prompt: impl Into<String>, prompt_style: Style) -> InputLine {
        InputLine {
            prompt: prompt.into(),
            prompt_style,
            text: String::new(),
            cursor: 0,
            scroll: 0,
            history: Vec::new(),
            recall: None,
            draft: String::new(),
        }
    }

    /// The text being edited.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor as a byte offset into [`text`](Self::text).
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The display width of the text before the cursor: the column the cursor is drawn at,
    /// relative to the start of the text.
    pub fn cursor_column(&self) -> usize {
        width(&self.text[..self.cursor])
    }

    /// Apply one key.
    pub fn handle_key(&mut self, key: KeyEvent) -> InputOutcome {
        if key.kind == KeyEventKind::Release {
            return InputOutcome::Ignored;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Enter => return InputOutcome::Submit(self.submit()),
            KeyCode::Char(c) if ctrl => match c {
                'a' => self.home(),
                'e' => self.end(),
                'b' => self.left(),
                'f' => self.right(),
                'u' => self.delete_to_start(),
                'k' => self.delete_to_end(),
                'w' => self.delete_word_before(),
                'd' => self.delete(),
                'h' => self.backspace(),
                _ => return InputOutcome::Ignored,
            },
            // Alt+key is left to the screen (terminals send it for shortcuts, not for text).
            KeyCode::Char(_) if alt => return InputOutcome::Ignored,
            KeyCode::Char(c) => self.insert_char(c),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            KeyCode::Left => self.left(),
            KeyCode::Right => self.right(),
            KeyCode::Home => self.home(),
            KeyCode::End => self.end(),
            KeyCode::Up => self.older(),
            KeyCode::Down => self.newer(),
            _ => return InputOutcome::Ignored,
        }
        InputOutcome::Handled
    }

    /// Insert text at the cursor (a paste). Line breaks become spaces: the line is one message.
    pub fn insert_str(&mut self, s: &str) {
        let s: String = s.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
        self.text.insert_str(self.cursor, &s);
        self.cursor += s.len();
    }

    pub fn insert_char(&mut self, c: char) {
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
        // A combining mark typed after a letter joins its cluster; keep the cursor on a boundary.
        self.cursor = self.next_boundary_at_or_after(self.cursor);
    }

    pub fn backspace(&mut self) {
        let start = self.prev_boundary();
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    pub fn delete(&mut self) {
        let end = self.next_boundary();
        self.text.replace_range(self.cursor..end, "");
    }

    pub fn left(&mut self) {
        self.cursor = self.prev_boundary();
    }

    pub fn right(&mut self) {
        self.cursor = self.next_boundary();
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.len();
    }

    pub fn delete_to_start(&mut self) {
        self.text.replace_range(..self.cursor, "");
        self.cursor = 0;
    }

    pub fn delete_to_end(&mut self) {
        self.text.truncate(self.cursor);
    }

    /// Delete back to the start of the word before the cursor (spaces before it go too), like a
    /// shell's Ctrl-W.
    pub fn delete_word_before(&mut self) {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end();
        let start = trimmed
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Up: show the previous history entry, keeping what was typed as a draft.
    pub fn older(&mut self) {
        let Some(last) = self.history.len().checked_sub(1) else { return };
        let i = match self.recall {
            None => {
                self.draft = std::mem::take(&mut self.text);
                last
            }
            Some(0) => return,
            Some(i) => i - 1,
        };
        self.recall = Some(i);
        self.set_text(self.history[i].clone());
    }

    /// Down: the next history entry, or back to the draft after the newest.
    pub fn newer(&mut self) {
        match self.recall {
            None => {}
            Some(i) if i + 1 < self.history.len() => {
                self.recall = Some(i + 1);
                self.set_text(self.history[i + 1].clone());
            }
            Some(_) => {
                self.recall = None;
                let draft = std::mem::take(&mut self.draft);
                self.set_text(draft);
            }
        }
    }

    /// Take the text (Enter). Non-blank lines are remembered, without repeating the last one.
    pub fn submit(&mut self) -> String {
        let text = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.scroll = 0;
        self.recall = None;
        self.draft.clear();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            if self.history.len() == HISTORY_LIMIT {
                self.history.remove(0);
            }
            self.history.push(text.clone());
        }
        text
    }

    /// Draw the prompt and the visible part of the text into `area` (its first row); returns where
    /// the terminal cursor belongs.
    pub fn render(&mut self, area: Rect, buf: &mut Buffer) -> Position {
        if area.is_empty() {
            return area.as_position();
        }
        let prompt_end =
            buf.set_stringn(area.x, area.y, &self.prompt, area.width as usize, self.prompt_style).0;
        let room = usize::from(area.right().saturating_sub(prompt_end));
        let cursor = self.cursor_column();
        // Scroll only as far as needed to keep the cursor in view; the last cell is kept for the
        // cursor itself when it sits after the end of the text.
        if cursor < self.scroll {
            self.scroll = cursor;
        } else if room > 0 && cursor >= self.scroll + room {
            self.scroll = cursor + 1 - room;
        }
        // When text was deleted, scroll back so no empty space is left on the right.
        self.scroll = self.scroll.min((width(&self.text) + 1).saturating_sub(room)).min(cursor);
        let mut col = 0;
        for g in self.text.graphemes(true) {
            let w = grapheme_width(g);
            if col >= self.scroll {
                if col + w > self.scroll + room {
                    break;
                }
                let x = prompt_end + (col - self.scroll) as u16;
                buf.set_stringn(x, area.y, printable(g), w, Style::default());
            }
            col += w;
        }
        let x = prompt_end + (cursor - self.scroll).min(room.saturating_sub(1)) as u16;
        Position::new(x.min(area.right().saturating_sub(1)), area.y)
    }

    fn set_text(&mut self, text: String) {
        self.text = text;
        self.cursor = self.text.len();
    }

    fn prev_boundary(&self) -> usize {
        self.text[..self.cursor].grapheme_indices(true).next_back().map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self) -> usize {
        self.text[self.cursor..].graphemes(true).next().map_or(self.cursor, |g| self.cursor + g.len())
    }

    /// The first grapheme boundary at or after byte `at`.
    fn next_boundary_at_or_after(&self, at: usize) -> usize {
        let mut end = 0;
        for g in self.text.graphemes(true) {
            if end >= at {
                break;
            }
            end += g.len();
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tui::testing::{ctrl, key};

    fn typed(s: &str) -> InputLine {
        let mut input = InputLine::new("> ", Style::default());
        for c in s.chars() {
            assert_eq!(input.handle_key(key(KeyCode::Char(c))), InputOutcome::Handled);
        }
        input
    }

    /// The row as drawn, and the cursor's x.
    fn drawn(input: &mut InputLine, cols: u16) -> (String, u16) {
        let area = Rect::new(0, 0, cols, 1);
        let mut buf = Buffer::empty(area);
        let cursor = input.render(area, &mut buf);
        // A wide character fills its first cell; the cell after it is hidden and skipped here.
        let mut row = String::new();
        let mut x = 0;
        while x < cols {
            let symbol = buf[(x, 0)].symbol();
            row.push_str(symbol);
            x += width(symbol).max(1) as u16;
        }
        (row, cursor.x)
    }

    #[test]
    fn editing_in_the_middle() {
        let mut input = typed("helo world");
        for _ in 0..7 {
            input.handle_key(key(KeyCode::Left));
        }
        input.handle_key(key(KeyCode::Char('l')));
        assert_eq!(input.text(), "hello world");
        input.handle_key(key(KeyCode::Delete));
        assert_eq!(input.text(), "hell world");
        input.handle_key(key(KeyCode::Backspace));
        assert_eq!(input.text(), "hel world");
        input.handle_key(key(KeyCode::Home));
        input.handle_key(key(KeyCode::Backspace)); // nothing before the cursor
        input.handle_key(key(KeyCode::Delete));
        assert_eq!(input.text(), "el world");
        input.handle_key(key(KeyCode::End));
        input.handle_key(key(KeyCode::Delete)); // nothing after the cursor
        input.handle_key(key(KeyCode::Char('!')));
        assert_eq!(input.text(), "el world!");
        assert_eq!(input.handle_key(key(KeyCode::PageUp)), InputOutcome::Ignored);
        assert_eq!(input.handle_key(ctrl('c')), InputOutcome::Ignored);
    }

    #[test]
    fn kill_keys() {
        let mut input = typed("say hello there");
        input.handle_key(ctrl('w'));
        assert_eq!(input.text(), "say hello ");
        input.handle_key(ctrl('a'));
        input.handle_key(key(KeyCode::Right));
        input.handle_key(ctrl('k'));
        assert_eq!(input.text(), "s");
        input.handle_key(ctrl('e'));
        input.insert_str("ee\nyou");
        assert_eq!(input.text(), "see you", "a pasted line break becomes a space");
        input.handle_key(ctrl('u'));
        assert_eq!((input.text(), input.cursor()), ("", 0));
    }

    #[test]
    fn hangul_moves_by_syllable_and_the_cursor_by_display_width() {
        let mut input = typed("안녕 하세요");
        assert_eq!(input.cursor_column(), 11, "five syllables of two cells and a space");
        input.handle_key(key(KeyCode::Left));
        input.handle_key(key(KeyCode::Left));
        assert_eq!(input.cursor_column(), 7);
        input.handle_key(key(KeyCode::Backspace));
        assert_eq!(input.text(), "안녕 세요");
        assert_eq!(input.cursor_column(), 5);
        input.handle_key(key(KeyCode::Char('a')));
        assert_eq!(input.text(), "안녕 a세요");
        let (row, x) = drawn(&mut input, 20);
        assert_eq!(row, "> 안녕 a세요        ");
        assert_eq!(x, 2 + 6, "prompt, two syllables, a space and 'a'");
    }

    #[test]
    fn a_combining_mark_joins_the_letter_before_it() {
        let mut input = typed("e\u{301}x");
        input.handle_key(key(KeyCode::Left));
        input.handle_key(key(KeyCode::Left));
        assert_eq!(input.cursor(), 0, "é is one step");
        input.handle_key(key(KeyCode::Delete));
        assert_eq!(input.text(), "x");
    }

    #[test]
    fn long_text_scrolls_to_keep_the_cursor_visible() {
        let mut input = typed("0123456789abcdef");
        let (row, x) = drawn(&mut input, 10);
        assert_eq!((row.as_str(), x), ("> 9abcdef ", 9), "the end is shown, the cursor after it");
        input.handle_key(key(KeyCode::Home));
        let (row, x) = drawn(&mut input, 10);
        assert_eq!((row.as_str(), x), ("> 01234567", 2));
        input.handle_key(ctrl('k'));
        let (row, x) = drawn(&mut input, 10);
        assert_eq!((row.as_str(), x), (">         ", 2));
        let mut wide = typed("가나다라마바");
        let (row, x) = drawn(&mut wide, 10);
        // Scrolled by 5 columns: 다 straddles the edge and is left out rather than cut in half.
        assert_eq!((row.as_str(), x), (">  라마바 ", 9));
    }

    #[test]
    fn history_with_up_and_down_keeps_the_draft() {
        let mut input = InputLine::new("> ", Style::default());
        for line in ["first", "second", "second", "   "] {
            input.insert_str(line);
            assert_eq!(input.handle_key(key(KeyCode::Enter)), InputOutcome::Submit(line.into()));
        }
        input.insert_str("draft");
        input.handle_key(key(KeyCode::Up));
        assert_eq!(input.text(), "second", "a repeated line is remembered once, a blank one never");
        input.handle_key(key(KeyCode::Up));
        assert_eq!(input.text(), "first");
        input.handle_key(key(KeyCode::Up));
        assert_eq!(input.text(), "first", "the oldest entry stays");
        input.handle_key(key(KeyCode::Down));
        assert_eq!(input.text(), "second");
        input.handle_key(key(KeyCode::Down));
        assert_eq!((input.text(), input.cursor()), ("draft", 5));
        input.handle_key(key(KeyCode::Down));
        assert_eq!(input.text(), "draft");
        // Editing a recalled line sends the edited text and leaves the history entry alone.
        input.handle_key(ctrl('u'));
        input.handle_key(key(KeyCode::Up));
        input.handle_key(key(KeyCode::Char('!')));
        assert_eq!(input.handle_key(key(KeyCode::Enter)), InputOutcome::Submit("second!".into()));
        input.handle_key(key(KeyCode::Up));
        input.handle_key(key(KeyCode::Up));
        assert_eq!(input.text(), "second");
    }
}
