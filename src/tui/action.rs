//! What a key means: the [`Action`] enum and the one keymap table.
//!
//! Keys never reach the state directly: [`action_for`] turns a key into an
//! action according to the [`Mode`] the dashboard is in, and
//! [`crate::tui::App::update`] carries the action out. The help overlay is
//! drawn from [`BINDINGS`], so it cannot disagree with the keys.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::InputRequest;
use tui_input::backend::crossterm::to_input_request;

use super::strings;

/// Something the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Fold the selected node of the flow tree.
    Collapse,
    /// Unfold the selected node of the flow tree.
    Expand,
    /// `Enter`: open a play, fold a node, answer a pause, start a workflow.
    Open,
    /// `Esc`: close what is open, one level at a time.
    Back,
    NextPane,
    PendingTab,
    EventsTab,
    Answer,
    Cancel,
    Restart,
    Start,
    Search,
    Filter,
    /// Open the Schedules screen.
    Schedules,
    /// `r` on a schedule: start a play of it now.
    RunNow,
    /// `space` on a schedule: pause it, or unpause it.
    TogglePause,
    Help,
    Quit,
    /// `y` in a confirmation.
    Yes,
    /// `n` or `Esc` in a confirmation.
    No,
    /// `Enter` in a text field.
    Submit,
    NextField,
    PrevField,
    /// An edit of the text field being typed in.
    Input(InputRequest),
}

/// Which keymap applies, decided by what is on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// A yes/no question is open.
    Confirm,
    /// The help overlay is open: any key closes it.
    Help,
    /// A text field has the keyboard: the search line or the start form.
    Text,
}

/// One row of the keymap: the keys, and how the help overlay shows them.
pub struct Binding {
    pub keys: &'static [KeyCode],
    pub action: Action,
    /// The keys and what they do, as the help overlay lists them; `None`
    /// when another row already describes this one (`↓` beside `↑`).
    pub help: Option<(&'static str, &'static str)>,
}

/// The keys of SPEC §7, and a few comforts (paging, folding).
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[KeyCode::Up, KeyCode::Char('k')],
        action: Action::Up,
        help: Some(("↑/↓ j/k", strings::HELP_MOVE)),
    },
    Binding {
        keys: &[KeyCode::Down, KeyCode::Char('j')],
        action: Action::Down,
        help: None,
    },
    Binding {
        keys: &[KeyCode::PageUp],
        action: Action::PageUp,
        help: Some(("PgUp/PgDn", strings::HELP_PAGE)),
    },
    Binding {
        keys: &[KeyCode::PageDown],
        action: Action::PageDown,
        help: None,
    },
    Binding {
        keys: &[KeyCode::Home, KeyCode::Char('g')],
        action: Action::Top,
        help: Some(("Home/End g/G", strings::HELP_ENDS)),
    },
    Binding {
        keys: &[KeyCode::End, KeyCode::Char('G')],
        action: Action::Bottom,
        help: None,
    },
    Binding {
        keys: &[KeyCode::Enter],
        action: Action::Open,
        help: Some(("Enter", strings::HELP_OPEN)),
    },
    Binding {
        keys: &[KeyCode::Left, KeyCode::Char('h')],
        action: Action::Collapse,
        help: Some(("←/→ h/l", strings::HELP_FOLD)),
    },
    Binding {
        keys: &[KeyCode::Right, KeyCode::Char('l')],
        action: Action::Expand,
        help: None,
    },
    Binding {
        keys: &[KeyCode::Esc],
        action: Action::Back,
        help: Some(("Esc", strings::HELP_BACK)),
    },
    Binding {
        keys: &[KeyCode::Tab],
        action: Action::NextPane,
        help: Some(("Tab", strings::HELP_PANE)),
    },
    Binding {
        keys: &[KeyCode::Char('p')],
        action: Action::PendingTab,
        help: Some(("p", strings::HELP_PENDING)),
    },
    Binding {
        keys: &[KeyCode::Char('e')],
        action: Action::EventsTab,
        help: Some(("e", strings::HELP_EVENTS)),
    },
    Binding {
        keys: &[KeyCode::Char('a')],
        action: Action::Answer,
        help: Some(("a", strings::HELP_ANSWER)),
    },
    Binding {
        keys: &[KeyCode::Char('c')],
        action: Action::Cancel,
        help: Some(("c", strings::HELP_CANCEL)),
    },
    Binding {
        keys: &[KeyCode::Char('R')],
        action: Action::Restart,
        help: Some(("R", strings::HELP_RESTART)),
    },
    Binding {
        keys: &[KeyCode::Char('s')],
        action: Action::Start,
        help: Some(("s", strings::HELP_START)),
    },
    Binding {
        keys: &[KeyCode::Char('/')],
        action: Action::Search,
        help: Some(("/", strings::HELP_SEARCH)),
    },
    Binding {
        keys: &[KeyCode::Char('f')],
        action: Action::Filter,
        help: Some(("f", strings::HELP_FILTER)),
    },
    Binding {
        keys: &[KeyCode::Char('S')],
        action: Action::Schedules,
        help: Some(("S", strings::HELP_SCHEDULES)),
    },
    Binding {
        keys: &[KeyCode::Char('r')],
        action: Action::RunNow,
        help: Some(("r · space", strings::HELP_SCHEDULE_KEYS)),
    },
    Binding {
        keys: &[KeyCode::Char(' ')],
        action: Action::TogglePause,
        help: None,
    },
    Binding {
        keys: &[KeyCode::Char('?')],
        action: Action::Help,
        help: Some(("? · q", strings::HELP_HELP_QUIT)),
    },
    Binding {
        keys: &[KeyCode::Char('q')],
        action: Action::Quit,
        help: None,
    },
];

