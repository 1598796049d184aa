//! Accepting connections and serving them on tokio tasks.
//!
//! Two faults shape this file. A server out of file descriptors must not
//! end: it holds at most [`connection_limit`] connections, so that the
//! store, the logs and the flows' processes keep theirs, lets the rest
//! wait in the listen queue, and backs off when `accept` fails anyway.
//! And a client that writes requests without reading answers must not
//! deadlock its connection: each connection reads and writes
//! independently, with a bounded queue of answers in between.
//!
//! Not here: a flow's connection once it speaks its first SDK request,
//! which is handed to a thread of its own (`Server::hand_to_thread`).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_util::codec::{
    AnyDelimiterCodec, AnyDelimiterCodecError, Framed, FramedParts, FramedRead, LinesCodec,
};

use super::rpc::{self, RpcError};
use super::{Handled, MAX_LINE, Server};

/// Answers a connection may have queued before it stops reading requests:
/// enough that a client may pipeline, few enough that one that never reads
/// holds little memory.
const QUEUED_ANSWERS: usize = 16;

/// Descriptors the server keeps for itself: the store, its journal, the
/// lock, the log, the runtime's own, and the tests' and tools' spares.
const RESERVED_FDS: u64 = 64;

/// Descriptors one running flow costs: its connection, its three pipes
/// (both ends while it starts), and its log file.
const FDS_PER_RUN: u64 = 8;

/// The fewest connections the server takes, whatever the limit says.
const MIN_CONNECTIONS: usize = 8;

/// How long `accept` waits after running out of descriptors, first and at
/// most: the first retry is quick, a lasting shortage costs little CPU.
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_millis(100);

/// At most one log line per this long about failing accepts.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// How many connections the server holds at once: what `RLIMIT_NOFILE`
/// leaves after the server's own descriptors and those of `max_runs` flows.
pub fn connection_limit(max_runs: usize) -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _)| soft);
    let reserved = RESERVED_FDS.saturating_add(FDS_PER_RUN.saturating_mul(max_runs as u64));
    usize::try_from(soft.saturating_sub(reserved))
        .unwrap_or(usize::MAX)
        .max(MIN_CONNECTIONS)
}

/// The requests read but not yet answered on the wire, over every tokio
/// connection: the server waits for them, a while, before it exits, so that
/// `server_shutdown` (and whatever was asked with it) gets its answer.
#[derive(Clone)]
pub struct Unanswered(Arc<watch::Sender<usize>>);

impl Unanswered {
    fn new() -> Unanswered {
        Unanswered(Arc::new(watch::Sender::new(0)))
    }

    fn begin(&self) -> Pending {
        self.0.send_modify(|n| *n += 1);
        Pending(self.clone())
    }

    /// Returns once every request read is answered, or `within` has passed.
    pub async fn drained(&self, within: Duration) {
        let mut count = self.0.subscribe();
        let _ = tokio::time::timeout(within, count.wait_for(|n| *n == 0)).await;
    }
}

/// One request being handled, or its answer not yet written: ends when
/// dropped, written or not.
struct Pending(Unanswered);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.0.send_modify(|n| *n -= 1);
    }
}

/// What a connection holds while it is open: its place among the open ones,
/// and the count of requests to answer before the server exits.
pub struct Slot {
    _open: OwnedSemaphorePermit,
    unanswered: Unanswered,
}

/// The listener, with the bound on open connections and the state of the
/// back-off after a failed `accept`.
pub struct Acceptor {
    listener: UnixListener,
    open: Arc<Semaphore>,
    unanswered: Unanswered,
    backoff: Duration,
    /// When the last line about failing accepts was logged, and how many
    /// failed since.
    logged: Option<Instant>,
    unlogged: u64,
}

impl Acceptor {
    pub fn new(listener: UnixListener, limit: usize) -> Acceptor {
        Acceptor {
            listener,
            open: Arc::new(Semaphore::new(limit)),
            unanswered: Unanswered::new(),
            backoff: BACKOFF_FIRST,
            logged: None,
            unlogged: 0,
        }
    }

