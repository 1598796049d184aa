//! `hero_logic schedule add | list | show | pause | unpause | rm | run`.
//!
//! The server checks a schedule whole (rule, zone, workflow, input) and
//! says why it refuses one; here only the flags' own syntax is checked.
//! Fire times are shown in the local time zone (`TZ`, else the system's).

use clap::{ArgGroup, Args, Subcommand};
use comfy_table::{Table, presets};
use console::style;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::Ctx;
use super::play::parse_prefill;
use super::render::{UserError, client_error, print_json, status_text};
use crate::api::ScheduleSave;
use crate::client::Client;
use crate::engine::schedule_rule::parse_every;
use crate::model::{Catchup, Overlap, Schedule};

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Add a schedule that starts plays of a workflow by the clock.
    Add(AddArgs),
    /// List the schedules, with their next fire in local time.
    List,
    /// Show a schedule: its rule, its next and last fire, its last play.
    Show {
        /// The schedule's name.
        name: String,
    },
    /// Pause a schedule: it fires no more until unpaused.
    Pause {
        /// The schedule's name.
        name: String,
    },
    /// Unpause a schedule: it fires next by its rule, without catching up
    /// the fires missed while paused.
    Unpause {
        /// The schedule's name.
        name: String,
    },
    /// Remove a schedule; the plays it started stay.
    Rm {
        /// The schedule's name.
        name: String,
    },
    /// Start a play of the schedule now, whatever its rule, pause and overlap.
    Run {
        /// The schedule's name.
        name: String,
    },
}

/// `schedule add`'s arguments.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("rule").required(true).args(["cron", "every"])))]
pub struct AddArgs {
    /// A name for the schedule: letters, digits, `-`, `_`, `.`.
    name: String,
    /// The workflow's name or sid.
    workflow: String,
    /// A five-field cron rule (minute hour day-of-month month day-of-week),
    /// or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.
    #[arg(long, value_name = "EXPR")]
    cron: Option<String>,
    /// The time zone the cron rule is read in (IANA, e.g. Europe/Berlin) [default: UTC].
    #[arg(long, value_name = "ZONE", requires = "cron")]
    tz: Option<String>,
    /// Fire at this interval: `30s`, `5m`, `2h`, `1d`.
    #[arg(long, value_name = "DURATION", value_parser = every_seconds)]
    every: Option<u64>,
    /// The input of `main` for every play, as a JSON object.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    input: String,
    /// Answer pauses named NAME (a glob) with JSON, without stopping.
    #[arg(long = "prefill", value_name = "NAME=JSON")]
    prefill: Vec<String>,
    /// A fire while the previous play has not ended: skipped, queued until
    /// it ends, or started alongside.
    #[arg(long, value_parser = ["skip", "queue", "allow"], default_value = "skip")]
    overlap: String,
    /// After downtime: a play for the latest missed fire, one per missed
    /// fire (at most 100), or none.
    #[arg(long, value_parser = ["latest", "all", "none"], default_value = "latest")]
    catchup: String,
    /// Replace the schedule of that name, keeping its last fire and play.
    #[arg(long)]
    replace: bool,
}

/// `--every DURATION`, refused here as a usage error naming the flag.
fn every_seconds(text: &str) -> Result<u64, String> {
    parse_every(text).map_err(|e| e.to_string())
}

/// A policy flag, already one of clap's possible values, as its model enum.
fn policy<T: serde::de::DeserializeOwned>(value: &str) -> T {
    serde_json::from_value(Value::String(value.to_owned())).expect("a listed value")
}

