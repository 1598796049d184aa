//! Several servers on one PostgreSQL database (SPEC §12): a play started
//! on one is answered and waited for on another; a worker killed with its
//! whole process tree hands its play to another, which finishes it without
//! running a finished step again; a worker stopped past its lease cannot
//! write once continued (fencing); and two workers never run one play at
//! once. They run in the `e2e_postgres` suite; the redb suite skips them,
//! saying so.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{TestEnv, flow_source, process_gone, wait_until};

/// A short lease, so that takeovers happen within a test's patience.
const LEASE_S: &str = "1";

fn s(path: &Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}

/// Two or more workers on one fresh database, with short leases; `None`
/// (the test is skipped) without PostgreSQL.
fn workers(n: usize) -> Option<Vec<TestEnv>> {
    let first = TestEnv::new().with_var("HERO_LOGIC_LEASE_S", LEASE_S);
    if first.database_url.is_none() {
        eprintln!("skipped: several workers need PostgreSQL (the e2e_postgres suite)");
        return None;
    }
    let mut all = vec![first];
    for _ in 1..n {
        let next = TestEnv::worker_of(&all[0]);
        all.push(next);
    }
    for env in &all {
        env.start();
    }
    Some(all)
}

/// Flow `name` of tests/flows, started on `env` with a gate file to wait
/// for (`{"gate": PATH}`): its sid and the gate's path.
fn start_gated(env: &TestEnv, name: &str) -> (String, PathBuf) {
    let flow = env.scratch(name);
    std::fs::write(&flow, flow_source(name)).expect("the flow file");
    let gate = env.scratch("gate");
    let input = json!({"gate": s(&gate)});
    let sid = env
        .ok(["play", "start", &s(&flow), "--input", &input.to_string()])
        .trim()
        .to_owned();
    (sid, gate)
}

/// The ledger flow (tests/flows/ledger.py) with its gate, started on `env`.
fn start_ledger(env: &TestEnv, n: u64, pause_at: i64) -> (String, PathBuf, PathBuf) {
    let flow = env.scratch("ledger.py");
    std::fs::write(&flow, flow_source("ledger.py")).expect("the flow file");
    let ledger = env.scratch("ledger.txt");
    let gate = env.scratch("gate");
    let input = json!({"ledger": s(&ledger), "gate": s(&gate), "n": n, "pause_at": pause_at});
    let sid = env
        .ok(["play", "start", &s(&flow), "--input", &input.to_string()])
        .trim()
        .to_owned();
    let reached = PathBuf::from(format!("{}.reached", s(&gate)));
    wait_until("the flow reaches its gate", Duration::from_secs(30), || {
        reached.exists()
    });
    (sid, ledger, gate)
}

/// What the ledger says: each step whose body ran again after its
/// acknowledgement (never allowed; a replay writes `ack` again, from its
/// checkpoint, without running the body), and how many steps were
/// acknowledged.
fn ledger_faults(path: &Path) -> (Vec<String>, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut acked = std::collections::BTreeSet::new();
    let mut faults = Vec::new();
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("run", i)) if acked.contains(i) => {
                faults.push(format!("step {i} ran after its ack"));
            }
            Some(("ack", i)) => {
                acked.insert(i.to_owned());
            }
            _ => {}
        }
    }
    (faults, acked.len())
}

/// The ledger play `sid`, waited for on `env`: it ends `success` with the
/// sum of its `n` steps, each acknowledged, none run again after its
/// acknowledgement.
fn ledger_done(env: &TestEnv, sid: &str, ledger: &Path, n: u64) -> Value {
    let done = env.json(["play", "wait", sid, "--json"]);
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"], json!((0..n).sum::<u64>()), "{done}");
    let (faults, acks) = ledger_faults(ledger);
    assert!(faults.is_empty(), "{faults:?}");
    assert_eq!(acks as u64, n, "every step acknowledged");
    done
}

fn play(env: &TestEnv, sid: &str) -> Value {
    env.json(["play", "show", sid, "--json"])
}

