//! Workers, leases and takeovers in the database (SPEC §12).
//!
//! A worker is a server with its own data folder; its id is kept there, so
//! a server that restarts is the same worker and takes its own plays back
//! at once, while another takes them only once their lease has run out.
//! The writer claims a play for its worker in the very write that makes
//! the play `pending` or `running` (see `tx.rs`); the heartbeat renews the
//! leases of what the worker holds; [`Pg::claim`] takes over plays whose
//! lease ran out, with `FOR UPDATE SKIP LOCKED`, so two workers never take
//! one play.

use std::path::Path;
use std::time::Duration;

use super::Pg;
use crate::model::Worker;
use crate::store::Result;

/// Who this server is among the workers, and how long its leases last.
#[derive(Debug, Clone)]
pub struct WorkerId {
    pub id: String,
    pub host: String,
    pub lease: Duration,
}

/// A play this worker just took.
#[derive(Debug)]
pub struct Claimed {
    pub sid: String,
    /// It was this worker's before (this server restarted): a process
    /// left of its last run here may still be alive.
    pub was_ours: bool,
}

/// Plays taken over at once at most.
const CLAIM_AT_ONCE: i64 = 200;

impl Pg {
    /// This server's worker, if it is one (a test reading the database is
    /// not).
    pub(crate) fn worker(&self) -> Option<&WorkerId> {
        self.worker.as_ref()
    }

    fn me(&self) -> Result<&WorkerId> {
        self.worker
            .as_ref()
            .ok_or_else(|| crate::store::StoreError::Unavailable {
                dir: "the PostgreSQL database".into(),
                why: "this connection is not a worker's".into(),
            })
    }

    /// Enters this server in `workers`, or says it started again.
    pub fn register(&self) -> Result<()> {
        let me = self.me()?;
        let pid = i64::from(std::process::id());
        self.pool.with(|conn| {
            conn.execute(
                "INSERT INTO workers (id, host, pid, started_at, heartbeat_at) \
                 VALUES ($1, $2, $3, now(), now()) \
                 ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, \
                 started_at = now(), heartbeat_at = now()",
                &[&me.id, &me.host, &pid],
            )
            .map(drop)
        })
    }

    /// Says this worker is alive and renews the leases of the plays it
    /// holds; answers which of `local` (the plays it runs now) it no longer
    /// holds: another worker took them over while this one was away.
    pub fn heartbeat(&self, local: &[String]) -> Result<Vec<String>> {
        let me = self.me()?;
        let lease = me.lease.as_secs_f64();
        self.pool.with(|conn| {
            conn.execute(
                "UPDATE workers SET heartbeat_at = now() WHERE id = $1",
                &[&me.id],
            )?;
            // Rows a batch holds now are skipped (renewed at the next
            // beat), so that the heartbeat never waits on, nor deadlocks
            // with, a writer.
            conn.execute(
                "UPDATE plays SET lease_until = now() + make_interval(secs => $2) \
                 WHERE sid IN (SELECT sid FROM plays \
                     WHERE worker_id = $1 AND status IN ('pending', 'running') \
                     ORDER BY sid FOR UPDATE SKIP LOCKED)",
                &[&me.id, &lease],
            )?;
            let rows = conn.query(
                "SELECT sid FROM plays WHERE sid = ANY($1) AND worker_id IS DISTINCT FROM $2",
                &[&local, &me.id],
            )?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    /// Takes over the `pending` and `running` plays whose lease ran out (and,
    /// with `own`, those this worker held before it restarted): each is
    /// this worker's from now on, to run again from its checkpoints.
    pub fn claim(&self, own: bool) -> Result<Vec<Claimed>> {
        let me = self.me()?;
        let lease = me.lease.as_secs_f64();
        self.pool.with(|conn| {
            let rows = conn.query(
                "WITH c AS (SELECT sid, worker_id AS before FROM plays \
                     WHERE status IN ('pending', 'running') \
                     AND (lease_until IS NULL OR lease_until < now() OR ($3 AND worker_id = $1)) \
                     ORDER BY sid LIMIT $4 FOR UPDATE SKIP LOCKED) \
                 UPDATE plays p SET worker_id = $1, \
                     lease_until = now() + make_interval(secs => $2) \
                 FROM c WHERE p.sid = c.sid \
                 RETURNING p.sid, c.before IS NOT DISTINCT FROM $1",
                &[&me.id, &lease, &own, &CLAIM_AT_ONCE],
            )?;
            let mut claimed: Vec<Claimed> = rows
                .iter()
                .map(|r| Claimed {
                    sid: r.get(0),
                    was_ours: r.get(1),
                })
                .collect();
            claimed.sort_by(|a, b| a.sid.cmp(&b.sid));
            Ok(claimed)
        })
    }

    /// Every worker that ever shared this database, with the plays each
    /// runs now.
    pub fn workers(&self) -> Result<Vec<Worker>> {
        // Times as the model writes them: RFC 3339 in UTC, to the µs.
        let sql = r#"SELECT w.id, w.host, w.pid,
                to_char(w.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                to_char(w.heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                coalesce((SELECT array_agg(p.sid ORDER BY p.sid) FROM plays p
                    WHERE p.worker_id = w.id AND p.status = 'running'), '{}')
            FROM workers w ORDER BY w.id"#;
        let rows = self.pool.with(|conn| conn.query(sql, &[]))?;
        Ok(rows
            .iter()
            .map(|r| Worker {
                id: r.get(0),
                host: r.get(1),
                pid: u32::try_from(r.get::<_, i64>(2)).unwrap_or_default(),
                started_at: r.get(3),
                heartbeat_at: r.get(4),
                runs: r.get(5),
            })
            .collect())
    }
}

/// This machine's name, as `workers` shows it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The file in a data folder that names its worker.
const WORKER_FILE: &str = "worker_id";

/// The worker id of a data folder: made once (the host's name and 32
/// random bits) and kept there, so a server that restarts on the folder is
/// the same worker.
pub fn local_worker_id(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join(WORKER_FILE);
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    let id = format!("{}-{:08x}", host_name(), u32::from_be_bytes(bytes));
    std::fs::write(&path, format!("{id}\n"))?;
    Ok(id)
}