pub fn run(ctx: &Ctx, command: ScheduleCommand) -> anyhow::Result<i32> {
    match command {
        ScheduleCommand::Add(args) => add(ctx, args),
        ScheduleCommand::List => list(ctx),
        ScheduleCommand::Show { name } => {
            let mut client = ctx.client()?;
            let schedule = client
                .schedule_get(&name)
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&schedule);
                return Ok(0);
            }
            show(&mut client, &schedule);
            Ok(0)
        }
        ScheduleCommand::Pause { name } => set_paused(ctx, &name, true),
        ScheduleCommand::Unpause { name } => set_paused(ctx, &name, false),
        ScheduleCommand::Rm { name } => {
            ctx.client()?
                .schedule_delete(&name)
                .map_err(|e| client_error(e, &ctx.paths))?;
            if ctx.json {
                print_json(&serde_json::json!({"ok": true}));
            } else {
                outln!("removed schedule {name}");
            }
            Ok(0)
        }
        ScheduleCommand::Run { name } => {
            let play = ctx
                .client()?
                .schedule_trigger(&name)
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

fn add(ctx: &Ctx, args: AddArgs) -> anyhow::Result<i32> {
    let input_data: Value = serde_json::from_str(&args.input).map_err(|e| {
        UserError::usage(format!("--input is not JSON: {e}")).hint(
            r#"the input is a JSON object of main's arguments, e.g. --input '{"name": "Ada"}'"#,
        )
    })?;
    let prefill = parse_prefill(&args.prefill)?;
    let save = ScheduleSave {
        name: args.name,
        workflow_sid: args.workflow,
        cron: args.cron,
        every_s: args.every,
        tz: args.tz,
        input_data: Some(input_data),
        prefill_resumes: (!prefill.is_empty()).then_some(prefill),
        overlap: policy::<Overlap>(&args.overlap),
        catchup: policy::<Catchup>(&args.catchup),
        paused: false,
        replace: args.replace,
    };
    let schedule = ctx
        .client()?
        .schedule_save(&save)
        .map_err(|e| client_error(e, &ctx.paths))?;
    if ctx.json {
        print_json(&schedule);
    } else {
        outln!(
            "schedule {}: {}, next fire {}",
            schedule.name,
            rule(&schedule),
            next_fire(&schedule)
        );
    }
    Ok(0)
}

fn set_paused(ctx: &Ctx, name: &str, paused: bool) -> anyhow::Result<i32> {
    let schedule = ctx
        .client()?
        .schedule_set_paused(name, paused)
        .map_err(|e| client_error(e, &ctx.paths))?;
    if ctx.json {
        print_json(&schedule);
    } else if paused {
        outln!("paused schedule {name}");
    } else {
        outln!(
            "unpaused schedule {name}, next fire {}",
            next_fire(&schedule)
        );
    }
    Ok(0)
}

fn list(ctx: &Ctx) -> anyhow::Result<i32> {
    let mut client = ctx.client()?;
    let schedules = client
        .schedule_list()
        .map_err(|e| client_error(e, &ctx.paths))?;
    if ctx.json {
        print_json(&schedules);
        return Ok(0);
    }
    if schedules.is_empty() {
        eprintln!(
            "no schedules (hint: `hero_logic schedule add NAME WORKFLOW --every 5m` adds one)"
        );
        return Ok(0);
    }
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(["NAME", "WORKFLOW", "RULE", "NEXT FIRE", "LAST PLAY"]);
    let workflows = client.workflow_list().unwrap_or_default();
    for s in &schedules {
        let workflow = workflows
            .iter()
            .find(|w| w.sid == s.workflow_sid)
            .map_or(s.workflow_sid.clone(), |w| w.name.clone());
        table.add_row([
            s.name.clone(),
            workflow,
            rule(s),
            next_fire(s),
            last_play(&mut client, s),
        ]);
    }
    outln!("{table}");
    Ok(0)
}

fn show(client: &mut Client, s: &Schedule) {
    let workflow = client
        .workflow_get(&s.workflow_sid)
        .map_or(s.workflow_sid.clone(), |d| d.workflow.name);
    outln!("{} (workflow {workflow})", style(&s.name).bold());
    outln!("rule       {}", rule(s));
    outln!("next fire  {}", next_fire(s));
    outln!(
        "last fire  {}",
        s.last_fire_at.as_deref().map_or("-".into(), local)
    );
    outln!("last play  {}", last_play(client, s));
    outln!("overlap    {}", word(s.overlap));
    outln!("catchup    {}", word(s.catchup));
    outln!("input      {}", s.input_data);
    if !s.prefill_resumes.is_empty() {
        outln!("prefill    {}", serde_json::json!(s.prefill_resumes));
    }
    outln!("created    {}", local(&s.created_at));
}

/// A policy as the flag takes it: `skip`, `latest`.
fn word(policy: impl serde::Serialize) -> String {
    match serde_json::to_value(policy) {
        Ok(Value::String(word)) => word,
        _ => "-".into(),
    }
}

/// "every 5m", or "0 2 * * * (Europe/Berlin)".
fn rule(s: &Schedule) -> String {
    match (&s.cron, s.every_s) {
        (Some(cron), _) => format!("{cron} ({})", s.tz.as_deref().unwrap_or("UTC")),
        (None, Some(every)) => format!("every {}", interval(every)),
        (None, None) => "-".into(),
    }
}

/// Seconds as `--every` takes them back: `90` is "1m30s".
fn interval(seconds: u64) -> String {
    let mut left = seconds;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= size {
            out.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    out
}

/// The next fire in local time with how far off it is, or "paused".
fn next_fire(s: &Schedule) -> String {
    match (&s.next_fire_at, s.paused) {
        (_, true) => style("paused").yellow().to_string(),
        (Some(at), false) => {
            let off = at
                .parse::<Timestamp>()
                .map(|t| t.duration_since(Timestamp::now()).as_secs_f64())
                .unwrap_or_default();
            match off {
                off if off < 1.0 => format!("{} (due now)", local(at)),
                off => format!("{} (in {})", local(at), crate::format::duration(off)),
            }
        }
        (None, false) => "never".into(),
    }
}

/// "2026-12-05 02:00:00 CET", in the local zone.
fn local(at: &str) -> String {
    at.parse::<Timestamp>()
        .map(|t| {
            t.to_zoned_datetime(TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_owned())
}

/// The last play's sid and status, or "-".
fn last_play(client: &mut Client, s: &Schedule) -> String {
    let Some(sid) = &s.last_play_sid else {
        return "-".into();
    };
    match client.play_get(sid) {
        Ok(play) => format!("{sid} {}", status_text(play.status)),
        Err(_) => sid.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::interval;
    use crate::engine::schedule_rule::parse_every;

    #[test]
    fn intervals_read_back_as_written() {
        for (seconds, text) in [(30, "30s"), (300, "5m"), (5_400, "1h30m"), (86_401, "1d1s")] {
            assert_eq!(interval(seconds), text);
            assert_eq!(parse_every(text), Ok(seconds));
        }
    }
}
