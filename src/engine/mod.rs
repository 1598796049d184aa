//! The engine: play lifecycle, runner, replay, resumes, sub-flows, recovery.
//!
//! [`lifecycle`] holds the rules as a pure state machine; this module is the
//! driver that carries out its effects against the store and the processes.
//! Invariant: the engine knows nothing of JSON-RPC framing or terminals; the
//! server calls it with model types and maps [`EngineError`] to wire codes.

mod channel;
mod driver;
pub mod lifecycle;
mod outside;
mod plays;
mod progress;
mod prune;
mod resume;
mod runner;
pub mod schedule_rule;
mod schedules;
mod sdk_checks;
mod sdk_events;
mod timers;
mod workers;
mod workflows;
mod zygote;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{Semaphore, broadcast, watch};

use crate::model::PlayEvent;
use crate::store::writer::Writer;
use crate::store::{Backend, DataDirLock, StoreError};

pub use channel::{AttachError, Attached, RunChannel};
pub use outside::MAX_KEY_LABEL;
use sdk_events::SpanRecord;
pub use sdk_events::{PauseAnswer, RunReport};
pub use workflows::SaveWorkflow;

/// What went wrong, in terms the server maps one-to-one to error codes.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    WrongState(String),
    #[error("the payload does not match the pause's schema: {}", .0.join("; "))]
    SchemaViolation(Vec<String>),
    #[error("{0}")]
    BadSource(String),
    #[error("{0}")]
    InvalidParams(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("{0}")]
    Internal(String),
    /// Only [`lifecycle::Refusal::AlreadyAnswered`], which a resume turns
    /// into success; every other refusal maps to a wire error.
    #[error("{0}")]
    Refused(lifecycle::Refusal),
    /// An error with what the caller can do about it; the server sends the
    /// hint as `error.data.hint`, apart from the message.
    #[error("{error}")]
    Hinted {
        error: Box<EngineError>,
        hint: String,
    },
}

impl EngineError {
    /// The same error, with what the caller can do about it.
    pub fn with_hint(self, hint: impl Into<String>) -> EngineError {
        EngineError::Hinted {
            error: Box::new(self),
            hint: hint.into(),
        }
    }

    /// What the caller can do about it, when something helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            EngineError::Hinted { hint, .. } => Some(hint.clone()),
            EngineError::Store(e) => e.hint().map(str::to_owned),
            _ => None,
        }
    }

    /// The error itself, without its hint: what decides its code.
    pub fn kind(&self) -> &EngineError {
        match self {
            EngineError::Hinted { error, .. } => error.kind(),
            other => other,
        }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// The waits between tries of a write the store cannot take now (a full
/// disk, a database out of reach): 0.1 s, doubling up to 5 s.
struct Backoff(std::time::Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(std::time::Duration::from_millis(100))
    }

    fn next(&mut self) -> std::time::Duration {
        let wait = self.0;
        self.0 = (wait * 2).min(std::time::Duration::from_secs(5));
        wait
    }
}

impl From<StoreError> for EngineError {
    /// A fenced write the store refused is refused as the check before it
    /// would have refused it (see `Snapshot::checkpoint_state`).
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::StaleRun { sid, found, run } => {
                match sdk_events::check_run(&sid, run, found) {
                    Err(refused) => refused,
                    Ok(()) => EngineError::Store(StoreError::StaleRun { sid, found, run }),
                }
            }
            e => EngineError::Store(e),
        }
    }
}

impl From<lifecycle::Refusal> for EngineError {
    fn from(r: lifecycle::Refusal) -> Self {
        match r {
            lifecycle::Refusal::UnknownResume { .. } => EngineError::NotFound(r.to_string()),
            lifecycle::Refusal::AlreadyAnswered { .. } => EngineError::Refused(r),
            lifecycle::Refusal::WrongState { .. } | lifecycle::Refusal::StaleRun { .. } => {
                EngineError::WrongState(r.to_string())
            }
        }
    }
}

/// Where the engine keeps files and how it runs flows, resolved once.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub socket_path: PathBuf,
    /// The interpreter's real executable, resolved at server start.
    pub python: PathBuf,
    pub max_runs: usize,
    /// Times a run that died by a signal is run again (`HERO_LOGIC_RUN_RETRIES`).
    pub run_retries: u32,
    /// Bytes of logs kept per run (`HERO_LOGIC_LOG_LIMIT`).
    pub log_limit: u64,
    /// Modules the fork server imports before it forks runs
    /// (`HERO_LOGIC_PRELOAD`).
    pub preload: Vec<String>,
}

