//! End-to-end tests of `hero_logic play prune` (issue 15): ended plays go
//! whole (record, spans, logs, outputs), everything else stays, and what is
//! gone stays gone after a `kill -9` of the server.

use serde_json::json;

use crate::common::{TestEnv, flow, path_arg, process_gone, wait_until};

/// Runs FLOW with INPUT to its end or pause; its sid.
fn play(env: &TestEnv, file: &str, input: serde_json::Value, status: &str) -> String {
    let out = env.run([
        "play",
        "start",
        &path_arg(&flow(file)),
        "--input",
        &input.to_string(),
        "--wait",
        "--json",
    ]);
    let play = out.json();
    assert_eq!(play["status"], status, "{out}");
    play["sid"].as_str().expect("a sid").to_owned()
}

fn exists(env: &TestEnv, sid: &str) -> bool {
    env.run(["play", "show", sid, "--json"]).code == Some(0)
}

#[test]
fn prune_removes_ended_plays_whole_and_keeps_the_rest_across_a_kill_9() {
    let env = TestEnv::new();
    env.start();
    let printed = play(
        &env,
        "prints.py",
        json!({"lines": 3, "long": 10}),
        "success",
    );
    let failed = play(&env, "fails.py", json!({}), "failed");
    let paused = play(&env, "approve.py", json!({}), "awaiting_resume");
    assert!(
        !env.rpc("play_logs", json!({"play_sid": printed}))
            .as_array()
            .expect("logs")
            .is_empty()
    );

    let none = env.json(["play", "prune", "--before", "1h", "--json"]);
    assert_eq!(none["pruned"], 0, "every play ended within the hour");
    let refused = env.run(["play", "prune", "--before", "0s", "--status", "running"]);
    assert_ne!(refused.code, Some(0), "{refused}");
    assert!(refused.stderr.contains("has not ended"), "{refused}");

    let one = env.json([
        "play", "prune", "--before", "0s", "--status", "failed", "--json",
    ]);
    assert_eq!(one["pruned"], 1);
    assert!(!exists(&env, &failed), "the failed play is gone");
    assert!(
        exists(&env, &printed),
        "a success is not pruned by --status failed"
    );

    let rest = env.json(["play", "prune", "--before", "0s", "--json"]);
    assert_eq!(
        rest["pruned"], 1,
        "the success; the paused play has not ended"
    );
    assert!(!exists(&env, &printed));
    assert!(exists(&env, &paused), "a paused play is never pruned");
    let logs = env.run([
        "rpc",
        "play_logs",
        &json!({"play_sid": printed}).to_string(),
    ]);
    assert_ne!(logs.code, Some(0), "no logs of a pruned play: {logs}");

    let server = env.server_pid().expect("the server's pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("the server is killed");
    wait_until(
        "the server is gone",
        std::time::Duration::from_secs(20),
        || process_gone(server),
    );
    let dump = env.store_dump();
    for sid in [&printed, &failed] {
        let left: Vec<&String> = dump.iter().filter(|r| r.contains(sid.as_str())).collect();
        assert!(left.is_empty(), "records of pruned play {sid}: {left:?}");
    }
    assert!(
        dump.iter().any(|r| r.contains(paused.as_str())),
        "the paused play stays"
    );
}

#[test]
fn the_store_file_stops_growing_under_a_steady_prune() {
    let env = TestEnv::new();
    if !env.on_redb("the file is redb's; PostgreSQL reuses its pages by VACUUM") {
        return;
    }
    env.start();
    let prints = path_arg(&flow("prints.py"));
    let input = json!({"lines": 20, "long": 2000}).to_string();
    let size = || {
        std::fs::metadata(env.data_dir.join("hero_logic.redb"))
            .expect("the store file")
            .len()
    };
    // Rounds of plays, each pruned once ended: what a pruned round freed,
    // the next round's writes reuse.
    let mut sizes = Vec::new();
    for _ in 0..8 {
        let sids: Vec<String> = (0..40)
            .map(|_| {
                env.ok(["play", "start", &prints, "--input", &input])
                    .trim()
                    .to_owned()
            })
            .collect();
        for sid in &sids {
            env.run(["play", "wait", sid]).expect_code(0);
        }
        let pruned = env.json(["play", "prune", "--before", "0s", "--json"]);
        assert_eq!(pruned["pruned"], 40, "{pruned}");
        sizes.push(size());
    }
    let warm = *sizes[..4].iter().max().expect("four rounds");
    assert!(
        sizes[4..].iter().all(|s| *s <= warm),
        "the store file grew after the first rounds: {sizes:?}"
    );
}
