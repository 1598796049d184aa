//! The data model of SPEC §1, once: every other module speaks these types.
//!
//! Field names are the wire names of the RPC and of every `--json` output, so
//! renaming a field here is a breaking change for scripts outside the project.
//! This module knows nothing of redb, JSON-RPC or terminals.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A JSON object keyed by string, in key order so that output is stable.
pub type JsonMap = BTreeMap<String, Value>;

/// A named flow script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    pub sid: String,
    pub name: String,
    pub description: String,
    pub current_version_sid: String,
    pub inputs: Vec<FlowField>,
    pub outputs: Vec<FlowField>,
    pub created_at: String,
    pub updated_at: String,
    /// The absolute path of the file it was saved from, so that another
    /// file with the same stem is refused instead of becoming a version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

/// One immutable saved source; its sid is derived from the content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowVersion {
    pub sid: String,
    pub workflow_sid: String,
    pub source: String,
    pub file_name: String,
    pub created_at: String,
}

/// One input or output of a flow, read from `main`'s signature or `outputs=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowField {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub required: bool,
    pub default: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Str,
    Int,
    Float,
    Bool,
    List,
    Dict,
    Any,
}

impl FieldType {
    /// Whether `value` fits this type, as `play_start` checks `input_data`.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            FieldType::Str => value.is_string(),
            // A Python int has no bound: any number written without a
            // fraction or an exponent is one.
            FieldType::Int => value.as_number().is_some_and(|n| {
                n.is_i64()
                    || n.is_u64()
                    || n.to_string()
                        .trim_start_matches('-')
                        .bytes()
                        .all(|b| b.is_ascii_digit())
            }),
            FieldType::Float => value.is_number(),
            FieldType::Bool => value.is_boolean(),
            FieldType::List => value.is_array(),
            FieldType::Dict => value.is_object(),
            FieldType::Any => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Str => "str",
            FieldType::Int => "int",
            FieldType::Float => "float",
            FieldType::Bool => "bool",
            FieldType::List => "list",
            FieldType::Dict => "dict",
            FieldType::Any => "any",
        }
    }
}

/// One execution of one workflow version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Play {
    pub sid: String,
    pub name: String,
    pub workflow_sid: String,
    pub workflow_version_sid: String,
    pub status: PlayStatus,
    pub input_data: Value,
    pub output_data: Value,
    pub error: Option<String>,
    pub parent_play_sid: Option<String>,
    pub parent_span_id: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub runs: u32,
    pub pending_resumes: Vec<ResumeRequest>,
    pub received_resumes: JsonMap,
    pub step_outputs: JsonMap,
    pub prefill_resumes: JsonMap,
    /// Pauses already answered, with their payload and `resumed_at`: what
    /// makes a second identical `play_resume` idempotent.
    #[serde(default)]
    pub answered_resumes: Vec<ResumeRequest>,
    pub total_cost_usd: f64,
    /// Seconds after which a run is killed and the play ends `timed_out`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// Set by `play_get` when the workflow has been saved again since this
    /// play was pinned; never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer_version_sid: Option<String>,
    /// The process group of the run alive now, so that a server restarting
    /// after a crash can kill a script it left behind before recovering the
    /// play; absent when no run is alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_pgid: Option<i32>,
    /// Number of finished step checkpoints; filled where `step_outputs` is
    /// left out (lists), so a summary can still say how far a play got.
    #[serde(default)]
    pub steps_done: u64,
    /// The folder every run of the play runs in, so that a flow's relative
    /// paths mean what its user meant; none: the data folder.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// Runs started again, since the last pause, because the one before
    /// died by a signal.
    #[serde(default)]
    pub run_retries: u32,
    /// When `play_retry` last ran the play again.
    #[serde(default)]
    pub retried_at: Option<String>,
    /// The schedule that started the play.
    #[serde(default)]
    pub schedule: Option<String>,
    /// The key a second start with the same key gets this play back by.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Signals sent by name before a pause of that name was reached, in
    /// the order they came: the next such pause takes the first.
    #[serde(default)]
    pub signals: Vec<Signal>,
    /// What became of each signal sent to the play (the last
    /// [`MAX_SIGNAL_EVENTS`]), so a refused delivery is seen.
    #[serde(default)]
    pub signal_events: Vec<SignalEvent>,
}

/// The most signal events a play keeps; older ones are dropped.
pub const MAX_SIGNAL_EVENTS: usize = 200;

/// A signal kept on a play until a pause of its name takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub name: String,
    pub payload: Value,
    pub at: String,
}

/// What became of one signal: `play_signal`'s answer, and an event on the
/// play.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalEvent {
    pub name: String,
    pub at: String,
    pub outcome: SignalOutcome,
    /// The pause that took it, or refused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_id: Option<String>,
    /// Why the pause refused it: its schema's violations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalOutcome {
    /// It answered an open pause of its name.
    Answered,
    /// No pause of its name was open: kept on the play.
    Kept,
    /// A pause of its name, reached later, took it without stopping.
    Taken,
    /// The pause's schema refused it; the pause stays open.
    Refused,
}

