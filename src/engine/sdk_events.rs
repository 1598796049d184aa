//! What a running flow's SDK tells the engine: spans, checkpoints, pauses
//! and its result.
//!
//! Every message comes on its run's own channel ([`RunChannel`]), and is
//! checked whole against it and against the rules of `sdk_checks.rs`
//! before anything of it is stored: a refused message stores nothing.
//! A checkpoint (`step_output`) and a pause are committed durably before they
//! are acknowledged, and the SDK waits for the acknowledgement: that is what
//! "a finished step never runs again" stands on. Spans are not waited for;
//! the next durable commit carries them to disk.

use serde_json::Value;

use super::channel::RunChannel;
use super::lifecycle::{self, Event, child_result};
use super::{Backoff, Engine, EngineError, Result, lock, sdk_checks};
use crate::api::{ReplayedStep, child_of_pause};
use crate::model::{Play, PlayEvent, PlayStatus, ResumeKind, ResumeRequest, Span, SpanStatus, now};
use crate::store::writer::{Plan, always};
use crate::store::{Checkpoint, Snapshot, SpanText, Tx};

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
    /// Its deadline passed with no default: the flow raises
    /// `PauseTimeout` at it.
    TimedOut,
}

/// Refuses a write from anything but the current run of a running play
/// ([`lifecycle::check_run`]), given the play's status and current run.
pub(super) fn check_run(sid: &str, run: u32, found: Option<(PlayStatus, u32)>) -> Result<()> {
    let Some(found) = found else {
        return Err(EngineError::NotFound(format!("no play with sid `{sid}`")));
    };
    Ok(lifecycle::check_run(sid, found, run, "write to it")?)
}

/// The answer a pause gets without anyone asked: a prefilled payload whose
/// name or glob matches, or the result of a child that has ended.
fn answer_now(
    snapshot: &Snapshot<'_>,
    play: &Play,
    request: &ResumeRequest,
) -> Result<Option<Value>> {
    if let Some(child_sid) = child_of_pause(&request.name) {
        let child = snapshot
            .play(child_sid)
            .map_err(EngineError::Store)?
            .ok_or_else(|| EngineError::NotFound(format!("no child play `{child_sid}`")))?;
        // Only this play's own child answers such a pause: waiting on
        // another would read its result, and never be answered.
        if child.parent_play_sid.as_deref() != Some(play.sid.as_str()) {
            return Err(EngineError::InvalidParams(format!(
                "pause `{}`: play {child_sid} is not a child of play {}",
                request.name, play.sid
            )));
        }
        return Ok(child.is_terminal().then(|| child_result(&child)));
    }
    // A prefill answers pauses, not the clock's timers: `{"*": true}` must
    // not cut a sleep short.
    if request.kind == ResumeKind::Timer {
        return Ok(None);
    }
    Ok(play
        .prefill_resumes
        .iter()
        .find(|(pattern, _)| glob::Pattern::new(pattern).is_ok_and(|p| p.matches(&request.name)))
        .map(|(_, payload)| payload.clone()))
}

/// A step's checkpoint as its run sent it, checked: what each attempt to
/// store it takes.
#[derive(Clone)]
struct StepCheckpoint {
    step_key: String,
    output: String,
    span: Option<SpanRecord>,
}

/// A span as the SDK sent it, checked: its JSON text, stored as it came,
/// and the few fields the engine needs to store it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    play_sid: String,
    run: u32,
    seq: u64,
    status: SpanStatus,
    cost_usd: f64,
    text: SpanText,
}

impl SpanRecord {
    /// Decodes a span's JSON text as a [`Span`] and checks it against the
    /// channel it came on; gives back the span for subscribers.
    pub fn checked(text: String, channel: &RunChannel) -> Result<(SpanRecord, Span)> {
        let (span, text) = SpanText::decode(text)
            .map_err(|e| EngineError::InvalidParams(format!("invalid span: {e}")))?;
        let seq = sdk_checks::span(&span, channel)?;
        let record = SpanRecord {
            play_sid: span.play_sid.clone(),
            run: span.run,
            seq,
            status: span.status,
            cost_usd: span.cost_usd,
            text,
        };
        Ok((record, span))
    }

    /// Whether this write may add a cost to the play: a fresh span's end.
    fn may_cost(&self) -> bool {
        self.cost_usd > 0.0 && !matches!(self.status, SpanStatus::Running | SpanStatus::Replayed)
    }

