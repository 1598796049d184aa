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

/// Compiles the SDK's byte code once, so that no run pays for compiling it:
/// with `PYTHONDONTWRITEBYTECODE` set (common in containers), Python would
/// otherwise recompile the SDK at every start, some 15 ms each time, while
/// it still reads byte code that exists.
pub fn precompile(python: &Path, data_dir: &Path) {
    let status = std::process::Command::new(python)
        .args([
            "-c",
            "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)",
        ])
        .arg(path(data_dir))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if !status.is_ok_and(|s| s.success()) {
        tracing::warn!("could not precompile the SDK; flows start a little slower");
    }
}
