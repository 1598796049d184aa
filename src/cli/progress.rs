//! Live progress for `play wait` and `play start --wait`, on a terminal
//! only: a spinner with the current step and the steps done so far, fed by
//! the server's event stream rather than by polling.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::client::{Client, Result};
use crate::model::{Play, PlayEvent, SpanKind, SpanStatus};

/// Waits for the play to settle (or `timeout_ms` to pass; 0 = no limit).
pub fn wait(client: &mut Client, sid: &str, timeout_ms: u64) -> Result<Play> {
    if !std::io::stderr().is_terminal() {
        return client.play_wait(sid, timeout_ms);
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner:.cyan} {elapsed:>4} {msg}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar.set_message(format!("play {sid}: starting"));
    if let Ok(subscription) = client.reconnect().and_then(|c| c.subscribe(Some(sid))) {
        let bar = bar.clone();
        let sid = sid.to_owned();
        std::thread::spawn(move || follow(subscription, &bar, &sid));
    }
    let outcome = client.play_wait(sid, timeout_ms);
    bar.finish_and_clear();
    outcome
}

fn follow(mut subscription: crate::client::Subscription, bar: &ProgressBar, sid: &str) {
    let mut done = 0u64;
    let mut current = String::new();
    while let Ok(event) = subscription.next_event() {
        match event {
            Some(PlayEvent::Span { span }) if span.kind != SpanKind::FlowRoot => {
                match span.status {
                    SpanStatus::Running => current = span.name.clone(),
                    SpanStatus::Success | SpanStatus::Replayed => done += 1,
                    _ => {}
                }
            }
            Some(PlayEvent::Play { play }) => done = done.max(play.steps_done),
            _ => {}
        }
        let at = if current.is_empty() {
            String::new()
        } else {
            format!(" · at {current}")
        };
        bar.set_message(format!("play {sid}: {done} steps done{at}"));
    }
}
