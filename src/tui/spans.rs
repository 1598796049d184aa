//! The spans of one play as the dashboard keeps them: every run in order
//! (the Events tab), and an index by parent of the latest run (the flow
//! tree), both kept up to date one span at a time.
//!
//! A span that arrives in order — the usual case, as the server pushes
//! starts and ends as they happen — is appended and linked under its parent
//! in O(1); only a span older than the newest one already held makes the
//! indexes be rebuilt. Nothing here knows about the screen: [`flatten`]
//! turns the indexes of several plays into the rows the tree view draws.

use std::collections::{HashMap, HashSet};

use crate::model::{Play, ResumeKind, ResumeRequest, Span, SpanStatus};

/// What a new or updated span changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Only what a row shows (status, duration, output).
    Content,
    /// Rows were added or moved: the tree must be flattened again.
    Structure,
}

/// One play and its spans.
#[derive(Debug, Clone)]
pub struct PlayData {
    pub play: Play,
    /// Every run's spans, ordered by run then sequence.
    spans: Vec<Span>,
    by_id: HashMap<String, usize>,
    /// Step key → the span of the run that did the step's work: what a
    /// replayed span, which arrives without inputs, output or source, is
    /// completed from.
    worked: HashMap<String, usize>,
    /// The run the tree shows: the newest that has spans.
    tree_run: u32,
    /// Spans of `tree_run` without a parent in it, in order.
    roots: Vec<usize>,
    /// Children of each span of `tree_run` (by index into `spans`), in order.
    kids: Vec<Vec<usize>>,
    /// Ids of spans whose children the user folded away.
    pub folded: HashSet<String>,
}

fn order(span: &Span) -> (u32, u64) {
    (span.run, span.seq())
}

