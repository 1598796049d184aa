//! End-to-end tests of time (issue 13): durable sleep, pause deadlines and
//! step retries, with a real server and real Python flows. Every wait is on
//! a condition with a deadline; the flows' own timers are 2–3 s.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{self, TestEnv, flow, process_gone, repo_path, wait_until};

fn s(path: &Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}

fn flow_arg(file: &str) -> String {
    s(&flow(file))
}

/// Starts a play without waiting; its sid.
fn start(env: &TestEnv, file: &str, input: Value) -> String {
    let play = env.json([
        "play",
        "start",
        &flow_arg(file),
        "--input",
        &input.to_string(),
        "--json",
    ]);
    play["sid"].as_str().expect("a sid").to_owned()
}

fn get(env: &TestEnv, sid: &str) -> Value {
    env.rpc("play_get", json!({"play_sid": sid}))
}

fn status_becomes(env: &TestEnv, sid: &str, want: &[&str]) -> Value {
    let mut play = Value::Null;
    wait_until(
        &format!("play {sid} becomes one of {want:?}"),
        Duration::from_secs(30),
        || {
            play = get(env, sid);
            want.iter().any(|w| play["status"] == *w)
        },
    );
    play
}

fn pending(env: &TestEnv, sid: &str) -> Vec<Value> {
    env.json(["pending", sid, "--json"])
        .as_array()
        .expect("an array of ResumeRequests")
        .clone()
}

fn ledger(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn instant(text: &Value) -> jiff::Timestamp {
    text.as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("an RFC 3339 time: {text}"))
}

/// Waits until the wall clock is past `at`: the condition a timer waits
/// for, polled with a deadline rather than slept.
fn clock_passes(at: jiff::Timestamp) {
    wait_until(
        &format!("the clock passes {at}"),
        Duration::from_secs(30),
        || jiff::Timestamp::now() > at,
    );
}

/// The Python processes whose parent is `pid`.
fn python_children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let child: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
        let (head, rest) = stat.rsplit_once(')')?;
        let comm = head.split_once('(')?.1;
        let mut fields = rest.split_whitespace();
        let state = fields.next()?;
        let ppid: u32 = fields.next()?.parse().ok()?;
        (ppid == pid && comm.starts_with("python") && state != "Z").then_some(child)
    })
    .collect()
}

fn kill_9(pid: u32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 the server");
    wait_until("the killed server is gone", Duration::from_secs(10), || {
        process_gone(pid)
    });
}

fn restart(env: &TestEnv) {
    wait_until("a server starts again", Duration::from_secs(20), || {
        env.run(["start"]).code == Some(0)
    });
}

