//! The dashboard's state, tested by feeding actions and data in and
//! looking at the state; no terminal, no server.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::model::{PlayEvent, PlayStatus, SpanStatus};
use crate::tui::action::{Action, Mode};
use crate::tui::fixtures::{self, paused_play_with_spans, play, span, workflow};

fn app() -> App {
    App::new(fixtures::now(), 80, 24)
}

fn with_plays(sids: &[&str]) -> App {
    let mut app = app();
    app.apply(Data::Workflows(vec![workflow("approve", vec![])]));
    app.apply(Data::Plays(sids.iter().map(|s| play(s)).collect()));
    app.settle();
    app
}

fn selected_sid(app: &App) -> Option<String> {
    app.selected_visible_play().map(|p| p.sid.clone())
}

#[test]
fn plays_are_newest_first_and_the_cursor_keeps_its_play() {
    let mut app = with_plays(&["p1", "p3", "p2"]);
    assert_eq!(selected_sid(&app).as_deref(), Some("p3"));
    app.update(Action::Down);
    assert_eq!(selected_sid(&app).as_deref(), Some("p2"));
    // A new play arrives at the top: the cursor stays on p2.
    app.apply(Data::Event(PlayEvent::Play {
        play: Box::new(play("p4")),
    }));
    app.settle();
    assert_eq!(selected_sid(&app).as_deref(), Some("p2"));
    assert_eq!(app.play_cursor(), Some(2));
}

#[test]
fn filter_and_search_narrow_the_list() {
    let mut app = with_plays(&["p1", "p2", "p3"]);
    let mut failed = play("p2");
    failed.status = PlayStatus::Failed;
    failed.name = "nightly".into();
    app.apply(Data::Event(PlayEvent::Play {
        play: Box::new(failed),
    }));
    app.update(Action::Filter);
    assert_eq!(app.filter, Some(PlayStatus::Running));
    assert_eq!(app.visible_plays().len(), 2);
    app.update(Action::Filter);
    assert_eq!(app.filter, Some(PlayStatus::AwaitingResume));
    assert_eq!(app.visible_plays().len(), 0);
    app.update(Action::Back);
    assert_eq!(app.filter, None);
    app.update(Action::Search);
    assert_eq!(app.mode(), Mode::Text);
    for c in "NIGHT".chars() {
        app.update(Action::Input(tui_input::InputRequest::InsertChar(c)));
    }
    app.update(Action::Submit);
    assert_eq!(app.mode(), Mode::Normal);
    let shown: Vec<&str> = app.visible_plays().iter().map(|p| p.sid.as_str()).collect();
    assert_eq!(shown, ["p2"]);
    app.update(Action::Back);
    assert_eq!(app.visible_plays().len(), 3);
}

#[test]
fn enter_opens_a_play_on_its_paused_span_and_esc_goes_back() {
    let mut app = with_plays(&["p1"]);
    assert_eq!(
        app.update(Action::Open),
        vec![Effect::LoadPlay("p1".into())]
    );
    let (play, spans) = paused_play_with_spans("p1");
    assert!(app.apply(Data::Play { play, spans }).is_empty());
    app.settle();
    let view = app.view.as_ref().expect("the play is open");
    let row = view.selected_row().expect("a selected span");
    assert_eq!(view.plays[0].spans()[row.span].name, "review");
    app.update(Action::Back);
    assert!(app.view.is_none());
    assert_eq!(selected_sid(&app).as_deref(), Some("p1"));
}

#[test]
fn p_then_a_answers_the_pending_pause() {
    let mut app = with_plays(&["p1"]);
    app.update(Action::Open);
    let (play, spans) = paused_play_with_spans("p1");
    let request = play.pending_resumes[0].clone();
    app.apply(Data::Play { play, spans });
    app.update(Action::PendingTab);
    let view = app.view.as_ref().expect("open");
    assert_eq!((view.tab, view.focus), (Tab::Pending, PlayPane::Bottom));
    assert_eq!(
        app.update(Action::Answer),
        vec![Effect::Answer {
            play_sid: "p1".into(),
            request: Box::new(request)
        }]
    );
    app.apply(Data::Answered {
        name: "approve".into(),
        answer: json!(true),
    });
    assert!(app.message.as_ref().is_some_and(|m| !m.error));
}

