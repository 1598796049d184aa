//! `hero_logic store check` and `store repair`: offline, on a data folder
//! that no server holds (they take its lock).
//!
//! A check reads the journal whole and every record in redb, and says what
//! is damaged without changing anything. A repair keeps every whole batch
//! of the journal (those after a damaged stretch too: each record is a
//! whole upsert), folds them into redb, starts a fresh journal, and names
//! each play that lost acknowledged data: those a damaged stretch names,
//! or, when the journal itself is gone, every play that had not ended (what
//! it held since the last fold is lost, and only those could have had any).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use redb::ReadableTable;
use serde::de::DeserializeOwned;

use super::journal::{JOURNAL_FILE, Journal};
use super::{DB_FILE, DataDirLock, PlayFilter, Result, Store, StoreError, db, tables};
use crate::model::{LogLine, Play, Schedule, Span, Workflow, WorkflowVersion};

/// What a check found, or what a repair did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    /// What is damaged, one sentence each; empty when nothing is.
    pub problems: Vec<String>,
    /// Plays that lost (a check: would lose) acknowledged data.
    pub plays: BTreeSet<String>,
    /// Whole journal batches kept (a check: that a start would apply).
    pub batches: usize,
}

/// What is wrong with the journal, and what a repair does about it.
enum JournalState {
    /// Whole batches, and damaged stretches between them.
    Readable(Journal, super::journal::Scan),
    /// Missing, unreadable or another store's: the repair starts a fresh
    /// one, and every play that had not ended may have lost data.
    Lost(String),
}

pub fn check(dir: &Path) -> Result<Report> {
    let _lock = DataDirLock::acquire(dir)?;
    let store = Store::open_db(dir)?;
    let mut report = Report::default();
    match inspect_journal(&store)? {
        JournalState::Readable(_, scan) => {
            report.batches = scan.batches.len();
            describe_damage(&store, &scan, &mut report);
        }
        JournalState::Lost(why) => {
            report.problems.push(why);
            report.plays = unfinished_plays(&store)?;
        }
    }
    check_records(&store, &mut report)?;
    Ok(report)
}

pub fn repair(dir: &Path) -> Result<Report> {
    let _lock = DataDirLock::acquire(dir)?;
    let store = Store::open_db(dir)?;
    store.migrate()?;
    let mut report = Report::default();
    match inspect_journal(&store)? {
        JournalState::Readable(mut journal, scan) => {
            describe_damage(&store, &scan, &mut report);
            report.batches = scan.batches.len();
            store.fold_batches(&mut journal, scan.batches)?;
        }
        JournalState::Lost(why) => {
            report.problems.push(why);
            report.plays = unfinished_plays(&store)?;
            let path = dir.join(JOURNAL_FILE);
            if path.exists() {
                let aside = dir.join(format!("{JOURNAL_FILE}.damaged"));
                std::fs::rename(&path, &aside).map_err(store.io())?;
                report
                    .problems
                    .push(format!("the old journal was moved to {}", aside.display()));
            }
            let (expected, _) = store.journal_meta()?;
            let mut journal = Journal::create(dir, expected.unwrap_or(1)).map_err(store.io())?;
            store.fold_batches(&mut journal, Vec::new())?;
        }
    }
    check_records(&store, &mut report)?;
    Ok(report)
}

fn inspect_journal(store: &Store) -> Result<JournalState> {
    match store.open_journal() {
        Ok((journal, scan)) => Ok(JournalState::Readable(journal, scan)),
        Err(StoreError::Damaged { path, what }) => {
            Ok(JournalState::Lost(format!("{}: {what}", path.display())))
        }
        Err(e) => Err(e),
    }
}

