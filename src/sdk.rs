//! The Python SDK, embedded in the binary and written to the data folder.
//!
//! Writing it at server start (and before a local `workflow lint`) means the
//! SDK always matches the binary that drives it; `hero_logic sdk path` says
//! where it is so editors can find it.

use std::path::{Path, PathBuf};

pub const SOURCE: &str = include_str!("../sdk/python/hero_tracing.py");

/// The folder put on a flow's `PYTHONPATH`.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("sdk")
}

pub fn path(data_dir: &Path) -> PathBuf {
    dir(data_dir).join("hero_tracing.py")
}

/// Writes the SDK unless the same text is already there, so that Python's
/// byte-code cache next to it stays valid between server starts.
pub fn install(data_dir: &Path) -> std::io::Result<PathBuf> {
    let path = path(data_dir);
    if std::fs::read_to_string(&path).is_ok_and(|s| s == SOURCE) {
        return Ok(path);
    }
    std::fs::create_dir_all(dir(data_dir))?;
    let tmp = path.with_extension("py.tmp");
    std::fs::write(&tmp, SOURCE)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