fn worker_runs(env: &TestEnv, sid: &str) -> Vec<String> {
    env.json(["workers", "--json"])
        .as_array()
        .expect("a list of workers")
        .iter()
        .filter(|w| {
            w["runs"]
                .as_array()
                .is_some_and(|r| r.iter().any(|s| s == sid))
        })
        .map(|w| w["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_play_started_on_one_worker_is_answered_and_waited_for_on_another() {
    let Some(envs) = workers(2) else {
        return;
    };
    let (a, b) = (&envs[0], &envs[1]);
    let (sid, gate) = start_gated(a, "approve_gate.py");
    wait_until(
        "the play waits for its answer",
        Duration::from_secs(30),
        || play(b, &sid)["status"] == "awaiting_resume",
    );
    let pending = b.json(["pending", &sid, "--json"]);
    let id = pending[0]["id"].as_str().expect("a pause id").to_owned();
    b.ok(["resume", &sid, &id, "true"]);
    // Now running on b, at its gate: a `play wait` on a hears the end only
    // from b, through the database.
    let reached = PathBuf::from(format!("{}.reached", s(&gate)));
    wait_until(
        "the resumed run reaches its gate",
        Duration::from_secs(30),
        || reached.exists(),
    );
    assert_eq!(worker_runs(a, &sid).len(), 1, "one worker runs it");
    let mut waiting = a.std_cmd();
    waiting.args(["play", "wait", &sid, "--json"]);
    waiting.stdout(std::process::Stdio::piped());
    let waiting = waiting.spawn().expect("play wait starts");
    std::fs::write(&gate, "").expect("open the gate");
    let out = waiting.wait_with_output().expect("play wait ends");
    assert!(out.status.success(), "{out:?}");
    let ended: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(ended["status"], "success", "{ended}");
    assert_eq!(ended["output_data"], json!({"approved": true}), "{ended}");
}

#[test]
fn a_worker_killed_with_its_processes_hands_its_play_to_another_that_reruns_no_finished_step() {
    let Some(envs) = workers(2) else {
        return;
    };
    let (a, b) = (&envs[0], &envs[1]);
    let (sid, ledger, gate) = start_ledger(a, 40, 19);
    assert_eq!(worker_runs(b, &sid).len(), 1);
    let a_pid = a.server_pid().expect("a's pid");
    a.kill_everything();
    wait_until("worker a is gone", Duration::from_secs(10), || {
        process_gone(a_pid)
    });
    let killed = Instant::now();
    std::fs::write(&gate, "").expect("open the gate");
    wait_until(
        "worker b takes the play over",
        Duration::from_secs(30),
        || play(b, &sid)["runs"].as_u64() == Some(2),
    );
    eprintln!(
        "taken over {:?} after the kill (lease {LEASE_S} s)",
        killed.elapsed()
    );
    ledger_done(b, &sid, &ledger, 40);
}

#[test]
fn a_worker_stopped_past_its_lease_cannot_write_once_continued() {
    let Some(envs) = workers(2) else {
        return;
    };
    let (a, b) = (&envs[0], &envs[1]);
    let (sid, ledger, gate) = start_ledger(a, 40, 19);
    let run_pgid = play(a, &sid)["run_pgid"]
        .as_u64()
        .expect("the run's process group") as u32;
    let a_pid = a.server_pid().expect("a's pid");
    let pid = nix::unistd::Pid::from_raw(a_pid as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP a");
    wait_until(
        "worker b takes the play over",
        Duration::from_secs(30),
        || play(b, &sid)["runs"].as_u64() == Some(2),
    );
    // Both runs go on from the gate: a's against a stopped server (its
    // next checkpoint waits for an answer), b's to the end.
    std::fs::write(&gate, "").expect("open the gate");
    let done = b.json(["play", "wait", &sid, "--json"]);
    assert_eq!(done["status"], "success", "{done}");
    let before = b.store_dump();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).expect("SIGCONT a");
    // a's run learns it lost the play: its checkpoint is refused, and its
    // heartbeat kills what is left of it.
    wait_until("a's run has ended", Duration::from_secs(30), || {
        process_gone(run_pgid)
    });
    let after = b.store_dump();
    let written: Vec<&String> = after.iter().filter(|row| !before.contains(row)).collect();
    assert!(
        written.is_empty(),
        "worker a wrote once continued: {written:?}"
    );
    assert_eq!(before.len(), after.len(), "worker a removed nothing");
    // a's flow process ran on while its server was stopped: past the gate
    // it ran step 20's body and then waited for its checkpoint's answer,
    // which was refused. That one step in flight may run twice (SPEC §5),
    // even after b acknowledged it; no other.
    let (faults, acks) = ledger_faults(&ledger);
    assert!(
        faults.iter().all(|f| f == "step 20 ran after its ack"),
        "{faults:?}"
    );
    assert_eq!(acks, 40, "every step acknowledged");
    assert_eq!(play(a, &sid)["status"], "success");
}

#[test]
fn two_workers_never_run_one_play_at_once() {
    let Some(envs) = workers(3) else {
        return;
    };
    let flow = envs[0].scratch("two_runs.py");
    std::fs::write(&flow, flow_source("two_runs.py")).expect("the flow file");
    let logs = envs[0].scratch("logs");
    std::fs::create_dir_all(&logs).expect("a folder for the logs");
    const PLAYS: usize = 200;
    // Started round the workers, answered by the next one round.
    let sids: Vec<String> = (0..PLAYS)
        .map(|i| {
            let log = logs.join(format!("{i}.jsonl"));
            let input = json!({"log": s(&log)});
            envs[i % 3]
                .ok(["play", "start", &s(&flow), "--input", &input.to_string()])
                .trim()
                .to_owned()
        })
        .collect();
    for (i, sid) in sids.iter().enumerate() {
        let other = &envs[(i + 1) % 3];
        wait_until(
            "the play waits for its answer",
            Duration::from_secs(60),
            || play(other, sid)["status"] == "awaiting_resume",
        );
        let id = other.json(["pending", sid, "--json"])[0]["id"]
            .as_str()
            .expect("a pause id")
            .to_owned();
        other.ok(["resume", sid, &id, "true"]);
    }
    for (i, sid) in sids.iter().enumerate() {
        let done = envs[(i + 2) % 3].json(["play", "wait", sid, "--json"]);
        assert_eq!(done["status"], "success", "{done}");
    }
    for (i, sid) in sids.iter().enumerate() {
        let text =
            std::fs::read_to_string(logs.join(format!("{i}.jsonl"))).expect("the play's log");
        let notes: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        let mut open: Option<&Value> = None;
        let mut runs = 0;
        for note in &notes {
            match (note["what"].as_str(), open) {
                (Some("begin"), None) => {
                    open = Some(note);
                    runs += 1;
                }
                (Some("end"), Some(begun)) if begun["pid"] == note["pid"] => open = None,
                _ => panic!("play {sid}: runs overlap: {notes:?}"),
            }
        }
        assert!(open.is_none() && runs == 2, "play {sid}: {notes:?}");
        let workers: Vec<&Value> = notes.iter().map(|n| &n["worker"]).collect();
        assert_ne!(
            workers[0], workers[2],
            "play {}: answered elsewhere, run elsewhere",
            sids[i]
        );
    }
}

#[test]
fn timers_and_schedules_fire_once_across_workers() {
    let Some(envs) = workers(2) else {
        return;
    };
    let (a, b) = (&envs[0], &envs[1]);
    // Ten plays asleep for 3 s, started on both: each timer wakes its play
    // once, on whichever worker fires first.
    let sleeps = a.scratch("sleeps.py");
    std::fs::write(&sleeps, flow_source("sleeps.py")).expect("the flow file");
    let sleepers: Vec<(String, PathBuf)> = (0..10)
        .map(|i| {
            let ledger = a.scratch(&format!("sleep{i}.txt"));
            let input = json!({"ledger": s(&ledger), "seconds": 3.0});
            let sid = envs[i % 2]
                .ok(["play", "start", &s(&sleeps), "--input", &input.to_string()])
                .trim()
                .to_owned();
            (sid, ledger)
        })
        .collect();
    // A schedule every second, which both workers' schedule tasks watch.
    let ticks = a.scratch("ticks.py");
    std::fs::write(&ticks, flow_source("any_input.py")).expect("the flow file");
    a.ok(["workflow", "save", &s(&ticks), "--name", "ticks"]);
    a.ok(["schedule", "add", "tick", "ticks", "--every", "1s"]);
    let tick_plays = |env: &TestEnv| -> Vec<Value> {
        env.json(["play", "list", "--json", "--limit", "1000"])
            .as_array()
            .expect("plays")
            .iter()
            .filter(|p| p["schedule"] == "tick")
            .cloned()
            .collect()
    };
    wait_until(
        "the schedule fires five times",
        Duration::from_secs(30),
        || tick_plays(b).len() >= 5,
    );
    a.ok(["schedule", "pause", "tick"]);
    let plays = tick_plays(b);
    let mut keys: Vec<&str> = plays
        .iter()
        .map(|p| p["idempotency_key"].as_str().expect("a fire time's key"))
        .collect();
    let fired = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), fired, "one play a fire time: {keys:?}");
    for (sid, ledger) in &sleepers {
        let done = b.json(["play", "wait", sid, "--json"]);
        assert_eq!(done["status"], "success", "{done}");
        assert_eq!(done["runs"], 2, "woken once: {done}");
        let lines = std::fs::read_to_string(ledger).expect("the ledger");
        assert_eq!(lines.lines().count(), 2, "each step ran once: {lines}");
    }
    for env in &envs {
        assert!(
            !env.server_log_tail().contains("ERROR"),
            "{}",
            env.server_log_tail()
        );
    }
}

