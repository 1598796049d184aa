//! The dashboard's state, and the only two ways it changes.
//!
//! [`App::update`] carries out what the user asked ([`Action`]);
//! [`App::apply`] takes what the server said ([`Data`]). Both return
//! [`Effect`]s — the RPC calls to make — as data, and do no IO themselves,
//! so every behaviour is tested by feeding values in and looking at the
//! state (atuin's `fsm`). The runtime (`runtime.rs`) carries the effects
//! out and feeds their results back in; the views read the state and draw.
//!
//! Selection is by identity — a play's sid, a span's id, a pause's id — and
//! never by row, so a play started or a span pushed by the server does not
//! move the cursor.
//!
//! The state is split by screen: `home` holds what the home screen shows
//! and how its keys act; `play` holds an open play ([`PlayView`]) and how
//! its keys act; `schedules` the Schedules screen ([`SchedulesView`]);
//! this file holds what they share — the effects and data,
//! the overlays, the dispatch of actions and data, and the list of plays.
//!
//! Invariant: nothing here does IO or reads the clock; time comes in
//! through [`App::new`] and [`App::set_now`], and every change goes through `update` or
//! `apply`.

mod home;
mod play;
mod schedules;
#[cfg(test)]
mod tests;

pub use play::PlayView;
pub use schedules::SchedulesView;

use std::time::Duration;

use jiff::Timestamp;
use ratatui::layout::Rect;
use serde_json::Value;
use tui_input::Input;

use super::action::{Action, Mode};
use super::form::StartForm;
use super::strings;
use super::view::layout;
use crate::model::{Play, PlayEvent, PlayStatus, ResumeRequest, Schedule, Span, Workflow};

/// How many plays the list asks the server for; older ones are left out.
pub const PLAY_LIST_LIMIT: usize = 500;

/// An RPC call the state wants made; its result comes back as [`Data`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadPlays,
    LoadWorkflows,
    /// Open a play, or reload the one open: answered by [`Data::Play`].
    LoadPlay(String),
    /// Load a spawned child play to show inline: [`Data::Child`].
    LoadChild(String),
    /// Ask a person for a pause's answer, then send it with `play_resume`.
    Answer {
        play_sid: String,
        request: Box<ResumeRequest>,
    },
    Cancel(String),
    Restart {
        play_sid: String,
        latest: bool,
    },
    Start {
        workflow_sid: String,
        input_data: Value,
    },
    /// Read the schedules: [`Data::Schedules`].
    LoadSchedules,
    /// Run a schedule now (`schedule_trigger`): [`Data::Fired`].
    TriggerSchedule(String),
    /// Pause or unpause a schedule: [`Data::Schedule`].
    PauseSchedule {
        name: String,
        paused: bool,
    },
}

/// What the server said, or what became of an effect.
#[derive(Debug, Clone)]
pub enum Data {
    Plays(Vec<Play>),
    Workflows(Vec<Workflow>),
    Play {
        play: Play,
        spans: Vec<Span>,
    },
    Child {
        play: Play,
        spans: Vec<Span>,
    },
    /// A change pushed by the server's subscription.
    Event(PlayEvent),
    /// The subscription missed events, or has just been made again:
    /// reload what is shown.
    Lagged,
    Started {
        play: Play,
        restarted_from: Option<String>,
    },
    Cancelled(Play),
    Schedules(Vec<Schedule>),
    /// A schedule as it is after a pause or an unpause.
    Schedule(Schedule),
    /// The play a schedule started when asked to run now.
    Fired {
        name: String,
        play: Play,
    },
    Answered {
        name: String,
        answer: Value,
    },
    /// Something to tell the user that is not an error.
    Notice(String),
    Failed(String),
    /// The subscription ended: the dashboard shows what it has, frozen.
    Disconnected(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomePane {
    Plays,
    Workflows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayPane {
    Tree,
    Bottom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Pending,
    Events,
}

/// A question that needs `y` before anything is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    Cancel {
        sid: String,
        name: String,
    },
    Restart {
        sid: String,
        name: String,
        latest: bool,
    },
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help,
    Confirm(Confirm),
    Form(Box<StartForm>),
}

/// A line for the footer until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

/// Everything the dashboard shows.
pub struct App {
    pub(super) now: Timestamp,
    pub(super) area: Rect,
    /// Newest first (sids sort by creation time).
    pub(super) plays: Vec<Play>,
    pub(super) workflows: Vec<Workflow>,
    pub(super) home_pane: HomePane,
    selected_play: Option<String>,
    pub(super) plays_offset: usize,
    selected_workflow: Option<String>,
    pub(super) workflows_offset: usize,
    pub(super) filter: Option<PlayStatus>,
    pub(super) search: Input,
    pub(super) searching: bool,
    pub(super) view: Option<PlayView>,
    /// The Schedules screen, when open; a play opened from it is drawn
    /// over it.
    pub(super) schedules: Option<SchedulesView>,
    /// Which tab and pane to show when the play being loaded opens.
    open_on: Option<(Tab, PlayPane)>,
    pub(super) overlay: Option<Overlay>,
    pub(super) message: Option<Message>,
    pub(super) offline: Option<String>,
    quit: bool,
}

impl App {
    pub fn new(now: Timestamp, width: u16, height: u16) -> App {
        App {
            now,
            area: Rect::new(0, 0, width, height),
            plays: Vec::new(),
            workflows: Vec::new(),
            home_pane: HomePane::Plays,
            selected_play: None,
            plays_offset: 0,
            selected_workflow: None,
            workflows_offset: 0,
            filter: None,
            search: Input::default(),
            searching: false,
            view: None,
            schedules: None,
            open_on: None,
            overlay: None,
            message: None,
            offline: None,
            quit: false,
        }
    }

