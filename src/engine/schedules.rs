//! Schedules: the `schedule_*` API and the one task that fires them.
//!
//! When a schedule fires is [`super::schedule_rule`]'s (pure); what is here
//! stores schedules, and starts their plays. A fire is one write: the plays
//! it starts, their idempotency keys (`schedule:NAME:<fire time>`, checked
//! in that same write) and the schedule's `next_fire_at`, `last_fire_at`
//! and `last_play_sid`. So a fire time never starts two plays, whatever
//! crashes or restarts come between, and a fire either happened whole or
//! not at all.
//!
//! The task sleeps until the earliest `next_fire_at` of the schedules not
//! paused, and is woken early when a schedule changes, or, while a fire
//! waits for the schedule's last play to end (`overlap: queue`), when a
//! play settles. It reads the schedules table, never the plays. It knows
//! nothing of timers: those have a task of their own.

use std::collections::HashSet;
use std::time::Duration;

use jiff::{Timestamp, Unit};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use super::schedule_rule::{self, Rule};
use super::{Engine, EngineError, Result, Settled};
use crate::api::{ScheduleSave, StartPlay};
use crate::model::{Catchup, Overlap, Play, Schedule, now};
use crate::store::Snapshot;
use crate::store::writer::Plan;

/// The longest the task sleeps without looking at the clock again: a wall
/// clock set forward or back is noticed within this.
const LOOK_AGAIN: Duration = Duration::from_secs(60);

/// After an error of the store, the task tries again this much later.
const AFTER_ERROR: Duration = Duration::from_secs(1);

/// The most characters in a schedule's name.
const MAX_NAME: usize = 100;

/// The idempotency key of a schedule's play for one fire time.
pub fn idempotency_key(name: &str, fire: Timestamp) -> String {
    format!("schedule:{name}:{fire}")
}

/// A name is a word people type and shells complete: letters, digits,
/// `-`, `_`, `.`; it also ends up in idempotency keys.
fn check_name(name: &str) -> Result<()> {
    let fits = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.chars().count() > MAX_NAME || !name.chars().all(fits) {
        return Err(EngineError::InvalidParams(format!(
            "the schedule name {name:?} is not one: use 1 to {MAX_NAME} letters, digits, `-`, `_` or `.`"
        ))
        .with_hint("e.g. `nightly-report`"));
    }
    Ok(())
}

fn rule_of(schedule: &Schedule) -> Result<Rule> {
    Rule::new(
        schedule.cron.as_deref(),
        schedule.tz.as_deref(),
        schedule.every_s,
    )
    .map_err(|e| EngineError::InvalidParams(e.to_string()))
}

/// The first fire of `rule` after `at`, counted from the whole second, so
/// that fire times (and the keys made of them) read cleanly.
fn first_fire(rule: &Rule, at: Timestamp, name: &str) -> Result<String> {
    let whole = Timestamp::from_second(at.as_second()).unwrap_or(at);
    rule.next_after(whole)
        .map(|t| t.to_string())
        .ok_or_else(|| {
            EngineError::InvalidParams(format!(
                "the rule of schedule `{name}` never fires (a date that does not exist?)"
            ))
        })
}

fn parse_time(at: &str) -> Option<Timestamp> {
    at.parse().ok()
}

/// Whether a fire comes from the clock or from `schedule_trigger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// Due by the rule: planned for the stored `next_fire_at`, which it
    /// moves on to the next fire; refused as stale when that changed.
    Clock { next: Option<Timestamp> },
    /// Now, by hand: whatever the rule, pause and overlap.
    Trigger,
}

/// What a fire's write did.
enum Fired {
    /// Plays started, and the plays earlier fires had started already for
    /// the same fire times (a trigger asks for its play back).
    Started {
        plays: Vec<Play>,
        before: Vec<String>,
    },
    /// The schedule changed since the fire was planned: nothing written.
    Stale,
    /// `overlap: queue` and the last play has not ended: nothing written;
    /// the fire waits for that play.
    Queued { last_play_sid: String },
}

/// Whether the schedule's last play is still open.
fn last_play_open(snapshot: &Snapshot<'_>, schedule: &Schedule) -> Result<Option<String>> {
    let Some(sid) = &schedule.last_play_sid else {
        return Ok(None);
    };
    Ok(snapshot
        .play_state(sid)?
        .filter(|(status, _)| !status.is_terminal())
        .map(|_| sid.clone()))
}

