//! Table definitions: the on-disk layout of schema version 2.
//!
//! Values are JSON text of model types. Plays are stored without their large
//! maps: step outputs, spans and logs live in their own tables keyed by play,
//! so that appending a checkpoint never rewrites what came before it.

use redb::{MultimapTableDefinition, TableDefinition};

/// `"schema_version"` → the layout version as decimal text.
pub const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// Workflow sid → Workflow.
pub const WORKFLOWS: TableDefinition<&str, &str> = TableDefinition::new("workflows");
/// Workflow name → workflow sid.
pub const WORKFLOW_NAMES: TableDefinition<&str, &str> = TableDefinition::new("workflow_names");
/// Version sid → WorkflowVersion.
pub const VERSIONS: TableDefinition<&str, &str> = TableDefinition::new("versions");
/// Workflow sid → (created_at, version sid), oldest first.
pub const WORKFLOW_VERSIONS: MultimapTableDefinition<&str, (&str, &str)> =
    MultimapTableDefinition::new("workflow_versions");
/// sha1 of a source → the SDK's analysis of it, so saving it again is free.
pub const ANALYSES: TableDefinition<&str, &str> = TableDefinition::new("analyses");
/// Play sid → Play without `step_outputs`, with `steps_done` 0 (it lives in
/// [`STEP_COUNTS`]); sids sort by creation time.
pub const PLAYS: TableDefinition<&str, &str> = TableDefinition::new("plays");
/// (status, play sid) → (): plays of one status, newest last.
pub const PLAYS_BY_STATUS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("plays_by_status");
/// (workflow sid, play sid) → (): plays of one workflow, newest last.
pub const PLAYS_BY_WORKFLOW: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("plays_by_workflow");
/// (parent play sid, child play sid) → (): spawned children.
pub const PLAY_CHILDREN: TableDefinition<(&str, &str), ()> = TableDefinition::new("play_children");
/// (play sid, step key) → output JSON.
pub const STEP_OUTPUTS: TableDefinition<(&str, &str), &str> = TableDefinition::new("step_outputs");
/// Play sid → how many steps it has checkpointed: kept apart from the play,
/// so that a checkpoint never rewrites the play record, and counted by the
/// checkpoint's own journal record, whatever else the journal holds.
pub const STEP_COUNTS: TableDefinition<&str, u64> = TableDefinition::new("step_counts");
/// (play sid, run, seq) → Span.
pub const SPANS: TableDefinition<(&str, u32, u64), &str> = TableDefinition::new("spans");
/// (play sid, run, seq) → LogLine.
pub const LOGS: TableDefinition<(&str, u32, u64), &str> = TableDefinition::new("logs");
/// (due time in microseconds since the epoch, play sid, pause id) → (): the
/// open pauses the clock answers (a timer's `wake_at`, a pause's
/// `expires_at`), soonest first. Kept by [`crate::store::Tx::put_play`] from
/// the play's pending resumes, so the timer task reads only what is due.
pub const TIMERS: TableDefinition<(i64, &str, &str), ()> = TableDefinition::new("timers");
/// Schedule name → Schedule.
pub const SCHEDULES: TableDefinition<&str, &str> = TableDefinition::new("schedules");
/// (workflow sid, idempotency key) → play sid: the play a key already
/// started, written with the play (see `Tx::put_play`), so a key never
/// starts two plays of one workflow.
pub const IDEMPOTENCY_KEYS: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("idempotency_keys");
/// Pause token → (play sid, pause id): what `POST /v1/resume/{token}`
/// answers, written with the play whose pause got the token (see
/// `Tx::put_play`).
pub const RESUME_TOKENS: TableDefinition<&str, (&str, &str)> =
    TableDefinition::new("resume_tokens");
/// HTTP key id → `KeyRecord` (the key's digest, never the key).
pub const HTTP_KEYS: TableDefinition<&str, &str> = TableDefinition::new("http_keys");
