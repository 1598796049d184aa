//! End-to-end tests of running flows from the command line: `play start`
//! with and without `--wait`, failures with their tracebacks, checkpoints
//! polled for, timeouts and cancels that leave no process behind, and
//! `workflow save/list/show`.
//!
//! Each test owns a [`TestEnv`], so they all run in parallel. None of them
//! sleeps to synchronise; they wait on conditions with a deadline.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{GONE_WITHIN, TestEnv, flow, path_arg, process_gone, wait_until};

/// The `def NAME` line of a flow file, 1-based, as a span's `source_line`.
fn def_line(file: &str, function: &str) -> u64 {
    let source = std::fs::read_to_string(flow(file)).expect("the flow file");
    let needle = format!("def {function}(");
    let index = source
        .lines()
        .position(|line| line.trim_start().starts_with(&needle))
        .unwrap_or_else(|| panic!("no `{needle}` in {file}"));
    index as u64 + 1
}

/// Reads "<flow pid> <child pid>" written by `tests/flows/sleeper.py`.
fn sleeper_pids(pid_file: &std::path::Path) -> Vec<u32> {
    let text = std::fs::read_to_string(pid_file).expect("the pid file");
    text.split_whitespace()
        .map(|pid| pid.parse().expect("a pid"))
        .collect()
}

/// Starts a play of `sleeper.py` that sleeps 30 s, and returns its sid.
fn start_sleeper(env: &TestEnv, pid_file: &std::path::Path) -> String {
    let input = json!({"pid_file": path_arg(pid_file), "seconds": 30.0}).to_string();
    let stdout = env.ok([
        "play",
        "start",
        &path_arg(&flow("sleeper.py")),
        "--input",
        &input,
    ]);
    stdout.trim().to_owned()
}

fn assert_all_gone(pids: &[u32], after: &str) {
    for &pid in pids {
        wait_until(
            &format!("process {pid} is gone after {after}"),
            GONE_WITHIN,
            || process_gone(pid),
        );
    }
}

