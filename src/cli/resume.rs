//! `hero_logic pending SID` and `hero_logic resume SID [ID JSON]`.
//!
//! `resume SID` on a terminal follows the play: it asks each open question,
//! waits for the play's next state, asks the next ones, and ends with the
//! play's final status and `play wait`'s exit code, so a flow of several
//! questions is answered in one sitting. `--once` answers what is open now.

use std::io::IsTerminal;

use clap::Args;
use comfy_table::{Table, presets};
use console::style;
use serde_json::Value;

use super::render::{UserError, age, client_error, print_json};
use super::{Ctx, progress};
use crate::client::Client;
use crate::format;
use crate::model::{PlayStatus, ResumeKind, ResumeRequest, SignalOutcome};
use crate::prompt;

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The play's sid.
    sid: String,
    /// The pause's id (`hero_logic pending SID` lists them); omit to be asked.
    id: Option<String>,
    /// The answer, as JSON: `true`, `42`, `'"text"'`, `'{"tx": "abc"}'`.
    payload: Option<String>,
    /// Without ID: answer the open pauses and leave, instead of following
    /// the play to its next questions and its end.
    #[arg(long, conflicts_with = "id")]
    once: bool,
}

/// `hero_logic signal`'s arguments.
#[derive(Debug, Args)]
pub struct SignalArgs {
    /// The play's sid.
    sid: String,
    /// The signal's name: the name of the pause that is to take it.
    name: String,
    /// The payload, as JSON: `true`, `42`, `'"text"'`, `'{"tx": "abc"}'`.
    payload: String,
}

/// Sends a signal; says what became of it. A refusal by the pause's schema
/// exits 1 (it is noted on the play, and the pause stays open).
pub fn signal(ctx: &Ctx, args: SignalArgs) -> anyhow::Result<i32> {
    let payload: Value = serde_json::from_str(&args.payload).map_err(|e| {
        UserError::usage(format!("the payload is not JSON: {e}")).hint(format!(
            "a string is quoted: hero_logic signal {} {} '\"{}\"'",
            args.sid, args.name, args.payload
        ))
    })?;
    let event = ctx
        .client()?
        .play_signal(&args.sid, &args.name, &payload)
        .map_err(|e| client_error(e, &ctx.paths))?;
    if ctx.json {
        print_json(&event);
    } else {
        let pause = event.resume_id.as_deref().unwrap_or_default();
        match event.outcome {
            SignalOutcome::Answered => outln!("signal {} answered pause {pause}", event.name),
            SignalOutcome::Kept | SignalOutcome::Taken => outln!(
                "signal {} kept on play {} until a pause named {} is reached",
                event.name,
                args.sid,
                event.name
            ),
            SignalOutcome::Refused => eprintln!(
                "error: pause {pause} refused signal {}: {}\nhint: the pause stays open; send a payload that fits its schema (`hero_logic pending {}`)",
                event.name,
                event.violations.join("; "),
                args.sid
            ),
        }
    }
    Ok(if event.outcome == SignalOutcome::Refused {
        1
    } else {
        0
    })
}

pub fn pending(ctx: &Ctx, sid: &str) -> anyhow::Result<i32> {
    let pending = ctx
        .client()?
        .play_pending_resumes(sid)
        .map_err(|e| client_error(e, &ctx.paths))?;
    if ctx.json {
        print_json(&pending);
        return Ok(0);
    }
    if pending.is_empty() {
        eprintln!("play {sid} has no open pauses");
        return Ok(0);
    }
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(["ID", "NAME", "KIND", "QUESTION", "ASKED", "DUE"]);
    let now = jiff::Timestamp::now();
    for r in &pending {
        let kind = match (r.ui["kind"].as_str(), r.kind) {
            (Some(kind), _) => kind,
            (None, ResumeKind::Timer) => "timer",
            (None, _) => "machine",
        };
        table.add_row([
            r.id.clone(),
            r.name.clone(),
            kind.to_owned(),
            if r.ui.is_null() {
                String::new()
            } else {
                prompt::question(r)
            },
            age(&r.asked_at),
            format::due(r, now).unwrap_or_default(),
        ]);
    }
    outln!("{table}");
    // A URL is long: each on a line of its own, for copying into a
    // webhook's settings.
    for r in &pending {
        if let Some(url) = &r.resume_url {
            outln!("{}  POST {url}", r.id);
        }
    }
    Ok(0)
}

