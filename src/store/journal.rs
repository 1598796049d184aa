//! The journal: the write-ahead log in front of redb.
//!
//! A redb commit that is durable costs several scattered page writes and
//! their fsync; a durable step should cost one fsync of a small write. So
//! every write batch is written here as text, one record a line, closed by a
//! commit line (spans excepted: they are history, not acknowledged state),
//! and a batch that must be durable is fsynced here before it is
//! acknowledged. redb then commits it without an fsync of its own. At least
//! once a second under load (and when the writer falls idle, or the journal
//! grows) a durable redb commit makes the file itself the truth and the
//! journal starts empty again: a fold. A record larger than [`MAX_RECORD`]
//! never comes here; its batch is folded at once instead.
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
//! record is a whole upsert, so applying one twice changes nothing. A crash
//! tears at most the tail: what follows the last whole batch is ignored. A
//! stretch that fails its checksum with a whole batch after it is damage,
//! which a crash never leaves: [`Journal::scan`] reports it, and the store
//! refuses to start on it. Each fold records in redb the generation the
//! journal is emptied to, so that a journal deleted, emptied or swapped
//! while redb still lacks what it held is seen too.
//!
//! Records: `KIND\tFIELD…\tJSON`. Fields are sids, hex keys and numbers, and
//! compact JSON from serde_json holds no raw tab or newline, so a tab split
//! is exact. Commit lines: `C\tGENERATION\tCHECKSUM`.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::{OFlag, PosixFadviseAdvice, posix_fadvise};
use sha1::{Digest, Sha1};

pub const JOURNAL_FILE: &str = "hero_logic.journal";
/// What the file is zero-filled to. The writer folds the journal into redb
/// before it outgrows this, so steps never pay for growing the file.
pub const JOURNAL_SIZE: u64 = 4 << 20;
/// The header, one line padded to a sector so it is written whole.
const HEADER_LEN: u64 = 512;
const _: () = assert!(
    (HEADER_LEN as usize) < BLOCK,
    "the header is the start of a block"
);
/// What the journal is written in when it is made. The page cache keeps a
/// file in pieces as large as the writes that filled it, and one large
/// piece makes every small write and fsync in it dearer (figures in
/// BENCHMARKS.md).
const PAGE: u64 = 4096;
/// The largest record the journal takes. A larger write (a step's output
/// or a log line of megabytes) goes straight to redb with a durable commit
/// instead, so that the fixed-size journal never grows.
pub const MAX_RECORD: usize = 64 << 10;

/// The most a batch writes into the journal: a batch of many records (a
/// run's log lines, say) past it is made durable in redb instead, like an
/// oversized record, so the journal keeps its fixed size.
pub const MAX_BATCH: usize = 1 << 20;
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
    /// A schedule, whole.
    Schedule(String),
    /// A schedule removed: its name as a JSON string, so any name is one
    /// field.
    ScheduleDeleted(String),
    /// An HTTP key's record (its digest, never the key), whole.
    HttpKey(String),
    /// An HTTP key revoked: its id as a JSON string.
    HttpKeyDeleted(String),
    /// A play pruned, with its spans, logs and outputs: its sid.
    PlayDeleted(String),
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
            Op::Schedule(json) => writeln!(out, "S\t{json}"),
            Op::ScheduleDeleted(name) => writeln!(out, "SD\t{name}"),
            Op::HttpKey(json) => writeln!(out, "K\t{json}"),
            Op::HttpKeyDeleted(id) => writeln!(out, "KD\t{id}"),
            Op::PlayDeleted(sid) => writeln!(out, "PD\t{sid}"),
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
            "S" => Op::Schedule(next()?),
            "SD" => Op::ScheduleDeleted(next()?),
            "K" => Op::HttpKey(next()?),
            "KD" => Op::HttpKeyDeleted(next()?),
            "PD" => Op::PlayDeleted(next()?),
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

