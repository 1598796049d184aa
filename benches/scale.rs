//! Scale figures of issue 15: a store of 100,000 plays, side by side with a
//! store of a few.
//!
//! Run by hand: `cargo bench --bench scale` (`HERO_BENCH_PLAYS=N` for
//! another count). Two real servers on temporary folders each run real
//! Python flows: a one-step play that logs a line, a failing play, and (on
//! the large side) a 20,000-step play, whose growth of the store file gives
//! the bytes a step costs. The large store is then filled with copies of
//! the first two plays (95 % succeeded, 5 % failed; their spans, step
//! output and log line too), written through the store's own writer, since
//! running 100,000 Python processes would only measure the start path
//! again. Then, each beside the small store's figure:
//! - the bytes a play and a step cost in the store file;
//! - a restart: `hero_logic start` until the server answers, after a
//!   `stop` and after a `kill -9` of the server;
//! - `play_list` of 50 (all, one status, one workflow) and `play_count`
//!   on one open connection: the round trip, an upper bound of the
//!   server's time, beside the round trip of `info`;
//! - the dashboard (`hero_logic tui` in a private tmux) from its launch
//!   until its list of plays is on the screen.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hero_logic::model::{LogLine, Play, PlayStatus, Span};
use hero_logic::store::writer::{Plan, Writer};
use hero_logic::store::{Backend, Store, StoreError};
use serde_json::{Value, json};

mod common;
use common::{BIN, Bench, Conn, MANY, load, median, ms};

/// Plays in the large store, unless `HERO_BENCH_PLAYS` says otherwise.
const PLAYS: usize = 100_000;
/// Plays written by one durable write of the fill.
const BATCH: usize = 1_000;
/// Steps of the play whose growth of the store file is measured.
const STEPS: u64 = 20_000;
/// Round trips of each `play_list` row (the median is printed).
const CALLS: usize = 200;
/// Restarts and dashboard launches of each row.
const TRIES: usize = 5;

const OK: &str = "from hero_tracing import flow\n\n@flow\ndef step(i: int) -> int:\n    \
                  return i + 1\n\n@flow\ndef main(i: int = 0):\n    \
                  print(\"one step done\")\n    return step(i=i)\n";
const FAILS: &str = "from hero_tracing import flow\n\n@flow\ndef main():\n    \
                     raise RuntimeError(\"this play fails\")\n";

/// The median round trip of `method` on `conn`.
fn timed(conn: &mut Conn, method: &str, params: &Value) -> Duration {
    let samples = (0..CALLS)
        .map(|_| {
            let start = Instant::now();
            conn.call(method, params.clone());
            start.elapsed()
        })
        .collect();
    median(samples)
}

/// One side of the comparison: a server and the sids of its two real plays.
struct Side {
    bench: Bench,
    ok: String,
    failed: String,
}

impl Side {
    fn new() -> Side {
        let bench = Bench::new();
        let ok = bench.flow("scale_ok.py", OK);
        let fails = bench.flow("scale_fails.py", FAILS);
        let ok = bench.json(&["play", "start", &ok, "--wait", "--json"]);
        assert_eq!(ok["status"], "success", "{ok}");
        let failed = bench.json(&["play", "start", &fails, "--wait", "--json"]);
        assert_eq!(failed["status"], "failed", "{failed}");
        let sid = |play: &Value| play["sid"].as_str().expect("a sid").to_owned();
        Side {
            ok: sid(&ok),
            failed: sid(&failed),
            bench,
        }
    }

    fn store_bytes(&self) -> u64 {
        std::fs::metadata(self.bench.data().join("hero_logic.redb"))
            .expect("the store file")
            .len()
    }

    /// `hero_logic start` until it returns with the server answering; the
    /// server is stopped first.
    fn restart(&self) -> Duration {
        self.bench.hero(&["stop"]);
        self.bench.timed(&["start"])
    }

    /// `hero_logic start` after a `kill -9` of the whole server: the
    /// journal is applied again before the server answers.
    fn restart_after_kill(&self) -> Duration {
        self.bench.kill_everything();
        self.bench.timed(&["start"])
    }

