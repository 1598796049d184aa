//! Group commit: every write goes through one write transaction at a time,
//! and the journal in front of it.
//!
//! A write is a job in two parts: `check`, which sees the transaction
//! read-only (a [`Snapshot`]) and returns a [`Plan`] or refuses, and the
//! plan's `apply`, which writes. A refused job has written nothing, so the
//! rest of its batch commits as if it had never been queued; `apply` fails
//! only as the store itself does (I/O, a record that does not decode),
//! never to refuse. There are two
//! ways in: [`Writer::durable`], whose caller hears back once the write is
//! on disk, and [`Writer::deferred`], whose write reaches the disk with the
//! next durable batch or fold.
//!
//! Whoever holds the writer's state runs every job waiting in the queue in
//! the current write transaction and appends what they wrote to the
//! journal, one batch; a batch is made durable (the journal fsynced) when a
//! job in it asked for it, so concurrent plays share an fsync. That is
//! usually the writer thread; a durable write waited for with
//! [`Durable::wait`] (a step's checkpoint) runs its batch on the caller's
//! own thread instead, because handing it to another thread and back costs
//! two wake-ups, a good part of an fsync (PostgreSQL's connection is held
//! the same way). A caller whose write another thread is writing waits for
//! its answer, not in line for the state's lock: with eight flows at once,
//! callers taking the lock one after another only to find their answers
//! there cost more than the writes (eight 10,000-step flows: about 7,400
//! steps/s against 6,300). It is woken alone, by its answer, or to write
//! the next batch when the state is let go with its write first in line.
//!
//! redb's own commit costs about as much as the fsync, so the transaction
//! stays open across batches and is committed (without fsync: the journal
//! holds the data) only when someone must read what was written: a caller
//! that waits for the commit, a few milliseconds after the first write, or
//! when the writer falls idle. A checkpoint ([`Tx::checkpoint`]) is
//! answered as soon as its batch is durable in the journal, and written to
//! redb after the answer ([`Writer::catch_up`]). Now and then a durable redb
//! commit makes the file itself the truth and the journal starts empty: a
//! fold, at least every `FOLD_EVERY` under load, so a start after a crash
//! applies about a second of checkpoints at most; a batch with a record too
//! large for the journal is folded at once.
//!
//! A write that fails (a full disk, an I/O error after which redb refuses
//! every transaction until it is reopened) fails its batch with an error
//! that names the data folder; the writer then refuses writes at once while
//! it retries, with backoff, to reopen redb and apply the journal again,
//! and goes on when that works: the server never needs a restart, and a
//! repeated error is logged once per `QUIET`.
//!
//! Invariants: requests leave the queue only while the state is held, so
//! they are written in the order they were queued, whoever writes them;
//! what a checkpoint leaves for after its answer is written before any job
//! queued after it.

mod batch;
mod postgres;
mod state;
#[cfg(test)]
mod tests;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use super::journal::Journal;
use super::{Backend, Result, Snapshot, Store, StoreError, Tx};
use postgres::PgState;
use state::{MAX_BATCH, State, run};

