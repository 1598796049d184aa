//! The checkpoint journal: the write-ahead log in front of redb.
//!
//! A redb commit that is durable costs several scattered page writes and
//! their fsync; a durable step should cost one fsync of a small append. So
//! every write batch is appended here as text, one record a line, closed by a
//! commit line (spans excepted: they are history, not acknowledged state), and a batch that must be durable is fsynced here before it is
//! acknowledged. redb then commits it without an fsync of its own. Now and
//! then (when the writer is idle, or the journal grows) a durable redb commit
//! makes the file itself the truth and the journal starts empty again.
//!
//! On open, batches found in the journal are applied again, in order. Every
//! record is a whole upsert, so applying one twice changes nothing; a batch
//! without its commit line (a torn tail) was never acknowledged and is
//! dropped.
//!
//! Records: `KIND\tFIELD…\tJSON`. Fields are sids, hex keys and numbers, and
//! compact JSON from serde_json holds no raw tab or newline, so a tab split
//! is exact.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

pub const JOURNAL_FILE: &str = "hero_logic.journal";

/// One recorded write.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Play(String),
    StepOutput {
        sid: String,
        key: String,
        json: String,
    },
    Log {
        sid: String,
        run: u32,
        seq: u64,
        json: String,
    },
    Workflow(String),
    Version(String),
    Analysis {
        hash: String,
        json: String,
    },
}

impl Op {
    pub fn line(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = match self {
            Op::Play(json) => writeln!(out, "P\t{json}"),
            Op::StepOutput { sid, key, json } => writeln!(out, "O\t{sid}\t{key}\t{json}"),
            Op::Log {
                sid,
                run,
                seq,
                json,
            } => writeln!(out, "L\t{sid}\t{run}\t{seq}\t{json}"),
            Op::Workflow(json) => writeln!(out, "W\t{json}"),
            Op::Version(json) => writeln!(out, "V\t{json}"),
            Op::Analysis { hash, json } => writeln!(out, "A\t{hash}\t{json}"),
        };
    }

    fn parse(line: &str) -> Option<Op> {
        let mut f = line.splitn(5, '\t');
        let kind = f.next()?;
        let mut next = || f.next().map(str::to_owned);
        Some(match kind {
            "P" => Op::Play(next()?),
            "O" => Op::StepOutput {
                sid: next()?,
                key: next()?,
                json: next()?,
            },
            "L" => Op::Log {
                sid: next()?,
                run: next()?.parse().ok()?,
                seq: next()?.parse().ok()?,
                json: next()?,
            },
            "W" => Op::Workflow(next()?),
            "V" => Op::Version(next()?),
            "A" => Op::Analysis {
                hash: next()?,
                json: next()?,
            },
            _ => return None,
        })
    }
}

const COMMIT: &str = "C\n";

pub struct Journal {
    file: File,
    path: PathBuf,
    len: u64,
}

impl Journal {
    pub fn open(data_dir: &Path) -> std::io::Result<Journal> {
        let path = data_dir.join(JOURNAL_FILE);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let len = file.metadata()?.len();
        Ok(Journal { file, path, len })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends one batch, closed by its commit line.
    pub fn append(&mut self, mut batch: String) -> std::io::Result<()> {
        batch.push_str(COMMIT);
        self.file.write_all(batch.as_bytes())?;
        self.len += batch.len() as u64;
        Ok(())
    }

    /// Makes every appended batch durable.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Empties the journal once redb holds all of it durably.
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.len = 0;
        Ok(())
    }

    /// The committed batches in the journal, oldest first.
    pub fn batches(&self) -> std::io::Result<Vec<Vec<Op>>> {
        let reader = BufReader::new(File::open(&self.path)?);
        let mut batches = Vec::new();
        let mut current = Vec::new();
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if line == "C" {
                batches.push(std::mem::take(&mut current));
                continue;
            }
            match Op::parse(&line) {
                Some(op) => current.push(op),
                None => break,
            }
        }
        Ok(batches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::open(dir.path()).expect("open");
        let ops = vec![
            Op::Play(r#"{"sid":"a"}"#.into()),
            Op::Log {
                sid: "a".into(),
                run: 2,
                seq: 7,
                json: r#"{"x":"tab\tin json"}"#.into(),
            },
            Op::StepOutput {
                sid: "a".into(),
                key: "k".into(),
                json: "[1,2]".into(),
            },
        ];
        let mut text = String::new();
        for op in &ops {
            op.line(&mut text);
        }
        journal.append(text).expect("append");
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(JOURNAL_FILE))
            .and_then(|mut f| f.write_all(b"P\t{\"sid\":\"torn\""))
            .expect("torn write");
        assert_eq!(journal.batches().expect("read"), vec![ops]);
        journal.clear().expect("clear");
        assert!(journal.batches().expect("read").is_empty());
    }
}
