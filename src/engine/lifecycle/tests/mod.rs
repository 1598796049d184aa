//! The lifecycle's rules with plain values: one module per part of it.

use serde_json::json;

use super::*;

mod signal;
mod time;

fn play(status: PlayStatus) -> Play {
    Play {
        status,
        runs: 1,
        ..Play::new(
            "p1".into(),
            "n".into(),
            "w".into(),
            "v".into(),
            json!({}),
            "t".into(),
        )
    }
}

fn request(id: &str) -> ResumeRequest {
    ResumeRequest {
        id: id.into(),
        name: "approve".into(),
        schema: json!({"type": "boolean"}),
        ui: json!({"kind": "confirm"}),
        asked_at_span_id: None,
        asked_at: "t".into(),
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

fn resumed(id: &str, payload: Value) -> Event {
    Event::Resumed {
        id: id.into(),
        payload,
        at: "t2".into(),
    }
}

/// A play awaiting the pauses `ids`: a run records one pause, and the
/// rest stand open from before.
fn paused_with(ids: &[&str]) -> Play {
    let running = play(PlayStatus::Running);
    let first = Event::Paused {
        run: 1,
        request: request(ids[0]),
    };
    let mut p = apply(&running, first).unwrap().play;
    p.pending_resumes
        .extend(ids[1..].iter().map(|id| request(id)));
    p
}

#[test]
fn pause_then_resume_starts_the_next_run() {
    let p = paused_with(&["a"]);
    assert_eq!(p.status, PlayStatus::AwaitingResume);
    let t = apply(&p, resumed("a", json!(true))).unwrap();
    assert_eq!(t.play.status, PlayStatus::Running);
    assert_eq!(t.effects, vec![Effect::StartRun]);
    assert_eq!(t.play.received_resumes["a"], json!(true));
    assert!(t.play.pending_resumes.is_empty());
}

#[test]
fn a_run_waits_for_the_last_open_pause() {
    let p = paused_with(&["a", "b"]);
    let t = apply(&p, resumed("a", json!(1))).unwrap();
    assert_eq!(t.play.status, PlayStatus::AwaitingResume);
    assert!(t.effects.is_empty());
}

#[test]
fn the_same_answer_twice_is_idempotent_and_another_is_refused() {
    let p = apply(&paused_with(&["a"]), resumed("a", json!(true)))
        .unwrap()
        .play;
    assert_eq!(
        apply(&p, resumed("a", json!(true))),
        Err(Refusal::AlreadyAnswered {
            resumed_at: "t2".into()
        })
    );
    assert!(matches!(
        apply(&p, resumed("a", json!(false))),
        Err(Refusal::WrongState { .. })
    ));
}

#[test]
fn resume_refuses_unknown_ids_and_plays_not_awaiting() {
    let p = paused_with(&["a"]);
    assert!(matches!(
        apply(&p, resumed("zz", json!(1))),
        Err(Refusal::UnknownResume { .. })
    ));
    assert!(matches!(
        apply(&play(PlayStatus::Running), resumed("a", json!(1))),
        Err(Refusal::WrongState { .. })
    ));
}

#[test]
fn run_end_sets_the_outcome_once() {
    let p = play(PlayStatus::Running);
    let done = apply(
        &p,
        Event::RunEnded {
            run: 1,
            outcome: Outcome::Success(json!({"x": 1})),
            at: "t".into(),
        },
    )
    .unwrap();
    assert_eq!(done.play.status, PlayStatus::Success);
    assert_eq!(done.effects, vec![Effect::NotifyParent]);
    let cancelled = apply(&p, Event::Cancel { at: "t".into() }).unwrap().play;
    let late = apply(
        &cancelled,
        Event::RunEnded {
            run: 1,
            outcome: Outcome::Failed("killed".into()),
            at: "t".into(),
        },
    )
    .unwrap();
    assert_eq!(late.play.status, PlayStatus::Cancelled);
}

fn died(p: &Play) -> Transition {
    apply(
        p,
        Event::RunEnded {
            run: p.runs,
            outcome: Outcome::Died {
                error: "the flow process was killed by SIGKILL".into(),
                retries: 2,
            },
            at: "t".into(),
        },
    )
    .unwrap()
}

#[test]
fn a_run_killed_by_a_signal_is_run_again_until_the_retries_are_spent() {
    let mut p = play(PlayStatus::Running);
    for tried in 1..=2 {
        let t = died(&p);
        assert_eq!(t.play.status, PlayStatus::Running);
        assert_eq!(t.effects, vec![Effect::StartRun]);
        assert_eq!(t.play.run_retries, tried);
        p = apply(&t.play, Event::RunStarted { at: "t".into() })
            .unwrap()
            .play;
    }
    let t = died(&p);
    assert_eq!(t.play.status, PlayStatus::Failed);
    assert_eq!(t.effects, vec![Effect::NotifyParent]);
    let error = t.play.error.as_deref().unwrap();
    assert!(
        error.contains("SIGKILL") && error.contains("play retry p1"),
        "{error}"
    );
}

#[test]
fn a_run_that_reaches_a_pause_earns_its_retries_back() {
    let mut p = play(PlayStatus::Running);
    p.run_retries = 2;
    p.pending_resumes.push(request("a"));
    let t = apply(
        &p,
        Event::RunEnded {
            run: 1,
            outcome: Outcome::Paused,
            at: "t".into(),
        },
    )
    .unwrap();
    assert_eq!(t.play.status, PlayStatus::AwaitingResume);
    assert_eq!(t.play.run_retries, 0);
}

#[test]
fn retry_runs_a_play_that_ended_badly_again_and_nothing_else() {
    for status in [
        PlayStatus::Failed,
        PlayStatus::TimedOut,
        PlayStatus::Cancelled,
    ] {
        let mut p = play(status);
        p.error = Some("boom".into());
        p.ended_at = Some("t".into());
        p.run_retries = 3;
        let t = apply(&p, Event::Retry { at: "t3".into() }).unwrap();
        assert_eq!(t.play.status, PlayStatus::Pending);
        assert_eq!(t.effects, vec![Effect::StartRun]);
        assert_eq!((t.play.error, t.play.ended_at), (None, None));
        assert_eq!(t.play.run_retries, 0);
        assert_eq!(t.play.runs, 1, "the run count goes on");
    }
    for status in [
        PlayStatus::Pending,
        PlayStatus::Running,
        PlayStatus::AwaitingResume,
        PlayStatus::Success,
    ] {
        assert!(matches!(
            apply(&play(status), Event::Retry { at: "t".into() }),
            Err(Refusal::WrongState { .. })
        ));
    }
}

#[test]
fn a_stale_run_cannot_end_a_newer_one() {
    let mut p = play(PlayStatus::Running);
    p.runs = 2;
    let t = apply(
        &p,
        Event::RunEnded {
            run: 1,
            outcome: Outcome::Failed("old".into()),
            at: "t".into(),
        },
    )
    .unwrap();
    assert_eq!(t.play.status, PlayStatus::Running);
}

#[test]
fn cancel_kills_and_cascades_but_not_twice() {
    let t = apply(&play(PlayStatus::Running), Event::Cancel { at: "t".into() }).unwrap();
    assert_eq!(t.play.status, PlayStatus::Cancelled);
    assert!(t.effects.contains(&Effect::KillRun));
    assert!(t.effects.contains(&Effect::CancelChildren));
    assert!(apply(&t.play, Event::Cancel { at: "t".into() }).is_err());
}

#[test]
fn an_answer_is_open_again_otherwise_or_unknown() {
    let p = paused_with(&["a"]);
    assert_eq!(
        answer(&p, "a", &json!(1)),
        Answer::Open(&p.pending_resumes[0])
    );
    assert_eq!(answer(&p, "zz", &json!(1)), Answer::Unknown);
    let answered = apply(&p, resumed("a", json!(1))).unwrap().play;
    assert_eq!(
        answer(&answered, "a", &json!(1)),
        Answer::Again {
            resumed_at: "t2".into()
        }
    );
    assert_eq!(
        answer(&answered, "a", &json!(2)),
        Answer::Otherwise { first: &json!(1) }
    );
}

#[test]
fn only_the_current_run_of_a_running_play_may_write() {
    assert_eq!(
        check_run("p1", (PlayStatus::Running, 2), 2, "pause it"),
        Ok(())
    );
    for (status, runs) in [(PlayStatus::Running, 3), (PlayStatus::Cancelled, 2)] {
        let refused = check_run("p1", (status, runs), 2, "pause it").unwrap_err();
        assert_eq!(
            refused.to_string(),
            format!("play p1 is {status} (run {runs}), so run 2 may not pause it")
        );
    }
    let mut stale = play(PlayStatus::Running);
    stale.runs = 2;
    let pause = Event::Paused {
        run: 1,
        request: request("a"),
    };
    assert!(matches!(
        apply(&stale, pause),
        Err(Refusal::StaleRun { .. })
    ));
}

/// A parent paused on child `c1`, and that child, ended.
fn parent_and_child() -> (Play, Play) {
    let mut parent = paused_with(&["a"]);
    parent.pending_resumes[0].name = crate::api::child_pause_name("c1");
    let mut child = play(PlayStatus::Success);
    child.sid = "c1".into();
    child.parent_play_sid = Some("p1".into());
    child.output_data = json!(7);
    (parent, child)
}

#[test]
fn a_child_that_ends_wakes_the_parent_awaiting_it() {
    let (parent, child) = parent_and_child();
    let t = wake_parent(&parent, &child, "t3".into())
        .unwrap()
        .expect("the parent is woken");
    assert_eq!(t.play.status, PlayStatus::Running);
    assert_eq!(t.effects, vec![Effect::StartRun]);
    assert_eq!(t.play.received_resumes["a"]["output_data"], json!(7));
}

#[test]
fn a_child_wakes_no_parent_that_does_not_await_it() {
    let (parent, child) = parent_and_child();
    let mut other = child.clone();
    other.sid = "c2".into();
    assert_eq!(wake_parent(&parent, &other, "t".into()), Ok(None));
    for status in [
        PlayStatus::Cancelled,
        PlayStatus::Pending,
        PlayStatus::Running,
    ] {
        let mut parent = parent.clone();
        parent.status = status;
        assert_eq!(wake_parent(&parent, &child, "t".into()), Ok(None));
    }
}

#[test]
fn a_parent_awaiting_a_child_it_cannot_take_the_answer_of_is_a_refusal() {
    let (mut parent, child) = parent_and_child();
    let mut done = parent.pending_resumes[0].clone();
    done.payload = json!("another");
    parent.answered_resumes.push(done);
    assert!(matches!(
        wake_parent(&parent, &child, "t".into()),
        Err(Refusal::WrongState { .. })
    ));
}

/// A pause asked again because its answer was lost with the database
/// connection, though its write was committed: the same pause (its token
/// says so) changes nothing and is not refused. Another pause, or a pause
/// of another run, still is.
#[test]
fn a_pause_asked_again_after_it_was_recorded_is_the_same_pause() {
    let mut asked = request("a");
    asked.token = Some("k1".into());
    let running = play(PlayStatus::Running);
    let first = Event::Paused {
        run: 1,
        request: asked.clone(),
    };
    let recorded = apply(&running, first).unwrap().play;
    let again = Event::Paused {
        run: 1,
        request: asked.clone(),
    };
    let t = apply(&recorded, again).unwrap();
    assert_eq!(t.play, recorded);
    assert!(t.effects.is_empty(), "{:?}", t.effects);
    let mut other = asked.clone();
    other.token = Some("k2".into());
    for (run, request) in [(1, other), (2, asked)] {
        assert!(matches!(
            apply(&recorded, Event::Paused { run, request }),
            Err(Refusal::StaleRun { .. })
        ));
    }
}
