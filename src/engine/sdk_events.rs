//! What a running flow's SDK tells the engine: spans, checkpoints, pauses
//! and its result.
//!
//! A checkpoint (`step_output`) and a pause are committed durably before they
//! are acknowledged, and the SDK waits for the acknowledgement: that is what
//! "a finished step never runs again" stands on. Spans are not waited for;
//! the next durable commit carries them to disk.

use serde_json::Value;

use super::driver::{CHILD_PAUSE_PREFIX, child_result};
use super::lifecycle::Event;
use super::{Engine, EngineError, Result, lock};
use crate::model::{Play, PlayEvent, PlayStatus, ResumeRequest, Span, SpanStatus, now};
use crate::store::Tx;

/// The result a run's SDK reports just before it exits.
#[derive(Debug, Clone, PartialEq)]
pub enum RunReport {
    Success(Value),
    Failed(String),
    Paused,
}

/// The answer to a pause request.
#[derive(Debug, Clone, PartialEq)]
pub enum PauseAnswer {
    /// Answered already (by a prefill, an earlier resume or a finished child).
    Answered(Value),
    /// Recorded; the script must stop and exit 75.
    Pending,
}

/// Checks that the writer is the current run of a running play.
fn current_run(tx: &Tx<'_>, sid: &str, run: u32) -> Result<Play> {
    let Some(play) = tx.play(sid).map_err(EngineError::Store)? else {
        return Err(EngineError::NotFound(format!("no play with sid `{sid}`")));
    };
    if play.status != PlayStatus::Running || play.runs != run {
        return Err(EngineError::WrongState(format!(
            "play {sid} is {} (run {}), so run {run} may not write to it",
            play.status, play.runs
        )));
    }
    Ok(play)
}

/// The answer a pause gets without anyone asked: a prefilled payload whose
/// name or glob matches, or the result of a child that has ended.
fn answer_now(tx: &Tx<'_>, play: &Play, request: &ResumeRequest) -> Result<Option<Value>> {
    if let Some(child_sid) = request.name.strip_prefix(CHILD_PAUSE_PREFIX) {
        let child = tx
            .play(child_sid)
            .map_err(EngineError::Store)?
            .ok_or_else(|| EngineError::NotFound(format!("no child play `{child_sid}`")))?;
        return Ok(child.is_terminal().then(|| child_result(&child)));
    }
    Ok(play
        .prefill_resumes
        .iter()
        .find(|(pattern, _)| glob::Pattern::new(pattern).is_ok_and(|p| p.matches(&request.name)))
        .map(|(_, payload)| payload.clone()))
}

/// Adds a finished span's cost to its play (replayed spans were counted in
/// the run that did the work).
fn add_cost(tx: &Tx<'_>, span: &Span) -> crate::store::Result<()> {
    if span.cost_usd <= 0.0 || matches!(span.status, SpanStatus::Running | SpanStatus::Replayed) {
        return Ok(());
    }
    let mut sid = Some(span.play_sid.clone());
    while let Some(current) = sid {
        let Some(old) = tx.play(&current)? else { break };
        let mut play = old.clone();
        play.total_cost_usd += span.cost_usd;
        tx.put_play(Some(&old), &play)?;
        sid = play.parent_play_sid;
    }
    Ok(())
}

impl Engine {
    /// Stores a span without waiting. The first end of a span that carries
    /// a cost adds it to the play; nothing else needs a read first, which
    /// keeps a replay of thousands of spans cheap.
    pub fn span_event(&self, span: Span) {
        let stored = span.clone();
        self.inner.writer.write_detached(move |tx| {
            let costs = stored.cost_usd > 0.0
                && !matches!(stored.status, SpanStatus::Running | SpanStatus::Replayed);
            let first_end = costs
                && tx
                    .span(&stored.play_sid, stored.run, stored.seq())?
                    .is_none_or(|old| old.status == SpanStatus::Running);
            tx.put_span(&stored)?;
            if first_end {
                add_cost(tx, &stored)?;
            }
            Ok(())
        });
        self.publish(PlayEvent::Span {
            span: Box::new(span),
        });
    }

    pub async fn step_output(
        &self,
        sid: &str,
        run: u32,
        step_key: String,
        output: Value,
        span: Option<Span>,
    ) -> Result<()> {
        let owned = sid.to_owned();
        let stored_span = span.clone();
        self.inner
            .writer
            .write(true, move |tx| {
                let old = match current_run(tx, &owned, run) {
                    Ok(play) => play,
                    Err(refused) => return Ok(Err(refused)),
                };
                let fresh = !tx.has_step_output(&owned, &step_key)?;
                tx.put_step_output(&owned, &step_key, &output)?;
                if let Some(span) = &stored_span {
                    tx.put_span(span)?;
                    add_cost(tx, span)?;
                }
                if fresh {
                    let mut play = tx.play(&owned)?.unwrap_or(old);
                    let before = play.clone();
                    play.steps_done += 1;
                    tx.put_play(Some(&before), &play)?;
                }
                Ok(Ok(()))
            })
            .await??;
        if let Some(span) = span {
            self.publish(PlayEvent::Span {
                span: Box::new(span),
            });
        }
        Ok(())
    }

    /// Records a pause, unless something answers it already: an earlier
    /// resume, a prefilled payload whose name or glob matches, or (for a
    /// `child_play:` pause) a child that has ended. The child is looked at
    /// in the same transaction that records the pause, so a child ending at
    /// that moment either sees the pause or is seen ended.
    pub async fn pause(&self, sid: &str, run: u32, request: ResumeRequest) -> Result<PauseAnswer> {
        let t = self
            .transition_with(sid, move |tx, play| {
                if play.runs != run || play.status != PlayStatus::Running {
                    return Err(EngineError::WrongState(format!(
                        "play {} is {} (run {}), so run {run} may not pause it",
                        play.sid, play.status, play.runs
                    )));
                }
                let answer = match play.received_resumes.get(&request.id) {
                    Some(payload) => Some(payload.clone()),
                    None => answer_now(tx, play, &request)?,
                };
                Ok(match answer {
                    Some(payload) => Event::Prefilled {
                        request: ResumeRequest { payload, ..request },
                        at: now(),
                    },
                    None => Event::Paused { request },
                })
            })
            .await?;
        Ok(match t.play.status {
            PlayStatus::AwaitingResume => PauseAnswer::Pending,
            _ => PauseAnswer::Answered(
                t.play
                    .answered_resumes
                    .last()
                    .map(|r| r.payload.clone())
                    .unwrap_or(Value::Null),
            ),
        })
    }

    pub fn run_result(&self, sid: &str, run: u32, report: RunReport) {
        lock(&self.inner.reports).insert((sid.to_owned(), run), report);
    }
}
