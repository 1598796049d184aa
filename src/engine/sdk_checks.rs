//! What a well-formed SDK message is: every rule a span, a replayed step, a
//! checkpoint, a pause or a run's result meets before anything of it is
//! stored. A message that breaks one is refused whole, with an
//! [`EngineError::InvalidParams`] naming the field and the rule.
//!
//! The limits are far above what the SDK sends (step keys are 40
//! characters, pause ids 20) and far below what would hurt the store or a
//! reader: they bound what a flow that forges its own messages can put in.
//! A flow's own values (a step's inputs and output, a pause's payload) are
//! bounded only by the request size limit, as every payload is.

use serde_json::Value;

use super::channel::RunChannel;
use super::{EngineError, Result};
use crate::api::violations;
use crate::model::{OnTimeout, ResumeKind, ResumeRequest, Span};

/// Longest name of a span or a pause, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;
/// Longest step key, pause id or play sid, in bytes (the SDK's are 20–40).
pub const MAX_KEY_BYTES: usize = 128;
/// Longest source file path of a span, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;
/// Longest error text of a span or a run, in bytes; the SDK clips what it
/// sends well below it.
pub const MAX_ERROR_BYTES: usize = 1 << 20;
/// The largest cost one span may carry, in US dollars: a forged cost must
/// not make a play's total meaningless.
pub const MAX_SPAN_COST_USD: f64 = 10_000.0;

fn invalid(message: String) -> EngineError {
    EngineError::InvalidParams(message)
}

/// A bounded piece of text: not empty, and at most `max` bytes.
fn bounded(what: &str, text: &str, max: usize) -> Result<()> {
    if text.is_empty() {
        return Err(invalid(format!("{what} is empty")));
    }
    if text.len() > max {
        return Err(invalid(format!(
            "{what} is {} bytes, over the limit of {max}",
            text.len()
        )));
    }
    Ok(())
}

fn bounded_opt(what: &str, text: Option<&str>, max: usize) -> Result<()> {
    text.map_or(Ok(()), |text| bounded(what, text, max))
}

/// An RFC 3339 time, as every stored time is written.
pub fn timestamp(what: &str, text: &str) -> Result<()> {
    if text.len() > 64 || text.parse::<jiff::Timestamp>().is_err() {
        return Err(invalid(format!(
            "{what} `{}` is not an RFC 3339 time",
            text.chars().take(64).collect::<String>()
        )));
    }
    Ok(())
}

/// The seq of a span id of `channel`'s run: ids are `RUN.SEQ`, SEQ from 1.
fn seq_of(what: &str, id: &str, channel: &RunChannel) -> Result<u64> {
    let run = channel.run();
    let parsed = id
        .split_once('.')
        .and_then(|(r, s)| Some((r.parse::<u32>().ok()?, s.parse::<u64>().ok()?)))
        .filter(|&(r, s)| s > 0 && id == format!("{r}.{s}"));
    match parsed {
        Some((r, seq)) if r == run => Ok(seq),
        Some(_) => Err(invalid(format!(
            "{what} `{id}` belongs to another run than this connection's run {run}"
        ))),
        None => Err(invalid(format!(
            "{what} `{}` is not a span id of the form RUN.SEQ",
            id.chars().take(64).collect::<String>()
        ))),
    }
}

/// A parent span id: one of this run's, started before its child.
fn parent(parent_id: Option<&str>, seq: u64, channel: &RunChannel) -> Result<()> {
    let Some(parent_id) = parent_id else {
        return Ok(());
    };
    if seq_of("parent_id", parent_id, channel)? >= seq {
        return Err(invalid(format!(
            "parent_id `{parent_id}` did not start before its span (seq {seq})"
        )));
    }
    Ok(())
}

/// A span of `channel`'s run, as decoded: its seq when it is well-formed.
pub fn span(span: &Span, channel: &RunChannel) -> Result<u64> {
    if span.play_sid != channel.play_sid() || span.run != channel.run() {
        return Err(invalid(format!(
            "a span of play {} run {} is refused on the channel of play {} run {}",
            span.play_sid.chars().take(64).collect::<String>(),
            span.run,
            channel.play_sid(),
            channel.run()
        )));
    }
    let seq = seq_of("span id", &span.id, channel)?;
    parent(span.parent_id.as_deref(), seq, channel)?;
    bounded("span name", &span.name, MAX_NAME_BYTES)?;
    timestamp("started_at", &span.started_at)?;
    if let Some(ended_at) = &span.ended_at {
        timestamp("ended_at", ended_at)?;
    }
    if let Some(ms) = span.duration_ms
        && !(ms.is_finite() && ms >= 0.0)
    {
        return Err(invalid(format!(
            "duration_ms {ms} is not a finite number ≥ 0"
        )));
    }
    if span.attempt == Some(0) {
        return Err(invalid(
            "attempt 0: a step's attempts are counted from 1".into(),
        ));
    }
    let cost = span.cost_usd;
    if !(cost.is_finite() && (0.0..=MAX_SPAN_COST_USD).contains(&cost)) {
        return Err(invalid(format!(
            "cost_usd {cost} is not a number from 0 to {MAX_SPAN_COST_USD}"
        )));
    }
    if let Some(error) = &span.error
        && error.len() > MAX_ERROR_BYTES
    {
        return Err(invalid(format!(
            "the span's error is {} bytes, over the limit of {MAX_ERROR_BYTES}",
            error.len()
        )));
    }
    bounded_opt("source_file", span.source_file.as_deref(), MAX_PATH_BYTES)?;
    bounded_opt("step_key", span.step_key.as_deref(), MAX_KEY_BYTES)?;
    bounded_opt(
        "child_play_sid",
        span.child_play_sid.as_deref(),
        MAX_KEY_BYTES,
    )?;
    Ok(seq)
}

