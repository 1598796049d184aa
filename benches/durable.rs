//! Durable-execution figures, side by side in one run (absolute times drift
//! on shared machines; the ratios are what to read).
//!
//! Run by hand: `cargo bench --bench durable`. It starts a real server on
//! temporary folders and real Python flows, and prints:
//! - one fsync of a small append on the same disk, measured in each of
//!   seven rounds right around the marginal cost of one durable step (a
//!   2,000-step flow against a 0-step flow, per step), and the median of
//!   the rounds' ratios; one redb commit; one checkpoint through the store;
//! - `play start --wait` of a one-step flow next to `python -c pass`;
//! - a play that paused after 10,000 steps: the time from `resume` to
//!   `success`, and the replay cost per step against the first run's.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{Bench, fsync_append, median, ms};

fn timed_play(b: &Bench, args: &[&str]) -> (Duration, serde_json::Value) {
    let start = Instant::now();
    let out = b.hero(args);
    let took = start.elapsed();
    let play = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (took, play)
}

fn redb_commit(dir: &Path, n: usize) -> Duration {
    let table: redb::TableDefinition<u64, &str> = redb::TableDefinition::new("t");
    let db = redb::Database::create(dir.join("bench.redb")).expect("redb");
    let start = Instant::now();
    for i in 0..n as u64 {
        let txn = db.begin_write().expect("begin");
        txn.open_table(table)
            .expect("table")
            .insert(i, "a small checkpoint")
            .expect("insert");
        txn.commit().expect("commit");
    }
    start.elapsed() / n as u32
}

/// One checkpoint through the store alone, as the engine writes a step's:
/// the time to its acknowledgement (check, journal write, fsync), and the
/// time of the writes that follow the answer (redb, while the flow goes on).
fn store_checkpoint(dir: &Path, n: usize) -> (Duration, Duration) {
    use hero_logic::store::{
        Backend, Checkpoint, SpanText, Store,
        writer::{Writer, always},
    };
    let store = std::sync::Arc::new(Store::open(dir).expect("store"));
    let writer = Writer::start(Backend::Redb(store)).expect("writer");
    let (_, span) = SpanText::decode(
        serde_json::json!({
            "id": "1.1", "play_sid": "bench", "run": 1, "parent_id": null, "name": "step",
            "kind": "step", "status": "success", "started_at": "2026-12-04T18:00:00Z",
            "ended_at": null, "duration_ms": null, "error": null, "source_file": null,
            "source_line": null, "step_key": null, "child_play_sid": null,
        })
        .to_string(),
    )
    .expect("a span");
    let (mut acked, mut after) = (Duration::ZERO, Duration::ZERO);
    for i in 0..n {
        let key = format!("{i:040}");
        let span = span.clone();
        let start = Instant::now();
        writer
            .durable(always(move |tx| {
                let checkpoint = Checkpoint {
                    play_sid: "bench".into(),
                    run: 1,
                    step_key: key,
                    output: "{\"ok\":true}".into(),
                    span: Some((i as u64, span)),
                };
                tx.checkpoint(checkpoint)
            }))
            .wait()
            .expect("write");
        let answered = Instant::now();
        writer.catch_up();
        acked += answered - start;
        after += answered.elapsed();
    }
    (acked / n as u32, after / n as u32)
}

