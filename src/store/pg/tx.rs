//! Typed reads and writes inside the writer's PostgreSQL transaction: the
//! same operations, with the same rules, as the redb store's `tx.rs`.
//! Indexes are PostgreSQL's own; what redb keeps by hand here (timers,
//! idempotency keys, resume tokens) is kept by the same rules.

use std::cell::RefCell;

use postgres::Row;

use super::checkpoints::{big, count_step};
use super::pipeline::{Param, WriterConn, params};
use crate::model::{LogLine, Play, PlayStatus, Schedule, Span, Workflow, WorkflowVersion};
use crate::store::tx::{decode, json, timer_keys};
use crate::store::{Checkpoint, KeyRecord, Result, SpanText};

/// The writer's transaction, read-only.
#[derive(Clone, Copy)]
pub struct PgSnapshot<'a> {
    conn: &'a RefCell<WriterConn>,
}

/// The writer's transaction.
#[derive(Clone, Copy)]
pub struct PgTx<'a> {
    conn: &'a RefCell<WriterConn>,
}

impl<'a> PgTx<'a> {
    pub(crate) fn new(conn: &'a RefCell<WriterConn>) -> PgTx<'a> {
        PgTx { conn }
    }

    pub fn read(&self) -> PgSnapshot<'a> {
        PgSnapshot { conn: self.conn }
    }
}

/// A checkpoint: the output stored, and one more step done for its play
/// when the step had none (`fresh`), in one statement.
const CHECKPOINT: &str = concat!(
    "WITH o AS (INSERT INTO step_outputs (play_sid, step_key, output) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (play_sid, step_key) DO UPDATE SET output = EXCLUDED.output \
     RETURNING (xmax = 0) AS fresh), \
 c AS ",
    count_step!(),
    " SELECT fresh FROM o"
);

