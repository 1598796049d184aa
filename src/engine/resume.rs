//! `play_resume` and `play_signal`: the ways in for an answer to a pause
//! from outside the play (a child's end answers its parent's pause in the
//! driver). A resume names the pause; a signal names only what it is, and
//! the lifecycle finds the pause, or keeps it for one ([`Event::Signalled`]).

use serde_json::Value;

use super::lifecycle::{self, Answer, Event, Refusal};
use super::{Engine, EngineError, Result};
use crate::api::violations;
use crate::model::{ResumeAck, SignalEvent, now};

impl Engine {
    /// Validates and records an answer; when it was the last open pause the
    /// play leaves `awaiting_resume` in the same transaction and its next
    /// run is queued. The same answer again is `ok` with the first time.
    /// Acceptance is the lifecycle's rule ([`lifecycle::answer`]), asked of
    /// the play as read here, so that the payload is validated against the
    /// pause it answers, and again in the transaction.
    pub async fn resume(&self, sid: &str, resume_id: &str, payload: Value) -> Result<ResumeAck> {
        let play = self.play_snapshot(sid)?;
        let request = match lifecycle::answer(&play, resume_id, &payload) {
            Answer::Open(request) => request,
            Answer::Again { resumed_at } => {
                return Ok(ResumeAck {
                    ok: true,
                    resumed_at,
                });
            }
            Answer::Otherwise { first } => {
                return Err(EngineError::WrongState(format!(
                    "pause `{resume_id}` of play {sid} was already answered with {}",
                    first
                )));
            }
            Answer::Clock(timer) => {
                return Err(EngineError::WrongState(format!(
                    "pause `{resume_id}` of play {sid} is a timer (`{}`): only the clock answers it",
                    timer.name
                ))
                .with_hint(format!(
                    "it wakes by itself at {}",
                    timer.wake_at.as_deref().unwrap_or("its wake time")
                )));
            }
            Answer::Unknown => {
                return Err(EngineError::NotFound(format!(
                    "play {sid} has no pause with id `{resume_id}`"
                ))
                .with_hint(format!("`hero_logic pending {sid}` lists them")));
            }
        };
        let problems = violations(&request.schema, &payload);
        if !problems.is_empty() {
            return Err(EngineError::SchemaViolation(problems));
        }
        let at = now();
        let resumed_at = at.clone();
        let id = resume_id.to_owned();
        match self
            .transition(sid, move |_| Event::Resumed { id, payload, at })
            .await
        {
            Ok(_) => Ok(ResumeAck {
                ok: true,
                resumed_at,
            }),
            Err(EngineError::Refused(Refusal::AlreadyAnswered { resumed_at })) => Ok(ResumeAck {
                ok: true,
                resumed_at,
            }),
            Err(e) => Err(e),
        }
    }

    /// Sends a signal by name: it answers the oldest open pause of that
    /// name, or is kept on the play until a pause of that name is reached.
    /// A payload the pause's schema refuses is noted on the play, and the
    /// pause stays open. The answer says what became of it.
    pub async fn play_signal(&self, sid: &str, name: &str, payload: Value) -> Result<SignalEvent> {
        if name.is_empty() || name.len() > super::sdk_checks::MAX_NAME_BYTES {
            return Err(EngineError::InvalidParams(format!(
                "a signal's name is 1 to {} bytes",
                super::sdk_checks::MAX_NAME_BYTES
            )));
        }
        let owned = name.to_owned();
        let at = now();
        let t = self
            .transition(sid, move |_| Event::Signalled {
                name: owned,
                payload,
                at,
            })
            .await
            .map_err(|e| match e.kind() {
                EngineError::WrongState(_) => {
                    e.with_hint(format!("`hero_logic play show {sid}` shows its state"))
                }
                _ => e,
            })?;
        t.play
            .signal_events
            .last()
            .cloned()
            .ok_or_else(|| EngineError::Internal("a signal left no event on its play".into()))
    }
}
