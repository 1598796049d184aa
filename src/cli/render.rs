//! How the CLI talks: errors with hints, colours (only on a terminal and
//! never with `NO_COLOR`), tables, span trees, ages and durations.

use std::fmt::Write as _;
use std::io::IsTerminal;

use comfy_table::{Table, presets};
use console::{Style, style};

use crate::client::ClientError;
use crate::config::Paths;
use crate::env;
use crate::format;
use crate::model::{Play, PlayStatus, Span, SpanKind, SpanStatus};

/// An error meant for the user: what went wrong, a hint, an exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
    pub code: i32,
    /// Causes printed under the message, for an error that came apart
    /// from its source (a refusal of the data folder).
    pub causes: Vec<String>,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> UserError {
        UserError {
            message: message.into(),
            hint: None,
            code: 1,
            causes: Vec::new(),
        }
    }

    pub fn usage(message: impl Into<String>) -> UserError {
        UserError {
            code: 2,
            ..UserError::new(message)
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> UserError {
        self.hint = Some(hint.into());
        self
    }
}

impl crate::server::offline::Refusal {
    /// The refusal as the CLI shows it: `error:` then its `hint:`.
    pub fn into_user_error(self) -> UserError {
        let error = UserError {
            causes: self.causes,
            ..UserError::new(self.message)
        };
        match self.hint {
            Some(hint) => error.hint(hint),
            None => error,
        }
    }
}

/// Turns a client failure into what the user should read and do.
pub fn client_error(e: ClientError, paths: &Paths) -> anyhow::Error {
    match e {
        ClientError::NotRunning { socket } => UserError::new(format!(
            "no hero_logic server is listening on {}",
            socket.display()
        ))
        .hint(if env::no_autostart() {
            "HERO_LOGIC_NO_AUTOSTART=1 is set: start it with `hero_logic start`".to_owned()
        } else {
            format!(
                "start it with `hero_logic start`; its log is {}",
                paths.server_log().display()
            )
        })
        .into(),
        ClientError::Rpc { message, hint, .. } => {
            let error = UserError::new(message);
            match hint {
                Some(hint) => error.hint(hint).into(),
                None => error.into(),
            }
        }
        ClientError::DataDir { dir, source } => UserError::new(format!(
            "cannot write in the data folder {}: {source}",
            dir.display()
        ))
        .hint("make it writable, or point HERO_LOGIC_DATA_DIR at a writable folder")
        .into(),
        other => anyhow::Error::new(other),
    }
}

/// Prints an error the way uv does: `error: what`, the causes, a hint.
pub fn print_error(e: &anyhow::Error) -> i32 {
    let red = Style::new().red().bold().for_stderr();
    let mut out = format!("{} {e}", red.apply_to("error:"));
    for cause in e.chain().skip(1) {
        let _ = write!(out, "\n  caused by: {cause}");
    }
    let (hint, code) = match e.downcast_ref::<UserError>() {
        Some(u) => {
            for cause in &u.causes {
                let _ = write!(out, "\n  caused by: {cause}");
            }
            (u.hint.clone(), u.code)
        }
        None => (None, 1),
    };
    if let Some(hint) = hint {
        let _ = write!(
            out,
            "\n{} {hint}",
            Style::new().cyan().bold().for_stderr().apply_to("hint:")
        );
    }
    eprintln!("{out}");
    code
}

pub fn init_colors() {
    let no_color = env::no_color();
    console::set_colors_enabled(!no_color && std::io::stdout().is_terminal());
    console::set_colors_enabled_stderr(!no_color && std::io::stderr().is_terminal());
}

pub fn status_style(status: PlayStatus) -> Style {
    match status {
        PlayStatus::Pending => Style::new().dim(),
        PlayStatus::Running => Style::new().blue(),
        PlayStatus::AwaitingResume => Style::new().yellow(),
        PlayStatus::Success => Style::new().green(),
        PlayStatus::Failed | PlayStatus::TimedOut => Style::new().red(),
        PlayStatus::Cancelled => Style::new().magenta(),
    }
}

pub fn status_text(status: PlayStatus) -> String {
    status_style(status)
        .apply_to(format!("{} {}", format::play_icon(status), status))
        .to_string()
}

fn span_style(status: SpanStatus) -> Style {
    match status {
        SpanStatus::Running => Style::new().blue(),
        SpanStatus::Success => Style::new().green(),
        SpanStatus::Failed => Style::new().red(),
        SpanStatus::Replayed => Style::new().cyan().dim(),
        SpanStatus::Paused => Style::new().yellow(),
        SpanStatus::Cancelled => Style::new().magenta(),
    }
}

/// "12s ago", against the real clock.
pub fn age(at: &str) -> String {
    match format::age(at, jiff::Timestamp::now()).as_str() {
        "-" => "-".into(),
        age => format!("{age} ago"),
    }
}

/// How long a play ran, or has been running.
pub fn play_duration(play: &Play) -> String {
    format::play_duration(play, jiff::Timestamp::now())
}

pub fn plays_table(plays: &[Play]) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header([
        "SID", "STATUS", "WORKFLOW", "AGE", "DURATION", "STEPS", "COST", "PAUSES",
    ]);
    for p in plays {
        let name = match &p.parent_play_sid {
            Some(parent) => format!("{} ↳{parent}", p.name),
            None => p.name.clone(),
        };
        table.add_row([
            p.sid.clone(),
            status_text(p.status),
            name,
            age(&p.created_at),
            play_duration(p),
            p.steps_done.to_string(),
            format::cost(p.total_cost_usd),
            match p.open_pauses() {
                0 => String::new(),
                n => style(format!("⏸ {n}")).yellow().to_string(),
            },
        ]);
    }
    table.to_string()
}

