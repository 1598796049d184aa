//! End-to-end tests of what a run gets and gives (issue 11): its input in a
//! file whatever its size, its working folder, and logs that are any bytes
//! and bounded.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{Outcome, TestEnv, flow_source};

fn write_flow(env: &TestEnv, name: &str, source: &str) -> String {
    let path = env.scratch(name);
    std::fs::write(&path, source).expect("the flow file");
    path.to_str().expect("test paths are UTF-8").to_owned()
}

/// `hero_logic ARGS...` run from `cwd`.
fn run_in(env: &TestEnv, cwd: &Path, args: &[&str]) -> Outcome {
    let mut cmd = env.cmd();
    cmd.current_dir(cwd).args(args);
    env.output(
        &mut cmd,
        format!("hero_logic {} (in {})", args.join(" "), cwd.display()),
    )
}

#[test]
fn large_inputs_started_at_once_all_reach_their_runs() {
    let env = TestEnv::new();
    let flow = write_flow(&env, "echo_size.py", &flow_source("echo_size.py"));
    env.ok(["workflow", "save", &flow]);
    env.start();
    // Each over the kernel's 128 KiB limit on one environment string (or
    // one argument: so they go over the socket, as any client's would).
    let blobs: Vec<String> = (0..4)
        .map(|i| format!("{}{i:08}", "x".repeat(200_000)))
        .collect();
    let sids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = blobs
            .iter()
            .map(|blob| {
                let env = &env;
                scope.spawn(move || {
                    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "play_start",
                        "params": {"workflow_sid": "echo_size", "input_data": {"blob": blob}}});
                    let reply = env.wire(&request.to_string());
                    reply["result"]["sid"]
                        .as_str()
                        .unwrap_or_else(|| panic!("no play started: {}", reply["error"]))
                        .to_owned()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a starter"))
            .collect()
    });
    for (i, sid) in sids.iter().enumerate() {
        let outcome = env.run(["play", "wait", sid, "--json"]);
        let play = outcome.json();
        assert_eq!(play["status"], "success", "{}", play["error"]);
        assert_eq!(
            play["output_data"],
            json!({"size": 200_008, "tail": format!("{i:08}")})
        );
    }
}

#[test]
fn bytes_that_are_not_utf8_are_logged_and_never_fatal() {
    let env = TestEnv::new();
    let flow = write_flow(&env, "not_utf8.py", &flow_source("not_utf8.py"));
    let play = env.json(["play", "start", &flow, "--wait", "--json"]);
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"], "went on");
    let logs = env.rpc("play_logs", json!({"play_sid": play["sid"]}));
    let lines: Vec<&str> = logs
        .as_array()
        .expect("log lines")
        .iter()
        .map(|l| l["line"].as_str().expect("a line"))
        .collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| **l == "bad \u{fffd}\u{fffd} bytes")
            .count(),
        3,
        "{lines:?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| **l == "err \u{fffd}( bytes")
            .count(),
        3,
        "{lines:?}"
    );
    assert!(lines.contains(&"plain line"), "{lines:?}");
}

#[test]
fn every_run_of_a_play_runs_in_the_folder_it_was_started_from() {
    let env = TestEnv::new();
    let flow = write_flow(&env, "reads.py", &flow_source("reads_relative.py"));
    let home = env.scratch("project");
    let elsewhere = env.scratch("elsewhere");
    for (dir, text) in [(&home, "mine"), (&elsewhere, "not mine")] {
        std::fs::create_dir_all(dir).expect("a folder");
        std::fs::write(dir.join("data.txt"), text).expect("data.txt");
    }
    let started = run_in(&env, &home, &["play", "start", &flow, "--wait", "--json"]);
    started.expect_code(75);
    let play = started.json();
    let sid = play["sid"].as_str().expect("a sid");
    assert_eq!(
        play["working_dir"],
        Value::String(home.to_str().expect("UTF-8").to_owned())
    );
    let pause = &play["pending_resumes"][0]["id"];
    run_in(
        &env,
        &elsewhere,
        &["resume", sid, pause.as_str().expect("an id"), "{}"],
    )
    .expect_code(0);
    let done = run_in(&env, &elsewhere, &["play", "wait", sid, "--json"]);
    done.expect_code(0);
    assert_eq!(
        done.json()["output_data"],
        json!({"before": "mine", "after": "mine"})
    );
}

