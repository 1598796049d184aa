//! The typed RPC client that the CLI and the dashboard share.
//!
//! Blocking and dependency-light on purpose: a CLI command opens one
//! connection, asks, and exits, and a start-up without an async runtime is
//! part of what makes `hero_logic` quick. The dashboard reads a
//! [`Subscription`] on a thread of its own.

mod api;
mod autostart;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::model::PlayEvent;

pub use api::{SaveRequest, StartRequest};
pub use autostart::{connect_or_start, probe, start_server};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no hero_logic server is listening on {}", .socket.display())]
    NotRunning { socket: PathBuf },
    /// The server refused the call; its hint (`error.data.hint`) is kept
    /// apart from the message, for the caller to show as it shows hints.
    #[error("{message}")]
    Rpc {
        code: i64,
        message: String,
        hint: Option<String>,
        /// The rest of `error.data` (e.g. `violations`), boxed to keep
        /// every `Result` of the client small.
        data: Option<Box<Value>>,
    },
    #[error("lost the connection to the server: {0}")]
    Io(#[from] std::io::Error),
    /// The data folder cannot take the server's files (read-only, not
    /// ours): nothing can start until it can.
    #[error("cannot write in the data folder {}: {source}", .dir.display())]
    DataDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("the server sent something unexpected: {0}")]
    Decode(String),
}

impl ClientError {
    /// The JSON-RPC error code, when the server refused the call.
    pub fn code(&self) -> Option<i64> {
        match self {
            ClientError::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// What the server says to do about it, when it says.
    pub fn hint(&self) -> Option<&str> {
        match self {
            ClientError::Rpc { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    socket: PathBuf,
}

impl Client {
    pub fn connect(socket: &Path) -> Result<Client> {
        let stream = UnixStream::connect(socket).map_err(|e| {
            if crate::server::socket::means_gone(&e) {
                ClientError::NotRunning {
                    socket: socket.to_path_buf(),
                }
            } else {
                ClientError::Io(e)
            }
        })?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            next_id: 1,
            socket: socket.to_path_buf(),
        })
    }

    /// A second connection to the same server.
    pub fn reconnect(&self) -> Result<Client> {
        Client::connect(&self.socket)
    }

    /// Calls a method and returns its raw result.
    pub fn call_value(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line =
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        loop {
            let reply = read_line(&mut self.reader)?;
            if reply.get("id") != Some(&json!(id)) {
                // A notification on a subscribed connection: not our answer.
                continue;
            }
            if let Some(error) = reply.get("error") {
                return Err(ClientError::Rpc {
                    code: error["code"].as_i64().unwrap_or(0),
                    message: error["message"].as_str().unwrap_or("").to_owned(),
                    hint: crate::api::hint_of(error.get("data")).map(str::to_owned),
                    data: error.get("data").cloned().map(Box::new),
                });
            }
            return Ok(reply.get("result").cloned().unwrap_or(Value::Null));
        }
    }

    pub fn call<T: DeserializeOwned>(&mut self, method: &str, params: Value) -> Result<T> {
        let value = self.call_value(method, params)?;
        serde_json::from_value(value).map_err(|e| ClientError::Decode(format!("{method}: {e}")))
    }

    /// Turns this connection into a stream of change events, of one play or
    /// of all.
    pub fn subscribe(mut self, play_sid: Option<&str>) -> Result<Subscription> {
        let params = match play_sid {
            Some(sid) => json!({ "play_sid": sid }),
            None => json!({}),
        };
        self.call_value("subscribe", params)?;
        Ok(Subscription {
            reader: self.reader,
        })
    }
}

fn read_line(reader: &mut BufReader<UnixStream>) -> Result<Value> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(ClientError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        )));
    }
    serde_json::from_str(&line).map_err(|e| ClientError::Decode(e.to_string()))
}

/// Server-pushed events; `None` from [`Subscription::next_event`] means
/// some were missed and the reader should reload what it shows.
pub struct Subscription {
    reader: BufReader<UnixStream>,
}

impl Subscription {
    pub fn next_event(&mut self) -> Result<Option<PlayEvent>> {
        loop {
            let message = read_line(&mut self.reader)?;
            match message.get("method").and_then(Value::as_str) {
                Some("event") => {
                    let event = serde_json::from_value(message["params"].clone())
                        .map_err(|e| ClientError::Decode(e.to_string()))?;
                    return Ok(Some(event));
                }
                Some("lagged") => return Ok(None),
                _ => continue,
            }
        }
    }
}
