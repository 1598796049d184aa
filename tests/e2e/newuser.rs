//! End-to-end tests of what a new user meets in the first hour (issue 17)
//! and of workflow names tied to their file (issue 11, item 13): a second
//! `flow.py` under a taken name, an unknown input, the interactive
//! `resume` loop, `play list`'s cut, completions from the running server,
//! and the autostart notice.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{BIN, TestEnv, flow, flow_source, repo_path};
use crate::tmux::Session;

/// How long a pane may take to show what a key asked for.
const SCREEN_WITHIN: Duration = Duration::from_secs(30);

/// `hero_logic ARGS` in a private tmux server's detached pane, with the
/// test's folders in its environment and no autostart; the shell prints
/// `exited N` once it ends.
struct Pane {
    session: Session,
}

impl Pane {
    /// `hero_logic ARGS` in the pane.
    fn start(env: &TestEnv, args: &[&str], extra_env: &[&str]) -> Pane {
        let mut command = vec!["sh", "-c", r#""$0" "$@"; echo "exited $?""#, BIN];
        command.extend_from_slice(args);
        Pane::program(env, &command, extra_env)
    }

    /// Any program in the pane, e.g. an interactive shell.
    fn program(env: &TestEnv, program: &[&str], extra_env: &[&str]) -> Pane {
        Pane {
            session: Session::start(env, 120, 40, extra_env, program),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.session.run(args)
    }

    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "hl"];
        args.extend_from_slice(keys);
        let out = self.run(&args);
        assert!(out.status.success(), "send-keys {keys:?}: {out:?}");
    }