#[test]
fn a_working_folder_that_is_not_one_is_refused_and_nothing_is_stored() {
    let env = TestEnv::new();
    let flow = write_flow(&env, "echo_size.py", &flow_source("echo_size.py"));
    env.ok(["workflow", "save", &flow]);
    let before = env.json(["play", "list", "--json"]);
    for dir in ["relative/dir", "/no/such/folder/anywhere"] {
        let out = env.run([
            "rpc",
            "play_start",
            &json!({"workflow_sid": "echo_size", "input_data": {"blob": "b"}, "working_dir": dir})
                .to_string(),
        ]);
        out.expect_code(1);
        assert!(out.stderr.contains("working_dir"), "{out}");
    }
    assert_eq!(env.json(["play", "list", "--json"]), before);
}

/// Runs the printing flow to its end; returns the settled play.
fn print_run(env: &TestEnv, lines: usize, long: usize) -> Value {
    let flow = write_flow(env, "prints.py", &flow_source("prints.py"));
    let input = json!({"lines": lines, "long": long}).to_string();
    let play = env.json([
        "play", "start", &flow, "--input", &input, "--wait", "--json",
    ]);
    assert_eq!(play["status"], "success", "{play}");
    play
}

fn log_lines(env: &TestEnv, sid: &Value) -> Vec<String> {
    env.rpc("play_logs", json!({"play_sid": sid}))
        .as_array()
        .expect("log lines")
        .iter()
        .map(|l| l["line"].as_str().expect("a line").to_owned())
        .collect()
}

#[test]
fn a_run_keeps_logs_up_to_its_limit_and_says_how_much_it_dropped() {
    let env = TestEnv::new();
    let mut cmd = env.cmd();
    cmd.env("HERO_LOGIC_LOG_LIMIT", "2000").arg("start");
    env.output(&mut cmd, "hero_logic start".into())
        .expect_code(0);
    let play = print_run(&env, 100, 0);
    let lines = log_lines(&env, &play["sid"]);
    let (markers, kept): (Vec<_>, Vec<_>) =
        lines.iter().partition(|l| l.starts_with("[hero_logic:"));
    // Each printed line is 50 bytes and a line end: 39 fit in 2,000 bytes.
    assert_eq!(kept.len(), 39, "{lines:?}");
    assert_eq!(kept[38], &format!("line 0038 {}", ".".repeat(40)));
    assert_eq!(markers.len(), 1, "{lines:?}");
    // 61 lines of 51 bytes and the empty last line's 1 byte.
    assert!(
        markers[0].contains(&format!("{} more bytes", 61 * 51 + 1)),
        "{markers:?}"
    );
}

#[test]
fn a_very_long_line_is_kept_in_pieces() {
    let env = TestEnv::new();
    let play = print_run(&env, 0, 40000);
    let lines = log_lines(&env, &play["sid"]);
    let sizes: Vec<usize> = lines.iter().map(String::len).collect();
    assert_eq!(
        sizes,
        [16 * 1024, 16 * 1024, 40_000 - 32 * 1024],
        "{sizes:?}"
    );
}

