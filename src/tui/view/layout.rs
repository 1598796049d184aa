//! Where each pane goes for a given terminal size.
//!
//! Pure functions of the size, shared by the views (to draw) and by the
//! state (to know how many rows a page holds and keep the cursor in view).
//! Below 80×24 panes give way in order — the detail pane moves under the
//! tree, the header shrinks to one line, the bottom bar and the workflows
//! pane fold away — so a small terminal still shows what matters most.

use ratatui::layout::Rect;

/// The smallest terminal the dashboard draws in; below it, a notice.
pub const MIN_WIDTH: u16 = 30;
pub const MIN_HEIGHT: u16 = 6;

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

/// The panes of the home screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Home {
    pub plays: Option<Rect>,
    pub workflows: Option<Rect>,
    pub footer: Rect,
}

/// `workflows_focused` decides which single pane shows when there is no
/// room for both.
pub fn home(area: Rect, workflows_focused: bool) -> Home {
    let (body, footer) = split_bottom(area, 1);
    if body.width >= 60 {
        let side = (body.width / 4).clamp(20, 36);
        let (plays, workflows) = split_right(body, side);
        Home {
            plays: Some(plays),
            workflows: Some(workflows),
            footer,
        }
    } else if workflows_focused {
        Home {
            plays: None,
            workflows: Some(body),
            footer,
        }
    } else {
        Home {
            plays: Some(body),
            workflows: None,
            footer,
        }
    }
}

/// The panes of the play screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayScreen {
    pub header: Rect,
    pub tree: Rect,
    pub detail: Option<Rect>,
    pub bottom: Option<Rect>,
    pub footer: Rect,
}

/// `notice` asks for a line for the newer-version notice.
pub fn play(area: Rect, notice: bool) -> PlayScreen {
    let (rest, footer) = split_bottom(area, 1);
    let h = rest.height;
    let header_height = if h >= 19 {
        4 + u16::from(notice)
    } else if h >= 11 {
        2
    } else {
        1
    };
    let (header, rest) = split_top(rest, header_height);
    let bottom_height = if h >= 19 {
        (h / 4).clamp(6, 14)
    } else if h >= 11 {
        4
    } else {
        0
    };
    let (middle, bottom) = split_bottom(rest, bottom_height);
    let (tree, detail) = if middle.width >= 70 {
        let (tree, detail) = split_right(middle, middle.width * 2 / 5);
        (tree, Some(detail))
    } else if middle.height >= 10 {
        let (tree, detail) = split_bottom(middle, middle.height * 2 / 5);
        (tree, Some(detail))
    } else {
        (middle, None)
    };
    PlayScreen {
        header,
        tree,
        detail,
        bottom: (bottom.height > 0).then_some(bottom),
        footer,
    }
}

/// The panes of the Schedules screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedules {
    pub list: Rect,
    /// The selected schedule whole; folds away on a short terminal.
    pub detail: Option<Rect>,
    pub footer: Rect,
}

pub fn schedules(area: Rect) -> Schedules {
    let (body, footer) = split_bottom(area, 1);
    if body.height >= 12 {
        let (list, detail) = split_bottom(body, 5);
        Schedules {
            list,
            detail: Some(detail),
            footer,
        }
    } else {
        Schedules {
            list: body,
            detail: None,
            footer,
        }
    }
}

/// Rows inside a bordered pane.
pub fn inner_rows(pane: Rect) -> usize {
    usize::from(pane.height.saturating_sub(2))
}

/// The first row to show so that `cursor` is in a window of `height`
/// rows, moving as little as possible from `offset`.
pub fn window(offset: usize, cursor: usize, len: usize, height: usize) -> usize {
    if height == 0 {
        return cursor.min(len.saturating_sub(1));
    }
    let offset = offset.min(len.saturating_sub(height));
    if cursor < offset {
        cursor
    } else if cursor >= offset + height {
        cursor + 1 - height
    } else {
        offset
    }
}

fn split_top(area: Rect, height: u16) -> (Rect, Rect) {
    let height = height.min(area.height);
    (
        Rect { height, ..area },
        Rect {
            y: area.y + height,
            height: area.height - height,
            ..area
        },
    )
}

fn split_bottom(area: Rect, height: u16) -> (Rect, Rect) {
    let height = height.min(area.height);
    let (top, bottom) = split_top(area, area.height - height);
    (top, bottom)
}

fn split_right(area: Rect, width: u16) -> (Rect, Rect) {
    let width = width.min(area.width);
    (
        Rect {
            width: area.width - width,
            ..area
        },
        Rect {
            x: area.x + area.width - width,
            width,
            ..area
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_play_screen_fits_80_by_24() {
        let screen = play(Rect::new(0, 0, 80, 24), true);
        assert_eq!(screen.header.height, 5);
        assert_eq!(screen.footer, Rect::new(0, 23, 80, 1));
        let bottom = screen.bottom.expect("a bottom bar at 80×24");
        let detail = screen.detail.expect("a detail pane at 80×24");
        assert_eq!(screen.tree.height + bottom.height + 5 + 1, 24);
        assert_eq!(screen.tree.width + detail.width, 80);
        assert!(inner_rows(screen.tree) >= 8);
    }

    #[test]
    fn small_terminals_drop_panes() {
        let screen = play(Rect::new(0, 0, 50, 10), false);
        assert_eq!(screen.bottom, None);
        assert_eq!(screen.detail, None);
        let home = home(Rect::new(0, 0, 50, 10), false);
        assert!(home.plays.is_some() && home.workflows.is_none());
    }

    #[test]
    fn windows_follow_the_cursor() {
        assert_eq!(window(0, 3, 100, 10), 0);
        assert_eq!(window(0, 12, 100, 10), 3);
        assert_eq!(window(20, 5, 100, 10), 5);
        assert_eq!(window(95, 99, 100, 10), 90);
        assert_eq!(window(50, 2, 3, 10), 0, "a shrunk list scrolls back");
    }
}
