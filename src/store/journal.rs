//! The checkpoint journal: the write-ahead log in front of redb.
//!
//! A redb commit that is durable costs several scattered page writes and
//! their fsync; a durable step should cost one fsync of a small write. So
//! every write batch is written here as text, one record a line, closed by a
//! commit line (spans excepted: they are history, not acknowledged state),
//! and a batch that must be durable is fsynced here before it is
//! acknowledged. redb then commits it without an fsync of its own. Now and
//! then (when the writer is idle, or the journal grows) a durable redb commit
//! makes the file itself the truth and the journal starts empty again.
//!
//! The file is written full of zeros once and then overwritten in place,
//! never appended to: an fsync after an append must also commit the file
//! system's own journal (the file grew), which drags in every block redb
//! has just allocated; an fsync of blocks that already exist only flushes
//! them. Emptying the journal therefore does not truncate it: it bumps the
//! generation in the header, and a commit line names its generation and a
//! checksum of its batch, so what is left of older generations, or a batch
//! torn by a crash, ends the reading.
//!
//! On open, batches found in the journal are applied again, in order. Every
//! record is a whole upsert, so applying one twice changes nothing.
//!
//! Records: `KIND\tFIELD…\tJSON`. Fields are sids, hex keys and numbers, and
//! compact JSON from serde_json holds no raw tab or newline, so a tab split
//! is exact. Commit lines: `C\tGENERATION\tCHECKSUM`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
use sha1::{Digest, Sha1};

pub const JOURNAL_FILE: &str = "hero_logic.journal";
/// What the file is zero-filled to. The writer folds the journal into redb
/// before it outgrows this, so steps never pay for growing the file.
pub const JOURNAL_SIZE: u64 = 4 << 20;
/// The header, one line padded to a sector so it is written whole.
const HEADER_LEN: u64 = 512;
/// What the journal is written in when it is made. The page cache keeps a
/// file in pieces as large as the writes that filled it, and one large
/// piece makes every small write and fsync in it dearer: measured, a
/// journal filled by one 4 MiB write took 11 µs a checkpoint's write and
/// 110 µs its fsync, against 3 µs and 90 µs when filled a page at a time.
const PAGE: u64 = 4096;
const MAGIC: &str = "hero_logic journal 1 generation ";

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

/// The header of a journal of `generation`, padded to its sector.
fn header(generation: u64) -> Vec<u8> {
    let mut header = format!("{MAGIC}{generation}\n").into_bytes();
    header.resize(HEADER_LEN as usize, 0);
    header
}

/// Writes a zero-filled journal beside its place and renames it in, so that
/// a crash leaves either none or a whole one.
fn create(data_dir: &Path, path: &Path) -> std::io::Result<()> {
    let fresh = path.with_extension("journal.new");
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&fresh)?;
    let mut page = vec![0; PAGE as usize];
    page[..HEADER_LEN as usize].copy_from_slice(&header(1));
    file.write_all_at(&page, 0)?;
    page[..HEADER_LEN as usize].fill(0);
    // A page at a time: see `PAGE`.
    for offset in (PAGE..JOURNAL_SIZE).step_by(PAGE as usize) {
        file.write_all_at(&page, offset)?;
    }
    file.sync_all()?;
    std::fs::rename(&fresh, path)?;
    File::open(data_dir)?.sync_all()
}

/// The checksum of a batch's record lines, as its commit line carries it.
fn checksum(records: &[u8]) -> String {
    Sha1::digest(records)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn corrupt(why: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why)
}

pub struct Journal {
    file: File,
    generation: u64,
    /// Where the next batch is written.
    end: u64,
}

impl Journal {
    /// Opens the journal, creating a zero-filled one if there is none; its
    /// end is found after the last whole batch of the current generation.
    pub fn open(data_dir: &Path) -> std::io::Result<Journal> {
        let path = data_dir.join(JOURNAL_FILE);
        // An empty file is what an older build left after emptying it.
        if std::fs::metadata(&path).map_or(true, |m| m.len() == 0) {
            create(data_dir, &path)?;
        }
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        // However it was filled (an older build, a copy of the folder),
        // what is cached of it is dropped, to come back a page at a time.
        let _ = posix_fadvise(&file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED);
        let mut journal = Journal {
            file,
            generation: 0,
            end: HEADER_LEN,
        };
        journal.generation = journal.read_header().map_err(|why| {
            corrupt(format!(
                "{}: {why}; if no server crashed while using this folder, move the file away and start again",
                path.display()
            ))
        })?;
        journal.end = journal.read_batches()?.1;
        Ok(journal)
    }

    /// How many bytes of batches the journal holds.
    pub fn len(&self) -> u64 {
        self.end - HEADER_LEN
    }

    /// Writes one batch of record lines after the last, closed by its commit
    /// line.
    pub fn append(&mut self, mut batch: String) -> std::io::Result<()> {
        let commit = format!("C\t{}\t{}\n", self.generation, checksum(batch.as_bytes()));
        batch.push_str(&commit);
        self.file.write_all_at(batch.as_bytes(), self.end)?;
        self.end += batch.len() as u64;
        Ok(())
    }

