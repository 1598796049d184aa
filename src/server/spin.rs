//! Waiting for a quick flow's next request without giving up the core.
//!
//! A flow whose steps are quick sends its next checkpoint some tens of
//! microseconds after it was answered. A thread that sleeps in `read` for
//! that long lets its core go idle, and waking an idle core of a virtual
//! machine costs about as much again: measured, a step took 35 µs longer
//! (of 300) without the spin. So the connection's thread polls the socket
//! for a short while first, but only while the flow's last request came
//! within that while: a flow with slow steps costs one wasted spin, and
//! none after.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// How long to poll before sleeping in `read`: a few times the flow's side
/// of a quick step.
const SPIN: Duration = Duration::from_micros(200);

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
    pub fn wait(&self, fd: BorrowedFd<'_>) {
        if self.last_gap >= SPIN {
            return;
        }
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        while self.answered.elapsed() < SPIN {
            match poll(&mut fds, PollTimeout::ZERO) {
                Ok(0) => std::hint::spin_loop(),
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
        spinner.wait(server.as_fd());
        assert!(spinner.answered.elapsed() >= SPIN);
    }

    #[test]
    fn polling_leaves_the_request_to_read() {
        let (mut flow, server) = UnixStream::pair().expect("a socket pair");
        let spinner = quick();
        flow.write_all(b"x").expect("send");
        spinner.wait(server.as_fd());
        let mut byte = [0];
        (&server)
            .read_exact(&mut byte)
            .expect("the request is still there");
        assert_eq!(&byte, b"x");
    }
}