impl Engine {
    /// Saves a schedule after checking it whole: its name, its rule, its
    /// workflow, and its input and prefills as a start of that workflow
    /// would. A name already taken is refused unless `replace`, which
    /// keeps the schedule's history (creation, last fire and play).
    pub async fn schedule_save(&self, request: ScheduleSave) -> Result<Schedule> {
        check_name(&request.name)?;
        let rule = Rule::new(
            request.cron.as_deref(),
            request.tz.as_deref(),
            request.every_s,
        )
        .map_err(|e| {
            EngineError::InvalidParams(e.to_string())
                .with_hint("e.g. --cron \"0 2 * * *\" --tz Europe/Berlin, or --every 5m")
        })?;
        let workflow = self.workflow(&request.workflow_sid)?;
        let input_data = request
            .input_data
            .unwrap_or_else(|| Value::Object(Default::default()));
        // Checked as its plays will be, so a bad input is refused now.
        self.new_play(StartPlay {
            workflow_sid: workflow.sid.clone(),
            input_data: Some(input_data.clone()),
            prefill_resumes: request.prefill_resumes.clone(),
            ..StartPlay::default()
        })?;
        let next_fire_at = first_fire(&rule, Timestamp::now(), &request.name)?;
        let schedule = Schedule {
            name: request.name,
            workflow_sid: workflow.sid,
            cron: request.cron,
            every_s: request.every_s,
            tz: request.tz,
            input_data,
            prefill_resumes: request.prefill_resumes.unwrap_or_default(),
            overlap: request.overlap,
            catchup: request.catchup,
            paused: request.paused,
            next_fire_at: (!request.paused).then_some(next_fire_at),
            last_fire_at: None,
            last_play_sid: None,
            created_at: now(),
        };
        let replace = request.replace;
        let saved = self
            .inner
            .writer
            .durable(move |snapshot: &Snapshot<'_>| -> Result<Plan<Schedule>> {
                let mut schedule = schedule;
                if let Some(old) = snapshot.schedule(&schedule.name)? {
                    if !replace {
                        return Err(EngineError::InvalidParams(format!(
                            "a schedule named `{}` exists already",
                            schedule.name
                        ))
                        .with_hint(format!(
                            "pick another name, replace it with `--replace` (RPC: `replace: true`), or remove it first with `hero_logic schedule rm {}`",
                            schedule.name
                        )));
                    }
                    schedule.created_at = old.created_at;
                    schedule.last_fire_at = old.last_fire_at;
                    schedule.last_play_sid = old.last_play_sid;
                }
                Ok(Plan::new(move |tx| {
                    tx.put_schedule(&schedule)?;
                    Ok(schedule)
                }))
            })
            .await?;
        self.inner.schedules_changed.notify_one();
        Ok(saved)
    }

    /// Every schedule, by name.
    pub fn schedule_list(&self) -> Result<Vec<Schedule>> {
        Ok(self.store().schedules()?)
    }

    pub fn schedule_get(&self, name: &str) -> Result<Schedule> {
        self.store().schedule(name)?.ok_or_else(|| not_found(name))
    }

    /// Removes a schedule; the plays it started stay, with their keys.
    pub async fn schedule_delete(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.inner
            .writer
            .durable(move |snapshot: &Snapshot<'_>| -> Result<Plan<()>> {
                if snapshot.schedule(&name)?.is_none() {
                    return Err(not_found(&name));
                }
                Ok(Plan::new(move |tx| tx.delete_schedule(&name)))
            })
            .await?;
        self.inner.schedules_changed.notify_one();
        Ok(())
    }

    /// Pauses a schedule (it has no next fire) or unpauses it: it fires
    /// next by its rule from now, and the fires missed while it was paused
    /// are not caught up.
    pub async fn schedule_set_paused(&self, name: &str, paused: bool) -> Result<Schedule> {
        let name = name.to_owned();
        let at = Timestamp::now();
        let saved = self
            .inner
            .writer
            .durable(move |snapshot: &Snapshot<'_>| -> Result<Plan<Schedule>> {
                let mut schedule = snapshot.schedule(&name)?.ok_or_else(|| not_found(&name))?;
                if schedule.paused == paused {
                    return Ok(Plan::nothing(schedule));
                }
                schedule.paused = paused;
                schedule.next_fire_at = match paused {
                    true => None,
                    false => Some(first_fire(&rule_of(&schedule)?, at, &name)?),
                };
                Ok(Plan::new(move |tx| {
                    tx.put_schedule(&schedule)?;
                    Ok(schedule)
                }))
            })
            .await?;
        self.inner.schedules_changed.notify_one();
        Ok(saved)
    }

    /// Starts a play of the schedule now, whatever its rule, pause and
    /// overlap; its fire time is now, to the millisecond.
    pub async fn schedule_trigger(&self, name: &str) -> Result<Play> {
        let schedule = self.schedule_get(name)?;
        let at = Timestamp::now();
        let at = at.round(Unit::Millisecond).unwrap_or(at);
        match self.fire(&schedule, vec![at], Cause::Trigger).await? {
            Fired::Started { mut plays, before } => match plays.pop() {
                Some(play) => Ok(play),
                None => match before.first() {
                    Some(sid) => self.play_get(sid),
                    None => Err(EngineError::Internal(format!(
                        "schedule `{name}` started nothing"
                    ))),
                },
            },
            Fired::Stale | Fired::Queued { .. } => Err(EngineError::Internal(format!(
                "a trigger of schedule `{name}` was taken for a fire by the clock"
            ))),
        }
    }

    /// Starts the task that fires schedules, which runs as long as the
    /// engine.
    pub(super) fn start_schedules(&self) {
        let engine = self.clone();
        tokio::spawn(async move { engine.fire_schedules().await });
    }

    async fn fire_schedules(&self) {
        // Schedules whose last fire waits for their last play to end.
        let mut queued = HashSet::new();
        loop {
            // Subscribed before looking, so that a play settling in
            // between is not missed.
            let mut settled = self.inner.settled.subscribe();
            let wait = match self.fire_due(&mut queued).await {
                Ok(Some(next)) => next
                    .duration_since(Timestamp::now())
                    .try_into()
                    .unwrap_or(Duration::ZERO)
                    .min(LOOK_AGAIN),
                Ok(None) => LOOK_AGAIN,
                Err(e) => {
                    tracing::error!("schedules: {e}");
                    AFTER_ERROR
                }
            };
            let waiting_for: HashSet<String> = queued.iter().map(|(_, sid)| sid).cloned().collect();
            let play_settled = async {
                if waiting_for.is_empty() {
                    return std::future::pending().await;
                }
                loop {
                    match settled.recv().await {
                        Ok(Settled::Play(sid)) if waiting_for.contains(&sid) => return,
                        Ok(Settled::Any) => return,
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => return,
                        Err(RecvError::Closed) => std::future::pending::<()>().await,
                    }
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.inner.schedules_changed.notified() => {}
                () = play_settled => {}
            }
        }
    }

    /// Fires every schedule that is due; returns when the next is due.
    /// `queued` holds the (schedule, last play) pairs whose fire waits for
    /// that play to end; it is updated.
    async fn fire_due(&self, queued: &mut HashSet<(String, String)>) -> Result<Option<Timestamp>> {
        let now = Timestamp::now();
        let mut earliest: Option<Timestamp> = None;
        let mut still_queued = HashSet::new();
        for schedule in self.store().schedules()? {
            let Some(next) = schedule.next_fire_at.as_deref().and_then(parse_time) else {
                continue;
            };
            if schedule.paused {
                continue;
            }
            if next > now {
                earliest = Some(earliest.map_or(next, |e| e.min(next)));
                continue;
            }
            let rule = match rule_of(&schedule) {
                Ok(rule) => rule,
                Err(e) => {
                    tracing::error!("schedule `{}` cannot fire: {e}", schedule.name);
                    continue;
                }
            };
            let was_queued = queued.iter().any(|(name, _)| *name == schedule.name);
            // A fire that waited for its last play is started however late
            // it is: lateness is what `catchup: none` is about, and that is
            // for downtime.
            let catchup = match schedule.catchup {
                Catchup::None if was_queued => Catchup::Latest,
                other => other,
            };
            let (fires, after) = schedule_rule::due(&rule, next, now, catchup);
            match self
                .fire(&schedule, fires, Cause::Clock { next: after })
                .await
            {
                Ok(Fired::Started { .. }) => {
                    if let Some(after) = after {
                        earliest = Some(earliest.map_or(after, |e| e.min(after)));
                    }
                }
                // Looked at again at once, as it now is.
                Ok(Fired::Stale) => earliest = Some(now),
                Ok(Fired::Queued { last_play_sid }) => {
                    still_queued.insert((schedule.name.clone(), last_play_sid));
                }
                Err(e) => tracing::error!("schedule `{}` did not fire: {e}", schedule.name),
            }
        }
        *queued = still_queued;
        Ok(earliest)
    }

    /// Starts the plays of `fires` for `schedule` in one write with its
    /// update; see the module's doc.
    async fn fire(
        &self,
        schedule: &Schedule,
        fires: Vec<Timestamp>,
        cause: Cause,
    ) -> Result<Fired> {
        let name = schedule.name.clone();
        let mut plays = Vec::new();
        for at in &fires {
            let play = self.new_play(StartPlay {
                workflow_sid: schedule.workflow_sid.clone(),
                input_data: Some(schedule.input_data.clone()),
                prefill_resumes: Some(schedule.prefill_resumes.clone()),
                idempotency_key: Some(idempotency_key(&name, *at)),
                ..StartPlay::default()
            });
            match (play, cause) {
                (Ok(play), _) => plays.push(Play {
                    schedule: Some(name.clone()),
                    ..play
                }),
                (Err(e), Cause::Trigger) => return Err(e),
                // The workflow changed under the schedule (its input no
                // longer fits, it is gone): the fire is skipped, said in
                // the log, and the schedule goes on.
                (Err(e), Cause::Clock { .. }) => {
                    tracing::warn!("schedule `{name}` skipped its fire at {at}: {e}");
                }
            }
        }
        let planned = schedule.next_fire_at.clone();
        let last_fire = fires.last().map(|t| t.to_string());
        let fired = self
            .inner
            .writer
            .durable(move |snapshot: &Snapshot<'_>| -> Result<Plan<Fired>> {
                let Some(mut stored) = snapshot.schedule(&name)? else {
                    return match cause {
                        Cause::Trigger => Err(not_found(&name)),
                        Cause::Clock { .. } => Ok(Plan::nothing(Fired::Stale)),
                    };
                };
                if let Cause::Clock { next } = cause {
                    if stored.paused || stored.next_fire_at != planned {
                        return Ok(Plan::nothing(Fired::Stale));
                    }
                    stored.next_fire_at = next.map(|t| t.to_string());
                    if let Some(open) = last_play_open(snapshot, &stored)? {
                        match stored.overlap {
                            Overlap::Allow => {}
                            Overlap::Skip => plays.clear(),
                            Overlap::Queue => {
                                return Ok(Plan::nothing(Fired::Queued {
                                    last_play_sid: open,
                                }));
                            }
                        }
                    }
                }
                let mut before = Vec::new();
                let mut fresh = Vec::new();
                for play in plays {
                    let key = play.idempotency_key.as_deref().unwrap_or_default();
                    match snapshot.idempotent_play(&play.workflow_sid, key)? {
                        Some(sid) => before.push(sid),
                        None => fresh.push(play),
                    }
                }
                if let Some(last) = fresh.last() {
                    stored.last_fire_at = last_fire;
                    stored.last_play_sid = Some(last.sid.clone());
                }
                Ok(Plan::new(move |tx| {
                    for play in &fresh {
                        tx.put_play(None, play)?;
                    }
                    tx.put_schedule(&stored)?;
                    Ok(Fired::Started {
                        plays: fresh,
                        before,
                    })
                }))
            })
            .await?;
        if let Fired::Started { plays, .. } = &fired {
            for play in plays {
                self.started(play);
            }
        }
        Ok(fired)
    }
}