pub fn resume(ctx: &Ctx, args: ResumeArgs) -> anyhow::Result<i32> {
    match (args.id, args.payload) {
        (Some(id), Some(payload)) => {
            let payload: Value = serde_json::from_str(&payload).map_err(|e| {
                UserError::usage(format!("the answer is not JSON: {e}")).hint(format!(
                    "a string is quoted: hero_logic resume {} {id} '\"{payload}\"'",
                    args.sid
                ))
            })?;
            let ack = ctx
                .client()?
                .play_resume(&args.sid, &id, &payload)
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&ack);
            } else {
                outln!("resumed {id} of play {} at {}", args.sid, ack.resumed_at);
            }
            Ok(0)
        }
        (Some(_), None) => Err(UserError::usage(
            "an id needs an answer: hero_logic resume SID ID JSON",
        )
        .hint("or run `hero_logic resume SID` on a terminal to be asked")
        .into()),
        (None, _) => interactive(ctx, &args.sid, args.once),
    }
}

fn scripted_form(sid: &str, pending: &[ResumeRequest]) -> String {
    pending
        .iter()
        .map(|r| {
            let example = match r.ui["kind"].as_str() {
                Some("confirm") => "true",
                Some("number") => "42",
                Some("multi_choice") => "'[\"a\"]'",
                _ => "'\"text\"'",
            };
            format!("hero_logic resume {sid} {} {example}   # {}", r.id, r.name)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asks one prompt per open pause that has a form and sends each answer;
/// unless `once`, then waits for the play's next state and goes on until
/// the play ends or waits on something no prompt can answer.
fn interactive(ctx: &Ctx, sid: &str, once: bool) -> anyhow::Result<i32> {
    let mut client = ctx.client()?;
    let mut play = client
        .play_get(sid)
        .map_err(|e| client_error(e, &ctx.paths))?;
    let mut asked = false;
    loop {
        if play.pending_resumes.is_empty() {
            if !once && !play.status.is_settled() {
                play =
                    progress::wait(&mut client, sid, 0).map_err(|e| client_error(e, &ctx.paths))?;
                continue;
            }
            if !asked {
                eprintln!("play {sid} has no open pauses");
            }
            if once || !asked {
                return Ok(0);
            }
            return super::play::report(ctx, &play);
        }
        let pending = std::mem::take(&mut play.pending_resumes);
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(UserError::new("no terminal to ask on")
                .hint(format!(
                    "answer from a script:\n{}",
                    scripted_form(sid, &pending)
                ))
                .into());
        }
        asked = true;
        let left = answer_all(&mut client, ctx, sid, &pending)?;
        if once {
            return Ok(0);
        }
        if left > 0 {
            // The play waits on what no prompt here answers: leave it so.
            return Ok(PlayStatus::AwaitingResume.exit_code());
        }
        play = progress::wait(&mut client, sid, 0).map_err(|e| client_error(e, &ctx.paths))?;
    }
}

/// Asks and answers each pause that has a form; returns how many were left
/// open (a machine's pause, a child's, or one the person skipped), each with
/// the line that says how it gets its answer.
fn answer_all(
    client: &mut Client,
    ctx: &Ctx,
    sid: &str,
    pending: &[ResumeRequest],
) -> anyhow::Result<usize> {
    let mut left = 0;
    for request in pending {
        if request.ui.is_null() {
            left += 1;
            match crate::api::child_of_pause(&request.name) {
                Some(child) => eprintln!(
                    "{} waiting on child play {child}; it goes on by itself when the child ends (`hero_logic resume {child}` answers its questions)",
                    style("⏸").yellow()
                ),
                None => eprintln!(
                    "{} {} waits for a machine answer (webhook, signal): hero_logic resume {sid} {} JSON",
                    style("⏸").yellow(),
                    request.name,
                    request.id
                ),
            }
            continue;
        }
        let answer = match prompt::ask(request) {
            Ok(answer) => answer,
            Err(prompt::PromptError::Cancelled) => {
                left += 1;
                eprintln!(
                    "{} {} left unanswered (`hero_logic resume {sid}` asks again)",
                    style("skip").dim(),
                    request.name
                );
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let ack = client
            .play_resume(sid, &request.id, &answer)
            .map_err(|e| client_error(e, &ctx.paths))?;
        eprintln!(
            "{} {} = {answer} at {}",
            style("✔").green(),
            request.name,
            ack.resumed_at
        );
    }
    Ok(left)
}
