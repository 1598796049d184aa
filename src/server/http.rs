//! The HTTP listener (SPEC §11): answers and starts from outside the
//! machine, on the server's own tokio runtime.
//!
//! Bare hyper 1 (HTTP/1.1 only) under an accept loop of our own, because
//! the loop is where the listener defends itself: a bound on open
//! connections (past it, the oldest idle connection makes way, else a
//! `503` at once and the connection closed), a
//! deadline for each request head (a slow-loris or idle client is cut off
//! after [`HEAD_TIMEOUT`]) and for each body ([`BODY_TIMEOUT`]), and a
//! body limit ([`MAX_BODY`]). The routes are in `http_routes.rs`.
//!
//! Invariant: no request's path, header or body is ever logged, since
//! paths carry pause tokens and headers carry keys. It listens on a
//! loopback address unless `--http-public` says otherwise.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};

use super::http_routes;
use crate::engine::Engine;

/// How long a client has to send a request's head (its line and headers),
/// counted from when the server starts waiting for it: also how long an
/// idle connection is kept open.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to send a request's body once its head is in.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request body taken: a webhook's payload, not a file.
pub const MAX_BODY: usize = 1 << 20;
/// The most connections open at once, whatever the file-descriptor limit
/// leaves (the listener takes at most half of what the socket may use).
const MAX_CONNECTIONS: usize = 4096;

/// Where the listener listens, as the user asked.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub addr: SocketAddr,
}

/// Why an `--http` address is refused before the server starts.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("--http `{0}` is not an address and port, e.g. 127.0.0.1:8470")]
    Unreadable(String),
    #[error("--http `{0}` is not a loopback address: the HTTP API would be open to the network")]
    NotLoopback(String),
}

/// Reads an `--http` address (a host may be a name, e.g. `localhost:8470`)
/// and refuses one that is reachable from other machines unless `public`.
pub fn resolve(text: &str, public: bool) -> Result<HttpConfig, AddressError> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|_| AddressError::Unreadable(text.to_owned()))?
        .collect();
    let addr = *addrs
        .first()
        .ok_or_else(|| AddressError::Unreadable(text.to_owned()))?;
    if !public && !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err(AddressError::NotLoopback(text.to_owned()));
    }
    Ok(HttpConfig { addr })
}

/// Serves HTTP on `listener` until the runtime ends. `limit` is what the
/// Unix socket may hold at once; the listener holds at most half of it.
/// At the bound, a new connection takes the place of the one that has
/// waited longest without a request in flight (idle at least
/// [`EVICT_AFTER`]), so a crowd of idle or slow clients never locks out a
/// client that speaks; when none has, it gets `503`.
pub async fn serve(listener: TcpListener, engine: Engine, limit: usize) {
    let slots = Arc::new(Semaphore::new((limit / 2).clamp(16, MAX_CONNECTIONS)));
    let open = Arc::new(Open::default());
    let mut failures = 0u32;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => {
                failures = 0;
                accepted
            }
            Err(e) => {
                // Out of descriptors, say: wait a little for some to be
                // given back, and go on; never stop listening.
                failures = failures.saturating_add(1);
                if failures == 1 {
                    tracing::warn!("cannot accept an HTTP connection: {e}; retrying");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) if open.evict_oldest_idle() => {
                // The evicted connection's task gives its slot back as soon
                // as it runs.
                match tokio::time::timeout(EVICT_WAIT, slots.clone().acquire_owned()).await {
                    Ok(Ok(slot)) => slot,
                    _ => {
                        tokio::spawn(refuse_busy(stream));
                        continue;
                    }
                }
            }
            Err(_) => {
                tokio::spawn(refuse_busy(stream));
                continue;
            }
        };
        let engine = engine.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let (id, conn) = open.add();
            let _ = stream.set_nodelay(true);
            let in_service = conn.clone();
            let service = service_fn(move |request| {
                let conn = in_service.clone();
                let engine = engine.clone();
                async move {
                    conn.busy.store(true, Ordering::SeqCst);
                    let answer = http_routes::handle(engine, request).await;
                    conn.idle_from_now();
                    answer
                }
            });
            let serving = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_headers(64)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                served = serving => {
                    if let Err(e) = served {
                        // hyper's errors name what failed (a timeout, a bad
                        // head), never the request's path or headers.
                        tracing::debug!("an HTTP connection ended: {e}");
                    }
                }
                () = conn.close.notified() => {}
            }
            open.remove(id);
        });
    }
}

/// How long a connection must have had no request in flight before a new
/// one may take its place: long enough that an answer just handed to hyper
/// has been written.
const EVICT_AFTER: Duration = Duration::from_secs(1);
/// How long the accept loop waits for an evicted connection's slot.
const EVICT_WAIT: Duration = Duration::from_secs(1);

/// The connections open now, so the oldest idle one can be closed.
#[derive(Default)]
struct Open {
    conns: std::sync::Mutex<(u64, HashMap<u64, Arc<Conn>>)>,
}

struct Conn {
    /// A request is being answered.
    busy: AtomicBool,
    /// Since when it has had no request in flight.
    idle_since: std::sync::Mutex<Instant>,
    close: Notify,
}

impl Conn {
    fn idle_from_now(&self) {
        *self.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.busy.store(false, Ordering::SeqCst);
    }
}

impl Open {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, HashMap<u64, Arc<Conn>>)> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self) -> (u64, Arc<Conn>) {
        let conn = Arc::new(Conn {
            busy: AtomicBool::new(false),
            idle_since: std::sync::Mutex::new(Instant::now()),
            close: Notify::new(),
        });
        let mut conns = self.lock();
        conns.0 += 1;
        let id = conns.0;
        conns.1.insert(id, conn.clone());
        (id, conn)
    }

    fn remove(&self, id: u64) {
        self.lock().1.remove(&id);
    }

    /// Closes the connection idle longest, if one has been idle at least
    /// [`EVICT_AFTER`]; says whether one was.
    fn evict_oldest_idle(&self) -> bool {
        let now = Instant::now();
        let mut conns = self.lock();
        let oldest = conns
            .1
            .iter()
            .filter(|(_, c)| !c.busy.load(Ordering::SeqCst))
            .map(|(id, c)| (*id, *c.idle_since.lock().unwrap_or_else(|p| p.into_inner())))
            .filter(|(_, since)| now.duration_since(*since) >= EVICT_AFTER)
            .min_by_key(|(_, since)| *since);
        let Some((id, _)) = oldest else {
            return false;
        };
        if let Some(conn) = conns.1.remove(&id) {
            conn.close.notify_one();
        }
        true
    }
}

/// The answer to a connection over the bound: `503`, and closed, without
/// reading what it sends.
async fn refuse_busy(mut stream: TcpStream) {
    let body = http_routes::error_body(
        "busy",
        "the server holds as many HTTP connections as it takes",
        Some("try again in a moment"),
    );
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let reply = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), reply).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_without_public() {
        assert!(resolve("127.0.0.1:8470", false).is_ok());
        assert!(resolve("[::1]:0", false).is_ok());
        assert!(matches!(
            resolve("0.0.0.0:8470", false),
            Err(AddressError::NotLoopback(_))
        ));
        assert!(resolve("0.0.0.0:8470", true).is_ok());
        assert!(matches!(
            resolve("8470", false),
            Err(AddressError::Unreadable(_))
        ));
    }
}
