//! `hero_logic play start | list | show | wait | logs | cancel | restart`.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand};
use console::style;
use serde_json::Value;

use super::render::{
    UserError, client_error, play_duration, plays_table, print_json, span_tree, status_text,
};
use super::{Ctx, progress};
use crate::client::{Client, StartRequest};
use crate::format;
use crate::model::{JsonMap, Play, PlayStatus, ResumeKind, Span, SpanKind};

#[derive(Debug, Subcommand)]
pub enum PlayCommand {
    /// Start a play of a workflow, or of a FILE.py (saved first).
    Start(StartArgs),
    /// List plays, newest first.
    List {
        /// Only plays with this status.
        #[arg(long)]
        status: Option<String>,
        /// Only plays of this workflow (name or sid).
        #[arg(long)]
        workflow: Option<String>,
        /// At most this many plays (0: all).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Hide child plays spawned by other plays.
        #[arg(long)]
        no_children: bool,
    },
    /// Show a play: header and span tree.
    Show {
        /// The play's sid.
        sid: String,
    },
    /// Wait until a play ends or pauses; exit with its status.
    Wait {
        /// The play's sid.
        sid: String,
        /// Give up after this many seconds (exit 124).
        #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
        timeout: Option<f64>,
    },
    /// Print a play's captured stdout and stderr.
    Logs {
        /// The play's sid.
        sid: String,
        /// Keep printing new lines until the play ends or pauses.
        #[arg(short, long)]
        follow: bool,
    },
    /// Remove plays that ended more than DURATION ago, with their spans,
    /// logs and step outputs.
    Prune {
        /// How long ago a play must have ended: `30d`, `12h`, `90m`, `1h30m`.
        #[arg(long, value_name = "DURATION", value_parser = duration_seconds)]
        before: u64,
        /// Only plays with this status (success, failed, cancelled, timed_out).
        #[arg(long)]
        status: Option<String>,
    },
    /// Cancel a play, its process group and its spawned children.
    Cancel {
        /// The play's sid.
        sid: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Run a failed, timed-out or cancelled play again, same sid, from its
    /// checkpoints: finished steps are not run again.
    Retry {
        /// The play's sid.
        sid: String,
        /// Wait until the play ends or pauses; exit with its status.
        #[arg(long)]
        wait: bool,
    },
    /// Start a fresh play with the same input.
    Restart {
        /// The play's sid.
        sid: String,
        /// Run the workflow's latest version instead of the pinned one.
        #[arg(long)]
        latest: bool,
    },
}

/// `play start`'s arguments.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// A workflow's name or sid, or a Python file to save as a workflow.
    workflow: String,
    /// The input of `main`, as a JSON object.
    #[arg(long, default_value = "{}")]
    input: String,
    /// A name for the play [default: the workflow's]; with FILE.py, the workflow's name too.
    #[arg(long)]
    name: Option<String>,
    /// With FILE.py: save it even when the name belongs to a workflow saved from another file.
    #[arg(long)]
    replace: bool,
    /// Answer pauses named NAME (a glob) with JSON, without stopping.
    #[arg(long = "prefill", value_name = "NAME=JSON")]
    prefill: Vec<String>,
    /// Kill a run that takes longer than this many seconds (`timed_out`).
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    timeout: Option<f64>,
    /// Wait until the play ends or pauses; exit with its status.
    #[arg(long)]
    wait: bool,
    /// An idempotency key: a second start with a key already used for the workflow prints the first play and starts nothing.
    #[arg(long, value_name = "K")]
    key: Option<String>,
}