#[test]
fn play_start_wait_runs_a_flow_to_success_with_nested_spans() {
    let env = TestEnv::new();
    let out = env.run([
        "play",
        "start",
        &path_arg(&flow("steps.py")),
        "--input",
        r#"{"name": "ada"}"#,
        "--wait",
        "--json",
    ]);
    out.expect_code(0);
    let play = out.json();
    assert_eq!(play["status"], "success", "{out}");
    assert_eq!(
        play["output_data"],
        json!({"greeting": "hello ADA", "farewell": "goodbye ADA"})
    );
    assert_eq!(play["input_data"], json!({"name": "ada"}));
    assert_eq!(play["error"], Value::Null);
    assert_eq!(play["runs"], 1);
    assert!(
        play["ended_at"].is_string(),
        "a finished play has ended_at: {play}"
    );
    let sid = play["sid"].as_str().expect("a play sid").to_owned();

    // `play start FILE.py` saved the file as the workflow `steps`.
    let workflow = env.json(["workflow", "show", "steps", "--json"]);
    assert_eq!(workflow["sid"], play["workflow_sid"]);

    let spans = env.rpc("play_spans", json!({"play_sid": sid}));
    let spans = spans.as_array().expect("play_spans gives an array");
    let roots: Vec<&Value> = spans.iter().filter(|s| s["kind"] == "flow_root").collect();
    assert_eq!(roots.len(), 1, "exactly one flow_root span: {spans:#?}");
    let root = roots[0];
    assert_eq!(root["name"], "main");
    assert_eq!(root["parent_id"], Value::Null);
    assert_eq!(root["status"], "success");

    let by_name =
        |name: &str| -> Vec<&Value> { spans.iter().filter(|s| s["name"] == name).collect() };
    let greet = by_name("greet");
    let farewell = by_name("farewell");
    let shouts = by_name("shout");
    assert_eq!(
        (greet.len(), farewell.len(), shouts.len()),
        (1, 1, 2),
        "{spans:#?}"
    );
    assert_eq!(
        spans.len(),
        5,
        "main, greet, farewell and two shouts: {spans:#?}"
    );
    for step in greet.iter().chain(&farewell).chain(&shouts) {
        assert_eq!(step["kind"], "step", "{step}");
        assert_eq!(step["status"], "success", "{step}");
        assert_eq!(step["play_sid"], sid.as_str());
    }
    assert_eq!(greet[0]["parent_id"], root["id"]);
    assert_eq!(farewell[0]["parent_id"], root["id"]);
    let shout_parents: HashSet<&Value> = shouts.iter().map(|s| &s["parent_id"]).collect();
    let expected_parents: HashSet<&Value> = [&greet[0]["id"], &farewell[0]["id"]].into();
    assert_eq!(
        shout_parents, expected_parents,
        "one shout under greet, one under farewell"
    );
    for shout in &shouts {
        assert_eq!(shout["inputs"], json!({"word": "ada"}));
        assert_eq!(shout["output"], "ADA");
    }

    // Step keys: present, distinct, and different for the same call with the
    // same arguments under two parents.
    let keys: Vec<&str> = spans
        .iter()
        .filter(|s| s["kind"] == "step")
        .map(|s| {
            s["step_key"]
                .as_str()
                .unwrap_or_else(|| panic!("a step_key: {s}"))
        })
        .collect();
    assert!(keys.iter().all(|k| !k.is_empty()));
    assert_eq!(
        keys.iter().collect::<HashSet<_>>().len(),
        keys.len(),
        "{keys:?}"
    );
    assert_ne!(shouts[0]["step_key"], shouts[1]["step_key"]);

    // Source locations point at the real `def` lines of the saved file.
    for (span, function) in [(root, "main"), (greet[0], "greet"), (shouts[0], "shout")] {
        let file = span["source_file"]
            .as_str()
            .unwrap_or_else(|| panic!("{span}"));
        assert!(
            file.ends_with("steps.py"),
            "source_file of {function}: {file}"
        );
        assert_eq!(
            span["source_line"].as_u64(),
            Some(def_line("steps.py", function)),
            "source_line of {function}"
        );
    }

    // Each step's output was checkpointed under its key.
    let stored = env.rpc("play_get", json!({"play_sid": sid}));
    for step in spans.iter().filter(|s| s["kind"] == "step") {
        assert_eq!(
            stored["step_outputs"][step["step_key"].as_str().expect("a key")],
            step["output"],
            "step_outputs holds {}'s output",
            step["name"]
        );
    }

    // `play show --json` is the Play plus its spans; the human form draws
    // the tree; the logs hold what the flow printed; the list has the play.
    let shown = env.json(["play", "show", &sid, "--json"]);
    assert_eq!(shown["status"], "success");
    assert_eq!(shown["spans"].as_array().map(Vec::len), Some(5));
    let tree = env.ok(["play", "show", &sid]);
    for name in ["main", "greet", "farewell", "shout"] {
        assert!(tree.contains(name), "`play show` names {name}:\n{tree}");
    }
    let logs = env.ok(["play", "logs", &sid]);
    assert!(
        logs.contains("greeting ada"),
        "the flow's print is in the logs:\n{logs}"
    );
    let list = env.json(["play", "list", "--json"]);
    assert!(
        list.as_array().is_some_and(|plays| plays
            .iter()
            .any(|p| p["sid"] == sid.as_str() && p["status"] == "success")),
        "`play list` has the play: {list}"
    );
}

#[test]
fn play_start_without_wait_prints_the_sid_and_play_wait_finishes_it() {
    let env = TestEnv::new();
    let stdout = env.ok([
        "play",
        "start",
        &path_arg(&flow("steps.py")),
        "--input",
        r#"{"name": "bo"}"#,
    ]);
    let sid = stdout.trim();
    assert!(
        !sid.is_empty() && !sid.contains(char::is_whitespace) && !sid.contains('{'),
        "`play start` without --wait prints the sid alone: {stdout:?}"
    );
    let out = env.run(["play", "wait", sid, "--json"]);
    out.expect_code(0);
    let play = out.json();
    assert_eq!(play["sid"], sid);
    assert_eq!(play["status"], "success");
    assert_eq!(play["output_data"]["greeting"], "hello BO");
}