fn not_found(name: &str) -> EngineError {
    EngineError::NotFound(format!("no schedule named `{name}`"))
        .with_hint("`hero_logic schedule list` shows them")
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::{MAX_NAME, check_name, first_fire, idempotency_key};
    use crate::engine::schedule_rule::Rule;

    #[test]
    fn names_are_words_people_type() {
        for good in ["nightly", "nightly-report", "a.b_c", "Bericht2", "é"] {
            assert!(check_name(good).is_ok(), "{good:?} was refused");
        }
        let long = "x".repeat(MAX_NAME + 1);
        for bad in ["", "two words", "a/b", "a:b", "tab\t", long.as_str()] {
            let e = check_name(bad).expect_err("refused").to_string();
            assert!(e.contains("is not one"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_key_names_the_schedule_and_the_fire_time() {
        let at: Timestamp = "2026-12-05T01:00:00Z".parse().unwrap();
        assert_eq!(
            idempotency_key("nightly", at),
            "schedule:nightly:2026-12-05T01:00:00Z"
        );
    }

    #[test]
    fn the_first_fire_counts_from_the_whole_second() {
        let every = Rule::new(None, None, Some(5)).unwrap();
        let at: Timestamp = "2026-12-05T01:00:00.7Z".parse().unwrap();
        assert_eq!(first_fire(&every, at, "s").unwrap(), "2026-12-05T01:00:05Z");
        let cron = Rule::new(Some("0 2 * * *"), Some("Europe/Berlin"), None).unwrap();
        assert_eq!(
            first_fire(&cron, at, "s").unwrap(),
            "2026-12-06T01:00:00Z",
            "02:00 in Berlin is 01:00 UTC in winter"
        );
    }
}
