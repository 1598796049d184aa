//! The fork server: one `python -m hero_tracing zygote` kept started, which
//! has imported the SDK (and `HERO_LOGIC_PRELOAD`) and forks a fresh child
//! per run, so that a run skips the interpreter's start.
//!
//! The runner talks to it over a `SOCK_SEQPACKET` socket pair (its stdin).
//! The zygote forks each run's child ahead of it (a spare) and hands the
//! server the spare's own socket; the server sends the run's request to
//! the spare itself, so the zygote's wake-up is off the run's start, then
//! tells the zygote which run that spare took (with no spare at hand, the
//! request goes to the zygote, which forks the child then). A run's
//! request carries the write ends of the run's stdout and stderr
//! pipes (SCM_RIGHTS), made here, so the server owns the read ends from the
//! start and a child never opens anything by name, and the child's end of
//! the run's own "go" socket pair, holding one byte. The child sends its
//! pid once it leads its own session and process group, then reads the
//! byte and runs; a fork whose pid does not come in time has its byte taken
//! back by the server (unless the child took it first: then it runs, and
//! its pid is on its way), sees the socket closed and exits: a run is never
//! served twice. As it exits, the child writes its exit code on that
//! socket, which ends the run at once; the zygote reaps it and sends its
//! raw wait status, which becomes the same `ExitStatus` a cold run's `wait`
//! gives, for a run that died without telling. (The protocol is in
//! `sdk/python/hero_tracing/_zygote.py`.)
//!
//! Invariants: a run never waits on the zygote longer than a cold start
//! takes (the last boot of a zygote measures it): past it, the run starts
//! cold, and a zygote that did not answer a fork in that time is killed and
//! replaced. A spare's socket is the server's alone; it is closed when the
//! zygote is gone (watched through a pidfd, since its children hold its
//! socket too), and the spare then exits. A run whose zygote died before
//! reporting its status ends when its process does (watched through a
//! pidfd), and its outcome is what its SDK reported.

use std::collections::HashMap;
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, recv, sendmsg, socketpair,
};
use nix::unistd::Pid;
use tokio::io::Interest;
use tokio::net::UnixStream;
use tokio::sync::{Notify, oneshot, watch};

use super::lock;
use super::runner::{LogPipe, RunChild, RunSpec, base_command};

/// The shortest a run waits on the zygote, however quick its last boot:
/// below it, a busy machine's scheduling alone would send runs cold.
const MIN_WAIT: Duration = Duration::from_millis(100);

/// The longest a run waits for a spare the zygote is forking (see
/// [`Zygote::spare`]): a few times a fork's.
const SPARE_WAIT: Duration = Duration::from_millis(5);

/// What a run waits before the first zygote has measured a boot.
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// How long runs start cold after a zygote died before it could fork.
const BACKOFF: Duration = Duration::from_secs(10);

/// A zygote still not ready this long after it started is taken to be stuck
/// (generous: `HERO_LOGIC_PRELOAD` may name heavy modules).
const BOOT_LIMIT: Duration = Duration::from_secs(60);

/// The largest message the zygote sends: a pid or a status.
const MAX_REPLY: usize = 4096;

/// What the server was told to start the zygote with.
pub struct ForkConfig {
    pub python: PathBuf,
    pub cwd: PathBuf,
    pub pythonpath: String,
    /// Modules the zygote imports before it forks (`HERO_LOGIC_PRELOAD`).
    pub preload: Vec<String>,
}

/// The engine's fork server: the live zygote, replaced when it dies.
pub struct ForkServer {
    config: ForkConfig,
    current: Mutex<Option<Arc<Zygote>>>,
    /// The last zygote's boot, in microseconds: what a cold start costs.
    boot_us: Arc<AtomicU64>,
    /// When a zygote last failed to become ready, holding off the next.
    failed_at: Mutex<Option<Instant>>,
}

impl ForkServer {
    pub fn new(config: ForkConfig) -> ForkServer {
        ForkServer {
            config,
            current: Mutex::default(),
            boot_us: Arc::new(AtomicU64::new(0)),
            failed_at: Mutex::default(),
        }
    }

    /// Starts a zygote unless a live one is there (or one just failed).
    pub fn warm(&self) {
        let _ = self.live();
    }

    /// How long a run may wait on the zygote: a cold start's time.
    fn patience(&self) -> Duration {
        match self.boot_us.load(Ordering::Relaxed) {
            0 => FIRST_WAIT,
            us => Duration::from_micros(us).max(MIN_WAIT),
        }
    }