fn python_exe() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn main() {
    let b = Bench::new();
    std::fs::create_dir_all(b.data()).expect("data dir");
    assert!(b.hero(&["start"]).status.success(), "the server starts");

    // 1. The physical floor next to a durable step. The disk's speed drifts
    // by half within a minute on shared machines, so each round measures
    // the fsync right next to the plays, and the ratio is taken per round.
    let zero = b.flow(
        "zero.py",
        "from hero_tracing import flow\n\n@flow\ndef main():\n    return 0\n",
    );
    let many = b.flow(
        "many.py",
        "from hero_tracing import flow\n\n@flow\ndef step(i: int) -> int:\n    return i\n\n\
         @flow\ndef main(n: int):\n    return sum(step(i=i) for i in range(n))\n",
    );
    let mut fsyncs = Vec::new();
    let mut steps = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..7 {
        let before = fsync_append(&b.data(), 200);
        let zero_play = timed_play(&b, &["play", "start", &zero, "--wait", "--json"]).0;
        let (many_play, play) = timed_play(
            &b,
            &[
                "play",
                "start",
                &many,
                "--input",
                r#"{"n": 2000}"#,
                "--wait",
                "--json",
            ],
        );
        assert_eq!(play["status"], "success");
        let after = fsync_append(&b.data(), 200);
        let fsync = (before + after) / 2;
        let step = many_play.saturating_sub(zero_play) / 2000;
        fsyncs.push(fsync);
        steps.push(step);
        ratios.push(step.as_secs_f64() / fsync.as_secs_f64());
    }
    let fsync = median(fsyncs);
    let per_step = median(steps);
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let commit = redb_commit(&b.data(), 500);
    let store_dir = b.dir.path().join("store");
    std::fs::create_dir_all(&store_dir).expect("store dir");
    let (checkpoint, after_answer) = store_checkpoint(&store_dir, 500);

    // 2. A one-step play against the bare interpreter.
    let python = python_exe();
    let one = b.flow(
        "one.py",
        "from hero_tracing import flow\n\n@flow\ndef step() -> int:\n    return 1\n\n\
         @flow\ndef main():\n    return step()\n",
    );
    timed_play(&b, &["play", "start", &one, "--wait", "--json"]);
    let mut bare = Vec::new();
    let mut plays = Vec::new();
    for _ in 0..21 {
        let start = Instant::now();
        Command::new(&python)
            .args(["-c", "pass"])
            .status()
            .expect("python");
        bare.push(start.elapsed());
        plays.push(timed_play(&b, &["play", "start", &one, "--wait", "--json"]).0);
    }
    let bare = median(bare);
    let one_step = median(plays);

    // 3. Replay: a play that paused after 10,000 steps.
    let paused = b.flow(
        "paused.py",
        "from hero_tracing import flow\n\n@flow\ndef step(i: int) -> int:\n    return i\n\n\
         @flow\ndef main(n: int):\n    total = sum(step(i=i) for i in range(n))\n    \
         ok = flow.pause(\"go\", schema={\"type\": \"boolean\"})\n    return {\"total\": total, \"ok\": ok}\n",
    );
    let (first_run, play) = timed_play(
        &b,
        &[
            "play",
            "start",
            &paused,
            "--input",
            r#"{"n": 10000}"#,
            "--wait",
            "--json",
        ],
    );
    assert_eq!(play["status"], "awaiting_resume");
    let sid = play["sid"].as_str().expect("sid").to_owned();
    let id = play["pending_resumes"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let start = Instant::now();
    assert!(b.hero(&["resume", &sid, &id, "true"]).status.success());
    let (_, done) = timed_play(&b, &["play", "wait", &sid, "--json"]);
    let resume_to_success = start.elapsed();
    assert_eq!(done["status"], "success");
    let spans: Vec<serde_json::Value> = serde_json::from_slice(
        &b.hero(&["rpc", "play_spans", &format!(r#"{{"play_sid":"{sid}"}}"#)])
            .stdout,
    )
    .expect("spans");
    let root_ms = |run: u64| {
        spans
            .iter()
            .find(|s| s["run"] == run && s["kind"] == "flow_root")
            .and_then(|s| s["duration_ms"].as_f64())
            .unwrap_or(f64::NAN)
    };
    let first_us = root_ms(1) * 1000.0 / 10_000.0;
    let replay_us = root_ms(2) * 1000.0 / 10_000.0;
    let plain_us = {
        let out = Command::new(&python)
            .args(["-c", "import time\ndef step(i): return i\nt=time.perf_counter()\nsum(step(i=i) for i in range(10000))\nprint((time.perf_counter()-t)/10000*1e6)"])
            .output()
            .expect("python");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .unwrap_or(f64::NAN)
    };

    println!(
        "durable step (marginal, 2,000-step flow)  {:>8.3} ms",
        ms(per_step)
    );
    println!(
        "  one fsync of a small append             {:>8.3} ms   step/fsync = {:.2}x (median of rounds {}; budget 1.5x)",
        ms(fsync),
        ratio,
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  one redb commit                         {:>8.3} ms",
        ms(commit)
    );
    println!(
        "  one checkpoint through the store        {:>8.3} ms   to its acknowledgement (journal write + fsync)",
        ms(checkpoint)
    );
    println!(
        "    its writes after the answer           {:>8.3} ms   (redb, while the flow goes on)",
        ms(after_answer)
    );
    println!(
        "one-step play, start --wait               {:>8.1} ms",
        ms(one_step)
    );
    println!(
        "  python -c pass                          {:>8.1} ms   difference {:.1} ms (budget 30 ms)",
        ms(bare),
        ms(one_step) - ms(bare)
    );
    println!(
        "10,000-step play: resume -> success       {:>8.1} ms",
        ms(resume_to_success)
    );
    println!(
        "  first run: per step                     {:>8.2} us   (run of 10,000 steps + pause: {:.0} ms wall)",
        first_us,
        ms(first_run)
    );
    println!(
        "  replay:    per step                     {:>8.2} us   ({:.2} us above plain Python at {:.3} us; budget 10 us)",
        replay_us,
        replay_us - plain_us,
        plain_us
    );
}
