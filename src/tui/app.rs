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

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jiff::Timestamp;
use ratatui::layout::Rect;
use serde_json::Value;
use tui_input::Input;

use super::action::{Action, Mode};
use super::form::StartForm;
use super::spans::{Change, PlayData, Row, flatten};
use super::strings;
use super::view::layout;
use crate::model::{Play, PlayEvent, PlayStatus, ResumeRequest, Span, SpanStatus, Workflow};

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

/// Which span the tree's cursor is on. The step key finds the same step
/// again when a new run replaces every span id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selection {
    play: String,
    span: String,
    step_key: Option<String>,
}

/// An open play: its data, its spawned children's, and where the user is.
#[derive(Debug, Clone)]
pub struct PlayView {
    /// `plays[0]` is the open play; the rest are its spawned descendants.
    pub(super) plays: Vec<PlayData>,
    pub(super) index: HashMap<String, usize>,
    /// Children asked for, so each is loaded once.
    requested: HashSet<String>,
    /// The visible rows of the flow tree.
    pub(super) rows: Vec<Row>,
    /// The rows lag behind the data until [`App::settle`].
    dirty: bool,
    selected: Option<Selection>,
    pub(super) cursor: usize,
    pub(super) tree_offset: usize,
    pub(super) focus: PlayPane,
    pub(super) tab: Tab,
    /// (play sid, pause id) of the selected pending pause.
    pending_selected: Option<(String, String)>,
    pub(super) pending_offset: usize,
    /// Id of the selected span in the Events tab.
    events_selected: Option<String>,
    pub(super) events_offset: usize,
}

impl PlayView {
    fn new(play: Play, spans: Vec<Span>) -> PlayView {
        let sid = play.sid.clone();
        PlayView {
            plays: vec![PlayData::new(play, spans)],
            index: HashMap::from([(sid, 0)]),
            requested: HashSet::new(),
            rows: Vec::new(),
            dirty: true,
            selected: None,
            cursor: 0,
            tree_offset: 0,
            focus: PlayPane::Tree,
            tab: Tab::Pending,
            pending_selected: None,
            pending_offset: 0,
            events_selected: None,
            events_offset: 0,
        }
    }

    pub(super) fn root(&self) -> &PlayData {
        &self.plays[0]
    }

    pub(super) fn sid(&self) -> &str {
        &self.plays[0].play.sid
    }

    /// Loads of the spawned children not asked for yet, under any span.
    fn missing_children(&mut self) -> Vec<Effect> {
        let wanted: Vec<String> = self
            .plays
            .iter()
            .flat_map(|d| d.spans().iter())
            .filter_map(|s| s.child_play_sid.clone())
            .collect();
        wanted
            .into_iter()
            .filter(|sid| !self.index.contains_key(sid) && self.requested.insert(sid.clone()))
            .map(Effect::LoadChild)
            .collect()
    }

    fn upsert_span(&mut self, span: Span) -> Vec<Effect> {
        let Some(&p) = self.index.get(&span.play_sid) else {
            return Vec::new();
        };
        let child = span
            .child_play_sid
            .clone()
            .filter(|c| !self.index.contains_key(c) && self.requested.insert(c.clone()));
        if self.plays[p].upsert(span) == Change::Structure {
            self.dirty = true;
        }
        child.map(Effect::LoadChild).into_iter().collect()
    }

    fn upsert_play(&mut self, mut play: Play) {
        if let Some(&p) = self.index.get(&play.sid) {
            let old = &mut self.plays[p].play;
            // Only `play_get` says whether a newer version exists.
            if play.newer_version_sid.is_none() {
                play.newer_version_sid = old.newer_version_sid.take();
            }
            *old = play;
        }
    }

    /// Takes a loaded child, or a reloaded one.
    fn put_child(&mut self, play: Play, spans: Vec<Span>) -> Vec<Effect> {
        let sid = play.sid.clone();
        match self.index.get(&sid) {
            Some(&p) => {
                let folded = std::mem::take(&mut self.plays[p].folded);
                self.plays[p] = PlayData::new(play, spans);
                self.plays[p].folded = folded;
            }
            None if self.requested.contains(&sid) => {
                self.index.insert(sid, self.plays.len());
                self.plays.push(PlayData::new(play, spans));
            }
            None => return Vec::new(),
        }
        self.dirty = true;
        self.missing_children()
    }

