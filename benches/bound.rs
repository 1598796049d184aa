//! What this machine allows a durable step, whatever the server: the
//! `volume` bench's two step rows measured against the least server that
//! can keep its promise.
//!
//! That server is a loop in this process, nothing of `hero_logic`: it
//! polls every flow's socket, takes each request line, spends a given time
//! on it (standing for the parse, the check and the record a real server
//! needs), writes the batch as one 4 KiB `O_DIRECT | O_DSYNC` block on the
//! data disk, and answers everyone in it; one flow alone is polled for, as
//! `hero_logic`'s server does. Split in two threads, one reads and works
//! while the other writes the batch before and answers it. Its flows are Python processes that do the
//! least a step of the SDK must: a JSON request out, the answer back and
//! decoded (polled for when alone, as the SDK does). A bare flow sends a
//! fixed line, to show the floor: a write and a round trip.
//!
//! Rows: a lone step against one fsync of a small append (as `volume`
//! measures it), and eight flows at once against one alone, with no work
//! a request, with 25 µs, and with 25 µs split. Then the same eight flows
//! against one alone on PostgreSQL (as `postgres` measures them), on a
//! throwaway cluster, with no work a request, one loop and split: each
//! batch is one statement in a transaction of its own (one round trip and
//! one commit), either a row a request or `hero_logic`'s own checkpoint
//! statement on its own schema. If the least server misses a budget here,
//! no `hero_logic` can meet it on this machine.
//!
//! Run: `cargo bench --bench bound` (the PostgreSQL rows need Debian's
//! `postgresql`, and are skipped without it).

mod common;
#[allow(dead_code)]
#[path = "../tests/e2e/pgcluster.rs"]
mod pgcluster;

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use common::{flows_vs_alone, fsync_append, load, median_f64};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// Steps a lone flow makes, and each of eight.
const STEPS: usize = 6_000;
const STEPS_EACH: usize = 3_000;
const FLOWS: usize = 8;
const ROUNDS: usize = 3;
/// How long the server polls for a lone flow's next request.
const SPIN: Duration = Duration::from_micros(200);
const BLOCK: usize = 4096;
const BLOCKS: u64 = 1024;

/// A flow of the least server. `json`: a step as the SDK's least, a
/// request encoded and sent, its answer decoded; `bare`: a fixed line out
/// and one back. Polled for when alone, as the SDK does.
const FLOW: &str = r#"
import json, socket, sys, time
path, n, alone, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
s = socket.socket(socket.AF_UNIX)
s.connect(path)
enc = json.JSONEncoder(separators=(",", ":")).encode
s.setblocking(not alone)
for i in range(n):
    if kind == "bare":
        s.sendall(b'{"i":1}\n')
    else:
        key = enc({"i": i, "args": {"i": i}})
        line = enc({"jsonrpc": "2.0", "method": "step_output", "id": i,
                    "params": {"key": key, "output": i,
                               "span": {"start": time.time(), "end": time.time()}}}) + "\n"
        s.sendall(line.encode())
    data = b""
    while not data.endswith(b"\n"):
        try:
            data += s.recv(4096)
        except BlockingIOError:
            pass
    if kind != "bare":
        json.loads(data)
"#;

/// Which step the flows make (see [`FLOW`]).
const BARE: &str = "bare";
const JSON: &str = "json";

/// The journal: one preallocated file written in place, a block a batch.
struct Journal {
    file: std::fs::File,
    /// Two blocks' room, for one block aligned as direct I/O needs it,
    /// at `aligned`.
    room: Vec<u8>,
    aligned: usize,
    at: u64,
}

impl Journal {
    fn open(path: &Path) -> Journal {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(nix::libc::O_DIRECT | nix::libc::O_DSYNC)
            .open(path)
            .expect("a journal that takes direct I/O");
        let room = vec![0u8; 2 * BLOCK];
        let aligned = room.as_ptr().align_offset(BLOCK);
        let journal = Journal {
            file,
            room,
            aligned,
            at: 0,
        };
        for i in 0..BLOCKS {
            journal
                .file
                .write_all_at(journal.block(), i * BLOCK as u64)
                .expect("preallocate");
        }
        journal
    }

