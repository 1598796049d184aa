//! Group commit: one thread owns every write transaction.
//!
//! Callers send closures; the thread takes every closure waiting in its queue,
//! runs them in one transaction and commits once, so concurrent plays share
//! an fsync. A batch is committed durably when any closure in it asked for
//! it (a checkpoint, a pause, a status change): the caller hears back only
//! after that commit. Batches of spans and logs alone skip the fsync; the
//! next durable commit carries them to disk.

use std::sync::mpsc;
use std::sync::Arc;

use redb::Durability;
use tokio::sync::oneshot;

use super::{Result, Store, StoreError, Tx, db};

type Job = Box<dyn FnOnce(&Tx<'_>) -> Box<dyn FnOnce(Result<()>) + Send> + Send>;

struct Request {
    durable: bool,
    job: Job,
}

/// The handle through which the engine writes. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Request>,
}

/// How many queued writes one transaction takes at most.
const MAX_BATCH: usize = 4096;

impl Writer {
    pub fn start(store: Arc<Store>) -> Writer {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(&store, &rx))
            .expect("the writer thread starts");
        Writer { tx }
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
        let (done, wait) = oneshot::channel();
        let job: Job = Box::new(move |tx| {
            let outcome = f(tx);
            Box::new(move |committed: Result<()>| {
                let _ = done.send(committed.and(outcome));
            })
        });
        self.tx
            .send(Request { durable, job })
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
        let _ = self.tx.send(Request { durable: false, job });
    }
}

fn run(store: &Store, rx: &mpsc::Receiver<Request>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let durable = batch.iter().any(|r| r.durable);
        let mut replies = Vec::with_capacity(batch.len());
        let committed = (|| -> Result<()> {
            let mut txn = store.db.begin_write().map_err(db)?;
            let level = if durable {
                Durability::Immediate
            } else {
                Durability::None
            };
            txn.set_durability(level).map_err(db)?;
            {
                let tx = Tx { txn: &txn };
                for request in batch {
                    replies.push((request.job)(&tx));
                }
            }
            txn.commit().map_err(db)?;
            Ok(())
        })();
        for reply in replies {
            reply(match &committed {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Commit(e.to_string())),
            });
        }
    }
}
