//! One PostgreSQL connection with its prepared statements, and the pool the
//! readers share.
//!
//! The synchronous `postgres` client keeps the store's API synchronous, as
//! redb's is: the writer thread owns one connection and drives it itself,
//! with no hop to another thread per statement. A reader inside the
//! server's async runtime leaves the runtime's context for the call
//! (`block_in_place`), as a redb read would block on the disk.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use crate::store::Result;

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A connection and the statements prepared on it, each prepared once: a
/// statement's text is its key, so only `'static` SQL is cached.
pub(crate) struct Conn {
    client: Client,
    prepared: HashMap<&'static str, Statement>,
}

impl Conn {
    /// Connects; on a thread outside any async runtime.
    pub(crate) fn connect(url: &str) -> Result<Conn> {
        let client = Client::connect(url, NoTls)?;
        Ok(Conn {
            client,
            prepared: HashMap::new(),
        })
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.prepared.insert(sql, statement.clone());
        Ok(statement)
    }

    pub(crate) fn execute(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        let statement = self.statement(sql)?;
        Ok(self.client.execute(&statement, params)?)
    }

    pub(crate) fn query(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        Ok(self.client.query(&statement, params)?)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<Option<Row>> {
        let statement = self.statement(sql)?;
        Ok(self.client.query_opt(&statement, params)?)
    }

    /// Runs a query built at run time (not prepared, not cached) whose rows
    /// are one text column each.
    pub(crate) fn query_text(&mut self, sql: &str) -> Result<Vec<String>> {
        Ok(self
            .client
            .query(sql, &[])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    /// Runs statements without parameters (transaction control, DDL).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.client.batch_execute(sql)?)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Whether the connection still answers (a round trip).
    fn is_valid(&mut self) -> bool {
        self.client.is_valid(VALID_WAIT).is_ok()
    }
}

/// How long [`Conn::is_valid`] waits for its answer.
const VALID_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Connections for readers, made when none is free and kept for the next.
pub(crate) struct Pool {
    url: String,
    free: Mutex<Vec<Conn>>,
}

/// How many idle connections the pool keeps.
const KEEP: usize = 8;

impl Pool {
    pub(crate) fn new(url: String) -> Pool {
        Pool {
            url,
            free: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Runs `f` on a free connection, from whatever thread: inside the
    /// server's runtime it leaves the runtime's context first, since the
    /// synchronous client runs a runtime of its own.
    pub(crate) fn with<T: Send>(&self, f: impl FnOnce(&mut Conn) -> Result<T> + Send) -> Result<T> {
        self.attempt(f).0
    }

    /// Runs read `f` as [`Pool::with`] does, asked again once on a fresh
    /// connection when the pooled one it got turns out closed. The other
    /// idle connections are dropped then too: what closed one (a database
    /// restarted, a failover, an administrator's `pg_terminate_backend`)
    /// closed them all, and each would fail a request of its own.
    pub(crate) fn read<T: Send>(
        &self,
        f: impl Fn(&mut Conn) -> Result<T> + Send + Sync,
    ) -> Result<T> {
        match self.attempt(&f) {
            (Err(_), Lost::Pooled) => {
                let idle =
                    std::mem::take(&mut *self.free.lock().unwrap_or_else(PoisonError::into_inner));
                blocking(move || drop(idle));
                self.with(f)
            }
            (out, _) => out,
        }
    }

    fn attempt<T: Send>(&self, f: impl FnOnce(&mut Conn) -> Result<T> + Send) -> (Result<T>, Lost) {
        blocking(|| {
            let taken = self
                .free
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let (mut conn, pooled) = match taken {
                Some(conn) if !conn.is_closed() => (conn, true),
                _ => match Conn::connect(&self.url) {
                    Ok(conn) => (conn, false),
                    Err(e) => return (Err(e), Lost::No),
                },
            };
            let out = f(&mut conn);
            // A connection the database closed may answer with the reason
            // before it reads as closed: after a failure, it is asked.
            if out.is_err() && !conn.is_valid() {
                return (out, if pooled { Lost::Pooled } else { Lost::No });
            }
            let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
            if !conn.is_closed() && free.len() < KEEP {
                free.push(conn);
            }
            (out, Lost::No)
        })
    }
}

/// Whether a pooled connection was found closed by the request made on it.
enum Lost {
    No,
    Pooled,
}

impl Drop for Pool {
    /// A connection's client stops a runtime of its own when dropped,
    /// which an async runtime's thread may not do in place.
    fn drop(&mut self) {
        let free = std::mem::take(self.free.get_mut().unwrap_or_else(PoisonError::into_inner));
        blocking(move || drop(free));
    }
}

/// Runs blocking `f` where the caller is: on a plain thread as is, on a
/// worker of a multi-threaded runtime through `block_in_place`, and on a
/// single-threaded runtime (which cannot give its thread away) on a thread
/// of its own.
pub(super) fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => f(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|scope| {
            scope
                .spawn(f)
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }),
    }
}
