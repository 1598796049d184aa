//! A running play's progress (its count of steps done, its cost), told to
//! subscribers (the dashboard, `play wait` on a terminal) at most every
//! [`TICK`], not at every checkpoint.
//!
//! Telling it at every checkpoint meant reading the play back inside the
//! checkpoint's batch and sending it whole to every subscriber: with the
//! dashboard open, eight flows on PostgreSQL ran at half their speed (the
//! read split the batch's one statement and cost a round trip a step), on
//! redb at three quarters (figures in BENCHMARKS.md). Now a checkpoint only
//! notes its play, and a task reads the plays noted and tells them.
//!
//! Invariants: a progress event never hides a newer state. Each play's
//! events are counted as they are sent ([`Progress::sent`]), and a play
//! read here is sent only if no event of it went out since the count was
//! taken before the read: a run's end told meanwhile is not followed by
//! the `running` this task read before it. A play noted is read at two
//! ticks, so that what redb commits a few milliseconds after a checkpoint
//! is told too, even when no checkpoint follows.

use std::collections::HashMap;
use std::time::Duration;

use super::{Engine, lock};
use crate::model::{Play, PlayEvent};

/// How often a running play's progress is told at most.
const TICK: Duration = Duration::from_millis(50);

/// The ticks at which a play noted is read.
const READS: u8 = 2;

#[derive(Default)]
pub(super) struct Progress {
    /// Plays whose steps went on since they were last read, with the reads
    /// left to make.
    noted: HashMap<String, u8>,
    /// Events sent of each play not yet ended.
    sent: HashMap<String, u64>,
}

/// Wakes the task when a play is noted: with nothing noted it sleeps, so
/// an idle server does not wake every tick.
#[derive(Default)]
pub(super) struct Noted(tokio::sync::Notify);

impl Engine {
    /// A checkpoint of play `sid` was stored: its progress is told at the
    /// next tick, if anyone listens.
    pub(super) fn note_progress(&self, sid: &str) {
        if self.inner.events.receiver_count() == 0 {
            return;
        }
        let first = {
            let mut progress = lock(&self.inner.progress);
            let first = progress.noted.is_empty();
            progress.noted.insert(sid.to_owned(), READS);
            first
        };
        if first {
            self.inner.progress_noted.0.notify_one();
        }
    }

    /// Sends a play's event, counted (see the module's invariants).
    pub(super) fn send_play(&self, play: Box<Play>) {
        let mut progress = lock(&self.inner.progress);
        if play.is_terminal() {
            progress.sent.remove(&play.sid);
            progress.noted.remove(&play.sid);
        } else {
            *progress.sent.entry(play.sid.clone()).or_default() += 1;
        }
        let _ = self.inner.events.send(PlayEvent::Play { play });
    }

    /// Starts the task that tells progress.
    pub(super) fn start_progress(&self) {
        let engine = self.clone();
        tokio::spawn(async move {
            loop {
                let noted = engine.take_noted();
                if noted.is_empty() {
                    engine.inner.progress_noted.0.notified().await;
                    // What else is noted within a tick is read with it.
                    tokio::time::sleep(TICK).await;
                    continue;
                }
                let reader = engine.clone();
                let read = tokio::task::spawn_blocking(move || {
                    noted
                        .into_iter()
                        .filter_map(|(sid, sent)| Some((reader.store().play(&sid).ok()??, sent)))
                        .collect::<Vec<_>>()
                })
                .await;
                for (play, sent) in read.unwrap_or_default() {
                    engine.tell_progress(play, sent);
                }
                tokio::time::sleep(TICK).await;
            }
        });
    }

    /// The plays to read now, each with the count of its events sent so
    /// far; each keeps its mark for the reads it has left.
    fn take_noted(&self) -> Vec<(String, u64)> {
        let mut progress = lock(&self.inner.progress);
        let progress = &mut *progress;
        let noted = progress
            .noted
            .keys()
            .map(|sid| (sid.clone(), progress.sent.get(sid).copied().unwrap_or(0)))
            .collect();
        progress.noted.retain(|_, reads| {
            *reads -= 1;
            *reads > 0
        });
        noted
    }

    /// Sends `play`, read after `sent` of its events went out, unless
    /// another went out since or it no longer runs.
    fn tell_progress(&self, mut play: Play, sent: u64) {
        let mut progress = lock(&self.inner.progress);
        if play.is_terminal() || progress.sent.get(&play.sid).copied().unwrap_or(0) != sent {
            return;
        }
        *progress.sent.entry(play.sid.clone()).or_default() += 1;
        self.with_resume_urls(&mut play.pending_resumes);
        let _ = self.inner.events.send(PlayEvent::Play {
            play: Box::new(play),
        });
    }
}
