//! Typed reads and writes inside one write transaction.
//!
//! A writer's job sees the transaction twice: first as a [`Snapshot`],
//! which only reads (what earlier jobs of the batch wrote included), to
//! decide what to write or to refuse; then as a [`Tx`], which writes what
//! was decided. A refusal therefore never leaves anything half-written in a
//! group-committed batch. Every write keeps the index tables in step with
//! the records, so callers never touch an index.

use std::cell::RefCell;

use redb::{ReadableTable, Table, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::journal::{MAX_BATCH, MAX_RECORD, Op};
use super::{Checkpoint, KeyRecord};
use super::{Result, db, tables::*, with_steps_done};
use crate::model::{LogLine, Play, PlayStatus, Schedule, Span, Workflow, WorkflowVersion};

/// A time as stored in [`TIMERS`]: microseconds since the epoch; `None`
/// when it is not an RFC 3339 time (the SDK checks refuse such a pause).
pub fn due_micros(at: &str) -> Option<i64> {
    at.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_microsecond())
}

/// The (due time, pause id) of each open pause of `play` the clock answers;
/// none once the play has ended.
pub(super) fn timer_keys(play: &Play) -> Vec<(i64, &str)> {
    if play.is_terminal() {
        return Vec::new();
    }
    play.pending_resumes
        .iter()
        .filter_map(|r| Some((due_micros(r.due_at()?)?, r.id.as_str())))
        .collect()
}

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<()> {
    txn.open_table(META).map_err(db)?;
    txn.open_table(WORKFLOWS).map_err(db)?;
    txn.open_table(WORKFLOW_NAMES).map_err(db)?;
    txn.open_table(VERSIONS).map_err(db)?;
    txn.open_multimap_table(WORKFLOW_VERSIONS).map_err(db)?;
    txn.open_table(ANALYSES).map_err(db)?;
    txn.open_table(PLAYS).map_err(db)?;
    txn.open_table(PLAYS_BY_STATUS).map_err(db)?;
    txn.open_table(PLAYS_BY_WORKFLOW).map_err(db)?;
    txn.open_table(PLAY_CHILDREN).map_err(db)?;
    txn.open_table(STEP_OUTPUTS).map_err(db)?;
    txn.open_table(STEP_COUNTS).map_err(db)?;
    txn.open_table(SPANS).map_err(db)?;
    txn.open_table(LOGS).map_err(db)?;
    txn.open_table(TIMERS).map_err(db)?;
    txn.open_table(SCHEDULES).map_err(db)?;
    txn.open_table(IDEMPOTENCY_KEYS).map_err(db)?;
    txn.open_table(RESUME_TOKENS).map_err(db)?;
    txn.open_table(HTTP_KEYS).map_err(db)?;
    Ok(())
}

pub(super) fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model types always serialize")
}

pub(super) fn decode<T: DeserializeOwned>(text: &str) -> Result<T> {
    Ok(serde_json::from_str(text)?)
}

/// A span's JSON text that decodes as a [`Span`]: the only span text the
/// store takes, so that it never keeps a span it cannot read back. The text
/// is kept as it came (a checkpoint's span is written after its answer,
/// without being encoded again).
#[derive(Debug, Clone, PartialEq)]
pub struct SpanText(String);

