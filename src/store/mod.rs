//! The store: one redb file, `hero_logic.redb`, in the data folder.
//!
//! Owns the tables, the schema version and typed access in model types.
//! Writes go through [`writer::Writer`], which folds concurrent writes into
//! one transaction (group commit), so many plays share one fsync.
//! Invariant: this module knows nothing of JSON-RPC, processes or terminals.

mod journal;
mod lock;
mod read;
mod tables;
mod tx;
pub mod writer;

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable};

use crate::model::Play;

pub use lock::DataDirLock;
pub use read::PlayFilter;
pub use tx::{SpanText, Tx};

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
    #[error("the write was not committed: {0}")]
    Commit(String),
    #[error("the store's writer has stopped")]
    WriterGone,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Turns any of redb's per-operation errors into ours.
pub(crate) fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Redb(e.into())
}

pub struct Store {
    db: Database,
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
    pub fn open(data_dir: &Path) -> Result<Store> {
        let path = data_dir.join(DB_FILE);
        let db = Database::create(&path).map_err(db)?;
        let store = Store {
            db,
            path,
            dir: data_dir.to_path_buf(),
        };
        store.migrate()?;
        store.replay_journal()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data folder that holds the store and its journal.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Applies what the journal holds beyond the last durable commit (a
    /// crash, even `kill -9`, leaves it there), then empties it.
    fn replay_journal(&self) -> Result<()> {
        let io = |source| StoreError::Io {
            dir: self.dir.clone(),
            source,
        };
        let mut journal = journal::Journal::open(&self.dir).map_err(io)?;
        if journal.len() == 0 {
            return Ok(());
        }
        let batches = journal.batches().map_err(io)?;
        let txn = self.db.begin_write().map_err(db)?;
        {
            let tx = Tx {
                txn: &txn,
                journal: None,
            };
            for op in batches.into_iter().flatten() {
                tx.apply(op)?;
            }
        }
        txn.commit().map_err(db)?;
        journal.clear().map_err(io)?;
        Ok(())
    }

    fn migrate(&self) -> Result<()> {
        let txn = self.db.begin_write().map_err(db)?;
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
        let txn = self.db.begin_read().map_err(db)?;
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
