//! Group commit: every write goes through one write transaction at a time,
//! and the journal in front of it.
//!
//! Callers queue closures. Whoever holds the writer's state runs every
//! closure waiting in the queue in the current write transaction and
//! appends what they wrote to the journal, one batch; a batch is made
//! durable (the journal fsynced) when a closure in it asked for it, so
//! concurrent plays share an fsync. That is usually the writer thread; a
//! step's checkpoint runs its batch on the caller's own thread instead
//! ([`Writer::write_now`]), because handing it to another thread and back
//! costs two wake-ups, about half as much again as the fsync itself.
//!
//! redb's own commit costs as much as the fsync again, so the transaction
//! stays open across batches and is committed (without fsync: the journal
//! holds the data) only when someone must read what was written: a caller
//! that waits for the commit, a few milliseconds after the first write, or
//! when the writer falls idle. A step's checkpoint is acknowledged as soon
//! as its batch is durable in the journal, and what its journal record
//! already holds may be written to redb after the answer
//! ([`Writer::write_now_then`]). Now and then a durable redb commit makes
//! the file itself the truth and the journal starts empty.
//!
//! The journal is folded at least every [`FOLD_EVERY`] under load, so it
//! never holds more than about a second of checkpoints; a batch with a
//! record too large for the journal is folded at once.
//!
//! A write that fails (a full disk, an I/O error after which redb refuses
//! every transaction until it is reopened) fails its batch with an error
//! that names the data folder; the writer then refuses writes at once while
//! it retries, with backoff, to reopen redb and apply the journal again,
//! and goes on when that works: the server never needs a restart, and a
//! repeated error is logged once per [`QUIET`].
//!
//! Invariant: requests leave the queue only while the state is held, so
//! they are written in the order they were queued, whoever writes them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use redb::{Durability, WriteTransaction};
use tokio::sync::oneshot;

use super::journal::{JOURNAL_SIZE, Journal};
use super::tx::Recorded;
use super::{Result, Store, StoreError, Tx, db, note_fold};