/// One line of the span tree.
pub fn span_label(span: &Span) -> String {
    let kind = match span.kind {
        SpanKind::Step => String::new(),
        other => format!(" [{}]", other.as_str()),
    };
    let duration = span
        .duration_ms
        .map(|ms| format!(" {}", format::duration(ms / 1000.0)))
        .unwrap_or_default();
    let source = match (&span.source_file, span.source_line) {
        (Some(file), Some(line)) => {
            let file = std::path::Path::new(file)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            style(format!("  {file}:{line}")).dim().to_string()
        }
        _ => String::new(),
    };
    let attempt = span
        .attempt
        .map(|n| style(format!(" attempt {n}")).dim().to_string())
        .unwrap_or_default();
    let child = span
        .child_play_sid
        .as_ref()
        .map(|c| format!(" → play {c}"))
        .unwrap_or_default();
    format!(
        "{} {}{kind}{}{attempt}{duration}{child}{source}",
        span_style(span.status).apply_to(format::span_icon(span.status)),
        span.name,
        span_style(span.status).apply_to(if span.status == SpanStatus::Replayed {
            " (replayed)"
        } else {
            ""
        }),
    )
}

/// The spans of one run as a tree; `expand` supplies the subtree of a
/// spawned child play under its `subflow` span.
pub fn span_tree(
    spans: &[Span],
    expand: &mut dyn FnMut(&Span) -> Option<termtree::Tree<String>>,
) -> Vec<termtree::Tree<String>> {
    fn build(
        spans: &[Span],
        parent: Option<&str>,
        expand: &mut dyn FnMut(&Span) -> Option<termtree::Tree<String>>,
    ) -> Vec<termtree::Tree<String>> {
        spans
            .iter()
            .filter(|s| s.parent_id.as_deref() == parent)
            .map(|s| {
                let mut node = termtree::Tree::new(span_label(s));
                node.leaves = build(spans, Some(&s.id), expand);
                if let Some(child) = expand(s) {
                    node.leaves.push(child);
                }
                node
            })
            .collect()
    }
    let known: std::collections::HashSet<&str> = spans.iter().map(|s| s.id.as_str()).collect();
    let mut roots = build(spans, None, expand);
    // Spans whose parent is not in this run (never expected) still show.
    for orphan in spans
        .iter()
        .filter(|s| s.parent_id.as_deref().is_some_and(|p| !known.contains(p)))
    {
        roots.push(termtree::Tree::new(span_label(orphan)));
    }
    roots
}

pub fn print_json(value: &impl serde::Serialize) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).expect("model types serialize")
    );
}
