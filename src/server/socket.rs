//! The server's Unix socket: folder `0700` (an existing one that others can
//! open is tightened, or refused when it is not ours), socket `0600`, a
//! stale socket removed, a live one refused with its owner's pid.

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

/// Asks a live server for its pid, to name it in the refusal.
fn live_pid(socket: &Path) -> Option<String> {
    let stream = UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut writer = stream.try_clone().ok()?;
    writer
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"info\"}\n")
        .ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    let reply: serde_json::Value = serde_json::from_str(&line).ok()?;
    Some(reply["result"]["pid"].to_string())
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
        if UnixStream::connect(socket).is_ok() {
            return Err(SocketError::Live {
                pid: live_pid(socket).unwrap_or_else(|| "unknown".into()),
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
