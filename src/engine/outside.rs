//! What the HTTP listener asks of the engine (SPEC §11): answers by pause
//! token, the HTTP keys, and the resume URLs shown beside each pause.
//!
//! The engine knows no HTTP: the listener in `server/http.rs` maps these
//! calls and their errors to routes and status codes. Tokens and keys are
//! never put in an error message or a log line; a pause is named by its id
//! and a key by its id.

use std::time::Duration;

use serde_json::Value;

use super::{Engine, EngineError, Result};
use crate::model::{HttpKey, NewHttpKey, ResumeAck, ResumeRequest, now};
use crate::secret;
use crate::store::KeyRecord;
use crate::store::writer::Plan;

/// The longest label a key takes.
pub const MAX_KEY_LABEL: usize = 200;

/// How stale `last_used_at` may be before a use writes it again: a key
/// used a thousand times a second costs one write a minute.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

fn random_failed(e: getrandom::Error) -> EngineError {
    EngineError::Internal(format!("the OS gave no random bytes: {e}"))
}

impl Engine {
    /// A new token for a pause about to be recorded.
    pub(super) fn new_pause_token() -> Result<String> {
        secret::pause_token().map_err(random_failed)
    }

    /// Tells the engine where its HTTP listener answers, once it listens,
    /// so that every pause read from then on carries its `resume_url`.
    pub fn set_http_base(&self, base: String) {
        let _ = self.inner.http_base.set(base);
    }

    /// The listener's base URL, `http://ADDR`, while HTTP is on.
    pub fn http_base(&self) -> Option<&str> {
        self.inner.http_base.get().map(String::as_str)
    }

    /// Fills in the `resume_url` of each open pause, while HTTP is on.
    pub(super) fn with_resume_urls(&self, requests: &mut [ResumeRequest]) {
        let Some(base) = self.http_base() else {
            return;
        };
        for request in requests {
            if let Some(token) = &request.token {
                request.resume_url = Some(format!("{base}/v1/resume/{token}"));
            }
        }
    }

    /// `POST /v1/resume/{token}`: answers the one pause the token was given
    /// to, by the rules of `play_resume`. A token nobody holds is not found,
    /// and so is one whose play has ended (it can do nothing any more),
    /// unless it repeats the answer the pause took.
    pub async fn resume_by_token(&self, token: &str, payload: Value) -> Result<ResumeAck> {
        let unknown = || {
            EngineError::NotFound("no open pause has this token".into())
                .with_hint("the token may be mistyped, or its play has ended")
        };
        let (sid, id) = self.store().resume_token(token)?.ok_or_else(unknown)?;
        let ended = self.play_snapshot(&sid)?.is_terminal();
        match self.resume(&sid, &id, payload).await {
            // The same answer again is `ok` even after the play ended, so a
            // webhook sender that retries is not told it failed.
            Ok(ack) => Ok(ack),
            Err(_) if ended => Err(unknown()),
            Err(e) => Err(e),
        }
    }

    /// A new key, returned this once; only its digest is stored.
    pub async fn http_key_create(&self, label: Option<String>) -> Result<NewHttpKey> {
        if let Some(label) = &label
            && (label.len() > MAX_KEY_LABEL || label.chars().any(char::is_control))
        {
            return Err(EngineError::InvalidParams(format!(
                "a key's label is at most {MAX_KEY_LABEL} bytes, without control characters"
            )));
        }
        let key = secret::http_key().map_err(random_failed)?;
        let info = HttpKey {
            id: crate::ids::new_sid(),
            label,
            created_at: now(),
            last_used_at: None,
        };
        let record = KeyRecord {
            key: info.clone(),
            digest: secret::key_digest(&key),
        };
        self.inner
            .writer
            .durable(crate::store::writer::always(move |tx| {
                tx.put_http_key(&record)
            }))
            .await?;
        tracing::info!("HTTP key {} created", info.id);
        Ok(NewHttpKey { info, key })
    }

    /// Every key, oldest first, without its digest.
    pub fn http_key_list(&self) -> Result<Vec<HttpKey>> {
        let mut keys: Vec<HttpKey> = self
            .store()
            .http_keys()?
            .into_iter()
            .map(|r| r.key)
            .collect();
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(keys)
    }

    /// Revokes a key at once: the next request that presents it gets `401`.
    pub async fn http_key_revoke(&self, id: &str) -> Result<HttpKey> {
        let wanted = id.to_owned();
        let revoked = self
            .inner
            .writer
            .durable(move |snapshot: &crate::store::Snapshot<'_>| {
                let Some(record) = snapshot.http_key(&wanted)? else {
                    return Err(
                        EngineError::NotFound(format!("no HTTP key has id `{wanted}`"))
                            .with_hint("`hero_logic http-key list` shows them"),
                    );
                };
                Ok(Plan::new(move |tx| {
                    tx.delete_http_key(&record.key.id).map(|()| record.key)
                }))
            })
            .await?;
        tracing::info!("HTTP key {} revoked", revoked.id);
        Ok(revoked)
    }

    /// The id of the key `presented` is, unless it is unknown or revoked.
    /// Every stored digest is compared, in constant time, so how long the
    /// check takes says nothing about how close a guess came.
    pub fn http_key_check(&self, presented: &str) -> Result<Option<String>> {
        let digest = secret::key_digest(presented);
        let mut found = None;
        for record in self.store().http_keys()? {
            if secret::same_digest(&record.digest, &digest) {
                found = Some(record.key.id);
            }
        }
        Ok(found)
    }

    /// Notes that key `id` served a request that succeeded, at most once a
    /// minute (a refused request changes nothing in the store).
    pub fn http_key_used(&self, id: &str) {
        let id = id.to_owned();
        self.inner
            .writer
            .deferred(move |snapshot: &crate::store::Snapshot<'_>| {
                // A key revoked meanwhile stays revoked.
                let Some(mut record) = snapshot.http_key(&id)? else {
                    return Ok::<_, EngineError>(Plan::nothing(()));
                };
                let fresh = record.key.last_used_at.as_deref().is_some_and(|at| {
                    at.parse::<jiff::Timestamp>().is_ok_and(|at| {
                        jiff::Timestamp::now().duration_since(at).unsigned_abs() < TOUCH_EVERY
                    })
                });
                if fresh {
                    return Ok(Plan::nothing(()));
                }
                record.key.last_used_at = Some(now());
                Ok(Plan::new(move |tx| tx.put_http_key(&record)))
            })
            .queue();
    }
}
