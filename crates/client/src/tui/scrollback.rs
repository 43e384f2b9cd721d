//! The scrollback pane: styled lines, newest at the bottom, wrapped to the pane's width.
//!
//! Lines are kept as given and wrapped only when drawn, so a resized terminal re-wraps everything
//! correctly. Drawing wraps lines from the newest backwards and stops as soon as the screen (plus
//! the scrolled-back distance) is full, so the cost of a redraw does not grow with the history.
//! The history itself is bounded: the oldest lines are dropped past the capacity.
//!
//! PageUp/PageDown scroll by a screen. While scrolled back, new lines do not move what the user is
//! reading: the distance from the bottom grows by the rows the new line takes.

use std::collections::VecDeque;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;

use super::{grapheme_width, printable};

/// A bounded list of lines with a scroll position.
#[derive(Debug, Clone)]
pub struct Scrollback {
    lines: VecDeque<Line<'static>>,
    capacity: usize,
    /// Rows scrolled back from the bottom (0: following new lines).
    offset: usize,
    /// The pane's size at the last draw: the page size, and the width new lines wrap to.
    width: u16,
    height: u16,
}

impl Scrollback {
    /// A pane that keeps at most `capacity` lines.
    pub fn new(capacity: usize) -> Scrollback {
        Scrollback { lines: VecDeque::new(), capacity: capacity.max(1), offset: 0, width: 0, height: 0 }
    }

    pub fn push(&mut self, line: Line<'static>) {
        if self.offset > 0 && self.width > 0 {
            self.offset += wrap(&line, self.width).len();
        }
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    pub fn lines(&self) -> impl Iterator<Item = &Line<'static>> {
        self.lines.iter()
    }

    /// Scroll back one page (a screen less one row, so the reader keeps a line of context).
    pub fn page_up(&mut self) {
        self.offset += self.page();
    }

    pub fn page_down(&mut self) {
        self.offset = self.offset.saturating_sub(self.page());
    }

    /// Follow new lines again.
    pub fn to_bottom(&mut self) {
        self.offset = 0;
    }

    /// True while scrolled back (new lines arrive below the visible part).
    pub fn is_scrolled(&self) -> bool {
        self.offset > 0
    }

    fn page(&self) -> usize {
        usize::from(self.height.saturating_sub(1)).max(1)
    }

    /// Draw the visible rows. Fewer lines than rows are drawn from the top.
    pub fn render(&mut self, area: Rect, buf: &mut Buffer) {
        self.width = area.width;
        self.height = area.height;
        if area.is_empty() {
            return;
        }
        let height = usize::from(area.height);
        let wanted = self.offset + height;
        // Rows from the bottom up.
        let mut rows: Vec<Line<'static>> = Vec::with_capacity(wanted);
        for line in self.lines.iter().rev() {
            rows.extend(wrap(line, area.width).into_iter().rev());
            if rows.len() >= wanted {
                break;
            }
        }
        if rows.len() < wanted {
            // Scrolled past the oldest line: stop at the top.
            self.offset = rows.len().saturating_sub(height);
        }
        let visible = &rows[self.offset..rows.len().min(self.offset + height)];
        for (y, row) in (area.y..).zip(visible.iter().rev()) {
            buf.set_line(area.x, y, row, area.width);
        }
    }
}

/// Break a line into rows of at most `width` cells, keeping each span's style. A row breaks after
/// the last space that fits (a word longer than a row is cut where the row ends); breaks fall
/// between grapheme clusters, never inside a wide character. Control characters are made visible
/// (see [`printable`]). An empty line is one empty row.
pub fn wrap(line: &Line<'_>, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width.max(1));
    // One entry per drawn grapheme: wrapping works on cells, whatever span they came from.
    let cells: Vec<(&str, usize, Style)> = line
        .spans
        .iter()
        .flat_map(|span| span.content.graphemes(true).map(move |g| (g, grapheme_width(g), span.style)))
        // ratatui skips zero-width clusters when drawing; skip them here too.
        .filter(|&(_, w, _)| w > 0)
        .collect();
    let mut rows = Vec::new();
    let (mut start, mut col, mut after_space) = (0, 0, None);
    let mut i = 0;
    while i < cells.len() {
        let (g, w, _) = cells[i];
        if col + w > width && i > start {
            let end = after_space.filter(|&b| b > start).unwrap_or(i);
            rows.push(styled_row(&cells[start..end], line.style));
            start = end;
            col = cells[start..i].iter().map(|c| c.1).sum();
            after_space = None;
            continue;
        }
        if g.chars().all(char::is_whitespace) {
            after_space = Some(i + 1);
        }
        col += w;
        i += 1;
    }
    rows.push(styled_row(&cells[start..], line.style));
    rows
}

