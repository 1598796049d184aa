//! The terminal, the threads that feed the state, and the effects carried
//! out against the server.
//!
//! One channel carries everything that can change the screen: key presses
//! and resizes from an input thread, and the server's pushed events from a
//! subscription thread. The main thread blocks on it — no polling — and
//! redraws after each batch, at most once a frame; a clock tick wakes it
//! only while something on screen counts up. ratatui diffs frames, so an
//! unchanged screen writes nothing to the terminal.
//!
//! The input thread reads one event and then waits for the main thread to
//! finish with it. That is what lets the answer prompt leave the dashboard
//! and read the keyboard itself: while it runs, nobody else is reading.

use std::collections::VecDeque;
use std::io::{IsTerminal, stdout};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::Context;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};
use serde_json::Value;

use super::action::action_for;
use super::app::{App, Data, Effect, PLAY_LIST_LIMIT};
use super::strings;
use crate::api::SCHEMA_VIOLATION;
use crate::client::{Client, ClientError, StartRequest};
use crate::config::Paths;
use crate::model::ResumeRequest;
use crate::prompt;

/// The shortest time between two frames: events that arrive closer
/// together are drawn together.
const FRAME: Duration = Duration::from_millis(16);

/// How long the subscription thread waits before trying a lost server
/// again.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

enum Incoming {
    Term(Event),
    Server(Box<Data>),
}

/// Restores the terminal when the dashboard ends, however it ends; a panic
/// is covered by the hook `ratatui::try_init` installs.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

