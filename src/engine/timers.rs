//! The timer task: answers the pauses the clock answers (a timer's
//! `wake_at`, a pause's `expires_at`) when their time comes.
//!
//! Timers live in the store's sorted index (`timers`, kept by
//! `Tx::put_play` in the very write that records or answers the pause), so
//! nothing here polls over plays and nothing is lost by a crash. One task
//! sleeps until the first entry is due, woken early when an earlier one is
//! added ([`Engine::timer_added`]); it fires every due entry, up to
//! [`FIRE_AT_ONCE`] at a time, so that their writes share fsyncs. At server
//! start it fires at once what came due while the server was down.
//!
//! Invariant: a fire is one lifecycle transition ([`Event::Expired`]) in
//! one write, which the writer serialises with every answer: of an answer
//! and a deadline exactly one wins, and the loser is refused. A fired entry
//! whose pause the play can no longer take (answered, ended) is removed in
//! that same write.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use super::lifecycle::{self, Event, Refusal, Transition};
use super::{Engine, EngineError};
use crate::model::{PlayEvent, PlayStatus, now};
use crate::store::due_micros;
use crate::store::writer::Plan;

/// Entries read from the index at once, and fired at once at most.
const FIRE_AT_ONCE: usize = 512;
/// The longest the task sleeps without looking at the index again: a wall
/// clock set forward wakes timers at most this late. One read of the
/// index's first entries, not a poll over plays.
const LONGEST_NAP: Duration = Duration::from_secs(60);
/// While the task reads the index: any timer added then wakes it again.
const SCANNING: i64 = i64::MIN;

/// The timer task's shared state.
pub(super) struct Timers {
    wake: Notify,
    /// The due time (µs since the epoch) the task sleeps until, `i64::MAX`
    /// when no timer is set, [`SCANNING`] while it reads the index.
    next: AtomicI64,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            wake: Notify::new(),
            next: AtomicI64::new(SCANNING),
        }
    }
}

/// What one fire did.
enum Fired {
    /// The play took the clock's answer.
    Woke(Box<Transition>),
    /// The pause is the clock's but not due yet (the index and the play's
    /// time differ by rounding): the entry stays.
    NotYet,
    /// The play can no longer take it: the entry was removed.
    Stale,
}

impl Engine {
    /// A pause the clock answers at `due` was recorded: wakes the task when
    /// that is sooner than what it sleeps until.
    pub(super) fn timer_added(&self, due: &str) {
        let Some(due) = due_micros(due) else {
            return;
        };
        let timers = &self.inner.timers;
        let next = timers.next.load(Ordering::SeqCst);
        if next == SCANNING || due < next {
            timers.wake.notify_one();
        }
    }

    /// Timers may have been added or answered unseen: the task reads them
    /// all again.
    pub(super) fn timers_changed(&self) {
        self.inner.timers.wake.notify_one();
    }

    /// Starts the timer task.
    pub(super) fn start_timers(&self) {
        let engine = self.clone();
        tokio::spawn(async move { engine.run_timers().await });
    }

    async fn run_timers(self) {
        let timers = &self.inner.timers;
        loop {
            if self.inner.shutting_down.load(Ordering::SeqCst) {
                return;
            }
            timers.next.store(SCANNING, Ordering::SeqCst);
            let entries = match self.store().timers(FIRE_AT_ONCE) {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::error!("cannot read the timers: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let now_us = jiff::Timestamp::now().as_microsecond();
            let due: Vec<_> = entries
                .iter()
                .take_while(|(at, _, _)| *at <= now_us)
                .cloned()
                .collect();
            if !due.is_empty() {
                if self.fire_timers(due).await {
                    continue;
                }
                // Only entries not due by a rounding: look again shortly.
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            let next = entries.first().map_or(i64::MAX, |(at, _, _)| *at);
            let nap = u64::try_from(next.saturating_sub(now_us))
                .map(Duration::from_micros)
                .unwrap_or_default()
                .min(LONGEST_NAP);
            let woken = timers.wake.notified();
            timers.next.store(next, Ordering::SeqCst);
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// Fires `due`, [`FIRE_AT_ONCE`] at a time; says whether any entry
    /// left the index.
    async fn fire_timers(&self, due: Vec<(i64, String, String)>) -> bool {
        let permits = std::sync::Arc::new(Semaphore::new(FIRE_AT_ONCE));
        let mut fires = JoinSet::new();
        for (at, sid, id) in due {
            let engine = self.clone();
            let permits = permits.clone();
            fires.spawn(async move {
                let _permit = permits.acquire_owned().await;
                engine.fire_timer(at, sid, id).await
            });
        }
        let mut moved = false;
        while let Some(fired) = fires.join_next().await {
            moved |= !matches!(fired, Ok(false));
        }
        moved
    }

    /// Answers pause `id` of play `sid` by the clock, or removes its stale
    /// entry; says whether the entry left the index.
    async fn fire_timer(&self, due: i64, sid: String, id: String) -> bool {
        let owned = sid.clone();
        let fired = self
            .inner
            .writer
            .durable(move |snapshot| {
                let Some(play) = snapshot.play(&owned)? else {
                    return Ok::<_, EngineError>(stale(due, owned, id));
                };
                let event = Event::Expired {
                    id: id.clone(),
                    at: now(),
                };
                Ok(match lifecycle::apply(&play, event) {
                    Ok(t) => Plan::new(move |tx| {
                        tx.put_play(Some(&play), &t.play)?;
                        Ok(Fired::Woke(Box::new(t)))
                    }),
                    Err(Refusal::WrongState { .. })
                        if play.status == PlayStatus::AwaitingResume
                            && play.pending_resumes.iter().any(|r| r.id == id) =>
                    {
                        Plan::nothing(Fired::NotYet)
                    }
                    Err(_) => stale(due, owned, id),
                })
            })
            .reads_play(&sid)
            .await;
        match fired {
            Ok(Fired::Woke(t)) => {
                self.publish(PlayEvent::Play {
                    play: Box::new(t.play.clone()),
                });
                self.carry_out(&t, None);
                true
            }
            Ok(Fired::NotYet) => false,
            Ok(Fired::Stale) => true,
            Err(e) => {
                tracing::error!("play {sid}: its timer could not fire: {e}");
                false
            }
        }
    }
}

/// The plan that removes a stale entry.
fn stale(due: i64, sid: String, id: String) -> Plan<Fired> {
    Plan::new(move |tx| {
        tx.remove_timer(due, &sid, &id)?;
        Ok(Fired::Stale)
    })
}