    /// The next connection, with its place among the open ones. Waits while
    /// the bound is reached (the kernel queues new clients meanwhile), and
    /// never fails: an error of `accept` is waited out. Cancel-safe.
    pub async fn next(&mut self) -> (UnixStream, Slot) {
        loop {
            let permit = self
                .open
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    self.backoff = BACKOFF_FIRST;
                    let slot = Slot {
                        _open: permit,
                        unanswered: self.unanswered.clone(),
                    };
                    return (stream, slot);
                }
                Err(e) => {
                    drop(permit);
                    self.failed(&e);
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    pub fn unanswered(&self) -> Unanswered {
        self.unanswered.clone()
    }

    /// Logs a failed `accept`, at most once per [`LOG_EVERY`].
    fn failed(&mut self, e: &std::io::Error) {
        self.unlogged += 1;
        if self.logged.is_some_and(|at| at.elapsed() < LOG_EVERY) {
            return;
        }
        let out_of_fds = matches!(
            e.raw_os_error(),
            Some(nix::libc::EMFILE | nix::libc::ENFILE)
        );
        let hint = if out_of_fds {
            "out of file descriptors: new connections wait until some close (raise `ulimit -n`)"
        } else {
            "retrying"
        };
        tracing::warn!(
            "cannot accept a connection ({} times since the last report): {e}; {hint}",
            self.unlogged
        );
        self.logged = Some(Instant::now());
        self.unlogged = 0;
    }
}

/// The `subscribe` state of a connection: the events, and the one play
/// they are filtered to, if any.
pub type Events = Option<(crate::engine::Subscription, Option<String>)>;

/// The answer to a request that is not a UTF-8 line.
fn not_utf8(error: &std::str::Utf8Error) -> String {
    rpc::response(
        Value::Null,
        Err(RpcError::new(
            rpc::PARSE_ERROR,
            format!(
                "the request is not UTF-8 text (invalid byte at offset {})",
                error.valid_up_to()
            ),
        )),
    )
}

/// The answer to a request line over [`MAX_LINE`].
pub(super) fn too_long() -> String {
    rpc::response(
        Value::Null,
        Err(RpcError::new(
            rpc::INVALID_REQUEST,
            format!("request over the size limit of {} MiB", MAX_LINE >> 20),
        )),
    )
}

/// One line off the wire, without its `\n` (and a `\r` before it).
pub(super) fn line_text(line: &[u8]) -> Result<String, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match std::str::from_utf8(line) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => Err(not_utf8(&e)),
    }
}

/// The handling of one request `line`, with a panic in it answered as an
/// internal error instead of ending the connection's task: the server, the
/// connection and the plays go on.
async fn unwinding(line: &str, handling: impl Future<Output = Handled>) -> Handled {
    match AssertUnwindSafe(handling).catch_unwind().await {
        Ok(handled) => handled,
        Err(panic) => Handled::Reply(panic_answer(line, panic.as_ref())),
    }
}

/// The answer to a request whose handling panicked: an internal error under
/// its id (none for a notification), and the panic in the server's log.
pub(super) fn panic_answer(line: &str, panic: &(dyn std::any::Any + Send)) -> Option<String> {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    tracing::error!("a request panicked: {what}");
    // A request answers under its id; a notification gets no answer.
    let id = rpc::parse(line)
        .ok()
        .map_or(Some(Value::Null), |request| request.id);
    id.map(|id| {
        rpc::response(
            id,
            Err(RpcError::new(
                rpc::INTERNAL_ERROR,
                format!("internal error: {what} (a bug: please report it)"),
            )),
        )
    })
}

/// How many bytes of queued answers and events go out in one write, at
/// most (past one line): a subscriber of busy plays gets its events a
/// burst at a time, not a write each.
const WRITE_AT_ONCE: usize = 64 << 10;

/// Writes queued answers to the connection until the queue closes, and
/// returns the write half for a hand-over (none once the peer is gone).
async fn write_answers(
    mut half: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Answer>,
) -> Option<OwnedWriteHalf> {
    while let Some((mut lines, pending)) = queue.recv().await {
        let mut written = vec![pending];
        while lines.len() < WRITE_AT_ONCE {
            match queue.try_recv() {
                Ok((line, pending)) => {
                    lines.push_str(&line);
                    written.push(pending);
                }
                Err(_) => break,
            }
        }
        if half.write_all(lines.as_bytes()).await.is_err() {
            return None;
        }
        drop(written);
    }
    Some(half)
}

/// A line to write, and the request it answers (none for an event).
type Answer = (String, Option<Pending>);

