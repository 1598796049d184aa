//! Answers by HTTP (issue 14): 1,000 plays paused at one pause each, then
//! their 1,000 resume URLs posted by 16 client threads with keep-alive; and
//! side by side, as the baseline, 1,000 more answered by `play_resume` on
//! the Unix socket by 16 threads; two rounds, alternating.
//!
//! Run by hand: `cargo bench --bench http_resume`. It starts a real server
//! with `HERO_LOGIC_HTTP` on a loopback port, and prints for each way in
//! how many answers a second the server took (each one validated and made
//! durable before its answer), their latency, and the time from the first
//! answer until every play had ended (each answer starts a run of a real
//! Python flow, `HERO_LOGIC_MAX_RUNS` at a time).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::Bench;

const PLAYS: usize = 1000;
const CLIENTS: usize = 16;
const ROUNDS: usize = 2;

impl Bench {
    fn rpc(&self, method: &str, params: Value) -> Value {
        let out = self.hero(&["rpc", method, &params.to_string()]);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{method}: {}", String::from_utf8_lossy(&out.stderr)))
    }

    fn count(&self, workflow: &str, status: &str) -> u64 {
        self.rpc(
            "play_count",
            json!({"status": status, "workflow": workflow}),
        )
        .as_u64()
        .expect("a count")
    }

    /// Polls until `status` counts `PLAYS` plays of `workflow`.
    fn until_all(&self, workflow: &str, status: &str) {
        let start = Instant::now();
        while self.count(workflow, status) < PLAYS as u64 {
            assert!(
                start.elapsed() < Duration::from_secs(900),
                "not all {status}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `PLAYS` plays of `workflow`, each paused at its one pause: (sid,
    /// pause id, token).
    fn paused(&self, workflow: &str) -> Vec<(String, String, String)> {
        for n in 0..PLAYS {
            self.rpc(
                "play_run_async",
                json!({"workflow_sid": workflow, "input_data": {"n": n}}),
            );
        }
        self.until_all(workflow, "awaiting_resume");
        let mut out = Vec::new();
        let mut before: Option<String> = None;
        while out.len() < PLAYS {
            let mut params =
                json!({"status": "awaiting_resume", "workflow": workflow, "limit": 500});
            if let Some(b) = &before {
                params["before"] = json!(b);
            }
            let page = self.rpc("play_list", params);
            let page = page.as_array().expect("plays");
            assert!(!page.is_empty(), "fewer paused plays than started");
            for play in page {
                let pause = &play["pending_resumes"][0];
                let text = |v: &Value| v.as_str().expect("a string").to_owned();
                out.push((
                    text(&play["sid"]),
                    text(&pause["id"]),
                    text(&pause["token"]),
                ));
            }
            before = page
                .last()
                .map(|p| p["sid"].as_str().expect("a sid").to_owned());
        }
        out
    }
}

/// Runs `answer` on each item from `CLIENTS` threads; the time until all
/// are answered and each answer's latency, sorted.
fn answer_all<T: Send + 'static, C: Send + 'static>(
    items: Vec<T>,
    connect: impl Fn() -> C + Send + Sync + 'static,
    answer: impl Fn(&mut C, T) + Send + Sync + 'static,
) -> (Duration, Vec<Duration>) {
    let queue = Arc::new(Mutex::new(items));
    let work = Arc::new((connect, answer));
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let queue = queue.clone();
            let work = work.clone();
            std::thread::spawn(move || {
                let mut conn = (work.0)();
                let mut latencies = Vec::new();
                loop {
                    let Some(item) = queue.lock().expect("the queue").pop() else {
                        return latencies;
                    };
                    let t = Instant::now();
                    (work.1)(&mut conn, item);
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("a client"))
        .collect();
    let took = start.elapsed();
    latencies.sort();
    (took, latencies)
}

fn report(how: &str, took: Duration, latencies: &[Duration], ended: Duration) {
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    println!(
        "{how:>7}: {PLAYS} answers in {:.2} s, {:.0} answers/s, latency p50 {:.1} ms p99 {:.1} ms; \
         all plays ended {:.1} s after the first answer",
        took.as_secs_f64(),
        PLAYS as f64 / took.as_secs_f64(),
        at(0.5),
        at(0.99),
        ended.as_secs_f64()
    );
}

fn main() {
    let bench = Bench::with_env(&[("HERO_LOGIC_HTTP", "127.0.0.1:0")]);
    let flow: PathBuf = bench.dir.path().join("paused_once.py");
    std::fs::write(
        &flow,
        "from hero_tracing import flow\n\n@flow\ndef main(n: int = 0):\n    \
         return {\"n\": n, \"answer\": flow.pause(\"go\", schema={\"type\": \"integer\"})}\n",
    )
    .expect("the flow");
    bench.hero(&["start"]);
    let path = flow.to_str().expect("UTF-8");
    let base = bench.rpc("info", json!({}))["http"]
        .as_str()
        .expect("the HTTP API is on")
        .to_owned();
    // Two rounds, the two ways in alternating, so that a machine whose load
    // changes during the run weighs on both.
    for round in 1..=ROUNDS {
        let by_http = format!("by_http{round}");
        let by_rpc = format!("by_rpc{round}");
        for name in [&by_http, &by_rpc] {
            bench.hero(&["workflow", "save", path, "--name", name, "--replace"]);
        }

        // By HTTP: each resume URL posted with keep-alive.
        let urls: Vec<String> = bench
            .paused(&by_http)
            .into_iter()
            .map(|(_, _, token)| format!("{base}/v1/resume/{token}"))
            .collect();
        let (took, latencies) = answer_all(
            urls,
            || -> ureq::Agent {
                ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into()
            },
            |agent, url| {
                let reply = agent
                    .post(&url)
                    .header("content-type", "application/json")
                    .send("7")
                    .expect("an answer");
                assert_eq!(reply.status().as_u16(), 200);
            },
        );
        let t = Instant::now();
        bench.until_all(&by_http, "success");
        report(
            &format!("http #{round}"),
            took,
            &latencies,
            took + t.elapsed(),
        );

        // The baseline: the same answers by `play_resume` on the socket.
        let pauses = bench.paused(&by_rpc);
        let socket = bench.socket();
        let (took, latencies) = answer_all(
            pauses,
            move || hero_logic::client::Client::connect(&socket).expect("a connection"),
            |client, (sid, id, _)| {
                client.play_resume(&sid, &id, &json!(7)).expect("an answer");
            },
        );
        let t = Instant::now();
        bench.until_all(&by_rpc, "success");
        report(
            &format!("rpc #{round}"),
            took,
            &latencies,
            took + t.elapsed(),
        );
    }
}
