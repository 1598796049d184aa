//! Volume figures of issue 15, side by side in one run (absolute times drift
//! on shared machines; the ratios are what to read).
//!
//! Run by hand: `cargo bench --bench volume`. It starts a real server on
//! temporary folders and real Python flows, and prints each row of the
//! issue's budget table with its baseline beside it:
//! - one-step plays started over the socket on 4 connections, until all
//!   have ended (plays/s);
//! - one-step `play start --wait`, back to back, against `hero_logic status`;
//! - `resume` + `play wait` to success (one step after the pause) against
//!   `hero_logic status`;
//! - eight 2,000-step flows at once against one alone (steps/s, the
//!   median of three rounds);
//! - a lone flow's durable step against one fsync of a small append.
//!
//! `uptime`'s load is printed first: on a busy machine every row is slower.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

mod common;
use common::{Bench, Conn, MANY, flows_vs_alone, fsync_append, median, ms};

/// Plays of the start-throughput row, and the connections that start them.
const PLAYS: usize = 300;
const CONNECTIONS: usize = 4;

/// Samples of each latency row (the median is printed).
const SAMPLES: usize = 40;

/// Steps of each flow of the many-flows row, and how many run at once.
const STEPS: u64 = 2000;
const FLOWS: usize = 8;

const ONE_STEP: &str = include_str!("../tests/flows/one_step.py");
const PAUSES: &str = include_str!("../tests/flows/pause_then_step.py");
const ZERO: &str = "from hero_tracing import flow\n\n@flow\ndef main():\n    return 0\n";

fn start_throughput(b: &Bench) -> f64 {
    let socket = b.socket();
    let start = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                let socket = &socket;
                scope.spawn(move || {
                    let mut conn = Conn::open(socket);
                    let sids: Vec<String> = (0..PLAYS / CONNECTIONS)
                        .map(|i| {
                            let play = conn.call(
                                "play_start",
                                json!({"workflow_sid": "one_step", "input_data": {"i": c * 1000 + i}}),
                            );
                            play["sid"].as_str().expect("a sid").to_owned()
                        })
                        .collect();
                    for sid in sids {
                        let play = conn.call("play_wait", json!({"play_sid": sid}));
                        assert_eq!(play["status"], "success", "{play}");
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("a starter");
        }
    });
    PLAYS as f64 / start.elapsed().as_secs_f64()
}

/// Medians of `play start --wait` of a one-step flow and of `status`,
/// sampled in turns, and the median of each pair's ratio: a pair shares
/// the machine's load of its moment, where the two medians may not.
fn start_wait_latency(b: &Bench, one: &str) -> (Duration, Duration, f64) {
    let (mut plays, mut statuses) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        plays.push(b.timed(&["play", "start", one, "--wait", "--json"]));
        statuses.push(b.timed(&["status"]));
    }
    let ratio = median_ratio(&plays, &statuses);
    (median(plays), median(statuses), ratio)
}

/// The median of `a[i] / b[i]`.
fn median_ratio(a: &[Duration], b: &[Duration]) -> f64 {
    let mut ratios: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// Medians of `resume` + `play wait` to success of a play paused before its
/// one step, and of `status`, sampled in turns, and the median of each
/// pair's ratio.
fn resume_latency(b: &Bench, pauses: &str) -> (Duration, Duration, f64) {
    let (mut resumes, mut statuses) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let play = b.json(&["play", "start", pauses, "--wait", "--json"]);
        assert_eq!(play["status"], "awaiting_resume", "{play}");
        let sid = play["sid"].as_str().expect("a sid").to_owned();
        let id = play["pending_resumes"][0]["id"]
            .as_str()
            .expect("a pause")
            .to_owned();
        let start = Instant::now();
        b.ok(&["resume", &sid, &id, "true"]);
        let done = b.json(&["play", "wait", &sid, "--json"]);
        resumes.push(start.elapsed());
        assert_eq!(done["status"], "success", "{done}");
        statuses.push(b.timed(&["status"]));
    }
    let ratio = median_ratio(&resumes, &statuses);
    (median(resumes), median(statuses), ratio)
}

