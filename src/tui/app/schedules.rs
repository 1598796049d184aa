//! The Schedules screen's part of the state: the schedules by name, and
//! what the keys do there (`Enter` opens the last play, `r` runs now,
//! `space` pauses or unpauses).
//!
//! The screen stays open under a play opened from it, so `Esc` on that
//! play comes back here. A play that a schedule starts arrives as a play
//! event naming its schedule: the row takes it as its last play at once,
//! and the list is read again for the next fire time the server set.
//!
//! Invariant: the cursor is a schedule's name, so a schedule added or
//! removed elsewhere does not move it.

use super::{Action, App, Effect, PlayPane, Tab, cursor_at, step};
use crate::model::{Play, Schedule};
use crate::tui::strings;

/// The open Schedules screen.
#[derive(Debug, Default)]
pub struct SchedulesView {
    /// By name.
    pub(in crate::tui) list: Vec<Schedule>,
    selected: Option<String>,
    pub(in crate::tui) offset: usize,
    /// Whether the list has come back from the server once: until then
    /// the screen says it is loading rather than that there are none.
    pub(in crate::tui) loaded: bool,
}

impl SchedulesView {
    pub(in crate::tui) fn cursor(&self) -> Option<usize> {
        cursor_at(&self.list, self.selected.as_deref(), |s| &s.name)
    }

    pub(in crate::tui) fn selected(&self) -> Option<&Schedule> {
        self.cursor().map(|i| &self.list[i])
    }

    pub(super) fn put_all(&mut self, mut list: Vec<Schedule>) {
        list.sort_by(|a, b| a.name.cmp(&b.name));
        self.list = list;
        self.loaded = true;
    }

    /// Takes a changed schedule (paused, unpaused) in place.
    pub(super) fn put(&mut self, schedule: Schedule) {
        match self.list.iter_mut().find(|s| s.name == schedule.name) {
            Some(listed) => *listed = schedule,
            None => {
                let at = self.list.partition_point(|s| s.name < schedule.name);
                self.list.insert(at, schedule);
            }
        }
    }

    /// Makes `play` its schedule's last play if it is newer than the one
    /// known (sids sort by creation time); whether it was.
    pub(super) fn take_play(&mut self, play: &Play) -> bool {
        let Some(name) = play.schedule.as_deref() else {
            return false;
        };
        let Some(schedule) = self.list.iter_mut().find(|s| s.name == name) else {
            return false;
        };
        if schedule
            .last_play_sid
            .as_deref()
            .is_some_and(|last| last >= play.sid.as_str())
        {
            return false;
        }
        schedule.last_play_sid = Some(play.sid.clone());
        true
    }
}

impl App {
    /// Opens the Schedules screen (over whatever is shown) and reads the
    /// schedules.
    pub(super) fn open_schedules(&mut self) -> Vec<Effect> {
        self.view = None;
        if self.schedules.is_none() {
            self.schedules = Some(SchedulesView::default());
        }
        vec![Effect::LoadSchedules]
    }

    /// The last play of a schedule, when the plays list has it.
    pub(in crate::tui) fn last_play(&self, schedule: &Schedule) -> Option<&Play> {
        let sid = schedule.last_play_sid.as_deref()?;
        self.plays.iter().find(|p| p.sid == sid)
    }

    /// Carries out an action on the Schedules screen.
    pub(super) fn update_schedules(&mut self, action: Action) -> Vec<Effect> {
        let page = self.page();
        let Some(view) = self.schedules.as_mut() else {
            return Vec::new();
        };
        match action {
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => {
                if let Some(i) = step(view.cursor(), view.list.len(), action, page) {
                    view.selected = Some(view.list[i].name.clone());
                }
                Vec::new()
            }
            Action::Open => {
                let Some(schedule) = view.selected() else {
                    return Vec::new();
                };
                let (name, last) = (schedule.name.clone(), schedule.last_play_sid.clone());
                match last {
                    Some(sid) => {
                        self.selected_play = Some(sid.clone());
                        self.open_on = Some((Tab::Pending, PlayPane::Tree));
                        vec![Effect::LoadPlay(sid)]
                    }
                    None => {
                        self.complain(strings::no_play_yet(&name));
                        Vec::new()
                    }
                }
            }
            Action::RunNow => match view.selected() {
                Some(schedule) => vec![Effect::TriggerSchedule(schedule.name.clone())],
                None => Vec::new(),
            },
            Action::TogglePause => match view.selected() {
                Some(schedule) => vec![Effect::PauseSchedule {
                    name: schedule.name.clone(),
                    paused: !schedule.paused,
                }],
                None => Vec::new(),
            },
            Action::Back => {
                self.schedules = None;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// A schedule paused or unpaused by `space`.
    pub(super) fn put_schedule(&mut self, schedule: Schedule) -> Vec<Effect> {
        self.say(strings::schedule_paused(&schedule.name, schedule.paused));
        if let Some(view) = &mut self.schedules {
            view.put(schedule);
        }
        Vec::new()
    }

    /// A play started by `r`: it becomes the schedule's last play, and the
    /// list is read again for what the server changed.
    pub(super) fn put_fired(&mut self, name: &str, play: Play) -> Vec<Effect> {
        self.say(strings::fired(name, &play.sid));
        self.upsert_listed(&play);
        let mut play = play;
        play.schedule.get_or_insert_with(|| name.to_owned());
        match &mut self.schedules {
            Some(view) => {
                view.take_play(&play);
                vec![Effect::LoadSchedules]
            }
            None => Vec::new(),
        }
    }
}
