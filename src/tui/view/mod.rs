//! Drawing: a pure function of [`App`] into a ratatui frame.
//!
//! Views read the state and draw; they change nothing (the state's scroll
//! offsets are set by `App::settle`, and the views only clamp them to the
//! area they get). Lists draw only the rows in their window, so a play of
//! ten thousand spans costs what a screenful costs.

mod home;
pub mod layout;
mod overlay;
mod play;
mod schedules;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span as Chunk};
use ratatui::widgets::{Block, Paragraph};

use super::app::{App, Overlay};
use super::strings;
use super::theme;

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if layout::too_small(area) {
        frame.render_widget(Paragraph::new(strings::TOO_SMALL).style(theme::WARN), area);
        return;
    }
    match (&app.view, &app.schedules) {
        (Some(view), _) => play::render(app, view, frame, area),
        (None, Some(schedules)) => schedules::render(app, schedules, frame, area),
        (None, None) => home::render(app, frame, area),
    }
    match &app.overlay {
        Some(Overlay::Help) => overlay::help(frame, area),
        Some(Overlay::Confirm(confirm)) => overlay::confirm(confirm, frame, area),
        Some(Overlay::Form(form)) => overlay::form(form, frame, area),
        None => {}
    }
}

/// A bordered pane, its border coloured when it has the focus.
fn pane(title: Line<'_>, focused: bool) -> Block<'_> {
    Block::bordered().title(title).border_style(if focused {
        theme::FOCUSED_BORDER
    } else {
        Style::new()
    })
}

/// The footer: a message if there is one, else the screen's keys.
fn footer(app: &App, hints: &[(&str, &str)], area: Rect, buf: &mut Buffer) {
    let line = if let Some(message) = &app.message {
        let style = if message.error {
            theme::ERROR
        } else {
            theme::OK
        };
        Line::styled(message.text.as_str(), style)
    } else if let Some(reason) = &app.offline {
        Line::styled(strings::offline(reason), theme::ERROR)
    } else {
        hint_line(hints)
    };
    buf.set_line(area.x, area.y, &line, area.width);
}

fn hint_line<'a>(hints: &[(&'a str, &'a str)]) -> Line<'a> {
    let mut chunks = Vec::with_capacity(hints.len() * 3);
    for (i, (key, what)) in hints.iter().enumerate() {
        if i > 0 {
            chunks.push(Chunk::styled(" · ", theme::DIM));
        }
        chunks.push(Chunk::styled(*key, theme::KEY));
        chunks.push(Chunk::raw(format!(" {what}")));
    }
    Line::from(chunks)
}

/// Marks the selected row: a `›` in the gutter (readable without colour,
/// and in text snapshots) and the selection style.
fn mark_selected(buf: &mut Buffer, row: Rect, focused: bool) {
    buf.set_string(row.x, row.y, "›", theme::TITLE);
    buf.set_style(
        row,
        if focused {
            theme::SELECTED
        } else {
            theme::SELECTED_UNFOCUSED
        },
    );
}

/// A one-line rectangle: row `i` of `area`.
fn row(area: Rect, i: usize) -> Rect {
    Rect {
        y: area.y + i as u16,
        height: 1,
        ..area
    }
}

/// Writes `text` right-aligned in a column of `width` cells ending at `right`.
fn right_aligned(buf: &mut Buffer, right: u16, y: u16, width: u16, text: &str, style: Style) {
    let shown = crate::format::clip(text, usize::from(width));
    let len = Line::raw(shown.as_str()).width() as u16;
    buf.set_stringn(
        right.saturating_sub(len),
        y,
        &shown,
        usize::from(width),
        style,
    );
}