    /// The effects that fill the home screen at start-up.
    pub fn initial_effects() -> Vec<Effect> {
        vec![Effect::LoadWorkflows, Effect::LoadPlays]
    }

    /// Draws the dashboard (see `view/`); reads the state only.
    pub fn render(&self, frame: &mut ratatui::Frame) {
        super::view::render(self, frame);
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.area = Rect::new(0, 0, width, height);
        self.settle();
    }

    pub fn set_now(&mut self, now: Timestamp) {
        self.now = now;
    }

    /// Which keymap applies now.
    pub fn mode(&self) -> Mode {
        match &self.overlay {
            Some(Overlay::Help) => Mode::Help,
            Some(Overlay::Confirm(_)) => Mode::Confirm,
            Some(Overlay::Form(_)) => Mode::Text,
            None if self.searching => Mode::Text,
            None => Mode::Normal,
        }
    }

    /// How long the screen stays right without redrawing: a second while
    /// something shown counts (the duration of a play that has not ended,
    /// an age in seconds, the time to a schedule's next fire), otherwise
    /// half a minute, for ages in minutes.
    pub fn next_tick(&self) -> Duration {
        let now = self.now;
        // A play that has not ended shows a duration that counts up.
        let live = |p: &Play| !p.is_terminal();
        let counting = match (&self.view, &self.schedules) {
            (Some(view), _) => live(&view.root().play),
            (None, Some(_)) => true,
            (None, None) => self
                .plays
                .iter()
                .take(200)
                .any(|p| live(p) || crate::format::seconds_since(&p.created_at, now) < 60.0),
        };
        if counting {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        }
    }

    /// Brings derived state (the tree's rows, scroll offsets) in line with
    /// the data, once per batch of changes rather than once per change.
    pub fn settle(&mut self) {
        let area = self.area;
        if let Some(view) = &mut self.view {
            view.settle(area);
        }
        if let Some(schedules) = &mut self.schedules {
            let rows = layout::inner_rows(layout::schedules(area).list).saturating_sub(1);
            let cursor = schedules.cursor().unwrap_or(0);
            schedules.offset = layout::window(schedules.offset, cursor, schedules.list.len(), rows);
        }
        let home = layout::home(area, self.home_pane == HomePane::Workflows);
        let plays_rows = home
            .plays
            .map_or(0, |r| layout::inner_rows(r).saturating_sub(1));
        let (cursor, len) = (self.play_cursor().unwrap_or(0), self.visible_plays().len());
        self.plays_offset = layout::window(self.plays_offset, cursor, len, plays_rows);
        let workflow_rows = home.workflows.map_or(0, layout::inner_rows);
        self.workflows_offset = layout::window(
            self.workflows_offset,
            self.workflow_cursor().unwrap_or(0),
            self.workflows.len(),
            workflow_rows,
        );
    }

    fn page(&self) -> usize {
        usize::from(self.area.height.saturating_sub(8)).max(1)
    }

    fn say(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }

