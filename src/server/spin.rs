//! Waiting for a quick flow's next request without giving up the core.
//!
//! A flow whose steps are quick sends its next checkpoint very soon after
//! it was answered. A thread that sleeps in `read` for that long lets its
//! core go idle, and waking an idle core (of a virtual machine above all)
//! costs about as much again. So the connection's thread polls the socket
//! for a short while (`SPIN`) first, but only while the flow's last
//! request came within that while: a flow with slow steps costs one wasted
//! spin, and none after.
//!
//! Polling pays only while the polling thread has a core to itself: with
//! more flows running than that, it takes the cores the flows and the
//! writes need. So no connection polls while more flows are connected than
//! half the cores ([`Flows`]). A flow polls for its checkpoint's answer by
//! the same rule, and only on redb: a PostgreSQL answer is a round trip to
//! another process, which needs a core for it (a lone flow polling for it
//! was 12 % slower). The measurements behind these choices are in
//! BENCHMARKS.md.

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// How long to poll before sleeping in `read`: a few times the flow's side
/// of a quick step.
const SPIN: Duration = Duration::from_micros(200);

/// The flows connected now, against the cores.
pub struct Flows {
    live: AtomicUsize,
    cores: usize,
    /// Whether a checkpoint's answer waits only for a local fsync (redb),
    /// not for another process (PostgreSQL).
    local_store: bool,
}

impl Flows {
    pub fn new(local_store: bool) -> Flows {
        Flows {
            live: AtomicUsize::new(0),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            local_store,
        }
    }

    /// Counts a flow's connection for as long as the guard lives.
    pub fn enter(&self) -> Connected<'_> {
        self.live.fetch_add(1, Ordering::Relaxed);
        Connected(self)
    }

    /// Whether a connection's thread may poll: while every flow connected
    /// has two cores, one for it and one for its connection.
    pub fn may_poll(&self) -> bool {
        self.live.load(Ordering::Relaxed) * 2 <= self.cores
    }

    /// Whether a flow may spin for its checkpoint's answer: as its
    /// connection may poll, and only while that answer is a local fsync.
    pub fn may_spin(&self) -> bool {
        self.local_store && self.may_poll()
    }
}

pub struct Connected<'a>(&'a Flows);

impl Drop for Connected<'_> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct Spinner {
    answered: Instant,
    last_gap: Duration,
}

impl Spinner {
    pub fn new() -> Spinner {
        Spinner {
            answered: Instant::now(),
            last_gap: Duration::ZERO,
        }
    }

    /// The answer went out: the flow's turn starts now.
    pub fn answered(&mut self) {
        self.answered = Instant::now();
    }

    /// Returns once `fd` is readable, or once polling it has stopped being
    /// worth it; the caller then reads, sleeping if need be.
    pub fn wait(&self, fd: BorrowedFd<'_>, flows: &Flows) {
        if self.last_gap >= SPIN || !flows.may_poll() {
            return;
        }
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        while self.answered.elapsed() < SPIN {
            match poll(&mut fds, PollTimeout::ZERO) {
                Ok(0) => std::thread::yield_now(),
                _ => return,
            }
        }
    }

    /// The flow's next request has been read.
    pub fn arrived(&mut self) {
        self.last_gap = self.answered.elapsed();
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    /// A spinner whose flow answered within the spin last time.
    fn quick() -> Spinner {
        let mut spinner = Spinner::new();
        spinner.answered();
        spinner.arrived();
        spinner.answered();
        spinner
    }

    #[test]
    fn a_quick_flow_is_polled_for_until_the_spin_is_over() {
        let (_flow, server) = UnixStream::pair().expect("a socket pair");
        let spinner = quick();
        let flows = Flows::new(true);
        let _one = flows.enter();
        spinner.wait(server.as_fd(), &flows);
        assert!(spinner.answered.elapsed() >= SPIN);
    }

    #[test]
    fn polling_leaves_the_request_to_read() {
        let (mut flow, server) = UnixStream::pair().expect("a socket pair");
        let spinner = quick();
        flow.write_all(b"x").expect("send");
        spinner.wait(server.as_fd(), &Flows::new(true));
        let mut byte = [0];
        (&server)
            .read_exact(&mut byte)
            .expect("the request is still there");
        assert_eq!(&byte, b"x");
    }

    /// The flows of a two-core machine.
    fn two_cores(local_store: bool) -> Flows {
        Flows {
            live: AtomicUsize::new(0),
            cores: 2,
            local_store,
        }
    }

    #[test]
    fn nobody_polls_with_more_flows_than_half_the_cores() {
        let flows = two_cores(true);
        let first = flows.enter();
        assert!(flows.may_poll() && flows.may_spin());
        let second = flows.enter();
        assert!(!flows.may_poll() && !flows.may_spin());
        drop(second);
        assert!(flows.may_poll());
        drop(first);
    }

    #[test]
    fn a_flow_never_spins_for_an_answer_from_another_process() {
        let flows = two_cores(false);
        let _one = flows.enter();
        assert!(flows.may_poll(), "its connection still polls");
        assert!(!flows.may_spin());
    }
}
