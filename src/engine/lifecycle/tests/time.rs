//! The clock's rules: timers, pause deadlines, an answer racing one, and
//! what `play wait` waits through.

use super::*;

/// A play parked on timer `a`, due at `wake`.
fn on_timer(wake: &str) -> Play {
    let mut p = paused_with(&["a"]);
    let r = &mut p.pending_resumes[0];
    r.kind = ResumeKind::Timer;
    r.name = "sleep".into();
    r.schema = Value::Null;
    r.ui = Value::Null;
    r.wake_at = Some(wake.into());
    p
}

/// A play awaiting pause `a` with a deadline at `expires` that does
/// `on_timeout`.
fn with_deadline(expires: &str, on_timeout: OnTimeout) -> Play {
    let mut p = paused_with(&["a"]);
    p.pending_resumes[0].expires_at = Some(expires.into());
    p.pending_resumes[0].on_timeout = Some(on_timeout);
    p
}

fn expired(at: &str) -> Event {
    Event::Expired {
        id: "a".into(),
        at: at.into(),
    }
}

const WAKE: &str = "2026-12-04T18:00:00Z";
const LATER: &str = "2026-12-04T18:00:00.000001Z";
const EARLIER: &str = "2026-12-04T17:59:59.999999Z";

#[test]
fn a_due_timer_wakes_the_play_by_the_clock() {
    let p = on_timer(WAKE);
    assert!(matches!(
        apply(&p, expired(EARLIER)),
        Err(Refusal::WrongState { .. })
    ));
    let t = apply(&p, expired(LATER)).unwrap();
    assert_eq!(t.play.status, PlayStatus::Running);
    assert_eq!(t.effects, vec![Effect::StartRun]);
    let answered = &t.play.answered_resumes[0];
    assert_eq!(
        (&answered.payload, answered.by.as_deref()),
        (&Value::Null, Some("timer"))
    );
    assert_eq!(t.play.received_resumes["a"], Value::Null);
}

#[test]
fn nobody_answers_a_timer_by_hand() {
    let timer = on_timer(WAKE);
    assert_eq!(
        answer(&timer, "a", &Value::Null),
        Answer::Clock(&timer.pending_resumes[0])
    );
    let refused = apply(&timer, resumed("a", Value::Null)).unwrap_err();
    let message = refused.to_string();
    assert!(matches!(refused, Refusal::WrongState { .. }));
    assert!(
        message.contains("only the clock") && message.contains(WAKE),
        "{message}"
    );
}

#[test]
fn a_deadline_answers_with_the_default_or_null_for_raise() {
    let p = with_deadline(WAKE, OnTimeout::Default(json!("no")));
    let t = apply(&p, expired(WAKE)).unwrap();
    let answered = &t.play.answered_resumes[0];
    assert_eq!(answered.payload, json!("no"));
    assert_eq!(answered.by.as_deref(), Some("timeout"));
    assert!(!raised_timeout(answered));
    let t = apply(&with_deadline(WAKE, OnTimeout::Raise), expired(WAKE)).unwrap();
    let answered = &t.play.answered_resumes[0];
    assert_eq!(answered.payload, Value::Null);
    assert!(raised_timeout(answered));
    let no_deadline = paused_with(&["a"]);
    assert!(apply(&no_deadline, expired(WAKE)).is_err());
}

#[test]
fn an_answer_racing_a_deadline_exactly_one_wins() {
    let p = with_deadline(WAKE, OnTimeout::Default(json!(false)));
    // The answer first: the deadline finds the pause answered.
    let answered = apply(&p, resumed("a", json!(true))).unwrap().play;
    assert!(matches!(
        apply(&answered, expired(LATER)),
        Err(Refusal::AlreadyAnswered { .. })
    ));
    // The deadline first: another answer is refused, the same one is not
    // a change.
    let timed_out = apply(&p, expired(LATER)).unwrap().play;
    assert!(matches!(
        apply(&timed_out, resumed("a", json!(true))),
        Err(Refusal::WrongState { .. })
    ));
    assert!(matches!(
        apply(&timed_out, resumed("a", json!(false))),
        Err(Refusal::AlreadyAnswered { .. })
    ));
    assert_eq!(timed_out.answered_resumes.len(), 1);
}

#[test]
fn the_clock_wakes_only_a_play_awaiting_it() {
    let mut p = on_timer(WAKE);
    p.status = PlayStatus::Running;
    assert!(matches!(
        apply(&p, expired(LATER)),
        Err(Refusal::WrongState { .. })
    ));
    p.status = PlayStatus::Cancelled;
    assert!(apply(&p, expired(LATER)).is_err());
    assert!(matches!(
        apply(
            &on_timer(WAKE),
            Event::Expired {
                id: "zz".into(),
                at: LATER.into()
            }
        ),
        Err(Refusal::UnknownResume { .. })
    ));
}

#[test]
fn play_wait_goes_on_through_timers_and_children_that_wait_for_no_one() {
    let timer = on_timer(WAKE);
    assert!(!waits_outside(&timer, |_| true));
    let deadline = with_deadline(WAKE, OnTimeout::Raise);
    assert!(waits_outside(&deadline, |_| false));
    let (parent, _) = parent_and_child();
    assert!(!waits_outside(&parent, |sid| sid != "c1"));
    assert!(waits_outside(&parent, |sid| sid == "c1"));
    assert!(!waits_outside(&play(PlayStatus::Running), |_| true));
}