/// One step of `spans_replayed`: `(seq, parent_id, step_key,
/// child_play_sid, name)`.
pub fn replayed(
    seq: u64,
    parent_id: Option<&str>,
    step_key: &str,
    child: Option<&str>,
    name: &str,
    channel: &RunChannel,
) -> Result<()> {
    if seq == 0 {
        return Err(invalid("a replayed step's seq starts at 1".into()));
    }
    parent(parent_id, seq, channel)?;
    bounded("step_key", step_key, MAX_KEY_BYTES)?;
    bounded_opt("child_play_sid", child, MAX_KEY_BYTES)?;
    bounded("span name", name, MAX_NAME_BYTES)
}

pub fn step_key(key: &str) -> Result<()> {
    bounded("step_key", key, MAX_KEY_BYTES)
}

/// A step's output, as JSON text: it must read back as the same JSON value
/// in the flow. Integers of any size do (Python's are unbounded); a
/// fraction or exponent beyond a double, say `1e400`, passes a syntax check
/// only and would come back as infinity.
pub fn output(text: &str) -> Result<()> {
    let value = serde_json::from_str::<Value>(text)
        .map_err(|e| invalid(format!("the step's output does not read back as JSON: {e}")))?;
    if !reads_back(&value) {
        return Err(invalid(
            "the step's output does not read back as JSON: a number is beyond a double's range"
                .into(),
        ));
    }
    Ok(())
}

/// Whether every number in `value` is an integer or a finite double.
fn reads_back(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            !text.contains(['.', 'e', 'E']) || text.parse::<f64>().is_ok_and(f64::is_finite)
        }
        Value::Array(items) => items.iter().all(reads_back),
        Value::Object(fields) => fields.values().all(reads_back),
        _ => true,
    }
}

pub fn error_text(error: &str) -> Result<()> {
    if error.len() > MAX_ERROR_BYTES {
        return Err(invalid(format!(
            "the run's error is {} bytes, over the limit of {MAX_ERROR_BYTES}",
            error.len()
        )));
    }
    Ok(())
}

/// A pause as the SDK asks it: an open request of this run, whose schema
/// compiles (SPEC §3: every answer is checked against it, so a schema that
/// does not compile would refuse every answer, and the play could never go
/// on).
pub fn pause(request: &ResumeRequest, channel: &RunChannel) -> Result<()> {
    bounded("pause id", &request.id, MAX_KEY_BYTES)?;
    bounded("pause name", &request.name, MAX_NAME_BYTES)?;
    let name = &request.name;
    timestamp("asked_at", &request.asked_at)?;
    if let Some(span_id) = &request.asked_at_span_id {
        seq_of("asked_at_span_id", span_id, channel)?;
    }
    if request.token.is_some() || request.resume_url.is_some() {
        return Err(invalid(format!(
            "pause `{name}` is asked with a token: the server gives each pause its own"
        )));
    }
    if !request.payload.is_null() || request.resumed_at.is_some() {
        return Err(invalid(format!(
            "pause `{name}` is asked with an answer already (payload, resumed_at): a pause asks, `play_resume` answers"
        )));
    }
    if !(request.ui.is_null() || request.ui.is_object()) {
        return Err(invalid(format!(
            "pause `{name}`: ui must be an object or null"
        )));
    }
    if crate::api::child_of_pause(name).is_some() && !request.schema.is_null() {
        return Err(invalid(format!(
            "pause `{name}` waits on a child play and takes no schema"
        )));
    }
    schema(name, &request.schema)?;
    time_fields(request)
}

