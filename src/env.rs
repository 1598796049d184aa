//! The one place that reads environment variables.
//!
//! `hero_logic info check` compares [`READ`] with the `[[env]]` list of
//! `service.toml`, so a variable read anywhere else would slip past it. The
//! folder defaults of SPEC §2 are resolved here by hand rather than through a
//! directory crate for the same reason: such crates read `HOME` and the XDG
//! variables behind our back.

use std::path::PathBuf;

pub const SOCKET_DIR: &str = "HERO_SOCKET_DIR";
pub const DATA_DIR: &str = "HERO_LOGIC_DATA_DIR";
pub const PYTHON: &str = "HERO_LOGIC_PYTHON";
pub const NO_AUTOSTART: &str = "HERO_LOGIC_NO_AUTOSTART";
pub const MAX_RUNS: &str = "HERO_LOGIC_MAX_RUNS";
pub const RUN_RETRIES: &str = "HERO_LOGIC_RUN_RETRIES";
pub const LOG_LIMIT: &str = "HERO_LOGIC_LOG_LIMIT";
pub const PRELOAD: &str = "HERO_LOGIC_PRELOAD";
pub const BUILD_NR_VAR: &str = "HERO_BUILD_NR";
pub const HTTP: &str = "HERO_LOGIC_HTTP";
pub const DATABASE_URL: &str = "HERO_LOGIC_DATABASE_URL";
pub const LEASE_S: &str = "HERO_LOGIC_LEASE_S";
const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
const HOME: &str = "HOME";
const NO_COLOR: &str = "NO_COLOR";

/// Every variable the binary reads, at run time or (`HERO_BUILD_NR`) at
/// compile time.
pub const READ: &[&str] = &[
    SOCKET_DIR,
    DATA_DIR,
    PYTHON,
    NO_AUTOSTART,
    MAX_RUNS,
    RUN_RETRIES,
    LOG_LIMIT,
    PRELOAD,
    BUILD_NR_VAR,
    HTTP,
    DATABASE_URL,
    LEASE_S,
    XDG_RUNTIME_DIR,
    XDG_DATA_HOME,
    HOME,
    NO_COLOR,
];

/// The build number baked in by `HERO_BUILD_NR` at compile time.
pub const BUILD_NR: Option<&str> = option_env!("HERO_BUILD_NR");

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home() -> PathBuf {
    var(HOME)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

pub fn socket_dir() -> PathBuf {
    if let Some(dir) = var(SOCKET_DIR) {
        return PathBuf::from(dir);
    }
    match var(XDG_RUNTIME_DIR) {
        Some(runtime) => PathBuf::from(runtime).join("hero"),
        None => home().join("hero/var/sockets"),
    }
}

pub fn data_dir() -> PathBuf {
    if let Some(dir) = var(DATA_DIR) {
        return PathBuf::from(dir);
    }
    match var(XDG_DATA_HOME) {
        Some(data) => PathBuf::from(data).join("hero_logic"),
        None => home().join(".local/share/hero_logic"),
    }
}

pub fn python() -> String {
    var(PYTHON).unwrap_or_else(|| "python3".to_owned())
}

pub fn no_autostart() -> bool {
    var(NO_AUTOSTART).is_some_and(|v| v == "1")
}

/// How many scripts run at once; the rest of the plays queue as `pending`.
/// By default four per core, at least 8: a run forked from the zygote costs
/// little memory, and most runs wait on I/O or on the store's fsync.
pub fn max_runs() -> usize {
    var(MAX_RUNS)
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(2, usize::from);
            (4 * cores).max(8)
        })
}

/// How many times a run killed by a signal (the OOM killer, a user's
/// `kill -9`) or cut off from its server is run again from its checkpoints.
pub fn run_retries() -> u32 {
    var(RUN_RETRIES).and_then(|v| v.parse().ok()).unwrap_or(3)
}

/// Bytes of logs kept per run; what a run prints past them is dropped.
pub fn log_limit() -> u64 {
    var(LOG_LIMIT)
        .and_then(|v| v.parse().ok())
        .unwrap_or(16 << 20)
}

/// The address of the HTTP listener (SPEC §11), when it is to be on.
pub fn http() -> Option<String> {
    var(HTTP)
}

/// The PostgreSQL database to keep everything in instead of the redb file
/// (SPEC §12).
pub fn database_url() -> Option<String> {
    var(DATABASE_URL)
}

/// How long a worker's hold on a play lasts without a heartbeat: another
/// worker takes the play over once it has run out (SPEC §12). Default 15 s;
/// a value that is not a positive number of seconds (at most a day) counts
/// as unset.
pub fn lease() -> std::time::Duration {
    var(LEASE_S)
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.1 && *s <= 86_400.0)
        .map_or(
            std::time::Duration::from_secs(15),
            std::time::Duration::from_secs_f64,
        )
}

/// Modules the fork server imports before it forks runs (comma-separated),
/// so that a flow's heavy imports are paid once, not per run.
pub fn preload() -> Vec<String> {
    var(PRELOAD)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub fn no_color() -> bool {
    std::env::var_os(NO_COLOR).is_some()
}
