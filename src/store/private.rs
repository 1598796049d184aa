//! Private by default (SPEC §8): the data folder is `0700` and every file
//! in it `0600`, whatever the umask, so that other local users read no
//! inputs, outputs, answers or logs.
//!
//! The server's umask becomes `077` before it writes anything, so every
//! file it (or a flow it runs) creates is its owner's alone; what an older
//! build, a copy or a hand left open to others is tightened at start.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

use nix::sys::stat::{Mode, umask};

/// Makes `dir` (created if need be) and everything under it its owner's
/// alone, and what this process creates from now on too.
pub fn make_private(dir: &Path) -> io::Result<()> {
    umask(Mode::from_bits_truncate(0o077));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    tighten(dir)
}

/// Takes group and other permissions off `path` and, for a folder, off
/// everything in it. Symbolic links are left alone (their mode means
/// nothing) and not followed.
pub fn tighten(path: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !0o077))?;
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            tighten(&entry?.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_folder_and_its_files_are_tightened() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("runs/p")).expect("mkdir");
        std::fs::write(data.join("runs/p/replay.json"), "{}").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", data.join("link")).expect("symlink");
        for (path, mode) in [
            (data.clone(), 0o755),
            (data.join("runs"), 0o777),
            (data.join("runs/p"), 0o755),
            (data.join("runs/p/replay.json"), 0o644),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        make_private(&data).expect("private");
        for path in [data.clone(), data.join("runs"), data.join("runs/p")] {
            assert_eq!(mode_of(&path), 0o700, "{}", path.display());
        }
        assert_eq!(mode_of(&data.join("runs/p/replay.json")), 0o600);
        assert_ne!(
            mode_of(Path::new("/etc/passwd")) & 0o044,
            0,
            "a link's target is not touched"
        );
    }

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").mode() & 0o777
    }
}
