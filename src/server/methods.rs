//! Method dispatch: wire params in, model types out.
//!
//! The only place that knows both the method names of SPEC §3 and the
//! engine's calls. Params are the structs of [`crate::api`], so a missing
//! or mistyped field is a `-32602` naming it, before anything is stored.
//! `tests/e2e/api.rs` checks that every method `rpc.discover` lists (from
//! [`crate::api::METHODS`]) is dispatched here with the params it lists.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::rpc::{INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, RpcError};
use super::{Server, openrpc};
use crate::api::{
    HttpKeyCreate, HttpKeyId, Pause, PlayCount, PlayList, PlayLogs, PlayPrune, PlayRestart,
    PlayResume, PlaySid, PlaySignal, PlaySpans, PlayWait, RunAttach, RunResult, ScheduleName,
    ScheduleSave, ScheduleSetPaused, SidOrName, SpanEvent, SpansReplayed, StartPlay, StepOutput,
    VersionSid, WorkflowResolve, WorkflowSave,
};
use crate::engine::{PauseAnswer, RunChannel, RunReport};
use crate::model::{PlayStatus, WorkflowVersion};
use crate::store::PlayFilter;

/// Decodes params by name into the method's struct; absent params are `{}`.
/// A refusal names the param at fault (`timeout_s`, `span.kind`).
fn params<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Result<T, RpcError> {
    let text = match raw.map(RawValue::get) {
        None | Some("null") => "{}",
        Some(text) => text,
    };
    let mut decoder = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut decoder).map_err(|e| {
        // Name the param that is wrong, not only the type it should have.
        let message = match e.path().to_string().as_str() {
            "." | "" => format!("invalid params: {}", e.inner()),
            path => format!("invalid params: `{path}`: {}", e.inner()),
        };
        RpcError::new(INVALID_PARAMS, message)
    })
}

fn to_value(value: impl serde::Serialize) -> Result<Value, RpcError> {
    Ok(serde_json::to_value(value).expect("model types serialize"))
}

fn parse_status(status: Option<&str>) -> Result<Option<PlayStatus>, RpcError> {
    status
        .map(|s| {
            PlayStatus::parse(s).ok_or_else(|| {
                RpcError::new(
                    INVALID_PARAMS,
                    format!(
                        "unknown status `{s}`: one of {}",
                        PlayStatus::ALL.map(|s| s.as_str()).join(", ")
                    ),
                )
            })
        })
        .transpose()
}

/// The token of a `run_attach` request, if it is one that carries one.
pub fn attach_token(raw: Option<&RawValue>) -> Result<String, RpcError> {
    params::<RunAttach>(raw).map(|p| p.token)
}

/// The result of `workflow_source` (and of the SDK's `workflow_resolve`).
fn source_json(version: WorkflowVersion) -> Value {
    json!({
        "version_sid": version.sid,
        "source": version.source,
        "file_name": version.file_name,
    })
}

/// `payload_json` is JSON text, as its name says; a caller that sends the
/// value itself (not a string) is taken at its word too.
fn payload(raw: Value) -> Result<Value, RpcError> {
    match raw {
        Value::String(text) => serde_json::from_str(&text).map_err(|e| {
            RpcError::new(
                INVALID_PARAMS,
                format!("payload_json is not valid JSON: {e}"),
            )
            .with_hint("a string payload is written '\"text\"'")
        }),
        other => Ok(other),
    }
}

