//! Killing every process of one server's data folder, as losing the
//! machine would: shared by the tests' harness and the benches.

use std::path::Path;

/// SIGKILLs every process with `HERO_LOGIC_DATA_DIR=data_dir` in its
/// environment: the server, its fork server and its runs. Only those: a
/// pid alone may have been reused, even by another test's server.
pub fn kill_everything(data_dir: &Path) {
    let ours = format!("HERO_LOGIC_DATA_DIR={}", data_dir.display());
    for pid in std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
    {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|var| var == ours.as_bytes()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
