//! The server: the Unix socket, JSON-RPC framing and method dispatch.
//!
//! Invariant: only this module knows the wire format; it speaks model types
//! to the engine and JSON-RPC to the world. Requests on one connection are
//! answered in order, which the SDK relies on (a span event sent before a
//! checkpoint is stored before it).
//!
//! Connections are tokio tasks, and speak the public API only, until they
//! attach to a run (`run_attach` with the run's secret token, SPEC §4 "a
//! run's own channel"): from then on a connection is that run's, bound to
//! its play and run, and it is served by a thread of its own, which writes
//! each checkpoint itself and answers as soon as the fsync returns. A step
//! is then one wake-up of the flow, with nothing handed between threads in
//! between: after answering, the thread writes the step to redb
//! ([`Engine::catch_up`]) and polls for the flow's next request
//! (`spin.rs`) while the flow runs its next step. Only a valid token gets a
//! thread, and a run's token attaches one connection at a time, so threads
//! are bounded by the runs alive. The SDK's other messages (the methods
//! OpenRPC marks `x-internal`) are refused on any other connection.

mod connection;
pub mod http;
mod http_routes;
mod methods;
pub mod offline;
mod openrpc;
pub mod rpc;
pub mod socket;
mod spin;

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;
use tokio_util::codec::{Framed, LinesCodec};

use crate::config::Paths;
use crate::engine::{self, Engine};
use crate::manifest::Manifest;
use crate::store::pg::{self, Pg, WorkerId};
use crate::store::{Backend, DataDirLock, Store};

/// How long a stopping server waits for answers still to be written.
const SHUTDOWN_ANSWERS: std::time::Duration = std::time::Duration::from_secs(1);

/// The largest request line: also the payload size limit.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

