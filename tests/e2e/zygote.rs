//! End-to-end tests of the fork server (issue 15): runs forked from the
//! zygote are isolated from each other, are cancelled, timed out and killed
//! like cold ones, and a zygote killed under a burst of starts is replaced
//! without losing a play.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestEnv, flow, path_arg, process_gone, wait_until};

/// The parent of process `pid`, from `/proc/PID/stat`.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn is_zygote(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| cmdline.split(|&b| b == 0).any(|arg| arg == b"zygote"))
}

/// Whether the run's process `pid` was forked by a zygote.
fn forked(pid: u32) -> bool {
    parent_of(pid).is_some_and(is_zygote)
}

/// The pid of the server's live zygote, if one runs.
fn zygote_of(server: u32) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|&pid| parent_of(pid) == Some(server) && is_zygote(pid) && !process_gone(pid))
}

fn server_zygote(env: &TestEnv) -> u32 {
    let server = env.server_pid().expect("the server's pid");
    let mut found = None;
    wait_until(
        "the server has started its zygote",
        Duration::from_secs(20),
        || {
            found = zygote_of(server);
            found.is_some()
        },
    );
    found.expect("a zygote")
}

/// Reads "<flow pid> <child pid>" written by `tests/flows/sleeper.py`.
fn sleeper_pids(pid_file: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    wait_until(
        "the flow is running and has written its pids",
        Duration::from_secs(20),
        || {
            pids = std::fs::read_to_string(pid_file)
                .map(|text| {
                    text.split_whitespace()
                        .filter_map(|pid| pid.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            pids.len() == 2
        },
    );
    pids
}

fn start_sleeper(env: &TestEnv, pid_file: &Path, seconds: f64, extra: &[&str]) -> String {
    let input = json!({"pid_file": path_arg(pid_file), "seconds": seconds}).to_string();
    let flow = path_arg(&flow("sleeper.py"));
    let mut args = vec!["play", "start", &flow, "--input", &input];
    args.extend_from_slice(extra);
    env.ok(args).trim().to_owned()
}

fn assert_gone(pids: &[u32], after: &str) {
    for &pid in pids {
        wait_until(
            &format!("process {pid} is gone after {after}"),
            Duration::from_secs(20),
            || process_gone(pid),
        );
    }
}

/// A run that comes while another runs finds no spare and gets one forked
/// then. Forked with the run's descriptors open, that child kept copies of
/// its own output pipes, and a process the flow left behind held them: the
/// play ended only when that process did.
#[test]
fn a_run_beside_another_ends_with_its_process_not_with_what_it_leaves_behind() {
    let env = TestEnv::new();
    env.start();
    server_zygote(&env);
    let pid_file = env.scratch("sleeper.pid");
    let input = json!({"pid_file": path_arg(&pid_file), "seconds": 60.0}).to_string();
    let sleeper = env.ok([
        "play",
        "start",
        &path_arg(&flow("sleeper.py")),
        "--input",
        &input,
    ]);
    sleeper_pids(&pid_file);
    let play = env.json([
        "play",
        "start",
        &path_arg(&flow("leaves_behind.py")),
        "--wait",
        "--json",
    ]);
    assert_eq!(play["status"], "success", "{play}");
    let left = play["output_data"].as_u64().expect("the pid left behind") as u32;
    let alive = !process_gone(left);
    let _ = std::process::Command::new("kill")
        .args(["-9", &left.to_string()])
        .status();
    assert!(
        alive,
        "the play ended only once the process it left behind had (pid {left})"
    );
    env.ok(["play", "cancel", sleeper.trim()]);
}

#[test]
fn a_run_that_changes_modules_globals_environment_or_folder_leaves_the_next_untouched() {
    let env = TestEnv::new();
    let mut start = env.cmd();
    start
        .env("HERO_LOGIC_PRELOAD", "colorsys, hero_meddling_preload")
        .env("PYTHONPATH", flow(""))
        .env("HERO_KEPT_FROM_START", "kept")
        .arg("start");
    let started = env.output(
        &mut start,
        "hero_logic start (preloading colorsys and a module that changes the environment)".into(),
    );
    assert_eq!(started.code, Some(0), "{started}");
    server_zygote(&env);
    let root = env.scratch("");
    let root = root.canonicalize().expect("the test's folder");
    let elsewhere = env.scratch("elsewhere");
    std::fs::create_dir(&elsewhere).expect("a folder to wander into");
    let input = json!({"folder": path_arg(&elsewhere)}).to_string();
    let flow = path_arg(&flow("meddles.py"));
    // Until two runs in a row were forked after an earlier one meddled (a
    // busy machine may send a run cold: it is checked all the same).
    let mut seen: Vec<Value> = Vec::new();
    while seen.len() < 12
        && !(seen.len() >= 3 && seen[seen.len() - 2..].iter().all(|r| r["forked"] == true))
    {
        let play = env.json([
            "play", "start", &flow, "--input", &input, "--wait", "--json",
        ]);
        assert_eq!(play["status"], "success", "{play}");
        seen.push(play["output_data"].clone());
    }
    for run in &seen {
        assert_eq!(run["module"], false, "a module an earlier run added: {run}");
        assert_eq!(
            run["global"], false,
            "json.meddled, set by an earlier run: {run}"
        );
        assert_eq!(
            run["sdk_global"], false,
            "_flow.meddled, set earlier: {run}"
        );
        assert_eq!(run["env"], Value::Null, "HERO_MEDDLED, set earlier: {run}");
        assert_eq!(
            run["preload_env"],
            Value::Null,
            "HERO_PRELOAD_MEDDLED, set by a preload: {run}"
        );
        assert_eq!(
            run["start_env"], "kept",
            "HERO_KEPT_FROM_START, given to the server and dropped by a preload: {run}"
        );
        assert_eq!(
            run["cwd"],
            path_arg(&root),
            "the folder play start ran in: {run}"
        );
        assert_eq!(
            run["preloaded"], run["forked"],
            "a forked run has colorsys: {run}"
        );
    }
    assert!(
        seen[seen.len() - 2..]
            .iter()
            .all(|run| run["forked"] == true),
        "two runs in a row forked from the zygote: {seen:?}"
    );
    let pids: std::collections::HashSet<_> = seen.iter().map(|run| &run["pid"]).collect();
    assert_eq!(pids.len(), seen.len(), "a fresh process per run: {seen:?}");
}

#[test]
fn a_forked_run_is_cancelled_with_its_process_group() {
    let env = TestEnv::new();
    env.start();
    server_zygote(&env);
    let pid_file = env.scratch("sleeper.pids");
    let sid = start_sleeper(&env, &pid_file, 30.0, &[]);
    let pids = sleeper_pids(&pid_file);
    assert!(forked(pids[0]), "the run was forked by the zygote");
    env.ok(["play", "cancel", &sid, "--yes"]);
    let out = env.run(["play", "wait", &sid, "--json"]);
    out.expect_code(3);
    assert_eq!(out.json()["status"], "cancelled", "{out}");
    assert_gone(&pids, "`play cancel`");
}

#[test]
fn a_forked_run_over_its_timeout_is_timed_out_with_its_process_group() {
    let env = TestEnv::new();
    env.start();
    server_zygote(&env);
    let pid_file = env.scratch("sleeper.pids");
    let sid = start_sleeper(&env, &pid_file, 30.0, &["--timeout", "2"]);
    let pids = sleeper_pids(&pid_file);
    assert!(forked(pids[0]), "the run was forked by the zygote");
    let out = env.run(["play", "wait", &sid, "--json"]);
    assert_eq!(out.json()["status"], "timed_out", "{out}");
    assert_gone(&pids, "the timeout");
}

#[test]
fn a_forked_run_killed_by_sigkill_is_run_again_from_its_checkpoints() {
    let env = TestEnv::new();
    env.start();
    server_zygote(&env);
    let pid_file = env.scratch("sleeper.pids");
    let sid = start_sleeper(&env, &pid_file, 3.0, &[]);
    let pids = sleeper_pids(&pid_file);
    assert!(forked(pids[0]), "the run was forked by the zygote");
    std::fs::remove_file(&pid_file).expect("the first run's pid file");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pids[0] as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("the run is killed");
    let again = sleeper_pids(&pid_file);
    assert_ne!(again[0], pids[0], "a new process runs the play again");
    let play = env.json(["play", "wait", &sid, "--json"]);
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(
        play["runs"], 2,
        "the killed run and the one after it: {play}"
    );
}

#[test]
fn a_zygote_killed_during_200_starts_is_replaced_and_every_play_succeeds() {
    const PLAYS: usize = 200;
    const CONNECTIONS: usize = 4;
    let env = TestEnv::new();
    env.ok(["workflow", "save", &path_arg(&flow("one_step.py"))]);
    env.start();
    let first = server_zygote(&env);
    let started = AtomicUsize::new(0);
    let sids: Vec<String> = std::thread::scope(|scope| {
        let starters: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                let (env, started) = (&env, &started);
                scope.spawn(move || {
                    (0..PLAYS / CONNECTIONS)
                        .map(|i| {
                            let request = json!({"jsonrpc": "2.0", "id": 1, "method": "play_start",
                                "params": {"workflow_sid": "one_step", "input_data": {"i": c * 1000 + i}}});
                            let reply = env.wire(&request.to_string());
                            started.fetch_add(1, Ordering::Relaxed);
                            reply["result"]["sid"]
                                .as_str()
                                .unwrap_or_else(|| panic!("no play started: {reply}"))
                                .to_owned()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        wait_until(
            "a tenth of the plays have started",
            Duration::from_secs(60),
            || started.load(Ordering::Relaxed) >= PLAYS / 10,
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(first as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .expect("the zygote is killed");
        starters
            .into_iter()
            .flat_map(|s| s.join().expect("a starter"))
            .collect()
    });
    assert_eq!(sids.len(), PLAYS);
    for sid in &sids {
        let play = env.json(["play", "wait", sid, "--json"]);
        assert_eq!(play["status"], "success", "{play}");
        let i = play["input_data"]["i"].as_u64().expect("the input");
        assert_eq!(play["output_data"], json!(i + 1), "{play}");
    }
    let server = env.server_pid().expect("the server's pid");
    wait_until(
        "a new zygote has replaced the killed one",
        Duration::from_secs(20),
        || zygote_of(server).is_some_and(|pid| pid != first),
    );
}

#[test]
fn a_wedged_zygote_is_replaced_and_the_run_starts_cold_meanwhile() {
    let env = TestEnv::new();
    env.start();
    let flow_file = path_arg(&flow("meddles.py"));
    let input = json!({"folder": "/"}).to_string();
    let forked_run = || {
        let play = env.json([
            "play", "start", &flow_file, "--input", &input, "--wait", "--json",
        ]);
        play["output_data"]["forked"] == true
    };
    wait_until(
        "a run is forked by the zygote",
        Duration::from_secs(60),
        forked_run,
    );
    let wedged = server_zygote(&env);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(wedged as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .expect("the zygote is stopped");
    // The spare it had forked before it stopped takes the first run from
    // the server itself; the next run needs the zygote, which does not
    // answer in time: that run starts cold and the zygote is replaced.
    for i in [41, 42] {
        let play = env.json([
            "play",
            "start",
            &path_arg(&flow("one_step.py")),
            "--input",
            &json!({"i": i}).to_string(),
            "--wait",
            "--json",
        ]);
        assert_eq!(play["status"], "success", "{play}");
        assert_eq!(play["output_data"], i + 1);
    }
    assert_gone(&[wedged], "the zygote failed to fork in time");
    let server = env.server_pid().expect("the server's pid");
    wait_until(
        "a run is forked by a new zygote",
        Duration::from_secs(60),
        || forked_run() && zygote_of(server).is_some_and(|pid| pid != wedged),
    );
}

#[test]
fn a_forked_run_ends_like_python_flushing_open_files_and_running_atexit() {
    let env = TestEnv::new();
    env.start();
    server_zygote(&env);
    let folder = env.scratch("out");
    std::fs::create_dir(&folder).expect("a folder for the flow");
    let input = json!({"folder": path_arg(&folder)}).to_string();
    let flow_file = path_arg(&flow("leaves_open.py"));
    let meddles = path_arg(&flow("meddles.py"));
    let here = json!({"folder": "/"}).to_string();
    wait_until(
        "a run is forked by the zygote",
        Duration::from_secs(60),
        || {
            let play = env.json([
                "play", "start", &meddles, "--input", &here, "--wait", "--json",
            ]);
            play["output_data"]["forked"] == true
        },
    );
    let play = env.json([
        "play", "start", &flow_file, "--input", &input, "--wait", "--json",
    ]);
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(
        std::fs::read_to_string(folder.join("unflushed.txt")).expect("the file"),
        "written, never closed"
    );
    assert_eq!(
        std::fs::read_to_string(folder.join("atexit.txt")).expect("the atexit file"),
        "atexit ran"
    );
}

/// The server sends a run to the zygote's spare itself; a spare that died
/// before its run makes the run go to the zygote, which forks its child.
#[test]
fn a_run_whose_spare_was_killed_is_forked_by_the_zygote() {
    let env = TestEnv::new();
    env.start();
    let zygote = server_zygote(&env);
    let flow_file = path_arg(&flow("meddles.py"));
    let input = json!({"folder": "/"}).to_string();
    for round in 0..3 {
        let mut spares = Vec::new();
        wait_until(
            "the zygote has forked a spare child",
            Duration::from_secs(20),
            || {
                spares = std::fs::read_dir("/proc")
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                    .filter(|&pid| parent_of(pid) == Some(zygote) && !process_gone(pid))
                    .collect();
                !spares.is_empty()
            },
        );
        for &spare in &spares {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(spare as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let play = env.json([
            "play", "start", &flow_file, "--input", &input, "--wait", "--json",
        ]);
        assert_eq!(play["status"], "success", "round {round}: {play}");
        assert_eq!(
            play["output_data"]["forked"], true,
            "round {round}: forked by the zygote, not started cold: {play}"
        );
    }
    assert!(!process_gone(zygote), "the same zygote serves on");
}

/// The zygote forks each run's child ahead of the run (a spare); a spare
/// whose zygote is killed must not outlive it, waiting forever for a run.
#[test]
fn a_spare_child_goes_with_its_killed_zygote() {
    let env = TestEnv::new();
    env.start();
    let zygote = server_zygote(&env);
    let children = || -> Vec<u32> {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| parent_of(pid) == Some(zygote) && !process_gone(pid))
            .collect()
    };
    let mut spares = Vec::new();
    wait_until(
        "the zygote has forked a spare child",
        Duration::from_secs(20),
        || {
            spares = children();
            !spares.is_empty()
        },
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(zygote as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("the zygote is killed");
    wait_until(
        "the killed zygote's spare has exited",
        Duration::from_secs(20),
        || spares.iter().all(|&pid| process_gone(pid)),
    );
    let play = env.json([
        "play",
        "start",
        &path_arg(&flow("one_step.py")),
        "--input",
        r#"{"i": 1}"#,
        "--wait",
        "--json",
    ]);
    assert_eq!(play["output_data"], json!(2), "{play}");
}

#[test]
fn runs_of_a_flow_the_zygote_compiled_ahead_report_the_same_lines() {
    // The first run's child was forked before the zygote compiled the
    // file; the later ones run its compiled copy and its source lines.
    let env = TestEnv::new();
    let fails = path_arg(&flow("fails.py"));
    let runs: Vec<Value> = (0..3)
        .map(|_| {
            let out = env.run(["play", "start", &fails, "--wait", "--json"]);
            out.expect_code(1);
            out.json()
        })
        .collect();
    let traceback = |play: &Value| {
        let error = play["error"].as_str().unwrap_or_default().to_owned();
        // The play's own sid and paths aside, every run says the same.
        assert!(
            error.contains(r#"raise ValueError(f"boom: {reason}")"#),
            "the traceback shows the line that raised:\n{error}"
        );
        error
    };
    let first = traceback(&runs[0]);
    for play in &runs[1..] {
        assert_eq!(traceback(play), first);
        let sid = play["sid"].as_str().expect("a sid");
        let spans = env.rpc("play_spans", json!({"play_sid": sid}));
        let lines: Vec<_> = spans
            .as_array()
            .expect("spans")
            .iter()
            .map(|s| (s["name"].clone(), s["source_line"].clone()))
            .collect();
        assert_eq!(
            lines,
            vec![(json!("main"), json!(11)), (json!("explode"), json!(6))],
            "{spans}"
        );
    }
}

#[test]
fn a_forked_run_that_tells_its_exit_and_goes_on_is_killed_there() {
    let env = TestEnv::new();
    let pid_file = env.scratch("false_exit.pid");
    let marker = env.scratch("false_exit.marker");
    let input = json!({"pid_file": path_arg(&pid_file), "marker": path_arg(&marker)}).to_string();
    let flow = path_arg(&flow("false_exit.py"));
    // A busy machine may start a run cold, which has no such socket: try
    // again until one was forked.
    for _ in 0..5 {
        let _ = std::fs::remove_file(&pid_file);
        let out = env.run([
            "play", "start", &flow, "--input", &input, "--wait", "--json",
        ]);
        let said = std::fs::read_to_string(&pid_file).expect("the flow wrote its pid");
        let (pid, how) = said.split_once(' ').expect("pid and how");
        if how != "forked" {
            continue;
        }
        let play = out.json();
        assert_eq!(play["status"], "failed", "{play}");
        let pid: u32 = pid.parse().expect("a pid");
        wait_until("the run's process is gone", Duration::from_secs(20), || {
            process_gone(pid)
        });
        assert!(
            !marker.exists(),
            "the run went on after it said it had exited"
        );
        return;
    }
    panic!("no run was forked in 5 tries");
}
