//! What the benches share: a real server on private folders (stopped when
//! the bench ends), and the small measures the figures are made of. Each
//! bench uses its own part of it.
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "../../tests/e2e/kill.rs"]
mod kill;

pub const BIN: &str = env!("CARGO_BIN_EXE_hero_logic");

/// A flow of `n` quick steps: `main(n)` sums `step(i=i)` for `i < n`.
pub const MANY: &str = include_str!("../../tests/flows/many.py");

/// A server's private socket and data folders, and the files a bench writes.
pub struct Bench {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Bench {
    pub fn new() -> Bench {
        Bench::with_env(&[])
    }

    /// Folders under a short path (a socket's path has a length limit), and
    /// `env` given to every `hero_logic` the bench runs.
    pub fn with_env(env: &[(&str, &str)]) -> Bench {
        let dir = tempfile::Builder::new()
            .prefix("hb")
            .tempdir()
            .expect("a temp dir");
        Bench {
            dir,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("sock").join("hero_logic.sock")
    }

    pub fn hero(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("HERO_SOCKET_DIR", self.dir.path().join("sock"))
            .env("HERO_LOGIC_DATA_DIR", self.data())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("hero_logic runs")
    }

    /// A command's output; it must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.hero(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A command's JSON output, whatever its exit code (a paused play's
    /// `--wait` has its own).
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.hero(args);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: {e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// How long a command took; it must have exited (not been killed).
    pub fn timed(&self, args: &[&str]) -> Duration {
        let start = Instant::now();
        let out = self.hero(args);
        let took = start.elapsed();
        assert!(
            out.status.code().is_some(),
            "{args:?} was killed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        took
    }

    /// Writes a flow's source beside the folders; its path.
    pub fn flow(&self, name: &str, source: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, source).expect("write flow");
        path.display().to_string()
    }
}

/// One JSON-RPC connection, one request at a time.
pub struct Conn {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Conn {
    pub fn open(socket: &Path) -> Conn {
        let writer = UnixStream::connect(socket).expect("connect");
        let reader = BufReader::new(writer.try_clone().expect("clone"));
        Conn { writer, reader }
    }

    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        writeln!(self.writer, "{request}").expect("send");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("reply");
        let reply: Value = serde_json::from_str(&line).expect("a JSON reply");
        assert!(reply["error"].is_null(), "{method}: {reply}");
        reply["result"].clone()
    }
}

impl Bench {
    /// SIGKILLs every process of this bench's server (the server, its fork
    /// server and its runs), as losing the machine would.
    pub fn kill_everything(&self) {
        kill::kill_everything(&self.data());
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.hero(&["stop"]);
    }
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The median of figures that are not times (rates, ratios).
pub fn median_f64(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Steps per second of `flows` flows at once against one alone, as given by
/// `run(flows)`: `ROUNDS` rounds, each one alone then the rest, and the
/// medians of each figure and of each round's ratio. One sample of each
/// was at the mercy of the machine's moment: a lone flow alone varied by
/// half between runs.
pub fn flows_vs_alone(flows: usize, mut run: impl FnMut(usize) -> f64) -> (f64, f64, f64) {
    const ROUNDS: usize = 3;
    let (mut together, mut alone, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let one = run(1);
        let all = run(flows);
        ratios.push(all / one);
        alone.push(one);
        together.push(all);
    }
    (median_f64(together), median_f64(alone), median_f64(ratios))
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One fsync of a small append on the disk of `dir`: the baseline of a
/// durable step.
pub fn fsync_append(dir: &Path, n: usize) -> Duration {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("fsync.bench"))
        .expect("open");
    let start = Instant::now();
    for i in 0..n {
        // One write a line, as a journal would append it.
        let line = format!("{{\"step\":{i},\"output\":\"a small checkpoint\"}}\n");
        file.write_all(line.as_bytes()).expect("append");
        file.sync_data().expect("fsync");
    }
    start.elapsed() / n as u32
}

/// The machine's load averages, printed beside every figure.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
