//! The driver: stores each lifecycle transition, publishes it, and carries
//! out its effects (start a run, kill one, cascade a cancel, tell a parent).

use std::sync::Arc;

use serde_json::json;

use super::lifecycle::{self, Effect, Event, Outcome, Transition};
use super::{Engine, EngineError, Result, lock, runner};
use crate::model::{Play, PlayEvent, PlayStatus, now};

/// The pause a parent records while a spawned child it waits on is paused;
/// the engine answers it when the child ends.
pub const CHILD_PAUSE_PREFIX: &str = "child_play:";

impl Engine {
    /// Applies one lifecycle event to a play in one durable transaction, then
    /// publishes the new play and carries out the effects.
    pub(super) async fn transition(
        &self,
        sid: &str,
        event: impl FnOnce(&Play) -> Event + Send + 'static,
    ) -> Result<Transition> {
        let owned = sid.to_owned();
        let outcome = self
            .inner
            .writer
            .write(true, move |tx| {
                let Some(play) = tx.play(&owned)? else {
                    return Ok(Err(EngineError::NotFound(format!("no play with sid `{owned}`"))));
                };
                match lifecycle::apply(&play, event(&play)) {
                    Ok(t) => {
                        if t.play != play {
                            tx.put_play(Some(&play), &t.play)?;
                        }
                        Ok(Ok(t))
                    }
                    Err(refusal) => Ok(Err(refusal.into())),
                }
            })
            .await??;
        self.publish(PlayEvent::Play {
            play: Box::new(outcome.play.clone()),
        });
        self.carry_out(&outcome);
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
                Effect::NotifyParent => {
                    if let Some(parent) = t.play.parent_play_sid.clone() {
                        let engine = self.clone();
                        let child = t.play.clone();
                        tokio::spawn(async move { engine.notify_parent(&parent, &child).await });
                    }
                }
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

    /// Answers the parent's `child_play:SID` pause with the child's result,
    /// so a parent that paused on its child goes on without anyone's help.
    async fn notify_parent(&self, parent: &str, child: &Play) {
        let name = format!("{CHILD_PAUSE_PREFIX}{}", child.sid);
        let Ok(Some(parent_play)) = self.store().play(parent) else {
            return;
        };
        let Some(request) = parent_play.pending_resumes.iter().find(|r| r.name == name) else {
            return;
        };
        let payload = child_result(child);
        if let Err(e) = self.resume(parent, &request.id, payload).await {
            tracing::warn!("cannot resume parent {parent} after child {}: {e}", child.sid);
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
        let _slot = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| EngineError::Internal("the engine is shutting down".into()))?;
        let started = match self.transition(sid, |_| Event::RunStarted { at: now() }).await {
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
        let mut child = match runner::spawn(&spec) {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(e),
        };
        lock(&self.inner.running).insert(sid.clone(), child.handle());
        // A cancel that landed between the run's start and the line above
        // found no process to kill: look again now that there is one.
        if self.store().play(&sid).ok().flatten().is_some_and(|p| p.is_terminal()) {
            child.handle().kill();
        }
        let capture = self.capture_logs(&mut child, &sid, run);
        let exit = match play.timeout_s {
            Some(secs) => {
                tokio::select! {
                    status = child.wait() => status,
                    () = tokio::time::sleep(std::time::Duration::from_secs_f64(secs)) => {
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
        runner::outcome(exit, report, &stderr_tail)
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
                self.schedule(&play.sid);
            }
        }
        Ok(())
    }
}