#[test]
fn answering_with_nothing_open_says_so() {
    let mut app = with_plays(&["p1"]);
    app.update(Action::Open);
    app.apply(Data::Play {
        play: play("p1"),
        spans: vec![span("p1", "1.1", None, "main")],
    });
    assert!(app.update(Action::Answer).is_empty());
    assert!(app.message.as_ref().is_some_and(|m| m.error));
}

#[test]
fn live_spans_do_not_move_the_cursor() {
    let mut app = with_plays(&["p1"]);
    app.update(Action::Open);
    app.apply(Data::Play {
        play: play("p1"),
        spans: vec![
            span("p1", "1.1", None, "main"),
            span("p1", "1.2", Some("1.1"), "a"),
        ],
    });
    app.settle();
    app.update(Action::Down);
    for seq in 3..50 {
        let id = format!("1.{seq}");
        app.apply(Data::Event(PlayEvent::Span {
            span: Box::new(span("p1", &id, Some("1.1"), "later")),
        }));
    }
    // An earlier sibling, out of order: the rows shift, the cursor follows.
    app.apply(Data::Event(PlayEvent::Span {
        span: Box::new(span("p1", "1.0", None, "first")),
    }));
    app.settle();
    let view = app.view.as_ref().expect("open");
    let row = view.selected_row().expect("selected");
    assert_eq!(view.plays[0].spans()[row.span].name, "a");
    assert_eq!(view.rows.len(), 50);
}

#[test]
fn a_new_run_keeps_the_cursor_on_the_same_step() {
    let mut app = with_plays(&["p1"]);
    app.update(Action::Open);
    let mut step = span("p1", "1.2", Some("1.1"), "charge");
    step.step_key = Some("k-charge".into());
    app.apply(Data::Play {
        play: play("p1"),
        spans: vec![
            span("p1", "1.1", None, "main"),
            step,
            span("p1", "1.3", Some("1.1"), "approve"),
        ],
    });
    app.settle();
    app.update(Action::Top);
    app.update(Action::Down);
    let mut replayed = span("p1", "2.2", Some("2.1"), "charge");
    replayed.step_key = Some("k-charge".into());
    replayed.status = SpanStatus::Replayed;
    for s in [span("p1", "2.1", None, "main"), replayed] {
        app.apply(Data::Event(PlayEvent::Span { span: Box::new(s) }));
    }
    app.settle();
    let view = app.view.as_ref().expect("open");
    let row = view.selected_row().expect("selected");
    assert_eq!(view.plays[0].spans()[row.span].id, "2.2");
}

#[test]
fn the_cursor_waits_for_its_step_to_come_back_in_a_new_run() {
    let mut app = with_plays(&["p1"]);
    app.update(Action::Open);
    let mut late = span("p1", "1.3", Some("1.1"), "ship");
    late.step_key = Some("k-ship".into());
    app.apply(Data::Play {
        play: play("p1"),
        spans: vec![
            span("p1", "1.1", None, "main"),
            span("p1", "1.2", Some("1.1"), "pack"),
            late.clone(),
        ],
    });
    app.update(Action::Bottom);
    // Run 2 arrives span by span; `ship` comes last.
    for s in [
        span("p1", "2.1", None, "main"),
        span("p1", "2.2", Some("2.1"), "pack"),
    ] {
        app.apply(Data::Event(PlayEvent::Span { span: Box::new(s) }));
        app.settle();
    }
    late.id = "2.3".into();
    late.run = 2;
    late.parent_id = Some("2.1".into());
    app.apply(Data::Event(PlayEvent::Span {
        span: Box::new(late),
    }));
    app.settle();
    let view = app.view.as_ref().expect("open");
    let row = view.selected_row().expect("selected");
    assert_eq!(view.plays[0].spans()[row.span].id, "2.3");
}

#[test]
fn spawned_children_are_loaded_once_and_shown_inline() {
    let mut app = with_plays(&["p1"]);
    app.update(Action::Open);
    let mut sub = span("p1", "1.2", Some("1.1"), "invoice");
    sub.kind = crate::model::SpanKind::Subflow;
    sub.child_play_sid = Some("c1".into());
    let effects = app.apply(Data::Play {
        play: play("p1"),
        spans: vec![span("p1", "1.1", None, "main"), sub.clone()],
    });
    assert_eq!(effects, vec![Effect::LoadChild("c1".into())]);
    let again = app.apply(Data::Event(PlayEvent::Span {
        span: Box::new(sub),
    }));
    assert!(again.is_empty(), "asked once");
    app.apply(Data::Child {
        play: play("c1"),
        spans: vec![span("c1", "1.1", None, "main")],
    });
    app.apply(Data::Event(PlayEvent::Span {
        span: Box::new(span("c1", "1.2", Some("1.1"), "mail")),
    }));
    app.settle();
    assert_eq!(app.view.as_ref().expect("open").rows.len(), 4);
}