    /// From the dashboard's launch until its list of plays is drawn.
    fn dashboard_open(&self, plays_shown: usize) -> Duration {
        // A tmux server of its own each time: one just killed may still be
        // going when the next would start on the same socket.
        static TRIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = TRIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = self.bench.dir.path().join(format!("tmux{n}.sock"));
        let tmux = |args: &[&str]| {
            Command::new("tmux")
                .arg("-S")
                .arg(&socket)
                .args(args)
                .output()
                .expect("tmux is installed (apt-get install tmux)")
        };
        let env = |var: &str, path: &Path| format!("{var}={}", path.display());
        let socket_dir = env("HERO_SOCKET_DIR", &self.bench.dir.path().join("sock"));
        let data_dir = env("HERO_LOGIC_DATA_DIR", &self.bench.data());
        // An idle pane first, so that tmux's own start is not counted.
        let out = tmux(&[
            "new-session",
            "-d",
            "-s",
            "hl",
            "-x",
            "160",
            "-y",
            "50",
            "-e",
            &socket_dir,
            "-e",
            &data_dir,
            "sh",
            "-c",
            "read go; exec \"$0\" tui",
            BIN,
        ]);
        assert!(out.status.success(), "tmux: {out:?}");
        let drawn = format!("Plays ({plays_shown})");
        let start = Instant::now();
        tmux(&["send-keys", "-t", "hl", "Enter"]);
        loop {
            let screen = tmux(&["capture-pane", "-p", "-t", "hl"]);
            if String::from_utf8_lossy(&screen.stdout).contains(&drawn) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the dashboard never showed {drawn:?}"
            );
        }
        let took = start.elapsed();
        tmux(&["kill-server"]);
        took
    }
}

/// A copy of a stored play under a new sid, with its spans, step outputs
/// and log lines.
struct Template {
    play: Play,
    spans: Vec<Span>,
    outputs: Vec<(String, String)>,
    logs: Vec<LogLine>,
}

impl Template {
    fn read(store: &Backend, sid: &str) -> Template {
        let play = store.play(sid).expect("read").expect("the play");
        let spans = store.spans(sid, None).expect("spans");
        let outputs = store
            .step_outputs(sid)
            .expect("outputs")
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        let logs = store.logs(sid, None, None, 1000).expect("logs");
        Template {
            play,
            spans,
            outputs,
            logs,
        }
    }

    fn write_copy(&self, tx: &hero_logic::store::Tx<'_>) -> hero_logic::store::Result<()> {
        let sid = hero_logic::ids::new_sid();
        let play = Play {
            sid: sid.clone(),
            ..self.play.clone()
        };
        tx.put_play(None, &play)?;
        for span in &self.spans {
            tx.put_span(&Span {
                play_sid: sid.clone(),
                ..span.clone()
            })?;
        }
        for (key, output) in &self.outputs {
            tx.put_checkpoint(&sid, key, output)?;
        }
        for line in &self.logs {
            tx.put_log(&sid, line)?;
        }
        Ok(())
    }
}