/// Steps per second of `flows` 2,000-step flows started at once.
fn steps_per_second(b: &Bench, flows: usize) -> f64 {
    let mut conn = Conn::open(&b.socket());
    let start = Instant::now();
    let sids: Vec<String> = (0..flows)
        .map(|_| {
            let play = conn.call(
                "play_start",
                json!({"workflow_sid": "many", "input_data": {"n": STEPS}}),
            );
            play["sid"].as_str().expect("a sid").to_owned()
        })
        .collect();
    for sid in sids {
        let play = conn.call("play_wait", json!({"play_sid": sid}));
        assert_eq!(play["status"], "success", "{play}");
    }
    (flows as u64 * STEPS) as f64 / start.elapsed().as_secs_f64()
}

/// The marginal cost of a durable step (a 2,000-step play against a 0-step
/// one, per step) against one fsync measured around it, median of rounds.
fn step_vs_fsync(b: &Bench, zero: &str, many: &str) -> (Duration, Duration, f64) {
    let (mut steps, mut fsyncs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let input = json!({"n": STEPS}).to_string();
    for _ in 0..5 {
        let before = fsync_append(&b.data(), 200);
        let zero_play = b.timed(&["play", "start", zero, "--wait", "--json"]);
        let many_play = b.timed(&["play", "start", many, "--input", &input, "--wait", "--json"]);
        let after = fsync_append(&b.data(), 200);
        let fsync = (before + after) / 2;
        let step = many_play.saturating_sub(zero_play) / STEPS as u32;
        steps.push(step);
        fsyncs.push(fsync);
        ratios.push(step.as_secs_f64() / fsync.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    (median(steps), median(fsyncs), ratios[ratios.len() / 2])
}

fn main() {
    let load = Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let b = Bench::with_env(&[("HERO_LOGIC_NO_AUTOSTART", "1")]);
    std::fs::create_dir_all(b.data()).expect("data dir");
    assert!(b.hero(&["start"]).status.success(), "the server starts");
    let one = b.flow("one_step.py", ONE_STEP);
    let pauses = b.flow("pauses.py", PAUSES);
    let many = b.flow("many.py", MANY);
    let zero = b.flow("zero.py", ZERO);
    for flow in [&one, &many] {
        b.ok(&["workflow", "save", flow]);
    }
    // Warm up: the zygote is booted and the versions are stored.
    b.json(&["play", "start", &one, "--wait", "--json"]);
    b.json(&["play", "start", &zero, "--wait", "--json"]);

    let plays_per_s = start_throughput(&b);
    let (start_wait, status_a, start_ratio) = start_wait_latency(&b, &one);
    let (resume, status_b, resume_ratio) = resume_latency(&b, &pauses);
    let (together, alone, flows_ratio) = flows_vs_alone(FLOWS, |n| steps_per_second(&b, n));
    let (step, fsync, step_ratio) = step_vs_fsync(&b, &zero, &many);

    println!("load: {load}");
    println!(
        "{:<62} {:>12} {:>16} {:>9}",
        "figure", "measured", "baseline", "budget"
    );
    println!(
        "{:<62} {:>10.0}/s {:>16} {:>9}",
        format!("{PLAYS} one-step plays over the socket ({CONNECTIONS} connections), to end"),
        plays_per_s,
        "24-36/s before",
        ">= 300/s"
    );
    println!(
        "{:<62} {:>9.2} ms {:>9.2} ms st {:>7.2}x {:>5}",
        "one-step `play start --wait`, back to back, vs `status`",
        ms(start_wait),
        ms(status_a),
        start_ratio,
        "<= 3x"
    );
    println!(
        "{:<62} {:>9.2} ms {:>9.2} ms st {:>7.2}x {:>5}",
        "`resume` + `play wait` (one step after the pause) vs `status`",
        ms(resume),
        ms(status_b),
        resume_ratio,
        "<= 4x"
    );
    println!(
        "{:<62} {:>8.0} st/s {:>8.0} st/s 1 {:>7.2}x {:>5}",
        format!("{FLOWS} flows of {STEPS} steps at once vs one alone (median of 3)"),
        together,
        alone,
        flows_ratio,
        ">= 2.5x"
    );
    println!(
        "{:<62} {:>9.3} ms {:>8.3} ms fs {:>7.2}x {:>5}",
        "lone-flow durable step vs one fsync (median of 5 rounds)",
        ms(step),
        ms(fsync),
        step_ratio,
        "<= 1.3x"
    );
}
