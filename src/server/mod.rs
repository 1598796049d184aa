//! The server: the Unix socket, JSON-RPC framing and method dispatch.
//!
//! Invariant: only this module knows the wire format; it speaks model types
//! to the engine and JSON-RPC to the world. Requests on one connection are
//! answered in order, which the SDK relies on (a span event sent before a
//! checkpoint is stored before it).

mod methods;
mod openrpc;
pub mod rpc;
pub mod socket;

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};

use crate::config::Paths;
use crate::engine::{self, Engine};
use crate::manifest::Manifest;
use crate::model::PlayEvent;
use crate::store::{DataDirLock, Store};

/// The largest request line: also the payload size limit.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

pub struct Server {
    engine: Engine,
    manifest: Manifest,
    paths: Paths,
    shutdown: Notify,
}

/// Resolves the interpreter to its real executable once: on machines where
/// `python3` is a version-manager shim, the shim alone costs 100 ms a start.
pub fn resolve_python(configured: &str) -> std::path::PathBuf {
    let found = std::process::Command::new(configured)
        .args(["-c", "import sys; print(sys.executable)"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match found {
        Ok(out) if out.status.success() => {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if path.is_empty() {
                configured.into()
            } else {
                path.into()
            }
        }
        _ => {
            tracing::warn!(
                "cannot run `{configured}`: flows will fail until HERO_LOGIC_PYTHON names a Python 3"
            );
            configured.into()
        }
    }
}

/// Runs the server until `server_shutdown`, SIGTERM or SIGINT. The socket
/// must have been prepared; the data folder is locked here.
pub async fn serve(
    manifest: Manifest,
    paths: Paths,
    python: String,
    max_runs: usize,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let _lock = DataDirLock::acquire(&paths.data_dir)?;
    crate::sdk::install(&paths.data_dir)
        .with_context(|| format!("cannot write the SDK into {}", paths.data_dir.display()))?;
    let store = Arc::new(Store::open(&paths.data_dir)?);
    let listener = UnixListener::bind(&paths.socket)
        .with_context(|| format!("cannot listen on {}", paths.socket.display()))?;
    socket::restrict(&paths.socket)?;
    let config = engine::Config {
        data_dir: paths.data_dir.clone(),
        socket_path: paths.socket.clone(),
        python: resolve_python(&python),
        max_runs,
    };
    crate::sdk::precompile(&config.python, &paths.data_dir);
    let engine = Engine::start(store, config)?;
    let server = Arc::new(Server {
        engine,
        manifest,
        paths,
        shutdown: Notify::new(),
    });
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let server = server.clone();
                tokio::spawn(async move { server.connection(stream).await });
            }
            () = server.shutdown.notified() => break,
            _ = sigterm.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    server.engine.kill_all();
    let _ = std::fs::remove_file(&server.paths.socket);
    Ok(())
}

impl Server {
    fn info(&self) -> Value {
        let mut info = self.manifest.info_json();
        info["pid"] = json!(std::process::id());
        info["uptime_s"] = json!(self.engine.uptime_s());
        info["socket"] = json!(self.paths.socket);
        info["data_dir"] = json!(self.paths.data_dir);
        info
    }

    async fn connection(&self, stream: UnixStream) {
        let mut framed = Framed::new(stream, LinesCodec::new_with_max_length(MAX_LINE));
        let mut events: Option<(tokio::sync::broadcast::Receiver<PlayEvent>, Option<String>)> =
            None;
        loop {
            let next_event = async {
                match events.as_mut() {
                    Some((rx, _)) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                line = framed.next() => {
                    let reply = match line {
                        None => return,
                        Some(Ok(line)) => self.handle(&line, &mut events).await,
                        Some(Err(LinesCodecError::MaxLineLengthExceeded)) => Some(rpc::response(
                            Value::Null,
                            Err(rpc::RpcError::new(
                                rpc::INVALID_REQUEST,
                                format!("request over the size limit of {} MiB", MAX_LINE >> 20),
                            )),
                        )),
                        Some(Err(LinesCodecError::Io(_))) => return,
                    };
                    if let Some(reply) = reply
                        && framed.send(reply).await.is_err()
                    {
                        return;
                    }
                }
                event = next_event => {
                    let line = match event {
                        Ok(event) => {
                            let wanted = events
                                .as_ref()
                                .and_then(|(_, sid)| sid.as_deref())
                                .is_none_or(|sid| sid == event.play_sid());
                            if !wanted {
                                continue;
                            }
                            rpc::notification("event", &event)
                        }
                        Err(RecvError::Lagged(n)) => rpc::notification("lagged", &json!({"missed": n})),
                        Err(RecvError::Closed) => return,
                    };
                    if framed.send(line).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// One request line in, the reply line out (none for a notification).
    async fn handle(
        &self,
        line: &str,
        events: &mut Option<(tokio::sync::broadcast::Receiver<PlayEvent>, Option<String>)>,
    ) -> Option<String> {
        let request = match rpc::parse(line) {
            Ok(r) => r,
            Err(refused) => {
                let (id, error) = *refused;
                return Some(rpc::response(id, Err(error)));
            }
        };
        if request.method == "subscribe" {
            #[derive(serde::Deserialize)]
            struct Subscribe {
                play_sid: Option<String>,
            }
            let play_sid = request
                .params
                .and_then(|p| serde_json::from_str::<Subscribe>(p.get()).ok())
                .and_then(|s| s.play_sid);
            *events = Some((self.engine.subscribe(), play_sid));
            return request
                .id
                .map(|id| rpc::response(id, Ok(json!({"ok": true}))));
        }
        let outcome = self.dispatch(&request.method, request.params).await;
        request.id.map(|id| rpc::response(id, outcome))
    }
}
