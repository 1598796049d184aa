//! Timers at scale: N plays (10,000 unless `HERO_BENCH_TIMERS` says) parked
//! on timers that all come due within one second, then woken by the server.
//!
//! Run by hand: `cargo bench --bench timers`. It starts a real server on
//! temporary folders and a real Python flow (`flow.sleep_until`), and prints:
//! - how long parking the N plays took (each runs once, asks its timer and
//!   exits 75);
//! - while they are parked: the server's RSS, its CPU time over an idle
//!   window, and the Python processes under it (none but the spare);
//! - from the first timer's due time: the wall time until every timer has
//!   fired (no play left awaiting), and until all N plays have run again
//!   and finished; the server's RSS after.
//!
//! The due times are set before the plays start, far enough ahead for all
//! of them to park: a calibration of 100 plays (parked on a far timer, then
//! cancelled) says how long parking takes here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hero_logic::client::{Client, SaveRequest, StartRequest};
use hero_logic::model::PlayStatus;
use serde_json::json;

mod common;
use common::{Bench, load};

const FLOW: &str = r#"from hero_tracing import flow


@flow
def main(wake: str):
    flow.sleep_until(wake)
    return "woke"
"#;

/// A server started on a bench's folders.
fn start_server() -> Bench {
    let server = Bench::new();
    let out = server.hero(&["start"]);
    assert!(out.status.success(), "the server starts: {out:?}");
    server
}

impl Bench {
    fn client(&self) -> Client {
        Client::connect(&self.socket()).expect("connect")
    }

    fn pid(&self) -> u32 {
        let info = self.client().info().expect("info");
        info["pid"].as_u64().expect("the server's pid") as u32
    }
}

/// `VmRSS` of `pid`, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kib / 1024.0
}

/// User plus system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("a stat line")
        .1
        .split_whitespace()
        .collect();
    // After the command: state is field 3, utime 14 and stime 15.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

fn clock_ticks_per_second() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The live Python processes whose parent is `pid`.
fn python_children(pid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|entry| {
        let child: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
        let (head, rest) = stat.rsplit_once(')')?;
        let mut fields = rest.split_whitespace();
        let state = fields.next()?;
        let ppid: u32 = fields.next()?.parse().ok()?;
        (ppid == pid && head.contains("(python") && state != "Z").then_some(())
    })
    .count()
}

fn rfc3339(at: jiff::Timestamp) -> String {
    at.to_string()
}

/// Starts `n` plays of `workflow`, play `i` waking at `wake(i)`; their sids.
fn start_plays(
    client: &mut Client,
    workflow: &str,
    dir: &Path,
    n: usize,
    wake: impl Fn(usize) -> jiff::Timestamp,
) -> Vec<String> {
    (0..n)
        .map(|i| {
            let request = StartRequest {
                workflow: workflow.to_owned(),
                input_data: json!({"wake": rfc3339(wake(i))}),
                working_dir: Some(PathBuf::from(dir)),
                ..StartRequest::default()
            };
            client.play_start(&request).expect("play_start").sid
        })
        .collect()
}