type Reply = Box<dyn FnOnce(Result<()>) + Send>;
/// A queued write: run in the batch's transaction, or, given `None`, told
/// that its batch was refused before it ran.
type Job = Box<dyn FnOnce(Option<&Tx<'_>>) -> Reply + Send>;
/// A job before its caller said how it waits: its outcome, or `None` when
/// it never ran.
type Typed<T, E> = Box<dyn FnOnce(Option<&Tx<'_>>) -> Option<std::result::Result<T, E>> + Send>;

/// What a job's check decided to write: its `apply`, which writes and gives
/// the caller's value. It fails only as the store does (I/O, a record that
/// does not decode), never to refuse: refusing is the check's.
#[must_use]
pub struct Plan<T>(Apply<T>);

type Apply<T> = Box<dyn FnOnce(&Tx<'_>) -> Result<T> + Send>;

impl<T: Send + 'static> Plan<T> {
    pub fn new(apply: impl FnOnce(&Tx<'_>) -> Result<T> + Send + 'static) -> Plan<T> {
        Plan(Box::new(apply))
    }

    /// Nothing to write: the caller just gets `value`.
    pub fn nothing(value: T) -> Plan<T> {
        Plan::new(move |_| Ok(value))
    }
}

/// A job that checks nothing: it always applies `apply`.
pub fn always<T: Send + 'static>(
    apply: impl FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
) -> impl FnOnce(&Snapshot<'_>) -> Result<Plan<T>> + Send + 'static {
    move |_| Ok(Plan::new(apply))
}

/// When a caller hears back, as its way in and its wait decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ack {
    /// Nobody hears back ([`Deferred::queue`]).
    Nobody,
    /// Once the batch is committed; nobody waits for it to reach the disk
    /// (a [`Deferred`] awaited).
    Committed,
    /// Once the batch is durable and committed: what readers then see is on
    /// disk (a [`Durable`] awaited).
    Durable,
    /// Once the batch is durable in the journal, before redb's commit
    /// ([`Durable::wait`]): for a step's checkpoint, whose writer reads
    /// nothing back and must not wait a moment longer than the disk takes.
    Synced,
}

struct Request {
    ack: Ack,
    job: Job,
    /// The play whose row the job's check reads, when its caller says: a
    /// PostgreSQL batch locks and reads those rows in one round trip.
    play: Option<String>,
    /// The thread of a [`Durable::wait`] caller: woken alone when its
    /// answer is there, or to write the next batch itself.
    waiter: Option<std::thread::Thread>,
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
    queue: Mutex<Queue>,
    /// Tells the writer thread that requests were queued, or that a
    /// transaction it must commit in time was opened elsewhere.
    ready: Condvar,
    /// The redb store and the state whoever writes it holds; `None` for
    /// PostgreSQL.
    redb: Option<Redb>,
    /// PostgreSQL's connection, held by whoever writes; `None` for redb.
    postgres: Option<Mutex<PgState>>,
}

/// How long a caller waits its turn before it looks again by itself.
const TURN_WAIT: std::time::Duration = std::time::Duration::from_millis(5);

/// The writer's state (redb's, or PostgreSQL's connection), held; letting
/// it go wakes the caller next in line to write (see [`Shared::next_turn`]).
struct Held<'a, T> {
    guard: Option<MutexGuard<'a, T>>,
    shared: &'a Shared,
}

impl<T> std::ops::Deref for Held<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<T> std::ops::DerefMut for Held<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        self.guard = None;
        self.shared.next_turn();
    }
}

struct Redb {
    store: Arc<Store>,
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        lock(&self.queue)
    }

    /// Takes the writer's state, waiting for it.
    fn hold<'a, T>(&'a self, state: &'a Mutex<T>) -> Held<'a, T> {
        Held {
            guard: Some(lock(state)),
            shared: self,
        }
    }

    /// Takes the writer's state unless another thread holds it.
    fn try_hold<'a, T>(&'a self, state: &'a Mutex<T>) -> Option<Held<'a, T>> {
        let guard = match state.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(Held {
            guard: Some(guard),
            shared: self,
        })
    }

    /// The state was let go: wakes the first caller of [`Durable::wait`]
    /// whose write is still queued, to write the next batch itself (the
    /// others of that batch are woken by their answers). Waking every
    /// waiting caller instead, most only to find nothing for them, cost
    /// more wake-ups than the writes with eight flows at once.
    fn next_turn(&self) {
        let queue = self.queue();
        if let Some(next) = queue.requests.iter().find_map(|r| r.waiter.clone()) {
            drop(queue);
            next.unpark();
        }
    }

    fn push(&self, request: Request) {
        self.queue().requests.push(request);
        self.ready.notify_one();
    }

    /// Takes up to a batch of queued requests; the caller is the one who
    /// writes (holds redb's state, or is PostgreSQL's writer thread).
    fn take(&self) -> Vec<Request> {
        let mut queue = self.queue();
        if queue.requests.len() <= MAX_BATCH {
            std::mem::take(&mut queue.requests)
        } else {
            queue.requests.drain(..MAX_BATCH).collect()
        }
    }
}