/// Writes `plays` copies of the two plays into the stopped server's store:
/// every twentieth one of the failed play.
fn fill(side: &Side, plays: usize) -> Duration {
    let start = Instant::now();
    // `stop` returns as the server exits; its hold on the file goes a
    // moment later.
    let opened = Instant::now();
    let store = loop {
        match Store::open(&side.bench.data()) {
            Ok(store) => break Backend::Redb(Arc::new(store)),
            Err(e) if opened.elapsed() > Duration::from_secs(10) => {
                panic!("the store does not open: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let ok = Arc::new(Template::read(&store, &side.ok));
    let failed = Arc::new(Template::read(&store, &side.failed));
    assert_eq!(failed.play.status, PlayStatus::Failed);
    let writer = Writer::start(store).expect("the writer starts");
    for first in (0..plays).step_by(BATCH) {
        let (ok, failed) = (ok.clone(), failed.clone());
        let count = BATCH.min(plays - first);
        writer
            .durable(move |_| {
                Ok::<_, StoreError>(Plan::new(move |tx| {
                    for i in first..first + count {
                        let template = if i % 20 == 19 { &failed } else { &ok };
                        template.write_copy(tx)?;
                    }
                    Ok(())
                }))
            })
            .wait()
            .expect("the copies are written");
    }
    drop(writer);
    start.elapsed()
}

fn kib(bytes: f64) -> String {
    format!("{:.2} KiB", bytes / 1024.0)
}

fn main() {
    let plays = std::env::var("HERO_BENCH_PLAYS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(PLAYS);
    println!("load: {}", load());
    let small = Side::new();
    let big = Side::new();

    // Bytes a step costs: one long play, the store folded by a stop before
    // and after.
    big.bench.ok(&["stop"]);
    let before_steps = big.store_bytes();
    let many = big.bench.flow("scale_many.py", MANY);
    let input = json!({"n": STEPS}).to_string();
    let long = big.bench.json(&[
        "play", "start", &many, "--input", &input, "--wait", "--json",
    ]);
    assert_eq!(long["status"], "success", "{long}");
    big.bench.ok(&["stop"]);
    let after_steps = big.store_bytes();
    let per_step = (after_steps - before_steps) as f64 / STEPS as f64;

    let took = fill(&big, plays);
    let per_play = (big.store_bytes() - after_steps) as f64 / plays as f64;
    println!(
        "filled {plays} plays in {:.1} s; store file {:.1} MiB (small store: {:.2} MiB)",
        took.as_secs_f64(),
        big.store_bytes() as f64 / (1 << 20) as f64,
        small.store_bytes() as f64 / (1 << 20) as f64,
    );

    let restarts = |side: &Side| median((0..TRIES).map(|_| side.restart()).collect());
    let (restart_small, restart_big) = (restarts(&small), restarts(&big));
    let recoveries = |side: &Side| median((0..TRIES).map(|_| side.restart_after_kill()).collect());
    let (recover_small, recover_big) = (recoveries(&small), recoveries(&big));

    let mut rows = Vec::new();
    let mut conns = (
        Conn::open(&small.bench.socket()),
        Conn::open(&big.bench.socket()),
    );
    for (name, method, params, budget) in [
        ("`info` round trip (baseline)", "info", json!({}), ""),
        (
            "`play_list` of 50",
            "play_list",
            json!({"limit": 50}),
            "<= 10 ms",
        ),
        (
            "`play_list` of 50, one status (failed)",
            "play_list",
            json!({"limit": 50, "status": "failed"}),
            "<= 10 ms",
        ),
        (
            "`play_list` of 50, one workflow",
            "play_list",
            json!({"limit": 50, "workflow": "scale_ok"}),
            "<= 10 ms",
        ),
        ("`play_count`", "play_count", json!({}), ""),
    ] {
        let (s, b) = (
            timed(&mut conns.0, method, &params),
            timed(&mut conns.1, method, &params),
        );
        rows.push((
            name,
            format!("{:.2} ms", ms(s)),
            format!("{:.2} ms", ms(b)),
            budget,
        ));
    }
    let total = conns.1.call("play_count", json!({}));
    assert_eq!(total.as_u64(), Some(plays as u64 + 3), "{total}");

    let opens =
        |side: &Side, shown| median((0..TRIES).map(|_| side.dashboard_open(shown)).collect());
    let (open_small, open_big) = (opens(&small, 2), opens(&big, 500));

    println!();
    println!(
        "{:<48} {:>14} {:>16} {:>10}",
        "figure",
        "small store",
        format!("{plays} plays"),
        "budget"
    );
    let row = |name: &str, s: String, b: String, budget: &str| {
        println!("{name:<48} {s:>14} {b:>16} {budget:>10}");
    };
    row(
        "store bytes per play (1 step, 1 log line)",
        "".into(),
        kib(per_play),
        "measured",
    );
    row(
        "store bytes per step (a 20,000-step play)",
        "".into(),
        kib(per_step),
        "measured",
    );
    row(
        "restart: `hero_logic start` until it answers",
        format!("{:.0} ms", ms(restart_small)),
        format!("{:.0} ms", ms(restart_big)),
        "<= 500 ms",
    );
    row(
        "restart after `kill -9` of the server",
        format!("{:.0} ms", ms(recover_small)),
        format!("{:.0} ms", ms(recover_big)),
        "<= 500 ms",
    );
    for (name, s, b, budget) in rows {
        row(name, s, b, budget);
    }
    row(
        "dashboard: launch until its plays are drawn",
        format!("{:.0} ms", ms(open_small)),
        format!("{:.0} ms", ms(open_big)),
        "<= 100 ms",
    );
    println!("load: {}", load());
}