    fn block(&self) -> &[u8] {
        &self.room[self.aligned..self.aligned + BLOCK]
    }

    fn write(&mut self, requests: usize) {
        let at = self.aligned;
        self.room[at..at + 8].copy_from_slice(&(requests as u64).to_le_bytes());
        self.file
            .write_all_at(self.block(), self.at * BLOCK as u64)
            .expect("a durable write");
        self.at = (self.at + 1) % BLOCKS;
    }
}

/// Where the least server makes a batch durable.
enum Store {
    Disk(Journal),
    /// PostgreSQL, one statement a batch in a transaction of its own.
    Postgres {
        client: Box<postgres::Client>,
        statement: postgres::Statement,
        writes: Writes,
        /// Counts the rows written, for keys that are all new, as a step's
        /// is.
        next: u64,
    },
}

/// What a batch writes on PostgreSQL.
enum Writes {
    /// A row a request in a table of one key and a short text.
    Row,
    /// What `hero_logic` writes for the checkpoints of concurrent flows,
    /// by its own statement on its own schema: each flow's play row
    /// locked and checked, the step's output, the play's count of steps
    /// and the step's span. A lone flow's go by the same statement, where
    /// `hero_logic` has a plainer one for a batch of one.
    Checkpoint,
}

/// A step's span the size of `hero_logic`'s for a small step (its plays'
/// records are made about a kilobyte, as real ones are).
const SPAN: &str = r#"{"id":"1.2","play_sid":"p0","run":1,"parent_id":"1.1","name":"step","kind":"step","status":"success","started_at":"2026-12-06T02:00:00.000001Z","ended_at":"2026-12-06T02:00:00.000002Z","duration_ms":0.0021,"inputs":{"i":1},"output":1,"error":null,"source_file":"/tmp/hb/many.py","source_line":4,"step_key":"0123456789abcdef0123456789abcdef01234567","child_play_sid":null,"cost_usd":0.0}"#;

impl Store {
    fn postgres(url: &str, writes: Writes) -> Store {
        let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
        let sql = match writes {
            Writes::Row => {
                client
                    .batch_execute("CREATE TABLE bound (k text PRIMARY KEY, v text NOT NULL)")
                    .expect("a table");
                "INSERT INTO bound (k, v) SELECT k, 'a small checkpoint' FROM unnest($1::text[]) AS k"
            }
            Writes::Checkpoint => {
                hero_logic::store::pg::Pg::open(url, None).expect("hero_logic's schema");
                let record = format!("{{\"padding\":\"{}\"}}", "0123456789abcdef".repeat(64));
                for flow in 0..FLOWS {
                    client
                        .execute(
                            "INSERT INTO plays (sid, status, workflow_sid, record, runs) \
                             VALUES ($1, 'running', 'w', $2, 1)",
                            &[&format!("p{flow}"), &record],
                        )
                        .expect("a play");
                }
                hero_logic::store::pg::FENCED_CHECKPOINTS
            }
        };
        let statement = client.prepare(sql).expect("prepare");
        Store::Postgres {
            client: Box::new(client),
            statement,
            writes,
            next: 0,
        }
    }

    /// Makes durable one request of each of `flows` (by their places).
    fn write(&mut self, flows: &[usize]) {
        match self {
            Store::Disk(journal) => journal.write(flows.len()),
            Store::Postgres {
                client,
                statement,
                writes,
                next,
            } => {
                let numbers = *next..*next + flows.len() as u64;
                *next = numbers.end;
                let keys: Vec<String> = numbers.clone().map(|k| k.to_string()).collect();
                match writes {
                    Writes::Row => client.execute(statement, &[&keys]),
                    Writes::Checkpoint => {
                        let sids: Vec<String> = flows.iter().map(|f| format!("p{f}")).collect();
                        let outputs = vec!["1".to_owned(); flows.len()];
                        let runs = vec![1i64; flows.len()];
                        let seqs: Vec<Option<i64>> = numbers.map(|k| Some(k as i64)).collect();
                        let spans = vec![Some(SPAN.to_owned()); flows.len()];
                        client.execute(statement, &[&sids, &keys, &outputs, &runs, &seqs, &spans])
                    }
                }
                .expect("a commit");
            }
        }
    }
}

