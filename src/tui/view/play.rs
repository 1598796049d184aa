//! The play screen: header, flow tree, span detail, and the bottom bar
//! with the Pending and Events tabs.
//!
//! Every row of the tree and of both tabs ends in a right-aligned time
//! column (`with_time_column`): a narrow terminal cuts the names, never
//! the times.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span as Chunk};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{footer, layout, mark_selected, pane, right_aligned, row};
use crate::format;
use crate::model::{Span, SpanKind, SpanStatus};
use crate::prompt;
use crate::tui::app::{App, PlayPane, PlayView, Tab};
use crate::tui::spans::{PlayData, Row};
use crate::tui::{strings, theme};

/// How much of a span's inputs, output or error the detail pane shows.
const DETAIL_JSON_LINES: usize = 40;

pub fn render(app: &App, view: &PlayView, frame: &mut Frame, area: Rect) {
    let notice = view.root().play.newer_version_sid.is_some();
    let screen = layout::play(area, notice);
    let buf = frame.buffer_mut();
    header(app, view, screen.header, buf);
    tree(app, view, screen.tree, buf);
    if let Some(detail_area) = screen.detail {
        detail(app, view, detail_area, buf);
    }
    if let Some(bottom_area) = screen.bottom {
        bottom(app, view, bottom_area, buf);
    }
    footer(app, strings::HINTS_PLAY, screen.footer, buf);
}

fn header(app: &App, view: &PlayView, area: Rect, buf: &mut Buffer) {
    let play = &view.root().play;
    let workflow = app.workflow_name(&play.workflow_sid).unwrap_or("?");
    let status = theme::play_style(play.status);
    let mut lines = vec![Line::from(vec![
        Chunk::styled(
            format!("{} {}", theme::play_icon(play.status), play.status),
            status,
        ),
        Chunk::raw("  "),
        Chunk::styled(play.name.as_str(), theme::TITLE),
        Chunk::styled(
            format!(
                "  {workflow}@{}  run {}  sid {}",
                format::short(&play.workflow_version_sid, 8),
                play.runs,
                play.sid
            ),
            theme::DIM,
        ),
    ])];
    let mut times = Vec::new();
    if let Some(started) = &play.started_at {
        times.push(format!("started {}", format::date_time(started)));
    }
    times.push(format!("took {}", format::play_duration(play, app.now)));
    times.push(strings::steps(play.steps_done));
    times.push(format!("cost {}", format::cost(play.total_cost_usd)));
    if let Some(schedule) = &play.schedule {
        times.push(format!("schedule {schedule}"));
    }
    lines.push(Line::styled(times.join(" · "), theme::DIM));
    let width = usize::from(area.width);
    lines.push(Line::from(vec![
        Chunk::styled("input  ", theme::DIM),
        Chunk::raw(format::json_line(&play.input_data, width)),
    ]));
    lines.push(match &play.error {
        Some(error) => Line::from(vec![
            Chunk::styled("error  ", theme::DIM),
            Chunk::styled(
                format::clip(error.lines().last().unwrap_or(""), width),
                theme::ERROR,
            ),
        ]),
        None => Line::from(vec![
            Chunk::styled("output ", theme::DIM),
            Chunk::raw(format::json_line(&play.output_data, width)),
        ]),
    });
    if let Some(newer) = &play.newer_version_sid {
        lines.push(Line::styled(
            strings::newer_version(
                format::short(&play.workflow_version_sid, 8),
                format::short(newer, 8),
            ),
            theme::WARN,
        ));
    }
    for (i, line) in lines.iter().take(usize::from(area.height)).enumerate() {
        buf.set_line(area.x, area.y + i as u16, line, area.width);
    }
}

