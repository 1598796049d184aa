//! End-to-end tests of schedules (SPEC §10): `--every` fires plays that
//! carry the schedule and one idempotency key per fire time; pause,
//! unpause, run and rm; `overlap: skip` and `queue`; no fire time started
//! twice across a `kill -9` of the server; bad input; `examples/nightly`.
//!
//! Nothing sleeps to synchronise. That a paused or removed schedule does
//! not fire is shown against a second schedule, a clock: once it has fired
//! twice more, the first would have fired too.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::bad_input::{bad, refused_without_storing};
use crate::common::{self, TestEnv, flow, path_arg, repo_path, wait_until};

/// Long enough for a few fires of a one-second schedule on a busy machine.
const FIRES_WITHIN: Duration = Duration::from_secs(30);

/// Saves a flow of `tests/flows/` and returns its workflow's name.
fn save(env: &TestEnv, file: &str) -> String {
    let workflow = env.json(["workflow", "save", &path_arg(&flow(file)), "--json"]);
    workflow["name"].as_str().expect("a name").to_owned()
}

/// The plays `schedule` started, oldest fire first.
fn plays_of(env: &TestEnv, schedule: &str) -> Vec<Value> {
    let mut plays: Vec<Value> = env
        .json(["play", "list", "--limit", "0", "--json"])
        .as_array()
        .expect("an array of plays")
        .iter()
        .filter(|p| p["schedule"] == schedule)
        .cloned()
        .collect();
    plays.sort_by_key(fire_time);
    plays
}

/// The fire time a schedule's play was started for, read from its key.
fn fire_time(play: &Value) -> Timestamp {
    let key = play["idempotency_key"].as_str().expect("a key");
    let schedule = play["schedule"].as_str().expect("a schedule");
    key.strip_prefix(&format!("schedule:{schedule}:"))
        .unwrap_or_else(|| panic!("the key {key:?} is not schedule:{schedule}:<fire time>"))
        .parse()
        .unwrap_or_else(|e| panic!("the key {key:?} does not end in a time: {e}"))
}

fn show(env: &TestEnv, name: &str) -> Value {
    env.json(["schedule", "show", name, "--json"])
}

/// Waits until `clock`, a one-second schedule, has started two more
/// plays: by then any schedule not paused would have fired.
fn two_more_ticks(env: &TestEnv, clock: &str) {
    let seen = plays_of(env, clock).len();
    wait_until(&format!("{clock} fires twice more"), FIRES_WITHIN, || {
        plays_of(env, clock).len() >= seen + 2
    });
}

fn add_every_second(env: &TestEnv, name: &str, workflow: &str, input: &Value) {
    env.ok([
        "schedule",
        "add",
        name,
        workflow,
        "--every",
        "1s",
        "--input",
        &input.to_string(),
    ]);
}

/// Distinct keys, each one fire time of the schedule, one play each.
fn one_play_per_fire_time(plays: &[Value]) {
    let mut keys: Vec<&str> = plays
        .iter()
        .map(|p| p["idempotency_key"].as_str().expect("a key"))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), plays.len(), "a fire time started two plays");
}