/// The spans of the step `name`, in order: `(attempt, status)`.
fn attempts(env: &TestEnv, sid: &str, name: &str) -> Vec<(Value, String)> {
    env.rpc("play_spans", json!({"play_sid": sid}))
        .as_array()
        .expect("spans")
        .iter()
        .filter(|s| s["name"] == name && s["status"] != "replayed")
        .map(|s| {
            (
                s["attempt"].clone(),
                s["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_long_sleep_parks_the_play_with_no_process_and_wakes_by_itself() {
    let env = TestEnv::new();
    let notes = env.scratch("ledger.txt");
    let sid = start(
        &env,
        "sleeps.py",
        json!({"ledger": s(&notes), "seconds": 3}),
    );
    let parked = status_becomes(&env, &sid, &["awaiting_resume", "success", "failed"]);
    assert_eq!(parked["status"], "awaiting_resume", "{parked}");

    let open = pending(&env, &sid);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["kind"], "timer");
    assert_eq!(open[0]["name"], "sleep");
    assert!(open[0]["ui"].is_null(), "{}", open[0]);
    let wake_at = instant(&open[0]["wake_at"]);
    assert!(wake_at > jiff::Timestamp::now(), "the timer is still ahead");

    // The run that asked the timer has exited, and no flow process waits.
    let pid: u32 = ledger(&notes)[0]
        .strip_prefix("before ")
        .and_then(|p| p.parse().ok())
        .expect("the step noted its pid");
    let server = env.server_pid().expect("the server's pid");
    wait_until(
        "the parked play holds no process",
        Duration::from_secs(10),
        || process_gone(pid) && python_children(server).len() <= 1,
    );
    assert!(get(&env, &sid)["run_pgid"].is_null());

    // Nobody answers a timer by hand.
    let id = open[0]["id"].as_str().expect("an id");
    let refused = env.run(["resume", &sid, id, "null"]);
    assert_ne!(refused.code, Some(0), "{refused}");
    assert!(
        refused.stderr.contains("only the clock answers it"),
        "{refused}"
    );
    let wire = env.wire(
        &json!({"jsonrpc": "2.0", "id": 1, "method": "play_resume",
                "params": {"play_sid": sid, "resume_id": id, "payload_json": null}})
        .to_string(),
    );
    let hint = wire["error"]["data"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("wakes by itself at"), "{wire}");

    // `play wait` waits through the timer: the play wakes by itself.
    let done = env.run(["play", "wait", &sid, "--json"]);
    done.expect_code(0);
    let done = done.json();
    assert_eq!(done["status"], "success", "{done}");
    assert!(jiff::Timestamp::now() >= wake_at);
    let answered = &done["answered_resumes"][0];
    assert_eq!(answered["by"], "timer", "{answered}");
    assert!(instant(&answered["resumed_at"]) >= wake_at, "{answered}");
    let lines = ledger(&notes);
    assert_eq!(lines.len(), 2, "each step ran once: {lines:?}");
    assert!(lines[1].starts_with("after "), "{lines:?}");
}

#[test]
fn a_timer_due_while_the_server_is_killed_fires_at_the_next_start() {
    let env = TestEnv::new();
    let notes = env.scratch("ledger.txt");
    let sid = start(
        &env,
        "sleeps.py",
        json!({"ledger": s(&notes), "seconds": 2.5}),
    );
    status_becomes(&env, &sid, &["awaiting_resume"]);
    let wake_at = instant(&pending(&env, &sid)[0]["wake_at"]);

    kill_9(env.server_pid().expect("the server's pid"));
    clock_passes(wake_at);
    restart(&env);

    let done = env.run(["play", "wait", &sid, "--json"]);
    done.expect_code(0);
    assert_eq!(done.json()["status"], "success", "{done}");
    let lines = ledger(&notes);
    assert_eq!(
        lines.len(),
        2,
        "the step before the timer ran once: {lines:?}"
    );
    assert!(lines[0].starts_with("before ") && lines[1].starts_with("after "));
}

#[test]
fn a_pause_deadline_takes_its_default_or_raises_pause_timeout() {
    let env = TestEnv::new();
    let sids: Vec<String> = ["default", "catch", "raise"]
        .iter()
        .map(|mode| start(&env, "deadline.py", json!({"mode": mode, "timeout_s": 2})))
        .collect();
    for sid in &sids {
        status_becomes(&env, sid, &["awaiting_resume"]);
        let open = pending(&env, sid);
        assert_eq!(open[0]["kind"], "pause", "{open:?}");
        assert!(open[0]["expires_at"].is_string(), "{open:?}");
        // A pause with a deadline waits for an answer from outside.
        env.run(["play", "wait", sid, "--json"]).expect_code(75);
    }
    let ended: Vec<Value> = sids
        .iter()
        .map(|sid| status_becomes(&env, sid, &["success", "failed"]))
        .collect();

    assert_eq!(ended[0]["status"], "success", "{}", ended[0]);
    assert_eq!(ended[0]["output_data"], json!({"answer": "nobody"}));
    assert_eq!(ended[0]["answered_resumes"][0]["by"], "timeout");

    assert_eq!(ended[1]["status"], "success", "{}", ended[1]);
    let caught = ended[1]["output_data"]["timed_out"]
        .as_str()
        .unwrap_or_default();
    assert!(caught.contains("`q`") && caught.contains("2 s"), "{caught}");

    assert_eq!(ended[2]["status"], "failed", "{}", ended[2]);
    let error = ended[2]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("PauseTimeout") && error.contains("`q`"),
        "{error}"
    );
}

#[test]
fn an_answer_racing_a_deadline_exactly_one_wins() {
    let env = TestEnv::new();
    let sids: Vec<String> = (0..3)
        .map(|_| {
            start(
                &env,
                "deadline.py",
                json!({"mode": "default", "timeout_s": 2}),
            )
        })
        .collect();
    let mut answers = Vec::new();
    for sid in &sids {
        status_becomes(&env, sid, &["awaiting_resume", "success"]);
        let play = get(&env, sid);
        let asked = play["pending_resumes"]
            .get(0)
            .or_else(|| play["answered_resumes"].get(0))
            .expect("the pause")
            .clone();
        answers.push((sid.clone(), asked));
    }
    for (sid, asked) in &answers {
        // Right at the deadline: the clock and the person race.
        clock_passes(instant(&asked["expires_at"]));
        let id = asked["id"].as_str().expect("an id");
        let person_won = env.run(["resume", sid, id, "\"person\""]).code == Some(0);
        let done = status_becomes(&env, sid, &["success", "failed"]);
        let recorded = done["answered_resumes"]
            .as_array()
            .expect("answered resumes");
        assert_eq!(recorded.len(), 1, "one answer: {done}");
        let answer = &recorded[0];
        assert_eq!(done["output_data"]["answer"], answer["payload"], "{done}");
        if person_won {
            assert_eq!(answer["payload"], "person", "{done}");
            assert!(answer["by"].is_null(), "{done}");
        } else {
            assert_eq!(answer["payload"], "nobody", "{done}");
            assert_eq!(answer["by"], "timeout", "{done}");
        }
    }
}

#[test]
fn a_step_is_tried_again_with_each_attempt_a_span_and_fatal_is_not() {
    let env = TestEnv::new();
    let notes = env.scratch("flaky.txt");
    let input = json!({"ledger": s(&notes), "step": "flaky", "fail_times": 2});
    let sid = start(&env, "flaky.py", input);
    let done = status_becomes(&env, &sid, &["success", "failed"]);
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"], 3);
    assert_eq!(
        attempts(&env, &sid, "flaky"),
        vec![
            (json!(1), "failed".to_owned()),
            (json!(2), "failed".to_owned()),
            (json!(3), "success".to_owned()),
        ]
    );

    // More failures than retries: the last one ends the play.
    let worse = env.scratch("worse.txt");
    let input = json!({"ledger": s(&worse), "step": "flaky", "fail_times": 5});
    let sid = start(&env, "flaky.py", input);
    let failed = status_becomes(&env, &sid, &["success", "failed"]);
    assert_eq!(failed["status"], "failed");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("flaky attempt 3 failed"), "{error}");
    assert_eq!(ledger(&worse).len(), 3);

    let doomed = env.scratch("doomed.txt");
    let sid = start(
        &env,
        "flaky.py",
        json!({"ledger": s(&doomed), "step": "doomed"}),
    );
    let failed = status_becomes(&env, &sid, &["success", "failed"]);
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap_or_default()
            .contains("Fatal"),
        "{failed}"
    );
    assert_eq!(ledger(&doomed), vec!["doomed 1"], "Fatal is never retried");
    assert_eq!(
        attempts(&env, &sid, "doomed"),
        vec![(json!(1), "failed".to_owned())]
    );
}

