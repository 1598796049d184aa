//! An open play's part of the state: the play, its spawned children, the
//! flattened flow tree, and the cursors of the tree and the bottom tabs;
//! and what the keys do while a play is open.
//!
//! Invariant: the rows are derived from the spans (`dirty` until
//! [`PlayView::settle`]), and every cursor is an identity — a span's id
//! and step key, a pause's id — found again after each rebuild.

use std::collections::{HashMap, HashSet};

use ratatui::layout::Rect;

use super::{Action, App, Effect, PlayPane, Tab, step};
use crate::model::{Play, ResumeRequest, Span, SpanStatus};
use crate::tui::spans::{Change, PlayData, Row, flatten};
use crate::tui::strings;
use crate::tui::view::layout;

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
    pub(in crate::tui) plays: Vec<PlayData>,
    pub(in crate::tui) index: HashMap<String, usize>,
    /// Children asked for, so each is loaded once.
    requested: HashSet<String>,
    /// The visible rows of the flow tree.
    pub(in crate::tui) rows: Vec<Row>,
    /// The rows lag behind the data until [`App::settle`].
    dirty: bool,
    selected: Option<Selection>,
    pub(in crate::tui) cursor: usize,
    pub(in crate::tui) tree_offset: usize,
    pub(in crate::tui) focus: PlayPane,
    pub(in crate::tui) tab: Tab,
    /// (play sid, pause id) of the selected pending pause.
    pending_selected: Option<(String, String)>,
    pub(in crate::tui) pending_offset: usize,
    /// Id of the selected span in the Events tab.
    events_selected: Option<String>,
    pub(in crate::tui) events_offset: usize,
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

    pub(in crate::tui) fn root(&self) -> &PlayData {
        &self.plays[0]
    }

    pub(in crate::tui) fn sid(&self) -> &str {
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

    pub(super) fn upsert_span(&mut self, span: Span) -> Vec<Effect> {
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

    pub(super) fn upsert_play(&mut self, mut play: Play) {
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
    pub(super) fn put_child(&mut self, play: Play, spans: Vec<Span>) -> Vec<Effect> {
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

    pub(in crate::tui) fn selected_row(&self) -> Option<Row> {
        self.rows.get(self.cursor).copied()
    }

    /// Open pauses with a form, of the open play and its children.
    pub(in crate::tui) fn pending(&self) -> Vec<(usize, &ResumeRequest)> {
        self.plays
            .iter()
            .enumerate()
            .flat_map(|(p, d)| d.open_forms().map(move |r| (p, r)))
            .collect()
    }

    /// Open timers, of the open play and its children: the clock answers
    /// them, so they are listed under the pauses, never selected.
    pub(in crate::tui) fn timers(&self) -> Vec<(usize, &ResumeRequest)> {
        self.plays
            .iter()
            .enumerate()
            .flat_map(|(p, d)| d.open_timers().map(move |r| (p, r)))
            .collect()
    }

    pub(in crate::tui) fn machine_pauses(&self) -> usize {
        self.plays.iter().map(PlayData::open_machine_pauses).sum()
    }

    pub(in crate::tui) fn pending_cursor(&self) -> usize {
        let Some((sid, id)) = &self.pending_selected else {
            return 0;
        };
        self.pending()
            .iter()
            .position(|(p, r)| &r.id == id && &self.plays[*p].play.sid == sid)
            .unwrap_or(0)
    }

    pub(in crate::tui) fn events_cursor(&self) -> usize {
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

    /// Brings the rows and the scroll offsets in line with the data and
    /// the screen: the open play's part of [`App::settle`].
    pub(super) fn settle(&mut self, area: Rect) {
        if self.dirty {
            self.rebuild();
        }
        let screen = layout::play(area, self.root().play.newer_version_sid.is_some());
        self.tree_offset = layout::window(
            self.tree_offset,
            self.cursor,
            self.rows.len(),
            layout::inner_rows(screen.tree),
        );
        let bottom_rows = screen.bottom.map_or(0, layout::inner_rows);
        let pending_len = self.pending().len();
        self.pending_offset = layout::window(
            self.pending_offset,
            self.pending_cursor(),
            pending_len,
            bottom_rows,
        );
        self.events_offset = layout::window(
            self.events_offset,
            self.events_cursor(),
            self.root().spans().len(),
            bottom_rows,
        );
    }
}

impl App {
    /// Carries out an action while a play is open.
    pub(super) fn update_play(&mut self, action: Action) -> Vec<Effect> {
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
            let now = self.now;
            let timer = view.timers().first().map(|(_, r)| {
                let wake = r.wake_at.as_deref().unwrap_or_default();
                strings::only_timers(&r.name, &crate::format::in_time(wake, now))
            });
            let text = match (view.machine_pauses(), timer) {
                (0, Some(timer)) => timer,
                (0, None) => strings::NOTHING_TO_ANSWER.to_owned(),
                (n, _) => strings::only_machine_pauses(n, view.sid()),
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

    /// Opens a loaded play, or takes a reload of the one open.
    pub(super) fn put_play(&mut self, play: Play, spans: Vec<Span>) -> Vec<Effect> {
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
}
