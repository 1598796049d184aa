//! The store: one redb file, `hero_logic.redb`, and its journal, in the
//! data folder.
//!
//! Owns the tables, the schema version and typed access in model types.
//! Writes go through [`writer::Writer`], which runs concurrent writes in one
//! transaction (group commit), so many plays share one fsync. A write first
//! checks a read-only [`Snapshot`], then applies what it decided through a
//! [`Tx`]. The journal in front of redb, and its fold into redb, are this
//! module's own: callers never see them.
//! [`check`] looks for damage offline (`hero_logic store check`, `store
//! repair`); [`private`] keeps the data folder to its owner.
//! Invariant: this module knows nothing of JSON-RPC, processes or terminals.

mod backend;
pub mod check;
mod journal;
mod lock;
pub mod pg;
pub mod private;
mod read;
mod tables;
mod tx;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};

use journal::{JOURNAL_FILE, Journal};

use crate::model::{Play, PlayStatus};

pub use lock::DataDirLock;

/// How an HTTP key is stored: what may be shown of it, and the SHA-256
/// digest of the key (hex), never the key itself.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KeyRecord {
    #[serde(flatten)]
    pub key: crate::model::HttpKey,
    pub digest: String,
}
pub use backend::{Backend, Checkpoint, Snapshot, Tx};
pub use read::PlayFilter;
use tx::RedbTx;
pub use tx::{SpanText, due_micros};

/// The layout this binary writes; older files are migrated forward on open.
pub const SCHEMA_VERSION: u32 = 2;

pub const DB_FILE: &str = "hero_logic.redb";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("another hero_logic server (pid {pid}) is already using the data folder {dir}")]
    Locked { pid: String, dir: PathBuf },
    #[error(
        "the store {path} has schema version {found}, newer than this binary's {SCHEMA_VERSION}"
    )]
    NewerSchema { path: PathBuf, found: u32 },
    #[error("cannot write in the data folder {dir}: {source}")]
    NotWritable {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no space left on the disk of the data folder {dir}")]
    DiskFull { dir: PathBuf },
    #[error("the store in {dir} cannot write now: {why}")]
    Unavailable { dir: PathBuf, why: String },
    #[error("{path} is damaged: {what}")]
    Damaged { path: PathBuf, what: String },
    #[error("cannot use the data folder {dir}: {source}")]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Redb(#[from] redb::Error),
    #[error("store holds a record that does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("the store's writer has stopped")]
    WriterGone,
    /// A fenced write of run `run` found play `sid` in another state
    /// (`found`: its status and current run, `None` when there is no such
    /// play) and wrote nothing: the run is no longer the play's to write.
    #[error("run {run} of play {sid} may no longer write to it")]
    StaleRun {
        sid: String,
        found: Option<(PlayStatus, u32)>,
        run: u32,
    },
}

impl StoreError {
    /// What the user can do about it, when something helps.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            StoreError::NotWritable { .. } => {
                Some("make it writable, or point HERO_LOGIC_DATA_DIR at a writable folder")
            }
            StoreError::DiskFull { .. } => {
                Some("free some space there; the server goes on by itself")
            }
            StoreError::Unavailable { .. } => {
                Some("the server retries by itself; its log says more")
            }
            StoreError::Damaged { .. } => Some(
                "`hero_logic store check` says what is damaged; `hero_logic store repair` keeps what can be kept",
            ),
            _ => None,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<postgres::Error> for StoreError {
    /// The server's own words when it gave any: the driver's error alone
    /// says only "db error".
    fn from(e: postgres::Error) -> StoreError {
        StoreError::Postgres(match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => match std::error::Error::source(&e) {
                Some(source) => format!("{e}: {source}"),
                None => e.to_string(),
            },
        })
    }
}

/// Turns any of redb's per-operation errors into ours.
pub(crate) fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Redb(e.into())
}

impl StoreError {
    /// The OS error underneath, if this is one.
    fn os_error(&self) -> Option<i32> {
        match self {
            StoreError::Io { source, .. } => source.raw_os_error(),
            StoreError::Redb(redb::Error::Io(e)) => e.raw_os_error(),
            _ => None,
        }
    }

    /// Whether the disk (or the user's quota on it) is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::DiskFull { .. })
            || self
                .os_error()
                .is_some_and(|e| e == nix::libc::ENOSPC || e == nix::libc::EDQUOT)
    }

    /// Whether the store refused a write only for now: its writer tries
    /// again by itself until it writes, so the same write later may pass.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::DiskFull { .. } | StoreError::Unavailable { .. }
        )
    }

    /// Names the data folder when the OS refused to write in it.
    fn in_dir(self, dir: &Path) -> StoreError {
        match self.os_error() {
            Some(code @ (nix::libc::EROFS | nix::libc::EACCES | nix::libc::EPERM)) => {
                StoreError::NotWritable {
                    dir: dir.to_path_buf(),
                    source: std::io::Error::from_raw_os_error(code),
                }
            }
            Some(nix::libc::ENOSPC | nix::libc::EDQUOT) => StoreError::DiskFull {
                dir: dir.to_path_buf(),
            },
            _ => self,
        }
    }
}