/// Waits until `count` plays are `status` (at least, or for 0: none), and
/// says whether that came before `by`; fails on the first failed play.
fn until_count(
    client: &mut Client,
    status: PlayStatus,
    count: u64,
    by: Option<jiff::Timestamp>,
    what: &str,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let failed = client
            .play_count(Some(PlayStatus::Failed), None)
            .expect("play_count");
        if failed > 0 {
            let play = &client
                .play_list(Some(PlayStatus::Failed), None, Some(1))
                .expect("play_list")[0];
            panic!("{what}: play {} failed: {:?}", play.sid, play.error);
        }
        let now = client.play_count(Some(status), None).expect("play_count");
        if (count > 0 && now >= count) || (count == 0 && now == 0) {
            return true;
        }
        if by.is_some_and(|by| jiff::Timestamp::now() >= by) {
            return false;
        }
        assert!(Instant::now() < deadline, "{what}: not within an hour");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn main() {
    let n: usize = std::env::var("HERO_BENCH_TIMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let server = start_server();
    let pid = server.pid();
    let dir = server.dir.path().to_owned();
    let mut client = server.client();
    let saved = client
        .workflow_save(&SaveRequest {
            name: Some("sleeper"),
            source: FLOW,
            file_name: Some("sleeper.py"),
            ..SaveRequest::default()
        })
        .expect("workflow_save");
    let workflow = saved.workflow.sid.clone();
    let rss_idle = rss_mib(pid);

    // Calibration: how long parking takes on this machine.
    const PROBE: usize = 100;
    let far = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let started = Instant::now();
    let probes = start_plays(&mut client, &workflow, &dir, PROBE, |_| far);
    until_count(
        &mut client,
        PlayStatus::AwaitingResume,
        PROBE as u64,
        None,
        "calibration",
    );
    let per_play = started.elapsed() / PROBE as u32;
    for sid in &probes {
        client.play_cancel(sid).expect("cancel a probe");
    }

    // Every due time within one second, after all plays should have parked.
    let ahead = per_play * n as u32 * 3 / 2 + Duration::from_secs(15);
    let first_due = jiff::Timestamp::now() + jiff::SignedDuration::try_from(ahead).expect("ahead");
    let step = jiff::SignedDuration::from_nanos(1_000_000_000 / n as i64);
    println!(
        "{n} plays, due from {first_due} within 1 s; parking one took {:.1} ms in calibration, load {}",
        per_play.as_secs_f64() * 1000.0,
        load()
    );

    let started = Instant::now();
    start_plays(&mut client, &workflow, &dir, n, |i| {
        first_due + step * i as i32
    });
    let started_in = started.elapsed();
    let on_time = until_count(
        &mut client,
        PlayStatus::AwaitingResume,
        n as u64,
        Some(first_due),
        "parking",
    );
    if !on_time {
        // Some plays wake before others have parked: the idle and firing
        // figures would mean nothing.
        until_count(&mut client, PlayStatus::Success, n as u64, None, "waking");
        println!(
            "parking ran past the first due time (a busier machine than in calibration): \
             no figures; rerun on a quieter machine"
        );
        return;
    }
    let parked_in = started.elapsed();
    let left = first_due.duration_since(jiff::Timestamp::now());
    println!(
        "parked {n} plays in {:.1} s ({:.1} s of it to start them); {:.1} s left before the first is due",
        parked_in.as_secs_f64(),
        started_in.as_secs_f64(),
        left.as_secs_f64()
    );

    // Idle while parked: the server's CPU over a window that ends before
    // the first due time.
    let window = Duration::try_from(left)
        .unwrap_or_default()
        .saturating_sub(Duration::from_secs(1))
        .min(Duration::from_secs(30));
    if window >= Duration::from_secs(2) {
        let ticks = cpu_ticks(pid);
        let measured = Instant::now();
        std::thread::sleep(window);
        let used = (cpu_ticks(pid) - ticks) as f64 / clock_ticks_per_second();
        // Counted once the last run has surely been reaped.
        let children = python_children(pid);
        let rss_parked = rss_mib(pid);
        println!(
            "parked: server RSS {rss_parked:.1} MiB (idle, empty: {rss_idle:.1} MiB); \
             CPU {:.3} s over {:.1} s idle ({:.2} %); Python processes under it: {children}",
            used,
            measured.elapsed().as_secs_f64(),
            100.0 * used / measured.elapsed().as_secs_f64()
        );
    } else {
        let (rss_parked, children) = (rss_mib(pid), python_children(pid));
        println!(
            "parked: server RSS {rss_parked:.1} MiB (idle, empty: {rss_idle:.1} MiB); \
             Python processes under it: {children}; idle CPU not measured (parking ran late)"
        );
    }

    // Wake: from the first due time to the last `success`.
    let wait = first_due.duration_since(jiff::Timestamp::now());
    if let Ok(wait) = Duration::try_from(wait) {
        std::thread::sleep(wait);
    }
    let due = Instant::now();
    // The timers' own part: every play has left `awaiting_resume` (woken,
    // queued for a run slot); the rest is running the N scripts again.
    until_count(&mut client, PlayStatus::AwaitingResume, 0, None, "firing");
    let fired_in = due.elapsed();
    until_count(&mut client, PlayStatus::Success, n as u64, None, "waking");
    let woke_in = due.elapsed();
    println!(
        "all {n} timers fired within {:.2} s of the first due time; woke and finished all \
         in {:.2} s ({:.0} plays/s); server RSS after {:.1} MiB; load {}",
        fired_in.as_secs_f64(),
        woke_in.as_secs_f64(),
        n as f64 / woke_in.as_secs_f64(),
        rss_mib(pid),
        load()
    );
}
