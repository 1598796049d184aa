//! The store boundary: the embedded redb store or PostgreSQL, behind one
//! set of typed reads and writes, so the engine, the server and the writer's
//! jobs never ask which one they talk to.
//!
//! An enum rather than a trait object: two backends, known here, and the
//! transaction types borrow from the writer's own state, which a trait
//! object would have to erase. Each method says once which backend does
//! what (the macros below), and the redb path stays as it was.

use std::sync::Arc;

use super::pg::{Pg, PgSnapshot, PgTx};
use super::tx::{RedbSnapshot, RedbTx};
use super::{KeyRecord, PlayFilter, Result, SpanText, Store};
use crate::model::{LogLine, Play, PlayStatus, Schedule, Span, Workflow, WorkflowVersion};

/// Where the server keeps everything.
#[derive(Clone)]
pub enum Backend {
    /// `hero_logic.redb` and its journal in the data folder.
    Redb(Arc<Store>),
    /// A PostgreSQL database (`HERO_LOGIC_DATABASE_URL`).
    Postgres(Arc<Pg>),
}

/// A write transaction seen read-only, through model types: what a job's
/// check looks at. It sees what earlier jobs of its batch wrote.
#[derive(Clone, Copy)]
pub enum Snapshot<'a> {
    Redb(RedbSnapshot<'a>),
    Postgres(PgSnapshot<'a>),
}

/// A write transaction seen through model types. Every write keeps the
/// indexes in step with the records, so callers never touch an index.
#[derive(Clone, Copy)]
pub enum Tx<'a> {
    Redb(RedbTx<'a>),
    Postgres(PgTx<'a>),
}

/// Methods that do the same on either backend, each named once.
macro_rules! both {
    ($ty:ident { $( $(#[$meta:meta])* fn $name:ident(&self $(, $arg:ident: $argty:ty)*) -> $ret:ty; )* }) => {
        impl $ty {
            $( $(#[$meta])* pub fn $name(&self $(, $arg: $argty)*) -> $ret {
                match self {
                    $ty::Redb(b) => b.$name($($arg),*),
                    $ty::Postgres(b) => b.$name($($arg),*),
                }
            } )*
        }
    };
    ($ty:ident<'_> { $( $(#[$meta:meta])* fn $name:ident(&self $(, $arg:ident: $argty:ty)*) -> $ret:ty; )* }) => {
        impl $ty<'_> {
            $( $(#[$meta])* pub fn $name(&self $(, $arg: $argty)*) -> $ret {
                match self {
                    $ty::Redb(b) => b.$name($($arg),*),
                    $ty::Postgres(b) => b.$name($($arg),*),
                }
            } )*
        }
    };
}

impl Backend {
    /// `"redb"` or `"postgres"`, as `status --json` says (SPEC §12).
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Redb(_) => "redb",
            Backend::Postgres(_) => "postgres",
        }
    }
}

both!(Backend {
    fn play(&self, sid: &str) -> Result<Option<Play>>;
    /// Every checkpoint of a play, `step_key` → output.
    fn step_outputs(&self, play_sid: &str) -> Result<crate::model::JsonMap>;
    /// Newest first.
    fn plays(&self, filter: &PlayFilter) -> Result<Vec<Play>>;
    /// How many plays fit `filter`, its `before` and `limit` aside.
    fn count_plays(&self, filter: &PlayFilter) -> Result<u64>;
    /// The first `limit` timers, soonest first: `(due time in microseconds
    /// since the epoch, play sid, pause id)`.
    fn timers(&self, limit: usize) -> Result<Vec<(i64, String, String)>>;
    /// The sids of the plays spawned by `parent`.
    fn children(&self, parent: &str) -> Result<Vec<String>>;
    /// Spans in start order; of one run, or of every run.
    fn spans(&self, play_sid: &str, run: Option<u32>) -> Result<Vec<Span>>;
    /// One page of a play's log: at most `limit` lines after `after`.
    fn logs(&self, play_sid: &str, run: Option<u32>, after: Option<u64>, limit: usize) -> Result<Vec<LogLine>>;
    /// The `seq` of a play's last log line, of any run.
    fn last_log_seq(&self, play_sid: &str) -> Result<Option<u64>>;
    fn workflow(&self, sid_or_name: &str) -> Result<Option<Workflow>>;
    fn workflows(&self) -> Result<Vec<Workflow>>;
    fn version(&self, sid: &str) -> Result<Option<WorkflowVersion>>;
    /// `(version sid, created_at)` of a workflow, oldest first.
    fn versions_of(&self, workflow_sid: &str) -> Result<Vec<(String, String)>>;
    fn analysis(&self, source_hash: &str) -> Result<Option<serde_json::Value>>;
    fn schedule(&self, name: &str) -> Result<Option<Schedule>>;
    fn schedules(&self) -> Result<Vec<Schedule>>;
    /// The play and pause a resume token answers.
    fn resume_token(&self, token: &str) -> Result<Option<(String, String)>>;
    fn http_keys(&self) -> Result<Vec<KeyRecord>>;
    /// Every record as text, for tests that compare before and after.
    fn dump(&self) -> Result<Vec<String>>;
    fn schema_version(&self) -> Result<u32>;
});

impl<'a> Tx<'a> {
    /// The same transaction, read-only.
    pub fn read(&self) -> Snapshot<'a> {
        match self {
            Tx::Redb(t) => Snapshot::Redb(t.read()),
            Tx::Postgres(t) => Snapshot::Postgres(t.read()),
        }
    }
}

both!(Tx<'_> {
    /// Writes a play and moves its index entries when its status changed.
    fn put_play(&self, old: Option<&Play>, play: &Play) -> Result<()>;
    fn put_http_key(&self, record: &KeyRecord) -> Result<()>;
    fn delete_http_key(&self, id: &str) -> Result<()>;
    /// Drops one timer: the timer task's, for a pause the play can no
    /// longer take.
    fn remove_timer(&self, due: i64, play_sid: &str, id: &str) -> Result<()>;
    fn put_schedule(&self, schedule: &Schedule) -> Result<()>;
    /// Removes a play whole, with its spans, logs and step outputs.
    fn delete_play(&self, play: &Play) -> Result<()>;
    fn delete_schedule(&self, name: &str) -> Result<()>;
    /// Stores a checkpoint; says whether the step had none before.
    fn put_checkpoint(&self, play_sid: &str, step_key: &str, output: &str) -> Result<bool>;
    fn put_span(&self, span: &Span) -> Result<()>;
    /// Stores a span as the JSON text the SDK sent, once decoded.
    fn put_span_json(&self, play_sid: &str, run: u32, seq: u64, span: &SpanText) -> Result<()>;
    fn put_log(&self, play_sid: &str, line: &LogLine) -> Result<()>;
    fn put_workflow(&self, workflow: &Workflow) -> Result<()>;
    fn put_version(&self, version: &WorkflowVersion) -> Result<()>;
    fn put_analysis(&self, source_hash: &str, analysis: &serde_json::Value) -> Result<()>;
});