/// META keys that tie the journal to the store, so that a journal emptied,
/// deleted or swapped while the store still lacks what it held is seen.
const JOURNAL_GENERATION: &str = "journal_generation";
/// Present when the journal was emptied by a server that stopped cleanly.
const JOURNAL_CLEAN: &str = "journal_clean";

/// Records, in the transaction that makes redb hold all the journal held,
/// the generation the journal is about to be emptied to.
pub(crate) fn note_fold(txn: &WriteTransaction, next_generation: u64, clean: bool) -> Result<()> {
    let mut meta = txn.open_table(tables::META).map_err(db)?;
    meta.insert(JOURNAL_GENERATION, next_generation.to_string().as_str())
        .map_err(db)?;
    if clean {
        meta.insert(JOURNAL_CLEAN, "1").map_err(db)?;
    } else {
        meta.remove(JOURNAL_CLEAN).map_err(db)?;
    }
    Ok(())
}

pub struct Store {
    /// `None` only while the writer reopens it after an I/O error.
    db: RwLock<Option<Database>>,
    path: PathBuf,
    dir: PathBuf,
}

/// One forward migration: from `version` to `version + 1`.
type Migration = fn(&redb::WriteTransaction) -> Result<()>;

/// Forward migrations, indexed by the version they start from. A layout
/// change adds its step here and bumps [`SCHEMA_VERSION`].
const MIGRATIONS: &[(u32, Migration)] = &[(1, count_steps_apart)];

/// 1 → 2: a play's `steps_done` moves from its record to
/// [`tables::STEP_COUNTS`].
fn count_steps_apart(txn: &redb::WriteTransaction) -> Result<()> {
    let plays = txn.open_table(tables::PLAYS).map_err(db)?;
    let mut counts = txn.open_table(tables::STEP_COUNTS).map_err(db)?;
    for entry in plays.iter().map_err(db)? {
        let (sid, value) = entry.map_err(db)?;
        let play: Play = serde_json::from_str(value.value())?;
        if play.steps_done > 0 {
            counts.insert(sid.value(), play.steps_done).map_err(db)?;
        }
    }
    Ok(())
}

/// A play as stored, with its count of steps done filled in.
fn with_steps_done(mut play: Play, counts: &impl ReadableTable<&'static str, u64>) -> Result<Play> {
    play.steps_done = counts
        .get(play.sid.as_str())
        .map_err(db)?
        .map_or(0, |count| count.value());
    Ok(play)
}

impl Store {
    /// Opens or creates the store and migrates it to [`SCHEMA_VERSION`].
    /// The caller holds the [`DataDirLock`], so no other server writes here.
    /// A journal damaged in its middle, or missing while the store expects
    /// what it held, refuses the open ([`StoreError::Damaged`]).
    pub fn open(data_dir: &Path) -> Result<Store> {
        let store = Store::open_db(data_dir)?;
        store.migrate().map_err(|e| e.in_dir(data_dir))?;
        store.recover_journal().map_err(|e| e.in_dir(data_dir))?;
        Ok(store)
    }

    /// Opens the redb file alone, as `store check` and `store repair` do.
    pub(crate) fn open_db(data_dir: &Path) -> Result<Store> {
        let path = data_dir.join(DB_FILE);
        let db = Database::create(&path).map_err(|e| db(e).in_dir(data_dir))?;
        Ok(Store {
            db: RwLock::new(Some(db)),
            path,
            dir: data_dir.to_path_buf(),
        })
    }

    fn closed(&self) -> StoreError {
        StoreError::Unavailable {
            dir: self.dir.clone(),
            why: "the store is being reopened after an I/O error".into(),
        }
    }

    pub(crate) fn begin_read(&self) -> Result<ReadTransaction> {
        let slot = self.db.read().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .ok_or_else(|| self.closed())?
            .begin_read()
            .map_err(db)
    }

    pub(crate) fn begin_write(&self) -> Result<WriteTransaction> {
        let slot = self.db.read().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .ok_or_else(|| self.closed())?
            .begin_write()
            .map_err(db)
    }

    /// Closes and opens the redb file again: after an I/O error redb
    /// refuses every transaction until then. What it had committed without
    /// an fsync is gone; the journal still holds it.
    pub(crate) fn reopen(&self) -> Result<()> {
        let mut slot = self.db.write().unwrap_or_else(PoisonError::into_inner);
        // The old handle goes first: it holds the file's lock.
        slot.take();
        *slot = Some(Database::create(&self.path).map_err(|e| db(e).in_dir(&self.dir))?);
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data folder that holds the store and its journal.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(&self) -> impl Fn(std::io::Error) -> StoreError + '_ {
        |source| StoreError::Io {
            dir: self.dir.clone(),
            source,
        }
    }