/// Writes a zero-filled journal of `generation` beside its place and
/// renames it in, so that a crash leaves either none or a whole one.
fn create(data_dir: &Path, path: &Path, generation: u64) -> std::io::Result<()> {
    let fresh = path.with_extension("journal.new");
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&fresh)?;
    let mut page = vec![0; PAGE as usize];
    page[..HEADER_LEN as usize].copy_from_slice(&header(generation));
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

/// What reading the journal found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The whole batches of the current generation, oldest first, those
    /// after a damaged stretch included.
    pub batches: Vec<Vec<Op>>,
    /// Where the last whole batch ends.
    pub end: u64,
    /// Stretches of the current generation that fail their checksum while
    /// a whole batch follows them: damage in the middle, which a crash
    /// never leaves (it tears only the tail).
    pub damaged: Vec<Damaged>,
}

/// A damaged stretch of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    pub offset: u64,
    pub len: u64,
    /// The plays its readable records name: those that lost what it held.
    pub plays: BTreeSet<String>,
}

/// The play a record line names, read as far as the line is readable.
fn play_of(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let mut fields = text.split('\t');
    let kind = fields.next()?;
    let sid = match kind {
        "O" | "L" => fields.next()?.to_owned(),
        // The play's own sid, found even when its JSON no longer parses:
        // the record's first field is the sid, so the first sid-like
        // string is it.
        "P" => fields
            .next()?
            .split('"')
            .find(|token| {
                token.len() == 12
                    && token
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            })?
            .to_owned(),
        _ => return None,
    };
    let plausible = !sid.is_empty()
        && sid.len() <= 64
        && sid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    plausible.then_some(sid)
}

pub struct Journal {
    /// Read through the page cache (a direct read must be aligned); also
    /// written through it where direct writes are not to be had.
    file: File,
    /// Where the file system takes them, batches go straight to the disk
    /// (see [`Direct`]).
    direct: Option<Direct>,
    generation: u64,
    /// Where the next batch is written.
    end: u64,
    /// The bytes of the block `end` falls in that lie before it: a direct
    /// write starts at a block, so it writes them again.
    tail: Vec<u8>,
    /// Reused for each direct write, over-allocated to align it.
    scratch: Vec<u8>,
}

/// The journal opened for direct I/O (`O_DIRECT`), once plain and once
/// durable (`O_DSYNC`). A durable batch is then one write that returns once
/// the disk has it, rather than a write to the page cache and an
/// `fdatasync` that writes it back and flushes: about 68 against 81 µs
/// here, an eighth of a lone step (BENCHMARKS.md).
struct Direct {
    plain: File,
    durable: File,
    /// Whether a plain write went out since the last durable one. A durable
    /// write may then not be an `O_DSYNC` one: on a device that takes FUA
    /// writes, that makes only its own blocks durable, not the plain ones
    /// before it; `fdatasync` flushes the device's whole cache.
    unflushed: bool,
}

/// Direct I/O is done in whole blocks at block offsets, from block-aligned
/// memory. A device's logical block is 512 bytes or 4 KiB, so 4 KiB suits
/// every one; and a block rewritten whole cannot tear what it held before,
/// since it writes those bytes again unchanged.
const BLOCK: usize = 4096;

impl Direct {
    /// `None` where the file system refuses direct I/O (tmpfs, say), or
    /// the file cannot be opened again: the page cache always works.
    fn open(path: &Path) -> Option<Direct> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let open = |flags: OFlag| {
            OpenOptions::new()
                .write(true)
                .custom_flags((OFlag::O_DIRECT | flags).bits())
                .open(path)
                .ok()
        };
        Some(Direct {
            plain: open(OFlag::empty())?,
            durable: open(OFlag::O_DSYNC)?,
            unflushed: false,
        })
    }
}

/// `len` zeroed bytes of `scratch`, starting at a block boundary in memory.
fn aligned(scratch: &mut Vec<u8>, len: usize) -> &mut [u8] {
    scratch.clear();
    scratch.resize(len + BLOCK, 0);
    let skip = scratch.as_ptr().align_offset(BLOCK);
    &mut scratch[skip..skip + len]
}