/// A pause's times: a timer has a `wake_at` and asks nobody (no `ui`, no
/// `schema`, no deadline); a deadline (`expires_at`) comes with what it
/// does (`on_timeout`), and a default must be an answer the schema takes,
/// or the pause could resolve with what no answer may be.
fn time_fields(request: &ResumeRequest) -> Result<()> {
    let name = &request.name;
    if let Some(wake_at) = &request.wake_at {
        timestamp(&format!("pause `{name}`: wake_at"), wake_at)?;
    }
    if let Some(expires_at) = &request.expires_at {
        timestamp(&format!("pause `{name}`: expires_at"), expires_at)?;
    }
    if request.kind == ResumeKind::Timer {
        if request.wake_at.is_none() {
            return Err(invalid(format!(
                "timer `{name}` has no wake_at: a timer says when it wakes"
            )));
        }
        if !request.ui.is_null() || !request.schema.is_null() {
            return Err(invalid(format!(
                "timer `{name}` asks nobody: its ui and schema must be null"
            )));
        }
        if request.expires_at.is_some() || request.on_timeout.is_some() {
            return Err(invalid(format!(
                "timer `{name}` takes no deadline (expires_at, on_timeout): it wakes at its wake_at"
            )));
        }
        return Ok(());
    }
    if request.wake_at.is_some() {
        return Err(invalid(format!(
            "pause `{name}` is of kind {:?}: only a timer has a wake_at",
            request.kind
        )));
    }
    match (&request.expires_at, &request.on_timeout) {
        (Some(_), None) => Err(invalid(format!(
            "pause `{name}` has an expires_at but no on_timeout: say `\"raise\"` or give a default"
        ))),
        (None, Some(_)) => Err(invalid(format!(
            "pause `{name}` has an on_timeout but no expires_at: there is no deadline to act on"
        ))),
        (_, Some(OnTimeout::Default(default))) => {
            let problems = violations(&request.schema, default);
            if problems.is_empty() {
                Ok(())
            } else {
                Err(invalid(format!(
                    "pause `{name}`: its default {} does not match its schema: {}",
                    default.to_string().chars().take(200).collect::<String>(),
                    problems.join("; ")
                )))
            }
        }
        _ => Ok(()),
    }
}

