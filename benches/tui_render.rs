//! How fast the dashboard draws a play of 10,000 spans.
//!
//! Builds the state of an open play with 10,000 spans (a root, 99 steps,
//! 100 children each), then times frames drawn into ratatui's
//! `TestBackend` at 80×24 and 200×60 while the cursor scrolls down the
//! tree, and the live path: spans pushed one at a time, drawn in batches
//! as the runtime does. Plain `Instant` loops that print milliseconds per
//! frame; run with `cargo bench --bench tui_render`.

use std::hint::black_box;
use std::time::Instant;

use hero_logic::model::{Play, PlayStatus, Span, SpanKind, SpanStatus};
use hero_logic::tui::{Action, App, Data};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

const SPANS: usize = 10_000;
const FRAMES: usize = 2_000;

fn play() -> Play {
    Play {
        status: PlayStatus::Running,
        started_at: Some("2026-11-02T10:00:00Z".into()),
        runs: 1,
        ..Play::new(
            "0bench000000".into(),
            "bench".into(),
            "w".into(),
            "v".into(),
            json!({"n": SPANS}),
            "2026-11-02T10:00:00Z".into(),
        )
    }
}

fn span(seq: usize, parent: Option<usize>) -> Span {
    Span {
        id: format!("1.{seq}"),
        play_sid: "0bench000000".into(),
        run: 1,
        parent_id: parent.map(|p| format!("1.{p}")),
        name: format!("step_{seq}"),
        kind: if parent.is_none() {
            SpanKind::FlowRoot
        } else {
            SpanKind::Step
        },
        status: SpanStatus::Success,
        started_at: "2026-11-02T10:00:01Z".into(),
        ended_at: Some("2026-11-02T10:00:02Z".into()),
        duration_ms: Some(12.5),
        inputs: json!({"i": seq, "text": "some input"}),
        output: json!({"ok": true, "seq": seq}),
        error: None,
        source_file: Some("/flows/bench.py".into()),
        source_line: Some(12),
        step_key: Some(format!("{seq:040x}")),
        child_play_sid: None,
        cost_usd: 0.0,
        attempt: None,
    }
}

/// A root, 99 steps under it and 100 children under each step.
fn spans() -> Vec<Span> {
    let mut spans = vec![span(1, None)];
    let mut seq = 1;
    while spans.len() < SPANS {
        seq += 1;
        let step = seq;
        spans.push(span(step, Some(1)));
        for _ in 0..100 {
            if spans.len() == SPANS {
                break;
            }
            seq += 1;
            spans.push(span(seq, Some(step)));
        }
    }
    spans
}

fn now() -> jiff::Timestamp {
    "2026-11-02T10:05:00Z".parse().expect("a fixed time")
}

fn open(width: u16, height: u16) -> App {
    let mut app = App::new(now(), width, height);
    app.apply(Data::Plays(vec![play()]));
    app.update(Action::Open);
    app.apply(Data::Play {
        play: play(),
        spans: spans(),
    });
    app.settle();
    app
}

fn ms(since: Instant, n: usize) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0 / n as f64
}

fn main() {
    // Opening: the spans are built first, so only the state's work is timed.
    let all = spans();
    let mut app = App::new(now(), 80, 24);
    app.apply(Data::Plays(vec![play()]));
    app.update(Action::Open);
    let built = Instant::now();
    app.apply(Data::Play {
        play: play(),
        spans: all,
    });
    app.settle();
    println!(
        "open a play of {SPANS} spans (sort, index by parent, flatten): {:.2} ms",
        ms(built, 1)
    );
    black_box(&app);

    for (width, height) in [(80, 24), (200, 60)] {
        let mut app = open(width, height);
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
        // Scrolling: each frame moves the cursor one row and draws.
        let start = Instant::now();
        for _ in 0..FRAMES {
            app.update(Action::Down);
            terminal
                .draw(|frame| app.render(frame))
                .expect("a TestBackend draws");
        }
        let scrolling = ms(start, FRAMES);
        // Paging through the whole tree.
        let start = Instant::now();
        let mut pages = 0;
        for _ in 0..200 {
            app.update(Action::PageDown);
            terminal
                .draw(|frame| app.render(frame))
                .expect("a TestBackend draws");
            pages += 1;
        }
        let paging = ms(start, pages);
        println!(
            "{width}×{height}: {scrolling:.3} ms per frame scrolling a line, {paging:.3} ms per frame paging"
        );
    }

    // Live: the spans arrive one by one and are drawn every 100, as the
    // runtime batches what arrives within a frame.
    let mut app = App::new(now(), 200, 60);
    app.apply(Data::Plays(vec![play()]));
    app.update(Action::Open);
    app.apply(Data::Play {
        play: play(),
        spans: Vec::new(),
    });
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("a test terminal");
    let start = Instant::now();
    let mut frames = 0;
    for (i, s) in spans().into_iter().enumerate() {
        app.apply(Data::Event(hero_logic::model::PlayEvent::Span {
            span: Box::new(s),
        }));
        if i % 100 == 99 {
            app.settle();
            terminal
                .draw(|frame| app.render(frame))
                .expect("a TestBackend draws");
            frames += 1;
        }
    }
    println!(
        "live: {SPANS} spans pushed one at a time, drawn every 100 at 200×60: {:.3} ms per frame ({:.1} ms in all)",
        ms(start, frames),
        ms(start, 1)
    );
}
