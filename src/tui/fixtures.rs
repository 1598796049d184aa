//! Plays, spans and workflows with fixed sids and times, for the state
//! tests and the screen snapshots: with a fixed clock as well, every
//! rendered screen is the same on every run.

use serde_json::{Value, json};

use crate::model::{
    FieldType, FlowField, Play, PlayStatus, ResumeRequest, Span, SpanKind, SpanStatus, Workflow,
};

/// The clock of every test: five minutes after the plays were created.
pub fn now() -> jiff::Timestamp {
    "2026-11-02T10:05:00Z".parse().expect("a fixed time")
}

pub fn play(sid: &str) -> Play {
    Play {
        status: PlayStatus::Running,
        started_at: Some("2026-11-02T10:00:01Z".into()),
        runs: 1,
        ..Play::new(
            sid.into(),
            "approve".into(),
            "w-approve".into(),
            "v1a2b3c4d5e6".into(),
            json!({}),
            "2026-11-02T10:00:00Z".into(),
        )
    }
}

/// A finished step span `id` ("RUN.SEQ") of `play_sid`.
pub fn span(play_sid: &str, id: &str, parent: Option<&str>, name: &str) -> Span {
    let (run, seq) = id.split_once('.').expect("ids are RUN.SEQ");
    let seq: u32 = seq.parse().expect("a sequence number");
    Span {
        id: id.into(),
        play_sid: play_sid.into(),
        run: run.parse().expect("a run number"),
        parent_id: parent.map(Into::into),
        name: name.into(),
        kind: if parent.is_none() {
            SpanKind::FlowRoot
        } else {
            SpanKind::Step
        },
        status: SpanStatus::Success,
        started_at: format!("2026-11-02T10:00:{:02}Z", 1 + seq % 50),
        ended_at: Some(format!("2026-11-02T10:00:{:02}.120Z", 1 + seq % 50)),
        duration_ms: Some(120.0),
        inputs: json!({}),
        output: Value::Null,
        error: None,
        source_file: Some("/home/ada/flows/approve.py".into()),
        source_line: Some(10 + seq),
        step_key: None,
        child_play_sid: None,
        cost_usd: 0.0,
        attempt: None,
    }
}

pub fn workflow(name: &str, inputs: Vec<FlowField>) -> Workflow {
    Workflow {
        sid: format!("w-{name}"),
        name: name.into(),
        description: String::new(),
        current_version_sid: "v1a2b3c4d5e6".into(),
        inputs,
        outputs: Vec::new(),
        created_at: "2026-11-01T09:00:00Z".into(),
        updated_at: "2026-11-01T09:00:00Z".into(),
        source_path: None,
    }
}

/// `order(customer: str, amount: float = 1.5)`.
pub fn order_workflow() -> Workflow {
    workflow(
        "order",
        vec![
            FlowField {
                name: "customer".into(),
                ty: FieldType::Str,
                required: true,
                default: Value::Null,
            },
            FlowField {
                name: "amount".into(),
                ty: FieldType::Float,
                required: false,
                default: json!(1.5),
            },
        ],
    )
}

/// A play paused in its step `review` on the confirm `approve`.
pub fn paused_play_with_spans(sid: &str) -> (Play, Vec<Span>) {
    let mut play = play(sid);
    play.status = PlayStatus::AwaitingResume;
    play.input_data = json!({"order": 42});
    play.steps_done = 2;
    play.total_cost_usd = 0.0125;
    play.pending_resumes = vec![ResumeRequest {
        id: "r-approve".into(),
        name: "approve".into(),
        schema: json!({"type": "boolean"}),
        ui: json!({"kind": "confirm", "prompt": "Approve order 42?"}),
        asked_at_span_id: Some("1.4".into()),
        asked_at: "2026-11-02T10:00:04Z".into(),
        payload: Value::Null,
        resumed_at: None,
        kind: crate::model::ResumeKind::Pause,
        wake_at: None,
        expires_at: None,
        on_timeout: None,
        by: None,
        token: None,
        resume_url: None,
    }];
    let mut main = span(sid, "1.1", None, "main");
    main.status = SpanStatus::Paused;
    main.inputs = json!({"order": 42});
    let mut create = span(sid, "1.2", Some("1.1"), "create_order");
    create.inputs = json!({"order": 42});
    create.output = json!({"order_id": "A-42"});
    create.step_key = Some("k-create".into());
    let mut insert = span(sid, "1.3", Some("1.2"), "insert_row");
    insert.kind = SpanKind::Rpc;
    insert.cost_usd = 0.0125;
    let mut review = span(sid, "1.4", Some("1.1"), "review");
    review.status = SpanStatus::Paused;
    review.ended_at = None;
    review.duration_ms = None;
    (play, vec![main, create, insert, review])
}

/// A schedule of `approve` every five minutes, next firing at 10:09:10,
/// that has started no play yet.
pub fn schedule(name: &str) -> crate::model::Schedule {
    crate::model::Schedule {
        name: name.into(),
        workflow_sid: "w-approve".into(),
        cron: None,
        every_s: Some(300),
        tz: None,
        input_data: json!({"order": 42}),
        prefill_resumes: Default::default(),
        overlap: Default::default(),
        catchup: Default::default(),
        paused: false,
        next_fire_at: Some("2026-11-02T10:09:10Z".into()),
        last_fire_at: None,
        last_play_sid: None,
        created_at: "2026-11-01T09:00:00Z".into(),
    }
}
