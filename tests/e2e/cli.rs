//! End-to-end tests of the `hero_logic` binary: a real server on a private
//! socket folder, real Python flows from `tests/flows/`, and assertions on
//! exit codes, stdout, stderr and the store.
//!
//! Each test owns a [`TestEnv`], so they all run in parallel. None of them
//! sleeps to synchronise; they wait on conditions with a deadline.

use crate::common;

use std::collections::HashSet;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestEnv, flow, process_gone, repo_path, wait_until};

/// How long a killed flow process may take to disappear.
const GONE_WITHIN: Duration = Duration::from_secs(10);

fn path_arg(path: &std::path::Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}

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

/// Whether `text` holds `number` as a whole number, not inside another.
fn mentions_number(text: &str, number: u64) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|word| word == number.to_string())
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

// ---------------------------------------------------------------------------
// Running flows.

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
fn a_lone_flow_polls_for_its_checkpoints_answers_and_flows_that_share_the_cores_do_not() {
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
    let alone = polled(&env);
    if cores >= 2 {
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

// ---------------------------------------------------------------------------
// The server: lifecycle, manifest, sockets, one server per data folder.

#[test]
fn start_status_stop_and_autostart() {
    let env = TestEnv::new();
    assert_eq!(
        env.status()["running"],
        false,
        "no server before the first command"
    );

    // With autostart off, a client command fails and starts nothing.
    let mut cmd = env.cmd();
    cmd.args(["workflow", "list"])
        .env("HERO_LOGIC_NO_AUTOSTART", "1");
    let out = env.output(
        &mut cmd,
        "HERO_LOGIC_NO_AUTOSTART=1 hero_logic workflow list".into(),
    );
    assert!(out.code.is_some_and(|c| c != 0), "{out}");
    assert!(out.stderr.starts_with("error: "), "{out}");
    assert_eq!(env.status()["running"], false);

    // Any client command starts the server.
    assert_eq!(env.json(["workflow", "list", "--json"]), json!([]));
    let status = env.status();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(
        status["pid"].as_u64(),
        env.server_pid().map(u64::from),
        "{status}"
    );
    assert_eq!(status["socket"], path_arg(&env.socket()));
    assert_eq!(status["data_dir"], path_arg(&env.data_dir));
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert!(status["uptime_s"].is_number(), "{status}");

    env.stop();
    assert_eq!(env.status()["running"], false);

    // `--start` and `--stop` are aliases of the subcommands.
    env.ok(["--start"]);
    assert_eq!(env.status()["running"], true);
    let pid = env.server_pid().expect("the lock file names the server");
    env.ok(["--stop"]);
    wait_until("the server has exited after --stop", GONE_WITHIN, || {
        process_gone(pid)
    });
    assert_eq!(env.status()["running"], false);

    env.start();
    assert_eq!(env.status()["running"], true);
}

#[test]
fn info_flag_prints_the_manifest_and_info_check_finds_no_issues() {
    let env = TestEnv::new();
    let info = env.json(["--info"]);
    assert_eq!(info["name"], "hero_logic");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    for key in ["kind", "description", "sockets", "env", "build_nr"] {
        assert!(info.get(key).is_some(), "--info has `{key}`: {info}");
    }
    let declared: Vec<&str> = info["env"]
        .as_array()
        .expect("env is an array")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    for var in [
        "HERO_SOCKET_DIR",
        "HERO_LOGIC_DATA_DIR",
        "HERO_LOGIC_PYTHON",
        "HERO_LOGIC_NO_AUTOSTART",
    ] {
        assert!(
            declared.contains(&var),
            "the manifest declares {var}: {declared:?}"
        );
    }

    let check = env.ok(["info", "check"]);
    assert!(check.contains("0 issues"), "{check}");

    // The server's `info` method is the manifest plus live facts.
    let live = env.rpc("info", json!({}));
    assert_eq!(live["name"], "hero_logic");
    assert_eq!(live["pid"].as_u64(), env.server_pid().map(u64::from));
    assert_eq!(live["socket"], path_arg(&env.socket()));
    assert_eq!(live["data_dir"], path_arg(&env.data_dir));
}

#[test]
fn rpc_discover_lists_every_method() {
    let env = TestEnv::new();
    let doc = env.rpc("rpc.discover", json!({}));
    let methods: HashSet<&str> = doc["methods"]
        .as_array()
        .unwrap_or_else(|| panic!("an OpenRPC document has `methods`: {doc}"))
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    for method in [
        "info",
        "workflow_save",
        "workflow_get",
        "workflow_list",
        "workflow_source",
        "play_start",
        "play_get",
        "play_list",
        "play_wait",
        "play_spans",
        "play_logs",
        "play_cancel",
        "server_shutdown",
    ] {
        assert!(
            methods.contains(method),
            "rpc.discover lists {method}: {methods:?}"
        );
    }
}

#[test]
fn the_server_banner_names_the_socket_and_the_data_folder() {
    let env = TestEnv::new();
    let mut child = env
        .std_cmd()
        .arg("server")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("`hero_logic server` starts");
    // Both streams are read on threads into one buffer, so that neither pipe
    // fills up and the banner may be on either.
    let seen = Arc::new(Mutex::new(String::new()));
    let readers: Vec<_> = [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ]
    .into_iter()
    .map(|stream| {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stream)
                .lines()
                .map_while(Result::ok)
            {
                let mut seen = seen.lock().expect("the buffer");
                seen.push_str(&line);
                seen.push('\n');
            }
        })
    })
    .collect();

    let socket = path_arg(&env.socket());
    let data = path_arg(&env.data_dir);
    let banner = || seen.lock().expect("the buffer").clone();
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(
            "the banner names the socket and the data folder",
            Duration::from_secs(20),
            || {
                let text = banner();
                text.contains(&socket) && text.contains(&data)
            },
        );
    }));
    let _ = env.run(["stop"]);
    let _ = child.kill();
    let _ = child.wait();
    for reader in readers {
        let _ = reader.join();
    }
    assert!(
        found.is_ok(),
        "the banner of `hero_logic server` should name {socket} and {data}; it printed:\n{}",
        banner()
    );
}

