//! The writer's connection: writes are held until the batch next reads or
//! commits, then sent in one pipeline with that read or `COMMIT`, so a
//! batch costs a round trip for each read it makes and one for its commit,
//! not one a statement.
//!
//! The writer thread drives the connection itself, on a single-threaded
//! runtime of its own: no hop to another thread per round trip.
//!
//! A checkpoint checks in its own SQL that its run is still its play's
//! current one, and returns the play's status and run; the connection
//! notes a checkpoint that found them otherwise, for the batch to refuse
//! the job that held it (see [`WriterConn::checkpoint`]). Checkpoints held
//! next to each other go as one statement (`checkpoints.rs`).

use std::collections::HashMap;

use futures_util::future::join_all;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::{WorkerId, checkpoints};
use crate::model::PlayStatus;
use crate::store::{Checkpoint, Result, StoreError};

/// An owned parameter, kept until its statement is sent.
pub(crate) type Param = Box<dyn ToSql + Sync + Send>;

/// Owned parameters for [`WriterConn::write`] and [`WriterConn::read`].
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        vec![$(Box::new($value) as $crate::store::pg::pipeline::Param),*]
    };
}
pub(crate) use params;

enum Held {
    Sql(&'static str, Vec<Param>),
    /// A fenced checkpoint, and the job that holds it: written with the
    /// checkpoints held next to it, in one statement (`checkpoints.rs`).
    Checkpoint(usize, Checkpoint),
}

impl Held {
    fn sql(&self) -> Option<&'static str> {
        match self {
            Held::Sql(sql, _) => Some(sql),
            Held::Checkpoint(..) => None,
        }
    }
}

/// A statement as sent, and the fenced writes whose plays' rows it returns.
struct Sent {
    sql: &'static str,
    params: Vec<Param>,
    fences: Vec<Fence>,
    /// Whether each row leads with its fence's place (from 1).
    numbered: bool,
}

/// What a fenced write expects of its play's row, and whose it is.
struct Fence {
    job: usize,
    sid: String,
    run: u32,
}

pub(crate) struct WriterConn {
    runtime: tokio::runtime::Runtime,
    client: Client,
    prepared: HashMap<&'static str, Statement>,
    held: Vec<Held>,
    /// The first statement that failed since `BEGIN`: the transaction is
    /// aborted, and its `COMMIT` would roll back without an error.
    failed: Option<String>,
    /// The worker a write that starts a play's run claims it for.
    worker: Option<WorkerId>,
    backend_pid: i32,
    /// Play rows locked and read at the batch's start, by sid (record,
    /// steps done), until this transaction writes them.
    locked: HashMap<String, (String, i64)>,
    /// The batch's job whose writes are being held now.
    job: usize,
    /// Jobs whose fenced write found their run no longer current: they
    /// wrote nothing and are refused with this.
    stale: HashMap<usize, StoreError>,
}