impl PlayData {
    pub fn new(play: Play, mut spans: Vec<Span>) -> PlayData {
        spans.sort_by_cached_key(order);
        spans.dedup_by(|a, b| a.id == b.id);
        let mut data = PlayData {
            play,
            spans,
            by_id: HashMap::new(),
            worked: HashMap::new(),
            tree_run: 0,
            roots: Vec::new(),
            kids: Vec::new(),
            folded: HashSet::new(),
        };
        data.reindex();
        data
    }

    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    pub fn span(&self, index: usize) -> Option<&Span> {
        self.spans.get(index)
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub fn roots(&self) -> &[usize] {
        &self.roots
    }

    pub fn kids(&self, index: usize) -> &[usize] {
        self.kids.get(index).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn tree_run(&self) -> u32 {
        self.tree_run
    }

    /// Fills in a replayed span pushed live from the span that did the
    /// work, as `play_spans` does for spans that are read.
    fn complete(&self, mut span: Span) -> Span {
        if span.status != SpanStatus::Replayed || span.source_file.is_some() {
            return span;
        }
        let worked = span.step_key.as_ref().and_then(|k| self.worked.get(k));
        if let Some(original) = worked.and_then(|&i| self.spans.get(i)) {
            span.inputs = original.inputs.clone();
            span.output = original.output.clone();
            span.source_file = original.source_file.clone();
            span.source_line = original.source_line;
        }
        span
    }

    fn note_work(&mut self, index: usize) {
        let span = &self.spans[index];
        if span.status == SpanStatus::Success
            && let Some(key) = &span.step_key
        {
            self.worked.insert(key.clone(), index);
        }
    }

    /// Takes a started or ended span.
    pub fn upsert(&mut self, span: Span) -> Change {
        let span = self.complete(span);
        if let Some(&i) = self.by_id.get(&span.id) {
            let moved = self.spans[i].parent_id != span.parent_id;
            self.spans[i] = span;
            self.note_work(i);
            if moved {
                self.reindex();
                return Change::Structure;
            }
            return Change::Content;
        }
        let in_order = self
            .spans
            .last()
            .is_none_or(|last| order(last) < order(&span));
        if !in_order {
            self.spans.push(span);
            self.spans.sort_by_cached_key(order);
            self.reindex();
            return Change::Structure;
        }
        let run = span.run;
        let index = self.spans.len();
        self.by_id.insert(span.id.clone(), index);
        self.spans.push(span);
        self.note_work(index);
        self.kids.push(Vec::new());
        if run > self.tree_run {
            self.link_run(run);
        } else {
            self.link(index);
        }
        Change::Structure
    }

    /// Rebuilds every index from `spans`, which is in order.
    fn reindex(&mut self) {
        self.by_id = self
            .spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        self.worked.clear();
        for i in 0..self.spans.len() {
            self.note_work(i);
        }
        let newest = self.spans.last().map_or(0, |s| s.run);
        self.link_run(newest);
    }

    /// Shows `run` in the tree, linking each of its spans under its parent.
    fn link_run(&mut self, run: u32) {
        self.tree_run = run;
        self.roots.clear();
        self.kids = vec![Vec::new(); self.spans.len()];
        let first = self.spans.partition_point(|s| s.run < run);
        for i in first..self.spans.len() {
            self.link(i);
        }
    }

    /// Links the span at `index` (the newest of its run) under its parent.
    fn link(&mut self, index: usize) {
        let span = &self.spans[index];
        let parent = span
            .parent_id
            .as_deref()
            .and_then(|p| self.by_id.get(p).copied())
            .filter(|&p| self.spans[p].run == span.run && p < index);
        match parent {
            Some(p) => self.kids[p].push(index),
            // A span whose parent is not in this run still shows, as a root.
            None => self.roots.push(index),
        }
    }

    /// Open pauses of this play that a person answers (`ui` is set).
    pub fn open_forms(&self) -> impl Iterator<Item = &ResumeRequest> {
        self.play
            .pending_resumes
            .iter()
            .filter(|r| r.resumed_at.is_none() && !r.ui.is_null())
    }

    /// Open pauses that wait for a machine (webhook, signal, child play);
    /// timers are apart: the clock answers them.
    pub fn open_machine_pauses(&self) -> usize {
        self.play
            .pending_resumes
            .iter()
            .filter(|r| r.resumed_at.is_none() && r.ui.is_null() && r.kind != ResumeKind::Timer)
            .count()
    }

    /// Open timers (sleeps, retry delays): shown with their time left,
    /// never answered by hand.
    pub fn open_timers(&self) -> impl Iterator<Item = &ResumeRequest> {
        self.play
            .pending_resumes
            .iter()
            .filter(|r| r.resumed_at.is_none() && r.kind == ResumeKind::Timer)
    }

    /// The open pause asked at span `id` that the clock answers (a timer,
    /// or a pause with a deadline), for the flow tree's countdown.
    pub fn clock_pause_at(&self, id: &str) -> Option<&ResumeRequest> {
        self.play.pending_resumes.iter().find(|r| {
            r.resumed_at.is_none()
                && r.due_at().is_some()
                && r.asked_at_span_id.as_deref() == Some(id)
        })
    }
}

/// One line of the flow tree: a span of one of the plays on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Index of the play in the slice given to [`flatten`].
    pub play: usize,
    /// Index of the span in that play's [`PlayData::spans`].
    pub span: usize,
    pub depth: u16,
    pub has_kids: bool,
    pub folded: bool,
}

/// The visible rows of the tree of `plays[0]`, with each spawned child play
/// (found through `child_of`) expanded under the `subflow` span that
/// started it. Iterative, so a deep tree cannot overflow the stack.
pub fn flatten(plays: &[PlayData], child_of: &HashMap<String, usize>) -> Vec<Row> {
    let mut rows = Vec::new();
    let Some(root) = plays.first() else {
        return rows;
    };
    let mut expanded = vec![false; plays.len()];
    expanded[0] = true;
    let mut stack: Vec<(usize, usize, u16)> =
        root.roots().iter().rev().map(|&s| (0, s, 0)).collect();
    while let Some((p, s, depth)) = stack.pop() {
        let data = &plays[p];
        let Some(span) = data.span(s) else { continue };
        let child = span
            .child_play_sid
            .as_deref()
            .and_then(|sid| child_of.get(sid).copied())
            .filter(|&c| !expanded[c] && !plays[c].roots().is_empty());
        let kids = data.kids(s);
        let has_kids = !kids.is_empty() || child.is_some();
        let folded = has_kids && data.folded.contains(&span.id);
        rows.push(Row {
            play: p,
            span: s,
            depth,
            has_kids,
            folded,
        });
        if folded {
            continue;
        }
        // The stack pops last-in first: push the child play's roots first so
        // they come after this span's own children.
        if let Some(c) = child {
            expanded[c] = true;
            stack.extend(plays[c].roots().iter().rev().map(|&k| (c, k, depth + 1)));
        }
        stack.extend(kids.iter().rev().map(|&k| (p, k, depth + 1)));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::{play, span};

    fn names(plays: &[PlayData], rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                let s = plays[r.play].span(r.span).expect("a row's span");
                format!("{}{}", "  ".repeat(r.depth as usize), s.name)
            })
            .collect()
    }