#[test]
fn a_flow_that_raises_fails_with_its_traceback_and_exit_1() {
    let env = TestEnv::new();
    let out = env.run([
        "play",
        "start",
        &path_arg(&flow("fails.py")),
        "--wait",
        "--json",
    ]);
    out.expect_code(1);
    let play = out.json();
    assert_eq!(play["status"], "failed", "{out}");
    assert_eq!(play["output_data"], Value::Null);
    let error = play["error"]
        .as_str()
        .unwrap_or_else(|| panic!("a failed play has an error: {play}"));
    for needle in ["Traceback", "explode", "ValueError: boom: on purpose"] {
        assert!(
            error.contains(needle),
            "the error carries {needle:?}:\n{error}"
        );
    }

    let sid = play["sid"].as_str().expect("a sid");
    let spans = env.rpc("play_spans", json!({"play_sid": sid}));
    let explode = spans
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == "explode"))
        .unwrap_or_else(|| panic!("an `explode` span: {spans}"));
    assert_eq!(explode["status"], "failed");
    assert!(
        explode["error"]
            .as_str()
            .is_some_and(|e| e.contains("boom: on purpose")),
        "the failed step carries its error: {explode}"
    );
}

#[test]
fn a_step_whose_value_json_cannot_record_fails_at_that_step() {
    let env = TestEnv::new();
    let file = path_arg(&flow("outputs.py"));
    for (kind, needle) in [
        (
            "set",
            "step `a_set` returned a value that is not JSON-serializable",
        ),
        (
            "itself",
            "step `itself` returned a value that contains itself",
        ),
        (
            "declared",
            "step `declared` must return a dict with the fields declared in outputs=: missing total",
        ),
    ] {
        let input = json!({ "kind": kind }).to_string();
        let out = env.run([
            "play", "start", &file, "--input", &input, "--wait", "--json",
        ]);
        out.expect_code(1);
        let play = out.json();
        assert_eq!(play["status"], "failed", "{kind}: {out}");
        assert!(
            play["error"].as_str().is_some_and(|e| e.contains(needle)),
            "{kind}: the error names the step and the problem: {play}"
        );
        assert_eq!(play["steps_done"], 0, "{kind}: nothing was checkpointed");
    }
    // A tuple is recorded as a list, and the flow sees the list it would
    // see replayed.
    let input = json!({"kind": "pair"}).to_string();
    let out = env.run([
        "play", "start", &file, "--input", &input, "--wait", "--json",
    ]);
    out.expect_code(0);
    assert_eq!(
        out.json()["output_data"],
        json!({"is_list": true, "value": [1, "a"]})
    );
}

#[test]
fn a_lone_flow_polls_for_its_checkpoints_answers_on_redb_and_flows_that_share_the_cores_do_not() {
    let env = TestEnv::new();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let polled = |env: &TestEnv| {
        let out = env.run([
            "play",
            "start",
            &path_arg(&flow("polled.py")),
            "--input",
            r#"{"n": 50}"#,
            "--wait",
            "--json",
        ]);
        out.expect_code(0);
        out.json()["output_data"]["polled"]
            .as_u64()
            .unwrap_or_else(|| panic!("the flow counts: {out}"))
    };
    // Alone, the flow has a core of its own whenever there are two: it
    // polls at least for the answers that come within the poll's limit.
    // Not on PostgreSQL, whose answer needs a core of its own.
    let alone = polled(&env);
    if env.database_url.is_some() {
        assert_eq!(alone, 0, "a flow polled for PostgreSQL's answers");
        return;
    } else if cores >= 2 {
        assert!(
            alone > 0,
            "a lone flow on {cores} cores polled for none of 50 answers"
        );
    } else {
        assert_eq!(alone, 0, "one core: nobody polls");
    }
    // With as many other flows running as half the cores, none may poll.
    let others = cores / 2;
    if others + 1 > 8 {
        return; // more flows than the server runs at once by default
    }
    let pid_files: Vec<_> = (0..others)
        .map(|i| env.scratch(&format!("sleeper{i}.pids")))
        .collect();
    let sids: Vec<String> = pid_files
        .iter()
        .map(|pid_file| start_sleeper(&env, pid_file))
        .collect();
    wait_until(
        "every sleeper is connected, its root span running",
        Duration::from_secs(20),
        || {
            sids.iter().all(|sid| {
                env.rpc("play_spans", json!({"play_sid": sid}))
                    .as_array()
                    .is_some_and(|spans| spans.iter().any(|s| s["status"] == "running"))
            })
        },
    );
    assert_eq!(polled(&env), 0, "{others} other flows run on {cores} cores");
    for sid in &sids {
        env.ok(["play", "cancel", sid, "--yes"]);
    }
}