impl Play {
    /// A play of one workflow version that has not run yet: `pending`, no
    /// runs, nothing asked, answered or checkpointed, no parent, no
    /// timeout. Set the rest by field (`Play { runs: 1, ..Play::new(…) }`).
    pub fn new(
        sid: String,
        name: String,
        workflow_sid: String,
        workflow_version_sid: String,
        input_data: Value,
        created_at: String,
    ) -> Play {
        Play {
            sid,
            name,
            workflow_sid,
            workflow_version_sid,
            status: PlayStatus::Pending,
            input_data,
            output_data: Value::Null,
            error: None,
            parent_play_sid: None,
            parent_span_id: None,
            created_at,
            started_at: None,
            ended_at: None,
            runs: 0,
            pending_resumes: Vec::new(),
            received_resumes: JsonMap::new(),
            step_outputs: JsonMap::new(),
            prefill_resumes: JsonMap::new(),
            answered_resumes: Vec::new(),
            total_cost_usd: 0.0,
            timeout_s: None,
            newer_version_sid: None,
            run_pgid: None,
            steps_done: 0,
            working_dir: None,
            run_retries: 0,
            retried_at: None,
            schedule: None,
            idempotency_key: None,
            signals: Vec::new(),
            signal_events: Vec::new(),
        }
    }

    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// Pauses asked and not yet answered: the dashboard's badge.
    pub fn open_pauses(&self) -> usize {
        self.pending_resumes
            .iter()
            .filter(|r| r.resumed_at.is_none())
            .count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayStatus {
    Pending,
    Running,
    AwaitingResume,
    Success,
    Failed,
    Cancelled,
    TimedOut,
}

impl PlayStatus {
    pub const ALL: [PlayStatus; 7] = [
        PlayStatus::Pending,
        PlayStatus::Running,
        PlayStatus::AwaitingResume,
        PlayStatus::Success,
        PlayStatus::Failed,
        PlayStatus::Cancelled,
        PlayStatus::TimedOut,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            PlayStatus::Success | PlayStatus::Failed | PlayStatus::Cancelled | PlayStatus::TimedOut
        )
    }

    /// Whether `play_wait` returns on this status.
    pub fn is_settled(self) -> bool {
        self.is_terminal() || self == PlayStatus::AwaitingResume
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PlayStatus::Pending => "pending",
            PlayStatus::Running => "running",
            PlayStatus::AwaitingResume => "awaiting_resume",
            PlayStatus::Success => "success",
            PlayStatus::Failed => "failed",
            PlayStatus::Cancelled => "cancelled",
            PlayStatus::TimedOut => "timed_out",
        }
    }

    pub fn parse(s: &str) -> Option<PlayStatus> {
        PlayStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The exit code of `play wait` and `play start --wait` (SPEC §6).
    pub fn exit_code(self) -> i32 {
        match self {
            PlayStatus::Success => 0,
            PlayStatus::Failed => 1,
            PlayStatus::Cancelled => 3,
            PlayStatus::AwaitingResume => 75,
            PlayStatus::TimedOut => 124,
            PlayStatus::Pending | PlayStatus::Running => 124,
        }
    }
}

impl std::fmt::Display for PlayStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One traced call inside a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub id: String,
    pub play_sid: String,
    pub run: u32,
    pub parent_id: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    pub status: SpanStatus,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_ms: Option<f64>,
    #[serde(default)]
    pub inputs: Value,
    #[serde(default)]
    pub output: Value,
    pub error: Option<String>,
    pub source_file: Option<String>,
    pub source_line: Option<u32>,
    pub step_key: Option<String>,
    pub child_play_sid: Option<String>,
    #[serde(default)]
    pub cost_usd: f64,
    /// Which try of a step with `retries` this span is, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
}

impl Span {
    /// The order of this span within its run; ids are `RUN.SEQ`.
    pub fn seq(&self) -> u64 {
        self.id
            .rsplit_once('.')
            .and_then(|(_, seq)| seq.parse().ok())
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    FlowRoot,
    Step,
    Rpc,
    Subflow,
    Other,
}

impl SpanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::FlowRoot => "flow_root",
            SpanKind::Step => "step",
            SpanKind::Rpc => "rpc",
            SpanKind::Subflow => "subflow",
            SpanKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanStatus {
    Running,
    Success,
    Failed,
    Replayed,
    Paused,
    Cancelled,
}

impl SpanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SpanStatus::Running => "running",
            SpanStatus::Success => "success",
            SpanStatus::Failed => "failed",
            SpanStatus::Replayed => "replayed",
            SpanStatus::Paused => "paused",
            SpanStatus::Cancelled => "cancelled",
        }
    }
}

