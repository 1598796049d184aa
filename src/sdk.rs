//! The Python SDK, embedded in the binary and written to the data folder.
//!
//! The SDK is the package `sdk/python/hero_tracing/`, every file of which is
//! listed in [`FILES`]. Writing it at server start (and before a local
//! `workflow lint`) means the SDK always matches the binary that drives it;
//! `hero_logic sdk path` prints the folder to put on `PYTHONPATH`, so that
//! editors and linters find it too.
//!
//! Invariants: after [`install`], the package folder holds the files of
//! [`FILES`] and no other module, and nothing else in [`dir`] answers to the
//! name `hero_tracing`; a file is rewritten only when its text differs, so
//! that Python's byte-code cache next to it stays valid between starts.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The package's name, its folder's name in [`dir`].
const PACKAGE: &str = "hero_tracing";

macro_rules! package_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../sdk/python/hero_tracing/", $name)))),*]
    };
}

/// Every file of the package, by name, with its text.
pub const FILES: &[(&str, &str)] = package_files![
    "__init__.py",
    "__main__.py",
    "_analysis.py",
    "_channel.py",
    "_flow.py",
    "_run.py",
    "_time.py",
    "_zygote.py",
];

/// The folder put on a flow's `PYTHONPATH`: it holds the package.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("sdk")
}

fn package_dir(data_dir: &Path) -> PathBuf {
    dir(data_dir).join(PACKAGE)
}

/// Writes the package into the data folder; returns the folder to put on
/// `PYTHONPATH`.
pub fn install(data_dir: &Path) -> std::io::Result<PathBuf> {
    let package = package_dir(data_dir);
    std::fs::create_dir_all(&package)?;
    for (name, text) in FILES {
        write_if_changed(&package.join(name), text)?;
    }
    remove_stray_modules(&package)?;
    remove_single_file_sdk(&dir(data_dir))?;
    Ok(dir(data_dir))
}

/// Writes `text` to `path` unless it is there already, through a temporary
/// file of this process, so that a flow starting meanwhile (or a second
/// install at once) never reads half a file.
fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|s| s == text.as_bytes()) {
        return Ok(());
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Removes modules that an older binary shipped and this one does not, so
/// that the package is this binary's whole.
fn remove_stray_modules(package: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(package)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(".py") && !FILES.iter().any(|(file, _)| *file == name) {
            remove_if_there(&path)?;
        }
    }
    Ok(())
}

/// Removes the SDK of older installs, one file `hero_tracing.py` beside the
/// package, and its byte code.
fn remove_single_file_sdk(sdk_dir: &Path) -> std::io::Result<()> {
    if remove_if_there(&sdk_dir.join(format!("{PACKAGE}.py")))? {
        match std::fs::remove_dir_all(sdk_dir.join("__pycache__")) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Whether there was a file to remove.
fn remove_if_there(path: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Compiles the package's byte code once, so that no run pays for compiling
/// it: with `PYTHONDONTWRITEBYTECODE` set (common in containers), Python
/// would otherwise recompile the SDK at every start, while it still reads
/// byte code that exists. Files whose byte code is current are left alone.
pub fn precompile(python: &Path, data_dir: &Path) {
    let status = std::process::Command::new(python)
        .args([
            "-c",
            "import compileall, sys; sys.exit(not compileall.compile_dir(sys.argv[1], quiet=1))",
        ])
        .arg(package_dir(data_dir))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if !status.is_ok_and(|s| s.success()) {
        tracing::warn!("could not precompile the SDK; flows start a little slower");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_package_is_embedded() {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk/python/hero_tracing");
        let mut on_disk: Vec<String> = std::fs::read_dir(&source)
            .expect("the SDK's source folder")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".py"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "src/sdk.rs's FILES lists the package");
    }

    #[test]
    fn install_writes_the_package_whole_and_removes_what_older_installs_left() {
        let data = tempfile::tempdir().expect("a temporary folder");
        let sdk = dir(data.path());
        std::fs::create_dir_all(sdk.join("__pycache__")).expect("a folder");
        std::fs::create_dir_all(sdk.join(PACKAGE)).expect("a folder");
        std::fs::write(sdk.join("hero_tracing.py"), "old = True\n").expect("a file");
        std::fs::write(sdk.join("__pycache__/hero_tracing.cpython-311.pyc"), "").expect("a file");
        std::fs::write(sdk.join(PACKAGE).join("_gone.py"), "").expect("a file");

        assert_eq!(install(data.path()).expect("installed"), sdk);

        for (name, text) in FILES {
            let written = std::fs::read_to_string(sdk.join(PACKAGE).join(name));
            assert_eq!(written.expect("written"), *text, "{name}");
        }
        assert!(!sdk.join("hero_tracing.py").exists());
        assert!(!sdk.join("__pycache__").exists());
        assert!(!sdk.join(PACKAGE).join("_gone.py").exists());
    }

    #[test]
    fn install_leaves_files_that_are_already_current_untouched() {
        let data = tempfile::tempdir().expect("a temporary folder");
        install(data.path()).expect("installed");
        let file = package_dir(data.path()).join("__init__.py");
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .and_then(|f| f.set_modified(old))
            .expect("an old modification time");
        install(data.path()).expect("installed again");
        let modified = std::fs::metadata(&file).and_then(|m| m.modified());
        assert_eq!(modified.expect("a modification time"), old);
    }
}