impl Journal {
    /// Opens the journal; `None` when there is none (or an empty file,
    /// which an older build left after emptying it). Its end is found after
    /// the last whole batch of the current generation.
    pub fn open(data_dir: &Path) -> std::io::Result<Option<Journal>> {
        let path = data_dir.join(JOURNAL_FILE);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > 0 => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let direct = Direct::open(&path);
        let mut journal = Journal {
            file,
            direct,
            generation: 0,
            end: HEADER_LEN,
            tail: Vec::new(),
            scratch: Vec::new(),
        };
        journal.generation = journal.read_header().map_err(|why| {
            corrupt(format!(
                "{}: {why}; if no server crashed while using this folder, move the file away and start again",
                path.display()
            ))
        })?;
        journal.end = journal.scan()?.end;
        let mut tail = vec![0; journal.end as usize % BLOCK];
        let block = journal.end - tail.len() as u64;
        journal.file.read_exact_at(&mut tail, block)?;
        journal.tail = tail;
        Ok(Some(journal))
    }

    /// Makes a fresh, empty journal of `generation`, replacing any.
    pub fn create(data_dir: &Path, generation: u64) -> std::io::Result<Journal> {
        create(data_dir, &data_dir.join(JOURNAL_FILE), generation)?;
        Journal::open(data_dir)?.ok_or_else(|| corrupt("the fresh journal vanished".into()))
    }

    /// The generation in the header: bumped at every emptying.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// How many bytes of batches the journal holds.
    pub fn len(&self) -> u64 {
        self.end - HEADER_LEN
    }

    /// Writes one batch of record lines after the last, closed by its commit
    /// line; [`Journal::sync`] makes it durable.
    pub fn append(&mut self, batch: String) -> std::io::Result<()> {
        self.write_batch(batch, false)
    }

    /// [`Journal::append`] and [`Journal::sync`] at once: with direct I/O,
    /// one write that returns once the disk has the batch.
    pub fn append_durable(&mut self, batch: String) -> std::io::Result<()> {
        self.write_batch(batch, true)
    }

    fn write_batch(&mut self, mut batch: String, durable: bool) -> std::io::Result<()> {
        let commit = format!("C\t{}\t{}\n", self.generation, checksum(batch.as_bytes()));
        batch.push_str(&commit);
        let before = self.tail.len();
        let start = self.end - before as u64;
        let mut bytes = std::mem::take(&mut self.tail);
        bytes.extend_from_slice(batch.as_bytes());
        let written = self.write_blocks(&bytes, start, durable);
        if written.is_ok() {
            self.end += batch.len() as u64;
            bytes.drain(..bytes.len() - bytes.len() % BLOCK);
        } else {
            bytes.truncate(before);
        }
        self.tail = bytes;
        written
    }

    /// Writes `bytes` at `start` (a block boundary), durably if asked. A
    /// direct write is padded with zeros to its last block's end: past the
    /// journal's end, zeros are what a reader stops at.
    fn write_blocks(&mut self, bytes: &[u8], start: u64, durable: bool) -> std::io::Result<()> {
        debug_assert_eq!(start % BLOCK as u64, 0, "a write starts at a block");
        if let Some(direct) = &mut self.direct {
            let buf = aligned(&mut self.scratch, bytes.len().div_ceil(BLOCK) * BLOCK);
            buf[..bytes.len()].copy_from_slice(bytes);
            let (file, flush) = match (durable, direct.unflushed) {
                (true, false) => (&direct.durable, false),
                (true, true) => (&direct.plain, true),
                (false, _) => (&direct.plain, false),
            };
            match file.write_all_at(buf, start) {
                // A file system that opened the file for direct I/O and
                // then refuses it: the page cache it is, from now on.
                Err(e) if e.raw_os_error() == Some(nix::libc::EINVAL) => self.direct = None,
                Err(e) => return Err(e),
                Ok(()) if flush => {
                    self.file.sync_data()?;
                    direct.unflushed = false;
                    return Ok(());
                }
                Ok(()) => {
                    direct.unflushed |= !durable;
                    return Ok(());
                }
            }
        }
        self.file.write_all_at(bytes, start)?;
        if durable {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Makes every written batch durable.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()?;
        if let Some(direct) = &mut self.direct {
            direct.unflushed = false;
        }
        Ok(())
    }

    /// Empties the journal once redb holds all of it durably.
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.generation += 1;
        let header = header(self.generation);
        self.write_blocks(&header, 0, true)?;
        self.end = HEADER_LEN;
        // The header is the start of the first batch's block.
        self.tail = header;
        Ok(())
    }