/// Closes every connection of `env`'s server to its database, as a
/// failover or an administrator would: its writer's, its readers', its
/// listener's.
fn drop_connections(env: &TestEnv) {
    let closed = terminate(env, "pid <> pg_backend_pid()");
    assert!(closed >= 2, "the server's connections: {closed}");
}

/// Closes the database's connections that `condition` (SQL on
/// `pg_stat_activity`) picks, as a failover or a restart would; how many.
fn terminate(env: &TestEnv, condition: &str) -> i64 {
    let url = env.database_url.as_deref().expect("a database");
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("a connection");
    let sql = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND {condition}"
    );
    admin
        .query_one(&sql, &[])
        .expect("terminate connections")
        .get(0)
}

#[test]
fn a_play_goes_on_when_the_database_drops_its_servers_connections() {
    let Some(envs) = workers(1) else {
        return;
    };
    let env = &envs[0];
    let (sid, ledger, gate) = start_ledger(env, 20, 9);
    drop_connections(env);
    std::fs::write(&gate, "").expect("open the gate");
    let done = ledger_done(env, &sid, &ledger, 20);
    assert_eq!(done["runs"], 1, "one run: {done}");
}

#[test]
fn a_pause_is_recorded_when_the_database_dropped_the_servers_connections() {
    let Some(envs) = workers(1) else {
        return;
    };
    let env = &envs[0];
    let (sid, gate) = start_gated(env, "gate_then_pause.py");
    let reached = PathBuf::from(format!("{}.reached", s(&gate)));
    wait_until("the flow reaches its gate", Duration::from_secs(30), || {
        reached.exists()
    });
    drop_connections(env);
    std::fs::write(&gate, "").expect("open the gate");
    wait_until("the play pauses", Duration::from_secs(30), || {
        let status = play(env, &sid)["status"].clone();
        assert_ne!(status, "failed", "{}", play(env, &sid));
        status == "awaiting_resume"
    });
    let id = env.json(["pending", &sid, "--json"])[0]["id"]
        .as_str()
        .expect("a pause id")
        .to_owned();
    env.ok(["resume", &sid, &id, "true"]);
    let done = env.json(["play", "wait", &sid, "--json"]);
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"], json!({"approved": true}), "{done}");
}