impl Server {
    pub async fn dispatch(&self, method: &str, raw: Option<&RawValue>) -> Result<Value, RpcError> {
        let engine = &self.engine;
        match method {
            "info" => Ok(self.info()),
            "rpc.discover" => Ok(openrpc::document(&self.manifest)),
            "workflow_save" => {
                let p: WorkflowSave = params(raw)?;
                to_value(
                    engine
                        .workflow_save(crate::engine::SaveWorkflow {
                            name: p.name,
                            source: p.source,
                            file_name: p.file_name,
                            description: p.description,
                            source_path: p.source_path,
                            replace: p.replace,
                        })
                        .await?,
                )
            }
            "workflow_get" => {
                to_value(engine.workflow_detail(&params::<SidOrName>(raw)?.sid_or_name)?)
            }
            "workflow_list" => to_value(engine.workflows()?),
            "workflow_source" => Ok(source_json(
                engine.workflow_source(&params::<VersionSid>(raw)?.version_sid)?,
            )),
            "play_start" => {
                let request: StartPlay = params(raw)?;
                to_value(engine.play_start(request).await?)
            }
            "play_run_async" => {
                let request: StartPlay = params(raw)?;
                Ok(Value::String(engine.play_start(request).await?.sid))
            }
            "play_get" => to_value(engine.play_get(&params::<PlaySid>(raw)?.play_sid)?),
            "play_count" => {
                let p: PlayCount = params(raw)?;
                let filter = PlayFilter {
                    status: parse_status(p.status.as_deref())?,
                    workflow_sid: p.workflow,
                    ..PlayFilter::default()
                };
                to_value(engine.play_count(filter)?)
            }
            "play_prune" => {
                let p: PlayPrune = params(raw)?;
                let status = parse_status(p.status.as_deref())?;
                to_value(engine.play_prune(p.before_s, status).await?)
            }
            "play_list" => {
                let p: PlayList = params(raw)?;
                let status = match p.status.as_deref() {
                    None => None,
                    Some(s) => Some(PlayStatus::parse(s).ok_or_else(|| {
                        RpcError::new(
                            INVALID_PARAMS,
                            format!(
                                "unknown status `{s}`: one of {}",
                                PlayStatus::ALL.map(|s| s.as_str()).join(", ")
                            ),
                        )
                    })?),
                };
                to_value(engine.play_list(PlayFilter {
                    status,
                    workflow_sid: p.workflow,
                    before: p.before,
                    limit: p.limit.unwrap_or(0),
                })?)
            }
            "play_wait" => {
                let p: PlayWait = params(raw)?;
                if p.timeout_ms as f64 > crate::model::MAX_TIMEOUT_S * 1000.0 {
                    return Err(RpcError::new(
                        INVALID_PARAMS,
                        format!("timeout_ms {} is over the limit of ten years", p.timeout_ms),
                    )
                    .with_hint("0 waits without limit"));
                }
                to_value(engine.play_wait(&p.play_sid, p.timeout_ms).await?)
            }
            "play_spans" => {
                let p: PlaySpans = params(raw)?;
                to_value(engine.play_spans(&p.play_sid, p.run)?)
            }
            "play_logs" => {
                let p: PlayLogs = params(raw)?;
                to_value(engine.play_logs(&p.play_sid, p.run, p.after, p.limit)?)
            }
            "play_cancel" => to_value(
                engine
                    .play_cancel(&params::<PlaySid>(raw)?.play_sid)
                    .await?,
            ),
            "play_resume" => {
                let p: PlayResume = params(raw)?;
                let payload = payload(p.payload_json)?;
                to_value(engine.resume(&p.play_sid, &p.resume_id, payload).await?)
            }
            "play_signal" => {
                let p: PlaySignal = params(raw)?;
                let payload = payload(p.payload_json)?;
                to_value(engine.play_signal(&p.play_sid, &p.name, payload).await?)
            }
            "play_pending_resumes" => {
                to_value(engine.play_pending_resumes(&params::<PlaySid>(raw)?.play_sid)?)
            }
            "play_retry" => to_value(engine.play_retry(&params::<PlaySid>(raw)?.play_sid).await?),
            "play_restart" => {
                let p: PlayRestart = params(raw)?;
                let latest = match p.version.as_deref() {
                    None | Some("pinned") => false,
                    Some("latest") => true,
                    Some(other) => {
                        return Err(RpcError::new(
                            INVALID_PARAMS,
                            format!("version must be \"pinned\" or \"latest\", not \"{other}\""),
                        ));
                    }
                };
                to_value(engine.play_restart(&p.play_sid, latest).await?)
            }
            "schedule_save" => to_value(engine.schedule_save(params::<ScheduleSave>(raw)?).await?),
            "schedule_list" => to_value(engine.schedule_list()?),
            "schedule_get" => to_value(engine.schedule_get(&params::<ScheduleName>(raw)?.name)?),
            "schedule_delete" => {
                engine
                    .schedule_delete(&params::<ScheduleName>(raw)?.name)
                    .await?;
                Ok(json!({"ok": true}))
            }
            "schedule_set_paused" => {
                let p: ScheduleSetPaused = params(raw)?;
                to_value(engine.schedule_set_paused(&p.name, p.paused).await?)
            }
            "schedule_trigger" => to_value(
                engine
                    .schedule_trigger(&params::<ScheduleName>(raw)?.name)
                    .await?,
            ),
            "http_key_create" => to_value(
                engine
                    .http_key_create(params::<HttpKeyCreate>(raw)?.label)
                    .await?,
            ),
            "http_key_list" => to_value(engine.http_key_list()?),
            "workers_list" => to_value(engine.workers()?),
            "http_key_revoke" => to_value(
                engine
                    .http_key_revoke(&params::<HttpKeyId>(raw)?.id)
                    .await?,
            ),
            "server_shutdown" => {
                self.shutdown.notify_one();
                Ok(json!({"ok": true}))
            }
            other if crate::api::is_internal(other) => Err(RpcError::new(
                INVALID_REQUEST,
                format!(
                    "`{other}` is a flow run's message: it goes on a connection attached to the run with `run_attach`"
                ),
            )),
            other => Err(
                RpcError::new(METHOD_NOT_FOUND, format!("no method `{other}`"))
                    .with_hint("`hero_logic rpc rpc.discover` lists them"),
            ),
        }
    }

