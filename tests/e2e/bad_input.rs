//! End-to-end tests of bad input, from the command line and on the wire: a
//! clear error, a non-zero exit (or the SPEC's error code), and nothing
//! stored. Each table runs its cases against one server and compares the
//! store once.

use serde_json::{Value, json};

use crate::common::{TestEnv, flow, path_arg};

/// One bad request of a table: what it is, and how to send it and judge
/// the refusal (apart from the store, which the table checks).
pub trait BadCase: Sync {
    fn what(&self) -> &str;
    /// Sends the request; describes what is wrong with the refusal, if
    /// anything.
    fn send(&self, env: &TestEnv) -> Option<String>;
}

/// Sends every case to a server on a copy of `template`'s data folder (whose
/// server must be stopped) and checks that each is refused cleanly and that
/// none stores anything. Returns the problems found.
///
/// The store is compared once for the whole table, since a comparison costs
/// a server stop and start; only when it changed is each case sent again to
/// a server of its own, to name the culprit.
pub fn refused_without_storing(template: &TestEnv, cases: &[impl BadCase]) -> Vec<String> {
    let env = TestEnv::copy_of(template);
    let before = env.store_dump();
    env.start();
    let mut problems: Vec<String> = cases.iter().filter_map(|case| case.send(&env)).collect();
    env.stop();
    if env.store_dump() == before {
        return problems;
    }
    problems.extend(std::thread::scope(|scope| {
        let checks: Vec<_> = cases
            .iter()
            .map(|case| {
                scope.spawn(move || {
                    let env = TestEnv::copy_of(template);
                    let before = env.store_dump();
                    env.start();
                    let _ = case.send(&env);
                    env.stop();
                    let after = env.store_dump();
                    (before != after).then(|| {
                        let added: Vec<&String> =
                            after.iter().filter(|r| !before.contains(r)).collect();
                        let removed: Vec<&String> =
                            before.iter().filter(|r| !after.contains(r)).collect();
                        format!(
                            "{}: the store changed: added {added:#?}, removed {removed:#?}",
                            case.what()
                        )
                    })
                })
            })
            .collect();
        checks
            .into_iter()
            .filter_map(|check| check.join().expect("a case's check does not panic"))
            .collect::<Vec<_>>()
    }));
    problems
}

/// One bad command line and what its refusal must say.
pub struct BadInput {
    what: &'static str,
    args: Vec<String>,
    /// The exact exit code, where the SPEC fixes it; else any non-zero one.
    code: Option<i32>,
    /// Each must appear in stderr, ignoring case.
    stderr_has: &'static [&'static str],
}

pub fn bad(
    what: &'static str,
    args: &[&str],
    code: Option<i32>,
    stderr_has: &'static [&'static str],
) -> BadInput {
    BadInput {
        what,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        code,
        stderr_has,
    }
}

impl BadCase for BadInput {
    fn what(&self) -> &str {
        self.what
    }

