//! A run's own channel (SPEC §4): the secret token each run is given, and
//! the binding of a connection that presents it to that play and run.
//!
//! The runner opens a channel before it starts a run's process and hands the
//! token to it in its environment; the channel closes when the run's process
//! has ended ([`RunToken`]'s drop). A connection attaches once, with the
//! token, and from then on carries SDK messages for that play and run only:
//! every message is checked against the binding it holds, with no lookup and
//! no lock. Only a digest of each token is kept, so a token never sits in
//! the server's memory or logs once the run has it.
//!
//! This module does not know the wire: the server maps [`AttachError`] and
//! the checks' [`EngineError`]s to JSON-RPC errors.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sha1::{Digest, Sha1};

use super::{Engine, EngineError, Result, lock};

/// Bytes of randomness in a token: 128 bits from the OS.
const TOKEN_BYTES: usize = 16;

/// The digest a token is known by.
type TokenDigest = [u8; 20];

fn digest(token: &str) -> TokenDigest {
    Sha1::digest(token.as_bytes()).into()
}

/// The channels of the runs alive now, by token digest.
#[derive(Default)]
pub(super) struct Channels {
    open: Mutex<HashMap<TokenDigest, Arc<RunChannel>>>,
}

/// What a connection attached to a run may write into: that play, that run,
/// while the run lives.
#[derive(Debug)]
pub struct RunChannel {
    play_sid: String,
    run: u32,
    /// False once the run's process has ended: its token is then useless,
    /// and a connection still attached with it can write nothing more.
    live: AtomicBool,
    /// Whether a connection holds the channel now: one at a time, so that
    /// connection threads are bounded by the runs alive.
    attached: AtomicBool,
}

impl RunChannel {
    pub fn play_sid(&self) -> &str {
        &self.play_sid
    }

    pub fn run(&self) -> u32 {
        self.run
    }

    /// Refuses a message once the run has ended, and one that names another
    /// play or run than this channel's (a message that names none is this
    /// run's).
    pub fn check(&self, play_sid: Option<&str>, run: Option<u32>) -> Result<()> {
        if let Some(other) = play_sid.filter(|sid| *sid != self.play_sid) {
            return Err(EngineError::InvalidParams(format!(
                "this connection carries run {} of play {}: a message for play {other} is refused",
                self.run, self.play_sid
            ))
            .with_hint("a run writes only into its own play"));
        }
        if let Some(other) = run.filter(|run| *run != self.run) {
            return Err(EngineError::InvalidParams(format!(
                "this connection carries run {} of play {}: a message for run {other} is refused",
                self.run, self.play_sid
            )));
        }
        if !self.live.load(Ordering::Acquire) {
            return Err(EngineError::WrongState(format!(
                "run {} of play {} has ended: its channel takes no more messages",
                self.run, self.play_sid
            )));
        }
        Ok(())
    }
}

/// A run's token, held by the runner while the run's process lives; the
/// channel closes when it is dropped.
pub struct RunToken {
    secret: String,
    digest: TokenDigest,
    channel: Arc<RunChannel>,
    engine: Engine,
}

impl RunToken {
    /// The secret to hand to the run's process, and to no one else.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl std::fmt::Debug for RunToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunToken")
            .field("play_sid", &self.channel.play_sid)
            .field("run", &self.channel.run)
            .finish_non_exhaustive()
    }
}

impl Drop for RunToken {
    fn drop(&mut self) {
        self.channel.live.store(false, Ordering::Release);
        lock(&self.engine.inner.channels.open).remove(&self.digest);
    }
}

/// A connection's hold on a run's channel; dropping it (the connection
/// ended) lets another connection attach with the same token.
#[derive(Debug)]
pub struct Attached(Arc<RunChannel>);

impl std::ops::Deref for Attached {
    type Target = RunChannel;

    fn deref(&self) -> &RunChannel {
        &self.0
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.0.attached.store(false, Ordering::Release);
    }
}

/// Why a token was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    #[error("unknown run token, or its run has ended")]
    Unknown,
    #[error("another connection is attached with this run's token")]
    Busy,
}

impl Engine {
    /// Opens the channel of a run that is about to start.
    pub(super) fn open_channel(&self, play_sid: &str, run: u32) -> Result<RunToken> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| {
            EngineError::Internal(format!("no randomness from the OS for a run token: {e}"))
        })?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let digest = digest(&secret);
        let channel = Arc::new(RunChannel {
            play_sid: play_sid.to_owned(),
            run,
            live: AtomicBool::new(true),
            attached: AtomicBool::new(false),
        });
        lock(&self.inner.channels.open).insert(digest, channel.clone());
        Ok(RunToken {
            secret,
            digest,
            channel,
            engine: self.clone(),
        })
    }

    /// Whether `token` would attach now: what lets a connection move to a
    /// thread of its own before it attaches there.
    pub fn may_attach(&self, token: &str) -> std::result::Result<(), AttachError> {
        match lock(&self.inner.channels.open).get(&digest(token)) {
            None => Err(AttachError::Unknown),
            Some(channel) if channel.attached.load(Ordering::Acquire) => Err(AttachError::Busy),
            Some(_) => Ok(()),
        }
    }

    /// Binds a connection to the run whose token it presents.
    pub fn attach(&self, token: &str) -> std::result::Result<Attached, AttachError> {
        let channel = lock(&self.inner.channels.open)
            .get(&digest(token))
            .cloned()
            .ok_or(AttachError::Unknown)?;
        if channel.attached.swap(true, Ordering::AcqRel) {
            return Err(AttachError::Busy);
        }
        Ok(Attached(channel))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A live channel, as the runner opens one, for checks without an engine.
    pub(crate) fn channel(play_sid: &str, run: u32) -> RunChannel {
        RunChannel {
            play_sid: play_sid.to_owned(),
            run,
            live: AtomicBool::new(true),
            attached: AtomicBool::new(false),
        }
    }

    #[test]
    fn a_channel_takes_its_own_play_and_run_only_while_the_run_lives() {
        let c = channel("p1", 2);
        c.check(None, None).expect("no names: the channel's own");
        c.check(Some("p1"), Some(2)).expect("its own play and run");
        let other_play = c.check(Some("p2"), Some(2)).expect_err("another play");
        assert!(matches!(other_play.kind(), EngineError::InvalidParams(_)));
        assert!(other_play.to_string().contains("p2"), "{other_play}");
        assert!(c.check(Some("p1"), Some(1)).is_err(), "an earlier run");
        c.live.store(false, Ordering::Release);
        let ended = c.check(None, None).expect_err("the run ended");
        assert!(matches!(ended, EngineError::WrongState(_)), "{ended}");
    }
}
