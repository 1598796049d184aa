//! Idempotent starts over RPC and the CLI (issue 14, SPEC §11): a second
//! start with a key already used for the workflow gets the first play back
//! and starts nothing.

use serde_json::json;

use crate::common::{TestEnv, flow};

fn plays_of(env: &TestEnv, workflow: &str) -> usize {
    env.rpc("play_list", json!({"workflow": workflow}))
        .as_array()
        .expect("an array of Plays")
        .len()
}

#[test]
fn a_repeated_key_returns_the_first_play_and_starts_nothing() {
    let env = TestEnv::new();
    env.ok([
        "workflow",
        "save",
        &crate::common::path_arg(&flow("approve.py")),
    ]);

    let first = env.rpc(
        "play_start",
        json!({"workflow_sid": "approve", "input_data": {"order": 1}, "idempotency_key": "evt-1"}),
    );
    assert_eq!(first["idempotency_key"], "evt-1");
    let again = env.rpc(
        "play_start",
        json!({"workflow_sid": "approve", "input_data": {"order": 2}, "idempotency_key": "evt-1"}),
    );
    assert_eq!(
        again["sid"], first["sid"],
        "the same key gives the same play"
    );
    assert_eq!(
        again["input_data"],
        json!({"order": 1}),
        "the first start's input"
    );

    // play_run_async shares the index: the same key gives the same sid.
    let sid = env.rpc(
        "play_run_async",
        json!({"workflow_sid": "approve", "idempotency_key": "evt-1"}),
    );
    assert_eq!(sid, first["sid"]);
    let other = env.rpc(
        "play_run_async",
        json!({"workflow_sid": "approve", "idempotency_key": "evt-2"}),
    );
    assert_ne!(other, first["sid"], "another key starts another play");
    assert_eq!(plays_of(&env, "approve"), 2);

    // The CLI's --key, by name of the workflow.
    let by_cli = env.ok(["play", "start", "approve", "--key", "evt-2"]);
    assert_eq!(by_cli.trim(), other.as_str().expect("a sid"));
    assert_eq!(plays_of(&env, "approve"), 2, "nothing new was started");
}

#[test]
fn a_key_belongs_to_one_workflow() {
    let env = TestEnv::new();
    env.ok([
        "workflow",
        "save",
        &crate::common::path_arg(&flow("approve.py")),
    ]);
    env.ok([
        "workflow",
        "save",
        &crate::common::path_arg(&flow("steps.py")),
    ]);
    let a = env.rpc(
        "play_start",
        json!({"workflow_sid": "approve", "idempotency_key": "same"}),
    );
    let b = env.rpc(
        "play_start",
        json!({"workflow_sid": "steps", "idempotency_key": "same"}),
    );
    assert_ne!(a["sid"], b["sid"]);
}

#[test]
fn a_bad_key_is_refused_naming_the_limit() {
    let env = TestEnv::new();
    env.ok([
        "workflow",
        "save",
        &crate::common::path_arg(&flow("approve.py")),
    ]);
    for key in [String::new(), "k".repeat(257), "a\nb".to_owned()] {
        let out = env.run([
            "rpc",
            "play_start",
            &json!({"workflow_sid": "approve", "idempotency_key": key}).to_string(),
        ]);
        assert_eq!(out.code, Some(1), "{out}");
        assert!(out.stderr.contains("idempotency_key"), "{out}");
    }
    assert_eq!(plays_of(&env, "approve"), 0);
}
