//! Whole screens drawn into ratatui's `TestBackend` and compared with the
//! committed insta snapshots in `src/tui/snapshots/`, plus a few checks of
//! colour that a text snapshot cannot show.
//!
//! The plays, spans and clock are fixtures with fixed sids and times, so
//! a screen is the same on every run and nothing needs filtering out.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use serde_json::json;

use super::action::Action;
use super::app::{App, Data};
use super::fixtures::{self, paused_play_with_spans, play, span, workflow};
use crate::model::{
    FieldType, FlowField, PlayEvent, PlayStatus, ResumeKind, ResumeRequest, SpanKind, SpanStatus,
};

fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    app.resize(width, height);
    app.settle();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| app.render(frame))
        .expect("drawing into a TestBackend cannot fail");
    terminal
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    draw(app, width, height).backend().to_string()
}

fn home() -> App {
    let mut app = App::new(fixtures::now(), 80, 24);
    let int = |name: &str| FlowField {
        name: name.into(),
        ty: FieldType::Int,
        required: true,
        default: serde_json::Value::Null,
    };
    app.apply(Data::Workflows(vec![
        workflow("approve", vec![int("order")]),
        workflow("etl", vec![]),
        fixtures::order_workflow(),
        workflow("send_invoice", vec![int("order")]),
    ]));
    let mut running = play("p5");
    running.name = "nightly".into();
    running.workflow_sid = "w-etl".into();
    running.created_at = "2026-11-02T10:04:30Z".into();
    running.started_at = Some("2026-11-02T10:04:31Z".into());
    running.steps_done = 3;
    let (paused, _) = paused_play_with_spans("p4");
    let mut child = play("p3");
    child.name = "send_invoice".into();
    child.workflow_sid = "w-send_invoice".into();
    child.parent_play_sid = Some("p4".into());
    child.status = PlayStatus::Success;
    child.ended_at = Some("2026-11-02T10:00:03.5Z".into());
    child.steps_done = 1;
    let mut failed = play("p2");
    failed.status = PlayStatus::Failed;
    failed.created_at = "2026-11-02T07:00:00Z".into();
    failed.started_at = Some("2026-11-02T07:00:00Z".into());
    failed.ended_at = Some("2026-11-02T07:04:12Z".into());
    let mut cancelled = play("p1");
    cancelled.name = "etl".into();
    cancelled.workflow_sid = "w-etl".into();
    cancelled.status = PlayStatus::Cancelled;
    cancelled.created_at = "2026-10-30T10:00:00Z".into();
    cancelled.started_at = None;
    app.apply(Data::Plays(vec![running, paused, child, failed, cancelled]));
    app
}

/// The home screen with the paused play `p4` open.
fn opened() -> App {
    let mut app = home();
    app.update(Action::Down);
    let (play, spans) = paused_play_with_spans("p4");
    app.apply(Data::Play { play, spans });
    app
}

#[test]
fn home_screen() {
    insta::assert_snapshot!(screen(&mut home(), 80, 24));
}

#[test]
fn home_screen_wide() {
    insta::assert_snapshot!(screen(&mut home(), 120, 16));
}

#[test]
fn home_screen_narrow_shows_one_pane() {
    let mut app = home();
    insta::assert_snapshot!("narrow_plays", screen(&mut app, 50, 12));
    app.update(Action::NextPane);
    insta::assert_snapshot!("narrow_workflows", screen(&mut app, 50, 12));
}

#[test]
fn home_screen_empty() {
    let mut app = App::new(fixtures::now(), 80, 24);
    insta::assert_snapshot!(screen(&mut app, 80, 12));
}

#[test]
fn home_screen_searching_and_filtered() {
    let mut app = home();
    app.update(Action::Filter);
    app.update(Action::Search);
    for c in "night".chars() {
        app.update(Action::Input(tui_input::InputRequest::InsertChar(c)));
    }
    insta::assert_snapshot!(screen(&mut app, 80, 12));
}

