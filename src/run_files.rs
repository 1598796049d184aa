//! Where a run's files live: its input and what it replays, written before
//! its process starts and removed once it has ended.
//!
//! They go to a folder of the data folder's own on the machine's memory
//! file system, `/dev/shm/hero_logic-UID/DEV-INODE-BIRTH` (the data
//! folder's device, inode and birth time), private to its user, when there
//! is one. Made and
//! removed on the data folder's disk, they put a folder and three files
//! into that file system's journal for every run, and every fsync of the
//! store's own journal near them waited for that: 80 µs alone, 130 µs
//! beside such changes, four times a one-step play. They need not outlive
//! the machine: each run writes its own afresh. Where there is no such
//! folder, or it is not private, or it is full, they go to `runs/` in the
//! data folder.
//!
//! A play's folder names it to `store check` after a crash: a play that
//! was running, whose record may not have reached redb yet.

use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The memory file system's folder on Linux.
const SHM: &str = "/dev/shm";

/// Every folder a play's run files may be in, the memory one first.
pub fn roots(data_dir: &Path) -> Vec<PathBuf> {
    memory_root(Path::new(SHM), data_dir, false)
        .into_iter()
        .chain([data_dir.join("runs")])
        .collect()
}

/// The data folder's folder on the memory file system under `shm`, made
/// if `make` (and missing); `None` when there is none, or it is not its
/// user's alone.
///
/// It is named by the data folder's device, inode and birth time: a
/// folder made where a deleted one was may get its inode again, and would
/// otherwise find the deleted one's files.
fn memory_root(shm: &Path, data_dir: &Path, make: bool) -> Option<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    let user = shm.join(format!("hero_logic-{uid}"));
    let data = std::fs::metadata(data_dir).ok()?;
    let born = data
        .created()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    let root = user.join(format!("{}-{}-{born}", data.dev(), data.ino()));
    if make {
        let _ = DirBuilder::new().mode(0o700).create(&user);
    }
    // Another user could have made it first, or put a link there: only a
    // folder of ours that no one else may open will do.
    let meta = std::fs::symlink_metadata(&user).ok()?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return None;
    }
    if make {
        let _ = DirBuilder::new().mode(0o700).create(&root);
    }
    root.is_dir().then_some(root)
}

/// The run files of a play's runs; one run at a time writes them.
pub struct RunFiles {
    memory: Option<PathBuf>,
    disk: PathBuf,
}

impl RunFiles {
    /// Looks once for the memory folder, making it if need be. No run is
    /// alive yet: what an earlier server left there or in `runs/` goes.
    pub fn new(data_dir: &Path) -> RunFiles {
        RunFiles::under(Path::new(SHM), data_dir)
    }

    fn under(shm: &Path, data_dir: &Path) -> RunFiles {
        let files = RunFiles {
            memory: memory_root(shm, data_dir, true),
            disk: data_dir.join("runs"),
        };
        for root in files.memory.iter().chain([&files.disk]) {
            if let Ok(plays) = std::fs::read_dir(root) {
                for play in plays.flatten() {
                    let _ = std::fs::remove_dir_all(play.path());
                }
            }
        }
        files
    }

    /// Writes each `(name, text)` of run `run` of play `sid`, readable by
    /// its owner only (they may hold the play's input, outputs and
    /// answers), and returns their paths in order. In memory when it can;
    /// on the data folder's disk when that fails (the memory file system
    /// is full, say).
    pub fn write(
        &self,
        sid: &str,
        run: u32,
        files: &[(&str, &str)],
    ) -> std::io::Result<Vec<PathBuf>> {
        if let Some(memory) = &self.memory
            && let Ok(paths) = write_in(&memory.join(sid), run, files)
        {
            return Ok(paths);
        }
        write_in(&self.disk.join(sid), run, files)
    }

    /// Removes play `sid`'s run files: its run has ended, and the next
    /// writes its own.
    pub fn remove(&self, sid: &str) {
        for root in self.memory.iter().chain([&self.disk]) {
            let _ = std::fs::remove_dir_all(root.join(sid));
        }
    }
}

fn write_in(dir: &Path, run: u32, files: &[(&str, &str)]) -> std::io::Result<Vec<PathBuf>> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    files
        .iter()
        .map(|(name, text)| {
            let path = dir.join(format!("{name}-{run}.json"));
            write_private(&path, text)?;
            Ok(path)
        })
        .collect()
}

/// Writes a file whole or not at all, readable by its owner only. Each
/// writer has its own temporary file, since plays of one version started at
/// once all write its source.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{n}"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(text.as_bytes())?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).expect("stat").mode() & 0o777
    }

    #[test]
    fn files_go_to_a_private_memory_folder_whole_and_go_whole() {
        let (shm, data) = (
            tempfile::tempdir().expect("shm"),
            tempfile::tempdir().expect("data"),
        );
        let files = RunFiles::under(shm.path(), data.path());
        let written = files
            .write("p1", 2, &[("input", "{\"a\":1}"), ("steps", "{}")])
            .expect("written");
        assert_eq!(written.len(), 2);
        assert!(written[0].starts_with(shm.path()), "{written:?}");
        assert!(written[0].ends_with("p1/input-2.json"), "{written:?}");
        assert_eq!(
            std::fs::read_to_string(&written[0]).expect("read"),
            "{\"a\":1}"
        );
        assert!(!data.path().join("runs").exists(), "nothing on the disk");
        assert_eq!(mode(&written[0]), 0o600);
        let folder = written[0].parent().expect("a folder").to_path_buf();
        assert_eq!(mode(&folder), 0o700);
        // Where `store check` looks, without making anything.
        let root = memory_root(shm.path(), data.path(), false).expect("found");
        assert_eq!(folder.parent(), Some(root.as_path()));
        files.remove("p1");
        assert!(!folder.exists(), "removed whole");
    }

    #[test]
    fn a_memory_folder_others_may_open_is_not_used() {
        let (shm, data) = (
            tempfile::tempdir().expect("shm"),
            tempfile::tempdir().expect("data"),
        );
        let root = memory_root(shm.path(), data.path(), true).expect("a memory folder");
        let user = root.parent().expect("the user's folder");
        std::fs::set_permissions(user, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let files = RunFiles::under(shm.path(), data.path());
        let written = files.write("p", 1, &[("input", "{}")]).expect("written");
        assert!(written[0].starts_with(data.path()), "{written:?}");
    }

    #[test]
    fn one_file_written_by_many_at_once_is_always_whole() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("flow.py");
        let text = "x".repeat(100_000);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        write_private(&path, &text).expect("every write lands");
                    }
                });
            }
        });
        assert_eq!(std::fs::read_to_string(&path).expect("the file"), text);
    }

    #[test]
    fn a_new_server_clears_what_an_earlier_one_left() {
        let (shm, data) = (
            tempfile::tempdir().expect("shm"),
            tempfile::tempdir().expect("data"),
        );
        let left = RunFiles::under(shm.path(), data.path())
            .write("p", 1, &[("input", "{}")])
            .expect("written");
        RunFiles::under(shm.path(), data.path());
        assert!(!left[0].exists());
    }
}