    #[test]
    fn a_replayed_span_pushed_live_is_completed_from_the_run_that_did_the_work() {
        let mut worked = span("p1", "1.2", Some("1.1"), "charge");
        worked.step_key = Some("k".into());
        worked.inputs = serde_json::json!({"amount": 3});
        worked.output = serde_json::json!("tx-1");
        let mut data = PlayData::new(play("p1"), vec![span("p1", "1.1", None, "main"), worked]);
        let mut thin = span("p1", "2.2", Some("2.1"), "charge");
        thin.step_key = Some("k".into());
        thin.status = SpanStatus::Replayed;
        thin.source_file = None;
        thin.source_line = None;
        data.upsert(span("p1", "2.1", None, "main"));
        data.upsert(thin);
        let shown = data
            .span(data.index_of("2.2").expect("the replayed span"))
            .expect("held");
        assert_eq!(shown.output, serde_json::json!("tx-1"));
        assert_eq!(shown.inputs, serde_json::json!({"amount": 3}));
        assert_eq!(shown.source_line, Some(12));
    }

    #[test]
    fn spans_nest_by_parent_in_order() {
        let data = PlayData::new(
            play("p1"),
            vec![
                span("p1", "1.3", Some("1.2"), "shout"),
                span("p1", "1.1", None, "main"),
                span("p1", "1.2", Some("1.1"), "greet"),
                span("p1", "1.4", Some("1.1"), "farewell"),
            ],
        );
        let plays = [data];
        let rows = flatten(&plays, &HashMap::new());
        assert_eq!(
            names(&plays, &rows),
            ["main", "  greet", "    shout", "  farewell"]
        );
    }

    #[test]
    fn a_new_run_replaces_the_tree_but_not_the_events() {
        let mut data = PlayData::new(
            play("p1"),
            vec![
                span("p1", "1.1", None, "main"),
                span("p1", "1.2", Some("1.1"), "a"),
            ],
        );
        assert_eq!(
            data.upsert(span("p1", "2.1", None, "main")),
            Change::Structure
        );
        assert_eq!(data.tree_run(), 2);
        assert_eq!(
            data.upsert(span("p1", "2.2", Some("2.1"), "a")),
            Change::Structure
        );
        let plays = [data];
        let rows = flatten(&plays, &HashMap::new());
        let ids: Vec<&str> = rows
            .iter()
            .map(|r| plays[0].spans()[r.span].id.as_str())
            .collect();
        assert_eq!(ids, ["2.1", "2.2"]);
        assert_eq!(plays[0].spans().len(), 4, "the events keep run 1");
    }

    #[test]
    fn an_update_in_place_is_content_and_a_late_span_reindexes() {
        let mut data = PlayData::new(play("p1"), vec![span("p1", "1.1", None, "main")]);
        let mut ended = span("p1", "1.1", None, "main");
        ended.status = crate::model::SpanStatus::Success;
        assert_eq!(data.upsert(ended), Change::Content);
        data.upsert(span("p1", "1.3", Some("1.1"), "late"));
        data.upsert(span("p1", "1.2", Some("1.1"), "early"));
        let plays = [data];
        let rows = flatten(&plays, &HashMap::new());
        assert_eq!(names(&plays, &rows), ["main", "  early", "  late"]);
    }

    #[test]
    fn spawned_children_expand_inline_and_folds_hide() {
        let mut sub = span("p1", "1.2", Some("1.1"), "send_invoice");
        sub.kind = crate::model::SpanKind::Subflow;
        sub.child_play_sid = Some("c1".into());
        let parent = PlayData::new(
            play("p1"),
            vec![
                span("p1", "1.1", None, "main"),
                sub,
                span("p1", "1.3", Some("1.1"), "after"),
            ],
        );
        let child = PlayData::new(
            play("c1"),
            vec![
                span("c1", "1.1", None, "main"),
                span("c1", "1.2", Some("1.1"), "mail"),
            ],
        );
        let mut plays = vec![parent, child];
        let index = HashMap::from([("p1".to_owned(), 0), ("c1".to_owned(), 1)]);
        let rows = flatten(&plays, &index);
        assert_eq!(
            names(&plays, &rows),
            [
                "main",
                "  send_invoice",
                "    main",
                "      mail",
                "  after"
            ]
        );
        plays[0].folded.insert("1.2".into());
        let rows = flatten(&plays, &index);
        assert_eq!(names(&plays, &rows), ["main", "  send_invoice", "  after"]);
        assert!(rows[1].folded && rows[1].has_kids);
    }
}