#[test]
fn play_screen_pending() {
    let mut app = opened();
    app.update(Action::PendingTab);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn play_screen_events() {
    let mut app = opened();
    app.update(Action::EventsTab);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn play_screen_after_answer_with_a_spawned_child_and_a_newer_version() {
    let mut app = opened();
    let (mut play, mut spans) = paused_play_with_spans("p4");
    play.newer_version_sid = Some("v9f8e7d6c5b4".into());
    play.pending_resumes[0].resumed_at = Some("2026-11-02T10:04:00Z".into());
    play.status = PlayStatus::Running;
    play.runs = 2;
    app.apply(Data::Play {
        play,
        spans: spans.clone(),
    });
    // Run 2 replays what run 1 did, answers the pause, and spawns a child.
    for s in &mut spans {
        s.id = s.id.replacen("1.", "2.", 1);
        s.run = 2;
        s.parent_id = s.parent_id.as_ref().map(|p| p.replacen("1.", "2.", 1));
        s.status = SpanStatus::Replayed;
        s.duration_ms = Some(0.0);
    }
    spans[0].status = SpanStatus::Running;
    spans[3].status = SpanStatus::Success;
    spans[3].output = json!(true);
    spans[3].duration_ms = Some(5.0);
    let mut invoke = span("p4", "2.5", Some("2.1"), "flow.invoke:send_invoice");
    invoke.kind = SpanKind::Subflow;
    invoke.child_play_sid = Some("p3".into());
    invoke.status = SpanStatus::Running;
    invoke.ended_at = None;
    invoke.duration_ms = None;
    invoke.started_at = "2026-11-02T10:04:58Z".into();
    spans.push(invoke);
    let mut effects = Vec::new();
    for s in spans {
        effects.extend(app.apply(Data::Event(PlayEvent::Span { span: Box::new(s) })));
    }
    assert_eq!(effects, vec![super::Effect::LoadChild("p3".into())]);
    app.apply(Data::Child {
        play: play_named("p3", "send_invoice"),
        spans: vec![
            span("p3", "1.1", None, "main"),
            span("p3", "1.2", Some("1.1"), "mail"),
        ],
    });
    app.update(Action::Top);
    app.update(Action::Down);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

fn play_named(sid: &str, name: &str) -> crate::model::Play {
    let mut p = play(sid);
    p.name = name.into();
    p
}

#[test]
fn play_screen_failed_span_detail_wide() {
    let mut app = home();
    let mut failed = play("p2");
    failed.status = PlayStatus::Failed;
    failed.error = Some("Traceback (most recent call last):\nValueError: boom".into());
    let mut main = span("p2", "1.1", None, "main");
    main.status = SpanStatus::Failed;
    let mut explode = span("p2", "1.2", Some("1.1"), "explode");
    explode.status = SpanStatus::Failed;
    explode.inputs = json!({"reason": "on purpose"});
    explode.error = Some("Traceback (most recent call last):\n  File \"fails.py\", line 7\nValueError: boom: on purpose".into());
    app.apply(Data::Play {
        play: failed,
        spans: vec![main, explode],
    });
    app.update(Action::Down);
    insta::assert_snapshot!(screen(&mut app, 120, 30));
}

#[test]
fn play_screen_small_terminal() {
    let mut app = opened();
    insta::assert_snapshot!("small_40x12", screen(&mut app, 40, 12));
    insta::assert_snapshot!("tiny_20x5", screen(&mut app, 20, 5));
}

#[test]
fn pending_lists_child_pauses_and_machine_pauses() {
    let mut app = opened();
    let mut play = paused_play_with_spans("p4").0;
    play.pending_resumes.push(ResumeRequest {
        id: "r-webhook".into(),
        name: "payment".into(),
        schema: json!({"type": "object"}),
        ui: serde_json::Value::Null,
        asked_at_span_id: None,
        asked_at: "2026-11-02T10:00:04Z".into(),
        payload: serde_json::Value::Null,
        resumed_at: None,
        kind: crate::model::ResumeKind::Pause,
        wake_at: None,
        expires_at: None,
        on_timeout: None,
        by: None,
        token: None,
        resume_url: None,
    });
    app.apply(Data::Event(PlayEvent::Play {
        play: Box::new(play),
    }));
    app.update(Action::PendingTab);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Pending (1)"), "{text}");
    assert!(
        text.contains("+ 1 pause(s) answered by a machine"),
        "{text}"
    );
}

#[test]
fn help_overlay() {
    let mut app = opened();
    app.update(Action::Help);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn confirm_overlays() {
    let mut app = opened();
    app.update(Action::Cancel);
    insta::assert_snapshot!("confirm_cancel", screen(&mut app, 80, 24));
    app.update(Action::No);
    app.update(Action::Restart);
    insta::assert_snapshot!("confirm_restart", screen(&mut app, 80, 24));
}

#[test]
fn start_form_with_an_error() {
    let mut app = home();
    app.update(Action::NextPane);
    app.update(Action::Down);
    app.update(Action::Down);
    app.update(Action::Open);
    app.update(Action::NextField);
    app.update(Action::Input(tui_input::InputRequest::DeleteLine));
    for c in "lots".chars() {
        app.update(Action::Input(tui_input::InputRequest::InsertChar(c)));
    }
    app.update(Action::Submit);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn statuses_are_coloured_and_the_selection_is_reversed() {
    let mut app = home();
    let terminal = draw(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    // Rows: border, header, then the plays newest first.
    let colour_at = |y: u16| buffer[(2, y)].fg;
    assert_eq!(colour_at(2), Color::Blue, "running");
    assert_eq!(colour_at(3), Color::Yellow, "awaiting_resume");
    assert_eq!(colour_at(4), Color::Green, "success");
    assert_eq!(colour_at(5), Color::Red, "failed");
    assert!(
        buffer[(10, 2)].modifier.contains(Modifier::REVERSED),
        "the selected row"
    );
    assert!(!buffer[(10, 3)].modifier.contains(Modifier::REVERSED));
    // The badge of open pauses.
    let row: Vec<&str> = (0..60).map(|x| buffer[(x, 3)].symbol()).collect();
    let badge = row
        .iter()
        .rposition(|&s| s == "⏸")
        .expect("a badge on the paused play");
    assert_eq!(row[badge + 1], "1");
    assert_eq!(buffer[(badge as u16, 3)].fg, Color::Yellow, "{row:?}");
}

#[test]
fn every_screen_draws_at_every_size_without_panicking() {
    let sizes = [
        (1, 1),
        (10, 3),
        (29, 6),
        (30, 6),
        (45, 11),
        (60, 19),
        (80, 24),
        (250, 80),
    ];
    let actions: &[&[Action]] = &[
        &[],
        &[Action::NextPane],
        &[Action::Help],
        &[Action::Search],
        &[Action::NextPane, Action::Start],
        &[Action::Cancel],
        &[Action::Schedules],
    ];
    for &(w, h) in &sizes {
        for steps in actions {
            let mut app = home();
            for &a in *steps {
                app.update(a);
            }
            draw(&mut app, w, h);
            let mut app = opened();
            for &a in *steps {
                app.update(a);
            }
            draw(&mut app, w, h);
        }
    }
}

/// A play asleep in `main` on a timer, after a step that failed its first
/// attempt and passed its second.
fn sleeping_play() -> (crate::model::Play, Vec<crate::model::Span>) {
    let (mut play, _) = paused_play_with_spans("p4");
    let mut timer = play.pending_resumes[0].clone();
    timer.id = "r-sleep".into();
    timer.name = "sleep".into();
    timer.schema = serde_json::Value::Null;
    timer.ui = serde_json::Value::Null;
    timer.asked_at_span_id = Some("1.1".into());
    timer.kind = ResumeKind::Timer;
    timer.wake_at = Some("2026-11-02T10:09:10Z".into());
    play.pending_resumes = vec![timer];
    let mut main = span("p4", "1.1", None, "main");
    main.status = SpanStatus::Paused;
    main.ended_at = None;
    main.duration_ms = None;
    let mut first = span("p4", "1.2", Some("1.1"), "fetch");
    first.status = SpanStatus::Failed;
    first.attempt = Some(1);
    first.error = Some("ConnectionError: refused".into());
    let mut second = span("p4", "1.3", Some("1.1"), "fetch");
    second.attempt = Some(2);
    (play, vec![main, first, second])
}

#[test]
fn play_screen_timer_and_attempts() {
    let mut app = home();
    app.update(Action::Down);
    let (play, spans) = sleeping_play();
    app.apply(Data::Play { play, spans });
    app.update(Action::PendingTab);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("⏲ wakes in 4m 10s"), "{text}");
    assert!(text.contains("attempt 2"), "{text}");
    insta::assert_snapshot!(text);
    // Nothing to answer: `a` says the play wakes by itself, and when.
    app.update(Action::Answer);
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains("the play wakes by itself (in 4m 10s)"),
        "{text}"
    );
}

#[test]
fn a_pause_with_a_deadline_counts_down_in_the_tree_and_the_pending_tab() {
    let mut app = home();
    app.update(Action::Down);
    let (mut play, spans) = paused_play_with_spans("p4");
    play.pending_resumes[0].expires_at = Some("2026-11-02T10:07:05Z".into());
    app.apply(Data::Play { play, spans });
    app.update(Action::PendingTab);
    let text = screen(&mut app, 80, 24);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("⌛ 2m 5s left"))
        .collect();
    assert_eq!(rows.len(), 2, "the review span and the pending row: {text}");
    assert!(rows[0].contains("review"), "{text}");
    assert!(rows[1].contains("Approve order 42?"), "{text}");
}

/// The Schedules screen over the home fixtures: a cron rule in a zone
/// whose last play waits, a paused interval, one that has not fired yet.
fn schedules() -> App {
    let mut app = home();
    app.update(Action::Schedules);
    let mut nightly = fixtures::schedule("nightly");
    nightly.cron = Some("0 2 * * *".into());
    nightly.every_s = None;
    nightly.tz = Some("Europe/Paris".into());
    nightly.next_fire_at = Some("2026-11-03T01:00:00Z".into());
    nightly.last_play_sid = Some("p4".into());
    let mut paused = fixtures::schedule("every_5m");
    paused.paused = true;
    paused.last_play_sid = Some("p2".into());
    let mut fresh = fixtures::schedule("fresh");
    fresh.every_s = Some(3_600);
    fresh.workflow_sid = "w-etl".into();
    app.apply(Data::Schedules(vec![nightly, paused, fresh]));
    app
}

#[test]
fn schedules_screen() {
    let mut app = schedules();
    app.update(Action::Down);
    app.update(Action::Down);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn schedules_screen_narrow_keeps_name_next_fire_and_last_play() {
    let text = screen(&mut schedules(), 44, 10);
    for shown in ["nightly", "in 14h 55m", "⏸ awaiting", "paused"] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    assert!(!text.contains("WORKFLOW"), "{text}");
}

#[test]
fn the_pending_tab_shows_the_selected_pause_s_url_and_events_show_signals() {
    let mut app = home();
    app.update(Action::Down);
    let (mut play, spans) = paused_play_with_spans("p4");
    play.pending_resumes[0].resume_url = Some("http://127.0.0.1:8470/v1/resume/tok".into());
    play.signal_events.push(crate::model::SignalEvent {
        name: "paid".into(),
        at: "2026-11-02T10:04:00Z".into(),
        outcome: crate::model::SignalOutcome::Refused,
        resume_id: Some("r1".into()),
        violations: vec!["\"tx\" is a required property".into()],
    });
    app.apply(Data::Play { play, spans });
    app.update(Action::PendingTab);
    let text = screen(&mut app, 160, 24);
    assert!(
        text.contains("POST http://127.0.0.1:8470/v1/resume/tok"),
        "{text}"
    );
    app.update(Action::EventsTab);
    let text = screen(&mut app, 160, 40);
    let row = text
        .lines()
        .find(|l| l.contains("signal"))
        .unwrap_or_else(|| panic!("no signal row: {text}"));
    assert!(row.contains("paid refused"), "{row}");
    assert!(row.contains("required property"), "{row}");
}
