//! One batch: its jobs run in the open transaction, its records appended to
//! the journal and made durable when asked, and its callers answered.

use std::cell::RefCell;
use std::time::Instant;

use redb::{Durability, WriteTransaction};

use super::{Ack, Reply, Request};
use crate::store::journal::Journal;
use crate::store::tx::{Later, Recorded, RedbTx};
use crate::store::{Result, Store, StoreError, Tx, db};

/// The write transaction left open across batches, who waits for its
/// commit, and what answered checkpoints left to write in it.
pub(super) struct Open {
    pub(super) txn: WriteTransaction,
    pub(super) since: Instant,
    pub(super) waiting: Vec<Reply>,
    pub(super) later: Vec<Later>,
    /// A record was too large for the journal: only a durable commit may
    /// answer the batch that wrote it.
    pub(super) must_fold: bool,
}

impl Open {
    pub(super) fn begin(store: &Store) -> Result<Open> {
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

    /// Writes what answered checkpoints left for after their answer. A
    /// failure leaves the checkpoint in the journal only, which the next
    /// start applies.
    pub(super) fn write_later(&mut self) {
        if self.later.is_empty() {
            return;
        }
        let tx = RedbTx::unjournaled(&self.txn);
        if let Err(e) = tx.put_checkpoints(self.later.drain(..)) {
            tracing::error!("writing answered checkpoints failed: {e}");
        }
    }

    /// Commits (without fsync unless `durable`: the journal holds it) and
    /// answers the waiters.
    pub(super) fn commit(mut self, store: &Store, durable: bool) -> Result<()> {
        self.write_later();
        let mut txn = self.txn;
        let outcome = (|| {
            if durable {
                txn.set_durability(Durability::Immediate).map_err(db)?;
                // See `Store::fold_batches`.
                txn.set_quick_repair(true);
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
    pub(super) fn abort(self, store: &Store, why: &StoreError) {
        for reply in self.waiting {
            reply(Err(failure(store, why)));
        }
    }
}

/// The error a caller hears for a failed write: the disk named when it is
/// full.
pub(super) fn failure(store: &Store, e: &StoreError) -> StoreError {
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
pub(super) fn refuse(batch: Vec<Request>, error: impl Fn() -> StoreError) {
    for request in batch {
        let reply = (request.job)(None);
        reply(Err(error()));
    }
}

/// Runs a batch in the open transaction, journals it, makes it durable when
/// asked, and answers those who wait only for that. A batch with a record
/// too large for the journal is answered only once folded (`must_fold`).
pub(super) fn write_batch(
    store: &Store,
    journal: &mut Journal,
    mut current: Open,
    batch: Vec<Request>,
) -> Result<Open> {
    let recorded = RefCell::new(Recorded::default());
    let later = RefCell::new(Vec::new());
    let mut durable = false;
    let mut synced = Vec::new();
    {
        let tx = Tx::Redb(RedbTx {
            txn: &current.txn,
            journal: Some(&recorded),
            later: Some(&later),
        });
        for request in batch {
            let reply = (request.job)(Some(&tx));
            match request.ack {
                Ack::Nobody => reply(Ok(())),
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
    let durable = durable && !recorded.oversized;
    let journaled: Result<()> = match (recorded.text.is_empty(), durable) {
        (false, true) => journal.append_durable(recorded.text),
        (false, false) => journal.append(recorded.text),
        // Nothing of its own to write: what came before it is made durable.
        (true, true) => journal.sync(),
        (true, false) => Ok(()),
    }
    .map_err(store.io());
    if let Err(e) = journaled {
        for reply in synced {
            reply(Err(failure(store, &e)));
        }
        current.abort(store, &e);
        return Err(e);
    }
    current.later.extend(later.into_inner());
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
