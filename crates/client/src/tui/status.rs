//! The status bar: one reverse-video row of short facts, some on the left, some on the right.
//!
//! A screen builds a fresh bar for every frame from its state (it is a handful of spans), so the
//! bar can never show a stale value. Items are separated by ` │ `. When the row is too narrow the
//! right-hand items win, because that is where screens put what changes (hints, warnings), and the
//! left side is cut.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::width;

const SEPARATOR: &str = " │ ";

/// A one-row status bar.
#[derive(Debug, Clone, Default)]
pub struct StatusBar<'a> {
    left: Vec<Span<'a>>,
    right: Vec<Span<'a>>,
}

impl<'a> StatusBar<'a> {
    pub fn new() -> StatusBar<'a> {
        StatusBar::default()
    }

    /// Add an item after the left-hand ones.
    pub fn left(mut self, item: impl Into<Span<'a>>) -> Self {
        self.left.push(item.into());
        self
    }

    /// Add an item after the right-hand ones.
    pub fn right(mut self, item: impl Into<Span<'a>>) -> Self {
        self.right.push(item.into());
        self
    }

    fn joined(items: &[Span<'a>]) -> Line<'a> {
        let mut spans = Vec::with_capacity(items.len() * 2 + 1);
        spans.push(Span::raw(" "));
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(SEPARATOR));
            }
            spans.push(item.clone());
        }
        spans.push(Span::raw(" "));
        Line::from(spans)
    }
}

impl Widget for StatusBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let area = Rect { height: 1, ..area };
        buf.set_style(area, Style::default().add_modifier(Modifier::REVERSED));
        let right = if self.right.is_empty() { Line::default() } else { Self::joined(&self.right) };
        let right_width = (width(&right.to_string()) as u16).min(area.width);
        let left = Self::joined(&self.left);
        buf.set_line(area.x, area.y, &left, area.width - right_width);
        buf.set_line(area.right() - right_width, area.y, &right, right_width);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(bar: StatusBar<'_>, cols: u16) -> (String, Buffer) {
        let area = Rect::new(0, 0, cols, 1);
        let mut buf = Buffer::empty(area);
        bar.render(area, &mut buf);
        ((0..cols).map(|x| buf[(x, 0)].symbol().to_owned()).collect(), buf)
    }

    #[test]
    fn items_left_and_right() {
        let bar = StatusBar::new().left("chat").left("alice").right("reply: bob");
        let (text, buf) = row(bar, 30);
        assert_eq!(text, " chat │ alice      reply: bob ");
        assert!(buf[(5, 0)].modifier.contains(Modifier::REVERSED), "the whole row is reverse video");
        assert!(buf[(29, 0)].modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn a_narrow_bar_keeps_the_right_side() {
        let bar = StatusBar::new().left("a long left side").right("hint");
        let (text, _) = row(bar, 10);
        assert_eq!(text, " a l hint ");
    }
}