/// Compiles a pause's JSON Schema; `null` means any answer.
pub fn schema(name: &str, schema: &Value) -> Result<()> {
    if schema.is_null() {
        return Ok(());
    }
    jsonschema::validator_for(schema).map(drop).map_err(|e| {
        invalid(format!(
            "pause `{name}`: its schema is not a valid JSON Schema: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::channel::tests::channel;

    fn good_span() -> Span {
        serde_json::from_value(json!({
            "id": "2.5", "play_sid": "p1", "run": 2, "parent_id": "2.1", "name": "step",
            "kind": "step", "status": "success", "started_at": "2026-12-04T18:00:00.000001Z",
            "ended_at": "2026-12-04T18:00:00.5Z", "duration_ms": 0.5, "inputs": {}, "output": 1,
            "error": null, "source_file": "/f.py", "source_line": 3, "step_key": "k",
            "child_play_sid": null, "cost_usd": 0.25}))
        .expect("a span")
    }

    #[test]
    fn a_span_of_its_own_run_passes() {
        assert_eq!(
            span(&good_span(), &channel("p1", 2)).expect("well-formed"),
            5
        );
    }

    #[test]
    fn each_broken_rule_of_a_span_is_named() {
        let c = channel("p1", 2);
        type Breaks = fn(&mut Span);
        let cases: Vec<(&str, Breaks)> = vec![
            ("p1 run 2", |s| s.play_sid = "other".into()),
            ("p1 run 2", |s| s.run = 1),
            ("another run", |s| s.id = "1.5".into()),
            ("RUN.SEQ", |s| s.id = "2.05".into()),
            ("RUN.SEQ", |s| s.id = "2.0".into()),
            ("RUN.SEQ", |s| s.id = "x".into()),
            ("another run", |s| s.parent_id = Some("1.1".into())),
            ("did not start before", |s| s.parent_id = Some("2.5".into())),
            ("span name is empty", |s| s.name.clear()),
            ("over the limit of 1024", |s| s.name = "n".repeat(1025)),
            ("RFC 3339", |s| s.started_at = "yesterday".into()),
            ("RFC 3339", |s| s.ended_at = Some("2026-13-01".into())),
            ("finite", |s| s.duration_ms = Some(f64::NAN)),
            ("finite", |s| s.duration_ms = Some(-1.0)),
            ("cost_usd", |s| s.cost_usd = 1e6),
            ("cost_usd", |s| s.cost_usd = -0.5),
            ("cost_usd", |s| s.cost_usd = f64::INFINITY),
            ("error is", |s| {
                s.error = Some("e".repeat(MAX_ERROR_BYTES + 1))
            }),
            ("source_file", |s| s.source_file = Some("f".repeat(5000))),
            ("step_key", |s| s.step_key = Some("k".repeat(129))),
            ("child_play_sid", |s| s.child_play_sid = Some(String::new())),
        ];
        for (needle, breaks) in cases {
            let mut broken = good_span();
            breaks(&mut broken);
            let message = span(&broken, &c).expect_err(needle).to_string();
            assert!(message.contains(needle), "{message:?} names {needle:?}");
        }
    }

    fn request(schema: Value) -> ResumeRequest {
        ResumeRequest {
            id: "abc".into(),
            name: "q".into(),
            schema,
            ui: Value::Null,
            asked_at_span_id: Some("1.1".into()),
            asked_at: "2026-12-04T18:00:00Z".into(),
            payload: Value::Null,
            resumed_at: None,
            kind: crate::model::ResumeKind::Pause,
            wake_at: None,
            expires_at: None,
            on_timeout: None,
            by: None,
            token: None,
            resume_url: None,
        }
    }

    #[test]
    fn a_pause_whose_schema_does_not_compile_is_refused_naming_it() {
        let c = channel("p1", 1);
        pause(&request(json!({"type": "string"})), &c).expect("a good schema");
        pause(&request(Value::Null), &c).expect("no schema: any answer");
        let message = pause(&request(json!({"type": "nonsense"})), &c)
            .expect_err("no such type")
            .to_string();
        assert!(message.contains("pause `q`"), "{message}");
        assert!(message.contains("nonsense"), "{message}");
        let answered = ResumeRequest {
            payload: json!(1),
            ..request(Value::Null)
        };
        assert!(pause(&answered, &c).is_err());
        let elsewhere = ResumeRequest {
            asked_at_span_id: Some("7.1".into()),
            ..request(Value::Null)
        };
        assert!(pause(&elsewhere, &c).is_err());
    }

    #[test]
    fn a_pause_s_times_are_checked_whole() {
        let c = channel("p1", 1);
        let timer = ResumeRequest {
            kind: ResumeKind::Timer,
            name: "sleep".into(),
            wake_at: Some("2026-12-04T18:00:03.5Z".into()),
            ..request(Value::Null)
        };
        pause(&timer, &c).expect("a timer");
        let deadline = ResumeRequest {
            expires_at: Some("2026-12-04T18:00:03Z".into()),
            on_timeout: Some(OnTimeout::Default(json!("x"))),
            ..request(json!({"type": "string"}))
        };
        pause(&deadline, &c).expect("a pause with a deadline and a default");
        type Breaks = fn(&mut ResumeRequest);
        let cases: Vec<(&str, ResumeRequest, Breaks)> = vec![
            ("has no wake_at", timer.clone(), |r| r.wake_at = None),
            ("RFC 3339", timer.clone(), |r| {
                r.wake_at = Some("soon".into())
            }),
            ("ui and schema", timer.clone(), |r| {
                r.ui = json!({"kind": "confirm"})
            }),
            ("ui and schema", timer.clone(), |r| {
                r.schema = json!({"type": "null"})
            }),
            ("takes no deadline", timer.clone(), |r| {
                r.expires_at = Some("2026-12-04T18:00:00Z".into())
            }),
            ("only a timer", deadline.clone(), |r| {
                r.wake_at = Some("2026-12-04T18:00:00Z".into())
            }),
            ("RFC 3339", deadline.clone(), |r| {
                r.expires_at = Some("x".into())
            }),
            ("no on_timeout", deadline.clone(), |r| r.on_timeout = None),
            ("no expires_at", deadline.clone(), |r| r.expires_at = None),
            ("does not match its schema", deadline.clone(), |r| {
                r.on_timeout = Some(OnTimeout::Default(json!(3)))
            }),
        ];
        for (needle, good, breaks) in cases {
            let mut broken = good;
            breaks(&mut broken);
            let message = pause(&broken, &c).expect_err(needle).to_string();
            assert!(message.contains(needle), "{message:?} names {needle:?}");
            assert!(message.contains(&format!("`{}`", broken.name)), "{message}");
        }
        let mut raising = deadline.clone();
        raising.on_timeout = Some(OnTimeout::Raise);
        pause(&raising, &c).expect("a deadline that raises");
    }

    #[test]
    fn attempts_count_from_one() {
        let c = channel("p1", 2);
        let mut s = good_span();
        s.attempt = Some(1);
        span(&s, &c).expect("attempt 1");
        s.attempt = Some(0);
        assert!(span(&s, &c).unwrap_err().to_string().contains("attempt 0"));
    }

    #[test]
    fn an_output_that_cannot_be_read_back_is_refused() {
        output(r#"{"a": [1, 2.5, "x"]}"#).expect("plain JSON");
        output("123456789012345678901234567890").expect("a big integer");
        assert!(output("1e400").is_err());
        assert!(output(r#"{"a": [-1.5e999]}"#).is_err());
    }
}
