//! The harness of the end-to-end tests: one private hero_logic per test.
//!
//! A [`TestEnv`] owns a temporary folder holding the socket folder and the
//! data folder of its own server, and builds every command with
//! `HERO_SOCKET_DIR` and `HERO_LOGIC_DATA_DIR` pointing there, so tests run
//! in parallel and never touch the user's own server. Dropping it stops the
//! server. Nothing here sleeps to synchronise: [`wait_until`] polls a
//! condition against a deadline.

use std::ffi::OsStr;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::pgcluster;

/// The binary under test, built by cargo for this test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_hero_logic");

/// How long one command may take before the test gives up on it. Generous,
/// because a hung command should fail the test, not hang the suite.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The interpreter the tests' servers run flows with: the caller's
/// `HERO_LOGIC_PYTHON` (else `python3`), resolved once to its real
/// executable. Where `python3` is a version-manager shim, resolving it costs
/// a few hundred milliseconds, and every test starts servers, each of which
/// would resolve it again.
pub fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let configured = std::env::var("HERO_LOGIC_PYTHON")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "python3".to_owned());
        let out = std::process::Command::new(&configured)
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap_or_else(|e| panic!("the tests need Python 3 ({configured}): {e}"));
        let real = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if out.status.success() && !real.is_empty() {
            real
        } else {
            configured
        }
    })
}

/// How long a killed flow process may take to disappear.
pub const GONE_WITHIN: Duration = Duration::from_secs(10);

/// A path as a command-line argument.
pub fn path_arg(path: &Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}

/// The path of a flow script under `tests/flows/`.
pub fn flow(file: &str) -> PathBuf {
    repo_path(&format!("tests/flows/{file}"))
}