    fn live(&self) -> Option<Arc<Zygote>> {
        let mut current = lock(&self.current);
        if let Some(zygote) = current.as_ref() {
            let state = *zygote.state.borrow();
            match state {
                State::Booting if zygote.started.elapsed() > BOOT_LIMIT => {
                    tracing::warn!(
                        "the fork server is not ready {} s after it started: replacing it",
                        BOOT_LIMIT.as_secs()
                    );
                    zygote.kill();
                    *lock(&self.failed_at) = Some(Instant::now());
                }
                State::Dead if !zygote.was_ready() => {
                    *lock(&self.failed_at) = Some(Instant::now());
                }
                State::Dead => {}
                State::Booting | State::Ready => return Some(zygote.clone()),
            }
            *current = None;
        }
        if lock(&self.failed_at).is_some_and(|at| at.elapsed() < BACKOFF) {
            return None;
        }
        match Zygote::spawn(&self.config, self.boot_us.clone()) {
            Ok(zygote) => {
                let zygote = Arc::new(zygote);
                *current = Some(zygote.clone());
                Some(zygote)
            }
            Err(e) => {
                tracing::warn!("no fork server, runs start cold: {e}");
                *lock(&self.failed_at) = Some(Instant::now());
                None
            }
        }
    }

    /// Forks the run from the zygote; `None` when the run must start cold
    /// (no zygote ready in time, or it failed to fork).
    /// `busy`: other runs are queued or running, so the next start will
    /// not wait for this run to end (the zygote then forks the next spare
    /// at once; see `_fork_spare` in `_zygote.py`).
    pub async fn start(&self, spec: &RunSpec, busy: bool) -> Option<RunChild> {
        let zygote = self.live()?;
        let patience = self.patience();
        match zygote.fork(spec, patience, busy).await {
            Ok(child) => Some(child),
            Err(Refusal::NotReady) => None,
            Err(Refusal::Broken(why)) => {
                tracing::warn!("the fork server failed a run, which starts cold: {why}");
                self.retire(&zygote);
                self.warm();
                None
            }
        }
    }