impl Writer {
    /// Starts the writer thread. For redb, the store's journal must have
    /// been replayed (as [`Store::open`] does).
    pub fn start(backend: Backend) -> Result<Writer> {
        let (redb, pg) = match backend {
            Backend::Redb(store) => {
                let journal = Journal::open(store.dir())
                    .map_err(store.io())?
                    .ok_or_else(|| {
                        store.damaged("the journal vanished after the store was opened")
                    })?;
                let state = Mutex::new(State::new(journal));
                (Some(Redb { store, state }), None)
            }
            Backend::Postgres(pg) => {
                let conn = pg.writer_conn()?;
                (None, Some((pg, Mutex::new(PgState::new(conn)))))
            }
        };
        let (pg, postgres) = pg.unzip();
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            redb,
            postgres,
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                // A panic in someone's write must not take the writer with
                // it: every later write would hang.
                while let Err(panic) =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        match (&thread_shared.redb, &thread_shared.postgres, &pg) {
                            (Some(redb), _, _) => run(&thread_shared, redb),
                            (None, Some(state), Some(pg)) => {
                                postgres::run(&thread_shared, pg, state)
                            }
                            _ => {}
                        }
                    }))
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

    /// A write whose caller hears back once it is on disk: `.await` it for
    /// an answer once it is also committed (readers see it), or
    /// [`Durable::wait`] on a thread that may block. `check` decides; a
    /// refusal (its `Err`) is the caller's answer and writes nothing.
    pub fn durable<T, E, C>(&self, check: C) -> Durable<'_, T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        C: FnOnce(&Snapshot<'_>) -> std::result::Result<Plan<T>, E> + Send + 'static,
    {
        Durable {
            writer: self,
            job: typed(check),
            play: None,
        }
    }

    /// A write made durable with the next durable batch or fold: `.await`
    /// it for an answer once it is committed, or [`Deferred::queue`] it when
    /// nobody waits (spans, a run's process group).
    pub fn deferred<T, E, C>(&self, check: C) -> Deferred<'_, T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        C: FnOnce(&Snapshot<'_>) -> std::result::Result<Plan<T>, E> + Send + 'static,
    {
        Deferred {
            writer: self,
            job: typed(check),
            play: None,
        }
    }

    /// Writes what answered checkpoints left for after their answer, unless
    /// another thread holds the writer: that one writes it before anything
    /// else. For a thread that has just answered a checkpoint and would
    /// otherwise wait idle for the next.
    pub fn catch_up(&self) {
        let shared = self.shared();
        if let Some(redb) = &shared.redb
            && let Some(mut state) = shared.try_hold(&redb.state)
        {
            state.catch_up(&redb.store);
        }
    }

    /// Queues `job` and hears back on a channel.
    fn send<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        ack: Ack,
        job: Typed<T, E>,
        play: Option<String>,
    ) -> oneshot::Receiver<std::result::Result<T, E>> {
        let (done, wait) = oneshot::channel();
        self.shared().queue().requests.push(Request {
            ack,
            job: reply_with(job, move |outcome| {
                let _ = done.send(outcome);
            }),
            play,
            waiter: None,
        });
        wait
    }
}

/// A job that hands its caller's answer to `reply` once its batch is
/// written (or refused).
fn reply_with<T: Send + 'static, E: From<StoreError> + Send + 'static>(
    job: Typed<T, E>,
    reply: impl FnOnce(std::result::Result<T, E>) + Send + 'static,
) -> Job {
    Box::new(move |tx| {
        let outcome = job(tx);
        Box::new(move |batch: Result<()>| reply(answer(batch, outcome)))
    })
}

/// Wraps a check and its plan into one job.
fn typed<T, E, C>(check: C) -> Typed<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    C: FnOnce(&Snapshot<'_>) -> std::result::Result<Plan<T>, E> + Send + 'static,
{
    Box::new(move |tx| {
        let tx = tx?;
        Some(check(&tx.read()).and_then(|Plan(apply)| apply(tx).map_err(E::from)))
    })
}

/// A durable write, queued once its caller says how it waits.
#[must_use = "a write is queued only once waited for"]
pub struct Durable<'w, T, E> {
    writer: &'w Writer,
    job: Typed<T, E>,
    play: Option<String>,
}

