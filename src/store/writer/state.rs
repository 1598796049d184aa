//! The state whoever writes holds: the journal, the transaction left open
//! across batches, and what is known of the store's health. Writing a batch,
//! committing it when due, folding the journal into redb, and recovering
//! after a failure all happen here, under the writer's state lock.

use std::collections::HashMap;
use std::path::Path;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use super::batch::{Open, failure, refuse, write_batch};
use super::{Redb, Request, Shared};
use crate::store::journal::{JOURNAL_SIZE, Journal};
use crate::store::{Store, StoreError, note_fold};

/// How many queued writes one transaction takes at most.
pub(super) const MAX_BATCH: usize = 4096;
/// How long written data may stay uncommitted, invisible to readers.
const HOLD: Duration = Duration::from_millis(5);
/// An idle writer folds the journal into redb after this long.
const IDLE_FOLD: Duration = Duration::from_millis(500);
/// A busy writer folds the journal into redb once it is this large, well
/// before it outgrows the zero-filled file.
const MAX_JOURNAL: u64 = JOURNAL_SIZE / 2;
/// A busy writer folds the journal into redb at least this often, so that
/// a start after a crash applies about a second of checkpoints at most.
const FOLD_EVERY: Duration = Duration::from_secs(1);
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

/// The journal and the open transaction: whoever holds this writes.
pub(super) struct State {
    pub(super) journal: Journal,
    pub(super) open: Option<Open>,
    last_write: Instant,
    /// When the oldest batch in the journal was written (`None`: the
    /// journal is empty). The clock of [`FOLD_EVERY`]: it starts with the
    /// first write after a fold, not at the fold, or the first play after
    /// a quiet spell would pay for a fold on its way.
    unfolded_since: Option<Instant>,
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

impl State {
    pub(super) fn new(journal: Journal) -> State {
        State {
            journal,
            open: None,
            last_write: Instant::now(),
            unfolded_since: None,
            broken: None,
            space_seen: None,
            quiet: Quiet::default(),
        }
    }

    /// Whether the journal is to be folded into redb now: the writer fell
    /// idle, or the journal has held batches for [`FOLD_EVERY`].
    fn fold_due(&self) -> bool {
        self.journal.len() > 0
            && (self.last_write.elapsed() >= IDLE_FOLD || self.unfolded_for() >= FOLD_EVERY)
    }

    /// How long the journal has held batches.
    fn unfolded_for(&self) -> Duration {
        self.unfolded_since
            .map_or(Duration::ZERO, |since| since.elapsed())
    }

    /// Starts or stops the fold clock as the journal holds batches or not.
    fn note_journal(&mut self) {
        if self.journal.len() == 0 {
            self.unfolded_since = None;
        } else if self.unfolded_since.is_none() {
            self.unfolded_since = Some(Instant::now());
        }
    }

    /// How long the writer thread may sleep with nothing queued.
    fn next_wake(&self) -> Duration {
        let mut wait = match &self.open {
            Some(o) => HOLD.saturating_sub(o.since.elapsed()),
            None if self.journal.len() > 0 => IDLE_FOLD
                .saturating_sub(self.last_write.elapsed())
                .min(FOLD_EVERY.saturating_sub(self.unfolded_for())),
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
    pub(super) fn write(&mut self, store: &Store, batch: Vec<Request>) {
        self.write_unnoted(store, batch);
        self.note_journal();
    }

    fn write_unnoted(&mut self, store: &Store, batch: Vec<Request>) {
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
        current.write_later();
        match write_batch(store, &mut self.journal, current, batch) {
            Ok(current) if current.must_fold => self.fold(store, Some(current), false),
            // Whoever waits for these writes has its answer: committing can
            // wait for the next `catch_up`.
            Ok(current) if !current.later.is_empty() => self.open = Some(current),
            Ok(current) => self.finish(store, current),
            Err(e) => self.broke(store, e),
        }
    }

    /// Writes what answered checkpoints left for after their answer, and
    /// commits if due.
    pub(super) fn catch_up(&mut self, store: &Store) {
        if let Some(mut current) = self.open.take_if(|o| !o.later.is_empty()) {
            current.write_later();
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
        // The clock starts again: at the next write, or now if the fold
        // failed (the next try then waits its turn).
        self.unfolded_since = None;
        self.note_journal();
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
                self.unfolded_since = None;
                self.note_journal();
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

/// The writer thread: writes what async callers queue, commits an open
/// transaction once it is due, folds the journal into redb when the writer
/// is idle and at least every [`FOLD_EVERY`], and, after a failure, tries
/// again until the store writes.
pub(super) fn run(shared: &Shared, redb: &Redb) {
    loop {
        let wait = shared.hold(&redb.state).next_wake();
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
        let store = &redb.store;
        let mut state = shared.hold(&redb.state);
        if state
            .broken
            .as_ref()
            .is_some_and(|b| closed || b.retry_at <= Instant::now())
        {
            state.recover(store);
        }
        let batch = shared.take();
        if !batch.is_empty() {
            state.write(store, batch);
            state.catch_up(store);
            continue;
        }
        if state.broken.is_some() {
            if closed {
                return;
            }
            continue;
        }
        if closed || state.fold_due() {
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

/// The free space on the data folder's disk, if the OS says.
fn free_space(dir: &Path) -> Option<u64> {
    let stat = nix::sys::statvfs::statvfs(dir).ok()?;
    Some(stat.blocks_available().saturating_mul(stat.fragment_size()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Tx;

    /// A request that writes one checkpoint, answered by nobody.
    fn checkpoint(key: &'static str) -> Request {
        Request {
            ack: super::super::Ack::Nobody,
            job: Box::new(move |tx: Option<&Tx<'_>>| {
                if let Some(tx) = tx {
                    tx.put_checkpoint("p", key, "1").expect("a checkpoint");
                }
                Box::new(|_| {})
            }),
            play: None,
            waiter: None,
        }
    }

    fn state() -> (tempfile::TempDir, Store, State) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        let journal = Journal::open(dir.path())
            .expect("the journal")
            .expect("a journal");
        (dir, store, State::new(journal))
    }

    /// The writer as it is after `quiet` with nothing to write.
    fn backdate(state: &mut State, quiet: Duration) {
        let then = Instant::now() - quiet;
        state.last_write = then;
    }

    /// The journal is folded at least once a second under load; a write
    /// after a quiet spell used to be folded at once (two fsyncs of redb's
    /// file, on the way of the play that wrote it), since the last fold
    /// was long ago.
    #[test]
    fn the_first_write_after_a_quiet_spell_is_not_folded_at_once() {
        let (_dir, store, mut state) = state();
        backdate(&mut state, Duration::from_secs(5));
        state.write(&store, vec![checkpoint("k")]);
        state.catch_up(&store);
        assert!(state.journal.len() > 0, "the write is in the journal");
        assert!(!state.fold_due(), "a fresh write is folded at once");
    }

    #[test]
    fn under_load_the_journal_is_folded_once_its_oldest_batch_is_a_second_old() {
        let (_dir, store, mut state) = state();
        state.write(&store, vec![checkpoint("a")]);
        state.unfolded_since = Some(Instant::now() - FOLD_EVERY);
        state.write(&store, vec![checkpoint("b")]);
        assert!(state.fold_due(), "the journal held batches for a second");
        let open = state.open.take();
        state.fold(&store, open, false);
        assert_eq!(state.journal.len(), 0);
        assert!(!state.fold_due());
        state.write(&store, vec![checkpoint("c")]);
        assert!(!state.fold_due(), "the clock started again with this write");
    }
}
