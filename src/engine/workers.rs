//! Several servers on one PostgreSQL database (SPEC §12): this server as
//! one worker among them.
//!
//! - At start it takes back the plays it held before it stopped (a worker
//!   is its data folder) and any whose lease ran out.
//! - A heartbeat, three times a lease, renews what it holds, kills the runs
//!   of plays another worker took over while this one was away (a paused
//!   process, a partition), and takes over plays whose lease ran out: their
//!   worker died, so they run again here from their checkpoints.
//! - A listener hears, through `LISTEN/NOTIFY`, every play another worker
//!   changed, and publishes it here, so `play_wait` and `subscribe` wake
//!   whichever server their client talks to; a run of a play that ended
//!   elsewhere (a cancel) is killed, and a timer set elsewhere is known.
//!
//! Invariant: a run's writes are fenced by its run number, checked with the
//! play's row locked (see `store/pg/tx.rs`), so whatever this module is late
//! to notice, a worker that lost a play never writes into its new run.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;

use super::{Engine, EngineError, Result, Settled, lock, runner};
use crate::model::{PlayEvent, Worker};
use crate::store::Backend;
use crate::store::pg::Pg;

/// The channel every play change is announced on.
const CHANNEL: &str = "hero_logic_play";
/// How long the listener waits before connecting again after it lost its
/// connection.
const RECONNECT: Duration = Duration::from_secs(1);

impl Engine {
    fn pg(&self) -> Option<&Arc<Pg>> {
        match self.store() {
            Backend::Postgres(pg) => Some(pg),
            Backend::Redb(_) => None,
        }
    }

    /// Enters this server among the workers and takes back the plays it
    /// held, plus those whose lease ran out; `None` on the embedded store,
    /// where every play is this server's.
    pub(super) fn recover_as_worker(&self) -> Option<Result<()>> {
        let pg = self.pg()?.clone();
        Some((|| {
            pg.register()?;
            for claimed in pg.claim(true)? {
                if claimed.was_ours
                    && let Some(pgid) = self.play_snapshot(&claimed.sid)?.run_pgid
                {
                    runner::kill_leftover(pgid);
                }
                tracing::info!("recovering play {}", claimed.sid);
                self.schedule(&claimed.sid);
            }
            self.start_heartbeat(pg.clone());
            self.start_listener(pg);
            Ok(())
        })())
    }

    fn start_heartbeat(&self, pg: Arc<Pg>) {
        let engine = self.clone();
        let every = pg
            .worker()
            .map_or(Duration::from_secs(5), |w| w.lease / 3)
            .max(Duration::from_millis(100));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if engine.inner.shutting_down.load(Ordering::SeqCst) {
                    return;
                }
                if let Err(e) = engine.beat(&pg) {
                    tracing::error!("worker heartbeat: {e}");
                }
            }
        });
    }

    fn beat(&self, pg: &Pg) -> Result<()> {
        let local: Vec<String> = lock(&self.inner.running).keys().cloned().collect();
        for sid in pg.heartbeat(&local)? {
            tracing::warn!("play {sid} was taken over by another worker: killing its run here");
            self.kill_local_run(&sid);
        }
        for claimed in pg.claim(false)? {
            tracing::info!(
                "taking over play {}: its worker's lease ran out",
                claimed.sid
            );
            self.schedule(&claimed.sid);
        }
        Ok(())
    }

    fn kill_local_run(&self, sid: &str) {
        if let Some(handle) = lock(&self.inner.running).get(sid) {
            handle.kill();
        }
    }

    fn start_listener(&self, pg: Arc<Pg>) {
        let engine = self.clone();
        tokio::spawn(async move {
            while !engine.inner.shutting_down.load(Ordering::SeqCst) {
                if let Err(e) = engine.listen(&pg).await {
                    tracing::error!("listening for other workers' changes: {e}");
                }
                tokio::time::sleep(RECONNECT).await;
            }
        });
    }

    /// Hears every play change until the connection is lost.
    async fn listen(&self, pg: &Pg) -> std::result::Result<(), tokio_postgres::Error> {
        let (client, mut connection) =
            tokio_postgres::connect(pg.url(), tokio_postgres::NoTls).await?;
        let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(n)) => {
                        let _ = tx.send((n.process_id(), n.payload().to_owned()));
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        self.heard_nothing_for_a_while();
        while let Some((from, sid)) = heard.recv().await {
            if from != pg.writer_pid() {
                self.heard_of(&sid);
            }
        }
        driver.await.unwrap_or(Ok(()))
    }

    /// Listening (again): what other workers changed before, while nobody
    /// here listened (a database restart, a dropped connection), was never
    /// heard. So every `play_wait` and schedule waiting on a play looks
    /// again, every subscriber hears `lagged` (and reads what it shows
    /// again), the timers are read again, and a run here whose play
    /// another worker ended (cancelled, say) is killed, as
    /// [`Engine::heard_of`] would have.
    fn heard_nothing_for_a_while(&self) {
        let _ = self.inner.settled.send(Settled::Any);
        self.inner.unheard.send_modify(|spells| *spells += 1);
        self.timers_changed();
        let local: Vec<String> = lock(&self.inner.running).keys().cloned().collect();
        for sid in local {
            if self
                .store()
                .play(&sid)
                .is_ok_and(|play| play.is_some_and(|p| p.is_terminal()))
            {
                self.kill_local_run(&sid);
            }
        }
    }

    /// Another worker changed play `sid`.
    fn heard_of(&self, sid: &str) {
        let play = match self.store().play(sid) {
            Ok(Some(play)) => play,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("cannot read play {sid}, changed by another worker: {e}");
                return;
            }
        };
        if play.is_terminal() {
            self.kill_local_run(sid);
        }
        for due in play.pending_resumes.iter().filter_map(|r| r.due_at()) {
            self.timer_added(due);
        }
        self.publish(PlayEvent::Play {
            play: Box::new(play),
        });
    }

    /// The servers sharing the store, with the plays each runs now.
    pub fn workers(&self) -> Result<Vec<Worker>> {
        match self.pg() {
            Some(pg) => Ok(pg.workers()?),
            None => {
                let mut runs: Vec<String> = lock(&self.inner.running).keys().cloned().collect();
                runs.sort();
                let started =
                    jiff::Timestamp::now() - jiff::SignedDuration::from_secs_f64(self.uptime_s());
                let data_dir = &self.inner.config.data_dir;
                let id = crate::store::pg::local_worker_id(data_dir).map_err(|e| {
                    EngineError::Internal(format!(
                        "cannot name this worker in {}: {e}",
                        data_dir.display()
                    ))
                })?;
                Ok(vec![Worker {
                    id,
                    host: crate::store::pg::host_name(),
                    pid: std::process::id(),
                    started_at: started.to_string(),
                    heartbeat_at: crate::model::now(),
                    runs,
                }])
            }
        }
    }
}
