//! Group commit: one thread owns every write transaction and the journal.
//!
//! Callers send closures. The thread runs every closure waiting in its queue
//! in the current write transaction and appends what they wrote to the
//! journal, one batch; a batch is made durable (the journal fsynced) when a
//! closure in it asked for it, so concurrent plays share an fsync.
//!
//! redb's own commit costs as much as the fsync again, so the transaction
//! stays open across batches and is committed (without fsync: the journal
//! holds the data) only when someone must read what was written: a caller
//! that waits for the commit, a few milliseconds after the first write, or
//! when the writer falls idle. A step's checkpoint is acknowledged as soon
//! as its batch is durable in the journal. Now and then a durable redb
//! commit makes the file itself the truth and the journal starts empty.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use redb::{Durability, WriteTransaction};
use tokio::sync::oneshot;

use super::journal::Journal;
use super::{Result, Store, StoreError, Tx, db};

type Job = Box<dyn FnOnce(&Tx<'_>) -> Box<dyn FnOnce(Result<()>) + Send> + Send>;

/// When a caller hears back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
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

/// The handle through which the engine writes. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Request>,
}

/// How many queued writes one transaction takes at most.
const MAX_BATCH: usize = 4096;
/// How long written data may stay uncommitted, invisible to readers.
const HOLD: Duration = Duration::from_millis(5);
/// An idle writer folds the journal into redb after this long.
const IDLE_CHECKPOINT: Duration = Duration::from_millis(500);
/// A busy writer folds the journal into redb once it is this large.
const MAX_JOURNAL: u64 = 16 << 20;

impl Writer {
    /// Starts the writer thread; the store's journal must have been
    /// replayed (as [`Store::open`] does).
    pub fn start(store: Arc<Store>) -> Result<Writer> {
        let journal = Journal::open(store.dir()).map_err(|source| StoreError::Io {
            dir: store.dir().to_path_buf(),
            source,
        })?;
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(&store, journal, &rx))
            .expect("the writer thread starts");
        Ok(Writer { tx })
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
        self.write_acked(ack, f).await
    }

    /// [`Writer::write`] with a chosen moment of acknowledgement.
    pub async fn write_acked<T, F>(&self, ack: Ack, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
    {
        let (done, wait) = oneshot::channel();
        let job: Job = Box::new(move |tx| {
            let outcome = f(tx);
            Box::new(move |committed: Result<()>| {
                let _ = done.send(committed.and(outcome));
            })
        });
        self.tx
            .send(Request { ack, job })
            .map_err(|_| StoreError::WriterGone)?;
        wait.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Queues a write nobody waits for (span and log lines).
    pub fn write_detached<F>(&self, f: F)
    where
        F: FnOnce(&Tx<'_>) -> Result<()> + Send + 'static,
    {
        let job: Job = Box::new(move |tx| {
            if let Err(e) = f(tx) {
                tracing::warn!("detached write failed: {e}");
            }
            Box::new(|_| {})
        });
        let _ = self.tx.send(Request {
            ack: Ack::Detached,
            job,
        });
    }
}

type Reply = Box<dyn FnOnce(Result<()>) + Send>;

/// The write transaction left open across batches, and who waits for its
/// commit.
struct Open {
    txn: WriteTransaction,
    since: Instant,
    waiting: Vec<Reply>,
}

impl Open {
    fn begin(store: &Store) -> Result<Open> {
        let mut txn = store.db.begin_write().map_err(db)?;
        txn.set_durability(Durability::None).map_err(db)?;
        Ok(Open {
            txn,
            since: Instant::now(),
            waiting: Vec::new(),
        })
    }

    /// Commits (without fsync: the journal holds it) and answers the waiters.
    fn commit(self) {
        let outcome = self
            .txn
            .commit()
            .map_err(|e| StoreError::Commit(e.to_string()));
        for reply in self.waiting {
            reply(match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Commit(e.to_string())),
            });
        }
    }

    /// Gives up on everything since the last commit.
    fn abort(self, why: &StoreError) {
        for reply in self.waiting {
            reply(Err(StoreError::Commit(why.to_string())));
        }
    }
}

fn run(store: &Store, mut journal: Journal, rx: &mpsc::Receiver<Request>) {
    let mut open: Option<Open> = None;
    loop {
        let wait = match &open {
            Some(o) => HOLD.saturating_sub(o.since.elapsed()),
            None => IDLE_CHECKPOINT,
        };
        let first = match rx.recv_timeout(wait) {
            Ok(request) => request,
            Err(RecvTimeoutError::Timeout) => {
                match open.take() {
                    Some(o) => o.commit(),
                    None => checkpoint(store, &mut journal),
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                if let Some(o) = open.take() {
                    o.commit();
                }
                checkpoint(store, &mut journal);
                return;
            }
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let current = match open.take() {
            Some(o) => o,
            None => match Open::begin(store) {
                Ok(o) => o,
                Err(e) => {
                    refuse(batch, &e);
                    continue;
                }
            },
        };
        match write_batch(store, &mut journal, current, batch) {
            Ok(current) => {
                let must_commit = !current.waiting.is_empty()
                    || current.since.elapsed() >= HOLD
                    || journal.len() > MAX_JOURNAL;
                if must_commit {
                    current.commit();
                    if journal.len() > MAX_JOURNAL {
                        checkpoint(store, &mut journal);
                    }
                } else {
                    open = Some(current);
                }
            }
            Err(e) => tracing::error!("a write batch failed and was rolled back: {e}"),
        }
    }
}

/// Fails every request of a batch that could not even start: dropping a
/// job drops its reply channel, which its caller reads as a failure.
fn refuse(batch: Vec<Request>, why: &StoreError) {
    drop(batch);
    tracing::error!("cannot begin a write transaction: {why}");
}

/// Runs a batch in the open transaction, journals it, makes it durable when
/// asked, and answers those who wait only for that.
fn write_batch(
    store: &Store,
    journal: &mut Journal,
    mut current: Open,
    batch: Vec<Request>,
) -> Result<Open> {
    let recorded = RefCell::new(String::new());
    let mut durable = false;
    let mut synced = Vec::new();
    {
        let tx = Tx {
            txn: &current.txn,
            journal: Some(&recorded),
        };
        for request in batch {
            let reply = (request.job)(&tx);
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
    let io = |source| StoreError::Io {
        dir: store.dir().to_path_buf(),
        source,
    };
    let journaled: Result<()> = (|| {
        if !recorded.is_empty() {
            journal.append(recorded).map_err(io)?;
        }
        if durable {
            journal.sync().map_err(io)?;
        }
        Ok(())
    })();
    if let Err(e) = journaled {
        for reply in synced {
            reply(Err(StoreError::Commit(e.to_string())));
        }
        current.abort(&e);
        return Err(e);
    }
    for reply in synced {
        reply(Ok(()));
    }
    Ok(current)
}

/// Makes redb durable on its own and empties the journal.
fn checkpoint(store: &Store, journal: &mut Journal) {
    if journal.len() == 0 {
        return;
    }
    let done = (|| -> Result<()> {
        store.db.begin_write().map_err(db)?.commit().map_err(db)?;
        journal.clear().map_err(|source| StoreError::Io {
            dir: store.dir().to_path_buf(),
            source,
        })
    })();
    if let Err(e) = done {
        tracing::warn!("checkpoint of the journal into the store failed: {e}");
    }
}
