//! Read-only queries, each in its own read transaction (a consistent
//! snapshot that never blocks the writer).

use redb::ReadableTable;
use serde::de::DeserializeOwned;

use super::{KeyRecord, Result, Store, db, tables::*, with_steps_done};
use crate::model::{LogLine, Play, PlayStatus, Schedule, Span, Workflow, WorkflowVersion};

fn decode<T: DeserializeOwned>(text: &str) -> Result<T> {
    Ok(serde_json::from_str(text)?)
}

/// Which plays `play_list` returns.
#[derive(Debug, Default, Clone)]
pub struct PlayFilter {
    pub status: Option<PlayStatus>,
    pub workflow_sid: Option<String>,
    /// Only plays created before this sid (sids sort by creation time).
    pub before: Option<String>,
    pub limit: usize,
}

impl Store {
    pub fn play(&self, sid: &str) -> Result<Option<Play>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(PLAYS).map_err(db)?;
        let counts = txn.open_table(STEP_COUNTS).map_err(db)?;
        let found = table.get(sid).map_err(db)?;
        found
            .map(|v| with_steps_done(decode(v.value())?, &counts))
            .transpose()
    }

    /// Every checkpoint of a play, `step_key` → output.
    pub fn step_outputs(&self, play_sid: &str) -> Result<crate::model::JsonMap> {
        let txn = self.begin_read()?;
        let table = txn.open_table(STEP_OUTPUTS).map_err(db)?;
        let mut out = crate::model::JsonMap::new();
        for entry in table.range((play_sid, "")..).map_err(db)? {
            let (key, value) = entry.map_err(db)?;
            let (sid, step_key) = key.value();
            if sid != play_sid {
                break;
            }
            // An output an older build stored unchecked, that no longer reads
            // back (a number out of range): left out, so the play stays
            // readable and its step runs again rather than never.
            match decode(value.value()) {
                Ok(output) => {
                    out.insert(step_key.to_owned(), output);
                }
                Err(e) => tracing::warn!(
                    "the checkpoint of step {step_key} of play {play_sid} does not decode, left out: {e}"
                ),
            }
        }
        Ok(out)
    }

    /// Newest first. Uses the status or workflow index when filtered, so it
    /// reads only the plays it returns and never a span.
    pub fn plays(&self, filter: &PlayFilter) -> Result<Vec<Play>> {
        let txn = self.begin_read()?;
        let plays = txn.open_table(PLAYS).map_err(db)?;
        let counts = txn.open_table(STEP_COUNTS).map_err(db)?;
        let limit = if filter.limit == 0 {
            usize::MAX
        } else {
            filter.limit
        };
        let before = filter.before.as_deref();
        let mut out = Vec::new();
        let mut keep = |play: Play| -> Result<bool> {
            let fits = filter
                .workflow_sid
                .as_deref()
                .is_none_or(|w| w == play.workflow_sid)
                && filter.status.is_none_or(|s| s == play.status);
            if fits {
                out.push(with_steps_done(play, &counts)?);
            }
            Ok(out.len() < limit)
        };
        let load = |sid: &str| -> Result<Option<Play>> {
            let found = plays.get(sid).map_err(db)?;
            found.map(|v| decode(v.value())).transpose()
        };
        if let Some(status) = filter.status {
            let index = txn.open_table(PLAYS_BY_STATUS).map_err(db)?;
            let upper = before.unwrap_or("\u{10ffff}");
            let range = index
                .range((status.as_str(), "")..(status.as_str(), upper))
                .map_err(db)?;
            for entry in range.rev() {
                let (key, _) = entry.map_err(db)?;
                if let Some(play) = load(key.value().1)?
                    && !keep(play)?
                {
                    break;
                }
            }
        } else if let Some(workflow) = filter.workflow_sid.as_deref() {
            let index = txn.open_table(PLAYS_BY_WORKFLOW).map_err(db)?;
            let upper = before.unwrap_or("\u{10ffff}");
            let range = index.range((workflow, "")..(workflow, upper)).map_err(db)?;
            for entry in range.rev() {
                let (key, _) = entry.map_err(db)?;
                if let Some(play) = load(key.value().1)?
                    && !keep(play)?
                {
                    break;
                }
            }
        } else {
            let range = match before {
                Some(b) => plays.range(..b).map_err(db)?,
                None => plays.range::<&str>(..).map_err(db)?,
            };
            for entry in range.rev() {
                let (_, value) = entry.map_err(db)?;
                if !keep(decode(value.value())?)? {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// How many plays fit `filter`, its `before` and `limit` aside: from
    /// the indexes' keys alone unless both status and workflow are given.
    pub fn count_plays(&self, filter: &PlayFilter) -> Result<u64> {
        let txn = self.begin_read()?;
        let count_keys = |range: redb::Range<'_, (&str, &str), ()>| -> Result<u64> {
            let mut n = 0;
            for entry in range {
                entry.map_err(db)?;
                n += 1;
            }
            Ok(n)
        };
        match (filter.status, filter.workflow_sid.as_deref()) {
            (None, None) => {
                use redb::ReadableTableMetadata;
                txn.open_table(PLAYS).map_err(db)?.len().map_err(db)
            }
            (Some(status), None) => {
                let index = txn.open_table(PLAYS_BY_STATUS).map_err(db)?;
                let s = status.as_str();
                count_keys(index.range((s, "")..=(s, "\u{10ffff}")).map_err(db)?)
            }
            (None, Some(workflow)) => {
                let index = txn.open_table(PLAYS_BY_WORKFLOW).map_err(db)?;
                count_keys(
                    index
                        .range((workflow, "")..=(workflow, "\u{10ffff}"))
                        .map_err(db)?,
                )
            }
            (Some(_), Some(_)) => {
                let all = PlayFilter {
                    before: None,
                    limit: 0,
                    ..filter.clone()
                };
                drop(txn);
                Ok(self.plays(&all)?.len() as u64)
            }
        }
    }

    /// The first `limit` entries of the timer index, soonest first: `(due
    /// time in microseconds since the epoch, play sid, pause id)`.
    pub fn timers(&self, limit: usize) -> Result<Vec<(i64, String, String)>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(TIMERS).map_err(db)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(db)?.take(limit) {
            let (key, _) = entry.map_err(db)?;
            let (due, sid, id) = key.value();
            out.push((due, sid.to_owned(), id.to_owned()));
        }
        Ok(out)
    }

    /// The sids of the plays spawned by `parent`.
    pub fn children(&self, parent: &str) -> Result<Vec<String>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(PLAY_CHILDREN).map_err(db)?;
        let mut out = Vec::new();
        for entry in table.range((parent, "")..).map_err(db)? {
            let (key, _) = entry.map_err(db)?;
            let (p, child) = key.value();
            if p != parent {
                break;
            }
            out.push(child.to_owned());
        }
        Ok(out)
    }

    /// Spans in start order; of one run, or of every run.
    pub fn spans(&self, play_sid: &str, run: Option<u32>) -> Result<Vec<Span>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(SPANS).map_err(db)?;
        let (lo, hi) = match run {
            Some(r) => ((play_sid, r, 0), (play_sid, r, u64::MAX)),
            None => ((play_sid, 0, 0), (play_sid, u32::MAX, u64::MAX)),
        };
        let mut out = Vec::new();
        for entry in table.range(lo..=hi).map_err(db)? {
            let (key, value) = entry.map_err(db)?;
            // A span an older build stored unchecked (a forged `kind`, say):
            // left out with a warning, so its play stays readable.
            match decode(value.value()) {
                Ok(span) => out.push(span),
                Err(e) => {
                    let (_, run, seq) = key.value();
                    tracing::warn!(
                        "span {run}.{seq} of play {play_sid} does not decode, left out: {e}"
                    );
                }
            }
        }
        Ok(out)
    }

    /// One page of a play's log: at most `limit` lines after `after` (a
    /// `seq`), in order. A page, so that a run that printed a lot is read
    /// back without holding all of it; each run's lines are entered at the
    /// first `seq` past `after`, so a late page costs no more than the first.
    pub fn logs(
        &self,
        play_sid: &str,
        run: Option<u32>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<LogLine>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(LOGS).map_err(db)?;
        let first_seq = after.map_or(0, |after| after.saturating_add(1));
        let last_run = run.unwrap_or(u32::MAX);
        let mut next_run = run.unwrap_or(0);
        let mut out = Vec::new();
        while out.len() < limit {
            // The next run that logged anything, from `next_run` on.
            let Some(found) = table
                .range((play_sid, next_run, 0)..=(play_sid, last_run, u64::MAX))
                .map_err(db)?
                .next()
            else {
                break;
            };
            let this_run = found.map_err(db)?.0.value().1;
            let lines = table
                .range((play_sid, this_run, first_seq)..=(play_sid, this_run, u64::MAX))
                .map_err(db)?;
            for entry in lines.take(limit - out.len()) {
                out.push(decode(entry.map_err(db)?.1.value())?);
            }
            match this_run.checked_add(1) {
                Some(run) if run <= last_run => next_run = run,
                _ => break,
            }
        }
        Ok(out)
    }

    /// The `seq` of a play's last log line, of any run: where the next
    /// run's lines go on, so `seq` orders a play's whole log.
    pub fn last_log_seq(&self, play_sid: &str) -> Result<Option<u64>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(LOGS).map_err(db)?;
        let mut range = table
            .range((play_sid, 0, 0)..=(play_sid, u32::MAX, u64::MAX))
            .map_err(db)?;
        match range.next_back() {
            Some(entry) => Ok(Some(entry.map_err(db)?.0.value().2)),
            None => Ok(None),
        }
    }

    pub fn workflow(&self, sid_or_name: &str) -> Result<Option<Workflow>> {
        let txn = self.begin_read()?;
        let workflows = txn.open_table(WORKFLOWS).map_err(db)?;
        if let Some(found) = workflows.get(sid_or_name).map_err(db)? {
            return Ok(Some(decode(found.value())?));
        }
        let names = txn.open_table(WORKFLOW_NAMES).map_err(db)?;
        let Some(sid) = names.get(sid_or_name).map_err(db)? else {
            return Ok(None);
        };
        let found = workflows.get(sid.value()).map_err(db)?;
        found.map(|v| decode(v.value())).transpose()
    }

    pub fn workflows(&self) -> Result<Vec<Workflow>> {
        let txn = self.begin_read()?;
        let names = txn.open_table(WORKFLOW_NAMES).map_err(db)?;
        let workflows = txn.open_table(WORKFLOWS).map_err(db)?;
        let mut out = Vec::new();
        for entry in names.iter().map_err(db)? {
            let (_, sid) = entry.map_err(db)?;
            if let Some(found) = workflows.get(sid.value()).map_err(db)? {
                out.push(decode(found.value())?);
            }
        }
        Ok(out)
    }

    pub fn version(&self, sid: &str) -> Result<Option<WorkflowVersion>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(VERSIONS).map_err(db)?;
        let found = table.get(sid).map_err(db)?;
        found.map(|v| decode(v.value())).transpose()
    }

    /// `(version sid, created_at)` of a workflow, oldest first.
    pub fn versions_of(&self, workflow_sid: &str) -> Result<Vec<(String, String)>> {
        let txn = self.begin_read()?;
        let table = txn.open_multimap_table(WORKFLOW_VERSIONS).map_err(db)?;
        let mut out = Vec::new();
        for entry in table.get(workflow_sid).map_err(db)? {
            let entry = entry.map_err(db)?;
            let (created_at, sid) = entry.value();
            out.push((sid.to_owned(), created_at.to_owned()));
        }
        Ok(out)
    }

    pub fn analysis(&self, source_hash: &str) -> Result<Option<serde_json::Value>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(ANALYSES).map_err(db)?;
        let found = table.get(source_hash).map_err(db)?;
        found.map(|v| decode(v.value())).transpose()
    }

    pub fn schedule(&self, name: &str) -> Result<Option<Schedule>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(SCHEDULES).map_err(db)?;
        let found = table.get(name).map_err(db)?;
        found.map(|v| decode(v.value())).transpose()
    }

    /// Every schedule, by name.
    pub fn schedules(&self) -> Result<Vec<Schedule>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(SCHEDULES).map_err(db)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(db)? {
            let (_, value) = entry.map_err(db)?;
            out.push(decode(value.value())?);
        }
        Ok(out)
    }

    /// The play and pause a resume token answers.
    pub fn resume_token(&self, token: &str) -> Result<Option<(String, String)>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(RESUME_TOKENS).map_err(db)?;
        let found = table.get(token).map_err(db)?;
        Ok(found.map(|v| {
            let (sid, id) = v.value();
            (sid.to_owned(), id.to_owned())
        }))
    }

    /// Every HTTP key's record, by id.
    pub fn http_keys(&self) -> Result<Vec<KeyRecord>> {
        let txn = self.begin_read()?;
        let table = txn.open_table(HTTP_KEYS).map_err(db)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(db)? {
            let (_, value) = entry.map_err(db)?;
            out.push(decode(value.value())?);
        }
        Ok(out)
    }

    /// Every record of every table as text, for tests that compare the
    /// store before and after a refused request.
    pub fn dump(&self) -> Result<Vec<String>> {
        let txn = self.begin_read()?;
        let mut out = Vec::new();
        macro_rules! dump {
            ($table:expr) => {
                for entry in txn.open_table($table).map_err(db)?.iter().map_err(db)? {
                    let (k, v) = entry.map_err(db)?;
                    out.push(format!("{:?} {:?}", k.value(), v.value()));
                }
            };
        }
        dump!(WORKFLOWS);
        dump!(WORKFLOW_NAMES);
        dump!(VERSIONS);
        dump!(PLAYS);
        dump!(PLAYS_BY_STATUS);
        dump!(PLAYS_BY_WORKFLOW);
        dump!(STEP_OUTPUTS);
        dump!(STEP_COUNTS);
        dump!(SPANS);
        dump!(LOGS);
        dump!(SCHEDULES);
        dump!(IDEMPOTENCY_KEYS);
        dump!(RESUME_TOKENS);
        dump!(HTTP_KEYS);
        Ok(out)
    }
}
