//! Read-only queries on pooled connections: the redb store's `read.rs`,
//! answered by PostgreSQL. Each is one statement, so each sees one
//! consistent snapshot.

use postgres::Row;

use super::Pg;
use crate::model::{LogLine, Play, Schedule, Span, Workflow, WorkflowVersion};
use crate::store::tx::decode;
use crate::store::{KeyRecord, PlayFilter, Result};

/// A play from its row: the record, with its count of steps done.
pub(super) fn play_of(row: &Row) -> Result<Play> {
    let mut play: Play = decode(row.get(0))?;
    play.steps_done = row.get::<_, i64>(1) as u64;
    Ok(play)
}

/// Decodes each row's first column, leaving out (with a warning) a record
/// that does not read back, as the redb store does for spans and outputs.
fn each<T: serde::de::DeserializeOwned>(rows: Vec<Row>, what: &str) -> Vec<T> {
    rows.iter()
        .filter_map(|row| match decode(row.get(0)) {
            Ok(value) => Some(value),
            Err(e) => {
                tracing::warn!("a {what} does not decode, left out: {e}");
                None
            }
        })
        .collect()
}

fn limit_of(limit: usize) -> Option<i64> {
    (limit != 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX))
}

impl Pg {
    pub fn play(&self, sid: &str) -> Result<Option<Play>> {
        self.pool.read(|conn| {
            let row = conn.query_opt(
                concat!(
                    "SELECT record, ",
                    super::steps_done!(),
                    " FROM plays WHERE sid = $1"
                ),
                &[&sid],
            )?;
            row.map(|r| play_of(&r)).transpose()
        })
    }

    pub fn step_outputs(&self, play_sid: &str) -> Result<crate::model::JsonMap> {
        let rows = self.pool.read(|conn| {
            conn.query(
                "SELECT step_key, output FROM step_outputs WHERE play_sid = $1 ORDER BY step_key",
                &[&play_sid],
            )
        })?;
        let mut out = crate::model::JsonMap::new();
        for row in rows {
            let key: String = row.get(0);
            match decode(row.get(1)) {
                Ok(output) => {
                    out.insert(key, output);
                }
                Err(e) => tracing::warn!(
                    "the checkpoint of step {key} of play {play_sid} does not decode, left out: {e}"
                ),
            }
        }
        Ok(out)
    }

    /// Newest first.
    pub fn plays(&self, filter: &PlayFilter) -> Result<Vec<Play>> {
        let status = filter.status.map(|s| s.as_str());
        let rows = self.pool.read(|conn| {
            conn.query(
                concat!(
                    "SELECT record, ",
                    super::steps_done!(),
                    " FROM plays WHERE ($1::text IS NULL OR status = $1) \
                 AND ($2::text IS NULL OR workflow_sid = $2) \
                 AND ($3::text IS NULL OR sid < $3) \
                 ORDER BY sid DESC LIMIT $4"
                ),
                &[
                    &status,
                    &filter.workflow_sid,
                    &filter.before,
                    &limit_of(filter.limit),
                ],
            )
        })?;
        rows.iter().map(play_of).collect()
    }