/// The connections `env`'s server has accepted and not yet closed, as the
/// kernel lists them (an accepted socket carries its listener's path).
fn accepted(env: &TestEnv) -> usize {
    let socket = s(&env.socket());
    std::fs::read_to_string("/proc/net/unix")
        .expect("the kernel's list of Unix sockets")
        .lines()
        .filter(|line| line.split_whitespace().nth(7) == Some(socket.as_str()))
        .count()
}

/// Closes every worker's `LISTEN` connection, as a database restart would:
/// what is announced until they are back goes unheard.
fn drop_listeners(env: &TestEnv) {
    let closed = terminate(env, "query LIKE 'LISTEN %'");
    assert!(closed >= 2, "every worker's listener: {closed}");
}

#[test]
fn a_play_wait_hears_an_end_announced_while_its_worker_was_not_listening() {
    let Some(envs) = workers(2) else {
        return;
    };
    let (a, b) = (&envs[0], &envs[1]);
    let (sid, gate) = start_gated(b, "gated.py");
    wait_until("the play runs on b", Duration::from_secs(30), || {
        worker_runs(b, &sid).len() == 1
    });
    let before = accepted(a);
    let mut waiting = a.std_cmd();
    waiting.args(["play", "wait", &sid, "--json"]);
    waiting.stdout(std::process::Stdio::piped());
    let mut waiting = waiting.spawn().expect("play wait starts");
    wait_until("a takes the wait", Duration::from_secs(30), || {
        accepted(a) > before
    });
    drop_listeners(a);
    std::fs::write(&gate, "").expect("open the gate");
    let done = b.json(["play", "wait", &sid, "--json"]);
    assert_eq!(done["status"], "success", "{done}");
    // b announced the end while nobody on a listened: a hears of it once
    // its listener is back.
    wait_until("a's play wait ends", Duration::from_secs(20), || {
        waiting.try_wait().expect("play wait").is_some()
    });
    let out = waiting.wait_with_output().expect("play wait ends");
    assert!(out.status.success(), "{out:?}");
    let ended: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(ended["status"], "success", "{ended}");
}

#[test]
fn a_subscriber_hears_lagged_once_its_worker_listens_again() {
    use std::io::{BufRead, BufReader, Write};
    let Some(envs) = workers(2) else {
        return;
    };
    let a = &envs[0];
    let stream = std::os::unix::net::UnixStream::connect(a.socket()).expect("a connection");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a read timeout");
    let mut lines = BufReader::new(stream.try_clone().expect("a second handle")).lines();
    (&stream)
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\"}\n")
        .expect("subscribe");
    let answer: Value =
        serde_json::from_str(&lines.next().expect("an answer").expect("a line")).expect("JSON");
    assert_eq!(answer["result"]["ok"], true, "{answer}");
    drop_listeners(a);
    // Nothing else happens on a: what it hears is its listener coming back,
    // after which it cannot know what it missed.
    let heard: Value = serde_json::from_str(
        &lines
            .next()
            .expect("a notification")
            .expect("a line within the read timeout"),
    )
    .expect("JSON");
    assert_eq!(heard["method"], "lagged", "{heard}");
}
