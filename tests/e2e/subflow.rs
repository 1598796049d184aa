//! End-to-end tests of sub-flows (issue 4): `flow.invoke` in-process and
//! spawned, parents that wait without a process, cancel cascades and cost.

use crate::common;

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestEnv, flow_source, process_gone, repo_path, wait_until};

fn write_flow(env: &TestEnv, name: &str, source: &str) -> String {
    let path = env.scratch(name);
    std::fs::write(&path, source).expect("the flow file");
    path.to_str().expect("UTF-8 paths").to_owned()
}

fn save(env: &TestEnv, name: &str, source: &str) {
    let path = write_flow(env, &format!("{name}.py"), source);
    env.ok(["workflow", "save", &path, "--name", name]);
}

fn sid_of(play: &Value) -> String {
    play["sid"].as_str().expect("a sid").to_owned()
}

/// Flow processes of this test's server still alive (zombies excluded).
fn flow_processes(env: &TestEnv) -> Vec<u32> {
    let data = env.data_dir.to_str().expect("UTF-8").to_owned();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            cmdline.contains("hero_tracing") && cmdline.contains(&data) && !process_gone(*pid)
        })
        .collect()
}

fn children_of(env: &TestEnv, parent: &str) -> Vec<Value> {
    env.json(["play", "list", "--json"])
        .as_array()
        .expect("plays")
        .iter()
        .filter(|p| p["parent_play_sid"] == parent)
        .cloned()
        .collect()
}

#[test]
fn both_forms_return_the_child_output_with_subflow_spans_and_a_linked_child_play() {
    let env = TestEnv::new();
    save(&env, "child", &flow_source("child.py"));
    let parent = write_flow(&env, "parent.py", &flow_source("invokes_child.py"));
    let play = env.run(["play", "start", &parent, "--wait", "--json"]);
    play.expect_code(0);
    let play = play.json();
    assert_eq!(
        play["output_data"],
        json!({"here": {"doubled": 4}, "there": {"doubled": 10}})
    );
    let sid = sid_of(&play);
    let spans = env.rpc("play_spans", json!({"play_sid": sid}));
    let subflows: Vec<&Value> = spans
        .as_array()
        .expect("spans")
        .iter()
        .filter(|s| s["kind"] == "subflow")
        .collect();
    assert_eq!(subflows.len(), 2, "{spans}");
    let in_process = subflows
        .iter()
        .find(|s| s["child_play_sid"].is_null())
        .expect("in-process");
    let spawned = subflows
        .iter()
        .find(|s| !s["child_play_sid"].is_null())
        .expect("spawned");
    // The in-process child's steps are part of this play, below its span.
    let double = spans
        .as_array()
        .expect("spans")
        .iter()
        .find(|s| s["name"] == "double")
        .expect("the child's step in the parent's spans");
    assert_eq!(double["parent_id"], in_process["id"]);

    let children = children_of(&env, &sid);
    assert_eq!(children.len(), 1);
    let child = &children[0];
    assert_eq!(child["sid"], spawned["child_play_sid"]);
    assert_eq!(child["parent_span_id"], spawned["id"]);
    assert_eq!(child["status"], "success");
    // Costs: the in-process child's step and the spawned child's both count.
    let total = play["total_cost_usd"].as_f64().expect("a cost");
    assert!((total - 0.5).abs() < 1e-9, "{total}");
    // `play show` prints the spawned child's tree inline.
    let shown = env.ok(["play", "show", &sid]);
    assert!(
        shown.contains(&format!("play {}", child["sid"].as_str().expect("sid"))),
        "{shown}"
    );
    let roots = env.json(["play", "list", "--no-children", "--json"]);
    assert!(
        roots
            .as_array()
            .expect("plays")
            .iter()
            .all(|p| p["parent_play_sid"].is_null())
    );
}