    pub fn count_plays(&self, filter: &PlayFilter) -> Result<u64> {
        let status = filter.status.map(|s| s.as_str());
        let row = self.pool.read(|conn| {
            conn.query_opt(
                "SELECT count(*) FROM plays \
                 WHERE ($1::text IS NULL OR status = $1) \
                 AND ($2::text IS NULL OR workflow_sid = $2)",
                &[&status, &filter.workflow_sid],
            )
        })?;
        Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    pub fn timers(&self, limit: usize) -> Result<Vec<(i64, String, String)>> {
        let rows = self.pool.read(|conn| {
            conn.query(
                "SELECT due, play_sid, pause_id FROM timers \
                 ORDER BY due, play_sid, pause_id LIMIT $1",
                &[&limit_of(limit)],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    pub fn children(&self, parent: &str) -> Result<Vec<String>> {
        let rows = self.pool.read(|conn| {
            conn.query(
                "SELECT sid FROM plays WHERE parent_sid = $1 ORDER BY sid",
                &[&parent],
            )
        })?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub fn spans(&self, play_sid: &str, run: Option<u32>) -> Result<Vec<Span>> {
        let run = run.map(i64::from);
        let rows = self.pool.read(|conn| {
            conn.query(
                "SELECT span FROM spans WHERE play_sid = $1 AND ($2::bigint IS NULL OR run = $2) \
                 ORDER BY run, seq",
                &[&play_sid, &run],
            )
        })?;
        Ok(each(rows, "span"))
    }

    pub fn logs(
        &self,
        play_sid: &str,
        run: Option<u32>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<LogLine>> {
        let run = run.map(i64::from);
        let first = after.map_or(0, |a| {
            i64::try_from(a.saturating_add(1)).unwrap_or(i64::MAX)
        });
        let rows = self.pool.read(|conn| {
            conn.query(
                "SELECT line FROM logs WHERE play_sid = $1 AND ($2::bigint IS NULL OR run = $2) \
                 AND seq >= $3 ORDER BY run, seq LIMIT $4",
                &[&play_sid, &run, &first, &limit_of(limit)],
            )
        })?;
        rows.iter().map(|r| decode(r.get(0))).collect()
    }

    pub fn last_log_seq(&self, play_sid: &str) -> Result<Option<u64>> {
        let row = self.pool.read(|conn| {
            conn.query_opt(
                "SELECT seq FROM logs WHERE play_sid = $1 ORDER BY run DESC, seq DESC LIMIT 1",
                &[&play_sid],
            )
        })?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64))
    }

    pub fn workflow(&self, sid_or_name: &str) -> Result<Option<Workflow>> {
        let row = self.pool.read(|conn| {
            conn.query_opt(
                "SELECT record FROM workflows WHERE sid = $1 \
                 UNION ALL \
                 SELECT w.record FROM workflow_names n JOIN workflows w ON w.sid = n.sid \
                 WHERE n.name = $1 LIMIT 1",
                &[&sid_or_name],
            )
        })?;
        row.map(|r| decode(r.get(0))).transpose()
    }

    pub fn workflows(&self) -> Result<Vec<Workflow>> {
        let rows = self.pool.read(|conn| {
            conn.query(
                "SELECT w.record FROM workflow_names n JOIN workflows w ON w.sid = n.sid \
                 ORDER BY n.name",
                &[],
            )
        })?;
        rows.iter().map(|r| decode(r.get(0))).collect()
    }

    pub fn version(&self, sid: &str) -> Result<Option<WorkflowVersion>> {
        let row = self
            .pool
            .read(|conn| conn.query_opt("SELECT record FROM versions WHERE sid = $1", &[&sid]))?;
        row.map(|r| decode(r.get(0))).transpose()
    }

    /// `(version sid, created_at)` of a workflow, oldest first.
    pub fn versions_of(&self, workflow_sid: &str) -> Result<Vec<(String, String)>> {
        let rows = self.pool.read(|conn| {
            conn.query(
                "SELECT sid, created_at FROM versions WHERE workflow_sid = $1 \
                 ORDER BY created_at, sid",
                &[&workflow_sid],
            )
        })?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub fn analysis(&self, source_hash: &str) -> Result<Option<serde_json::Value>> {
        let row = self.pool.read(|conn| {
            conn.query_opt(
                "SELECT analysis FROM analyses WHERE source_hash = $1",
                &[&source_hash],
            )
        })?;
        row.map(|r| decode(r.get(0))).transpose()
    }

    pub fn schedule(&self, name: &str) -> Result<Option<Schedule>> {
        let row = self.pool.read(|conn| {
            conn.query_opt("SELECT record FROM schedules WHERE name = $1", &[&name])
        })?;
        row.map(|r| decode(r.get(0))).transpose()
    }

    pub fn schedules(&self) -> Result<Vec<Schedule>> {
        let rows = self
            .pool
            .read(|conn| conn.query("SELECT record FROM schedules ORDER BY name", &[]))?;
        rows.iter().map(|r| decode(r.get(0))).collect()
    }

    pub fn resume_token(&self, token: &str) -> Result<Option<(String, String)>> {
        let row = self.pool.read(|conn| {
            conn.query_opt(
                "SELECT play_sid, pause_id FROM resume_tokens WHERE token = $1",
                &[&token],
            )
        })?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    pub fn http_keys(&self) -> Result<Vec<KeyRecord>> {
        let rows = self
            .pool
            .read(|conn| conn.query("SELECT record FROM http_keys ORDER BY id", &[]))?;
        rows.iter().map(|r| decode(r.get(0))).collect()
    }

    /// Every row of every table as text, for tests that compare the store
    /// before and after a refused request.
    pub fn dump(&self) -> Result<Vec<String>> {
        const TABLES: &[&str] = &[
            "workflows",
            "workflow_names",
            "versions",
            "plays",
            "play_steps",
            "step_outputs",
            "spans",
            "logs",
            "timers",
            "schedules",
            "idempotency_keys",
            "resume_tokens",
            "http_keys",
        ];
        self.pool.read(|conn| {
            let mut out = Vec::new();
            for table in TABLES {
                let sql = format!("SELECT t::text FROM {table} t ORDER BY 1");
                for row in conn.query_text(&sql)? {
                    out.push(format!("{table} {row}"));
                }
            }
            Ok(out)
        })
    }
}