fn spend(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

/// How the least server is built.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// One thread reads, works, writes and answers, a batch at a time.
    Loop,
    /// One thread reads and works; another writes each batch and answers
    /// it, so a batch's work overlaps the write before it.
    Split,
}

/// The requests read and worked on, waiting for their write.
#[derive(Default)]
struct Queued {
    flows: Vec<usize>,
    done: bool,
}

/// Serves `flows` connections until all have closed: the steps answered,
/// and the time from the last connection (Python's start is no step's).
fn serve(
    listener: &UnixListener,
    flows: usize,
    work: Duration,
    store: &mut Store,
    shape: Shape,
) -> (usize, Duration) {
    let mut conns: Vec<UnixStream> = (0..flows)
        .map(|_| listener.accept().expect("a flow").0)
        .collect();
    let start = Instant::now();
    for conn in &conns {
        conn.set_nonblocking(true).expect("nonblocking");
    }
    let answer = |conns: &mut [UnixStream], batch: &[usize]| {
        for &i in batch {
            conns[i].write_all(b"{\"ok\":true}\n").expect("an answer");
        }
    };
    let queued = (Mutex::new(Queued::default()), Condvar::new());
    let mut outs: Vec<UnixStream> = conns
        .iter()
        .map(|c| c.try_clone().expect("a second handle"))
        .collect();
    // The writer's, when there is one; the loop's otherwise.
    let mut store = Some(store);
    std::thread::scope(|scope| {
        let writer = (shape == Shape::Split).then(|| {
            let (queued, answer) = (&queued, &answer);
            let store = store.take().expect("the store");
            scope.spawn(move || {
                let mut steps = 0;
                loop {
                    let batch = {
                        let mut q = queued.0.lock().expect("queue");
                        while q.flows.is_empty() && !q.done {
                            q = queued.1.wait(q).expect("queue");
                        }
                        if q.flows.is_empty() {
                            return steps;
                        }
                        std::mem::take(&mut q.flows)
                    };
                    store.write(&batch);
                    answer(&mut outs, &batch);
                    steps += batch.len();
                }
            })
        });
        let mut partial = vec![Vec::new(); flows];
        let mut open = vec![true; flows];
        let (mut batch, mut steps) = (Vec::new(), 0);
        let mut spin_until = None;
        let mut chunk = [0u8; 4096];
        while open.iter().any(|o| *o) {
            let ready: Vec<bool> = {
                let mut fds: Vec<PollFd> = conns
                    .iter()
                    .map(|c| PollFd::new(c.as_fd(), PollFlags::POLLIN))
                    .collect();
                let spinning = spin_until.is_some_and(|until| Instant::now() < until);
                let timeout = if spinning {
                    PollTimeout::ZERO
                } else {
                    PollTimeout::NONE
                };
                poll(&mut fds, timeout).expect("poll");
                fds.iter()
                    .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
                    .collect()
            };
            for (i, conn) in conns.iter_mut().enumerate() {
                if !ready[i] || !open[i] {
                    continue;
                }
                match conn.read(&mut chunk) {
                    Ok(0) => open[i] = false,
                    Ok(n) => {
                        partial[i].extend_from_slice(&chunk[..n]);
                        while let Some(end) = partial[i].iter().position(|b| *b == b'\n') {
                            partial[i].drain(..=end);
                            spend(work);
                            batch.push(i);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => open[i] = false,
                }
            }
            if batch.is_empty() {
                continue;
            }
            if shape == Shape::Split {
                let mut q = queued.0.lock().expect("queue");
                q.flows.append(&mut batch);
                queued.1.notify_one();
            } else {
                store.as_mut().expect("the store").write(&batch);
                answer(&mut conns, &batch);
                steps += batch.len();
                batch.clear();
            }
            spin_until = (flows == 1).then(|| Instant::now() + SPIN);
        }
        if let Some(writer) = writer {
            queued.0.lock().expect("queue").done = true;
            queued.1.notify_one();
            steps = writer.join().expect("the writer");
        }
        (steps, start.elapsed())
    })
}

/// Steps per second of `flows` Python flows of `steps` steps each, of
/// `kind` (see [`FLOW`]). A lone flow polls for its answer on the disk, not
/// on PostgreSQL, whose answer needs the core (as with `hero_logic`).
fn run(
    dir: &Path,
    store: &mut Store,
    kind: &str,
    flows: usize,
    steps: usize,
    work: Duration,
    shape: Shape,
) -> f64 {
    let socket = dir.join("bound.sock");
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).expect("bind");
    let polls = flows == 1 && matches!(store, Store::Disk(_));
    let alone = if polls { "1" } else { "0" };
    let children: Vec<Child> = (0..flows)
        .map(|_| {
            Command::new("python3")
                .args(["-c", FLOW])
                .arg(&socket)
                .arg(steps.to_string())
                .arg(alone)
                .arg(kind)
                .spawn()
                .expect("python3")
        })
        .collect();
    let (answered, elapsed) = serve(&listener, flows, work, store, shape);
    for mut child in children {
        assert!(child.wait().expect("a flow").success(), "a flow failed");
    }
    assert_eq!(answered, flows * steps, "every step answered");
    answered as f64 / elapsed.as_secs_f64()
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("hb")
        .tempdir()
        .expect("a temp dir");
    let dir = dir.path();
    let mut disk = Store::Disk(Journal::open(&dir.join("bound.journal")));
    let none = Duration::ZERO;
    let some = Duration::from_micros(25);
    println!("load: {}", load());
    println!(
        "{:<58} {:>10} {:>10} {:>8} {:>8}",
        "least server, figure", "measured", "baseline", "ratio", "budget"
    );
    for (name, kind, work) in [
        ("bare line", BARE, none),
        ("JSON request, no work", JSON, none),
        ("JSON request, 25 us of work", JSON, some),
    ] {
        let (mut steps, mut fsyncs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let before = fsync_append(dir, 200).as_secs_f64();
            let step = 1.0 / run(dir, &mut disk, kind, 1, STEPS, work, Shape::Loop);
            let after = fsync_append(dir, 200).as_secs_f64();
            let fsync = (before + after) / 2.0;
            steps.push(step);
            fsyncs.push(fsync);
            ratios.push(step / fsync);
        }
        println!(
            "{:<58} {:>7.3} ms {:>7.3} ms {:>7.2}x {:>8}",
            format!("lone step vs one fsync: {name}"),
            median_f64(steps) * 1e3,
            median_f64(fsyncs) * 1e3,
            median_f64(ratios),
            "<= 1.3x"
        );
    }
    for (name, work, shape) in [
        ("no work", none, Shape::Loop),
        ("25 us of work", some, Shape::Loop),
        ("25 us of work, split", some, Shape::Split),
    ] {
        flows_row(
            dir,
            &mut disk,
            work,
            shape,
            &format!("JSON request, {name}"),
            2.5,
        );
    }
    if !pgcluster::available() {
        println!("PostgreSQL rows skipped: Debian's `postgresql` is not installed");
        return;
    }
    for (writes, what) in [
        (Writes::Row, "a row a request"),
        (Writes::Checkpoint, "hero_logic's checkpoint"),
    ] {
        let mut pg = Store::postgres(&pgcluster::database(None), writes);
        for (name, shape) in [("one loop", Shape::Loop), ("split", Shape::Split)] {
            let name = format!("PostgreSQL, {what}, no work, {name}");
            flows_row(dir, &mut pg, none, shape, &name, 3.0);
        }
    }
}

/// Prints eight flows at once against one alone, on `store`, `work` a
/// request. One flow alone is served by the loop: a second thread only
/// adds a hand-off to its every step.
fn flows_row(dir: &Path, store: &mut Store, work: Duration, shape: Shape, name: &str, budget: f64) {
    let (together, alone, ratio) = flows_vs_alone(FLOWS, |n| match n {
        1 => run(dir, store, JSON, 1, STEPS, work, Shape::Loop),
        n => run(dir, store, JSON, n, STEPS_EACH, work, shape),
    });
    println!(
        "{:<58} {:>5.0} st/s {:>5.0} st/s {:>7.2}x {:>8}",
        format!("{FLOWS} flows vs one alone: {name}"),
        together,
        alone,
        ratio,
        format!(">= {budget}x")
    );
}