type Reply = Box<dyn FnOnce(Result<()>) + Send>;
/// A queued write: run in the batch's transaction, or, given `None`, told
/// that its batch was refused before it ran.
type Job = Box<dyn FnOnce(Option<&Tx<'_>>) -> (Reply, Option<Later>) + Send>;

/// Writes a checkpoint leaves for after its acknowledgement: those whose
/// record its batch already put in the journal (see
/// [`Writer::write_now_then`]). They run unjournaled.
pub type Later = Box<dyn FnOnce(&Tx<'_>) -> Result<()> + Send>;

/// When a caller hears back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ack {
    /// Nobody hears back (spans and log lines).
    Detached,
    /// Once the batch is committed; nobody waits for it to reach the disk.
    Committed,
    /// Once the batch is durable and committed: what readers then see is on
    /// disk.
    Durable,
    /// Once the batch is durable in the journal, before redb's commit: for
    /// a step's checkpoint, whose writer reads nothing back and must not
    /// wait a moment longer than the disk takes.
    Synced,
}

struct Request {
    ack: Ack,
    job: Job,
}

/// The handle through which the engine writes. Cheap to clone; the writer
/// thread commits what is left and stops when the last handle is dropped.
#[derive(Clone)]
pub struct Writer {
    handle: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Handle {
    /// Waits for the writer thread's last fold, which marks the journal
    /// empty for good (a server stopping must not exit before it).
    fn drop(&mut self) {
        self.shared.queue().closed = true;
        self.shared.ready.notify_one();
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

struct Shared {
    store: Arc<Store>,
    queue: Mutex<Queue>,
    /// Tells the writer thread that requests were queued, or that a
    /// transaction it must commit in time was opened elsewhere.
    ready: Condvar,
    state: Mutex<State>,
}

#[derive(Default)]
struct Queue {
    requests: Vec<Request>,
    /// Set when a transaction was opened outside the writer thread, which
    /// then waits only until that transaction is due.
    poked: bool,
    closed: bool,
}

/// The journal and the open transaction: whoever holds this writes.
struct State {
    journal: Journal,
    open: Option<Open>,
    last_write: Instant,
    last_fold: Instant,
    /// Set while the store cannot write.
    broken: Option<Broken>,
    /// When free space was last seen ample.
    space_seen: Option<Instant>,
    quiet: Quiet,
}

/// Why the store cannot write now, and when to try again.
struct Broken {
    disk_full: bool,
    why: String,
    retry_at: Instant,
    backoff: Duration,
}

impl Broken {
    fn error(&self, dir: &Path) -> StoreError {
        if self.disk_full {
            StoreError::DiskFull {
                dir: dir.to_path_buf(),
            }
        } else {
            StoreError::Unavailable {
                dir: dir.to_path_buf(),
                why: self.why.clone(),
            }
        }
    }
}

/// Logs an error once per [`QUIET`], with a count of the repeats it held
/// back, so that a store failing every write does not flood the log.
#[derive(Default)]
struct Quiet {
    seen: HashMap<String, (Instant, u64)>,
}

impl Quiet {
    fn error(&mut self, what: String) {
        let now = Instant::now();
        if self.seen.len() > 64 {
            self.seen.retain(|_, (at, _)| now - *at < QUIET);
        }
        match self.seen.get_mut(&what) {
            Some((at, held)) if now - *at < QUIET => *held += 1,
            Some((at, held)) => {
                tracing::error!(
                    "{what} ({held} more like it in the last {} s)",
                    QUIET.as_secs()
                );
                *at = now;
                *held = 0;
            }
            None => {
                tracing::error!("{what}");
                self.seen.insert(what, (now, 0));
            }
        }
    }
}

/// How many queued writes one transaction takes at most.
const MAX_BATCH: usize = 4096;
/// How long written data may stay uncommitted, invisible to readers.
const HOLD: Duration = Duration::from_millis(5);
/// An idle writer folds the journal into redb after this long.
const IDLE_CHECKPOINT: Duration = Duration::from_millis(500);
/// A busy writer folds the journal into redb once it is this large, well
/// before it outgrows the zero-filled file.
const MAX_JOURNAL: u64 = JOURNAL_SIZE / 2;
/// A busy writer folds the journal into redb at least this often, so that
/// a start after a crash applies about a second of checkpoints at most.
pub const FOLD_EVERY: Duration = Duration::from_secs(1);
/// Below this much free space, writes are refused before they start: a
/// refusal leaves nothing half-written, where a commit that fails for want
/// of space leaves redb to be reopened.
const RESERVE: u64 = 8 << 20;
/// How long free space, once seen ample, is trusted without a new look.
const SPACE_TRUSTED: Duration = Duration::from_millis(50);
/// The longest wait between two tries to write again after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A repeated error is logged once this often at most.
const QUIET: Duration = Duration::from_secs(10);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        lock(&self.queue)
    }

    fn push(&self, request: Request) {
        self.queue().requests.push(request);
        self.ready.notify_one();
    }

    /// Takes up to a batch of queued requests; the caller holds the state.
    fn take(&self, _held: &State) -> Vec<Request> {
        let mut queue = self.queue();
        if queue.requests.len() <= MAX_BATCH {
            std::mem::take(&mut queue.requests)
        } else {
            queue.requests.drain(..MAX_BATCH).collect()
        }
    }
}

impl Writer {
    /// Starts the writer thread; the store's journal must have been
    /// replayed (as [`Store::open`] does).
    pub fn start(store: Arc<Store>) -> Result<Writer> {
        let journal = Journal::open(store.dir())
            .map_err(store.io())?
            .ok_or_else(|| store.damaged("the journal vanished after the store was opened"))?;
        let shared = Arc::new(Shared {
            store,
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            state: Mutex::new(State {
                journal,
                open: None,
                last_write: Instant::now(),
                last_fold: Instant::now(),
                broken: None,
                space_seen: None,
                quiet: Quiet::default(),
            }),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                // A panic in someone's write must not take the writer with
                // it: every later write would hang.
                while let Err(panic) =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&thread_shared)))
                {
                    tracing::error!("the store's writer recovered from a panic: {panic:?}");
                }
            })
            .map_err(store_thread_error)?;
        Ok(Writer {
            handle: Arc::new(Handle {
                shared,
                thread: Some(thread),
            }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// Runs `f` in the next transaction and returns its value once that
    /// transaction is committed (durably when `durable`). If `f` fails, its
    /// error is returned; `f` must check before it writes, since the rest of
    /// its batch still commits.
    pub async fn write<T, F>(&self, durable: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
    {
        let ack = if durable {
            Ack::Durable
        } else {
            Ack::Committed
        };
        let (done, wait) = oneshot::channel();
        self.shared().push(Request {
            ack,
            job: Box::new(move |tx| {
                let outcome = tx.map(f);
                let reply: Reply = Box::new(move |committed: Result<()>| {
                    let _ = done.send(answer(committed, outcome));
                });
                (reply, None)
            }),
        });
        wait.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `f` after everything queued before it and returns once its
    /// batch is durable in the journal (`Ack::Synced`). The batch runs on
    /// this thread unless another writer takes it along in its own (group
    /// commit: callers that queued while an fsync ran share the next one).
    /// Blocks for an fsync: for threads that may block, not async tasks.
    pub fn write_now<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
    {
        self.write_now_then(|tx| f(tx).map(|value| (value, None)))
    }

    /// [`Writer::write_now`] for a write that records in the journal what
    /// it leaves for later: `f` may return writes to run once the batch is
    /// durable, so that the caller can answer while they run. They run
    /// before any write queued after this one, on the thread that calls
    /// [`Writer::settle`] next, or that writes next, or on the writer thread
    /// before it commits; a crash before then is covered by the journal.
    pub fn write_now_then<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<(T, Option<Later>)> + Send + 'static,
    {
        let slot = Arc::new(Mutex::new(None));
        let filled = slot.clone();
        let shared = self.shared();
        shared.queue().requests.push(Request {
            ack: Ack::Synced,
            job: Box::new(move |tx| {
                let (outcome, later) = match tx.map(f) {
                    Some(Ok((value, later))) => (Some(Ok(value)), later),
                    Some(Err(e)) => (Some(Err(e)), None),
                    None => (None, None),
                };
                let reply: Reply = Box::new(move |synced: Result<()>| {
                    *lock(&filled) = Some(answer(synced, outcome));
                });
                (reply, later)
            }),
        });
        let mut state = lock(&shared.state);
        loop {
            if let Some(outcome) = lock(&slot).take() {
                return outcome;
            }
            let batch = shared.take(&state);
            if batch.is_empty() {
                return Err(StoreError::WriterGone);
            }
            let opened = state.open.is_none();
            state.write(&shared.store, batch);
            if opened && state.open.is_some() {
                shared.queue().poked = true;
                shared.ready.notify_one();
            }
        }
    }

    /// Runs the writes acknowledged checkpoints left for later, unless
    /// another thread holds the writer: that one runs them before it
    /// writes. For a thread that has just answered a checkpoint and would
    /// otherwise wait idle for the next.
    pub fn settle(&self) {
        let shared = self.shared();
        if let Ok(mut state) = shared.state.try_lock() {
            state.settle(&shared.store);
        }
    }

    /// Queues a write nobody waits for (span and log lines).
    pub fn write_detached<F>(&self, f: F)
    where
        F: FnOnce(&Tx<'_>) -> Result<()> + Send + 'static,
    {
        self.shared().push(Request {
            ack: Ack::Detached,
            job: Box::new(move |tx| {
                if let Some(Err(e)) = tx.map(f) {
                    tracing::warn!("detached write failed: {e}");
                }
                let reply: Reply = Box::new(|_| {});
                (reply, None)
            }),
        });
    }
}

/// What a caller hears: the batch's failure first, else its own outcome
/// (`None` when its write never ran, which only a failed batch causes).
fn answer<T>(batch: Result<()>, outcome: Option<Result<T>>) -> Result<T> {
    batch.and_then(|()| outcome.unwrap_or(Err(StoreError::WriterGone)))
}

fn store_thread_error(e: std::io::Error) -> StoreError {
    StoreError::Unavailable {
        dir: std::path::PathBuf::new(),
        why: format!("cannot start the writer thread: {e}"),
    }
}

/// The write transaction left open across batches, who waits for its
/// commit, and what acknowledged checkpoints left to write in it.
struct Open {
    txn: WriteTransaction,
    since: Instant,
    waiting: Vec<Reply>,
    later: Vec<Later>,
    /// A record was too large for the journal: only a durable commit may
    /// answer the batch that wrote it.
    must_fold: bool,
}

impl Open {
    fn begin(store: &Store) -> Result<Open> {
        let mut txn = store.begin_write()?;
        txn.set_durability(Durability::None).map_err(db)?;
        Ok(Open {
            txn,
            since: Instant::now(),
            waiting: Vec::new(),
            later: Vec::new(),
            must_fold: false,
        })
    }

    /// Runs what acknowledged checkpoints left for later. A failure leaves
    /// the checkpoint in the journal only, which the next start applies.
    fn run_later(&mut self) {
        let tx = Tx {
            txn: &self.txn,
            journal: None,
        };
        for later in self.later.drain(..) {
            if let Err(e) = later(&tx) {
                tracing::error!("writing an acknowledged checkpoint failed: {e}");
            }
        }
    }

    /// Commits (without fsync unless `durable`: the journal holds it) and
    /// answers the waiters.
    fn commit(mut self, store: &Store, durable: bool) -> Result<()> {
        self.run_later();
        let mut txn = self.txn;
        let outcome = (|| {
            if durable {
                txn.set_durability(Durability::Immediate).map_err(db)?;
            }
            txn.commit().map_err(db)
        })()
        .map_err(|e| e.in_dir(store.dir()));
        for reply in self.waiting {
            reply(match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(failure(store, e)),
            });
        }
        outcome
    }

    /// Gives up on everything since the last commit.
    fn abort(self, store: &Store, why: &StoreError) {
        for reply in self.waiting {
            reply(Err(failure(store, why)));
        }
    }
}

/// The error a caller hears for a failed write: the disk named when it is
/// full.
fn failure(store: &Store, e: &StoreError) -> StoreError {
    match e {
        StoreError::DiskFull { dir } => StoreError::DiskFull { dir: dir.clone() },
        StoreError::Unavailable { dir, why } => StoreError::Unavailable {
            dir: dir.clone(),
            why: why.clone(),
        },
        e if e.is_disk_full() => StoreError::DiskFull {
            dir: store.dir().to_path_buf(),
        },
        e => StoreError::Unavailable {
            dir: store.dir().to_path_buf(),
            why: e.to_string(),
        },
    }
}

/// Answers a batch that was refused before it ran.
fn refuse(batch: Vec<Request>, error: impl Fn() -> StoreError) {
    for request in batch {
        let (reply, _) = (request.job)(None);
        reply(Err(error()));
    }
}

/// The free space on the data folder's disk, if the OS says.
fn free_space(dir: &Path) -> Option<u64> {
    let stat = nix::sys::statvfs::statvfs(dir).ok()?;
    Some(stat.blocks_available().saturating_mul(stat.fragment_size()))
}

/// The writer thread: writes what async callers queue, commits an open
/// transaction once it is due, folds the journal into redb when the writer
/// is idle and at least every [`FOLD_EVERY`], and, after a failure, tries
/// again until the store writes.
fn run(shared: &Shared) {
    loop {
        let wait = lock(&shared.state).next_wake();
        let closed = {
            let mut queue = shared.queue();
            if queue.requests.is_empty() && !queue.poked && !queue.closed {
                queue = shared
                    .ready
                    .wait_timeout(queue, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            queue.poked = false;
            queue.closed
        };
        let store = &shared.store;
        let mut state = lock(&shared.state);
        if state
            .broken
            .as_ref()
            .is_some_and(|b| closed || b.retry_at <= Instant::now())
        {
            state.recover(store);
        }
        let batch = shared.take(&state);
        if !batch.is_empty() {
            state.write(store, batch);
            state.settle(store);
            continue;
        }
        if state.broken.is_some() {
            if closed {
                return;
            }
            continue;
        }
        let idle = state.last_write.elapsed() >= IDLE_CHECKPOINT;
        let fold_due = state.journal.len() > 0 && (idle || state.last_fold.elapsed() >= FOLD_EVERY);
        if closed || fold_due {
            let open = state.open.take();
            state.fold(store, open, closed);
        } else if let Some(o) = state.open.take() {
            if o.since.elapsed() >= HOLD {
                if let Err(e) = o.commit(store, false) {
                    state.broke(store, e);
                }
            } else {
                state.open = Some(o);
            }
        }
        if closed && (state.open.is_none() || state.broken.is_some()) {
            return;
        }
    }
}

impl State {
    /// How long the writer thread may sleep with nothing queued.
    fn next_wake(&self) -> Duration {
        let mut wait = match &self.open {
            Some(o) => HOLD.saturating_sub(o.since.elapsed()),
            None if self.journal.len() > 0 => IDLE_CHECKPOINT
                .saturating_sub(self.last_write.elapsed())
                .min(FOLD_EVERY.saturating_sub(self.last_fold.elapsed())),
            None => Duration::from_secs(3600),
        };
        if let Some(broken) = &self.broken {
            wait = wait.min(broken.retry_at.saturating_duration_since(Instant::now()));
        }
        wait
    }

    /// Why writes must be refused now, if they must: the store is broken,
    /// or its disk is nearly full.
    fn refusal(&mut self, store: &Store) -> Option<StoreError> {
        if let Some(broken) = &self.broken {
            return Some(broken.error(store.dir()));
        }
        if self
            .space_seen
            .is_some_and(|at| at.elapsed() < SPACE_TRUSTED)
        {
            return None;
        }
        match free_space(store.dir()) {
            Some(free) if free < RESERVE => {
                self.space_seen = None;
                self.quiet.error(format!(
                    "refusing writes: {} KiB free on the disk of the data folder {}",
                    free >> 10,
                    store.dir().display()
                ));
                Some(StoreError::DiskFull {
                    dir: store.dir().to_path_buf(),
                })
            }
            _ => {
                self.space_seen = Some(Instant::now());
                None
            }
        }
    }

    /// Writes one batch into the open transaction (opening one if needed),
    /// and commits it if someone waits for that, it is due, or the journal
    /// must be folded into redb.
    fn write(&mut self, store: &Store, batch: Vec<Request>) {
        self.last_write = Instant::now();
        if let Some(refused) = self.refusal(store) {
            refuse(batch, || failure(store, &refused));
            return;
        }
        let mut current = match self.open.take() {
            Some(o) => o,
            None => match Open::begin(store) {
                Ok(o) => o,
                Err(e) => {
                    refuse(batch, || failure(store, &e));
                    self.broke(store, e);
                    return;
                }
            },
        };
        current.run_later();
        match write_batch(store, &mut self.journal, current, batch) {
            Ok(current) if current.must_fold => self.fold(store, Some(current), false),
            // Whoever waits for these writes has its answer: committing can
            // wait for the next `settle`.
            Ok(current) if !current.later.is_empty() => self.open = Some(current),
            Ok(current) => self.finish(store, current),
            Err(e) => self.broke(store, e),
        }
    }

    /// Runs what acknowledged checkpoints left for later, and commits if due.
    fn settle(&mut self, store: &Store) {
        if let Some(mut current) = self.open.take_if(|o| !o.later.is_empty()) {
            current.run_later();
            self.finish(store, current);
        }
    }

    /// Commits the transaction if someone waits for that, it is due, or the
    /// journal must be folded into redb; otherwise leaves it open.
    fn finish(&mut self, store: &Store, current: Open) {
        if self.journal.len() > MAX_JOURNAL {
            self.fold(store, Some(current), false);
        } else if !current.waiting.is_empty() || current.since.elapsed() >= HOLD {
            if let Err(e) = current.commit(store, false) {
                self.broke(store, e);
            }
        } else {
            self.open = Some(current);
        }
    }

    /// Makes redb hold durably all the journal holds (committing `open`,
    /// or an empty transaction, durably), records the journal's next
    /// generation in it, and empties the journal. `clean`: the server is
    /// stopping, and the journal stays empty until the next start.
    fn fold(&mut self, store: &Store, open: Option<Open>, clean: bool) {
        self.last_fold = Instant::now();
        let current = match open {
            Some(o) => o,
            None if self.journal.len() == 0 && !clean => return,
            None => match Open::begin(store) {
                Ok(o) => o,
                Err(e) => return self.broke(store, e),
            },
        };
        let done = note_fold(&current.txn, self.journal.generation() + 1, clean)
            .and_then(|()| current.commit(store, true))
            .and_then(|()| self.journal.clear().map_err(store.io()));
        if let Err(e) = done {
            self.broke(store, e);
        }
    }

    /// Gives up on the open transaction after a failure and refuses writes
    /// until [`State::recover`] has made the store write again.
    fn broke(&mut self, store: &Store, e: StoreError) {
        let e = e.in_dir(store.dir());
        if let Some(open) = self.open.take() {
            open.abort(store, &e);
        }
        self.quiet.error(format!("a write failed: {e}"));
        let backoff = Duration::from_millis(100);
        let disk_full = e.is_disk_full();
        match &mut self.broken {
            // redb's later errors ("previous I/O error") hide the first one.
            Some(broken) => broken.retry_at = Instant::now() + broken.backoff,
            None => {
                self.broken = Some(Broken {
                    disk_full,
                    why: e.to_string(),
                    retry_at: Instant::now() + backoff,
                    backoff,
                });
            }
        }
    }

    /// Reopens redb, applies the journal again and folds it: what was
    /// committed without an fsync before the failure comes back from the
    /// journal. Tried again with a doubled wait while it fails.
    fn recover(&mut self, store: &Store) {
        if self.broken.is_none() {
            return;
        }
        let low = free_space(store.dir()).is_some_and(|free| free < RESERVE);
        let done = if low {
            Err(StoreError::DiskFull {
                dir: store.dir().to_path_buf(),
            })
        } else {
            store.reopen().and_then(|()| {
                let scan = self.journal.scan().map_err(store.io())?;
                store.fold_batches(&mut self.journal, scan.batches)
            })
        };
        match done {
            Ok(()) => {
                tracing::info!("the store in {} writes again", store.dir().display());
                self.broken = None;
                self.space_seen = None;
                self.last_fold = Instant::now();
            }
            Err(e) => {
                if let Some(broken) = self.broken.as_mut() {
                    broken.disk_full = e.is_disk_full();
                    broken.why = e.to_string();
                    broken.backoff = (broken.backoff * 2).min(MAX_BACKOFF);
                    broken.retry_at = Instant::now() + broken.backoff;
                }
                let what = format!("the store cannot write yet, trying again: {e}");
                self.quiet.error(what);
            }
        }
    }
}

/// Runs a batch in the open transaction, journals it, makes it durable when
/// asked, and answers those who wait only for that. A batch with a record
/// too large for the journal is answered only once folded (`must_fold`).
fn write_batch(
    store: &Store,
    journal: &mut Journal,
    mut current: Open,
    batch: Vec<Request>,
) -> Result<Open> {
    let recorded = RefCell::new(Recorded::default());
    let mut deferred = Vec::new();
    let mut durable = false;
    let mut synced = Vec::new();
    {
        let tx = Tx {
            txn: &current.txn,
            journal: Some(&recorded),
        };
        for request in batch {
            let (reply, later) = (request.job)(Some(&tx));
            deferred.extend(later);
            match request.ack {
                Ack::Detached => reply(Ok(())),
                Ack::Committed => current.waiting.push(reply),
                Ack::Durable => {
                    durable = true;
                    current.waiting.push(reply);
                }
                Ack::Synced => {
                    durable = true;
                    synced.push(reply);
                }
            }
        }
    }
    let recorded = recorded.into_inner();
    let journaled: Result<()> = (|| {
        if !recorded.text.is_empty() {
            journal.append(recorded.text).map_err(store.io())?;
        }
        if durable && !recorded.oversized {
            journal.sync().map_err(store.io())?;
        }
        Ok(())
    })();
    if let Err(e) = journaled {
        for reply in synced {
            reply(Err(failure(store, &e)));
        }
        current.abort(store, &e);
        return Err(e);
    }
    current.later.extend(deferred);
    if recorded.oversized {
        current.must_fold = true;
        current.waiting.extend(synced);
    } else {
        for reply in synced {
            reply(Ok(()));
        }
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn open() -> (tempfile::TempDir, Arc<Store>, Writer) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Store::open(dir.path()).expect("store"));
        let writer = Writer::start(store.clone()).expect("writer");
        (dir, store, writer)
    }

    fn eventually(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(Instant::now() < deadline, "gave up waiting until {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn output(store: &Store, key: &str) -> Option<serde_json::Value> {
        store.step_outputs("p").expect("read").get(key).cloned()
    }

    #[test]
    fn a_write_now_comes_after_what_was_queued_before_it() {
        let (_dir, store, writer) = open();
        for i in 0..100 {
            writer.write_detached(move |tx| tx.put_checkpoint("p", "k", &i.to_string()).map(drop));
        }
        let fresh = writer
            .write_now(|tx| tx.put_checkpoint("p", "k", "\"last\""))
            .expect("write");
        assert!(!fresh, "the queued writes were written first");
        eventually("the last write is what readers see", || {
            output(&store, "k") == Some(json!("last"))
        });
    }

    #[test]
    fn what_a_write_now_wrote_is_committed_without_further_writes() {
        let (dir, store, writer) = open();
        writer
            .write_now(|tx| tx.put_checkpoint("p", "first", "1"))
            .expect("write");
        // Once the journal is folded into redb, the writer thread sleeps
        // with nothing to do.
        eventually("the journal is empty", || {
            Journal::open(dir.path())
                .expect("journal")
                .expect("a journal")
                .len()
                == 0
        });
        writer
            .write_now(|tx| tx.put_checkpoint("p", "k", "1"))
            .expect("write");
        // It must learn of the transaction left open, and commit it once it
        // is due.
        eventually("readers see the write", || output(&store, "k").is_some());
    }

    #[test]
    fn concurrent_write_nows_all_land() {
        let (_dir, store, writer) = open();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let key = format!("{t}-{i}");
                        let fresh = writer
                            .write_now(move |tx| tx.put_checkpoint("p", &key, "true"))
                            .expect("write");
                        assert!(fresh);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("a writing thread");
        }
        eventually("readers see all 400 writes", || {
            store.step_outputs("p").expect("read").len() == 400
        });
    }

    fn steps_done(store: &Store) -> u64 {
        let txn = store.begin_read().expect("read");
        let counts = txn
            .open_table(super::super::tables::STEP_COUNTS)
            .expect("counts");
        counts.get("p").expect("get").map_or(0, |c| c.value())
    }

    /// A checkpoint recorded in the journal, written to redb later.
    fn checkpoint_then(writer: &Writer, key: &'static str, output: &'static str) {
        writer
            .write_now_then(move |tx| {
                tx.record_checkpoint("p", key, output);
                let later: Later =
                    Box::new(move |tx| tx.put_checkpoint("p", key, output).map(drop));
                Ok(((), Some(later)))
            })
            .expect("write");
    }

    #[test]
    fn what_a_checkpoint_left_for_later_comes_before_the_writes_after_it() {
        let (_dir, store, writer) = open();
        checkpoint_then(&writer, "k", "\"later\"");
        writer
            .write_now(|tx| tx.put_checkpoint("p", "k", "\"after\""))
            .expect("write");
        eventually("the write after the checkpoint is what readers see", || {
            output(&store, "k") == Some(json!("after"))
        });
        assert_eq!(
            steps_done(&store),
            1,
            "one step, written twice, counted once"
        );
    }

    #[test]
    fn what_a_checkpoint_left_for_later_is_written_without_a_settle() {
        let (_dir, store, writer) = open();
        checkpoint_then(&writer, "k", "1");
        eventually("readers see the checkpoint", || {
            output(&store, "k").is_some()
        });
    }

    #[test]
    fn the_journal_is_folded_only_with_what_was_left_for_later() {
        let (dir, store, writer) = open();
        checkpoint_then(&writer, "k", "1");
        drop(writer);
        eventually("the writer thread ends", || Arc::strong_count(&store) == 1);
        assert_eq!(
            Journal::open(dir.path())
                .expect("journal")
                .expect("a journal")
                .len(),
            0
        );
        assert_eq!(output(&store, "k"), Some(json!(1)));
    }

    #[test]
    fn the_last_handle_dropped_stops_the_writer_with_the_journal_folded() {
        let (dir, store, writer) = open();
        writer
            .write_now(|tx| tx.put_checkpoint("p", "k", "1"))
            .expect("write");
        assert!(
            Journal::open(dir.path())
                .expect("journal")
                .expect("a journal")
                .len()
                > 0
        );
        drop(writer);
        // The thread held the other reference to the store until it ended.
        eventually("the writer thread ends", || Arc::strong_count(&store) == 1);
        assert_eq!(
            Journal::open(dir.path())
                .expect("journal")
                .expect("a journal")
                .len(),
            0
        );
        assert_eq!(output(&store, "k"), Some(json!(1)));
    }
}