    /// Takes a reload of the open play; its children are reloaded too.
    fn refresh(&mut self, play: Play, spans: Vec<Span>) -> Vec<Effect> {
        let folded = std::mem::take(&mut self.plays[0].folded);
        self.plays[0] = PlayData::new(play, spans);
        self.plays[0].folded = folded;
        self.dirty = true;
        let mut effects: Vec<Effect> = self.plays[1..]
            .iter()
            .map(|d| Effect::LoadChild(d.play.sid.clone()))
            .collect();
        effects.extend(self.missing_children());
        effects
    }

    /// Flattens the tree again and finds the selected span in it.
    fn rebuild(&mut self) {
        self.rows = flatten(&self.plays, &self.index);
        self.dirty = false;
        let found = self.selected.as_ref().and_then(|sel| {
            let p = *self.index.get(&sel.play)?;
            let data = &self.plays[p];
            let by_id = data.index_of(&sel.span);
            self.rows
                .iter()
                .position(|r| r.play == p && Some(r.span) == by_id)
                .or_else(|| {
                    // A new run gave every span a new id: find the same step.
                    let key = sel.step_key.as_deref()?;
                    self.rows.iter().position(|r| {
                        r.play == p
                            && data.span(r.span).and_then(|s| s.step_key.as_deref()) == Some(key)
                    })
                })
        });
        match found {
            Some(row) => self.select_row(row),
            // The selected span is not (yet) in the tree — a new run has
            // not reached its step again: the cursor waits on a nearby row
            // and goes to the span when it arrives, unless the user moves.
            None => {
                self.cursor = self.cursor.min(self.rows.len().saturating_sub(1));
                if self.selected.is_none() {
                    self.select_row(self.cursor);
                }
            }
        }
    }

    fn select_row(&mut self, row: usize) {
        self.cursor = row;
        self.selected = self.rows.get(row).and_then(|r| {
            let data = &self.plays[r.play];
            let span = data.span(r.span)?;
            Some(Selection {
                play: data.play.sid.clone(),
                span: span.id.clone(),
                step_key: span.step_key.clone(),
            })
        });
    }

    pub(super) fn selected_row(&self) -> Option<Row> {
        self.rows.get(self.cursor).copied()
    }

    /// Open pauses with a form, of the open play and its children.
    pub(super) fn pending(&self) -> Vec<(usize, &ResumeRequest)> {
        self.plays
            .iter()
            .enumerate()
            .flat_map(|(p, d)| d.open_forms().map(move |r| (p, r)))
            .collect()
    }

    pub(super) fn machine_pauses(&self) -> usize {
        self.plays.iter().map(PlayData::open_machine_pauses).sum()
    }

    pub(super) fn pending_cursor(&self) -> usize {
        let Some((sid, id)) = &self.pending_selected else {
            return 0;
        };
        self.pending()
            .iter()
            .position(|(p, r)| &r.id == id && &self.plays[*p].play.sid == sid)
            .unwrap_or(0)
    }

    pub(super) fn events_cursor(&self) -> usize {
        let root = self.root();
        self.events_selected
            .as_deref()
            .and_then(|id| root.index_of(id))
            .unwrap_or(0)
    }

    fn toggle_fold(&mut self, fold: Option<bool>) {
        let Some(row) = self.selected_row() else {
            return;
        };
        if !row.has_kids {
            return;
        }
        let data = &mut self.plays[row.play];
        let Some(id) = data.span(row.span).map(|s| s.id.clone()) else {
            return;
        };
        let fold = fold.unwrap_or(!row.folded);
        if fold {
            data.folded.insert(id);
        } else {
            data.folded.remove(&id);
        }
        self.dirty = true;
    }