fn tree(app: &App, view: &PlayView, area: Rect, buf: &mut Buffer) {
    let focused = view.focus == PlayPane::Tree;
    let title = Line::styled(
        format!(" {} · run {} ", strings::FLOW_TREE, view.root().tree_run()),
        theme::TITLE,
    );
    let block = pane(title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    if view.rows.is_empty() {
        Paragraph::new(strings::NO_SPANS)
            .style(theme::DIM)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    }
    let height = usize::from(inner.height);
    let offset = layout::window(view.tree_offset, view.cursor, view.rows.len(), height);
    let end = (offset + height).min(view.rows.len());
    for (i, r) in view.rows[offset..end].iter().enumerate() {
        let line = row(inner, i);
        tree_row(app, view, r, line, buf);
        if offset + i == view.cursor {
            mark_selected(buf, line, focused);
        }
    }
}

/// How long a span took, or has been going; a paused one is waiting, with
/// the time left when the clock answers its pause (a timer, a deadline).
fn span_time(span: &Span, data: &PlayData, app: &App) -> String {
    match (span.status, span.duration_ms) {
        (SpanStatus::Paused, _) => data
            .clock_pause_at(&span.id)
            .and_then(|r| format::countdown(r, app.now))
            .unwrap_or_else(|| "waiting".into()),
        (SpanStatus::Running, _) => format::elapsed(&span.started_at, None, app.now)
            .map(format::duration)
            .unwrap_or_default(),
        (_, Some(ms)) => format::duration(ms / 1000.0),
        (_, None) => String::new(),
    }
}

fn tree_row(app: &App, view: &PlayView, r: &Row, line: Rect, buf: &mut Buffer) {
    let data = &view.plays[r.play];
    let Some(span) = data.span(r.span) else {
        return;
    };
    // Deep trees keep at least half the row for names.
    let indent = (usize::from(r.depth) * 2).min(usize::from(line.width / 2));
    let marker = match (r.has_kids, r.folded) {
        (false, _) => "  ",
        (true, false) => "▾ ",
        (true, true) => "▸ ",
    };
    let replayed = span.status == SpanStatus::Replayed;
    let mut chunks = vec![
        Chunk::raw(format!(" {:indent$}{marker}", "")),
        Chunk::styled(
            theme::span_icon(span.status),
            theme::span_style(span.status),
        ),
        Chunk::raw(" "),
        Chunk::styled(
            span.name.as_str(),
            if replayed { theme::DIM } else { theme::TITLE },
        ),
    ];
    if span.kind != SpanKind::Step {
        chunks.push(Chunk::styled(
            format!(" {}", span.kind.as_str()),
            theme::DIM,
        ));
    }
    if replayed {
        chunks.push(Chunk::styled(" replayed", theme::span_style(span.status)));
    }
    if let Some(n) = span.attempt {
        chunks.push(Chunk::styled(
            format!(" {}", strings::attempt(n)),
            theme::DIM,
        ));
    }
    if r.play != 0 && span.parent_id.is_none() {
        chunks.push(Chunk::styled(
            format!(" play {}", data.play.sid),
            theme::DIM,
        ));
    }
    if let Some(child) = &span.child_play_sid {
        chunks.push(Chunk::styled(format!(" → {child}"), theme::DIM));
    }
    with_time_column(buf, line, chunks, &span_time(span, data, app));
}

/// Draws `chunks` on `line` with `time` right-aligned at its end, dim, two
/// columns apart: the time column of the tree and of both tabs. The chunks
/// are cut short rather than the time.
fn with_time_column(buf: &mut Buffer, line: Rect, chunks: Vec<Chunk>, time: &str) {
    let time_width = Line::raw(time).width() as u16;
    buf.set_line(
        line.x,
        line.y,
        &Line::from(chunks),
        line.width.saturating_sub(time_width + 2),
    );
    if time_width > 0 {
        right_aligned(
            buf,
            line.x + line.width - 1,
            line.y,
            time_width,
            time,
            theme::DIM,
        );
    }
}

fn detail(app: &App, view: &PlayView, area: Rect, buf: &mut Buffer) {
    let block = pane(
        Line::styled(format!(" {} ", strings::DETAIL), theme::TITLE),
        false,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let Some((r, span)) = view
        .selected_row()
        .and_then(|r| Some((r, view.plays[r.play].span(r.span)?)))
    else {
        Paragraph::new(strings::NO_SPAN_SELECTED)
            .style(theme::DIM)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    };
    let mut lines = vec![
        Line::from(vec![
            Chunk::styled(
                theme::span_icon(span.status),
                theme::span_style(span.status),
            ),
            Chunk::raw(" "),
            Chunk::styled(span.name.as_str(), theme::TITLE),
        ]),
        Line::styled(
            format!(
                "{} · {} · run {}{} · id {}",
                span.kind.as_str(),
                span.status.as_str(),
                span.run,
                span.attempt
                    .map(|n| format!(" · {}", strings::attempt(n)))
                    .unwrap_or_default(),
                span.id
            ),
            theme::DIM,
        ),
    ];
    if r.play != 0 {
        lines.push(Line::styled(
            format!("in child play {}", span.play_sid),
            theme::DIM,
        ));
    }
    if let (Some(file), Some(number)) = (&span.source_file, span.source_line) {
        let file = std::path::Path::new(file)
            .file_name()
            .map_or_else(|| file.clone(), |f| f.to_string_lossy().into_owned());
        lines.push(Line::from(vec![
            Chunk::styled("source ", theme::DIM),
            Chunk::raw(format!("{file}:{number}")),
        ]));
    }
    let mut when = vec![format!("at {}", format::clock(&span.started_at))];
    let time = span_time(span, &view.plays[r.play], app);
    if !time.is_empty() {
        when.push(time);
    }
    if span.cost_usd > 0.0 {
        when.push(format!("cost {}", format::cost(span.cost_usd)));
    }
    lines.push(Line::styled(when.join(" · "), theme::DIM));
    if let Some(child) = &span.child_play_sid {
        lines.push(Line::from(vec![
            Chunk::styled("child play ", theme::DIM),
            Chunk::raw(child.as_str()),
        ]));
    }
    let sections = [
        ("inputs", &span.inputs, Style::new()),
        ("output", &span.output, Style::new()),
    ];
    for (label, value, style) in sections {
        if value.is_null() || value.as_object().is_some_and(|o| o.is_empty()) {
            continue;
        }
        lines.push(Line::styled(label, theme::TITLE));
        for text in format::json_block(value, DETAIL_JSON_LINES) {
            lines.push(Line::styled(format!("  {text}"), style));
        }
    }
    if let Some(error) = &span.error {
        lines.push(Line::styled("error", theme::TITLE));
        lines.extend(
            error
                .lines()
                .take(DETAIL_JSON_LINES)
                .map(|l| Line::styled(format!("  {l}"), theme::ERROR)),
        );
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

fn bottom(app: &App, view: &PlayView, area: Rect, buf: &mut Buffer) {
    let pending = view.pending();
    // The active tab is marked as well as styled, for monochrome terminals.
    let tab = |label: String, active: bool| {
        if active {
            Chunk::styled(format!("▸ {label}"), theme::TAB_ACTIVE)
        } else {
            Chunk::styled(label, theme::DIM)
        }
    };
    let title = Line::from(vec![
        Chunk::raw(" "),
        tab(
            format!("{} ({})", strings::PENDING, pending.len()),
            view.tab == Tab::Pending,
        ),
        Chunk::styled(" │ ", theme::DIM),
        tab(
            format!("{} ({})", strings::EVENTS, view.root().spans().len()),
            view.tab == Tab::Events,
        ),
        Chunk::raw(" "),
    ]);
    let focused = view.focus == PlayPane::Bottom;
    let block = pane(title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    match view.tab {
        Tab::Pending => pending_list(app, view, &pending, focused, inner, buf),
        Tab::Events => events_list(app, view, focused, inner, buf),
    }
}

fn pending_list(
    app: &App,
    view: &PlayView,
    pending: &[(usize, &crate::model::ResumeRequest)],
    focused: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    let height = usize::from(area.height);
    let machine = view.machine_pauses();
    let timers = view.timers();
    if pending.is_empty() && timers.is_empty() {
        let mut lines = vec![Line::styled(strings::NO_PENDING, theme::DIM)];
        if machine > 0 {
            lines.push(Line::styled(
                strings::machine_pauses_line(machine),
                theme::DIM,
            ));
        }
        Paragraph::new(lines).render(area, buf);
        return;
    }
    let in_child = |p: usize| {
        (p != 0).then(|| Chunk::styled(format!("  in {}", view.plays[p].play.sid), theme::DIM))
    };
    let cursor = view.pending_cursor();
    let offset = layout::window(view.pending_offset, cursor, pending.len(), height);
    let mut used = 0;
    for (i, (p, request)) in pending.iter().enumerate().skip(offset).take(height) {
        let line = row(area, i - offset);
        let mut chunks = vec![
            Chunk::raw(" "),
            Chunk::styled("⏸ ", theme::WARN),
            Chunk::styled(request.name.as_str(), theme::TITLE),
            Chunk::styled(
                format!(" {}  ", request.ui["kind"].as_str().unwrap_or("text")),
                theme::DIM,
            ),
            Chunk::raw(prompt::question(request)),
        ];
        chunks.extend(in_child(*p));
        if let (true, Some(url)) = (i == cursor, &request.resume_url) {
            chunks.push(Chunk::styled(format!("  POST {url}"), theme::DIM));
        }
        // A deadline matters more than how long the question has waited.
        let time = format::countdown(request, app.now)
            .unwrap_or_else(|| format::age(&request.asked_at, app.now));
        with_time_column(buf, line, chunks, &time);
        if i == cursor {
            mark_selected(buf, line, focused);
        }
        used += 1;
    }
    // Timers follow the questions: nobody answers them, so the cursor
    // never lands on them.
    for (p, request) in timers.iter().take(height.saturating_sub(used)) {
        let line = row(area, used);
        let mut chunks = vec![
            Chunk::raw(" "),
            Chunk::styled(format!("{} ", format::TIMER_ICON), theme::WARN),
            Chunk::styled(request.name.as_str(), theme::TITLE),
            Chunk::styled(" timer", theme::DIM),
        ];
        chunks.extend(in_child(*p));
        let time = format::countdown(request, app.now).unwrap_or_default();
        with_time_column(buf, line, chunks, &time);
        used += 1;
    }
    if machine > 0 && used < height {
        let line = row(area, used);
        let text = Line::styled(strings::machine_pauses_line(machine), theme::DIM);
        buf.set_line(line.x + 1, line.y, &text, line.width.saturating_sub(1));
    }
}

fn events_list(app: &App, view: &PlayView, focused: bool, area: Rect, buf: &mut Buffer) {
    let spans = view.root().spans();
    let signals = &view.root().play.signal_events;
    if spans.is_empty() && signals.is_empty() {
        Paragraph::new(strings::NO_EVENTS)
            .style(theme::DIM)
            .render(area, buf);
        return;
    }
    let height = usize::from(area.height);
    let cursor = view.events_cursor();
    let offset = layout::window(view.events_offset, cursor, spans.len(), height);
    let end = (offset + height).min(spans.len());
    for (i, span) in spans[offset..end].iter().enumerate() {
        let line = row(area, i);
        let mut chunks = vec![
            Chunk::styled(
                format!(" run {:<2} {} ", span.run, format::clock(&span.started_at)),
                theme::DIM,
            ),
            Chunk::styled(
                theme::span_icon(span.status),
                theme::span_style(span.status),
            ),
            Chunk::raw(" "),
            Chunk::styled(span.name.as_str(), theme::TITLE),
            Chunk::styled(
                format!(" {} {}", span.kind.as_str(), span.status.as_str()),
                theme::DIM,
            ),
        ];
        if let Some(n) = span.attempt {
            chunks.push(Chunk::styled(
                format!(" {}", strings::attempt(n)),
                theme::DIM,
            ));
        }
        with_time_column(buf, line, chunks, &span_time(span, view.root(), app));
        if offset + i == cursor {
            mark_selected(buf, line, focused);
        }
    }
    signal_lines(signals, end - offset, area, buf);
}

/// The signals' deliveries, newest last, in the rows the spans leave free.
fn signal_lines(signals: &[crate::model::SignalEvent], used: usize, area: Rect, buf: &mut Buffer) {
    let free = usize::from(area.height).saturating_sub(used);
    let shown = signals.len().min(free);
    for (i, event) in signals[signals.len() - shown..].iter().enumerate() {
        let line = row(area, used + i);
        let outcome = format!("{:?}", event.outcome).to_lowercase();
        let style = if event.outcome == crate::model::SignalOutcome::Refused {
            theme::ERROR
        } else {
            theme::DIM
        };
        let chunks = vec![
            Chunk::styled(format!(" signal {} ", format::clock(&event.at)), theme::DIM),
            Chunk::styled(event.name.as_str(), theme::TITLE),
            Chunk::styled(format!(" {outcome} "), style),
            Chunk::styled(event.violations.join("; "), style),
        ];
        with_time_column(buf, line, chunks, "");
    }
}