impl WriterConn {
    /// Connects; on a thread outside any async runtime.
    pub(crate) fn connect(url: &str, worker: Option<WorkerId>) -> Result<WriterConn> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Postgres(format!("cannot start the writer's runtime: {e}")))?;
        let (client, connection) = runtime.block_on(tokio_postgres::connect(url, NoTls))?;
        runtime.spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!("the writer's connection to PostgreSQL ended: {e}");
            }
        });
        let backend_pid = runtime
            .block_on(client.query_one("SELECT pg_backend_pid()", &[]))?
            .get(0);
        Ok(WriterConn {
            runtime,
            client,
            prepared: HashMap::new(),
            held: Vec::new(),
            failed: None,
            worker,
            backend_pid,
            locked: HashMap::new(),
            job: 0,
            stale: HashMap::new(),
        })
    }

    pub(crate) fn worker(&self) -> Option<&WorkerId> {
        self.worker.as_ref()
    }

    pub(crate) fn backend_pid(&self) -> i32 {
        self.backend_pid
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Starts a batch's transaction, and locks and reads the rows of
    /// `plays` (the ones its checks read): one round trip for them all,
    /// in sid order, as every locker of several plays takes them.
    pub(crate) fn begin(&mut self, mut plays: Vec<String>) {
        self.failed = None;
        self.held.clear();
        self.locked.clear();
        self.stale.clear();
        self.write("BEGIN", Vec::new());
        if plays.is_empty() {
            return;
        }
        plays.sort();
        plays.dedup();
        let read = self.read(
            concat!(
                "SELECT sid, record, ",
                super::steps_done!(),
                " FROM plays WHERE sid = ANY($1) ORDER BY sid FOR UPDATE"
            ),
            params![plays],
        );
        if let Ok(rows) = read {
            self.locked = rows
                .iter()
                .map(|r| (r.get(0), (r.get(1), r.get(2))))
                .collect();
        }
    }

    /// A play row locked at the batch's start and not written since.
    pub(crate) fn locked(&self, sid: &str) -> Option<&(String, i64)> {
        self.locked.get(sid)
    }

    /// This transaction writes play `sid`: its row is read again from now.
    pub(crate) fn written(&mut self, sid: &str) {
        self.locked.remove(sid);
    }

    /// Holds a write until the next read or the commit.
    pub(crate) fn write(&mut self, sql: &'static str, params: Vec<Param>) {
        self.held.push(Held::Sql(sql, params));
    }

    /// The batch's job `job` holds the writes from now.
    pub(crate) fn start_job(&mut self, job: usize) {
        self.job = job;
    }

    /// Holds a step's checkpoint, fenced: written only while its run is
    /// its play's current one (the row locked), and the row's `status` and
    /// `runs` returned either way: when they are not `running` and the
    /// checkpoint's run, the job is refused once the batch is sent
    /// ([`Self::stale`]).
    pub(crate) fn checkpoint(&mut self, checkpoint: Checkpoint) {
        self.held.push(Held::Checkpoint(self.job, checkpoint));
    }

    /// Why job `job` is refused, if a fenced write of it found its run no
    /// longer current.
    pub(crate) fn stale(&mut self, job: usize) -> Option<StoreError> {
        self.stale.remove(&job)
    }

    /// Sends what is held and `sql`, in one pipeline; `sql`'s rows.
    pub(crate) fn read(&mut self, sql: &'static str, params: Vec<Param>) -> Result<Vec<Row>> {
        self.write(sql, params);
        let mut rows = self.flush()?;
        Ok(rows.pop().unwrap_or_default())
    }

    /// Sends what is held and `COMMIT`; or, if a statement failed, rolls
    /// back and says which. A batch of one statement and nothing sent
    /// before is sent alone, a transaction by itself: `BEGIN` and `COMMIT`
    /// would cost the database two more statements for nothing (a lone
    /// checkpoint, or the checkpoints of concurrent flows: the most common
    /// batches of all).
    pub(crate) fn commit(&mut self) -> Result<()> {
        if self.failed.is_none() {
            if self.held.first().and_then(Held::sql) == Some("BEGIN")
                && one_statement(&self.held[1..])
            {
                self.held.remove(0);
            } else {
                self.write("COMMIT", Vec::new());
            }
            if self.flush().is_ok() {
                return Ok(());
            }
        }
        self.held.clear();
        let _ = self.runtime.block_on(self.client.batch_execute("ROLLBACK"));
        let why = self.failed.take().unwrap_or_default();
        Err(StoreError::Postgres(format!(
            "a statement of the batch failed, so none of it was written: {why}"
        )))
    }

    /// Sends every held statement in one pipeline: each statement's rows.
    fn flush(&mut self) -> Result<Vec<Vec<Row>>> {
        let held = statements(std::mem::take(&mut self.held));
        if let Some(why) = &self.failed {
            return Err(StoreError::Postgres(why.clone()));
        }
        for h in &held {
            if !self.prepared.contains_key(h.sql) {
                let statement = self.runtime.block_on(self.client.prepare(h.sql));
                match statement {
                    Ok(s) => {
                        self.prepared.insert(h.sql, s);
                    }
                    Err(e) => return Err(self.fail(e.into())),
                }
            }
        }
        let refs: Vec<Vec<&(dyn ToSql + Sync)>> = held
            .iter()
            .map(|h| {
                h.params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                    .collect()
            })
            .collect();
        let client = &self.client;
        let prepared = &self.prepared;
        let queries = held
            .iter()
            .zip(&refs)
            .map(|(h, params)| client.query(&prepared[h.sql], params));
        let answers = self.runtime.block_on(join_all(queries));
        let mut rows = Vec::with_capacity(answers.len());
        for (answer, h) in answers.into_iter().zip(held) {
            match answer {
                Ok(r) => {
                    self.check_fences(h, &r);
                    rows.push(r);
                }
                Err(e) => return Err(self.fail(e.into())),
            }
        }
        Ok(rows)
    }

    /// Notes each fenced write of `sent` whose play's row (among `rows`)
    /// was not its run's, running.
    fn check_fences(&mut self, sent: Sent, rows: &[Row]) {
        let first = usize::from(sent.numbered);
        let mut by_place: Vec<Option<&Row>> = vec![None; sent.fences.len()];
        if sent.numbered {
            for row in rows {
                let place = usize::try_from(row.get::<_, i64>(0) - 1).ok();
                if let Some(slot) = place.and_then(|p| by_place.get_mut(p)) {
                    *slot = Some(row);
                }
            }
        } else if let Some(slot) = by_place.first_mut() {
            *slot = rows.first();
        }
        for (fence, row) in sent.fences.into_iter().zip(by_place) {
            let found = row.and_then(|row| {
                let status = row.get::<_, Option<&str>>(first)?;
                let runs = row.get::<_, Option<i64>>(first + 1)?;
                Some((
                    PlayStatus::parse(status),
                    u32::try_from(runs).unwrap_or(u32::MAX),
                ))
            });
            self.check_fence(fence, found);
        }
    }

    fn check_fence(&mut self, fence: Fence, found: Option<(Option<PlayStatus>, u32)>) {
        if found != Some((Some(PlayStatus::Running), fence.run)) {
            self.stale.insert(
                fence.job,
                StoreError::StaleRun {
                    sid: fence.sid,
                    found: found.and_then(|(status, runs)| Some((status?, runs))),
                    run: fence.run,
                },
            );
        }
    }

    fn fail(&mut self, e: StoreError) -> StoreError {
        let why = e.to_string();
        self.failed.get_or_insert(why);
        e
    }
}

