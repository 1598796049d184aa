//! The server killed with `kill -9` again and again in the middle of a
//! long play (issue 11): no step whose checkpoint was acknowledged runs
//! again, and the play ends with every step's output.
//!
//! The flow writes `start I` to a ledger when step I's body runs, and
//! `ack I` once the step has returned, which it does only after the server
//! acknowledged its checkpoint. A step with an `ack` line that starts again
//! fails the test; a step that was in flight when the server died (a
//! `start` without an `ack`) may run again, at most once a kill.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::common::{TestEnv, process_gone, wait_until};

const LEDGER_FLOW: &str = r#"
from hero_tracing import flow

@flow
def step(i: int, ledger: str) -> int:
    with open(ledger, "a") as f:
        f.write(f"start {i}\n")
    return i * 2

@flow
def main(n: int, ledger: str):
    total = 0
    for i in range(n):
        total += step(i=i, ledger=ledger)
        with open(ledger, "a") as f:
            f.write(f"ack {i}\n")
    return total
"#;

/// What the kills cost: steps acknowledged by the end, and the in-flight
/// steps that ran again.
#[derive(Debug)]
struct Crashes {
    kills: usize,
    steps: usize,
    in_flight_reruns: usize,
}

fn crash_loop(steps: usize, kills: usize) -> Crashes {
    let env = TestEnv::new();
    let flow = env.scratch("ledger_flow.py");
    std::fs::write(&flow, LEDGER_FLOW).expect("the flow");
    let ledger = env.scratch("ledger");
    let input = json!({"n": steps, "ledger": ledger}).to_string();
    let sid = env
        .ok([
            "play",
            "start",
            flow.to_str().expect("UTF-8"),
            "--input",
            &input,
        ])
        .trim()
        .to_owned();
    let acks = || {
        std::fs::read_to_string(&ledger)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("ack "))
            .count()
    };
    // Kills spread over the play: each once a few more steps are acked.
    let every = (steps / (kills + 1)).max(1);
    let mut done_kills = 0;
    for k in 1..=kills {
        wait_until(
            &format!("{} steps acknowledged before kill {k}", k * every),
            Duration::from_secs(60),
            || acks() >= k * every,
        );
        let Some(pid) = env.server_pid() else { break };
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .expect("kill -9 the server");
        wait_until("the killed server is gone", Duration::from_secs(10), || {
            process_gone(pid)
        });
        done_kills += 1;
        // Any command starts the next server, which recovers the play.
        env.ok(["play", "show", &sid]);
        if acks() >= steps {
            break;
        }
    }
    let done = env.run(["play", "wait", &sid, "--json"]);
    done.expect_code(0);
    let expected: usize = (0..steps).map(|i| i * 2).sum();
    assert_eq!(done.json()["output_data"], expected);

    let text = std::fs::read_to_string(&ledger).expect("the ledger");
    let mut starts: HashMap<usize, usize> = HashMap::new();
    let mut acked = vec![false; steps];
    let mut in_flight_reruns = 0;
    for line in text.lines() {
        let (what, i) = line.split_once(' ').expect("`start I` or `ack I`");
        let i: usize = i.parse().expect("a step number");
        match what {
            "start" => {
                assert!(
                    !acked[i],
                    "step {i} ran again after its checkpoint was acknowledged"
                );
                let count = starts.entry(i).or_default();
                *count += 1;
                if *count > 1 {
                    in_flight_reruns += 1;
                }
            }
            _ => acked[i] = true,
        }
    }
    assert!(acked.iter().all(|a| *a), "every step was acknowledged");
    assert!(
        in_flight_reruns <= done_kills,
        "{in_flight_reruns} steps ran again: at most one in flight a kill ({done_kills})"
    );
    Crashes {
        kills: done_kills,
        steps,
        in_flight_reruns,
    }
}

#[test]
fn a_server_killed_three_times_mid_play_reruns_no_acknowledged_step() {
    let crashes = crash_loop(300, 3);
    assert_eq!(crashes.kills, 3, "{crashes:?}");
}

/// The long loop, run by hand:
/// `cargo test --test e2e crash::long -- --ignored --nocapture`.
#[test]
#[ignore = "a long crash loop: run by hand, figures in RELIABILITY.md"]
fn long_crash_loop_of_fifty_kills() {
    let crashes = crash_loop(5_000, 50);
    println!(
        "{} kills of a {}-step play: no acknowledged step ran again, {} in-flight steps did",
        crashes.kills, crashes.steps, crashes.in_flight_reruns
    );
    assert_eq!(crashes.kills, 50, "{crashes:?}");
}