    /// Kills a zygote that failed, so that the next run starts another
    /// (after a while, when this one never became ready).
    fn retire(&self, zygote: &Arc<Zygote>) {
        let mut current = lock(&self.current);
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, zygote)) {
            *current = None;
        }
        if !zygote.was_ready() {
            *lock(&self.failed_at) = Some(Instant::now());
        }
        zygote.kill();
    }

    /// Kills the zygote (the server is stopping); its runs live on until
    /// their own process groups are killed.
    pub fn kill(&self) {
        if let Some(zygote) = lock(&self.current).take() {
            zygote.kill();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Booting,
    Ready,
    Dead,
}

enum Refusal {
    /// Still booting when the run's patience ran out: start it cold.
    NotReady,
    /// Dead, or did not fork in time: replace it.
    Broken(String),
}

/// A forked run, as the zygote reported it.
struct Forked {
    pid: i32,
    status: oneshot::Receiver<i32>,
    pidfd: Option<OwnedFd>,
}

#[derive(Default)]
struct Pending {
    next_id: u64,
    forks: HashMap<u64, oneshot::Sender<Result<Forked, String>>>,
    exits: HashMap<u64, oneshot::Sender<i32>>,
    /// The zygote's latest spare: its pid and the socket to hand it a run
    /// on. Dropped (the spare then exits) with the zygote.
    spare: Option<(i32, OwnedFd)>,
}

struct Zygote {
    pid: u32,
    ctl: Arc<UnixStream>,
    pending: Arc<Mutex<Pending>>,
    /// Told when the zygote hands over a spare.
    spare_arrived: Arc<Notify>,
    state: watch::Receiver<State>,
    /// Whether it ever became ready: one that died before is not started
    /// again at once (see [`BACKOFF`]).
    was_ready: Arc<AtomicBool>,
    started: Instant,
    _process: tokio::process::Child,
}

impl Zygote {
    fn spawn(config: &ForkConfig, boot_us: Arc<AtomicU64>) -> std::io::Result<Zygote> {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        let flags = nix::fcntl::fcntl(&ours, nix::fcntl::FcntlArg::F_GETFL)?;
        nix::fcntl::fcntl(
            &ours,
            nix::fcntl::FcntlArg::F_SETFL(
                nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK,
            ),
        )?;
        let mut command = base_command(&config.python, &config.cwd, &config.pythonpath);
        command
            .arg("zygote")
            .arg(config.preload.join(","))
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let started = Instant::now();
        let process = command.spawn()?;
        let pid = process.id().unwrap_or(0);
        let ctl = Arc::new(UnixStream::from_std(std::os::unix::net::UnixStream::from(
            ours,
        ))?);
        let pending = Arc::new(Mutex::new(Pending::default()));
        let (state_tx, state) = watch::channel(State::Booting);
        let was_ready = Arc::new(AtomicBool::new(false));
        // `AsyncFd::new` is deprecated for types whose descriptor may change
        // under it; an `OwnedFd` cannot, and `register` is `unsafe`.
        #[allow(deprecated)]
        let exited = pidfd_open(pid as i32).and_then(|fd| tokio::io::unix::AsyncFd::new(fd).ok());
        let spare_arrived = Arc::new(Notify::new());
        tokio::spawn(read_replies(
            ctl.clone(),
            pending.clone(),
            spare_arrived.clone(),
            exited,
            Booted {
                state: state_tx,
                started,
                boot_us,
                was_ready: was_ready.clone(),
            },
        ));
        Ok(Zygote {
            pid,
            ctl,
            pending,
            spare_arrived,
            state,
            was_ready,
            started,
            _process: process,
        })
    }

    fn was_ready(&self) -> bool {
        self.was_ready.load(Ordering::Relaxed)
    }

    fn kill(&self) {
        if self.pid > 0 {
            let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
        }
    }

    async fn fork(
        &self,
        spec: &RunSpec,
        patience: Duration,
        busy: bool,
    ) -> Result<RunChild, Refusal> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut state = self.state.clone();
        match tokio::time::timeout_at(deadline, state.wait_for(|s| *s != State::Booting)).await {
            Ok(Ok(s)) if *s == State::Ready => {}
            Ok(_) => return Err(Refusal::Broken("it ended".into())),
            Err(_) => return Err(Refusal::NotReady),
        }
        let broken = |e: std::io::Error| Refusal::Broken(e.to_string());
        let (out_r, out_w) = std::io::pipe().map_err(broken)?;
        let (err_r, err_w) = std::io::pipe().map_err(broken)?;
        // The child reads a byte on this socket before it runs anything.
        // The byte is there from the start, so a run does not wait for its
        // pid to travel here and "go" to travel back; a fork given up on
        // has it taken back through `go_back` (if the child has not taken
        // it already), then sees the socket closed and exits, so two
        // processes never serve one run.
        let (mut go_ours, go_theirs) = std::os::unix::net::UnixStream::pair().map_err(broken)?;
        {
            use std::io::Write;
            go_ours.write_all(b"g").map_err(broken)?;
        }
        let go_back = go_theirs.try_clone().map_err(broken)?;
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut pending = lock(&self.pending);
            pending.next_id += 1;
            let id = pending.next_id;
            pending.forks.insert(id, tx);
            id
        };
        let env: serde_json::Map<String, serde_json::Value> = spec
            .env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
            .collect();
        let message =
            serde_json::json!({"id": id, "env": env, "file": spec.script, "cwd": spec.cwd, "busy": busy})
                .to_string();
        let fds = [out_w.as_raw_fd(), err_w.as_raw_fd(), go_theirs.as_raw_fd()];
        // Straight to the spare when there is one: the zygote's wake-up and
        // its work (page faults of its own after each fork) are then off
        // the run's start. It hears which spare took which run after.
        let spare = self.spare(id, deadline).await;
        let handed = spare.and_then(|(pid, socket)| {
            sendmsg::<()>(
                socket.as_raw_fd(),
                &[IoSlice::new(message.as_bytes())],
                &[ControlMessage::ScmRights(&fds)],
                MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
                None,
            )
            .ok()
            .map(|_| pid)
        });
        let (to_zygote, with_fds): (String, &[std::os::fd::RawFd]) = match handed {
            Some(pid) => (
                serde_json::json!({"took": pid, "id": id, "file": spec.script, "busy": busy})
                    .to_string(),
                &[],
            ),
            None => (message, &fds),
        };
        let sent = tokio::time::timeout_at(deadline, async {
            loop {
                self.ctl.writable().await?;
                let sent = self.ctl.try_io(Interest::WRITABLE, || {
                    let rights = [ControlMessage::ScmRights(with_fds)];
                    sendmsg::<()>(
                        self.ctl.as_raw_fd(),
                        &[IoSlice::new(to_zygote.as_bytes())],
                        if with_fds.is_empty() { &[] } else { &rights },
                        MsgFlags::MSG_NOSIGNAL,
                        None,
                    )
                    .map_err(std::io::Error::from)
                });
                match sent {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    result => return result,
                }
            }
        })
        .await;
        drop((out_w, err_w, go_theirs));
        let forget = || {
            lock(&self.pending).forks.remove(&id);
        };
        match sent {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                forget();
                return Err(broken(e));
            }
            Err(_) => {
                forget();
                return Err(Refusal::Broken("it took no request in time".into()));
            }
        }
        let mut rx = rx;
        let reply = match tokio::time::timeout_at(deadline, &mut rx).await {
            Ok(reply) => reply,
            Err(_) if !take_back(&go_back) => {
                // The child took its "go" and runs: it sent its pid first,
                // so the pid is on its way.
                rx.await
            }
            Err(_) => {
                forget();
                return Err(Refusal::Broken(format!(
                    "it did not fork within {} ms, a cold start's time",
                    patience.as_millis()
                )));
            }
        };
        drop(go_back);
        let forked = match reply {
            Ok(Ok(forked)) => forked,
            Ok(Err(why)) => return Err(Refusal::Broken(why)),
            Err(_) => return Err(Refusal::Broken("it ended".into())),
        };
        let pipe = |r: std::io::PipeReader| -> Result<LogPipe, Refusal> {
            let receiver = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(r))
                .map_err(broken)?;
            Ok(Box::new(receiver))
        };
        let (stdout, stderr) = (pipe(out_r)?, pipe(err_r)?);
        go_ours.set_nonblocking(true).map_err(broken)?;
        let told = UnixStream::from_std(go_ours).map_err(broken)?;
        Ok(RunChild::forked(
            forked.pid,
            Box::pin(wait_forked(forked.status, forked.pidfd, told)),
            stdout,
            stderr,
        ))
    }

    /// The spare to hand run `id` to. When the zygote has no run of ours
    /// alive and no other fork under way, it is forking its spare right
    /// now (the last run ended; see `_fork_spare`): waiting for it, up to
    /// [`SPARE_WAIT`], beats asking the zygote, which would fork another
    /// child only once that spare is done. Otherwise none comes soon.
    async fn spare(&self, id: u64, deadline: tokio::time::Instant) -> Option<(i32, OwnedFd)> {
        let wait_until = deadline.min(tokio::time::Instant::now() + SPARE_WAIT);
        loop {
            let arrived = self.spare_arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut pending = lock(&self.pending);
                if let Some(spare) = pending.spare.take() {
                    return Some(spare);
                }
                let coming = pending.exits.is_empty() && pending.forks.keys().all(|k| *k == id);
                if !coming {
                    return None;
                }
            }
            if tokio::time::timeout_at(wait_until, arrived).await.is_err() {
                return None;
            }
        }
    }
}