    /// The committed batches in the journal, oldest first.
    #[cfg(test)]
    pub fn batches(&self) -> std::io::Result<Vec<Vec<Op>>> {
        Ok(self.scan()?.batches)
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

    /// Reads the whole file: the whole batches of the current generation,
    /// where they end, and the stretches between them that fail their
    /// checksum. What follows the last whole batch (a batch torn by a
    /// crash, older generations' leftovers, zeros) is not damage.
    pub fn scan(&self) -> std::io::Result<Scan> {
        let mut file = &self.file;
        file.seek(SeekFrom::Start(HEADER_LEN))?;
        let mut reader = BufReader::with_capacity(64 << 10, file);
        let commit_prefix = format!("C\t{}\t", self.generation);
        let mut scan = Scan {
            end: HEADER_LEN,
            ..Scan::default()
        };
        let mut read = HEADER_LEN;
        // The lines since the last whole batch.
        let mut lines: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            read += n as u64;
            let is_commit = line.ends_with(b"\n") && line.starts_with(commit_prefix.as_bytes());
            if !is_commit {
                // The zeros after the last batch ever written: nothing of
                // this generation lies in them.
                if line.iter().all(|b| *b == 0) && line.len() > 1 {
                    break;
                }
                lines.push(line);
                continue;
            }
            let sum = &line[commit_prefix.len()..line.len() - 1];
            let records: Vec<u8> = lines.concat();
            let ops: Option<Vec<Op>> = lines
                .iter()
                .map(|l| {
                    let text = std::str::from_utf8(l.strip_suffix(b"\n")?).ok()?;
                    Op::parse(text)
                })
                .collect();
            match ops {
                Some(ops) if checksum(&records).as_bytes() == sum => {
                    scan.batches.push(ops);
                    scan.end = read;
                }
                _ => scan.damaged.push(Damaged {
                    offset: read - (n + records.len()) as u64,
                    len: (n + records.len()) as u64,
                    plays: lines.iter().filter_map(|l| play_of(l)).collect(),
                }),
            }
            lines.clear();
        }
        // Damage is only what a whole batch follows; the rest is a torn tail.
        let end = scan.end;
        scan.damaged.retain(|d| d.offset < end);
        // What was read came in large pieces: drop it, to come back a page
        // at a time (see `PAGE`).
        let _ = posix_fadvise(&self.file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED);
        Ok(scan)
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
        let mut journal = Journal::create(dir.path(), 1).expect("open");
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
        assert!(journal.scan().expect("read").damaged.is_empty());

        let reopened = Journal::open(dir.path())
            .expect("reopen")
            .expect("a journal");
        assert_eq!(
            reopened.len(),
            whole,
            "the end is found after the last whole batch"
        );
        assert_eq!(reopened.batches().expect("read"), vec![ops]);
    }

    /// Batches of every length, each starting inside the block the last
    /// one ended in: a direct write rewrites that block's start, and must
    /// rewrite it as it was, in this run and after a reopen.
    #[test]
    fn batches_that_share_blocks_all_read_back_across_a_reopen() {
        batches_read_back_across_a_reopen(true);
    }

    /// The same through the page cache, as on a file system that refuses
    /// direct I/O (tmpfs).
    #[test]
    fn without_direct_io_batches_all_read_back_across_a_reopen() {
        batches_read_back_across_a_reopen(false);
    }

