//! The home screen's part of the state: the plays (filtered, searched) and
//! the workflows, and what the keys do there.
//!
//! Invariant: the cursors are sids, so a play started or a workflow saved
//! while the list is shown does not move them.

use super::{Action, App, Effect, HomePane, PlayPane, Tab, cursor_at, step};
use crate::model::{Play, PlayStatus};

impl App {
    // -----------------------------------------------------------------
    // What the home screen shows.

    pub(in crate::tui) fn workflow_name(&self, sid: &str) -> Option<&str> {
        self.workflows
            .iter()
            .find(|w| w.sid == sid)
            .map(|w| w.name.as_str())
    }

    /// The plays that pass the status filter and the search.
    pub(in crate::tui) fn visible_plays(&self) -> Vec<&Play> {
        let needle = self.search.value().trim().to_lowercase();
        self.plays
            .iter()
            .filter(|p| self.filter.is_none_or(|f| p.status == f))
            .filter(|p| {
                needle.is_empty()
                    || p.name.to_lowercase().contains(&needle)
                    || self
                        .workflow_name(&p.workflow_sid)
                        .is_some_and(|w| w.to_lowercase().contains(&needle))
            })
            .collect()
    }

    pub(in crate::tui) fn play_cursor(&self) -> Option<usize> {
        cursor_at(&self.visible_plays(), self.selected_play.as_deref(), |p| {
            &p.sid
        })
    }

    pub(super) fn selected_visible_play(&self) -> Option<&Play> {
        self.play_cursor().map(|i| self.visible_plays()[i])
    }

    pub(in crate::tui) fn workflow_cursor(&self) -> Option<usize> {
        cursor_at(&self.workflows, self.selected_workflow.as_deref(), |w| {
            &w.sid
        })
    }

    // -----------------------------------------------------------------
    // What the keys do on the home screen.

    /// Carries out an action on the home screen.
    pub(super) fn update_home(&mut self, action: Action) -> Vec<Effect> {
        let on_workflows = self.home_pane == HomePane::Workflows;
        match action {
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => {
                let page = self.page();
                if on_workflows {
                    if let Some(i) =
                        step(self.workflow_cursor(), self.workflows.len(), action, page)
                    {
                        self.selected_workflow = Some(self.workflows[i].sid.clone());
                    }
                } else {
                    let len = self.visible_plays().len();
                    if let Some(i) = step(self.play_cursor(), len, action, page) {
                        self.selected_play = Some(self.visible_plays()[i].sid.clone());
                    }
                }
                Vec::new()
            }
            Action::NextPane => {
                self.home_pane = match self.home_pane {
                    HomePane::Plays => HomePane::Workflows,
                    HomePane::Workflows => HomePane::Plays,
                };
                // Workflows have no events: refresh them when looked at.
                if self.home_pane == HomePane::Workflows {
                    vec![Effect::LoadWorkflows]
                } else {
                    Vec::new()
                }
            }
            Action::Open if on_workflows => self.open_form(None),
            Action::Start => {
                let workflow_sid = if on_workflows {
                    None
                } else {
                    self.selected_visible_play().map(|p| p.workflow_sid.clone())
                };
                self.open_form(workflow_sid)
            }
            Action::Open => self.open_selected(Tab::Pending, PlayPane::Tree),
            Action::PendingTab | Action::Answer => {
                self.open_selected(Tab::Pending, PlayPane::Bottom)
            }
            Action::EventsTab => self.open_selected(Tab::Events, PlayPane::Bottom),
            Action::Search => {
                self.home_pane = HomePane::Plays;
                self.searching = true;
                Vec::new()
            }
            Action::Filter => {
                self.filter = next_filter(self.filter);
                Vec::new()
            }
            Action::Back => {
                if !self.search.value().is_empty() {
                    self.search.reset();
                } else {
                    self.filter = None;
                }
                Vec::new()
            }
            Action::Cancel => {
                if let Some(play) = self.selected_visible_play().cloned() {
                    self.ask_cancel(&play);
                }
                Vec::new()
            }
            Action::Restart => {
                if let Some(play) = self.selected_visible_play().cloned() {
                    self.ask_restart(&play);
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn open_selected(&mut self, tab: Tab, pane: PlayPane) -> Vec<Effect> {
        let Some(sid) = self.selected_visible_play().map(|p| p.sid.clone()) else {
            return Vec::new();
        };
        self.selected_play = Some(sid.clone());
        self.open_on = Some((tab, pane));
        vec![Effect::LoadPlay(sid)]
    }
}

/// The status filter after `f`: every status in turn, then none.
fn next_filter(filter: Option<PlayStatus>) -> Option<PlayStatus> {
    const ORDER: [PlayStatus; 7] = [
        PlayStatus::Running,
        PlayStatus::AwaitingResume,
        PlayStatus::Failed,
        PlayStatus::Success,
        PlayStatus::Cancelled,
        PlayStatus::TimedOut,
        PlayStatus::Pending,
    ];
    match filter {
        None => Some(ORDER[0]),
        Some(f) => ORDER
            .iter()
            .position(|&s| s == f)
            .and_then(|i| ORDER.get(i + 1).copied()),
    }
}