/// Takes a fork's "go" byte back unless its child took it already; whether
/// it was taken back (the child will then never run).
fn take_back(go_back: &std::os::unix::net::UnixStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        recv(go_back.as_raw_fd(), &mut byte, MsgFlags::MSG_DONTWAIT),
        Ok(1)
    )
}

/// The exit code a forked run wrote on its "go" socket as it exited, with
/// its stdout and stderr closed and nothing left to do but `_exit`; `None`
/// when it ended without telling (a signal, `os._exit` in the flow).
async fn told_exit(mut go: UnixStream) -> Option<i32> {
    use tokio::io::AsyncReadExt;
    let mut told = Vec::new();
    let mut byte = [0u8; 1];
    while told.len() < 4 {
        match go.read(&mut byte).await {
            Ok(1) if byte[0] == b'\n' => return std::str::from_utf8(&told).ok()?.parse().ok(),
            Ok(1) => told.push(byte[0]),
            _ => return None,
        }
    }
    None
}

/// The forked run's exit status, or `None` when its zygote died before
/// reporting it: then the run has ended once its process has. The code the
/// run told as it exited comes first, a millisecond or so before the
/// zygote could report the same: whatever happens after it (a signal in
/// the last instant) changes nothing of the run.
async fn wait_forked(
    mut status: oneshot::Receiver<i32>,
    pidfd: Option<OwnedFd>,
    go: UnixStream,
) -> std::io::Result<Option<ExitStatus>> {
    use std::os::unix::process::ExitStatusExt;
    let status = tokio::select! {
        biased;
        raw = &mut status => raw,
        Some(code) = told_exit(go) => {
            // Nothing is left of the run but its exit; a process that told
            // it and went on (flow code that wrote on the socket) is held
            // to its word. Through the pidfd: its pid may be reaped and
            // reused any moment now.
            if let Some(pidfd) = &pidfd {
                let _ = rustix::process::pidfd_send_signal(pidfd, rustix::process::Signal::KILL);
            }
            return Ok(Some(ExitStatus::from_raw((code & 0xff) << 8)));
        }
    };
    if let Ok(raw) = status {
        return Ok(Some(ExitStatus::from_raw(raw)));
    }
    if let Some(pidfd) = pidfd {
        // Rare (a zygote killed under its runs): a blocking wait on a
        // thread of its own is simpler than registering the pidfd.
        tokio::task::spawn_blocking(move || {
            use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
            let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
            while let Err(nix::errno::Errno::EINTR) = poll(&mut fds, PollTimeout::NONE) {}
        })
        .await
        .map_err(std::io::Error::other)?;
    }
    Ok(None)
}

