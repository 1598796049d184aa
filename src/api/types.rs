//! Request and answer types of the RPC methods (SPEC §3), by name.
//!
//! Params are structs that refuse unknown fields, so a missing or mistyped
//! field is a `-32602` naming it before anything is stored. Answers that
//! are not plain model types (`SavedWorkflow`, `WorkflowDetail`) live here
//! too, so that a client reads them without knowing the engine.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::model::{JsonMap, LintWarning, ResumeRequest, SpanKind, Workflow};

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
    /// An absolute path to an existing folder; a child play without one
    /// inherits its parent's.
    #[serde(default)]
    pub working_dir: Option<String>,
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

/// A saved workflow and what the lint found in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedWorkflow {
    #[serde(flatten)]
    pub workflow: Workflow,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<LintWarning>,
}

/// One step a run replayed, sent by the SDK as the compact array
/// `[seq, parent_id, step_key, child_play_sid, name, kind]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReplayedStep {
    pub seq: u64,
    pub parent_id: Option<String>,
    pub step_key: String,
    pub child_play_sid: Option<String>,
    pub name: String,
    pub kind: SpanKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SidOrName {
    pub sid_or_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaySid {
    pub play_sid: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionSid {
    pub version_sid: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSave {
    #[serde(default)]
    pub name: Option<String>,
    pub source: String,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub source_path: Option<String>,
    #[serde(default)]
    pub replace: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayWait {
    pub play_sid: String,
    #[serde(default)]
    pub timeout_ms: u64,
}

/// `play_count`: `play_list`'s filters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayCount {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub workflow: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayList {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub workflow: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub before: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaySpans {
    pub play_sid: String,
    #[serde(default)]
    pub run: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayLogs {
    pub play_sid: String,
    #[serde(default)]
    pub run: Option<u32>,
    #[serde(default)]
    pub after: Option<u64>,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayResume {
    pub play_sid: String,
    pub resume_id: String,
    pub payload_json: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayRestart {
    pub play_sid: String,
    #[serde(default)]
    pub version: Option<String>,
}

// The SDK's messages. Each names its play and run, or leaves them out to
// mean the run its connection attached to (`RunChannel::check`); unknown
// fields are refused, so a message is taken whole or not at all.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunAttach {
    pub token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanEvent<'a> {
    #[serde(default)]
    pub play_sid: Option<String>,
    #[serde(borrow)]
    pub span: &'a RawValue,
}

/// Steps a run replayed, as `[seq, parent_id, step_key, child_play_sid,
/// name, kind]`: the SDK's compact form (see `Engine::spans_replayed`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpansReplayed {
    #[serde(default)]
    pub play_sid: Option<String>,
    #[serde(default)]
    pub run: Option<u32>,
    pub at: String,
    pub items: Vec<ReplayedStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepOutput<'a> {
    #[serde(default)]
    pub play_sid: Option<String>,
    #[serde(default)]
    pub run: Option<u32>,
    pub step_key: String,
    #[serde(borrow)]
    pub output: &'a RawValue,
    #[serde(borrow, default)]
    pub span: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    #[serde(default)]
    pub play_sid: Option<String>,
    #[serde(default)]
    pub run: Option<u32>,
    pub request: ResumeRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    #[serde(default)]
    pub play_sid: Option<String>,
    #[serde(default)]
    pub run: Option<u32>,
    pub status: String,
    #[serde(default)]
    pub output: Value,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowResolve {
    #[serde(default)]
    pub play_sid: Option<String>,
    pub name: String,
}