    /// Makes every written batch durable.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Empties the journal once redb holds all of it durably.
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.generation += 1;
        self.write_header()?;
        self.file.sync_data()?;
        self.end = HEADER_LEN;
        Ok(())
    }

    /// The committed batches in the journal, oldest first.
    pub fn batches(&self) -> std::io::Result<Vec<Vec<Op>>> {
        Ok(self.read_batches()?.0)
    }

    fn write_header(&self) -> std::io::Result<()> {
        self.file.write_all_at(&header(self.generation), 0)
    }

    fn read_header(&self) -> Result<u64, String> {
        let mut header = vec![0; HEADER_LEN as usize];
        self.file
            .read_exact_at(&mut header, 0)
            .map_err(|e| format!("the journal's header is unreadable ({e})"))?;
        let line = header.split(|b| *b == b'\n').next().unwrap_or_default();
        std::str::from_utf8(line)
            .ok()
            .and_then(|line| line.strip_prefix(MAGIC))
            .and_then(|generation| generation.parse().ok())
            .ok_or_else(|| "the journal's header is not one this build writes".to_owned())
    }

    /// The whole batches of the current generation and where they end.
    fn read_batches(&self) -> std::io::Result<(Vec<Vec<Op>>, u64)> {
        let mut file = &self.file;
        file.seek(SeekFrom::Start(HEADER_LEN))?;
        let mut reader = BufReader::new(file);
        let generation = self.generation.to_string();
        let mut batches = Vec::new();
        let mut end = HEADER_LEN;
        let mut read = HEADER_LEN;
        let mut current = Vec::new();
        let mut records = Vec::new();
        let mut line = Vec::new();
        loop {
            // The zeros after the last batch: stop before reading them all.
            if reader.fill_buf()?.first().is_none_or(|b| *b == 0) {
                break;
            }
            line.clear();
            read += reader.read_until(b'\n', &mut line)? as u64;
            let Some(text) = line
                .strip_suffix(b"\n")
                .and_then(|l| std::str::from_utf8(l).ok())
            else {
                break;
            };
            if let Some(commit) = text.strip_prefix("C\t") {
                let sum = checksum(&records);
                if commit.split_once('\t') != Some((generation.as_str(), sum.as_str())) {
                    break;
                }
                batches.push(std::mem::take(&mut current));
                records.clear();
                end = read;
                continue;
            }
            match Op::parse(text) {
                Some(op) => current.push(op),
                None => break,
            }
            records.extend_from_slice(&line);
        }
        Ok((batches, end))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The record lines of `ops`, as a writer's batch holds them.
    pub(in crate::store) fn batch(ops: &[Op]) -> String {
        let mut text = String::new();
        for op in ops {
            op.line(&mut text);
        }
        text
    }

    fn play(sid: &str) -> Op {
        Op::Play(format!(r#"{{"sid":"{sid}"}}"#))
    }

    fn file_bytes(dir: &Path) -> Vec<u8> {
        std::fs::read(dir.join(JOURNAL_FILE)).expect("read the journal")
    }

    #[test]
    fn batches_round_trip_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::open(dir.path()).expect("open");
        assert_eq!(file_bytes(dir.path()).len() as u64, JOURNAL_SIZE);
        assert!(!dir.path().join("hero_logic.journal.new").exists());
        let ops = vec![
            play("a"),
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
        journal.append(batch(&ops)).expect("append");
        let whole = journal.len();
        // A batch cut short by a crash: records without their commit line.
        journal
            .file
            .write_all_at(b"P\t{\"sid\":\"torn\"", journal.end)
            .expect("torn write");
        assert_eq!(journal.batches().expect("read"), vec![ops.clone()]);

        let reopened = Journal::open(dir.path()).expect("reopen");
        assert_eq!(
            reopened.len(),
            whole,
            "the end is found after the last whole batch"
        );
        assert_eq!(reopened.batches().expect("read"), vec![ops]);
    }

    #[test]
    fn a_batch_whose_checksum_fails_ends_the_reading() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::open(dir.path()).expect("open");
        journal.append(batch(&[play("a")])).expect("append");
        let second = journal.end;
        journal.append(batch(&[play("b")])).expect("append");
        journal.append(batch(&[play("c")])).expect("append");
        // Half of the second batch is what an older generation left there.
        journal
            .file
            .write_all_at(b"x", second + 12)
            .expect("corrupt");
        assert_eq!(journal.batches().expect("read"), vec![vec![play("a")]]);
    }

    #[test]
    fn emptying_keeps_the_file_and_leaves_older_batches_unread() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::open(dir.path()).expect("open");
        for sid in ["a", "b", "c"] {
            journal.append(batch(&[play(sid)])).expect("append");
        }
        journal.clear().expect("clear");
        assert_eq!(journal.len(), 0);
        assert!(journal.batches().expect("read").is_empty());
        assert_eq!(
            file_bytes(dir.path()).len() as u64,
            JOURNAL_SIZE,
            "not truncated"
        );

        // A shorter batch of the new generation lies over the old ones: only
        // it is read back, now and after a restart.
        journal.append(batch(&[play("d")])).expect("append");
        assert_eq!(journal.batches().expect("read"), vec![vec![play("d")]]);
        let reopened = Journal::open(dir.path()).expect("reopen");
        assert_eq!(reopened.batches().expect("read"), vec![vec![play("d")]]);
        assert_eq!(reopened.len(), journal.len());
    }

    #[test]
    fn a_journal_this_build_did_not_write_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(JOURNAL_FILE), "P\t{}\nC\n").expect("write");
        let error = Journal::open(dir.path()).err().expect("refused");
        assert!(error.to_string().contains("move the file away"), "{error}");
        assert_eq!(file_bytes(dir.path()), b"P\t{}\nC\n");
    }
}
