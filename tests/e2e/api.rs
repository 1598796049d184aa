//! The API's vocabulary on the wire: hints travel as `error.data.hint`,
//! and every method `rpc.discover` lists is the one the server dispatches,
//! with the same params.

use std::collections::BTreeSet;

use serde_json::json;

use crate::common::{TestEnv, flow};

fn finished_play(env: &TestEnv) -> String {
    let steps = flow("steps.py");
    let steps = steps.to_str().expect("test paths are UTF-8");
    env.json(["play", "start", steps, "--wait", "--json"])["sid"]
        .as_str()
        .expect("a sid")
        .to_owned()
}

#[test]
fn a_hint_is_error_data_and_the_cli_still_prints_it_as_a_hint_line() {
    let env = TestEnv::new();
    let sid = finished_play(&env);
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "play_resume",
        "params": {"play_sid": sid, "resume_id": "approve", "payload_json": "true"}});
    let reply = env.wire(&request.to_string());
    let error = &reply["error"];
    assert_eq!(error["code"], json!(-32001), "{reply}");
    let hint = error["data"]["hint"].as_str().expect("a hint, as a string");
    assert!(
        hint.contains(&format!("hero_logic pending {sid}")),
        "{reply}"
    );
    let message = error["message"].as_str().expect("a message");
    assert!(!message.contains("hint"), "no hint in the message: {reply}");

    let out = env.run(["resume", &sid, "approve", "true"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("error: ") && l.ends_with(message)),
        "{out}"
    );
    assert!(
        out.stderr.lines().any(|l| l == format!("hint: {hint}")),
        "{out}"
    );
}

/// The names a refusal quotes in backticks, but the unknown one: serde's
/// "unknown field `x`, expected one of `a`, `b`", or `subscribe`'s own.
fn quoted_params(message: &str) -> BTreeSet<String> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|name| *name != "no_such_param")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_listed_method_is_dispatched_with_the_params_it_lists() {
    let env = TestEnv::new();
    env.start();
    let document = env.rpc("rpc.discover", json!({}));
    let methods = document["methods"].as_array().expect("methods");
    for method in methods {
        let name = method["name"].as_str().expect("a name");
        let params: Vec<&str> = method["params"]
            .as_array()
            .expect("params")
            .iter()
            .map(|p| p["name"].as_str().expect("a param name"))
            .collect();
        if name == "server_shutdown" {
            continue;
        }
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": name,
            "params": {"no_such_param": 0}});
        let reply = env.wire(&request.to_string());
        let error = &reply["error"];
        // `run_attach` is the one a plain connection may send.
        if method["x-internal"] == json!(true) && name != "run_attach" {
            // Known as a run's message: refused off an attached connection.
            assert_eq!(error["code"], json!(-32600), "{name}: {reply}");
            assert!(
                error["message"].as_str().unwrap_or("").contains("run"),
                "{name}: {reply}"
            );
            continue;
        }
        if params.is_empty() {
            assert!(reply.get("result").is_some(), "{name}: {reply}");
            continue;
        }
        assert_eq!(error["code"], json!(-32602), "{name}: {reply}");
        let message = error["message"].as_str().expect("a message");
        match message.contains("`no_such_param`") {
            true => {
                let listed: BTreeSet<String> = params.iter().map(|p| p.to_string()).collect();
                assert_eq!(quoted_params(message), listed, "{name}: {message}");
            }
            // Params that ignore unknown fields (play_start) name the first
            // required one they miss.
            false => {
                let required: Vec<&str> = method["params"]
                    .as_array()
                    .expect("params")
                    .iter()
                    .filter(|p| p["required"] == json!(true))
                    .map(|p| p["name"].as_str().expect("a name"))
                    .collect();
                assert!(
                    required
                        .iter()
                        .any(|r| message.contains(&format!("missing field `{r}`"))),
                    "{name}: {message}"
                );
            }
        }
    }
    let reply = env.wire(r#"{"jsonrpc": "2.0", "id": 1, "method": "no_such_method"}"#);
    assert_eq!(reply["error"]["code"], json!(-32601), "{reply}");
    assert!(reply["error"]["data"]["hint"].is_string(), "{reply}");
}