#[test]
fn a_second_server_on_the_same_data_folder_is_refused_naming_the_first_pid() {
    let env = TestEnv::new();
    env.start();
    let pid = env.status()["pid"]
        .as_u64()
        .expect("a running server's pid");

    let mut cmd = env.cmd();
    cmd.arg("server")
        .env("HERO_SOCKET_DIR", env.scratch("other_sock"))
        .timeout(Duration::from_secs(15));
    let out = env.output(
        &mut cmd,
        "HERO_SOCKET_DIR=other_sock hero_logic server".into(),
    );
    assert!(
        out.code.is_some_and(|c| c != 0),
        "the second server is refused:\n{out}"
    );
    assert!(
        mentions_number(&out.stderr, pid),
        "the refusal on stderr names the first server's pid {pid}:\n{out}"
    );
    assert!(out.stderr.contains("error: "), "{out}");

    // The first server is untouched.
    let status = env.status();
    assert_eq!(status["running"], true);
    assert_eq!(status["pid"].as_u64(), Some(pid));
}

#[test]
fn a_second_server_on_a_live_socket_is_refused_naming_the_first_pid() {
    let env = TestEnv::new();
    env.start();
    let pid = env.status()["pid"]
        .as_u64()
        .expect("a running server's pid");

    let mut cmd = env.cmd();
    cmd.arg("server")
        .env("HERO_LOGIC_DATA_DIR", env.scratch("other_data"))
        .timeout(Duration::from_secs(15));
    let out = env.output(
        &mut cmd,
        "HERO_LOGIC_DATA_DIR=other_data hero_logic server".into(),
    );
    assert!(
        out.code.is_some_and(|c| c != 0),
        "the second server is refused:\n{out}"
    );
    assert!(
        mentions_number(&out.stderr, pid),
        "the refusal on stderr names the first server's pid {pid}:\n{out}"
    );
    assert!(env.socket().exists(), "the live socket is left alone");
    assert_eq!(env.rpc("info", json!({}))["pid"].as_u64(), Some(pid));
}

#[test]
fn a_stale_socket_is_removed_and_the_server_starts() {
    let env = TestEnv::new();
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&env.socket_dir)
        .expect("the socket folder");
    // A socket file that nobody listens on, as a killed server leaves.
    drop(std::os::unix::net::UnixListener::bind(env.socket()).expect("bind"));
    let kind = std::fs::symlink_metadata(env.socket())
        .expect("the stale socket")
        .file_type();
    assert!(kind.is_socket());

    env.start();
    let status = env.status();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(env.rpc("info", json!({}))["pid"], status["pid"]);
}

#[test]
fn the_socket_is_mode_600_in_a_folder_of_mode_700() {
    let env = TestEnv::new();
    env.start();
    let socket = std::fs::metadata(env.socket()).expect("the socket");
    assert!(socket.file_type().is_socket());
    assert_eq!(socket.permissions().mode() & 0o777, 0o600, "socket mode");
    let folder = std::fs::metadata(&env.socket_dir).expect("the socket folder");
    assert_eq!(
        folder.permissions().mode() & 0o777,
        0o700,
        "socket folder mode"
    );
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    for args in [
        &["frobnicate"][..],
        &["play", "start"],
        &["play", "start", "x", "--timeout", "soon"],
    ] {
        let out = env.run(args);
        out.expect_code(2);
        assert!(out.stderr.starts_with("error: "), "{out}");
    }
    assert!(!env.socket().exists(), "a usage error starts no server");
}

