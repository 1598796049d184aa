//! End-to-end tests of durable pause and resume (issue 3): a real server,
//! real Python flows, and counted side effects.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestEnv, flow_source, repo_path, wait_until};

/// Writes a flow script into the test's private folder.
fn write_flow(env: &TestEnv, name: &str, source: &str) -> String {
    let path = env.scratch(name);
    std::fs::write(&path, source).expect("the flow file");
    s(&path)
}

fn s(path: &std::path::Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}

fn lines(path: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Starts a play and waits until it settles; returns the settled Play.
fn start_and_settle(env: &TestEnv, flow: &str, input: Value, extra: &[&str]) -> Value {
    let mut args = vec!["play", "start", flow, "--wait", "--json"];
    let input = input.to_string();
    args.extend(["--input", &input]);
    args.extend(extra);
    env.run(&args).json()
}

fn wait(env: &TestEnv, sid: &str) -> common::Outcome {
    env.run(["play", "wait", sid, "--json"])
}

fn pending(env: &TestEnv, sid: &str) -> Vec<Value> {
    env.json(["pending", sid, "--json"])
        .as_array()
        .expect("an array of ResumeRequests")
        .clone()
}

fn sqlite_rows(db: &PathBuf) -> i64 {
    let out = std::process::Command::new(common::python())
        .args([
            "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from records').fetchone()[0])",
        ])
        .arg(db)
        .output()
        .expect("python runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count")
}

/// A play of `approve_record.py` started and paused for its approval: its
/// sid, ledger and database.
fn paused_for_approval(env: &TestEnv) -> (String, PathBuf, PathBuf) {
    let flow = write_flow(env, "approve.py", &flow_source("approve_record.py"));
    let (ledger, db) = (env.scratch("ledger.txt"), env.scratch("records.db"));
    let input = json!({"ledger": s(&ledger), "db": s(&db)});
    let play = start_and_settle(env, &flow, input, &[]);
    assert_eq!(play["status"], "awaiting_resume");
    let sid = play["sid"].as_str().expect("a sid").to_owned();
    (sid, ledger, db)
}

/// A run's files (its input, what it replays) go once it has ended: after
/// the answer to whoever waited, so each is looked for with a deadline.
#[test]
fn a_runs_files_are_removed_once_it_has_ended() {
    let env = TestEnv::new();
    let (sid, _, _) = paused_for_approval(&env);
    let folders: Vec<PathBuf> = hero_logic::run_files::roots(&env.data_dir)
        .iter()
        .map(|root| root.join(&sid))
        .collect();
    let gone = |what: &str| {
        wait_until(what, Duration::from_secs(10), || {
            folders.iter().all(|f| !f.exists())
        });
    };
    gone("the paused run's files are removed");
    let id = pending(&env, &sid)[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    env.ok(["resume", &sid, &id, "true"]);
    wait(&env, &sid).expect_code(0);
    gone("the replaying run's files are removed");
}

#[test]
fn a_confirm_pause_waits_is_resumed_and_its_side_effect_happens_once() {
    let env = TestEnv::new();
    let (sid, ledger, db) = paused_for_approval(&env);
    wait(&env, &sid).expect_code(75);
    let open = pending(&env, &sid);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["name"], "approve");
    assert_eq!(open[0]["ui"]["kind"], "confirm");
    let id = open[0]["id"].as_str().expect("an id").to_owned();

    let ack = env.json(["resume", &sid, &id, "true", "--json"]);
    assert_eq!(ack["ok"], true);
    let done = wait(&env, &sid);
    done.expect_code(0);
    let done = done.json();
    assert_eq!(done["status"], "success");
    assert_eq!(done["output_data"], json!({"approved": true, "rows": 1}));
    assert_eq!(done["runs"], 2);
    assert_eq!(lines(&ledger), vec!["created"], "the line is appended once");
    assert_eq!(sqlite_rows(&db), 1, "the row is inserted once");

    // The replayed step is marked so in the second run's spans.
    let spans = env.rpc("play_spans", json!({"play_sid": sid, "run": 2}));
    let record = spans
        .as_array()
        .expect("spans")
        .iter()
        .find(|s| s["name"] == "create_record")
        .expect("the step's span in run 2");
    assert_eq!(record["status"], "replayed");
    // It carries what the run that did the work recorded.
    assert_eq!(record["output"], 1);
    assert_eq!(record["inputs"]["ledger"], s(&ledger));
    assert!(record["source_line"].as_u64().is_some(), "{record}");
}

#[test]
fn answers_are_idempotent_checked_against_the_schema_and_refused_when_different() {
    let env = TestEnv::new();
    let flow = write_flow(&env, "ask.py", &flow_source("ask.py"));
    let sid = start_and_settle(&env, &flow, json!({}), &[])["sid"]
        .as_str()
        .expect("a sid")
        .to_owned();
    let before = pending(&env, &sid);
    let id = before[0]["id"].as_str().expect("an id").to_owned();

    // A string where the schema wants an integer: refused, naming it.
    let bad = env.run(["resume", &sid, &id, r#""seven""#]);
    assert_eq!(bad.code, Some(1), "{bad}");
    assert!(
        bad.stderr.contains("\"seven\"") && bad.stderr.contains("integer"),
        "{bad}"
    );
    let raw = env.wire(&format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"play_resume","params":{{"play_sid":"{sid}","resume_id":"{id}","payload_json":"\"seven\""}}}}"#
    ));
    assert_eq!(raw["error"]["code"], -32003, "{raw}");
    let play = env.json(["play", "show", &sid, "--json"]);
    assert_eq!(play["status"], "awaiting_resume");
    assert_eq!(pending(&env, &sid), before, "the pending list is unchanged");

    // The first answer, the same again (ok, first time), then another (refused).
    let first = env.json(["resume", &sid, &id, "7", "--json"]);
    let again = env.json(["resume", &sid, &id, "7", "--json"]);
    assert_eq!(
        again, first,
        "the same answer again is ok with the first resumed_at"
    );
    let other = env.run(["resume", &sid, &id, "8"]);
    assert_eq!(other.code, Some(1), "{other}");
    assert!(other.stderr.contains("already answered"), "{other}");

    // The choice: an option that is not offered is refused.
    wait(&env, &sid).expect_code(75);
    let choice = pending(&env, &sid);
    assert_eq!(choice.len(), 1);
    assert_eq!(
        choice[0]["name"], "size",
        "the answered pause is not asked again"
    );
    let choice_id = choice[0]["id"].as_str().expect("an id").to_owned();
    let bad = env.run(["resume", &sid, &choice_id, r#""xl""#]);
    assert_eq!(bad.code, Some(1), "{bad}");
    assert!(bad.stderr.contains("\"xl\""), "{bad}");
    env.ok(["resume", &sid, &choice_id, r#""m""#]);
    let done = wait(&env, &sid).json();
    assert_eq!(done["output_data"], json!({"n": 7, "size": "m"}));
    assert_eq!(done["received_resumes"][&id], 7);
}

#[test]
fn three_pauses_run_every_step_exactly_once_over_four_runs() {
    let env = TestEnv::new();
    let tally = env.scratch("tally.txt");
    let flow = s(&repo_path("examples/multi_pause/flow.py"));
    let sid = start_and_settle(&env, &flow, json!({"tally": s(&tally)}), &[])["sid"]
        .as_str()
        .expect("a sid")
        .to_owned();
    let mut ids = Vec::new();
    for (name, answer) in [("name", r#""Ada""#), ("size", r#""large""#), ("count", "3")] {
        wait(&env, &sid).expect_code(75);
        let open = pending(&env, &sid);
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0]["name"], name);
        let id = open[0]["id"].as_str().expect("an id").to_owned();
        assert!(!ids.contains(&id), "every pause has its own id");
        ids.push(id.clone());
        env.ok(["resume", &sid, &id, answer]);
    }
    let done = wait(&env, &sid);
    done.expect_code(0);
    let done = done.json();
    assert_eq!(done["runs"], 4);
    assert_eq!(
        lines(&tally),
        vec!["start", "named Ada", "sized large", "counted 3"],
        "each step ran once"
    );
    let answered: Vec<&String> = done["received_resumes"]
        .as_object()
        .expect("a map")
        .keys()
        .collect();
    assert_eq!(answered.len(), 3);
    // The same pause gets the same id in a fresh play of the same version.
    let again = env.json(["play", "restart", &sid, "--json"]);
    let again_sid = again["sid"].as_str().expect("a sid");
    wait(&env, again_sid).expect_code(75);
    assert_eq!(pending(&env, again_sid)[0]["id"], ids[0].as_str());
}

#[test]
fn prefilled_resumes_run_a_play_headless_by_name_and_by_glob() {
    let env = TestEnv::new();
    let flow = write_flow(&env, "approve.py", &flow_source("approve_record.py"));
    for prefill in ["approve=true", "appr*=true"] {
        let ledger = env.scratch(&format!("{prefill}.txt"));
        let input = json!({"ledger": s(&ledger), "db": s(&env.scratch("p.db"))});
        let play = start_and_settle(&env, &flow, input, &["--prefill", prefill]);
        assert_eq!(play["status"], "success", "{prefill}: {play}");
        assert_eq!(play["runs"], 1, "{prefill}: one run");
        assert_eq!(play["output_data"]["approved"], true);
        assert_eq!(
            play["received_resumes"].as_object().map(|m| m.len()),
            Some(1)
        );
        assert_eq!(lines(&ledger).len(), 1);
    }
    let bad = env.run(["play", "start", &flow, "--prefill", "approve"]);
    assert_eq!(bad.code, Some(2), "{bad}");
}

#[test]
fn a_paused_play_resumes_on_its_pinned_version_and_restart_latest_takes_the_new_one() {
    let env = TestEnv::new();
    let v1 = flow_source("versioned.py");
    let flow = write_flow(&env, "versioned.py", &v1);
    let play = start_and_settle(&env, &flow, json!({}), &[]);
    let sid = play["sid"].as_str().expect("a sid").to_owned();
    let pinned = play["workflow_version_sid"].clone();
    std::fs::write(&flow, v1.replace("\"version\": 1", "\"version\": 2")).expect("v2");
    let saved = env.json(["workflow", "save", &flow, "--json"]);
    assert_ne!(saved["current_version_sid"], pinned);

    let shown = env.ok(["play", "show", &sid]);
    assert!(shown.contains("newer version"), "{shown}");
    let id = pending(&env, &sid)[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    env.ok(["resume", &sid, &id, "true"]);
    let done = wait(&env, &sid).json();
    assert_eq!(done["output_data"], json!({"version": 1, "ok": true}));
    assert_eq!(done["workflow_version_sid"], pinned);

    let fresh = env.json(["play", "restart", &sid, "--latest", "--json"]);
    assert_eq!(fresh["workflow_version_sid"], saved["current_version_sid"]);
    let fresh_sid = fresh["sid"].as_str().expect("a sid");
    wait(&env, fresh_sid).expect_code(75);
    let id = pending(&env, fresh_sid)[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    env.ok(["resume", fresh_sid, &id, "false"]);
    assert_eq!(wait(&env, fresh_sid).json()["output_data"]["version"], 2);
}

#[test]
fn lint_flags_nondeterminism_in_step_arguments_and_passes_it_in_the_body() {
    let env = TestEnv::new();
    let flagged = write_flow(&env, "clock.py", &flow_source("clock.py"));
    let out = env.run(["workflow", "lint", &flagged]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stdout.contains("clock.py:10:"), "{out}");
    assert!(out.stdout.contains("time.time()"), "{out}");
    let fixed = write_flow(&env, "clock_fixed.py", &flow_source("clock_fixed.py"));
    env.run(["workflow", "lint", &fixed]).expect_code(0);
    // Saving warns on stderr but saves.
    let save = env.run(["workflow", "save", &flagged]);
    save.expect_code(0);
    assert!(save.stderr.contains("time.time()"), "{save}");
}

#[test]
fn resume_without_an_id_off_a_terminal_shows_the_scripted_form() {
    let env = TestEnv::new();
    let flow = write_flow(&env, "approve.py", &flow_source("approve_record.py"));
    let input = json!({"ledger": s(&env.scratch("l.txt")), "db": s(&env.scratch("d.db"))});
    let sid = start_and_settle(&env, &flow, input, &[])["sid"]
        .as_str()
        .expect("a sid")
        .to_owned();
    let id = pending(&env, &sid)[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let out = env.run(["resume", &sid]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("no terminal"), "{out}");
    assert!(
        out.stderr
            .contains(&format!("hero_logic resume {sid} {id} true")),
        "{out}"
    );
}

#[test]
fn a_killed_server_recovers_a_running_play_without_running_a_finished_step_again() {
    let env = TestEnv::new();
    let log = env.scratch("steps.txt");
    let gate = env.scratch("gate");
    let flow = write_flow(&env, "gated.py", &flow_source("gated_steps.py"));
    let pids = env.scratch("pids.txt");
    let input = json!({"log": s(&log), "gate": s(&gate), "pids": s(&pids)}).to_string();
    let sid = env
        .ok(["play", "start", &flow, "--input", &input])
        .trim()
        .to_owned();
    // Killed as soon as the second checkpoint is acknowledged: its journal
    // record may be all there is of it.
    let acked = std::path::PathBuf::from(format!("{}.acked", s(&gate)));
    let pid = env.server_pid().expect("the server's pid");
    wait_until(
        "two steps are acknowledged",
        Duration::from_secs(20),
        || acked.exists(),
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 the server");
    wait_until("the killed server is gone", Duration::from_secs(10), || {
        common::process_gone(pid)
    });
    // The killed server's flow is still waiting at the gate; the next
    // server kills it before it recovers the play.
    let first_run: u32 = lines(&pids)[0].parse().expect("the first run's pid");
    assert!(
        !common::process_gone(first_run),
        "the first run outlives its server"
    );
    env.ok(["play", "show", &sid]);
    wait_until(
        "the first run is killed by the new server",
        Duration::from_secs(20),
        || common::process_gone(first_run),
    );
    std::fs::write(&gate, "open").expect("open the gate");
    // The next command starts a new server, which recovers the play.
    let done = wait(&env, &sid);
    done.expect_code(0);
    assert_eq!(done.json()["output_data"], 3);
    // Three steps and `main` itself, each checkpointed once.
    assert_eq!(done.json()["steps_done"], 4, "each checkpoint counted once");
    assert_eq!(
        lines(&log),
        vec!["0", "1", "2"],
        "no finished step ran again"
    );
}

fn run_example(env: &TestEnv, name: &str) -> common::Outcome {
    let mut cmd = env.command("bash");
    cmd.arg(repo_path(&format!("examples/{name}/run.sh")))
        .env("HERO_LOGIC", common::BIN);
    env.output(&mut cmd, format!("bash examples/{name}/run.sh"))
}

#[test]
fn the_pause_examples_run_to_success() {
    for name in ["approve", "multi_pause", "headless"] {
        let env = TestEnv::new();
        let out = run_example(&env, name);
        out.expect_code(0);
        assert_eq!(out.json()["status"], "success", "{out}");
    }
}

#[test]
fn plays_beyond_the_run_limit_wait_pending_and_all_finish() {
    let env = TestEnv::new();
    // The server takes its limit from the environment of whoever starts it.
    let mut start = env.cmd();
    start.arg("start").env("HERO_LOGIC_MAX_RUNS", "2");
    env.output(&mut start, "HERO_LOGIC_MAX_RUNS=2 hero_logic start".into())
        .expect_code(0);
    let gate = env.scratch("gate");
    let flow = write_flow(&env, "gated.py", &flow_source("gated.py"));
    let input = json!({"gate": s(&gate)}).to_string();
    let sids: Vec<String> = (0..4)
        .map(|_| {
            env.ok(["play", "start", &flow, "--input", &input])
                .trim()
                .to_owned()
        })
        .collect();
    let count = |status: &str| {
        env.json(["play", "list", "--status", status, "--json"])
            .as_array()
            .map_or(0, Vec::len)
    };
    wait_until("two plays run", Duration::from_secs(20), || {
        count("running") == 2
    });
    assert_eq!(count("pending"), 2, "the others wait their turn");
    std::fs::write(&gate, "open").expect("open the gate");
    for sid in &sids {
        let done = wait(&env, sid);
        done.expect_code(0);
        assert_eq!(done.json()["output_data"], "through");
    }
}