/// A handle on the running engine; clones share it.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// A subscriber's events ([`Engine::subscribe`]).
pub struct Subscription {
    events: broadcast::Receiver<PlayEvent>,
    unheard: watch::Receiver<u64>,
}

impl Subscription {
    /// The next event; `Lagged` when events were missed: this subscriber
    /// was too slow, or changes other workers made went unheard while this
    /// server's listener was away. Either way, what the subscriber shows
    /// is to be read again.
    pub async fn recv(&mut self) -> std::result::Result<PlayEvent, broadcast::error::RecvError> {
        tokio::select! {
            event = self.events.recv() => event,
            Ok(()) = self.unheard.changed() => Err(broadcast::error::RecvError::Lagged(0)),
        }
    }
}

/// What the `settled` channel tells.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Settled {
    /// This play became terminal or paused.
    Play(String),
    /// Any play may have: changes went unheard for a while (another
    /// worker's, while the listener was reconnecting), so every waiter
    /// looks again.
    Any,
}

impl Settled {
    /// Whether a waiter for `sid` should look again.
    fn concerns(&self, sid: &str) -> bool {
        match self {
            Settled::Play(settled) => settled == sid,
            Settled::Any => true,
        }
    }
}

struct Inner {
    store: Backend,
    writer: Writer,
    config: Config,
    events: broadcast::Sender<PlayEvent>,
    /// Each play that just became terminal or paused: what `play_wait`
    /// listens to, so that waiting never makes the engine decode spans for
    /// nobody.
    settled: broadcast::Sender<Settled>,
    /// Bumped whenever other workers' changes may have gone unheard: every
    /// subscriber then reads what it shows again.
    unheard: watch::Sender<u64>,
    progress: Mutex<progress::Progress>,
    progress_noted: progress::Noted,
    permits: Arc<Semaphore>,
    /// Process groups of the runs alive now, by play sid.
    running: Mutex<HashMap<String, runner::RunHandle>>,
    /// One lock a play, held while a run's process lives, so that the next
    /// run never starts before the last one has been reaped.
    run_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// What each run's SDK reported before it exited.
    reports: Mutex<HashMap<(String, u32), RunReport>>,
    started: Instant,
    shutting_down: AtomicBool,
    /// The fork server runs start from (see `zygote.rs`).
    forks: zygote::ForkServer,
    /// Where runs' input and replay files go (see `run_files.rs`).
    run_files: crate::run_files::RunFiles,
    /// Spans received and not yet handed to the writer.
    span_queue: Arc<Mutex<Vec<SpanRecord>>>,
    /// The channels of the runs alive now (see `channel.rs`).
    channels: channel::Channels,
    /// The timer task's wake-up (see `timers.rs`).
    timers: timers::Timers,
    /// Wakes the schedule task when a schedule was saved, removed, paused
    /// or unpaused (see `schedules.rs`).
    schedules_changed: tokio::sync::Notify,
    /// `http://ADDR` of the HTTP listener, once it listens (see `outside.rs`).
    http_base: std::sync::OnceLock<String>,
    /// The data folder's lock, in the last field: fields drop in order, so
    /// it is let go only after the writer's last fold and redb's file are
    /// closed. `hero_logic stop` waits for the lock; a lock let go earlier
    /// sent the next command into redb's own lock.
    folder: Folder,
}

