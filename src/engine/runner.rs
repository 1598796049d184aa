//! The runner: with `zygote.rs`, the only place that starts flow processes.
//!
//! A run is a child the zygote forks, or (when no zygote is ready in time)
//! `PYTHON -m hero_tracing run FILE` started cold; either way in a fresh
//! process group, so that cancel and timeout can kill the script and
//! everything it started.
//! Its stdout and stderr become the play's log lines, written as deferred
//! writes at the pace the store takes them.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::channel::RunToken;
use super::lifecycle::Outcome;
use super::sdk_events::RunReport;
use super::{Engine, Result};
use crate::model::{LogLine, LogStream, OnTimeout, Play, now};
use crate::sdk;
use crate::store::StoreError;
use crate::store::writer::Plan;

/// How many trailing stderr lines a failure message quotes.
const STDERR_TAIL: usize = 20;

/// The longest log line kept as one: a longer one is kept in pieces this
/// long, so that no single record grows with what a flow prints.
const LOG_CHUNK: usize = 16 * 1024;

/// Log lines waiting to be written, at most; a flow printing faster waits.
const LOG_QUEUE: usize = 4096;

/// Log lines written in one batch, at most.
const LOG_BATCH: usize = 512;

/// The bytes of logs a run may still keep, and those it printed past them.
struct LogBudget {
    left: AtomicU64,
    dropped: AtomicU64,
}

impl LogBudget {
    /// Queues a line while the budget lasts, and counts it otherwise.
    async fn offer(
        &self,
        queue: &tokio::sync::mpsc::Sender<(LogStream, String)>,
        stream: LogStream,
        line: String,
    ) {
        let cost = line.len() as u64 + 1;
        let kept = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(cost)
            })
            .is_ok();
        if kept {
            // The store's side ends only after this side has.
            let _ = queue.send((stream, line)).await;
        } else {
            // Once one line is over, every later one is too: a short line
            // after a long one must not slip in and hide that logs are cut.
            self.left.store(0, Ordering::Relaxed);
            self.dropped.fetch_add(cost, Ordering::Relaxed);
        }
    }
}

