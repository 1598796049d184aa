//! The one list of RPC methods (SPEC §3) with their params and results.
//!
//! `rpc.discover` renders it; the server's dispatch and the typed client
//! are checked against it by tests (`server/methods.rs`,
//! `client/api.rs`), so the three cannot drift apart.

use serde_json::{Value, json};

/// `(name, required, JSON Schema)` of one param.
type Param = (&'static str, bool, fn() -> Value);

pub struct Method {
    pub name: &'static str,
    pub summary: &'static str,
    pub params: &'static [Param],
    pub result: fn() -> Value,
    /// Spoken by the flow SDK rather than by people and scripts.
    pub internal: bool,
}

fn string() -> Value {
    json!({"type": "string"})
}
fn integer() -> Value {
    json!({"type": "integer", "minimum": 0})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn number() -> Value {
    json!({"type": "number"})
}
fn object() -> Value {
    json!({"type": "object"})
}
fn any() -> Value {
    json!({})
}
fn play() -> Value {
    json!({"$ref": "#/components/schemas/Play"})
}
fn plays() -> Value {
    json!({"type": "array", "items": {"$ref": "#/components/schemas/Play"}})
}
fn workflow() -> Value {
    json!({"$ref": "#/components/schemas/Workflow"})
}
fn workflows() -> Value {
    json!({"type": "array", "items": {"$ref": "#/components/schemas/Workflow"}})
}
fn spans() -> Value {
    json!({"type": "array", "items": {"$ref": "#/components/schemas/Span"}})
}
fn resumes() -> Value {
    json!({"type": "array", "items": {"$ref": "#/components/schemas/ResumeRequest"}})
}
fn ok() -> Value {
    json!({"type": "object", "properties": {"ok": {"type": "boolean"}}})
}
fn checkpointed() -> Value {
    json!({"type": "object", "properties": {
        "ok": {"type": "boolean"}, "spin": {"type": "boolean"}}})
}
fn attached() -> Value {
    json!({"type": "object", "properties": {
        "play_sid": {"type": "string"}, "run": {"type": "integer"}}})
}
fn source() -> Value {
    json!({"type": "object", "properties": {
        "version_sid": {"type": "string"}, "source": {"type": "string"}, "file_name": {"type": "string"}}})
}
fn logs() -> Value {
    json!({"type": "array", "items": {"type": "object", "properties": {
        "run": {"type": "integer"}, "seq": {"type": "integer"},
        "stream": {"enum": ["stdout", "stderr"]}, "line": {"type": "string"}, "at": {"type": "string"}}}})
}
fn ack() -> Value {
    json!({"type": "object", "properties": {"ok": {"type": "boolean"}, "resumed_at": {"type": "string"}}})
}
pub fn status() -> Value {
    json!({"enum": ["pending", "running", "awaiting_resume", "success", "failed", "cancelled", "timed_out"]})
}
fn schedule() -> Value {
    json!({"$ref": "#/components/schemas/Schedule"})
}
fn schedules() -> Value {
    json!({"type": "array", "items": {"$ref": "#/components/schemas/Schedule"}})
}
fn overlap() -> Value {
    json!({"enum": ["skip", "queue", "allow"]})
}
fn catchup() -> Value {
    json!({"enum": ["latest", "all", "none"]})
}
fn version_choice() -> Value {
    json!({"enum": ["pinned", "latest"]})
}

/// Whether `method` is one the flow SDK speaks (`x-internal`).
pub fn is_internal(method: &str) -> bool {
    METHODS.iter().any(|m| m.internal && m.name == method)
}

pub const METHODS: &[Method] = &[
    Method {
        name: "info",
        summary: "The service manifest with pid, uptime, socket and data folder",
        params: &[],
        result: object,
        internal: false,
    },
    Method {
        name: "rpc.discover",
        summary: "This document",
        params: &[],
        result: object,
        internal: false,
    },
    Method {
        name: "workflow_save",
        summary: "Save a flow script as a new version of a workflow",
        params: &[
            ("name", false, string),
            ("source", true, string),
            ("file_name", false, string),
            ("description", false, string),
            ("source_path", false, string),
            ("replace", false, boolean),
        ],
        result: workflow,
        internal: false,
    },
    Method {
        name: "workflow_get",
        summary: "A workflow with its versions",
        params: &[("sid_or_name", true, string)],
        result: workflow,
        internal: false,
    },
    Method {
        name: "workflow_list",
        summary: "Every workflow",
        params: &[],
        result: workflows,
        internal: false,
    },
    Method {
        name: "workflow_source",
        summary: "The source of one version",
        params: &[("version_sid", true, string)],
        result: source,
        internal: false,
    },
    Method {
        name: "play_start",
        summary: "Start a play of a workflow's current version",
        params: &[
            ("workflow_sid", true, string),
            ("input_data", false, object),
            ("name", false, string),
            ("prefill_resumes", false, object),
            ("timeout_s", false, number),
            ("working_dir", false, string),
            ("idempotency_key", false, string),
        ],
        result: play,
        internal: false,
    },
    Method {
        name: "play_run_async",
        summary: "Start a play and return its sid; a child play when parent_span_id is given",
        params: &[
            ("workflow_sid", true, string),
            ("input_data", false, object),
            ("parent_span_id", false, string),
            ("parent_play_sid", false, string),
            ("prefill_resumes", false, object),
            ("working_dir", false, string),
            ("idempotency_key", false, string),
        ],
        result: string,
        internal: false,
    },
    Method {
        name: "play_wait",
        summary: "The play once it is terminal or awaiting a resume, or when the time is up (0: no limit)",
        params: &[("play_sid", true, string), ("timeout_ms", false, integer)],
        result: play,
        internal: false,
    },
    Method {
        name: "play_get",
        summary: "One play with its step outputs",
        params: &[("play_sid", true, string)],
        result: play,
        internal: false,
    },
    Method {
        name: "play_list",
        summary: "Plays, newest first, without the large maps",
        params: &[
            ("status", false, status),
            ("workflow", false, string),
            ("limit", false, integer),
            ("before", false, string),
        ],
        result: plays,
        internal: false,
    },
    Method {
        name: "play_count",
        summary: "How many plays play_list would return without a limit",
        params: &[("status", false, status), ("workflow", false, string)],
        result: integer,
        internal: false,
    },
    Method {
        name: "play_prune",
        summary: "Remove plays that ended more than before_s seconds ago (of one status, or any ended one), with their spans, logs and outputs; how many",
        params: &[("before_s", true, number), ("status", false, status)],
        result: integer,
        internal: false,
    },
    Method {
        name: "play_spans",
        summary: "The spans of a play, of one run or all",
        params: &[("play_sid", true, string), ("run", false, integer)],
        result: spans,
        internal: false,
    },
    Method {
        name: "play_logs",
        summary: "A page of captured stdout and stderr lines, after the seq `after`: `limit` of them (1 to 10,000, default 10,000)",
        params: &[
            ("play_sid", true, string),
            ("run", false, integer),
            ("after", false, integer),
            ("limit", false, integer),
        ],
        result: logs,
        internal: false,
    },
    Method {
        name: "play_cancel",
        summary: "Cancel a play, its process group and its spawned children",
        params: &[("play_sid", true, string)],
        result: play,
        internal: false,
    },
    Method {
        name: "play_resume",
        summary: "Answer a pause; validated against its schema; idempotent for the same payload",
        params: &[
            ("play_sid", true, string),
            ("resume_id", true, string),
            ("payload_json", true, any),
        ],
        result: ack,
        internal: false,
    },
    Method {
        name: "play_signal",
        summary: "Send a signal by name: it answers the oldest open pause of that name, or is kept \
                  on the play until such a pause is reached, which takes it without stopping (in the \
                  order signals came); the schema is checked then, a refusal noted on the play. \
                  Answers what became of it: {name, at, outcome: answered|kept|refused, resume_id?, violations?}",
        params: &[
            ("play_sid", true, string),
            ("name", true, string),
            ("payload_json", true, any),
        ],
        result: object,
        internal: false,
    },
    Method {
        name: "play_pending_resumes",
        summary: "The open pauses of a play",
        params: &[("play_sid", true, string)],
        result: resumes,
        internal: false,
    },
    Method {
        name: "play_retry",
        summary: "Run a failed, timed-out or cancelled play again, same sid, from its checkpoints",
        params: &[("play_sid", true, string)],
        result: play,
        internal: false,
    },
    Method {
        name: "play_restart",
        summary: "A fresh play with the same input, on the pinned or the latest version",
        params: &[
            ("play_sid", true, string),
            ("version", false, version_choice),
        ],
        result: play,
        internal: false,
    },
    Method {
        name: "schedule_save",
        summary: "Save a schedule: a five-field cron rule (in `tz`, default UTC) or an interval \
                  (`every_s`) that starts plays of a workflow; a name already taken is refused \
                  unless `replace`",
        params: &[
            ("name", true, string),
            ("workflow_sid", true, string),
            ("cron", false, string),
            ("every_s", false, integer),
            ("tz", false, string),
            ("input_data", false, object),
            ("prefill_resumes", false, object),
            ("overlap", false, overlap),
            ("catchup", false, catchup),
            ("paused", false, boolean),
            ("replace", false, boolean),
        ],
        result: schedule,
        internal: false,
    },
    Method {
        name: "schedule_list",
        summary: "Every schedule, by name",
        params: &[],
        result: schedules,
        internal: false,
    },
    Method {
        name: "schedule_get",
        summary: "One schedule",
        params: &[("name", true, string)],
        result: schedule,
        internal: false,
    },
    Method {
        name: "schedule_delete",
        summary: "Remove a schedule; the plays it started stay",
        params: &[("name", true, string)],
        result: ok,
        internal: false,
    },
    Method {
        name: "schedule_set_paused",
        summary: "Pause a schedule (it fires no more) or unpause it (it fires next by its rule, \
                  without catching up the fires missed while paused)",
        params: &[("name", true, string), ("paused", true, boolean)],
        result: schedule,
        internal: false,
    },
    Method {
        name: "schedule_trigger",
        summary: "Start a play of a schedule now, whatever its rule, pause and overlap",
        params: &[("name", true, string)],
        result: play,
        internal: false,
    },
    Method {
        name: "http_key_create",
        summary: "A new key for the HTTP API; the key is in this answer only (the server keeps its digest)",
        params: &[("label", false, string)],
        result: object,
        internal: false,
    },
    Method {
        name: "http_key_list",
        summary: "Every HTTP key: id, label, created_at, last_used_at (never the key)",
        params: &[],
        result: any,
        internal: false,
    },
    Method {
        name: "http_key_revoke",
        summary: "Revoke an HTTP key by id; a request presenting it gets 401 from then on",
        params: &[("id", true, string)],
        result: object,
        internal: false,
    },
    Method {
        name: "workers_list",
        summary: "The servers sharing this store (one with redb; every worker on a PostgreSQL database): id, host, pid, started_at, heartbeat_at, runs",
        params: &[],
        result: any,
        internal: false,
    },
    Method {
        name: "server_shutdown",
        summary: "Stop the server; running plays are recovered at its next start",
        params: &[],
        result: ok,
        internal: false,
    },
    Method {
        name: "subscribe",
        summary: "Turn this connection into a stream of `event` notifications (span, play) for one play or all; \
                  a `lagged` notification says events were missed (a slow reader, or other workers' \
                  changes unheard for a while): read what you show again",
        params: &[("play_sid", false, string)],
        result: ok,
        internal: false,
    },
    Method {
        name: "run_attach",
        summary: "SDK: bind this connection to one run, by the secret token the runner gave it \
                  (HERO_RUN_TOKEN); first on the connection. From then on it carries that run's \
                  messages only (their play_sid and run may be left out; given, they must name it), and \
                  the other SDK methods are refused on any connection that did not attach",
        params: &[("token", true, string)],
        result: attached,
        internal: true,
    },
    Method {
        name: "span_event",
        summary: "SDK: a span of the attached run started or ended (notification); checked whole \
                  (kind and status, ids of this run, finite numbers, 0 <= cost_usd <= 10000, sizes)",
        params: &[("play_sid", false, string), ("span", true, object)],
        result: ok,
        internal: true,
    },
    Method {
        name: "spans_replayed",
        summary: "SDK: steps the attached run replayed from their checkpoints, compactly (notification)",
        params: &[
            ("play_sid", false, string),
            ("run", false, integer),
            ("at", true, string),
            ("items", true, any),
        ],
        result: ok,
        internal: true,
    },
    Method {
        name: "step_output",
        summary: "SDK: a step's checkpoint, acknowledged once durable; the output must read back as JSON \
                  and the span be the step's own",
        params: &[
            ("play_sid", false, string),
            ("run", false, integer),
            ("step_key", true, string),
            ("output", true, any),
            ("span", false, object),
        ],
        result: checkpointed,
        internal: true,
    },
    Method {
        name: "pause",
        summary: "SDK: record a pause, or get its answer when one exists; a schema that is not a valid \
                  JSON Schema is refused (-32602) naming the pause",
        params: &[
            ("play_sid", false, string),
            ("run", false, integer),
            ("request", true, object),
        ],
        result: object,
        internal: true,
    },
    Method {
        name: "run_result",
        summary: "SDK: how the attached run ended, just before the script exits",
        params: &[
            ("play_sid", false, string),
            ("run", false, integer),
            ("status", true, string),
            ("output", false, any),
            ("error", false, string),
        ],
        result: ok,
        internal: true,
    },
    Method {
        name: "workflow_resolve",
        summary: "SDK: the current version of a workflow, for an in-process invoke",
        params: &[("play_sid", false, string), ("name", true, string)],
        result: source,
        internal: true,
    },
];
