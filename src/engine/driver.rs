//! The driver: stores each lifecycle transition, publishes it, and carries
//! out its effects (start a run, kill one, cascade a cancel, tell a parent).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::json;

use super::lifecycle::{self, Effect, Event, Outcome, Transition};
use super::{Engine, EngineError, Result, lock, runner};
use crate::model::{Play, PlayEvent, PlayStatus, now};
use crate::store::Tx;

impl Engine {
    /// Applies one lifecycle event to a play in one durable transaction, then
    /// publishes the new play and carries out the effects.
    pub(super) async fn transition(
        &self,
        sid: &str,
        event: impl FnOnce(&Play) -> Event + Send + 'static,
    ) -> Result<Transition> {
        self.transition_with(sid, move |_, play| Ok(event(play)))
            .await
    }

    /// Like [`Engine::transition`], for an event that must look at other
    /// records in the same transaction (a pause on a child looks at the
    /// child). When the play ends and a parent is paused on it, the parent's
    /// pause is answered in that same transaction: whoever sees the child
    /// finished sees the parent going on.
    pub(super) async fn transition_with(
        &self,
        sid: &str,
        event: impl FnOnce(&Tx<'_>, &Play) -> Result<Event> + Send + 'static,
    ) -> Result<Transition> {
        let owned = sid.to_owned();
        let (outcome, parent) = self
            .inner
            .writer
            .write(true, move |tx| {
                let Some(play) = tx.play(&owned)? else {
                    return Ok(Err(EngineError::NotFound(format!(
                        "no play with sid `{owned}`"
                    ))));
                };
                let event = match event(tx, &play) {
                    Ok(e) => e,
                    Err(e) => return Ok(Err(e)),
                };
                let t = match lifecycle::apply(&play, event) {
                    Ok(t) => t,
                    Err(refusal) => return Ok(Err(refusal.into())),
                };
                if t.play != play {
                    tx.put_play(Some(&play), &t.play)?;
                }
                let parent = if t.effects.contains(&Effect::NotifyParent) {
                    answer_parent(tx, &t.play)?
                } else {
                    None
                };
                Ok(Ok((t, parent)))
            })
            .await??;
        for t in [Some(&outcome), parent.as_ref()].into_iter().flatten() {
            self.publish(PlayEvent::Play {
                play: Box::new(t.play.clone()),
            });
            self.carry_out(t);
        }
        Ok(outcome)
    }

    fn carry_out(&self, t: &Transition) {
        for effect in &t.effects {
            match effect {
                Effect::StartRun => self.schedule(&t.play.sid),
                Effect::KillRun => {
                    if let Some(handle) = lock(&self.inner.running).get(&t.play.sid) {
                        handle.kill();
                    }
                }
                Effect::CancelChildren => {
                    let engine = self.clone();
                    let sid = t.play.sid.clone();
                    tokio::spawn(async move { engine.cancel_children(&sid).await });
                }
                Effect::NotifyParent => {}
            }
        }
    }

    async fn cancel_children(&self, sid: &str) {
        let children = match self.store().children(sid) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("cannot list the children of {sid}: {e}");
                return;
            }
        };
        for child in children {
            if let Err(e) = Box::pin(self.transition(&child, |_| Event::Cancel { at: now() })).await
                && !matches!(e, EngineError::WrongState(_))
            {
                tracing::warn!("cannot cancel child {child} of {sid}: {e}");
            }
        }
    }

    /// Queues a run of the play; it starts once a run slot is free and the
    /// play's previous process has been reaped.
    pub(super) fn schedule(&self, sid: &str) {
        let engine = self.clone();
        let sid = sid.to_owned();
        tokio::spawn(async move {
            if let Err(e) = engine.run_play(&sid).await {
                tracing::warn!("run of play {sid} failed to start: {e}");
            }
        });
    }

    fn run_lock(&self, sid: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.inner.run_locks)
            .entry(sid.to_owned())
            .or_default()
            .clone()
    }

    async fn run_play(&self, sid: &str) -> Result<()> {
        let run_lock = self.run_lock(sid);
        let _one_run_at_a_time = run_lock.lock().await;
        // A spawned child does not queue for a run slot: its parent holds one
        // while it waits, and parents waiting on queued children would
        // otherwise take every slot and wait forever.
        let is_child = self.play_snapshot(sid)?.parent_play_sid.is_some();
        let _slot = if is_child {
            None
        } else {
            Some(
                self.inner
                    .permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| EngineError::Internal("the engine is shutting down".into()))?,
            )
        };
        let started = match self
            .transition(sid, |_| Event::RunStarted { at: now() })
            .await
        {
            Ok(t) => t.play,
            Err(EngineError::WrongState(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let run = started.runs;
        let outcome = match self.prepare_run(&started).await {
            Ok(spec) => self.execute(&started, spec).await,
            Err(e) => Outcome::Failed(format!("cannot start the run: {e}")),
        };
        lock(&self.inner.reports).remove(&(sid.to_owned(), run));
        self.refill_spare();
        if self.inner.shutting_down.load(Ordering::SeqCst) {
            // The server is stopping and killed this run: the play stays
            // `running`, and the next start recovers it by replay.
            return Ok(());
        }
        self.transition(sid, move |_| Event::RunEnded {
            run,
            outcome,
            at: now(),
        })
        .await?;
        runner::remove_run_files(&self.inner.config.data_dir, sid, run);
        Ok(())
    }

    /// Runs the process to its end (or its kill) and says how it went.
    async fn execute(&self, play: &Play, spec: runner::RunSpec) -> Outcome {
        let sid = play.sid.clone();
        let run = play.runs;
        let mut child = match self.start_process(&spec).await {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(e),
        };
        lock(&self.inner.running).insert(sid.clone(), child.handle());
        let pgid = child.handle().pgid();
        let owned = sid.clone();
        self.inner.writer.write_detached(move |tx| {
            if let Some(old) = tx.play(&owned)?
                && old.runs == run
                && !old.is_terminal()
            {
                let mut play = old.clone();
                play.run_pgid = Some(pgid);
                tx.put_play(Some(&old), &play)?;
            }
            Ok(())
        });
        // A cancel that landed between the run's start and the line above
        // found no process to kill: look again now that there is one.
        if self
            .store()
            .play(&sid)
            .ok()
            .flatten()
            .is_some_and(|p| p.is_terminal())
        {
            child.handle().kill();
        }
        let capture = self.capture_logs(&mut child, &sid, run);
        // A timeout a request may no longer ask for (stored by an older
        // build that let `1e20` through) is no limit, never a panic.
        let timeout = play.timeout_s.and_then(|secs| {
            crate::model::timeout_from_secs(secs)
                .inspect_err(|why| tracing::warn!("play {sid}: ignoring its timeout_s: {why}"))
                .ok()
        });
        let exit = match timeout {
            Some(timeout) => {
                tokio::select! {
                    status = child.wait() => status,
                    () = tokio::time::sleep(timeout) => {
                        let _ = self.transition(&sid, |_| lifecycle::Event::TimedOut { at: now() }).await;
                        child.wait().await
                    }
                }
            }
            None => child.wait().await,
        };
        let stderr_tail = capture.await.unwrap_or_default();
        lock(&self.inner.running).remove(&sid);
        let report = lock(&self.inner.reports).remove(&(sid, run));
        let outcome = runner::outcome(exit, report, &stderr_tail, self.inner.config.run_retries);
        if let Outcome::Died { error, .. } = &outcome {
            tracing::warn!("play {}, run {run}: {error}", play.sid);
        }
        outcome
    }
}

/// Answers a parent's `child_play:SID` pause with the child's result,
/// inside the transaction that ended the child.
fn answer_parent(tx: &Tx<'_>, child: &Play) -> crate::store::Result<Option<Transition>> {
    let Some(parent_sid) = &child.parent_play_sid else {
        return Ok(None);
    };
    let Some(parent) = tx.play(parent_sid)? else {
        return Ok(None);
    };
    let name = crate::api::child_pause_name(&child.sid);
    let Some(request) = parent.pending_resumes.iter().find(|r| r.name == name) else {
        return Ok(None);
    };
    let event = Event::Resumed {
        id: request.id.clone(),
        payload: child_result(child),
        at: now(),
    };
    match lifecycle::apply(&parent, event) {
        Ok(t) => {
            tx.put_play(Some(&parent), &t.play)?;
            Ok(Some(t))
        }
        Err(_) => Ok(None),
    }
}

impl Engine {
    /// Hands the run to the spare interpreter, or starts one cold. The next
    /// spare is started once this run has ended, not now: a starting
    /// interpreter would take a core from the run.
    async fn start_process(
        &self,
        spec: &runner::RunSpec,
    ) -> std::result::Result<runner::RunChild, String> {
        let spare = lock(&self.inner.spare).take();
        let handed = match spare {
            Some(spare) => runner::hand_over(spare, spec).await,
            None => None,
        };
        match handed {
            Some(child) => Ok(child),
            None => runner::spawn(spec),
        }
    }

    /// Starts a spare interpreter unless one waits already.
    pub(super) fn refill_spare(&self) {
        let config = &self.inner.config;
        let mut spare = lock(&self.inner.spare);
        if spare.is_some() || self.inner.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        match runner::spawn_spare(
            &config.python,
            &config.data_dir,
            &runner::pythonpath(&config.data_dir),
        ) {
            Ok(child) => *spare = Some(child),
            Err(e) => tracing::warn!("no spare interpreter: {e}"),
        }
    }
}

/// What a parent's `child_play:` pause is answered with.
pub fn child_result(child: &Play) -> serde_json::Value {
    json!({
        "status": child.status,
        "output_data": child.output_data,
        "error": child.error,
        "child_play_sid": child.sid,
    })
}

impl Engine {
    pub(super) fn recover(&self) -> Result<()> {
        for status in [PlayStatus::Running, PlayStatus::Pending] {
            let filter = crate::store::PlayFilter {
                status: Some(status),
                ..Default::default()
            };
            let mut plays = self.store().plays(&filter)?;
            plays.reverse();
            for play in plays {
                tracing::info!("recovering play {} ({})", play.sid, play.status);
                if let Some(pgid) = play.run_pgid {
                    runner::kill_leftover(pgid);
                }
                self.schedule(&play.sid);
            }
        }
        Ok(())
    }
}