    /// A step's checkpoint: blocks until it is durable (an fsync, or a
    /// PostgreSQL commit). A flow connection's own thread calls it outside
    /// the runtime (see `Server::sdk_request`): PostgreSQL's writer may
    /// drive its connection on the caller's thread, which it cannot do
    /// inside another runtime.
    pub fn step_output(
        &self,
        channel: &RunChannel,
        raw: Option<&RawValue>,
    ) -> Result<Value, RpcError> {
        let p: StepOutput = params(raw)?;
        channel.check(p.play_sid.as_deref(), p.run)?;
        let span = p
            .span
            .filter(|s| s.get() != "null")
            .map(|s| s.get().to_owned());
        self.engine
            .step_output(channel, p.step_key, p.output.get().to_owned(), span)?;
        // Whether the flow may wait for its next checkpoint's answer
        // without sleeping: while it has a core to itself (spin.rs).
        Ok(json!({"ok": true, "spin": self.flows.may_spin()}))
    }

    /// One SDK message on a connection attached to `channel`'s run: checked
    /// against the channel, then whole, before anything is stored.
    pub async fn dispatch_sdk(
        &self,
        channel: &RunChannel,
        method: &str,
        raw: Option<&RawValue>,
    ) -> Result<Value, RpcError> {
        let engine = &self.engine;
        match method {
            "span_event" => {
                let p: SpanEvent = params(raw)?;
                channel.check(p.play_sid.as_deref(), None)?;
                engine.span_event(channel, p.span.get().to_owned())?;
                Ok(json!({"ok": true}))
            }
            "spans_replayed" => {
                let p: SpansReplayed = params(raw)?;
                channel.check(p.play_sid.as_deref(), p.run)?;
                engine.spans_replayed(channel, &p.at, p.items)?;
                Ok(json!({"ok": true}))
            }
            "step_output" => self.step_output(channel, raw),
            "pause" => {
                let p: Pause = params(raw)?;
                channel.check(p.play_sid.as_deref(), p.run)?;
                Ok(match engine.pause(channel, p.request).await? {
                    PauseAnswer::Answered(payload) => json!({"answered": true, "payload": payload}),
                    PauseAnswer::Pending => json!({"answered": false}),
                    PauseAnswer::TimedOut => {
                        json!({"answered": true, "payload": null, "timed_out": true})
                    }
                })
            }
            "run_result" => {
                let p: RunResult = params(raw)?;
                channel.check(p.play_sid.as_deref(), p.run)?;
                let report = match p.status.as_str() {
                    "success" => RunReport::Success(p.output),
                    "failed" => RunReport::Failed(p.error.unwrap_or_else(|| "failed".into())),
                    "paused" => RunReport::Paused,
                    other => {
                        return Err(RpcError::new(
                            INVALID_PARAMS,
                            format!("run_result status `{other}` is not success, failed or paused"),
                        ));
                    }
                };
                engine.run_result(channel, report)?;
                Ok(json!({"ok": true}))
            }
            "workflow_resolve" => {
                let p: WorkflowResolve = params(raw)?;
                channel.check(p.play_sid.as_deref(), None)?;
                let workflow = engine.workflow(&p.name)?;
                Ok(source_json(
                    engine.workflow_source(&workflow.current_version_sid)?,
                ))
            }
            "run_attach" => Err(RpcError::new(
                INVALID_REQUEST,
                format!(
                    "this connection is attached to run {} of play {} already",
                    channel.run(),
                    channel.play_sid()
                ),
            )),
            other => self.dispatch(other, raw).await,
        }
    }
}
