//! The driver: stores each lifecycle transition, publishes it, and carries
//! out its effects (start a run, kill one, cascade a cancel, wake a parent).
//!
//! Invariant: the driver decides nothing the lifecycle decides; an effect it
//! cannot carry out is returned or logged at error level, never dropped.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::lifecycle::{self, Effect, Event, Outcome, Transition};
use super::{Backoff, Engine, EngineError, Result, lock, runner};
use crate::model::{LogLine, LogStream, Play, PlayEvent, PlayStatus, now};
use crate::store::writer::Plan;
use crate::store::{Snapshot, StoreError};

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

    /// A run's own transition (its start, its end), tried again while the
    /// store cannot write (a full disk, a database out of reach), with
    /// waits of 0.1 s doubling to 5 s. Nobody waits on it to hear an
    /// error: given up, it would leave the play `pending` or `running`
    /// with no run until the server restarted. A server that stops gives
    /// up; its next start recovers the play by replay.
    async fn transition_until_stored(
        &self,
        sid: &str,
        sync: Sync,
        event: impl Fn(&Play) -> Event + Clone + Send + 'static,
    ) -> Result<Transition> {
        let mut backoff = Backoff::new();
        loop {
            let event = event.clone();
            match self
                .transition_as(sid, sync, move |_, play| Ok(event(play)))
                .await
            {
                Err(EngineError::Store(e))
                    if e.is_transient() && !self.inner.shutting_down.load(Ordering::SeqCst) =>
                {
                    tokio::time::sleep(backoff.next()).await;
                }
                done => return done,
            }
        }
    }

    /// Like [`Engine::transition`], for an event that must look at other
    /// records in the same transaction (a pause on a child looks at the
    /// child). When the play ends ([`Effect::NotifyParent`]), the parent the
    /// lifecycle wakes ([`lifecycle::wake_parent`]) is written in that same
    /// transaction: whoever sees the child finished sees the parent going
    /// on. Everything is decided before anything is written, so a refused
    /// event writes nothing.
    pub(super) async fn transition_with(
        &self,
        sid: &str,
        event: impl FnOnce(&Snapshot<'_>, &Play) -> Result<Event> + Send + 'static,
    ) -> Result<Transition> {
        self.transition_as(sid, Sync::Durable, event).await
    }

    async fn transition_as(
        &self,
        sid: &str,
        sync: Sync,
        event: impl FnOnce(&Snapshot<'_>, &Play) -> Result<Event> + Send + 'static,
    ) -> Result<Transition> {
        let owned = sid.to_owned();
        let check = move |snapshot: &Snapshot<'_>| {
            let Some(play) = snapshot.play(&owned)? else {
                return Err(EngineError::NotFound(format!("no play with sid `{owned}`")));
            };
            let t = lifecycle::apply(&play, event(snapshot, &play)?)?;
            let parent = if t.effects.contains(&Effect::NotifyParent) {
                woken_parent(snapshot, &t.play)?
            } else {
                None
            };
            Ok(Plan::new(move |tx| {
                if t.play != play {
                    tx.put_play(Some(&play), &t.play)?;
                }
                if let Some(Woken {
                    old,
                    woken: Ok(woken),
                }) = &parent
                {
                    tx.put_play(Some(old), &woken.play)?;
                }
                Ok((t, parent))
            }))
        };
        let (t, parent) = match sync {
            Sync::Durable => self.inner.writer.durable(check).reads_play(sid).await?,
            Sync::Committed => self.inner.writer.deferred(check).reads_play(sid).await?,
        };
        self.publish(PlayEvent::Play {
            play: Box::new(t.play.clone()),
        });
        self.carry_out(&t, parent);
        Ok(t)
    }

    /// Carries out a stored transition's effects. `parent` is what
    /// [`Effect::NotifyParent`] found in the transaction.
    pub(super) fn carry_out(&self, t: &Transition, mut parent: Option<Woken>) {
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
                Effect::NotifyParent => match parent.take().map(|p| p.woken) {
                    Some(Ok(woken)) => {
                        self.publish(PlayEvent::Play {
                            play: Box::new(woken.play.clone()),
                        });
                        self.carry_out(&woken, None);
                    }
                    // The parent awaited this child and cannot go on: no
                    // caller waits for this, so the parent's log says it.
                    Some(Err(refusal)) => {
                        if let Some(parent) = &t.play.parent_play_sid {
                            self.note_failure(
                                parent,
                                format!("child play {} ended, but this play cannot take its result: {refusal}", t.play.sid),
                            );
                        }
                    }
                    None => {}
                },
            }
        }
    }

    async fn cancel_children(&self, sid: &str) {
        let children = match self.store().children(sid) {
            Ok(c) => c,
            Err(e) => {
                self.note_failure(sid, format!("cannot list its children to cancel them: {e}"));
                return;
            }
        };
        for child in children {
            if let Err(e) = Box::pin(self.transition(&child, |_| Event::Cancel { at: now() })).await
                && !matches!(e, EngineError::WrongState(_))
            {
                self.note_failure(sid, format!("cannot cancel its child {child}: {e}"));
            }
        }
    }

    /// An effect on play `sid` that could not be carried out, with nobody
    /// waiting to hear it: logged at error level and added to the play's
    /// log lines, where `play logs` and the dashboard show it.
    fn note_failure(&self, sid: &str, what: String) {
        tracing::error!("play {sid}: {what}");
        let sid_read = sid;
        let sid = sid.to_owned();
        self.inner
            .writer
            .deferred(move |snapshot| {
                let Some(play) = snapshot.play(&sid)? else {
                    return Ok::<_, StoreError>(Plan::nothing(()));
                };
                let line = LogLine {
                    run: play.runs,
                    seq: snapshot.last_log_seq(&sid)?.map_or(1, |seq| seq + 1),
                    stream: LogStream::Stderr,
                    line: format!("[hero_logic: {what}]"),
                    at: now(),
                };
                Ok(Plan::new(move |tx| tx.put_log(&sid, &line)))
            })
            .reads_play(sid_read)
            .queue();
    }

    /// Queues a run of the play; it starts once a run slot is free and the
    /// play's previous process has been reaped.
    pub(super) fn schedule(&self, sid: &str) {
        let engine = self.clone();
        let sid = sid.to_owned();
        tokio::spawn(async move {
            if let Err(e) = engine.run_play(&sid).await {
                engine.note_failure(&sid, format!("its run failed to start: {e}"));
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
        let one_run_at_a_time = run_lock.lock().await;
        let ran = self.run_play_locked(sid).await;
        drop(one_run_at_a_time);
        self.forget_run_lock(sid, run_lock);
        ran
    }

    /// Drops a play's run lock from the map once nobody else holds or
    /// waits for it, so that the map holds the plays running or queued, not
    /// every play the server ever ran.
    fn forget_run_lock(&self, sid: &str, run_lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = lock(&self.inner.run_locks);
        // Ours and the map's: anyone else took a clone under this mutex.
        if Arc::strong_count(&run_lock) == 2 {
            locks.remove(sid);
        }
    }

    async fn run_play_locked(&self, sid: &str) -> Result<()> {
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
        // Answered once committed rather than durable: nobody is told of a
        // run's start. The journal is written in order, so the run's first
        // checkpoint (or any later durable write) makes it durable too; a
        // crash before that leaves the play `pending` or `running`, and
        // either is recovered by a new run. So a start costs no fsync of
        // its own.
        let started = match self
            .transition_until_stored(sid, Sync::Committed, |_| Event::RunStarted { at: now() })
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
        if self.inner.shutting_down.load(Ordering::SeqCst) {
            // The server is stopping and killed this run: the play stays
            // `running`, and the next start recovers it by replay.
            return Ok(());
        }
        self.transition_until_stored(sid, Sync::Durable, move |_| Event::RunEnded {
            run,
            outcome: outcome.clone(),
            at: now(),
        })
        .await?;
        // On a blocking thread, under the run lock still: the unlinks go on
        // beside the answer to whoever waited for this play, not before it
        // (a quarter of a millisecond on a disk), and the play's next run
        // makes its folder again only after.
        let (engine, owned) = (self.clone(), sid.to_owned());
        let _ = tokio::task::spawn_blocking(move || engine.inner.run_files.remove(&owned)).await;
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
        self.inner
            .writer
            .deferred(move |snapshot| {
                let plan = match snapshot.play(&owned)? {
                    Some(old) if old.runs == run && !old.is_terminal() => {
                        let mut play = old.clone();
                        play.run_pgid = Some(pgid);
                        Plan::new(move |tx| tx.put_play(Some(&old), &play))
                    }
                    _ => Plan::nothing(()),
                };
                Ok::<_, StoreError>(plan)
            })
            .reads_play(&sid)
            .queue();
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

/// How a transition's write is answered.
#[derive(Clone, Copy)]
enum Sync {
    /// Once durable: the state someone is told of.
    Durable,
    /// Once committed: readers see it, and the next durable write takes it
    /// to disk.
    Committed,
}

/// A parent that a child's end wakes, as it was and as the lifecycle
/// decided, or why it cannot be woken.
pub(super) struct Woken {
    old: Play,
    woken: std::result::Result<Transition, lifecycle::Refusal>,
}

/// The parent `child`'s end wakes, read in the transaction that ends it.
fn woken_parent(snapshot: &Snapshot<'_>, child: &Play) -> Result<Option<Woken>> {
    let Some(parent_sid) = &child.parent_play_sid else {
        return Ok(None);
    };
    let Some(old) = snapshot.play(parent_sid)? else {
        return Ok(None);
    };
    Ok(match lifecycle::wake_parent(&old, child, now()) {
        Ok(None) => None,
        Ok(Some(t)) => Some(Woken { old, woken: Ok(t) }),
        Err(refusal) => Some(Woken {
            old,
            woken: Err(refusal),
        }),
    })
}

impl Engine {
    /// Forks the run from the zygote, or starts it cold when none is ready
    /// within a cold start's time.
    async fn start_process(
        &self,
        spec: &runner::RunSpec,
    ) -> std::result::Result<runner::RunChild, String> {
        // The run locks are the plays running or queued to run: with more
        // than this one, the next start will not wait for this run to end.
        let busy = lock(&self.inner.run_locks).len() > 1;
        match self.inner.forks.start(spec, busy).await {
            Some(child) => Ok(child),
            None => runner::spawn(spec),
        }
    }
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