#[test]
fn cancel_and_restart_ask_first() {
    let mut app = with_plays(&["p1"]);
    app.update(Action::Cancel);
    assert_eq!(app.mode(), Mode::Confirm);
    assert!(
        app.update(Action::Down).is_empty(),
        "other keys keep the question"
    );
    assert!(app.update(Action::No).is_empty());
    assert_eq!(app.mode(), Mode::Normal);
    app.update(Action::Cancel);
    assert_eq!(app.update(Action::Yes), vec![Effect::Cancel("p1".into())]);

    app.update(Action::Open);
    let mut newer = play("p1");
    newer.newer_version_sid = Some("v2".into());
    app.apply(Data::Play {
        play: newer,
        spans: Vec::new(),
    });
    app.update(Action::Restart);
    assert_eq!(
        app.update(Action::Yes),
        vec![Effect::Restart {
            play_sid: "p1".into(),
            latest: true
        }]
    );
}

#[test]
fn cancelling_an_ended_play_is_refused_without_asking() {
    let mut app = app();
    let mut done = play("p1");
    done.status = PlayStatus::Success;
    app.apply(Data::Plays(vec![done]));
    app.update(Action::Cancel);
    assert_eq!(app.mode(), Mode::Normal);
    assert!(app.message.as_ref().is_some_and(|m| m.error));
}

#[test]
fn s_on_a_workflow_opens_its_form_and_submits_typed_input() {
    let mut app = app();
    app.apply(Data::Workflows(vec![fixtures::order_workflow()]));
    app.update(Action::NextPane);
    app.update(Action::Start);
    assert_eq!(app.mode(), Mode::Text);
    for c in "ada".chars() {
        app.update(Action::Input(tui_input::InputRequest::InsertChar(c)));
    }
    app.update(Action::NextField);
    app.update(Action::Input(tui_input::InputRequest::DeleteLine));
    for c in "2.5".chars() {
        app.update(Action::Input(tui_input::InputRequest::InsertChar(c)));
    }
    let effects = app.update(Action::Submit);
    assert_eq!(
        effects,
        vec![Effect::Start {
            workflow_sid: "w-order".into(),
            input_data: json!({"customer": "ada", "amount": 2.5}),
        }]
    );
    assert_eq!(
        app.mode(),
        Mode::Text,
        "the form stays until the play starts"
    );
    app.apply(Data::Failed("no".into()));
    assert_eq!(app.mode(), Mode::Text);
    let effects = app.apply(Data::Started {
        play: play("p9"),
        restarted_from: None,
    });
    assert_eq!(effects, vec![Effect::LoadPlay("p9".into())]);
    assert_eq!(app.mode(), Mode::Normal);
}

#[test]
fn lagging_reloads_what_is_shown() {
    let mut app = with_plays(&["p1"]);
    assert_eq!(app.apply(Data::Lagged), vec![Effect::LoadPlays]);
    app.update(Action::Open);
    app.apply(Data::Play {
        play: play("p1"),
        spans: Vec::new(),
    });
    assert_eq!(
        app.apply(Data::Lagged),
        vec![Effect::LoadPlays, Effect::LoadPlay("p1".into())]
    );
}

#[test]
fn help_opens_and_any_key_closes_it() {
    let mut app = app();
    app.update(Action::Help);
    assert_eq!(app.mode(), Mode::Help);
    app.update(Action::Down);
    assert_eq!(app.mode(), Mode::Normal);
    app.update(Action::Quit);
    assert!(app.should_quit());
}

#[test]
fn the_clock_ticks_fast_only_while_something_counts() {
    let mut app = app();
    let mut old = play("p1");
    old.status = PlayStatus::Success;
    old.created_at = "2026-11-01T10:00:00Z".into();
    app.apply(Data::Plays(vec![old.clone()]));
    assert_eq!(app.next_tick(), Duration::from_secs(30));
    old.status = PlayStatus::AwaitingResume;
    app.apply(Data::Plays(vec![old]));
    assert_eq!(app.next_tick(), Duration::from_secs(1));
}