/// The source of a flow script under `tests/flows/`, for a test that
/// writes it into its own folder, under the file name its workflow needs.
pub fn flow_source(file: &str) -> String {
    let path = flow(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A path inside the repository, from its root.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Polls `condition` until it holds, or panics naming `what` once `within`
/// has passed.
pub fn wait_until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    loop {
        if condition() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {within:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether the process `pid` has ended: gone from `/proc`, or a zombie that
/// only waits for its parent to reap it.
pub fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state is the first field after the command name in brackets,
        // which may itself contain spaces and brackets.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// One finished command: its exit code (None when killed by a signal, e.g.
/// the harness's timeout), stdout and stderr.
pub struct Outcome {
    pub command: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// stdout parsed as JSON, or a panic that shows the whole outcome.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// Panics, showing the whole outcome, unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit code:\n{self}");
        self
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        match self.code {
            Some(code) => writeln!(f, "exit code: {code}")?,
            None => writeln!(
                f,
                "killed by a signal (timed out after {COMMAND_TIMEOUT:?}?)"
            )?,
        }
        writeln!(f, "--- stdout\n{}", self.stdout)?;
        write!(f, "--- stderr\n{}", self.stderr)
    }
}

pub struct TestEnv {
    root: TempDir,
    pub socket_dir: PathBuf,
    pub data_dir: PathBuf,
    /// The test's own PostgreSQL database when the run tests that backend
    /// (the suite built as `e2e_postgres`); `None` for the redb store.
    pub database_url: Option<String>,
    /// More variables for every command (and so every server) it runs.
    vars: Vec<(String, String)>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        // A short prefix keeps the socket path well under the 108 bytes a
        // Unix socket address may hold.
        let root = tempfile::Builder::new()
            .prefix("hl")
            .tempdir()
            .expect("a temporary folder");
        TestEnv {
            socket_dir: root.path().join("sock"),
            data_dir: root.path().join("data"),
            database_url: pgcluster::enabled().then(|| pgcluster::database(None)),
            vars: Vec::new(),
            root,
        }
    }

    /// Sets a variable for every command this environment runs.
    pub fn with_var(mut self, name: &str, value: &str) -> TestEnv {
        self.vars.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A server of its own on the same PostgreSQL database as `other`: its
    /// own socket and data folders, the same store (another worker).
    pub fn worker_of(other: &TestEnv) -> TestEnv {
        let mut env = TestEnv::new();
        env.database_url = other.database_url.clone();
        env.vars = other.vars.clone();
        env
    }

    /// Whether this run tests the redb store; a test of what only redb has
    /// (its journal, its file) says why it is skipped otherwise.
    pub fn on_redb(&self, why_only_redb: &str) -> bool {
        if self.database_url.is_some() {
            eprintln!("skipped on PostgreSQL: {why_only_redb}");
        }
        self.database_url.is_none()
    }

    /// A new environment whose data folder is a copy of `template`'s, whose
    /// server must be stopped: the setup of many cases, paid once.
    pub fn copy_of(template: &TestEnv) -> TestEnv {
        let mut env = TestEnv::new();
        copy_dir(&template.data_dir, &env.data_dir);
        env.database_url = template
            .database_url
            .as_deref()
            .map(|url| pgcluster::database(Some(url)));
        env
    }

    /// The server's socket, `hero_logic.sock` in the socket folder.
    pub fn socket(&self) -> PathBuf {
        self.socket_dir.join("hero_logic.sock")
    }

    /// A path in this test's private folder, for files a flow writes.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// The binary, with this test's folders and nothing of the caller's
    /// hero_logic environment.
    pub fn cmd(&self) -> assert_cmd::Command {
        self.command(BIN)
    }

    /// Any program, with this test's folders in its environment, run from
    /// this test's private folder.
    pub fn command(&self, program: &str) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(program);
        cmd.env("HERO_SOCKET_DIR", &self.socket_dir)
            .env("HERO_LOGIC_DATA_DIR", &self.data_dir)
            .env("HERO_LOGIC_PYTHON", python())
            .env("NO_COLOR", "1")
            .env_remove("HERO_LOGIC_NO_AUTOSTART")
            .current_dir(self.root.path())
            .timeout(COMMAND_TIMEOUT);
        match &self.database_url {
            Some(url) => cmd.env("HERO_LOGIC_DATABASE_URL", url),
            None => cmd.env_remove("HERO_LOGIC_DATABASE_URL"),
        };
        cmd.envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// The same as [`TestEnv::cmd`], for a process the test drives itself
    /// (a foreground server).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(BIN);
        cmd.env("HERO_SOCKET_DIR", &self.socket_dir)
            .env("HERO_LOGIC_DATA_DIR", &self.data_dir)
            .env("HERO_LOGIC_PYTHON", python())
            .env("NO_COLOR", "1")
            .env_remove("HERO_LOGIC_NO_AUTOSTART")
            .current_dir(self.root.path());
        match &self.database_url {
            Some(url) => cmd.env("HERO_LOGIC_DATABASE_URL", url),
            None => cmd.env_remove("HERO_LOGIC_DATABASE_URL"),
        };
        cmd.envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs a prepared command to the end.
    pub fn output(&self, cmd: &mut assert_cmd::Command, shown: String) -> Outcome {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run `{shown}`: {e}"));
        Outcome {
            command: shown,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `hero_logic ARGS...`, whatever its exit code.
    pub fn run<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let shown = std::iter::once("hero_logic".into())
            .chain(args.iter().map(|a| shell_quote(&a.to_string_lossy())))
            .collect::<Vec<_>>()
            .join(" ");
        self.output(self.cmd().args(&args), shown)
    }

    /// Runs `hero_logic ARGS...` and returns stdout; panics with the whole
    /// outcome and the server's log unless it exits 0.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args);
        assert_eq!(
            out.code,
            Some(0),
            "command failed:\n{out}\n--- server log (tail)\n{}",
            self.server_log_tail()
        );
        out.stdout
    }

    /// Runs `hero_logic ARGS...`, expects exit 0 and returns stdout as JSON.
    pub fn json<I, S>(&self, args: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let stdout = self.ok(args);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"))
    }

    /// `hero_logic rpc METHOD PARAMS`, expected to succeed: its result.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.json(["rpc", method, &params.to_string()])
    }

    /// Sends one raw line of JSON-RPC over the socket, as any client could,
    /// and returns the server's one-line reply.
    pub fn wire(&self, line: &str) -> Value {
        let stream = UnixStream::connect(self.socket())
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.socket().display()));
        stream
            .set_read_timeout(Some(COMMAND_TIMEOUT))
            .expect("a read timeout");
        let mut writer = stream.try_clone().expect("a second handle on the socket");
        writer
            .write_all(format!("{line}\n").as_bytes())
            .expect("the request is sent");
        let mut reply = String::new();
        BufReader::new(stream)
            .read_line(&mut reply)
            .unwrap_or_else(|e| panic!("no reply to {line}: {e}"));
        serde_json::from_str(&reply)
            .unwrap_or_else(|e| panic!("the reply to {line} is not JSON ({e}): {reply:?}"))
    }

    /// Starts the server in the background; returns when it answers.
    pub fn start(&self) {
        self.ok(["start"]);
    }

    /// Stops the server and waits until it has let go of the data folder.
    pub fn stop(&self) {
        let pid = self.server_pid();
        self.ok(["stop"]);
        if let Some(pid) = pid {
            wait_until(
                &format!("the server (pid {pid}) has exited after `stop`"),
                Duration::from_secs(20),
                || process_gone(pid),
            );
        }
    }

    /// `status --json`, whatever its exit code: `running` tells.
    pub fn status(&self) -> Value {
        self.run(["status", "--json"]).json()
    }

    /// The pid written in the data folder's lock file by the server that
    /// holds (or last held) it.
    pub fn server_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data_dir.join("hero_logic.lock"))
            .ok()
            .and_then(|pid| pid.trim().parse().ok())
    }

    /// Every record of the store, read directly from the redb file (the
    /// server must be stopped: redb lets one process open the file) or
    /// from the test's PostgreSQL database.
    pub fn store_dump(&self) -> Vec<String> {
        if let Some(url) = &self.database_url {
            return hero_logic::store::pg::Pg::open(url, None)
                .and_then(|pg| pg.dump())
                .unwrap_or_else(|e| panic!("cannot read the database {url}: {e}"));
        }
        let mut dump = None;
        let mut last_error = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while dump.is_none() {
            match hero_logic::store::Store::open(&self.data_dir).and_then(|s| s.dump()) {
                Ok(records) => dump = Some(records),
                Err(e) => last_error = e.to_string(),
            }
            assert!(
                dump.is_some() || Instant::now() < deadline,
                "cannot read the store in {}: {last_error}",
                self.data_dir.display()
            );
            if dump.is_none() {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        dump.expect("the loop ends with a dump")
    }

    /// The last lines of the background server's log, for failure messages.
    pub fn server_log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let _ = self
            .cmd()
            .arg("stop")
            .env("HERO_LOGIC_NO_AUTOSTART", "1")
            .timeout(Duration::from_secs(20))
            .output();
        // Whatever is left of this test: a server `stop` could not reach,
        // and the runs of a server killed with -9 and never started again
        // (a gated flow waits for its gate for ever).
        self.kill_everything();
    }
}

impl TestEnv {
    /// SIGKILLs every process of this environment: its server, fork
    /// server and runs, as losing the machine would.
    pub fn kill_everything(&self) {
        crate::kill::kill_everything(&self.data_dir);
    }
}

/// Copies a data folder, leaving out what belongs to the server that used
/// it: its lock file and its log.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a data folder");
    for entry in std::fs::read_dir(from).expect("the template's data folder") {
        let entry = entry.expect("a folder entry");
        let name = entry.file_name();
        if name == "hero_logic.lock" || name == "server.log" {
            continue;
        }
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(&name)).expect("a copied file");
        }
    }
}

/// Quotes an argument for the command line shown in failure messages.
fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}