pub fn run(ctx: &Ctx, command: PlayCommand) -> anyhow::Result<i32> {
    match command {
        PlayCommand::Start(args) => start(ctx, args),
        PlayCommand::Prune { before, status } => {
            let status = parse_status(status)?;
            let mut client = ctx.client()?;
            let pruned = client
                .play_prune(before as f64, status)
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&serde_json::json!({ "pruned": pruned }));
            } else {
                outln!("{pruned} plays pruned");
            }
            Ok(0)
        }
        PlayCommand::List {
            status,
            workflow,
            limit,
            no_children,
        } => {
            let status = parse_status(status)?;
            let mut client = ctx.client()?;
            // One more than asked tells whether the list was cut.
            let asked = (limit > 0).then(|| limit.saturating_add(1));
            let mut plays = client
                .play_list(status, workflow.as_deref(), asked)
                .map_err(|e| client_error(e, &ctx.paths))?;
            let cut = limit > 0 && plays.len() > limit;
            plays.truncate(if cut { limit } else { plays.len() });
            if no_children {
                plays.retain(|p| p.parent_play_sid.is_none());
            }
            if ctx.json {
                print_json(&plays);
                return Ok(0);
            }
            if plays.is_empty() && !cut {
                eprintln!("no plays yet (hint: `hero_logic play start FILE.py`)");
                return Ok(0);
            }
            outln!("{}", plays_table(&plays));
            if cut {
                let total = client
                    .play_count(status, workflow.as_deref())
                    .map_err(|e| client_error(e, &ctx.paths))?;
                eprintln!("{} of {total} shown (--limit N for more)", plays.len());
            }
            Ok(0)
        }
        PlayCommand::Show { sid } => show(ctx, &sid),
        PlayCommand::Wait { sid, timeout } => {
            let mut client = ctx.client()?;
            let timeout_ms = timeout.map_or(0, |t| (t * 1000.0).max(1.0) as u64);
            let play = progress::wait(&mut client, &sid, timeout_ms)
                .map_err(|e| client_error(e, &ctx.paths))?;
            report(ctx, &play)
        }
        PlayCommand::Logs { sid, follow } => logs(ctx, &sid, follow),
        PlayCommand::Cancel { sid, yes } => {
            let mut client = ctx.client()?;
            if !yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
                let play = client
                    .play_get(&sid)
                    .map_err(|e| client_error(e, &ctx.paths))?;
                let sure = dialoguer::Confirm::new()
                    .with_prompt(format!(
                        "Cancel play {} ({}, {})?",
                        sid, play.name, play.status
                    ))
                    .default(false)
                    .interact()?;
                if !sure {
                    eprintln!("left running");
                    return Ok(1);
                }
            }
            let play = client
                .play_cancel(&sid)
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&play);
            } else {
                outln!("{} {}", play.sid, status_text(play.status));
            }
            Ok(0)
        }
        PlayCommand::Retry { sid, wait } => {
            let mut client = ctx.client()?;
            let play = client
                .play_retry(&sid)
                .map_err(|e| client_error(e, &ctx.paths))?;
            follow(ctx, &mut client, &play, wait)
        }
        PlayCommand::Restart { sid, latest } => {
            let play = ctx
                .client()?
                .play_restart(&sid, latest)
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&play);
            } else {
                outln!("{}", play.sid);
            }
            Ok(0)
        }
    }
}

/// `--timeout SECS`: refused here, as a usage error naming the flag, when
/// the server would refuse it.
fn parse_timeout(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    crate::model::timeout_from_secs(secs)?;
    Ok(secs)
}

pub(super) fn parse_prefill(items: &[String]) -> anyhow::Result<JsonMap> {
    let mut map = JsonMap::new();
    for item in items {
        let Some((name, json)) = item.split_once('=') else {
            return Err(
                UserError::usage(format!("--prefill `{item}` is not NAME=JSON"))
                    .hint("e.g. --prefill 'approve=true' or --prefill 'ask_*=\"yes\"'")
                    .into(),
            );
        };
        let payload: Value = serde_json::from_str(json).map_err(|e| {
            UserError::usage(format!("--prefill {name}: `{json}` is not JSON: {e}"))
                .hint(format!("a string is quoted: --prefill '{name}=\"{json}\"'"))
        })?;
        map.insert(name.to_owned(), payload);
    }
    Ok(map)
}

fn start(ctx: &Ctx, args: StartArgs) -> anyhow::Result<i32> {
    let StartArgs {
        workflow,
        input,
        name,
        replace,
        prefill,
        timeout,
        wait,
        key,
    } = args;
    let workflow = workflow.as_str();
    let input_data: Value = serde_json::from_str(&input).map_err(|e| {
        UserError::usage(format!("--input is not JSON: {e}")).hint(
            r#"the input is a JSON object of main's arguments, e.g. --input '{"name": "Ada"}'"#,
        )
    })?;
    let prefill_resumes = parse_prefill(&prefill)?;
    let path = Path::new(workflow);
    let mut client = None;
    let workflow = if workflow.ends_with(".py") || path.is_file() {
        super::workflow::save(ctx, &mut client, path, name.as_deref(), replace)?
            .workflow
            .sid
    } else {
        workflow.to_owned()
    };
    let mut client = match client {
        Some(client) => client,
        None => ctx.client()?,
    };
    let play = client
        .play_start(&StartRequest {
            workflow,
            input_data,
            name,
            prefill_resumes,
            timeout_s: timeout,
            working_dir: Some(
                std::env::current_dir()
                    .context("cannot read the current folder, which the play would run in")?,
            ),
            idempotency_key: key,
        })
        .map_err(|e| client_error(e, &ctx.paths))?;
    follow(ctx, &mut client, &play, wait)
}

