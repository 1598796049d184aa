//! Every sentence the dashboard shows, in one place (gitui's `strings.rs`),
//! so the wording stays consistent and is easy to review.

use serde_json::Value;

use crate::model::PlayStatus;

// The help overlay: what each key does.
pub const HELP_MOVE: &str = "move";
pub const HELP_PAGE: &str = "move a page";
pub const HELP_ENDS: &str = "first / last";
pub const HELP_OPEN: &str = "open a play · fold a span · answer · start";
pub const HELP_FOLD: &str = "fold / unfold a span";
pub const HELP_BACK: &str = "back · close · clear the search";
pub const HELP_PANE: &str = "next pane";
pub const HELP_PENDING: &str = "Pending tab: pauses waiting for you";
pub const HELP_EVENTS: &str = "Events tab: every span of every run";
pub const HELP_ANSWER: &str = "answer the selected pause";
pub const HELP_CANCEL: &str = "cancel the play (asks y/n)";
pub const HELP_RESTART: &str = "restart the play (asks y/n)";
pub const HELP_START: &str = "start a play of the workflow";
pub const HELP_SEARCH: &str = "search plays by name";
pub const HELP_FILTER: &str = "filter plays by status";
pub const HELP_SCHEDULES: &str = "Schedules: plays started by the clock";
pub const HELP_SCHEDULE_KEYS: &str = "on a schedule: run it now · pause / unpause it";
pub const HELP_HELP_QUIT: &str = "this help · quit";
pub const HELP_TITLE: &str = " Keys ";
pub const HELP_CLOSE: &str = "a question takes y or n · any key closes this help";
pub const HELP_ICONS: [&str; 2] = [
    "▶ running   ⏸ waiting   ⏲ timer   ✔ done   ✘ failed",
    "↺ replayed (not run again)   ■ cancelled   ⌛ timed out   ◌ queued",
];

// Footers: the keys that matter most on each screen.
pub const HINTS_HOME: &[(&str, &str)] = &[
    ("Enter", "open"),
    ("Tab", "workflows"),
    ("s", "start"),
    ("/", "search"),
    ("S", "schedules"),
    ("?", "help"),
];
pub const HINTS_WORKFLOWS: &[(&str, &str)] = &[
    ("Enter/s", "start a play"),
    ("Tab", "plays"),
    ("?", "help"),
    ("q", "quit"),
];
pub const HINTS_PLAY: &[(&str, &str)] = &[
    ("p", "pending"),
    ("a", "answer"),
    ("e", "events"),
    ("c", "cancel"),
    ("R", "restart"),
    ("Esc", "back"),
    ("?", "help"),
];
pub const HINTS_SCHEDULES: &[(&str, &str)] = &[
    ("Enter", "last play"),
    ("r", "run now"),
    ("space", "pause/unpause"),
    ("Esc", "back"),
    ("?", "help"),
];
pub const HINTS_SEARCH: &[(&str, &str)] = &[("Enter", "keep"), ("Esc", "clear")];
pub const HINTS_FORM: &[(&str, &str)] =
    &[("Enter", "start"), ("Tab/↑↓", "field"), ("Esc", "cancel")];

// Titles and labels.
pub const PLAYS: &str = "Plays";
pub const WORKFLOWS: &str = "Workflows";
pub const FLOW_TREE: &str = "Flow";
pub const DETAIL: &str = "Span";
pub const PENDING: &str = "Pending";
pub const EVENTS: &str = "Events";
pub const SEARCH_PROMPT: &str = "/";
pub const COLUMNS: [&str; 6] = ["STATUS", "NAME", "AGE", "TOOK", "STEPS", "COST"];
pub const SCHEDULES: &str = "Schedules";
pub const SCHEDULE_COLUMNS: [&str; 5] = ["NAME", "WORKFLOW", "RULE", "NEXT FIRE", "LAST PLAY"];
pub const PAUSED: &str = "paused";

// Empty states: each says what to do next.
pub const NO_PLAYS: &str =
    "No plays yet. Start one with `s` on a workflow, or `hero_logic play start FLOW.py`.";
