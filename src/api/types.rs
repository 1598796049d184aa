//! Request and answer types of the RPC methods (SPEC §3), by name.
//!
//! Params are structs that refuse unknown fields, so a missing or mistyped
//! field is a `-32602` naming it before anything is stored. Answers that
//! are not plain model types (`SavedWorkflow`, `WorkflowDetail`) live here
//! too, so that a client reads them without knowing the engine.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::model::{Catchup, JsonMap, LintWarning, Overlap, ResumeRequest, SpanKind, Workflow};

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
    /// A second start with a key already used for the workflow returns
    /// the play the first started and starts nothing (SPEC §11): a caller
    /// that lost the answer may simply ask again.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// `schedule_save`: a schedule's definition (SPEC §10). The engine fills
/// in the times; a name already taken is refused unless `replace`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSave {
    pub name: String,
    /// The workflow's sid or name.
    pub workflow_sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_s: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_resumes: Option<JsonMap>,
    #[serde(default)]
    pub overlap: Overlap,
    #[serde(default)]
    pub catchup: Catchup,
    #[serde(default)]
    pub paused: bool,
    /// Replace the schedule of that name, keeping its history (last fire
    /// and play, creation time).
    #[serde(default)]
    pub replace: bool,
}

/// `schedule_get`, `schedule_delete`, `schedule_trigger`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleName {
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSetPaused {
    pub name: String,
    pub paused: bool,
}

/// `http_key_create`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpKeyCreate {
    #[serde(default)]
    pub label: Option<String>,
}

/// `http_key_revoke`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpKeyId {
    pub id: String,
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

/// `play_prune`: how long ago a play must have ended, and of which status.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayPrune {
    pub before_s: f64,
    #[serde(default)]
    pub status: Option<String>,
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
pub struct PlaySignal {
    pub play_sid: String,
    pub name: String,
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::de::{self, Deserializer, Visitor};

    use super::*;
    use crate::api::METHODS;

    /// A deserializer that only writes down the field names a struct asks
    /// for, then gives up.
    struct Fields<'f>(&'f mut Vec<&'static str>);

    #[derive(Debug)]
    struct Done;
    impl std::fmt::Display for Done {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("done")
        }
    }
    impl std::error::Error for Done {}
    impl de::Error for Done {
        fn custom<T: std::fmt::Display>(_: T) -> Done {
            Done
        }
    }

    impl<'de> Deserializer<'de> for Fields<'_> {
        type Error = Done;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Done> {
            Err(Done)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Done> {
            self.0.extend(fields);
            Err(Done)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    fn fields<'de, T: Deserialize<'de>>() -> BTreeSet<&'static str> {
        let mut names = Vec::new();
        let _ = T::deserialize(Fields(&mut names));
        names.into_iter().collect()
    }

    fn listed(method: &str) -> BTreeSet<&'static str> {
        METHODS
            .iter()
            .find(|m| m.name == method)
            .unwrap_or_else(|| panic!("{method} is not listed"))
            .params
            .iter()
            .map(|(name, _, _)| *name)
            .collect()
    }

    /// Each params struct takes exactly what `METHODS` (and so
    /// `rpc.discover`) lists for its method. The server's dispatch is
    /// checked against `rpc.discover` end to end (`tests/e2e/api.rs`).
    #[test]
    fn each_params_struct_takes_what_the_method_list_says() {
        let cases: &[(&[&str], BTreeSet<&'static str>)] = &[
            (&["workflow_get"], fields::<SidOrName>()),
            (
                &[
                    "play_get",
                    "play_cancel",
                    "play_pending_resumes",
                    "play_retry",
                ],
                fields::<PlaySid>(),
            ),
            (&["workflow_source"], fields::<VersionSid>()),
            (&["workflow_save"], fields::<WorkflowSave>()),
            (&["play_wait"], fields::<PlayWait>()),
            (&["play_count"], fields::<PlayCount>()),
            (&["play_prune"], fields::<PlayPrune>()),
            (&["play_list"], fields::<PlayList>()),
            (&["play_spans"], fields::<PlaySpans>()),
            (&["play_logs"], fields::<PlayLogs>()),
            (&["play_resume"], fields::<PlayResume>()),
            (&["play_signal"], fields::<PlaySignal>()),
            (&["play_restart"], fields::<PlayRestart>()),
            (&["run_attach"], fields::<RunAttach>()),
            (&["span_event"], fields::<SpanEvent>()),
            (&["spans_replayed"], fields::<SpansReplayed>()),
            (&["step_output"], fields::<StepOutput>()),
            (&["pause"], fields::<Pause>()),
            (&["run_result"], fields::<RunResult>()),
            (&["workflow_resolve"], fields::<WorkflowResolve>()),
            (&["schedule_save"], fields::<ScheduleSave>()),
            (
                &["schedule_get", "schedule_delete", "schedule_trigger"],
                fields::<ScheduleName>(),
            ),
            (&["schedule_set_paused"], fields::<ScheduleSetPaused>()),
            (&["http_key_create"], fields::<HttpKeyCreate>()),
            (&["http_key_revoke"], fields::<HttpKeyId>()),
        ];
        for (methods, fields) in cases {
            for method in *methods {
                assert_eq!(&listed(method), fields, "{method}");
            }
        }
        // `StartPlay` serves both starts; each lists the part it takes.
        let start = fields::<StartPlay>();
        for method in ["play_start", "play_run_async"] {
            assert!(listed(method).is_subset(&start), "{method}");
        }
    }

    #[test]
    fn a_replayed_step_reads_from_the_sdks_compact_array() {
        let step: ReplayedStep =
            serde_json::from_str(r#"[3, "1.2", "k", null, "fetch", "step"]"#).unwrap();
        assert_eq!(step.seq, 3);
        assert_eq!(step.parent_id.as_deref(), Some("1.2"));
        assert_eq!(step.step_key, "k");
        assert_eq!(step.child_play_sid, None);
        assert_eq!(step.kind, SpanKind::Step);
    }
}