/// The data folder's lock, and word to whoever waits that it was let go.
struct Folder {
    _lock: DataDirLock,
    released: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl Drop for Folder {
    fn drop(&mut self) {
        let (released, wake) = &*self.released;
        *lock(released) = true;
        wake.notify_all();
    }
}

/// Waits for an engine to be dropped everywhere (see [`Engine::released`]).
pub struct Released(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Released {
    /// Whether the engine was dropped within `timeout`.
    pub fn wait(&self, timeout: std::time::Duration) -> bool {
        let (released, wake) = &*self.0;
        let guard = lock(released);
        let (guard, _) = wake
            .wait_timeout_while(guard, timeout, |released| !*released)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard
    }
}

impl Engine {
    /// Starts the engine and recovers the plays a previous server left
    /// `pending` or `running`: each gets a new run that replays its
    /// checkpoints.
    pub fn start(store: Backend, config: Config, lock: DataDirLock) -> Result<Engine> {
        let writer = Writer::start(store.clone())?;
        let (events, _) = broadcast::channel(4096);
        let (settled, _) = broadcast::channel(1024);
        let forks = zygote::ForkServer::new(zygote::ForkConfig {
            python: config.python.clone(),
            cwd: config.data_dir.clone(),
            pythonpath: runner::pythonpath(&config.data_dir),
            preload: config.preload.clone(),
        });
        let run_files = crate::run_files::RunFiles::new(&config.data_dir);
        let engine = Engine {
            inner: Arc::new(Inner {
                store,
                writer,
                permits: Arc::new(Semaphore::new(config.max_runs)),
                config,
                events,
                settled,
                unheard: watch::Sender::new(0),
                progress: Mutex::default(),
                progress_noted: progress::Noted::default(),
                running: Mutex::default(),
                run_locks: Mutex::default(),
                reports: Mutex::default(),
                started: Instant::now(),
                shutting_down: AtomicBool::new(false),
                forks,
                run_files,
                span_queue: Arc::default(),
                channels: channel::Channels::default(),
                timers: timers::Timers::default(),
                schedules_changed: tokio::sync::Notify::new(),
                http_base: std::sync::OnceLock::new(),
                folder: Folder {
                    _lock: lock,
                    released: Arc::default(),
                },
            }),
        };
        match engine.recover_as_worker() {
            Some(recovered) => recovered?,
            None => engine.recover()?,
        }
        engine.start_timers();
        engine.start_schedules();
        engine.start_progress();
        engine.inner.forks.warm();
        Ok(engine)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn uptime_s(&self) -> f64 {
        self.inner.started.elapsed().as_secs_f64()
    }

    /// Span, status and pending changes, as they happen.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            events: self.inner.events.subscribe(),
            unheard: self.inner.unheard.subscribe(),
        }
    }

    /// Writes what the checkpoints just answered left for after their
    /// answer: for the thread that answered them, while it waits for the
    /// flow's next word.
    pub fn catch_up(&self) {
        self.inner.writer.catch_up();
    }

    fn publish(&self, mut event: PlayEvent) {
        if let PlayEvent::Play { play } = &mut event {
            self.with_resume_urls(&mut play.pending_resumes);
        }
        if let PlayEvent::Play { play } = &event
            && play.status.is_settled()
        {
            let _ = self.inner.settled.send(Settled::Play(play.sid.clone()));
        }
        match event {
            PlayEvent::Play { play } => self.send_play(play),
            event => {
                let _ = self.inner.events.send(event);
            }
        }
    }

    /// `"redb"` or `"postgres"`: where everything is kept (SPEC §12).
    pub fn backend(&self) -> &'static str {
        self.inner.store.name()
    }

    fn store(&self) -> &Backend {
        &self.inner.store
    }

    /// Whether the store is PostgreSQL, a process away, rather than redb.
    pub fn on_postgres(&self) -> bool {
        matches!(self.inner.store, Backend::Postgres(_))
    }

    /// Whether a flow's write that failed with `e` is asked again: only
    /// while PostgreSQL is out of reach (a failover, a restart, its
    /// connections dropped) and the server is not stopping. A flow then
    /// waits for its answer rather than fail. On redb a full disk fails the
    /// run, as SPEC §8 says.
    fn out_of_reach(&self, e: &EngineError) -> bool {
        matches!(e, EngineError::Store(StoreError::Unavailable { .. }))
            && self.on_postgres()
            && !self.inner.shutting_down.load(Ordering::SeqCst)
    }

    /// What tells when this engine has been dropped by every holder (the
    /// connections' threads among them), its store closed and the data
    /// folder let go.
    pub fn released(&self) -> Released {
        Released(self.inner.folder.released.clone())
    }

    /// Kills every running flow at server shutdown. Their plays stay
    /// `running` in the store, so the next server start recovers them.
    pub fn kill_all(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        let running = lock(&self.inner.running);
        for handle in running.values() {
            handle.kill();
        }
        self.inner.forks.kill();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
