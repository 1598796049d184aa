//! The writer for PostgreSQL: every batch is one transaction on the
//! writer's own connection, and everyone in it hears back after COMMIT, so
//! concurrent writes share a commit as they share an fsync in redb. As with
//! redb, a caller that waits on its thread ([`super::Durable::wait`], a
//! step's checkpoint) writes the batch itself when nobody else holds the
//! connection: handing it to the writer thread and back costs two wake-ups,
//! a good part of a round trip to the database.
//!
//! A statement that fails aborts the transaction, and the whole batch hears
//! the error, as a failed redb batch does. A lost connection is made again
//! by the writer thread for the next batch, with backoff, and a repeated
//! error is logged once per `QUIET`.

use std::cell::RefCell;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Request, Shared};
use crate::store::pg::{Pg, PgTx, WriterConn};
use crate::store::{Result, StoreError, Tx};

/// How long to wait before connecting again after the connection failed.
const RETRY: Duration = Duration::from_millis(200);
/// A repeated error is logged once this often at most.
const QUIET: Duration = Duration::from_secs(10);

/// The connection, and when a failed write was last logged.
pub(super) struct PgState {
    conn: RefCell<WriterConn>,
    last_error: Option<Instant>,
}

impl PgState {
    pub(super) fn new(conn: WriterConn) -> PgState {
        PgState {
            conn: RefCell::new(conn),
            last_error: None,
        }
    }

    /// Whether the connection is lost: only the writer thread connects
    /// again.
    pub(super) fn is_closed(&self) -> bool {
        self.conn.borrow().is_closed()
    }

    /// Runs a batch in one transaction and answers everyone in it.
    pub(super) fn write(&mut self, batch: Vec<Request>) {
        if let Err(e) = write(&self.conn, batch) {
            quiet(&mut self.last_error, &e);
        }
    }
}

pub(super) fn run(shared: &Shared, pg: &Pg, state: &Mutex<PgState>) {
    loop {
        let closed = {
            let mut queue = shared.queue();
            while queue.requests.is_empty() && !queue.closed {
                queue = shared
                    .ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            queue.closed
        };
        let mut state = shared.hold(state);
        let batch = shared.take();
        if batch.is_empty() {
            // A caller wrote what was queued, or the server stops.
            if closed {
                return;
            }
            continue;
        }
        if state.is_closed() {
            match pg.writer_conn() {
                Ok(fresh) => *state.conn.get_mut() = fresh,
                Err(e) => {
                    refuse(batch, &e);
                    quiet(&mut state.last_error, &e);
                    drop(state);
                    std::thread::sleep(RETRY);
                    continue;
                }
            }
        }
        state.write(batch);
    }
}

/// Runs a batch in one transaction and answers everyone in it.
fn write(conn: &RefCell<WriterConn>, batch: Vec<Request>) -> Result<()> {
    let plays: Vec<String> = batch.iter().filter_map(|r| r.play.clone()).collect();
    conn.borrow_mut().begin(plays);
    let tx = Tx::Postgres(PgTx::new(conn));
    let replies: Vec<_> = batch
        .into_iter()
        .enumerate()
        .map(|(job, request)| {
            conn.borrow_mut().start_job(job);
            (request.job)(Some(&tx))
        })
        .collect();
    let committed = conn.borrow_mut().commit().map_err(|e| unavailable(&e));
    for (job, reply) in replies.into_iter().enumerate() {
        reply(match &committed {
            // A job whose fenced write found its run stale wrote nothing,
            // and hears why; the rest of the batch is committed.
            Ok(()) => conn.borrow_mut().stale(job).map_or(Ok(()), Err),
            Err(e) => Err(unavailable(e)),
        });
    }
    committed
}

fn refuse(batch: Vec<Request>, e: &StoreError) {
    super::batch::refuse(batch, || unavailable(e));
}

fn unavailable(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable { dir, why } => StoreError::Unavailable {
            dir: dir.clone(),
            why: why.clone(),
        },
        e => StoreError::Unavailable {
            dir: "the PostgreSQL database".into(),
            why: e.to_string(),
        },
    }
}

fn quiet(last: &mut Option<Instant>, e: &StoreError) {
    if last.is_none_or(|at| at.elapsed() >= QUIET) {
        tracing::error!("a write to PostgreSQL failed: {e}");
        *last = Some(Instant::now());
    }
}