/// One open or answered pause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeRequest {
    pub id: String,
    pub name: String,
    pub schema: Value,
    pub ui: Value,
    pub asked_at_span_id: Option<String>,
    pub asked_at: String,
    pub payload: Value,
    pub resumed_at: Option<String>,
    /// What the pause waits for: an answer from outside, the clock, a
    /// child play, or a signal.
    #[serde(default)]
    pub kind: ResumeKind,
    /// When a timer wakes the play.
    #[serde(default)]
    pub wake_at: Option<String>,
    /// When a pause with `timeout_s` gives up waiting.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// What the pause resolves with at `expires_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnTimeout>,
    /// Who answered, when not `play_resume` or a prefill: `timer` or
    /// `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The secret that answers this pause and nothing else, over HTTP
    /// (`POST /v1/resume/{token}`): 128 random bits from the OS, URL-safe,
    /// given by the server when the pause is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Where to post the answer while the server's HTTP listener is on;
    /// filled in when the pause is read, never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_url: Option<String>,
}

impl ResumeRequest {
    /// When the clock answers this request, if it does.
    pub fn due_at(&self) -> Option<&str> {
        match self.kind {
            ResumeKind::Timer => self.wake_at.as_deref(),
            _ => self.expires_at.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResumeKind {
    #[default]
    Pause,
    Timer,
    Child,
    Signal,
}

/// What a pause with a deadline resolves with when nobody answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// The pause returns this payload.
    Default(Value),
    /// The pause raises `hero_tracing.PauseTimeout` in the flow.
    Raise,
}

/// A finding of `workflow lint`: non-determinism in a step's arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LintWarning {
    pub line: u32,
    pub col: u32,
    pub message: String,
    pub hint: String,
}

/// One captured line of a run's stdout or stderr.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub run: u32,
    pub seq: u64,
    pub stream: LogStream,
    pub line: String,
    pub at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// The result of `play_resume`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeAck {
    pub ok: bool,
    pub resumed_at: String,
}

/// What the server pushes to a subscribed connection when a play changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PlayEvent {
    /// The play's status, runs, pending list or output changed.
    Play { play: Box<Play> },
    /// A span started or ended.
    Span { span: Box<Span> },
}

impl PlayEvent {
    pub fn play_sid(&self) -> &str {
        match self {
            PlayEvent::Play { play } => &play.sid,
            PlayEvent::Span { span } => &span.play_sid,
        }
    }
}

/// RFC 3339 UTC timestamp of now, as every stored time is written.
pub fn now() -> String {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Microsecond)
        .unwrap_or(now)
        .to_string()
}

/// The longest timeout a request may ask for, in seconds: ten years. Longer
/// is surely a mistake, and a bound keeps every deadline computable.
pub const MAX_TIMEOUT_S: f64 = 10.0 * 365.25 * 86_400.0;

/// A timeout in seconds as a duration, when it is one a request may ask
/// for: a finite number above zero and at most [`MAX_TIMEOUT_S`]; else why
/// not.
pub fn timeout_from_secs(secs: f64) -> Result<std::time::Duration, String> {
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!(
            "a timeout must be a positive number of seconds, not {secs}"
        ));
    }
    if secs > MAX_TIMEOUT_S {
        return Err(format!(
            "a timeout of {secs} s is over the limit of ten years ({MAX_TIMEOUT_S} s)"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Whether a schedule's fire starts a play while its previous play has not
/// ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// The fire is skipped.
    #[default]
    Skip,
    /// The play starts once the previous one has ended.
    Queue,
    /// The play starts at once.
    Allow,
}

/// Which fires missed while no server ran start plays when one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Catchup {
    /// One play, for the most recent missed fire.
    #[default]
    Latest,
    /// One play per missed fire, at most 100.
    All,
    /// None: only fires on time start plays.
    None,
}

/// Starts plays of a workflow by the clock: a cron rule in a zone, or an
/// interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub name: String,
    pub workflow_sid: String,
    pub cron: Option<String>,
    pub every_s: Option<u64>,
    pub tz: Option<String>,
    pub input_data: Value,
    pub prefill_resumes: JsonMap,
    pub overlap: Overlap,
    pub catchup: Catchup,
    pub paused: bool,
    pub next_fire_at: Option<String>,
    pub last_fire_at: Option<String>,
    pub last_play_sid: Option<String>,
    pub created_at: String,
}

/// A key that lets a program outside use the HTTP API (SPEC §11). Only a
/// digest of the key itself is stored; this is what may be shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpKey {
    pub id: String,
    pub label: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// `http_key_create`'s answer: the key, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewHttpKey {
    #[serde(flatten)]
    pub info: HttpKey,
    pub key: String,
}

/// A server that shares the store with others (SPEC §12): what `hero_logic
/// workers --json` lists. With the embedded store, the one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub started_at: String,
    pub heartbeat_at: String,
    /// The plays it runs now.
    pub runs: Vec<String>,
}