    /// Stores the span; the first end of a span that carries a cost adds it
    /// to its play and every ancestor play. It reads what it adds to as it
    /// writes: spans written together in one job may add to the same plays.
    fn store(&self, tx: &Tx<'_>) -> crate::store::Result<()> {
        let first_end = self.may_cost()
            && tx
                .read()
                .span(&self.play_sid, self.run, self.seq)?
                .is_none_or(|old| old.status == SpanStatus::Running);
        tx.put_span_json(&self.play_sid, self.run, self.seq, &self.text)?;
        if first_end {
            let mut sid = Some(self.play_sid.clone());
            while let Some(current) = sid {
                let Some(old) = tx.read().play(&current)? else {
                    break;
                };
                let mut play = old.clone();
                play.total_cost_usd += self.cost_usd;
                tx.put_play(Some(&old), &play)?;
                sid = play.parent_play_sid;
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Stores the spans of steps a run replayed. The SDK sends only what
    /// differs from the run that did the work; the span's inputs, output and
    /// source are filled in when spans are read (see `play_spans`), so a
    /// replay of thousands of steps costs little on either side.
    pub fn spans_replayed(
        &self,
        channel: &RunChannel,
        at: &str,
        items: Vec<ReplayedStep>,
    ) -> Result<()> {
        sdk_checks::timestamp("at", at)?;
        for step in &items {
            sdk_checks::replayed(
                step.seq,
                step.parent_id.as_deref(),
                &step.step_key,
                step.child_play_sid.as_deref(),
                &step.name,
                channel,
            )?;
        }
        let (sid, run) = (channel.play_sid(), channel.run());
        let spans: Vec<Span> = items
            .into_iter()
            .map(|step| Span {
                id: format!("{run}.{}", step.seq),
                play_sid: sid.to_owned(),
                run,
                parent_id: step.parent_id,
                name: step.name,
                kind: step.kind,
                status: SpanStatus::Replayed,
                started_at: at.to_owned(),
                ended_at: Some(at.to_owned()),
                duration_ms: Some(0.0),
                inputs: Value::Null,
                output: Value::Null,
                error: None,
                source_file: None,
                source_line: None,
                step_key: Some(step.step_key),
                child_play_sid: step.child_play_sid,
                cost_usd: 0.0,
                attempt: None,
            })
            .collect();
        if self.inner.events.receiver_count() > 0 {
            for span in &spans {
                self.publish(PlayEvent::Span {
                    span: Box::new(span.clone()),
                });
            }
        }
        self.inner
            .writer
            .deferred(always(move |tx| {
                spans.iter().try_for_each(|span| tx.put_span(span))
            }))
            .queue();
        Ok(())
    }

    /// Tells subscribers of a span, when someone listens.
    fn publish_span(&self, span: Span) {
        if self.inner.events.receiver_count() > 0 {
            self.publish(PlayEvent::Span {
                span: Box::new(span),
            });
        }
    }

    /// Checks a span's JSON text and stores it without waiting. Spans that
    /// arrive while the writer is busy wait in one queue and are written by
    /// one job, so a replay of thousands of spans costs a few writes.
    pub fn span_event(&self, channel: &RunChannel, text: String) -> Result<()> {
        let (record, span) = SpanRecord::checked(text, channel)?;
        self.publish_span(span);
        let queue = self.inner.span_queue.clone();
        let first = {
            let mut waiting = lock(&queue);
            waiting.push(record);
            waiting.len() == 1
        };
        if first {
            self.inner
                .writer
                .deferred(always(move |tx| {
                    let spans = std::mem::take(&mut *lock(&queue));
                    spans.iter().try_for_each(|span| span.store(tx))
                }))
                .queue();
        }
        Ok(())
    }

    /// A step's checkpoint: durable in the journal before this returns,
    /// which is when the SDK lets the flow go on. Blocks for the fsync, on
    /// the caller's thread. Only the check and the journal record come
    /// before the answer; the step's output, count and span are written
    /// while the flow goes on (see [`Tx::checkpoint`]), so the caller
    /// should [`Engine::catch_up`] once it has answered.
    ///
    /// `output` and `span` are JSON text as the SDK sent them; both are
    /// checked whole before anything is written, and the span must be the
    /// step's own.
    pub fn step_output(
        &self,
        channel: &RunChannel,
        step_key: String,
        output: String,
        span: Option<String>,
    ) -> Result<()> {
        sdk_checks::step_key(&step_key)?;
        sdk_checks::output(&output)?;
        let span = match span {
            None => None,
            Some(text) => {
                let (record, span) = SpanRecord::checked(text, channel)?;
                if span.step_key.as_deref() != Some(step_key.as_str()) {
                    return Err(EngineError::InvalidParams(format!(
                        "the span of checkpoint {step_key} is not that step's (its step_key: {})",
                        span.step_key.as_deref().unwrap_or("none")
                    )));
                }
                Some((record, span))
            }
        };
        let (stored_span, published) = match span {
            Some((record, span)) => (Some(record), Some(span)),
            None => (None, None),
        };
        let step = StepCheckpoint {
            step_key,
            output,
            span: stored_span,
        };
        if self.on_postgres() {
            self.checkpoint_until_stored(channel, step)?;
        } else {
            self.store_checkpoint(channel, step)?;
        }
        if let Some(span) = published {
            self.publish_span(span);
        }
        Ok(())
    }

    /// A checkpoint on PostgreSQL, written again while the database is out
    /// of reach ([`Engine::out_of_reach`]). A retry is the same fenced
    /// statement, so it neither counts twice nor lands in a run another
    /// worker took over meanwhile (it is refused then).
    fn checkpoint_until_stored(&self, channel: &RunChannel, step: StepCheckpoint) -> Result<()> {
        let mut backoff = Backoff::new();
        loop {
            match self.store_checkpoint(channel, step.clone()) {
                Err(e) if self.out_of_reach(&e) => {
                    tracing::warn!(
                        "play {}: its checkpoint is written again: {e}",
                        channel.play_sid()
                    );
                    std::thread::sleep(backoff.next());
                }
                done => return done,
            }
        }
    }

    /// One attempt at a step's checkpoint (see [`Engine::step_output`]).
    fn store_checkpoint(&self, channel: &RunChannel, step: StepCheckpoint) -> Result<()> {
        let StepCheckpoint {
            step_key,
            output,
            span: stored_span,
        } = step;
        let owned = channel.play_sid().to_owned();
        let run = channel.run();
        let costly = stored_span.as_ref().is_some_and(SpanRecord::may_cost);
        let sid = channel.play_sid();
        let write = self.inner.writer.durable(move |snapshot| {
            // A span with a cost adds it to plays as it is written: its
            // run is checked before, not by the checkpoint's own write.
            let found = if costly {
                snapshot.play_state(&owned)?
            } else {
                snapshot.checkpoint_state(&owned, run)?
            };
            check_run(&owned, run, found)?;
            Ok::<_, EngineError>(Plan::new(move |tx| {
                // A cost is journaled with its checkpoint, so a crash can
                // neither lose it nor, the step replayed, count it twice.
                let mut span = None;
                if let Some(record) = stored_span {
                    if costly {
                        record.store(tx)?;
                    } else {
                        span = Some((record.seq, record.text));
                    }
                }
                let checkpoint = Checkpoint {
                    play_sid: owned.clone(),
                    run,
                    step_key,
                    output,
                    span,
                };
                tx.checkpoint(checkpoint)
            }))
        });
        if costly { write.reads_play(sid) } else { write }.wait()?;
        self.note_progress(sid);
        Ok(())
    }

    /// Records a pause, unless something answers it already: an earlier
    /// resume, a prefilled payload whose name or glob matches, or (for a
    /// `child_play:` pause) a child that has ended. The child is looked at
    /// in the same transaction that records the pause, so a child ending at
    /// that moment either sees the pause or is seen ended.
    ///
    /// The request is checked first: a pause whose schema does not compile
    /// is refused here, where the flow asks it, naming the pause, rather
    /// than refusing every answer later.
    pub async fn pause(
        &self,
        channel: &RunChannel,
        mut request: ResumeRequest,
    ) -> Result<PauseAnswer> {
        sdk_checks::pause(&request, channel)?;
        request.token = Some(Engine::new_pause_token()?);
        let run = channel.run();
        let id = request.id.clone();
        // Asked again while PostgreSQL is out of reach, as a checkpoint is.
        let mut backoff = Backoff::new();
        let t = loop {
            let request = request.clone();
            let asked = self.transition_with(channel.play_sid(), move |snapshot, play| {
                if lifecycle::already_paused(play, run, &request) {
                    return Ok(Event::Paused { run, request });
                }
                lifecycle::check_run(&play.sid, (play.status, play.runs), run, "pause it")?;
                let at = now();
                let answer = match play.received_resumes.get(&request.id) {
                    Some(payload) => Some((payload.clone(), None)),
                    None => match answer_now(snapshot, play, &request)? {
                        Some(payload) => Some((payload, None)),
                        // Its time passed already (a replay after the
                        // deadline, a wake time a restart overslept):
                        // the clock answers it here, in this transaction.
                        None => lifecycle::expiry(&request)
                            .filter(|_| lifecycle::is_due(&request, &at))
                            .map(|(payload, by)| (payload, Some(by.to_owned()))),
                    },
                };
                Ok(match answer {
                    Some((payload, by)) => Event::Prefilled {
                        run,
                        request: ResumeRequest {
                            payload,
                            by,
                            ..request
                        },
                        at,
                    },
                    None => Event::Paused { run, request },
                })
            });
            match asked.await {
                Err(e) if self.out_of_reach(&e) => {
                    tracing::warn!("play {}: its pause is asked again: {e}", channel.play_sid());
                    tokio::time::sleep(backoff.next()).await;
                }
                done => break done?,
            }
        };
        if t.play.status == PlayStatus::AwaitingResume {
            let asked = t.play.pending_resumes.iter().find(|r| r.id == id);
            if let Some(due) = asked.and_then(|r| r.due_at()) {
                self.timer_added(due);
            }
            return Ok(PauseAnswer::Pending);
        }
        Ok(match t.play.answered_resumes.last() {
            Some(r) if lifecycle::raised_timeout(r) => PauseAnswer::TimedOut,
            Some(r) => PauseAnswer::Answered(r.payload.clone()),
            None => PauseAnswer::Answered(Value::Null),
        })
    }

    /// Keeps what the run reported until its process has exited.
    pub fn run_result(&self, channel: &RunChannel, report: RunReport) -> Result<()> {
        if let RunReport::Failed(error) = &report {
            sdk_checks::error_text(error)?;
        }
        lock(&self.inner.reports).insert((channel.play_sid().to_owned(), channel.run()), report);
        Ok(())
    }
}
