//! Answers by HTTP (issue 14): 1,000 plays paused at one pause each, then
//! their 1,000 resume URLs posted by 16 client threads with keep-alive.
//!
//! Run by hand: `cargo bench --bench http_resume`. It starts a real server
//! with `HERO_LOGIC_HTTP` on a loopback port, and prints how many answers a
//! second the listener took (each one validated and made durable before
//! its `200`), and the time from the first post until every play had ended
//! (each answer starts a run of a real Python flow, `HERO_LOGIC_MAX_RUNS`
//! at a time).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_hero_logic");
const PLAYS: usize = 1000;
const CLIENTS: usize = 16;

struct Bench {
    dir: tempfile::TempDir,
}

impl Bench {
    fn hero(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("HERO_SOCKET_DIR", self.dir.path().join("sock"))
            .env("HERO_LOGIC_DATA_DIR", self.dir.path().join("data"))
            .env("HERO_LOGIC_HTTP", "127.0.0.1:0")
            .output()
            .expect("hero_logic runs")
    }

    fn rpc(&self, method: &str, params: Value) -> Value {
        let out = self.hero(&["rpc", method, &params.to_string()]);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{method}: {}", String::from_utf8_lossy(&out.stderr)))
    }

    fn count(&self, status: &str) -> u64 {
        self.rpc(
            "play_count",
            json!({"status": status, "workflow": "paused_once"}),
        )
        .as_u64()
        .expect("a count")
    }

    /// Polls until `status` counts `PLAYS` plays; the time it took.
    fn until_all(&self, status: &str, within: Duration) -> Duration {
        let start = Instant::now();
        while self.count(status) < PLAYS as u64 {
            assert!(
                start.elapsed() < within,
                "not all {status} within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        start.elapsed()
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.hero(&["stop"]);
    }
}

fn main() {
    let bench = Bench {
        dir: tempfile::tempdir().expect("a temp dir"),
    };
    let flow: PathBuf = bench.dir.path().join("paused_once.py");
    std::fs::write(
        &flow,
        "from hero_tracing import flow\n\n@flow\ndef main(n: int = 0):\n    \
         return {\"n\": n, \"answer\": flow.pause(\"go\", schema={\"type\": \"integer\"})}\n",
    )
    .expect("the flow");
    bench.hero(&["start"]);
    bench.hero(&["workflow", "save", flow.to_str().expect("UTF-8")]);
    let base = bench.rpc("info", json!({}))["http"]
        .as_str()
        .expect("the HTTP API is on")
        .to_owned();
    let started = Instant::now();
    for n in 0..PLAYS {
        bench.rpc(
            "play_run_async",
            json!({"workflow_sid": "paused_once", "input_data": {"n": n}}),
        );
    }
    let paused = bench.until_all("awaiting_resume", Duration::from_secs(600));
    println!(
        "{PLAYS} plays started and paused in {:.1} s",
        (started.elapsed()).as_secs_f64().max(paused.as_secs_f64())
    );
    let mut urls = Vec::new();
    let mut before: Option<String> = None;
    while urls.len() < PLAYS {
        let mut params =
            json!({"status": "awaiting_resume", "workflow": "paused_once", "limit": 500});
        if let Some(b) = &before {
            params["before"] = json!(b);
        }
        let page = bench.rpc("play_list", params);
        let page = page.as_array().expect("plays");
        assert!(!page.is_empty(), "fewer paused plays than started");
        for play in page {
            let token = play["pending_resumes"][0]["token"]
                .as_str()
                .expect("a token");
            urls.push(format!("{base}/v1/resume/{token}"));
        }
        before = page
            .last()
            .and_then(|p| p["sid"].as_str())
            .map(str::to_owned);
    }
    let queue = Arc::new(Mutex::new(urls));
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let queue = queue.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut latencies = Vec::new();
                loop {
                    let Some(url) = queue.lock().expect("the queue").pop() else {
                        return latencies;
                    };
                    let t = Instant::now();
                    let reply = agent
                        .post(&url)
                        .header("content-type", "application/json")
                        .send("7")
                        .expect("an answer");
                    assert_eq!(reply.status().as_u16(), 200);
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("a client"))
        .collect();
    let answered = start.elapsed();
    let ended = bench.until_all("success", Duration::from_secs(600)) + answered;
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    println!(
        "{PLAYS} answers by HTTP ({CLIENTS} clients): {:.2} s, {:.0} answers/s; latency p50 {:.1} ms, p99 {:.1} ms",
        answered.as_secs_f64(),
        PLAYS as f64 / answered.as_secs_f64(),
        at(0.5),
        at(0.99)
    );
    println!(
        "all {PLAYS} plays ended {:.1} s after the first answer was sent",
        ended.as_secs_f64()
    );
}