impl PgTx<'_> {
    /// Held until the batch next reads or commits (see `pipeline.rs`).
    fn exec(&self, sql: &'static str, params: Vec<Param>) -> Result<()> {
        self.conn.borrow_mut().write(sql, params);
        Ok(())
    }

    pub fn put_play(&self, old: Option<&Play>, play: &Play) -> Result<()> {
        let mut stored = play.clone();
        stored.step_outputs.clear();
        stored.steps_done = 0;
        stored.newer_version_sid = None;
        let text = json(&stored);
        // A write that makes the play `pending` or `running`, or starts a
        // run of it, claims its lease for this worker: the effect of such a
        // transition (a run) is carried out where it was written.
        let claims = matches!(play.status, PlayStatus::Pending | PlayStatus::Running)
            && old.is_none_or(|old| old.status != play.status || old.runs != play.runs);
        self.conn.borrow_mut().written(&play.sid);
        let conn = self.conn.borrow();
        let worker = conn.worker().filter(|_| claims);
        let claim = worker.map(|w| w.id.clone());
        let lease = worker.map_or(0.0, |w| w.lease.as_secs_f64());
        drop(conn);
        // Other workers hear of every change (`play_wait`, `subscribe`, a
        // run taken over elsewhere) when this transaction commits.
        self.exec(
            "WITH up AS (INSERT INTO plays \
                 (sid, status, workflow_sid, parent_sid, record, worker_id, lease_until, runs) \
                 VALUES ($1, $2, $3, $4, $5, $6, \
                     CASE WHEN $6::text IS NULL THEN NULL \
                     ELSE now() + make_interval(secs => $7) END, $8) \
                 ON CONFLICT (sid) DO UPDATE SET status = EXCLUDED.status, \
                     record = EXCLUDED.record, runs = EXCLUDED.runs, \
                     worker_id = coalesce(EXCLUDED.worker_id, plays.worker_id), \
                     lease_until = coalesce(EXCLUDED.lease_until, plays.lease_until) \
                 RETURNING sid) \
             SELECT pg_notify('hero_logic_play', sid) FROM up",
            params![
                play.sid.clone(),
                play.status.as_str(),
                play.workflow_sid.clone(),
                play.parent_play_sid.clone(),
                text,
                claim,
                lease,
                i64::from(play.runs)
            ],
        )?;
        let before = old.map(timer_keys).unwrap_or_default();
        let after = timer_keys(play);
        for (due, id) in before.iter().filter(|k| !after.contains(k)) {
            self.remove_timer(*due, &play.sid, id)?;
        }
        for (due, id) in &after {
            self.exec(
                "INSERT INTO timers (due, play_sid, pause_id) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                params![*due, play.sid.clone(), id.to_string()],
            )?;
        }
        if old.is_none()
            && let Some(key) = &play.idempotency_key
        {
            self.exec(
                "INSERT INTO idempotency_keys (workflow_sid, key, play_sid) VALUES ($1, $2, $3) \
                 ON CONFLICT (workflow_sid, key) DO UPDATE SET play_sid = EXCLUDED.play_sid",
                params![play.workflow_sid.clone(), key.clone(), play.sid.clone()],
            )?;
        }
        for request in &play.pending_resumes {
            let Some(token) = &request.token else {
                continue;
            };
            if old.is_some_and(|old| old.pending_resumes.iter().any(|r| r.id == request.id)) {
                continue;
            }
            self.exec(
                "INSERT INTO resume_tokens (token, play_sid, pause_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (token) DO UPDATE SET play_sid = EXCLUDED.play_sid, \
                 pause_id = EXCLUDED.pause_id",
                params![token.clone(), play.sid.clone(), request.id.clone()],
            )?;
        }
        Ok(())
    }

    pub fn put_http_key(&self, record: &KeyRecord) -> Result<()> {
        self.exec(
            "INSERT INTO http_keys (id, record) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
            params![record.key.id.clone(), json(record)],
        )?;
        Ok(())
    }

    pub fn delete_http_key(&self, id: &str) -> Result<()> {
        self.exec(
            "DELETE FROM http_keys WHERE id = $1",
            params![id.to_owned()],
        )?;
        Ok(())
    }

    pub fn remove_timer(&self, due: i64, play_sid: &str, id: &str) -> Result<()> {
        self.exec(
            "DELETE FROM timers WHERE due = $1 AND play_sid = $2 AND pause_id = $3",
            params![due, play_sid.to_owned(), id.to_owned()],
        )?;
        Ok(())
    }

    pub fn put_schedule(&self, schedule: &Schedule) -> Result<()> {
        self.exec(
            "INSERT INTO schedules (name, record) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record",
            params![schedule.name.clone(), json(schedule)],
        )?;
        Ok(())
    }

    /// Removes a play whole: its record, step outputs, spans, log lines,
    /// timers, tokens, and its idempotency key while the key is its own.
    pub fn delete_play(&self, play: &Play) -> Result<()> {
        let sid = play.sid.as_str();
        self.conn.borrow_mut().written(sid);
        self.exec("DELETE FROM plays WHERE sid = $1", params![sid.to_owned()])?;
        self.exec(
            "DELETE FROM play_steps WHERE sid = $1",
            params![sid.to_owned()],
        )?;
        self.exec(
            "DELETE FROM step_outputs WHERE play_sid = $1",
            params![sid.to_owned()],
        )?;
        self.exec(
            "DELETE FROM spans WHERE play_sid = $1",
            params![sid.to_owned()],
        )?;
        self.exec(
            "DELETE FROM logs WHERE play_sid = $1",
            params![sid.to_owned()],
        )?;
        self.exec(
            "DELETE FROM timers WHERE play_sid = $1",
            params![sid.to_owned()],
        )?;
        self.exec(
            "DELETE FROM resume_tokens WHERE play_sid = $1",
            params![sid.to_owned()],
        )?;
        if let Some(key) = &play.idempotency_key {
            self.exec(
                "DELETE FROM idempotency_keys \
                 WHERE workflow_sid = $1 AND key = $2 AND play_sid = $3",
                params![play.workflow_sid.clone(), key.clone(), sid.to_owned()],
            )?;
        }
        Ok(())
    }

    pub fn delete_schedule(&self, name: &str) -> Result<()> {
        self.exec(
            "DELETE FROM schedules WHERE name = $1",
            params![name.to_owned()],
        )?;
        Ok(())
    }

    /// Stores a step's checkpoint and counts one more step done for its
    /// play if the step had none stored before; says whether it had none.
    pub fn put_checkpoint(&self, play_sid: &str, step_key: &str, output: &str) -> Result<bool> {
        self.conn.borrow_mut().written(play_sid);
        let row = self.read().first_row(
            CHECKPOINT,
            params![play_sid.to_owned(), step_key.to_owned(), output.to_owned()],
        )?;
        Ok(row.is_some_and(|r| r.get::<_, bool>(0)))
    }

    /// A step's checkpoint and its span, fenced and held to be sent with
    /// the batch's `COMMIT`: the checkpoints of a batch are one statement,
    /// one round trip. A stale run's checkpoint writes nothing, and its job
    /// is refused once the batch is sent. The count of steps done is kept
    /// by the statement itself.
    pub fn checkpoint(&self, checkpoint: Checkpoint) -> Result<()> {
        let mut conn = self.conn.borrow_mut();
        conn.written(&checkpoint.play_sid);
        conn.checkpoint(checkpoint);
        Ok(())
    }

    pub fn put_span(&self, span: &Span) -> Result<()> {
        self.put_span_text(&span.play_sid, span.run, span.seq(), &json(span))
    }

    pub fn put_span_json(&self, play_sid: &str, run: u32, seq: u64, span: &SpanText) -> Result<()> {
        self.put_span_text(play_sid, run, seq, span.as_str())
    }

    fn put_span_text(&self, play_sid: &str, run: u32, seq: u64, span: &str) -> Result<()> {
        self.exec(
            "INSERT INTO spans (play_sid, run, seq, span) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (play_sid, run, seq) DO UPDATE SET span = EXCLUDED.span",
            params![
                play_sid.to_owned(),
                i64::from(run),
                big(seq),
                span.to_owned()
            ],
        )?;
        Ok(())
    }

    pub fn put_log(&self, play_sid: &str, line: &LogLine) -> Result<()> {
        self.exec(
            "INSERT INTO logs (play_sid, run, seq, line) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (play_sid, run, seq) DO UPDATE SET line = EXCLUDED.line",
            params![
                play_sid.to_owned(),
                i64::from(line.run),
                big(line.seq),
                json(line)
            ],
        )?;
        Ok(())
    }

    pub fn put_workflow(&self, workflow: &Workflow) -> Result<()> {
        self.exec(
            "INSERT INTO workflows (sid, record) VALUES ($1, $2) \
             ON CONFLICT (sid) DO UPDATE SET record = EXCLUDED.record",
            params![workflow.sid.clone(), json(workflow)],
        )?;
        self.exec(
            "INSERT INTO workflow_names (name, sid) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET sid = EXCLUDED.sid",
            params![workflow.name.clone(), workflow.sid.clone()],
        )?;
        Ok(())
    }

    pub fn put_version(&self, version: &WorkflowVersion) -> Result<()> {
        self.exec(
            "INSERT INTO versions (sid, workflow_sid, created_at, record) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sid) DO UPDATE SET record = EXCLUDED.record",
            params![
                version.sid.clone(),
                version.workflow_sid.clone(),
                version.created_at.clone(),
                json(version)
            ],
        )?;
        Ok(())
    }

    pub fn put_analysis(&self, source_hash: &str, analysis: &serde_json::Value) -> Result<()> {
        self.exec(
            "INSERT INTO analyses (source_hash, analysis) VALUES ($1, $2) \
             ON CONFLICT (source_hash) DO UPDATE SET analysis = EXCLUDED.analysis",
            params![source_hash.to_owned(), json(analysis)],
        )?;
        Ok(())
    }
}

