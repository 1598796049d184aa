//! Method dispatch: wire params in, model types out.
//!
//! The only place that knows both the method names of SPEC §3 and the
//! engine's calls. Params are structs, so a missing or mistyped field is a
//! `-32602` naming it, before anything is stored.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::rpc::{INVALID_PARAMS, METHOD_NOT_FOUND, RpcError};
use super::{Server, openrpc};
use crate::engine::{PauseAnswer, ReplayedStep, RunReport, SpanRecord, StartPlay};
use crate::model::{PlayStatus, ResumeRequest, WorkflowVersion};
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

fn span_record(raw: &RawValue) -> Result<SpanRecord, RpcError> {
    SpanRecord::from_json(raw.get().to_owned())
        .map_err(|e| RpcError::new(INVALID_PARAMS, format!("invalid span: {e}")))
}

fn to_value(value: impl serde::Serialize) -> Result<Value, RpcError> {
    Ok(serde_json::to_value(value).expect("model types serialize"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SidOrName {
    sid_or_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaySid {
    play_sid: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionSid {
    version_sid: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowSave {
    name: String,
    source: String,
    #[serde(default)]
    file_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayWait {
    play_sid: String,
    #[serde(default)]
    timeout_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayList {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    workflow: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    before: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaySpans {
    play_sid: String,
    #[serde(default)]
    run: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayLogs {
    play_sid: String,
    #[serde(default)]
    run: Option<u32>,
    #[serde(default)]
    after: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayResume {
    play_sid: String,
    resume_id: String,
    payload_json: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayRestart {
    play_sid: String,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
struct SpanEvent<'a> {
    #[serde(borrow)]
    span: &'a RawValue,
}

/// Steps a run replayed, as `[seq, parent_id, step_key, child_play_sid,
/// name, kind]`: the SDK's compact form (see `Engine::spans_replayed`).
#[derive(Deserialize)]
struct SpansReplayed {
    play_sid: String,
    run: u32,
    at: String,
    items: Vec<ReplayedStep>,
}

#[derive(Deserialize)]
struct StepOutput<'a> {
    play_sid: String,
    run: u32,
    step_key: String,
    #[serde(borrow)]
    output: &'a RawValue,
    #[serde(borrow, default)]
    span: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Pause {
    play_sid: String,
    run: u32,
    request: ResumeRequest,
}

#[derive(Deserialize)]
struct RunResult {
    play_sid: String,
    run: u32,
    status: String,
    #[serde(default)]
    output: Value,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct WorkflowResolve {
    name: String,
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
                format!("payload_json is not valid JSON: {e} (hint: a string payload is written '\"text\"')"),
            )
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
                        .workflow_save(&p.name, p.source, p.file_name, p.description)
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
            "workflow_resolve" => {
                let workflow = engine.workflow(&params::<WorkflowResolve>(raw)?.name)?;
                Ok(source_json(
                    engine.workflow_source(&workflow.current_version_sid)?,
                ))
            }
            "play_start" => {
                let request: StartPlay = params(raw)?;
                to_value(engine.play_start(request).await?)
            }
            "play_run_async" => {
                let request: StartPlay = params(raw)?;
                Ok(Value::String(engine.play_start(request).await?.sid))
            }
            "play_get" => to_value(engine.play_get(&params::<PlaySid>(raw)?.play_sid)?),
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
                        format!(
                            "timeout_ms {} is over the limit of ten years (hint: 0 waits without limit)",
                            p.timeout_ms
                        ),
                    ));
                }
                to_value(engine.play_wait(&p.play_sid, p.timeout_ms).await?)
            }
            "play_spans" => {
                let p: PlaySpans = params(raw)?;
                to_value(engine.play_spans(&p.play_sid, p.run)?)
            }
            "play_logs" => {
                let p: PlayLogs = params(raw)?;
                to_value(engine.play_logs(&p.play_sid, p.run, p.after)?)
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
            "play_pending_resumes" => {
                to_value(engine.play_pending_resumes(&params::<PlaySid>(raw)?.play_sid)?)
            }
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
            "server_shutdown" => {
                self.shutdown.notify_one();
                Ok(json!({"ok": true}))
            }
            "span_event" => {
                engine.span_event(span_record(params::<SpanEvent>(raw)?.span)?);
                Ok(json!({"ok": true}))
            }
            "spans_replayed" => {
                let p: SpansReplayed = params(raw)?;
                engine.spans_replayed(&p.play_sid, p.run, &p.at, p.items);
                Ok(json!({"ok": true}))
            }
            "step_output" => {
                // Blocks for the fsync: only a flow connection's own thread
                // gets here (see `Server::connection`).
                let p: StepOutput = params(raw)?;
                let span = p
                    .span
                    .filter(|s| s.get() != "null")
                    .map(span_record)
                    .transpose()?;
                engine.step_output(
                    &p.play_sid,
                    p.run,
                    p.step_key,
                    p.output.get().to_owned(),
                    span,
                )?;
                // Whether the flow may wait for its next checkpoint's answer
                // without sleeping: while it has a core to itself.
                Ok(json!({"ok": true, "spin": self.flows.may_poll()}))
            }
            "pause" => {
                let p: Pause = params(raw)?;
                Ok(match engine.pause(&p.play_sid, p.run, p.request).await? {
                    PauseAnswer::Answered(payload) => json!({"answered": true, "payload": payload}),
                    PauseAnswer::Pending => json!({"answered": false}),
                })
            }
            "run_result" => {
                let p: RunResult = params(raw)?;
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
                engine.run_result(&p.play_sid, p.run, report);
                Ok(json!({"ok": true}))
            }
            other => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("no method `{other}` (hint: `hero_logic rpc rpc.discover` lists them)"),
            )),
        }
    }
}