#[test]
fn every_fires_plays_that_carry_the_schedule_and_their_fire_times_key() {
    let env = TestEnv::new();
    let workflow = save(&env, "any_input.py");
    let added = env.ok([
        "schedule",
        "add",
        "tick",
        &workflow,
        "--every",
        "1s",
        "--input",
        r#"{"n": 1}"#,
    ]);
    assert!(
        added.contains("schedule tick: every 1s, next fire"),
        "{added}"
    );
    wait_until("tick starts three plays", FIRES_WITHIN, || {
        plays_of(&env, "tick").len() >= 3
    });
    let schedule = show(&env, "tick");
    let plays = plays_of(&env, "tick");
    one_play_per_fire_time(&plays);
    let fires: Vec<Timestamp> = plays.iter().map(fire_time).collect();
    assert!(
        fires.windows(2).all(|pair| pair[0] < pair[1])
            && fires.iter().all(|t| t.subsec_nanosecond() == 0),
        "fire times are whole seconds, one play each: {fires:?}"
    );
    assert!(
        plays.iter().any(|p| p["sid"] == schedule["last_play_sid"]),
        "last_play_sid names a play of the schedule: {schedule}"
    );
    let next: Timestamp = schedule["next_fire_at"].as_str().unwrap().parse().unwrap();
    let last: Timestamp = schedule["last_fire_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next.duration_since(last), SignedDuration::from_secs(1));
    let done = env.run(["play", "wait", plays[0]["sid"].as_str().unwrap(), "--json"]);
    done.expect_code(0);
    assert_eq!(done.json()["output_data"], json!({"n": 1}));

    let list = env.ok(["schedule", "list"]);
    assert!(
        list.contains("tick") && list.contains(&workflow) && list.contains("every 1s"),
        "{list}"
    );
    let listed = env.json(["schedule", "list", "--json"]);
    assert_eq!(listed[0]["name"], "tick");
    assert_eq!(listed[0]["overlap"], "skip");
    assert_eq!(listed[0]["catchup"], "latest");
}

#[test]
fn pause_unpause_run_and_rm() {
    let env = TestEnv::new();
    let workflow = save(&env, "any_input.py");
    add_every_second(&env, "tick", &workflow, &json!({}));
    add_every_second(&env, "clock", &workflow, &json!({}));
    wait_until("tick fires", FIRES_WITHIN, || {
        !plays_of(&env, "tick").is_empty()
    });

    let paused = env.json(["schedule", "pause", "tick", "--json"]);
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["next_fire_at"], Value::Null);
    let before = plays_of(&env, "tick").len();
    two_more_ticks(&env, "clock");
    assert_eq!(
        plays_of(&env, "tick").len(),
        before,
        "a paused schedule fired"
    );
    assert!(env.ok(["schedule", "list"]).contains("paused"));

    // Run now, paused or not.
    let sid = env.ok(["schedule", "run", "tick"]).trim().to_owned();
    let play = env.run(["play", "wait", &sid, "--json"]);
    play.expect_code(0);
    assert_eq!(play.json()["schedule"], "tick");
    fire_time(&play.json());
    assert_eq!(plays_of(&env, "tick").len(), before + 1);
    let schedule = show(&env, "tick");
    assert_eq!(schedule["last_play_sid"], sid.as_str());
    assert_eq!(schedule["paused"], true, "a run now leaves the pause");

    // Schedule names complete.
    let mut complete = env.cmd();
    complete
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "3")
        .env("_CLAP_IFS", "\n")
        .args(["--", "hero_logic", "schedule", "show", ""]);
    let offered = env.output(
        &mut complete,
        "COMPLETE=bash hero_logic schedule show".into(),
    );
    offered.expect_code(0);
    let offered: Vec<&str> = offered.stdout.lines().collect();
    assert!(
        offered.contains(&"tick") && offered.contains(&"clock"),
        "{offered:?}"
    );

    let unpaused = env.json(["schedule", "unpause", "tick", "--json"]);
    assert_eq!(unpaused["paused"], false);
    assert!(unpaused["next_fire_at"].is_string(), "{unpaused}");
    wait_until("tick fires again", FIRES_WITHIN, || {
        plays_of(&env, "tick").len() > before + 1
    });

    assert_eq!(
        env.ok(["schedule", "rm", "tick"]).trim(),
        "removed schedule tick"
    );
    let gone = env.run(["schedule", "show", "tick"]);
    assert_ne!(gone.code, Some(0), "{gone}");
    assert!(gone.stderr.contains("no schedule named `tick`"), "{gone}");
    let left = plays_of(&env, "tick").len();
    two_more_ticks(&env, "clock");
    assert_eq!(
        plays_of(&env, "tick").len(),
        left,
        "a removed schedule fired, or its plays went with it"
    );
    assert!(!env.ok(["schedule", "list"]).contains("tick"));
}

/// Adds a one-second schedule of `gated.py` with `overlap`, and waits
/// until its first play runs, held at the gate; returns that play.
fn first_gated_play(env: &TestEnv, overlap: &str, gate: &std::path::Path) -> Value {
    let workflow = save(env, "gated.py");
    env.ok([
        "schedule",
        "add",
        "gated",
        &workflow,
        "--every",
        "1s",
        "--overlap",
        overlap,
        "--input",
        &json!({"gate": path_arg(gate)}).to_string(),
    ]);
    wait_until("the first play starts", FIRES_WITHIN, || {
        !plays_of(env, "gated").is_empty()
    });
    plays_of(env, "gated").remove(0)
}