    fn send(&self, env: &TestEnv) -> Option<String> {
        let out = env.run(&self.args);
        let mut problems = Vec::new();
        match (out.code, self.code) {
            (None, _) => problems.push("it did not finish".to_owned()),
            (Some(0), _) => problems.push("it exited 0".to_owned()),
            (Some(got), Some(want)) if got != want => {
                problems.push(format!("it exited {got}, not {want}"));
            }
            _ => {}
        }
        if !out.stderr.starts_with("error: ") {
            problems.push("stderr does not start with `error: `".to_owned());
        }
        let stderr = out.stderr.to_lowercase();
        for needle in self.stderr_has {
            if !stderr.contains(&needle.to_lowercase()) {
                problems.push(format!("stderr does not mention {needle:?}"));
            }
        }
        (!problems.is_empty()).then(|| format!("{}: {}\n{out}", self.what, problems.join("; ")))
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error_and_stores_nothing() {
    let broken = path_arg(&flow("broken.py"));
    let broken_source = std::fs::read_to_string(flow("broken.py")).expect("broken.py");
    let broken_params =
        json!({"name": "broken", "source": broken_source, "file_name": "broken.py"}).to_string();
    let rows = [
        bad(
            "unknown workflow (play start)",
            &["play", "start", "no_such_flow", "--input", "{}", "--wait"],
            None,
            &["no_such_flow"],
        ),
        bad(
            "unknown workflow (workflow show)",
            &["workflow", "show", "no_such_flow"],
            None,
            &["no_such_flow"],
        ),
        bad(
            "unknown workflow (rpc play_start)",
            &[
                "rpc",
                "play_start",
                r#"{"workflow_sid": "no_such_flow", "input_data": {}}"#,
            ],
            Some(1),
            &["no_such_flow"],
        ),
        bad(
            "malformed JSON params (rpc)",
            &["rpc", "play_get", r#"{"play_sid": "#],
            None,
            &["json"],
        ),
        bad(
            "malformed JSON input (play start)",
            &[
                "play",
                "start",
                "needs_input",
                "--input",
                r#"{"recipient": "#,
            ],
            None,
            &["json"],
        ),
        bad(
            "unknown play sid (play show)",
            &["play", "show", "nosuchplay0"],
            None,
            &["nosuchplay0"],
        ),
        bad(
            "unknown play sid (play wait)",
            &["play", "wait", "nosuchplay0"],
            None,
            &["nosuchplay0"],
        ),
        bad(
            "unknown play sid (play cancel)",
            &["play", "cancel", "nosuchplay0", "--yes"],
            None,
            &["nosuchplay0"],
        ),
        bad(
            "unknown play sid (rpc play_get)",
            &["rpc", "play_get", r#"{"play_sid": "nosuchplay0"}"#],
            Some(1),
            &["nosuchplay0"],
        ),
        bad(
            "input lacks a required field (play start)",
            &["play", "start", "needs_input", "--input", "{}", "--wait"],
            None,
            &["recipient"],
        ),
        bad(
            "input lacks a required field (rpc play_start)",
            &[
                "rpc",
                "play_start",
                r#"{"workflow_sid": "needs_input", "input_data": {"times": 2}}"#,
            ],
            Some(1),
            &["recipient"],
        ),
        bad(
            "flow does not parse (workflow save)",
            &["workflow", "save", &broken],
            None,
            &["line 7", "column"],
        ),
        bad(
            "flow does not parse (play start FILE.py)",
            &["play", "start", &broken, "--wait"],
            None,
            &["line 7", "column"],
        ),
        bad(
            "flow does not parse (rpc workflow_save)",
            &["rpc", "workflow_save", &broken_params],
            Some(1),
            &["line 7", "column"],
        ),
    ];
    // Something in the store for the bad requests to leave alone.
    let template = TestEnv::new();
    template.ok(["workflow", "save", &path_arg(&flow("needs_input.py"))]);
    template.ok(["play", "start", &path_arg(&flow("steps.py")), "--wait"]);
    template.stop();
    let problems = refused_without_storing(&template, &rows);
    assert!(
        problems.is_empty(),
        "{} of {} bad inputs were not refused cleanly:\n\n{}",
        problems.len(),
        rows.len(),
        problems.join("\n\n")
    );
}

/// One malformed or refused JSON-RPC request, sent raw over the socket, and
/// the error code of SPEC §3 it must get.
struct BadRequest {
    what: &'static str,
    line: String,
    code: i64,
    message_has: &'static str,
}

impl BadCase for BadRequest {
    fn what(&self) -> &str {
        self.what
    }

    fn send(&self, env: &TestEnv) -> Option<String> {
        let reply = env.wire(&self.line);
        let mut problems = Vec::new();
        let code = reply["error"]["code"].as_i64();
        if code != Some(self.code) {
            problems.push(format!("error code {code:?}, not {}", self.code));
        }
        let message = reply["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_lowercase();
        if !message.contains(&self.message_has.to_lowercase()) {
            problems.push(format!(
                "the message does not mention {:?}",
                self.message_has
            ));
        }
        if reply.get("result").is_some() {
            problems.push("the reply has a result".to_owned());
        }
        (!problems.is_empty()).then(|| {
            format!(
                "{}: {}\n> {}\n< {reply}",
                self.what,
                problems.join("; "),
                self.line
            )
        })
    }
}

#[test]
fn bad_rpc_requests_get_the_spec_error_codes_and_store_nothing() {
    let call = |method: &str, params: Value| {
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string()
    };
    let broken_source = std::fs::read_to_string(flow("broken.py")).expect("broken.py");
    let row = |what, line: String, code, message_has| BadRequest {
        what,
        line,
        code,
        message_has,
    };
    let rows = [
        row(
            "malformed JSON",
            r#"{"jsonrpc": "2.0", "id": 7, "method": "play_get", "params": {"#.to_owned(),
            -32700,
            "",
        ),
        row(
            "unknown method",
            call("play_explode", json!({})),
            -32601,
            "play_explode",
        ),
        row(
            "unknown play sid",
            call("play_get", json!({"play_sid": "nosuchplay0"})),
            -32001,
            "nosuchplay0",
        ),
        row(
            "unknown play sid to cancel",
            call("play_cancel", json!({"play_sid": "nosuchplay0"})),
            -32001,
            "nosuchplay0",
        ),
        row(
            "unknown workflow",
            call(
                "play_start",
                json!({"workflow_sid": "no_such_flow", "input_data": {}}),
            ),
            -32001,
            "no_such_flow",
        ),
        row(
            "missing params",
            call("play_get", json!({})),
            -32602,
            "play_sid",
        ),
        row(
            "input lacks a required field of main",
            call(
                "play_start",
                json!({"workflow_sid": "needs_input", "input_data": {}}),
            ),
            -32602,
            "recipient",
        ),
        // SDK requests go only on a connection attached to a run by its
        // token (tests/e2e/channel.rs).
        row(
            "a checkpoint on a connection that did not attach",
            call(
                "step_output",
                json!({"play_sid": "nosuchplay0", "run": 1, "step_key": "k", "output": 1}),
            ),
            -32600,
            "run_attach",
        ),
        row(
            "an attach with a made-up token",
            call("run_attach", json!({"token": "00"})),
            -32600,
            "unknown run token",
        ),
        row(
            "an attach without its token",
            call("run_attach", json!({})),
            -32602,
            "token",
        ),
        row(
            "flow does not parse",
            call(
                "workflow_save",
                json!({"name": "broken", "source": broken_source, "file_name": "broken.py"}),
            ),
            -32004,
            "line 7",
        ),
    ];
    let template = TestEnv::new();
    template.ok(["workflow", "save", &path_arg(&flow("needs_input.py"))]);
    template.ok(["play", "start", &path_arg(&flow("steps.py")), "--wait"]);
    template.stop();
    let problems = refused_without_storing(&template, &rows);
    assert!(
        problems.is_empty(),
        "{} of {} bad requests were not refused as the SPEC says:\n\n{}",
        problems.len(),
        rows.len(),
        problems.join("\n\n")
    );
}
