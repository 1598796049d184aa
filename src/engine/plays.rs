//! Starting, reading, waiting on, cancelling and restarting plays.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use super::lifecycle::Event;
use super::{Engine, EngineError, Result};
use crate::ids::new_sid;
use crate::model::{
    JsonMap, LogLine, Play, PlayEvent, PlayStatus, ResumeRequest, Span, SpanStatus, Workflow,
    WorkflowVersion, now,
};
use crate::store::PlayFilter;

/// What `play_start` and `play_run_async` ask for.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StartPlay {
    pub workflow_sid: String,
    #[serde(default)]
    pub input_data: Option<Value>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub prefill_resumes: Option<JsonMap>,
    #[serde(default)]
    pub timeout_s: Option<f64>,
    #[serde(default)]
    pub parent_span_id: Option<String>,
    #[serde(default)]
    pub parent_play_sid: Option<String>,
    /// Pins a version other than the workflow's current one (restart).
    #[serde(skip)]
    pub version_sid: Option<String>,
}

/// `workflow_get`: the workflow and its versions, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkflowDetail {
    #[serde(flatten)]
    pub workflow: Workflow,
    pub versions: Vec<VersionRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionRef {
    pub sid: String,
    pub created_at: String,
}

/// Checks `input_data` against `main`'s signature before anything is stored.
fn check_input(workflow: &Workflow, input: &Value) -> Result<()> {
    let Some(object) = input.as_object() else {
        return Err(EngineError::InvalidParams(
            "input_data must be a JSON object of main's arguments".into(),
        ));
    };
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

impl Engine {
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
            EngineError::NotFound(format!(
                "no workflow `{sid_or_name}` (hint: `hero_logic workflow list` shows the saved ones)"
            ))
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

    /// Creates a play `pending` and queues its first run.
    pub async fn play_start(&self, request: StartPlay) -> Result<Play> {
        let workflow = self.workflow(&request.workflow_sid)?;
        let input = request
            .input_data
            .unwrap_or_else(|| Value::Object(Default::default()));
        check_input(&workflow, &input)?;
        if let Some(t) = request.timeout_s {
            crate::model::timeout_from_secs(t)
                .map_err(|why| EngineError::InvalidParams(format!("timeout_s: {why}")))?;
        }
        for pattern in request.prefill_resumes.iter().flat_map(|m| m.keys()) {
            glob::Pattern::new(pattern).map_err(|e| {
                EngineError::InvalidParams(format!("prefill pattern `{pattern}`: {e}"))
            })?;
        }
        if let Some(parent) = &request.parent_play_sid {
            self.play_snapshot(parent)?;
        }
        let play = Play {
            sid: new_sid(),
            name: request.name.unwrap_or_else(|| workflow.name.clone()),
            workflow_sid: workflow.sid.clone(),
            workflow_version_sid: request
                .version_sid
                .unwrap_or_else(|| workflow.current_version_sid.clone()),
            status: PlayStatus::Pending,
            input_data: input,
            output_data: Value::Null,
            error: None,
            parent_play_sid: request.parent_play_sid,
            parent_span_id: request.parent_span_id,
            created_at: now(),
            started_at: None,
            ended_at: None,
            runs: 0,
            pending_resumes: Vec::new(),
            received_resumes: JsonMap::new(),
            step_outputs: JsonMap::new(),
            prefill_resumes: request.prefill_resumes.unwrap_or_default(),
            total_cost_usd: 0.0,
            timeout_s: request.timeout_s,
            newer_version_sid: None,
            steps_done: 0,
            answered_resumes: Vec::new(),
            run_pgid: None,
        };
        let stored = play.clone();
        self.inner
            .writer
            .write(true, move |tx| tx.put_play(None, &stored))
            .await?;
        self.publish(PlayEvent::Play {
            play: Box::new(play.clone()),
        });
        self.schedule(&play.sid);
        Ok(play)
    }

    /// The whole play: its step outputs, and a note of a newer version.
    pub fn play_get(&self, sid: &str) -> Result<Play> {
        let mut play = self.play_snapshot(sid)?;
        play.step_outputs = self.store().step_outputs(sid)?;
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

    /// Returns once the play is terminal or awaiting a resume, or when the
    /// time is up (`timeout_ms == 0`: no limit). Wakes on the change itself.
    pub async fn play_wait(&self, sid: &str, timeout_ms: u64) -> Result<Play> {
        // No deadline past what the clock can hold: that long is no limit.
        let deadline = (timeout_ms > 0)
            .then(|| tokio::time::Instant::now().checked_add(Duration::from_millis(timeout_ms)))
            .flatten();
        let mut settled = self.inner.settled.subscribe();
        loop {
            let play = self.play_snapshot(sid)?;
            if play.status.is_settled() {
                return self.play_get(sid);
            }
            let changed = async {
                loop {
                    match settled.recv().await {
                        Ok(settled_sid) if settled_sid == sid => return,
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

    pub fn play_logs(
        &self,
        sid: &str,
        run: Option<u32>,
        after: Option<u64>,
    ) -> Result<Vec<LogLine>> {
        self.play_snapshot(sid)?;
        let mut lines = self.store().logs(sid, run)?;
        if let Some(after) = after {
            lines.retain(|l| l.seq > after);
        }
        Ok(lines)
    }

    pub fn play_pending_resumes(&self, sid: &str) -> Result<Vec<ResumeRequest>> {
        Ok(self.play_snapshot(sid)?.pending_resumes)
    }

    pub async fn play_cancel(&self, sid: &str) -> Result<Play> {
        self.transition(sid, |_| Event::Cancel { at: now() })
            .await?;
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
            version_sid: (!latest).then_some(old.workflow_version_sid),
        })
        .await
    }
}
