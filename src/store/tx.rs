//! Typed writes inside one write transaction.
//!
//! Every method keeps the index tables in step with the records, so callers
//! never touch an index. Callers check first and write after, so that an
//! error leaves nothing half-written in a group-committed batch.

use redb::{ReadableTable, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Result, db, tables::*};
use crate::model::{LogLine, Play, Span, Workflow, WorkflowVersion};

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<()> {
    txn.open_table(META).map_err(db)?;
    txn.open_table(WORKFLOWS).map_err(db)?;
    txn.open_table(WORKFLOW_NAMES).map_err(db)?;
    txn.open_table(VERSIONS).map_err(db)?;
    txn.open_multimap_table(WORKFLOW_VERSIONS).map_err(db)?;
    txn.open_table(ANALYSES).map_err(db)?;
    txn.open_table(PLAYS).map_err(db)?;
    txn.open_table(PLAYS_BY_STATUS).map_err(db)?;
    txn.open_table(PLAYS_BY_WORKFLOW).map_err(db)?;
    txn.open_table(PLAY_CHILDREN).map_err(db)?;
    txn.open_table(STEP_OUTPUTS).map_err(db)?;
    txn.open_table(SPANS).map_err(db)?;
    txn.open_table(LOGS).map_err(db)?;
    Ok(())
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model types always serialize")
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T> {
    Ok(serde_json::from_str(text)?)
}

/// A write transaction seen through model types.
pub struct Tx<'a> {
    pub(super) txn: &'a WriteTransaction,
}

impl Tx<'_> {
    pub fn play(&self, sid: &str) -> Result<Option<Play>> {
        let table = self.txn.open_table(PLAYS).map_err(db)?;
        let found = table.get(sid).map_err(db)?;
        found.map(|v| decode(v.value())).transpose()
    }

    /// Writes a play and moves its index entries when its status changed.
    /// `step_outputs` is never part of the record: see [`Tx::put_step_output`].
    pub fn put_play(&self, old: Option<&Play>, play: &Play) -> Result<()> {
        let mut stored = play.clone();
        stored.step_outputs.clear();
        stored.newer_version_sid = None;
        self.txn
            .open_table(PLAYS)
            .map_err(db)?
            .insert(play.sid.as_str(), json(&stored).as_str())
            .map_err(db)?;
        let mut by_status = self.txn.open_table(PLAYS_BY_STATUS).map_err(db)?;
        if let Some(old) = old
            && old.status != play.status
        {
            by_status
                .remove((old.status.as_str(), old.sid.as_str()))
                .map_err(db)?;
        }
        by_status
            .insert((play.status.as_str(), play.sid.as_str()), ())
            .map_err(db)?;
        if old.is_none() {
            self.txn
                .open_table(PLAYS_BY_WORKFLOW)
                .map_err(db)?
                .insert((play.workflow_sid.as_str(), play.sid.as_str()), ())
                .map_err(db)?;
            if let Some(parent) = &play.parent_play_sid {
                self.txn
                    .open_table(PLAY_CHILDREN)
                    .map_err(db)?
                    .insert((parent.as_str(), play.sid.as_str()), ())
                    .map_err(db)?;
            }
        }
        Ok(())
    }

    pub fn has_step_output(&self, play_sid: &str, step_key: &str) -> Result<bool> {
        let table = self.txn.open_table(STEP_OUTPUTS).map_err(db)?;
        Ok(table.get((play_sid, step_key)).map_err(db)?.is_some())
    }

    pub fn put_step_output(
        &self,
        play_sid: &str,
        step_key: &str,
        output: &serde_json::Value,
    ) -> Result<()> {
        self.txn
            .open_table(STEP_OUTPUTS)
            .map_err(db)?
            .insert((play_sid, step_key), json(output).as_str())
            .map_err(db)?;
        Ok(())
    }

    pub fn put_span(&self, span: &Span) -> Result<()> {
        self.txn
            .open_table(SPANS)
            .map_err(db)?
            .insert((span.play_sid.as_str(), span.run, span.seq()), json(span).as_str())
            .map_err(db)?;
        Ok(())
    }

    pub fn span(&self, play_sid: &str, run: u32, seq: u64) -> Result<Option<Span>> {
        let table = self.txn.open_table(SPANS).map_err(db)?;
        let found = table.get((play_sid, run, seq)).map_err(db)?;
        found.map(|v| decode(v.value())).transpose()
    }

    pub fn put_log(&self, play_sid: &str, line: &LogLine) -> Result<()> {
        self.txn
            .open_table(LOGS)
            .map_err(db)?
            .insert((play_sid, line.run, line.seq), json(line).as_str())
            .map_err(db)?;
        Ok(())
    }

    pub fn workflow(&self, sid: &str) -> Result<Option<Workflow>> {
        let table = self.txn.open_table(WORKFLOWS).map_err(db)?;
        let found = table.get(sid).map_err(db)?;
        found.map(|v| decode(v.value())).transpose()
    }

    pub fn workflow_by_name(&self, name: &str) -> Result<Option<Workflow>> {
        let sid = {
            let names = self.txn.open_table(WORKFLOW_NAMES).map_err(db)?;
            let found = names.get(name).map_err(db)?;
            found.map(|v| v.value().to_owned())
        };
        match sid {
            Some(sid) => self.workflow(&sid),
            None => Ok(None),
        }
    }

    pub fn put_workflow(&self, workflow: &Workflow) -> Result<()> {
        self.txn
            .open_table(WORKFLOWS)
            .map_err(db)?
            .insert(workflow.sid.as_str(), json(workflow).as_str())
            .map_err(db)?;
        self.txn
            .open_table(WORKFLOW_NAMES)
            .map_err(db)?
            .insert(workflow.name.as_str(), workflow.sid.as_str())
            .map_err(db)?;
        Ok(())
    }

    pub fn version_exists(&self, sid: &str) -> Result<bool> {
        let table = self.txn.open_table(VERSIONS).map_err(db)?;
        Ok(table.get(sid).map_err(db)?.is_some())
    }

    pub fn put_version(&self, version: &WorkflowVersion) -> Result<()> {
        self.txn
            .open_table(VERSIONS)
            .map_err(db)?
            .insert(version.sid.as_str(), json(version).as_str())
            .map_err(db)?;
        self.txn
            .open_multimap_table(WORKFLOW_VERSIONS)
            .map_err(db)?
            .insert(
                version.workflow_sid.as_str(),
                (version.created_at.as_str(), version.sid.as_str()),
            )
            .map_err(db)?;
        Ok(())
    }

    pub fn put_analysis(&self, source_hash: &str, analysis: &serde_json::Value) -> Result<()> {
        self.txn
            .open_table(ANALYSES)
            .map_err(db)?
            .insert(source_hash, json(analysis).as_str())
            .map_err(db)?;
        Ok(())
    }
}