/// Opens the gate; the first play ends and a second one is started after it.
fn second_play_after_the_first(env: &TestEnv, gate: &std::path::Path, first: &Value) {
    std::fs::write(gate, "open").expect("open the gate");
    let first_done = env.run(["play", "wait", first["sid"].as_str().unwrap(), "--json"]);
    first_done.expect_code(0);
    wait_until("a second play starts", FIRES_WITHIN, || {
        plays_of(env, "gated").len() >= 2
    });
    let plays = plays_of(env, "gated");
    one_play_per_fire_time(&plays);
    let second = env.run(["play", "wait", plays[1]["sid"].as_str().unwrap(), "--json"]);
    second.expect_code(0);
    let time = |outcome: &common::Outcome, field: &str| -> Timestamp {
        let play = outcome.json();
        play[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field}: {play}"))
            .parse()
            .unwrap()
    };
    let (ended, started) = (time(&first_done, "ended_at"), time(&second, "started_at"));
    assert!(
        started >= ended,
        "the second play started ({started}) before the first ended ({ended})"
    );
}

#[test]
fn overlap_skip_skips_fires_while_the_last_play_runs() {
    let env = TestEnv::new();
    let gate = env.scratch("gate");
    let first = first_gated_play(&env, "skip", &gate);
    let fired = fire_time(&first);
    // Each skipped fire moves the next one on.
    wait_until("two fires are skipped", FIRES_WITHIN, || {
        let next: Timestamp = show(&env, "gated")["next_fire_at"]
            .as_str()
            .expect("a next fire")
            .parse()
            .unwrap();
        next.duration_since(fired) >= SignedDuration::from_secs(3)
    });
    assert_eq!(plays_of(&env, "gated").len(), 1, "a fire overlapped");
    let schedule = show(&env, "gated");
    assert_eq!(schedule["last_play_sid"], first["sid"]);
    second_play_after_the_first(&env, &gate, &first);
}

#[test]
fn overlap_queue_starts_the_next_fire_once_the_last_play_ends() {
    let env = TestEnv::new();
    let gate = env.scratch("gate");
    let first = first_gated_play(&env, "queue", &gate);
    add_every_second(&env, "clock", &save(&env, "any_input.py"), &json!({}));
    two_more_ticks(&env, "clock");
    assert_eq!(plays_of(&env, "gated").len(), 1, "a fire overlapped");
    second_play_after_the_first(&env, &gate, &first);
}

#[test]
fn no_fire_time_starts_two_plays_across_a_kill_9_of_the_server() {
    let env = TestEnv::new();
    let workflow = save(&env, "any_input.py");
    add_every_second(&env, "tick", &workflow, &json!({}));
    wait_until("tick fires twice", FIRES_WITHIN, || {
        plays_of(&env, "tick").len() >= 2
    });
    let pid = env.server_pid().expect("the server's pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 the server");
    let killed = Timestamp::now();
    wait_until("the killed server is gone", Duration::from_secs(10), || {
        common::process_gone(pid)
    });
    // Downtime is the case here: three fire times pass with no server.
    let down = SignedDuration::from_secs(3);
    wait_until("three fire times pass", Duration::from_secs(10), || {
        Timestamp::now().duration_since(killed) >= down
    });
    env.start();
    wait_until("tick fires twice after the restart", FIRES_WITHIN, || {
        plays_of(&env, "tick")
            .iter()
            .filter(|p| fire_time(p) > killed)
            .count()
            >= 2
    });
    let plays = plays_of(&env, "tick");
    one_play_per_fire_time(&plays);
    // `catchup: latest`: one play for the fires missed while down, the
    // latest; the earlier ones are skipped.
    let missed: Vec<Timestamp> = plays
        .iter()
        .map(fire_time)
        .filter(|t| *t > killed && t.duration_since(killed) <= SignedDuration::from_secs(2))
        .collect();
    assert!(
        missed.is_empty(),
        "missed fires caught up one by one: {missed:?}"
    );
    for play in &plays {
        let done = env.run(["play", "wait", play["sid"].as_str().unwrap(), "--json"]);
        done.expect_code(0);
    }
}

