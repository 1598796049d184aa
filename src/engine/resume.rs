//! `play_resume`: the one way in for every answer to a pause from outside
//! the play (a child's end answers its parent's pause in the driver).

use serde_json::Value;

use super::lifecycle::{self, Answer, Event, Refusal};
use super::{Engine, EngineError, Result};
use crate::api::violations;
use crate::model::{ResumeAck, now};

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
}