#[test]
fn a_kill_9_between_attempts_keeps_the_count() {
    let env = TestEnv::new();
    let notes = env.scratch("slow.txt");
    let input = json!({"ledger": s(&notes), "step": "slow", "fail_times": 1});
    let sid = start(&env, "flaky.py", input);
    status_becomes(&env, &sid, &["awaiting_resume"]);
    let open = pending(&env, &sid);
    assert_eq!(open[0]["kind"], "timer", "{open:?}");
    assert_eq!(open[0]["name"], "retry:slow", "{open:?}");

    kill_9(env.server_pid().expect("the server's pid"));
    restart(&env);
    let done = env.run(["play", "wait", &sid, "--json"]);
    done.expect_code(0);
    assert_eq!(done.json()["output_data"], 2, "{done}");
    assert_eq!(ledger(&notes), vec!["slow 1", "slow 2"]);
    // The count is the attempt checkpoint's, durable; the failed attempt's
    // span, like any span, may be lost with the killed server's last
    // moments.
    let spans = attempts(&env, &sid, "slow");
    assert_eq!(
        spans.last(),
        Some(&(json!(2), "success".to_owned())),
        "{spans:?}"
    );

    // `play start --wait` waits through a retry's timer too.
    let again = env.scratch("again.txt");
    let input = json!({"ledger": s(&again), "step": "slow", "fail_times": 1}).to_string();
    let waited = env.run([
        "play",
        "start",
        &flow_arg("flaky.py"),
        "--input",
        &input,
        "--wait",
        "--json",
    ]);
    waited.expect_code(0);
    assert_eq!(waited.json()["status"], "success", "{waited}");
}