/// After a play was started (or retried): its sid alone, for
/// `sid=$(hero_logic play start …)`, or with `wait`, its settled state and
/// exit code.
fn follow(ctx: &Ctx, client: &mut Client, play: &Play, wait: bool) -> anyhow::Result<i32> {
    if !wait {
        if ctx.json {
            print_json(play);
        } else {
            outln!("{}", play.sid);
        }
        return Ok(0);
    }
    let play = progress::wait(client, &play.sid, 0).map_err(|e| client_error(e, &ctx.paths))?;
    report(ctx, &play)
}

/// Prints a settled (or timed-out wait's) play and returns its exit code.
pub(super) fn report(ctx: &Ctx, play: &Play) -> anyhow::Result<i32> {
    if ctx.json {
        print_json(play);
    } else {
        outln!("{} {} {}", play.sid, status_text(play.status), play.name);
        match play.status {
            PlayStatus::Success => outln!("{}", pretty(&play.output_data)),
            PlayStatus::AwaitingResume => {
                for r in &play.pending_resumes {
                    match crate::api::child_of_pause(&r.name) {
                        Some(child) => eprintln!(
                            "  ⏸ waiting on child play {child}; it goes on by itself when the child ends (`hero_logic pending {child}`)"
                        ),
                        None => match format::due(r, jiff::Timestamp::now()) {
                            Some(due) => eprintln!("  ⏸ {} (id {}) {due}", r.name, r.id),
                            None => eprintln!("  ⏸ {} (id {})", r.name, r.id),
                        },
                    }
                }
                if play.pending_resumes.iter().any(|r| !r.ui.is_null()) {
                    eprintln!(
                        "{} answer with `hero_logic resume {}`",
                        style("hint:").cyan().bold(),
                        play.sid
                    );
                }
            }
            _ => {
                if let Some(error) = &play.error {
                    eprintln!("{error}");
                }
            }
        }
    }
    Ok(play.status.exit_code())
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn show(ctx: &Ctx, sid: &str) -> anyhow::Result<i32> {
    let mut client = ctx.client()?;
    let play = client
        .play_get(sid)
        .map_err(|e| client_error(e, &ctx.paths))?;
    if ctx.json {
        let spans = client
            .play_spans(sid, None)
            .map_err(|e| client_error(e, &ctx.paths))?;
        let mut value = serde_json::to_value(&play)?;
        value["spans"] = serde_json::to_value(spans)?;
        print_json(&value);
        return Ok(0);
    }
    let workflow = client.workflow_get(&play.workflow_sid).ok();
    let workflow_name = workflow
        .as_ref()
        .map_or(play.workflow_sid.as_str(), |w| w.workflow.name.as_str());
    outln!(
        "{} {}  {}",
        style(&play.name).bold(),
        play.sid,
        status_text(play.status)
    );
    outln!("workflow  {workflow_name}@{}", play.workflow_version_sid);
    if let Some(newer) = &play.newer_version_sid {
        outln!(
            "          {} a newer version {newer} exists; this play stays on its pinned version (`hero_logic play restart {} --latest` runs the new one)",
            style("note:").yellow().bold(),
            play.sid
        );
    }
    outln!(
        "created   {}   duration {}   runs {}   steps {}",
        play.created_at,
        play_duration(&play),
        play.runs,
        play.steps_done
    );
    if play.total_cost_usd > 0.0 {
        outln!("cost      ${:.4}", play.total_cost_usd);
    }
    if let Some(parent) = &play.parent_play_sid {
        outln!("parent    {parent}");
    }
    if let Some(schedule) = &play.schedule {
        outln!("schedule  {schedule}");
    }
    outln!("input     {}", play.input_data);
    if !play.output_data.is_null() {
        outln!("output    {}", play.output_data);
    }
    if let Some(error) = &play.error {
        outln!("error     {}", style(error).red());
    }
    let now = jiff::Timestamp::now();
    for r in play
        .pending_resumes
        .iter()
        .filter(|r| r.resumed_at.is_none())
    {
        let note = format::due_note(r, now);
        match (r.kind, note) {
            (ResumeKind::Timer, Some(note)) => {
                outln!(
                    "pending   {} {} (id {}) {note}",
                    format::TIMER_ICON,
                    r.name,
                    r.id
                )
            }
            (_, Some(note)) => outln!(
                "pending   ⏸ {} (id {}) since {}, {note}",
                r.name,
                r.id,
                r.asked_at
            ),
            (_, None) => outln!("pending   ⏸ {} (id {}) since {}", r.name, r.id, r.asked_at),
        }
        if let (false, Some(url)) = (r.kind == ResumeKind::Timer, &r.resume_url) {
            outln!("          answer by POST to {url}");
        }
    }
    for signal in &play.signals {
        outln!(
            "signal    {} kept since {}: {}",
            signal.name,
            signal.at,
            signal.payload
        );
    }
    for event in play
        .signal_events
        .iter()
        .filter(|e| e.outcome == crate::model::SignalOutcome::Refused)
    {
        outln!(
            "signal    {} refused by pause {} at {}: {}",
            event.name,
            event.resume_id.as_deref().unwrap_or_default(),
            event.at,
            style(event.violations.join("; ")).red()
        );
    }
    let spans = client
        .play_spans(sid, Some(play.runs))
        .map_err(|e| client_error(e, &ctx.paths))?;
    let mut expand =
        |span: &Span| -> Option<termtree::Tree<String>> { child_tree(&mut client, span, 0) };
    for tree in span_tree(&spans, &mut expand) {
        out!("{tree}");
    }
    Ok(0)
}

/// The tree of a spawned child play, shown inline under its `subflow` span.
fn child_tree(client: &mut Client, span: &Span, depth: usize) -> Option<termtree::Tree<String>> {
    if span.kind != SpanKind::Subflow || depth > 8 {
        return None;
    }
    let child_sid = span.child_play_sid.as_deref()?;
    let child = client.play_get(child_sid).ok()?;
    let spans = client.play_spans(child_sid, Some(child.runs)).ok()?;
    let mut node = termtree::Tree::new(format!("play {} {}", child.sid, status_text(child.status)));
    let mut expand = |s: &Span| child_tree(client, s, depth + 1);
    node.leaves = span_tree(&spans, &mut expand);
    Some(node)
}

/// Lines asked for at a time: a run that printed a lot is read in pages.
const LOG_PAGE: usize = 1_000;

fn logs(ctx: &Ctx, sid: &str, follow: bool) -> anyhow::Result<i32> {
    let mut client = ctx.client()?;
    let mut after = None;
    let mut settled = !follow;
    loop {
        let lines = client
            .play_logs(sid, after, LOG_PAGE)
            .map_err(|e| client_error(e, &ctx.paths))?;
        for line in &lines {
            if ctx.json {
                outln!("{}", serde_json::to_string(line)?);
            } else if line.stream == crate::model::LogStream::Stderr {
                outln!("{}", style(&line.line).red());
            } else {
                outln!("{}", line.line);
            }
        }
        if let Some(last) = lines.last() {
            after = Some(last.seq);
        }
        if lines.len() == LOG_PAGE {
            continue;
        }
        if settled {
            return Ok(0);
        }
        // Waits inside the server until the play settles or 250 ms pass;
        // once settled, one more read takes the last lines.
        let play = client
            .play_wait(sid, 250)
            .map_err(|e| client_error(e, &ctx.paths))?;
        settled = play.status.is_settled();
    }
}

/// `--status S`, refused as a usage error naming the statuses.
fn parse_status(status: Option<String>) -> Result<Option<PlayStatus>, UserError> {
    status
        .map(|s| {
            PlayStatus::parse(&s).ok_or_else(|| {
                UserError::usage(format!("unknown status `{s}`")).hint(format!(
                    "one of {}",
                    PlayStatus::ALL.map(|s| s.as_str()).join(", ")
                ))
            })
        })
        .transpose()
}

/// `--before DURATION` in seconds (`0s`: every ended play), refused as a
/// usage error naming the flag.
fn duration_seconds(text: &str) -> Result<u64, String> {
    use crate::engine::schedule_rule::{RuleError, parse_every};
    match parse_every(text) {
        Ok(seconds) => Ok(seconds),
        Err(RuleError::EveryZero) => Ok(0),
        Err(e) => Err(e.to_string()),
    }
}