    /// The row of the selected span's parent, for `←` on a leaf.
    fn parent_row(&self) -> Option<usize> {
        let row = self.selected_row()?;
        self.rows[..self.cursor]
            .iter()
            .rposition(|r| r.depth < row.depth)
    }
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
    /// something shown counts up (the duration of a play that has not
    /// ended, an age in seconds), otherwise half a minute, for ages in
    /// minutes.
    pub fn next_tick(&self) -> Duration {
        let now = self.now;
        // A play that has not ended shows a duration that counts up.
        let live = |p: &Play| !p.is_terminal();
        let counting = match &self.view {
            Some(view) => live(&view.root().play),
            None => self
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
            if view.dirty {
                view.rebuild();
            }
            let screen = layout::play(area, view.root().play.newer_version_sid.is_some());
            view.tree_offset = layout::window(
                view.tree_offset,
                view.cursor,
                view.rows.len(),
                layout::inner_rows(screen.tree),
            );
            let bottom_rows = screen.bottom.map_or(0, layout::inner_rows);
            let pending_len = view.pending().len();
            view.pending_offset = layout::window(
                view.pending_offset,
                view.pending_cursor(),
                pending_len,
                bottom_rows,
            );
            view.events_offset = layout::window(
                view.events_offset,
                view.events_cursor(),
                view.root().spans().len(),
                bottom_rows,
            );
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

    // -----------------------------------------------------------------
    // What the home screen shows.

    pub(super) fn workflow_name(&self, sid: &str) -> Option<&str> {
        self.workflows
            .iter()
            .find(|w| w.sid == sid)
            .map(|w| w.name.as_str())
    }

    /// The plays that pass the status filter and the search.
    pub(super) fn visible_plays(&self) -> Vec<&Play> {
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

    pub(super) fn play_cursor(&self) -> Option<usize> {
        let visible = self.visible_plays();
        if visible.is_empty() {
            return None;
        }
        let at = self
            .selected_play
            .as_deref()
            .and_then(|sid| visible.iter().position(|p| p.sid == sid));
        Some(at.unwrap_or(0))
    }

    fn selected_visible_play(&self) -> Option<&Play> {
        self.play_cursor().map(|i| self.visible_plays()[i])
    }

    pub(super) fn workflow_cursor(&self) -> Option<usize> {
        if self.workflows.is_empty() {
            return None;
        }
        let at = self
            .selected_workflow
            .as_deref()
            .and_then(|sid| self.workflows.iter().position(|w| w.sid == sid));
        Some(at.unwrap_or(0))
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
                _ if self.view.is_some() => self.update_play(action),
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

    fn update_home(&mut self, action: Action) -> Vec<Effect> {
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

    fn update_play(&mut self, action: Action) -> Vec<Effect> {
        let page = self.page();
        let Some(view) = self.view.as_mut() else {
            return Vec::new();
        };
        match action {
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => {
                match (view.focus, view.tab) {
                    (PlayPane::Tree, _) => {
                        if let Some(row) = step(Some(view.cursor), view.rows.len(), action, page) {
                            view.select_row(row);
                        }
                    }
                    (PlayPane::Bottom, Tab::Pending) => {
                        let pending = view.pending();
                        if let Some(i) =
                            step(Some(view.pending_cursor()), pending.len(), action, page)
                        {
                            let (p, request) = pending[i];
                            let picked = (view.plays[p].play.sid.clone(), request.id.clone());
                            view.pending_selected = Some(picked);
                        }
                    }
                    (PlayPane::Bottom, Tab::Events) => {
                        let spans = view.root().spans();
                        if let Some(i) = step(Some(view.events_cursor()), spans.len(), action, page)
                        {
                            view.events_selected = Some(spans[i].id.clone());
                        }
                    }
                }
                Vec::new()
            }
            Action::Collapse if view.focus == PlayPane::Tree => {
                let row = view.selected_row();
                if row.is_some_and(|r| r.has_kids && !r.folded) {
                    view.toggle_fold(Some(true));
                } else if let Some(parent) = view.parent_row() {
                    view.select_row(parent);
                }
                Vec::new()
            }
            Action::Expand if view.focus == PlayPane::Tree => {
                view.toggle_fold(Some(false));
                Vec::new()
            }
            Action::Open => match (view.focus, view.tab) {
                (PlayPane::Tree, _) => {
                    view.toggle_fold(None);
                    Vec::new()
                }
                (PlayPane::Bottom, Tab::Pending) => self.answer(),
                (PlayPane::Bottom, Tab::Events) => {
                    // Jump to the span in the tree, when it is in the shown run.
                    let id = view
                        .root()
                        .spans()
                        .get(view.events_cursor())
                        .map(|s| s.id.clone());
                    if let Some(id) = id {
                        view.selected = Some(Selection {
                            play: view.sid().to_owned(),
                            span: id,
                            step_key: None,
                        });
                        view.focus = PlayPane::Tree;
                        view.dirty = true;
                    }
                    Vec::new()
                }
            },
            Action::Back => {
                let sid = view.sid().to_owned();
                self.view = None;
                self.selected_play = Some(sid);
                Vec::new()
            }
            Action::NextPane => {
                view.focus = match view.focus {
                    PlayPane::Tree => PlayPane::Bottom,
                    PlayPane::Bottom => PlayPane::Tree,
                };
                Vec::new()
            }
            Action::PendingTab => {
                view.tab = Tab::Pending;
                view.focus = PlayPane::Bottom;
                Vec::new()
            }
            Action::EventsTab => {
                view.tab = Tab::Events;
                view.focus = PlayPane::Bottom;
                Vec::new()
            }
            Action::Answer => self.answer(),
            Action::Cancel => {
                let play = view.root().play.clone();
                self.ask_cancel(&play);
                Vec::new()
            }
            Action::Restart => {
                let play = view.root().play.clone();
                self.ask_restart(&play);
                Vec::new()
            }
            Action::Start => {
                let workflow_sid = view.root().play.workflow_sid.clone();
                self.open_form(Some(workflow_sid))
            }
            _ => Vec::new(),
        }
    }

    /// Asks for the selected pending pause (the first, when none is).
    fn answer(&mut self) -> Vec<Effect> {
        let Some(view) = self.view.as_mut() else {
            return Vec::new();
        };
        view.tab = Tab::Pending;
        view.focus = PlayPane::Bottom;
        let pending = view.pending();
        let Some(&(p, request)) = pending.get(view.pending_cursor()) else {
            let text = match view.machine_pauses() {
                0 => strings::NOTHING_TO_ANSWER.to_owned(),
                n => strings::only_machine_pauses(n, view.sid()),
            };
            self.complain(text);
            return Vec::new();
        };
        let effect = Effect::Answer {
            play_sid: view.plays[p].play.sid.clone(),
            request: Box::new(request.clone()),
        };
        vec![effect]
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
                let unknown_workflow = self.workflow_name(&play.workflow_sid).is_none();
                self.upsert_listed(&play);
                if let Some(view) = &mut self.view {
                    view.upsert_play(*play);
                }
                if unknown_workflow {
                    vec![Effect::LoadWorkflows]
                } else {
                    Vec::new()
                }
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

    fn put_play(&mut self, play: Play, spans: Vec<Span>) -> Vec<Effect> {
        self.upsert_listed(&play);
        if let Some(view) = &mut self.view
            && view.sid() == play.sid
        {
            return view.refresh(play, spans);
        }
        let mut view = PlayView::new(play, spans);
        if let Some((tab, focus)) = self.open_on.take() {
            view.tab = tab;
            view.focus = focus;
        }
        // Start on the innermost span that waits, if one does: that is why
        // most plays get opened.
        view.rebuild();
        let waiting = view.rows.iter().rposition(|r| {
            view.plays[r.play]
                .span(r.span)
                .is_some_and(|s| s.status == SpanStatus::Paused)
        });
        view.select_row(waiting.unwrap_or(0));
        let effects = view.missing_children();
        self.view = Some(view);
        effects
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

/// Where a move takes a cursor in a list of `len` rows.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::{self, paused_play_with_spans, play, span, workflow};
    use serde_json::json;

    fn app() -> App {
        App::new(fixtures::now(), 80, 24)
    }

    fn with_plays(sids: &[&str]) -> App {
        let mut app = app();
        app.apply(Data::Workflows(vec![workflow("approve", vec![])]));
        app.apply(Data::Plays(sids.iter().map(|s| play(s)).collect()));
        app.settle();
        app
    }

    fn selected_sid(app: &App) -> Option<String> {
        app.selected_visible_play().map(|p| p.sid.clone())
    }

    #[test]
    fn plays_are_newest_first_and_the_cursor_keeps_its_play() {
        let mut app = with_plays(&["p1", "p3", "p2"]);
        assert_eq!(selected_sid(&app).as_deref(), Some("p3"));
        app.update(Action::Down);
        assert_eq!(selected_sid(&app).as_deref(), Some("p2"));
        // A new play arrives at the top: the cursor stays on p2.
        app.apply(Data::Event(PlayEvent::Play {
            play: Box::new(play("p4")),
        }));
        app.settle();
        assert_eq!(selected_sid(&app).as_deref(), Some("p2"));
        assert_eq!(app.play_cursor(), Some(2));
    }

    #[test]
    fn filter_and_search_narrow_the_list() {
        let mut app = with_plays(&["p1", "p2", "p3"]);
        let mut failed = play("p2");
        failed.status = PlayStatus::Failed;
        failed.name = "nightly".into();
        app.apply(Data::Event(PlayEvent::Play {
            play: Box::new(failed),
        }));
        app.update(Action::Filter);
        assert_eq!(app.filter, Some(PlayStatus::Running));
        assert_eq!(app.visible_plays().len(), 2);
        app.update(Action::Filter);
        assert_eq!(app.filter, Some(PlayStatus::AwaitingResume));
        assert_eq!(app.visible_plays().len(), 0);
        app.update(Action::Back);
        assert_eq!(app.filter, None);
        app.update(Action::Search);
        assert_eq!(app.mode(), Mode::Text);
        for c in "NIGHT".chars() {
            app.update(Action::Input(tui_input::InputRequest::InsertChar(c)));
        }
        app.update(Action::Submit);
        assert_eq!(app.mode(), Mode::Normal);
        let shown: Vec<&str> = app.visible_plays().iter().map(|p| p.sid.as_str()).collect();
        assert_eq!(shown, ["p2"]);
        app.update(Action::Back);
        assert_eq!(app.visible_plays().len(), 3);
    }

    #[test]
    fn enter_opens_a_play_on_its_paused_span_and_esc_goes_back() {
        let mut app = with_plays(&["p1"]);
        assert_eq!(
            app.update(Action::Open),
            vec![Effect::LoadPlay("p1".into())]
        );
        let (play, spans) = paused_play_with_spans("p1");
        assert!(app.apply(Data::Play { play, spans }).is_empty());
        app.settle();
        let view = app.view.as_ref().expect("the play is open");
        let row = view.selected_row().expect("a selected span");
        assert_eq!(view.plays[0].spans()[row.span].name, "review");
        app.update(Action::Back);
        assert!(app.view.is_none());
        assert_eq!(selected_sid(&app).as_deref(), Some("p1"));
    }

    #[test]
    fn p_then_a_answers_the_pending_pause() {
        let mut app = with_plays(&["p1"]);
        app.update(Action::Open);
        let (play, spans) = paused_play_with_spans("p1");
        let request = play.pending_resumes[0].clone();
        app.apply(Data::Play { play, spans });
        app.update(Action::PendingTab);
        let view = app.view.as_ref().expect("open");
        assert_eq!((view.tab, view.focus), (Tab::Pending, PlayPane::Bottom));
        assert_eq!(
            app.update(Action::Answer),
            vec![Effect::Answer {
                play_sid: "p1".into(),
                request: Box::new(request)
            }]
        );
        app.apply(Data::Answered {
            name: "approve".into(),
            answer: json!(true),
        });
        assert!(app.message.as_ref().is_some_and(|m| !m.error));
    }

    #[test]
    fn answering_with_nothing_open_says_so() {
        let mut app = with_plays(&["p1"]);
        app.update(Action::Open);
        app.apply(Data::Play {
            play: play("p1"),
            spans: vec![span("p1", "1.1", None, "main")],
        });
        assert!(app.update(Action::Answer).is_empty());
        assert!(app.message.as_ref().is_some_and(|m| m.error));
    }

    #[test]
    fn live_spans_do_not_move_the_cursor() {
        let mut app = with_plays(&["p1"]);
        app.update(Action::Open);
        app.apply(Data::Play {
            play: play("p1"),
            spans: vec![
                span("p1", "1.1", None, "main"),
                span("p1", "1.2", Some("1.1"), "a"),
            ],
        });
        app.settle();
        app.update(Action::Down);
        for seq in 3..50 {
            let id = format!("1.{seq}");
            app.apply(Data::Event(PlayEvent::Span {
                span: Box::new(span("p1", &id, Some("1.1"), "later")),
            }));
        }
        // An earlier sibling, out of order: the rows shift, the cursor follows.
        app.apply(Data::Event(PlayEvent::Span {
            span: Box::new(span("p1", "1.0", None, "first")),
        }));
        app.settle();
        let view = app.view.as_ref().expect("open");
        let row = view.selected_row().expect("selected");
        assert_eq!(view.plays[0].spans()[row.span].name, "a");
        assert_eq!(view.rows.len(), 50);
    }

    #[test]
    fn a_new_run_keeps_the_cursor_on_the_same_step() {
        let mut app = with_plays(&["p1"]);
        app.update(Action::Open);
        let mut step = span("p1", "1.2", Some("1.1"), "charge");
        step.step_key = Some("k-charge".into());
        app.apply(Data::Play {
            play: play("p1"),
            spans: vec![
                span("p1", "1.1", None, "main"),
                step,
                span("p1", "1.3", Some("1.1"), "approve"),
            ],
        });
        app.settle();
        app.update(Action::Top);
        app.update(Action::Down);
        let mut replayed = span("p1", "2.2", Some("2.1"), "charge");
        replayed.step_key = Some("k-charge".into());
        replayed.status = SpanStatus::Replayed;
        for s in [span("p1", "2.1", None, "main"), replayed] {
            app.apply(Data::Event(PlayEvent::Span { span: Box::new(s) }));
        }
        app.settle();
        let view = app.view.as_ref().expect("open");
        let row = view.selected_row().expect("selected");
        assert_eq!(view.plays[0].spans()[row.span].id, "2.2");
    }

    #[test]
    fn the_cursor_waits_for_its_step_to_come_back_in_a_new_run() {
        let mut app = with_plays(&["p1"]);
        app.update(Action::Open);
        let mut late = span("p1", "1.3", Some("1.1"), "ship");
        late.step_key = Some("k-ship".into());
        app.apply(Data::Play {
            play: play("p1"),
            spans: vec![
                span("p1", "1.1", None, "main"),
                span("p1", "1.2", Some("1.1"), "pack"),
                late.clone(),
            ],
        });
        app.update(Action::Bottom);
        // Run 2 arrives span by span; `ship` comes last.
        for s in [
            span("p1", "2.1", None, "main"),
            span("p1", "2.2", Some("2.1"), "pack"),
        ] {
            app.apply(Data::Event(PlayEvent::Span { span: Box::new(s) }));
            app.settle();
        }
        late.id = "2.3".into();
        late.run = 2;
        late.parent_id = Some("2.1".into());
        app.apply(Data::Event(PlayEvent::Span {
            span: Box::new(late),
        }));
        app.settle();
        let view = app.view.as_ref().expect("open");
        let row = view.selected_row().expect("selected");
        assert_eq!(view.plays[0].spans()[row.span].id, "2.3");
    }

    #[test]
    fn spawned_children_are_loaded_once_and_shown_inline() {
        let mut app = with_plays(&["p1"]);
        app.update(Action::Open);
        let mut sub = span("p1", "1.2", Some("1.1"), "invoice");
        sub.kind = crate::model::SpanKind::Subflow;
        sub.child_play_sid = Some("c1".into());
        let effects = app.apply(Data::Play {
            play: play("p1"),
            spans: vec![span("p1", "1.1", None, "main"), sub.clone()],
        });
        assert_eq!(effects, vec![Effect::LoadChild("c1".into())]);
        let again = app.apply(Data::Event(PlayEvent::Span {
            span: Box::new(sub),
        }));
        assert!(again.is_empty(), "asked once");
        app.apply(Data::Child {
            play: play("c1"),
            spans: vec![span("c1", "1.1", None, "main")],
        });
        app.apply(Data::Event(PlayEvent::Span {
            span: Box::new(span("c1", "1.2", Some("1.1"), "mail")),
        }));
        app.settle();
        assert_eq!(app.view.as_ref().expect("open").rows.len(), 4);
    }

    #[test]
    fn cancel_and_restart_ask_first() {
        let mut app = with_plays(&["p1"]);
        app.update(Action::Cancel);
        assert_eq!(app.mode(), Mode::Confirm);
        assert!(
            app.update(Action::Down).is_empty(),
            "other keys keep the question"
        );
        assert!(app.update(Action::No).is_empty());
        assert_eq!(app.mode(), Mode::Normal);
        app.update(Action::Cancel);
        assert_eq!(app.update(Action::Yes), vec![Effect::Cancel("p1".into())]);

        app.update(Action::Open);
        let mut newer = play("p1");
        newer.newer_version_sid = Some("v2".into());
        app.apply(Data::Play {
            play: newer,
            spans: Vec::new(),
        });
        app.update(Action::Restart);
        assert_eq!(
            app.update(Action::Yes),
            vec![Effect::Restart {
                play_sid: "p1".into(),
                latest: true
            }]
        );
    }

    #[test]
    fn cancelling_an_ended_play_is_refused_without_asking() {
        let mut app = app();
        let mut done = play("p1");
        done.status = PlayStatus::Success;
        app.apply(Data::Plays(vec![done]));
        app.update(Action::Cancel);
        assert_eq!(app.mode(), Mode::Normal);
        assert!(app.message.as_ref().is_some_and(|m| m.error));
    }

    #[test]
    fn s_on_a_workflow_opens_its_form_and_submits_typed_input() {
        let mut app = app();
        app.apply(Data::Workflows(vec![fixtures::order_workflow()]));
        app.update(Action::NextPane);
        app.update(Action::Start);
        assert_eq!(app.mode(), Mode::Text);
        for c in "ada".chars() {
            app.update(Action::Input(tui_input::InputRequest::InsertChar(c)));
        }
        app.update(Action::NextField);
        app.update(Action::Input(tui_input::InputRequest::DeleteLine));
        for c in "2.5".chars() {
            app.update(Action::Input(tui_input::InputRequest::InsertChar(c)));
        }
        let effects = app.update(Action::Submit);
        assert_eq!(
            effects,
            vec![Effect::Start {
                workflow_sid: "w-order".into(),
                input_data: json!({"customer": "ada", "amount": 2.5}),
            }]
        );
        assert_eq!(
            app.mode(),
            Mode::Text,
            "the form stays until the play starts"
        );
        app.apply(Data::Failed("no".into()));
        assert_eq!(app.mode(), Mode::Text);
        let effects = app.apply(Data::Started {
            play: play("p9"),
            restarted_from: None,
        });
        assert_eq!(effects, vec![Effect::LoadPlay("p9".into())]);
        assert_eq!(app.mode(), Mode::Normal);
    }

    #[test]
    fn lagging_reloads_what_is_shown() {
        let mut app = with_plays(&["p1"]);
        assert_eq!(app.apply(Data::Lagged), vec![Effect::LoadPlays]);
        app.update(Action::Open);
        app.apply(Data::Play {
            play: play("p1"),
            spans: Vec::new(),
        });
        assert_eq!(
            app.apply(Data::Lagged),
            vec![Effect::LoadPlays, Effect::LoadPlay("p1".into())]
        );
    }

    #[test]
    fn help_opens_and_any_key_closes_it() {
        let mut app = app();
        app.update(Action::Help);
        assert_eq!(app.mode(), Mode::Help);
        app.update(Action::Down);
        assert_eq!(app.mode(), Mode::Normal);
        app.update(Action::Quit);
        assert!(app.should_quit());
    }

    #[test]
    fn the_clock_ticks_fast_only_while_something_counts() {
        let mut app = app();
        let mut old = play("p1");
        old.status = PlayStatus::Success;
        old.created_at = "2026-11-01T10:00:00Z".into();
        app.apply(Data::Plays(vec![old.clone()]));
        assert_eq!(app.next_tick(), Duration::from_secs(30));
        old.status = PlayStatus::AwaitingResume;
        app.apply(Data::Plays(vec![old]));
        assert_eq!(app.next_tick(), Duration::from_secs(1));
    }
}