impl SpanText {
    /// Decodes `text` as a span; keeps the text when it does.
    pub fn decode(text: String) -> serde_json::Result<(Span, SpanText)> {
        let span = serde_json::from_str(&text)?;
        Ok((span, SpanText(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// What a batch's writes recorded for the journal.
#[derive(Debug, Default)]
pub(super) struct Recorded {
    /// The record lines.
    pub text: String,
    /// Whether a record was too large for the journal: the batch must then
    /// be made durable in redb itself before anyone hears back.
    pub oversized: bool,
}

/// What a checkpoint leaves for after its answer (see [`Tx::checkpoint`]).
pub(super) type Later = Checkpoint;

/// A write transaction seen read-only, through model types: what a job's
/// check looks at. It sees what earlier jobs of its batch wrote.
#[derive(Clone, Copy)]
pub struct RedbSnapshot<'a> {
    txn: &'a WriteTransaction,
}

/// A write transaction seen through model types. Every write is also
/// recorded for the journal (see `journal.rs`), unless the transaction is
/// itself a replay of the journal.
#[derive(Clone, Copy)]
pub struct RedbTx<'a> {
    pub(super) txn: &'a WriteTransaction,
    pub(super) journal: Option<&'a RefCell<Recorded>>,
    /// Where checkpoints put what they leave for after the answer; `None`
    /// writes it at once (a replay of the journal).
    pub(super) later: Option<&'a RefCell<Vec<Later>>>,
}

impl<'a> RedbTx<'a> {
    /// A transaction that records nothing for the journal: a replay of it.
    pub(super) fn unjournaled(txn: &'a WriteTransaction) -> RedbTx<'a> {
        RedbTx {
            txn,
            journal: None,
            later: None,
        }
    }

    /// The same transaction, read-only.
    pub fn read(&self) -> RedbSnapshot<'a> {
        RedbSnapshot { txn: self.txn }
    }
}

impl RedbTx<'_> {
    fn record(&self, op: Op) {
        if let Some(journal) = self.journal {
            let mut recorded = journal.borrow_mut();
            if recorded.oversized {
                // The batch is made durable in redb as a whole anyway.
                return;
            }
            let before = recorded.text.len();
            op.line(&mut recorded.text);
            if recorded.text.len() - before > MAX_RECORD || recorded.text.len() > MAX_BATCH {
                recorded.text.truncate(before);
                recorded.oversized = true;
            }
        }
    }

    /// Applies one journal record again, as the write that made it did.
    pub(super) fn apply(&self, op: Op) -> Result<()> {
        match op {
            Op::Play(json) => {
                let play: Play = decode(&json)?;
                let old = self.read().play(&play.sid)?;
                // A journal written before schema 2 counts steps in the
                // play record; since then that count is always 0.
                if old.as_ref().map_or(0, |old| old.steps_done) < play.steps_done {
                    self.txn
                        .open_table(STEP_COUNTS)
                        .map_err(db)?
                        .insert(play.sid.as_str(), play.steps_done)
                        .map_err(db)?;
                }
                self.put_play(old.as_ref(), &play)
            }
            Op::StepOutput { sid, key, json } => self.put_checkpoint(&sid, &key, &json).map(drop),
            Op::Log {
                sid,
                run,
                seq,
                json,
            } => self.put_log_json(&sid, run, seq, &json),
            Op::Workflow(json) => self.put_workflow(&decode(&json)?),
            Op::Version(json) => self.put_version(&decode(&json)?),
            Op::Analysis { hash, json } => self.put_analysis_json(&hash, &json),
            Op::Schedule(json) => self.put_schedule(&decode(&json)?),
            Op::ScheduleDeleted(name) => self.delete_schedule(&decode::<String>(&name)?),
            Op::HttpKey(json) => self.put_http_key(&decode(&json)?),
            Op::HttpKeyDeleted(id) => self.delete_http_key(&decode::<String>(&id)?),
            Op::PlayDeleted(sid) => match self.read().play(&sid)? {
                Some(play) => self.delete_play(&play),
                None => Ok(()),
            },
        }
    }

    /// Writes a play and moves its index entries when its status changed.
    /// `step_outputs` and `steps_done` are never part of the record: see
    /// [`Tx::put_checkpoint`].
    pub fn put_play(&self, old: Option<&Play>, play: &Play) -> Result<()> {
        let mut stored = play.clone();
        stored.step_outputs.clear();
        stored.steps_done = 0;
        stored.newer_version_sid = None;
        let text = json(&stored);
        self.txn
            .open_table(PLAYS)
            .map_err(db)?
            .insert(play.sid.as_str(), text.as_str())
            .map_err(db)?;
        self.record(Op::Play(text));
        if old.is_none_or(|old| old.status != play.status) {
            let mut by_status = self.txn.open_table(PLAYS_BY_STATUS).map_err(db)?;
            if let Some(old) = old {
                by_status
                    .remove((old.status.as_str(), old.sid.as_str()))
                    .map_err(db)?;
            }
            by_status
                .insert((play.status.as_str(), play.sid.as_str()), ())
                .map_err(db)?;
        }
        self.put_timers(old, play)?;
        if old.is_none() {
            self.txn
                .open_table(PLAYS_BY_WORKFLOW)
                .map_err(db)?
                .insert((play.workflow_sid.as_str(), play.sid.as_str()), ())
                .map_err(db)?;
            if let Some(parent) = &play.parent_play_sid {
                self.txn
                    .open_table(PLAY_CHILDREN)
                    .map_err(db)?
                    .insert((parent.as_str(), play.sid.as_str()), ())
                    .map_err(db)?;
            }
            if let Some(key) = &play.idempotency_key {
                self.txn
                    .open_table(IDEMPOTENCY_KEYS)
                    .map_err(db)?
                    .insert(
                        (play.workflow_sid.as_str(), key.as_str()),
                        play.sid.as_str(),
                    )
                    .map_err(db)?;
            }
        }
        // Each pause's token finds it, from the write that recorded it on.
        let mut tokens = None;
        for request in &play.pending_resumes {
            let Some(token) = &request.token else {
                continue;
            };
            if old.is_some_and(|old| old.pending_resumes.iter().any(|r| r.id == request.id)) {
                continue;
            }
            if tokens.is_none() {
                tokens = Some(self.txn.open_table(RESUME_TOKENS).map_err(db)?);
            }
            if let Some(table) = tokens.as_mut() {
                table
                    .insert(token.as_str(), (play.sid.as_str(), request.id.as_str()))
                    .map_err(db)?;
            }
        }
        Ok(())
    }

    pub fn put_http_key(&self, record: &KeyRecord) -> Result<()> {
        let text = json(record);
        self.txn
            .open_table(HTTP_KEYS)
            .map_err(db)?
            .insert(record.key.id.as_str(), text.as_str())
            .map_err(db)?;
        self.record(Op::HttpKey(text));
        Ok(())
    }

    pub fn delete_http_key(&self, id: &str) -> Result<()> {
        self.txn
            .open_table(HTTP_KEYS)
            .map_err(db)?
            .remove(id)
            .map_err(db)?;
        self.record(Op::HttpKeyDeleted(json(&id)));
        Ok(())
    }

    /// Keeps [`TIMERS`] in step with the play's open pauses that the clock
    /// answers. Every entry of the new record is inserted again, so that an
    /// entry the timer task dropped while the play could not take it (a
    /// retried play that runs again) comes back when its run asks the pause.
    fn put_timers(&self, old: Option<&Play>, play: &Play) -> Result<()> {
        let before = old.map(timer_keys).unwrap_or_default();
        let after = timer_keys(play);
        if before.is_empty() && after.is_empty() {
            return Ok(());
        }
        let mut timers = self.txn.open_table(TIMERS).map_err(db)?;
        for (due, id) in before.iter().filter(|k| !after.contains(k)) {
            timers.remove((*due, play.sid.as_str(), *id)).map_err(db)?;
        }
        for (due, id) in &after {
            timers
                .insert((*due, play.sid.as_str(), *id), ())
                .map_err(db)?;
        }
        Ok(())
    }

    /// Drops one entry of [`TIMERS`]: the timer task's, for an entry whose
    /// pause the play can no longer take. Not journaled: an entry that
    /// comes back after a crash is found stale again and dropped again.
    pub fn remove_timer(&self, due: i64, play_sid: &str, id: &str) -> Result<()> {
        self.txn
            .open_table(TIMERS)
            .map_err(db)?
            .remove((due, play_sid, id))
            .map_err(db)?;
        Ok(())
    }

    pub fn put_schedule(&self, schedule: &Schedule) -> Result<()> {
        let text = json(schedule);
        self.txn
            .open_table(SCHEDULES)
            .map_err(db)?
            .insert(schedule.name.as_str(), text.as_str())
            .map_err(db)?;
        self.record(Op::Schedule(text));
        Ok(())
    }

    /// Removes a play whole: its record, its index entries, its step
    /// outputs and count, its spans and its log lines.
    pub fn delete_play(&self, play: &Play) -> Result<()> {
        let sid = play.sid.as_str();
        self.txn
            .open_table(PLAYS)
            .map_err(db)?
            .remove(sid)
            .map_err(db)?;
        self.txn
            .open_table(PLAYS_BY_STATUS)
            .map_err(db)?
            .remove((play.status.as_str(), sid))
            .map_err(db)?;
        self.txn
            .open_table(PLAYS_BY_WORKFLOW)
            .map_err(db)?
            .remove((play.workflow_sid.as_str(), sid))
            .map_err(db)?;
        if let Some(parent) = &play.parent_play_sid {
            self.txn
                .open_table(PLAY_CHILDREN)
                .map_err(db)?
                .remove((parent.as_str(), sid))
                .map_err(db)?;
        }
        if let Some(key) = &play.idempotency_key {
            let mut keys = self.txn.open_table(IDEMPOTENCY_KEYS).map_err(db)?;
            let ours = keys
                .get((play.workflow_sid.as_str(), key.as_str()))
                .map_err(db)?
                .is_some_and(|v| v.value() == sid);
            if ours {
                keys.remove((play.workflow_sid.as_str(), key.as_str()))
                    .map_err(db)?;
            }
        }
        self.txn
            .open_table(STEP_COUNTS)
            .map_err(db)?
            .remove(sid)
            .map_err(db)?;
        self.txn
            .open_table(STEP_OUTPUTS)
            .map_err(db)?
            .retain_in((sid, "")..=(sid, "\u{10ffff}"), |_, _| false)
            .map_err(db)?;
        let whole = (sid, 0, 0)..=(sid, u32::MAX, u64::MAX);
        self.txn
            .open_table(SPANS)
            .map_err(db)?
            .retain_in(whole.clone(), |_, _| false)
            .map_err(db)?;
        self.txn
            .open_table(LOGS)
            .map_err(db)?
            .retain_in(whole, |_, _| false)
            .map_err(db)?;
        self.record(Op::PlayDeleted(sid.to_owned()));
        Ok(())
    }

    pub fn delete_schedule(&self, name: &str) -> Result<()> {
        self.txn
            .open_table(SCHEDULES)
            .map_err(db)?
            .remove(name)
            .map_err(db)?;
        self.record(Op::ScheduleDeleted(json(&name)));
        Ok(())
    }

    /// Stores a step's checkpoint, its output as the JSON text it arrived
    /// in, and counts one more step done for its play if the step had none
    /// stored before; says whether it had none.
    pub fn put_checkpoint(&self, play_sid: &str, step_key: &str, output: &str) -> Result<bool> {
        let mut outputs = self.txn.open_table(STEP_OUTPUTS).map_err(db)?;
        let mut counts = self.txn.open_table(STEP_COUNTS).map_err(db)?;
        self.put_output(&mut outputs, &mut counts, play_sid, step_key, output)
    }

    /// [`RedbTx::put_checkpoint`] into tables already open.
    fn put_output(
        &self,
        outputs: &mut Table<'_, (&'static str, &'static str), &'static str>,
        counts: &mut Table<'_, &'static str, u64>,
        play_sid: &str,
        step_key: &str,
        output: &str,
    ) -> Result<bool> {
        let fresh = outputs
            .insert((play_sid, step_key), output)
            .map_err(db)?
            .is_none();
        if fresh {
            let done = counts.get(play_sid).map_err(db)?.map_or(0, |n| n.value());
            counts.insert(play_sid, done + 1).map_err(db)?;
        }
        if self.journal.is_some() {
            self.record_checkpoint(play_sid, step_key, output);
        }
        Ok(fresh)
    }

    /// A step's checkpoint, durable with its batch's journal record and
    /// written to redb only after its caller has the answer, before any
    /// write queued after it, its span with it. A crash in between is
    /// covered by the journal. A failure of these later writes is logged at
    /// error level (the checkpoint is in the journal, which the next start
    /// applies).
    pub fn checkpoint(&self, checkpoint: Checkpoint) -> Result<()> {
        let Some(later) = self.later else {
            return self.put_checkpoints([checkpoint]);
        };
        self.record_checkpoint(
            &checkpoint.play_sid,
            &checkpoint.step_key,
            &checkpoint.output,
        );
        later.borrow_mut().push(checkpoint);
        Ok(())
    }

    /// Writes checkpoints, their outputs, counts and spans, each table
    /// opened once for all of them: opening a table costs redb about as
    /// much as a small insert, and a batch writes those of every flow it
    /// answered.
    pub(super) fn put_checkpoints(
        &self,
        checkpoints: impl IntoIterator<Item = Checkpoint>,
    ) -> Result<()> {
        let mut outputs = self.txn.open_table(STEP_OUTPUTS).map_err(db)?;
        let mut counts = self.txn.open_table(STEP_COUNTS).map_err(db)?;
        let mut spans = self.txn.open_table(SPANS).map_err(db)?;
        for c in checkpoints {
            self.put_output(
                &mut outputs,
                &mut counts,
                &c.play_sid,
                &c.step_key,
                &c.output,
            )?;
            if let Some((seq, span)) = &c.span {
                spans
                    .insert((c.play_sid.as_str(), c.run, *seq), span.as_str())
                    .map_err(db)?;
            }
        }
        Ok(())
    }

    fn record_checkpoint(&self, play_sid: &str, step_key: &str, output: &str) {
        self.record(Op::StepOutput {
            sid: play_sid.to_owned(),
            key: step_key.to_owned(),
            json: output.to_owned(),
        });
    }

    pub fn put_span(&self, span: &Span) -> Result<()> {
        self.put_span_json(&span.play_sid, span.run, span.seq(), &SpanText(json(span)))
    }

    /// Stores a span as the JSON text the SDK sent, once decoded (see
    /// [`SpanText`]). Spans are not journaled: they are history, not
    /// acknowledged state, so a crash may lose the last few milliseconds of
    /// them, and a replay of thousands of spans does not copy each into the
    /// journal.
    pub fn put_span_json(&self, play_sid: &str, run: u32, seq: u64, span: &SpanText) -> Result<()> {
        self.txn
            .open_table(SPANS)
            .map_err(db)?
            .insert((play_sid, run, seq), span.as_str())
            .map_err(db)?;
        Ok(())
    }

    pub fn put_log(&self, play_sid: &str, line: &LogLine) -> Result<()> {
        self.put_log_json(play_sid, line.run, line.seq, &json(line))
    }

    fn put_log_json(&self, play_sid: &str, run: u32, seq: u64, line: &str) -> Result<()> {
        self.txn
            .open_table(LOGS)
            .map_err(db)?
            .insert((play_sid, run, seq), line)
            .map_err(db)?;
        self.record(Op::Log {
            sid: play_sid.to_owned(),
            run,
            seq,
            json: line.to_owned(),
        });
        Ok(())
    }

    pub fn put_workflow(&self, workflow: &Workflow) -> Result<()> {
        let text = json(workflow);
        self.txn
            .open_table(WORKFLOWS)
            .map_err(db)?
            .insert(workflow.sid.as_str(), text.as_str())
            .map_err(db)?;
        self.record(Op::Workflow(text));
        self.txn
            .open_table(WORKFLOW_NAMES)
            .map_err(db)?
            .insert(workflow.name.as_str(), workflow.sid.as_str())
            .map_err(db)?;
        Ok(())
    }

    pub fn put_version(&self, version: &WorkflowVersion) -> Result<()> {
        let text = json(version);
        self.txn
            .open_table(VERSIONS)
            .map_err(db)?
            .insert(version.sid.as_str(), text.as_str())
            .map_err(db)?;
        self.record(Op::Version(text));
        self.txn
            .open_multimap_table(WORKFLOW_VERSIONS)
            .map_err(db)?
            .insert(
                version.workflow_sid.as_str(),
                (version.created_at.as_str(), version.sid.as_str()),
            )
            .map_err(db)?;
        Ok(())
    }

    pub fn put_analysis(&self, source_hash: &str, analysis: &serde_json::Value) -> Result<()> {
        self.put_analysis_json(source_hash, &json(analysis))
    }

    fn put_analysis_json(&self, source_hash: &str, analysis: &str) -> Result<()> {
        self.txn
            .open_table(ANALYSES)
            .map_err(db)?
            .insert(source_hash, analysis)
            .map_err(db)?;
        self.record(Op::Analysis {
            hash: source_hash.to_owned(),
            json: analysis.to_owned(),
        });
        Ok(())
    }
}

impl RedbSnapshot<'_> {
    /// Up to `limit` plays of `status` created before the sid `upper` (sids
    /// sort by creation time), oldest first, that `keep` accepts: a walk of
    /// the status index that never reads a newer play.
    pub fn plays_of_status_before(
        &self,
        status: PlayStatus,
        upper: &str,
        limit: usize,
        mut keep: impl FnMut(&Play) -> bool,
    ) -> Result<Vec<Play>> {
        let index = self.txn.open_table(PLAYS_BY_STATUS).map_err(db)?;
        let plays = self.txn.open_table(PLAYS).map_err(db)?;
        let mut out = Vec::new();
        for entry in index
            .range((status.as_str(), "")..(status.as_str(), upper))
            .map_err(db)?
        {
            let (key, _) = entry.map_err(db)?;
            let (_, sid) = key.value();
            let Some(text) = plays.get(sid).map_err(db)? else {
                continue;
            };
            let play: Play = decode(text.value())?;
            if keep(&play) {
                out.push(play);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    pub fn play(&self, sid: &str) -> Result<Option<Play>> {
        let table = self.txn.open_table(PLAYS).map_err(db)?;
        let counts = self.txn.open_table(STEP_COUNTS).map_err(db)?;
        let found = table.get(sid).map_err(db)?;
        found
            .map(|v| with_steps_done(decode(v.value())?, &counts))
            .transpose()
    }

    /// A play's status and current run, read without decoding the rest of
    /// it (a checkpoint asks before every step is acknowledged).
    pub fn play_state(&self, sid: &str) -> Result<Option<(PlayStatus, u32)>> {
        #[derive(serde::Deserialize)]
        struct State {
            status: PlayStatus,
            runs: u32,
        }
        let table = self.txn.open_table(PLAYS).map_err(db)?;
        let found = table.get(sid).map_err(db)?;
        found
            .map(|v| decode::<State>(v.value()).map(|s| (s.status, s.runs)))
            .transpose()
    }

    /// A stored span; one that does not decode (written by an older build
    /// that stored spans unchecked) counts as absent, so that it cannot
    /// stop the writes of its play's next spans.
    pub fn span(&self, play_sid: &str, run: u32, seq: u64) -> Result<Option<Span>> {
        let table = self.txn.open_table(SPANS).map_err(db)?;
        let found = table.get((play_sid, run, seq)).map_err(db)?;
        Ok(found.and_then(|v| match decode(v.value()) {
            Ok(span) => Some(span),
            Err(e) => {
                tracing::warn!(
                    "span {run}.{seq} of play {play_sid} does not decode, overwritten: {e}"
                );
                None
            }
        }))
    }

    pub fn workflow(&self, sid: &str) -> Result<Option<Workflow>> {
        let table = self.txn.open_table(WORKFLOWS).map_err(db)?;
        let found = table.get(sid).map_err(db)?;
        found.map(|v| decode(v.value())).transpose()
    }

    pub fn workflow_by_name(&self, name: &str) -> Result<Option<Workflow>> {
        let sid = {
            let names = self.txn.open_table(WORKFLOW_NAMES).map_err(db)?;
            let found = names.get(name).map_err(db)?;
            found.map(|v| v.value().to_owned())
        };
        match sid {
            Some(sid) => self.workflow(&sid),
            None => Ok(None),
        }
    }

    /// The seq of a play's last log line, of any run.
    pub fn last_log_seq(&self, play_sid: &str) -> Result<Option<u64>> {
        let table = self.txn.open_table(LOGS).map_err(db)?;
        let mut range = table
            .range((play_sid, 0, 0)..=(play_sid, u32::MAX, u64::MAX))
            .map_err(db)?;
        match range.next_back() {
            Some(entry) => Ok(Some(entry.map_err(db)?.0.value().2)),
            None => Ok(None),
        }
    }

    pub fn schedule(&self, name: &str) -> Result<Option<Schedule>> {
        let table = self.txn.open_table(SCHEDULES).map_err(db)?;
        let found = table.get(name).map_err(db)?;
        found.map(|v| decode(v.value())).transpose()
    }

    pub fn http_key(&self, id: &str) -> Result<Option<KeyRecord>> {
        let table = self.txn.open_table(HTTP_KEYS).map_err(db)?;
        let found = table.get(id).map_err(db)?;
        found.map(|v| decode(v.value())).transpose()
    }

    /// The play an idempotency key already started for a workflow.
    pub fn idempotent_play(&self, workflow_sid: &str, key: &str) -> Result<Option<String>> {
        let table = self.txn.open_table(IDEMPOTENCY_KEYS).map_err(db)?;
        let found = table.get((workflow_sid, key)).map_err(db)?;
        Ok(found.map(|v| v.value().to_owned()))
    }

    pub fn version_exists(&self, sid: &str) -> Result<bool> {
        let table = self.txn.open_table(VERSIONS).map_err(db)?;
        Ok(table.get(sid).map_err(db)?.is_some())
    }
}