#[test]
fn logs_are_read_back_in_pages_and_play_logs_prints_them_all() {
    let env = TestEnv::new();
    let play = print_run(&env, 2500, 0);
    let page = env.rpc(
        "play_logs",
        json!({"play_sid": play["sid"], "after": 100, "limit": 10}),
    );
    let page = page.as_array().expect("a page");
    assert_eq!(page.len(), 10);
    assert_eq!(page[0]["seq"], 101);
    let sid = play["sid"].as_str().expect("a sid");
    let printed = env.ok(["play", "logs", sid]);
    let printed: Vec<&str> = printed.lines().collect();
    assert_eq!(printed.len(), 2501, "every line, in pages of 1,000");
    assert_eq!(printed[2499], format!("line 2499 {}", ".".repeat(40)));
    for limit in [0, 10_001] {
        let out = env.run([
            "rpc",
            "play_logs",
            &json!({"play_sid": sid, "limit": limit}).to_string(),
        ]);
        out.expect_code(1);
        assert!(out.stderr.contains("limit"), "{out}");
    }
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Starts the flow that waits to be killed and kills its first `kills`
/// runs with SIGKILL, each once it waits; returns the play's sid.
fn start_and_kill(env: &TestEnv, kills: usize) -> String {
    let flow = write_flow(env, "killed.py", &flow_source("killed.py"));
    let (ledger, pids, waits) = (
        env.scratch("ledger"),
        env.scratch("pids"),
        env.scratch("waits"),
    );
    let input = json!({"ledger": ledger, "pids": pids, "waits": waits, "n": 10, "kills": kills});
    let sid = env
        .ok(["play", "start", &flow, "--input", &input.to_string()])
        .trim()
        .to_owned();
    for k in 1..=kills {
        crate::common::wait_until(
            &format!("run {k} waits to be killed"),
            std::time::Duration::from_secs(30),
            || lines_of(&waits).len() == k,
        );
        let pid = lines_of(&pids)[k - 1].clone();
        let killed = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .expect("kill runs");
        assert!(killed.success(), "kill -9 {pid}");
    }
    sid
}

fn assert_each_step_ran_once(env: &TestEnv) {
    let ledger = lines_of(&env.scratch("ledger"));
    let expected: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    assert_eq!(ledger, expected, "no step ran twice, none was skipped");
}

#[test]
fn a_run_killed_by_a_signal_is_run_again_from_its_checkpoints() {
    let env = TestEnv::new();
    let sid = start_and_kill(&env, 2);
    let done = env.run(["play", "wait", &sid, "--json"]);
    done.expect_code(0);
    let play = done.json();
    assert_eq!(play["output_data"], "done");
    assert_eq!(play["runs"], 3);
    assert_eq!(play["run_retries"], 2);
    assert_each_step_ran_once(&env);
}

#[test]
fn a_play_whose_runs_keep_dying_fails_naming_the_signal_and_retry_continues_it() {
    let env = TestEnv::new();
    let mut cmd = env.cmd();
    cmd.env("HERO_LOGIC_RUN_RETRIES", "1").arg("start");
    env.output(&mut cmd, "hero_logic start".into())
        .expect_code(0);
    let sid = start_and_kill(&env, 2);
    let failed = env.run(["play", "wait", &sid, "--json"]);
    failed.expect_code(1);
    let error = failed.json()["error"]
        .as_str()
        .expect("an error")
        .to_owned();
    assert!(error.contains("SIGKILL"), "{error}");
    assert!(
        error.contains(&format!("hero_logic play retry {sid}")),
        "{error}"
    );
    let retried = env.run(["play", "retry", &sid, "--wait", "--json"]);
    retried.expect_code(0);
    let play = retried.json();
    assert_eq!(play["sid"], sid.as_str(), "the same play goes on");
    assert_eq!(play["output_data"], "done");
    assert_each_step_ran_once(&env);
    let again = env.run(["play", "retry", &sid]);
    again.expect_code(1);
    assert!(again.stderr.contains("success"), "{again}");
}

#[test]
fn a_line_that_is_not_utf8_on_a_runs_own_connection_is_answered_and_the_run_goes_on() {
    let env = TestEnv::new();
    let flow = write_flow(&env, "sends_not_utf8.py", &flow_source("sends_not_utf8.py"));
    let play = env.json(["play", "start", &flow, "--wait", "--json"]);
    assert_eq!(play["status"], "success", "{}", play["error"]);
    let answer = play["output_data"].as_str().expect("the error's message");
    assert!(answer.contains("not UTF-8"), "{answer}");
}

/// Flows that checkpoint at once share their commits (on PostgreSQL, one
/// statement writes the checkpoints of a batch): each play keeps every one
/// of its own steps' outputs, each counted once, and none of another's.
#[test]
fn checkpoints_of_flows_running_at_once_are_each_kept_once_in_their_own_play() {
    let env = TestEnv::new();
    let flow = write_flow(&env, "many.py", &flow_source("many.py"));
    env.ok(["workflow", "save", &flow]);
    let lengths: Vec<u64> = (0..6).map(|i| 30 + i).collect();
    let sids: Vec<String> = lengths
        .iter()
        .map(|n| {
            let input = json!({ "n": n }).to_string();
            env.ok(["play", "start", &flow, "--input", &input])
                .trim()
                .to_owned()
        })
        .collect();
    for (sid, n) in sids.iter().zip(&lengths) {
        let done = env.json(["play", "wait", sid, "--json"]);
        assert_eq!(done["status"], "success", "{done}");
        let sum: u64 = (0..*n).sum();
        assert_eq!(done["output_data"], json!(sum), "{done}");
        let play = env.json(["play", "show", sid, "--json"]);
        assert_eq!(
            play["steps_done"],
            json!(n + 1),
            "each step and main: {play}"
        );
        let mut outputs: Vec<u64> = play["step_outputs"]
            .as_object()
            .expect("the play's step outputs")
            .values()
            .map(|v| v.as_u64().expect("a number"))
            .collect();
        outputs.sort_unstable();
        let mut expected: Vec<u64> = (0..*n).chain([sum]).collect();
        expected.sort_unstable();
        assert_eq!(outputs, expected, "play {sid}");
    }
}
