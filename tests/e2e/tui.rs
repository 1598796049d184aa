//! End-to-end tests of `hero_logic tui`: the real dashboard, run inside a
//! private tmux server against a real hero_logic server on temporary
//! folders, driven by keys and read back with `capture-pane`.
//!
//! tmux must be installed (`.ci/run` installs it where it is missing).
//! Nothing here sleeps to synchronise: each step waits, with a deadline,
//! until the screen shows what it should.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::{BIN, TestEnv, flow};
use crate::tmux::Session;

/// What the pane shows once the dashboard has ended well.
const EXITED_0: &str = "hero_logic tui exited 0";

/// How long the dashboard may take to show what a key asked for.
const SCREEN_WITHIN: Duration = Duration::from_secs(20);

/// The dashboard in a tmux session of the test's own.
struct Tmux {
    session: Session,
}

impl Tmux {
    /// Runs `hero_logic tui` in a detached `width`×`height` session, with
    /// the test's folders in its environment. A shell runs it, reaps it and
    /// prints its exit status on the pane.
    fn start(env: &TestEnv, width: u16, height: u16) -> Tmux {
        let program = [
            "sh",
            "-c",
            r#""$0" tui; echo "hero_logic tui exited $?""#,
            BIN,
        ];
        Tmux {
            session: Session::start(env, width, height, &[], &program),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.session.run(args)
    }

    fn send(&self, key: &str) {
        let out = self.run(&["send-keys", "-t", "hl", key]);
        assert!(out.status.success(), "send-keys {key}: {out:?}");
    }

    /// The visible screen.
    fn screen(&self) -> String {
        self.capture(&[])
    }

    fn capture(&self, extra: &[&str]) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "hl"];
        args.extend_from_slice(extra);
        String::from_utf8_lossy(&self.run(&args).stdout).into_owned()
    }

    /// Waits until the screen shows every one of `texts`.
    fn wait_for(&self, texts: &[&str]) {
        self.wait_for_in(texts, &[]);
    }

    /// Waits until the dashboard has exited 0; the shell's line may have
    /// scrolled into the pane's history.
    fn wait_for_exit(&self) {
        self.wait_for_in(&[EXITED_0], &["-S", "-"]);
    }

    fn wait_for_in(&self, texts: &[&str], capture: &[&str]) {
        let deadline = Instant::now() + SCREEN_WITHIN;
        loop {
            let screen = self.capture(capture);
            if texts.iter().all(|t| screen.contains(t)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the dashboard did not show {texts:?} within {SCREEN_WITHIN:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The dashboard's pid: the child of the pane's shell.
    fn pid(&self) -> u32 {
        let out = self.run(&["list-panes", "-t", "hl", "-F", "#{pane_pid}"]);
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .expect("the pane's shell lists its children");
        children
            .split_whitespace()
            .next()
            .and_then(|pid| pid.parse().ok())
            .expect("the dashboard runs under the pane's shell")
    }
}

/// A started server holding a play paused on a confirm; returns its sid.
fn paused_play(env: &TestEnv) -> String {
    env.start();
    let file = flow("approve.py");
    let sid = env
        .ok(["play", "start", file.to_str().expect("a UTF-8 path")])
        .trim()
        .to_owned();
    env.run(["play", "wait", &sid]).expect_code(75);
    sid
}

#[test]
fn the_dashboard_answers_a_paused_play_and_shows_it_succeed() {
    let env = TestEnv::new();
    let sid = paused_play(&env);
    let tmux = Tmux::start(&env, 100, 30);

    // The plays list, with the paused play and its badge.
    tmux.wait_for(&["Plays (1)", "⏸ awaiting", "approve", "⏸1"]);
    tmux.send("Enter");
    // The play: its tree with the step and the waiting root, and the pause.
    tmux.wait_for(&["Flow · run 1", "prepare", "main flow_root", "Pending (1)"]);
    tmux.send("p");
    tmux.wait_for(&["approve confirm", "Approve order 42?"]);
    tmux.send("a");
    // The dashboard steps aside for the same prompt as `hero_logic resume`.
    tmux.wait_for(&["Answering `approve`", "Approve order 42? (y/n)"]);
    tmux.send("y");
    // Back in the dashboard, the tree goes on live to the end.
    tmux.wait_for(&[
        "answered approve = true",
        "✔ success",
        "Flow · run 2",
        "replayed",
    ]);

    let played = env.json(["play", "wait", &sid, "--json"]);
    assert_eq!(played["status"], "success", "{played}");
    assert_eq!(played["output_data"]["approved"], true, "{played}");

    tmux.send("q");
    tmux.wait_for_exit();
    let after = tmux.screen();
    assert!(
        !after.contains("Flow · run"),
        "the terminal is back to its normal screen:\n{after}"
    );
    env.stop();
}

/// The Schedules screen, reached by `S`: a schedule saved from the command
/// line shows; `space` pauses it, `r` starts a play of it, `Enter` opens
/// that play, and `Esc` comes back.
#[test]
fn the_schedules_screen_pauses_runs_and_opens_a_schedule() {
    let env = TestEnv::new();
    env.start();
    let file = flow("approve.py");
    let file = file.to_str().expect("a UTF-8 path");
    env.ok(["workflow", "save", file, "--name", "approve"]);
    env.ok(["schedule", "add", "hourly", "approve", "--every", "1h"]);
    let schedule = || env.json(["schedule", "show", "hourly", "--json"]);

    let tmux = Tmux::start(&env, 100, 30);
    tmux.wait_for(&["Plays (0)", "S schedules"]);
    tmux.send("S");
    tmux.wait_for(&[
        "Schedules (1)",
        "NEXT FIRE",
        "hourly",
        "approve",
        "every 1h",
    ]);

    tmux.send("Space");
    tmux.wait_for(&["paused hourly"]);
    let screen = tmux.screen();
    assert!(
        screen
            .lines()
            .any(|l| l.contains("every 1h") && l.contains("paused")),
        "the row says paused:\n{screen}"
    );
    assert_eq!(schedule()["paused"], true, "paused on the server");

    tmux.send("r");
    tmux.wait_for(&["started play"]);
    let last = schedule()["last_play_sid"]
        .as_str()
        .expect("run now started a play")
        .to_owned();
    tmux.wait_for(&[&format!("started play {last} of hourly"), "⏸ awaiting"]);

    tmux.send("Enter");
    tmux.wait_for(&[
        &format!("sid {last}"),
        "schedule hourly",
        "Flow · run 1",
        "Pending (1)",
    ]);
    tmux.send("Escape");
    tmux.wait_for(&["Schedules (1)", "hourly"]);

    tmux.send("q");
    tmux.wait_for_exit();
    env.stop();
}

/// An idle dashboard blocks on its channel: over a few seconds it uses a
/// tiny fraction of a core (the budget is 2%).
#[test]
fn an_idle_dashboard_uses_almost_no_cpu() {
    let env = TestEnv::new();
    paused_play(&env);
    let tmux = Tmux::start(&env, 100, 30);
    tmux.wait_for(&["Plays (1)"]);
    tmux.send("Enter");
    tmux.wait_for(&["Flow · run 1"]);
    let pid = tmux.pid();
    let window = Duration::from_secs(4);
    let before = cpu_seconds(pid);
    let start = Instant::now();
    // Not a synchronisation: the idle time being measured.
    std::thread::sleep(window);
    let used = cpu_seconds(pid) - before;
    let share = used / start.elapsed().as_secs_f64();
    assert!(
        share < 0.02,
        "the idle dashboard used {:.2}% of a core",
        share * 100.0
    );
    tmux.send("q");
    tmux.wait_for_exit();
    env.stop();
}

/// User plus system CPU time of `pid`, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the dashboard runs");
    // Fields after the command name (in brackets, maybe with spaces):
    // state is the 1st, utime the 12th and stime the 13th.
    let rest = stat.rsplit_once(')').expect("a stat line").1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / clock_ticks()
}

/// The kernel's clock ticks per second, as `getconf CLK_TCK` reports.
fn clock_ticks() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