#[test]
fn bad_schedules_are_refused_naming_the_problem_and_store_nothing() {
    let input = r#"{"recipient": "Ada"}"#;
    let add = |rest: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec!["schedule", "add", "new", "needs_input"];
        args.extend_from_slice(rest);
        args
    };
    let rows = [
        bad(
            "cron that does not parse",
            &add(&["--cron", "61 * * * *", "--input", input]),
            Some(1),
            &["cron expression \"61 * * * *\" does not parse"],
        ),
        bad(
            "cron with six fields",
            &add(&["--cron", "0 0 2 * * *", "--input", input]),
            Some(1),
            &["6 fields"],
        ),
        bad(
            "unknown zone",
            &add(&[
                "--cron",
                "0 2 * * *",
                "--tz",
                "Mars/Olympus",
                "--input",
                input,
            ]),
            Some(1),
            &["Mars/Olympus", "not known"],
        ),
        bad(
            "--every 0s",
            &add(&["--every", "0s", "--input", input]),
            Some(2),
            &["--every", "zero"],
        ),
        bad(
            "every_s 0 (rpc)",
            &[
                "rpc",
                "schedule_save",
                r#"{"name": "new", "workflow_sid": "needs_input", "every_s": 0, "input_data": {"recipient": "Ada"}}"#,
            ],
            Some(1),
            &["zero"],
        ),
        bad(
            "both a cron rule and an interval (rpc)",
            &[
                "rpc",
                "schedule_save",
                r#"{"name": "new", "workflow_sid": "needs_input", "every_s": 60, "cron": "@daily", "input_data": {"recipient": "Ada"}}"#,
            ],
            Some(1),
            &["not both"],
        ),
        bad(
            "no rule",
            &add(&["--input", input]),
            Some(2),
            &["--cron", "--every"],
        ),
        bad(
            "unknown workflow",
            &["schedule", "add", "new", "no_such_flow", "--every", "1m"],
            Some(1),
            &["no_such_flow"],
        ),
        bad(
            "input the workflow refuses",
            &add(&["--every", "1m"]),
            Some(1),
            &["recipient"],
        ),
        bad(
            "duplicate name",
            &[
                "schedule",
                "add",
                "taken",
                "needs_input",
                "--every",
                "1m",
                "--input",
                input,
            ],
            Some(1),
            &["`taken` exists already", "schedule rm taken"],
        ),
        bad(
            "a name that is not one",
            &[
                "schedule",
                "add",
                "two words",
                "needs_input",
                "--every",
                "1m",
                "--input",
                input,
            ],
            Some(1),
            &["\"two words\"", "is not one"],
        ),
        bad(
            "unknown schedule (show)",
            &["schedule", "show", "nope"],
            Some(1),
            &["no schedule named `nope`"],
        ),
        bad(
            "unknown schedule (run)",
            &["schedule", "run", "nope"],
            Some(1),
            &["no schedule named `nope`"],
        ),
        bad(
            "unknown schedule (pause)",
            &["schedule", "pause", "nope"],
            Some(1),
            &["no schedule named `nope`"],
        ),
        bad(
            "unknown schedule (rm)",
            &["schedule", "rm", "nope"],
            Some(1),
            &["no schedule named `nope`"],
        ),
    ];
    let template = TestEnv::new();
    template.ok(["workflow", "save", &path_arg(&flow("needs_input.py"))]);
    template.ok([
        "schedule",
        "add",
        "taken",
        "needs_input",
        "--every",
        "1d",
        "--input",
        input,
    ]);
    template.stop();
    let problems = refused_without_storing(&template, &rows);
    assert!(
        problems.is_empty(),
        "{} of {} bad schedules were not refused cleanly:\n\n{}",
        problems.len(),
        rows.len(),
        problems.join("\n\n")
    );
}

#[test]
fn the_nightly_example_runs_end_to_end() {
    let env = TestEnv::new();
    let mut cmd = env.command("bash");
    cmd.arg(repo_path("examples/nightly/run.sh"))
        .env("HERO_LOGIC", common::BIN);
    let out = env.output(&mut cmd, "bash examples/nightly/run.sh".into());
    out.expect_code(0);
    assert!(
        out.stderr.contains("nightly: three fires, three lines:"),
        "{out}"
    );
    assert!(out.stderr.matches("nightly report").count() >= 3, "{out}");
    let left = env.json(["schedule", "list", "--json"]);
    assert_eq!(left, json!([]), "the example removes its schedule");
}