/// The Schedules screen open on `nightly` (which started `p1`) and
/// `hourly` (which has started nothing).
fn on_schedules() -> App {
    let mut app = with_plays(&["p1"]);
    assert_eq!(app.update(Action::Schedules), vec![Effect::LoadSchedules]);
    let mut nightly = fixtures::schedule("nightly");
    nightly.last_play_sid = Some("p1".into());
    app.apply(Data::Schedules(vec![nightly, fixtures::schedule("hourly")]));
    app.settle();
    app
}

fn schedule_names(app: &App) -> Vec<&str> {
    let view = app.schedules.as_ref().expect("the Schedules screen");
    view.list.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn schedules_open_by_key_and_their_keys_pause_run_and_open() {
    let mut app = on_schedules();
    assert_eq!(schedule_names(&app), ["hourly", "nightly"], "by name");
    app.update(Action::Down);
    assert_eq!(
        app.update(Action::TogglePause),
        vec![Effect::PauseSchedule {
            name: "nightly".into(),
            paused: true
        }]
    );
    let mut paused = fixtures::schedule("nightly");
    paused.paused = true;
    paused.last_play_sid = Some("p1".into());
    app.apply(Data::Schedule(paused));
    let view = app.schedules.as_ref().expect("still open");
    assert!(view.selected().expect("nightly").paused);
    assert!(
        app.message
            .as_ref()
            .expect("a notice")
            .text
            .starts_with("paused nightly")
    );
    // `r` runs it now; the play it starts becomes its last play.
    assert_eq!(
        app.update(Action::RunNow),
        vec![Effect::TriggerSchedule("nightly".into())]
    );
    let effects = app.apply(Data::Fired {
        name: "nightly".into(),
        play: play("p2"),
    });
    assert_eq!(effects, vec![Effect::LoadSchedules]);
    assert_eq!(app.plays[0].sid, "p2", "listed with the plays");
    // `Enter` opens that play; `Esc` comes back to the schedules, then home.
    assert_eq!(
        app.update(Action::Open),
        vec![Effect::LoadPlay("p2".into())]
    );
    app.apply(Data::Play {
        play: play("p2"),
        spans: vec![],
    });
    assert_eq!(app.view.as_ref().map(PlayView::sid), Some("p2"));
    app.update(Action::Back);
    assert!(app.view.is_none() && app.schedules.is_some());
    app.update(Action::Back);
    assert!(app.schedules.is_none(), "home again");
}

#[test]
fn a_schedule_without_a_play_says_how_to_run_it() {
    let mut app = on_schedules();
    assert_eq!(app.update(Action::Open), Vec::new());
    let message = app.message.as_ref().expect("a complaint");
    assert!(message.error);
    assert_eq!(
        message.text,
        "hourly has started no play yet: r runs it now"
    );
}

#[test]
fn a_play_a_schedule_starts_becomes_its_last_play_live() {
    let mut app = on_schedules();
    let mut fired = play("p3");
    fired.schedule = Some("hourly".into());
    let effects = app.apply(Data::Event(PlayEvent::Play {
        play: Box::new(fired),
    }));
    assert_eq!(effects, vec![Effect::LoadSchedules], "its next fire moved");
    let view = app.schedules.as_ref().expect("open");
    assert_eq!(view.list[0].last_play_sid.as_deref(), Some("p3"));
    // An update of an older play of the schedule changes nothing.
    let mut older = play("p0");
    older.schedule = Some("nightly".into());
    let effects = app.apply(Data::Event(PlayEvent::Play {
        play: Box::new(older),
    }));
    assert_eq!(effects, Vec::new());
    assert_eq!(
        app.last_play(&app.schedules.as_ref().unwrap().list[1])
            .map(|p| p.sid.as_str()),
        Some("p1")
    );
}

#[test]
fn the_clock_ticks_each_second_on_the_schedules() {
    let mut app = on_schedules();
    for p in &mut app.plays {
        p.status = PlayStatus::Success;
        p.created_at = "2026-11-01T10:00:00Z".into();
    }
    assert_eq!(
        app.next_tick(),
        Duration::from_secs(1),
        "next fires count down"
    );
}