fn describe_damage(store: &Store, scan: &super::journal::Scan, report: &mut Report) {
    let path = store.dir().join(JOURNAL_FILE);
    for stretch in &scan.damaged {
        let plays = if stretch.plays.is_empty() {
            "no play it names is readable".to_owned()
        } else {
            format!(
                "it names {}",
                stretch.plays.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        };
        report.problems.push(format!(
            "{}: {} bytes at byte {} fail their checksum, before whole batches: damage, not a torn tail; {plays}",
            path.display(),
            stretch.len,
            stretch.offset,
        ));
        report.plays.extend(stretch.plays.iter().cloned());
    }
}

/// The plays that could have written since the last fold: those that had
/// not ended, and those that ran (a folder of run files names them, see
/// `run_files.rs`) but that redb does not know at all, created after the
/// last fold.
fn unfinished_plays(store: &Store) -> Result<BTreeSet<String>> {
    let known = store.plays(&PlayFilter::default())?;
    let mut plays: BTreeSet<String> = known
        .iter()
        .filter(|p| !p.is_terminal())
        .map(|p| p.sid.clone())
        .collect();
    let known: BTreeSet<&str> = known.iter().map(|p| p.sid.as_str()).collect();
    for root in crate::run_files::roots(store.dir()) {
        if let Ok(runs) = std::fs::read_dir(root) {
            plays.extend(
                runs.flatten()
                    .filter_map(|run| run.file_name().into_string().ok())
                    .filter(|sid| !known.contains(sid.as_str())),
            );
        }
    }
    Ok(plays)
}

/// Reads back every record of redb in its model type.
fn check_records(store: &Store, report: &mut Report) -> Result<()> {
    let path: PathBuf = store.dir().join(DB_FILE);
    let txn = store.begin_read()?;
    let mut bad = |what: &str, key: String, play: Option<&str>, e: serde_json::Error| {
        report.problems.push(format!(
            "{}: the {what} record {key} does not decode: {e}",
            path.display()
        ));
        report.plays.extend(play.map(str::to_owned));
    };
    fn decodes<T: DeserializeOwned>(text: &str) -> std::result::Result<(), serde_json::Error> {
        serde_json::from_str::<T>(text).map(drop)
    }
    for entry in txn
        .open_table(tables::PLAYS)
        .map_err(db)?
        .iter()
        .map_err(db)?
    {
        let (sid, value) = entry.map_err(db)?;
        if let Err(e) = decodes::<Play>(value.value()) {
            bad("play", sid.value().to_owned(), Some(sid.value()), e);
        }
    }
    for entry in txn
        .open_table(tables::WORKFLOWS)
        .map_err(db)?
        .iter()
        .map_err(db)?
    {
        let (sid, value) = entry.map_err(db)?;
        if let Err(e) = decodes::<Workflow>(value.value()) {
            bad("workflow", sid.value().to_owned(), None, e);
        }
    }
    for entry in txn
        .open_table(tables::VERSIONS)
        .map_err(db)?
        .iter()
        .map_err(db)?
    {
        let (sid, value) = entry.map_err(db)?;
        if let Err(e) = decodes::<WorkflowVersion>(value.value()) {
            bad("version", sid.value().to_owned(), None, e);
        }
    }
    for entry in txn
        .open_table(tables::SPANS)
        .map_err(db)?
        .iter()
        .map_err(db)?
    {
        let (key, value) = entry.map_err(db)?;
        let (sid, run, seq) = key.value();
        if let Err(e) = decodes::<Span>(value.value()) {
            bad("span", format!("{sid}/{run}/{seq}"), Some(sid), e);
        }
    }
    for entry in txn
        .open_table(tables::LOGS)
        .map_err(db)?
        .iter()
        .map_err(db)?
    {
        let (key, value) = entry.map_err(db)?;
        let (sid, run, seq) = key.value();
        if let Err(e) = decodes::<LogLine>(value.value()) {
            bad("log", format!("{sid}/{run}/{seq}"), Some(sid), e);
        }
    }
    for entry in txn
        .open_table(tables::SCHEDULES)
        .map_err(db)?
        .iter()
        .map_err(db)?
    {
        let (name, value) = entry.map_err(db)?;
        if let Err(e) = decodes::<Schedule>(value.value()) {
            bad("schedule", name.value().to_owned(), None, e);
        }
    }
    Ok(())
}
