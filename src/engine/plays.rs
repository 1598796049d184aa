//! Starting, reading, waiting on, cancelling and restarting plays.
//!
//! A play's status changes only through the lifecycle ([`super::lifecycle`]
//! via the driver); what is here checks a request before anything is
//! stored, and reads.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use super::lifecycle::{self, Event};
use super::{Engine, EngineError, Result};
use crate::api::{StartPlay, VersionRef, WorkflowDetail};
use crate::ids::new_sid;
use crate::model::{
    FlowField, LogLine, Play, PlayEvent, PlayStatus, ResumeRequest, Span, SpanStatus, Workflow,
    WorkflowVersion, now,
};
use crate::store::PlayFilter;
use crate::store::writer::Plan;

/// The most log lines one `play_logs` answers: a page.
pub const MAX_LOG_PAGE: usize = 10_000;

/// Checks `input_data` against `main`'s signature before anything is stored.
/// `known` says whether `main` takes the key; it is asked only of a key
/// that is not among `workflow.inputs`.
fn check_input(
    workflow: &Workflow,
    input: &Value,
    known: impl FnOnce() -> Result<Option<MainSignature>>,
) -> Result<()> {
    let Some(object) = input.as_object() else {
        return Err(EngineError::InvalidParams(
            "input_data must be a JSON object of main's arguments".into(),
        ));
    };
    let unknown: Vec<&String> = object
        .keys()
        .filter(|k| !workflow.inputs.iter().any(|f| &f.name == *k))
        .collect();
    if !unknown.is_empty()
        && let Some(signature) = known()?
        && !signature.any_keyword
    {
        let unknown: Vec<&String> = unknown
            .into_iter()
            .filter(|k| !signature.inputs.iter().any(|f| &f.name == *k))
            .collect();
        if !unknown.is_empty() {
            return Err(unknown_inputs(&workflow.name, &unknown, &signature.inputs));
        }
    }
    for field in &workflow.inputs {
        match object.get(&field.name) {
            None if field.required => {
                return Err(EngineError::InvalidParams(format!(
                    "input_data lacks `{}` ({}), a required input of workflow `{}`'s main",
                    field.name,
                    field.ty.as_str(),
                    workflow.name
                )));
            }
            Some(value) if !value.is_null() && !field.ty.accepts(value) => {
                return Err(EngineError::InvalidParams(format!(
                    "input `{}` of workflow `{}` must be {}, not {value}",
                    field.name,
                    workflow.name,
                    field.ty.as_str()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A play's working folder must be one a run can enter: checked when the
/// play starts, so that a typo is refused before anything is stored.
/// The longest idempotency key taken: long enough for a UUID or a
/// provider's event id with a prefix, short enough to be an index key.
pub const MAX_IDEMPOTENCY_KEY: usize = 256;

fn check_idempotency_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || key.chars().any(char::is_control) {
        return Err(EngineError::InvalidParams(format!(
            "idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY} bytes without control characters"
        ))
        .with_hint("use an id of the event that asks for the play, e.g. a UUID"));
    }
    Ok(())
}

fn checked_working_dir(dir: String) -> Result<String> {
    let path = std::path::Path::new(&dir);
    if !path.is_absolute() {
        return Err(EngineError::InvalidParams(format!(
            "working_dir must be an absolute path, not `{dir}`"
        )));
    }
    if !path.is_dir() {
        return Err(EngineError::InvalidParams(format!(
            "working_dir `{dir}` is not a folder the server can enter"
        )));
    }
    Ok(dir)
}

/// `main`'s parameters as the SDK read them from one version's source.
#[derive(Debug, Deserialize)]
struct MainSignature {
    inputs: Vec<FlowField>,
    /// `main(**kwargs)` takes any key.
    #[serde(default)]
    any_keyword: bool,
}

/// The refusal of keys `main` does not take, with its inputs and the
/// closest name to each key (a misspelling is the usual cause).
fn unknown_inputs(workflow: &str, unknown: &[&String], inputs: &[FlowField]) -> EngineError {
    let names = unknown
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let signature = if inputs.is_empty() {
        "main takes no inputs".to_owned()
    } else {
        let fields = inputs
            .iter()
            .map(|f| {
                let optional = if f.required { "" } else { "?" };
                format!("{}{optional}: {}", f.name, f.ty.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!("main takes {fields}")
    };
    let guesses: Vec<String> = unknown
        .iter()
        .filter_map(|k| {
            inputs
                .iter()
                .map(|f| (strsim::jaro_winkler(k, &f.name), &f.name))
                .filter(|(score, _)| *score >= 0.7)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, name)| format!("did you mean `{name}` for `{k}`?"))
        })
        .collect();
    let guesses = if guesses.is_empty() {
        String::new()
    } else {
        format!("{} ", guesses.join(" "))
    };
    EngineError::InvalidParams(format!(
        "input_data has {names}, not an input of workflow `{workflow}`'s main"
    ))
    .with_hint(format!("{guesses}{signature}"))
}

impl Engine {
    /// `main`'s signature in a version's stored analysis; `None` when the
    /// analysis predates the SDK's report of `**kwargs`, so nothing is refused.
    fn main_signature(&self, version_sid: &str) -> Result<Option<MainSignature>> {
        let version = self.version(version_sid)?;
        let hash = crate::ids::sha1_hex(&[&version.source]);
        let Some(analysis) = self.store().analysis(&hash)? else {
            return Ok(None);
        };
        if analysis.get("any_keyword").is_none() {
            return Ok(None);
        }
        serde_json::from_value(analysis)
            .map(Some)
            .map_err(|e| EngineError::Internal(format!("stored analysis: {e}")))
    }

    /// A play as stored, without its step outputs.
    pub(super) fn play_snapshot(&self, sid: &str) -> Result<Play> {
        self.store()
            .play(sid)?
            .ok_or_else(|| EngineError::NotFound(format!("no play with sid `{sid}`")))
    }

    pub(super) fn version(&self, sid: &str) -> Result<WorkflowVersion> {
        self.store()
            .version(sid)?
            .ok_or_else(|| EngineError::NotFound(format!("no workflow version `{sid}`")))
    }

    pub fn workflow(&self, sid_or_name: &str) -> Result<Workflow> {
        self.store().workflow(sid_or_name)?.ok_or_else(|| {
            EngineError::NotFound(format!("no workflow `{sid_or_name}`"))
                .with_hint("`hero_logic workflow list` shows the saved ones")
        })
    }

    pub fn workflow_detail(&self, sid_or_name: &str) -> Result<WorkflowDetail> {
        let workflow = self.workflow(sid_or_name)?;
        let versions = self
            .store()
            .versions_of(&workflow.sid)?
            .into_iter()
            .map(|(sid, created_at)| VersionRef { sid, created_at })
            .collect();
        Ok(WorkflowDetail { workflow, versions })
    }

    pub fn workflows(&self) -> Result<Vec<Workflow>> {
        Ok(self.store().workflows()?)
    }

    pub fn workflow_source(&self, version_sid: &str) -> Result<WorkflowVersion> {
        self.version(version_sid)
    }

    /// Creates a play `pending` and queues its first run. A request with
    /// an `idempotency_key` already used for its workflow gets the play
    /// that key started, and nothing new is stored.
    pub async fn play_start(&self, request: StartPlay) -> Result<Play> {
        let play = self.new_play(request)?;
        let stored = play.clone();
        let first = self
            .inner
            .writer
            .durable(move |snapshot: &crate::store::Snapshot<'_>| {
                if let Some(key) = &stored.idempotency_key
                    && let Some(sid) = snapshot.idempotent_play(&stored.workflow_sid, key)?
                {
                    return Ok::<_, EngineError>(Plan::nothing(Some(sid)));
                }
                Ok(Plan::new(move |tx| {
                    tx.put_play(None, &stored).map(|()| None)
                }))
            })
            .await?;
        if let Some(sid) = first {
            return self.play_get(&sid);
        }
        self.started(&play);
        Ok(play)
    }

    /// Tells the world about a play just stored, and queues its first run.
    pub(super) fn started(&self, play: &Play) {
        self.publish(PlayEvent::Play {
            play: Box::new(play.clone()),
        });
        self.schedule(&play.sid);
    }

    /// A new play `pending`, checked whole (workflow, input against `main`,
    /// timeout, prefill patterns, working folder) and not yet stored.
    pub(super) fn new_play(&self, request: StartPlay) -> Result<Play> {
        let workflow = self.workflow(&request.workflow_sid)?;
        let input = request
            .input_data
            .unwrap_or_else(|| Value::Object(Default::default()));
        let version_sid = request
            .version_sid
            .clone()
            .unwrap_or_else(|| workflow.current_version_sid.clone());
        check_input(&workflow, &input, || self.main_signature(&version_sid))?;
        if let Some(t) = request.timeout_s {
            crate::model::timeout_from_secs(t)
                .map_err(|why| EngineError::InvalidParams(format!("timeout_s: {why}")))?;
        }
        for pattern in request.prefill_resumes.iter().flat_map(|m| m.keys()) {
            glob::Pattern::new(pattern).map_err(|e| {
                EngineError::InvalidParams(format!("prefill pattern `{pattern}`: {e}"))
            })?;
        }
        if let Some(key) = &request.idempotency_key {
            check_idempotency_key(key)?;
        }
        let mut working_dir = request.working_dir.map(checked_working_dir).transpose()?;
        if let Some(parent) = &request.parent_play_sid {
            let parent = self.play_snapshot(parent)?;
            working_dir = working_dir.or(parent.working_dir);
        }
        let play = Play {
            parent_play_sid: request.parent_play_sid,
            parent_span_id: request.parent_span_id,
            prefill_resumes: request.prefill_resumes.unwrap_or_default(),
            timeout_s: request.timeout_s,
            working_dir,
            idempotency_key: request.idempotency_key,
            ..Play::new(
                new_sid(),
                request.name.unwrap_or_else(|| workflow.name.clone()),
                workflow.sid.clone(),
                version_sid,
                input,
                now(),
            )
        };
        Ok(play)
    }

    /// The whole play: its step outputs, and a note of a newer version.
    pub fn play_get(&self, sid: &str) -> Result<Play> {
        let mut play = self.play_snapshot(sid)?;
        play.step_outputs = self.store().step_outputs(sid)?;
        self.with_resume_urls(&mut play.pending_resumes);
        if let Some(workflow) = self.store().workflow(&play.workflow_sid)?
            && workflow.current_version_sid != play.workflow_version_sid
        {
            play.newer_version_sid = Some(workflow.current_version_sid);
        }
        Ok(play)
    }

    /// Newest first, without the large maps.
    pub fn play_list(&self, mut filter: PlayFilter) -> Result<Vec<Play>> {
        if let Some(w) = filter.workflow_sid.take() {
            filter.workflow_sid = Some(self.workflow(&w)?.sid);
        }
        let mut plays = self.store().plays(&filter)?;
        for play in &mut plays {
            play.received_resumes.clear();
            play.answered_resumes.clear();
        }
        Ok(plays)
    }

    /// How many plays `play_list` would return without a limit, so a cut
    /// list can say how much it left out.
    pub fn play_count(&self, mut filter: PlayFilter) -> Result<u64> {
        if let Some(w) = filter.workflow_sid.take() {
            filter.workflow_sid = Some(self.workflow(&w)?.sid);
        }
        Ok(self.store().count_plays(&filter)?)
    }

    /// Returns once the play is terminal or awaiting an answer from
    /// outside ([`Engine::waits_outside`]: not a timer, nor a child that
    /// waits for none), or when the time is up (`timeout_ms == 0`: no
    /// limit). Wakes on the change itself.
    pub async fn play_wait(&self, sid: &str, timeout_ms: u64) -> Result<Play> {
        // No deadline past what the clock can hold: that long is no limit.
        let deadline = (timeout_ms > 0)
            .then(|| tokio::time::Instant::now().checked_add(Duration::from_millis(timeout_ms)))
            .flatten();
        let mut settled = self.inner.settled.subscribe();
        loop {
            let play = self.play_snapshot(sid)?;
            // Awaiting only the clock or its children: any play's change may
            // be a child's that now waits for outside.
            let machine = play.status == PlayStatus::AwaitingResume && !self.waits_outside(&play);
            if play.status.is_settled() && !machine {
                return self.play_get(sid);
            }
            let changed = async {
                loop {
                    match settled.recv().await {
                        Ok(settled) if machine || settled.concerns(sid) => return,
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => return,
                        Err(RecvError::Closed) => std::future::pending::<()>().await,
                    }
                }
            };
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, changed).await.is_err() {
                        return self.play_get(sid);
                    }
                }
                None => changed.await,
            }
        }
    }

    /// Spans in start order. A replayed step's span is stored as the SDK
    /// sent it, without what the run that did the work recorded; its
    /// inputs and source come from that run's span and its output from the
    /// checkpoint.
    pub fn play_spans(&self, sid: &str, run: Option<u32>) -> Result<Vec<Span>> {
        self.play_snapshot(sid)?;
        let mut spans = self.store().spans(sid, run)?;
        let thin = |s: &Span| s.status == SpanStatus::Replayed && s.source_file.is_none();
        if !spans.iter().any(thin) {
            return Ok(spans);
        }
        let outputs = self.store().step_outputs(sid)?;
        let every_run = match run {
            Some(_) => self.store().spans(sid, None)?,
            None => spans.clone(),
        };
        let worked: HashMap<&str, &Span> = every_run
            .iter()
            .filter(|s| s.status != SpanStatus::Replayed)
            .filter_map(|s| Some((s.step_key.as_deref()?, s)))
            .collect();
        for span in spans.iter_mut().filter(|s| thin(s)) {
            let Some(key) = span.step_key.clone() else {
                continue;
            };
            if let Some(original) = worked.get(key.as_str()) {
                span.inputs = original.inputs.clone();
                span.source_file = original.source_file.clone();
                span.source_line = original.source_line;
            }
            if let Some(output) = outputs.get(&key) {
                span.output = output.clone();
            }
        }
        Ok(spans)
    }

    /// A page of a play's log lines after `after`: `limit` of them, at most
    /// [`MAX_LOG_PAGE`].
    pub fn play_logs(
        &self,
        sid: &str,
        run: Option<u32>,
        after: Option<u64>,
        limit: Option<usize>,
    ) -> Result<Vec<LogLine>> {
        let limit = limit.unwrap_or(MAX_LOG_PAGE);
        if !(1..=MAX_LOG_PAGE).contains(&limit) {
            return Err(EngineError::InvalidParams(format!(
                "limit must be from 1 to {MAX_LOG_PAGE} lines, not {limit}"
            )));
        }
        self.play_snapshot(sid)?;
        Ok(self.store().logs(sid, run, after, limit)?)
    }

    pub fn play_pending_resumes(&self, sid: &str) -> Result<Vec<ResumeRequest>> {
        let mut pending = self.play_snapshot(sid)?.pending_resumes;
        self.with_resume_urls(&mut pending);
        Ok(pending)
    }

    pub async fn play_cancel(&self, sid: &str) -> Result<Play> {
        self.transition(sid, |_| Event::Cancel { at: now() })
            .await?;
        self.play_get(sid)
    }

    /// Runs a play that failed, timed out or was cancelled again, same sid,
    /// from its checkpoints: no step that finished runs again.
    pub async fn play_retry(&self, sid: &str) -> Result<Play> {
        self.transition(sid, |_| Event::Retry { at: now() }).await?;
        self.play_get(sid)
    }

    /// A fresh play with the same input, on the pinned or the latest version.
    pub async fn play_restart(&self, sid: &str, latest: bool) -> Result<Play> {
        let old = self.play_snapshot(sid)?;
        let workflow = self.workflow(&old.workflow_sid)?;
        self.play_start(StartPlay {
            workflow_sid: workflow.sid,
            input_data: Some(old.input_data),
            name: Some(old.name),
            prefill_resumes: Some(old.prefill_resumes),
            timeout_s: old.timeout_s,
            parent_span_id: None,
            parent_play_sid: None,
            working_dir: old.working_dir,
            version_sid: (!latest).then_some(old.workflow_version_sid),
            idempotency_key: None,
        })
        .await
    }

    /// Whether `play` waits for an answer from outside, looking down its
    /// line of children awaited ([`lifecycle::waits_outside`]). A child
    /// that cannot be read counts as waiting for outside, so `play wait`
    /// returns rather than wait for what it cannot see.
    fn waits_outside(&self, play: &Play) -> bool {
        const DEEPEST: usize = 64;
        fn go(engine: &Engine, play: &Play, depth: usize) -> bool {
            lifecycle::waits_outside(play, |child| {
                depth >= DEEPEST
                    || engine
                        .play_snapshot(child)
                        .map_or(true, |c| go(engine, &c, depth + 1))
            })
        }
        go(self, play, 0)
    }
}
