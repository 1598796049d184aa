//! The PostgreSQL backend's budgets (issue 16), each beside its baseline,
//! on a throwaway cluster of its own (as the tests make one):
//! - a durable step against a bare single-row `INSERT` + `COMMIT` on one
//!   connection, in the same run;
//! - eight 2,000-step flows at once against one alone, steps/s (the
//!   median of three rounds; issue 15's flows, long enough that their
//!   starts one after another are not part of the figure);
//! - a takeover: a worker killed with its processes, until its play runs
//!   again on another, against the lease.
//!
//! `cargo bench --bench postgres` (needs Debian's `postgresql`).

mod common;
#[allow(dead_code)]
#[path = "../tests/e2e/pgcluster.rs"]
mod pgcluster;

use std::time::{Duration, Instant};

use common::{Bench, MANY, flows_vs_alone, median, ms};
use serde_json::json;

const STEPS: u64 = 500;
/// Steps of each flow of the flows-at-once row.
const FLOW_STEPS: u64 = 2000;
const FLOWS: usize = 8;
const LEASE_S: &str = "3";

const ZERO: &str = "from hero_tracing import flow\n\n@flow\ndef main():\n    return 0\n";
const GATED: &str = "import os, time\nfrom hero_tracing import flow\n\n@flow\ndef main(gate: str):\n    \
                     while not os.path.exists(gate):\n        time.sleep(0.01)\n    return 1\n";

/// A bare transaction of one small row, as a checkpoint is: the floor a
/// durable step on PostgreSQL stands on.
fn insert_commit(url: &str, n: usize) -> Duration {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS bench (k text PRIMARY KEY, v text NOT NULL)")
        .expect("a table");
    let insert = client
        .prepare(
            "INSERT INTO bench (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
        )
        .expect("prepare");
    let start = Instant::now();
    for i in 0..n {
        let mut tx = client.transaction().expect("BEGIN");
        tx.execute(&insert, &[&format!("k{i}"), &"a small checkpoint"])
            .expect("INSERT");
        tx.commit().expect("COMMIT");
    }
    start.elapsed() / n as u32
}

fn main() {
    let url = pgcluster::database(None);
    let b = Bench::with_env(&[
        ("HERO_LOGIC_NO_AUTOSTART", "1"),
        ("HERO_LOGIC_DATABASE_URL", &url),
        ("HERO_LOGIC_LEASE_S", LEASE_S),
    ]);
    std::fs::create_dir_all(b.data()).expect("data dir");
    assert!(b.hero(&["start"]).status.success(), "the server starts");
    let many = b.flow("many.py", MANY);
    let zero = b.flow("zero.py", ZERO);
    b.ok(&["workflow", "save", &many]);
    b.json(&["play", "start", &zero, "--wait", "--json"]);

    // A durable step against INSERT + COMMIT, alternated, median of rounds.
    let input = json!({"n": STEPS}).to_string();
    let (mut steps, mut floors, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        let before = insert_commit(&url, 200);
        let zero_play = b.timed(&["play", "start", &zero, "--wait", "--json"]);
        let many_play = b.timed(&[
            "play", "start", &many, "--input", &input, "--wait", "--json",
        ]);
        let after = insert_commit(&url, 200);
        let floor = (before + after) / 2;
        let step = many_play.saturating_sub(zero_play) / STEPS as u32;
        ratios.push(step.as_secs_f64() / floor.as_secs_f64());
        steps.push(step);
        floors.push(floor);
    }
    ratios.sort_by(f64::total_cmp);
    let step_ratio = ratios[ratios.len() / 2];

    // Eight flows at once against one alone.
    let input = json!({"n": FLOW_STEPS}).to_string();
    let per_second = |flows: usize| {
        let start = Instant::now();
        let sids: Vec<String> = (0..flows)
            .map(|_| {
                b.ok(&["play", "start", &many, "--input", &input])
                    .trim()
                    .to_owned()
            })
            .collect();
        for sid in &sids {
            let done = b.json(&["play", "wait", sid, "--json"]);
            assert_eq!(done["status"], "success", "{done}");
        }
        (flows as u64 * FLOW_STEPS) as f64 / start.elapsed().as_secs_f64()
    };
    let (together, alone, flows_ratio) = flows_vs_alone(FLOWS, per_second);

    // A takeover: a second worker on the same database; the first, running
    // a play, killed with all its processes.
    let other = Bench::with_env(&[
        ("HERO_LOGIC_NO_AUTOSTART", "1"),
        ("HERO_LOGIC_DATABASE_URL", &url),
        ("HERO_LOGIC_LEASE_S", LEASE_S),
    ]);
    std::fs::create_dir_all(other.data()).expect("data dir");
    assert!(
        other.hero(&["start"]).status.success(),
        "the second server starts"
    );
    let gate = b.dir.path().join("gate");
    let gated = b.flow("gated.py", GATED);
    let sid = b
        .ok(&[
            "play",
            "start",
            &gated,
            "--input",
            &json!({"gate": gate}).to_string(),
        ])
        .trim()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while b.json(&["play", "show", &sid, "--json"])["status"] != "running" {
        assert!(Instant::now() < deadline, "the gated play runs");
    }
    b.kill_everything();
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(60);
    while other.json(&["play", "show", &sid, "--json"])["runs"] != 2 {
        assert!(Instant::now() < deadline, "the play is taken over");
        std::thread::sleep(Duration::from_millis(10));
    }
    let takeover = killed.elapsed();
    std::fs::write(&gate, "").expect("open the gate");
    let done = other.json(&["play", "wait", &sid, "--json"]);
    assert_eq!(done["status"], "success", "{done}");

    println!("load: {}", common::load());
    println!(
        "{:<58} {:>12} {:>18} {:>9}",
        "figure", "measured", "baseline", "budget"
    );
    println!(
        "{:<58} {:>9.3} ms {:>10.3} ms ins {:>7.2}x {:>5}",
        "durable step vs INSERT + COMMIT on one connection",
        ms(median(steps)),
        ms(median(floors)),
        step_ratio,
        "<= 1.5x"
    );
    println!(
        "{:<58} {:>10.0}/s {:>14.0}/s 1 {:>7.2}x {:>5}",
        format!("{FLOWS} flows of {FLOW_STEPS} steps at once vs one alone (median of 3)"),
        together,
        alone,
        flows_ratio,
        ">= 3x"
    );
    println!(
        "{:<58} {:>9.2} s  {:>13} s lease {:>9} {:>5}",
        "takeover: worker killed -> play running on another",
        takeover.as_secs_f64(),
        LEASE_S,
        "",
        "<= lease + 2 s"
    );
}
