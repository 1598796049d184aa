//! A throwaway PostgreSQL cluster for the suite built as `e2e_postgres`
//! (the end-to-end tests against the PostgreSQL backend), and for the tests
//! that always need one (several servers sharing a database).
//!
//! One cluster per test process: `initdb` and `pg_ctl` from Debian's
//! `postgresql` package, in a temporary folder, listening only on a Unix
//! socket there; as the unprivileged `nobody` when the tests run as root
//! (PostgreSQL refuses to run as root). Each test gets a database of its
//! own. A watcher stops the cluster and removes its folder once the test
//! process has exited, since Rust tests have no hook for the end of a run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The database role the tests connect as (made by `initdb -U`).
const ROLE: &str = "hero";

/// Whether this test binary tests the PostgreSQL backend: the suite built
/// as `e2e_postgres` does, where PostgreSQL is installed.
pub fn enabled() -> bool {
    env!("CARGO_CRATE_NAME") == "e2e_postgres" && available()
}

/// Whether PostgreSQL's server programs are here. Where they are not, a
/// test that wants them says so once and runs on redb (or skips), unless
/// `HERO_TEST_REQUIRE_POSTGRES=1` makes their absence a failure.
pub fn available() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let found = bin("initdb").is_absolute();
        if !found {
            assert!(
                std::env::var("HERO_TEST_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "PostgreSQL is not installed, and HERO_TEST_REQUIRE_POSTGRES=1: \
                 install Debian's `postgresql` package"
            );
            eprintln!(
                "PostgreSQL is not installed (Debian: apt-get install postgresql): \
                 its tests run on redb or are skipped"
            );
        }
        found
    })
}

struct Cluster {
    dir: PathBuf,
}

fn bin(name: &str) -> PathBuf {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|versions| {
            let mut versions: Vec<PathBuf> = versions.flatten().map(|e| e.path()).collect();
            versions.sort();
            versions.pop()
        })
        .map(|v| v.join("bin").join(name));
    found
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Runs a PostgreSQL program, as `nobody` when we are root.
fn pg_command(program: &str) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "nobody", "--"]).arg(bin(program));
        cmd
    } else {
        Command::new(bin(program))
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e} (is Debian's `postgresql` installed?)"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("hlpg")
            .tempdir_in("/tmp")
            .expect("a folder for the cluster")
            .keep();
        if is_root() {
            run(
                Command::new("chown").arg("nobody").arg(&dir),
                "chown of the cluster's folder",
            );
        }
        let data = dir.join("data");
        run(
            pg_command("initdb")
                .args(["-A", "trust", "-U", ROLE, "-E", "UTF8", "--no-sync", "-D"])
                .arg(&data),
            "initdb",
        );
        run(
            pg_command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-l"])
                .arg(dir.join("postgres.log"))
                .arg("-o")
                .arg(format!(
                    "-k {} -c listen_addresses='' -c max_connections=400",
                    dir.display()
                ))
                .args(["-w", "start"]),
            "pg_ctl start",
        );
        watch(&dir, &data);
        Cluster { dir }
    })
}

/// Stops the cluster and removes its folder once this process is gone.
fn watch(dir: &Path, data: &Path) {
    // The watcher runs in the background of a shell that exits at once, so
    // that nothing of it is left for this process to wait for.
    let script = format!(
        "(while [ -d /proc/{pid} ]; do sleep 1; done; \
         {ctl} -D '{data}' -m immediate stop; rm -rf '{dir}') >/dev/null 2>&1 &",
        pid = std::process::id(),
        ctl = bin("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let mut cmd = if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "nobody", "--", "sh", "-c", &script]);
        cmd
    } else {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        cmd
    };
    use std::os::unix::process::CommandExt;
    let started = cmd
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the cluster's watcher starts");
    assert!(started.success(), "the cluster's watcher starts: {started}");
}

/// The URL of database `name` in the cluster.
pub fn url(name: &str) -> String {
    format!(
        "postgresql:///{name}?host={}&user={ROLE}",
        cluster().dir.display()
    )
}

/// A new empty database for one test, or a copy of `template`'s (whose
/// servers must have stopped: a template may have no connections).
pub fn database(template: Option<&str>) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = postgres::Client::connect(&url("postgres"), postgres::NoTls)
        .expect("a connection to the test cluster");
    let sql = match template {
        Some(from) => format!("CREATE DATABASE {name} TEMPLATE {}", db_name(from)),
        None => format!("CREATE DATABASE {name}"),
    };
    admin
        .batch_execute(&sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    url(&name)
}

/// The database name in a URL made by [`url`].
fn db_name(url: &str) -> &str {
    url.trim_start_matches("postgresql:///")
        .split('?')
        .next()
        .unwrap_or_default()
}