pub const NO_PLAYS_MATCH: &str = "No play matches. Esc clears the search and the filter.";
pub const NO_WORKFLOWS: &str = "No workflows yet: `hero_logic workflow save FLOW.py`.";
pub const NO_SPANS: &str = "No spans yet: the run has not started a step.";
pub const NO_SCHEDULES: &str = "No schedules yet: `hero_logic schedule add NAME WORKFLOW --every 1h` (or --cron \"0 2 * * *\").";
pub const LOADING: &str = "Loading…";
pub const NO_PENDING: &str = "Nothing waits for an answer.";
pub const NO_EVENTS: &str = "No spans yet.";
pub const NO_SPAN_SELECTED: &str = "Select a span to see its inputs and output.";
pub const NO_INPUTS: &str = "This workflow takes no inputs.";
pub const TOO_SMALL: &str = "Enlarge the terminal";

// Messages.
pub const NO_WORKFLOW: &str = "no workflow selected (Tab goes to the workflows)";
pub const NOTHING_TO_ANSWER: &str = "nothing waits for an answer in this play";

pub fn only_machine_pauses(n: usize, sid: &str) -> String {
    format!("{n} pause(s) wait for a machine, not a person: hero_logic resume {sid} ID JSON")
}

pub fn only_timers(name: &str, when: &str) -> String {
    format!("nothing to answer: {name} is a timer, the play wakes by itself ({when})")
}

pub fn machine_pauses_line(n: usize) -> String {
    format!("+ {n} pause(s) answered by a machine (webhook, signal, child play)")
}

/// Which try of a step with retries a span is.
pub fn attempt(n: u32) -> String {
    format!("attempt {n}")
}

/// How a schedule's rule reads in its row: the cron expression, or the
/// interval.
pub fn every(span: &str) -> String {
    format!("every {span}")
}

pub fn no_play_yet(schedule: &str) -> String {
    format!("{schedule} has started no play yet: r runs it now")
}

pub fn schedule_paused(name: &str, paused: bool) -> String {
    if paused {
        format!("paused {name}: it fires no more until unpaused (space)")
    } else {
        format!("unpaused {name}: it fires by its rule again")
    }
}

pub fn fired(schedule: &str, sid: &str) -> String {
    format!("started play {sid} of {schedule} (Enter opens it)")
}

/// The detail line of a schedule: when it fires next, in its zone.
pub fn next_fire(when: &str, left: &str) -> String {
    format!("next fire {when} ({left})")
}

pub fn steps(n: u64) -> String {
    match n {
        1 => "1 step".into(),
        n => format!("{n} steps"),
    }
}

pub fn already_ended(name: &str, status: PlayStatus) -> String {
    format!("{name} has already ended ({status})")
}

pub fn started(name: &str, sid: &str) -> String {
    format!("started {name} as play {sid}")
}

pub fn restarted(old: &str, new: &str) -> String {
    format!("restarted play {old} as {new}")
}

pub fn cancelled(name: &str) -> String {
    format!("cancelled {name}")
}

pub fn answered(name: &str, answer: &Value) -> String {
    format!("answered {name} = {answer}; the play goes on")
}

pub fn not_answered(name: &str) -> String {
    format!("{name} was not answered")
}

pub fn confirm_cancel(name: &str, sid: &str) -> String {
    format!("Cancel play {name} ({sid}) and its children?")
}

pub fn confirm_restart(name: &str, sid: &str, latest: bool) -> String {
    if latest {
        format!("Restart {name} ({sid}) fresh, on the workflow's latest version?")
    } else {
        format!("Restart {name} ({sid}) fresh, on the same version?")
    }
}

pub const CONFIRM_KEYS: &str = "y yes · n no";

pub fn newer_version(pinned: &str, newer: &str) -> String {
    format!("⚠ newer version {newer}: continuing pinned to {pinned} · R restarts on latest")
}

pub fn start_title(workflow: &str) -> String {
    format!(" Start {workflow} ")
}

pub fn offline(reason: &str) -> String {
    format!("live updates stopped: {reason} (restart the dashboard)")
}

// The answer prompt, printed on the normal screen above dialoguer's.
pub fn answering(name: &str, sid: &str) -> String {
    format!("Answering `{name}` of play {sid} — the dashboard comes back when you are done.")
}

pub fn answer_refused(reason: &str) -> String {
    format!("the server refused that answer: {reason}")
}
