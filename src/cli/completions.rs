//! Shell completions that know the running server's plays, workflows and
//! pauses.
//!
//! `hero_logic completions SHELL` prints a small script that the shell
//! sources; at each Tab it calls `COMPLETE=SHELL hero_logic -- WORDS…`,
//! which [`complete_from_env`] answers from clap's own definition of the
//! command line (clap_complete's dynamic engine) plus the candidates added
//! here: play sids (newest first, with workflow and status), workflow names,
//! the pause ids of the play named before them, schedule names, and
//! `--status` values.
//! The server is asked only when it already runs, never started, and a
//! server that does not answer within [`SERVER_WITHIN`] gives nothing.
//! The committed scripts under `completions/` are these scripts, and a
//! test fails when they are stale.

use std::ffi::OsStr;
use std::time::Duration;

use clap::{Arg, Command, CommandFactory};
// clap_complete calls its dynamic completion module `engine`: not ours.
use clap_complete::engine as dynamic;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
use clap_complete::{
    ArgValueCandidates, ArgValueCompleter, CompleteEnv, CompletionCandidate, PathCompleter, Shell,
};
use dynamic::ValueCompleter;

use super::Cli;
use crate::client::Client;
use crate::config::Paths;
use crate::model::PlayStatus;

/// The environment variable the shell scripts set to ask for candidates.
const VAR: &str = "COMPLETE";

/// How long a completion waits for the server before offering nothing: a
/// Tab must never hang a shell.
const SERVER_WITHIN: Duration = Duration::from_secs(2);

/// How many plays a sid completion offers, newest first.
const SIDS_OFFERED: usize = 200;

/// Answers a shell's completion request and exits, when `COMPLETE` is set;
/// returns at once otherwise. Called before the command line is parsed.
pub fn complete_from_env() {
    CompleteEnv::with_factory(command).var(VAR).complete();
}

/// Prints the script that makes `shell` complete through this binary.
pub fn print(shell: Shell) -> anyhow::Result<i32> {
    let adapter: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Elvish => &Elvish,
        Shell::PowerShell => &Powershell,
        other => {
            return Err(
                super::UserError::usage(format!("no completions for {other}"))
                    .hint("one of bash, zsh, fish, elvish, powershell")
                    .into(),
            );
        }
    };
    // Written whole first: stdout may be a pipe its reader has left.
    let mut script = Vec::new();
    adapter.write_registration(VAR, "hero_logic", "hero_logic", "hero_logic", &mut script)?;
    crate::out!("{}", String::from_utf8_lossy(&script));
    Ok(0)
}

/// The command line with the server-backed candidates attached to the
/// arguments that name plays, workflows, pauses and statuses.
fn command() -> Command {
    attach(Cli::command(), &[])
}

fn attach(command: Command, path: &[&str]) -> Command {
    let name = command.get_name().to_owned();
    let mut here: Vec<&str> = path.to_vec();
    here.push(&name);
    let here_for_args = here.clone();
    let command = command.mut_args(|arg| with_candidates(arg, &here_for_args));
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    names.into_iter().fold(command, |command, sub| {
        command.mut_subcommand(&sub, |c| attach(c, &here))
    })
}

/// `path` is the command's names from the root, e.g. `["hero_logic", "play", "show"]`.
fn with_candidates(arg: Arg, path: &[&str]) -> Arg {
    let awaiting = matches!(path.get(1).copied(), Some("resume" | "pending"));
    match (arg.get_id().as_str(), path.get(1..).unwrap_or_default()) {
        ("sid", _) if awaiting => arg.add(ArgValueCandidates::new(|| {
            play_sids(Some(PlayStatus::AwaitingResume))
        })),
        ("sid", _) => arg.add(ArgValueCandidates::new(|| play_sids(None))),
        ("id", ["resume"]) => arg.add(ArgValueCandidates::new(pause_ids)),
        ("status", _) => arg.add(ArgValueCandidates::new(statuses)),
        ("workflow", ["play", "start"]) => arg.add(ArgValueCompleter::new(workflow_or_file)),
        ("workflow", _) | ("name", ["workflow", "show"]) => {
            arg.add(ArgValueCandidates::new(workflow_names))
        }
        ("name", ["schedule", "show" | "pause" | "unpause" | "rm" | "run"]) => {
            arg.add(ArgValueCandidates::new(schedule_names))
        }
        _ => arg,
    }
}