    /// The pane with its whole history.
    fn text(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-J", "-S", "-", "-t", "hl"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the pane shows every one of `texts`; returns it.
    fn wait_for(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + SCREEN_WITHIN;
        loop {
            let screen = self.text();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the pane did not show {texts:?} within {SCREEN_WITHIN:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A flow of one step, its main named by `@flow(name=...)` when `name` is
/// given, written to `dir/file` under the test's folder.
fn write_flow(env: &TestEnv, dir: &str, file: &str, name: Option<&str>, body: &str) -> PathBuf {
    let folder = env.scratch(dir);
    std::fs::create_dir_all(&folder).expect("a flow folder");
    let decorator = match name {
        Some(n) => format!("@flow(name=\"{n}\")"),
        None => "@flow".to_owned(),
    };
    let path = folder.join(file);
    std::fs::write(
        &path,
        format!(
            "from hero_tracing import flow\n\n\n{decorator}\ndef main(count: int = 1, label: str = \"x\"):\n    return {body}\n"
        ),
    )
    .expect("a flow file");
    path
}

fn s(path: &Path) -> String {
    path.display().to_string()
}

fn versions(env: &TestEnv, name: &str) -> usize {
    env.json(["workflow", "show", name, "--json"])["versions"]
        .as_array()
        .expect("versions")
        .len()
}

#[test]
fn a_second_file_under_a_taken_name_is_refused_and_stores_nothing() {
    let env = TestEnv::new();
    let first = write_flow(&env, "a", "flow.py", None, "count");
    let second = write_flow(&env, "b", "flow.py", None, "count * 2");
    env.ok(["workflow", "save", &s(&first)]);
    env.stop();
    let before = env.store_dump();

    for args in [
        vec!["workflow", "save", &s(&second)],
        vec!["play", "start", &s(&second)],
    ] {
        let out = env.run(&args);
        out.expect_code(1);
        let first_real = s(&std::fs::canonicalize(&first).expect("a real path"));
        let second_real = s(&std::fs::canonicalize(&second).expect("a real path"));
        assert!(
            out.stderr.contains("error: workflow `flow` was saved from")
                && out.stderr.contains(&first_real)
                && out.stderr.contains(&second_real),
            "the error names both files:\n{out}"
        );
        assert!(
            out.stderr.contains("hint:")
                && out.stderr.contains("--name")
                && out.stderr.contains("--replace"),
            "the hint offers --name and --replace:\n{out}"
        );
    }
    env.stop();
    assert_eq!(before, env.store_dump(), "a refused save stores nothing");
}

#[test]
fn replace_and_the_same_file_make_new_versions() {
    let env = TestEnv::new();
    let first = write_flow(&env, "a", "flow.py", None, "count");
    let second = write_flow(&env, "b", "flow.py", None, "count * 2");
    env.ok(["workflow", "save", &s(&first)]);
    // The same file with new content is the workflow's next version.
    write_flow(&env, "a", "flow.py", None, "count + 1");
    env.ok(["workflow", "save", &s(&first)]);
    assert_eq!(versions(&env, "flow"), 2);

    env.ok(["workflow", "save", &s(&second), "--replace"]);
    assert_eq!(versions(&env, "flow"), 3);
    let shown = env.json(["workflow", "show", "flow", "--json"]);
    let second_real = s(&std::fs::canonicalize(&second).expect("a real path"));
    assert_eq!(shown["source_path"], json!(second_real), "{shown}");

    // `play start --replace` hands the workflow back to the first file.
    let play = env.json([
        "play",
        "start",
        &s(&first),
        "--replace",
        "--input",
        r#"{"count": 4}"#,
        "--wait",
        "--json",
    ]);
    assert_eq!(play["output_data"], json!(5), "{play}");
    assert_eq!(versions(&env, "flow"), 3, "a known source adds no version");
}

#[test]
fn a_workflow_is_named_by_name_flag_then_decorator_then_stem() {
    let env = TestEnv::new();
    let named = write_flow(&env, "a", "flow.py", Some("greeter"), "count");
    let saved = env.json(["workflow", "save", &s(&named), "--json"]);
    assert_eq!(saved["name"], "greeter", "{saved}");
    let saved = env.json(["workflow", "save", &s(&named), "--name", "other", "--json"]);
    assert_eq!(saved["name"], "other", "{saved}");
    let plain = write_flow(&env, "b", "tally.py", None, "count");
    let saved = env.json(["workflow", "save", &s(&plain), "--json"]);
    assert_eq!(saved["name"], "tally", "{saved}");
    // `play start FILE.py --name N` names the workflow it saves, too.
    let other = write_flow(&env, "c", "flow.py", None, "count");
    let play = env.json(["play", "start", &s(&other), "--name", "third", "--json"]);
    let workflow = env.json(["workflow", "show", "third", "--json"]);
    assert_eq!(play["workflow_sid"], workflow["sid"], "{play}");
}

#[test]
fn every_example_has_its_own_name() {
    let env = TestEnv::new();
    let mut names = Vec::new();
    for file in [
        "examples/hello/flow.py",
        "examples/approve/flow.py",
        "examples/multi_pause/flow.py",
        "examples/compose/flow.py",
        "examples/compose/pack.py",
        "examples/compose/ship.py",
    ] {
        let saved = env.json(["workflow", "save", &s(&repo_path(file)), "--json"]);
        names.push(saved["name"].as_str().expect("a name").to_owned());
    }
    assert_eq!(
        names,
        ["hello", "approve", "multi_pause", "compose", "pack", "ship"]
    );
    let list: Vec<Value> = serde_json::from_value(env.json(["workflow", "list", "--json"]))
        .expect("a list of workflows");
    assert_eq!(list.len(), 6);
}

// ---------------------------------------------------------------------------
// 1. An unknown input key is refused before anything is stored.

#[test]
fn an_unknown_input_is_refused_with_main_inputs_and_the_closest_name() {
    let env = TestEnv::new();
    let hello = s(&repo_path("examples/hello/flow.py"));
    let out = env.run(["play", "start", &hello, "--input", r#"{"nam": "Ada"}"#]);
    out.expect_code(1);
    assert!(
        out.stderr
            .contains("error: input_data has `nam`, not an input of workflow `hello`'s main"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("hint: did you mean `name` for `nam`? main takes name?: str"),
        "{out}"
    );
    assert_eq!(env.json(["play", "list", "--json"]), json!([]), "no play");

    // By name, the whole store is left as it was.
    let flow = write_flow(&env, "a", "counter.py", None, "count");
    env.ok(["workflow", "save", &s(&flow)]);
    env.stop();
    let before = env.store_dump();
    let out = env.run([
        "play",
        "start",
        "counter",
        "--input",
        r#"{"count": 2, "zzz": 1}"#,
    ]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("`zzz`")
            && out.stderr.contains("main takes count?: int, label?: str")
            && !out.stderr.contains("did you mean"),
        "no guess when nothing is close:\n{out}"
    );
    env.stop();
    assert_eq!(before, env.store_dump(), "a refused start stores nothing");
}

#[test]
fn a_main_with_keyword_arguments_takes_any_input() {
    let env = TestEnv::new();
    let path = env.scratch("open.py");
    std::fs::write(&path, flow_source("any_input.py")).expect("a flow file");
    let play = env.json([
        "play",
        "start",
        &s(&path),
        "--input",
        r#"{"anything": 1}"#,
        "--wait",
        "--json",
    ]);
    assert_eq!(play["output_data"], json!({"anything": 1}), "{play}");
}

// ---------------------------------------------------------------------------
// 5. An autostarted server is announced once.

#[test]
fn an_autostarted_server_is_announced_once_on_stderr() {
    let env = TestEnv::new();
    let first = env.run(["play", "list", "--json"]);
    first.expect_code(0);
    let pid = env.server_pid().expect("a server runs");
    let line = format!(
        "started hero_logic server (pid {pid}) on {}",
        env.socket().display()
    );
    assert_eq!(
        first.stderr.matches(&line).count(),
        1,
        "the first command announces the server once:\n{first}"
    );
    assert_eq!(first.stdout.trim(), "[]", "stdout stays data:\n{first}");
    let second = env.run(["play", "list", "--json"]);
    assert!(
        !second.stderr.contains("started hero_logic server"),
        "{second}"
    );
}

// ---------------------------------------------------------------------------
// 3. A cut `play list` says so.

#[test]
fn a_cut_play_list_says_how_many_it_left_out() {
    let env = TestEnv::new();
    let one = write_flow(&env, "a", "one.py", None, "count");
    let two = write_flow(&env, "b", "two.py", None, "count");
    let mut sids = Vec::new();
    for _ in 0..4 {
        sids.push(env.ok(["play", "start", &s(&one)]).trim().to_owned());
    }
    sids.push(env.ok(["play", "start", &s(&two)]).trim().to_owned());

    let out = env.run(["play", "list", "--limit", "3"]);
    out.expect_code(0);
    assert!(
        out.stderr.contains("3 of 5 shown (--limit N for more)"),
        "{out}"
    );
    assert_eq!(
        out.stdout.trim().lines().count(),
        4,
        "a header and 3 rows:\n{out}"
    );

    let out = env.run(["play", "list", "--limit", "2", "--workflow", "one"]);
    assert!(out.stderr.contains("2 of 4 shown"), "{out}");

    for sid in &sids {
        env.run(["play", "wait", sid]).expect_code(0);
    }
    let out = env.run(["play", "list", "--limit", "1", "--status", "success"]);
    assert!(out.stderr.contains("1 of 5 shown"), "{out}");
    let out = env.run([
        "play",
        "list",
        "--limit",
        "1",
        "--status",
        "success",
        "--workflow",
        "one",
    ]);
    assert!(out.stderr.contains("1 of 4 shown"), "{out}");

    let out = env.run(["play", "list", "--limit", "3", "--json"]);
    out.expect_code(0);
    assert_eq!(out.json().as_array().expect("an array").len(), 3);
    assert!(!out.stderr.contains("shown"), "never with --json:\n{out}");

    for args in [
        vec!["play", "list"],
        vec!["play", "list", "--limit", "5"],
        vec!["play", "list", "--limit", "0"],
    ] {
        let out = env.run(&args);
        assert!(!out.stderr.contains("shown"), "nothing was cut:\n{out}");
        assert_eq!(out.stdout.trim().lines().count(), 6, "{out}");
    }
}

// ---------------------------------------------------------------------------
// 2. `resume SID` follows the play through its questions.

/// Starts `file` with `input` and returns its sid once it waits.
fn paused(env: &TestEnv, file: &Path, input: Value) -> String {
    let sid = env
        .ok(["play", "start", &s(file), "--input", &input.to_string()])
        .trim()
        .to_owned();
    env.run(["play", "wait", &sid]).expect_code(75);
    sid
}

#[test]
fn resume_follows_the_play_through_every_question_to_its_end() {
    let env = TestEnv::new();
    let tally = env.scratch("tally.txt");
    let sid = paused(
        &env,
        &repo_path("examples/multi_pause/flow.py"),
        json!({"tally": s(&tally)}),
    );
    let pane = Pane::start(&env, &["resume", &sid], &[]);
    pane.wait_for(&["Who is this for?"]);
    pane.send(&["Ada", "Enter"]);
    pane.wait_for(&["name = \"Ada\"", "Which size?"]);
    pane.send(&["Down"]);
    pane.send(&["Down"]);
    pane.send(&["Enter"]);
    pane.wait_for(&["size = \"large\"", "How many?"]);
    pane.send(&["3", "Enter"]);
    let screen = pane.wait_for(&["exited 0"]);
    assert!(
        screen.contains(&format!("{sid} ✔ success multi_pause")),
        "the final status is printed:\n{screen}"
    );
    let play = env.json(["play", "show", &sid, "--json"]);
    assert_eq!(
        play["output_data"],
        json!({"name": "Ada", "size": "large", "count": 3}),
        "{play}"
    );
    let lines = std::fs::read_to_string(&tally).expect("the tally");
    assert_eq!(lines.lines().count(), 4, "each step once:\n{lines}");
}

#[test]
fn resume_once_answers_what_is_open_and_leaves() {
    let env = TestEnv::new();
    let tally = env.scratch("tally.txt");
    let sid = paused(
        &env,
        &repo_path("examples/multi_pause/flow.py"),
        json!({"tally": s(&tally)}),
    );
    let pane = Pane::start(&env, &["resume", &sid, "--once"], &[]);
    pane.wait_for(&["Who is this for?"]);
    pane.send(&["Ada", "Enter"]);
    let screen = pane.wait_for(&["exited 0"]);
    assert!(!screen.contains("Which size?"), "{screen}");
    env.run(["play", "wait", &sid]).expect_code(75);
    let open = env.json(["pending", &sid, "--json"]);
    assert_eq!(open[0]["name"], "size", "{open}");
}

#[test]
fn resume_ends_at_a_machine_pause_with_how_to_answer_it() {
    let env = TestEnv::new();
    let sid = paused(&env, &flow("then_machine.py"), json!({}));
    let pane = Pane::start(&env, &["resume", &sid], &[]);
    pane.wait_for(&["Who signs?"]);
    pane.send(&["Bo", "Enter"]);
    let screen = pane.wait_for(&["exited 75"]);
    let open = env.json(["pending", &sid, "--json"]);
    let id = open[0]["id"].as_str().expect("an id");
    assert!(
        screen.contains(&format!(
            "receipt waits for a machine answer (webhook, signal): hero_logic resume {sid} {id} JSON"
        )),
        "{screen}"
    );
}

// ---------------------------------------------------------------------------
// 4. Completions from the running server.

/// What `shell` gets for the last of `words` (the word being completed).
fn candidates(env: &TestEnv, shell: &str, words: &[&str]) -> Vec<String> {
    let mut cmd = env.cmd();
    cmd.env("COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(words);
    let out = env.output(
        &mut cmd,
        format!("COMPLETE={shell} hero_logic -- {words:?}"),
    );
    out.expect_code(0);
    out.stdout.lines().map(str::to_owned).collect()
}

/// Two plays: `hello` ended, `then_machine` (newer) waits on a question.
/// Returns (older, newer, the newer's pause id).
fn two_plays(env: &TestEnv) -> (String, String, String) {
    let hello = s(&repo_path("examples/hello/flow.py"));
    let older = env.ok(["play", "start", &hello, "--wait"]);
    let older = older.split_whitespace().next().expect("a sid").to_owned();
    let newer = paused(env, &flow("then_machine.py"), json!({}));
    let open = env.json(["pending", &newer, "--json"]);
    let id = open[0]["id"].as_str().expect("an id").to_owned();
    (older, newer, id)
}

#[test]
fn completions_offer_sids_workflows_pauses_and_statuses_from_the_server() {
    let env = TestEnv::new();
    // No server: flags only, quietly, and none is started.
    let offered = candidates(&env, "bash", &["hero_logic", "play", "show", ""]);
    assert!(offered.iter().all(|c| c.starts_with('-')), "{offered:?}");
    assert!(
        !env.socket().exists() && env.server_pid().is_none(),
        "no autostart"
    );

    let (older, newer, id) = two_plays(&env);
    let offered = candidates(&env, "zsh", &["hero_logic", "play", "show", ""]);
    assert_eq!(
        offered[..2],
        [
            format!("{newer}:then_machine awaiting_resume"),
            format!("{older}:hello success")
        ],
        "newest first, with workflow and status"
    );
    let offered = candidates(&env, "bash", &["hero_logic", "play", "show", ""]);
    assert_eq!(offered[..2], [newer.clone(), older.clone()]);

    let offered = candidates(&env, "zsh", &["hero_logic", "resume", ""]);
    assert_eq!(
        offered[0],
        format!("{newer}:then_machine awaiting_resume"),
        "{offered:?}"
    );
    assert!(
        !offered.iter().any(|c| c.starts_with(&older)),
        "only plays that wait"
    );
    let offered = candidates(&env, "zsh", &["hero_logic", "resume", &newer, ""]);
    assert_eq!(offered[0], format!("{id}:who: Who signs?"), "{offered:?}");

    for words in [
        vec!["hero_logic", "workflow", "show", ""],
        vec!["hero_logic", "play", "list", "--workflow", ""],
        vec!["hero_logic", "play", "start", "h"],
    ] {
        let offered = candidates(&env, "bash", &words);
        assert!(
            offered.contains(&"hello".to_owned()),
            "{words:?}: {offered:?}"
        );
    }
    let offered = candidates(
        &env,
        "bash",
        &["hero_logic", "play", "list", "--status", ""],
    );
    assert_eq!(
        offered,
        [
            "pending",
            "running",
            "awaiting_resume",
            "success",
            "failed",
            "cancelled",
            "timed_out"
        ]
    );
}

/// An interactive `shell` in a pane with `hero_logic` on its PATH and the
/// completions sourced; waits for `ready` (what its prompt shows).
fn shell_pane(env: &TestEnv, shell: &[&str], setup: &str, ready: &str) -> Pane {
    let bin_dir = Path::new(BIN).parent().expect("the binary's folder");
    let pane = Pane::program(env, shell, &["PS1=READY> "]);
    let setup = format!("export PATH={}:$PATH && {setup}", bin_dir.display());
    pane.send(&["-l", &setup]);
    pane.send(&["Enter"]);
    pane.send(&["-l", "echo sourced"]);
    pane.send(&["Enter"]);
    pane.wait_for(&[ready, "sourced"]);
    pane
}

#[test]
fn bash_completes_play_sids_through_the_server() {
    let env = TestEnv::new();
    let (older, newer, _) = two_plays(&env);
    let pane = shell_pane(
        &env,
        &["bash", "--norc", "--noprofile", "-i"],
        "source <(hero_logic completions bash)",
        "READY>",
    );
    pane.send(&["-l", "hero_logic play show "]);
    pane.send(&["Tab"]);
    pane.send(&["Tab"]);
    pane.wait_for(&[&newer, &older]);
}

#[test]
fn zsh_completes_play_sids_with_their_workflow_and_status() {
    if Command::new("zsh").arg("--version").output().is_err() {
        eprintln!("skipped: zsh is not installed (apt-get install zsh)");
        return;
    }
    let env = TestEnv::new();
    let (older, newer, _) = two_plays(&env);
    let pane = shell_pane(
        &env,
        &["zsh", "-f", "-i"],
        "autoload -U compinit && compinit -u && source <(hero_logic completions zsh)",
        "READY>",
    );
    pane.send(&["-l", "hero_logic play show "]);
    pane.send(&["Tab"]);
    pane.wait_for(&[
        &format!("{newer}  -- then_machine awaiting_resume"),
        &format!("{older}  -- hello success"),
    ]);
}
