//! Signals by name (issue 14, SPEC §11), end to end: sent before a pause is
//! reached (kept, then taken without stopping, in arrival order) and after
//! (answering the open pause), refused by a schema (noted, the pause stays
//! open), over the CLI, RPC and HTTP.

use serde_json::{Value, json};

use crate::common::{TestEnv, flow, path_arg};
use crate::http::{new_key, post, start_http};

fn signal(env: &TestEnv, sid: &str, name: &str, payload: &str) -> Value {
    env.json(["signal", sid, name, payload, "--json"])
}

fn start(env: &TestEnv, input: Value) -> String {
    env.ok([
        "play",
        "start",
        &path_arg(&flow("signalled.py")),
        "--input",
        &input.to_string(),
    ])
    .trim()
    .to_owned()
}

#[test]
fn early_signals_are_kept_and_taken_in_order_in_one_run() {
    let env = TestEnv::new();
    let gate = env.scratch("gate");
    let sid = start(&env, json!({"gate": path_arg(&gate)}));
    for (name, payload) in [("item", "1"), ("paid", r#"{"tx": "a"}"#), ("item", "2")] {
        let event = signal(&env, &sid, name, payload);
        assert_eq!(event["outcome"], "kept", "{event}");
    }
    let shown = env.ok(["play", "show", &sid]);
    assert!(shown.contains("signal    paid kept since"), "{shown}");
    let kept = env.rpc("play_get", json!({"play_sid": sid}))["signals"].clone();
    assert_eq!(kept.as_array().map(Vec::len), Some(3));
    assert_eq!(kept[0]["name"], "item");
    assert_eq!(kept[0]["payload"], 1);

    std::fs::write(&gate, "").expect("the gate opens");
    let done = env.run(["play", "wait", &sid, "--json"]);
    done.expect_code(0);
    let play = done.json();
    assert_eq!(play["output_data"], json!({"tx": "a", "items": [1, 2]}));
    assert_eq!(play["runs"], 1, "an early signal parks nothing");
    assert_eq!(play["signals"], json!([]));
    let taken = play["signal_events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["outcome"] == "taken")
        .count();
    assert_eq!(taken, 3);
}

#[test]
fn a_signal_answers_an_open_pause_and_a_refused_one_leaves_it_open() {
    let env = TestEnv::new();
    let base = start_http(&env);
    let key = new_key(&env, "signals");
    let sid = start(&env, json!({}));
    env.run(["play", "wait", &sid]).expect_code(75);

    let refused = env.run(["signal", &sid, "paid", r#"{"no": "tx"}"#]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("refused"), "{refused}");
    let pending = env.json(["pending", &sid, "--json"]);
    assert_eq!(pending[0]["name"], "paid", "the pause stays open");
    let shown = env.ok(["play", "show", &sid]);
    assert!(shown.contains("refused by pause"), "{shown}");

    // A signal for a pause not reached yet is kept while the play waits.
    let kept = signal(&env, &sid, "item", "5");
    assert_eq!(kept["outcome"], "kept");
    let answered = env.rpc(
        "play_signal",
        json!({"play_sid": sid, "name": "paid", "payload_json": "{\"tx\": \"t1\"}"}),
    );
    assert_eq!(answered["outcome"], "answered", "{answered}");
    assert_eq!(answered["resume_id"], pending[0]["id"]);
    // The next run takes the kept `item` without stopping and stops at the
    // second `item`, which an HTTP signal answers.
    env.run(["play", "wait", &sid]).expect_code(75);
    let url = format!("{base}/v1/plays/{sid}/signals/item");
    let reply = post(&url, None, "6");
    assert_eq!(reply.status, 401, "{reply:?}");
    let reply = post(&url, Some(&key), "6");
    assert_eq!(reply.status, 202, "{reply:?}");
    assert_eq!(reply.body["outcome"], "answered");
    let play = env.run(["play", "wait", &sid, "--json"]);
    play.expect_code(0);
    let play = play.json();
    assert_eq!(play["output_data"], json!({"tx": "t1", "items": [5, 6]}));
    assert_eq!(play["runs"], 3);

    // An ended play takes no signal: a conflict, and nothing stored.
    let late = post(&url, Some(&key), "7");
    assert_eq!(late.status, 409, "{late:?}");
    assert_eq!(late.body["error"]["code"], "wrong_state");
    let cli = env.run(["signal", &sid, "item", "7"]);
    assert_eq!(cli.code, Some(1), "{cli}");
    assert!(cli.stderr.contains("takes no signal"), "{cli}");
    let unknown = post(
        &format!("{base}/v1/plays/nosuch/signals/item"),
        Some(&key),
        "1",
    );
    assert_eq!(unknown.status, 404);
    let after = env.rpc("play_get", json!({"play_sid": sid}));
    assert_eq!(after["signal_events"], play["signal_events"]);
}