/// A pidfd of `pid`, to see it end when its zygote no longer can tell.
fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(pid)?;
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
}

/// Where the reader tells how the zygote's boot went.
struct Booted {
    state: watch::Sender<State>,
    started: Instant,
    boot_us: Arc<AtomicU64>,
    was_ready: Arc<AtomicBool>,
}

/// One message from the zygote or a child into `buf`; a descriptor passed
/// with it (a spare's socket) into `passed`. Its length.
fn receive(
    ctl: std::os::fd::BorrowedFd<'_>,
    buf: &mut [u8],
    passed: &mut Option<OwnedFd>,
) -> std::io::Result<usize> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, recvmsg};
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let message = recvmsg(ctl, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)?;
    for cmsg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = cmsg {
            for fd in fds {
                passed.get_or_insert(fd);
            }
        }
    }
    Ok(message.bytes)
}

/// Reads what the zygote and its children send, until the zygote is gone.
///
/// Its children hold its socket too (a spare until it runs, a run until it
/// has sent its pid), so its own end is watched through `exited`, a pidfd:
/// once it is gone, its spare's socket is closed (the spare exits), and no
/// run is sent its way.
async fn read_replies(
    ctl: Arc<UnixStream>,
    pending: Arc<Mutex<Pending>>,
    spare_arrived: Arc<Notify>,
    mut exited: Option<tokio::io::unix::AsyncFd<OwnedFd>>,
    booted: Booted,
) {
    let mut buf = vec![0u8; MAX_REPLY];
    loop {
        let mut passed: Option<OwnedFd> = None;
        let ready = tokio::select! {
            ready = ctl.readable() => ready,
            _ = async { exited.as_ref()?.readable().await.ok() }, if exited.is_some() => {
                exited = None;
                lock(&pending).spare = None;
                booted.state.send_replace(State::Dead);
                continue;
            }
        };
        let read = match ready {
            Ok(()) => ctl.try_io(Interest::READABLE, || {
                receive(ctl.as_fd(), &mut buf, &mut passed)
            }),
            Err(e) => Err(e),
        };
        let n = match read {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("the fork server's socket failed: {e}");
                break;
            }
        };
        let Ok(reply) = serde_json::from_slice::<serde_json::Value>(&buf[..n]) else {
            tracing::warn!("the fork server sent what is not JSON; replacing it");
            break;
        };
        let id = reply["id"].as_u64();
        if let (Some(pid), Some(socket)) = (reply["spare"].as_i64(), passed.take()) {
            lock(&pending).spare = Some((pid as i32, socket));
            spare_arrived.notify_waiters();
        } else if reply["ready"] == true {
            let boot = booted.started.elapsed().as_micros() as u64;
            booted.boot_us.store(boot, Ordering::Relaxed);
            booted.was_ready.store(true, Ordering::Relaxed);
            booted.state.send_replace(State::Ready);
        } else if let (Some(id), Some(pid)) = (id, reply["pid"].as_i64()) {
            let pid = pid as i32;
            let (status_tx, status) = oneshot::channel();
            let mut pending = lock(&pending);
            pending.exits.insert(id, status_tx);
            let forked = Forked {
                pid,
                status,
                pidfd: pidfd_open(pid),
            };
            let taken = pending
                .forks
                .remove(&id)
                .is_some_and(|waiter| waiter.send(Ok(forked)).is_ok());
            if !taken {
                // Nobody waits for it any more: its run started cold.
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
        } else if let (Some(id), Some(status)) = (id, reply["status"].as_i64()) {
            let mut pending = lock(&pending);
            if let Some(waiter) = pending.exits.remove(&id) {
                let _ = waiter.send(status as i32);
            } else if let Some(waiter) = pending.forks.remove(&id) {
                let _ = waiter.send(Err(format!(
                    "its child ended (wait status {status}) before it could start the run"
                )));
            }
        }
    }
    let mut pending = lock(&pending);
    pending.forks.clear();
    pending.exits.clear();
    pending.spare = None;
    booted.state.send_replace(State::Dead);
}
