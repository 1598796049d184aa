//! `play_prune`: removes plays that ended long enough ago, whole (record,
//! indexes, step outputs, spans, log lines), in bounded batches so that a
//! prune of many plays never holds the store's writer for long.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{Engine, EngineError, Result, lock};
use crate::model::{Play, PlayStatus};
use crate::store::writer::Plan;

/// Plays removed in one write, at most.
const PRUNE_BATCH: usize = 200;

/// The statuses of a play that has ended.
const ENDED: [PlayStatus; 4] = [
    PlayStatus::Success,
    PlayStatus::Failed,
    PlayStatus::Cancelled,
    PlayStatus::TimedOut,
];

impl Engine {
    /// Removes the plays of `status` (any ended one when `None`) that ended
    /// more than `before_s` seconds ago; says how many. Only the plays
    /// created before that time are read: the status index is walked in
    /// creation order and stops there.
    pub async fn play_prune(&self, before_s: f64, status: Option<PlayStatus>) -> Result<u64> {
        if !before_s.is_finite() || before_s < 0.0 {
            return Err(EngineError::InvalidParams(format!(
                "before_s must be a number of seconds, 0 or more, not {before_s}"
            )));
        }
        let statuses: Vec<PlayStatus> = match status {
            Some(s) if !s.is_terminal() => {
                return Err(EngineError::InvalidParams(format!(
                    "only ended plays are pruned, and `{s}` has not ended (hint: --status success, failed, cancelled or timed_out)"
                )));
            }
            Some(s) => vec![s],
            None => ENDED.to_vec(),
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let cutoff_ms = now_ms.saturating_sub((before_s * 1000.0) as u64);
        let upper = crate::ids::sid_at(cutoff_ms);
        let cutoff = jiff::Timestamp::from_millisecond(cutoff_ms as i64)
            .map_err(|e| EngineError::InvalidParams(format!("before_s: {e}")))?;
        let mut pruned = 0u64;
        loop {
            // A play whose process is still being reaped keeps its record
            // until its run has ended.
            let running: std::collections::HashSet<String> =
                lock(&self.inner.running).keys().cloned().collect();
            let (statuses, upper) = (statuses.clone(), upper.clone());
            let removed = self
                .inner
                .writer
                .durable(move |snapshot| {
                    let mut doomed: Vec<Play> = Vec::new();
                    for status in statuses {
                        let room = PRUNE_BATCH - doomed.len();
                        if room == 0 {
                            break;
                        }
                        doomed.extend(snapshot.plays_of_status_before(
                            status,
                            &upper,
                            room,
                            |play| !running.contains(&play.sid) && ended_before(play, cutoff),
                        )?);
                    }
                    Ok::<_, EngineError>(Plan::new(move |tx| {
                        doomed.iter().try_for_each(|play| tx.delete_play(play))?;
                        Ok(doomed.len())
                    }))
                })
                .await?;
            pruned += removed as u64;
            if removed < PRUNE_BATCH {
                return Ok(pruned);
            }
        }
    }
}

fn ended_before(play: &Play, cutoff: jiff::Timestamp) -> bool {
    play.ended_at
        .as_deref()
        .and_then(|at| at.parse::<jiff::Timestamp>().ok())
        .is_some_and(|at| at < cutoff)
}
