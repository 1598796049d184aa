//! A step's checkpoint on PostgreSQL, fenced: written only while its run is
//! its play's current one, checked in the statement itself with the play's
//! row locked (a takeover that commits first is seen; one that comes after
//! waits for this transaction). Each statement returns, for every
//! checkpoint in it, the play's status and run, which the writer's
//! connection checks once the batch is sent (`pipeline.rs`).
//!
//! The checkpoints of one batch (concurrent flows sharing a commit) are
//! written by one statement over arrays, not one statement each: a
//! statement's own cost (its parse, plan and row locks, each once) is most
//! of what a small checkpoint costs the database, and with eight flows the
//! database's CPU is what runs out first (figures in BENCHMARKS.md). A
//! lone checkpoint keeps its plain statement.

use super::pipeline::{Param, params};
use crate::store::Checkpoint;

/// One more step done for play `$1` when the checkpoint `o` stored was its
/// step's first (`fresh`), in `play_steps` (schema 3).
macro_rules! count_step {
    () => {
        "(INSERT INTO play_steps (sid, n) SELECT $1, 1 WHERE (SELECT fresh FROM o) \
         ON CONFLICT (sid) DO UPDATE SET n = play_steps.n + 1)"
    };
}
pub(super) use count_step;

/// A checkpoint of run `$4`: the output stored, and one more step done for
/// its play when the step had none (`fresh`), in one statement that
/// returns the play's status and run; `$more` are further writes of the
/// statement, fenced alike (`FROM f WHERE …`).
macro_rules! fenced_checkpoint {
    ($($more:literal),*) => {
        concat!(
            "WITH f AS (SELECT status, runs FROM plays WHERE sid = $1 FOR UPDATE), \
             o AS (INSERT INTO step_outputs (play_sid, step_key, output) \
                 SELECT $1, $2, $3 FROM f WHERE f.status = 'running' AND f.runs = $4 \
                 ON CONFLICT (play_sid, step_key) DO UPDATE SET output = EXCLUDED.output \
                 RETURNING (xmax = 0) AS fresh), \
             c AS ",
            count_step!(),
            $($more,)*
            " SELECT status, runs FROM f"
        )
    };
}

const FENCED_CHECKPOINT: &str = fenced_checkpoint!();

/// [`FENCED_CHECKPOINT`] and the step's span (seq `$5`, text `$6`): a stale
/// run's step leaves no trace.
const FENCED_CHECKPOINT_SPAN: &str = fenced_checkpoint!(
    ", s AS (INSERT INTO spans (play_sid, run, seq, span) \
     SELECT $1, $4, $5, $6 FROM f WHERE f.status = 'running' AND f.runs = $4 \
     ON CONFLICT (play_sid, run, seq) DO UPDATE SET span = EXCLUDED.span)"
);

/// Checkpoints of distinct plays, given as arrays (sids, step keys,
/// outputs, runs, span seqs and texts, `NULL` where a checkpoint has no
/// span), fenced one by one as [`FENCED_CHECKPOINT_SPAN`] is. The plays'
/// rows are locked in sid order, as every locker of several plays takes
/// them. Returns one row per checkpoint, by its place in the arrays
/// (from 1): the status and run of its play (`NULL` for a play not found).
/// Public for the least server of `benches/bound.rs`, which writes each
/// batch with it to measure what the database allows the eight-flow row.
pub const FENCED_CHECKPOINTS: &str = "\
    WITH i AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], \
                                    $5::bigint[], $6::text[]) \
                   WITH ORDINALITY AS i(sid, step_key, output, run, seq, span, n)), \
    f AS (SELECT sid, status, runs FROM plays WHERE sid = ANY($1) ORDER BY sid FOR UPDATE), \
    ok AS (SELECT i.* FROM i JOIN f ON f.sid = i.sid \
           WHERE f.status = 'running' AND f.runs = i.run), \
    o AS (INSERT INTO step_outputs (play_sid, step_key, output) \
          SELECT sid, step_key, output FROM ok \
          ON CONFLICT (play_sid, step_key) DO UPDATE SET output = EXCLUDED.output \
          RETURNING play_sid, (xmax = 0) AS fresh), \
    c AS (INSERT INTO play_steps (sid, n) SELECT play_sid, 1 FROM o WHERE fresh \
          ON CONFLICT (sid) DO UPDATE SET n = play_steps.n + 1), \
    s AS (INSERT INTO spans (play_sid, run, seq, span) \
          SELECT sid, run, seq, span FROM ok WHERE span IS NOT NULL \
          ON CONFLICT (play_sid, run, seq) DO UPDATE SET span = EXCLUDED.span) \
    SELECT i.n, f.status, f.runs FROM i LEFT JOIN f ON f.sid = i.sid";

/// A statement that writes checkpoints, and the checkpoints' places in
/// what it returns: each of its rows says `(status, runs)` of one play.
pub(super) struct Statement {
    pub sql: &'static str,
    pub params: Vec<Param>,
    /// Whether the rows lead with the checkpoint's place (from 1): a
    /// statement of several.
    pub numbered: bool,
}

/// A play's sequence numbers as PostgreSQL's bigint: spans and log lines
/// count far below 2^63.
pub(super) fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One statement for checkpoints of distinct plays, in their order.
pub(super) fn statement(mut checkpoints: Vec<Checkpoint>) -> Statement {
    if checkpoints.len() == 1 {
        let c = checkpoints.pop().expect("one checkpoint");
        let run = i64::from(c.run);
        let (sql, params) = match c.span {
            None => (
                FENCED_CHECKPOINT,
                params![c.play_sid, c.step_key, c.output, run],
            ),
            Some((seq, span)) => (
                FENCED_CHECKPOINT_SPAN,
                params![
                    c.play_sid,
                    c.step_key,
                    c.output,
                    run,
                    big(seq),
                    span.into_string()
                ],
            ),
        };
        return Statement {
            sql,
            params,
            numbered: false,
        };
    }
    let n = checkpoints.len();
    let (mut sids, mut keys, mut outputs) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut runs, mut seqs, mut spans) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for c in checkpoints {
        sids.push(c.play_sid);
        keys.push(c.step_key);
        outputs.push(c.output);
        runs.push(i64::from(c.run));
        let (seq, span) = c
            .span
            .map(|(seq, span)| (big(seq), span.into_string()))
            .unzip();
        seqs.push(seq);
        spans.push(span);
    }
    Statement {
        sql: FENCED_CHECKPOINTS,
        params: params![sids, keys, outputs, runs, seqs, spans],
        numbered: true,
    }
}