pub struct Server {
    engine: Engine,
    manifest: Manifest,
    paths: Paths,
    shutdown: Notify,
    flows: spin::Flows,
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
/// must have been prepared; the data folder is locked here, and let go
/// when the engine is dropped everywhere: what the answer waits for.
pub async fn serve(
    manifest: Manifest,
    paths: Paths,
    python: String,
    max_runs: usize,
    http: Option<http::HttpConfig>,
    database_url: Option<String>,
) -> anyhow::Result<engine::Released> {
    use anyhow::Context;
    let lock = DataDirLock::acquire(&paths.data_dir)?;
    crate::sdk::install(&paths.data_dir)
        .with_context(|| format!("cannot write the SDK into {}", paths.data_dir.display()))?;
    let store = match &database_url {
        Some(url) => {
            let worker = WorkerId {
                id: pg::local_worker_id(&paths.data_dir).with_context(|| {
                    format!("cannot name this worker in {}", paths.data_dir.display())
                })?,
                host: pg::host_name(),
                lease: crate::env::lease(),
            };
            Backend::Postgres(Arc::new(Pg::open(url, Some(worker))?))
        }
        None => Backend::Redb(Arc::new(Store::open(&paths.data_dir)?)),
    };
    let listener = UnixListener::bind(&paths.socket)
        .with_context(|| format!("cannot listen on {}", paths.socket.display()))?;
    socket::restrict(&paths.socket)?;
    let http_listener = match &http {
        Some(config) => Some(
            tokio::net::TcpListener::bind(config.addr)
                .await
                .with_context(|| format!("cannot listen for HTTP on {}", config.addr))?,
        ),
        None => None,
    };
    let config = engine::Config {
        data_dir: paths.data_dir.clone(),
        socket_path: paths.socket.clone(),
        python: resolve_python(&python),
        max_runs,
        run_retries: crate::env::run_retries(),
        log_limit: crate::env::log_limit(),
        preload: crate::env::preload(),
    };
    crate::sdk::precompile(&config.python, &paths.data_dir);
    let engine = Engine::start(store, config, lock)?;
    let flows = spin::Flows::new(!engine.on_postgres());
    let server = Arc::new(Server {
        engine,
        manifest,
        paths,
        shutdown: Notify::new(),
        flows,
    });
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let limit = connection::connection_limit(max_runs);
    tracing::info!("serving at most {limit} connections at once");
    if let Some(listener) = http_listener {
        let addr = listener.local_addr()?;
        server.engine.set_http_base(format!("http://{addr}"));
        tracing::info!("HTTP API on http://{addr}");
        tokio::spawn(http::serve(listener, server.engine.clone(), limit));
    }
    let mut acceptor = connection::Acceptor::new(listener, limit);
    loop {
        tokio::select! {
            (stream, slot) = acceptor.next() => {
                tokio::spawn(server.clone().connection(stream, slot));
            }
            () = server.shutdown.notified() => break,
            _ = sigterm.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    // The answer to `server_shutdown`, and to requests read with it, is
    // written before the process ends.
    acceptor.unanswered().drained(SHUTDOWN_ANSWERS).await;
    server.engine.kill_all();
    let _ = std::fs::remove_file(&server.paths.socket);
    Ok(server.engine.released())
}

/// What a tokio connection does with one request line.
enum Handled {
    /// Answers it (or not, for a notification) and reads on.
    Reply(Option<String>),
    /// Hands itself, this line included, to a thread of its own: the line
    /// is a `run_attach` with a token that attaches now.
    ToThread,
}

impl Server {
    fn info(&self) -> Value {
        let mut info = self.manifest.info_json();
        info["pid"] = json!(std::process::id());
        info["uptime_s"] = json!(self.engine.uptime_s());
        info["socket"] = json!(self.paths.socket);
        info["data_dir"] = json!(self.paths.data_dir);
        info["http"] = json!(self.engine.http_base());
        info["backend"] = json!(self.engine.backend());
        info
    }

    /// Moves a connection that presented a run's token to a thread of its
    /// own, with the bytes already read past that request. `first` is its
    /// `run_attach`, answered here: the flow goes on while the thread
    /// starts. A connection that cannot attach (its run ended in between)
    /// is answered and closed.
    fn hand_to_thread(self: Arc<Self>, framed: Framed<UnixStream, LinesCodec>, first: String) {
        use std::io::Write;
        let parts = framed.into_parts();
        let read_ahead = parts.read_buf.to_vec();
        let stream = match parts.io.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("cannot move an SDK connection to its thread: {e}");
                return;
            }
        };
        let (attached, reply) = self.attach(&first);
        // A short answer into an empty socket buffer: it does not block.
        if let Some(reply) = reply
            && let Err(e) = (&stream).write_all(format!("{reply}\n").as_bytes())
        {
            tracing::debug!("an SDK connection ended: {e}");
            return;
        }
        let Some(attached) = attached else {
            return;
        };
        let runtime = tokio::runtime::Handle::current();
        let spawned = std::thread::Builder::new()
            .name("sdk-connection".into())
            .spawn(move || {
                if let Err(e) = self.sdk_connection(&runtime, stream, read_ahead, &attached) {
                    tracing::debug!("an SDK connection ended: {e}");
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start a thread for an SDK connection: {e}");
        }
    }

    /// Serves a running flow's attached connection, blocking, one line at a
    /// time.
    fn sdk_connection(
        &self,
        runtime: &tokio::runtime::Handle,
        stream: std::os::unix::net::UnixStream,
        read_ahead: Vec<u8>,
        attached: &engine::Attached,
    ) -> std::io::Result<()> {
        use std::io::{BufRead, Read, Write};
        use std::os::fd::AsFd;
        stream.set_nonblocking(false)?;
        let mut out = stream.try_clone()?;
        let mut reader = std::io::BufReader::new(std::io::Cursor::new(read_ahead).chain(stream));
        let _connected = self.flows.enter();
        let mut spinner = spin::Spinner::new();
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            if reader.buffer().is_empty() {
                spinner.wait(out.as_fd(), &self.flows);
            }
            let read = reader
                .by_ref()
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut bytes)?;
            spinner.arrived();
            if read == 0 {
                return Ok(());
            }
            if bytes.len() > MAX_LINE {
                out.write_all(format!("{}\n", connection::too_long()).as_bytes())?;
                return Ok(());
            }
            // As the tokio side frames lines: a line that is not UTF-8 is
            // answered, and the connection goes on.
            let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
            let reply = match connection::line_text(line) {
                Ok(line) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.sdk_request(runtime, attached, &line)
                }))
                .unwrap_or_else(|panic| connection::panic_answer(&line, panic.as_ref())),
                Err(refused) => Some(refused),
            };
            if let Some(mut reply) = reply {
                reply.push('\n');
                out.write_all(reply.as_bytes())?;
            }
            spinner.answered();
            self.engine.catch_up();
        }
    }

    /// Attaches a connection to the run whose token its `run_attach`
    /// carries: the binding, if it took, and the answer to send.
    fn attach(&self, line: &str) -> (Option<engine::Attached>, Option<String>) {
        let request = match rpc::parse(line) {
            Ok(r) => r,
            Err(refused) => {
                let (id, error) = *refused;
                return (None, Some(rpc::response(id, Err(error))));
            }
        };
        let outcome = methods::attach_token(request.params).and_then(|token| {
            self.engine.attach(&token).map_err(|e| {
                rpc::RpcError::new(rpc::INVALID_REQUEST, format!("run_attach refused: {e}"))
            })
        });
        let (attached, result) = match outcome {
            Ok(attached) => {
                let result = json!({"play_sid": attached.play_sid(), "run": attached.run()});
                (Some(attached), Ok(result))
            }
            Err(e) => (None, Err(e)),
        };
        (attached, request.id.map(|id| rpc::response(id, result)))
    }

    /// One request of a running flow's connection.
    fn sdk_request(
        &self,
        runtime: &tokio::runtime::Handle,
        channel: &engine::RunChannel,
        line: &str,
    ) -> Option<String> {
        let request = match rpc::parse(line) {
            Ok(r) => r,
            Err(refused) => {
                let (id, error) = *refused;
                return Some(rpc::response(id, Err(error)));
            }
        };
        let outcome = if request.method == "subscribe" {
            Err(rpc::RpcError::new(
                rpc::INVALID_REQUEST,
                "this connection carries a flow's SDK requests; subscribe on a connection of its own",
            ))
        } else if request.method == "step_output" {
            self.step_output(channel, request.params)
        } else {
            runtime.block_on(self.dispatch_sdk(channel, &request.method, request.params))
        };
        if let Err(refused) = &outcome
            && request.id.is_none()
        {
            // A refused notification gets no answer, as JSON-RPC says; the
            // server's log says why, once per message.
            tracing::debug!(
                "refused `{}` from run {} of play {}: {}",
                request.method,
                channel.run(),
                channel.play_sid(),
                refused.message
            );
        }
        request.id.map(|id| rpc::response(id, outcome))
    }

    /// One request line in, the reply line out (none for a notification).
    async fn handle(&self, line: &str, events: &mut connection::Events) -> Handled {
        let request = match rpc::parse(line) {
            Ok(r) => r,
            Err(refused) => {
                let (id, error) = *refused;
                return Handled::Reply(Some(rpc::response(id, Err(error))));
            }
        };
        if crate::api::is_internal(&request.method) {
            // Only a run's own token moves a connection to a thread; every
            // other SDK message here is refused before anything is read of it.
            let refusal = if request.method != "run_attach" {
                rpc::RpcError::new(
                    rpc::INVALID_REQUEST,
                    format!(
                        "`{}` is a flow run's message: it goes on a connection attached to the run \
                         with `run_attach` and the run's token (this connection may use the public API only)",
                        request.method
                    ),
                )
            } else if events.is_some() {
                rpc::RpcError::new(
                    rpc::INVALID_REQUEST,
                    "a connection that subscribed does not carry a flow's SDK requests; use a connection of its own",
                )
            } else {
                match methods::attach_token(request.params).and_then(|token| {
                    self.engine.may_attach(&token).map_err(|e| {
                        rpc::RpcError::new(rpc::INVALID_REQUEST, format!("run_attach refused: {e}"))
                    })
                }) {
                    Ok(()) => return Handled::ToThread,
                    Err(refusal) => refusal,
                }
            };
            return Handled::Reply(request.id.map(|id| rpc::response(id, Err(refusal))));
        }
        if request.method == "subscribe" {
            let outcome = connection::subscribe_params(request.params).map(|play_sid| {
                *events = Some((self.engine.subscribe(), play_sid));
                json!({"ok": true})
            });
            return Handled::Reply(request.id.map(|id| rpc::response(id, outcome)));
        }
        let outcome = self.dispatch(&request.method, request.params).await;
        Handled::Reply(request.id.map(|id| rpc::response(id, outcome)))
    }
}