/// The next line a flow printed, without its line end, at most
/// [`LOG_CHUNK`] bytes of it, with bytes that are not UTF-8 replaced; `None`
/// at the end of the stream (or when it cannot be read any more).
async fn read_log_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> Option<String> {
    let mut line = Vec::new();
    loop {
        let available = match reader.fill_buf().await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::debug!("a flow's output cannot be read: {e}");
                return None;
            }
        };
        if available.is_empty() {
            if line.is_empty() {
                return None;
            }
            break;
        }
        let room = LOG_CHUNK - line.len();
        let window = &available[..available.len().min(room)];
        if let Some(end) = window.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&window[..end]);
            reader.consume(end + 1);
            break;
        }
        let taken = window.len();
        line.extend_from_slice(window);
        reader.consume(taken);
        if line.len() == LOG_CHUNK {
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Some(match String::from_utf8(line) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Everything a run's process needs, prepared before it starts. Not
/// `Debug`: its environment carries the run's token.
pub struct RunSpec {
    pub python: PathBuf,
    pub script: PathBuf,
    pub cwd: PathBuf,
    pub pythonpath: String,
    /// The run's own variables: the play, the socket, the run's token, the
    /// input, the replay files.
    pub env: Vec<(&'static str, String)>,
    /// The run's channel, open for as long as the spec is held: the driver
    /// holds it until the run's process has ended.
    pub _token: RunToken,
}

/// A live run's process group.
#[derive(Debug, Clone, Copy)]
pub struct RunHandle {
    pgid: i32,
}

impl RunHandle {
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Kills the whole group: the script and whatever it started.
    pub fn kill(&self) {
        // A group id of 0 would mean our own group: never signal that.
        if self.pgid <= 0 {
            return;
        }
        let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGKILL);
    }
}

/// A run's stdout or stderr, as the server reads it.
pub type LogPipe = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

/// How a forked run's end is awaited: its exit status, or `None` when that
/// status was lost with its zygote (see `zygote.rs`).
pub type ForkedExit = std::pin::Pin<
    Box<dyn std::future::Future<Output = std::io::Result<Option<ExitStatus>>> + Send>,
>;

/// A run's process: started cold, or forked by the zygote.
pub struct RunChild {
    process: Process,
    pgid: i32,
    stdout: Option<LogPipe>,
    stderr: Option<LogPipe>,
}

enum Process {
    Cold(Child),
    Forked(Option<ForkedExit>),
}

impl RunChild {
    pub fn handle(&self) -> RunHandle {
        RunHandle { pgid: self.pgid }
    }

    /// A run the zygote forked: `pid` leads its own session and group.
    pub(super) fn forked(pid: i32, exit: ForkedExit, stdout: LogPipe, stderr: LogPipe) -> RunChild {
        RunChild {
            process: Process::Forked(Some(exit)),
            pgid: pid,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// The run's exit status, once it has ended; `None` when it ended with
    /// its status lost (its zygote died first).
    pub async fn wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        match &mut self.process {
            Process::Cold(child) => child.wait().await.map(Some),
            Process::Forked(exit) => match exit.take() {
                Some(exit) => exit.await,
                None => Err(std::io::Error::other("the run was awaited twice")),
            },
        }
    }
}

/// The environment every flow process shares, whichever run it serves.
pub(super) fn base_command(python: &Path, cwd: &Path, pythonpath: &str) -> Command {
    let mut command = Command::new(python);
    command
        .args(["-m", "hero_tracing"])
        .current_dir(cwd)
        .env("PYTHONPATH", pythonpath)
        .env("PYTHONUNBUFFERED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    command
}

/// A cold start: `python -m hero_tracing run FILE`.
pub fn spawn(spec: &RunSpec) -> std::result::Result<RunChild, String> {
    let mut command = base_command(&spec.python, &spec.cwd, &spec.pythonpath);
    command
        .arg("run")
        .arg(&spec.script)
        .envs(spec.env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null());
    let mut child = command.spawn().map_err(|e| {
        format!(
            "cannot start the interpreter {}: {e} (set HERO_LOGIC_PYTHON to a Python 3 executable)",
            spec.python.display()
        )
    })?;
    let pgid = child.id().map(|id| id as i32).unwrap_or(0);
    let stdout = child.stdout.take().map(|s| Box::new(s) as LogPipe);
    let stderr = child.stderr.take().map(|s| Box::new(s) as LogPipe);
    Ok(RunChild {
        process: Process::Cold(child),
        pgid,
        stdout,
        stderr,
    })
}

/// Kills the process group a crashed server left running, if that group is
/// still a flow's (a pid may have been reused since).
pub fn kill_leftover(pgid: i32) {
    let cmdline = std::fs::read(format!("/proc/{pgid}/cmdline")).unwrap_or_default();
    if pgid > 0 && String::from_utf8_lossy(&cmdline).contains("hero_tracing") {
        tracing::info!("killing process group {pgid}, left running by the previous server");
        RunHandle { pgid }.kill();
    }
}

/// Turns the exit status and what the SDK reported into the run's outcome.
/// A run killed by a signal is tried again up to `retries` times. A run
/// whose status was lost (its zygote died before it could tell) is judged
/// by its SDK's report alone; without one it is taken to have died.
pub fn outcome(
    exit: std::io::Result<Option<ExitStatus>>,
    report: Option<RunReport>,
    stderr_tail: &str,
    retries: u32,
) -> Outcome {
    let status = match (exit, report) {
        (Ok(Some(s)), report) => (s, report),
        (Ok(None), Some(RunReport::Success(output))) => return Outcome::Success(output),
        (Ok(None), Some(RunReport::Failed(error))) => return Outcome::Failed(error),
        (Ok(None), Some(RunReport::Paused)) => return Outcome::Paused,
        (Ok(None), None) => {
            return Outcome::Died {
                error: "the flow process ended after its fork server, which could no longer tell how it ended".into(),
                retries,
            };
        }
        (Err(e), _) => return Outcome::Failed(format!("lost the flow process: {e}")),
    };
    let (status, report) = status;
    match (status.code(), report) {
        (Some(0), Some(RunReport::Success(output))) => Outcome::Success(output),
        (Some(75), _) => Outcome::Paused,
        (_, Some(RunReport::Failed(error))) => Outcome::Failed(error),
        (Some(0), _) => Outcome::Failed(with_tail(
            "the flow process exited 0 without reporting a result (did it call sys.exit?)".into(),
            stderr_tail,
        )),
        (Some(code), _) => Outcome::Failed(with_tail(
            format!("the flow process exited with code {code}"),
            stderr_tail,
        )),
        (None, _) => {
            let signal = status
                .signal()
                .and_then(|s| Signal::try_from(s).ok())
                .map_or_else(|| "a signal".to_owned(), |s| s.as_str().to_owned());
            Outcome::Died {
                error: format!("the flow process was killed by {signal}"),
                retries,
            }
        }
    }
}

fn with_tail(message: String, tail: &str) -> String {
    if tail.is_empty() {
        message
    } else {
        format!("{message}\n{tail}")
    }
}

/// The SDK's folder first, then whatever the server was given.
pub fn pythonpath(data_dir: &Path) -> String {
    let sdk_dir = sdk::dir(data_dir);
    match std::env::var_os("PYTHONPATH") {
        Some(old) if !old.is_empty() => format!("{}:{}", sdk_dir.display(), old.to_string_lossy()),
        _ => sdk_dir.display().to_string(),
    }
}

/// The run's answers file: every answer by pause id, and the pauses whose
/// deadline passed with no default, where the flow raises `PauseTimeout`;
/// none while there are neither.
fn resumes_file(play: &Play) -> Option<String> {
    let timed_out: Vec<&str> = play
        .answered_resumes
        .iter()
        .filter(|r| r.by.as_deref() == Some("timeout") && r.on_timeout == Some(OnTimeout::Raise))
        .map(|r| r.id.as_str())
        .collect();
    if play.received_resumes.is_empty() && timed_out.is_empty() {
        return None;
    }
    Some(serde_json::json!({"answers": play.received_resumes, "timed_out": timed_out}).to_string())
}

impl Engine {
    /// Writes the version's source (once) and this run's replay files.
    pub(super) async fn prepare_run(&self, play: &Play) -> Result<RunSpec> {
        let config = &self.inner.config;
        let version = self.version(&play.workflow_version_sid)?;
        let script = config
            .data_dir
            .join("versions")
            .join(&version.sid)
            .join(&version.file_name);
        let io = |e: std::io::Error| super::EngineError::Internal(e.to_string());
        if !script.exists() {
            std::fs::create_dir_all(script.parent().expect("a version file has a folder"))
                .map_err(io)?;
            crate::run_files::write_private(&script, &version.source).map_err(io)?;
        }
        // The input travels in a file: in the environment, a large one
        // would not fit the kernel's limit on a process's arguments. A
        // first run has nothing to replay: no files to write and read.
        let mut files = vec![(
            "HERO_INPUT_FILE",
            "input",
            serde_json::to_string(&play.input_data).expect("json"),
        )];
        let outputs = self.store().step_outputs(&play.sid)?;
        if !outputs.is_empty() {
            let text = serde_json::to_string(&outputs).expect("json");
            files.push(("HERO_REPLAY_STEP_OUTPUTS_FILE", "steps", text));
        }
        if let Some(text) = resumes_file(play) {
            files.push(("HERO_REPLAY_RESUMES_FILE", "resumes", text));
        }
        let named: Vec<(&str, &str)> = files
            .iter()
            .map(|(_, name, text)| (*name, text.as_str()))
            .collect();
        let paths = self
            .inner
            .run_files
            .write(&play.sid, play.runs, &named)
            .map_err(io)?;
        let cwd = match &play.working_dir {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                if !dir.is_dir() {
                    return Err(super::EngineError::WrongState(format!(
                        "the play's working folder {} is gone (hint: recreate it, or `hero_logic play restart` from another folder)",
                        dir.display()
                    )));
                }
                dir
            }
            None => config.data_dir.clone(),
        };
        let token = self.open_channel(&play.sid, play.runs)?;
        let mut env = vec![
            ("HERO_PLAY_SID", play.sid.clone()),
            ("HERO_RUN", play.runs.to_string()),
            ("HERO_RUN_TOKEN", token.secret().to_owned()),
            (
                "HERO_LOGIC_SOCKET",
                config.socket_path.display().to_string(),
            ),
            ("HERO_WORKFLOW_VERSION_SID", version.sid.clone()),
        ];
        for ((variable, _, _), path) in files.iter().zip(paths) {
            env.push((variable, path.display().to_string()));
        }
        Ok(RunSpec {
            python: config.python.clone(),
            script,
            cwd,
            pythonpath: pythonpath(&config.data_dir),
            env,
            _token: token,
        })
    }

    /// Streams the process's stdout and stderr into the play's log; the
    /// returned task ends with the last lines of stderr, for error messages.
    /// Whatever the flow prints is read to its end, so that a flow never
    /// meets a closed pipe: bytes that are not UTF-8 are replaced, and what
    /// is past the run's log limit is counted and dropped, with one line at
    /// the end saying how much. Lines reach the store through a bounded
    /// queue, written in batches: a flow that prints faster than the store
    /// writes waits on its pipe instead of filling the server's memory.
    pub(super) fn capture_logs(
        &self,
        child: &mut RunChild,
        sid: &str,
        run: u32,
    ) -> tokio::task::JoinHandle<String> {
        let next_seq = self
            .store()
            .last_log_seq(sid)
            .ok()
            .flatten()
            .map_or(1, |seq| seq + 1);
        let budget = LogBudget {
            left: AtomicU64::new(self.inner.config.log_limit),
            dropped: AtomicU64::new(0),
        };
        let (lines, queued) = tokio::sync::mpsc::channel(LOG_QUEUE);
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let store_lines =
            tokio::spawn(
                self.clone()
                    .store_logs(sid.to_owned(), run, next_seq, queued),
            );
        let limit = self.inner.config.log_limit;
        tokio::spawn(async move {
            let out = async {
                if let Some(stdout) = stdout {
                    let mut reader = BufReader::new(stdout);
                    while let Some(line) = read_log_line(&mut reader).await {
                        budget.offer(&lines, LogStream::Stdout, line).await;
                    }
                }
            };
            let err = async {
                let mut tail = std::collections::VecDeque::new();
                if let Some(stderr) = stderr {
                    let mut reader = BufReader::new(stderr);
                    while let Some(line) = read_log_line(&mut reader).await {
                        if tail.len() == STDERR_TAIL {
                            tail.pop_front();
                        }
                        tail.push_back(line.clone());
                        budget.offer(&lines, LogStream::Stderr, line).await;
                    }
                }
                Vec::from(tail).join("\n")
            };
            let ((), tail) = tokio::join!(out, err);
            let dropped = budget.dropped.load(Ordering::Relaxed);
            if dropped > 0 {
                let marker = format!(
                    "[hero_logic: {dropped} more bytes of logs dropped: over this run's limit of {limit} bytes (HERO_LOGIC_LOG_LIMIT)]"
                );
                let _ = lines.send((LogStream::Stderr, marker)).await;
            }
            drop(lines);
            let _ = store_lines.await;
            tail
        })
    }

    /// Writes a run's queued log lines, as many as are waiting at a time in
    /// one batch, numbered on from `seq`.
    async fn store_logs(
        self,
        sid: String,
        run: u32,
        mut seq: u64,
        mut queued: tokio::sync::mpsc::Receiver<(LogStream, String)>,
    ) {
        let mut batch = Vec::with_capacity(LOG_BATCH);
        while queued.recv_many(&mut batch, LOG_BATCH).await > 0 {
            let at = now();
            let entries: Vec<LogLine> = batch
                .drain(..)
                .map(|(stream, line)| {
                    seq += 1;
                    LogLine {
                        run,
                        seq: seq - 1,
                        stream,
                        line,
                        at: at.clone(),
                    }
                })
                .collect();
            let play_sid = sid.clone();
            // Only the play's latest run logs: a run another worker took
            // over (its process lived on) writes nothing into the new one.
            let written = self
                .inner
                .writer
                .deferred(move |snapshot| {
                    let current = snapshot
                        .play_state(&play_sid)?
                        .is_some_and(|(_, runs)| runs == run);
                    if !current {
                        return Ok::<_, StoreError>(Plan::nothing(()));
                    }
                    Ok(Plan::new(move |tx| {
                        entries
                            .iter()
                            .try_for_each(|entry| tx.put_log(&play_sid, entry))
                    }))
                })
                .reads_play(&sid)
                .await;
            if let Err(e) = written {
                tracing::warn!("cannot keep log lines of play {sid}: {e}");
            }
        }
    }
}