/// Runs `ask` against the server if one already runs, giving up after
/// [`SERVER_WITHIN`]; any failure is no candidates.
fn from_server(
    ask: impl FnOnce(&mut Client) -> Option<Vec<CompletionCandidate>> + Send + 'static,
) -> Vec<CompletionCandidate> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let found = Client::connect(&Paths::resolve().socket)
            .ok()
            .and_then(|mut client| ask(&mut client));
        let _ = tx.send(found);
    });
    rx.recv_timeout(SERVER_WITHIN)
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn play_sids(status: Option<PlayStatus>) -> Vec<CompletionCandidate> {
    from_server(move |client| {
        let plays = client.play_list(status, None, Some(SIDS_OFFERED)).ok()?;
        let workflows = client.workflow_list().ok().unwrap_or_default();
        Some(
            plays
                .into_iter()
                .enumerate()
                .map(|(rank, play)| {
                    let workflow = workflows
                        .iter()
                        .find(|w| w.sid == play.workflow_sid)
                        .map_or(play.workflow_sid.as_str(), |w| w.name.as_str());
                    CompletionCandidate::new(&play.sid)
                        .help(Some(format!("{workflow} {}", play.status).into()))
                        .display_order(Some(rank))
                })
                .collect(),
        )
    })
}

fn workflow_names() -> Vec<CompletionCandidate> {
    from_server(|client| {
        Some(
            client
                .workflow_list()
                .ok()?
                .into_iter()
                .map(|w| {
                    let help = (!w.description.is_empty()).then(|| w.description.into());
                    CompletionCandidate::new(w.name).help(help)
                })
                .collect(),
        )
    })
}

fn schedule_names() -> Vec<CompletionCandidate> {
    from_server(|client| {
        Some(
            client
                .schedule_list()
                .ok()?
                .into_iter()
                .map(|s| {
                    let help = if s.paused { "paused" } else { "active" };
                    CompletionCandidate::new(s.name).help(Some(help.into()))
                })
                .collect(),
        )
    })
}

/// `play start` takes a workflow's name or a Python file.
fn workflow_or_file(current: &OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy().into_owned();
    let mut found: Vec<CompletionCandidate> = workflow_names()
        .into_iter()
        .filter(|c| c.get_value().to_string_lossy().starts_with(&prefix))
        .collect();
    found.extend(PathCompleter::any().complete(current));
    found
}

fn statuses() -> Vec<CompletionCandidate> {
    PlayStatus::ALL
        .iter()
        .map(|s| CompletionCandidate::new(s.as_str()))
        .collect()
}

/// The open pauses of the play named on the line being completed: the
/// word after `resume` (the engine passes a completer only the word it
/// completes, and the shell passes the whole line after `--`).
fn pause_ids() -> Vec<CompletionCandidate> {
    let words: Vec<String> = std::env::args().skip_while(|w| w != "--").skip(2).collect();
    let Some(sid) = words
        .iter()
        .skip_while(|w| *w != "resume")
        .skip(1)
        .find(|w| !w.starts_with('-'))
        .cloned()
    else {
        return Vec::new();
    };
    from_server(move |client| {
        Some(
            client
                .play_pending_resumes(&sid)
                .ok()?
                .into_iter()
                .map(|r| {
                    let question = if r.ui.is_null() {
                        format!("{} (machine)", r.name)
                    } else {
                        format!("{}: {}", r.name, crate::prompt::question(&r))
                    };
                    CompletionCandidate::new(r.id).help(Some(question.into()))
                })
                .collect(),
        )
    })
}
