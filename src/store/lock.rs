//! The data-folder lock: one server per data folder.
//!
//! redb locks its file too, but its error cannot say who holds it; this lock
//! file carries the holder's pid so the refusal can name it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::{Result, StoreError};

const LOCK_FILE: &str = "hero_logic.lock";

/// Held for the server's lifetime; the OS releases it when the process dies,
/// even by `kill -9`, so a crash never leaves a stale lock behind.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Also makes the folder private (see [`super::private`]): taking the
    /// lock is the first thing a server, or an offline `store` command,
    /// does in it. A folder it cannot write in is refused, named.
    pub fn acquire(dir: &Path) -> Result<DataDirLock> {
        let io = |source| {
            StoreError::Io {
                dir: dir.to_path_buf(),
                source,
            }
            .in_dir(dir)
        };
        super::private::make_private(dir).map_err(io)?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if file.try_lock().is_err() {
            return Err(StoreError::Locked {
                pid: holder_pid(&path),
                dir: dir.to_path_buf(),
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(DataDirLock { _file: file })
    }

    /// Whether no process holds the lock of `dir` now.
    pub fn is_free(dir: &Path) -> bool {
        match File::open(dir.join(LOCK_FILE)) {
            Ok(file) => file.try_lock().is_ok(),
            Err(_) => true,
        }
    }
}

/// The pid written by the server holding the lock, as text for the message.
pub fn holder_pid(path: &PathBuf) -> String {
    let mut pid = String::new();
    match File::open(path).and_then(|mut f| f.read_to_string(&mut pid)) {
        Ok(_) if !pid.trim().is_empty() => pid.trim().to_owned(),
        _ => "unknown".to_owned(),
    }
}