    fn damaged(&self, what: impl Into<String>) -> StoreError {
        StoreError::Damaged {
            path: self.dir.join(JOURNAL_FILE),
            what: what.into(),
        }
    }

    /// What META says of the journal: the generation it must have (none
    /// for a store an older build wrote) and whether it was left empty.
    pub(crate) fn journal_meta(&self) -> Result<(Option<u64>, bool)> {
        let txn = self.begin_read()?;
        let meta = txn.open_table(tables::META).map_err(db)?;
        let generation = meta
            .get(JOURNAL_GENERATION)
            .map_err(db)?
            .and_then(|v| v.value().parse().ok());
        let clean = meta.get(JOURNAL_CLEAN).map_err(db)?.is_some();
        Ok((generation, clean))
    }

    /// Opens the journal and checks that it is the one the store expects:
    /// present unless emptied by a clean stop, of the generation the last
    /// fold recorded (or the one before, if the server died between the
    /// fold's commit and the emptying).
    pub(crate) fn open_journal(&self) -> Result<(Journal, journal::Scan)> {
        let (expected, clean) = self.journal_meta()?;
        let journal = match Journal::open(&self.dir) {
            Ok(Some(journal)) => journal,
            Ok(None) if expected.is_some() && !clean => {
                return Err(self.damaged(
                    "the journal is missing or empty, yet the store expects the checkpoints it held since the last fold",
                ));
            }
            Ok(None) => Journal::create(&self.dir, expected.unwrap_or(1)).map_err(self.io())?,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(self.damaged(e.to_string()));
            }
            Err(e) => return Err(self.io()(e)),
        };
        if let Some(expected) = expected {
            let found = journal.generation();
            if found > expected || found + 1 < expected {
                return Err(self.damaged(format!(
                    "its generation is {found} where the store expects {expected}: it is not the journal of this store"
                )));
            }
        }
        let scan = journal.scan().map_err(self.io())?;
        Ok((journal, scan))
    }

    /// Applies what the journal holds beyond the last durable commit (a
    /// crash, even `kill -9`, leaves it there), then empties it. A batch
    /// torn by a crash at the end is dropped; damage before a whole batch
    /// refuses the open.
    fn recover_journal(&self) -> Result<()> {
        let (mut journal, scan) = self.open_journal()?;
        if let Some(first) = scan.damaged.first() {
            return Err(self.damaged(format!(
                "{} damaged stretch(es) before its last whole batch, the first at byte {}",
                scan.damaged.len(),
                first.offset
            )));
        }
        self.fold_batches(&mut journal, scan.batches)
    }

    /// Writes `batches` into redb with a durable commit that also records
    /// the journal's next generation, then empties the journal.
    pub(crate) fn fold_batches(
        &self,
        journal: &mut Journal,
        batches: Vec<Vec<journal::Op>>,
    ) -> Result<()> {
        let mut txn = self.begin_write()?;
        // A durable commit records redb's allocator state, so that opening
        // the file after a crash need not walk every table to rebuild it
        // (0.4 s for 100,000 plays, growing with the store).
        txn.set_quick_repair(true);
        {
            let tx = RedbTx::unjournaled(&txn);
            for op in batches.into_iter().flatten() {
                tx.apply(op)?;
            }
        }
        note_fold(&txn, journal.generation() + 1, false)?;
        txn.commit().map_err(db)?;
        journal.clear().map_err(self.io())
    }

    pub(crate) fn migrate(&self) -> Result<()> {
        let txn = self.begin_write()?;
        let found = {
            let meta = txn.open_table(tables::META).map_err(db)?;
            let found = meta.get("schema_version").map_err(db)?;
            found.and_then(|v| v.value().parse::<u32>().ok())
        };
        let mut version = match found {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::NewerSchema {
                    path: self.path.clone(),
                    found: v,
                });
            }
            Some(v) => v,
            None => SCHEMA_VERSION,
        };
        while version < SCHEMA_VERSION {
            if let Some((_, step)) = MIGRATIONS.iter().find(|(from, _)| *from == version) {
                step(&txn)?;
            }
            version += 1;
        }
        tx::create_tables(&txn)?;
        {
            let mut meta = txn.open_table(tables::META).map_err(db)?;
            meta.insert("schema_version", SCHEMA_VERSION.to_string().as_str())
                .map_err(db)?;
        }
        txn.commit().map_err(db)?;
        Ok(())
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u32> {
        let txn = self.begin_read()?;
        let meta = txn.open_table(tables::META).map_err(db)?;
        Ok(meta
            .get("schema_version")
            .map_err(db)?
            .and_then(|v| v.value().parse().ok())
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests;
