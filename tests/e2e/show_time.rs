//! The command line shows what the clock will do to a play (issue 13):
//! a question's deadline, a timer's wake time, and a retried step's
//! attempts, in `pending` and `play show`, human and `--json`.

use std::time::Duration;

use serde_json::Value;

use crate::common::{TestEnv, flow, path_arg, wait_until};

/// The open pauses of `sid`, as `pending --json` prints them.
fn open_pauses(env: &TestEnv, sid: &str) -> Vec<Value> {
    env.json(["pending", sid, "--json"])
        .as_array()
        .expect("an array of ResumeRequests")
        .iter()
        .filter(|r| r["resumed_at"].is_null())
        .cloned()
        .collect()
}

/// Waits until `sid` has one open pause of `kind` and returns it.
fn wait_for_pause(env: &TestEnv, sid: &str, kind: &str) -> Value {
    let mut found = None;
    wait_until(
        &format!("a {kind} on play {sid}"),
        Duration::from_secs(30),
        || {
            found = open_pauses(env, sid)
                .into_iter()
                .find(|r| r["kind"] == kind);
            found.is_some()
        },
    );
    found.expect("found when the wait ended")
}

/// Whether `text` says `verb` in about an hour (what is left of the
/// flow's 3600 s, rounded as shown: "1h" or "59m 59s").
fn in_an_hour(text: &str, verb: &str) -> bool {
    text.contains(&format!("{verb} in 1h")) || text.contains(&format!("{verb} in 59m"))
}

#[test]
fn deadlines_timers_and_attempts_are_shown() {
    let env = TestEnv::new();
    let sid = env
        .ok(["play", "start", &path_arg(&flow("waits.py"))])
        .trim()
        .to_owned();

    let question = wait_for_pause(&env, &sid, "pause");
    assert!(question["expires_at"].is_string(), "{question}");
    assert!(question["wake_at"].is_null(), "{question}");
    let table = env.ok(["pending", &sid]);
    assert!(table.contains("DUE"), "{table}");
    assert!(in_an_hour(&table, "expires"), "{table}");
    let shown = env.ok(["play", "show", &sid]);
    assert!(
        shown.contains("(id ") && in_an_hour(&shown, "expires"),
        "{shown}"
    );
    assert!(shown.contains(", then returns its default"), "{shown}");

    let id = question["id"].as_str().expect("an id");
    env.ok(["resume", &sid, id, "true"]);
    let timer = wait_for_pause(&env, &sid, "timer");
    assert!(timer["wake_at"].is_string(), "{timer}");
    assert!(timer["ui"].is_null(), "{timer}");
    let table = env.ok(["pending", &sid]);
    assert!(table.contains("timer"), "{table}");
    assert!(in_an_hour(&table, "wakes"), "{table}");
    let shown = env.ok(["play", "show", &sid]);
    assert!(shown.contains("⏲ sleep (id "), "{shown}");
    assert!(in_an_hour(&shown, "wakes"), "{shown}");
    assert!(shown.contains("fetch attempt 1"), "{shown}");
    assert!(shown.contains("fetch attempt 2"), "{shown}");

    // `play show --json`: the same facts, as fields.
    let play = env.json(["play", "show", &sid, "--json"]);
    let attempts: Vec<(String, u64)> = play["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .filter(|s| s["name"] == "fetch")
        .map(|s| {
            (
                s["status"].as_str().unwrap_or_default().to_owned(),
                s["attempt"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [("failed".to_owned(), 1), ("success".to_owned(), 2)],
        "{play}"
    );
    let open: Vec<&Value> = play["pending_resumes"]
        .as_array()
        .expect("pending_resumes")
        .iter()
        .filter(|r| r["resumed_at"].is_null())
        .collect();
    assert_eq!(open.len(), 1, "{play}");
    assert_eq!(open[0]["kind"], "timer");
    assert_eq!(open[0]["wake_at"], timer["wake_at"]);
    env.ok(["play", "cancel", &sid, "--yes"]);
}
