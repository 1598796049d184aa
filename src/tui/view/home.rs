//! The home screen: the plays list, and the workflows beside it.
//!
//! The plays list is a table whose columns give way one by one (cost,
//! took, steps, age) as the terminal narrows, so that the name keeps at
//! least 14 cells; the name column takes what is left.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span as Chunk};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{footer, hint_line, layout, mark_selected, pane, right_aligned, row};
use crate::format;
use crate::model::Play;
use crate::tui::app::{App, HomePane};
use crate::tui::{strings, theme};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let areas = layout::home(area, app.home_pane == HomePane::Workflows);
    if let Some(plays) = areas.plays {
        plays_pane(app, plays, frame.buffer_mut());
    }
    if let Some(workflows) = areas.workflows {
        workflows_pane(app, workflows, frame.buffer_mut());
    }
    if app.searching {
        let prompt = format!("{} ", strings::SEARCH_PROMPT);
        let line = Line::from(vec![
            Chunk::styled(prompt.clone(), theme::KEY),
            Chunk::raw(app.search.value()),
        ]);
        let hints = hint_line(strings::HINTS_SEARCH);
        let buf = frame.buffer_mut();
        let (after, _) = buf.set_line(areas.footer.x, areas.footer.y, &line, areas.footer.width);
        let hints_width = hints.width() as u16;
        let hints_x = areas.footer.right().saturating_sub(hints_width);
        if hints_x > after + 1 {
            buf.set_line(hints_x, areas.footer.y, &hints, hints_width);
        }
        let cursor = prompt.len() as u16 + app.search.visual_cursor() as u16;
        frame.set_cursor_position(Position::new(
            areas.footer.x + cursor.min(areas.footer.width.saturating_sub(1)),
            areas.footer.y,
        ));
    } else {
        let hints = match app.home_pane {
            HomePane::Plays => strings::HINTS_HOME,
            HomePane::Workflows => strings::HINTS_WORKFLOWS,
        };
        footer(app, hints, areas.footer, frame.buffer_mut());
    }
}

/// The columns that fit, widest first to go: cost, took, steps, age.
struct Columns {
    status: u16,
    name: u16,
    age: u16,
    took: u16,
    steps: u16,
    cost: u16,
    badge: u16,
}

impl Columns {
    fn fit(width: u16) -> Columns {
        let mut c = Columns {
            status: 11,
            name: 0,
            age: 4,
            took: 5,
            steps: 5,
            cost: 7,
            badge: 3,
        };
        // The gutter, and one space after each column.
        let used = |c: &Columns| 1 + c.status + c.age + c.took + c.steps + c.cost + c.badge + 6;
        for drop in [3, 1, 2, 0] {
            if width.saturating_sub(used(&c)) >= 14 {
                break;
            }
            match drop {
                0 => c.age = 0,
                1 => c.took = 0,
                2 => c.steps = 0,
                _ => c.cost = 0,
            }
        }
        c.name = width.saturating_sub(used(&c)).max(1);
        c
    }
}