impl Server {
    /// Serves one connection on a tokio task: requests in order, each
    /// answer queued for the writer task in the same order.
    pub(super) async fn connection(self: Arc<Self>, stream: UnixStream, slot: Slot) {
        let (read, write) = stream.into_split();
        let mut lines = FramedRead::new(
            read,
            AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), Vec::new(), MAX_LINE),
        );
        let (answers, queue) = mpsc::channel::<Answer>(QUEUED_ANSWERS);
        let writer = tokio::spawn(write_answers(write, queue));
        let mut events: Events = None;
        loop {
            let next_event = async {
                match events.as_mut() {
                    Some((rx, _)) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let (answer, pending) = tokio::select! {
                line = lines.next() => {
                    let pending = slot.unanswered.begin();
                    let answer = match line {
                        None | Some(Err(AnyDelimiterCodecError::Io(_))) => return,
                        Some(Err(AnyDelimiterCodecError::MaxChunkLengthExceeded)) => Some(too_long()),
                        Some(Ok(line)) => match line_text(&line) {
                            Err(refused) => Some(refused),
                            Ok(line) => match unwinding(&line, self.handle(&line, &mut events)).await {
                                Handled::Reply(reply) => reply,
                                Handled::ToThread => {
                                    drop(answers);
                                    self.to_thread(lines, writer, line).await;
                                    return;
                                }
                            },
                        },
                    };
                    (answer, Some(pending))
                },
                event = next_event => (match event {
                    Ok(event) => {
                        let wanted = events
                            .as_ref()
                            .and_then(|(_, sid)| sid.as_deref())
                            .is_none_or(|sid| sid == event.play_sid());
                        wanted.then(|| rpc::notification("event", &event))
                    }
                    Err(RecvError::Lagged(n)) => {
                        Some(rpc::notification("lagged", &json!({"missed": n})))
                    }
                    Err(RecvError::Closed) => return,
                }, None),
            };
            if let Some(mut answer) = answer {
                answer.push('\n');
                if answers.send((answer, pending)).await.is_err() {
                    return;
                }
            }
        }
    }

    /// Hands the connection to a thread of its own once every answer queued
    /// before `first` is written, with the bytes already read past `first`.
    async fn to_thread(
        self: Arc<Self>,
        lines: FramedRead<OwnedReadHalf, AnyDelimiterCodec>,
        writer: tokio::task::JoinHandle<Option<OwnedWriteHalf>>,
        first: String,
    ) {
        let Ok(Some(write)) = writer.await else {
            return;
        };
        let parts = lines.into_parts();
        let stream = match parts.io.reunite(write) {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("cannot hand an SDK connection to its thread: {e}");
                return;
            }
        };
        let mut whole =
            FramedParts::new::<String>(stream, LinesCodec::new_with_max_length(MAX_LINE));
        whole.read_buf = parts.read_buf;
        self.hand_to_thread(Framed::from_parts(whole), first);
    }
}

/// `subscribe`'s one param: the play to follow, or every play when absent
/// or null. Anything else is refused naming it, rather than read as "all".
pub fn subscribe_params(
    raw: Option<&serde_json::value::RawValue>,
) -> Result<Option<String>, RpcError> {
    let invalid = |message: String| RpcError::new(rpc::INVALID_PARAMS, message);
    let params: serde_json::Map<String, Value> = match raw.map(|p| p.get()) {
        None | Some("null") => return Ok(None),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| invalid(format!("invalid params: {e}")))?
        }
    };
    if let Some(unknown) = params.keys().find(|k| *k != "play_sid") {
        return Err(invalid(format!(
            "subscribe has no param `{unknown}`: its one param is `play_sid`"
        )));
    }
    match params.get("play_sid") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(sid)) => Ok(Some(sid.clone())),
        Some(other) => Err(invalid(format!(
            "`play_sid` must be a play's sid (a string), not {other}"
        ))
        .with_hint("leave it out to follow every play")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(handled: Handled) -> Option<Value> {
        match handled {
            Handled::Reply(reply) => reply.map(|r| serde_json::from_str(&r).expect("JSON")),
            Handled::ToThread => panic!("not handed to a thread"),
        }
    }

    #[tokio::test]
    async fn a_panic_in_a_request_is_answered_as_an_internal_error_under_its_id() {
        let line = r#"{"jsonrpc":"2.0","id":42,"method":"info"}"#;
        let reply = answer(unwinding(line, async { panic!("boom") }).await).expect("an answer");
        assert_eq!(reply["id"], json!(42));
        assert_eq!(reply["error"]["code"], json!(rpc::INTERNAL_ERROR));
        assert!(
            reply["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("boom"))
        );
    }

    #[tokio::test]
    async fn a_panic_in_a_notification_gets_no_answer() {
        let line = r#"{"jsonrpc":"2.0","method":"info"}"#;
        assert_eq!(
            answer(unwinding(line, async { panic!("boom") }).await),
            None
        );
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_parse_error_naming_the_offset() {
        let refused: Value =
            serde_json::from_str(&line_text(b"ab\xffc\r").expect_err("refused")).expect("JSON");
        assert_eq!(refused["error"]["code"], json!(rpc::PARSE_ERROR));
        assert!(
            refused["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("offset 2"))
        );
        assert_eq!(line_text(b"{}\r").as_deref(), Ok("{}"));
    }

    #[test]
    fn subscribe_params_name_what_is_wrong() {
        let raw =
            |text: &str| serde_json::value::RawValue::from_string(text.to_owned()).expect("raw");
        assert_eq!(subscribe_params(None), Ok(None));
        assert_eq!(
            subscribe_params(Some(&raw(r#"{"play_sid":"s1"}"#))),
            Ok(Some("s1".into()))
        );
        let refused = subscribe_params(Some(&raw(r#"{"play_sid":5}"#))).expect_err("refused");
        assert_eq!(refused.code, rpc::INVALID_PARAMS);
        assert!(refused.message.contains("play_sid"), "{}", refused.message);
    }
}
