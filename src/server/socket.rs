//! The server's Unix socket: folder `0700` (an existing one that others can
//! open is tightened, or refused when it is not ours), socket `0600`, a
//! stale socket removed (one that refuses or drops connections unanswered),
//! a live one refused with its owner's pid.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("a hero_logic server (pid {pid}) is already listening on {socket}")]
    Live { pid: String, socket: String },
    #[error(
        "the socket folder {dir} is open to others (mode {mode:o}) and belongs to another user, so it cannot be made private"
    )]
    NotOurs { dir: String, mode: u32 },
    #[error("cannot prepare the socket folder {dir}: {source}")]
    Io {
        dir: String,
        #[source]
        source: std::io::Error,
    },
}

/// Whether an error of a connection to the socket means that no server is
/// there: none listens, or one took the connection and dropped it unanswered,
/// as a server does while it dies (after a `kill -9`, say).
pub fn means_gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        NotFound
            | ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | BrokenPipe
            | UnexpectedEof
    )
}

/// Asks the server on the socket for its pid: `Ok(None)` when no server is
/// there (see [`means_gone`]), `Err` with what it could not learn from one
/// that is there but did not say.
fn live_pid(socket: &Path) -> std::io::Result<Option<String>> {
    let ask = || -> std::io::Result<String> {
        let stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut writer = stream.try_clone()?;
        writer.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"info\"}\n")?;
        let mut line = String::new();
        if BufReader::new(stream).read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let reply: serde_json::Value = serde_json::from_str(&line)?;
        Ok(reply["result"]["pid"].to_string())
    };
    match ask() {
        Ok(pid) => Ok(Some(pid)),
        Err(e) if means_gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Makes the folder, and clears the way for our socket.
pub fn prepare_sockets(dir: &Path, socket: &Path) -> Result<(), SocketError> {
    let io = |source| SocketError::Io {
        dir: dir.display().to_string(),
        source,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    let meta = std::fs::metadata(dir).map_err(io)?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        tracing::info!("making the socket folder {} private", dir.display());
        match std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & !0o077)) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(SocketError::NotOurs {
                    dir: dir.display().to_string(),
                    mode,
                });
            }
            other => other.map_err(io)?,
        }
    }
    if socket.exists() {
        // A server that is there but slow to answer is live all the same:
        // only one that is surely gone loses its socket.
        let pid = match live_pid(socket) {
            Ok(None) => None,
            Ok(Some(pid)) => Some(pid),
            Err(_) => Some("unknown".into()),
        };
        if let Some(pid) = pid {
            return Err(SocketError::Live {
                pid,
                socket: socket.display().to_string(),
            });
        }
        tracing::info!("removing stale socket {}", socket.display());
        std::fs::remove_file(socket).map_err(io)?;
    }
    Ok(())
}

pub fn restrict(socket: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
}