impl<T: Send + 'static, E: From<StoreError> + Send + 'static> Durable<'_, T, E> {
    /// Says which play's row the check reads. A PostgreSQL batch locks and
    /// reads the rows of all its jobs at once, in sid order, before any
    /// job runs: one round trip rather than one a job, and workers that
    /// lock plays in one order cannot deadlock on them.
    pub fn reads_play(mut self, sid: &str) -> Self {
        self.play = Some(sid.to_owned());
        self
    }

    /// Returns once the write's batch is durable in the journal; readers
    /// may see it a few milliseconds later. The batch runs on this thread
    /// unless another writer takes it along in its own (group commit:
    /// callers that queued while an fsync ran share the next one). Blocks
    /// for an fsync: for threads that may block, not async tasks.
    pub fn wait(self) -> std::result::Result<T, E> {
        let shared = self.writer.shared();
        // PostgreSQL answers a batch once it is committed.
        let ack = if shared.redb.is_some() {
            Ack::Synced
        } else {
            Ack::Durable
        };
        let (done, mut answered) = oneshot::channel();
        let me = std::thread::current();
        let waiter = me.clone();
        shared.queue().requests.push(Request {
            ack,
            job: reply_with(self.job, move |outcome| {
                let _ = done.send(outcome);
                waiter.unpark();
            }),
            play: self.play,
            waiter: Some(me),
        });
        let take = |answered: &mut oneshot::Receiver<_>| match answered.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(StoreError::WriterGone.into())),
            Err(oneshot::error::TryRecvError::Empty) => None,
        };
        loop {
            if let Some(outcome) = take(&mut answered) {
                return outcome;
            }
            if let Some(redb) = &shared.redb
                && let Some(mut state) = shared.try_hold(&redb.state)
            {
                loop {
                    if let Some(outcome) = take(&mut answered) {
                        return outcome;
                    }
                    let batch = shared.take();
                    if batch.is_empty() {
                        return Err(StoreError::WriterGone.into());
                    }
                    let opened = state.open.is_none();
                    state.write(&redb.store, batch);
                    if opened && state.open.is_some() {
                        shared.queue().poked = true;
                        shared.ready.notify_one();
                    }
                }
            }
            if let Some(pg) = &shared.postgres
                && let Some(mut state) = shared.try_hold(pg)
            {
                loop {
                    if let Some(outcome) = take(&mut answered) {
                        return outcome;
                    }
                    if state.is_closed() {
                        // The writer thread connects again, and answers.
                        shared.ready.notify_one();
                        break;
                    }
                    let batch = shared.take();
                    if batch.is_empty() {
                        return Err(StoreError::WriterGone.into());
                    }
                    state.write(batch);
                }
            }
            // Another thread writes, and takes this write into its next
            // batch unless it lets go first: either wakes this thread (a
            // wake-up that came before this park is not lost). The timeout
            // is only a safety net.
            std::thread::park_timeout(TURN_WAIT);
        }
    }
}

impl<T: Send + 'static, E: From<StoreError> + Send + 'static> IntoFuture for Durable<'_, T, E> {
    type Output = std::result::Result<T, E>;
    type IntoFuture = Answer<T, E>;

    /// Queues the write for the writer thread; the answer comes once its
    /// batch is durable and committed.
    fn into_future(self) -> Answer<T, E> {
        let answer = self.writer.send(Ack::Durable, self.job, self.play);
        self.writer.shared().ready.notify_one();
        Answer(answer)
    }
}

/// A deferred write, queued once its caller says whether it waits.
#[must_use = "a write is queued only once queued or awaited"]
pub struct Deferred<'w, T, E> {
    writer: &'w Writer,
    job: Typed<T, E>,
    play: Option<String>,
}

impl<T, E> Deferred<'_, T, E>
where
    T: Send + 'static,
    E: From<StoreError> + std::fmt::Display + Send + 'static,
{
    /// Says which play's row the check reads (see [`Durable::reads_play`]).
    pub fn reads_play(mut self, sid: &str) -> Self {
        self.play = Some(sid.to_owned());
        self
    }

    /// Queues the write; nobody waits for it. A failure of its own is
    /// logged (a failed batch is logged by the writer).
    pub fn queue(self) {
        let job = self.job;
        let play = self.play;
        self.writer.shared().push(Request {
            ack: Ack::Nobody,
            job: Box::new(move |tx| {
                if let Some(Err(e)) = job(tx) {
                    tracing::warn!("a deferred write failed: {e}");
                }
                Box::new(|_| {})
            }),
            play,
            waiter: None,
        });
    }
}

impl<T: Send + 'static, E: From<StoreError> + Send + 'static> IntoFuture for Deferred<'_, T, E> {
    type Output = std::result::Result<T, E>;
    type IntoFuture = Answer<T, E>;

    /// Queues the write; the answer comes once its batch is committed.
    fn into_future(self) -> Answer<T, E> {
        let answer = self.writer.send(Ack::Committed, self.job, self.play);
        self.writer.shared().ready.notify_one();
        Answer(answer)
    }
}

/// The answer to an awaited write.
pub struct Answer<T, E>(oneshot::Receiver<std::result::Result<T, E>>);

impl<T, E: From<StoreError>> Future for Answer<T, E> {
    type Output = std::result::Result<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|answer| answer.unwrap_or_else(|_| Err(StoreError::WriterGone.into())))
    }
}

/// What a caller hears: the batch's failure first, else its own outcome
/// (`None` when its write never ran, which only a failed batch causes).
fn answer<T, E: From<StoreError>>(
    batch: Result<()>,
    outcome: Option<std::result::Result<T, E>>,
) -> std::result::Result<T, E> {
    batch
        .map_err(E::from)
        .and_then(|()| outcome.unwrap_or(Err(StoreError::WriterGone.into())))
}

fn store_thread_error(e: std::io::Error) -> StoreError {
    StoreError::Unavailable {
        dir: std::path::PathBuf::new(),
        why: format!("cannot start the writer thread: {e}"),
    }
}
