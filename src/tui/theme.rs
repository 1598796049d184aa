//! The dashboard's colours and icons, in one place (gitui's `ui/style.rs`).
//!
//! The icons are the CLI's (`src/cli/render.rs`), so a play looks the same
//! in `play list` and here; the styles are ratatui's, which the CLI does not
//! use. Colour is never the only signal: every status also has its icon and
//! its word, so the dashboard reads on a monochrome terminal.

use ratatui::style::{Color, Modifier, Style};

use crate::model::{PlayStatus, SpanStatus};

/// The selected row of the focused pane.
pub const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED);
/// The selected row of a pane that does not have the focus.
pub const SELECTED_UNFOCUSED: Style = Style::new().add_modifier(Modifier::BOLD);
/// Secondary text: kinds, times, hints.
pub const DIM: Style = Style::new().fg(Color::DarkGray);
/// Pane titles and labels.
pub const TITLE: Style = Style::new().add_modifier(Modifier::BOLD);
/// The border of the focused pane.
pub const FOCUSED_BORDER: Style = Style::new().fg(Color::Cyan);
/// The active tab of the bottom bar.
pub const TAB_ACTIVE: Style = Style::new()
    .fg(Color::Cyan)
    .add_modifier(Modifier::BOLD.union(Modifier::UNDERLINED));
/// Errors and failed things.
pub const ERROR: Style = Style::new().fg(Color::Red);
/// Notices that want attention: a newer version, open pauses.
pub const WARN: Style = Style::new().fg(Color::Yellow);
/// Confirmations of what was done.
pub const OK: Style = Style::new().fg(Color::Green);
/// The count of open pauses beside a play.
pub const BADGE: Style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
/// A key in the footer and the help overlay.
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);

pub use crate::format::{play_icon, span_icon};

/// The status word of the plays list, short enough for a narrow column.
pub fn play_word(status: PlayStatus) -> &'static str {
    match status {
        PlayStatus::AwaitingResume => "awaiting",
        PlayStatus::TimedOut => "timed out",
        other => other.as_str(),
    }
}

pub fn play_style(status: PlayStatus) -> Style {
    match status {
        PlayStatus::Pending => DIM,
        PlayStatus::Running => Style::new().fg(Color::Blue),
        PlayStatus::AwaitingResume => WARN,
        PlayStatus::Success => OK,
        PlayStatus::Failed | PlayStatus::TimedOut => ERROR,
        PlayStatus::Cancelled => Style::new().fg(Color::Magenta),
    }
}

/// A replayed span is dimmed as well as coloured: it did no work this run.
pub fn span_style(status: SpanStatus) -> Style {
    match status {
        SpanStatus::Running => Style::new().fg(Color::Blue),
        SpanStatus::Success => OK,
        SpanStatus::Failed => ERROR,
        SpanStatus::Replayed => Style::new().fg(Color::Cyan).add_modifier(Modifier::DIM),
        SpanStatus::Paused => WARN,
        SpanStatus::Cancelled => Style::new().fg(Color::Magenta),
    }
}