    fn batches_read_back_across_a_reopen(direct_io: bool) {
        let dir = tempfile::tempdir().expect("temp dir");
        let open = || {
            let mut journal = Journal::open(dir.path()).expect("open").expect("a journal");
            if !direct_io {
                journal.direct = None;
            }
            journal
        };
        drop(Journal::create(dir.path(), 1).expect("create"));
        let mut journal = open();
        // Where direct I/O is to be had, a misaligned write would fall back
        // to the page cache and pass unseen: it must stay direct.
        let direct = journal.direct.is_some();
        let mut written = Vec::new();
        for i in 0..60 {
            if i == 30 {
                assert_eq!(journal.direct.is_some(), direct, "a direct write failed");
                drop(journal);
                journal = open();
            }
            let ops = vec![play(&"x".repeat(i * 37 % 700)); i % 3 + 1];
            let text = batch(&ops);
            if i % 2 == 0 {
                journal.append_durable(text).expect("append");
            } else {
                journal.append(text).expect("append");
            }
            // A durable write after a plain one flushes the device's whole
            // cache, not only its own blocks.
            if let Some(direct) = &journal.direct {
                assert_eq!(direct.unflushed, i % 2 == 1, "batch {i}");
            }
            written.push(ops);
        }
        assert_eq!(journal.batches().expect("read"), written);
        assert_eq!(journal.direct.is_some(), direct, "a direct write failed");
        let end = journal.end;
        drop(journal);
        let reopened = open();
        assert_eq!(reopened.end, end);
        assert_eq!(reopened.batches().expect("read"), written);
    }

    #[test]
    fn a_damaged_batch_before_whole_ones_is_damage_naming_its_plays() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::create(dir.path(), 1).expect("open");
        journal.append(batch(&[play("a")])).expect("append");
        let second = journal.end;
        journal
            .append(batch(&[play("0000000000bb")]))
            .expect("append");
        journal.append(batch(&[play("c")])).expect("append");
        // One byte of the second batch flipped: its closing brace.
        journal
            .file
            .write_all_at(b"x", second + 23)
            .expect("corrupt");
        let scan = journal.scan().expect("read");
        assert_eq!(
            scan.batches,
            vec![vec![play("a")], vec![play("c")]],
            "the whole batches on either side are kept"
        );
        assert_eq!(scan.damaged.len(), 1);
        assert_eq!(scan.damaged[0].offset, second);
        assert_eq!(
            scan.damaged[0].plays,
            BTreeSet::from(["0000000000bb".to_owned()]),
            "a record still names its play when only its JSON is damaged"
        );
    }

    #[test]
    fn a_damaged_last_batch_is_a_torn_tail() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::create(dir.path(), 1).expect("open");
        journal.append(batch(&[play("a")])).expect("append");
        let second = journal.end;
        journal.append(batch(&[play("b")])).expect("append");
        journal
            .file
            .write_all_at(b"x", second + 12)
            .expect("corrupt");
        let scan = journal.scan().expect("read");
        assert_eq!(scan.batches, vec![vec![play("a")]]);
        assert!(scan.damaged.is_empty(), "{:?}", scan.damaged);
        assert_eq!(scan.end, second);
    }

    #[test]
    fn emptying_keeps_the_file_and_leaves_older_batches_unread() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::create(dir.path(), 1).expect("open");
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
        let direct = journal.direct.is_some();
        journal.append(batch(&[play("d")])).expect("append");
        assert_eq!(journal.direct.is_some(), direct, "a direct write failed");
        assert_eq!(journal.batches().expect("read"), vec![vec![play("d")]]);
        let reopened = Journal::open(dir.path())
            .expect("reopen")
            .expect("a journal");
        assert_eq!(reopened.batches().expect("read"), vec![vec![play("d")]]);
        assert!(
            reopened.scan().expect("read").damaged.is_empty(),
            "older generations' leftovers are not damage"
        );
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
