//! The play lifecycle as a pure state machine.
//!
//! `apply(play, event)` returns the play as it must be stored next and the
//! effects the driver must carry out, or why the event is refused. The
//! rules other parts of the engine must ask before they build an event are
//! here too, each once: whether an answer to a pause is accepted
//! ([`answer`]), whether a run may still write to its play ([`check_run`]),
//! and whether a child's end wakes its parent ([`wake_parent`]). No IO
//! happens here, so every rule is tested with plain values.

use std::borrow::Cow;

use serde_json::{Value, json};

use crate::api::child_of_pause;
use crate::model::{
    MAX_SIGNAL_EVENTS, OnTimeout, Play, PlayStatus, ResumeKind, ResumeRequest, Signal, SignalEvent,
    SignalOutcome,
};

/// The most signals a play keeps unanswered: past it, a signal is refused
/// rather than growing the play without bound.
pub const MAX_KEPT_SIGNALS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A run's process is about to start.
    RunStarted {
        at: String,
    },
    /// Run `run`'s SDK recorded a pause that nothing answered yet.
    Paused {
        run: u32,
        request: ResumeRequest,
    },
    /// `play_signal`: a payload sent by name, for the oldest open pause of
    /// that name, or kept until one is reached ([`signal`]).
    Signalled {
        name: String,
        payload: Value,
        at: String,
    },
    /// `play_resume` with a payload that passed the schema.
    Resumed {
        id: String,
        payload: Value,
        at: String,
    },
    /// The clock reached pause `id`'s time: a timer's `wake_at`, a pause's
    /// `expires_at`. It answers the pause as [`expiry`] says, unless
    /// something answered it first.
    Expired {
        id: String,
        at: String,
    },
    /// A pause of run `run` answered at once (a prefilled payload, an
    /// earlier answer, a child that has ended), without stopping.
    Prefilled {
        run: u32,
        request: ResumeRequest,
        at: String,
    },
    /// A run's process ended.
    RunEnded {
        run: u32,
        outcome: Outcome,
        at: String,
    },
    Cancel {
        at: String,
    },
    TimedOut {
        at: String,
    },
    /// `play_retry`: run a play that ended badly again, from its
    /// checkpoints.
    Retry {
        at: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Success(Value),
    Failed(String),
    /// Exit 75: the script stopped at a pause.
    Paused,
    /// The process was killed by a signal (the OOM killer, a user's
    /// `kill -9`): not the flow's failure, so the run is tried again from
    /// its checkpoints while `retries` allows.
    Died {
        error: String,
        retries: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Queue the next run of the play.
    StartRun,
    /// Kill the play's running process group.
    KillRun,
    /// Cancel every spawned child that is not finished.
    CancelChildren,
    /// The play ended: a parent waiting on it must hear of it (see
    /// [`wake_parent`]), in the transaction that ends it.
    NotifyParent,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("play {sid} is {status}: {why}")]
    WrongState {
        sid: String,
        status: PlayStatus,
        why: Cow<'static, str>,
    },
    #[error("play {sid} has no pause with id `{id}`")]
    UnknownResume { sid: String, id: String },
    /// A run that is not the play's current one, or a play no longer
    /// running: what the run wanted `to` do is refused.
    #[error("play {sid} is {status} (run {runs}), so run {run} may not {to}")]
    StaleRun {
        sid: String,
        status: PlayStatus,
        runs: u32,
        run: u32,
        to: &'static str,
    },
    /// The same payload again: not a change, and the first answer's time.
    #[error("already answered")]
    AlreadyAnswered { resumed_at: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub play: Play,
    pub effects: Vec<Effect>,
}

fn refuse(play: &Play, why: impl Into<Cow<'static, str>>) -> Refusal {
    Refusal::WrongState {
        sid: play.sid.clone(),
        status: play.status,
        why: why.into(),
    }
}

/// What the clock answers `request` with, and who it says answered: a
/// timer wakes with `null` (`by: "timer"`); a pause past its deadline takes
/// its default, or `null` for one that raises `PauseTimeout` in the flow
/// (`by: "timeout"`). `None` for a pause the clock never answers.
pub fn expiry(request: &ResumeRequest) -> Option<(Value, &'static str)> {
    match (request.kind, &request.on_timeout) {
        (ResumeKind::Timer, _) => request.wake_at.as_ref().map(|_| (Value::Null, "timer")),
        (_, Some(OnTimeout::Default(value))) => Some((value.clone(), "timeout")),
        (_, Some(OnTimeout::Raise)) => Some((Value::Null, "timeout")),
        (_, None) => None,
    }
}

/// Whether the clock answers `request` at `at` (both RFC 3339): its time
/// has come. A time that does not parse is never due.
pub fn is_due(request: &ResumeRequest, at: &str) -> bool {
    let parse = |t: &str| t.parse::<jiff::Timestamp>().ok();
    match (request.due_at().and_then(parse), parse(at)) {
        (Some(due), Some(now)) => due <= now,
        _ => false,
    }
}

/// Whether an answer to a pause of the clock's was the timeout of one that
/// raises `PauseTimeout` in the flow.
pub fn raised_timeout(request: &ResumeRequest) -> bool {
    request.by.as_deref() == Some("timeout") && request.on_timeout == Some(OnTimeout::Raise)
}

/// What a payload for pause `id` of a play would be.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<'a> {
    /// The answer to this open pause.
    Open(&'a ResumeRequest),
    /// The same answer again: nothing changes; `resumed_at` is when it
    /// was first given.
    Again { resumed_at: String },
    /// Another payload for a pause answered with `first`: refused.
    Otherwise { first: &'a Value },
    /// An open timer: only the clock answers it ([`Event::Expired`]), at
    /// its `wake_at`; refused.
    Clock(&'a ResumeRequest),
    /// The play never asked a pause with this id: refused.
    Unknown,
}

/// Whether `payload` answers pause `id` of `play`: the one rule of resume
/// acceptance, which a resume asks before it validates the payload and
/// [`apply`] asks again in the transaction. Whether the play is awaiting a
/// resume at all is [`apply`]'s to say.
pub fn answer<'a>(play: &'a Play, id: &str, payload: &Value) -> Answer<'a> {
    if let Some(done) = play.answered_resumes.iter().find(|r| r.id == id) {
        return if done.payload == *payload {
            Answer::Again {
                resumed_at: done.resumed_at.clone().unwrap_or_default(),
            }
        } else {
            Answer::Otherwise {
                first: &done.payload,
            }
        };
    }
    match play.pending_resumes.iter().find(|r| r.id == id) {
        Some(request) if request.kind == ResumeKind::Timer => Answer::Clock(request),
        Some(request) => Answer::Open(request),
        None => Answer::Unknown,
    }
}

/// Whether a play awaiting resumes waits for an answer from outside (a
/// person, a program): what `play wait` returns for. A timer or a retry
/// delay is answered by the clock; a `child_play:` pause by its child,
/// which waits for outside only if `child_waits` says so of its sid.
pub fn waits_outside(play: &Play, mut child_waits: impl FnMut(&str) -> bool) -> bool {
    play.status == PlayStatus::AwaitingResume
        && play.pending_resumes.iter().any(|r| {
            if r.kind == ResumeKind::Timer {
                return false;
            }
            match child_of_pause(&r.name) {
                Some(child) => child_waits(child),
                None => true,
            }
        })
}

/// Whether run `run` may still write to its play (a checkpoint, a pause):
/// only the current run of a running play may; an older run still alive
/// (killed, not yet reaped) or a run of a play that ended may not.
pub fn check_run(
    sid: &str,
    (status, runs): (PlayStatus, u32),
    run: u32,
    to: &'static str,
) -> Result<(), Refusal> {
    if status != PlayStatus::Running || runs != run {
        return Err(Refusal::StaleRun {
            sid: sid.to_owned(),
            status,
            runs,
            run,
            to,
        });
    }
    Ok(())
}

/// What a parent's `child_play:` pause is answered with.
pub fn child_result(child: &Play) -> Value {
    json!({
        "status": child.status,
        "output_data": child.output_data,
        "error": child.error,
        "child_play_sid": child.sid,
    })
}

/// The parent's transition when `child` has ended ([`Effect::NotifyParent`]):
/// a parent awaiting a resume on its `child_play:SID` pause gets the
/// child's result as the answer. Any other parent waits for nothing now: a
/// finished one never will, and a pending or running one asks the pause
/// again in its run and gets the child's result then. A refusal means the
/// parent was awaiting the child and cannot be woken: the driver must make
/// it seen.
pub fn wake_parent(parent: &Play, child: &Play, at: String) -> Result<Option<Transition>, Refusal> {
    if parent.status != PlayStatus::AwaitingResume {
        return Ok(None);
    }
    let name = crate::api::child_pause_name(&child.sid);
    let Some(request) = parent.pending_resumes.iter().find(|r| r.name == name) else {
        return Ok(None);
    };
    let event = Event::Resumed {
        id: request.id.clone(),
        payload: child_result(child),
        at,
    };
    apply(parent, event).map(Some)
}

/// Whether a pause may be answered by a signal of its name: one that waits
/// for an answer from outside, not for the clock or a child.
fn takes_signals(request: &ResumeRequest) -> bool {
    matches!(request.kind, ResumeKind::Pause | ResumeKind::Signal)
}

/// Records open pause `index` as answered with `payload`; the next run
/// starts when no pause is left open.
fn answer_open(
    next: &mut Play,
    index: usize,
    payload: Value,
    at: String,
    by: Option<&str>,
    effects: &mut Vec<Effect>,
) {
    let mut request = next.pending_resumes.remove(index);
    request.payload = payload.clone();
    request.resumed_at = Some(at);
    request.by = by.map(str::to_owned).or(request.by);
    next.received_resumes.insert(request.id.clone(), payload);
    next.answered_resumes.push(request);
    if next.pending_resumes.is_empty() {
        next.status = PlayStatus::Running;
        effects.push(Effect::StartRun);
    }
}

fn note_signal(next: &mut Play, event: SignalEvent) {
    next.signal_events.push(event);
    let over = next.signal_events.len().saturating_sub(MAX_SIGNAL_EVENTS);
    next.signal_events.drain(..over);
}

/// A pause being reached takes the first kept signal of its name that its
/// schema accepts, without stopping; each one it refuses on the way is
/// dropped and noted. Says whether one was taken (the pause is answered).
fn take_kept_signal(next: &mut Play, request: &ResumeRequest) -> bool {
    if !takes_signals(request) {
        return false;
    }
    while let Some(index) = next.signals.iter().position(|s| s.name == request.name) {
        let signal = next.signals.remove(index);
        let violations = crate::api::violations(&request.schema, &signal.payload);
        let taken = violations.is_empty();
        note_signal(
            next,
            SignalEvent {
                name: signal.name,
                at: request.asked_at.clone(),
                outcome: if taken {
                    SignalOutcome::Taken
                } else {
                    SignalOutcome::Refused
                },
                resume_id: Some(request.id.clone()),
                violations,
            },
        );
        if taken {
            let mut answered = request.clone();
            answered.payload = signal.payload.clone();
            answered.resumed_at = Some(request.asked_at.clone());
            answered.by = Some("signal".into());
            next.received_resumes
                .insert(request.id.clone(), signal.payload);
            next.answered_resumes.push(answered);
            return true;
        }
    }
    false
}

/// Whether run `run` recorded this very pause already (its token is drawn
/// once per pause the SDK asks): a pause asked again because its answer
/// was lost with the database connection, its write committed all the
/// same. It is the same pause, not a second one from a run that should
/// have stopped.
pub fn already_paused(play: &Play, run: u32, request: &ResumeRequest) -> bool {
    play.status == PlayStatus::AwaitingResume
        && play.runs == run
        && request.token.is_some()
        && play
            .pending_resumes
            .iter()
            .any(|r| r.id == request.id && r.token == request.token)
}

pub fn apply(play: &Play, event: Event) -> Result<Transition, Refusal> {
    let mut next = play.clone();
    let mut effects = Vec::new();
    match event {
        Event::RunStarted { at } => {
            if !matches!(play.status, PlayStatus::Pending | PlayStatus::Running) {
                return Err(refuse(play, "only a pending or running play starts a run"));
            }
            next.status = PlayStatus::Running;
            next.runs += 1;
            next.started_at.get_or_insert(at);
        }
        Event::Paused { run, request } => {
            if already_paused(play, run, &request) {
                return Ok(Transition {
                    play: next,
                    effects,
                });
            }
            check_run(&play.sid, (play.status, play.runs), run, "pause it")?;
            if take_kept_signal(&mut next, &request) {
                return Ok(Transition {
                    play: next,
                    effects,
                });
            }
            if !next.pending_resumes.iter().any(|r| r.id == request.id) {
                next.pending_resumes.push(request);
            }
            next.status = PlayStatus::AwaitingResume;
        }
        Event::Prefilled {
            run,
            mut request,
            at,
        } => {
            check_run(&play.sid, (play.status, play.runs), run, "pause it")?;
            next.received_resumes
                .insert(request.id.clone(), request.payload.clone());
            request.resumed_at = Some(at);
            next.answered_resumes.push(request);
        }
        Event::Resumed { id, payload, at } => {
            match answer(play, &id, &payload) {
                Answer::Again { resumed_at } => {
                    return Err(Refusal::AlreadyAnswered { resumed_at });
                }
                Answer::Otherwise { .. } => {
                    return Err(refuse(
                        play,
                        "this pause was already answered with another payload",
                    ));
                }
                Answer::Clock(timer) => {
                    return Err(refuse(
                        play,
                        format!(
                            "pause `{id}` is a timer (`{}`): only the clock answers it, at {}",
                            timer.name,
                            timer.wake_at.as_deref().unwrap_or("its wake time")
                        ),
                    ));
                }
                Answer::Open(_) | Answer::Unknown => {}
            }
            if play.status != PlayStatus::AwaitingResume {
                return Err(refuse(play, "only a play awaiting a resume can be resumed"));
            }
            let Some(index) = next.pending_resumes.iter().position(|r| r.id == id) else {
                return Err(Refusal::UnknownResume {
                    sid: play.sid.clone(),
                    id,
                });
            };
            answer_open(&mut next, index, payload, at, None, &mut effects);
        }
        Event::Expired { id, at } => {
            let Some(index) = play.pending_resumes.iter().position(|r| r.id == id) else {
                return Err(match play.answered_resumes.iter().find(|r| r.id == id) {
                    Some(done) => Refusal::AlreadyAnswered {
                        resumed_at: done.resumed_at.clone().unwrap_or_default(),
                    },
                    None => Refusal::UnknownResume {
                        sid: play.sid.clone(),
                        id,
                    },
                });
            };
            if play.status != PlayStatus::AwaitingResume {
                return Err(refuse(
                    play,
                    "only a play awaiting a resume wakes by the clock",
                ));
            }
            let request = &play.pending_resumes[index];
            let Some((payload, by)) = expiry(request).filter(|_| is_due(request, &at)) else {
                return Err(refuse(play, format!("pause `{id}` is not due at {at}")));
            };
            answer_open(&mut next, index, payload, at, Some(by), &mut effects);
        }
        Event::Signalled { name, payload, at } => {
            if play.is_terminal() {
                return Err(refuse(play, "a play that has ended takes no signal"));
            }
            let open = next
                .pending_resumes
                .iter()
                .position(|r| takes_signals(r) && r.name == name)
                .filter(|_| play.status == PlayStatus::AwaitingResume);
            let mut event = SignalEvent {
                name: name.clone(),
                at: at.clone(),
                outcome: SignalOutcome::Kept,
                resume_id: None,
                violations: Vec::new(),
            };
            match open {
                Some(index) => {
                    let request = &next.pending_resumes[index];
                    event.resume_id = Some(request.id.clone());
                    event.violations = crate::api::violations(&request.schema, &payload);
                    if event.violations.is_empty() {
                        event.outcome = SignalOutcome::Answered;
                        answer_open(&mut next, index, payload, at, Some("signal"), &mut effects);
                    } else {
                        event.outcome = SignalOutcome::Refused;
                    }
                }
                None => {
                    if next.signals.len() >= MAX_KEPT_SIGNALS {
                        return Err(refuse(
                            play,
                            "it keeps as many signals as a play takes; answer its pauses first",
                        ));
                    }
                    next.signals.push(Signal { name, payload, at });
                }
            }
            note_signal(&mut next, event);
        }
        Event::RunEnded { run, outcome, at } => {
            if run == play.runs {
                next.run_pgid = None;
            }
            if play.is_terminal() || run != play.runs {
                return Ok(Transition {
                    play: next,
                    effects,
                });
            }
            match outcome {
                Outcome::Success(output) => {
                    next.status = PlayStatus::Success;
                    next.output_data = output;
                    next.error = None;
                }
                Outcome::Failed(error) => {
                    next.status = PlayStatus::Failed;
                    next.error = Some(error);
                }
                Outcome::Died { retries, .. } if play.run_retries < retries => {
                    next.run_retries += 1;
                    effects.push(Effect::StartRun);
                }
                Outcome::Died { error, retries } => {
                    next.status = PlayStatus::Failed;
                    next.error = Some(format!(
                        "{error}, and so did the {retries} runs tried again after it (HERO_LOGIC_RUN_RETRIES={retries}); `hero_logic play retry {}` runs it again from its checkpoints",
                        play.sid
                    ));
                }
                Outcome::Paused if !next.pending_resumes.is_empty() => {
                    // A run that reached its pause got somewhere: a later
                    // death is a new one.
                    next.run_retries = 0;
                    next.status = PlayStatus::AwaitingResume;
                }
                Outcome::Paused if play.status == PlayStatus::Running => {
                    // Every pause of this run was answered while the process
                    // was still exiting: the answer already queued a run.
                    return Ok(Transition {
                        play: next,
                        effects,
                    });
                }
                Outcome::Paused => {
                    next.status = PlayStatus::Failed;
                    next.error = Some("the flow exited 75 (paused) without asking anything".into());
                }
            }
            if next.is_terminal() {
                next.ended_at = Some(at);
                effects.push(Effect::NotifyParent);
            }
        }
        Event::Cancel { at } => {
            if play.is_terminal() {
                return Err(refuse(play, "a finished play cannot be cancelled"));
            }
            next.status = PlayStatus::Cancelled;
            next.ended_at = Some(at);
            next.error = Some("cancelled".into());
            effects.extend([
                Effect::KillRun,
                Effect::CancelChildren,
                Effect::NotifyParent,
            ]);
        }
        Event::Retry { at } => {
            if !matches!(
                play.status,
                PlayStatus::Failed | PlayStatus::TimedOut | PlayStatus::Cancelled
            ) {
                return Err(refuse(
                    play,
                    "only a failed, timed-out or cancelled play can be retried",
                ));
            }
            next.status = PlayStatus::Pending;
            next.error = None;
            next.ended_at = None;
            next.output_data = Value::Null;
            next.run_retries = 0;
            next.retried_at = Some(at);
            effects.push(Effect::StartRun);
        }
        Event::TimedOut { at } => {
            if play.is_terminal() {
                return Err(refuse(play, "a finished play cannot time out"));
            }
            next.status = PlayStatus::TimedOut;
            next.ended_at = Some(at);
            next.error = Some(match play.timeout_s {
                Some(t) => format!("timed out after {t} s"),
                None => "timed out".into(),
            });
            effects.extend([
                Effect::KillRun,
                Effect::CancelChildren,
                Effect::NotifyParent,
            ]);
        }
    }
    Ok(Transition {
        play: next,
        effects,
    })
}

#[cfg(test)]
mod tests;