    fn complain(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: true,
        });
    }

    // -----------------------------------------------------------------
    // Actions.

    /// Carries out what the user asked.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.settle();
        if action != Action::Quit {
            self.message = None;
        }
        let effects = match self.mode() {
            Mode::Help => {
                self.overlay = None;
                Vec::new()
            }
            Mode::Confirm => self.update_confirm(action),
            Mode::Text => self.update_text(action),
            Mode::Normal => match action {
                Action::Quit => {
                    self.quit = true;
                    Vec::new()
                }
                Action::Help => {
                    self.overlay = Some(Overlay::Help);
                    Vec::new()
                }
                Action::Schedules => self.open_schedules(),
                _ if self.view.is_some() => self.update_play(action),
                _ if self.schedules.is_some() => self.update_schedules(action),
                _ => self.update_home(action),
            },
        };
        self.settle();
        effects
    }

    fn update_confirm(&mut self, action: Action) -> Vec<Effect> {
        let Some(Overlay::Confirm(confirm)) = self.overlay.take() else {
            return Vec::new();
        };
        match (action, confirm) {
            (Action::Yes, Confirm::Cancel { sid, .. }) => vec![Effect::Cancel(sid)],
            (Action::Yes, Confirm::Restart { sid, latest, .. }) => vec![Effect::Restart {
                play_sid: sid,
                latest,
            }],
            (Action::No, _) => Vec::new(),
            (Action::Quit, _) => {
                self.quit = true;
                Vec::new()
            }
            // Any other key leaves the question open.
            (_, confirm) => {
                self.overlay = Some(Overlay::Confirm(confirm));
                Vec::new()
            }
        }
    }

    fn update_text(&mut self, action: Action) -> Vec<Effect> {
        if action == Action::Quit {
            self.quit = true;
            return Vec::new();
        }
        if let Some(Overlay::Form(form)) = &mut self.overlay {
            match action {
                Action::Input(request) => form.edit(request),
                Action::NextField => form.next(),
                Action::PrevField => form.previous(),
                Action::Back => self.overlay = None,
                Action::Submit => {
                    if let Some(input_data) = form.submit() {
                        return vec![Effect::Start {
                            workflow_sid: form.workflow.sid.clone(),
                            input_data,
                        }];
                    }
                }
                _ => {}
            }
            return Vec::new();
        }
        match action {
            Action::Input(request) => {
                self.search.handle(request);
            }
            Action::Submit => self.searching = false,
            Action::Back => {
                self.search.reset();
                self.searching = false;
            }
            _ => {}
        }
        Vec::new()
    }

    // -----------------------------------------------------------------
    // Questions and forms, asked from either screen.

    /// Opens the start form of `workflow_sid`, or of the selected workflow.
    fn open_form(&mut self, workflow_sid: Option<String>) -> Vec<Effect> {
        let workflow = match workflow_sid {
            Some(sid) => self.workflows.iter().find(|w| w.sid == sid),
            None => self.workflow_cursor().map(|i| &self.workflows[i]),
        };
        match workflow.cloned() {
            Some(workflow) => {
                self.overlay = Some(Overlay::Form(Box::new(StartForm::new(workflow))))
            }
            None => self.complain(strings::NO_WORKFLOW),
        }
        Vec::new()
    }

    fn ask_cancel(&mut self, play: &Play) {
        if play.is_terminal() {
            self.complain(strings::already_ended(&play.name, play.status));
            return;
        }
        self.overlay = Some(Overlay::Confirm(Confirm::Cancel {
            sid: play.sid.clone(),
            name: play.name.clone(),
        }));
    }

    fn ask_restart(&mut self, play: &Play) {
        self.overlay = Some(Overlay::Confirm(Confirm::Restart {
            sid: play.sid.clone(),
            name: play.name.clone(),
            latest: play.newer_version_sid.is_some(),
        }));
    }

    // -----------------------------------------------------------------
    // Data.

    /// Takes what the server said. Call [`App::settle`] before drawing.
    pub fn apply(&mut self, data: Data) -> Vec<Effect> {
        match data {
            Data::Plays(plays) => {
                self.plays = plays.into_iter().map(slim).collect();
                self.plays.sort_by(|a, b| b.sid.cmp(&a.sid));
                Vec::new()
            }
            Data::Workflows(workflows) => {
                self.workflows = workflows;
                self.workflows.sort_by(|a, b| a.name.cmp(&b.name));
                Vec::new()
            }
            Data::Play { play, spans } => self.put_play(play, spans),
            Data::Child { play, spans } => match &mut self.view {
                Some(view) => view.put_child(play, spans),
                None => Vec::new(),
            },
            Data::Event(PlayEvent::Play { play }) => {
                let mut effects = Vec::new();
                if self.workflow_name(&play.workflow_sid).is_none() {
                    effects.push(Effect::LoadWorkflows);
                }
                // A schedule fired: its next fire time has moved too.
                if let Some(schedules) = &mut self.schedules
                    && schedules.take_play(&play)
                {
                    effects.push(Effect::LoadSchedules);
                }
                self.upsert_listed(&play);
                if let Some(view) = &mut self.view {
                    view.upsert_play(*play);
                }
                effects
            }
            Data::Event(PlayEvent::Span { span }) => match &mut self.view {
                Some(view) => view.upsert_span(*span),
                None => Vec::new(),
            },
            Data::Lagged => {
                self.offline = None;
                let mut effects = vec![Effect::LoadPlays];
                if let Some(view) = &self.view {
                    effects.push(Effect::LoadPlay(view.sid().to_owned()));
                }
                if self.schedules.is_some() {
                    effects.push(Effect::LoadSchedules);
                }
                effects
            }
            Data::Started {
                play,
                restarted_from,
            } => {
                if matches!(self.overlay, Some(Overlay::Form(_))) {
                    self.overlay = None;
                }
                let text = match restarted_from {
                    Some(old) => strings::restarted(&old, &play.sid),
                    None => strings::started(&play.name, &play.sid),
                };
                self.say(text);
                self.upsert_listed(&play);
                self.selected_play = Some(play.sid.clone());
                self.open_on = Some((Tab::Pending, PlayPane::Tree));
                vec![Effect::LoadPlay(play.sid)]
            }
            Data::Cancelled(play) => {
                self.say(strings::cancelled(&play.name));
                self.upsert_listed(&play);
                if let Some(view) = &mut self.view {
                    view.upsert_play(play);
                }
                Vec::new()
            }
            Data::Schedules(list) => {
                if let Some(view) = &mut self.schedules {
                    view.put_all(list);
                }
                Vec::new()
            }
            Data::Schedule(schedule) => self.put_schedule(schedule),
            Data::Fired { name, play } => self.put_fired(&name, play),
            Data::Answered { name, answer } => {
                self.say(strings::answered(&name, &answer));
                Vec::new()
            }
            Data::Notice(text) => {
                self.say(text);
                Vec::new()
            }
            Data::Failed(text) => {
                match &mut self.overlay {
                    Some(Overlay::Form(form)) => form.error = Some(text),
                    _ => self.complain(text),
                }
                Vec::new()
            }
            Data::Disconnected(text) => {
                self.offline = Some(text);
                Vec::new()
            }
        }
    }

    /// Puts a changed or new play into the list, keeping the order.
    fn upsert_listed(&mut self, play: &Play) {
        let play = slim(play.clone());
        match self.plays.iter_mut().find(|p| p.sid == play.sid) {
            Some(listed) => *listed = play,
            None => {
                let at = self.plays.partition_point(|p| p.sid > play.sid);
                self.plays.insert(at, play);
            }
        }
    }
}

/// A list entry does not need the play's big maps.
fn slim(mut play: Play) -> Play {
    play.step_outputs.clear();
    play.received_resumes.clear();
    play.answered_resumes.clear();
    play
}

/// Where a move takes a cursor in a list of `len` rows.
/// Where a list's cursor is: on the row whose key is `selected`, else on
/// the first row; none in an empty list. A cursor is an identity, so a row
/// that moves keeps it.
fn cursor_at<T>(rows: &[T], selected: Option<&str>, key: impl Fn(&T) -> &str) -> Option<usize> {
    if rows.is_empty() {
        return None;
    }
    let at = selected.and_then(|selected| rows.iter().position(|row| key(row) == selected));
    Some(at.unwrap_or(0))
}

fn step(cursor: Option<usize>, len: usize, action: Action, page: usize) -> Option<usize> {
    let last = len.checked_sub(1)?;
    let at = cursor.unwrap_or(0).min(last);
    Some(match action {
        Action::Up => at.saturating_sub(1),
        Action::Down => (at + 1).min(last),
        Action::PageUp => at.saturating_sub(page),
        Action::PageDown => (at + page).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => at,
    })
}