#[test]
fn a_parent_waits_on_a_paused_child_without_a_process_and_goes_on_by_itself() {
    let env = TestEnv::new();
    save(&env, "ship", &flow_source("ship.py"));
    let counter = env.scratch("before.txt");
    let parent = write_flow(&env, "parent.py", &flow_source("invokes_ship.py"));
    let input = json!({"path": counter.to_str().expect("UTF-8")}).to_string();
    let sid = env
        .ok(["play", "start", &parent, "--input", &input])
        .trim()
        .to_owned();
    env.run(["play", "wait", &sid]).expect_code(75);
    let children = children_of(&env, &sid);
    assert_eq!(children.len(), 1);
    let child = sid_of(&children[0]);
    env.run(["play", "wait", &child]).expect_code(75);
    wait_until("no flow process is alive", Duration::from_secs(20), || {
        flow_processes(&env).is_empty()
    });

    let id = env.json(["pending", &child, "--json"])[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    env.ok(["resume", &child, &id, r#""courier""#]);
    env.run(["play", "wait", &child]).expect_code(0);
    // Nobody resumes the parent: it goes on, and stops at its own pause.
    env.run(["play", "wait", &sid]).expect_code(75);
    let open = env.json(["pending", &sid, "--json"]);
    assert_eq!(open[0]["name"], "after", "{open}");
    let id = open[0]["id"].as_str().expect("an id").to_owned();
    env.ok(["resume", &sid, &id, "true"]);
    let done = env.run(["play", "wait", &sid, "--json"]);
    done.expect_code(0);
    let done = done.json();
    let shipped = json!({"order": "A-1", "carrier": "courier"});
    assert_eq!(done["output_data"]["shipped"], shipped);
    // Three runs: until the child paused, until `after`, to the end; the
    // two replays went past the invoke without starting a second child.
    assert_eq!(done["runs"], 3, "{done}");
    let children = children_of(&env, &sid);
    assert_eq!(
        children.len(),
        1,
        "replays started no second child: {children:?}"
    );
    assert_eq!(std::fs::read_to_string(&counter).expect("counter"), "x\n");
}

#[test]
fn cancelling_a_parent_cancels_its_waiting_child() {
    let env = TestEnv::new();
    save(&env, "ship", &flow_source("ship.py"));
    let parent = write_flow(&env, "parent.py", &flow_source("spawns_ship.py"));
    let sid = env.ok(["play", "start", &parent]).trim().to_owned();
    env.run(["play", "wait", &sid]).expect_code(75);
    let child = sid_of(&children_of(&env, &sid)[0]);
    env.ok(["play", "cancel", &sid, "--yes"]);
    env.run(["play", "wait", &sid]).expect_code(3);
    // The cascade to children follows the parent's own cancel.
    wait_until("the child is cancelled", Duration::from_secs(30), || {
        env.json(["play", "show", &child, "--json"])["status"] == "cancelled"
    });
    env.run(["play", "wait", &child, "--json"]).expect_code(3);
}

#[test]
fn a_failed_child_raises_in_its_parent_with_the_child_error() {
    let env = TestEnv::new();
    save(&env, "broken_child", &flow_source("broken_child.py"));
    let parent = write_flow(&env, "parent.py", &flow_source("spawns_broken_child.py"));
    let out = env.run(["play", "start", &parent, "--wait", "--json"]);
    out.expect_code(1);
    let error = out.json()["error"].as_str().expect("an error").to_owned();
    assert!(
        error.contains("ChildFlowError") && error.contains("no stock left"),
        "{error}"
    );
}

#[test]
fn the_compose_example_runs_to_success() {
    let env = TestEnv::new();
    let mut cmd = env.command("bash");
    cmd.arg(repo_path("examples/compose/run.sh"))
        .env("HERO_LOGIC", common::BIN);
    let out = env.output(&mut cmd, "bash examples/compose/run.sh".into());
    out.expect_code(0);
    let play = out.json();
    assert_eq!(play["status"], "success");
    assert_eq!(play["output_data"]["carrier"], "courier");
    assert_eq!(play["output_data"]["grams"], 1000);
}