impl PgSnapshot<'_> {
    fn rows(&self, sql: &'static str, params: Vec<Param>) -> Result<Vec<Row>> {
        self.conn.borrow_mut().read(sql, params)
    }

    fn first_row(&self, sql: &'static str, params: Vec<Param>) -> Result<Option<Row>> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    fn one(&self, sql: &'static str, params: Vec<Param>) -> Result<Option<String>> {
        Ok(self.first_row(sql, params)?.map(|r| r.get(0)))
    }

    /// Up to `limit` plays of `status` created before the sid `upper`,
    /// oldest first, that `keep` accepts.
    pub fn plays_of_status_before(
        &self,
        status: PlayStatus,
        upper: &str,
        limit: usize,
        mut keep: impl FnMut(&Play) -> bool,
    ) -> Result<Vec<Play>> {
        let rows = self.rows(
            "SELECT record FROM plays WHERE status = $1 AND sid < $2 ORDER BY sid",
            params![status.as_str(), upper.to_owned()],
        )?;
        let mut out = Vec::new();
        for row in rows {
            let play: Play = decode(row.get(0))?;
            if keep(&play) {
                out.push(play);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Read with the play's row locked until the batch commits: every
    /// decision about a play (a run's fencing check included) is made on
    /// its newest state, whichever worker writes it next.
    pub fn play(&self, sid: &str) -> Result<Option<Play>> {
        if let Some((record, steps_done)) = self.conn.borrow().locked(sid) {
            let mut play: Play = decode(record)?;
            play.steps_done = *steps_done as u64;
            return Ok(Some(play));
        }
        let row = self.first_row(
            concat!(
                "SELECT record, ",
                super::steps_done!(),
                " FROM plays WHERE sid = $1 FOR UPDATE"
            ),
            params![sid.to_owned()],
        )?;
        row.map(|r| super::read::play_of(&r)).transpose()
    }

    pub fn play_state(&self, sid: &str) -> Result<Option<(PlayStatus, u32)>> {
        #[derive(serde::Deserialize)]
        struct State {
            status: PlayStatus,
            runs: u32,
        }
        let locked = self.conn.borrow().locked(sid).map(|(r, _)| r.clone());
        let found = match locked {
            Some(record) => Some(record),
            None => self.one(
                "SELECT record FROM plays WHERE sid = $1 FOR UPDATE",
                params![sid.to_owned()],
            )?,
        };
        found
            .map(|text| decode::<State>(&text).map(|s| (s.status, s.runs)))
            .transpose()
    }

    pub fn span(&self, play_sid: &str, run: u32, seq: u64) -> Result<Option<Span>> {
        let found = self.one(
            "SELECT span FROM spans WHERE play_sid = $1 AND run = $2 AND seq = $3",
            params![play_sid.to_owned(), i64::from(run), big(seq)],
        )?;
        Ok(found.and_then(|text| decode(&text).ok()))
    }

    pub fn workflow(&self, sid: &str) -> Result<Option<Workflow>> {
        let found = self.one(
            "SELECT record FROM workflows WHERE sid = $1",
            params![sid.to_owned()],
        )?;
        found.map(|text| decode(&text)).transpose()
    }

    pub fn workflow_by_name(&self, name: &str) -> Result<Option<Workflow>> {
        let found = self.one(
            "SELECT w.record FROM workflow_names n JOIN workflows w ON w.sid = n.sid \
             WHERE n.name = $1",
            params![name.to_owned()],
        )?;
        found.map(|text| decode(&text)).transpose()
    }

    pub fn last_log_seq(&self, play_sid: &str) -> Result<Option<u64>> {
        let row = self.first_row(
            "SELECT seq FROM logs WHERE play_sid = $1 ORDER BY run DESC, seq DESC LIMIT 1",
            params![play_sid.to_owned()],
        )?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64))
    }

    /// Locked until the batch commits: of workers firing one schedule at
    /// once, the second sees what the first wrote.
    pub fn schedule(&self, name: &str) -> Result<Option<Schedule>> {
        let found = self.one(
            "SELECT record FROM schedules WHERE name = $1 FOR UPDATE",
            params![name.to_owned()],
        )?;
        found.map(|text| decode(&text)).transpose()
    }

    pub fn http_key(&self, id: &str) -> Result<Option<KeyRecord>> {
        let found = self.one(
            "SELECT record FROM http_keys WHERE id = $1",
            params![id.to_owned()],
        )?;
        found.map(|text| decode(&text)).transpose()
    }

    /// Holds the key until the batch commits: of workers starting a play
    /// under one key at once, the second finds the first's play.
    pub fn idempotent_play(&self, workflow_sid: &str, key: &str) -> Result<Option<String>> {
        self.rows(
            "SELECT pg_advisory_xact_lock(hashtextextended(length($1::text) || ':' || $1 || $2::text, 0))",
            params![workflow_sid.to_owned(), key.to_owned()],
        )?;
        self.one(
            "SELECT play_sid FROM idempotency_keys WHERE workflow_sid = $1 AND key = $2",
            params![workflow_sid.to_owned(), key.to_owned()],
        )
    }

    pub fn version_exists(&self, sid: &str) -> Result<bool> {
        Ok(self
            .one(
                "SELECT sid FROM versions WHERE sid = $1",
                params![sid.to_owned()],
            )?
            .is_some())
    }
}