// ---------------------------------------------------------------------------
// Bad input: a clear error, a non-zero exit, nothing stored.

/// One bad request of a table: what it is, and how to send it and judge
/// the refusal (apart from the store, which the table checks).
trait BadCase: Sync {
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
fn refused_without_storing(template: &TestEnv, cases: &[impl BadCase]) -> Vec<String> {
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
struct BadInput {
    what: &'static str,
    args: Vec<String>,
    /// The exact exit code, where the SPEC fixes it; else any non-zero one.
    code: Option<i32>,
    /// Each must appear in stderr, ignoring case.
    stderr_has: &'static [&'static str],
}

fn bad(
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

// ---------------------------------------------------------------------------
// What ships beside the binary.

#[test]
fn the_hello_example_runs_to_success() {
    let env = TestEnv::new();
    // run.sh finds its flow next to itself, so it may run from anywhere; the
    // server starts by itself on the first command.
    let mut run = env.command("bash");
    run.arg(repo_path("examples/hello/run.sh"))
        .arg("Ada")
        .env("HERO_LOGIC", common::BIN);
    // As a newcomer runs it: with the interpreter they configured, if any,
    // not the one the harness resolved for speed.
    match std::env::var_os("HERO_LOGIC_PYTHON") {
        Some(python) => run.env("HERO_LOGIC_PYTHON", python),
        None => run.env_remove("HERO_LOGIC_PYTHON"),
    };
    let out = env.output(
        &mut run,
        "HERO_LOGIC=target/.../hero_logic bash examples/hello/run.sh Ada".into(),
    );
    out.expect_code(0);
    let play = out.json();
    assert_eq!(play["status"], "success", "{out}");
    assert_eq!(
        play["output_data"],
        json!({"greeting": "Hello, Ada!", "letters": 3, "vowels": 2})
    );
}

#[test]
fn sdk_path_points_at_the_sdk_shipped_in_the_binary() {
    let env = TestEnv::new();
    let printed = env.ok(["sdk", "path"]);
    // The folder to put on PYTHONPATH, which holds the package.
    let package = std::path::PathBuf::from(printed.trim()).join("hero_tracing");
    let source = repo_path("sdk/python/hero_tracing");
    let modules = |folder: &std::path::Path| -> Vec<String> {
        let entries = std::fs::read_dir(folder).unwrap_or_else(|e| {
            panic!(
                "`sdk path` printed {printed:?}, but {} cannot be read: {e}",
                folder.display()
            )
        });
        let mut names: Vec<String> = entries
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".py"))
            .collect();
        names.sort();
        names
    };
    let names = modules(&source);
    assert!(!names.is_empty(), "the SDK's source has Python files");
    assert_eq!(
        modules(&package),
        names,
        "the package shipped is the SDK's source, file by file"
    );
    for name in names {
        let shipped = std::fs::read_to_string(package.join(&name)).expect("a shipped file");
        let expected = std::fs::read_to_string(source.join(&name)).expect("the SDK source");
        assert!(
            shipped == expected,
            "{} is not sdk/python/hero_tracing/{name}",
            package.join(&name).display()
        );
    }
}

#[test]
fn a_reader_that_goes_away_ends_a_command_quietly() {
    let env = TestEnv::new();
    for args in [
        vec!["--info"],
        vec!["completions", "bash"],
        vec!["workflow", "list", "--json"],
    ] {
        // A pipe whose reader is gone before the command writes a byte:
        // every write to it fails, as `| head` makes the writes after its
        // first lines fail.
        let (reader, writer) = nix::unistd::pipe().expect("a pipe");
        drop(reader);
        let out = env
            .std_cmd()
            .args(&args)
            .stdout(std::process::Stdio::from(writer))
            .output()
            .expect("hero_logic runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn committed_completions_are_up_to_date() {
    let env = TestEnv::new();
    let mut stale = Vec::new();
    for (shell, file) in [
        ("bash", "completions/hero_logic.bash"),
        ("zsh", "completions/_hero_logic"),
        ("fish", "completions/hero_logic.fish"),
    ] {
        let generated = env.ok(["completions", shell]);
        let Ok(committed) = std::fs::read_to_string(repo_path(file)) else {
            stale.push((format!("{file} is missing"), shell, file));
            continue;
        };
        if generated != committed {
            let line = generated
                .lines()
                .zip(committed.lines())
                .position(|(g, c)| g != c)
                .unwrap_or_else(|| generated.lines().count().min(committed.lines().count()))
                + 1;
            stale.push((format!("{file} differs from line {line} on"), shell, file));
        }
    }
    assert!(
        stale.is_empty(),
        "the committed shell completions are stale:\n  {}\nregenerate them with:\n  {}",
        stale
            .iter()
            .map(|(why, _, _)| why.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        stale
            .iter()
            .map(|(_, shell, file)| format!("cargo run -- completions {shell} > {file}"))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}