fn plays_pane(app: &App, area: Rect, buf: &mut Buffer) {
    let visible = app.visible_plays();
    let focused = app.home_pane == HomePane::Plays;
    let mut title = vec![Chunk::styled(
        format!(" {} ({}) ", strings::PLAYS, visible.len()),
        theme::TITLE,
    )];
    if let Some(status) = app.filter {
        title.push(Chunk::styled(format!("status: {status} "), theme::WARN));
    }
    if !app.search.value().is_empty() {
        title.push(Chunk::styled(
            format!("search: {} ", app.search.value()),
            theme::WARN,
        ));
    }
    let block = pane(Line::from(title), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let columns = Columns::fit(inner.width);
    header_row(&columns, row(inner, 0), buf);
    let list = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    if visible.is_empty() {
        let text = if app.plays.is_empty() {
            strings::NO_PLAYS
        } else {
            strings::NO_PLAYS_MATCH
        };
        Paragraph::new(text)
            .style(theme::DIM)
            .wrap(Wrap { trim: true })
            .render(list, buf);
        return;
    }
    let height = usize::from(list.height);
    let cursor = app.play_cursor().unwrap_or(0);
    let offset = layout::window(app.plays_offset, cursor, visible.len(), height);
    for (i, play) in visible.iter().enumerate().skip(offset).take(height) {
        let line = row(list, i - offset);
        play_row(app, play, &columns, line, buf);
        if i == cursor {
            mark_selected(buf, line, focused);
        }
    }
}

fn header_row(c: &Columns, line: Rect, buf: &mut Buffer) {
    let [status, name, age, took, steps, cost] = strings::COLUMNS;
    let style = theme::DIM;
    let mut x = line.x + 1;
    buf.set_stringn(x, line.y, status, usize::from(c.status), style);
    x += c.status + 1;
    buf.set_stringn(x, line.y, name, usize::from(c.name), style);
    x += c.name + 1;
    for (width, label) in [
        (c.age, age),
        (c.took, took),
        (c.steps, steps),
        (c.cost, cost),
    ] {
        if width > 0 {
            right_aligned(buf, x + width, line.y, width, label, style);
            x += width + 1;
        }
    }
}

fn play_row(app: &App, play: &Play, c: &Columns, line: Rect, buf: &mut Buffer) {
    let y = line.y;
    let mut x = line.x + 1;
    let status = format!(
        "{} {}",
        theme::play_icon(play.status),
        theme::play_word(play.status)
    );
    buf.set_stringn(
        x,
        y,
        &status,
        usize::from(c.status),
        theme::play_style(play.status),
    );
    x += c.status + 1;
    let workflow = app.workflow_name(&play.workflow_sid).unwrap_or("");
    let mut name = if workflow.is_empty() || workflow == play.name {
        play.name.clone()
    } else {
        format!("{workflow}/{}", play.name)
    };
    if play.parent_play_sid.is_some() {
        name = format!("↳ {name}");
    }
    buf.set_stringn(
        x,
        y,
        format::clip(&name, usize::from(c.name)),
        usize::from(c.name),
        theme::TITLE,
    );
    x += c.name + 1;
    let cells = [
        (c.age, format::age(&play.created_at, app.now)),
        (c.took, format::play_duration(play, app.now)),
        (c.steps, play.steps_done.to_string()),
        (c.cost, format::cost(play.total_cost_usd)),
    ];
    for (width, text) in cells {
        if width > 0 {
            right_aligned(buf, x + width, y, width, &text, theme::DIM);
            x += width + 1;
        }
    }
    let open = play.open_pauses();
    if open > 0 {
        buf.set_stringn(x, y, format!("⏸{open}"), usize::from(c.badge), theme::BADGE);
    }
}

fn workflows_pane(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.home_pane == HomePane::Workflows;
    let title = Line::styled(
        format!(" {} ({}) ", strings::WORKFLOWS, app.workflows.len()),
        theme::TITLE,
    );
    let block = pane(title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    if app.workflows.is_empty() {
        Paragraph::new(strings::NO_WORKFLOWS)
            .style(theme::DIM)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    }
    let height = usize::from(inner.height);
    let cursor = app.workflow_cursor().unwrap_or(0);
    let offset = layout::window(app.workflows_offset, cursor, app.workflows.len(), height);
    for (i, workflow) in app.workflows.iter().enumerate().skip(offset).take(height) {
        let line = row(inner, i - offset);
        let inputs: Vec<&str> = workflow.inputs.iter().map(|f| f.name.as_str()).collect();
        let text = Line::from(vec![
            Chunk::raw(" "),
            Chunk::styled(workflow.name.as_str(), theme::TITLE),
            Chunk::styled(format!(" ({})", inputs.join(", ")), theme::DIM),
        ]);
        buf.set_line(line.x, line.y, &text, line.width);
        if i == cursor {
            mark_selected(buf, line, focused);
        }
    }
}