/// Whether `held` goes as one statement: a lone one, or checkpoints of
/// distinct plays (see [`statements`]).
fn one_statement(held: &[Held]) -> bool {
    let mut plays = std::collections::HashSet::new();
    held.len() == 1
        || held.iter().all(|h| match h {
            Held::Checkpoint(_, c) => plays.insert(c.play_sid.as_str()),
            Held::Sql(..) => false,
        })
}

/// The statements to send for what is held, in order: the checkpoints
/// held next to each other go as one statement, as long as their plays
/// differ (one statement cannot write a row twice).
fn statements(held: Vec<Held>) -> Vec<Sent> {
    let mut sent = Vec::with_capacity(held.len());
    let mut group: Vec<(usize, Checkpoint)> = Vec::new();
    let close = |group: &mut Vec<(usize, Checkpoint)>, sent: &mut Vec<Sent>| {
        if group.is_empty() {
            return;
        }
        let (fences, group): (Vec<Fence>, Vec<Checkpoint>) = std::mem::take(group)
            .into_iter()
            .map(|(job, c)| {
                let fence = Fence {
                    job,
                    sid: c.play_sid.clone(),
                    run: c.run,
                };
                (fence, c)
            })
            .unzip();
        let statement = checkpoints::statement(group);
        sent.push(Sent {
            sql: statement.sql,
            params: statement.params,
            fences,
            numbered: statement.numbered,
        });
    };
    for h in held {
        match h {
            Held::Checkpoint(job, c) => {
                if group.iter().any(|(_, g)| g.play_sid == c.play_sid) {
                    close(&mut group, &mut sent);
                }
                group.push((job, c));
            }
            Held::Sql(sql, params) => {
                close(&mut group, &mut sent);
                sent.push(Sent {
                    sql,
                    params,
                    fences: Vec::new(),
                    numbered: false,
                });
            }
        }
    }
    close(&mut group, &mut sent);
    sent
}
