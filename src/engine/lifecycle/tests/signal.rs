//! The signal rules of the lifecycle ([`Event::Signalled`], and a pause
//! taking a kept signal), with plain values.

use serde_json::{Value, json};

use super::*;

fn running() -> Play {
    play(PlayStatus::Running)
}

fn pause(id: &str, name: &str) -> ResumeRequest {
    ResumeRequest {
        id: id.into(),
        name: name.into(),
        schema: json!({"type": "object", "required": ["tx"]}),
        ui: Value::Null,
        asked_at_span_id: None,
        asked_at: "t1".into(),
        payload: Value::Null,
        resumed_at: None,
        kind: ResumeKind::Pause,
        wake_at: None,
        expires_at: None,
        on_timeout: None,
        by: None,
        token: None,
        resume_url: None,
    }
}

fn signal(name: &str, payload: Value) -> Event {
    Event::Signalled {
        name: name.into(),
        payload,
        at: "t2".into(),
    }
}

fn paused(play: &Play, request: ResumeRequest) -> Transition {
    apply(play, Event::Paused { run: 1, request }).expect("a pause is recorded")
}

#[test]
fn a_signal_answers_the_open_pause_of_its_name_and_the_next_run_starts() {
    let waiting = paused(&running(), pause("r1", "paid")).play;
    assert_eq!(waiting.status, PlayStatus::AwaitingResume);
    let t = apply(&waiting, signal("paid", json!({"tx": "a"}))).unwrap();
    assert_eq!(t.play.status, PlayStatus::Running);
    assert_eq!(t.effects, vec![Effect::StartRun]);
    assert_eq!(t.play.received_resumes["r1"], json!({"tx": "a"}));
    assert_eq!(t.play.answered_resumes[0].by.as_deref(), Some("signal"));
    let event = t.play.signal_events.last().unwrap();
    assert_eq!(event.outcome, SignalOutcome::Answered);
    assert_eq!(event.resume_id.as_deref(), Some("r1"));
    assert!(t.play.signals.is_empty());
}

#[test]
fn the_oldest_open_pause_of_the_name_is_answered_first() {
    let mut waiting = paused(&running(), pause("r1", "item")).play;
    waiting.pending_resumes.push(pause("r2", "item"));
    let t = apply(&waiting, signal("item", json!({"tx": 1}))).unwrap();
    assert_eq!(t.play.pending_resumes.len(), 1);
    assert_eq!(t.play.pending_resumes[0].id, "r2");
    assert_eq!(
        t.play.status,
        PlayStatus::AwaitingResume,
        "r2 is still open"
    );
    assert!(t.effects.is_empty());
}

#[test]
fn a_payload_the_schema_refuses_is_noted_and_the_pause_stays_open() {
    let waiting = paused(&running(), pause("r1", "paid")).play;
    let t = apply(&waiting, signal("paid", json!({"no": "tx"}))).unwrap();
    assert_eq!(t.play.status, PlayStatus::AwaitingResume);
    assert_eq!(t.play.pending_resumes.len(), 1);
    assert!(t.effects.is_empty());
    let event = t.play.signal_events.last().unwrap();
    assert_eq!(event.outcome, SignalOutcome::Refused);
    assert!(event.violations[0].contains("tx"), "{event:?}");
    assert!(t.play.signals.is_empty(), "a refused signal is not kept");
}

#[test]
fn an_early_signal_is_kept_and_the_pause_takes_it_without_stopping() {
    let t = apply(&running(), signal("paid", json!({"tx": "a"}))).unwrap();
    assert_eq!(t.play.signals.len(), 1);
    assert_eq!(t.play.signal_events[0].outcome, SignalOutcome::Kept);
    assert!(t.effects.is_empty());
    let reached = paused(&t.play, pause("r1", "paid"));
    assert_eq!(reached.play.status, PlayStatus::Running, "it does not stop");
    assert!(reached.play.pending_resumes.is_empty());
    assert!(reached.play.signals.is_empty());
    assert_eq!(reached.play.received_resumes["r1"], json!({"tx": "a"}));
    assert_eq!(
        reached.play.signal_events.last().unwrap().outcome,
        SignalOutcome::Taken
    );
}

#[test]
fn kept_signals_are_taken_in_the_order_they_came() {
    let mut play = running();
    for n in 1..=3 {
        play = apply(&play, signal("item", json!({"tx": n}))).unwrap().play;
    }
    play = apply(&play, signal("other", json!({"tx": 0})))
        .unwrap()
        .play;
    let first = paused(&play, pause("r1", "item")).play;
    assert_eq!(first.received_resumes["r1"], json!({"tx": 1}));
    let second = paused(&first, pause("r2", "item")).play;
    assert_eq!(second.received_resumes["r2"], json!({"tx": 2}));
    let names: Vec<&str> = second.signals.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["item", "other"]);
}

#[test]
fn a_kept_signal_the_pause_refuses_is_dropped_and_the_next_one_tried() {
    let mut play = running();
    play = apply(&play, signal("paid", json!("wrong"))).unwrap().play;
    play = apply(&play, signal("paid", json!({"tx": "b"})))
        .unwrap()
        .play;
    let reached = paused(&play, pause("r1", "paid")).play;
    assert_eq!(reached.received_resumes["r1"], json!({"tx": "b"}));
    let outcomes: Vec<SignalOutcome> = reached.signal_events.iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes,
        [
            SignalOutcome::Kept,
            SignalOutcome::Kept,
            SignalOutcome::Refused,
            SignalOutcome::Taken
        ]
    );
    // With only refused ones kept, the pause stops and stays open.
    let play = apply(&running(), signal("paid", json!(1))).unwrap().play;
    let reached = paused(&play, pause("r1", "paid")).play;
    assert_eq!(reached.status, PlayStatus::AwaitingResume);
    assert!(reached.signals.is_empty());
}

#[test]
fn timers_and_children_take_no_signal_and_an_ended_play_refuses_one() {
    let mut timer = pause("r1", "nap");
    timer.kind = ResumeKind::Timer;
    let play = apply(&running(), signal("nap", json!({"tx": 1})))
        .unwrap()
        .play;
    let reached = paused(&play, timer).play;
    assert_eq!(reached.status, PlayStatus::AwaitingResume);
    assert_eq!(reached.signals.len(), 1, "still kept");

    let mut ended = running();
    ended.status = PlayStatus::Success;
    assert!(matches!(
        apply(&ended, signal("paid", json!({}))),
        Err(Refusal::WrongState { .. })
    ));
}

#[test]
fn kept_signals_are_bounded() {
    let mut play = running();
    play.signals = (0..MAX_KEPT_SIGNALS)
        .map(|_| Signal {
            name: "x".into(),
            payload: Value::Null,
            at: "t".into(),
        })
        .collect();
    assert!(apply(&play, signal("x", json!(1))).is_err());
}