pub fn run(client: Client, paths: &Paths) -> anyhow::Result<i32> {
    if !(std::io::stdin().is_terminal() && stdout().is_terminal()) {
        anyhow::bail!(
            "the dashboard needs a terminal (hint: `hero_logic play list` prints the plays)"
        );
    }
    let subscription = client
        .reconnect()
        .and_then(|c| c.subscribe(None))
        .context("cannot subscribe to the server's events")?;
    let (tx, rx) = mpsc::channel();
    spawn_subscription(subscription, paths.socket.clone(), tx.clone());

    // Armed first, so that a set-up that fails half-way is undone too.
    let _restore = Restore;
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let (go_tx, go_rx) = mpsc::channel();
    spawn_input(tx, go_rx);

    let size = terminal.size()?;
    let mut app = App::new(jiff::Timestamp::now(), size.width, size.height);
    let mut runtime = Runtime {
        client,
        socket: paths.socket.clone(),
        go: go_tx,
    };
    runtime.carry_out(&mut app, &mut terminal, App::initial_effects())?;
    let mut last_draw = Instant::now() - FRAME;
    while !app.should_quit() {
        app.set_now(jiff::Timestamp::now());
        app.settle();
        // Wait out the rest of a frame, taking what arrives meanwhile.
        let mut batch = Vec::new();
        while let Some(left) = FRAME.checked_sub(last_draw.elapsed()) {
            match rx.recv_timeout(left) {
                Ok(message) => batch.push(message),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        if batch.is_empty() {
            terminal.draw(|frame| app.render(frame))?;
            last_draw = Instant::now();
            match rx.recv_timeout(app.next_tick()) {
                Ok(message) => batch.push(message),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        batch.extend(rx.try_iter());
        for message in batch {
            runtime.handle(&mut app, &mut terminal, message)?;
            if app.should_quit() {
                break;
            }
        }
    }
    Ok(0)
}

struct Runtime {
    client: Client,
    socket: PathBuf,
    /// Lets the input thread read the next event.
    go: Sender<()>,
}

impl Runtime {
    fn handle(
        &mut self,
        app: &mut App,
        terminal: &mut DefaultTerminal,
        message: Incoming,
    ) -> anyhow::Result<()> {
        match message {
            Incoming::Term(event) => {
                match event {
                    Event::Key(key) => {
                        if let Some(action) = action_for(app.mode(), &key) {
                            let effects = app.update(action);
                            self.carry_out(app, terminal, effects)?;
                        }
                    }
                    Event::Resize(width, height) => app.resize(width, height),
                    _ => {}
                }
                // The input thread may go on reading; it is gone if it failed.
                let _ = self.go.send(());
            }
            Incoming::Server(data) => {
                let effects = app.apply(*data);
                self.carry_out(app, terminal, effects)?;
            }
        }
        Ok(())
    }

    /// Carries out effects, and the effects their results lead to.
    fn carry_out(
        &mut self,
        app: &mut App,
        terminal: &mut DefaultTerminal,
        effects: Vec<Effect>,
    ) -> anyhow::Result<()> {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            let data = match effect {
                Effect::Answer { play_sid, request } => {
                    suspended(terminal, || answer(&mut self.client, &play_sid, &request))?
                }
                other => self.call(other),
            };
            queue.extend(app.apply(data));
        }
        Ok(())
    }

    /// Makes an effect's call, once more on a fresh connection if the
    /// first one was lost (the server restarted).
    fn call(&mut self, effect: Effect) -> Data {
        match call(&mut self.client, &effect) {
            Err(ClientError::Io(_)) => match Client::connect(&self.socket) {
                Ok(client) => {
                    self.client = client;
                    call(&mut self.client, &effect).unwrap_or_else(|e| failed(&e))
                }
                Err(e) => failed(&e),
            },
            other => other.unwrap_or_else(|e| failed(&e)),
        }
    }
}

fn call(client: &mut Client, effect: &Effect) -> Result<Data, ClientError> {
    Ok(match effect {
        Effect::LoadPlays => Data::Plays(client.play_list(None, None, Some(PLAY_LIST_LIMIT))?),
        Effect::LoadWorkflows => Data::Workflows(client.workflow_list()?),
        Effect::LoadPlay(sid) => Data::Play {
            play: client.play_get(sid)?,
            spans: client.play_spans(sid, None)?,
        },
        Effect::LoadChild(sid) => Data::Child {
            play: client.play_get(sid)?,
            spans: client.play_spans(sid, None)?,
        },
        Effect::Cancel(sid) => Data::Cancelled(client.play_cancel(sid)?),
        Effect::Restart { play_sid, latest } => Data::Started {
            play: client.play_restart(play_sid, *latest)?,
            restarted_from: Some(play_sid.clone()),
        },
        Effect::Start {
            workflow_sid,
            input_data,
        } => Data::Started {
            play: client.play_start(&StartRequest {
                workflow: workflow_sid.clone(),
                input_data: input_data.clone(),
                working_dir: std::env::current_dir().ok(),
                ..StartRequest::default()
            })?,
            restarted_from: None,
        },
        Effect::LoadSchedules => Data::Schedules(client.schedule_list()?),
        Effect::TriggerSchedule(name) => Data::Fired {
            name: name.clone(),
            play: client.schedule_trigger(name)?,
        },
        Effect::PauseSchedule { name, paused } => {
            Data::Schedule(client.schedule_set_paused(name, *paused)?)
        }
        Effect::Answer { .. } => Data::Failed("an answer needs the terminal".into()),
    })
}

/// Asks on the normal screen with the prompts of `hero_logic resume SID`,
/// and sends the answer; a refusal by the schema is shown and asked again.
fn answer(client: &mut Client, play_sid: &str, request: &ResumeRequest) -> Data {
    eprintln!("{}", strings::answering(&request.name, play_sid));
    loop {
        let answer: Value = match prompt::ask(request) {
            Ok(answer) => answer,
            Err(e) => {
                return Data::Notice(format!("{}: {e}", strings::not_answered(&request.name)));
            }
        };
        match client.play_resume(play_sid, &request.id, &answer) {
            Ok(_) => {
                return Data::Answered {
                    name: request.name.clone(),
                    answer,
                };
            }
            Err(e) if e.code() == Some(SCHEMA_VIOLATION) => {
                eprintln!("{}", strings::answer_refused(&e.to_string()));
            }
            Err(e) => return failed(&e),
        }
    }
}

/// A failed call as the dashboard shows it: the error, then the server's
/// hint when it gave one.
fn failed(e: &ClientError) -> Data {
    Data::Failed(match e.hint() {
        Some(hint) => format!("{e} · hint: {hint}"),
        None => e.to_string(),
    })
}

/// Runs `f` on the normal screen, in cooked mode, then comes back.
fn suspended<T>(terminal: &mut DefaultTerminal, f: impl FnOnce() -> T) -> anyhow::Result<T> {
    ratatui::try_restore()?;
    terminal.show_cursor()?;
    let out = f();
    enable_raw_mode()?;
    execute!(stdout(), EnterAlternateScreen)?;
    // The screen under the alternate one is unknown now: draw it all.
    terminal.clear()?;
    Ok(out)
}

/// Reads terminal events, one at a time: after each it waits on `go`.
fn spawn_input(tx: Sender<Incoming>, go: Receiver<()>) {
    std::thread::spawn(move || {
        loop {
            match event::read() {
                Ok(event) => {
                    if tx.send(Incoming::Term(event)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Incoming::Server(Box::new(Data::Failed(format!(
                        "cannot read the keyboard: {e}"
                    )))));
                    return;
                }
            }
            if go.recv().is_err() {
                return;
            }
        }
    });
}

/// Forwards the server's events; when the server goes away, says so and
/// subscribes again once it is back.
fn spawn_subscription(
    mut subscription: crate::client::Subscription,
    socket: PathBuf,
    tx: Sender<Incoming>,
) {
    std::thread::spawn(move || {
        loop {
            let data = match subscription.next_event() {
                Ok(Some(event)) => Data::Event(event),
                Ok(None) => Data::Lagged,
                Err(e) => {
                    if tx
                        .send(Incoming::Server(Box::new(Data::Disconnected(
                            e.to_string(),
                        ))))
                        .is_err()
                    {
                        return;
                    }
                    subscription = loop {
                        std::thread::sleep(RECONNECT_EVERY);
                        if let Ok(s) = Client::connect(&socket).and_then(|c| c.subscribe(None)) {
                            break s;
                        }
                    };
                    Data::Lagged
                }
            };
            if tx.send(Incoming::Server(Box::new(data))).is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_call_shows_the_servers_hint_after_its_message() {
        let refused = ClientError::Rpc {
            code: crate::api::NOT_FOUND,
            message: "no workflow `x`".into(),
            hint: Some("`hero_logic workflow list` shows the saved ones".into()),
            data: None,
        };
        let Data::Failed(text) = failed(&refused) else {
            panic!("a failure");
        };
        assert_eq!(
            text,
            "no workflow `x` · hint: `hero_logic workflow list` shows the saved ones"
        );
        let gone = ClientError::Decode("x".into());
        let Data::Failed(text) = failed(&gone) else {
            panic!("a failure");
        };
        assert_eq!(text, gone.to_string());
    }
}
