//! The Schedules screen: each schedule's name, workflow, rule, next fire
//! and last play, and the selected one whole below.
//!
//! The next fire counts down ("in 4m 10s"); its moment is shown in the
//! detail in the schedule's own zone, the one its rule is written in.
//! Columns give way as the terminal narrows (workflow, then rule), so that
//! the name, the next fire and the last play stay.

use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span as Chunk};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{footer, layout, mark_selected, pane, row};
use crate::format;
use crate::model::Schedule;
use crate::tui::app::{App, SchedulesView};
use crate::tui::{strings, theme};

pub fn render(app: &App, view: &SchedulesView, frame: &mut Frame, area: Rect) {
    let screen = layout::schedules(area);
    let buf = frame.buffer_mut();
    list(app, view, screen.list, buf);
    if let Some(detail_area) = screen.detail {
        detail(app, view, detail_area, buf);
    }
    footer(app, strings::HINTS_SCHEDULES, screen.footer, buf);
}

/// The widths of the columns that fit; 0 for one given way.
struct Columns {
    name: u16,
    workflow: u16,
    rule: u16,
    next: u16,
    last: u16,
}

impl Columns {
    fn fit(width: u16) -> Columns {
        let mut c = Columns {
            name: 0,
            workflow: 12,
            rule: 15,
            next: 12,
            last: 14,
        };
        // The gutter, and one space after each column.
        let used = |c: &Columns| 1 + c.workflow + c.rule + c.next + c.last + 5;
        for drop in [0, 1] {
            if width.saturating_sub(used(&c)) >= 12 {
                break;
            }
            match drop {
                0 => c.workflow = 0,
                _ => c.rule = 0,
            }
        }
        c.name = width.saturating_sub(used(&c)).max(1);
        c
    }

    /// The cells of a row that fit, each with its width, in order.
    fn cells<T>(&self, cells: [T; 5]) -> impl Iterator<Item = (u16, T)> {
        [self.name, self.workflow, self.rule, self.next, self.last]
            .into_iter()
            .zip(cells)
            .filter(|(width, _)| *width > 0)
    }
}

fn list(app: &App, view: &SchedulesView, area: Rect, buf: &mut Buffer) {
    let title = Line::styled(
        format!(" {} ({}) ", strings::SCHEDULES, view.list.len()),
        theme::TITLE,
    );
    let block = pane(title, true);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let columns = Columns::fit(inner.width);
    let header = row(inner, 0);
    let mut x = header.x + 1;
    for (width, label) in columns.cells(strings::SCHEDULE_COLUMNS) {
        buf.set_stringn(x, header.y, label, usize::from(width), theme::DIM);
        x += width + 1;
    }
    let rows = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    if view.list.is_empty() {
        let text = if view.loaded {
            strings::NO_SCHEDULES
        } else {
            strings::LOADING
        };
        Paragraph::new(text)
            .style(theme::DIM)
            .wrap(Wrap { trim: true })
            .render(rows, buf);
        return;
    }
    let height = usize::from(rows.height);
    let cursor = view.cursor().unwrap_or(0);
    let offset = layout::window(view.offset, cursor, view.list.len(), height);
    for (i, schedule) in view.list.iter().enumerate().skip(offset).take(height) {
        let line = row(rows, i - offset);
        schedule_row(app, schedule, &columns, line, buf);
        if i == cursor {
            mark_selected(buf, line, true);
        }
    }
}

fn rule(schedule: &Schedule) -> String {
    match (&schedule.cron, schedule.every_s) {
        (Some(cron), _) => cron.clone(),
        (None, Some(secs)) => strings::every(&format::seconds_span(secs as i64)),
        (None, None) => "-".into(),
    }
}

/// "in 4m 10s", "due", or "paused".
fn next_fire(app: &App, schedule: &Schedule) -> String {
    match (&schedule.next_fire_at, schedule.paused) {
        (_, true) => strings::PAUSED.into(),
        (Some(at), false) => format::in_time(at, app.now),
        (None, false) => "-".into(),
    }
}

/// "✔ done 3m": the last play's status and age, or its sid while the
/// plays list does not have it.
fn last_play(app: &App, schedule: &Schedule) -> (String, Style) {
    match (app.last_play(schedule), &schedule.last_play_sid) {
        (Some(play), _) => (
            format!(
                "{} {} {}",
                theme::play_icon(play.status),
                theme::play_word(play.status),
                format::age(&play.created_at, app.now)
            ),
            theme::play_style(play.status),
        ),
        (None, Some(sid)) => (sid.clone(), theme::DIM),
        (None, None) => ("-".into(), theme::DIM),
    }
}

fn schedule_row(app: &App, schedule: &Schedule, c: &Columns, line: Rect, buf: &mut Buffer) {
    let workflow = app
        .workflow_name(&schedule.workflow_sid)
        .unwrap_or(&schedule.workflow_sid);
    let rule = rule(schedule);
    let next = next_fire(app, schedule);
    let (last, last_style) = last_play(app, schedule);
    let next_style = if schedule.paused {
        theme::WARN
    } else {
        Style::new()
    };
    let cells = [
        (schedule.name.as_str(), theme::TITLE),
        (workflow, Style::new()),
        (&rule, theme::DIM),
        (&next, next_style),
        (&last, last_style),
    ];
    let mut x = line.x + 1;
    for (width, (text, style)) in c.cells(cells) {
        buf.set_stringn(
            x,
            line.y,
            format::clip(text, usize::from(width)),
            usize::from(width),
            style,
        );
        x += width + 1;
    }
}

fn detail(app: &App, view: &SchedulesView, area: Rect, buf: &mut Buffer) {
    let block = pane(Line::styled(" Schedule ", theme::TITLE), false);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(schedule) = view.selected() else {
        return;
    };
    let zone = schedule
        .tz
        .as_deref()
        .and_then(|tz| TimeZone::get(tz).ok())
        .unwrap_or(TimeZone::UTC);
    let workflow = app
        .workflow_name(&schedule.workflow_sid)
        .unwrap_or(&schedule.workflow_sid);
    let mut what = format!("{} · {workflow} · {}", schedule.name, rule(schedule));
    if let Some(tz) = &schedule.tz {
        what.push_str(&format!(" ({tz})"));
    }
    what.push_str(&format!(
        " · overlap {} · catchup {}",
        json_word(&schedule.overlap),
        json_word(&schedule.catchup)
    ));
    let mut when = Vec::new();
    if schedule.paused {
        when.push(strings::PAUSED.to_owned());
    }
    if let Some(next) = &schedule.next_fire_at {
        when.push(strings::next_fire(
            &format::zoned_time(next, &zone),
            &format::in_time(next, app.now),
        ));
    }
    if let Some(sid) = &schedule.last_play_sid {
        when.push(format!("last play {sid}"));
    }
    let lines = vec![
        Line::styled(what, theme::TITLE),
        Line::styled(when.join(" · "), theme::DIM),
        Line::from(vec![
            Chunk::styled("input ", theme::DIM),
            Chunk::raw(format::json_line(
                &schedule.input_data,
                usize::from(inner.width),
            )),
        ]),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

/// An enum's name as the wire spells it: "skip", "latest".
fn json_word(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
