//! The PostgreSQL backend (SPEC §12): the same records as the embedded
//! store, in tables of a database that several servers may share.
//!
//! Every write goes through the store's writer: one transaction a
//! batch, acknowledged after COMMIT, so concurrent writes share a commit as
//! they share an fsync in redb. Reads run on pooled connections.
//! The schema is created and migrated forward at open, one versioned SQL
//! file a step, under an advisory lock so that servers starting together
//! migrate once.

mod checkpoints;
mod conn;
pub(crate) mod pipeline;
mod read;
mod tx;
mod workers;

pub use checkpoints::FENCED_CHECKPOINTS;
use conn::Conn;
pub(crate) use pipeline::WriterConn;
pub use tx::{PgSnapshot, PgTx};
pub use workers::{Claimed, WorkerId, host_name, local_worker_id};

use std::sync::atomic::{AtomicI32, Ordering};

use conn::Pool;

use super::Result;

/// The schema's forward steps, in order: step N takes the database to
/// version N. A layout change adds a file here; none is ever edited.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_runs.sql"),
    include_str!("migrations/003_play_steps.sql"),
];

/// A play's count of steps done (schema 3: `play_steps`), as a column of a
/// query on `plays`; a macro, so that queries stay literals.
macro_rules! steps_done {
    () => {
        "coalesce((SELECT n FROM play_steps WHERE play_steps.sid = plays.sid), 0)"
    };
}
pub(crate) use steps_done;

/// Any number the advisory lock of migrations is known by.
const MIGRATION_LOCK: i64 = 0x6865_726f_6c6f_6769;

/// The PostgreSQL store: where it is, connections for readers, and who
/// this server is among the workers that share it.
pub struct Pg {
    pool: Pool,
    worker: Option<WorkerId>,
    /// The backend process of the writer's connection: the notifications
    /// it caused are this server's own (see `engine/workers.rs`).
    writer_pid: AtomicI32,
}

impl Pg {
    /// Connects, and creates or migrates the schema. A server passes its
    /// worker; a tool that only reads (a test's dump) passes `None`.
    pub fn open(url: &str, worker: Option<WorkerId>) -> Result<Pg> {
        let pg = Pg {
            pool: Pool::new(url.to_owned()),
            worker,
            writer_pid: AtomicI32::new(0),
        };
        pg.pool.with(migrate)?;
        Ok(pg)
    }

    /// The database's address.
    pub fn url(&self) -> &str {
        self.pool.url()
    }

    /// A connection for the writer: its writes claim plays for this worker.
    pub(crate) fn writer_conn(&self) -> Result<WriterConn> {
        let conn = conn::blocking(|| WriterConn::connect(self.url(), self.worker.clone()))?;
        self.writer_pid.store(conn.backend_pid(), Ordering::SeqCst);
        Ok(conn)
    }

    /// The backend process of the writer's connection (0 before it has one).
    pub fn writer_pid(&self) -> i32 {
        self.writer_pid.load(Ordering::SeqCst)
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<u32> {
        self.pool.with(|conn| version(conn).map(|v| v as u32))
    }
}

fn version(conn: &mut Conn) -> Result<i32> {
    let exists = conn.query_opt("SELECT to_regclass('hero_logic_schema')::text", &[])?;
    if exists.is_none_or(|r| r.get::<_, Option<String>>(0).is_none()) {
        conn.batch("CREATE TABLE hero_logic_schema (version integer NOT NULL)")?;
    }
    let row = conn.query_opt("SELECT max(version) FROM hero_logic_schema", &[])?;
    Ok(row.and_then(|r| r.get::<_, Option<i32>>(0)).unwrap_or(0))
}

fn migrate(conn: &mut Conn) -> Result<()> {
    conn.batch("BEGIN")?;
    let done = (|| {
        conn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        let found = version(conn)?;
        if found as usize > MIGRATIONS.len() {
            return Err(super::StoreError::NewerSchema {
                path: "the PostgreSQL database".into(),
                found: found as u32,
            });
        }
        for (step, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            conn.batch(sql)?;
            let to = step as i32 + 1;
            conn.execute(
                "INSERT INTO hero_logic_schema (version) VALUES ($1)",
                &[&to],
            )?;
        }
        Ok(())
    })();
    match done {
        Ok(()) => conn.batch("COMMIT"),
        Err(e) => {
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}
