//! Group commit: one thread owns every write transaction and the journal.
//!
//! Callers send closures; the thread takes every closure waiting in its queue,
//! runs them in one transaction and commits once, so concurrent plays share
//! an fsync. Each batch is appended to the journal; a batch is made durable
//! (the journal fsynced) when any closure in it asked for it (a checkpoint,
//! a pause, a status change), and the callers hear back only after that.
//! Batches of spans and logs alone skip the fsync; the next durable batch
//! carries them to disk. redb itself commits without fsync, and is made
//! durable (and the journal emptied) when the writer is idle or the journal
//! has grown.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use redb::Durability;
use tokio::sync::oneshot;

use super::journal::Journal;
use super::{Result, Store, StoreError, Tx, db};

type Job = Box<dyn FnOnce(&Tx<'_>) -> Box<dyn FnOnce(Result<()>) + Send> + Send>;

/// When a caller hears back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
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
/// How long a batch that nobody waits for may wait for company.
const LINGER: Duration = Duration::from_millis(2);
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
            ack: Ack::Committed,
            job,
        });
    }
}

fn run(store: &Store, mut journal: Journal, rx: &mpsc::Receiver<Request>) {
    loop {
        let first = match rx.recv_timeout(IDLE_CHECKPOINT) {
            Ok(request) => request,
            Err(RecvTimeoutError::Timeout) => {
                checkpoint(store, &mut journal);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                checkpoint(store, &mut journal);
                return;
            }
        };
        let mut durable = first.ack != Ack::Committed;
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => {
                    durable |= next.ack != Ack::Committed;
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        // Nobody waits on a batch of spans and logs alone, and the durable
        // write that usually follows at once (a step's span starts, then its
        // checkpoint comes) would otherwise queue behind its commit: linger
        // a little, so both share one commit.
        let linger_until = std::time::Instant::now() + LINGER;
        while !durable && batch.len() < MAX_BATCH {
            let left = linger_until.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(next) => {
                    durable |= next.ack != Ack::Committed;
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(batch.len());
        let committed = commit_batch(store, &mut journal, batch, durable, &mut replies);
        for (_, reply) in replies {
            reply(match &committed {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Commit(e.to_string())),
            });
        }
        if journal.len() > MAX_JOURNAL {
            checkpoint(store, &mut journal);
        }
    }
}

type Reply = Box<dyn FnOnce(Result<()>) + Send>;

fn commit_batch(
    store: &Store,
    journal: &mut Journal,
    batch: Vec<Request>,
    durable: bool,
    replies: &mut Vec<(Ack, Reply)>,
) -> Result<()> {
    let mut txn = store.db.begin_write().map_err(db)?;
    txn.set_durability(Durability::None).map_err(db)?;
    let recorded = RefCell::new(String::new());
    {
        let tx = Tx {
            txn: &txn,
            journal: Some(&recorded),
        };
        for request in batch {
            replies.push((request.ack, (request.job)(&tx)));
        }
    }
    let recorded = recorded.into_inner();
    let io = |source| StoreError::Io {
        dir: store.dir().to_path_buf(),
        source,
    };
    if !recorded.is_empty() {
        journal.append(recorded).map_err(io)?;
    }
    if durable {
        journal.sync().map_err(io)?;
        for (_, reply) in replies.extract_if(.., |(ack, _)| *ack == Ack::Synced) {
            reply(Ok(()));
        }
    }
    txn.commit().map_err(db)?;
    Ok(())
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