#[test]
fn a_flow_over_its_timeout_is_timed_out_with_exit_124_and_its_processes_gone() {
    let env = TestEnv::new();
    let pid_file = env.scratch("sleeper.pids");
    let input = json!({"pid_file": path_arg(&pid_file), "seconds": 30.0}).to_string();
    let out = env.run([
        "play",
        "start",
        &path_arg(&flow("sleeper.py")),
        "--input",
        &input,
        "--timeout",
        "1",
        "--wait",
        "--json",
    ]);
    out.expect_code(124);
    let play = out.json();
    assert_eq!(play["status"], "timed_out", "{out}");

    // The play has ended, so the file is there now or never will be.
    assert!(
        pid_file.exists(),
        "the flow was stopped before it wrote its pids, within a second of starting: \
         is the machine overloaded?\n{out}"
    );
    let pids = sleeper_pids(&pid_file);
    assert_eq!(pids.len(), 2, "the flow and its child");
    assert_all_gone(&pids, "the timeout");
}

#[test]
fn play_cancel_cancels_the_play_and_kills_its_process_group() {
    let env = TestEnv::new();
    let pid_file = env.scratch("sleeper.pids");
    let sid = start_sleeper(&env, &pid_file);

    wait_until(
        "the flow is running and has written its pids",
        Duration::from_secs(20),
        || pid_file.exists(),
    );
    let pids = sleeper_pids(&pid_file);
    assert!(
        pids.iter().all(|&pid| !process_gone(pid)),
        "both processes run"
    );
    // The SDK holds a step's start back in case the step ends at once; one
    // still running a moment later shows as running.
    wait_until(
        "the running root span is stored",
        Duration::from_secs(10),
        || {
            env.rpc("play_spans", json!({"play_sid": sid}))
                .as_array()
                .is_some_and(|spans| {
                    spans
                        .iter()
                        .any(|s| s["kind"] == "flow_root" && s["status"] == "running")
                })
        },
    );

    env.ok(["play", "cancel", &sid, "--yes"]);
    let out = env.run(["play", "wait", &sid, "--json"]);
    out.expect_code(3);
    assert_eq!(out.json()["status"], "cancelled", "{out}");
    let shown = env.json(["play", "show", &sid, "--json"]);
    assert_eq!(shown["status"], "cancelled");
    assert_all_gone(&pids, "`play cancel`");
}

#[test]
fn workflow_save_list_show() {
    let env = TestEnv::new();
    let saved = env.json(["workflow", "save", &path_arg(&flow("steps.py")), "--json"]);
    assert_eq!(saved["name"], "steps");
    assert_eq!(
        saved["inputs"],
        json!([{"name": "name", "type": "str", "required": false, "default": "world"}])
    );
    let version = saved["current_version_sid"]
        .as_str()
        .expect("a version sid");
    assert!(!version.is_empty());

    // Saving identical source again yields the same version.
    let again = env.json(["workflow", "save", &path_arg(&flow("steps.py")), "--json"]);
    assert_eq!(again["sid"], saved["sid"]);
    assert_eq!(again["current_version_sid"], version);

    let needs = env.json([
        "workflow",
        "save",
        &path_arg(&flow("needs_input.py")),
        "--json",
    ]);
    assert_eq!(
        needs["inputs"],
        json!([
            {"name": "recipient", "type": "str", "required": true, "default": null},
            {"name": "times", "type": "int", "required": false, "default": 1},
        ])
    );

    let list = env.json(["workflow", "list", "--json"]);
    let mut names: Vec<&str> = list
        .as_array()
        .expect("an array of workflows")
        .iter()
        .filter_map(|w| w["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["needs_input", "steps"]);
    let human = env.ok(["workflow", "list"]);
    assert!(
        human.contains("steps") && human.contains("needs_input"),
        "{human}"
    );

    let shown = env.json(["workflow", "show", "steps", "--json"]);
    assert_eq!(shown["sid"], saved["sid"]);
    assert_eq!(shown["current_version_sid"], version);
}