impl Tx<'_> {
    /// A step's checkpoint, acknowledged as soon as it is durable. redb
    /// writes it after the answer (the journal holds it meanwhile);
    /// PostgreSQL with the batch's `COMMIT`. The job must have checked the
    /// run against [`Snapshot::checkpoint_state`].
    pub fn checkpoint(&self, checkpoint: Checkpoint) -> Result<()> {
        match self {
            Tx::Redb(t) => t.checkpoint(checkpoint),
            Tx::Postgres(t) => t.checkpoint(checkpoint),
        }
    }
}

/// A step's checkpoint as its run sent it.
pub struct Checkpoint {
    pub play_sid: String,
    pub run: u32,
    pub step_key: String,
    /// JSON text, as the SDK sent it.
    pub output: String,
    /// The step's span and its seq, written with the checkpoint: one
    /// statement on PostgreSQL.
    pub span: Option<(u64, SpanText)>,
}

both!(Snapshot<'_> {
    fn play(&self, sid: &str) -> Result<Option<Play>>;
    /// A play's status and current run, read without decoding the rest.
    fn play_state(&self, sid: &str) -> Result<Option<(PlayStatus, u32)>>;
    /// A stored span; one that does not decode counts as absent.
    fn span(&self, play_sid: &str, run: u32, seq: u64) -> Result<Option<Span>>;
    fn workflow(&self, sid: &str) -> Result<Option<Workflow>>;
    fn workflow_by_name(&self, name: &str) -> Result<Option<Workflow>>;
    /// The seq of a play's last log line, of any run.
    fn last_log_seq(&self, play_sid: &str) -> Result<Option<u64>>;
    fn schedule(&self, name: &str) -> Result<Option<Schedule>>;
    fn http_key(&self, id: &str) -> Result<Option<KeyRecord>>;
    /// The play an idempotency key already started for a workflow.
    fn idempotent_play(&self, workflow_sid: &str, key: &str) -> Result<Option<String>>;
    fn version_exists(&self, sid: &str) -> Result<bool>;
});

impl Snapshot<'_> {
    /// The status and current run of play `sid`, which run `run` checks
    /// before it writes a checkpoint ([`Tx::checkpoint`]). redb reads them.
    /// PostgreSQL answers that the run is current without asking the
    /// database: the checkpoint's own SQL checks it, with the play's row
    /// locked, writes nothing when it is not, and the job is then refused
    /// at commit ([`StoreError::StaleRun`]). That saves a round trip to the
    /// database a step.
    ///
    /// [`StoreError::StaleRun`]: crate::store::StoreError::StaleRun
    pub fn checkpoint_state(&self, sid: &str, run: u32) -> Result<Option<(PlayStatus, u32)>> {
        match self {
            Snapshot::Redb(s) => s.play_state(sid),
            Snapshot::Postgres(_) => Ok(Some((PlayStatus::Running, run))),
        }
    }

    /// Up to `limit` plays of `status` created before the sid `upper`
    /// (sids sort by creation time), oldest first, that `keep` accepts.
    pub fn plays_of_status_before(
        &self,
        status: PlayStatus,
        upper: &str,
        limit: usize,
        keep: impl FnMut(&Play) -> bool,
    ) -> Result<Vec<Play>> {
        match self {
            Snapshot::Redb(s) => s.plays_of_status_before(status, upper, limit, keep),
            Snapshot::Postgres(s) => s.plays_of_status_before(status, upper, limit, keep),
        }
    }
}
