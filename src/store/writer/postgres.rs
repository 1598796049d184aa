//! The writer thread for PostgreSQL: every batch is one transaction on the
//! thread's own connection, and everyone in it hears back after COMMIT, so
//! concurrent writes share a commit as they share an fsync in redb.
//!
//! A statement that fails aborts the transaction, and the whole batch hears
//! the error, as a failed redb batch does. A lost connection is made again
//! for the next batch, with backoff, and a repeated error is logged once
//! per `QUIET`.

use std::cell::RefCell;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use super::{Request, Shared};
use crate::store::pg::{Pg, PgTx, WriterConn};
use crate::store::{Result, StoreError, Tx};

/// How long to wait before connecting again after the connection failed.
const RETRY: Duration = Duration::from_millis(200);
/// A repeated error is logged once this often at most.
const QUIET: Duration = Duration::from_secs(10);

pub(super) fn run(shared: &Shared, pg: &Pg, conn: &mut RefCell<WriterConn>) {
    let mut last_error: Option<Instant> = None;
    loop {
        let (batch, closed) = {
            let mut queue = shared.queue();
            while queue.requests.is_empty() && !queue.closed {
                queue = shared
                    .ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            drop(queue);
            let batch = shared.take();
            (batch, shared.queue().closed)
        };
        if batch.is_empty() && closed {
            return;
        }
        if conn.get_mut().is_closed() {
            match pg.writer_conn() {
                Ok(fresh) => *conn.get_mut() = fresh,
                Err(e) => {
                    refuse(batch, &e);
                    quiet(&mut last_error, &e);
                    std::thread::sleep(RETRY);
                    continue;
                }
            }
        }
        if let Err(e) = write(conn, batch) {
            quiet(&mut last_error, &e);
        }
    }
}

/// Runs a batch in one transaction and answers everyone in it.
fn write(conn: &RefCell<WriterConn>, batch: Vec<Request>) -> Result<()> {
    let plays: Vec<String> = batch.iter().filter_map(|r| r.play.clone()).collect();
    conn.borrow_mut().begin(plays);
    let tx = Tx::Postgres(PgTx::new(conn));
    let replies: Vec<_> = batch
        .into_iter()
        .map(|request| (request.job)(Some(&tx)))
        .collect();
    let committed = conn.borrow_mut().commit().map_err(|e| unavailable(&e));
    for reply in replies {
        reply(match &committed {
            Ok(()) => Ok(()),
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