#[test]
fn time_asked_wrongly_is_a_clear_error_and_stores_nothing() {
    let env = TestEnv::new();
    let cases = [
        (
            "negative",
            "timeout_s takes a finite number of seconds ≥ 0, not -1",
        ),
        ("nan", "not nan"),
        (
            "default",
            "pause `q`: its default \"x\" does not match its schema",
        ),
    ];
    for (case, needle) in cases {
        let sid = start(&env, "bad_time.py", json!({"case": case}));
        let play = status_becomes(&env, &sid, &["success", "failed"]);
        assert_eq!(play["status"], "failed", "{case}: {play}");
        let error = play["error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{case}: {error}");
        assert_eq!(play["pending_resumes"], json!([]), "{case}: {play}");
        assert_eq!(play["answered_resumes"], json!([]), "{case}: {play}");
    }

    // A time already past returns at once: no timer, one run.
    let sid = start(&env, "bad_time.py", json!({"case": "past"}));
    let play = status_becomes(&env, &sid, &["success", "failed"]);
    assert_eq!(play["output_data"], "woke", "{play}");
    assert_eq!(
        (play["runs"].clone(), play["answered_resumes"].clone()),
        (json!(1), json!([]))
    );

    // A literal policy `@flow` refuses is refused when the flow is saved:
    // no workflow, no play.
    let plays_before = env.rpc("play_count", json!({}));
    let bad = env.run([
        "play",
        "start",
        &flow_arg("bad_retries.py"),
        "--wait",
        "--json",
    ]);
    assert_ne!(bad.code, Some(0), "{bad}");
    assert!(
        bad.stderr
            .contains("step `step`: @flow(retries=...) takes a whole number ≥ 0, not -1"),
        "{bad}"
    );
    assert_eq!(env.rpc("play_count", json!({})), plays_before);
    let workflows = env.rpc("workflow_list", json!({}));
    assert!(
        !workflows.to_string().contains("bad_retries"),
        "{workflows}"
    );
}

#[test]
fn the_reminder_example_reminds_then_escalates() {
    let env = TestEnv::new();
    // run.sh answers nothing: both deadlines pass, and it checks the play's
    // output and its log itself.
    let mut run = env.command("bash");
    run.arg(repo_path("examples/reminder/run.sh"))
        .env("HERO_LOGIC", common::BIN);
    let out = env.output(
        &mut run,
        "HERO_LOGIC=target/.../hero_logic bash examples/reminder/run.sh".into(),
    );
    out.expect_code(0);
    let play = out.json();
    assert_eq!(play["status"], "success", "{out}");
    let by: Vec<_> = play["answered_resumes"]
        .as_array()
        .expect("answered resumes")
        .iter()
        .map(|r| (r["name"].clone(), r["by"].clone(), r["payload"].clone()))
        .collect();
    assert_eq!(
        by,
        vec![
            (json!("approve"), json!("timeout"), Value::Null),
            (json!("approve_again"), json!("timeout"), json!(false)),
        ]
    );
    assert!(out.stderr.contains("escalated invoice-7"), "{out}");
}
