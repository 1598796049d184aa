//! Finding the server, and starting it when it is not there, so that a
//! newcomer's first command just works.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Client, ClientError, Result};
use crate::config::Paths;
use crate::env;
use crate::server::socket::means_gone;

/// How long a freshly started server may take to answer.
const START_DEADLINE: Duration = Duration::from_secs(15);

/// How many servers to start, one after another, before giving up.
const START_TRIES: u32 = 3;

/// Connects, starting a background server first unless
/// `HERO_LOGIC_NO_AUTOSTART=1`. A server it starts is announced once on
/// stderr, so a user knows something now runs in the background.
pub fn connect_or_start(paths: &Paths) -> Result<Client> {
    match probe(&paths.socket)? {
        Some((client, _)) => Ok(client),
        None if !env::no_autostart() => {
            start_server(paths)?;
            let mut client = Client::connect(&paths.socket)?;
            announce(&mut client, paths);
            Ok(client)
        }
        None => Err(ClientError::NotRunning {
            socket: paths.socket.clone(),
        }),
    }
}

/// The server on `socket` and its `info`, or `None` when no server is
/// there: none listens, or the one that did is dying and resets the
/// connection (a stale socket after a `kill -9`).
pub fn probe(socket: &Path) -> Result<Option<(Client, Value)>> {
    let mut client = match Client::connect(socket) {
        Ok(client) => client,
        Err(ClientError::NotRunning { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    match client.info() {
        Ok(info) => Ok(Some((client, info))),
        Err(ClientError::Io(e)) if means_gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `started hero_logic server (pid N) on SOCKET`, with how to stop it.
fn announce(client: &mut Client, paths: &Paths) {
    let pid = client
        .info()
        .ok()
        .and_then(|info| info["pid"].as_u64())
        .map_or_else(|| "?".to_owned(), |pid| pid.to_string());
    eprintln!(
        "started hero_logic server (pid {pid}) on {}; `hero_logic stop` stops it",
        paths.socket.display()
    );
}

/// Starts `hero_logic server` in the background, in its own process group
/// and detached from the terminal, and returns once it answers. A server
/// that exits without one answering is started again, within the deadline:
/// it may have met the socket of a server that was still dying.
pub fn start_server(paths: &Paths) -> Result<()> {
    let unwritable = |source| ClientError::DataDir {
        dir: paths.data_dir.clone(),
        source,
    };
    std::fs::create_dir_all(&paths.data_dir).map_err(unwritable)?;
    let deadline = Instant::now() + START_DEADLINE;
    let answers = || matches!(probe(&paths.socket), Ok(Some(_)));
    let mut tries = 0;
    loop {
        tries += 1;
        let mut child = spawn_server(paths, &unwritable)?;
        let status = loop {
            if answers() {
                return Ok(());
            }
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                return Err(ClientError::Io(std::io::Error::other(format!(
                    "the server did not answer on {} within {} s; see {}",
                    paths.socket.display(),
                    START_DEADLINE.as_secs(),
                    paths.server_log().display()
                ))));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // It may have lost a race with another starter that now serves.
        if answers() {
            return Ok(());
        }
        if tries >= START_TRIES || Instant::now() > deadline {
            let tail = std::fs::read_to_string(paths.server_log()).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            return Err(ClientError::Io(std::io::Error::other(format!(
                "the server exited ({status}) before answering; its log {} ends with:\n{}",
                paths.server_log().display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ))));
        }
    }
}

fn spawn_server(
    paths: &Paths,
    unwritable: &dyn Fn(std::io::Error) -> ClientError,
) -> Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.server_log())
        .map_err(unwritable)?;
    let exe = std::env::current_exe()?;
    Ok(Command::new(exe)
        .arg("server")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()?)
}