/// Join cells back into spans, one span per run of the same style.
fn styled_row(cells: &[(&str, usize, Style)], style: Style) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    for &(g, _, cell_style) in cells {
        match spans.last_mut() {
            Some(span) if span.style == cell_style => span.content.to_mut().push_str(&printable(g)),
            _ => spans.push(Span::styled(printable(g).into_owned(), cell_style)),
        }
    }
    Line::from(spans).style(style)
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use super::*;

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    fn screen(pane: &mut Scrollback, cols: u16, rows: u16) -> Vec<String> {
        let area = Rect::new(0, 0, cols, rows);
        let mut buf = Buffer::empty(area);
        pane.render(area, &mut buf);
        super::super::testing::rows(&buf, cols, rows)
    }

    #[test]
    fn wrapping_keeps_styles_and_never_splits_a_wide_character() {
        let red = Style::default().fg(Color::Red);
        let line = Line::from(vec![Span::raw("ab "), Span::styled("안녕하세요", red)]);
        let rows = wrap(&line, 7);
        assert_eq!(rows.iter().map(text).collect::<Vec<_>>(), ["ab ", "안녕하", "세요"]);
        assert_eq!(rows[1].spans, [Span::styled("안녕하", red)]);
        let rows = wrap(&Line::from(vec![Span::raw("a"), Span::styled("bcdefgh", red)]), 3);
        assert_eq!(rows.iter().map(text).collect::<Vec<_>>(), ["abc", "def", "gh"], "a long word is cut");
        assert_eq!(rows[0].spans, [Span::raw("a"), Span::styled("bc", red)]);
        let rows = wrap(&Line::raw("say hello to 민수"), 9);
        assert_eq!(rows.iter().map(text).collect::<Vec<_>>(), ["say ", "hello to ", "민수"]);
        assert_eq!(wrap(&Line::default(), 10).len(), 1);
        assert_eq!(text(&wrap(&Line::raw("a\u{1b}[2Jb"), 10)[0]), "a\u{FFFD}[2Jb");
    }

    #[test]
    fn newest_at_the_bottom_and_paging() {
        let mut pane = Scrollback::new(100);
        pane.push(Line::raw("one"));
        assert_eq!(screen(&mut pane, 10, 3), ["one", "", ""], "a short history starts at the top");
        for n in ["two", "three", "four", "five", "six"] {
            pane.push(Line::raw(n));
        }
        assert_eq!(screen(&mut pane, 10, 3), ["four", "five", "six"]);
        pane.page_up();
        assert!(pane.is_scrolled());
        assert_eq!(screen(&mut pane, 10, 3), ["two", "three", "four"]);
        pane.push(Line::raw("a long line that wraps"));
        assert_eq!(screen(&mut pane, 10, 3), ["two", "three", "four"], "new lines do not move the view");
        for _ in 0..5 {
            pane.page_up();
        }
        assert_eq!(screen(&mut pane, 10, 3), ["one", "two", "three"], "stops at the oldest line");
        pane.page_down();
        pane.page_down();
        pane.page_down();
        pane.page_down();
        assert!(!pane.is_scrolled());
        assert_eq!(screen(&mut pane, 10, 3), ["a long", "line that", "wraps"]);
    }

    #[test]
    fn capacity_drops_the_oldest() {
        let mut pane = Scrollback::new(2);
        for n in ["one", "two", "three"] {
            pane.push(Line::raw(n));
        }
        assert_eq!(pane.lines().map(text).collect::<Vec<_>>(), ["two", "three"]);
    }
}