/// The action a key stands for in `mode`, if any.
pub fn action_for(mode: Mode, key: &KeyEvent) -> Option<Action> {
    if !matches!(key.kind, KeyEventKind::Press | KeyEventKind::Repeat) {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match mode {
        Mode::Help => Some(Action::Back),
        Mode::Confirm => match key.code {
            KeyCode::Char('y' | 'Y') => Some(Action::Yes),
            KeyCode::Char('n' | 'N') | KeyCode::Esc => Some(Action::No),
            _ => None,
        },
        Mode::Text => match key.code {
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Tab | KeyCode::Down => Some(Action::NextField),
            KeyCode::BackTab | KeyCode::Up => Some(Action::PrevField),
            _ => to_input_request(&Event::Key(*key)).map(Action::Input),
        },
        Mode::Normal => {
            // Ctrl and Alt chords are not ours; Shift is how `R` and `?`
            // are typed.
            if key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
            {
                return None;
            }
            BINDINGS
                .iter()
                .find(|b| b.keys.contains(&key.code))
                .map(|b| b.action)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_keys_of_the_spec_map_to_their_actions() {
        let cases = [
            (KeyCode::Up, Action::Up),
            (KeyCode::Char('k'), Action::Up),
            (KeyCode::Down, Action::Down),
            (KeyCode::Char('j'), Action::Down),
            (KeyCode::Enter, Action::Open),
            (KeyCode::Esc, Action::Back),
            (KeyCode::Tab, Action::NextPane),
            (KeyCode::Char('p'), Action::PendingTab),
            (KeyCode::Char('e'), Action::EventsTab),
            (KeyCode::Char('a'), Action::Answer),
            (KeyCode::Char('c'), Action::Cancel),
            (KeyCode::Char('R'), Action::Restart),
            (KeyCode::Char('s'), Action::Start),
            (KeyCode::Char('/'), Action::Search),
            (KeyCode::Char('f'), Action::Filter),
            (KeyCode::Char('S'), Action::Schedules),
            (KeyCode::Char('r'), Action::RunNow),
            (KeyCode::Char(' '), Action::TogglePause),
            (KeyCode::Char('?'), Action::Help),
            (KeyCode::Char('q'), Action::Quit),
        ];
        for (code, action) in cases {
            assert_eq!(
                action_for(Mode::Normal, &key(code)),
                Some(action),
                "{code:?}"
            );
        }
        assert_eq!(action_for(Mode::Normal, &key(KeyCode::Char('x'))), None);
        let shifted_r = KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(action_for(Mode::Normal, &shifted_r), Some(Action::Restart));
    }

    #[test]
    fn each_key_is_bound_once() {
        let mut seen = std::collections::HashSet::new();
        for binding in BINDINGS {
            for code in binding.keys {
                assert!(seen.insert(*code), "{code:?} is bound twice");
            }
        }
    }

    #[test]
    fn modes_change_what_keys_mean() {
        let q = key(KeyCode::Char('q'));
        assert_eq!(action_for(Mode::Help, &q), Some(Action::Back));
        assert_eq!(action_for(Mode::Confirm, &q), None);
        assert_eq!(
            action_for(Mode::Confirm, &key(KeyCode::Char('y'))),
            Some(Action::Yes)
        );
        assert_eq!(
            action_for(Mode::Confirm, &key(KeyCode::Esc)),
            Some(Action::No)
        );
        assert_eq!(
            action_for(Mode::Text, &q),
            Some(Action::Input(InputRequest::InsertChar('q')))
        );
        assert_eq!(
            action_for(Mode::Text, &key(KeyCode::Enter)),
            Some(Action::Submit)
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for mode in [Mode::Normal, Mode::Confirm, Mode::Help, Mode::Text] {
            assert_eq!(action_for(mode, &ctrl_c), Some(Action::Quit), "{mode:?}");
        }
    }
}
