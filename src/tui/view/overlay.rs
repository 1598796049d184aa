//! What opens over a screen: the help, a yes/no question, the start form.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span as Chunk};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::hint_line;
use crate::tui::action::BINDINGS;
use crate::tui::app::Confirm;
use crate::tui::form::StartForm;
use crate::tui::{strings, theme};

/// A box of at most `width`×`height` in the middle of `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

pub fn help(frame: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .filter_map(|b| b.help)
        .map(|(keys, what)| {
            Line::from(vec![
                Chunk::styled(format!(" {keys:<13}"), theme::KEY),
                Chunk::raw(what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    for legend in strings::HELP_ICONS {
        lines.push(Line::styled(format!(" {legend}"), theme::DIM));
    }
    lines.push(Line::styled(
        format!(" {}", strings::HELP_CLOSE),
        theme::DIM,
    ));
    let height = lines.len() as u16 + 2;
    let box_area = centered(area, 70, height);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Line::styled(strings::HELP_TITLE, theme::TITLE))),
        box_area,
    );
}

pub fn confirm(confirm: &Confirm, frame: &mut Frame, area: Rect) {
    let question = match confirm {
        Confirm::Cancel { sid, name } => strings::confirm_cancel(name, sid),
        Confirm::Restart { sid, name, latest } => strings::confirm_restart(name, sid, *latest),
    };
    let box_area = centered(area, 60, 6);
    frame.render_widget(Clear, box_area);
    let lines = vec![
        Line::styled(question, theme::TITLE),
        Line::raw(""),
        Line::styled(strings::CONFIRM_KEYS, theme::KEY),
    ];
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().border_style(theme::WARN)),
        box_area,
    );
}

pub fn form(form: &StartForm, frame: &mut Frame, area: Rect) {
    let fields = form.fields.len() as u16;
    let height = 2 * fields.max(1) + 4 + u16::from(form.error.is_some());
    let box_area = centered(area, 64, height);
    frame.render_widget(Clear, box_area);
    let block = Block::bordered()
        .border_style(theme::FOCUSED_BORDER)
        .title(Line::styled(
            strings::start_title(&form.workflow.name),
            theme::TITLE,
        ));
    let inner = block.inner(box_area);
    frame.render_widget(block, box_area);
    let mut lines = Vec::new();
    if form.fields.is_empty() {
        lines.push(Line::styled(strings::NO_INPUTS, theme::DIM));
        lines.push(Line::raw(""));
    }
    let mut cursor = None;
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let mut label = vec![
            Chunk::styled(
                field.spec.name.as_str(),
                if focused { theme::KEY } else { theme::TITLE },
            ),
            Chunk::styled(
                format!(
                    " {}{}",
                    field.spec.ty.as_str(),
                    if field.spec.required {
                        ", required"
                    } else {
                        ""
                    }
                ),
                theme::DIM,
            ),
        ];
        if let Some(error) = &field.error {
            label.push(Chunk::styled(format!("  {error}"), theme::ERROR));
        }
        lines.push(Line::from(label));
        // The field scrolls sideways to keep the cursor in view.
        let width = usize::from(inner.width.saturating_sub(3));
        let scroll = field.input.visual_scroll(width);
        let shown: String = field
            .input
            .value()
            .chars()
            .skip(scroll)
            .take(width)
            .collect();
        lines.push(Line::from(vec![
            Chunk::styled(if focused { "› " } else { "  " }, theme::KEY),
            Chunk::raw(shown),
        ]));
        if focused {
            let x = inner.x + 2 + (field.input.visual_cursor().saturating_sub(scroll)) as u16;
            let y = inner.y + lines.len() as u16 - 1;
            cursor = Some(Position::new(x.min(inner.right().saturating_sub(1)), y));
        }
    }
    if let Some(error) = &form.error {
        lines.push(Line::styled(error.as_str(), theme::ERROR));
    }
    lines.push(Line::raw(""));
    lines.push(hint_line(strings::HINTS_FORM));
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some(position) = cursor
        && position.y < inner.bottom()
    {
        frame.set_cursor_position(position);
    }
}
